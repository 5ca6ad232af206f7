//! User pmaps (the per-address-space half of DragonFly's pmap.c): one PML4 per address space
//! whose lower half maps that space's user pages and whose upper half is a copy of the kernel
//! PML4's 256 kernel slots. The kernel preallocates every kernel-half PDPT
//! ([`super::init_kernel_pmap`]), so the copy made at creation stays valid for ever: later
//! kernel mappings change only the shared lower levels.
//!
//! Each pmap records the CPUs whose CR3 holds it (`pm_active`); a change that takes away a
//! translation (unmap, a new frame, fewer rights) is followed by a shootdown to exactly those
//! CPUs through `lwkt::ipiq::cpusync`, which returns once every one of them has invalidated.
//! The page-table lock is a spinlock that is never held across the shootdown: a CPU that
//! activates the pmap after the entry changed loads CR3 afresh and cannot hold a stale entry.
//!
//! Leaf frames belong to the VM objects; the pmap owns only its table pages, which it frees
//! when dropped (never while any CPU runs on it).
use super::{kernel_pml4, pte, table, PAGE};
use crate::arch::x86_64::usermode::USER_END;
use crate::lwkt::globaldata::{mycpu, MAXCPU};
use crate::lwkt::ipiq;
use crate::mem::phys;
use crate::sync::spinlock::SpinLock;
use core::sync::atomic::{fence, AtomicU64, Ordering};
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::PhysFrame;
use x86_64::PhysAddr;

/// Rights of a user page beyond "present and readable" (x86 cannot express write-only or
/// execute-only pages; read comes with either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserProt {
    pub write: bool,
    pub exec: bool,
}

/// A page-table page could not be allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoMemory;

/// Above this many pages a shootdown reloads CR3 instead of issuing `invlpg` per page.
const INVLPG_MAX: u64 = 32;

/// The PML4 of the user pmap each CPU runs on (0 while it runs on the kernel pmap).
static ACTIVE_ROOT: [AtomicU64; MAXCPU] = [const { AtomicU64::new(0) }; MAXCPU];
/// Shootdowns that sent at least one invalidation (diagnostics and tests).
pub static SHOOTDOWNS: AtomicU64 = AtomicU64::new(0);
/// Invalidation requests each CPU has run, its own included.
static INVALIDATIONS: [AtomicU64; MAXCPU] = [const { AtomicU64::new(0) }; MAXCPU];

/// Counts behind the page-table lock.
struct Counts {
    /// Lower-half table pages (PDPTs, PDs, PTs), not counting the PML4.
    tables: u64,
    /// Present leaf entries.
    resident: u64,
    /// The most `resident` has been (the resident set's high-water mark).
    peak: u64,
}

/// One address space's page tables.
pub struct UserPmap {
    /// Physical address of the PML4.
    pml4: u64,
    /// CPUs whose CR3 holds `pml4` (bit per cpuid).
    active: AtomicU64,
    lock: SpinLock<Counts>,
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * level)) & 0x1ff) as usize
}

/// Size of the range one entry at `level` covers.
fn span(level: u32) -> u64 {
    PAGE << (9 * level)
}

fn leaf_bits(pa: u64, prot: UserProt) -> u64 {
    let mut e = pa | pte::PRESENT | pte::USER;
    if prot.write {
        e |= pte::WRITABLE;
    }
    if !prot.exec {
        e |= pte::NO_EXECUTE;
    }
    e
}

fn check_range(start: u64, end: u64) {
    assert!(
        start <= end && end <= USER_END && start.is_multiple_of(PAGE) && end.is_multiple_of(PAGE),
        "user pmap range {start:#x}..{end:#x}"
    );
}

impl UserPmap {
    /// A pmap with an empty user half; `None` when no page is free for the PML4.
    pub fn new() -> Option<UserPmap> {
        let pml4 = phys::alloc_zeroed()?;
        let kernel = kernel_pml4();
        for slot in 256..512 {
            // SAFETY: both are PML4 pages reached through the direct map, slot < 512; the
            // kernel's upper-half entries never change after boot (all PDPTs preallocated).
            unsafe { *table(pml4).add(slot) = *table(kernel).add(slot) };
        }
        Some(UserPmap {
            pml4,
            active: AtomicU64::new(0),
            lock: SpinLock::new(Counts { tables: 0, resident: 0, peak: 0 }),
        })
    }

    /// Physical address of the PML4 (what CR3 holds while this pmap runs).
    pub fn root(&self) -> u64 {
        self.pml4
    }

    /// The CPUs running on this pmap, a bit per cpuid.
    pub fn active_cpus(&self) -> u64 {
        self.active.load(Ordering::Acquire)
    }

    /// (lower-half table pages, present user pages).
    pub fn counts(&self) -> (u64, u64) {
        let c = self.lock.lock();
        (c.tables, c.resident)
    }

    /// The most user pages that have been present at once (getrusage's ru_maxrss).
    pub fn peak_resident(&self) -> u64 {
        self.lock.lock().peak
    }

