//! The slab allocator (DragonFly's kern_slaballoc.c): per-CPU zones by size class, no locks.
//!
//! A zone is a naturally aligned 128 KiB block of pages (so masking a chunk address finds its
//! header) carved into chunks of one size class. Each CPU has its own zones; only the owner
//! allocates from a zone or touches its local free list, inside a critical section. A CPU
//! freeing another CPU's chunk pushes it with a CAS onto the zone's remote list and, if the
//! owner has parked the zone as dry and asked to be told (`rsignal`), sends it a passive IPI
//! so it relinks the zone; `rcount` pins the zone meanwhile so the owner cannot retire it
//! under the remote CPU's feet.
//!
//! Every zone keeps a bitmap with one bit per 8-byte slot: set while the chunk starting
//! there is allocated. It costs one locked bit operation per allocation and per free and
//! catches, in release builds, every double free and every free of a pointer that is not the
//! start of an allocated chunk, at the free itself, whichever CPU does it.
use super::{phys, report, PAGE_SIZE};
use crate::lwkt::cpulocal::CpuLocal;
use crate::lwkt::globaldata::{globaldata, MAXCPU};
use crate::lwkt::ipiq;
use abi::boot::DIRECT_MAP_BASE;
use core::cell::UnsafeCell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};

/// Bytes per zone.
pub const ZONE_SIZE: usize = 128 * 1024;
const ZONE_PAGES: usize = ZONE_SIZE / PAGE_SIZE;
/// Largest request a zone serves; larger ones take whole pages.
pub const ZONE_LIMIT: usize = 16 * 1024;
/// Size classes.
pub const NZONES: usize = 72;
const ZONE_MAGIC: u32 = 0x5a4f_4e45;
const ZONE_FREE_MAGIC: u32 = 0x5a46_5245;
const BITMAP_WORDS: usize = ZONE_SIZE / 8 / 64;
/// Completely free zones a CPU keeps for reuse before it gives their pages back.
const FREE_ZONES_KEEP: usize = 4;
/// Byte written over freed chunks when poisoning is on.
pub const POISON_BYTE: u8 = 0x6b;

/// Poison freed chunks and check the poison when they are reused. On in debug builds; tests
/// turn it on in release builds.
pub static POISON: AtomicBool = AtomicBool::new(cfg!(debug_assertions));

/// Size class bands: (requests below, step, index of the class of size `step` + 1), from
/// DragonFly's `zoneindex` (index = chunk / step + offset).
const BANDS: [(usize, usize, usize); 8] = [
    (128, 8, 0),
    (256, 16, 8),
    (512, 32, 16),
    (1024, 64, 24),
    (2048, 128, 32),
    (4096, 256, 40),
    (8192, 512, 48),
    (16384, 1024, 56),
];

/// The size class of a request of `size` bytes (1..=ZONE_LIMIT): (class index, chunk size).
/// 8-byte steps below 128 bytes, then 8 classes per power-of-two band, as DragonFly's
/// `zoneindex`.
#[inline]
pub fn size_class(size: usize) -> (usize, usize) {
    for &(below, step, off1) in &BANDS {
        if size < below {
            let chunk = size.max(1).next_multiple_of(step);
            return (chunk / step + off1 - 1, chunk);
        }
    }
    (NZONES - 1, ZONE_LIMIT)
}

struct Chunk {
    next: *mut Chunk,
}

/// Owner-only zone state (owner CPU, critical section).
struct ZoneOwn {
    nfree: u32,
    /// Next never-used chunk.
    uindex: u32,
    lchunks: *mut Chunk,
    next: *mut Zone,
    prev: *mut Zone,
    on_list: bool,
}

/// A zone header, at the start of its 128 KiB.
#[repr(C)]
pub(super) struct Zone {
    magic: AtomicU32,
    cpu: u32,
    zi: u32,
    chunk: u32,
    nmax: u32,
    base: usize,
    own: UnsafeCell<ZoneOwn>,
    rchunks: AtomicPtr<Chunk>,
    rsignal: AtomicBool,
    rcount: AtomicU32,
    bitmap: [AtomicU64; BITMAP_WORDS],
}

