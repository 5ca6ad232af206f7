//! procfs tests: every file exists, parses, and tells the truth the kernel can check;
//! reads at offsets are consistent; the mount table shows /, /dev and /proc.
use crate::ktest::Failure;
use crate::vfs::nlookup::{nlookup, Ctx};
use crate::vfs::ops::{create_at, read_dir, stat_at};
use crate::vfs::rootfs::kernel_ctx;
use crate::vfs::vnode::{mode, VType};
use crate::{kassert, kassert_eq, ktest};
use abi::errno::*;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

fn e<T>(r: Result<T, i32>, what: &str) -> Result<T, Failure> {
    r.map_err(|err| format!("{what}: errno {err}").into())
}

fn ctx() -> Result<Ctx, Failure> {
    kernel_ctx().ok_or_else(|| "no root".into())
}

/// Reads a /proc file whole, `chunk` bytes at a time at increasing offsets.
fn read_proc(c: &Ctx, name: &str, chunk: usize) -> Result<String, Failure> {
    let path = format!("/proc/{name}");
    let h = e(nlookup(c, None, path.as_bytes(), true), &path)?;
    kassert_eq!(h.mount.fs_name, "proc");
    let v = h.vnode().ok_or("negative")?;
    let mut out = Vec::new();
    let mut buf = alloc::vec![0u8; chunk];
    loop {
        let n = e(v.node.read(out.len() as u64, &mut buf), "read")?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        kassert!(out.len() < 1 << 20, "{} does not end", path);
    }
    String::from_utf8(out).map_err(|_| format!("{path}: not UTF-8").into())
}

/// The `kB` value of a meminfo key.
fn kb(text: &str, key: &str) -> Result<u64, Failure> {
    let line = text.lines().find(|l| l.starts_with(&format!("{key}:"))).ok_or_else(|| format!("no {key}"))?;
    kassert!(line.ends_with(" kB"), "{}", line);
    let num = line[key.len() + 1..line.len() - 3].trim();
    num.parse().map_err(|_| format!("{key}: bad number `{num}`").into())
}

fn online_cpus() -> usize {
    crate::lwkt::smp::online_mask().count_ones() as usize
}

ktest! {
    /// /proc lists its files; each is a 0444 regular file of size 0 that refuses writes
    /// (EIO); /proc/mounts links to self/mounts; the directory takes no new names.
    fn procfs_layout() {
        let c = ctx()?;
        let h = e(nlookup(&c, None, b"/proc", true), "/proc")?;
        let names: Vec<Vec<u8>> = e(read_dir(&c, &h), "readdir")?.into_iter().map(|d| d.name).collect();
        for want in ["cpuinfo", "filesystems", "kcounters", "loadavg", "meminfo", "stat", "uptime", "version"] {
            kassert!(names.iter().any(|n| n == want.as_bytes()), "/proc lacks {}", want);
            let a = e(stat_at(&c, None, format!("/proc/{want}").as_bytes(), true), want)?;
            kassert_eq!(a.mode, mode::S_IFREG | 0o444);
            kassert_eq!(a.size, 0);
        }
        let v = e(nlookup(&c, None, b"/proc/meminfo", true), "meminfo")?.vnode().ok_or("negative")?;
        kassert_eq!(v.node.write(0, b"x"), Err(EIO));
        let m = e(nlookup(&c, None, b"/proc/mounts", false), "mounts")?.vnode().ok_or("negative")?;
        kassert_eq!(m.node.readlink().ok(), Some(b"self/mounts".to_vec()));
        kassert_eq!(create_at(&c, None, b"/proc/new", VType::Reg, 0o644, 0).err(), Some(ENOENT));
        kassert_eq!(nlookup(&c, None, b"/proc/nothere", true).err(), Some(ENOENT));
        Ok(())
    }
}

ktest! {
    /// Reads at offsets: a file read 1, 7 and 4096 bytes at a time gives the same text,
    /// and a read past the end gives 0.
    fn procfs_offsets() {
        let c = ctx()?;
        for name in ["version", "filesystems", "cpuinfo"] {
            let whole = read_proc(&c, name, 4096)?;
            kassert!(!whole.is_empty(), "{} empty", name);
            kassert_eq!(read_proc(&c, name, 7)?, whole);
            kassert_eq!(read_proc(&c, name, 1)?, whole);
        }
        let v = e(nlookup(&c, None, b"/proc/version", true), "version")?.vnode().ok_or("negative")?;
        let mut buf = [0u8; 8];
        kassert_eq!(e(v.node.read(1 << 20, &mut buf), "read past end")?, 0);
        kassert_eq!(e(v.node.read(u64::MAX, &mut buf), "read at u64::MAX")?, 0);
        Ok(())
    }
}

