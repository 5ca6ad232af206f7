//! Descriptor tables (DragonFly's struct filedesc, kern_descrip.c): small integers naming
//! open file descriptions, with the close-on-exec flag per descriptor. A table is shared by
//! the threads of a process (`Arc<FileDesc>`), copied at fork, swept at exec. Descriptors
//! are allocated lowest-free first, below a cap (RLIMIT_NOFILE: EMFILE past it). The table's
//! spinlock is held only to change slots; files are dropped (closed) after it is released,
//! since closing may block.
use super::file::{pipe_pair, File};
use super::namecache::NcHandle;
use super::nlookup::Ctx;
use super::open::open_at;
use crate::sync::spinlock::SpinLock;
use abi::errno::{EBADF, EINVAL, EMFILE, ENOMEM, ENOTDIR};
use abi::fcntl::*;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// The default descriptor cap (Linux's default soft RLIMIT_NOFILE).
pub const NOFILE_DEFAULT: usize = 1024;

#[derive(Clone)]
struct Slot {
    file: Arc<File>,
    cloexec: bool,
}

struct Table {
    slots: Vec<Option<Slot>>,
    limit: usize,
}

impl Table {
    /// The lowest free descriptor >= `min`, growing the table if needed.
    /// EMFILE when that descriptor is at or above the limit, even if the table already has a
    /// free slot there (a table that grew before the limit was lowered).
    fn alloc(&mut self, min: usize) -> Result<usize, i32> {
        let fd = match self.slots.iter().skip(min).position(Option::is_none) {
            Some(i) => min + i,
            None => self.slots.len().max(min),
        };
        if fd >= self.limit {
            return Err(EMFILE);
        }
        if fd >= self.slots.len() {
            self.slots.try_reserve(fd + 1 - self.slots.len()).map_err(|_| ENOMEM)?;
            self.slots.resize(fd + 1, None);
        }
        Ok(fd)
    }

    fn get(&self, fd: i32) -> Result<&Slot, i32> {
        usize::try_from(fd).ok().and_then(|i| self.slots.get(i)).and_then(Option::as_ref).ok_or(EBADF)
    }

    fn get_mut(&mut self, fd: i32) -> Result<&mut Slot, i32> {
        usize::try_from(fd).ok().and_then(|i| self.slots.get_mut(i)).and_then(Option::as_mut).ok_or(EBADF)
    }

    fn take(&mut self, fd: i32) -> Option<Slot> {
        usize::try_from(fd).ok().and_then(|i| self.slots.get_mut(i)).and_then(Option::take)
    }
}

/// A descriptor table.
pub struct FileDesc {
    /// Who owns the record locks taken through this table (the process id).
    owner: u64,
    t: SpinLock<Table>,
}

impl FileDesc {
    /// An empty table for `owner` with the default cap.
    pub fn new(owner: u64) -> Arc<FileDesc> {
        Arc::new(FileDesc { owner, t: SpinLock::new(Table { slots: Vec::new(), limit: NOFILE_DEFAULT }) })
    }

    /// The record-lock owner.
    pub fn owner(&self) -> u64 {
        self.owner
    }

    /// The descriptor cap.
    pub fn limit(&self) -> usize {
        self.t.lock().limit
    }

    /// Sets the cap (setrlimit RLIMIT_NOFILE); open descriptors above it stay open.
    pub fn set_limit(&self, limit: usize) {
        self.t.lock().limit = limit;
    }

    /// The file behind `fd` (fget); EBADF when not open.
    pub fn get(&self, fd: i32) -> Result<Arc<File>, i32> {
        Ok(self.t.lock().get(fd)?.file.clone())
    }

    /// Installs `file` at the lowest free descriptor (fdalloc + fsetfd).
    pub fn install(&self, file: Arc<File>, cloexec: bool) -> Result<i32, i32> {
        self.install_from(file, cloexec, 0)
    }

