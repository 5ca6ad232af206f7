//! The namespace operations the system calls will call (DragonFly's kern_* helpers in
//! vfs_syscalls.c): each resolves its path through the namecache, checks permissions, calls
//! the filesystem's n-VOP under the mount's token, and updates the namecache so it stays the
//! authority on what exists.
use super::cred::access;
use super::namecache::{NcHandle, NcState};
use super::nlookup::{nlookup, nlookup_parent, resolve, Ctx};
use super::vnode::{mode, Attr, DirEntry, NewNode, VType, Vnode};
use crate::lwkt::token::get_token;
use abi::errno::{EBUSY, EEXIST, EINVAL, ENOENT, ENOTDIR, EPERM, EXDEV};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// The directory and name a create or remove acts on (search permission on the way there
/// checked by the lookup). Whether the caller may change the directory is asked later, in
/// Linux's order: a create answers EEXIST first, a remove ENOENT after EROFS.
struct Target {
    dir: NcHandle,
    dirv: Arc<Vnode>,
    name: Vec<u8>,
    trailing_slash: bool,
}

fn target(ctx: &Ctx, at: Option<&NcHandle>, path: &[u8]) -> Result<Target, i32> {
    let (dir, name, trailing_slash) = nlookup_parent(ctx, at, path)?;
    let dirv = dir.vnode().ok_or(ENOENT)?;
    Ok(Target { dir, dirv, name, trailing_slash })
}

impl Target {
    /// The namecache entry of the name in the directory (resolved or not).
    fn entry(&self) -> NcHandle {
        NcHandle { ncp: self.dir.ncp.child(&self.name), mount: self.dir.mount.clone() }
    }

    /// Write and search permission on the directory (EACCES).
    fn may_write(&self, ctx: &Ctx) -> Result<(), i32> {
        ctx.cred.check(&self.dirv.getattr(), access::W | access::X)
    }

    /// A new name may go in: not on a read-only mount (EROFS, Linux's mnt_want_write, before
    /// the caller's permission is looked at), then permission.
    fn may_create(&self, ctx: &Ctx) -> Result<(), i32> {
        self.dir.mount.check_writable()?;
        self.may_write(ctx)
    }
}

fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

/// Sticky directories: only the owner of the entry or of the directory (or root) may remove
/// or rename it.
fn sticky_ok(ctx: &Ctx, dir: &Attr, victim: &Attr) -> Result<(), i32> {
    if dir.mode & mode::S_ISVTX != 0
        && ctx.cred.uid != 0
        && ctx.cred.uid != dir.uid
        && ctx.cred.uid != victim.uid
    {
        return Err(EPERM);
    }
    Ok(())
}

/// A new node's owner and mode in `dir`: the caller's ids, except in a set-group-id
/// directory, whose group the node takes (and a new directory the bit as well).
fn new_node(ctx: &Ctx, dir: &Attr, vtype: VType, perm: u32, rdev: u64) -> NewNode {
    let (mut gid, mut perm) = (ctx.cred.gid, perm);
    if dir.mode & mode::S_ISGID != 0 {
        gid = dir.gid;
        if vtype == VType::Dir {
            perm |= mode::S_ISGID;
        }
    }
    NewNode { vtype, perm, uid: ctx.cred.uid, gid, rdev }
}

/// Creates a node (mkdir, mknod, a file for O_CREAT). EEXIST when the name exists.
pub fn create_at(
    ctx: &Ctx,
    at: Option<&NcHandle>,
    path: &[u8],
    vtype: VType,
    perm: u32,
    rdev: u64,
) -> Result<NcHandle, i32> {
    let t = target(ctx, at, path)?;
    if is_dot(&t.name) {
        return Err(EEXIST);
    }
    if t.trailing_slash && vtype != VType::Dir {
        return Err(ENOENT);
    }
    let _tok = get_token(&t.dir.mount.token);
    let h = t.entry();
    if resolve(&h)?.is_some() {
        return Err(EEXIST);
    }
    t.may_create(ctx)?;
    let v = t.dirv.node.create(&t.name, new_node(ctx, &t.dirv.getattr(), vtype, perm, rdev))?;
    h.ncp.set_state(NcState::Positive(v));
    Ok(h)
}

/// mkdir.
pub fn mkdir_at(ctx: &Ctx, at: Option<&NcHandle>, path: &[u8], perm: u32) -> Result<NcHandle, i32> {
    create_at(ctx, at, path, VType::Dir, perm, 0)
}

/// symlink.
pub fn symlink_at(
    ctx: &Ctx,
    target_path: &[u8],
    at: Option<&NcHandle>,
    path: &[u8],
) -> Result<NcHandle, i32> {
    if target_path.is_empty() {
        return Err(ENOENT);
    }
    let t = target(ctx, at, path)?;
    if is_dot(&t.name) || t.trailing_slash {
        return Err(EEXIST);
    }
    let _tok = get_token(&t.dir.mount.token);
    let h = t.entry();
    if resolve(&h)?.is_some() {
        return Err(EEXIST);
    }
    t.may_create(ctx)?;
    let node = new_node(ctx, &t.dirv.getattr(), VType::Lnk, 0o777, 0);
    let v = t.dirv.node.symlink(&t.name, target_path, node)?;
    h.ncp.set_state(NcState::Positive(v));
    Ok(h)
}

