//! The per-CPU clock tick (DragonFly's kern_clock.c `hardclock`). Placeholder until the LWKT
//! milestone lands: each CPU's HZ systimer calls [`hardclock`], which only counts ticks.
use super::globaldata::MAXCPU;
use core::sync::atomic::{AtomicU64, Ordering};

static TICKS: [AtomicU64; MAXCPU] = [const { AtomicU64::new(0) }; MAXCPU];

/// Called HZ times a second on every CPU from its systimer, interrupts off; must not block.
pub fn hardclock() {
    let cpu = crate::arch::x86_64::percpu::current().cpuid.load(Ordering::Relaxed) as usize;
    if let Some(n) = TICKS.get(cpu) {
        n.fetch_add(1, Ordering::Relaxed);
    }
}

/// Ticks CPU `cpu` has counted.
pub fn ticks(cpu: usize) -> u64 {
    TICKS.get(cpu).map_or(0, |n| n.load(Ordering::Relaxed))
}
