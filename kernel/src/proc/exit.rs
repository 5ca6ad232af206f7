//! Process exit (DragonFly's kern_exit.c): when its last thread ends, the descriptors close,
//! the address space goes, the process becomes a zombie holding its wait status for its
//! parent (its children pass to PID 1), and the parent hears of it by its exit signal.
//! PID 1's end ends the machine with its status.
use super::Lwp;
use core::sync::atomic::Ordering;

/// Ends the process `lwp` belongs to with exit code `code` (0-255): exit_group. Never
/// returns.
pub fn exit_process(lwp: &Lwp, code: i32) -> ! {
    super::thread::exit_group(lwp, (code & 0xff) << 8)
}

/// Ends the process after a fatal signal (the default action of SIGSEGV and the like).
pub fn kill_process(lwp: &Lwp, sig: i32) -> ! {
    super::thread::exit_group(lwp, sig & 0x7f)
}

/// PID 1 ended with `wstatus`: report it and end the machine.
pub(super) fn init_ended(lwp: &Lwp, wstatus: i32) -> ! {
    lwp.proc.fd.close_all();
    if wstatus & 0x7f == 0 {
        super::init::exited(wstatus >> 8)
    }
    super::init::killed(wstatus & 0x7f)
}

/// The calling thread, not its process's last, is gone from the process: its kernel thread
/// ends too.
pub(super) fn end_thread(lwp: &Lwp) -> ! {
    let td = crate::lwkt::sched::curthread();
    // The thread's user state (and with it this lwp) is freed when the thread is reaped;
    // from here on it runs on the kernel's page tables only.
    if let Some(u) = td.user() {
        u.retire();
    }
    // Thread -> user state -> lwp -> thread: the cycle ends here.
    let me = lwp.thread.lock().take();
    drop(me);
    crate::lwkt::sched::exit()
}

/// The process's last thread has left: the process ends with `wstatus`.
pub(super) fn finish(lwp: &Lwp, wstatus: i32) -> ! {
    let p = &lwp.proc;
    if p.pid == 1 {
        init_ended(lwp, wstatus);
    }
    p.fd.close_all();
    // The address space goes now (vmspace_exit), not when the thread is reaped after the
    // switch away: what its mappings hold (pages, mapped files and through them their
    // mounts) is released before the parent can reap, as on Linux. Not while another
    // process still runs on it.
    let vs = p.vm.lock().upgrade();
    if let Some(vs) = vs.filter(|vs| !super::tree::vm_shared(p, vs)) {
        vs.unmap_all();
    }
    // No timer may fire for a process that is gone.
    super::timers::exit(p);
    super::fork::release_vfork_parent(p);
    // The parent hears of it by its exit signal (SIGCHLD, ignored unless caught). A parent
    // that ignores SIGCHLD, or set SA_NOCLDWAIT, leaves no zombie to reap: decided before
    // the zombie shows, so a parent's wait never reaps it (Linux's exit_notify).
    let sig = p.exit_signal.load(Ordering::Relaxed);
    let parent = super::tree::find(p.ppid.load(Ordering::Relaxed));
    let autoreap = parent.as_ref().is_some_and(|parent| {
        const SIG_IGN: u64 = 1;
        const SA_NOCLDWAIT: u64 = 2;
        let act = parent.sigacts.lock()[super::signal::SIGCHLD as usize - 1];
        sig == super::signal::SIGCHLD && (act.handler == SIG_IGN || act.flags & SA_NOCLDWAIT != 0)
    });
    super::tree::make_zombie(p, wstatus, autoreap);
    if let Some(parent) = parent.filter(|_| sig != 0) {
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
        let _ = super::signal::post(&parent, sig, info);
    }
    // Only now: a parent whose wait returns has its SIGCHLD pending (Linux's exit_notify).
    super::tree::wake_waiters();
    end_thread(lwp)
}
