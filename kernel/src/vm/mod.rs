//! The virtual memory system (DragonFly's sys/vm): address spaces for user programs.
//!
//! - [`VmSpace`] (vmspace.rs): one address space, a user pmap plus a [`map::VmMap`] behind a
//!   lockmgr lock (faults may sleep while holding it); activation per CPU; fork's copy.
//! - [`map`]: the sorted map entries (range, protection, max protection, inheritance, object
//!   and offset, grows-down/shared/needs-copy flags), with clipping and free-space search.
//! - [`object`]: VM objects (pages by index under a token): anonymous demand-zero objects,
//!   shadow objects for copy-on-write, and the pager hook the VFS will use for files.
//! - [`fault`]: the page fault handler, and the hook `trap.rs` calls for user page faults.
//! - [`mmap`]: the kernel side of mmap, munmap, mprotect, mremap, brk and madvise with Linux
//!   semantics and errno results; every argument is validated here, nothing panics on it.
//! - [`residency`]: mincore, mlock/munlock and msync.
//!
//! Page tables and the bytes of pages are the pmap's business (`arch::x86_64::pmap::user`,
//! `pmap::frame`); this module is safe Rust.
pub mod fault;
pub mod map;
pub mod mmap;
pub mod object;
pub mod residency;
mod tests;
mod usertests;
pub mod vmspace;

pub use fault::{fault, Access, FaultError};
pub use vmspace::VmSpace;

/// Bytes in a page.
pub const PAGE: u64 = 4096;

/// Lowest address a mapping may use (Linux's default `vm.mmap_min_addr`): page 0 and its
/// neighbours stay unmapped so null-pointer bugs fault.
pub const USER_MIN: u64 = 0x1_0000;
/// End of the user range: the last page below the canonical hole stays unmapped (see
/// `usermode::USER_END`).
pub const USER_MAX: u64 = crate::arch::x86_64::usermode::USER_END;

bitflags::bitflags! {
    /// Protection of a mapping (Linux PROT_* bits).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Prot: u8 {
        const READ = 1;
        const WRITE = 2;
        const EXEC = 4;
    }
}

impl Prot {
    /// The protection from mmap/mprotect `prot` bits, ignoring PROT_SEM; `None` for unknown
    /// bits (PROT_GROWSDOWN/UP are the caller's to strip first).
    pub fn from_linux(prot: u64) -> Option<Prot> {
        use abi::mman::*;
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return None;
        }
        Some(Prot::from_bits_truncate((prot & 7) as u8))
    }
}

/// Rounds `v` down to a page boundary.
pub const fn page_floor(v: u64) -> u64 {
    v & !(PAGE - 1)
}

/// Rounds `v` up to a page boundary; `None` on overflow.
pub const fn page_ceil(v: u64) -> Option<u64> {
    match v.checked_add(PAGE - 1) {
        Some(x) => Some(x & !(PAGE - 1)),
        None => None,
    }
}
