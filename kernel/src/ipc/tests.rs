//! Pipe, FIFO and poll tests: PIPE_BUF atomicity with writers on every CPU, blocking and
//! nonblocking reads and writes, end of file, EPIPE, FIFO rendezvous, and poll/select on
//! pipes (readiness, hang-up, timeouts, wakeups across CPUs).
use super::pipe::{PIPE_SIZE, READER_SLEEPS, SIGPIPE_DUE, WRITER_SLEEPS};
use crate::event::poll::{poll, select, POLL_WAKEUPS};
use crate::lwkt::globaldata::{mycpu, ncpus};
use crate::lwkt::sleep::tsleep;
use crate::vfs::file::{pipe_pair, File};
use crate::vfs::file_tests::{spawn_on, Latch};
use crate::vfs::filedesc::FileDesc;
use crate::vfs::open::open_at;
use crate::vfs::ops::create_at;
use crate::vfs::tests::{e, Scratch};
use crate::vfs::vnode::VType;
use crate::{kassert, kassert_eq, ktest};
use abi::errno::*;
use abi::fcntl::*;
use abi::poll::*;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Sleeps about `ticks` clock ticks.
fn nap(ticks: u64) {
    let _ = tsleep(crate::lwkt::sleep::ident_of(&ticks), 0, "nap", ticks);
}

ktest! {
    /// Writers on every CPU write PIPE_BUF-sized records tagged with their id and sequence;
    /// the reader finds every record whole (never torn by another writer), each writer's in
    /// order, and the count exact. Writers and the reader both had to sleep.
    fn pipe_atomicity_every_cpu() {
        const PER: usize = 48;
        let n = ncpus();
        let writers = 2 * n;
        let (r, w) = e(pipe_pair(0), "pipe")?;
        let (ws0, rs0) = (WRITER_SLEEPS.load(Ordering::Relaxed), READER_SLEEPS.load(Ordering::Relaxed));
        let latch = Latch::new();
        let cpus = Arc::new(AtomicU64::new(0));
        let fails = Arc::new(AtomicUsize::new(0));
        for id in 0..writers {
            let (w, l, c, f) = (w.clone(), latch.clone(), cpus.clone(), fails.clone());
            spawn_on(id % n, "t-pipew", move || {
                c.fetch_or(mycpu().cpumask(), Ordering::AcqRel);
                for seq in 0..PER {
                    let mut rec = vec![(id * 7 + seq) as u8; PIPE_BUF];
                    rec[0] = id as u8;
                    rec[1] = seq as u8;
                    if w.write(&rec) != Ok(PIPE_BUF) {
                        f.fetch_add(1, Ordering::Relaxed);
                    }
                }
                l.arrive();
            })?;
        }
        drop(w);
        // Let the writers fill the pipe first, so they must sleep for room.
        nap(5);
        let mut stream: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 3000];
        loop {
            let got = e(r.read(&mut buf), "read")?;
            if got == 0 {
                break;
            }
            stream.extend_from_slice(&buf[..got]);
        }
        latch.wait(writers)?;
        kassert_eq!(fails.load(Ordering::Acquire), 0);
        kassert_eq!(stream.len(), writers * PER * PIPE_BUF);
        let mut next = vec![0usize; writers];
        for (i, rec) in stream.chunks(PIPE_BUF).enumerate() {
            let (id, seq) = (rec[0] as usize, rec[1] as usize);
            kassert!(id < writers, "record {} names writer {}", i, id);
            kassert_eq!(seq, next[id]);
            let fill = (id * 7 + seq) as u8;
            kassert!(rec[2..].iter().all(|&b| b == fill), "record {} (writer {}, seq {}) torn", i, id, seq);
            next[id] += 1;
        }
        kassert!(next.iter().all(|&c| c == PER), "records missing: {:?}", next);
        kassert_eq!(cpus.load(Ordering::Acquire).count_ones() as usize, n);
        kassert!(WRITER_SLEEPS.load(Ordering::Relaxed) > ws0, "no writer ever waited for room");
        kassert!(READER_SLEEPS.load(Ordering::Relaxed) > rs0 || n == 1, "the reader never waited for data");
        crate::kprintln!(
            "# pipe atomicity: {} records of {} bytes from {} writers on {} CPUs; {} writer and {} reader sleeps",
            writers * PER,
            PIPE_BUF,
            writers,
            n,
            WRITER_SLEEPS.load(Ordering::Relaxed) - ws0,
            READER_SLEEPS.load(Ordering::Relaxed) - rs0
        );
        Ok(())
    }
}

