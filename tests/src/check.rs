//! One named verdict of a scenario: what `cargo xtask test` prints as `PASS` or `FAIL`.

use std::fmt;

/// A named pass/fail verdict with the reason for a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Case name, e.g. `ktest-smp1/mem::frame::alloc_free` or `crash-divide/vector`.
    pub name: String,
    /// `Err(why)` when the case failed.
    pub result: Result<(), String>,
}

impl Check {
    /// A verdict from a result.
    pub fn new(name: impl Into<String>, result: Result<(), String>) -> Check {
        Check { name: name.into(), result }
    }

    /// A passing case.
    pub fn pass(name: impl Into<String>) -> Check {
        Check::new(name, Ok(()))
    }

    /// A failing case.
    pub fn fail(name: impl Into<String>, why: impl Into<String>) -> Check {
        Check::new(name, Err(why.into()))
    }

    /// True when the case passed.
    pub fn passed(&self) -> bool {
        self.result.is_ok()
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.result {
            Ok(()) => write!(f, "PASS {}", self.name),
            Err(why) => write!(f, "FAIL {}: {}", self.name, why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_the_summary_prints_it() {
        assert_eq!(Check::pass("a/b").to_string(), "PASS a/b");
        assert_eq!(Check::fail("a/c", "no plan").to_string(), "FAIL a/c: no plan");
    }
}
