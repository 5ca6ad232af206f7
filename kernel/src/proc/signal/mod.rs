//! Signals (DragonFly's kern_sig.c, with Linux's x86-64 signal frame from the Linux
//! sysentvec): posting a signal to a process, default actions, and delivery on the way back
//! to user mode by building an `rt_sigframe` on the user stack; `rt_sigreturn` undoes it.
//!
//! A process has one thread for now, so signals are pending per process; a thread in an
//! interruptible sleep (PCATCH) wakes to see a new one. `frame` builds and undoes the
//! handler frame; `info` is what a signal carries.
pub mod altstack;
pub mod frame;
pub mod info;
pub mod pending;
pub mod watchers;

pub use frame::sigreturn;
pub use info::*;
pub use pending::Pending;

use super::exit::kill_process;
use super::restart::Restart;
use super::{Lwp, Proc, SigAction, NSIG};
use crate::arch::x86_64::trap::TrapFrame;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_cancel, tsleep_interlock, wakeup, PINTERLOCKED};
use core::sync::atomic::Ordering;
use frame::build_frame;

/// Signal numbers the kernel raises itself (Linux x86-64 numbering).
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGSEGV: u32 = 11;
pub const SIGPIPE: u32 = 13;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGXFSZ: u32 = 25;

const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);

/// The mask bit of `sig` (1-64).
pub const fn bit(sig: u32) -> u64 {
    1 << (sig - 1)
}

/// What a signal does when its disposition is SIG_DFL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Default {
    /// End the process.
    Terminate,
    /// End the process (Linux would also dump core where RLIMIT_CORE allows).
    Core,
    /// Nothing.
    Ignore,
    /// Stop the process (SIGTSTP, SIGTTIN and SIGTTOU not in an orphaned process group).
    Stop,
    /// Continue a stopped process.
    Continue,
}

/// Linux's default action for `sig`.
pub fn default_action(sig: u32) -> Default {
    match sig {
        3..=8 | 11 | 24 | 25 | 31 => Default::Core,
        17 | 23 | 28 => Default::Ignore,
        18 => Default::Continue,
        19..=22 => Default::Stop,
        _ => Default::Terminate,
    }
}

/// Whether `act` makes `sig` do nothing (SIG_IGN, or SIG_DFL for a signal ignored by
/// default).
pub fn ignored(act: &SigAction, sig: u32) -> bool {
    act.handler == SIG_IGN || act.handler == SIG_DFL && default_action(sig) == Default::Ignore
}

/// The stop signals, which SIGCONT cancels and which cancel it.
const STOP_SIGS: u64 = bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);

/// What posting `sig` does before it is queued (kern_sig.c's lwpsignal steps 3 and 4): a
/// stop signal cancels a pending SIGCONT; SIGCONT cancels pending stops and resumes a
/// stopped process (its parent hears CLD_CONTINUED); SIGKILL wakes a stopped one to die.
fn job_control(p: &Proc, sig: u32) {
    if STOP_SIGS & bit(sig) != 0 {
        p.sig.discard(bit(SIGCONT));
        for l in p.lwps() {
            l.sig.discard(bit(SIGCONT));
        }
    } else if sig == SIGCONT {
        p.sig.discard(STOP_SIGS);
        for l in p.lwps() {
            l.sig.discard(STOP_SIGS);
        }
        if p.stopped.swap(false, Ordering::AcqRel) {
            super::tree::report_to_parent(p, CLD_CONTINUED, SIGCONT as i32);
            wakeup(ident_of(&p.stopped));
        }
    }
}

/// Makes `sig` pending for the whole process `p` (kill) with `info`, and tells the thread
/// that will take it. A signal the process ignores is discarded at once (as Linux does),
/// unless blocked: it may be unignored before it is unblocked. EAGAIN when a real-time
/// signal finds the queue full.
pub fn post(p: &Proc, sig: u32, info: SigInfo) -> Result<(), i32> {
    if sig == 0 || sig as usize > NSIG || p.zombie.lock().is_some() {
        return Ok(());
    }
    job_control(p, sig);
    let target = p.lwp_for_signal(sig);
    let act = p.sigacts.lock()[sig as usize - 1];
    let blocked = target.as_ref().is_some_and(|l| l.blocks(sig));
    if ignored(&act, sig) && !blocked {
        return Ok(());
    }
    p.sig.add(sig, info)?;
    if sig == SIGKILL {
        // Pending first, then the wakeup: a stopped thread that wakes sees it.
        wakeup(ident_of(&p.stopped));
    }
    p.sigwatch.posted();
    // SIGKILL reaches every thread; others the one picked.
    let notify = if sig == SIGKILL { p.lwps() } else { target.into_iter().collect() };
    for l in notify {
        notify_lwp(&l);
    }
    Ok(())
}

