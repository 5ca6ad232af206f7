//! Frame-pointer backtraces (the kernel is built with `-C force-frame-pointers=yes`).
//!
//! Every frame is checked before it is read: 8-byte aligned, mapped in the current page
//! tables, and above the previous one, so a corrupt chain ends the trace instead of faulting.
use crate::arch::x86_64::pmap;
use core::fmt::Write;

const MAX_FRAMES: usize = 48;

/// Writes `#0` for `rip`, then one line per return address found from frame pointer `rbp`.
pub fn write_from(out: &mut impl Write, rip: u64, rbp: u64) {
    let _ = write!(out, "  #0  {:#018x} ", rip);
    let _ = super::ksym::write_symbolized(out, rip);
    let _ = writeln!(out);
    let mut fp = rbp;
    let (mut last, mut repeats) = (0u64, 0usize);
    for i in 1..MAX_FRAMES {
        if fp == 0 || !fp.is_multiple_of(8) || !pmap::is_kernel_readable(fp, 16) {
            break;
        }
        // SAFETY: [fp, fp+16) is mapped and readable (checked just above).
        let (next, ret) = unsafe { (*(fp as *const u64), *((fp + 8) as *const u64)) };
        if ret == 0 {
            break;
        }
        if next <= fp {
            break;
        }
        fp = next;
        // A runaway recursion would fill the trace with one line: print it once.
        if ret == last {
            repeats += 1;
            continue;
        }
        if repeats > 0 {
            let _ = writeln!(out, "      ... the frame above repeated {} more times", repeats);
            repeats = 0;
        }
        last = ret;
        let _ = write!(out, "  #{:<2} {:#018x} ", i, ret);
        // The return address belongs to the instruction after the call; name the call's.
        let _ = super::ksym::write_symbolized(out, ret - 1);
        let _ = writeln!(out);
    }
    if repeats > 0 {
        let _ = writeln!(out, "      ... the frame above repeated {} more times (trace cut)", repeats);
    }
}

/// Writes a backtrace of the caller.
#[inline(never)]
pub fn write_here(out: &mut impl Write) {
    let (rbp, rip): (u64, u64);
    // SAFETY: reads the frame pointer and instruction pointer only.
    unsafe {
        core::arch::asm!("mov {}, rbp", "lea {}, [rip]", out(reg) rbp, out(reg) rip,
            options(nomem, nostack, preserves_flags))
    };
    write_from(out, rip, rbp);
}
