//! VM tests without user mode: the user pmap's own operations, argument validation of the
//! mmap family (every bad argument an errno), brk, fork inheritance flags.
use super::mmap::{brk, madvise, mmap, mmap_anon, mprotect, mremap, munmap, set_brk_base, MapSource};
use super::object::{PagerOps, VmObject};
use super::vmspace::VmSpace;
use super::Prot;
use super::{fault, Access, FaultError, PAGE, USER_MAX};
use crate::arch::x86_64::pmap::frame::Frame;
use crate::arch::x86_64::pmap::user::{UserPmap, UserProt};
use crate::mem::phys;
use crate::{kassert, kassert_eq, ktest};
use abi::errno::*;
use abi::mman::*;
use alloc::sync::Arc;

/// A failed kernel operation as a test failure.
fn errno(e: i32) -> crate::ktest::Failure {
    alloc::format!("errno {e}").into()
}

const RW: u64 = PROT_READ | PROT_WRITE;
const PRIV: u64 = MAP_PRIVATE | MAP_ANONYMOUS;

ktest! {
    /// A user pmap maps, protects and removes pages, shares the kernel half, and gives
    /// every table page back when dropped.
    fn user_pmap_map_protect_remove() {
        let before = phys::counts().0;
        {
            let pm = UserPmap::new().ok_or("no pmap")?;
            let f = Frame::zeroed().ok_or("no page")?;
            let va = 0x7000_1000;
            pm.enter(va, f.pa(), UserProt { write: true, exec: false }).map_err(|_| "enter")?;
            pm.enter(0x100_0000_0000, f.pa(), UserProt { write: false, exec: true }).map_err(|_| "enter")?;
            kassert_eq!(pm.extract(va), Some((f.pa(), UserProt { write: true, exec: false })));
            kassert_eq!(pm.counts(), (6, 2));
            pm.protect(0, USER_MAX, UserProt { write: false, exec: false });
            kassert_eq!(pm.extract(va), Some((f.pa(), UserProt { write: false, exec: false })));
            kassert_eq!(pm.extract(0x100_0000_0000).map(|x| x.1.exec), Some(false));
            kassert_eq!(pm.remove(0, USER_MAX), 2);
            kassert_eq!(pm.extract(va), None);
            kassert_eq!(pm.counts().1, 0);
        }
        kassert_eq!(phys::counts().0, before);
        Ok(())
    }
}

ktest! {
    /// mmap rejects bad arguments with Linux's errno and places what it accepts.
    fn mmap_argument_errors() {
        let vs = VmSpace::new().map_err(errno)?;
        kassert_eq!(mmap_anon(&vs, 0, 0, RW, PRIV), Err(EINVAL));
        kassert_eq!(mmap_anon(&vs, 0, PAGE, RW, MAP_ANONYMOUS), Err(EINVAL));
        kassert_eq!(mmap_anon(&vs, 0, PAGE, RW, 0xf | MAP_ANONYMOUS), Err(EINVAL));
        kassert_eq!(mmap_anon(&vs, 0, PAGE, 0x80, PRIV), Err(EINVAL));
        kassert_eq!(mmap_anon(&vs, 0, u64::MAX, RW, PRIV), Err(ENOMEM));
        kassert_eq!(mmap_anon(&vs, 0, 1 << 47, RW, PRIV), Err(ENOMEM));
        kassert_eq!(mmap_anon(&vs, 0x1001, PAGE, RW, PRIV | MAP_FIXED), Err(EINVAL));
        kassert_eq!(mmap_anon(&vs, 0x1000, PAGE, RW, PRIV | MAP_FIXED), Err(EPERM));
        kassert_eq!(mmap_anon(&vs, USER_MAX, PAGE, RW, PRIV | MAP_FIXED), Err(ENOMEM));
        kassert_eq!(mmap_anon(&vs, u64::MAX - 4095, PAGE, RW, PRIV | MAP_FIXED), Err(ENOMEM));
        kassert_eq!(mmap_anon(&vs, 0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN), Err(EINVAL));
        kassert_eq!(mmap_anon(&vs, 0, PAGE, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 1 << 22), Err(EOPNOTSUPP));
        kassert_eq!(mmap_anon(&vs, 0, PAGE, RW, PRIV | MAP_HUGETLB), Err(ENOMEM));
        let a = mmap_anon(&vs, 0x1000_0000, 3 * PAGE, RW, PRIV | MAP_FIXED).map_err(errno)?;
        kassert_eq!(a, 0x1000_0000);
        kassert_eq!(mmap_anon(&vs, a + PAGE, PAGE, RW, PRIV | MAP_FIXED_NOREPLACE), Err(EEXIST));
        // A hint that is taken is honoured; an occupied one is not.
        kassert_eq!(mmap_anon(&vs, 0x2000_0000, PAGE, RW, PRIV), Ok(0x2000_0000));
        let b = mmap_anon(&vs, a, PAGE, RW, PRIV).map_err(errno)?;
        kassert!(b != a && b % PAGE == 0 && b + PAGE <= USER_MAX, "placed at {:#x}", b);
        let low = mmap_anon(&vs, 0, PAGE, RW, PRIV | MAP_32BIT).map_err(errno)?;
        kassert!((0x4000_0000..0x8000_0000).contains(&low), "MAP_32BIT at {:#x}", low);
        // MAP_FIXED replaces: the middle of a splits off.
        kassert_eq!(mmap_anon(&vs, a + PAGE, PAGE, PROT_READ, PRIV | MAP_FIXED), Ok(a + PAGE));
        kassert_eq!(vs.entry_at(a + PAGE).map(|e| (e.start, e.end)), Some((a + PAGE, a + 2 * PAGE)));
        kassert_eq!(vs.entry_at(a).map(|e| e.end), Some(a + PAGE));
        Ok(())
    }
}

