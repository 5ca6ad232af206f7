//! poll, ppoll, select and pselect6 over the event layer's knote-based poll.
use super::time::{read_timespec, timespec};
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::event::poll as ev;
use crate::proc::{signal, Lwp};
use abi::errno::*;
use abi::poll::PollFd;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

type R = Result<u64, i32>;

/// A timeout in nanoseconds as the event layer's milliseconds, rounded up (a short timeout
/// still waits); `None` waits forever.
fn ms(ns: Option<u64>) -> i64 {
    ns.map_or(-1, |ns| ns.div_ceil(1_000_000).min(i64::MAX as u64) as i64)
}

fn poll_common(l: &Lwp, addr: u64, nfds: u64, timeout_ns: Option<u64>) -> R {
    let n = usize::try_from(nfds).map_err(|_| EINVAL)?;
    if n > l.proc.fd.limit() {
        return Err(EINVAL);
    }
    let mut raw = vec![0u8; n * 8];
    copyin(&mut raw, addr)?;
    let mut fds: Vec<PollFd> = raw
        .chunks_exact(8)
        .map(|c| PollFd {
            fd: i32::from_ne_bytes([c[0], c[1], c[2], c[3]]),
            events: u16::from_ne_bytes([c[4], c[5]]),
            revents: 0,
        })
        .collect();
    let ready = ev::poll(&l.proc.fd, &mut fds, ms(timeout_ns))?;
    for (c, p) in raw.chunks_exact_mut(8).zip(&fds) {
        c[6..8].copy_from_slice(&p.revents.to_ne_bytes());
    }
    copyout(addr, &raw)?;
    Ok(ready as u64)
}

/// poll(fds, nfds, timeout_ms).
pub fn poll(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = a[2] as i32;
    poll_common(l, a[0], a[1], (t >= 0).then(|| t as u64 * 1_000_000))
}

/// Runs `f` with the thread's signal mask replaced by the one at `mask_addr` (if any) as
/// one step with the wait (ppoll, pselect6, epoll_pwait). The old mask comes back at once,
/// unless `f` was interrupted (EINTR): then it stays until the signal has been acted on, so
/// a signal the temporary mask let in runs its handler, whose frame saves the old mask for
/// rt_sigreturn (Linux's restore_saved_sigmask_unless).
pub(super) fn with_mask<T>(
    l: &Lwp,
    mask_addr: u64,
    size: u64,
    f: impl FnOnce() -> Result<T, i32>,
) -> Result<T, i32> {
    if mask_addr == 0 {
        return f();
    }
    if size != 8 {
        return Err(EINVAL);
    }
    let mut m = [0u8; 8];
    copyin(&mut m, mask_addr)?;
    signal::set_temporary_mask(l, u64::from_ne_bytes(m));
    let r = f();
    if !matches!(r, Err(EINTR)) {
        signal::restore_saved_mask(l);
    }
    r
}

/// Writes back the time left of a `timeout` started at `start` as a timespec at `addr`
/// (ppoll, pselect6). As in Linux's poll_select_finish, a timeout that cannot be written
/// back (read-only memory) leaves the call's result alone.
fn write_time_left(addr: u64, timeout: Option<u64>, start: u64) {
    if let Some(t) = timeout {
        let _ = copyout(addr, &timespec(t.saturating_sub(crate::time::nanotime() - start)));
    }
}

/// ppoll(fds, nfds, timeout timespec or NULL, sigmask, sigsetsize). Like Linux, the
/// timespec is updated with the time left.
pub fn ppoll(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let timeout = if a[2] != 0 { Some(read_timespec(a[2])?) } else { None };
    let start = crate::time::nanotime();
    let r = with_mask(l, a[3], a[4], || poll_common(l, a[0], a[1], timeout));
    write_time_left(a[2], timeout, start);
    r
}

/// Copies in an fd_set of `words` words (absent when the pointer is NULL).
fn read_set(addr: u64, words: usize) -> Result<Option<Vec<u64>>, i32> {
    if addr == 0 {
        return Ok(None);
    }
    let mut b = vec![0u8; words * 8];
    copyin(&mut b, addr)?;
    Ok(Some(b.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]))).collect()))
}

fn write_set(addr: u64, set: &Option<Vec<u64>>) -> Result<(), i32> {
    if let Some(s) = set {
        let b: Vec<u8> = s.iter().flat_map(|w| w.to_ne_bytes()).collect();
        copyout(addr, &b)?;
    }
    Ok(())
}

fn select_common(l: &Lwp, a: [u64; 6], timeout_ns: Option<u64>) -> R {
    let nfds = a[0] as i32;
    if nfds < 0 {
        return Err(EINVAL);
    }
    let words = (nfds as usize).min(l.proc.fd.limit()).div_ceil(64);
    let (mut r, mut w, mut e) = (read_set(a[1], words)?, read_set(a[2], words)?, read_set(a[3], words)?);
    let n =
        ev::select(&l.proc.fd, nfds, r.as_deref_mut(), w.as_deref_mut(), e.as_deref_mut(), ms(timeout_ns))?;
    write_set(a[1], &r)?;
    write_set(a[2], &w)?;
    write_set(a[3], &e)?;
    Ok(n as u64)
}

/// select(nfds, readfds, writefds, exceptfds, timeout timeval or NULL). Like Linux, the
/// timeval is updated with the time left.
pub fn select(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let timeout = if a[4] != 0 {
        let mut b = [0u8; 16];
        copyin(&mut b, a[4])?;
        let sec = i64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
        let usec = i64::from_ne_bytes(b[8..].try_into().unwrap_or([0; 8]));
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(EINVAL);
        }
        Some((sec as u64).saturating_mul(1_000_000_000).saturating_add(usec as u64 * 1000))
    } else {
        None
    };
    let start = crate::time::nanotime();
    let r = select_common(l, a, timeout);
    if let Some(t) = timeout {
        let left = t.saturating_sub(crate::time::nanotime() - start);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(left / 1_000_000_000).to_ne_bytes());
        b[8..].copy_from_slice(&(left % 1_000_000_000 / 1000).to_ne_bytes());
        // See write_time_left: a timeval that cannot be updated is not an error.
        let _ = copyout(a[4], &b);
    }
    r
}

/// pselect6(nfds, readfds, writefds, exceptfds, timeout timespec or NULL, {sigmask, size}).
pub fn pselect6(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let timeout = if a[4] != 0 { Some(read_timespec(a[4])?) } else { None };
    let (mut mask, mut size) = (0, 0);
    if a[5] != 0 {
        let mut b = [0u8; 16];
        copyin(&mut b, a[5])?;
        mask = u64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
        size = u64::from_ne_bytes(b[8..].try_into().unwrap_or([0; 8]));
    }
    let start = crate::time::nanotime();
    let r = with_mask(l, mask, size, || select_common(l, a, timeout));
    write_time_left(a[4], timeout, start);
    r
}
