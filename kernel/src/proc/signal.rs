//! Signals (DragonFly's kern_sig.c, with Linux's x86-64 signal frame from the Linux
//! sysentvec): posting a signal to a process, default actions, and delivery on the way back
//! to user mode by building an `rt_sigframe` on the user stack; `rt_sigreturn` undoes it.
//!
//! A process has one thread for now, so signals are pending per process. A signal posted to
//! a process blocked in the kernel is seen when its call returns: sleeps are not interrupted
//! yet (EINTR comes with interruptible sleeps).
use super::exit::kill_process;
use super::usermd::FpuArea;
use super::{Lwp, Proc, SigAction, NSIG};
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::fpu;
use crate::arch::x86_64::trap::TrapFrame;
use crate::arch::x86_64::usermode::USER_END;
use core::sync::atomic::Ordering;

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
const SA_SIGINFO: u64 = 4;
const SA_RESTORER: u64 = 0x0400_0000;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTART: u64 = 0x1000_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESETHAND: u64 = 0x8000_0000;

/// si_code for a signal sent by kill.
pub const SI_USER: i32 = 0;
/// si_code for tkill/tgkill.
pub const SI_TKILL: i32 = -6;
/// si_code of SIGCHLD for a child that exited.
pub const CLD_EXITED: i32 = 1;
/// si_code of SIGCHLD for a child killed by a signal.
pub const CLD_KILLED: i32 = 2;

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

