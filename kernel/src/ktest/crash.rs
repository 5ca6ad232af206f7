//! Deliberate crashes (`crash=<what>` on the command line) that prove the fatal paths work:
//! each prints what the report must say (`crash: expect ...`), then commits the fault. The
//! test harness checks the report against that line and against the kernel ELF's symbols.
use crate::arch::x86_64::pmap;
use crate::arch::x86_64::start::BOOT_STACK;
use crate::kprintln;

/// An address in the kernel half that nothing maps (between the direct map and the kernel).
const UNMAPPED: u64 = 0xffff_c000_dead_b000;

/// Commits the crash named on the command line; returns only for an unknown name.
pub fn commit(what: &str) {
    // A crash must be the fault named, taken where the report says: no interrupt handler may
    // run on the nearly exhausted stack (or anywhere else) on the way.
    x86_64::instructions::interrupts::disable();
    match what {
        "pagefault" => page_fault(false),
        "consolelock" => page_fault(true),
        "divide" => {
            kprintln!(
                "crash: expect vector=0 cr2_lo=0x0 cr2_hi=0x0 fn=kernel::ktest::crash::commit_divide_error"
            );
            commit_divide_error(core::hint::black_box(7));
        }
        "overflow" => {
            let guard = BOOT_STACK.guard_page();
            kprintln!(
                "crash: expect vector=8 cr2_lo={:#x} cr2_hi={:#x} fn=kernel::ktest::crash::recurse",
                guard,
                guard + 4096
            );
            let n = recurse(core::hint::black_box(0));
            kprintln!("crash: recursion returned {}", n);
        }
        other => {
            log::error!("crash: unknown crash '{}' (pagefault, divide, overflow, consolelock)", other);
            return;
        }
    }
    kprintln!("crash: the fault did not happen");
    crate::arch::x86_64::power::exit_failure();
}

fn page_fault(hold_console: bool) {
    assert!(pmap::lookup(UNMAPPED).is_none(), "crash: test address is mapped");
    kprintln!(
        "crash: expect vector=14 cr2_lo={:#x} cr2_hi={:#x} fn=kernel::ktest::crash::commit_page_fault",
        UNMAPPED,
        UNMAPPED + 1
    );
    if hold_console {
        crate::tty::console::hold_lock_forever();
    }
    commit_page_fault(core::hint::black_box(UNMAPPED));
}

/// Reads an unmapped kernel address.
#[inline(never)]
pub fn commit_page_fault(addr: u64) -> u64 {
    // SAFETY: deliberately unsound: the address is unmapped and the read faults; the fault
    // handler reports it and ends the run, so execution never continues past it.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

/// Divides by zero with `div` (Rust's `/` would panic before dividing).
#[inline(never)]
pub fn commit_divide_error(n: u32) -> u32 {
    let q: u32;
    // SAFETY: the #DE this raises is fatal by design; no memory is touched.
    unsafe {
        core::arch::asm!("xor ecx, ecx", "div ecx", inout("eax") n => q, inout("edx") 0 => _, out("ecx") _);
    }
    q
}

/// Recurses until the boot stack runs into its guard page; each frame touches 512 bytes so
/// the stack pages are really written, as a runaway recursion would.
#[inline(never)]
#[allow(unconditional_recursion)]
pub fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 512];
    frame[depth as usize % 512] = depth as u8;
    let frame = core::hint::black_box(frame);
    recurse(depth + 1).wrapping_add(frame[(depth as usize * 7) % 512] as u64)
}
