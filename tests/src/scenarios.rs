//! The QEMU boots `cargo xtask test` runs and how each one is judged.

use crate::check::Check;
use crate::fault::{self, FaultSpec};
use crate::ktap::Ktap;
use crate::run::{lines, Run};
use crate::symbols::Symbols;
use abi::debug_exit::{qemu_status, FAILURE, LOADER_FAILURE, SUCCESS};

/// Which root image a scenario boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// The real image: kernel and rootfs.
    Normal,
    /// `boot/kernel/kernel` is 64 KiB of pseudo-random bytes.
    Garbage,
    /// `boot/kernel/kernel` is the first third of the real kernel.
    Truncated,
    /// There is no `boot/kernel/kernel`.
    Missing,
    /// The real image plus the programs of tests/conformance at `/bin/NAME-musl` and
    /// `/bin/NAME-glibc`.
    Conformance,
}

impl Image {
    /// Every variant, the normal one first.
    pub const ALL: [Image; 5] =
        [Image::Normal, Image::Garbage, Image::Truncated, Image::Missing, Image::Conformance];

    /// The variant's name: its archive is `target/image/<name>.cpio`.
    pub fn name(self) -> &'static str {
        match self {
            Image::Normal => "root",
            Image::Garbage => "garbage",
            Image::Truncated => "truncated",
            Image::Missing => "missing",
            Image::Conformance => "conformance",
        }
    }
}

/// What checks may consult besides the run itself.
#[derive(Clone, Debug)]
pub struct Context {
    /// The kernel ELF's symbols as read on the host, or why they could not be read.
    pub symbols: Result<Symbols, String>,
}

impl Context {
    /// The symbols, or the reason they are missing.
    pub fn symbols(&self) -> Result<&Symbols, &str> {
        self.symbols.as_ref().map_err(String::as_str)
    }
}

/// Checks a run; the first argument is the scenario name, the prefix of every case name.
pub type CheckFn = fn(&str, &Run, &Context) -> Vec<Check>;

/// One QEMU boot and its verdicts.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Name, used for case names and the log file `target/test-logs/<name>.log`.
    pub name: &'static str,
    /// The root image to boot.
    pub image: Image,
    /// Number of CPUs (`-smp`).
    pub smp: u32,
    /// Kernel command line.
    pub cmdline: &'static str,
    /// The QEMU exit status the run must end with.
    pub exit: i32,
    /// The scenario's own checks (the exit status is checked for every scenario).
    pub check: CheckFn,
}

impl Scenario {
    /// Every verdict on a run: the exit status first, then the scenario's checks.
    pub fn evaluate(&self, run: &Run, cx: &Context) -> Vec<Check> {
        let exit = if !run.timed_out && run.status == Some(self.exit) {
            Ok(())
        } else {
            Err(format!("expected exit status {}, got {}", self.exit, run.ending()))
        };
        let mut out = vec![Check::new(format!("{}/exit", self.name), exit)];
        out.extend((self.check)(self.name, run, cx));
        out
    }
}

/// Every scenario, in the order they run.
pub fn all() -> Vec<Scenario> {
    let ok = qemu_status(SUCCESS);
    let fail = qemu_status(FAILURE);
    let loader = qemu_status(LOADER_FAILURE);
    let normal =
        |name, smp, cmdline, exit, check| Scenario { name, image: Image::Normal, smp, cmdline, exit, check };
    let bad_image = |name, image, check| Scenario { name, image, smp: 1, cmdline: "", exit: loader, check };
    let mut out = vec![
        normal("ktest-smp1", 1, "ktest=all", ok, ktest),
        normal("ktest-smp2", 2, "ktest=all", ok, ktest),
        normal("ktest-smp4", 4, "ktest=all", ok, ktest),
        normal("crash-pagefault", 1, "crash=pagefault", fail, crash_pagefault),
        normal("crash-divide", 1, "crash=divide", fail, crash_divide),
        normal("crash-overflow", 1, "crash=overflow", fail, crash_overflow),
        normal("crash-consolelock", 1, "crash=consolelock", fail, crash_consolelock),
        bad_image("loader-garbage", Image::Garbage, loader_not_elf),
        bad_image("loader-truncated", Image::Truncated, loader_truncated),
        bad_image("loader-missing", Image::Missing, loader_not_found),
    ];
    out.extend(crate::conformance::scenarios());
    out
}

