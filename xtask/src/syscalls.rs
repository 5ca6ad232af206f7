//! `cargo xtask syscalls`: how much of each ABI's syscall list is implemented, generated from
//! the declarative lists in abi/ (never written by hand).
use abi::syscall_list::{Status, Syscall};

/// One ABI's coverage report.
pub fn report(abi: &str, table: &[Syscall]) -> String {
    let count = |st: Status| table.iter().filter(|s| s.status == st).count();
    let (done, partial) = (count(Status::Implemented), count(Status::Partial));
    let mut out = format!(
        "{abi}: {done} implemented, {partial} partial, of {} ({} missing)\n",
        table.len(),
        count(Status::Missing)
    );
    for st in [Status::Partial, Status::Missing] {
        let names: Vec<&str> = table.iter().filter(|s| s.status == st).map(|s| s.name).collect();
        if !names.is_empty() {
            out.push_str(&format!(
                "  {}: {}\n",
                if st == Status::Partial { "partial" } else { "missing" },
                names.join(" ")
            ));
        }
    }
    out
}

/// Prints the report for every ABI.
pub fn run() -> bool {
    print!("{}", report("linux", abi::linux::syscalls::TABLE));
    print!("{}", report("native", abi::native::TABLE));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::syscall_list::Arg;

    #[test]
    fn counts_come_from_the_list() {
        let t = [
            Syscall { nr: 0, name: "a", args: &[Arg::Fd], status: Status::Implemented },
            Syscall { nr: 1, name: "b", args: &[], status: Status::Missing },
            Syscall { nr: 2, name: "c", args: &[], status: Status::Partial },
        ];
        let r = report("x", &t);
        assert!(r.starts_with("x: 1 implemented, 1 partial, of 3 (1 missing)"), "{r}");
        assert!(r.contains("missing: b") && r.contains("partial: c"), "{r}");
    }
}
