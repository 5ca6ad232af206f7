//! File and directory calls: descriptors, reads and writes, stat, paths.
use crate::arch::x86_64::copyio::{copyin, copyinstr, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use crate::vfs::file::FsizeLimit;
use crate::vfs::nlookup::{nlookup, PATH_MAX};
use crate::vfs::ops;
use crate::vfs::vnode::{Attr, VType};
use abi::errno::*;
use abi::fcntl::*;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

type R = Result<u64, i32>;

/// Largest single read or write moved through the kernel in one chunk.
const CHUNK: usize = 64 * 1024;
/// Most iovecs per readv/writev (Linux's UIO_MAXIOV).
const IOV_MAX: usize = 1024;

/// A path argument, copied in (ENAMETOOLONG past PATH_MAX, EFAULT for a bad pointer).
pub fn user_path(addr: u64) -> Result<Vec<u8>, i32> {
    let mut buf = vec![0u8; PATH_MAX];
    let n = copyinstr(&mut buf, addr)?;
    buf.truncate(n);
    Ok(buf)
}

/// Transfers of at most this many bytes bounce through the kernel stack rather than a heap
/// buffer: the common small read or write then allocates nothing.
const SMALL: usize = 256;

/// The bounce buffer of a `len`-byte transfer: `small` when it fits, else a heap buffer of
/// up to [`CHUNK`] bytes kept in `heap`.
fn bounce<'a>(len: usize, small: &'a mut [u8; SMALL], heap: &'a mut Vec<u8>) -> &'a mut [u8] {
    if len <= SMALL {
        &mut small[..len]
    } else {
        *heap = vec![0u8; len.min(CHUNK)];
        heap
    }
}

fn fd_arg(v: u64) -> i32 {
    v as i32
}

pub fn read(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(fd_arg(a[0]))?;
    let (addr, len) = (a[1], a[2] as usize);
    if let (Some(pipe), true) = (f.pipe(), f.readable()) {
        // Copied out before it is consumed: a bad buffer leaves the data queued.
        return pipe
            .read_with(len, f.nonblock(), |at, data| copyout(addr + at as u64, data))
            .map(|n| n as u64);
    }
    let mut done = 0usize;
    let (mut small, mut heap) = ([0u8; SMALL], Vec::new());
    let buf = bounce(len, &mut small, &mut heap);
    while done < len {
        let want = (len - done).min(CHUNK);
        let n = match f.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        copyout(addr + done as u64, &buf[..n])?;
        done += n;
        // A short read (terminal line, pipe) ends the call; so does a stream with nothing
        // more ready (a read that got data never blocks for more).
        if n < want || done < len && f.poll(abi::poll::POLLIN) & abi::poll::POLLIN == 0 {
            break;
        }
    }
    Ok(done as u64)
}

/// The RLIMIT_FSIZE resource number.
const RLIMIT_FSIZE: usize = 1;

/// The caller's file size limit (RLIM_INFINITY is u64::MAX).
fn fsize_limit(l: &Lwp) -> u64 {
    l.proc.rlimits.lock()[RLIMIT_FSIZE].0
}

/// A failed write's signal: SIGPIPE for a pipe nobody reads, SIGXFSZ for a write the file
/// size limit refused (`limit.hit`; not an EFBIG from the file system's own maximum), both
/// to the writing thread. Returns the error.
fn write_failed(l: &Arc<Lwp>, e: i32, limit: &FsizeLimit) -> i32 {
    let sig = match e {
        EPIPE => crate::proc::signal::SIGPIPE,
        EFBIG if limit.hit => crate::proc::signal::SIGXFSZ,
        _ => return e,
    };
    let info = crate::proc::signal::SigInfo { pid: l.proc.pid, ..crate::proc::signal::SigInfo::default() };
    let _ = crate::proc::signal::post_lwp(l, sig, info);
    e
}

pub fn write(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(fd_arg(a[0]))?;
    let mut limit = FsizeLimit::new(fsize_limit(l));
    let (addr, len) = (a[1], a[2] as usize);
    let mut done = 0usize;
    let (mut small, mut heap) = ([0u8; SMALL], Vec::new());
    let buf = bounce(len, &mut small, &mut heap);
    while done < len {
        let want = (len - done).min(CHUNK);
        copyin(&mut buf[..want], addr + done as u64)?;
        let n = match f.write_within(&buf[..want], &mut limit) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(write_failed(l, e, &limit)),
            Err(_) => break,
        };
        done += n;
        if n < want {
            break;
        }
    }
    Ok(done as u64)
}

