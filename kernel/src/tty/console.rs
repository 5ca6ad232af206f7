//! The system console on COM1 (16550 UART, 115200 8N1): polled output, interrupt-driven
//! input into the console tty ([`start_rx_interrupt`]).
//!
//! Normal output takes the console lock so lines from different contexts do not interleave.
//! Fatal paths (panics, fault reports) use [`emergency`], which waits a bounded time for the
//! lock and then writes around it: a report must get out even if the code that faulted held
//! the lock.
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
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

/// Writes bytes as they are under the console lock (the line discipline did the output
/// processing: this is the console tty's output function).
pub fn write_raw(bytes: &[u8]) {
    with_uart(|uart| uart.send_bytes_exact(bytes));
}

/// Runs `f` on the UART under the console lock, in a critical section that outlasts the
/// lock: leaving the section replays a deferred receive interrupt, whose handler takes this
/// lock. (A guard made in a block's tail expression would outlive the block's critical
/// section and deadlock on exactly that.)
fn with_uart<R>(f: impl FnOnce(&mut Uart) -> R) -> Option<R> {
    let c = crate::lwkt::crit::crit();
    let mut g = CONSOLE.lock();
    let r = g.as_mut().map(f);
    drop(g);
    drop(c);
    r
}

/// The device vector COM1's receive interrupt arrives on (0: polled, no interrupt yet).
static RX_VECTOR: AtomicU8 = AtomicU8::new(0);
/// Bytes the receive interrupt moved into the console tty.
pub static RX_BYTES: AtomicU64 = AtomicU64::new(0);

/// Moves what the UART received into the console tty (the receive interrupt handler,
/// interrupts off; also the polled fallback). Drains the receiver completely: IRQ 4 is edge
/// triggered, so a byte left behind would never raise another interrupt.
pub fn rx_drain() {
    loop {
        let mut buf = [0u8; 64];
        let n = with_uart(|uart| uart.receive_bytes(&mut buf)).unwrap_or(0);
        if n == 0 {
            return;
        }
        RX_BYTES.fetch_add(n as u64, Ordering::Relaxed);
        // Without a console tty (not set up yet) the bytes are dropped, as a terminal
        // nobody opened drops them.
        if let Some(tty) = super::console_tty() {
            tty.input(&buf[..n]);
        }
    }
}

/// Routes COM1's IRQ 4 through the IOAPIC to a device vector on this CPU and enables the
/// UART's receive-data interrupt. Returns the vector, or why not (input then stays polled:
/// readers of the console drain the UART themselves).
pub fn start_rx_interrupt() -> Result<u8, &'static str> {
    use crate::arch::x86_64::{intr, ioapic, lapic};
    if with_uart(|_| ()).is_none() {
        return Err("no UART");
    }
    let v = intr::register_any(rx_drain).ok_or("no free device vector")?;
    if ioapic::route_isa_irq(4, v, lapic::id()).is_err() {
        intr::unregister(v);
        return Err("IRQ 4 not routable");
    }
    RX_VECTOR.store(v, Ordering::Release);
    with_uart(|uart| uart.enable_interrupts(uart_16550::spec::registers::IER::DATA_READY));
    // Whatever arrived before the interrupt was on.
    rx_drain();
    Ok(v)
}

/// The receive interrupt's vector, if interrupts are on.
pub fn rx_vector() -> Option<u8> {
    match RX_VECTOR.load(Ordering::Acquire) {
        0 => None,
        v => Some(v),
    }
}

/// Puts the UART in loopback mode, sends `bytes` (at most 16: the receive FIFO) so that it
/// receives them as if typed, and leaves loopback mode; nothing reaches the line (the
/// receive-interrupt test). The console lock is held throughout, so no other output is
/// looped back into the input.
pub fn loopback_inject(bytes: &[u8]) {
    use uart_16550::spec::registers::{LSR, MCR};
    const MCR_PORT: u16 = COM1 + 4;
    let _c = crate::lwkt::crit::crit();
    let mut g = CONSOLE.lock();
    let Some(uart) = g.as_mut() else { return };
    let wait_empty = |uart: &mut Uart| {
        for _ in 0..1_000_000 {
            if uart.lsr().contains(LSR::TRANSMITTER_EMPTY) {
                break;
            }
            core::hint::spin_loop();
        }
    };
    wait_empty(uart);
    let mcr = uart.mcr();
    let mut port = x86_64::instructions::port::Port::<u8>::new(MCR_PORT);
    // SAFETY: COM1's registers belong to the console driver, whose lock is held; only the
    // loopback bit changes and is restored below.
    unsafe { port.write((mcr | MCR::LOOP_BACK).bits()) };
    uart.send_bytes_exact(&bytes[..bytes.len().min(16)]);
    wait_empty(uart);
    // SAFETY: as above: back to the saved modem control value.
    unsafe { port.write(mcr.bits()) };
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
