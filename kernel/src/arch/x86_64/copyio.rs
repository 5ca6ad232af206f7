//! User memory access (DragonFly's copyin/copyout, fubyte/subyte): the only way kernel code
//! touches user memory (rule 3).
//!
//! The copy loops are assembly whose possibly-faulting instructions are listed in the
//! `.extable` section as (faulting ip, fixup ip) pairs. A page fault at a listed ip first asks
//! the VM to bring the page in (a user page not touched yet is not an error); if it cannot,
//! the trap handler resumes at the fixup, which returns EFAULT. Every access opens a SMAP
//! user-access window (`stac` .. `clac`) around the copy and nowhere else, so a stray kernel
//! dereference of a user pointer still faults. Addresses are checked against the user range
//! before anything is touched.
use super::usermode::USER_END;
use abi::errno::{EFAULT, ENAMETOOLONG};
use core::sync::atomic::Ordering;

core::arch::global_asm!(
    r#"
    .macro CIO_SMAP insn
    997: \insn
    .pushsection .smap_sites, "a"
    .balign 8
    .quad 997b
    .popsection
    .endm

    .macro CIO_EXTABLE fault, fixup
    .pushsection .extable, "a"
    .balign 8
    .quad \fault, \fixup
    .popsection
    .endm

    .section .text.copyio, "ax"

    /* rdi = destination, rsi = source, rdx = length. Returns 0, or EFAULT. */
    .global copyio_copy
copyio_copy:
    CIO_SMAP stac
    mov rcx, rdx
1:  rep movsb
    CIO_SMAP clac
    xor eax, eax
    ret
2:  CIO_SMAP clac
    mov eax, {efault}
    ret
    CIO_EXTABLE 1b, 2b

    /* rdi = destination, rsi = user string, rdx = capacity (> 0). Returns the length copied
       including the NUL, -ENAMETOOLONG when no NUL fits, or -EFAULT. */
    .global copyio_strcpy
copyio_strcpy:
    CIO_SMAP stac
    xor ecx, ecx
3:  cmp rcx, rdx
    jae 5f
4:  movzx eax, byte ptr [rsi + rcx]
    mov byte ptr [rdi + rcx], al
    inc rcx
    test al, al
    jnz 3b
    CIO_SMAP clac
    mov rax, rcx
    ret
5:  CIO_SMAP clac
    mov rax, -{enametoolong}
    ret
6:  CIO_SMAP clac
    mov rax, -{efault}
    ret
    CIO_EXTABLE 4b, 6b

    /* rdi = user address (4-aligned), esi = expected, edx = new value, rcx = where to put
       the old value. Returns 0, or EFAULT. */
    .global copyio_cas32
copyio_cas32:
    CIO_SMAP stac
    mov eax, esi
7:  lock cmpxchg dword ptr [rdi], edx
    CIO_SMAP clac
    mov dword ptr [rcx], eax
    xor eax, eax
    ret
8:  CIO_SMAP clac
    mov eax, {efault}
    ret
    CIO_EXTABLE 7b, 8b
"#,
    efault = const EFAULT,
    enametoolong = const ENAMETOOLONG,
);

extern "C" {
    fn copyio_copy(dst: *mut u8, src: *const u8, len: usize) -> i32;
    fn copyio_strcpy(dst: *mut u8, src: *const u8, cap: usize) -> isize;
    fn copyio_cas32(uaddr: *mut u32, expected: u32, new: u32, old: *mut u32) -> i32;
    static __extable_start: u64;
    static __extable_end: u64;
}

/// The fixup address for a fault at `rip`, if `rip` is a listed user-access instruction.
pub fn fixup_for(rip: u64) -> Option<u64> {
    // SAFETY: the linker script brackets .extable with these symbols; it holds only pairs of
    // 8-byte addresses emitted by CIO_EXTABLE.
    let table = unsafe {
        let start = &raw const __extable_start;
        let end = &raw const __extable_end;
        core::slice::from_raw_parts(start, end.offset_from(start) as usize)
    };
    table.chunks_exact(2).find(|p| p[0] == rip).map(|p| p[1])
}

