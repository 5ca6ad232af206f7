//! Per-CPU systimers (DragonFly's kern_systimer.c): one-shot and periodic timers with
//! absolute nanotime deadlines, run from the LAPIC timer interrupt, which is re-armed
//! one-shot for the earliest deadline.
//!
//! Each CPU owns its queue: timers are added, cancelled and run only on that CPU, with
//! interrupts off (the lock is then never contended; it only makes the statics `Sync`).
//! Callbacks run with interrupts off and must not block. A timer never runs before its
//! deadline: the interrupt handler compares with [`nanotime`] and re-arms when the LAPIC
//! timer (calibrated, but only approximately) fires early.
use super::nanotime;
use crate::arch::x86_64::lapic;
use crate::lwkt::globaldata::MAXCPU;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;

/// Timers a CPU can hold at once.
pub const SLOTS: usize = 32;
/// A periodic timer further behind than this many periods skips ahead instead of
/// catching up tick by tick.
const MAX_CATCHUP: u64 = 10;
/// Most callbacks one interrupt runs before it re-arms and returns.
const MAX_RUNS: usize = 64;

/// A systimer callback: (its argument, the nanotime it fired at).
pub type Callback = fn(usize, u64);

#[derive(Clone, Copy)]
struct Slot {
    func: Option<Callback>,
    arg: usize,
    deadline: u64,
    /// 0 for one-shot.
    period: u64,
    generation: u32,
}

const EMPTY: Slot = Slot { func: None, arg: 0, deadline: 0, period: 0, generation: 0 };

struct Queue {
    slots: [Slot; SLOTS],
    /// The deadline the LAPIC timer is armed for (u64::MAX: stopped).
    armed: u64,
}

static QUEUES: [Mutex<Queue>; MAXCPU] =
    [const { Mutex::new(Queue { slots: [EMPTY; SLOTS], armed: u64::MAX }) }; MAXCPU];
/// LAPIC timer ticks per nanosecond, 32.32 fixed point (0 before calibration).
static LAPIC_MULT: AtomicU64 = AtomicU64::new(0);
/// LAPIC timer interrupts that found nothing due (it fired early or a timer was cancelled).
pub static EARLY_WAKEUPS: AtomicU64 = AtomicU64::new(0);

/// A timer's handle: which CPU, which slot, which use of the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystimerId {
    cpu: u16,
    slot: u16,
    generation: u32,
}

fn this_cpu() -> usize {
    crate::arch::x86_64::percpu::current().cpuid.load(Ordering::Relaxed) as usize
}

/// Measures the LAPIC timer against nanotime (over 10 ms); called on the boot CPU after
/// the TSC is calibrated. Every CPU's LAPIC timer runs from the same bus clock.
pub fn calibrate_lapic() -> Result<u64, &'static str> {
    let (t0, c0) = (nanotime(), {
        lapic::timer_start_free();
        lapic::timer_current()
    });
    while nanotime() - t0 < 10_000_000 {
        core::hint::spin_loop();
    }
    let (t1, c1) = (nanotime(), lapic::timer_current());
    lapic::timer_stop();
    let ticks = c0.saturating_sub(c1) as u128;
    if ticks == 0 {
        return Err("the LAPIC timer does not count");
    }
    LAPIC_MULT.store(((ticks << 32) / (t1 - t0).max(1) as u128) as u64, Ordering::Release);
    Ok((ticks * 1_000_000_000 / (t1 - t0).max(1) as u128) as u64)
}

/// Arms this CPU's LAPIC timer for the earliest deadline in `q` (interrupts off).
fn rearm(q: &mut Queue) {
    let next = q.slots.iter().filter(|s| s.func.is_some()).map(|s| s.deadline).min();
    match next {
        None => {
            q.armed = u64::MAX;
            lapic::timer_stop();
        }
        Some(d) => {
            q.armed = d;
            let delta = d.saturating_sub(nanotime()) as u128;
            let ticks = (delta * LAPIC_MULT.load(Ordering::Relaxed) as u128) >> 32;
            lapic::timer_oneshot(ticks.clamp(1, u32::MAX as u128) as u32);
        }
    }
}

