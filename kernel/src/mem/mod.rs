//! Kernel memory (DragonFly's vm_page allocation, kern_kmalloc, kern_slaballoc,
//! kern_objcache and kern_mpipe): page structures and the page allocator with per-CPU page
//! caches, malloc types, the slab allocator behind kmalloc and the global allocator,
//! fallible containers, objcache and mpipe, and kernel stacks.
mod bench;
pub mod fallible;
pub mod kmalloc;
pub mod kstack;
pub mod malloc_type;
pub mod mpipe;
pub mod objcache;
pub mod page;
pub mod pagecache;
pub mod phys;
pub mod slab;
mod tests;

pub use kmalloc::report;

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;
