//! Entropy sources for the CSPRNG: the CPU's RDSEED (where present: TCG's `-cpu max` has
//! none) and RDRAND, and timing jitter of the TSC around work whose duration varies
//! (cache, interrupts, the host under TCG). Jitter alone is weak under emulation, which is
//! why every source is mixed in rather than trusted alone.
use crate::arch::x86_64::cpu;
use crate::time::tsc::rdtsc;

/// Tries each instruction this many times before giving up (Intel's advice for RDRAND).
const RETRIES: u32 = 10;

/// Which sources contributed to a seed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// Words from RDSEED.
    pub rdseed: u32,
    /// Words from RDRAND.
    pub rdrand: u32,
    /// Words of TSC jitter.
    pub jitter: u32,
}

#[target_feature(enable = "rdrand")]
fn rdrand_step() -> Option<u64> {
    let mut v = 0u64;
    (core::arch::x86_64::_rdrand64_step(&mut v) == 1).then_some(v)
}

#[target_feature(enable = "rdseed")]
fn rdseed_step() -> Option<u64> {
    let mut v = 0u64;
    (core::arch::x86_64::_rdseed64_step(&mut v) == 1).then_some(v)
}

/// A 64-bit word from RDRAND, if the CPU has it and it delivered.
pub fn rdrand64() -> Option<u64> {
    if !cpu::features().rdrand {
        return None;
    }
    // SAFETY: the feature is present (checked above), which is all `target_feature` requires.
    (0..RETRIES).find_map(|_| unsafe { rdrand_step() })
}

/// A 64-bit word from RDSEED, if the CPU has it and it delivered.
pub fn rdseed64() -> Option<u64> {
    if !cpu::features().rdseed {
        return None;
    }
    // SAFETY: the feature is present (checked above).
    (0..RETRIES).find_map(|_| unsafe { rdseed_step() })
}

/// 64 bits folded from the low bits of TSC deltas around a memory walk whose length depends
/// on the previous delta.
pub fn jitter64() -> u64 {
    let mut scratch = [0u64; 64];
    let mut acc = 0u64;
    let mut last = rdtsc();
    for i in 0..64usize {
        // Data-dependent work: the walk's length and stride follow earlier timings.
        let n = 8 + (last as usize & 31);
        for j in 0..n {
            let k = (j * 7 + i + (acc as usize)) & 63;
            scratch[k] = scratch[k].wrapping_add(last ^ j as u64).rotate_left(5);
        }
        let now = rdtsc();
        let delta = now.wrapping_sub(last);
        acc = acc.rotate_left(7) ^ delta ^ core::hint::black_box(scratch[i & 63]);
        last = now;
    }
    acc
}

/// Fills `out` with seed material: each word XORs RDSEED, RDRAND and jitter as available.
pub fn gather(out: &mut [u32; 16]) -> Sources {
    let mut src = Sources::default();
    for pair in out.chunks_exact_mut(2) {
        let mut w = jitter64();
        src.jitter += 1;
        if let Some(s) = rdseed64() {
            w ^= s;
            src.rdseed += 1;
        }
        if let Some(r) = rdrand64() {
            w ^= r.rotate_left(32);
            src.rdrand += 1;
        }
        pair[0] ^= w as u32;
        pair[1] ^= (w >> 32) as u32;
    }
    src
}
