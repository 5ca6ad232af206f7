//! Fallible containers for paths that must survive allocation failure (stable Rust has no
//! `Box::try_new` or allocator API): a box and a vector over kmalloc that return
//! `Err(AllocError)` instead of panicking, charged to a malloc type of the caller's choice.
use super::kmalloc::{kfree, kmalloc_aligned, M_NULLOK};
use super::malloc_type::{MallocType, M_KMALLOC};
use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

/// The allocation could not be satisfied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocError;

fn raw_alloc<T>(n: usize, mtype: &'static MallocType) -> Result<NonNull<T>, AllocError> {
    if size_of::<T>() == 0 || n == 0 {
        return Ok(NonNull::dangling());
    }
    let bytes = size_of::<T>().checked_mul(n).ok_or(AllocError)?;
    let p = kmalloc_aligned(bytes, align_of::<T>(), mtype, M_NULLOK);
    NonNull::new(p as *mut T).ok_or(AllocError)
}

/// # Safety
/// `p` came from `raw_alloc::<T>(n, mtype)` with the same `n` and `mtype`.
unsafe fn raw_free<T>(p: NonNull<T>, n: usize, mtype: &'static MallocType) {
    if size_of::<T>() != 0 && n != 0 {
        // SAFETY: the caller's contract.
        unsafe { kfree(p.as_ptr() as *mut u8, mtype) };
    }
}

/// A box whose allocation may fail.
pub struct FBox<T> {
    ptr: NonNull<T>,
    mtype: &'static MallocType,
    _own: PhantomData<T>,
}

// SAFETY: FBox owns its T like Box does.
unsafe impl<T: Send> Send for FBox<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for FBox<T> {}

impl<T> FBox<T> {
    /// Boxes `v` (charged to M_KMALLOC), or gives it back with the error.
    pub fn try_new(v: T) -> Result<FBox<T>, (AllocError, T)> {
        FBox::try_new_in(v, &M_KMALLOC)
    }

    /// Boxes `v` charged to `mtype`.
    pub fn try_new_in(v: T, mtype: &'static MallocType) -> Result<FBox<T>, (AllocError, T)> {
        match raw_alloc::<T>(1, mtype) {
            Ok(ptr) => {
                // SAFETY: fresh, aligned, sized for one T.
                unsafe { ptr.as_ptr().write(v) };
                Ok(FBox { ptr, mtype, _own: PhantomData })
            }
            Err(e) => Err((e, v)),
        }
    }

    /// Gives up ownership; [`FBox::from_raw`] takes it back.
    pub fn into_raw(b: FBox<T>) -> (NonNull<T>, &'static MallocType) {
        let r = (b.ptr, b.mtype);
        core::mem::forget(b);
        r
    }

    /// Re-owns a box given up with [`FBox::into_raw`].
    ///
    /// # Safety
    /// `ptr` and `mtype` came from `into_raw` and are not used again.
    pub unsafe fn from_raw(ptr: NonNull<T>, mtype: &'static MallocType) -> FBox<T> {
        FBox { ptr, mtype, _own: PhantomData }
    }
}

impl<T> Deref for FBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: ptr holds an initialised T we own.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for FBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in deref; &mut self makes it unique.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for FBox<T> {
    fn drop(&mut self) {
        // SAFETY: we own an initialised T from raw_alloc::<T>(1, mtype).
        unsafe {
            core::ptr::drop_in_place(self.ptr.as_ptr());
            raw_free(self.ptr, 1, self.mtype);
        }
    }
}

/// A vector whose growth may fail.
pub struct FVec<T> {
    ptr: NonNull<T>,
    len: usize,
    cap: usize,
    mtype: &'static MallocType,
    _own: PhantomData<T>,
}

// SAFETY: FVec owns its elements like Vec does.
unsafe impl<T: Send> Send for FVec<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for FVec<T> {}

impl<T> FVec<T> {
    /// Empty, charged to M_KMALLOC; allocates nothing.
    pub const fn new() -> FVec<T> {
        FVec::new_in(&M_KMALLOC)
    }

    /// Empty, charged to `mtype`; allocates nothing.
    pub const fn new_in(mtype: &'static MallocType) -> FVec<T> {
        FVec {
            ptr: NonNull::dangling(),
            len: 0,
            cap: if size_of::<T>() == 0 { usize::MAX } else { 0 },
            mtype,
            _own: PhantomData,
        }
    }

    /// Room for `cap` elements, charged to `mtype`.
    pub fn try_with_capacity_in(cap: usize, mtype: &'static MallocType) -> Result<FVec<T>, AllocError> {
        let mut v = FVec::new_in(mtype);
        v.try_reserve_exact(cap)?;
        Ok(v)
    }

    /// Elements held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Elements it can hold without growing.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Makes room for `additional` more elements, exactly.
    pub fn try_reserve_exact(&mut self, additional: usize) -> Result<(), AllocError> {
        let need = self.len.checked_add(additional).ok_or(AllocError)?;
        if need <= self.cap {
            return Ok(());
        }
        let p = raw_alloc::<T>(need, self.mtype)?;
        // SAFETY: both regions hold at least len elements and do not overlap; the old
        // allocation is freed after its elements moved.
        unsafe {
            core::ptr::copy_nonoverlapping(self.ptr.as_ptr(), p.as_ptr(), self.len);
            raw_free(self.ptr, self.cap, self.mtype);
        }
        self.ptr = p;
        self.cap = need;
        Ok(())
    }

    /// Appends `v`, growing by doubling; on failure gives `v` back.
    pub fn try_push(&mut self, v: T) -> Result<(), (AllocError, T)> {
        if self.len == self.cap {
            let grow = self.cap.max(4);
            if let Err(e) = self.try_reserve_exact(grow) {
                return Err((e, v));
            }
        }
        // SAFETY: len < cap: the slot is allocated and unused.
        unsafe { self.ptr.as_ptr().add(self.len).write(v) };
        self.len += 1;
        Ok(())
    }

    /// Appends `v` only if it fits without growing (never allocates).
    pub fn push_within_capacity(&mut self, v: T) -> Result<(), T> {
        if self.len == self.cap {
            return Err(v);
        }
        // SAFETY: as in try_push.
        unsafe { self.ptr.as_ptr().add(self.len).write(v) };
        self.len += 1;
        Ok(())
    }

    /// Removes the last element.
    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: the slot held an initialised element, now logically moved out.
        Some(unsafe { self.ptr.as_ptr().add(self.len).read() })
    }
}

impl<T> Default for FVec<T> {
    fn default() -> FVec<T> {
        FVec::new()
    }
}

impl<T> Deref for FVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: the first len slots are initialised.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> DerefMut for FVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in deref; &mut self makes it unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> Drop for FVec<T> {
    fn drop(&mut self) {
        // SAFETY: the first len slots are initialised and ours; the buffer came from
        // raw_alloc with this capacity.
        unsafe {
            core::ptr::drop_in_place(core::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len));
            if size_of::<T>() != 0 {
                raw_free(self.ptr, self.cap, self.mtype);
            }
        }
    }
}
