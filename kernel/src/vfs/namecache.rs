//! The namecache (DragonFly's vfs_cache.c): the authority on the namespace. Every name a
//! lookup touched has an entry, linked to its parent, in one of three states: unresolved (not
//! asked yet), positive (a vnode) or negative (known not to exist). Namespace operations work
//! on entries ((entry, mount) handles), and keep them exact: a create turns a negative entry
//! positive, a remove turns a positive one negative, a rename moves the entry (with its
//! subtree) to its new parent and name. A removed name's entry leaves its parent
//! ([`Ncp::unlink`], DragonFly's NCF_DESTROYED) but keeps its vnode for the handles that still
//! hold it.
use super::mount::Mount;
use super::vnode::Vnode;
use crate::sync::spinlock::SpinLock;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

/// What an entry knows.
#[derive(Clone)]
pub enum NcState {
    /// Not resolved yet.
    Unresolved,
    /// The name exists.
    Positive(Arc<Vnode>),
    /// The name does not exist.
    Negative,
}

struct Inner {
    name: Vec<u8>,
    parent: Weak<Ncp>,
    state: NcState,
    children: BTreeMap<Vec<u8>, Arc<Ncp>>,
    mounted: Option<Arc<Mount>>,
    /// Negative children, capped per directory (cache hysteresis).
    negatives: usize,
    /// The name was removed: the entry is out of its parent's children.
    destroyed: bool,
    /// The parent, held while the entry is destroyed (its parent no longer holds it, so no
    /// cycle), so `..` and the path walk up still work from a removed directory.
    held_parent: Option<Arc<Ncp>>,
}

/// Most negative entries cached under one directory.
const MAX_NEGATIVE: usize = 64;

/// Entries alive (diagnostics and tests).
pub static NCPS: AtomicU64 = AtomicU64::new(0);

/// A namecache entry.
pub struct Ncp {
    inner: SpinLock<Inner>,
}

/// An entry together with the mount it was reached through (`struct nchandle`).
#[derive(Clone)]
pub struct NcHandle {
    /// The entry.
    pub ncp: Arc<Ncp>,
    /// The mount.
    pub mount: Arc<Mount>,
}

impl NcHandle {
    /// The vnode, if the entry is positive.
    pub fn vnode(&self) -> Option<Arc<Vnode>> {
        self.ncp.vnode()
    }

    /// True when both handles name the same entry of the same mount.
    pub fn same(&self, other: &NcHandle) -> bool {
        Arc::ptr_eq(&self.ncp, &other.ncp) && Arc::ptr_eq(&self.mount, &other.mount)
    }
}

impl Ncp {
    fn alloc(name: Vec<u8>, parent: Weak<Ncp>, state: NcState) -> Arc<Ncp> {
        NCPS.fetch_add(1, Ordering::Relaxed);
        Arc::new(Ncp {
            inner: SpinLock::new(Inner {
                name,
                parent,
                state,
                children: BTreeMap::new(),
                mounted: None,
                negatives: 0,
                destroyed: false,
                held_parent: None,
            }),
        })
    }

    /// The root entry of a mount, positive on its root vnode.
    pub fn new_root(root: Arc<Vnode>) -> Arc<Ncp> {
        Ncp::alloc(Vec::new(), Weak::new(), NcState::Positive(root))
    }

    /// The entry's state.
    pub fn state(&self) -> NcState {
        self.inner.lock().state.clone()
    }

