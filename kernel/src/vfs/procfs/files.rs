//! The generated files other than cpuinfo, each in Linux's format (fs/proc/*.c).
use crate::lwkt::globaldata::{globaldata, ncpus};
use crate::lwkt::smp::online_mask;
use crate::mem::malloc_type;
use crate::mem::phys;
use crate::vfs::mount::{self, Mount};
use crate::vfs::namecache::NcHandle;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// Linux's USER_HZ: the unit of /proc/stat's times (equal to the kernel's HZ here).
const USER_HZ: u64 = 100;
const NS_PER_TICK: u64 = 1_000_000_000 / USER_HZ;

/// The CPUs that are running, as globaldata.
fn online() -> impl Iterator<Item = &'static crate::lwkt::globaldata::GlobalData> {
    let mask = online_mask();
    (0..ncpus()).filter(move |&c| c < 64 && mask & (1 << c) != 0).filter_map(globaldata)
}

/// /proc/meminfo: what the page allocator and kmalloc can honestly tell. There is no
/// buffer cache, page cache or swap yet, so Buffers, Cached and the swap lines are 0 (a
/// tmpfs file's pages are its own anonymous memory, not cache), and MemAvailable is MemFree.
/// Slab is every malloc type's bytes in use. Wired kernel pages have no Linux key that means
/// the same thing (Unevictable counts mlocked user pages), so they are left out.
pub fn meminfo() -> String {
    let c = phys::page_counts();
    let kb = |pages: u64| pages * 4;
    let mut slab = 0i64;
    malloc_type::for_each_type(|t| slab += t.stats().memuse.max(0));
    let slab_kb = slab as u64 / 1024;
    let mut s = String::new();
    let mut line = |k: &str, v: u64| {
        let _ = writeln!(s, "{:<16}{:>8} kB", alloc::format!("{k}:"), v);
    };
    line("MemTotal", kb(c.total));
    line("MemFree", kb(c.free));
    line("MemAvailable", kb(c.free));
    line("Buffers", 0);
    line("Cached", 0);
    line("SwapCached", 0);
    line("SwapTotal", 0);
    line("SwapFree", 0);
    line("Slab", slab_kb);
    line("SReclaimable", 0);
    line("SUnreclaim", slab_kb);
    s
}

/// /proc/uptime: seconds since boot and idle seconds summed over CPUs (time spent halted
/// in the idle threads), two decimals each.
pub fn uptime() -> String {
    let up = crate::time::nanotime();
    let idle: u64 = online().map(|gd| gd.stats.idle_ns.load(Ordering::Relaxed)).sum();
    let cs = |ns: u64| (ns / 1_000_000_000, ns / 10_000_000 % 100);
    let (us, uc) = cs(up);
    let (is, ic) = cs(idle);
    alloc::format!("{us}.{uc:02} {is}.{ic:02}\n")
}

/// /proc/loadavg: the 1, 5 and 15 minute load averages (lwkt::loadavg, sampled every 5 s
/// from every CPU's run queue), then `runnable/total` (runnable threads at the CPUs' last
/// ticks, at least the reader; kernel threads alive) and the last thread id handed out.
pub fn loadavg() -> String {
    use crate::lwkt::{loadavg, thread};
    let a = loadavg::averages();
    alloc::format!(
        "{}.{:02} {}.{:02} {}.{:02} {}/{} {}\n",
        a[0].0,
        a[0].1,
        a[1].0,
        a[1].1,
        a[2].0,
        a[2].1,
        loadavg::runnable().max(1),
        thread::live(),
        thread::created()
    )
}

/// Boot time in Unix seconds (the RTC at boot).
fn btime() -> u64 {
    crate::time::realtime().saturating_sub(crate::time::nanotime()) / 1_000_000_000
}

