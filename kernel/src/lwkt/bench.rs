//! LWKT microbenchmarks (`ktest=bench`): thread switch, IPI round trip, uncontended token
//! get/release, and `domsg` round trips on one CPU and across CPUs. They print guest
//! nanoseconds per operation; run QEMU with `-icount shift=0` and the same figures read as
//! instructions (one virtual nanosecond per instruction). Printed, never asserted.
use super::globaldata::{globaldata, mycpu, ncpus};
use super::ipiq;
use super::msgport::{domsg, replymsg, Msg, Port};
use super::sched::{create, yield_now};
use super::thread::pri;
use super::token::{get_token, Token};
use crate::{kbench, kprintln};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

fn report(name: &str, ops: u64, ns: u64) {
    kprintln!("# bench: {:<28} {:>8} ns/op  ({} ops, {} ns)", name, ns / ops.max(1), ops, ns);
}

kbench! {
    /// Two threads on one CPU yielding to each other: one yield = one switch.
    fn bench_thread_switch() {
        const N: u64 = 20_000;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        create("b-peer", pri::KERN_DAEMON, Some(mycpu().cpuid), move || {
            while !s.load(Ordering::Acquire) {
                yield_now();
            }
        })
        .ok_or("create failed")?;
        yield_now();
        let sw0 = mycpu().stats.switches.load(Ordering::Relaxed);
        let t0 = crate::time::nanotime();
        for _ in 0..N {
            yield_now();
        }
        let ns = crate::time::nanotime() - t0;
        let switches = mycpu().stats.switches.load(Ordering::Relaxed) - sw0;
        stop.store(true, Ordering::Release);
        yield_now();
        report("thread switch", switches, ns);
        Ok(())
    }
}

static PONG: AtomicU64 = AtomicU64::new(0);

fn ping(origin: usize, _: usize) {
    if let Some(gd) = globaldata(origin) {
        ipiq::send(gd, pong, 0, 0);
    }
}

fn pong(_: usize, _: usize) {
    PONG.fetch_add(1, Ordering::Release);
}

kbench! {
    /// An IPI message to another CPU that answers with an IPI message back.
    fn bench_ipi_round_trip() {
        if ncpus() < 2 {
            kprintln!("# bench: ipi round trip: needs two CPUs");
            return Ok(());
        }
        const N: u64 = 5_000;
        let me = mycpu().cpuid;
        let other = globaldata((me + 1) % ncpus()).ok_or("cpu")?;
        let _c = super::crit::crit();
        let t0 = crate::time::nanotime();
        for i in 0..N {
            ipiq::send(other, ping, me, 0);
            while PONG.load(Ordering::Acquire) <= i {
                ipiq::process(mycpu());
                core::hint::spin_loop();
            }
        }
        let ns = crate::time::nanotime() - t0;
        PONG.store(0, Ordering::Relaxed);
        report("ipi round trip", N, ns);
        Ok(())
    }
}

kbench! {
    /// Uncontended exclusive token get and release.
    fn bench_token_uncontended() {
        static T: Token = Token::new("bench");
        const N: u64 = 200_000;
        let t0 = crate::time::nanotime();
        for _ in 0..N {
            drop(get_token(&T));
        }
        report("token get+release", N, crate::time::nanotime() - t0);
        Ok(())
    }
}

fn domsg_bench(name: &str, server_cpu: usize) -> crate::ktest::Outcome {
    const N: u64 = 5_000;
    let port: Arc<spin::Once<Port>> = Arc::new(spin::Once::new());
    let p = port.clone();
    create("b-server", pri::KERN_DAEMON, Some(server_cpu), move || {
        let port = p.call_once(Port::thread_port);
        loop {
            let m = port.wait();
            let stop = m.flags() & super::msgport::msgf::ABORTABLE != 0;
            replymsg(m, 0);
            if stop {
                break;
            }
        }
    })
    .ok_or("create failed")?;
    while port.get().is_none() {
        yield_now();
    }
    let target = port.get().ok_or("port")?;
    let reply = Port::thread_port();
    let msg = Msg::new(&reply);
    let t0 = crate::time::nanotime();
    for _ in 0..N {
        domsg(target, &msg);
    }
    let ns = crate::time::nanotime() - t0;
    let mut stop = Msg::new(&reply);
    stop.set_abortable(|_| {});
    domsg(target, &stop);
    report(name, N, ns);
    Ok(())
}

kbench! {
    /// domsg round trip to a thread port on this CPU (two switches per message).
    fn bench_domsg_same_cpu() {
        domsg_bench("domsg same cpu", mycpu().cpuid)
    }
}

kbench! {
    /// domsg round trip to a thread port on another CPU (an IPI each way).
    fn bench_domsg_cross_cpu() {
        if ncpus() < 2 {
            kprintln!("# bench: domsg cross cpu: needs two CPUs");
            return Ok(());
        }
        domsg_bench("domsg cross cpu", (mycpu().cpuid + 1) % ncpus())
    }
}