/// link: a new name for an existing non-directory.
pub fn link_at(
    ctx: &Ctx,
    old_at: Option<&NcHandle>,
    old: &[u8],
    new_at: Option<&NcHandle>,
    new: &[u8],
    follow: bool,
) -> Result<(), i32> {
    let src = nlookup(ctx, old_at, old, follow)?;
    let sv = src.vnode().ok_or(ENOENT)?;
    if sv.is_dir() {
        return Err(EPERM);
    }
    let t = target(ctx, new_at, new)?;
    if is_dot(&t.name) || t.trailing_slash {
        return Err(EEXIST);
    }
    if !Arc::ptr_eq(&src.mount, &t.dir.mount) {
        return Err(EXDEV);
    }
    let _tok = get_token(&t.dir.mount.token);
    let h = t.entry();
    if resolve(&h)?.is_some() {
        return Err(EEXIST);
    }
    t.may_create(ctx)?;
    t.dirv.node.link(&t.name, &sv)?;
    h.ncp.set_state(NcState::Positive(sv));
    Ok(())
}

/// unlink (`rmdir == false`) or rmdir.
pub fn remove_at(ctx: &Ctx, at: Option<&NcHandle>, path: &[u8], rmdir: bool) -> Result<(), i32> {
    let t = target(ctx, at, path)?;
    match t.name.as_slice() {
        b"." => return Err(if rmdir { EINVAL } else { abi::errno::EISDIR }),
        b".." => return Err(if rmdir { abi::errno::ENOTEMPTY } else { abi::errno::EISDIR }),
        _ => {}
    }
    // Linux: EROFS, then the name (ENOENT), then the permission (may_delete).
    t.dir.mount.check_writable()?;
    let _tok = get_token(&t.dir.mount.token);
    let h = t.entry();
    let v = resolve(&h)?.ok_or(ENOENT)?;
    if t.trailing_slash && !v.is_dir() {
        return Err(ENOTDIR);
    }
    t.may_write(ctx)?;
    sticky_ok(ctx, &t.dirv.getattr(), &v.getattr())?;
    if h.ncp.mounted().is_some() {
        return Err(EBUSY);
    }
    if rmdir {
        t.dirv.node.rmdir(&t.name)?;
    } else {
        t.dirv.node.remove(&t.name)?;
    }
    h.ncp.unlink();
    Ok(())
}

/// True when `ancestor` is `h` or one of its parents within the mount.
fn is_ancestor(ancestor: &NcHandle, h: &NcHandle) -> bool {
    let mut cur = Some(h.ncp.clone());
    while let Some(c) = cur {
        if Arc::ptr_eq(&c, &ancestor.ncp) {
            return true;
        }
        cur = c.parent();
    }
    false
}

/// rename.
pub fn rename_at(
    ctx: &Ctx,
    old_at: Option<&NcHandle>,
    old: &[u8],
    new_at: Option<&NcHandle>,
    new: &[u8],
) -> Result<(), i32> {
    rename2_at(ctx, old_at, old, new_at, new, false)
}

/// renameat2 without RENAME_EXCHANGE: `noreplace` (RENAME_NOREPLACE) makes an existing
/// target EEXIST instead of replacing it.
pub fn rename2_at(
    ctx: &Ctx,
    old_at: Option<&NcHandle>,
    old: &[u8],
    new_at: Option<&NcHandle>,
    new: &[u8],
    noreplace: bool,
) -> Result<(), i32> {
    let from = target(ctx, old_at, old)?;
    let to = target(ctx, new_at, new)?;
    // Linux: `.` or `..` on either side is EBUSY (EEXIST as a target with RENAME_NOREPLACE).
    if is_dot(&from.name) {
        return Err(EBUSY);
    }
    if is_dot(&to.name) {
        return Err(if noreplace { EEXIST } else { EBUSY });
    }
    if !Arc::ptr_eq(&from.dir.mount, &to.dir.mount) {
        return Err(EXDEV);
    }
    from.dir.mount.check_writable()?;
    let _tok = get_token(&from.dir.mount.token);
    let src = from.entry();
    let sv = resolve(&src)?.ok_or(ENOENT)?;
    let dst = to.entry();
    let dv = resolve(&dst)?;
    if noreplace && dv.is_some() {
        return Err(EEXIST);
    }
    from.may_write(ctx)?;
    to.may_write(ctx)?;
    if (from.trailing_slash || to.trailing_slash) && !sv.is_dir() {
        return Err(ENOTDIR);
    }
    if src.ncp.mounted().is_some() || dst.ncp.mounted().is_some() {
        return Err(EBUSY);
    }
    // A directory cannot move below itself.
    if sv.is_dir() && is_ancestor(&src, &to.dir) {
        return Err(EINVAL);
    }
    sticky_ok(ctx, &from.dirv.getattr(), &sv.getattr())?;
    if let Some(d) = &dv {
        sticky_ok(ctx, &to.dirv.getattr(), &d.getattr())?;
        if Arc::ptr_eq(d, &sv) {
            return Ok(());
        }
    }
    from.dirv.node.rename(&from.name, &to.dirv, &to.name)?;
    src.ncp.rename_to(&to.dir.ncp, &to.name);
    Ok(())
}

