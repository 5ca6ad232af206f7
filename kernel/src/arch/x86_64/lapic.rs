//! The local APIC (DragonFly's `platform/pc64/apic/lapic.c`): enable, EOI, IPIs, INIT/SIPI,
//! the one-shot timer and the error interrupt.
//!
//! xAPIC registers through an uncached MMIO mapping; x2APIC MSRs only where CPUID reports
//! x2APIC (TCG has none). Every CPU runs [`init_this_cpu`]; the mapping is shared.
use super::pmap;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::registers::model_specific::Msr;

/// LAPIC timer vector.
pub const VECTOR_TIMER: u8 = 0xf0;
/// IPIQ doorbell vector.
pub const VECTOR_IPIQ: u8 = 0xf1;
/// LAPIC error vector.
pub const VECTOR_ERROR: u8 = 0xfe;
/// Spurious-interrupt vector (its low four bits must be 1s on old APICs).
pub const VECTOR_SPURIOUS: u8 = 0xff;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_X2APIC: u64 = 1 << 10;

mod reg {
    pub const ID: u32 = 0x20;
    pub const TPR: u32 = 0x80;
    pub const EOI: u32 = 0xb0;
    pub const SVR: u32 = 0xf0;
    pub const ESR: u32 = 0x280;
    pub const ICR_LOW: u32 = 0x300;
    pub const ICR_HIGH: u32 = 0x310;
    pub const LVT_TIMER: u32 = 0x320;
    pub const LVT_LINT0: u32 = 0x350;
    pub const LVT_LINT1: u32 = 0x360;
    pub const LVT_ERROR: u32 = 0x370;
    pub const TIMER_INIT: u32 = 0x380;
    pub const TIMER_CURRENT: u32 = 0x390;
    pub const TIMER_DIVIDE: u32 = 0x3e0;
}

const LVT_MASKED: u32 = 1 << 16;
const LVT_NMI: u32 = 4 << 8;
const ICR_PENDING: u32 = 1 << 12;
const ICR_INIT: u32 = 5 << 8;
const ICR_STARTUP: u32 = 6 << 8;
const ICR_ASSERT: u32 = 1 << 14;
const ICR_LEVEL: u32 = 1 << 15;
/// Divide configuration 0b0011: the timer counts at the bus clock / 16.
const DIVIDE_16: u32 = 0x3;

/// Virtual address of the xAPIC registers (0 before [`init_bsp`] or in x2APIC mode).
static MMIO: AtomicU64 = AtomicU64::new(0);
static X2APIC: AtomicBool = AtomicBool::new(false);
/// LAPIC errors seen (the error interrupt's count and last ESR value).
pub static ERRORS: AtomicU64 = AtomicU64::new(0);
static LAST_ESR: AtomicU64 = AtomicU64::new(0);

fn read(r: u32) -> u32 {
    if X2APIC.load(Ordering::Relaxed) {
        // SAFETY: x2APIC mode is on (init enabled it after CPUID said it exists) and every
        // register used here has an MSR at 0x800 + offset/16.
        return unsafe { Msr::new(0x800 + (r >> 4)).read() } as u32;
    }
    let base = MMIO.load(Ordering::Relaxed);
    assert!(base != 0, "lapic: register access before init");
    // SAFETY: base maps the 4 KiB xAPIC page uncached; r is a register offset in it.
    unsafe { ((base + r as u64) as *const u32).read_volatile() }
}

fn write(r: u32, v: u32) {
    if X2APIC.load(Ordering::Relaxed) {
        // SAFETY: as in `read`; writes to these MSRs have only the APIC effects intended.
        unsafe { Msr::new(0x800 + (r >> 4)).write(v as u64) };
        return;
    }
    let base = MMIO.load(Ordering::Relaxed);
    assert!(base != 0, "lapic: register access before init");
    // SAFETY: as in `read`.
    unsafe { ((base + r as u64) as *mut u32).write_volatile(v) }
}

/// Maps the local APIC at `phys` (from the MADT) and enables it on the boot CPU.
pub fn init_bsp(phys: u64) -> Result<(), &'static str> {
    if super::cpu::features().x2apic {
        X2APIC.store(true, Ordering::Relaxed);
    } else {
        let va = pmap::map_device(phys, 4096).ok_or("cannot map the local APIC")?;
        MMIO.store(va, Ordering::Release);
    }
    init_this_cpu();
    Ok(())
}

