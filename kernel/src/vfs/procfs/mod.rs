//! procfs (Linux's fs/proc, the system-wide files): a read-only directory of files whose
//! contents are generated at read time in Linux's formats, so Linux programs (free, uptime,
//! top, mount, nproc) and native ones read the same text. Like Linux, the files report size
//! 0 in stat, and a read at an offset returns that part of the freshly generated text.
//! Mounted on /proc at boot. Besides the fixed files the root lists a directory per process
//! ([`pid`]) and /proc/self, a symlink to the reader's own. Names change behind the
//! namecache's back, so the mount is uncached: every lookup asks procfs.
mod cpuinfo;
mod files;
mod gen;
mod kcounters;
mod pid;
mod pid_tests;
mod tests;

use super::mount::Mount;
use super::vnode::{Attr, DirEntry, FsNode, NewNode, SetAttr, Timespec, VType, Vnode};
use abi::errno::{EIO, EISDIR, ENOENT, EPERM};
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

/// The root directory's inode number.
const ROOT_INO: u64 = 1;

/// A file's generator: the whole text, made at each read.
type Generator = fn() -> String;

/// The files of /proc, in listing order.
const FILES: [(&str, Generator); 8] = [
    ("cpuinfo", cpuinfo::generate),
    ("filesystems", files::filesystems),
    ("kcounters", kcounters::generate),
    ("loadavg", files::loadavg),
    ("meminfo", files::meminfo),
    ("stat", files::stat),
    ("uptime", files::uptime),
    ("version", files::version),
];

/// Directory cookies from here on name pids (cookie = PID_COOKIE + pid + 1), so a listing
/// continues at the right pid while processes come and go.
const PID_COOKIE: u64 = 1 << 32;

