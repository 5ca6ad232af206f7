//! The benchmark table (Markdown, printed and put in the README) and its JSON.

use super::results::{Row, Series, KERNELS, MODES};
use std::fmt::Write;

/// What the README says about the machine the table came from.
pub const MACHINE: &str = "2 shared cores, TCG";
/// The README section the table lives in.
const SECTION: &str = "## Benchmarks";

/// How a run was made, for the table's caption and the JSON.
pub struct Setup<'a> {
    pub date: &'a str,
    pub runs: u32,
    pub smp: u32,
    pub mem: &'a str,
}

fn num(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

/// The Markdown table with its caption.
pub fn table(rows: &[Row], setup: &Setup) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Medians of {} boots each, Damselfly and Linux alternating, `-smp {} -m {}`, same image; \
         *ratio* is Damselfly/Linux (Linux/Damselfly for MB/s rows), so **< 1 means Damselfly is \
         better**. The icount columns ran under `-icount shift=0,sleep=off` (guest time counts \
         instructions); boot time is host wall time from QEMU's start to init's first serial byte, \
         from the plain runs only.\n",
        setup.runs, setup.smp, setup.mem
    );
    s.push_str(
        "| row | unit | Damselfly | Linux | ratio | Damselfly icount | Linux icount | ratio icount |\n",
    );
    s.push_str("|---|---|--:|--:|--:|--:|--:|--:|\n");
    for r in rows {
        let [(d, l, q), (di, li, qi)] = r.modes;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.unit,
            num(d),
            num(l),
            num(q),
            num(di),
            num(li),
            num(qi)
        );
    }
    s
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite()).map_or("null".into(), |x| format!("{x}"))
}

/// The JSON: the setup, every boot's figures (`[mode][kernel]` series) and the table's rows.
pub fn json(rows: &[Row], series: &[[Series; 2]; 2], setup: &Setup) -> String {
    let mut s = format!(
        "{{\n  \"date\": {},\n  \"machine\": {},\n  \"runs\": {},\n  \"smp\": {},\n  \"mem\": {},\n  \"samples\": {{",
        json_str(setup.date),
        json_str(MACHINE),
        setup.runs,
        setup.smp,
        json_str(setup.mem)
    );
    for (m, mode) in MODES.iter().enumerate() {
        let _ = write!(s, "{}\n    {}: {{", if m > 0 { "," } else { "" }, json_str(mode));
        for (k, kernel) in KERNELS.iter().enumerate() {
            let _ = write!(s, "{}\n      {}: {{", if k > 0 { "," } else { "" }, json_str(kernel));
            for (i, (name, unit, values)) in series[m][k].rows.iter().enumerate() {
                let vals: Vec<String> = values.iter().map(|v| json_num(Some(*v))).collect();
                let _ = write!(
                    s,
                    "{}\n        {}: {{\"unit\": {}, \"values\": [{}]}}",
                    if i > 0 { "," } else { "" },
                    json_str(name),
                    json_str(unit),
                    vals.join(", ")
                );
            }
            s.push_str("\n      }");
        }
        s.push_str("\n    }");
    }
    s.push_str("\n  },\n  \"rows\": [");
    for (i, r) in rows.iter().enumerate() {
        let _ = write!(
            s,
            "{}\n    {{\"name\": {}, \"unit\": {}",
            if i > 0 { "," } else { "" },
            json_str(&r.name),
            json_str(&r.unit)
        );
        for (m, mode) in MODES.iter().enumerate() {
            let (d, l, q) = r.modes[m];
            let _ = write!(
                s,
                ", {}: {{\"damselfly\": {}, \"linux\": {}, \"ratio\": {}}}",
                json_str(mode),
                json_num(d),
                json_num(l),
                json_num(q)
            );
        }
        s.push('}');
    }
    s.push_str("\n  ]\n}\n");
    s
}