    /// The vnode, when positive.
    pub fn vnode(&self) -> Option<Arc<Vnode>> {
        match &self.inner.lock().state {
            NcState::Positive(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// The entry's name (empty for a mount root).
    pub fn name(&self) -> Vec<u8> {
        self.inner.lock().name.clone()
    }

    /// The parent entry in the same mount (None at a mount root).
    pub fn parent(&self) -> Option<Arc<Ncp>> {
        self.inner.lock().parent.upgrade()
    }

    /// The mount mounted here, if any.
    pub fn mounted(&self) -> Option<Arc<Mount>> {
        self.inner.lock().mounted.clone()
    }

    /// Marks or clears a mount point; false when one is already mounted here.
    pub(super) fn set_mounted(&self, m: Option<Arc<Mount>>) -> bool {
        let mut i = self.inner.lock();
        if m.is_some() && i.mounted.is_some() {
            return false;
        }
        i.mounted = m;
        true
    }

    /// The child entry `name`, created unresolved if it is not cached (cache_nlookup).
    pub fn child(self: &Arc<Self>, name: &[u8]) -> Arc<Ncp> {
        let mut i = self.inner.lock();
        if let Some(c) = i.children.get(name) {
            return c.clone();
        }
        let c = Ncp::alloc(name.to_vec(), Arc::downgrade(self), NcState::Unresolved);
        i.children.insert(name.to_vec(), c.clone());
        c
    }

    /// Records what a resolve or a namespace operation learned about the entry.
    pub fn set_state(&self, s: NcState) {
        let parent = {
            let mut i = self.inner.lock();
            let was_neg = matches!(i.state, NcState::Negative);
            let is_neg = matches!(s, NcState::Negative);
            i.state = s;
            if was_neg == is_neg || i.destroyed {
                return;
            }
            (i.parent.upgrade(), is_neg, i.name.clone())
        };
        if let (Some(p), is_neg, name) = parent {
            let mut pi = p.inner.lock();
            if is_neg {
                pi.negatives += 1;
                if pi.negatives > MAX_NEGATIVE {
                    // Forget unreferenced negative entries other than this one.
                    let victims: Vec<Vec<u8>> = pi
                        .children
                        .iter()
                        .filter(|(n, c)| **n != name && Arc::strong_count(c) == 1 && c.is_negative())
                        .map(|(n, _)| n.clone())
                        .collect();
                    for v in victims {
                        pi.children.remove(&v);
                        pi.negatives -= 1;
                    }
                }
            } else {
                pi.negatives = pi.negatives.saturating_sub(1);
            }
        }
    }

    fn is_negative(&self) -> bool {
        matches!(self.inner.lock().state, NcState::Negative)
    }

    /// True once the name was removed ([`Ncp::unlink`]).
    pub fn is_destroyed(&self) -> bool {
        self.inner.lock().destroyed
    }

    /// The name was removed (cache_unlink): the entry leaves its parent's children, so the
    /// next lookup of the name makes a fresh entry, but it keeps its state, a positive entry
    /// its vnode. Whoever still holds a handle on it (a working directory, an open file)
    /// keeps reaching what it named, as DragonFly's nchandle plus vnode reference does: a
    /// removed working directory still opens as `.` and its `..` is the old parent, while
    /// its filesystem refuses new names in it and listing it (ENOENT).
    pub fn unlink(self: &Arc<Self>) {
        let (parent, name, negative) = {
            let i = self.inner.lock();
            (i.parent.upgrade(), i.name.clone(), matches!(i.state, NcState::Negative))
        };
        if let Some(p) = &parent {
            let mut pi = p.inner.lock();
            if pi.children.get(&name).is_some_and(|c| Arc::ptr_eq(c, self)) {
                pi.children.remove(&name);
                if negative {
                    pi.negatives = pi.negatives.saturating_sub(1);
                }
            }
        }
        let mut i = self.inner.lock();
        i.destroyed = true;
        i.held_parent = parent;
    }

    /// Moves this entry under `newparent` as `newname` (cache_rename); whatever entry held
    /// that name is unlinked ([`Ncp::unlink`]; unresolved becomes negative).
    pub fn rename_to(self: &Arc<Self>, newparent: &Arc<Ncp>, newname: &[u8]) {
        let (oldparent, oldname) = {
            let i = self.inner.lock();
            (i.parent.upgrade(), i.name.clone())
        };
        if let Some(op) = oldparent {
            let mut pi = op.inner.lock();
            if pi.children.get(&oldname).is_some_and(|c| Arc::ptr_eq(c, self)) {
                pi.children.remove(&oldname);
            }
        }
        let displaced = newparent.inner.lock().children.get(newname).cloned();
        if let Some(d) = displaced.filter(|d| !Arc::ptr_eq(d, self)) {
            d.unlink();
            let mut di = d.inner.lock();
            if matches!(di.state, NcState::Unresolved) {
                di.state = NcState::Negative;
            }
        }
        newparent.inner.lock().children.insert(newname.to_vec(), self.clone());
        let mut i = self.inner.lock();
        i.name = newname.to_vec();
        i.parent = Arc::downgrade(newparent);
    }

    /// Swaps the places of two entries (renameat2's RENAME_EXCHANGE): each takes the other's
    /// parent and name, subtrees travelling along.
    pub fn exchange(a: &Arc<Ncp>, b: &Arc<Ncp>) {
        let (ap, an) = {
            let i = a.inner.lock();
            (i.parent.clone(), i.name.clone())
        };
        let (bp, bn) = {
            let i = b.inner.lock();
            (i.parent.clone(), i.name.clone())
        };
        if let Some(p) = ap.upgrade() {
            p.inner.lock().children.insert(an.clone(), b.clone());
        }
        if let Some(p) = bp.upgrade() {
            p.inner.lock().children.insert(bn.clone(), a.clone());
        }
        {
            let mut i = a.inner.lock();
            i.name = bn;
            i.parent = bp;
        }
        let mut i = b.inner.lock();
        i.name = an;
        i.parent = ap;
    }

    /// True when something outside the tree still refers to an entry in it, or a mount sits
    /// inside it (unmount's EBUSY check).
    pub fn busy(self: &Arc<Self>) -> bool {
        let children: Vec<Arc<Ncp>> = self.inner.lock().children.values().cloned().collect();
        children.iter().any(|c| Arc::strong_count(c) > 2 || c.mounted().is_some() || c.busy())
    }

    /// Drops the whole subtree (unmount), releasing its vnodes.
    pub fn tear_down(&self) {
        let children: Vec<Arc<Ncp>> =
            core::mem::take(&mut self.inner.lock().children).into_values().collect();
        for c in children {
            c.tear_down();
        }
        self.inner.lock().state = NcState::Unresolved;
    }
}

impl Drop for Ncp {
    fn drop(&mut self) {
        NCPS.fetch_sub(1, Ordering::Relaxed);
    }
}
