//! What one QEMU boot produced: its serial output and how it ended.

use std::time::Duration;

/// The captured result of one boot.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// Everything the guest wrote to the serial port, as text (invalid UTF-8 replaced).
    pub serial: String,
    /// QEMU's exit status; `None` when it was killed (timeout) or died from a signal.
    pub status: Option<i32>,
    /// True when the run hit its timeout and QEMU was killed.
    pub timed_out: bool,
    /// Wall time from spawn to exit (or to the kill).
    pub elapsed: Duration,
    /// What QEMU itself printed on stderr (bad options, missing files).
    pub stderr: String,
}

impl Run {
    /// The serial output split into lines, each without its `\r` (the console may send CRLF).
    pub fn lines(&self) -> Vec<&str> {
        lines(&self.serial)
    }

    /// A description of how the run ended, for failure messages.
    pub fn ending(&self) -> String {
        match (self.timed_out, self.status) {
            (true, _) => format!("timed out after {} s", self.elapsed.as_secs()),
            (false, Some(0)) => "exit status 0 (triple fault, reset or power-off)".to_string(),
            (false, Some(s)) => format!("exit status {s}"),
            (false, None) => "killed by a signal".to_string(),
        }
    }
}

/// Splits serial text into lines without `\r`.
pub fn lines(text: &str) -> Vec<&str> {
    text.lines().map(|l| l.trim_matches('\r')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_carriage_returns() {
        assert_eq!(lines("a\r\nb\n\rc\r\r\n"), ["a", "b", "c"]);
    }

    #[test]
    fn zero_and_timeout_are_described_as_such() {
        let r = Run { status: Some(0), ..Run::default() };
        assert!(r.ending().contains("triple fault"));
        let r = Run { timed_out: true, elapsed: Duration::from_secs(60), ..Run::default() };
        assert_eq!(r.ending(), "timed out after 60 s");
    }
}