    fn install_from(&self, file: Arc<File>, cloexec: bool, min: usize) -> Result<i32, i32> {
        let mut t = self.t.lock();
        let fd = t.alloc(min)?;
        t.slots[fd] = Some(Slot { file, cloexec });
        Ok(fd as i32)
    }

    /// What a dirfd names for the *at() calls: None for AT_FDCWD (or an absolute path, which
    /// ignores dirfd), else the directory the descriptor was opened on (EBADF, ENOTDIR).
    pub fn at_handle(&self, dirfd: i32, path: &[u8]) -> Result<Option<NcHandle>, i32> {
        if dirfd == AT_FDCWD || path.first() == Some(&b'/') {
            return Ok(None);
        }
        let f = self.get(dirfd)?;
        let h = f.nch.clone().ok_or(ENOTDIR)?;
        match h.vnode() {
            Some(v) if v.is_dir() => Ok(Some(h)),
            _ => Err(ENOTDIR),
        }
    }

    /// openat(2): opens and installs; O_CLOEXEC sets the descriptor's flag.
    pub fn open_at(&self, ctx: &Ctx, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> Result<i32, i32> {
        let at = self.at_handle(dirfd, path)?;
        let f = open_at(ctx, at.as_ref(), path, flags, mode)?;
        self.install(f, flags & O_CLOEXEC != 0)
    }

    /// pipe2(2): [read end, write end]. Flags: O_CLOEXEC, O_NONBLOCK (else EINVAL).
    pub fn pipe2(&self, flags: u32) -> Result<[i32; 2], i32> {
        if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
            return Err(EINVAL);
        }
        let (r, w) = pipe_pair(flags)?;
        let cloexec = flags & O_CLOEXEC != 0;
        let rfd = self.install(r, cloexec)?;
        match self.install(w, cloexec) {
            Ok(wfd) => Ok([rfd, wfd]),
            Err(e) => {
                let _ = self.close(rfd);
                Err(e)
            }
        }
    }

    /// Releases what closing one descriptor of `file` releases besides the file reference:
    /// every record lock this owner holds on the file (POSIX: any close drops them all).
    fn closing(&self, file: &File) {
        if let Some(v) = &file.vp {
            v.open.locks.release_owner(self.owner);
        }
    }

    /// close(2).
    pub fn close(&self, fd: i32) -> Result<(), i32> {
        let slot = self.t.lock().take(fd).ok_or(EBADF)?;
        self.closing(&slot.file);
        drop(slot);
        Ok(())
    }

    /// close_range(2) without CLOSE_RANGE_UNSHARE's copy: closes every open descriptor in
    /// `first..=last`, or with `cloexec` marks them close-on-exec instead.
    pub fn close_range(&self, first: u32, last: u32, cloexec: bool) {
        let gone: Vec<Slot> = {
            let mut t = self.t.lock();
            let first = first as usize;
            let end = (last as usize).saturating_add(1).min(t.slots.len());
            if first >= end {
                return;
            }
            let range = &mut t.slots[first..end];
            if cloexec {
                range.iter_mut().flatten().for_each(|s| s.cloexec = true);
                return;
            }
            range.iter_mut().filter_map(Option::take).collect()
        };
        for s in &gone {
            self.closing(&s.file);
        }
    }

    /// dup(2): the lowest free descriptor, close-on-exec clear.
    pub fn dup(&self, fd: i32) -> Result<i32, i32> {
        let f = self.get(fd)?;
        self.install(f, false)
    }

    /// dup2(2): `new` names `old`'s file, closing what `new` named; the same descriptor
    /// twice returns it (if open).
    pub fn dup2(&self, old: i32, new: i32) -> Result<i32, i32> {
        if old == new {
            self.get(old)?;
            return Ok(new);
        }
        self.dup3(old, new, 0)
    }

