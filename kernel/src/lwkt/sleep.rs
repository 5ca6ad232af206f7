//! tsleep and wakeup (DragonFly's kern_synch.c).
//!
//! A sleeper queues itself on its own CPU's sleep hash and sets its CPU's bit in a global
//! per-hash CPU mask; `wakeup` serves its own CPU directly and sends an IPI to every other
//! CPU whose bit is set for that hash. `tsleep_interlock` queues the thread *without*
//! descheduling it, so the idiom "hold the lock, interlock, drop the lock, tsleep with
//! PINTERLOCKED" cannot lose a wakeup that lands in between: the wakeup takes the thread off
//! the queue and the tsleep returns at once.
use super::callout::Callout;
use super::crit::{crit_enter, crit_exit};
use super::globaldata::{globaldata, mycpu, ncpus, GlobalData};
use super::queue::{link, ThreadQueue};
use super::sched::{self, curthread};
use super::stats::bump;
use super::thread::{tdf, Thread, ThreadHandle};
use super::{ipiq, token};
use abi::errno::{EINTR, EWOULDBLOCK};
use core::pin::pin;
use core::sync::atomic::{fence, AtomicU64, Ordering};

/// tsleep flag: the caller already ran [`tsleep_interlock`].
pub const PINTERLOCKED: u32 = 1 << 0;
/// tsleep flag: a signal for the sleeping process ends the sleep with EINTR (the sleep is
/// also refused at once when one is already waiting).
pub const PCATCH: u32 = 1 << 3;
/// wakeup flag: wake one thread only (per CPU, as in DragonFly).
const PWAKEUP_ONE: u32 = 1 << 1;
/// wakeup flag: serve this CPU only (the remote half of a wakeup).
const PWAKEUP_MYCPU: u32 = 1 << 2;

const NHASH: usize = 256;

/// Bit n of `MASKS[h]`: CPU n may have sleepers on an ident hashing to h.
static MASKS: [AtomicU64; NHASH] = [const { AtomicU64::new(0) }; NHASH];

/// One CPU's sleep queues.
pub struct SleepHash {
    buckets: [ThreadQueue<{ link::SLEEPQ }>; NHASH],
}

impl SleepHash {
    /// Empty.
    pub const fn new() -> SleepHash {
        SleepHash { buckets: [const { ThreadQueue::<{ link::SLEEPQ }>::new() }; NHASH] }
    }
}

fn hash(ident: usize) -> usize {
    let h = ident ^ (ident >> 7) ^ (ident >> 17) ^ (ident >> 29);
    h % NHASH
}

/// The sleep queues of `gd`; module-private, used under the CpuLocal contract (owner CPU,
/// critical section, one reference at a time).
#[allow(clippy::mut_from_ref)]
fn buckets(gd: &GlobalData) -> &mut SleepHash {
    // SAFETY: callers run on gd's CPU in a critical section and hold no other reference.
    unsafe { gd.sleepq.get() }
}

fn dequeue(gd: &GlobalData, td: &Thread) {
    if td.flags() & tdf::TSLEEPQ != 0 {
        let h = hash(td.wchan() as usize);
        let q = &mut buckets(gd).buckets[h];
        q.remove(td);
        td.clear_flags(tdf::TSLEEPQ);
        if q.is_empty() {
            MASKS[h].fetch_and(!gd.cpumask(), Ordering::SeqCst);
        }
    }
}

/// Queues the current thread on `ident` without blocking; a later `tsleep(.., PINTERLOCKED)`
/// blocks only if no wakeup came in between.
pub fn tsleep_interlock(ident: usize) {
    crit_enter();
    let gd = mycpu();
    let td = curthread();
    dequeue(gd, td);
    td.set_wchan(ident as u64, "interlock");
    let h = hash(ident);
    buckets(gd).buckets[h].push_back(td);
    td.set_flags(tdf::TSLEEPQ);
    // The mask bit must be visible before the caller re-checks its condition (SeqCst pairs
    // with the fence in wakeup).
    MASKS[h].fetch_or(gd.cpumask(), Ordering::SeqCst);
    crit_exit();
}

