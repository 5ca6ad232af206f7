//! Resource usage (DragonFly's kern_resource.c calcru and ruadd): CPU time split into user
//! and system time, and minor faults, per thread, per process (its live threads plus those
//! that ended) and for its reaped children. The one place that sums a process's threads.
use super::Proc;
use crate::lwkt::cputime::TimesSnapshot;
use crate::lwkt::thread::Thread;
use crate::sync::spinlock::SpinLock;

/// Nanoseconds per clock tick.
pub const TICK_NS: u64 = 1_000_000_000 / crate::lwkt::clock::HZ;

/// What a thread, a process or its children used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// User time, ns.
    pub utime: u64,
    /// System time, ns.
    pub stime: u64,
    /// Minor page faults.
    pub minflt: u64,
    /// The largest resident set, KiB (of a process: the most any of its address spaces had
    /// present at once; of children: the largest of theirs).
    pub maxrss: u64,
}

impl Usage {
    /// Adds `o` (ruadd).
    pub fn add(&mut self, o: &Usage) {
        self.utime = self.utime.saturating_add(o.utime);
        self.stime = self.stime.saturating_add(o.stime);
        self.minflt = self.minflt.saturating_add(o.minflt);
        self.maxrss = self.maxrss.max(o.maxrss);
    }

    /// User plus system time, ns.
    pub fn cpu(&self) -> u64 {
        self.utime.saturating_add(self.stime)
    }

    /// Linux's `struct rusage` (144 bytes): the two timevals, then maxrss .. nivcsw, of which
    /// ru_maxrss and ru_minflt are kept; the rest read zero.
    pub fn to_linux(self) -> [u8; 144] {
        let mut b = [0u8; 144];
        let tv = |ns: u64| {
            let mut t = [0u8; 16];
            t[..8].copy_from_slice(&(ns / 1_000_000_000).to_ne_bytes());
            t[8..].copy_from_slice(&(ns % 1_000_000_000 / 1000).to_ne_bytes());
            t
        };
        b[0..16].copy_from_slice(&tv(self.utime));
        b[16..32].copy_from_slice(&tv(self.stime));
        // ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, then ru_minflt.
        b[32..40].copy_from_slice(&self.maxrss.to_ne_bytes());
        b[64..72].copy_from_slice(&self.minflt.to_ne_bytes());
        b
    }
}

/// calcru: the measured runtime split in the ratio of the user and system tick samples
/// (all of it to the one side that has samples; to user time when there are none, as Linux's
/// cputime_adjust does).
pub fn calcru(s: &TimesSnapshot) -> Usage {
    let rt = s.runtime;
    let (utime, stime) = if s.sticks == 0 {
        (rt, 0)
    } else if s.uticks == 0 {
        (0, rt)
    } else {
        let total = u128::from(s.uticks) + u128::from(s.sticks);
        let st = (u128::from(rt) * u128::from(s.sticks) / total) as u64;
        (rt - st, st)
    };
    Usage { utime, stime, minflt: s.minflt, maxrss: 0 }
}

/// What thread `td` has used so far.
pub fn thread(td: &Thread) -> Usage {
    calcru(&td.times.snapshot(crate::time::nanotime()))
}

/// The running thread's usage (RUSAGE_THREAD, CLOCK_THREAD_CPUTIME_ID).
pub fn current_thread() -> Usage {
    thread(crate::lwkt::sched::curthread())
}

/// Per-process totals of what is no longer running.
pub struct ProcUsage {
    /// Threads of this process that have ended.
    dead: SpinLock<Usage>,
    /// Children reaped by wait, with what they had reaped in turn.
    children: SpinLock<Usage>,
    /// The largest resident set (KiB) of the address spaces the process has left (exec) or
    /// is leaving (its threads' ends): a zombie has none to ask.
    maxrss: core::sync::atomic::AtomicU64,
}

impl Default for ProcUsage {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcUsage {
    /// Nothing used yet.
    pub const fn new() -> ProcUsage {
        ProcUsage {
            dead: SpinLock::new(Usage { utime: 0, stime: 0, minflt: 0, maxrss: 0 }),
            children: SpinLock::new(Usage { utime: 0, stime: 0, minflt: 0, maxrss: 0 }),
            maxrss: core::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// The process's live threads' usage.
fn live_threads(p: &Proc) -> Usage {
    let mut u = Usage::default();
    for l in p.lwps() {
        if let Some(td) = l.thread.lock().clone() {
            u.add(&thread(&td));
        }
    }
    u
}

/// The resident-set high-water mark of `p`'s current address space, KiB.
fn address_space_peak(p: &Proc) -> u64 {
    p.vm.lock().upgrade().map_or(0, |vs| vs.pmap().peak_resident().saturating_mul(4))
}

/// `p` is about to leave its address space (exec replaces it, or its last thread ends):
/// its high-water mark joins the process's.
pub fn leaving_address_space(p: &Proc) {
    p.usage.maxrss.fetch_max(address_space_peak(p), core::sync::atomic::Ordering::Relaxed);
}

/// What the process has used: its ended threads plus the live ones (RUSAGE_SELF).
pub fn process(p: &Proc) -> Usage {
    let mut u = *p.usage.dead.lock();
    u.add(&live_threads(p));
    u.maxrss = address_space_peak(p).max(p.usage.maxrss.load(core::sync::atomic::Ordering::Relaxed));
    u
}

/// What the process's reaped children used (RUSAGE_CHILDREN).
pub fn children(p: &Proc) -> Usage {
    *p.usage.children.lock()
}

/// Thread `td` of `p` ends: its usage moves to the process's ended-thread totals. Call
/// after the thread is no longer found among the live ones.
pub fn thread_exited(p: &Proc, td: &Thread) {
    leaving_address_space(p);
    let u = thread(td);
    p.usage.dead.lock().add(&u);
}

/// `parent` reaped `child`: the child's own usage and its children's go to the parent's
/// children totals. Returns the child's (wait4's rusage: the child and what it reaped).
pub fn reaped(parent: &Proc, child: &Proc) -> Usage {
    let mut u = process(child);
    u.add(&children(child));
    parent.usage.children.lock().add(&u);
    u
}

/// Nanoseconds as clock_t (USER_HZ = 100 ticks a second): times(2), SIGCHLD's si_utime.
pub fn clock_t(ns: u64) -> u64 {
    ns / (1_000_000_000 / 100)
}

mod tests {
    use super::*;
    use crate::{kassert_eq, ktest};

    ktest! {
        /// calcru splits the runtime by the tick samples, never losing any of it.
        fn calcru_split() {
            let s = |runtime, uticks, sticks| TimesSnapshot { runtime, uticks, sticks, minflt: 0 };
            kassert_eq!(calcru(&s(1000, 0, 0)), Usage { utime: 1000, stime: 0, minflt: 0, maxrss: 0 });
            kassert_eq!(calcru(&s(1000, 0, 3)), Usage { utime: 0, stime: 1000, minflt: 0, maxrss: 0 });
            kassert_eq!(calcru(&s(1000, 3, 1)), Usage { utime: 750, stime: 250, minflt: 0, maxrss: 0 });
            kassert_eq!(calcru(&s(u64::MAX, 1, 1)).cpu(), u64::MAX);
            let mut a = Usage { utime: 1, stime: 2, minflt: 3, maxrss: 9 };
            a.add(&Usage { utime: u64::MAX, stime: 1, minflt: 1, maxrss: 7 });
            kassert_eq!(a, Usage { utime: u64::MAX, stime: 3, minflt: 4, maxrss: 9 });
            Ok(())
        }
    }
}
