//! Restarting an interrupted sleep (Linux's restart_block and ERESTART_RESTARTBLOCK): a
//! nanosleep or clock_nanosleep that a signal interrupts records where it was going; when
//! no handler runs for the signal the thread re-enters the kernel through restart_syscall,
//! which sleeps on to the same deadline. With a handler the call fails with EINTR whatever
//! SA_RESTART says.

/// Internal errno: "restart through restart_syscall unless a handler runs" (never seen by
/// user code: the dispatcher turns it into EINTR or a restart).
pub const ERESTART_RESTARTBLOCK: i32 = 516;

/// What an interrupted call needs when no handler runs for the signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// ERESTARTSYS: run call `nr` again (also after a handler with SA_RESTART).
    Call(u64),
    /// ERESTART_RESTARTBLOCK: continue by restart_syscall; a handler means EINTR.
    Block,
    /// ERESTARTNOHAND: run call `nr` again if no handler runs; a handler means EINTR
    /// (sigsuspend, pause).
    NoHandler(u64),
}

/// An interrupted sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartBlock {
    /// The monotonic deadline.
    pub deadline: u64,
    /// Where to write the time left if interrupted again (0: nowhere).
    pub rmtp: u64,
}
