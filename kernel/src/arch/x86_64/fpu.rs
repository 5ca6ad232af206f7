//! FPU/SSE/AVX state: XCR0 setup and the save area user threads will carry.
//!
//! The kernel itself is built soft-float and never touches these registers, so user state is
//! switched with the thread, not at every kernel entry. Areas use plain XSAVE/XRSTOR (TCG has
//! no XSAVEC/XSAVES) and are 64-byte aligned.
use super::cpu::Features;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use raw_cpuid::CpuId;
use x86_64::registers::xcontrol::{XCr0, XCr0Flags};

/// Size of a save area for the state enabled in XCR0 (512 with FXSAVE only).
static AREA_SIZE: AtomicUsize = AtomicUsize::new(512);
static USE_XSAVE: AtomicBool = AtomicBool::new(false);

/// Default x87 control word: all exceptions masked, 64-bit precision.
pub const FCW_DEFAULT: u16 = 0x37f;
/// Default MXCSR: all SIMD exceptions masked. XRSTOR loads MXCSR whatever XSTATE_BV says,
/// so a zeroed area would unmask every exception.
pub const MXCSR_DEFAULT: u32 = 0x1f80;
/// Alignment XSAVE requires.
pub const AREA_ALIGN: usize = 64;
/// Offset of MXCSR in the legacy region.
pub const MXCSR_OFFSET: usize = 24;
/// Offset of XMM0 in the legacy region.
pub const XMM0_OFFSET: usize = 160;

/// Enables x87, SSE and (where present) AVX state in XCR0 and records the area size.
pub fn init_this_cpu(f: &Features) {
    if !f.xsave {
        return;
    }
    let mut xcr0 = XCr0Flags::X87 | XCr0Flags::SSE;
    if f.avx {
        xcr0 |= XCr0Flags::AVX;
    }
    // SAFETY: CR4.OSXSAVE is set (cpu::init_this_cpu) and each bit is backed by CPUID; PKRU
    // and AVX-512 stay off.
    unsafe { XCr0::write(xcr0) };
    let size = CpuId::new().get_extended_state_info().map_or(512, |x| x.xsave_area_size_enabled_features());
    AREA_SIZE.store((size as usize).max(512 + 64), Ordering::Relaxed);
    USE_XSAVE.store(true, Ordering::Relaxed);
}

/// Bytes a save area needs on this machine.
pub fn xsave_area_size() -> usize {
    AREA_SIZE.load(Ordering::Relaxed)
}

/// Writes the initial state into a fresh area: default FCW and MXCSR, empty XSAVE header.
pub fn init_area(area: &mut [u8]) {
    area.fill(0);
    area[0..2].copy_from_slice(&FCW_DEFAULT.to_le_bytes());
    area[MXCSR_OFFSET..MXCSR_OFFSET + 4].copy_from_slice(&MXCSR_DEFAULT.to_le_bytes());
}

/// Saves this CPU's FPU state into `area`.
///
/// # Safety
/// `area` must point to [`xsave_area_size`] writable bytes aligned to [`AREA_ALIGN`].
pub unsafe fn save(area: *mut u8) {
    if USE_XSAVE.load(Ordering::Relaxed) {
        // SAFETY: the caller provides an aligned area of the size CPUID gave for XCR0.
        unsafe { core::arch::asm!("xsave64 [{}]", in(reg) area, in("eax") u32::MAX, in("edx") u32::MAX) };
    } else {
        // SAFETY: as above; FXSAVE needs 512 bytes aligned to 16.
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) area) };
    }
}

/// Loads this CPU's FPU state from `area`.
///
/// # Safety
/// `area` must satisfy [`save`]'s requirements and hold a valid image (reserved MXCSR bits
/// clear, a valid XSAVE header), e.g. one made by [`init_area`] or [`save`].
pub unsafe fn restore(area: *const u8) {
    if USE_XSAVE.load(Ordering::Relaxed) {
        // SAFETY: the caller guarantees a valid, aligned image.
        unsafe { core::arch::asm!("xrstor64 [{}]", in(reg) area, in("eax") u32::MAX, in("edx") u32::MAX) };
    } else {
        // SAFETY: as above.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) area) };
    }
}

