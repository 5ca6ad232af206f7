//! A tmpfs regular file's data: sparse pages by index, read back as zeros where never
//! written. Allocation failure is ENOSPC, never a panic.
// The design brief puts a tmpfs file's pages in an anonymous VM object, shared with mmap and
// exec; this page map is where that object plugs in once the VM layer exists.
use abi::errno::{EFBIG, ENOSPC};
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::collections::BTreeMap;
use core::ptr::NonNull;

const PAGE: usize = 4096;
/// Largest file size accepted (Linux's MAX_LFS_FILESIZE on 64-bit).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

struct Page(NonNull<u8>);

// SAFETY: a Page exclusively owns its 4 KiB allocation; moving it between threads moves
// that ownership.
unsafe impl Send for Page {}
// SAFETY: shared access only reads through &self (FileData is behind a spinlock anyway).
unsafe impl Sync for Page {}

impl Page {
    fn layout() -> Layout {
        // A page-sized, page-aligned layout is always valid.
        Layout::from_size_align(PAGE, PAGE).unwrap_or(Layout::new::<u8>())
    }

    fn new() -> Option<Page> {
        // SAFETY: the layout has a non-zero size.
        NonNull::new(unsafe { alloc_zeroed(Self::layout()) }).map(Page)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the allocation is PAGE bytes, owned by self, initialised (zeroed).
        unsafe { core::slice::from_raw_parts(self.0.as_ptr(), PAGE) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in bytes, and &mut self makes it unique.
        unsafe { core::slice::from_raw_parts_mut(self.0.as_ptr(), PAGE) }
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: allocated in Page::new with this layout.
        unsafe { dealloc(self.0.as_ptr(), Self::layout()) };
    }
}

/// A file's bytes.
#[derive(Default)]
pub struct FileData {
    size: u64,
    pages: BTreeMap<u64, Page>,
}

impl FileData {
    /// The file size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of pages actually allocated.
    pub fn allocated(&self) -> u64 {
        (self.pages.len() * PAGE) as u64
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
            match self.pages.get(&idx) {
                Some(p) => buf[done..done + chunk].copy_from_slice(&p.bytes()[in_page..in_page + chunk]),
                None => buf[done..done + chunk].fill(0),
            }
            done += chunk;
        }
        n
    }

    /// Writes at `off`, growing the file; ENOSPC when memory runs out (bytes written so far
    /// stay), EFBIG past the largest file size.
    pub fn write(&mut self, off: u64, buf: &[u8]) -> Result<usize, i32> {
        let end = off.checked_add(buf.len() as u64).filter(|&e| e <= MAX_FILE_SIZE).ok_or(EFBIG)?;
        let mut done = 0;
        while done < buf.len() {
            let pos = off + done as u64;
            let (idx, in_page) = (pos / PAGE as u64, (pos % PAGE as u64) as usize);
            let chunk = (PAGE - in_page).min(buf.len() - done);
            let page = match self.pages.entry(idx) {
                alloc::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                alloc::collections::btree_map::Entry::Vacant(v) => match Page::new() {
                    Some(p) => v.insert(p),
                    None if done > 0 => break,
                    None => return Err(ENOSPC),
                },
            };
            page.bytes_mut()[in_page..in_page + chunk].copy_from_slice(&buf[done..done + chunk]);
            done += chunk;
        }
        self.size = self.size.max(if done == buf.len() { end } else { off + done as u64 });
        Ok(done)
    }

    /// Sets the size: shrinking frees whole pages past the end and zeroes the tail of the last.
    pub fn truncate(&mut self, size: u64) -> Result<(), i32> {
        if size > MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        if size < self.size {
            let first_gone = size.div_ceil(PAGE as u64);
            let _ = self.pages.split_off(&first_gone);
            let tail = (size % PAGE as u64) as usize;
            if tail != 0 {
                if let Some(p) = self.pages.get_mut(&(size / PAGE as u64)) {
                    p.bytes_mut()[tail..].fill(0);
                }
            }
        }
        self.size = size;
        Ok(())
    }
}