/// Takes `td` (the current thread) off its CPU's sleep queue, if an interlock left it there
/// (exit and migration call this: the queue is per CPU).
pub(super) fn dequeue_current(td: &Thread) {
    crit_enter();
    dequeue(mycpu(), td);
    td.set_wchan(0, "");
    crit_exit();
}

/// Takes the current thread off the sleep queue an interlock put it on, when it decided not
/// to sleep after all.
pub fn tsleep_cancel() {
    crit_enter();
    let td = curthread();
    dequeue(mycpu(), td);
    td.set_wchan(0, "");
    crit_exit();
}

fn endtsleep(arg: usize) {
    // SAFETY: the sleeping thread's tsleep frame owns the callout and stops it before
    // returning, so the thread is alive whenever this runs.
    let td = unsafe { &*(arg as *const Thread) };
    let gd = mycpu();
    if td.flags() & tdf::TSLEEPQ != 0 {
        dequeue(gd, td);
        td.set_flags(tdf::TIMEOUT);
        if td.flags() & tdf::TSLEEP_DESCHEDULED != 0 {
            td.clear_flags(tdf::TSLEEP_DESCHEDULED);
            sched::schedule(td);
        }
    }
}

/// Sleeps on `ident` until a wakeup, or for at most `timo` clock ticks (0: no limit).
/// Returns `Err(EWOULDBLOCK)` on timeout. Spurious returns are possible: callers re-check
/// their condition in a loop.
pub fn tsleep(ident: usize, flags: u32, wmesg: &'static str, timo: u64) -> Result<(), i32> {
    let td = curthread();
    token::assert_may_block(td);
    if flags & PINTERLOCKED == 0 {
        tsleep_interlock(ident);
    }
    crit_enter();
    let gd = mycpu();
    let timeout = pin!(Callout::new());
    if timo > 0 {
        // Armed on this CPU, so neither arming nor stopping it sends an IPI (or drains one).
        timeout.as_ref().reset(timo, endtsleep, td as *const Thread as usize);
    }
    let catch = flags & PCATCH != 0;
    if catch {
        td.set_flags(tdf::SINTR);
        // Pairs with the fence in `interrupt_sleep`: either its poster sees SINTR, or we see
        // the signal it posted.
        fence(Ordering::SeqCst);
        if signal_waiting(td) {
            td.clear_flags(tdf::SINTR);
            timeout.stop();
            dequeue(gd, td);
            td.set_wchan(0, "");
            crit_exit();
            return Err(EINTR);
        }
    }
    // Checked after arming and right before descheduling, with nothing in between that could
    // run a wakeup: a wakeup that already came took us off the queue.
    if td.flags() & tdf::TSLEEPQ == 0 || td.wchan() != ident as u64 {
        td.clear_flags(tdf::SINTR);
        timeout.stop();
        td.set_wchan(0, "");
        crit_exit();
        return Ok(());
    }
    td.set_wchan(ident as u64, wmesg);
    td.set_flags(tdf::TSLEEP_DESCHEDULED);
    sched::deschedule_self();
    sched::switch();
    // Running again: woken, timed out, or rescheduled for another reason.
    timeout.stop();
    let gd2 = mycpu();
    debug_assert!(core::ptr::eq(gd, gd2), "a sleeping thread migrated");
    dequeue(gd2, td);
    td.clear_flags(tdf::TSLEEP_DESCHEDULED);
    td.set_wchan(0, "");
    let timed_out = td.flags() & tdf::TIMEOUT != 0;
    td.clear_flags(tdf::TIMEOUT | tdf::SINTR);
    crit_exit();
    if timed_out {
        Err(EWOULDBLOCK)
    } else if catch && signal_waiting(td) {
        Err(EINTR)
    } else {
        Ok(())
    }
}

/// Whether the process `td` runs has a signal waiting that it does not block.
fn signal_waiting(td: &Thread) -> bool {
    td.user().is_some_and(|u| crate::proc::signal::interrupts_sleep(&u.lwp))
}

