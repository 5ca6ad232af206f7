//! `cargo xtask conformance`: the syscall conformance suite on the oracle and on Damselfly.
//!
//! The oracle is Debian's Linux kernel booted in the same QEMU (same machine, CPU model, memory,
//! CPUs and root image) as Damselfly: once plainly, whose results judge the tests themselves,
//! and once with the runner tracing every case's syscalls, which gives the coverage report.
//! Linux's runs depend only on the suite's programs, the root image's files and the kernel, so
//! they are kept under target/conformance and reused while those stay the same. `--oracle host`
//! runs the cases on the host instead, as a quick check (no busybox session there).

use crate::linux_kernel;
use crate::paths::{self, root};
use crate::qemu::{self, Boot, DEFAULT_MEM};
use crate::Result;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;
use systests::run::Run;
use systests::scenarios::Image;
use systests::suite::results::RunnerOutput;
use systests::suite::verdict::{judge, Inputs, Outcome};
use systests::suite::{known, report, session};

/// Where the oracle runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Oracle {
    Qemu,
    Host,
}

/// CPUs of every suite boot: the threads and futex cases want two.
pub const SMP: u32 = 2;
/// A whole suite run on TCG takes a few minutes at most; a hung case costs the runner's 20 s.
const TIMEOUT: Duration = Duration::from_secs(1200);
const RUNNER: &str = "/bin/runner-musl";
const SESSION: &str = "/etc/session.sh";

fn out_dir() -> PathBuf {
    root().join("target/conformance")
}

/// The report of the last run.
pub fn report_path() -> PathBuf {
    out_dir().join("report.txt")
}

/// The last run's per-syscall coverage, for `cargo xtask syscalls`: one line per call the
/// suite made, `NAME<TAB>covered|GAP<TAB>PASSING/CASES`.
pub fn coverage_path() -> PathBuf {
    out_dir().join("coverage.tsv")
}

fn has_session() -> bool {
    root().join("rootfs").join(SESSION.trim_start_matches('/')).exists()
}

/// The runner's arguments after `--`.
fn runner_args(trace: bool, session: bool) -> String {
    let mut a = String::new();
    if trace {
        a.push_str(" --trace");
    }
    if session {
        a.push_str(" --session ");
        a.push_str(SESSION);
    }
    a
}

fn damselfly_boot(session: bool) -> Boot {
    let cmdline = format!("log=warn init={RUNNER} --{}", runner_args(false, session));
    Boot::of(Image::Conformance, SMP, DEFAULT_MEM, &cmdline)
}

/// Linux's words: the serial console, no kernel chatter, power-off at a panic; no_timer_check
/// because on a loaded host TCG can delay the IO-APIC timer enough for Linux's check of it to
/// panic at boot.
fn linux_boot(vmlinux: &Path, trace: bool, session: bool) -> Boot {
    let cmdline = format!(
        "console=ttyS0 loglevel=1 panic=-1 no_timer_check rdinit={RUNNER} --{}",
        runner_args(trace, session)
    );
    Boot { kernel: vmlinux.to_path_buf(), ..Boot::of(Image::Conformance, SMP, DEFAULT_MEM, &cmdline) }
}

fn hash_tree(h: &mut DefaultHasher, p: &Path) {
    if let Ok(entries) = fs::read_dir(p) {
        let mut v: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        v.sort();
        for e in v {
            hash_tree(h, &e);
        }
    } else if let Ok(bytes) = fs::read(p) {
        p.hash(h);
        bytes.hash(h);
    }
}

