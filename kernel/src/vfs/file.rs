//! Open files (DragonFly's `struct file`, kern_descrip.c and vfs_vnops.c): one object per
//! open(2) or pipe(2) end, the *open file description* that dup'ed descriptors share: the
//! offset, the status flags, and what the file reaches (a vnode at offsets, a character
//! device, or a pipe end).
//!
//! Locking: the offset sits behind a lockmgr lock held across the I/O, so two threads sharing
//! a description never read or write at the same offset (Linux's f_pos_lock); then the
//! vnode's I/O lock, shared for reads, exclusive for writes, so an O_APPEND write's
//! seek-to-end and the write are one step for every description on the vnode.
use super::device::{open_device, CharDev};
use super::namecache::NcHandle;
use super::vnode::{SetAttr, VType, Vnode};
use crate::event::epoll::Watchers;
use crate::event::{AnonFile, KnList};
use crate::ipc::pipe::Pipe;
use crate::sync::lockmgr::LockMgr;
use abi::errno::{EBADF, EFBIG, EINVAL, EISDIR, ENXIO, EOVERFLOW, ESPIPE};
use abi::fcntl::*;
use abi::poll::{POLLERR, POLLHUP};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

/// Status flags F_SETFL may change (Linux's SETFL_MASK).
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
/// Flags a description keeps (reported by F_GETFL); the rest of open(2)'s flags act only at
/// open time.
const KEPT: u32 = O_ACCMODE | SETFL_MASK | O_DSYNC | O_SYNC | O_LARGEFILE | O_PATH;

/// What a file reaches.
pub enum Backing {
    /// A vnode read and written at offsets (regular files, directories).
    Vnode,
    /// A character device.
    Device(Arc<dyn CharDev>),
    /// A pipe or FIFO end; `seen_w_opens` is the hang-up rule's baseline ([`Pipe::poll`]).
    Pipe {
        /// The pipe.
        pipe: Arc<Pipe>,
        /// Write opens seen when this end opened.
        seen_w_opens: u64,
    },
    /// An epoll instance, an eventfd, a timerfd.
    Anon(Arc<dyn AnonFile>),
}

/// An open file description.
pub struct File {
    /// The name it was opened through (None for pipe(2) ends).
    pub nch: Option<NcHandle>,
    /// The vnode (None for pipe(2) ends).
    pub vp: Option<Arc<Vnode>>,
    backing: Backing,
    flags: AtomicU32,
    offset: LockMgr<u64>,
    /// The epoll instances watching this description.
    watchers: Watchers,
    /// Holds a flock(2) lock on its vnode (released at the last close).
    flocked: core::sync::atomic::AtomicBool,
    /// Has held an OFD record lock on its vnode (released at the last close).
    ofd_locked: core::sync::atomic::AtomicBool,
}

impl File {
    /// A file over `backing`; `flags` are open(2)'s (only the kept ones are stored).
    pub fn new(nch: Option<NcHandle>, vp: Option<Arc<Vnode>>, backing: Backing, flags: u32) -> Arc<File> {
        Arc::new(File {
            nch,
            vp,
            backing,
            flags: AtomicU32::new((flags & KEPT) | O_LARGEFILE),
            offset: LockMgr::new("f_offset", 0),
            watchers: Watchers::new(),
            flocked: core::sync::atomic::AtomicBool::new(false),
            ofd_locked: core::sync::atomic::AtomicBool::new(false),
        })
    }

    /// An epoll instance, eventfd or timerfd file; `flags` as for [`File::new`].
    pub fn anon(obj: Arc<dyn AnonFile>, flags: u32) -> Arc<File> {
        File::new(None, None, Backing::Anon(obj), O_RDWR | flags)
    }

    /// The object behind an anonymous file.
    pub fn anon_obj(&self) -> Option<&Arc<dyn AnonFile>> {
        match &self.backing {
            Backing::Anon(a) => Some(a),
            _ => None,
        }
    }

    /// The epoll instances watching this description.
    pub fn watchers(&self) -> &Watchers {
        &self.watchers
    }

