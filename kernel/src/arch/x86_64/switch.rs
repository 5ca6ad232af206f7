//! The LWKT context switch (DragonFly's `cpu_lwkt_switch`): save the callee-saved registers
//! and RFLAGS on the old thread's stack, store its stack pointer, load the new one's, restore
//! and return. The caller-saved registers are already saved by the compiler around the call.
//! User FPU state and FS base will be switched here too once user threads exist.

/// Builds the first frame of a new thread's stack so that the first switch to it "returns"
/// into `thread_trampoline`, which calls `lwkt::sched::thread_start(prev)`. Returns the
/// initial stack pointer.
pub fn initial_frame(top: u64) -> u64 {
    // From the top: two zero words (rbp = 0 and a zero return address end backtraces, and keep
    // rsp 16-byte aligned at the trampoline's call), the trampoline as return address, the
    // six callee-saved registers, all zero, and RFLAGS (interrupts off until thread_start
    // has finished the switch).
    const RFLAGS_RESERVED: u64 = 0x2;
    let frame: [u64; 10] = [RFLAGS_RESERVED, 0, 0, 0, 0, 0, 0, thread_trampoline as *const () as u64, 0, 0];
    let sp = top - (frame.len() * 8) as u64;
    for (i, v) in frame.iter().enumerate() {
        // SAFETY: [sp, top) lies inside the fresh, mapped, unused stack of the new thread.
        unsafe { ((sp + 8 * i as u64) as *mut u64).write(*v) };
    }
    sp
}

/// Switches from `prev` to `next`: saves the current context in `prev` and resumes `next`.
/// Returns, when some thread later switches back to `prev`, the thread it switched from.
///
/// # Safety
/// Interrupts may be on but the caller must be in a critical section on the owning CPU; both
/// threads must be alive; `next`'s saved stack pointer must come from a previous switch away
/// from it or from [`initial_frame`].
#[unsafe(naked)]
pub unsafe extern "C" fn cpu_switch(prev: *mut u64, next: *mut u64, prev_td: u64) -> u64 {
    core::arch::naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        // RFLAGS too: a thread resumes with its own interrupt flag (a preempted thread was
        // switched away inside an interrupt, with interrupts off).
        "pushfq",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        // The resumed side receives the thread it was switched from.
        "mov rax, rdx",
        "popfq",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// Where a new thread's first switch lands: pass the previous thread to `thread_start`.
#[unsafe(naked)]
unsafe extern "C" fn thread_trampoline() -> ! {
    core::arch::naked_asm!(
        "mov rdi, rax",
        "call {start}",
        "ud2",
        start = sym crate::lwkt::sched::thread_start,
    )
}
