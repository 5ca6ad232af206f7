//! tmpfs nodes: one per file, whatever its type, implementing the vnode operations.
use super::budget::PageBudget;
use super::file::FileData;
use crate::sync::lockmgr::LockMgr;
use crate::sync::spinlock::SpinLock;
use crate::vfs::mount::Mount;
use crate::vfs::vnode::{Attr, DirEntry, FsNode, NewNode, SetAttr, Timespec, VType, Vnode};
use abi::errno::{EEXIST, EINVAL, EISDIR, EMLINK, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, EXDEV};
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

/// Most links to one node (Linux's tmpfs allows far more; this keeps nlink in u32).
const LINK_MAX: u32 = 65_000;

static NEXT_INO: AtomicU64 = AtomicU64::new(2);

struct Meta {
    perm: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    rdev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
}

struct Dir {
    entries: BTreeMap<Vec<u8>, Arc<Vnode>>,
    parent_ino: u64,
    /// Removed (rmdir, or replaced by a rename; Linux's S_DEAD): it may still be open or a
    /// working directory, but it cannot be listed and nothing new can be linked into it.
    dead: bool,
}

enum Data {
    Dir(SpinLock<Dir>),
    /// A lockmgr lock, not a spinlock: file data lives in a VM object reached under its
    /// token, which a spinlock holder may not take.
    File(LockMgr<FileData>),
    Link(Vec<u8>),
    Special,
}

/// A tmpfs node.
pub struct TmpNode {
    ino: u64,
    vtype: VType,
    meta: SpinLock<Meta>,
    data: Data,
    mount: Weak<Mount>,
    /// The mount's page budget, which its regular files charge.
    budget: Arc<PageBudget>,
}

impl TmpNode {
    fn alloc(
        new: NewNode,
        data: Data,
        parent_ino: Option<u64>,
        mount: Weak<Mount>,
        budget: Arc<PageBudget>,
    ) -> Arc<TmpNode> {
        let now = Timespec::now();
        let ino = NEXT_INO.fetch_add(1, Ordering::Relaxed);
        let data = match data {
            Data::Dir(d) => {
                d.lock().parent_ino = parent_ino.unwrap_or(ino);
                Data::Dir(d)
            }
            other => other,
        };
        Arc::new(TmpNode {
            ino,
            vtype: new.vtype,
            meta: SpinLock::new(Meta {
                perm: new.perm & 0o7777,
                uid: new.uid,
                gid: new.gid,
                nlink: if new.vtype == VType::Dir { 2 } else { 1 },
                rdev: new.rdev,
                atime: now,
                mtime: now,
                ctime: now,
            }),
            data,
            mount,
            budget,
        })
    }

    fn empty_dir() -> Data {
        Data::Dir(SpinLock::new(Dir { entries: BTreeMap::new(), parent_ino: 0, dead: false }))
    }

    /// The root directory of a new mount whose files charge `budget`.
    pub fn new_root(new: NewNode, mount: Weak<Mount>, budget: Arc<PageBudget>) -> Arc<TmpNode> {
        TmpNode::alloc(new, Self::empty_dir(), None, mount, budget)
    }

    /// The page budget of the mount `v` (a tmpfs node) belongs to.
    pub fn budget_of(v: &Vnode) -> Option<Arc<PageBudget>> {
        TmpNode::of(v).map(|n| n.budget.clone())
    }

    fn dir(&self) -> Result<&SpinLock<Dir>, i32> {
        match &self.data {
            Data::Dir(d) => Ok(d),
            _ => Err(ENOTDIR),
        }
    }

    fn touch(&self, data: bool) {
        let now = Timespec::now();
        let mut m = self.meta.lock();
        if data {
            m.mtime = now;
        }
        m.ctime = now;
    }

    fn add_links(&self, delta: i32) {
        let mut m = self.meta.lock();
        m.nlink = (m.nlink as i64 + delta as i64).max(0) as u32;
        m.ctime = Timespec::now();
    }

    fn of(v: &Vnode) -> Option<&TmpNode> {
        v.node.as_any().downcast_ref::<TmpNode>()
    }