fn add(deadline: u64, period: u64, func: Callback, arg: usize) -> Option<SystimerId> {
    without_interrupts(|| {
        let cpu = this_cpu();
        let mut q = QUEUES[cpu].lock();
        let i = q.slots.iter().position(|s| s.func.is_none())?;
        let generation = q.slots[i].generation.wrapping_add(1);
        q.slots[i] = Slot { func: Some(func), arg, deadline, period, generation };
        if deadline < q.armed {
            rearm(&mut q);
        }
        Some(SystimerId { cpu: cpu as u16, slot: i as u16, generation })
    })
}

/// Runs `func(arg, now)` once on this CPU at or after nanotime `deadline`. `None` when this
/// CPU's timer slots are full.
pub fn oneshot_at(deadline: u64, func: Callback, arg: usize) -> Option<SystimerId> {
    add(deadline, 0, func, arg)
}

/// Runs `func(arg, now)` on this CPU every `period_ns`, the first time one period from now.
pub fn periodic(period_ns: u64, func: Callback, arg: usize) -> Option<SystimerId> {
    let period = period_ns.max(1000);
    add(nanotime() + period, period, func, arg)
}

/// Stops a timer. Must run on the timer's CPU; false when it already ran (one-shot), was
/// cancelled, or belongs to another CPU.
pub fn cancel(id: SystimerId) -> bool {
    without_interrupts(|| {
        if this_cpu() != id.cpu as usize {
            return false;
        }
        let mut q = QUEUES[id.cpu as usize].lock();
        let s = &mut q.slots[id.slot as usize];
        if s.func.is_none() || s.generation != id.generation {
            return false;
        }
        s.func = None;
        true
    })
}

/// The LAPIC timer interrupt (vector 0xf0), interrupts off: runs every due timer, then
/// re-arms for the next deadline.
pub fn lapic_timer_interrupt() {
    let cpu = this_cpu();
    let mut ran = 0;
    while ran < MAX_RUNS {
        let now = nanotime();
        let due = {
            let mut q = QUEUES[cpu].lock();
            let Some(i) = (0..SLOTS)
                .filter(|&i| q.slots[i].func.is_some() && q.slots[i].deadline <= now)
                .min_by_key(|&i| q.slots[i].deadline)
            else {
                break;
            };
            let s = &mut q.slots[i];
            let (func, arg) = (s.func, s.arg);
            if s.period == 0 {
                s.func = None;
            } else {
                s.deadline += s.period;
                if s.deadline + MAX_CATCHUP * s.period <= now {
                    s.deadline = now + s.period;
                }
            }
            (func, arg)
        };
        // The lock is dropped: a callback may add or cancel timers on this CPU.
        if let (Some(f), arg) = due {
            f(arg, now);
        }
        ran += 1;
    }
    if ran == 0 {
        EARLY_WAKEUPS.fetch_add(1, Ordering::Relaxed);
    }
    rearm(&mut QUEUES[cpu].lock());
}

/// Timers pending on CPU `cpu`.
pub fn pending(cpu: usize) -> usize {
    without_interrupts(|| {
        QUEUES.get(cpu).map_or(0, |q| q.lock().slots.iter().filter(|s| s.func.is_some()).count())
    })
}

/// The clock interrupt rate (DragonFly's `hz`).
pub use crate::lwkt::clock::HZ;

fn hardclock(_: usize, _: u64) {
    crate::lwkt::clock::hardclock();
}

/// Starts this CPU's HZ systimer, which calls `lwkt::clock::hardclock`.
pub fn start_hardclock() {
    if periodic(1_000_000_000 / HZ, hardclock, 0).is_none() {
        log::error!("systimer: no slot for hardclock on cpu {}", this_cpu());
    }
}

