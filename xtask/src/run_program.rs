//! `cargo xtask run --file HOST[:GUEST] ... -- /GUEST/PROG ARGS...`: one static Linux program
//! as PID 1, with the console as its terminal, ending with the program's exit status.

use crate::guest_file::{self, GuestFile};
use crate::image;
use crate::qemu::{self, Boot};
use crate::Result;
use systests::init;

/// What to run and on what machine.
pub struct ProgramRun<'a> {
    pub smp: u32,
    pub mem: &'a str,
    /// `--file` values.
    pub files: &'a [String],
    /// `--kernel-args` value; `None` means [`init::DEFAULT_KERNEL_WORDS`].
    pub kernel_words: Option<&'a str>,
    /// The program's guest path, then its arguments.
    pub program: &'a [String],
}

/// Warns about what will certainly fail in the guest: a staged program that is not executable
/// or needs a dynamic linker.
fn preflight(files: &[GuestFile], prog: &str) -> Result<()> {
    let Some(f) = files.iter().find(|f| format!("/{}", f.guest) == prog) else { return Ok(()) };
    if f.mode()? & 0o111 == 0 {
        return Err(format!("{}: not executable (chmod +x it)", f.host.display()));
    }
    let bytes = std::fs::read(&f.host).map_err(|e| format!("{}: {e}", f.host.display()))?;
    if let Ok(elf) = goblin::elf::Elf::parse(&bytes) {
        if let Some(interp) = elf.interpreter {
            eprintln!(
                "xtask: warning: {} is dynamically linked (interpreter {interp}); only static binaries run yet",
                f.host.display()
            );
        }
    }
    Ok(())
}

/// The kernel command line of a run.
pub fn cmdline(kernel_words: Option<&str>, program: &[String]) -> Result<String> {
    let words: Vec<String> =
        kernel_words.unwrap_or(init::DEFAULT_KERNEL_WORDS).split_whitespace().map(String::from).collect();
    let (prog, args) = program.split_first().ok_or("no program to run: add `-- /GUEST/PROG ARGS`")?;
    init::cmdline(&words, prog, args)
}

/// Builds, boots and returns the program's status (128 + N when signal N killed it).
pub fn run(r: &ProgramRun) -> Result<u8> {
    let files = r.files.iter().map(|f| guest_file::parse(f)).collect::<Result<Vec<_>>>()?;
    let cmdline = cmdline(r.kernel_words, r.program)?;
    preflight(&files, &r.program[0])?;
    let image = image::build_with_files(&files)?;
    let boot = Boot {
        kernel: crate::paths::loader_elf(),
        image,
        smp: r.smp,
        mem: r.mem.into(),
        cmdline,
        icount: false,
    };
    eprintln!("xtask: kernel command line: {}", boot.cmdline);
    let (status, serial) = qemu::run_teed(&boot)?;
    init::decode(&serial, status).map(init::InitEnd::shell_status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_and_given_kernel_words() {
        let p = s(&["/bin/echo", "a b"]);
        assert_eq!(cmdline(None, &p).unwrap(), r#"log=warn init=/bin/echo -- "a b""#);
        assert_eq!(
            cmdline(Some("log=debug  ktrace"), &p).unwrap(),
            r#"log=debug ktrace init=/bin/echo -- "a b""#
        );
        assert_eq!(cmdline(Some(""), &s(&["/bin/true"])).unwrap(), "init=/bin/true");
        assert!(cmdline(None, &[]).is_err());
    }

    #[test]
    fn refuses_a_program_that_cannot_run() {
        let dir = std::env::temp_dir().join(format!("xtask-preflight-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let host = dir.join("data");
        std::fs::write(&host, b"not a program").unwrap();
        let files = [GuestFile { host: host.clone(), guest: "bin/data".into() }];
        assert!(preflight(&files, "/bin/data").unwrap_err().contains("not executable"));
        assert!(preflight(&files, "/bin/other").is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
