//! `cargo xtask`: the one entry point to build, run, test and debug Damselfly.
//!
//! Arguments are parsed by hand: there are few, and a dependency would cost more than it saves.

mod bench;
mod boottime;
mod cargo_build;
mod conformance;
mod deps;
mod gdb;
mod guest_file;
mod image;
mod linux_kernel;
mod newc;
mod paths;
mod qemu;
mod run_program;
mod suite;
mod syscalls;
mod test;

use std::process::ExitCode;

/// Errors are messages for the person at the terminal.
pub type Result<T> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  build                                   build the loader, the kernel and the root images
  run [--smp N] [--mem SIZE] [-- ARGS]    boot in QEMU, serial console here (Ctrl-A X quits);
                                          ARGS are kernel command-line words
  run [--file HOST[:GUEST]]... [--kernel-args \"WORDS\"] [--smp N] [--mem SIZE] -- /PROG ARGS
                                          run PROG as PID 1 (console as its terminal) and exit
                                          with its status; each --file puts HOST in the image
                                          at GUEST (default /bin/<name>); kernel words default
                                          to log=warn
  test [--no-host] [SCENARIO...]          host unit tests, then every QEMU scenario, then the
                                          conformance suite (`suite` selects only it)
  conformance [--oracle qemu|host]        the syscall conformance suite on Linux (Debian's
                                          kernel in the same QEMU, or the host) and Damselfly,
                                          side by side
  gdb [--smp N] [--mem SIZE] [-- ARGS]    boot paused with a gdb stub on :1234
  bench [--runs N]                        the benchmark program on Damselfly and Linux in the
                                          same QEMU, N boots each (default 3), plainly and
                                          under -icount: table, target/bench/{bench.json,ratios.svg}
                                          and the README's table
  boottime [--runs N]                     time QEMU start to kernel banner (median of N)
  syscalls                                syscall coverage per ABI, from the lists in abi/";

/// Options common to the commands; each command accepts only its own.
#[derive(Debug, PartialEq, Eq)]
struct Opts {
    smp: u32,
    mem: String,
    runs: u32,
    no_host: bool,
    /// `--file` values, in order.
    files: Vec<String>,
    /// `--kernel-args` value.
    kernel_words: Option<String>,
    /// `--oracle` value.
    oracle: Option<String>,
    /// Words after `--`: kernel command-line words, or (when the first is an absolute path)
    /// the program `run` starts as PID 1 and its arguments.
    kernel_args: Vec<String>,
    /// Other words (test scenario filters).
    words: Vec<String>,
}

/// In a list of allowed options: free words (not starting with `-`) are accepted.
const WORDS: &str = "WORDS";

fn parse(args: &[String], allowed: &[&str]) -> Result<Opts> {
    let mut o = Opts {
        smp: 1,
        mem: qemu::DEFAULT_MEM.to_string(),
        runs: 5,
        no_host: false,
        files: Vec::new(),
        kernel_words: None,
        oracle: None,
        kernel_args: Vec::new(),
        words: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let flag = a.as_str();
        if flag == "--" && allowed.contains(&"--") {
            o.kernel_args = it.by_ref().cloned().collect();
        } else if !flag.starts_with('-') && allowed.contains(&WORDS) {
            o.words.push(a.clone());
        } else if !allowed.contains(&flag) {
            return Err(format!("unexpected argument `{a}`\n\n{USAGE}"));
        } else if flag == "--no-host" {
            o.no_host = true;
        } else {
            let v = it.next().ok_or(format!("{flag} needs a value"))?;
            let num = || v.parse::<u32>().ok().filter(|n| *n > 0).ok_or(format!("{flag}: bad number `{v}`"));
            match flag {
                "--smp" => o.smp = num()?,
                "--runs" => o.runs = num()?,
                "--mem" => o.mem = v.clone(),
                "--file" => o.files.push(v.clone()),
                "--kernel-args" => o.kernel_words = Some(v.clone()),
                "--oracle" => o.oracle = Some(v.clone()),
                _ => unreachable!("every allowed flag is handled"),
            }
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    match dispatch(cmd, rest) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Success or failure as an exit code.
fn verdict(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `run`: a program as PID 1 when the words after `--` start with an absolute path, else a
/// plain boot with those words as the kernel command line.
fn run(o: &Opts) -> Result<ExitCode> {
    if o.kernel_args.first().is_some_and(|w| w.starts_with('/')) {
        let status = run_program::run(&run_program::ProgramRun {
            smp: o.smp,
            mem: &o.mem,
            files: &o.files,
            kernel_words: o.kernel_words.as_deref(),
            program: &o.kernel_args,
        })?;
        return Ok(ExitCode::from(status));
    }
    if !o.files.is_empty() {
        return Err("--file needs a program to run: `-- /GUEST/PROG ARGS...`".into());
    }
    image::build_all()?;
    let mut words: Vec<&str> = o
        .kernel_words
        .iter()
        .flat_map(|w| w.split_whitespace())
        .chain(o.kernel_args.iter().map(String::as_str))
        .collect();
    // A plain boot ends at a shell: busybox sh as PID 1, unless the words say otherwise.
    if !words.iter().any(|w| w.starts_with("init=") || w.starts_with("ktest=")) {
        words.push("init=/bin/sh");
    }
    let status = qemu::run_interactive(&qemu::Boot::normal(o.smp, &o.mem, &words.join(" ")), false)?;
    // 33 is the kernel's "all well" exit, 39 the end of PID 1 (the shell's `exit`); 0 is
    // Ctrl-A X or a power-off.
    let init_end = abi::debug_exit::qemu_status(abi::debug_exit::INIT_EXIT);
    Ok(verdict(matches!(status, Some(0) | Some(33)) || status == Some(init_end)))
}

/// Runs one command; a failure exit code means it ran and reported the failure itself.
fn dispatch(cmd: &str, rest: &[String]) -> Result<ExitCode> {
    let boot = ["--smp", "--mem", "--"];
    match cmd {
        "build" => {
            parse(rest, &[])?;
            deps::ensure()?;
            image::build_all()?;
            Ok(ExitCode::SUCCESS)
        }
        "run" => {
            let o = parse(rest, &["--smp", "--mem", "--file", "--kernel-args", "--"])?;
            deps::ensure()?;
            run(&o)
        }
        "test" => {
            let o = parse(rest, &["--no-host", WORDS])?;
            deps::ensure()?;
            test::run(!o.no_host, &o.words).map(verdict)
        }
        "conformance" => {
            let o = parse(rest, &["--oracle"])?;
            let oracle = match o.oracle.as_deref() {
                None | Some("qemu") => suite::Oracle::Qemu,
                Some("host") => suite::Oracle::Host,
                Some(x) => return Err(format!("--oracle {x}: want qemu or host")),
            };
            deps::ensure()?;
            suite::command(oracle).map(verdict)
        }
        "gdb" => {
            let o = parse(rest, &boot)?;
            deps::ensure()?;
            image::build_all()?;
            gdb::run(&qemu::Boot::normal(o.smp, &o.mem, &o.kernel_args.join(" "))).map(verdict)
        }
        "bench" => {
            let runs = if rest.is_empty() { 3 } else { parse(rest, &["--runs"])?.runs };
            deps::ensure()?;
            image::build_all()?;
            bench::run(runs).map(verdict)
        }
        "boottime" => {
            let o = parse(rest, &["--runs"])?;
            deps::ensure()?;
            image::build_all()?;
            boottime::run(o.runs).map(verdict)
        }
        "syscalls" => {
            parse(rest, &[])?;
            Ok(verdict(syscalls::run()))
        }
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!("unknown command `{cmd}`\n\n{USAGE}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_boot_options_and_kernel_args() {
        let o = parse(
            &s(&["--smp", "4", "--mem", "1G", "--", "log=debug", "ktest=all"]),
            &["--smp", "--mem", "--"],
        )
        .unwrap();
        assert_eq!((o.smp, o.mem.as_str()), (4, "1G"));
        assert_eq!(o.kernel_args, ["log=debug", "ktest=all"]);
    }

    #[test]
    fn parses_a_program_run() {
        let allowed = ["--smp", "--mem", "--file", "--kernel-args", "--"];
        let o = parse(
            &s(&[
                "--file",
                "a",
                "--file",
                "b:/sbin/b",
                "--kernel-args",
                "log=info",
                "--",
                "/bin/a",
                "x",
                "--y",
            ]),
            &allowed,
        )
        .unwrap();
        assert_eq!(o.files, ["a", "b:/sbin/b"]);
        assert_eq!(o.kernel_words.as_deref(), Some("log=info"));
        assert_eq!(o.kernel_args, ["/bin/a", "x", "--y"]);
        assert!(parse(&s(&["--file"]), &allowed).is_err());
    }

    #[test]
    fn rejects_unknown_or_bad_options() {
        assert!(parse(&s(&["--smp"]), &["--smp"]).is_err());
        assert!(parse(&s(&["--smp", "0"]), &["--smp"]).is_err());
        assert!(parse(&s(&["--runs", "3"]), &["--smp"]).is_err());
        assert!(parse(&s(&["--", "x"]), &[]).is_err());
        assert!(parse(&s(&["crash"]), &["--no-host"]).is_err());
        assert_eq!(parse(&s(&["crash", "--no-host"]), &["--no-host", WORDS]).unwrap().words, ["crash"]);
    }
}
