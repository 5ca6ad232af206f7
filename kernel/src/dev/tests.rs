//! Device tests: each device's semantics through the VFS (/dev looked up like any path, I/O
//! through the vnode operations), ChaCha20 against RFC 8439, the registry's rules, and a
//! device node made in tmpfs reaching the same driver as devfs's.
use super::ops::{poll, O_NONBLOCK};
use super::random::chacha20;
use super::{by_name, destroy_dev, make_dev, open_rdev, DevOps};
use crate::ktest::Failure;
use crate::vfs::nlookup::{nlookup, Ctx};
use crate::vfs::ops::{create_at, read_dir, remove_at};
use crate::vfs::rootfs::{kernel_ctx, makedev};
use crate::vfs::vnode::{mode, VType, Vnode};
use crate::{kassert, kassert_eq, ktest};
use abi::errno::*;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

fn e<T>(r: Result<T, i32>, what: &str) -> Result<T, Failure> {
    r.map_err(|err| format!("{what}: errno {err}").into())
}

fn ctx() -> Result<Ctx, Failure> {
    kernel_ctx().ok_or_else(|| "no root".into())
}

/// The vnode at `path`, checked to be a devfs character device with this number and mode.
fn dev_node(c: &Ctx, path: &[u8], major: u32, minor: u32, perm: u32) -> Result<Arc<Vnode>, Failure> {
    let h = e(nlookup(c, None, path, true), "lookup")?;
    kassert_eq!(h.mount.fs_name, "devfs");
    let v = h.vnode().ok_or("negative")?;
    let a = v.getattr();
    kassert_eq!(v.vtype(), VType::Chr);
    kassert!(
        a.mode == mode::S_IFCHR | perm,
        "{}: mode {:o}",
        core::str::from_utf8(path).unwrap_or("?"),
        a.mode
    );
    kassert_eq!(a.rdev, makedev(major, minor));
    kassert_eq!(a.size, 0);
    Ok(v)
}