/// What Linux's results depend on: the suite's programs, the runner, the image's files (the
/// tree and the host's busybox), the kernel, QEMU's version and the whole QEMU command line.
fn cache_key(boot: &Boot) -> String {
    let mut h = DefaultHasher::new();
    hash_tree(&mut h, &out_dir().join("suite"));
    hash_tree(&mut h, &out_dir().join("runner-musl"));
    hash_tree(&mut h, &root().join("rootfs"));
    hash_tree(&mut h, Path::new("/bin/busybox"));
    if let Ok(m) = fs::metadata(&boot.kernel) {
        (m.len(), m.modified().ok()).hash(&mut h);
    }
    let qemu =
        Command::new("qemu-system-x86_64").arg("--version").output().map(|o| o.stdout).unwrap_or_default();
    qemu.hash(&mut h);
    format!("{:?}", boot.command(false, false)).hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Linux's run for `boot`, from the cache when its key matches and the kept serial output is
/// a finished run. The key is written last, after the output, and removed before a new boot,
/// so an interrupted run is never reused.
fn linux_run(boot: &Boot, name: &str) -> Result<String> {
    let log = out_dir().join(format!("{name}.log"));
    let serial_file = out_dir().join(format!("{name}.serial"));
    let key_file = out_dir().join(format!("{name}.key"));
    let key = cache_key(boot);
    if fs::read_to_string(&key_file).is_ok_and(|k| k == key) {
        if let Ok(text) = fs::read_to_string(&serial_file) {
            if RunnerOutput::parse(&text).done {
                eprintln!("xtask: {name}: reusing {} (nothing it depends on changed)", serial_file.display());
                return Ok(text);
            }
        }
    }
    let _ = fs::remove_file(&key_file);
    eprintln!("xtask: {name}: booting Linux ({})", boot.kernel.display());
    let run = qemu::run_captured(boot, TIMEOUT, &log)?;
    eprintln!("xtask: {name}: {} in {:.1} s", run.ending(), run.elapsed.as_secs_f64());
    if RunnerOutput::parse(&run.serial).done {
        fs::write(&serial_file, &run.serial).map_err(|e| format!("{}: {e}", serial_file.display()))?;
        fs::write(&key_file, &key).map_err(|e| format!("{}: {e}", key_file.display()))?;
    }
    Ok(run.serial)
}

/// The runner on the host, on the freshly built programs.
fn host_run(trace: bool) -> Result<String> {
    let mut c = Command::new(out_dir().join("runner-musl"));
    c.arg("--dir").arg(out_dir().join("suite"));
    if trace {
        c.arg("--trace");
    }
    let o = c.output().map_err(|e| format!("cannot run the runner on the host: {e}"))?;
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Runs the suite (the images must be built) and judges it.
pub fn run(oracle: Oracle) -> Result<(Outcome, String)> {
    let session = oracle == Oracle::Qemu && has_session();
    fs::create_dir_all(out_dir()).map_err(|e| format!("{}: {e}", out_dir().display()))?;
    // Every boot is started and waited for before any error is passed on: none is left
    // running behind an early return.
    let vmlinux = match oracle {
        Oracle::Qemu => Some(linux_kernel::vmlinux()?),
        Oracle::Host => None,
    };
    let dboot = damselfly_boot(session);
    let dlog = paths::test_logs().join("suite-damselfly.log");
    let damselfly = thread::spawn(move || qemu::run_captured(&dboot, TIMEOUT, &dlog));
    let oracle_runs = match &vmlinux {
        Some(vmlinux) => {
            // The traced run is the long one: it goes beside the other two.
            let tboot = linux_boot(vmlinux, true, session);
            let traced = thread::spawn(move || linux_run(&tboot, "linux-traced"));
            let plain = linux_run(&linux_boot(vmlinux, false, session), "linux");
            let traced = traced.join().map_err(|_| "the traced Linux boot thread panicked".to_string());
            plain.and_then(|p| Ok((p, traced??)))
        }
        None => host_run(false).and_then(|p| Ok((p, host_run(true)?))),
    };
    let drun = damselfly.join().map_err(|_| "the Damselfly boot thread panicked".to_string());
    let (plain, traced) = oracle_runs?;
    let drun: Run = drun??;
    eprintln!("xtask: damselfly: {} in {:.1} s", drun.ending(), drun.elapsed.as_secs_f64());
    let known_path = root().join("tests/conformance/known-failures.txt");
    let patterns_path = root().join("tests/conformance/session-patterns.txt");
    let (linux, traced, dfly) =
        (RunnerOutput::parse(&plain), RunnerOutput::parse(&traced), RunnerOutput::parse(&drun.serial));
    let outcome = judge(&Inputs {
        linux: &linux,
        traced: Some(&traced),
        damselfly: &dfly,
        known: fs::read_to_string(&known_path)
            .map_err(|e| format!("{}: {e}", known_path.display()))
            .and_then(|t| known::parse(&t)),
        patterns: &session::parse_patterns(&fs::read_to_string(&patterns_path).unwrap_or_default()),
        table: abi::linux::syscalls::TABLE,
    });
    let tsv: String = outcome
        .coverage
        .iter()
        .map(|c| {
            let gap = c.gap(&systests::conformance::LIBCS).unwrap_or_else(|| "covered".into());
            format!("{}\t{gap}\t{}/{}\n", c.name, c.passing_on_damselfly, c.cases.len())
        })
        .collect();
    fs::write(coverage_path(), tsv).map_err(|e| format!("{}: {e}", coverage_path().display()))?;
    let text = report::render(&outcome, abi::linux::syscalls::TABLE);
    fs::write(report_path(), &text).map_err(|e| format!("{}: {e}", report_path().display()))?;
    Ok((outcome, text))
}

/// `cargo xtask conformance`: prints the side-by-side report and every failing check.
pub fn command(oracle: Oracle) -> Result<bool> {
    crate::image::build_all()?;
    let (outcome, text) = run(oracle)?;
    print!("{text}");
    let failed: Vec<_> = outcome.checks.iter().filter(|c| !c.passed()).collect();
    println!();
    for c in &failed {
        println!("{c}");
    }
    println!("{}", report::counts(&outcome, abi::linux::syscalls::TABLE));
    println!(
        "{} checks passed, {} failed (report: {})",
        outcome.checks.len() - failed.len(),
        failed.len(),
        report_path().display()
    );
    Ok(failed.is_empty())
}
