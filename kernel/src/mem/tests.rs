//! Tests of the allocators: size classes and alignment, cross-CPU frees that must really
//! take the remote path, exhaustion with every page and malloc-type counter coming back,
//! double-free and poison detection, objcache and mpipe.
use super::fallible::{AllocError, FBox, FVec};
use super::kmalloc::{
    kfree, kmalloc, kmalloc_aligned, reclaim_local, trap_reports, usable_size, M_NULLOK, M_WAITOK, M_ZERO,
};
use super::malloc_type::{for_each_type, MallocType};
use super::mpipe::MPipe;
use super::objcache::{ObjCache, Wait};
use super::slab::{self, size_class, NZONES, POISON, POISON_BYTE, ZONE_LIMIT};
use super::{phys, PAGE_SIZE};
use crate::ktest::Failure;
use crate::lwkt::globaldata::{mycpu, ncpus};
use crate::lwkt::sched::{create, yield_now};
use crate::lwkt::thread::pri;
use crate::{kassert, kassert_eq, ktest};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

static M_TEST: MallocType = MallocType::new("test");

/// Waits (yielding) until `c` reaches `n`; fails after a generous bound.
fn wait_count(c: &AtomicUsize, n: usize) -> Result<(), Failure> {
    let t0 = crate::time::nanotime();
    while c.load(Ordering::Acquire) < n {
        yield_now();
        if crate::time::nanotime() - t0 > 30_000_000_000 {
            return Err(alloc::format!("{} of {} arrived", c.load(Ordering::Acquire), n).into());
        }
    }
    Ok(())
}

fn reclaim_cpu(_: usize, _: usize) {
    reclaim_local();
}

/// Gives every CPU's free zones and page cache back to the global lists.
pub fn reclaim_all() {
    crate::lwkt::ipiq::cpusync(crate::lwkt::smp::online_mask(), reclaim_cpu, 0);
}

ktest! {
    /// Size classes: DragonFly's boundaries, chunk >= request, indices in range and rising.
    fn size_class_boundaries() {
        kassert_eq!(size_class(1), (0, 8));
        kassert_eq!(size_class(8), (0, 8));
        kassert_eq!(size_class(120), (14, 120));
        kassert_eq!(size_class(121), (15, 128));
        kassert_eq!(size_class(128), (15, 128));
        kassert_eq!(size_class(129), (16, 144));
        kassert_eq!(size_class(256), (23, 256));
        kassert_eq!(size_class(2048), (47, 2048));
        kassert_eq!(size_class(4096), (55, 4096));
        kassert_eq!(size_class(ZONE_LIMIT - 1), (NZONES - 1, ZONE_LIMIT));
        let mut last = (0, 8);
        for n in 1..=ZONE_LIMIT {
            let (zi, chunk) = size_class(n);
            kassert!(chunk >= n && zi < NZONES, "size {} -> ({}, {})", n, zi, chunk);
            kassert!(zi >= last.0 && (zi != last.0 || chunk == last.1), "size {} class not monotonic", n);
            last = (zi, chunk);
        }
        Ok(())
    }
}

