//! Statically allocated kernel stacks with a guard page below each.
//!
//! The kernel pmap leaves every guard page unmapped, so running off the bottom of a stack
//! faults at once instead of corrupting whatever lies below.
use crate::mem::PAGE_SIZE;
use core::cell::UnsafeCell;

/// A stack of `N` bytes preceded by one guard page; the whole object is page aligned.
#[repr(C, align(4096))]
pub struct GuardedStack<const N: usize> {
    guard: UnsafeCell<[u8; PAGE_SIZE]>,
    stack: UnsafeCell<[u8; N]>,
}

// SAFETY: Rust code never reads or writes the bytes through references; only the CPU uses
// them, through the stack pointer of the one context that owns the stack.
unsafe impl<const N: usize> Sync for GuardedStack<N> {}

impl<const N: usize> GuardedStack<N> {
    /// A zeroed stack (placed in .bss when used as a static).
    pub const fn new() -> Self {
        GuardedStack { guard: UnsafeCell::new([0; PAGE_SIZE]), stack: UnsafeCell::new([0; N]) }
    }

    /// Address of the guard page.
    pub fn guard_page(&self) -> u64 {
        self.guard.get() as u64
    }

    /// The lowest usable address.
    pub fn bottom(&self) -> u64 {
        self.stack.get() as u64
    }

    /// The highest address (exclusive): the initial stack pointer.
    pub fn top(&self) -> u64 {
        self.bottom() + N as u64
    }
}

/// Size of the boot stack, on which `kmain` and the in-kernel tests run.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;
/// Size of each IST stack (double fault, NMI, machine check).
pub const IST_STACK_SIZE: usize = 16 * 1024;
