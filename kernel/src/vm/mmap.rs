//! The kernel side of mmap, munmap, mprotect, mremap, brk and madvise (DragonFly's
//! vm_mmap.c with Linux semantics, man 2 of each). The syscall layer passes the user's raw
//! arguments; every one is checked here and a bad one is an errno (Linux numbering), never a
//! panic.
use super::map::{EntryFlags, Inherit, MapEntry, VmMap};
use super::object::VmObject;
use super::vmspace::VmSpace;
use super::{page_ceil, Prot, PAGE, USER_MAX, USER_MIN};
use crate::arch::x86_64::pmap::user::UserProt;
use abi::errno::{EACCES, EEXIST, EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, EPERM};
use abi::mman::*;
use alloc::sync::Arc;

/// Top-down placement of mappings without an address starts below this (Linux's
/// mmap_base: room for the stack above).
pub const MMAP_BASE: u64 = 0x7f00_0000_0000;
/// Object page index a grows-down mapping's start gets, so it can grow below it.
const GROW_BASE: u64 = 1 << 32;
/// MAP_32BIT places mappings in [1 GiB, 2 GiB), as Linux does on x86_64.
const MAP_32BIT_RANGE: (u64, u64) = (0x4000_0000, 0x8000_0000);

/// Flags MAP_SHARED_VALIDATE accepts (Linux's LEGACY_MAP_MASK plus FIXED_NOREPLACE).
const KNOWN_MAP_FLAGS: u64 = MAP_TYPE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_32BIT
    | MAP_GROWSDOWN
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_FIXED_NOREPLACE
    | MAP_HUGE_MASK;

/// What a new mapping maps.
pub enum MapSource {
    /// Fresh anonymous memory (MAP_ANONYMOUS).
    Anonymous,
    /// An existing object (a file's, from the VFS) from page `offset`; `max_prot` is what
    /// the open file allows; `file` names the file for /proc/PID/maps.
    Object {
        object: Arc<VmObject>,
        offset: u64,
        max_prot: Prot,
        file: Option<Arc<dyn core::any::Any + Send + Sync>>,
    },
}

fn user_prot(p: Prot) -> UserProt {
    UserProt { write: p.contains(Prot::WRITE), exec: p.contains(Prot::EXEC) }
}