ktest! {
    /// Every alignment up to a page holds for sizes around it (slab and page paths), the
    /// usable size covers the request, and the bytes are writable; Layout goes the same way.
    fn alignment_and_sizes() {
        let before = M_TEST.stats();
        let mut align = 1;
        while align <= PAGE_SIZE {
            for size in [1, align.max(2) - 1, align, align + 1, 3 * align, 5000, 20_000, 70_000] {
                let p = kmalloc_aligned(size, align, &M_TEST, M_NULLOK | M_ZERO);
                kassert!(!p.is_null(), "kmalloc({}, align {}) failed", size, align);
                kassert!((p as usize).is_multiple_of(align), "{:p} not aligned to {}", p, align);
                kassert!(usable_size(p).unwrap_or(0) >= size, "usable size of {} bytes", size);
                // SAFETY: p holds size zeroed bytes, ours until freed.
                let s = unsafe { core::slice::from_raw_parts_mut(p, size) };
                kassert!(s.iter().all(|&b| b == 0), "M_ZERO");
                s.fill(0xa5);
                // SAFETY: from kmalloc with M_TEST, freed once.
                unsafe { kfree(p, &M_TEST) };
            }
            let layout = core::alloc::Layout::from_size_align(align * 3, align).map_err(|_| "layout")?;
            // SAFETY: a non-zero-sized layout; freed below with the same layout.
            let p = unsafe { alloc::alloc::alloc(layout) };
            kassert!(!p.is_null() && (p as usize).is_multiple_of(align), "Layout align {}", align);
            // SAFETY: allocated above with this layout.
            unsafe { alloc::alloc::dealloc(p, layout) };
            align *= 2;
        }
        // An alignment above a page comes from the page path.
        let p = kmalloc_aligned(100, 8 * PAGE_SIZE, &M_TEST, M_NULLOK);
        kassert!(!p.is_null() && (p as usize).is_multiple_of(8 * PAGE_SIZE), "8-page alignment: {:p}", p);
        // SAFETY: as above.
        unsafe { kfree(p, &M_TEST) };
        let after = M_TEST.stats();
        kassert_eq!((after.memuse, after.inuse), (before.memuse, before.inuse));
        kassert!(after.calls > before.calls && after.high_water >= 70_000, "stats {:?}", after);
        Ok(())
    }
}

/// Allocations one CPU hands to the next for freeing.
struct Handoff {
    slots: Vec<spin::Mutex<Vec<(usize, usize)>>>,
    filled: AtomicUsize,
    done: AtomicUsize,
}