/// Asks the VM to make the user page at `addr` present in the current address space
/// (`write`: for writing, breaking copy-on-write). False when it cannot: EFAULT.
pub fn resolve_user_fault(addr: u64, write: bool) -> bool {
    crate::vm::fault::kernel_fault_on_user(addr, write).is_ok()
}

fn check_range(uaddr: u64, len: usize) -> Result<(), i32> {
    match uaddr.checked_add(len as u64) {
        Some(end) if end <= USER_END => Ok(()),
        _ => Err(EFAULT),
    }
}

fn assert_may_fault() {
    // A fault inside a copy may sleep in the VM: no spinlock may be held.
    debug_assert!(
        crate::lwkt::globaldata::mycpu().spinlocks.load(Ordering::Relaxed) == 0,
        "user access with a spinlock held"
    );
}

/// Copies `dst.len()` bytes from user address `uaddr`. EFAULT for a bad range or a page
/// that cannot be made present.
pub fn copyin(dst: &mut [u8], uaddr: u64) -> Result<(), i32> {
    check_range(uaddr, dst.len())?;
    assert_may_fault();
    // SAFETY: dst is a valid kernel buffer of that length; the user range was checked to lie
    // below USER_END, and any fault inside the copy is turned into EFAULT by the fixup.
    match unsafe { copyio_copy(dst.as_mut_ptr(), uaddr as *const u8, dst.len()) } {
        0 => Ok(()),
        e => Err(e),
    }
}

/// Copies `src` to user address `uaddr`.
pub fn copyout(uaddr: u64, src: &[u8]) -> Result<(), i32> {
    check_range(uaddr, src.len())?;
    assert_may_fault();
    // SAFETY: as in copyin, with the roles swapped.
    match unsafe { copyio_copy(uaddr as *mut u8, src.as_ptr(), src.len()) } {
        0 => Ok(()),
        e => Err(e),
    }
}

/// Copies a NUL-terminated string from `uaddr` into `buf`; returns its length without the
/// NUL. ENAMETOOLONG when no NUL appears within `buf.len()` bytes, EFAULT on a bad address.
pub fn copyinstr(buf: &mut [u8], uaddr: u64) -> Result<usize, i32> {
    if buf.is_empty() {
        return Err(ENAMETOOLONG);
    }
    // The string may end before the range does: check only that it starts in user space and
    // clamp the capacity so the copy never walks past USER_END.
    if uaddr >= USER_END {
        return Err(EFAULT);
    }
    let cap = buf.len().min((USER_END - uaddr) as usize);
    assert_may_fault();
    // SAFETY: buf holds at least `cap` bytes; the user range [uaddr, uaddr+cap) is below
    // USER_END; faults become -EFAULT.
    let r = unsafe { copyio_strcpy(buf.as_mut_ptr(), uaddr as *const u8, cap) };
    match r {
        n if n > 0 => Ok(n as usize - 1),
        n if n == -(ENAMETOOLONG as isize) && cap < buf.len() => Err(EFAULT),
        n => Err(-n as i32),
    }
}

/// Reads a `u64` from user memory (fuword64).
pub fn fetch_u64(uaddr: u64) -> Result<u64, i32> {
    let mut b = [0u8; 8];
    copyin(&mut b, uaddr)?;
    Ok(u64::from_ne_bytes(b))
}

/// Reads a `u32` from user memory (fuword32).
pub fn fetch_u32(uaddr: u64) -> Result<u32, i32> {
    let mut b = [0u8; 4];
    copyin(&mut b, uaddr)?;
    Ok(u32::from_ne_bytes(b))
}

/// Writes a `u64` to user memory (suword64).
pub fn store_u64(uaddr: u64, v: u64) -> Result<(), i32> {
    copyout(uaddr, &v.to_ne_bytes())
}

