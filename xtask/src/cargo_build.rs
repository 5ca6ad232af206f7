//! Building the two bare-metal components with cargo.
//!
//! Kernel and loader need different code generation flags (the kernel code model only for the
//! kernel), so each gets its own RUSTFLAGS and its own target directory: sharing one would make
//! cargo rebuild everything each time the flags flip.

use crate::paths::{self, root, TARGET};
use crate::Result;
use std::path::PathBuf;
use std::process::Command;

struct Component {
    package: &'static str,
    target_dir: &'static str,
    rustflags: &'static str,
}

const KERNEL: Component = Component {
    package: "damselfly-kernel",
    target_dir: "target/kernel",
    rustflags: "-C force-frame-pointers=yes -C relocation-model=static -C code-model=kernel",
};

const LOADER: Component = Component {
    package: "damselfly-loader",
    target_dir: "target/loader",
    rustflags: "-C force-frame-pointers=yes -C relocation-model=static",
};

/// The cargo that runs us (so the pinned toolchain is used), or `cargo` from PATH.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn build(c: &Component) -> Result<()> {
    let status = cargo()
        .current_dir(root())
        .args(["build", "--release", "-p", c.package, "--target", TARGET, "--target-dir", c.target_dir])
        .env("RUSTFLAGS", c.rustflags)
        // Any of these from the caller's environment would override or pollute the flags above.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building {} failed ({status})", c.package))
    }
}

/// Builds the loader and the kernel; returns the kernel ELF's path.
pub fn build_components() -> Result<PathBuf> {
    build(&LOADER)?;
    build(&KERNEL)?;
    Ok(paths::kernel_elf())
}
