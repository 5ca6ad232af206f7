//! IPI queues (DragonFly's lwkt_ipiq.c). Placeholder until the LWKT milestone lands: the
//! doorbell interrupt only counts, per CPU, so the platform code can prove IPIs arrive.
use super::globaldata::MAXCPU;
use core::sync::atomic::{AtomicU64, Ordering};

static DOORBELLS: [AtomicU64; MAXCPU] = [const { AtomicU64::new(0) }; MAXCPU];

/// The IPIQ doorbell (vector 0xf1), interrupts off: counts the call on this CPU.
pub fn ipi_interrupt() {
    let cpu = crate::arch::x86_64::percpu::current().cpuid.load(Ordering::Relaxed) as usize;
    if let Some(n) = DOORBELLS.get(cpu) {
        n.fetch_add(1, Ordering::Relaxed);
    }
}

/// Doorbells CPU `cpu` has taken.
pub fn doorbells(cpu: usize) -> u64 {
    DOORBELLS.get(cpu).map_or(0, |n| n.load(Ordering::Relaxed))
}
