//! A process's clock timer (Linux's hrtimer-backed itimer and k_itimer, on DragonFly's
//! callouts): a deadline on the monotonic clock, an optional interval, and what its expiry
//! does (SIGALRM for ITIMER_REAL, a POSIX timer's signal with its overrun count). The
//! callout fires from the clock tick on the CPU that armed it; a fire that comes before the
//! deadline (the tick's phase) re-arms, so a timer never expires early.
use super::signal::{self, SigInfo, SI_KERNEL, SI_TIMER};
use super::Proc;
use crate::lwkt::callout::Callout;
use crate::mem::fallible::FBox;
use crate::sync::spinlock::SpinLock;
use core::pin::Pin;

/// SIGALRM's Linux number.
pub const SIGALRM: u32 = 14;

/// What an expiry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// ITIMER_REAL: SIGALRM to the process (si_code SI_KERNEL).
    Alarm,
    /// A POSIX timer: `signo` (0 for SIGEV_NONE) with SI_TIMER, the timer id and `value`.
    Posix { id: i32, signo: u32, value: u64, tid: Option<u32> },
}

#[derive(Clone, Copy, Debug, Default)]
struct State {
    /// nanotime of the next expiry; 0 when disarmed.
    deadline: u64,
    /// Re-arm period, ns (0: one shot).
    interval: u64,
    /// Expiries not signalled since the last delivery (the signal was still pending).
    overrun: u64,
    /// The overrun the last delivered signal reported (timer_getoverrun).
    overrun_last: i32,
}

/// One timer. Lives in an [`FBox`] (never moved while armed); its callout is stopped when
/// it is dropped, so the process it points at outlives every firing.
pub struct KTimer {
    callout: Callout,
    proc: *const Proc,
    /// The clock its absolute times are on (a clock id `clock_offset` knows).
    clock: u64,
    notify: Notify,
    st: SpinLock<State>,
}

// SAFETY: `proc` is only read, and points at a process that outlives the timer (its timers
// are dropped at exit, before the process can be freed); the rest is Sync.
unsafe impl Sync for KTimer {}
// SAFETY: as above.
unsafe impl Send for KTimer {}

/// The time left and the interval, ns (what getitimer and timer_gettime report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Setting {
    /// Until the next expiry (0: disarmed).
    pub value: u64,
    /// Period.
    pub interval: u64,
}

impl KTimer {
    /// A disarmed timer of process `p` on clock `clock`; ENOMEM when memory is short.
    pub fn new(p: &Proc, clock: u64, notify: Notify) -> Result<FBox<KTimer>, i32> {
        let st = SpinLock::new(State::default());
        let t = KTimer { callout: Callout::new(), proc: p as *const Proc, clock, notify, st };
        FBox::try_new(t).map_err(|_| abi::errno::ENOMEM)
    }

    /// The clock it runs on.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    fn callout(&self) -> Pin<&Callout> {
        // SAFETY: timers live in an FBox that is never moved out of (see the type's doc), so
        // the callout stays at this address until it is dropped, which stops it.
        unsafe { Pin::new_unchecked(&self.callout) }
    }

    fn arm_callout(&self, deadline: u64, now: u64) {
        let ticks = deadline.saturating_sub(now).div_ceil(super::rusage::TICK_NS).max(1);
        self.callout().reset(ticks, fire, self as *const KTimer as usize);
    }

    /// The setting now.
    pub fn get(&self) -> Setting {
        let st = self.st.lock();
        let value = match st.deadline {
            0 => 0,
            // An expiry that is due but not yet run reads as just about to happen.
            d => d.saturating_sub(crate::time::nanotime()).max(1),
        };
        Setting { value, interval: st.interval }
    }

    /// Arms it to expire at monotonic time `deadline` (0: disarm), then every `interval`
    /// ns; returns the previous setting. The overrun counts start again.
    pub fn set(&self, deadline: u64, interval: u64) -> Setting {
        self.callout.stop();
        let old = self.get();
        let now = crate::time::nanotime();
        {
            let mut st = self.st.lock();
            st.deadline = deadline;
            st.interval = if deadline == 0 { 0 } else { interval };
            st.overrun = 0;
            st.overrun_last = 0;
        }
        if deadline != 0 {
            self.arm_callout(deadline, now);
        }
        old
    }

    /// The overrun the last delivered signal carried.
    pub fn overrun_last(&self) -> i32 {
        self.st.lock().overrun_last
    }

    /// The timer's signal is being delivered: it carries the overruns counted since, which
    /// timer_getoverrun then reports.
    pub fn delivered(&self) -> i32 {
        let mut st = self.st.lock();
        st.overrun_last = i32::try_from(st.overrun).unwrap_or(i32::MAX);
        st.overrun = 0;
        st.overrun_last
    }

    /// Sends the expiry's signal, or counts an overrun when the last one is still pending.
    fn expire(&self) {
        // SAFETY: see the type: the process outlives its armed timers.
        let p = unsafe { &*self.proc };
        match self.notify {
            Notify::Alarm => {
                let _ = signal::post(p, SIGALRM, SigInfo::code(SI_KERNEL));
            }
            Notify::Posix { signo: 0, .. } => {}
            Notify::Posix { id, signo, value, tid } => {
                // SIGEV_THREAD_ID: that thread, while it lives (else nobody).
                let target = match tid {
                    Some(t) => match super::tree::find_thread(Some(p.pid), t) {
                        Some(l) => Some(l),
                        None => return,
                    },
                    None => None,
                };
                let queued = match &target {
                    Some(l) => l.sig.has_timer(signo, id),
                    None => p.sig.has_timer(signo, id),
                };
                if queued {
                    let mut st = self.st.lock();
                    st.overrun = st.overrun.saturating_add(1);
                    return;
                }
                let info = SigInfo { code: SI_TIMER, timerid: id, value, ..SigInfo::default() };
                let _ = match &target {
                    Some(l) => signal::post_lwp(l, signo, info),
                    None => signal::post(p, signo, info),
                };
            }
        }
    }
}

/// The callout: expire when the deadline has come (re-arming a periodic timer, counting the
/// periods missed as overruns), else wait for the remaining ticks.
fn fire(arg: usize) {
    // SAFETY: `arg` is the timer that armed this callout; a timer stops its callout before
    // it is freed, so it is alive while the callout can run.
    let t = unsafe { &*(arg as *const KTimer) };
    let now = crate::time::nanotime();
    let due = {
        let mut st = t.st.lock();
        if st.deadline == 0 {
            return;
        }
        if now >= st.deadline {
            if let Some(missed) = (now - st.deadline).checked_div(st.interval) {
                st.overrun = st.overrun.saturating_add(missed);
                st.deadline =
                    st.deadline.saturating_add(st.interval.saturating_mul(missed.saturating_add(1)));
            } else {
                st.deadline = 0;
            }
            true
        } else {
            false
        }
    };
    let next = t.st.lock().deadline;
    if next != 0 {
        t.arm_callout(next, now);
    }
    if due {
        t.expire();
    }
}

/// Nanoseconds the clock `clock` reads ahead of the monotonic clock (REALTIME's offset).
/// `None` for clocks a timer cannot run on.
pub fn clock_offset(clock: u64) -> Option<u64> {
    const CLOCK_REALTIME: u64 = 0;
    const CLOCK_MONOTONIC: u64 = 1;
    const CLOCK_BOOTTIME: u64 = 7;
    match clock {
        CLOCK_REALTIME => Some(crate::time::realtime_offset()),
        CLOCK_MONOTONIC | CLOCK_BOOTTIME => Some(0),
        _ => None,
    }
}
