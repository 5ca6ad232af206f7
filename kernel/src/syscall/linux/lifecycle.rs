//! A process's life: fork, vfork and clone (of whole processes), execve, wait4.
use super::file::user_path;
use crate::arch::x86_64::copyio::{copyin, copyinstr, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::arch::x86_64::usermode::USER_END;
use crate::proc::fork::{fork as do_fork, release_vfork_parent, ForkOptions};
use crate::proc::{exec, tree, Lwp};
use abi::errno::*;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

type R = Result<u64, i32>;

const CSIGNAL: u64 = 0xff;
const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const SIGCHLD: u64 = 17;

/// Most argv plus envp bytes execve takes (Linux's ARG_MAX for an 8 MiB stack).
const ARG_MAX: usize = 2 * 1024 * 1024;
/// Most argv or envp entries (MAX_ARG_STRINGS).
const MAX_ARG_STRINGS: usize = 0x7fff_ffff;
/// Longest single argument (MAX_ARG_STRLEN).
const MAX_ARG_STRLEN: usize = 32 * 4096;

pub fn fork(l: &Arc<Lwp>, t: &mut TrapFrame, _: [u64; 6]) -> R {
    do_fork(l, t, ForkOptions::default()).map(u64::from)
}

pub fn vfork(l: &Arc<Lwp>, t: &mut TrapFrame, _: [u64; 6]) -> R {
    do_fork(l, t, ForkOptions { vfork: true, ..Default::default() }).map(u64::from)
}

/// clone(flags, stack, parent_tid, child_tid, tls): the fork-like forms (a new process, with
/// or without a shared address space for vfork). Threads and shared tables come with
/// threading: those flags get ENOSYS.
pub fn clone(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    let (flags, stack, ptid, ctid, tls) = (a[0], a[1], a[2], a[3], a[4]);
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0
        || flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0
    {
        return Err(EINVAL);
    }
    let unsupported = CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_PARENT;
    if flags & unsupported != 0 || flags & CLONE_VM != 0 && flags & CLONE_VFORK == 0 {
        log::warn!("linux: clone flags {:#x} (threads, shared tables) not implemented", flags);
        return Err(ENOSYS);
    }
    let known = CSIGNAL
        | CLONE_VM
        | CLONE_VFORK
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_CHILD_SETTID
        | CLONE_DETACHED;
    if flags & !known != 0 {
        return Err(EINVAL);
    }
    // The exit signal: SIGCHLD is what a parent's wait expects; others need signals.
    if flags & CSIGNAL != SIGCHLD && flags & CSIGNAL != 0 {
        log::warn!("linux: clone exit signal {} not implemented", flags & CSIGNAL);
        return Err(ENOSYS);
    }
    if stack >= USER_END || flags & CLONE_SETTLS != 0 && tls >= USER_END {
        return Err(EINVAL);
    }
    let opt = ForkOptions {
        vfork: flags & CLONE_VFORK != 0,
        child_settid: (flags & CLONE_CHILD_SETTID != 0).then_some(ctid),
        child_cleartid: (flags & CLONE_CHILD_CLEARTID != 0).then_some(ctid),
        parent_settid: (flags & CLONE_PARENT_SETTID != 0).then_some(ptid),
        stack: (stack != 0).then_some(stack),
        tls: (flags & CLONE_SETTLS != 0).then_some(tls),
    };
    do_fork(l, t, opt).map(u64::from)
}

/// A NULL-terminated array of user strings (argv, envp), adding their sizes to `total`.
fn user_strings(mut addr: u64, total: &mut usize) -> Result<Vec<Vec<u8>>, i32> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut buf = vec![0u8; MAX_ARG_STRLEN];
    loop {
        let mut p = [0u8; 8];
        copyin(&mut p, addr)?;
        let s = u64::from_ne_bytes(p);
        if s == 0 {
            return Ok(out);
        }
        let n = copyinstr(&mut buf, s).map_err(|e| if e == ENAMETOOLONG { E2BIG } else { e })?;
        *total += n + 1 + 8;
        if *total > ARG_MAX || out.len() >= MAX_ARG_STRINGS {
            return Err(E2BIG);
        }
        out.push(buf[..n].to_vec());
        addr = addr.checked_add(8).ok_or(EFAULT)?;
    }
}

/// execve(path, argv, envp): on success the frame becomes the new image's entry, every
/// register cleared, returned to by IRET.
pub fn execve(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[0])?;
    let mut total = 0;
    let argv = user_strings(a[1], &mut total)?;
    let envp = user_strings(a[2], &mut total)?;
    let entry = exec::exec(l, &path, &argv, &envp)?;
    // The old image is gone: a vfork parent may have its memory back.
    release_vfork_parent(&l.proc);
    *t = TrapFrame::user_entry(entry.rip, entry.rsp, 0x202);
    Ok(0)
}

