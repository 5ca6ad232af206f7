//! A bump allocator of physical pages for what outlives the loader: the kernel's page tables,
//! its stack, the BootInfo and the symbol-table copies. It hands out usable RAM above the
//! kernel and below 4 GiB (identity-mapped here, reachable by the AP trampoline later),
//! skipping the ranges it is told to avoid.

use crate::fail;
use abi::boot::{BootInfo, MemKind, PhysRange, MAX_MEM_REGIONS, PAGE_SIZE};

const LIMIT: u64 = 1 << 32;
const MAX_SPANS: usize = 8;
const MAX_AVOID: usize = 4;

/// Rounds down to a page boundary.
pub const fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

/// Rounds up to a page boundary (saturating).
pub const fn page_up(a: u64) -> u64 {
    match a.checked_add(PAGE_SIZE - 1) {
        Some(v) => page_down(v),
        None => page_down(u64::MAX),
    }
}

/// The allocator; its allocations are merged into a few contiguous spans.
pub struct Frames {
    usable: [PhysRange; MAX_MEM_REGIONS],
    next: u64,
    avoid: [PhysRange; MAX_AVOID],
    spans: [PhysRange; MAX_SPANS],
    span_count: usize,
}

impl Frames {
    /// Allocates from `start` upward, never inside any of `avoid`.
    pub fn new(info: &BootInfo, start: u64, avoid: &[PhysRange]) -> Frames {
        let mut usable = [PhysRange::EMPTY; MAX_MEM_REGIONS];
        for (slot, r) in usable.iter_mut().zip(info.mem_map().iter().filter(|r| r.kind() == MemKind::Usable))
        {
            *slot = r.range;
        }
        let mut a = [PhysRange::EMPTY; MAX_AVOID];
        for (slot, r) in a.iter_mut().zip(avoid) {
            *slot = PhysRange { start: page_down(r.start), end: page_up(r.end) };
        }
        Frames { usable, next: page_up(start), avoid: a, spans: [PhysRange::EMPTY; MAX_SPANS], span_count: 0 }
    }

    /// Allocates `pages` zeroed, contiguous pages; stops the boot when memory runs out.
    pub fn alloc(&mut self, pages: u64, what: &str) -> u64 {
        let Some(len) = pages.checked_mul(PAGE_SIZE) else { fail!("{what}: {pages} pages is absurd") };
        let Some(start) = self.find(len) else {
            fail!("out of memory below 4 GiB for {what} ({len:#x} bytes)");
        };
        self.next = start + len;
        self.record(PhysRange::new(start, len));
        // SAFETY: [start, start+len) is usable RAM below 4 GiB (identity-mapped), used by
        // nothing else: above the kernel and everything allocated before, outside `avoid`.
        unsafe { core::ptr::write_bytes(start as *mut u8, 0, len as usize) };
        start
    }

    fn find(&self, len: u64) -> Option<u64> {
        for r in self.usable.iter().filter(|r| !r.is_empty()) {
            let mut start = page_up(r.start.max(self.next));
            loop {
                let end = start.checked_add(len)?;
                if end > r.end || end > LIMIT {
                    break;
                }
                let want = PhysRange { start, end };
                match self.avoid.iter().find(|a| a.overlaps(&want)) {
                    Some(a) => start = a.end,
                    None => return Some(start),
                }
            }
        }
        None
    }

    fn record(&mut self, r: PhysRange) {
        if self.span_count > 0 && self.spans[self.span_count - 1].end == r.start {
            self.spans[self.span_count - 1].end = r.end;
        } else if self.span_count < MAX_SPANS {
            self.spans[self.span_count] = r;
            self.span_count += 1;
        } else {
            fail!("too many discontiguous loader allocations");
        }
    }

    /// The ranges handed out so far (page-aligned, merged where contiguous).
    pub fn spans(&self) -> &[PhysRange] {
        &self.spans[..self.span_count]
    }
}
