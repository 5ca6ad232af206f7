//! Stress tests of the LWKT mechanisms under real concurrency (run at -smp 1, 2 and 4).
//! Each checks a result that a wrong mechanism would break, and, when there is more than one
//! CPU, that the hard path really ran (collisions, full rings, cross-CPU wakeups, threads on
//! every CPU), so a kernel that quietly serialised everything would fail.
use super::globaldata::{globaldata, mycpu, ncpus};
use super::msgport::{domsg, replymsg, Msg, Port};
use super::sched::{create, migrate, yield_now};
use super::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PINTERLOCKED};
use super::stats::total;
use super::thread::pri;
use super::token::{get_token, get_token_shared, Token, TokenCell};
use super::{ipiq, sleep};
use crate::ktest::Failure;
use crate::{kassert, kassert_eq, ktest};
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Generous bound on any wait here: a broken mechanism fails instead of hanging.
const LIMIT_NS: u64 = 30_000_000_000;

/// Counts finished workers; the test thread sleeps on it.
struct Latch {
    done: AtomicUsize,
}

impl Latch {
    fn new() -> Arc<Latch> {
        Arc::new(Latch { done: AtomicUsize::new(0) })
    }

    fn arrive(&self) {
        self.done.fetch_add(1, Ordering::AcqRel);
        wakeup(ident_of(self));
    }

    fn wait(&self, n: usize) -> Result<(), Failure> {
        let t0 = crate::time::nanotime();
        while self.done.load(Ordering::Acquire) < n {
            tsleep_interlock(ident_of(self));
            if self.done.load(Ordering::Acquire) >= n {
                sleep::tsleep_cancel();
                break;
            }
            let _ = tsleep(ident_of(self), PINTERLOCKED, "latch", 10);
            if crate::time::nanotime() - t0 > LIMIT_NS {
                return Err(format!(
                    "{} of {} workers finished in time",
                    self.done.load(Ordering::Acquire),
                    n
                )
                .into());
            }
        }
        Ok(())
    }
}

fn spawn_on(cpu: usize, name: &'static str, f: impl FnOnce() + Send + 'static) -> Result<(), Failure> {
    create(name, pri::KERN_DAEMON, Some(cpu), f).map(|_| ()).ok_or_else(|| "create failed".into())
}

ktest! {
    /// Threads created for every CPU run there, and a migrating thread visits every CPU.
    fn threads_run_on_every_cpu() {
        let n = ncpus();
        let seen = Arc::new(AtomicU64::new(0));
        let latch = Latch::new();
        for cpu in 0..n {
            let (s, l) = (seen.clone(), latch.clone());
            spawn_on(cpu, "t-where", move || {
                s.fetch_or(mycpu().cpumask(), Ordering::AcqRel);
                l.arrive();
            })?;
        }
        latch.wait(n)?;
        kassert_eq!(seen.load(Ordering::Acquire), if n == 64 { u64::MAX } else { (1 << n) - 1 });
        let visited = Arc::new(AtomicU64::new(0));
        let (v, l) = (visited.clone(), latch.clone());
        spawn_on(0, "t-migrate", move || {
            for cpu in (0..n).rev().chain(0..n) {
                migrate(cpu);
                if mycpu().cpuid == cpu {
                    v.fetch_or(1 << cpu, Ordering::AcqRel);
                }
            }
            l.arrive();
        })?;
        latch.wait(n + 1)?;
        kassert_eq!(visited.load(Ordering::Acquire), seen.load(Ordering::Acquire));
        Ok(())
    }
}

static IPI_SUM: AtomicU64 = AtomicU64::new(0);
static IPI_COUNT: AtomicU64 = AtomicU64::new(0);

fn ipi_add(a1: usize, a2: usize) {
    IPI_SUM.fetch_add((a1 as u64).wrapping_mul(31).wrapping_add(a2 as u64), Ordering::Relaxed);
    IPI_COUNT.fetch_add(1, Ordering::Relaxed);
}

