//! The per-CPU LWKT scheduler (DragonFly's lwkt_thread.c): run queues by priority, the
//! switch, yield, exit, migration and the idle loop.
//!
//! Rules kept from DragonFly: a thread belongs to one CPU and only that CPU changes its queue
//! membership (others ask through the IPI queue); a running thread stays on its run queue
//! and leaves it only by descheduling itself; the switch drops all of the old thread's tokens
//! and picks the first thread, by priority then FIFO, that gets all of its tokens back.
use super::crit::{crit, crit_enter, crit_exit, crit_exit_noyield};
use super::globaldata::{mycpu, rqf, GlobalData};
use super::queue::{link, ThreadQueue};
use super::stats::bump;
use super::thread::{pri, tdf, Thread, ThreadHandle};
use super::{ipiq, token};
use crate::arch::x86_64 as md;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

/// Number of priority levels.
const NQS: usize = pri::MAX as usize + 1;

/// One CPU's scheduler state (owner only).
pub struct Sched {
    runq: [ThreadQueue; NQS],
    /// Bit p set: `runq[p]` is not empty.
    mask: u32,
    idle: Option<ThreadHandle>,
    /// The context LWKT found running on this CPU (the boot thread on the boot CPU).
    thread0: Option<ThreadHandle>,
}

impl Sched {
    /// Empty.
    pub const fn new() -> Sched {
        Sched {
            runq: [const { ThreadQueue::<{ link::RUNQ }>::new() }; NQS],
            mask: 0,
            idle: None,
            thread0: None,
        }
    }

    fn enqueue(&mut self, td: &Thread) {
        if td.flags() & (tdf::RUNQ | tdf::MIGRATING | tdf::EXITING) == 0 {
            let p = td.pri() as usize;
            self.runq[p].push_back(td);
            self.mask |= 1 << p;
            td.set_flags(tdf::RUNQ);
        }
    }

    fn dequeue(&mut self, td: &Thread) {
        if td.flags() & tdf::RUNQ != 0 {
            let p = td.pri() as usize;
            self.runq[p].remove(td);
            if self.runq[p].is_empty() {
                self.mask &= !(1 << p);
            }
            td.clear_flags(tdf::RUNQ);
        }
    }
}

/// Set once the boot CPU runs LWKT; before that there is no current thread.
static READY: AtomicBool = AtomicBool::new(false);

/// The running thread, once LWKT runs on this CPU.
#[inline]
pub fn try_curthread() -> Option<&'static Thread> {
    if !READY.load(Ordering::Relaxed) {
        return None;
    }
    let p = md::percpu::current().curthread.load(Ordering::Relaxed) as *const Thread;
    // SAFETY: curthread is set only to live threads, kept alive (self reference) while they run.
    unsafe { p.as_ref() }
}

/// The running thread. Panics before LWKT starts (a kernel bug).
#[inline]
pub fn curthread() -> &'static Thread {
    try_curthread().expect("curthread before LWKT started")
}

fn set_curthread(gd: &GlobalData, td: &Thread) {
    gd.md.curthread.store(td as *const Thread as u64, Ordering::Relaxed);
    gd.md.kstack_top.store(td.kstack_top(), Ordering::Relaxed);
    md::gdt::set_rsp0(td.kstack_top());
}

/// The scheduler state of `gd`. Module-private on purpose: every caller in this file runs on
/// `gd`'s CPU in a critical section and uses the reference for a short statement sequence
/// without holding another one (the CpuLocal contract).
#[allow(clippy::mut_from_ref)]
fn sched_of(gd: &GlobalData) -> &mut Sched {
    debug_assert!(core::ptr::eq(gd, mycpu()), "foreign CPU's scheduler touched");
    // SAFETY: callers run on `gd`'s CPU inside a critical section, and never hold two
    // references at once (each use is a short statement sequence).
    unsafe { gd.sched.get() }
}

