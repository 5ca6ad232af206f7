//! The device operations vector (DragonFly's `struct dev_ops`, sys/device.h): what a
//! character device driver implements. Calls are direct trait-object calls (DragonFly's
//! `dev_dread()` and friends call `d_read` directly too); every driver is MP-safe, so there
//! is no `D_MPSAFE` and no giant lock. Errors are errno values in Linux numbering.

/// `O_NONBLOCK` as open(2) and fcntl(2) number it on Linux x86_64: in `flags`, the read or
/// write must not sleep (DragonFly's `IO_NDELAY`).
pub const O_NONBLOCK: u32 = 0o4000;

/// poll(2) event bits (Linux numbering).
pub mod poll {
    /// Data to read.
    pub const POLLIN: u16 = 0x1;
    /// Room to write.
    pub const POLLOUT: u16 = 0x4;
    /// Normal data to read.
    pub const POLLRDNORM: u16 = 0x40;
    /// Normal data may be written.
    pub const POLLWRNORM: u16 = 0x100;
    /// Readable and writable: what an always-ready device reports.
    pub const READY: u16 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
    /// The readable bits.
    pub const READABLE: u16 = POLLIN | POLLRDNORM;
    /// The writable bits.
    pub const WRITABLE: u16 = POLLOUT | POLLWRNORM;
}

/// A character device driver (`d_open`, `d_close`, `d_read`, `d_write`, `d_ioctl`,
/// `d_kqfilter`/poll, `d_mmap`). `flags` are the open file's status flags (open(2) numbering:
/// `O_NONBLOCK` and the access mode); `off` is the file offset, which devices without a notion
/// of position ignore.
pub trait DevOps: Send + Sync {
    /// An open of a node for this device (devfs or a device node anywhere).
    fn open(&self, _flags: u32) -> Result<(), i32> {
        Ok(())
    }

    /// The last close of an open file on the device.
    fn close(&self, _flags: u32) {}

    /// Reads into `buf`; returns the bytes read (0: end of file). With `O_NONBLOCK` in
    /// `flags`, EAGAIN instead of sleeping.
    fn read(&self, off: u64, buf: &mut [u8], flags: u32) -> Result<usize, i32>;

    /// Writes `buf`; returns the bytes taken.
    fn write(&self, off: u64, buf: &[u8], flags: u32) -> Result<usize, i32>;

    /// ioctl: ENOTTY unless the device understands `cmd` (Linux request numbers). `arg` is
    /// the caller's untouched argument (a user address for most requests: reach it only
    /// through copyin/copyout).
    fn ioctl(&self, _cmd: u32, _arg: u64, _flags: u32) -> Result<i64, i32> {
        Err(abi::errno::ENOTTY)
    }

    /// Which of `events` are ready now ([`poll`] bits). The default: always readable and
    /// writable, like a plain file.
    fn poll(&self, events: u16) -> u16 {
        events & poll::READY
    }

    /// The knotes a device whose readiness changes posts to (a tty when input arrives), so
    /// that poll and select sleep instead of spinning; None for a device that is always
    /// ready.
    fn knlist(&self) -> Option<&crate::event::KnList> {
        None
    }

    /// The physical page backing byte `off` of the device, for mmap (`d_mmap`); ENODEV when
    /// the device cannot be mapped.
    fn mmap(&self, _off: u64, _prot: u32) -> Result<u64, i32> {
        Err(abi::errno::ENODEV)
    }

    /// True for a device whose mappings are plain anonymous memory (/dev/zero): the mmap
    /// layer then maps a private or shared anonymous object instead of calling [`mmap`](Self::mmap),
    /// as Linux's `shmem_zero_setup` does.
    fn mmap_is_anonymous(&self) -> bool {
        false
    }
}
