//! Callouts (DragonFly's kern_timeout.c): functions run once after a number of clock ticks,
//! on the CPU that armed them, from the clock interrupt. A callout can be stopped or re-armed
//! at any time, also against its own firing: both happen on the owner CPU (directly or by
//! IPI) where firing cannot interleave, so after `stop` returns the function is neither
//! pending nor running.
use super::crit::crit;
use super::globaldata::{globaldata, mycpu, GlobalData};
use super::ipiq;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// `cpu` of a callout never armed: stopping it is a local no-op.
const NO_CPU: usize = usize::MAX;
const IDLE: u32 = 0;
const PENDING: u32 = 1;

/// A timeout. Pinned while armed: the CPU's list refers to it by address.
pub struct Callout {
    state: AtomicU32,
    cpu: AtomicUsize,
    expires: AtomicU64,
    func: UnsafeCell<(fn(usize), usize)>,
    _pin: PhantomPinned,
}

// SAFETY: `func` is written only by the owner CPU while the callout is not pending (reset
// stops it first) and read only by the owner CPU when it fires.
unsafe impl Sync for Callout {}

fn nothing(_: usize) {}

/// The callouts armed on one CPU (unsorted: a tick scans them; few are armed at once).
pub struct CalloutList {
    armed: Vec<*const Callout>,
}

// SAFETY: only the owning CPU touches the list (CpuLocal); the pointers are to pinned
// callouts that stop themselves before they are dropped.
unsafe impl Send for CalloutList {}

impl CalloutList {
    /// Empty.
    pub const fn new() -> CalloutList {
        CalloutList { armed: Vec::new() }
    }
}

impl Default for Callout {
    fn default() -> Self {
        Self::new()
    }
}

impl Callout {
    /// An idle callout.
    pub const fn new() -> Callout {
        Callout {
            state: AtomicU32::new(IDLE),
            cpu: AtomicUsize::new(NO_CPU),
            expires: AtomicU64::new(0),
            func: UnsafeCell::new((nothing, 0)),
            _pin: PhantomPinned,
        }
    }

    /// True while armed.
    pub fn pending(&self) -> bool {
        self.state.load(Ordering::Acquire) == PENDING
    }

    /// Arms the callout on this CPU to run `func(arg)` after `ticks` clock ticks (at least 1),
    /// stopping it first if it was armed.
    pub fn reset(self: Pin<&Self>, ticks: u64, func: fn(usize), arg: usize) {
        self.as_ref().stop();
        let _c = crit();
        let gd = mycpu();
        // SAFETY: the callout is idle (stopped above) and we are in a critical section: no
        // firing can read `func` concurrently.
        unsafe { *self.func.get() = (func, arg) };
        self.expires.store(gd.ticks.load(Ordering::Relaxed) + ticks.max(1), Ordering::Relaxed);
        self.cpu.store(gd.cpuid, Ordering::Release);
        self.state.store(PENDING, Ordering::Release);
        // SAFETY: owner CPU, critical section.
        unsafe { gd.callouts.get() }.armed.push(&*self as *const Callout);
    }

    /// Disarms the callout; returns true if it was armed (and so will not run). When it
    /// returns, the function is not running anywhere.
    pub fn stop(&self) -> bool {
        let _c = crit();
        let owner = self.cpu.load(Ordering::Acquire);
        let gd = mycpu();
        if owner == NO_CPU {
            return false;
        }
        if owner == gd.cpuid {
            return self.pending() && stop_local(gd, self);
        }
        // Another CPU owns it: even when it looks idle its function may be running there
        // right now. The round trip returns only after the owner finished any firing.
        let Some(target) = globaldata(owner) else { return false };
        let result = AtomicU32::new(0);
        let seq = ipiq::send(
            target,
            stop_remote,
            self as *const Callout as usize,
            &result as *const AtomicU32 as usize,
        );
        ipiq::wait(target, seq);
        result.load(Ordering::Acquire) == 1
    }
}

impl Drop for Callout {
    fn drop(&mut self) {
        self.stop();
    }
}

fn stop_local(gd: &GlobalData, c: &Callout) -> bool {
    // SAFETY: owner CPU, critical section.
    let list = unsafe { gd.callouts.get() };
    match list.armed.iter().position(|&p| core::ptr::eq(p, c)) {
        Some(i) => {
            list.armed.swap_remove(i);
            c.state.store(IDLE, Ordering::Release);
            true
        }
        None => false,
    }
}

fn stop_remote(c: usize, result: usize) {
    // SAFETY: the sender waits for this message to complete, so both objects are alive.
    let (c, result) = unsafe { (&*(c as *const Callout), &*(result as *const AtomicU32)) };
    if stop_local(mycpu(), c) {
        result.store(1, Ordering::Release);
    }
}

/// Runs the callouts of this CPU whose time has come (from the clock tick, interrupts off).
pub fn run_expired(gd: &GlobalData) {
    let now = gd.ticks.load(Ordering::Relaxed);
    loop {
        // SAFETY: owner CPU with interrupts off; the reference ends before the call below,
        // which may arm or stop callouts.
        let list = unsafe { gd.callouts.get() };
        // SAFETY: armed callouts are alive: they stop themselves before being dropped.
        let Some(i) = list.armed.iter().position(|&p| unsafe { (*p).expires.load(Ordering::Relaxed) } <= now)
        else {
            return;
        };
        let c = list.armed.swap_remove(i);
        // SAFETY: as above; `func` is read on the owner CPU before the callout turns idle,
        // after which its owner may re-arm or drop it (a stop from another CPU first waits
        // for this CPU to finish the tick).
        let (func, arg) = unsafe {
            let f = *(*c).func.get();
            (*c).state.store(IDLE, Ordering::Release);
            f
        };
        func(arg);
    }
}
