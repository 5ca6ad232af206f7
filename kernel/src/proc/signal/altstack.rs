//! sigaltstack: the alternate stack SA_ONSTACK handlers run on (so a handler can run after
//! the normal stack overflowed), as Linux's do_sigaltstack checks and reports it.
use super::frame::on_stack;
use crate::proc::lwp::{AltStack, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK};
use crate::proc::Lwp;
use abi::errno::{EINVAL, ENOMEM, EPERM};

/// The smallest alternate stack Linux accepts (MINSIGSTKSZ on x86-64).
pub const MINSIGSTKSZ: u64 = 2048;

/// The alternate stack as sigaltstack reports it to code running at `sp`: SS_ONSTACK
/// while on it, SS_DISABLE (with zero address and size) when there is none.
pub fn current(lwp: &Lwp, sp: u64) -> AltStack {
    let alt = *lwp.altstack.lock();
    if alt.flags & SS_DISABLE != 0 {
        return AltStack { sp: 0, size: 0, flags: SS_DISABLE };
    }
    let flags = if on_stack(&alt, sp) { SS_ONSTACK | alt.flags & SS_AUTODISARM } else { alt.flags };
    AltStack { flags, ..alt }
}

/// Installs `new` for code running at `sp`: EPERM while running on the current one, EINVAL
/// for unknown flags, ENOMEM for a stack smaller than MINSIGSTKSZ.
pub fn set(lwp: &Lwp, new: AltStack, sp: u64) -> Result<(), i32> {
    let mut alt = lwp.altstack.lock();
    if on_stack(&alt, sp) {
        return Err(EPERM);
    }
    let mode = new.flags & !SS_AUTODISARM;
    if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
        return Err(EINVAL);
    }
    if mode == SS_DISABLE {
        *alt = AltStack { sp: 0, size: 0, flags: SS_DISABLE };
        return Ok(());
    }
    if new.size < MINSIGSTKSZ {
        return Err(ENOMEM);
    }
    new.sp.checked_add(new.size).ok_or(EINVAL)?;
    *alt = AltStack { sp: new.sp, size: new.size, flags: new.flags & SS_AUTODISARM };
    Ok(())
}
