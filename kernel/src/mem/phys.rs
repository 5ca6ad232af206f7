//! The physical page allocator, built from the loader's memory map.
//!
//! One bit per page frame below the highest usable address (1 = free). Reserved at start:
//! the first MiB (firmware, the AP trampoline page), the kernel image, the root image, the
//! symbol tables and every range the loader reports as used, and the bitmap itself.
use super::PAGE_SIZE;
use abi::boot::{BootInfo, MemKind, PhysRange, DIRECT_MAP_BASE};
use spin::Mutex;

const PAGE: u64 = PAGE_SIZE as u64;
/// Below this address nothing is handed out: firmware data, the AP trampoline, legacy DMA.
const LOW_RESERVED: u64 = 0x10_0000;

struct Bitmap {
    words: &'static mut [u64],
    /// Frames tracked (bits in `words` that stand for a page).
    frames: u64,
    free: u64,
    usable: u64,
    /// Word index where the next search starts.
    hint: usize,
}

static PHYS: Mutex<Option<Bitmap>> = Mutex::new(None);

impl Bitmap {
    fn is_free(&self, pfn: u64) -> bool {
        self.words[(pfn / 64) as usize] & (1 << (pfn % 64)) != 0
    }

    fn set_free(&mut self, pfn: u64, free: bool) {
        let w = &mut self.words[(pfn / 64) as usize];
        let bit = 1u64 << (pfn % 64);
        if free {
            *w |= bit;
        } else {
            *w &= !bit;
        }
    }

    /// Marks every frame fully inside `range` free (`free`) or every frame touching it used.
    fn mark(&mut self, range: PhysRange, free: bool) {
        let (first, end) = if free {
            (range.start.div_ceil(PAGE), range.end / PAGE)
        } else {
            (range.start / PAGE, range.end.div_ceil(PAGE))
        };
        for pfn in first..end.min(self.frames) {
            if self.is_free(pfn) != free {
                self.set_free(pfn, free);
                if free {
                    self.free += 1;
                } else {
                    self.free -= 1;
                }
            }
        }
    }

    fn alloc(&mut self) -> Option<u64> {
        let n = self.words.len();
        for i in 0..n {
            let wi = (self.hint + i) % n;
            let w = self.words[wi];
            if w != 0 {
                let pfn = wi as u64 * 64 + w.trailing_zeros() as u64;
                self.set_free(pfn, false);
                self.free -= 1;
                self.hint = wi;
                return Some(pfn * PAGE);
            }
        }
        None
    }

    fn alloc_contiguous(&mut self, count: u64) -> Option<u64> {
        let mut run = 0;
        for pfn in 0..self.frames {
            run = if self.is_free(pfn) { run + 1 } else { 0 };
            if run == count {
                let first = pfn + 1 - count;
                self.mark(PhysRange::new(first * PAGE, count * PAGE), false);
                return Some(first * PAGE);
            }
        }
        None
    }

    fn release(&mut self, pa: u64) {
        let pfn = pa / PAGE;
        assert!(pa.is_multiple_of(PAGE) && pfn < self.frames, "phys::free of bad address {:#x}", pa);
        assert!(!self.is_free(pfn), "phys::free of free page {:#x}", pa);
        self.set_free(pfn, true);
        self.free += 1;
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

/// Builds the allocator. Fails the boot (with a message) if no usable RAM can hold it.
pub fn init(bi: &BootInfo) {
    let top = bi.mem_map().iter().filter(|r| is_ram(r.kind())).map(|r| r.range.end).max().unwrap_or(0);
    let frames = top / PAGE;
    let words = frames.div_ceil(64) as usize;
    let bytes = (words * 8) as u64;
    let Some(at) = find_hole(bi, bytes.max(1).next_multiple_of(PAGE)) else {
        crate::kprintln!("phys: no room for the page bitmap ({} bytes)", bytes);
        crate::arch::x86_64::power::exit_failure();
    };
    // SAFETY: [at, at+bytes) is usable RAM that no reserved range overlaps (find_hole), the
    // loader's direct map covers it, and nothing else will use it: it is marked used below.
    let words = unsafe { core::slice::from_raw_parts_mut((DIRECT_MAP_BASE + at) as *mut u64, words) };
    words.fill(0);
    let mut bm = Bitmap { words, frames, free: 0, usable: 0, hint: 0 };
    for r in bi.mem_map().iter().filter(|r| is_ram(r.kind())) {
        bm.mark(r.range, true);
    }
    bm.usable = bm.free;
    for r in reserved_ranges(bi) {
        bm.mark(r, false);
    }
    bm.mark(PhysRange::new(at, bytes), false);
    *PHYS.lock() = Some(bm);
}

/// Allocates one page; returns its physical address.
pub fn alloc() -> Option<u64> {
    PHYS.lock().as_mut()?.alloc()
}

/// Allocates one zeroed page.
pub fn alloc_zeroed() -> Option<u64> {
    let pa = alloc()?;
    // SAFETY: the page was just allocated to us and is covered by the direct map.
    unsafe { core::ptr::write_bytes((DIRECT_MAP_BASE + pa) as *mut u8, 0, PAGE_SIZE) };
    Some(pa)
}

/// Allocates `count` physically contiguous pages; returns the first one's address.
pub fn alloc_contiguous(count: usize) -> Option<u64> {
    PHYS.lock().as_mut()?.alloc_contiguous(count as u64)
}

/// Returns a page to the allocator. Freeing a page twice is a kernel bug and panics.
pub fn free(pa: u64) {
    if let Some(bm) = PHYS.lock().as_mut() {
        bm.release(pa);
    }
}

/// (free pages, usable pages in the memory map).
pub fn counts() -> (u64, u64) {
    PHYS.lock().as_ref().map_or((0, 0), |b| (b.free, b.usable))
}

/// Prints the memory map and the page counts.
pub fn print_summary() {
    let bi = crate::bootinfo::get();
    for r in bi.mem_map() {
        log::info!("mem: [{:#014x}, {:#014x}) {:?}", r.range.start, r.range.end, r.kind());
    }
    let (free, usable) = counts();
    crate::kprintln!(
        "phys: {} MiB usable in {} regions, {} pages free, {} used ({} KiB)",
        usable * PAGE / (1024 * 1024),
        bi.mem_map().len(),
        free,
        usable - free,
        (usable - free) * PAGE / 1024
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
            let before = counts().0;
            let mut pages = Vec::new();
            for _ in 0..256 {
                let pa = alloc().ok_or("out of pages")?;
                kassert!(pa % PAGE == 0, "unaligned {:#x}", pa);
                for r in reserved_ranges(bi) {
                    kassert!(!r.overlaps(&PhysRange::new(pa, PAGE)), "{:#x} is in reserved {:?}", pa, r);
                }
                pages.push(pa);
            }
            let mut sorted = pages.clone();
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
