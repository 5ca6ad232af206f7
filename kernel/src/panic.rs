//! The panic handler: report where and why through the emergency console, then end the run
//! as a failure.
use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    x86_64::instructions::interrupts::disable();
    let mut out = crate::tty::console::emergency();
    if PANICKING.swap(true, Ordering::AcqRel) {
        let _ = writeln!(out, "\npanic: nested panic: {}", info.message());
        crate::arch::x86_64::power::exit_failure();
    }
    let _ = write!(out, "\npanic: ");
    if let Some(loc) = info.location() {
        let _ = write!(out, "{}:{}:{}: ", loc.file(), loc.line(), loc.column());
    }
    let _ = writeln!(out, "{}", info.message());
    let _ = writeln!(out, "backtrace:");
    crate::debug::backtrace::write_here(&mut out);
    drop(out);
    crate::ktest::note_fatal("panic");
    crate::arch::x86_64::power::exit_failure()
}
