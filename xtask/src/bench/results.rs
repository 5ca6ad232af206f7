//! What a benchmark boot printed, and the medians and ratios the table is made of.
//!
//! The program prints `result NAME VALUE UNIT` lines; VALUE is ns per operation, MB/s, or KiB
//! (memory in use after boot). The host adds `boot_to_init` in ms.

/// The kernels compared.
pub const KERNELS: [&str; 2] = ["damselfly", "linux"];
/// The two ways QEMU runs: plain TCG and instruction counting.
pub const MODES: [&str; 2] = ["tcg", "icount"];

/// One figure of one boot.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

/// The `result` lines of a serial log, in order; other lines (and malformed ones) are skipped.
pub fn parse(serial: &str) -> Vec<Sample> {
    serial
        .lines()
        .filter_map(|l| {
            let mut w = l.trim_end_matches('\r').split_whitespace();
            if w.next()? != "result" {
                return None;
            }
            let (name, value, unit) = (w.next()?, w.next()?.parse::<f64>().ok()?, w.next()?);
            if w.next().is_some() || !value.is_finite() {
                return None;
            }
            Some(Sample { name: name.into(), value, unit: unit.into() })
        })
        .collect()
}

/// Every figure of one (kernel, mode): each row's unit and its values, one per boot, in the
/// order the rows first appeared.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub rows: Vec<(String, String, Vec<f64>)>,
}

impl Series {
    /// Adds one boot's samples.
    pub fn add(&mut self, samples: &[Sample]) {
        for s in samples {
            match self.rows.iter_mut().find(|r| r.0 == s.name) {
                Some(r) => r.2.push(s.value),
                None => self.rows.push((s.name.clone(), s.unit.clone(), vec![s.value])),
            }
        }
    }

    /// The values of a row (empty when it never appeared).
    pub fn values(&self, name: &str) -> &[f64] {
        self.rows.iter().find(|r| r.0 == name).map_or(&[], |r| &r.2)
    }
}

/// The median; the mean of the middle two for an even count; None for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// True for units where more is better (bandwidth); for the rest (time, memory) less is.
pub fn higher_is_better(unit: &str) -> bool {
    unit == "MB/s"
}

/// Damselfly against Linux such that < 1 always means Damselfly is better: Damselfly/Linux
/// for times and memory, Linux/Damselfly for bandwidth. None when either side is missing or 0.
pub fn ratio(unit: &str, damselfly: Option<f64>, linux: Option<f64>) -> Option<f64> {
    let (d, l) = (damselfly?, linux?);
    let (num, den) = if higher_is_better(unit) { (l, d) } else { (d, l) };
    (den > 0.0).then(|| num / den)
}

/// One line of the table: medians per kernel and mode, and the ratio per mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub name: String,
    pub unit: String,
    /// Per mode (as [`MODES`]): Damselfly's median, Linux's median, the ratio.
    pub modes: [(Option<f64>, Option<f64>, Option<f64>); 2],
}

/// The rows of the table from each (kernel, mode) series, indexed `[mode][kernel]`; rows in
/// the order they first appear (Damselfly's plain run first).
pub fn rows(series: &[[Series; 2]; 2]) -> Vec<Row> {
    let mut names: Vec<(String, String)> = Vec::new();
    for s in series.iter().flatten() {
        for (name, unit, _) in &s.rows {
            if !names.iter().any(|n| &n.0 == name) {
                names.push((name.clone(), unit.clone()));
            }
        }
    }
    names
        .into_iter()
        .map(|(name, unit)| {
            let modes = [0, 1].map(|m| {
                let d = median(series[m][0].values(&name));
                let l = median(series[m][1].values(&name));
                (d, l, ratio(&unit, d, l))
            });
            Row { name, unit, modes }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_result_lines_only() {
        let text = "Damselfly 0.1\r\n# bench: start\nresult null_syscall 120.5 ns\r\nresult bad x ns\n\
                    result file_read_bandwidth 300.0 MB/s\nresult too many words here\nresultx a 1 ns\n";
        assert_eq!(
            parse(text),
            [
                Sample { name: "null_syscall".into(), value: 120.5, unit: "ns".into() },
                Sample { name: "file_read_bandwidth".into(), value: 300.0, unit: "MB/s".into() },
            ]
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn ratios_below_one_mean_damselfly_is_better() {
        assert_eq!(ratio("ns", Some(50.0), Some(100.0)), Some(0.5));
        assert_eq!(ratio("KiB", Some(200.0), Some(100.0)), Some(2.0));
        assert_eq!(ratio("MB/s", Some(200.0), Some(100.0)), Some(0.5));
        assert_eq!(ratio("ns", None, Some(1.0)), None);
        assert_eq!(ratio("ns", Some(1.0), Some(0.0)), None);
    }

    #[test]
    fn rows_take_medians_per_kernel_and_mode() {
        let s = |v: &[(&str, f64, &str)]| {
            let mut out = Series::default();
            for &(n, x, u) in v {
                out.add(&[Sample { name: n.into(), value: x, unit: u.into() }]);
            }
            out
        };
        let series = [
            [
                s(&[("a", 1.0, "ns"), ("a", 3.0, "ns"), ("a", 2.0, "ns")]),
                s(&[("a", 4.0, "ns"), ("b", 9.0, "MB/s")]),
            ],
            [s(&[("a", 5.0, "ns")]), s(&[("a", 10.0, "ns")])],
        ];
        let r = rows(&series);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].modes, [(Some(2.0), Some(4.0), Some(0.5)), (Some(5.0), Some(10.0), Some(0.5))]);
        assert_eq!((r[1].name.as_str(), r[1].modes[0]), ("b", (None, Some(9.0), None)));
    }
}
