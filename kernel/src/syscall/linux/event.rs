//! epoll, eventfd and timerfd calls over the event layer's objects (crate::event), and
//! flock(2). Argument checks come in Linux's order, so the same bad call fails the same way.
use super::readiness::with_mask;
use super::time::{read_timespec, timespec};
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::event::epoll::{self, Epoll};
use crate::event::eventfd::EventFd;
use crate::event::timerfd::{Clock, TimerFd};
use crate::proc::Lwp;
use crate::vfs::file::File;
use abi::epoll::*;
use abi::errno::*;
use abi::fcntl::{O_CLOEXEC, O_NONBLOCK};
use alloc::sync::Arc;
use alloc::vec::Vec;

type R = Result<u64, i32>;

/// Most events one wait may return (Linux's EP_MAX_EVENTS: INT_MAX / sizeof(epoll_event)).
const MAX_EVENTS: u64 = i32::MAX as u64 / EPOLL_EVENT_SIZE as u64;

fn install(l: &Lwp, file: Arc<File>, flags: u32) -> R {
    l.proc.fd.install(file, flags & O_CLOEXEC != 0).map(|fd| fd as u64)
}

/// epoll_create1(flags): EINVAL for flags other than EPOLL_CLOEXEC (= O_CLOEXEC).
pub fn epoll_create1(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let flags = a[0] as u32;
    if flags & !O_CLOEXEC != 0 {
        return Err(EINVAL);
    }
    install(l, File::anon(Epoll::new(), 0), flags)
}

/// epoll_create(size): the size is only a hint, but must be positive.
pub fn epoll_create(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    if a[0] as i32 <= 0 {
        return Err(EINVAL);
    }
    epoll_create1(l, t, [0; 6])
}

/// epoll_ctl(epfd, op, fd, event): EFAULT for the event (not read for DEL), EBADF for
/// either descriptor, EPERM for a file that is always ready (regular file, directory),
/// EINVAL for an epfd that is no epoll instance, the instance itself, a bad op or a misuse of
/// EPOLLEXCLUSIVE, ELOOP for a cycle of instances, EEXIST/ENOENT for the registration.
pub fn epoll_ctl(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (op, fd) = (a[1] as u32, a[2] as i32);
    let (mut events, mut data) = (0, 0);
    if op != EPOLL_CTL_DEL {
        let mut b = [0u8; EPOLL_EVENT_SIZE];
        copyin(&mut b, a[3])?;
        events = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
        data = u64::from_ne_bytes(b[4..].try_into().map_err(|_| EFAULT)?);
    }
    let epf = l.proc.fd.get(a[0] as i32)?;
    let tf = l.proc.fd.get(fd)?;
    if tf.knlist().is_none() {
        return Err(EPERM);
    }
    let ep = epoll::of(&epf).ok_or(EINVAL)?;
    ep.ctl(op, fd, &tf, events, data)?;
    Ok(0)
}

/// The wait under epoll_wait, epoll_pwait and epoll_pwait2: checks, waits, copies out.
fn wait_common(l: &Lwp, a: [u64; 6], timeout_ns: Option<u64>) -> R {
    let max = a[2] as i32;
    if max <= 0 || max as u64 > MAX_EVENTS {
        return Err(EINVAL);
    }
    // Linux checks that the array is user memory before it looks at the descriptor.
    a[1].checked_add(max as u64 * EPOLL_EVENT_SIZE as u64).ok_or(EFAULT)?;
    let f = l.proc.fd.get(a[0] as i32)?;
    let ep = epoll::of(&f).ok_or(EINVAL)?;
    let got = ep.wait(max as usize, timeout_ns)?;
    let mut b: Vec<u8> = Vec::new();
    b.try_reserve_exact(got.len() * EPOLL_EVENT_SIZE).map_err(|_| ENOMEM)?;
    for (ev, data) in &got {
        b.extend_from_slice(&ev.to_ne_bytes());
        b.extend_from_slice(&data.to_ne_bytes());
    }
    copyout(a[1], &b)?;
    Ok(got.len() as u64)
}

fn ms_timeout(ms: u64) -> Option<u64> {
    let ms = ms as i32;
    (ms >= 0).then(|| ms as u64 * 1_000_000)
}

