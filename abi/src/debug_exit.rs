//! Exit codes written to QEMU's `isa-debug-exit` device.
//!
//! QEMU exits with status `(value << 1) | 1` when the guest writes `value` to the port, so no
//! value written here can produce status 0: 0 means the guest reset or powered off instead
//! (a triple fault under `-no-reboot` ends QEMU with status 0, too).

/// I/O port of the `isa-debug-exit` device (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
pub const PORT: u16 = 0xf4;

/// Value the kernel writes when every requested test passed.
pub const SUCCESS: u32 = 0x10;
/// Value the kernel writes on a failing test, a panic or an unexpected fault.
pub const FAILURE: u32 = 0x11;
/// Value the loader writes when it cannot start the kernel.
pub const LOADER_FAILURE: u32 = 0x12;
/// Value the kernel writes when PID 1 ended. Its exit status is on the serial console, in the
/// line [`INIT_EXIT_PREFIX`]` N` (or [`INIT_KILLED_PREFIX`]` SIG`), which the xtask decodes.
pub const INIT_EXIT: u32 = 0x13;
/// Serial line the kernel prints when PID 1 exits: `init: exited with status N`.
pub const INIT_EXIT_PREFIX: &str = "init: exited with status";
/// Serial line the kernel prints when PID 1 is killed: `init: killed by signal N`.
pub const INIT_KILLED_PREFIX: &str = "init: killed by signal";

/// The host-side exit status QEMU reports for a value written to [`PORT`].
pub const fn qemu_status(value: u32) -> i32 {
    ((value << 1) | 1) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_distinct_and_never_zero() {
        let s =
            [qemu_status(SUCCESS), qemu_status(FAILURE), qemu_status(LOADER_FAILURE), qemu_status(INIT_EXIT)];
        assert_eq!(s, [33, 35, 37, 39]);
    }
}
