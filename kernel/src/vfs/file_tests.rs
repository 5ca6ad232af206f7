//! Tests of open files and descriptor tables: open(2)'s flag and errno table, offsets shared
//! by dup'ed descriptors, lseek's rules, fcntl's flags and close-on-exec, O_APPEND writers on
//! every CPU, and POSIX record locks (conflicts, splitting and merging, release on close,
//! blocking and EDEADLK).
use super::cred::Cred;
use super::file::File;
use super::filedesc::FileDesc;
use super::lockf;
use super::nlookup::Ctx;
use super::open::open_at;
use super::ops::{create_at, mkdir_at, symlink_at};
use super::tests::{e, Scratch};
use super::vnode::VType;
use crate::ktest::Failure;
use crate::lwkt::globaldata::{mycpu, ncpus};
use crate::lwkt::sched::{create, yield_now};
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_cancel, tsleep_interlock, wakeup, PINTERLOCKED};
use crate::lwkt::thread::pri;
use crate::{kassert, kassert_eq, ktest};
use abi::errno::*;
use abi::fcntl::*;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counts finished workers; the test thread sleeps on it (bounded, so a hang fails).
pub(crate) struct Latch {
    done: AtomicUsize,
}

impl Latch {
    pub(crate) fn new() -> Arc<Latch> {
        Arc::new(Latch { done: AtomicUsize::new(0) })
    }

    pub(crate) fn arrive(&self) {
        self.done.fetch_add(1, Ordering::AcqRel);
        wakeup(ident_of(self));
    }

    pub(crate) fn count(&self) -> usize {
        self.done.load(Ordering::Acquire)
    }

    pub(crate) fn wait(&self, n: usize) -> Result<(), Failure> {
        let t0 = crate::time::nanotime();
        while self.count() < n {
            tsleep_interlock(ident_of(self));
            if self.count() >= n {
                tsleep_cancel();
                break;
            }
            let _ = tsleep(ident_of(self), PINTERLOCKED, "latch", 10);
            if crate::time::nanotime() - t0 > 60_000_000_000 {
                return Err(format!("{} of {} workers finished in time", self.count(), n).into());
            }
        }
        Ok(())
    }
}

pub(crate) fn spawn_on(
    cpu: usize,
    name: &'static str,
    f: impl FnOnce() + Send + 'static,
) -> Result<(), Failure> {
    create(name, pri::KERN_DAEMON, Some(cpu), f).map(|_| ()).ok_or_else(|| "create failed".into())
}

/// Yields until `f` holds (bounded).
pub(crate) fn until(what: &str, f: impl Fn() -> bool) -> Result<(), Failure> {
    for _ in 0..200_000 {
        if f() {
            return Ok(());
        }
        yield_now();
    }
    Err(format!("timed out waiting for {what}").into())
}

fn open(ctx: &Ctx, path: &[u8], flags: u32) -> Result<Arc<File>, i32> {
    open_at(ctx, None, path, flags, 0o644)
}

fn errno_of<T>(r: Result<T, i32>) -> i32 {
    r.err().unwrap_or(0)
}

