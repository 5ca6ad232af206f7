//! User scheduling (DragonFly's kern_usched.c and struct usched): lwps on top of LWKT.
//!
//! Every lwp has its own LWKT thread, but per CPU only one of them, the designated user
//! thread (`cur`, DragonFly's `uschedcp`), may run in user mode; the others wait on a user
//! run queue, descheduled. Kernel work always wins: a user thread runs at
//! `USER_NORM` while it holds the slot; one that blocks in the kernel gives the slot up on
//! the way out (passive release, from the LWKT switch) and finishes its kernel work at
//! `KERN_USER` when it wakes; on its way back to user mode ([`userexit`]) it drops to
//! `USER_NORM` again and acquires a slot, waiting in a queue if a better lwp holds it.
//!
//! Which queue an lwp waits on, which one takes a freed slot and how CPUs balance is the
//! policy's: [`dfly`] (per-CPU queues, the default) or [`bsd4`] (one global queue),
//! chosen at boot with `usched=dfly|bsd4`. Priorities ([`priority`]) come from nice and
//! recent CPU use; the clock tick ([`schedulerclock`]) charges the running lwp and asks for
//! a round robin or a switch to a better waiting lwp. A per-CPU helper thread ([`helper`])
//! runs when its CPU has no user work and pulls some from busier CPUs.
pub mod bsd4;
pub mod dfly;
pub mod helper;
pub mod priority;
pub mod runq;

use crate::lwkt::globaldata::{mycpu, ncpus, MAXCPU};
use crate::lwkt::sched as lwkt;
use crate::lwkt::thread::{pri, Thread};
use crate::proc::Lwp;
use crate::sync::spinlock::SpinLock;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use runq::RunQ;

/// Ticks a user thread keeps the slot before equal-priority waiters get a turn (DragonFly's
/// rrinterval: about 1/10 s).
pub const RR_INTERVAL: u32 = 10;
/// A waiting lwp takes the slot from the running one at once when it is better by more than
/// this many bands (DragonFly's fast_resched); otherwise at the next tick.
const FAST_RESCHED_BANDS: usize = 1;

/// One CPU's user-scheduling state.
pub struct Pcpu {
    /// The slot and, for dfly, the lwps waiting for this CPU.
    pub st: SpinLock<PcpuState>,
    /// The tick asked the slot holder to give the CPU a turn to others (need_user_resched).
    resched: AtomicBool,
    /// Ticks a user thread held this CPU's slot (the per-CPU run counts /proc/stat shows).
    pub user_ticks: AtomicU64,
}

/// What the per-CPU lock guards.
pub struct PcpuState {
    /// The designated user thread.
    pub cur: Option<Arc<Lwp>>,
    /// Its band when it took the slot or at the last tick.
    pub cur_band: usize,
    /// Lwps waiting for this CPU (dfly; bsd4 keeps one global queue).
    pub queue: RunQ,
}

impl Pcpu {
    const fn new() -> Pcpu {
        Pcpu {
            st: SpinLock::new(PcpuState { cur: None, cur_band: 0, queue: RunQ::new() }),
            resched: AtomicBool::new(false),
            user_ticks: AtomicU64::new(0),
        }
    }
}

static PCPU: [Pcpu; MAXCPU] = [const { Pcpu::new() }; MAXCPU];

/// CPU `c`'s state.
pub fn pcpu(c: usize) -> &'static Pcpu {
    &PCPU[c.min(MAXCPU - 1)]
}

