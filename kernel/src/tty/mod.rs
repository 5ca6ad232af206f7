//! Terminals: the serial console, the line discipline above it, and the kernel log.
//!
//! The console tty ([`console_tty`]) is what /dev/console (5:1) reads, writes and answers
//! ioctls through; COM1's receive interrupt feeds it ([`console::rx_drain`]).
pub mod console;
pub mod klog;
pub mod ldisc;
mod signals;
mod tests;

pub use ldisc::Tty;
use spin::Once;

static CONSOLE_TTY: Once<Tty> = Once::new();

/// The console's terminal, once [`init`] made it.
pub fn console_tty() -> Option<&'static Tty> {
    CONSOLE_TTY.get()
}

/// Makes the console tty (echo and output to COM1) and turns on COM1's receive interrupt
/// (after the IOAPICs are set up: the device layer's init calls this).
pub fn init() {
    if CONSOLE_TTY.get().is_none() {
        match Tty::new(console::write_raw) {
            Some(t) => {
                CONSOLE_TTY.call_once(|| t);
            }
            None => {
                log::error!("tty: no memory for the console tty");
                return;
            }
        }
    }
    if let Some(t) = CONSOLE_TTY.get() {
        signals::start(t);
    }
    match console::start_rx_interrupt() {
        Ok(v) => log::info!("tty: COM1 receive interrupt on vector {:#x}", v),
        Err(e) => log::warn!("tty: COM1 input stays polled: {}", e),
    }
}
