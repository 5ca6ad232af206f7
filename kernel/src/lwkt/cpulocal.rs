//! State owned by one CPU (rule 1: only the owner touches its run queue). No lock: the
//! owner reaches it inside a critical section, which defers every interrupt, IPI and timer
//! that could also reach it on this CPU.
use core::cell::UnsafeCell;

/// A value only its CPU may touch.
pub struct CpuLocal<T>(UnsafeCell<T>);

// SAFETY: access goes through `get`, whose contract confines it to the owning CPU inside a
// critical section, so there is never concurrent access.
unsafe impl<T: Send> Sync for CpuLocal<T> {}

impl<T> CpuLocal<T> {
    /// Wraps a value.
    pub const fn new(v: T) -> CpuLocal<T> {
        CpuLocal(UnsafeCell::new(v))
    }

    /// Mutable access.
    ///
    /// # Safety
    /// The caller runs on the owning CPU, in a critical section (or with interrupts off), and
    /// holds no other reference obtained from this cell.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self) -> &mut T {
        // SAFETY: exclusivity is the caller's contract.
        unsafe { &mut *self.0.get() }
    }
}
