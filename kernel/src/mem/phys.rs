//! The physical page allocator (DragonFly's vm_page startup and free queues).
//!
//! At boot [`init`] takes room for one [`VmPage`] per page frame below the top of RAM from the
//! memory map, marks usable frames, and hands every frame outside the reserved ranges (first
//! MiB, kernel and root images, symbol tables, the loader's ranges, the page array itself) to
//! binary-buddy free lists under one lock. A buddy allocator replaces the boot bitmap because
//! the slab allocator wants naturally aligned 128 KiB zones and large kmallocs want contiguous
//! runs, and both come out of buddy lists in O(log n) without a scan.
//!
//! Single pages, by far the most common request, go through each CPU's page cache
//! ([`super::pagecache`]) once LWKT runs on that CPU; before that (early boot, an AP before its
//! first thread) they go straight to the global lists, which need neither GS nor a thread:
//! the lock is a critical section (a no-op before threads exist, when interrupts are off)
//! plus a plain spin lock.
use super::page::{pg, VmPage, NO_PFN, WIRED};
use super::{pagecache, PAGE_SIZE};
use crate::lwkt::crit::{crit, CritSection};
use abi::boot::{BootInfo, MemKind, PhysRange, DIRECT_MAP_BASE};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use spin::{Mutex, MutexGuard};

const PAGE: u64 = PAGE_SIZE as u64;
/// Below this address nothing is handed out: firmware data, the AP trampoline, legacy DMA.
const LOW_RESERVED: u64 = 0x10_0000;
/// Buddy orders 0..MAX_ORDER: the largest free block is 2^(MAX_ORDER-1) pages (4 MiB).
pub const MAX_ORDER: usize = 11;

/// The page array and its length (frames 0..NPAGES).
static PAGES: AtomicPtr<VmPage> = AtomicPtr::new(core::ptr::null_mut());
static NPAGES: AtomicUsize = AtomicUsize::new(0);

/// Global free lists: one doubly linked list of block heads per order.
struct FreeLists {
    heads: [u32; MAX_ORDER],
    /// Pages on the lists (all orders).
    free: u64,
    /// Usable pages in the memory map.
    usable: u64,
}

static FREE: Mutex<FreeLists> = Mutex::new(FreeLists { heads: [NO_PFN; MAX_ORDER], free: 0, usable: 0 });

/// The free-list lock: a critical section (so an interrupt handler that frees a page cannot
/// spin on a lock its own CPU's interrupted thread holds) plus the spin lock.
struct Locked {
    g: MutexGuard<'static, FreeLists>,
    _c: CritSection,
}

fn lock() -> Locked {
    let c = crit();
    Locked { g: FREE.lock(), _c: c }
}

/// Every page structure (empty before `init`).
pub fn pages() -> &'static [VmPage] {
    let p = PAGES.load(Ordering::Acquire);
    if p.is_null() {
        return &[];
    }
    // SAFETY: init publishes the array once, fully initialised, and never frees it.
    unsafe { core::slice::from_raw_parts(p, NPAGES.load(Ordering::Acquire)) }
}

/// The page structure of frame `pfn`.
#[inline]
pub fn page(pfn: u64) -> Option<&'static VmPage> {
    pages().get(pfn as usize)
}

/// The page structure of physical address `pa`.
#[inline]
pub fn page_of(pa: u64) -> Option<&'static VmPage> {
    page(pa / PAGE)
}

/// The page structure behind a direct-map address.
#[inline]
pub fn page_of_kva(va: u64) -> Option<&'static VmPage> {
    page_of(va.checked_sub(DIRECT_MAP_BASE)?)
}

fn pfn_page(pfn: u32) -> &'static VmPage {
    &pages()[pfn as usize]
}

impl FreeLists {
    fn push(&mut self, pfn: u32, order: usize) {
        let p = pfn_page(pfn);
        let head = self.heads[order];
        p.order.store(order as u32, Ordering::Relaxed);
        p.prev.store(NO_PFN, Ordering::Relaxed);
        p.next.store(head, Ordering::Relaxed);
        if head != NO_PFN {
            pfn_page(head).prev.store(pfn, Ordering::Relaxed);
        }
        self.heads[order] = pfn;
        p.set(pg::FREE);
        self.free += 1 << order;
    }

