//! The VFS (DragonFly's vfs_*.c): vnodes, the namecache and path lookup, mounts, tmpfs, devfs,
//! procfs, and the namespace operations the system calls will use.
pub mod cred;
pub mod devfs;
pub mod device;
pub mod file;
pub(crate) mod file_tests;
pub mod filedesc;
pub mod lockf;
pub mod mount;
pub(crate) mod mount_tests;
pub mod namecache;
pub mod nlookup;
pub mod open;
pub mod openstate;
pub mod ops;
pub mod procfs;
pub mod record_lock;
pub mod rootfs;
pub(crate) mod tests;
pub mod tmpfs;
pub mod vnode;
