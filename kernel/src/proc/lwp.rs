//! One thread of a process (DragonFly's `struct lwp`): its id, signal mask and pending set,
//! alternate signal stack, CPU affinity, the addresses set_tid_address and set_robust_list
//! gave, and a handle on the LWKT thread that carries it.
use super::signal::Pending;
use super::Proc;
use crate::lwkt::sched::try_curthread;
use crate::lwkt::thread::ThreadHandle;
use crate::sync::spinlock::SpinLock;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// A sigaltstack: where handlers with SA_ONSTACK run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    /// Lowest address.
    pub sp: u64,
    /// Bytes.
    pub size: u64,
    /// SS_DISABLE / SS_AUTODISARM as given (SS_ONSTACK is computed, never stored).
    pub flags: u32,
}

/// One thread of a process.
pub struct Lwp {
    /// The process.
    pub proc: Arc<Proc>,
    /// Thread id (the pid for the first thread; an exec by another thread takes the pid).
    tid: AtomicU32,
    /// Blocked signals.
    pub sigmask: AtomicU64,
    /// The mask to put back once a call that waits under a temporary mask (sigsuspend,
    /// ppoll, pselect6, epoll_pwait) has let a handler run (Linux's saved_sigmask).
    pub saved_mask: SpinLock<Option<u64>>,
    /// The mask before rt_sigtimedwait opened it for the signals it waits for: those still
    /// count as blocked when deciding whether an ignored signal is discarded (Linux's
    /// real_blocked).
    pub real_blocked: AtomicU64,
    /// Signals sent to this thread (tkill, tgkill, faults).
    pub sig: Pending,
    /// The alternate signal stack.
    pub altstack: SpinLock<AltStack>,
    /// Scheduling policy (sched_setscheduler), per thread as on Linux.
    pub sched: super::schedpolicy::SchedPolicy,
    /// CPUs this thread may run on (sched_setaffinity); bit n = CPU n.
    pub cpumask: AtomicU64,
    /// What the user scheduler keeps for it (recent CPU use, round-robin count).
    pub us: crate::sched::priority::UschedData,
    /// set_tid_address / CLONE_CHILD_CLEARTID: where to store 0 and wake futex waiters when
    /// the thread ends.
    pub clear_child_tid: AtomicU64,
    /// set_robust_list head, walked when the thread ends.
    pub robust_list: AtomicU64,
    /// Made to exit (exit_group, a fatal signal, another thread's exec): it leaves at its
    /// next return to user mode or interruptible sleep.
    pub exiting: AtomicBool,
    /// How restart_syscall resumes the sleep a signal interrupted.
    pub restart: SpinLock<Option<super::restart::RestartBlock>>,
    /// Its restartable-sequence area (rseq).
    pub rseq: super::rseq::Rseq,
    /// The thread that runs it, so a signal can end its interruptible sleep. Set by the
    /// thread when it starts, cleared when it ends (it would otherwise keep the thread,
    /// which holds this lwp, alive).
    pub thread: SpinLock<Option<ThreadHandle>>,
}

impl Lwp {
    /// A new thread `tid` of `proc`, not yet in its list.
    pub fn new(proc: Arc<Proc>, tid: u32) -> Arc<Lwp> {
        Arc::new(Lwp {
            tid: AtomicU32::new(tid),
            proc,
            sigmask: AtomicU64::new(0),
            saved_mask: SpinLock::new(None),
            real_blocked: AtomicU64::new(0),
            sig: Pending::new(),
            altstack: SpinLock::new(AltStack { flags: SS_DISABLE, ..AltStack::default() }),
            sched: super::schedpolicy::SchedPolicy::new(),
            cpumask: AtomicU64::new(u64::MAX),
            us: crate::sched::priority::UschedData::new(),
            clear_child_tid: AtomicU64::new(0),
            robust_list: AtomicU64::new(0),
            exiting: AtomicBool::new(false),
            restart: SpinLock::new(None),
            rseq: super::rseq::Rseq::new(),
            thread: SpinLock::new(None),
        })
    }

    /// The first thread of `proc` (its tid is the pid), entered in its list.
    pub fn first(proc: Arc<Proc>) -> Arc<Lwp> {
        let lwp = Lwp::new(proc.clone(), proc.pid);
        proc.lwps.lock().push(lwp.clone());
        lwp
    }

    /// Whether the thread blocks `sig` (or blocked it before a sigtimedwait let it in).
    pub fn blocks(&self, sig: u32) -> bool {
        let m = self.sigmask.load(Ordering::Relaxed) | self.real_blocked.load(Ordering::Relaxed);
        m & super::signal::bit(sig) != 0
    }

    /// Thread id.
    pub fn tid(&self) -> u32 {
        self.tid.load(Ordering::Relaxed)
    }

    /// exec by a thread other than the first takes over the pid as its tid (Linux's
    /// de_thread), once every other thread is gone.
    pub(super) fn set_tid(&self, tid: u32) {
        self.tid.store(tid, Ordering::Relaxed);
    }
}

/// sigaltstack's ss_flags: the thread runs on it (reported, never set).
pub const SS_ONSTACK: u32 = 1;
/// sigaltstack's ss_flags: no alternate stack.
pub const SS_DISABLE: u32 = 2;
/// sigaltstack's ss_flags: disarm it while a handler runs on it (back at sigreturn).
pub const SS_AUTODISARM: u32 = 1 << 31;

/// The lwp the running thread carries, if it runs a process. Borrowed from the thread, not
/// counted: a thread that exits from deep in a call leaves no reference behind.
pub fn curlwp() -> Option<&'static Arc<Lwp>> {
    try_curthread()?.user().map(|u| &u.lwp)
}