ktest! {
    /// meminfo: Linux's "Key:   N kB" lines, MemTotal >= MemAvailable >= MemFree > 0,
    /// MemTotal matching the page allocator.
    fn procfs_meminfo() {
        let c = ctx()?;
        let t = read_proc(&c, "meminfo", 4096)?;
        let total = kb(&t, "MemTotal")?;
        let free = kb(&t, "MemFree")?;
        let avail = kb(&t, "MemAvailable")?;
        kassert!(total >= avail && avail >= free && free > 0, "total {} avail {} free {}", total, avail, free);
        kassert_eq!(total, crate::mem::phys::page_counts().total * 4);
        for key in ["Buffers", "Cached", "SwapTotal", "Slab"] {
            kb(&t, key)?;
        }
        kassert!(kb(&t, "Slab")? > 0, "no kmalloc memory in use?");
        kassert!(t.lines().all(|l| l.len() >= 27 && l.as_bytes()[15] == b' '), "layout:\n{}", t);
        Ok(())
    }
}

ktest! {
    /// cpuinfo: one block per online CPU with processor numbers in order, vendor, model
    /// name, MHz from the TSC and CPUID flags (fpu, tsc, lm at least).
    fn procfs_cpuinfo() {
        let c = ctx()?;
        let t = read_proc(&c, "cpuinfo", 4096)?;
        let procs: Vec<usize> = t
            .lines()
            .filter_map(|l| l.strip_prefix("processor\t: "))
            .map(|n| n.parse().unwrap_or(usize::MAX))
            .collect();
        kassert_eq!(procs.len(), online_cpus());
        kassert!(procs.windows(2).all(|w| w[0] < w[1]), "processor numbers {:?}", procs);
        kassert_eq!(t.split("\n\n").filter(|b| !b.trim().is_empty()).count(), online_cpus());
        let mhz = t.lines().find_map(|l| l.strip_prefix("cpu MHz\t\t: ")).ok_or("no cpu MHz")?;
        let whole: u64 = mhz.split('.').next().unwrap_or("").parse().map_err(|_| "bad MHz")?;
        kassert_eq!(whole, crate::time::tsc::hz() / 1_000_000);
        let flags = t.lines().find_map(|l| l.strip_prefix("flags\t\t: ")).ok_or("no flags")?;
        for f in ["fpu", "tsc", "lm", "nx", "sse2"] {
            kassert!(flags.split(' ').any(|x| x == f), "flag {} missing from {}", f, flags);
        }
        let rdrand = flags.split(' ').any(|x| x == "rdrand");
        kassert_eq!(rdrand, crate::arch::x86_64::cpu::features().rdrand);
        kassert!(t.lines().any(|l| l.starts_with("vendor_id\t: ") && l.len() > 12), "no vendor");
        kassert!(t.lines().any(|l| l.starts_with("model name\t: ")), "no model name");
        Ok(())
    }
}

