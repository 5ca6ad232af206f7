//! mount, umount2, statfs and fstatfs over the VFS mount table.
use super::file::user_path;
use crate::arch::x86_64::copyio::{copyinstr, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use crate::vfs::mount::{self, Mount};
use crate::vfs::nlookup::nlookup;
use abi::errno::*;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

type R = Result<u64, i32>;

/// mount(source, target, fstype, flags, data): root only; new instances of tmpfs, proc and
/// devtmpfs (devfs). Flags other than MS_SILENT (and the old magic in the high half) are not
/// there yet: EINVAL rather than a mount that ignores them.
pub fn mount(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const MS_SILENT: u64 = 0x8000;
    const MS_MGC_MSK: u64 = 0xffff_0000;
    const MS_MGC_VAL: u64 = 0xc0ed_0000;
    if l.proc.cred.lock().uid != 0 {
        return Err(EPERM);
    }
    let flags = if a[3] & MS_MGC_MSK == MS_MGC_VAL { a[3] & !MS_MGC_MSK } else { a[3] };
    if flags & !MS_SILENT != 0 {
        return Err(EINVAL);
    }
    let target = user_path(a[1])?;
    let mut fstype = [0u8; 32];
    let n = copyinstr(&mut fstype, a[2]).map_err(|e| if e == ENAMETOOLONG { ENODEV } else { e })?;
    let source = mount_source(a[0])?;
    let m: Arc<Mount> = match &fstype[..n] {
        b"tmpfs" => crate::vfs::tmpfs::mount(source, 0o1777, 0, 0),
        b"proc" => crate::vfs::procfs::mount(source),
        b"devtmpfs" => crate::vfs::devfs::mount(source),
        _ => return Err(ENODEV),
    };
    let on = nlookup(&l.proc.ctx(), None, &target, true)?;
    mount::mount_on(&on, m)?;
    Ok(0)
}

/// The source argument of mount(2) as /proc/mounts shows it: Linux copies up to a page
/// (EINVAL beyond) and shows a NULL source as "none".
fn mount_source(uaddr: u64) -> Result<Vec<u8>, i32> {
    if uaddr == 0 {
        return Ok(b"none".to_vec());
    }
    let mut buf = vec![0u8; 4096];
    let n = copyinstr(&mut buf, uaddr).map_err(|e| if e == ENAMETOOLONG { EINVAL } else { e })?;
    buf.truncate(n);
    Ok(buf)
}

/// umount2(target, flags): root only; the target must be a mount's root; busy mounts EBUSY.
/// MNT_FORCE, MNT_DETACH and MNT_EXPIRE are not there yet (EINVAL).
pub fn umount2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const UMOUNT_NOFOLLOW: u64 = 8;
    if l.proc.cred.lock().uid != 0 {
        return Err(EPERM);
    }
    if a[1] & !UMOUNT_NOFOLLOW != 0 {
        return Err(EINVAL);
    }
    let target = user_path(a[0])?;
    let h = nlookup(&l.proc.ctx(), None, &target, a[1] & UMOUNT_NOFOLLOW == 0)?;
    if !Arc::ptr_eq(&h.ncp, &h.mount.root_ncp) {
        return Err(EINVAL);
    }
    mount::unmount(h)?;
    Ok(0)
}

/// struct statfs for `m`: Linux's magic numbers; tmpfs reports the machine's pages (it has
/// no size limit of its own); fields a filesystem does not define are 0.
fn statfs_bytes(m: &Mount) -> [u8; 120] {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    const PROC_SUPER_MAGIC: u64 = 0x9fa0;
    const ST_VALID: u64 = 0x20;
    let pages = crate::mem::phys::page_counts();
    let (magic, blocks, free) = match m.fs_name {
        "proc" => (PROC_SUPER_MAGIC, 0, 0),
        _ => (TMPFS_MAGIC, pages.total, pages.free),
    };
    let words: [u64; 15] =
        [magic, 4096, blocks, free, free, 0, 0, m.id & 0xffff_ffff, 255, 4096, ST_VALID, 0, 0, 0, 0];
    let mut b = [0u8; 120];
    for (i, w) in words.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    b
}

pub fn statfs(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[0])?;
    let h = nlookup(&l.proc.ctx(), None, &path, true)?;
    copyout(a[1], &statfs_bytes(&h.mount))?;
    Ok(0)
}

pub fn fstatfs(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(a[0] as i32)?;
    let h = f.nch.clone().ok_or(EINVAL)?;
    copyout(a[1], &statfs_bytes(&h.mount))?;
    Ok(0)
}
