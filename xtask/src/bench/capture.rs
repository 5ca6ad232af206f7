//! One benchmark boot: the whole serial output, with the host time each piece of it arrived,
//! so the boot time is read to the first byte of init's first line.

use crate::qemu::Boot;
use crate::Result;
use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A finished boot.
pub struct Capture {
    pub serial: String,
    /// Host time from spawning QEMU to the first byte of `mark`, when it appeared.
    pub to_mark: Option<Duration>,
    pub timed_out: bool,
    pub stderr: String,
}

/// The arrival time of byte `offset`, given each chunk's start offset and arrival time.
pub fn time_of(chunks: &[(usize, Duration)], offset: usize) -> Option<Duration> {
    chunks.iter().take_while(|(start, _)| *start <= offset).last().map(|c| c.1)
}

/// Boots, keeps the serial output until QEMU exits (or `timeout`, when it is killed), and
/// times `mark`.
pub fn run(boot: &Boot, mark: &str, timeout: Duration) -> Result<Capture> {
    let start = Instant::now();
    let mut child = boot
        .command(false, false)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run QEMU: {e}"))?;
    let mut out = child.stdout.take().expect("stdout was piped");
    let mut err = child.stderr.take().expect("stderr was piped");
    let errs = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((start.elapsed(), buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let (mut bytes, mut chunks) = (Vec::new(), Vec::new());
    let mut timed_out = false;
    loop {
        match rx.recv_timeout(timeout.saturating_sub(start.elapsed())) {
            Ok((at, data)) => {
                chunks.push((bytes.len(), at));
                bytes.extend_from_slice(&data);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
        }
    }
    // Killing fails only when QEMU has exited already; wait() reaps it either way.
    let _ = child.kill();
    let _ = child.wait();
    let to_mark = find(&bytes, mark.as_bytes()).and_then(|at| time_of(&chunks, at));
    Ok(Capture {
        serial: String::from_utf8_lossy(&bytes).into_owned(),
        to_mark,
        timed_out,
        stderr: errs.join().unwrap_or_default(),
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_arrives_with_its_chunk() {
        let ms = Duration::from_millis;
        let chunks = [(0, ms(5)), (10, ms(7)), (30, ms(9))];
        assert_eq!(time_of(&chunks, 0), Some(ms(5)));
        assert_eq!(time_of(&chunks, 10), Some(ms(7)));
        assert_eq!(time_of(&chunks, 29), Some(ms(7)));
        assert_eq!(time_of(&chunks, 99), Some(ms(9)));
        assert_eq!(time_of(&[], 0), None);
        assert_eq!(find(b"ab# bench", b"# bench"), Some(2));
    }
}
