//! epoll core tests: the ready list under level, edge and one-shot triggering, registrations
//! that go with the watched file's last close, knotes detached at the instance's last close,
//! nesting (ELOOP), and eventfd/timerfd readiness through epoll.
use super::epoll::{Epoll, EPOLLS, EPOLL_REGS};
use super::eventfd::EventFd;
use super::timerfd::{Clock, TimerFd};
use crate::vfs::file::{pipe_pair, File};
use crate::vfs::tests::e;
use crate::{kassert, kassert_eq, ktest};
use abi::epoll::*;
use abi::errno::*;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

fn epoll_file() -> (Arc<File>, Arc<Epoll>) {
    let ep = Epoll::new();
    (File::anon(ep.clone(), 0), ep)
}

ktest! {
    /// Level-triggered: a readable pipe is reported by every wait until drained; edge-
    /// triggered: once per write; one-shot: once, then again only after MOD re-arms it.
    fn epoll_ready_list_triggers() {
        let (_epf, ep) = epoll_file();
        let (r1, w1) = e(pipe_pair(0), "pipe")?;
        let (r2, w2) = e(pipe_pair(0), "pipe")?;
        let (r3, w3) = e(pipe_pair(0), "pipe")?;
        e(ep.ctl(EPOLL_CTL_ADD, 3, &r1, EPOLLIN, 1), "add lt")?;
        e(ep.ctl(EPOLL_CTL_ADD, 4, &r2, EPOLLIN | EPOLLET, 2), "add et")?;
        e(ep.ctl(EPOLL_CTL_ADD, 5, &r3, EPOLLIN | EPOLLONESHOT, 3), "add oneshot")?;
        kassert_eq!(ep.ctl(EPOLL_CTL_ADD, 3, &r1, EPOLLIN, 1), Err(EEXIST));
        kassert_eq!(ep.ready_len(), 0);
        kassert_eq!(e(ep.wait(8, Some(0)), "wait")?.len(), 0);
        for w in [&w1, &w2, &w3] {
            e(w.write(b"x"), "write")?;
        }
        kassert_eq!(ep.ready_len(), 3);
        let mut got = e(ep.wait(8, Some(0)), "wait")?;
        got.sort_by_key(|g| g.1);
        kassert_eq!(got, alloc::vec![(EPOLLIN, 1), (EPOLLIN, 2), (EPOLLIN, 3)]);
        // Only the level-triggered one is still queued.
        kassert_eq!(e(ep.wait(8, Some(0)), "wait")?, alloc::vec![(EPOLLIN, 1)]);
        e(w2.write(b"y"), "write")?;
        e(w3.write(b"y"), "write")?;
        let mut got = e(ep.wait(8, Some(0)), "wait")?;
        got.sort_by_key(|g| g.1);
        kassert_eq!(got, alloc::vec![(EPOLLIN, 1), (EPOLLIN, 2)]);
        e(ep.ctl(EPOLL_CTL_MOD, 5, &r3, EPOLLIN | EPOLLONESHOT, 33), "rearm")?;
        let mut got = e(ep.wait(8, Some(0)), "wait")?;
        got.sort_by_key(|g| g.1);
        kassert_eq!(got, alloc::vec![(EPOLLIN, 1), (EPOLLIN, 33)]);
        // maxevents 1 hands them out one at a time.
        kassert_eq!(e(ep.wait(1, Some(0)), "wait")?.len(), 1);
        let mut b = [0u8; 8];
        e(r1.read(&mut b), "drain")?;
        kassert_eq!(e(ep.wait(8, Some(0)), "wait")?.len(), 0);
        e(ep.ctl(EPOLL_CTL_DEL, 3, &r1, 0, 0), "del")?;
        kassert_eq!(ep.ctl(EPOLL_CTL_DEL, 3, &r1, 0, 0), Err(ENOENT));
        kassert_eq!(ep.ctl(EPOLL_CTL_MOD, 3, &r1, EPOLLIN, 0), Err(ENOENT));
        // The write end hangs up the read end: HUP is reported though not asked for.
        drop(w1);
        e(ep.ctl(EPOLL_CTL_ADD, 3, &r1, EPOLLIN, 7), "re-add")?;
        kassert_eq!(e(ep.wait(8, Some(0)), "wait")?, alloc::vec![(EPOLLHUP, 7)]);
        Ok(())
    }
}

ktest! {
    /// The last close of a watched file removes its registration and knote; the last close
    /// of the instance detaches every knote; the counters come back.
    fn epoll_detach_on_close() {
        let (eps, regs) = (EPOLLS.load(Ordering::Relaxed), EPOLL_REGS.load(Ordering::Relaxed));
        {
            let (epf, ep) = epoll_file();
            let (r, w) = e(pipe_pair(0), "pipe")?;
            let r2 = r.clone();
            e(ep.ctl(EPOLL_CTL_ADD, 3, &r, EPOLLIN, 1), "add")?;
            e(ep.ctl(EPOLL_CTL_ADD, 4, &w, EPOLLOUT, 2), "add")?;
            // Both ends post on the pipe's one list.
            kassert_eq!(r.knlist().map(|k| k.len()), Some(2));
            let pipe = r.pipe().cloned();
            drop(r);
            // Still open through r2: still registered.
            kassert_eq!(ep.len(), 2);
            drop(r2);
            kassert_eq!(ep.len(), 1);
            kassert_eq!(pipe.as_ref().map(|p| p.knotes().len()), Some(1));
            kassert_eq!(EPOLL_REGS.load(Ordering::Relaxed), regs + 1);
            drop(epf);
            kassert_eq!(pipe.as_ref().map(|p| p.knotes().len()), Some(0));
            kassert_eq!(ep.len(), 0);
            drop(ep);
            drop(w);
        }
        kassert_eq!(EPOLLS.load(Ordering::Relaxed), eps);
        kassert_eq!(EPOLL_REGS.load(Ordering::Relaxed), regs);
        Ok(())
    }
}

