//! /dev/random and /dev/urandom (Linux's drivers/char/random.c design, DragonFly's
//! kern_nrandom.c role): a ChaCha20 generator with fast key erasure. The key is seeded at
//! boot from RDSEED, RDRAND and TSC jitter, reseeded from them every [`RESEED_NS`], and
//! stirred with whatever is written to the devices. Each request takes a fresh per-request
//! key from the generator under a short lock (and replaces the generator's key in the same
//! step, so earlier output cannot be recomputed from a later state), then produces its
//! output without the lock.
pub mod chacha20;
pub mod entropy;

use super::ops::{poll, DevOps, O_NONBLOCK};
use crate::sync::spinlock::SpinLock;
use abi::errno::EAGAIN;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Reseed from the hardware and jitter at least this often (Linux's crng interval).
pub const RESEED_NS: u64 = 60 * 1_000_000_000;
/// Output produced per per-request key before taking a new one.
const CHUNK: usize = 64 * 1024;

struct Crng {
    key: [u32; 8],
    /// nanotime of the last reseed.
    reseeded_at: u64,
}

static CRNG: SpinLock<Crng> = SpinLock::new(Crng { key: [0; 8], reseeded_at: 0 });
static SEEDED: AtomicBool = AtomicBool::new(false);
/// Reseeds so far (the boot seeding included).
pub static RESEEDS: AtomicU64 = AtomicU64::new(0);

/// Replaces the key by ChaCha20 keyed with the old key XOR `material[..8]`, at a counter
/// and nonce from `material[8..]`: a one-way mix that keeps all earlier entropy.
fn mix(key: &mut [u32; 8], material: &[u32; 16]) {
    let mut k = *key;
    for (w, m) in k.iter_mut().zip(&material[..8]) {
        *w ^= m;
    }
    let out = chacha20::block_words(&k, material[11], &[material[8], material[9], material[10]]);
    for (i, w) in key.iter_mut().enumerate() {
        *w = out[i] ^ material[12 + i % 4];
    }
}

/// Gathers fresh entropy and mixes it into the generator.
pub fn reseed() -> entropy::Sources {
    let mut material = [0u32; 16];
    let src = entropy::gather(&mut material);
    {
        let mut g = CRNG.lock();
        mix(&mut g.key, &material);
        g.reseeded_at = crate::time::nanotime();
    }
    material.fill(0);
    core::hint::black_box(&material);
    SEEDED.store(true, Ordering::Release);
    RESEEDS.fetch_add(1, Ordering::Relaxed);
    src
}

/// Seeds the generator at boot (logging where the entropy came from).
pub fn init() {
    let s = reseed();
    log::info!(
        "random: ChaCha20 seeded ({} RDSEED, {} RDRAND, {} jitter words)",
        s.rdseed,
        s.rdrand,
        s.jitter
    );
}

/// True once the generator has been seeded.
pub fn seeded() -> bool {
    SEEDED.load(Ordering::Acquire)
}

/// Stirs caller data (a write to the devices) into the key; credits no entropy.
pub fn absorb(data: &[u8]) {
    for chunk in data.chunks(32) {
        let mut material = [0u32; 16];
        for (i, b) in chunk.iter().enumerate() {
            material[i / 4] |= (*b as u32) << (8 * (i % 4));
        }
        material[8] = chunk.len() as u32;
        mix(&mut CRNG.lock().key, &material);
    }
}

/// A per-request key: derived from the generator's key, which is replaced in the same step.
fn take_key() -> [u32; 8] {
    let due = {
        let g = CRNG.lock();
        crate::time::nanotime().saturating_sub(g.reseeded_at) >= RESEED_NS
    };
    if due || !seeded() {
        reseed();
    }
    let mut g = CRNG.lock();
    let b = chacha20::block_words(&g.key, 0, &[0, 0, 0]);
    g.key.copy_from_slice(&b[..8]);
    let mut k = [0u32; 8];
    k.copy_from_slice(&b[8..]);
    k
}

/// Fills `buf` with generator output; never blocks (seeds first if that has not happened).
pub fn fill(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(CHUNK) {
        let mut key = take_key();
        for (i, out) in chunk.chunks_mut(64).enumerate() {
            let block = chacha20::block(&key, i as u32, &[0, 0, 0]);
            out.copy_from_slice(&block[..out.len()]);
        }
        key.fill(0);
        core::hint::black_box(&key);
    }
}

/// RNDGETENTCNT: the entropy count, in bits, a seeded pool reports.
const RNDGETENTCNT: u32 = 0x8004_5200;

/// /dev/random (1:8) when `blocking`, /dev/urandom (1:9) otherwise. Reads before the first
/// seeding seed the generator on the spot (RDRAND and jitter are there from boot, as
/// Linux's jitter fallback is), so neither really waits; /dev/random with O_NONBLOCK says
/// EAGAIN in that window, as Linux does.
pub struct Random {
    /// /dev/random's wait-for-seeding semantics.
    pub blocking: bool,
}

impl DevOps for Random {
    fn read(&self, _off: u64, buf: &mut [u8], flags: u32) -> Result<usize, i32> {
        if self.blocking && !seeded() && flags & O_NONBLOCK != 0 {
            return Err(EAGAIN);
        }
        fill(buf);
        Ok(buf.len())
    }

    fn write(&self, _off: u64, buf: &[u8], _flags: u32) -> Result<usize, i32> {
        absorb(buf);
        Ok(buf.len())
    }

    fn ioctl(&self, cmd: u32, arg: u64, _flags: u32) -> Result<i64, i32> {
        match cmd {
            RNDGETENTCNT => {
                crate::arch::x86_64::copyio::store_u32(arg, if seeded() { 256 } else { 0 })?;
                Ok(0)
            }
            _ => Err(abi::errno::ENOTTY),
        }
    }

    fn poll(&self, events: u16) -> u16 {
        if self.blocking && !seeded() {
            events & poll::WRITABLE
        } else {
            events & poll::READY
        }
    }
}
