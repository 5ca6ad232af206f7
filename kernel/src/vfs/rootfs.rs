//! The root filesystem: a tmpfs filled at boot from the root image (cpio newc), keeping
//! modes, owners, times, symlinks, hard links and device nodes (DragonFly mounts its root
//! from a disk; Damselfly's first root lives in memory, as an initramfs does).
use super::cred::Cred;
use super::mount;
use super::namecache::NcHandle;
use super::nlookup::{nlookup, Ctx};
use super::ops;
use super::vnode::{SetAttr, Timespec, VType};
use abi::boot::{BootInfo, DIRECT_MAP_BASE};
use abi::cpio::{self, Entry};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

/// A device number as Linux's 64-bit `dev_t` encodes major and minor (glibc's makedev).
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}

/// Set once the root image's pages went back to the allocator ([`release_image`]).
static RELEASED: AtomicBool = AtomicBool::new(false);

/// The root image's bytes (through the direct map); empty once released.
pub fn image(bi: &BootInfo) -> &'static [u8] {
    let r = bi.root_image;
    if r.is_empty() || RELEASED.load(Ordering::Acquire) {
        return &[];
    }
    // SAFETY: the loader reported this range as the root image, the physical allocator keeps
    // it reserved until `release_image`, which runs after the last reader (the unpacking and
    // the boot-time tests) is done; the direct map covers all RAM; nothing writes it.
    unsafe { core::slice::from_raw_parts((DIRECT_MAP_BASE + r.start) as *const u8, r.len() as usize) }
}

/// Gives the root image's pages back to the allocator: the root tmpfs holds copies of its
/// files, so keeping the archive (tens of MiB) would only cost memory, as Linux frees the
/// initramfs after unpacking it. Called once, at the end of boot, after the in-kernel tests
/// (one compares the root with the image) and before PID 1 starts.
pub fn release_image(bi: &BootInfo) {
    if bi.root_image.is_empty() || RELEASED.swap(true, Ordering::AcqRel) {
        return;
    }
    let pages = crate::mem::phys::release_reserved(bi, bi.root_image);
    log::info!("rootfs: the root image's {} pages released", pages);
}

fn vtype_of(mode: u32) -> Option<VType> {
    VType::from_mode(mode)
}

/// Creates every missing directory above `path`.
fn make_parents(ctx: &Ctx, path: &[u8]) {
    for (i, &b) in path.iter().enumerate() {
        if b == b'/' && i > 0 && nlookup(ctx, None, &path[..i], false).is_err() {
            let _ = ops::mkdir_at(ctx, None, &path[..i], 0o755);
        }
    }
}

fn set_meta(h: &NcHandle, e: &Entry<'_>) {
    if let Some(v) = h.vnode() {
        let t = Timespec { sec: e.header.mtime as i64, nsec: 0 };
        let a = SetAttr {
            perm: Some(e.header.mode & 0o7777),
            uid: Some(e.header.uid),
            gid: Some(e.header.gid),
            atime: Some(t),
            mtime: Some(t),
            size: None,
        };
        if v.vtype() != VType::Lnk {
            let _ = v.node.setattr(&a);
        } else {
            let _ = v.node.setattr(&SetAttr { perm: None, ..a });
        }
    }
}

fn write_all(h: &NcHandle, data: &[u8]) -> Result<(), i32> {
    let v = h.vnode().ok_or(abi::errno::ENOENT)?;
    let mut off = 0;
    while off < data.len() {
        off += v.node.write(off as u64, &data[off..])?;
    }
    Ok(())
}

/// Adds one archive member under the root; returns why it could not.
fn add(ctx: &Ctx, e: &Entry<'_>, hardlinks: &mut BTreeMap<(u32, u32, u32), Vec<u8>>) -> Result<(), i32> {
    let path = e.path();
    let kind = vtype_of(e.header.mode).ok_or(abi::errno::EINVAL)?;
    make_parents(ctx, path);
    let key = (e.header.dev.0, e.header.dev.1, e.header.ino);
    if kind != VType::Dir && e.header.nlink > 1 {
        if let Some(first) = hardlinks.get(&key) {
            ops::link_at(ctx, None, first, None, path, false)?;
            if !e.data.is_empty() {
                write_all(&nlookup(ctx, None, path, false)?, e.data)?;
            }
            return Ok(());
        }
        hardlinks.insert(key, path.to_vec());
    }
    let perm = e.header.mode & 0o7777;
    let h = match kind {
        VType::Dir => match nlookup(ctx, None, path, false) {
            Ok(h) => h,
            Err(_) => ops::mkdir_at(ctx, None, path, perm)?,
        },
        VType::Lnk => ops::symlink_at(ctx, e.data, None, path)?,
        VType::Chr | VType::Blk => {
            ops::create_at(ctx, None, path, kind, perm, makedev(e.header.rdev.0, e.header.rdev.1))?
        }
        _ => ops::create_at(ctx, None, path, kind, perm, 0)?,
    };
    if kind == VType::Reg {
        write_all(&h, e.data)?;
    }
    set_meta(&h, e);
    Ok(())
}

/// Mounts a tmpfs as `/` and unpacks the root image into it. Members that cannot be added
/// are logged and skipped: a damaged image gives a partial root, never a panic.
pub fn init(bi: &BootInfo) {
    let m = super::tmpfs::mount("rootfs", 0o755, 0, 0);
    mount::mount_root(m.clone());
    let ctx = Ctx { root: m.root(), cwd: m.root(), cred: Cred::root() };
    let mut hardlinks = BTreeMap::new();
    let (mut added, mut failed) = (0usize, 0usize);
    for entry in cpio::Reader::new(image(bi)) {
        let e = match entry {
            Ok(e) => e,
            Err(err) => {
                log::error!("rootfs: root image damaged: {}", err);
                break;
            }
        };
        if e.path().is_empty() {
            set_meta(&m.root(), &e);
            continue;
        }
        match add(&ctx, &e, &mut hardlinks) {
            Ok(()) => added += 1,
            Err(errno) => {
                failed += 1;
                log::warn!("rootfs: {}: error {}", core::str::from_utf8(e.path()).unwrap_or("?"), errno);
            }
        }
    }
    crate::kprintln!("vfs: root tmpfs with {} entries from the image ({} skipped)", added, failed);
}

/// A lookup context at the root with root's credentials (kernel-internal callers).
pub fn kernel_ctx() -> Option<Ctx> {
    let r = mount::root()?;
    Some(Ctx { root: r.clone(), cwd: r, cred: Cred::root() })
}
