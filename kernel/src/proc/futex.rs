//! Futexes (Linux's futex(2); DragonFly's kern_umtx.c is the same idea): threads sleep on a
//! 32-bit user word and are woken by address.
//!
//! A futex is named by a key: private ones by (address space, user address), shared ones
//! in a MAP_SHARED mapping by (VM object, byte offset), so processes mapping the same
//! object at different addresses meet. A physical address is no key: the page may not
//! exist before first touch and changes on copy-on-write.
//!
//! Waiting has no lost-wakeup window without holding a lock across a user access (which may
//! fault and sleep): the waiter queues itself and interlocks its sleep first, then reads the
//! word. A waker changes the word before it wakes, so either the waiter reads the new value
//! (EAGAIN) or the waker finds it queued. Each waiter sleeps on its own ident, which makes
//! requeueing a matter of changing its key.
use super::Lwp;
use crate::arch::x86_64::copyio::{cas_u32, fetch_u32, fetch_u64};
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_cancel, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use crate::vm::map::EntryFlags;
use crate::vm::object::VmObject;
use crate::vm::{VmSpace, PAGE};
use abi::errno::*;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What names a futex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// (address space, user address).
    Private(usize, u64),
    /// (VM object, byte offset in it).
    Shared(usize, u64),
}

impl Key {
    fn hash(&self) -> usize {
        let (a, b) = match *self {
            Key::Private(a, b) | Key::Shared(a, b) => (a as u64, b),
        };
        let h = (a ^ b.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 58) as usize % BUCKETS
    }
}

/// A key plus what keeps the thing it names alive while someone waits on it.
struct Named {
    key: Key,
    _pin: Option<Arc<VmObject>>,
}

struct Waiter {
    key: SpinLock<Key>,
    bitset: u32,
    woken: AtomicBool,
}

const BUCKETS: usize = 64;

static QUEUES: [SpinLock<Vec<Arc<Waiter>>>; BUCKETS] = [const { SpinLock::new(Vec::new()) }; BUCKETS];

/// Futex waits that slept, and wakes that woke someone (for tests and /proc/kcounters).
pub static WAITS: AtomicU64 = AtomicU64::new(0);
pub static WAKES: AtomicU64 = AtomicU64::new(0);

fn current_vmspace() -> Result<Arc<VmSpace>, i32> {
    Ok(crate::lwkt::sched::curthread().user().ok_or(EINVAL)?.vmspace())
}

/// The key of the word at `uaddr` in the caller's address space. `shared`: the caller did
/// not say FUTEX_PRIVATE_FLAG, so a MAP_SHARED mapping keys by its object.
fn key_of(uaddr: u64, shared: bool) -> Result<Named, i32> {
    if !uaddr.is_multiple_of(4) {
        return Err(EINVAL);
    }
    let vs = current_vmspace()?;
    if shared {
        let e = vs.entry_at(uaddr).ok_or(EFAULT)?;
        if e.flags.contains(EntryFlags::SHARED) {
            let off = e.pindex(uaddr) * PAGE + uaddr % PAGE;
            return Ok(Named {
                key: Key::Shared(Arc::as_ptr(&e.object) as usize, off),
                _pin: Some(e.object),
            });
        }
    }
    Ok(Named { key: Key::Private(Arc::as_ptr(&vs) as usize, uaddr), _pin: None })
}

/// When a wait gives up: at a deadline on the monotonic clock (ns), or never.
pub type Deadline = Option<u64>;

fn dequeue(w: &Arc<Waiter>) {
    loop {
        let k = *w.key.lock();
        let mut q = QUEUES[k.hash()].lock();
        // A requeue may have moved it meanwhile (keys change with both queues locked):
        // look where its key says now.
        if *w.key.lock() != k {
            continue;
        }
        q.retain(|x| !Arc::ptr_eq(x, w));
        release_if_empty(&mut q);
        return;
    }
}

