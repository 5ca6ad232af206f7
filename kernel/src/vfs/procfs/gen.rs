//! The texts and link targets of /proc/PID, in Linux's formats (fs/proc/array.c,
//! fs/proc/base.c, fs/proc/task_mmu.c). What the kernel does not account reads 0, as Linux
//! shows a counter that never moved. A zombie keeps stat, status and comm; its memory and
//! descriptors are gone, so cmdline, environ and maps read empty and fd lists nothing.
use super::pid::reader_path;
use crate::proc::Proc;
use crate::vfs::namecache::NcHandle;
use crate::vm::map::{EntryFlags, MapEntry};
use crate::vm::object::VmObject;
use crate::vm::vmspace::VmSpace;
use crate::vm::Prot;
use abi::errno::ENOENT;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// Most bytes cmdline and environ return (Linux reads them page by page without a cap;
/// exec already bounds them by ARG_MAX).
const ARGS_MAX: u64 = 256 * 1024;
/// Linux's RLIMIT_RSS index.
const RLIMIT_RSS: usize = 5;
/// The signal a child's end sends its parent (fork always asks for SIGCHLD here).
const SIGCHLD: u32 = 17;

/// The process's state letter and word: Z once it ended, T while stopped, S while all its
/// threads sleep, R otherwise (one running or ready to run).
pub fn state(p: &Proc) -> (char, &'static str) {
    if p.zombie.lock().is_some() {
        return ('Z', "zombie");
    }
    if p.stopped.load(Ordering::Relaxed) {
        return ('T', "stopped");
    }
    let lwps = p.lwps();
    let sleeping =
        !lwps.is_empty() && lwps.iter().all(|l| l.thread.lock().as_ref().is_some_and(|td| td.wchan() != 0));
    if sleeping {
        ('S', "sleeping")
    } else {
        ('R', "running")
    }
}

/// The first live thread's LWKT thread (for the CPU it last ran on).
fn first_thread(p: &Proc) -> Option<crate::lwkt::thread::ThreadHandle> {
    p.lwps().first().and_then(|l| l.thread.lock().clone())
}

/// The signals the first live thread blocks (Linux's /proc/PID shows the leader's).
fn blocked(p: &Proc) -> u64 {
    p.lwps().first().map_or(0, |l| l.sigmask.load(Ordering::Relaxed))
}

/// Fields 18 and 19 of stat, the first live thread's: a time-sharing thread's priority is
/// 20 + its niceness, a real-time one's -1 - its real-time priority.
fn priority(p: &Proc) -> (i64, i64) {
    let nice = i64::from(p.nice.load(Ordering::Relaxed));
    let policy = p.lwps().first().map(|l| l.sched.get()).unwrap_or_default();
    if crate::proc::schedpolicy::is_rt(policy.policy) {
        (-1 - i64::from(policy.priority), nice)
    } else {
        (20 + nice, nice)
    }
}

/// The address space of a live process.
fn vm(p: &Proc) -> Option<Arc<VmSpace>> {
    if p.zombie.lock().is_some() {
        return None;
    }
    p.vm.lock().upgrade()
}

/// Bytes `[start, end)` of the process's memory, stopping at the first page it cannot read.
fn read_range(p: &Proc, start: u64, end: u64) -> Vec<u8> {
    let Some(vs) = vm(p) else { return Vec::new() };
    let end = end.min(start.saturating_add(ARGS_MAX));
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let n = (end - at).min(4096 - at % 4096) as usize;
        let mut chunk = alloc::vec![0u8; n];
        if vs.copy_in(at, &mut chunk).is_err() {
            break;
        }
        out.extend_from_slice(&chunk);
        at += n as u64;
    }
    out
}

/// /proc/PID/cmdline: the argument strings, each ending in NUL.
pub fn cmdline(p: &Proc) -> Vec<u8> {
    let a = *p.args.lock();
    read_range(p, a.arg_start, a.arg_end)
}

