//! Kernel stacks with an unmapped guard page below each (DragonFly's `td_kstack`).
//!
//! Stacks live in their own kernel-half window, page by page, so the page under every stack
//! can stay unmapped: running off the bottom faults at once instead of corrupting a
//! neighbour. Freed stacks keep their mapping and go on a free list of their size, so freeing
//! never needs a TLB shootdown.
//!
//! Thread-sized stacks (the common case) go through an objcache first, as DragonFly's
//! `thread_cache`: a per-CPU magazine hit takes no lock at all; the window's own free list
//! behind it is the objcache's backend (constructor and destructor).
use super::objcache::{ObjCache, Wait};
use super::{phys, PAGE_SIZE};
use crate::arch::x86_64::pmap::{self, pte};
use crate::sync::spinlock::SpinLock;
use alloc::vec::Vec;

/// Start of the kernel-stack window (PML4 slot 352).
pub const KSTACK_WINDOW: u64 = 0xffff_b000_0000_0000;
/// Size of the window.
const KSTACK_WINDOW_SIZE: u64 = 1 << 39;
const PAGE: u64 = PAGE_SIZE as u64;

/// One kernel stack: `[bottom, top)` is mapped, the page below `bottom` is not.
#[derive(Debug)]
pub struct KernelStack {
    bottom: u64,
    pages: usize,
}

impl KernelStack {
    /// The lowest mapped address.
    pub fn bottom(&self) -> u64 {
        self.bottom
    }

    /// The initial stack pointer (one past the highest byte).
    pub fn top(&self) -> u64 {
        self.bottom + self.pages as u64 * PAGE
    }

    /// The unmapped guard page.
    pub fn guard_page(&self) -> u64 {
        self.bottom - PAGE
    }
}

struct Window {
    next: u64,
    free: Vec<KernelStack>,
}

// A spinlock (critical section): a thread holding it must not be preempted by an interrupt
// thread that allocates a stack, or by one whose exit frees a stack.
static WINDOW: SpinLock<Window> = SpinLock::new(Window { next: KSTACK_WINDOW, free: Vec::new() });

/// Pages of the stacks the objcache serves (LWKT thread stacks).
const CACHED_PAGES: usize = crate::lwkt::thread::KSTACK_PAGES;

fn stack_ctor() -> Option<KernelStack> {
    alloc_window(CACHED_PAGES)
}

fn stack_dtor(s: KernelStack) {
    free_window(s)
}

/// Thread stacks, cached per CPU in magazines of 8.
pub static STACK_CACHE: ObjCache<KernelStack> =
    ObjCache::new("kstack", usize::MAX, 8, stack_ctor, stack_dtor);

fn cache_usable(pages: usize) -> bool {
    pages == CACHED_PAGES && crate::lwkt::sched::try_curthread().is_some()
}

/// Allocates a stack of `pages` pages (plus its guard). `None` when memory or window runs out.
pub fn alloc(pages: usize) -> Option<KernelStack> {
    if cache_usable(pages) {
        return STACK_CACHE.get(Wait::NoWait);
    }
    alloc_window(pages)
}

/// Returns a stack for reuse. The caller guarantees nothing runs on it any more.
pub fn free(stack: KernelStack) {
    if cache_usable(stack.pages) {
        STACK_CACHE.put(stack);
    } else {
        free_window(stack);
    }
}

/// Largest stack the window hands out (thread stacks are 4 pages, IST stacks 4).
const MAX_STACK_PAGES: usize = 16;

fn alloc_window(pages: usize) -> Option<KernelStack> {
    let mut w = WINDOW.lock();
    // The most recently freed stack first: its pages are the likeliest to be cache-warm.
    if let Some(i) = w.free.iter().rposition(|s| s.pages == pages) {
        return Some(w.free.swap_remove(i));
    }
    let span = (pages as u64 + 1) * PAGE;
    if w.next + span > KSTACK_WINDOW + KSTACK_WINDOW_SIZE {
        return None;
    }
    // Every page first, so running out of memory half way gives them all back and leaves
    // the window untouched.
    let mut frames = [0u64; MAX_STACK_PAGES];
    if pages > MAX_STACK_PAGES {
        return None;
    }
    for i in 0..pages {
        match phys::alloc_zeroed() {
            Some(pa) => frames[i] = pa,
            None => {
                for &pa in &frames[..i] {
                    phys::free(pa);
                }
                return None;
            }
        }
    }
    let bottom = w.next + PAGE;
    for (i, &pa) in frames[..pages].iter().enumerate() {
        pmap::map_kernel_page(bottom + i as u64 * PAGE, pa, pte::WRITABLE | pte::NO_EXECUTE);
    }
    w.next += span;
    Some(KernelStack { bottom, pages })
}

fn free_window(stack: KernelStack) {
    WINDOW.lock().free.push(stack);
}

mod tests {
    use super::*;
    use crate::{kassert, ktest};

    ktest! {
        /// A stack is mapped and writable, its guard page is not, and a freed stack is reused.
        fn guarded_and_reused() {
            let s = alloc(4).ok_or("no stack")?;
            kassert!(pmap::lookup(s.guard_page()).is_none(), "guard mapped");
            for p in (s.bottom()..s.top()).step_by(PAGE_SIZE) {
                let e = pmap::lookup(p).ok_or("stack page unmapped")?;
                kassert!(e & pte::WRITABLE != 0 && e & pte::NO_EXECUTE != 0, "pte {:#x}", e);
                // SAFETY: the page is ours and mapped writable.
                unsafe { (p as *mut u64).write_volatile(p) };
            }
            let bottom = s.bottom();
            free(s);
            let t = alloc(4).ok_or("no stack")?;
            kassert!(t.bottom() == bottom, "freed stack not reused");
            free(t);
            Ok(())
        }
    }
}
