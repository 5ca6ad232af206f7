//! lockmgr (DragonFly's kern_lock.c): a shared/exclusive lock that may be held across
//! blocking, unlike a token. Waiters sleep with the interlock idiom (state spinlock held ->
//! tsleep_interlock -> drop the spinlock -> tsleep), so no wakeup is lost. Exclusive waiters
//! hold back new shared holders, so writers do not starve.
use super::spinlock::SpinLock;
use crate::lwkt::sched::curthread;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PINTERLOCKED};
use core::cell::UnsafeCell;
use core::marker::PhantomData;

#[derive(Default)]
struct State {
    shared: u32,
    /// Thread id of the exclusive holder, 0 when none.
    owner: u64,
    excl_waiters: u32,
    shared_waiters: u32,
}

/// Data behind a sleepable shared/exclusive lock.
pub struct LockMgr<T> {
    state: SpinLock<State>,
    desc: &'static str,
    data: UnsafeCell<T>,
}

// SAFETY: shared guards give `&T` (needs Sync), the exclusive guard `&mut T` to one thread at
// a time (needs Send); the state machine under the spinlock enforces exclusion.
unsafe impl<T: Send + Sync> Sync for LockMgr<T> {}

impl<T> LockMgr<T> {
    /// An unlocked lock.
    pub const fn new(desc: &'static str, v: T) -> LockMgr<T> {
        LockMgr {
            state: SpinLock::new(State { shared: 0, owner: 0, excl_waiters: 0, shared_waiters: 0 }),
            desc,
            data: UnsafeCell::new(v),
        }
    }

    fn ident(&self) -> usize {
        ident_of(self)
    }

    /// Takes the lock exclusively, sleeping while anyone else holds it.
    pub fn exclusive(&self) -> ExclusiveGuard<'_, T> {
        let me = curthread().id();
        loop {
            let mut s = self.state.lock();
            assert!(s.owner != me, "lockmgr {}: recursive exclusive lock", self.desc);
            if s.owner == 0 && s.shared == 0 {
                s.owner = me;
                return ExclusiveGuard { lock: self, _not_send: PhantomData };
            }
            s.excl_waiters += 1;
            tsleep_interlock(self.ident());
            drop(s);
            let _ = tsleep(self.ident(), PINTERLOCKED, self.desc, 0);
            self.state.lock().excl_waiters -= 1;
        }
    }

    /// Takes the lock shared, sleeping while it is held or wanted exclusively.
    pub fn shared(&self) -> SharedGuard<'_, T> {
        loop {
            let mut s = self.state.lock();
            if s.owner == 0 && s.excl_waiters == 0 {
                s.shared += 1;
                return SharedGuard { lock: self, _not_send: PhantomData };
            }
            s.shared_waiters += 1;
            tsleep_interlock(self.ident());
            drop(s);
            let _ = tsleep(self.ident(), PINTERLOCKED, self.desc, 0);
            self.state.lock().shared_waiters -= 1;
        }
    }

    /// Takes the lock exclusively only if that needs no sleep.
    pub fn try_exclusive(&self) -> Option<ExclusiveGuard<'_, T>> {
        let mut s = self.state.lock();
        if s.owner == 0 && s.shared == 0 {
            s.owner = curthread().id();
            Some(ExclusiveGuard { lock: self, _not_send: PhantomData })
        } else {
            None
        }
    }

    fn release_exclusive(&self) {
        let mut s = self.state.lock();
        s.owner = 0;
        let wake = s.excl_waiters + s.shared_waiters > 0;
        drop(s);
        if wake {
            wakeup(self.ident());
        }
    }

    fn release_shared(&self) {
        let mut s = self.state.lock();
        s.shared -= 1;
        let wake = s.shared == 0 && s.excl_waiters > 0;
        drop(s);
        if wake {
            wakeup(self.ident());
        }
    }
}

/// Exclusive access; may be held across blocking.
pub struct ExclusiveGuard<'a, T> {
    lock: &'a LockMgr<T>,
    _not_send: PhantomData<*const ()>,
}

impl<T> core::ops::Deref for ExclusiveGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held exclusively by this guard.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> core::ops::DerefMut for ExclusiveGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in deref.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for ExclusiveGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release_exclusive();
    }
}

/// Shared access; may be held across blocking.
pub struct SharedGuard<'a, T> {
    lock: &'a LockMgr<T>,
    _not_send: PhantomData<*const ()>,
}

impl<T> core::ops::Deref for SharedGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held shared: no exclusive guard exists meanwhile.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> Drop for SharedGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release_shared();
    }
}

mod tests {
    use super::*;
    use crate::lwkt::sched::{create, yield_now};
    use crate::lwkt::thread::pri;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicUsize, Ordering};

    ktest! {
        /// Exclusive holders exclude each other across blocking; readers share; a waiting
        /// writer holds back new readers.
        fn exclusion_across_blocking() {
            let lock = Arc::new(LockMgr::new("test", Vec::<u32>::new()));
            let done = Arc::new(AtomicUsize::new(0));
            for id in 0..4u32 {
                let (l, d) = (lock.clone(), done.clone());
                create("t-lk", pri::KERN_DAEMON, None, move || {
                    for _ in 0..5 {
                        let mut g = l.exclusive();
                        let before = g.len();
                        g.push(id);
                        // Blocking (a yield) while holding: nobody else may get in.
                        yield_now();
                        assert_eq!(g.len(), before + 1, "lockmgr let someone in");
                        drop(g);
                        yield_now();
                    }
                    d.fetch_add(1, Ordering::AcqRel);
                })
                .ok_or("create failed")?;
            }
            for _ in 0..10_000 {
                if done.load(Ordering::Acquire) == 4 {
                    break;
                }
                yield_now();
            }
            kassert_eq!(done.load(Ordering::Acquire), 4);
            kassert_eq!(lock.shared().len(), 20);
            let r1 = lock.shared();
            let r2 = lock.shared();
            kassert!(lock.try_exclusive().is_none(), "exclusive while shared");
            drop((r1, r2));
            kassert!(lock.try_exclusive().is_some(), "not free after readers left");
            Ok(())
        }
    }
}
