//! Building the C programs of tests/conformance: each `NAME.c` static with musl
//! (`NAME-musl`) and, when the host has a static glibc, with glibc (`NAME-glibc`), into
//! target/conformance. The `conformance` image holds them at `/bin/NAME-LIBC`, and the suite's
//! area programs (tests/conformance/suite/AREA.c, built the same way into
//! target/conformance/suite) at `/conf/AREA-LIBC`, where the runner finds them.

use crate::deps;
use crate::guest_file::GuestFile;
use crate::paths::root;
use crate::Result;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A C library and the compiler driver that links against it.
struct Libc {
    name: &'static str,
    cc: &'static str,
}

const LIBCS: [Libc; 2] = [Libc { name: "musl", cc: "musl-gcc" }, Libc { name: "glibc", cc: "gcc" }];

/// Flags for every program: static, optimized, and warnings as errors so a sloppy test fails
/// the build rather than the run.
const CFLAGS: [&str; 5] = ["-static", "-O2", "-Wall", "-Wextra", "-Werror"];

fn sources() -> Result<Vec<PathBuf>> {
    c_files(&root().join("tests/conformance"))
}

/// The suite's area programs.
fn suite_sources() -> Result<Vec<PathBuf>> {
    c_files(&suite_dir())
}

fn suite_dir() -> PathBuf {
    root().join("tests/conformance/suite")
}

fn c_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    out.sort();
    Ok(out)
}

/// True when `out` is missing or older than `src`, than the header `extra` (if any) or than
/// the xtask binary (which holds the compiler flags).
pub fn stale(src: &Path, extra: Option<&Path>, out: &Path) -> bool {
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let xtask = std::env::current_exe().ok().and_then(|p| mtime(&p));
    let header = extra.and_then(mtime);
    match (mtime(src), mtime(out)) {
        (Some(s), Some(o)) => o < s || xtask.is_some_and(|x| o < x) || header.is_some_and(|h| o < h),
        _ => true,
    }
}

/// Compiles `src` into `out` with `cc` and the suite's flags.
pub fn compile(cc: &str, src: &Path, out: &Path) -> Result<()> {
    let status = Command::new(cc)
        .args(CFLAGS)
        .arg("-o")
        .arg(out)
        .arg(src)
        .status()
        .map_err(|e| format!("cannot run {cc}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cc} {} failed ({status})", src.display()))
    }
}

/// Builds what is out of date; returns every program with its place in the image.
pub fn build() -> Result<Vec<GuestFile>> {
    let out_dir = root().join("target/conformance");
    fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut programs = Vec::new();
    for libc in &LIBCS {
        if libc.name == "glibc" && !deps::static_glibc() {
            eprintln!(
                "xtask: warning: no static glibc (Debian package libc6-dev): the *-glibc conformance programs are not built"
            );
            continue;
        }
        let header = suite_dir().join("cases.h");
        let sets = [
            (sources()?, out_dir.clone(), "bin", None),
            (suite_sources()?, out_dir.join("suite"), "conf", Some(header.as_path())),
        ];
        for (srcs, dir, guest_dir, extra) in &sets {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for src in srcs {
                let stem =
                    src.file_stem().and_then(|s| s.to_str()).ok_or(format!("{}: bad name", src.display()))?;
                let name = format!("{stem}-{}", libc.name);
                let out = dir.join(&name);
                if stale(src, *extra, &out) {
                    compile(libc.cc, src, &out)?;
                }
                programs.push(GuestFile { host: out, guest: format!("{guest_dir}/{name}") });
            }
        }
    }
    Ok(programs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_programs_the_scenarios_run() {
        let names: Vec<String> = sources()
            .unwrap()
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in ["hello", "exit_status", "args"] {
            assert!(names.iter().any(|n| n == want), "tests/conformance/{want}.c is missing");
        }
    }

    #[test]
    fn staleness_follows_mtimes() {
        let src = root().join("tests/conformance/hello.c");
        assert!(stale(&src, None, Path::new("/nonexistent/damselfly")));
        let exe = std::env::current_exe().unwrap();
        assert!(!stale(&src, None, &exe));
    }
}
