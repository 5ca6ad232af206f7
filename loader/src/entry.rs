//! The PVH entry: QEMU jumps here in 32-bit protected mode with paging off and `%ebx` holding
//! the physical address of `hvm_start_info`. This code enters long mode on boot page tables
//! that identity-map the first 4 GiB and calls [`crate::loader_main`]. It also holds the final
//! jump into the kernel.

use core::arch::global_asm;

/// Bytes of boot stack (in .bss).
const BOOT_STACK_SIZE: usize = 64 * 1024;

// The ELF note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY), owner "Xen": QEMU's PVH boot path reads
// the 32-bit entry's physical address from its 8-byte descriptor.
global_asm!(
    r#"
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 8
    .long 18
    .asciz "Xen"
    .balign 4
    .quad pvh_entry
    .popsection
    "#,
    options(att_syntax)
);

global_asm!(
    r#"
    .section .text.entry32, "ax"
    .code32
    .global pvh_entry
pvh_entry:
    cli
    cld
    movl %ebx, %esi

    /* Zero .bss (stack, boot page tables, heap) rather than trust the ELF loader to. */
    movl $__bss_start_loader, %edi
    movl $__loader_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    movl $boot_stack_top, %esp

    /* Long mode and NX must exist; say so instead of faulting. */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb .Lno_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $(1 << 29), %edx
    jz .Lno_long_mode
    testl $(1 << 20), %edx
    jz .Lno_long_mode

    /* PML4[0] -> PDPT; PDPT[0..4] -> four PDs; 2048 PD entries of 2 MiB pages cover 4 GiB. */
    movl $boot_pdpt, %eax
    orl $0x3, %eax
    movl %eax, boot_pml4
    movl $boot_pd, %eax
    orl $0x3, %eax
    xorl %ecx, %ecx
1:
    movl %eax, boot_pdpt(,%ecx,8)
    addl $0x1000, %eax
    incl %ecx
    cmpl $4, %ecx
    jb 1b
    movl $0x83, %eax
    xorl %ecx, %ecx
2:
    movl %eax, boot_pd(,%ecx,8)
    addl $0x200000, %eax
    incl %ecx
    cmpl $2048, %ecx
    jb 2b

    /* CR4.PAE, CR3, EFER.LME|NXE, then CR0.PG|PE: long mode (compatibility submode). */
    movl %cr4, %eax
    orl $(1 << 5), %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx
    rdmsr
    orl $((1 << 8) | (1 << 11)), %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_entry

.Lno_long_mode:
    /* COM1 accepts bytes without initialisation under QEMU. */
    movl $.Lno_lm_msg, %esi
    movw $0x3f8, %dx
3:
    movb (%esi), %al
    testb %al, %al
    jz 4f
    outb %al, %dx
    incl %esi
    jmp 3b
4:
    movw $0xf4, %dx
    movl ${loader_failure}, %eax
    outl %eax, %dx
5:
    cli
    hlt
    jmp 5b

    .code64
long_mode_entry:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl %esi, %edi
    call loader_main
6:
    cli
    hlt
    jmp 6b

    .section .rodata.entry32, "a"
.Lno_lm_msg:
    .asciz "loader: error: this CPU lacks long mode or NX (need an x86_64 CPU, e.g. -cpu max)\r\n"

    /* Written by the CPU (accessed bits), so not read-only. */
    .section .data.boot_gdt, "aw"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00cf92000000ffff /* 0x10: data */
boot_gdt_end:
    .balign 8
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .bss.boot_tables, "aw", @nobits
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4 * 4096
    .balign 16
boot_stack:
    .skip {stack_size}
boot_stack_top:
    .text
    "#,
    loader_failure = const abi::debug_exit::LOADER_FAILURE,
    stack_size = const BOOT_STACK_SIZE,
    options(att_syntax)
);

// Final hand-off (System V arguments): rdi = kernel PML4, rsi = entry, rdx = BootInfo, rcx =
// stack top. The identity map in the new tables keeps this code mapped across the CR3 load.
global_asm!(
    r#"
    .text
    .global enter_kernel
enter_kernel:
    cli
    movq %rdi, %cr3
    movq %rcx, %rsp
    pushq $0            /* fake return address: rsp is 8 mod 16, as after a call */
    xorl %ebp, %ebp     /* ends frame-pointer backtraces */
    movq %rdx, %rdi
    pushq $2            /* rflags: IF and DF clear */
    popfq
    jmpq *%rsi
    "#,
    options(att_syntax)
);

extern "C" {
    fn enter_kernel(pml4: u64, entry: u64, boot_info: u64, stack_top: u64) -> !;
}

/// Switches to the kernel's page tables and jumps to its entry point with `rdi = boot_info`.
///
/// # Safety
/// `pml4` must map this code 1:1, `entry` and the stack; `boot_info` must hold a valid BootInfo.
pub unsafe fn jump_to_kernel(pml4: u64, entry: u64, boot_info: u64, stack_top: u64) -> ! {
    // SAFETY: the caller guarantees the tables, entry, stack and BootInfo are in place.
    unsafe { enter_kernel(pml4, entry, boot_info, stack_top) }
}
