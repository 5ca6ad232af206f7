//! Interrupt dispatch (DragonFly's `platform/pc64/x86_64/ipl.s` and `kern/kern_intr.c`, cut
//! down): vectors 32..255 arrive here from `trap_dispatch`.
//!
//! Vector plan: 0x20-0x2f the masked 8259s (spurious only, ignored), 0x30-0xef device
//! handlers registered with [`register`], 0xf0 the LAPIC timer (systimers), 0xf1 the IPIQ
//! doorbell, 0xfe LAPIC errors, 0xff LAPIC spurious (no EOI). [`dispatch`] counts the
//! interrupt, runs [`run_vector`] and sends the EOI; `run_vector` is kept separate because
//! critical sections will mark a vector pending and replay it through `run_vector` later.
use super::lapic::{VECTOR_ERROR, VECTOR_IPIQ, VECTOR_SPURIOUS, VECTOR_TIMER};
use super::trap::TrapFrame;
use crate::lwkt::globaldata::MAXCPU;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// First vector for device handlers.
pub const FIRST_DEVICE_VECTOR: u8 = 0x30;
/// Last vector for device handlers.
pub const LAST_DEVICE_VECTOR: u8 = 0xef;

/// Interrupts taken, per CPU and vector (for a later /proc/interrupts).
static COUNTS: [[AtomicU64; 256]; MAXCPU] = [const { [const { AtomicU64::new(0) }; 256] }; MAXCPU];
/// Device handlers by vector (a `fn()` as usize, 0 for none).
static HANDLERS: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];
/// Interrupts on vectors nobody claimed.
pub static STRAY: AtomicU64 = AtomicU64::new(0);
/// Per CPU: the interrupt being handled came from user mode (statclock's user/system split).
static FROM_USER: [AtomicBool; MAXCPU] = [const { AtomicBool::new(false) }; MAXCPU];

/// Whether the interrupt this CPU is handling interrupted user code (false for work a
/// critical section deferred: that ran in the kernel).
pub fn interrupted_user() -> bool {
    let cpu = super::percpu::current().cpuid.load(Ordering::Relaxed) as usize;
    FROM_USER.get(cpu).is_some_and(|f| f.load(Ordering::Relaxed))
}

fn is_pic(vector: u64) -> bool {
    (0x20..0x30).contains(&vector)
}

/// Entered from `trap_dispatch` for vectors >= 32, interrupts off.
pub fn dispatch(frame: &mut TrapFrame) {
    let v = frame.vector as usize & 0xff;
    let cpu = super::percpu::current().cpuid.load(Ordering::Relaxed) as usize;
    if let Some(row) = COUNTS.get(cpu) {
        row[v].fetch_add(1, Ordering::Relaxed);
    }
    let deferrable = matches!(v as u8, VECTOR_TIMER | VECTOR_IPIQ | FIRST_DEVICE_VECTOR..=LAST_DEVICE_VECTOR);
    if deferrable && crate::lwkt::crit::in_crit() {
        // The interrupted thread is in a critical section: remember the vector; its last
        // crit_exit replays it (splz). All sources here are edge-triggered or one-shot, so
        // the EOI below does not make the interrupt fire again.
        crate::lwkt::splz::defer_vector(v as u8, v as u8 == VECTOR_TIMER);
    } else {
        let gd = crate::lwkt::globaldata::mycpu();
        gd.intr_nesting.fetch_add(1, Ordering::Relaxed);
        gd.dispatching.store(1, Ordering::Relaxed);
        let from_user = FROM_USER.get(cpu);
        if let Some(f) = from_user {
            f.store(frame.cs & 3 == 3, Ordering::Relaxed);
        }
        run_vector(v as u8);
        if let Some(f) = from_user {
            f.store(false, Ordering::Relaxed);
        }
        gd.dispatching.store(0, Ordering::Relaxed);
        gd.intr_nesting.fetch_sub(1, Ordering::Relaxed);
    }
    // The 8259s are masked and their spurious vectors never went through the LAPIC; the
    // LAPIC's own spurious vector takes no EOI.
    if v != VECTOR_SPURIOUS as usize && !is_pic(v as u64) {
        super::lapic::eoi();
    }
    // Still inside the interrupt, handler done and acknowledged: the point where an
    // interrupt thread the handler woke may preempt the interrupted thread.
    let gd = crate::lwkt::globaldata::mycpu();
    gd.intr_nesting.fetch_add(1, Ordering::Relaxed);
    crate::lwkt::sched::preempt_check();
    gd.intr_nesting.fetch_sub(1, Ordering::Relaxed);
}

