//! /proc/PID and /proc/self (Linux's fs/proc/base.c): one directory per process in the
//! table, generated at each access from the live `Proc`. A node keeps only the pid and looks
//! the process up again at every operation, so a reaped process's nodes answer ENOENT and a
//! reused pid shows the new process, as Linux's do once the old task is gone.
use super::gen;
use crate::proc::{tree, Proc};
use crate::vfs::mount::Mount;
use crate::vfs::namecache::NcHandle;
use crate::vfs::vnode::{Attr, DirEntry, FsNode, NewNode, SetAttr, Timespec, VType, Vnode};
use abi::errno::{EACCES, EINVAL, EISDIR, ENOENT, ENOTDIR, EPERM, ESRCH};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

/// A file's text for one process.
pub type PidGenerator = fn(&Proc) -> Vec<u8>;
/// A link's target for one process.
type LinkTarget = fn(&Proc) -> Result<Vec<u8>, i32>;

/// What a node under /proc/PID is.
#[derive(Clone, Copy)]
enum Kind {
    /// /proc/PID itself.
    Dir,
    /// A generated file, and its permission bits.
    File(PidGenerator, u32),
    /// A symbolic link.
    Link(LinkTarget),
    /// /proc/PID/fd.
    FdDir,
    /// /proc/PID/fd/N.
    Fd(i32),
}

/// The entries of /proc/PID, in listing order.
const ENTRIES: [(&str, Kind); 11] = [
    ("cmdline", Kind::File(gen::cmdline, 0o444)),
    ("comm", Kind::File(gen::comm, 0o644)),
    ("cwd", Kind::Link(gen::cwd)),
    ("environ", Kind::File(gen::environ, 0o400)),
    ("exe", Kind::Link(gen::exe)),
    ("fd", Kind::FdDir),
    ("maps", Kind::File(gen::maps, 0o444)),
    ("mounts", Kind::File(gen::mounts, 0o444)),
    ("root", Kind::Link(gen::root)),
    ("stat", Kind::File(gen::stat, 0o444)),
    ("status", Kind::File(gen::status, 0o444)),
];

/// The slot of /proc/PID/fd in inode numbers.
const FD_DIR_SLOT: u64 = 0x100;
/// The first fd link's slot.
const FD_SLOT: u64 = 0x1000;

/// A node under /proc/PID.
pub struct PidNode {
    pid: u32,
    kind: Kind,
    mount: Weak<Mount>,
    created: Timespec,
}

