//! The kernel's ELF entry point: the loader jumps here in long mode with `rdi` holding the
//! physical address of the boot information.
use super::stack::{GuardedStack, BOOT_STACK_SIZE};

/// The boot CPU's first stack; `kmain` and the in-kernel tests run on it.
pub static BOOT_STACK: GuardedStack<BOOT_STACK_SIZE> = GuardedStack::new();

/// Switches to the boot stack, ends the frame-pointer chain and calls `kmain`.
#[unsafe(naked)]
#[no_mangle]
#[link_section = ".text.boot"]
pub extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "cld",
        "lea rsp, [rip + {stack} + {size}]",
        "add rsp, {guard}",
        // rbp = 0 ends every backtrace here; rsp stays 16-byte aligned at the call.
        "xor ebp, ebp",
        "call {kmain}",
        "ud2",
        stack = sym BOOT_STACK,
        size = const BOOT_STACK_SIZE,
        guard = const crate::mem::PAGE_SIZE,
        kmain = sym crate::kmain,
    )
}