ktest! {
    /// Every CPU floods every other CPU's ring at once, past full: every message arrives
    /// exactly once (count and checksum), and senders had to drain while spinning.
    fn ipiq_rings_past_full_from_every_cpu() {
        let n = ncpus();
        const PER_TARGET: usize = 3000;
        const BATCH: usize = 1000;
        IPI_SUM.store(0, Ordering::Relaxed);
        IPI_COUNT.store(0, Ordering::Relaxed);
        let (full0, drain0) = (total(|s| &s.ipiq_full), total(|s| &s.ipiq_drained_spinning));
        let latch = Latch::new();
        let go = Arc::new(AtomicUsize::new(0));
        for cpu in 0..n {
            let (l, g) = (latch.clone(), go.clone());
            spawn_on(cpu, "t-flood", move || {
                // Start together so the rings fill in both directions at once.
                g.fetch_add(1, Ordering::AcqRel);
                while g.load(Ordering::Acquire) < n {
                    core::hint::spin_loop();
                }
                let me = mycpu().cpuid;
                let mut seqs = Vec::new();
                for batch in (0..PER_TARGET).step_by(BATCH) {
                    // A whole batch inside one critical section: this CPU's own inbound
                    // messages are deferred meanwhile, so with every CPU doing the same the
                    // rings fill both ways and only draining while spinning gets them moving.
                    let _c = super::crit::crit();
                    for i in batch..(batch + BATCH).min(PER_TARGET) {
                        for t in (0..n).filter(|&t| t != me) {
                            let target = globaldata(t).expect("cpu");
                            let s = ipiq::send(target, ipi_add, i, me * 1000 + t);
                            if i == PER_TARGET - 1 {
                                seqs.push((target, s));
                            }
                        }
                    }
                }
                for (target, s) in seqs {
                    ipiq::wait(target, s);
                }
                l.arrive();
            })?;
        }
        latch.wait(n)?;
        let mut want_sum = 0u64;
        for me in 0..n {
            for t in (0..n).filter(|&t| t != me) {
                for i in 0..PER_TARGET {
                    want_sum = want_sum.wrapping_add((i as u64).wrapping_mul(31).wrapping_add((me * 1000 + t) as u64));
                }
            }
        }
        kassert_eq!(IPI_COUNT.load(Ordering::Relaxed), (n * (n - 1) * PER_TARGET) as u64);
        kassert_eq!(IPI_SUM.load(Ordering::Relaxed), want_sum);
        if n > 1 {
            let (full, drained) = (total(|s| &s.ipiq_full) - full0, total(|s| &s.ipiq_drained_spinning) - drain0);
            kassert!(full > 0, "no ring ever filled past half");
            kassert!(drained > 0, "no sender drained its own rings while spinning");
            crate::kprintln!("# ipiq stress: {} ring-full events, {} messages drained while spinning", full, drained);
        }
        Ok(())
    }
}

ktest! {
    /// Exclusive and shared holders of one token on every CPU: the invariant the exclusive
    /// holders keep (a == b between critical sections) always holds, nothing is lost, and the
    /// token was really contended.
    fn token_ping_pong() {
        let n = ncpus();
        const ROUNDS: usize = 2000;
        let cell = Arc::new(TokenCell::new("stress", (0u64, 0u64)));
        let coll0 = total(|s| &s.token_collisions);
        let latch = Latch::new();
        let bad = Arc::new(AtomicUsize::new(0));
        for cpu in 0..n {
            for k in 0..2 {
                let (c, l, b) = (cell.clone(), latch.clone(), bad.clone());
                spawn_on(cpu, "t-token", move || {
                    for r in 0..ROUNDS {
                        if k == 1 && r % 4 == 0 {
                            let _g = get_token_shared(c.token());
                            // SAFETY-free check through a fresh exclusive guard is not
                            // possible while shared, so readers only take and drop it.
                        } else {
                            let mut g = c.lock();
                            if g.0 != g.1 {
                                b.fetch_add(1, Ordering::Relaxed);
                            }
                            g.0 += 1;
                            for _ in 0..50 {
                                core::hint::spin_loop();
                            }
                            g.1 += 1;
                        }
                        if r % 64 == 0 {
                            yield_now();
                        }
                    }
                    l.arrive();
                })?;
            }
        }
        latch.wait(2 * n)?;
        let g = cell.lock();
        let writes = (n * ROUNDS + n * (ROUNDS - ROUNDS / 4)) as u64;
        kassert_eq!(*g, (writes, writes));
        drop(g);
        kassert_eq!(bad.load(Ordering::Relaxed), 0);
        let coll = total(|s| &s.token_collisions) - coll0;
        if n > 1 {
            kassert!(coll > 0, "the token was never contended");
        }
        crate::kprintln!("# token stress: {} collisions, token's own count {}", coll, cell.token().collisions());
        Ok(())
    }
}

