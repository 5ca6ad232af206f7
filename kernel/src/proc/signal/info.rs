//! What a signal carries (Linux's `siginfo_t` on x86-64): the sender, the fault address, the
//! child's status, a timer's overrun or a queued value, and the 128-byte layout it takes in
//! a signal frame, a signalfd read or rt_sigtimedwait.
use super::{SIGBUS, SIGCHLD, SIGFPE, SIGILL, SIGSEGV, SIGTRAP};

/// si_code for a signal sent by kill.
pub const SI_USER: i32 = 0;
/// si_code for a signal the kernel raised.
pub const SI_KERNEL: i32 = 0x80;
/// si_code for sigqueue / rt_sigqueueinfo.
pub const SI_QUEUE: i32 = -1;
/// si_code for a POSIX timer's expiry.
pub const SI_TIMER: i32 = -2;
/// si_code for tkill/tgkill.
pub const SI_TKILL: i32 = -6;
/// si_code of SIGCHLD for a child that exited.
pub const CLD_EXITED: i32 = 1;
/// si_code of SIGCHLD for a child killed by a signal.
pub const CLD_KILLED: i32 = 2;

/// What goes in the siginfo of a pending signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    /// si_code.
    pub code: i32,
    /// si_errno.
    pub errno: i32,
    /// Sender's pid (kill, sigqueue) or the child's pid (SIGCHLD).
    pub pid: u32,
    /// Sender's uid.
    pub uid: u32,
    /// Faulting address (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP).
    pub addr: u64,
    /// The child's exit code or signal (SIGCHLD).
    pub status: i32,
    /// The child's user and system time in clock ticks (SIGCHLD).
    pub utime: u64,
    pub stime: u64,
    /// The value sigqueue or a timer's sigevent carries (sigval).
    pub value: u64,
    /// The kernel's id of the timer that expired (SI_TIMER).
    pub timerid: i32,
    /// Expiries of that timer lost while the signal was pending (SI_TIMER).
    pub overrun: i32,
    /// Band event and descriptor (SIGIO/SIGPOLL).
    pub band: i64,
    pub fd: i32,
}

impl SigInfo {
    /// A signal with code `code` and no other details.
    pub const fn code(code: i32) -> SigInfo {
        SigInfo {
            code,
            errno: 0,
            pid: 0,
            uid: 0,
            addr: 0,
            status: 0,
            utime: 0,
            stime: 0,
            value: 0,
            timerid: 0,
            overrun: 0,
            band: 0,
            fd: 0,
        }
    }

    /// The 128 bytes of `siginfo_t` for `sig`, laid out for the union member Linux's
    /// copy_siginfo_to_user picks (by signal and code).
    pub fn to_bytes(self, sig: u32) -> [u8; 128] {
        const SIGPOLL: u32 = 29;
        let mut b = [0u8; 128];
        let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
        put(0, &(sig as i32).to_ne_bytes());
        put(4, &self.errno.to_ne_bytes());
        put(8, &self.code.to_ne_bytes());
        let fault = matches!(sig, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP);
        if self.code == SI_TIMER {
            put(16, &self.timerid.to_ne_bytes());
            put(20, &self.overrun.to_ne_bytes());
            put(24, &self.value.to_ne_bytes());
        } else if self.code > 0 && fault {
            put(16, &self.addr.to_ne_bytes());
        } else if self.code > 0 && sig == SIGPOLL {
            put(16, &self.band.to_ne_bytes());
            put(24, &self.fd.to_ne_bytes());
        } else {
            put(16, &self.pid.to_ne_bytes());
            put(20, &self.uid.to_ne_bytes());
            if sig == SIGCHLD && self.code > 0 {
                put(24, &self.status.to_ne_bytes());
                put(32, &self.utime.to_ne_bytes());
                put(40, &self.stime.to_ne_bytes());
            } else if self.code == SI_QUEUE || self.code < 0 && self.value != 0 {
                put(24, &self.value.to_ne_bytes());
            }
        }
        b
    }
}

/// The siginfo of a fault: the code Linux uses and the address.
pub fn fault_info(sig: u32, vector: u64, error: u64, cr2: u64, rip: u64) -> SigInfo {
    const SEGV_MAPERR: i32 = 1;
    const SEGV_ACCERR: i32 = 2;
    const BUS_ADRERR: i32 = 2;
    const ILL_ILLOPN: i32 = 2;
    const FPE_INTDIV: i32 = 1;
    let (code, addr) = match (sig, vector) {
        (SIGSEGV, 14) => (if error & 1 != 0 { SEGV_ACCERR } else { SEGV_MAPERR }, cr2),
        (SIGBUS, 14) => (BUS_ADRERR, cr2),
        (SIGILL, _) => (ILL_ILLOPN, rip),
        (SIGFPE, 0) => (FPE_INTDIV, rip),
        (SIGFPE, _) => (0, rip),
        // #GP and the rest: Linux reports SI_KERNEL with no address.
        _ => (SI_KERNEL, 0),
    };
    SigInfo { code, addr, ..SigInfo::default() }
}
