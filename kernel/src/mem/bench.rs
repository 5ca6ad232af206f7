//! Allocator microbenchmarks (`ktest=bench`): kmalloc/kfree of 64 B and 4 KiB on one CPU and
//! on two CPUs at once, objcache get/put, and single pages. Guest nanoseconds per operation
//! (with `-icount shift=0` they read as instructions). Printed, never asserted.
use super::kmalloc::{kfree, kmalloc, M_WAITOK};
use super::malloc_type::M_TEMP;
use super::objcache::{ObjCache, Wait};
use super::phys;
use crate::lwkt::globaldata::{mycpu, ncpus};
use crate::lwkt::sched::{create, yield_now};
use crate::lwkt::thread::pri;
use crate::{kbench, kprintln};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const N: u64 = 100_000;

fn report(name: &str, ops: u64, ns: u64) {
    kprintln!("# bench: {:<34} {:>6} ns/op  ({} ops, {} ns)", name, ns / ops.max(1), ops, ns);
}

/// N kmalloc+kfree pairs of `size` bytes, then a burst of 64 allocations freed in reverse.
fn pairs(size: usize) -> u64 {
    let t0 = crate::time::nanotime();
    for _ in 0..N / 64 {
        let mut ps = [core::ptr::null_mut(); 64];
        for p in ps.iter_mut() {
            *p = kmalloc(size, &M_TEMP, M_WAITOK);
        }
        for &p in ps.iter().rev() {
            // SAFETY: allocated just above, freed once.
            unsafe { kfree(p, &M_TEMP) };
        }
    }
    crate::time::nanotime() - t0
}

fn one_cpu(size: usize) {
    let ops = N / 64 * 64;
    let ns = pairs(size);
    report(&alloc::format!("kmalloc+kfree {} B, 1 cpu", size), ops, ns);
}

/// The same loop on two CPUs at once: per-op cost on each and the aggregate scaling.
fn two_cpus(size: usize) -> crate::ktest::Outcome {
    if ncpus() < 2 {
        kprintln!("# bench: kmalloc {} B on 2 cpus: needs two CPUs", size);
        return Ok(());
    }
    let ops = N / 64 * 64;
    let one = pairs(size);
    let ready = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let ns = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let t0 = crate::time::nanotime();
    for i in 0..2 {
        let (r, d, ns) = (ready.clone(), done.clone(), ns.clone());
        create("b-kmalloc", pri::KERN_DAEMON, Some((mycpu().cpuid + 1 + i) % ncpus()), move || {
            r.fetch_add(1, Ordering::AcqRel);
            while r.load(Ordering::Acquire) < 2 {
                core::hint::spin_loop();
            }
            ns[i].store(pairs(size), Ordering::Release);
            d.fetch_add(1, Ordering::AcqRel);
        })
        .ok_or("create failed")?;
    }
    while done.load(Ordering::Acquire) < 2 {
        yield_now();
    }
    let wall = crate::time::nanotime() - t0;
    let (a, b) = (ns[0].load(Ordering::Acquire), ns[1].load(Ordering::Acquire));
    report(&alloc::format!("kmalloc+kfree {} B, 2 cpus (each)", size), ops * 2, a + b);
    kprintln!(
        "# bench: kmalloc+kfree {} B scaling: 1 cpu {} ns/op, 2 cpus {} ns/op per cpu, throughput x{}.{:02}",
        size,
        one / ops,
        (a + b) / (2 * ops),
        2 * one / wall.max(1),
        (200 * one / wall.max(1)) % 100
    );
    Ok(())
}

kbench! {
    /// 64-byte kmalloc/kfree on one CPU.
    fn bench_kmalloc_64_one_cpu() {
        one_cpu(64);
        Ok(())
    }
}

kbench! {
    /// 4 KiB kmalloc/kfree on one CPU.
    fn bench_kmalloc_4k_one_cpu() {
        one_cpu(4096);
        Ok(())
    }
}

kbench! {
    /// 64-byte kmalloc/kfree on two CPUs at once.
    fn bench_kmalloc_64_two_cpus() {
        two_cpus(64)
    }
}

kbench! {
    /// 4 KiB kmalloc/kfree on two CPUs at once.
    fn bench_kmalloc_4k_two_cpus() {
        two_cpus(4096)
    }
}

fn bctor() -> Option<u64> {
    Some(42)
}

fn bdtor(_: u64) {}

static BENCH_CACHE: ObjCache<u64> = ObjCache::new("bench", usize::MAX, 16, bctor, bdtor);

kbench! {
    /// objcache get+put pairs (magazine hits), and a burst of 64 that goes through the depot.
    fn bench_objcache_get_put() {
        let t0 = crate::time::nanotime();
        for _ in 0..N {
            let o = BENCH_CACHE.get(Wait::NoWait).ok_or("get")?;
            BENCH_CACHE.put(o);
        }
        report("objcache get+put", N, crate::time::nanotime() - t0);
        let t0 = crate::time::nanotime();
        let mut held = [0u64; 64];
        for _ in 0..N / 64 {
            for h in held.iter_mut() {
                *h = BENCH_CACHE.get(Wait::NoWait).ok_or("get")?;
            }
            for &h in held.iter() {
                BENCH_CACHE.put(h);
            }
        }
        report("objcache get+put (bursts of 64)", N / 64 * 64, crate::time::nanotime() - t0);
        Ok(())
    }
}

kbench! {
    /// Single-page alloc+free through the per-CPU page cache.
    fn bench_page_alloc_free() {
        let t0 = crate::time::nanotime();
        for _ in 0..N {
            let pa = phys::alloc().ok_or("no page")?;
            phys::free(pa);
        }
        report("page alloc+free", N, crate::time::nanotime() - t0);
        Ok(())
    }
}