ktest! {
    /// munmap, mprotect, mremap and madvise validation.
    fn unmap_protect_remap_advise_errors() {
        let vs = VmSpace::new().map_err(errno)?;
        let a = mmap_anon(&vs, 0x1000_0000, 2 * PAGE, RW, PRIV | MAP_FIXED).map_err(errno)?;
        kassert_eq!(munmap(&vs, a + 1, PAGE), Err(EINVAL));
        kassert_eq!(munmap(&vs, a, 0), Err(EINVAL));
        kassert_eq!(munmap(&vs, u64::MAX - 4095, PAGE), Err(EINVAL));
        kassert_eq!(munmap(&vs, 0x5000_0000, PAGE), Ok(()));
        kassert_eq!(mprotect(&vs, a + 1, PAGE, PROT_READ), Err(EINVAL));
        kassert_eq!(mprotect(&vs, a, PAGE, 0x40), Err(EINVAL));
        kassert_eq!(mprotect(&vs, a, 0, 0x40), Ok(()));
        kassert_eq!(mprotect(&vs, a, 3 * PAGE, PROT_READ), Err(ENOMEM));
        kassert_eq!(mprotect(&vs, a, u64::MAX, PROT_READ), Err(ENOMEM));
        kassert_eq!(mprotect(&vs, a, PAGE, PROT_READ | PROT_GROWSDOWN), Err(EINVAL));
        kassert_eq!(mprotect(&vs, a, PAGE, PROT_READ | PROT_GROWSUP), Err(EINVAL));
        kassert_eq!(mremap(&vs, a, PAGE, 2 * PAGE, 0x80, 0), Err(EINVAL));
        kassert_eq!(mremap(&vs, a, PAGE, 2 * PAGE, MREMAP_FIXED, 0x3000_0000), Err(EINVAL));
        kassert_eq!(mremap(&vs, a + 1, PAGE, 2 * PAGE, 0, 0), Err(EINVAL));
        kassert_eq!(mremap(&vs, a, PAGE, 0, 0, 0), Err(EINVAL));
        kassert_eq!(mremap(&vs, 0x5000_0000, PAGE, PAGE, 0, 0), Err(EFAULT));
        kassert_eq!(mremap(&vs, a, 4 * PAGE, PAGE, 0, 0), Err(EFAULT));
        kassert_eq!(mremap(&vs, a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a + PAGE / 2), Err(EINVAL));
        kassert_eq!(mremap(&vs, a, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a + PAGE), Err(EINVAL));
        kassert_eq!(mremap(&vs, a, 0, PAGE, MREMAP_MAYMOVE, 0), Err(EINVAL));
        kassert_eq!(madvise(&vs, a + 1, PAGE, MADV_DONTNEED), Err(EINVAL));
        kassert_eq!(madvise(&vs, a, PAGE, 999), Err(EINVAL));
        kassert_eq!(madvise(&vs, a, u64::MAX, MADV_DONTNEED), Err(EINVAL));
        kassert_eq!(madvise(&vs, a, 0, MADV_DONTNEED), Ok(()));
        kassert_eq!(madvise(&vs, a, 3 * PAGE, MADV_WILLNEED), Err(ENOMEM));
        kassert_eq!(madvise(&vs, a, 2 * PAGE, MADV_SEQUENTIAL), Ok(()));
        let s = mmap_anon(&vs, 0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS).map_err(errno)?;
        kassert_eq!(madvise(&vs, s, PAGE, MADV_FREE), Err(EINVAL));
        kassert_eq!(madvise(&vs, s, PAGE, MADV_WIPEONFORK), Err(EINVAL));
        kassert_eq!(madvise(&vs, s, PAGE, MADV_REMOVE), Err(EOPNOTSUPP));
        // A shared mapping can be duplicated with old_len 0.
        let d = mremap(&vs, s, 0, PAGE, MREMAP_MAYMOVE, 0).map_err(errno)?;
        kassert!(d != s, "duplicate at the same address");
        vs.copy_out(s, &[0x5a]).map_err(|_| "copy_out")?;
        let mut b = [0u8];
        vs.copy_in(d, &mut b).map_err(|_| "copy_in")?;
        kassert_eq!(b[0], 0x5a);
        // Writes to read-only memory on the user's behalf fail like the user's would.
        mprotect(&vs, a, PAGE, PROT_READ).map_err(errno)?;
        kassert_eq!(vs.copy_out(a, &[1]), Err(FaultError::Protection));
        kassert_eq!(vs.copy_out(0x5000_0000, &[1]), Err(FaultError::Unmapped));
        kassert_eq!(vs.copy_out(u64::MAX - 1, &[1, 2, 3]), Err(FaultError::Unmapped));
        kassert_eq!(fault(&vs, a, Access::Exec, true), Err(FaultError::Protection));
        // The copyin hook resolves in the vmspace this CPU runs.
        kassert_eq!(super::fault::kernel_fault_on_user(d, true), Err(FaultError::Unmapped));
        vs.activate();
        let r = (super::fault::kernel_fault_on_user(d, true), super::fault::kernel_fault_on_user(a, true));
        VmSpace::deactivate();
        kassert_eq!(r, (Ok(()), Err(FaultError::Protection)));
        Ok(())
    }
}