/// Makes an image that came from user memory (a signal frame) safe to load: XRSTOR faults
/// on reserved MXCSR bits, on state-component bits XCR0 does not enable, on a compacted
/// header and on non-zero header reserved bytes, so those are cleared.
pub fn sanitize_area(area: &mut [u8]) {
    const MXCSR_MASK: u32 = 0xffbf;
    if area.len() < 512 {
        return;
    }
    let mxcsr = u32::from_le_bytes([area[24], area[25], area[26], area[27]]) & MXCSR_MASK;
    area[MXCSR_OFFSET..MXCSR_OFFSET + 4].copy_from_slice(&mxcsr.to_le_bytes());
    if USE_XSAVE.load(Ordering::Relaxed) && area.len() >= 512 + 64 {
        let xcr0 = XCr0::read_raw();
        let mut bv = [0u8; 8];
        bv.copy_from_slice(&area[512..520]);
        let bv = u64::from_le_bytes(bv) & xcr0;
        area[512..520].copy_from_slice(&bv.to_le_bytes());
        area[520..576].fill(0);
    }
}

mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::alloc::{alloc_zeroed, dealloc, Layout};

    ktest! {
        /// XCR0 holds exactly what the CPU offers of x87/SSE/AVX, and the area fits it.
        fn xcr0_and_area_size() {
            let f = crate::arch::x86_64::cpu::features();
            if f.xsave {
                let x = XCr0::read();
                kassert!(x.contains(XCr0Flags::X87 | XCr0Flags::SSE), "xcr0 {:?}", x);
                kassert_eq!(x.contains(XCr0Flags::AVX), f.avx);
                kassert!(!x.contains(XCr0Flags::MPK), "PKRU must stay off");
                let min = if f.avx { 512 + 64 + 256 } else { 512 + 64 };
                kassert!(xsave_area_size() >= min, "area {} < {}", xsave_area_size(), min);
            }
            Ok(())
        }
    }

    ktest! {
        /// A register value survives save, clobber and restore; restore of a fresh area
        /// gives the default MXCSR, not zero.
        fn save_restore_round_trip() {
            let layout = Layout::from_size_align(xsave_area_size(), AREA_ALIGN).map_err(|_| "layout")?;
            // SAFETY: the layout has a non-zero size.
            let p = unsafe { alloc_zeroed(layout) };
            kassert!(!p.is_null(), "out of memory");
            // SAFETY: p points to layout.size() bytes we own until dealloc below.
            let area = unsafe { core::slice::from_raw_parts_mut(p, layout.size()) };
            init_area(area);
            let got: u64;
            let mut mxcsr: u32 = 0;
            // SAFETY: area is a valid initial image of the right size and alignment; the
            // kernel does not use xmm0 or MXCSR, so clobbering them is harmless.
            unsafe {
                restore(p);
                core::arch::asm!("stmxcsr [{}]", in(reg) &raw mut mxcsr);
                core::arch::asm!("movq xmm0, {}", in(reg) 0x1234_5678_9abc_def0u64);
                save(p);
                core::arch::asm!("pxor xmm0, xmm0");
                restore(p);
                core::arch::asm!("movq {}, xmm0", out(reg) got);
            }
            let saved = u64::from_le_bytes(area[XMM0_OFFSET..XMM0_OFFSET + 8].try_into().unwrap_or([0; 8]));
            // SAFETY: allocated above with this layout.
            unsafe { dealloc(p, layout) };
            kassert_eq!(mxcsr, MXCSR_DEFAULT);
            kassert_eq!(saved, 0x1234_5678_9abc_def0);
            kassert_eq!(got, 0x1234_5678_9abc_def0);
            Ok(())
        }
    }
}
