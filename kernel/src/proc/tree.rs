//! The process tree (DragonFly's proc_token-protected allproc list and p_children, in
//! kern_proc.c and kern_exit.c): pid allocation, parent links, zombies and their reaping by
//! wait4, and the reparenting of orphans to a subreaper or PID 1.
//!
//! One spinlock guards the table and every parent link, as DragonFly's proc_token does; the
//! children of a process are found by scanning (few processes live at once so far).
use super::{Lwp, Proc};
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use abi::errno::{EAGAIN, ECHILD, EINTR};
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::Ordering;

/// Largest pid (Linux's default pid_max).
pub const PID_MAX: u32 = 32768;

struct Tree {
    procs: BTreeMap<u32, Arc<Proc>>,
    /// The ids of threads other than a process's first (pids and tids share one space).
    threads: BTreeMap<u32, Weak<Lwp>>,
    last_pid: u32,
}

static TREE: SpinLock<Tree> =
    SpinLock::new(Tree { procs: BTreeMap::new(), threads: BTreeMap::new(), last_pid: 0 });

impl Tree {
    /// The next id neither a process nor a thread holds (after the last one handed out,
    /// wrapping below `PID_MAX` to 300 as Linux does).
    fn next_free(&mut self) -> Option<u32> {
        let mut pid = self.last_pid;
        for _ in 0..PID_MAX {
            pid = if pid + 1 >= PID_MAX { 300 } else { pid + 1 };
            if !self.procs.contains_key(&pid) && !self.threads.contains_key(&pid) {
                self.last_pid = pid;
                return Some(pid);
            }
        }
        None
    }
}

/// Where parents sleep in wait4: one channel for the whole tree (exits are rare next to the
/// cost of a spurious wakeup of a waiting parent).
static WAIT_CHANNEL: u8 = 0;

/// Picks a free pid (after the last one handed out, wrapping below `PID_MAX` as Linux does
/// past 300) and enters `make(pid)` under it. `EAGAIN` when every pid is taken; `make`'s
/// error when it fails.
pub fn insert_new(make: impl FnOnce(u32) -> Result<Arc<Proc>, i32>) -> Result<Arc<Proc>, i32> {
    let mut t = TREE.lock();
    let pid = t.next_free().ok_or(EAGAIN)?;
    let p = make(pid)?;
    t.procs.insert(pid, p.clone());
    Ok(p)
}

/// A new thread of `creator`'s process, blocking `mask`, under a fresh tid, entered in the
/// table and in the process's list of lwps. `EAGAIN` when every id is taken or the
/// creator is being made to exit (exit_group, a fatal signal, another thread's exec).
pub fn insert_thread(creator: &Lwp, mask: u64) -> Result<Arc<Lwp>, i32> {
    let p = &creator.proc;
    let mut t = TREE.lock();
    let tid = t.next_free().ok_or(EAGAIN)?;
    let lwp = Lwp::new(p.clone(), tid);
    lwp.sigmask.store(mask, Ordering::Relaxed);
    {
        let mut l = p.lwps.lock();
        if l.is_empty() || p.group_exit.load(Ordering::Acquire) || creator.exiting.load(Ordering::Acquire) {
            return Err(EAGAIN);
        }
        l.try_reserve(1).map_err(|_| abi::errno::ENOMEM)?;
        l.push(lwp.clone());
    }
    t.threads.insert(tid, Arc::downgrade(&lwp));
    Ok(lwp)
}

/// Thread `tid` has ended (or taken over its process's pid at exec): its id is free.
pub fn remove_thread(tid: u32) {
    let gone = TREE.lock().threads.remove(&tid);
    drop(gone);
}

/// Thread `tid` of process `tgid` (any process when `tgid` is None), while it lives.
pub fn find_thread(tgid: Option<u32>, tid: u32) -> Option<Arc<Lwp>> {
    let t = TREE.lock();
    let lwp = match t.threads.get(&tid) {
        Some(w) => w.upgrade(),
        None => t.procs.get(&tid).and_then(|p| p.lwps.lock().iter().find(|l| l.tid() == tid).cloned()),
    }?;
    (tgid.is_none_or(|g| g == lwp.proc.pid)).then_some(lwp)
}

/// Takes a process that never ran (a fork that failed half way) out of the table.
pub fn discard(p: &Proc) {
    // Its lwp (which holds it) goes too.
    let lwps = core::mem::take(&mut *p.lwps.lock());
    drop(lwps);
    let gone = TREE.lock().procs.remove(&p.pid);
    drop(gone);
}

/// The process with `pid`, zombies included.
pub fn find(pid: u32) -> Option<Arc<Proc>> {
    TREE.lock().procs.get(&pid).cloned()
}

/// Processes (live and zombie) whose real user id is `ruid`: RLIMIT_NPROC's count.
pub fn count_user(ruid: u32) -> usize {
    TREE.lock().procs.values().filter(|p| p.ids.lock().ruid == ruid).count()
}

/// Processes in the table (live and zombie).
pub fn count() -> usize {
    TREE.lock().procs.len()
}

