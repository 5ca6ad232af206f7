//! tmpfs (DragonFly's vfs/tmpfs): a filesystem in memory. Regular files are sparse (pages
//! exist only where written), directories hold their entries in name order, and every node
//! type exists: files, directories, symlinks, device nodes, FIFOs, sockets. Namespace
//! consistency across CPUs comes from the mount token the VFS layer holds around every
//! change; the spinlocks here only keep each node's own data coherent.
mod file;
mod node;

pub use node::TmpNode;

use super::mount::Mount;
use super::vnode::{NewNode, VType, Vnode};
use alloc::sync::Arc;

/// Mounts a new, empty tmpfs whose root directory has mode `perm` and the given owner.
pub fn mount(source: impl Into<alloc::vec::Vec<u8>>, perm: u32, uid: u32, gid: u32) -> Arc<Mount> {
    Mount::new("tmpfs", source, |weak| {
        let root = TmpNode::new_root(NewNode { vtype: VType::Dir, perm, uid, gid, rdev: 0 }, weak.clone());
        Vnode::new(root, weak.clone())
    })
}
