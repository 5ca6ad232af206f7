//! LWKT threads (DragonFly's `struct thread`): kernel threads owned by one CPU.
//!
//! A thread's scheduling state (run-queue links, flags, critical-section count, token stack)
//! is changed only by its owner CPU, inside a critical section; other CPUs ask the owner
//! through its IPI queue. Memory is reference counted ([`ThreadHandle`]), so a handle never
//! dangles; the kernel stack is reclaimed by the next thread to run on the CPU after the
//! thread exits, since a thread cannot free the stack it is running on.
use super::globaldata::GlobalData;
use super::queue::Links;
use super::token::TokenStack;
use crate::mem::kstack::{self, KernelStack};
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

/// Thread priorities (`TDPRI_*`), higher runs first. The whole table is kept even where
/// nothing uses a class yet, so later subsystems pick DragonFly's levels.
#[allow(dead_code)]
pub mod pri {
    pub const IDLE_THREAD: u32 = 0;
    pub const IDLE_WORK: u32 = 1;
    pub const USER_SCHEDULER: u32 = 2;
    pub const USER_IDLE: u32 = 4;
    pub const USER_NORM: u32 = 6;
    pub const USER_REAL: u32 = 8;
    pub const KERN_USER: u32 = 10;
    pub const KERN_DAEMON: u32 = 12;
    pub const SOFT_NORM: u32 = 14;
    pub const SOFT_TIMER: u32 = 16;
    pub const INT_SUPPORT: u32 = 20;
    pub const INT_LOW: u32 = 27;
    pub const INT_MED: u32 = 28;
    pub const INT_HIGH: u32 = 29;
    pub const MAX: u32 = 31;
}

/// Owner-only thread flags (`td_flags`).
pub mod tdf {
    /// The thread's context is live on its CPU (cleared only after the switch away completes).
    pub const RUNNING: u32 = 1 << 0;
    /// On its CPU's run queue.
    pub const RUNQ: u32 = 1 << 1;
    /// On a sleep queue (tsleep).
    pub const TSLEEPQ: u32 = 1 << 2;
    /// Descheduled by tsleep (wakeup reschedules it).
    pub const TSLEEP_DESCHEDULED: u32 = 1 << 3;
    /// Leaving its CPU for `migrate_to`.
    pub const MIGRATING: u32 = 1 << 4;
    /// Exited: reap its stack once switched away.
    pub const EXITING: u32 = 1 << 5;
    /// The tsleep timed out.
    pub const TIMEOUT: u32 = 1 << 6;
    /// May preempt lower-priority threads when scheduled (interrupt-class threads).
    pub const PREEMPTABLE: u32 = 1 << 7;
    /// The idle thread.
    pub const IDLE: u32 = 1 << 8;
    /// A context LWKT adopted (thread 0, an AP's idle thread): no stack of its own to free,
    /// lives as long as the CPU.
    pub const ADOPTED: u32 = 1 << 9;
    /// Preempted by an interrupt-class thread: still RUNNING, and its CPU belongs to the
    /// preemptor until that blocks (`TDF_PREEMPT_LOCK`).
    pub const PREEMPT_LOCK: u32 = 1 << 10;
    /// Sleeping with PCATCH: a signal for its process ends the sleep.
    pub const SINTR: u32 = 1 << 11;
}

/// Pages of every kernel thread stack (16 KiB, as DragonFly's `td_kstack`).
pub const KSTACK_PAGES: usize = 4;
/// Depth of the per-thread token stack.
pub const MAXTOKENS: usize = 32;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Thread structures in existence (created and not yet freed), for /proc/loadavg.
static LIVE: AtomicU64 = AtomicU64::new(0);

/// Threads created since boot (/proc/stat's `processes`, until processes exist).
pub fn created() -> u64 {
    NEXT_ID.load(Ordering::Relaxed) - 1
}

