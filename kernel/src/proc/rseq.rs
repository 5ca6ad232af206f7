//! Restartable sequences (Linux's kernel/rseq.c; DragonFly has none): a thread registers a
//! `struct rseq` in its memory; the kernel keeps its CPU number there, and when the thread
//! is switched out (preempted, migrated, asleep) or takes a signal while its instruction
//! pointer lies in the critical section `rseq_cs` describes, it resumes at the section's
//! abort handler instead.
//!
//! Events are noted where they happen (the switch in [`super::usermd::switch_user_state`],
//! signal delivery) and acted on by [`return_to_user`] / [`on_signal`], on the way back to
//! user mode.
use super::Lwp;
use crate::arch::x86_64::copyio::{copyin, fetch_u32, fetch_u64, store_u32, store_u64};
use crate::arch::x86_64::trap::TrapFrame;
use crate::arch::x86_64::usermode::USER_END;
use crate::sync::spinlock::SpinLock;
use abi::errno::{EBUSY, EFAULT, EINVAL, EPERM};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The original `struct rseq` size, and its alignment.
const RSEQ_SIZE: u64 = 32;
/// rseq(2) flag: unregister.
const RSEQ_FLAG_UNREGISTER: i32 = 1;
/// cpu_id of an area no longer registered.
const RSEQ_CPU_ID_UNINITIALIZED: u32 = u32::MAX;

// Offsets in `struct rseq`.
const OFF_CPU_ID_START: u64 = 0;
const OFF_CPU_ID: u64 = 4;
const OFF_RSEQ_CS: u64 = 8;
const OFF_FLAGS: u64 = 16;
const OFF_NODE_ID: u64 = 20;
const OFF_MM_CID: u64 = 24;

/// Why the thread must look at its critical section (Linux's rseq_event_mask).
const EVENT_PREEMPT: u32 = 1;
const EVENT_SIGNAL: u32 = 2;

/// A registered area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Area {
    addr: u64,
    len: u32,
    sig: u32,
}

/// A thread's rseq state.
pub struct Rseq {
    area: SpinLock<Option<Area>>,
    /// EVENT_* seen since the last return to user mode.
    events: AtomicU32,
    /// The area must be brought up to date before the thread returns to user mode
    /// (Linux's TIF_NOTIFY_RESUME).
    notify: AtomicBool,
}

impl Default for Rseq {
    fn default() -> Self {
        Self::new()
    }
}

impl Rseq {
    /// No area registered.
    pub const fn new() -> Self {
        Rseq { area: SpinLock::new(None), events: AtomicU32::new(0), notify: AtomicBool::new(false) }
    }

    /// The thread is switched out: at its return its CPU may differ, and a critical section
    /// it was in restarts. Called from the context switch (no lock taken).
    pub fn preempted(&self) {
        self.events.fetch_or(EVENT_PREEMPT, Ordering::Relaxed);
        self.notify.store(true, Ordering::Release);
    }

    /// A fork child keeps its parent thread's registration (a thread or vfork child, which
    /// shares the memory, has none); its area is updated before it first runs.
    pub fn inherit(&self, parent: &Rseq) {
        *self.area.lock() = *parent.area.lock();
        self.notify.store(true, Ordering::Release);
    }

    /// exec: the area was in the old image.
    pub fn clear(&self) {
        *self.area.lock() = None;
        self.events.store(0, Ordering::Relaxed);
    }
}

/// rseq(area, len, flags, sig): registers `area` for the calling thread, or with
/// RSEQ_FLAG_UNREGISTER, unregisters it (same area, length and signature).
pub fn register(l: &Arc<Lwp>, addr: u64, len: u32, flags: i32, sig: u32) -> Result<u64, i32> {
    let mut cur = l.rseq.area.lock();
    if flags & RSEQ_FLAG_UNREGISTER != 0 {
        if flags & !RSEQ_FLAG_UNREGISTER != 0 {
            return Err(EINVAL);
        }
        let a = match *cur {
            Some(a) if a.addr == addr && a.len == len => a,
            _ => return Err(EINVAL),
        };
        if a.sig != sig {
            return Err(EPERM);
        }
        drop(cur);
        // The area says it is no longer kept up to date (before it is forgotten: a fault
        // leaves the registration as it was, as Linux does).
        store_u32(addr + OFF_CPU_ID_START, 0)?;
        store_u32(addr + OFF_CPU_ID, RSEQ_CPU_ID_UNINITIALIZED)?;
        store_u32(addr + OFF_NODE_ID, 0)?;
        store_u32(addr + OFF_MM_CID, 0)?;
        *l.rseq.area.lock() = None;
        return Ok(0);
    }
    if flags != 0 {
        return Err(EINVAL);
    }
    if let Some(a) = *cur {
        if a.addr != addr || a.len != len {
            return Err(EINVAL);
        }
        return Err(if a.sig != sig { EPERM } else { EBUSY });
    }
    if u64::from(len) < RSEQ_SIZE || !addr.is_multiple_of(RSEQ_SIZE) {
        return Err(EINVAL);
    }
    // Linux's access_ok: the range must lie in user space (whether it is mapped shows at
    // the first update, where a fault is a SIGSEGV).
    match addr.checked_add(u64::from(len)) {
        Some(end) if end <= USER_END => {}
        _ => return Err(EFAULT),
    }
    *cur = Some(Area { addr, len, sig });
    l.rseq.notify.store(true, Ordering::Release);
    Ok(0)
}