ktest! {
    /// Every CPU allocates objects of many sizes and writes a pattern; the next CPU checks
    /// the pattern and frees them. With more than one CPU the remote-free path must have run
    /// (counter > 0, and the owners relinked zones on passive IPIs), and the malloc type's
    /// counters come back to zero.
    fn cross_cpu_frees() {
        const PER_CPU: usize = 3000;
        let n = ncpus();
        let before = M_TEST.stats();
        let (rf0, ipi0) = (slab::total(|s| &s.remote_frees), slab::total(|s| &s.remote_ipis));
        let h = Arc::new(Handoff {
            slots: (0..n).map(|_| spin::Mutex::new(Vec::with_capacity(PER_CPU))).collect(),
            filled: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        });
        let bad = Arc::new(AtomicUsize::new(0));
        for cpu in 0..n {
            let (h, bad) = (h.clone(), bad.clone());
            create("t-xfree", pri::KERN_DAEMON, Some(cpu), move || {
                let me = mycpu().cpuid;
                let mut mine = Vec::with_capacity(PER_CPU);
                for i in 0..PER_CPU {
                    let size = [8, 24, 64, 100, 512, 1500, 4096, 9000, 20_000][i % 9];
                    let p = kmalloc(size, &M_TEST, M_WAITOK);
                    // SAFETY: p holds size bytes.
                    unsafe { core::ptr::write_bytes(p, (me + i) as u8, size) };
                    mine.push((p as usize, size));
                }
                *h.slots[me].lock() = mine;
                h.filled.fetch_add(1, Ordering::AcqRel);
                while h.filled.load(Ordering::Acquire) < n {
                    yield_now();
                }
                let from = (me + 1) % n;
                let theirs = core::mem::take(&mut *h.slots[from].lock());
                for (i, &(p, size)) in theirs.iter().enumerate() {
                    // SAFETY: the other CPU's allocation, handed over whole.
                    let s = unsafe { core::slice::from_raw_parts(p as *const u8, size) };
                    if s.iter().any(|&b| b != (from + i) as u8) {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                    // SAFETY: from kmalloc with M_TEST, freed once.
                    unsafe { kfree(p as *mut u8, &M_TEST) };
                }
                h.done.fetch_add(1, Ordering::AcqRel);
            })
            .ok_or("create failed")?;
        }
        wait_count(&h.done, n)?;
        kassert_eq!(bad.load(Ordering::Relaxed), 0);
        let after = M_TEST.stats();
        kassert_eq!((after.memuse, after.inuse), (before.memuse, before.inuse));
        kassert_eq!(after.calls - before.calls, (n * PER_CPU) as u64);
        let (rf, ipi) = (slab::total(|s| &s.remote_frees) - rf0, slab::total(|s| &s.remote_ipis) - ipi0);
        crate::kprintln!("# cross-cpu frees: {} remote frees, {} passive IPIs to relink zones", rf, ipi);
        if n > 1 {
            let slab_objs = (n * PER_CPU * 8 / 9) as u64;
            kassert!(rf >= slab_objs, "only {} remote frees of {}", rf, slab_objs);
            kassert!(ipi > 0, "no zone was relinked by a passive IPI");
        }
        Ok(())
    }
}

/// One allocation phase of the exhaustion test: blocks of `size` linked through their first
/// word until kmalloc fails.
fn exhaust(size: usize, head: &mut usize) -> usize {
    let mut n = 0;
    loop {
        let p = kmalloc(size, &M_TEST, M_NULLOK);
        if p.is_null() {
            return n;
        }
        // SAFETY: at least 8 bytes, ours.
        unsafe { (p as *mut usize).write(*head) };
        *head = p as usize;
        n += 1;
    }
}

fn release(mut head: usize) {
    while head != 0 {
        // SAFETY: a block linked by exhaust, freed once.
        let next = unsafe { (head as *const usize).read() };
        // SAFETY: as above.
        unsafe { kfree(head as *mut u8, &M_TEST) };
        head = next;
    }
}

ktest! {
    /// Allocates until memory runs out (large blocks, then zone sizes, then single pages,
    /// then 64-byte boxes through the fallible path), frees it all, and checks that every
    /// page and every malloc type's counters came back.
    fn exhaustion_recovers_everything() {
        const MAXT: usize = 32;
        // Let threads of earlier tests finish being reaped, so their frees do not land in
        // the middle of the measurement.
        for _ in 0..20 {
            yield_now();
        }
        let mut types: [(usize, i64, i64); MAXT] = [(0, 0, 0); MAXT];
        let mut nt = 0;
        for_each_type(|t| {
            if nt < MAXT {
                let s = t.stats();
                types[nt] = (t as *const MallocType as usize, s.memuse, s.inuse);
                nt += 1;
            }
        });
        // Made after the type snapshot: it is freed before the types are compared.
        let mut boxes: FVec<FBox<[u64; 8]>> = FVec::try_with_capacity_in(64, &M_TEST).map_err(|_| "fvec")?;
        reclaim_all();
        let pages0 = phys::page_counts();
        let (mut big, mut mid, mut small) = (0usize, 0usize, 0usize);
        let counts = [exhaust(1 << 20, &mut big), exhaust(64 * 1024, &mut big), exhaust(4096, &mut mid)];
        let mut pages = 0usize;
        let mut page_head = 0u64;
        while let Some(pa) = phys::alloc() {
            // SAFETY: the page is ours and direct-mapped.
            unsafe { ((abi::boot::DIRECT_MAP_BASE + pa) as *mut u64).write(page_head) };
            page_head = pa;
            pages += 1;
        }
        let smalls = exhaust(64, &mut small);
        // The fallible containers fail cleanly too: a box or a push that cannot get memory.
        let mut fbox_failed = false;
        for _ in 0..100_000 {
            match FBox::try_new_in([0u64; 8], &M_TEST) {
                Ok(b) => {
                    if let Err((AllocError, _)) = boxes.try_push(b) {
                        fbox_failed = true;
                        break;
                    }
                }
                Err((AllocError, _)) => {
                    fbox_failed = true;
                    break;
                }
            }
        }
        let low = phys::page_counts();
        drop(boxes);
        release(small);
        while page_head != 0 {
            // SAFETY: a page linked above.
            let next = unsafe { ((abi::boot::DIRECT_MAP_BASE + page_head) as *const u64).read() };
            phys::free(page_head);
            page_head = next;
        }
        release(mid);
        release(big);
        reclaim_all();
        let pages1 = phys::page_counts();
        crate::kprintln!(
            "# exhaustion: {} x 1 MiB, {} x 64 KiB, {} x 4 KiB, {} pages, {} x 64 B; free pages {} -> {} -> {}",
            counts[0], counts[1], counts[2], pages, smalls, pages0.free, low.free, pages1.free
        );
        // Whether crumbs are left for the 4 KiB and single-page stages after the 64 KiB one
        // depends on how earlier tests left memory fragmented (the test order follows the
        // link order), so only the end matters: the big stage got memory, the last one failed.
        kassert!(counts[0] > 100 && fbox_failed, "memory did not run out");
        kassert!(low.free < 64 * ncpus() as u64, "{} pages still free at the low point", low.free);
        // Background frees (a late-reaped thread) can only add pages; a leak would lose some.
        kassert!(pages1.free >= pages0.free, "free pages {} -> {}", pages0.free, pages1.free);
        kassert_eq!(pages1.wired + (pages1.free - pages0.free), pages0.wired);
        for &(t, memuse, inuse) in &types[..nt] {
            // SAFETY: for_each_type yields &'static MallocType.
            let t = unsafe { &*(t as *const MallocType) };
            let s = t.stats();
            kassert!(s.memuse == memuse && s.inuse == inuse, "type {}: {:?} vs {} / {}", t.name, s, memuse, inuse);
        }
        Ok(())
    }
}

ktest! {
    /// Double frees and bad pointers are caught in release builds (slab and page paths), and
    /// with poisoning on, a write after free is caught when the chunk is reused.
    fn double_free_and_poison_detected() {
        let r0 = trap_reports(true);
        let p = kmalloc(64, &M_TEST, M_WAITOK);
        let q = kmalloc(64, &M_TEST, M_WAITOK);
        // SAFETY: deliberate misuse, trapped: the checks run before anything changes.
        unsafe {
            kfree(q.add(8), &M_TEST);
            kfree(p, &M_TEST);
            kfree(p, &M_TEST);
        }
        let big = kmalloc(64 * 1024, &M_TEST, M_WAITOK);
        // SAFETY: as above.
        unsafe {
            kfree(big, &M_TEST);
            kfree(big, &M_TEST);
        }
        let r1 = trap_reports(true);
        POISON.store(true, Ordering::Release);
        let poisoned = {
            let _c = crate::lwkt::crit::crit();
            let a = kmalloc(200, &M_TEST, M_WAITOK);
            // SAFETY: freed once; then read and written after the free on purpose, inside a
            // critical section so nothing else on this CPU reuses it meanwhile.
            unsafe {
                kfree(a, &M_TEST);
                let ok = core::slice::from_raw_parts(a.add(8), 200 - 8).iter().all(|&b| b == POISON_BYTE);
                a.add(100).write(0);
                let b = kmalloc(200, &M_TEST, M_WAITOK);
                kfree(b, &M_TEST);
                (ok, b == a)
            }
        };
        POISON.store(cfg!(debug_assertions), Ordering::Release);
        let r2 = trap_reports(false);
        // SAFETY: q is still allocated; freed once now.
        unsafe { kfree(q, &M_TEST) };
        kassert_eq!(r1 - r0, 3);
        kassert!(poisoned.0 && poisoned.1, "poison {:?}", poisoned);
        kassert_eq!(r2 - r1, 1);
        Ok(())
    }
}

ktest! {
    /// A type with a limit refuses allocations past it.
    fn malloc_type_limit() {
        static M_LIMITED: MallocType = MallocType::with_limit("limited", 64 * 1024);
        let a = kmalloc(40 * 1024, &M_LIMITED, M_NULLOK);
        let b = kmalloc(40 * 1024, &M_LIMITED, M_NULLOK);
        kassert!(!a.is_null() && b.is_null(), "limit not enforced");
        // SAFETY: a is ours, freed once.
        unsafe { kfree(a, &M_LIMITED) };
        let c = kmalloc(40 * 1024, &M_LIMITED, M_NULLOK);
        kassert!(!c.is_null(), "limit not released");
        // SAFETY: as above.
        unsafe { kfree(c, &M_LIMITED) };
        Ok(())
    }
}

static OC_CTORS: AtomicU64 = AtomicU64::new(0);
static OC_DTORS: AtomicU64 = AtomicU64::new(0);

fn oc_ctor() -> Option<FBox<u64>> {
    OC_CTORS.fetch_add(1, Ordering::Relaxed);
    FBox::try_new_in(0xc0ffee, &M_TEST).ok()
}

fn oc_dtor(b: FBox<u64>) {
    OC_DTORS.fetch_add(1, Ordering::Relaxed);
    drop(b);
}

static OC: ObjCache<FBox<u64>> = ObjCache::new("test", usize::MAX, 4, oc_ctor, oc_dtor);
static OC_LIMITED: ObjCache<FBox<u64>> = ObjCache::new("test-limited", 3, 2, oc_ctor, oc_dtor);

ktest! {
    /// Objects are constructed once and then cached: a second round of gets constructs
    /// nothing; a drain destroys exactly what was cached; objects stay constructed.
    fn objcache_get_put_ctor_dtor() {
        let _c = crate::lwkt::crit::crit(); // keep to one CPU's magazines
        let (c0, d0) = (OC_CTORS.load(Ordering::Relaxed), OC_DTORS.load(Ordering::Relaxed));
        let mut v = Vec::with_capacity(20);
        for _ in 0..20 {
            v.push(OC.get(Wait::NoWait).ok_or("get failed")?);
        }
        kassert_eq!(OC_CTORS.load(Ordering::Relaxed) - c0, 20);
        for mut o in v.drain(..) {
            kassert_eq!(*o, 0xc0ffee);
            *o = 7;
            OC.put(o);
        }
        kassert_eq!(OC_DTORS.load(Ordering::Relaxed) - d0, 0);
        for _ in 0..20 {
            v.push(OC.get(Wait::NoWait).ok_or("get failed")?);
        }
        kassert_eq!(OC_CTORS.load(Ordering::Relaxed) - c0, 20);
        kassert!(v.iter().all(|o| **o == 7), "cached objects were reconstructed");
        for o in v.drain(..) {
            OC.put(o);
        }
        let st = OC.stats();
        OC.drain_local();
        kassert_eq!(OC_DTORS.load(Ordering::Relaxed) - d0, 20);
        kassert!(st.gets >= 40 && st.puts >= 40 && OC.name() == "test", "{:?}", st);
        kassert_eq!(OC.stats().dtors - st.dtors, 20);
        Ok(())
    }
}

ktest! {
    /// A cache at its budget fails NoWait gets, and a WaitOk get sleeps until another
    /// thread puts an object back.
    fn objcache_budget_and_wait() {
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(OC_LIMITED.get(Wait::NoWait).ok_or("get under budget failed")?);
        }
        kassert!(OC_LIMITED.get(Wait::NoWait).is_none(), "got past the budget");
        let got = Arc::new(AtomicUsize::new(0));
        let g = got.clone();
        create("t-ocwait", pri::KERN_DAEMON, Some((mycpu().cpuid + 1) % ncpus()), move || {
            let o = OC_LIMITED.get(Wait::WaitOk);
            g.store(if o.is_some() { 1 } else { 2 }, Ordering::Release);
            if let Some(o) = o {
                OC_LIMITED.put(o);
            }
        })
        .ok_or("create failed")?;
        // Put only once the waiter sleeps: a put before that would cache the object on this
        // CPU, out of the waiter's reach (objects in another CPU's magazines are).
        let t0 = crate::time::nanotime();
        while OC_LIMITED.waiters() == 0 && crate::time::nanotime() - t0 < 10_000_000_000 {
            yield_now();
        }
        kassert_eq!(OC_LIMITED.waiters(), 1);
        kassert_eq!(got.load(Ordering::Acquire), 0);
        OC_LIMITED.put(held.pop().ok_or("empty")?);
        wait_count(&got, 1)?;
        kassert_eq!(got.load(Ordering::Acquire), 1);
        for o in held {
            OC_LIMITED.put(o);
        }
        Ok(())
    }
}

