//! Path resolution (DragonFly's vfs_nlookup.c): walks the namecache component by component,
//! resolving entries through their directory's filesystem, crossing mount points both ways,
//! following symbolic links (at most [`MAXSYMLINKS`], then ELOOP), and checking search
//! permission on every directory passed through.
use super::cred::{access, Cred};
use super::namecache::{NcHandle, NcState};
use super::vnode::{VType, Vnode};
use crate::lwkt::token::get_token_shared;
use abi::errno::{ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Longest path accepted, with its NUL (PATH_MAX).
pub const PATH_MAX: usize = 4096;
/// Longest component (NAME_MAX).
pub const NAME_MAX: usize = 255;
/// Symbolic links followed in one lookup before ELOOP (Linux's 40).
pub const MAXSYMLINKS: u32 = 40;

/// Where lookups start and who makes them (a process's root, working directory and
/// credentials).
#[derive(Clone)]
pub struct Ctx {
    /// `/` for this lookup (chroot).
    pub root: NcHandle,
    /// The working directory.
    pub cwd: NcHandle,
    /// Credentials.
    pub cred: Cred,
}

/// Makes an unresolved entry positive or negative by asking its directory's filesystem.
/// Returns the vnode, or None for a name that does not exist.
/// On an uncached mount (procfs) every resolve asks the filesystem again.
pub fn resolve(h: &NcHandle) -> Result<Option<Arc<Vnode>>, i32> {
    let cached = !h.mount.uncached() || h.ncp.parent().is_none();
    if cached {
        match h.ncp.state() {
            NcState::Positive(v) => return Ok(Some(v)),
            NcState::Negative => return Ok(None),
            NcState::Unresolved => {}
        }
    }
    let _t = get_token_shared(&h.mount.token);
    // Re-check under the token: a namespace operation may have settled it meanwhile.
    if cached {
        match h.ncp.state() {
            NcState::Positive(v) => return Ok(Some(v)),
            NcState::Negative => return Ok(None),
            NcState::Unresolved => {}
        }
    }
    let dir = h.ncp.parent().and_then(|p| p.vnode()).ok_or(ENOENT)?;
    match dir.node.lookup(&h.ncp.name()) {
        Ok(v) => {
            h.ncp.set_state(NcState::Positive(v.clone()));
            Ok(Some(v))
        }
        Err(ENOENT) => {
            h.ncp.set_state(NcState::Negative);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// `..` of `h`, staying at `root` and crossing out of mounts at their roots.
fn dotdot(h: &NcHandle, root: &NcHandle) -> NcHandle {
    let mut cur = h.clone();
    loop {
        if cur.same(root) {
            return cur;
        }
        match cur.ncp.parent() {
            Some(p) => return NcHandle { ncp: p, mount: cur.mount.clone() },
            None => match cur.mount.covered() {
                Some(c) => cur = c,
                None => return cur,
            },
        }
    }
}

/// Enters the mount mounted on `h`, repeatedly (mounts stacked on one directory).
fn cross_mounts(mut h: NcHandle) -> NcHandle {
    while let Some(m) = h.ncp.mounted() {
        h = m.root();
    }
    h
}

/// One component from directory `dir`: `.`, `..` or a name. The result may be negative.
pub fn step(ctx: &Ctx, dir: &NcHandle, name: &[u8]) -> Result<NcHandle, i32> {
    let dv = dir.vnode().ok_or(ENOENT)?;
    if !dv.is_dir() {
        return Err(ENOTDIR);
    }
    ctx.cred.check(&dv.getattr(), access::X)?;
    match name {
        b"." => Ok(dir.clone()),
        b".." => Ok(dotdot(dir, &ctx.root)),
        _ => {
            if name.len() > NAME_MAX {
                return Err(ENAMETOOLONG);
            }
            let h = NcHandle { ncp: dir.ncp.child(name), mount: dir.mount.clone() };
            resolve(&h)?;
            Ok(cross_mounts(h))
        }
    }
}

fn split_first(p: &[u8]) -> (&[u8], &[u8]) {
    match p.iter().position(|&b| b == b'/') {
        Some(i) => (&p[..i], &p[i..]),
        None => (p, &[]),
    }
}

fn trim_slashes(p: &[u8]) -> &[u8] {
    let n = p.iter().take_while(|&&b| b == b'/').count();
    &p[n..]
}

/// Resolves `path` from `start` (a directory handle for *at() calls, else the working
/// directory) to an existing entry. `follow`: follow a symbolic link in the last component.
pub fn nlookup(ctx: &Ctx, start: Option<&NcHandle>, path: &[u8], follow: bool) -> Result<NcHandle, i32> {
    if path.is_empty() {
        return Err(ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(ENAMETOOLONG);
    }
    let mut cur = if path[0] == b'/' { ctx.root.clone() } else { start.unwrap_or(&ctx.cwd).clone() };
    let mut rest: Vec<u8> = path.to_vec();
    let mut links = 0u32;
    loop {
        let trimmed = trim_slashes(&rest);
        if trimmed.is_empty() {
            // The path ended here (or with slashes): the result must be a directory if any
            // slash followed a name.
            return Ok(cur);
        }
        let (comp, after) = split_first(trimmed);
        let is_last = trim_slashes(after).is_empty();
        let trailing_slash = is_last && !after.is_empty();
        let next = step(ctx, &cur, comp)?;
        let v = next.vnode().ok_or(ENOENT)?;
        if v.vtype() == VType::Lnk && (!is_last || follow || trailing_slash) {
            links += 1;
            if links > MAXSYMLINKS {
                return Err(ELOOP);
            }
            let target = v.node.readlink()?;
            if target.is_empty() {
                return Err(ENOENT);
            }
            if target[0] == b'/' {
                cur = ctx.root.clone();
            }
            let mut n = target;
            n.extend_from_slice(after);
            if n.len() >= PATH_MAX {
                return Err(ENAMETOOLONG);
            }
            rest = n;
            continue;
        }
        if trailing_slash && !v.is_dir() {
            return Err(ENOTDIR);
        }
        cur = next;
        rest = after.to_vec();
    }
}

/// The directory that would hold `path`'s last component, and that component, for the
/// operations that create or remove names. `trailing_slash` reports a `/` after the name
/// (only directories may be named that way). The last component may be `.` or `..`: callers
/// reject those as each system call specifies.
pub fn nlookup_parent(
    ctx: &Ctx,
    start: Option<&NcHandle>,
    path: &[u8],
) -> Result<(NcHandle, Vec<u8>, bool), i32> {
    if path.is_empty() {
        return Err(ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(ENAMETOOLONG);
    }
    let end = path.len() - path.iter().rev().take_while(|&&b| b == b'/').count();
    if end == 0 {
        // "/" or "///": the root itself has no parent entry to change.
        return Ok((ctx.root.clone(), b".".to_vec(), true));
    }
    let trailing = end < path.len();
    let start_of_last = path[..end].iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let last = &path[start_of_last..end];
    if last.len() > NAME_MAX {
        return Err(ENAMETOOLONG);
    }
    let dir = if start_of_last == 0 {
        start.unwrap_or(&ctx.cwd).clone()
    } else {
        nlookup(ctx, start, &path[..start_of_last], true)?
    };
    let dv = dir.vnode().ok_or(ENOENT)?;
    if !dv.is_dir() {
        return Err(ENOTDIR);
    }
    ctx.cred.check(&dv.getattr(), access::X)?;
    Ok((dir, last.to_vec(), trailing))
}