/// The process orphans of `p` go to (Linux's find_new_reaper): the nearest live ancestor
/// that is a child subreaper, else PID 1.
fn new_reaper(t: &Tree, p: &Proc) -> u32 {
    let mut pid = p.ppid.load(Ordering::Relaxed);
    // The chain is finite, but a bound keeps a broken link from looping.
    for _ in 0..PID_MAX {
        if pid <= 1 {
            break;
        }
        let Some(a) = t.procs.get(&pid) else { break };
        if a.child_subreaper.load(Ordering::Relaxed) && a.zombie.lock().is_none() {
            return pid;
        }
        pid = a.ppid.load(Ordering::Relaxed);
    }
    1
}

/// `p` has ended with wait status `status`: it becomes a zombie for its parent to reap (or,
/// with `autoreap`, its parent ignoring SIGCHLD, leaves the table in the same step, so no
/// wait ever sees it), its children go to the nearest subreaper above it (or PID 1), and
/// those that asked for a parent-death signal get it. Waiting parents are woken by
/// [`wake_waiters`], once the parent's SIGCHLD is posted.
pub fn make_zombie(p: &Proc, status: i32, autoreap: bool) {
    let mut death_signals = alloc::vec::Vec::new();
    let gone = {
        let mut t = TREE.lock();
        let reaper = new_reaper(&t, p);
        for c in t.procs.values() {
            if c.ppid.load(Ordering::Relaxed) == p.pid {
                c.ppid.store(reaper, Ordering::Relaxed);
                let sig = c.pdeath_signal.load(Ordering::Relaxed);
                if sig != 0 && c.zombie.lock().is_none() {
                    death_signals.push((c.clone(), sig));
                }
            }
        }
        *p.zombie.lock() = Some(status);
        if autoreap {
            t.procs.remove(&p.pid)
        } else {
            None
        }
    };
    // The last reference may go with it: dropped after the lock.
    drop(gone);
    for (c, sig) in death_signals {
        let info = super::signal::SigInfo { pid: p.pid, ..Default::default() };
        let _ = super::signal::post(&c, sig, info);
    }
}

/// Wakes the parents waiting in wait4/waitid to look again.
pub fn wake_waiters() {
    wakeup(ident_of(&WAIT_CHANNEL));
}

/// Which children a wait4 `pid` argument selects (Linux: >0 that pid, -1 any, 0 the
/// caller's process group, < -1 the group -pid).
fn selects(pid: i32, parent: &Proc, c: &Proc) -> bool {
    match pid {
        -1 => true,
        0 => c.pgid.load(Ordering::Relaxed) == parent.pgid.load(Ordering::Relaxed),
        p if p > 0 => c.pid == p as u32,
        p => c.pgid.load(Ordering::Relaxed) == p.unsigned_abs(),
    }
}

/// What wait4 found.
pub struct Reaped {
    /// The child's pid.
    pub pid: u32,
    /// Its wait status (exit code << 8, or the signal number; 0x7f | sig << 8 for a stop,
    /// 0xffff for a continue).
    pub status: i32,
    /// Its real user id (waitid's si_uid).
    pub uid: u32,
    /// What it and the children it reaped used (zero when left unreaped, WNOWAIT).
    pub usage: super::rusage::Usage,
}

impl Reaped {
    /// waitid's si_code and si_status for it.
    pub fn code_and_status(&self) -> (i32, i32) {
        use super::signal::{CLD_CONTINUED, CLD_EXITED, CLD_KILLED, CLD_STOPPED};
        match self.status {
            0xffff => (CLD_CONTINUED, super::signal::SIGCONT as i32),
            s if s & 0xff == 0x7f => (CLD_STOPPED, s >> 8 & 0xff),
            s if s & 0x7f == 0 => (CLD_EXITED, s >> 8),
            s => (CLD_KILLED, s & 0x7f),
        }
    }
}

/// How a wait treats what it finds.
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitMode {
    /// Return at once when no selected child has ended.
    pub nohang: bool,
    /// Leave the zombie (or the stop or continue report) for a later wait (WNOWAIT).
    pub keep: bool,
    /// Report children that ended (always for wait4; waitid's WEXITED).
    pub exited: bool,
    /// Report children that stopped (WUNTRACED, WSTOPPED).
    pub stopped: bool,
    /// Report stopped children that continued (WCONTINUED).
    pub continued: bool,
    /// Which children by their exit signal: `Some(true)` only "clone" children (whose exit
    /// signal is not SIGCHLD: __WCLONE), `Some(false)` only the others (the default), None
    /// all (__WALL).
    pub clones: Option<bool>,
}

