//! Process exit (DragonFly's kern_exit.c): the descriptors close, the address space goes,
//! the process becomes a zombie holding its wait status for its parent (its children pass
//! to PID 1), and the thread ends. PID 1's end ends the machine with its status.
use super::Lwp;

/// Ends the process `lwp` belongs to with exit code `code` (0-255). Never returns.
pub fn exit_process(lwp: &Lwp, code: i32) -> ! {
    if lwp.proc.pid == 1 {
        lwp.proc.fd.close_all();
        super::init::exited(code);
    }
    finish(lwp, (code & 0xff) << 8)
}

/// Ends the process after a fatal signal (the default action of SIGSEGV and the like).
pub fn kill_process(lwp: &Lwp, sig: i32) -> ! {
    if lwp.proc.pid == 1 {
        lwp.proc.fd.close_all();
        super::init::killed(sig);
    }
    finish(lwp, sig & 0x7f)
}

fn finish(lwp: &Lwp, wstatus: i32) -> ! {
    let p = &lwp.proc;
    p.fd.close_all();
    // No timer may fire for a process that is gone.
    super::timers::exit(p);
    let td = crate::lwkt::sched::curthread();
    // The thread's user state (and with it this lwp) is freed when the thread is reaped;
    // from here on it runs on the kernel's page tables only.
    if let Some(u) = td.user() {
        u.retire();
    }
    // Thread -> user state -> lwp -> thread: the cycle ends here.
    let me = lwp.thread.lock().take();
    drop(me);
    // No longer among the live threads: its times move to the process's totals.
    super::rusage::thread_exited(p, td);
    super::fork::release_vfork_parent(p);
    super::tree::make_zombie(p, wstatus);
    // The parent hears of it by SIGCHLD (ignored unless it catches it).
    if let Some(parent) = super::tree::find(p.ppid.load(core::sync::atomic::Ordering::Relaxed)) {
        let (code, status) = if wstatus & 0x7f == 0 {
            (super::signal::CLD_EXITED, wstatus >> 8)
        } else {
            (super::signal::CLD_KILLED, wstatus & 0x7f)
        };
        let uid = p.cred.lock().uid;
        let used = super::rusage::process(p);
        let (utime, stime) = (super::rusage::clock_t(used.utime), super::rusage::clock_t(used.stime));
        let info =
            super::signal::SigInfo { code, pid: p.pid, uid, status, utime, stime, ..Default::default() };
        super::signal::post(&parent, super::signal::SIGCHLD, info);
    }
    crate::lwkt::sched::exit()
}
