//! The early kernel heap: a linked-list allocator over physically contiguous pages reached
//! through the direct map, so `alloc` works from early boot. DragonFly's slab allocator
//! replaces it in the memory milestone.
use crate::lwkt::crit::{crit_enter, crit_exit};
use abi::boot::DIRECT_MAP_BASE;
use core::alloc::{GlobalAlloc, Layout};
use linked_list_allocator::LockedHeap;

/// The heap's lock is a spinlock, and a spinlock implies a critical section (DragonFly's
/// rule): an interrupt handler that allocates could otherwise spin for ever on a lock its
/// own CPU's interrupted thread holds.
struct CritHeap(LockedHeap);

// SAFETY: forwards to LockedHeap, which is a correct allocator; the critical section only
// defers interrupts around it.
unsafe impl GlobalAlloc for CritHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        crit_enter();
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract.
        let p = unsafe { self.0.alloc(layout) };
        crit_exit();
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        crit_enter();
        // SAFETY: the caller upholds GlobalAlloc::dealloc's contract.
        unsafe { self.0.dealloc(ptr, layout) };
        crit_exit();
    }
}

#[global_allocator]
static HEAP: CritHeap = CritHeap(LockedHeap::empty());

/// Pages given to the early heap.
const HEAP_PAGES: usize = 16384;

/// Gives the heap its pages; boot fails with a message if they cannot be found.
pub fn init() {
    let Some(pa) = super::phys::alloc_contiguous(HEAP_PAGES) else {
        crate::kprintln!("heap: cannot find {} contiguous pages", HEAP_PAGES);
        crate::arch::x86_64::power::exit_failure();
    };
    // SAFETY: the pages were just allocated for the heap alone and are direct-mapped.
    unsafe { HEAP.0.lock().init((DIRECT_MAP_BASE + pa) as *mut u8, HEAP_PAGES * super::PAGE_SIZE) };
    log::debug!("heap: {} KiB at phys {:#x}", HEAP_PAGES * 4, pa);
}

mod tests {
    use crate::{kassert, kassert_eq, ktest};
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    ktest! {
        /// Boxes and vectors work and hold their contents.
        fn box_and_vec() {
            let b = Box::new(0x5a5a_u64);
            let mut v: Vec<u32> = (0..10_000).collect();
            v.reverse();
            kassert_eq!(*b, 0x5a5a);
            kassert_eq!(v[0], 9_999);
            kassert!(v.iter().sum::<u32>() == 49_995_000, "sum");
            Ok(())
        }
    }
}