/// A stopped or continued process tells its parent: a report for its wait (WUNTRACED,
/// WCONTINUED) and SIGCHLD with `code`, unless the parent asked for none (SA_NOCLDSTOP).
pub fn report_to_parent(p: &Proc, code: i32, sig: i32) {
    use super::signal::{self, SigInfo, CLD_CONTINUED};
    const SA_NOCLDSTOP: u64 = 1;
    *p.wait_report.lock() = Some(if code == CLD_CONTINUED { 0xffff } else { (sig & 0xff) << 8 | 0x7f });
    if let Some(parent) = find(p.ppid.load(Ordering::Relaxed)) {
        if parent.sigacts.lock()[signal::SIGCHLD as usize - 1].flags & SA_NOCLDSTOP == 0 {
            let uid = p.ids.lock().ruid;
            let info = SigInfo { code, pid: p.pid, uid, status: sig, ..SigInfo::default() };
            let _ = signal::post(&parent, signal::SIGCHLD, info);
        }
    }
    wakeup(ident_of(&WAIT_CHANNEL));
}

/// wait4's core: reaps a zombie child of `parent` selected by `pid`, sleeping until one
/// exists unless `nohang` (then `Ok(None)` when children live but none has ended). ECHILD
/// when nothing selected exists.
pub fn wait_child(parent: &Proc, pid: i32, mode: WaitMode) -> Result<Option<Reaped>, i32> {
    let nohang = mode.nohang;
    loop {
        tsleep_interlock(ident_of(&WAIT_CHANNEL));
        let reaped = {
            let mut t = TREE.lock();
            let mut any = false;
            let mut found: Option<Reaped> = None;
            let mut reap = false;
            for c in t.procs.values() {
                if c.ppid.load(Ordering::Relaxed) != parent.pid || !selects(pid, parent, c) {
                    continue;
                }
                let clone = c.exit_signal.load(Ordering::Relaxed) != super::signal::SIGCHLD;
                if mode.clones.is_some_and(|want| want != clone) {
                    continue;
                }
                any = true;
                let uid = c.ids.lock().ruid;
                if let Some(status) = (*c.zombie.lock()).filter(|_| mode.exited) {
                    found = Some(Reaped { pid: c.pid, status, uid, usage: Default::default() });
                    reap = !mode.keep;
                    break;
                }
                if c.zombie.lock().is_some() {
                    continue;
                }
                let mut report = c.wait_report.lock();
                let wanted = |st: &i32| if *st == 0xffff { mode.continued } else { mode.stopped };
                if let Some(status) = report.filter(wanted) {
                    if !mode.keep {
                        *report = None;
                    }
                    found = Some(Reaped { pid: c.pid, status, uid, usage: Default::default() });
                    break;
                }
            }
            // The last reference may go with it: dropped after the lock.
            let removed = found.as_ref().filter(|_| reap).and_then(|r| t.procs.remove(&r.pid));
            drop(t);
            if let (Some(r), Some(c)) = (found.as_mut(), removed.as_ref()) {
                // Reaped: the child's times become the parent's children's times.
                r.usage = super::rusage::reaped(parent, c);
            }
            drop(removed);
            if !any {
                crate::lwkt::sleep::tsleep_cancel();
                return Err(ECHILD);
            }
            found
        };
        if reaped.is_some() || nohang {
            crate::lwkt::sleep::tsleep_cancel();
            return Ok(reaped);
        }
        if tsleep(ident_of(&WAIT_CHANNEL), PINTERLOCKED | PCATCH, "wait", 0) == Err(EINTR) {
            return Err(EINTR);
        }
    }
}

/// Whether process group `pgid` is orphaned (POSIX; Linux's will_become_orphaned_pgrp): no
/// live member has a parent in another group of the same session, leaving out members whose
/// parent is PID 1. Nobody is left to continue a stopped orphaned group, so the terminal stop
/// signals are discarded for it.
pub fn group_orphaned(pgid: u32) -> bool {
    let t = TREE.lock();
    !t.procs.values().any(|p| {
        let ppid = p.ppid.load(Ordering::Relaxed);
        p.zombie.lock().is_none()
            && p.pgid.load(Ordering::Relaxed) == pgid
            && ppid > 1
            && t.procs.get(&ppid).is_some_and(|parent| {
                parent.pgid.load(Ordering::Relaxed) != pgid
                    && parent.sid.load(Ordering::Relaxed) == p.sid.load(Ordering::Relaxed)
            })
    })
}

/// Whether a live process has group `pgid` in session `sid` (0: in any session).
pub fn group_in_session(pgid: u32, sid: u32) -> bool {
    TREE.lock().procs.values().any(|p| {
        p.zombie.lock().is_none()
            && p.pgid.load(Ordering::Relaxed) == pgid
            && (sid == 0 || p.sid.load(Ordering::Relaxed) == sid)
    })
}

/// True when a live process other than `p` runs on `vs` (a vfork parent, a CLONE_VM
/// sibling): `p` leaving must not take the address space down.
pub fn vm_shared(p: &Proc, vs: &Arc<crate::vm::vmspace::VmSpace>) -> bool {
    let mine = Arc::downgrade(vs);
    TREE.lock()
        .procs
        .values()
        .any(|o| o.pid != p.pid && o.zombie.lock().is_none() && o.vm.lock().ptr_eq(&mine))
}

/// Every process in the table (kill -1 and kill of a group walk it).
pub fn all() -> alloc::vec::Vec<Arc<Proc>> {
    TREE.lock().procs.values().cloned().collect()
}
