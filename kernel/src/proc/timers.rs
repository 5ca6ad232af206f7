//! A process's timers (Linux's signal_struct timers, DragonFly's p_timer): the three
//! interval timers of setitimer (ITIMER_REAL on a clock timer; ITIMER_VIRTUAL and
//! ITIMER_PROF charged from the CPU-accounting tick) and the POSIX timers of timer_create.
//! Not inherited by fork; exec keeps the interval timers and deletes the POSIX ones; exit
//! deletes all (so no timer outlives its process).
use super::ktimer::{KTimer, Notify, Setting};
use super::rusage::TICK_NS;
use super::signal::{self, SigInfo, SI_KERNEL};
use super::Proc;
use crate::lwkt::thread::Thread;
use crate::mem::fallible::FBox;
use crate::sync::spinlock::SpinLock;
use abi::errno::{EAGAIN, EINVAL, ENOMEM};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

/// setitimer's `which`.
pub const ITIMER_REAL: usize = 0;
/// User CPU time: SIGVTALRM.
pub const ITIMER_VIRTUAL: usize = 1;
/// User and system CPU time: SIGPROF.
pub const ITIMER_PROF: usize = 2;
const SIGVTALRM: u32 = 26;
const SIGPROF: u32 = 27;
const CLOCK_MONOTONIC: u64 = 1;
/// Most POSIX timers a process may have.
pub const TIMER_MAX: usize = 1024;

/// An interval timer counting CPU time: ns left and the period.
#[derive(Clone, Copy, Debug, Default)]
struct CpuTimer {
    value: u64,
    interval: u64,
}

/// The timers of one process.
pub struct ProcTimers {
    real: SpinLock<Option<FBox<KTimer>>>,
    posix: SpinLock<Vec<Option<FBox<KTimer>>>>,
    /// ITIMER_VIRTUAL and ITIMER_PROF (index which - 1).
    cpu: SpinLock<[CpuTimer; 2]>,
    /// Either CPU timer is armed (the tick looks no further otherwise).
    cpu_armed: AtomicBool,
}

