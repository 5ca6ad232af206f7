//! fcntl(2)'s record locks (Linux's fcntl_getlk / fcntl_setlk in fs/locks.c): `struct flock`
//! turned into a byte range of the file, and the commands over the vnode's lock list. The
//! classic commands (F_GETLK, F_SETLK, F_SETLKW) lock for the process that owns the
//! descriptor table; the OFD ones (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW) for the open file
//! description, whose locks go at its last close. Both kinds share one list and conflict.
use super::file::File;
use super::filedesc::FileDesc;
use super::lockf::{owner_pid, Kind};
use abi::errno::{EBADF, EINVAL, EOVERFLOW};
use abi::fcntl::*;

/// The byte range `[start, end)` a `struct flock` names (`end == u64::MAX`: to infinity),
/// by Linux's flock_to_posix_lock rules: EINVAL for a bad whence or a range starting before
/// byte 0, EOVERFLOW for one ending past the largest offset.
fn range_of(f: &File, fl: &Flock) -> Result<(u64, u64), i32> {
    let vp = f.vp.as_ref().ok_or(EINVAL)?;
    let base: i64 = match fl.l_whence as u32 {
        SEEK_SET => 0,
        SEEK_CUR => i64::try_from(f.offset()).map_err(|_| EOVERFLOW)?,
        SEEK_END => i64::try_from(vp.getattr().size).map_err(|_| EOVERFLOW)?,
        _ => return Err(EINVAL),
    };
    let start = base.checked_add(fl.l_start).ok_or(EOVERFLOW)?;
    if start < 0 {
        return Err(EINVAL);
    }
    match fl.l_len {
        0 => Ok((start as u64, u64::MAX)),
        len if len > 0 => {
            let last = start.checked_add(len - 1).ok_or(EOVERFLOW)?;
            Ok((start as u64, last as u64 + 1))
        }
        // Negative: the -len bytes before start.
        len => {
            let s = start.checked_add(len).filter(|s| *s >= 0).ok_or(EINVAL)?;
            Ok((s as u64, start as u64))
        }
    }
}

fn kind_of(l_type: i16) -> Result<Option<Kind>, i32> {
    match l_type {
        F_RDLCK => Ok(Some(Kind::Read)),
        F_WRLCK => Ok(Some(Kind::Write)),
        F_UNLCK => Ok(None),
        _ => Err(EINVAL),
    }
}

impl FileDesc {
    /// fcntl(2) F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ twins with the caller's copy of
    /// `struct flock`. The GETLK commands rewrite it with the first conflicting lock (l_pid
    /// -1 when a description owns it) or set l_type to F_UNLCK. A SETLK conflict is EAGAIN; a
    /// SETLKW wait ends with EINTR on a signal, EDEADLK (process locks only) on a cycle.
    pub fn fcntl_lock(&self, fd: i32, cmd: u32, fl: &mut Flock) -> Result<(), i32> {
        let f = self.get(fd)?;
        let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
        if !ofd && !matches!(cmd, F_GETLK | F_SETLK | F_SETLKW) {
            return Err(EINVAL);
        }
        if f.flags() & O_PATH != 0 {
            return Err(EBADF);
        }
        let getlk = matches!(cmd, F_GETLK | F_OFD_GETLK);
        // Linux checks the type of a GETLK first, then the range, then an OFD's l_pid.
        if getlk && !matches!(fl.l_type, F_RDLCK | F_WRLCK) {
            return Err(EINVAL);
        }
        let (start, end) = range_of(&f, fl)?;
        let kind = kind_of(fl.l_type)?;
        if !getlk {
            match kind {
                Some(Kind::Read) if !f.readable() => return Err(EBADF),
                Some(Kind::Write) if !f.writable() => return Err(EBADF),
                _ => {}
            }
        }
        if ofd && fl.l_pid != 0 {
            return Err(EINVAL);
        }
        let owner = if ofd { f.ofd_owner() } else { self.owner() };
        let locks = &f.vp.as_ref().ok_or(EINVAL)?.open.locks;
        let Some(kind) = kind else {
            return locks.unlock(owner, start, end);
        };
        if getlk {
            match locks.conflict(owner, kind, start, end) {
                Some(c) => {
                    fl.l_type = if c.kind == Kind::Read { F_RDLCK } else { F_WRLCK };
                    fl.l_whence = SEEK_SET as i16;
                    fl.l_start = c.start as i64;
                    fl.l_len = if c.end == u64::MAX { 0 } else { (c.end - c.start) as i64 };
                    fl.l_pid = owner_pid(c.owner);
                }
                None => fl.l_type = F_UNLCK,
            }
            return Ok(());
        }
        let wait = matches!(cmd, F_SETLKW | F_OFD_SETLKW);
        if ofd {
            f.note_ofd_lock();
            locks.set_ofd(owner, kind, start, end, wait)
        } else {
            locks.set(self.owner(), kind, start, end, wait)
        }
    }
}
