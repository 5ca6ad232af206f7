//! Trips to user mode from kernel code: enter user mode with given registers and come back
//! when something happens there that the kernel must see (a syscall that asks for it, a
//! breakpoint, a fault).
//!
//! Before processes exist this is how the entry and exit conventions are exercised: the
//! caller's callee-saved registers, RFLAGS and stack pointer are saved, the per-CPU kernel
//! stack (`gs:GS_KSTACK_TOP`, used by SYSCALL) and TSS.rsp0 (used by interrupts and
//! exceptions) are pointed just below them, and `swapgs; iretq` drops to ring 3. An event
//! that ends the trip records the user registers and jumps back to the saved context, so
//! [`enter`] returns as if the user code had been a function call. GS is the per-CPU header
//! again by then: every way back in swapped it on entry.
//!
//! When LWKT threads and processes land, the same pieces serve them: [`set_kernel_stack`] at
//! every switch, the user FS/GS bases in [`UserContext`] saved per thread.
use super::gdt::{self, USER_CS, USER_DS};
use super::percpu;
use super::trap::TrapFrame;
use crate::lwkt::globaldata::MAXCPU;
use core::cell::UnsafeCell;
use core::mem::{offset_of, size_of, MaybeUninit};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use x86_64::registers::model_specific::{FsBase, KernelGsBase};
use x86_64::registers::rflags::RFlags;
use x86_64::VirtAddr;

/// End of the user half: the highest page below the canonical hole stays unmapped, so a
/// SYSCALL at the very end of it can never return to a non-canonical rip.
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;

/// RFLAGS bits user mode may hold (the arithmetic flags, TF, IF, DF, OF, AC, ID); never IOPL,
/// NT, RF, VM or the virtual-interrupt bits.
const USER_RFLAGS: u64 = 0x0000_0cd5 | (1 << 8) | (1 << 9) | (1 << 18) | (1 << 21);
/// RFLAGS bit 1 always reads 1.
const RFLAGS_FIXED: u64 = 1 << 1;

/// The user-visible CPU state of a trip: registers plus the FS and GS bases.
#[derive(Debug, Clone, Copy)]
pub struct UserContext {
    /// General registers, rip, rsp and rflags; `cs`/`ss` are forced to the user selectors.
    pub regs: TrapFrame,
    /// User FS base (TLS).
    pub fs_base: u64,
    /// User GS base (KERNEL_GS_BASE while the kernel runs).
    pub gs_base: u64,
}

impl UserContext {
    /// A context that starts at `rip` with stack `rsp`, interrupts enabled, other registers 0.
    pub fn new(rip: u64, rsp: u64) -> UserContext {
        let regs = TrapFrame::user_entry(rip, rsp, RFlags::INTERRUPT_FLAG.bits() | RFLAGS_FIXED);
        UserContext { regs, fs_base: 0, gs_base: 0 }
    }
}

/// What ended a trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// A syscall whose handler asked to come back ([`syscall_exit`]).
    Syscall,
    /// An exception raised in user mode.
    Exception,
}

/// How a trip ended; the user registers at that point are in the [`UserContext`].
#[derive(Debug, Clone, Copy)]
pub struct Exit {
    pub kind: ExitKind,
    /// The exception vector, or the syscall marker vector.
    pub vector: u64,
    /// The exception's error code (for a syscall, the syscall number).
    pub error: u64,
    /// CR2 for a page fault, else 0.
    pub cr2: u64,
    /// For a page fault in a user vmspace: why `vm::fault` could not resolve it (the
    /// process layer turns it into SIGSEGV with SEGV_MAPERR/SEGV_ACCERR, SIGBUS, or a kill
    /// on out-of-memory). `None` for other exceptions and when no vmspace was active.
    pub vm_fault: Option<crate::vm::FaultError>,
}

/// Where an event lands: filled by [`come_back`] before it jumps to the saved context.
struct Landing {
    regs: TrapFrame,
    exit: Exit,
}

/// One CPU's trip state. Only that CPU touches it (interrupts off around every change).
struct Trip {
    /// The kernel rsp after `usermode_enter` saved the callee-saved registers.
    saved_rsp: UnsafeCell<u64>,
    /// The running trip's landing; null when no trip runs on this CPU.
    landing: AtomicPtr<Landing>,
    /// A kernel-mode probe ([`probe_kernel_fault`]) runs instead of a user trip.
    probing: AtomicBool,
}

// SAFETY: each CPU uses only its own slot (indexed by its cpuid).
unsafe impl Sync for Trip {}

static TRIPS: [Trip; MAXCPU] = [const {
    Trip {
        saved_rsp: UnsafeCell::new(0),
        landing: AtomicPtr::new(core::ptr::null_mut()),
        probing: AtomicBool::new(false),
    }
}; MAXCPU];