/// /proc/PID/environ: the environment strings, each ending in NUL.
pub fn environ(p: &Proc) -> Vec<u8> {
    let a = *p.args.lock();
    read_range(p, a.env_start, a.env_end)
}

/// /proc/PID/comm: the command name and a newline.
pub fn comm(p: &Proc) -> Vec<u8> {
    let mut s = p.comm.lock().clone();
    s.push(b'\n');
    s
}

/// A write to /proc/PID/comm: the process's own command name becomes the first 15 bytes
/// (up to a NUL), as PR_SET_NAME; another process's is EINVAL, as Linux answers.
pub fn set_comm(p: &Proc, buf: &[u8]) -> Result<usize, i32> {
    let me = crate::proc::curlwp().ok_or(abi::errno::EINVAL)?;
    if me.proc.pid != p.pid {
        return Err(abi::errno::EINVAL);
    }
    let n = buf.iter().take(15).position(|&b| b == 0).unwrap_or(buf.len().min(15));
    *p.comm.lock() = buf[..n].to_vec();
    Ok(buf.len())
}

/// /proc/PID/mounts: the mount table (as /proc/mounts shows it).
pub fn mounts(_p: &Proc) -> Vec<u8> {
    super::files::mounts().into_bytes()
}

/// Signals ignored and caught, as masks (bit `sig - 1`).
fn sig_masks(p: &Proc) -> (u64, u64) {
    let acts = p.sigacts.lock();
    let mut ign = 0u64;
    let mut cgt = 0u64;
    for (i, a) in acts.iter().enumerate() {
        match a.handler {
            0 => {}
            1 => ign |= 1 << i,
            _ => cgt |= 1 << i,
        }
    }
    (ign, cgt)
}

/// The mapped bytes of an address space.
fn vsize(vs: Option<&Arc<VmSpace>>) -> u64 {
    vs.map_or(0, |vs| vs.entries().0.iter().map(|e| e.end - e.start).sum())
}

/// /proc/PID/stat: Linux's 52 fields.
pub fn stat(p: &Proc) -> Vec<u8> {
    let (state, _) = state(p);
    let vs = vm(p);
    let comm = p.comm.lock().clone();
    let a = *p.args.lock();
    let (brk_base, faults) = vs.as_ref().map_or((0, 0), |v| (v.entries().1 .0, v.fault_count()));
    let (ign, cgt) = sig_masks(p);
    let pending = p.sig.bits();
    let rsslim = p.rlimits.lock()[RLIMIT_RSS].0;
    let cpu = first_thread(p).map_or(0, |td| td.gd().cpuid);
    let exit_code = p.zombie.lock().unwrap_or(0);
    let (prio, nice) = priority(p);
    // CPU times in clock ticks: its threads', and its reaped children's.
    let (used, reaped) = (crate::proc::rusage::process(p), crate::proc::rusage::children(p));
    let clock_t = crate::proc::rusage::clock_t;
    // Read before the format: a lock guard in its arguments would live through the whole
    // statement, and `blocked` takes the same lock.
    let nthreads = p.lwps.lock().len().max(1);
    let live = vs.is_some();
    // Linux zeroes the memory layout fields of a process without an mm.
    let (arg_start, arg_end, env_start, env_end) =
        if live { (a.arg_start, a.arg_end, a.env_start, a.env_end) } else { (0, 0, 0, 0) };
    // The name goes in as its bytes (Linux does not escape it; readers take the last ')').
    let mut out = alloc::format!("{} (", p.pid).into_bytes();
    out.extend_from_slice(&comm);
    let mut s = String::new();
    let _ = writeln!(
        s,
        ") {} {} {} {} 0 -1 0 {} 0 0 0 {} {} {} {} {} {} {} 0 0 {} 0 {} 0 0 0 0 0 {} {} {} {} 0 0 0 {} {} 0 0 0 0 0 0 0 {} {} {} {} {} {}",
        state,
        p.ppid.load(Ordering::Relaxed),
        p.pgid.load(Ordering::Relaxed),
        p.sid.load(Ordering::Relaxed),
        faults,
        clock_t(used.utime),
        clock_t(used.stime),
        clock_t(reaped.utime),
        clock_t(reaped.stime),
        prio,
        nice,
        nthreads,
        vsize(vs.as_ref()),
        rsslim,
        pending,
        blocked(p),
        ign,
        cgt,
        SIGCHLD,
        cpu,
        if live { brk_base } else { 0 },
        arg_start,
        arg_end,
        env_start,
        env_end,
        exit_code,
    );
    out.extend_from_slice(s.as_bytes());
    out
}

