//! Thread calls: futex, CPU affinity.
use super::time::read_timespec;
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::{futex, tree, Lwp};
use abi::errno::*;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

type R = Result<u64, i32>;

const FUTEX_WAIT: u32 = 0;
const FUTEX_WAKE: u32 = 1;
const FUTEX_REQUEUE: u32 = 3;
const FUTEX_CMP_REQUEUE: u32 = 4;
const FUTEX_WAKE_OP: u32 = 5;
const FUTEX_WAIT_BITSET: u32 = 9;
const FUTEX_WAKE_BITSET: u32 = 10;
const FUTEX_PRIVATE_FLAG: u32 = 128;
const FUTEX_CLOCK_REALTIME: u32 = 256;

/// futex(uaddr, op, val, timeout or val2, uaddr2, val3): WAIT, WAKE, REQUEUE, CMP_REQUEUE,
/// WAKE_OP, WAIT_BITSET, WAKE_BITSET, private or shared. The priority-inheritance
/// operations are not done (ENOSYS).
pub fn futex(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let (uaddr, op, val, arg4, uaddr2, val3) = (a[0], a[1] as u32, a[2] as u32, a[3], a[4], a[5] as u32);
    let shared = op & FUTEX_PRIVATE_FLAG == 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET {
        return Err(ENOSYS);
    }
    // The wake counts are ints; Linux wakes at least one whatever they say.
    let count = |v: u32| if (v as i32) <= 0 { 1 } else { v };
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT { u32::MAX } else { val3 };
            let deadline = match arg4 {
                0 => None,
                at => {
                    let ns = read_timespec(at)?;
                    let now = crate::time::nanotime();
                    Some(if cmd == FUTEX_WAIT {
                        // Relative, whatever the clock.
                        now.saturating_add(ns)
                    } else if realtime {
                        now.saturating_add(ns.saturating_sub(crate::time::realtime()))
                    } else {
                        ns
                    })
                }
            };
            futex::wait(uaddr, val, deadline, bitset, shared)
        }
        FUTEX_WAKE => futex::wake(uaddr, count(val), u32::MAX, shared),
        FUTEX_WAKE_BITSET => futex::wake(uaddr, count(val), val3, shared),
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let nmove = arg4 as u32;
            if (val as i32) < 0 || (nmove as i32) < 0 {
                return Err(EINVAL);
            }
            let cmp = (cmd == FUTEX_CMP_REQUEUE).then_some(val3);
            futex::requeue(uaddr, uaddr2, val, nmove, cmp, shared)
        }
        FUTEX_WAKE_OP => futex::wake_op(uaddr, uaddr2, count(val), count(arg4 as u32), val3, shared),
        6..=8 | 11..=13 => {
            // Said once: a program retrying would flood the console.
            static SAID: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
            if !SAID.swap(true, Ordering::Relaxed) {
                log::warn!("linux: futex op {} (priority inheritance) not implemented", cmd);
            }
            Err(ENOSYS)
        }
        _ => Err(ENOSYS),
    }
}

/// The thread a pid argument of the affinity and sched_* calls names (0: the caller).
pub(super) fn thread_target(l: &Arc<Lwp>, pid: u64) -> Result<Arc<Lwp>, i32> {
    match pid as i32 {
        0 => Ok(l.clone()),
        p if p > 0 => tree::find_thread(None, p as u32).ok_or(ESRCH),
        _ => Err(ESRCH),
    }
}

fn online_mask() -> u64 {
    let n = crate::lwkt::globaldata::ncpus();
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// sched_getaffinity(pid, size, mask): the CPUs the thread may run on. Returns the bytes
/// written (8).
pub fn sched_getaffinity(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = thread_target(l, a[0])?;
    if a[1] < 8 || !a[1].is_multiple_of(8) {
        return Err(EINVAL);
    }
    let mask = t.cpumask.load(Ordering::Relaxed) & online_mask();
    copyout(a[2], &mask.to_ne_bytes())?;
    Ok(8)
}

/// sched_setaffinity(pid, size, mask): where the thread may run. A thread outside its new
/// set moves at its next return to user mode (the user scheduler's acquire). EINVAL when no
/// online CPU is left, EPERM for another user's thread.
pub fn sched_setaffinity(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = thread_target(l, a[0])?;
    let mut b = [0u8; 8];
    let n = (a[1] as usize).min(8);
    copyin(&mut b[..n], a[2])?;
    // Another user's thread is not the caller's to move (Linux's check_same_owner).
    super::priority::may_change(l, &t.proc)?;
    let mask = u64::from_ne_bytes(b) & online_mask();
    if mask == 0 {
        return Err(EINVAL);
    }
    t.cpumask.store(mask, Ordering::Relaxed);
    if !Arc::ptr_eq(&t, l) {
        crate::proc::signal::notify_lwp(&t);
    }
    Ok(0)
}

/// get_robust_list(tid, head, len): the robust-futex list head a thread registered (0: the
/// caller). Another process's threads need the same uid, or root.
pub fn get_robust_list(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = match a[0] as i32 {
        0 => l.clone(),
        tid if tid > 0 => tree::find_thread(None, tid as u32).ok_or(ESRCH)?,
        _ => return Err(ESRCH),
    };
    let uid = l.proc.cred.lock().uid;
    if uid != 0 && t.proc.cred.lock().uid != uid {
        return Err(EPERM);
    }
    copyout(a[1], &t.robust_list.load(Ordering::Relaxed).to_ne_bytes())?;
    copyout(a[2], &24u64.to_ne_bytes())?;
    Ok(0)
}

/// rseq(area, len, flags, sig): registers or unregisters the thread's restartable-sequence
/// area (see crate::proc::rseq).
pub fn rseq(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    crate::proc::rseq::register(l, a[0], a[1] as u32, a[2] as i32, a[3] as u32)
}
