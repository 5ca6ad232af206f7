//! A thread's scheduling policy as sched_setscheduler and sched_setattr set it (Linux's
//! task_struct policy, rt_priority and sched_reset_on_fork).
//!
//! Linux keeps the policy per thread (the pid argument of the sched_* calls is a tid), so
//! it lives in the `Lwp`; the niceness stays per process (`Proc::nice`, DragonFly's p_nice,
//! which the user scheduler reads). The user scheduler gives SCHED_FIFO and SCHED_RR
//! threads its first band (before any time-sharing thread; FIFO without round robin) and
//! SCHED_IDLE its last (`sched::priority`).
use core::sync::atomic::{AtomicU32, Ordering};

/// The normal time-sharing policy.
pub const SCHED_OTHER: u32 = 0;
/// Real-time, first in first out.
pub const SCHED_FIFO: u32 = 1;
/// Real-time, round robin.
pub const SCHED_RR: u32 = 2;
/// Time-sharing for batch work.
pub const SCHED_BATCH: u32 = 3;
/// Lowest priority, runs only when nothing else would.
pub const SCHED_IDLE: u32 = 5;
/// Lowest and highest real-time priority (sched_get_priority_min/max of FIFO and RR).
pub const RT_PRIO_MIN: u32 = 1;
/// See [`RT_PRIO_MIN`].
pub const RT_PRIO_MAX: u32 = 99;

/// Whether `policy` is one this kernel stores (SCHED_DEADLINE is not).
pub fn is_valid(policy: u32) -> bool {
    matches!(policy, SCHED_OTHER | SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE)
}

/// Whether `policy` is a real-time one (priority 1..=99 rather than 0).
pub fn is_rt(policy: u32) -> bool {
    matches!(policy, SCHED_FIFO | SCHED_RR)
}

/// One thread's policy, its real-time priority and the reset-on-fork flag, packed in one
/// word so that a reader never sees a policy with another policy's priority.
pub struct SchedPolicy(AtomicU32);

/// A snapshot of a [`SchedPolicy`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH or SCHED_IDLE.
    pub policy: u32,
    /// 1..=99 for the real-time policies, 0 otherwise.
    pub priority: u32,
    /// SCHED_RESET_ON_FORK: children start as SCHED_OTHER with a niceness of at least 0.
    pub reset_on_fork: bool,
}

const RESET_BIT: u32 = 1 << 16;

impl Policy {
    fn pack(self) -> u32 {
        (self.policy & 0xff) | (self.priority & 0xff) << 8 | if self.reset_on_fork { RESET_BIT } else { 0 }
    }

    fn unpack(w: u32) -> Policy {
        Policy { policy: w & 0xff, priority: (w >> 8) & 0xff, reset_on_fork: w & RESET_BIT != 0 }
    }

    /// What a new thread or process created by one with this policy starts with: the same,
    /// or with reset-on-fork, SCHED_OTHER (a time-sharing policy is kept) without the flag.
    pub fn inherited(self) -> Policy {
        if !self.reset_on_fork {
            return self;
        }
        let policy = if is_rt(self.policy) { SCHED_OTHER } else { self.policy };
        Policy { policy, priority: 0, reset_on_fork: false }
    }

    /// The niceness a child process forked by a thread with this policy starts with, its
    /// parent's being `nice`: reset-on-fork takes a real-time thread's child to 0 and a
    /// negative niceness up to 0.
    pub fn inherited_nice(self, nice: i32) -> i32 {
        match (self.reset_on_fork, is_rt(self.policy)) {
            (false, _) => nice,
            (true, true) => 0,
            (true, false) => nice.max(0),
        }
    }
}

impl SchedPolicy {
    /// SCHED_OTHER.
    pub const fn new() -> SchedPolicy {
        SchedPolicy(AtomicU32::new(SCHED_OTHER))
    }

    /// The current policy.
    pub fn get(&self) -> Policy {
        Policy::unpack(self.0.load(Ordering::Relaxed))
    }

    /// Sets the policy (the caller has checked it).
    pub fn set(&self, p: Policy) {
        self.0.store(p.pack(), Ordering::Relaxed);
    }
}

impl Default for SchedPolicy {
    fn default() -> Self {
        SchedPolicy::new()
    }
}