mod tests {
    use super::*;
    use crate::{kassert, ktest};
    use core::sync::atomic::AtomicU32;

    const N: usize = 24;
    static DEADLINES: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];
    static FIRED_AT: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];
    static FIRED: AtomicU32 = AtomicU32::new(0);

    fn record(i: usize, _: u64) {
        // Read the clock afresh: the check is against the time the callback really runs.
        FIRED_AT[i].store(nanotime(), Ordering::Relaxed);
        FIRED.fetch_add(1, Ordering::Relaxed);
    }

    fn wait_until(cond: impl Fn() -> bool, limit_ns: u64) {
        let t0 = nanotime();
        while !cond() && nanotime() - t0 < limit_ns {
            x86_64::instructions::interrupts::enable_and_hlt();
        }
    }

    ktest! {
        /// N one-shot timers with scattered deadlines (some already past) all fire, none
        /// before its deadline; a cancelled one never fires.
        fn oneshots_never_early_never_lost() {
            FIRED.store(0, Ordering::Relaxed);
            let now = nanotime();
            for i in 0..N {
                // Deadlines from 1 ms in the past to ~45 ms ahead, out of order.
                let d = (now + (i as u64 * 7919 % N as u64) * 2_000_000).saturating_sub(1_000_000);
                DEADLINES[i].store(d, Ordering::Relaxed);
                FIRED_AT[i].store(0, Ordering::Relaxed);
                oneshot_at(d, record, i).ok_or("no slot")?;
            }
            static CANCELLED: AtomicU32 = AtomicU32::new(0);
            let id = oneshot_at(now + 5_000_000, |_, _| { CANCELLED.fetch_add(1, Ordering::Relaxed); }, 0)
                .ok_or("no slot")?;
            kassert!(cancel(id), "cancel failed");
            kassert!(!cancel(id), "cancelled twice");
            wait_until(|| FIRED.load(Ordering::Relaxed) as usize == N, 3_000_000_000);
            wait_until(|| false, 10_000_000);
            kassert!(FIRED.load(Ordering::Relaxed) as usize == N, "{} of {} fired", FIRED.load(Ordering::Relaxed), N);
            for i in 0..N {
                let (d, at) = (DEADLINES[i].load(Ordering::Relaxed), FIRED_AT[i].load(Ordering::Relaxed));
                kassert!(at >= d, "timer {} fired {} ns early", i, d - at);
            }
            kassert!(CANCELLED.load(Ordering::Relaxed) == 0, "cancelled timer fired");
            kassert!(pending(0) <= 2, "{} timers left pending", pending(0));
            Ok(())
        }
    }

    ktest! {
        /// A 1 kHz periodic timer fires about as often as nanotime says it should
        /// (generous bounds: TCG time is noisy), and the HZ clock ticks at about HZ.
        fn periodic_rate() {
            static TICKS: AtomicU32 = AtomicU32::new(0);
            let ticks0 = crate::lwkt::clock::ticks(0);
            let t0 = nanotime();
            let id = periodic(1_000_000, |_, _| { TICKS.fetch_add(1, Ordering::Relaxed); }, 0).ok_or("no slot")?;
            wait_until(|| false, 300_000_000);
            cancel(id);
            let elapsed = nanotime() - t0;
            let (n, hz) = (TICKS.load(Ordering::Relaxed) as u64, crate::lwkt::clock::ticks(0) - ticks0);
            let want = elapsed / 1_000_000;
            crate::kprintln!("# periodic: {} ticks of 1 ms in {} us (want {}); hardclock {} ticks", n, elapsed / 1000, want, hz);
            kassert!(n * 2 >= want && n <= want * 3 / 2 + 2, "1 kHz timer: {} ticks in {} ns", n, elapsed);
            let want_hz = elapsed * HZ / 1_000_000_000;
            kassert!(hz * 2 >= want_hz && hz <= want_hz * 3 / 2 + 2, "hardclock: {} ticks in {} ns", hz, elapsed);
            Ok(())
        }
    }
}
