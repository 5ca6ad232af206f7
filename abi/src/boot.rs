//! The boot-information structure the loader hands to the kernel, and the address-space
//! layout both sides agree on.
//!
//! The loader enters the kernel at its ELF entry point in 64-bit mode with interrupts off and
//! `rdi` holding the *physical* address of a [`BootInfo`]. At that moment the loader's page
//! tables map: the first 4 GiB of physical memory 1:1, all physical memory at
//! [`DIRECT_MAP_BASE`], and the kernel's segments at their link addresses
//! (`KERNEL_VIRT_OFFSET + physical`). The kernel replaces these tables early.

/// Kernel virtual address = this offset + physical address (the top 2 GiB, the kernel code model).
pub const KERNEL_VIRT_OFFSET: u64 = 0xffff_ffff_8000_0000;
/// Start of the direct map of physical memory (PML4 slot 256).
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;
/// Where the root image holds the kernel, as DragonFly's loader finds it.
pub const KERNEL_PATH: &str = "boot/kernel/kernel";

/// `BootInfo::magic`: "DFLYBOOT".
pub const BOOT_INFO_MAGIC: u64 = u64::from_le_bytes(*b"DFLYBOOT");
/// Bumped whenever [`BootInfo`]'s layout changes.
pub const BOOT_INFO_VERSION: u32 = 1;
/// Capacity of [`BootInfo::mem_regions`].
pub const MAX_MEM_REGIONS: usize = 128;
/// Capacity of [`BootInfo::cmdline`], in bytes.
pub const CMDLINE_MAX: usize = 2048;
/// Capacity of [`BootInfo::loader_ranges`].
pub const MAX_LOADER_RANGES: usize = 16;
/// Size of a page.
pub const PAGE_SIZE: u64 = 4096;

/// A half-open physical address range `[start, end)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhysRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl PhysRange {
    /// The empty range.
    pub const EMPTY: PhysRange = PhysRange { start: 0, end: 0 };

    /// A range from its first byte and its length (saturating at the top of the address space).
    pub const fn new(start: u64, len: u64) -> PhysRange {
        PhysRange { start, end: start.saturating_add(len) }
    }

    /// Length in bytes (0 for an inverted range).
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True when the range holds no byte.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// True when the two ranges share at least one byte.
    pub const fn overlaps(&self, other: &PhysRange) -> bool {
        !self.is_empty() && !other.is_empty() && self.start < other.end && other.start < self.end
    }

    /// True when `other` lies entirely inside `self`.
    pub const fn contains_range(&self, other: &PhysRange) -> bool {
        other.start >= self.start && other.end <= self.end
    }
}

/// What a region of the physical memory map holds (E820 numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemKind {
    /// RAM free for the kernel to use (minus the ranges the loader reports as used).
    Usable,
    /// Firmware or device space: never touch.
    Reserved,
    /// ACPI tables: RAM the kernel may reclaim once it has read them.
    AcpiReclaimable,
    /// ACPI non-volatile storage: never touch.
    AcpiNvs,
    /// Defective RAM.
    Unusable,
}

impl MemKind {
    /// The E820 type number.
    pub const fn to_raw(self) -> u32 {
        match self {
            MemKind::Usable => 1,
            MemKind::Reserved => 2,
            MemKind::AcpiReclaimable => 3,
            MemKind::AcpiNvs => 4,
            MemKind::Unusable => 5,
        }
    }

    /// From an E820 type number; unknown types are treated as reserved.
    pub const fn from_raw(raw: u32) -> MemKind {
        match raw {
            1 => MemKind::Usable,
            3 => MemKind::AcpiReclaimable,
            4 => MemKind::AcpiNvs,
            5 => MemKind::Unusable,
            _ => MemKind::Reserved,
        }
    }
}

/// One region of the physical memory map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemRegion {
    /// The physical range.
    pub range: PhysRange,
    /// A [`MemKind`] as its E820 number.
    pub kind: u32,
    /// Keeps the layout free of implicit padding.
    pub reserved: u32,
}

impl MemRegion {
    /// A region of the given kind.
    pub const fn new(range: PhysRange, kind: MemKind) -> MemRegion {
        MemRegion { range, kind: kind.to_raw(), reserved: 0 }
    }

    /// The region's kind.
    pub const fn kind(&self) -> MemKind {
        MemKind::from_raw(self.kind)
    }
}