/// Trips that ended, by kind (diagnostics).
pub static TRIPS_ENDED: AtomicU64 = AtomicU64::new(0);

fn my_trip() -> &'static Trip {
    &TRIPS[percpu::current().cpuid.load(Ordering::Relaxed) as usize]
}

/// Points SYSCALL (`gs:GS_KSTACK_TOP`) and interrupts/exceptions from user mode (TSS.rsp0)
/// at the kernel stack whose top is `top`. Called with interrupts off at every switch.
pub fn set_kernel_stack(top: u64) {
    percpu::current().kstack_top.store(top, Ordering::Relaxed);
    gdt::set_rsp0(top);
}

extern "C" fn enter_set_kernel_stack(top: u64) {
    set_kernel_stack(top);
}

/// Runs `ctx` in user mode until an event comes back; updates `ctx` with the user state at
/// that event and returns what it was. Panics when called inside a trip or with a context
/// outside the user half (kernel bugs, not user input).
pub fn enter(ctx: &mut UserContext) -> Exit {
    let r = &mut ctx.regs;
    r.cs = USER_CS.0 as u64;
    r.ss = USER_DS.0 as u64;
    r.rflags = (r.rflags & USER_RFLAGS) | RFLAGS_FIXED;
    assert!(r.rip < USER_END && r.rsp <= USER_END, "usermode: rip {:#x} rsp {:#x}", r.rip, r.rsp);
    assert!(ctx.fs_base < USER_END && ctx.gs_base < USER_END, "usermode: bad fs/gs base");

    let flags = x86_64::instructions::interrupts::are_enabled();
    x86_64::instructions::interrupts::disable();
    let trip = my_trip();
    let mut landing = MaybeUninit::<Landing>::uninit();
    let prev = trip.landing.swap(landing.as_mut_ptr(), Ordering::Relaxed);
    assert!(prev.is_null(), "usermode: nested trip");
    let old_kstack = percpu::current().kstack_top.load(Ordering::Relaxed);
    let kernel_fs = FsBase::read();
    let kernel_user_gs = KernelGsBase::read();
    FsBase::write(VirtAddr::new(ctx.fs_base));
    KernelGsBase::write(VirtAddr::new(ctx.gs_base));

    // SAFETY: the frame is a sanitised user frame (user selectors, user-half rip/rsp, no
    // privileged RFLAGS bits); the trip slot belongs to this CPU and interrupts are off, so
    // nothing else uses it; `usermode_resume` comes back here with the callee-saved
    // registers, RFLAGS and rsp the call saved, after `come_back` filled the landing.
    unsafe { usermode_enter(&ctx.regs, trip.saved_rsp.get()) };

    // SAFETY: the only way back is `come_back`, which wrote the landing before jumping here.
    let landing = unsafe { landing.assume_init() };
    ctx.regs = landing.regs;
    ctx.fs_base = FsBase::read().as_u64();
    ctx.gs_base = KernelGsBase::read().as_u64();
    FsBase::write(kernel_fs);
    KernelGsBase::write(kernel_user_gs);
    set_kernel_stack(old_kstack);
    if flags {
        x86_64::instructions::interrupts::enable();
    }
    landing.exit
}

/// Called by `trap_dispatch` for an exception whose saved CS is a user selector: ends the
/// trip. `cr2` is the faulting address for a page fault (read at entry, before anything
/// could overwrite CR2) and `vm_fault` what the VM said about it. Returns only for NMI, #DF
/// and #MC, which are machine events rather than something the user code did (and NMI stays
/// blocked until an IRET, which the way back never executes).
pub fn user_exception(frame: &TrapFrame, cr2: u64, vm_fault: Option<crate::vm::FaultError>) {
    if matches!(frame.vector, 2 | 8 | 18) {
        return;
    }
    come_back(
        frame,
        Exit { kind: ExitKind::Exception, vector: frame.vector, error: frame.error, cr2, vm_fault },
    )
}

/// The kernel stack top that entries from user mode use on this CPU (what
/// [`set_kernel_stack`] last set).
pub fn kernel_stack() -> u64 {
    percpu::current().kstack_top.load(Ordering::Relaxed)
}

/// Ends the trip from a syscall handler (a stand-in for exit until processes exist).
pub fn syscall_exit(frame: &TrapFrame) -> ! {
    come_back(
        frame,
        Exit { kind: ExitKind::Syscall, vector: frame.vector, error: frame.error, cr2: 0, vm_fault: None },
    )
}

