//! Pipes (DragonFly's sys_pipe.c, with Linux's semantics): a one-way ring buffer of
//! [`PIPE_SIZE`] bytes (F_SETPIPE_SZ resizes it) between readers and writers. A write of at most [`PIPE_BUF`] bytes
//! waits until the whole record fits and then copies it in one step under the pipe's lock, so
//! it is never interleaved with another writer's bytes; larger writes may be split. Blocking
//! uses the interlock idiom (check under the lock, `tsleep_interlock`, drop the lock,
//! `tsleep`), so a wakeup between the check and the sleep is never lost. Reads return what is
//! there (at least one byte), 0 at end of file once every writer is gone; writes with no
//! reader left fail with EPIPE and record that SIGPIPE is due. FIFOs share this object: the
//! vnode keeps one pipe while any opener has it open (see [`Pipe::fifo_open`]).
use crate::event::KnList;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::sync::lockmgr::LockMgr;
use crate::sync::spinlock::SpinLock;
use abi::errno::{EAGAIN, EBUSY, EINTR, EINVAL, ENFILE, ENOMEM, ENXIO, EPERM, EPIPE};
use abi::fcntl::PIPE_BUF;
use abi::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

/// Bytes a pipe holds (Linux's default of 16 pages).
pub const PIPE_SIZE: usize = 65536;
/// The most bytes a read copies out of the ring in one piece (a buffer of this size is
/// allocated per read, never under the pipe's lock).
const READ_PIECE: usize = 16 * 1024;
/// The most F_SETPIPE_SZ grants (Linux's default /proc/sys/fs/pipe-max-size).
pub const PIPE_MAX_SIZE: usize = 1 << 20;

/// Writes that failed with EPIPE: each owes its writer a SIGPIPE, which the process layer
/// delivers (Linux sends it from pipe_write; here the syscall layer sends it when a pipe or
/// FIFO write returns EPIPE). Counted so tests can see the obligation was recorded.
pub static SIGPIPE_DUE: AtomicU64 = AtomicU64::new(0);

/// Times a writer slept for room and a reader for data (tests prove the blocking paths ran).
pub static WRITER_SLEEPS: AtomicU64 = AtomicU64::new(0);
/// See [`WRITER_SLEEPS`].
pub static READER_SLEEPS: AtomicU64 = AtomicU64::new(0);

struct State {
    buf: Vec<u8>,
    /// Index of the first unread byte.
    rpos: usize,
    /// Unread bytes.
    len: usize,
    readers: u32,
    writers: u32,
    /// Opens for reading and for writing ever made (FIFO rendezvous: an opener waiting for a
    /// partner also wakes for one that came and went).
    r_opens: u64,
    w_opens: u64,
    /// Someone sleeps for data / for room.
    want_r: bool,
    want_w: bool,
}

/// A pipe: the buffer, its counts of open ends, and its knotes.
pub struct Pipe {
    st: SpinLock<State>,
    /// Held by a reader from taking bytes to consuming them (see [`Pipe::read_with`]).
    reader: LockMgr<()>,
    knotes: KnList,
}