/// What differs between user schedulers (DragonFly's `struct usched` operations that are
/// not common code here).
pub trait Usched: Sync {
    /// Its name, for the boot line and /proc.
    fn name(&self) -> &'static str;
    /// `lwp`, on CPU `cpu` and not to run now, waits for a slot (setrunqueue). Called in a
    /// critical section with `cpu`'s state locked, before the thread deschedules itself.
    /// `front`: it comes back from a sleep, and goes ahead of its band's CPU-bound lwps
    /// (which take turns at the back), so a sleeper's wakeup waits at most for one slice.
    fn enqueue(
        &self,
        cpu: usize,
        st: &mut PcpuState,
        lwp: Arc<Lwp>,
        band: usize,
        front: bool,
    ) -> Result<(), i32>;
    /// CPU `cpu`'s slot is free: the best waiting lwp this CPU owns the thread of, if any
    /// (select_curproc; a remote one is left to the helper, which can pull it). `cpu`'s
    /// state is locked.
    fn take_local(&self, cpu: usize, st: &mut PcpuState) -> Option<Arc<Lwp>>;
    /// The best band waiting for `cpu` (to decide on a reschedule at the tick); `cpu`'s
    /// state is locked.
    fn best_waiting(&self, cpu: usize, st: &PcpuState) -> Option<usize>;
    /// From the helper of idle CPU `cpu`: a waiting lwp of another CPU that may run here,
    /// taken off its queue (the caller then pulls its thread over).
    fn steal(&self, cpu: usize) -> Option<Arc<Lwp>>;
    /// The CPU a new lwp (fork, clone) starts on (DragonFly's heuristic_forking placement).
    fn place_new(&self, mask: u64) -> Option<usize>;
    /// Queued lwps' priorities moved (decay): sort them again.
    fn rebucket(&self, cpu: usize, now: u64);
}

static DFLY: dfly::Dfly = dfly::Dfly;
static BSD4: bsd4::Bsd4 = bsd4::Bsd4::new();
/// 0: dfly, 1: bsd4.
static WHICH: AtomicUsize = AtomicUsize::new(0);

/// The user scheduler in use.
pub fn policy() -> &'static dyn Usched {
    if WHICH.load(Ordering::Relaxed) == 1 {
        &BSD4
    } else {
        &DFLY
    }
}

/// Picks the scheduler from the boot line (`usched=dfly|bsd4`) and starts a helper thread
/// on every CPU. Called once the CPUs are up.
pub fn init() {
    match crate::kenv::get("usched") {
        Some("bsd4") => WHICH.store(1, Ordering::Relaxed),
        Some("dfly") | None => WHICH.store(0, Ordering::Relaxed),
        Some(other) => log::warn!("usched: unknown scheduler '{}'; using dfly", other),
    }
    for c in 0..ncpus() {
        helper::start(c);
    }
    log::info!("usched: {} on {} CPUs", policy().name(), ncpus());
}

/// The scheduler's clock: ticks since boot, the same on every CPU.
pub fn now() -> u64 {
    crate::time::nanotime() / (1_000_000_000 / crate::lwkt::clock::HZ)
}

/// Whether `lwp` may run on CPU `c`.
pub fn allowed(lwp: &Lwp, c: usize) -> bool {
    c < 64 && lwp.cpumask.load(Ordering::Relaxed) & (1 << c) != 0
}

fn band_of(lwp: &Lwp, now: u64) -> usize {
    priority::band(priority::priority(lwp, now))
}

/// The CPU a new lwp starts on.
pub fn place_new(mask: u64) -> Option<usize> {
    policy().place_new(mask)
}

/// A new lwp `child` of `parent`: it inherits its parent's recent CPU use.
pub fn forking(parent: &Lwp, child: &Lwp) {
    child.us.inherit(&parent.us, now());
}

/// Whether the thread running now holds its CPU's user slot.
fn holds_slot(st: &PcpuState, lwp: &Lwp) -> bool {
    st.cur.as_ref().is_some_and(|c| core::ptr::eq(&**c, lwp))
}

/// Hands CPU `cpu`'s free slot to the best waiting lwp it owns, and makes that one
/// runnable. With nobody local waiting, the helper gets a chance to pull work.
fn select_curproc(cpu: usize, st: &mut PcpuState) -> Option<Arc<Lwp>> {
    debug_assert!(st.cur.is_none());
    let next = policy().take_local(cpu, st)?;
    st.cur_band = band_of(&next, now());
    st.cur = Some(next.clone());
    next.us.rrcount.store(0, Ordering::Relaxed);
    Some(next)
}

fn run_thread_of(lwp: &Lwp) {
    // The handle is taken out first: the lock is not held while scheduling.
    let td = lwp.thread.lock().clone();
    if let Some(td) = td {
        lwkt::schedule(&td);
    }
}