ktest! {
    /// open(2)'s flags and errors as man 2 open lists them.
    fn open_flags_errno_table() {
        let s = Scratch::new()?;
        let c = &s.ctx;
        let f = e(open(c, b"f", O_CREAT | O_WRONLY), "create f")?;
        e(f.write(b"hello"), "write f")?;
        drop(f);
        e(mkdir_at(c, None, b"d", 0o755), "mkdir")?;
        e(symlink_at(c, b"f", None, b"l"), "symlink")?;
        e(symlink_at(c, b"nowhere", None, b"dl"), "dangling symlink")?;
        e(create_at(c, None, b"p", VType::Fifo, 0o644, 0), "mkfifo")?;
        e(create_at(c, None, b"s", VType::Sock, 0o644, 0), "socket node")?;
        e(create_at(c, None, b"secret", VType::Reg, 0o600, 0), "secret")?;
        let table: &[(&[u8], u32, i32)] = &[
            (b"f", O_RDONLY, 0),
            (b"f", O_CREAT | O_EXCL | O_WRONLY, EEXIST),
            (b"dl", O_CREAT | O_EXCL | O_WRONLY, EEXIST),
            (b"l", O_RDONLY, 0),
            (b"l", O_RDONLY | O_NOFOLLOW, ELOOP),
            (b"f", O_RDONLY | O_DIRECTORY, ENOTDIR),
            (b"d", O_RDONLY | O_DIRECTORY, 0),
            (b"d", O_RDONLY, 0),
            (b"d", O_WRONLY, EISDIR),
            (b"d", O_RDWR, EISDIR),
            (b"d", O_RDONLY | O_TRUNC, EISDIR),
            (b"d", O_CREAT | O_RDONLY, EISDIR),
            (b"newdir/", O_CREAT | O_RDONLY, EISDIR),
            (b"missing", O_RDONLY, ENOENT),
            (b"missing/x", O_RDONLY, ENOENT),
            (b"f/x", O_RDONLY, ENOTDIR),
            (b"f/", O_RDONLY, ENOTDIR),
            (b"f", O_ACCMODE, EINVAL),
            (b"x", O_CREAT | O_DIRECTORY, EINVAL),
            (b"d", O_TMPFILE | O_RDWR, EOPNOTSUPP),
            (b"s", O_RDONLY, ENXIO),
            (b"p", O_WRONLY | O_NONBLOCK, ENXIO),
            (b"p", O_RDONLY | O_NONBLOCK, 0),
            (b"l", O_PATH | O_NOFOLLOW, 0),
            (b"", O_RDONLY, ENOENT),
        ];
        for &(path, flags, want) in table {
            let got = errno_of(open(c, path, flags));
            kassert!(
                got == want,
                "open({:?}, {:#o}): errno {} (want {})",
                core::str::from_utf8(path).unwrap_or("?"),
                flags,
                got,
                want
            );
        }
        // Permission bits: a user may not read root's 0600 file, nor truncate a 0644 one
        // even when opening read-only.
        let user = Ctx { cred: Cred::user(1000, 1000), ..c.clone() };
        kassert_eq!(errno_of(open(&user, b"secret", O_RDONLY)), EACCES);
        kassert_eq!(errno_of(open(&user, b"f", O_RDONLY | O_TRUNC)), EACCES);
        kassert_eq!(errno_of(open(&user, b"f", O_WRONLY)), EACCES);
        kassert!(open(&user, b"f", O_RDONLY).is_ok(), "user read of a 0644 file");
        // The creator may write a file it creates read-only.
        let ro = e(open_at(c, None, b"ro", O_CREAT | O_RDWR, 0o444), "create read-only")?;
        kassert_eq!(ro.write(b"ok"), Ok(2));
        // O_TRUNC empties; O_CREAT on an existing file does not.
        let t0 = e(open(c, b"f", O_WRONLY | O_CREAT), "reopen")?;
        kassert_eq!(t0.vp.as_ref().map(|v| v.getattr().size), Some(5));
        let t = e(open(c, b"f", O_WRONLY | O_TRUNC), "truncate")?;
        kassert_eq!(t.vp.as_ref().map(|v| v.getattr().size), Some(0));
        // Reading a directory is EISDIR; writing a read-only file EBADF.
        let d = e(open(c, b"d", O_RDONLY), "open dir")?;
        kassert_eq!(d.read(&mut [0u8; 4]), Err(EISDIR));
        let r = e(open(c, b"f", O_RDONLY), "open ro")?;
        kassert_eq!(r.write(b"x"), Err(EBADF));
        let w = e(open(c, b"f", O_WRONLY), "open wo")?;
        kassert_eq!(w.read(&mut [0u8; 4]), Err(EBADF));
        drop((ro, t0, t, d, r, w, user));
        s.done()
    }
}

