//! mpipe (DragonFly's kern_mpipe.c): a pool of preallocated buffers for paths that must make
//! progress when memory is short.
//!
//! `nnom` buffers are allocated up front and kept; up to `nmax` may exist at once (the rest
//! come from a non-blocking kmalloc). `alloc_nowait` takes a kept buffer or allocates one
//! below the cap; `alloc_waitok` sleeps until a buffer comes back; freeing refills the kept
//! array first and wakes sleepers.
use super::fallible::{AllocError, FVec};
use super::kmalloc::{kfree, kmalloc_aligned, M_NOWAIT};
use super::malloc_type::{MallocType, M_MPIPE};
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

struct Inner {
    /// Kept buffers (capacity `nnom`, never grows).
    free: FVec<NonNull<u8>>,
    /// Buffers that exist (kept plus handed out).
    total: usize,
}

// SAFETY: the pointers are kmalloc buffers owned by the pipe; moving them between threads
// is moving ownership.
unsafe impl Send for Inner {}

/// A pipe of `bytes`-sized buffers.
pub struct MPipe {
    bytes: usize,
    nnom: usize,
    nmax: usize,
    mtype: &'static MallocType,
    inner: SpinLock<Inner>,
    /// Times `alloc_waitok` slept.
    sleeps: AtomicU64,
}

/// A buffer from an [`MPipe`]; going out of scope gives it back.
pub struct MpBuf<'a> {
    pipe: &'a MPipe,
    ptr: NonNull<u8>,
}

impl MPipe {
    /// A pipe with `nnom` buffers of `bytes` allocated now (charged to `mtype`) and at most
    /// `nmax` at once.
    pub fn new(
        bytes: usize,
        nnom: usize,
        nmax: usize,
        mtype: &'static MallocType,
    ) -> Result<MPipe, AllocError> {
        let nmax = nmax.max(nnom);
        let mut free = FVec::try_with_capacity_in(nnom, &M_MPIPE)?;
        for _ in 0..nnom {
            let p = NonNull::new(kmalloc_aligned(bytes.max(1), 16, mtype, M_NOWAIT));
            match p {
                Some(p) => {
                    let _ = free.push_within_capacity(p);
                }
                None => {
                    while let Some(p) = free.pop() {
                        // SAFETY: allocated just above with this type, not handed out.
                        unsafe { kfree(p.as_ptr(), mtype) };
                    }
                    return Err(AllocError);
                }
            }
        }
        Ok(MPipe {
            bytes,
            nnom,
            nmax,
            mtype,
            inner: SpinLock::new(Inner { free, total: nnom }),
            sleeps: AtomicU64::new(0),
        })
    }

    /// A buffer now, or `None` when the pipe is at its cap (or kmalloc failed).
    pub fn alloc_nowait(&self) -> Option<MpBuf<'_>> {
        {
            let mut g = self.inner.lock();
            if let Some(p) = g.free.pop() {
                return Some(MpBuf { pipe: self, ptr: p });
            }
            if g.total >= self.nmax {
                return None;
            }
            g.total += 1;
        }
        match NonNull::new(kmalloc_aligned(self.bytes.max(1), 16, self.mtype, M_NOWAIT)) {
            Some(p) => Some(MpBuf { pipe: self, ptr: p }),
            None => {
                self.inner.lock().total -= 1;
                None
            }
        }
    }

    /// A buffer, sleeping until one is freed if the pipe is at its cap.
    pub fn alloc_waitok(&self) -> MpBuf<'_> {
        loop {
            if let Some(b) = self.alloc_nowait() {
                return b;
            }
            let g = self.inner.lock();
            tsleep_interlock(ident_of(self));
            if !g.free.is_empty() || g.total < self.nmax {
                drop(g);
                crate::lwkt::sleep::tsleep_cancel();
                continue;
            }
            drop(g);
            self.sleeps.fetch_add(1, Ordering::Relaxed);
            let _ = tsleep(ident_of(self), PINTERLOCKED, "mpipe", 0);
        }
    }

    fn free(&self, p: NonNull<u8>) {
        let extra = {
            let mut g = self.inner.lock();
            match g.free.push_within_capacity(p) {
                Ok(()) => None,
                Err(p) => {
                    g.total -= 1;
                    Some(p)
                }
            }
        };
        if let Some(p) = extra {
            // SAFETY: a buffer of this pipe, allocated with its type, no longer used.
            unsafe { kfree(p.as_ptr(), self.mtype) };
        }
        wakeup(ident_of(self));
    }

    /// (kept buffers, buffers in existence, times a waiter slept).
    pub fn counts(&self) -> (usize, usize, u64) {
        let g = self.inner.lock();
        (g.free.len(), g.total, self.sleeps.load(Ordering::Relaxed))
    }

    /// Buffers kept preallocated.
    pub fn nominal(&self) -> usize {
        self.nnom
    }
}

impl Drop for MPipe {
    fn drop(&mut self) {
        let mut g = self.inner.lock();
        while let Some(p) = g.free.pop() {
            // SAFETY: kept buffers are ours, allocated with this type.
            unsafe { kfree(p.as_ptr(), self.mtype) };
        }
    }
}

impl MpBuf<'_> {
    /// The buffer's bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the buffer holds `bytes` bytes and is ours until dropped.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.pipe.bytes) }
    }
}

impl Drop for MpBuf<'_> {
    fn drop(&mut self) {
        self.pipe.free(self.ptr);
    }
}
