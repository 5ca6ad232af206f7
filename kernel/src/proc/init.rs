//! PID 1: the kernel execs the program named by `init=PATH` on the command line (arguments
//! after a standalone `--`), with /dev/console as descriptors 0, 1 and 2. When PID 1 ends, the
//! kernel reports its status on the console and ends the machine (QEMU exits with
//! `debug_exit::INIT_EXIT`; the xtask decodes the status line).
use super::exec;
use super::usermd::UserMd;
use super::{Lwp, Proc};
use crate::arch::x86_64::trap::TrapFrame;
use crate::lwkt::sched;
use crate::lwkt::thread::pri;
use crate::vfs::filedesc::FileDesc;
use crate::vm::VmSpace;
use abi::debug_exit;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// The environment PID 1 starts with.
const INIT_ENV: [&[u8]; 3] = [b"HOME=/", b"TERM=linux", b"PATH=/bin:/sbin:/usr/bin:/usr/sbin"];

/// Starts PID 1 as a new thread: `path` with the words of `args` (argv[1..]; double quotes
/// group words with spaces, as on Linux's command line).
pub fn start(path: &'static str, args: &'static str) {
    let args: Vec<&'static str> = abi::boot::cmdline_words(args).collect();
    let created = sched::create("init", pri::USER_NORM, Some(0), move || run(path, &args));
    if created.is_none() {
        crate::kprintln!("init: cannot create its thread");
        crate::arch::x86_64::power::exit_failure();
    }
}

/// Sets PID 1 up on this thread; the thread start then enters user mode (see
/// `usermd::enter_pending`).
fn run(path: &str, args: &[&str]) {
    let Some(root) = crate::vfs::rootfs::kernel_ctx() else {
        crate::kprintln!("init: no root filesystem");
        crate::arch::x86_64::power::exit_failure();
    };
    let fd = FileDesc::new(1);
    let console = crate::vfs::open::open_at(&root, None, b"/dev/console", abi::fcntl::O_RDWR, 0);
    match console {
        Ok(f) => {
            for _ in 0..3 {
                let _ = fd.install(f.clone(), false);
            }
        }
        Err(e) => log::warn!("init: no /dev/console (errno {}); starting without fds 0-2", e),
    }
    let Ok(p) = Proc::new(fd, root.root.clone(), root.cwd.clone()) else { fail("no pid for PID 1") };
    // PID 1 leads the first session, with the console as its terminal and its group in the
    // foreground: ^C goes to it (and to what it leaves in its group).
    if let Some(t) = crate::tty::console_tty() {
        t.set_pgrp(p.pid as i32);
    }
    let lwp = Lwp::first(p);
    let Ok(vs) = VmSpace::new() else { fail("no memory for an address space") };
    let Some(md) = UserMd::new(lwp.clone(), vs) else { fail("no memory for FPU state") };
    let td = sched::curthread();
    *lwp.thread.lock() = td.self_handle();
    td.set_user(Some(Box::new(md)));
    let mut argv: Vec<Vec<u8>> = Vec::new();
    argv.push(path.as_bytes().to_vec());
    argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    let envp: Vec<Vec<u8>> = INIT_ENV.iter().map(|e| e.to_vec()).collect();
    match exec::exec(&lwp, path.as_bytes(), &argv, &envp) {
        Ok(entry) => {
            if let Some(u) = td.user() {
                u.set_start(TrapFrame::user_entry(entry.rip, entry.rsp, 0x202));
            }
        }
        Err(e) => {
            crate::kprintln!("init: cannot exec {}: errno {}", path, e);
            exited(127)
        }
    }
}

fn fail(why: &str) -> ! {
    crate::kprintln!("init: {}", why);
    crate::arch::x86_64::power::exit_failure()
}

/// PID 1 ended with `status` (0-255): report it and end the machine.
pub fn exited(status: i32) -> ! {
    crate::kprintln!("{} {}", debug_exit::INIT_EXIT_PREFIX, status & 0xff);
    crate::arch::x86_64::power::exit(debug_exit::INIT_EXIT)
}

/// PID 1 was killed by signal `sig`.
pub fn killed(sig: i32) -> ! {
    crate::kprintln!("{} {}", debug_exit::INIT_KILLED_PREFIX, sig);
    crate::arch::x86_64::power::exit(debug_exit::INIT_EXIT)
}
