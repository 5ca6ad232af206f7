//! POSIX record locks (DragonFly's kern_lockf.c): byte ranges of a file locked shared (read)
//! or exclusive (write) by an owner (a process id, opaque here). An owner's own locks never
//! conflict with each other: setting a lock replaces whatever that owner held over the range,
//! splitting older locks at the range's edges and merging with adjacent locks of the same
//! type. A blocked F_SETLKW sleeps on the list (interlock idiom) and is woken whenever a lock
//! on the file goes away or shrinks; before sleeping it checks that the owner it waits for
//! does not, directly or through a chain of waiters, wait for it (EDEADLK).
//!
//! Owners: a process's locks (fcntl F_SETLK) are owned by its process id, below 2^32; an open
//! file description's (F_OFD_SETLK, flock) by the description's kernel address, which lies
//! far above ([`owner_pid`] tells them apart).
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use abi::errno::{EAGAIN, EDEADLK, EINTR, ENOLCK};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// The pid F_GETLK reports for a lock held by `owner`: the process id, or -1 for a lock an
/// open file description owns (Linux reports -1 for OFD locks).
pub fn owner_pid(owner: u64) -> i32 {
    i32::try_from(owner).unwrap_or(-1)
}

/// Lock kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Shared: many owners may hold overlapping read locks.
    Read,
    /// Exclusive: no other owner may hold anything overlapping.
    Write,
}

/// One lock: `[start, end)`; `end == u64::MAX` reaches past any end of file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// One past the last byte (u64::MAX: to infinity).
    pub end: u64,
    /// Shared or exclusive.
    pub kind: Kind,
    /// Who holds it.
    pub owner: u64,
}

impl Range {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end
    }
}

/// Most locks one file may carry (Linux has no fixed cap; this keeps a hostile owner from
/// exhausting memory one byte-range at a time).
const MAX_LOCKS: usize = 4096;

/// Who waits for whom (owner -> the owner of the lock it sleeps on), for deadlock detection.
static WAITS: SpinLock<BTreeMap<u64, u64>> = SpinLock::new(BTreeMap::new());

/// How long a deadlock chain is followed (Linux's MAX_DEADLK_ITERATIONS).
const MAX_CHAIN: usize = 10;

/// True while `owner` sleeps in F_SETLKW (tests wait for a blocked owner with it).
pub fn is_waiting(owner: u64) -> bool {
    WAITS.lock().contains_key(&owner)
}

/// A file's record locks, sorted by start.
pub struct LockList {
    locks: SpinLock<Vec<Range>>,
}

impl Default for LockList {
    fn default() -> Self {
        Self::new()
    }
}

impl LockList {
    /// No locks.
    pub const fn new() -> LockList {
        LockList { locks: SpinLock::new(Vec::new()) }
    }

    fn ident(&self) -> usize {
        ident_of(self)
    }

    /// The first lock of another owner that conflicts with `kind` over `[start, end)`
    /// (F_GETLK).
    pub fn conflict(&self, owner: u64, kind: Kind, start: u64, end: u64) -> Option<Range> {
        let l = self.locks.lock();
        find_conflict(&l, owner, kind, start, end)
    }

    /// Sets a lock (F_SETLK; with `wait`, F_SETLKW). EAGAIN when another owner holds a
    /// conflicting lock and `wait` is false; EDEADLK when waiting would close a cycle; EINTR
    /// when a signal ends the wait.
    pub fn set(&self, owner: u64, kind: Kind, start: u64, end: u64, wait: bool) -> Result<(), i32> {
        self.set_lock(owner, kind, start, end, wait, true)
    }

    /// Sets a lock owned by an open file description (F_OFD_SETLK, F_OFD_SETLKW): as
    /// [`set`], but without deadlock detection (Linux has none for OFD locks).
    ///
    /// [`set`]: LockList::set
    pub fn set_ofd(&self, owner: u64, kind: Kind, start: u64, end: u64, wait: bool) -> Result<(), i32> {
        self.set_lock(owner, kind, start, end, wait, false)
    }

