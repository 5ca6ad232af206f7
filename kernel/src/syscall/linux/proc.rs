//! Process and thread calls: identity, exit, TLS, signal dispositions and masks, limits.
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::signal::{self, SigInfo};
use crate::proc::{tree, Lwp, Proc, SigAction, NSIG, RLIM_NLIMITS};
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
    Ok(l.tid as u64)
}

pub fn umask(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    Ok(l.proc.umask.swap(a[0] as u32 & 0o777, Ordering::Relaxed) as u64)
}

/// exit: this thread ends. With one thread per process (for now) that ends the process.
pub fn exit(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    exit_group(l, t, a)
}

/// exit_group: the process ends with status `a[0] & 0xff`.
pub fn exit_group(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    crate::proc::exit::exit_process(l, (a[0] & 0xff) as i32)
}

pub fn set_tid_address(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    l.clear_child_tid.store(a[0], Ordering::Relaxed);
    Ok(l.tid as u64)
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

fn sigaction_bytes(s: &SigAction) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&s.handler.to_ne_bytes());
    b[8..16].copy_from_slice(&s.flags.to_ne_bytes());
    b[16..24].copy_from_slice(&s.restorer.to_ne_bytes());
    b[24..32].copy_from_slice(&s.mask.to_ne_bytes());
    b
}

/// rt_sigaction: records and reports dispositions (Linux's kernel `struct sigaction`:
/// handler, flags, restorer, mask). Delivery of caught signals comes with the signals
/// milestone; SIGKILL and SIGSTOP cannot be changed.
pub fn rt_sigaction(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let sig = a[0] as usize;
    if a[3] != 8 {
        return Err(EINVAL);
    }
    if sig == 0 || sig > NSIG {
        return Err(EINVAL);
    }
    let new = if a[1] != 0 {
        let mut b = [0u8; 32];
        copyin(&mut b, a[1])?;
        let w = |i: usize| u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        if sig == 9 || sig == 19 {
            return Err(EINVAL);
        }
        Some(SigAction { handler: w(0), flags: w(1), restorer: w(2), mask: w(3) & !((1 << 8) | (1 << 18)) })
    } else {
        None
    };
    let old = {
        let mut acts = l.proc.sigacts.lock();
        let old = acts[sig - 1];
        if let Some(n) = new {
            acts[sig - 1] = n;
        }
        old
    };
    if a[2] != 0 {
        copyout(a[2], &sigaction_bytes(&old))?;
    }
    Ok(0)
}

/// rt_sigprocmask: the thread's blocked set (SIGKILL and SIGSTOP never blocked).
pub fn rt_sigprocmask(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    if a[3] != 8 {
        return Err(EINVAL);
    }
    let old = l.sigmask.load(Ordering::Relaxed);
    if a[1] != 0 {
        let mut b = [0u8; 8];
        copyin(&mut b, a[1])?;
        let set = u64::from_ne_bytes(b) & !((1 << 8) | (1 << 18));
        let new = match a[0] {
            SIG_BLOCK => old | set,
            SIG_UNBLOCK => old & !set,
            SIG_SETMASK => set,
            _ => return Err(EINVAL),
        };
        crate::proc::signal::set_mask(l, new);
    }
    if a[2] != 0 {
        copyout(a[2], &old.to_ne_bytes())?;
    }
    Ok(0)
}

pub fn prlimit64(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (pid, res) = (a[0] as u32, a[1] as usize);
    if pid != 0 && pid != l.proc.pid {
        return Err(ESRCH);
    }
    if res >= RLIM_NLIMITS {
        return Err(EINVAL);
    }
    let new = if a[2] != 0 {
        let mut b = [0u8; 16];
        copyin(&mut b, a[2])?;
        let soft = u64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
        let hard = u64::from_ne_bytes(b[8..].try_into().unwrap_or([0; 8]));
        if soft > hard {
            return Err(EINVAL);
        }
        Some((soft, hard))
    } else {
        None
    };
    let old = {
        let mut r = l.proc.rlimits.lock();
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
    if res == 7 {
        if let Some((soft, _)) = new {
            l.proc.fd.set_limit(soft.min(1 << 20) as usize);
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

/// rt_sigreturn: back from a signal handler (see `proc::signal::sigreturn`).
pub fn rt_sigreturn(l: &Arc<Lwp>, t: &mut TrapFrame, _: [u64; 6]) -> R {
    Ok(signal::sigreturn(l, t))
}

/// rt_sigpending: the pending signals the thread blocks.
pub fn rt_sigpending(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    if a[1] != 8 {
        return Err(EINVAL);
    }
    let pending = l.proc.sig.lock().pending & l.sigmask.load(Ordering::Relaxed);
    copyout(a[0], &pending.to_ne_bytes())?;
    Ok(0)
}

fn check_sig(sig: u64) -> Result<u32, i32> {
    if sig > NSIG as u64 {
        return Err(EINVAL);
    }
    Ok(sig as u32)
}

/// Sends `sig` (0: only checks) to `p` from `l`, as kill does: root may signal anyone, others
/// processes with their uid.
fn send(l: &Lwp, p: &Proc, sig: u32, code: i32) -> Result<(), i32> {
    let uid = l.proc.cred.lock().uid;
    if uid != 0 && p.cred.lock().uid != uid {
        return Err(EPERM);
    }
    if sig != 0 {
        signal::post(p, sig, SigInfo { code, pid: l.proc.pid, uid, ..SigInfo::default() });
    }
    Ok(())
}

/// kill(pid, sig): >0 one process, 0 the caller's group, -1 every process but PID 1 and the
/// caller, < -1 the group -pid.
pub fn kill(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let sig = check_sig(a[1])?;
    let pid = a[0] as i32;
    if pid > 0 {
        let p = tree::find(pid as u32).ok_or(ESRCH)?;
        send(l, &p, sig, signal::SI_USER)?;
        return Ok(0);
    }
    if pid == i32::MIN {
        return Err(ESRCH);
    }
    let me = l.proc.pid;
    let group = match pid {
        0 => Some(l.proc.pgid.load(Ordering::Relaxed)),
        -1 => None,
        g => Some(g.unsigned_abs()),
    };
    let mut found = false;
    let mut last = Err(ESRCH);
    for p in tree::all() {
        let selected = match group {
            Some(g) => p.pgid.load(Ordering::Relaxed) == g,
            None => p.pid != 1 && p.pid != me,
        };
        if selected && p.zombie.lock().is_none() {
            found = true;
            last = send(l, &p, sig, signal::SI_USER).map(|_| 0).or(last);
        }
    }
    if !found {
        return Err(ESRCH);
    }
    last
}

/// tgkill(tgid, tid, sig): one thread (with one thread per process, the process).
pub fn tgkill(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (tgid, tid, sig) = (a[0] as i32, a[1] as i32, check_sig(a[2])?);
    if tgid <= 0 || tid <= 0 {
        return Err(EINVAL);
    }
    if tgid != tid {
        return Err(ESRCH);
    }
    let p = tree::find(tid as u32).ok_or(ESRCH)?;
    send(l, &p, sig, signal::SI_TKILL)?;
    Ok(0)
}

/// tkill(tid, sig).
pub fn tkill(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    tgkill(l, t, [a[0], a[0], a[1], 0, 0, 0])
}
