//! VFS tests: lookup edge cases, every tmpfs operation, rename rules, open-but-unlinked
//! files, a concurrent namespace workout on every CPU, and the root image reproduced.
use super::cred::Cred;
use super::mount::{self, Mount};
use super::namecache::NcHandle;
use super::nlookup::{nlookup, Ctx, NAME_MAX};
use super::ops::*;
use super::rootfs;
use super::vnode::{mode, SetAttr, VType, VNODES};
use crate::ktest::{Failure, Outcome};
use crate::{kassert, kassert_eq, ktest};
use abi::errno::*;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

static SEQ: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn e<T>(r: Result<T, i32>, what: &str) -> Result<T, Failure> {
    r.map_err(|err| format!("{what}: errno {err}").into())
}

/// A fresh tmpfs mounted on a new directory of the root; unmounted (and checked) by `done`.
pub(crate) struct Scratch {
    pub(crate) ctx: Ctx,
    dir: Vec<u8>,
    mount: Arc<Mount>,
}

impl Scratch {
    pub(crate) fn new() -> Result<Scratch, Failure> {
        let root = rootfs::kernel_ctx().ok_or("no root mounted")?;
        let dir = format!("/scratch{}", SEQ.fetch_add(1, Ordering::Relaxed)).into_bytes();
        let on = e(mkdir_at(&root, None, &dir, 0o755), "mkdir scratch")?;
        let m = super::tmpfs::mount("scratch", 0o777, 0, 0);
        e(mount::mount_on(&on, m.clone()), "mount")?;
        let h = e(nlookup(&root, None, &dir, true), "lookup scratch")?;
        kassert!(Arc::ptr_eq(&h.mount, &m), "lookup did not cross into the mount");
        Ok(Scratch { ctx: Ctx { root: root.root.clone(), cwd: h, cred: Cred::root() }, dir, mount: m })
    }

    pub(crate) fn done(self) -> Outcome {
        let Scratch { ctx, dir, mount } = self;
        let root = rootfs::kernel_ctx().ok_or("no root")?;
        let r = mount.root();
        drop(ctx);
        drop(mount);
        // Worker threads report done before their closures (and the contexts those hold)
        // are dropped: give stragglers a moment to let the mount go. Ours: the mount table,
        // the covered entry's mark, and `r`.
        for _ in 0..100 {
            if Arc::strong_count(&r.mount) <= 3 {
                break;
            }
            let _ = crate::lwkt::sleep::tsleep(crate::lwkt::sleep::ident_of(&r), 0, "unmount", 1);
        }
        e(mount::unmount(r), "unmount")?;
        e(remove_at(&root, None, &dir, true), "rmdir scratch")?;
        Ok(())
    }
}

fn write_file(ctx: &Ctx, path: &[u8], data: &[u8]) -> Result<NcHandle, Failure> {
    let h = match nlookup(ctx, None, path, true) {
        Ok(h) => h,
        Err(ENOENT) => e(create_at(ctx, None, path, VType::Reg, 0o644, 0), "create")?,
        Err(err) => return Err(format!("lookup: {err}").into()),
    };
    let v = h.vnode().ok_or("negative")?;
    e(v.node.write(0, data), "write")?;
    Ok(h)
}

fn read_all(h: &NcHandle) -> Result<Vec<u8>, Failure> {
    let v = h.vnode().ok_or("negative")?;
    let mut buf = alloc::vec![0u8; v.getattr().size as usize];
    let n = e(v.node.read(0, &mut buf), "read")?;
    buf.truncate(n);
    Ok(buf)
}

