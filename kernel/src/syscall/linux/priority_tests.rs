//! Niceness and policy rules the conformance program cannot reach on a host without
//! CAP_SYS_RESOURCE: an unprivileged process lowering its niceness down to 20 - RLIMIT_NICE
//! and no further, another user's process out of reach; and what fork and clone inherit
//! under SCHED_RESET_ON_FORK.
use super::priority::{can_nice, set_one};
use crate::ktest::Failure;
use crate::proc::schedpolicy::{Policy, SCHED_BATCH, SCHED_FIFO, SCHED_OTHER};
use crate::proc::{tree, Lwp, Proc};
use crate::vfs::cred::Cred;
use crate::vfs::filedesc::FileDesc;
use crate::vfs::rootfs::kernel_ctx;
use crate::{kassert, kassert_eq, ktest};
use abi::errno::*;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

const RLIMIT_NICE: usize = 13;

/// A process of user `uid` with one lwp (no thread); out of the table on drop.
struct TestProc(Arc<Proc>, Arc<Lwp>);

impl TestProc {
    fn new(uid: u32) -> Result<TestProc, Failure> {
        let c = kernel_ctx().ok_or("no root")?;
        let p = Proc::new(FileDesc::new(0), c.root.clone(), c.cwd.clone()).map_err(|_| "Proc::new")?;
        *p.cred.lock() = Cred::user(uid, uid);
        p.ids.lock().ruid = uid;
        let l = Lwp::first(p.clone());
        Ok(TestProc(p, l))
    }
}

impl Drop for TestProc {
    fn drop(&mut self) {
        tree::discard(&self.0);
    }
}

ktest! {
    /// Unprivileged, with RLIMIT_NICE 25: down to -5 (20 - 25), not -6 (EACCES); raising is
    /// always allowed; at RLIMIT_NICE 0 no lowering at all; another user's process is EPERM
    /// and root may do anything.
    fn priority_rlimit_nice() {
        let me = TestProc::new(1000)?;
        let other = TestProc::new(1001)?;
        let root = TestProc::new(0)?;
        me.0.rlimits.lock()[RLIMIT_NICE] = (25, 25);
        kassert!(can_nice(&me.1, &me.0, -5) && !can_nice(&me.1, &me.0, -6), "RLIMIT_NICE 25 bounds");
        kassert_eq!(set_one(&me.1, &me.0, -5), Ok(()));
        kassert_eq!(set_one(&me.1, &me.0, -6), Err(EACCES));
        kassert_eq!(set_one(&me.1, &me.0, 10), Ok(()));
        me.0.rlimits.lock()[RLIMIT_NICE] = (0, 0);
        kassert_eq!(set_one(&me.1, &me.0, 9), Err(EACCES));
        kassert_eq!(set_one(&me.1, &me.0, 12), Ok(()));
        kassert_eq!(me.0.nice.load(Ordering::Relaxed), 12);
        kassert_eq!(set_one(&me.1, &other.0, 15), Err(EPERM));
        kassert_eq!(set_one(&root.1, &other.0, -20), Ok(()));
        kassert_eq!(other.0.nice.load(Ordering::Relaxed), -20);
        Ok(())
    }
}

ktest! {
    /// Without reset-on-fork a child inherits policy, priority and niceness; with it a
    /// real-time parent's child is SCHED_OTHER at nice 0, a time-sharing one's keeps its
    /// policy at a niceness of at least 0, and the flag is not inherited.
    fn priority_reset_on_fork() {
        let fifo = Policy { policy: SCHED_FIFO, priority: 10, reset_on_fork: false };
        kassert_eq!(fifo.inherited(), fifo);
        kassert_eq!(fifo.inherited_nice(-3), -3);
        let fifo_reset = Policy { reset_on_fork: true, ..fifo };
        kassert_eq!(fifo_reset.inherited(), Policy { policy: SCHED_OTHER, priority: 0, reset_on_fork: false });
        kassert_eq!(fifo_reset.inherited_nice(5), 0);
        let batch_reset = Policy { policy: SCHED_BATCH, priority: 0, reset_on_fork: true };
        kassert_eq!(batch_reset.inherited(), Policy { policy: SCHED_BATCH, priority: 0, reset_on_fork: false });
        kassert_eq!(batch_reset.inherited_nice(-3), 0);
        kassert_eq!(batch_reset.inherited_nice(5), 5);
        Ok(())
    }
}
