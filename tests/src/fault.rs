//! Parsing and checking the kernel's fault reports against what a deliberate crash announced.
//!
//! With `crash=<kind>` the kernel prints `crash: expect vector=.. cr2_lo=.. cr2_hi=.. fn=..` and
//! then commits the fault; the trap handler prints a `fault: ...` report ending in `fault: end`.
//! The host checks the report against the announcement, against its own idea of which vector
//! each crash must raise, and against the kernel ELF's symbols read on the host.

use crate::check::Check;
use crate::run::lines;
use crate::symbols::Symbols;

/// Widest cr2 window accepted from an expect line. The kernel computes the faulting address
/// itself; a huge window (say 0..u64::MAX) would make the cr2 check pass whatever happened.
pub const MAX_CR2_WINDOW: u64 = 0x10000;

/// The `crash: expect` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// Exception vector the crash must raise.
    pub vector: u8,
    /// cr2 must satisfy `cr2_lo <= cr2 < cr2_hi` (both 0 for a divide error: not checked).
    pub cr2_lo: u64,
    /// See `cr2_lo`.
    pub cr2_hi: u64,
    /// The demangled function the faulting rip must be in; `None` for `fn=-`.
    pub func: Option<String>,
    /// Index of the line in the serial output.
    pub line: usize,
}

/// The `fault:` report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Exception vector.
    pub vector: u8,
    /// Mnemonic such as `#PF`.
    pub name: String,
    /// The instruction pointer of the fault.
    pub rip: Option<u64>,
    /// The kernel's symbolization of rip: `Some((name, offset))`, `None` for `sym=?`.
    pub sym: Option<(String, u64)>,
    /// cr2, when the report printed it.
    pub cr2: Option<u64>,
    /// Number of backtrace frame lines.
    pub frames: usize,
    /// True when `fault: end` closed the report.
    pub ended: bool,
    /// Index of the `fault: vector=` line in the serial output.
    pub line: usize,
}

/// What the host requires of a crash scenario, independently of what the kernel announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSpec {
    /// The vector this crash must raise (`None`: whatever the kernel announces).
    pub vector: Option<u8>,
    /// True when the announcement must name a function (`fn=-` is then a failure).
    pub needs_fn: bool,
}

/// The value of `key=` among space-separated words.
fn word<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// Everything after ` key=` to the end of the line (symbol names may hold spaces).
fn tail<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {key}="))?;
    Some(line[at + key.len() + 2..].trim())
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// Finds and parses the first `crash: expect` line.
pub fn parse_expect(serial: &str) -> Result<Expect, String> {
    let (line, text) = lines(serial)
        .into_iter()
        .enumerate()
        .find(|(_, l)| l.starts_with("crash: expect "))
        .ok_or("no `crash: expect` line")?;
    let bad = |what: &str| format!("bad {what} in `{text}`");
    let vector = word(text, "vector").and_then(|v| v.parse().ok()).ok_or_else(|| bad("vector"))?;
    let cr2_lo = word(text, "cr2_lo").and_then(hex).ok_or_else(|| bad("cr2_lo"))?;
    let cr2_hi = word(text, "cr2_hi").and_then(hex).ok_or_else(|| bad("cr2_hi"))?;
    let func = tail(text, "fn").filter(|f| !f.is_empty()).ok_or_else(|| bad("fn"))?;
    let func = (func != "-").then(|| func.to_string());
    Ok(Expect { vector, cr2_lo, cr2_hi, func, line })
}

