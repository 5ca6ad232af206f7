//! Out of memory in a page fault (Linux's OOM killer, reduced to its verdict): the process
//! whose fault found no page is the one killed, with SIGKILL and a log line naming it, and
//! everything else goes on. The kernel keeps a reserve of pages that user faults cannot
//! take (`mem::phys::at_kernel_reserve`), so the kernel itself still has memory to end it.
use super::Lwp;

/// Logs the kill of `lwp`'s process for lack of memory (the caller raises the SIGKILL).
pub fn report_kill(lwp: &Lwp) {
    let p = &lwp.proc;
    let comm = p.comm.lock().clone();
    let (free, total) = crate::mem::phys::counts();
    log::error!(
        "Out of memory: Killed process {} ({}); {} of {} pages free",
        p.pid,
        core::str::from_utf8(&comm).unwrap_or("?"),
        free,
        total
    );
}
