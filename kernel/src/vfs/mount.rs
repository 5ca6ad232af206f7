//! Mounts and the mount table (DragonFly's vfs_mount.c). A mount has its own namecache
//! tree rooted at `root_ncp`; the entry it is mounted on is marked with it, and lookups cross
//! into the mount there (and back out through `..` at its root). A per-mount token serializes
//! namespace changes on the mount, as DragonFly's `mnt_token` does.
use super::namecache::{NcHandle, Ncp};
use super::vnode::Vnode;
use crate::lwkt::token::Token;
use crate::sync::spinlock::SpinLock;
use abi::errno::{EBUSY, EINVAL, ENOTDIR};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One mounted filesystem.
pub struct Mount {
    /// Filesystem type ("tmpfs", "devfs", "proc").
    pub fs_name: &'static str,
    /// Where it came from, as mount(2) named it (for /proc/mounts).
    pub source: Vec<u8>,
    /// A unique number (st_dev).
    pub id: u64,
    /// Serializes namespace changes (and resolves) on this mount.
    pub token: Token,
    /// The root of the mount's namecache tree.
    pub root_ncp: Arc<Ncp>,
    /// Where it is mounted (None for the root mount).
    covered: SpinLock<Option<NcHandle>>,
    /// Names change behind the namecache's back (procfs: pids come and go, /proc/self
    /// depends on the reader): every lookup asks the filesystem again.
    uncached: core::sync::atomic::AtomicBool,
    /// Mounted MS_RDONLY: every change to its namespace and files is EROFS.
    readonly: core::sync::atomic::AtomicBool,
}

impl Mount {
    /// A mount whose root directory is `root` (called by filesystems' mount functions).
    pub fn new(
        fs_name: &'static str,
        source: impl Into<Vec<u8>>,
        root: impl FnOnce(&alloc::sync::Weak<Mount>) -> Arc<Vnode>,
    ) -> Arc<Mount> {
        Arc::new_cyclic(|weak| Mount {
            fs_name,
            source: source.into(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            token: Token::new("mnt_token"),
            root_ncp: Ncp::new_root(root(weak)),
            covered: SpinLock::new(None),
            uncached: core::sync::atomic::AtomicBool::new(false),
            readonly: core::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Makes every lookup on this mount ask the filesystem (see `uncached`).
    pub fn set_uncached(&self) {
        self.uncached.store(true, Ordering::Relaxed);
    }

    /// Whether lookups bypass the namecache's positive and negative states.
    pub fn uncached(&self) -> bool {
        self.uncached.load(Ordering::Relaxed)
    }

    /// Makes the mount read-only (MS_RDONLY).
    pub fn set_readonly(&self) {
        self.readonly.store(true, Ordering::Relaxed);
    }

    /// EROFS when the mount is read-only: the check before any change to it.
    pub fn check_writable(&self) -> Result<(), i32> {
        if self.readonly.load(Ordering::Relaxed) {
            return Err(abi::errno::EROFS);
        }
        Ok(())
    }

    /// The handle of the mount's root.
    pub fn root(self: &Arc<Self>) -> NcHandle {
        NcHandle { ncp: self.root_ncp.clone(), mount: self.clone() }
    }

    /// Where the mount is mounted.
    pub fn covered(&self) -> Option<NcHandle> {
        self.covered.lock().clone()
    }
}

/// Every mount, in mount order.
static MOUNTS: SpinLock<Vec<Arc<Mount>>> = SpinLock::new(Vec::new());

/// Makes `m` the root mount.
pub fn mount_root(m: Arc<Mount>) {
    MOUNTS.lock().insert(0, m);
}

/// The root mount's root.
pub fn root() -> Option<NcHandle> {
    MOUNTS.lock().first().map(|m| m.root())
}

/// Mounts `m` on the directory `on`.
pub fn mount_on(on: &NcHandle, m: Arc<Mount>) -> Result<(), i32> {
    let v = on.ncp.vnode().ok_or(EINVAL)?;
    if !v.is_dir() {
        return Err(ENOTDIR);
    }
    if !on.ncp.set_mounted(Some(m.clone())) {
        return Err(EBUSY);
    }
    *m.covered.lock() = Some(on.clone());
    MOUNTS.lock().push(m);
    Ok(())
}

/// Unmounts the filesystem whose root is `root`: EBUSY while anything but the table, its
/// own root entry and the caller's handle refers to it, or while something is mounted inside.
/// `detach` (MNT_DETACH, Linux's umount_tree) takes the mount and every mount inside it out
/// of the namespace all the same; what still refers to one of them (open files, working
/// directories) keeps that one until the last reference goes.
pub fn unmount(root: NcHandle, detach: bool) -> Result<(), i32> {
    let m = root.mount.clone();
    drop(root);
    let mut table = MOUNTS.lock();
    let Some(pos) = table.iter().position(|x| Arc::ptr_eq(x, &m)) else { return Err(EINVAL) };
    if pos == 0 {
        return Err(EBUSY);
    }
    if !detach {
        // Expected references: the table, `m` here, and the covered entry's mount mark. Any
        // more is a namecache handle (a working directory, an open file) somewhere.
        let expected = 2 + usize::from(m.covered.lock().is_some());
        if Arc::strong_count(&m) > expected || m.root_ncp.busy() {
            return Err(EBUSY);
        }
    }
    let tree = take_subtree(&mut table, m);
    drop(table);
    // Break the links between the mounts (each covered entry's mark holds the mount on it, and
    // a mount's covered handle holds the mount below), so none keeps another alive.
    for x in &tree {
        if let Some(c) = x.covered.lock().take() {
            c.ncp.set_mounted(None);
        }
    }
    for x in tree {
        // Only `tree` refers to it now, and no entry inside is held: nothing can reach it
        // any more, so its files go now. Otherwise its last reference frees them.
        if Arc::strong_count(&x) == 1 && !x.root_ncp.busy() {
            x.root_ncp.tear_down();
        }
    }
    Ok(())
}

/// Removes `m` and every mount inside it (mounted on an entry of `m` or of a mount already
/// taken) from the table; returns them, `m` first.
fn take_subtree(table: &mut Vec<Arc<Mount>>, m: Arc<Mount>) -> Vec<Arc<Mount>> {
    table.retain(|x| !Arc::ptr_eq(x, &m));
    let mut tree = alloc::vec![m];
    loop {
        let inside = |x: &Arc<Mount>| {
            x.covered.lock().as_ref().is_some_and(|c| tree.iter().any(|t| Arc::ptr_eq(t, &c.mount)))
        };
        let Some(pos) = table.iter().position(inside) else { return tree };
        tree.push(table.remove(pos));
    }
}

/// The mounts, for /proc/mounts.
pub fn list() -> Vec<Arc<Mount>> {
    MOUNTS.lock().clone()
}
