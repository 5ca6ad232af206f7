//! Vnodes (DragonFly's vfs_lock.c/vfs_subr.c, sys/vnode.h): the kernel's handle on a file,
//! whatever filesystem holds it. A vnode is reference counted (`Arc`: vref/vrele take no
//! lock); the filesystem's own node sits behind the [`FsNode`] operations trait and is
//! called directly, as DragonFly calls VOPs. Namespace operations (create, remove, rename...)
//! are the n-VOPs: the caller passes the directory and a name, resolved through the
//! namecache, never a locked directory vnode.
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

/// The type of a vnode (`enum vtype`), from the mode's S_IFMT bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VType {
    /// Regular file.
    Reg,
    /// Directory.
    Dir,
    /// Symbolic link.
    Lnk,
    /// Character device.
    Chr,
    /// Block device.
    Blk,
    /// FIFO.
    Fifo,
    /// Unix-domain socket.
    Sock,
}

/// File-type bits of a mode (the whole table, as stat(2) defines it).
#[allow(dead_code)]
pub mod mode {
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFSOCK: u32 = 0o140000;
    pub const S_IFLNK: u32 = 0o120000;
    pub const S_IFREG: u32 = 0o100000;
    pub const S_IFBLK: u32 = 0o060000;
    pub const S_IFDIR: u32 = 0o040000;
    pub const S_IFCHR: u32 = 0o020000;
    pub const S_IFIFO: u32 = 0o010000;
    pub const S_ISUID: u32 = 0o4000;
    pub const S_ISGID: u32 = 0o2000;
    pub const S_ISVTX: u32 = 0o1000;
}

impl VType {
    /// The S_IFMT bits of this type.
    pub const fn ifmt(self) -> u32 {
        match self {
            VType::Reg => mode::S_IFREG,
            VType::Dir => mode::S_IFDIR,
            VType::Lnk => mode::S_IFLNK,
            VType::Chr => mode::S_IFCHR,
            VType::Blk => mode::S_IFBLK,
            VType::Fifo => mode::S_IFIFO,
            VType::Sock => mode::S_IFSOCK,
        }
    }

    /// The type a mode's S_IFMT bits name, if any.
    pub const fn from_mode(m: u32) -> Option<VType> {
        Some(match m & mode::S_IFMT {
            mode::S_IFREG => VType::Reg,
            mode::S_IFDIR => VType::Dir,
            mode::S_IFLNK => VType::Lnk,
            mode::S_IFCHR => VType::Chr,
            mode::S_IFBLK => VType::Blk,
            mode::S_IFIFO => VType::Fifo,
            mode::S_IFSOCK => VType::Sock,
            _ => return None,
        })
    }

    /// The `d_type` readdir reports (DT_*).
    pub const fn dtype(self) -> u8 {
        match self {
            VType::Fifo => 1,
            VType::Chr => 2,
            VType::Dir => 4,
            VType::Blk => 6,
            VType::Reg => 8,
            VType::Lnk => 10,
            VType::Sock => 12,
        }
    }
}

/// Seconds and nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds, 0..1e9.
    pub nsec: i64,
}

impl Timespec {
    /// The wall-clock time now.
    pub fn now() -> Timespec {
        let ns = crate::time::realtime();
        Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
    }
}

/// A vnode's attributes (`struct vattr`), enough for stat(2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Inode number, unique within the mount.
    pub ino: u64,
    /// Type and permission bits.
    pub mode: u32,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device a device node stands for (major << 32 | minor as Linux's dev_t encodes it).
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Bytes of storage actually used.
    pub blocks_bytes: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last data change.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

/// One directory entry as readdir reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u64,
    /// Type.
    pub vtype: VType,
    /// Name.
    pub name: Vec<u8>,
    /// Cookie to continue after this entry.
    pub next: u64,
}

/// What a new node starts with.
#[derive(Clone, Copy, Debug)]
pub struct NewNode {
    /// Type.
    pub vtype: VType,
    /// Permission bits (the type bits are ignored).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// For device nodes.
    pub rdev: u64,
}

/// Attribute changes (setattr): `None` leaves a field alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetAttr {
    /// New permission bits (chmod).
    pub perm: Option<u32>,
    /// New owner (chown).
    pub uid: Option<u32>,
    /// New group (chown).
    pub gid: Option<u32>,
    /// New size (truncate).
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<Timespec>,
    /// New modification time.
    pub mtime: Option<Timespec>,
}

