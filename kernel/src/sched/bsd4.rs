//! usched_bsd4 (DragonFly's usched_bsd4.c): the 4.4BSD-style scheduler, one global run
//! queue under one lock for every CPU; per CPU only the slot. A freed slot takes the best
//! waiting lwp if this CPU owns its thread, else the CPU's helper pulls it over. Simpler
//! than dfly; the single lock is what limits it on many CPUs.
use super::runq::RunQ;
use super::{cpus, pcpu, priority, PcpuState, Usched};
use crate::proc::Lwp;
use crate::sync::spinlock::SpinLock;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The bsd4 policy: the global queue.
pub struct Bsd4 {
    queue: SpinLock<RunQ>,
    rotor: AtomicUsize,
}

impl Bsd4 {
    /// Nothing waiting.
    pub const fn new() -> Bsd4 {
        Bsd4 { queue: SpinLock::new(RunQ::new()), rotor: AtomicUsize::new(0) }
    }
}

impl Default for Bsd4 {
    fn default() -> Self {
        Self::new()
    }
}

impl Usched for Bsd4 {
    fn name(&self) -> &'static str {
        "bsd4"
    }

    fn enqueue(
        &self,
        _cpu: usize,
        _st: &mut PcpuState,
        lwp: Arc<Lwp>,
        band: usize,
        front: bool,
    ) -> Result<(), i32> {
        let allowed = lwp.cpumask.load(core::sync::atomic::Ordering::Relaxed);
        self.queue.lock().push(lwp, band, front)?;
        // An idle CPU (no slot holder) should come and take it (bsd4's rdyprocmask).
        for c in (0..cpus()).filter(|&c| c < 64 && allowed & (1 << c) != 0) {
            if let Some(st) = pcpu(c).st.try_lock() {
                if st.cur.is_none() {
                    drop(st);
                    super::helper::wake(c);
                    break;
                }
            }
        }
        Ok(())
    }

    fn take_local(&self, cpu: usize, _st: &mut PcpuState) -> Option<Arc<Lwp>> {
        // Only from the best band, and only an lwp whose thread this CPU owns: a better
        // remote one is the helper's to pull, so priority order holds across CPUs.
        self.queue.lock().pop_from_best_band(|l| {
            super::allowed(l, cpu) && l.thread.lock().as_ref().is_some_and(|t| t.gd().cpuid == cpu)
        })
    }

    fn best_waiting(&self, cpu: usize, _st: &PcpuState) -> Option<usize> {
        let _ = cpu;
        self.queue.try_lock()?.best_index()
    }

    fn steal(&self, cpu: usize) -> Option<Arc<Lwp>> {
        self.queue.lock().pop_best_where(|l| super::allowed(l, cpu))
    }

    fn place_new(&self, mask: u64) -> Option<usize> {
        // A free CPU first, else any allowed one, rotating.
        let n = cpus();
        let start = self.rotor.fetch_add(1, Ordering::Relaxed);
        let allowed = |c: usize| c < 64 && mask & (1 << c) != 0;
        let free = (0..n).map(|i| (start + i) % n).find(|&c| allowed(c) && pcpu(c).st.lock().cur.is_none());
        free.or_else(|| (0..n).map(|i| (start + i) % n).find(|&c| allowed(c)))
    }

    fn rebucket(&self, cpu: usize, now: u64) {
        // One CPU sorts the global queue.
        if cpu == 0 {
            if let Some(mut q) = self.queue.try_lock() {
                q.rebucket(|l| priority::band(priority::priority(l, now)));
            }
        }
    }
}