/// Enables this CPU's local APIC: spurious vector 0xff, error vector 0xfe, timer masked on
/// vector 0xf0, LINT0 masked (the 8259s are off), LINT1 as NMI, priority 0.
pub fn init_this_cpu() {
    let x2 = X2APIC.load(Ordering::Relaxed);
    let mut base = Msr::new(IA32_APIC_BASE);
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; only the enable bits change, and
    // x2APIC mode is set only when CPUID reported it.
    unsafe {
        let v = base.read() | APIC_BASE_ENABLE | if x2 { APIC_BASE_X2APIC } else { 0 };
        base.write(v);
    }
    write(reg::TPR, 0);
    write(reg::LVT_LINT0, LVT_MASKED);
    write(reg::LVT_LINT1, LVT_NMI);
    write(reg::LVT_ERROR, VECTOR_ERROR as u32);
    write(reg::TIMER_DIVIDE, DIVIDE_16);
    write(reg::LVT_TIMER, LVT_MASKED | VECTOR_TIMER as u32);
    // ESR must be written before it is read (the write latches the errors).
    write(reg::ESR, 0);
    write(reg::ESR, 0);
    write(reg::SVR, 0x100 | VECTOR_SPURIOUS as u32);
    eoi();
}

/// This CPU's local APIC id as the hardware reports it.
pub fn id() -> u32 {
    if X2APIC.load(Ordering::Relaxed) {
        read(reg::ID)
    } else {
        read(reg::ID) >> 24
    }
}

/// Signals end of interrupt (never for the spurious vector).
#[inline]
pub fn eoi() {
    write(reg::EOI, 0);
}

/// Waits (bounded) for the previous IPI to leave, then sends `icr_low` to `apic_id`.
fn send(apic_id: u32, icr_low: u32) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        if X2APIC.load(Ordering::Relaxed) {
            // SAFETY: x2APIC mode is on; the ICR MSR takes the destination in bits 32..63.
            unsafe { Msr::new(0x830).write(((apic_id as u64) << 32) | icr_low as u64) };
            return;
        }
        // The delivery-status bit clears within microseconds; bound the wait anyway.
        for _ in 0..100_000 {
            if read(reg::ICR_LOW) & ICR_PENDING == 0 {
                break;
            }
            core::hint::spin_loop();
        }
        write(reg::ICR_HIGH, apic_id << 24);
        write(reg::ICR_LOW, icr_low);
    });
}

/// Sends a fixed interrupt on `vector` to the CPU with local APIC id `apic_id`.
pub fn send_ipi(apic_id: u32, vector: u8) {
    send(apic_id, vector as u32);
}

/// Sends INIT (assert, then the level de-assert old CPUs need).
pub fn send_init(apic_id: u32) {
    send(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
    send(apic_id, ICR_INIT | ICR_LEVEL);
}

/// Sends a STARTUP IPI: the AP starts in real mode at `page << 12`.
pub fn send_startup(apic_id: u32, page: u8) {
    send(apic_id, ICR_STARTUP | page as u32);
}

/// Arms the timer one-shot for `count` ticks (bus clock / 16) on vector 0xf0.
pub fn timer_oneshot(count: u32) {
    write(reg::LVT_TIMER, VECTOR_TIMER as u32);
    write(reg::TIMER_INIT, count.max(1));
}

/// Stops the timer.
pub fn timer_stop() {
    write(reg::LVT_TIMER, LVT_MASKED | VECTOR_TIMER as u32);
    write(reg::TIMER_INIT, 0);
}

/// Starts the masked timer counting down from `u32::MAX` (for calibration).
pub fn timer_start_free() {
    write(reg::LVT_TIMER, LVT_MASKED | VECTOR_TIMER as u32);
    write(reg::TIMER_INIT, u32::MAX);
}

/// The timer's current count.
pub fn timer_current() -> u32 {
    read(reg::TIMER_CURRENT)
}

/// The error interrupt: latch and count the error status (no logging in interrupt context).
pub fn error_interrupt() {
    write(reg::ESR, 0);
    LAST_ESR.store(read(reg::ESR) as u64, Ordering::Relaxed);
    ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// True once the local APIC is usable (xAPIC mapped or x2APIC on).
pub fn available() -> bool {
    X2APIC.load(Ordering::Relaxed) || MMIO.load(Ordering::Relaxed) != 0
}