    /// The status flags and access mode (F_GETFL).
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Acquire)
    }

    /// Changes the status flags F_SETFL may change; the rest stay.
    pub fn set_flags(&self, new: u32) {
        let _ = self.flags.fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
            Some((old & !SETFL_MASK) | (new & SETFL_MASK))
        });
    }

    /// O_NONBLOCK is set on the description.
    pub fn nonblock(&self) -> bool {
        self.flags() & O_NONBLOCK != 0
    }

    /// Open for reading (not O_PATH).
    pub fn readable(&self) -> bool {
        let f = self.flags();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    /// Open for writing (not O_PATH).
    pub fn writable(&self) -> bool {
        let f = self.flags();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    /// A pipe or FIFO (no offsets: ESPIPE).
    pub fn is_pipe(&self) -> bool {
        matches!(self.backing, Backing::Pipe { .. })
    }

    /// The pipe behind a pipe or FIFO end.
    pub fn pipe(&self) -> Option<&Arc<Pipe>> {
        match &self.backing {
            Backing::Pipe { pipe, .. } => Some(pipe),
            _ => None,
        }
    }

    /// flock(2) on the vnode: LOCK_SH or LOCK_EX (converting a lock this description holds),
    /// LOCK_UN, with LOCK_NB for EWOULDBLOCK instead of waiting; a wait ends with EINTR when
    /// a signal comes. The lock belongs to this open file description and goes at its last
    /// close. EINVAL for another operation or a file with no vnode (a pipe(2) end).
    pub fn flock(&self, op: u32) -> Result<(), i32> {
        use super::lockf::Kind;
        if self.flags() & O_PATH != 0 {
            return Err(EBADF);
        }
        let kind = match op & !LOCK_NB {
            LOCK_SH => Some(Kind::Read),
            LOCK_EX => Some(Kind::Write),
            LOCK_UN => None,
            _ => return Err(EINVAL),
        };
        let locks = &self.vp.as_ref().ok_or(EINVAL)?.open.flocks;
        let owner = self as *const File as u64;
        match kind {
            Some(k) => {
                self.flocked.store(true, Ordering::Release);
                locks.set_flock(owner, k, op & LOCK_NB == 0)
            }
            None => locks.unlock(owner, 0, u64::MAX),
        }
    }

    /// The owner of the record locks this description takes (F_OFD_SETLK): its address,
    /// which no process id reaches (see `lockf`).
    pub fn ofd_owner(&self) -> u64 {
        self as *const File as u64
    }

    /// An OFD lock is being set: its locks must go at the last close.
    pub fn note_ofd_lock(&self) {
        self.ofd_locked.store(true, Ordering::Release);
    }

    /// Linux's rw_verify_area for a transfer of `count` bytes at `off`: EINVAL on a file
    /// with offsets when the transfer would end past the largest offset (i64::MAX).
    pub fn verify_area(&self, off: u64, count: usize) -> Result<(), i32> {
        if self.unseekable() {
            return Ok(());
        }
        verify_area(off, count)
    }

    /// No offsets: a pipe or an anonymous file (ESPIPE).
    fn unseekable(&self) -> bool {
        matches!(self.backing, Backing::Pipe { .. } | Backing::Anon(_))
    }

    /// The knotes of the object behind the file, when it can change readiness.
    pub fn knlist(&self) -> Option<&KnList> {
        match &self.backing {
            Backing::Pipe { pipe, .. } => Some(pipe.knotes()),
            Backing::Device(d) => d.knlist(),
            Backing::Anon(a) => Some(a.knlist()),
            Backing::Vnode => None,
        }
    }

    fn vnode(&self) -> Result<&Arc<Vnode>, i32> {
        self.vp.as_ref().ok_or(EBADF)
    }

    /// The current offset.
    pub fn offset(&self) -> u64 {
        *self.offset.shared()
    }

    /// read(2): at the offset, advancing it.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, i32> {
        if !self.readable() {
            return Err(EBADF);
        }
        match &self.backing {
            Backing::Pipe { pipe, .. } => pipe.read(buf, self.nonblock()),
            Backing::Anon(a) => a.read(buf, self.nonblock()),
            Backing::Device(d) => {
                let mut off = self.offset.exclusive();
                let n = d.read(*off, buf, self.flags())?;
                *off = off.saturating_add(n as u64);
                Ok(n)
            }
            Backing::Vnode => {
                let vp = self.vnode()?;
                let mut off = self.offset.exclusive();
                verify_area(*off, buf.len())?;
                let _io = vp.open.io.shared();
                let n = vp.node.read(*off, buf)?;
                *off += n as u64;
                Ok(n)
            }
        }
    }

    /// write(2): at the offset (at the end with O_APPEND, atomically), advancing it.
    pub fn write(&self, buf: &[u8]) -> Result<usize, i32> {
        self.write_within(buf, &mut FsizeLimit::new(u64::MAX))
    }

    /// write(2) under a file size limit (RLIMIT_FSIZE): a write to a regular file stops at
    /// the limit, and one starting at or past it fails with EFBIG and marks the limit hit
    /// (the caller raises SIGXFSZ). EINVAL when the write would end past the largest offset.
    pub fn write_within(&self, buf: &[u8], limit: &mut FsizeLimit) -> Result<usize, i32> {
        if !self.writable() {
            return Err(EBADF);
        }
        match &self.backing {
            Backing::Pipe { pipe, .. } => pipe.write(buf, self.nonblock()),
            Backing::Anon(a) => a.write(buf, self.nonblock()),
            Backing::Device(d) => {
                let mut off = self.offset.exclusive();
                let n = d.write(*off, buf, self.flags())?;
                *off = off.saturating_add(n as u64);
                Ok(n)
            }
            Backing::Vnode => {
                let vp = self.vnode()?;
                let mut off = self.offset.exclusive();
                let _io = vp.open.io.exclusive();
                verify_area(*off, buf.len())?;
                if self.flags() & O_APPEND != 0 {
                    *off = vp.getattr().size;
                }
                let buf = within_fsize(vp, *off, buf, limit)?;
                let n = vp.node.write(*off, buf)?;
                *off += n as u64;
                Ok(n)
            }
        }
    }

    /// pread(2): at `off`, leaving the offset alone. ESPIPE on pipes, EINVAL for a negative
    /// offset.
    pub fn pread(&self, buf: &mut [u8], off: i64) -> Result<usize, i32> {
        if !self.readable() {
            return Err(EBADF);
        }
        if off < 0 {
            return Err(if self.unseekable() { ESPIPE } else { EINVAL });
        }
        match &self.backing {
            Backing::Pipe { .. } | Backing::Anon(_) => Err(ESPIPE),
            Backing::Device(d) => d.read(off as u64, buf, self.flags()),
            Backing::Vnode => {
                let vp = self.vnode()?;
                let _io = vp.open.io.shared();
                vp.node.read(off as u64, buf)
            }
        }
    }

    /// pwrite(2): at `off`, leaving the offset alone. As on Linux, a file opened O_APPEND
    /// appends whatever `off` says.
    pub fn pwrite(&self, buf: &[u8], off: i64) -> Result<usize, i32> {
        self.pwrite_within(buf, off, &mut FsizeLimit::new(u64::MAX))
    }

    /// pwrite(2) under a file size limit, as `write_within`.
    pub fn pwrite_within(&self, buf: &[u8], off: i64, limit: &mut FsizeLimit) -> Result<usize, i32> {
        if !self.writable() {
            return Err(EBADF);
        }
        if off < 0 {
            return Err(if self.unseekable() { ESPIPE } else { EINVAL });
        }
        match &self.backing {
            Backing::Pipe { .. } | Backing::Anon(_) => Err(ESPIPE),
            Backing::Device(d) => d.write(off as u64, buf, self.flags()),
            Backing::Vnode => {
                let vp = self.vnode()?;
                let _io = vp.open.io.exclusive();
                let at = if self.flags() & O_APPEND != 0 { vp.getattr().size } else { off as u64 };
                vp.node.write(at, within_fsize(vp, at, buf, limit)?)
            }
        }
    }

    /// lseek(2). ESPIPE on pipes; EINVAL for an unknown whence or a negative result;
    /// EOVERFLOW when the result does not fit an off_t. SEEK_DATA/SEEK_HOLE treat a file as
    /// data up to its size (ENXIO at or past the end).
    pub fn lseek(&self, off: i64, whence: u32) -> Result<u64, i32> {
        if self.unseekable() {
            return Err(ESPIPE);
        }
        let mut cur = self.offset.exclusive();
        let size = || self.vp.as_ref().map_or(0, |v| v.getattr().size) as i64;
        let new = match whence {
            SEEK_SET => off,
            SEEK_CUR => (*cur as i64).checked_add(off).ok_or(EOVERFLOW)?,
            SEEK_END => size().checked_add(off).ok_or(EOVERFLOW)?,
            SEEK_DATA | SEEK_HOLE => {
                if self.vp.as_ref().is_none_or(|v| v.vtype() != VType::Reg) {
                    return Err(EINVAL);
                }
                let sz = size();
                if off < 0 || off >= sz {
                    return Err(abi::errno::ENXIO);
                }
                if whence == SEEK_DATA {
                    off
                } else {
                    sz
                }
            }
            _ => return Err(EINVAL),
        };
        if new < 0 {
            return Err(EINVAL);
        }
        *cur = new as u64;
        Ok(new as u64)
    }

    /// ftruncate(2): EINVAL unless a regular file open for writing (as Linux answers).
    pub fn truncate(&self, len: i64) -> Result<(), i32> {
        let vp = self.vp.as_ref().ok_or(EINVAL)?;
        if len < 0 || !self.writable() || vp.vtype() != VType::Reg {
            return Err(EINVAL);
        }
        let _io = vp.open.io.exclusive();
        vp.node.setattr(&SetAttr { size: Some(len as u64), ..SetAttr::default() })
    }

    /// ioctl(2) on the object behind the file.
    pub fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, i32> {
        if self.flags() & O_PATH != 0 {
            return Err(EBADF);
        }
        match &self.backing {
            Backing::Device(d) => d.ioctl(cmd, arg),
            Backing::Vnode => self.vnode()?.node.ioctl(cmd, arg),
            Backing::Pipe { pipe, .. } => match cmd {
                // Linux's pipe_ioctl: the bytes queued, as an int, from either end.
                abi::termios::FIONREAD => {
                    let n = i32::try_from(pipe.queued()).unwrap_or(i32::MAX);
                    crate::arch::x86_64::copyio::copyout(arg, &n.to_ne_bytes())?;
                    Ok(0)
                }
                _ => Err(abi::errno::ENOTTY),
            },
            Backing::Anon(_) => Err(abi::errno::ENOTTY),
        }
    }

    /// Which of `events` (plus POLLHUP and POLLERR, always) are true now.
    pub fn poll(&self, events: u16) -> u16 {
        let want = events | POLLHUP | POLLERR;
        let ev = match &self.backing {
            Backing::Pipe { pipe, seen_w_opens } => {
                pipe.poll(self.readable(), self.writable(), *seen_w_opens)
            }
            Backing::Device(d) => d.poll(events),
            Backing::Anon(a) => a.poll(),
            Backing::Vnode => self.vp.as_ref().map_or(0, |v| v.node.poll(events)),
        };
        ev & want
    }
}

