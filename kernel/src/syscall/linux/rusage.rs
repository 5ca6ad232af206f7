//! getrusage and times: CPU time and faults of the caller, its thread and its reaped
//! children, from `proc::rusage`.
use crate::arch::x86_64::copyio::copyout;
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::{rusage, Lwp};
use abi::errno::EINVAL;
use alloc::sync::Arc;

type R = Result<u64, i32>;

/// getrusage(who, usage): RUSAGE_SELF, RUSAGE_CHILDREN or RUSAGE_THREAD.
pub fn getrusage(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let u = match a[0] as i32 {
        RUSAGE_SELF => rusage::process(&l.proc),
        RUSAGE_CHILDREN => rusage::children(&l.proc),
        // A thread's ru_maxrss is its process's (the address space is shared).
        RUSAGE_THREAD => {
            rusage::Usage { maxrss: rusage::process(&l.proc).maxrss, ..rusage::current_thread() }
        }
        _ => return Err(EINVAL),
    };
    copyout(a[1], &u.to_linux())?;
    Ok(0)
}

/// times(buf): the caller's and its reaped children's user and system time in clock ticks
/// (USER_HZ); returns the ticks since boot.
pub fn times(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    if a[0] != 0 {
        let (me, kids) = (rusage::process(&l.proc), rusage::children(&l.proc));
        let mut b = [0u8; 32];
        for (i, ns) in [me.utime, me.stime, kids.utime, kids.stime].into_iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&rusage::clock_t(ns).to_ne_bytes());
        }
        copyout(a[0], &b)?;
    }
    Ok(rusage::clock_t(crate::time::nanotime()))
}
