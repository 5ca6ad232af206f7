//! The side-by-side report: each case on Linux and on Damselfly under each C library, each
//! syscall the suite made with its coverage, and the counts.

use super::results::split_label;
use super::verdict::Outcome;
use crate::conformance::LIBCS;
use abi::syscall_list::{Status, Syscall};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One case under one C library: (Linux, Damselfly, listed as a known failure).
type Cell = (Option<bool>, Option<bool>, bool);

fn mark(r: Option<bool>, known: bool) -> &'static str {
    match (r, known) {
        (None, _) => "-",
        (Some(true), _) => "ok",
        (Some(false), true) => "xfail",
        (Some(false), false) => "FAIL",
    }
}

/// The counts line: cases, passing on each kernel, known failures, syscalls implemented.
pub fn counts(o: &Outcome, table: &[Syscall]) -> String {
    let n = o.rows.len();
    let linux = o.rows.iter().filter(|r| r.linux == Some(true)).count();
    let dfly = o.rows.iter().filter(|r| r.damselfly == Some(true)).count();
    let known = o.rows.iter().filter(|r| r.known.is_some() && r.damselfly == Some(false)).count();
    let implemented = table.iter().filter(|s| s.status == Status::Implemented).count();
    let partial = table.iter().filter(|s| s.status == Status::Partial).count();
    let covered = o.coverage.iter().filter(|c| c.gap(&LIBCS).is_none()).count();
    format!(
        "{n} cases: {linux} pass on Linux, {dfly} on Damselfly ({known} known failures); \
         the suite makes {} syscalls, {covered} covered (implemented, a success and an error case per libc); \
         Linux syscalls implemented on Damselfly: {implemented} (+{partial} partial) of {}",
        o.coverage.len(),
        table.len()
    )
}

/// The whole report.
pub fn render(o: &Outcome, table: &[Syscall]) -> String {
    let mut s = String::new();
    // Rows grouped by AREA.CASE, one column pair (Linux, Damselfly) per C library.
    let mut grouped: BTreeMap<String, BTreeMap<&str, Cell>> = BTreeMap::new();
    for r in &o.rows {
        let (key, libc) = match split_label(&r.label) {
            Some((area, libc, case)) => (format!("{area}.{case}"), libc),
            None => (r.label.clone(), "?"),
        };
        grouped.entry(key).or_default().insert(
            LIBCS.iter().find(|l| **l == libc).copied().unwrap_or("?"),
            (r.linux, r.damselfly, r.known.is_some()),
        );
    }
    let _ = writeln!(s, "{:<48} {:<18} {:<18}", "case", "musl: Linux Dfly", "glibc: Linux Dfly");
    for (case, by_libc) in &grouped {
        let cell = |libc: &str| match by_libc.get(libc) {
            Some(&(l, d, k)) => format!("{:<6} {:<11}", mark(l, false), mark(d, k)),
            None => format!("{:<6} {:<11}", "-", "-"),
        };
        let _ = writeln!(s, "{case:<48} {} {}", cell("musl"), cell("glibc"));
    }
    for r in o.rows.iter().filter(|r| r.known.is_some()) {
        let _ = writeln!(s, "known failure {}: {}", r.label, r.known.as_deref().unwrap_or_default());
    }
    if !o.coverage.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<22} {:<12} {:>5}  {:<9} {:<9} {:<10} {:<7} gap",
            "syscall", "damselfly", "cases", "musl +/-", "glibc +/-", "dfly pass", "session"
        );
        for c in &o.coverage {
            let st = match c.status {
                Some(Status::Implemented) => "implemented",
                Some(Status::Partial) => "partial",
                Some(Status::Missing) => "MISSING",
                None => "unknown",
            };
            let pm = |libc: &str| {
                format!(
                    "{} {}",
                    if c.ok.contains(libc) { "+" } else { "." },
                    if c.err.contains(libc) { "-" } else { "." }
                )
            };
            let _ = writeln!(
                s,
                "{:<22} {:<12} {:>5}  {:<9} {:<9} {:<10} {:<7} {}",
                c.name,
                st,
                c.cases.len(),
                pm("musl"),
                pm("glibc"),
                format!("{}/{}", c.passing_on_damselfly, c.cases.len()),
                if c.session { "yes" } else { "" },
                c.gap(&LIBCS).unwrap_or_default()
            );
        }
    }
    let _ = writeln!(s, "\n{}", counts(o, table));
    s
}