    /// dup3(2): like dup2, but the same descriptor twice is EINVAL, and `flags` may hold
    /// O_CLOEXEC only.
    pub fn dup3(&self, old: i32, new: i32, flags: u32) -> Result<i32, i32> {
        if old == new || flags & !O_CLOEXEC != 0 {
            return Err(EINVAL);
        }
        let replaced = {
            let mut t = self.t.lock();
            let file = t.get(old)?.file.clone();
            let idx = usize::try_from(new).ok().filter(|&i| i < t.limit).ok_or(EBADF)?;
            let len = t.slots.len();
            if idx >= len {
                t.slots.try_reserve(idx + 1 - len).map_err(|_| ENOMEM)?;
                t.slots.resize(idx + 1, None);
            }
            t.slots[idx].replace(Slot { file, cloexec: flags & O_CLOEXEC != 0 })
        };
        if let Some(s) = replaced {
            self.closing(&s.file);
        }
        Ok(new)
    }

    /// fcntl(2) for the integer commands: F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD,
    /// F_GETFL, F_SETFL, F_GETPIPE_SZ, F_SETPIPE_SZ (EBADF on what is not a pipe). The
    /// record-lock commands go through [`FileDesc::fcntl_lock`]; any other command is EINVAL.
    pub fn fcntl(&self, fd: i32, cmd: u32, arg: u64) -> Result<i64, i32> {
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let f = self.get(fd)?;
                let min = usize::try_from(arg).ok().filter(|&m| m < self.limit()).ok_or(EINVAL)?;
                Ok(self.install_from(f, cmd == F_DUPFD_CLOEXEC, min)? as i64)
            }
            F_GETFD => Ok(if self.t.lock().get(fd)?.cloexec { FD_CLOEXEC as i64 } else { 0 }),
            F_SETFD => {
                self.t.lock().get_mut(fd)?.cloexec = arg & FD_CLOEXEC as u64 != 0;
                Ok(0)
            }
            F_GETFL => Ok(self.get(fd)?.flags() as i64),
            F_SETFL => {
                self.get(fd)?.set_flags(arg as u32);
                Ok(0)
            }
            F_GETPIPE_SZ => Ok(self.get(fd)?.pipe().ok_or(EBADF)?.size() as i64),
            // Linux takes the size as an unsigned int.
            F_SETPIPE_SZ => Ok(self.get(fd)?.pipe().ok_or(EBADF)?.set_size(arg as u32 as u64)? as i64),
            _ => {
                // A bad descriptor is reported before a bad command, as Linux does.
                self.get(fd)?;
                Err(EINVAL)
            }
        }
    }

    /// fork: a new table for `owner` naming the same files with the same flags (record locks
    /// are not inherited: they belong to the old owner).
    pub fn fork_copy(&self, owner: u64) -> Result<Arc<FileDesc>, i32> {
        let t = self.t.lock();
        let mut slots = Vec::new();
        slots.try_reserve(t.slots.len()).map_err(|_| ENOMEM)?;
        slots.extend(t.slots.iter().cloned());
        let limit = t.limit;
        drop(t);
        Ok(Arc::new(FileDesc { owner, t: SpinLock::new(Table { slots, limit }) }))
    }

    /// exec: closes every close-on-exec descriptor.
    pub fn close_on_exec(&self) {
        let gone: Vec<Slot> = {
            let mut t = self.t.lock();
            t.slots
                .iter_mut()
                .filter(|s| s.as_ref().is_some_and(|s| s.cloexec))
                .filter_map(Option::take)
                .collect()
        };
        for s in &gone {
            self.closing(&s.file);
        }
    }

    /// Closes everything (process exit).
    pub fn close_all(&self) {
        let gone: Vec<Slot> = core::mem::take(&mut self.t.lock().slots).into_iter().flatten().collect();
        for s in &gone {
            self.closing(&s.file);
        }
    }

    /// The open descriptor numbers, ascending (/proc/PID/fd).
    pub fn open_fds(&self) -> Vec<i32> {
        let t = self.t.lock();
        t.slots.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(i, _)| i as i32).collect()
    }

    /// Open descriptors (tests, /proc).
    pub fn count(&self) -> usize {
        self.t.lock().slots.iter().filter(|s| s.is_some()).count()
    }
}
