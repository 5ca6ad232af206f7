//! lwkt_serialize (DragonFly's lwkt_serialize.c): a non-recursive exclusive lock that may be
//! held across blocking, with an interrupt-handler gate. Drivers hold one serializer in both
//! their interrupt handler (through `handler_call`) and their other entry points, so the two
//! exclude each other; `handler_disable` stops the handler from running at all (detach).
use super::sched::curthread;
use super::sleep::{ident_of, tsleep, tsleep_cancel, tsleep_interlock, wakeup, PINTERLOCKED};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const HELD: u32 = 1;
const HANDLER_DISABLED: u32 = 2;
const WAITER: u32 = 4;

/// A serializer.
pub struct Serializer {
    state: AtomicU32,
    /// Thread id of the holder (for `assert_held`).
    last_td: AtomicU64,
}

impl Default for Serializer {
    fn default() -> Self {
        Self::new()
    }
}

impl Serializer {
    /// A free serializer with its handler enabled.
    pub const fn new() -> Serializer {
        Serializer { state: AtomicU32::new(0), last_td: AtomicU64::new(0) }
    }

    fn try_take(&self) -> bool {
        let s = self.state.load(Ordering::Relaxed);
        s & HELD == 0
            && self.state.compare_exchange(s, s | HELD, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Takes the serializer, sleeping while another thread holds it.
    pub fn enter(&self) {
        assert!(self.last_td.load(Ordering::Relaxed) != curthread().id(), "serializer entered recursively");
        loop {
            if self.try_take() {
                break;
            }
            let ident = ident_of(self);
            tsleep_interlock(ident);
            let s = self.state.fetch_add(WAITER, Ordering::AcqRel);
            if s & HELD == 0 {
                // Freed meanwhile: retry instead of sleeping.
                self.state.fetch_sub(WAITER, Ordering::AcqRel);
                tsleep_cancel();
                continue;
            }
            let _ = tsleep(ident, PINTERLOCKED, "slize", 0);
            self.state.fetch_sub(WAITER, Ordering::AcqRel);
        }
        self.last_td.store(curthread().id(), Ordering::Relaxed);
    }

    /// Takes the serializer if it is free.
    pub fn try_enter(&self) -> bool {
        if self.try_take() {
            self.last_td.store(curthread().id(), Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Releases it, waking waiters if there are any.
    pub fn exit(&self) {
        self.assert_held();
        self.last_td.store(0, Ordering::Relaxed);
        let s = self.state.fetch_and(!HELD, Ordering::Release);
        if s >= WAITER {
            wakeup(ident_of(self));
        }
    }

    /// Panics unless the current thread holds the serializer (ASSERT_SERIALIZED).
    pub fn assert_held(&self) {
        assert!(
            self.state.load(Ordering::Relaxed) & HELD != 0
                && self.last_td.load(Ordering::Relaxed) == curthread().id(),
            "not serialized"
        );
    }

    /// Stops `handler_call` from running the handler.
    pub fn handler_disable(&self) {
        self.state.fetch_or(HANDLER_DISABLED, Ordering::AcqRel);
    }

    /// Lets `handler_call` run the handler again.
    pub fn handler_enable(&self) {
        self.state.fetch_and(!HANDLER_DISABLED, Ordering::AcqRel);
    }

    /// Runs `f` serialized, unless the handler is disabled; returns whether it ran.
    pub fn handler_call(&self, f: impl FnOnce()) -> bool {
        self.enter();
        let ran = self.state.load(Ordering::Acquire) & HANDLER_DISABLED == 0;
        if ran {
            f();
        }
        self.exit();
        ran
    }
}

mod tests {
    use super::*;
    use crate::lwkt::sched::{create, yield_now};
    use crate::lwkt::thread::pri;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicUsize, Ordering};

    ktest! {
        /// Holders exclude each other across yields; the handler gate works.
        fn serializes_and_gates() {
            let s = Arc::new(Serializer::new());
            let inside = Arc::new(AtomicUsize::new(0));
            let done = Arc::new(AtomicUsize::new(0));
            for _ in 0..3 {
                let (s, i, d) = (s.clone(), inside.clone(), done.clone());
                create("t-slz", pri::KERN_DAEMON, None, move || {
                    for _ in 0..4 {
                        s.enter();
                        assert_eq!(i.fetch_add(1, Ordering::AcqRel), 0, "two threads inside");
                        yield_now();
                        i.fetch_sub(1, Ordering::AcqRel);
                        s.exit();
                        yield_now();
                    }
                    d.fetch_add(1, Ordering::AcqRel);
                })
                .ok_or("create failed")?;
            }
            for _ in 0..10_000 {
                if done.load(Ordering::Acquire) == 3 {
                    break;
                }
                yield_now();
            }
            kassert_eq!(done.load(Ordering::Acquire), 3);
            let ran = AtomicUsize::new(0);
            s.handler_disable();
            kassert!(!s.handler_call(|| { ran.fetch_add(1, Ordering::Relaxed); }), "ran while disabled");
            s.handler_enable();
            kassert!(s.handler_call(|| { ran.fetch_add(1, Ordering::Relaxed); }), "did not run");
            kassert_eq!(ran.load(Ordering::Relaxed), 1);
            Ok(())
        }
    }
}