ktest! {
    /// Symlink loops give ELOOP; `..` stops at the root and crosses out of mounts; names
    /// longer than NAME_MAX give ENAMETOOLONG; trailing slashes demand directories.
    fn lookup_edge_cases() {
        let s = Scratch::new()?;
        let c = &s.ctx;
        e(symlink_at(c, b"loop2", None, b"loop1"), "symlink")?;
        e(symlink_at(c, b"loop1", None, b"loop2"), "symlink")?;
        kassert_eq!(nlookup(c, None, b"loop1", true).err(), Some(ELOOP));
        kassert!(nlookup(c, None, b"loop1", false).is_ok(), "nofollow must not loop");
        // `..` at the root stays there; `..` from the mount root leaves the mount.
        let up = e(nlookup(c, None, b"/../../..", true), "/..")?;
        kassert!(up.same(&c.root), "/.. is not /");
        let out = e(nlookup(c, None, b"..", true), "..")?;
        kassert!(out.same(&c.root), "`..` from a mount on /scratchN is not /");
        let long = alloc::vec![b'x'; NAME_MAX + 1];
        kassert_eq!(nlookup(c, None, &long, true).err(), Some(ENAMETOOLONG));
        kassert_eq!(create_at(c, None, &long, VType::Reg, 0o644, 0).err(), Some(ENAMETOOLONG));
        let ok_name = alloc::vec![b'y'; NAME_MAX];
        e(create_at(c, None, &ok_name, VType::Reg, 0o644, 0), "NAME_MAX name")?;
        kassert_eq!(nlookup(c, None, &alloc::vec![b'a'; 5000], true).err(), Some(ENAMETOOLONG));
        // Trailing slashes.
        e(create_at(c, None, b"f", VType::Reg, 0o644, 0), "create f")?;
        e(mkdir_at(c, None, b"d", 0o755), "mkdir d")?;
        kassert_eq!(nlookup(c, None, b"f/", true).err(), Some(ENOTDIR));
        kassert!(nlookup(c, None, b"d/", true).is_ok(), "d/");
        kassert!(nlookup(c, None, b"d//.//", true).is_ok(), "d//.//");
        kassert_eq!(nlookup(c, None, b"f/x", true).err(), Some(ENOTDIR));
        e(symlink_at(c, b"d", None, b"dl"), "symlink dl")?;
        kassert!(nlookup(c, None, b"dl/", false).is_ok_and(|h| h.vnode().is_some_and(|v| v.is_dir())), "dl/ follows");
        kassert_eq!(nlookup(c, None, b"", true).err(), Some(ENOENT));
        kassert_eq!(nlookup(c, None, b"nothere/x", true).err(), Some(ENOENT));
        // Search permission: a user cannot pass through a 0700 directory of root's.
        e(mkdir_at(c, None, b"private", 0o700), "mkdir private")?;
        e(create_at(c, None, b"private/f", VType::Reg, 0o644, 0), "create private/f")?;
        let user = Ctx { cred: Cred::user(1000, 1000), ..c.clone() };
        kassert_eq!(nlookup(&user, None, b"private/f", true).err(), Some(EACCES));
        drop(user);
        s.done()
    }
}

