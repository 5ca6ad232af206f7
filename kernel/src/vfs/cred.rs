//! Credentials and permission checks (DragonFly's kern_prot.c, vop_helper_access). The
//! process layer will hand each operation its process's credentials; kernel-internal callers
//! use [`Cred::root`].
use super::vnode::Attr;
use abi::errno::EACCES;
use alloc::vec::Vec;

/// Who asks (the filesystem ids: effective, or fsuid on Linux).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cred {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

/// Access bits (as access(2) uses them).
pub mod access {
    pub const X: u32 = 1;
    pub const W: u32 = 2;
    pub const R: u32 = 4;
}

impl Cred {
    /// The superuser.
    pub fn root() -> Cred {
        Cred { uid: 0, gid: 0, groups: Vec::new() }
    }

    /// An ordinary user (for tests and the process layer).
    pub fn user(uid: u32, gid: u32) -> Cred {
        Cred { uid, gid, groups: Vec::new() }
    }

    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// Checks `want` (access bits) against a node's owner, group and mode. Root may do
    /// anything except execute a file no one may execute.
    pub fn check(&self, a: &Attr, want: u32) -> Result<(), i32> {
        if self.uid == 0 {
            let is_dir = a.mode & super::vnode::mode::S_IFMT == super::vnode::mode::S_IFDIR;
            if want & access::X == 0 || is_dir || a.mode & 0o111 != 0 {
                return Ok(());
            }
            return Err(EACCES);
        }
        let bits = if self.uid == a.uid {
            (a.mode >> 6) & 7
        } else if self.in_group(a.gid) {
            (a.mode >> 3) & 7
        } else {
            a.mode & 7
        };
        if bits & want == want {
            Ok(())
        } else {
            Err(EACCES)
        }
    }
}
