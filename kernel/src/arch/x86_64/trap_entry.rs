//! Trap entry and exit in assembly (stable Rust has no `x86-interrupt` ABI).
//!
//! 256 stubs of 16 bytes each push a dummy error code where the CPU pushes none, push the
//! vector, and join a common path that saves the general registers into a [`TrapFrame`] and
//! calls `trap_dispatch`. Every stub starts with `clac` (interrupts do not clear RFLAGS.AC).
//! The common path swaps GS when the saved CS is a user selector; NMI, #DB, #DF and #MC can
//! arrive on the first instruction of an entry path, before its `swapgs`, so they decide
//! from MSR_GS_BASE instead: the kernel's GS base is always a kernel (negative) address.
//!
//! [`TrapFrame`]: super::trap::TrapFrame

/// Number of IDT stubs.
pub const STUB_COUNT: usize = 256;
const STUB_SIZE: usize = 16;

core::arch::global_asm!(
    r#"
    .macro SMAP_CLAC
    998: clac
    .pushsection .smap_sites, "a"
    .balign 8
    .quad 998b
    .popsection
    .endm

    .macro PUSH_GPRS
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    .endm

    .macro POP_GPRS
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    .endm

    .section .text.trap_entry, "ax"
    .balign 16
    .global trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    SMAP_CLAC
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    .if (vec == 1) || (vec == 2) || (vec == 8) || (vec == 18)
    jmp trap_paranoid
    .else
    jmp trap_common
    .endif
    .set vec, vec + 1
    .endr
    .balign 16
    .global trap_stubs_end
trap_stubs_end:

trap_common:
    /* rsp -> vector, error, rip, cs: a user CS has RPL 3. */
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:
    PUSH_GPRS
    cld
    movq %rsp, %rdi
    call trap_dispatch
    POP_GPRS
    testb $3, 24(%rsp)
    jz 2f
    cli
    swapgs
2:
    addq $16, %rsp
    iretq

trap_paranoid:
    PUSH_GPRS
    cld
    /* rbx (callee-saved) remembers whether this entry swapped GS. */
    xorl %ebx, %ebx
    movl $0xc0000101, %ecx
    rdmsr
    testl %edx, %edx
    js 1f
    swapgs
    movl $1, %ebx
1:
    movq %rsp, %rdi
    call trap_dispatch
    testl %ebx, %ebx
    jz 2f
    swapgs
2:
    POP_GPRS
    addq $16, %rsp
    iretq
"#,
    options(att_syntax)
);

extern "C" {
    static trap_stubs: u8;
    static trap_stubs_end: u8;
}

/// Address of the entry stub for `vector`.
pub fn stub_address(vector: usize) -> u64 {
    let (start, end) = (&raw const trap_stubs as u64, &raw const trap_stubs_end as u64);
    // Each stub must fit its 16-byte slot or the IDT would point into the wrong stub.
    assert_eq!(end - start, (STUB_COUNT * STUB_SIZE) as u64, "trap stubs overflow their slots");
    assert!(vector < STUB_COUNT);
    start + (vector * STUB_SIZE) as u64
}
