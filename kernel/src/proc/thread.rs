//! Threads of one process (DragonFly's lwp_create and lwp_exit, with Linux's thread-group
//! rules): clone(CLONE_THREAD) adds an lwp that shares everything the process holds, each
//! thread ends on its own (storing 0 at its clear_child_tid and waking a futex there, then
//! releasing robust futexes), and the last one out ends the process. exit_group, a fatal
//! signal and exec make every other thread leave first.
use super::{futex, tree, Lwp, Proc};
use crate::arch::x86_64::trap::TrapFrame;
use crate::lwkt::sched;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PINTERLOCKED};
use crate::lwkt::thread::pri;
use abi::errno::*;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// What a new thread starts with besides the caller's registers.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadOptions {
    /// Its stack pointer (clone's `stack`).
    pub stack: Option<u64>,
    /// Its FS base (CLONE_SETTLS).
    pub tls: Option<u64>,
    /// Store the new tid here (CLONE_PARENT_SETTID; the memory is shared, so also
    /// CLONE_CHILD_SETTID's).
    pub settid: [Option<u64>; 2],
    /// CLONE_CHILD_CLEARTID.
    pub cleartid: Option<u64>,
}

/// clone(CLONE_THREAD | CLONE_VM | CLONE_SIGHAND ...): a new thread of the caller's process
/// that resumes from `frame` with rax = 0. Returns its tid.
pub fn create(lwp: &Arc<Lwp>, frame: &TrapFrame, opt: ThreadOptions) -> Result<u32, i32> {
    let td = sched::curthread();
    let me = td.user().ok_or(EINVAL)?;
    let p = &lwp.proc;
    let new = tree::insert_thread(lwp, lwp.sigmask.load(Ordering::Relaxed))?;
    let tid = new.tid();
    let undo = |new: &Arc<Lwp>| {
        p.lwps.lock().retain(|l| !Arc::ptr_eq(l, new));
        tree::remove_thread(new.tid());
    };
    new.cpumask.store(lwp.cpumask.load(Ordering::Relaxed), Ordering::Relaxed);
    // The niceness is the process's, so reset-on-fork leaves it alone for a thread.
    new.sched.set(lwp.sched.get().inherited());
    if let Some(a) = opt.cleartid {
        new.clear_child_tid.store(a, Ordering::Relaxed);
    }
    for a in opt.settid.into_iter().flatten() {
        if crate::arch::x86_64::copyio::copyout(a, &tid.to_ne_bytes()).is_err() {
            undo(&new);
            return Err(EFAULT);
        }
    }
    let Some(md) = me.fork_child(new.clone(), me.vmspace()) else {
        undo(&new);
        return Err(ENOMEM);
    };
    let cframe = super::fork::child_frame(&md, frame, opt.stack, opt.tls);
    let md = Box::new(md);
    crate::sched::forking(lwp, &new);
    let cpu = crate::sched::place_new(new.cpumask.load(Ordering::Relaxed));
    // In the kernel until its first return to user mode, where it takes a user slot.
    if sched::create("thread", pri::KERN_USER, cpu, move || super::fork::child_start(md, cframe)).is_none() {
        undo(&new);
        return Err(EAGAIN);
    }
    Ok(tid)
}

/// Makes every thread of `p` but `me` leave at its next return to user mode or
/// interruptible sleep.
fn stop_others(p: &Proc, me: &Lwp) {
    // Flagged under the list's lock: a thread being created now either is in the list and
    // flagged, or its creator sees its own flag and gives up (see `tree::insert_thread`).
    let others: alloc::vec::Vec<Arc<Lwp>> = {
        let l = p.lwps.lock();
        l.iter()
            .filter(|t| !core::ptr::eq(&***t, me) && !t.exiting.swap(true, Ordering::AcqRel))
            .cloned()
            .collect()
    };
    for l in others {
        if let Some(td) = l.thread.lock().clone() {
            crate::lwkt::sleep::signotify(&td);
        }
    }
    // Stopped threads wait without PCATCH: they look at their flag when woken.
    wakeup(ident_of(&p.stopped));
}

/// exit_group, or a fatal signal: the process ends with wait status `wstatus` once every
/// thread has left. Never returns.
pub fn exit_group(lwp: &Lwp, wstatus: i32) -> ! {
    let p = &lwp.proc;
    if !p.group_exit.swap(true, Ordering::AcqRel) {
        *p.exit_status.lock() = Some(wstatus);
        if p.pid == 1 {
            // PID 1's end ends the machine: nothing else needs to run down.
            super::exit::init_ended(lwp, wstatus);
        }
    }
    stop_others(p, lwp);
    exit_thread(lwp, wstatus)
}

/// The calling thread ends (exit, or made to leave). `wstatus` is what the process ends
/// with if this is its last thread and nothing set the status before. Never returns.
pub fn exit_thread(lwp: &Lwp, wstatus: i32) -> ! {
    let p = &lwp.proc;
    release_user_words(lwp);
    let last = {
        let mut l = p.lwps.lock();
        l.retain(|t| !core::ptr::eq(&**t, lwp));
        let mut s = p.exit_status.lock();
        // The first thread's own exit code is the process's unless exit_group says other.
        if s.is_none() && (l.is_empty() || lwp.tid() == p.pid) {
            *s = Some(wstatus);
        }
        l.is_empty()
    };
    // No longer among the live threads: its times move to the process's totals.
    super::rusage::thread_exited(p, sched::curthread());
    if lwp.tid() != p.pid {
        tree::remove_thread(lwp.tid());
    }
    // An exec waiting for the others to go; signals for the process that were meant for
    // this thread.
    wakeup(ident_of(&p.lwps));
    if !last {
        super::signal::retarget(p, lwp);
    }
    if last {
        let status = p.exit_status.lock().unwrap_or(wstatus);
        super::exit::finish(lwp, status)
    }
    super::exit::end_thread(lwp)
}

/// The thread is going (exit, or exec replacing its memory): Linux's mm_release. Stores 0
/// at clear_child_tid and wakes one waiter there; marks robust futexes it holds as dead.
pub fn release_user_words(lwp: &Lwp) {
    futex::exit_robust_list(lwp);
    let at = lwp.clear_child_tid.swap(0, Ordering::Relaxed);
    if at != 0 && crate::arch::x86_64::copyio::copyout(at, &0u32.to_ne_bytes()).is_ok() {
        let _ = futex::wake_addr(at, 1);
    }
}

/// exec from a multi-threaded process (Linux's de_thread): every other thread leaves, and
/// the caller takes the pid as its tid. EINTR when the caller is itself made to exit or
/// a signal arrives while waiting.
pub fn become_single(lwp: &Lwp) -> Result<(), i32> {
    let p = &lwp.proc;
    if p.lwps.lock().len() > 1 {
        stop_others(p, lwp);
        let chan = ident_of(&p.lwps);
        loop {
            tsleep_interlock(chan);
            if p.lwps.lock().len() <= 1 {
                crate::lwkt::sleep::tsleep_cancel();
                break;
            }
            if lwp.exiting.load(Ordering::Acquire) {
                crate::lwkt::sleep::tsleep_cancel();
                return Err(EINTR);
            }
            // Not PCATCH (a pending signal would end every sleep at once and this would
            // spin); a tick bounds the wait for this thread being made to exit itself.
            let _ = tsleep(chan, PINTERLOCKED, "exec", 1);
        }
    }
    // The old threads' exits said nothing about how the new image ends.
    *p.exit_status.lock() = None;
    if lwp.tid() != p.pid {
        tree::remove_thread(lwp.tid());
        lwp.set_tid(p.pid);
    }
    Ok(())
}
