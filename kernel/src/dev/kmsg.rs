//! /dev/kmsg (1:11): the kernel log ring (tty/klog.rs) as Linux formats it, one record a
//! line, `priority,sequence,microseconds,-;message`. The file offset is a byte offset in the
//! stream of everything logged since boot.
//!
//! Differences from Linux, until devices get per-open state (DragonFly's cdevpriv): a read
//! returns as many bytes as fit rather than one record, and an offset older than the ring
//! gives EPIPE every time (Linux gives it once and moves the reader to the oldest record).
//! Writes log a record at info level, as Linux does for writes without a `<N>` prefix.
use super::ops::{poll, DevOps, O_NONBLOCK};
use crate::tty::klog;
use abi::errno::{EAGAIN, EPIPE};

/// /dev/kmsg.
pub struct Kmsg;

/// The longest record a write may make (Linux's LOG_LINE_MAX is 1024 minus the prefix).
const WRITE_MAX: usize = 976;

impl DevOps for Kmsg {
    fn read(&self, off: u64, buf: &mut [u8], flags: u32) -> Result<usize, i32> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match klog::read_at(off, buf) {
                Err(()) => return Err(EPIPE),
                Ok(0) if flags & O_NONBLOCK != 0 => return Err(EAGAIN),
                Ok(0) => {
                    let ident = self as *const Kmsg as usize;
                    match crate::lwkt::sleep::tsleep(ident, 0, "kmsg", 1) {
                        Ok(()) | Err(abi::errno::EWOULDBLOCK) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(n) => return Ok(n),
            }
        }
    }

    fn write(&self, _off: u64, buf: &[u8], _flags: u32) -> Result<usize, i32> {
        let text = &buf[..buf.len().min(WRITE_MAX)];
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        let s = core::str::from_utf8(text).unwrap_or("(not UTF-8)");
        klog::record(log::Level::Info, "user", format_args!("{}", s));
        Ok(buf.len())
    }

    fn poll(&self, events: u16) -> u16 {
        let (_, end, _) = klog::extent();
        // Readable whenever anything was logged: a reader at the end will find out by EAGAIN.
        let mut ready = poll::WRITABLE;
        if end > 0 {
            ready |= poll::READABLE;
        }
        events & ready
    }
}