/// The boot lines every kernel prints, then one case per KTAP result and a consistency check.
fn ktest(prefix: &str, run: &Run, _: &Context) -> Vec<Check> {
    let mut out = vec![Check::new(format!("{prefix}/boot-lines"), boot_lines(run))];
    if let Some(n) = prefix.strip_prefix("ktest-smp").and_then(|n| n.parse::<u32>().ok()) {
        out.push(Check::new(format!("{prefix}/cpus-online"), cpus_online(run, n)));
    }
    let k = Ktap::parse(&run.serial);
    out.push(Check::new(format!("{prefix}/ktap"), k.consistency()));
    for c in &k.cases {
        let why = || c.directive.clone().unwrap_or_else(|| "not ok".into());
        out.push(Check::new(format!("{prefix}/{}", c.name), if c.ok { Ok(()) } else { Err(why()) }));
    }
    out
}

/// The kernel started every CPU QEMU gave it: `smp: N CPUs online` with N = `-smp`.
fn cpus_online(run: &Run, smp: u32) -> Result<(), String> {
    let want = format!("smp: {smp} CPUs online");
    match run.lines().iter().find(|l| l.starts_with("smp: ") && l.contains("CPUs online")) {
        Some(l) if *l == want => Ok(()),
        Some(l) => Err(format!("`{l}`, expected `{want}`")),
        None => Err(format!("no `{want}` line")),
    }
}

fn boot_lines(run: &Run) -> Result<(), String> {
    let all = run.lines();
    let missing: Vec<&str> = ["Damselfly ", "phys: ", "cpu: "]
        .into_iter()
        .filter(|p| !all.iter().any(|l| l.starts_with(p)))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("no line starting with {missing:?}"))
    }
}

fn crash_pagefault(p: &str, run: &Run, cx: &Context) -> Vec<Check> {
    let mut out = fault::check(p, &run.serial, FaultSpec { vector: Some(14), needs_fn: true }, cx.symbols());
    out.push(Check::new(format!("{p}/console"), console_line(run, "locked")));
    out
}

/// The kernel says whether the report took the console lock or had to write around it.
fn console_line(run: &Run, how: &str) -> Result<(), String> {
    let want = format!("fault: console={how}");
    match run.lines().iter().find(|l| l.starts_with("fault: console=")) {
        Some(l) if *l == want => Ok(()),
        Some(l) => Err(format!("`{l}`, expected `{want}`")),
        None => Err(format!("no `{want}` line")),
    }
}

fn crash_divide(p: &str, run: &Run, cx: &Context) -> Vec<Check> {
    fault::check(p, &run.serial, FaultSpec { vector: Some(0), needs_fn: true }, cx.symbols())
}

/// Running off the boot stack hits its guard page; the #PF cannot be pushed on the same stack,
/// so it becomes a double fault taken on its IST stack.
fn crash_overflow(p: &str, run: &Run, cx: &Context) -> Vec<Check> {
    fault::check(p, &run.serial, FaultSpec { vector: Some(8), needs_fn: true }, cx.symbols())
}

/// The kernel takes the console lock and never releases it, then faults: the report must
/// still get out, and say it wrote around the lock.
fn crash_consolelock(p: &str, run: &Run, cx: &Context) -> Vec<Check> {
    let mut out = fault::check(p, &run.serial, FaultSpec { vector: Some(14), needs_fn: true }, cx.symbols());
    out.push(Check::new(format!("{p}/console"), console_line(run, "bypassed")));
    out
}

fn loader_not_elf(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    vec![Check::new(format!("{p}/message"), loader_error(run, "not an ELF"))]
}

fn loader_truncated(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    vec![Check::new(format!("{p}/message"), loader_error(run, "truncated"))]
}

fn loader_not_found(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    vec![Check::new(format!("{p}/message"), loader_error(run, "not found"))]
}