ktest! {
    /// uptime, loadavg, stat and version parse and agree with the kernel's counters.
    fn procfs_counters() {
        let c = ctx()?;
        // At least one switch to count, however quiet the machine was before this test.
        let latch = crate::vfs::file_tests::Latch::new();
        let l = latch.clone();
        crate::vfs::file_tests::spawn_on(0, "t-ctxt", move || l.arrive())?;
        latch.wait(1)?;
        let up = read_proc(&c, "uptime", 4096)?;
        let f: Vec<&str> = up.trim_end().split(' ').collect();
        kassert!(f.len() == 2 && f.iter().all(|x| x.split_once('.').is_some_and(|(a, b)| a.parse::<u64>().is_ok() && b.len() == 2 && b.parse::<u64>().is_ok())), "uptime `{}`", up);
        let secs: u64 = f[0].split('.').next().unwrap_or("").parse().map_err(|_| "uptime")?;
        kassert!(secs == crate::time::nanotime() / 1_000_000_000 || secs + 1 == crate::time::nanotime() / 1_000_000_000, "uptime {} s", secs);
        let la = read_proc(&c, "loadavg", 4096)?;
        let f: Vec<&str> = la.trim_end().split(' ').collect();
        kassert!(f.len() == 5 && f[3].split_once('/').is_some_and(|(r, t)| r.parse::<u64>().is_ok() && t.parse::<u64>().is_ok_and(|t| t >= 1)), "loadavg `{}`", la);
        let st = read_proc(&c, "stat", 4096)?;
        kassert!(st.starts_with("cpu  "), "stat starts `{}`", &st[..st.len().min(20)]);
        let per_cpu = st.lines().filter(|l| l.starts_with("cpu") && !l.starts_with("cpu ")).count();
        kassert_eq!(per_cpu, online_cpus());
        let field = |k: &str| -> Result<u64, Failure> {
            let l = st.lines().find(|l| l.starts_with(&format!("{k} "))).ok_or_else(|| format!("no {k}"))?;
            l.split(' ').nth(1).and_then(|n| n.parse().ok()).ok_or_else(|| format!("bad {k}").into())
        };
        kassert!(field("ctxt")? > 0, "no context switches");
        kassert!(field("intr")? > 0, "no interrupts");
        kassert!(field("btime")? > 1_600_000_000, "btime {}", field("btime")?);
        kassert!(field("processes")? >= 1, "processes");
        let intr_fields = st.lines().find(|l| l.starts_with("intr ")).map_or(0, |l| l.split(' ').count());
        kassert_eq!(intr_fields, 2 + 256);
        let ver = read_proc(&c, "version", 4096)?;
        kassert!(ver.starts_with("Linux version 6.1.0-damselfly ") && ver.ends_with('\n'), "version `{}`", ver);
        let fs = read_proc(&c, "filesystems", 4096)?;
        kassert_eq!(fs, "nodev\ttmpfs\nnodev\tdevfs\nnodev\tproc\n");
        Ok(())
    }
}

ktest! {
    /// mounts lists the root tmpfs on /, devfs on /dev and procfs on /proc, and a mount
    /// made (and removed) during the test at its nested path.
    fn procfs_mounts() {
        let c = ctx()?;
        // /proc/mounts is a link to self/mounts, which a kernel thread has not: the text.
        let t = super::files::mounts();
        let lines: Vec<&str> = t.lines().collect();
        kassert_eq!(lines.first().copied(), Some("rootfs / tmpfs rw 0 0"));
        kassert!(lines.contains(&"devfs /dev devfs rw 0 0"), "mounts:\n{}", t);
        kassert!(lines.contains(&"proc /proc proc rw 0 0"), "mounts:\n{}", t);
        // A nested mount: /scratch-mnt/in a b (a space, escaped as \040).
        let dir = e(crate::vfs::ops::mkdir_at(&c, None, b"/scratch-mnt", 0o755), "mkdir")?;
        let m1 = crate::vfs::tmpfs::mount("outer", 0o755, 0, 0);
        e(crate::vfs::mount::mount_on(&dir, m1.clone()), "mount outer")?;
        let inner = e(crate::vfs::ops::mkdir_at(&c, None, b"/scratch-mnt/in a", 0o755), "mkdir inner")?;
        let m2 = crate::vfs::tmpfs::mount("inner", 0o755, 0, 0);
        e(crate::vfs::mount::mount_on(&inner, m2.clone()), "mount inner")?;
        drop((dir, inner));
        let t = super::files::mounts();
        kassert!(t.lines().any(|l| l == "outer /scratch-mnt tmpfs rw 0 0"), "mounts:\n{}", t);
        kassert!(t.lines().any(|l| l == "inner /scratch-mnt/in\\040a tmpfs rw 0 0"), "mounts:\n{}", t);
        let (r2, r1) = (m2.root(), m1.root());
        drop((m1, m2));
        e(crate::vfs::mount::unmount(r2), "unmount inner")?;
        e(crate::vfs::mount::unmount(r1), "unmount outer")?;
        e(crate::vfs::ops::remove_at(&c, None, b"/scratch-mnt", true), "rmdir")?;
        kassert!(!super::files::mounts().contains("scratch-mnt"), "unmounted mount still listed");
        Ok(())
    }
}