/// Makes the running context of the boot CPU thread 0 and creates its idle thread.
pub fn init_bsp() {
    let gd = mycpu();
    let top = md::start::BOOT_STACK.top();
    let td0 = Thread::adopt_current("thread0", gd, pri::KERN_DAEMON, top);
    set_curthread(gd, &td0);
    READY.store(true, Ordering::Release);
    let _c = crit();
    let s = sched_of(gd);
    s.enqueue(&td0);
    s.thread0 = Some(td0);
    let idle = Thread::create("idle0", gd, pri::IDLE_THREAD, Box::new(|| idle_loop()))
        .expect("no memory for the boot CPU's idle thread");
    idle.set_flags(tdf::IDLE);
    sched_of(gd).idle = Some(idle);
}

/// Makes the running context of an application processor its idle thread and runs it.
pub fn ap_start(gd: &'static GlobalData, kstack_top: u64) -> ! {
    let idle = Thread::adopt_current(
        if gd.cpuid < 10 { IDLE_NAMES[gd.cpuid] } else { "idle" },
        gd,
        pri::IDLE_THREAD,
        kstack_top,
    );
    idle.set_flags(tdf::IDLE);
    set_curthread(gd, &idle);
    {
        let _c = crit();
        sched_of(gd).idle = Some(idle);
    }
    idle_loop()
}

const IDLE_NAMES: [&str; 10] =
    ["idle0", "idle1", "idle2", "idle3", "idle4", "idle5", "idle6", "idle7", "idle8", "idle9"];

/// A counted handle to the running thread.
pub fn current_handle() -> ThreadHandle {
    let td = curthread();
    let _c = crit();
    let s = sched_of(mycpu());
    if let Some(h) = s.thread0.as_ref().filter(|h| core::ptr::eq(&***h, td)) {
        return h.clone();
    }
    if let Some(h) = s.idle.as_ref().filter(|h| core::ptr::eq(&***h, td)) {
        return h.clone();
    }
    td.self_handle().expect("running thread without a handle")
}

/// Creates a thread on CPU `cpu` (or this CPU for `None`) running `f`, and schedules it.
pub fn create(
    name: &'static str,
    pri: u32,
    cpu: Option<usize>,
    f: impl FnOnce() + Send + 'static,
) -> Option<ThreadHandle> {
    let gd = match cpu {
        Some(c) => super::globaldata::globaldata(c)?,
        None => mycpu(),
    };
    let td = Thread::create(name, gd, pri, Box::new(f))?;
    schedule(&td);
    Some(td)
}

/// Creates an interrupt-class thread: like [`create`], but when an interrupt handler
/// schedules it while a lower-priority thread runs, it preempts that thread at once
/// (lwkt_preempt) instead of waiting for the next yield point.
pub fn create_preemptable(
    name: &'static str,
    pri: u32,
    cpu: Option<usize>,
    f: impl FnOnce() + Send + 'static,
) -> Option<ThreadHandle> {
    let gd = match cpu {
        Some(c) => super::globaldata::globaldata(c)?,
        None => mycpu(),
    };
    let td = Thread::create(name, gd, pri, Box::new(f))?;
    td.set_flags(tdf::PREEMPTABLE);
    schedule(&td);
    Some(td)
}

/// Makes `td` runnable on its CPU (lwkt_schedule); from another CPU this goes by IPI.
pub fn schedule(td: &Thread) {
    let _c = crit();
    let gd = mycpu();
    if core::ptr::eq(td.gd(), gd) {
        schedule_local(gd, td);
    } else if td.flags() & tdf::ADOPTED != 0 {
        // Adopted contexts live as long as their CPU: a plain pointer is safe.
        ipiq::send(td.gd(), schedule_remote, td as *const Thread as usize, 0);
    } else if let Some(h) = td.self_handle() {
        // A counted reference travels with the request, so the thread outlives it even if
        // every other handle is dropped meanwhile.
        ipiq::send(td.gd(), schedule_remote, Arc::into_raw(h.0) as usize, 1);
    }
    // else: the thread has exited and been reaped; there is nothing left to schedule.
}

fn schedule_local(gd: &GlobalData, td: &Thread) {
    if td.flags() & tdf::IDLE != 0 {
        return;
    }
    sched_of(gd).enqueue(td);
    if let Some(cur) = try_curthread() {
        if td.pri() > cur.pri() {
            gd.reqflags.fetch_or(rqf::AST_LWKT_RESCHED, Ordering::Relaxed);
            if td.flags() & tdf::PREEMPTABLE != 0
                && gd.dispatching.load(Ordering::Relaxed) != 0
                && gd.processing_ipiq.load(Ordering::Relaxed) == 0
            {
                // A hardware interrupt handler scheduled it: preempt when the interrupt ends,
                // at a clean point (not in the middle of whatever handler code did it).
                gd.preempt_candidate.store(td as *const Thread as *mut Thread, Ordering::Release);
            }
        }
    }
}

