//! Per-CPU page caches in front of the global free lists (DragonFly keeps per-CPU colour
//! queues for the same reason): a small stack of free pages per CPU, refilled from and
//! drained to the global lists in batches, so allocating or freeing a single page on the
//! local CPU touches no shared lock in the common case.
//!
//! Only a CPU that runs LWKT uses its cache (it needs GS and a critical section); earlier
//! callers get `None`/`false` and go to the global lists.
use super::page::pg;
use super::phys;
use crate::lwkt::cpulocal::CpuLocal;
use crate::lwkt::crit::crit;
use crate::lwkt::globaldata::{mycpu, MAXCPU};
use core::sync::atomic::{AtomicU64, Ordering};

/// Pages a cache holds at most.
const CAP: usize = 64;
/// Pages moved per refill or drain.
const BATCH: usize = 32;

struct Cache {
    pfns: [u32; CAP],
    n: usize,
}

#[repr(align(64))]
struct Slot {
    cache: CpuLocal<Cache>,
    /// Pages in the cache (written by the owner only, read by anyone for the counts).
    count: AtomicU64,
    /// Refills and drains (batches moved), for tests and statistics.
    refills: AtomicU64,
}

static CACHES: [Slot; MAXCPU] = [const {
    Slot {
        cache: CpuLocal::new(Cache { pfns: [0; CAP], n: 0 }),
        count: AtomicU64::new(0),
        refills: AtomicU64::new(0),
    }
}; MAXCPU];

fn lwkt_running() -> bool {
    crate::lwkt::sched::try_curthread().is_some()
}

/// Takes a page from this CPU's cache, refilling it from the global lists when empty.
pub(super) fn alloc() -> Option<u32> {
    if !lwkt_running() {
        return None;
    }
    let _c = crit();
    let slot = &CACHES[mycpu().cpuid];
    // SAFETY: our own CPU's cache, inside a critical section, one reference at a time.
    let c = unsafe { slot.cache.get() };
    if c.n == 0 {
        let mut batch = [0u32; BATCH];
        // One of the batch leaves at once (below): the cache holds the rest.
        let got = phys::alloc_global_batch(&mut batch, |got| {
            slot.count.store(got.saturating_sub(1) as u64, Ordering::Relaxed)
        });
        for &pfn in &batch[..got] {
            if let Some(p) = phys::page(pfn.into()) {
                p.set(pg::CACHED);
            }
        }
        c.pfns[..got].copy_from_slice(&batch[..got]);
        c.n = got;
        slot.refills.fetch_add(1, Ordering::Relaxed);
        if got == 0 {
            return None;
        }
    }
    c.n -= 1;
    let pfn = c.pfns[c.n];
    if let Some(p) = phys::page(pfn.into()) {
        p.clear(pg::CACHED);
    }
    slot.count.store(c.n as u64, Ordering::Relaxed);
    Some(pfn)
}

/// Puts a freed page on this CPU's cache, draining a batch to the global lists when full.
/// False when there is no cache yet (the caller frees to the global lists).
pub(super) fn free(pfn: u32) -> bool {
    if !lwkt_running() {
        return false;
    }
    let _c = crit();
    let slot = &CACHES[mycpu().cpuid];
    // SAFETY: as in alloc.
    let c = unsafe { slot.cache.get() };
    if c.n == CAP {
        // The page being freed joins the cache below.
        phys::free_global_batch(&c.pfns[CAP - BATCH..], || {
            slot.count.store((CAP - BATCH + 1) as u64, Ordering::Relaxed)
        });
        c.n -= BATCH;
        slot.refills.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(p) = phys::page(pfn.into()) {
        p.set(pg::CACHED);
    }
    c.pfns[c.n] = pfn;
    c.n += 1;
    slot.count.store(c.n as u64, Ordering::Relaxed);
    true
}

/// Empties this CPU's cache into the global lists (memory reclaim, tests).
pub fn drain_local() {
    if !lwkt_running() {
        return;
    }
    let _c = crit();
    let slot = &CACHES[mycpu().cpuid];
    // SAFETY: as in alloc.
    let c = unsafe { slot.cache.get() };
    phys::free_global_batch(&c.pfns[..c.n], || slot.count.store(0, Ordering::Relaxed));
    c.n = 0;
    slot.count.store(0, Ordering::Relaxed);
}

/// Pages in CPU `cpu`'s cache.
pub fn cached(cpu: usize) -> u64 {
    CACHES.get(cpu).map_or(0, |s| s.count.load(Ordering::Relaxed))
}

/// Pages in every CPU's cache.
pub fn total_cached() -> u64 {
    CACHES.iter().map(|s| s.count.load(Ordering::Relaxed)).sum()
}

/// Batches moved between CPU caches and the global lists, summed over CPUs.
pub fn total_refills() -> u64 {
    CACHES.iter().map(|s| s.refills.load(Ordering::Relaxed)).sum()
}
