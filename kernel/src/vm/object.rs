//! VM objects (DragonFly's vm_object.c): what a map entry maps. An object holds pages by
//! index under its token (`vm_object` = token + hold count; the count is the `Arc`'s).
//!
//! - Anonymous objects are demand-zero: a missing page is a zero-filled one.
//! - A shadow object sits in front of a backing object for copy-on-write: lookups fall
//!   through the chain, writes copy the page up into the shadow. Backing objects are never
//!   written again (an entry that references an object it does not own exclusively carries
//!   NEEDS_COPY and shadows it before its first write), so pages found below may be mapped
//!   read-only without further locking.
//! - A file object gets missing pages from its pager (`PagerOps`), which the VFS implements
//!   when it lands; nothing creates one yet.
//!
//! An object lives while a map entry or a shadow references it; the last reference frees its
//! pages (after every mapping of them was removed: the map layer removes translations
//! before it drops entries).
use super::fault::FaultError;
use crate::arch::x86_64::pmap::frame::Frame;
use crate::lwkt::token::TokenCell;
use crate::sync::spinlock::SpinLock;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// What a file-backed object's pager provides (the VFS implements it per vnode).
pub trait PagerOps: Send + Sync {
    /// Fills `frame` with the contents of page `pindex`; an errno when reading fails.
    fn fill(&self, pindex: u64, frame: &Frame) -> Result<(), i32>;
    /// Pages in the file: an access at or beyond is SIGBUS.
    fn size_pages(&self) -> u64;
    /// A page `fill` made was not kept (a racing fault inserted it first): a pager that
    /// accounts for the pages it fills undoes that here.
    fn discard(&self, _pindex: u64) {}
}

/// Where an object's missing pages come from.
pub enum Pager {
    /// Zero-filled on first touch.
    Anonymous,
    /// Read through the pager.
    File(Arc<dyn PagerOps>),
}

/// Objects alive (tests check that none leak).
pub static OBJECTS: AtomicU64 = AtomicU64::new(0);
/// Pages held by all objects.
pub static OBJECT_PAGES: AtomicU64 = AtomicU64::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A VM object.
pub struct VmObject {
    /// Unique id (diagnostics; shared futex keys will name objects).
    id: u64,
    pager: Pager,
    /// The object this one shadows, for copy-on-write. Changed only by `collapse`.
    backing: SpinLock<Option<Arc<VmObject>>>,
    pages: TokenCell<BTreeMap<u64, Frame>>,
}

impl VmObject {
    fn make(pager: Pager, backing: Option<Arc<VmObject>>) -> Arc<VmObject> {
        OBJECTS.fetch_add(1, Ordering::Relaxed);
        Arc::new(VmObject {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            pager,
            backing: SpinLock::new(backing),
            pages: TokenCell::new("vm_object", BTreeMap::new()),
        })
    }

    /// A new anonymous (demand-zero) object.
    pub fn anonymous() -> Arc<VmObject> {
        Self::make(Pager::Anonymous, None)
    }

    /// A new file object whose pages come from `pager` (for the VFS).
    pub fn file(pager: Arc<dyn PagerOps>) -> Arc<VmObject> {
        Self::make(Pager::File(pager), None)
    }

    /// A new, empty shadow of `backing` (same page indices).
    pub fn shadow(backing: Arc<VmObject>) -> Arc<VmObject> {
        Self::make(Pager::Anonymous, Some(backing))
    }

    /// The object's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The object this one shadows.
    pub fn backing(&self) -> Option<Arc<VmObject>> {
        self.backing.lock().clone()
    }

