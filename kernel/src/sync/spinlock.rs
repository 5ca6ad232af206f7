//! Spinlocks (DragonFly's kern_spinlock.c). Holding one implies a critical section, so no
//! interrupt handler on this CPU can spin on a lock its own interrupted thread holds, and the
//! holder never switches (the switch asserts no spinlock is held). Contended acquisition backs
//! off exponentially and counts its collisions.
use crate::lwkt::crit::{crit_enter, crit_exit};
use crate::lwkt::globaldata::mycpu;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Data behind a spinlock.
pub struct SpinLock<T> {
    locked: AtomicBool,
    collisions: AtomicU64,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through a guard, which exists only while `locked` is held.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: moving the lock moves the data; no thread can hold a guard across the move.
unsafe impl<T: Send> Send for SpinLock<T> {}

/// Most pauses between two attempts.
const BACKOFF_MAX: u32 = 1024;

impl<T> SpinLock<T> {
    /// An unlocked spinlock.
    pub const fn new(v: T) -> SpinLock<T> {
        SpinLock { locked: AtomicBool::new(false), collisions: AtomicU64::new(0), data: UnsafeCell::new(v) }
    }

    /// Takes the lock (and a critical section).
    pub fn lock(&self) -> SpinGuard<'_, T> {
        crit_enter();
        let mut backoff = 1;
        let mut contended = false;
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            if !contended {
                contended = true;
                self.collisions.fetch_add(1, Ordering::Relaxed);
            }
            // Under TCG PAUSE does not give the host core away; the backoff keeps a waiter
            // from hammering the line the holder needs.
            for _ in 0..backoff {
                core::hint::spin_loop();
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        mycpu().spinlocks.fetch_add(1, Ordering::Relaxed);
        SpinGuard { lock: self, _not_send: PhantomData }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<SpinGuard<'_, T>> {
        crit_enter();
        if self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            mycpu().spinlocks.fetch_add(1, Ordering::Relaxed);
            Some(SpinGuard { lock: self, _not_send: PhantomData })
        } else {
            crit_exit();
            None
        }
    }

    /// Times `lock` found the lock held.
    pub fn collisions(&self) -> u64 {
        self.collisions.load(Ordering::Relaxed)
    }
}

/// Holds a spinlock; releases it and the critical section when dropped.
pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
    _not_send: PhantomData<*const ()>,
}

impl<T> core::ops::Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held for the guard's lifetime.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> core::ops::DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in deref, and &mut self makes the access unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        mycpu().spinlocks.fetch_sub(1, Ordering::Relaxed);
        self.lock.locked.store(false, Ordering::Release);
        crit_exit();
    }
}
