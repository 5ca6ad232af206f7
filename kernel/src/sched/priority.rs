//! User priorities (usched_dfly's estcpu and resetpriority): an lwp's priority is its nice
//! term plus its recent CPU use. `estcpu` grows by a fixed amount every tick the lwp runs
//! and decays by 7/8 every period of 10 ticks, so it tracks the share of the CPU the lwp
//! got lately: an lwp using a whole CPU settles at `ESTCPU_FULL`, one using a fraction f at
//! f times that. Lower is better; 0..=127 maps onto the run queues' 32 bands.
//!
//! Two CPU-bound lwps on one CPU settle where their priorities meet: with nice n0 < n1 the
//! favoured one's share f satisfies `2 (n1 - n0) = 32 (2f - 1)`, so 10 nice levels give
//! it about 81% (a 4:1 ratio); equal nice values share evenly.
use crate::proc::Lwp;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Ticks per decay period.
pub const DECAY_PERIOD: u64 = 10;
/// estcpu added per tick of CPU.
const ESTCPU_INCR: u32 = 26;
/// Where estcpu settles for an lwp that runs all the time: 26 * 10 / (1 - 7/8).
pub const ESTCPU_FULL: u32 = 2080;
/// Cap (twice the full-CPU level: a burst cannot push an lwp out for long).
const ESTCPU_MAX: u32 = 2 * ESTCPU_FULL;
/// estcpu per priority point: a full CPU is worth 32 points.
const ESTCPU_PER_PRI: u32 = ESTCPU_FULL / 32;
/// Priority points per nice level.
const NICE_WEIGHT: u32 = 2;
/// Priorities per run-queue band (DragonFly's PPQ).
pub const PPQ: u32 = 4;
/// Worst priority.
pub const PRI_MAX: u32 = 127;

/// What a user scheduler keeps per lwp (DragonFly's `lwp_usdata`).
pub struct UschedData {
    /// Recent CPU use (see the module doc).
    estcpu: AtomicU32,
    /// The decay period estcpu was last brought up to date for.
    decayed: AtomicU64,
    /// Ticks run since it last took the CPU's user slot (round robin).
    pub rrcount: AtomicU32,
    /// A CPU a rebalancing tick sent it to (it moves there before asking for a slot);
    /// `NO_CPU` when none.
    pub move_to: AtomicU32,
}

/// `move_to` when no move is asked for.
pub const NO_CPU: u32 = u32::MAX;

impl Default for UschedData {
    fn default() -> Self {
        Self::new()
    }
}

impl UschedData {
    /// A new lwp: no CPU used yet.
    pub const fn new() -> UschedData {
        UschedData {
            estcpu: AtomicU32::new(0),
            decayed: AtomicU64::new(0),
            rrcount: AtomicU32::new(0),
            move_to: AtomicU32::new(NO_CPU),
        }
    }

    /// A child starts with its parent's recent use (DragonFly's heuristic_forking: a fork
    /// bomb does not get fresh priority for every child).
    pub fn inherit(&self, parent: &UschedData, now: u64) {
        parent.decay_to(now);
        self.estcpu.store(parent.estcpu.load(Ordering::Relaxed), Ordering::Relaxed);
        self.decayed.store(now / DECAY_PERIOD, Ordering::Relaxed);
    }

    /// Applies the decay owed up to tick `now`.
    fn decay_to(&self, now: u64) {
        let period = now / DECAY_PERIOD;
        // Never backwards: two CPUs' clocks may read a little apart.
        let last = self.decayed.fetch_max(period, Ordering::Relaxed);
        let n = period.saturating_sub(last).min(64);
        if n > 0 {
            let mut e = self.estcpu.load(Ordering::Relaxed);
            for _ in 0..n {
                e -= e / 8;
                if e == 0 {
                    break;
                }
            }
            self.estcpu.store(e, Ordering::Relaxed);
        }
    }

    /// One tick of CPU at tick `now`.
    pub fn charge_tick(&self, now: u64) {
        self.decay_to(now);
        let e = self.estcpu.load(Ordering::Relaxed);
        self.estcpu.store((e + ESTCPU_INCR).min(ESTCPU_MAX), Ordering::Relaxed);
    }

    /// Recent CPU use, decayed to tick `now`.
    pub fn estcpu(&self, now: u64) -> u32 {
        self.decay_to(now);
        self.estcpu.load(Ordering::Relaxed)
    }
}

/// The priority of `lwp` at tick `now` (0 best, `PRI_MAX` worst). The first band (0..=3)
/// belongs to the real-time policies (SCHED_FIFO, SCHED_RR: a higher real-time priority is
/// a lower number), the last to SCHED_IDLE; time sharing (SCHED_OTHER, SCHED_BATCH) takes
/// the bands between, by nice and recent CPU use.
pub fn priority(lwp: &Lwp, now: u64) -> u32 {
    use crate::proc::schedpolicy::{is_rt, SCHED_IDLE};
    let pol = lwp.sched.get();
    if is_rt(pol.policy) {
        return (PPQ - 1).saturating_sub(pol.priority.saturating_sub(1) * PPQ / 99);
    }
    if pol.policy == SCHED_IDLE {
        return PRI_MAX;
    }
    let nice = lwp.proc.nice.load(Ordering::Relaxed).clamp(-20, 19);
    let nice_term = (nice + 20) as u32 * NICE_WEIGHT;
    (PPQ + nice_term + lwp.us.estcpu(now) / ESTCPU_PER_PRI).min(PRI_MAX - PPQ)
}

/// Whether the lwp runs first-in first-out (SCHED_FIFO): no round robin takes its CPU
/// away, only a better lwp.
pub fn no_round_robin(lwp: &Lwp) -> bool {
    lwp.sched.get().policy == crate::proc::schedpolicy::SCHED_FIFO
}

/// The run-queue band of priority `pri`.
pub fn band(pri: u32) -> usize {
    (pri / PPQ) as usize
}