impl Drop for File {
    /// The last reference to the description: close the pipe end, the device, the node.
    fn drop(&mut self) {
        // Linux's eventpoll_release: no epoll instance keeps watching a closed description.
        self.watchers.file_closed(self as *const File as usize, self.knlist());
        if self.flocked.load(Ordering::Acquire) {
            if let Some(v) = &self.vp {
                v.open.flocks.release_owner(self as *const File as u64);
            }
        }
        if self.ofd_locked.load(Ordering::Acquire) {
            if let Some(v) = &self.vp {
                v.open.locks.release_owner(self.ofd_owner());
            }
        }
        let flags = self.flags();
        if flags & O_PATH != 0 {
            return;
        }
        let (r, w) = (self.readable(), self.writable());
        match &self.backing {
            Backing::Pipe { pipe, .. } => pipe.close_end(r, w),
            Backing::Anon(a) => a.close(),
            Backing::Device(d) => d.close(flags),
            Backing::Vnode => {
                if let Some(v) = &self.vp {
                    v.node.close(flags);
                }
            }
        }
    }
}

/// pipe2(2)'s pair: (read end, write end). `flags` may hold O_NONBLOCK (O_CLOEXEC is the
/// descriptor table's business).
pub fn pipe_pair(flags: u32) -> Result<(Arc<File>, Arc<File>), i32> {
    let p = Pipe::new()?;
    let fl = flags & O_NONBLOCK;
    // Both ends exist before either can be used, so neither sees the other missing.
    p.open_end(true, false);
    p.open_end(false, true);
    let r = File::new(None, None, Backing::Pipe { pipe: p.clone(), seen_w_opens: 0 }, O_RDONLY | fl);
    let w = File::new(None, None, Backing::Pipe { pipe: p, seen_w_opens: 0 }, O_WRONLY | fl);
    Ok((r, w))
}