ktest! {
    /// dup'ed descriptors share one offset and one set of status flags; a second open of the
    /// same file has its own.
    fn offsets_shared_across_dup() {
        let s = Scratch::new()?;
        let fdt = FileDesc::new(1);
        let a = e(fdt.open_at(&s.ctx, AT_FDCWD, b"f", O_CREAT | O_RDWR, 0o644), "open")?;
        let f = e(fdt.get(a), "get")?;
        kassert_eq!(f.write(b"abcdef"), Ok(6));
        let b = e(fdt.dup(a), "dup")?;
        kassert_eq!(b, a + 1);
        kassert_eq!(e(fdt.get(b), "get b")?.lseek(0, SEEK_SET), Ok(0));
        let mut buf = [0u8; 3];
        kassert_eq!(e(fdt.get(a), "get a")?.read(&mut buf), Ok(3));
        kassert_eq!(&buf, b"abc");
        kassert_eq!(e(fdt.get(b), "get b")?.offset(), 3);
        e(fdt.fcntl(a, F_SETFL, (O_APPEND | O_NONBLOCK) as u64), "setfl")?;
        kassert_eq!(e(fdt.fcntl(b, F_GETFL, 0), "getfl")? as u32, O_RDWR | O_APPEND | O_NONBLOCK | O_LARGEFILE);
        let other = e(fdt.open_at(&s.ctx, AT_FDCWD, b"f", O_RDONLY, 0), "second open")?;
        kassert_eq!(e(fdt.get(other), "get other")?.offset(), 0);
        kassert_eq!(e(fdt.fcntl(other, F_GETFL, 0), "getfl other")? as u32, O_RDONLY | O_LARGEFILE);
        // Closing one dup leaves the other working.
        e(fdt.close(a), "close a")?;
        kassert_eq!(e(fdt.get(b), "get b")?.read(&mut buf), Ok(3));
        kassert_eq!(&buf, b"def");
        // dirfd-relative opens: a directory descriptor works, a file descriptor is ENOTDIR.
        e(mkdir_at(&s.ctx, None, b"sub", 0o755), "mkdir")?;
        let dfd = e(fdt.open_at(&s.ctx, AT_FDCWD, b"sub", O_RDONLY | O_DIRECTORY, 0), "open dir")?;
        e(fdt.open_at(&s.ctx, dfd, b"inner", O_CREAT | O_WRONLY, 0o644), "openat")?;
        kassert!(super::nlookup::nlookup(&s.ctx, None, b"sub/inner", true).is_ok(), "openat created elsewhere");
        kassert_eq!(fdt.open_at(&s.ctx, b, b"x", O_RDONLY, 0), Err(ENOTDIR));
        kassert_eq!(fdt.open_at(&s.ctx, 999, b"x", O_RDONLY, 0), Err(EBADF));
        fdt.close_all();
        kassert_eq!(fdt.count(), 0);
        drop(f);
        s.done()
    }
}

ktest! {
    /// lseek: SEEK_SET/CUR/END, EINVAL for a negative result or an unknown whence,
    /// EOVERFLOW past off_t, holes read as zeros, ESPIPE on pipes; pread/pwrite leave the
    /// offset alone and reject negative offsets.
    fn lseek_rules() {
        let s = Scratch::new()?;
        let f = e(open(&s.ctx, b"f", O_CREAT | O_RDWR), "open")?;
        kassert_eq!(f.write(b"0123456789"), Ok(10));
        kassert_eq!(f.lseek(-1, SEEK_SET), Err(EINVAL));
        kassert_eq!(f.lseek(-11, SEEK_END), Err(EINVAL));
        kassert_eq!(f.lseek(0, 7), Err(EINVAL));
        kassert_eq!(f.offset(), 10);
        kassert_eq!(f.lseek(-4, SEEK_CUR), Ok(6));
        kassert_eq!(f.lseek(2, SEEK_END), Ok(12));
        kassert_eq!(f.write(b"X"), Ok(1));
        let mut buf = [0xffu8; 13];
        kassert_eq!(f.pread(&mut buf, 0), Ok(13));
        kassert_eq!(&buf, b"0123456789\0\0X");
        kassert_eq!(f.offset(), 13);
        kassert_eq!(f.pwrite(b"ab", 1), Ok(2));
        kassert_eq!(f.offset(), 13);
        kassert_eq!(f.pread(&mut buf[..3], 0), Ok(3));
        kassert_eq!(&buf[..3], b"0ab");
        kassert_eq!(f.pread(&mut buf, -1), Err(EINVAL));
        kassert_eq!(f.pwrite(b"x", -5), Err(EINVAL));
        kassert_eq!(f.lseek(i64::MAX, SEEK_SET), Ok(i64::MAX as u64));
        kassert_eq!(f.lseek(1, SEEK_CUR), Err(EOVERFLOW));
        kassert_eq!(f.lseek(0, SEEK_DATA), Ok(0));
        kassert_eq!(f.lseek(0, SEEK_HOLE), Ok(13));
        kassert_eq!(f.lseek(13, SEEK_DATA), Err(ENXIO));
        // Reading at or past the end gives 0.
        kassert_eq!(f.lseek(100, SEEK_SET), Ok(100));
        kassert_eq!(f.read(&mut buf), Ok(0));
        // pwrite on an O_APPEND file appends (Linux).
        let ap = e(open(&s.ctx, b"f", O_WRONLY | O_APPEND), "open append")?;
        kassert_eq!(ap.pwrite(b"Z", 0), Ok(1));
        kassert_eq!(f.pread(&mut buf[..1], 13), Ok(1));
        kassert_eq!(buf[0], b'Z');
        // No ioctls on a regular file.
        kassert_eq!(f.ioctl(0x5401, 0), Err(ENOTTY));
        // ftruncate.
        kassert_eq!(f.truncate(4), Ok(()));
        kassert_eq!(f.lseek(0, SEEK_END), Ok(4));
        kassert_eq!(f.truncate(-1), Err(EINVAL));
        let (r, w) = e(super::file::pipe_pair(0), "pipe")?;
        kassert_eq!(r.lseek(0, SEEK_CUR), Err(ESPIPE));
        kassert_eq!(w.pwrite(b"x", 0), Err(ESPIPE));
        kassert_eq!(r.pread(&mut buf, 0), Err(ESPIPE));
        drop((f, ap, r, w));
        s.done()
    }
}

