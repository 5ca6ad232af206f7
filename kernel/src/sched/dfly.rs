//! usched_dfly (DragonFly's usched_dfly.c), reduced to its mechanisms: every CPU has its
//! own run queue under its own lock, so CPUs schedule without touching each other; a new
//! lwp goes to the least loaded CPU its affinity allows; an idle CPU's helper pulls from
//! the most loaded one. The topology-weighted choice and the cache-affinity heuristics are
//! left out (one socket, no SMT here).
use super::{cpus, pcpu, priority, PcpuState, Usched};
use crate::proc::Lwp;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The dfly policy.
pub struct Dfly;

/// Where the last placement looked first, so ties rotate.
static ROTOR: AtomicUsize = AtomicUsize::new(0);

/// A CPU's load for placement: its slot holder plus its waiting lwps.
fn load(c: usize) -> usize {
    let st = pcpu(c).st.lock();
    st.cur.is_some() as usize + st.queue.len()
}

fn owned_by(lwp: &Lwp, cpu: usize) -> bool {
    lwp.thread.lock().as_ref().is_some_and(|t| t.gd().cpuid == cpu)
}

impl Usched for Dfly {
    fn name(&self) -> &'static str {
        "dfly"
    }

    fn enqueue(
        &self,
        _cpu: usize,
        st: &mut PcpuState,
        lwp: Arc<Lwp>,
        band: usize,
        front: bool,
    ) -> Result<(), i32> {
        st.queue.push(lwp, band, front)
    }

    fn take_local(&self, cpu: usize, st: &mut PcpuState) -> Option<Arc<Lwp>> {
        st.queue.pop_best_where(|l| owned_by(l, cpu))
    }

    fn best_waiting(&self, _cpu: usize, st: &PcpuState) -> Option<usize> {
        st.queue.best_index()
    }

    fn steal(&self, cpu: usize) -> Option<Arc<Lwp>> {
        // The other CPUs with someone waiting, most loaded first, until one has a waiter
        // that may run here.
        let n = cpus();
        let mut loaded: alloc::vec::Vec<(usize, usize)> = alloc::vec::Vec::new();
        if loaded.try_reserve(n).is_err() {
            return None;
        }
        for c in (0..n).filter(|&c| c != cpu) {
            let waiting = pcpu(c).st.lock().queue.len();
            if waiting > 0 {
                loaded.push((c, waiting));
            }
        }
        loaded.sort_unstable_by_key(|&(_, waiting)| core::cmp::Reverse(waiting));
        loaded
            .into_iter()
            .find_map(|(from, _)| pcpu(from).st.lock().queue.pop_best_where(|l| super::allowed(l, cpu)))
    }

    fn place_new(&self, mask: u64) -> Option<usize> {
        let n = cpus();
        let start = ROTOR.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|i| (start + i) % n).filter(|&c| c < 64 && mask & (1 << c) != 0).min_by_key(|&c| load(c))
    }

    fn rebucket(&self, cpu: usize, now: u64) {
        if let Some(mut st) = pcpu(cpu).st.try_lock() {
            st.queue.rebucket(|l| priority::band(priority::priority(l, now)));
        }
    }
}