/// wait4(pid, wstatus, options, rusage).
pub fn wait4(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const WNOHANG: u32 = 1;
    const WUNTRACED: u32 = 2;
    const WCONTINUED: u32 = 8;
    const WNOTHREAD: u32 = 0x2000_0000;
    const WALL: u32 = 0x4000_0000;
    const WCLONE: u32 = 0x8000_0000;
    let (pid, options) = (a[0] as i32, a[2] as u32);
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return Err(EINVAL);
    }
    if pid == i32::MIN {
        return Err(ESRCH);
    }
    let mode = tree::WaitMode { nohang: options & WNOHANG != 0, keep: false };
    let Some(r) = tree::wait_child(&l.proc, pid, mode)? else {
        return Ok(0);
    };
    if a[1] != 0 {
        copyout(a[1], &r.status.to_ne_bytes())?;
    }
    if a[3] != 0 {
        copyout(a[3], &r.usage.to_linux())?;
    }
    Ok(r.pid as u64)
}

/// waitid(idtype, id, infop, options, rusage): P_ALL, P_PID or P_PGID; WEXITED is the only
/// state there is (no stop/continue yet); WNOWAIT leaves the zombie. The siginfo tells
/// SIGCHLD, CLD_EXITED or CLD_KILLED, the pid, uid and status; with WNOHANG and nothing
/// ended it is zeroed, as Linux does.
pub fn waitid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const P_ALL: u64 = 0;
    const P_PID: u64 = 1;
    const P_PGID: u64 = 2;
    const WNOHANG: u32 = 1;
    const WSTOPPED: u32 = 2;
    const WEXITED: u32 = 4;
    const WCONTINUED: u32 = 8;
    const WNOWAIT: u32 = 0x0100_0000;
    let options = a[3] as u32;
    if options & !(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | 0xe000_0000) != 0
        || options & (WEXITED | WSTOPPED | WCONTINUED) == 0
    {
        return Err(EINVAL);
    }
    let id = a[1] as i32;
    let pid = match a[0] {
        P_ALL => -1,
        P_PID if id > 0 => id,
        P_PGID if id > 0 => -id,
        P_PGID if id == 0 => 0,
        _ => return Err(EINVAL),
    };
    // Only exits are reported; a wait for stops or continues alone finds nothing.
    let found = if options & WEXITED != 0 {
        let mode = tree::WaitMode { nohang: options & WNOHANG != 0, keep: options & WNOWAIT != 0 };
        tree::wait_child(&l.proc, pid, mode)?
    } else {
        return Err(ECHILD);
    };
    let mut info = [0u8; 128];
    if let Some(r) = &found {
        const SIGCHLD: i32 = 17;
        let (code, status) = if r.status & 0x7f == 0 { (1i32, r.status >> 8) } else { (2, r.status & 0x7f) };
        info[0..4].copy_from_slice(&SIGCHLD.to_ne_bytes());
        info[8..12].copy_from_slice(&code.to_ne_bytes());
        info[16..20].copy_from_slice(&r.pid.to_ne_bytes());
        info[20..24].copy_from_slice(&r.uid.to_ne_bytes());
        info[24..28].copy_from_slice(&status.to_ne_bytes());
    }
    if a[2] != 0 {
        copyout(a[2], &info)?;
    }
    if a[4] != 0 {
        // The reaped child's usage (zero when nothing was reaped, or with WNOWAIT).
        let u = found.as_ref().map(|r| r.usage).unwrap_or_default();
        copyout(a[4], &u.to_linux())?;
    }
    Ok(0)
}

/// The process `pid` names for the pgid/sid calls (0: the caller).
fn target(l: &Arc<Lwp>, pid: u64) -> Result<Arc<crate::proc::Proc>, i32> {
    match pid as i32 {
        0 => Ok(l.proc.clone()),
        p if p > 0 => tree::find(p as u32).ok_or(ESRCH),
        _ => Err(ESRCH),
    }
}

pub fn getpgid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    Ok(target(l, a[0])?.pgid.load(Ordering::Relaxed) as u64)
}

pub fn getpgrp(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    Ok(l.proc.pgid.load(Ordering::Relaxed) as u64)
}

pub fn getsid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    Ok(target(l, a[0])?.sid.load(Ordering::Relaxed) as u64)
}

/// setpgid(pid, pgid): the caller or one of its children, within the caller's session.
pub fn setpgid(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    if (a[1] as i32) < 0 {
        return Err(EINVAL);
    }
    let p = target(l, a[0])?;
    let me = &l.proc;
    if p.pid != me.pid && p.ppid.load(Ordering::Relaxed) != me.pid {
        return Err(ESRCH);
    }
    let sid = me.sid.load(Ordering::Relaxed);
    if p.sid.load(Ordering::Relaxed) != sid {
        return Err(EPERM);
    }
    if p.sid.load(Ordering::Relaxed) == p.pid {
        return Err(EPERM);
    }
    let pgid = if a[1] == 0 { p.pid } else { a[1] as u32 };
    if pgid != p.pid && !tree::group_in_session(pgid, sid) {
        return Err(EPERM);
    }
    p.pgid.store(pgid, Ordering::Relaxed);
    Ok(0)
}

/// setsid: a new session and group led by the caller, unless it already leads a group.
pub fn setsid(l: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    let me = &l.proc;
    if me.pgid.load(Ordering::Relaxed) == me.pid || tree::group_in_session(me.pid, 0) {
        return Err(EPERM);
    }
    me.sid.store(me.pid, Ordering::Relaxed);
    me.pgid.store(me.pid, Ordering::Relaxed);
    Ok(me.pid as u64)
}