ktest! {
    /// fcntl: F_GETFL/F_SETFL change only the changeable flags; F_GETFD/F_SETFD and the
    /// close-on-exec sweep; F_DUPFD's minimum; dup2/dup3 rules; lowest-free allocation; the
    /// descriptor cap (EMFILE); fork copies the table.
    fn fcntl_flags_and_cloexec() {
        let s = Scratch::new()?;
        let fdt = FileDesc::new(7);
        let a = e(fdt.open_at(&s.ctx, AT_FDCWD, b"f", O_CREAT | O_RDWR | O_CLOEXEC, 0o644), "open")?;
        kassert_eq!(a, 0);
        kassert_eq!(fdt.fcntl(a, F_GETFD, 0), Ok(FD_CLOEXEC as i64));
        kassert_eq!(fdt.fcntl(a, F_GETFL, 0), Ok((O_RDWR | O_LARGEFILE) as i64));
        // The access mode and creation flags do not change; O_APPEND/O_NONBLOCK/O_ASYNC do.
        e(fdt.fcntl(a, F_SETFL, (O_WRONLY | O_APPEND | O_ASYNC | O_TRUNC | O_CREAT) as u64), "setfl")?;
        kassert_eq!(fdt.fcntl(a, F_GETFL, 0), Ok((O_RDWR | O_APPEND | O_ASYNC | O_LARGEFILE) as i64));
        e(fdt.fcntl(a, F_SETFL, O_NONBLOCK as u64), "setfl 2")?;
        kassert_eq!(fdt.fcntl(a, F_GETFL, 0), Ok((O_RDWR | O_NONBLOCK | O_LARGEFILE) as i64));
        e(fdt.fcntl(a, F_SETFD, 0), "setfd")?;
        kassert_eq!(fdt.fcntl(a, F_GETFD, 0), Ok(0));
        // F_DUPFD: lowest free at or above the minimum; the _CLOEXEC form sets the flag.
        kassert_eq!(fdt.fcntl(a, F_DUPFD, 10), Ok(10));
        kassert_eq!(fdt.fcntl(a, F_DUPFD, 10), Ok(11));
        kassert_eq!(fdt.fcntl(a, F_DUPFD_CLOEXEC, 0), Ok(1));
        kassert_eq!(fdt.fcntl(1, F_GETFD, 0), Ok(FD_CLOEXEC as i64));
        kassert_eq!(fdt.fcntl(10, F_GETFD, 0), Ok(0));
        kassert_eq!(fdt.fcntl(a, F_DUPFD, 1 << 40), Err(EINVAL));
        kassert_eq!(fdt.fcntl(a, 9999, 0), Err(EINVAL));
        kassert_eq!(fdt.fcntl(55, F_GETFD, 0), Err(EBADF));
        kassert_eq!(fdt.fcntl(-1, F_GETFL, 0), Err(EBADF));
        // dup2/dup3.
        kassert_eq!(fdt.dup2(a, a), Ok(a));
        kassert_eq!(fdt.dup2(40, 40), Err(EBADF));
        kassert_eq!(fdt.dup3(a, a, 0), Err(EINVAL));
        kassert_eq!(fdt.dup3(a, 5, O_NONBLOCK), Err(EINVAL));
        kassert_eq!(fdt.dup2(a, -1), Err(EBADF));
        kassert_eq!(fdt.dup2(a, 5000), Err(EBADF));
        kassert_eq!(fdt.dup3(a, 20, O_CLOEXEC), Ok(20));
        kassert_eq!(fdt.fcntl(20, F_GETFD, 0), Ok(FD_CLOEXEC as i64));
        // dup2 over an open descriptor replaces it, clearing close-on-exec.
        kassert_eq!(fdt.dup2(10, 20), Ok(20));
        kassert_eq!(fdt.fcntl(20, F_GETFD, 0), Ok(0));
        // Lowest free: closing 1 makes it the next one.
        e(fdt.close(1), "close 1")?;
        kassert_eq!(fdt.close(1), Err(EBADF));
        kassert_eq!(fdt.dup(a), Ok(1));
        // Fork copies everything; exec closes the close-on-exec ones.
        e(fdt.fcntl(11, F_SETFD, FD_CLOEXEC as u64), "setfd 11")?;
        let child = e(fdt.fork_copy(8), "fork")?;
        kassert_eq!(child.count(), fdt.count());
        kassert_eq!(child.owner(), 8);
        child.close_on_exec();
        kassert_eq!(child.get(11).err(), Some(EBADF));
        kassert!(child.get(10).is_ok(), "exec closed a descriptor without the flag");
        kassert!(fdt.get(11).is_ok(), "the parent's descriptor went with the child's exec");
        // The shared description: the child's F_SETFL shows in the parent.
        e(child.fcntl(10, F_SETFL, O_APPEND as u64), "child setfl")?;
        kassert_eq!(fdt.fcntl(a, F_GETFL, 0), Ok((O_RDWR | O_APPEND | O_LARGEFILE) as i64));
        // The cap.
        fdt.set_limit(24);
        let mut got = Vec::new();
        loop {
            match fdt.dup(a) {
                Ok(fd) => got.push(fd),
                Err(err) => {
                    kassert_eq!(err, EMFILE);
                    break;
                }
            }
            kassert!(got.len() < 100, "cap not enforced");
        }
        kassert_eq!(fdt.count(), 24);
        kassert_eq!(fdt.fcntl(a, F_DUPFD, 24), Err(EINVAL));
        let mut fds = [0; 2];
        kassert_eq!(fdt.pipe2(0).map(|p| fds = p), Err(EMFILE));
        kassert_eq!(fdt.pipe2(O_DIRECT), Err(EINVAL));
        let _ = fds;
        fdt.close_all();
        child.close_all();
        s.done()
    }
}

