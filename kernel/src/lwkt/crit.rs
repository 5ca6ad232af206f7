//! Critical sections (DragonFly's `crit_enter`/`crit_exit`): a per-thread count, no atomics
//! across CPUs, interrupts left enabled. While the count is non-zero an interrupt, IPI or
//! timer that arrives is only marked pending in `gd_reqflags`; the 1 -> 0 transition replays
//! it (`splz`).
use super::globaldata::mycpu;
use super::sched::try_curthread;
use core::marker::PhantomData;
use core::sync::atomic::{compiler_fence, Ordering};

/// Enters a critical section on the current thread.
#[inline]
pub fn crit_enter() {
    if let Some(td) = try_curthread() {
        td.critcount_ref().fetch_add(1, Ordering::Relaxed);
    }
    compiler_fence(Ordering::SeqCst);
}

/// Leaves a critical section; on the last exit, runs work deferred meanwhile.
#[inline]
pub fn crit_exit() {
    compiler_fence(Ordering::SeqCst);
    let Some(td) = try_curthread() else { return };
    let was = td.critcount_ref().fetch_sub(1, Ordering::Relaxed);
    debug_assert!(was > 0, "crit_exit without crit_enter");
    if was == 1 && mycpu().reqflags_pending() {
        super::splz::splz();
    }
}

/// Leaves a critical section without replaying deferred work (the switch code's exit, where
/// the caller replays it itself).
#[inline]
pub fn crit_exit_noyield() {
    compiler_fence(Ordering::SeqCst);
    if let Some(td) = try_curthread() {
        td.critcount_ref().fetch_sub(1, Ordering::Relaxed);
    }
}

/// True when the current thread is in a critical section.
pub fn in_crit() -> bool {
    try_curthread().is_some_and(|td| td.critcount() > 0)
}

/// A critical section that ends when the guard is dropped. Not `Send`: it belongs to the
/// thread (and CPU) that entered it.
pub struct CritSection(PhantomData<*const ()>);

/// Enters a critical section for the guard's lifetime.
pub fn crit() -> CritSection {
    crit_enter();
    CritSection(PhantomData)
}

impl Drop for CritSection {
    fn drop(&mut self) {
        crit_exit();
    }
}
