//! How a file reaches a character device. Until the device layer (`crate::dev`, devfs's
//! `DevOps`) is merged, a character-device vnode is driven through its own node's
//! device-style operations (`FsNode::open/read/write/ioctl/poll/close`), which devfs nodes
//! implement. After the merge, [`open_device`] becomes one call,
//! `crate::dev::open_rdev(attr.rdev)`, wrapped in an adapter implementing [`CharDev`], so a
//! device node on any filesystem (the root image's /dev nodes too) reaches its driver.
use super::vnode::Vnode;
use alloc::sync::Arc;

/// The operations an open character device offers a file.
pub trait CharDev: Send + Sync {
    /// Reads at `off` (devices that do not seek ignore it); `flags` are the file's flags
    /// (O_NONBLOCK).
    fn read(&self, off: u64, buf: &mut [u8], flags: u32) -> Result<usize, i32>;
    /// Writes at `off`.
    fn write(&self, off: u64, buf: &[u8], flags: u32) -> Result<usize, i32>;
    /// ioctl (ENOTTY for requests the device does not know).
    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, i32>;
    /// Which of `events` are ready now.
    fn poll(&self, events: u16) -> u16;
    /// The last close of the file.
    fn close(&self, flags: u32);
}

/// A device driven through its vnode's node (devfs nodes implement the device operations).
struct NodeDev(Arc<Vnode>);

impl CharDev for NodeDev {
    fn read(&self, off: u64, buf: &mut [u8], _flags: u32) -> Result<usize, i32> {
        self.0.node.read(off, buf)
    }
    fn write(&self, off: u64, buf: &[u8], _flags: u32) -> Result<usize, i32> {
        self.0.node.write(off, buf)
    }
    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, i32> {
        self.0.node.ioctl(cmd, arg)
    }
    fn poll(&self, events: u16) -> u16 {
        self.0.node.poll(events)
    }
    fn close(&self, flags: u32) {
        self.0.node.close(flags)
    }
}

/// Opens the device a character-device vnode stands for (the lead replaces the body with
/// `crate::dev::open_rdev` once devfs is merged; see the module comment).
pub fn open_device(vp: &Arc<Vnode>, flags: u32) -> Result<Arc<dyn CharDev>, i32> {
    vp.node.open(flags)?;
    Ok(Arc::new(NodeDev(vp.clone())))
}
