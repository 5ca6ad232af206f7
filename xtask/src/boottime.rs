//! `cargo xtask boottime`: wall time from spawning QEMU to the kernel's banner line.

use crate::qemu::{self, Boot, DEFAULT_MEM, TEST_TIMEOUT};
use crate::Result;
use std::time::Duration;

/// The line the kernel prints first.
const BANNER: &str = "Damselfly ";

/// Boots the normal image `runs` times without tests and prints each time and the median.
pub fn run(runs: u32) -> Result<bool> {
    let boot = Boot::normal(1, DEFAULT_MEM, "");
    let mut times = Vec::new();
    for i in 1..=runs {
        let t = qemu::time_to_line(&boot, BANNER, TEST_TIMEOUT)?;
        println!("boot {i}: {} ms", t.as_millis());
        times.push(t);
    }
    println!(
        "median of {runs}: {} ms (QEMU spawn to `{BANNER}...` on serial)",
        median(&mut times).as_millis()
    );
    Ok(true)
}

/// The median; the mean of the middle two for an even count.
fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&mut [ms(300), ms(100), ms(200)]), ms(200));
        assert_eq!(median(&mut [ms(400), ms(100), ms(200), ms(300)]), ms(250));
    }
}