/// Everything the kernel learns from the loader. Fixed size, no pointers: the loader fills
/// it in place and the kernel copies it before it reuses the loader's memory.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BootInfo {
    /// [`BOOT_INFO_MAGIC`].
    pub magic: u64,
    /// [`BOOT_INFO_VERSION`].
    pub version: u32,
    /// `size_of::<BootInfo>()` as the loader saw it.
    pub size: u32,
    /// Number of valid entries in `mem_regions`.
    pub mem_region_count: u32,
    /// Number of valid bytes in `cmdline`.
    pub cmdline_len: u32,
    /// The memory map: sorted by address, non-overlapping, empty entries removed.
    pub mem_regions: [MemRegion; MAX_MEM_REGIONS],
    /// The kernel command line (not NUL-terminated).
    pub cmdline: [u8; CMDLINE_MAX],
    /// Physical address of the ACPI RSDP, or 0 when the firmware gave none.
    pub rsdp: u64,
    /// The root image (cpio newc) as QEMU loaded it.
    pub root_image: PhysRange,
    /// The span of the kernel's loaded segments.
    pub kernel_image: PhysRange,
    /// A copy of the kernel's `.symtab` (array of `Elf64_Sym`), empty if it had none.
    pub kernel_symtab: PhysRange,
    /// A copy of the kernel's `.strtab`, empty if it had none.
    pub kernel_strtab: PhysRange,
    /// Other memory the loader used that is live at kernel entry (its own image, stack,
    /// page tables, this structure).
    pub loader_ranges: [PhysRange; MAX_LOADER_RANGES],
    /// Number of valid entries in `loader_ranges`.
    pub loader_range_count: u32,
    /// Keeps the layout free of implicit padding.
    pub reserved: u32,
    /// Physical address of a free page below 1 MiB kept for the application-processor
    /// trampoline, or 0 when none was found.
    pub ap_trampoline: u64,
}

impl BootInfo {
    /// An empty structure with the magic, version and size filled in.
    pub const fn new() -> BootInfo {
        BootInfo {
            magic: BOOT_INFO_MAGIC,
            version: BOOT_INFO_VERSION,
            size: core::mem::size_of::<BootInfo>() as u32,
            mem_region_count: 0,
            cmdline_len: 0,
            mem_regions: [MemRegion { range: PhysRange::EMPTY, kind: 0, reserved: 0 }; MAX_MEM_REGIONS],
            cmdline: [0; CMDLINE_MAX],
            rsdp: 0,
            root_image: PhysRange::EMPTY,
            kernel_image: PhysRange::EMPTY,
            kernel_symtab: PhysRange::EMPTY,
            kernel_strtab: PhysRange::EMPTY,
            loader_ranges: [PhysRange::EMPTY; MAX_LOADER_RANGES],
            loader_range_count: 0,
            reserved: 0,
            ap_trampoline: 0,
        }
    }

    /// True when magic, version and size match this build.
    pub fn is_valid(&self) -> bool {
        self.magic == BOOT_INFO_MAGIC
            && self.version == BOOT_INFO_VERSION
            && self.size as usize == core::mem::size_of::<BootInfo>()
    }

    /// The valid part of the memory map.
    pub fn mem_map(&self) -> &[MemRegion] {
        &self.mem_regions[..(self.mem_region_count as usize).min(MAX_MEM_REGIONS)]
    }

    /// The command line bytes.
    pub fn cmdline(&self) -> &[u8] {
        &self.cmdline[..(self.cmdline_len as usize).min(CMDLINE_MAX)]
    }

    /// The valid loader ranges.
    pub fn loader_ranges(&self) -> &[PhysRange] {
        &self.loader_ranges[..(self.loader_range_count as usize).min(MAX_LOADER_RANGES)]
    }

    /// Stores a command line, truncating it at [`CMDLINE_MAX`] bytes.
    pub fn set_cmdline(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(CMDLINE_MAX);
        self.cmdline[..n].copy_from_slice(&bytes[..n]);
        self.cmdline_len = n as u32;
    }

    /// Appends a memory region; returns false when the map is full.
    pub fn push_region(&mut self, region: MemRegion) -> bool {
        let n = self.mem_region_count as usize;
        if n >= MAX_MEM_REGIONS {
            return false;
        }
        self.mem_regions[n] = region;
        self.mem_region_count += 1;
        true
    }

    /// Records a range the loader used; returns false when the list is full.
    pub fn push_loader_range(&mut self, range: PhysRange) -> bool {
        let n = self.loader_range_count as usize;
        if n >= MAX_LOADER_RANGES {
            return false;
        }
        self.loader_ranges[n] = range;
        self.loader_range_count += 1;
        true
    }

    /// Sorts the memory map, drops empty entries and resolves overlaps. Where regions of
    /// different kinds overlap the stricter one wins: usable RAM is never claimed where
    /// the firmware also reports something else.
    pub fn normalize_mem_map(&mut self) {
        let n = (self.mem_region_count as usize).min(MAX_MEM_REGIONS);
        let map = &mut self.mem_regions[..n];
        map.sort_unstable_by_key(|r| (r.range.start, r.range.end));
        let mut out = 0usize;
        for i in 0..n {
            let mut cur = map[i];
            // Compare against the last region kept until `cur` is placed or consumed; keeping
            // the output sorted and disjoint may pop a usable region cut to nothing.
            let keep = loop {
                if cur.range.is_empty() {
                    break false;
                }
                if out == 0 {
                    break true;
                }
                let prev = &mut map[out - 1];
                if cur.range.start > prev.range.end {
                    break true;
                }
                if cur.kind() == prev.kind() {
                    prev.range.end = prev.range.end.max(cur.range.end);
                    break false;
                }
                if cur.range.start == prev.range.end {
                    break true;
                }
                if prev.kind() == MemKind::Usable {
                    // Give up the usable tail (even past `cur`): losing RAM is safe.
                    prev.range.end = cur.range.start;
                    if prev.range.is_empty() {
                        out -= 1;
                        continue;
                    }
                    break true;
                }
                cur.range.start = prev.range.end;
            };
            if keep {
                map[out] = cur;
                out += 1;
            }
        }
        for r in &mut self.mem_regions[out..n] {
            *r = MemRegion::default();
        }
        self.mem_region_count = out as u32;
    }
}

