//! mount, umount2, statfs and fstatfs over the VFS mount table.
use super::file::user_path;
use crate::arch::x86_64::copyio::{copyinstr, copyout};
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use crate::vfs::mount::{self, Mount};
use crate::vfs::nlookup::nlookup;
use abi::errno::*;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

type R = Result<u64, i32>;

/// mount(source, target, fstype, flags, data): root only; new instances of tmpfs (options
/// mode=, uid=, gid=, size=, nr_blocks=), proc and devtmpfs (devfs). Of the flags, MS_RDONLY and MS_SILENT (and
/// the old magic in the high half); the others are not there yet: EINVAL rather than a mount
/// that ignores them.
pub fn mount(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const MS_RDONLY: u64 = 1;
    const MS_SILENT: u64 = 0x8000;
    const MS_MGC_MSK: u64 = 0xffff_0000;
    const MS_MGC_VAL: u64 = 0xc0ed_0000;
    let mut fstype = [0u8; 32];
    let n = copyinstr(&mut fstype, a[2]).map_err(|e| if e == ENAMETOOLONG { ENODEV } else { e })?;
    let source = mount_source(a[0])?;
    let data = if a[4] != 0 { user_path(a[4])? } else { Vec::new() };
    let target = user_path(a[1])?;
    let on = nlookup(&l.proc.ctx(), None, &target, true)?;
    if l.proc.cred.lock().uid != 0 {
        return Err(EPERM);
    }
    let flags = if a[3] & MS_MGC_MSK == MS_MGC_VAL { a[3] & !MS_MGC_MSK } else { a[3] };
    if flags & !(MS_SILENT | MS_RDONLY) != 0 {
        return Err(EINVAL);
    }
    let m: Arc<Mount> = match &fstype[..n] {
        b"tmpfs" => {
            let o = TmpfsOptions::parse(&data)?;
            crate::vfs::tmpfs::mount_sized(source, o.mode, o.uid, o.gid, o.pages)
        }
        b"proc" => crate::vfs::procfs::mount(source),
        b"devtmpfs" => crate::vfs::devfs::mount(source),
        _ => return Err(ENODEV),
    };
    if flags & MS_RDONLY != 0 {
        m.set_readonly();
    }
    mount::mount_on(&on, m)?;
    Ok(0)
}

/// The source argument of mount(2) as /proc/mounts shows it: Linux copies up to a page
/// (EINVAL beyond) and shows a NULL source as "none".
fn mount_source(uaddr: u64) -> Result<Vec<u8>, i32> {
    if uaddr == 0 {
        return Ok(b"none".to_vec());
    }
    let mut buf = vec![0u8; 4096];
    let n = copyinstr(&mut buf, uaddr).map_err(|e| if e == ENAMETOOLONG { EINVAL } else { e })?;
    buf.truncate(n);
    Ok(buf)
}

/// tmpfs's mount options: the root directory's mode (octal), owner and group, and the size
/// limit in pages (None: unlimited, as size=0 says on Linux).
struct TmpfsOptions {
    mode: u32,
    uid: u32,
    gid: u32,
    pages: Option<u64>,
}

impl TmpfsOptions {
    /// Parses "opt=value,..."; an unknown option or a bad number is EINVAL, as on Linux.
    fn parse(data: &[u8]) -> Result<TmpfsOptions, i32> {
        let mut o = TmpfsOptions { mode: 0o1777, uid: 0, gid: 0, pages: None };
        for opt in data.split(|&c| c == b',').filter(|s| !s.is_empty()) {
            let (key, val) = match opt.iter().position(|&c| c == b'=') {
                Some(i) => (&opt[..i], &opt[i + 1..]),
                None => (opt, &b""[..]),
            };
            let num = |radix| {
                core::str::from_utf8(val).ok().and_then(|v| u32::from_str_radix(v, radix).ok()).ok_or(EINVAL)
            };
            match key {
                b"mode" => o.mode = num(8)? & 0o7777,
                b"uid" => o.uid = num(10)?,
                b"gid" => o.gid = num(10)?,
                // A string parameter may not be empty (fs_param_is_string).
                b"size" | b"nr_blocks" if val.is_empty() => return Err(EINVAL),
                b"size" => o.pages = Some(size_pages(val)?).filter(|&p| p != 0),
                b"nr_blocks" => match memparse(val) {
                    Some((n, b"")) if n <= i64::MAX as u64 => o.pages = Some(n).filter(|&p| p != 0),
                    _ => return Err(EINVAL),
                },
                _ => return Err(EINVAL),
            }
        }
        Ok(o)
    }
}