/// Makes `sig` pending for thread `lwp` alone (tkill, tgkill, rt_tgsigqueueinfo).
pub fn post_lwp(lwp: &Lwp, sig: u32, info: SigInfo) -> Result<(), i32> {
    let p = &lwp.proc;
    if sig == 0 || sig as usize > NSIG || p.zombie.lock().is_some() {
        return Ok(());
    }
    job_control(p, sig);
    let act = p.sigacts.lock()[sig as usize - 1];
    if ignored(&act, sig) && !lwp.blocks(sig) {
        return Ok(());
    }
    lwp.sig.add(sig, info)?;
    if sig == SIGKILL {
        wakeup(ident_of(&p.stopped));
    }
    p.sigwatch.posted();
    notify_lwp(lwp);
    Ok(())
}

/// Process-wide pending signals that `from` no longer takes (it blocks them now, or it is
/// leaving) go to a thread that does not block them (Linux's retarget_shared_pending).
pub fn retarget(p: &Proc, from: &Lwp) {
    let shared = p.sig.bits();
    if shared == 0 {
        return;
    }
    for l in p.lwps() {
        if !core::ptr::eq(&*l, from) && shared & !l.sigmask.load(Ordering::Relaxed) != 0 {
            notify_lwp(&l);
        }
    }
}

/// Tells `lwp`'s thread something waits for it (a signal, an order to exit or stop).
pub fn notify_lwp(lwp: &Lwp) {
    if let Some(td) = lwp.thread.lock().clone() {
        crate::lwkt::sleep::signotify(&td);
    }
}

/// Posts `sig` to every live process in group `pgid` (the terminal's ^C and the like).
pub fn post_group(pgid: u32, sig: u32) {
    for p in super::tree::all() {
        if p.pgid.load(Ordering::Relaxed) == pgid {
            let _ = post(&p, sig, SigInfo { code: SI_KERNEL, ..SigInfo::default() });
        }
    }
}

/// A fault in user code raised `sig`: it is delivered now even if blocked or ignored (the
/// faulting instruction would only fault again), as Linux's force_sig_fault does.
pub fn force(lwp: &Lwp, sig: u32, info: SigInfo) {
    let p = &lwp.proc;
    {
        let mut acts = p.sigacts.lock();
        let a = &mut acts[sig as usize - 1];
        if a.handler == SIG_IGN || lwp.sigmask.load(Ordering::Relaxed) & bit(sig) != 0 {
            *a = SigAction::default();
        }
    }
    lwp.sigmask.fetch_and(!bit(sig), Ordering::Relaxed);
    lwp.sig.discard(bit(sig));
    let _ = lwp.sig.add(sig, info);
}

/// Takes a pending signal among `allowed`: SIGKILL first, then the lowest-numbered one,
/// the thread's own before the process's.
pub fn take(lwp: &Lwp, allowed: u64) -> Option<(u32, SigInfo)> {
    lwp.sig.take_among(allowed).or_else(|| lwp.proc.sig.take_among(allowed))
}

/// The signals pending for `lwp`: its own and its process's.
pub fn pending(lwp: &Lwp) -> u64 {
    lwp.sig.bits() | lwp.proc.sig.bits()
}

fn unblocked(lwp: &Lwp) -> u64 {
    !(lwp.sigmask.load(Ordering::Relaxed) & !UNBLOCKABLE)
}

/// Whether the thread must act before it returns to user mode: a signal waits that it does
/// not block, it is made to exit, or its process is stopped.
pub fn deliverable(lwp: &Lwp) -> bool {
    lwp.exiting.load(Ordering::Relaxed)
        || lwp.proc.stopped.load(Ordering::Relaxed)
        || pending(lwp) & unblocked(lwp) != 0
}

/// Whether a signal waits that ends an interruptible sleep (not a stop: a stopped thread
/// stops at its return to user mode).
pub fn interrupts_sleep(lwp: &Lwp) -> bool {
    lwp.exiting.load(Ordering::Relaxed) || pending(lwp) & unblocked(lwp) != 0
}

/// The process is stopped: the thread waits here, on its way back to user mode, until
/// SIGCONT, SIGKILL or an order to exit.
fn wait_while_stopped(lwp: &Lwp) {
    let p = &lwp.proc;
    let chan = ident_of(&p.stopped);
    loop {
        tsleep_interlock(chan);
        if !p.stopped.load(Ordering::Acquire)
            || lwp.exiting.load(Ordering::Relaxed)
            || pending(lwp) & bit(SIGKILL) != 0
        {
            tsleep_cancel();
            return;
        }
        let _ = tsleep(chan, PINTERLOCKED, "stopped", 0);
    }
}

/// A stop signal's default action: the whole process stops, its parent hears CLD_STOPPED,
/// and its other threads stop on their way back to user mode.
fn stop_process(lwp: &Lwp, sig: u32) {
    let p = &lwp.proc;
    if !p.stopped.swap(true, Ordering::AcqRel) {
        super::tree::report_to_parent(p, CLD_STOPPED, sig as i32);
        for l in p.lwps() {
            if !core::ptr::eq(&*l, lwp) {
                notify_lwp(&l);
            }
        }
    }
}

/// On the way back to user mode: acts on pending signals. Default actions that end the
/// process end it here; a caught signal rewrites `frame` to enter its handler (the return is
/// then by IRET). Called with interrupts enabled, on the thread's own kernel stack.
pub fn deliver(lwp: &Lwp, frame: &mut TrapFrame) {
    deliver_after(lwp, frame, None)
}

