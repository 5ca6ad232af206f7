//! Trips to user mode: one user code page (a few small programs below) and one user stack
//! page in the lower half, each test checking what comes back and that the kernel's GS and
//! stack are as they were afterwards.
use super::{enter, probe_kernel_fault, Exit, ExitKind, UserContext};
use crate::arch::x86_64::cpu;
use crate::arch::x86_64::pmap::{self, pte};
use crate::arch::x86_64::syscall_entry::{SYSCALL_IRET_EXITS, SYSCALL_VECTOR};
use crate::arch::x86_64::{percpu, trap::vector};
use crate::ktest::Failure;
use crate::lwkt::globaldata;
use crate::mem::phys;
use crate::syscall::{nr, ECHO_ARG, ECHO_KERNEL_RFLAGS};
use crate::{kassert, kassert_eq, ktest};
use core::sync::atomic::Ordering;
use x86_64::registers::model_specific::GsBase;

/// Where the test programs are mapped (user half, far from anything else).
const CODE_VA: u64 = 0x40_0000;
/// The user stack page; the stack starts at its top.
const STACK_VA: u64 = 0x7fff_0000;
/// A user address nothing maps.
const UNMAPPED_VA: u64 = 0x1234_5000;
const PAGE: u64 = 4096;

const IF: u64 = 1 << 9;
const TF: u64 = 1 << 8;
const DF: u64 = 1 << 10;
const AC: u64 = 1 << 18;
const VECTOR_UD: u64 = 6;
const VECTOR_GP: u64 = 13;
const VECTOR_PF: u64 = 14;
/// Page-fault error code bits.
const PF_PRESENT: u64 = 1 << 0;
const PF_USER: u64 = 1 << 2;

// The user programs. Position independent: they run at CODE_VA from a copy of these bytes
// (kept in rodata, never executed where they are linked).
core::arch::global_asm!(
    r#"
    .pushsection .rodata.usermode_test, "a"
    .balign 16
    .global usermode_test_code
usermode_test_code:

    /* Sets AC and DF (which SYSCALL must clear in the kernel), marks the registers a
       syscall preserves, echoes 41, then reports its RFLAGS in rdi and stops at int3. */
    .global usermode_test_echo
usermode_test_echo:
    pushfq
    orq $0x40000, (%rsp)
    popfq
    std
    movl $0x1111, %ebx
    movl $0x2222, %ebp
    movl $0x3333, %r12d
    movl $0x4444, %r13d
    movl $0x5555, %r14d
    movl $0x6666, %r15d
    movl $0x7777, %esi
    movl $0x8888, %edx
    movl $0x9999, %r8d
    movl $0xaaaa, %r9d
    movl $0xbbbb, %r10d
    xorl %eax, %eax
    movl $41, %edi
    syscall
    .global usermode_test_echo_ret
usermode_test_echo_ret:
    pushfq
    popq %rdi
    cld
    pushfq
    andq $~0x40000, (%rsp)
    popfq
    int3
    .global usermode_test_echo_end
usermode_test_echo_end:

    /* An unknown syscall; RFLAGS after it in rdi. */
    .global usermode_test_enosys
usermode_test_enosys:
    movl $999, %eax
    syscall
    pushfq
    popq %rdi
    int3

    /* Reads the address in rdi. */
    .global usermode_test_touch
usermode_test_touch:
    movq (%rdi), %rax
    int3

    /* Asks the kernel to resume at the target: the IRET exit. */
    .global usermode_test_jump
usermode_test_jump:
    leaq usermode_test_jump_target(%rip), %rdi
    movl $2, %eax
    syscall
    ud2
    .global usermode_test_jump_target
usermode_test_jump_target:
    int3

    /* A privileged instruction. */
    .global usermode_test_priv
usermode_test_priv:
    hlt

    /* Ends the trip through a syscall. */
    .global usermode_test_exit
usermode_test_exit:
    movl $0x5a5a, %edi
    movl $1, %eax
    syscall
    ud2

    /* Reads through the user GS and FS bases. */
    .global usermode_test_segs
usermode_test_segs:
    movq %gs:8, %rax
    movq %fs:16, %rbx
    int3

    .global usermode_test_code_end
usermode_test_code_end:
    .popsection
"#,
    options(att_syntax)
);

