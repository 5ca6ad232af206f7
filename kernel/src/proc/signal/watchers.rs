//! Who wants to hear that a signal became pending in a process without it being delivered:
//! the signalfds its threads read or poll (Linux's sighand->signalfd_wqh). A signalfd reader
//! sleeps on [`SigWatchers::ident`]; a poller's signalfd leaves its knotes here. Nothing is
//! done at a post until the process has used a signalfd, so posting stays cheap otherwise.
use crate::event::KnList;
use crate::lwkt::sleep::{ident_of, wakeup};
use crate::sync::spinlock::SpinLock;
use abi::poll::{POLLIN, POLLRDNORM};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{fence, AtomicBool, Ordering};

/// A process's signalfd waiters.
pub struct SigWatchers {
    /// A signalfd has been read or polled here (sticky).
    active: AtomicBool,
    /// The knotes of the signalfds polled here.
    lists: SpinLock<Vec<Weak<KnList>>>,
}

impl Default for SigWatchers {
    fn default() -> Self {
        Self::new()
    }
}

impl SigWatchers {
    /// Nobody watching.
    pub const fn new() -> SigWatchers {
        SigWatchers { active: AtomicBool::new(false), lists: SpinLock::new(Vec::new()) }
    }

    /// What a signalfd reader sleeps on.
    pub fn ident(&self) -> usize {
        ident_of(self)
    }

    /// A reader is about to check for pending signals and sleep: from now on every post
    /// wakes [`SigWatchers::ident`]. Pairs with the fence in [`SigWatchers::posted`]: either
    /// the poster sees the flag, or the reader's check sees the signal.
    pub fn arm(&self) {
        self.active.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// A signalfd's knotes want to hear of this process's signals (a poll or epoll of it by
    /// one of the threads). Dead entries are dropped on the way. ENOMEM when the list cannot grow.
    pub fn watch(&self, knotes: &Arc<KnList>) -> Result<(), i32> {
        self.arm();
        let mut l = self.lists.lock();
        l.retain(|w| w.strong_count() > 0);
        if l.iter().any(|w| core::ptr::eq(w.as_ptr(), Arc::as_ptr(knotes))) {
            return Ok(());
        }
        l.try_reserve(1).map_err(|_| abi::errno::ENOMEM)?;
        l.push(Arc::downgrade(knotes));
        Ok(())
    }

    /// A signal became pending for the process or one of its threads (called after it is
    /// queued): wakes signalfd readers and posts POLLIN to the watching signalfds.
    pub fn posted(&self) {
        fence(Ordering::SeqCst);
        if !self.active.load(Ordering::Relaxed) {
            return;
        }
        wakeup(self.ident());
        // Posting only flags and wakes sinks (it never blocks or posts signals), so it runs
        // under the list's lock and nothing is allocated here.
        for kl in self.lists.lock().iter().filter_map(Weak::upgrade) {
            kl.post(POLLIN | POLLRDNORM);
        }
    }
}
