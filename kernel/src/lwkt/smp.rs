//! The LWKT side of starting application processors: the stack an AP starts on and the
//! function it enters once its machine-dependent setup is done.
//!
//! Provisional: until LWKT threads exist an AP starts on a plain allocated stack and idles.
#![allow(dead_code)] // The AP start-up code that calls these lands next.
use super::globaldata::GlobalData;
use crate::mem::{phys, PAGE_SIZE};
use core::sync::atomic::{AtomicU64, Ordering};

/// Pages of the stack an AP starts on.
const AP_STACK_PAGES: usize = 4;

/// Bit n set: CPU n runs.
static ONLINE: AtomicU64 = AtomicU64::new(1);

/// The top of the stack AP `gd` starts on (called on the boot CPU before the AP starts), or
/// `None` when memory is short.
pub fn ap_boot_stack(_gd: &GlobalData) -> Option<u64> {
    let pa = phys::alloc_contiguous(AP_STACK_PAGES)?;
    Some(crate::arch::x86_64::pmap::phys_to_virt(pa) + (AP_STACK_PAGES * PAGE_SIZE) as u64)
}

/// Entered on the AP, on the stack from [`ap_boot_stack`], after its GDT, TSS, IDT, control
/// registers and local APIC are set up and GS points at `gd`.
pub fn ap_main(gd: &'static GlobalData) -> ! {
    ONLINE.fetch_or(1 << gd.cpuid, Ordering::AcqRel);
    crate::arch::x86_64::cpu::idle_forever()
}

/// The mask of CPUs that are running.
pub fn online_mask() -> u64 {
    ONLINE.load(Ordering::Acquire)
}