ktest! {
    /// A limit lowered below a grown table: the free slots above it are not handed out
    /// (EMFILE), the open descriptors there stay. close_range closes or marks a range.
    fn fd_limit_lowered_and_close_range() {
        let s = Scratch::new()?;
        let fdt = FileDesc::new(9);
        let a = e(fdt.open_at(&s.ctx, AT_FDCWD, b"f", O_CREAT | O_RDWR, 0o644), "open")?;
        kassert_eq!(fdt.dup2(a, 9), Ok(9));
        kassert_eq!(fdt.dup2(a, 12), Ok(12));
        e(fdt.close(9), "close 9")?;
        fdt.set_limit(4);
        for want in 1..4 {
            kassert_eq!(fdt.dup(a), Ok(want));
        }
        kassert_eq!(fdt.dup(a), Err(EMFILE));
        kassert!(fdt.get(12).is_ok(), "a descriptor above the new limit went away");
        fdt.set_limit(64);
        fdt.close_range(1, 2, true);
        kassert_eq!(fdt.fcntl(1, F_GETFD, 0), Ok(FD_CLOEXEC as i64));
        kassert_eq!(fdt.fcntl(3, F_GETFD, 0), Ok(0));
        fdt.close_range(2, u32::MAX, false);
        kassert_eq!(fdt.open_fds(), [0, 1]);
        fdt.close_range(50, 60, false);
        kassert_eq!(fdt.count(), 2);
        fdt.close_all();
        s.done()
    }
}

