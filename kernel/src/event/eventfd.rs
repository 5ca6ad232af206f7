//! eventfd (Linux's fs/eventfd.c): a 64-bit counter as a file. A write of 8 bytes adds to
//! it (waiting while the sum would pass 2^64 - 2), a read of 8 bytes takes it whole, or 1 in
//! semaphore mode (waiting while it is 0). Readable while nonzero, writable while 1 more
//! fits. Waits are interruptible (EINTR) and use the interlock idiom.
use super::{AnonFile, KnList};
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use abi::errno::{EAGAIN, EINTR, EINVAL};
use abi::poll::{POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use core::any::Any;

/// The largest value the counter holds.
const MAX: u64 = u64::MAX - 1;

/// An eventfd.
pub struct EventFd {
    count: SpinLock<u64>,
    semaphore: bool,
    knotes: KnList,
}

impl EventFd {
    /// A counter starting at `init`; `semaphore` makes each read take 1.
    pub fn new(init: u64, semaphore: bool) -> EventFd {
        EventFd { count: SpinLock::new(init), semaphore, knotes: KnList::new() }
    }

    fn rident(&self) -> usize {
        ident_of(self)
    }

    fn wident(&self) -> usize {
        ident_of(self) + 1
    }

    /// Runs `step` on the counter until it returns a value (then wakes the other side and
    /// posts `post`), sleeping on `sleep_on` in between unless `nonblock` (EAGAIN).
    fn until<T>(
        &self,
        nonblock: bool,
        sleep_on: usize,
        wake: usize,
        post: u16,
        mut step: impl FnMut(&mut u64) -> Option<T>,
    ) -> Result<T, i32> {
        loop {
            let mut c = self.count.lock();
            if let Some(v) = step(&mut c) {
                drop(c);
                wakeup(wake);
                self.knotes.post(post);
                return Ok(v);
            }
            if nonblock {
                return Err(EAGAIN);
            }
            tsleep_interlock(sleep_on);
            drop(c);
            if tsleep(sleep_on, PINTERLOCKED | PCATCH, "eventfd", 0) == Err(EINTR) {
                return Err(EINTR);
            }
        }
    }
}

impl AnonFile for EventFd {
    /// Takes the counter (or 1 of it) into 8 bytes; EINVAL for a smaller buffer.
    fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, i32> {
        let out = buf.get_mut(..8).ok_or(EINVAL)?;
        let sem = self.semaphore;
        let v = self.until(nonblock, self.rident(), self.wident(), POLLOUT | POLLWRNORM, |c| {
            (*c > 0).then(|| {
                let v = if sem { 1 } else { *c };
                *c -= v;
                v
            })
        })?;
        out.copy_from_slice(&v.to_ne_bytes());
        Ok(8)
    }

    /// Adds the 8-byte value; EINVAL for a smaller buffer or the value 2^64 - 1.
    fn write(&self, buf: &[u8], nonblock: bool) -> Result<usize, i32> {
        let b: [u8; 8] = buf.get(..8).and_then(|b| b.try_into().ok()).ok_or(EINVAL)?;
        let v = u64::from_ne_bytes(b);
        if v == u64::MAX {
            return Err(EINVAL);
        }
        self.until(nonblock, self.wident(), self.rident(), POLLIN | POLLRDNORM, |c| {
            (MAX - *c >= v).then(|| *c += v)
        })?;
        Ok(8)
    }

    fn poll(&self) -> u16 {
        let c = *self.count.lock();
        let mut ev = 0;
        if c > 0 {
            ev |= POLLIN | POLLRDNORM;
        }
        if c < MAX {
            ev |= POLLOUT | POLLWRNORM;
        }
        ev
    }

    fn knlist(&self) -> &KnList {
        &self.knotes
    }

    fn close(&self) {}

    fn as_any(&self) -> &dyn Any {
        self
    }
}