impl Zone {
    /// The owner-only state.
    ///
    /// # Safety
    /// Caller runs on the zone's owner CPU in a critical section and holds no other
    /// reference from this zone's `own`.
    #[allow(clippy::mut_from_ref)]
    unsafe fn own(&self) -> &mut ZoneOwn {
        // SAFETY: the caller's contract.
        unsafe { &mut *self.own.get() }
    }

    fn bit(&self, p: usize) -> (&AtomicU64, u64) {
        let slot = (p - self as *const Zone as usize) / 8;
        (&self.bitmap[slot / 64], 1 << (slot % 64))
    }

    /// Chunk size in bytes.
    pub(super) fn chunk(&self) -> usize {
        self.chunk as usize
    }
}

struct SlabCpu {
    zones: [*mut Zone; NZONES],
    free_zones: *mut Zone,
    nfree_zones: usize,
}

struct SlabSlot(CpuLocal<SlabCpu>);
// SAFETY: the raw pointers inside are only followed by the owner CPU in a critical section
// (the CpuLocal contract); they point at zones, which live in the direct map.
unsafe impl Sync for SlabSlot {}

static SLAB: [SlabSlot; MAXCPU] = [const {
    SlabSlot(CpuLocal::new(SlabCpu { zones: [null_mut(); NZONES], free_zones: null_mut(), nfree_zones: 0 }))
}; MAXCPU];

/// Per-CPU slab counters (each CPU bumps its own).
#[repr(align(64))]
pub struct SlabStats {
    /// Chunks this CPU freed into another CPU's zone.
    pub remote_frees: AtomicU64,
    /// Passive IPIs this CPU sent to tell an owner to relink a zone.
    pub remote_ipis: AtomicU64,
    /// Remote-free IPIs this CPU handled as owner.
    pub remote_handled: AtomicU64,
    /// Zones carved from fresh pages.
    pub zones_new: AtomicU64,
    /// Zones whose pages went back to the page allocator.
    pub zones_released: AtomicU64,
}

/// The slab counters of every CPU.
pub static STATS: [SlabStats; MAXCPU] = [const {
    SlabStats {
        remote_frees: AtomicU64::new(0),
        remote_ipis: AtomicU64::new(0),
        remote_handled: AtomicU64::new(0),
        zones_new: AtomicU64::new(0),
        zones_released: AtomicU64::new(0),
    }
}; MAXCPU];

#[inline]
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The sum of one counter over CPUs.
pub fn total(f: impl Fn(&SlabStats) -> &AtomicU64) -> u64 {
    STATS.iter().map(|s| f(s).load(Ordering::Relaxed)).sum()
}

/// # Safety
/// On `cpu`, in a critical section, no other reference to its SlabCpu alive.
#[allow(clippy::mut_from_ref)]
unsafe fn slab(cpu: usize) -> &'static mut SlabCpu {
    // SAFETY: the caller's contract is CpuLocal::get's.
    unsafe { SLAB[cpu].0.get() }
}

/// Links `z` at the head of its class list. Owner, critical section.
unsafe fn link(s: &mut SlabCpu, z: *mut Zone) {
    // SAFETY: z is a live zone of this CPU (caller); distinct zones' `own` cells are distinct.
    unsafe {
        let o = (*z).own();
        let zi = (*z).zi as usize;
        o.prev = null_mut();
        o.next = s.zones[zi];
        if !o.next.is_null() {
            (*o.next).own().prev = z;
        }
        s.zones[zi] = z;
        o.on_list = true;
    }
}

/// Unlinks `z` from its class list. Owner, critical section.
unsafe fn unlink(s: &mut SlabCpu, z: *mut Zone) {
    // SAFETY: as in link.
    unsafe {
        let o = (*z).own();
        if !o.prev.is_null() {
            (*o.prev).own().next = o.next;
        } else {
            s.zones[(*z).zi as usize] = o.next;
        }
        if !o.next.is_null() {
            (*o.next).own().prev = o.prev;
        }
        o.on_list = false;
    }
}