/// FUTEX_WAIT(_BITSET): sleeps while the word at `uaddr` holds `val`, until woken (Ok),
/// the deadline passes (ETIMEDOUT), a signal comes (EINTR), or the word differs (EAGAIN).
pub fn wait(uaddr: u64, val: u32, deadline: Deadline, bitset: u32, shared: bool) -> Result<u64, i32> {
    if bitset == 0 {
        return Err(EINVAL);
    }
    let named = key_of(uaddr, shared)?;
    let w = Arc::new(Waiter { key: SpinLock::new(named.key), bitset, woken: AtomicBool::new(false) });
    let ident = ident_of(&*w);
    {
        let mut q = QUEUES[named.key.hash()].lock();
        q.try_reserve(1).map_err(|_| ENOMEM)?;
        q.push(w.clone());
    }
    tsleep_interlock(ident);
    match fetch_u32(uaddr) {
        Ok(v) if v == val => {}
        r => {
            tsleep_cancel();
            dequeue(&w);
            return Err(r.err().unwrap_or(EAGAIN));
        }
    }
    WAITS.fetch_add(1, Ordering::Relaxed);
    let tick = 1_000_000_000 / crate::lwkt::clock::HZ;
    loop {
        if w.woken.load(Ordering::Acquire) {
            tsleep_cancel();
            return Ok(0);
        }
        let ticks = match deadline {
            None => 0,
            Some(d) => {
                let now = crate::time::nanotime();
                if now >= d {
                    tsleep_cancel();
                    dequeue(&w);
                    return if w.woken.load(Ordering::Acquire) { Ok(0) } else { Err(ETIMEDOUT) };
                }
                (d - now).div_ceil(tick).max(1)
            }
        };
        if tsleep(ident, PINTERLOCKED | PCATCH, "futex", ticks) == Err(EINTR) {
            dequeue(&w);
            return if w.woken.load(Ordering::Acquire) { Ok(0) } else { Err(EINTR) };
        }
        tsleep_interlock(ident);
    }
}

/// An emptied queue gives its buffer back: a bucket that waits once in a while must not
/// keep memory for ever (the kcounters leak checks see it as a leak otherwise).
fn release_if_empty(q: &mut Vec<Arc<Waiter>>) {
    if q.is_empty() {
        *q = Vec::new();
    }
}

/// Takes up to `n` waiters on `key` whose bitset meets `bitset` off `q`.
fn take(q: &mut Vec<Arc<Waiter>>, key: Key, bitset: u32, n: u32) -> Vec<Arc<Waiter>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < q.len() && out.len() < n as usize {
        if *q[i].key.lock() == key && q[i].bitset & bitset != 0 {
            out.push(q.remove(i));
        } else {
            i += 1;
        }
    }
    release_if_empty(q);
    out
}

fn wake_all(ws: Vec<Arc<Waiter>>) -> u64 {
    let n = ws.len() as u64;
    for w in ws {
        w.woken.store(true, Ordering::Release);
        wakeup(ident_of(&*w));
    }
    WAKES.fetch_add(n, Ordering::Relaxed);
    n
}

fn wake_key(key: Key, n: u32, bitset: u32) -> u64 {
    let ws = take(&mut QUEUES[key.hash()].lock(), key, bitset, n);
    wake_all(ws)
}

/// FUTEX_WAKE(_BITSET): wakes up to `n` waiters on the word at `uaddr`; returns how many.
pub fn wake(uaddr: u64, n: u32, bitset: u32, shared: bool) -> Result<u64, i32> {
    if bitset == 0 {
        return Err(EINVAL);
    }
    let named = key_of(uaddr, shared)?;
    Ok(wake_key(named.key, n, bitset))
}

/// Wakes up to `n` waiters at `uaddr` in the calling thread's address space, keyed as a
/// shared futex would be (the clear_child_tid wake at thread exit and exec, which Linux
/// does without FUTEX_PRIVATE_FLAG).
pub fn wake_addr(uaddr: u64, n: u32) -> Result<u64, i32> {
    wake(uaddr, n, u32::MAX, true)
}

/// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wakes up to `nwake` waiters at `uaddr`, moves up to
/// `nmove` more to wait at `uaddr2`; with `cmp`, first checks the word at `uaddr` still
/// holds it (EAGAIN if not). Returns woken plus moved.
pub fn requeue(
    uaddr: u64,
    uaddr2: u64,
    nwake: u32,
    nmove: u32,
    cmp: Option<u32>,
    shared: bool,
) -> Result<u64, i32> {
    let from = key_of(uaddr, shared)?;
    let to = key_of(uaddr2, shared)?;
    if let Some(c) = cmp {
        if fetch_u32(uaddr)? != c {
            return Err(EAGAIN);
        }
    }
    // Both queues locked (in index order): a waiter's key changes only under both, so a
    // dequeue that holds the queue its key names sees it there.
    let (ha, hb) = (from.key.hash(), to.key.hash());
    let (woken, moved) = if ha == hb {
        shift(&mut QUEUES[ha].lock(), None, from.key, to.key, nwake, nmove)
    } else {
        let (mut qa, mut qb) = if ha < hb {
            let a = QUEUES[ha].lock();
            (a, QUEUES[hb].lock())
        } else {
            let b = QUEUES[hb].lock();
            (QUEUES[ha].lock(), b)
        };
        qb.try_reserve(qa.len().min(nmove as usize)).map_err(|_| ENOMEM)?;
        shift(&mut qa, Some(&mut qb), from.key, to.key, nwake, nmove)
    };
    Ok(wake_all(woken) + moved)
}