/// A signal was posted for the process `td` runs: if it sleeps with PCATCH, end the sleep
/// (its tsleep returns EINTR). Any CPU may call this; the thread's own CPU does the work.
pub fn interrupt_sleep(td: &ThreadHandle) {
    fence(Ordering::SeqCst);
    if td.flags() & tdf::SINTR == 0 {
        return;
    }
    crit_enter();
    let gd = td.gd();
    if core::ptr::eq(gd, mycpu()) {
        interrupt_local(td);
    } else {
        let raw = alloc::sync::Arc::into_raw(td.0.clone()) as usize;
        ipiq::send(gd, interrupt_remote, raw, 0);
    }
    crit_exit();
}

/// A signal (or an order to exit) is waiting for the process thread `td`: end its
/// interruptible sleep, or, if it runs on another CPU, interrupt that CPU so the thread
/// passes through the kernel's return-to-user checks now rather than at its next tick
/// (DragonFly's lwp_signotify).
pub fn signotify(td: &ThreadHandle) {
    interrupt_sleep(td);
    let _c = crate::lwkt::crit::crit();
    let gd = td.gd();
    if !core::ptr::eq(gd, mycpu()) && td.flags() & tdf::RUNNING != 0 {
        ipiq::send(gd, kick, 0, 0);
    }
}

/// Does nothing: the interrupt it arrives by is the point.
fn kick(_: usize, _: usize) {}

fn interrupt_remote(raw: usize, _: usize) {
    // SAFETY: made by Arc::into_raw in `interrupt_sleep`; consumed exactly once, here.
    let td = unsafe { alloc::sync::Arc::from_raw(raw as *const Thread) };
    interrupt_local(&td);
}

/// On `td`'s CPU (if it is still there), in a critical section: like a timeout, without the
/// timeout flag.
fn interrupt_local(td: &Thread) {
    let gd = mycpu();
    if !core::ptr::eq(td.gd(), gd) || td.flags() & (tdf::SINTR | tdf::TSLEEPQ) != tdf::SINTR | tdf::TSLEEPQ {
        return;
    }
    dequeue(gd, td);
    if td.flags() & tdf::TSLEEP_DESCHEDULED != 0 {
        td.clear_flags(tdf::TSLEEP_DESCHEDULED);
        sched::schedule(td);
    }
}

fn wakeup_local(gd: &GlobalData, ident: usize, flags: u32) -> bool {
    let h = hash(ident);
    let mut woke = false;
    let mut cur = buckets(gd).buckets[h].front().map(|t| t as *const Thread);
    while let Some(tp) = cur {
        // SAFETY: queued threads are alive; we are on their CPU in a critical section.
        let td = unsafe { &*tp };
        cur = buckets(gd).buckets[h].next(td).map(|t| t as *const Thread);
        if td.wchan() != ident as u64 {
            continue;
        }
        dequeue(gd, td);
        if td.flags() & tdf::TSLEEP_DESCHEDULED != 0 {
            td.clear_flags(tdf::TSLEEP_DESCHEDULED);
            sched::schedule(td);
        }
        woke = true;
        if flags & PWAKEUP_ONE != 0 {
            break;
        }
    }
    woke
}

fn wakeup_remote(ident: usize, flags: usize) {
    wakeup_local(mycpu(), ident, flags as u32 | PWAKEUP_MYCPU);
}

fn wakeup_flags(ident: usize, flags: u32) {
    crit_enter();
    let gd = mycpu();
    let woke = wakeup_local(gd, ident, flags);
    if flags & PWAKEUP_MYCPU == 0 && !(woke && flags & PWAKEUP_ONE != 0) {
        // Pairs with the SeqCst mask update in tsleep_interlock: a sleeper that set its bit
        // before we changed the condition is seen here.
        fence(Ordering::SeqCst);
        let mask = MASKS[hash(ident)].load(Ordering::SeqCst) & !gd.cpumask();
        for cpu in 0..ncpus() {
            if mask & (1 << cpu) != 0 {
                if let Some(target) = globaldata(cpu) {
                    bump(&gd.stats.wakeups_remote);
                    // With wakeup_one too: the first CPU on the hash may only have sleepers on
                    // another ident, so each CPU wakes (at most) one of its own.
                    ipiq::send(target, wakeup_remote, ident, flags as usize);
                }
            }
        }
    }
    crit_exit();
}