/// /proc/PID/status: the lines programs look for, in Linux's order.
pub fn status(p: &Proc) -> Vec<u8> {
    let (letter, word) = state(p);
    let cred = p.cred.lock().clone();
    let vs = vm(p);
    let (ign, cgt) = sig_masks(p);
    let pending = p.sig.bits();
    let mut s = String::new();
    let _ = writeln!(s, "Name:\t{}", String::from_utf8_lossy(&p.comm.lock()));
    let _ = writeln!(s, "Umask:\t{:04o}", p.umask.load(Ordering::Relaxed));
    let _ = writeln!(s, "State:\t{letter} ({word})");
    let _ = writeln!(s, "Tgid:\t{}", p.pid);
    let _ = writeln!(s, "Ngid:\t0");
    let _ = writeln!(s, "Pid:\t{}", p.pid);
    let _ = writeln!(s, "PPid:\t{}", p.ppid.load(Ordering::Relaxed));
    let _ = writeln!(s, "TracerPid:\t0");
    // Real, effective, saved and filesystem ids (the filesystem id follows the effective).
    let ids = *p.ids.lock();
    let _ = writeln!(s, "Uid:\t{}\t{}\t{}\t{}", ids.ruid, cred.uid, ids.suid, cred.uid);
    let _ = writeln!(s, "Gid:\t{}\t{}\t{}\t{}", ids.rgid, cred.gid, ids.sgid, cred.gid);
    let _ = write!(s, "Groups:\t");
    for g in &cred.groups {
        let _ = write!(s, "{g} ");
    }
    s.push('\n');
    if let Some(vs) = vs.as_ref() {
        let _ = writeln!(s, "VmSize:\t{:>8} kB", vsize(Some(vs)) / 1024);
    }
    // A zombie (or a process between threads) still counts its leader, as on Linux.
    let _ = writeln!(s, "Threads:\t{}", p.lwps.lock().len().max(1));
    let own = p.lwps().first().map_or(0, |l| l.sig.bits());
    let _ = writeln!(s, "SigPnd:\t{own:016x}");
    let _ = writeln!(s, "ShdPnd:\t{pending:016x}");
    let _ = writeln!(s, "SigBlk:\t{:016x}", blocked(p));
    let _ = writeln!(s, "SigIgn:\t{ign:016x}");
    let _ = writeln!(s, "SigCgt:\t{cgt:016x}");
    s.into_bytes()
}

/// Whether `object` is, or shadows, `file`'s object.
fn backed_by(object: &Arc<VmObject>, file: &Arc<VmObject>) -> bool {
    let mut cur = Some(object.clone());
    for _ in 0..64 {
        match cur {
            Some(o) if Arc::ptr_eq(&o, file) => return true,
            Some(o) => cur = o.backing(),
            None => return false,
        }
    }
    false
}