/// Passive release (DragonFly's lwkt_passive_release + release_curproc), from the LWKT
/// switch when the thread running `lwp` leaves its run queue (it sleeps, migrates, exits
/// or waits for a slot): its CPU's user slot goes to the best waiting lwp. True when it
/// held the slot (the switch then lets it finish its kernel work at `KERN_USER` when it
/// runs again). In a critical section on the thread's CPU.
pub fn passive_release(lwp: &Lwp) -> bool {
    let cpu = mycpu().cpuid;
    let next = {
        let mut st = pcpu(cpu).st.lock();
        if !holds_slot(&st, lwp) {
            return false;
        }
        st.cur = None;
        select_curproc(cpu, &mut st)
    };
    match next {
        Some(n) => run_thread_of(&n),
        None => helper::wake(cpu),
    }
    true
}

/// The way back to user mode (DragonFly's userexit): a thread with kernel priority drops
/// to `USER_NORM`, the slot holder asked to give a turn does so, kernel threads made
/// runnable meanwhile go first, and the thread does not go on before it holds its CPU's
/// user slot. Interrupts enabled, no spinlock held.
pub fn userexit(lwp: &Arc<Lwp>) {
    let td = lwkt::curthread();
    // Above user priority: it slept in the kernel (or is new).
    let woke = td.pri() != pri::USER_NORM;
    for _ in 0..1000 {
        // Again at each round: a move to another CPU releases the slot and raises it.
        if td.pri() != pri::USER_NORM {
            lwkt::set_pri_self(pri::USER_NORM);
        }
        let cpu = mycpu().cpuid;
        if pcpu(cpu).resched.load(Ordering::Acquire) {
            give_turn(cpu, lwp);
        }
        acquire_curproc(lwp, woke);
        if mycpu().reqflags.load(Ordering::Relaxed) & crate::lwkt::globaldata::rqf::AST_LWKT_RESCHED == 0 {
            return;
        }
        // Others ran meanwhile: one may have taken the slot.
        lwkt::yield_now();
    }
}

/// The slot holder gives the waiting lwps a turn: it queues itself behind its equals and
/// the best waiting one takes the slot (which may be itself again).
fn give_turn(cpu: usize, lwp: &Arc<Lwp>) {
    let _c = crate::lwkt::crit::crit();
    let next = {
        let mut st = pcpu(cpu).st.lock();
        // Only the holder answers the request (another thread passing by leaves it).
        if !holds_slot(&st, lwp) {
            return;
        }
        pcpu(cpu).resched.store(false, Ordering::Release);
        if policy().enqueue(cpu, &mut st, lwp.clone(), band_of(lwp, now()), false).is_err() {
            // Nowhere to wait: keep the slot.
            return;
        }
        st.cur = None;
        select_curproc(cpu, &mut st)
    };
    match next {
        Some(n) if Arc::ptr_eq(&n, lwp) => {}
        Some(n) => {
            run_thread_of(&n);
            park();
        }
        // bsd4: the best waiting lwp belongs to another CPU; this CPU's helper pulls it
        // (or this one) over once the CPU is idle.
        None => {
            helper::wake(cpu);
            park();
        }
    }
}

/// Deschedules the calling thread (queued for a slot) and switches away, until a scheduler
/// makes it runnable again. In a critical section: a wakeup from another CPU arrives by IPI
/// and so only after the switch.
fn park() {
    lwkt::deschedule_self();
    lwkt::switch();
}

/// acquire_curproc: returns once `lwp` holds the user slot of the CPU it runs on, taking a
/// free slot, taking a worse lwp's, or waiting in the queue (ahead of its band if it
/// `woke` from a sleep); moves to another CPU first if this one is outside its affinity.
fn acquire_curproc(lwp: &Arc<Lwp>, woke: bool) {
    for _ in 0..1_000_000 {
        let cpu = mycpu().cpuid;
        // A rebalancing tick sent it to a less loaded CPU (looked at before written: this
        // runs at every return to user mode).
        if lwp.us.move_to.load(Ordering::Relaxed) != priority::NO_CPU {
            let to = lwp.us.move_to.swap(priority::NO_CPU, Ordering::AcqRel) as usize;
            if to != cpu && to < cpus() && allowed(lwp, to) {
                lwkt::migrate(to);
                continue;
            }
        }
        if !allowed(lwp, cpu) {
            let mask = lwp.cpumask.load(Ordering::Relaxed);
            if let Some(to) = policy().place_new(mask) {
                lwkt::migrate(to);
                continue;
            }
        }
        let _c = crate::lwkt::crit::crit();
        let mut st = pcpu(cpu).st.lock();
        // The common case, at every return to user mode: nothing to compute.
        if holds_slot(&st, lwp) {
            return;
        }
        let band = band_of(lwp, now());
        let take = match &st.cur {
            None => true,
            Some(_) => band + FAST_RESCHED_BANDS < st.cur_band,
        };
        if take {
            // A worse holder finds at its next return to user mode that it lost the slot.
            st.cur = Some(lwp.clone());
            st.cur_band = band;
            lwp.us.rrcount.store(0, Ordering::Relaxed);
            return;
        }
        if policy().enqueue(cpu, &mut st, lwp.clone(), band, woke).is_err() {
            // No room to wait: let others run, then try again.
            drop(st);
            drop(_c);
            lwkt::yield_now();
            continue;
        }
        drop(st);
        // A CPU with a free slot that may run it comes and takes it (wakeup placement).
        if let Some(c) = (0..cpus()).find(|&c| c != cpu && allowed(lwp, c) && slot_free(c)) {
            helper::wake(c);
        }
        park();
    }
    log::warn!("usched: lwp {} could not get a user slot", lwp.tid());
}

