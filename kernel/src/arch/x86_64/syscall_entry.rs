//! The SYSCALL entry and exit path (DragonFly's `Xfast_syscall` in exception.S) and the MSRs
//! that point the CPU at it.
//!
//! SYSCALL leaves the user stack in rsp and the user GS base in GS, so the stub swaps GS
//! first, parks the user rsp in `gs:GS_USER_RSP`, loads the thread's kernel stack from
//! `gs:GS_KSTACK_TOP` and builds a full [`TrapFrame`] there, the same layout the exception
//! stubs build, so signal delivery, ptrace and exec treat both alike. The frame's `vector` is
//! [`SYSCALL_VECTOR`] and its `error` slot holds the syscall number as it came in (Linux's
//! `orig_rax`), which survives the handler overwriting `rax` with the result.
//!
//! The exit uses SYSRET only when SYSRET restores exactly what IRET would (rcx == rip,
//! r11 == rflags, the standard user selectors, a user-half rip below the top page, no TF/RF);
//! anything else (a handler that rewrote the frame: rt_sigreturn, ptrace, exec) leaves with
//! IRET. [`SYSCALL_IRET_EXITS`] counts the IRET exits, because QEMU's TCG does not fault on a
//! non-canonical SYSRET and a test could not tell the paths apart otherwise.
//!
//! NMI, #MC (IST stacks) and #DB can arrive on the first instruction, before the `swapgs`:
//! their stubs decide `swapgs` from MSR_GS_BASE, never from the saved CS.
use super::gdt::{KERNEL_CS, KERNEL_DS, USER_CS, USER_DS};
use super::percpu::{GS_KSTACK_TOP, GS_USER_RSP};
use super::trap::TrapFrame;
use super::usermode::USER_END;
use core::mem::offset_of;
use core::sync::atomic::AtomicU64;
use x86_64::registers::model_specific::{LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::VirtAddr;

/// `TrapFrame::vector` of a frame built by SYSCALL (beyond the 256 IDT vectors, so it can
/// never be mistaken for an interrupt or `int 0x80`).
pub const SYSCALL_VECTOR: u64 = 0x100;

/// Syscall exits that went through IRET instead of SYSRET.
pub static SYSCALL_IRET_EXITS: AtomicU64 = AtomicU64::new(0);

/// RFLAGS bits SYSCALL clears on entry: interrupts stay off until the frame is saved, a
/// user TF does not single-step the kernel, DF is the ABI's 0, a user AC would disable SMAP,
/// NT would make a later IRET a task return, IOPL is meaningless in the kernel.
const FMASK: RFlags = RFlags::INTERRUPT_FLAG
    .union(RFlags::TRAP_FLAG)
    .union(RFlags::DIRECTION_FLAG)
    .union(RFlags::ALIGNMENT_CHECK)
    .union(RFlags::NESTED_TASK)
    .union(RFlags::IOPL_LOW)
    .union(RFlags::IOPL_HIGH)
    .union(RFlags::RESUME_FLAG);

impl TrapFrame {
    /// The syscall number as the user passed it (the `error` slot of a syscall frame).
    pub fn orig_rax(&self) -> u64 {
        debug_assert_eq!(self.vector, SYSCALL_VECTOR);
        self.error
    }
}

/// Points this CPU's SYSCALL at [`syscall_entry`]. Part of the per-CPU init every CPU runs
/// (EFER.SCE is set beside EFER.NXE in `cpu::init_this_cpu`).
pub fn init_this_cpu() {
    // SYSCALL loads CS = KERNEL_CS, SS = KERNEL_CS + 8; SYSRETQ loads CS = base + 16 and
    // SS = base + 8 from base = USER_CS32: the GDT order in gdt.rs makes these line up.
    if let Err(e) = Star::write(USER_CS, USER_DS, KERNEL_CS, KERNEL_DS) {
        panic!("syscall: GDT order does not fit STAR: {}", e);
    }
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    SFMask::write(FMASK);
}

/// Whether SYSRET would return to user mode exactly as IRET would from `frame`.
fn sysret_restores(f: &TrapFrame) -> bool {
    let unsafe_flags = (RFlags::TRAP_FLAG | RFlags::RESUME_FLAG).bits();
    // The top user page stays unmapped, so a SYSCALL as its last instruction cannot come back
    // to a non-canonical rcx (Intel's SYSRET would #GP in ring 0 on the user stack).
    f.rcx == f.rip
        && f.r11 == f.rflags
        && f.cs == USER_CS.0 as u64
        && f.ss == USER_DS.0 as u64
        && f.rip < USER_END
        && f.rflags & unsafe_flags == 0
}

/// Called by [`syscall_entry`] on the kernel stack, GS swapped, interrupts off. Returns 0
/// to leave with SYSRET, 1 for IRET.
extern "C" fn syscall_from_user(frame: &mut TrapFrame) -> u64 {
    crate::syscall::syscall_dispatch(frame);
    // A handler may rewrite the frame but never send the CPU back to kernel mode with it.
    assert!(frame.cs & 3 == 3 && frame.ss & 3 == 3, "syscall frame rewritten to a kernel selector");
    if sysret_restores(frame) {
        0
    } else {
        1
    }
}

const F_RIP: usize = offset_of!(TrapFrame, rip) - offset_of!(TrapFrame, vector);
const F_RSP: usize = offset_of!(TrapFrame, rsp) - offset_of!(TrapFrame, vector);

/// The LSTAR target. Not callable: SYSCALL enters it with the user's rsp and GS.
#[unsafe(naked)]
#[no_mangle]
#[link_section = ".text.trap_entry"]
pub extern "C" fn syscall_entry() -> ! {
    core::arch::naked_asm!(
        "swapgs",
        "mov gs:[{user_rsp}], rsp",
        "mov rsp, gs:[{kstack}]",
        // The hardware-frame half, as an interrupt from user mode would push it.
        "push {user_ss}",
        "push qword ptr gs:[{user_rsp}]",
        "push r11",
        "push {user_cs}",
        "push rcx",
        // error slot = orig_rax, then the vector.
        "push rax",
        "push {vector}",
        "push rax",
        "push rbx",
        "push rcx",
        "push rdx",
        "push rsi",
        "push rdi",
        "push rbp",
        "push r8",
        "push r9",
        "push r10",
        "push r11",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        // rbp = 0 ends kernel backtraces here instead of wandering into user memory.
        "xor ebp, ebp",
        "mov rdi, rsp",
        "call {dispatch}",
        "cli",
        "test eax, eax",
        "jnz 2f",
        // SYSRET: rcx == rip and r11 == rflags were checked, so the pops restore them.
        crate::arch::x86_64::trap::pop_trapframe_gprs!(),
        // Interrupts are off: nothing runs on the user stack before SYSRET but NMI and #MC,
        // which have IST stacks and decide swapgs from MSR_GS_BASE.
        "mov rsp, [rsp + {f_rsp}]",
        "swapgs",
        "sysretq",
        "2:",
        "lock inc qword ptr [rip + {iret_exits}]",
        crate::arch::x86_64::trap::pop_trapframe_gprs!(),
        "add rsp, {f_rip}",
        "swapgs",
        "iretq",
        user_rsp = const GS_USER_RSP,
        kstack = const GS_KSTACK_TOP,
        user_ss = const USER_DS.0 as u64,
        user_cs = const USER_CS.0 as u64,
        vector = const SYSCALL_VECTOR,
        dispatch = sym syscall_from_user,
        f_rsp = const F_RSP,
        f_rip = const F_RIP,
        iret_exits = sym SYSCALL_IRET_EXITS,
    )
}
