//! Per-thread CPU time (DragonFly's td_uticks/td_sticks and the runtime kept at switches):
//! the switch measures how long a thread ran in nanoseconds, and the clock tick samples
//! whether the interrupted thread was in user or kernel mode. `proc::rusage` splits the
//! measured runtime in the ratio of the samples (calcru).
use core::sync::atomic::{AtomicU64, Ordering};

/// A thread's CPU time counters. Written by the thread's own CPU (switch, tick, fault);
/// readable from anywhere.
pub struct ThreadTimes {
    /// Nanoseconds run up to the last switch away.
    runtime: AtomicU64,
    /// nanotime when the thread was last switched to; 0 while it is not running.
    since: AtomicU64,
    /// Clock ticks that found it in user mode.
    uticks: AtomicU64,
    /// Clock ticks that found it in the kernel.
    sticks: AtomicU64,
    /// Page faults it took that found the page without I/O (ru_minflt).
    minflt: AtomicU64,
}

/// A consistent reading of a thread's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimesSnapshot {
    /// Nanoseconds on a CPU, including the current slice if it runs.
    pub runtime: u64,
    /// User-mode tick samples.
    pub uticks: u64,
    /// Kernel-mode tick samples.
    pub sticks: u64,
    /// Minor faults.
    pub minflt: u64,
}

impl Default for ThreadTimes {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreadTimes {
    /// All zero, not running.
    pub const fn new() -> ThreadTimes {
        ThreadTimes {
            runtime: AtomicU64::new(0),
            since: AtomicU64::new(0),
            uticks: AtomicU64::new(0),
            sticks: AtomicU64::new(0),
            minflt: AtomicU64::new(0),
        }
    }

    /// The switch takes the CPU away at `now`: the slice is added to the runtime.
    pub(super) fn switch_out(&self, now: u64) {
        let since = self.since.load(Ordering::Relaxed);
        if since != 0 {
            self.runtime.fetch_add(now.saturating_sub(since), Ordering::Release);
        }
        self.since.store(0, Ordering::Release);
    }

    /// The switch gives the thread the CPU at `now`.
    pub(super) fn switch_in(&self, now: u64) {
        self.since.store(now.max(1), Ordering::Release);
    }

    /// One clock tick found the thread running, in user mode or not.
    pub fn tick(&self, user: bool) {
        let c = if user { &self.uticks } else { &self.sticks };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// One minor page fault.
    pub fn minor_fault(&self) {
        self.minflt.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as of `now` (a running thread's current slice included). Retries while a
    /// switch on another CPU changes them underneath.
    pub fn snapshot(&self, now: u64) -> TimesSnapshot {
        let runtime = loop {
            let s1 = self.since.load(Ordering::Acquire);
            let r = self.runtime.load(Ordering::Acquire);
            let s2 = self.since.load(Ordering::Acquire);
            if s1 == s2 {
                break r.saturating_add(if s1 != 0 { now.saturating_sub(s1) } else { 0 });
            }
            core::hint::spin_loop();
        };
        TimesSnapshot {
            runtime,
            uticks: self.uticks.load(Ordering::Relaxed),
            sticks: self.sticks.load(Ordering::Relaxed),
            minflt: self.minflt.load(Ordering::Relaxed),
        }
    }
}

/// Charges a switch from `old` to `new` at the current time.
pub(super) fn switch(old: &super::thread::Thread, new: &super::thread::Thread) {
    let now = crate::time::nanotime();
    old.times.switch_out(now);
    new.times.switch_in(now);
}

mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        /// Runtime adds up the slices between switch_in and switch_out, and a running
        /// thread's reading includes its current slice.
        fn thread_times_slices() {
            let t = ThreadTimes::new();
            kassert_eq!(t.snapshot(100).runtime, 0);
            t.switch_in(1000);
            kassert_eq!(t.snapshot(1500).runtime, 500);
            t.switch_out(1700);
            kassert_eq!(t.snapshot(9999).runtime, 700);
            t.switch_in(2000);
            t.switch_out(2050);
            t.tick(true);
            t.tick(false);
            t.tick(true);
            let s = t.snapshot(5000);
            kassert_eq!((s.runtime, s.uticks, s.sticks), (750, 2, 1));
            kassert!(crate::lwkt::sched::curthread().times.snapshot(crate::time::nanotime()).runtime > 0, "running thread has no runtime");
            Ok(())
        }
    }
}