ktest! {
    /// O_APPEND writers on every CPU, each through its own open file description: every
    /// record lands whole and contiguous, none is lost, and each writer's records keep their
    /// order.
    fn append_atomic_on_every_cpu() {
        const REC: usize = 300;
        const PER: usize = 40;
        let s = Scratch::new()?;
        e(open(&s.ctx, b"log", O_CREAT | O_WRONLY), "create")?;
        let n = ncpus();
        let writers = 2 * n;
        let latch = Latch::new();
        let cpus = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicUsize::new(0));
        for id in 0..writers {
            let (ctx, l, c, fails) = (s.ctx.clone(), latch.clone(), cpus.clone(), failures.clone());
            spawn_on(id % n, "t-append", move || {
                c.fetch_or(mycpu().cpumask(), Ordering::AcqRel);
                match open(&ctx, b"log", O_WRONLY | O_APPEND) {
                    Ok(f) => {
                        for seq in 0..PER {
                            let mut rec = vec![b'a' + id as u8; REC];
                            rec[0] = id as u8;
                            rec[1] = seq as u8;
                            if f.write(&rec) != Ok(REC) {
                                fails.fetch_add(1, Ordering::Relaxed);
                            }
                            if seq % 8 == 0 {
                                yield_now();
                            }
                        }
                    }
                    Err(_) => {
                        fails.fetch_add(1, Ordering::Relaxed);
                    }
                }
                l.arrive();
            })?;
        }
        latch.wait(writers)?;
        kassert_eq!(failures.load(Ordering::Acquire), 0);
        kassert_eq!(cpus.load(Ordering::Acquire).count_ones() as usize, n);
        let f = e(open(&s.ctx, b"log", O_RDONLY), "reopen")?;
        let size = f.vp.as_ref().map_or(0, |v| v.getattr().size) as usize;
        kassert_eq!(size, writers * PER * REC);
        let mut data = vec![0u8; size];
        kassert_eq!(f.read(&mut data), Ok(size));
        let mut next = vec![0usize; writers];
        for (i, rec) in data.chunks(REC).enumerate() {
            let id = rec[0] as usize;
            kassert!(id < writers, "record {} has writer id {}", i, id);
            kassert!(rec[2..].iter().all(|&b| b == b'a' + id as u8), "record {} torn", i);
            kassert_eq!(rec[1] as usize, next[id]);
            next[id] += 1;
        }
        kassert!(next.iter().all(|&c| c == PER), "records missing: {:?}", next);
        drop(f);
        s.done()
    }
}

fn lk(t: i16, start: i64, len: i64) -> Flock {
    Flock { l_type: t, l_whence: SEEK_SET as i16, l_start: start, l_len: len, l_pid: 0 }
}

fn ranges(f: &File, owner: u64) -> Vec<(u64, u64, lockf::Kind)> {
    f.vp.as_ref()
        .map(|v| v.open.locks.snapshot())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.owner == owner)
        .map(|r| (r.start, r.end, r.kind))
        .collect()
}

