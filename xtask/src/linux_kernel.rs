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

/// The vmlinux to boot, fetching and unpacking it first when needed. target/linux/vmlinux.src
/// names the vmlinuz it came from (path, size, mtime): another one is unpacked afresh.
pub fn vmlinux() -> Result<PathBuf> {
    let out = dir().join("vmlinux");
    let src_file = dir().join("vmlinux.src");
    let vmlinuz = find_vmlinuz().map_or_else(fetch, Ok)?;
    let m = fs::metadata(&vmlinuz).map_err(|e| format!("{}: {e}", vmlinuz.display()))?;
    let src = format!("{} {} {:?}", vmlinuz.display(), m.len(), m.modified().ok());
    if out.exists() && fs::read_to_string(&src_file).is_ok_and(|s| s == src) {
        return Ok(out);
    }
    eprintln!("xtask: the Linux oracle is {}", vmlinuz.display());
    unpack(&vmlinuz, &out)?;
    fs::write(&src_file, src).map_err(|e| format!("{}: {e}", src_file.display()))?;
    Ok(out)
}

/// Debian's generic flavour only (`vmlinuz-6.1.0-56-amd64`, not `-cloud-amd64` or
/// `-rt-amd64`): the numbers of its version, for ordering.
fn generic_version(name: &str) -> Option<Vec<u64>> {
    let v = name.strip_prefix("vmlinuz-")?.strip_suffix("-amd64")?;
    let abi = v.rsplit('-').next()?;
    if abi.is_empty() || !abi.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(v.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect())
}

/// The newest installed Debian amd64 kernel, else the newest fetched one.
fn find_vmlinuz() -> Option<PathBuf> {
    [PathBuf::from("/boot"), dir().join("pkg/boot")].iter().find_map(|d| {
        fs::read_dir(d)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| Some((generic_version(p.file_name()?.to_str()?)?, p)))
            .max()
            .map(|(_, p)| p)
    })
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
    // Into an empty directory: nothing half-downloaded from an earlier try can be picked.
    let d = dir().join("download");
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    let download = || run(Command::new("apt-get").args(["download", &package]).current_dir(&d));
    if download().is_err() {
        // Package lists older than the mirror name a version it no longer has.
        eprintln!("xtask: apt-get download failed; refreshing the package lists and trying again");
        run(Command::new("apt-get").arg("update"))?;
        download()?;
    }
    let deb = fs::read_dir(&d)
        .map_err(|e| format!("{}: {e}", d.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&package) && n.ends_with(".deb"))
        })
        .ok_or(format!("apt-get download {package} left no .deb in {}", d.display()))?;
    // Unpacked beside and renamed into place: an interrupted unpack leaves no half kernel.
    let (tmp, pkg) = (dir().join("pkg.tmp"), dir().join("pkg"));
    let _ = fs::remove_dir_all(&tmp);
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp))?;
    let _ = fs::remove_dir_all(&pkg);
    fs::rename(&tmp, &pkg).map_err(|e| format!("{}: {e}", pkg.display()))?;
    // The package is unpacked; the archive itself is 70 MB of nothing further.
    let _ = fs::remove_dir_all(&d);
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
        // A whole ELF (its headers in bounds), written beside and renamed into place.
        if o.stdout.starts_with(b"\x7fELF") && goblin::elf::Elf::parse(&o.stdout).is_ok() {
            let tmp = out.with_extension("tmp");
            fs::write(&tmp, &o.stdout).map_err(|e| format!("{}: {e}", tmp.display()))?;
            fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))?;
            return Ok(());
        }
    }
    Err(format!("{}: no xz or gzip payload that unpacks to an ELF", vmlinuz.display()))
}

#[cfg(test)]
mod tests {
    use super::generic_version;

    #[test]
    fn only_the_generic_flavour_and_versions_compare_as_numbers() {
        assert_eq!(generic_version("vmlinuz-6.1.0-56-amd64"), Some(vec![6, 1, 0, 56]));
        assert_eq!(generic_version("vmlinuz-6.1.0-56-cloud-amd64"), None);
        assert_eq!(generic_version("vmlinuz-6.1.0-56-rt-amd64"), None);
        assert!(generic_version("vmlinuz-6.1.0-9-amd64") < generic_version("vmlinuz-6.1.0-56-amd64"));
    }
}
