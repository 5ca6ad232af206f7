//! Damselfly's run judged against Linux's: one check per case, the run as a whole, the known
//! failures list, the syscall coverage and the busybox session.

use super::coverage::{coverage, SyscallCoverage};
use super::known::{self, KnownFailure, MAX_KNOWN};
use super::results::RunnerOutput;
use super::session::{self, Pattern};
use crate::check::Check;
use crate::conformance::LIBCS;
use abi::syscall_list::Syscall;

/// What goes into a verdict.
pub struct Inputs<'a> {
    /// The oracle's plain run (its results judge the tests themselves).
    pub linux: &'a RunnerOutput,
    /// The oracle's traced run (syscall coverage), when there was one.
    pub traced: Option<&'a RunnerOutput>,
    pub damselfly: &'a RunnerOutput,
    /// The parsed known-failures list, or why it did not parse.
    pub known: Result<Vec<KnownFailure>, String>,
    pub patterns: &'a [Pattern],
    /// Damselfly's Linux syscall list.
    pub table: &'static [Syscall],
}

/// One case on both kernels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow {
    pub label: String,
    pub linux: Option<bool>,
    pub damselfly: Option<bool>,
    /// The known-failures reason, when listed.
    pub known: Option<String>,
}

/// The verdict.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub checks: Vec<Check>,
    pub rows: Vec<CaseRow>,
    pub coverage: Vec<SyscallCoverage>,
}

fn run_check(name: &str, r: &RunnerOutput) -> Check {
    let result = if !r.done {
        Err(format!("the runner did not finish ({} cases reported)", r.cases.len()))
    } else if r.plan != Some(r.cases.len()) {
        Err(format!("planned {:?} cases, reported {}", r.plan, r.cases.len()))
    } else {
        Ok(())
    };
    Check::new(format!("suite/run/{name}"), result)
}

fn why(how: &str, output: &[String]) -> String {
    match output.first() {
        Some(first) => format!("{how}: {first}"),
        None => how.to_string(),
    }
}

/// Judges Damselfly's run.
pub fn judge(i: &Inputs) -> Outcome {
    let mut out = Outcome::default();
    out.checks.push(run_check("linux", i.linux));
    if let Some(t) = i.traced {
        out.checks.push(run_check("linux-traced", t));
    }
    out.checks.push(run_check("damselfly", i.damselfly));
    let known = i.known.clone().unwrap_or_default();
    out.checks.push(Check::new(
        "suite/known-failures",
        match &i.known {
            Err(e) => Err(e.clone()),
            Ok(k) if k.len() > MAX_KNOWN => Err(format!("{} entries, at most {MAX_KNOWN}", k.len())),
            Ok(k) => match k.iter().find(|k| !i.linux.cases.iter().any(|(l, _)| k.matches(l))) {
                Some(stale) => Err(format!("`{}` names no case", stale.case)),
                None => Ok(()),
            },
        },
    ));

    let mut labels: Vec<&str> = i.linux.cases.iter().map(|(l, _)| l.as_str()).collect();
    for (l, _) in &i.damselfly.cases {
        if !labels.contains(&l.as_str()) {
            labels.push(l);
        }
    }
    for label in labels {
        let lx = i.linux.case(label);
        let dx = i.damselfly.case(label);
        let listed = known::find(&known, label);
        match lx {
            None => {
                out.checks.push(Check::fail(format!("suite/linux/{label}"), "not reported by Linux's run"))
            }
            Some(r) if !r.pass => out.checks.push(Check::fail(
                format!("suite/linux/{label}"),
                format!("fails on Linux, so the test is broken ({})", why(&r.how, &r.output)),
            )),
            Some(_) => {}
        }
        let name = format!("suite/{label}");
        match (dx, listed) {
            (None, _) => out.checks.push(Check::fail(name, "not reported by Damselfly's run")),
            (Some(r), None) if r.pass => out.checks.push(Check::pass(name)),
            (Some(r), None) => out.checks.push(Check::fail(name, why(&r.how, &r.output))),
            (Some(r), Some(_)) if r.pass => out.checks.push(Check::fail(
                name,
                "passes but is listed in tests/conformance/known-failures.txt: remove it",
            )),
            (Some(_), Some(_)) => {} // an expected failure: reported, not counted
        }
        out.rows.push(CaseRow {
            label: label.to_string(),
            linux: lx.map(|r| r.pass),
            damselfly: dx.map(|r| r.pass),
            known: listed.map(|k| k.reason.clone()),
        });
    }

    if let Some(traced) = i.traced {
        let passes = |r: Option<&super::results::CaseResult>| r.is_some_and(|r| r.pass);
        out.coverage = coverage(
            traced,
            i.table,
            |l| passes(i.linux.case(l)) && passes(i.damselfly.case(l)),
            |l| passes(i.damselfly.case(l)),
        );
        for c in &out.coverage {
            let r = c.gap(&LIBCS).map_or(Ok(()), Err);
            out.checks.push(Check::new(format!("suite/coverage/{}", c.name), r));
        }
    }

    match (&i.linux.session, &i.damselfly.session) {
        (None, None) => {}
        (Some(l), Some(d)) => {
            out.checks.push(Check::new("suite/session", session::compare(l, d, i.patterns)));
        }
        (l, _) => out.checks.push(Check::fail(
            "suite/session",
            format!("no session output from {}", if l.is_none() { "Linux" } else { "Damselfly" }),
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::linux::syscalls::TABLE;

    const LINUX: &str =
        "1..4\nok 1 a-musl.x\nok 2 a-musl.y\nok 3 a-musl.z\nnot ok 4 a-musl.broken # exit 1\n# runner done\n";
    const DFLY: &str = "1..4\nok 1 a-musl.x\n# a.c:3: boom\nnot ok 2 a-musl.y # exit 1\nnot ok 3 a-musl.z # exit 1\nok 4 a-musl.broken\n# runner done\n";

    fn judged(known: &str) -> Outcome {
        let (l, d) = (RunnerOutput::parse(LINUX), RunnerOutput::parse(DFLY));
        judge(&Inputs {
            linux: &l,
            traced: None,
            damselfly: &d,
            known: known::parse(known),
            patterns: &[],
            table: TABLE,
        })
    }

    fn verdict<'a>(o: &'a Outcome, name: &str) -> Option<&'a Check> {
        o.checks.iter().find(|c| c.name == name)
    }

    #[test]
    fn cases_are_judged_against_linux_and_the_known_list() {
        let o = judged("a.z  not done yet\n");
        assert!(verdict(&o, "suite/a-musl.x").unwrap().passed());
        assert_eq!(verdict(&o, "suite/a-musl.y").unwrap().result, Err("exit 1: a.c:3: boom".into()));
        assert!(verdict(&o, "suite/a-musl.z").is_none(), "a known failure is not counted");
        assert!(
            !verdict(&o, "suite/linux/a-musl.broken").unwrap().passed(),
            "a Linux failure is a broken test"
        );
        assert!(verdict(&o, "suite/known-failures").unwrap().passed());
        assert!(verdict(&o, "suite/run/damselfly").unwrap().passed());
        assert_eq!(o.rows.len(), 4);
    }

    #[test]
    fn a_listed_case_that_passes_fails_the_run() {
        let o = judged("a.x  fixed long ago\n");
        assert!(!verdict(&o, "suite/a-musl.x").unwrap().passed());
        let o = judged("a.nothing  stale\n");
        assert!(!verdict(&o, "suite/known-failures").unwrap().passed());
    }
}