/// Moves the remote list onto the local one; returns how many chunks came back.
unsafe fn absorb(z: &Zone) -> u32 {
    let mut c = z.rchunks.swap(null_mut(), Ordering::AcqRel);
    // SAFETY: owner, critical section (caller).
    let o = unsafe { z.own() };
    let mut n = 0;
    while !c.is_null() {
        // SAFETY: chunks on the remote list are free chunks of this zone, pushed whole.
        let next = unsafe { (*c).next };
        // SAFETY: as above; the chunk is ours now.
        unsafe { (*c).next = o.lchunks };
        o.lchunks = c;
        c = next;
        n += 1;
    }
    o.nfree += n;
    n
}

/// Sets up a zone for class `zi` in the 128 KiB at `z`, reusing a free zone or new pages.
unsafe fn new_zone(s: &mut SlabCpu, cpu: usize, zi: usize, chunk: usize) -> *mut Zone {
    let z = if !s.free_zones.is_null() {
        let z = s.free_zones;
        // SAFETY: free zones are ours and off every list; `next` chains them.
        s.free_zones = unsafe { (*z).own().next };
        s.nfree_zones -= 1;
        z
    } else {
        let Some(pa) = phys::alloc_contiguous(ZONE_PAGES) else { return null_mut() };
        let z = (DIRECT_MAP_BASE + pa) as *mut Zone;
        for i in 0..ZONE_PAGES as u64 {
            if let Some(p) = phys::page_of(pa + i * PAGE_SIZE as u64) {
                p.kmem.store(z as u64, Ordering::Relaxed);
                p.set(super::page::pg::SLAB);
            }
        }
        // SAFETY: 128 KiB of fresh pages, naturally aligned (a buddy block of 32 pages), ours
        // alone; an all-zero bitmap is what a zone with no allocated chunk has.
        unsafe { core::ptr::write_bytes(z as *mut u8, 0, core::mem::size_of::<Zone>()) };
        bump(&STATS[cpu].zones_new);
        z
    };
    let hdr = core::mem::size_of::<Zone>();
    // Chunks start at an offset aligned to the largest power of two dividing the chunk size
    // (at most a page), so any alignment the chunk size is a multiple of holds for every chunk.
    let align = (1usize << chunk.trailing_zeros()).min(PAGE_SIZE);
    let off = hdr.next_multiple_of(align);
    // SAFETY: the zone is ours and not visible to any other CPU (no chunk of it is allocated);
    // the fields are written in place, leaving the (all-zero) bitmap untouched.
    unsafe {
        (*z).magic.store(ZONE_MAGIC, Ordering::Relaxed);
        (*z).cpu = cpu as u32;
        (*z).zi = zi as u32;
        (*z).chunk = chunk as u32;
        (*z).nmax = ((ZONE_SIZE - off) / chunk) as u32;
        (*z).base = z as usize + off;
        (&raw mut (*z).own).write(UnsafeCell::new(ZoneOwn {
            nfree: (*z).nmax,
            uindex: 0,
            lchunks: null_mut(),
            next: null_mut(),
            prev: null_mut(),
            on_list: false,
        }));
        (&raw mut (*z).rchunks).write(AtomicPtr::new(null_mut()));
        (&raw mut (*z).rsignal).write(AtomicBool::new(false));
        (&raw mut (*z).rcount).write(AtomicU32::new(0));
    }
    z
}

/// Gives a completely free zone up: onto the CPU's free-zone list, and its pages back to
/// the page allocator beyond [`FREE_ZONES_KEEP`].
unsafe fn retire(s: &mut SlabCpu, cpu: usize, z: *mut Zone) {
    // SAFETY: owner, critical section; z is fully free and unpinned (caller).
    unsafe {
        if (*z).own().on_list {
            unlink(s, z);
        }
        (*z).magic.store(ZONE_FREE_MAGIC, Ordering::Relaxed);
        (*z).own().next = s.free_zones;
        s.free_zones = z;
        s.nfree_zones += 1;
        while s.nfree_zones > FREE_ZONES_KEEP {
            release_one(s, cpu);
        }
    }
}

unsafe fn release_one(s: &mut SlabCpu, cpu: usize) {
    let z = s.free_zones;
    if z.is_null() {
        return;
    }
    // SAFETY: a free zone of ours, off every list; its pages were allocated for it.
    unsafe {
        s.free_zones = (*z).own().next;
        s.nfree_zones -= 1;
        (*z).magic.store(0, Ordering::Relaxed);
    }
    let pa = z as u64 - DIRECT_MAP_BASE;
    for i in 0..ZONE_PAGES as u64 {
        if let Some(p) = phys::page_of(pa + i * PAGE_SIZE as u64) {
            p.clear(super::page::pg::SLAB);
        }
        phys::free(pa + i * PAGE_SIZE as u64);
    }
    bump(&STATS[cpu].zones_released);
}

