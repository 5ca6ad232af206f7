//! vmspace (DragonFly's vm_map.c `vmspace_*`, vm_glue.c `vm_fork`): one address space, a
//! user pmap plus a map of entries, and the per-CPU record of which vmspace each CPU runs.
//!
//! The map sits behind a lockmgr lock because a fault holds it while it may sleep; page
//! tables have their own spinlock in the pmap. Lock order: map lock, then an object's token,
//! then the pmap lock (never held across a shootdown).
use super::fault::{fault, Access, FaultError};
use super::map::{EntryFlags, Inherit, MapEntry, VmMap};
use super::object::VmObject;
use super::{page_floor, PAGE, USER_MAX, USER_MIN};
use crate::arch::x86_64::pmap::user::{self, UserPmap, UserProt};
use crate::lwkt::crit::crit;
use crate::lwkt::globaldata::{mycpu, MAXCPU};
use crate::sync::lockmgr::LockMgr;
use crate::sync::spinlock::SpinLock;
use abi::errno::ENOMEM;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// One user address space.
pub struct VmSpace {
    pmap: UserPmap,
    pub(super) map: LockMgr<VmMap>,
    /// Pages faults in this vmspace may still allocate (`u64::MAX`: no cap). A per-space
    /// limit the process layer can set (RLIMIT_AS-like), and how tests force out-of-memory.
    page_budget: AtomicU64,
    /// Faults resolved (statistics).
    pub(super) faults: AtomicU64,
}

/// The vmspace each CPU runs on (`None`: the kernel pmap). The `Arc` keeps the vmspace and
/// its page tables alive while any CPU's CR3 points at them.
static CURRENT: [SpinLock<Option<Arc<VmSpace>>>; MAXCPU] = [const { SpinLock::new(None) }; MAXCPU];

/// Vmspaces alive (tests check none leak).
pub static VMSPACES: AtomicU64 = AtomicU64::new(0);