fn iovecs(addr: u64, count: u64) -> Result<Vec<(u64, u64)>, i32> {
    let count = count as usize;
    if count > IOV_MAX {
        return Err(EINVAL);
    }
    let mut raw = vec![0u8; count * 16];
    copyin(&mut raw, addr)?;
    let v: Vec<(u64, u64)> = raw
        .chunks_exact(16)
        .map(|c| {
            (
                u64::from_ne_bytes(c[..8].try_into().unwrap_or([0; 8])),
                u64::from_ne_bytes(c[8..].try_into().unwrap_or([0; 8])),
            )
        })
        .collect();
    let total = v.iter().try_fold(0u64, |acc, (_, len)| acc.checked_add(*len));
    if total.is_none_or(|t| t > isize::MAX as u64) {
        return Err(EINVAL);
    }
    Ok(v)
}

/// Runs `op` over each iovec in turn, as readv and writev do: it stops at the first short
/// transfer, and an error after some bytes moved reports the bytes instead.
fn vectored(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6], op: super::Handler) -> R {
    let mut total = 0;
    for (base, len) in iovecs(a[1], a[2])? {
        let n = match op(l, t, [a[0], base, len, 0, 0, 0]) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        if n < len {
            break;
        }
    }
    Ok(total)
}

pub fn readv(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    vectored(l, t, a, read)
}

pub fn writev(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    vectored(l, t, a, write)
}

/// pread64(fd, buf, count, pos): the whole count in chunks at consecutive offsets, stopping
/// at a short one; an error after some bytes moved reports the bytes. EINVAL when the
/// transfer would end past the largest offset (Linux's rw_verify_area).
pub fn pread64(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(fd_arg(a[0]))?;
    let (addr, len, pos) = (a[1], a[2] as usize, a[3] as i64);
    if pos >= 0 && f.readable() {
        f.verify_area(pos as u64, len)?;
    }
    let mut done = 0usize;
    let mut buf = vec![0u8; len.min(CHUNK)];
    loop {
        let want = (len - done).min(CHUNK);
        let n = match f.pread(&mut buf[..want], pos.saturating_add(done as i64)) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        copyout(addr + done as u64, &buf[..n])?;
        done += n;
        if n < want || done == len {
            break;
        }
    }
    Ok(done as u64)
}

/// pwrite64(fd, buf, count, pos): as pread64, under the file size limit (SIGXFSZ when the
/// limit refuses the write).
pub fn pwrite64(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(fd_arg(a[0]))?;
    let (addr, len, pos) = (a[1], a[2] as usize, a[3] as i64);
    if pos >= 0 && f.writable() {
        f.verify_area(pos as u64, len)?;
    }
    let mut limit = FsizeLimit::new(fsize_limit(l));
    let mut done = 0usize;
    let mut buf = vec![0u8; len.min(CHUNK)];
    loop {
        let want = (len - done).min(CHUNK);
        copyin(&mut buf[..want], addr + done as u64)?;
        let n = match f.pwrite_within(&buf[..want], pos.saturating_add(done as i64), &mut limit) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(write_failed(l, e, &limit)),
            Err(_) => break,
        };
        done += n;
        if n < want || done == len {
            break;
        }
    }
    Ok(done as u64)
}

/// preadv(fd, iov, iovcnt, pos_l, pos_h): readv at offset pos_l (the whole of it on 64-bit),
/// leaving the file offset alone; each iovec continues where the last one ended.
pub fn preadv(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    positioned_vectored(l, t, a, pread64)
}

/// pwritev(fd, iov, iovcnt, pos_l, pos_h): writev at an offset (see preadv).
pub fn pwritev(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    positioned_vectored(l, t, a, pwrite64)
}

/// Runs the positioned `op` over each iovec from the offset in a[3],
/// stopping at a short transfer; an error after some bytes moved reports the bytes.
fn positioned_vectored(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6], op: super::Handler) -> R {
    // Linux's pos_from_hilo on a 64-bit kernel: the high half shifts out entirely.
    let pos = a[3] as i64;
    l.proc.fd.get(fd_arg(a[0]))?;
    let vecs = iovecs(a[1], a[2])?;
    if pos < 0 {
        return Err(EINVAL);
    }
    let mut total = 0u64;
    for (base, len) in vecs {
        let at = (pos as u64).checked_add(total).ok_or(EINVAL)?;
        let n = match op(l, t, [a[0], base, len, at, 0, 0]) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        if n < len {
            break;
        }
    }
    Ok(total)
}