    fn remove(&mut self, pfn: u32, order: usize) {
        let p = pfn_page(pfn);
        let (n, pr) = (p.next.load(Ordering::Relaxed), p.prev.load(Ordering::Relaxed));
        if pr == NO_PFN {
            self.heads[order] = n;
        } else {
            pfn_page(pr).next.store(n, Ordering::Relaxed);
        }
        if n != NO_PFN {
            pfn_page(n).prev.store(pr, Ordering::Relaxed);
        }
        p.clear(pg::FREE);
        self.free -= 1 << order;
    }

    /// Takes a block of 2^order pages, splitting a larger one if needed.
    fn alloc(&mut self, order: usize) -> Option<u32> {
        let k = (order..MAX_ORDER).find(|&k| self.heads[k] != NO_PFN)?;
        let pfn = self.heads[k];
        self.remove(pfn, k);
        for o in (order..k).rev() {
            self.push(pfn + (1 << o), o);
        }
        Some(pfn)
    }

    /// Returns a block of 2^order pages, merging it with free buddies.
    fn free(&mut self, mut pfn: u32, mut order: usize) {
        let n = pages().len() as u64;
        while order + 1 < MAX_ORDER {
            let buddy = pfn ^ (1 << order);
            if buddy as u64 >= n {
                break;
            }
            let b = pfn_page(buddy);
            if !b.has(pg::FREE) || b.order.load(Ordering::Relaxed) as usize != order {
                break;
            }
            self.remove(buddy, order);
            pfn = pfn.min(buddy);
            order += 1;
        }
        self.push(pfn, order);
    }

    /// Frees `[pfn, pfn+count)` as the largest aligned blocks that fit.
    fn free_range(&mut self, mut pfn: u32, count: u32) {
        let end = pfn + count;
        while pfn < end {
            let mut o = (pfn.trailing_zeros() as usize).min(MAX_ORDER - 1);
            while pfn + (1 << o) > end {
                o -= 1;
            }
            self.free(pfn, o);
            pfn += 1 << o;
        }
    }

    /// A run of `count` pages longer than the largest block: scan the array for adjacent
    /// free blocks (slow, rare).
    fn alloc_huge(&mut self, count: u32) -> Option<u32> {
        let pages = pages();
        let (mut pfn, mut start, mut run) = (0u32, 0u32, 0u32);
        while (pfn as usize) < pages.len() {
            let p = &pages[pfn as usize];
            if p.has(pg::FREE) {
                if run == 0 {
                    start = pfn;
                }
                run += 1 << p.order.load(Ordering::Relaxed);
                pfn += 1 << p.order.load(Ordering::Relaxed);
                if run >= count {
                    let mut q = start;
                    while q < pfn {
                        let o = pfn_page(q).order.load(Ordering::Relaxed) as usize;
                        self.remove(q, o);
                        q += 1 << o;
                    }
                    self.free_range(start + count, run - count);
                    return Some(start);
                }
            } else {
                run = 0;
                pfn += 1;
            }
        }
        None
    }
}

/// Marks `count` pages from `pfn` handed out (one wiring each).
fn mark_allocated(pfn: u32, count: u32) {
    for q in pfn..pfn + count {
        let p = pfn_page(q);
        p.set(pg::ALLOCATED);
        p.kmem.store(0, Ordering::Relaxed);
        p.wire();
    }
}

fn is_ram(kind: MemKind) -> bool {
    kind == MemKind::Usable
}

/// Every range that must never be handed out.
fn reserved_ranges(bi: &BootInfo) -> impl Iterator<Item = PhysRange> + '_ {
    [
        PhysRange { start: 0, end: LOW_RESERVED },
        bi.kernel_image,
        bi.root_image,
        bi.kernel_symtab,
        bi.kernel_strtab,
        PhysRange::new(bi.ap_trampoline, if bi.ap_trampoline != 0 { PAGE } else { 0 }),
    ]
    .into_iter()
    .chain(bi.loader_ranges().iter().copied())
}

