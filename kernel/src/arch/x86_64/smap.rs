//! SMAP support: every `clac`/`stac` the kernel executes is listed in `.smap_sites`; on a CPU
//! without SMAP those instructions would raise #UD, so they are overwritten with a 3-byte NOP
//! once, before the kernel maps its text read-only.
use core::sync::atomic::{AtomicBool, Ordering};

extern "C" {
    static __smap_sites_start: u64;
    static __smap_sites_end: u64;
}

static PATCHED: AtomicBool = AtomicBool::new(false);

/// Turns every recorded `clac`/`stac` into `nop dword [rax]` (0f 1f 00).
pub fn patch_out_clac_stac() {
    if PATCHED.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: the linker script brackets .smap_sites with these symbols; the section holds
    // only 8-byte addresses emitted by the SMAP_CLAC/SMAP_STAC assembler macros.
    let sites = unsafe {
        let start = &raw const __smap_sites_start;
        let end = &raw const __smap_sites_end;
        core::slice::from_raw_parts(start, end.offset_from(start) as usize)
    };
    for &site in sites {
        // SAFETY: each site is the address of a 3-byte clac/stac in kernel text, which the
        // loader mapped writable and the kernel has not yet write-protected (the kernel pmap
        // is built after this runs); no other CPU runs yet.
        unsafe { core::ptr::copy_nonoverlapping([0x0fu8, 0x1f, 0x00].as_ptr(), site as *mut u8, 3) };
    }
}