pub fn lseek(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    l.proc.fd.get(fd_arg(a[0]))?.lseek(a[1] as i64, a[2] as u32)
}

pub fn close(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    l.proc.fd.close(fd_arg(a[0])).map(|_| 0)
}

/// ioctl(fd, cmd, arg): the commands every descriptor answers (Linux's do_vfs_ioctl:
/// FIOCLEX, FIONCLEX, FIONBIO) here, the rest by the file (ENOTTY when it has none).
pub fn ioctl(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (fd, cmd) = (fd_arg(a[0]), a[1] as u32);
    let f = l.proc.fd.get(fd)?;
    if f.flags() & O_PATH != 0 {
        return Err(EBADF);
    }
    match cmd {
        FIOCLEX => l.proc.fd.fcntl(fd, F_SETFD, FD_CLOEXEC as u64).map(|_| 0),
        FIONCLEX => l.proc.fd.fcntl(fd, F_SETFD, 0).map(|_| 0),
        FIONBIO => {
            let mut on = [0u8; 4];
            copyin(&mut on, a[2])?;
            let flags = f.flags();
            f.set_flags(if on != [0; 4] { flags | O_NONBLOCK } else { flags & !O_NONBLOCK });
            Ok(0)
        }
        _ => f.ioctl(cmd, a[2]).map(|v| v as u64),
    }
}

/// close_range(first, last, flags): closes the open descriptors in `first..=last`, or with
/// CLOSE_RANGE_CLOEXEC marks them close-on-exec. CLOSE_RANGE_UNSHARE asks for a private
/// table first; a single-threaded process's table is private already (Linux's no-op case),
/// while unsharing one thread's view of its process's table is not done here (ENOSYS).
pub fn close_range(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2] as u32);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(EINVAL);
    }
    if flags & CLOSE_RANGE_UNSHARE != 0 && l.proc.lwps.lock().len() > 1 {
        log::warn!("linux: close_range CLOSE_RANGE_UNSHARE in a threaded process not implemented");
        return Err(ENOSYS);
    }
    l.proc.fd.close_range(first, last, flags & CLOSE_RANGE_CLOEXEC != 0);
    Ok(0)
}

pub fn dup(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    l.proc.fd.dup(fd_arg(a[0])).map(|v| v as u64)
}

pub fn dup2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    l.proc.fd.dup2(fd_arg(a[0]), fd_arg(a[1])).map(|v| v as u64)
}

pub fn dup3(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    l.proc.fd.dup3(fd_arg(a[0]), fd_arg(a[1]), a[2] as u32).map(|v| v as u64)
}

/// fcntl(fd, cmd, arg): the record-lock commands take a `struct flock` (copied in after the
/// descriptor is checked, as Linux does); the rest an integer.
pub fn fcntl(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (fd, cmd) = (fd_arg(a[0]), a[1] as u32);
    if !matches!(cmd, F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW) {
        return l.proc.fd.fcntl(fd, cmd, a[2]).map(|v| v as u64);
    }
    l.proc.fd.get(fd)?;
    let mut b = [0u8; 32];
    copyin(&mut b, a[2])?;
    let mut fl = flock_from(&b);
    l.proc.fd.fcntl_lock(fd, cmd, &mut fl)?;
    if matches!(cmd, F_GETLK | F_OFD_GETLK) {
        copyout(a[2], &flock_bytes(b, &fl))?;
    }
    Ok(0)
}

/// Linux's x86_64 `struct flock` from its 32 bytes.
fn flock_from(b: &[u8; 32]) -> Flock {
    let i16_at = |o: usize| i16::from_ne_bytes([b[o], b[o + 1]]);
    let i64_at = |o: usize| i64::from_ne_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    Flock {
        l_type: i16_at(0),
        l_whence: i16_at(2),
        l_start: i64_at(8),
        l_len: i64_at(16),
        l_pid: i32::from_ne_bytes([b[24], b[25], b[26], b[27]]),
    }
}

