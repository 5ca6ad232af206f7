//! The set/get id family (kern_prot.c): real, effective and saved user and group ids, and
//! supplementary groups, with Linux's rules for unprivileged changes. The effective ids are
//! the ones access checks use (`Proc::cred`).
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use abi::errno::*;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

type R = Result<u64, i32>;

/// Most supplementary groups (NGROUPS_MAX).
const NGROUPS_MAX: usize = 65536;
/// "Leave unchanged" in setres*id and setre*id.
const KEEP: u32 = u32::MAX;

/// (real, effective, saved) user or group ids.
type Triple = (u32, u32, u32);

fn users(l: &Lwp) -> Triple {
    let ids = *l.proc.ids.lock();
    (ids.ruid, l.proc.cred.lock().uid, ids.suid)
}

fn groups_ids(l: &Lwp) -> Triple {
    let ids = *l.proc.ids.lock();
    (ids.rgid, l.proc.cred.lock().gid, ids.sgid)
}

fn privileged(l: &Lwp) -> bool {
    l.proc.cred.lock().uid == 0
}

fn set_users(l: &Lwp, (r, e, s): Triple) {
    let mut ids = l.proc.ids.lock();
    ids.ruid = r;
    ids.suid = s;
    let old = core::mem::replace(&mut l.proc.cred.lock().uid, e);
    effective_changed(l, old != e);
}

fn set_groups_ids(l: &Lwp, (r, e, s): Triple) {
    let mut ids = l.proc.ids.lock();
    ids.rgid = r;
    ids.sgid = s;
    let old = core::mem::replace(&mut l.proc.cred.lock().gid, e);
    effective_changed(l, old != e);
}

/// A new effective id clears the parent-death signal, as Linux's commit_creds does.
fn effective_changed(l: &Lwp, changed: bool) {
    if changed {
        l.proc.pdeath_signal.store(0, core::sync::atomic::Ordering::Relaxed);
    }
}

/// setres*id: each id not KEEP must be one of the current three unless privileged.
fn setres(l: &Lwp, cur: Triple, new: [u32; 3]) -> Result<Triple, i32> {
    let allowed = |v: u32| v == KEEP || privileged(l) || v == cur.0 || v == cur.1 || v == cur.2;
    if !new.iter().all(|&v| allowed(v)) {
        return Err(EPERM);
    }
    let pick = |v: u32, old: u32| if v == KEEP { old } else { v };
    Ok((pick(new[0], cur.0), pick(new[1], cur.1), pick(new[2], cur.2)))
}

/// setre*id (Linux): the real id may become the real or effective one, the effective id any
/// of the three; the saved id follows the new effective id when the real id was set or the
/// effective id moved off the real one.
fn setre(l: &Lwp, cur: Triple, r: u32, e: u32) -> Result<Triple, i32> {
    let p = privileged(l);
    if r != KEEP && !p && r != cur.0 && r != cur.1 {
        return Err(EPERM);
    }
    if e != KEEP && !p && e != cur.0 && e != cur.1 && e != cur.2 {
        return Err(EPERM);
    }
    let nr = if r == KEEP { cur.0 } else { r };
    let ne = if e == KEEP { cur.1 } else { e };
    let ns = if r != KEEP || (e != KEEP && ne != cur.0) { ne } else { cur.2 };
    Ok((nr, ne, ns))
}

/// set*id: privileged sets all three; otherwise only the effective id, to the real or saved.
/// -1 is EINVAL.
fn set_one(l: &Lwp, cur: Triple, v: u32) -> Result<Triple, i32> {
    // (uid_t)-1 is no id; only the setre/setres calls give it a meaning ("keep").
    if v == KEEP {
        Err(EINVAL)
    } else if privileged(l) {
        Ok((v, v, v))
    } else if v == cur.0 || v == cur.2 {
        Ok((cur.0, v, cur.2))
    } else {
        Err(EPERM)
    }
}

pub fn getuid(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    Ok(users(l).0 as u64)
}

pub fn geteuid(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    Ok(users(l).1 as u64)
}

pub fn getgid(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    Ok(groups_ids(l).0 as u64)
}

pub fn getegid(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    Ok(groups_ids(l).1 as u64)
}

pub fn setuid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = set_one(l, users(l), a[0] as u32)?;
    set_users(l, t);
    Ok(0)
}

pub fn setgid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = set_one(l, groups_ids(l), a[0] as u32)?;
    set_groups_ids(l, t);
    Ok(0)
}

pub fn setreuid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = setre(l, users(l), a[0] as u32, a[1] as u32)?;
    set_users(l, t);
    Ok(0)
}

pub fn setregid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = setre(l, groups_ids(l), a[0] as u32, a[1] as u32)?;
    set_groups_ids(l, t);
    Ok(0)
}

pub fn setresuid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = setres(l, users(l), [a[0] as u32, a[1] as u32, a[2] as u32])?;
    set_users(l, t);
    Ok(0)
}

pub fn setresgid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let t = setres(l, groups_ids(l), [a[0] as u32, a[1] as u32, a[2] as u32])?;
    set_groups_ids(l, t);
    Ok(0)
}

fn put_triple(a: [u64; 6], (r, e, s): Triple) -> R {
    copyout(a[0], &r.to_ne_bytes())?;
    copyout(a[1], &e.to_ne_bytes())?;
    copyout(a[2], &s.to_ne_bytes())?;
    Ok(0)
}

pub fn getresuid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    put_triple(a, users(l))
}

pub fn getresgid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    put_triple(a, groups_ids(l))
}

/// getgroups(size, list): size 0 asks for the count; a smaller list than needed is EINVAL.
pub fn getgroups(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let groups = l.proc.cred.lock().groups.clone();
    let size = a[0] as i32;
    if size < 0 {
        return Err(EINVAL);
    }
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(EINVAL);
    }
    let b: Vec<u8> = groups.iter().flat_map(|g| g.to_ne_bytes()).collect();
    copyout(a[1], &b)?;
    Ok(groups.len() as u64)
}

/// setgroups(size, list): privileged only.
pub fn setgroups(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let size = a[0] as usize;
    if size > NGROUPS_MAX {
        return Err(EINVAL);
    }
    if !privileged(l) {
        return Err(EPERM);
    }
    let mut b = vec![0u8; size * 4];
    copyin(&mut b, a[1])?;
    let groups: Vec<u32> = b.chunks_exact(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect();
    l.proc.cred.lock().groups = groups;
    Ok(0)
}