extern "C" {
    static usermode_test_code: u8;
    static usermode_test_echo: u8;
    static usermode_test_echo_ret: u8;
    static usermode_test_echo_end: u8;
    static usermode_test_enosys: u8;
    static usermode_test_touch: u8;
    static usermode_test_jump: u8;
    static usermode_test_jump_target: u8;
    static usermode_test_priv: u8;
    static usermode_test_exit: u8;
    static usermode_test_segs: u8;
    static usermode_test_code_end: u8;
}

/// The user address of a label in the code blob.
fn user_va(label: *const u8) -> u64 {
    CODE_VA + (label as u64 - &raw const usermode_test_code as u64)
}

/// The code and stack pages, mapped for one test and unmapped (and freed) when dropped.
struct UserPages {
    code_pa: u64,
    stack_pa: u64,
}

impl UserPages {
    fn map() -> Result<UserPages, Failure> {
        let (start, end) = (&raw const usermode_test_code as u64, &raw const usermode_test_code_end as u64);
        kassert!(end - start <= PAGE, "test code is {} bytes", end - start);
        kassert!(pmap::lookup(CODE_VA).is_none() && pmap::lookup(STACK_VA).is_none(), "test pages mapped");
        let code_pa = phys::alloc_zeroed().ok_or("no page")?;
        let stack_pa = phys::alloc_zeroed().ok_or("no page")?;
        // SAFETY: the new page is ours, reached through the direct map; the blob is
        // `end - start` bytes of rodata.
        unsafe {
            core::ptr::copy_nonoverlapping(
                start as *const u8,
                pmap::phys_to_virt(code_pa) as *mut u8,
                (end - start) as usize,
            )
        };
        pmap::map_user_page(CODE_VA, code_pa, 0);
        pmap::map_user_page(STACK_VA, stack_pa, pte::WRITABLE | pte::NO_EXECUTE);
        Ok(UserPages { code_pa, stack_pa })
    }

    /// Writes a u64 into the stack page (through the direct map).
    fn poke_stack(&self, offset: u64, value: u64) {
        // SAFETY: an aligned offset inside our own page, through the direct map.
        unsafe { ((pmap::phys_to_virt(self.stack_pa) + offset) as *mut u64).write_volatile(value) };
    }
}

impl Drop for UserPages {
    fn drop(&mut self) {
        let code = pmap::unmap_user_page(CODE_VA);
        let stack = pmap::unmap_user_page(STACK_VA);
        debug_assert!(code == Some(self.code_pa) && stack == Some(self.stack_pa));
        phys::free(self.code_pa);
        phys::free(self.stack_pa);
    }
}

fn rsp() -> u64 {
    let rsp: u64;
    // SAFETY: reads rsp only.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags)) };
    rsp
}

/// One trip from `label` with `rdi`, checking the kernel's state afterwards: GS is the
/// per-CPU header again, the stack pointer and the per-CPU kernel stack are as before.
fn trip(label: *const u8, rdi: u64) -> Result<(Exit, UserContext), Failure> {
    let mut ctx = UserContext::new(user_va(label), STACK_VA + PAGE);
    ctx.regs.rdi = rdi;
    let kstack = percpu::current().kstack_top.load(Ordering::Relaxed);
    let before = rsp();
    let exit = enter(&mut ctx);
    let after = rsp();
    kassert_eq!(before, after);
    let gs = GsBase::read().as_u64();
    let bsp = globaldata::globaldata(0).ok_or("no cpu 0")? as *const _ as u64;
    kassert!(gs == bsp, "GS base {:#x} after the trip, per-CPU header at {:#x}", gs, bsp);
    kassert!(core::ptr::eq(globaldata::mycpu(), globaldata::globaldata(0).ok_or("no cpu 0")?), "mycpu");
    kassert_eq!(percpu::current().kstack_top.load(Ordering::Relaxed), kstack);
    Ok((exit, ctx))
}

fn expect_exception(exit: &Exit, vector: u64) -> Result<(), Failure> {
    kassert!(
        exit.kind == ExitKind::Exception && exit.vector == vector,
        "expected vector {}, got {:?}",
        vector,
        exit
    );
    Ok(())
}

