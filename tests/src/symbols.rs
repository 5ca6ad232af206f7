//! Host-side symbolization of kernel addresses from the kernel ELF's `.symtab`.
//!
//! This is deliberately independent of the kernel's own symbolizer: a fault check compares the
//! two, so a bug in the kernel's lookup cannot vouch for itself.

use goblin::elf::{section_header, sym, Elf};

/// One function-like symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Symbol {
    addr: u64,
    size: u64,
    name: String,
}

/// The kernel's symbols sorted by address, names demangled without hashes.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    syms: Vec<Symbol>,
}

impl Symbols {
    /// Reads the `.symtab` of an ELF image. Fails when the image is not an ELF or has no
    /// function symbols (a stripped kernel cannot be checked).
    pub fn from_elf(image: &[u8]) -> Result<Symbols, String> {
        let elf = Elf::parse(image).map_err(|e| format!("not a readable ELF: {e}"))?;
        let mut syms: Vec<Symbol> = elf
            .syms
            .iter()
            .filter(|s| s.st_value != 0 && s.st_shndx != section_header::SHN_UNDEF as usize)
            // Assembly labels (entry stubs) are often NOTYPE; keep them so an address in a
            // stub is not blamed on the Rust function placed before it.
            .filter(|s| matches!(s.st_type(), sym::STT_FUNC | sym::STT_NOTYPE))
            .filter_map(|s| {
                let raw = elf.strtab.get_at(s.st_name)?;
                // Local labels such as `.Ltmp0` name no function.
                (!raw.is_empty() && !raw.starts_with(".L")).then(|| Symbol {
                    addr: s.st_value,
                    size: s.st_size,
                    name: demangle(raw),
                })
            })
            .collect();
        if syms.is_empty() {
            return Err("the ELF has no function symbols (stripped?)".into());
        }
        syms.sort_by_key(|s| s.addr);
        Ok(Symbols { syms })
    }

    /// Builds a table directly from (address, size, raw name) triples: for tests.
    pub fn from_list(list: &[(u64, u64, &str)]) -> Symbols {
        let mut syms: Vec<Symbol> =
            list.iter().map(|&(addr, size, n)| Symbol { addr, size, name: demangle(n) }).collect();
        syms.sort_by_key(|s| s.addr);
        Symbols { syms }
    }

    /// The symbol containing `addr` and the offset into it. A sized symbol must contain the
    /// address; a zero-sized one (an assembly label) covers up to the next symbol.
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let end = self.syms.partition_point(|s| s.addr <= addr);
        let below = &self.syms[..end];
        // Prefer the closest symbol whose extent holds the address, so a zero-sized label
        // placed inside a function does not hide the function.
        if let Some(s) = below.iter().rev().find(|s| s.size != 0 && addr < s.addr.saturating_add(s.size)) {
            return Some((&s.name, addr - s.addr));
        }
        let s = below.last()?;
        (s.size == 0).then(|| (s.name.as_str(), addr - s.addr))
    }
}

/// Demangles a Rust symbol (legacy or v0) without its hash; other names pass through.
pub fn demangle(raw: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "_ZN16damselfly_kernel5crash17commit_page_fault17h0123456789abcdefE";

    #[test]
    fn demangles_without_hash() {
        assert_eq!(demangle(COMMIT), "damselfly_kernel::crash::commit_page_fault");
        assert_eq!(demangle("isr_stub_14"), "isr_stub_14");
    }

    #[test]
    fn finds_the_containing_function() {
        let s = Symbols::from_list(&[(0x1000, 0x40, COMMIT), (0x1040, 0x10, "other"), (0x2000, 0, "label")]);
        assert_eq!(s.lookup(0x1000), Some(("damselfly_kernel::crash::commit_page_fault", 0)));
        assert_eq!(s.lookup(0x103f), Some(("damselfly_kernel::crash::commit_page_fault", 0x3f)));
        assert_eq!(s.lookup(0x1045), Some(("other", 5)));
        // A gap after a sized function belongs to nobody.
        assert_eq!(s.lookup(0x1050), None);
        assert_eq!(s.lookup(0xfff), None);
        assert_eq!(s.lookup(0x2010), Some(("label", 0x10)));
    }

    #[test]
    fn rejects_non_elf() {
        assert!(Symbols::from_elf(b"garbage").is_err());
    }

    #[test]
    fn reads_a_real_elf() {
        // The test binary itself is an ELF with a symbol table on Linux hosts.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let s = Symbols::from_elf(&exe).unwrap();
        let addr = s.syms.iter().find(|x| x.name.ends_with("symbols::demangle")).map(|x| x.addr);
        let addr = addr.expect("demangle is in the symbol table");
        assert!(s.lookup(addr).unwrap().0.ends_with("symbols::demangle"));
    }
}