/// renameat2's RENAME_EXCHANGE: `old` and `new`, both existing, swap places atomically.
pub fn exchange_at(
    ctx: &Ctx,
    old_at: Option<&NcHandle>,
    old: &[u8],
    new_at: Option<&NcHandle>,
    new: &[u8],
) -> Result<(), i32> {
    let from = target(ctx, old_at, old)?;
    let to = target(ctx, new_at, new)?;
    if is_dot(&from.name) || is_dot(&to.name) {
        return Err(EBUSY);
    }
    if !Arc::ptr_eq(&from.dir.mount, &to.dir.mount) {
        return Err(EXDEV);
    }
    from.dir.mount.check_writable()?;
    let _tok = get_token(&from.dir.mount.token);
    let src = from.entry();
    let sv = resolve(&src)?.ok_or(ENOENT)?;
    let dst = to.entry();
    let dv = resolve(&dst)?.ok_or(ENOENT)?;
    from.may_write(ctx)?;
    to.may_write(ctx)?;
    if src.ncp.mounted().is_some() || dst.ncp.mounted().is_some() {
        return Err(EBUSY);
    }
    // Neither may end up below itself.
    if (sv.is_dir() && is_ancestor(&src, &to.dir)) || (dv.is_dir() && is_ancestor(&dst, &from.dir)) {
        return Err(EINVAL);
    }
    sticky_ok(ctx, &from.dirv.getattr(), &sv.getattr())?;
    sticky_ok(ctx, &to.dirv.getattr(), &dv.getattr())?;
    if Arc::ptr_eq(&sv, &dv) {
        return Ok(());
    }
    from.dirv.node.exchange(&from.name, &to.dirv, &to.name)?;
    super::namecache::Ncp::exchange(&src.ncp, &dst.ncp);
    Ok(())
}

/// stat / lstat.
pub fn stat_at(ctx: &Ctx, at: Option<&NcHandle>, path: &[u8], follow: bool) -> Result<Attr, i32> {
    let h = nlookup(ctx, at, path, follow)?;
    Ok(h.vnode().ok_or(ENOENT)?.getattr())
}

/// readlink.
pub fn readlink_at(ctx: &Ctx, at: Option<&NcHandle>, path: &[u8]) -> Result<Vec<u8>, i32> {
    let h = nlookup(ctx, at, path, false)?;
    let v = h.vnode().ok_or(ENOENT)?;
    if v.vtype() != VType::Lnk {
        return Err(EINVAL);
    }
    v.node.readlink()
}

/// Every entry of a directory, `.` and `..` included (getdents in one go).
pub fn read_dir(ctx: &Ctx, h: &NcHandle) -> Result<Vec<DirEntry>, i32> {
    let v = h.vnode().ok_or(ENOENT)?;
    if !v.is_dir() {
        return Err(ENOTDIR);
    }
    ctx.cred.check(&v.getattr(), access::R)?;
    let mut out = Vec::new();
    v.node.readdir(0, &mut |e| {
        out.push(e);
        true
    })?;
    Ok(out)
}

/// The path of `h` as seen from `root` (/proc/self/exe, fd links): names up the namecache,
/// crossing out of mounts at their roots. A name that is no longer linked in gets Linux's
/// " (deleted)" suffix.
pub fn path_of(h: &NcHandle, root: &NcHandle) -> Vec<u8> {
    let (mut out, deleted) = reachable_path_of(h, root);
    if deleted {
        out.extend_from_slice(b" (deleted)");
    }
    out
}

/// The path of `h` from `root` and whether the walk up ended short of `root` (the name was
/// unlinked, or lies outside a chroot): getcwd's ENOENT.
pub fn reachable_path_of(h: &NcHandle, root: &NcHandle) -> (Vec<u8>, bool) {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut cur = h.clone();
    let mut deleted = false;
    for _ in 0..4096 {
        if cur.same(root) {
            break;
        }
        // A removed name's entry is destroyed (or negative), still pointing at its parent.
        if cur.ncp.is_destroyed() || matches!(cur.ncp.state(), NcState::Negative) {
            deleted = true;
        }
        match cur.ncp.parent() {
            Some(p) => {
                parts.push(cur.ncp.name());
                cur = NcHandle { ncp: p, mount: cur.mount.clone() };
            }
            None => match cur.mount.covered() {
                Some(c) => cur = c,
                None => {
                    // Reached a root that is not ours: unlinked, or outside a chroot.
                    deleted |= !parts.is_empty() || !cur.same(root);
                    break;
                }
            },
        }
    }
    let mut out = Vec::new();
    for p in parts.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    (out, deleted && !parts.is_empty())
}