    /// The leaf entry slot for `va`, allocating missing tables when `alloc` is given.
    fn slot(&self, va: u64, mut alloc: Option<&mut Counts>) -> Result<Option<*mut u64>, NoMemory> {
        let mut t = self.pml4;
        for level in (1..=3).rev() {
            // SAFETY: `t` is this pmap's PML4 or a table page it allocated, reached through
            // the direct map; the index is < 512; the caller holds the page-table lock.
            let e = unsafe { &mut *table(t).add(index(va, level)) };
            if *e & pte::PRESENT == 0 {
                let Some(c) = alloc.as_deref_mut() else { return Ok(None) };
                let pa = phys::alloc_zeroed().ok_or(NoMemory)?;
                c.tables += 1;
                // The leaf restricts access; tables above a user page allow everything.
                *e = pa | pte::PRESENT | pte::WRITABLE | pte::USER;
            }
            t = *e & pte::ADDR_MASK;
        }
        Ok(Some(table(t).wrapping_add(index(va, 0))))
    }

    /// Maps the user page `va` to frame `pa` with `prot`, replacing any mapping there (and
    /// shooting down the old one when it had another frame or more rights).
    pub fn enter(&self, va: u64, pa: u64, prot: UserProt) -> Result<(), NoMemory> {
        check_range(va, va + PAGE);
        assert!(pa.is_multiple_of(PAGE) && pa <= pte::ADDR_MASK, "user pmap frame {pa:#x}");
        let new = leaf_bits(pa, prot);
        let old = {
            let mut c = self.lock.lock();
            let slot = self.slot(va, Some(&mut c))?.ok_or(NoMemory)?;
            // SAFETY: a leaf slot of this pmap, under the page-table lock.
            let old = unsafe { slot.replace(new) };
            if old & pte::PRESENT == 0 {
                c.resident += 1;
                c.peak = c.peak.max(c.resident);
            }
            old
        };
        if old & pte::PRESENT != 0 && old != new {
            let same_frame = old & pte::ADDR_MASK == pa;
            let lost_write = old & pte::WRITABLE != 0 && new & pte::WRITABLE == 0;
            let lost_exec = old & pte::NO_EXECUTE == 0 && new & pte::NO_EXECUTE != 0;
            if same_frame && !lost_write && !lost_exec {
                // More rights on the same frame: a stale entry only causes a spurious fault,
                // which the CPU answers by re-walking; flush here to avoid even that.
                x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(va));
            } else {
                self.shootdown(va, va + PAGE);
            }
        }
        Ok(())
    }

    /// Visits every present leaf entry in `[start, end)`, skipping absent tables; `f` gets
    /// the address and the entry and returns the new entry. Returns (visited, changed).
    fn for_each_leaf(&self, start: u64, end: u64, mut f: impl FnMut(u64, u64) -> u64) -> (u64, u64) {
        let (mut visited, mut changed) = (0, 0);
        let mut va = start;
        'outer: while va < end {
            let mut t = self.pml4;
            for level in (1..=3).rev() {
                // SAFETY: as in `slot`; the caller holds the page-table lock.
                let e = unsafe { *table(t).add(index(va, level)) };
                if e & pte::PRESENT == 0 {
                    // Nothing mapped in the rest of this entry's range.
                    va = (va & !(span(level) - 1)) + span(level);
                    continue 'outer;
                }
                t = e & pte::ADDR_MASK;
            }
            while va < end {
                let slot = table(t).wrapping_add(index(va, 0));
                // SAFETY: a leaf slot of this pmap (index < 512), under the page-table lock.
                let e = unsafe { *slot };
                if e & pte::PRESENT != 0 {
                    visited += 1;
                    let n = f(va, e);
                    if n != e {
                        // SAFETY: as above.
                        unsafe { *slot = n };
                        changed += 1;
                    }
                }
                va += PAGE;
                if index(va, 0) == 0 {
                    continue 'outer;
                }
            }
        }
        (visited, changed)
    }

    /// Removes every user mapping in `[start, end)`; returns how many there were. Every CPU
    /// running on this pmap has dropped them from its TLB when this returns, so the frames
    /// may be freed.
    pub fn remove(&self, start: u64, end: u64) -> u64 {
        check_range(start, end);
        let removed = {
            let mut c = self.lock.lock();
            let (_, removed) = self.for_each_leaf(start, end, |_, _| 0);
            c.resident -= removed;
            removed
        };
        if removed > 0 {
            self.shootdown(start, end);
        }
        removed
    }

    /// Takes rights away from the mappings in `[start, end)`: write unless `prot.write`,
    /// execute unless `prot.exec`. Never adds rights (faults do that).
    pub fn protect(&self, start: u64, end: u64, prot: UserProt) {
        check_range(start, end);
        let (_, changed) = {
            let _c = self.lock.lock();
            self.for_each_leaf(start, end, |_, e| {
                let mut n = e;
                if !prot.write {
                    n &= !pte::WRITABLE;
                }
                if !prot.exec {
                    n |= pte::NO_EXECUTE;
                }
                n
            })
        };
        if changed > 0 {
            self.shootdown(start, end);
        }
    }

    /// The frame mapped at `va` and its rights, or `None`.
    pub fn extract(&self, va: u64) -> Option<(u64, UserProt)> {
        if va >= USER_END {
            return None;
        }
        let va = va & !(PAGE - 1);
        let _c = self.lock.lock();
        let slot = self.slot(va, None).ok()??;
        // SAFETY: a leaf slot of this pmap, under the page-table lock.
        let e = unsafe { *slot };
        (e & pte::PRESENT != 0).then_some((
            e & pte::ADDR_MASK,
            UserProt { write: e & pte::WRITABLE != 0, exec: e & pte::NO_EXECUTE == 0 },
        ))
    }

    /// Invalidates `[start, end)` on every CPU running on this pmap and waits for them.
    fn shootdown(&self, start: u64, end: u64) {
        // Pairs with the fence in `switch`: either that CPU's bit is seen here, or its CR3
        // load comes after the entry changed.
        fence(Ordering::SeqCst);
        let mask = self.active.load(Ordering::SeqCst);
        if mask == 0 {
            return;
        }
        SHOOTDOWNS.fetch_add(1, Ordering::Relaxed);
        let req = Shootdown { root: self.pml4, start, end };
        // The request lives on this stack until cpusync has seen every CPU finish.
        ipiq::cpusync(mask, invalidate, &req as *const Shootdown as usize);
    }
}