/// Thread structures alive now: running, runnable, sleeping, or exited and not yet reaped.
pub fn live() -> u64 {
    LIVE.load(Ordering::Relaxed)
}

/// One kernel thread. `sp` must stay the first field: the switch code uses offset 0.
#[repr(C)]
pub struct Thread {
    sp: UnsafeCell<u64>,
    gd: AtomicPtr<GlobalData>,
    pri: AtomicU32,
    critcount: AtomicU32,
    flags: AtomicU32,
    links: [UnsafeCell<Links>; 2],
    toks: UnsafeCell<TokenStack>,
    wchan: AtomicU64,
    /// What the thread sleeps on: a `&'static str` as pointer and length, under a sequence
    /// count so another CPU never reads a torn pair.
    wmesg_ptr: AtomicU64,
    wmesg_len: AtomicU64,
    wmesg_seq: AtomicU64,
    migrate_to: AtomicPtr<GlobalData>,
    /// The thread this one preempted (resumed when this one blocks).
    preempted: AtomicPtr<Thread>,
    stack: UnsafeCell<Option<KernelStack>>,
    /// User-mode state of a thread that runs a process (FPU, FS/GS bases, address space,
    /// its lwp); None for kernel threads. Owner only.
    user: UnsafeCell<Option<alloc::boxed::Box<crate::proc::usermd::UserMd>>>,
    kstack_top: u64,
    start: UnsafeCell<Option<Box<dyn FnOnce() + Send>>>,
    /// Keeps the thread alive while it can still run; dropped when it is reaped.
    self_ref: UnsafeCell<Option<Arc<Thread>>>,
    name: &'static str,
    id: u64,
    /// Times this thread was switched to.
    pub switches: AtomicU64,
    /// CPU time used, in user and kernel mode.
    pub times: super::cputime::ThreadTimes,
}

// SAFETY: the UnsafeCell fields are touched only by the owning CPU inside a critical section
// (or, for `start`, by the thread itself once), which serialises all access to them; all
// other fields are atomics.
unsafe impl Sync for Thread {}
// SAFETY: as above; a Thread moves between CPUs only through migration, which hands it over
// with the owner's run-queue membership cleared.
unsafe impl Send for Thread {}

impl Drop for Thread {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A counted reference to a thread; the thread's memory lives while any handle does.
#[derive(Clone)]
pub struct ThreadHandle(pub(crate) Arc<Thread>);

impl core::ops::Deref for ThreadHandle {
    type Target = Thread;
    fn deref(&self) -> &Thread {
        &self.0
    }
}

impl Thread {
    fn new(
        name: &'static str,
        gd: &GlobalData,
        pri: u32,
        stack: Option<KernelStack>,
        kstack_top: u64,
    ) -> Thread {
        Thread {
            sp: UnsafeCell::new(0),
            gd: AtomicPtr::new(gd as *const GlobalData as *mut GlobalData),
            pri: AtomicU32::new(pri.min(pri::MAX)),
            critcount: AtomicU32::new(0),
            flags: AtomicU32::new(0),
            links: [UnsafeCell::new(Links::new()), UnsafeCell::new(Links::new())],
            toks: UnsafeCell::new(TokenStack::new()),
            wchan: AtomicU64::new(0),
            wmesg_ptr: AtomicU64::new("".as_ptr() as u64),
            wmesg_len: AtomicU64::new(0),
            wmesg_seq: AtomicU64::new(0),
            migrate_to: AtomicPtr::new(core::ptr::null_mut()),
            preempted: AtomicPtr::new(core::ptr::null_mut()),
            stack: UnsafeCell::new(stack),
            user: UnsafeCell::new(None),
            kstack_top,
            start: UnsafeCell::new(None),
            self_ref: UnsafeCell::new(None),
            name,
            id: {
                LIVE.fetch_add(1, Ordering::Relaxed);
                NEXT_ID.fetch_add(1, Ordering::Relaxed)
            },
            switches: AtomicU64::new(0),
            times: super::cputime::ThreadTimes::new(),
        }
    }