ktest! {
    /// Every tmpfs operation: files (sparse, truncate), directories, symlinks, hard links,
    /// device nodes, FIFOs, attributes; removal rules.
    fn tmpfs_operations() {
        let s = Scratch::new()?;
        let c = &s.ctx;
        let f = write_file(c, b"file", b"hello")?;
        let v = f.vnode().ok_or("neg")?;
        e(v.node.write(10_000, b"tail"), "sparse write")?;
        let a = v.getattr();
        kassert_eq!(a.size, 10_004);
        kassert!(a.blocks_bytes == 8192, "sparse file allocated {} bytes", a.blocks_bytes);
        let mut mid = [0xffu8; 16];
        e(v.node.read(4000, &mut mid), "read hole")?;
        kassert!(mid.iter().all(|&b| b == 0), "hole not zero");
        e(v.node.setattr(&SetAttr { size: Some(3), ..Default::default() }), "truncate")?;
        kassert_eq!(read_all(&f)?, b"hel");
        e(v.node.setattr(&SetAttr { size: Some(6), ..Default::default() }), "extend")?;
        kassert_eq!(read_all(&f)?, b"hel\0\0\0");
        // Directories and link counts.
        e(mkdir_at(c, None, b"d", 0o750), "mkdir")?;
        e(mkdir_at(c, None, b"d/sub", 0o755), "mkdir sub")?;
        kassert_eq!(e(stat_at(c, None, b"d", true), "stat d")?.nlink, 3);
        kassert_eq!(mkdir_at(c, None, b"d", 0o755).err(), Some(EEXIST));
        kassert_eq!(remove_at(c, None, b"d", true).err(), Some(ENOTEMPTY));
        kassert_eq!(remove_at(c, None, b"d", false).err(), Some(EISDIR));
        kassert_eq!(remove_at(c, None, b"file", true).err(), Some(ENOTDIR));
        kassert_eq!(remove_at(c, None, b"d/sub/.", true).err(), Some(EINVAL));
        // Symlinks and hard links.
        e(symlink_at(c, b"file", None, b"sl"), "symlink")?;
        kassert_eq!(e(readlink_at(c, None, b"sl"), "readlink")?, b"file");
        kassert_eq!(readlink_at(c, None, b"file").err(), Some(EINVAL));
        let st = e(stat_at(c, None, b"sl", false), "lstat")?;
        kassert_eq!(st.mode & mode::S_IFMT, mode::S_IFLNK);
        e(link_at(c, None, b"file", None, b"hard", true), "link")?;
        kassert_eq!(e(stat_at(c, None, b"file", true), "stat")?.nlink, 2);
        kassert_eq!(e(stat_at(c, None, b"hard", true), "stat")?.ino, e(stat_at(c, None, b"file", true), "stat")?.ino);
        kassert_eq!(link_at(c, None, b"d", None, b"dlink", true).err(), Some(EPERM));
        kassert_eq!(link_at(c, None, b"file", None, b"hard", true).err(), Some(EEXIST));
        // Device nodes and FIFOs keep their type and device number.
        e(create_at(c, None, b"null", VType::Chr, 0o666, rootfs::makedev(1, 3)), "mknod c")?;
        e(create_at(c, None, b"fifo", VType::Fifo, 0o600, 0), "mkfifo")?;
        let n = e(stat_at(c, None, b"null", true), "stat null")?;
        kassert_eq!((n.mode, n.rdev), (mode::S_IFCHR | 0o666, rootfs::makedev(1, 3)));
        kassert_eq!(e(stat_at(c, None, b"fifo", true), "stat fifo")?.mode, mode::S_IFIFO | 0o600);
        // chmod/chown.
        e(v.node.setattr(&SetAttr { perm: Some(0o4711), uid: Some(5), gid: Some(6), ..Default::default() }), "chmod")?;
        let a = v.getattr();
        kassert_eq!((a.mode & 0o7777, a.uid, a.gid), (0o4711, 5, 6));
        // The mount table lists the mount, with its own device number.
        let mounts = mount::list();
        let me = mounts.iter().find(|m| Arc::ptr_eq(m, &s.mount)).ok_or("mount not listed")?;
        kassert!(me.fs_name == "tmpfs" && me.source == b"scratch", "{} {:?}", me.fs_name, me.source);
        kassert!(mounts.iter().filter(|m| m.id == me.id).count() == 1, "mount ids not unique");
        drop(mounts);
        // readdir lists exactly what exists, with the right d_type.
        let dh = e(nlookup(c, None, b".", true), ".")?;
        let types: Vec<(Vec<u8>, u8)> = e(read_dir(c, &dh), "readdir")?.into_iter().map(|d| (d.name, d.vtype.dtype())).collect();
        kassert!(types.contains(&(b"d".to_vec(), 4)) && types.contains(&(b"sl".to_vec(), 10)), "d_type");
        let mut names: Vec<Vec<u8>> = e(read_dir(c, &dh), "readdir")?.into_iter().map(|d| d.name).collect();
        names.sort();
        let want: Vec<&[u8]> = alloc::vec![b".", b"..", b"d", b"fifo", b"file", b"hard", b"null", b"sl"];
        kassert_eq!(names, want.iter().map(|n| n.to_vec()).collect::<Vec<_>>());
        // Unlink.
        e(remove_at(c, None, b"hard", false), "unlink")?;
        kassert_eq!(e(stat_at(c, None, b"file", true), "stat")?.nlink, 1);
        kassert_eq!(stat_at(c, None, b"hard", true).err(), Some(ENOENT));
        drop((f, v, dh));
        s.done()
    }
}

