//! `cargo xtask bench`: the benchmark program (tests/bench/bench.c) as PID 1 on Damselfly and
//! on Debian's Linux kernel, booted alternately with identical QEMU settings (TCG, `-cpu max`,
//! [`SMP`] CPUs, the same memory and the `conformance` image), first plainly and then under
//! instruction counting; medians and Damselfly/Linux ratios go to a table (printed and put in
//! the README), target/bench/bench.json and target/bench/ratios.svg.
//!
//! -smp 1 throughout: `-icount` needs single-threaded TCG, which runs all CPUs on one host
//! thread, and both modes should measure the same machine.

mod capture;
mod report;
mod results;
mod svg;

use crate::conformance;
use crate::guest_file::GuestFile;
use crate::linux_kernel;
use crate::paths::root;
use crate::qemu::{Boot, DEFAULT_MEM};
use crate::Result;
use results::{Sample, Series, KERNELS, MODES};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use systests::scenarios::Image;

/// CPUs of every benchmark boot.
pub const SMP: u32 = 1;
/// The longest one boot may take; a whole run on TCG takes well under a minute.
const TIMEOUT: Duration = Duration::from_secs(600);
/// The program's first line, to which the boot is timed.
const MARK: &str = "# bench: start";
/// Its last line: a run without it failed.
const DONE: &str = "# bench: done";
const PROGRAM: &str = "/bin/bench";

fn out_dir() -> PathBuf {
    root().join("target/bench")
}

/// Builds tests/bench/bench.c static with musl (when out of date); returns it with its place
/// in the image, /bin/bench.
pub fn program() -> Result<GuestFile> {
    let src = root().join("tests/bench/bench.c");
    let dir = out_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join("bench");
    if conformance::stale(&src, None, &out) {
        conformance::compile("musl-gcc", &src, &out)?;
    }
    Ok(GuestFile { host: out, guest: PROGRAM.trim_start_matches('/').into() })
}

fn boot(kernel: usize, icount: bool, vmlinux: &std::path::Path) -> Boot {
    let mut b = match kernel {
        0 => Boot::of(Image::Conformance, SMP, DEFAULT_MEM, &format!("log=warn init={PROGRAM}")),
        _ => Boot {
            kernel: vmlinux.to_path_buf(),
            // As the conformance oracle boots it (see suite.rs).
            ..Boot::of(
                Image::Conformance,
                SMP,
                DEFAULT_MEM,
                &format!("console=ttyS0 loglevel=1 panic=-1 no_timer_check rdinit={PROGRAM}"),
            )
        },
    };
    b.icount = icount;
    b
}

/// One boot's figures, plus the boot time when it means something (not under icount).
fn one(kernel: usize, mode: usize, run: u32, vmlinux: &std::path::Path) -> Result<Vec<Sample>> {
    let b = boot(kernel, mode == 1, vmlinux);
    let c = capture::run(&b, MARK, TIMEOUT)?;
    let log = out_dir().join(format!("{}-{}-{run}.log", KERNELS[kernel], MODES[mode]));
    fs::write(&log, &c.serial).map_err(|e| format!("{}: {e}", log.display()))?;
    if !c.serial.contains(DONE) {
        return Err(format!(
            "{} ({}) run {run} did not finish{}; serial in {}\nQEMU stderr: {}",
            KERNELS[kernel],
            MODES[mode],
            if c.timed_out { " (timed out)" } else { "" },
            log.display(),
            c.stderr.trim()
        ));
    }
    let mut samples = results::parse(&c.serial);
    if let (0, Some(t)) = (mode, c.to_mark) {
        let ms = t.as_secs_f64() * 1000.0;
        samples.insert(0, Sample { name: "boot_to_init".into(), value: ms, unit: "ms".into() });
    }
    eprintln!("xtask: bench: {} {} run {run}: {} figures", KERNELS[kernel], MODES[mode], samples.len());
    Ok(samples)
}

fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "unknown date".into())
}

fn write(path: PathBuf, text: &str) -> Result<()> {
    fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs everything (the images must be built) and writes the results.
pub fn run(runs: u32) -> Result<bool> {
    fs::create_dir_all(out_dir()).map_err(|e| format!("{}: {e}", out_dir().display()))?;
    let vmlinux = linux_kernel::vmlinux()?;
    let mut series: [[Series; 2]; 2] = Default::default();
    for (mode, name) in MODES.iter().enumerate() {
        eprintln!("xtask: bench: {name}: {runs} boots each, Damselfly and Linux alternating");
        for run in 1..=runs {
            for (kernel, s) in series[mode].iter_mut().enumerate() {
                let samples = one(kernel, mode, run, &vmlinux)?;
                // Every boot reports the same rows, or the medians would mix counts.
                if !s.rows.is_empty() && s.rows.iter().map(|r| &r.0).ne(samples.iter().map(|x| &x.name)) {
                    return Err(format!(
                        "{} ({name}) run {run} reported other rows than the boots before it; serial in target/bench",
                        KERNELS[kernel]
                    ));
                }
                s.add(&samples);
            }
        }
    }
    let rows = results::rows(&series);
    let date = today();
    let setup = report::Setup { date: &date, runs, smp: SMP, mem: DEFAULT_MEM };
    let table = report::table(&rows, &setup);
    write(out_dir().join("bench.json"), &report::json(&rows, &series, &setup))?;
    write(out_dir().join("ratios.svg"), &svg::chart(&rows))?;
    let readme = root().join("README.md");
    let text = fs::read_to_string(&readme).map_err(|e| format!("{}: {e}", readme.display()))?;
    write(readme, &report::splice_readme(&text, &report::readme_section(&table, &setup)))?;
    println!("{table}");
    println!("written: target/bench/bench.json, target/bench/ratios.svg, README.md ({})", report::MACHINE);
    Ok(true)
}