    fn wrap(self: Arc<Self>) -> Arc<Vnode> {
        let m = self.mount.clone();
        Vnode::new(self, m)
    }
}

fn is_empty_dir(v: &Vnode) -> bool {
    match TmpNode::of(v).map(|n| &n.data) {
        Some(Data::Dir(d)) => d.lock().entries.is_empty(),
        _ => false,
    }
}

/// Marks a directory just unlinked from its parent as dead.
fn mark_dead(v: &Vnode) {
    if let Some(Data::Dir(d)) = TmpNode::of(v).map(|n| &n.data) {
        d.lock().dead = true;
    }
}

/// A directory that may take a new entry: ENOENT once it is dead (Linux's IS_DEADDIR).
fn alive(d: &Dir) -> Result<(), i32> {
    if d.dead {
        return Err(ENOENT);
    }
    Ok(())
}

impl FsNode for TmpNode {
    fn vtype(&self) -> VType {
        self.vtype
    }

    fn getattr(&self) -> Attr {
        let (size, allocated) = match &self.data {
            Data::File(f) => {
                let f = f.shared();
                (f.size(), f.allocated())
            }
            Data::Dir(d) => {
                let n = d.lock().entries.len() as u64;
                ((n + 2) * 32, 4096)
            }
            Data::Link(t) => (t.len() as u64, 0),
            Data::Special => (0, 0),
        };
        let m = self.meta.lock();
        Attr {
            ino: self.ino,
            mode: self.vtype.ifmt() | m.perm,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blocks_bytes: allocated,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        }
    }

    fn setattr(&self, a: &SetAttr) -> Result<(), i32> {
        if let Some(size) = a.size {
            match &self.data {
                Data::File(f) => f.exclusive().truncate(size)?,
                Data::Dir(_) => return Err(EISDIR),
                _ => return Err(EINVAL),
            }
            self.touch(true);
        }
        let mut m = self.meta.lock();
        if let Some(p) = a.perm {
            m.perm = p & 0o7777;
        }
        if let Some(u) = a.uid {
            m.uid = u;
        }
        if let Some(g) = a.gid {
            m.gid = g;
        }
        if let Some(t) = a.atime {
            m.atime = t;
        }
        if let Some(t) = a.mtime {
            m.mtime = t;
        }
        m.ctime = Timespec::now();
        Ok(())
    }

    fn read(&self, off: u64, buf: &mut [u8]) -> Result<usize, i32> {
        match &self.data {
            Data::File(f) => Ok(f.shared().read(off, buf)),
            Data::Dir(_) => Err(EISDIR),
            _ => Err(EINVAL),
        }
    }

    fn write(&self, off: u64, buf: &[u8]) -> Result<usize, i32> {
        let n = match &self.data {
            Data::File(f) => f.exclusive().write(off, buf)?,
            Data::Dir(_) => return Err(EISDIR),
            _ => return Err(EINVAL),
        };
        self.touch(true);
        Ok(n)
    }

    fn readdir(&self, cookie: u64, f: &mut dyn FnMut(DirEntry) -> bool) -> Result<(), i32> {
        let d = self.dir()?.lock();
        alive(&d)?;
        let mut c = cookie;
        if c == 0 {
            if !f(DirEntry { ino: self.ino, vtype: VType::Dir, name: b".".to_vec(), next: 1 }) {
                return Ok(());
            }
            c = 1;
        }
        if c == 1 {
            if !f(DirEntry { ino: d.parent_ino, vtype: VType::Dir, name: b"..".to_vec(), next: 2 }) {
                return Ok(());
            }
            c = 2;
        }
        for (i, (name, v)) in d.entries.iter().enumerate().skip((c - 2) as usize) {
            let e =
                DirEntry { ino: v.getattr().ino, vtype: v.vtype(), name: name.clone(), next: i as u64 + 3 };
            if !f(e) {
                break;
            }
        }
        Ok(())
    }

