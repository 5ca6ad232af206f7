//! The LWKT side of starting application processors: the stack an AP starts on (which becomes
//! its idle thread's stack), the IPI rings to and from it, and the function it enters once its
//! machine-dependent setup is done.
use super::globaldata::GlobalData;
use crate::mem::kstack;
use core::sync::atomic::{AtomicU64, Ordering};

/// Bit n set: CPU n runs.
static ONLINE: AtomicU64 = AtomicU64::new(1);

/// Prepares AP `gd` (on the boot CPU, before it starts): its IPI rings, and the guarded stack
/// it starts on, whose top is returned. `None` when memory is short.
pub fn ap_boot_stack(gd: &GlobalData) -> Option<u64> {
    super::ipiq::init_cpu(gd.cpuid);
    // The stack stays the AP's idle thread's for ever; it is never freed.
    let stack = kstack::alloc(super::thread::KSTACK_PAGES)?;
    gd.md.kstack_top.store(stack.top(), Ordering::Relaxed);
    Some(stack.top())
}

/// Entered on the AP, on the stack from [`ap_boot_stack`], after its GDT, TSS, IDT, control
/// registers and local APIC are set up and GS points at `gd`: the AP becomes an LWKT CPU whose
/// running context is its idle thread.
pub fn ap_main(gd: &'static GlobalData) -> ! {
    let top = gd.md.kstack_top.load(Ordering::Relaxed);
    ONLINE.fetch_or(1 << gd.cpuid, Ordering::AcqRel);
    super::sched::ap_start(gd, top)
}

/// The mask of CPUs that are running.
pub fn online_mask() -> u64 {
    ONLINE.load(Ordering::Acquire)
}
