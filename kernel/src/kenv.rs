//! The kernel environment from the boot command line (DragonFly's kern_environment): words
//! of the form `key=value` or bare `key`. Unknown words are kept for later subsystems and
//! logged, never fatal.
use log::LevelFilter;

/// What the command line asks of early boot.
pub struct BootArgs {
    /// `log=<error|warn|info|debug|trace|off>`.
    pub log_level: LevelFilter,
    /// `ktest=<all|pattern>`: run the in-kernel tests whose name matches.
    pub ktest: Option<&'static str>,
    /// `crash=<what>`: commit a deliberate fault after boot.
    pub crash: Option<&'static str>,
    /// `init=PATH`: the program to run as PID 1.
    pub init: Option<&'static str>,
    /// What follows a standalone `--`: PID 1's arguments, split on spaces by the caller
    /// (this runs before the heap exists, so nothing here allocates).
    pub init_args: &'static str,
}

fn level(s: &str) -> Option<LevelFilter> {
    Some(match s {
        "off" => LevelFilter::Off,
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => return None,
    })
}

/// Parses the command line (which lives in the kernel's copy of the boot information).
pub fn init(cmdline: &'static [u8]) -> BootArgs {
    let mut args =
        BootArgs { log_level: LevelFilter::Info, ktest: None, crash: None, init: None, init_args: "" };
    let text = match core::str::from_utf8(cmdline) {
        Ok(t) => t,
        Err(_) => {
            crate::kprintln!("kenv: command line is not UTF-8; ignoring it");
            return args;
        }
    };
    let (options, init_args) = match text.split_once(" -- ") {
        Some((o, a)) => (o, a),
        None => (text.strip_suffix(" --").unwrap_or(text), ""),
    };
    args.init_args = init_args;
    for word in options.split_ascii_whitespace() {
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        match key {
            "log" => match level(value) {
                Some(l) => args.log_level = l,
                None => crate::kprintln!("kenv: unknown log level '{}'", value),
            },
            "ktest" => args.ktest = Some(value),
            "crash" => args.crash = Some(value),
            "init" => args.init = Some(value),
            _ => {}
        }
    }
    args
}

/// Looks a key up in the command line (for subsystems that read their own options).
#[allow(dead_code)]
pub fn get(key: &str) -> Option<&'static str> {
    let text = core::str::from_utf8(crate::bootinfo::get().cmdline()).ok()?;
    text.split_ascii_whitespace().find_map(|w| match w.split_once('=') {
        Some((k, v)) if k == key => Some(v),
        None if w == key => Some(""),
        _ => None,
    })
}
