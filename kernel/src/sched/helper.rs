//! The per-CPU user-scheduler helper thread (usched_dfly's `dfly_helper_thread`): it runs at
//! `USER_SCHEDULER`, below every user thread, so it runs only when its CPU has no user work
//! at all; then it pulls a waiting lwp from another CPU's queue (or bsd4's global one) by
//! LWKT pull migration and gives it this CPU's slot. It sleeps until woken by a freed slot
//! with nothing local to run, or by the tick of an idle CPU.
use super::{band_of, now, pcpu, policy};
use crate::lwkt::globaldata::MAXCPU;
use crate::lwkt::sched as lwkt;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_cancel, tsleep_interlock, wakeup, PINTERLOCKED};
use crate::lwkt::thread::pri;
use core::sync::atomic::{AtomicU64, Ordering};

static IDENT: [u8; MAXCPU] = [0; MAXCPU];

/// Lwps the helpers pulled from another CPU (tests and statistics).
pub static PULLS: AtomicU64 = AtomicU64::new(0);

fn ident(cpu: usize) -> usize {
    ident_of(&IDENT[cpu.min(MAXCPU - 1)])
}

/// Starts CPU `cpu`'s helper.
pub fn start(cpu: usize) {
    if lwkt::create("usched", pri::USER_SCHEDULER, Some(cpu), move || run(cpu)).is_none() {
        log::warn!("usched: no helper thread for CPU {}", cpu);
    }
}

/// Gives CPU `cpu`'s helper a look for work.
pub fn wake(cpu: usize) {
    wakeup(ident(cpu));
}

fn run(cpu: usize) {
    loop {
        tsleep_interlock(ident(cpu));
        if pull(cpu) {
            tsleep_cancel();
            continue;
        }
        let _ = tsleep(ident(cpu), PINTERLOCKED, "usched", 0);
    }
}

/// With this CPU's slot free, takes a waiting lwp that may run here from elsewhere, pulls
/// its thread over and lets it run. True when it moved one.
fn pull(cpu: usize) -> bool {
    {
        let _c = crate::lwkt::crit::crit();
        let mut st = pcpu(cpu).st.lock();
        if st.cur.is_some() {
            return false;
        }
        // Someone waiting here already (put back by a pull that failed, or queued while
        // the slot was changing hands): that one first.
        if let Some(next) = super::select_curproc(cpu, &mut st) {
            drop(st);
            super::run_thread_of(&next);
            return true;
        }
    }
    let Some(lwp) = policy().steal(cpu) else { return false };
    let td = lwp.thread.lock().clone();
    let Some(td) = td else { return false };
    if !lwkt::acquire(&td) {
        // It could not be moved (it is on its way out): back to a queue of the CPU that
        // owns it, where that CPU's scheduler finds it.
        let home = td.gd().cpuid;
        {
            let _c = crate::lwkt::crit::crit();
            let mut st = pcpu(home).st.lock();
            let band = band_of(&lwp, now());
            // A queue that cannot grow: it runs at home, where its acquire tries again.
            if let Err(e) = policy().enqueue(home, &mut st, lwp, band, true) {
                drop(st);
                log::warn!("usched: could not queue a pulled lwp ({})", e);
                lwkt::schedule(&td);
            }
        }
        // Its home CPU may have gone idle meanwhile: its helper takes it from there.
        wake(home);
        return false;
    }
    PULLS.fetch_add(1, Ordering::Relaxed);
    let _c = crate::lwkt::crit::crit();
    let mut st = pcpu(cpu).st.lock();
    let band = band_of(&lwp, now());
    if st.cur.is_none() {
        st.cur = Some(lwp.clone());
        st.cur_band = band;
        lwp.us.rrcount.store(0, Ordering::Relaxed);
        drop(st);
        lwkt::schedule(&td);
    } else {
        // The slot filled meanwhile: it waits here (this CPU owns it now), or, with no room
        // to wait, runs to its acquire, which tries again.
        if policy().enqueue(cpu, &mut st, lwp, band, true).is_err() {
            drop(st);
            lwkt::schedule(&td);
        }
    }
    true
}
