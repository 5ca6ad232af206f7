//! Where sources and build outputs live, relative to the repository root.

use std::path::PathBuf;

/// The repository root: xtask lives one level below it.
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().expect("xtask/ has a parent").to_path_buf()
}

/// The target both bare-metal components are built for.
pub const TARGET: &str = "x86_64-unknown-none";

/// The kernel ELF as cargo writes it (unstripped: gdb and the symbol checks read it).
pub fn kernel_elf() -> PathBuf {
    root().join("target/kernel").join(TARGET).join("release/kernel")
}

/// The loader ELF QEMU boots with `-kernel`.
pub fn loader_elf() -> PathBuf {
    root().join("target/loader").join(TARGET).join("release/loader")
}

/// Staging directories and cpio archives of the root images.
pub fn image_dir() -> PathBuf {
    root().join("target/image")
}

/// The archive of one image variant, e.g. `target/image/root.cpio`.
pub fn image(variant: systests::scenarios::Image) -> PathBuf {
    image_dir().join(format!("{}.cpio", variant.name()))
}

/// Serial logs of the test scenarios.
pub fn test_logs() -> PathBuf {
    root().join("target/test-logs")
}