/// One maps line.
fn map_line(s: &mut String, e: &MapEntry, exe: Option<&ExeInfo>, heap: (u64, u64)) {
    let r = |b: Prot, c: char| if e.prot.contains(b) { c } else { '-' };
    let shared = if e.flags.contains(EntryFlags::SHARED) { 's' } else { 'p' };
    // The file an mmap named, else the executable when the entry maps its object.
    let mapped = e.file.as_ref().and_then(|f| f.downcast_ref::<NcHandle>()).and_then(file_info);
    let file = mapped.or_else(|| exe.filter(|x| backed_by(&e.object, &x.object)).cloned());
    // Linux prints vm_pgoff << PAGE_SHIFT, unsigned: wrapping, never a panic.
    let (offset, dev, ino) = file.as_ref().map_or((0, 0, 0), |x| (e.offset.wrapping_mul(4096), x.dev, x.ino));
    // The device as Linux's MAJOR:MINOR of the st_dev stat reports.
    let (major, minor) = ((dev >> 8) & 0xfff | (dev >> 32) & !0xfff, dev & 0xff | (dev >> 12) & !0xff);
    let mut line = alloc::format!(
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {}",
        e.start,
        e.end,
        r(Prot::READ, 'r'),
        r(Prot::WRITE, 'w'),
        r(Prot::EXEC, 'x'),
        shared,
        offset,
        major,
        minor,
        ino
    );
    let name: Option<&[u8]> = if let Some(x) = &file {
        Some(&x.path)
    } else if e.flags.contains(EntryFlags::GROWS_DOWN) {
        Some(b"[stack]")
    } else if heap.0 != 0 && e.start >= heap.0 && e.start < heap.1.max(heap.0 + 1) {
        Some(b"[heap]")
    } else {
        None
    };
    if let Some(n) = name {
        // Linux pads the path to column 73.
        while line.len() < 72 {
            line.push(' ');
        }
        line.push(' ');
        line.push_str(&String::from_utf8_lossy(n));
    } else {
        line.push(' ');
    }
    s.push_str(&line);
    s.push('\n');
}

/// /proc/PID/maps: one line per map entry. The executable's own mappings carry its path
/// and inode; anonymous memory shows `[heap]` (the brk range) and `[stack]`; other file
/// mappings show the file they were made from.
pub fn maps(p: &Proc) -> Vec<u8> {
    let Some(vs) = vm(p) else { return Vec::new() };
    let exe = p.exe.lock().clone();
    let exe_info = exe.as_ref().and_then(file_info);
    let (entries, heap) = vs.entries();
    let mut s = String::new();
    for e in &entries {
        map_line(&mut s, e, exe_info.as_ref(), heap);
    }
    s.into_bytes()
}

/// A mapped file as a maps line names it.
#[derive(Clone)]
struct ExeInfo {
    object: Arc<VmObject>,
    path: Vec<u8>,
    dev: u64,
    ino: u64,
}

fn file_info(h: &NcHandle) -> Option<ExeInfo> {
    let v = h.vnode()?;
    let object = v.node.vm_object()?;
    Some(ExeInfo { object, path: reader_path(h), dev: h.mount.id, ino: v.getattr().ino })
}

/// /proc/PID/exe: the executable's path.
pub fn exe(p: &Proc) -> Result<Vec<u8>, i32> {
    if p.zombie.lock().is_some() {
        return Err(ENOENT);
    }
    let h = p.exe.lock().clone().ok_or(ENOENT)?;
    Ok(reader_path(&h))
}

/// /proc/PID/cwd: the working directory's path.
pub fn cwd(p: &Proc) -> Result<Vec<u8>, i32> {
    if p.zombie.lock().is_some() {
        return Err(ENOENT);
    }
    let h = p.cwd.lock().clone();
    Ok(reader_path(&h))
}

/// /proc/PID/root: the root directory's path.
pub fn root(p: &Proc) -> Result<Vec<u8>, i32> {
    if p.zombie.lock().is_some() {
        return Err(ENOENT);
    }
    let h = p.root.lock().clone();
    Ok(reader_path(&h))
}

/// /proc/PID/fd/N: the open file's path, `pipe:[inode]` for a pipe end.
pub fn fd_target(p: &Proc, fd: i32) -> Result<Vec<u8>, i32> {
    let f = p.fd.get(fd).map_err(|_| ENOENT)?;
    if let Some(h) = &f.nch {
        return Ok(reader_path(h));
    }
    if f.is_pipe() {
        // fstat reports inode 0 for pipe ends; the link says the same.
        return Ok(b"pipe:[0]".to_vec());
    }
    Err(ENOENT)
}
