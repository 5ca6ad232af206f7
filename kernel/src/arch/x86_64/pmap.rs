//! The kernel pmap: the page tables the kernel runs on after early boot.
//!
//! Built fresh from the memory map rather than patched from the loader's: a direct map of
//! RAM (and the first MiB) at `DIRECT_MAP_BASE`, read-write and never executable; the kernel
//! image mapped W^X section by section (text RX, rodata R, data and bss RW); and no mapping
//! at all for the guard page under every kernel stack. The loader's identity map is gone
//! once CR3 switches.
use super::gdt::BSP_IST_STACKS;
use super::start::BOOT_STACK;
use crate::mem::phys;
use abi::boot::{BootInfo, MemKind, DIRECT_MAP_BASE, KERNEL_VIRT_OFFSET};
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::control::Cr3;

pub mod frame;
pub mod user;

/// Page-table entry bits.
pub mod pte {
    pub const PRESENT: u64 = 1 << 0;
    pub const WRITABLE: u64 = 1 << 1;
    /// Reachable from user mode (needed at every level of the walk).
    pub const USER: u64 = 1 << 2;
    /// Write-through (with PCD: uncached, as device registers need).
    pub const PWT: u64 = 1 << 3;
    /// Cache disable.
    pub const PCD: u64 = 1 << 4;
    pub const HUGE: u64 = 1 << 7;
    pub const GLOBAL: u64 = 1 << 8;
    pub const NO_EXECUTE: u64 = 1 << 63;
    /// Bits 12..51: the physical frame.
    pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
}

const PAGE: u64 = 4096;
const LARGE: u64 = 2 * 1024 * 1024;

/// Physical address of the kernel's PML4 (0 before `init_kernel_pmap`).
static KERNEL_PML4: AtomicU64 = AtomicU64::new(0);
/// Page-table pages the kernel pmap uses.
static TABLE_PAGES: AtomicU64 = AtomicU64::new(0);

extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __kernel_end: u8;
}

/// The direct-map address of a physical address.
pub const fn phys_to_virt(pa: u64) -> u64 {
    DIRECT_MAP_BASE + pa
}

fn table(pa: u64) -> *mut u64 {
    phys_to_virt(pa) as *mut u64
}

fn alloc_table() -> u64 {
    let Some(pa) = phys::alloc_zeroed() else {
        crate::kprintln!("pmap: out of memory for page tables");
        super::power::exit_failure();
    };
    TABLE_PAGES.fetch_add(1, Ordering::Relaxed);
    pa
}

/// Maps one page of `size` (4 KiB or 2 MiB) at `va` to `pa` in the tables rooted at `pml4`.
fn map(pml4: u64, va: u64, pa: u64, size: u64, flags: u64) {
    let idx = |level: u32| ((va >> (12 + 9 * level)) & 0x1ff) as usize;
    let leaf_level = if size == LARGE { 1 } else { 0 };
    let mut t = pml4;
    for level in (leaf_level + 1..=3).rev() {
        // SAFETY: `t` is a page-table page this module allocated (or the PML4), reached
        // through the direct map; entry indices are < 512.
        let e = unsafe { &mut *table(t).add(idx(level)) };
        if *e & pte::PRESENT == 0 {
            // A table under a user page is user-reachable; the leaf's own bits restrict it.
            *e = alloc_table() | pte::PRESENT | pte::WRITABLE | (flags & pte::USER);
        }
        assert!(*e & pte::HUGE == 0, "pmap: {:#x} already inside a large page", va);
        t = *e & pte::ADDR_MASK;
    }
    let leaf = flags | pte::PRESENT | if size == LARGE { pte::HUGE } else { 0 };
    // SAFETY: as above, for the leaf table.
    unsafe { *table(t).add(idx(leaf_level)) = pa | leaf };
}

/// Maps `[start, end)` of physical memory into the direct map with the largest pages that fit.
fn map_direct(pml4: u64, start: u64, end: u64) {
    let flags = pte::WRITABLE | pte::NO_EXECUTE | pte::GLOBAL;
    let mut pa = start & !(PAGE - 1);
    let end = end.next_multiple_of(PAGE);
    while pa < end {
        if pa.is_multiple_of(LARGE) && pa + LARGE <= end {
            map(pml4, phys_to_virt(pa), pa, LARGE, flags);
            pa += LARGE;
        } else {
            map(pml4, phys_to_virt(pa), pa, PAGE, flags);
            pa += PAGE;
        }
    }
}