ktest! {
    /// Record locks: conflicts between owners, F_GETLK reports, splitting and merging,
    /// negative lengths, access-mode checks, release when the owner closes any descriptor
    /// for the file, F_SETLKW waiting across CPUs, and EDEADLK for a two-owner cycle.
    fn record_locks() {
        use lockf::Kind::{Read, Write};
        let s = Scratch::new()?;
        let (pa, pb) = (FileDesc::new(101), FileDesc::new(102));
        let a = e(pa.open_at(&s.ctx, AT_FDCWD, b"f", O_CREAT | O_RDWR, 0o644), "open a")?;
        let b = e(pb.open_at(&s.ctx, AT_FDCWD, b"f", O_RDWR, 0), "open b")?;
        let fa = e(pa.get(a), "get a")?;
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_WRLCK, 0, 100)), Ok(()));
        kassert_eq!(pb.fcntl_lock(b, F_SETLK, &mut lk(F_RDLCK, 50, 10)), Err(EAGAIN));
        let mut q = lk(F_RDLCK, 50, 10);
        kassert_eq!(pb.fcntl_lock(b, F_GETLK, &mut q), Ok(()));
        kassert_eq!((q.l_type, q.l_start, q.l_len, q.l_pid), (F_WRLCK, 0, 100, 101));
        // The owner's own locks never conflict with it.
        let mut q = lk(F_WRLCK, 0, 0);
        kassert_eq!(pa.fcntl_lock(a, F_GETLK, &mut q), Ok(()));
        kassert_eq!(q.l_type, F_UNLCK);
        kassert_eq!(pb.fcntl_lock(b, F_SETLK, &mut lk(F_RDLCK, 100, 100)), Ok(()));
        // Unlocking the middle splits.
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_UNLCK, 40, 20)), Ok(()));
        kassert_eq!(ranges(&fa, 101), vec![(0, 40, Write), (60, 100, Write)]);
        kassert_eq!(pb.fcntl_lock(b, F_SETLK, &mut lk(F_RDLCK, 45, 10)), Ok(()));
        // Adjacent locks of one type merge.
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_WRLCK, 40, 5)), Ok(()));
        kassert_eq!(ranges(&fa, 101), vec![(0, 45, Write), (60, 100, Write)]);
        // A read lock over everything replaces the write locks (no other owner holds a write).
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_RDLCK, 0, 100)), Ok(()));
        kassert_eq!(ranges(&fa, 101), vec![(0, 100, Read)]);
        // A write lock in the middle of a read lock splits it into three.
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_WRLCK, 20, 10)), Ok(()));
        kassert_eq!(ranges(&fa, 101), vec![(0, 20, Read), (20, 30, Write), (30, 100, Read)]);
        // Negative length: the bytes before l_start. Whence SEEK_END.
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_UNLCK, 0, 0)), Ok(()));
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_WRLCK, 10, -5)), Ok(()));
        kassert_eq!(ranges(&fa, 101), vec![(5, 10, Write)]);
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_WRLCK, 3, -5)), Err(EINVAL));
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(7, 0, 1)), Err(EINVAL));
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut Flock { l_whence: 9, ..lk(F_WRLCK, 0, 1) }), Err(EINVAL));
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_WRLCK, i64::MAX, 2)), Err(EOVERFLOW));
        // Lock types need the matching access mode.
        let ro = e(pa.open_at(&s.ctx, AT_FDCWD, b"f", O_RDONLY, 0), "open ro")?;
        kassert_eq!(pa.fcntl_lock(ro, F_SETLK, &mut lk(F_WRLCK, 0, 1)), Err(EBADF));
        // Closing any descriptor for the file drops all the owner's locks on it.
        e(pa.close(ro), "close ro")?;
        kassert_eq!(ranges(&fa, 101), vec![]);
        kassert!(!ranges(&fa, 102).is_empty(), "the other owner's locks went too");
        e(pb.fcntl_lock(b, F_SETLK, &mut lk(F_UNLCK, 0, 0)), "unlock b")?;

        // F_SETLKW waits (on another CPU) until the conflicting lock goes.
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_WRLCK, 0, 10)), Ok(()));
        let latch = Latch::new();
        let got = Arc::new(AtomicUsize::new(0));
        {
            let (pb2, l, g) = (pb.clone(), latch.clone(), got.clone());
            spawn_on(ncpus() - 1, "t-setlkw", move || {
                let r = pb2.fcntl_lock(b, F_SETLKW, &mut lk(F_WRLCK, 5, 10));
                g.store(if r.is_ok() { 1 } else { 2 }, Ordering::Release);
                l.arrive();
            })?;
        }
        until("the waiter to block", || lockf::is_waiting(102))?;
        kassert_eq!(got.load(Ordering::Acquire), 0);
        e(pa.fcntl_lock(a, F_SETLK, &mut lk(F_UNLCK, 0, 0)), "unlock a")?;
        latch.wait(1)?;
        kassert_eq!(got.load(Ordering::Acquire), 1);
        kassert_eq!(ranges(&fa, 102), vec![(5, 15, Write)]);
        // Now B holds [5,15); B's thread waits for A's [20,30), then A asks for B's range.
        kassert_eq!(pa.fcntl_lock(a, F_SETLK, &mut lk(F_WRLCK, 20, 10)), Ok(()));
        {
            let (pb2, l, g) = (pb.clone(), latch.clone(), got.clone());
            spawn_on(0, "t-deadlk", move || {
                let r = pb2.fcntl_lock(b, F_SETLKW, &mut lk(F_WRLCK, 20, 10));
                g.store(if r.is_ok() { 3 } else { 4 }, Ordering::Release);
                l.arrive();
            })?;
        }
        until("the second waiter to block", || lockf::is_waiting(102))?;
        kassert_eq!(pa.fcntl_lock(a, F_SETLKW, &mut lk(F_WRLCK, 5, 1)), Err(EDEADLK));
        // Closing A's descriptor releases A's lock and lets B through.
        e(pa.close(a), "close a")?;
        latch.wait(2)?;
        kassert_eq!(got.load(Ordering::Acquire), 3);
        pb.close_all();
        drop(fa);
        s.done()
    }
}

