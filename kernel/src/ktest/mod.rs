//! In-kernel tests: functions registered with [`ktest!`] into the `.ktests` linker section,
//! run at boot when the command line says `ktest=all` or `ktest=<pattern>`, reported in KTAP
//! on the console, with the result in QEMU's exit code. A panic or a fatal trap inside a test
//! reports that test as failed and ends the run as a failure.
pub mod crash;

use alloc::string::String;
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Why a test failed.
pub struct Failure(pub String);

impl From<&str> for Failure {
    fn from(s: &str) -> Failure {
        Failure(String::from(s))
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Failure {
        Failure(s)
    }
}

/// What a test returns.
pub type Outcome = Result<(), Failure>;

/// One registered test.
#[repr(C)]
pub struct KTest {
    /// `module::path::function`.
    pub name: &'static str,
    /// The test body.
    pub func: fn() -> Outcome,
    /// A benchmark: runs only when the pattern names benchmarks (contains `bench`), never
    /// with `ktest=all`; it prints figures and fails only if it cannot run.
    pub bench: bool,
}

/// Defines a test function and registers it in `.ktests`.
#[macro_export]
macro_rules! ktest {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        fn $name() -> $crate::ktest::Outcome $body
        const _: () = {
            #[used]
            #[link_section = ".ktests"]
            static ENTRY: $crate::ktest::KTest =
                $crate::ktest::KTest { name: concat!(module_path!(), "::", stringify!($name)), func: $name, bench: false };
        };
    };
}

/// Defines a benchmark (a test that only runs when asked for by a pattern naming `bench`).
#[macro_export]
macro_rules! kbench {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        fn $name() -> $crate::ktest::Outcome $body
        const _: () = {
            #[used]
            #[link_section = ".ktests"]
            static ENTRY: $crate::ktest::KTest =
                $crate::ktest::KTest { name: concat!(module_path!(), "::", stringify!($name)), func: $name, bench: true };
        };
    };
}

/// Fails the current test unless `cond` holds.
#[macro_export]
macro_rules! kassert {
    ($cond:expr, $($fmt:tt)+) => {{
        let holds: bool = $cond;
        if !holds {
            return Err($crate::ktest::Failure(alloc::format!(
                "{}:{}: {}", file!(), line!(), format_args!($($fmt)+))));
        }
    }};
}

/// Fails the current test unless the two values are equal.
#[macro_export]
macro_rules! kassert_eq {
    ($a:expr, $b:expr) => {
        match (&$a, &$b) {
            (a, b) => $crate::kassert!(
                *a == *b,
                "{} == {} failed: {:?} != {:?}",
                stringify!($a),
                stringify!($b),
                a,
                b
            ),
        }
    };
}

extern "C" {
    static __ktests_start: u8;
    static __ktests_end: u8;
}

fn registered() -> &'static [KTest] {
    // SAFETY: the linker script brackets .ktests with these symbols, and the section holds
    // only KTest statics emitted by `ktest!` (8-byte aligned, same type, same size).
    unsafe {
        let start = (&raw const __ktests_start).cast::<KTest>();
        let end = (&raw const __ktests_end).cast::<KTest>();
        core::slice::from_raw_parts(start, end.offset_from(start) as usize)
    }
}

fn display_name(t: &KTest) -> &'static str {
    let n = t.name.strip_prefix("kernel::").unwrap_or(t.name);
    n.split("::tests::").collect::<alloc::vec::Vec<_>>().join("::").leak()
}

/// True when `name` matches `pattern`: `all`, `*`-globs, or a plain substring.
fn matches(pattern: &str, name: &str) -> bool {
    if pattern == "all" || pattern.is_empty() {
        return true;
    }
    if !pattern.contains('*') {
        return name.contains(pattern);
    }
    glob(pattern.as_bytes(), name.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// 1-based number of the running test, 0 when none runs.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static CURRENT_NAME: spin::Mutex<&'static str> = spin::Mutex::new("");
static PASSED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

/// Called by the panic handler and the fatal-trap path: if a test was running, report it as
/// failed so the KTAP output stays complete.
pub fn note_fatal(kind: &str) {
    let n = CURRENT.swap(0, Ordering::AcqRel);
    if n == 0 {
        return;
    }
    let name = CURRENT_NAME.try_lock().map_or("?", |g| *g);
    let mut out = crate::tty::console::emergency();
    let _ = fmt::Write::write_fmt(&mut out, format_args!("not ok {} {} # {}\n", n, name, kind));
    let _ = fmt::Write::write_fmt(
        &mut out,
        format_args!(
            "# ktest: {} passed, {} failed (stopped by a {})\n",
            PASSED.load(Ordering::Relaxed),
            FAILED.load(Ordering::Relaxed) + 1,
            kind
        ),
    );
}

/// Runs every test matching `pattern`, prints KTAP, and ends QEMU with the result.
pub fn run(pattern: &str) -> ! {
    let benches = pattern.contains("bench");
    let tests: alloc::vec::Vec<&KTest> =
        registered().iter().filter(|t| t.bench == benches && matches(pattern, display_name(t))).collect();
    crate::kprintln!("KTAP version 1");
    crate::kprintln!("1..{}", tests.len());
    for (i, t) in tests.iter().enumerate() {
        let name = display_name(t);
        *CURRENT_NAME.lock() = name;
        CURRENT.store(i + 1, Ordering::Release);
        let result = (t.func)();
        CURRENT.store(0, Ordering::Release);
        match result {
            Ok(()) => {
                PASSED.fetch_add(1, Ordering::Relaxed);
                crate::kprintln!("ok {} {}", i + 1, name);
            }
            Err(Failure(why)) => {
                FAILED.fetch_add(1, Ordering::Relaxed);
                crate::kprintln!("not ok {} {} # {}", i + 1, name, why);
            }
        }
    }
    let (p, f) = (PASSED.load(Ordering::Relaxed), FAILED.load(Ordering::Relaxed));
    crate::kprintln!("# ktest: {} passed, {} failed", p, f);
    if tests.is_empty() {
        crate::kprintln!("# ktest: no test matches '{}'", pattern);
    }
    let code = if f == 0 && !tests.is_empty() { abi::debug_exit::SUCCESS } else { abi::debug_exit::FAILURE };
    crate::arch::x86_64::power::exit(code)
}

mod tests {

    ktest! {
        /// Patterns: all, substrings, globs.
        fn pattern_matching() {
            kassert!(super::matches("all", "mem::phys::x"), "all");
            kassert!(super::matches("phys", "mem::phys::x"), "substring");
            kassert!(super::matches("mem::*::x", "mem::phys::x"), "glob");
            kassert!(!super::matches("mem::*::y", "mem::phys::x"), "glob miss");
            Ok(())
        }
    }

    ktest! {
        /// An int3 traps into the kernel and execution resumes after it.
        fn breakpoint_returns() {
            use crate::arch::x86_64::trap::BREAKPOINTS;
            use core::sync::atomic::Ordering;
            let before = BREAKPOINTS.load(Ordering::Relaxed);
            // SAFETY: int3 is handled by trap_dispatch, which returns to the next instruction.
            unsafe { core::arch::asm!("int3") };
            kassert_eq!(BREAKPOINTS.load(Ordering::Relaxed), before + 1);
            Ok(())
        }
    }
}