ktest! {
    /// Recursion and shared/exclusive rules on one CPU.
    fn token_rules() {
        static T: Token = Token::new("rules");
        let a = get_token(&T);
        let b = get_token(&T); // recursive exclusive
        let c = get_token_shared(&T); // shared on our own exclusive token
        drop(c);
        drop(b);
        drop(a);
        let s1 = get_token_shared(&T);
        let s2 = get_token_shared(&T);
        drop(s2);
        drop(s1);
        kassert!(super::token::try_token(&T).is_some(), "free token not taken");
        Ok(())
    }
}

#[repr(C)]
struct RoundMsg {
    hdr: Msg,
    value: AtomicU64,
}

ktest! {
    /// Many clients on every CPU send synchronous messages round robin to a server on every
    /// CPU, for many rounds; the servers add a function of the value; the checksum at the end
    /// proves every message was served once and replied to its sender.
    fn msgport_round_robin_all_cpus() {
        let n = ncpus();
        const CLIENTS_PER_CPU: usize = 3;
        const ROUNDS: usize = 300;
        let ports: Arc<Vec<spin::Once<Port>>> = Arc::new((0..n).map(|_| spin::Once::new()).collect());
        let stop = Arc::new(AtomicUsize::new(0));
        let servers = Latch::new();
        let ipis0 = total(|s| &s.ipis_sent);
        for cpu in 0..n {
            let (p, s, l) = (ports.clone(), stop.clone(), servers.clone());
            spawn_on(cpu, "t-server", move || {
                let port = p[cpu].call_once(Port::thread_port);
                loop {
                    let m = port.wait();
                    // SAFETY: only RoundMsg messages are sent to these ports; hdr is first.
                    let rm = unsafe { &*(&*m as *const Msg as *const RoundMsg) };
                    let v = rm.value.load(Ordering::Acquire);
                    if v == u64::MAX {
                        replymsg(m, 0);
                        break;
                    }
                    rm.value.store(v.wrapping_mul(3).wrapping_add(cpu as u64 + 1), Ordering::Release);
                    replymsg(m, 0);
                }
                s.fetch_add(1, Ordering::AcqRel);
                l.arrive();
            })?;
        }
        for p in ports.iter() {
            let t0 = crate::time::nanotime();
            while p.get().is_none() {
                yield_now();
                kassert!(crate::time::nanotime() - t0 < LIMIT_NS, "server never started");
            }
        }
        let clients = Latch::new();
        let bad = Arc::new(AtomicUsize::new(0));
        for cpu in 0..n {
            for k in 0..CLIENTS_PER_CPU {
                let (p, l, b) = (ports.clone(), clients.clone(), bad.clone());
                spawn_on(cpu, "t-client", move || {
                    let reply = Port::thread_port();
                    let msg = RoundMsg { hdr: Msg::new(&reply), value: AtomicU64::new(0) };
                    let mut want = 0u64;
                    for r in 0..ROUNDS {
                        let target = (cpu + k + r) % n;
                        let v = (r as u64) << 8 | k as u64;
                        msg.value.store(v, Ordering::Release);
                        let port = p[target].get().expect("port");
                        if domsg(port, &msg.hdr) != 0 {
                            b.fetch_add(1, Ordering::Relaxed);
                        }
                        let got = msg.value.load(Ordering::Acquire);
                        if got != v.wrapping_mul(3).wrapping_add(target as u64 + 1) {
                            b.fetch_add(1, Ordering::Relaxed);
                        }
                        want = want.wrapping_add(got);
                    }
                    let _ = want;
                    l.arrive();
                })?;
            }
        }
        clients.wait(n * CLIENTS_PER_CPU)?;
        // Stop the servers with a final message each.
        let reply = Port::thread_port();
        for p in ports.iter() {
            let msg = RoundMsg { hdr: Msg::new(&reply), value: AtomicU64::new(u64::MAX) };
            domsg(p.get().ok_or("port")?, &msg.hdr);
        }
        servers.wait(n)?;
        kassert_eq!(bad.load(Ordering::Relaxed), 0);
        if n > 1 {
            kassert!(total(|s| &s.ipis_sent) > ipis0, "no message crossed CPUs");
        }
        Ok(())
    }
}