/// What goes in the siginfo of a pending signal.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigInfo {
    /// si_code.
    pub code: i32,
    /// Sender's pid (kill) or the child's pid (SIGCHLD).
    pub pid: u32,
    /// Sender's uid.
    pub uid: u32,
    /// Faulting address (SIGSEGV, SIGBUS, SIGILL, SIGFPE).
    pub addr: u64,
    /// The child's exit code or signal (SIGCHLD).
    pub status: i32,
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
        SigState { pending: 0, info: [SigInfo { code: 0, pid: 0, uid: 0, addr: 0, status: 0 }; NSIG] }
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
    const SI_KERNEL: i32 = 0x80;
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
                if build_frame(lwp, frame, sig, &info, &act).is_err() {
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

/// Sets the thread's blocked mask (SIGKILL and SIGSTOP never blocked).
pub fn set_mask(lwp: &Lwp, mask: u64) {
    let m = mask & !UNBLOCKABLE;
    lwp.sigmask.store(m, Ordering::Relaxed);
    lwp.proc.blocked.store(m, Ordering::Relaxed);
}

// Linux's x86-64 rt_sigframe: pretcode (8), ucontext (304: uc_flags, uc_link, stack_t (24),
// sigcontext (256), sigmask (8)), siginfo (128); the FPU image lies above, 64-aligned.
const UC_OFF: u64 = 8;
const UC_SIZE: u64 = 304;
const MCTX_OFF: u64 = 40;
const SIGMASK_OFF: u64 = 296;
const INFO_OFF: u64 = UC_OFF + UC_SIZE;
const FRAME_SIZE: u64 = INFO_OFF + 128;
/// Stack the handler must not clobber below the interrupted rsp (the x86-64 red zone).
const RED_ZONE: u64 = 128;
/// uc_flags: the frame has an FPU image, and the ss field is valid (UC_FP_XSTATE, UC_SIGCONTEXT_SS
/// and UC_STRICT_RESTORE_SS as Linux sets them).
const UC_FLAGS: u64 = 0x1 | 0x2 | 0x4;
/// Flags user code may change through sigreturn (Linux's FIX_EFLAGS).
const USER_RFLAGS: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4_0000 | 0x1_0000;
const RFLAGS_IF: u64 = 0x200;

/// sigcontext's 32 words from a frame: r8-r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip,
/// eflags, cs/gs/fs/ss, err, trapno, oldmask, cr2, fpstate, 8 reserved.
fn mcontext(f: &TrapFrame, info: &SigInfo, mask: u64, fpstate: u64) -> [u64; 32] {
    let segs = (f.cs & 0xffff) | (f.ss & 0xffff) << 48;
    let mut w = [0u64; 32];
    w[..24].copy_from_slice(&[
        f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15, f.rdi, f.rsi, f.rbp, f.rbx, f.rdx, f.rax,
        f.rcx, f.rsp, f.rip, f.rflags, segs, f.error, f.vector, mask, info.addr, fpstate,
    ]);
    w
}

fn siginfo_bytes(sig: u32, info: &SigInfo) -> [u8; 128] {
    let mut b = [0u8; 128];
    b[0..4].copy_from_slice(&(sig as i32).to_ne_bytes());
    b[8..12].copy_from_slice(&info.code.to_ne_bytes());
    match sig {
        SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP if info.code > 0 => {
            b[16..24].copy_from_slice(&info.addr.to_ne_bytes());
        }
        _ => {
            b[16..20].copy_from_slice(&info.pid.to_ne_bytes());
            b[20..24].copy_from_slice(&info.uid.to_ne_bytes());
            if sig == SIGCHLD {
                b[24..28].copy_from_slice(&info.status.to_ne_bytes());
            }
        }
    }
    b
}

fn words_bytes(w: &[u64]) -> alloc::vec::Vec<u8> {
    w.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// Writes the rt_sigframe for `sig` below the interrupted stack and points `frame` at the
/// handler: rdi = sig, rsi = &siginfo, rdx = &ucontext, return address = sa_restorer.
fn build_frame(
    lwp: &Lwp,
    frame: &mut TrapFrame,
    sig: u32,
    info: &SigInfo,
    act: &SigAction,
) -> Result<(), i32> {
    if act.flags & SA_RESTORER == 0 {
        // x86-64 has no kernel-provided trampoline: Linux refuses such a frame too.
        return Err(abi::errno::EFAULT);
    }
    let _ = act.flags & (SA_SIGINFO | SA_ONSTACK); // siginfo is always written; no alternate stacks yet
    let mut fp = FpuArea::new().ok_or(abi::errno::ENOMEM)?;
    fp.save_live();
    let fp_size = fp.bytes_mut().len() as u64;
    let fp_at =
        frame.rsp.checked_sub(RED_ZONE + fp_size).ok_or(abi::errno::EFAULT)? & !(fpu::AREA_ALIGN as u64 - 1);
    // The handler starts as if called: (rsp + 8) is 16-byte aligned.
    let sp = (fp_at.checked_sub(FRAME_SIZE).ok_or(abi::errno::EFAULT)? & !15)
        .checked_sub(8)
        .ok_or(abi::errno::EFAULT)?;
    copyout(fp_at, fp.bytes_mut())?;
    let mask = lwp.sigmask.load(Ordering::Relaxed);
    let mut head = [0u64; 5];
    head[0] = act.restorer;
    head[1] = UC_FLAGS;
    copyout(sp, &words_bytes(&head))?;
    copyout(sp + UC_OFF + MCTX_OFF, &words_bytes(&mcontext(frame, info, mask, fp_at)))?;
    copyout(sp + UC_OFF + SIGMASK_OFF, &mask.to_ne_bytes())?;
    copyout(sp + INFO_OFF, &siginfo_bytes(sig, info))?;
    frame.rdi = sig as u64;
    frame.rsi = sp + INFO_OFF;
    frame.rdx = sp + UC_OFF;
    frame.rax = 0;
    frame.rsp = sp;
    frame.rip = act.handler;
    // The handler runs with the direction and trap flags clear, as a called function expects.
    frame.rflags &= !(0x400 | 0x100 | 0x4_0000);
    Ok(())
}

/// rt_sigreturn: restores the registers, mask and FPU state saved in the frame at the user
/// stack (the handler's `ret` popped pretcode, so rsp points at the ucontext). A frame that
/// would return to a kernel or non-canonical address kills the process with SIGSEGV.
pub fn sigreturn(lwp: &Lwp, frame: &mut TrapFrame) -> u64 {
    let uc = frame.rsp;
    // The user's rsp may be anything: a ucontext that would wrap the address space is bad.
    if uc.checked_add(UC_SIZE).is_none() {
        kill_process(lwp, SIGSEGV as i32);
    }
    let mut b = [0u8; 256];
    if copyin(&mut b, uc + MCTX_OFF).is_err() {
        kill_process(lwp, SIGSEGV as i32);
    }
    let w: alloc::vec::Vec<u64> =
        b.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]))).collect();
    let mut m = [0u8; 8];
    if copyin(&mut m, uc + SIGMASK_OFF).is_err() {
        kill_process(lwp, SIGSEGV as i32);
    }
    let (rip, rsp) = (w[16], w[15]);
    if rip >= USER_END || rsp >= USER_END {
        kill_process(lwp, SIGSEGV as i32);
    }
    let fpstate = w[23];
    let mut fp = FpuArea::new();
    match fp.as_mut() {
        Some(area) if fpstate != 0 => {
            if copyin(area.bytes_mut(), fpstate).is_err() {
                kill_process(lwp, SIGSEGV as i32);
            }
            fpu::sanitize_area(area.bytes_mut());
            area.load_live();
        }
        // No image: the FPU starts afresh.
        Some(area) => area.load_live(),
        None => kill_process(lwp, SIGSEGV as i32),
    }
    frame.r8 = w[0];
    frame.r9 = w[1];
    frame.r10 = w[2];
    frame.r11 = w[3];
    frame.r12 = w[4];
    frame.r13 = w[5];
    frame.r14 = w[6];
    frame.r15 = w[7];
    frame.rdi = w[8];
    frame.rsi = w[9];
    frame.rbp = w[10];
    frame.rbx = w[11];
    frame.rdx = w[12];
    frame.rcx = w[14];
    frame.rsp = rsp;
    frame.rip = rip;
    frame.rflags = frame.rflags & !USER_RFLAGS | w[17] & USER_RFLAGS | RFLAGS_IF;
    set_mask(lwp, u64::from_ne_bytes(m));
    w[13]
}

/// The siginfo of a fault: the code Linux uses and the address.
pub fn fault_info(sig: u32, vector: u64, error: u64, cr2: u64, rip: u64) -> SigInfo {
    const SEGV_MAPERR: i32 = 1;
    const SEGV_ACCERR: i32 = 2;
    const BUS_ADRERR: i32 = 2;
    const ILL_ILLOPN: i32 = 2;
    const FPE_INTDIV: i32 = 1;
    const SI_KERNEL: i32 = 0x80;
    let (code, addr) = match (sig, vector) {
        (SIGSEGV, 14) => (if error & 1 != 0 { SEGV_ACCERR } else { SEGV_MAPERR }, cr2),
        (SIGBUS, 14) => (BUS_ADRERR, cr2),
        (SIGILL, _) => (ILL_ILLOPN, rip),
        (SIGFPE, 0) => (FPE_INTDIV, rip),
        (SIGFPE, _) => (0, rip),
        // #GP and the rest: Linux reports SI_KERNEL with no address.
        _ => (SI_KERNEL, 0),
    };
    SigInfo { code, addr, ..SigInfo::default() }
}