ktest! {
    /// O_NONBLOCK: EAGAIN on an empty pipe and on a full one; a small write that does not
    /// fit whole is refused, a large one is split. Blocking: a reader sleeps until a writer
    /// on another CPU writes; a writer sleeps until a reader makes room.
    fn pipe_blocking_and_nonblocking() {
        let (r, w) = e(pipe_pair(O_NONBLOCK), "pipe")?;
        let mut buf = vec![0u8; PIPE_SIZE];
        kassert_eq!(r.read(&mut buf), Err(EAGAIN));
        let mut total = 0;
        loop {
            match w.write(&[1u8; 1000]) {
                Ok(n) => total += n,
                Err(err) => {
                    kassert_eq!(err, EAGAIN);
                    break;
                }
            }
        }
        // 65 whole records of 1000 fit; the 66th (only 536 bytes of room) is refused whole.
        kassert_eq!(total, 65_000);
        kassert_eq!(w.write(&[2u8; 8192]), Ok(PIPE_SIZE - 65_000));
        kassert_eq!(w.write(&[3u8; 8192]), Err(EAGAIN));
        kassert_eq!(r.read(&mut buf[..10]), Ok(10));
        kassert_eq!(r.read(&mut buf), Ok(PIPE_SIZE - 10));
        kassert_eq!(buf[PIPE_SIZE - 11], 2);
        kassert_eq!(r.read(&mut buf), Err(EAGAIN));
        kassert_eq!(w.write(&[]), Ok(0));
        kassert_eq!(w.ioctl(0x5401, 0), Err(ENOTTY));
        kassert_eq!(r.read(&mut []), Ok(0));

        // Blocking read woken by a writer on another CPU.
        let (r, w) = e(pipe_pair(0), "pipe")?;
        let latch = Latch::new();
        {
            let (w, l) = (w.clone(), latch.clone());
            spawn_on(ncpus() - 1, "t-late-writer", move || {
                nap(3);
                let _ = w.write(b"late");
                l.arrive();
            })?;
        }
        let mut small = [0u8; 16];
        kassert_eq!(r.read(&mut small), Ok(4));
        kassert_eq!(&small[..4], b"late");
        latch.wait(1)?;
        // Blocking write of more than fits: the writer sleeps until the reader drains.
        let done = Arc::new(AtomicUsize::new(0));
        {
            let (w, l, d) = (w.clone(), latch.clone(), done.clone());
            spawn_on(ncpus() - 1, "t-big-writer", move || {
                let big = vec![9u8; 3 * PIPE_SIZE];
                if w.write(&big) == Ok(3 * PIPE_SIZE) {
                    d.store(1, Ordering::Release);
                }
                l.arrive();
            })?;
        }
        let mut got = 0;
        while got < 3 * PIPE_SIZE {
            let n = e(r.read(&mut buf), "read")?;
            kassert!(buf[..n].iter().all(|&b| b == 9), "wrong bytes");
            got += n;
        }
        latch.wait(2)?;
        kassert_eq!(done.load(Ordering::Acquire), 1);
        Ok(())
    }
}

ktest! {
    /// End of file after the last writer closes (buffered data first); EPIPE, with SIGPIPE
    /// recorded as due, after the last reader closes; a writer blocked for room gets EPIPE
    /// when the readers go.
    fn pipe_eof_and_epipe() {
        let (r, w) = e(pipe_pair(0), "pipe")?;
        kassert_eq!(w.write(b"tail"), Ok(4));
        drop(w);
        let mut buf = [0u8; 8];
        kassert_eq!(r.read(&mut buf), Ok(4));
        kassert_eq!(r.read(&mut buf), Ok(0));
        kassert_eq!(r.read(&mut buf), Ok(0));
        let (r, w) = e(pipe_pair(0), "pipe")?;
        drop(r);
        let before = SIGPIPE_DUE.load(Ordering::Relaxed);
        kassert_eq!(w.write(b"x"), Err(EPIPE));
        kassert_eq!(SIGPIPE_DUE.load(Ordering::Relaxed), before + 1);
        // A blocked writer learns of the readers' departure.
        let (r, w) = e(pipe_pair(0), "pipe")?;
        kassert_eq!(w.write(&vec![0u8; PIPE_SIZE]), Ok(PIPE_SIZE));
        let latch = Latch::new();
        let res = Arc::new(AtomicUsize::new(0));
        {
            let (w, l, res) = (w.clone(), latch.clone(), res.clone());
            spawn_on(ncpus() - 1, "t-epipe", move || {
                res.store(match w.write(b"blocked") { Err(EPIPE) => 1, _ => 2 }, Ordering::Release);
                l.arrive();
            })?;
        }
        nap(3);
        kassert_eq!(res.load(Ordering::Acquire), 0);
        drop(r);
        latch.wait(1)?;
        kassert_eq!(res.load(Ordering::Acquire), 1);
        Ok(())
    }
}