static PIPE: spin::Once<MPipe> = spin::Once::new();

ktest! {
    /// An mpipe hands out its preallocated buffers, then allocates up to its cap and
    /// refuses more; a waitok allocation on another thread sleeps until a buffer is freed.
    fn mpipe_exhaustion_and_waitok() {
        let pipe = PIPE.try_call_once(|| MPipe::new(256, 2, 4, &M_TEST)).map_err(|_| "mpipe init")?;
        kassert_eq!((pipe.counts().0, pipe.nominal()), (2, 2));
        let mut bufs = Vec::new();
        for _ in 0..4 {
            let mut b = pipe.alloc_nowait().ok_or("alloc under cap failed")?;
            b.as_mut_slice().fill(0x11);
            bufs.push(b);
        }
        kassert!(pipe.alloc_nowait().is_none(), "allocated past the cap");
        kassert_eq!(pipe.counts().1, 4);
        let got = Arc::new(AtomicUsize::new(0));
        let g = got.clone();
        let sleeps0 = pipe.counts().2;
        create("t-mpwait", pri::KERN_DAEMON, Some((mycpu().cpuid + 1) % ncpus()), move || {
            if let Some(p) = PIPE.get() {
                let b = p.alloc_waitok();
                g.store(1, Ordering::Release);
                drop(b);
            }
        })
        .ok_or("create failed")?;
        let t0 = crate::time::nanotime();
        while pipe.counts().2 == sleeps0 && crate::time::nanotime() - t0 < 5_000_000_000 {
            yield_now();
        }
        kassert_eq!(got.load(Ordering::Acquire), 0);
        bufs.pop();
        wait_count(&got, 1)?;
        kassert!(pipe.counts().2 > sleeps0, "the waiter never slept");
        drop(bufs);
        kassert_eq!(pipe.counts().0, 2);
        kassert_eq!(pipe.counts().1, 2);
        Ok(())
    }
}

