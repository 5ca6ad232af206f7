//! poll(2) and select(2) on knotes (DragonFly runs both on an internal kqueue): the call
//! attaches a knote per descriptor whose object can change readiness, then repeats
//! "interlock, ask every file for its events, sleep" until something is ready, the timeout
//! passes, or (later) a signal comes. A knote post wakes the sleeper from any CPU; because
//! the interlock comes before the check, a post between the check and the sleep is not lost.
use super::{Knote, KnoteSink};
use crate::lwkt::clock::HZ;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_cancel, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::vfs::file::File;
use crate::vfs::filedesc::FileDesc;
use abi::errno::{EBADF, EINTR, EINVAL, ENOMEM};
use abi::poll::{PollFd, POLLNVAL, SELECT_EXCEPT, SELECT_READ, SELECT_WRITE};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

/// The sink of one poll call: counts posts and wakes the caller.
struct Waiter {
    posts: AtomicU64,
}

impl KnoteSink for Waiter {
    fn notify(&self, _id: usize, _events: u16) {
        self.posts.fetch_add(1, Ordering::AcqRel);
        wakeup(ident_of(self));
    }
}

/// Wakeups that came from a knote post (tests check the sleep path really ran).
pub static POLL_WAKEUPS: AtomicU64 = AtomicU64::new(0);

/// How long to wait: `ms` < 0 forever, 0 not at all.
fn deadline(ms: i64) -> Option<u64> {
    (ms >= 0).then(|| crate::time::nanotime().saturating_add((ms as u64).saturating_mul(1_000_000)))
}

/// The engine under poll and select: `bad_fd_is_error` makes a closed descriptor EBADF
/// (select) instead of POLLNVAL (poll). Returns how many entries have events.
fn poll_files(
    fdt: &FileDesc,
    fds: &mut [PollFd],
    timeout_ms: i64,
    bad_fd_is_error: bool,
) -> Result<usize, i32> {
    let mut files: Vec<Option<Arc<File>>> = Vec::new();
    files.try_reserve_exact(fds.len()).map_err(|_| ENOMEM)?;
    for p in fds.iter() {
        files.push(if p.fd < 0 { None } else { fdt.get(p.fd).ok() });
        if bad_fd_is_error && p.fd >= 0 && files.last().is_some_and(Option::is_none) {
            return Err(EBADF);
        }
    }
    let waiter = Arc::new(Waiter { posts: AtomicU64::new(0) });
    let ident = ident_of(&*waiter);
    let mut notes: Vec<(Arc<File>, Arc<Knote>)> = Vec::new();
    notes.try_reserve_exact(fds.len()).map_err(|_| ENOMEM)?;
    let mut result = Ok(0);
    for (i, (p, f)) in fds.iter().zip(files.iter()).enumerate() {
        if let Some(f) = f {
            if let Some(kl) = f.knlist() {
                let kn = Knote::new(waiter.clone(), i, p.events);
                if let Err(e) = kl.attach(kn.clone()) {
                    result = Err(e);
                    break;
                }
                notes.push((f.clone(), kn));
            }
        }
    }
    if result.is_ok() {
        let end = deadline(timeout_ms);
        result = loop {
            tsleep_interlock(ident);
            let seen = waiter.posts.load(Ordering::Acquire);
            let mut ready = 0;
            for (p, f) in fds.iter_mut().zip(files.iter()) {
                p.revents = match (p.fd, f) {
                    (fd, _) if fd < 0 => 0,
                    (_, None) => POLLNVAL,
                    (_, Some(f)) => f.poll(p.events),
                };
                if p.revents != 0 {
                    ready += 1;
                }
            }
            let now = crate::time::nanotime();
            let left = match end {
                None => None,
                Some(e) if now >= e => Some(0),
                Some(e) => Some(e - now),
            };
            if ready > 0 || left == Some(0) {
                tsleep_cancel();
                break Ok(ready);
            }
            // Ticks, rounded up so a short timeout still sleeps (0 would mean forever).
            let timo = left.map_or(0, |ns| (ns.saturating_mul(HZ)).div_ceil(1_000_000_000).max(1));
            if tsleep(ident, PINTERLOCKED | PCATCH, "poll", timo) == Err(EINTR) {
                break Err(EINTR);
            }
            if waiter.posts.load(Ordering::Acquire) != seen {
                POLL_WAKEUPS.fetch_add(1, Ordering::Relaxed);
            }
        };
    }
    for (f, kn) in &notes {
        if let Some(kl) = f.knlist() {
            kl.detach(kn);
        }
    }
    result
}

