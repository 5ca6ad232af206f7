//! devfs nodes: the root directory, and one node per device whose operations forward to
//! the driver.
use crate::dev::registry::{self, DevMeta, Device};
use crate::sync::spinlock::SpinLock;
use crate::vfs::mount::Mount;
use crate::vfs::vnode::{Attr, DirEntry, FsNode, NewNode, SetAttr, Timespec, VType, Vnode};
use abi::errno::{EINVAL, EISDIR, ENOENT, EPERM};
use alloc::sync::{Arc, Weak};
use core::any::Any;

/// devfs's root inode number.
const ROOT_INO: u64 = 1;

fn apply(m: &mut DevMeta, a: &SetAttr) {
    if let Some(p) = a.perm {
        m.perm = p & 0o7777;
    }
    if let Some(u) = a.uid {
        m.uid = u;
    }
    if let Some(g) = a.gid {
        m.gid = g;
    }
    if let Some(t) = a.atime {
        m.atime = t;
    }
    if let Some(t) = a.mtime {
        m.mtime = t;
    }
    m.ctime = Timespec::now();
}

/// The root directory: the device table, listed.
pub struct DevfsRoot {
    meta: SpinLock<DevMeta>,
    mount: Weak<Mount>,
}

impl DevfsRoot {
    /// The root of a new mount.
    pub fn new(mount: Weak<Mount>) -> Arc<DevfsRoot> {
        let now = Timespec::now();
        Arc::new(DevfsRoot {
            meta: SpinLock::new(DevMeta { perm: 0o755, uid: 0, gid: 0, atime: now, mtime: now, ctime: now }),
            mount,
        })
    }
}

impl FsNode for DevfsRoot {
    fn vtype(&self) -> VType {
        VType::Dir
    }

    fn getattr(&self) -> Attr {
        let m = *self.meta.lock();
        Attr {
            ino: ROOT_INO,
            mode: VType::Dir.ifmt() | m.perm,
            nlink: 2,
            uid: m.uid,
            gid: m.gid,
            rdev: 0,
            size: 0,
            blocks_bytes: 0,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        }
    }

    fn setattr(&self, a: &SetAttr) -> Result<(), i32> {
        if a.size.is_some() {
            return Err(EISDIR);
        }
        apply(&mut self.meta.lock(), a);
        Ok(())
    }

    fn read(&self, _off: u64, _buf: &mut [u8]) -> Result<usize, i32> {
        Err(EISDIR)
    }

    fn write(&self, _off: u64, _buf: &[u8]) -> Result<usize, i32> {
        Err(EISDIR)
    }

    fn readdir(&self, cookie: u64, f: &mut dyn FnMut(DirEntry) -> bool) -> Result<(), i32> {
        let dots: [&[u8]; 2] = [b".", b".."];
        for (i, name) in dots.iter().enumerate().skip(cookie as usize) {
            let e = DirEntry { ino: ROOT_INO, vtype: VType::Dir, name: name.to_vec(), next: i as u64 + 1 };
            if !f(e) {
                return Ok(());
            }
        }
        for (i, d) in registry::list().into_iter().enumerate().skip((cookie as usize).saturating_sub(2)) {
            let e = DirEntry { ino: d.serial, vtype: VType::Chr, name: d.name.clone(), next: i as u64 + 3 };
            if !f(e) {
                break;
            }
        }
        Ok(())
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<Vnode>, i32> {
        let dev = registry::by_name(name).ok_or(ENOENT)?;
        Ok(Vnode::new(Arc::new(DevNode { dev, mount: self.mount.clone() }), self.mount.clone()))
    }

    // Nodes come from the device table only (DragonFly's devfs takes no mknod either).
    fn create(&self, _name: &[u8], _new: NewNode) -> Result<Arc<Vnode>, i32> {
        Err(EPERM)
    }

    fn symlink(&self, _name: &[u8], _target: &[u8], _new: NewNode) -> Result<Arc<Vnode>, i32> {
        Err(EPERM)
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

/// A device's node: attributes from the device table, I/O straight to the driver.
pub struct DevNode {
    dev: Arc<Device>,
    #[allow(dead_code)] // Kept for same-mount checks, as every node carries its mount.
    mount: Weak<Mount>,
}

impl FsNode for DevNode {
    fn vtype(&self) -> VType {
        VType::Chr
    }

    fn getattr(&self) -> Attr {
        let m = *self.dev.meta.lock();
        Attr {
            ino: self.dev.serial,
            mode: VType::Chr.ifmt() | m.perm,
            nlink: 1,
            uid: m.uid,
            gid: m.gid,
            rdev: self.dev.rdev,
            size: 0,
            blocks_bytes: 0,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        }
    }

    fn setattr(&self, a: &SetAttr) -> Result<(), i32> {
        if a.size.is_some() {
            // truncate(2) of a device node; open(O_TRUNC) never asks.
            return Err(EINVAL);
        }
        apply(&mut self.dev.meta.lock(), a);
        Ok(())
    }

    // Through the vnode, I/O is blocking (flags 0); the file layer opens devices with
    // `dev::open_rdev` and passes each file's own status flags instead.
    fn read(&self, off: u64, buf: &mut [u8]) -> Result<usize, i32> {
        self.dev.ops.read(off, buf, 0)
    }

    fn write(&self, off: u64, buf: &[u8]) -> Result<usize, i32> {
        self.dev.ops.write(off, buf, 0)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn open(&self, flags: u32) -> Result<(), i32> {
        self.dev.ops.open(flags)
    }

    fn close(&self, flags: u32) {
        self.dev.ops.close(flags)
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, i32> {
        self.dev.ops.ioctl(cmd, arg, 0)
    }

    fn poll(&self, events: u16) -> u16 {
        self.dev.ops.poll(events)
    }
}