impl VmSpace {
    /// A new, empty address space; ENOMEM when no page is left for its PML4.
    pub fn new() -> Result<Arc<VmSpace>, i32> {
        let pmap = UserPmap::new().ok_or(ENOMEM)?;
        VMSPACES.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(VmSpace {
            pmap,
            map: LockMgr::new("vm_map", VmMap::new()),
            page_budget: AtomicU64::new(u64::MAX),
            faults: AtomicU64::new(0),
        }))
    }

    /// The page tables.
    pub fn pmap(&self) -> &UserPmap {
        &self.pmap
    }

    /// Caps the pages that faults in this vmspace may allocate from now on.
    pub fn set_page_budget(&self, pages: u64) {
        self.page_budget.store(pages, Ordering::Relaxed);
    }

    /// Takes one page from the budget; false when it is spent, or when memory is down to
    /// the kernel's reserve.
    pub(super) fn charge_page(&self) -> bool {
        if crate::mem::phys::at_kernel_reserve() {
            return false;
        }
        self.page_budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| match b {
                u64::MAX => Some(u64::MAX),
                0 => None,
                n => Some(n - 1),
            })
            .is_ok()
    }

    /// Faults resolved in this vmspace.
    pub fn fault_count(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    /// Number of map entries.
    pub fn entry_count(&self) -> usize {
        self.map.shared().len()
    }

    /// Copies of every entry in address order, and the heap's (start, break) (/proc/PID/maps).
    pub fn entries(&self) -> (alloc::vec::Vec<MapEntry>, (u64, u64)) {
        let map = self.map.shared();
        (map.iter().cloned().collect(), (map.brk_base, map.brk))
    }

    /// A copy of the entry containing `va` (tests and /proc/PID/maps later).
    pub fn entry_at(&self, va: u64) -> Option<MapEntry> {
        self.map.shared().lookup(va).cloned()
    }

    /// Makes this the address space of the running CPU (CR3, active masks, the per-CPU
    /// record the page fault path reads). The process layer calls this at every switch to a
    /// thread of another address space.
    pub fn activate(self: &Arc<Self>) {
        let old = {
            let _c = crit();
            let mut cur = CURRENT[mycpu().cpuid].lock();
            let old = cur.take();
            user::switch(old.as_ref().map(|v| &v.pmap), Some(&self.pmap));
            *cur = Some(self.clone());
            old
        };
        // Dropped outside the spinlock: it may be the last reference.
        drop(old);
    }

    /// Puts the running CPU back on the kernel pmap.
    pub fn deactivate() {
        let old = {
            let _c = crit();
            let mut cur = CURRENT[mycpu().cpuid].lock();
            let old = cur.take();
            user::switch(old.as_ref().map(|v| &v.pmap), None);
            old
        };
        drop(old);
    }

    /// The vmspace the running CPU is on.
    pub fn current() -> Option<Arc<VmSpace>> {
        let _c = crit();
        CURRENT[mycpu().cpuid].lock().clone()
    }

    /// Removes every user mapping (the process is exiting and runs no user code again):
    /// its pages and what its entries hold go now, the page tables when the last
    /// reference does.
    pub fn unmap_all(&self) {
        let mut map = self.map.exclusive();
        self.remove_range(&mut map, USER_MIN, USER_MAX);
    }

    /// Removes every mapping in `[start, end)` (page aligned): translations first, then the
    /// pages only these entries could reach, then the entries and their object references.
    pub(super) fn remove_range(&self, map: &mut VmMap, start: u64, end: u64) {
        if start >= end || map.is_free(start, end) {
            return;
        }
        map.clip(start, end);
        let starts = map.starts_in(start, end);
        self.pmap.remove(start, end);
        for s in starts {
            if let Some(e) = map.remove_at(s) {
                if e.owns_pages() {
                    e.object.free_range(e.offset, e.offset + e.pages());
                }
            }
        }
    }

    /// fork's vmspace copy (vm_fork / vmspace_fork): shared entries stay shared, private
    /// ones become copy-on-write on both sides (NEEDS_COPY, and the parent loses write
    /// access in its page tables), DONTFORK entries are left out, WIPEONFORK ones start empty.
    pub fn fork(&self) -> Result<Arc<VmSpace>, i32> {
        let child = VmSpace::new()?;
        let mut map = self.map.exclusive();
        let mut cmap = child.map.exclusive();
        cmap.brk_base = map.brk_base;
        cmap.brk = map.brk;
        for e in map.iter_mut() {
            // A chain link only this entry reaches (a child that has exited left it behind)
            // is folded in before the object is shared again.
            if Arc::strong_count(&e.object) == 1 {
                e.object.collapse();
            }
            // Memory locks belong to the process that made them (Linux clears VM_LOCKED in
            // the child).
            let mut child_entry = e.clone();
            child_entry.flags.remove(EntryFlags::LOCKED);
            match e.inherit {
                Inherit::None => {}
                Inherit::Share => cmap.insert(child_entry),
                Inherit::Zero => {
                    let mut c = child_entry;
                    c.object = VmObject::anonymous();
                    c.flags.remove(EntryFlags::NEEDS_COPY);
                    cmap.insert(c);
                }
                Inherit::Copy if e.flags.contains(EntryFlags::SHARED) => cmap.insert(child_entry),
                Inherit::Copy => {
                    e.flags.insert(EntryFlags::NEEDS_COPY);
                    child_entry.flags.insert(EntryFlags::NEEDS_COPY);
                    cmap.insert(child_entry);
                    if e.prot.contains(super::Prot::WRITE) {
                        self.pmap.protect(
                            e.start,
                            e.end,
                            UserProt { write: false, exec: e.prot.contains(super::Prot::EXEC) },
                        );
                    }
                }
            }
        }
        drop(cmap);
        child.page_budget.store(self.page_budget.load(Ordering::Relaxed), Ordering::Relaxed);
        Ok(child)
    }

    /// Copies `data` into the address space at `va` as a kernel write on the user's behalf
    /// (faulting pages in, breaking copy-on-write); fails like a user write would.
    pub fn copy_out(&self, va: u64, data: &[u8]) -> Result<(), FaultError> {
        self.copy_pages(va, data.len(), Access::Write, |frame, off, at, n| {
            frame.write(off, &data[at..at + n])
        })
    }

    /// Copies bytes from the address space at `va` into `out` (a kernel read on the user's
    /// behalf).
    pub fn copy_in(&self, va: u64, out: &mut [u8]) -> Result<(), FaultError> {
        let len = out.len();
        self.copy_pages(va, len, Access::Read, |frame, off, at, n| frame.read(off, &mut out[at..at + n]))
    }

    fn copy_pages(
        &self,
        va: u64,
        len: usize,
        access: Access,
        mut f: impl FnMut(&crate::arch::x86_64::pmap::frame::Frame, usize, usize, usize),
    ) -> Result<(), FaultError> {
        let end = va.checked_add(len as u64).ok_or(FaultError::Unmapped)?;
        let mut at = va;
        while at < end {
            let page = page_floor(at);
            let n = ((page + PAGE).min(end) - at) as usize;
            let off = (at - page) as usize;
            let done = (at - va) as usize;
            loop {
                fault(self, at, access, false)?;
                // The shared map lock keeps the page where the fault put it (changing that
                // takes the lock exclusively) while we copy.
                let map = self.map.shared();
                let Some(e) = map.lookup(page) else { return Err(FaultError::Unmapped) };
                let pindex = e.pindex(page);
                let obj = e.object.clone();
                let copied = match access {
                    Access::Write => obj.with_page(pindex, |fr| f(fr, off, done, n)).is_some(),
                    _ => find_and(&obj, pindex, |fr| f(fr, off, done, n)),
                };
                if copied {
                    break;
                }
            }
            at += n as u64;
        }
        Ok(())
    }
}

/// Runs `f` on page `pindex` of `obj` or of the first object down its chain holding it.
fn find_and(
    obj: &Arc<VmObject>,
    pindex: u64,
    f: impl FnOnce(&crate::arch::x86_64::pmap::frame::Frame),
) -> bool {
    let mut cur = obj.clone();
    let mut f = Some(f);
    loop {
        if cur.with_page(pindex, |fr| (f.take().expect("called once"))(fr)).is_some() {
            return true;
        }
        match cur.backing() {
            Some(b) => cur = b.clone(),
            None => return false,
        }
    }
}

impl Drop for VmSpace {
    fn drop(&mut self) {
        // No CPU runs on it (CURRENT holds a reference while one does) and CR3 loads flushed
        // every CPU that ran it, so the tables (the pmap, dropped first) and then the entries
        // with their pages go without shootdowns.
        VMSPACES.fetch_sub(1, Ordering::Relaxed);
    }
}
