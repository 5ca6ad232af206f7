//! A process's life: fork, vfork and clone (of whole processes), execve, wait4.
use super::file::user_path;
use crate::arch::x86_64::copyio::{copyin, copyinstr, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::arch::x86_64::usermode::USER_END;
use crate::proc::fork::{fork as do_fork, release_vfork_parent, ForkOptions};
use crate::proc::thread::ThreadOptions;
use crate::proc::{exec, tree, Lwp};
use abi::errno::*;
use abi::fcntl::AT_FDCWD;
use alloc::format;
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
const CLONE_SYSVSEM: u64 = 0x40000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const SIGCHLD: u32 = 17;
/// Flags Linux knows that are not done here: pidfds, ptrace, namespaces, CLONE_IO.
const UNSUPPORTED: u64 = 0x1000 | 0x2000 | 0x20000 | 0x80_0000 | 0xfe00_0000 | 0x80;

/// Most argv plus envp bytes execve takes (Linux's ARG_MAX for an 8 MiB stack).
const ARG_MAX: usize = 2 * 1024 * 1024;
/// Most argv or envp entries (MAX_ARG_STRINGS).
const MAX_ARG_STRINGS: usize = 0x7fff_ffff;
/// Longest single argument (MAX_ARG_STRLEN).
const MAX_ARG_STRLEN: usize = 32 * 4096;

pub fn fork(l: &Arc<Lwp>, t: &mut TrapFrame, _: [u64; 6]) -> R {
    do_fork(l, t, ForkOptions { exit_signal: SIGCHLD, ..Default::default() }).map(u64::from)
}

pub fn vfork(l: &Arc<Lwp>, t: &mut TrapFrame, _: [u64; 6]) -> R {
    let opt = ForkOptions { vfork: true, share_vm: true, exit_signal: SIGCHLD, ..Default::default() };
    do_fork(l, t, opt).map(u64::from)
}

/// clone(flags, stack, parent_tid, child_tid, tls): a new process (fork-like, with or
/// without a shared address space) or a new thread of this one (CLONE_THREAD).
pub fn clone(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    let (flags, stack, ptid, ctid, tls) = (a[0], a[1], a[2], a[3], a[4]);
    // The legacy call ignores CSIGNAL for threads and takes any value up to 255... but only
    // real signal numbers make sense; Linux fails larger ones with EINVAL.
    let exit_signal = flags & CSIGNAL;
    clone_common(l, t, flags & !CSIGNAL, exit_signal, stack, ptid, ctid, tls)
}

/// clone3(args, size): clone with a `struct clone_args` (flags, pidfd, child_tid, parent_tid,
/// exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup).
pub fn clone3(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    const VER0: u64 = 64;
    const KNOWN: u64 = 88;
    let size = a[1];
    if size < VER0 {
        return Err(EINVAL);
    }
    if size > 4096 {
        return Err(E2BIG);
    }
    let mut b = vec![0u8; size as usize];
    copyin(&mut b, a[0])?;
    // A larger struct from a newer libc is fine as long as what we do not know is zero.
    if b.iter().skip(KNOWN.min(size) as usize).any(|&x| x != 0) {
        return Err(E2BIG);
    }
    let mut w = [0u64; 11];
    for (i, c) in b.chunks_exact(8).take(11).enumerate() {
        w[i] = u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]));
    }
    let [flags, _pidfd, ctid, ptid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup] = w;
    if flags & CSIGNAL != 0 || exit_signal > 64 || flags & CLONE_THREAD != 0 && exit_signal != 0 {
        return Err(EINVAL);
    }
    if (stack == 0) != (stack_size == 0) || set_tid == 0 && set_tid_size != 0 {
        return Err(EINVAL);
    }
    if set_tid_size != 0 || cgroup != 0 {
        log::warn!("linux: clone3 set_tid / CLONE_INTO_CGROUP not implemented");
        return Err(ENOSYS);
    }
    let sp = stack.checked_add(stack_size).ok_or(EINVAL)?;
    clone_common(l, t, flags, exit_signal, sp, ptid, ctid, tls)
}

