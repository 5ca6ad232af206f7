//! The scheduling-policy calls (Linux's kernel/sched/syscalls.c as of 6.1):
//! sched_setscheduler, sched_getscheduler, sched_setparam, sched_getparam, sched_setattr,
//! sched_getattr, sched_get_priority_min/max and sched_rr_get_interval.
//!
//! The policy is per thread (`Lwp::sched`), the niceness per process (`Proc::nice`).
//! SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO and SCHED_RR are stored and reported;
//! the user scheduler does not yet treat FIFO and RR as real-time. SCHED_DEADLINE is not
//! done (EINVAL, as for a policy Linux does not know), nor utilisation clamping
//! (EOPNOTSUPP, as a Linux built without CONFIG_UCLAMP_TASK).
use super::priority::{can_nice, may_change, privileged, NICE_MAX, NICE_MIN};
use super::threads::thread_target;
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::schedpolicy::{self, Policy, RT_PRIO_MAX, RT_PRIO_MIN, SCHED_IDLE};
use crate::proc::Lwp;
use abi::errno::*;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

type R = Result<u64, i32>;

/// Or-ed into sched_setscheduler's policy and sched_getscheduler's result.
const SCHED_RESET_ON_FORK: u32 = 0x4000_0000;
/// SCHED_DEADLINE: priority range 0, never accepted here.
const SCHED_DEADLINE: i32 = 6;
/// sched_attr.sched_flags.
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
const SCHED_FLAG_UTIL_CLAMP: u64 = 0x20 | 0x40;
/// Every flag Linux knows (the deadline ones are accepted and mean nothing elsewhere).
const SCHED_FLAG_ALL: u64 = 0x7f;
/// sizeof(struct sched_attr): version 0 (48 bytes, up to sched_period) and version 1 (56,
/// with the utilisation clamps), the one this kernel knows.
const SCHED_ATTR_SIZE_VER0: u32 = 48;
const SCHED_ATTR_SIZE: u32 = 56;
const PAGE_SIZE: u32 = 4096;
/// The round-robin slice: DragonFly's rrinterval, 10 ticks at HZ=100.
const RR_INTERVAL_NS: u64 = 100_000_000;

/// The thread a pid argument names; EINVAL for a negative one (before any copy, as Linux).
fn target(l: &Arc<Lwp>, pid: u64) -> Result<Arc<Lwp>, i32> {
    if (pid as i32) < 0 {
        return Err(EINVAL);
    }
    thread_target(l, pid)
}

/// A policy change as sched_setscheduler, sched_setparam and sched_setattr ask it.
struct Request {
    /// None: keep the current policy (and its reset-on-fork flag).
    policy: Option<u32>,
    /// As given: 1..=99 for FIFO and RR, 0 for the others.
    priority: u32,
    /// SCHED_FLAG_* bits.
    flags: u64,
    /// The niceness for SCHED_OTHER and SCHED_BATCH (sched_setattr; the others keep it).
    nice: Option<i32>,
}

/// Linux's __sched_setscheduler: checks `r` against thread `t` and applies it.
fn apply(l: &Lwp, t: &Lwp, r: Request) -> Result<(), i32> {
    let cur = t.sched.get();
    let (policy, reset_on_fork) = match r.policy {
        None => (cur.policy, cur.reset_on_fork),
        Some(p) if schedpolicy::is_valid(p) => (p, r.flags & SCHED_FLAG_RESET_ON_FORK != 0),
        Some(_) => return Err(EINVAL),
    };
    if r.flags & !SCHED_FLAG_ALL != 0 || r.priority > RT_PRIO_MAX {
        return Err(EINVAL);
    }
    if schedpolicy::is_rt(policy) != (r.priority != 0) {
        return Err(EINVAL);
    }
    let p = &t.proc;
    let fair = matches!(policy, schedpolicy::SCHED_OTHER | schedpolicy::SCHED_BATCH);
    let nice = if fair { r.nice } else { None };
    if !privileged(l) {
        // Linux's user_check_sched_setscheduler: every failure wants CAP_SYS_NICE.
        let cur_nice = p.nice.load(Ordering::Relaxed);
        let rtprio = p.rlimits.lock()[RLIMIT_RTPRIO].0;
        let denied = nice.is_some_and(|n| n < cur_nice && !can_nice(l, p, n))
            || (schedpolicy::is_rt(policy)
                && ((policy != cur.policy && rtprio == 0)
                    || (r.priority > cur.priority && u64::from(r.priority) > rtprio)))
            || (cur.policy == SCHED_IDLE && policy != SCHED_IDLE && !can_nice(l, p, cur_nice))
            || may_change(l, p).is_err()
            || (cur.reset_on_fork && !reset_on_fork);
        if denied {
            return Err(EPERM);
        }
    }
    if r.flags & SCHED_FLAG_UTIL_CLAMP != 0 {
        return Err(EOPNOTSUPP);
    }
    if r.flags & SCHED_FLAG_KEEP_PARAMS != 0 {
        t.sched.set(Policy { reset_on_fork, ..cur });
        return Ok(());
    }
    t.sched.set(Policy { policy, priority: r.priority, reset_on_fork });
    if let Some(n) = nice {
        p.nice.store(n, Ordering::Relaxed);
    }
    Ok(())
}