ktest! {
    /// rename: over an existing file, over an empty directory (not a full one), never a
    /// directory below itself; hard links to one file are a no-op; names move with their
    /// namecache subtree (a cached lookup inside a renamed directory still works).
    fn rename_rules() {
        let s = Scratch::new()?;
        let c = &s.ctx;
        write_file(c, b"a", b"A")?;
        write_file(c, b"b", b"B")?;
        e(rename_at(c, None, b"a", None, b"b"), "rename over file")?;
        kassert_eq!(nlookup(c, None, b"a", true).err(), Some(ENOENT));
        kassert_eq!(read_all(&e(nlookup(c, None, b"b", true), "b")?)?, b"A");
        e(mkdir_at(c, None, b"d1", 0o755), "mkdir")?;
        e(mkdir_at(c, None, b"d2", 0o755), "mkdir")?;
        write_file(c, b"d1/inner", b"I")?;
        kassert!(nlookup(c, None, b"d1/inner", true).is_ok(), "cached");
        e(rename_at(c, None, b"d1", None, b"d2"), "rename dir over empty dir")?;
        kassert_eq!(read_all(&e(nlookup(c, None, b"d2/inner", true), "d2/inner")?)?, b"I");
        kassert_eq!(nlookup(c, None, b"d1/inner", true).err(), Some(ENOENT));
        e(mkdir_at(c, None, b"d3", 0o755), "mkdir")?;
        write_file(c, b"d3/x", b"X")?;
        kassert_eq!(rename_at(c, None, b"d2", None, b"d3").err(), Some(ENOTEMPTY));
        kassert_eq!(rename_at(c, None, b"b", None, b"d3").err(), Some(EISDIR));
        kassert_eq!(rename_at(c, None, b"d3", None, b"b").err(), Some(ENOTDIR));
        kassert_eq!(rename_at(c, None, b"d3", None, b"d3/x/y").err(), Some(ENOTDIR));
        e(mkdir_at(c, None, b"d3/sub", 0o755), "mkdir")?;
        kassert_eq!(rename_at(c, None, b"d3", None, b"d3/sub/moved").err(), Some(EINVAL));
        e(link_at(c, None, b"b", None, b"b2", true), "link")?;
        e(rename_at(c, None, b"b", None, b"b2"), "rename between links")?;
        kassert!(nlookup(c, None, b"b", true).is_ok() && nlookup(c, None, b"b2", true).is_ok(), "links must both stay");
        kassert_eq!(rename_at(c, None, b"nothere", None, b"x").err(), Some(ENOENT));
        // A directory moved into another keeps its parent link counts right.
        e(rename_at(c, None, b"d2", None, b"d3/sub/d2"), "rename into")?;
        kassert_eq!(e(stat_at(c, None, b"d3/sub", true), "stat")?.nlink, 3);
        let back = e(nlookup(c, None, b"d3/sub/d2/..", true), "..")?;
        kassert!(back.same(&e(nlookup(c, None, b"d3/sub", true), "sub")?), "`..` of a moved dir");
        // While a handle into the mount lives, unmount refuses.
        let r = s.mount.root();
        kassert_eq!(mount::unmount(r).err(), Some(EBUSY));
        drop(back);
        s.done()
    }
}

