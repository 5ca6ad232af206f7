//! Which Linux syscalls the suite exercises, from the `# trace` lines of a traced Linux run:
//! for each call the suite's programs or the busybox session made, whether Damselfly implements
//! it and whether a passing case saw it succeed and a passing case saw it fail, under each C
//! library.

use super::results::{split_label, RunnerOutput};
use abi::syscall_list::{by_number, Status, Syscall};
use std::collections::{BTreeMap, BTreeSet};

/// Calls that cannot fail (their man pages say so, or they do not return): no error case.
pub const NEVER_FAIL: [&str; 19] = [
    "getpid",
    "getppid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getpgrp",
    "umask",
    "sync",
    "sched_yield",
    "exit",
    "exit_group",
    "set_tid_address",
    "rt_sigreturn",
    "brk",
    "alarm",
    "setfsuid",
    "setfsgid",
];
/// Calls that only ever return an error (EINTR after a handler): no success case.
pub const NEVER_SUCCEED: [&str; 2] = ["pause", "rt_sigsuspend"];

/// What the suite knows about one syscall.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyscallCoverage {
    pub nr: u32,
    pub name: String,
    /// Damselfly's status for it (None: not in the list at all).
    pub status: Option<Status>,
    /// Cases (labels) that made it on Linux.
    pub cases: BTreeSet<String>,
    /// Made by the busybox session.
    pub session: bool,
    /// Per C library (`musl`, `glibc`): a good case where it succeeded, one where it failed.
    pub ok: BTreeSet<String>,
    pub err: BTreeSet<String>,
    /// Of `cases`, how many pass on Damselfly.
    pub passing_on_damselfly: usize,
}

impl SyscallCoverage {
    /// Why it is not covered, or None when it is.
    pub fn gap(&self, libcs: &[&str]) -> Option<String> {
        match self.status {
            None | Some(Status::Missing) => return Some("not implemented on Damselfly".into()),
            _ => {}
        }
        let mut missing = Vec::new();
        for libc in libcs {
            if !NEVER_SUCCEED.contains(&self.name.as_str()) && !self.ok.contains(*libc) {
                missing.push(format!("no success case under {libc}"));
            }
            if !NEVER_FAIL.contains(&self.name.as_str()) && !self.err.contains(*libc) {
                missing.push(format!("no error case under {libc}"));
            }
        }
        (!missing.is_empty()).then(|| missing.join(", "))
    }
}

/// Builds the coverage of every call in `traced`'s traces. A case counts as a success or error
/// case only if `good(label)` (it passes on Linux and on Damselfly).
pub fn coverage(
    traced: &RunnerOutput,
    table: &'static [Syscall],
    good: impl Fn(&str) -> bool,
    passes_on_damselfly: impl Fn(&str) -> bool,
) -> Vec<SyscallCoverage> {
    let mut by_nr: BTreeMap<u32, SyscallCoverage> = BTreeMap::new();
    for (label, uses) in &traced.traces {
        for u in uses {
            let entry = by_nr.entry(u.nr).or_insert_with(|| {
                let s = by_number(table, u.nr);
                SyscallCoverage {
                    nr: u.nr,
                    name: s.map_or_else(|| format!("#{}", u.nr), |s| s.name.to_string()),
                    status: s.map(|s| s.status),
                    ..SyscallCoverage::default()
                }
            });
            if label == "session" {
                entry.session = true;
                continue;
            }
            entry.cases.insert(label.clone());
            if let Some((_, libc, _)) = split_label(label) {
                if good(label) {
                    if u.ok {
                        entry.ok.insert(libc.to_string());
                    }
                    if u.err {
                        entry.err.insert(libc.to_string());
                    }
                }
            }
        }
    }
    for c in by_nr.values_mut() {
        c.passing_on_damselfly = c.cases.iter().filter(|l| passes_on_damselfly(l)).count();
    }
    by_nr.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::linux::syscalls::TABLE;

    #[test]
    fn success_and_error_cases_per_libc() {
        let r = RunnerOutput::parse(
            "# trace f-musl.a 2:+ 39:+\n# trace f-musl.b 2:-\n# trace f-glibc.a 257:+-\n# trace f-glibc.bad 2:-\n\
             # trace session 0:+\n",
        );
        let cov = coverage(&r, TABLE, |l| l != "f-glibc.bad", |l| l != "f-musl.b");
        let open = cov.iter().find(|c| c.name == "open").unwrap();
        assert_eq!(open.cases.len(), 3);
        assert_eq!(open.passing_on_damselfly, 2);
        assert_eq!(open.gap(&["musl"]), None);
        assert_eq!(
            open.gap(&["musl", "glibc"]).unwrap(),
            "no success case under glibc, no error case under glibc"
        );
        let getpid = cov.iter().find(|c| c.name == "getpid").unwrap();
        assert_eq!(getpid.gap(&["musl"]), None, "getpid cannot fail");
        let read = cov.iter().find(|c| c.name == "read").unwrap();
        assert!(read.session && read.cases.is_empty());
    }
}