/// mmap: maps `len` bytes of `source` with `prot` and `flags` (Linux values); returns the
/// address. Errors: EINVAL (zero length, bad type or prot, unaligned fixed address,
/// GROWSDOWN with SHARED), ENOMEM (no room, length overflow, beyond the user range,
/// MAP_HUGETLB without huge pages), EPERM (fixed below the minimum address), EEXIST
/// (MAP_FIXED_NOREPLACE over a mapping), EOPNOTSUPP (unknown flag with SHARED_VALIDATE),
/// EACCES (prot beyond what the object allows).
pub fn mmap(vs: &VmSpace, addr: u64, len: u64, prot: u64, flags: u64, source: MapSource) -> Result<u64, i32> {
    if len == 0 {
        return Err(EINVAL);
    }
    let shared = match flags & MAP_TYPE {
        MAP_SHARED => true,
        MAP_PRIVATE => false,
        MAP_SHARED_VALIDATE if flags & !KNOWN_MAP_FLAGS != 0 => return Err(EOPNOTSUPP),
        MAP_SHARED_VALIDATE => true,
        _ => return Err(EINVAL),
    };
    let prot = Prot::from_linux(prot).ok_or(EINVAL)?;
    let len = page_ceil(len).ok_or(ENOMEM)?;
    if len > USER_MAX - USER_MIN {
        return Err(ENOMEM);
    }
    if flags & MAP_HUGETLB != 0 {
        // No huge-page pool exists, as on a Linux with nr_hugepages = 0.
        return Err(ENOMEM);
    }
    let grows_down = flags & MAP_GROWSDOWN != 0;
    if grows_down && shared {
        return Err(EINVAL);
    }
    // A private mapping of an existing object must never write into it: copy-on-write from
    // the first write, as after a fork.
    let borrowed = matches!(source, MapSource::Object { .. }) && !shared;
    let (object, offset, max_prot, file) = match source {
        MapSource::Anonymous => {
            (VmObject::anonymous(), if grows_down { GROW_BASE } else { 0 }, Prot::all(), None)
        }
        MapSource::Object { object, offset, max_prot, file } => {
            if !max_prot.contains(prot) {
                return Err(EACCES);
            }
            (object, offset, max_prot, file)
        }
    };
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let mut map = vs.map.exclusive();
    let start = if fixed {
        if !addr.is_multiple_of(PAGE) {
            return Err(EINVAL);
        }
        let end = addr.checked_add(len).ok_or(ENOMEM)?;
        if end > USER_MAX {
            return Err(ENOMEM);
        }
        if addr < USER_MIN {
            return Err(EPERM);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 && !map.is_free(addr, end) {
            return Err(EEXIST);
        }
        vs.remove_range(&mut map, addr, end);
        addr
    } else {
        let (lo, hi) = if flags & MAP_32BIT != 0 { MAP_32BIT_RANGE } else { (USER_MIN, USER_MAX) };
        let hint = super::page_floor(addr);
        match hint.checked_add(len) {
            Some(e) if hint >= lo && e <= hi && map.is_free(hint, e) => hint,
            _ => map
                .find_space_top_down(len, lo, MMAP_BASE.min(hi))
                .or_else(|| map.find_space_top_down(len, lo, hi))
                .ok_or(ENOMEM)?,
        }
    };
    let mut eflags = EntryFlags::empty();
    if shared {
        eflags |= EntryFlags::SHARED;
    }
    if grows_down {
        eflags |= EntryFlags::GROWS_DOWN;
    }
    if borrowed {
        eflags |= EntryFlags::NEEDS_COPY;
    }
    if flags & MAP_LOCKED != 0 {
        eflags |= EntryFlags::LOCKED;
    }
    map.insert(MapEntry {
        start,
        end: start + len,
        prot,
        max_prot,
        inherit: if shared { Inherit::Share } else { Inherit::Copy },
        object,
        offset,
        flags: eflags,
        file,
    });
    drop(map);
    if flags & (MAP_POPULATE | MAP_LOCKED) != 0 && flags & MAP_NONBLOCK == 0 {
        // Failures are ignored, as Linux does; a thread being killed stops early and never
        // sees the result.
        let _ = super::residency::populate(vs, start, start + len);
    }
    Ok(start)
}

/// mmap of anonymous memory: [`mmap`] with [`MapSource::Anonymous`].
pub fn mmap_anon(vs: &VmSpace, addr: u64, len: u64, prot: u64, flags: u64) -> Result<u64, i32> {
    mmap(vs, addr, len, prot, flags | MAP_ANONYMOUS, MapSource::Anonymous)
}

/// munmap: removes every mapping in the range (holes are fine). EINVAL for an unaligned
/// address, a zero length, or a range beyond the user half.
pub fn munmap(vs: &VmSpace, addr: u64, len: u64) -> Result<(), i32> {
    if !addr.is_multiple_of(PAGE) || len == 0 {
        return Err(EINVAL);
    }
    let end = page_ceil(len).and_then(|l| addr.checked_add(l)).ok_or(EINVAL)?;
    if end > USER_MAX {
        return Err(EINVAL);
    }
    let mut map = vs.map.exclusive();
    vs.remove_range(&mut map, addr, end);
    Ok(())
}

/// mprotect: sets the protection of every page in the range. EINVAL (unaligned address,
/// unknown bits, GROWSUP, GROWSDOWN on a normal mapping), ENOMEM (a hole in the range, or
/// beyond the user half), EACCES (beyond an entry's maximum protection: nothing changes).
/// A hole after the start fails with ENOMEM after the part before it changed, as Linux.
pub fn mprotect(vs: &VmSpace, addr: u64, len: u64, prot: u64) -> Result<(), i32> {
    if !addr.is_multiple_of(PAGE) {
        return Err(EINVAL);
    }
    if len == 0 {
        return Ok(());
    }
    let end = page_ceil(len).and_then(|l| addr.checked_add(l)).ok_or(ENOMEM)?;
    let (down, up) = (prot & PROT_GROWSDOWN != 0, prot & PROT_GROWSUP != 0);
    let p = Prot::from_linux(prot & !(PROT_GROWSDOWN | PROT_GROWSUP)).ok_or(EINVAL)?;
    if up {
        return Err(EINVAL);
    }
    if end > USER_MAX {
        return Err(ENOMEM);
    }
    let mut map = vs.map.exclusive();
    let mut start = addr;
    if down {
        let e = map.lookup(start).ok_or(ENOMEM)?;
        if !e.flags.contains(EntryFlags::GROWS_DOWN) {
            return Err(EINVAL);
        }
        start = e.start;
    }
    // Linux changes the mapped part up to the first hole, then fails with ENOMEM; a hole
    // at the start changes nothing.
    let mut covered_end = start;
    while covered_end < end {
        match map.lookup(covered_end) {
            Some(e) => covered_end = e.end.min(end),
            None => break,
        }
    }
    if covered_end == start {
        return Err(ENOMEM);
    }
    let hole = covered_end < end;
    let end = covered_end;
    for s in map.starts_in(start, end) {
        if map.at(s).is_some_and(|e| !e.max_prot.contains(p)) {
            return Err(EACCES);
        }
    }
    map.clip(start, end);
    for s in map.starts_in(start, end) {
        if let Some(e) = map.at_mut(s) {
            e.prot = p;
        }
    }
    if p.is_empty() {
        vs.pmap().remove(start, end);
    } else {
        // Rights only go down here; faults add them back where the entry allows.
        vs.pmap().protect(start, end, user_prot(p));
    }
    if hole {
        Err(ENOMEM)
    } else {
        Ok(())
    }
}

/// Extends the mapping that ends at `at` up to `end` (free space): in place when its object
/// belongs to that entry alone, else with a new entry (fresh memory for private mappings, the
/// same object for shared ones).
fn extend(map: &mut VmMap, at: u64, end: u64) -> Result<(), i32> {
    let Some(t) = map.prev_before(at).filter(|e| e.end == at).cloned() else { return Err(EFAULT) };
    if t.owns_pages()
        && t.object.is_anonymous()
        && t.object.backing().is_none()
        && Arc::strong_count(&t.object) == 2
    {
        // Two references: the map's entry and our clone `t`.
        if let Some(e) = map.at_mut(t.start) {
            e.end = end;
        }
        return Ok(());
    }
    let shared = t.flags.contains(EntryFlags::SHARED);
    map.insert(MapEntry {
        start: at,
        end,
        prot: t.prot,
        max_prot: t.max_prot,
        inherit: t.inherit,
        object: if shared { t.object.clone() } else { VmObject::anonymous() },
        offset: if shared { t.pindex(at) } else { 0 },
        flags: t.flags & EntryFlags::SHARED,
        file: if shared { t.file.clone() } else { None },
    });
    Ok(())
}

/// Moves the entries of `[old, old+len)` to start at `dest` (free space); their pages stay
/// in their objects, so the contents move without copying and fault in at the new place.
fn move_entries(vs: &VmSpace, map: &mut VmMap, old: u64, len: u64, dest: u64) {
    map.clip(old, old + len);
    let starts = map.starts_in(old, old + len);
    vs.pmap().remove(old, old + len);
    let moved: alloc::vec::Vec<MapEntry> = starts.iter().filter_map(|s| map.remove_at(*s)).collect();
    for mut e in moved {
        e.start = e.start - old + dest;
        e.end = e.end - old + dest;
        map.insert(e);
    }
}

/// mremap: shrinks, grows (in place, or moved with MREMAP_MAYMOVE), or moves (MREMAP_FIXED)
/// the mapping at `old`; returns its address. MREMAP_DONTUNMAP leaves the old range mapped
/// and empty. `old_len` 0 duplicates a shared mapping. Errors as Linux: EINVAL (flags,
/// alignment, zero new length, overlapping fixed move, private duplicate), EFAULT (the old
/// range is not all mapped), ENOMEM (cannot grow in place without MAYMOVE, no room).
pub fn mremap(
    vs: &VmSpace,
    old: u64,
    old_len: u64,
    new_len: u64,
    flags: u64,
    new_addr: u64,
) -> Result<u64, i32> {
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 || !old.is_multiple_of(PAGE) {
        return Err(EINVAL);
    }
    let (maymove, fixed, dontunmap) =
        (flags & MREMAP_MAYMOVE != 0, flags & MREMAP_FIXED != 0, flags & MREMAP_DONTUNMAP != 0);
    if (fixed || dontunmap) && !maymove {
        return Err(EINVAL);
    }
    let old_len = page_ceil(old_len).ok_or(EINVAL)?;
    let new_len = page_ceil(new_len).ok_or(EINVAL)?;
    if new_len == 0 || (dontunmap && old_len != new_len) {
        return Err(EINVAL);
    }
    let old_end = old.checked_add(old_len).filter(|e| *e <= USER_MAX).ok_or(EFAULT)?;
    let mut map = vs.map.exclusive();
    if old_len == 0 {
        let e = map.lookup(old).ok_or(EFAULT)?.clone();
        if !e.flags.contains(EntryFlags::SHARED) || !maymove || fixed {
            return Err(EINVAL);
        }
        let dest = map.find_space_top_down(new_len, USER_MIN, MMAP_BASE).ok_or(ENOMEM)?;
        map.insert(MapEntry { start: dest, end: dest + new_len, offset: e.pindex(old), ..e });
        return Ok(dest);
    }
    if !map.is_covered(old, old_end) {
        return Err(EFAULT);
    }
    if dontunmap
        && map
            .starts_in(old, old_end)
            .iter()
            .any(|s| map.at(*s).is_some_and(|e| e.flags.contains(EntryFlags::SHARED)))
    {
        return Err(EINVAL);
    }
    let dest = if fixed {
        if !new_addr.is_multiple_of(PAGE) || new_addr < USER_MIN {
            return Err(EINVAL);
        }
        let new_end = new_addr.checked_add(new_len).filter(|e| *e <= USER_MAX).ok_or(EINVAL)?;
        if new_addr < old_end && old < new_end {
            return Err(EINVAL);
        }
        vs.remove_range(&mut map, new_addr, new_end);
        new_addr
    } else if new_len <= old_len {
        vs.remove_range(&mut map, old + new_len, old_end);
        return Ok(old);
    } else {
        let grow_end = old.checked_add(new_len).filter(|e| *e <= USER_MAX);
        if let Some(ge) = grow_end.filter(|ge| map.is_free(old_end, *ge)) {
            extend(&mut map, old_end, ge)?;
            return Ok(old);
        }
        if !maymove {
            return Err(ENOMEM);
        }
        map.find_space_top_down(new_len, USER_MIN, MMAP_BASE)
            .or_else(|| map.find_space_top_down(new_len, USER_MIN, USER_MAX))
            .ok_or(ENOMEM)?
    };
    let kept = old_len.min(new_len);
    if kept < old_len {
        vs.remove_range(&mut map, old + kept, old_end);
    }
    let template = map.lookup(old).cloned();
    move_entries(vs, &mut map, old, kept, dest);
    if new_len > kept {
        extend(&mut map, dest + kept, dest + new_len)?;
    }
    if let (true, Some(t)) = (dontunmap, template) {
        map.insert(MapEntry {
            start: old,
            end: old_end,
            object: VmObject::anonymous(),
            offset: 0,
            flags: EntryFlags::empty(),
            file: None,
            ..t
        });
    }
    Ok(dest)
}

/// Sets where the heap starts (exec, after loading the image): page aligned, empty break.
pub fn set_brk_base(vs: &VmSpace, base: u64) -> Result<(), i32> {
    if !base.is_multiple_of(PAGE) || !(USER_MIN..USER_MAX).contains(&base) {
        return Err(EINVAL);
    }
    let mut map = vs.map.exclusive();
    map.brk_base = base;
    map.brk = base;
    Ok(())
}

/// brk: moves the program break to `new` and returns the break in effect afterwards (the
/// old one when the move is refused: below the heap start, into another mapping, beyond
/// the user half), as Linux's syscall does; `brk(0)` reads the break.
pub fn brk(vs: &VmSpace, new: u64) -> u64 {
    let mut map = vs.map.exclusive();
    let cur = map.brk;
    if map.brk_base == 0 || new < map.brk_base {
        return cur;
    }
    let (Some(old_top), Some(new_top)) = (page_ceil(cur), page_ceil(new)) else { return cur };
    if new_top > USER_MAX {
        return cur;
    }
    if new_top < old_top {
        vs.remove_range(&mut map, new_top, old_top);
    } else if new_top > old_top {
        if !map.is_free(old_top, new_top) {
            return cur;
        }
        let heap_below = map.prev_before(old_top).is_some_and(|e| e.end == old_top && old_top > map.brk_base);
        if !heap_below || extend(&mut map, old_top, new_top).is_err() {
            map.insert(MapEntry {
                start: old_top,
                end: new_top,
                prot: Prot::READ | Prot::WRITE,
                max_prot: Prot::all(),
                inherit: Inherit::Copy,
                object: VmObject::anonymous(),
                offset: 0,
                flags: EntryFlags::empty(),
                file: None,
            });
        }
    }
    map.brk = new;
    new
}

/// Gives a private entry fresh contents (MADV_DONTNEED): its translations and the pages only
/// it could reach go; anything below (a fork's shared pages, a file) is cut off by a fresh
/// object (a shadow of the file, for file mappings, so they read the file again).
fn wipe_private(vs: &VmSpace, e: &mut MapEntry) {
    vs.pmap().remove(e.start, e.end);
    if e.owns_pages() {
        e.object.free_range(e.offset, e.offset + e.pages());
    }
    if e.flags.contains(EntryFlags::NEEDS_COPY) || e.object.backing().is_some() || !e.object.is_anonymous() {
        let mut bottom = e.object.clone();
        while let Some(b) = bottom.backing() {
            bottom = b;
        }
        e.object = if bottom.is_anonymous() { VmObject::anonymous() } else { VmObject::shadow(bottom) };
        e.flags.remove(EntryFlags::NEEDS_COPY);
    }
}

/// madvise: DONTNEED (private: later reads see zeros; shared: translations dropped, the data
/// stays), FREE (private only, here the same as DONTNEED), DONTFORK/DOFORK,
/// WIPEONFORK/KEEPONFORK (private only); the pure hints (NORMAL, RANDOM, SEQUENTIAL,
/// WILLNEED, COLD, PAGEOUT, MERGEABLE, UNMERGEABLE, HUGEPAGE, NOHUGEPAGE, DONTDUMP, DODUMP)
/// ask nothing this VM must do and succeed. REMOVE is EOPNOTSUPP (punching holes in shared
/// memory needs reverse maps this VM lacks). EINVAL for an unknown advice, an unaligned
/// address or an overflowing range; ENOMEM when part of the range is unmapped (after the
/// advice was applied to the mapped part, as Linux does).
pub fn madvise(vs: &VmSpace, addr: u64, len: u64, advice: u64) -> Result<(), i32> {
    if !addr.is_multiple_of(PAGE) {
        return Err(EINVAL);
    }
    let hint = matches!(
        advice,
        MADV_NORMAL
            | MADV_RANDOM
            | MADV_SEQUENTIAL
            | MADV_WILLNEED
            | MADV_COLD
            | MADV_PAGEOUT
            | MADV_MERGEABLE
            | MADV_UNMERGEABLE
            | MADV_HUGEPAGE
            | MADV_NOHUGEPAGE
            | MADV_DONTDUMP
            | MADV_DODUMP
    );
    let acts = matches!(
        advice,
        MADV_DONTNEED
            | MADV_FREE
            | MADV_REMOVE
            | MADV_DONTFORK
            | MADV_DOFORK
            | MADV_WIPEONFORK
            | MADV_KEEPONFORK
    );
    if !hint && !acts {
        return Err(EINVAL);
    }
    let end = page_ceil(len).and_then(|l| addr.checked_add(l)).ok_or(EINVAL)?;
    if end == addr {
        return Ok(());
    }
    if end > USER_MAX {
        return Err(ENOMEM);
    }
    let mut map = vs.map.exclusive();
    let covered = map.is_covered(addr, end);
    let mut result = Ok(());
    if acts {
        map.clip(addr, end);
        for s in map.starts_in(addr, end) {
            let Some(e) = map.at_mut(s) else { continue };
            let shared = e.flags.contains(EntryFlags::SHARED);
            match advice {
                MADV_DONTNEED if shared => {
                    vs.pmap().remove(e.start, e.end);
                }
                MADV_DONTNEED | MADV_FREE if !shared => wipe_private(vs, e),
                MADV_REMOVE if shared => result = Err(EOPNOTSUPP),
                MADV_DONTFORK => e.inherit = Inherit::None,
                MADV_DOFORK | MADV_KEEPONFORK => {
                    e.inherit = if shared { Inherit::Share } else { Inherit::Copy };
                }
                MADV_WIPEONFORK if !shared => e.inherit = Inherit::Zero,
                _ => result = Err(EINVAL),
            }
        }
    }
    drop(map);
    result?;
    if covered {
        Ok(())
    } else {
        Err(ENOMEM)
    }
}
