//! signalfd and signalfd4 over the event layer's [`SignalFd`]. Argument checks come in
//! Linux's order: the mask's size, the mask, the flags, then the descriptor.
use super::signals::user_sigset;
use crate::arch::x86_64::trap::TrapFrame;
use crate::event::signalfd::SignalFd;
use crate::proc::Lwp;
use crate::vfs::file::File;
use abi::errno::{EBADF, EINVAL};
use abi::fcntl::{O_CLOEXEC, O_NONBLOCK};
use alloc::sync::Arc;

type R = Result<u64, i32>;

/// signalfd4's flags: SFD_CLOEXEC and SFD_NONBLOCK (O_CLOEXEC and O_NONBLOCK).
const SFD_FLAGS: u32 = O_CLOEXEC | O_NONBLOCK;

/// signalfd4(fd, mask, sizemask, flags): fd -1 makes a signalfd reading `mask` (SIGKILL and
/// SIGSTOP dropped from it); another fd must be a signalfd (else EINVAL, EBADF when not
/// open), whose mask is replaced (the flags are then ignored). Returns the descriptor.
pub fn signalfd4(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let mask = user_sigset(a[1], a[2])?;
    let flags = a[3] as u32;
    if flags & !SFD_FLAGS != 0 {
        return Err(EINVAL);
    }
    let fd = a[0] as i32;
    if fd == -1 {
        let file = File::anon(Arc::new(SignalFd::new(mask)), flags & O_NONBLOCK);
        return l.proc.fd.install(file, flags & O_CLOEXEC != 0).map(|fd| fd as u64);
    }
    let f = l.proc.fd.get(fd).map_err(|_| EBADF)?;
    let sfd = f.anon_obj().and_then(|o| o.as_any().downcast_ref::<SignalFd>()).ok_or(EINVAL)?;
    sfd.set_mask(mask);
    Ok(fd as u64)
}

/// signalfd(fd, mask, sizemask): signalfd4 without flags.
pub fn signalfd(l: &Arc<Lwp>, t: &mut TrapFrame, a: [u64; 6]) -> R {
    signalfd4(l, t, [a[0], a[1], a[2], 0, 0, 0])
}