/// Retires `z` if it is completely free, unpinned, and not the last zone of its class.
unsafe fn maybe_retire(s: &mut SlabCpu, cpu: usize, z: *mut Zone, keep_last: bool) {
    // SAFETY: owner, critical section (caller).
    unsafe {
        let o = (*z).own();
        if o.nfree != (*z).nmax || (*z).rcount.load(Ordering::Acquire) != 0 {
            return;
        }
        if keep_last && s.zones[(*z).zi as usize] == z && o.next.is_null() {
            return;
        }
        retire(s, cpu, z);
    }
}

fn poison(p: *mut u8, chunk: usize) {
    if chunk > 8 && POISON.load(Ordering::Relaxed) {
        // SAFETY: the chunk is being freed by its owner; bytes past the free-list link are ours.
        unsafe { core::ptr::write_bytes(p.add(8), POISON_BYTE, chunk - 8) };
    }
}

fn check_poison(p: *mut u8, chunk: usize) {
    if chunk <= 16 || !POISON.load(Ordering::Relaxed) {
        return;
    }
    // SAFETY: a free chunk just taken off the local list; it is ours.
    let b = unsafe { core::slice::from_raw_parts(p.add(8), chunk - 8) };
    // Only chunks freed while poisoning was on carry the pattern; the second word tells.
    if b[..8].iter().all(|&x| x == POISON_BYTE) && b.iter().any(|&x| x != POISON_BYTE) {
        report("use after free: poison overwritten", p as usize);
    }
}

/// Allocates a chunk of class `zi` (chunk size `chunk`) on `cpu`. Null when out of pages.
///
/// # Safety
/// Runs on `cpu` in a critical section.
pub(super) unsafe fn alloc(cpu: usize, zi: usize, chunk: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    let s = unsafe { slab(cpu) };
    let mut z = s.zones[zi];
    if z.is_null() {
        // SAFETY: owner, critical section.
        z = unsafe { new_zone(s, cpu, zi, chunk) };
        if z.is_null() {
            return null_mut();
        }
        // SAFETY: as above.
        unsafe { link(s, z) };
    }
    // SAFETY: z is a live zone on our list; owner, critical section.
    let zr = unsafe { &*z };
    // SAFETY: as above.
    let o = unsafe { zr.own() };
    debug_assert!(o.nfree > 0 && zr.chunk as usize == chunk);
    let p = if !o.lchunks.is_null() {
        let c = o.lchunks;
        // SAFETY: a free chunk of this zone.
        o.lchunks = unsafe { (*c).next };
        check_poison(c as *mut u8, chunk);
        c as *mut u8
    } else {
        let p = zr.base + o.uindex as usize * chunk;
        o.uindex += 1;
        p as *mut u8
    };
    o.nfree -= 1;
    let (w, bit) = zr.bit(p as usize);
    let was = w.fetch_or(bit, Ordering::Relaxed);
    assert!(was & bit == 0, "slab: free chunk {:p} marked allocated (corrupt zone)", p);
    if o.nfree == 0 {
        // Dry: take what other CPUs freed, else park the zone and ask to be told when a
        // remote free arrives. SeqCst on rsignal/rchunks pairs with the remote side's
        // CAS-then-load, so either it sees rsignal or we see its chunk.
        // SAFETY: owner, critical section.
        if unsafe { absorb(zr) } == 0 {
            // SAFETY: as above.
            unsafe { unlink(s, z) };
            zr.rsignal.store(true, Ordering::SeqCst);
            if !zr.rchunks.load(Ordering::SeqCst).is_null() {
                zr.rsignal.store(false, Ordering::Relaxed);
                // SAFETY: as above.
                unsafe {
                    absorb(zr);
                    link(s, z);
                }
            }
        }
    }
    p
}