/// `fl` written over the caller's 32 bytes `b` (Linux copies the whole struct back, so the
/// padding comes back as it went in).
fn flock_bytes(mut b: [u8; 32], fl: &Flock) -> [u8; 32] {
    b[0..2].copy_from_slice(&fl.l_type.to_ne_bytes());
    b[2..4].copy_from_slice(&fl.l_whence.to_ne_bytes());
    b[8..16].copy_from_slice(&fl.l_start.to_ne_bytes());
    b[16..24].copy_from_slice(&fl.l_len.to_ne_bytes());
    b[24..28].copy_from_slice(&fl.l_pid.to_ne_bytes());
    b
}

pub fn pipe(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    pipe2(l, t, [a[0], 0, 0, 0, 0, 0])
}

pub fn pipe2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let fds = l.proc.fd.pipe2(a[1] as u32)?;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&fds[0].to_ne_bytes());
    b[4..].copy_from_slice(&fds[1].to_ne_bytes());
    if let Err(e) = copyout(a[0], &b) {
        let _ = l.proc.fd.close(fds[0]);
        let _ = l.proc.fd.close(fds[1]);
        return Err(e);
    }
    Ok(0)
}

pub fn openat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[1])?;
    let mode = a[3] as u32 & 0o7777 & !l.proc.umask.load(core::sync::atomic::Ordering::Relaxed);
    l.proc.fd.open_at(&l.proc.ctx(), a[0] as i32, &path, a[2] as u32, mode).map(|v| v as u64)
}

pub fn open(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    openat(l, t, [AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

/// creat(path, mode): open(path, O_CREAT | O_WRONLY | O_TRUNC, mode).
pub fn creat(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    let flags = (O_CREAT | O_WRONLY | O_TRUNC) as u64;
    openat(l, t, [AT_FDCWD as u64, a[0], flags, a[1], 0, 0])
}

/// Linux's `struct stat` on x86_64 (144 bytes).
fn stat_bytes(a: &Attr, dev: u64) -> [u8; 144] {
    let mut b = [0u8; 144];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    put(0, dev);
    put(8, a.ino);
    put(16, a.nlink as u64);
    put(40, a.rdev);
    put(48, a.size);
    put(56, 4096);
    put(64, a.blocks_bytes.div_ceil(512));
    put(72, a.atime.sec as u64);
    put(80, a.atime.nsec as u64);
    put(88, a.mtime.sec as u64);
    put(96, a.mtime.nsec as u64);
    put(104, a.ctime.sec as u64);
    put(112, a.ctime.nsec as u64);
    b[24..28].copy_from_slice(&a.mode.to_ne_bytes());
    b[28..32].copy_from_slice(&a.uid.to_ne_bytes());
    b[32..36].copy_from_slice(&a.gid.to_ne_bytes());
    b
}

pub fn dev_of(h: Option<&crate::vfs::namecache::NcHandle>) -> u64 {
    h.map_or(0, |h| h.mount.id)
}

pub fn fstat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(fd_arg(a[0]))?;
    let attr = f.vp.as_ref().map_or_else(pipe_attr, |v| v.getattr());
    copyout(a[1], &stat_bytes(&attr, dev_of(f.nch.as_ref())))?;
    Ok(0)
}

pub fn newfstatat(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    let flags = a[3] as u32;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800) != 0 {
        return Err(EINVAL);
    }
    let path = user_path(a[1])?;
    if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(ENOENT);
        }
        if a[0] as i32 == AT_FDCWD {
            let cwd = l.proc.cwd.lock().clone();
            let attr = cwd.vnode().ok_or(ENOENT)?.getattr();
            copyout(a[2], &stat_bytes(&attr, cwd.mount.id))?;
            return Ok(0);
        }
        return fstat(l, t, [a[0], a[2], 0, 0, 0, 0]);
    }
    let at = l.proc.fd.at_handle(a[0] as i32, &path)?;
    let h = nlookup(&l.proc.ctx(), at.as_ref(), &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    let attr = h.vnode().ok_or(ENOENT)?.getattr();
    copyout(a[2], &stat_bytes(&attr, h.mount.id))?;
    Ok(0)
}

