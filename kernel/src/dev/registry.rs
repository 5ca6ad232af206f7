//! The device table (DragonFly's kern_conf.c `make_dev`/`destroy_dev` and the cdev hash):
//! devices registered by name with a major/minor number, found by `dev_t` from any device
//! node (devfs's own, or one mknod made in tmpfs), and listed by devfs.
use super::ops::DevOps;
use crate::sync::spinlock::SpinLock;
use crate::vfs::rootfs::makedev;
use crate::vfs::vnode::Timespec;
use abi::errno::{EEXIST, EINVAL, ENXIO};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

/// Longest device name (a /dev entry's name: NAME_MAX).
const DEVNAME_MAX: usize = 255;

/// Owner and permissions of a device's nodes in devfs (chmod/chown there change them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevMeta {
    /// Permission bits.
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

/// One registered device (`struct cdev`).
pub struct Device {
    /// Its name under /dev.
    pub name: Vec<u8>,
    /// Major number (Linux's numbering: 1 for the mem devices, 5 for the console...).
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// `dev_t` as Linux encodes it (st_rdev).
    pub rdev: u64,
    /// A number unique among devices, devfs's inode number for it.
    pub serial: u64,
    /// The driver.
    pub ops: Arc<dyn DevOps>,
    /// Owner, mode, times.
    pub meta: SpinLock<DevMeta>,
}

struct Table {
    by_rdev: BTreeMap<u64, Arc<Device>>,
    by_name: BTreeMap<Vec<u8>, u64>,
}

static TABLE: SpinLock<Table> = SpinLock::new(Table { by_rdev: BTreeMap::new(), by_name: BTreeMap::new() });
/// Inode numbers: 1 and 2 are devfs's root and its parent link.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(3);

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= DEVNAME_MAX
        && name != b"."
        && name != b".."
        && !name.iter().any(|&b| b == b'/' || b == 0)
}

/// Registers a device (`make_dev`): EINVAL for a bad name, EEXIST when the name or the
/// number is taken. Its node appears in every devfs mount.
pub fn make_dev(
    ops: Arc<dyn DevOps>,
    major: u32,
    minor: u32,
    name: &[u8],
    perm: u32,
    uid: u32,
    gid: u32,
) -> Result<Arc<Device>, i32> {
    if !valid_name(name) {
        return Err(EINVAL);
    }
    let now = Timespec::now();
    let rdev = makedev(major, minor);
    let dev = Arc::new(Device {
        name: name.to_vec(),
        major,
        minor,
        rdev,
        serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
        ops,
        meta: SpinLock::new(DevMeta { perm: perm & 0o7777, uid, gid, atime: now, mtime: now, ctime: now }),
    });
    {
        let mut t = TABLE.lock();
        if t.by_rdev.contains_key(&rdev) || t.by_name.contains_key(name) {
            return Err(EEXIST);
        }
        t.by_rdev.insert(rdev, dev.clone());
        t.by_name.insert(name.to_vec(), rdev);
    }
    crate::vfs::devfs::changed(name);
    Ok(dev)
}

/// Removes a device (`destroy_dev`): its devfs node disappears; files already open on it
/// keep their driver reference. ENXIO when no such device exists.
pub fn destroy_dev(rdev: u64) -> Result<(), i32> {
    let dev = {
        let mut t = TABLE.lock();
        let dev = t.by_rdev.remove(&rdev).ok_or(ENXIO)?;
        t.by_name.remove(&dev.name);
        dev
    };
    crate::vfs::devfs::changed(&dev.name);
    Ok(())
}

/// The device numbered `rdev`.
pub fn lookup(rdev: u64) -> Option<Arc<Device>> {
    TABLE.lock().by_rdev.get(&rdev).cloned()
}

/// The device named `name`.
pub fn by_name(name: &[u8]) -> Option<Arc<Device>> {
    let t = TABLE.lock();
    t.by_name.get(name).and_then(|r| t.by_rdev.get(r)).cloned()
}

/// Every device, in name order (devfs readdir).
pub fn list() -> Vec<Arc<Device>> {
    let t = TABLE.lock();
    t.by_name.values().filter_map(|r| t.by_rdev.get(r)).cloned().collect()
}

/// Opens the device a character-device node stands for, wherever the node lives (devfs, or
/// a tmpfs node from mknod or the root image): finds the driver by `rdev`, runs its open
/// with the file's `flags`, and returns it. ENXIO when no driver has that number (Linux's
/// answer for a node without a device).
///
/// For the file layer: a file opened on a `VType::Chr` vnode calls this with
/// `vnode.getattr().rdev` and the open flags, keeps the returned driver in the file, sends
/// read/write/ioctl/poll/mmap to it with the file's offset and status flags, and calls its
/// `close` when the file's last reference goes.
pub fn open_rdev(rdev: u64, flags: u32) -> Result<Arc<dyn DevOps>, i32> {
    let dev = lookup(rdev).ok_or(ENXIO)?;
    dev.ops.open(flags)?;
    Ok(dev.ops.clone())
}
