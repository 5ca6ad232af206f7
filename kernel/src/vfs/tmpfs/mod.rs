//! tmpfs (DragonFly's vfs/tmpfs): a filesystem in memory. Regular files are sparse (pages
//! exist only where written), directories hold their entries in name order, and every node
//! type exists: files, directories, symlinks, device nodes, FIFOs, sockets. Namespace
//! consistency across CPUs comes from the mount token the VFS layer holds around every
//! change; the spinlocks here only keep each node's own data coherent.
mod budget;
mod file;
mod node;

pub use budget::PageBudget;
pub use node::TmpNode;

use super::mount::Mount;
use super::vnode::{NewNode, VType, Vnode};
use alloc::sync::Arc;

/// Mounts a new, empty tmpfs whose root directory has mode `perm` and the given owner, with
/// no size limit.
pub fn mount(source: impl Into<alloc::vec::Vec<u8>>, perm: u32, uid: u32, gid: u32) -> Arc<Mount> {
    mount_sized(source, perm, uid, gid, None)
}

/// [`mount`] whose files may hold at most `limit_pages` pages (None: no limit).
pub fn mount_sized(
    source: impl Into<alloc::vec::Vec<u8>>,
    perm: u32,
    uid: u32,
    gid: u32,
    limit_pages: Option<u64>,
) -> Arc<Mount> {
    let budget = PageBudget::new(limit_pages);
    Mount::new("tmpfs", source, |weak| {
        let new = NewNode { vtype: VType::Dir, perm, uid, gid, rdev: 0 };
        Vnode::new(TmpNode::new_root(new, weak.clone(), budget), weak.clone())
    })
}

/// The page budget of tmpfs mount `m` (None for another filesystem, or once unmounted).
pub fn budget(m: &Mount) -> Option<Arc<PageBudget>> {
    TmpNode::budget_of(&*m.root_ncp.vnode()?)
}
