//! Trap dispatch (DragonFly's trap.c): what happens after the entry stub saved the frame.
//!
//! Until processes exist every exception taken in the kernel is fatal, except the breakpoint,
//! which returns. Exceptions from user mode end the current trip to user mode (`usermode`). A fatal trap prints a report through the emergency console (it must get out
//! even when the console lock is held) and ends the run with a failure code.
use crate::debug::backtrace;
use crate::tty::console;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

/// The registers an entry stub saves, lowest address first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Vector number pushed by the stub.
    pub vector: u64,
    /// Error code pushed by the CPU, or 0.
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// The instructions that pop a [`TrapFrame`]'s general registers (r15 first) off the stack,
/// as one asm template string: every return to user mode restores them in this order.
macro_rules! pop_trapframe_gprs {
    () => {
        "pop r15\npop r14\npop r13\npop r12\npop r11\npop r10\npop r9\npop r8\n\
         pop rbp\npop rdi\npop rsi\npop rdx\npop rcx\npop rbx\npop rax"
    };
}
pub(crate) use pop_trapframe_gprs;

impl TrapFrame {
    /// A frame that enters user mode at `rip` with stack `rsp` and flags `rflags`, every
    /// general register zero.
    pub fn user_entry(rip: u64, rsp: u64, rflags: u64) -> TrapFrame {
        TrapFrame {
            r15: 0,
            r14: 0,
            r13: 0,
            r12: 0,
            r11: 0,
            r10: 0,
            r9: 0,
            r8: 0,
            rbp: 0,
            rdi: 0,
            rsi: 0,
            rdx: 0,
            rcx: 0,
            rbx: 0,
            rax: 0,
            vector: 0,
            error: 0,
            rip,
            cs: super::gdt::USER_CS.0 as u64,
            rflags,
            rsp,
            ss: super::gdt::USER_DS.0 as u64,
        }
    }
}

/// Exception vectors.
pub mod vector {
    pub const BREAKPOINT: u64 = 3;
    pub const PAGE_FAULT: u64 = 14;
    /// First vector not reserved for exceptions.
    pub const FIRST_IRQ: u64 = 32;
}

const NAMES: [&str; 32] = [
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved 15",
    "#MF x87 error",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD error",
    "#VE virtualization",
    "#CP control protection",
    "reserved 22",
    "reserved 23",
    "reserved 24",
    "reserved 25",
    "reserved 26",
    "reserved 27",
    "#HV hypervisor injection",
    "#VC VMM communication",
    "#SX security",
    "reserved 31",
];

/// Breakpoints taken (int3); a ktest checks the trap returns.
pub static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);

/// Called by the entry stubs with interrupts off.
#[no_mangle]
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    if frame.cs & 3 == 3 && frame.vector < vector::FIRST_IRQ {
        // A user page fault first goes to the VM; resolved, the user code resumes.
        let (cr2, vm_fault) = if frame.vector == vector::PAGE_FAULT {
            let cr2 = x86_64::registers::control::Cr2::read_raw();
            match user_page_fault(cr2, frame.error) {
                Some(Ok(())) => {
                    // Resolving may have slept (the map's lock, a page's allocation) and given
                    // the CPU's user slot away.
                    back_to_user(frame);
                    return;
                }
                Some(Err(e)) => (cr2, Some(e)),
                None => (cr2, None),
            }
        } else {
            (0, None)
        };
        // A process thread: the fault becomes a signal, forced through (a blocked or
        // ignored one would only fault again), delivered before the return to user mode.
        if let Some(lwp) = crate::proc::curlwp() {
            use crate::proc::signal;
            x86_64::instructions::interrupts::enable();
            let sig = fault_signal(frame.vector, vm_fault) as u32;
            if vm_fault == Some(crate::vm::FaultError::OutOfMemory) {
                crate::proc::oom::report_kill(lwp);
            }
            signal::force(lwp, sig, signal::fault_info(sig, frame.vector, frame.error, cr2, frame.rip));
            signal::deliver(lwp, frame);
            crate::proc::rseq::return_to_user(lwp, frame);
            x86_64::instructions::interrupts::disable();
            return;
        }
        // What user code did goes back to whoever sent the CPU to user mode, not to the
        // fatal report (which stays for kernel-mode faults and NMI/#DF/#MC).
        super::usermode::user_exception(frame, cr2, vm_fault);
    } else if frame.vector == 14 {
        if let Some(fixup) = super::copyio::fixup_for(frame.rip) {
            copyio_fault(frame, fixup);
            return;
        }
        // A test probing SMEP/SMAP expects this fault; any other stays fatal.
        super::usermode::kernel_probe_fault(frame);
    }
    match frame.vector {
        vector::BREAKPOINT => {
            BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
        }
        v if v >= vector::FIRST_IRQ => {
            super::intr::dispatch(frame);
            // Back to user mode: a signal another CPU posted is acted on now, not at the
            // process's next system call.
            // Then the user scheduler: a round robin the tick asked for, a kernel thread
            // that became runnable, a slot another lwp took (userexit).
            if frame.cs & 3 == 3 {
                back_to_user(frame);
            }
        }
        _ => fatal(frame),
    }
}

/// The way back to user mode from a trap of a process thread: a signal posted meanwhile is
/// taken, the user scheduler gets its say (the CPU's user slot back, a round robin, a kernel
/// thread that became runnable), and an interrupted rseq critical section is aborted.
/// Called and returns with interrupts disabled.
fn back_to_user(frame: &mut TrapFrame) {
    if let Some(lwp) = crate::proc::curlwp() {
        x86_64::instructions::interrupts::enable();
        if crate::proc::signal::deliverable(lwp) {
            crate::proc::signal::deliver(lwp, frame);
        }
        crate::proc::rseq::return_to_user(lwp, frame);
        x86_64::instructions::interrupts::disable();
    }
}

