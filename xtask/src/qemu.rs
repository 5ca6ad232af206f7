//! Every QEMU setting in one place, and the four ways QEMU is run: interactive, interactive
//! with the serial output also kept (teed), captured under a timeout, and watched until a line
//! appears.
//!
//! The guest ends QEMU through `isa-debug-exit` (status `(value << 1) | 1`); `-no-reboot` turns
//! a triple fault into exit status 0 instead of an endless reboot loop.

use crate::paths;
use crate::Result;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use systests::run::Run;
use systests::scenarios::Image;

/// Guest RAM unless `--mem` says otherwise.
pub const DEFAULT_MEM: &str = "512M";
/// Longest a test boot may take. TCG is slow and the machine shared; a healthy boot with all
/// in-kernel tests takes seconds.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a captured run is polled for its exit.
const POLL: Duration = Duration::from_millis(10);
/// How much of a teed run's serial output is kept: its end is what gets decoded.
const TEE_KEEP: usize = 64 * 1024;

/// One boot: what to load and how big a machine.
#[derive(Clone, Debug)]
pub struct Boot {
    /// What `-kernel` loads: Damselfly's loader, or Linux's vmlinux for the oracle.
    pub kernel: PathBuf,
    pub image: PathBuf,
    pub smp: u32,
    pub mem: String,
    pub cmdline: String,
    /// QEMU's instruction-count mode (`-icount shift=0,sleep=off`: the guest's clock advances
    /// 1 ns per instruction and skips idle time), which needs single-threaded TCG. The
    /// benchmarks use it as a noise-free second opinion.
    pub icount: bool,
}

impl Boot {
    /// The normal root image.
    pub fn normal(smp: u32, mem: &str, cmdline: &str) -> Boot {
        Boot::of(Image::Normal, smp, mem, cmdline)
    }

    /// Any image variant.
    pub fn of(image: Image, smp: u32, mem: &str, cmdline: &str) -> Boot {
        Boot {
            kernel: paths::loader_elf(),
            image: paths::image(image),
            smp,
            mem: mem.into(),
            cmdline: cmdline.into(),
            icount: false,
        }
    }

    /// The QEMU command line. `interactive` multiplexes the monitor onto the terminal so
    /// Ctrl-A X quits; `gdb` adds the stub on :1234 and starts the CPUs stopped.
    pub fn command(&self, interactive: bool, gdb: bool) -> Command {
        let mut c = Command::new("qemu-system-x86_64");
        c.args(["-machine", "q35"]);
        if self.icount {
            c.args(["-accel", "tcg,thread=single", "-icount", "shift=0,sleep=off"]);
        } else {
            c.args(["-accel", "tcg"]);
        }
        c.args(["-cpu", "max"]);
        c.args(["-m", &self.mem, "-smp", &self.smp.to_string()]);
        c.args(["-nodefaults", "-no-reboot", "-display", "none"]);
        c.args(["-serial", if interactive { "mon:stdio" } else { "stdio" }]);
        c.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        c.arg("-kernel").arg(&self.kernel);
        c.arg("-initrd").arg(&self.image);
        c.args(["-append", &self.cmdline]);
        if gdb {
            c.args(["-s", "-S"]);
        }
        c
    }
}

/// Runs QEMU on the terminal until it exits; returns its exit status.
pub fn run_interactive(boot: &Boot, gdb: bool) -> Result<Option<i32>> {
    let status = boot.command(true, gdb).status().map_err(|e| format!("cannot run QEMU: {e}"))?;
    Ok(status.code())
}

/// Runs QEMU on the terminal like [`run_interactive`] (stdin and Ctrl-A X stay with the
/// terminal), copying the serial output to our stdout as it arrives and keeping its last
/// [`TEE_KEEP`] bytes; returns QEMU's exit status and that output.
pub fn run_teed(boot: &Boot) -> Result<(Option<i32>, String)> {
    let mut child = boot
        .command(true, false)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run QEMU: {e}"))?;
    let mut serial = child.stdout.take().expect("stdout was piped");
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    let mut stdout = Some(std::io::stdout());
    loop {
        let n = match serial.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        // A closed stdout (`| head`) stops the copy, not the run: the status still counts.
        if let Some(out) = &mut stdout {
            if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                stdout = None;
            }
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * TEE_KEEP {
            kept.drain(..kept.len() - TEE_KEEP);
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for QEMU: {e}"))?;
    Ok((status.code(), String::from_utf8_lossy(&kept).into_owned()))
}

fn spawn_piped(boot: &Boot) -> Result<Child> {
    boot.command(false, false)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run QEMU: {e}"))
}

fn read_all(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error only cuts the log short; the checks then fail on what is missing.
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Boots under `timeout`, capturing the serial console; saves it to `log`.
pub fn run_captured(boot: &Boot, timeout: Duration, log: &Path) -> Result<Run> {
    let start = Instant::now();
    let mut child = spawn_piped(boot)?;
    let out = read_all(child.stdout.take().expect("stdout was piped"));
    let err = read_all(child.stderr.take().expect("stderr was piped"));
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| format!("waiting for QEMU: {e}"))? {
            break s;
        }
        if start.elapsed() >= timeout {
            timed_out = true;
            // Already exited is the only way kill fails here; wait() reports either way.
            let _ = child.kill();
            break child.wait().map_err(|e| format!("waiting for QEMU: {e}"))?;
        }
        thread::sleep(POLL);
    };
    let elapsed = start.elapsed();
    let run = Run {
        serial: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        status: if timed_out { None } else { status.code() },
        timed_out,
        elapsed,
    };
    save_log(log, boot, &run)?;
    Ok(run)
}

fn save_log(log: &Path, boot: &Boot, run: &Run) -> Result<()> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut text = format!("# {:?}\n# {}\n", boot.command(false, false), run.ending());
    text.push_str(&run.serial);
    if !run.stderr.is_empty() {
        text.push_str("\n# QEMU stderr:\n");
        text.push_str(&run.stderr);
    }
    fs::write(log, text).map_err(|e| format!("{}: {e}", log.display()))
}

/// Boots and returns the time from spawning QEMU to the first serial line starting with
/// `prefix`, then kills QEMU (the kernel would idle forever).
pub fn time_to_line(boot: &Boot, prefix: &str, timeout: Duration) -> Result<Duration> {
    let start = Instant::now();
    let mut child = spawn_piped(boot)?;
    let stdout = child.stdout.take().expect("stdout was piped");
    let err = read_all(child.stderr.take().expect("stderr was piped"));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n').map_while(std::io::Result::ok) {
            let seen = Instant::now();
            if tx.send((seen, String::from_utf8_lossy(&line).trim_matches('\r').to_string())).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let found = loop {
        let left = timeout.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok((at, line)) if line.starts_with(prefix) => break Ok(at - start),
            Ok((_, line)) => seen.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                break Err(format!("no `{prefix}` line within {timeout:?}"))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(format!("QEMU exited without a `{prefix}` line"))
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    found.map_err(|e| {
        format!("{e}\nserial:\n{}\nQEMU stderr:\n{}", seen.join("\n"), err.join().unwrap_or_default())
    })
}
