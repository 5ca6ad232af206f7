//! The root images: a cpio newc archive holding `boot/kernel/kernel` and the files of rootfs/,
//! plus broken variants the loader must refuse, the `conformance` variant that also holds the
//! programs of tests/conformance, and the `run` image of `cargo xtask run --file`.
//!
//! Archives are reproducible: a sorted member list, owner 0:0, fixed modes and mtimes and
//! inode numbers, written by our own newc writer (plus the special nodes of rootfs/nodes.txt).

use crate::cargo_build::build_components;
use crate::conformance;
use crate::guest_file::GuestFile;
use crate::newc;
use crate::paths::{self, root};
use crate::Result;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use systests::scenarios::Image;

/// Size of the garbage kernel.
const GARBAGE_LEN: usize = 64 * 1024;

/// mtime of every staged file: a fixed date so rebuilding changes no archive byte.
const MTIME_SECS: u64 = 1_700_000_000;

/// Name of the image `cargo xtask run --file` boots: `target/image/run.cpio`.
const RUN_IMAGE: &str = "run";

/// Builds the loader, the kernel and the conformance programs, then every image variant.
pub fn build_all() -> Result<()> {
    let kernel_path = build_components()?;
    let kernel = fs::read(&kernel_path).map_err(|e| format!("{}: {e}", kernel_path.display()))?;
    let mut programs = conformance::build()?;
    programs.push(crate::bench::program()?);
    programs.push(busybox());
    for variant in Image::ALL {
        let staging = paths::image_dir().join(variant.name());
        let extra = match variant {
            Image::Conformance => &programs[..],
            Image::Normal => &programs[programs.len() - 1..],
            _ => &[],
        };
        stage(&staging, kernel_for(variant, &kernel).as_deref(), extra)?;
        pack(&staging, &paths::image(variant))?;
    }
    Ok(())
}

/// Builds everything, then the normal image plus `files` as its own archive (the normal image
/// stays as it is); returns the archive's path.
pub fn build_with_files(files: &[GuestFile]) -> Result<PathBuf> {
    build_all()?;
    let elf = paths::kernel_elf();
    let kernel = fs::read(&elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let staging = paths::image_dir().join(RUN_IMAGE);
    let out = paths::image_dir().join(format!("{RUN_IMAGE}.cpio"));
    let mut files = files.to_vec();
    if !files.iter().any(|f| f.guest == "bin/busybox") {
        files.push(busybox());
    }
    stage(&staging, Some(&kernel), &files)?;
    pack(&staging, &out)?;
    Ok(out)
}

/// Debian's static busybox (the dependency step checks it), at /bin/busybox in every image
/// with a kernel; rootfs/nodes.txt links the applets to it (/bin/sh among them).
fn busybox() -> GuestFile {
    GuestFile { host: PathBuf::from("/bin/busybox"), guest: "bin/busybox".into() }
}

/// What a variant holds at `boot/kernel/kernel`, if anything.
fn kernel_for(variant: Image, kernel: &[u8]) -> Option<Vec<u8>> {
    match variant {
        Image::Normal | Image::Conformance => Some(kernel.to_vec()),
        Image::Garbage => Some(garbage()),
        Image::Truncated => Some(kernel[..kernel.len() / 3].to_vec()),
        Image::Missing => None,
    }
}

/// Deterministic pseudo-random bytes (xorshift64): the same garbage every run.
fn garbage() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(GARBAGE_LEN);
    while out.len() < GARBAGE_LEN {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn io<T>(what: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| format!("{}: {e}", what.display()))
}

/// Recreates `staging` with the kernel (if any), everything under rootfs/etc and `extra`
/// (which keep their host modes; a later one with the same guest path is an error).
fn stage(staging: &Path, kernel: Option<&[u8]>, extra: &[GuestFile]) -> Result<()> {
    if staging.exists() {
        io(staging, fs::remove_dir_all(staging))?;
    }
    io(staging, fs::create_dir_all(staging.join("etc")))?;
    if let Some(k) = kernel {
        let dir = staging.join("boot/kernel");
        io(&dir, fs::create_dir_all(&dir))?;
        io(&dir, fs::write(dir.join("kernel"), k))?;
    }
    let etc = root().join("rootfs/etc");
    // An empty rootfs/etc does not survive a git clone: treat absence as empty.
    if etc.is_dir() {
        copy_tree(&etc, &staging.join("etc"))?;
    }
    for (i, f) in extra.iter().enumerate() {
        if extra[..i].iter().any(|e| e.guest == f.guest) {
            return Err(format!("two files for `/{}` in the image", f.guest));
        }
        f.stage(staging)?;
    }
    for p in tree(staging)? {
        normalize(&staging.join(p))?;
    }
    for f in extra {
        f.restore_mode(staging, f.mode()?)?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in io(from, fs::read_dir(from))? {
        let entry = io(from, entry)?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let ty = io(&src, entry.file_type())?;
        if ty.is_dir() {
            io(&dst, fs::create_dir_all(&dst))?;
            copy_tree(&src, &dst)?;
        } else if ty.is_symlink() {
            io(&dst, std::os::unix::fs::symlink(io(&src, fs::read_link(&src))?, &dst))?;
        } else {
            io(&src, fs::copy(&src, &dst))?;
        }
    }
    Ok(())
}

/// Fixed permissions (0755 for directories and executables, else 0644) and mtime, so the
/// archive does not depend on the umask or on when the build ran.
fn normalize(p: &Path) -> Result<()> {
    let meta = io(p, fs::symlink_metadata(p))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let exec = meta.is_dir() || meta.permissions().mode() & 0o111 != 0;
    io(p, fs::set_permissions(p, fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 })))?;
    let file = io(p, fs::File::open(p))?;
    io(p, file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME_SECS)))
}