/// Atomically replaces the `u32` at user address `uaddr` (4-aligned) with `new` if it holds
/// `expected` (casuword32, for futexes); returns the value it held. EFAULT for a bad
/// address, EINVAL for a misaligned one.
pub fn cas_u32(uaddr: u64, expected: u32, new: u32) -> Result<u32, i32> {
    if !uaddr.is_multiple_of(4) {
        return Err(abi::errno::EINVAL);
    }
    check_range(uaddr, 4)?;
    assert_may_fault();
    let mut old = 0u32;
    // SAFETY: the aligned 4-byte user range lies below USER_END; a fault becomes EFAULT by
    // the fixup; `old` is a kernel local.
    match unsafe { copyio_cas32(uaddr as *mut u32, expected, new, &mut old) } {
        0 => Ok(old),
        e => Err(e),
    }
}

/// Writes a `u32` to user memory (suword32).
pub fn store_u32(uaddr: u64, v: u32) -> Result<(), i32> {
    copyout(uaddr, &v.to_ne_bytes())
}

mod tests {
    use super::*;
    use crate::arch::x86_64::pmap::{self, pte};
    use crate::mem::phys;
    use crate::{kassert, kassert_eq, ktest};

    const PAGE: u64 = 4096;
    /// Two user pages for the tests: the first mapped, the second not.
    const UPAGE: u64 = 0x5000_0000;

    fn with_user_page(f: impl FnOnce() -> crate::ktest::Outcome) -> crate::ktest::Outcome {
        let pa = phys::alloc_zeroed().ok_or("no page")?;
        pmap::map_user_page(UPAGE, pa, pte::WRITABLE | pte::NO_EXECUTE);
        let r = f();
        pmap::unmap_user_page(UPAGE);
        phys::free(pa);
        r
    }

    fn ac_clear() -> bool {
        x86_64::registers::rflags::read().bits() & (1 << 18) == 0
    }

    ktest! {
        /// copyout then copyin round-trip through a mapped user page; the SMAP window is
        /// closed again afterwards.
        fn round_trip() {
            with_user_page(|| {
                let src: [u8; 100] = core::array::from_fn(|i| i as u8 ^ 0x5a);
                copyout(UPAGE + 10, &src).map_err(|e| alloc::format!("copyout {e}"))?;
                let mut back = [0u8; 100];
                copyin(&mut back, UPAGE + 10).map_err(|e| alloc::format!("copyin {e}"))?;
                kassert_eq!(back, src);
                store_u64(UPAGE + 512, 0x1122_3344_5566_7788).map_err(|e| alloc::format!("store {e}"))?;
                kassert_eq!(fetch_u64(UPAGE + 512), Ok(0x1122_3344_5566_7788));
                kassert_eq!(fetch_u32(UPAGE + 512), Ok(0x5566_7788));
                store_u32(UPAGE + 516, 7).map_err(|e| alloc::format!("store {e}"))?;
                kassert_eq!(fetch_u64(UPAGE + 512), Ok(0x0000_0007_5566_7788));
                kassert!(ac_clear(), "RFLAGS.AC left set");
                Ok(())
            })
        }
    }

    ktest! {
        /// Unmapped user memory, kernel addresses, ranges past the user limit and wrapping
        /// ranges all give EFAULT, never a kernel fault; a copy running off the end of a
        /// mapped page into an unmapped one fails too.
        fn bad_addresses_are_efault() {
            let mut b = [0u8; 16];
            kassert_eq!(copyin(&mut b, 0x10), Err(EFAULT));
            let ktext = bad_addresses_are_efault as *const () as u64;
            kassert_eq!(copyin(&mut b, ktext), Err(EFAULT));
            kassert_eq!(copyout(ktext, &b), Err(EFAULT));
            kassert_eq!(copyin(&mut b, USER_END - 8), Err(EFAULT));
            kassert_eq!(copyin(&mut b, u64::MAX - 4), Err(EFAULT));
            kassert_eq!(copyin(&mut b, 0x8000_0000_0000), Err(EFAULT));
            with_user_page(|| {
                let mut big = [0u8; 64];
                kassert_eq!(copyin(&mut big, UPAGE + PAGE - 32), Err(EFAULT));
                kassert_eq!(copyout(UPAGE + PAGE - 32, &big), Err(EFAULT));
                kassert!(ac_clear(), "RFLAGS.AC left set after a fault");
                Ok(())
            })
        }
    }