pub fn stat(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    newfstatat(l, t, [AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}

pub fn lstat(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    newfstatat(l, t, [AT_FDCWD as u64, a[0], a[1], AT_SYMLINK_NOFOLLOW as u64, 0, 0])
}

/// faccessat(dirfd, path, mode): faccessat2 without flags.
pub fn faccessat(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    faccessat2(l, t, [a[0], a[1], a[2], 0, 0, 0])
}

/// faccessat2(dirfd, path, mode, flags): checks `mode` (R/W/X bits, 0 for existence) as the
/// real user and group, as access(2) does, or with AT_EACCESS as the effective ones.
/// AT_SYMLINK_NOFOLLOW checks a final symlink itself; AT_EMPTY_PATH an empty path the
/// descriptor's own file.
pub fn faccessat2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const AT_EACCESS: u32 = 0x200;
    let flags = a[3] as u32;
    if flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(EINVAL);
    }
    let mode = a[2] as u32;
    if mode & !7 != 0 {
        return Err(EINVAL);
    }
    let path = user_path(a[1])?;
    let mut ctx = l.proc.ctx();
    if flags & AT_EACCESS == 0 {
        let ids = l.proc.ids.lock();
        ctx.cred.uid = ids.ruid;
        ctx.cred.gid = ids.rgid;
    }
    let (attr, mount) = if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        let dirfd = a[0] as i32;
        let mount = if dirfd == AT_FDCWD {
            Some(l.proc.cwd.lock().mount.clone())
        } else {
            l.proc.fd.get(dirfd)?.nch.as_ref().map(|h| h.mount.clone())
        };
        (at_empty_path_attr(l, dirfd)?, mount)
    } else {
        let at = l.proc.fd.at_handle(a[0] as i32, &path)?;
        let h = nlookup(&ctx, at.as_ref(), &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
        (h.vnode().ok_or(ENOENT)?.getattr(), Some(h.mount))
    };
    // Write access to a file, directory or symlink of a read-only mount is EROFS, before
    // the mode bits are looked at (Linux's sb_permission); devices and FIFOs are not data.
    use crate::vfs::vnode::mode::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
    if mode & crate::vfs::cred::access::W != 0 && matches!(attr.mode & S_IFMT, S_IFREG | S_IFDIR | S_IFLNK) {
        if let Some(m) = &mount {
            m.check_writable()?;
        }
    }
    ctx.cred.check(&attr, mode)?;
    Ok(0)
}

/// The attributes of what `dirfd` names for an empty path with AT_EMPTY_PATH: the
/// descriptor's file, or the working directory for AT_FDCWD.
pub fn at_empty_path_attr(l: &Arc<Lwp>, dirfd: i32) -> Result<Attr, i32> {
    if dirfd == AT_FDCWD {
        let cwd = l.proc.cwd.lock().clone();
        return Ok(cwd.vnode().ok_or(ENOENT)?.getattr());
    }
    let f = l.proc.fd.get(dirfd)?;
    Ok(f.vp.as_ref().map_or_else(pipe_attr, |v| v.getattr()))
}

/// What fstat says about a descriptor with no vnode (a pipe end): a FIFO with no name.
fn pipe_attr() -> Attr {
    Attr {
        ino: 0,
        mode: VType::Fifo.ifmt() | 0o600,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: 0,
        size: 0,
        blocks_bytes: 0,
        atime: Default::default(),
        mtime: Default::default(),
        ctime: Default::default(),
    }
}

pub fn access(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    faccessat(l, t, [AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}

pub fn getcwd(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let cwd = l.proc.cwd.lock().clone();
    let root = l.proc.root.lock().clone();
    let (path, unreachable) = crate::vfs::ops::reachable_path_of(&cwd, &root);
    // A removed working directory has no path (Linux: ENOENT).
    if unreachable {
        return Err(ENOENT);
    }
    if path.len() + 1 > a[1] as usize {
        return Err(ERANGE);
    }
    let mut b = path;
    b.push(0);
    copyout(a[0], &b)?;
    Ok(b.len() as u64)
}

pub fn chdir(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[0])?;
    let ctx = l.proc.ctx();
    let h = nlookup(&ctx, None, &path, true)?;
    let v = h.vnode().ok_or(ENOENT)?;
    if !v.is_dir() {
        return Err(ENOTDIR);
    }
    ctx.cred.check(&v.getattr(), crate::vfs::cred::access::X)?;
    *l.proc.cwd.lock() = h;
    Ok(0)
}

pub fn mkdirat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[1])?;
    let at = l.proc.fd.at_handle(a[0] as i32, &path)?;
    // Linux keeps only the permission and sticky bits of mkdir's mode.
    let mode = a[2] as u32 & 0o1777 & !l.proc.umask.load(core::sync::atomic::Ordering::Relaxed);
    ops::mkdir_at(&l.proc.ctx(), at.as_ref(), &path, mode).map(|_| 0)
}

