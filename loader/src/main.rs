//! The Damselfly boot loader. QEMU starts it through PVH (`-kernel loader -initrd root.cpio`);
//! it finds `boot/kernel/kernel` in the root image, loads it at its physical addresses, maps
//! it at its higher-half link addresses and enters it with a [`abi::boot::BootInfo`].
#![no_std]
#![no_main]

extern crate alloc;

mod elf_load;
mod entry;
mod exit;
mod frames;
mod heap;
mod paging;
mod serial;
mod start_info;

use abi::boot::{BootInfo, MemKind, PhysRange, KERNEL_PATH, PAGE_SIZE};
use abi::cpio;
use alloc::boxed::Box;
use frames::{page_up, Frames};

/// Pages of stack the kernel starts on.
const KERNEL_STACK_PAGES: u64 = 16;
/// Preferred page for the AP trampoline.
const AP_TRAMPOLINE_PREFERRED: u64 = 0x8000;

extern "C" {
    static __loader_start: u8;
    static __loader_end: u8;
}

/// The loader's own image: code, data, .bss (stack, boot page tables, heap).
fn loader_image() -> PhysRange {
    // Only the addresses of the linker-script symbols are taken, never their contents.
    let (start, end) = (&raw const __loader_start as u64, &raw const __loader_end as u64);
    PhysRange { start, end }
}

/// Called from the long-mode entry with the physical address of `hvm_start_info`.
#[no_mangle]
extern "C" fn loader_main(start_info: u64) -> ! {
    serial::init();
    println!("Damselfly loader {}", env!("CARGO_PKG_VERSION"));

    let mut info = Box::new(BootInfo::new());
    start_info::read(start_info, &mut info);
    let usable: u64 =
        info.mem_map().iter().filter(|r| r.kind() == MemKind::Usable).map(|r| r.range.len()).sum();
    println!(
        "memory map: {} regions, {} MiB usable; root image at {:#x} ({} bytes)",
        info.mem_map().len(),
        usable >> 20,
        info.root_image.start,
        info.root_image.len()
    );

    let root = info.root_image;
    // SAFETY: start_info::read checked the module lies below 4 GiB (identity-mapped); nothing
    // writes to it while the loader runs: the kernel and allocations are kept clear of it.
    let image = unsafe { core::slice::from_raw_parts(root.start as *const u8, root.len() as usize) };
    let file = match cpio::find(image, KERNEL_PATH) {
        Ok(Some(e)) if e.header.mode & cpio::mode::S_IFMT == cpio::mode::S_IFREG => e.data,
        Ok(Some(_)) => fail!("{KERNEL_PATH} in the root image is not a regular file"),
        Ok(None) => fail!("{KERNEL_PATH} not found in the root image"),
        Err(cpio::Error::Truncated) => fail!("root image truncated: archive truncated before {KERNEL_PATH}"),
        Err(e) => fail!("root image is not a cpio newc archive: {e}"),
    };

    let loader = loader_image();
    let kernel = elf_load::parse(file, &info, &[("root image", root), ("loader", loader)]);
    elf_load::copy_segments(&kernel);
    info.kernel_image = kernel.image;
    println!(
        "kernel: {} bytes, entry {:#x}, loaded at [{:#x}, {:#x}), {} symbol bytes",
        file.len(),
        kernel.entry,
        kernel.image.start,
        kernel.image.end,
        kernel.symtab.len()
    );

    let mut frames = Frames::new(&info, kernel.image.end, &[root, loader, kernel.image]);
    info.kernel_symtab = copy_out(&mut frames, kernel.symtab, ".symtab copy");
    info.kernel_strtab = copy_out(&mut frames, kernel.strtab, ".strtab copy");
    let stack = frames.alloc(KERNEL_STACK_PAGES, "kernel stack");
    let stack_top = stack + KERNEL_STACK_PAGES * PAGE_SIZE;
    let info_pages = page_up(core::mem::size_of::<BootInfo>() as u64) / PAGE_SIZE;
    let info_paddr = frames.alloc(info_pages, "BootInfo");
    // Reserved holes (e.g. the 1 TiB HyperTransport range QEMU reports for AMD-like CPUs) are
    // not memory: mapping up to them would cost megabytes of page tables for nothing.
    let phys_top = info.mem_map().iter().filter(|r| r.kind() != MemKind::Reserved).map(|r| r.range.end).max();
    let phys_top = phys_top.unwrap_or(0);
    let pml4 = paging::build(&mut frames, &kernel, phys_top);

    info.ap_trampoline = ap_trampoline(&info, &[root, loader, kernel.image]);
    if !info.push_loader_range(loader) {
        fail!("no room for the loader's ranges in BootInfo");
    }
    for &span in frames.spans() {
        if !info.push_loader_range(span) {
            fail!("no room for the loader's ranges in BootInfo");
        }
    }
    // SAFETY: `info_paddr` is freshly allocated, zeroed RAM below 4 GiB of at least
    // size_of::<BootInfo>() bytes, page-aligned.
    unsafe { (info_paddr as *mut BootInfo).write(*info) };

    println!("entering kernel at {:#x}", kernel.entry);
    // SAFETY: the tables map this code 1:1, the kernel at its link addresses and the stack;
    // the BootInfo is in place.
    unsafe { entry::jump_to_kernel(pml4, kernel.entry, info_paddr, stack_top) }
}

/// Copies `bytes` to fresh pages; returns their exact range (empty for no bytes).
fn copy_out(frames: &mut Frames, bytes: &[u8], what: &str) -> PhysRange {
    if bytes.is_empty() {
        return PhysRange::EMPTY;
    }
    let paddr = frames.alloc(page_up(bytes.len() as u64) / PAGE_SIZE, what);
    // SAFETY: the pages are fresh and clear of the root image the bytes come from.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), paddr as *mut u8, bytes.len()) };
    PhysRange::new(paddr, bytes.len() as u64)
}

/// A usable page in [0x1000, 1 MiB) clear of `used`, preferring 0x8000; 0 when none.
fn ap_trampoline(info: &BootInfo, used: &[PhysRange]) -> u64 {
    let ok = |p: u64| {
        let page = PhysRange::new(p, PAGE_SIZE);
        info.mem_map().iter().any(|r| r.kind() == MemKind::Usable && r.range.contains_range(&page))
            && !used.iter().any(|u| u.overlaps(&page))
    };
    if ok(AP_TRAMPOLINE_PREFERRED) {
        return AP_TRAMPOLINE_PREFERRED;
    }
    (0x1000..0x10_0000).step_by(PAGE_SIZE as usize).find(|&p| ok(p)).unwrap_or(0)
}
