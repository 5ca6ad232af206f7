//! Signal calls: dispositions, masks, sending (kill, tkill, tgkill, sigqueue), waiting
//! (sigsuspend, sigtimedwait), the alternate stack, and the return from a handler.
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::signal::{self, SigInfo};
use crate::proc::{tree, Lwp, Proc, SigAction, NSIG};
use abi::errno::*;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

type R = Result<u64, i32>;

fn sigaction_bytes(s: &SigAction) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&s.handler.to_ne_bytes());
    b[8..16].copy_from_slice(&s.flags.to_ne_bytes());
    b[16..24].copy_from_slice(&s.restorer.to_ne_bytes());
    b[24..32].copy_from_slice(&s.mask.to_ne_bytes());
    b
}

/// rt_sigaction: records and reports dispositions (Linux's kernel `struct sigaction`:
/// handler, flags, restorer, mask), shared by the process's threads; SIGKILL and SIGSTOP
/// cannot be changed.
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
    // A signal now ignored is no longer pending anywhere in the process (POSIX).
    if new.is_some_and(|n| signal::ignored(&n, sig as u32)) {
        l.proc.sig.discard(signal::bit(sig as u32));
        for t in l.proc.lwps() {
            t.sig.discard(signal::bit(sig as u32));
        }
    }
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
        if new & !old != 0 {
            signal::retarget(&l.proc, l);
        }
    }
    if a[2] != 0 {
        copyout(a[2], &old.to_ne_bytes())?;
    }
    Ok(0)
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
    let pending = signal::pending(l) & l.sigmask.load(Ordering::Relaxed);
    copyout(a[0], &pending.to_ne_bytes())?;
    Ok(0)
}

fn check_sig(sig: u64) -> Result<u32, i32> {
    if sig > NSIG as u64 {
        return Err(EINVAL);
    }
    Ok(sig as u32)
}

/// Whether `l` may signal `p` (kill's permission rule: root may signal anyone, others
/// processes with their uid).
fn may_signal(l: &Lwp, p: &Proc) -> Result<u32, i32> {
    let uid = l.proc.cred.lock().uid;
    if uid != 0 && p.cred.lock().uid != uid {
        return Err(EPERM);
    }
    Ok(uid)
}

