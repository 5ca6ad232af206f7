//! Clock calls.
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use abi::errno::*;
use alloc::sync::Arc;

type R = Result<u64, i32>;

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
const CLOCK_MONOTONIC_RAW: u64 = 4;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;

fn now(clock: u64) -> Result<u64, i32> {
    match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => Ok(crate::time::realtime()),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            Ok(crate::time::nanotime())
        }
        // Per-process CPU time is not accounted yet: say so rather than make a number up.
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => Err(EINVAL),
        _ => Err(EINVAL),
    }
}

pub(super) fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_ne_bytes());
    b[8..].copy_from_slice(&(ns % 1_000_000_000).to_ne_bytes());
    b
}

pub fn clock_gettime(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    copyout(a[1], &timespec(now(a[0])?))?;
    Ok(0)
}

pub fn clock_getres(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    now(a[0])?;
    if a[1] != 0 {
        copyout(a[1], &timespec(1))?;
    }
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

pub fn nanosleep(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let ns = read_timespec(a[0])?;
    let deadline = crate::time::nanotime().saturating_add(ns);
    if sleep_until(deadline) == Err(EINTR) {
        // What was left, for a restart.
        if a[1] != 0 {
            copyout(a[1], &timespec(deadline.saturating_sub(crate::time::nanotime())))?;
        }
        return Err(EINTR);
    }
    Ok(0)
}

pub fn clock_nanosleep(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const TIMER_ABSTIME: u64 = 1;
    let clock = a[0];
    now(clock)?;
    let ns = read_timespec(a[2])?;
    let deadline = if a[1] & TIMER_ABSTIME != 0 {
        let cur = now(clock)?;
        crate::time::nanotime().saturating_add(ns.saturating_sub(cur))
    } else {
        crate::time::nanotime().saturating_add(ns)
    };
    if sleep_until(deadline) == Err(EINTR) {
        // A relative sleep reports what was left.
        if a[1] & TIMER_ABSTIME == 0 && a[3] != 0 {
            copyout(a[3], &timespec(deadline.saturating_sub(crate::time::nanotime())))?;
        }
        return Err(EINTR);
    }
    Ok(0)
}
