//! Pending signals of a process or a thread (kern_sig.c's p_siglist / lwp_siglist): which
//! are pending, as an atomic bit set that the return-to-user check reads without a lock, and
//! what each carries, under a spinlock: the first siginfo of a standard signal, every
//! instance of a real-time one in order.
use super::{bit, SigInfo, NSIG, SIGKILL, SI_TIMER};
use crate::sync::spinlock::SpinLock;
use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicU64, Ordering};

/// First real-time signal: these queue, one entry per post.
pub const SIGRTMIN: u32 = 32;
/// Most real-time signals queued per process or thread (RLIMIT_SIGPENDING's usual order).
const RT_QUEUE_MAX: usize = 1024;

/// The detail behind the bits.
struct SigState {
    /// Bit `sig - 1` set: pending.
    pending: u64,
    /// The siginfo of each pending standard signal (these do not queue: the first wins).
    info: [SigInfo; NSIG],
    /// Pending real-time signals in the order they came, each with its own siginfo.
    queue: VecDeque<(u32, SigInfo)>,
}

impl SigState {
    const fn new() -> SigState {
        SigState { pending: 0, info: [SigInfo::code(0); NSIG], queue: VecDeque::new() }
    }

    /// Makes `sig` pending with `info`. EAGAIN when a real-time signal finds the queue full
    /// (sigqueue reports it; kill and the kernel drop it quietly, as Linux does).
    fn add(&mut self, sig: u32, info: SigInfo) -> Result<(), i32> {
        if sig >= SIGRTMIN {
            if self.queue.len() >= RT_QUEUE_MAX || self.queue.try_reserve(1).is_err() {
                return Err(abi::errno::EAGAIN);
            }
            self.queue.push_back((sig, info));
        } else if self.pending & bit(sig) == 0 {
            self.info[sig as usize - 1] = info;
        }
        self.pending |= bit(sig);
        Ok(())
    }

    /// Takes one instance of pending `sig`.
    fn take(&mut self, sig: u32) -> SigInfo {
        if sig < SIGRTMIN {
            self.pending &= !bit(sig);
            return self.info[sig as usize - 1];
        }
        let info = match self.queue.iter().position(|(s, _)| *s == sig) {
            Some(i) => self.queue.remove(i).map_or(SigInfo::default(), |(_, i)| i),
            None => SigInfo::default(),
        };
        if !self.queue.iter().any(|(s, _)| *s == sig) {
            self.pending &= !bit(sig);
        }
        info
    }

    /// Whether POSIX timer `id`'s expiry signal `sig` is still pending here (a new expiry
    /// is then an overrun, not another signal).
    fn has_timer(&self, sig: u32, id: i32) -> bool {
        let mine = |i: &SigInfo| i.code == SI_TIMER && i.timerid == id;
        if self.pending & bit(sig) == 0 {
            return false;
        }
        if sig < SIGRTMIN {
            return mine(&self.info[sig as usize - 1]);
        }
        self.queue.iter().any(|(s, i)| *s == sig && mine(i))
    }

    /// Discards every pending instance of the signals in `set`.
    fn discard(&mut self, set: u64) {
        self.pending &= !set;
        self.queue.retain(|(s, _)| set & bit(*s) == 0);
    }
}

/// A pending set: the bits (read without a lock) and the detail (under the lock; the bits
/// change only with it held).
pub struct Pending {
    bits: AtomicU64,
    state: SpinLock<SigState>,
}

impl Default for Pending {
    fn default() -> Self {
        Self::new()
    }
}

impl Pending {
    /// Nothing pending.
    pub const fn new() -> Pending {
        Pending { bits: AtomicU64::new(0), state: SpinLock::new(SigState::new()) }
    }

    /// The pending signals (bit `sig - 1`).
    pub fn bits(&self) -> u64 {
        self.bits.load(Ordering::Acquire)
    }

    fn with<T>(&self, f: impl FnOnce(&mut SigState) -> T) -> T {
        let mut st = self.state.lock();
        let r = f(&mut st);
        self.bits.store(st.pending, Ordering::Release);
        r
    }

    /// Makes `sig` pending with `info`. EAGAIN when a real-time signal finds the queue full
    /// (sigqueue reports it; kill and the kernel drop it quietly, as Linux does).
    pub fn add(&self, sig: u32, info: SigInfo) -> Result<(), i32> {
        self.with(|st| st.add(sig, info))
    }

    /// Discards every pending instance of the signals in `set`.
    pub fn discard(&self, set: u64) {
        if self.bits() & set != 0 {
            self.with(|st| st.discard(set));
        }
    }

    /// Takes one pending signal among `allowed`: SIGKILL first, then the lowest-numbered.
    pub fn take_among(&self, allowed: u64) -> Option<(u32, SigInfo)> {
        if self.bits() & allowed == 0 {
            return None;
        }
        self.with(|st| {
            let ready = st.pending & allowed;
            if ready == 0 {
                return None;
            }
            let sig = if ready & bit(SIGKILL) != 0 { SIGKILL } else { ready.trailing_zeros() + 1 };
            Some((sig, st.take(sig)))
        })
    }

    /// Whether POSIX timer `id`'s expiry signal `sig` is still pending here (a new expiry
    /// is then an overrun, not another signal).
    pub fn has_timer(&self, sig: u32, id: i32) -> bool {
        self.bits() & bit(sig) != 0 && self.state.lock().has_timer(sig, id)
    }
}