/// /proc/stat. Per CPU: idle is the time the idle thread spent halted, user the ticks a
/// user thread held the CPU's user slot (the user scheduler's run count), system the rest
/// of the clock ticks, in USER_HZ units. `intr` is the total and then the count per interrupt vector (0-255), `ctxt` the
/// context switches, `processes` the threads created since boot.
pub fn stat() -> String {
    let mut s = String::new();
    let rows: Vec<(usize, u64, u64, u64)> = online()
        .map(|gd| {
            let ticks = gd.ticks.load(Ordering::Relaxed);
            let idle = gd.stats.idle_ns.load(Ordering::Relaxed) / NS_PER_TICK;
            let user = crate::sched::pcpu(gd.cpuid).user_ticks.load(Ordering::Relaxed);
            (gd.cpuid, user, ticks.saturating_sub(idle).saturating_sub(user), idle)
        })
        .collect();
    let (user, sys, idle) = rows.iter().fold((0, 0, 0), |(a, b, c), r| (a + r.1, b + r.2, c + r.3));
    let _ = writeln!(s, "cpu  {user} 0 {sys} {idle} 0 0 0 0 0 0");
    for (cpu, user, sys, idle) in &rows {
        let _ = writeln!(s, "cpu{cpu} {user} 0 {sys} {idle} 0 0 0 0 0 0");
    }
    let per_vector: Vec<u64> =
        (0..=255u8).map(|v| (0..ncpus()).map(|c| crate::arch::x86_64::intr::count(c, v)).sum()).collect();
    let _ = write!(s, "intr {}", per_vector.iter().sum::<u64>());
    for n in &per_vector {
        let _ = write!(s, " {n}");
    }
    s.push('\n');
    let switches = crate::lwkt::stats::total(|st| &st.switches);
    let _ = writeln!(s, "ctxt {switches}");
    let _ = writeln!(s, "btime {}", btime());
    let _ = writeln!(s, "processes {}", crate::lwkt::thread::created());
    let _ = writeln!(s, "procs_running 1");
    let _ = writeln!(s, "procs_blocked 0");
    // Linux's ten softirq counters: nothing here runs softirqs.
    let _ = writeln!(s, "softirq 0 0 0 0 0 0 0 0 0 0 0");
    s
}

/// Appends `name` as /proc/mounts escapes it (space, tab, newline and backslash in octal).
fn push_escaped(out: &mut String, name: &[u8]) {
    for &b in name {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => {
                let _ = write!(out, "\\{b:03o}");
            }
            _ => out.push(char::from(b)),
        }
    }
}

/// The absolute path of a namecache handle, from the root mount.
pub fn path_of(h: &NcHandle) -> Vec<u8> {
    match crate::vfs::mount::root() {
        Some(root) => crate::vfs::ops::path_of(h, &root),
        None => b"/".to_vec(),
    }
}

/// Where a mount is mounted.
pub fn mountpoint(m: &Arc<Mount>) -> Vec<u8> {
    m.covered().map_or_else(|| b"/".to_vec(), |c| path_of(&c))
}

/// /proc/mounts: `source mountpoint fstype rw 0 0`, in mount order.
pub fn mounts() -> String {
    let mut s = String::new();
    for m in mount::list() {
        push_escaped(&mut s, &m.source);
        s.push(' ');
        push_escaped(&mut s, &mountpoint(&m));
        let _ = writeln!(s, " {} rw 0 0", m.fs_name);
    }
    s
}

/// /proc/filesystems: the filesystem types this kernel has, none needing a block device.
pub fn filesystems() -> String {
    String::from("nodev\ttmpfs\nnodev\tdevfs\nnodev\tproc\n")
}

/// /proc/version, as a Linux program expects it. There is one view now; with processes, a
/// native process will read Damselfly's own line (the dual ABI picks per process).
pub fn version() -> String {
    alloc::format!(
        "Linux version 6.1.0-damselfly (damselfly@damselfly) (rustc) #1 SMP PREEMPT Damselfly {}\n",
        crate::VERSION
    )
}
