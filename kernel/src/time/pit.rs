//! The 8254 PIT's channel 2, used only to calibrate the TSC when there is no HPET
//! (DragonFly's `platform/pc64/isa/clock.c` fallback).
use x86_64::instructions::port::Port;

/// The PIT's input clock in Hz.
const PIT_HZ: u64 = 1_193_182;

/// Counts channel 2 down from the count for `us` microseconds (at most ~54 ms) and returns
/// the TSC cycles it took, or `None` when the PIT never signals (no PIT).
pub fn measure_tsc(us: u64) -> Option<u64> {
    let count = (PIT_HZ * us / 1_000_000).clamp(1, 0xffff) as u16;
    let mut ctl = Port::<u8>::new(0x61);
    let mut cmd = Port::<u8>::new(0x43);
    let mut ch2 = Port::<u8>::new(0x42);
    // SAFETY: ports 0x61/0x42/0x43 belong to the PIT and the speaker gate; the gate is raised
    // with the speaker output off, channel 2 is set to mode 0 (interrupt on terminal count),
    // which only changes bit 5 of port 0x61.
    unsafe {
        let v = ctl.read();
        ctl.write((v & !0x02) | 0x01);
        cmd.write(0b1011_0000);
        ch2.write(count as u8);
        ch2.write((count >> 8) as u8);
        let start = super::tsc::rdtsc();
        // A bound on the wait: without a PIT bit 5 never rises.
        for _ in 0..50_000_000u64 {
            if ctl.read() & 0x20 != 0 {
                return Some(super::tsc::rdtsc() - start);
            }
        }
    }
    None
}
