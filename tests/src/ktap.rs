//! A parser for the KTAP output of the kernel's in-kernel tests.
//!
//! The kernel prints `KTAP version 1`, a plan `1..N`, one `ok`/`not ok` line per test and a
//! `# ktest: P passed, F failed` summary. Log lines may appear in between and are ignored.

use crate::run::lines;

/// One test result line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The test number as printed.
    pub number: usize,
    /// The test name, e.g. `mem::frame::alloc_free`.
    pub name: String,
    /// True for `ok`, false for `not ok`.
    pub ok: bool,
    /// The text after ` # `, if any (a failure reason or a directive such as `SKIP`).
    pub directive: Option<String>,
}

/// Everything KTAP-shaped found in a serial log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ktap {
    /// True when a `KTAP version 1` line was seen.
    pub version: bool,
    /// N from the first `1..N` plan line.
    pub plan: Option<usize>,
    /// The result lines, in order.
    pub cases: Vec<Case>,
    /// (passed, failed) from the `# ktest:` summary line.
    pub summary: Option<(usize, usize)>,
}

impl Ktap {
    /// Parses the KTAP lines out of serial output.
    pub fn parse(serial: &str) -> Ktap {
        let mut k = Ktap::default();
        for line in lines(serial) {
            let line = line.trim_start();
            if line == "KTAP version 1" {
                k.version = true;
            } else if let Some(n) = line.strip_prefix("1..") {
                if k.plan.is_none() {
                    k.plan = n.trim().parse().ok();
                }
            } else if let Some(rest) = line.strip_prefix("# ktest:") {
                k.summary = k.summary.or_else(|| parse_summary(rest));
            } else if let Some(case) = parse_case(line) {
                k.cases.push(case);
            }
        }
        k
    }

    /// Number of `ok` cases.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.ok).count()
    }

    /// Number of `not ok` cases.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// Checks that the plan, the case lines and the summary agree: a plan of at least one test,
    /// exactly that many result lines numbered 1..N in order, and a summary matching the lines.
    /// A run that stopped early (crash, timeout) fails here even if every printed case passed.
    pub fn consistency(&self) -> Result<(), String> {
        if !self.version {
            return Err("no `KTAP version 1` line".into());
        }
        let plan = self.plan.ok_or("no `1..N` plan line")?;
        if plan == 0 {
            return Err("plan `1..0`: no test ran".into());
        }
        if self.cases.len() != plan {
            return Err(format!("plan 1..{plan} but {} result lines", self.cases.len()));
        }
        if let Some((i, c)) = self.cases.iter().enumerate().find(|(i, c)| c.number != i + 1) {
            return Err(format!("result line {} is numbered {}", i + 1, c.number));
        }
        let (p, f) = self.summary.ok_or("no `# ktest: P passed, F failed` summary")?;
        if (p, f) != (self.passed(), self.failed()) {
            return Err(format!(
                "summary says {p} passed, {f} failed; result lines say {} passed, {} failed",
                self.passed(),
                self.failed()
            ));
        }
        Ok(())
    }
}

fn parse_case(line: &str) -> Option<Case> {
    let (ok, rest) = if let Some(r) = line.strip_prefix("ok ") {
        (true, r)
    } else {
        (false, line.strip_prefix("not ok ")?)
    };
    let (number, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let number = number.parse().ok()?;
    let (name, directive) = match rest.split_once(" # ") {
        Some((n, d)) => (n, Some(d.trim().to_string())),
        None => (rest, None),
    };
    // "- name" is TAP's optional separator.
    let name = name.trim().trim_start_matches("- ").to_string();
    Some(Case { number, name, ok, directive })
}

/// Parses ` P passed, F failed`.
fn parse_summary(rest: &str) -> Option<(usize, usize)> {
    let (p, f) = rest.trim().split_once(',')?;
    let p = p.trim().strip_suffix("passed")?.trim().parse().ok()?;
    let f = f.trim().strip_suffix("failed")?.trim().parse().ok()?;
    Some((p, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "Damselfly 0.1.0 x86_64 (LWKT kernel)\r\n\
        KTAP version 1\r\n\
        1..3\r\n\
        ok 1 mem::frame::alloc_free\r\n\
        [info] some log line\r\n\
        # diagnostic about the next test\r\n\
        not ok 2 mem::heap::big # assertion failed: x == 2\r\n\
        ok 3 arch::x86_64::sse # SKIP no xsave\r\n\
        # ktest: 2 passed, 1 failed\r\n";

    #[test]
    fn parses_plan_cases_and_summary() {
        let k = Ktap::parse(GOOD);
        assert!(k.version);
        assert_eq!(k.plan, Some(3));
        assert_eq!(k.cases.len(), 3);
        assert_eq!(
            k.cases[0],
            Case { number: 1, name: "mem::frame::alloc_free".into(), ok: true, directive: None }
        );
        assert!(!k.cases[1].ok);
        assert_eq!(k.cases[1].directive.as_deref(), Some("assertion failed: x == 2"));
        assert_eq!(k.cases[2].name, "arch::x86_64::sse");
        assert_eq!(k.summary, Some((2, 1)));
        assert_eq!(k.consistency(), Ok(()));
    }

    #[test]
    fn short_run_is_inconsistent() {
        // The kernel died after the first test: the plan promised three.
        let out = "KTAP version 1\n1..3\nok 1 a\nfault: vector=14 name=#PF error=0x2 cpu=0\n";
        let e = Ktap::parse(out).consistency().unwrap_err();
        assert!(e.contains("plan 1..3 but 1 result lines"), "{e}");
    }

    #[test]
    fn missing_pieces_are_reported() {
        assert!(Ktap::parse("").consistency().unwrap_err().contains("KTAP version"));
        assert!(Ktap::parse("KTAP version 1\nok 1 a\n").consistency().unwrap_err().contains("plan"));
        let empty = "KTAP version 1\n1..0\n# ktest: 0 passed, 0 failed\n";
        assert!(Ktap::parse(empty).consistency().unwrap_err().contains("no test ran"));
        let no_summary = "KTAP version 1\n1..1\nok 1 a\n";
        assert!(Ktap::parse(no_summary).consistency().unwrap_err().contains("summary"));
    }

    #[test]
    fn lying_summary_and_bad_numbering_are_caught() {
        let out = "KTAP version 1\n1..2\nok 1 a\nnot ok 2 b\n# ktest: 2 passed, 0 failed\n";
        assert!(Ktap::parse(out).consistency().unwrap_err().contains("summary says 2 passed"));
        let out = "KTAP version 1\n1..2\nok 1 a\nok 1 b\n# ktest: 2 passed, 0 failed\n";
        assert!(Ktap::parse(out).consistency().unwrap_err().contains("numbered 1"));
    }

    #[test]
    fn ignores_lines_that_only_look_similar() {
        let k = Ktap::parse("okay then\nnot okay\nok x y\nnot ok\n");
        assert!(k.cases.is_empty());
    }
}