/// The signal a user-mode exception raises (Linux's choices on x86-64).
fn fault_signal(vector: u64, vm: Option<crate::vm::FaultError>) -> i32 {
    const SIGILL: i32 = 4;
    const SIGTRAP: i32 = 5;
    const SIGBUS: i32 = 7;
    const SIGFPE: i32 = 8;
    const SIGKILL: i32 = 9;
    const SIGSEGV: i32 = 11;
    match vector {
        0 | 16 | 19 => SIGFPE,
        1 | 3 => SIGTRAP,
        6 => SIGILL,
        17 => SIGBUS,
        14 => match vm {
            Some(crate::vm::FaultError::Bus) => SIGBUS,
            Some(crate::vm::FaultError::OutOfMemory) => SIGKILL,
            _ => SIGSEGV,
        },
        _ => SIGSEGV,
    }
}

/// A page fault inside copyin/copyout: let the VM bring the user page in and retry the
/// instruction, or resume at the fixup, which returns EFAULT.
fn copyio_fault(frame: &mut TrapFrame, fixup: u64) {
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    const PF_PRESENT: u64 = 1;
    const PF_WRITE: u64 = 2;
    const RFLAGS_IF: u64 = 1 << 9;
    // Only a missing page or a write to a copy-on-write page can be fixed; the VM may sleep,
    // so it runs with interrupts as the interrupted code had them.
    let fixable =
        cr2 < super::usermode::USER_END && (frame.error & PF_PRESENT == 0 || frame.error & PF_WRITE != 0);
    if fixable {
        if frame.rflags & RFLAGS_IF != 0 {
            x86_64::instructions::interrupts::enable();
        }
        let ok = super::copyio::resolve_user_fault(cr2, frame.error & PF_WRITE != 0);
        x86_64::instructions::interrupts::disable();
        if ok {
            return;
        }
    }
    frame.rip = fixup;
}

/// Hands a user-mode page fault to the VM (DragonFly's trap_pfault) with interrupts on: the
/// fault may sleep, and nothing is held here since the CPU came from user mode. The kernel
/// stack for entries from user mode is put back afterwards: a switch while the fault slept
/// resets it to the thread's stack top, which a trip to user mode does not use. `None`
/// when this CPU runs no user vmspace.
fn user_page_fault(cr2: u64, error: u64) -> Option<Result<(), crate::vm::FaultError>> {
    let kstack = super::usermode::kernel_stack();
    x86_64::instructions::interrupts::enable();
    let r = crate::vm::fault::user_fault(cr2, error);
    x86_64::instructions::interrupts::disable();
    super::usermode::set_kernel_stack(kstack);
    r
}

fn name(vector: u64) -> &'static str {
    NAMES.get(vector as usize).copied().unwrap_or("interrupt")
}

fn fatal(frame: &TrapFrame) -> ! {
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    let mut out = console::emergency();
    let bypassed = out.bypassed();
    report(&mut out, frame, cr2, bypassed);
    drop(out);
    crate::ktest::note_fatal("fault");
    super::power::exit_failure()
}

/// Writes the fault report the test harness parses (see the `fault:` lines).
fn report(out: &mut impl Write, f: &TrapFrame, cr2: u64, console_bypassed: bool) {
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "fault: vector={} name={} error={:#x} cpu={}",
        f.vector,
        name(f.vector).split(' ').next().unwrap_or("?"),
        f.error,
        super::percpu::try_current().map_or(0, |h| h.cpuid.load(Ordering::Relaxed))
    );
    let _ =
        writeln!(out, "fault: {} in {} mode", name(f.vector), if f.cs & 3 == 3 { "user" } else { "kernel" });
    let _ = write!(out, "fault: rip={:#018x} sym=", f.rip);
    let _ = crate::debug::ksym::write_symbolized(out, f.rip);
    let _ = writeln!(out);
    let _ = writeln!(out, "fault: cr2={:#018x}", cr2);
    // Says whether this report had to write around a held console lock.
    let _ = writeln!(out, "fault: console={}", if console_bypassed { "bypassed" } else { "locked" });
    let regs = [
        ("rax", f.rax),
        ("rbx", f.rbx),
        ("rcx", f.rcx),
        ("rdx", f.rdx),
        ("rsi", f.rsi),
        ("rdi", f.rdi),
        ("rbp", f.rbp),
        ("rsp", f.rsp),
        ("r8", f.r8),
        ("r9", f.r9),
        ("r10", f.r10),
        ("r11", f.r11),
        ("r12", f.r12),
        ("r13", f.r13),
        ("r14", f.r14),
        ("r15", f.r15),
    ];
    for pair in regs.chunks(4) {
        let _ = write!(out, " ");
        for (n, v) in pair {
            let _ = write!(out, " {:>3}={:016x}", n, v);
        }
        let _ = writeln!(out);
    }
    let cr3 = x86_64::registers::control::Cr3::read_raw().0.start_address().as_u64();
    let _ = writeln!(out, "  rflags={:016x} cs={:#x} ss={:#x} cr3={:#x}", f.rflags, f.cs, f.ss, cr3);
    let _ = writeln!(out, "backtrace:");
    backtrace::write_from(out, f.rip, f.rbp);
    let _ = writeln!(out, "fault: end");
}