/// Preemptions performed (tests and statistics).
pub static PREEMPTIONS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Called by the interrupt path after a first-level handler returned (and the EOI went out):
/// if the handler scheduled an interrupt-class thread of higher priority, preempt to it.
pub fn preempt_check() {
    let gd = mycpu();
    let p = gd.preempt_candidate.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if p.is_null() {
        return;
    }
    let Some(cur) = try_curthread() else { return };
    // SAFETY: the candidate was queued on this CPU by the handler of this very interrupt
    // (schedule_local records it only while `dispatching`), and a queued thread is alive;
    // nothing could reap it while this CPU ran with interrupts off since.
    let ntd = unsafe { &*p };
    if core::ptr::eq(ntd.gd(), gd) && ntd.flags() & tdf::RUNQ != 0 && ntd.pri() > cur.pri() {
        preempt(gd, cur, ntd);
    }
}

/// lwkt_preempt: from an interrupt, run the interrupt-class thread `ntd` right now on top of
/// the interrupted thread `cur`, which keeps its tokens and its place; when `ntd` blocks or
/// yields, the switch returns straight to `cur`, which finishes its interrupt. Only when it
/// is safe: a first-level hardware interrupt (not an IPI or a replay), `cur` was in no
/// critical section, `ntd` holds no tokens and neither is already part of a preemption.
fn preempt(gd: &GlobalData, cur: &Thread, ntd: &Thread) {
    let nesting = gd.intr_nesting.load(Ordering::Relaxed);
    if nesting != 1
        || gd.processing_ipiq.load(Ordering::Relaxed) != 0
        || cur.critcount() != 0
        || token::holds_tokens(ntd)
        || cur.flags() & (tdf::IDLE | tdf::PREEMPT_LOCK) != 0
        || !cur.preempted().load(Ordering::Relaxed).is_null()
        || !ntd.preempted().load(Ordering::Relaxed).is_null()
        || ntd.flags() & (tdf::RUNNING | tdf::PREEMPT_LOCK) != 0
        || core::ptr::eq(cur, ntd)
    {
        return;
    }
    bump(&gd.stats.switches);
    PREEMPTIONS.fetch_add(1, Ordering::Relaxed);
    ntd.preempted().store(cur as *const Thread as *mut Thread, Ordering::Release);
    ntd.switches.fetch_add(1, Ordering::Relaxed);
    ntd.set_flags(tdf::RUNNING);
    // The victim stays RUNNING, keeps its tokens, and sits in a critical section for the
    // whole preemption: an interrupt that finds it current again (the preemptor's switch
    // back) defers instead of preempting it a second time.
    cur.set_flags(tdf::PREEMPT_LOCK);
    cur.critcount_add(1);
    super::cputime::switch(cur, ntd);
    // The preemptor runs as a thread, outside the interrupt: it may block.
    gd.intr_nesting.store(0, Ordering::Relaxed);
    crate::proc::usermd::switch_user_state(cur, ntd);
    set_curthread(gd, ntd);
    // SAFETY: as in switch_inner; `cur` stays RUNNING, queued and PREEMPT_LOCKed, so nobody
    // else can switch to it: only the preemptor's next switch returns here.
    let prev = unsafe { md::switch::cpu_switch(cur.sp_ptr(), ntd.sp_ptr(), cur as *const Thread as u64) };
    // Back inside the interrupt handler we were preempted in (cpu_switch restored our
    // RFLAGS, with interrupts off as the interrupt gate left them).
    gd.intr_nesting.store(nesting, Ordering::Relaxed);
    // SAFETY: prev is the preemptor, alive until reaped by switch_return.
    switch_return(unsafe { &*(prev as *const Thread) });
    cur.clear_flags(tdf::PREEMPT_LOCK);
    cur.critcount_add(-1);
}