/// The last steps back to user mode: the user scheduler's (which may switch the thread out
/// or move it), then the rseq area's update and a critical section's abort, again if that
/// update slept. A bad area or critical section descriptor kills the process with SIGSEGV
/// (Linux's force_sigsegv). Interrupts enabled, no spinlock held.
pub fn return_to_user(l: &Arc<Lwp>, frame: &mut TrapFrame) {
    loop {
        crate::sched::userexit(l);
        // Only the thread itself raises `notify` (its switch, registration, fork): a plain
        // load keeps the common return free of a locked instruction.
        if !l.rseq.notify.load(Ordering::Relaxed) || !l.rseq.notify.swap(false, Ordering::AcqRel) {
            return;
        }
        if update(l, frame).is_err() {
            super::exit::kill_process(l, super::signal::SIGSEGV as i32);
        }
    }
}

/// A signal handler is about to run (before its frame saves `frame`): a critical section it
/// interrupts is aborted, so the handler returns to the abort handler. Linux's
/// rseq_signal_deliver.
pub fn on_signal(l: &Lwp, frame: &mut TrapFrame) -> Result<(), i32> {
    l.rseq.events.fetch_or(EVENT_SIGNAL, Ordering::Relaxed);
    update(l, frame)
}

/// Aborts the critical section `frame` is in if an event happened, and writes the CPU
/// number into the area. Linux's rseq_handle_notify_resume.
fn update(l: &Lwp, frame: &mut TrapFrame) -> Result<(), i32> {
    let Some(area) = *l.rseq.area.lock() else { return Ok(()) };
    let events = l.rseq.events.swap(0, Ordering::Relaxed);
    fixup_ip(&area, frame, events)?;
    let cpu = crate::lwkt::globaldata::mycpu().cpuid as u32;
    store_u32(area.addr + OFF_CPU_ID_START, cpu)?;
    store_u32(area.addr + OFF_CPU_ID, cpu)?;
    // One memory node.
    store_u32(area.addr + OFF_NODE_ID, 0)?;
    // The concurrency id: the CPU number is unique among the threads running at once
    // (Linux also compacts it below the thread count).
    store_u32(area.addr + OFF_MM_CID, cpu)
}

/// A critical section descriptor (`struct rseq_cs`).
struct Section {
    flags: u32,
    start_ip: u64,
    post_commit_offset: u64,
    abort_ip: u64,
}

/// Reads and checks the descriptor at `ptr` (Linux's rseq_get_rseq_cs): in user space, not
/// wrapping, the abort handler outside the section and preceded by the registered
/// signature. EINVAL or EFAULT otherwise.
fn read_section(area: &Area, ptr: u64) -> Result<Section, i32> {
    if ptr >= USER_END {
        return Err(EINVAL);
    }
    let mut b = [0u8; 32];
    copyin(&mut b, ptr)?;
    let word = |i: usize| u64::from_ne_bytes(b[i..i + 8].try_into().unwrap_or_default());
    let version = u32::from_ne_bytes(b[0..4].try_into().unwrap_or_default());
    let s = Section {
        flags: u32::from_ne_bytes(b[4..8].try_into().unwrap_or_default()),
        start_ip: word(8),
        post_commit_offset: word(16),
        abort_ip: word(24),
    };
    let end = s.start_ip.checked_add(s.post_commit_offset).ok_or(EINVAL)?;
    if version > 0 || s.start_ip >= USER_END || end >= USER_END || s.abort_ip >= USER_END {
        return Err(EINVAL);
    }
    if s.abort_ip.wrapping_sub(s.start_ip) < s.post_commit_offset {
        return Err(EINVAL);
    }
    let sig_at = s.abort_ip.checked_sub(4).ok_or(EFAULT)?;
    if fetch_u32(sig_at)? != area.sig {
        return Err(EINVAL);
    }
    Ok(s)
}

/// Linux's rseq_ip_fixup: outside the section, the descriptor pointer is cleared; inside
/// it, after an event, it is cleared and the thread resumes at the abort handler.
fn fixup_ip(area: &Area, frame: &mut TrapFrame, events: u32) -> Result<(), i32> {
    let cs_at = area.addr + OFF_RSEQ_CS;
    let ptr = fetch_u64(cs_at)?;
    if ptr == 0 {
        return Ok(());
    }
    let s = read_section(area, ptr)?;
    if frame.rip.wrapping_sub(s.start_ip) >= s.post_commit_offset {
        return store_u64(cs_at, 0);
    }
    // The NO_RESTART flags are deprecated: any flag is refused.
    if s.flags != 0 || fetch_u32(area.addr + OFF_FLAGS)? != 0 {
        return Err(EINVAL);
    }
    if events == 0 {
        return Ok(());
    }
    store_u64(cs_at, 0)?;
    frame.rip = s.abort_ip;
    Ok(())
}