/// The tick on CPU `cpu`, `td` running (schedulerclock): charges the slot holder a tick of
/// CPU, and asks it to give up the CPU when a waiting lwp is now better, or to round robin
/// among equals when its interval is up. Every `DECAY_PERIOD` ticks the waiting lwps are
/// sorted again (their priorities improve as their CPU use decays) and an idle CPU's helper
/// looks for work elsewhere. Interrupt context (no spinlock is held on this CPU).
pub fn schedulerclock(cpu: usize, td: &Thread) {
    let p = pcpu(cpu);
    let now = now();
    let mut idle = false;
    if let Some(mut st) = p.st.try_lock() {
        idle = st.cur.is_none();
        let holder = td.user().map(|u| &u.lwp).filter(|l| holds_slot(&st, l));
        if let Some(lwp) = holder {
            p.user_ticks.fetch_add(1, Ordering::Relaxed);
            lwp.us.charge_tick(now);
            let band = band_of(lwp, now);
            st.cur_band = band;
            let rr = lwp.us.rrcount.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            let waiting = policy().best_waiting(cpu, &st);
            let better = waiting.is_some_and(|w| w < band);
            let turn =
                rr >= RR_INTERVAL && waiting.is_some_and(|w| w <= band) && !priority::no_round_robin(lwp);
            if better || turn {
                p.resched.store(true, Ordering::Release);
            }
        }
    }
    if now % priority::DECAY_PERIOD == cpu as u64 % priority::DECAY_PERIOD {
        policy().rebucket(cpu, now);
        rebalance(cpu);
        if idle {
            helper::wake(cpu);
        }
    }
}

/// Whether CPU `c`'s user slot is free (a racy look, for hints).
fn slot_free(c: usize) -> bool {
    pcpu(c).st.try_lock().is_some_and(|st| st.cur.is_none())
}

/// A CPU's user load: its slot holder and its waiting lwps (a racy look).
fn load(c: usize) -> usize {
    pcpu(c).st.try_lock().map_or(usize::MAX, |st| st.cur.is_some() as usize + st.queue.len())
}

/// The periodic rebalance (usched_dfly's schedulerclock pull, done as a push): a CPU with
/// at least two more lwps than the least loaded one sends one of its waiting lwps there.
/// The lwp runs briefly here to move (push migration), then asks for a slot there. From
/// the tick; only the dfly policy keeps per-CPU queues to balance.
fn rebalance(cpu: usize) {
    if WHICH.load(Ordering::Relaxed) != 0 {
        return;
    }
    let mine = load(cpu);
    if mine == usize::MAX || mine < 3 {
        return;
    }
    let Some((to, theirs)) = (0..cpus()).filter(|&c| c != cpu).map(|c| (c, load(c))).min_by_key(|&(_, l)| l)
    else {
        return;
    };
    if theirs == usize::MAX || theirs + 2 > mine {
        return;
    }
    let moving = pcpu(cpu).st.try_lock().and_then(|mut st| st.queue.pop_best_where(|l| allowed(l, to)));
    if let Some(lwp) = moving {
        lwp.us.move_to.store(to as u32, Ordering::Release);
        run_thread_of(&lwp);
    }
}

/// CPUs online.
fn cpus() -> usize {
    ncpus().clamp(1, MAXCPU)
}