    /// The context a CPU is already running when LWKT starts on it (the boot stack on the
    /// boot CPU, the AP start stack elsewhere): it becomes a thread without a fresh stack.
    pub(super) fn adopt_current(
        name: &'static str,
        gd: &GlobalData,
        pri: u32,
        kstack_top: u64,
    ) -> ThreadHandle {
        let td = Arc::new(Thread::new(name, gd, pri, None, kstack_top));
        td.flags.store(tdf::RUNNING | tdf::ADOPTED, Ordering::Relaxed);
        ThreadHandle(td)
    }

    /// A new thread on `gd` that will run `f`; not yet scheduled. `None` when no stack is left.
    pub(super) fn create(
        name: &'static str,
        gd: &GlobalData,
        pri: u32,
        f: Box<dyn FnOnce() + Send>,
    ) -> Option<ThreadHandle> {
        let stack = kstack::alloc(KSTACK_PAGES)?;
        let top = stack.top();
        let td = Arc::new(Thread::new(name, gd, pri, Some(stack), top));
        // A new thread resumes inside lwkt_switch, in the critical section it entered there.
        td.critcount.store(1, Ordering::Relaxed);
        // SAFETY: the thread is not visible to any CPU yet; we have exclusive access.
        unsafe {
            *td.start.get() = Some(f);
            *td.sp.get() = crate::arch::x86_64::switch::initial_frame(top);
            *td.self_ref.get() = Some(td.clone());
        }
        Some(ThreadHandle(td))
    }

    /// Raw pointer to the saved stack pointer (for the switch code).
    pub(super) fn sp_ptr(&self) -> *mut u64 {
        self.sp.get()
    }

    /// The thread's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A unique number.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The owning CPU.
    pub fn gd(&self) -> &'static GlobalData {
        // SAFETY: `gd` always points at a 'static GlobalData.
        unsafe { &*self.gd.load(Ordering::Acquire) }
    }

    pub(super) fn set_gd(&self, gd: &GlobalData) {
        self.gd.store(gd as *const GlobalData as *mut GlobalData, Ordering::Release);
    }

    /// Priority (`td_pri`).
    pub fn pri(&self) -> u32 {
        self.pri.load(Ordering::Relaxed)
    }

    pub(super) fn set_pri_raw(&self, pri: u32) {
        self.pri.store(pri.min(pri::MAX), Ordering::Relaxed);
    }

    /// Critical-section nesting count.
    pub fn critcount(&self) -> u32 {
        self.critcount.load(Ordering::Relaxed)
    }

    pub(super) fn critcount_ref(&self) -> &AtomicU32 {
        &self.critcount
    }

