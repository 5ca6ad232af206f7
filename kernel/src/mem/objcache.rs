//! objcache (DragonFly's kern_objcache.c): Bonwick-style magazines of constructed objects.
//!
//! Each CPU has a loaded and a previous magazine, touched only by that CPU in a critical
//! section; behind them a spinlocked depot holds full and empty magazines and the budget of
//! objects not yet constructed. `get` pops the loaded magazine, else swaps in the previous
//! one, else trades an empty magazine for a full one from the depot, else constructs a new
//! object within the budget, else waits (or fails). `put` mirrors it; with no room anywhere it
//! destroys the object and returns its budget. Cached objects stay constructed, so the
//! constructor and destructor run only at the edges.
use super::fallible::FVec;
use super::malloc_type::M_OBJCACHE;
use crate::lwkt::cpulocal::CpuLocal;
use crate::lwkt::crit::crit;
use crate::lwkt::globaldata::{mycpu, MAXCPU};
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A magazine: a fixed-capacity stack of objects.
type Mag<T> = FVec<T>;

struct CpuMags<T> {
    loaded: Mag<T>,
    previous: Mag<T>,
}

struct Depot<T> {
    full: FVec<Mag<T>>,
    empty: FVec<Mag<T>>,
    /// Objects that may still be constructed (the budget).
    unallocated: usize,
}

/// Constructor/destructor and use counters.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Objects constructed.
    pub ctors: u64,
    /// Objects destroyed.
    pub dtors: u64,
    /// Objects handed out by `get`.
    pub gets: u64,
    /// Objects given back by `put`.
    pub puts: u64,
}

/// An object cache of `T`s. Define as a static with [`ObjCache::new`].
pub struct ObjCache<T: Send> {
    name: &'static str,
    mag_capacity: usize,
    ctor: fn() -> Option<T>,
    dtor: fn(T),
    pcpu: [CpuLocal<CpuMags<T>>; MAXCPU],
    depot: SpinLock<Depot<T>>,
    waiters: AtomicUsize,
    ctors: AtomicU64,
    dtors: AtomicU64,
    gets: AtomicU64,
    puts: AtomicU64,
}

/// Whether `get` may sleep for the budget.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
    /// Fail instead of sleeping.
    NoWait,
    /// Sleep until an object is put back.
    WaitOk,
}

impl<T: Send> ObjCache<T> {
    /// A cache whose magazines hold `mag_capacity` objects and which constructs at most
    /// `limit` objects at once (`usize::MAX`: unlimited). `ctor` builds an object (`None`
    /// when memory is short), `dtor` destroys one.
    pub const fn new(
        name: &'static str,
        limit: usize,
        mag_capacity: usize,
        ctor: fn() -> Option<T>,
        dtor: fn(T),
    ) -> ObjCache<T> {
        ObjCache {
            name,
            mag_capacity,
            ctor,
            dtor,
            pcpu: [const {
                CpuLocal::new(CpuMags {
                    loaded: FVec::new_in(&M_OBJCACHE),
                    previous: FVec::new_in(&M_OBJCACHE),
                })
            }; MAXCPU],
            depot: SpinLock::new(Depot {
                full: FVec::new_in(&M_OBJCACHE),
                empty: FVec::new_in(&M_OBJCACHE),
                unallocated: limit,
            }),
            waiters: AtomicUsize::new(0),
            ctors: AtomicU64::new(0),
            dtors: AtomicU64::new(0),
            gets: AtomicU64::new(0),
            puts: AtomicU64::new(0),
        }
    }

    /// The cache's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Threads sleeping in `get` for budget.
    pub fn waiters(&self) -> usize {
        self.waiters.load(Ordering::Acquire)
    }

