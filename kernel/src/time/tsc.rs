//! The TSC as the monotonic clock: calibrated once against the HPET (or the PIT), read
//! without locks on every CPU, clamped per CPU so it never runs backwards.
use crate::lwkt::globaldata::MAXCPU;
use core::sync::atomic::{AtomicU64, Ordering};

/// TSC value at nanotime 0.
static BASE: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per TSC cycle, as a 32.32 fixed-point number (0 before calibration).
static MULT: AtomicU64 = AtomicU64::new(0);
/// TSC cycles per second.
static HZ: AtomicU64 = AtomicU64::new(0);
/// The last value each CPU's nanotime returned.
static LAST: [AtomicU64; MAXCPU] = [const { AtomicU64::new(0) }; MAXCPU];
/// Reads where a CPU's TSC-derived time was behind its last result and got clamped.
pub static CLAMPED: AtomicU64 = AtomicU64::new(0);

/// The time-stamp counter.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects; CR4.TSD is clear so it works at any privilege.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Measures the TSC over 20 ms of HPET time, or 20 ms of PIT time without an HPET; sets the
/// clock's zero to now. Returns the TSC frequency in Hz.
pub fn calibrate() -> Result<u64, &'static str> {
    const WINDOW_NS: u64 = 20_000_000;
    let cycles = if super::hpet::available() {
        let (h0, t0) = (super::hpet::counter(), rdtsc());
        super::hpet::spin_ns(WINDOW_NS);
        let (h1, t1) = (super::hpet::counter(), rdtsc());
        let ns = super::hpet::elapsed(h0, h1) as u128 * super::hpet::period_fs() as u128 / 1_000_000;
        (t1 - t0) as u128 * WINDOW_NS as u128 / ns.max(1)
    } else {
        super::pit::measure_tsc(WINDOW_NS / 1000).ok_or("no HPET and the PIT does not count")? as u128
    };
    let hz = (cycles * 1_000_000_000 / WINDOW_NS as u128) as u64;
    if hz < 1_000_000 {
        return Err("TSC runs below 1 MHz");
    }
    HZ.store(hz, Ordering::Relaxed);
    BASE.store(rdtsc(), Ordering::Relaxed);
    MULT.store(((1_000_000_000u128 << 32) / hz as u128) as u64, Ordering::Release);
    Ok(hz)
}

/// TSC cycles per second (0 before calibration).
pub fn hz() -> u64 {
    HZ.load(Ordering::Relaxed)
}

/// Nanoseconds since calibration; never less than this CPU's previous result.
#[inline]
pub fn nanotime() -> u64 {
    let mult = MULT.load(Ordering::Acquire);
    if mult == 0 {
        return 0;
    }
    let d = rdtsc().saturating_sub(BASE.load(Ordering::Relaxed));
    let ns = ((d as u128 * mult as u128) >> 32) as u64;
    let cpu =
        crate::arch::x86_64::percpu::try_current().map_or(0, |h| h.cpuid.load(Ordering::Relaxed) as usize);
    let prev = LAST[cpu % MAXCPU].fetch_max(ns, Ordering::Relaxed);
    if prev > ns {
        CLAMPED.fetch_add(1, Ordering::Relaxed);
        prev
    } else {
        ns
    }
}
