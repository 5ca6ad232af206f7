//! open(2) (DragonFly's vn_open, Linux's do_filp_open): resolves the path with the flags'
//! rules, creates with O_CREAT, checks permissions, and makes the open file description.
use super::cred::access;
use super::file::{open_vnode, File};
use super::namecache::NcHandle;
use super::nlookup::{nlookup, nlookup_parent, Ctx};
use super::ops::create_at;
use super::vnode::VType;
use abi::errno::{EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, EOPNOTSUPP};
use abi::fcntl::*;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Symlinks O_CREAT follows to reach the name it creates (Linux's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// Where O_CREAT creates `path` that does not resolve: the path itself, or when it ends in a
/// symlink (followed) to a missing name, that link's target, taken from the link's
/// directory; ELOOP past MAX_LINKS links.
fn creation_point(
    ctx: &Ctx,
    at: Option<&NcHandle>,
    path: &[u8],
    follow: bool,
) -> Result<(Option<NcHandle>, Vec<u8>), i32> {
    let mut at = at.cloned();
    let mut path = path.to_vec();
    if !follow {
        return Ok((at, path));
    }
    for _ in 0..MAX_LINKS {
        let link = match nlookup(ctx, at.as_ref(), &path, false) {
            Ok(h) => h.vnode().filter(|v| v.vtype() == VType::Lnk),
            Err(_) => None,
        };
        let Some(link) = link else { return Ok((at, path)) };
        let target = link.node.readlink()?;
        if target.first() != Some(&b'/') {
            at = Some(nlookup_parent(ctx, at.as_ref(), &path)?.0);
        }
        path = target;
    }
    Err(ELOOP)
}

/// Opens `path` relative to `at` (None: the working directory) with open(2)'s `flags` and,
/// when creating, permission bits `mode` (the process layer applies its umask first).
/// Errors as man 2 open lists them: EEXIST (O_CREAT|O_EXCL on any existing name, a dangling
/// symlink included), ELOOP (O_NOFOLLOW on a symlink), ENOTDIR (O_DIRECTORY on a
/// non-directory), EISDIR (writing or truncating a directory, or O_CREAT on a name ending in
/// `/`), EACCES (mode bits), ENXIO (sockets; a FIFO opened O_WRONLY|O_NONBLOCK with no
/// reader), EINVAL (access mode 3, O_CREAT|O_DIRECTORY), EOPNOTSUPP (O_TMPFILE).
pub fn open_at(
    ctx: &Ctx,
    at: Option<&NcHandle>,
    path: &[u8],
    flags: u32,
    mode: u32,
) -> Result<Arc<File>, i32> {
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(EOPNOTSUPP);
    }
    let acc = flags & O_ACCMODE;
    if acc == O_ACCMODE && flags & O_PATH == 0 {
        return Err(EINVAL);
    }
    let creat = flags & O_CREAT != 0 && flags & O_PATH == 0;
    if creat && flags & O_DIRECTORY != 0 {
        return Err(EINVAL);
    }
    let nofollow = flags & O_NOFOLLOW != 0 || (creat && flags & O_EXCL != 0);
    let (h, fresh) = match nlookup(ctx, at, path, !nofollow) {
        Ok(h) => {
            if creat && flags & O_EXCL != 0 {
                return Err(EEXIST);
            }
            (h, false)
        }
        Err(ENOENT) if creat => {
            if path.last() == Some(&b'/') {
                return Err(EISDIR);
            }
            let (cat, cpath) = creation_point(ctx, at, path, !nofollow)?;
            match create_at(ctx, cat.as_ref(), &cpath, VType::Reg, mode & 0o7777, 0) {
                Ok(h) => (h, true),
                // Lost a race with another creator: open what it made.
                Err(EEXIST) if flags & O_EXCL == 0 => (nlookup(ctx, at, path, true)?, false),
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let vp = h.vnode().ok_or(ENOENT)?;
    if vp.vtype() == VType::Lnk && flags & O_PATH == 0 {
        return Err(ELOOP);
    }
    if flags & O_DIRECTORY != 0 && !vp.is_dir() {
        return Err(ENOTDIR);
    }
    if creat && vp.is_dir() {
        return Err(EISDIR);
    }
    if flags & O_PATH == 0 && !fresh {
        // O_TRUNC needs write permission even with O_RDONLY (Linux's MAY_WRITE).
        let mut want = 0;
        if acc == O_RDONLY || acc == O_RDWR {
            want |= access::R;
        }
        if acc == O_WRONLY || acc == O_RDWR || flags & O_TRUNC != 0 {
            want |= access::W;
        }
        if vp.is_dir() && want & access::W != 0 {
            return Err(EISDIR);
        }
        // A read-only mount refuses writing its files (a device or FIFO on it is not its
        // data), before the mode bits are looked at (Linux's sb_permission).
        if want & access::W != 0 && matches!(vp.vtype(), VType::Reg | VType::Dir) {
            h.mount.check_writable()?;
        }
        ctx.cred.check(&vp.getattr(), want)?;
    }
    open_vnode(h, vp, if fresh { flags & !O_TRUNC } else { flags })
}