    /// `td_flags`.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    pub(super) fn set_flags(&self, bits: u32) {
        self.flags.fetch_or(bits, Ordering::Relaxed);
    }

    pub(super) fn clear_flags(&self, bits: u32) {
        self.flags.fetch_and(!bits, Ordering::Relaxed);
    }

    /// Clears RUNNING with release ordering: whoever sees it clear (acquire) may act on the
    /// thread, whose context is then fully saved.
    pub(super) fn clear_running(&self) {
        self.flags.fetch_and(!tdf::RUNNING, Ordering::Release);
    }

    /// The flags with acquire ordering (pairs with `clear_running`).
    pub(super) fn flags_acquire(&self) -> u32 {
        self.flags.load(Ordering::Acquire)
    }

    pub(super) fn critcount_add(&self, delta: i32) {
        if delta >= 0 {
            self.critcount.fetch_add(delta as u32, Ordering::Relaxed);
        } else {
            self.critcount.fetch_sub((-delta) as u32, Ordering::Relaxed);
        }
    }

    pub(super) fn links(&self, which: usize) -> *mut Links {
        self.links[which].get()
    }

    pub(super) fn toks(&self) -> *mut TokenStack {
        self.toks.get()
    }

    /// The wait channel while sleeping, else 0.
    pub fn wchan(&self) -> u64 {
        self.wchan.load(Ordering::Relaxed)
    }

    pub(super) fn set_wchan(&self, wchan: u64, wmesg: &'static str) {
        self.wchan.store(wchan, Ordering::Relaxed);
        // Only the owner writes (sequence odd while the pair is inconsistent).
        self.wmesg_seq.fetch_add(1, Ordering::AcqRel);
        self.wmesg_ptr.store(wmesg.as_ptr() as u64, Ordering::Relaxed);
        self.wmesg_len.store(wmesg.len() as u64, Ordering::Relaxed);
        self.wmesg_seq.fetch_add(1, Ordering::Release);
    }

    /// What the thread sleeps on, for diagnostics.
    pub fn wmesg(&self) -> &'static str {
        loop {
            let s0 = self.wmesg_seq.load(Ordering::Acquire);
            let (p, n) = (self.wmesg_ptr.load(Ordering::Relaxed), self.wmesg_len.load(Ordering::Relaxed));
            if s0.is_multiple_of(2) && self.wmesg_seq.load(Ordering::Acquire) == s0 {
                // SAFETY: an even, unchanged sequence means (p, n) came from one `&'static
                // str` stored by set_wchan: valid UTF-8 that lives for ever.
                return unsafe {
                    core::str::from_utf8_unchecked(core::slice::from_raw_parts(p as *const u8, n as usize))
                };
            }
            core::hint::spin_loop();
        }
    }

    pub(super) fn migrate_to(&self) -> &AtomicPtr<GlobalData> {
        &self.migrate_to
    }

    pub(super) fn preempted(&self) -> &AtomicPtr<Thread> {
        &self.preempted
    }

    /// The user-mode state, when the thread runs a process. Called by the thread itself or
    /// by the switch code on its CPU (owner-only state).
    pub fn user(&self) -> Option<&crate::proc::usermd::UserMd> {
        // SAFETY: set once by the thread itself (set_user) before it first enters user mode,
        // cleared only by itself on exit; other accesses only read it.
        unsafe { (*self.user.get()).as_deref() }
    }

    /// Installs (or removes) the user-mode state; only the thread itself calls this.
    pub fn set_user(&self, u: Option<alloc::boxed::Box<crate::proc::usermd::UserMd>>) {
        let old = {
            let _c = super::crit::crit();
            // SAFETY: the thread's own field, changed by itself in a critical section, so the
            // switch code (same CPU) never sees it half-written.
            unsafe { core::mem::replace(&mut *self.user.get(), u) }
        };
        drop(old);
    }

    /// Top of the kernel stack (0 for none known).
    pub fn kstack_top(&self) -> u64 {
        self.kstack_top
    }

    pub(super) fn take_start(&self) -> Option<Box<dyn FnOnce() + Send>> {
        // SAFETY: only the thread itself calls this, once, when it first runs.
        unsafe { (*self.start.get()).take() }
    }

    /// A counted handle to this thread, while it has not exited.
    pub fn self_handle(&self) -> Option<ThreadHandle> {
        // SAFETY: the self reference is written at creation and taken only by reap, after the
        // thread stopped running; callers run on the thread itself.
        unsafe { (*self.self_ref.get()).clone().map(ThreadHandle) }
    }

    /// Frees the stack and drops the self reference; called by another thread once this one
    /// has exited and been switched away from.
    pub(super) fn reap(&self) {
        // SAFETY: the thread is EXITING and no longer RUNNING: nothing runs on its stack and
        // no CPU touches its owner-only fields any more.
        let (stack, me) = unsafe { ((*self.stack.get()).take(), (*self.self_ref.get()).take()) };
        if let Some(s) = stack {
            kstack::free(s);
        }
        drop(me);
    }
}
