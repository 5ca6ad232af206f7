//! Replaying work a critical section deferred (DragonFly's `splz`): IPI messages, hardware
//! interrupts and timer ticks that arrived while the thread's critical-section count was
//! non-zero. Runs on the last `crit_exit`, inside a fresh critical section so handlers that
//! arrive meanwhile are deferred again and picked up by the loop.
use super::crit::{crit_enter, crit_exit_noyield};
use super::globaldata::{mycpu, rqf};
use core::sync::atomic::Ordering;

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
                    // Handlers expect what the interrupt path gives them: interrupts off and
                    // interrupt nesting raised (no switching).
                    let was = x86_64::instructions::interrupts::are_enabled();
                    x86_64::instructions::interrupts::disable();
                    gd.intr_nesting.fetch_add(1, Ordering::Relaxed);
                    crate::arch::x86_64::intr::run_vector(v as u8);
                    gd.intr_nesting.fetch_sub(1, Ordering::Relaxed);
                    if was {
                        x86_64::instructions::interrupts::enable();
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
