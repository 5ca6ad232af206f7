//! The page tables the kernel starts on: [0, 4 GiB) identity-mapped (this code runs from it
//! across the CR3 switch), all physical memory at DIRECT_MAP_BASE (NX), and the kernel's
//! segments at their link addresses with 4 KiB pages.

use crate::elf_load::Kernel;
use crate::fail;
use crate::frames::{page_down, page_up, Frames};
use abi::boot::{DIRECT_MAP_BASE, KERNEL_VIRT_OFFSET, PAGE_SIZE};

const PRESENT: u64 = 1;
const WRITABLE: u64 = 1 << 1;
const HUGE: u64 = 1 << 7;
const NO_EXECUTE: u64 = 1 << 63;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
const SIZE_2M: u64 = 2 << 20;
const SIZE_1G: u64 = 1 << 30;
/// The direct map may use PML4 slots 256..=509; 511 holds the kernel.
const DIRECT_MAP_MAX: u64 = 254 << 39;

struct Tables<'f> {
    frames: &'f mut Frames,
    pml4: u64,
}

fn entry_ptr(table: u64, index: u64) -> *mut u64 {
    (table + index * 8) as *mut u64
}

impl Tables<'_> {
    /// The table that entry `index` of `table` points to, allocating it when absent.
    fn next(&mut self, table: u64, index: u64) -> u64 {
        let p = entry_ptr(table, index);
        // SAFETY: `table` is a page-table page this loader allocated below 4 GiB (identity-mapped).
        let e = unsafe { p.read() };
        if e & PRESENT != 0 {
            return e & ADDR_MASK;
        }
        let new = self.frames.alloc(1, "page tables");
        // SAFETY: as above; the new page is zeroed.
        unsafe { p.write(new | PRESENT | WRITABLE) };
        new
    }

    fn map_2m(&mut self, virt: u64, phys: u64, flags: u64) {
        let pdpt = self.next(self.pml4, (virt >> 39) & 511);
        let pd = self.next(pdpt, (virt >> 30) & 511);
        // SAFETY: `pd` is one of our page-table pages.
        unsafe { entry_ptr(pd, (virt >> 21) & 511).write(phys | flags | HUGE | PRESENT) };
    }

    fn map_4k(&mut self, virt: u64, phys: u64, flags: u64) {
        let pdpt = self.next(self.pml4, (virt >> 39) & 511);
        let pd = self.next(pdpt, (virt >> 30) & 511);
        let pt = self.next(pd, (virt >> 21) & 511);
        // SAFETY: `pt` is one of our page-table pages.
        unsafe { entry_ptr(pt, (virt >> 12) & 511).write(phys | flags | PRESENT) };
    }
}

/// Builds the tables; `phys_top` is the end of the highest memory-map region. Returns the PML4.
pub fn build(frames: &mut Frames, kernel: &Kernel, phys_top: u64) -> u64 {
    let pml4 = frames.alloc(1, "page tables");
    let mut t = Tables { frames, pml4 };

    for phys in (0..1u64 << 32).step_by(SIZE_2M as usize) {
        t.map_2m(phys, phys, WRITABLE);
    }

    let top = phys_top.checked_next_multiple_of(SIZE_1G).unwrap_or(u64::MAX).max(1 << 32);
    if top > DIRECT_MAP_MAX {
        fail!("physical memory reaches {phys_top:#x}: too large for the direct map");
    }
    for phys in (0..top).step_by(SIZE_2M as usize) {
        t.map_2m(DIRECT_MAP_BASE + phys, phys, WRITABLE | NO_EXECUTE);
    }

    // Writable and executable: the kernel re-maps itself W^X.
    for s in &kernel.segments {
        let start = page_down(s.vaddr);
        let end = page_up(s.vaddr + s.memsz);
        for virt in (start..end).step_by(PAGE_SIZE as usize) {
            t.map_4k(virt, virt - KERNEL_VIRT_OFFSET, WRITABLE);
        }
    }
    pml4
}
