//! Owned page frames for the VM system: a [`Frame`] is one physical page taken from
//! `mem::phys`, reached through the direct map, and freed when dropped. Owning the frame is
//! what makes the byte-copying methods safe to offer: nobody else frees it meanwhile.
//!
//! A frame may be mapped into user address spaces while the kernel copies it, so the methods
//! copy through raw pointers rather than handing out slices (user code may write the page
//! concurrently; the kernel never forms a Rust reference to its bytes).
use super::{phys_to_virt, PAGE};
use crate::mem::phys;

/// One physical page the holder owns.
#[derive(Debug)]
pub struct Frame(u64);

impl Frame {
    /// A zero-filled page, or `None` when memory is exhausted.
    pub fn zeroed() -> Option<Frame> {
        phys::alloc_zeroed().map(Frame)
    }

    /// A page holding a copy of `src`, or `None` when memory is exhausted.
    pub fn copy_of(src: &Frame) -> Option<Frame> {
        let f = Frame(phys::alloc()?);
        // SAFETY: both pages are owned frames (distinct: `f` was just allocated), reached
        // through the direct map; a user thread writing `src` meanwhile can only race with
        // the copy's bytes, which is what copy-on-write of a shared page means anyway.
        unsafe {
            core::ptr::copy_nonoverlapping(
                phys_to_virt(src.0) as *const u8,
                phys_to_virt(f.0) as *mut u8,
                PAGE as usize,
            )
        };
        Some(f)
    }

    /// The physical address.
    pub fn pa(&self) -> u64 {
        self.0
    }

    /// Copies `data` into the page at `offset`. Panics if it does not fit (a kernel bug).
    pub fn write(&self, offset: usize, data: &[u8]) {
        assert!(offset.checked_add(data.len()).is_some_and(|e| e <= PAGE as usize), "Frame::write overflow");
        // SAFETY: the range lies inside this owned page (checked), reached through the direct
        // map; `data` is a kernel buffer that cannot overlap a page the VM owns.
        unsafe {
            core::ptr::copy_nonoverlapping(
                data.as_ptr(),
                (phys_to_virt(self.0) as *mut u8).add(offset),
                data.len(),
            )
        };
    }

    /// Copies bytes of the page from `offset` into `out`. Panics if it does not fit.
    pub fn read(&self, offset: usize, out: &mut [u8]) {
        assert!(offset.checked_add(out.len()).is_some_and(|e| e <= PAGE as usize), "Frame::read overflow");
        // SAFETY: as in `write`, in the other direction.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (phys_to_virt(self.0) as *const u8).add(offset),
                out.as_mut_ptr(),
                out.len(),
            )
        };
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        phys::free(self.0);
    }
}

/// Reads the u64 at byte `offset` of the physical page `pa` (tests that check what user code
/// wrote; `pa` must be a page the caller keeps alive, e.g. one a live mapping shows).
pub fn peek_u64(pa: u64, offset: u64) -> u64 {
    assert!(pa.is_multiple_of(PAGE) && offset.is_multiple_of(8) && offset < PAGE, "peek_u64");
    // SAFETY: an aligned u64 inside a RAM page, reached through the direct map; a volatile
    // read of memory user code may be writing.
    unsafe { ((phys_to_virt(pa) + offset) as *const u64).read_volatile() }
}