/// [`deliver`] after a system call a signal interrupted (`restart`: how it resumes).
/// Linux's ERESTARTSYS rule: the call runs again (the frame goes back to the SYSCALL
/// instruction with the number in rax) when no handler runs, or the handler has
/// SA_RESTART; otherwise it fails with EINTR. ERESTART_RESTARTBLOCK: restart_syscall runs
/// instead when no handler runs; any handler means EINTR.
pub fn deliver_after(lwp: &Lwp, frame: &mut TrapFrame, restart: Option<Restart>) {
    const SYSCALL_LEN: u64 = 2;
    let rewind = |frame: &mut TrapFrame| {
        let nr = match restart {
            Some(Restart::Call(nr) | Restart::NoHandler(nr)) => nr,
            Some(Restart::Block) => u64::from(abi::linux::syscalls::nr::restart_syscall),
            None => return,
        };
        frame.rax = nr;
        frame.rip -= SYSCALL_LEN;
    };
    loop {
        if lwp.exiting.load(Ordering::Acquire) {
            super::thread::exit_thread(lwp, 0);
        }
        // Stopped: wait for SIGCONT, unless SIGKILL is already here (taken next).
        if lwp.proc.stopped.load(Ordering::Acquire) && pending(lwp) & bit(SIGKILL) == 0 {
            wait_while_stopped(lwp);
            continue;
        }
        let Some((sig, mut info)) = take(lwp, unblocked(lwp)) else { break };
        super::timers::delivered(&lwp.proc, &mut info);
        let act = lwp.proc.sigacts.lock()[sig as usize - 1];
        match act.handler {
            SIG_IGN if sig != SIGKILL => continue,
            SIG_DFL | SIG_IGN => match default_action(sig) {
                Default::Ignore | Default::Continue => continue,
                // SIGTSTP, SIGTTIN and SIGTTOU do nothing to an orphaned group.
                Default::Stop
                    if sig != SIGSTOP
                        && super::tree::group_orphaned(lwp.proc.pgid.load(Ordering::Relaxed)) =>
                {
                    continue
                }
                Default::Stop => {
                    stop_process(lwp, sig);
                    continue;
                }
                Default::Terminate | Default::Core => kill_process(lwp, sig as i32),
            },
            _ => {
                if act.flags & SA_RESTART != 0 && matches!(restart, Some(Restart::Call(_))) {
                    rewind(frame);
                }
                // After a handler an interrupted sleep is not resumed (sigreturn's rule).
                *lwp.restart.lock() = None;
                // The mask the handler's sigreturn puts back: the one a sigsuspend-like call
                // replaced for its wait, else the current one.
                let restore = lwp.saved_mask.lock().take().unwrap_or(lwp.sigmask.load(Ordering::Relaxed));
                // A restartable sequence the handler interrupts resumes at its abort
                // handler; a bad rseq area is Linux's force_sigsegv.
                if super::rseq::on_signal(lwp, frame).is_err() {
                    kill_process(lwp, SIGSEGV as i32);
                }
                if build_frame(lwp, frame, sig, &info, &act, restore).is_err() {
                    // No room for the frame: Linux's force_sigsegv.
                    kill_process(lwp, SIGSEGV as i32);
                }
                if act.flags & SA_RESETHAND != 0 {
                    lwp.proc.sigacts.lock()[sig as usize - 1] = SigAction::default();
                }
                let mut mask = restore | act.mask;
                if act.flags & SA_NODEFER == 0 {
                    mask |= bit(sig);
                }
                set_mask(lwp, mask);
                // One handler per return: the next pending signal goes at its sigreturn.
                return;
            }
        }
    }
    // No handler ran: the call goes on as if nothing happened, under its old mask.
    if let Some(m) = lwp.saved_mask.lock().take() {
        set_mask(lwp, m);
    }
    rewind(frame);
}

/// Blocks `mask` for the length of a call (sigsuspend, ppoll, pselect6, epoll_pwait),
/// remembering the mask it replaces; [`restore_saved_mask`] or a handler's frame puts that
/// back, so a handler for a signal the old mask blocks does run.
pub fn set_temporary_mask(lwp: &Lwp, mask: u64) {
    *lwp.saved_mask.lock() = Some(lwp.sigmask.load(Ordering::Relaxed));
    set_mask(lwp, mask);
}

/// Puts back the mask [`set_temporary_mask`] replaced, if no handler frame took it (the
/// call returned without EINTR, or on the way out after signals were acted on).
pub fn restore_saved_mask(lwp: &Lwp) {
    let saved = lwp.saved_mask.lock().take();
    if let Some(m) = saved {
        set_mask(lwp, m);
    }
}

/// Sets the thread's blocked mask (SIGKILL and SIGSTOP never blocked).
pub fn set_mask(lwp: &Lwp, mask: u64) {
    lwp.sigmask.store(mask & !UNBLOCKABLE, Ordering::Relaxed);
}
