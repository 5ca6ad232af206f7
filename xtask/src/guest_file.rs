//! A host file put into the root image for one run: `--file HOST[:GUEST]`.

use crate::Result;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where a file comes from and where the guest sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestFile {
    /// The file on the host.
    pub host: PathBuf,
    /// Its path in the image, without the leading `/` (e.g. `bin/hello`).
    pub guest: String,
}

/// Parses `HOST[:GUEST]`. GUEST is an absolute guest path; one ending in `/` is a directory
/// that receives the file under its own name; without GUEST the file goes to /bin/<name>.
/// A `:` belongs to HOST unless what follows it starts with `/`.
pub fn parse(spec: &str) -> Result<GuestFile> {
    let (host, guest) = match spec.rsplit_once(':') {
        Some((h, g)) if g.starts_with('/') => (h, g),
        _ => (spec, "/bin/"),
    };
    if host.is_empty() {
        return Err(format!("--file {spec}: no host file"));
    }
    let host = PathBuf::from(host);
    let name =
        host.file_name().and_then(|n| n.to_str()).ok_or(format!("--file {spec}: bad host file name"))?;
    let guest = if guest.ends_with('/') { format!("{guest}{name}") } else { guest.to_string() };
    let parts: Vec<&str> = guest.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") || parts.is_empty() {
        return Err(format!("--file {spec}: guest path `{guest}` must be absolute, without `.` or `..`"));
    }
    let guest = parts.join("/");
    if guest == abi::boot::KERNEL_PATH.trim_start_matches('/') {
        return Err(format!("--file {spec}: `/{guest}` is the kernel's place"));
    }
    Ok(GuestFile { host, guest })
}

impl GuestFile {
    /// The host file's permission bits; fails unless it is a regular file (after symlinks).
    pub fn mode(&self) -> Result<u32> {
        let meta = fs::metadata(&self.host).map_err(|e| format!("{}: {e}", self.host.display()))?;
        if !meta.is_file() {
            return Err(format!("{}: not a regular file", self.host.display()));
        }
        Ok(meta.permissions().mode() & 0o7777)
    }

    /// Copies the file to `staging/GUEST`, creating directories, with the host's mode.
    pub fn stage(&self, staging: &Path) -> Result<()> {
        let mode = self.mode()?;
        let dst = staging.join(&self.guest);
        let err = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        if let Some(dir) = dst.parent() {
            fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        }
        if dst.is_dir() {
            return Err(format!(
                "--file {}: `/{}` is a directory in the image",
                self.host.display(),
                self.guest
            ));
        }
        fs::copy(&self.host, &dst).map_err(|e| err(&self.host, e))?;
        self.restore_mode(staging, mode)
    }

    /// Sets the staged copy's mode back to the host's (staging normalizes every file's mode).
    pub fn restore_mode(&self, staging: &Path, mode: u32) -> Result<()> {
        let dst = staging.join(&self.guest);
        fs::set_permissions(&dst, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", dst.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gf(host: &str, guest: &str) -> GuestFile {
        GuestFile { host: host.into(), guest: guest.into() }
    }

    #[test]
    fn default_and_explicit_guest_paths() {
        assert_eq!(parse("target/hello").unwrap(), gf("target/hello", "bin/hello"));
        assert_eq!(parse("x/hello:/sbin/init").unwrap(), gf("x/hello", "sbin/init"));
        assert_eq!(parse("hello:/usr/local/bin/").unwrap(), gf("hello", "usr/local/bin/hello"));
        assert_eq!(parse("a:b:/etc//x").unwrap(), gf("a:b", "etc/x"));
        assert_eq!(parse("x:/").unwrap(), gf("x", "x"));
        // A colon not followed by an absolute path is part of the host name.
        assert_eq!(parse("a:b").unwrap(), gf("a:b", "bin/a:b"));
    }

    #[test]
    fn refuses_bad_guest_paths() {
        assert!(parse(":/bin/x").is_err());
        assert!(parse("x:/.").is_err());
        assert!(parse("x:/bin/../etc/passwd").is_err());
        assert!(parse("k:/boot/kernel/kernel").is_err());
    }

    #[test]
    fn stages_with_the_host_mode() {
        let dir = std::env::temp_dir().join(format!("xtask-guest-file-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("stage/etc")).unwrap();
        let host = dir.join("prog");
        fs::write(&host, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(&host, fs::Permissions::from_mode(0o750)).unwrap();
        let f = parse(&format!("{}:/usr/bin/", host.display())).unwrap();
        f.stage(&dir.join("stage")).unwrap();
        let staged = dir.join("stage/usr/bin/prog");
        assert_eq!(fs::read(&staged).unwrap(), b"#!/bin/sh\n");
        assert_eq!(fs::metadata(&staged).unwrap().permissions().mode() & 0o7777, 0o750);
        assert!(parse(&format!("{}:/etc", host.display())).unwrap().stage(&dir.join("stage")).is_err());
        assert!(parse(&format!("{}", dir.display())).unwrap().mode().is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
