//! The host tools Damselfly needs, and installing them on Debian.
//!
//! QEMU boots the system, cpio packs the root image, musl-gcc builds static C test programs
//! and Debian's busybox-static is the first outside binary the root image carries. A static
//! glibc (gcc and Debian's libc6-dev) is optional: it builds the glibc twins of the
//! conformance programs, and is installed with the rest as root on Debian. xz unpacks Debian's
//! Linux kernel, the conformance suite's oracle (fetched by linux_kernel.rs with apt-get).

use crate::paths::{root, TARGET};
use crate::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tool, how to tell it is present, and the Debian package that provides it.
struct Tool {
    what: &'static str,
    package: &'static str,
    present: fn() -> bool,
}

const TOOLS: [Tool; 6] = [
    Tool {
        what: "qemu-system-x86_64",
        package: "qemu-system-x86",
        present: || in_path("qemu-system-x86_64"),
    },
    Tool { what: "cpio", package: "cpio", present: || in_path("cpio") },
    Tool { what: "musl-gcc", package: "musl-tools", present: || in_path("musl-gcc") },
    // musl-gcc is a wrapper around gcc, which musl-tools does not pull in.
    Tool { what: "gcc", package: "gcc", present: || in_path("gcc") },
    Tool { what: "/bin/busybox (statically linked)", package: "busybox-static", present: busybox_is_static },
    // xz unpacks Debian's Linux kernel, the conformance oracle.
    Tool { what: "xz", package: "xz-utils", present: || in_path("xz") },
];

/// Wanted but not required: without it the glibc conformance programs are not built.
const OPTIONAL: [Tool; 1] =
    [Tool { what: "gcc with a static glibc (libc.a)", package: "libc6-dev", present: static_glibc }];

/// True when `gcc -static` can link against glibc: gcc knows a `libc.a`.
pub fn static_glibc() -> bool {
    Command::new("gcc")
        .arg("-print-file-name=libc.a")
        .output()
        .is_ok_and(|o| Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_absolute())
}

fn in_path(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|d| d.join(name)).any(|p| is_executable(&p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Debian's plain `busybox` package is dynamically linked and cannot run in the guest; the
/// static one has no program interpreter (PT_INTERP).
fn busybox_is_static() -> bool {
    let Ok(bytes) = std::fs::read("/bin/busybox") else { return false };
    goblin::elf::Elf::parse(&bytes).is_ok_and(|elf| elf.interpreter.is_none())
}

/// True when running as root: the real uid in /proc/self/status is 0.
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next().map(|uid| uid == "0"))
        .unwrap_or(false)
}

fn apt_get(args: &[&str]) -> Result<()> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("apt-get {} failed ({status})", args.join(" ")))
    }
}

fn missing_packages() -> Vec<&'static Tool> {
    TOOLS.iter().filter(|t| !(t.present)()).collect()
}

fn missing_optional() -> Vec<&'static Tool> {
    OPTIONAL.iter().filter(|t| !(t.present)()).collect()
}

/// Makes sure every tool is there: installs missing ones as root on Debian, otherwise says
/// exactly what to install and fails.
pub fn ensure() -> Result<()> {
    check_rust_target()?;
    let missing = missing_packages();
    let can_install = Path::new("/etc/debian_version").exists() && is_root();
    let optional = if can_install { missing_optional() } else { Vec::new() };
    if missing.is_empty() && optional.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().chain(&optional).map(|t| t.package).collect();
    let list = missing
        .iter()
        .chain(&optional)
        .map(|t| format!("  {} (Debian package {})", t.what, t.package))
        .collect::<Vec<_>>();
    if can_install {
        eprintln!("xtask: installing missing tools:\n{}", list.join("\n"));
        apt_get(&["update"])?;
        apt_get(&[&["install", "-y", "--no-install-recommends"][..], &packages].concat())?;
        if let Some(t) = missing_optional().first() {
            eprintln!("xtask: warning: still no {} after installing {}", t.what, t.package);
        }
        let still: Vec<&str> = missing_packages().iter().map(|t| t.what).collect();
        if still.is_empty() {
            return Ok(());
        }
        return Err(format!("still missing after apt-get install: {}", still.join(", ")));
    }
    Err(format!(
        "missing tools:\n{}\non Debian or Ubuntu install them with:\n  sudo apt-get install {}",
        list.join("\n"),
        packages.join(" ")
    ))
}

/// The sysroot of the toolchain rust-toolchain.toml selects must hold the bare-metal target.
fn check_rust_target() -> Result<()> {
    // Run from the root so rustup picks the toolchain rust-toolchain.toml pins.
    let out = Command::new("rustc")
        .current_dir(root())
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        return Ok(());
    }
    Err(format!(
        "the Rust target {TARGET} is not installed in {}\ninstall it with:\n  rustup target add {TARGET}",
        sysroot.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tools_in_path_and_not_missing_ones() {
        assert!(in_path("sh"));
        assert!(!in_path("no-such-tool-damselfly"));
    }

    #[test]
    fn every_tool_names_its_debian_package() {
        let packages: Vec<_> = TOOLS.iter().map(|t| t.package).collect();
        assert_eq!(packages, ["qemu-system-x86", "cpio", "musl-tools", "gcc", "busybox-static", "xz-utils"]);
        assert_eq!(OPTIONAL.map(|t| t.package), ["libc6-dev"]);
    }
}