ktest! {
    /// Nested instances: the inner one's readiness reaches the outer one; a cycle is ELOOP,
    /// an instance cannot watch itself, regular files are EPERM.
    fn epoll_nesting() {
        let (af, a) = epoll_file();
        let (bf, b) = epoll_file();
        let (r, w) = e(pipe_pair(0), "pipe")?;
        e(b.ctl(EPOLL_CTL_ADD, 3, &r, EPOLLIN, 9), "inner add")?;
        e(a.ctl(EPOLL_CTL_ADD, 4, &bf, EPOLLIN, 8), "outer add")?;
        kassert_eq!(b.ctl(EPOLL_CTL_ADD, 5, &af, EPOLLIN, 0), Err(ELOOP));
        kassert_eq!(a.ctl(EPOLL_CTL_ADD, 6, &af, EPOLLIN, 0), Err(EINVAL));
        kassert_eq!(a.ctl(EPOLL_CTL_ADD, 7, &bf, EPOLLIN | EPOLLEXCLUSIVE, 0), Err(EINVAL));
        kassert_eq!(e(a.wait(4, Some(0)), "wait")?.len(), 0);
        e(w.write(b"z"), "write")?;
        kassert_eq!(e(a.wait(4, Some(0)), "outer")?, alloc::vec![(EPOLLIN, 8)]);
        kassert_eq!(e(b.wait(4, Some(0)), "inner")?, alloc::vec![(EPOLLIN, 9)]);
        drop(af);
        drop(bf);
        Ok(())
    }
}

ktest! {
    /// eventfd and timerfd readiness through epoll: a write makes the eventfd readable, a
    /// read drains it; a 10 ms periodic timer has counted at least 3 after 40 ms.
    fn epoll_eventfd_timerfd() {
        let (_epf, ep) = epoll_file();
        let efd = File::anon(Arc::new(EventFd::new(0, true)), 0);
        let tfd_obj = Arc::new(TimerFd::new(Clock::Monotonic));
        let tfd = File::anon(tfd_obj.clone(), 0);
        e(ep.ctl(EPOLL_CTL_ADD, 3, &efd, EPOLLIN, 1), "add efd")?;
        e(ep.ctl(EPOLL_CTL_ADD, 4, &tfd, EPOLLIN | EPOLLET, 2), "add tfd")?;
        e(efd.write(&2u64.to_ne_bytes()), "efd write")?;
        kassert_eq!(e(ep.wait(4, Some(0)), "wait")?, alloc::vec![(EPOLLIN, 1)]);
        let mut b = [0u8; 8];
        for _ in 0..2 {
            kassert_eq!(efd.read(&mut b), Ok(8));
            kassert_eq!(u64::from_ne_bytes(b), 1);
        }
        kassert_eq!(e(ep.wait(4, Some(0)), "wait")?.len(), 0);
        kassert_eq!(efd.read(&mut b[..4]), Err(EINVAL));
        kassert_eq!(efd.write(&u64::MAX.to_ne_bytes()), Err(EINVAL));
        tfd_obj.set(10_000_000, 10_000_000, false);
        let got = e(ep.wait(4, Some(1_000_000_000)), "timer wait")?;
        kassert_eq!(got, alloc::vec![(EPOLLIN, 2)]);
        let t0 = crate::time::nanotime();
        while crate::time::nanotime() - t0 < 40_000_000 {
            core::hint::spin_loop();
        }
        kassert_eq!(tfd.read(&mut b), Ok(8));
        kassert!(u64::from_ne_bytes(b) >= 3, "timer count {}", u64::from_ne_bytes(b));
        tfd_obj.set(0, 0, false);
        kassert_eq!(tfd_obj.get(), (0, 0));
        Ok(())
    }
}

struct Nobody;

impl super::KnoteSink for Nobody {
    fn notify(&self, _: usize, _: u16) {}
}

ktest! {
    /// A knote list whose last knote leaves holds no memory (the console, polled once by
    /// an epoll, kept a buffer for ever: syscall_fuzz's kcounters check saw it).
    fn knlist_gives_its_buffer_back_when_empty() {
        let l = super::KnList::new();
        let a = super::Knote::new(Arc::new(Nobody), 1, abi::poll::POLLIN);
        let b = super::Knote::new(Arc::new(Nobody), 2, abi::poll::POLLIN);
        e(l.attach(a.clone()), "attach a")?;
        e(l.attach(b.clone()), "attach b")?;
        l.detach(&a);
        kassert!(l.notes.lock().capacity() > 0, "buffer gone with a knote left");
        l.detach(&b);
        kassert_eq!(l.notes.lock().capacity(), 0);
        Ok(())
    }
}