impl Default for ProcTimers {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcTimers {
    /// No timers.
    pub const fn new() -> ProcTimers {
        ProcTimers {
            real: SpinLock::new(None),
            posix: SpinLock::new(Vec::new()),
            cpu: SpinLock::new([CpuTimer { value: 0, interval: 0 }; 2]),
            cpu_armed: AtomicBool::new(false),
        }
    }
}

/// getitimer: interval timer `which`'s setting (EINVAL for an unknown one).
pub fn get_itimer(p: &Proc, which: usize) -> Result<Setting, i32> {
    match which {
        ITIMER_REAL => Ok(p.timers.real.lock().as_ref().map(|t| t.get()).unwrap_or_default()),
        ITIMER_VIRTUAL | ITIMER_PROF => {
            let t = p.timers.cpu.lock()[which - 1];
            // Linux reports an expiry due within the current tick as one tick away.
            let value = if t.value == 0 { 0 } else { t.value.max(TICK_NS) };
            Ok(Setting { value, interval: t.interval })
        }
        _ => Err(EINVAL),
    }
}

/// setitimer: arms interval timer `which` to expire in `value` ns (0: disarm), then every
/// `interval` ns; returns the previous setting.
pub fn set_itimer(p: &Proc, which: usize, value: u64, interval: u64) -> Result<Setting, i32> {
    match which {
        ITIMER_REAL => {
            let mut real = p.timers.real.lock();
            if real.is_none() {
                if value == 0 {
                    return Ok(Setting::default());
                }
                *real = Some(KTimer::new(p, CLOCK_MONOTONIC, Notify::Alarm)?);
            }
            let t = real.as_ref().ok_or(ENOMEM)?;
            let deadline = if value == 0 { 0 } else { crate::time::nanotime().saturating_add(value) };
            Ok(t.set(deadline, interval))
        }
        ITIMER_VIRTUAL | ITIMER_PROF => {
            let old = get_itimer(p, which)?;
            let mut cpu = p.timers.cpu.lock();
            // As Linux: a tick more, since the current tick is already partly used.
            cpu[which - 1] = if value == 0 {
                CpuTimer::default()
            } else {
                CpuTimer { value: value.saturating_add(TICK_NS), interval }
            };
            p.timers.cpu_armed.store(cpu.iter().any(|t| t.value != 0), Ordering::Relaxed);
            Ok(old)
        }
        _ => Err(EINVAL),
    }
}

/// From the clock tick: thread `td` ran the last tick (in user mode if `user`); charge its
/// process's CPU interval timers and signal the ones that ran out.
pub fn statclock(td: &Thread, user: bool) {
    let Some(u) = td.user() else { return };
    let p = &u.lwp.proc;
    if !p.timers.cpu_armed.load(Ordering::Relaxed) {
        return;
    }
    let mut fired = [false; 2];
    {
        let mut cpu = p.timers.cpu.lock();
        for (i, t) in cpu.iter_mut().enumerate() {
            if t.value == 0 || (i + 1 == ITIMER_VIRTUAL && !user) {
                continue;
            }
            if t.value > TICK_NS {
                t.value -= TICK_NS;
                continue;
            }
            fired[i] = true;
            t.value = t.interval;
        }
        p.timers.cpu_armed.store(cpu.iter().any(|t| t.value != 0), Ordering::Relaxed);
    }
    for (i, sig) in [SIGVTALRM, SIGPROF].into_iter().enumerate() {
        if fired[i] {
            let _ = signal::post(p, sig, SigInfo::code(SI_KERNEL));
        }
    }
}

/// timer_create: a new POSIX timer of `p` on `clock` notifying by `signo` (0: SIGEV_NONE)
/// with `value`; `value` None means the timer's own id (a null sigevent). Returns the id.
pub fn create(p: &Proc, clock: u64, signo: u32, value: Option<u64>, tid: Option<u32>) -> Result<i32, i32> {
    let mut table = p.timers.posix.lock();
    let slot = match table.iter().position(Option::is_none) {
        Some(i) => i,
        None if table.len() >= TIMER_MAX => return Err(EAGAIN),
        None => {
            table.try_reserve(1).map_err(|_| EAGAIN)?;
            table.push(None);
            table.len() - 1
        }
    };
    let id = slot as i32;
    let notify = Notify::Posix { id, signo, value: value.unwrap_or(slot as u64), tid };
    table[slot] = Some(KTimer::new(p, clock, notify).map_err(|_| EAGAIN)?);
    Ok(id)
}

/// Runs `f` on POSIX timer `id` of `p` (EINVAL when there is none).
pub fn with_timer<T>(p: &Proc, id: i32, f: impl FnOnce(&KTimer) -> T) -> Result<T, i32> {
    let table = p.timers.posix.lock();
    let t = usize::try_from(id).ok().and_then(|i| table.get(i)).and_then(Option::as_ref).ok_or(EINVAL)?;
    Ok(f(t))
}

/// timer_delete.
pub fn delete(p: &Proc, id: i32) -> Result<(), i32> {
    let gone = {
        let mut table = p.timers.posix.lock();
        usize::try_from(id).ok().and_then(|i| table.get_mut(i)).and_then(Option::take).ok_or(EINVAL)?
    };
    // Dropping it stops its callout, outside the table's lock.
    drop(gone);
    Ok(())
}

/// A signal a POSIX timer sent is being delivered: it takes the timer's overrun count along.
pub fn delivered(p: &Proc, info: &mut SigInfo) {
    if info.code == signal::SI_TIMER {
        if let Ok(o) = with_timer(p, info.timerid, |t| t.delivered()) {
            info.overrun = o;
        }
    }
}

/// exec: the POSIX timers go; the interval timers stay.
pub fn exec(p: &Proc) {
    let gone = core::mem::take(&mut *p.timers.posix.lock());
    drop(gone);
}

/// exit: every timer goes, so none fires for a process that is gone.
pub fn exit(p: &Proc) {
    exec(p);
    let real = p.timers.real.lock().take();
    drop(real);
    *p.timers.cpu.lock() = [CpuTimer::default(); 2];
    p.timers.cpu_armed.store(false, Ordering::Relaxed);
}
