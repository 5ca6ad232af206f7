//! A bump allocator over a static array: goblin needs `alloc` for its header vectors, and the
//! loader never frees anything worth reusing.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

const HEAP_SIZE: usize = 1024 * 1024;

#[repr(C, align(4096))]
struct Arena(UnsafeCell<[u8; HEAP_SIZE]>);

// SAFETY: the loader runs on one CPU; `Bump` hands out disjoint pieces only.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; HEAP_SIZE]));

struct Bump {
    used: AtomicUsize,
}

// SAFETY: every allocation is a fresh, suitably aligned, in-bounds piece of ARENA.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = ARENA.0.get() as usize;
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let start = match (base + used).checked_next_multiple_of(layout.align()) {
                Some(s) => s - base,
                None => return core::ptr::null_mut(),
            };
            let end = match start.checked_add(layout.size()) {
                Some(e) if e <= HEAP_SIZE => e,
                _ => return core::ptr::null_mut(),
            };
            match self.used.compare_exchange(used, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return (base + start) as *mut u8,
                Err(now) => used = now,
            }
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump { used: AtomicUsize::new(0) };
