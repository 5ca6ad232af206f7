//! CPU-time clocks (Linux's posix-cpu-timers clock ids): CLOCK_PROCESS_CPUTIME_ID,
//! CLOCK_THREAD_CPUTIME_ID and the dynamic ids clock_getcpuclockid and
//! pthread_getcpuclockid build, which carry a pid or tid in a negative number:
//! `(~id << 3) | per_thread << 2 | which`, `which` being PROF (user + system), VIRT (user)
//! or SCHED (all time on a CPU). A thread clock may name the caller's process's threads.
use crate::proc::{rusage, Lwp, Proc};
use abi::errno::EINVAL;
use alloc::sync::Arc;

const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
const CPUCLOCK_PERTHREAD: i32 = 4;

/// Which time a CPU clock counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Prof,
    Virt,
    Sched,
}

/// A CPU-time clock a clock id names.
pub enum CpuClock {
    /// A process's threads, live and ended.
    Process(Arc<Proc>, Which),
    /// The calling thread.
    Thread(Which),
    /// Another live thread of the caller's process.
    Other(Arc<Lwp>, Which),
}

/// Decodes `clock` (a clockid_t); `Ok(None)` when it is not a CPU clock, EINVAL when it is
/// a malformed one or names no process (or a thread outside the caller's process).
pub fn decode(l: &Arc<Lwp>, clock: u64) -> Result<Option<CpuClock>, i32> {
    let c = clock as u32 as i32;
    match c {
        CLOCK_PROCESS_CPUTIME_ID => return Ok(Some(CpuClock::Process(l.proc.clone(), Which::Sched))),
        CLOCK_THREAD_CPUTIME_ID => return Ok(Some(CpuClock::Thread(Which::Sched))),
        0.. => return Ok(None),
        _ => {}
    }
    let which = match c & 3 {
        0 => Which::Prof,
        1 => Which::Virt,
        2 => Which::Sched,
        _ => return Err(EINVAL),
    };
    let id = !(c >> 3);
    if c & CPUCLOCK_PERTHREAD != 0 {
        if id == 0 || id as u32 == l.tid() {
            return Ok(Some(CpuClock::Thread(which)));
        }
        let tid = u32::try_from(id).map_err(|_| EINVAL)?;
        let t = crate::proc::tree::find_thread(Some(l.proc.pid), tid).ok_or(EINVAL)?;
        return Ok(Some(CpuClock::Other(t, which)));
    }
    let p = if id == 0 || id as u32 == l.proc.pid {
        l.proc.clone()
    } else {
        let pid = u32::try_from(id).map_err(|_| EINVAL)?;
        crate::proc::tree::find(pid).ok_or(EINVAL)?
    };
    Ok(Some(CpuClock::Process(p, which)))
}

impl CpuClock {
    fn which(&self) -> Which {
        match self {
            CpuClock::Process(_, w) | CpuClock::Thread(w) | CpuClock::Other(_, w) => *w,
        }
    }

    /// The clock's reading, ns.
    pub fn read(&self) -> u64 {
        let u = match self {
            CpuClock::Process(p, _) => rusage::process(p),
            CpuClock::Thread(_) => rusage::current_thread(),
            // A thread that ended meanwhile reads as zero.
            CpuClock::Other(t, _) => {
                t.thread.lock().clone().map(|td| rusage::thread(&td)).unwrap_or_default()
            }
        };
        match self.which() {
            Which::Virt => u.utime,
            Which::Prof | Which::Sched => u.cpu(),
        }
    }

    /// Its resolution, ns: SCHED is measured at switches (1 ns); PROF and VIRT are split
    /// by tick samples (a tick).
    pub fn resolution(&self) -> u64 {
        match self.which() {
            Which::Sched => 1,
            Which::Prof | Which::Virt => rusage::TICK_NS,
        }
    }
}