/// The README's benchmark section: date, machine, command and table.
pub fn readme_section(table: &str, setup: &Setup) -> String {
    format!(
        "{SECTION}\n\nLatest run: {} on {MACHINE}, `cargo xtask bench --runs {}` (the JSON and an SVG \
         chart of the ratios land in target/bench/). Goals: every ratio at most 1, boot to init at \
         most 1/10 of Linux's.\n\n{table}",
        setup.date, setup.runs
    )
}

/// `readme` with its benchmark section replaced by `section`, or `section` inserted before
/// `## Layout` (at the end when there is none).
pub fn splice_readme(readme: &str, section: &str) -> String {
    let section = format!("{}\n", section.trim_end());
    let starts =
        |at: usize| readme[at..].starts_with("## ") && (at == 0 || readme.as_bytes()[at - 1] == b'\n');
    let heading = |from: usize| (from..readme.len()).find(|&i| readme.is_char_boundary(i) && starts(i));
    let own = readme.find(&format!("\n{SECTION}\n")).map(|i| i + 1);
    match own {
        Some(at) => {
            let end = heading(at + SECTION.len()).unwrap_or(readme.len());
            let tail = &readme[end..];
            let sep = if tail.is_empty() { "" } else { "\n" };
            format!("{}{section}{sep}{tail}", &readme[..at])
        }
        None => match readme.find("\n## Layout\n") {
            Some(i) => format!("{}{section}\n{}", &readme[..i + 1], &readme[i + 1..]),
            None => format!("{}\n\n{section}", readme.trim_end()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::Sample;

    fn setup() -> Setup<'static> {
        Setup { date: "2025-01-02", runs: 3, smp: 1, mem: "512M" }
    }

    fn row() -> Row {
        Row {
            name: "null_syscall".into(),
            unit: "ns".into(),
            modes: [(Some(150.0), Some(300.0), Some(0.5)), (None, None, None)],
        }
    }

    #[test]
    fn table_has_a_header_saying_below_one_is_better_and_a_line_per_row() {
        let t = table(&[row()], &setup());
        assert!(t.contains("< 1 means Damselfly is better"));
        assert!(t.contains("| null_syscall | ns | 150 | 300 | 0.50 | — | — | — |"), "{t}");
    }

    #[test]
    fn json_holds_samples_and_rows() {
        let mut series: [[Series; 2]; 2] = Default::default();
        series[0][0].add(&[Sample { name: "a\"b".into(), value: 1.5, unit: "ns".into() }]);
        let j = json(&[row()], &series, &setup());
        assert!(j.contains(r#""a\"b": {"unit": "ns", "values": [1.5]}"#), "{j}");
        assert!(j.contains(r#""tcg": {"damselfly": 150, "linux": 300, "ratio": 0.5}"#), "{j}");
        assert!(j.contains(r#""icount": {"damselfly": null"#), "{j}");
        // Braces and brackets balance (no string here holds one).
        let count = |c| j.chars().filter(|&x| x == c).count();
        assert_eq!((count('{'), count('[')), (count('}'), count(']')));
    }

    #[test]
    fn readme_section_is_inserted_then_replaced() {
        let readme = "# D\n\n## Tests\n\nt\n\n## Layout\n\nl\n";
        let once = splice_readme(readme, "## Benchmarks\n\nold\n");
        assert_eq!(once, "# D\n\n## Tests\n\nt\n\n## Benchmarks\n\nold\n\n## Layout\n\nl\n");
        let twice = splice_readme(&once, "## Benchmarks\n\nnew\n");
        assert_eq!(twice, "# D\n\n## Tests\n\nt\n\n## Benchmarks\n\nnew\n\n## Layout\n\nl\n");
        let last = splice_readme("# D\n\n## Benchmarks\n\nold\n", "## Benchmarks\n\nnew\n");
        assert_eq!(last, "# D\n\n## Benchmarks\n\nnew\n");
        assert_eq!(splice_readme("# D\n", "## Benchmarks\n\nx\n"), "# D\n\n## Benchmarks\n\nx\n");
    }
}