ktest! {
    /// FBox and FVec: values round-trip through raw ownership, pushes grow, pops return.
    fn fallible_containers() {
        let b = FBox::try_new(0x1234_u64).map_err(|_| "box")?;
        let (raw, t) = FBox::into_raw(b);
        // SAFETY: from into_raw just above, used once.
        let b = unsafe { FBox::from_raw(raw, t) };
        kassert_eq!(*b, 0x1234);
        let mut v: FVec<u32> = FVec::new();
        for i in 0..1000 {
            v.try_push(i).map_err(|_| "push")?;
        }
        kassert!(v.len() == 1000 && v.capacity() >= 1000 && v[999] == 999, "len {}", v.len());
        kassert_eq!(v.pop(), Some(999));
        Ok(())
    }
}

ktest! {
    /// Single pages come from this CPU's cache, which is refilled in batches and never holds
    /// more than its cap.
    fn page_cache_refills_in_batches() {
        let _c = crate::lwkt::crit::crit();
        let cpu = mycpu().cpuid;
        // Whatever the cache already holds is handed out before the first refill.
        let c0 = super::pagecache::cached(cpu);
        let r0 = super::pagecache::total_refills();
        let mut pages = [0u64; 200];
        for p in pages.iter_mut() {
            *p = phys::alloc().ok_or("no page")?;
        }
        let r1 = super::pagecache::total_refills();
        for &p in pages.iter() {
            phys::free(p);
        }
        let need = 200u64.saturating_sub(c0) / 32;
        kassert!(r1 - r0 >= need, "{} refills for 200 pages (cache held {})", r1 - r0, c0);
        kassert!(super::pagecache::cached(cpu) <= 64, "cache holds {}", super::pagecache::cached(cpu));
        Ok(())
    }
}
