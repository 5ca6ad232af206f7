//! Time (DragonFly's kern_clock.c, kern_systimer.c and the pc64 clock code): the HPET,
//! the TSC calibrated against it as the monotonic [`nanotime`], the wall clock from the CMOS
//! RTC, and per-CPU systimers on the LAPIC timer.
pub mod hpet;
pub mod pit;
pub mod rtc;
pub mod systimer;
pub mod tsc;

use core::sync::atomic::{AtomicU64, Ordering};

/// Unix time in ns at nanotime 0 (0 when the RTC could not be read).
static BOOT_WALL_NS: AtomicU64 = AtomicU64::new(0);

/// Monotonic nanoseconds since the clock was calibrated at boot (0 before). Never goes
/// backwards on a CPU; TSCs are synchronised across CPUs on the machines Damselfly runs on.
#[inline]
pub fn nanotime() -> u64 {
    tsc::nanotime()
}

/// Wall-clock time: nanoseconds since the Unix epoch (the RTC at boot plus nanotime),
/// saturating rather than wrapping however far the clock was set.
pub fn realtime() -> u64 {
    BOOT_WALL_NS.load(Ordering::Relaxed).saturating_add(nanotime())
}

/// What [`realtime`] reads ahead of [`nanotime`] (the wall clock at nanotime 0), ns.
pub fn realtime_offset() -> u64 {
    BOOT_WALL_NS.load(Ordering::Relaxed)
}

/// Sets the wall clock to `ns` since the Unix epoch (clock_settime, settimeofday). EINVAL
/// when that is before the monotonic clock's zero (Linux refuses a wall clock behind the
/// monotonic one). Deadlines already armed on the wall clock keep their monotonic instant.
pub fn set_realtime(ns: u64) -> Result<(), i32> {
    let offset = ns.checked_sub(nanotime()).ok_or(abi::errno::EINVAL)?;
    BOOT_WALL_NS.store(offset, Ordering::Relaxed);
    Ok(())
}

/// Spins for at least `us` microseconds (before calibration: on the HPET, else the PIT).
pub fn delay_us(us: u64) {
    if tsc::hz() != 0 {
        let t0 = nanotime();
        while nanotime() - t0 < us * 1000 {
            core::hint::spin_loop();
        }
    } else if hpet::available() {
        hpet::spin_ns(us * 1000);
    } else {
        let _ = pit::measure_tsc(us.min(50_000));
    }
}

/// Starts the clocks on the boot CPU: HPET, TSC calibration, the RTC wall clock, the LAPIC
/// timer's calibration, and this CPU's hardclock. Errors are logged; the kernel goes on
/// with what works.
pub fn init() {
    if let Some(h) = crate::arch::x86_64::acpi::platform().and_then(|p| p.hpet) {
        match hpet::init(&h) {
            Ok(()) => log::info!("time: HPET at {:#x}, {} fs/tick", h.phys, hpet::period_fs()),
            Err(e) => log::error!("time: {}", e),
        }
    }
    match tsc::calibrate() {
        Ok(hz) => crate::kprintln!(
            "time: TSC {}.{:03} MHz (against the {})",
            hz / 1_000_000,
            hz / 1000 % 1000,
            if hpet::available() { "HPET" } else { "PIT" }
        ),
        Err(e) => {
            log::error!("time: TSC calibration failed: {}; no clock", e);
            return;
        }
    }
    let century = crate::arch::x86_64::acpi::platform().and_then(|p| p.fadt).map_or(0, |f| f.century);
    match rtc::read(century) {
        Ok(t) => {
            let wall = t.unix_seconds() * 1_000_000_000;
            BOOT_WALL_NS.store(wall.saturating_sub(nanotime()), Ordering::Relaxed);
            log::info!(
                "time: RTC {:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second
            );
        }
        Err(e) => log::error!("time: {}; wall clock starts at the epoch", e),
    }
    if !crate::arch::x86_64::lapic::available() {
        log::error!("time: no local APIC; no systimers");
        return;
    }
    match systimer::calibrate_lapic() {
        Ok(hz) => log::info!("time: LAPIC timer {} kHz", hz / 1000),
        Err(e) => {
            log::error!("time: {}; no systimers", e);
            return;
        }
    }
    systimer::start_hardclock();
}

mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        /// nanotime advances and never goes backwards over many reads.
        fn nanotime_monotonic() {
            let mut last = nanotime();
            kassert!(last > 0, "clock not running");
            for _ in 0..100_000 {
                let t = nanotime();
                kassert!(t >= last, "went back from {} to {}", last, t);
                last = t;
            }
            let t0 = nanotime();
            delay_us(2000);
            let dt = nanotime() - t0;
            kassert!(dt >= 2_000_000, "2 ms delay took {} ns", dt);
            Ok(())
        }
    }

    ktest! {
        /// The RTC gives a plausible date and realtime follows it.
        fn rtc_plausible() {
            let century = crate::arch::x86_64::acpi::platform().and_then(|p| p.fadt).map_or(0, |f| f.century);
            let t = rtc::read(century)?;
            kassert!(t.year >= 2024 && t.year < 2200, "year {}", t.year);
            let secs = realtime() / 1_000_000_000;
            kassert!(secs.abs_diff(t.unix_seconds()) < 120, "realtime {} vs RTC {}", secs, t.unix_seconds());
            Ok(())
        }
    }

    ktest! {
        /// RTC decoding: BCD and binary, 12- and 24-hour, bad values rejected; civil days.
        fn rtc_decoding() {
            // 2025-03-09 23:59:58 in BCD, 24 h.
            let t = rtc::decode([0x58, 0x59, 0x23, 0x09, 0x03, 0x25, 0x20], 0x02).ok_or("bcd")?;
            kassert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2025, 3, 9, 23, 59, 58));
            // 12 AM is hour 0, 12 PM hour 12, 11 PM hour 23 (binary, 12 h).
            kassert_eq!(rtc::decode([0, 0, 12, 1, 1, 24, 0], 0x04).ok_or("12am")?.hour, 0);
            kassert_eq!(rtc::decode([0, 0, 0x80 | 12, 1, 1, 24, 0], 0x04).ok_or("12pm")?.hour, 12);
            kassert_eq!(rtc::decode([0, 0, 0x80 | 0x11, 1, 1, 0x24, 0], 0x00).ok_or("11pm")?.hour, 23);
            kassert!(rtc::decode([0, 0, 0, 1, 13, 24, 0], 0x06).is_none(), "month 13 accepted");
            kassert!(rtc::decode([0, 0, 0, 1, 1, 24, 0], 0x04).is_none(), "12 h hour 0 accepted");
            kassert_eq!(rtc::days_from_civil(1970, 1, 1), 0);
            kassert_eq!(rtc::days_from_civil(2000, 3, 1), 11017);
            Ok(())
        }
    }
}
