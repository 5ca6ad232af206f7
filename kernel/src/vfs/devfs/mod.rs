//! devfs (DragonFly's vfs/devfs): a filesystem whose root directory lists the registered
//! devices, one character-device node each, with the device's number, owner and mode. It
//! holds no state of its own: names resolve against the device table when looked up, and
//! the table tells every devfs mount when a device comes or goes ([`changed`]), so the
//! namecache never keeps a stale answer. Mounted on /dev at boot.
mod node;

use super::mount::Mount;
use super::namecache::NcState;
use super::vnode::Vnode;
use crate::sync::spinlock::SpinLock;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use node::DevfsRoot;

/// Every devfs mount (weakly: unmount drops them).
static MOUNTS: SpinLock<Vec<Weak<Mount>>> = SpinLock::new(Vec::new());

/// A new devfs mount named `source` (mount it with `mount::mount_on`).
pub fn mount(source: impl Into<Vec<u8>>) -> Arc<Mount> {
    let m = Mount::new("devfs", source, |weak| Vnode::new(DevfsRoot::new(weak.clone()), weak.clone()));
    let mut l = MOUNTS.lock();
    l.retain(|w| w.strong_count() > 0);
    l.push(Arc::downgrade(&m));
    m
}

/// The device table changed under `name`: forget what every devfs mount's namecache knows
/// about it, so the next lookup asks the table again.
pub fn changed(name: &[u8]) {
    let mounts: Vec<Arc<Mount>> = MOUNTS.lock().iter().filter_map(Weak::upgrade).collect();
    for m in mounts {
        let _t = crate::lwkt::token::get_token(&m.token);
        m.root_ncp.child(name).set_state(NcState::Unresolved);
    }
}

/// Mounts devfs on /dev of the root (at boot, after the root tmpfs is unpacked).
pub fn mount_at_boot() {
    let Some(ctx) = super::rootfs::kernel_ctx() else { return };
    let on = match super::nlookup::nlookup(&ctx, None, b"/dev", true) {
        Ok(h) => h,
        Err(_) => match super::ops::mkdir_at(&ctx, None, b"/dev", 0o755) {
            Ok(h) => h,
            Err(e) => {
                log::error!("devfs: cannot create /dev: error {}", e);
                return;
            }
        },
    };
    match super::mount::mount_on(&on, mount("devfs")) {
        Ok(()) => crate::kprintln!("devfs: mounted on /dev with {} devices", crate::dev::list().len()),
        Err(e) => log::error!("devfs: mount on /dev: error {}", e),
    }
}