/// Requeue's core, with the queues locked: takes up to `nwake` waiters on `from` to wake,
/// and moves up to `nmove` more to `to` (into `dest`, or the same queue).
fn shift(
    q: &mut Vec<Arc<Waiter>>,
    dest: Option<&mut Vec<Arc<Waiter>>>,
    from: Key,
    to: Key,
    nwake: u32,
    nmove: u32,
) -> (Vec<Arc<Waiter>>, u64) {
    let woken = take(q, from, u32::MAX, nwake);
    let moved = take(q, from, u32::MAX, nmove);
    let n = moved.len() as u64;
    let dest = match dest {
        Some(d) => d,
        None => q,
    };
    for w in moved {
        *w.key.lock() = to;
        dest.push(w);
    }
    (woken, n)
}

/// FUTEX_WAKE_OP: atomically applies `op` to the word at `uaddr2`, wakes up to `n1` at
/// `uaddr`, and, if the old value of `uaddr2` passes `op`'s comparison, up to `n2` there.
pub fn wake_op(uaddr: u64, uaddr2: u64, n1: u32, n2: u32, op: u32, shared: bool) -> Result<u64, i32> {
    let k1 = key_of(uaddr, shared)?;
    let k2 = key_of(uaddr2, shared)?;
    let (kind, cmp) = ((op >> 28) & 0xf, (op >> 24) & 0xf);
    let shift_arg = kind & 8 != 0;
    let mut oparg = (op >> 12) & 0xfff;
    let cmparg = op & 0xfff;
    // Sign-extend the 12-bit fields, as Linux does.
    let sext = |v: u32| ((v << 20) as i32 >> 20) as u32;
    oparg = sext(oparg);
    let cmparg = sext(cmparg) as i32;
    if shift_arg {
        if oparg > 31 {
            return Err(EINVAL);
        }
        oparg = 1 << oparg;
    }
    let mut old = fetch_u32(uaddr2)?;
    loop {
        let new = match kind & 7 {
            0 => oparg,
            1 => old.wrapping_add(oparg),
            2 => old | oparg,
            3 => old & !oparg,
            4 => old ^ oparg,
            _ => return Err(ENOSYS),
        };
        let seen = cas_u32(uaddr2, old, new)?;
        if seen == old {
            break;
        }
        old = seen;
    }
    let o = old as i32;
    let pass = match cmp {
        0 => o == cmparg,
        1 => o != cmparg,
        2 => o < cmparg,
        3 => o <= cmparg,
        4 => o > cmparg,
        5 => o >= cmparg,
        _ => return Err(ENOSYS),
    };
    let mut n = wake_key(k1.key, n1, u32::MAX);
    if pass {
        n += wake_key(k2.key, n2, u32::MAX);
    }
    Ok(n)
}

/// The robust-futex word bits.
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Most list entries walked (Linux's ROBUST_LIST_LIMIT), so a looped list ends.
const ROBUST_LIST_LIMIT: usize = 2048;

/// The thread is ending: every robust futex it still owns is marked FUTEX_OWNER_DIED and
/// one waiter woken (Linux's exit_robust_list). The list is user memory: any fault or
/// nonsense just ends the walk.
pub fn exit_robust_list(lwp: &Lwp) {
    let head = lwp.robust_list.swap(0, Ordering::Relaxed);
    if head == 0 {
        return;
    }
    // struct robust_list_head { list.next, futex_offset, list_op_pending }.
    let (Ok(mut entry), Ok(offset), Ok(pending)) =
        (fetch_u64(head), fetch_u64(head.wrapping_add(8)), fetch_u64(head.wrapping_add(16)))
    else {
        return;
    };
    let tid = lwp.tid();
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry == head || entry == 0 {
            break;
        }
        let Ok(next) = fetch_u64(entry) else { break };
        // The pending entry is handled last (it may or may not be on the list).
        if entry != pending {
            handle_dead_owner(entry.wrapping_add(offset), tid);
        }
        entry = next & !1;
    }
    if pending != 0 {
        handle_dead_owner((pending & !1).wrapping_add(offset), tid);
    }
}

fn handle_dead_owner(uaddr: u64, tid: u32) {
    let Ok(mut v) = fetch_u32(uaddr) else { return };
    loop {
        if v & FUTEX_TID_MASK != tid {
            return;
        }
        let new = v & FUTEX_WAITERS | FUTEX_OWNER_DIED;
        match cas_u32(uaddr, v, new) {
            Ok(seen) if seen == v => break,
            Ok(seen) => v = seen,
            Err(_) => return,
        }
    }
    if v & FUTEX_WAITERS != 0 {
        let _ = wake(uaddr, 1, u32::MAX, true);
    }
}
