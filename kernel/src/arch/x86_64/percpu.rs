//! The per-CPU area reached through GS. Issue 3 grows this into DragonFly's globaldata;
//! for now it holds what the trap path needs: a self pointer and the CPU number, and it keeps
//! MSR_GS_BASE a kernel address at all times, which the paranoid entry path relies on.
use x86_64::registers::model_specific::{GsBase, KernelGsBase};
use x86_64::VirtAddr;

/// Per-CPU data; the first field points to the structure itself so `gs:0` yields it.
#[repr(C)]
pub struct PerCpu {
    self_ptr: u64,
    /// This CPU's number.
    pub cpuid: u32,
}

static mut BSP: PerCpu = PerCpu { self_ptr: 0, cpuid: 0 };

/// Points GS at the boot CPU's area; user GS (KERNEL_GS_BASE while in the kernel) starts at 0.
pub fn init_bsp() {
    let p = &raw mut BSP;
    // SAFETY: runs once on the boot CPU before anything reads BSP through GS; the pointer is
    // to a static, so it stays valid.
    unsafe {
        (*p).self_ptr = p as u64;
        GsBase::write(VirtAddr::new(p as u64));
        KernelGsBase::write(VirtAddr::new(0));
    }
}
