//! Devices (DragonFly's kern_device.c, kern_conf.c and the character drivers): the
//! [`DevOps`] driver interface, the device table keyed by `dev_t`, and the first drivers:
//! the memory devices, the random devices, the console and the kernel log.
//!
//! Numbers follow Linux (Documentation/admin-guide/devices.txt) so that Linux programs and
//! images with device nodes find what they expect: mem devices are major 1 (null 3, zero 5,
//! full 7, random 8, urandom 9, kmsg 11) and the console is 5:1.
//!
//! How the layers above reach a driver: a file opened on any `VType::Chr` vnode (a devfs
//! node, or one mknod or the root image put in tmpfs) calls [`open_rdev`] with the node's
//! `rdev` and the open flags, keeps the returned driver, and sends read, write, ioctl, poll
//! and mmap to it with the file's offset and status flags (`O_NONBLOCK` decides whether a
//! read may sleep); its last close calls the driver's `close`. The mmap layer maps a device
//! whose `mmap_is_anonymous` is true (/dev/zero) as anonymous memory. Block devices (dev_t
//! in a separate namespace) come with the disk layer: [`open_rdev`] is for character nodes.
pub mod console;
pub mod kmsg;
pub mod mem;
pub mod ops;
pub mod random;
pub mod registry;
mod tests;

pub use ops::DevOps;
pub use registry::{by_name, destroy_dev, list, make_dev, open_rdev};

use alloc::sync::Arc;

/// Major number of the memory devices.
pub const MEM_MAJOR: u32 = 1;
/// Major number of /dev/tty and /dev/console.
pub const TTYAUX_MAJOR: u32 = 5;

/// Seeds the random generator and registers the built-in devices (after the clocks, so the
/// seed gets TSC jitter; before devfs is mounted, though devfs would show later ones too).
pub fn init() {
    random::init();
    // The console tty and COM1's receive interrupt (the IOAPICs are up by now).
    crate::tty::init();
    /// (driver, major, minor, name, permissions).
    type Builtin = (Arc<dyn DevOps>, u32, u32, &'static [u8], u32);
    let devices: [Builtin; 7] = [
        (Arc::new(mem::Null), MEM_MAJOR, 3, b"null", 0o666),
        (Arc::new(mem::Zero), MEM_MAJOR, 5, b"zero", 0o666),
        (Arc::new(mem::Full), MEM_MAJOR, 7, b"full", 0o666),
        (Arc::new(random::Random { blocking: true }), MEM_MAJOR, 8, b"random", 0o666),
        (Arc::new(random::Random { blocking: false }), MEM_MAJOR, 9, b"urandom", 0o666),
        (Arc::new(kmsg::Kmsg), MEM_MAJOR, 11, b"kmsg", 0o644),
        (Arc::new(console::Console), TTYAUX_MAJOR, 1, b"console", 0o600),
    ];
    for (ops, major, minor, name, perm) in devices {
        if let Err(e) = make_dev(ops, major, minor, name, perm, 0, 0) {
            log::error!("dev: {}: error {}", core::str::from_utf8(name).unwrap_or("?"), e);
        }
    }
}