pub fn mkdir(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    mkdirat(l, t, [AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}

pub fn unlinkat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const AT_REMOVEDIR: u32 = 0x200;
    let flags = a[2] as u32;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(EINVAL);
    }
    let path = user_path(a[1])?;
    let at = l.proc.fd.at_handle(a[0] as i32, &path)?;
    ops::remove_at(&l.proc.ctx(), at.as_ref(), &path, flags & AT_REMOVEDIR != 0).map(|_| 0)
}

pub fn unlink(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    unlinkat(l, t, [AT_FDCWD as u64, a[0], 0, 0, 0, 0])
}

pub fn readlinkat(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[1])?;
    if a[3] as i64 <= 0 {
        return Err(EINVAL);
    }
    let at = l.proc.fd.at_handle(a[0] as i32, &path)?;
    let target = ops::readlink_at(&l.proc.ctx(), at.as_ref(), &path)?;
    let n = target.len().min(a[3] as usize);
    copyout(a[2], &target[..n])?;
    Ok(n as u64)
}

pub fn readlink(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    readlinkat(l, t, [AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

pub fn getdents64(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(fd_arg(a[0]))?;
    let v = f.vp.clone().ok_or(ENOTDIR)?;
    if !v.is_dir() {
        return Err(ENOTDIR);
    }
    let cap = a[2] as usize;
    let start = f.offset();
    let mut out: Vec<u8> = Vec::new();
    let mut next = start;
    let mut too_small = false;
    v.node.readdir(start, &mut |e| {
        let reclen = (19 + e.name.len() + 1).next_multiple_of(8);
        if out.len() + reclen > cap {
            too_small = out.is_empty();
            return false;
        }
        let mut rec = vec![0u8; reclen];
        rec[0..8].copy_from_slice(&e.ino.to_ne_bytes());
        rec[8..16].copy_from_slice(&(e.next as i64).to_ne_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        rec[18] = e.vtype.dtype();
        rec[19..19 + e.name.len()].copy_from_slice(&e.name);
        out.extend_from_slice(&rec);
        next = e.next;
        true
    })?;
    if too_small {
        return Err(EINVAL);
    }
    copyout(a[1], &out)?;
    f.lseek(next as i64, 0)?;
    Ok(out.len() as u64)
}

/// sendfile(out_fd, in_fd, offset, count): copies through the kernel in chunks. With an
/// offset pointer the input is read there (and the pointer advanced) without moving the
/// file's offset; a short read or write ends the call; an error after some bytes moved
/// reports the bytes.
pub fn sendfile(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let out = l.proc.fd.get(fd_arg(a[0]))?;
    let inp = l.proc.fd.get(fd_arg(a[1]))?;
    if !inp.readable() || !out.writable() {
        return Err(EBADF);
    }
    let mut off = if a[2] != 0 {
        let mut b = [0u8; 8];
        copyin(&mut b, a[2])?;
        let o = i64::from_ne_bytes(b);
        if o < 0 {
            return Err(EINVAL);
        }
        Some(o)
    } else {
        None
    };
    let count = (a[3] as usize).min(0x7fff_f000);
    let mut buf = vec![0u8; count.min(CHUNK)];
    let mut done = 0usize;
    while done < count {
        let want = (count - done).min(CHUNK);
        let got = match off {
            Some(o) => inp.pread(&mut buf[..want], o),
            None => inp.read(&mut buf[..want]),
        };
        let n = match got {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let w = match out.write(&buf[..n]) {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        if let Some(o) = off.as_mut() {
            *o = o.saturating_add(w as i64);
        } else if w < n && !inp.is_pipe() {
            // Only what was written counts as taken from the input.
            const SEEK_CUR: u32 = 1;
            let _ = inp.lseek(-((n - w) as i64), SEEK_CUR);
        }
        if w < n || n < want {
            break;
        }
    }
    if let (Some(o), true) = (off, a[2] != 0) {
        copyout(a[2], &o.to_ne_bytes())?;
    }
    Ok(done as u64)
}