/// tmpfs's size= in pages: bytes with an optional k/m/g/t/p/e suffix, or a percentage of
/// the machine's memory with `%`; rounded up to whole pages (Linux's shmem_parse_one).
fn size_pages(val: &[u8]) -> Result<u64, i32> {
    let bytes = match memparse(val).ok_or(EINVAL)? {
        (n, b"") => n,
        (n, b"%") => {
            let total = crate::mem::phys::page_counts().total;
            n.checked_mul(4096).and_then(|b| b.checked_mul(total)).ok_or(EINVAL)? / 100
        }
        _ => return Err(EINVAL),
    };
    Ok(bytes.div_ceil(4096))
}

/// Linux's memparse: a number in C's notation (0x hex, leading 0 octal, else decimal) and an
/// optional binary suffix k, m, g, t, p or e (either case); returns it and what follows.
/// None when it overflows.
fn memparse(s: &[u8]) -> Option<(u64, &[u8])> {
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', rest @ ..] if rest.first().is_some_and(|c| c.is_ascii_hexdigit()) => (16, rest),
        [b'0', rest @ ..] => (8, rest),
        _ => (10, s),
    };
    // No digits is 0, as simple_strtoull has it ("k" is a size of 0).
    let len = digits.iter().take_while(|c| (**c as char).is_digit(radix)).count();
    let mut n: u64 = 0;
    for &c in &digits[..len] {
        n = n.checked_mul(radix as u64)?.checked_add((c as char).to_digit(radix)? as u64)?;
    }
    let rest = &digits[len..];
    let shift = match rest.first().map(u8::to_ascii_lowercase) {
        Some(b'k') => 10,
        Some(b'm') => 20,
        Some(b'g') => 30,
        Some(b't') => 40,
        Some(b'p') => 50,
        Some(b'e') => 60,
        _ => return Some((n, rest)),
    };
    Some((n.checked_mul(1u64 << shift)?, &rest[1..]))
}

/// umount2(target, flags): root only; the target must be a mount's root; busy mounts EBUSY
/// unless MNT_DETACH. MNT_FORCE has nothing to abort on these filesystems (a plain unmount);
/// MNT_EXPIRE is not there yet (EINVAL).
pub fn umount2(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const MNT_FORCE: u64 = 1;
    const MNT_DETACH: u64 = 2;
    const UMOUNT_NOFOLLOW: u64 = 8;
    if a[1] & !(MNT_FORCE | MNT_DETACH | UMOUNT_NOFOLLOW) != 0 {
        return Err(EINVAL);
    }
    let target = user_path(a[0])?;
    let h = nlookup(&l.proc.ctx(), None, &target, a[1] & UMOUNT_NOFOLLOW == 0)?;
    if l.proc.cred.lock().uid != 0 {
        return Err(EPERM);
    }
    if !Arc::ptr_eq(&h.ncp, &h.mount.root_ncp) {
        return Err(EINVAL);
    }
    mount::unmount(h, a[1] & MNT_DETACH != 0)?;
    Ok(0)
}

/// struct statfs for `m`: Linux's magic numbers; a tmpfs mounted with a size reports its
/// page budget (free: what its files do not hold), one without the machine's pages; fields a
/// filesystem does not define are 0.
fn statfs_bytes(m: &Mount) -> [u8; 120] {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    const PROC_SUPER_MAGIC: u64 = 0x9fa0;
    const ST_VALID: u64 = 0x20;
    let budget = crate::vfs::tmpfs::budget(m);
    let limited = budget.as_ref().and_then(|b| Some((b.limit()?, b.used())));
    let (magic, blocks, free) = match (m.fs_name, limited) {
        ("proc", _) => (PROC_SUPER_MAGIC, 0, 0),
        (_, Some((limit, used))) => (TMPFS_MAGIC, limit, limit.saturating_sub(used)),
        _ => {
            let pages = crate::mem::phys::page_counts();
            (TMPFS_MAGIC, pages.total, pages.free)
        }
    };
    let words: [u64; 15] =
        [magic, 4096, blocks, free, free, 0, 0, m.id & 0xffff_ffff, 255, 4096, ST_VALID, 0, 0, 0, 0];
    let mut b = [0u8; 120];
    for (i, w) in words.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    b
}

pub fn statfs(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let path = user_path(a[0])?;
    let h = nlookup(&l.proc.ctx(), None, &path, true)?;
    copyout(a[1], &statfs_bytes(&h.mount))?;
    Ok(0)
}

pub fn fstatfs(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let f = l.proc.fd.get(a[0] as i32)?;
    let h = f.nch.clone().ok_or(EINVAL)?;
    copyout(a[1], &statfs_bytes(&h.mount))?;
    Ok(0)
}
