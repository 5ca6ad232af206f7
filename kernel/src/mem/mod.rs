//! Kernel memory (DragonFly's vm_page allocation and kern_kmalloc): physical pages and the
//! early heap. Slab kmalloc, objcache and mpipe replace the early heap in a later step.
pub mod heap;
pub mod kstack;
pub mod phys;

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;
