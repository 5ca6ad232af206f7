//! Linux's x86-64 signal frame: `rt_sigframe` built on the user stack to enter a handler,
//! and `rt_sigreturn` restoring what it saved, validating every word it takes back.
use super::{set_mask, SIGSEGV};
use super::{SigInfo, SA_ONSTACK, SA_RESTORER, SA_SIGINFO};
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::fpu;
use crate::arch::x86_64::trap::TrapFrame;
use crate::arch::x86_64::usermode::USER_END;
use crate::proc::exit::kill_process;
use crate::proc::lwp::{AltStack, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK};
use crate::proc::usermd::FpuArea;
use crate::proc::{Lwp, SigAction};

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

fn words_bytes(w: &[u64]) -> alloc::vec::Vec<u8> {
    w.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// Writes the rt_sigframe for `sig` below the interrupted stack and points `frame` at the
/// handler: rdi = sig, rsi = &siginfo, rdx = &ucontext, return address = sa_restorer.
pub(super) fn build_frame(
    lwp: &Lwp,
    frame: &mut TrapFrame,
    sig: u32,
    info: &SigInfo,
    act: &SigAction,
    mask: u64,
) -> Result<(), i32> {
    if act.flags & SA_RESTORER == 0 {
        // x86-64 has no kernel-provided trampoline: Linux refuses such a frame too.
        return Err(abi::errno::EFAULT);
    }
    // siginfo is always written: SA_SIGINFO only changes what the handler looks at.
    let _ = act.flags & SA_SIGINFO;
    let alt = *lwp.altstack.lock();
    let on_alt = on_stack(&alt, frame.rsp);
    // Linux's get_sigframe: below the red zone, or at the top of the alternate stack for an
    // SA_ONSTACK handler not already running on it.
    let top = if act.flags & SA_ONSTACK != 0 && alt.flags & SS_DISABLE == 0 && !on_alt {
        alt.sp.checked_add(alt.size).ok_or(abi::errno::EFAULT)?
    } else {
        frame.rsp.checked_sub(RED_ZONE).ok_or(abi::errno::EFAULT)?
    };
    let mut fp = FpuArea::new().ok_or(abi::errno::ENOMEM)?;
    fp.save_live();
    let fp_size = fp.bytes_mut().len() as u64;
    let fp_at = top.checked_sub(fp_size).ok_or(abi::errno::EFAULT)? & !(fpu::AREA_ALIGN as u64 - 1);
    // The handler starts as if called: (rsp + 8) is 16-byte aligned.
    let sp = (fp_at.checked_sub(FRAME_SIZE).ok_or(abi::errno::EFAULT)? & !15)
        .checked_sub(8)
        .ok_or(abi::errno::EFAULT)?;
    // A handler already on the alternate stack that would run off its bottom: overflow.
    if on_alt && !on_stack(&alt, sp) {
        return Err(abi::errno::EFAULT);
    }
    copyout(fp_at, fp.bytes_mut())?;
    // pretcode, then the ucontext's uc_flags, uc_link and uc_stack (stack_t: ss_sp,
    // ss_flags padded to 8, ss_size): the alternate stack as it was, with SS_ONSTACK if the
    // interrupted code ran on it; sigreturn puts it back.
    let ss_flags = if on_alt { SS_ONSTACK } else { alt.flags };
    let head = [act.restorer, UC_FLAGS, 0, alt.sp, u64::from(ss_flags), alt.size];
    copyout(sp, &words_bytes(&head))?;
    if alt.flags & SS_AUTODISARM != 0 && act.flags & SA_ONSTACK != 0 && !on_alt {
        *lwp.altstack.lock() = AltStack { flags: SS_DISABLE, ..AltStack::default() };
    }
    copyout(sp + UC_OFF + MCTX_OFF, &words_bytes(&mcontext(frame, info, mask, fp_at)))?;
    copyout(sp + UC_OFF + SIGMASK_OFF, &mask.to_ne_bytes())?;
    copyout(sp + INFO_OFF, &info.to_bytes(sig))?;
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

/// Whether `sp` lies on the alternate stack `alt` (Linux's on_sig_stack).
pub fn on_stack(alt: &AltStack, sp: u64) -> bool {
    alt.flags & SS_DISABLE == 0 && sp > alt.sp && sp - alt.sp <= alt.size
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
    // uc_stack: the alternate stack as it was when the handler was entered (Linux's
    // restore_altstack, which ignores every failure but a fault).
    let mut st = [0u8; 24];
    if copyin(&mut st, uc + 16).is_err() {
        kill_process(lwp, SIGSEGV as i32);
    }
    let word = |i: usize| u64::from_ne_bytes(st[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let saved = AltStack { sp: word(0), flags: word(1) as u32, size: word(2) };
    let _ = super::altstack::set(lwp, saved, rsp);
    w[13]
}
