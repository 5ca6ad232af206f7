//! The vm_map (DragonFly's vm_map.c): the entries of one address space, sorted by start in
//! a BTreeMap, non-overlapping. Entries are never merged; clipping splits one in two with the
//! object offset adjusted, so each half still maps the same object pages.
use super::object::VmObject;
use super::{Prot, PAGE, USER_MAX, USER_MIN};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// What a vmspace copy (fork) does with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inherit {
    /// The child maps the same object (shared memory).
    Share,
    /// The child gets a copy-on-write copy (private memory).
    Copy,
    /// The child gets nothing here (MADV_DONTFORK).
    None,
    /// The child gets fresh zero-filled memory (MADV_WIPEONFORK).
    Zero,
}

bitflags::bitflags! {
    /// Entry flags.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct EntryFlags: u8 {
        /// Grows down on a fault just below it (MAP_GROWSDOWN stacks).
        const GROWS_DOWN = 1;
        /// MAP_SHARED: writes go to the object, which a fork shares.
        const SHARED = 2;
        /// Private, and the object may be referenced elsewhere: shadow it before writing.
        const NEEDS_COPY = 4;
        /// mlock'd (MAP_LOCKED, mlock): counts against RLIMIT_MEMLOCK; not inherited by fork.
        const LOCKED = 8;
    }
}

/// One mapping.
#[derive(Clone)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    pub prot: Prot,
    /// The most `prot` may become (mprotect beyond it is EACCES).
    pub max_prot: Prot,
    pub inherit: Inherit,
    pub object: Arc<VmObject>,
    /// Page index in `object` of `start`.
    pub offset: u64,
    pub flags: EntryFlags,
    /// The file a file mapping was made from, as the VFS names it (its namecache handle;
    /// /proc/PID/maps shows its path, device and inode). `None` for anonymous memory.
    pub file: Option<Arc<dyn core::any::Any + Send + Sync>>,
}

impl MapEntry {
    /// The object page index of address `va` (inside the entry).
    pub fn pindex(&self, va: u64) -> u64 {
        self.offset + (va - self.start) / PAGE
    }

    /// Pages covered.
    pub fn pages(&self) -> u64 {
        (self.end - self.start) / PAGE
    }

    /// True when writes go straight into `object` and no other mapping can see the pages
    /// of this entry's index range: private, no NEEDS_COPY. Such pages may be freed when
    /// the range goes away.
    pub fn owns_pages(&self) -> bool {
        !self.flags.intersects(EntryFlags::SHARED | EntryFlags::NEEDS_COPY)
    }
}

/// The entries of one address space plus its program break.
pub struct VmMap {
    entries: BTreeMap<u64, MapEntry>,
    /// Where the heap starts (set by exec); 0 when brk is not set up.
    pub brk_base: u64,
    /// The current break (byte address, not page aligned).
    pub brk: u64,
}

impl Default for VmMap {
    fn default() -> Self {
        Self::new()
    }
}

impl VmMap {
    /// An empty map.
    pub const fn new() -> VmMap {
        VmMap { entries: BTreeMap::new(), brk_base: 0, brk: 0 }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &MapEntry> {
        self.entries.values()
    }

    /// Every entry, mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut MapEntry> {
        self.entries.values_mut()
    }

    /// The entry containing `va`.
    pub fn lookup(&self, va: u64) -> Option<&MapEntry> {
        self.entries.range(..=va).next_back().map(|(_, e)| e).filter(|e| va < e.end)
    }

    /// The entry containing `va`, mutable.
    pub fn lookup_mut(&mut self, va: u64) -> Option<&mut MapEntry> {
        self.entries.range_mut(..=va).next_back().map(|(_, e)| e).filter(|e| va < e.end)
    }

    /// The first entry starting above `va`.
    pub fn next_after(&self, va: u64) -> Option<&MapEntry> {
        self.entries.range(va + 1..).next().map(|(_, e)| e)
    }

    /// The last entry ending at or below `va`.
    pub fn prev_before(&self, va: u64) -> Option<&MapEntry> {
        self.entries.range(..va).next_back().map(|(_, e)| e).filter(|e| e.end <= va)
    }

    /// Inserts an entry; the caller made sure its range is free.
    pub fn insert(&mut self, e: MapEntry) {
        debug_assert!(self.is_free(e.start, e.end), "vm_map: overlapping insert {:#x}", e.start);
        self.entries.insert(e.start, e);
    }

    /// Removes and returns the entry starting at `start`.
    pub fn remove_at(&mut self, start: u64) -> Option<MapEntry> {
        self.entries.remove(&start)
    }

    /// Moves the entry starting at `old_start` to start at `new_start` (grows-down).
    pub fn rekey(&mut self, old_start: u64, new_start: u64) {
        if let Some(mut e) = self.entries.remove(&old_start) {
            e.start = new_start;
            self.entries.insert(new_start, e);
        }
    }

    /// True when no entry overlaps `[start, end)`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        self.entries.range(..end).next_back().is_none_or(|(_, e)| e.end <= start)
    }

    /// True when entries cover `[start, end)` without a hole.
    pub fn is_covered(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        while at < end {
            match self.lookup(at) {
                Some(e) => at = e.end,
                None => return false,
            }
        }
        true
    }

    /// Splits the entry containing `va` so that an entry starts at `va` (vm_map_clip_start).
    pub fn split_at(&mut self, va: u64) {
        let Some(e) = self.lookup_mut(va) else { return };
        if e.start == va {
            return;
        }
        let mut upper = e.clone();
        e.end = va;
        upper.offset = upper.pindex(va);
        upper.start = va;
        self.entries.insert(va, upper);
    }

    /// Splits entries so that `[start, end)` is covered by whole entries.
    pub fn clip(&mut self, start: u64, end: u64) {
        self.split_at(start);
        self.split_at(end);
    }

    /// Starts of the entries overlapping `[start, end)` (after a `clip`, exactly those
    /// inside it).
    pub fn starts_in(&self, start: u64, end: u64) -> Vec<u64> {
        let first = self.lookup(start).map_or(start, |e| e.start);
        self.entries.range(first..end).filter(|(_, e)| e.end > start).map(|(k, _)| *k).collect()
    }

    /// The entry starting at `start`.
    pub fn at(&self, start: u64) -> Option<&MapEntry> {
        self.entries.get(&start)
    }

    /// The entry starting at `start`, mutable.
    pub fn at_mut(&mut self, start: u64) -> Option<&mut MapEntry> {
        self.entries.get_mut(&start)
    }

    /// The highest free range of `len` bytes inside `[lo, hi)` (top-down, as Linux places
    /// mmaps), or `None`.
    pub fn find_space_top_down(&self, len: u64, lo: u64, hi: u64) -> Option<u64> {
        let lo = lo.max(USER_MIN);
        let hi = hi.min(USER_MAX);
        if len == 0 || hi < lo || hi - lo < len {
            return None;
        }
        // Walk gaps from the top: between each entry's end and the next entry's start.
        let mut top = hi;
        for (_, e) in self.entries.range(..hi).rev() {
            if e.end < top && top - e.end.max(lo) >= len && e.end.max(lo) < top {
                return Some(top - len);
            }
            top = top.min(e.start);
            if top <= lo {
                return None;
            }
        }
        (top >= lo && top - lo >= len).then(|| top - len)
    }
}
