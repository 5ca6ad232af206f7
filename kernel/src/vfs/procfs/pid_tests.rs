//! /proc/PID and /proc/self tests, from a kernel thread: the root lists the process table,
//! /proc/self does not resolve (a kernel thread is no process), and a process built here
//! (with an address space holding argv and envp where exec puts them) reads back through
//! every file in Linux's formats, alive and as a zombie.
use crate::ktest::Failure;
use crate::proc::{tree, ArgRange, Proc};
use crate::vfs::filedesc::FileDesc;
use crate::vfs::nlookup::{nlookup, Ctx};
use crate::vfs::ops::{read_dir, readlink_at, stat_at};
use crate::vfs::rootfs::kernel_ctx;
use crate::vfs::vnode::mode;
use crate::vm::mmap::mmap_anon;
use crate::vm::vmspace::VmSpace;
use crate::{kassert, kassert_eq, ktest};
use abi::errno::*;
use abi::mman::*;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

fn e<T>(r: Result<T, i32>, what: &str) -> Result<T, Failure> {
    r.map_err(|err| format!("{what}: errno {err}").into())
}

fn ctx() -> Result<Ctx, Failure> {
    kernel_ctx().ok_or_else(|| "no root".into())
}

/// Reads a file whole, 5 bytes at a time (offsets must line up).
fn read(c: &Ctx, path: &str) -> Result<Vec<u8>, Failure> {
    let h = e(nlookup(c, None, path.as_bytes(), true), path)?;
    let v = h.vnode().ok_or("negative")?;
    let mut out = Vec::new();
    let mut buf = [0u8; 5];
    loop {
        let n = e(v.node.read(out.len() as u64, &mut buf), path)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
        kassert!(out.len() < 1 << 20, "{} does not end", path);
    }
}

fn text(c: &Ctx, path: &str) -> Result<String, Failure> {
    String::from_utf8(read(c, path)?).map_err(|_| format!("{path}: not UTF-8").into())
}

/// The fields of a stat line: pid, comm (between the first `(` and the last `)`), then the rest.
fn stat_fields(line: &str) -> Result<(String, String, Vec<String>), Failure> {
    let open = line.find('(').ok_or("no (")?;
    let close = line.rfind(')').ok_or("no )")?;
    let pid = line[..open].trim().into();
    let comm = line[open + 1..close].into();
    let rest = line[close + 1..].split_whitespace().map(String::from).collect();
    Ok((pid, comm, rest))
}

/// A process with the kernel's root, `comm`, and no thread; taken out of the table on drop.
struct TestProc(Arc<Proc>);

impl TestProc {
    fn new(comm: &[u8]) -> Result<TestProc, Failure> {
        let c = ctx()?;
        let p = e(Proc::new(FileDesc::new(0), c.root.clone(), c.cwd.clone()), "Proc::new")?;
        *p.comm.lock() = comm.to_vec();
        Ok(TestProc(p))
    }
}

impl Drop for TestProc {
    fn drop(&mut self) {
        tree::discard(&self.0);
    }
}

ktest! {
    /// The root lists `self` and every pid of the process table as a directory; names that
    /// are no live pid (0, leading zeros, too large, not digits) are ENOENT.
    fn procfs_pid_listing() {
        let c = ctx()?;
        let t = TestProc::new(b"lister")?;
        let h = e(nlookup(&c, None, b"/proc", true), "/proc")?;
        let names: Vec<Vec<u8>> = e(read_dir(&c, &h), "readdir")?.into_iter().map(|d| d.name).collect();
        kassert!(names.iter().any(|n| n == b"self"), "no self");
        for p in tree::all() {
            let name = format!("{}", p.pid);
            kassert!(names.iter().any(|n| n == name.as_bytes()), "/proc lacks {}", name);
            let a = e(stat_at(&c, None, format!("/proc/{name}").as_bytes(), true), &name)?;
            kassert_eq!(a.mode, mode::S_IFDIR | 0o555);
        }
        let pid = t.0.pid;
        for bad in [String::from("/proc/0"), format!("/proc/0{pid}"), format!("/proc/{pid}x"), String::from("/proc/99999999999")] {
            kassert!(nlookup(&c, None, bad.as_bytes(), true).err() == Some(ENOENT), "{}", bad);
        }
        drop(t);
        // Gone from the table: gone from /proc, although the name was looked up before.
        kassert_eq!(nlookup(&c, None, format!("/proc/{pid}").as_bytes(), true).err(), Some(ENOENT));
        Ok(())
    }
}

ktest! {
    /// /proc/self is a symlink with no target for a kernel thread: ENOENT through it.
    fn procfs_self_kernel_thread() {
        let c = ctx()?;
        let a = e(stat_at(&c, None, b"/proc/self", false), "lstat /proc/self")?;
        kassert_eq!(a.mode & mode::S_IFMT, mode::S_IFLNK);
        kassert_eq!(readlink_at(&c, None, b"/proc/self").err(), Some(ENOENT));
        kassert_eq!(nlookup(&c, None, b"/proc/self/stat", true).err(), Some(ENOENT));
        Ok(())
    }
}

