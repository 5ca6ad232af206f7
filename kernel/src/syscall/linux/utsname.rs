//! The UTS names (Linux's kernel/utsname_sysctl.c and kernel/sys.c): uname, and the two names
//! root may change, the node name (sethostname) and the NIS domain name (setdomainname).
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use crate::sync::spinlock::SpinLock;
use abi::errno::*;
use alloc::sync::Arc;

type R = Result<u64, i32>;

/// A field of struct utsname: 65 bytes, the text NUL-padded (Linux's __NEW_UTS_LEN + 1).
const FIELD: usize = 65;

/// A settable name: its bytes (at most FIELD - 1) and length.
struct Name {
    bytes: [u8; FIELD - 1],
    len: usize,
}

impl Name {
    const fn new(s: &[u8]) -> Name {
        let mut bytes = [0u8; FIELD - 1];
        let mut i = 0;
        while i < s.len() {
            bytes[i] = s[i];
            i += 1;
        }
        Name { bytes, len: s.len() }
    }
}

/// The node name the machine boots with (Linux's comes from CONFIG_DEFAULT_HOSTNAME).
static NODENAME: SpinLock<Name> = SpinLock::new(Name::new(b"damselfly"));
/// The NIS domain name, "(none)" until set, as on Linux.
static DOMAINNAME: SpinLock<Name> = SpinLock::new(Name::new(b"(none)"));

/// uname: a Linux process sees Linux (the release a 6.x libc expects), with the node and
/// domain names as last set.
pub fn uname(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let mut b = [0u8; 6 * FIELD];
    let put = |b: &mut [u8], i: usize, f: &[u8]| b[i * FIELD..i * FIELD + f.len()].copy_from_slice(f);
    put(&mut b, 0, b"Linux");
    put(&mut b, 2, b"6.1.0-damselfly");
    put(&mut b, 3, concat!("#1 SMP Damselfly ", env!("CARGO_PKG_VERSION")).as_bytes());
    put(&mut b, 4, b"x86_64");
    {
        let n = NODENAME.lock();
        put(&mut b, 1, &n.bytes[..n.len]);
    }
    {
        let d = DOMAINNAME.lock();
        put(&mut b, 5, &d.bytes[..d.len]);
    }
    copyout(a[0], &b)?;
    Ok(0)
}

/// sethostname(name, len): root only (CAP_SYS_ADMIN); EINVAL for a length beyond 64.
pub fn sethostname(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    set_name(l, &NODENAME, a[0], a[1])
}

/// setdomainname(name, len): as sethostname, for the NIS domain name.
pub fn setdomainname(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    set_name(l, &DOMAINNAME, a[0], a[1])
}

/// Linux's order of checks: privilege, then the length (an int), then the copy. The name is
/// taken as given (no NUL needed; one inside it ends what uname shows).
fn set_name(l: &Lwp, name: &SpinLock<Name>, uaddr: u64, len: u64) -> R {
    if l.proc.cred.lock().uid != 0 {
        return Err(EPERM);
    }
    let len = len as i32;
    if !(0..FIELD as i32).contains(&len) {
        return Err(EINVAL);
    }
    let len = len as usize;
    let mut bytes = [0u8; FIELD - 1];
    // Copied before the lock is taken: a fault may sleep.
    copyin(&mut bytes[..len], uaddr)?;
    let shown = bytes[..len].iter().position(|&c| c == 0).unwrap_or(len);
    let mut n = name.lock();
    n.bytes = bytes;
    n.len = shown;
    Ok(0)
}
