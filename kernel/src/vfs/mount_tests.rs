//! Mount tests: MNT_DETACH of a mount with a mount inside takes the whole tree out of the
//! table and frees every mount nothing refers to (a busy one when its last reference goes);
//! a read-only mount answers EROFS before any permission check.
use super::cred::Cred;
use super::mount::{self, Mount};
use super::namecache::NcHandle;
use super::nlookup::{nlookup, Ctx};
use super::open::open_at;
use super::ops::{create_at, mkdir_at, remove_at};
use super::rootfs;
use super::tests::e;
use super::vnode::{VType, VNODES};
use crate::ktest::Failure;
use crate::vm::object::OBJECT_PAGES;
use crate::{kassert, kassert_eq, ktest};
use abi::errno::{EACCES, EROFS};
use abi::fcntl::{O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY};
use alloc::format;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// The vnodes and object pages alive (what a torn-down mount must give back).
fn counters() -> (u64, u64) {
    (VNODES.load(Ordering::Relaxed), OBJECT_PAGES.load(Ordering::Relaxed))
}

/// A new directory of the root, its path, and a fresh tmpfs mounted on it.
fn mount_on_new_dir(root: &Ctx) -> Result<(Vec<u8>, Arc<Mount>), Failure> {
    let dir = format!("/mnt-tree{}", SEQ.fetch_add(1, Ordering::Relaxed)).into_bytes();
    let on = e(mkdir_at(root, None, &dir, 0o755), "mkdir mount point")?;
    let m = super::tmpfs::mount("mnt-tree", 0o777, 0, 0);
    e(mount::mount_on(&on, m.clone()), "mount")?;
    Ok((dir, m))
}

/// Writes `len` bytes into a new file `path`.
fn fill(ctx: &Ctx, path: &[u8], len: usize) -> Result<NcHandle, Failure> {
    let h = e(create_at(ctx, None, path, VType::Reg, 0o644, 0), "create")?;
    let v = h.vnode().ok_or("negative")?;
    e(v.node.write(0, &alloc::vec![0x5a; len]), "write")?;
    Ok(h)
}

fn listed(m: &Weak<Mount>) -> bool {
    mount::list().iter().any(|x| core::ptr::eq(Arc::as_ptr(x), m.as_ptr()))
}

/// A tmpfs mounted on a new directory of the root and another inside it, with files in both.
struct Nested {
    /// The outer mount point's path.
    dir: Vec<u8>,
    top: Weak<Mount>,
    sub: Weak<Mount>,
    /// A file of the inner mount.
    file: NcHandle,
}

fn nested(root: &Ctx) -> Result<Nested, Failure> {
    let (dir, top) = mount_on_new_dir(root)?;
    let sub_path = [dir.as_slice(), b"/sub"].concat();
    let on = e(mkdir_at(root, None, &sub_path, 0o755), "mkdir sub")?;
    let sub = super::tmpfs::mount("mnt-sub", 0o777, 0, 0);
    e(mount::mount_on(&on, sub.clone()), "mount sub")?;
    drop(on);
    fill(root, &[dir.as_slice(), b"/top-file"].concat(), 3 * 4096)?;
    let file = fill(root, &[sub_path.as_slice(), b"/f"].concat(), 5 * 4096)?;
    kassert!(Arc::ptr_eq(&file.mount, &sub), "the file is not on the inner mount");
    Ok(Nested { dir, top: Arc::downgrade(&top), sub: Arc::downgrade(&sub), file })
}