    fn readlink(&self) -> Result<Vec<u8>, i32> {
        match &self.data {
            Data::Link(t) => Ok(t.clone()),
            _ => Err(EINVAL),
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<Vnode>, i32> {
        self.dir()?.lock().entries.get(name).cloned().ok_or(ENOENT)
    }

    fn create(&self, name: &[u8], new: NewNode) -> Result<Arc<Vnode>, i32> {
        let dir = self.dir()?;
        let data = match new.vtype {
            VType::Dir => Self::empty_dir(),
            VType::Reg => Data::File(LockMgr::new("tmpfs file", FileData::new(self.budget.clone()))),
            VType::Lnk => return Err(EINVAL),
            _ => Data::Special,
        };
        let node = TmpNode::alloc(new, data, Some(self.ino), self.mount.clone(), self.budget.clone());
        let v = node.wrap();
        {
            let mut d = dir.lock();
            alive(&d)?;
            if d.entries.contains_key(name) {
                return Err(EEXIST);
            }
            d.entries.insert(name.to_vec(), v.clone());
        }
        if new.vtype == VType::Dir {
            self.add_links(1);
        }
        self.touch(true);
        Ok(v)
    }

    fn symlink(&self, name: &[u8], target: &[u8], new: NewNode) -> Result<Arc<Vnode>, i32> {
        let dir = self.dir()?;
        let new = NewNode { vtype: VType::Lnk, perm: 0o777, ..new };
        let v =
            TmpNode::alloc(new, Data::Link(target.to_vec()), None, self.mount.clone(), self.budget.clone())
                .wrap();
        let mut d = dir.lock();
        alive(&d)?;
        if d.entries.contains_key(name) {
            return Err(EEXIST);
        }
        d.entries.insert(name.to_vec(), v.clone());
        drop(d);
        self.touch(true);
        Ok(v)
    }

    fn link(&self, name: &[u8], target: &Arc<Vnode>) -> Result<(), i32> {
        let t = TmpNode::of(target).ok_or(EXDEV)?;
        if !Weak::ptr_eq(&t.mount, &self.mount) {
            return Err(EXDEV);
        }
        if t.vtype == VType::Dir {
            return Err(EPERM);
        }
        if t.meta.lock().nlink >= LINK_MAX {
            return Err(EMLINK);
        }
        let mut d = self.dir()?.lock();
        alive(&d)?;
        if d.entries.contains_key(name) {
            return Err(EEXIST);
        }
        d.entries.insert(name.to_vec(), target.clone());
        drop(d);
        t.add_links(1);
        self.touch(true);
        Ok(())
    }

    fn remove(&self, name: &[u8]) -> Result<(), i32> {
        let mut d = self.dir()?.lock();
        let v = d.entries.get(name).ok_or(ENOENT)?;
        if v.is_dir() {
            return Err(EISDIR);
        }
        let v = d.entries.remove(name).ok_or(ENOENT)?;
        drop(d);
        if let Some(n) = TmpNode::of(&v) {
            n.add_links(-1);
        }
        self.touch(true);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), i32> {
        let mut d = self.dir()?.lock();
        let v = d.entries.get(name).ok_or(ENOENT)?;
        if !v.is_dir() {
            return Err(ENOTDIR);
        }
        if !is_empty_dir(v) {
            return Err(ENOTEMPTY);
        }
        let v = d.entries.remove(name).ok_or(ENOENT)?;
        drop(d);
        mark_dead(&v);
        if let Some(n) = TmpNode::of(&v) {
            n.add_links(-2);
        }
        self.add_links(-1);
        self.touch(true);
        Ok(())
    }

    fn rename(&self, from: &[u8], todir: &Vnode, to: &[u8]) -> Result<(), i32> {
        let target_dir = TmpNode::of(todir).ok_or(EXDEV)?;
        if !Weak::ptr_eq(&target_dir.mount, &self.mount) {
            return Err(EXDEV);
        }
        let same_dir = core::ptr::eq(self, target_dir);
        if same_dir && from == to {
            return Ok(());
        }
        // Both directories' entry maps, locked in inode order so two renames cannot deadlock.
        let src_lock = self.dir()?;
        let dst_lock = target_dir.dir()?;
        let (mut a, mut b_opt) = if same_dir {
            (src_lock.lock(), None)
        } else if self.ino < target_dir.ino {
            let a = src_lock.lock();
            (a, Some(dst_lock.lock()))
        } else {
            let b = dst_lock.lock();
            let a = src_lock.lock();
            (a, Some(b))
        };
        let src = a.entries.get(from).cloned().ok_or(ENOENT)?;
        alive(b_opt.as_deref().unwrap_or(&a))?;
        let existing = match &b_opt {
            Some(b) => b.entries.get(to).cloned(),
            None => a.entries.get(to).cloned(),
        };
        if let Some(t) = &existing {
            if Arc::ptr_eq(t, &src) {
                // Two names of one file: POSIX says do nothing.
                return Ok(());
            }
            match (src.is_dir(), t.is_dir()) {
                (true, false) => return Err(ENOTDIR),
                (false, true) => return Err(EISDIR),
                (true, true) if !is_empty_dir(t) => return Err(ENOTEMPTY),
                _ => {}
            }
        }
        a.entries.remove(from);
        match &mut b_opt {
            Some(b) => b.entries.insert(to.to_vec(), src.clone()),
            None => a.entries.insert(to.to_vec(), src.clone()),
        };
        drop(b_opt);
        drop(a);
        if let Some(t) = existing {
            mark_dead(&t);
            if let Some(n) = TmpNode::of(&t) {
                n.add_links(if t.is_dir() { -2 } else { -1 });
            }
            if t.is_dir() {
                target_dir.add_links(-1);
            }
        }
        if src.is_dir() && !same_dir {
            if let Some(n) = TmpNode::of(&src) {
                if let Data::Dir(d) = &n.data {
                    d.lock().parent_ino = target_dir.ino;
                }
            }
            self.add_links(-1);
            target_dir.add_links(1);
        }
        if let Some(n) = TmpNode::of(&src) {
            n.touch(false);
        }
        self.touch(true);
        target_dir.touch(true);
        Ok(())
    }

    fn exchange(&self, a: &[u8], todir: &Vnode, b: &[u8]) -> Result<(), i32> {
        let other = TmpNode::of(todir).ok_or(EXDEV)?;
        if !Weak::ptr_eq(&other.mount, &self.mount) {
            return Err(EXDEV);
        }
        let same_dir = core::ptr::eq(self, other);
        if same_dir && a == b {
            return Ok(());
        }
        // Both entry maps, locked in inode order as rename does.
        let (mine, theirs) = (self.dir()?, other.dir()?);
        let (an, bn) = {
            let (mut x, mut y_opt) = if same_dir {
                (mine.lock(), None)
            } else if self.ino < other.ino {
                let x = mine.lock();
                (x, Some(theirs.lock()))
            } else {
                let y = theirs.lock();
                (mine.lock(), Some(y))
            };
            let an = x.entries.get(a).cloned().ok_or(ENOENT)?;
            let y = y_opt.as_deref_mut().unwrap_or(&mut x);
            let bn = y.entries.get(b).cloned().ok_or(ENOENT)?;
            y.entries.insert(b.to_vec(), an.clone());
            drop(y_opt);
            x.entries.insert(a.to_vec(), bn.clone());
            (an, bn)
        };
        if !same_dir {
            // A directory changing parents moves its `..` link along.
            for (node, to, from) in [(&an, other, self), (&bn, self, other)] {
                if let Some(n) = TmpNode::of(node).filter(|_| node.is_dir()) {
                    if let Data::Dir(d) = &n.data {
                        d.lock().parent_ino = to.ino;
                    }
                    from.add_links(-1);
                    to.add_links(1);
                }
            }
        }
        for n in [&an, &bn].into_iter().filter_map(|v| TmpNode::of(v)) {
            n.touch(false);
        }
        self.touch(true);
        other.touch(true);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn vm_object(&self) -> Option<Arc<crate::vm::object::VmObject>> {
        match &self.data {
            Data::File(f) => Some(f.shared().object().clone()),
            _ => None,
        }
    }
}
