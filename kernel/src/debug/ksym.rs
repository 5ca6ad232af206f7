//! The kernel's symbol table, copied by the loader, for symbolized reports and backtraces.
//!
//! Entries are parsed field by field (24-byte `Elf64_Sym`), so a damaged table yields "?"
//! rather than a fault inside the fault handler.
use abi::boot::{BootInfo, PhysRange, DIRECT_MAP_BASE};
use core::fmt::{self, Write};
use spin::Once;

const SYM_SIZE: usize = 24;
const STT_FUNC: u8 = 2;

struct Tables {
    symtab: &'static [u8],
    strtab: &'static [u8],
}

static TABLES: Once<Tables> = Once::new();

fn slice_of(range: PhysRange) -> &'static [u8] {
    if range.is_empty() {
        return &[];
    }
    // SAFETY: the loader copied the tables into RAM it reports in BootInfo, which the kernel
    // reserves in its page allocator and covers with the direct map; nothing writes it again.
    unsafe { core::slice::from_raw_parts((DIRECT_MAP_BASE + range.start) as *const u8, range.len() as usize) }
}

/// Takes the tables the loader copied; without them reports print `?`.
pub fn init(bi: &BootInfo) {
    let symtab = slice_of(bi.kernel_symtab);
    let strtab = slice_of(bi.kernel_strtab);
    TABLES.call_once(|| Tables { symtab, strtab });
    log::debug!("ksym: {} symbols", symtab.len() / SYM_SIZE);
}

struct Sym {
    name: u32,
    info: u8,
    value: u64,
    size: u64,
}

fn sym_at(t: &[u8], i: usize) -> Option<Sym> {
    let e = t.get(i * SYM_SIZE..(i + 1) * SYM_SIZE)?;
    let u32_at = |o: usize| u32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]);
    let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
    Some(Sym { name: u32_at(0), info: e[4], value: u64_at(8), size: u64_at(16) })
}

fn name_at(strtab: &'static [u8], off: u32) -> Option<&'static str> {
    let s = strtab.get(off as usize..)?;
    let end = s.iter().position(|&b| b == 0)?;
    core::str::from_utf8(&s[..end]).ok()
}

/// The function containing `addr`: its (mangled) name and the offset into it.
pub fn lookup(addr: u64) -> Option<(&'static str, u64)> {
    let t = TABLES.get()?;
    let n = t.symtab.len() / SYM_SIZE;
    let mut best: Option<Sym> = None;
    for i in 0..n {
        let Some(s) = sym_at(t.symtab, i) else { break };
        if s.info & 0xf != STT_FUNC || s.value > addr {
            continue;
        }
        let inside = addr < s.value.saturating_add(s.size.max(1));
        if inside && best.as_ref().is_none_or(|b| s.value >= b.value) {
            best = Some(s);
        }
    }
    let s = best?;
    Some((name_at(t.strtab, s.name)?, addr - s.value))
}

/// Writes `name+0xoff` for `addr` (the demangled path without its hash), or `?`.
pub fn write_symbolized(out: &mut impl Write, addr: u64) -> fmt::Result {
    match lookup(addr) {
        Some((name, off)) => write!(out, "{:#}+{:#x}", rustc_demangle::demangle(name), off),
        None => out.write_str("?"),
    }
}

mod tests {
    use crate::{kassert, ktest};
    use alloc::string::String;

    #[inline(never)]
    fn a_known_function() -> u64 {
        a_known_function as *const () as u64
    }

    ktest! {
        /// An address inside a function symbolizes to that function's demangled path.
        fn symbolizes_own_function() {
            let addr = core::hint::black_box(a_known_function()) + 1;
            let mut s = String::new();
            let _ = super::write_symbolized(&mut s, addr);
            kassert!(s.starts_with("kernel::debug::ksym::tests::a_known_function+0x1"), "got '{}'", s);
            Ok(())
        }
    }
}