ktest! {
    /// brk grows and shrinks the heap and refuses to move below its start or into another
    /// mapping, returning the old break as Linux's syscall does.
    fn brk_grows_and_shrinks() {
        let vs = VmSpace::new().map_err(errno)?;
        kassert_eq!(brk(&vs, 0x1000_0000), 0);
        set_brk_base(&vs, 0x1000_0000).map_err(errno)?;
        kassert_eq!(set_brk_base(&vs, 0x1000_0001), Err(EINVAL));
        kassert_eq!(brk(&vs, 0), 0x1000_0000);
        kassert_eq!(brk(&vs, 0x1000_0000 + 3 * PAGE + 5), 0x1000_0000 + 3 * PAGE + 5);
        vs.copy_out(0x1000_0000 + 3 * PAGE, &[7; 5]).map_err(|_| "heap not writable")?;
        kassert_eq!(brk(&vs, 0x1000_0000 + 8 * PAGE), 0x1000_0000 + 8 * PAGE);
        kassert_eq!(vs.entry_count(), 1);
        kassert_eq!(brk(&vs, 0x0fff_0000), 0x1000_0000 + 8 * PAGE);
        kassert_eq!(brk(&vs, 0x1000_0000 + PAGE), 0x1000_0000 + PAGE);
        kassert_eq!(vs.copy_out(0x1000_0000 + 2 * PAGE, &[1]), Err(FaultError::Unmapped));
        mmap_anon(&vs, 0x1000_0000 + 4 * PAGE, PAGE, RW, PRIV | MAP_FIXED).map_err(errno)?;
        kassert_eq!(brk(&vs, 0x1000_0000 + 6 * PAGE), 0x1000_0000 + PAGE);
        kassert_eq!(brk(&vs, u64::MAX), 0x1000_0000 + PAGE);
        Ok(())
    }
}

