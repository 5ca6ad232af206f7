//! exec and its image activators (DragonFly's kern_exec.c, imgact_elf.c, imgact_shell.c):
//! find the file, let the activator that recognises it build a new address space (ELF:
//! loadable segments mapped copy-on-write from the file's VM object, bss zeroed, a stack
//! with argv, envp and the auxiliary vector Linux libcs expect), then replace the process
//! image. `#!` scripts run their interpreter with the script's path.
use super::usermd::UserMd;
use super::Lwp;
use crate::arch::x86_64::copyio::copyout;
use crate::vfs::cred::access;
use crate::vfs::namecache::NcHandle;
use crate::vfs::nlookup::nlookup;
use crate::vfs::vnode::VType;
use crate::vm::mmap::{mmap, mprotect, set_brk_base, MapSource};
use crate::vm::{Prot, VmSpace};
use abi::elf::{pf, Brand, Image, ET_DYN};
use abi::errno::{E2BIG, EACCES, ENOEXEC, ENOMEM};
use abi::mman::*;
use alloc::sync::Arc;
use alloc::vec::Vec;

const PAGE: u64 = 4096;
/// Where position-independent executables are loaded (Linux's ELF_ET_DYN_BASE area).
const PIE_BASE: u64 = 0x5555_5555_4000;
/// Top of the user stack (below the unmapped top page and a guard gap).
const STACK_TOP: u64 = 0x7fff_ffff_e000;
/// The stack mapped at exec; it grows down on demand to the limit.
const STACK_INITIAL: u64 = 256 * 1024;
/// Largest argument + environment size accepted (Linux's 32 pages * 4 = 128 KiB default MAX_ARG_STRLEN-ish).
const ARG_MAX: usize = 2 * 1024 * 1024;
/// `#!` interpreters followed at most this deep.
const MAX_INTERP_DEPTH: u32 = 4;
/// Largest executable read into memory for parsing.
const MAX_IMAGE: u64 = 512 << 20;

/// Where the new image starts.
pub struct Entry {
    /// Instruction pointer.
    pub rip: u64,
    /// Stack pointer (argc at [rsp]).
    pub rsp: u64,
}

fn page_down(v: u64) -> u64 {
    v & !(PAGE - 1)
}

fn page_up(v: u64) -> u64 {
    v.saturating_add(PAGE - 1) & !(PAGE - 1)
}

fn prot_of(flags: u32) -> u64 {
    let mut p = 0;
    if flags & pf::R != 0 {
        p |= PROT_READ;
    }
    if flags & pf::W != 0 {
        p |= PROT_WRITE;
    }
    if flags & pf::X != 0 {
        p |= PROT_EXEC;
    }
    p
}

/// Replaces the current process's image with the program at `path`. On success the caller
/// enters user mode at the returned entry. Errors before the old image is replaced leave the
/// process as it was; failures after it (out of memory while mapping) are reported too, and
/// the caller must end the process.
pub fn exec(lwp: &Arc<Lwp>, path: &[u8], argv: &[Vec<u8>], envp: &[Vec<u8>]) -> Result<Entry, i32> {
    exec_depth(lwp, None, path, argv, envp, 0)
}

/// exec of a file already looked up (execveat): `file`, known to the new image (AT_EXECFN,
/// the command name, a script's interpreter) as `name`.
pub fn exec_file(
    lwp: &Arc<Lwp>,
    file: NcHandle,
    name: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
) -> Result<Entry, i32> {
    exec_depth(lwp, Some(file), name, argv, envp, 0)
}

