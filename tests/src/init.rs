//! Running a program as PID 1: the kernel command line that asks for it, and how its end is
//! read back from the serial console.
//!
//! The command line is `KERNEL-WORDS init=PROG -- ARG...`. The kernel splits it at whitespace
//! the way Linux does: a word that starts with `"` runs to the next `"`, and the quotes are
//! dropped, so an argument holding spaces travels as `"b c"`. There is no escape for a `"`
//! inside an argument. When PID 1 ends the kernel prints [`INIT_EXIT_PREFIX`]` N` or
//! [`INIT_KILLED_PREFIX`]` N` and ends QEMU with [`INIT_EXIT`].

use abi::boot::CMDLINE_MAX;
use abi::debug_exit::{qemu_status, FAILURE, INIT_EXIT, INIT_EXIT_PREFIX, INIT_KILLED_PREFIX};

/// Kernel words a program run gets unless the user gives their own: quiet, so the program's
/// output is what the console shows.
pub const DEFAULT_KERNEL_WORDS: &str = "log=warn";

/// One command-line word for an argument: as is, or in double quotes when it holds whitespace
/// (or is empty). An argument holding `"` or a control character cannot be passed.
pub fn quote(arg: &str) -> Result<String, String> {
    if arg.contains('"') || arg.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "argument {arg:?}: the kernel command line cannot carry `\"` or control characters"
        ));
    }
    if arg.is_empty() || arg.contains(char::is_whitespace) {
        Ok(format!("\"{arg}\""))
    } else {
        Ok(arg.to_string())
    }
}

/// The kernel command line that runs `prog` as PID 1 with `args` (argv[1..]).
pub fn cmdline(kernel_words: &[String], prog: &str, args: &[String]) -> Result<String, String> {
    if !prog.starts_with('/') || prog.contains(char::is_whitespace) || prog.contains('"') {
        return Err(format!("program `{prog}`: must be an absolute guest path without spaces or quotes"));
    }
    if let Some(w) = kernel_words.iter().find(|w| w.starts_with("init=") || *w == "--") {
        return Err(format!("kernel word `{w}`: the program and its arguments go after `--`"));
    }
    let mut words: Vec<String> = kernel_words.to_vec();
    words.push(format!("init={prog}"));
    if !args.is_empty() {
        words.push("--".into());
        for a in args {
            words.push(quote(a)?);
        }
    }
    let line = words.join(" ");
    if line.len() > CMDLINE_MAX {
        return Err(format!(
            "the kernel command line is {} bytes, more than the {CMDLINE_MAX} it can hold",
            line.len()
        ));
    }
    Ok(line)
}

/// How PID 1 ended, as the kernel reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitEnd {
    /// `exit(N)`.
    Exited(u8),
    /// Killed by signal N.
    Killed(u8),
}

impl InitEnd {
    /// The status a shell would give: N, or 128 + signal.
    pub fn shell_status(self) -> u8 {
        match self {
            InitEnd::Exited(n) => n,
            InitEnd::Killed(s) => 128u8.saturating_add(s),
        }
    }
}

/// The number right after the last `prefix` in `serial`.
fn last_number(serial: &str, prefix: &str) -> Option<(usize, Result<u8, String>)> {
    let at = serial.rfind(prefix)?;
    let rest = &serial[at + prefix.len()..];
    let word = rest.split(['\r', '\n']).next().unwrap_or("").trim();
    Some((at, word.parse().map_err(|_| format!("cannot read `{}{rest:.20}`", prefix.trim_end()))))
}

