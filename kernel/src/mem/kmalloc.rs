//! kmalloc and kfree (DragonFly's kern_slaballoc.c entry points) and the kernel's
//! `#[global_allocator]`.
//!
//! Requests up to [`ZONE_LIMIT`] with an alignment of at most a page go to the calling CPU's
//! slab zones; larger ones (and alignments above a page) take whole pages straight from the
//! page allocator, contiguous and reached through the direct map, with the page count kept in
//! the first page's `kmem` word. Both paths run in a critical section and never sleep, so
//! interrupt handlers may allocate. Every allocation is charged to a [`MallocType`]; the
//! global allocator (Box, Vec, Arc...) charges [`M_KMALLOC`].
//!
//! Failure: the global allocator returns null (Rust's `handle_alloc_error` then panics: that
//! path is for code that cannot fail); `kmalloc` returns null only with [`M_NULLOK`] (or
//! [`M_NOWAIT`]) and panics otherwise; code that must survive failure uses
//! [`super::fallible`].
use super::malloc_type::{MallocType, M_KMALLOC};
use super::page::pg;
use super::slab::{self, ZONE_LIMIT};
use super::{phys, PAGE_SIZE};
use crate::lwkt::crit::crit;
use crate::lwkt::globaldata::mycpu;
use abi::boot::DIRECT_MAP_BASE;
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// May wait for memory (there is nothing to wait for yet: failure panics unless `M_NULLOK`).
pub const M_WAITOK: u32 = 0x0001;
/// Return null instead of panicking on failure.
pub const M_NULLOK: u32 = 0x0400;
/// Never block; return null on failure.
pub const M_NOWAIT: u32 = 0x0002 | M_NULLOK;
/// Zero the memory.
pub const M_ZERO: u32 = 0x0100;

const PAGE: u64 = PAGE_SIZE as u64;

/// When set, [`report`] counts instead of panicking (tests of the checks only).
static TRAP_REPORTS: AtomicBool = AtomicBool::new(false);
static REPORTS: AtomicU64 = AtomicU64::new(0);

/// A misuse the allocator caught (double free, bad pointer, overwritten poison). A kernel
/// bug: it panics, unless a test asked for reports to be counted.
pub fn report(what: &str, p: usize) {
    if TRAP_REPORTS.load(Ordering::Acquire) {
        REPORTS.fetch_add(1, Ordering::AcqRel);
        return;
    }
    panic!("kmalloc: {} at {:#x}", what, p);
}

/// Counts reports instead of panicking while `on` (tests), returning the count so far.
pub fn trap_reports(on: bool) -> u64 {
    TRAP_REPORTS.store(on, Ordering::Release);
    REPORTS.load(Ordering::Acquire)
}

/// Allocates `size` bytes charged to `mtype`. Null only with `M_NULLOK`/`M_NOWAIT`.
pub fn kmalloc(size: usize, mtype: &'static MallocType, flags: u32) -> *mut u8 {
    kmalloc_aligned(size, 8, mtype, flags)
}

/// Allocates `size` bytes aligned to `align` (a power of two) charged to `mtype`.
pub fn kmalloc_aligned(size: usize, align: usize, mtype: &'static MallocType, flags: u32) -> *mut u8 {
    let p = try_alloc(size, align.max(1), mtype);
    if p.is_null() {
        if flags & M_NULLOK == 0 {
            panic!("kmalloc: out of memory ({} bytes, type {})", size, mtype.name);
        }
        return p;
    }
    if flags & M_ZERO != 0 {
        // SAFETY: p is a fresh allocation of at least `size` bytes.
        unsafe { core::ptr::write_bytes(p, 0, size) };
    }
    p
}

fn try_alloc(size: usize, align: usize, mtype: &'static MallocType) -> *mut u8 {
    debug_assert!(align.is_power_of_two());
    let size = if align > 8 { size.max(align).next_multiple_of(align) } else { size.max(1) };
    if size <= ZONE_LIMIT && align <= PAGE_SIZE {
        let (zi, chunk) = slab::size_class(size);
        if mtype.over_limit(chunk) {
            return core::ptr::null_mut();
        }
        let _c = crit();
        let cpu = mycpu().cpuid;
        // SAFETY: on our CPU, in a critical section.
        let p = unsafe { slab::alloc(cpu, zi, chunk) };
        if !p.is_null() {
            mtype.account_alloc(cpu, chunk);
        }
        p
    } else {
        alloc_large(size, align, mtype)
    }
}