fn exec_depth(
    lwp: &Arc<Lwp>,
    file: Option<NcHandle>,
    path: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    depth: u32,
) -> Result<Entry, i32> {
    let p = &lwp.proc;
    let ctx = p.ctx();
    let h = match file {
        Some(h) => h,
        None => nlookup(&ctx, None, path, true)?,
    };
    let v = h.vnode().ok_or(abi::errno::ENOENT)?;
    let attr = v.getattr();
    if v.vtype() != VType::Reg || attr.mode & 0o111 == 0 {
        return Err(EACCES);
    }
    ctx.cred.check(&attr, access::X)?;
    if attr.size > MAX_IMAGE {
        return Err(ENOMEM);
    }
    let mut data = Vec::new();
    data.try_reserve_exact(attr.size as usize).map_err(|_| ENOMEM)?;
    data.resize(attr.size as usize, 0);
    let n = v.node.read(0, &mut data)?;
    data.truncate(n);
    if data.starts_with(b"#!") {
        return script(lwp, path, &data, argv, envp, depth);
    }
    let img = Image::parse(&data).map_err(|e| {
        log::info!("exec {}: {}", core::str::from_utf8(path).unwrap_or("?"), e);
        e.errno()
    })?;
    if let Some(interp) = img.interp() {
        log::warn!(
            "exec {}: dynamically linked (interpreter {}): not supported yet",
            core::str::from_utf8(path).unwrap_or("?"),
            core::str::from_utf8(interp).unwrap_or("?")
        );
        return Err(ENOEXEC);
    }
    if img.brand() == Brand::Native {
        log::warn!(
            "exec {}: a native Damselfly binary: the native ABI is not there yet",
            core::str::from_utf8(path).unwrap_or("?")
        );
        return Err(ENOEXEC);
    }
    let args_size: usize = argv.iter().chain(envp).map(|a| a.len() + 1).sum();
    if args_size > ARG_MAX {
        return Err(E2BIG);
    }
    let object = v.node.vm_object();
    let vs = VmSpace::new()?;
    // The other threads leave first (exec keeps only the caller, under the pid).
    super::thread::become_single(lwp)?;
    // The point of no return: from here the old image is gone. What the thread asked to
    // be told at its end is told now (a vfork parent shares that memory).
    super::thread::release_user_words(lwp);
    *lwp.altstack.lock() = super::lwp::AltStack { flags: super::lwp::SS_DISABLE, ..Default::default() };
    lwp.rseq.clear();
    let user = curthread_user();
    // Linux's ru_maxrss outlives exec: the old image's high-water mark is kept.
    super::rusage::leaving_address_space(p);
    let old = user.replace_vmspace(vs.clone());
    drop(old);
    *p.vm.lock() = Arc::downgrade(&vs);
    p.fd.close_on_exec();
    // POSIX timers belong to the image; interval timers survive exec.
    super::timers::exec(p);
    *lwp.restart.lock() = None;
    // Caught signals go back to their default action (the handlers are gone with the image);
    // ignored ones stay ignored.
    for a in p.sigacts.lock().iter_mut().filter(|a| a.handler > 1) {
        *a = super::SigAction::default();
    }
    *p.exe.lock() = Some(h.clone());
    let base = name_of(path);
    *p.comm.lock() = base[..base.len().min(15)].to_vec();
    user.fs_base.store(0, core::sync::atomic::Ordering::Relaxed);
    user.gs_base.store(0, core::sync::atomic::Ordering::Relaxed);
    x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::zero());
    x86_64::registers::model_specific::KernelGsBase::write(x86_64::VirtAddr::zero());

    let load_base = if img.header.kind == ET_DYN { PIE_BASE } else { 0 };
    let mut brk = 0;
    for s in img.loads() {
        let start = page_down(load_base + s.vaddr);
        let file_end = load_base + s.vaddr + s.filesz;
        let mem_end = load_base + s.vaddr + s.memsz;
        let prot = prot_of(s.flags);
        let file_pages_end = page_up(file_end);
        if s.filesz > 0 {
            let len = file_pages_end - start;
            let offset_page = page_down(s.offset) / PAGE;
            // Writable while the tail past the file part is cleared.
            let map_prot = if s.memsz > s.filesz { prot | PROT_WRITE } else { prot };
            let source = match &object {
                Some(o) => MapSource::Object {
                    object: o.clone(),
                    offset: offset_page,
                    max_prot: Prot::all(),
                    file: None,
                },
                None => MapSource::Anonymous,
            };
            mmap(&vs, start, len, map_prot, MAP_PRIVATE | MAP_FIXED, source)?;
            if object.is_none() {
                // A filesystem without VM objects: copy the bytes in.
                let skip = (load_base + s.vaddr - start) as usize;
                let bytes = img.file_bytes(s).ok_or(ENOEXEC)?;
                copyout(start + skip as u64, bytes)?;
            }
            if s.memsz > s.filesz && file_end < file_pages_end {
                let zeros = [0u8; PAGE as usize];
                copyout(file_end, &zeros[..(file_pages_end - file_end) as usize])?;
            }
            if map_prot != prot {
                mprotect(&vs, start, len, prot)?;
            }
        }
        let anon_start = if s.filesz > 0 { file_pages_end } else { start };
        if page_up(mem_end) > anon_start {
            mmap(
                &vs,
                anon_start,
                page_up(mem_end) - anon_start,
                prot,
                MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS,
                MapSource::Anonymous,
            )?;
        }
        brk = brk.max(page_up(mem_end));
    }
    set_brk_base(&vs, brk)?;
    let phdr = img.phdr_vaddr().map_or(0, |a| load_base + a);
    let rsp = build_stack(&vs, path, argv, envp, &img, load_base, phdr)?;
    Ok(Entry { rip: load_base + img.header.entry, rsp })
}

