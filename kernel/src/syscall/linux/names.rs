//! Calls on names and attributes: rename, link, symlink, rmdir, chmod, truncate, fchdir,
//! fsync. The VFS (`vfs::ops`, the vnode's setattr) does the work; this layer copies
//! arguments in and applies Linux's permission rules for attribute changes.
use super::file::user_path;
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use crate::vfs::nlookup::nlookup;
use crate::vfs::ops;
use crate::vfs::vnode::{SetAttr, VType};
use abi::errno::*;
use abi::fcntl::AT_FDCWD;
use alloc::sync::Arc;

type R = Result<u64, i32>;

const AT_SYMLINK_FOLLOW: u32 = 0x400;
const AT_EMPTY_PATH: u32 = 0x1000;
const CWD: u64 = AT_FDCWD as u64;

pub fn renameat2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    // RENAME_NOREPLACE, RENAME_EXCHANGE and RENAME_WHITEOUT are not there yet.
    if a[4] != 0 {
        return Err(EINVAL);
    }
    let (old, new) = (user_path(a[1])?, user_path(a[3])?);
    let old_at = l.proc.fd.at_handle(a[0] as i32, &old)?;
    let new_at = l.proc.fd.at_handle(a[2] as i32, &new)?;
    ops::rename_at(&l.proc.ctx(), old_at.as_ref(), &old, new_at.as_ref(), &new).map(|_| 0)
}

pub fn renameat(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    renameat2(l, t, [a[0], a[1], a[2], a[3], 0, 0])
}

pub fn rename(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    renameat2(l, t, [CWD, a[0], CWD, a[1], 0, 0])
}

pub fn linkat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let flags = a[4] as u32;
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(EINVAL);
    }
    let (old, new) = (user_path(a[1])?, user_path(a[3])?);
    let old_at = l.proc.fd.at_handle(a[0] as i32, &old)?;
    let new_at = l.proc.fd.at_handle(a[2] as i32, &new)?;
    let follow = flags & AT_SYMLINK_FOLLOW != 0;
    ops::link_at(&l.proc.ctx(), old_at.as_ref(), &old, new_at.as_ref(), &new, follow).map(|_| 0)
}

pub fn link(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    linkat(l, t, [CWD, a[0], CWD, a[1], 0, 0])
}

pub fn symlinkat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (target, path) = (user_path(a[0])?, user_path(a[2])?);
    let at = l.proc.fd.at_handle(a[1] as i32, &path)?;
    ops::symlink_at(&l.proc.ctx(), &target, at.as_ref(), &path).map(|_| 0)
}

pub fn symlink(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    symlinkat(l, t, [a[0], CWD, a[1], 0, 0, 0])
}

pub fn rmdir(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[0])?;
    ops::remove_at(&l.proc.ctx(), None, &path, true).map(|_| 0)
}

/// Changes the mode of `h`'s vnode: its owner or root only (EPERM), file type bits kept.
fn chmod_handle(l: &Lwp, h: &crate::vfs::namecache::NcHandle, mode: u32) -> R {
    let v = h.vnode().ok_or(ENOENT)?;
    let uid = l.proc.cred.lock().uid;
    if uid != 0 && v.getattr().uid != uid {
        return Err(EPERM);
    }
    v.node.setattr(&SetAttr { perm: Some(mode & 0o7777), ..SetAttr::default() })?;
    Ok(0)
}

pub fn fchmodat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[1])?;
    let at = l.proc.fd.at_handle(a[0] as i32, &path)?;
    let h = nlookup(&l.proc.ctx(), at.as_ref(), &path, true)?;
    chmod_handle(l, &h, a[2] as u32)
}

pub fn chmod(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    fchmodat(l, t, [CWD, a[0], a[1], 0, 0, 0])
}

pub fn fchmod(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(a[0] as i32)?;
    let h = f.nch.clone().ok_or(EINVAL)?;
    chmod_handle(l, &h, a[1] as u32)
}

pub fn ftruncate(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    l.proc.fd.get(a[0] as i32)?.truncate(a[1] as i64).map(|_| 0)
}

/// truncate(path, len): needs write permission on the file; directories are EISDIR.
pub fn truncate(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[0])?;
    let ctx = l.proc.ctx();
    let h = nlookup(&ctx, None, &path, true)?;
    let v = h.vnode().ok_or(ENOENT)?;
    match v.vtype() {
        VType::Dir => return Err(EISDIR),
        VType::Reg => {}
        _ => return Err(EINVAL),
    }
    if (a[1] as i64) < 0 {
        return Err(EINVAL);
    }
    ctx.cred.check(&v.getattr(), crate::vfs::cred::access::W)?;
    let _io = v.open.io.exclusive();
    v.node.setattr(&SetAttr { size: Some(a[1]), ..SetAttr::default() })?;
    Ok(0)
}

pub fn fchdir(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(a[0] as i32)?;
    let h = f.nch.clone().ok_or(ENOTDIR)?;
    let v = h.vnode().ok_or(ENOENT)?;
    if !v.is_dir() {
        return Err(ENOTDIR);
    }
    l.proc.ctx().cred.check(&v.getattr(), crate::vfs::cred::access::X)?;
    *l.proc.cwd.lock() = h;
    Ok(0)
}

/// fsync and fdatasync: every filesystem here keeps its data in memory (tmpfs, devfs,
/// procfs), where Linux's fsync also has nothing to write; EINVAL for pipes, as Linux.
pub fn fsync(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(a[0] as i32)?;
    if f.is_pipe() {
        return Err(EINVAL);
    }
    Ok(0)
}
