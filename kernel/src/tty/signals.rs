//! Sends the signals a terminal's line discipline raised (^C, ^\, ^Z, a window change) to
//! its foreground process group, as DragonFly's pgsignal from ttyinput. The receive
//! interrupt only records them and wakes this thread: posting takes process locks and walks
//! the process table, which interrupt context must not.
use super::ldisc::Tty;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_cancel, tsleep_interlock, PINTERLOCKED};

/// Starts the sender for `tty`.
pub fn start(tty: &'static Tty) {
    let created =
        crate::lwkt::sched::create("ttysig", crate::lwkt::thread::pri::KERN_DAEMON, Some(0), move || {
            run(tty)
        });
    if created.is_none() {
        log::warn!("tty: no thread to send terminal signals; ^C will not interrupt");
    }
}

fn run(tty: &'static Tty) {
    let ident = ident_of(tty.signal_channel());
    loop {
        tsleep_interlock(ident);
        let pgrp = tty.pgrp();
        // With no foreground group the signals stay recorded (the line discipline's tests
        // read them).
        let due = if pgrp > 0 { tty.take_signals_due() } else { 0 };
        if due == 0 {
            let _ = tsleep(ident, PINTERLOCKED, "ttysig", 0);
            continue;
        }
        tsleep_cancel();
        for sig in 1..64u32 {
            if due & (1 << sig) != 0 {
                crate::proc::signal::post_group(pgrp as u32, sig);
            }
        }
    }
}