ktest! {
    /// MNT_DETACH of a mount with a mount inside: both leave the table, and both are freed
    /// (their vnodes and pages given back), nothing keeping the other alive.
    fn detach_frees_mount_tree() {
        let root = rootfs::kernel_ctx().ok_or("no root")?;
        let baseline = counters();
        let Nested { dir, top, sub, file: f } = nested(&root)?;
        drop(f);
        kassert!(counters().0 > baseline.0 + 1 && counters().1 >= baseline.1 + 8, "{:?} {:?}", baseline, counters());
        let r = e(nlookup(&root, None, &dir, true), "lookup mount")?;
        e(mount::unmount(r, true), "detach")?;
        kassert!(!listed(&top) && !listed(&sub), "a detached mount is still listed");
        kassert!(top.upgrade().is_none(), "the detached mount was not freed");
        kassert!(sub.upgrade().is_none(), "the mount inside was not freed");
        e(remove_at(&root, None, &dir, true), "rmdir mount point")?;
        kassert_eq!(counters(), baseline);
        Ok(())
    }
}

ktest! {
    /// MNT_DETACH while something inside the inner mount is held: the outer mount goes at
    /// once, the inner one stays usable until the holder lets go, and is freed then.
    fn detach_busy_submount_freed_on_last_reference() {
        let root = rootfs::kernel_ctx().ok_or("no root")?;
        let baseline = counters();
        let Nested { dir, top, sub, file: f } = nested(&root)?;
        let r = e(nlookup(&root, None, &dir, true), "lookup mount")?;
        e(mount::unmount(r, true), "detach")?;
        kassert!(!listed(&top) && !listed(&sub), "a detached mount is still listed");
        kassert!(top.upgrade().is_none(), "the idle outer mount was not freed");
        kassert!(sub.upgrade().is_some(), "the held inner mount went away");
        let mut buf = [0u8; 4];
        kassert_eq!(e(f.vnode().ok_or("neg")?.node.read(4096, &mut buf), "read")?, 4);
        kassert_eq!(&buf, &[0x5a; 4]);
        drop(f);
        kassert!(sub.upgrade().is_none(), "the inner mount outlived its last reference");
        e(remove_at(&root, None, &dir, true), "rmdir mount point")?;
        kassert_eq!(counters(), baseline);
        Ok(())
    }
}

ktest! {
    /// On a read-only mount, opening a file the caller may not write for writing (or
    /// truncating it) is EROFS, not EACCES: the mount is checked first, as Linux's
    /// sb_permission does; reading is still a matter of permission.
    fn readonly_mount_erofs_before_eacces() {
        let root = rootfs::kernel_ctx().ok_or("no root")?;
        let (dir, m) = mount_on_new_dir(&root)?;
        let file = [dir.as_slice(), b"/ro-file"].concat();
        let secret = [dir.as_slice(), b"/secret"].concat();
        drop(fill(&root, &file, 10)?);
        drop(fill(&root, &secret, 10)?);
        let chmod = |p: &[u8], perm| -> Result<(), Failure> {
            let v = e(nlookup(&root, None, p, true), "lookup")?.vnode().ok_or("neg")?;
            e(v.node.setattr(&super::vnode::SetAttr { perm: Some(perm), ..Default::default() }), "chmod")
        };
        chmod(&file, 0o444)?;
        chmod(&secret, 0o000)?;
        m.set_readonly();
        let user = Ctx { cred: Cred::user(65534, 65534), ..root.clone() };
        for flags in [O_WRONLY, O_RDONLY | O_TRUNC, O_WRONLY | O_CREAT] {
            let got = open_at(&user, None, &file, flags, 0o644).err();
            kassert!(got == Some(EROFS), "flags {flags:#x}: {got:?}");
        }
        kassert!(open_at(&user, None, &file, O_RDONLY, 0).is_ok(), "read-only open");
        kassert_eq!(open_at(&user, None, &secret, O_RDONLY, 0).err(), Some(EACCES));
        kassert_eq!(open_at(&user, None, &secret, O_WRONLY, 0).err(), Some(EROFS));
        let r = e(nlookup(&root, None, &dir, true), "lookup mount")?;
        drop(m);
        e(mount::unmount(r, false), "unmount")?;
        e(remove_at(&root, None, &dir, true), "rmdir mount point")?;
        Ok(())
    }
}
