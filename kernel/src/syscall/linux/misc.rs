//! System-wide and process-attribute calls: sched_yield, getrandom, sysinfo, prctl
//! (names), sched_getaffinity, getcpu.
use crate::arch::x86_64::copyio::copyout;
use crate::arch::x86_64::trap::TrapFrame;
use crate::proc::Lwp;
use abi::errno::*;
use alloc::sync::Arc;
use alloc::vec;
use core::sync::atomic::Ordering;

type R = Result<u64, i32>;

pub fn sched_yield(_: &Arc<Lwp>, _: &mut TrapFrame, _: [u64; 6]) -> R {
    crate::lwkt::sched::yield_now();
    Ok(0)
}

/// getrandom: from the kernel CSPRNG (seeded at boot, so GRND_RANDOM and GRND_NONBLOCK
/// never have to wait).
pub fn getrandom(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const GRND_NONBLOCK: u64 = 1;
    const GRND_RANDOM: u64 = 2;
    const GRND_INSECURE: u64 = 4;
    if a[2] & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || a[2] & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(EINVAL);
    }
    let len = (a[1] as usize).min(32 << 20);
    let mut buf = vec![0u8; len.min(256 * 1024)];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len());
        crate::dev::random::fill(&mut buf[..n]);
        copyout(a[0] + done as u64, &buf[..n])?;
        done += n;
    }
    Ok(done as u64)
}

/// sysinfo: uptime, load averages (16-bit fixed point), memory in bytes (mem_unit 1, as
/// Linux reports on 64-bit), process count. No swap, shared or buffer memory exists.
pub fn sysinfo(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let c = crate::mem::phys::page_counts();
    let loads = crate::lwkt::loadavg::fixed(16);
    let mut b = [0u8; 112];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    put(0, crate::time::nanotime() / 1_000_000_000);
    put(8, loads[0]);
    put(16, loads[1]);
    put(24, loads[2]);
    put(32, c.total * 4096);
    put(40, c.free * 4096);
    let procs = crate::proc::tree::count().min(u16::MAX as usize) as u16;
    b[80..82].copy_from_slice(&procs.to_ne_bytes());
    b[104..108].copy_from_slice(&1u32.to_ne_bytes());
    copyout(a[0], &b)?;
    Ok(0)
}

/// prctl: PR_SET_NAME and PR_GET_NAME (the 16-byte command name), PR_SET_PDEATHSIG and
/// PR_GET_PDEATHSIG (the signal a parent's death sends), PR_SET_CHILD_SUBREAPER and
/// PR_GET_CHILD_SUBREAPER (orphans below come here, not to PID 1); other options are not
/// there yet and get EINVAL, as Linux answers an option it does not know.
pub fn prctl(l: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_SET_CHILD_SUBREAPER: u64 = 36;
    const PR_GET_CHILD_SUBREAPER: u64 = 37;
    match a[0] {
        PR_SET_PDEATHSIG => {
            if a[1] > crate::proc::NSIG as u64 {
                return Err(EINVAL);
            }
            l.proc.pdeath_signal.store(a[1] as u32, Ordering::Relaxed);
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let sig = l.proc.pdeath_signal.load(Ordering::Relaxed) as i32;
            copyout(a[1], &sig.to_ne_bytes())?;
            Ok(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            l.proc.child_subreaper.store(a[1] != 0, Ordering::Relaxed);
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let on = l.proc.child_subreaper.load(Ordering::Relaxed) as i32;
            copyout(a[1], &on.to_ne_bytes())?;
            Ok(0)
        }
        PR_SET_NAME => {
            let mut b = [0u8; 16];
            let n = match crate::arch::x86_64::copyio::copyinstr(&mut b, a[1]) {
                Ok(n) => n,
                // Longer names are cut to 15 bytes, as Linux does.
                Err(ENAMETOOLONG) => 15,
                Err(e) => return Err(e),
            };
            *l.proc.comm.lock() = b[..n.min(15)].to_vec();
            Ok(0)
        }
        PR_GET_NAME => {
            let mut b = [0u8; 16];
            let c = l.proc.comm.lock().clone();
            b[..c.len().min(15)].copy_from_slice(&c[..c.len().min(15)]);
            copyout(a[1], &b)?;
            Ok(0)
        }
        _ => Err(EINVAL),
    }
}

/// getcpu(cpu, node, cache): the CPU running the caller now, node 0.
pub fn getcpu(_: &Arc<Lwp>, _: &mut TrapFrame, a: [u64; 6]) -> R {
    let cpu = crate::lwkt::globaldata::mycpu().cpuid as u32;
    if a[0] != 0 {
        copyout(a[0], &cpu.to_ne_bytes())?;
    }
    if a[1] != 0 {
        copyout(a[1], &0u32.to_ne_bytes())?;
    }
    Ok(0)
}