ktest! {
    /// Sleepers on every CPU wait for each generation of a counter that one waker bumps and
    /// wakes; every sleeper sees every generation, so no wakeup was lost, and wakeups crossed
    /// CPUs.
    fn wakeup_storm() {
        let n = ncpus();
        const PER_CPU: usize = 4;
        const GENERATIONS: u64 = 200;
        let gen = Arc::new(AtomicU64::new(0));
        let acks = Arc::new(AtomicU64::new(0));
        let latch = Latch::new();
        let remote0 = total(|s| &s.wakeups_remote);
        for cpu in 0..n {
            for _ in 0..PER_CPU {
                let (g, a, l) = (gen.clone(), acks.clone(), latch.clone());
                spawn_on(cpu, "t-storm", move || {
                    let ident = ident_of(&*g);
                    for r in 1..=GENERATIONS {
                        while g.load(Ordering::Acquire) < r {
                            tsleep_interlock(ident);
                            if g.load(Ordering::Acquire) >= r {
                                sleep::tsleep_cancel();
                                break;
                            }
                            let _ = tsleep(ident, PINTERLOCKED, "storm", 0);
                        }
                        a.fetch_add(1, Ordering::AcqRel);
                        wakeup(ident_of(&*a));
                    }
                    l.arrive();
                })?;
            }
        }
        let sleepers = (n * PER_CPU) as u64;
        let t0 = crate::time::nanotime();
        for r in 1..=GENERATIONS {
            // Wait until every sleeper acknowledged the previous generation.
            while acks.load(Ordering::Acquire) < sleepers * (r - 1) {
                tsleep_interlock(ident_of(&*acks));
                if acks.load(Ordering::Acquire) >= sleepers * (r - 1) {
                    sleep::tsleep_cancel();
                    break;
                }
                let _ = tsleep(ident_of(&*acks), PINTERLOCKED, "acks", 10);
                kassert!(crate::time::nanotime() - t0 < LIMIT_NS, "generation {}: {} acks", r, acks.load(Ordering::Acquire));
            }
            gen.store(r, Ordering::Release);
            wakeup(ident_of(&*gen));
        }
        latch.wait(n * PER_CPU)?;
        kassert_eq!(acks.load(Ordering::Acquire), sleepers * GENERATIONS);
        if n > 1 {
            kassert!(total(|s| &s.wakeups_remote) > remote0, "no wakeup crossed CPUs");
        }
        Ok(())
    }
}

