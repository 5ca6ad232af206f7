//! Clock calls.
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::restart::{RestartBlock, ERESTART_RESTARTBLOCK};
use crate::proc::Lwp;
use abi::errno::*;
use alloc::sync::Arc;

type R = Result<u64, i32>;

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_MONOTONIC_RAW: u64 = 4;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;
const CLOCK_REALTIME_ALARM: u64 = 8;
const CLOCK_BOOTTIME_ALARM: u64 = 9;
const CLOCK_TAI: u64 = 11;

/// A clock's reading and resolution, ns: the wall and monotonic clocks (no suspend, so
/// BOOTTIME is MONOTONIC; no leap-second table, so TAI is REALTIME) and the CPU clocks.
fn now_res(l: &Arc<Lwp>, clock: u64) -> Result<(u64, u64), i32> {
    if let Some(c) = super::cpuclock::decode(l, clock)? {
        return Ok((c.read(), c.resolution()));
    }
    match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_ALARM | CLOCK_TAI => Ok((crate::time::realtime(), 1)),
        CLOCK_REALTIME_COARSE => Ok((crate::time::realtime(), crate::proc::rusage::TICK_NS)),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => {
            Ok((crate::time::nanotime(), 1))
        }
        CLOCK_MONOTONIC_COARSE => Ok((crate::time::nanotime(), crate::proc::rusage::TICK_NS)),
        _ => Err(EINVAL),
    }
}

pub(super) fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_ne_bytes());
    b[8..].copy_from_slice(&(ns % 1_000_000_000).to_ne_bytes());
    b
}

pub fn clock_gettime(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    copyout(a[1], &timespec(now_res(l, a[0])?.0))?;
    Ok(0)
}

pub fn clock_getres(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (_, res) = now_res(l, a[0])?;
    if a[1] != 0 {
        copyout(a[1], &timespec(res))?;
    }
    Ok(0)
}

/// The first second the wall clock cannot be set to (Linux's TIME_SETTOD_SEC_MAX: the
/// largest ktime_t in seconds less 30 years of uptime, so the clock never overflows).
const SETTOD_SEC_MAX: u64 = i64::MAX as u64 / 1_000_000_000 - 30 * 365 * 86_400;

/// clock_settime(clock, tp): only CLOCK_REALTIME can be set, and only with CAP_SYS_TIME
/// (here: effective uid root), EPERM otherwise. The CPU clocks are EPERM for everyone;
/// every other clock EINVAL before `tp` is read, as Linux checks. A time at or past
/// [`SETTOD_SEC_MAX`] is EINVAL before the privilege check (Linux's timespec64_valid_settod).
pub fn clock_settime(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let cpu_clock = super::cpuclock::decode(l, a[0])?.is_some();
    if a[0] as u32 as u64 != CLOCK_REALTIME && !cpu_clock {
        return Err(EINVAL);
    }
    let ns = read_timespec(a[1])?;
    if !cpu_clock && ns / 1_000_000_000 >= SETTOD_SEC_MAX {
        return Err(EINVAL);
    }
    if cpu_clock || l.proc.cred.lock().uid != 0 {
        return Err(EPERM);
    }
    crate::time::set_realtime(ns)?;
    Ok(0)
}

pub fn gettimeofday(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    if a[0] != 0 {
        let ns = crate::time::realtime();
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(ns / 1_000_000_000).to_ne_bytes());
        b[8..].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_ne_bytes());
        copyout(a[0], &b)?;
    }
    if a[1] != 0 {
        copyout(a[1], &[0u8; 8])?;
    }
    Ok(0)
}

pub fn time(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let s = crate::time::realtime() / 1_000_000_000;
    if a[0] != 0 {
        copyout(a[0], &s.to_ne_bytes())?;
    }
    Ok(s)
}

pub(super) fn read_timespec(addr: u64) -> Result<u64, i32> {
    let mut b = [0u8; 16];
    copyin(&mut b, addr)?;
    let sec = i64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let nsec = i64::from_ne_bytes(b[8..].try_into().unwrap_or([0; 8]));
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(EINVAL);
    }
    Ok((sec as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64))
}

/// Sleeps until `deadline` (nanotime), in clock ticks, never waking early; EINTR when a
/// signal comes first.
fn sleep_until(deadline: u64) -> Result<(), i32> {
    let tick = 1_000_000_000 / crate::lwkt::clock::HZ;
    let ident = &deadline as *const u64 as usize;
    loop {
        let now = crate::time::nanotime();
        if now >= deadline {
            return Ok(());
        }
        let ticks = (deadline - now).div_ceil(tick).max(1);
        if crate::lwkt::sleep::tsleep(ident, crate::lwkt::sleep::PCATCH, "nanslp", ticks) == Err(EINTR) {
            return Err(EINTR);
        }
    }
}

/// Sleeps to monotonic `deadline`. Interrupted by a signal, it writes the time left to
/// `rmtp` (when not 0) and records the deadline for restart_syscall.
fn sleep_to(l: &Arc<Lwp>, deadline: u64, rmtp: u64) -> R {
    if sleep_until(deadline) == Err(EINTR) {
        if rmtp != 0 {
            copyout(rmtp, &timespec(deadline.saturating_sub(crate::time::nanotime())))?;
        }
        *l.restart.lock() = Some(RestartBlock { deadline, rmtp });
        return Err(ERESTART_RESTARTBLOCK);
    }
    Ok(0)
}

pub fn nanosleep(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let ns = read_timespec(a[0])?;
    sleep_to(l, crate::time::nanotime().saturating_add(ns), a[1])
}

/// clock_nanosleep(clock, flags, request, remain): relative or (TIMER_ABSTIME) absolute on
/// REALTIME, MONOTONIC or BOOTTIME; the time left is reported for a relative sleep only.
/// The wall clock is never set, so an absolute REALTIME deadline is a fixed monotonic one.
pub fn clock_nanosleep(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const TIMER_ABSTIME: u64 = 1;
    const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
    let clock = a[0] as u32 as u64;
    if clock == CLOCK_THREAD_CPUTIME_ID {
        return Err(EINVAL);
    }
    let Some(offset) = crate::proc::ktimer::clock_offset(clock) else {
        // A valid clock that cannot be slept on (the CPU clocks, the raw and coarse ones).
        now_res(l, a[0])?;
        return Err(EOPNOTSUPP);
    };
    let ns = read_timespec(a[2])?;
    if a[1] & TIMER_ABSTIME != 0 {
        sleep_to(l, ns.saturating_sub(offset), 0)
    } else {
        sleep_to(l, crate::time::nanotime().saturating_add(ns), a[3])
    }
}

/// restart_syscall: resumes the sleep a signal interrupted when no handler ran; EINTR when
/// there is none to resume.
pub fn restart_syscall(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    let block = l.restart.lock().take().ok_or(EINTR)?;
    sleep_to(l, block.deadline, block.rmtp)
}

/// pause: sleeps until a signal comes; always fails with EINTR (ERESTARTNOHAND: a signal
/// with no handler either ends the process or is discarded before it can wake the sleep).
pub fn pause(_: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    let ident = crate::lwkt::sleep::ident_of(&PAUSE_CHANNEL);
    loop {
        if crate::lwkt::sleep::tsleep(ident, crate::lwkt::sleep::PCATCH, "pause", 0) == Err(EINTR) {
            return Err(EINTR);
        }
    }
}

/// What pause sleeps on (nothing wakes it but a signal).
static PAUSE_CHANNEL: u8 = 0;