/// Finds `len` bytes of usable RAM that overlap no reserved range, page aligned.
fn find_hole(bi: &BootInfo, len: u64) -> Option<u64> {
    for r in bi.mem_map().iter().filter(|r| is_ram(r.kind())) {
        let mut start = r.range.start.max(LOW_RESERVED).next_multiple_of(PAGE);
        'retry: while start.checked_add(len)? <= r.range.end {
            let cand = PhysRange::new(start, len);
            for res in reserved_ranges(bi) {
                if res.overlaps(&cand) {
                    start = res.end.next_multiple_of(PAGE);
                    continue 'retry;
                }
            }
            return Some(start);
        }
    }
    None
}

/// Frames fully inside `range` (or, with `touching`, every frame it touches), clipped to `n`.
fn frames(range: PhysRange, touching: bool, n: u64) -> core::ops::Range<u64> {
    let (a, b) = if touching {
        (range.start / PAGE, range.end.div_ceil(PAGE))
    } else {
        (range.start.div_ceil(PAGE), range.end / PAGE)
    };
    a.min(n)..b.min(n)
}

/// Builds the page array and the free lists. Fails the boot (with a message) if no usable
/// RAM can hold the array.
pub fn init(bi: &BootInfo) {
    let top = bi.mem_map().iter().filter(|r| is_ram(r.kind())).map(|r| r.range.end).max().unwrap_or(0);
    let n = (top / PAGE).min(u64::from(NO_PFN));
    let bytes = (n * core::mem::size_of::<VmPage>() as u64).max(1).next_multiple_of(PAGE);
    let Some(at) = find_hole(bi, bytes) else {
        crate::kprintln!("phys: no room for the page array ({} bytes)", bytes);
        crate::arch::x86_64::power::exit_failure();
    };
    let arr = (DIRECT_MAP_BASE + at) as *mut VmPage;
    for i in 0..n as usize {
        // SAFETY: [at, at+bytes) is usable RAM no reserved range overlaps (find_hole), covered
        // by the loader's direct map, and nothing else uses it (it is never put on a list).
        unsafe { arr.add(i).write(VmPage::new()) };
    }
    PAGES.store(arr, Ordering::Release);
    NPAGES.store(n as usize, Ordering::Release);
    let pages = pages();
    let mut usable = 0;
    for r in bi.mem_map().iter().filter(|r| is_ram(r.kind())) {
        for pfn in frames(r.range, false, n) {
            if !pages[pfn as usize].has(pg::RAM) {
                pages[pfn as usize].set(pg::RAM);
                usable += 1;
            }
        }
    }
    // Reserved frames keep RAM but are marked allocated and wired for ever, so a stray free
    // of one is caught and they count as wired.
    let keep = |range: PhysRange| {
        for pfn in frames(range, true, n) {
            let p = &pages[pfn as usize];
            if p.has(pg::RAM) && !p.has(pg::ALLOCATED) {
                p.set(pg::ALLOCATED);
                p.wire();
            }
        }
    };
    reserved_ranges(bi).for_each(keep);
    keep(PhysRange::new(at, bytes));
    let mut l = lock();
    l.g.usable = usable;
    let mut pfn = 0u64;
    while pfn < n {
        let ok = |q: u64| q < n && pages[q as usize].has(pg::RAM) && !pages[q as usize].has(pg::ALLOCATED);
        if !ok(pfn) {
            pfn += 1;
            continue;
        }
        let mut o = 0;
        while o + 1 < MAX_ORDER && pfn.is_multiple_of(1 << (o + 1)) && (pfn..pfn + (1 << (o + 1))).all(ok) {
            o += 1;
        }
        l.g.push(pfn as u32, o);
        pfn += 1 << o;
    }
}

/// Takes one page from the global lists (the page cache's refill and the early path).
///
/// `settle(n)` runs with the lists' lock still held: the page cache sets its count there, so
/// the pages move between the lists and the cache in one step and a [`page_counts`]
/// snapshot (taken under the lock) never sees a batch in both places or in neither.
pub(super) fn alloc_global_batch(out: &mut [u32], settle: impl FnOnce(usize)) -> usize {
    let mut l = lock();
    let mut n = 0;
    while n < out.len() {
        match l.g.alloc(0) {
            Some(pfn) => {
                out[n] = pfn;
                n += 1;
            }
            None => break,
        }
    }
    settle(n);
    n
}

