//! statx(2): the extended stat, filled from the same attributes as stat.
use super::file::{at_empty_path_attr, dev_of, user_path};
use crate::arch::x86_64::copyio::copyout;
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use crate::vfs::nlookup::nlookup;
use crate::vfs::vnode::{Attr, Timespec};
use abi::errno::*;
use abi::fcntl::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use alloc::sync::Arc;

type R = Result<u64, i32>;

/// AT_NO_AUTOMOUNT: there are no automounts, so it changes nothing.
const AT_NO_AUTOMOUNT: u32 = 0x800;
/// AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC: both at once is EINVAL.
const AT_STATX_SYNC_TYPE: u32 = 0x6000;
/// The fields every filesystem here fills (type, mode, nlink, uid, gid, times, ino, size,
/// blocks): STATX_BASIC_STATS.
const STATX_BASIC_STATS: u32 = 0x7ff;
/// A mask bit reserved for a future struct: EINVAL.
const STATX_RESERVED: u32 = 0x8000_0000;

/// statx(dirfd, path, flags, mask, buf).
pub fn statx(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (dirfd, flags, mask) = (a[0] as i32, a[2] as u32, a[3] as u32);
    let path = user_path(a[1])?;
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE || mask & STATX_RESERVED != 0 {
        return Err(EINVAL);
    }
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0 {
        return Err(EINVAL);
    }
    let (attr, dev) = if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(ENOENT);
        }
        let dev = if dirfd == abi::fcntl::AT_FDCWD {
            l.proc.cwd.lock().mount.id
        } else {
            dev_of(l.proc.fd.get(dirfd)?.nch.as_ref())
        };
        (at_empty_path_attr(l, dirfd)?, dev)
    } else {
        let at = l.proc.fd.at_handle(dirfd, &path)?;
        let h = nlookup(&l.proc.ctx(), at.as_ref(), &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
        (h.vnode().ok_or(ENOENT)?.getattr(), h.mount.id)
    };
    copyout(a[4], &statx_bytes(&attr, dev))?;
    Ok(0)
}

/// A dev_t split as glibc's major() and minor() do (Linux's new_encode_dev).
fn split_dev(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// Linux's `struct statx` (256 bytes); the birth time is not kept, so not in the mask.
fn statx_bytes(a: &Attr, dev: u64) -> [u8; 256] {
    let mut b = [0u8; 256];
    let mut put32 = |off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    put32(0, STATX_BASIC_STATS);
    put32(4, 4096);
    put32(16, a.nlink);
    put32(20, a.uid);
    put32(24, a.gid);
    let (rmaj, rmin) = split_dev(a.rdev);
    let (dmaj, dmin) = split_dev(dev);
    put32(128, rmaj);
    put32(132, rmin);
    put32(136, dmaj);
    put32(140, dmin);
    b[28..30].copy_from_slice(&(a.mode as u16).to_ne_bytes());
    let mut put64 = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    put64(32, a.ino);
    put64(40, a.size);
    put64(48, a.blocks_bytes.div_ceil(512));
    let mut time = |off: usize, t: &Timespec| {
        b[off..off + 8].copy_from_slice(&t.sec.to_ne_bytes());
        b[off + 8..off + 12].copy_from_slice(&(t.nsec as u32).to_ne_bytes());
    };
    time(64, &a.atime);
    time(96, &a.ctime);
    time(112, &a.mtime);
    b
}