ktest! {
    /// RFC 8439: the section 2.3.2 block test vector and appendix A.1's test vector #1.
    fn chacha20_rfc8439() {
        let mut kb = [0u8; 32];
        for (i, b) in kb.iter_mut().enumerate() {
            *b = i as u8;
        }
        let mut key = [0u32; 8];
        for (w, c) in key.iter_mut().zip(kb.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        let nonce = [0x0900_0000, 0x4a00_0000, 0];
        let words = chacha20::block_words(&key, 1, &nonce);
        let want_words: [u32; 16] = [
            0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033, 0x9aaa2204, 0x4e6cd4c3,
            0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9, 0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2,
        ];
        kassert_eq!(words, want_words);
        let bytes = chacha20::block(&key, 1, &nonce);
        let want: [u8; 64] = [
            0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4,
            0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e,
            0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2,
            0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
        ];
        kassert_eq!(bytes, want);
        // A.1 #1: all-zero key and nonce, counter 0.
        let zero = chacha20::block(&[0; 8], 0, &[0; 3]);
        let want0: [u8; 64] = [
            0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86, 0xbd, 0x28,
            0xbd, 0xd2, 0x19, 0xb8, 0xa0, 0x8d, 0xed, 0x1a, 0xa8, 0x36, 0xef, 0xcc, 0x8b, 0x77, 0x0d, 0xc7,
            0xda, 0x41, 0x59, 0x7c, 0x51, 0x57, 0x48, 0x8d, 0x77, 0x24, 0xe0, 0x3f, 0xb8, 0xd8, 0x4a, 0x37,
            0x6a, 0x43, 0xb8, 0xf4, 0x15, 0x18, 0xa1, 0x1c, 0xc3, 0x87, 0xb6, 0x69, 0xb2, 0xee, 0x65, 0x86,
        ];
        kassert_eq!(zero, want0);
        Ok(())
    }
}

ktest! {
    /// /dev/null, /dev/zero and /dev/full through the VFS: node types, numbers and modes,
    /// and their read and write semantics.
    fn mem_devices() {
        let c = ctx()?;
        let null = dev_node(&c, b"/dev/null", 1, 3, 0o666)?;
        let mut buf = [0xa5u8; 300];
        kassert_eq!(e(null.node.read(0, &mut buf), "read null")?, 0);
        kassert_eq!(e(null.node.write(0, &buf), "write null")?, 300);
        kassert_eq!(e(null.node.write(1 << 40, &[]), "empty write null")?, 0);
        let zero = dev_node(&c, b"/dev/zero", 1, 5, 0o666)?;
        kassert_eq!(e(zero.node.read(12345, &mut buf), "read zero")?, 300);
        kassert!(buf.iter().all(|&b| b == 0), "zero read non-zero bytes");
        kassert_eq!(e(zero.node.write(0, b"gone"), "write zero")?, 4);
        let full = dev_node(&c, b"/dev/full", 1, 7, 0o666)?;
        buf.fill(0x5a);
        kassert_eq!(e(full.node.read(0, &mut buf), "read full")?, 300);
        kassert!(buf.iter().all(|&b| b == 0), "full read non-zero bytes");
        kassert_eq!(full.node.write(0, b"x"), Err(ENOSPC));
        kassert_eq!(e(full.node.write(0, b""), "empty write full")?, 0);
        // Truncating a device node is refused; chmod through devfs works and is seen again.
        let sa = crate::vfs::vnode::SetAttr { size: Some(0), ..Default::default() };
        kassert_eq!(null.node.setattr(&sa), Err(EINVAL));
        let chmod = |p| crate::vfs::vnode::SetAttr { perm: Some(p), ..Default::default() };
        e(null.node.setattr(&chmod(0o600)), "chmod")?;
        kassert_eq!(dev_node(&c, b"/dev/null", 1, 3, 0o600)?.getattr().mode & 0o777, 0o600);
        e(null.node.setattr(&chmod(0o666)), "chmod back")?;
        // Default device-style ops: ioctl is ENOTTY, poll always ready.
        kassert_eq!(zero.node.ioctl(0x5401, 0), Err(ENOTTY));
        kassert_eq!(zero.node.poll(poll::POLLIN | poll::POLLOUT), poll::POLLIN | poll::POLLOUT);
        kassert!(by_name(b"zero").is_some_and(|d| d.ops.mmap_is_anonymous() && d.ops.mmap(0, 0) == Err(ENODEV)), "zero mmap");
        Ok(())
    }
}

ktest! {
    /// /dev/random and /dev/urandom: seeded at boot, reads fill the buffer with bytes that
    /// differ between reads and look uniform; writes are absorbed; large reads span keys.
    fn random_devices() {
        let c = ctx()?;
        let ur = dev_node(&c, b"/dev/urandom", 1, 9, 0o666)?;
        let r = dev_node(&c, b"/dev/random", 1, 8, 0o666)?;
        kassert!(super::random::seeded(), "not seeded at boot");
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        kassert_eq!(e(ur.node.read(0, &mut a), "read urandom")?, 64);
        kassert_eq!(e(ur.node.read(0, &mut b), "read urandom")?, 64);
        kassert!(a != b, "two urandom reads gave the same bytes");
        kassert!(a != [0u8; 64], "urandom gave zeros");
        kassert_eq!(e(r.node.write(0, b"stir this in"), "write random")?, 12);
        kassert_eq!(e(r.node.read(0, &mut a), "read random")?, 64);
        kassert!(a != b, "random repeated urandom's bytes");
        // A read longer than one per-request key's chunk, checked for rough uniformity: each
        // bit position set about half the time, no 64-byte block repeated.
        let mut big = vec![0u8; 200 * 1024 + 17];
        kassert_eq!(e(ur.node.read(0, &mut big), "big read")?, big.len());
        let ones: u64 = big.iter().map(|x| x.count_ones() as u64).sum();
        let bits = big.len() as u64 * 8;
        kassert!(ones.abs_diff(bits / 2) < bits / 100, "{} of {} bits set", ones, bits);
        let mut blocks: Vec<&[u8]> = big.chunks_exact(64).collect();
        blocks.sort();
        blocks.dedup();
        kassert_eq!(blocks.len(), big.len() / 64);
        // Non-blocking reads never wait once seeded, and poll says readable.
        let d = by_name(b"random").ok_or("no random")?;
        kassert_eq!(e(d.ops.read(0, &mut a, O_NONBLOCK), "nonblock read")?, 64);
        kassert_eq!(d.ops.poll(poll::POLLIN), poll::POLLIN);
        kassert!(super::random::RESEEDS.load(core::sync::atomic::Ordering::Relaxed) >= 1, "no reseed counted");
        let s = super::random::reseed();
        kassert!(s.jitter == 8, "jitter words {}", s.jitter);
        kassert!(!crate::arch::x86_64::cpu::features().rdrand || s.rdrand == 8, "RDRAND present but unused");
        Ok(())
    }
}

ktest! {
    /// The console: writes reach the serial console, a non-blocking read with nothing
    /// received says EAGAIN, poll reports it writable.
    fn console_device() {
        let c = ctx()?;
        let con = dev_node(&c, b"/dev/console", 5, 1, 0o600)?;
        let msg = b"console_device: written through /dev/console\n";
        kassert_eq!(e(con.node.write(0, msg), "write console")?, msg.len());
        let d = by_name(b"console").ok_or("no console")?;
        let mut buf = [0u8; 16];
        match d.ops.read(0, &mut buf, O_NONBLOCK) {
            Ok(n) => kassert!(n > 0, "non-blocking read returned 0"),
            Err(err) => kassert_eq!(err, EAGAIN),
        }
        kassert!(d.ops.poll(poll::POLLOUT) == poll::POLLOUT, "console not writable");
        Ok(())
    }
}

ktest! {
    /// /dev/kmsg: the kernel log ring in Linux's record format, with a record written
    /// through the device found again by reading from the oldest offset held.
    fn kmsg_device() {
        let c = ctx()?;
        let km = dev_node(&c, b"/dev/kmsg", 1, 11, 0o644)?;
        let marker = b"kmsg_device marker 7f3a\n";
        kassert_eq!(e(km.node.write(0, marker), "write kmsg")?, marker.len());
        let (start, end, _) = crate::tty::klog::extent();
        kassert!(end > start, "empty ring");
        let mut buf = vec![0u8; (end - start) as usize];
        let n = e(km.node.read(start, &mut buf), "read kmsg")?;
        buf.truncate(n);
        let text = core::str::from_utf8(&buf).map_err(|_| "kmsg not UTF-8")?;
        let line = text.lines().find(|l| l.contains("kmsg_device marker 7f3a")).ok_or("marker not in kmsg")?;
        // priority,sequence,microseconds,flags;message
        let (head, msg) = line.split_once(';').ok_or("no ';'")?;
        let f: Vec<&str> = head.split(',').collect();
        kassert!(f.len() == 4 && f[0] == "6" && f[1].parse::<u64>().is_ok() && f[2].parse::<u64>().is_ok(), "header {}", head);
        kassert!(msg.ends_with("marker 7f3a"), "message {}", msg);
        // Past the end: nothing yet (non-blocking); before the ring: EPIPE when it wrapped.
        let d = by_name(b"kmsg").ok_or("no kmsg")?;
        kassert_eq!(d.ops.read(end + 1_000_000, &mut buf, O_NONBLOCK), Err(EAGAIN));
        if start > 0 {
            kassert_eq!(d.ops.read(0, &mut buf, O_NONBLOCK), Err(EPIPE));
        }
        Ok(())
    }
}

/// A device for the registry test.
struct Probe;

/// Closes Probe saw.
static PROBE_CLOSES: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

impl DevOps for Probe {
    fn read(&self, _off: u64, buf: &mut [u8], _flags: u32) -> Result<usize, i32> {
        buf.fill(b'p');
        Ok(buf.len())
    }

    fn write(&self, _off: u64, _buf: &[u8], _flags: u32) -> Result<usize, i32> {
        Err(EIO)
    }

    fn open(&self, flags: u32) -> Result<(), i32> {
        if flags & O_NONBLOCK != 0 {
            Err(EBUSY)
        } else {
            Ok(())
        }
    }

    fn close(&self, _flags: u32) {
        PROBE_CLOSES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }
}

ktest! {
    /// devfs lists exactly the registered devices; a device registered after a failed
    /// lookup appears at once and goes when destroyed; names and numbers are unique;
    /// devfs takes no mknod.
    fn devfs_registry() {
        let c = ctx()?;
        let dh = e(nlookup(&c, None, b"/dev", true), "lookup /dev")?;
        kassert_eq!(dh.mount.fs_name, "devfs");
        let names = |c: &Ctx| -> Result<Vec<Vec<u8>>, Failure> {
            Ok(e(read_dir(c, &dh), "readdir")?.into_iter().filter(|d| d.vtype == VType::Chr).map(|d| d.name).collect())
        };
        let listed = names(&c)?;
        for want in [&b"console"[..], b"full", b"kmsg", b"null", b"random", b"urandom", b"zero"] {
            kassert!(listed.iter().any(|n| n == want), "/dev lacks {}", core::str::from_utf8(want).unwrap_or("?"));
        }
        kassert_eq!(listed.len(), super::list().len());
        kassert_eq!(nlookup(&c, None, b"/dev/ktestprobe", true).err(), Some(ENOENT));
        let rdev = makedev(240, 7);
        let d = e(make_dev(Arc::new(Probe), 240, 7, b"ktestprobe", 0o640, 0, 5), "make_dev")?;
        kassert_eq!((d.major, d.minor), (240, 7));
        let v = dev_node(&c, b"/dev/ktestprobe", 240, 7, 0o640)?;
        kassert_eq!(v.getattr().gid, 5);
        let mut buf = [0u8; 3];
        kassert_eq!(e(v.node.read(0, &mut buf), "read probe")?, 3);
        kassert_eq!(&buf, b"ppp");
        kassert_eq!(v.node.write(0, b"x"), Err(EIO));
        kassert_eq!(v.node.open(O_NONBLOCK), Err(EBUSY));
        kassert_eq!(open_rdev(rdev, O_NONBLOCK).err(), Some(EBUSY));
        let ops = e(open_rdev(rdev, 0), "open_rdev")?;
        let before = PROBE_CLOSES.load(core::sync::atomic::Ordering::Relaxed);
        v.node.close(0);
        ops.close(0);
        kassert_eq!(PROBE_CLOSES.load(core::sync::atomic::Ordering::Relaxed), before + 2);
        kassert_eq!(make_dev(Arc::new(Probe), 240, 8, b"ktestprobe", 0o600, 0, 0).err(), Some(EEXIST));
        kassert_eq!(make_dev(Arc::new(Probe), 240, 7, b"other", 0o600, 0, 0).err(), Some(EEXIST));
        for bad in [&b""[..], b".", b"..", b"a/b", b"nul\0"] {
            kassert_eq!(make_dev(Arc::new(Probe), 241, 0, bad, 0o600, 0, 0).err(), Some(EINVAL));
        }
        kassert_eq!(create_at(&c, None, b"/dev/made", VType::Chr, 0o600, makedev(1, 3)).err(), Some(EPERM));
        kassert_eq!(remove_at(&c, None, b"/dev/null", false).err(), Some(EPERM));
        e(destroy_dev(rdev), "destroy_dev")?;
        kassert_eq!(nlookup(&c, None, b"/dev/ktestprobe", true).err(), Some(ENOENT));
        kassert_eq!(open_rdev(rdev, 0).err(), Some(ENXIO));
        kassert_eq!(destroy_dev(rdev).err(), Some(ENXIO));
        // The open vnode keeps its driver after the device is gone.
        kassert_eq!(e(v.node.read(0, &mut buf), "read after destroy")?, 3);
        kassert_eq!(names(&c)?, listed);
        Ok(())
    }
}

ktest! {
    /// A device node made with mknod in tmpfs, and the image's own /dev/console beneath the
    /// devfs mount, reach the same drivers as devfs's nodes; a node with no driver is ENXIO.
    fn tmpfs_node_reaches_driver() {
        let c = ctx()?;
        let path = b"/scratch-devnode";
        let h = e(create_at(&c, None, path, VType::Chr, 0o666, makedev(1, 5)), "mknod")?;
        kassert_eq!(h.mount.fs_name, "tmpfs");
        let v = h.vnode().ok_or("negative")?;
        let a = v.getattr();
        kassert_eq!(a.mode, mode::S_IFCHR | 0o666);
        let ops = e(open_rdev(a.rdev, 0), "open_rdev")?;
        let zero = by_name(b"zero").ok_or("no zero")?;
        kassert!(Arc::ptr_eq(&ops, &zero.ops), "mknod'ed node reached another driver");
        let mut buf = [0x11u8; 32];
        kassert_eq!(e(ops.read(0, &mut buf, 0), "read")?, 32);
        kassert!(buf.iter().all(|&b| b == 0), "not zeros");
        e(remove_at(&c, None, path, false), "unlink")?;
        // The root image's dev/console, read from the tmpfs the devfs mount covers.
        let covered = c.root.vnode().ok_or("root negative")?;
        let img_con = e(covered.node.lookup(b"dev"), "tmpfs dev")?;
        let img_con = e(img_con.node.lookup(b"console"), "tmpfs dev/console")?;
        kassert!(img_con.node.as_any().downcast_ref::<crate::vfs::tmpfs::TmpNode>().is_some(), "not the tmpfs node");
        let ops = e(open_rdev(img_con.getattr().rdev, 0), "open image console")?;
        let devfs_con = dev_node(&c, b"/dev/console", 5, 1, 0o600)?;
        kassert_eq!(devfs_con.getattr().rdev, img_con.getattr().rdev);
        kassert!(Arc::ptr_eq(&ops, &by_name(b"console").ok_or("no console")?.ops), "image console reached another driver");
        // dev/sda (8:0) in the image has no driver yet.
        let sda = e(e(covered.node.lookup(b"dev"), "dev")?.node.lookup(b"sda"), "sda")?;
        kassert_eq!(open_rdev(sda.getattr().rdev, 0).err(), Some(ENXIO));
        Ok(())
    }
}