/// The root directory: a fixed table of files, the links (/proc/mounts, /proc/self) and the
/// process directories.
struct ProcRoot {
    files: Vec<(&'static str, Arc<Vnode>)>,
    links: Vec<(&'static str, Arc<Vnode>)>,
    mount: Weak<Mount>,
    created: Timespec,
}

/// One generated file.
struct ProcFile {
    ino: u64,
    generate: Generator,
    created: Timespec,
}

/// A new procfs mount named `source`.
pub fn mount(source: impl Into<Vec<u8>>) -> Arc<Mount> {
    let m = Mount::new("proc", source, |weak: &Weak<Mount>| {
        let created = Timespec::now();
        let files = FILES
            .iter()
            .enumerate()
            .map(|(i, &(name, generate))| {
                let node = Arc::new(ProcFile { ino: ROOT_INO + 1 + i as u64, generate, created });
                (name, Vnode::new(node, weak.clone()))
            })
            .collect();
        let first_link = ROOT_INO + 1 + FILES.len() as u64;
        let links = [("mounts", pid::mounts_target as fn() -> _), ("self", pid::self_target)]
            .into_iter()
            .enumerate()
            .map(|(i, (name, target))| {
                let node = Arc::new(pid::RootLink { ino: first_link + i as u64, created, target });
                (name, Vnode::new(node, weak.clone()))
            })
            .collect();
        Vnode::new(Arc::new(ProcRoot { files, links, mount: weak.clone(), created }), weak.clone())
    });
    m.set_uncached();
    m
}

/// Mounts procfs on /proc of the root, creating the directory when the image has none.
pub fn mount_at_boot() {
    let Some(ctx) = super::rootfs::kernel_ctx() else { return };
    let on = match super::nlookup::nlookup(&ctx, None, b"/proc", true) {
        Ok(h) => h,
        Err(_) => match super::ops::mkdir_at(&ctx, None, b"/proc", 0o555) {
            Ok(h) => h,
            Err(e) => {
                log::error!("procfs: cannot create /proc: error {}", e);
                return;
            }
        },
    };
    match super::mount::mount_on(&on, mount("proc")) {
        Ok(()) => log::info!("procfs: mounted on /proc"),
        Err(e) => log::error!("procfs: mount on /proc: error {}", e),
    }
}

fn attr(ino: u64, mode: u32, nlink: u32, t: Timespec) -> Attr {
    Attr { ino, mode, nlink, uid: 0, gid: 0, rdev: 0, size: 0, blocks_bytes: 0, atime: t, mtime: t, ctime: t }
}

impl FsNode for ProcRoot {
    fn vtype(&self) -> VType {
        VType::Dir
    }

    fn getattr(&self) -> Attr {
        attr(ROOT_INO, VType::Dir.ifmt() | 0o555, 2, self.created)
    }

    fn setattr(&self, _a: &SetAttr) -> Result<(), i32> {
        Err(EPERM)
    }

    fn read(&self, _off: u64, _buf: &mut [u8]) -> Result<usize, i32> {
        Err(EISDIR)
    }

    fn write(&self, _off: u64, _buf: &[u8]) -> Result<usize, i32> {
        Err(EISDIR)
    }

    fn readdir(&self, cookie: u64, f: &mut dyn FnMut(DirEntry) -> bool) -> Result<(), i32> {
        let dots = [(&b"."[..], ROOT_INO), (&b".."[..], ROOT_INO)];
        let entries = dots
            .into_iter()
            .map(|(n, ino)| (n, ino, VType::Dir))
            .chain(self.files.iter().map(|(n, v)| (n.as_bytes(), v.getattr().ino, VType::Reg)))
            .chain(self.links.iter().map(|(n, v)| (n.as_bytes(), v.getattr().ino, VType::Lnk)));
        for (i, (name, ino, vtype)) in entries.enumerate().skip(cookie as usize) {
            if !f(DirEntry { ino, vtype, name: name.to_vec(), next: i as u64 + 1 }) {
                return Ok(());
            }
        }
        for pid in pid::pids() {
            let next = PID_COOKIE + u64::from(pid) + 1;
            if next <= cookie {
                continue;
            }
            let name = alloc::format!("{pid}").into_bytes();
            if !f(DirEntry { ino: u64::from(pid) << 32, vtype: VType::Dir, name, next }) {
                break;
            }
        }
        Ok(())
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<Vnode>, i32> {
        if let Some((_, v)) = self.links.iter().find(|(n, _)| n.as_bytes() == name) {
            return Ok(v.clone());
        }
        if let Some(pid) = pid::parse_pid(name) {
            return pid::pid_dir(pid, &self.mount);
        }
        self.files.iter().find(|(n, _)| n.as_bytes() == name).map(|(_, v)| v.clone()).ok_or(ENOENT)
    }

    // Linux answers ENOENT for a name procfs does not serve, and EPERM where the directory
    // has no method (unlink, rmdir, rename, link).
    fn create(&self, _name: &[u8], _new: NewNode) -> Result<Arc<Vnode>, i32> {
        Err(ENOENT)
    }

    fn symlink(&self, _name: &[u8], _target: &[u8], _new: NewNode) -> Result<Arc<Vnode>, i32> {
        Err(ENOENT)
    }

    fn link(&self, _name: &[u8], _target: &Arc<Vnode>) -> Result<(), i32> {
        Err(EPERM)
    }

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

impl FsNode for ProcFile {
    fn vtype(&self) -> VType {
        VType::Reg
    }

    fn getattr(&self) -> Attr {
        attr(self.ino, VType::Reg.ifmt() | 0o444, 1, self.created)
    }

    fn setattr(&self, _a: &SetAttr) -> Result<(), i32> {
        Err(EPERM)
    }

    fn read(&self, off: u64, buf: &mut [u8]) -> Result<usize, i32> {
        let text = (self.generate)();
        Ok(pid::read_at(text.as_bytes(), off, buf))
    }

    /// No file here takes writes: EIO, Linux's answer for a proc entry without a write
    /// method (opening one for writing already needs root).
    fn write(&self, _off: u64, _buf: &[u8]) -> Result<usize, i32> {
        Err(EIO)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