    ktest! {
        /// copyinstr: finds the NUL, reports a string without one as too long, and a string
        /// running into an unmapped page as EFAULT.
        fn copyinstr_cases() {
            with_user_page(|| {
                copyout(UPAGE, b"hello\0world").map_err(|e| alloc::format!("{e}"))?;
                let mut buf = [0xffu8; 32];
                kassert_eq!(copyinstr(&mut buf, UPAGE), Ok(5));
                kassert_eq!(&buf[..6], b"hello\0");
                let mut small = [0u8; 4];
                kassert_eq!(copyinstr(&mut small, UPAGE), Err(ENAMETOOLONG));
                copyout(UPAGE + PAGE - 3, b"abc").map_err(|e| alloc::format!("{e}"))?;
                kassert_eq!(copyinstr(&mut buf, UPAGE + PAGE - 3), Err(EFAULT));
                kassert_eq!(copyinstr(&mut buf, USER_END), Err(EFAULT));
                kassert_eq!(copyinstr(&mut [], UPAGE), Err(ENAMETOOLONG));
                Ok(())
            })
        }
    }

    ktest! {
        /// SMAP is on: a plain kernel read of a mapped user page, outside a user-access
        /// window, faults (a protection fault on a present page).
        fn kernel_read_of_user_memory_faults() {
            if !crate::arch::x86_64::cpu::features().smap {
                return Ok(());
            }
            with_user_page(|| {
                extern "C" fn read(addr: u64) -> u64 {
                    // SAFETY: deliberately reads user memory without stac: SMAP must fault;
                    // the probe turns that fault into an Exit.
                    unsafe { core::ptr::read_volatile(addr as *const u64) }
                }
                let e = crate::arch::x86_64::usermode::probe_kernel_fault(read as *const () as u64, UPAGE)
                    .ok_or("kernel read user memory without a fault: SMAP is off")?;
                kassert_eq!(e.vector, 14);
                kassert_eq!(e.cr2, UPAGE);
                kassert!(e.error & 1 != 0, "not a protection fault: error {:#x}", e.error);
                Ok(())
            })
        }
    }
}

mod vm_tests {
    use super::*;
    use crate::vm::mmap::mmap_anon;
    use crate::vm::vmspace::VmSpace;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        /// copyout/copyin on fresh anonymous memory of a user address space: the copy's page
        /// faults bring the pages in (demand zero, then the written data); a copy into a
        /// read-only mapping is EFAULT.
        fn copies_fault_pages_in() {
            let vs = VmSpace::new().map_err(|e| alloc::format!("vmspace {e}"))?;
            let prot_rw = abi::mman::PROT_READ | abi::mman::PROT_WRITE;
            let flags = abi::mman::MAP_PRIVATE | abi::mman::MAP_ANONYMOUS;
            let a = mmap_anon(&vs, 0, 3 * 4096, prot_rw, flags).map_err(|e| alloc::format!("mmap {e}"))?;
            let ro = mmap_anon(&vs, 0, 4096, abi::mman::PROT_READ, flags).map_err(|e| alloc::format!("mmap {e}"))?;
            vs.activate();
            let r = (|| {
                let mut z = [0xffu8; 64];
                copyin(&mut z, a + 4096 + 100).map_err(|e| alloc::format!("copyin {e}"))?;
                kassert!(z.iter().all(|&b| b == 0), "demand-zero page not zero");
                let data: alloc::vec::Vec<u8> = (0..6000u32).map(|i| i as u8).collect();
                copyout(a + 2000, &data).map_err(|e| alloc::format!("copyout {e}"))?;
                let mut back = alloc::vec![0u8; 6000];
                copyin(&mut back, a + 2000).map_err(|e| alloc::format!("copyin {e}"))?;
                kassert_eq!(back, data);
                kassert_eq!(copyout(ro, &[1, 2, 3]), Err(EFAULT));
                let mut one = [0u8; 1];
                kassert_eq!(copyin(&mut one, ro), Ok(()));
                Ok(())
            })();
            VmSpace::deactivate();
            r
        }
    }
}
