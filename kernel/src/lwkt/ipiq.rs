//! IPI queues (DragonFly's lwkt_ipiq.c): one single-producer/single-consumer ring per
//! (source, target) CPU pair carrying `(function, arg1, arg2)` messages.
//!
//! A sender writes a slot, publishes it by advancing `windex` (release), sets its bit in the
//! target's `ipimask`, and rings the doorbell: the hardware IPI is raised only when the
//! target's `npoll` flips from 0 to 1, so bursts coalesce into one interrupt. A sender that
//! finds the ring more than half full drains its own inbound rings while it waits (the
//! deadlock breaker: two CPUs filling each other's rings both make progress). Passive sends
//! raise no interrupt until the ring is a quarter full; the clock tick polls for them.
//! Callbacks run on the target in a critical section with interrupt nesting raised: they must
//! not block, but may send further IPIs.
use super::crit::{crit, in_crit};
use super::globaldata::{self, mycpu, rqf, GlobalData, MAXCPU};
use super::stats::bump;
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

/// Slots per ring.
pub const IPIQ_SIZE: u32 = 256;
const MASK: u32 = IPIQ_SIZE - 1;
const _: () = assert!(IPIQ_SIZE.is_power_of_two());

/// An IPI callback.
pub type IpiFunc = fn(usize, usize);

#[derive(Clone, Copy)]
struct Slot {
    func: IpiFunc,
    a1: usize,
    a2: usize,
}

fn nop(_: usize, _: usize) {}

#[repr(C, align(64))]
struct Ring {
    /// Next slot the sender writes (sender only).
    windex: AtomicU32,
    _pad0: [u8; 60],
    /// Next slot the receiver reads (receiver only).
    rindex: AtomicU32,
    /// Messages completed (advanced after each callback returns).
    xindex: AtomicU32,
    _pad1: [u8; 56],
    slots: [UnsafeCell<Slot>; IPIQ_SIZE as usize],
}

// SAFETY: a slot is written only by the ring's one sender before it publishes the slot with
// a release store of windex, and read only by the one receiver after an acquire load of
// windex and before it releases the slot with rindex; the two never touch a slot at once.
unsafe impl Sync for Ring {}

impl Ring {
    fn new() -> Ring {
        Ring {
            windex: AtomicU32::new(0),
            _pad0: [0; 60],
            rindex: AtomicU32::new(0),
            xindex: AtomicU32::new(0),
            _pad1: [0; 56],
            slots: [const { UnsafeCell::new(Slot { func: nop, a1: 0, a2: 0 }) }; IPIQ_SIZE as usize],
        }
    }

    fn used(&self) -> u32 {
        self.windex.load(Ordering::Relaxed).wrapping_sub(self.rindex.load(Ordering::Acquire))
    }
}

/// RINGS[source][target].
static RINGS: [[AtomicPtr<Ring>; MAXCPU]; MAXCPU] =
    [const { [const { AtomicPtr::new(core::ptr::null_mut()) }; MAXCPU] }; MAXCPU];

/// Raises the hardware IPI on a CPU (set by the platform code once the local APIC works).
static DOORBELL: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Installs the function that raises the IPIQ interrupt on a CPU (argument: its APIC id).
pub fn set_doorbell(f: fn(u32)) {
    DOORBELL.store(f as *mut (), Ordering::Release);
}

fn ring(src: usize, dst: usize) -> Option<&'static Ring> {
    let p = RINGS[src][dst].load(Ordering::Acquire);
    // SAFETY: rings are leaked boxes, never freed.
    unsafe { p.as_ref() }
}

/// Allocates the rings between CPU `cpu` and every CPU that exists so far (both ways). Run
/// on the boot CPU for each CPU before it starts.
pub fn init_cpu(cpu: usize) {
    for other in 0..globaldata::ncpus() {
        if other == cpu || globaldata::globaldata(other).is_none() {
            continue;
        }
        for (s, d) in [(cpu, other), (other, cpu)] {
            if RINGS[s][d].load(Ordering::Acquire).is_null() {
                let r = Box::leak(Box::new(Ring::new()));
                RINGS[s][d].store(r, Ordering::Release);
            }
        }
    }
}