/// Every path below `dir`, relative to it, sorted bytewise.
fn tree(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(base: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let here = base.join(rel);
        for entry in io(&here, fs::read_dir(&here))? {
            let entry = io(&here, entry)?;
            let r = rel.join(entry.file_name());
            if io(&here, entry.file_type())?.is_dir() {
                walk(base, &r, out)?;
            }
            out.push(r);
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, Path::new(""), &mut out)?;
    out.sort();
    Ok(out)
}

/// Packs `staging` into the newc archive `out`, adding the nodes rootfs/nodes.txt lists.
fn pack(staging: &Path, out: &Path) -> Result<()> {
    let mut members = Vec::new();
    for rel in tree(staging)? {
        let p = staging.join(&rel);
        let meta = io(&p, fs::symlink_metadata(&p))?;
        let perm = meta.permissions().mode() & 0o7777;
        let (mode, data) = if meta.file_type().is_symlink() {
            (0o120777, io(&p, fs::read_link(&p))?.into_os_string().into_encoded_bytes())
        } else if meta.is_dir() {
            (0o040000 | perm, Vec::new())
        } else {
            (0o100000 | perm, io(&p, fs::read(&p))?)
        };
        members.push(member(rel.to_string_lossy().into_owned(), mode, data, members.len()));
    }
    let nodes = root().join("rootfs/nodes.txt");
    if nodes.is_file() {
        add_nodes(&mut members, &io(&nodes, fs::read_to_string(&nodes))?)?;
    }
    io(out, fs::write(out, newc::write(&members)))
}

fn member(path: String, mode: u32, data: Vec<u8>, index: usize) -> newc::Member {
    newc::Member {
        path,
        mode,
        uid: 0,
        gid: 0,
        nlink: 1,
        ino: index as u32 + 1,
        mtime: MTIME_SECS as u32,
        rdev: (0, 0),
        data,
    }
}

fn octal(s: &str, line: usize) -> Result<u32> {
    u32::from_str_radix(s, 8).map_err(|_| format!("rootfs/nodes.txt:{line}: bad octal mode `{s}`"))
}

fn num(s: &str, line: usize) -> Result<u32> {
    s.parse().map_err(|_| format!("rootfs/nodes.txt:{line}: bad number `{s}`"))
}

/// Adds the entries of rootfs/nodes.txt: `PATH d MODE` (directory), `PATH c|b MAJOR MINOR
/// MODE` (device), `PATH p MODE` (FIFO), `PATH l TARGET` (symlink), `PATH h EXISTING` (hard
/// link). As GNU cpio does, the data of a hard-linked file travels with its last name.
fn add_nodes(members: &mut Vec<newc::Member>, text: &str) -> Result<()> {
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let words: Vec<&str> = raw.split('#').next().unwrap_or("").split_whitespace().collect();
        let Some((&path, rest)) = words.split_first() else { continue };
        let bad = || format!("rootfs/nodes.txt:{line}: cannot parse `{raw}`");
        let index = members.len();
        let m = match rest {
            ["d", mode] => member(path.into(), 0o040000 | octal(mode, line)?, Vec::new(), index),
            [kind @ ("c" | "b"), major, minor, mode] => {
                let ifmt = if *kind == "c" { 0o020000 } else { 0o060000 };
                newc::Member {
                    rdev: (num(major, line)?, num(minor, line)?),
                    ..member(path.into(), ifmt | octal(mode, line)?, Vec::new(), index)
                }
            }
            ["p", mode] => member(path.into(), 0o010000 | octal(mode, line)?, Vec::new(), index),
            ["l", target] => member(path.into(), 0o120777, target.as_bytes().to_vec(), index),
            ["h", existing] => {
                let Some(i) = members.iter().position(|m| m.path == *existing) else {
                    return Err(format!("rootfs/nodes.txt:{line}: no `{existing}` to link to"));
                };
                let ino = members[i].ino;
                let nlink = members.iter().filter(|m| m.ino == ino).count() as u32 + 1;
                let data = std::mem::take(&mut members[i].data);
                for m in members.iter_mut().filter(|m| m.ino == ino) {
                    m.nlink = nlink;
                    m.data.clear();
                }
                newc::Member { path: path.into(), nlink, data, ..members[i].clone() }
            }
            _ => return Err(bad()),
        };
        if members.iter().any(|x| x.path == m.path) {
            return Err(format!("rootfs/nodes.txt:{line}: `{}` already exists", m.path));
        }
        members.push(m);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_deterministic_and_not_an_elf() {
        let g = garbage();
        assert_eq!(g.len(), GARBAGE_LEN);
        assert_eq!(g, garbage());
        assert_ne!(&g[..4], b"\x7fELF");
    }

    #[test]
    fn variants_hold_what_their_names_say() {
        let k: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        assert_eq!(kernel_for(Image::Normal, &k).unwrap(), k);
        assert_eq!(kernel_for(Image::Truncated, &k).unwrap(), &k[..1000]);
        assert!(kernel_for(Image::Missing, &k).is_none());
    }

    #[test]
    fn packs_a_sorted_archive_the_abi_reader_understands() {
        let dir = std::env::temp_dir().join(format!("xtask-image-test-{}", std::process::id()));
        let staging = dir.join("stage");
        let _ = fs::remove_dir_all(&dir);
        stage(&staging, Some(b"\x7fELF-kernel"), &[]).unwrap();
        let out = dir.join("t.cpio");
        pack(&staging, &out).unwrap();
        let bytes = fs::read(&out).unwrap();
        let k = abi::cpio::find(&bytes, abi::boot::KERNEL_PATH).unwrap().unwrap();
        assert_eq!(k.data, b"\x7fELF-kernel");
        assert_eq!((k.header.uid, k.header.gid), (0, 0));
        // Packing again gives the same bytes.
        stage(&staging, Some(b"\x7fELF-kernel"), &[]).unwrap();
        pack(&staging, &out).unwrap();
        assert_eq!(fs::read(&out).unwrap(), bytes);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn extra_files_keep_their_mode_and_may_not_collide() {
        let dir = std::env::temp_dir().join(format!("xtask-image-extra-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let host = dir.join("prog");
        fs::write(&host, b"\x7fELF-prog").unwrap();
        fs::set_permissions(&host, fs::Permissions::from_mode(0o750)).unwrap();
        let extra = [GuestFile { host: host.clone(), guest: "usr/bin/prog".into() }];
        let staging = dir.join("stage");
        stage(&staging, Some(b"\x7fELF-kernel"), &extra).unwrap();
        let out = dir.join("t.cpio");
        pack(&staging, &out).unwrap();
        let bytes = fs::read(&out).unwrap();
        let p = abi::cpio::find(&bytes, "usr/bin/prog").unwrap().unwrap();
        assert_eq!((p.data, p.header.mode), (&b"\x7fELF-prog"[..], 0o100750));
        assert_eq!(abi::cpio::find(&bytes, "usr/bin").unwrap().unwrap().header.mode, 0o040755);
        assert!(abi::cpio::find(&bytes, abi::boot::KERNEL_PATH).unwrap().is_some());
        let twice = [extra[0].clone(), extra[0].clone()];
        assert!(stage(&staging, None, &twice).unwrap_err().contains("two files"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nodes_manifest() {
        let mut m = vec![
            member("etc".into(), 0o040755, vec![], 0),
            member("etc/a".into(), 0o100644, b"data".to_vec(), 1),
        ];
        add_nodes(
            &mut m,
            "dev d 0755\ndev/null c 1 3 0666 # comment\n\nf p 0600\ns l etc/a\netc/b h etc/a\n",
        )
        .unwrap();
        let by = |p: &str| m.iter().find(|x| x.path == p).unwrap().clone();
        assert_eq!(by("dev/null").mode, 0o020666);
        assert_eq!(by("dev/null").rdev, (1, 3));
        assert_eq!(by("f").mode, 0o010600);
        assert_eq!(by("s").data, b"etc/a");
        assert_eq!((by("etc/a").ino, by("etc/a").nlink, by("etc/a").data.len()), (by("etc/b").ino, 2, 0));
        assert_eq!(by("etc/b").data, b"data");
        assert!(add_nodes(&mut m, "x h nowhere").is_err());
        assert!(add_nodes(&mut m, "x q").is_err());
        assert!(add_nodes(&mut m, "dev d 0755").is_err());
    }
}
