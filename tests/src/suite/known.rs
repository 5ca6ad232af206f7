//! The committed list of cases known to fail on Damselfly (tests/conformance/known-failures.txt):
//! at most [`MAX_KNOWN`] entries, each `AREA.CASE` (both C libraries) or `AREA-LIBC.CASE`
//! followed by a one-line reason. `#` starts a comment line.

use super::results::split_label;

/// The most entries the list may hold.
pub const MAX_KNOWN: usize = 10;

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownFailure {
    /// `AREA.CASE` or `AREA-LIBC.CASE`.
    pub case: String,
    pub reason: String,
}

impl KnownFailure {
    /// True when the entry names the case `label` (`AREA-LIBC.CASE`).
    pub fn matches(&self, label: &str) -> bool {
        if self.case == label {
            return true;
        }
        split_label(label).is_some_and(|(area, _, case)| self.case == format!("{area}.{case}"))
    }
}

/// Parses the list; an entry without a reason is an error.
pub fn parse(text: &str) -> Result<Vec<KnownFailure>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (case, reason) = line
            .split_once(char::is_whitespace)
            .map(|(c, r)| (c.to_string(), r.trim().to_string()))
            .unwrap_or((line.to_string(), String::new()));
        if reason.is_empty() || !case.contains('.') {
            return Err(format!("known-failures line {}: want `AREA.CASE reason`", i + 1));
        }
        out.push(KnownFailure { case, reason });
    }
    Ok(out)
}

/// The entry naming `label`, if any.
pub fn find<'a>(known: &'a [KnownFailure], label: &str) -> Option<&'a KnownFailure> {
    known.iter().find(|k| k.matches(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_one_or_both_libcs() {
        let k = parse("# comment\n\nsignals.core_dump  no core files yet\nfiles-glibc.x why\n").unwrap();
        assert_eq!(k.len(), 2);
        assert!(k[0].matches("signals-musl.core_dump") && k[0].matches("signals-glibc.core_dump"));
        assert!(!k[0].matches("signals-musl.core_dumps"));
        assert!(k[1].matches("files-glibc.x") && !k[1].matches("files-musl.x"));
        assert_eq!(k[0].reason, "no core files yet");
    }

    #[test]
    fn an_entry_needs_a_reason() {
        assert!(parse("signals.x\n").is_err());
        assert!(parse("nodot reason\n").is_err());
    }
}
