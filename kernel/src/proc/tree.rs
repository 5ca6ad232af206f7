//! The process tree (DragonFly's proc_token-protected allproc list and p_children, in
//! kern_proc.c and kern_exit.c): pid allocation, parent links, zombies and their reaping by
//! wait4, and the reparenting of orphans to PID 1.
//!
//! One spinlock guards the table and every parent link, as DragonFly's proc_token does; the
//! children of a process are found by scanning (few processes live at once so far).
use super::Proc;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use abi::errno::{EAGAIN, ECHILD, EINTR};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// Largest pid (Linux's default pid_max).
pub const PID_MAX: u32 = 32768;

struct Tree {
    procs: BTreeMap<u32, Arc<Proc>>,
    last_pid: u32,
}

static TREE: SpinLock<Tree> = SpinLock::new(Tree { procs: BTreeMap::new(), last_pid: 0 });

/// Where parents sleep in wait4: one channel for the whole tree (exits are rare next to the
/// cost of a spurious wakeup of a waiting parent).
static WAIT_CHANNEL: u8 = 0;

/// Picks a free pid (after the last one handed out, wrapping below `PID_MAX` as Linux does
/// past 300) and enters `make(pid)` under it. `EAGAIN` when every pid is taken; `make`'s
/// error when it fails.
pub fn insert_new(make: impl FnOnce(u32) -> Result<Arc<Proc>, i32>) -> Result<Arc<Proc>, i32> {
    let mut t = TREE.lock();
    let mut pid = t.last_pid;
    for _ in 0..PID_MAX {
        pid = if pid + 1 >= PID_MAX { 300 } else { pid + 1 };
        if !t.procs.contains_key(&pid) {
            t.last_pid = pid;
            let p = make(pid)?;
            t.procs.insert(pid, p.clone());
            return Ok(p);
        }
    }
    Err(EAGAIN)
}

/// Takes a process that never ran (a fork that failed half way) out of the table.
pub fn discard(p: &Proc) {
    let gone = TREE.lock().procs.remove(&p.pid);
    drop(gone);
}

/// The process with `pid`, zombies included.
pub fn find(pid: u32) -> Option<Arc<Proc>> {
    TREE.lock().procs.get(&pid).cloned()
}

/// Processes in the table (live and zombie).
pub fn count() -> usize {
    TREE.lock().procs.len()
}

/// `p` has ended with wait status `status`: it becomes a zombie for its parent to reap, its
/// children go to PID 1, and waiting parents wake.
pub fn make_zombie(p: &Proc, status: i32) {
    {
        let t = TREE.lock();
        for c in t.procs.values() {
            if c.ppid.load(Ordering::Relaxed) == p.pid {
                c.ppid.store(1, Ordering::Relaxed);
            }
        }
        *p.zombie.lock() = Some(status);
    }
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
    /// Its wait status (exit code << 8, or the signal number).
    pub status: i32,
    /// Its real user id (waitid's si_uid).
    pub uid: u32,
    /// What it and the children it reaped used (zero when left unreaped, WNOWAIT).
    pub usage: super::rusage::Usage,
}

/// How a wait treats what it finds.
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitMode {
    /// Return at once when no selected child has ended.
    pub nohang: bool,
    /// Leave the zombie for a later wait (waitid's WNOWAIT).
    pub keep: bool,
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
            for c in t.procs.values() {
                if c.ppid.load(Ordering::Relaxed) != parent.pid || !selects(pid, parent, c) {
                    continue;
                }
                any = true;
                if let Some(status) = *c.zombie.lock() {
                    found = Some(Reaped {
                        pid: c.pid,
                        status,
                        uid: c.ids.lock().ruid,
                        usage: Default::default(),
                    });
                    break;
                }
            }
            // The last reference may go with it: dropped after the lock.
            let removed = found.as_ref().filter(|_| !mode.keep).and_then(|r| t.procs.remove(&r.pid));
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

/// Whether a live process has group `pgid` in session `sid` (0: in any session).
pub fn group_in_session(pgid: u32, sid: u32) -> bool {
    TREE.lock().procs.values().any(|p| {
        p.zombie.lock().is_none()
            && p.pgid.load(Ordering::Relaxed) == pgid
            && (sid == 0 || p.sid.load(Ordering::Relaxed) == sid)
    })
}

/// Every process in the table (kill -1 and kill of a group walk it).
pub fn all() -> alloc::vec::Vec<Arc<Proc>> {
    TREE.lock().procs.values().cloned().collect()
}
