//! Failing cleanly: a `loader: error:` line, then QEMU's isa-debug-exit, then halt.

use crate::serial::{outl, Serial};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

/// Prints `loader: error: <reason>` and stops the machine with the loader-failure code.
pub fn fail(args: fmt::Arguments) -> ! {
    let _ = write!(Serial, "loader: error: ");
    let _ = Serial.write_fmt(args);
    let _ = writeln!(Serial);
    exit_failure()
}

/// Ends QEMU with status 37; on hardware without the device, halts forever.
pub fn exit_failure() -> ! {
    outl(abi::debug_exit::PORT, abi::debug_exit::LOADER_FAILURE);
    loop {
        // SAFETY: cli; hlt only stops this CPU.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) }
    }
}

/// `fail` with format arguments.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { $crate::exit::fail(format_args!($($arg)*)) };
}

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // A panic while printing the first one must still end the run.
    if PANICKING.swap(true, Ordering::Relaxed) {
        exit_failure();
    }
    fail(format_args!("panic: {info}"))
}
