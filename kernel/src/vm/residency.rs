//! Page residency calls with Linux semantics: mincore (which pages are in memory), mlock and
//! munlock (keep pages in memory), msync (write mappings back to their files).
//!
//! There is no swap and no disk-backed page cache: a page, once in an object, stays until
//! its mapping or file lets it go, and a file's object holds the file's data itself (tmpfs).
//! So mlock's work is faulting the range in and marking the entries LOCKED (which mincore,
//! msync's EBUSY and the RLIMIT_MEMLOCK accounting see), and msync has nothing to write:
//! it checks its arguments and the range as Linux does.
use super::fault::{fault, Access, FaultError};
use super::map::EntryFlags;
use super::vmspace::VmSpace;
use super::{page_ceil, page_floor, Prot, PAGE, USER_MAX};
use abi::errno::{EBUSY, EINVAL, ENOMEM};

/// msync flags.
pub const MS_ASYNC: u64 = 1;
/// msync: drop cached copies (nothing here caches apart from the file's own pages).
pub const MS_INVALIDATE: u64 = 2;
/// msync: write back before returning.
pub const MS_SYNC: u64 = 4;
/// mlock2's only flag: lock pages as they fault in instead of now.
pub const MLOCK_ONFAULT: u64 = 1;

/// Most pages mincore answers for in one batch (Linux's: one page of vector at a time, the
/// map lock dropped in between).
pub const MINCORE_BATCH: usize = 4096;

/// mincore's argument check: the number of pages `[addr, addr+len)` covers. EINVAL for an
/// unaligned address, ENOMEM when the range wraps or leaves the user range.
pub fn mincore_pages(addr: u64, len: u64) -> Result<u64, i32> {
    if !addr.is_multiple_of(PAGE) {
        return Err(EINVAL);
    }
    let pages = len.div_ceil(PAGE);
    addr.checked_add(len).filter(|e| *e <= USER_MAX).ok_or(ENOMEM)?;
    Ok(pages)
}

/// One batch of mincore: a byte per page from `addr` (page aligned) into `out`, bit 0 set
/// when the page is in memory (in the entry's object or down its copy-on-write chain, as
/// Linux reports a page in its page tables or its file's cache). Stops at the end of the
/// entry holding `addr`, returning the pages answered; ENOMEM when `addr` is not mapped.
pub fn mincore_batch(vs: &VmSpace, addr: u64, out: &mut [u8]) -> Result<usize, i32> {
    let map = vs.map.shared();
    let e = map.lookup(addr).ok_or(ENOMEM)?;
    let n = (((e.end - addr) / PAGE) as usize).min(out.len());
    let out = &mut out[..n];
    out.fill(0);
    e.object.mark_resident(e.pindex(addr), out);
    Ok(n)
}

/// The pages of `[start, end)` (page aligned) that LOCKED entries do not cover yet, and the
/// pages all LOCKED entries hold: what mlock of the range adds to the locked total.
fn locked_pages(vs: &VmSpace, start: u64, end: u64) -> (u64, u64) {
    let map = vs.map.shared();
    let mut total = 0;
    let mut inside = 0;
    for e in map.iter().filter(|e| e.flags.contains(EntryFlags::LOCKED)) {
        total += e.pages();
        let (s, t) = (e.start.max(start), e.end.min(end));
        if s < t {
            inside += (t - s) / PAGE;
        }
    }
    ((end - start) / PAGE - inside, total)
}

/// The range mlock and munlock act on: the address rounded down, the length rounded up
/// over it (both calls accept unaligned addresses). EINVAL when it wraps or leaves the
/// user range (Linux's check of the end), ENOMEM when part of it is not mapped.
fn lock_range(vs: &VmSpace, addr: u64, len: u64) -> Result<(u64, u64), i32> {
    let start = page_floor(addr);
    let end = addr.checked_add(len).and_then(page_ceil).ok_or(EINVAL)?;
    if end > USER_MAX {
        return Err(ENOMEM);
    }
    if start < end && !vs.map.shared().is_covered(start, end) {
        return Err(ENOMEM);
    }
    Ok((start, end))
}

/// mlock / mlock2: marks the entries of the range LOCKED and (unless `onfault`) faults every
/// page in. `limit` is RLIMIT_MEMLOCK in bytes and `privileged` CAP_IPC_LOCK: without the
/// capability a zero limit is EPERM and going over it ENOMEM. ENOMEM when part of the range
/// is unmapped (nothing changes then).
pub fn mlock(
    vs: &VmSpace,
    addr: u64,
    len: u64,
    onfault: bool,
    limit: u64,
    privileged: bool,
) -> Result<(), i32> {
    if limit == 0 && !privileged {
        return Err(abi::errno::EPERM);
    }
    let (start, end) = lock_range(vs, addr, len)?;
    if start == end {
        return Ok(());
    }
    let (adding, held) = locked_pages(vs, start, end);
    if !privileged && adding.saturating_add(held) > limit / PAGE {
        return Err(ENOMEM);
    }
    set_locked(vs, start, end, true);
    if !onfault {
        populate(vs, start, end)?;
    }
    Ok(())
}