ktest! {
    /// OFD locks: owned by the open file description, so two descriptions in one table
    /// conflict, a dup shares the lock and closing it (or another description) keeps it, and
    /// the last close drops it; reports give l_pid -1; l_pid must be 0; the process's own
    /// classic locks conflict with them.
    fn ofd_record_locks() {
        let s = Scratch::new()?;
        let p = FileDesc::new(103);
        let a = e(p.open_at(&s.ctx, AT_FDCWD, b"o", O_CREAT | O_RDWR, 0o644), "open a")?;
        let b = e(p.open_at(&s.ctx, AT_FDCWD, b"o", O_RDWR, 0), "open b")?;
        let fb = e(p.get(b), "get b")?;
        kassert_eq!(p.fcntl_lock(a, F_OFD_SETLK, &mut lk(F_WRLCK, 0, 10)), Ok(()));
        kassert_eq!(p.fcntl_lock(b, F_OFD_SETLK, &mut lk(F_RDLCK, 5, 1)), Err(EAGAIN));
        kassert_eq!(p.fcntl_lock(b, F_OFD_SETLK, &mut Flock { l_pid: 1, ..lk(F_RDLCK, 50, 1) }), Err(EINVAL));
        let mut q = lk(F_WRLCK, 0, 0);
        kassert_eq!(p.fcntl_lock(b, F_OFD_GETLK, &mut q), Ok(()));
        kassert_eq!((q.l_type, q.l_start, q.l_len, q.l_pid), (F_WRLCK, 0, 10, -1));
        let mut q = lk(F_RDLCK, 3, 1);
        kassert_eq!(p.fcntl_lock(b, F_GETLK, &mut q), Ok(()));
        kassert_eq!(q.l_pid, -1);
        kassert_eq!(p.fcntl_lock(b, F_SETLK, &mut lk(F_RDLCK, 3, 1)), Err(EAGAIN));
        let a2 = e(p.dup(a), "dup")?;
        kassert_eq!(p.fcntl_lock(a2, F_OFD_SETLK, &mut lk(F_WRLCK, 0, 10)), Ok(()));
        e(p.close(a2), "close dup")?;
        kassert_eq!(p.fcntl_lock(b, F_OFD_SETLK, &mut lk(F_WRLCK, 5, 1)), Err(EAGAIN));
        e(p.close(a), "close a")?;
        kassert_eq!(p.fcntl_lock(b, F_OFD_SETLK, &mut lk(F_WRLCK, 5, 1)), Ok(()));
        kassert_eq!(ranges(&fb, fb.ofd_owner()), vec![(5, 6, lockf::Kind::Write)]);
        p.close_all();
        kassert_eq!(ranges(&fb, fb.ofd_owner()), vec![(5, 6, lockf::Kind::Write)]);
        drop(fb);
        s.done()
    }
}

ktest! {
    /// Device nodes open their driver by device number, whichever filesystem holds them:
    /// /dev (devfs) and a node made in a tmpfs reach the same null/zero/full drivers; a number
    /// without a driver is ENXIO.
    fn device_nodes_open_their_driver() {
        let s = Scratch::new()?;
        let c = &s.ctx;
        let root = crate::vfs::rootfs::kernel_ctx().ok_or("no root")?;
        let null = e(open_at(&root, None, b"/dev/null", O_RDWR, 0), "open /dev/null")?;
        kassert_eq!(e(null.write(b"gone"), "write null")?, 4);
        let mut b = [1u8; 8];
        kassert_eq!(e(null.read(&mut b), "read null")?, 0);
        e(create_at(c, None, b"zero", VType::Chr, 0o666, crate::vfs::rootfs::makedev(1, 5)), "mknod zero")?;
        e(create_at(c, None, b"full", VType::Chr, 0o666, crate::vfs::rootfs::makedev(1, 7)), "mknod full")?;
        e(create_at(c, None, b"nodrv", VType::Chr, 0o666, crate::vfs::rootfs::makedev(250, 1)), "mknod nodrv")?;
        let zero = e(open_at(c, None, b"zero", O_RDONLY, 0), "open zero")?;
        kassert_eq!(e(zero.read(&mut b), "read zero")?, 8);
        kassert_eq!(b, [0u8; 8]);
        let full = e(open_at(c, None, b"full", O_WRONLY, 0), "open full")?;
        kassert_eq!(full.write(b"x").err(), Some(ENOSPC));
        kassert_eq!(open_at(c, None, b"nodrv", O_RDONLY, 0).err(), Some(ENXIO));
        drop((null, zero, full));
        s.done()
    }
}
