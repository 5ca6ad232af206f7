//! The page fault handler (DragonFly's vm_fault.c): demand zero, copy-on-write, grows-down
//! stacks, and protection faults reported by kind so the process layer can raise SIGSEGV
//! with SEGV_MAPERR or SEGV_ACCERR (or kill the process on out-of-memory).
use super::map::{EntryFlags, VmMap};
use super::object::VmObject;
use super::vmspace::VmSpace;
use super::{page_floor, Prot, PAGE, USER_MAX};
use crate::arch::x86_64::pmap::frame::Frame;
use crate::arch::x86_64::pmap::user::UserProt;
use abi::mman::{SEGV_ACCERR, SEGV_MAPERR, SIGSEGV};
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// The kind of access that faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

impl Access {
    /// The access a hardware page-fault error code describes.
    pub fn from_error_code(error: u64) -> Access {
        if error & (1 << 4) != 0 {
            Access::Exec
        } else if error & (1 << 1) != 0 {
            Access::Write
        } else {
            Access::Read
        }
    }
}

/// Why a fault could not be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError {
    /// Nothing is mapped there (SIGSEGV, SEGV_MAPERR).
    Unmapped,
    /// Mapped, but not for this access (SIGSEGV, SEGV_ACCERR).
    Protection,
    /// No page (or page-table page) could be had: the process layer kills the process with
    /// a log line; the kernel keeps running.
    OutOfMemory,
    /// A file page beyond the end of the file or one its pager could not read (SIGBUS).
    Bus,
}

/// SIGBUS's Linux number and BUS_ADRERR.
const SIGBUS: i32 = 7;
const BUS_ADRERR: i32 = 2;

impl FaultError {
    /// The signal and si_code the process layer raises for it; `None` for out-of-memory,
    /// which kills instead.
    pub fn signal(self) -> Option<(i32, i32)> {
        match self {
            FaultError::Unmapped => Some((SIGSEGV, SEGV_MAPERR)),
            FaultError::Protection => Some((SIGSEGV, SEGV_ACCERR)),
            FaultError::Bus => Some((SIGBUS, BUS_ADRERR)),
            FaultError::OutOfMemory => None,
        }
    }
}

/// Largest size a grows-down entry may reach by faults (RLIMIT_STACK's usual 8 MiB).
pub const STACK_MAX: u64 = 8 << 20;
/// Gap a grows-down entry keeps from the mapping below it (Linux's stack_guard_gap).
pub const STACK_GUARD_GAP: u64 = 256 * PAGE;

