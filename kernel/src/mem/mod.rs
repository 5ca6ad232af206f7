//! Kernel memory (DragonFly's vm_page allocation, kern_kmalloc, kern_slaballoc,
//! kern_objcache and kern_mpipe): page structures and the page allocator with per-CPU page
//! caches, then the early heap.
pub mod heap;
pub mod kstack;
pub mod page;
pub mod pagecache;
pub mod phys;

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;
