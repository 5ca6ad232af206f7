//! A tmpfs regular file's data: its own VM object from the start, as in DragonFly's tmpfs,
//! so read/write, mmap of the file and exec's page-in all see the same pages. Pages exist
//! only where written (sparse); reads of holes give zeros. The object's pager knows the
//! file's size, so a mapping's access past the last page of the file is SIGBUS, and a hole
//! faults in as a zero page. Allocation failure is ENOSPC, never a panic. Every page that
//! becomes resident in the object is charged to the mount's budget ([`super::budget`]): past
//! a limited mount's size a write is ENOSPC and a mapping's fault SIGBUS.
use super::budget::{FilePages, PageBudget};
use crate::arch::x86_64::pmap::frame::Frame;
use crate::vm::object::{PagerOps, VmObject};
use crate::vm::FaultError;
use abi::errno::{EFBIG, ENOSPC};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

const PAGE: usize = 4096;
/// Largest file size accepted (Linux's MAX_LFS_FILESIZE on 64-bit).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// The pager of a tmpfs file's object: every page the file has lives in the object, so a
/// missing one inside the file is a hole (the zeroed frame as it is); the size is the file's.
/// A fault's page is charged here; none left is ENOSPC (the fault's SIGBUS).
struct HolePager {
    size: Arc<AtomicU64>,
    pages: Arc<FilePages>,
}

impl PagerOps for HolePager {
    fn fill(&self, _pindex: u64, _frame: &Frame) -> Result<(), i32> {
        if !self.pages.charge() {
            return Err(ENOSPC);
        }
        Ok(())
    }

    fn size_pages(&self) -> u64 {
        self.size.load(Ordering::Relaxed).div_ceil(PAGE as u64)
    }

    fn discard(&self, _pindex: u64) {
        self.pages.uncharge(1);
    }
}

/// A file's bytes.
pub struct FileData {
    size: u64,
    /// `size` as the pager reads it (updated with it).
    shared_size: Arc<AtomicU64>,
    object: Arc<VmObject>,
    /// The object's pages on the mount's budget.
    pages: Arc<FilePages>,
}

impl FileData {
    /// An empty file whose pages are charged to `budget`.
    pub fn new(budget: Arc<PageBudget>) -> FileData {
        let shared_size = Arc::new(AtomicU64::new(0));
        let pages = FilePages::new(budget);
        let object = VmObject::file(Arc::new(HolePager { size: shared_size.clone(), pages: pages.clone() }));
        FileData { size: 0, shared_size, object, pages }
    }

    /// The file size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The VM object holding the pages (mmap maps it).
    pub fn object(&self) -> &Arc<VmObject> {
        &self.object
    }

    /// Bytes of pages actually allocated.
    pub fn allocated(&self) -> u64 {
        (self.object.resident() * PAGE) as u64
    }

    /// Reads at `off`.
    pub fn read(&self, off: u64, buf: &mut [u8]) -> usize {
        if off >= self.size {
            return 0;
        }
        let n = buf.len().min((self.size - off) as usize);
        let mut done = 0;
        while done < n {
            let pos = off + done as u64;
            let (idx, in_page) = (pos / PAGE as u64, (pos % PAGE as u64) as usize);
            let chunk = (PAGE - in_page).min(n - done);
            let out = &mut buf[done..done + chunk];
            if self.object.with_page(idx, |f| f.read(in_page, &mut *out)).is_none() {
                out.fill(0);
            }
            done += chunk;
        }
        n
    }

    /// Writes at `off`, growing the file; ENOSPC when memory or the mount's budget runs out
    /// (bytes written so far stay), EFBIG past the largest file size.
    pub fn write(&mut self, off: u64, buf: &[u8]) -> Result<usize, i32> {
        let end = off.checked_add(buf.len() as u64).filter(|&e| e <= MAX_FILE_SIZE).ok_or(EFBIG)?;
        let mut done = 0;
        while done < buf.len() {
            let pos = off + done as u64;
            let (idx, in_page) = (pos / PAGE as u64, (pos % PAGE as u64) as usize);
            let chunk = (PAGE - in_page).min(buf.len() - done);
            // Straight into the object: the page may lie past the current end.
            let pages = &self.pages;
            let made = self.object.get_or_insert_or_lose(
                idx,
                || {
                    if !pages.charge() {
                        return Err(FaultError::OutOfMemory);
                    }
                    Frame::zeroed().ok_or_else(|| {
                        pages.uncharge(1);
                        FaultError::OutOfMemory
                    })
                },
                || pages.uncharge(1),
            );
            if made.is_err() {
                if done > 0 {
                    break;
                }
                return Err(ENOSPC);
            }
            self.object.with_page(idx, |f| f.write(in_page, &buf[done..done + chunk]));
            done += chunk;
        }
        self.set_size(self.size.max(if done == buf.len() { end } else { off + done as u64 }));
        Ok(done)
    }

    /// Sets the size: bytes past the new end read as zeros from now on. Pages past the end
    /// are freed when no mapping can hold them (nothing but this file references the object);
    /// otherwise they are zeroed in place, since without reverse maps a mapped page cannot be
    /// taken away safely.
    pub fn truncate(&mut self, size: u64) -> Result<(), i32> {
        if size > MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        if size < self.size {
            let first_gone = size.div_ceil(PAGE as u64);
            let last = self.size.div_ceil(PAGE as u64);
            if Arc::strong_count(&self.object) == 1 {
                let freed = self.object.free_range(first_gone, last);
                self.pages.uncharge(freed);
            } else {
                let zeros = [0u8; PAGE];
                for idx in first_gone..last {
                    self.object.with_page(idx, |f| f.write(0, &zeros));
                }
            }
            let tail = (size % PAGE as u64) as usize;
            if tail != 0 {
                let zeros = [0u8; PAGE];
                self.object.with_page(size / PAGE as u64, |f| f.write(tail, &zeros[tail..]));
            }
        }
        self.set_size(size);
        Ok(())
    }

    fn set_size(&mut self, size: u64) {
        self.size = size;
        self.shared_size.store(size, Ordering::Relaxed);
    }
}