/// Resolves a fault at `addr` in `vs` for `access`; `user` says whether user code faulted
/// (false: the kernel on the user's behalf, e.g. copyin). On success the page is mapped with
/// the rights the entry allows. May sleep (the map lock); hold no spinlock.
pub fn fault(vs: &VmSpace, addr: u64, access: Access, user: bool) -> Result<(), FaultError> {
    if addr >= USER_MAX || (!user && access == Access::Exec) {
        return Err(FaultError::Unmapped);
    }
    let va = page_floor(addr);
    let mut map = vs.map.exclusive();
    if map.lookup(va).is_none() {
        grow_down(&mut map, va)?;
    }
    let e = map.lookup_mut(va).ok_or(FaultError::Unmapped)?;
    let allowed = match access {
        Access::Read => !e.prot.is_empty(),
        Access::Write => e.prot.contains(Prot::WRITE),
        Access::Exec => e.prot.contains(Prot::EXEC),
    };
    if !allowed {
        return Err(FaultError::Protection);
    }
    if access == Access::Write && e.flags.contains(EntryFlags::NEEDS_COPY) {
        // Our map lock is held, so nobody can take a new reference to the object through
        // our entries meanwhile: a count of one means this entry is its only user (the other
        // side of the fork is gone) and it can be written in place.
        if Arc::strong_count(&e.object) > 1 || !e.object.is_anonymous() {
            e.object = VmObject::shadow(e.object.clone());
        }
        e.flags.remove(EntryFlags::NEEDS_COPY);
    }
    if Arc::strong_count(&e.object) == 1 {
        // Only this entry reaches the object, and our map lock keeps it so.
        e.object.collapse();
    }
    let pindex = e.pindex(va);
    let top = e.object.clone();
    let needs_copy = e.flags.contains(EntryFlags::NEEDS_COPY);
    let prot = e.prot;
    let alloc = || {
        if !vs.charge_page() {
            return Err(FaultError::OutOfMemory);
        }
        Frame::zeroed().ok_or(FaultError::OutOfMemory)
    };
    let (pa, in_top) = match top.find(pindex) {
        Some((pa, 0)) => (pa, true),
        Some((pa, _)) if access != Access::Write => (pa, false),
        Some((_, _)) => (copy_up(vs, &top, pindex)?, true),
        None => {
            // Nothing down the chain: the bottom object supplies it (zero or file data).
            let mut bottom = top.clone();
            while let Some(b) = bottom.backing() {
                bottom = b;
            }
            if Arc::ptr_eq(&bottom, &top) || bottom.is_anonymous() {
                (top.fill(pindex, alloc)?, true)
            } else {
                let pa = bottom.fill(pindex, alloc)?;
                if access == Access::Write {
                    (copy_up(vs, &top, pindex)?, true)
                } else {
                    (pa, false)
                }
            }
        }
    };
    let rights = UserProt {
        write: prot.contains(Prot::WRITE) && in_top && !needs_copy,
        exec: prot.contains(Prot::EXEC),
    };
    vs.pmap().enter(va, pa, rights).map_err(|_| FaultError::OutOfMemory)?;
    drop(map);
    vs.faults.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Copies page `pindex` from below `top` into `top` (the copy-on-write break).
fn copy_up(vs: &VmSpace, top: &Arc<VmObject>, pindex: u64) -> Result<u64, FaultError> {
    let src = top.backing().ok_or(FaultError::Unmapped)?;
    top.get_or_insert(pindex, || {
        if !vs.charge_page() {
            return Err(FaultError::OutOfMemory);
        }
        // Backing objects are never written, so the page found stays put while we copy.
        let mut cur = src;
        loop {
            if let Some(r) = cur.with_page(pindex, Frame::copy_of) {
                return r.ok_or(FaultError::OutOfMemory);
            }
            cur = cur.backing().ok_or(FaultError::Unmapped)?;
        }
    })
}

/// Grows the grows-down entry just above `va` down to it, if the stack limit and the guard
/// gap to the mapping below allow.
fn grow_down(map: &mut VmMap, va: u64) -> Result<(), FaultError> {
    let Some(above) = map.next_after(va) else { return Err(FaultError::Unmapped) };
    if !above.flags.contains(EntryFlags::GROWS_DOWN) {
        return Err(FaultError::Unmapped);
    }
    let (start, end, offset) = (above.start, above.end, above.offset);
    let grow = (start - va) / PAGE;
    if end - va > STACK_MAX || offset < grow {
        return Err(FaultError::Unmapped);
    }
    if let Some(below) = map.prev_before(va) {
        if va - below.end < STACK_GUARD_GAP {
            return Err(FaultError::Unmapped);
        }
    }
    if let Some(e) = map.at_mut(start) {
        e.offset -= grow;
    }
    map.rekey(start, va);
    Ok(())
}

/// The hook `trap.rs` calls for a page fault from user mode (interrupts on, no lock held):
/// resolves it in the vmspace this CPU runs, and makes sure that vmspace is active again
/// afterwards (the fault may have slept). `None` when the CPU runs no user vmspace (the
/// exception then ends the trip as before).
pub fn user_fault(addr: u64, error: u64) -> Option<Result<(), FaultError>> {
    let vs = VmSpace::current()?;
    // A reserved-bit fault is a page-table bug, never something to resolve by mapping.
    let r = if error & (1 << 3) != 0 {
        Err(FaultError::Protection)
    } else {
        fault(&vs, addr, Access::from_error_code(error), true)
    };
    vs.activate();
    count_minor(&r);
    Some(r)
}

/// The hook for copyin/copyout (the exception-table path): a kernel access to user address
/// `addr` faulted; resolves it in the vmspace this CPU runs as a kernel access on the user's
/// behalf. Call with interrupts on and no spinlock held (the fault may sleep); on `Ok` retry
/// the access, on `Err` take the fixup (EFAULT). `Unmapped` when no user vmspace runs here.
pub fn kernel_fault_on_user(addr: u64, write: bool) -> Result<(), FaultError> {
    let vs = VmSpace::current().ok_or(FaultError::Unmapped)?;
    let r = fault(&vs, addr, if write { Access::Write } else { Access::Read }, false);
    vs.activate();
    count_minor(&r);
    r
}

/// A resolved fault is a minor fault of the thread that took it (ru_minflt): pages come
/// from memory, never from a disk.
fn count_minor(r: &Result<(), FaultError>) {
    if r.is_ok() {
        if let Some(td) = crate::lwkt::sched::try_curthread() {
            td.times.minor_fault();
        }
    }
}
