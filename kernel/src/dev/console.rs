//! The console device (5:1, Linux's /dev/console; DragonFly's cn_* switch over tty.c): reads,
//! writes, poll and ioctls go through the console's line discipline ([`crate::tty::Tty`]),
//! which COM1's receive interrupt feeds and whose output goes to COM1.
use super::ops::{DevOps, O_NONBLOCK};
use crate::event::KnList;
use crate::tty::{console, console_tty};
use abi::errno::{EAGAIN, ENXIO, EWOULDBLOCK};

/// /dev/console.
pub struct Console;

impl DevOps for Console {
    fn read(&self, _off: u64, buf: &mut [u8], flags: u32) -> Result<usize, i32> {
        let tty = console_tty().ok_or(ENXIO)?;
        let nonblock = flags & O_NONBLOCK != 0;
        if console::rx_vector().is_some() {
            return tty.read(buf, nonblock);
        }
        // No receive interrupt (no IOAPIC route): drain the UART by hand every tick.
        loop {
            console::rx_drain();
            match tty.read(buf, true) {
                Err(EAGAIN) if !nonblock => {
                    let ident = self as *const Console as usize;
                    match crate::lwkt::sleep::tsleep(ident, 0, "conin", 1) {
                        Ok(()) | Err(EWOULDBLOCK) => {}
                        Err(e) => return Err(e),
                    }
                }
                r => return r,
            }
        }
    }

    fn write(&self, _off: u64, buf: &[u8], flags: u32) -> Result<usize, i32> {
        match console_tty() {
            Some(tty) => tty.write(buf, flags & O_NONBLOCK != 0),
            None => {
                console::write_raw(buf);
                Ok(buf.len())
            }
        }
    }

    fn ioctl(&self, cmd: u32, arg: u64, _flags: u32) -> Result<i64, i32> {
        console_tty().ok_or(ENXIO)?.ioctl(cmd, arg)
    }

    fn poll(&self, events: u16) -> u16 {
        if console::rx_vector().is_none() {
            console::rx_drain();
        }
        console_tty().map_or(0, |t| t.poll(events))
    }

    fn knlist(&self) -> Option<&KnList> {
        console_tty().map(|t| t.knlist())
    }
}