/// Sends `sig` (0: only checks) to `p` from `l`, as kill does. A full real-time queue
/// drops the signal quietly, as Linux's kill does.
fn send(l: &Lwp, p: &Proc, sig: u32, code: i32) -> Result<(), i32> {
    let uid = may_signal(l, p)?;
    if sig != 0 {
        let _ = signal::post(p, sig, SigInfo { code, pid: l.proc.pid, uid, ..SigInfo::default() });
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

/// The live thread `tid` (of process `tgid` when given).
fn thread(tgid: Option<i32>, tid: i32) -> Result<Arc<Lwp>, i32> {
    if tid <= 0 || tgid.is_some_and(|g| g <= 0) {
        return Err(EINVAL);
    }
    tree::find_thread(tgid.map(|g| g as u32), tid as u32).ok_or(ESRCH)
}

/// Sends `sig` to thread `t` with `info` (tkill, tgkill, rt_tgsigqueueinfo).
fn send_thread(l: &Lwp, t: &Lwp, sig: u32, info: SigInfo) -> R {
    may_signal(l, &t.proc)?;
    if sig != 0 {
        signal::post_lwp(t, sig, info)?;
    }
    Ok(0)
}

fn tkill_info(l: &Lwp) -> SigInfo {
    SigInfo { code: signal::SI_TKILL, pid: l.proc.pid, uid: l.proc.cred.lock().uid, ..SigInfo::default() }
}

/// tgkill(tgid, tid, sig): one thread of one process.
pub fn tgkill(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let sig = check_sig(a[2])?;
    let t = thread(Some(a[0] as i32), a[1] as i32)?;
    send_thread(l, &t, sig, tkill_info(l))
}

/// tkill(tid, sig).
pub fn tkill(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let sig = check_sig(a[1])?;
    let t = thread(None, a[0] as i32)?;
    send_thread(l, &t, sig, tkill_info(l))
}

/// The siginfo a sigqueue caller supplies: only its code and value are taken; Linux lets
/// a process queue to another only codes below 0 that are not SI_TKILL (no faking the
/// kernel or kill).
fn queued_info(l: &Lwp, target: &Proc, at: u64) -> Result<SigInfo, i32> {
    let mut b = [0u8; 128];
    copyin(&mut b, at)?;
    let code = i32::from_ne_bytes(b[8..12].try_into().unwrap_or([0; 4]));
    if (code >= 0 || code == signal::SI_TKILL) && target.pid != l.proc.pid {
        return Err(EPERM);
    }
    let value = u64::from_ne_bytes(b[24..32].try_into().unwrap_or([0; 8]));
    let uid = l.proc.cred.lock().uid;
    Ok(SigInfo { code, pid: l.proc.pid, uid, value, ..SigInfo::default() })
}

/// rt_sigqueueinfo(tgid, sig, info): sigqueue. EAGAIN when the real-time queue is full.
pub fn rt_sigqueueinfo(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let sig = check_sig(a[1])?;
    let p =
        tree::find(a[0] as u32).filter(|p| (a[0] as i32) > 0 && p.zombie.lock().is_none()).ok_or(ESRCH)?;
    let info = queued_info(l, &p, a[2])?;
    may_signal(l, &p)?;
    if sig != 0 {
        signal::post(&p, sig, info)?;
    }
    Ok(0)
}

/// rt_tgsigqueueinfo(tgid, tid, sig, info): sigqueue to one thread.
pub fn rt_tgsigqueueinfo(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let sig = check_sig(a[2])?;
    let t = thread(Some(a[0] as i32), a[1] as i32)?;
    let info = queued_info(l, &t.proc, a[3])?;
    send_thread(l, &t, sig, info)
}

/// A sigset argument (`size` must be 8 on x86-64), without SIGKILL and SIGSTOP.
pub(super) fn user_sigset(at: u64, size: u64) -> Result<u64, i32> {
    if size != 8 {
        return Err(EINVAL);
    }
    let mut b = [0u8; 8];
    copyin(&mut b, at)?;
    Ok(u64::from_ne_bytes(b) & !signal::UNBLOCKABLE)
}

/// rt_sigsuspend(mask, size): waits under `mask` until a signal's handler has run (or the
/// process ends); always EINTR. The old mask returns with the handler's sigreturn.
pub fn rt_sigsuspend(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let mask = user_sigset(a[0], a[1])?;
    signal::set_temporary_mask(l, mask);
    let chan = crate::lwkt::sleep::ident_of(&**l);
    // Sleep until a signal not blocked by `mask` makes the sleep end with EINTR.
    while crate::lwkt::sleep::tsleep(chan, crate::lwkt::sleep::PCATCH, "pause", 0) != Err(EINTR) {}
    Err(EINTR)
}

/// rt_sigtimedwait(set, info, timeout, size): takes a pending signal of `set` without
/// running its handler, waiting up to `timeout` (NULL: forever) for one. EAGAIN when the
/// time runs out, EINTR when a signal outside the set is delivered instead.
pub fn rt_sigtimedwait(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let want = user_sigset(a[0], a[3])?;
    let deadline = if a[2] != 0 {
        let ns = super::time::read_timespec(a[2])?;
        Some(crate::time::nanotime().saturating_add(ns))
    } else {
        None
    };
    let got = loop {
        if let Some(found) = signal::take(l, want) {
            break found;
        }
        let ticks = match deadline {
            None => 0,
            Some(d) => {
                let now = crate::time::nanotime();
                if now >= d {
                    return Err(EAGAIN);
                }
                (d - now).div_ceil(1_000_000_000 / crate::lwkt::clock::HZ).max(1)
            }
        };
        // The wanted signals are let through for the wait (so their arrival ends the sleep),
        // then blocked again before anything could deliver them.
        let old = l.sigmask.load(Ordering::Relaxed);
        l.real_blocked.store(old, Ordering::Relaxed);
        signal::set_mask(l, old & !want);
        let r = crate::lwkt::sleep::tsleep(
            crate::lwkt::sleep::ident_of(&**l),
            crate::lwkt::sleep::PCATCH,
            "sigwait",
            ticks,
        );
        signal::set_mask(l, old);
        l.real_blocked.store(0, Ordering::Relaxed);
        if r == Err(EINTR) && signal::pending(l) & want == 0 && signal::deliverable(l) {
            return Err(EINTR);
        }
    };
    let (sig, info) = got;
    if a[1] != 0 {
        copyout(a[1], &info.to_bytes(sig))?;
    }
    Ok(sig as u64)
}

/// sigaltstack(ss, old_ss): sets and reports the thread's alternate signal stack
/// (`stack_t`: ss_sp, ss_flags, ss_size).
pub fn sigaltstack(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    use crate::proc::lwp::AltStack;
    use crate::proc::signal::altstack;
    let old = altstack::current(l, t.rsp);
    if a[0] != 0 {
        let mut b = [0u8; 24];
        copyin(&mut b, a[0])?;
        let w = |i: usize| u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        altstack::set(l, AltStack { sp: w(0), flags: w(1) as u32, size: w(2) }, t.rsp)?;
    }
    if a[1] != 0 {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&old.sp.to_ne_bytes());
        b[8..12].copy_from_slice(&old.flags.to_ne_bytes());
        b[16..].copy_from_slice(&old.size.to_ne_bytes());
        copyout(a[1], &b)?;
    }
    Ok(0)
}
