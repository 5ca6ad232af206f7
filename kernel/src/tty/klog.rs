//! The kernel log (DragonFly's subr_prf.c `log()`, Linux's printk ring): the `log` crate's
//! macros print to the console with a level prefix, and every record is also kept in a ring
//! of recent records that /dev/kmsg reads. The console level comes from the command line
//! (`log=debug`).
//!
//! The ring holds formatted records as Linux's /dev/kmsg shows them
//! (`priority,sequence,microseconds,-;message\n`) in a fixed byte buffer: no allocation on the
//! logging path, which runs in any context. Readers address it by byte offset in the stream
//! of everything logged since boot; bytes older than the ring's [`RING_BYTES`] are gone.
use crate::sync::spinlock::SpinLock;
use core::fmt::{self, Write};
use log::{Level, LevelFilter, Log, Metadata, Record};

/// Bytes of recent records kept.
pub const RING_BYTES: usize = 128 * 1024;

struct Ring {
    buf: [u8; RING_BYTES],
    /// Bytes written since boot; the ring holds `[end - RING_BYTES, end)`.
    end: u64,
    /// Records written since boot (the next record's sequence number).
    seq: u64,
}

impl Ring {
    fn push(&mut self, b: u8) {
        self.buf[(self.end % RING_BYTES as u64) as usize] = b;
        self.end += 1;
    }

    fn start(&self) -> u64 {
        self.end.saturating_sub(RING_BYTES as u64)
    }
}

/// Writes a record's text into the ring, escaping what would break the one-line format
/// (Linux escapes newlines and control characters as `\xNN` too).
struct RingWriter<'a>(&'a mut Ring);

impl Write for RingWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if b < 0x20 || b == 0x7f || b == b'\\' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for e in [b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]] {
                    self.0.push(e);
                }
            } else {
                self.0.push(b);
            }
        }
        Ok(())
    }
}

static RING: SpinLock<Ring> = SpinLock::new(Ring { buf: [0; RING_BYTES], end: 0, seq: 0 });

/// The syslog priority Linux gives a level.
fn priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// Appends one record to the ring.
pub fn record(level: Level, target: &str, args: fmt::Arguments<'_>) {
    let usec = crate::time::nanotime() / 1000;
    let mut r = RING.lock();
    let seq = r.seq;
    r.seq += 1;
    let mut w = RingWriter(&mut r);
    let _ = write!(w, "{},{},{},-;{}: {}", priority(level), seq, usec, target, args);
    r.push(b'\n');
}

/// Copies ring bytes from stream offset `off` into `buf`: `Ok(n)` (0 when nothing newer
/// than `off` was logged yet), or `Err(())` when `off` is older than what the ring holds.
pub fn read_at(off: u64, buf: &mut [u8]) -> Result<usize, ()> {
    let r = RING.lock();
    if off < r.start() {
        return Err(());
    }
    let n = (r.end.saturating_sub(off)).min(buf.len() as u64) as usize;
    for (i, b) in buf[..n].iter_mut().enumerate() {
        *b = r.buf[((off + i as u64) % RING_BYTES as u64) as usize];
    }
    Ok(n)
}

/// (oldest offset still held, offset after the newest byte, records logged since boot).
pub fn extent() -> (u64, u64, u64) {
    let r = RING.lock();
    (r.start(), r.end, r.seq)
}

struct ConsoleLog;

impl Log for ConsoleLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let target = record.target().strip_prefix("kernel::").unwrap_or(record.target());
            crate::kprintln!("[{:<5} {}] {}", record.level(), target, record.args());
            self::record(record.level(), target, *record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: ConsoleLog = ConsoleLog;

/// Installs the console logger at `level`.
pub fn init(level: LevelFilter) {
    // A second call fails harmlessly: the logger is already ours.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