ktest! {
    /// An unlinked file stays readable and writable while something holds it; its memory goes
    /// when the last holder lets go.
    fn unlinked_open_file() {
        let s = Scratch::new()?;
        let c = &s.ctx;
        let h = write_file(c, b"victim", b"still here")?;
        let v = h.vnode().ok_or("neg")?;
        drop(h);
        let before = VNODES.load(Ordering::Relaxed);
        e(remove_at(c, None, b"victim", false), "unlink")?;
        kassert_eq!(nlookup(c, None, b"victim", true).err(), Some(ENOENT));
        let mut buf = [0u8; 10];
        kassert_eq!(e(v.node.read(0, &mut buf), "read")?, 10);
        kassert_eq!(&buf, b"still here");
        e(v.node.write(0, b"STILL"), "write")?;
        kassert_eq!(v.getattr().nlink, 0);
        drop(v);
        kassert_eq!(VNODES.load(Ordering::Relaxed), before - 1);
        s.done()
    }
}

ktest! {
    /// Threads on every CPU create, rename, link and remove entries in one directory at once;
    /// afterwards every surviving name appears once, link counts match the names pointing at
    /// each file, lookup agrees with readdir both ways, and unmounting returns the vnode count
    /// to its baseline.
    fn concurrent_namespace() {
        let baseline = VNODES.load(Ordering::Relaxed);
        let s = Scratch::new()?;
        let n = crate::lwkt::globaldata::ncpus();
        const PER: usize = 60;
        let done = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicUsize::new(0));
        for cpu in 0..n {
            for k in 0..2 {
                let (ctx, d, errs) = (s.ctx.clone(), done.clone(), errors.clone());
                crate::lwkt::sched::create("t-vfs", crate::lwkt::thread::pri::KERN_DAEMON, Some(cpu), move || {
                    let me = cpu * 2 + k;
                    for i in 0..PER {
                        let name = format!("f{me}-{i}");
                        if create_at(&ctx, None, name.as_bytes(), VType::Reg, 0o644, 0).is_err() {
                            errs.fetch_add(1, Ordering::Relaxed);
                        }
                        // Operations on other threads' names may fail (ENOENT/EEXIST): racing
                        // is the point. Only invariants afterwards matter.
                        let other = format!("f{}-{}", (me + 1) % (2 * n), i);
                        let _ = link_at(&ctx, None, other.as_bytes(), None, format!("l{me}-{i}").as_bytes(), true);
                        match i % 4 {
                            0 => {
                                let _ = rename_at(&ctx, None, name.as_bytes(), None, format!("r{me}-{i}").as_bytes());
                            }
                            1 => {
                                let _ = remove_at(&ctx, None, name.as_bytes(), false);
                            }
                            2 => {
                                let _ = rename_at(&ctx, None, other.as_bytes(), None, format!("r{me}-{i}").as_bytes());
                            }
                            _ => {}
                        }
                        if i % 8 == 0 {
                            crate::lwkt::sched::yield_now();
                        }
                    }
                    d.fetch_add(1, Ordering::AcqRel);
                })
                .ok_or("create failed")?;
            }
        }
        let t0 = crate::time::nanotime();
        while done.load(Ordering::Acquire) < 2 * n {
            kassert!(crate::time::nanotime() - t0 < 60_000_000_000, "workers stuck");
            crate::lwkt::sched::yield_now();
        }
        kassert_eq!(errors.load(Ordering::Relaxed), 0);
        let c = &s.ctx;
        let dh = e(nlookup(c, None, b".", true), ".")?;
        let entries = e(read_dir(c, &dh), "readdir")?;
        let mut names: Vec<Vec<u8>> = entries.iter().map(|d| d.name.clone()).filter(|n| n != b"." && n != b"..").collect();
        let count = names.len();
        names.sort();
        names.dedup();
        kassert_eq!(names.len(), count);
        // Links per inode from the listing must equal each file's nlink; lookup must agree.
        let mut per_ino: alloc::collections::BTreeMap<u64, u32> = alloc::collections::BTreeMap::new();
        for name in &names {
            let a = e(stat_at(c, None, name, false), &format!("stat {}", String::from_utf8_lossy(name)))?;
            *per_ino.entry(a.ino).or_default() += 1;
        }
        for name in &names {
            let a = e(stat_at(c, None, name, false), "stat")?;
            kassert_eq!(a.nlink, per_ino[&a.ino]);
        }
        // Negative agreement: names that were ever possible but are not listed do not resolve.
        for me in 0..2 * n {
            for i in 0..PER {
                for prefix in ["f", "l", "r"] {
                    let nm = format!("{prefix}{me}-{i}");
                    let listed = names.binary_search(&nm.clone().into_bytes()).is_ok();
                    kassert_eq!(nlookup(c, None, nm.as_bytes(), false).is_ok(), listed);
                }
            }
        }
        drop((dh, entries));
        s.done()?;
        kassert_eq!(VNODES.load(Ordering::Relaxed), baseline);
        Ok(())
    }
}