ktest! {
    /// FIFOs: a blocking open for writing waits for a reader (on another CPU) and vice
    /// versa; data flows; end of file when the writer closes; a nonblocking reader opens
    /// alone and reports no hang-up before a writer came; contents go when all close.
    fn fifo_rendezvous() {
        let s = Scratch::new()?;
        e(create_at(&s.ctx, None, b"fifo", VType::Fifo, 0o666, 0), "mkfifo")?;
        let latch = Latch::new();
        let opened = Arc::new(AtomicUsize::new(0));
        {
            let (ctx, l, o) = (s.ctx.clone(), latch.clone(), opened.clone());
            spawn_on(ncpus() - 1, "t-fifo-w", move || {
                if let Ok(w) = open_at(&ctx, None, b"fifo", O_WRONLY, 0) {
                    o.store(1, Ordering::Release);
                    let _ = w.write(b"through the fifo");
                }
                // The context pins the scratch mount; let it go before the test may unmount.
                drop(ctx);
                l.arrive();
            })?;
        }
        nap(3);
        kassert_eq!(opened.load(Ordering::Acquire), 0);
        let r = e(open_at(&s.ctx, None, b"fifo", O_RDONLY, 0), "open reader")?;
        let mut buf = [0u8; 32];
        let mut got = Vec::new();
        loop {
            let n = e(r.read(&mut buf), "read")?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        kassert_eq!(&got[..], b"through the fifo");
        latch.wait(1)?;
        drop(r);
        // Blocking reader waits for a writer.
        {
            let (ctx, l) = (s.ctx.clone(), latch.clone());
            spawn_on(ncpus() - 1, "t-fifo-r", move || {
                if let Ok(r) = open_at(&ctx, None, b"fifo", O_RDONLY, 0) {
                    let mut b = [0u8; 4];
                    let _ = r.read(&mut b);
                }
                drop(ctx);
                l.arrive();
            })?;
        }
        let w = e(open_at(&s.ctx, None, b"fifo", O_WRONLY, 0), "open writer")?;
        kassert_eq!(w.write(b"ping"), Ok(4));
        latch.wait(2)?;
        drop(w);
        // Nonblocking reader alone: no POLLHUP yet; a writer may now open without blocking.
        let fdt = FileDesc::new(1);
        let rfd = e(fdt.open_at(&s.ctx, AT_FDCWD, b"fifo", O_RDONLY | O_NONBLOCK, 0), "nonblocking reader")?;
        let mut p = [PollFd { fd: rfd, events: POLLIN, revents: 0 }];
        kassert_eq!(poll(&fdt, &mut p, 0), Ok(0));
        let wfd = e(fdt.open_at(&s.ctx, AT_FDCWD, b"fifo", O_WRONLY | O_NONBLOCK, 0), "nonblocking writer")?;
        kassert_eq!(e(fdt.get(wfd), "get")?.write(b"left"), Ok(4));
        e(fdt.close(wfd), "close writer")?;
        kassert_eq!(poll(&fdt, &mut p, 0), Ok(1));
        kassert_eq!(p[0].revents, POLLIN | POLLHUP);
        // Everyone closes: the data goes with the pipe.
        e(fdt.close(rfd), "close reader")?;
        let rw = e(open_at(&s.ctx, None, b"fifo", O_RDWR | O_NONBLOCK, 0), "open rdwr")?;
        kassert_eq!(rw.read(&mut buf), Err(EAGAIN));
        drop(rw);
        s.done()
    }
}

fn pfd(fd: i32, events: u16) -> PollFd {
    PollFd { fd, events, revents: 0 }
}

ktest! {
    /// poll on pipes: readable after a write, writable while room remains, POLLHUP after the
    /// writers close, POLLERR after the readers close, POLLNVAL for a closed descriptor, a
    /// timeout honoured, and a sleeping poller woken by a write on another CPU. select on
    /// the same.
    fn poll_on_pipes() {
        let fdt = FileDesc::new(1);
        let [r, w] = e(fdt.pipe2(0), "pipe")?;
        let wf: Arc<File> = e(fdt.get(w), "get w")?;
        let mut p = [pfd(r, POLLIN), pfd(w, POLLOUT), pfd(-1, POLLIN), pfd(77, POLLIN)];
        kassert_eq!(poll(&fdt, &mut p, 0), Ok(2));
        kassert_eq!(p.map(|x| x.revents), [0, POLLOUT, 0, POLLNVAL]);
        kassert_eq!(wf.write(b"data"), Ok(4));
        kassert_eq!(poll(&fdt, &mut p[..2], 0), Ok(2));
        kassert_eq!((p[0].revents, p[1].revents), (POLLIN, POLLOUT));
        // The timeout: nothing to read for 50 ms.
        let mut buf = [0u8; 8];
        kassert_eq!(e(fdt.get(r), "get r")?.read(&mut buf), Ok(4));
        let t0 = crate::time::nanotime();
        kassert_eq!(poll(&fdt, &mut p[..1], 50), Ok(0));
        let waited = crate::time::nanotime() - t0;
        kassert!((50_000_000..10_000_000_000).contains(&waited), "poll waited {} ns for 50 ms", waited);
        // Woken across CPUs.
        let wakeups = POLL_WAKEUPS.load(Ordering::Relaxed);
        let latch = Latch::new();
        {
            let (wf, l) = (wf.clone(), latch.clone());
            spawn_on(ncpus() - 1, "t-poll-w", move || {
                nap(5);
                let _ = wf.write(b"!");
                l.arrive();
            })?;
        }
        let mut p1 = [pfd(r, POLLIN)];
        kassert_eq!(poll(&fdt, &mut p1, 20_000), Ok(1));
        kassert_eq!(p1[0].revents, POLLIN);
        kassert!(POLL_WAKEUPS.load(Ordering::Relaxed) > wakeups, "poll was not woken by the post");
        latch.wait(1)?;
        // select: the read end is readable, the write end writable; a closed fd is EBADF.
        let (mut rs, mut ws) = ([0u64; 1], [0u64; 1]);
        rs[0] = 1 << r;
        ws[0] = 1 << w;
        kassert_eq!(select(&fdt, 64, Some(&mut rs), Some(&mut ws), None, 0), Ok(2));
        kassert_eq!((rs[0], ws[0]), (1 << r, 1 << w));
        let mut bad = [1u64 << 40];
        kassert_eq!(select(&fdt, 64, Some(&mut bad), None, None, 0), Err(EBADF));
        kassert_eq!(select(&fdt, -1, None, None, None, 0), Err(EINVAL));
        // Only the write set asked: no read bit appears even when the fd is readable.
        let (mut rs, mut ws) = ([0u64; 1], [1u64 << r]);
        kassert_eq!(select(&fdt, 64, Some(&mut rs), Some(&mut ws), None, 0), Ok(0));
        kassert_eq!((rs[0], ws[0]), (0, 0));
        // Hang-up: the writer closes; data first, then POLLHUP alone once drained.
        drop(wf);
        e(fdt.close(w), "close w")?;
        kassert_eq!(poll(&fdt, &mut p1, 0), Ok(1));
        kassert_eq!(p1[0].revents, POLLIN | POLLHUP);
        kassert_eq!(e(fdt.get(r), "get r")?.read(&mut buf), Ok(1));
        kassert_eq!(poll(&fdt, &mut p1, -1), Ok(1));
        kassert_eq!(p1[0].revents, POLLHUP);
        // POLLERR on a write end without readers, reported even when not asked for.
        let [r2, w2] = e(fdt.pipe2(O_CLOEXEC), "pipe2")?;
        e(fdt.close(r2), "close r2")?;
        let mut p2 = [pfd(w2, 0)];
        kassert_eq!(poll(&fdt, &mut p2, 0), Ok(1));
        kassert_eq!(p2[0].revents, POLLERR);
        // A knote is detached when poll returns.
        let pf = e(fdt.get(r), "get r")?;
        kassert_eq!(pf.knlist().map(|k| k.len()), Some(0));
        fdt.close_all();
        Ok(())
    }
}