/// A filesystem's node: the operations a vnode forwards (VOPs and n-VOPs). Every error is an
/// errno in Linux numbering. The directory operations default to ENOTDIR and readlink to
/// EINVAL, which is what every node that is not a directory (or symlink) answers. Directory operations receive names that are single components
/// (no `/`, not `.` or `..`, not empty): the lookup layer guarantees that.
pub trait FsNode: Send + Sync {
    /// The node's type.
    fn vtype(&self) -> VType;
    /// stat.
    fn getattr(&self) -> Attr;
    /// chmod/chown/truncate/utimes.
    fn setattr(&self, a: &SetAttr) -> Result<(), i32>;
    /// Reads at `off`; returns the bytes read (0 at end of file).
    fn read(&self, off: u64, buf: &mut [u8]) -> Result<usize, i32>;
    /// Writes at `off`; returns the bytes written.
    fn write(&self, off: u64, buf: &[u8]) -> Result<usize, i32>;
    /// Lists entries from `cookie` on, calling `f` until it returns false (ENOTDIR for
    /// anything but a directory).
    fn readdir(&self, _cookie: u64, _f: &mut dyn FnMut(DirEntry) -> bool) -> Result<(), i32> {
        Err(abi::errno::ENOTDIR)
    }
    /// A symlink's target (EINVAL for anything but a symlink).
    fn readlink(&self) -> Result<Vec<u8>, i32> {
        Err(abi::errno::EINVAL)
    }
    /// Resolves `name` in this directory (nresolve): ENOENT makes a negative entry.
    fn lookup(&self, _name: &[u8]) -> Result<Arc<Vnode>, i32> {
        Err(abi::errno::ENOTDIR)
    }
    /// Creates a node of any type but a symlink (ncreate, nmkdir, nmknod); EEXIST if taken.
    fn create(&self, _name: &[u8], _new: NewNode) -> Result<Arc<Vnode>, i32> {
        Err(abi::errno::ENOTDIR)
    }
    /// Creates a symlink.
    fn symlink(&self, _name: &[u8], _target: &[u8], _new: NewNode) -> Result<Arc<Vnode>, i32> {
        Err(abi::errno::ENOTDIR)
    }
    /// Adds a hard link to `target` (same mount).
    fn link(&self, _name: &[u8], _target: &Arc<Vnode>) -> Result<(), i32> {
        Err(abi::errno::ENOTDIR)
    }
    /// Removes a non-directory entry.
    fn remove(&self, _name: &[u8]) -> Result<(), i32> {
        Err(abi::errno::ENOTDIR)
    }
    /// Removes an empty directory.
    fn rmdir(&self, _name: &[u8]) -> Result<(), i32> {
        Err(abi::errno::ENOTDIR)
    }
    /// Moves `from` in this directory to `to` in `todir` (same mount), replacing a compatible
    /// target atomically.
    fn rename(&self, _from: &[u8], _todir: &Vnode, _to: &[u8]) -> Result<(), i32> {
        Err(abi::errno::ENOTDIR)
    }
    /// Swaps `a` in this directory with `b` in `todir` (same mount), both existing, whatever
    /// their types (renameat2's RENAME_EXCHANGE). EINVAL where the filesystem cannot.
    fn exchange(&self, _a: &[u8], _todir: &Vnode, _b: &[u8]) -> Result<(), i32> {
        Err(abi::errno::EINVAL)
    }
    /// The filesystem-private object behind the node, for same-mount checks (rename, link).
    fn as_any(&self) -> &dyn core::any::Any;

    // Device-style operations. Regular filesystems keep the defaults; devfs nodes, FIFOs and
    // the like override them. `flags` are the open(2) flags (Linux numbering).

    /// The VM object holding a regular file's pages, for mmap and exec (tmpfs files have
    /// one from the start); None for anything else.
    fn vm_object(&self) -> Option<Arc<crate::vm::object::VmObject>> {
        None
    }

    /// Called when a file is opened on the node (device open, FIFO rendezvous).
    fn open(&self, _flags: u32) -> Result<(), i32> {
        Ok(())
    }

    /// Called when the last descriptor of an open file on the node closes.
    fn close(&self, _flags: u32) {}

    /// ioctl: ENOTTY unless the node understands `cmd` (Linux request numbers).
    fn ioctl(&self, _cmd: u32, _arg: u64) -> Result<i64, i32> {
        Err(abi::errno::ENOTTY)
    }

    /// Which of `events` (POLLIN/POLLOUT/... as poll(2) numbers them) are ready now; plain
    /// files are always readable and writable.
    fn poll(&self, events: u16) -> u16 {
        const POLLIN: u16 = 0x1;
        const POLLOUT: u16 = 0x4;
        const POLLRDNORM: u16 = 0x40;
        const POLLWRNORM: u16 = 0x100;
        events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)
    }
}

/// Vnodes alive now (tests compare it with a baseline).
pub static VNODES: AtomicU64 = AtomicU64::new(0);

/// A vnode.
pub struct Vnode {
    /// The filesystem node.
    pub node: Arc<dyn FsNode>,
    /// The mount it belongs to (st_dev, and the filesystem's own same-mount checks).
    #[allow(dead_code)]
    pub mount: Weak<super::mount::Mount>,
    /// State of the files opened on it (I/O lock, record locks, a FIFO's pipe).
    pub open: super::openstate::OpenState,
}

impl Vnode {
    /// Wraps a filesystem node.
    pub fn new(node: Arc<dyn FsNode>, mount: Weak<super::mount::Mount>) -> Arc<Vnode> {
        VNODES.fetch_add(1, Ordering::Relaxed);
        Arc::new(Vnode { node, mount, open: super::openstate::OpenState::new() })
    }

    /// The vnode's type.
    pub fn vtype(&self) -> VType {
        self.node.vtype()
    }

    /// Its attributes.
    pub fn getattr(&self) -> Attr {
        self.node.getattr()
    }

    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.vtype() == VType::Dir
    }
}

impl Drop for Vnode {
    fn drop(&mut self) {
        VNODES.fetch_sub(1, Ordering::Relaxed);
    }
}