/// The vnode at `path` inside one filesystem, component by component through its own
/// lookups: no mount crossing (devfs covers /dev, procfs /proc), no symlinks followed.
fn fs_lookup(root: &Arc<super::vnode::Vnode>, path: &[u8]) -> Result<Arc<super::vnode::Vnode>, i32> {
    let mut v = root.clone();
    for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        v = v.node.lookup(comp)?;
    }
    Ok(v)
}

ktest! {
    /// The root tmpfs reproduces the root image exactly: every member's type, permissions,
    /// owner, size, device number and symlink target, and hard links share an inode; and the
    /// tree holds nothing the image does not. Read through the tmpfs itself, beneath the
    /// devfs and procfs mounted on its /dev and /proc.
    fn root_matches_image() {
        let c = rootfs::kernel_ctx().ok_or("no root")?;
        let rootv = c.root.vnode().ok_or("root negative")?;
        let image = rootfs::image(crate::bootinfo::get());
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let mut ino_of: alloc::collections::BTreeMap<u32, u64> = alloc::collections::BTreeMap::new();
        let mut sizes: alloc::collections::BTreeMap<u32, u64> = alloc::collections::BTreeMap::new();
        for m in abi::cpio::Reader::new(image) {
            let m = m.map_err(|err| format!("image: {err}"))?;
            let h = &m.header;
            if !m.data.is_empty() {
                sizes.insert(h.ino, m.data.len() as u64);
            }
        }
        for m in abi::cpio::Reader::new(image) {
            let m = m.map_err(|err| format!("image: {err}"))?;
            let path = m.path();
            if path.is_empty() {
                continue;
            }
            let what = String::from_utf8_lossy(path);
            let v = e(fs_lookup(&rootv, path), &format!("lookup {what}"))?;
            let a = v.getattr();
            let h = &m.header;
            kassert!(a.mode == h.mode, "{}: mode {:o} != {:o}", what, a.mode, h.mode);
            kassert!((a.uid, a.gid) == (h.uid, h.gid), "{}: owner", what);
            match h.mode & mode::S_IFMT {
                mode::S_IFREG => {
                    let want = sizes.get(&h.ino).copied().unwrap_or(0);
                    kassert!(a.size == want, "{}: size {} != {}", what, a.size, want);
                    kassert!(a.nlink == h.nlink, "{}: nlink {} != {}", what, a.nlink, h.nlink);
                    if h.nlink > 1 {
                        let first = *ino_of.entry(h.ino).or_insert(a.ino);
                        kassert!(first == a.ino, "{}: hard link not shared", what);
                    }
                }
                mode::S_IFLNK => {
                    kassert_eq!(e(v.node.readlink(), "readlink")?, m.data);
                }
                mode::S_IFCHR | mode::S_IFBLK => {
                    kassert_eq!(a.rdev, rootfs::makedev(h.rdev.0, h.rdev.1));
                }
                _ => {}
            }
            seen.push(path.to_vec());
        }
        // Nothing extra: walk the tmpfs's own directories.
        fn walk(dir: &Arc<super::vnode::Vnode>, prefix: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), Failure> {
            let mut entries = Vec::new();
            e(dir.node.readdir(0, &mut |d| {
                entries.push(d);
                true
            }), "readdir")?;
            for d in entries {
                if d.name == b"." || d.name == b".." {
                    continue;
                }
                if d.name.starts_with(b"scratch") && prefix.is_empty() {
                    continue;
                }
                let mut p = prefix.to_vec();
                if !p.is_empty() {
                    p.push(b'/');
                }
                p.extend_from_slice(&d.name);
                out.push(p.clone());
                if d.vtype == VType::Dir {
                    let sub = e(dir.node.lookup(&d.name), "lookup")?;
                    walk(&sub, &p, out)?;
                }
            }
            Ok(())
        }
        let mut tree = Vec::new();
        walk(&rootv, b"", &mut tree)?;
        tree.sort();
        seen.sort();
        kassert_eq!(tree, seen);
        kassert!(seen.iter().any(|p| p == b"dev/console") && seen.iter().any(|p| p == b"etc/HOSTNAME"), "the image lacks its test nodes");
        Ok(())
    }
}

