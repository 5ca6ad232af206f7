//! The page structure (DragonFly's `struct vm_page`): one per page frame of RAM, in an array
//! indexed by page frame number that [`super::phys::init`] carves out of the memory map.
//!
//! Every field is an atomic so a `&'static VmPage` can be shared freely; who may change which
//! field is a rule, written on each field: the free-list fields only under the free-list
//! lock, the kmem word only by whoever owns the allocation, the VM fields by the VM layer
//! under its own serialization (object token).
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// `VmPage::flags` bits.
pub mod pg {
    /// Usable RAM (set once at boot; frames without it are holes or reserved).
    pub const RAM: u32 = 1 << 0;
    /// Head of a free block on a global free list; `order` gives its size.
    pub const FREE: u32 = 1 << 1;
    /// Free, sitting in a CPU's page cache.
    pub const CACHED: u32 = 1 << 2;
    /// Handed out by the page allocator (cleared when freed: a second free is caught).
    pub const ALLOCATED: u32 = 1 << 3;
    /// Part of a slab zone (`kmem` holds the zone header's address).
    pub const SLAB: u32 = 1 << 4;
    /// First page of a large kmalloc block (`kmem` holds its page count).
    pub const LARGE: u32 = 1 << 5;
}

/// "No page" in the free-list links.
pub const NO_PFN: u32 = u32::MAX;

/// One physical page.
#[repr(C)]
pub struct VmPage {
    /// [`pg`] bits.
    pub flags: AtomicU32,
    /// Buddy order of a free block (valid with `pg::FREE`). Free-list lock only.
    pub order: AtomicU32,
    /// Free-list links (page frame numbers, [`NO_PFN`] for none). Free-list lock only.
    pub next: AtomicU32,
    /// See `next`.
    pub prev: AtomicU32,
    /// Wire count: > 0 keeps the page resident. Kernel pages come out of the allocator wired.
    pub wire_count: AtomicU32,
    /// Hold count for the VM layer (busy/hold references that are not wirings).
    pub hold_count: AtomicU32,
    /// The VM object that owns the page (opaque to this layer; 0 for none).
    pub object: AtomicUsize,
    /// The page's index inside `object`.
    pub pindex: AtomicU64,
    /// kmalloc's word: the zone header of a slab page, the page count of a large block.
    pub kmem: AtomicU64,
}

const _: () = assert!(core::mem::size_of::<VmPage>() == 48);

/// Pages wired (wire count above zero), for the page counts.
pub(super) static WIRED: AtomicU64 = AtomicU64::new(0);

impl VmPage {
    /// An all-zero entry (a hole until `init` marks it RAM).
    pub const fn new() -> VmPage {
        VmPage {
            flags: AtomicU32::new(0),
            order: AtomicU32::new(0),
            next: AtomicU32::new(NO_PFN),
            prev: AtomicU32::new(NO_PFN),
            wire_count: AtomicU32::new(0),
            hold_count: AtomicU32::new(0),
            object: AtomicUsize::new(0),
            pindex: AtomicU64::new(0),
            kmem: AtomicU64::new(0),
        }
    }

    /// True when all of `bits` are set.
    #[inline]
    pub fn has(&self, bits: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & bits == bits
    }

    /// Sets `bits`.
    #[inline]
    pub fn set(&self, bits: u32) {
        self.flags.fetch_or(bits, Ordering::Relaxed);
    }

    /// Clears `bits`.
    #[inline]
    pub fn clear(&self, bits: u32) {
        self.flags.fetch_and(!bits, Ordering::Relaxed);
    }

    /// Adds a wiring (vm_page_wire).
    pub fn wire(&self) {
        if self.wire_count.fetch_add(1, Ordering::AcqRel) == 0 {
            WIRED.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops a wiring (vm_page_unwire). Unwiring an unwired page is a kernel bug.
    pub fn unwire(&self) {
        let was = self.wire_count.fetch_sub(1, Ordering::AcqRel);
        assert!(was > 0, "unwire of an unwired page");
        if was == 1 {
            WIRED.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
