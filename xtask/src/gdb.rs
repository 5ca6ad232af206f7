//! `cargo xtask gdb`: QEMU paused at the first instruction with a gdb stub on :1234.

use crate::paths::{kernel_elf, root};
use crate::qemu::{self, Boot};
use crate::Result;

/// Prints the gdb command, then runs QEMU on this terminal until it exits.
pub fn run(boot: &Boot) -> Result<bool> {
    let elf = kernel_elf();
    let elf = elf.strip_prefix(root()).unwrap_or(&elf);
    eprintln!("QEMU is paused with a gdb stub on :1234. In another terminal, from {}:", root().display());
    eprintln!("  gdb -ex 'file {}' -ex 'target remote :1234'", elf.display());
    eprintln!("The loader runs first (at 1 MiB); break on a kernel symbol, then `continue`.");
    eprintln!("The serial console is here; Ctrl-A X quits QEMU.");
    qemu::run_interactive(boot, true).map(|s| matches!(s, Some(0) | Some(33)))
}
