//! Per-CPU LWKT statistics, kept so a later sysctl and /proc can show them, and so stress
//! tests can prove the hard paths really ran.
use core::sync::atomic::{AtomicU64, Ordering};

/// Counters of one CPU. Each is bumped by its own CPU only (relaxed), read by anyone.
pub struct CpuStats {
    /// Context switches.
    pub switches: AtomicU64,
    /// IPI messages queued to other CPUs.
    pub ipis_sent: AtomicU64,
    /// Hardware IPIs actually raised (after doorbell coalescing).
    pub ipis_raised: AtomicU64,
    /// Passive IPI messages queued (no interrupt unless the ring fills).
    pub ipis_passive: AtomicU64,
    /// IPIQ doorbell interrupts this CPU took.
    pub ipi_interrupts: AtomicU64,
    /// IPI messages this CPU ran.
    pub ipis_received: AtomicU64,
    /// Sends that found a ring more than half full and had to drain while spinning.
    pub ipiq_full: AtomicU64,
    /// Messages drained from this CPU's inbound rings while spinning on a full ring.
    pub ipiq_drained_spinning: AtomicU64,
    /// Token acquisitions that found the token held.
    pub token_collisions: AtomicU64,
    /// Wakeups sent to another CPU.
    pub wakeups_remote: AtomicU64,
    /// Times the idle thread halted.
    pub idle_halts: AtomicU64,
    /// Nanoseconds spent halted in the idle thread.
    pub idle_ns: AtomicU64,
    /// Runnable threads on this CPU at its last clock tick (a gauge, for the load average).
    pub runnable: AtomicU64,
}

impl CpuStats {
    /// All zero.
    pub const fn new() -> CpuStats {
        CpuStats {
            switches: AtomicU64::new(0),
            ipis_sent: AtomicU64::new(0),
            ipis_raised: AtomicU64::new(0),
            ipis_passive: AtomicU64::new(0),
            ipi_interrupts: AtomicU64::new(0),
            ipis_received: AtomicU64::new(0),
            ipiq_full: AtomicU64::new(0),
            ipiq_drained_spinning: AtomicU64::new(0),
            token_collisions: AtomicU64::new(0),
            wakeups_remote: AtomicU64::new(0),
            idle_halts: AtomicU64::new(0),
            idle_ns: AtomicU64::new(0),
            runnable: AtomicU64::new(0),
        }
    }
}

/// Adds one to a counter.
#[inline]
pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The sum of one counter over every CPU.
pub fn total(f: impl Fn(&CpuStats) -> &AtomicU64) -> u64 {
    (0..super::globaldata::ncpus())
        .filter_map(super::globaldata::globaldata)
        .map(|gd| f(&gd.stats).load(Ordering::Relaxed))
        .sum()
}
