//! epoll (Linux's eventpoll, built the way DragonFly builds its Linux epoll on kqueue): an
//! epoll instance is a file whose registrations are persistent knotes on the watched files.
//! A registration is keyed by (open file description, descriptor number), as Linux keys its
//! epitems. Its knote's sink is the registration itself: a post queues it on the instance's
//! ready list (once) and wakes the waiters. epoll_wait takes the ready list, asks each file
//! for its events now, reports those that have some, and puts level-triggered ones back (a
//! later wait asks again); edge-triggered ones wait for the next post, one-shot ones are
//! disabled until EPOLL_CTL_MOD re-arms them.
//!
//! Lifetimes: the instance holds its registrations; a registration refers to its file and
//! instance weakly; the watched file keeps a [`Watchers`] list of (instance, knote) links, so
//! the last close of the file detaches its knotes and tells each instance to forget it
//! (Linux's eventpoll_release), and the last close of the instance detaches every knote it
//! has. Nothing is locked while another lock is taken, except a knote list's lock over the
//! sink's ready-list lock (a post), so no lock order can cycle.
use super::{AnonFile, KnList, Knote, KnoteSink};
use crate::lwkt::clock::HZ;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_cancel, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use crate::vfs::file::File;
use abi::epoll::*;
use abi::errno::{EEXIST, EINTR, EINVAL, ELOOP, ENOENT, ENOMEM, EPERM};
use abi::poll::{POLLIN, POLLRDNORM};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Live epoll instances (/proc/kcounters: leak checks).
pub static EPOLLS: AtomicU64 = AtomicU64::new(0);
/// Live registrations, attached knotes included (/proc/kcounters).
pub static EPOLL_REGS: AtomicU64 = AtomicU64::new(0);

/// How deep epoll instances may nest (Linux's EP_MAX_NESTS).
const MAX_NESTS: usize = 4;

/// One registration (Linux's epitem).
struct Reg {
    me: Weak<Reg>,
    ep: Weak<Epoll>,
    file: Weak<File>,
    /// The events asked for (EPOLLERR and EPOLLHUP always; 0 events once a one-shot fired)
    /// with the flags, and the user's data.
    ev: SpinLock<(u32, u64)>,
    /// On the ready list (queued at most once).
    queued: AtomicBool,
    /// Still registered (a wait holding it off the list must not report it after a DEL).
    live: AtomicBool,
}