/// The zone holding `p`, if `p` points into a live zone.
pub(super) fn zone_of(p: usize) -> Option<&'static Zone> {
    let z = (p & !(ZONE_SIZE - 1)) as *const Zone;
    // SAFETY: the caller found a slab page under p, so the aligned 128 KiB around it is a
    // zone (or a free zone) whose header is mapped; a stale pointer shows in the magic.
    let zr = unsafe { &*z };
    (zr.magic.load(Ordering::Relaxed) == ZONE_MAGIC).then_some(zr)
}

/// Frees chunk `p` of zone `z` from `cpu`; returns the chunk size, or `None` when `p` is not
/// an allocated chunk (a double free or a bad pointer, already reported).
///
/// # Safety
/// Runs on `cpu` in a critical section; `z` is `zone_of(p)`.
pub(super) unsafe fn free(cpu: usize, z: &'static Zone, p: *mut u8) -> Option<usize> {
    let chunk = z.chunk as usize;
    if (p as usize) < z.base {
        report("kfree of a pointer into a zone header", p as usize);
        return None;
    }
    let (w, bit) = z.bit(p as usize);
    if w.fetch_and(!bit, Ordering::AcqRel) & bit == 0 {
        report("double free (or free of a non-chunk pointer)", p as usize);
        return None;
    }
    poison(p, chunk);
    let c = p as *mut Chunk;
    if z.cpu as usize == cpu {
        let zp = z as *const Zone as *mut Zone;
        // SAFETY: owner, critical section (caller).
        unsafe {
            let s = slab(cpu);
            let o = z.own();
            (*c).next = o.lchunks;
            o.lchunks = c;
            o.nfree += 1;
            if !o.on_list {
                z.rsignal.store(false, Ordering::Relaxed);
                link(s, zp);
            }
            maybe_retire(s, cpu, zp, true);
        }
    } else {
        z.rcount.fetch_add(1, Ordering::AcqRel);
        let mut head = z.rchunks.load(Ordering::Relaxed);
        loop {
            // SAFETY: the chunk was ours until the CAS publishes it.
            unsafe { (*c).next = head };
            match z.rchunks.compare_exchange_weak(head, c, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => break,
                Err(h) => head = h,
            }
        }
        bump(&STATS[cpu].remote_frees);
        let owner = globaldata(z.cpu as usize);
        match owner {
            Some(gd) if head.is_null() && z.rsignal.load(Ordering::SeqCst) => {
                bump(&STATS[cpu].remote_ipis);
                // The handler drops our rcount pin.
                ipiq::send_passive(gd, free_remote, z as *const Zone as usize, 0);
            }
            _ => {
                z.rcount.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
    Some(chunk)
}

/// Passive-IPI handler on a zone's owner: another CPU freed into a parked zone.
fn free_remote(zaddr: usize, _: usize) {
    let cpu = crate::lwkt::globaldata::mycpu().cpuid;
    let z = zaddr as *mut Zone;
    // SAFETY: the sender's rcount pin keeps the zone live and unretired until we drop it;
    // IPI callbacks run on the owner in a critical section.
    unsafe {
        let zr = &*z;
        debug_assert_eq!(zr.cpu as usize, cpu);
        let s = slab(cpu);
        absorb(zr);
        let o = zr.own();
        if o.nfree > 0 && !o.on_list {
            zr.rsignal.store(false, Ordering::Relaxed);
            link(s, z);
        }
        zr.rcount.fetch_sub(1, Ordering::AcqRel);
        maybe_retire(s, cpu, z, true);
    }
    bump(&STATS[cpu].remote_handled);
}

/// Gives back every completely free zone of `cpu` and the pages of its free-zone cache
/// (memory reclaim; tests use it to compare page counts).
///
/// # Safety
/// Runs on `cpu` in a critical section.
pub(super) unsafe fn reclaim(cpu: usize) {
    // SAFETY: the caller's contract.
    let s = unsafe { slab(cpu) };
    for zi in 0..NZONES {
        let mut z = s.zones[zi];
        while !z.is_null() {
            // SAFETY: zones on our lists are live and ours.
            unsafe {
                let next = (*z).own().next;
                absorb(&*z);
                maybe_retire(s, cpu, z, false);
                z = next;
            }
        }
    }
    while !s.free_zones.is_null() {
        // SAFETY: as above.
        unsafe { release_one(s, cpu) };
    }
}