fn schedule_remote(arg: usize, counted: usize) {
    // SAFETY: `arg` is either an adopted thread (alive as long as its CPU) or carries a
    // counted reference (`counted == 1`) made by `schedule`, released below.
    let td = unsafe { &*(arg as *const Thread) };
    let gd = mycpu();
    if !core::ptr::eq(td.gd(), gd) {
        // It migrated meanwhile: chase it, with the reference.
        ipiq::send(td.gd(), schedule_remote, arg, counted);
        return;
    }
    schedule_local(gd, td);
    if counted == 1 {
        // SAFETY: made by Arc::into_raw in `schedule`; consumed exactly once, here.
        drop(unsafe { Arc::from_raw(arg as *const Thread) });
    }
}

/// lwkt_schedulerclock, from the clock tick: when the running thread has equal-priority peers
/// ask for a round-robin switch. Kernel threads are not preempted, so the request is honoured
/// at the next yield point (or return to user mode).
pub(super) fn schedulerclock(gd: &GlobalData) {
    let Some(td) = try_curthread() else { return };
    // SAFETY: called from the clock interrupt on this CPU with interrupts off.
    let s = unsafe { gd.sched.get() };
    super::loadavg::tick(gd, s.runq.iter().map(|q| q.len() as u64).sum());
    // Equal-priority peers get a turn; a better thread queued behind the running one (it
    // lowered its priority, or a wakeup's request was consumed) gets the CPU.
    let higher = s.mask.checked_shr(td.pri() + 1).unwrap_or(0) != 0;
    if s.runq[td.pri() as usize].len() > 1 || higher {
        gd.reqflags.fetch_or(rqf::AST_LWKT_RESCHED, Ordering::Relaxed);
    }
}

/// Takes the current thread off its run queue; it runs again only after `schedule`.
pub fn deschedule_self() {
    let _c = crit();
    sched_of(mycpu()).dequeue(curthread());
}

/// Changes the current thread's priority.
pub fn set_pri_self(p: u32) {
    let _c = crit();
    let gd = mycpu();
    let td = curthread();
    let queued = td.flags() & tdf::RUNQ != 0;
    let s = sched_of(gd);
    if queued {
        s.dequeue(td);
    }
    td.set_pri_raw(p);
    if queued {
        s.enqueue(td);
    }
    // Lowered below a queued thread: that one must get the CPU at the next chance.
    if s.mask.checked_shr(p + 1).unwrap_or(0) != 0 {
        gd.reqflags.fetch_or(rqf::AST_LWKT_RESCHED, Ordering::Relaxed);
    }
}

/// Gives the CPU to the next runnable thread of equal or higher priority, round robin.
pub fn yield_now() {
    let _c = crit();
    let gd = mycpu();
    let td = curthread();
    let s = sched_of(gd);
    if td.flags() & tdf::RUNQ != 0 {
        s.dequeue(td);
        s.enqueue(td);
    }
    switch();
}

/// Called when a token is contended: switch, staying runnable.
pub(super) fn switch_contended() {
    switch_inner();
}

/// lwkt_switch: run the best runnable thread whose tokens are all free. The current thread
/// keeps its place if it is still the best; if it is not on a run queue it blocks until
/// someone schedules it.
pub fn switch() {
    token::assert_may_block(curthread());
    switch_inner();
}

fn choose(gd: &GlobalData, td: &Thread) -> &'static Thread {
    // A preemptor that blocks or yields gives the CPU straight back to the thread it
    // preempted, which still holds its tokens.
    let victim = td.preempted().swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !victim.is_null() {
        // SAFETY: the preempted thread is RUNNING and queued, so alive.
        return unsafe { &*victim };
    }
    let s = sched_of(gd);
    let mut mask = s.mask;
    while mask != 0 {
        let p = 31 - mask.leading_zeros() as usize;
        mask &= !(1 << p);
        let mut cur = s.runq[p].front();
        while let Some(t) = cur {
            if !token::holds_tokens(t) || token::acquire_all(t) {
                // SAFETY: queued threads are alive (kept by their self reference).
                return unsafe { &*(t as *const Thread) };
            }
            cur = s.runq[p].next(t);
        }
    }
    // Nothing can run: idle, with the reschedule flag set so it retries instead of halting
    // when the reason was token contention.
    if s.mask != 0 {
        gd.reqflags.fetch_or(rqf::AST_LWKT_RESCHED, Ordering::Relaxed);
    }
    let idle = s.idle.as_deref().expect("CPU without idle thread");
    // SAFETY: the idle thread lives as long as its CPU (held in Sched).
    unsafe { &*(idle as *const Thread) }
}