/// The loader must explain itself and must not have started a kernel.
fn loader_error(run: &Run, reason: &str) -> Result<(), String> {
    let all = lines(&run.serial);
    if all.iter().any(|l| l.starts_with("Damselfly ")) {
        return Err("the kernel started from a broken image".into());
    }
    let errors: Vec<&&str> = all.iter().filter(|l| l.starts_with("loader: error:")).collect();
    match errors.first() {
        None => Err("no `loader: error:` line".into()),
        Some(_) if errors.iter().any(|l| l.contains(reason)) => Ok(()),
        Some(l) => Err(format!("`{l}` does not say `{reason}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn scenario(name: &str) -> Scenario {
        all().into_iter().find(|s| s.name == name).unwrap()
    }

    fn run(serial: &str, status: i32) -> Run {
        Run { serial: serial.into(), status: Some(status), ..Run::default() }
    }

    fn cx() -> Context {
        Context { symbols: Err("not needed".into()) }
    }

    fn failed(s: &Scenario, r: &Run) -> Vec<String> {
        s.evaluate(r, &cx()).into_iter().filter(|c| !c.passed()).map(|c| c.to_string()).collect()
    }

    const KTAP_OK: &str =
        "Damselfly 0.1.0 x86_64 (LWKT kernel)\nphys: 130000 free\ncpu: GenuineIntel\nsmp: 1 CPUs online\n\
        KTAP version 1\n1..2\nok 1 a::b\nok 2 c::d\n# ktest: 2 passed, 0 failed\n";

    #[test]
    fn names_are_unique_and_cover_the_required_boots() {
        let names: Vec<_> = all().iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        let smps: Vec<_> = all().iter().filter(|s| s.cmdline == "ktest=all").map(|s| s.smp).collect();
        assert_eq!(smps, [1, 2, 4]);
        assert!(all().iter().all(|s| s.exit != 0));
        assert!(all().iter().any(|s| s.name.starts_with("conformance-")));
    }

    #[test]
    fn clean_ktest_run_passes_and_counts_each_case() {
        let s = scenario("ktest-smp1");
        let c = s.evaluate(&run(KTAP_OK, 33), &cx());
        let names: Vec<_> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ktest-smp1/exit",
                "ktest-smp1/boot-lines",
                "ktest-smp1/cpus-online",
                "ktest-smp1/ktap",
                "ktest-smp1/a::b",
                "ktest-smp1/c::d"
            ]
        );
        assert!(c.iter().all(Check::passed));
    }

    #[test]
    fn exit_zero_fails_even_with_perfect_output() {
        let f = failed(&scenario("ktest-smp1"), &run(KTAP_OK, 0));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].starts_with("FAIL ktest-smp1/exit: expected exit status 33, got exit status 0"),
            "{f:?}"
        );
    }

    #[test]
    fn timeout_and_short_ktap_fail() {
        let short = "Damselfly 0.1.0\nphys: x\ncpu: y\nKTAP version 1\n1..2\nok 1 a::b\n";
        let r =
            Run { serial: short.into(), timed_out: true, elapsed: Duration::from_secs(60), ..Run::default() };
        let f = failed(&scenario("ktest-smp4"), &r);
        assert!(f.iter().any(|f| f.contains("timed out after 60 s")), "{f:?}");
        assert!(f.iter().any(|f| f.contains("plan 1..2 but 1 result lines")), "{f:?}");
        // No KTAP at all.
        let f = failed(&scenario("ktest-smp1"), &run("Damselfly 0.1.0\n", 33));
        assert!(f.iter().any(|f| f.contains("ktap")), "{f:?}");
        assert!(f.iter().any(|f| f.contains("boot-lines")), "{f:?}");
    }

    #[test]
    fn failing_kernel_test_fails_by_name() {
        let out = KTAP_OK
            .replace("ok 2 c::d", "not ok 2 c::d # left != right")
            .replace("2 passed, 0", "1 passed, 1");
        let f = failed(&scenario("ktest-smp1"), &run(&out, 35));
        assert!(f.contains(&"FAIL ktest-smp1/c::d: left != right".to_string()), "{f:?}");
    }

    #[test]
    fn missing_cpus_fail_the_smp_run() {
        let f = failed(&scenario("ktest-smp4"), &run(&KTAP_OK.replace("smp: 1", "smp: 3"), 33));
        assert_eq!(f, ["FAIL ktest-smp4/cpus-online: `smp: 3 CPUs online`, expected `smp: 4 CPUs online`"]);
        assert!(failed(&scenario("ktest-smp1"), &run(KTAP_OK, 33)).is_empty());
    }

    #[test]
    fn crash_needs_exit_35_exactly() {
        let f = failed(&scenario("crash-divide"), &run("", 33));
        assert!(f[0].contains("expected exit status 35, got exit status 33"), "{f:?}");
    }

    #[test]
    fn loader_scenarios_need_the_named_reason_and_exit_37() {
        let s = scenario("loader-garbage");
        let good = "loader: Damselfly loader\nloader: error: boot/kernel/kernel: not an ELF (bad magic)\n";
        assert_eq!(failed(&s, &run(good, 37)), Vec::<String>::new());
        assert_eq!(failed(&s, &run(good, 0)).len(), 1);
        let wrong = "loader: error: kernel truncated\n";
        assert!(failed(&s, &run(wrong, 37))[0].contains("does not say `not an ELF`"));
        assert!(failed(&s, &run("", 37))[0].contains("no `loader: error:`"));
        let started = format!("{good}Damselfly 0.1.0\n");
        assert!(failed(&s, &run(&started, 37))[0].contains("kernel started"));
        let s = scenario("loader-missing");
        assert_eq!(
            failed(&s, &run("loader: error: boot/kernel/kernel not found\r\n", 37)),
            Vec::<String>::new()
        );
    }
}
