//! Calls on names and attributes: rename, link, symlink, rmdir, mknod, chmod, chown,
//! utimensat, truncate, fchdir, fsync. The VFS (`vfs::ops`, the vnode's setattr) does the work; this layer copies
//! arguments in and applies Linux's permission rules for attribute changes.
use super::file::user_path;
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use crate::vfs::nlookup::nlookup;
use crate::vfs::ops;
use crate::vfs::vnode::{mode, SetAttr, VType};
use abi::errno::*;
use abi::fcntl::AT_FDCWD;
use alloc::sync::Arc;

type R = Result<u64, i32>;

const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
const AT_SYMLINK_FOLLOW: u32 = 0x400;
const AT_EMPTY_PATH: u32 = 0x1000;
const CWD: u64 = AT_FDCWD as u64;

/// renameat2(olddirfd, old, newdirfd, new, flags): RENAME_NOREPLACE and RENAME_EXCHANGE
/// (not both); RENAME_WHITEOUT is for overlay filesystems, which there are none of (EINVAL).
pub fn renameat2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const RENAME_NOREPLACE: u64 = 1;
    const RENAME_EXCHANGE: u64 = 2;
    let flags = a[4];
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 || flags == RENAME_NOREPLACE | RENAME_EXCHANGE {
        return Err(EINVAL);
    }
    let (old, new) = (user_path(a[1])?, user_path(a[3])?);
    let old_at = l.proc.fd.at_handle(a[0] as i32, &old)?;
    let new_at = l.proc.fd.at_handle(a[2] as i32, &new)?;
    let ctx = l.proc.ctx();
    if flags & RENAME_EXCHANGE != 0 {
        return ops::exchange_at(&ctx, old_at.as_ref(), &old, new_at.as_ref(), &new).map(|_| 0);
    }
    let noreplace = flags & RENAME_NOREPLACE != 0;
    ops::rename2_at(&ctx, old_at.as_ref(), &old, new_at.as_ref(), &new, noreplace).map(|_| 0)
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

/// Changes the mode of `h`'s vnode: its owner or root only (EPERM), file type bits kept. An
/// owner outside the file's group cannot set S_ISGID: Linux drops the bit silently.
fn chmod_handle(l: &Lwp, h: &crate::vfs::namecache::NcHandle, mode: u32) -> R {
    let v = h.vnode().ok_or(ENOENT)?;
    let cred = l.proc.cred.lock().clone();
    let attr = v.getattr();
    // EROFS before EPERM: Linux's chmod_common takes write access to the mount first.
    h.mount.check_writable()?;
    if cred.uid != 0 && attr.uid != cred.uid {
        return Err(EPERM);
    }
    let mut perm = mode & 0o7777;
    if cred.uid != 0 && attr.gid != cred.gid && !cred.groups.contains(&attr.gid) {
        perm &= !mode::S_ISGID;
    }
    v.node.setattr(&SetAttr { perm: Some(perm), ..SetAttr::default() })?;
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
    // A negative length is EINVAL before the path is looked at (Linux's do_sys_truncate).
    if (a[1] as i64) < 0 {
        return Err(EINVAL);
    }
    let path = user_path(a[0])?;
    let ctx = l.proc.ctx();
    let h = nlookup(&ctx, None, &path, true)?;
    let v = h.vnode().ok_or(ENOENT)?;
    match v.vtype() {
        VType::Dir => return Err(EISDIR),
        VType::Reg => {}
        _ => return Err(EINVAL),
    }
    // EROFS before EACCES, as Linux's vfs_truncate.
    h.mount.check_writable()?;
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

/// Changes the owner of `h`'s vnode: root only (Linux without CAP_CHOWN refuses any owner
/// change and allows a group change only to a group the caller is in; -1 leaves a field).
fn chown_handle(l: &Lwp, h: &crate::vfs::namecache::NcHandle, uid: u32, gid: u32) -> R {
    let v = h.vnode().ok_or(ENOENT)?;
    let cred = l.proc.cred.lock().clone();
    let attr = v.getattr();
    let keep = u32::MAX;
    // EROFS before EPERM: Linux's fchownat takes write access to the mount first.
    h.mount.check_writable()?;
    if cred.uid != 0 {
        let owner_ok = uid == keep || uid == attr.uid;
        let group_ok =
            gid == keep || (attr.uid == cred.uid && (gid == cred.gid || cred.groups.contains(&gid)));
        if !owner_ok || !group_ok {
            return Err(EPERM);
        }
    }
    // A change of owner or group (even by root, even to the same ids) clears a non-directory's
    // set-user-id bit, and its set-group-id bit when group execute makes it one (without
    // group execute S_ISGID means mandatory locking and stays).
    let mut perm = None;
    if attr.mode & mode::S_IFMT != mode::S_IFDIR && (uid != keep || gid != keep) {
        let mut p = attr.mode & 0o7777 & !mode::S_ISUID;
        if p & (mode::S_ISGID | 0o010) == (mode::S_ISGID | 0o010) {
            p &= !mode::S_ISGID;
        }
        if p != attr.mode & 0o7777 {
            perm = Some(p);
        }
    }
    let set = SetAttr {
        uid: (uid != keep).then_some(uid),
        gid: (gid != keep).then_some(gid),
        perm,
        ..SetAttr::default()
    };
    v.node.setattr(&set)?;
    Ok(0)
}

pub fn fchownat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let flags = a[4] as u32;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(EINVAL);
    }
    let path = user_path(a[1])?;
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        let f = l.proc.fd.get(a[0] as i32)?;
        let h = f.nch.clone().ok_or(EINVAL)?;
        return chown_handle(l, &h, a[2] as u32, a[3] as u32);
    }
    let at = l.proc.fd.at_handle(a[0] as i32, &path)?;
    let h = nlookup(&l.proc.ctx(), at.as_ref(), &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    chown_handle(l, &h, a[2] as u32, a[3] as u32)
}