ktest! {
    /// syscall 0 with rdi=41 returns 42 by SYSRET; the user code then reaches int3, which
    /// comes back as vector 3 with rip after it and the registers the user code set.
    fn syscall_returns_then_int3_comes_back() {
        let _pages = UserPages::map()?;
        let irets = SYSCALL_IRET_EXITS.load(Ordering::Relaxed);
        let (exit, ctx) = trip(&raw const usermode_test_echo, 0)?;
        expect_exception(&exit, vector::BREAKPOINT)?;
        let r = &ctx.regs;
        kassert_eq!(r.rip, user_va(&raw const usermode_test_echo_end));
        kassert_eq!(r.rax, 42);
        kassert_eq!(ECHO_ARG.load(Ordering::Relaxed), 41);
        // SYSRET put the return address in rcx.
        kassert_eq!(r.rcx, user_va(&raw const usermode_test_echo_ret));
        let kept = [r.rbx, r.rbp, r.r12, r.r13, r.r14, r.r15, r.rsi, r.rdx, r.r8, r.r9, r.r10];
        kassert_eq!(kept, [0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777, 0x8888, 0x9999, 0xaaaa, 0xbbbb]);
        kassert_eq!(r.rsp, STACK_VA + PAGE);
        kassert_eq!(r.cs & 3, 3);
        kassert_eq!(SYSCALL_IRET_EXITS.load(Ordering::Relaxed), irets);
        Ok(())
    }
}

ktest! {
    /// FMASK: the kernel ran the syscall with IF, TF, DF and AC clear although the user set
    /// AC and DF; SYSRET gave the user its own flags back (IF on, AC and DF as set, TF off).
    fn syscall_rflags_masked_in_kernel_restored_for_user() {
        let _pages = UserPages::map()?;
        let (exit, ctx) = trip(&raw const usermode_test_echo, 0)?;
        expect_exception(&exit, vector::BREAKPOINT)?;
        let k = ECHO_KERNEL_RFLAGS.load(Ordering::Relaxed);
        kassert!(k & (IF | TF | DF | AC) == 0, "kernel rflags {:#x}", k);
        let u = ctx.regs.rdi;
        kassert!(u & IF != 0 && u & AC != 0 && u & DF != 0 && u & TF == 0, "user rflags after sysret {:#x}", u);
        kassert!(ctx.regs.rflags & (AC | DF) == 0 && ctx.regs.rflags & IF != 0, "rflags at int3 {:#x}", ctx.regs.rflags);
        Ok(())
    }
}

ktest! {
    /// An unknown syscall number returns -ENOSYS (-38); user RFLAGS after it: IF set,
    /// AC and TF clear.
    fn unknown_syscall_is_enosys() {
        let _pages = UserPages::map()?;
        let (exit, ctx) = trip(&raw const usermode_test_enosys, 0)?;
        expect_exception(&exit, vector::BREAKPOINT)?;
        kassert_eq!(ctx.regs.rax as i64, -38);
        let u = ctx.regs.rdi;
        kassert!(u & IF != 0 && u & (AC | TF) == 0, "user rflags after sysret {:#x}", u);
        Ok(())
    }
}

ktest! {
    /// A read of an unmapped user address is a user-mode, not-present page fault at it.
    fn unmapped_user_read_is_page_fault() {
        let _pages = UserPages::map()?;
        kassert!(pmap::lookup(UNMAPPED_VA).is_none(), "probe address mapped");
        let (exit, ctx) = trip(&raw const usermode_test_touch, UNMAPPED_VA + 8)?;
        expect_exception(&exit, VECTOR_PF)?;
        kassert_eq!(exit.cr2, UNMAPPED_VA + 8);
        kassert!(exit.error & PF_USER != 0 && exit.error & PF_PRESENT == 0, "error {:#x}", exit.error);
        kassert_eq!(ctx.regs.rip, user_va(&raw const usermode_test_touch));
        Ok(())
    }
}

ktest! {
    /// User code reading kernel memory (the kernel image, and its own code page through the
    /// direct map) takes a protection-violation page fault instead of reading data.
    fn kernel_memory_is_not_user_readable() {
        let pages = UserPages::map()?;
        let kernel_text = enter as *const () as u64;
        let direct = pmap::phys_to_virt(pages.code_pa);
        for addr in [kernel_text, direct] {
            let (exit, ctx) = trip(&raw const usermode_test_touch, addr)?;
            expect_exception(&exit, VECTOR_PF)?;
            kassert_eq!(exit.cr2, addr);
            kassert!(exit.error & (PF_USER | PF_PRESENT) == PF_USER | PF_PRESENT, "error {:#x}", exit.error);
            kassert!(ctx.regs.rax == 0, "rax {:#x}: data leaked", ctx.regs.rax);
        }
        Ok(())
    }
}