/// Whether a new mapping of `len` bytes may be created locked (mmap's MAP_LOCKED, Linux's
/// can_do_mlock and mlock_future_check): without CAP_IPC_LOCK (`privileged`), EPERM when
/// RLIMIT_MEMLOCK (`limit`, bytes) is 0 and EAGAIN when the pages already locked and the
/// new ones go over it.
pub fn may_map_locked(vs: &VmSpace, len: u64, limit: u64, privileged: bool) -> Result<(), i32> {
    if privileged {
        return Ok(());
    }
    if limit == 0 {
        return Err(abi::errno::EPERM);
    }
    let (_, held) = locked_pages(vs, 0, 0);
    if len.div_ceil(PAGE).saturating_add(held) > limit / PAGE {
        return Err(abi::errno::EAGAIN);
    }
    Ok(())
}

/// munlock: clears LOCKED on the range; ENOMEM when part of it is unmapped.
pub fn munlock(vs: &VmSpace, addr: u64, len: u64) -> Result<(), i32> {
    let (start, end) = lock_range(vs, addr, len)?;
    if start < end {
        set_locked(vs, start, end, false);
    }
    Ok(())
}

fn set_locked(vs: &VmSpace, start: u64, end: u64, on: bool) {
    let mut map = vs.map.exclusive();
    map.clip(start, end);
    for s in map.starts_in(start, end) {
        if let Some(e) = map.at_mut(s) {
            e.flags.set(EntryFlags::LOCKED, on);
        }
    }
}

/// Pages faulted in between two [`checkpoint`](crate::proc::killable::checkpoint)s.
const POPULATE_BATCH: u64 = 256;

/// Faults in every accessible page of `[start, end)`, entry by entry, for writing where the
/// entry allows it (breaking copy-on-write now, as Linux's mlock and MAP_POPULATE do for
/// writable private mappings). Entries that forbid access (PROT_NONE) and holes are
/// skipped whole; a page a file does not have (past its end) is skipped. Stops when memory
/// runs out. Other threads get turns along the way; EINTR when the caller is being killed.
pub fn populate(vs: &VmSpace, start: u64, end: u64) -> Result<(), i32> {
    let mut va = start;
    let mut since_checkpoint = 0;
    while va < end {
        // The entry at (or after) `va`, looked at under the map lock, which is not held
        // while faulting: the map may change meanwhile, and a fault then just fails.
        let (stop, access) = {
            let map = vs.map.shared();
            let Some(e) = map.lookup(va).or_else(|| map.next_after(va)).filter(|e| e.start < end) else {
                return Ok(());
            };
            va = va.max(e.start);
            let access = if e.prot.contains(Prot::WRITE) {
                Some(Access::Write)
            } else if e.prot.is_empty() {
                None
            } else {
                Some(Access::Read)
            };
            (e.end.min(end), access)
        };
        let Some(access) = access else {
            va = stop;
            continue;
        };
        while va < stop {
            if fault(vs, va, access, false) == Err(FaultError::OutOfMemory) {
                return Ok(());
            }
            va += PAGE;
            since_checkpoint += 1;
            if since_checkpoint == POPULATE_BATCH {
                since_checkpoint = 0;
                crate::proc::killable::checkpoint()?;
            }
        }
    }
    Ok(())
}

/// msync: EINVAL for an unknown flag, an unaligned address or both MS_ASYNC and MS_SYNC;
/// EBUSY for MS_INVALIDATE on a locked entry; ENOMEM when part of the range is unmapped (or
/// the range wraps). Shared file mappings write into the file's own pages, so there is
/// nothing left to write back.
pub fn msync(vs: &VmSpace, addr: u64, len: u64, flags: u64) -> Result<(), i32> {
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || !addr.is_multiple_of(PAGE)
        || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
    {
        return Err(EINVAL);
    }
    let end = page_ceil(len).and_then(|l| addr.checked_add(l)).ok_or(ENOMEM)?;
    if end == addr {
        return Ok(());
    }
    let map = vs.map.shared();
    let mut va = addr;
    let mut hole = false;
    while va < end {
        let Some(e) = map.lookup(va).or_else(|| map.next_after(va).filter(|n| n.start < end)) else {
            return Err(ENOMEM);
        };
        if e.start > va {
            hole = true;
        }
        if flags & MS_INVALIDATE != 0 && e.flags.contains(EntryFlags::LOCKED) {
            return Err(EBUSY);
        }
        va = e.end;
    }
    if hole {
        Err(ENOMEM)
    } else {
        Ok(())
    }
}