/// Calls the code at `target` with `arg` in rdi, in kernel mode, turning a page fault it
/// takes into an [`Exit`] instead of a fatal report; `None` when the call returned. Only for
/// tests that show the kernel cannot execute (SMEP) or read (SMAP) user pages: nothing else
/// may take a kernel-mode page fault on purpose (copyin/copyout get their own fixups).
pub fn probe_kernel_fault(target: u64, arg: u64) -> Option<Exit> {
    let flags = x86_64::instructions::interrupts::are_enabled();
    x86_64::instructions::interrupts::disable();
    let trip = my_trip();
    let mut landing = MaybeUninit::<Landing>::uninit();
    let prev = trip.landing.swap(landing.as_mut_ptr(), Ordering::Relaxed);
    assert!(prev.is_null(), "usermode: probe inside a trip");
    trip.probing.store(true, Ordering::Relaxed);
    // SAFETY: `target` is code the caller expects to return or to page-fault; a fault comes
    // back through `come_back` to the context `probe_call` saved, as for a user trip.
    unsafe { probe_call(target, arg, trip.saved_rsp.get()) };
    trip.probing.store(false, Ordering::Relaxed);
    // `come_back` consumed the landing iff the probe faulted.
    let faulted = trip.landing.swap(core::ptr::null_mut(), Ordering::Relaxed).is_null();
    if flags {
        x86_64::instructions::interrupts::enable();
    }
    // SAFETY: a consumed landing was written by `come_back` before it jumped back.
    faulted.then(|| unsafe { landing.assume_init() }.exit)
}

/// Called by `trap_dispatch` for a kernel-mode page fault: ends a running probe, otherwise
/// returns (and the fault stays fatal).
pub fn kernel_probe_fault(frame: &TrapFrame) {
    let Some(pcpu) = percpu::try_current() else { return };
    let trip = &TRIPS[pcpu.cpuid.load(Ordering::Relaxed) as usize];
    if frame.vector == 14 && trip.probing.load(Ordering::Relaxed) {
        let cr2 = x86_64::registers::control::Cr2::read_raw();
        come_back(
            frame,
            Exit { kind: ExitKind::Exception, vector: frame.vector, error: frame.error, cr2, vm_fault: None },
        )
    }
}

fn come_back(frame: &TrapFrame, exit: Exit) -> ! {
    let trip = my_trip();
    let landing = trip.landing.swap(core::ptr::null_mut(), Ordering::Relaxed);
    if landing.is_null() {
        // User mode ran without a trip: a kernel bug, reported like any other.
        panic!("usermode: event from user mode (vector {}) outside a trip", frame.vector);
    }
    TRIPS_ENDED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the landing lives in `enter`'s frame, which is still on this CPU's stack above
    // the trip's kernel stack top; the saved rsp is the context `usermode_enter` saved. The
    // frames skipped between here and there (trap or syscall dispatch) hold nothing to drop.
    unsafe {
        landing.write(Landing { regs: *frame, exit });
        usermode_resume(*trip.saved_rsp.get())
    }
}

const FRAME_WORDS: usize = size_of::<TrapFrame>() / 8;
const FRAME_TO_IRET: usize = offset_of!(TrapFrame, rip);

/// Saves RFLAGS and the callee-saved registers, stores rsp in `*saved_rsp`, makes it the
/// kernel stack top for entries from user mode, then loads `frame` and IRETs to it.
#[unsafe(naked)]
unsafe extern "C" fn usermode_enter(frame: *const TrapFrame, saved_rsp: *mut u64) {
    core::arch::naked_asm!(
        "pushfq",
        "cli",
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rsi], rsp",
        "mov r12, rdi",
        // rsp is 16-byte aligned here (8 on entry + 7 pushes).
        "mov rdi, rsp",
        "call {set_kstack}",
        "sub rsp, {frame_bytes}",
        "mov rdi, rsp",
        "mov rsi, r12",
        "mov ecx, {frame_words}",
        "rep movsq",
        crate::arch::x86_64::trap::pop_trapframe_gprs!(),
        "add rsp, {to_iret}",
        "swapgs",
        "iretq",
        set_kstack = sym enter_set_kernel_stack,
        frame_bytes = const FRAME_WORDS * 8,
        frame_words = const FRAME_WORDS,
        to_iret = const FRAME_TO_IRET - 15 * 8,
    )
}

/// Saves RFLAGS and the callee-saved registers like `usermode_enter`, then calls `target(arg)`
/// and returns normally; a fault in it returns through `usermode_resume` instead.
#[unsafe(naked)]
unsafe extern "C" fn probe_call(target: u64, arg: u64, saved_rsp: *mut u64) {
    core::arch::naked_asm!(
        "pushfq",
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdx], rsp",
        "mov rax, rdi",
        "mov rdi, rsi",
        "call rax",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "popfq",
        "ret",
    )
}

/// Returns from `usermode_enter` to its caller, on the stack `saved_rsp` it saved.
#[unsafe(naked)]
unsafe extern "C" fn usermode_resume(saved_rsp: u64) -> ! {
    core::arch::naked_asm!(
        "mov rsp, rdi",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "popfq",
        "ret",
    )
}

mod tests;
