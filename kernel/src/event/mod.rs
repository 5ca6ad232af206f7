//! Readiness (DragonFly's kern_event.c): objects that can become readable or writable
//! (pipes now; devices and sockets later) keep a [`KnList`] of knotes and post the events
//! that changed whenever their state changes. A knote delivers to a [`KnoteSink`]: poll and
//! select use a one-shot sink that wakes the polling thread; epoll will use a persistent sink
//! that queues the knote's id on its ready list. The object is always asked again for its
//! current state (`File::poll`), so a post is only a hint that it is worth asking: no event
//! can be lost between a check and a sleep because the waiter interlocks before it checks.
pub mod epoll;
pub mod eventfd;
pub mod poll;
pub mod signalfd;
mod signalfd_tests;
mod tests;
pub mod timerfd;

use crate::sync::spinlock::SpinLock;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

/// A file that is neither a vnode, a device nor a pipe: an epoll instance, an eventfd, a
/// timerfd (Linux's anonymous-inode files). Its readiness changes are posted on its knotes.
pub trait AnonFile: Send + Sync + Any {
    /// read(2); `nonblock` is the file's O_NONBLOCK.
    fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, i32>;
    /// write(2).
    fn write(&self, buf: &[u8], nonblock: bool) -> Result<usize, i32>;
    /// The POLL* bits true now.
    fn poll(&self) -> u16;
    /// Its knotes.
    fn knlist(&self) -> &KnList;
    /// The last close of the file.
    fn close(&self);
    /// For the calls that act on one kind only (epoll_ctl, timerfd_settime).
    fn as_any(&self) -> &dyn Any;
}

/// Where a knote delivers (a poll call, later an epoll instance).
pub trait KnoteSink: Send + Sync {
    /// The object behind knote `id` posted `events` (POLL* bits).
    fn notify(&self, id: usize, events: u16);
}

/// One registration of interest in an object's events.
pub struct Knote {
    sink: Arc<dyn KnoteSink>,
    /// The sink's own name for the registration (a poll index, an epoll fd).
    id: usize,
    /// The events that matter (POLLHUP and POLLERR always do).
    interest: u16,
}

impl Knote {
    /// A knote delivering `interest` (plus hang-up and error) to `sink` as `id`.
    pub fn new(sink: Arc<dyn KnoteSink>, id: usize, interest: u16) -> Arc<Knote> {
        Arc::new(Knote { sink, id, interest })
    }
}

/// An object's knotes (`struct klist`).
pub struct KnList {
    notes: SpinLock<Vec<Arc<Knote>>>,
}

impl Default for KnList {
    fn default() -> Self {
        Self::new()
    }
}

impl KnList {
    /// No knotes.
    pub const fn new() -> KnList {
        KnList { notes: SpinLock::new(Vec::new()) }
    }

    /// Attaches a knote (knote_attach); ENOMEM when the list cannot grow.
    pub fn attach(&self, kn: Arc<Knote>) -> Result<(), i32> {
        let mut l = self.notes.lock();
        l.try_reserve(1).map_err(|_| abi::errno::ENOMEM)?;
        l.push(kn);
        Ok(())
    }

    /// Detaches a knote (knote_detach); a knote not attached is ignored.
    pub fn detach(&self, kn: &Arc<Knote>) {
        let mut l = self.notes.lock();
        if let Some(i) = l.iter().position(|k| Arc::ptr_eq(k, kn)) {
            l.swap_remove(i);
        }
        // The last one gone, the buffer goes too: a long-lived object (the console, say)
        // polled once must not hold memory for ever.
        if l.is_empty() {
            *l = Vec::new();
        }
    }

    /// Posts `events` to every knote interested in them (KNOTE). Called without the object's
    /// own lock held; the sinks only flag and wake, so this never blocks.
    pub fn post(&self, events: u16) {
        use abi::poll::{POLLERR, POLLHUP};
        let l = self.notes.lock();
        for k in l.iter() {
            if events & (k.interest | POLLHUP | POLLERR) != 0 {
                k.sink.notify(k.id, events);
            }
        }
    }

    /// Knotes attached (tests).
    pub fn len(&self) -> usize {
        self.notes.lock().len()
    }
}