ktest! {
    /// Timed sleeps on every CPU: never shorter than asked, and each times out exactly once.
    fn timeouts_never_early_never_lost() {
        let n = ncpus();
        let latch = Latch::new();
        let early = Arc::new(AtomicUsize::new(0));
        let timeouts = Arc::new(AtomicUsize::new(0));
        for cpu in 0..n {
            for k in 1..=3u64 {
                let (l, e, t) = (latch.clone(), early.clone(), timeouts.clone());
                spawn_on(cpu, "t-timo", move || {
                    let ident = 0xdead_0000 + cpu * 16 + k as usize;
                    for _ in 0..3 {
                        let t0 = super::clock::ticks(mycpu().cpuid);
                        let r = tsleep(ident, 0, "timo", k);
                        let waited = super::clock::ticks(mycpu().cpuid) - t0;
                        if r == Err(abi::errno::EWOULDBLOCK) {
                            t.fetch_add(1, Ordering::Relaxed);
                        }
                        if waited < k {
                            e.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    l.arrive();
                })?;
            }
        }
        latch.wait(3 * n)?;
        kassert_eq!(early.load(Ordering::Relaxed), 0);
        kassert_eq!(timeouts.load(Ordering::Relaxed), 9 * n);
        Ok(())
    }
}

ktest! {
    /// cpusync runs a function on every CPU and returns only after all ran it.
    fn cpusync_reaches_every_cpu() {
        static HIT: AtomicU64 = AtomicU64::new(0);
        fn mark(_: usize, _: usize) {
            HIT.fetch_or(mycpu().cpumask(), Ordering::AcqRel);
        }
        HIT.store(0, Ordering::Relaxed);
        let n = ncpus();
        let all = if n == 64 { u64::MAX } else { (1 << n) - 1 };
        ipiq::cpusync(all, mark, 0);
        kassert_eq!(HIT.load(Ordering::Acquire), all);
        Ok(())
    }
}

mod preempt_tests {
    use super::*;
    use crate::arch::x86_64::{intr, lapic};
    use core::sync::atomic::AtomicBool;

    static ITHREAD_IDENT: AtomicUsize = AtomicUsize::new(0);
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static ON_WRONG_CPU: AtomicUsize = AtomicUsize::new(0);

    fn handler() {
        wakeup(ITHREAD_IDENT.load(Ordering::Relaxed));
    }

    ktest! {
        /// An interrupt-class thread woken by an interrupt handler preempts the interrupted
        /// thread when the interrupt ends: it runs on this CPU while the interrupted thread
        /// spins without ever yielding (which no ordinary thread could make room for).
        fn interrupt_thread_preempts() {
            let ident = ident_of(&RUNS);
            ITHREAD_IDENT.store(ident, Ordering::Relaxed);
            let stop = Arc::new(AtomicBool::new(false));
            let s = stop.clone();
            let me = mycpu().cpuid;
            super::super::sched::create_preemptable("ithread", pri::INT_MED, Some(me), move || loop {
                tsleep_interlock(ident);
                if s.load(Ordering::Acquire) {
                    sleep::tsleep_cancel();
                    break;
                }
                let _ = tsleep(ident, PINTERLOCKED, "ithread", 0);
                if mycpu().cpuid != me {
                    ON_WRONG_CPU.fetch_add(1, Ordering::AcqRel);
                }
                RUNS.fetch_add(1, Ordering::AcqRel);
            })
            .ok_or("create failed")?;
            // Let it reach its sleep.
            for _ in 0..10 {
                yield_now();
            }
            let v = intr::register_any(handler).ok_or("no free vector")?;
            let p0 = super::super::sched::PREEMPTIONS.load(Ordering::Relaxed);
            for i in 1..=5 {
                lapic::send_ipi(lapic::id(), v);
                let t0 = crate::time::nanotime();
                // Busy, without yielding: only a preemption lets the ithread run now.
                while RUNS.load(Ordering::Acquire) < i && crate::time::nanotime() - t0 < 2_000_000_000 {
                    core::hint::spin_loop();
                }
                kassert_eq!(RUNS.load(Ordering::Acquire), i);
            }
            intr::unregister(v);
            kassert_eq!(ON_WRONG_CPU.load(Ordering::Acquire), 0);
            kassert!(super::super::sched::PREEMPTIONS.load(Ordering::Relaxed) - p0 >= 5, "no preemption counted");
            stop.store(true, Ordering::Release);
            wakeup(ident);
            for _ in 0..10 {
                yield_now();
            }
            Ok(())
        }
    }
}

ktest! {
    /// A passive IPI raises no interrupt but is still delivered (the clock tick polls).
    fn passive_ipi_delivered_by_tick() {
        static HIT: AtomicUsize = AtomicUsize::new(0);
        fn hit(_: usize, _: usize) {
            HIT.fetch_add(1, Ordering::AcqRel);
        }
        let n = ncpus();
        if n < 2 {
            return Ok(());
        }
        HIT.store(0, Ordering::Relaxed);
        let me = mycpu().cpuid;
        let target = globaldata((me + 1) % n).ok_or("no cpu")?;
        let passive0 = mycpu().stats.ipis_passive.load(Ordering::Relaxed);
        ipiq::send_passive(target, hit, 0, 0);
        kassert_eq!(mycpu().stats.ipis_passive.load(Ordering::Relaxed), passive0 + 1);
        let t0 = crate::time::nanotime();
        while HIT.load(Ordering::Acquire) == 0 {
            kassert!(crate::time::nanotime() - t0 < 2_000_000_000, "passive message never ran");
            yield_now();
        }
        Ok(())
    }
}

ktest! {
    /// Pool tokens: one address always hashes to the same token, and it works as a lock.
    fn pool_tokens() {
        let a = 5u64;
        let t1 = super::token::pool_token(&a);
        let t2 = super::token::pool_token(&a);
        kassert!(core::ptr::eq(t1, t2), "pool token not stable");
        kassert_eq!(t1.desc(), "pool");
        let _g = get_token(t1);
        Ok(())
    }
}

ktest! {
    /// Blocking through a TokenCell guard lets other CPUs in (the token is really dropped)
    /// and the data is re-read afterwards.
    fn token_cell_block_drops_token() {
        let n = ncpus();
        let cell = Arc::new(TokenCell::new("blk", 0u64));
        let latch = Latch::new();
        let mut g = cell.lock();
        *g = 1;
        if n > 1 {
            let (c, l) = (cell.clone(), latch.clone());
            spawn_on((mycpu().cpuid + 1) % n, "t-blk", move || {
                *c.lock() += 10;
                l.arrive();
            })?;
            // While we hold the guard the other CPU cannot get in; inside block() it can.
            g.block(|| latch.wait(1))?;
            kassert_eq!(*g, 11);
        } else {
            g.block(yield_now);
            kassert_eq!(*g, 1);
        }
        Ok(())
    }
}

ktest! {
    /// A spinlock shared by every CPU: nothing is lost, contention is counted, and a held
    /// lock cannot be taken again.
    fn spinlock_all_cpus() {
        use crate::sync::spinlock::SpinLock;
        let n = ncpus();
        const ROUNDS: u64 = 20_000;
        let lock = Arc::new(SpinLock::new(0u64));
        let latch = Latch::new();
        let go = Arc::new(AtomicUsize::new(0));
        for cpu in 0..n {
            let (lk, l, g) = (lock.clone(), latch.clone(), go.clone());
            spawn_on(cpu, "t-spin", move || {
                // Start together, so the CPUs really overlap.
                g.fetch_add(1, Ordering::AcqRel);
                while g.load(Ordering::Acquire) < n {
                    core::hint::spin_loop();
                }
                for _ in 0..ROUNDS {
                    let mut v = lk.lock();
                    *v += 1;
                    for _ in 0..20 {
                        core::hint::spin_loop();
                    }
                }
                l.arrive();
            })?;
        }
        latch.wait(n)?;
        let g = lock.lock();
        kassert_eq!(*g, ROUNDS * n as u64);
        kassert!(lock.try_lock().is_none(), "held spinlock taken twice");
        drop(g);
        kassert!(lock.try_lock().is_some(), "free spinlock not taken");
        if n > 1 {
            kassert!(lock.collisions() > 0, "never contended");
        }
        Ok(())
    }
}

ktest! {
    /// A sleeping thread shows what it sleeps on; try_enter fails on a held serializer.
    fn sleeper_wmesg_and_serializer_try() {
        let ident = 0x5eed_0000usize;
        let td = create("t-wmesg", pri::KERN_DAEMON, None, move || {
            let _ = tsleep(ident, 0, "wmesg-test", 0);
        })
        .ok_or("create failed")?;
        for _ in 0..5 {
            yield_now();
        }
        kassert_eq!(td.wmesg(), "wmesg-test");
        kassert_eq!(td.wchan(), ident as u64);
        wakeup(ident);
        let s = super::serialize::Serializer::new();
        kassert!(s.try_enter(), "free serializer not taken");
        kassert!(!s.try_enter(), "held serializer taken twice");
        s.exit();
        Ok(())
    }
}

ktest! {
    /// Pull migration: a thread parked (descheduled) on one CPU is acquired by another and
    /// continues there; the idle threads accounted their halted time.
    fn pull_migration_and_idle_time() {
        let n = ncpus();
        if n < 2 {
            return Ok(());
        }
        let from = (mycpu().cpuid + 1) % n;
        let parked = Arc::new(AtomicUsize::new(0));
        let ran_on = Arc::new(AtomicUsize::new(usize::MAX));
        let (p, r) = (parked.clone(), ran_on.clone());
        let td = create("t-pull", pri::KERN_DAEMON, Some(from), move || {
            p.store(1, Ordering::Release);
            super::sched::deschedule_self();
            super::sched::switch();
            r.store(mycpu().cpuid, Ordering::Release);
        })
        .ok_or("create failed")?;
        let t0 = crate::time::nanotime();
        while parked.load(Ordering::Acquire) == 0 || td.flags() & super::thread::tdf::RUNNING != 0 {
            kassert!(crate::time::nanotime() - t0 < LIMIT_NS, "never parked");
            yield_now();
        }
        kassert!(super::sched::acquire(&td), "acquire refused a parked thread");
        kassert_eq!(td.gd().cpuid, mycpu().cpuid);
        super::sched::schedule(&td);
        while ran_on.load(Ordering::Acquire) == usize::MAX {
            kassert!(crate::time::nanotime() - t0 < LIMIT_NS, "acquired thread never ran");
            yield_now();
        }
        kassert_eq!(ran_on.load(Ordering::Acquire), mycpu().cpuid);
        kassert!(total(|s| &s.idle_ns) > 0, "no idle time accounted");
        Ok(())
    }
}

mod crit_tests {
    use super::*;
    use crate::arch::x86_64::{intr, lapic};
    use crate::lwkt::callout::Callout;
    use core::pin::pin;

    static HITS: AtomicUsize = AtomicUsize::new(0);

    fn handler() {
        HITS.fetch_add(1, Ordering::AcqRel);
    }

    ktest! {
        /// An interrupt that arrives inside a critical section is not run there: it is
        /// marked pending and runs at the last crit_exit. Clock ticks are deferred the same
        /// way.
        fn interrupts_deferred_and_replayed() {
            let v = intr::register_any(handler).ok_or("no free vector")?;
            HITS.store(0, Ordering::Relaxed);
            let gd = mycpu();
            let ticks0;
            {
                let _outer = super::super::crit::crit();
                let _inner = super::super::crit::crit();
                lapic::send_ipi(lapic::id(), v);
                ticks0 = gd.ticks.load(Ordering::Relaxed);
                let t0 = crate::time::nanotime();
                // Interrupts are on: the IPI and several clock ticks arrive meanwhile.
                while crate::time::nanotime() - t0 < 50_000_000 {
                    core::hint::spin_loop();
                }
                kassert_eq!(HITS.load(Ordering::Acquire), 0);
                kassert_eq!(gd.ticks.load(Ordering::Relaxed), ticks0);
                kassert!(gd.reqflags_pending(), "nothing marked pending");
                drop(_inner);
                // Still inside the outer section: still deferred.
                kassert_eq!(HITS.load(Ordering::Acquire), 0);
            }
            kassert_eq!(HITS.load(Ordering::Acquire), 1);
            kassert!(gd.ticks.load(Ordering::Relaxed) > ticks0, "deferred tick not replayed");
            intr::unregister(v);
            Ok(())
        }
    }

    static FIRED: AtomicUsize = AtomicUsize::new(0);

    fn fire(_: usize) {
        FIRED.fetch_add(1, Ordering::AcqRel);
    }

    ktest! {
        /// Callouts: a stopped one never fires; a re-armed one fires once, not before its
        /// time; stopping from another CPU against the firing is safe.
        fn callout_stop_and_reset() {
            FIRED.store(0, Ordering::Relaxed);
            let c = pin!(Callout::new());
            c.as_ref().reset(2, fire, 0);
            kassert!(c.stop(), "armed callout not stopped");
            kassert!(!c.stop(), "stopped twice");
            let t0 = super::super::clock::ticks(mycpu().cpuid);
            c.as_ref().reset(3, fire, 0);
            c.as_ref().reset(3, fire, 0);
            while FIRED.load(Ordering::Acquire) == 0 {
                kassert!(super::super::clock::ticks(mycpu().cpuid) - t0 < 100, "never fired");
                yield_now();
            }
            kassert!(super::super::clock::ticks(mycpu().cpuid) - t0 >= 3, "fired early");
            for _ in 0..10 {
                yield_now();
            }
            kassert_eq!(FIRED.load(Ordering::Acquire), 1);
            // Arm on this CPU, stop from others, many times, racing the 1-tick firing.
            let n = ncpus();
            if n > 1 {
                let c: &'static Callout = alloc::boxed::Box::leak(alloc::boxed::Box::new(Callout::new()));
                // SAFETY: leaked, so it never moves.
                let pinned = unsafe { core::pin::Pin::new_unchecked(c) };
                let latch = Latch::new();
                let stop_now = Arc::new(AtomicUsize::new(0));
                let (l, s) = (latch.clone(), stop_now.clone());
                spawn_on((mycpu().cpuid + 1) % n, "t-stopper", move || {
                    while s.load(Ordering::Acquire) < 200 {
                        let r = s.load(Ordering::Acquire);
                        c.stop();
                        // After stop returns the function is not running anywhere.
                        while s.load(Ordering::Acquire) == r {
                            core::hint::spin_loop();
                        }
                    }
                    l.arrive();
                })?;
                for _ in 0..200 {
                    pinned.reset(1, fire, 0);
                    for _ in 0..2000 {
                        core::hint::spin_loop();
                    }
                    stop_now.fetch_add(1, Ordering::AcqRel);
                    yield_now();
                }
                latch.wait(1)?;
                c.stop();
            }
            Ok(())
        }
    }
}
