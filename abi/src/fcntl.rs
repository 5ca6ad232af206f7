//! Linux x86_64 file constants (`<asm-generic/fcntl.h>`, `<linux/fcntl.h>`, `<unistd.h>`):
//! open(2) flags, fcntl(2) commands and record-lock types, lseek(2) whences, `*at()` flags.
//! The kernel uses these numbers internally (DESIGN rule 7).

/// Access mode mask: one of O_RDONLY, O_WRONLY, O_RDWR.
pub const O_ACCMODE: u32 = 0o3;
/// Open for reading only.
pub const O_RDONLY: u32 = 0o0;
/// Open for writing only.
pub const O_WRONLY: u32 = 0o1;
/// Open for reading and writing.
pub const O_RDWR: u32 = 0o2;
/// Create the file if it does not exist.
pub const O_CREAT: u32 = 0o100;
/// With O_CREAT: fail with EEXIST if the name exists (even as a dangling symlink).
pub const O_EXCL: u32 = 0o200;
/// Do not make a terminal the controlling terminal.
pub const O_NOCTTY: u32 = 0o400;
/// Truncate a regular file opened for writing to length 0.
pub const O_TRUNC: u32 = 0o1000;
/// Every write goes to the end of the file, atomically.
pub const O_APPEND: u32 = 0o2000;
/// Never block in open, read or write: EAGAIN instead.
pub const O_NONBLOCK: u32 = 0o4000;
/// Synchronous data writes.
pub const O_DSYNC: u32 = 0o10000;
/// Signal-driven I/O (SIGIO).
pub const O_ASYNC: u32 = 0o20000;
/// Direct I/O (accepted, cache not bypassed).
pub const O_DIRECT: u32 = 0o40000;
/// Large files (always on for 64-bit).
pub const O_LARGEFILE: u32 = 0o100000;
/// Fail with ENOTDIR unless the path names a directory.
pub const O_DIRECTORY: u32 = 0o200000;
/// Fail with ELOOP if the last component is a symbolic link.
pub const O_NOFOLLOW: u32 = 0o400000;
/// Do not update the access time.
pub const O_NOATIME: u32 = 0o1000000;
/// Close the descriptor on exec.
pub const O_CLOEXEC: u32 = 0o2000000;
/// Synchronous writes (data and metadata; includes O_DSYNC).
pub const O_SYNC: u32 = 0o4010000;
/// A descriptor that only names a location (no I/O).
pub const O_PATH: u32 = 0o10000000;
/// An unnamed temporary file in the given directory (includes O_DIRECTORY).
pub const O_TMPFILE: u32 = 0o20200000;

/// Duplicate to the lowest free descriptor >= arg.
pub const F_DUPFD: u32 = 0;
/// Descriptor flags (FD_CLOEXEC).
pub const F_GETFD: u32 = 1;
/// Set descriptor flags.
pub const F_SETFD: u32 = 2;
/// File status flags and access mode.
pub const F_GETFL: u32 = 3;
/// Set file status flags (only O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME, O_NONBLOCK change).
pub const F_SETFL: u32 = 4;
/// Test for a conflicting record lock.
pub const F_GETLK: u32 = 5;
/// Set or clear a record lock without waiting.
pub const F_SETLK: u32 = 6;
/// Set a record lock, waiting for conflicting ones to go.
pub const F_SETLKW: u32 = 7;
/// F_GETLK for an open file description's own lock (reports l_pid -1 for such locks).
pub const F_OFD_GETLK: u32 = 36;
/// F_SETLK with the open file description as the owner (l_pid must be 0).
pub const F_OFD_SETLK: u32 = 37;
/// F_SETLKW with the open file description as the owner.
pub const F_OFD_SETLKW: u32 = 38;
/// F_DUPFD with FD_CLOEXEC set on the new descriptor.
pub const F_DUPFD_CLOEXEC: u32 = 1030;
/// Resize a pipe's buffer (F_LINUX_SPECIFIC_BASE + 7); returns the size set.
pub const F_SETPIPE_SZ: u32 = 1031;
/// A pipe's buffer size (F_LINUX_SPECIFIC_BASE + 8).
pub const F_GETPIPE_SZ: u32 = 1032;

/// flock(2): shared lock.
pub const LOCK_SH: u32 = 1;
/// flock(2): exclusive lock.
pub const LOCK_EX: u32 = 2;
/// flock(2): do not wait (EWOULDBLOCK instead).
pub const LOCK_NB: u32 = 4;
/// flock(2): unlock.
pub const LOCK_UN: u32 = 8;

/// The descriptor flag: close on exec.
pub const FD_CLOEXEC: u32 = 1;

/// Shared (read) record lock.
pub const F_RDLCK: i16 = 0;
/// Exclusive (write) record lock.
pub const F_WRLCK: i16 = 1;
/// No lock / unlock.
pub const F_UNLCK: i16 = 2;

/// lseek: from the start.
pub const SEEK_SET: u32 = 0;
/// lseek: from the current offset.
pub const SEEK_CUR: u32 = 1;
/// lseek: from the end.
pub const SEEK_END: u32 = 2;
/// lseek: next data at or after the offset.
pub const SEEK_DATA: u32 = 3;
/// lseek: next hole at or after the offset.
pub const SEEK_HOLE: u32 = 4;

/// `*at()` dirfd: the working directory.
pub const AT_FDCWD: i32 = -100;
/// `*at()`: do not follow a symbolic link in the last component.
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `*at()`: an empty path names dirfd itself.
pub const AT_EMPTY_PATH: u32 = 0x1000;

/// Bytes a pipe write is atomic up to (`<linux/limits.h>`).
pub const PIPE_BUF: usize = 4096;

/// `struct flock` as x86_64 Linux lays it out (fcntl F_GETLK/F_SETLK/F_SETLKW).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flock {
    /// F_RDLCK, F_WRLCK or F_UNLCK.
    pub l_type: i16,
    /// SEEK_SET, SEEK_CUR or SEEK_END: what `l_start` is relative to.
    pub l_whence: i16,
    /// Start of the range.
    pub l_start: i64,
    /// Length; 0 means "to the end of the file, however it grows"; negative covers the bytes
    /// before `l_start`.
    pub l_len: i64,
    /// F_GETLK: the process holding the conflicting lock.
    pub l_pid: i32,
}

/// ioctl: set close-on-exec on the descriptor.
pub const FIOCLEX: u32 = 0x5451;
/// ioctl: clear close-on-exec on the descriptor.
pub const FIONCLEX: u32 = 0x5450;
/// ioctl: set (nonzero int at arg) or clear O_NONBLOCK on the description.
pub const FIONBIO: u32 = 0x5421;

/// close_range: give the caller a private descriptor table first.
pub const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
/// close_range: mark close-on-exec instead of closing.
pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flock_layout_matches_linux() {
        assert_eq!(core::mem::size_of::<Flock>(), 32);
        assert_eq!(core::mem::offset_of!(Flock, l_start), 8);
        assert_eq!(core::mem::offset_of!(Flock, l_len), 16);
        assert_eq!(core::mem::offset_of!(Flock, l_pid), 24);
    }

    #[test]
    fn composite_flags() {
        assert_eq!(O_SYNC & O_DSYNC, O_DSYNC);
        assert_eq!(O_TMPFILE & O_DIRECTORY, O_DIRECTORY);
        assert_eq!(O_ACCMODE & (O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC), 0);
    }
}
