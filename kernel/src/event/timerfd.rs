//! timerfd (Linux's fs/timerfd.c) on a callout: a timer that counts its expirations, read as
//! an 8-byte count (which resets it). Expirations are counted by time, not by callout
//! firings: whenever the timer is looked at (the callout, a read, a poll, gettime) every
//! period that has passed since the last expiry is added, so a late clock tick loses none.
//! Times are kept on the monotonic clock; a CLOCK_REALTIME absolute time is converted with
//! the current offset between the two (the wall clock is never set here, so it does not
//! drift).
use super::{AnonFile, KnList};
use crate::lwkt::callout::Callout;
use crate::lwkt::clock::HZ;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use abi::errno::{EAGAIN, EINTR, EINVAL};
use abi::poll::{POLLIN, POLLRDNORM};
use core::any::Any;
use core::pin::Pin;

/// Which clock a timer runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Clock {
    /// CLOCK_REALTIME: absolute times are wall-clock times.
    Realtime,
    /// CLOCK_MONOTONIC or CLOCK_BOOTTIME (nothing suspends, so they agree).
    Monotonic,
}

struct State {
    /// Next expiry on the monotonic clock; None when disarmed.
    next: Option<u64>,
    /// Period (0: one shot).
    interval: u64,
    /// Expirations not read yet.
    count: u64,
}

impl State {
    /// Adds the expirations that have happened by `now`.
    fn catch_up(&mut self, now: u64) {
        let Some(next) = self.next else { return };
        if now < next {
            return;
        }
        match (now - next).checked_div(self.interval) {
            None => {
                self.count = self.count.saturating_add(1);
                self.next = None;
            }
            Some(periods) => {
                let n = periods.saturating_add(1);
                self.count = self.count.saturating_add(n);
                self.next = next.checked_add(n.saturating_mul(self.interval));
            }
        }
    }
}

/// A timerfd.
pub struct TimerFd {
    callout: Callout,
    clock: Clock,
    st: SpinLock<State>,
    knotes: KnList,
}

/// Nanoseconds to clock ticks, rounded up (at least 1).
fn ticks(ns: u64) -> u64 {
    ns.saturating_mul(HZ).div_ceil(1_000_000_000).max(1)
}

impl TimerFd {
    /// A disarmed timer on `clock`.
    pub fn new(clock: Clock) -> TimerFd {
        TimerFd {
            callout: Callout::new(),
            clock,
            st: SpinLock::new(State { next: None, interval: 0, count: 0 }),
            knotes: KnList::new(),
        }
    }

    fn ident(&self) -> usize {
        ident_of(self)
    }

    fn callout(&self) -> Pin<&Callout> {
        // SAFETY: the timer lives in an Arc (it is shared by its file) and never moves; the
        // callout is stopped in close and in Drop before the memory goes.
        unsafe { Pin::new_unchecked(&self.callout) }
    }

    /// Arms the callout for the next expiry, if any (with the state lock not held: arming
    /// may have to stop it on another CPU first).
    fn arm(&self, next: Option<u64>) {
        match next {
            Some(at) => {
                let left = at.saturating_sub(crate::time::nanotime());
                self.callout().reset(ticks(left), fire, self as *const TimerFd as usize);
            }
            None => {
                self.callout.stop();
            }
        }
    }

    /// The time left to the next expiry and the period (timerfd_gettime), in nanoseconds.
    pub fn get(&self) -> (u64, u64) {
        let mut s = self.st.lock();
        let now = crate::time::nanotime();
        s.catch_up(now);
        (s.next.map_or(0, |n| n.saturating_sub(now).max(1)), s.interval)
    }

    /// timerfd_settime: arms for `value` ns from now (or at `value` on the timer's clock when
    /// `absolute`), then every `interval` ns; a zero `value` disarms. Clears the count and
    /// returns the old setting as [`TimerFd::get`] does.
    pub fn set(&self, value: u64, interval: u64, absolute: bool) -> (u64, u64) {
        let old = self.get();
        let now = crate::time::nanotime();
        let next = match (value, absolute) {
            (0, _) => None,
            (v, false) => Some(now.saturating_add(v)),
            (v, true) => Some(match self.clock {
                // The wall clock runs at a fixed offset from the monotonic one.
                Clock::Realtime => v.saturating_sub(crate::time::realtime().saturating_sub(now)),
                Clock::Monotonic => v,
            }),
        };
        let (ready, next) = {
            let mut s = self.st.lock();
            *s = State { next, interval: if next.is_some() { interval } else { 0 }, count: 0 };
            // An absolute time already past expires at once.
            s.catch_up(now);
            (s.count > 0, s.next)
        };
        self.arm(next);
        if ready {
            wakeup(self.ident());
            self.knotes.post(POLLIN | POLLRDNORM);
        }
        old
    }
}

/// The callout: counts what expired, re-arms for the next period, wakes readers.
fn fire(arg: usize) {
    // SAFETY: `arg` is the armed timer; it stops its callout (waiting for a firing to end)
    // before it is dropped, so it is alive while this runs.
    let t = unsafe { &*(arg as *const TimerFd) };
    let next = {
        let mut s = t.st.lock();
        s.catch_up(crate::time::nanotime());
        s.next
    };
    if let Some(at) = next {
        let left = at.saturating_sub(crate::time::nanotime());
        t.callout().reset(ticks(left), fire, arg);
    }
    wakeup(t.ident());
    t.knotes.post(POLLIN | POLLRDNORM);
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        // Before any field goes: a firing must not see a half-dropped timer.
        self.callout.stop();
    }
}

impl AnonFile for TimerFd {
    /// The expirations since the last read (waiting for one), as 8 bytes; EINVAL for a
    /// smaller buffer.
    fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, i32> {
        let out = buf.get_mut(..8).ok_or(EINVAL)?;
        loop {
            let mut s = self.st.lock();
            s.catch_up(crate::time::nanotime());
            if s.count > 0 {
                let n = core::mem::replace(&mut s.count, 0);
                drop(s);
                out.copy_from_slice(&n.to_ne_bytes());
                return Ok(8);
            }
            if nonblock {
                return Err(EAGAIN);
            }
            tsleep_interlock(self.ident());
            drop(s);
            if tsleep(self.ident(), PINTERLOCKED | PCATCH, "timerfd", 0) == Err(EINTR) {
                return Err(EINTR);
            }
        }
    }

    fn write(&self, _: &[u8], _: bool) -> Result<usize, i32> {
        Err(EINVAL)
    }

    fn poll(&self) -> u16 {
        let mut s = self.st.lock();
        s.catch_up(crate::time::nanotime());
        if s.count > 0 {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }

    fn knlist(&self) -> &KnList {
        &self.knotes
    }

    fn close(&self) {
        self.callout.stop();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