/// The file for an opened vnode of any type (permissions already checked). Runs the device open or the FIFO rendezvous.
pub(super) fn open_vnode(nch: NcHandle, vp: Arc<Vnode>, flags: u32) -> Result<Arc<File>, i32> {
    if flags & O_PATH != 0 {
        return Ok(File::new(Some(nch), Some(vp), Backing::Vnode, flags & (O_PATH | O_ACCMODE)));
    }
    let acc = flags & O_ACCMODE;
    let backing = match vp.vtype() {
        VType::Reg | VType::Dir => {
            if vp.is_dir() && (acc != O_RDONLY || flags & O_TRUNC != 0) {
                return Err(EISDIR);
            }
            vp.node.open(flags)?;
            if flags & O_TRUNC != 0 && vp.vtype() == VType::Reg {
                let _io = vp.open.io.exclusive();
                if let Err(e) = vp.node.setattr(&SetAttr { size: Some(0), ..SetAttr::default() }) {
                    drop(_io);
                    vp.node.close(flags);
                    return Err(e);
                }
            }
            Backing::Vnode
        }
        VType::Chr => Backing::Device(open_device(&vp, flags)?),
        VType::Fifo => {
            let pipe = vp.open.fifo_pipe()?;
            let (r, w) = (acc != O_WRONLY, acc != O_RDONLY);
            let seen = pipe.fifo_open(r, w, flags & O_NONBLOCK != 0)?;
            Backing::Pipe { pipe, seen_w_opens: seen }
        }
        // No block devices yet; a socket file cannot be opened (Linux: ENXIO).
        VType::Blk | VType::Sock => return Err(ENXIO),
        VType::Lnk => return Err(abi::errno::ELOOP),
    };
    Ok(File::new(Some(nch), Some(vp), backing, flags))
}

