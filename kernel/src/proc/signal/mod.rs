//! Signals (DragonFly's kern_sig.c, with Linux's x86-64 signal frame from the Linux
//! sysentvec): posting a signal to a process, default actions, and delivery on the way back
//! to user mode by building an `rt_sigframe` on the user stack; `rt_sigreturn` undoes it.
//!
//! A process has one thread for now, so signals are pending per process; a thread in an
//! interruptible sleep (PCATCH) wakes to see a new one. `frame` builds and undoes the
//! handler frame; `info` is what a signal carries.
pub mod frame;
pub mod info;

pub use frame::sigreturn;
pub use info::*;

use super::exit::kill_process;
use super::{Lwp, Proc, SigAction, NSIG};
use crate::arch::x86_64::trap::TrapFrame;
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
pub const SIGSTOP: u32 = 19;

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
    /// Stop the process (job control; not there yet, so it is logged and ignored).
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

/// Pending signals of a process and what each carries.
pub struct SigState {
    /// Bit `sig - 1` set: pending.
    pub pending: u64,
    /// The siginfo of each pending signal (standard signals do not queue: the first wins).
    pub info: [SigInfo; NSIG],
}

impl SigState {
    /// Nothing pending.
    pub const fn new() -> SigState {
        SigState { pending: 0, info: [SigInfo::code(0); NSIG] }
    }
}

fn ignored(act: &SigAction, sig: u32) -> bool {
    act.handler == SIG_IGN || act.handler == SIG_DFL && default_action(sig) == Default::Ignore
}

/// Makes `sig` pending for `p` with `info`. A signal the process ignores is discarded at once
/// (as Linux does), unless blocked: it may be unignored before it is unblocked.
pub fn post(p: &Proc, sig: u32, info: SigInfo) {
    if sig == 0 || sig as usize > NSIG || p.zombie.lock().is_some() {
        return;
    }
    let act = p.sigacts.lock()[sig as usize - 1];
    let blocked = p.blocked.load(Ordering::Relaxed) & bit(sig) != 0;
    if ignored(&act, sig) && !blocked {
        return;
    }
    {
        let mut st = p.sig.lock();
        if st.pending & bit(sig) == 0 {
            st.pending |= bit(sig);
            st.info[sig as usize - 1] = info;
        }
    }
    // A thread in an interruptible sleep wakes to see it.
    if let Some(td) = p.lwp_thread() {
        crate::lwkt::sleep::interrupt_sleep(&td);
    }
}

/// Posts `sig` to every live process in group `pgid` (the terminal's ^C and the like).
pub fn post_group(pgid: u32, sig: u32) {
    for p in super::tree::all() {
        if p.pgid.load(Ordering::Relaxed) == pgid {
            post(&p, sig, SigInfo { code: SI_KERNEL, ..SigInfo::default() });
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
    p.blocked.store(lwp.sigmask.load(Ordering::Relaxed), Ordering::Relaxed);
    let mut st = p.sig.lock();
    st.pending |= bit(sig);
    st.info[sig as usize - 1] = info;
}

/// Takes the next deliverable signal: SIGKILL first, then the lowest-numbered unblocked one.
fn take_next(lwp: &Lwp) -> Option<(u32, SigInfo)> {
    let mut st = lwp.proc.sig.lock();
    let ready = st.pending & !(lwp.sigmask.load(Ordering::Relaxed) & !UNBLOCKABLE);
    if ready == 0 {
        return None;
    }
    let sig = if ready & bit(SIGKILL) != 0 { SIGKILL } else { ready.trailing_zeros() + 1 };
    st.pending &= !bit(sig);
    Some((sig, st.info[sig as usize - 1]))
}

/// Whether a signal is waiting that the thread does not block.
pub fn deliverable(lwp: &Lwp) -> bool {
    lwp.proc.sig.lock().pending & !(lwp.sigmask.load(Ordering::Relaxed) & !UNBLOCKABLE) != 0
}

/// On the way back to user mode: acts on pending signals. Default actions that end the
/// process end it here; a caught signal rewrites `frame` to enter its handler (the return is
/// then by IRET). Called with interrupts enabled, on the thread's own kernel stack.
pub fn deliver(lwp: &Lwp, frame: &mut TrapFrame) {
    deliver_after(lwp, frame, None)
}

/// [`deliver`] after a system call a signal interrupted (`restart`: its number). Linux's
/// ERESTARTSYS rule: the call runs again (the frame goes back to the SYSCALL instruction
/// with the number in rax) when no handler runs, or the handler has SA_RESTART; otherwise
/// it fails with EINTR.
pub fn deliver_after(lwp: &Lwp, frame: &mut TrapFrame, restart: Option<u64>) {
    const SYSCALL_LEN: u64 = 2;
    let rewind = |frame: &mut TrapFrame| {
        if let Some(nr) = restart {
            frame.rax = nr;
            frame.rip -= SYSCALL_LEN;
        }
    };
    while let Some((sig, info)) = take_next(lwp) {
        let act = lwp.proc.sigacts.lock()[sig as usize - 1];
        match act.handler {
            SIG_IGN if sig != SIGKILL => continue,
            SIG_DFL | SIG_IGN => match default_action(sig) {
                Default::Ignore | Default::Continue => continue,
                Default::Stop => {
                    log::info!(
                        "signal: pid {}: stop signal {} ignored (no job control yet)",
                        lwp.proc.pid,
                        sig
                    );
                    continue;
                }
                Default::Terminate | Default::Core => kill_process(lwp, sig as i32),
            },
            _ => {
                if act.flags & SA_RESTART != 0 {
                    rewind(frame);
                }
                // The frame restores the mask from before a temporary one, if a call set one.
                let old = lwp.saved_sigmask.lock().take().unwrap_or(lwp.sigmask.load(Ordering::Relaxed));
                if build_frame(frame, sig, &info, &act, old).is_err() {
                    // No room for the frame: Linux's force_sigsegv.
                    kill_process(lwp, SIGSEGV as i32);
                }
                if act.flags & SA_RESETHAND != 0 {
                    lwp.proc.sigacts.lock()[sig as usize - 1] = SigAction::default();
                }
                let mut mask = lwp.sigmask.load(Ordering::Relaxed) | act.mask;
                if act.flags & SA_NODEFER == 0 {
                    mask |= bit(sig);
                }
                set_mask(lwp, mask);
                // One handler per return: the next pending signal goes at its sigreturn.
                return;
            }
        }
    }
    // No handler ran: the call goes on as if nothing happened.
    rewind(frame);
}

/// Blocks `mask` for the length of a call (ppoll, pselect6, epoll_pwait), remembering the
/// mask it replaces; [`restore_saved_mask`] or a handler's frame puts that back.
pub fn set_temporary_mask(lwp: &Lwp, mask: u64) {
    *lwp.saved_sigmask.lock() = Some(lwp.sigmask.load(Ordering::Relaxed));
    set_mask(lwp, mask);
}

/// Puts back the mask [`set_temporary_mask`] replaced, if no handler frame took it (the
/// call returned without EINTR, or on the way out after signals were acted on).
pub fn restore_saved_mask(lwp: &Lwp) {
    let saved = lwp.saved_sigmask.lock().take();
    if let Some(m) = saved {
        set_mask(lwp, m);
    }
}

/// Sets the thread's blocked mask (SIGKILL and SIGSTOP never blocked).
pub fn set_mask(lwp: &Lwp, mask: u64) {
    let m = mask & !UNBLOCKABLE;
    lwp.sigmask.store(m, Ordering::Relaxed);
    lwp.proc.blocked.store(m, Ordering::Relaxed);
}