    /// Folds into this object every anonymous object below it that nothing else references
    /// (DragonFly's vm_object_collapse): their pages this object lacks move up, the rest are
    /// freed, and this object shadows what they shadowed. Without it, a process that forks
    /// and writes while each child lives grows its shadow chain by one object per fork.
    ///
    /// The caller guarantees nobody else can reach this object (its map is locked and this
    /// entry holds the only reference), so no lookup walks the chain while pages move.
    pub fn collapse(self: &Arc<Self>) {
        loop {
            let Some(b) = self.backing() else { return };
            // Ours: `self.backing` and the clone just taken.
            if !b.is_anonymous() || Arc::strong_count(&b) != 2 {
                return;
            }
            let moved: BTreeMap<u64, Frame> = core::mem::take(&mut *b.pages.lock());
            {
                let mut top = self.pages.lock();
                for (k, f) in moved {
                    if let alloc::collections::btree_map::Entry::Vacant(v) = top.entry(k) {
                        v.insert(f);
                    } else {
                        // Shadowed by our own copy: freed here.
                        OBJECT_PAGES.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            }
            let below = b.backing();
            *self.backing.lock() = below;
            // `b` goes with this last reference, empty.
        }
    }

    /// True for anonymous objects (shadows included).
    pub fn is_anonymous(&self) -> bool {
        matches!(self.pager, Pager::Anonymous)
    }

    /// Pages this object holds itself.
    pub fn resident(&self) -> usize {
        self.pages.lock().len()
    }

    /// The frame address of page `pindex` if this object holds it.
    pub fn lookup(&self, pindex: u64) -> Option<u64> {
        self.pages.lock().get(&pindex).map(Frame::pa)
    }

    /// Runs `f` on page `pindex` of this object if it holds it.
    pub fn with_page<R>(&self, pindex: u64, f: impl FnOnce(&Frame) -> R) -> Option<R> {
        self.pages.lock().get(&pindex).map(f)
    }

    /// Finds page `pindex` in this object or the first object down the chain that holds it:
    /// (frame address, depth: 0 for this object).
    pub fn find(self: &Arc<Self>, pindex: u64) -> Option<(u64, usize)> {
        let mut cur = self.clone();
        let mut depth = 0;
        loop {
            if let Some(pa) = cur.lookup(pindex) {
                return Some((pa, depth));
            }
            cur = cur.backing()?;
            depth += 1;
        }
    }

    /// Marks `out[i] = 1` for each page `first + i` this object or one down its chain holds
    /// (mincore's answer for a run of pages), leaving the other bytes alone. Walks only the
    /// pages present, so a large empty range costs nothing.
    pub fn mark_resident(self: &Arc<Self>, first: u64, out: &mut [u8]) {
        let end = first.saturating_add(out.len() as u64);
        let mut cur = Some(self.clone());
        while let Some(obj) = cur {
            for (&k, _) in obj.pages.lock().range(first..end) {
                out[(k - first) as usize] = 1;
            }
            cur = obj.backing();
        }
    }

    /// Page `pindex` of this object, made resident by `make` if missing (under the token, so
    /// two faults never insert twice). `make` returns the new frame or the fault error.
    pub fn get_or_insert(
        &self,
        pindex: u64,
        make: impl FnOnce() -> Result<Frame, FaultError>,
    ) -> Result<u64, FaultError> {
        self.get_or_insert_or_lose(pindex, make, || {})
    }

    /// [`VmObject::get_or_insert`], calling `lost` when the frame `make` returned is not
    /// kept because a racing fault inserted the page first (so a charge `make` took for the
    /// page can be given back).
    pub fn get_or_insert_or_lose(
        &self,
        pindex: u64,
        make: impl FnOnce() -> Result<Frame, FaultError>,
        lost: impl FnOnce(),
    ) -> Result<u64, FaultError> {
        let mut pages = self.pages.lock();
        if let Some(f) = pages.get(&pindex) {
            return Ok(f.pa());
        }
        // `make` takes other objects' tokens (the shadow chain) and may block: our token can
        // be lost meanwhile, so look again before inserting (a racing fault may have won; its
        // page stays and ours is freed with `frame`).
        let frame = pages.block(make)?;
        if let Some(f) = pages.get(&pindex) {
            lost();
            return Ok(f.pa());
        }
        let pa = frame.pa();
        pages.insert(pindex, frame);
        OBJECT_PAGES.fetch_add(1, Ordering::Relaxed);
        Ok(pa)
    }

    /// Makes page `pindex` resident in this object (no shadow chain): zero-filled for
    /// anonymous objects, read through the pager for files. `alloc` supplies zeroed frames.
    pub fn fill(
        &self,
        pindex: u64,
        alloc: impl FnOnce() -> Result<Frame, FaultError>,
    ) -> Result<u64, FaultError> {
        match &self.pager {
            Pager::Anonymous => self.get_or_insert(pindex, alloc),
            Pager::File(p) => {
                if pindex >= p.size_pages() {
                    return Err(FaultError::Bus);
                }
                let p = p.clone();
                self.get_or_insert_or_lose(
                    pindex,
                    || {
                        let f = alloc()?;
                        p.fill(pindex, &f).map_err(|_| FaultError::Bus)?;
                        Ok(f)
                    },
                    || p.discard(pindex),
                )
            }
        }
    }

    /// Frees the pages with index in `[first, end)`. The caller guarantees no mapping of them
    /// remains and no other entry can reach these indices of this object.
    pub fn free_range(&self, first: u64, end: u64) -> u64 {
        if first >= end {
            return 0;
        }
        let mut pages = self.pages.lock();
        let keys: alloc::vec::Vec<u64> = pages.range(first..end).map(|(k, _)| *k).collect();
        for k in &keys {
            pages.remove(k);
        }
        OBJECT_PAGES.fetch_sub(keys.len() as u64, Ordering::Relaxed);
        keys.len() as u64
    }
}

impl Drop for VmObject {
    fn drop(&mut self) {
        let n = self.pages.lock().len() as u64;
        OBJECT_PAGES.fetch_sub(n, Ordering::Relaxed);
        OBJECTS.fetch_sub(1, Ordering::Relaxed);
        // The frames free themselves as the map drops; then the backing reference goes.
    }
}
