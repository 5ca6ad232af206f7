//! The HPET main counter (DragonFly's `dev/acpica/acpi_hpet.c` as a timecounter): mapped,
//! enabled, read. Its comparators are not used; the LAPIC timer drives the systimers.
use crate::arch::x86_64::acpi::HpetDesc;
use crate::arch::x86_64::pmap;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const GEN_CAP: u64 = 0x00;
const GEN_CONF: u64 = 0x10;
const MAIN_COUNTER: u64 = 0xf0;
const ENABLE_CNF: u64 = 1;
/// The specification's slowest allowed tick: 100 ns, in femtoseconds.
const MAX_PERIOD_FS: u64 = 100_000_000;

static VA: AtomicU64 = AtomicU64::new(0);
static PERIOD_FS: AtomicU64 = AtomicU64::new(0);
static WIDE: AtomicBool = AtomicBool::new(false);

fn read(off: u64) -> u64 {
    // SAFETY: VA maps the HPET's 1 KiB register block uncached (set in `init` before any
    // read), and `off` is one of its 8-byte-aligned registers.
    unsafe { ((VA.load(Ordering::Relaxed) + off) as *const u64).read_volatile() }
}

fn write(off: u64, v: u64) {
    // SAFETY: as in `read`.
    unsafe { ((VA.load(Ordering::Relaxed) + off) as *mut u64).write_volatile(v) }
}

/// Maps the HPET and starts its main counter. Fails (logged by the caller) when the block
/// cannot be mapped or reports an impossible tick period.
pub fn init(d: &HpetDesc) -> Result<(), &'static str> {
    let va = pmap::map_device(d.phys, 1024).ok_or("cannot map the HPET")?;
    VA.store(va, Ordering::Release);
    let period = read(GEN_CAP) >> 32;
    if period == 0 || period > MAX_PERIOD_FS {
        VA.store(0, Ordering::Release);
        return Err("HPET reports an impossible period");
    }
    WIDE.store(d.counter_64bit, Ordering::Relaxed);
    write(GEN_CONF, read(GEN_CONF) | ENABLE_CNF);
    PERIOD_FS.store(period, Ordering::Release);
    Ok(())
}

/// True once the counter runs.
pub fn available() -> bool {
    PERIOD_FS.load(Ordering::Acquire) != 0
}

/// The main counter (0 when there is no HPET).
pub fn counter() -> u64 {
    if !available() {
        return 0;
    }
    read(MAIN_COUNTER)
}

/// Femtoseconds per tick.
pub fn period_fs() -> u64 {
    PERIOD_FS.load(Ordering::Acquire)
}

/// Ticks between two counter reads, allowing for a 32-bit counter's wrap.
pub fn elapsed(from: u64, to: u64) -> u64 {
    if WIDE.load(Ordering::Relaxed) {
        to.wrapping_sub(from)
    } else {
        (to as u32).wrapping_sub(from as u32) as u64
    }
}

/// Spins until `ns` nanoseconds of HPET time have passed.
pub fn spin_ns(ns: u64) {
    let ticks = (ns as u128 * 1_000_000 / period_fs().max(1) as u128) as u64;
    let start = counter();
    while elapsed(start, counter()) < ticks {
        core::hint::spin_loop();
    }
}