/// Finds and parses the first `fault:` report.
pub fn parse_report(serial: &str) -> Result<Report, String> {
    let all = lines(serial);
    let start =
        all.iter().position(|l| l.starts_with("fault: vector=")).ok_or("no `fault: vector=` report line")?;
    let head = all[start];
    let mut r = Report {
        vector: word(head, "vector").and_then(|v| v.parse().ok()).ok_or(format!("bad vector in `{head}`"))?,
        name: word(head, "name").unwrap_or("").to_string(),
        line: start,
        ..Report::default()
    };
    for l in &all[start + 1..] {
        if *l == "fault: end" {
            r.ended = true;
            break;
        }
        if let Some(rest) = l.strip_prefix("fault: rip=") {
            r.rip = rest.split_whitespace().next().and_then(hex);
            r.sym = tail(l, "sym").and_then(|s| {
                let (name, off) = s.rsplit_once("+0x")?;
                Some((name.to_string(), u64::from_str_radix(off, 16).ok()?))
            });
        } else if let Some(rest) = l.strip_prefix("fault: cr2=") {
            r.cr2 = hex(rest.trim());
        } else if is_frame(l) {
            r.frames += 1;
        }
    }
    Ok(r)
}

/// A backtrace line: `#<i> 0x<hex> ...`, optionally after `fault:` and indentation.
fn is_frame(line: &str) -> bool {
    let l = line.strip_prefix("fault:").unwrap_or(line).trim_start();
    l.strip_prefix('#').is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()) && r.contains(" 0x"))
}

/// All checks of one crash scenario. `prefix` names the scenario; `symbols` is the host's view
/// of the kernel ELF (an `Err` fails the symbol checks with its reason).
pub fn check(prefix: &str, serial: &str, spec: FaultSpec, symbols: Result<&Symbols, &str>) -> Vec<Check> {
    let name = |n: &str| format!("{prefix}/{n}");
    let expect = parse_expect(serial).and_then(|e| check_expect(&e, spec).map(|()| e));
    let report = parse_report(serial).and_then(|r| {
        if !r.ended {
            return Err("report has no `fault: end` (cut short)".into());
        }
        r.rip.ok_or("report has no `fault: rip=0x...` line")?;
        Ok(r)
    });
    let mut out = vec![
        Check::new(name("expect"), expect.as_ref().map(|_| ()).map_err(Clone::clone)),
        Check::new(name("report"), report.as_ref().map(|_| ()).map_err(Clone::clone)),
    ];
    let (Ok(e), Ok(r)) = (&expect, &report) else {
        out.push(Check::fail(name("matches"), "needs both the expect line and a complete report"));
        return out;
    };
    let rip = r.rip.unwrap_or(0);
    out.push(Check::new(name("order"), order(e, r)));
    out.push(Check::new(name("vector"), same("vector", e.vector, r.vector)));
    if e.vector != 0 {
        out.push(Check::new(name("cr2"), cr2(e, r)));
    }
    let host = symbols.map(|s| s.lookup(rip).map(|(n, o)| (n.to_string(), o)));
    if let Some(func) = &e.func {
        out.push(Check::new(
            name("rip-in-fn"),
            match &host {
                Err(why) => Err(format!("cannot read kernel symbols: {why}")),
                Ok(Some((n, _))) if n == func => Ok(()),
                Ok(Some((n, o))) => Err(format!("rip {rip:#x} is in {n}+{o:#x}, expected {func}")),
                Ok(None) => Err(format!("rip {rip:#x} is in no kernel function, expected {func}")),
            },
        ));
    }
    out.push(Check::new(
        name("kernel-sym"),
        match &host {
            Err(why) => Err(format!("cannot read kernel symbols: {why}")),
            Ok(h) if h == &r.sym => Ok(()),
            Ok(h) => Err(format!("kernel says {}, host says {}", show(&r.sym), show(h))),
        },
    ));
    out.push(Check::new(
        name("backtrace"),
        if r.frames > 0 { Ok(()) } else { Err("no `#<i> 0x...` backtrace line in the report".into()) },
    ));
    out
}

fn check_expect(e: &Expect, spec: FaultSpec) -> Result<(), String> {
    if let Some(v) = spec.vector {
        same("announced vector", v, e.vector)?;
    }
    if spec.needs_fn && e.func.is_none() {
        return Err("`fn=-`: this crash must name the faulting function".into());
    }
    if e.vector == 0 {
        return same("divide cr2 window", (0, 0), (e.cr2_lo, e.cr2_hi));
    }
    if e.cr2_lo >= e.cr2_hi || e.cr2_hi - e.cr2_lo > MAX_CR2_WINDOW {
        return Err(format!(
            "cr2 window [{:#x}, {:#x}) is empty or wider than {MAX_CR2_WINDOW:#x}",
            e.cr2_lo, e.cr2_hi
        ));
    }
    Ok(())
}

