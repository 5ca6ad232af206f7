//! getpriority and setpriority (Linux's kernel/sys.c): the niceness of a process, of a
//! process group or of a user's processes, and the permission rules the sched_* calls share.
//!
//! The niceness is per process here (`Proc::nice`, DragonFly's p_nice); Linux keeps it per
//! thread, so a tid names its whole process.
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::{tree, Lwp, Proc};
use abi::errno::*;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

type R = Result<u64, i32>;

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;
/// Most favoured and least favoured niceness.
pub(super) const NICE_MIN: i32 = -20;
/// See [`NICE_MIN`].
pub(super) const NICE_MAX: i32 = 19;
/// Linux's RLIMIT_NICE index: the lowest niceness allowed unprivileged is 20 - its value.
const RLIMIT_NICE: usize = 13;

/// Whether the caller has CAP_SYS_NICE (here: its effective uid is root).
pub(super) fn privileged(l: &Lwp) -> bool {
    l.proc.cred.lock().uid == 0
}

/// Linux's check_same_owner / set_one_prio rule: the caller's effective uid is the target's
/// real or effective uid, or the caller is privileged; EPERM otherwise.
pub(super) fn may_change(l: &Lwp, p: &Proc) -> Result<(), i32> {
    let euid = l.proc.cred.lock().uid;
    if euid == 0 || p.cred.lock().uid == euid || p.ids.lock().ruid == euid {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// Linux's can_nice: whether `p` may be given niceness `nice` by the caller without
/// more: 20 - nice within p's RLIMIT_NICE, or the caller privileged.
pub(super) fn can_nice(l: &Lwp, p: &Proc, nice: i32) -> bool {
    let rlim = p.rlimits.lock()[RLIMIT_NICE].0;
    // 1..=40 for a niceness in range.
    let wanted = 20i64.saturating_sub(i64::from(nice)) as u64;
    wanted <= rlim || privileged(l)
}

/// The processes `which` and `who` name (zombies too, as Linux's pid lists keep them until
/// reaped). EINVAL for a bad `which`.
fn targets(l: &Arc<Lwp>, which: i32, who: i32) -> Result<Vec<Arc<Proc>>, i32> {
    match which {
        PRIO_PROCESS => {
            let p = match who {
                0 => Some(l.proc.clone()),
                w if w > 0 => {
                    tree::find(w as u32).or_else(|| tree::find_thread(None, w as u32).map(|t| t.proc.clone()))
                }
                _ => None,
            };
            Ok(p.into_iter().collect())
        }
        PRIO_PGRP => {
            let pgid = if who == 0 { l.proc.pgid.load(Ordering::Relaxed) } else { who as u32 };
            if who < 0 {
                return Ok(Vec::new());
            }
            Ok(tree::all().into_iter().filter(|p| p.pgid.load(Ordering::Relaxed) == pgid).collect())
        }
        PRIO_USER => {
            let uid = if who == 0 { l.proc.ids.lock().ruid } else { who as u32 };
            Ok(tree::all().into_iter().filter(|p| p.ids.lock().ruid == uid).collect())
        }
        _ => Err(EINVAL),
    }
}

/// getpriority(which, who): 20 - the lowest niceness among the processes named (1..=40;
/// the C library turns it back into a niceness). ESRCH when none matches.
pub fn getpriority(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let procs = targets(l, a[0] as i32, a[1] as i32)?;
    let nice = procs.iter().map(|p| p.nice.load(Ordering::Relaxed)).min().ok_or(ESRCH)?;
    Ok((20 - nice.clamp(NICE_MIN, NICE_MAX)) as u64)
}

/// setpriority(which, who, nice): sets the niceness (clamped to -20..=19) of every process
/// named. As Linux's set_one_prio: EPERM for another user's process, EACCES for a niceness
/// below the current one beyond RLIMIT_NICE; the last such error is returned, 0 when every
/// process was changed, ESRCH when none matches.
pub fn setpriority(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let nice = (a[2] as i32).clamp(NICE_MIN, NICE_MAX);
    let procs = targets(l, a[0] as i32, a[1] as i32)?;
    let mut result = Err(ESRCH);
    for p in &procs {
        if let Err(e) = set_one(l, p, nice) {
            result = Err(e);
        } else if result == Err(ESRCH) {
            result = Ok(0);
        }
    }
    result
}

/// Gives `p` niceness `nice` if the caller may (EPERM, EACCES as setpriority says).
pub(super) fn set_one(l: &Lwp, p: &Proc, nice: i32) -> Result<(), i32> {
    may_change(l, p)?;
    if nice < p.nice.load(Ordering::Relaxed) && !can_nice(l, p, nice) {
        return Err(EACCES);
    }
    p.nice.store(nice, Ordering::Relaxed);
    Ok(())
}