fn curthread_user() -> &'static UserMd {
    crate::lwkt::sched::curthread().user().expect("exec outside a process")
}

fn name_of(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// `#!interpreter [one argument]`: runs the interpreter with the script's path.
fn script(
    lwp: &Arc<Lwp>,
    path: &[u8],
    data: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    depth: u32,
) -> Result<Entry, i32> {
    if depth >= MAX_INTERP_DEPTH {
        return Err(abi::errno::ELOOP);
    }
    let line_end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len()).min(256);
    let line = &data[2..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let trimmed: &[u8] = {
        let s = line.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(line.len());
        &line[s..]
    };
    let (interp, arg) = match trimmed.iter().position(|&b| b == b' ' || b == b'\t') {
        Some(i) => {
            let rest = &trimmed[i..];
            let s = rest.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(rest.len());
            let rest = &rest[s..];
            let e = rest.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |e| e + 1);
            (&trimmed[..i], Some(&rest[..e]).filter(|r| !r.is_empty()))
        }
        None => (trimmed, None),
    };
    if interp.is_empty() {
        return Err(ENOEXEC);
    }
    let mut new_argv: Vec<Vec<u8>> = Vec::new();
    new_argv.push(interp.to_vec());
    if let Some(a) = arg {
        new_argv.push(a.to_vec());
    }
    new_argv.push(path.to_vec());
    new_argv.extend(argv.iter().skip(1).cloned());
    exec_depth(lwp, None, interp, &new_argv, envp, depth + 1)
}

/// Auxiliary vector keys.
mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHENT: u64 = 4;
    pub const PHNUM: u64 = 5;
    pub const PAGESZ: u64 = 6;
    pub const BASE: u64 = 7;
    pub const FLAGS: u64 = 8;
    pub const ENTRY: u64 = 9;
    pub const UID: u64 = 11;
    pub const EUID: u64 = 12;
    pub const GID: u64 = 13;
    pub const EGID: u64 = 14;
    pub const PLATFORM: u64 = 15;
    pub const HWCAP: u64 = 16;
    pub const CLKTCK: u64 = 17;
    pub const SECURE: u64 = 23;
    pub const RANDOM: u64 = 25;
    pub const HWCAP2: u64 = 26;
    pub const EXECFN: u64 = 31;
    pub const MINSIGSTKSZ: u64 = 51;
}

