//! Ending the machine: QEMU's isa-debug-exit device, then halt as a fallback.
use abi::debug_exit;
use x86_64::instructions::port::Port;

/// Ends QEMU with the status for `value` (see [`abi::debug_exit`]); halts forever where the
/// device does not exist.
pub fn exit(value: u32) -> ! {
    // SAFETY: writing to the debug-exit port has no effect on memory; without the device the
    // write is ignored.
    unsafe { Port::<u32>::new(debug_exit::PORT).write(value) };
    halt_forever()
}

/// Ends the run as a failure (panic, fatal fault, failing test).
pub fn exit_failure() -> ! {
    exit(debug_exit::FAILURE)
}

/// Stops this CPU for good: interrupts off, halt in a loop (an NMI only wakes it briefly).
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