impl Pipe {
    /// A pipe with no ends open yet; ENFILE when its buffer cannot be allocated.
    pub fn new() -> Result<Arc<Pipe>, i32> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(PIPE_SIZE).map_err(|_| ENFILE)?;
        buf.resize(PIPE_SIZE, 0);
        Ok(Arc::new(Pipe {
            st: SpinLock::new(State {
                buf,
                rpos: 0,
                len: 0,
                readers: 0,
                writers: 0,
                r_opens: 0,
                w_opens: 0,
                want_r: false,
                want_w: false,
            }),
            reader: LockMgr::new("piperd", ()),
            knotes: KnList::new(),
        }))
    }

    fn rident(&self) -> usize {
        ident_of(self)
    }

    fn wident(&self) -> usize {
        ident_of(self) + 1
    }

    fn open_ident(&self) -> usize {
        ident_of(self) + 2
    }

    /// The pipe's knotes (poll, select, later epoll).
    pub fn knotes(&self) -> &KnList {
        &self.knotes
    }

    /// Counts a new open end (pipe(2) makes one of each). Returns the write-open count seen,
    /// for the hang-up rule of [`Pipe::poll`].
    pub fn open_end(&self, read: bool, write: bool) -> u64 {
        let mut s = self.st.lock();
        if read {
            s.readers += 1;
            s.r_opens += 1;
        }
        if write {
            s.writers += 1;
            s.w_opens += 1;
        }
        let seen = s.w_opens;
        drop(s);
        wakeup(self.open_ident());
        seen
    }

    /// Opens a FIFO end (fifo_open): counts it, then, for a blocking open for reading only or
    /// writing only, waits until the other side has been opened (EINTR, uncounted again, when
    /// a signal ends the wait). O_WRONLY|O_NONBLOCK with no
    /// reader is ENXIO; O_RDONLY|O_NONBLOCK and O_RDWR never wait. Returns the write-open
    /// count the reader saw at open (a FIFO reports no hang-up before its first writer).
    pub fn fifo_open(&self, read: bool, write: bool, nonblock: bool) -> Result<u64, i32> {
        // The partner count and the open counter are read in the same locked section as our
        // own count changes: a partner that comes and goes before we sleep still changes the
        // counter we wait on (Linux's wait_for_partner under the pipe mutex).
        let (seen, wait_from) = {
            let mut s = self.st.lock();
            if write && !read && nonblock && s.readers == 0 {
                return Err(ENXIO);
            }
            if read {
                s.readers += 1;
                s.r_opens += 1;
            }
            if write {
                s.writers += 1;
                s.w_opens += 1;
            }
            // A nonblocking reader that found no writer reports no hang-up until one has
            // come (and gone), as Linux suppresses EPOLLHUP through f_version.
            let seen = if read && !write && nonblock && s.writers == 0 { s.w_opens } else { 0 };
            let wait_from = match (read, write) {
                _ if nonblock => None,
                (true, false) if s.writers == 0 => Some(s.w_opens),
                (false, true) if s.readers == 0 => Some(s.r_opens),
                _ => None,
            };
            (seen, wait_from)
        };
        wakeup(self.open_ident());
        self.knotes.post(POLLIN | POLLOUT);
        let Some(start) = wait_from else {
            return Ok(seen);
        };
        loop {
            let s = self.st.lock();
            // Opened since we did (even if already closed again): the rendezvous happened.
            let ok = if read { s.w_opens != start } else { s.r_opens != start };
            if ok {
                return Ok(seen);
            }
            tsleep_interlock(self.open_ident());
            drop(s);
            if tsleep(self.open_ident(), PINTERLOCKED | PCATCH, "fifoor", 0) == Err(EINTR) {
                // The open failed: this end was never opened.
                self.close_end(read, write);
                return Err(EINTR);
            }
        }
    }

    /// Closes an end: the last writer's close is the readers' end of file, the last
    /// reader's close makes writers fail with EPIPE.
    pub fn close_end(&self, read: bool, write: bool) {
        let mut s = self.st.lock();
        if read {
            s.readers = s.readers.saturating_sub(1);
        }
        if write {
            s.writers = s.writers.saturating_sub(1);
        }
        let (hup_r, hup_w) = (write && s.writers == 0, read && s.readers == 0);
        drop(s);
        if hup_r {
            wakeup(self.rident());
        }
        if hup_w {
            wakeup(self.wident());
        }
        if hup_r || hup_w {
            self.knotes.post(POLLHUP | POLLERR | POLLIN | POLLOUT);
        }
    }

    /// Reads what is buffered (at most `buf.len()`); 0 at end of file. Blocks while the pipe
    /// is empty and a writer remains, unless `nonblock` (EAGAIN).
    pub fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, i32> {
        self.read_with(buf.len(), nonblock, |at, data| {
            buf[at..at + data.len()].copy_from_slice(data);
            Ok(())
        })
    }

    /// Like [`Pipe::read`], handing the (at most `max`) bytes to `deliver` in pieces of at
    /// most [`READ_PIECE`] bytes, each with its offset in the read. `deliver` may fail (a
    /// copyout to a bad user buffer): that piece stays queued, and the call returns the
    /// bytes delivered before it, or the error when there were none, as Linux's pipe_read.
    /// Readers take turns (`reader`, Linux's pipe mutex) so the bytes delivered are the
    /// ones consumed. No allocation happens under the pipe's spinlock.
    pub fn read_with(
        &self,
        max: usize,
        nonblock: bool,
        mut deliver: impl FnMut(usize, &[u8]) -> Result<(), i32>,
    ) -> Result<usize, i32> {
        if max == 0 {
            return Ok(0);
        }
        let mut piece = Vec::new();
        piece.try_reserve_exact(max.min(READ_PIECE)).map_err(|_| ENOMEM)?;
        loop {
            let turn = self.reader.exclusive();
            let s = self.st.lock();
            if s.len > 0 {
                let total = max.min(s.len);
                drop(s);
                let mut done = 0;
                while done < total {
                    let n = (total - done).min(READ_PIECE);
                    piece.clear();
                    {
                        // Writers only append and set_size keeps the order: the first bytes
                        // stay these until this reader consumes them.
                        let s = self.st.lock();
                        let (cap, rpos) = (s.buf.len(), s.rpos);
                        let first = n.min(cap - rpos);
                        piece.extend_from_slice(&s.buf[rpos..rpos + first]);
                        piece.extend_from_slice(&s.buf[..n - first]);
                    }
                    if let Err(e) = deliver(done, &piece) {
                        if done == 0 {
                            return Err(e);
                        }
                        break;
                    }
                    let mut s = self.st.lock();
                    let cap = s.buf.len();
                    s.rpos = (s.rpos + n) % cap;
                    s.len -= n;
                    if s.len == 0 {
                        // Start over at the front: keeps records from wrapping needlessly.
                        s.rpos = 0;
                    }
                    done += n;
                }
                let wake = core::mem::replace(&mut self.st.lock().want_w, false);
                drop(turn);
                if wake {
                    wakeup(self.wident());
                }
                self.knotes.post(POLLOUT | POLLWRNORM);
                return Ok(done);
            }
            if s.writers == 0 {
                return Ok(0);
            }
            if nonblock {
                return Err(EAGAIN);
            }
            let mut s = s;
            s.want_r = true;
            tsleep_interlock(self.rident());
            drop(s);
            // Releasing the turn only wakes other readers; it never sleeps.
            drop(turn);
            READER_SLEEPS.fetch_add(1, Ordering::Relaxed);
            if tsleep(self.rident(), PINTERLOCKED | PCATCH, "piperd", 0) == Err(EINTR) {
                return Err(EINTR);
            }
        }
    }

    /// Writes `buf`: all of it, in one piece when it is at most PIPE_BUF bytes. Blocks for
    /// room unless `nonblock`: then a small write that does not fit whole is EAGAIN, a large
    /// one writes what fits (EAGAIN if nothing does). EPIPE (SIGPIPE due) when no reader is
    /// left and nothing was written.
    pub fn write(&self, buf: &[u8], nonblock: bool) -> Result<usize, i32> {
        if buf.is_empty() {
            return Ok(0);
        }
        let atomic = buf.len() <= PIPE_BUF;
        let mut done = 0;
        loop {
            let mut s = self.st.lock();
            if s.readers == 0 {
                drop(s);
                if done > 0 {
                    return Ok(done);
                }
                SIGPIPE_DUE.fetch_add(1, Ordering::Relaxed);
                return Err(EPIPE);
            }
            let cap = s.buf.len();
            let room = cap - s.len;
            let need = if atomic { buf.len() } else { 1 };
            if room >= need {
                let n = room.min(buf.len() - done);
                let wpos = (s.rpos + s.len) % cap;
                let first = n.min(cap - wpos);
                s.buf[wpos..wpos + first].copy_from_slice(&buf[done..done + first]);
                s.buf[..n - first].copy_from_slice(&buf[done + first..done + n]);
                s.len += n;
                done += n;
                let wake = core::mem::replace(&mut s.want_r, false);
                drop(s);
                if wake {
                    wakeup(self.rident());
                }
                self.knotes.post(POLLIN | POLLRDNORM);
                if done == buf.len() {
                    return Ok(done);
                }
                continue;
            }
            if nonblock {
                return if done > 0 { Ok(done) } else { Err(EAGAIN) };
            }
            s.want_w = true;
            tsleep_interlock(self.wident());
            drop(s);
            WRITER_SLEEPS.fetch_add(1, Ordering::Relaxed);
            if tsleep(self.wident(), PINTERLOCKED | PCATCH, "pipewr", 0) == Err(EINTR) {
                return if done > 0 { Ok(done) } else { Err(EINTR) };
            }
        }
    }

    /// Unread bytes (FIONREAD).
    pub fn queued(&self) -> usize {
        self.st.lock().len
    }

    /// The buffer's size (F_GETPIPE_SZ).
    pub fn size(&self) -> usize {
        self.st.lock().buf.len()
    }

    /// F_SETPIPE_SZ: resizes the buffer to `want` rounded up to a power-of-two number of
    /// pages (one page at least) and returns the new size. EINVAL when the rounding
    /// overflows, EPERM above [`PIPE_MAX_SIZE`], EBUSY when the data held would not fit,
    /// ENOMEM when the buffer cannot be allocated.
    pub fn set_size(&self, want: u64) -> Result<usize, i32> {
        const PAGE: u64 = 4096;
        if want > 1 << 31 {
            return Err(EINVAL);
        }
        let size =
            want.max(PAGE).checked_next_power_of_two().filter(|&n| n <= u32::MAX as u64).ok_or(EINVAL)?;
        let size = usize::try_from(size).map_err(|_| EINVAL)?;
        if size > PIPE_MAX_SIZE {
            return Err(EPERM);
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(size).map_err(|_| ENOMEM)?;
        buf.resize(size, 0);
        let mut s = self.st.lock();
        if s.len > size {
            return Err(EBUSY);
        }
        // Copy the data out in order, starting the new ring at 0.
        let (cap, rpos, len) = (s.buf.len(), s.rpos, s.len);
        let first = len.min(cap - rpos);
        buf[..first].copy_from_slice(&s.buf[rpos..rpos + first]);
        buf[first..len].copy_from_slice(&s.buf[..len - first]);
        let old = core::mem::replace(&mut s.buf, buf);
        s.rpos = 0;
        let wake = core::mem::replace(&mut s.want_w, false);
        drop(s);
        drop(old);
        // A larger buffer may have room for a waiting writer.
        if wake {
            wakeup(self.wident());
        }
        self.knotes.post(POLLOUT | POLLWRNORM);
        Ok(size)
    }

    /// Readiness of an end (pipe_poll): a read end is readable with data, hung up when no
    /// writer is left (and one has been, since `seen_w_opens`); a write end is writable when
    /// a PIPE_BUF record fits, in error when no reader is left.
    pub fn poll(&self, read: bool, write: bool, seen_w_opens: u64) -> u16 {
        let s = self.st.lock();
        let mut ev = 0;
        if read {
            if s.len > 0 {
                ev |= POLLIN | POLLRDNORM;
            }
            if s.writers == 0 && s.w_opens != seen_w_opens {
                ev |= POLLHUP;
            }
        }
        if write {
            if s.buf.len() - s.len >= PIPE_BUF {
                ev |= POLLOUT | POLLWRNORM;
            }
            if s.readers == 0 {
                ev |= POLLERR;
            }
        }
        ev
    }
}