fn ring_doorbell(target: &GlobalData) {
    if target.npoll.swap(1, Ordering::AcqRel) == 0 {
        let f = DOORBELL.load(Ordering::Acquire);
        if !f.is_null() {
            // SAFETY: DOORBELL only ever holds a `fn(u32)` (set_doorbell).
            let f: fn(u32) = unsafe { core::mem::transmute(f) };
            f(target.md.apic_id.load(Ordering::Relaxed));
            bump(&mycpu().stats.ipis_raised);
        }
    }
}

/// Queues `func(a1, a2)` to run on `target`; on this CPU it runs at once. Returns a sequence
/// number for [`wait`] (0 when it ran synchronously). Panics if the rings to `target` were
/// never set up (a kernel bug: `init_cpu` runs before a CPU starts).
pub fn send(target: &GlobalData, func: IpiFunc, a1: usize, a2: usize) -> u32 {
    send_inner(target, func, a1, a2, false)
}

/// Like [`send`], but raises no interrupt unless the ring is a quarter full: the target
/// finds the message at its next clock tick or IPI (remote frees use this).
pub fn send_passive(target: &GlobalData, func: IpiFunc, a1: usize, a2: usize) -> u32 {
    send_inner(target, func, a1, a2, true)
}

fn send_inner(target: &GlobalData, func: IpiFunc, a1: usize, a2: usize, passive: bool) -> u32 {
    let _c = crit();
    let gd = mycpu();
    if core::ptr::eq(target, gd) {
        func(a1, a2);
        return 0;
    }
    let r = ring(gd.cpuid, target.cpuid).expect("IPI to a CPU without rings");
    gd.intr_nesting.fetch_add(1, Ordering::Relaxed);
    // Nested inside IPI processing the ring may fill further before we wait, so callbacks
    // that send rarely recurse into another drain (which is safe, see `drain`).
    let limit = if gd.processing_ipiq.load(Ordering::Relaxed) > 0 { IPIQ_SIZE - 8 } else { IPIQ_SIZE / 2 };
    if r.used() >= limit {
        bump(&gd.stats.ipiq_full);
        let was = x86_64::instructions::interrupts::are_enabled();
        x86_64::instructions::interrupts::enable();
        while r.used() >= IPIQ_SIZE / 4 {
            // The deadlock breaker: the target may be spinning on its full ring to us.
            let n = process(gd);
            gd.stats.ipiq_drained_spinning.fetch_add(n, Ordering::Relaxed);
            ring_doorbell(target);
            core::hint::spin_loop();
        }
        if !was {
            x86_64::instructions::interrupts::disable();
        }
    }
    let w = r.windex.load(Ordering::Relaxed);
    // SAFETY: slot w is free (used < IPIQ_SIZE) and only this CPU writes this ring.
    unsafe { *r.slots[(w & MASK) as usize].get() = Slot { func, a1, a2 } };
    r.windex.store(w.wrapping_add(1), Ordering::Release);
    target.ipimask.fetch_or(gd.cpumask(), Ordering::AcqRel);
    if passive {
        bump(&gd.stats.ipis_passive);
        if r.used() >= IPIQ_SIZE / 4 {
            ring_doorbell(target);
        }
    } else {
        bump(&gd.stats.ipis_sent);
        ring_doorbell(target);
    }
    gd.intr_nesting.fetch_sub(1, Ordering::Relaxed);
    w.wrapping_add(1)
}

/// Waits until message `seq` sent to `target` has completed, draining this CPU's own rings
/// meanwhile (lwkt_wait_ipiq).
pub fn wait(target: &GlobalData, seq: u32) {
    let gd = mycpu();
    // Completion counts are exact only outside IPI processing (nested drains finish messages
    // out of order), so a callback must not wait.
    assert!(gd.processing_ipiq.load(Ordering::Relaxed) == 0, "ipiq::wait inside an IPI callback");
    let Some(r) = ring(gd.cpuid, target.cpuid) else { return };
    let _c = crit();
    while (r.xindex.load(Ordering::Acquire).wrapping_sub(seq) as i32) < 0 {
        process(gd);
        ring_doorbell(target);
        core::hint::spin_loop();
    }
}

