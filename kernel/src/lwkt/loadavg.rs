//! The load average (DragonFly's loadav in kern_synch.c, Linux's calc_load): every 5 seconds
//! the boot CPU folds the number of runnable threads on all CPUs into three exponentially
//! decaying averages (1, 5 and 15 minutes), in 11-bit fixed point. Each CPU publishes its own
//! runnable count from its clock tick, since only it may look at its run queue.
use super::globaldata::{globaldata, ncpus, GlobalData};
use core::sync::atomic::{AtomicU64, Ordering};

const FSHIFT: u32 = 11;
const FIXED_1: u64 = 1 << FSHIFT;
/// exp(-5s/1min), exp(-5s/5min), exp(-5s/15min) in fixed point.
const EXP: [u64; 3] = [1884, 2014, 2037];
/// Clock ticks between two samples (5 s).
const SAMPLE_TICKS: u64 = 5 * super::clock::HZ;

static AVERAGES: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];

/// Called from each CPU's clock tick with its runnable count (the running thread included,
/// the idle thread not).
pub(super) fn tick(gd: &GlobalData, runnable: u64) {
    gd.stats.runnable.store(runnable, Ordering::Relaxed);
    if gd.cpuid != 0 || !gd.ticks.load(Ordering::Relaxed).is_multiple_of(SAMPLE_TICKS) {
        return;
    }
    let active: u64 =
        (0..ncpus()).filter_map(globaldata).map(|g| g.stats.runnable.load(Ordering::Relaxed)).sum();
    for (avg, e) in AVERAGES.iter().zip(EXP) {
        avg.store(fold(avg.load(Ordering::Relaxed), active, e), Ordering::Relaxed);
    }
}

/// One 5-second step of an average with decay factor `e`.
fn fold(old: u64, active: u64, e: u64) -> u64 {
    (old * e + active * FIXED_1 * (FIXED_1 - e)) >> FSHIFT
}

/// The three averages as (whole, hundredths).
pub fn averages() -> [(u64, u64); 3] {
    core::array::from_fn(|i| {
        let v = AVERAGES[i].load(Ordering::Relaxed);
        (v >> FSHIFT, ((v & (FIXED_1 - 1)) * 100) >> FSHIFT)
    })
}

/// The three averages in fixed point with `shift` fraction bits (sysinfo uses 16).
pub fn fixed(shift: u32) -> [u64; 3] {
    core::array::from_fn(|i| (AVERAGES[i].load(Ordering::Relaxed) << shift) >> FSHIFT)
}

/// Threads runnable right now on all CPUs, as their last clock ticks saw them.
pub fn runnable() -> u64 {
    (0..ncpus()).filter_map(globaldata).map(|g| g.stats.runnable.load(Ordering::Relaxed)).sum()
}

mod tests {
    use super::*;
    use crate::{kassert, ktest};

    ktest! {
        /// Two runnable threads for a minute bring the 1-minute average 1 - 1/e of the way to
        /// 2 (1.26) and the 15-minute one to 2(1 - e^-1/15) = 0.13; idling decays them again.
        fn averages_converge_and_decay() {
            let mut a = [0u64; 3];
            for _ in 0..12 {
                for i in 0..3 {
                    a[i] = fold(a[i], 2, EXP[i]);
                }
            }
            let f = |v: u64| v as f64 / FIXED_1 as f64;
            kassert!((f(a[0]) - 1.264).abs() < 0.02, "1 min {}", f(a[0]));
            kassert!((f(a[2]) - 0.13).abs() < 0.02, "15 min {}", f(a[2]));
            for _ in 0..120 {
                a[0] = fold(a[0], 0, EXP[0]);
            }
            kassert!(f(a[0]) < 0.01, "no decay: {}", f(a[0]));
            Ok(())
        }
    }
}
