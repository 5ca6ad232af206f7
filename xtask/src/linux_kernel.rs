//! Debian's Linux kernel, the conformance oracle: its vmlinux booted through PVH in the same
//! QEMU as Damselfly.
//!
//! The kernel comes from `/boot/vmlinuz-*-amd64` when the host has one installed, else from
//! the package linux-image-amd64 depends on, fetched with `apt-get download` and unpacked
//! under target/linux (no root needed, the host's /boot untouched). The vmlinuz is a bzImage:
//! its compressed payload (xz or gzip on Debian) is found by its magic and unpacked with the
//! host's xz or gzip into target/linux/vmlinux, an ELF whose Xen PVH note QEMU boots.

use crate::paths::root;
use crate::Result;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Compressed payload formats Debian has used, by magic, with the command that unpacks them.
const PAYLOADS: [(&[u8], &str, &[&str]); 2] =
    [(b"\xfd7zXZ\x00", "xz", &["-dc"]), (b"\x1f\x8b\x08", "gzip", &["-dc"])];

fn dir() -> PathBuf {
    root().join("target/linux")
}

/// The vmlinux to boot, fetching and unpacking it first when needed.
pub fn vmlinux() -> Result<PathBuf> {
    let out = dir().join("vmlinux");
    let vmlinuz = find_vmlinuz().map_or_else(fetch, Ok)?;
    let fresh = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    if out.exists() && fresh(&out) >= fresh(&vmlinuz) {
        return Ok(out);
    }
    unpack(&vmlinuz, &out)?;
    Ok(out)
}

/// The newest installed or already fetched Debian amd64 kernel.
fn find_vmlinuz() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = [PathBuf::from("/boot"), dir().join("pkg/boot")]
        .iter()
        .filter_map(|d| fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-") && n.ends_with("-amd64"))
        })
        .collect();
    found.sort();
    found.pop()
}

fn run(cmd: &mut Command) -> Result<String> {
    let o = cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !o.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&o.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Downloads the kernel package the linux-image-amd64 metapackage names and unpacks it.
fn fetch() -> Result<PathBuf> {
    eprintln!("xtask: fetching Debian's Linux kernel (linux-image-amd64) for the conformance oracle");
    let depends = run(Command::new("apt-cache").args(["depends", "linux-image-amd64"])).map_err(|e| {
        format!("{e}\n(the oracle needs Debian's linux-image-amd64 package: apt-get must work)")
    })?;
    let package = depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-"))
        .ok_or("apt-cache names no linux-image-* package for linux-image-amd64")?
        .trim()
        .to_string();
    let d = dir();
    fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    run(Command::new("apt-get").args(["download", &package]).current_dir(&d))?;
    let deb = fs::read_dir(&d)
        .map_err(|e| format!("{}: {e}", d.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&package) && n.ends_with(".deb"))
        })
        .ok_or(format!("apt-get download {package} left no .deb in {}", d.display()))?;
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(d.join("pkg")))?;
    // The package is unpacked; the archive itself is 70 MB of nothing further.
    let _ = fs::remove_file(&deb);
    find_vmlinuz().ok_or(format!("{package} holds no /boot/vmlinuz-*-amd64"))
}

/// Finds the compressed payload in the bzImage and unpacks it to `out`.
fn unpack(vmlinuz: &Path, out: &Path) -> Result<()> {
    let image = fs::read(vmlinuz).map_err(|e| format!("{}: {e}", vmlinuz.display()))?;
    for (magic, tool, args) in PAYLOADS {
        let Some(at) = image.windows(magic.len()).position(|w| w == magic) else { continue };
        let mut child = Command::new(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {tool}: {e}"))?;
        let mut stdin = child.stdin.take().expect("stdin was piped");
        let payload = image[at..].to_vec();
        // Trailing bytes after the stream make the tool complain; what it wrote is still whole.
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &payload));
        let o = child.wait_with_output().map_err(|e| format!("{tool}: {e}"))?;
        let _ = writer.join();
        if o.stdout.starts_with(b"\x7fELF") {
            fs::write(out, &o.stdout).map_err(|e| format!("{}: {e}", out.display()))?;
            return Ok(());
        }
    }
    Err(format!("{}: no xz or gzip payload that unpacks to an ELF", vmlinuz.display()))
}
