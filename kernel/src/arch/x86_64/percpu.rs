//! The machine-dependent head of every CPU's globaldata, reached through GS.
//!
//! Assembly (syscall entry, context switch) reads these fields at fixed offsets from GS, so
//! the layout is fixed here and nowhere else. MSR_GS_BASE holds a kernel address at all times
//! while in the kernel, which the paranoid entry path relies on to decide `swapgs`.
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use x86_64::registers::model_specific::{GsBase, KernelGsBase};
use x86_64::VirtAddr;

/// `gs:GS_SELF` holds the header's own address.
pub const GS_SELF: usize = 0;
/// `gs:GS_CURTHREAD` holds the running thread.
pub const GS_CURTHREAD: usize = 8;
/// `gs:GS_KSTACK_TOP` holds the top of the running thread's kernel stack (syscall entry).
pub const GS_KSTACK_TOP: usize = 16;
/// `gs:GS_USER_RSP` is scratch for the user stack pointer during syscall entry.
pub const GS_USER_RSP: usize = 24;
/// `gs:GS_CPUID` holds the CPU number (u32).
pub const GS_CPUID: usize = 32;

/// Fields only the owning CPU writes; atomics (relaxed: plain moves) so the structure is
/// `Sync` and other CPUs may read them for diagnostics.
#[repr(C)]
pub struct PcpuHeader {
    self_ptr: AtomicU64,
    /// The running thread (a `*const lwkt::Thread`), 0 before threads exist.
    pub curthread: AtomicU64,
    /// Top of the running thread's kernel stack.
    pub kstack_top: AtomicU64,
    /// Syscall-entry scratch.
    pub user_rsp: AtomicU64,
    /// This CPU's number.
    pub cpuid: AtomicU32,
    /// This CPU's local APIC id.
    pub apic_id: AtomicU32,
}

const _: () = {
    assert!(core::mem::offset_of!(PcpuHeader, self_ptr) == GS_SELF);
    assert!(core::mem::offset_of!(PcpuHeader, curthread) == GS_CURTHREAD);
    assert!(core::mem::offset_of!(PcpuHeader, kstack_top) == GS_KSTACK_TOP);
    assert!(core::mem::offset_of!(PcpuHeader, user_rsp) == GS_USER_RSP);
    assert!(core::mem::offset_of!(PcpuHeader, cpuid) == GS_CPUID);
};

impl PcpuHeader {
    /// A header for CPU `cpuid`; [`install`] fills in the self pointer.
    pub const fn new(cpuid: u32, apic_id: u32) -> PcpuHeader {
        PcpuHeader {
            self_ptr: AtomicU64::new(0),
            curthread: AtomicU64::new(0),
            kstack_top: AtomicU64::new(0),
            user_rsp: AtomicU64::new(0),
            cpuid: AtomicU32::new(cpuid),
            apic_id: AtomicU32::new(apic_id),
        }
    }
}

/// Points this CPU's GS at `header` (which must live for ever); user GS starts at 0.
pub fn install(header: &'static PcpuHeader) {
    let addr = header as *const PcpuHeader as u64;
    header.self_ptr.store(addr, Ordering::Relaxed);
    // The header is 'static, so GS stays valid; KERNEL_GS_BASE is the user value swapped in
    // on the way out to user mode.
    GsBase::write(VirtAddr::new(addr));
    KernelGsBase::write(VirtAddr::new(0));
}

/// This CPU's header (the address at `gs:0`).
#[inline]
pub fn current() -> &'static PcpuHeader {
    let p: u64;
    // SAFETY: GS points at an installed 'static header whose first field is its address;
    // every CPU installs one before it enables interrupts or runs any other code that calls this.
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) p, options(nostack, readonly, preserves_flags));
        &*(p as *const PcpuHeader)
    }
}

/// This CPU's header, or `None` when GS does not point at one yet (early boot). For fatal
/// paths, which must not fault on a missing GS.
pub fn try_current() -> Option<&'static PcpuHeader> {
    let base = GsBase::read().as_u64();
    // A kernel-half GS base is only ever set by `install`.
    (base >= abi::boot::DIRECT_MAP_BASE).then(current)
}
