//! Replaying work a critical section deferred (DragonFly's `splz`): IPI messages, hardware
//! interrupts and timer ticks that arrived while the thread's critical-section count was
//! non-zero. Runs on the last `crit_exit`, inside a fresh critical section so handlers that
//! arrive meanwhile are deferred again and picked up by the loop.
use super::crit::{crit_enter, crit_exit_noyield};
use super::globaldata::{mycpu, rqf};
use core::sync::atomic::Ordering;

/// Runs a deferred hardware vector (installed by the platform interrupt code).
static mut RUN_VECTOR: Option<fn(u8)> = None;

/// Installs the function that runs a deferred hardware vector's handlers. Called once on the
/// boot CPU before interrupts are enabled.
pub fn set_vector_runner(f: fn(u8)) {
    // SAFETY: written once on the boot CPU before any interrupt or other CPU can read it.
    unsafe { RUN_VECTOR = Some(f) };
}

fn vector_runner() -> Option<fn(u8)> {
    // SAFETY: written once before interrupts are on (see set_vector_runner), read-only after.
    unsafe { RUN_VECTOR }
}

/// Runs all deferred work of this CPU.
pub fn splz() {
    let gd = mycpu();
    crit_enter();
    loop {
        let flags = gd.reqflags.fetch_and(!rqf::IDLECHECK_MASK, Ordering::AcqRel) & rqf::IDLECHECK_MASK;
        if flags == 0 {
            break;
        }
        if flags & rqf::IPIQ != 0 {
            super::ipiq::process(gd);
        }
        if flags & (rqf::INTPEND | rqf::TIMER) != 0 {
            for (word, bits) in gd.ipending.iter().enumerate() {
                let mut pending = bits.swap(0, Ordering::AcqRel);
                while pending != 0 {
                    let v = word * 64 + pending.trailing_zeros() as usize;
                    pending &= pending - 1;
                    if let Some(run) = vector_runner() {
                        // Handlers expect what the interrupt path gives them: interrupts off.
                        let was = x86_64::instructions::interrupts::are_enabled();
                        x86_64::instructions::interrupts::disable();
                        run(v as u8);
                        if was {
                            x86_64::instructions::interrupts::enable();
                        }
                    }
                }
            }
        }
    }
    crit_exit_noyield();
}

/// Marks hardware vector `v` pending on this CPU (the interrupt path, in a critical section).
pub fn defer_vector(v: u8, timer: bool) {
    let gd = mycpu();
    gd.ipending[(v / 64) as usize].fetch_or(1 << (v % 64), Ordering::AcqRel);
    gd.reqflags.fetch_or(if timer { rqf::TIMER } else { rqf::INTPEND }, Ordering::AcqRel);
}