/// Guard pages under the boot stack and the IST stacks: left unmapped.
fn guard_pages() -> [u64; 5] {
    [
        BOOT_STACK.guard_page(),
        BSP_IST_STACKS[0].guard_page(),
        BSP_IST_STACKS[1].guard_page(),
        BSP_IST_STACKS[2].guard_page(),
        BSP_IST_STACKS[3].guard_page(),
    ]
}

fn map_kernel_range(pml4: u64, start: u64, end: u64, flags: u64) {
    let guards = guard_pages();
    let mut va = start;
    while va < end {
        if !guards.contains(&va) {
            map(pml4, va, va - KERNEL_VIRT_OFFSET, PAGE, flags | pte::GLOBAL);
        }
        va += PAGE;
    }
}

/// Builds the kernel page tables and switches to them.
pub fn init_kernel_pmap(bi: &BootInfo) {
    let pml4 = alloc_table();
    // Every kernel-half PML4 slot gets its PDPT now, so later kernel mappings only change
    // lower levels, which every address space shares by copying the top-half PML4 entries.
    for slot in 256..512 {
        // SAFETY: pml4 is the table just allocated, reached through the direct map.
        unsafe { *table(pml4).add(slot) = alloc_table() | pte::PRESENT | pte::WRITABLE };
    }
    // The first MiB holds firmware tables (the RSDP, the MP table) the platform code reads.
    map_direct(pml4, 0, 0x10_0000);
    for r in bi.mem_map() {
        if matches!(r.kind(), MemKind::Usable | MemKind::AcpiReclaimable | MemKind::AcpiNvs) {
            map_direct(pml4, r.range.start, r.range.end);
        }
    }
    let (ts, te, rs, re, ds, ke) = (
        &raw const __text_start as u64,
        &raw const __text_end as u64,
        &raw const __rodata_start as u64,
        &raw const __rodata_end as u64,
        &raw const __data_start as u64,
        &raw const __kernel_end as u64,
    );
    map_kernel_range(pml4, ts, te, 0);
    map_kernel_range(pml4, rs, re, pte::NO_EXECUTE);
    map_kernel_range(pml4, ds, ke, pte::WRITABLE | pte::NO_EXECUTE);
    let (_, flags) = Cr3::read_raw();
    // SAFETY: the new tables map everything the kernel touches from here on: its image
    // (text, rodata, data, bss including this stack) and all RAM through the direct map,
    // which is where the boot information copy, the page bitmap and the heap live.
    unsafe {
        Cr3::write_raw(
            x86_64::structures::paging::PhysFrame::containing_address(x86_64::PhysAddr::new(pml4)),
            flags,
        )
    };
    KERNEL_PML4.store(pml4, Ordering::Release);
    log::debug!("pmap: kernel tables at {:#x}, {} table pages", pml4, TABLE_PAGES.load(Ordering::Relaxed));
}

/// Start of the device and firmware mapping window (PML4 slot 320).
pub const DEVICE_WINDOW: u64 = 0xffff_a000_0000_0000;
/// Size of the window (one PML4 slot).
const DEVICE_WINDOW_SIZE: u64 = 1 << 39;
/// Next free address in the device window; mappings are never torn down (devices and
/// firmware tables live as long as the kernel), so a bump pointer is enough.
static DEVICE_NEXT: crate::sync::spinlock::SpinLock<u64> =
    crate::sync::spinlock::SpinLock::new(DEVICE_WINDOW);
/// Serialises changes to the kernel pmap's lower levels, which any CPU may now make.
// A spinlock (critical section), so its holder is never preempted while another thread
// could want it.
static KERNEL_PMAP_LOCK: crate::sync::spinlock::SpinLock<()> = crate::sync::spinlock::SpinLock::new(());

/// Maps `[phys, phys+len)` into the device window with `flags` added to PRESENT|GLOBAL|NX;
/// returns the virtual address of `phys` (not of its page), or `None` for an empty or
/// absurd range or a full window.
fn map_window(phys: u64, len: u64, flags: u64) -> Option<u64> {
    if len == 0 || phys.checked_add(len)? > pte::ADDR_MASK + PAGE {
        return None;
    }
    let first = phys & !(PAGE - 1);
    let span = (phys + len).next_multiple_of(PAGE) - first;
    let base = {
        let mut next = DEVICE_NEXT.lock();
        if *next + span > DEVICE_WINDOW + DEVICE_WINDOW_SIZE {
            return None;
        }
        let base = *next;
        // Leave an unmapped page between mappings: an overrun faults instead of reading the
        // neighbouring device.
        *next += span + PAGE;
        base
    };
    for off in (0..span).step_by(PAGE as usize) {
        map_kernel_page(base + off, first + off, flags | pte::NO_EXECUTE);
    }
    Some(base + (phys - first))
}

