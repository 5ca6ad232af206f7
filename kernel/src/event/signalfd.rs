//! signalfd (Linux's fs/signalfd.c): a file that reads the signals of a mask pending for the
//! reading thread or its process, each as a 128-byte `struct signalfd_siginfo`, instead of
//! their being delivered. It belongs to no process: like Linux, it always looks at whoever
//! reads or polls it, so after fork the child's copy reads the child's signals. Readable while
//! a signal of the mask is pending for the polling thread or its process; a post notifies
//! through the process's [`SigWatchers`](crate::proc::signal::watchers::SigWatchers).
use super::{AnonFile, KnList};
use crate::lwkt::sleep::{tsleep, tsleep_cancel, tsleep_interlock, PCATCH, PINTERLOCKED};
use crate::proc::lwp::curlwp;
use crate::proc::signal::{self, SigInfo, SIGCHLD, UNBLOCKABLE};
use abi::errno::{EAGAIN, EINTR, EINVAL};
use abi::poll::{POLLIN, POLLRDNORM};
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

/// Bytes of one `struct signalfd_siginfo`.
pub const SIGINFO_SIZE: usize = 128;

/// A signalfd.
pub struct SignalFd {
    /// The signals it reads (never SIGKILL or SIGSTOP).
    mask: AtomicU64,
    /// Shared with the watcher lists of the processes that poll it.
    knotes: Arc<KnList>,
}

impl SignalFd {
    /// A signalfd for `mask`.
    pub fn new(mask: u64) -> SignalFd {
        SignalFd { mask: AtomicU64::new(mask & !UNBLOCKABLE), knotes: Arc::new(KnList::new()) }
    }

    /// Replaces the mask (signalfd on an existing one); the caller's pollers look again.
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(mask & !UNBLOCKABLE, Ordering::Relaxed);
        if let Some(l) = curlwp() {
            if signal::pending(l) & mask != 0 {
                self.knotes.post(POLLIN | POLLRDNORM);
            }
        }
    }

    /// The mask.
    pub fn mask(&self) -> u64 {
        self.mask.load(Ordering::Relaxed)
    }
}

/// The `struct signalfd_siginfo` of `sig` with `info`, filled as Linux's signalfd_copyinfo
/// fills it: the fields of the siginfo layout the signal and its code select.
pub fn siginfo_bytes(sig: u32, info: &SigInfo) -> [u8; SIGINFO_SIZE] {
    const SIGPOLL: u32 = 29;
    let mut b = [0u8; SIGINFO_SIZE];
    let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    put(0, &sig.to_ne_bytes());
    put(4, &info.errno.to_ne_bytes());
    put(8, &info.code.to_ne_bytes());
    let fault =
        matches!(sig, signal::SIGSEGV | signal::SIGBUS | signal::SIGILL | signal::SIGFPE | signal::SIGTRAP);
    let (pid_uid, value) = match info.code {
        signal::SI_TIMER => {
            put(24, &info.timerid.to_ne_bytes());
            put(32, &info.overrun.to_ne_bytes());
            (false, true)
        }
        c if c > 0 && c < signal::SI_KERNEL && fault => {
            put(72, &info.addr.to_ne_bytes());
            (false, false)
        }
        c if c > 0 && c < signal::SI_KERNEL && sig == SIGPOLL => {
            put(20, &info.fd.to_ne_bytes());
            put(28, &(info.band as u32).to_ne_bytes());
            (false, false)
        }
        c if c > 0 && c < signal::SI_KERNEL && sig == SIGCHLD => {
            put(40, &info.status.to_ne_bytes());
            put(56, &info.utime.to_ne_bytes());
            put(64, &info.stime.to_ne_bytes());
            (true, false)
        }
        // Queued and thread-directed signals (si_code < 0) carry a value.
        c if c < 0 => (true, true),
        _ => (true, false),
    };
    if pid_uid {
        put(12, &info.pid.to_ne_bytes());
        put(16, &info.uid.to_ne_bytes());
    }
    if value {
        put(44, &(info.value as u32).to_ne_bytes());
        put(48, &info.value.to_ne_bytes());
    }
    b
}

impl AnonFile for SignalFd {
    /// As many pending signals of the mask as whole records fit (EINVAL for less than one),
    /// the thread's own first; waits (interruptibly) for the first unless `nonblock`.
    fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, i32> {
        let room = buf.len() / SIGINFO_SIZE;
        if room == 0 {
            return Err(EINVAL);
        }
        let lwp = curlwp().ok_or(EINVAL)?;
        let watch = &lwp.proc.sigwatch;
        let mut n = 0;
        while n < room {
            if let Some((sig, mut info)) = signal::take(lwp, self.mask()) {
                // A POSIX timer's signal takes its overrun count along, as a delivery does.
                crate::proc::timers::delivered(&lwp.proc, &mut info);
                buf[n * SIGINFO_SIZE..(n + 1) * SIGINFO_SIZE].copy_from_slice(&siginfo_bytes(sig, &info));
                n += 1;
                continue;
            }
            if n > 0 {
                break;
            }
            if nonblock {
                return Err(EAGAIN);
            }
            watch.arm();
            tsleep_interlock(watch.ident());
            if signal::pending(lwp) & self.mask() != 0 {
                tsleep_cancel();
                continue;
            }
            if tsleep(watch.ident(), PINTERLOCKED | PCATCH, "signalfd", 0) == Err(EINTR) {
                return Err(EINTR);
            }
        }
        Ok(n * SIGINFO_SIZE)
    }

    /// Linux's signalfd has no write operation.
    fn write(&self, _: &[u8], _: bool) -> Result<usize, i32> {
        Err(EINVAL)
    }

    /// POLLIN while a signal of the mask is pending for the polling thread or its process;
    /// the poller's process tells the knotes when that may have changed.
    fn poll(&self) -> u16 {
        let Some(lwp) = curlwp() else { return 0 };
        // Without room to watch, a poll would miss the signal's arrival: report it readable
        // so the caller reads (and gets EAGAIN) rather than sleeps forever.
        if lwp.proc.sigwatch.watch(&self.knotes).is_err() {
            return POLLIN | POLLRDNORM;
        }
        if signal::pending(lwp) & self.mask() != 0 {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }

    fn knlist(&self) -> &KnList {
        &self.knotes
    }

    fn close(&self) {}

    fn as_any(&self) -> &dyn Any {
        self
    }
}
