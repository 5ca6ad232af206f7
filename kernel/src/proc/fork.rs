//! fork, vfork and clone of a whole process (DragonFly's kern_fork.c): the child gets a copy
//! of the address space (copy-on-write) or, for vfork, the same one while the parent waits;
//! a copy of the descriptor table, credentials, dispositions and limits; and a new LWKT
//! thread that enters user mode with the parent's registers and 0 in rax.
use super::usermd::UserMd;
use super::{Lwp, Proc};
use crate::arch::x86_64::copyio::copyout;
use crate::arch::x86_64::trap::TrapFrame;
use crate::lwkt::sched;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PINTERLOCKED};
use crate::lwkt::thread::pri;
use abi::errno::*;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// What the child gets besides a copy (the clone flags Linux's fork-like uses pass).
#[derive(Clone, Copy, Debug, Default)]
pub struct ForkOptions {
    /// Share the address space, and the parent waits until the child execs or exits.
    pub vfork: bool,
    /// Share the address space (CLONE_VM) without waiting.
    pub share_vm: bool,
    /// The child is the caller's sibling (CLONE_PARENT).
    pub sibling: bool,
    /// The signal the parent hears of the child's end by (0: none; fork's is SIGCHLD).
    pub exit_signal: u32,
    /// Store the child's pid at this address in the child (CLONE_CHILD_SETTID).
    pub child_settid: Option<u64>,
    /// Remember this address in the child to clear at its exit (CLONE_CHILD_CLEARTID).
    pub child_cleartid: Option<u64>,
    /// Store the child's pid at this address in the parent (CLONE_PARENT_SETTID).
    pub parent_settid: Option<u64>,
    /// The child's stack pointer, when not the parent's.
    pub stack: Option<u64>,
    /// The child's FS base (CLONE_SETTLS).
    pub tls: Option<u64>,
}

/// Whether a new process would take `p`'s real user past its RLIMIT_NPROC: never for root
/// (Linux exempts the root user and the privileged).
fn over_nproc(p: &Proc) -> bool {
    const RLIMIT_NPROC: usize = 6;
    let limit = p.rlimits.lock()[RLIMIT_NPROC].0;
    let ruid = p.ids.lock().ruid;
    if limit == u64::MAX || ruid == 0 || p.cred.lock().uid == 0 {
        return false;
    }
    super::tree::count_user(ruid) as u64 >= limit
}

/// Creates a child of the calling process that resumes from `frame` with rax = 0. Returns
/// the child's pid (in the parent).
pub fn fork(lwp: &Arc<Lwp>, frame: &TrapFrame, opt: ForkOptions) -> Result<u32, i32> {
    let td = sched::curthread();
    let me = td.user().ok_or(EINVAL)?;
    let parent = &lwp.proc;
    if over_nproc(parent) {
        return Err(EAGAIN);
    }
    let vs = if opt.share_vm { me.vmspace() } else { me.vmspace().fork()? };
    let fd_src = parent.fd.clone();
    let child = parent.fork(|pid| fd_src.fork_copy(pid as u64))?;
    *child.vm.lock() = Arc::downgrade(&vs);
    if opt.sibling {
        child.ppid.store(parent.ppid.load(Ordering::Relaxed), Ordering::Relaxed);
    }
    child.exit_signal.store(opt.exit_signal, Ordering::Relaxed);
    let clwp = Lwp::first(child.clone());
    clwp.sigmask.store(lwp.sigmask.load(Ordering::Relaxed), Ordering::Relaxed);
    clwp.cpumask.store(lwp.cpumask.load(Ordering::Relaxed), Ordering::Relaxed);
    let policy = lwp.sched.get();
    clwp.sched.set(policy.inherited());
    child.nice.store(policy.inherited_nice(parent.nice.load(Ordering::Relaxed)), Ordering::Relaxed);
    *clwp.altstack.lock() = *lwp.altstack.lock();
    if !opt.share_vm {
        clwp.rseq.inherit(&lwp.rseq);
    }
    crate::sched::forking(lwp, &clwp);
    if let Some(a) = opt.child_cleartid {
        clwp.clear_child_tid.store(a, Ordering::Relaxed);
    }
    let clwp_mask = clwp.cpumask.load(Ordering::Relaxed);
    let Some(md) = me.fork_child(clwp, vs.clone()) else {
        super::tree::discard(&child);
        return Err(ENOMEM);
    };
    let cframe = child_frame(&md, frame, opt.stack, opt.tls);
    let pid = child.pid;
    if let Some(a) = opt.parent_settid {
        // Linux writes it before the child runs; a bad address fails the clone.
        if copyout(a, &pid.to_ne_bytes()).is_err() {
            super::tree::discard(&child);
            return Err(EFAULT);
        }
    }
    if let Some(a) = opt.child_settid {
        // Into the child's memory (the same as ours with vfork).
        if vs.copy_out(a, &pid.to_ne_bytes()).is_err() {
            super::tree::discard(&child);
            return Err(EFAULT);
        }
    }
    if opt.vfork {
        child.in_vfork.store(true, Ordering::Release);
    }
    let md = Box::new(md);
    let cpu = crate::sched::place_new(clwp_mask);
    // In the kernel until its first return to user mode, where it takes a user slot.
    let started = sched::create("proc", pri::KERN_USER, cpu, move || child_start(md, cframe));
    if started.is_none() {
        super::tree::discard(&child);
        return Err(EAGAIN);
    }
    if opt.vfork {
        // The child borrows our memory, stack included: wait until it execs or exits.
        let chan = ident_of(&*child);
        loop {
            tsleep_interlock(chan);
            if !child.in_vfork.load(Ordering::Acquire) {
                crate::lwkt::sleep::tsleep_cancel();
                break;
            }
            let _ = tsleep(chan, PINTERLOCKED, "vfork", 0);
        }
    }
    Ok(pid)
}

/// The vfork child no longer uses its parent's memory (it exec'd or exited): the parent
/// goes on.
pub fn release_vfork_parent(p: &Proc) {
    if p.in_vfork.swap(false, Ordering::AcqRel) {
        wakeup(ident_of(p));
    }
}

/// The registers a new process or thread starts with: the caller's, with rax = 0, its own
/// stack pointer and FS base if given (set in `md`).
pub(super) fn child_frame(md: &UserMd, frame: &TrapFrame, stack: Option<u64>, tls: Option<u64>) -> TrapFrame {
    if let Some(t) = tls {
        md.fs_base.store(t, Ordering::Relaxed);
    }
    let mut cframe = *frame;
    cframe.rax = 0;
    if let Some(sp) = stack {
        cframe.rsp = sp;
    }
    cframe
}

/// A new process or thread's first steps: record its kernel thread in its lwp, then enter
/// user mode with `frame` (see `usermd::enter_pending`).
pub(super) fn child_start(md: Box<UserMd>, frame: TrapFrame) {
    md.set_start(frame);
    let td = sched::curthread();
    *md.lwp.thread.lock() = td.self_handle();
    td.set_user(Some(md));
}