impl Drop for Reg {
    fn drop(&mut self) {
        EPOLL_REGS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl KnoteSink for Reg {
    fn notify(&self, _id: usize, events: u16) {
        let want = self.ev.lock().0 & !EPOLL_FLAGS;
        if want & events as u32 == 0 || !self.live.load(Ordering::Acquire) {
            return;
        }
        if let (Some(ep), Some(me)) = (self.ep.upgrade(), self.me.upgrade()) {
            ep.enqueue(me);
        }
    }
}

#[derive(Clone)]
struct Entry {
    reg: Arc<Reg>,
    kn: Arc<Knote>,
}

/// An epoll instance.
pub struct Epoll {
    me: Weak<Epoll>,
    /// Registrations by (file description address, descriptor).
    regs: SpinLock<BTreeMap<(usize, i32), Entry>>,
    ready: SpinLock<VecDeque<Arc<Reg>>>,
    /// Knotes on the instance itself (poll on an epoll fd, nested epoll).
    knotes: KnList,
}

impl Drop for Epoll {
    fn drop(&mut self) {
        EPOLLS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The epoll instances watching a file, with the knote each attached to it.
pub struct Watchers(SpinLock<Vec<(Weak<Epoll>, Arc<Knote>)>>);

impl Default for Watchers {
    fn default() -> Self {
        Self::new()
    }
}

impl Watchers {
    /// None.
    pub const fn new() -> Watchers {
        Watchers(SpinLock::new(Vec::new()))
    }

    fn add(&self, ep: Weak<Epoll>, kn: Arc<Knote>) -> Result<(), i32> {
        let mut l = self.0.lock();
        l.try_reserve(1).map_err(|_| ENOMEM)?;
        l.push((ep, kn));
        Ok(())
    }

    fn remove(&self, kn: &Arc<Knote>) {
        let mut l = self.0.lock();
        l.retain(|(_, k)| !Arc::ptr_eq(k, kn));
        // The last watcher gone, the buffer goes too: a description that lives on (the
        // console's, shared from init) must not keep memory for each epoll that saw it.
        if l.is_empty() {
            *l = Vec::new();
        }
    }

    /// The file at `key` is closing for the last time (`kl`: its knotes): detaches every
    /// epoll knote from it and makes each instance forget its registrations of the file.
    pub fn file_closed(&self, key: usize, kl: Option<&KnList>) {
        let links = core::mem::take(&mut *self.0.lock());
        for (ep, kn) in links {
            if let Some(kl) = kl {
                kl.detach(&kn);
            }
            if let Some(ep) = ep.upgrade() {
                ep.forget(key);
            }
        }
    }
}

/// The epoll instance behind a file, if it is one.
pub fn of(f: &File) -> Option<&Epoll> {
    f.anon_obj()?.as_any().downcast_ref::<Epoll>()
}

fn key(f: &Arc<File>, fd: i32) -> (usize, i32) {
    (Arc::as_ptr(f) as usize, fd)
}

impl Epoll {
    /// A new instance with no registrations.
    pub fn new() -> Arc<Epoll> {
        EPOLLS.fetch_add(1, Ordering::Relaxed);
        Arc::new_cyclic(|me| Epoll {
            me: me.clone(),
            regs: SpinLock::new(BTreeMap::new()),
            ready: SpinLock::new(VecDeque::new()),
            knotes: KnList::new(),
        })
    }

    fn ident(&self) -> usize {
        ident_of(self)
    }

    /// Registrations (tests).
    pub fn len(&self) -> usize {
        self.regs.lock().len()
    }

    /// Registrations on the ready list (tests).
    pub fn ready_len(&self) -> usize {
        self.ready.lock().len()
    }

    fn enqueue(&self, reg: Arc<Reg>) {
        if !reg.queued.swap(true, Ordering::AcqRel) {
            self.ready.lock().push_back(reg);
        }
        wakeup(self.ident());
        self.knotes.post(POLLIN | POLLRDNORM);
    }

    /// Queues `reg` when its file already has some of the events it asks for.
    fn check_now(&self, reg: &Arc<Reg>, file: &File) {
        let want = reg.ev.lock().0 & !EPOLL_FLAGS;
        if file.poll(want as u16) as u32 & want != 0 {
            self.enqueue(reg.clone());
        }
    }

    /// Forgets every registration of the file at `key` (its last close).
    fn forget(&self, key: usize) {
        let gone: Vec<Entry> = {
            let mut regs = self.regs.lock();
            let keys: Vec<(usize, i32)> =
                regs.range((key, i32::MIN)..=(key, i32::MAX)).map(|(k, _)| *k).collect();
            keys.iter().filter_map(|k| regs.remove(k)).collect()
        };
        for e in &gone {
            e.reg.live.store(false, Ordering::Release);
        }
        self.ready.lock().retain(|r| r.live.load(Ordering::Acquire));
    }

    /// Whether `target` can be reached from this instance through nested instances, or the
    /// nesting below it is deeper than Linux allows (ELOOP either way).
    fn reaches(&self, target: *const Epoll, depth: usize) -> Result<(), i32> {
        if depth > MAX_NESTS {
            return Err(ELOOP);
        }
        let files: Vec<Arc<File>> = self.regs.lock().values().filter_map(|e| e.reg.file.upgrade()).collect();
        for f in &files {
            if let Some(inner) = of(f) {
                if core::ptr::eq(inner, target) {
                    return Err(ELOOP);
                }
                inner.reaches(target, depth + 1)?;
            }
        }
        Ok(())
    }

    /// epoll_ctl(op, fd, {events, data}) with `file` the description `fd` names. The caller
    /// has checked the descriptors; this checks the rest in Linux's order.
    pub fn ctl(&self, op: u32, fd: i32, file: &Arc<File>, events: u32, data: u64) -> Result<(), i32> {
        let Some(kl) = file.knlist() else {
            // Regular files and directories are always ready: Linux refuses them.
            return Err(EPERM);
        };
        let target = of(file);
        let exclusive = matches!(op, EPOLL_CTL_ADD | EPOLL_CTL_MOD) && events & EPOLLEXCLUSIVE != 0;
        if exclusive && (op == EPOLL_CTL_MOD || target.is_some() || events & !EPOLLEXCLUSIVE_OK_BITS != 0) {
            return Err(EINVAL);
        }
        if target.is_some_and(|t| core::ptr::eq(t, self)) {
            return Err(EINVAL);
        }
        // EPOLLWAKEUP needs CAP_BLOCK_SUSPEND, and there is no suspend: dropped as Linux
        // drops it for a caller without the capability.
        let events = (events & !EPOLLWAKEUP) | EPOLLERR | EPOLLHUP;
        let k = key(file, fd);
        match op {
            EPOLL_CTL_ADD => {
                if let Some(t) = target {
                    t.reaches(self, 1)?;
                }
                let mut regs = self.regs.lock();
                if regs.contains_key(&k) {
                    return Err(EEXIST);
                }
                EPOLL_REGS.fetch_add(1, Ordering::Relaxed);
                let reg = Arc::new_cyclic(|me| Reg {
                    me: me.clone(),
                    ep: self.me.clone(),
                    file: Arc::downgrade(file),
                    ev: SpinLock::new((events, data)),
                    queued: AtomicBool::new(false),
                    live: AtomicBool::new(true),
                });
                // Every event: the registration filters, since MOD changes what it wants.
                let kn = Knote::new(reg.clone(), fd as usize, u16::MAX);
                regs.insert(k, Entry { reg: reg.clone(), kn: kn.clone() });
                drop(regs);
                let linked =
                    kl.attach(kn.clone()).and_then(|_| file.watchers().add(self.me.clone(), kn.clone()));
                if let Err(e) = linked {
                    kl.detach(&kn);
                    self.regs.lock().remove(&k);
                    reg.live.store(false, Ordering::Release);
                    return Err(e);
                }
                self.check_now(&reg, file);
                Ok(())
            }
            EPOLL_CTL_MOD => {
                let reg = {
                    let regs = self.regs.lock();
                    let e = regs.get(&k).ok_or(ENOENT)?;
                    let mut ev = e.reg.ev.lock();
                    if ev.0 & EPOLLEXCLUSIVE != 0 {
                        return Err(EINVAL);
                    }
                    *ev = (events, data);
                    e.reg.clone()
                };
                self.check_now(&reg, file);
                Ok(())
            }
            EPOLL_CTL_DEL => {
                let e = self.regs.lock().remove(&k).ok_or(ENOENT)?;
                e.reg.live.store(false, Ordering::Release);
                kl.detach(&e.kn);
                file.watchers().remove(&e.kn);
                self.ready.lock().retain(|r| !Arc::ptr_eq(r, &e.reg));
                Ok(())
            }
            _ => Err(EINVAL),
        }
    }

    /// Takes up to `max` ready registrations and reports those whose files have events now
    /// (Linux's ep_send_events): level-triggered ones go back on the list, one-shot ones are
    /// disabled.
    fn collect(&self, max: usize) -> Vec<(u32, u64)> {
        let mut batch = core::mem::take(&mut *self.ready.lock());
        let mut out = Vec::new();
        let mut again = Vec::new();
        while out.len() < max {
            let Some(reg) = batch.pop_front() else { break };
            // Cleared before asking, so a post from now on queues it again.
            reg.queued.store(false, Ordering::Release);
            if !reg.live.load(Ordering::Acquire) {
                continue;
            }
            let Some(file) = reg.file.upgrade() else { continue };
            let (mask, data) = *reg.ev.lock();
            let want = mask & !EPOLL_FLAGS;
            let got = if want == 0 { 0 } else { file.poll(want as u16) as u32 & want };
            drop(file);
            if got == 0 {
                continue;
            }
            if out.try_reserve(1).is_err() || again.try_reserve(1).is_err() {
                // Leave it queued: the next wait reports it.
                batch.push_front(reg);
                break;
            }
            out.push((got, data));
            if mask & EPOLLONESHOT != 0 {
                reg.ev.lock().0 &= EPOLL_FLAGS;
            } else if mask & EPOLLET == 0 {
                again.push(reg);
            }
        }
        let mut ready = self.ready.lock();
        // Not looked at (max reached): first in line next time, still marked queued.
        for r in batch.into_iter().rev() {
            ready.push_front(r);
        }
        for r in again {
            if !r.queued.swap(true, Ordering::AcqRel) {
                ready.push_back(r);
            }
        }
        out
    }

    /// epoll_wait: up to `max` (events, data) pairs, waiting until one is ready, for at most
    /// `timeout_ns` (None: forever; Some(0): not at all). EINTR when a signal comes first.
    pub fn wait(&self, max: usize, timeout_ns: Option<u64>) -> Result<Vec<(u32, u64)>, i32> {
        let end = timeout_ns.map(|t| crate::time::nanotime().saturating_add(t));
        loop {
            tsleep_interlock(self.ident());
            let out = self.collect(max);
            if !out.is_empty() {
                tsleep_cancel();
                return Ok(out);
            }
            let now = crate::time::nanotime();
            let left = match end {
                None => None,
                Some(e) if now >= e => {
                    tsleep_cancel();
                    return Ok(out);
                }
                Some(e) => Some(e - now),
            };
            // Ticks, rounded up so a short timeout still sleeps (0 would mean forever).
            let timo = left.map_or(0, |ns| ns.saturating_mul(HZ).div_ceil(1_000_000_000).max(1));
            if tsleep(self.ident(), PINTERLOCKED | PCATCH, "epoll", timo) == Err(EINTR) {
                return Err(EINTR);
            }
        }
    }
}

impl AnonFile for Epoll {
    fn read(&self, _: &mut [u8], _: bool) -> Result<usize, i32> {
        Err(EINVAL)
    }

    fn write(&self, _: &[u8], _: bool) -> Result<usize, i32> {
        Err(EINVAL)
    }

    /// Readable when a queued registration has events now (Linux's ep_eventpoll_poll).
    fn poll(&self) -> u16 {
        let queued: Vec<Arc<Reg>> = self.ready.lock().iter().cloned().collect();
        let any = queued.iter().any(|r| {
            let want = r.ev.lock().0 & !EPOLL_FLAGS;
            r.live.load(Ordering::Acquire)
                && want != 0
                && r.file.upgrade().is_some_and(|f| f.poll(want as u16) as u32 & want != 0)
        });
        if any {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }

    fn knlist(&self) -> &KnList {
        &self.knotes
    }

    /// Detaches every knote (the instance's last close).
    fn close(&self) {
        let all = core::mem::take(&mut *self.regs.lock());
        for e in all.values() {
            e.reg.live.store(false, Ordering::Release);
            if let Some(f) = e.reg.file.upgrade() {
                if let Some(kl) = f.knlist() {
                    kl.detach(&e.kn);
                }
                f.watchers().remove(&e.kn);
            }
        }
        self.ready.lock().clear();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
