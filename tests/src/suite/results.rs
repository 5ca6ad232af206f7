//! What the in-guest runner (tests/conformance/runner.c) printed: a KTAP line per case with the
//! case's output before it, a `# trace` line per case when it traced, and the busybox session
//! between its markers.

use crate::run::lines;
use std::collections::BTreeMap;

/// One case as the runner reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseResult {
    /// True for `ok`.
    pub pass: bool,
    /// How a failing case ended (`exit 1`, `killed by signal 11`, `timed out after 20 s`).
    pub how: String,
    /// The case's own output (its `# file:line:` diagnostics), without the `# ` prefix.
    pub output: Vec<String>,
}

/// The calls one case made, from its `# trace` line: number, a success seen, a failure seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallUse {
    pub nr: u32,
    pub ok: bool,
    pub err: bool,
}

/// The busybox session's output and how the shell ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    pub lines: Vec<String>,
    /// The text after `--- session end ` (`exit 0` when the script ran to its end).
    pub end: String,
}

/// Everything one boot of the runner reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunnerOutput {
    /// N of the `1..N` plan.
    pub plan: Option<usize>,
    /// Cases by label (`AREA-LIBC.CASE`), in the order they ran.
    pub cases: Vec<(String, CaseResult)>,
    /// The calls each traced case (and `session`) made.
    pub traces: BTreeMap<String, Vec<SyscallUse>>,
    pub session: Option<Session>,
    /// True when the runner's last line (`# runner done`) was seen.
    pub done: bool,
}

impl RunnerOutput {
    /// Parses a serial log. Lines the runner did not print (kernel messages) are ignored unless
    /// they fall inside the session, whose every line counts.
    pub fn parse(serial: &str) -> RunnerOutput {
        let mut out = RunnerOutput::default();
        let mut pending: Vec<String> = Vec::new();
        let mut session: Option<Vec<String>> = None;
        for line in lines(serial) {
            if let Some(s) = session.as_mut() {
                if let Some(end) = line.strip_prefix("--- session end ") {
                    out.session = Some(Session { lines: std::mem::take(s), end: end.to_string() });
                    session = None;
                } else {
                    s.push(line.to_string());
                }
                continue;
            }
            if line == "--- session begin" {
                session = Some(Vec::new());
            } else if line == "# runner done" {
                out.done = true;
            } else if let Some(rest) = line.strip_prefix("# trace ") {
                let mut words = rest.split_whitespace();
                let label = words.next().unwrap_or_default().to_string();
                out.traces.insert(label, words.filter_map(parse_use).collect());
            } else if let Some(d) = line.strip_prefix("# ") {
                pending.push(d.to_string());
            } else if line == "#" {
                pending.push(String::new());
            } else if let Some(n) = line.strip_prefix("1..").and_then(|n| n.parse().ok()) {
                out.plan.get_or_insert(n);
            } else if let Some((pass, rest)) = result_line(line) {
                let (label, how) = match rest.split_once(" # ") {
                    Some((l, h)) => (l, h.to_string()),
                    None => (rest, String::new()),
                };
                let output = std::mem::take(&mut pending);
                // The runner never gives a pass a reason: `ok ... # ...` is a garbled line.
                let pass = pass && how.is_empty();
                out.cases.push((label.to_string(), CaseResult { pass, how, output }));
            }
        }
        out
    }

    /// The result of the case `label`.
    pub fn case(&self, label: &str) -> Option<&CaseResult> {
        self.cases.iter().find(|(l, _)| l == label).map(|(_, r)| r)
    }
}

/// `ok N LABEL...` or `not ok N LABEL...` -> (pass, `LABEL...`).
fn result_line(line: &str) -> Option<(bool, &str)> {
    let (pass, rest) = if let Some(r) = line.strip_prefix("ok ") {
        (true, r)
    } else {
        (false, line.strip_prefix("not ok ")?)
    };
    let (num, rest) = rest.split_once(' ')?;
    num.parse::<usize>().ok()?;
    Some((pass, rest))
}

/// `NR:+-` -> a use.
fn parse_use(word: &str) -> Option<SyscallUse> {
    let (nr, flags) = word.split_once(':')?;
    Some(SyscallUse { nr: nr.parse().ok()?, ok: flags.contains('+'), err: flags.contains('-') })
}

/// `AREA-LIBC.CASE` -> (`AREA`, `LIBC`, `CASE`).
pub fn split_label(label: &str) -> Option<(&str, &str, &str)> {
    let (program, case) = label.split_once('.')?;
    let (area, libc) = program.rsplit_once('-')?;
    Some((area, libc, case))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "KTAP version 1\r\n1..3\r\nok 1 files-musl.open\r\n# trace files-musl.open 2:+ 257:- 60:+-\r\n\
        # files.c:10: open(\"x\") = -1\r\nnot ok 2 files-musl.rename # exit 1\r\n[WARN kernel] noise\r\n\
        not ok 3 files-glibc.hang # timed out after 20 s\r\n--- session begin\r\n== ls\r\n# not a diagnostic\r\n\
        --- session end exit 0\r\n# runner done\r\n";

    #[test]
    fn parses_cases_output_traces_and_session() {
        let r = RunnerOutput::parse(SERIAL);
        assert_eq!(r.plan, Some(3));
        assert!(r.done);
        assert_eq!(r.cases.len(), 3);
        assert!(r.case("files-musl.open").unwrap().pass);
        let rename = r.case("files-musl.rename").unwrap();
        assert!(!rename.pass);
        assert_eq!(rename.how, "exit 1");
        assert_eq!(rename.output, ["files.c:10: open(\"x\") = -1"]);
        assert_eq!(r.case("files-glibc.hang").unwrap().how, "timed out after 20 s");
        let t = &r.traces["files-musl.open"];
        assert_eq!(t[0], SyscallUse { nr: 2, ok: true, err: false });
        assert_eq!(t[1], SyscallUse { nr: 257, ok: false, err: true });
        assert_eq!(t[2], SyscallUse { nr: 60, ok: true, err: true });
        let s = r.session.unwrap();
        assert_eq!(s.lines, ["== ls", "# not a diagnostic"]);
        assert_eq!(s.end, "exit 0");
    }

    #[test]
    fn an_ok_line_with_a_reason_is_no_pass() {
        let r = RunnerOutput::parse("1..1\nok 1 a-musl.b # exit 1\n# runner done\n");
        assert!(!r.case("a-musl.b").unwrap().pass);
    }

    #[test]
    fn a_cut_off_run_is_not_done() {
        let r = RunnerOutput::parse("KTAP version 1\n1..5\nok 1 a-musl.b\n");
        assert!(!r.done);
        assert_eq!(r.cases.len(), 1);
        assert!(r.session.is_none());
    }

    #[test]
    fn labels_split_into_area_libc_case() {
        assert_eq!(split_label("dirs-glibc.rmdir_enotempty"), Some(("dirs", "glibc", "rmdir_enotempty")));
        assert_eq!(split_label("no-dot"), None);
    }
}