/// Linux's RLIMIT_RTPRIO index: the highest real-time priority allowed unprivileged.
const RLIMIT_RTPRIO: usize = 14;

/// Reads a struct sched_param (one int, the priority).
fn read_param(at: u64) -> Result<u32, i32> {
    if at == 0 {
        return Err(EINVAL);
    }
    let mut b = [0u8; 4];
    copyin(&mut b, at)?;
    Ok(u32::from_ne_bytes(b))
}

/// sched_setscheduler(pid, policy, param): sets the thread's policy and real-time
/// priority; SCHED_RESET_ON_FORK may be or-ed into the policy.
pub fn sched_setscheduler(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let policy = a[1] as u32;
    if a[2] == 0 || (a[0] as i32) < 0 || (policy as i32) < 0 {
        return Err(EINVAL);
    }
    let priority = read_param(a[2])?;
    let t = target(l, a[0])?;
    let flags = if policy & SCHED_RESET_ON_FORK != 0 { SCHED_FLAG_RESET_ON_FORK } else { 0 };
    apply(l, &t, Request { policy: Some(policy & !SCHED_RESET_ON_FORK), priority, flags, nice: None })?;
    Ok(0)
}

/// sched_setparam(pid, param): the real-time priority under the current policy.
pub fn sched_setparam(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    if a[1] == 0 || (a[0] as i32) < 0 {
        return Err(EINVAL);
    }
    let priority = read_param(a[1])?;
    let t = target(l, a[0])?;
    apply(l, &t, Request { policy: None, priority, flags: 0, nice: None })?;
    Ok(0)
}

/// sched_getscheduler(pid): the thread's policy, with SCHED_RESET_ON_FORK if set.
pub fn sched_getscheduler(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let p = target(l, a[0])?.sched.get();
    Ok(u64::from(p.policy | if p.reset_on_fork { SCHED_RESET_ON_FORK } else { 0 }))
}

/// sched_getparam(pid, param): the thread's real-time priority (0 for the others).
pub fn sched_getparam(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    if a[1] == 0 || (a[0] as i32) < 0 {
        return Err(EINVAL);
    }
    let p = target(l, a[0])?.sched.get();
    copyout(a[1], &p.priority.to_ne_bytes())?;
    Ok(0)
}

/// The priority range of a policy: (min, max).
fn priority_range(policy: i32) -> Result<(u32, u32), i32> {
    match policy {
        p if p >= 0 && schedpolicy::is_rt(p as u32) => Ok((RT_PRIO_MIN, RT_PRIO_MAX)),
        p if p == SCHED_DEADLINE || (p >= 0 && schedpolicy::is_valid(p as u32)) => Ok((0, 0)),
        _ => Err(EINVAL),
    }
}

/// sched_get_priority_max(policy): 99 for FIFO and RR, 0 for the others.
pub fn sched_get_priority_max(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    Ok(u64::from(priority_range(a[0] as i32)?.1))
}

/// sched_get_priority_min(policy): 1 for FIFO and RR, 0 for the others.
pub fn sched_get_priority_min(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    Ok(u64::from(priority_range(a[0] as i32)?.0))
}

/// sched_rr_get_interval(pid, tp): the thread's time slice, 0 for SCHED_FIFO (it runs until
/// it yields), the round-robin interval otherwise.
pub fn sched_rr_get_interval(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let p = target(l, a[0])?.sched.get();
    let ns = if p.policy == schedpolicy::SCHED_FIFO { 0 } else { RR_INTERVAL_NS };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_ne_bytes());
    b[8..].copy_from_slice(&(ns % 1_000_000_000).to_ne_bytes());
    copyout(a[1], &b)?;
    Ok(0)
}

/// struct sched_attr (version 1), in the fields this kernel uses.
#[derive(Default)]
struct SchedAttr {
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
}