/// Runs every message queued for this CPU; returns how many ran. Caller is in a critical
/// section (or an interrupt with interrupts off).
pub fn process(gd: &GlobalData) -> u64 {
    gd.processing_ipiq.fetch_add(1, Ordering::Relaxed);
    gd.npoll.store(0, Ordering::Release);
    let mut n = 0;
    loop {
        let mut mask = gd.ipimask.swap(0, Ordering::AcqRel);
        if gd.processing_ipiq.load(Ordering::Relaxed) > 1 {
            // Nested inside another drain (a callback spinning on a full ring): the outer
            // drain already took the mask bits, so look at every ring that has messages.
            for src in 0..globaldata::ncpus() {
                if ring(src, gd.cpuid)
                    .is_some_and(|r| r.rindex.load(Ordering::Relaxed) != r.windex.load(Ordering::Acquire))
                {
                    mask |= 1 << src;
                }
            }
        }
        if mask == 0 {
            break;
        }
        let mut m = mask;
        while m != 0 {
            let src = m.trailing_zeros() as usize;
            m &= m - 1;
            if let Some(r) = ring(src, gd.cpuid) {
                n += drain(gd, r);
            }
        }
    }
    gd.processing_ipiq.fetch_sub(1, Ordering::Relaxed);
    n
}

fn drain(gd: &GlobalData, r: &Ring) -> u64 {
    let mut n = 0;
    loop {
        // rindex is re-read for every slot: a callback that spins on a full ring drains this
        // same ring recursively, and the outer loop must not run those slots again.
        let ri = r.rindex.load(Ordering::Relaxed);
        if ri == r.windex.load(Ordering::Acquire) {
            return n;
        }
        // SAFETY: slot ri was published by the acquire load of windex above and is not
        // reused by the sender until rindex passes it.
        let s = unsafe { *r.slots[(ri & MASK) as usize].get() };
        r.rindex.store(ri.wrapping_add(1), Ordering::Release);
        gd.intr_nesting.fetch_add(1, Ordering::Relaxed);
        (s.func)(s.a1, s.a2);
        gd.intr_nesting.fetch_sub(1, Ordering::Relaxed);
        r.xindex.fetch_add(1, Ordering::Release);
        bump(&gd.stats.ipis_received);
        n += 1;
    }
}

/// True when some CPU has queued messages for this one (the clock tick's poll for passive
/// messages).
pub fn pending(gd: &GlobalData) -> bool {
    gd.ipimask.load(Ordering::Acquire) != 0
}

/// The IPIQ interrupt handler (vector 0xf1): run the messages now, or defer them to the end
/// of the interrupted critical section.
pub fn ipi_interrupt() {
    let gd = mycpu();
    bump(&gd.stats.ipi_interrupts);
    if in_crit() {
        gd.reqflags.fetch_or(rqf::IPIQ, Ordering::Relaxed);
        return;
    }
    let _c = crit();
    process(gd);
}

/// IPIQ interrupts CPU `cpu` has taken.
pub fn doorbells(cpu: usize) -> u64 {
    globaldata::globaldata(cpu).map_or(0, |gd| gd.stats.ipi_interrupts.load(Ordering::Relaxed))
}

/// Runs `func(arg)` on every CPU in `mask` (this one included) and returns once all have
/// finished (lwkt_cpusync_simple: what TLB shootdowns need).
pub fn cpusync(mask: u64, func: IpiFunc, arg: usize) {
    let me = mycpu();
    // Which CPUs got the message, separately from the sequence numbers (any u32, 0 included,
    // is a valid sequence once a ring has wrapped).
    let mut seqs: [Option<u32>; MAXCPU] = [None; MAXCPU];
    for (cpu, seq) in seqs.iter_mut().enumerate().take(globaldata::ncpus()) {
        if mask & (1 << cpu) != 0 && cpu != me.cpuid {
            if let Some(gd) = globaldata::globaldata(cpu) {
                *seq = Some(send(gd, func, arg, 0));
            }
        }
    }
    if mask & me.cpumask() != 0 {
        let _c = crit();
        func(arg, 0);
    }
    for (cpu, seq) in seqs.iter().enumerate().take(globaldata::ncpus()) {
        if let (Some(seq), Some(gd)) = (seq, globaldata::globaldata(cpu)) {
            wait(gd, *seq);
        }
    }
}