/// The work for one vector, interrupts off; never blocks.
pub fn run_vector(vector: u8) {
    match vector {
        VECTOR_TIMER => crate::time::systimer::lapic_timer_interrupt(),
        VECTOR_IPIQ => crate::lwkt::ipiq::ipi_interrupt(),
        VECTOR_ERROR => super::lapic::error_interrupt(),
        VECTOR_SPURIOUS => {}
        0x20..=0x2f => {}
        FIRST_DEVICE_VECTOR..=LAST_DEVICE_VECTOR => {
            let h = HANDLERS[vector as usize].load(Ordering::Acquire);
            if h == 0 {
                STRAY.fetch_add(1, Ordering::Relaxed);
            } else {
                // SAFETY: non-zero entries were stored by `register` from a `fn()`.
                let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(h) };
                f();
            }
        }
        _ => {
            STRAY.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Registers `handler` for device `vector` (0x30..=0xef); it runs with interrupts off and
/// must not block. Fails when the vector is out of range or taken.
pub fn register(vector: u8, handler: fn()) -> Result<(), &'static str> {
    if !(FIRST_DEVICE_VECTOR..=LAST_DEVICE_VECTOR).contains(&vector) {
        return Err("not a device vector");
    }
    HANDLERS[vector as usize]
        .compare_exchange(0, handler as usize, Ordering::AcqRel, Ordering::Acquire)
        .map(|_| ())
        .map_err(|_| "vector in use")
}

/// Takes the lowest free device vector for `handler`.
pub fn register_any(handler: fn()) -> Option<u8> {
    (FIRST_DEVICE_VECTOR..=LAST_DEVICE_VECTOR).find(|&v| register(v, handler).is_ok())
}

/// Frees a device vector (its source must be masked first).
pub fn unregister(vector: u8) {
    if (FIRST_DEVICE_VECTOR..=LAST_DEVICE_VECTOR).contains(&vector) {
        HANDLERS[vector as usize].store(0, Ordering::Release);
    }
}

/// Interrupts CPU `cpu` took on `vector`.
pub fn count(cpu: usize, vector: u8) -> u64 {
    COUNTS.get(cpu).map_or(0, |row| row[vector as usize].load(Ordering::Relaxed))
}

mod tests {
    use super::*;
    use crate::{kassert, ktest};
    use core::sync::atomic::AtomicU32;

    static HITS: AtomicU32 = AtomicU32::new(0);
    fn rtc_handler() {
        HITS.fetch_add(1, Ordering::Relaxed);
        crate::time::rtc::ack_periodic();
    }

    ktest! {
        /// The RTC's periodic interrupt (ISA IRQ 8) reaches a registered handler through the
        /// IOAPIC, is counted per CPU, and stops when masked.
        fn ioapic_routes_rtc_irq() {
            let v = register_any(rtc_handler).ok_or("no free vector")?;
            let me = super::super::lapic::id();
            let gsi = super::super::ioapic::route_isa_irq(8, v, me).map_err(|e| alloc::format!("{e:?}"))?;
            let before = count(0, v);
            crate::time::rtc::start_periodic();
            let t0 = crate::time::nanotime();
            while HITS.load(Ordering::Relaxed) < 5 && crate::time::nanotime() - t0 < 2_000_000_000 {
                x86_64::instructions::interrupts::enable_and_hlt();
            }
            crate::time::rtc::stop_periodic();
            let _ = super::super::ioapic::mask_gsi(gsi);
            unregister(v);
            let hits = HITS.load(Ordering::Relaxed);
            kassert!(hits >= 5, "only {} RTC interrupts in 2 s on vector {:#x}", hits, v);
            kassert!(count(0, v) - before >= hits as u64, "per-CPU count {} < {}", count(0, v) - before, hits);
            kassert!(register(0x20, rtc_handler).is_err() && register(0xf0, rtc_handler).is_err(), "reserved vector");
            Ok(())
        }
    }

    ktest! {
        /// A self-IPI on a device vector runs its handler once and is counted.
        fn self_ipi_runs_handler() {
            static N: AtomicU32 = AtomicU32::new(0);
            fn h() {
                N.fetch_add(1, Ordering::Relaxed);
            }
            let v = register_any(h).ok_or("no free vector")?;
            kassert!(register(v, h).is_err(), "vector registered twice");
            super::super::lapic::send_ipi(super::super::lapic::id(), v);
            let t0 = crate::time::nanotime();
            while N.load(Ordering::Relaxed) == 0 && crate::time::nanotime() - t0 < 1_000_000_000 {
                x86_64::instructions::interrupts::enable_and_hlt();
            }
            unregister(v);
            kassert!(N.load(Ordering::Relaxed) == 1, "handler ran {} times", N.load(Ordering::Relaxed));
            Ok(())
        }
    }
}