/// Maps the stack and writes argc, argv, envp and the auxiliary vector; returns rsp.
fn build_stack(
    vs: &Arc<VmSpace>,
    path: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    img: &Image<'_>,
    load_base: u64,
    phdr: u64,
) -> Result<u64, i32> {
    mmap(
        vs,
        STACK_TOP - STACK_INITIAL,
        STACK_INITIAL,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN,
        MapSource::Anonymous,
    )?;
    // Strings at the top, then 16 random bytes, then the pointer block below.
    let mut top = STACK_TOP;
    let mut strings: Vec<u8> = Vec::new();
    let mut place = |s: &[u8]| -> u64 {
        strings.splice(0..0, s.iter().copied().chain(core::iter::once(0)));
        top -= s.len() as u64 + 1;
        top
    };
    let execfn = place(path);
    let platform = place(b"x86_64");
    let envp_at: Vec<u64> =
        envp.iter().rev().map(|e| place(e)).collect::<Vec<_>>().into_iter().rev().collect();
    let argv_at: Vec<u64> =
        argv.iter().rev().map(|a| place(a)).collect::<Vec<_>>().into_iter().rev().collect();
    // argv's strings and then envp's lie next to each other, in order (Linux's layout).
    let env_start = envp_at.first().copied().unwrap_or(platform);
    *curthread_user().lwp.proc.args.lock() =
        super::ArgRange { arg_start: top, arg_end: env_start, env_start, env_end: platform };
    let mut random = [0u8; 16];
    crate::dev::random::fill(&mut random);
    top -= 16;
    let random_at = top;
    let strings_base = random_at + 16;
    let cred = curthread_user().lwp.proc.cred.lock().clone();
    // Linux reports CPUID leaf 1 EDX as AT_HWCAP on x86-64.
    let hwcap = core::arch::x86_64::__cpuid(1).edx as u64;
    let auxv: [(u64, u64); 19] = [
        (at::PHDR, phdr),
        (at::PHENT, 56),
        (at::PHNUM, img.header.phnum as u64),
        (at::PAGESZ, PAGE),
        (at::BASE, 0),
        (at::FLAGS, 0),
        (at::ENTRY, load_base + img.header.entry),
        (at::UID, cred.uid as u64),
        (at::EUID, cred.uid as u64),
        (at::GID, cred.gid as u64),
        (at::EGID, cred.gid as u64),
        (at::PLATFORM, platform),
        (at::HWCAP, hwcap),
        (at::CLKTCK, crate::lwkt::clock::HZ),
        (at::SECURE, 0),
        (at::RANDOM, random_at),
        (at::HWCAP2, 0),
        (at::EXECFN, execfn),
        (at::MINSIGSTKSZ, 2048 + crate::arch::x86_64::fpu::xsave_area_size() as u64),
    ];
    let words = 1 + argv.len() + 1 + envp.len() + 1 + 2 * (auxv.len() + 1);
    let sp = (top - (words * 8) as u64) & !15;
    if sp < STACK_TOP - STACK_INITIAL + 4096 {
        return Err(E2BIG);
    }
    let mut block: Vec<u8> = Vec::with_capacity(words * 8);
    let mut push = |v: u64| block.extend_from_slice(&v.to_ne_bytes());
    push(argv.len() as u64);
    argv_at.iter().for_each(|&a| push(a));
    push(0);
    envp_at.iter().for_each(|&e| push(e));
    push(0);
    for (k, v) in auxv {
        push(k);
        push(v);
    }
    push(at::NULL);
    push(0);
    copyout(sp, &block)?;
    copyout(random_at, &random)?;
    copyout(strings_base, &strings)?;
    // rsp is 16-byte aligned with argc at [rsp], as the x86-64 ABI wants at process entry.
    Ok(sp)
}