/// A write's file size limit (RLIMIT_FSIZE, u64::MAX for none) and whether the write ran
/// into it: only that EFBIG raises SIGXFSZ, not one from the file system's own maximum.
pub struct FsizeLimit {
    /// The largest size, bytes.
    pub max: u64,
    /// A write started at or past `max` and failed with EFBIG.
    pub hit: bool,
}

impl FsizeLimit {
    /// The limit `max`, not hit yet.
    pub fn new(max: u64) -> Self {
        FsizeLimit { max, hit: false }
    }
}

/// EINVAL when `count` bytes at `off` would end past the largest offset (i64::MAX).
fn verify_area(off: u64, count: usize) -> Result<(), i32> {
    match off.checked_add(count as u64) {
        Some(end) if end <= i64::MAX as u64 => Ok(()),
        _ => Err(EINVAL),
    }
}

/// The part of `buf` a write at `off` may put in a regular file under the size limit
/// (Linux's generic_write_check_limits); EFBIG, and the limit marked hit, when none of it
/// fits. Writes of nothing and to other file types are not limited.
fn within_fsize<'a>(vp: &Vnode, off: u64, buf: &'a [u8], limit: &mut FsizeLimit) -> Result<&'a [u8], i32> {
    if limit.max == u64::MAX || buf.is_empty() || vp.vtype() != VType::Reg {
        return Ok(buf);
    }
    if off >= limit.max {
        limit.hit = true;
        return Err(EFBIG);
    }
    let room = usize::try_from(limit.max - off).unwrap_or(usize::MAX);
    Ok(&buf[..buf.len().min(room)])
}
