//! The VFS (DragonFly's vfs_*.c): vnodes, the namecache and path lookup, mounts, tmpfs, devfs,
//! procfs, and the namespace operations the system calls will use.
pub mod cred;
pub mod devfs;
pub mod mount;
pub mod namecache;
pub mod nlookup;
pub mod ops;
pub mod procfs;
pub mod rootfs;
mod tests;
pub mod tmpfs;
pub mod vnode;
