//! Process and thread calls: identity, exit, TLS, signal dispositions and masks, limits.
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::{Lwp, RLIM_NLIMITS};

/// The RLIMIT_NOFILE resource number.
const RLIMIT_NOFILE: usize = 7;
use abi::errno::*;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

type R = Result<u64, i32>;

pub fn getpid(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    Ok(l.proc.pid as u64)
}

pub fn getppid(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    Ok(l.proc.ppid.load(Ordering::Relaxed) as u64)
}

pub fn gettid(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    Ok(l.tid() as u64)
}

pub fn umask(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    Ok(l.proc.umask.swap(a[0] as u32 & 0o777, Ordering::Relaxed) as u64)
}

/// exit: this thread ends; the process with it if it was the last.
pub fn exit(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    crate::proc::thread::exit_thread(l, ((a[0] & 0xff) << 8) as i32)
}

/// exit_group: the process ends with status `a[0] & 0xff`.
pub fn exit_group(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    crate::proc::exit::exit_process(l, (a[0] & 0xff) as i32)
}

pub fn set_tid_address(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    l.clear_child_tid.store(a[0], Ordering::Relaxed);
    Ok(l.tid() as u64)
}

pub fn set_robust_list(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    // struct robust_list_head is 24 bytes on x86_64.
    if a[1] != 24 {
        return Err(EINVAL);
    }
    l.robust_list.store(a[0], Ordering::Relaxed);
    Ok(0)
}

pub fn arch_prctl(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const ARCH_SET_GS: u64 = 0x1001;
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    const ARCH_GET_GS: u64 = 0x1004;
    let u = crate::lwkt::sched::curthread().user().ok_or(EINVAL)?;
    let canonical = |v: u64| v < crate::arch::x86_64::usermode::USER_END;
    match a[0] {
        ARCH_SET_FS => {
            // A non-canonical base would fault the kernel on the MSR write: EPERM first.
            if !canonical(a[1]) {
                return Err(EPERM);
            }
            u.fs_base.store(a[1], Ordering::Relaxed);
            x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::new_truncate(a[1]));
            Ok(0)
        }
        ARCH_SET_GS => {
            if !canonical(a[1]) {
                return Err(EPERM);
            }
            u.gs_base.store(a[1], Ordering::Relaxed);
            x86_64::registers::model_specific::KernelGsBase::write(x86_64::VirtAddr::new_truncate(a[1]));
            Ok(0)
        }
        ARCH_GET_FS => {
            copyout(a[1], &x86_64::registers::model_specific::FsBase::read().as_u64().to_ne_bytes())?;
            Ok(0)
        }
        ARCH_GET_GS => {
            copyout(a[1], &x86_64::registers::model_specific::KernelGsBase::read().as_u64().to_ne_bytes())?;
            Ok(0)
        }
        _ => Err(EINVAL),
    }
}

/// Linux's fs.nr_open default: no RLIMIT_NOFILE may go above it, even for root.
const NR_OPEN: u64 = 1 << 20;

/// Whether `me` may read and set the limits of `p` (Linux's check_prlimit_permission): its
/// own, or a process whose real, effective and saved ids all equal the caller's real ones,
/// or any with privilege.
fn may_prlimit(me: &crate::proc::Proc, p: &crate::proc::Proc) -> bool {
    if core::ptr::eq(me, p) || me.cred.lock().uid == 0 {
        return true;
    }
    let mine = *me.ids.lock();
    let theirs = *p.ids.lock();
    let (euid, egid) = {
        let c = p.cred.lock();
        (c.uid, c.gid)
    };
    [theirs.ruid, euid, theirs.suid].iter().all(|&u| u == mine.ruid)
        && [theirs.rgid, egid, theirs.sgid].iter().all(|&g| g == mine.rgid)
}

/// prlimit64(pid, resource, new, old): the caller's or another process's limits.
pub fn prlimit64(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (pid, res) = (a[0] as i32, a[1] as usize);
    let new = if a[2] != 0 {
        let mut b = [0u8; 16];
        copyin(&mut b, a[2])?;
        let soft = u64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
        let hard = u64::from_ne_bytes(b[8..].try_into().unwrap_or([0; 8]));
        Some((soft, hard))
    } else {
        None
    };
    let p = match pid {
        0 => l.proc.clone(),
        p if p > 0 => crate::proc::tree::find(p as u32).ok_or(ESRCH)?,
        _ => return Err(ESRCH),
    };
    if !may_prlimit(&l.proc, &p) {
        return Err(EPERM);
    }
    if res >= RLIM_NLIMITS {
        return Err(EINVAL);
    }
    if let Some((soft, hard)) = new {
        if soft > hard {
            return Err(EINVAL);
        }
        if res == RLIMIT_NOFILE && hard > NR_OPEN {
            return Err(EPERM);
        }
    }
    let old = {
        let mut r = p.rlimits.lock();
        let old = r[res];
        if let Some((soft, hard)) = new {
            // Raising the hard limit needs privilege.
            if hard > old.1 && l.proc.cred.lock().uid != 0 {
                return Err(EPERM);
            }
            r[res] = (soft, hard);
        }
        old
    };
    if res == RLIMIT_NOFILE {
        if let Some((soft, _)) = new {
            p.fd.set_limit(soft.min(NR_OPEN) as usize);
        }
    }
    if a[3] != 0 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&old.0.to_ne_bytes());
        b[8..].copy_from_slice(&old.1.to_ne_bytes());
        copyout(a[3], &b)?;
    }
    Ok(0)
}

pub fn setrlimit(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    prlimit64(l, t, [0, a[0], a[1], 0, 0, 0])
}

pub fn getrlimit(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    prlimit64(l, t, [0, a[0], 0, a[1], 0, 0])
}
