//! Timer calls: alarm, getitimer and setitimer (the three interval timers), and the POSIX
//! timers (timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete).
//! The mechanisms are in `proc::timers` and `proc::ktimer`.
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::ktimer::{clock_offset, Setting};
use crate::proc::timers::{self, ITIMER_REAL};
use crate::proc::Lwp;
use abi::errno::{EINVAL, EOPNOTSUPP};
use alloc::sync::Arc;

type R = Result<u64, i32>;

const NS_PER_SEC: u64 = 1_000_000_000;

/// Two (sec, sub-second) pairs as Linux lays out itimerval and itimerspec: interval first.
fn read_pairs(addr: u64) -> Result<[(i64, i64); 2], i32> {
    let mut b = [0u8; 32];
    copyin(&mut b, addr)?;
    let word = |i: usize| i64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    Ok([(word(0), word(1)), (word(2), word(3))])
}

/// A (sec, sub) pair in units of `unit` ns as ns; EINVAL when negative or `sub` overflows.
fn pair_ns((sec, sub): (i64, i64), unit: u64) -> Result<u64, i32> {
    let per_sec = (NS_PER_SEC / unit) as i64;
    if sec < 0 || !(0..per_sec).contains(&sub) {
        return Err(EINVAL);
    }
    Ok((sec as u64).saturating_mul(NS_PER_SEC).saturating_add(sub as u64 * unit))
}

/// A setting as an itimerval (`unit` 1000) or itimerspec (`unit` 1): interval, then value.
fn setting_bytes(s: Setting, unit: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, ns) in [s.interval, s.value].into_iter().enumerate() {
        b[i * 16..i * 16 + 8].copy_from_slice(&(ns / NS_PER_SEC).to_ne_bytes());
        b[i * 16 + 8..i * 16 + 16].copy_from_slice(&(ns % NS_PER_SEC / unit).to_ne_bytes());
    }
    b
}

/// An interval timer's setting as getitimer shows it: a running ITIMER_REAL never reads
/// as zero (Linux shows at least a microsecond).
fn itimer_view(which: usize, mut s: Setting) -> Setting {
    if which == ITIMER_REAL && s.value != 0 {
        s.value = s.value.max(1000);
    }
    s
}

pub fn getitimer(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let which = a[0] as u32 as usize;
    let s = itimer_view(which, timers::get_itimer(&l.proc, which)?);
    copyout(a[1], &setting_bytes(s, 1000))?;
    Ok(0)
}

/// setitimer(which, new, old): a null `new` disarms (as Linux still allows).
pub fn setitimer(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let which = a[0] as u32 as usize;
    let (interval, value) = if a[1] == 0 {
        (0, 0)
    } else {
        let [i, v] = read_pairs(a[1])?;
        (pair_ns(i, 1000)?, pair_ns(v, 1000)?)
    };
    let old = itimer_view(which, timers::set_itimer(&l.proc, which, value, interval)?);
    if a[2] != 0 {
        copyout(a[2], &setting_bytes(old, 1000))?;
    }
    Ok(0)
}

/// alarm(seconds): ITIMER_REAL once; returns the seconds the previous alarm had left,
/// rounded to the nearest (and at least 1 when any time was left).
pub fn alarm(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let secs = a[0] as u32 as u64;
    let old = timers::set_itimer(&l.proc, ITIMER_REAL, secs * NS_PER_SEC, 0)?;
    let (s, us) = (old.value / NS_PER_SEC, old.value % NS_PER_SEC / 1000);
    Ok(if (s == 0 && old.value != 0) || us >= 500_000 { s + 1 } else { s })
}

/// timer_create(clock, sevp, timerid): REALTIME, MONOTONIC or BOOTTIME; SIGEV_SIGNAL,
/// SIGEV_NONE, SIGEV_THREAD (a signal, as the kernel sees it) or SIGEV_THREAD_ID naming
/// the caller's thread. A null sevp means SIGALRM carrying the timer id.
pub fn timer_create(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const SIGEV_SIGNAL: i32 = 0;
    const SIGEV_NONE: i32 = 1;
    const SIGEV_THREAD: i32 = 2;
    const SIGEV_THREAD_ID: i32 = 4;
    const SIGALRM: u32 = 14;
    let clock = a[0] as u32 as u64;
    if clock_offset(clock).is_none() {
        // The CPU clocks are valid clock ids but not timer clocks here.
        return Err(if super::cpuclock::decode(l, a[0])?.is_some() { EOPNOTSUPP } else { EINVAL });
    }
    let (signo, value, target) = if a[1] == 0 {
        (SIGALRM, None, None)
    } else {
        let mut b = [0u8; 20];
        copyin(&mut b, a[1])?;
        let value = u64::from_ne_bytes(b[0..8].try_into().unwrap_or([0; 8]));
        let signo = i32::from_ne_bytes(b[8..12].try_into().unwrap_or([0; 4]));
        let notify = i32::from_ne_bytes(b[12..16].try_into().unwrap_or([0; 4]));
        let tid = i32::from_ne_bytes(b[16..20].try_into().unwrap_or([0; 4]));
        // SIGEV_THREAD_ID: a thread of the caller's process.
        let target = (notify == SIGEV_THREAD_ID).then_some(tid as u32);
        if target.is_some_and(|t| crate::proc::tree::find_thread(Some(l.proc.pid), t).is_none()) {
            return Err(EINVAL);
        }
        match notify {
            SIGEV_NONE => (0, Some(value), None),
            SIGEV_SIGNAL | SIGEV_THREAD | SIGEV_THREAD_ID if (1..=64).contains(&signo) => {
                (signo as u32, Some(value), target)
            }
            _ => return Err(EINVAL),
        }
    };
    let id = timers::create(&l.proc, clock, signo, value, target)?;
    if let Err(e) = copyout(a[2], &id.to_ne_bytes()) {
        let _ = timers::delete(&l.proc, id);
        return Err(e);
    }
    Ok(0)
}

/// timer_settime(id, flags, new, old): TIMER_ABSTIME takes `new`'s value as a time on the
/// timer's clock; a zero value disarms.
pub fn timer_settime(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const TIMER_ABSTIME: u64 = 1;
    let id = a[0] as i32;
    if a[2] == 0 {
        return Err(EINVAL);
    }
    let [i, v] = read_pairs(a[2])?;
    let (interval, value) = (pair_ns(i, 1)?, pair_ns(v, 1)?);
    let old = timers::with_timer(&l.proc, id, |t| {
        let deadline = match value {
            0 => 0,
            v if a[1] & TIMER_ABSTIME != 0 => v.saturating_sub(clock_offset(t.clock()).unwrap_or(0)).max(1),
            v => crate::time::nanotime().saturating_add(v),
        };
        t.set(deadline, interval)
    })?;
    if a[3] != 0 {
        copyout(a[3], &setting_bytes(old, 1))?;
    }
    Ok(0)
}

pub fn timer_gettime(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let s = timers::with_timer(&l.proc, a[0] as i32, |t| t.get())?;
    copyout(a[1], &setting_bytes(s, 1))?;
    Ok(0)
}

pub fn timer_getoverrun(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    Ok(timers::with_timer(&l.proc, a[0] as i32, |t| t.overrun_last())? as u64)
}

pub fn timer_delete(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    timers::delete(&l.proc, a[0] as i32)?;
    Ok(0)
}