    /// Counters so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            ctors: self.ctors.load(Ordering::Relaxed),
            dtors: self.dtors.load(Ordering::Relaxed),
            gets: self.gets.load(Ordering::Relaxed),
            puts: self.puts.load(Ordering::Relaxed),
        }
    }

    /// This CPU's magazines.
    ///
    /// # Safety
    /// In a critical section, and no other reference from this cache's `pcpu` alive.
    #[allow(clippy::mut_from_ref)]
    unsafe fn mags(&self) -> &mut CpuMags<T> {
        // SAFETY: the caller's contract is CpuLocal::get's (own CPU, critical section).
        unsafe { self.pcpu[mycpu().cpuid].get() }
    }

    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes an object: cached if any, else newly constructed within the budget, else it
    /// sleeps (`WaitOk`) or fails (`NoWait`, or when the constructor fails).
    pub fn get(&self, wait: Wait) -> Option<T> {
        loop {
            {
                let _c = crit();
                // SAFETY: critical section, one reference.
                let m = unsafe { self.mags() };
                if let Some(o) = m.loaded.pop() {
                    Self::bump(&self.gets);
                    return Some(o);
                }
                if !m.previous.is_empty() {
                    core::mem::swap(&mut m.loaded, &mut m.previous);
                    Self::bump(&self.gets);
                    return m.loaded.pop();
                }
                let mut d = self.depot.lock();
                if let Some(full) = d.full.pop() {
                    // Loaded and previous are both empty: previous goes to the depot's empty
                    // list, loaded becomes previous, the full one is loaded.
                    let empty = core::mem::replace(&mut m.previous, core::mem::replace(&mut m.loaded, full));
                    if empty.capacity() != 0 {
                        if let Err((_, e)) = d.empty.try_push(empty) {
                            drop(d);
                            drop(e);
                            Self::bump(&self.gets);
                            return m.loaded.pop();
                        }
                    }
                    Self::bump(&self.gets);
                    return m.loaded.pop();
                }
                if d.unallocated > 0 {
                    d.unallocated -= 1;
                } else if wait == Wait::NoWait {
                    return None;
                } else {
                    // Interlock under the depot lock, so a put that returns budget after we
                    // drop it cannot be missed.
                    self.waiters.fetch_add(1, Ordering::AcqRel);
                    tsleep_interlock(ident_of(self));
                    drop(d);
                    drop(_c);
                    let _ = tsleep(ident_of(self), PINTERLOCKED, "objcache", 0);
                    self.waiters.fetch_sub(1, Ordering::AcqRel);
                    continue;
                }
            }
            // Construct outside the critical section: the constructor may take locks and
            // page allocations of its own.
            return match (self.ctor)() {
                Some(o) => {
                    Self::bump(&self.ctors);
                    Self::bump(&self.gets);
                    Some(o)
                }
                None => {
                    self.depot.lock().unallocated += 1;
                    None
                }
            };
        }
    }

    /// Gives an object back (still constructed).
    pub fn put(&self, o: T) {
        Self::bump(&self.puts);
        if self.waiters.load(Ordering::Acquire) > 0 {
            // Someone sleeps for budget: objects cached on this CPU would be invisible to
            // it, so destroy this one and hand the budget over.
            self.destroy(o);
            return;
        }
        let c = crit();
        // SAFETY: critical section, one reference.
        let m = unsafe { self.mags() };
        let o = match m.loaded.push_within_capacity(o) {
            Ok(()) => return,
            Err(o) => o,
        };
        if m.previous.len() < m.previous.capacity() {
            core::mem::swap(&mut m.loaded, &mut m.previous);
            if let Err(o) = m.loaded.push_within_capacity(o) {
                drop(c);
                self.destroy(o);
            }
            return;
        }
        // Both full (or not there yet): trade the loaded one for an empty magazine.
        let mut d = self.depot.lock();
        let empty = match d.empty.pop() {
            Some(e) => e,
            None => {
                drop(d);
                match FVec::try_with_capacity_in(self.mag_capacity, &M_OBJCACHE) {
                    Ok(e) => {
                        d = self.depot.lock();
                        e
                    }
                    Err(_) => {
                        drop(c);
                        self.destroy(o);
                        return;
                    }
                }
            }
        };
        let old = core::mem::replace(&mut m.loaded, empty);
        if !old.is_empty() {
            if let Err((_, old)) = d.full.try_push(old) {
                let e = core::mem::replace(&mut m.loaded, old);
                let _ = d.empty.try_push(e);
                drop(d);
                drop(c);
                self.destroy(o);
                return;
            }
        }
        drop(d);
        if let Err(o) = m.loaded.push_within_capacity(o) {
            drop(c);
            self.destroy(o);
        }
    }

    fn destroy(&self, o: T) {
        (self.dtor)(o);
        Self::bump(&self.dtors);
        self.depot.lock().unallocated += 1;
        wakeup(ident_of(self));
    }

    /// Destroys every object cached in the depot and on this CPU (memory reclaim, tests).
    pub fn drain_local(&self) {
        let (a, b, mut full) = {
            let _c = crit();
            // SAFETY: critical section, one reference.
            let m = unsafe { self.mags() };
            let a = core::mem::replace(&mut m.loaded, FVec::new_in(&M_OBJCACHE));
            let b = core::mem::replace(&mut m.previous, FVec::new_in(&M_OBJCACHE));
            let mut d = self.depot.lock();
            let full = core::mem::replace(&mut d.full, FVec::new_in(&M_OBJCACHE));
            d.empty = FVec::new_in(&M_OBJCACHE);
            (a, b, full)
        };
        for mut mag in [a, b] {
            while let Some(o) = mag.pop() {
                self.destroy(o);
            }
        }
        while let Some(mut mag) = full.pop() {
            while let Some(o) = mag.pop() {
                self.destroy(o);
            }
        }
    }
}