/// The pid a /proc name stands for: decimal digits without a leading zero, of a process in
/// the table.
pub fn parse_pid(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || name[0] == b'0' || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

/// The vnode of /proc/PID, or ENOENT when no such process is in the table.
pub fn pid_dir(pid: u32, mount: &Weak<Mount>) -> Result<Arc<Vnode>, i32> {
    tree::find(pid).ok_or(ENOENT)?;
    Ok(node(pid, Kind::Dir, mount))
}

fn node(pid: u32, kind: Kind, mount: &Weak<Mount>) -> Arc<Vnode> {
    Vnode::new(Arc::new(PidNode { pid, kind, mount: mount.clone(), created: Timespec::now() }), mount.clone())
}

/// The pids of the process table, ascending (the /proc listing).
pub fn pids() -> Vec<u32> {
    tree::all().iter().map(|p| p.pid).collect()
}

/// The path of `h` as the reader sees it: from the calling process's root, or from the
/// root mount for a kernel thread.
pub fn reader_path(h: &NcHandle) -> Vec<u8> {
    match crate::proc::curlwp() {
        Some(l) => {
            let root = l.proc.root.lock().clone();
            crate::vfs::ops::path_of(h, &root)
        }
        None => super::files::path_of(h),
    }
}

/// The target of /proc/self: the caller's pid; ENOENT for a kernel thread.
pub fn self_target() -> Result<Vec<u8>, i32> {
    let l = crate::proc::curlwp().ok_or(ENOENT)?;
    Ok(alloc::format!("{}", l.proc.pid).into_bytes())
}

/// An fd link's permission bits as Linux sets them from the open file's access mode: read
/// gives r-x, write -wx, both rwx (owner only).
fn fd_perm(pid: u32, fd: i32) -> u32 {
    let Some(f) = tree::find(pid).and_then(|p| p.fd.get(fd).ok()) else { return 0o700 };
    let mut perm = 0;
    if f.readable() {
        perm |= 0o500;
    }
    if f.writable() {
        perm |= 0o300;
    }
    perm
}

fn is_zombie(p: &Proc) -> bool {
    p.zombie.lock().is_some()
}

impl PidNode {
    fn proc(&self) -> Result<Arc<Proc>, i32> {
        tree::find(self.pid).ok_or(ENOENT)
    }

    fn slot(&self) -> u64 {
        match self.kind {
            Kind::Dir => 0,
            Kind::FdDir => FD_DIR_SLOT,
            Kind::Fd(n) => FD_SLOT + n as u64,
            Kind::File(..) | Kind::Link(_) => {
                ENTRIES.iter().position(|(_, k)| same_kind(k, &self.kind)).map_or(0, |i| i as u64 + 1)
            }
        }
    }

    fn ino_of(&self, slot: u64) -> u64 {
        (u64::from(self.pid) << 32) | slot
    }
}

fn same_kind(a: &Kind, b: &Kind) -> bool {
    match (a, b) {
        (Kind::File(f, _), Kind::File(g, _)) => core::ptr::fn_addr_eq(*f, *g),
        (Kind::Link(f), Kind::Link(g)) => core::ptr::fn_addr_eq(*f, *g),
        _ => false,
    }
}

fn kind_vtype(k: &Kind) -> VType {
    match k {
        Kind::Dir | Kind::FdDir => VType::Dir,
        Kind::File(..) => VType::Reg,
        Kind::Link(_) | Kind::Fd(_) => VType::Lnk,
    }
}

/// Copies `text[off..]` into `buf`.
pub fn read_at(text: &[u8], off: u64, buf: &mut [u8]) -> usize {
    let Ok(start) = usize::try_from(off) else { return 0 };
    if start >= text.len() {
        return 0;
    }
    let n = buf.len().min(text.len() - start);
    buf[..n].copy_from_slice(&text[start..start + n]);
    n
}

impl FsNode for PidNode {
    fn vtype(&self) -> VType {
        kind_vtype(&self.kind)
    }

    fn getattr(&self) -> Attr {
        let (mode, nlink) = match self.kind {
            Kind::Dir => (VType::Dir.ifmt() | 0o555, 3),
            Kind::FdDir => (VType::Dir.ifmt() | 0o500, 2),
            Kind::File(_, perm) => (VType::Reg.ifmt() | perm, 1),
            Kind::Link(_) => (VType::Lnk.ifmt() | 0o777, 1),
            Kind::Fd(fd) => (VType::Lnk.ifmt() | fd_perm(self.pid, fd), 1),
        };
        // Owned by the process's user, as Linux's are (a reaped process: root).
        let (uid, gid) = tree::find(self.pid).map_or((0, 0), |p| {
            let c = p.cred.lock();
            (c.uid, c.gid)
        });
        let t = self.created;
        Attr {
            ino: self.ino_of(self.slot()),
            mode,
            nlink,
            uid,
            gid,
            rdev: 0,
            size: 0,
            blocks_bytes: 0,
            atime: t,
            mtime: t,
            ctime: t,
        }
    }

    fn setattr(&self, _a: &SetAttr) -> Result<(), i32> {
        Err(EPERM)
    }

    fn read(&self, off: u64, buf: &mut [u8]) -> Result<usize, i32> {
        match self.kind {
            // A file opened before its process went away reads ESRCH, as Linux's.
            Kind::File(generate, _) => Ok(read_at(&generate(&*self.proc().map_err(|_| ESRCH)?), off, buf)),
            Kind::Dir | Kind::FdDir => Err(EISDIR),
            Kind::Link(_) | Kind::Fd(_) => Err(EINVAL),
        }
    }

    /// Only comm takes writes; the other files are EINVAL (Linux's answer for a file
    /// without a write method; opening them for writing already needs the owner's rights).
    fn write(&self, _off: u64, buf: &[u8]) -> Result<usize, i32> {
        match self.kind {
            Kind::Dir | Kind::FdDir => Err(EISDIR),
            Kind::File(g, _) if core::ptr::fn_addr_eq(g, gen::comm as PidGenerator) => {
                gen::set_comm(&*self.proc().map_err(|_| ESRCH)?, buf)
            }
            _ => Err(EINVAL),
        }
    }

    fn readdir(&self, cookie: u64, f: &mut dyn FnMut(DirEntry) -> bool) -> Result<(), i32> {
        let p = self.proc()?;
        let mut entries: Vec<(Vec<u8>, u64, VType)> = alloc::vec![
            (b".".to_vec(), self.ino_of(self.slot()), VType::Dir),
            (b"..".to_vec(), 0, VType::Dir)
        ];
        match self.kind {
            Kind::Dir => {
                entries[1].1 = super::ROOT_INO;
                for (i, (name, k)) in ENTRIES.iter().enumerate() {
                    entries.push((name.as_bytes().to_vec(), self.ino_of(i as u64 + 1), kind_vtype(k)));
                }
            }
            Kind::FdDir => {
                entries[1].1 = self.ino_of(0);
                if !is_zombie(&p) {
                    for fd in p.fd.open_fds() {
                        let name = alloc::format!("{fd}").into_bytes();
                        entries.push((name, self.ino_of(FD_SLOT + fd as u64), VType::Lnk));
                    }
                }
            }
            _ => return Err(ENOTDIR),
        }
        for (i, (name, ino, vtype)) in entries.into_iter().enumerate().skip(cookie as usize) {
            if !f(DirEntry { ino, vtype, name, next: i as u64 + 1 }) {
                break;
            }
        }
        Ok(())
    }

    fn readlink(&self) -> Result<Vec<u8>, i32> {
        let p = self.proc()?;
        match self.kind {
            Kind::Link(target) => target(&p),
            Kind::Fd(fd) => {
                if is_zombie(&p) {
                    return Err(ENOENT);
                }
                gen::fd_target(&p, fd)
            }
            _ => Err(EINVAL),
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<Vnode>, i32> {
        let p = self.proc()?;
        match self.kind {
            Kind::Dir => {
                let (_, k) = ENTRIES.iter().find(|(n, _)| n.as_bytes() == name).ok_or(ENOENT)?;
                Ok(node(self.pid, *k, &self.mount))
            }
            Kind::FdDir => {
                let fd = parse_pid(name).map(|n| n as i32).or((name == b"0").then_some(0)).ok_or(ENOENT)?;
                if is_zombie(&p) || p.fd.get(fd).is_err() {
                    return Err(ENOENT);
                }
                Ok(node(self.pid, Kind::Fd(fd), &self.mount))
            }
            _ => Err(ENOTDIR),
        }
    }

    fn create(&self, _name: &[u8], _new: NewNode) -> Result<Arc<Vnode>, i32> {
        Err(if self.vtype() == VType::Dir { ENOENT } else { ENOTDIR })
    }

    fn symlink(&self, _name: &[u8], _target: &[u8], _new: NewNode) -> Result<Arc<Vnode>, i32> {
        Err(if self.vtype() == VType::Dir { ENOENT } else { ENOTDIR })
    }

    fn link(&self, _name: &[u8], _target: &Arc<Vnode>) -> Result<(), i32> {
        Err(EPERM)
    }

    // No unlink, rmdir or rename methods: Linux's VFS answers EPERM.
    fn remove(&self, _name: &[u8]) -> Result<(), i32> {
        Err(EPERM)
    }

    fn rmdir(&self, _name: &[u8]) -> Result<(), i32> {
        Err(EPERM)
    }

    fn rename(&self, _from: &[u8], _todir: &Vnode, _to: &[u8]) -> Result<(), i32> {
        Err(EPERM)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A symlink of the /proc root whose target is made at each readlink: /proc/self (the
/// reader's pid) and /proc/mounts (`self/mounts`).
pub struct RootLink {
    /// Its inode number.
    pub ino: u64,
    /// Mount time.
    pub created: Timespec,
    /// The target.
    pub target: fn() -> Result<Vec<u8>, i32>,
}

/// The target of /proc/mounts, as Linux's.
pub fn mounts_target() -> Result<Vec<u8>, i32> {
    Ok(b"self/mounts".to_vec())
}

impl FsNode for RootLink {
    fn vtype(&self) -> VType {
        VType::Lnk
    }

    fn getattr(&self) -> Attr {
        let t = self.created;
        Attr {
            ino: self.ino,
            mode: VType::Lnk.ifmt() | 0o777,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: 0,
            size: 0,
            blocks_bytes: 0,
            atime: t,
            mtime: t,
            ctime: t,
        }
    }

    fn setattr(&self, _a: &SetAttr) -> Result<(), i32> {
        Err(EPERM)
    }

    fn read(&self, _off: u64, _buf: &mut [u8]) -> Result<usize, i32> {
        Err(EINVAL)
    }

    fn write(&self, _off: u64, _buf: &[u8]) -> Result<usize, i32> {
        Err(EACCES)
    }

    fn readlink(&self) -> Result<Vec<u8>, i32> {
        (self.target)()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
