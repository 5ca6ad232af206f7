//! The console device (5:1, Linux's /dev/console; DragonFly's cn_* switch): the raw serial
//! console. Writes go to COM1; reads return what COM1 received, polled. The line discipline
//! (echo, canonical mode, signals) arrives with processes and sits above this device.
use super::ops::{poll, DevOps, O_NONBLOCK};
use crate::tty::console;
use abi::errno::EAGAIN;

/// /dev/console.
pub struct Console;

/// Clock ticks between looks at the UART while a blocking read waits (polled input).
const POLL_TICKS: u64 = 1;

impl DevOps for Console {
    fn read(&self, _off: u64, buf: &mut [u8], flags: u32) -> Result<usize, i32> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = console::read_bytes(buf);
            if n > 0 {
                return Ok(n);
            }
            if flags & O_NONBLOCK != 0 {
                return Err(EAGAIN);
            }
            // Nobody wakes this ident: the timeout is the poll interval.
            let ident = self as *const Console as usize;
            match crate::lwkt::sleep::tsleep(ident, 0, "conin", POLL_TICKS) {
                Ok(()) | Err(abi::errno::EWOULDBLOCK) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn write(&self, _off: u64, buf: &[u8], _flags: u32) -> Result<usize, i32> {
        console::write_bytes(buf);
        Ok(buf.len())
    }

    fn poll(&self, events: u16) -> u16 {
        let mut ready = poll::WRITABLE;
        if console::input_ready() {
            ready |= poll::READABLE;
        }
        events & ready
    }
}
