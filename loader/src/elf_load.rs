//! Validating the kernel ELF (it comes from a file in the root image, so it may be anything)
//! and copying its segments to their physical addresses.

use crate::fail;
use crate::frames::{page_down, page_up};
use abi::boot::{BootInfo, MemKind, PhysRange, KERNEL_PATH, KERNEL_VIRT_OFFSET};
use alloc::vec::Vec;
use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::{
    EI_CLASS, EI_DATA, EI_VERSION, ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_X86_64, ET_EXEC,
};
use goblin::elf::program_header::{PF_X, PT_LOAD};
use goblin::elf::section_header::{SHT_STRTAB, SHT_SYMTAB};
use goblin::elf::{Elf, ProgramHeader, SectionHeader};

/// The kernel must load at or above 16 MiB: everything below belongs to firmware and the loader.
const KERNEL_MIN_PADDR: u64 = 16 << 20;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const SHDR_SIZE: usize = 64;
const SYM_SIZE: u64 = 24;
const MAX_PHDRS: usize = 64;

/// One PT_LOAD segment, validated.
pub struct Segment<'a> {
    /// Physical load address.
    pub paddr: u64,
    /// Link address (`KERNEL_VIRT_OFFSET + paddr`).
    pub vaddr: u64,
    /// Size in memory.
    pub memsz: u64,
    /// The initialised part, from the file.
    pub data: &'a [u8],
}

/// A validated kernel image.
pub struct Kernel<'a> {
    /// The entry point (virtual).
    pub entry: u64,
    /// Its loadable segments.
    pub segments: Vec<Segment<'a>>,
    /// The page-rounded physical span of all segments.
    pub image: PhysRange,
    /// The `.symtab` contents (empty when stripped).
    pub symtab: &'a [u8],
    /// The `.strtab` the symbol table names.
    pub strtab: &'a [u8],
}

/// The bytes `[off, off+len)` of the file, or an error naming `what` as truncated.
fn file_range<'a>(data: &'a [u8], off: u64, len: u64, what: &str) -> &'a [u8] {
    let end = off.checked_add(len);
    match end.and_then(|e| data.get(usize::try_from(off).ok()?..usize::try_from(e).ok()?)) {
        Some(s) => s,
        None => fail!(
            "{KERNEL_PATH} truncated: {what} at [{off:#x}, +{len:#x}) lies past the end of the {}-byte file",
            data.len()
        ),
    }
}

/// Checks everything about the kernel file; `forbidden` names ranges it must not load over.
pub fn parse<'a>(data: &'a [u8], info: &BootInfo, forbidden: &[(&str, PhysRange)]) -> Kernel<'a> {
    check_ident(data);
    let header = match Elf::parse_header(data) {
        Ok(h) => h,
        Err(e) => fail!("{KERNEL_PATH}: bad ELF header: {e}"),
    };
    if header.e_machine != EM_X86_64 {
        fail!("{KERNEL_PATH} is an ELF for machine {} (not x86_64)", header.e_machine);
    }
    if header.e_type != ET_EXEC {
        fail!("{KERNEL_PATH} has ELF type {} (need an executable, ET_EXEC)", header.e_type);
    }
    let ctx = Ctx::new(Container::Big, Endian::Little);

    let phnum = usize::from(header.e_phnum);
    if usize::from(header.e_phentsize) != PHDR_SIZE || phnum == 0 || phnum > MAX_PHDRS {
        fail!("{KERNEL_PATH}: bad program header table ({phnum} entries of {} bytes)", header.e_phentsize);
    }
    file_range(data, header.e_phoff, (phnum * PHDR_SIZE) as u64, "program header table");
    let phdrs = match ProgramHeader::parse(data, header.e_phoff as usize, phnum, ctx) {
        Ok(p) => p,
        Err(e) => fail!("{KERNEL_PATH} truncated: program headers: {e}"),
    };

    let mut segments = Vec::new();
    for (i, ph) in phdrs.iter().enumerate().filter(|(_, p)| p.p_type == PT_LOAD && p.p_memsz > 0) {
        segments.push(check_segment(data, i, ph, info, forbidden));
    }
    if segments.is_empty() {
        fail!("{KERNEL_PATH} has no loadable segment");
    }
    for (i, a) in segments.iter().enumerate() {
        for b in &segments[i + 1..] {
            if PhysRange::new(a.paddr, a.memsz).overlaps(&PhysRange::new(b.paddr, b.memsz)) {
                fail!("{KERNEL_PATH}: segments at {:#x} and {:#x} overlap", a.paddr, b.paddr);
            }
        }
    }
    let entry = header.e_entry;
    let entry_ok = phdrs.iter().any(|p| {
        p.p_type == PT_LOAD
            && p.p_flags & PF_X != 0
            && entry >= p.p_vaddr
            && entry - p.p_vaddr < p.p_memsz.min(p.p_filesz)
    });
    if !entry_ok {
        fail!("{KERNEL_PATH}: entry point {entry:#x} is not inside an executable segment");
    }
    let start = segments.iter().map(|s| page_down(s.paddr)).min().unwrap_or(0);
    let end = segments.iter().map(|s| page_up(s.paddr + s.memsz)).max().unwrap_or(0);

    let (symtab, strtab) = symbol_tables(data, &header, ctx);
    Kernel { entry, segments, image: PhysRange { start, end }, symtab, strtab }
}