    /// Sets a whole-file flock(2) lock for the open file description `owner`: as [`set`],
    /// but without deadlock detection (Linux has none for flock).
    ///
    /// [`set`]: LockList::set
    pub fn set_flock(&self, owner: u64, kind: Kind, wait: bool) -> Result<(), i32> {
        self.set_lock(owner, kind, 0, u64::MAX, wait, false)
    }

    fn set_lock(
        &self,
        owner: u64,
        kind: Kind,
        start: u64,
        end: u64,
        wait: bool,
        detect: bool,
    ) -> Result<(), i32> {
        loop {
            let mut l = self.locks.lock();
            let Some(c) = find_conflict(&l, owner, kind, start, end) else {
                let r = apply(&mut l, owner, Some(kind), start, end);
                drop(l);
                // Upgrading or downgrading can shrink what another waiter sees as blocked.
                wakeup(self.ident());
                return r;
            };
            if !wait {
                return Err(EAGAIN);
            }
            if detect {
                let mut w = WAITS.lock();
                // Follow the chain from the blocker: if it leads back to us, sleeping would
                // never end.
                let mut cur = c.owner;
                for _ in 0..MAX_CHAIN {
                    if cur == owner {
                        return Err(EDEADLK);
                    }
                    match w.get(&cur) {
                        Some(&next) => cur = next,
                        None => break,
                    }
                }
                w.insert(owner, c.owner);
            }
            tsleep_interlock(self.ident());
            drop(l);
            // A signal ends the wait (kernel threads have none: they wait for the lock).
            let r = tsleep(self.ident(), PINTERLOCKED | PCATCH, "lockf", 0);
            if detect {
                WAITS.lock().remove(&owner);
            }
            if r == Err(EINTR) {
                return Err(EINTR);
            }
        }
    }

    /// Removes `owner`'s locks over `[start, end)` (F_UNLCK), splitting ranges at the edges.
    pub fn unlock(&self, owner: u64, start: u64, end: u64) -> Result<(), i32> {
        let r = apply(&mut self.locks.lock(), owner, None, start, end);
        wakeup(self.ident());
        r
    }

    /// Drops every lock `owner` holds on the file (close of any descriptor for it).
    pub fn release_owner(&self, owner: u64) {
        let mut l = self.locks.lock();
        let before = l.len();
        l.retain(|r| r.owner != owner);
        let changed = l.len() != before;
        drop(l);
        if changed {
            wakeup(self.ident());
        }
    }

    /// A copy of the locks (tests and /proc/locks).
    pub fn snapshot(&self) -> Vec<Range> {
        self.locks.lock().clone()
    }
}

fn find_conflict(l: &[Range], owner: u64, kind: Kind, start: u64, end: u64) -> Option<Range> {
    l.iter()
        .find(|r| {
            r.owner != owner && r.overlaps(start, end) && (kind == Kind::Write || r.kind == Kind::Write)
        })
        .copied()
}

/// Replaces `owner`'s coverage of `[start, end)` with `kind` (None: unlock), splitting and
/// merging. Builds the new list first, so a failed allocation leaves the old one intact.
fn apply(l: &mut Vec<Range>, owner: u64, kind: Option<Kind>, start: u64, end: u64) -> Result<(), i32> {
    let mut out: Vec<Range> = Vec::new();
    out.try_reserve(l.len() + 2).map_err(|_| ENOLCK)?;
    let (mut new_start, mut new_end) = (start, end);
    for r in l.iter() {
        if r.owner != owner {
            out.push(*r);
            continue;
        }
        // Adjacent or overlapping locks of the same type merge into the new one.
        if Some(r.kind) == kind && r.start <= end && start <= r.end {
            new_start = new_start.min(r.start);
            new_end = new_end.max(r.end);
            continue;
        }
        if !r.overlaps(start, end) {
            out.push(*r);
            continue;
        }
        // Keep the parts outside the range.
        if r.start < start {
            out.push(Range { end: start, ..*r });
        }
        if r.end > end {
            out.push(Range { start: end, ..*r });
        }
    }
    if let Some(k) = kind {
        out.push(Range { start: new_start, end: new_end, kind: k, owner });
    }
    if out.len() > MAX_LOCKS {
        return Err(ENOLCK);
    }
    out.sort_unstable_by_key(|r| (r.start, r.owner));
    *l = out;
    Ok(())
}
