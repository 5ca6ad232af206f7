//! The system's names (struct utsname): uname, and sethostname/setdomainname, which change
//! the two names a process may set. One set of names for the whole system (no UTS
//! namespaces).
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use crate::sync::spinlock::SpinLock;
use abi::errno::*;
use alloc::sync::Arc;

type R = Result<u64, i32>;

/// Bytes in each utsname field, its NUL included (__NEW_UTS_LEN + 1).
const FIELD: usize = 65;

/// A settable name: its bytes and length (at most FIELD - 1).
struct Name {
    bytes: [u8; FIELD - 1],
    len: usize,
}

impl Name {
    const fn new(init: &[u8]) -> Name {
        let mut bytes = [0u8; FIELD - 1];
        let mut i = 0;
        while i < init.len() {
            bytes[i] = init[i];
            i += 1;
        }
        Name { bytes, len: init.len() }
    }

    fn get(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

static HOSTNAME: SpinLock<Name> = SpinLock::new(Name::new(b"damselfly"));
static DOMAINNAME: SpinLock<Name> = SpinLock::new(Name::new(b"(none)"));

/// uname: a Linux process sees Linux (the release a 6.x libc expects).
pub fn uname(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let mut b = [0u8; 6 * FIELD];
    let host = HOSTNAME.lock().get().to_vec();
    let domain = DOMAINNAME.lock().get().to_vec();
    let fields: [&[u8]; 6] = [
        b"Linux",
        &host,
        b"6.1.0-damselfly",
        concat!("#1 SMP Damselfly ", env!("CARGO_PKG_VERSION")).as_bytes(),
        b"x86_64",
        &domain,
    ];
    for (i, f) in fields.iter().enumerate() {
        b[i * FIELD..i * FIELD + f.len()].copy_from_slice(f);
    }
    copyout(a[0], &b)?;
    Ok(0)
}

/// Sets `name` from the user's (pointer, length): EPERM without privilege, EINVAL for a
/// length outside 0..=64, EFAULT for a bad pointer. The bytes are taken as they are (no NUL
/// needed), as Linux does.
fn set_name(l: &Lwp, name: &SpinLock<Name>, addr: u64, len: u64) -> R {
    if l.proc.cred.lock().uid != 0 {
        return Err(EPERM);
    }
    let len = usize::try_from(len as i32).map_err(|_| EINVAL)?;
    if len >= FIELD {
        return Err(EINVAL);
    }
    let mut bytes = [0u8; FIELD - 1];
    copyin(&mut bytes[..len], addr)?;
    *name.lock() = Name { bytes, len };
    Ok(0)
}

/// sethostname(name, len): the nodename uname reports.
pub fn sethostname(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    set_name(l, &HOSTNAME, a[0], a[1])
}

/// setdomainname(name, len): the (NIS) domain name uname reports.
pub fn setdomainname(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    set_name(l, &DOMAINNAME, a[0], a[1])
}