impl Default for BootInfo {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;
    use std::vec::Vec;

    fn map_of(regions: &[(u64, u64, MemKind)]) -> Box<BootInfo> {
        let mut bi = Box::new(BootInfo::new());
        for &(s, e, k) in regions {
            assert!(bi.push_region(MemRegion::new(PhysRange { start: s, end: e }, k)));
        }
        bi.normalize_mem_map();
        bi
    }

    fn flat(bi: &BootInfo) -> Vec<(u64, u64, MemKind)> {
        bi.mem_map().iter().map(|r| (r.range.start, r.range.end, r.kind())).collect()
    }

    #[test]
    fn sorts_and_drops_empty_and_zero_entries() {
        use MemKind::*;
        let bi = map_of(&[
            (0x100000, 0x800000, Usable),
            (0, 0, Usable),
            (0, 0x9fc00, Usable),
            (0xf0000, 0x100000, Reserved),
        ]);
        assert_eq!(
            flat(&bi),
            [(0, 0x9fc00, Usable), (0xf0000, 0x100000, Reserved), (0x100000, 0x800000, Usable)]
        );
    }

    #[test]
    fn merges_touching_regions_of_one_kind() {
        use MemKind::*;
        let bi = map_of(&[(0x2000, 0x3000, Usable), (0x1000, 0x2000, Usable), (0x2800, 0x4000, Usable)]);
        assert_eq!(flat(&bi), [(0x1000, 0x4000, Usable)]);
    }

    #[test]
    fn reserved_wins_over_usable_in_overlaps() {
        use MemKind::*;
        let bi = map_of(&[(0x0, 0x10000, Usable), (0x8000, 0x9000, Reserved)]);
        assert_eq!(flat(&bi), [(0x0, 0x8000, Usable), (0x8000, 0x9000, Reserved)]);
        let bi = map_of(&[(0x0, 0x9000, Reserved), (0x8000, 0x10000, Usable)]);
        assert_eq!(flat(&bi), [(0x0, 0x9000, Reserved), (0x9000, 0x10000, Usable)]);
    }

    #[test]
    fn result_is_sorted_and_disjoint_for_arbitrary_input() {
        // A small deterministic generator: no dependency needed.
        let mut seed = 0x2545f4914f6cdd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let mut bi = Box::new(BootInfo::new());
            for _ in 0..(next() % 20) {
                let s = next() % 0x100;
                let e = next() % 0x100;
                bi.push_region(MemRegion {
                    range: PhysRange { start: s, end: e },
                    kind: (next() % 7) as u32,
                    reserved: 0,
                });
            }
            bi.normalize_mem_map();
            let m = bi.mem_map();
            for r in m {
                assert!(!r.range.is_empty());
            }
            for w in m.windows(2) {
                assert!(w[0].range.end <= w[1].range.start, "{:?}", m);
            }
        }
    }

    #[test]
    fn cmdline_is_truncated_not_overflowed() {
        let mut bi = Box::new(BootInfo::new());
        bi.set_cmdline(&[b'x'; CMDLINE_MAX + 10]);
        assert_eq!(bi.cmdline().len(), CMDLINE_MAX);
        assert!(bi.is_valid());
    }
}

/// The words of a kernel command line as Linux's `next_arg` splits them: runs of
/// non-space characters, or a run that starts with `"` and ends at the next `"` (the quotes
/// dropped, spaces kept; there is no escape for a quote inside). Borrowed, so the kernel
/// can split before it has a heap.
pub fn cmdline_words(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = line;
    core::iter::from_fn(move || {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if rest.is_empty() {
            return None;
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            let word = &quoted[..end];
            rest = quoted.get(end + 1..).unwrap_or("");
            Some(word)
        } else {
            let end = rest.find(|c: char| c.is_ascii_whitespace()).unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            Some(word)
        }
    })
}

#[cfg(test)]
mod cmdline_tests {
    use super::cmdline_words;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn splits_like_linux() {
        let w: Vec<&str> = cmdline_words(r#"  a "b c" "" d"e  "unterminated x"#).collect();
        assert_eq!(w, ["a", "b c", "", "d\"e", "unterminated x"]);
        assert_eq!(cmdline_words("   ").count(), 0);
    }
}
