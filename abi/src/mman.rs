//! Linux x86_64 memory-mapping constants (`<sys/mman.h>`, `<linux/mman.h>`): the kernel's own
//! numbering for mmap, mprotect, mremap and madvise arguments (DESIGN rule 7).
#![allow(missing_docs)]

pub const PROT_NONE: u64 = 0;
pub const PROT_READ: u64 = 0x1;
pub const PROT_WRITE: u64 = 0x2;
pub const PROT_EXEC: u64 = 0x4;
/// Accepted and ignored by Linux (atomic operations work on all memory).
pub const PROT_SEM: u64 = 0x8;
/// mprotect only: extend the change down to the start of a grows-down mapping.
pub const PROT_GROWSDOWN: u64 = 0x0100_0000;
pub const PROT_GROWSUP: u64 = 0x0200_0000;

pub const MAP_SHARED: u64 = 0x01;
pub const MAP_PRIVATE: u64 = 0x02;
pub const MAP_SHARED_VALIDATE: u64 = 0x03;
pub const MAP_TYPE: u64 = 0x0f;
pub const MAP_FIXED: u64 = 0x10;
pub const MAP_ANONYMOUS: u64 = 0x20;
pub const MAP_32BIT: u64 = 0x40;
pub const MAP_GROWSDOWN: u64 = 0x0100;
pub const MAP_DENYWRITE: u64 = 0x0800;
pub const MAP_EXECUTABLE: u64 = 0x1000;
pub const MAP_LOCKED: u64 = 0x2000;
pub const MAP_NORESERVE: u64 = 0x4000;
pub const MAP_POPULATE: u64 = 0x8000;
pub const MAP_NONBLOCK: u64 = 0x1_0000;
pub const MAP_STACK: u64 = 0x2_0000;
pub const MAP_HUGETLB: u64 = 0x4_0000;
pub const MAP_SYNC: u64 = 0x8_0000;
pub const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
pub const MAP_UNINITIALIZED: u64 = 0x400_0000;
/// Bits 26..31 encode a huge page size with MAP_HUGETLB.
pub const MAP_HUGE_MASK: u64 = 0x3f << 26;

pub const MREMAP_MAYMOVE: u64 = 1;
pub const MREMAP_FIXED: u64 = 2;
pub const MREMAP_DONTUNMAP: u64 = 4;

pub const MADV_NORMAL: u64 = 0;
pub const MADV_RANDOM: u64 = 1;
pub const MADV_SEQUENTIAL: u64 = 2;
pub const MADV_WILLNEED: u64 = 3;
pub const MADV_DONTNEED: u64 = 4;
pub const MADV_FREE: u64 = 8;
pub const MADV_REMOVE: u64 = 9;
pub const MADV_DONTFORK: u64 = 10;
pub const MADV_DOFORK: u64 = 11;
pub const MADV_MERGEABLE: u64 = 12;
pub const MADV_UNMERGEABLE: u64 = 13;
pub const MADV_HUGEPAGE: u64 = 14;
pub const MADV_NOHUGEPAGE: u64 = 15;
pub const MADV_DONTDUMP: u64 = 16;
pub const MADV_DODUMP: u64 = 17;
pub const MADV_WIPEONFORK: u64 = 18;
pub const MADV_KEEPONFORK: u64 = 19;
pub const MADV_COLD: u64 = 20;
pub const MADV_PAGEOUT: u64 = 21;

/// siginfo si_code values for SIGSEGV.
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
/// SIGSEGV's Linux number.
pub const SIGSEGV: i32 = 11;
