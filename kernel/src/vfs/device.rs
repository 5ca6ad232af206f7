//! How a file reaches a character device: through the device table by device number
//! (`crate::dev::open_rdev`), whatever filesystem holds the node, with the file's status
//! flags (O_NONBLOCK) passed to every call.
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
    /// The device's knotes, when its readiness changes (a tty).
    fn knlist(&self) -> Option<&crate::event::KnList>;
}

/// A driver from the device table, as an open file drives it.
struct DriverDev(Arc<dyn crate::dev::DevOps>, u32);

impl CharDev for DriverDev {
    fn read(&self, off: u64, buf: &mut [u8], flags: u32) -> Result<usize, i32> {
        self.0.read(off, buf, flags)
    }
    fn write(&self, off: u64, buf: &[u8], flags: u32) -> Result<usize, i32> {
        self.0.write(off, buf, flags)
    }
    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, i32> {
        self.0.ioctl(cmd, arg, self.1)
    }
    fn poll(&self, events: u16) -> u16 {
        self.0.poll(events)
    }
    fn close(&self, flags: u32) {
        self.0.close(flags)
    }
    fn knlist(&self) -> Option<&crate::event::KnList> {
        self.0.knlist()
    }
}

/// Opens the driver a character-device vnode stands for, by its device number: a device
/// node on any filesystem (devfs, or a node the root image holds) reaches the same driver;
/// ENXIO when no driver has that number.
pub fn open_device(vp: &Arc<Vnode>, flags: u32) -> Result<Arc<dyn CharDev>, i32> {
    let ops = crate::dev::open_rdev(vp.getattr().rdev, flags)?;
    Ok(Arc::new(DriverDev(ops, flags)))
}
