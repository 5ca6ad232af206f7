//! Memory calls: the VM layer's operations with the caller's address space.
use crate::arch::x86_64::copyio::copyout;
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use crate::vm::mmap::{self as vmm, MapSource};
use crate::vm::residency;
use crate::vm::{Prot, VmSpace};
use abi::errno::*;
use abi::mman::*;
use alloc::sync::Arc;

type R = Result<u64, i32>;

fn vs() -> Arc<VmSpace> {
    crate::lwkt::sched::curthread().user().expect("memory call outside a process").vmspace()
}

/// mmap(addr, len, prot, flags, fd, off). A MAP_LOCKED mapping counts against
/// RLIMIT_MEMLOCK first (EPERM with a zero limit, EAGAIN over it, as Linux's do_mmap).
pub fn mmap(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (addr, len, prot, flags, fd, off) = (a[0], a[1], a[2], a[3], a[4] as i32, a[5]);
    if flags & MAP_LOCKED != 0 && len != 0 {
        let (limit, privileged) = lock_rights(l);
        residency::may_map_locked(&vs(), len, limit, privileged)?;
    }
    if flags & MAP_ANONYMOUS != 0 {
        return vmm::mmap(&vs(), addr, len, prot, flags, MapSource::Anonymous);
    }
    if off % 4096 != 0 {
        return Err(EINVAL);
    }
    let f = l.proc.fd.get(fd)?;
    let v = f.vp.clone().ok_or(ENODEV)?;
    let object = v.node.vm_object().ok_or(ENODEV)?;
    // Linux's file_mmap_ok: the mapped range must end within the largest file offset.
    let end = len.checked_next_multiple_of(4096).and_then(|l| off.checked_add(l));
    if len != 0 && end.is_none_or(|e| e > i64::MAX as u64) {
        return Err(abi::errno::EOVERFLOW);
    }
    // What the open file allows: reading needs it readable, shared writing needs it writable.
    if !f.readable() {
        return Err(EACCES);
    }
    let mut max = Prot::READ | Prot::EXEC;
    if flags & MAP_TYPE == MAP_PRIVATE || f.writable() {
        max |= Prot::WRITE;
    }
    let file = f.nch.clone().map(|h| Arc::new(h) as Arc<dyn core::any::Any + Send + Sync>);
    vmm::mmap(
        &vs(),
        addr,
        len,
        prot,
        flags,
        MapSource::Object { object, offset: off / 4096, max_prot: max, file },
    )
}

pub fn munmap(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    vmm::munmap(&vs(), a[0], a[1]).map(|_| 0)
}

pub fn mprotect(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    vmm::mprotect(&vs(), a[0], a[1], a[2]).map(|_| 0)
}

pub fn mremap(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    vmm::mremap(&vs(), a[0], a[1], a[2], a[3], a[4])
}

pub fn madvise(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    vmm::madvise(&vs(), a[0], a[1], a[2]).map(|_| 0)
}

pub fn brk(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    Ok(vmm::brk(&vs(), a[0]))
}

/// mincore(addr, len, vec): a byte per page, bit 0 when the page is in memory. Answered in
/// batches of at most [`residency::MINCORE_BATCH`] pages, each copied out at its place in
/// `vec` before the next, as Linux does: a hole fails with ENOMEM after the bytes before it
/// are stored, a bad vector with EFAULT after the batches that fit. A thread being killed
/// stops between batches.
pub fn mincore(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (addr, vec) = (a[0], a[2]);
    let pages = residency::mincore_pages(addr, a[1])?;
    // Linux's access_ok on the vector: all of it must lie in the user range.
    if vec.checked_add(pages).is_none_or(|e| e > crate::vm::USER_MAX) {
        return Err(EFAULT);
    }
    let vs = vs();
    let mut buf = alloc::vec![0u8; residency::MINCORE_BATCH];
    let mut done = 0u64;
    while done < pages {
        if done > 0 {
            crate::proc::killable::checkpoint()?;
        }
        let want = (pages - done).min(buf.len() as u64) as usize;
        let n = residency::mincore_batch(&vs, addr + done * crate::vm::PAGE, &mut buf[..want])?;
        copyout(vec + done, &buf[..n])?;
        done += n as u64;
    }
    Ok(0)
}

/// Linux's RLIMIT_MEMLOCK index.
const RLIMIT_MEMLOCK: usize = 8;

/// mlock2's limit and capability: RLIMIT_MEMLOCK's soft value, and whether the caller has
/// CAP_IPC_LOCK (here: its effective uid is root).
fn lock_rights(l: &Lwp) -> (u64, bool) {
    (l.proc.rlimits.lock()[RLIMIT_MEMLOCK].0, l.proc.cred.lock().uid == 0)
}

pub fn mlock(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (limit, privileged) = lock_rights(l);
    residency::mlock(&vs(), a[0], a[1], false, limit, privileged).map(|_| 0)
}

/// mlock2(addr, len, flags): MLOCK_ONFAULT locks pages as they fault in; other flags EINVAL.
pub fn mlock2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    if a[2] & !residency::MLOCK_ONFAULT != 0 {
        return Err(EINVAL);
    }
    let (limit, privileged) = lock_rights(l);
    residency::mlock(&vs(), a[0], a[1], a[2] != 0, limit, privileged).map(|_| 0)
}

pub fn munlock(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    residency::munlock(&vs(), a[0], a[1]).map(|_| 0)
}

pub fn msync(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    residency::msync(&vs(), a[0], a[1], a[2]).map(|_| 0)
}