/// A large block: whole contiguous pages. Alignments above a page come from the buddy
/// allocator's natural alignment (a run starts at a multiple of its size rounded up to a
/// power of two), so the page count is raised to the alignment.
fn alloc_large(size: usize, align: usize, mtype: &'static MallocType) -> *mut u8 {
    let Some(bytes) = size.checked_next_multiple_of(PAGE_SIZE) else { return core::ptr::null_mut() };
    let npages = (bytes / PAGE_SIZE).max(align / PAGE_SIZE);
    if mtype.over_limit(npages * PAGE_SIZE) {
        return core::ptr::null_mut();
    }
    let pa = if npages == 1 { phys::alloc() } else { phys::alloc_contiguous(npages) };
    let Some(pa) = pa else { return core::ptr::null_mut() };
    if let Some(p) = phys::page_of(pa) {
        p.kmem.store(npages as u64, Ordering::Relaxed);
        p.set(pg::LARGE);
    }
    let _c = crit();
    mtype.account_alloc(mycpu().cpuid, npages * PAGE_SIZE);
    (DIRECT_MAP_BASE + pa) as *mut u8
}

/// Frees memory from [`kmalloc`] charged to `mtype`. Null is ignored. A double free or a
/// pointer kmalloc never returned is reported (a panic).
///
/// # Safety
/// `p` came from kmalloc with the same `mtype` and is not used afterwards.
pub unsafe fn kfree(p: *mut u8, mtype: &'static MallocType) {
    if p.is_null() {
        return;
    }
    let va = p as u64;
    let Some(page) = phys::page_of_kva(va) else {
        report("kfree of a pointer outside the direct map", va as usize);
        return;
    };
    if page.has(pg::SLAB) {
        let Some(z) = slab::zone_of(va as usize) else {
            report("kfree into a zone that is not live", va as usize);
            return;
        };
        let _c = crit();
        let cpu = mycpu().cpuid;
        // SAFETY: on our CPU in a critical section; z is p's zone.
        if let Some(chunk) = unsafe { slab::free(cpu, z, p) } {
            mtype.account_free(cpu, chunk);
        }
    } else if va.is_multiple_of(PAGE) && page.flags.fetch_and(!pg::LARGE, Ordering::AcqRel) & pg::LARGE != 0 {
        let npages = page.kmem.swap(0, Ordering::Relaxed);
        let pa = va - DIRECT_MAP_BASE;
        for i in 0..npages {
            phys::free(pa + i * PAGE);
        }
        let _c = crit();
        mtype.account_free(mycpu().cpuid, npages as usize * PAGE_SIZE);
    } else {
        report("kfree of a pointer kmalloc did not return (or a double free)", va as usize);
    }
}

/// Bytes actually reserved for an allocation at `p` (its chunk or page-run size).
pub fn usable_size(p: *const u8) -> Option<usize> {
    let va = p as u64;
    let page = phys::page_of_kva(va)?;
    if page.has(pg::SLAB) {
        slab::zone_of(va as usize).map(|z| z.chunk())
    } else if page.has(pg::LARGE) {
        Some(page.kmem.load(Ordering::Relaxed) as usize * PAGE_SIZE)
    } else {
        None
    }
}

/// Gives completely free zones and this CPU's page cache back to the global page lists
/// (on this CPU only; see `mem::reclaim_all`).
pub fn reclaim_local() {
    let _c = crit();
    // SAFETY: on our CPU, in a critical section.
    unsafe { slab::reclaim(mycpu().cpuid) };
    super::pagecache::drain_local();
}

/// The kernel's global allocator: kmalloc charged to [`M_KMALLOC`].
struct Kmalloc;

// SAFETY: kmalloc returns blocks of at least the requested size and alignment (size classes
// and page runs, see try_alloc), distinct until freed; dealloc passes them back to kfree.
unsafe impl GlobalAlloc for Kmalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        kmalloc_aligned(layout.size(), layout.align(), &M_KMALLOC, M_NULLOK)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        kmalloc_aligned(layout.size(), layout.align(), &M_KMALLOC, M_NULLOK | M_ZERO)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: the caller upholds GlobalAlloc::dealloc's contract: ptr came from alloc.
        unsafe { kfree(ptr, &M_KMALLOC) };
    }
}

#[global_allocator]
static KMALLOC: Kmalloc = Kmalloc;
