//! Syscall dispatch (DragonFly's kern_syscalls / init_sysent).
//!
//! PROVISIONAL: a test-only table that exercises the entry and exit path before processes
//! exist. The per-ABI sysentvec (native and Linux tables generated from the lists in `abi/`)
//! replaces it; these numbers mean nothing outside the user-mode tests.
pub mod linux;

use crate::arch::x86_64::trap::TrapFrame;
use crate::arch::x86_64::usermode::{self, USER_END};
use core::sync::atomic::{AtomicU64, Ordering};

/// The test table's numbers.
pub mod nr {
    /// Records rdi and returns rdi + 1.
    pub const TEST_ECHO: u64 = 0;
    /// Ends the trip to user mode (stands in for exit).
    pub const TEST_RETURN_TO_KERNEL: u64 = 1;
    /// Rewrites the frame to resume at rdi, which forces the IRET exit.
    pub const TEST_JUMP: u64 = 2;
}

/// Linux's errno numbers (the kernel's numbering, see DESIGN.md).
const ENOSYS: u64 = 38;
const EINVAL: u64 = 22;

/// The last argument `TEST_ECHO` saw.
pub static ECHO_ARG: AtomicU64 = AtomicU64::new(0);
/// RFLAGS inside the kernel at the last `TEST_ECHO` (what SYSCALL's FMASK left).
pub static ECHO_KERNEL_RFLAGS: AtomicU64 = AtomicU64::new(0);
/// Syscalls answered with ENOSYS.
pub static ENOSYS_COUNT: AtomicU64 = AtomicU64::new(0);

/// `-errno` as the value user mode sees in rax.
const fn err(errno: u64) -> u64 {
    errno.wrapping_neg()
}

/// Runs the syscall in `frame` (number in `orig_rax`, arguments in rdi, rsi, rdx, r10, r8,
/// r9) and puts the result in rax. Called by the SYSCALL entry with interrupts off.
pub fn syscall_dispatch(frame: &mut TrapFrame) {
    // A thread that runs a process goes through its ABI's table.
    if let Some(lwp) = crate::proc::curlwp() {
        linux::dispatch(lwp, frame);
        return;
    }
    frame.rax = match frame.orig_rax() {
        nr::TEST_ECHO => {
            ECHO_ARG.store(frame.rdi, Ordering::Relaxed);
            ECHO_KERNEL_RFLAGS.store(x86_64::registers::rflags::read_raw(), Ordering::Relaxed);
            frame.rdi.wrapping_add(1)
        }
        nr::TEST_RETURN_TO_KERNEL => usermode::syscall_exit(frame),
        // A user-supplied rip is checked before it can reach IRET.
        nr::TEST_JUMP if frame.rdi < USER_END => {
            frame.rip = frame.rdi;
            0
        }
        nr::TEST_JUMP => err(EINVAL),
        n => {
            if ENOSYS_COUNT.fetch_add(1, Ordering::Relaxed) == 0 {
                log::debug!("syscall: {} not implemented", n);
            }
            err(ENOSYS)
        }
    };
}