/// Returns pages to the global lists (the page cache's drain); `settle` runs under the
/// lists' lock, as in [`alloc_global_batch`].
pub(super) fn free_global_batch(pfns: &[u32], settle: impl FnOnce()) {
    let mut l = lock();
    for &pfn in pfns {
        pfn_page(pfn).clear(pg::CACHED);
        l.g.free(pfn, 0);
    }
    settle();
}

/// Allocates one page; returns its physical address. The page comes out wired once.
pub fn alloc() -> Option<u64> {
    let pfn = match pagecache::alloc() {
        Some(pfn) => pfn,
        None => {
            let mut one = [0];
            if alloc_global_batch(&mut one, |_| {}) == 0 {
                return None;
            }
            one[0]
        }
    };
    mark_allocated(pfn, 1);
    Some(u64::from(pfn) * PAGE)
}

/// Allocates one zeroed page.
pub fn alloc_zeroed() -> Option<u64> {
    let pa = alloc()?;
    // SAFETY: the page was just allocated to us and is covered by the direct map.
    unsafe { core::ptr::write_bytes((DIRECT_MAP_BASE + pa) as *mut u8, 0, PAGE_SIZE) };
    Some(pa)
}

/// Allocates `count` physically contiguous pages; returns the first one's address. The run
/// starts at a multiple of the next power of two at or above `count` pages (when that is at
/// most 4 MiB), so the slab can mask addresses to find its zone headers. Each page is freed
/// on its own with [`free`].
pub fn alloc_contiguous(count: usize) -> Option<u64> {
    let count = u32::try_from(count).ok().filter(|&c| c > 0)?;
    let order = count.next_power_of_two().trailing_zeros() as usize;
    let pfn = {
        let mut l = lock();
        if order < MAX_ORDER {
            let pfn = l.g.alloc(order)?;
            l.g.free_range(pfn + count, (1 << order) - count);
            pfn
        } else {
            l.g.alloc_huge(count)?
        }
    };
    mark_allocated(pfn, count);
    Some(u64::from(pfn) * PAGE)
}

/// Returns a page to the allocator. Freeing a page twice, or one the allocator never handed
/// out, is a kernel bug and panics.
pub fn free(pa: u64) {
    let p = page_of(pa).filter(|_| pa.is_multiple_of(PAGE));
    let Some(p) = p else { panic!("phys::free of bad address {:#x}", pa) };
    let was = p.flags.fetch_and(!pg::ALLOCATED, Ordering::AcqRel);
    assert!(was & pg::ALLOCATED != 0 && was & pg::RAM != 0, "phys::free of free page {:#x}", pa);
    if p.wire_count.load(Ordering::Relaxed) > 0 {
        p.unwire();
    }
    p.kmem.store(0, Ordering::Relaxed);
    p.object.store(0, Ordering::Relaxed);
    let pfn = (pa / PAGE) as u32;
    if !pagecache::free(pfn) {
        lock().g.free(pfn, 0);
    }
}

/// Gives back the frames of the boot-reserved `range` that no other reserved range touches
/// (the root image, once the root filesystem holds copies of its files, as Linux frees the
/// initramfs after unpacking it). The caller guarantees nothing reads the range any more.
/// Returns how many frames went back to the free lists.
pub fn release_reserved(bi: &BootInfo, range: PhysRange) -> u64 {
    let pages = pages();
    let mut freed = 0;
    for pfn in frames(range, false, pages.len() as u64) {
        let frame = PhysRange::new(pfn * PAGE, PAGE);
        let shared = reserved_ranges(bi).filter(|r| *r != range).any(|r| r.overlaps(&frame));
        let p = &pages[pfn as usize];
        if !shared && p.has(pg::RAM) && p.has(pg::ALLOCATED) {
            free(pfn * PAGE);
            freed += 1;
        }
    }
    freed
}

/// Page counts for /proc/meminfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCounts {
    /// Usable pages in the memory map.
    pub total: u64,
    /// Free pages: on the global lists plus every CPU's cache.
    pub free: u64,
    /// Free pages held in CPU caches (included in `free`).
    pub cached: u64,
    /// Wired pages (kernel memory, reserved ranges).
    pub wired: u64,
}

