//! `cargo xtask test`: host unit tests, then every QEMU scenario, then one summary whose last
//! line is `N passed, M failed`.

use crate::cargo_build::cargo;
use crate::image::build_all;
use crate::paths::{self, root};
use crate::qemu::{self, Boot, DEFAULT_MEM, TEST_TIMEOUT};
use crate::suite;
use crate::Result;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::thread;
use systests::check::Check;
use systests::run::Run;
use systests::scenarios::{self, Context, Scenario};
use systests::symbols::Symbols;

/// Serial lines shown when a scenario fails.
const TAIL_LINES: usize = 40;

/// Tallies and remembers every verdict as it is printed.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
}

impl Tally {
    fn record(&mut self, c: &Check) {
        println!("{c}");
        match c.result {
            Ok(()) => self.passed += 1,
            Err(_) => self.failed.push(c.name.clone()),
        }
    }
}

/// Runs everything; `Ok(false)` when anything failed.
pub fn run(host: bool, filters: &[String]) -> Result<bool> {
    let chosen: Vec<Scenario> = scenarios::all()
        .into_iter()
        .filter(|s| filters.is_empty() || filters.iter().any(|f| s.name.contains(f.as_str())))
        .collect();
    // The conformance suite is one more (long) boot per kernel: `suite` selects it alone.
    let with_suite = filters.is_empty() || filters.iter().any(|f| "suite".contains(f.as_str()));
    if chosen.is_empty() && !with_suite {
        // Selecting nothing must not look like success.
        return Err(format!("no scenario matches {filters:?}"));
    }
    let mut tally = Tally::default();
    if host {
        host_tests(&mut tally)?;
    }
    match build_all() {
        Ok(()) => {
            boot_scenarios(&chosen, &mut tally)?;
            if with_suite {
                conformance_suite(&mut tally);
            }
        }
        Err(e) => {
            tally.record(&Check::fail("build", e));
            for s in &chosen {
                tally.record(&Check::fail(format!("{}/exit", s.name), "not run: the build failed"));
            }
        }
    }
    println!();
    if !tally.failed.is_empty() {
        println!("failed:");
        for name in &tally.failed {
            println!("  {name}");
        }
    }
    println!("{} passed, {} failed", tally.passed, tally.failed.len());
    Ok(tally.failed.is_empty())
}

fn boot_scenarios(chosen: &[Scenario], tally: &mut Tally) -> Result<()> {
    let elf = paths::kernel_elf();
    let cx = Context {
        symbols: std::fs::read(&elf)
            .map_err(|e| format!("{}: {e}", elf.display()))
            .and_then(|bytes| Symbols::from_elf(&bytes)),
    };
    for s in chosen {
        let boot = Boot::of(s.image, s.smp, DEFAULT_MEM, s.cmdline);
        let log = paths::test_logs().join(format!("{}.log", s.name));
        let run = qemu::run_captured(&boot, TEST_TIMEOUT, &log)?;
        println!(
            "# {}: {} in {:.2} s (log: {})",
            s.name,
            run.ending(),
            run.elapsed.as_secs_f64(),
            log.display()
        );
        let checks = s.evaluate(&run, &cx);
        for c in &checks {
            tally.record(c);
        }
        if checks.iter().any(|c| !c.passed()) {
            dump_tail(&run);
        }
    }
    Ok(())
}

/// The conformance suite against Linux in QEMU: a check per case, per covered syscall, the
/// session and the known-failures list (the side-by-side report is left in target/conformance).
fn conformance_suite(tally: &mut Tally) {
    match suite::run(suite::Oracle::Qemu) {
        Ok((outcome, _)) => {
            for c in &outcome.checks {
                tally.record(c);
            }
            println!("# suite: {}", systests::suite::report::counts(&outcome, abi::linux::syscalls::TABLE));
            println!("# suite: side by side in {}", suite::report_path().display());
        }
        Err(e) => tally.record(&Check::fail("suite/oracle", e)),
    }
}

fn dump_tail(run: &Run) {
    let lines = run.lines();
    let from = lines.len().saturating_sub(TAIL_LINES);
    println!("  --- last {} serial lines ---", lines.len() - from);
    for l in &lines[from..] {
        println!("  | {l}");
    }
    if !run.stderr.trim().is_empty() {
        println!("  --- QEMU stderr ---");
        for l in run.stderr.lines() {
            println!("  | {l}");
        }
    }
}

/// One test binary's results.
#[derive(Debug, Default, PartialEq, Eq)]
struct Binary {
    passed: usize,
    failed: usize,
    failed_names: Vec<String>,
}