ktest! {
    /// A process's files: stat's 52 fields with pid, comm (parentheses and spaces kept),
    /// state, ppid, group and session; status; comm; cmdline and environ read from its
    /// memory; maps; the fd directory; the cwd and root links. Writes are EINVAL. As a
    /// zombie: state Z, exit code in stat, memory files empty.
    fn procfs_pid_files() {
        let c = ctx()?;
        let t = TestProc::new(b"a (b) c")?;
        let p = &t.0;
        let pid = p.pid;
        // An address space with argv and envp laid out as exec lays them out.
        let vs = e(VmSpace::new(), "vmspace")?;
        let base = 0x7000_0000u64;
        e(mmap_anon(&vs, base, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_GROWSDOWN), "mmap")?;
        let strings = b"prog\0-x\0HOME=/\0TERM=vt100\0";
        e(vs.copy_out(base + 0x1000, strings).map_err(|_| EFAULT), "copy_out")?;
        *p.vm.lock() = Arc::downgrade(&vs);
        let s = base + 0x1000;
        *p.args.lock() = ArgRange { arg_start: s, arg_end: s + 8, env_start: s + 8, env_end: s + strings.len() as u64 };

        let stat = text(&c, &format!("/proc/{pid}/stat"))?;
        kassert!(stat.ends_with('\n'), "{}", stat);
        let (fpid, comm, rest) = stat_fields(stat.trim_end())?;
        kassert_eq!(fpid, format!("{pid}"));
        kassert_eq!(comm.as_str(), "a (b) c");
        kassert!(rest.len() == 50, "{} fields: {}", rest.len(), stat);
        kassert_eq!(rest[0].as_str(), "R");
        kassert_eq!(rest[1].as_str(), "0");
        kassert_eq!(rest[2], format!("{pid}"));
        kassert_eq!(rest[3], format!("{pid}"));
        kassert_eq!(rest[20], format!("{}", 0x2000)); // vsize
        kassert_eq!(rest[45], format!("{s}")); // arg_start
        kassert_eq!(rest[49].as_str(), "0"); // exit_code

        let status = text(&c, &format!("/proc/{pid}/status"))?;
        for want in ["Name:\ta (b) c\n", "State:\tR (running)\n", "Uid:\t0\t0\t0\t0\n", "VmSize:\t       8 kB\n", "Threads:\t1\n"] {
            kassert!(status.contains(want), "status lacks {:?}: {}", want, status);
        }
        kassert!(status.contains(&format!("\nPid:\t{pid}\n")), "{}", status);
        kassert!(status.contains("\nPPid:\t0\n"), "{}", status);
        kassert_eq!(read(&c, &format!("/proc/{pid}/comm"))?, b"a (b) c\n".to_vec());
        kassert_eq!(read(&c, &format!("/proc/{pid}/cmdline"))?, b"prog\0-x\0".to_vec());
        kassert_eq!(read(&c, &format!("/proc/{pid}/environ"))?, b"HOME=/\0TERM=vt100\0".to_vec());
        let maps = text(&c, &format!("/proc/{pid}/maps"))?;
        kassert!(maps.starts_with("70000000-70002000 rw-p 00000000 00:00 0 "), "{}", maps);
        kassert!(maps.trim_end().ends_with("[stack]"), "{}", maps);
        kassert_eq!(maps.lines().count(), 1);

        // Descriptors: one open file shows as its path.
        let dev = e(crate::vfs::open::open_at(&c, None, b"/proc/version", 0, 0), "open")?;
        let fd = e(p.fd.install(dev, false), "install")?;
        kassert_eq!(e(readlink_at(&c, None, format!("/proc/{pid}/fd/{fd}").as_bytes()), "fd link")?, b"/proc/version".to_vec());
        let fdh = e(nlookup(&c, None, format!("/proc/{pid}/fd").as_bytes(), true), "fd dir")?;
        let names: Vec<Vec<u8>> = e(read_dir(&c, &fdh), "readdir fd")?.into_iter().map(|d| d.name).collect();
        kassert_eq!(names, alloc::vec![b".".to_vec(), b"..".to_vec(), format!("{fd}").into_bytes()]);
        kassert_eq!(nlookup(&c, None, format!("/proc/{pid}/fd/{}", fd + 1).as_bytes(), true).err(), Some(ENOENT));
        kassert_eq!(readlink_at(&c, None, format!("/proc/{pid}/cwd").as_bytes()).ok(), Some(b"/".to_vec()));
        kassert_eq!(readlink_at(&c, None, format!("/proc/{pid}/root").as_bytes()).ok(), Some(b"/".to_vec()));
        kassert_eq!(readlink_at(&c, None, format!("/proc/{pid}/exe").as_bytes()).err(), Some(ENOENT));
        let v = e(nlookup(&c, None, format!("/proc/{pid}/stat").as_bytes(), true), "stat")?.vnode().ok_or("negative")?;
        kassert_eq!(v.node.write(0, b"x"), Err(EINVAL));
        kassert_eq!(nlookup(&c, None, format!("/proc/{pid}/nothere").as_bytes(), true).err(), Some(ENOENT));

        // A zombie: stat, status and comm stay; memory and descriptors read empty.
        *p.zombie.lock() = Some(3 << 8);
        let (_, _, rest) = stat_fields(text(&c, &format!("/proc/{pid}/stat"))?.trim_end())?;
        kassert_eq!(rest[0].as_str(), "Z");
        kassert_eq!(rest[49], format!("{}", 3 << 8));
        kassert!(text(&c, &format!("/proc/{pid}/status"))?.contains("State:\tZ (zombie)\n"), "zombie status");
        kassert_eq!(read(&c, &format!("/proc/{pid}/comm"))?, b"a (b) c\n".to_vec());
        kassert!(read(&c, &format!("/proc/{pid}/cmdline"))?.is_empty(), "zombie cmdline");
        kassert!(read(&c, &format!("/proc/{pid}/maps"))?.is_empty(), "zombie maps");
        let names = e(read_dir(&c, &fdh), "zombie fd")?;
        kassert_eq!(names.len(), 2);
        p.fd.close_all();
        Ok(())
    }
}