/// The current page counts (a snapshot; a CPU's cache may be one page ahead or behind).
pub fn page_counts() -> PageCounts {
    // The caches' counts change under the lists' lock when batches move (see
    // alloc_global_batch): read under it, the sum is exact but for single pages in flight.
    let (global, total, cached) = {
        let l = lock();
        (l.g.free, l.g.usable, pagecache::total_cached())
    };
    PageCounts { total, free: global + cached, cached, wired: WIRED.load(Ordering::Relaxed) }
}

/// Whether free memory has fallen to the reserve kept for the kernel (1/64 of the usable
/// pages, at least 256): user page faults then fail with out-of-memory instead of taking
/// the pages the kernel heap and page tables need to go on.
pub fn at_kernel_reserve() -> bool {
    let c = page_counts();
    c.free <= (c.total / 64).max(256)
}

/// (free pages, usable pages in the memory map).
pub fn counts() -> (u64, u64) {
    let c = page_counts();
    (c.free, c.total)
}

/// Prints the memory map and the page counts.
pub fn print_summary() {
    let bi = crate::bootinfo::get();
    for r in bi.mem_map() {
        log::info!("mem: [{:#014x}, {:#014x}) {:?}", r.range.start, r.range.end, r.kind());
    }
    let c = page_counts();
    crate::kprintln!(
        "phys: {} MiB usable in {} regions, {} pages free, {} used ({} KiB), {} wired",
        c.total * PAGE / (1024 * 1024),
        bi.mem_map().len(),
        c.free,
        c.total - c.free,
        (c.total - c.free) * PAGE / 1024,
        c.wired,
    );
}

mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::vec::Vec;

    ktest! {
        /// Pages come back distinct, page aligned, outside every reserved range, and the
        /// counts return to where they were.
        fn alloc_free_round_trip() {
            let bi = crate::bootinfo::get();
            // Both vectors are allocated first: a new slab zone would move the counts.
            let mut pages = Vec::with_capacity(256);
            let mut sorted: Vec<u64> = Vec::with_capacity(256);
            let before = counts().0;
            for _ in 0..256 {
                let pa = alloc().ok_or("out of pages")?;
                kassert!(pa % PAGE == 0, "unaligned {:#x}", pa);
                for r in reserved_ranges(bi) {
                    kassert!(!r.overlaps(&PhysRange::new(pa, PAGE)), "{:#x} is in reserved {:?}", pa, r);
                }
                pages.push(pa);
            }
            sorted.extend_from_slice(&pages);
            sorted.sort_unstable();
            sorted.dedup();
            kassert_eq!(sorted.len(), pages.len());
            kassert_eq!(counts().0, before - 256);
            for pa in pages {
                free(pa);
            }
            kassert_eq!(counts().0, before);
            Ok(())
        }
    }

    ktest! {
        /// Contiguous runs are contiguous and usable memory: every byte reads back.
        fn contiguous_run_is_writable() {
            let pa = alloc_contiguous(8).ok_or("no 8-page run")?;
            let p = (DIRECT_MAP_BASE + pa) as *mut u64;
            for i in 0..(8 * PAGE_SIZE / 8) {
                // SAFETY: the 8 pages are ours and direct-mapped.
                unsafe { p.add(i).write_volatile(i as u64 ^ pa) };
            }
            for i in 0..(8 * PAGE_SIZE / 8) {
                // SAFETY: as above.
                let v = unsafe { p.add(i).read_volatile() };
                kassert_eq!(v, i as u64 ^ pa);
            }
            for i in 0..8 {
                free(pa + i * PAGE);
            }
            Ok(())
        }
    }

    ktest! {
        /// Everything the map calls usable is accounted as free or used, nothing more.
        fn counts_are_consistent() {
            let (free, usable) = counts();
            kassert!(free > 0 && free < usable, "free {} usable {}", free, usable);
            let bi = crate::bootinfo::get();
            let expect: u64 = bi
                .mem_map()
                .iter()
                .filter(|r| r.kind() == MemKind::Usable)
                .map(|r| r.range.end / PAGE - r.range.start.div_ceil(PAGE))
                .sum();
            kassert_eq!(usable, expect);
            Ok(())
        }
    }
}