/// Maps device registers `[phys, phys+len)` uncached (PCD|PWT), writable and never
/// executable in the kernel half; returns the virtual address of `phys`. `None` when the
/// range is empty or out of range, or the window is full.
pub fn map_device(phys: u64, len: u64) -> Option<u64> {
    map_window(phys, len, pte::WRITABLE | pte::PCD | pte::PWT)
}

/// Maps firmware data (ACPI tables, which may lie in Reserved memory the direct map skips)
/// read-only, cached and never executable; returns the virtual address of `phys`.
pub fn map_firmware(phys: u64, len: u64) -> Option<u64> {
    map_window(phys, len, 0)
}

/// Maps one 4 KiB kernel page `va` to `pa` in the kernel pmap (kernel half only, so every
/// address space sees it). `flags` adds to PRESENT|GLOBAL, e.g. WRITABLE|NO_EXECUTE. The
/// page must not be mapped already on any CPU (no shootdown is needed for a new mapping).
pub fn map_kernel_page(va: u64, pa: u64, flags: u64) {
    assert!(
        va >= DIRECT_MAP_BASE && va.is_multiple_of(PAGE) && pa.is_multiple_of(PAGE),
        "map_kernel_page({va:#x})"
    );
    let _serial = KERNEL_PMAP_LOCK.lock();
    map(KERNEL_PML4.load(Ordering::Acquire), va, pa, PAGE, flags | pte::GLOBAL);
}

/// Maps one 4 KiB user page `va` to `pa` in the current address space (today always the
/// kernel pmap: no process address spaces exist yet). `flags` may hold WRITABLE and
/// NO_EXECUTE; USER is added, GLOBAL never. The page must not be mapped yet.
pub fn map_user_page(va: u64, pa: u64, flags: u64) {
    assert!(
        va < super::usermode::USER_END && va.is_multiple_of(PAGE) && pa.is_multiple_of(PAGE),
        "map_user_page({va:#x}, {pa:#x})"
    );
    assert!(flags & !(pte::WRITABLE | pte::NO_EXECUTE) == 0, "map_user_page flags {flags:#x}");
    assert!(lookup(va).is_none(), "map_user_page({va:#x}): already mapped");
    let root = Cr3::read_raw().0.start_address().as_u64();
    map(root, va, pa, PAGE, flags | pte::USER);
}

/// Removes the user page at `va` from the current address space and flushes it from this
/// CPU's TLB; returns the physical page it mapped. Page-table pages stay for reuse. No other
/// CPU runs user code yet, so no shootdown is needed.
pub fn unmap_user_page(va: u64) -> Option<u64> {
    assert!(va < super::usermode::USER_END && va.is_multiple_of(PAGE), "unmap_user_page({va:#x})");
    let mut t = Cr3::read_raw().0.start_address().as_u64();
    for level in (1..=3).rev() {
        let i = ((va >> (12 + 9 * level)) & 0x1ff) as usize;
        // SAFETY: tables reached from CR3 are RAM pages covered by the direct map.
        let e = unsafe { table(t).add(i).read_volatile() };
        if e & pte::PRESENT == 0 || e & pte::HUGE != 0 {
            return None;
        }
        t = e & pte::ADDR_MASK;
    }
    let i = ((va >> 12) & 0x1ff) as usize;
    // SAFETY: as above; the leaf table belongs to the lower half, which only user mappings use.
    let e = unsafe { table(t).add(i).replace(0) };
    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(va));
    (e & pte::PRESENT != 0).then_some(e & pte::ADDR_MASK)
}

/// The physical address of the kernel PML4.
pub fn kernel_pml4() -> u64 {
    KERNEL_PML4.load(Ordering::Acquire)
}

/// The leaf entry mapping `va` in the current address space, or `None`.
pub fn lookup(va: u64) -> Option<u64> {
    let root = Cr3::read_raw().0.start_address().as_u64();
    let mut t = root;
    for level in (0..=3).rev() {
        let i = ((va >> (12 + 9 * level)) & 0x1ff) as usize;
        // SAFETY: every table reached from CR3 is a RAM page covered by the direct map
        // (the loader's and the kernel's tables both live in usable RAM).
        let e = unsafe { table(t).add(i).read_volatile() };
        if e & pte::PRESENT == 0 {
            return None;
        }
        if level == 0 || e & pte::HUGE != 0 {
            return Some(e);
        }
        t = e & pte::ADDR_MASK;
    }
    None
}

