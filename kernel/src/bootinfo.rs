//! The kernel's copy of the loader's boot information. The loader's copy lives in memory the
//! kernel will reuse, so it is copied into the kernel image once, first thing.
use abi::boot::{BootInfo, DIRECT_MAP_BASE};
use spin::Once;

static BOOT_INFO: Once<BootInfo> = Once::new();

/// Copies and validates the loader's structure at physical address `phys`, reached through
/// the loader's direct map.
pub fn init(phys: u64) -> Result<&'static BootInfo, &'static str> {
    if phys == 0 || !phys.is_multiple_of(8) || phys >= (1 << 46) {
        return Err("boot information pointer is invalid");
    }
    let ptr = (DIRECT_MAP_BASE + phys) as *const BootInfo;
    // SAFETY: the loader contract (abi::boot) guarantees the direct map covers all RAM and
    // that rdi points at a BootInfo it filled; read_unaligned copies it whatever its layout.
    let copy = unsafe { core::ptr::read_unaligned(ptr) };
    if !copy.is_valid() {
        return Err("boot information has a bad magic, version or size (loader/kernel mismatch?)");
    }
    Ok(BOOT_INFO.call_once(|| copy))
}

/// The boot information. Panics only if called before [`init`] (a kernel bug).
pub fn get() -> &'static BootInfo {
    BOOT_INFO.get().expect("bootinfo::get() before bootinfo::init()")
}