fn check_ident(data: &[u8]) {
    if data.len() < ELFMAG.len() {
        if ELFMAG.starts_with(data) {
            fail!("{KERNEL_PATH} truncated: {} bytes, not an ELF header", data.len());
        }
        fail!("{KERNEL_PATH} is not an ELF file ({} bytes of garbage)", data.len());
    }
    if data[..ELFMAG.len()] != *ELFMAG {
        fail!(
            "{KERNEL_PATH} is not an ELF file (starts with {:02x} {:02x} {:02x} {:02x})",
            data[0],
            data[1],
            data[2],
            data[3]
        );
    }
    if data.len() < EHDR_SIZE {
        fail!("{KERNEL_PATH} truncated: {} bytes, shorter than an ELF header", data.len());
    }
    if data[EI_CLASS] != ELFCLASS64 {
        fail!("{KERNEL_PATH} is not a 64-bit ELF (class {})", data[EI_CLASS]);
    }
    if data[EI_DATA] != ELFDATA2LSB {
        fail!("{KERNEL_PATH} is not a little-endian ELF (data encoding {})", data[EI_DATA]);
    }
    if data[EI_VERSION] != 1 {
        fail!("{KERNEL_PATH}: unknown ELF version {}", data[EI_VERSION]);
    }
}

fn check_segment<'a>(
    data: &'a [u8],
    i: usize,
    ph: &ProgramHeader,
    info: &BootInfo,
    forbidden: &[(&str, PhysRange)],
) -> Segment<'a> {
    let (paddr, vaddr, memsz) = (ph.p_paddr, ph.p_vaddr, ph.p_memsz);
    if ph.p_filesz > memsz {
        fail!("{KERNEL_PATH}: segment {i}: file size {:#x} > memory size {memsz:#x}", ph.p_filesz);
    }
    let bytes = file_range(data, ph.p_offset, ph.p_filesz, "a loadable segment");
    let Some(end) = paddr.checked_add(memsz) else {
        fail!("{KERNEL_PATH}: segment {i}: physical range overflows");
    };
    if paddr < KERNEL_MIN_PADDR {
        fail!("{KERNEL_PATH}: segment {i} loads at {paddr:#x}, below 16 MiB");
    }
    // The top 2 GiB mirror physical [0, 2 GiB): the whole segment must fit, end included, so
    // later `vaddr + memsz` arithmetic cannot overflow.
    if KERNEL_VIRT_OFFSET.checked_add(end).is_none() || vaddr != KERNEL_VIRT_OFFSET.wrapping_add(paddr) {
        fail!(
            "{KERNEL_PATH}: segment {i}: virtual {vaddr:#x} is not {KERNEL_VIRT_OFFSET:#x} + physical {paddr:#x}"
        );
    }
    let pages = PhysRange { start: page_down(paddr), end: page_up(end) };
    let in_ram = info.mem_map().iter().any(|r| r.kind() == MemKind::Usable && r.range.contains_range(&pages));
    if !in_ram {
        fail!("{KERNEL_PATH}: segment {i} at [{paddr:#x}, {end:#x}) is not inside usable RAM");
    }
    for (name, r) in forbidden {
        let r = PhysRange { start: page_down(r.start), end: page_up(r.end) };
        if r.overlaps(&pages) {
            fail!("{KERNEL_PATH}: segment {i} at [{paddr:#x}, {end:#x}) overlaps the {name}");
        }
    }
    Segment { paddr, vaddr, memsz, data: bytes }
}

/// Finds `.symtab` (by type) and the string table it links to; empty slices when stripped.
fn symbol_tables<'a>(data: &'a [u8], header: &goblin::elf::Header, ctx: Ctx) -> (&'a [u8], &'a [u8]) {
    let shnum = usize::from(header.e_shnum);
    if header.e_shoff == 0 || shnum == 0 {
        return (&[], &[]);
    }
    if usize::from(header.e_shentsize) != SHDR_SIZE {
        fail!("{KERNEL_PATH}: section headers of {} bytes (need {SHDR_SIZE})", header.e_shentsize);
    }
    file_range(data, header.e_shoff, (shnum * SHDR_SIZE) as u64, "section header table");
    let shdrs = match SectionHeader::parse(data, header.e_shoff as usize, shnum, ctx) {
        Ok(s) => s,
        Err(e) => fail!("{KERNEL_PATH} truncated: section headers: {e}"),
    };
    let Some(sym) = shdrs.iter().find(|s| s.sh_type == SHT_SYMTAB) else {
        return (&[], &[]);
    };
    if sym.sh_size % SYM_SIZE != 0 || (sym.sh_entsize != 0 && sym.sh_entsize != SYM_SIZE) {
        fail!("{KERNEL_PATH}: .symtab size {:#x} is not a multiple of {SYM_SIZE}", sym.sh_size);
    }
    let Some(str_hdr) = shdrs.get(sym.sh_link as usize).filter(|s| s.sh_type == SHT_STRTAB) else {
        fail!("{KERNEL_PATH}: .symtab links to section {}, not a string table", sym.sh_link);
    };
    let symtab = file_range(data, sym.sh_offset, sym.sh_size, ".symtab");
    let strtab = file_range(data, str_hdr.sh_offset, str_hdr.sh_size, ".strtab");
    (symtab, strtab)
}

/// Copies each segment to its physical address and zeroes the rest of its memory size.
pub fn copy_segments(kernel: &Kernel) {
    for s in &kernel.segments {
        // SAFETY: `parse` checked each segment lies in usable RAM below 2 GiB (identity-mapped),
        // clear of the loader and of the root image the data is read from.
        unsafe {
            let dst = s.paddr as *mut u8;
            core::ptr::copy_nonoverlapping(s.data.as_ptr(), dst, s.data.len());
            core::ptr::write_bytes(dst.add(s.data.len()), 0, (s.memsz - s.data.len() as u64) as usize);
        }
    }
}