#[allow(clippy::too_many_arguments)]
fn clone_common(
    l: &Arc<Lwp>,
    t: &mut TrapFrame,
    flags: u64,
    exit_signal: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> R {
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0
        || flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0
    {
        return Err(EINVAL);
    }
    let known = CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_VFORK
        | CLONE_PARENT
        | CLONE_THREAD
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_DETACHED
        | CLONE_CHILD_SETTID;
    if flags & !known & !UNSUPPORTED != 0 || exit_signal > 64 {
        return Err(EINVAL);
    }
    if stack >= USER_END || flags & CLONE_SETTLS != 0 && tls >= USER_END {
        return Err(EINVAL);
    }
    let thread = flags & CLONE_THREAD != 0;
    // A thread shares everything the process holds; a process sharing one table with
    // another (without being its thread) is not supported.
    let shares = CLONE_FS | CLONE_FILES | CLONE_SIGHAND;
    let unsupported = flags & UNSUPPORTED != 0
        || thread && (flags & shares != shares || flags & CLONE_VFORK != 0)
        || !thread && flags & shares != 0;
    if unsupported {
        log::warn!("linux: clone flags {:#x} not implemented", flags);
        return Err(ENOSYS);
    }
    let settls = (flags & CLONE_SETTLS != 0).then_some(tls);
    let sp = (stack != 0).then_some(stack);
    if thread {
        let opt = ThreadOptions {
            stack: sp,
            tls: settls,
            settid: [
                (flags & CLONE_PARENT_SETTID != 0).then_some(ptid),
                (flags & CLONE_CHILD_SETTID != 0).then_some(ctid),
            ],
            cleartid: (flags & CLONE_CHILD_CLEARTID != 0).then_some(ctid),
        };
        return crate::proc::thread::create(l, t, opt).map(u64::from);
    }
    let opt = ForkOptions {
        vfork: flags & CLONE_VFORK != 0,
        share_vm: flags & CLONE_VM != 0,
        sibling: flags & CLONE_PARENT != 0,
        exit_signal: exit_signal as u32,
        child_settid: (flags & CLONE_CHILD_SETTID != 0).then_some(ctid),
        child_cleartid: (flags & CLONE_CHILD_CLEARTID != 0).then_some(ctid),
        parent_settid: (flags & CLONE_PARENT_SETTID != 0).then_some(ptid),
        stack: sp,
        tls: settls,
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

/// execveat(dirfd, path, argv, envp, flags): execve of `path` relative to `dirfd`, or of the
/// file `dirfd` itself with AT_EMPTY_PATH and an empty path; AT_SYMLINK_NOFOLLOW makes a
/// final symlink ELOOP. The new image knows the file as Linux names it: the path when it
/// is absolute or relative to the working directory, else "/dev/fd/N[/path]".
pub fn execveat(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    const AT_EMPTY_PATH: u64 = 0x1000;
    let (dirfd, flags) = (a[0] as i32, a[4]);
    let path = user_path(a[1])?;
    if path.is_empty() && flags & AT_EMPTY_PATH == 0 {
        return Err(ENOENT);
    }
    let mut total = 0;
    let argv = user_strings(a[2], &mut total)?;
    let envp = user_strings(a[3], &mut total)?;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(EINVAL);
    }
    let file = if path.is_empty() {
        let f = l.proc.fd.get(dirfd)?;
        f.nch.clone().ok_or(EACCES)?
    } else {
        let at = l.proc.fd.at_handle(dirfd, &path)?;
        let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
        let h = crate::vfs::nlookup::nlookup(&l.proc.ctx(), at.as_ref(), &path, follow)?;
        if !follow && h.vnode().is_some_and(|v| v.vtype() == crate::vfs::vnode::VType::Lnk) {
            return Err(ELOOP);
        }
        h
    };
    let name = if dirfd == AT_FDCWD || path.first() == Some(&b'/') {
        path
    } else if path.is_empty() {
        format!("/dev/fd/{dirfd}").into_bytes()
    } else {
        let mut n = format!("/dev/fd/{dirfd}/").into_bytes();
        n.extend_from_slice(&path);
        n
    };
    let entry = exec::exec_file(l, file, &name, &argv, &envp)?;
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
    let (pid, options) = (a[0] as i32, a[2] as u32);
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | 0xc000_0000) != 0 {
        return Err(EINVAL);
    }
    if pid == i32::MIN {
        return Err(ESRCH);
    }
    let mode = tree::WaitMode {
        nohang: options & WNOHANG != 0,
        exited: true,
        stopped: options & WUNTRACED != 0,
        continued: options & WCONTINUED != 0,
        clones: clones(options),
        ..Default::default()
    };
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

/// __WCLONE / __WALL: which children a wait looks at by their exit signal.
fn clones(options: u32) -> Option<bool> {
    const WALL: u32 = 0x4000_0000;
    const WCLONE: u32 = 0x8000_0000;
    if options & WALL != 0 {
        None
    } else {
        Some(options & WCLONE != 0)
    }
}

/// waitid(idtype, id, infop, options, rusage): P_ALL, P_PID or P_PGID; WEXITED, WSTOPPED,
/// WCONTINUED; WNOWAIT leaves what it found for a later wait. The siginfo tells SIGCHLD,
/// the CLD_* code, the pid, uid and status; with WNOHANG and nothing found it is zeroed, as
/// Linux does.
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
    let mode = tree::WaitMode {
        nohang: options & WNOHANG != 0,
        keep: options & WNOWAIT != 0,
        exited: options & WEXITED != 0,
        stopped: options & WSTOPPED != 0,
        continued: options & WCONTINUED != 0,
        clones: clones(options),
    };
    let found = tree::wait_child(&l.proc, pid, mode)?;
    let mut info = [0u8; 128];
    if let Some(r) = &found {
        const SIGCHLD: i32 = 17;
        let (code, status) = r.code_and_status();
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
    // pgid 0 stands for pid (itself 0 for the caller): Linux checks the sign after that.
    let pgid_arg = if a[1] as i32 == 0 { a[0] as i32 } else { a[1] as i32 };
    if pgid_arg < 0 {
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
    let pgid = if pgid_arg == 0 { p.pid } else { pgid_arg as u32 };
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