/// Wakes every thread sleeping on `ident`, on every CPU.
pub fn wakeup(ident: usize) {
    wakeup_flags(ident, 0);
}

/// Wakes one thread sleeping on `ident` (exact per CPU: as in DragonFly, each other CPU with
/// sleepers on the ident's hash wakes at most one of its own).
pub fn wakeup_one(ident: usize) {
    wakeup_flags(ident, PWAKEUP_ONE);
}

/// An ident for a kernel object: its address.
pub fn ident_of<T: ?Sized>(obj: &T) -> usize {
    obj as *const T as *const u8 as usize
}

mod tests {
    use super::*;
    use crate::lwkt::sched::{create, yield_now};
    use crate::lwkt::thread::pri;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicUsize, Ordering};

    fn spin_yield_until(f: impl Fn() -> bool) -> bool {
        for _ in 0..10_000 {
            if f() {
                return true;
            }
            yield_now();
        }
        false
    }

    ktest! {
        /// A sleeper stays asleep through yields and runs again only after the wakeup.
        fn sleep_until_wakeup() {
            let state = Arc::new(AtomicUsize::new(0));
            let s = state.clone();
            let ident = ident_of(&*state);
            create("t-sleep", pri::KERN_DAEMON, None, move || {
                s.store(1, Ordering::Release);
                while s.load(Ordering::Acquire) == 1 {
                    let _ = tsleep(ident, 0, "test", 0);
                }
                s.store(3, Ordering::Release);
            })
            .ok_or("create failed")?;
            kassert!(spin_yield_until(|| state.load(Ordering::Acquire) == 1), "sleeper never ran");
            for _ in 0..20 {
                yield_now();
            }
            kassert_eq!(state.load(Ordering::Acquire), 1);
            state.store(2, Ordering::Release);
            wakeup(ident);
            kassert!(spin_yield_until(|| state.load(Ordering::Acquire) == 3), "sleeper not woken");
            Ok(())
        }
    }

    ktest! {
        /// A wakeup between tsleep_interlock and tsleep is not lost.
        fn interlock_keeps_early_wakeup() {
            let ident = 0x1234_5678usize;
            tsleep_interlock(ident);
            wakeup(ident);
            // Returns at once: the wakeup already took us off the queue.
            kassert!(tsleep(ident, PINTERLOCKED, "test", 0).is_ok(), "tsleep failed");
            kassert!(curthread().flags() & tdf::TSLEEPQ == 0, "still queued");
            Ok(())
        }
    }

    ktest! {
        /// wakeup_one wakes exactly one of several sleepers on this CPU; wakeup wakes the rest.
        fn wakeup_one_wakes_one() {
            let woken = Arc::new(AtomicUsize::new(0));
            let asleep = Arc::new(AtomicUsize::new(0));
            let ident = ident_of(&*woken);
            for _ in 0..4 {
                let (w, a) = (woken.clone(), asleep.clone());
                create("t-one", pri::KERN_DAEMON, Some(mycpu().cpuid), move || {
                    tsleep_interlock(ident);
                    a.fetch_add(1, Ordering::AcqRel);
                    let _ = tsleep(ident, PINTERLOCKED, "one", 0);
                    w.fetch_add(1, Ordering::AcqRel);
                })
                .ok_or("create failed")?;
            }
            kassert!(spin_yield_until(|| asleep.load(Ordering::Acquire) == 4), "not all asleep");
            wakeup_one(ident);
            for _ in 0..20 {
                yield_now();
            }
            kassert_eq!(woken.load(Ordering::Acquire), 1);
            wakeup(ident);
            kassert!(spin_yield_until(|| woken.load(Ordering::Acquire) == 4), "rest not woken");
            Ok(())
        }
    }
}