fn order(e: &Expect, r: &Report) -> Result<(), String> {
    if e.line < r.line {
        Ok(())
    } else {
        Err("the `crash: expect` line came after the fault report".into())
    }
}

fn cr2(e: &Expect, r: &Report) -> Result<(), String> {
    match r.cr2 {
        None => Err("report has no `fault: cr2=` line".into()),
        Some(c) if (e.cr2_lo..e.cr2_hi).contains(&c) => Ok(()),
        Some(c) => Err(format!("cr2 {c:#x} outside [{:#x}, {:#x})", e.cr2_lo, e.cr2_hi)),
    }
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, want: T, got: T) -> Result<(), String> {
    if want == got {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

fn show(sym: &Option<(String, u64)>) -> String {
    match sym {
        Some((n, o)) => format!("{n}+{o:#x}"),
        None => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FN: &str = "damselfly_kernel::crash::commit_page_fault";
    const MANGLED: &str = "_ZN16damselfly_kernel5crash17commit_page_fault17h0123456789abcdefE";

    fn symbols() -> Symbols {
        Symbols::from_list(&[
            (0xffffffff80101000, 0x80, MANGLED),
            (0xffffffff80102000, 0x40, "_ZN16damselfly_kernel5crash6divide17h0123456789abcdefE"),
        ])
    }

    fn page_fault_log() -> String {
        "Damselfly 0.1.0 x86_64 (LWKT kernel)\r\n\
         crash: expect vector=14 cr2_lo=0xffff800000000000 cr2_hi=0xffff800000001000 \
         fn=damselfly_kernel::crash::commit_page_fault\r\n\
         fault: vector=14 name=#PF error=0x2 cpu=0\r\n\
         fault: rip=0xffffffff80101010 sym=damselfly_kernel::crash::commit_page_fault+0x10\r\n\
         fault: cr2=0xffff800000000008\r\n\
         fault: rax=0x0000000000000000 rbx=0x0000000000000001\r\n  \
         #0 0xffffffff80101010 damselfly_kernel::crash::commit_page_fault+0x10\r\n  \
         #1 0xffffffff80102010 damselfly_kernel::crash::divide+0x10\r\n\
         fault: end\r\n"
            .to_string()
    }

    const PF: FaultSpec = FaultSpec { vector: Some(14), needs_fn: true };

    fn failures(log: &str, spec: FaultSpec) -> Vec<String> {
        let s = symbols();
        check("crash-pagefault", log, spec, Ok(&s))
            .into_iter()
            .filter_map(|c| c.result.err().map(|e| format!("{}: {e}", c.name)))
            .collect()
    }

    #[test]
    fn parses_expect_and_report() {
        let log = page_fault_log();
        let e = parse_expect(&log).unwrap();
        assert_eq!((e.vector, e.cr2_lo, e.cr2_hi), (14, 0xffff800000000000, 0xffff800000001000));
        assert_eq!(e.func.as_deref(), Some(FN));
        let r = parse_report(&log).unwrap();
        assert_eq!((r.vector, r.name.as_str(), r.rip), (14, "#PF", Some(0xffffffff80101010)));
        assert_eq!(r.sym, Some((FN.to_string(), 0x10)));
        assert_eq!((r.cr2, r.frames, r.ended), (Some(0xffff800000000008), 2, true));
    }

    #[test]
    fn good_report_passes_every_check() {
        let s = symbols();
        let checks = check("crash-pagefault", &page_fault_log(), PF, Ok(&s));
        assert!(checks.len() >= 7);
        assert_eq!(failures(&page_fault_log(), PF), Vec::<String>::new());
    }

    #[test]
    fn wrong_cr2_fails() {
        let log = page_fault_log().replace("cr2=0xffff800000000008", "cr2=0xffff800000002000");
        let f = failures(&log, PF);
        assert!(
            f.iter().any(|f| f.starts_with("crash-pagefault/cr2: cr2 0xffff800000002000 outside")),
            "{f:?}"
        );
    }

    #[test]
    fn wrong_function_fails() {
        // rip lands in `divide`: both the fn check and the kernel/host agreement must notice.
        let log = page_fault_log().replace("rip=0xffffffff80101010", "rip=0xffffffff80102004");
        let f = failures(&log, PF);
        assert!(f.iter().any(|f| f.contains("rip-in-fn") && f.contains("crash::divide+0x4")), "{f:?}");
        assert!(f.iter().any(|f| f.contains("kernel-sym")), "{f:?}");
    }

    #[test]
    fn kernel_symbolizer_disagreeing_fails() {
        let log = page_fault_log()
            .replace("commit_page_fault+0x10\r\nfault: cr2", "commit_page_fault+0x11\r\nfault: cr2");
        assert_eq!(failures(&log, PF).len(), 1);
        let log = page_fault_log().replace(&format!("sym={FN}+0x10"), "sym=?");
        assert!(failures(&log, PF)[0].contains("kernel says ?"));
    }

    #[test]
    fn missing_end_fails() {
        let log = page_fault_log().replace("fault: end\r\n", "");
        let f = failures(&log, PF);
        assert!(f.iter().any(|f| f.contains("report: report has no `fault: end`")), "{f:?}");
    }

    #[test]
    fn missing_expect_or_report_fails() {
        assert!(failures("Damselfly 0.1.0\n", PF).len() >= 2);
        let log = page_fault_log().replace("crash: expect", "crash: whatever");
        assert!(failures(&log, PF).iter().any(|f| f.contains("no `crash: expect` line")));
    }

    #[test]
    fn wrong_vector_fails() {
        // Kernel announces and raises #GP instead of #PF: the host's own spec catches it.
        let log = page_fault_log().replace("vector=14", "vector=13");
        assert!(failures(&log, PF).iter().any(|f| f.contains("announced vector")));
        // Announced #PF, raised #GP.
        let log = page_fault_log().replace("fault: vector=14", "fault: vector=13");
        assert!(failures(&log, PF).iter().any(|f| f.starts_with("crash-pagefault/vector")));
    }

    #[test]
    fn useless_expectations_fail() {
        let wide = page_fault_log().replace("cr2_lo=0xffff800000000000", "cr2_lo=0x0");
        assert!(failures(&wide, PF).iter().any(|f| f.contains("wider than")));
        let nofn = page_fault_log().replace(&format!("fn={FN}"), "fn=-");
        assert!(failures(&nofn, PF).iter().any(|f| f.contains("must name")));
        // Where the scenario allows `fn=-`, the rip check is simply not made.
        let lax = FaultSpec { vector: Some(14), needs_fn: false };
        assert_eq!(failures(&nofn, lax), Vec::<String>::new());
    }

    #[test]
    fn divide_skips_cr2_but_needs_zero_window() {
        let log = "crash: expect vector=0 cr2_lo=0x0 cr2_hi=0x0 fn=damselfly_kernel::crash::divide\n\
                   fault: vector=0 name=#DE error=0x0 cpu=0\n\
                   fault: rip=0xffffffff80102008 sym=damselfly_kernel::crash::divide+0x8\n\
                   #0 0xffffffff80102008 damselfly_kernel::crash::divide+0x8\n\
                   fault: end\n";
        let de = FaultSpec { vector: Some(0), needs_fn: true };
        assert_eq!(failures(log, de), Vec::<String>::new());
        let log = log.replace("cr2_hi=0x0", "cr2_hi=0x10");
        assert!(failures(&log, de).iter().any(|f| f.contains("divide cr2 window")));
    }

    #[test]
    fn unreadable_symbols_fail_the_symbol_checks() {
        let c = check("x", &page_fault_log(), PF, Err("no such file"));
        assert!(c.iter().filter(|c| !c.passed()).count() == 2);
    }
}