fn switch_inner() {
    let gd = mycpu();
    assert!(gd.intr_nesting.load(Ordering::Relaxed) == 0, "lwkt_switch inside an interrupt");
    assert!(gd.spinlocks.load(Ordering::Relaxed) == 0, "lwkt_switch with a spinlock held");
    let td = curthread();
    crit_enter();
    gd.reqflags.fetch_and(!rqf::AST_LWKT_RESCHED, Ordering::Relaxed);
    token::release_all(td);
    // A process thread leaving its run queue gives its CPU's user slot to another lwp, and
    // finishes its kernel work, once woken, above user priority (passive release).
    if td.flags() & tdf::RUNQ == 0 {
        if let Some(u) = td.user() {
            if crate::sched::passive_release(&u.lwp) {
                td.set_pri_raw(pri::KERN_USER);
            }
        }
    }
    let ntd = choose(gd, td);
    if !core::ptr::eq(ntd, td) {
        bump(&gd.stats.switches);
        ntd.switches.fetch_add(1, Ordering::Relaxed);
        ntd.set_flags(tdf::RUNNING);
        super::cputime::switch(td, ntd);
        crate::proc::usermd::switch_user_state(td, ntd);
        set_curthread(gd, ntd);
        // SAFETY: both threads are alive; ntd's saved stack pointer comes from its last switch
        // away or its initial frame; we are in a critical section on the owner CPU.
        let prev = unsafe { md::switch::cpu_switch(td.sp_ptr(), ntd.sp_ptr(), td as *const Thread as u64) };
        // SAFETY: prev is the thread that just switched to us; it is alive until switch_return
        // reaps it (if exiting).
        switch_return(unsafe { &*(prev as *const Thread) });
    }
    crit_exit_noyield();
}