impl Drop for UserPmap {
    fn drop(&mut self) {
        assert!(self.active.load(Ordering::Acquire) == 0, "user pmap dropped while active");
        free_tables(self.pml4, 3, 0, 256);
        phys::free(self.pml4);
    }
}

/// Frees the table pages under entries `[first, last)` of the level-`level` table `t`.
fn free_tables(t: u64, level: u32, first: usize, last: usize) {
    for i in first..last {
        // SAFETY: `t` is a table page of a pmap no CPU runs on (checked by the caller), i < 512.
        let e = unsafe { table(t).add(i).replace(0) };
        if e & pte::PRESENT != 0 {
            let next = e & pte::ADDR_MASK;
            if level > 1 {
                free_tables(next, level - 1, 0, 512);
            }
            phys::free(next);
        }
    }
}

struct Shootdown {
    root: u64,
    start: u64,
    end: u64,
}

/// The shootdown IPI: invalidates the range if this CPU still runs on that pmap.
fn invalidate(arg: usize, _: usize) {
    // SAFETY: `shootdown` passes a pointer to a request it keeps alive until cpusync returns,
    // which is after this callback finished on every CPU.
    let req = unsafe { &*(arg as *const Shootdown) };
    INVALIDATIONS[mycpu().cpuid].fetch_add(1, Ordering::Relaxed);
    if Cr3::read_raw().0.start_address().as_u64() != req.root {
        // Switched away meanwhile: loading the other CR3 flushed every non-global entry.
        return;
    }
    if (req.end - req.start) / PAGE <= INVLPG_MAX {
        let mut va = req.start;
        while va < req.end {
            x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(va));
            va += PAGE;
        }
    } else {
        x86_64::instructions::tlb::flush_all();
    }
}

/// Invalidation requests CPU `cpu` has run.
pub fn invalidations(cpu: usize) -> u64 {
    INVALIDATIONS.get(cpu).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// The user pmap root CPU `cpu` runs on, 0 for the kernel pmap.
pub fn active_root(cpu: usize) -> u64 {
    ACTIVE_ROOT.get(cpu).map_or(0, |r| r.load(Ordering::Relaxed))
}

fn load_cr3(root: u64) {
    let (_, flags) = Cr3::read_raw();
    // SAFETY: `root` is a PML4 whose kernel half is the kernel's (a user pmap's copy or the
    // kernel PML4 itself), so the kernel keeps running on it unchanged.
    unsafe { Cr3::write_raw(PhysFrame::containing_address(PhysAddr::new(root)), flags) };
}

/// Switches this CPU from the user pmap `from` (or the kernel pmap) to `to` (or the kernel
/// pmap), keeping the active masks exact. The caller is in a critical section and `from` is
/// what this CPU runs on now.
pub fn switch(from: Option<&UserPmap>, to: Option<&UserPmap>) {
    let gd = mycpu();
    let bit = gd.cpumask();
    if let (Some(f), Some(t)) = (from, to) {
        if core::ptr::eq(f, t) {
            return;
        }
    }
    match to {
        Some(t) => {
            t.active.fetch_or(bit, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            load_cr3(t.pml4);
            ACTIVE_ROOT[gd.cpuid].store(t.pml4, Ordering::Relaxed);
        }
        None => {
            load_cr3(kernel_pml4());
            ACTIVE_ROOT[gd.cpuid].store(0, Ordering::Relaxed);
        }
    }
    if let Some(f) = from {
        f.active.fetch_and(!bit, Ordering::SeqCst);
    }
}