/// Parses libtest's stdout: `test NAME ... FAILED` lines and `test result:` totals.
fn parse_results(stdout: &str) -> Vec<Binary> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("test ").and_then(|l| l.strip_suffix(" ... FAILED")) {
            names.push(name.to_string());
        } else if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |what: &str| {
                rest.split(';').find_map(|part| {
                    part.trim()
                        .trim_start_matches(|c: char| !c.is_ascii_digit())
                        .strip_suffix(what)?
                        .trim()
                        .parse()
                        .ok()
                })
            };
            out.push(Binary {
                passed: count("passed").unwrap_or(0),
                failed: count("failed").unwrap_or(0),
                failed_names: std::mem::take(&mut names),
            });
        }
    }
    out
}

/// `Running unittests src/lib.rs (target/debug/deps/abi-1234)` -> `abi unittests src/lib.rs`;
/// `Doc-tests abi` -> `abi doc-tests`.
fn label(stderr_line: &str) -> Option<String> {
    let l = stderr_line.trim();
    if let Some(krate) = l.strip_prefix("Doc-tests ") {
        return Some(format!("{krate} doc-tests"));
    }
    let what = l.strip_prefix("Running ")?;
    let (what, path) = what.rsplit_once(" (")?;
    let file = path.trim_end_matches(')').rsplit('/').next()?;
    let krate = file.rsplit_once('-').map_or(file, |(k, _)| k);
    Some(format!("{krate} {what}"))
}

/// Runs `cargo test` on the default members (every crate that builds for the host).
fn host_tests(tally: &mut Tally) -> Result<()> {
    let mut child = cargo()
        .current_dir(root())
        .args(["test", "--no-fail-fast"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let stderr = child.stderr.take().expect("stderr was piped");
    // Echo cargo's progress so a slow build is visible; keep the binary names in order.
    let labels = thread::spawn(move || {
        let mut labels = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(std::io::Result::ok) {
            eprintln!("{line}");
            labels.extend(label(&line));
        }
        labels
    });
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout was piped"), &mut stdout)
        .map_err(|e| format!("reading cargo test output: {e}"))?;
    let status = child.wait().map_err(|e| format!("waiting for cargo test: {e}"))?;
    let labels = labels.join().unwrap_or_default();
    let results = parse_results(&stdout);
    for (i, b) in results.iter().enumerate() {
        let name =
            format!("host/{}", labels.get(i).cloned().unwrap_or_else(|| format!("test binary {}", i + 1)));
        tally.passed += b.passed;
        // One line per test binary: libtest already printed each test, and most are trivial.
        if b.failed == 0 && b.passed > 0 {
            println!("PASS {name} ({} tests)", b.passed);
        } else if b.failed > 0 {
            println!("# {name}: {} passed, {} failed", b.passed, b.failed);
        }
        for f in &b.failed_names {
            tally.record(&Check::fail(format!("{name}/{f}"), "failed"));
        }
        // Failures libtest counted but whose lines we did not see still count.
        for k in b.failed_names.len()..b.failed {
            tally.record(&Check::fail(format!("{name}/#{}", k + 1), "failed"));
        }
    }
    if results.is_empty() {
        // No `test result:` line at all would otherwise add nothing and look clean.
        tally.record(&Check::fail(
            "host/cargo-test",
            format!("no test results in cargo test's output ({status})"),
        ));
        return Ok(());
    }
    let failed: usize = results.iter().map(|b| b.failed).sum();
    if !status.success() && failed == 0 {
        tally.record(&Check::fail(
            "host/cargo-test",
            format!("cargo test failed ({status}) without a failing test: build error?"),
        ));
    }
    if failed > 0 {
        print_failures(&stdout);
    }
    Ok(())
}

/// libtest's `failures:` section: the panic messages of the failed tests.
fn print_failures(stdout: &str) {
    let mut on = false;
    for line in stdout.lines() {
        if line == "failures:" {
            on = true;
        } else if line.starts_with("test result: ") {
            on = false;
        }
        if on {
            println!("  | {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "\nrunning 3 tests\ntest a::x ... ok\ntest a::y ... FAILED\ntest a::z ... ignored\n\n\
        failures:\n\n---- a::y stdout ----\npanicked\n\nfailures:\n    a::y\n\n\
        test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\n\
        running 2 tests\ntest b ... ok\ntest c ... ok\n\n\
        test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";

    #[test]
    fn counts_each_binary() {
        let r = parse_results(OUT);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], Binary { passed: 1, failed: 1, failed_names: vec!["a::y".into()] });
        assert_eq!(r[1], Binary { passed: 2, failed: 0, failed_names: vec![] });
    }

    #[test]
    fn labels_test_binaries() {
        let l = "     Running unittests src/lib.rs (target/debug/deps/systests-712ea14022bb10c5)";
        assert_eq!(label(l).as_deref(), Some("systests unittests src/lib.rs"));
        assert_eq!(label("   Doc-tests abi").as_deref(), Some("abi doc-tests"));
        assert_eq!(label("   Compiling abi v0.1.0"), None);
    }
}