fn field<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut f = [0u8; N];
    f.copy_from_slice(&b[at..at + N]);
    f
}

/// Linux's sched_copy_attr: reads a sched_attr of the size its first field gives (0: the
/// first version). E2BIG, with this kernel's size written back, for a size out of range or
/// non-zero bytes past the fields known here.
fn read_attr(at: u64) -> Result<SchedAttr, i32> {
    let mut s = [0u8; 4];
    copyin(&mut s, at)?;
    let size = match u32::from_ne_bytes(s) {
        0 => SCHED_ATTR_SIZE_VER0,
        n => n,
    };
    if !(SCHED_ATTR_SIZE_VER0..=PAGE_SIZE).contains(&size) {
        copyout(at, &SCHED_ATTR_SIZE.to_ne_bytes())?;
        return Err(E2BIG);
    }
    let mut b = [0u8; SCHED_ATTR_SIZE as usize];
    let known = size.min(SCHED_ATTR_SIZE) as usize;
    copyin(&mut b[..known], at)?;
    // A newer caller's extra fields must be zero.
    let mut tail = [0u8; 64];
    let mut off = u64::from(SCHED_ATTR_SIZE);
    while off < u64::from(size) {
        let n = (u64::from(size) - off).min(tail.len() as u64) as usize;
        copyin(&mut tail[..n], at.checked_add(off).ok_or(EFAULT)?)?;
        if tail[..n].iter().any(|&x| x != 0) {
            copyout(at, &SCHED_ATTR_SIZE.to_ne_bytes())?;
            return Err(E2BIG);
        }
        off += n as u64;
    }
    let flags = u64::from_ne_bytes(field(&b, 8));
    if flags & SCHED_FLAG_UTIL_CLAMP != 0 && size < SCHED_ATTR_SIZE {
        return Err(EINVAL);
    }
    Ok(SchedAttr {
        policy: u32::from_ne_bytes(field(&b, 4)),
        flags,
        nice: i32::from_ne_bytes(field(&b, 16)).clamp(NICE_MIN, NICE_MAX),
        priority: u32::from_ne_bytes(field(&b, 20)),
    })
}

/// sched_setattr(pid, attr, flags): policy, flags, niceness (SCHED_OTHER and SCHED_BATCH)
/// and real-time priority at once. `flags` must be 0.
pub fn sched_setattr(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    if a[1] == 0 || (a[0] as i32) < 0 || a[2] as u32 != 0 {
        return Err(EINVAL);
    }
    let mut attr = read_attr(a[1])?;
    if (attr.policy as i32) < 0 {
        return Err(EINVAL);
    }
    let t = target(l, a[0])?;
    if attr.flags & SCHED_FLAG_KEEP_PARAMS != 0 {
        let cur = t.sched.get();
        attr.priority = cur.priority;
        attr.nice = t.proc.nice.load(Ordering::Relaxed);
    }
    let policy = (attr.flags & SCHED_FLAG_KEEP_POLICY == 0).then_some(attr.policy);
    apply(l, &t, Request { policy, priority: attr.priority, flags: attr.flags, nice: Some(attr.nice) })?;
    Ok(0)
}

/// sched_getattr(pid, attr, size, flags): the thread's policy, reset-on-fork flag,
/// niceness (for the time-sharing policies) or real-time priority, in `size` bytes at most.
pub fn sched_getattr(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let usize = a[2] as u32;
    if a[1] == 0
        || (a[0] as i32) < 0
        || a[3] as u32 != 0
        || !(SCHED_ATTR_SIZE_VER0..=PAGE_SIZE).contains(&usize)
    {
        return Err(EINVAL);
    }
    let t = target(l, a[0])?;
    let p = t.sched.get();
    let size = usize.min(SCHED_ATTR_SIZE);
    let mut b = [0u8; SCHED_ATTR_SIZE as usize];
    b[..4].copy_from_slice(&size.to_ne_bytes());
    b[4..8].copy_from_slice(&p.policy.to_ne_bytes());
    let flags = if p.reset_on_fork { SCHED_FLAG_RESET_ON_FORK } else { 0 };
    b[8..16].copy_from_slice(&flags.to_ne_bytes());
    if schedpolicy::is_rt(p.policy) {
        b[20..24].copy_from_slice(&p.priority.to_ne_bytes());
    } else {
        b[16..20].copy_from_slice(&t.proc.nice.load(Ordering::Relaxed).to_ne_bytes());
    }
    copyout(a[1], &b[..size as usize])?;
    Ok(0)
}
