//! Reading QEMU's `hvm_start_info` (Xen's PVH boot ABI, version 1). It lives in low RAM that
//! the memory map calls usable, so everything is copied into the BootInfo straight away.

use crate::fail;
use abi::boot::{BootInfo, MemKind, MemRegion, PhysRange, CMDLINE_MAX, MAX_MEM_REGIONS};

const MAGIC: u32 = 0x336e_c578;
/// The boot identity map covers only this much; every pointer QEMU gives must lie below it.
const MAPPED_LIMIT: u64 = 1 << 32;
/// More memory-map entries than this is garbage, not a machine.
const MAX_RAW_ENTRIES: u32 = 1024;

/// `struct hvm_start_info`.
#[repr(C)]
#[derive(Clone, Copy)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

/// `struct hvm_modlist_entry`.
#[repr(C)]
#[derive(Clone, Copy)]
struct ModEntry {
    paddr: u64,
    size: u64,
    cmdline_paddr: u64,
    reserved: u64,
}

/// `struct hvm_memmap_table_entry`.
#[repr(C)]
#[derive(Clone, Copy)]
struct MemmapEntry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

/// Reads a `T` at a physical address, after checking it lies in the identity-mapped 4 GiB.
fn read_phys<T: Copy>(paddr: u64, what: &str) -> T {
    let size = core::mem::size_of::<T>() as u64;
    if paddr == 0 || paddr.checked_add(size).is_none_or(|end| end > MAPPED_LIMIT) {
        fail!("{what} at {paddr:#x} is outside the first 4 GiB");
    }
    // SAFETY: the boot page tables identity-map [0, 4 GiB) and the range was checked; an
    // unaligned read copes with whatever alignment QEMU chose.
    unsafe { core::ptr::read_unaligned(paddr as *const T) }
}

/// Fills `info` (command line, normalized memory map, RSDP, root image) from the start info at
/// `paddr`.
pub fn read(paddr: u64, info: &mut BootInfo) {
    let si: StartInfo = read_phys(paddr, "hvm_start_info");
    if si.magic != MAGIC {
        fail!("bad hvm_start_info magic {:#x} (not booted through PVH?)", si.magic);
    }
    if si.version < 1 {
        fail!("hvm_start_info version {} has no memory map (need 1)", si.version);
    }
    read_cmdline(si.cmdline_paddr, info);
    read_memmap(&si, info);
    info.rsdp = si.rsdp_paddr;
    info.root_image = read_module(&si);
}

fn read_cmdline(paddr: u64, info: &mut BootInfo) {
    if paddr == 0 {
        return;
    }
    let mut buf = [0u8; CMDLINE_MAX];
    let mut len = 0;
    while len < CMDLINE_MAX {
        let b: u8 = read_phys(paddr + len as u64, "command line");
        if b == 0 {
            break;
        }
        buf[len] = b;
        len += 1;
    }
    if len == CMDLINE_MAX {
        crate::println!("warning: command line truncated to {CMDLINE_MAX} bytes");
    }
    info.set_cmdline(&buf[..len]);
}

fn read_memmap(si: &StartInfo, info: &mut BootInfo) {
    if si.memmap_paddr == 0 || si.memmap_entries == 0 {
        fail!("hvm_start_info has no memory map");
    }
    if si.memmap_entries > MAX_RAW_ENTRIES {
        fail!("memory map has {} entries: corrupt", si.memmap_entries);
    }
    let size = core::mem::size_of::<MemmapEntry>() as u64;
    for i in 0..u64::from(si.memmap_entries) {
        let e: MemmapEntry = read_phys(si.memmap_paddr + i * size, "memory map");
        // Trailing all-zero entries (qboot) and empty ones carry nothing.
        if e.size == 0 {
            continue;
        }
        let region = MemRegion::new(PhysRange::new(e.addr, e.size), MemKind::from_raw(e.kind));
        if !info.push_region(region) {
            fail!("memory map has more than {MAX_MEM_REGIONS} regions");
        }
    }
    info.normalize_mem_map();
    if !info.mem_map().iter().any(|r| r.kind() == MemKind::Usable) {
        fail!("memory map has no usable RAM");
    }
}

fn read_module(si: &StartInfo) -> PhysRange {
    match si.nr_modules {
        0 => fail!("no module given: pass the root image with -initrd"),
        1 => {}
        n => fail!("{n} modules given: expected exactly one, the root image"),
    }
    let m: ModEntry = read_phys(si.modlist_paddr, "module list");
    let range = PhysRange::new(m.paddr, m.size);
    if m.size == 0 {
        fail!("the root image module is empty");
    }
    if m.paddr == 0 || range.end > MAPPED_LIMIT || range.len() != m.size {
        fail!("root image at [{:#x}, +{:#x}) is outside the first 4 GiB", m.paddr, m.size);
    }
    range
}
