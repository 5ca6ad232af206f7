//! A user run queue (usched_dfly's `queues[]` with `queuemask`): 32 FIFO queues, one per
//! band of 4 priorities (PPQ), with a bitmap of the non-empty ones. Lwps waiting here are
//! descheduled LWKT threads; a user scheduler takes the best one when a CPU's user slot
//! frees up.
use crate::proc::Lwp;
use alloc::collections::VecDeque;
use alloc::sync::Arc;

/// Queues (and bits in the mask).
pub const NQS: usize = 32;

/// 32 FIFO queues by priority band, best (0) first.
pub struct RunQ {
    qs: [VecDeque<Arc<Lwp>>; NQS],
    mask: u32,
    count: usize,
}

impl Default for RunQ {
    fn default() -> Self {
        Self::new()
    }
}

impl RunQ {
    /// Empty.
    pub const fn new() -> RunQ {
        RunQ { qs: [const { VecDeque::new() }; NQS], mask: 0, count: 0 }
    }

    /// Lwps waiting.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Queues `lwp` in band `idx` (clamped to the last band), at the back, or at the front
    /// for one coming back from a sleep. ENOMEM when the queue cannot grow.
    pub fn push(&mut self, lwp: Arc<Lwp>, idx: usize, front: bool) -> Result<(), i32> {
        let i = idx.min(NQS - 1);
        self.qs[i].try_reserve(1).map_err(|_| abi::errno::ENOMEM)?;
        if front {
            self.qs[i].push_front(lwp);
        } else {
            self.qs[i].push_back(lwp);
        }
        self.mask |= 1 << i;
        self.count += 1;
        Ok(())
    }

    /// The best band with an lwp in it.
    pub fn best_index(&self) -> Option<usize> {
        (self.mask != 0).then(|| self.mask.trailing_zeros() as usize)
    }

    /// Takes the first lwp of the best band for which `ok` holds.
    pub fn pop_best_where(&mut self, ok: impl Fn(&Lwp) -> bool) -> Option<Arc<Lwp>> {
        let mut mask = self.mask;
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= !(1 << i);
            if let Some(pos) = self.qs[i].iter().position(|l| ok(l)) {
                let l = self.qs[i].remove(pos);
                self.emptied(i);
                self.count -= l.is_some() as usize;
                return l;
            }
        }
        None
    }

    /// Takes the first lwp of the best band for which `ok` holds; None if none there does.
    pub fn pop_from_best_band(&mut self, ok: impl Fn(&Lwp) -> bool) -> Option<Arc<Lwp>> {
        let i = self.best_index()?;
        let pos = self.qs[i].iter().position(|l| ok(l))?;
        let l = self.qs[i].remove(pos);
        self.emptied(i);
        self.count -= l.is_some() as usize;
        l
    }

    /// Moves every lwp to the band `idx_of` gives it now (priorities change as CPU use
    /// decays), keeping arrival order within a band. Never allocates more than it can:
    /// an lwp that cannot move stays where it was.
    pub fn rebucket(&mut self, idx_of: impl Fn(&Lwp) -> usize) {
        for i in 0..NQS {
            for _ in 0..self.qs[i].len() {
                let Some(l) = self.qs[i].pop_front() else { break };
                let j = idx_of(&l).min(NQS - 1);
                let to = if j != i && self.qs[j].try_reserve(1).is_ok() { j } else { i };
                // Band i has room for it: it just left.
                self.qs[to].push_back(l);
            }
        }
        self.mask = 0;
        for i in 0..NQS {
            self.emptied(i);
            if !self.qs[i].is_empty() {
                self.mask |= 1 << i;
            }
        }
    }

    /// After a removal from band `i`: an empty band gives its memory back (a queue that
    /// kept it would look like a leak to the exact counters) and leaves the mask.
    fn emptied(&mut self, i: usize) {
        if self.qs[i].is_empty() {
            self.mask &= !(1 << i);
            self.qs[i] = VecDeque::new();
        }
    }
}
