//! The busybox session compared line for line with Linux's. Lines that legitimately differ
//! between kernels (uptime, free, df, the kernel's name and version) are printed by the script
//! as `~ TAG: TEXT`; their TEXT is matched against TAG's pattern from
//! tests/conformance/session-patterns.txt instead of Linux's line.
//!
//! Pattern syntax: `*` any text, `#` one or more digits, a space one or more spaces, anything
//! else itself.

use super::results::Session;

/// One `TAG PATTERN` line of the patterns file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub tag: String,
    pub pattern: String,
}

/// Parses the patterns file (`#` comment lines, blank lines ignored).
pub fn parse_patterns(text: &str) -> Vec<Pattern> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("# "))
        .filter_map(|l| l.split_once(' '))
        .map(|(t, p)| Pattern { tag: t.to_string(), pattern: p.trim().to_string() })
        .collect()
}

/// True when `text` matches `pattern` as a whole.
pub fn matches(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some(b'#') => {
                let n = t.iter().take_while(|c| c.is_ascii_digit()).count();
                (1..=n).any(|i| go(&p[1..], &t[i..]))
            }
            Some(b' ') => {
                let n = t.iter().take_while(|&&c| c == b' ').count();
                (1..=n).any(|i| go(&p[1..], &t[i..]))
            }
            Some(&c) => t.first() == Some(&c) && go(&p[1..], &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// `~ TAG: TEXT` -> (TAG, TEXT).
fn tagged(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("~ ")?;
    let (tag, text) = rest.split_once(':')?;
    Some((tag, text.strip_prefix(' ').unwrap_or(text)))
}

/// Compares Damselfly's session with Linux's: the same lines, except that tagged lines need
/// only the same tags in the same order and text matching the tag's pattern.
pub fn compare(linux: &Session, dfly: &Session, patterns: &[Pattern]) -> Result<(), String> {
    if linux.end != "exit 0" {
        return Err(format!("the session ended with {} on Linux: a broken script", linux.end));
    }
    for (i, pair) in linux.lines.iter().zip(dfly.lines.iter()).enumerate() {
        let (l, d) = pair;
        let n = i + 1;
        match (tagged(l), tagged(d)) {
            (Some((lt, lx)), Some((dt, dx))) => {
                if lt != dt {
                    return Err(format!("line {n}: tag `{dt}` where Linux has `{lt}`"));
                }
                let Some(p) = patterns.iter().find(|p| p.tag == lt) else {
                    return Err(format!("line {n}: no pattern for tag `{lt}`"));
                };
                if !matches(&p.pattern, lx) {
                    return Err(format!(
                        "line {n}: Linux's `{lx}` does not match `{}`: fix the pattern",
                        p.pattern
                    ));
                }
                if !matches(&p.pattern, dx) {
                    return Err(format!("line {n}: `{dx}` does not match `{}`", p.pattern));
                }
            }
            _ if l != d => return Err(format!("line {n}: `{d}`, Linux has `{l}`")),
            _ => {}
        }
    }
    if linux.lines.len() != dfly.lines.len() {
        return Err(format!("{} lines, Linux has {}", dfly.lines.len(), linux.lines.len()));
    }
    if dfly.end != linux.end {
        return Err(format!("the session ended with {}, on Linux with {}", dfly.end, linux.end));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(lines: &[&str]) -> Session {
        Session { lines: lines.iter().map(|l| l.to_string()).collect(), end: "exit 0".into() }
    }

    #[test]
    fn patterns_match_whole_lines() {
        assert!(matches("up # min, load average: #.#", "up 12 min, load average: 0.05"));
        assert!(matches("a b", "a    b"));
        assert!(!matches("a b", "ab"));
        assert!(matches("Linux *", "Linux 6.1.0-56-amd64"));
        assert!(!matches("#", "x1"));
        assert!(!matches("abc", "abcd"));
    }

    #[test]
    fn tagged_lines_need_only_match_their_pattern() {
        let p = parse_patterns("# comment\nuptime up # min\n");
        let linux = s(&["== uptime", "~ uptime: up 3 min", "done"]);
        assert_eq!(compare(&linux, &s(&["== uptime", "~ uptime: up 10 min", "done"]), &p), Ok(()));
        assert!(compare(&linux, &s(&["== uptime", "~ uptime: up x min", "done"]), &p).is_err());
        assert!(compare(&linux, &s(&["== uptime", "~ uptime: up 3 min", "Done"]), &p).is_err());
        assert!(compare(&linux, &s(&["== uptime", "~ uptime: up 3 min"]), &p).is_err());
        let mut bad = s(&["== uptime", "~ uptime: up 3 min", "done"]);
        bad.end = "exit 1".into();
        assert!(compare(&linux, &bad, &p).is_err());
    }
}