ktest! {
    /// A syscall that rewrites the frame's rip leaves through IRET (counted) and user code
    /// resumes at the new rip.
    fn rewritten_frame_returns_by_iret() {
        let _pages = UserPages::map()?;
        let irets = SYSCALL_IRET_EXITS.load(Ordering::Relaxed);
        let (exit, ctx) = trip(&raw const usermode_test_jump, 0)?;
        expect_exception(&exit, vector::BREAKPOINT)?;
        kassert_eq!(ctx.regs.rip, user_va(&raw const usermode_test_jump_target) + 1);
        kassert_eq!(ctx.regs.rax, 0);
        kassert_eq!(SYSCALL_IRET_EXITS.load(Ordering::Relaxed), irets + 1);
        Ok(())
    }
}

ktest! {
    /// A privileged instruction in user mode comes back as #GP; a syscall can end the trip.
    fn gp_and_syscall_exit_come_back() {
        let _pages = UserPages::map()?;
        let (exit, ctx) = trip(&raw const usermode_test_priv, 0)?;
        expect_exception(&exit, VECTOR_GP)?;
        kassert_eq!(ctx.regs.rip, user_va(&raw const usermode_test_priv));
        let (exit, ctx) = trip(&raw const usermode_test_exit, 0)?;
        kassert!(exit.kind == ExitKind::Syscall && exit.vector == SYSCALL_VECTOR, "{:?}", exit);
        kassert_eq!(exit.error, nr::TEST_RETURN_TO_KERNEL);
        kassert_eq!(ctx.regs.rdi, 0x5a5a);
        kassert!(exit.vector != VECTOR_UD, "ran past the syscall");
        Ok(())
    }
}

ktest! {
    /// User mode sees its own GS and FS bases (swapgs on the way out), the kernel gets its
    /// GS back, and the user bases come back in the context.
    fn user_fs_gs_bases() {
        let pages = UserPages::map()?;
        pages.poke_stack(8, 0x6767_6767);
        pages.poke_stack(16, 0xf5f5_f5f5);
        let mut ctx = UserContext::new(user_va(&raw const usermode_test_segs), STACK_VA + PAGE);
        ctx.gs_base = STACK_VA;
        ctx.fs_base = STACK_VA;
        let exit = enter(&mut ctx);
        expect_exception(&exit, vector::BREAKPOINT)?;
        kassert_eq!(ctx.regs.rax, 0x6767_6767);
        kassert_eq!(ctx.regs.rbx, 0xf5f5_f5f5);
        kassert_eq!((ctx.gs_base, ctx.fs_base), (STACK_VA, STACK_VA));
        kassert!(GsBase::read().as_u64() >= abi::boot::DIRECT_MAP_BASE, "kernel GS not restored");
        kassert_eq!(globaldata::mycpu().cpuid, 0);
        Ok(())
    }
}

/// A kernel function the SMAP probe calls to read a user address.
extern "C" fn kernel_read_u64(addr: u64) -> u64 {
    // SAFETY: deliberately reads a user address from kernel mode with AC clear; SMAP makes it
    // fault, and the probe that calls this turns the fault into an Exit.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

ktest! {
    /// SMEP: the kernel cannot execute a user page; SMAP: it cannot read one with AC clear.
    /// Both faults come back through a kernel probe (kernel-mode, present-page faults).
    fn smep_smap_stop_the_kernel() {
        let f = cpu::features();
        let _pages = UserPages::map()?;
        const PF_FETCH: u64 = 1 << 4;
        // A harmless call returns normally.
        let here = &raw const usermode_test_code as u64;
        kassert!(probe_kernel_fault(kernel_read_u64 as *const () as u64, here).is_none(), "probe faulted");
        if f.smep {
            let code = user_va(&raw const usermode_test_echo);
            let e = probe_kernel_fault(code, 0).ok_or("the kernel executed a user page")?;
            expect_exception(&e, VECTOR_PF)?;
            kassert_eq!(e.cr2, code);
            kassert!(e.error & (PF_PRESENT | PF_FETCH | PF_USER) == PF_PRESENT | PF_FETCH, "error {:#x}", e.error);
        }
        if f.smap {
            let e = probe_kernel_fault(kernel_read_u64 as *const () as u64, STACK_VA)
                .ok_or("the kernel read a user page with AC clear")?;
            expect_exception(&e, VECTOR_PF)?;
            kassert_eq!(e.cr2, STACK_VA);
            kassert!(e.error & (PF_PRESENT | PF_FETCH | PF_USER) == PF_PRESENT, "error {:#x}", e.error);
        }
        kassert!(f.smep && f.smap, "this CPU lacks SMEP or SMAP, which DESIGN.md rule 3 relies on");
        Ok(())
    }
}