pub fn chown(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    fchownat(l, t, [CWD, a[0], a[1], a[2], 0, 0])
}

pub fn lchown(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    fchownat(l, t, [CWD, a[0], a[1], a[2], AT_SYMLINK_NOFOLLOW as u64, 0])
}

pub fn fchown(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(a[0] as i32)?;
    let h = f.nch.clone().ok_or(EINVAL)?;
    chown_handle(l, &h, a[1] as u32, a[2] as u32)
}

/// utimensat(dirfd, path, times[2], flags): NULL times or UTIME_NOW set now (owner, root, or
/// write permission); explicit times need owner or root; UTIME_OMIT leaves a time. A NULL
/// path works on dirfd itself (as glibc's futimens uses it). Linux's order: both times
/// UTIME_OMIT is a success before anything else is looked at; then the flags, the path, the
/// times' validity, a read-only mount (EROFS), and permission.
pub fn utimensat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    use crate::arch::x86_64::copyio::copyin;
    use crate::vfs::vnode::Timespec;
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let mut raw = None;
    if a[2] != 0 {
        let mut b = [0u8; 32];
        copyin(&mut b, a[2])?;
        let word = |i: usize| i64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        let r = [(word(0), word(1)), (word(2), word(3))];
        if r[0].1 == UTIME_OMIT && r[1].1 == UTIME_OMIT {
            return Ok(0);
        }
        raw = Some(r);
    }
    let flags = a[3] as u32;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(EINVAL);
    }
    let h = if a[1] == 0 {
        l.proc.fd.get(a[0] as i32)?.nch.clone().ok_or(EINVAL)?
    } else {
        let path = user_path(a[1])?;
        let at = l.proc.fd.at_handle(a[0] as i32, &path)?;
        nlookup(&l.proc.ctx(), at.as_ref(), &path, flags & AT_SYMLINK_NOFOLLOW == 0)?
    };
    let v = h.vnode().ok_or(ENOENT)?;
    let now = Timespec::now();
    let mut times = [Some(now), Some(now)];
    let mut explicit = false;
    for (t, (sec, nsec)) in times.iter_mut().zip(raw.unwrap_or([(0, UTIME_NOW); 2])) {
        *t = match nsec {
            UTIME_NOW => Some(now),
            UTIME_OMIT => None,
            n if (0..1_000_000_000).contains(&n) => {
                explicit = true;
                Some(Timespec { sec, nsec: n })
            }
            _ => return Err(EINVAL),
        };
    }
    h.mount.check_writable()?;
    let cred = l.proc.cred.lock().clone();
    let attr = v.getattr();
    if cred.uid != 0 && attr.uid != cred.uid {
        if explicit {
            return Err(EPERM);
        }
        cred.check(&attr, crate::vfs::cred::access::W)?;
    }
    v.node.setattr(&SetAttr { atime: times[0], mtime: times[1], ..SetAttr::default() })?;
    Ok(0)
}

/// mknodat(dirfd, path, mode, dev): regular files, FIFOs, and (root only) device nodes.
pub fn mknodat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const S_IFMT: u32 = 0o170000;
    let mode = a[2] as u32;
    let vtype = match mode & S_IFMT {
        0 | 0o100000 => VType::Reg,
        0o010000 => VType::Fifo,
        0o020000 => VType::Chr,
        0o060000 => VType::Blk,
        0o040000 => return Err(EPERM),
        0o140000 => return Err(EOPNOTSUPP),
        _ => return Err(EINVAL),
    };
    if matches!(vtype, VType::Chr | VType::Blk) && l.proc.cred.lock().uid != 0 {
        return Err(EPERM);
    }
    let path = user_path(a[1])?;
    let at = l.proc.fd.at_handle(a[0] as i32, &path)?;
    let perm = mode & 0o7777 & !l.proc.umask.load(core::sync::atomic::Ordering::Relaxed);
    ops::create_at(&l.proc.ctx(), at.as_ref(), &path, vtype, perm, a[3]).map(|_| 0)
}

pub fn mknod(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    mknodat(l, t, [CWD, a[0], a[1], a[2], 0, 0])
}
