//! Malloc types (DragonFly's `struct malloc_type`, `MALLOC_DEFINE`): every kmalloc names
//! the family of allocation sites it serves, and each type keeps per-CPU statistics.
//!
//! Statistics move on the CPU doing the operation (a free on another CPU than the
//! allocation makes one CPU's figures negative), so only the sum over CPUs means anything.
//! Each CPU writes only its own slot, with plain relaxed loads and stores (no locked
//! instruction): the caller is in a critical section on that CPU. The high-water mark is
//! refreshed from the sum every 64 KiB of local growth and whenever the totals are read.
use crate::lwkt::globaldata::MAXCPU;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, Ordering};

/// Local growth after which the high-water mark is refreshed from the sum over CPUs.
const LOOSE_STEP: i64 = 64 * 1024;

#[repr(align(64))]
struct CpuUse {
    /// Bytes in use (net, this CPU's operations).
    memuse: AtomicI64,
    /// Objects in use (net).
    inuse: AtomicI64,
    /// kmalloc calls.
    calls: AtomicU64,
    /// Growth since the last high-water refresh.
    loose: AtomicI64,
}

/// One malloc type. Define them as statics with [`MallocType::new`].
pub struct MallocType {
    /// Short name (`ks_shortdesc`).
    pub name: &'static str,
    /// Most bytes in use at once (0: no limit); over it, kmalloc fails (or panics).
    pub limit: u64,
    pcpu: [CpuUse; MAXCPU],
    high_water: AtomicU64,
    registered: AtomicBool,
    next: AtomicPtr<MallocType>,
}

/// Summed statistics of one type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TypeStats {
    /// Bytes in use.
    pub memuse: i64,
    /// Objects in use.
    pub inuse: i64,
    /// kmalloc calls so far.
    pub calls: u64,
    /// High-water mark of `memuse` (refreshed loosely, see the module doc).
    pub high_water: u64,
}

/// Every type that has been used, newest first (for a later sysctl/vmstat -m).
static TYPES: AtomicPtr<MallocType> = AtomicPtr::new(core::ptr::null_mut());

#[inline]
fn add_i(a: &AtomicI64, d: i64) {
    a.store(a.load(Ordering::Relaxed).wrapping_add(d), Ordering::Relaxed);
}

impl MallocType {
    /// A type with no limit.
    pub const fn new(name: &'static str) -> MallocType {
        MallocType::with_limit(name, 0)
    }

    /// A type whose bytes in use may not pass `limit`.
    pub const fn with_limit(name: &'static str, limit: u64) -> MallocType {
        MallocType {
            name,
            limit,
            pcpu: [const {
                CpuUse {
                    memuse: AtomicI64::new(0),
                    inuse: AtomicI64::new(0),
                    calls: AtomicU64::new(0),
                    loose: AtomicI64::new(0),
                }
            }; MAXCPU],
            high_water: AtomicU64::new(0),
            registered: AtomicBool::new(false),
            next: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    fn register(&'static self) {
        if self.registered.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self as *const MallocType as *mut MallocType;
        let mut head = TYPES.load(Ordering::Acquire);
        loop {
            self.next.store(head, Ordering::Relaxed);
            match TYPES.compare_exchange_weak(head, me, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    /// True if `bytes` more would pass the limit.
    pub(super) fn over_limit(&self, bytes: usize) -> bool {
        self.limit != 0 && self.sum_memuse().saturating_add(bytes as i64) > self.limit as i64
    }

    fn sum_memuse(&self) -> i64 {
        self.pcpu.iter().map(|u| u.memuse.load(Ordering::Relaxed)).sum()
    }

    /// Accounts an allocation of `bytes` on `cpu`. Caller: on `cpu`, in a critical section.
    #[inline]
    pub(super) fn account_alloc(&'static self, cpu: usize, bytes: usize) {
        if !self.registered.load(Ordering::Relaxed) {
            self.register();
        }
        let u = &self.pcpu[cpu];
        add_i(&u.memuse, bytes as i64);
        add_i(&u.inuse, 1);
        u.calls.store(u.calls.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        let loose = u.loose.load(Ordering::Relaxed) + bytes as i64;
        if loose >= LOOSE_STEP {
            u.loose.store(0, Ordering::Relaxed);
            self.refresh_high_water();
        } else {
            u.loose.store(loose, Ordering::Relaxed);
        }
    }

    /// Accounts a free of `bytes` on `cpu`. Caller: on `cpu`, in a critical section.
    #[inline]
    pub(super) fn account_free(&self, cpu: usize, bytes: usize) {
        let u = &self.pcpu[cpu];
        add_i(&u.memuse, -(bytes as i64));
        add_i(&u.inuse, -1);
        add_i(&u.loose, -(bytes as i64));
    }

    fn refresh_high_water(&self) -> i64 {
        let m = self.sum_memuse();
        self.high_water.fetch_max(m.max(0) as u64, Ordering::Relaxed);
        m
    }

    /// The statistics summed over CPUs.
    pub fn stats(&self) -> TypeStats {
        let memuse = self.refresh_high_water();
        TypeStats {
            memuse,
            inuse: self.pcpu.iter().map(|u| u.inuse.load(Ordering::Relaxed)).sum(),
            calls: self.pcpu.iter().map(|u| u.calls.load(Ordering::Relaxed)).sum(),
            high_water: self.high_water.load(Ordering::Relaxed),
        }
    }
}

/// Calls `f` on every type used so far.
pub fn for_each_type(mut f: impl FnMut(&'static MallocType)) {
    let mut p = TYPES.load(Ordering::Acquire);
    while !p.is_null() {
        // SAFETY: only &'static MallocType are ever linked (register takes &'static self).
        let t: &'static MallocType = unsafe { &*p };
        f(t);
        p = t.next.load(Ordering::Acquire);
    }
}

/// What the global allocator (Box, Vec, Arc...) is charged to.
pub static M_KMALLOC: MallocType = MallocType::new("kmalloc");
/// Short-lived buffers.
pub static M_TEMP: MallocType = MallocType::new("temp");
/// Device driver memory.
#[allow(dead_code)] // For the device framework, which lands later.
pub static M_DEVBUF: MallocType = MallocType::new("devbuf");
/// Thread structures and kernel stacks.
#[allow(dead_code)] // For the process layer's thread structures, which land later.
pub static M_THREAD: MallocType = MallocType::new("thread");
/// objcache magazines.
pub static M_OBJCACHE: MallocType = MallocType::new("objcache");
/// mpipe buffer arrays.
pub static M_MPIPE: MallocType = MallocType::new("mpipe");