/// poll(2): fills each entry's revents (POLLNVAL for a descriptor that is not open, 0 for a
/// negative one; POLLHUP and POLLERR whether asked for or not) and returns how many entries
/// have any. `timeout_ms` < 0 waits forever, 0 returns at once. EINVAL when there are more
/// entries than the descriptor cap.
pub fn poll(fdt: &FileDesc, fds: &mut [PollFd], timeout_ms: i64) -> Result<usize, i32> {
    if fds.len() > fdt.limit() {
        return Err(EINVAL);
    }
    poll_files(fdt, fds, timeout_ms, false)
}

/// select(2) over bitsets (64 descriptors per word, as `fd_set` on x86_64): descriptors
/// below `nfds` set in `read`, `write` or `except` are watched; on return each set holds
/// the ready ones and the result counts the bits set. EBADF for a set descriptor that is not
/// open, EINVAL for a negative `nfds`.
pub fn select<'a>(
    fdt: &FileDesc,
    nfds: i32,
    mut read: Option<&'a mut [u64]>,
    mut write: Option<&'a mut [u64]>,
    mut except: Option<&'a mut [u64]>,
    timeout_ms: i64,
) -> Result<usize, i32> {
    let n = usize::try_from(nfds).map_err(|_| EINVAL)?.min(fdt.limit());
    let bit = |set: &Option<&mut [u64]>, fd: usize| {
        set.as_ref().is_some_and(|s| s.get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0))
    };
    // Each watched descriptor, and which sets asked for it (bit 0 read, 1 write, 2 except).
    let mut fds: Vec<PollFd> = Vec::new();
    let mut asked: Vec<u8> = Vec::new();
    for fd in 0..n {
        let sets = bit(&read, fd) as u8 | (bit(&write, fd) as u8) << 1 | (bit(&except, fd) as u8) << 2;
        if sets != 0 {
            let events = [SELECT_READ, SELECT_WRITE, SELECT_EXCEPT]
                .iter()
                .enumerate()
                .filter(|(i, _)| sets & (1 << i) != 0)
                .fold(0, |acc, (_, e)| acc | e);
            fds.try_reserve(1).map_err(|_| ENOMEM)?;
            asked.try_reserve(1).map_err(|_| ENOMEM)?;
            fds.push(PollFd { fd: fd as i32, events, revents: 0 });
            asked.push(sets);
        }
    }
    poll_files(fdt, &mut fds, timeout_ms, true)?;
    for set in [&mut read, &mut write, &mut except].into_iter().flatten() {
        set.iter_mut().for_each(|w| *w = 0);
    }
    let mut count = 0;
    for (p, &sets) in fds.iter().zip(asked.iter()) {
        let fd = p.fd as usize;
        for (i, (set, mask)) in
            [(&mut read, SELECT_READ), (&mut write, SELECT_WRITE), (&mut except, SELECT_EXCEPT)]
                .into_iter()
                .enumerate()
        {
            if sets & (1 << i) != 0 && p.revents & mask != 0 {
                if let Some(w) = set.as_mut().and_then(|s| s.get_mut(fd / 64)) {
                    *w |= 1 << (fd % 64);
                    count += 1;
                }
            }
        }
    }
    Ok(count)
}