/// Reads PID 1's end from a finished run: QEMU must have ended with [`INIT_EXIT`]'s status and
/// the serial output must say how it ended (the last such line counts: the program could print
/// one too, but the kernel's comes after everything the program wrote).
pub fn decode(serial: &str, qemu: Option<i32>) -> Result<InitEnd, String> {
    let want = qemu_status(INIT_EXIT);
    match qemu {
        Some(s) if s == want => {}
        Some(0) => {
            return Err("QEMU ended before the program did (Ctrl-A X, a reset or a triple fault)".into())
        }
        Some(s) if s == qemu_status(FAILURE) => {
            return Err(format!("the kernel failed (panic or fault, QEMU status {s})"))
        }
        Some(s) => return Err(format!("QEMU exited with status {s}, not {want} (PID 1 ended)")),
        None => return Err("QEMU was killed (timeout or signal)".into()),
    }
    let exited = last_number(serial, INIT_EXIT_PREFIX);
    let killed = last_number(serial, INIT_KILLED_PREFIX);
    match (exited, killed) {
        (Some((a, n)), Some((b, _))) if a > b => n.map(InitEnd::Exited),
        (Some((_, n)), None) => n.map(InitEnd::Exited),
        (_, Some((_, s))) => s.map(InitEnd::Killed),
        (None, None) => Err(format!(
            "QEMU says PID 1 ended but the serial output has no `{INIT_EXIT_PREFIX} N` or `{INIT_KILLED_PREFIX} N` line"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// What the kernel must do with the words after `--` (Linux's `next_arg` for the init part).
    fn split(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = line.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&c) = chars.peek() else { return out };
            let mut w = String::new();
            if c == '"' {
                chars.next();
                w.extend(chars.by_ref().take_while(|&c| c != '"'));
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    w.push(c);
                }
            }
            out.push(w);
        }
    }

    #[test]
    fn builds_the_command_line_and_it_splits_back() {
        let line = cmdline(&s(&["log=warn"]), "/bin/args-musl", &s(&["a", "b c", ""])).unwrap();
        assert_eq!(line, r#"log=warn init=/bin/args-musl -- a "b c" """#);
        assert_eq!(split(&line), ["log=warn", "init=/bin/args-musl", "--", "a", "b c", ""]);
        assert_eq!(cmdline(&[], "/bin/hello", &[]).unwrap(), "init=/bin/hello");
    }

    #[test]
    fn refuses_what_the_command_line_cannot_carry() {
        assert!(cmdline(&[], "bin/hello", &[]).is_err());
        assert!(cmdline(&[], "/bin/he llo", &[]).is_err());
        assert!(cmdline(&s(&["init=/x"]), "/bin/hello", &[]).is_err());
        assert!(cmdline(&[], "/bin/hello", &s(&["say \"hi\""])).is_err());
        assert!(cmdline(&[], "/bin/hello", &s(&["a\nb"])).is_err());
        assert!(cmdline(&[], "/bin/hello", &["x".repeat(CMDLINE_MAX)]).is_err());
    }

    const BANNER: &str = "loader: Damselfly loader 0.1.0\r\nDamselfly 0.1.0 x86_64\r\n";

    #[test]
    fn decodes_exit_status() {
        let out = format!("{BANNER}hello, world\r\ninit: exited with status 0\r\n");
        assert_eq!(decode(&out, Some(39)), Ok(InitEnd::Exited(0)));
        let out = format!("{BANNER}init: exited with status 42\n");
        assert_eq!(decode(&out, Some(39)).map(InitEnd::shell_status), Ok(42));
        // Output without a final newline runs into the kernel's line.
        assert_eq!(decode("partialinit: exited with status 7", Some(39)), Ok(InitEnd::Exited(7)));
    }

    #[test]
    fn killed_by_a_signal_is_128_plus_the_signal() {
        let out = format!("{BANNER}init: killed by signal 11\r\n");
        assert_eq!(decode(&out, Some(39)), Ok(InitEnd::Killed(11)));
        assert_eq!(InitEnd::Killed(11).shell_status(), 139);
    }

    #[test]
    fn the_last_line_counts() {
        let out = "init: exited with status 3\ninit: killed by signal 9\n";
        assert_eq!(decode(out, Some(39)), Ok(InitEnd::Killed(9)));
        let out = "init: killed by signal 9\ninit: exited with status 3\n";
        assert_eq!(decode(out, Some(39)), Ok(InitEnd::Exited(3)));
    }

    #[test]
    fn missing_line_or_other_endings_are_errors() {
        assert!(decode(BANNER, Some(39)).unwrap_err().contains("no `init: exited with status N`"));
        assert!(decode("init: exited with status x\n", Some(39)).unwrap_err().contains("cannot read"));
        assert!(decode("init: exited with status 300\n", Some(39)).is_err());
        let done = "init: exited with status 0\n";
        assert!(decode(done, Some(35)).unwrap_err().contains("kernel failed"));
        assert!(decode(done, Some(0)).unwrap_err().contains("before the program"));
        assert!(decode(done, Some(33)).unwrap_err().contains("status 33"));
        assert!(decode(done, None).unwrap_err().contains("killed"));
    }
}
