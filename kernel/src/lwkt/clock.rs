//! The per-CPU clock tick (DragonFly's hardclock): counts ticks, fires callouts, picks up
//! passive IPI messages, and asks for a round-robin switch among equal-priority threads.
//! Called by the platform's periodic systimer at [`HZ`] on every CPU, from the timer
//! interrupt (interrupts off; deferred to the end of a critical section).
use super::globaldata::mycpu;
use super::{callout, ipiq};
use core::sync::atomic::Ordering;

/// Clock ticks per second.
pub const HZ: u64 = 100;

/// One clock tick on this CPU.
pub fn hardclock() {
    let gd = mycpu();
    gd.ticks.fetch_add(1, Ordering::Relaxed);
    callout::run_expired(gd);
    if ipiq::pending(gd) {
        // Passive messages raise no interrupt; the tick delivers them.
        super::crit::crit_enter();
        ipiq::process(gd);
        super::crit::crit_exit_noyield();
    }
    super::sched::schedulerclock(gd);
}

/// Ticks CPU `cpu` has taken.
pub fn ticks(cpu: usize) -> u64 {
    super::globaldata::globaldata(cpu).map_or(0, |gd| gd.ticks.load(Ordering::Relaxed))
}
