//! Points where a long kernel loop working for a process (mincore over a huge range, mlock
//! or MAP_POPULATE faulting in many pages) lets other threads run and stops when its
//! thread is being killed, as Linux's loops call cond_resched and check
//! fatal_signal_pending.
use super::signal::{bit, pending, SIGKILL};
use super::Lwp;
use abi::errno::EINTR;
use core::sync::atomic::Ordering;

/// Whether `lwp` is being killed: SIGKILL waits for it or it is made to exit. Its work in
/// the kernel is pointless then; it leaves at its return to user mode.
pub fn fatal_pending(lwp: &Lwp) -> bool {
    lwp.exiting.load(Ordering::Relaxed) || pending(lwp) & bit(SIGKILL) != 0
}

/// Gives the CPU to other runnable threads, then EINTR when the running thread is being
/// killed (the caller abandons its loop; the process never sees the error).
pub fn checkpoint() -> Result<(), i32> {
    crate::lwkt::sched::yield_now();
    match super::lwp::curlwp() {
        Some(l) if fatal_pending(l) => Err(EINTR),
        _ => Ok(()),
    }
}
