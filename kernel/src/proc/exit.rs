//! Process exit (DragonFly's kern_exit.c). With one process so far, PID 1's exit ends the
//! machine with its status; waiting parents, zombies and reparenting come with fork.
use super::Lwp;
use alloc::sync::Arc;

/// Ends the process `lwp` belongs to with `status`. Never returns.
pub fn exit_process(lwp: &Arc<Lwp>, status: i32) -> ! {
    lwp.proc.fd.close_all();
    if lwp.proc.pid == 1 {
        super::init::exited(status);
    }
    crate::kprintln!("proc: pid {} exited with status {} (no parent to reap it yet)", lwp.proc.pid, status);
    crate::lwkt::sched::curthread().set_user(None);
    crate::lwkt::sched::exit()
}

/// Ends the process after a fatal signal (the default action of SIGSEGV and the like).
pub fn kill_process(lwp: &Arc<Lwp>, sig: i32) -> ! {
    lwp.proc.fd.close_all();
    if lwp.proc.pid == 1 {
        super::init::killed(sig);
    }
    crate::kprintln!("proc: pid {} killed by signal {}", lwp.proc.pid, sig);
    crate::lwkt::sched::curthread().set_user(None);
    crate::lwkt::sched::exit()
}
