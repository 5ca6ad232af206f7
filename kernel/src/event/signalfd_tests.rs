//! signalfd tests: the `struct signalfd_siginfo` layout per kind of signal, the mask without
//! SIGKILL and SIGSTOP, and the per-process watcher list (silent until armed, posting to the
//! knotes of live signalfds only).
use super::signalfd::{siginfo_bytes, SignalFd, SIGINFO_SIZE};
use super::{KnList, Knote, KnoteSink};
use crate::proc::signal::watchers::SigWatchers;
use crate::proc::signal::{
    bit, SigInfo, CLD_EXITED, SIGCHLD, SIGKILL, SIGSEGV, SIGSTOP, SI_QUEUE, SI_TIMER, SI_USER,
};
use crate::vfs::tests::e;
use crate::{kassert, kassert_eq, ktest};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(w)
}

ktest! {
    /// Each siginfo layout fills its own fields at Linux's offsets: kill (pid, uid),
    /// sigqueue (pid, uid, int, ptr), a timer (tid, overrun, value; no pid), a child's end
    /// (pid, status, times), a fault (addr only).
    fn signalfd_siginfo_layout() {
        let b = siginfo_bytes(10, &SigInfo { code: SI_USER, pid: 7, uid: 8, value: 99, ..SigInfo::default() });
        kassert_eq!(b.len(), SIGINFO_SIZE);
        kassert_eq!((u32_at(&b, 0), u32_at(&b, 8), u32_at(&b, 12), u32_at(&b, 16)), (10, 0, 7, 8));
        kassert_eq!(u64_at(&b, 48), 0);
        let b = siginfo_bytes(12, &SigInfo { code: SI_QUEUE, pid: 7, value: 0x1_0000_04d2, ..SigInfo::default() });
        kassert_eq!((u32_at(&b, 8) as i32, u32_at(&b, 12), u32_at(&b, 44)), (SI_QUEUE, 7, 1234));
        kassert_eq!(u64_at(&b, 48), 0x1_0000_04d2);
        let t = SigInfo { code: SI_TIMER, pid: 5, timerid: 3, overrun: 2, value: 6, ..SigInfo::default() };
        let b = siginfo_bytes(14, &t);
        kassert_eq!((u32_at(&b, 12), u32_at(&b, 24), u32_at(&b, 32), u32_at(&b, 44)), (0, 3, 2, 6));
        let c = SigInfo { code: CLD_EXITED, pid: 9, status: 3, utime: 4, stime: 5, ..SigInfo::default() };
        let b = siginfo_bytes(SIGCHLD, &c);
        kassert_eq!((u32_at(&b, 12), u32_at(&b, 40), u64_at(&b, 56), u64_at(&b, 64)), (9, 3, 4, 5));
        let f = SigInfo { code: 1, pid: 9, addr: 0xdead, ..SigInfo::default() };
        let b = siginfo_bytes(SIGSEGV, &f);
        kassert_eq!((u32_at(&b, 12), u64_at(&b, 72)), (0, 0xdead));
        kassert!(b[100..].iter().all(|&x| x == 0), "padding not zero");
        let s = SignalFd::new(u64::MAX);
        kassert_eq!(s.mask() & (bit(SIGKILL) | bit(SIGSTOP)), 0);
        s.set_mask(bit(10) | bit(SIGKILL));
        kassert_eq!(s.mask(), bit(10));
        Ok(())
    }
}

struct Count(AtomicUsize);

impl KnoteSink for Count {
    fn notify(&self, _: usize, _: u16) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

ktest! {
    /// A post tells nobody before a signalfd arms the watchers; then it reaches the knotes
    /// of each watched signalfd once (watching twice registers once), and none of a
    /// signalfd that is gone.
    fn signal_watchers_post_to_live_signalfds() {
        let w = SigWatchers::new();
        let sink = Arc::new(Count(AtomicUsize::new(0)));
        let kl = Arc::new(KnList::new());
        e(kl.attach(Knote::new(sink.clone(), 0, abi::poll::POLLIN)), "attach")?;
        w.posted();
        kassert_eq!(sink.0.load(Ordering::Relaxed), 0);
        e(w.watch(&kl), "watch")?;
        e(w.watch(&kl), "watch again")?;
        w.posted();
        kassert_eq!(sink.0.load(Ordering::Relaxed), 1);
        let gone = Arc::new(KnList::new());
        e(w.watch(&gone), "watch other")?;
        drop(gone);
        w.posted();
        kassert_eq!(sink.0.load(Ordering::Relaxed), 2);
        Ok(())
    }
}
