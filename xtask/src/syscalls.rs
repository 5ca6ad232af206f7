//! `cargo xtask syscalls`: how much of each ABI's syscall list is implemented, generated from
//! the declarative lists in abi/ (never written by hand), and per Linux syscall what the
//! conformance suite's last run found (target/conformance/coverage.tsv).
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

/// Per Linux syscall: Damselfly's status, and from the conformance suite's last run whether the
/// suite makes it, covers it (a success and an error case under each libc) and how many of the
/// cases making it pass on Damselfly.
pub fn suite_table(table: &[Syscall], coverage_tsv: &str) -> String {
    let mut out =
        format!("{:<4} {:<24} {:<12} {:<10} {}\n", "nr", "linux syscall", "damselfly", "passing", "suite");
    for s in table {
        let status = match s.status {
            Status::Implemented => "implemented",
            Status::Partial => "partial",
            Status::Missing => "missing",
        };
        let row = coverage_tsv
            .lines()
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&s.name));
        let (suite, passing) = match row.as_deref() {
            Some([_, gap, passing]) => (*gap, *passing),
            _ => ("not made by the suite", ""),
        };
        out.push_str(&format!("{:<4} {:<24} {:<12} {:<10} {}\n", s.nr, s.name, status, passing, suite));
    }
    out
}

/// Prints the report for every ABI, and the Linux table against the suite's last run.
pub fn run() -> bool {
    match std::fs::read_to_string(crate::suite::coverage_path()) {
        Ok(tsv) => print!("{}", suite_table(abi::linux::syscalls::TABLE, &tsv)),
        Err(_) => println!("(no conformance run yet: `cargo xtask conformance` adds coverage per syscall)"),
    }
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
        let t = suite_table(&t, "a\tcovered\t3/3\nc\tno error case under musl\t1/2\n");
        assert!(t.lines().any(|l| l.starts_with("0    a ") && l.ends_with("3/3        covered")), "{t}");
        assert!(t.lines().any(|l| l.contains(" b ") && l.ends_with("not made by the suite")), "{t}");
        assert!(
            t.lines().any(|l| l.contains(" c ") && l.ends_with("1/2        no error case under musl")),
            "{t}"
        );
    }
}
