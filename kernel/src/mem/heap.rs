//! The early kernel heap: a linked-list allocator over physically contiguous pages reached
//! through the direct map, so `alloc` works from early boot. DragonFly's slab allocator
//! replaces it in the memory milestone.
use abi::boot::DIRECT_MAP_BASE;
use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Pages given to the early heap.
const HEAP_PAGES: usize = 1024;

/// Gives the heap its pages; boot fails with a message if they cannot be found.
pub fn init() {
    let Some(pa) = super::phys::alloc_contiguous(HEAP_PAGES) else {
        crate::kprintln!("heap: cannot find {} contiguous pages", HEAP_PAGES);
        crate::arch::x86_64::power::exit_failure();
    };
    // SAFETY: the pages were just allocated for the heap alone and are direct-mapped.
    unsafe { HEAP.lock().init((DIRECT_MAP_BASE + pa) as *mut u8, HEAP_PAGES * super::PAGE_SIZE) };
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
