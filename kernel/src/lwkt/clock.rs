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
    statclock();
    callout::run_expired(gd);
    if ipiq::pending(gd) {
        // Passive messages raise no interrupt; the tick delivers them.
        super::crit::crit_enter();
        ipiq::process(gd);
        super::crit::crit_exit_noyield();
    }
    super::sched::schedulerclock(gd);
    if let Some(td) = super::sched::try_curthread() {
        crate::sched::schedulerclock(gd.cpuid, td);
    }
}

/// Samples the running thread for CPU accounting (DragonFly's statclock, folded into the
/// tick): one tick of user or system time, and the process's CPU interval timers.
fn statclock() {
    let Some(td) = super::sched::try_curthread() else { return };
    if td.flags() & super::thread::tdf::IDLE != 0 {
        return;
    }
    let user = crate::arch::x86_64::intr::interrupted_user();
    td.times.tick(user);
    crate::proc::timers::statclock(td, user);
}

/// Ticks CPU `cpu` has taken.
pub fn ticks(cpu: usize) -> u64 {
    super::globaldata::globaldata(cpu).map_or(0, |gd| gd.ticks.load(Ordering::Relaxed))
}
