//! The memory devices (Linux's drivers/char/mem.c numbering, DragonFly's kern_memio.c
//! behaviour): /dev/null, /dev/zero and /dev/full.
use super::ops::DevOps;
use abi::errno::ENOSPC;

/// /dev/null (1:3): reads are at end of file, writes vanish whole.
pub struct Null;

impl DevOps for Null {
    fn read(&self, _off: u64, _buf: &mut [u8], _flags: u32) -> Result<usize, i32> {
        Ok(0)
    }

    fn write(&self, _off: u64, buf: &[u8], _flags: u32) -> Result<usize, i32> {
        Ok(buf.len())
    }
}

/// /dev/zero (1:5): reads give zeros, writes vanish; mappings are anonymous memory.
pub struct Zero;

impl DevOps for Zero {
    fn read(&self, _off: u64, buf: &mut [u8], _flags: u32) -> Result<usize, i32> {
        buf.fill(0);
        Ok(buf.len())
    }

    fn write(&self, _off: u64, buf: &[u8], _flags: u32) -> Result<usize, i32> {
        Ok(buf.len())
    }

    fn mmap_is_anonymous(&self) -> bool {
        true
    }
}

/// /dev/full (1:7): reads give zeros, writes fail with ENOSPC.
pub struct Full;

impl DevOps for Full {
    fn read(&self, _off: u64, buf: &mut [u8], _flags: u32) -> Result<usize, i32> {
        buf.fill(0);
        Ok(buf.len())
    }

    fn write(&self, _off: u64, buf: &[u8], _flags: u32) -> Result<usize, i32> {
        // Linux: a zero-length write succeeds; anything else finds the device full.
        if buf.is_empty() {
            Ok(0)
        } else {
            Err(ENOSPC)
        }
    }
}