/// Finishes a switch on the new thread: the old thread's context is now saved, so it may be
/// reaped, migrated or run elsewhere (lwkt_switch_return). The flags are read before RUNNING
/// is cleared: once it is, another CPU may take the thread over (acquire) and change them.
fn switch_return(prev: &Thread) {
    let f = prev.flags();
    if f & tdf::PREEMPT_LOCK != 0 {
        // A preempted thread handing over to its preemptor: it stays RUNNING.
        return;
    }
    if f & tdf::EXITING != 0 {
        prev.clear_running();
        prev.reap();
    } else if f & tdf::MIGRATING != 0 {
        let target = prev.migrate_to().swap(core::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: migrate_to points at a 'static GlobalData (set by migrate).
        let target: &'static GlobalData = unsafe { &*target };
        // Ownership passes now, from the old owner: requests that arrive here from now on
        // chase the thread to its new CPU, where it is enqueued on arrival.
        prev.set_gd(target);
        prev.clear_running();
        ipiq::send(target, migrate_arrive, prev as *const Thread as usize, 0);
    } else {
        prev.clear_running();
    }
}

fn migrate_arrive(arg: usize, _: usize) {
    // SAFETY: a migrating thread is kept alive by its self reference.
    let td = unsafe { &*(arg as *const Thread) };
    let gd = mycpu();
    td.clear_flags(tdf::MIGRATING);
    schedule_local(gd, td);
}

/// The first code a new thread runs (from the switch trampoline).
pub(crate) extern "C" fn thread_start(prev: *const Thread) -> ! {
    // SAFETY: see switch_inner.
    switch_return(unsafe { &*prev });
    // Threads run with interrupts enabled; the switch itself never changes IF, and the
    // switch that started us may have come from a context with it off (an AP's first idle
    // pass).
    x86_64::instructions::interrupts::enable();
    crit_exit();
    let td = curthread();
    if let Some(f) = td.take_start() {
        f();
    }
    // A process thread goes on to user mode from here.
    crate::proc::usermd::enter_pending(td);
    exit()
}

/// Ends the current thread; its stack is reclaimed after the switch away.
pub fn exit() -> ! {
    let gd = mycpu();
    let td = curthread();
    assert!(td.flags() & tdf::IDLE == 0, "the idle thread exits");
    crit_enter();
    token::assert_may_block(td);
    // An interlock without its tsleep would leave a freed thread on the sleep queue.
    super::sleep::dequeue_current(td);
    sched_of(gd).dequeue(td);
    td.set_flags(tdf::EXITING);
    switch_inner();
    unreachable!("exited thread {} resumed", td.name());
}

/// Moves the current thread to CPU `cpu` (push migration, lwkt_setcpu_self); returns on it.
pub fn migrate(cpu: usize) {
    let Some(target) = super::globaldata::globaldata(cpu) else { return };
    let gd = mycpu();
    if core::ptr::eq(target, gd) {
        return;
    }
    let td = curthread();
    let _c = crit();
    // Sleep queues are per CPU: an interlock does not survive the move.
    super::sleep::dequeue_current(td);
    sched_of(gd).dequeue(td);
    td.migrate_to().store(target as *const GlobalData as *mut GlobalData, Ordering::Release);
    td.set_flags(tdf::MIGRATING);
    switch_inner();
    debug_assert!(core::ptr::eq(mycpu(), target));
}

/// Pull migration (lwkt_giveaway + lwkt_acquire): takes over `td`, a thread descheduled on
/// another CPU (off every run and sleep queue, e.g. parked by a user scheduler), and makes
/// this CPU its owner. The hand-off is done by the old owner, in an IPI, so it never races
/// with that CPU's own use of the thread. Retries while the old CPU is still switching away
/// from it; returns false (and changes nothing) if the thread is queued, exiting or moving.
pub fn acquire(td: &Thread) -> bool {
    struct Handoff {
        target: *const GlobalData,
        refused: core::sync::atomic::AtomicU32,
    }
    fn giveaway(td: usize, h: usize) {
        // SAFETY: `acquire` waits for this message, so both live until it returns.
        let (td, h) = unsafe { (&*(td as *const Thread), &*(h as *const Handoff)) };
        let f = td.flags_acquire();
        let gone = !core::ptr::eq(td.gd(), mycpu());
        let verdict = if gone || f & (tdf::RUNQ | tdf::TSLEEPQ | tdf::MIGRATING | tdf::EXITING) != 0 {
            2
        } else if f & (tdf::RUNNING | tdf::PREEMPT_LOCK) != 0 {
            1
        } else {
            // SAFETY: `target` points at a 'static GlobalData.
            td.set_gd(unsafe { &*h.target });
            0
        };
        h.refused.store(verdict, Ordering::Release);
    }
    let gd = mycpu();
    for _ in 0..100_000 {
        let old = td.gd();
        if core::ptr::eq(old, gd) {
            return true;
        }
        let h = Handoff { target: gd, refused: core::sync::atomic::AtomicU32::new(2) };
        let seq = ipiq::send(old, giveaway, td as *const Thread as usize, &h as *const Handoff as usize);
        ipiq::wait(old, seq);
        match h.refused.load(Ordering::Acquire) {
            0 => return true,
            1 => core::hint::spin_loop(),
            _ => return false,
        }
    }
    false
}

/// The idle loop: run whatever becomes runnable, else halt until an interrupt.
pub fn idle_loop() -> ! {
    x86_64::instructions::interrupts::enable();
    loop {
        crit_enter();
        let gd = mycpu();
        let runnable = sched_of(gd).mask != 0;
        if runnable || gd.reqflags.load(Ordering::Relaxed) & rqf::AST_LWKT_RESCHED != 0 {
            switch_inner();
            crit_exit();
            core::hint::spin_loop();
            continue;
        }
        // Interrupts are off between the last check and the halt, so a wakeup IPI cannot
        // slip in unseen: `sti; hlt` takes it at the halt.
        x86_64::instructions::interrupts::disable();
        if sched_of(gd).mask == 0 && !gd.reqflags_pending() {
            bump(&gd.stats.idle_halts);
            let t0 = crate::time::nanotime();
            x86_64::instructions::interrupts::enable_and_hlt();
            gd.stats.idle_ns.fetch_add(crate::time::nanotime().saturating_sub(t0), Ordering::Relaxed);
        } else {
            x86_64::instructions::interrupts::enable();
        }
        crit_exit();
    }
}

mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicUsize, Ordering};

    /// Yields until `done` reaches `n` (bounded, so a broken scheduler fails instead of hanging).
    fn wait_for(done: &AtomicUsize, n: usize) -> Result<(), crate::ktest::Failure> {
        for _ in 0..100_000 {
            if done.load(Ordering::Acquire) >= n {
                return Ok(());
            }
            yield_now();
        }
        Err(alloc::format!("only {} of {} threads finished", done.load(Ordering::Acquire), n).into())
    }

    ktest! {
        /// A created thread runs its closure when the creator yields, then exits and is reaped.
        fn create_run_exit() {
            let done = Arc::new(AtomicUsize::new(0));
            let d = done.clone();
            let td = create("t-run", pri::KERN_DAEMON, None, move || {
                d.fetch_add(1, Ordering::AcqRel);
            })
            .ok_or("create failed")?;
            wait_for(&done, 1)?;
            // The exit completes on the switch away; one more yield lets the reaper run.
            yield_now();
            kassert!(td.flags() & tdf::EXITING != 0, "flags {:#x}", td.flags());
            kassert!(td.flags() & tdf::RUNNING == 0, "still running");
            kassert_eq!(Arc::strong_count(&td.0), 1);
            Ok(())
        }
    }

    ktest! {
        /// Threads of equal priority take turns in FIFO order at every yield.
        fn round_robin_equal_priority() {
            let order = Arc::new(spin::Mutex::new(Vec::new()));
            let done = Arc::new(AtomicUsize::new(0));
            for id in 0..3usize {
                let (o, d) = (order.clone(), done.clone());
                create("t-rr", pri::KERN_DAEMON, None, move || {
                    for round in 0..3 {
                        o.lock().push((round, id));
                        yield_now();
                    }
                    d.fetch_add(1, Ordering::AcqRel);
                })
                .ok_or("create failed")?;
            }
            wait_for(&done, 3)?;
            let got = order.lock().clone();
            let want: Vec<(usize, usize)> = (0..3).flat_map(|r| (0..3).map(move |i| (r, i))).collect();
            kassert_eq!(got, want);
            Ok(())
        }
    }

    ktest! {
        /// A higher-priority thread runs before lower ones queued earlier, and a lower one
        /// does not run while a higher one is runnable.
        fn priority_order() {
            let order = Arc::new(spin::Mutex::new(Vec::new()));
            let done = Arc::new(AtomicUsize::new(0));
            for (name, p) in [("low", pri::KERN_USER), ("high", pri::SOFT_NORM), ("mid", pri::KERN_DAEMON)] {
                let (o, d) = (order.clone(), done.clone());
                create(name, p, None, move || {
                    o.lock().push(name);
                    d.fetch_add(1, Ordering::AcqRel);
                })
                .ok_or("create failed")?;
            }
            // We run at KERN_DAEMON: a yield runs "high" first, then "mid" (equal to us, queued
            // behind us); "low" never runs while we stay runnable at a higher priority.
            wait_for(&done, 2)?;
            for _ in 0..10 {
                yield_now();
            }
            kassert_eq!(*order.lock(), ["high", "mid"]);
            set_pri_self(pri::KERN_USER - 1);
            yield_now();
            set_pri_self(pri::KERN_DAEMON);
            wait_for(&done, 3)?;
            kassert_eq!(*order.lock(), ["high", "mid", "low"]);
            Ok(())
        }
    }

    ktest! {
        /// Many short threads: stacks are reaped and reused, so memory does not run out.
        fn many_threads_reaped() {
            let (free0, _) = crate::mem::phys::counts();
            for _ in 0..20 {
                let done = Arc::new(AtomicUsize::new(0));
                for _ in 0..50 {
                    let d = done.clone();
                    create("t-many", pri::KERN_DAEMON, None, move || {
                        d.fetch_add(1, Ordering::AcqRel);
                    })
                    .ok_or("create failed")?;
                }
                wait_for(&done, 50)?;
                yield_now();
            }
            let (free1, _) = crate::mem::phys::counts();
            // 1000 threads of 4 pages each would take 4000 pages without reuse.
            kassert!(free0 - free1.min(free0) < 400, "pages leaked: {} -> {}", free0, free1);
            Ok(())
        }
    }
}