ktest! {
    /// Fork inheritance: DONTFORK leaves the range out of the child, WIPEONFORK gives it
    /// zeros, the default copies.
    fn fork_inheritance_flags() {
        let vs = VmSpace::new().map_err(errno)?;
        let a = mmap_anon(&vs, 0x1000_0000, 3 * PAGE, RW, PRIV | MAP_FIXED).map_err(errno)?;
        vs.copy_out(a, &[1; 3 * PAGE as usize]).map_err(|_| "copy_out")?;
        madvise(&vs, a + PAGE, PAGE, MADV_DONTFORK).map_err(errno)?;
        madvise(&vs, a + 2 * PAGE, PAGE, MADV_WIPEONFORK).map_err(errno)?;
        let c = vs.fork().map_err(errno)?;
        let mut b = [0u8];
        c.copy_in(a, &mut b).map_err(|_| "copy_in")?;
        kassert_eq!(b[0], 1);
        kassert_eq!(c.copy_in(a + PAGE, &mut b), Err(FaultError::Unmapped));
        c.copy_in(a + 2 * PAGE, &mut b).map_err(|_| "copy_in")?;
        kassert_eq!(b[0], 0);
        vs.copy_in(a + 2 * PAGE, &mut b).map_err(|_| "copy_in")?;
        kassert_eq!(b[0], 1);
        Ok(())
    }
}

/// A file of `pages` pages whose page i holds byte i + 1 everywhere.
struct PatternFile {
    pages: u64,
}

impl PagerOps for PatternFile {
    fn fill(&self, pindex: u64, frame: &Frame) -> Result<(), i32> {
        frame.write(0, &[pindex as u8 + 1; PAGE as usize]);
        Ok(())
    }

    fn size_pages(&self) -> u64 {
        self.pages
    }
}

ktest! {
    /// The pager hook the VFS will use: a private file mapping reads the file's pages,
    /// a write copies the page into a shadow and leaves the file object alone, DONTNEED
    /// reads the file again, beyond the end is SIGBUS, and a mapping beyond the file's
    /// rights is EACCES.
    fn file_object_through_pager() {
        let vs = VmSpace::new().map_err(errno)?;
        kassert!(vs.map.shared().is_empty(), "new map not empty");
        let file = VmObject::file(Arc::new(PatternFile { pages: 2 }));
        kassert!(file.id() != VmObject::anonymous().id(), "object ids repeat");
        let ro = MapSource::Object { object: file.clone(), offset: 0, max_prot: Prot::READ, file: None };
        kassert_eq!(mmap(&vs, 0, PAGE, RW, MAP_SHARED, ro), Err(EACCES));
        let src = MapSource::Object { object: file.clone(), offset: 0, max_prot: Prot::all(), file: None };
        let a = mmap(&vs, 0, 3 * PAGE, RW, MAP_PRIVATE, src).map_err(errno)?;
        let mut b = [0u8; 2];
        vs.copy_in(a + PAGE - 1, &mut b).map_err(|_| "copy_in")?;
        kassert_eq!(b, [1, 2]);
        vs.copy_out(a, &[9]).map_err(|_| "copy_out")?;
        vs.copy_in(a, &mut b[..1]).map_err(|_| "copy_in")?;
        kassert_eq!(b[0], 9);
        kassert_eq!(file.with_page(0, |f| { let mut x = [0u8]; f.read(0, &mut x); x[0] }), Some(1));
        madvise(&vs, a, PAGE, MADV_DONTNEED).map_err(errno)?;
        vs.copy_in(a, &mut b[..1]).map_err(|_| "copy_in")?;
        kassert_eq!(b[0], 1);
        kassert_eq!(vs.copy_in(a + 2 * PAGE, &mut b), Err(FaultError::Bus));
        Ok(())
    }
}
