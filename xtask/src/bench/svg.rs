//! target/bench/ratios.svg: a horizontal bar per row (plain TCG, and instruction counting
//! beside it), with a line at 1.0, where Damselfly and Linux are equal.

use super::results::Row;
use std::fmt::Write;

const LABEL_W: f64 = 190.0;
const PLOT_W: f64 = 520.0;
const BAR_H: f64 = 9.0;
const ROW_H: f64 = 24.0;
const TOP: f64 = 40.0;
const COLORS: [&str; 2] = ["#4477aa", "#ee7733"];

/// The chart; rows without a ratio in either mode are left out.
pub fn chart(rows: &[Row]) -> String {
    let rows: Vec<&Row> = rows.iter().filter(|r| r.modes.iter().any(|m| m.2.is_some())).collect();
    let max = rows.iter().flat_map(|r| r.modes.iter().filter_map(|m| m.2)).fold(2.0_f64, f64::max).ceil();
    let x = |ratio: f64| LABEL_W + PLOT_W * ratio.clamp(0.0, max) / max;
    let height = TOP + ROW_H * rows.len() as f64 + 30.0;
    let width = LABEL_W + PLOT_W + 70.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="16" font-size="13">Damselfly / Linux (Linux / Damselfly for MB/s): &lt; 1 means Damselfly is better</text>"#
    );
    for (m, (name, color)) in ["plain TCG", "icount"].iter().zip(COLORS).enumerate() {
        let lx = LABEL_W + 140.0 * m as f64;
        let _ = writeln!(s, r#"<rect x="{lx}" y="24" width="10" height="10" fill="{color}"/>"#);
        let _ = writeln!(s, r#"<text x="{}" y="33">{name}</text>"#, lx + 14.0);
    }
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL_W - 6.0,
            y + 14.0,
            escape(&r.name)
        );
        for (m, color) in COLORS.iter().enumerate() {
            let Some(q) = r.modes[m].2 else { continue };
            let by = y + 2.0 + BAR_H * m as f64;
            let _ = writeln!(
                s,
                r#"<rect x="{LABEL_W}" y="{by}" width="{:.1}" height="{BAR_H}" fill="{color}"/>"#,
                x(q) - LABEL_W
            );
            let _ =
                writeln!(s, r#"<text x="{:.1}" y="{}" font-size="9">{q:.2}</text>"#, x(q) + 3.0, by + 8.0);
        }
    }
    let bottom = TOP + ROW_H * rows.len() as f64;
    let _ = writeln!(
        s,
        r#"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{bottom}" stroke="black" stroke-dasharray="4 3"/>"#,
        x(1.0)
    );
    let _ = writeln!(s, r#"<text x="{:.1}" y="{}" text-anchor="middle">1.0</text>"#, x(1.0), bottom + 14.0);
    let _ = writeln!(s, r#"<text x="{:.1}" y="{}" text-anchor="end">{max}</text>"#, x(max), bottom + 14.0);
    s.push_str("</svg>\n");
    s
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, q: Option<f64>) -> Row {
        Row { name: name.into(), unit: "ns".into(), modes: [(None, None, q), (None, None, None)] }
    }

    #[test]
    fn a_bar_per_row_with_a_ratio_and_a_line_at_one() {
        let svg = chart(&[row("a<b", Some(0.5)), row("c", Some(4.0)), row("none", None)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains(">a&lt;b</text>") && !svg.contains(">none<"));
        // Two bars plus the background and the two legend swatches.
        assert_eq!(svg.matches("<rect").count(), 5);
        // The scale ends at 4: ratio 1 sits a quarter of the way along.
        let one = LABEL_W + PLOT_W / 4.0;
        assert!(svg.contains(&format!(r#"<line x1="{one:.1}""#)), "{svg}");
        assert!(svg.contains(&format!(r#"width="{:.1}""#, PLOT_W / 8.0)), "{svg}");
    }
}
