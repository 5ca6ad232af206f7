//! The Linux sysentvec (FreeBSD's sys/compat/linux as DragonFly carried it, for x86_64):
//! the dispatch table built from the declarative list in `abi/src/linux/syscalls.rs`,
//! -errno results in rax, ENOSYS for what is missing (counted, logged once per name).
mod cpuclock;
mod event;
mod file;
mod ids;
mod lifecycle;
mod mem;
mod misc;
mod mounts;
mod names;
mod priority;
mod priority_tests;
mod proc;
mod readiness;
mod rusage;
mod schedparam;
mod signalfd;
mod signals;
mod statx;
mod table;
mod threads;
mod time;
mod timers;
mod utsname;

use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::restart::{Restart, ERESTART_RESTARTBLOCK};
use crate::proc::Lwp;
use abi::errno::{EINTR, ENOSYS};
use abi::linux::syscalls::TABLE;
use abi::syscall_list::by_number;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// A handler: the calling thread's lwp, the frame (for calls that rewrite it), the six
/// arguments. Returns the value for rax or an errno.
pub type Handler = fn(&Arc<Lwp>, &mut TrapFrame, [u64; 6]) -> Result<u64, i32>;

/// Calls answered with ENOSYS, per number.
static ENOSYS_BY_NR: [AtomicU64; 512] = [const { AtomicU64::new(0) }; 512];

/// Runs the Linux syscall in `frame` for `lwp`. Called from the SYSCALL entry with
/// interrupts off; handlers run with interrupts on (they may sleep).
pub fn dispatch(lwp: &Arc<Lwp>, frame: &mut TrapFrame) {
    x86_64::instructions::interrupts::enable();
    let nr = frame.orig_rax();
    let args = [frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9];
    let result = match table::handler(nr) {
        Some(h) => h(lwp, frame, args),
        None => Err(enosys(nr)),
    };
    // Calls Linux restarts after a signal (ERESTARTSYS); polls and selects are not; sleeps
    // resume through restart_syscall when no handler runs (ERESTART_RESTARTBLOCK).
    let restart = match result {
        Err(EINTR) if restartable(nr, &args) => Some(Restart::Call(nr)),
        Err(EINTR) if restart_unless_handled(nr) => Some(Restart::NoHandler(nr)),
        Err(ERESTART_RESTARTBLOCK) => Some(Restart::Block),
        _ => None,
    };
    let result = if result == Err(ERESTART_RESTARTBLOCK) { Err(EINTR) } else { result };
    frame.rax = match result {
        Ok(v) => v,
        Err(e) => (e as i64).wrapping_neg() as u64,
    };
    // `log=trace` shows every call with its name, arguments and result (strace-like).
    if log::log_enabled!(log::Level::Trace) {
        let name = u32::try_from(nr).ok().and_then(|n| by_number(TABLE, n)).map_or("?", |s| s.name);
        log::trace!(
            "[{}] {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {}",
            lwp.tid(),
            name,
            args[0],
            args[1],
            args[2],
            args[3],
            args[4],
            args[5],
            frame.rax as i64
        );
    }
    // Return to user mode is where pending signals are acted on, and where the thread
    // gives the CPU away or waits for its user slot (userexit).
    if crate::proc::signal::deliverable(lwp) || restart == Some(Restart::Block) {
        crate::proc::signal::deliver_after(lwp, frame, restart);
    }
    // A temporary mask no handler frame took goes now (ppoll, pselect6, epoll_pwait).
    crate::proc::signal::restore_saved_mask(lwp);
    crate::proc::rseq::return_to_user(lwp, frame);
    x86_64::instructions::interrupts::disable();
}

/// Whether an EINTR from call `nr` means ERESTARTSYS on Linux.
fn restartable(nr: u64, args: &[u64; 6]) -> bool {
    use abi::linux::syscalls::nr::*;
    let n = nr as u32;
    // A futex wait restarts unless it had a relative timeout (which would start over).
    if n == futex {
        const FUTEX_WAIT: u64 = 0;
        return args[1] & 0x7f == FUTEX_WAIT && args[3] == 0 || args[1] & 0x7f == 9;
    }
    [
        read, write, readv, writev, pread64, pwrite64, preadv, pwritev, wait4, waitid, open, openat, ioctl,
        fcntl, flock, sendfile,
    ]
    .contains(&n)
}

/// Whether an EINTR from call `nr` means ERESTARTNOHAND: waits for a handler that no
/// handler ended (a stop and continue, or a signal another thread took) go on waiting.
fn restart_unless_handled(nr: u64) -> bool {
    use abi::linux::syscalls::nr::*;
    [rt_sigsuspend, pause].contains(&(nr as u32))
}

fn enosys(nr: u64) -> i32 {
    let first = ENOSYS_BY_NR.get(nr as usize).is_some_and(|c| c.fetch_add(1, Ordering::Relaxed) == 0);
    if first || nr >= 512 {
        let name = u32::try_from(nr).ok().and_then(|n| by_number(TABLE, n)).map_or("?", |s| s.name);
        log::warn!("linux: syscall {} ({}) not implemented", nr, name);
    }
    ENOSYS
}

/// Calls answered with ENOSYS so far, with their counts (for a later /proc file and tests).
#[allow(dead_code)]
pub fn enosys_counts() -> impl Iterator<Item = (u64, u64)> {
    ENOSYS_BY_NR.iter().enumerate().filter_map(|(n, c)| {
        let v = c.load(Ordering::Relaxed);
        (v > 0).then_some((n as u64, v))
    })
}