/// True when every byte of `[va, va+len)` is a mapped kernel address.
pub fn is_kernel_readable(va: u64, len: u64) -> bool {
    if va < DIRECT_MAP_BASE || va.checked_add(len).is_none() {
        return false;
    }
    let mut page = va & !(PAGE - 1);
    while page < va + len {
        if lookup(page).is_none() {
            return false;
        }
        page += PAGE;
    }
    true
}

mod tests {
    use super::*;
    use crate::{kassert, ktest};

    ktest! {
        /// Text is executable and read-only, rodata read-only and NX, data writable and NX.
        fn kernel_image_is_w_xor_x() {
            let text = init_kernel_pmap as *const () as u64;
            let ro = &super::KERNEL_PML4 as *const _ as u64; // a static in .data/.bss
            let e = lookup(text).ok_or("text unmapped")?;
            kassert!(e & pte::WRITABLE == 0 && e & pte::NO_EXECUTE == 0, "text pte {:#x}", e);
            let e = lookup(ro).ok_or("data unmapped")?;
            kassert!(e & pte::WRITABLE != 0 && e & pte::NO_EXECUTE != 0, "data pte {:#x}", e);
            let name = "a string in rodata".as_ptr() as u64;
            let e = lookup(name).ok_or("rodata unmapped")?;
            kassert!(e & pte::WRITABLE == 0 && e & pte::NO_EXECUTE != 0, "rodata pte {:#x}", e);
            Ok(())
        }
    }

    ktest! {
        /// Every stack guard page is unmapped; the pages above them are mapped.
        fn stack_guards_unmapped() {
            for g in guard_pages() {
                kassert!(lookup(g).is_none(), "guard {:#x} is mapped", g);
                kassert!(lookup(g + PAGE).is_some(), "stack above guard {:#x} unmapped", g);
            }
            Ok(())
        }
    }

    ktest! {
        /// Device mappings land in the device window, uncached, writable and NX, with an
        /// unmapped page after each; they read the same bytes as the direct map.
        fn device_mapping_uncached_nx() {
            // The first MiB is direct-mapped, so both views of the BIOS area can be compared.
            let va = map_device(0xf_0010, 8).ok_or("map_device failed")?;
            kassert!((DEVICE_WINDOW..DEVICE_WINDOW + DEVICE_WINDOW_SIZE).contains(&va), "va {:#x}", va);
            kassert!(va & (PAGE - 1) == 0x10, "offset lost: {:#x}", va);
            let e = lookup(va).ok_or("device page unmapped")?;
            let want = pte::PCD | pte::PWT | pte::WRITABLE | pte::NO_EXECUTE;
            kassert!(e & want == want, "device pte {:#x}", e);
            kassert!(lookup((va & !(PAGE - 1)) + PAGE).is_none(), "no gap after the mapping");
            // SAFETY: both addresses map physical 0xf0010, BIOS ROM, readable without effects.
            let (a, b) = unsafe {
                ((va as *const u64).read_volatile(), (phys_to_virt(0xf_0010) as *const u64).read_volatile())
            };
            kassert!(a == b, "device view {:#x} != direct view {:#x}", a, b);
            let f = map_firmware(0xf_0000, 2 * PAGE).ok_or("map_firmware failed")?;
            let e = lookup(f + PAGE).ok_or("second firmware page unmapped")?;
            kassert!(e & (pte::WRITABLE | pte::PCD) == 0 && e & pte::NO_EXECUTE != 0, "fw pte {:#x}", e);
            kassert!(map_device(0x1000, 0).is_none(), "empty range mapped");
            kassert!(map_device(u64::MAX - 10, 100).is_none(), "wrapping range mapped");
            kassert!(lookup(0xffff_c000_dead_b000).is_none(), "the crash test's address got mapped");
            Ok(())
        }
    }

    ktest! {
        /// The loader's identity map is gone and the direct map is NX.
        fn no_identity_map_direct_map_nx() {
            kassert!(lookup(0x10_0000).is_none(), "identity map still present");
            let e = lookup(phys_to_virt(0x10_0000)).ok_or("direct map missing")?;
            kassert!(e & pte::NO_EXECUTE != 0, "direct map executable: {:#x}", e);
            Ok(())
        }
    }
}
