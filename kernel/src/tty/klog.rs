//! The kernel log: the `log` crate's macros print to the console with a level prefix. The
//! level comes from the command line (`log=debug`).
use log::{LevelFilter, Log, Metadata, Record};

struct ConsoleLog;

impl Log for ConsoleLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let target = record.target().strip_prefix("kernel::").unwrap_or(record.target());
            crate::kprintln!("[{:<5} {}] {}", record.level(), target, record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: ConsoleLog = ConsoleLog;

/// Installs the console logger at `level`.
pub fn init(level: LevelFilter) {
    // A second call fails harmlessly: the logger is already ours.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