ktest! {
    /// A tmpfs file's pages are its VM object's: a shared mapping sees what write() wrote and
    /// read() sees what the mapping stored; a private mapping's stores stay private; pages
    /// come and go with the file's size.
    fn file_pages_are_the_vm_object() {
        use crate::arch::x86_64::copyio::{copyin, copyout};
        use crate::vm::mmap::{mmap, MapSource};
        use crate::vm::VmSpace;
        use abi::mman::*;
        let s = Scratch::new()?;
        let c = &s.ctx;
        let h = write_file(c, b"mapped", &[b'a'; 8192])?;
        let v = h.vnode().ok_or("neg")?;
        let obj = v.node.vm_object().ok_or("a tmpfs file has no VM object")?;
        kassert_eq!(obj.resident(), 2);
        let vs = VmSpace::new().map_err(|err| format!("vmspace {err}"))?;
        let all = crate::vm::Prot::all();
        let shared = mmap(&vs, 0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, MapSource::Object { object: obj.clone(), offset: 0, max_prot: all, file: None })
            .map_err(|err| format!("mmap shared {err}"))?;
        let private = mmap(&vs, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, MapSource::Object { object: obj.clone(), offset: 0, max_prot: all, file: None })
            .map_err(|err| format!("mmap private {err}"))?;
        vs.activate();
        let r = (|| -> Outcome {
            let mut b = [0u8; 4];
            e(copyin(&mut b, shared + 4096), "copyin shared")?;
            kassert_eq!(&b, b"aaaa");
            e(v.node.write(4096, b"WXYZ"), "write")?;
            e(copyin(&mut b, shared + 4096), "copyin shared")?;
            kassert_eq!(&b, b"WXYZ");
            e(copyout(shared + 100, b"from-map"), "copyout shared")?;
            let mut f = [0u8; 8];
            e(v.node.read(100, &mut f), "read")?;
            kassert_eq!(&f, b"from-map");
            e(copyout(private + 200, b"private!"), "copyout private")?;
            e(v.node.read(200, &mut f), "read")?;
            kassert_eq!(&f, b"aaaaaaaa");
            e(copyin(&mut f, private + 200), "copyin private")?;
            kassert_eq!(&f, b"private!");
            Ok(())
        })();
        crate::vm::VmSpace::deactivate();
        r?;
        drop(vs);
        // While something else holds the object, shrinking zeroes the pages past the end but
        // keeps them (they may be mapped); once only the file holds it, they are freed.
        e(v.node.setattr(&SetAttr { size: Some(5000), ..Default::default() }), "truncate")?;
        kassert_eq!(obj.resident(), 2);
        let mut z = [0xffu8; 8];
        obj.with_page(1, |f| f.read(4096 + 1000 - 4096, &mut z));
        kassert_eq!(z, [0u8; 8]);
        drop(obj);
        e(v.node.setattr(&SetAttr { size: Some(10), ..Default::default() }), "truncate")?;
        kassert_eq!(v.node.vm_object().ok_or("object")?.resident(), 1);
        drop((v, h));
        s.done()
    }
}
