//! The CMOS real-time clock (DragonFly's `platform/pc64/isa/clock.c` `inittodr`): read once
//! at boot for the wall clock; its periodic interrupt (IRQ 8) serves as a test source for
//! IOAPIC routing.
use spin::Mutex;
use x86_64::instructions::port::Port;

const REG_A: u8 = 0x0a;
const REG_B: u8 = 0x0b;
const REG_C: u8 = 0x0c;
const A_UPDATE_IN_PROGRESS: u8 = 0x80;
const B_24H: u8 = 0x02;
const B_BINARY: u8 = 0x04;
const B_PERIODIC: u8 = 0x40;

/// The index/data port pair; taken with interrupts off (the IRQ 8 handler uses it too).
static CMOS: Mutex<()> = Mutex::new(());

fn cmos_read(reg: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index and data registers; reading a clock
    // register has no side effect except on register C, which only acknowledges IRQ 8.
    unsafe {
        Port::<u8>::new(0x70).write(reg);
        Port::<u8>::new(0x71).read()
    }
}

fn cmos_write(reg: u8, v: u8) {
    // SAFETY: as in `cmos_read`; only registers A and B are written, to start or stop the
    // periodic interrupt.
    unsafe {
        Port::<u8>::new(0x70).write(reg);
        Port::<u8>::new(0x71).write(v);
    }
}

fn locked<T>(f: impl FnOnce() -> T) -> T {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let _g = CMOS.lock();
        f()
    })
}

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

fn bcd(v: u8) -> u32 {
    (v >> 4) as u32 * 10 + (v & 0xf) as u32
}

/// Decodes raw clock registers (sec, min, hour, day, month, year, century) per register B's
/// format bits; `None` for values no clock can hold.
pub fn decode(raw: [u8; 7], reg_b: u8) -> Option<DateTime> {
    let conv = |v: u8| if reg_b & B_BINARY != 0 { v as u32 } else { bcd(v) };
    let pm = raw[2] & 0x80 != 0;
    let mut hour = conv(raw[2] & 0x7f);
    if reg_b & B_24H == 0 {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let century = if raw[6] != 0 { conv(raw[6]) } else { 20 };
    let t = DateTime {
        year: century * 100 + conv(raw[5]),
        month: conv(raw[4]),
        day: conv(raw[3]),
        hour,
        minute: conv(raw[1]),
        second: conv(raw[0]),
    };
    let ok = (1..=12).contains(&t.month)
        && (1..=31).contains(&t.day)
        && t.hour < 24
        && t.minute < 60
        && t.second < 60;
    ok.then_some(t)
}

fn read_raw(century_reg: u8) -> [u8; 7] {
    let regs = [0x00, 0x02, 0x04, 0x07, 0x08, 0x09];
    let mut raw = [0u8; 7];
    for (r, reg) in raw.iter_mut().zip(regs) {
        *r = cmos_read(reg);
    }
    raw[6] = if century_reg != 0 { cmos_read(century_reg) } else { 0 };
    raw
}

/// Reads the clock, waiting out an update in progress and re-reading until two reads agree
/// (bounded: a broken clock gives an error, not a hang).
pub fn read(century_reg: u8) -> Result<DateTime, &'static str> {
    locked(|| {
        let mut last = None;
        for _ in 0..10 {
            for _ in 0..1_000_000 {
                if cmos_read(REG_A) & A_UPDATE_IN_PROGRESS == 0 {
                    break;
                }
                core::hint::spin_loop();
            }
            let raw = read_raw(century_reg);
            if last == Some(raw) {
                return decode(raw, cmos_read(REG_B)).ok_or("RTC holds an impossible time");
            }
            last = Some(raw);
        }
        Err("RTC never read the same twice")
    })
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: u32, m: u32, d: u32) -> i64 {
    let y = y as i64 - if m <= 2 { 1 } else { 0 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl DateTime {
    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> u64 {
        let days = days_from_civil(self.year, self.month, self.day).max(0) as u64;
        days * 86_400 + self.hour as u64 * 3600 + self.minute as u64 * 60 + self.second as u64
    }
}

/// Starts the periodic interrupt at 1024 Hz (register A rate 6).
#[allow(dead_code)] // The IOAPIC routing test uses it; drivers will not.
pub fn start_periodic() {
    locked(|| {
        cmos_write(REG_A, (cmos_read(REG_A) & 0xf0) | 6);
        cmos_write(REG_B, cmos_read(REG_B) | B_PERIODIC);
        cmos_read(REG_C);
    });
}

/// Stops the periodic interrupt and acknowledges any pending one.
#[allow(dead_code)]
pub fn stop_periodic() {
    locked(|| {
        cmos_write(REG_B, cmos_read(REG_B) & !B_PERIODIC);
        cmos_read(REG_C);
    });
}

/// Acknowledges IRQ 8 (reading register C re-arms it).
#[allow(dead_code)]
pub fn ack_periodic() {
    locked(|| {
        cmos_read(REG_C);
    });
}