/// epoll_wait(epfd, events, maxevents, timeout_ms): negative timeout waits forever.
pub fn epoll_wait(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    wait_common(l, a, ms_timeout(a[3]))
}

/// epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize): the wait under
/// `sigmask` (ppoll's rule: a signal it lets in runs its handler, then the old mask is back).
pub fn epoll_pwait(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    with_mask(l, a[4], a[5], || wait_common(l, a, ms_timeout(a[3])))
}

/// epoll_pwait2(epfd, events, maxevents, timeout timespec or NULL, sigmask, sigsetsize).
pub fn epoll_pwait2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let timeout = if a[3] != 0 { Some(read_timespec(a[3])?) } else { None };
    with_mask(l, a[4], a[5], || wait_common(l, a, timeout))
}

/// eventfd2(initval, flags): EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK; EINVAL for others.
pub fn eventfd2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let flags = a[1] as u32;
    if flags & !(EFD_SEMAPHORE | O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(EINVAL);
    }
    let efd = Arc::new(EventFd::new(a[0] as u32 as u64, flags & EFD_SEMAPHORE != 0));
    install(l, File::anon(efd, flags & O_NONBLOCK), flags)
}

/// eventfd(initval): eventfd2 with no flags.
pub fn eventfd(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    eventfd2(l, t, [a[0], 0, 0, 0, 0, 0])
}

/// timerfd_create(clockid, flags): CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME and
/// their _ALARM forms (nothing suspends here, so an alarm clock is its plain clock);
/// TFD_CLOEXEC and TFD_NONBLOCK.
pub fn timerfd_create(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let flags = a[1] as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(EINVAL);
    }
    let clock = match a[0] {
        0 | 8 => Clock::Realtime,
        1 | 7 | 9 => Clock::Monotonic,
        _ => return Err(EINVAL),
    };
    install(l, File::anon(Arc::new(TimerFd::new(clock)), flags & O_NONBLOCK), flags)
}

/// The timer behind `fd`: EBADF, or EINVAL when it is no timerfd.
fn timer_of(l: &Lwp, fd: u64) -> Result<Arc<File>, i32> {
    let f = l.proc.fd.get(fd as i32)?;
    f.anon_obj().and_then(|o| o.as_any().downcast_ref::<TimerFd>()).ok_or(EINVAL)?;
    Ok(f)
}

fn with_timer<T>(f: &File, g: impl FnOnce(&TimerFd) -> T) -> Result<T, i32> {
    Ok(g(f.anon_obj().and_then(|o| o.as_any().downcast_ref::<TimerFd>()).ok_or(EINVAL)?))
}

/// An itimerspec {interval, value} from (value, interval) nanoseconds.
fn itimerspec(value: u64, interval: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(&timespec(interval));
    b[16..].copy_from_slice(&timespec(value));
    b
}

/// timerfd_settime(fd, flags, new itimerspec, old itimerspec or NULL): TFD_TIMER_ABSTIME
/// takes the value as a time on the timer's clock; TFD_TIMER_CANCEL_ON_SET is accepted (the
/// wall clock is never set here, so nothing cancels). EINVAL for a bad timespec or flag.
pub fn timerfd_settime(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let flags = a[1] as u32;
    // Linux copies the new setting in before it looks at anything (EFAULT first).
    copyin(&mut [0u8; 32], a[2])?;
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(EINVAL);
    }
    let interval = read_timespec(a[2])?;
    let value = read_timespec(a[2].checked_add(16).ok_or(EFAULT)?)?;
    let f = timer_of(l, a[0])?;
    let (old_value, old_interval) =
        with_timer(&f, |t| t.set(value, interval, flags & TFD_TIMER_ABSTIME != 0))?;
    if a[3] != 0 {
        copyout(a[3], &itimerspec(old_value, old_interval))?;
    }
    Ok(0)
}

/// timerfd_gettime(fd, itimerspec): time to the next expiry (0: disarmed) and the period.
pub fn timerfd_gettime(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = timer_of(l, a[0])?;
    let (value, interval) = with_timer(&f, |t| t.get())?;
    copyout(a[1], &itimerspec(value, interval))?;
    Ok(0)
}

/// flock(fd, operation).
pub fn flock(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    l.proc.fd.get(a[0] as i32)?.flock(a[1] as u32)?;
    Ok(0)
}
