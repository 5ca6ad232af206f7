//! The system console on COM1 (polled 16550 UART, 115200 8N1).
//!
//! Normal output takes the console lock so lines from different contexts do not interleave.
//! Fatal paths (panics, fault reports) use [`emergency`], which waits a bounded time for the
//! lock and then writes around it: a report must get out even if the code that faulted held
//! the lock.
use core::fmt::{self, Write};
use spin::{Mutex, MutexGuard};
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550};

const COM1: u16 = 0x3f8;

type Uart = Uart16550<PioBackend>;

/// The UART behind the console lock; `None` until [`init`] ran or when no UART answered.
static CONSOLE: Mutex<Option<Uart>> = Mutex::new(None);

/// Programs COM1. Output before this call is dropped.
pub fn init() {
    // SAFETY: COM1's eight ports belong to the console driver alone.
    let Ok(mut uart) = (unsafe { Uart::new_port(COM1) }) else { return };
    let config = Config { baud_rate: uart_16550::BaudRate::Baud115200, ..Config::DEFAULT };
    if uart.init(config).is_ok() {
        *CONSOLE.lock() = Some(uart);
    }
}

fn put(uart: &mut Uart, s: &str) {
    for chunk in s.split_inclusive('\n') {
        match chunk.strip_suffix('\n') {
            Some(line) => {
                uart.send_bytes_exact(line.as_bytes());
                uart.send_bytes_exact(b"\r\n");
            }
            None => uart.send_bytes_exact(chunk.as_bytes()),
        }
    }
}

/// Writes raw bytes under the console lock (the console device's write). A `\n` goes out as
/// `\r\n`, standing in for the line discipline's ONLCR until ttys exist.
pub fn write_bytes(bytes: &[u8]) {
    let _c = crate::lwkt::crit::crit();
    let mut g = CONSOLE.lock();
    if let Some(uart) = g.as_mut() {
        for chunk in bytes.split_inclusive(|&b| b == b'\n') {
            match chunk.split_last() {
                Some((b'\n', line)) => {
                    uart.send_bytes_exact(line);
                    uart.send_bytes_exact(b"\r\n");
                }
                _ => uart.send_bytes_exact(chunk),
            }
        }
    }
}

/// Reads what the UART has received so far into `buf`, without waiting; returns the count
/// (polled input: the interrupt-driven receive path comes with the tty layer).
pub fn read_bytes(buf: &mut [u8]) -> usize {
    let _c = crate::lwkt::crit::crit();
    CONSOLE.lock().as_mut().map_or(0, |uart| uart.receive_bytes(buf))
}

/// True when the UART holds a received byte.
pub fn input_ready() -> bool {
    let _c = crate::lwkt::crit::crit();
    CONSOLE
        .lock()
        .as_mut()
        .is_some_and(|uart| uart.lsr().contains(uart_16550::spec::registers::LSR::DATA_READY))
}

struct Locked<'a>(MutexGuard<'a, Option<Uart>>);

impl Write for Locked<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(uart) = self.0.as_mut() {
            put(uart, s);
        }
        Ok(())
    }
}

/// Prints formatted text under the console lock (used by `kprint!`).
pub fn print(args: fmt::Arguments<'_>) {
    // The lock is held in a critical section: an interrupt handler that prints on this CPU
    // is deferred instead of spinning on a lock its own interrupted thread holds.
    let _c = crate::lwkt::crit::crit();
    let _ = Locked(CONSOLE.lock()).write_fmt(args);
}

/// A console writer for fatal paths.
pub enum Emergency {
    /// The lock was free (or freed in time).
    Locked(MutexGuard<'static, Option<Uart>>),
    /// The lock stayed held: writing straight to the UART, around it.
    Raw(Option<Uart>),
}

/// Spins this many times for the console lock before writing around it.
const EMERGENCY_SPINS: u32 = 1 << 20;

/// Returns a writer that never blocks for good on the console lock.
pub fn emergency() -> Emergency {
    for _ in 0..EMERGENCY_SPINS {
        if let Some(g) = CONSOLE.try_lock() {
            return Emergency::Locked(g);
        }
        core::hint::spin_loop();
    }
    // SAFETY: the system is going down; sharing COM1 with a lock holder that is not running
    // (it faulted, or is spinning elsewhere) can at worst interleave bytes.
    Emergency::Raw(unsafe { Uart::new_port(COM1) }.ok())
}

impl Emergency {
    /// True when the writer goes around a console lock someone else holds.
    pub fn bypassed(&self) -> bool {
        matches!(self, Emergency::Raw(_))
    }
}

impl Write for Emergency {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let uart = match self {
            Emergency::Locked(g) => g.as_mut(),
            Emergency::Raw(u) => u.as_mut(),
        };
        if let Some(uart) = uart {
            put(uart, s);
        }
        Ok(())
    }
}

/// Takes the console lock and never gives it back (the `crash=consolelock` test).
pub fn hold_lock_forever() {
    core::mem::forget(CONSOLE.lock());
}

/// Prints to the console.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => { $crate::tty::console::print(format_args!($($arg)*)) };
}

/// Prints a line to the console.
#[macro_export]
macro_rules! kprintln {
    () => { $crate::kprint!("\n") };
    ($($arg:tt)*) => { $crate::tty::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}
