//! Linux poll(2) event bits (`<asm-generic/poll.h>`) and `struct pollfd`; select(2) is built
//! on the same bits.

/// Data to read.
pub const POLLIN: u16 = 0x001;
/// Urgent data (out-of-band, a pty packet-mode change).
pub const POLLPRI: u16 = 0x002;
/// Writing will not block.
pub const POLLOUT: u16 = 0x004;
/// An error condition (revents only; always reported). For a pipe's write end: no readers.
pub const POLLERR: u16 = 0x008;
/// Hang-up (revents only; always reported). For a pipe's read end: no writers.
pub const POLLHUP: u16 = 0x010;
/// The descriptor is not open (revents only).
pub const POLLNVAL: u16 = 0x020;
/// Normal data to read (same as POLLIN for pipes and files).
pub const POLLRDNORM: u16 = 0x040;
/// Priority-band data to read.
pub const POLLRDBAND: u16 = 0x080;
/// Normal data may be written (same as POLLOUT).
pub const POLLWRNORM: u16 = 0x100;
/// Priority-band data may be written.
pub const POLLWRBAND: u16 = 0x200;
/// Peer closed its writing half (stream sockets).
pub const POLLRDHUP: u16 = 0x2000;

/// The events select(2)'s read set tests (Linux's POLLIN_SET).
pub const SELECT_READ: u16 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
/// The events select(2)'s write set tests (POLLOUT_SET).
pub const SELECT_WRITE: u16 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
/// The events select(2)'s exception set tests (POLLEX_SET).
pub const SELECT_EXCEPT: u16 = POLLPRI;

/// `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    /// The descriptor; negative entries are ignored (revents 0).
    pub fd: i32,
    /// Requested events.
    pub events: u16,
    /// Returned events.
    pub revents: u16,
}

#[cfg(test)]
mod tests {
    #[test]
    fn pollfd_layout_matches_linux() {
        assert_eq!(core::mem::size_of::<super::PollFd>(), 8);
    }
}
