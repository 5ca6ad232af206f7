//! The Linux dispatch table: handlers by syscall number. The numbers come from the abi list
//! (`abi::linux::syscalls::nr`), and a test checks that exactly the calls the list marks
//! implemented or partial have a handler here.
use super::Handler;
use super::{
    event, file, ids, lifecycle, mem, misc, mounts, names, priority, proc, readiness, rusage, schedparam,
    signalfd, signals, statx, threads, time, timers, utsname,
};
use abi::linux::syscalls::nr;

/// Every implemented call.
pub static IMPLEMENTED: &[(u32, Handler)] = &[
    (nr::read, file::read),
    (nr::epoll_create, event::epoll_create),
    (nr::epoll_create1, event::epoll_create1),
    (nr::epoll_ctl, event::epoll_ctl),
    (nr::epoll_wait, event::epoll_wait),
    (nr::epoll_pwait, event::epoll_pwait),
    (nr::epoll_pwait2, event::epoll_pwait2),
    (nr::eventfd, event::eventfd),
    (nr::eventfd2, event::eventfd2),
    (nr::timerfd_create, event::timerfd_create),
    (nr::timerfd_settime, event::timerfd_settime),
    (nr::timerfd_gettime, event::timerfd_gettime),
    (nr::flock, event::flock),
    (nr::signalfd, signalfd::signalfd),
    (nr::signalfd4, signalfd::signalfd4),
    (nr::clone, lifecycle::clone),
    (nr::sendfile, file::sendfile),
    (nr::setrlimit, proc::setrlimit),
    (nr::mount, mounts::mount),
    (nr::umount2, mounts::umount2),
    (nr::statfs, mounts::statfs),
    (nr::fstatfs, mounts::fstatfs),
    (nr::prctl, misc::prctl),
    (nr::sched_getaffinity, threads::sched_getaffinity),
    (nr::sched_setaffinity, threads::sched_setaffinity),
    (nr::futex, threads::futex),
    (nr::get_robust_list, threads::get_robust_list),
    (nr::rseq, threads::rseq),
    (nr::clone3, lifecycle::clone3),
    (nr::rt_sigsuspend, signals::rt_sigsuspend),
    (nr::rt_sigtimedwait, signals::rt_sigtimedwait),
    (nr::rt_sigqueueinfo, signals::rt_sigqueueinfo),
    (nr::rt_tgsigqueueinfo, signals::rt_tgsigqueueinfo),
    (nr::sigaltstack, signals::sigaltstack),
    (nr::getcpu, misc::getcpu),
    (nr::chown, names::chown),
    (nr::fchown, names::fchown),
    (nr::lchown, names::lchown),
    (nr::fchownat, names::fchownat),
    (nr::utimensat, names::utimensat),
    (nr::mknodat, names::mknodat),
    (nr::mknod, names::mknod),
    (nr::rename, names::rename),
    (nr::renameat, names::renameat),
    (nr::renameat2, names::renameat2),
    (nr::link, names::link),
    (nr::linkat, names::linkat),
    (nr::symlink, names::symlink),
    (nr::symlinkat, names::symlinkat),
    (nr::rmdir, names::rmdir),
    (nr::chmod, names::chmod),
    (nr::fchmod, names::fchmod),
    (nr::fchmodat, names::fchmodat),
    (nr::ftruncate, names::ftruncate),
    (nr::truncate, names::truncate),
    (nr::fchdir, names::fchdir),
    (nr::fsync, names::fsync),
    (nr::fdatasync, names::fsync),
    (nr::setuid, ids::setuid),
    (nr::setgid, ids::setgid),
    (nr::setreuid, ids::setreuid),
    (nr::setregid, ids::setregid),
    (nr::setresuid, ids::setresuid),
    (nr::setresgid, ids::setresgid),
    (nr::getresuid, ids::getresuid),
    (nr::getresgid, ids::getresgid),
    (nr::getgroups, ids::getgroups),
    (nr::setgroups, ids::setgroups),
    (nr::sysinfo, misc::sysinfo),
    (nr::poll, readiness::poll),
    (nr::ppoll, readiness::ppoll),
    (nr::select, readiness::select),
    (nr::pselect6, readiness::pselect6),
    (nr::rt_sigreturn, signals::rt_sigreturn),
    (nr::rt_sigpending, signals::rt_sigpending),
    (nr::kill, signals::kill),
    (nr::tkill, signals::tkill),
    (nr::tgkill, signals::tgkill),
    (nr::fork, lifecycle::fork),
    (nr::vfork, lifecycle::vfork),
    (nr::execve, lifecycle::execve),
    (nr::execveat, lifecycle::execveat),
    (nr::wait4, lifecycle::wait4),
    (nr::waitid, lifecycle::waitid),
    (nr::setpgid, lifecycle::setpgid),
    (nr::getpgrp, lifecycle::getpgrp),
    (nr::setsid, lifecycle::setsid),
    (nr::getpgid, lifecycle::getpgid),
    (nr::getsid, lifecycle::getsid),
    (nr::write, file::write),
    (nr::open, file::open),
    (nr::close, file::close),
    (nr::close_range, file::close_range),
    (nr::stat, file::stat),
    (nr::fstat, file::fstat),
    (nr::lstat, file::lstat),
    (nr::lseek, file::lseek),
    (nr::mmap, mem::mmap),
    (nr::mprotect, mem::mprotect),
    (nr::munmap, mem::munmap),
    (nr::brk, mem::brk),
    (nr::rt_sigaction, signals::rt_sigaction),
    (nr::rt_sigprocmask, signals::rt_sigprocmask),
    (nr::ioctl, file::ioctl),
    (nr::pread64, file::pread64),
    (nr::pwrite64, file::pwrite64),
    (nr::readv, file::readv),
    (nr::writev, file::writev),
    (nr::access, file::access),
    (nr::pipe, file::pipe),
    (nr::sched_yield, misc::sched_yield),
    (nr::getpriority, priority::getpriority),
    (nr::setpriority, priority::setpriority),
    (nr::sched_setscheduler, schedparam::sched_setscheduler),
    (nr::sched_getscheduler, schedparam::sched_getscheduler),
    (nr::sched_setparam, schedparam::sched_setparam),
    (nr::sched_getparam, schedparam::sched_getparam),
    (nr::sched_setattr, schedparam::sched_setattr),
    (nr::sched_getattr, schedparam::sched_getattr),
    (nr::sched_get_priority_max, schedparam::sched_get_priority_max),
    (nr::sched_get_priority_min, schedparam::sched_get_priority_min),
    (nr::sched_rr_get_interval, schedparam::sched_rr_get_interval),
    (nr::mremap, mem::mremap),
    (nr::madvise, mem::madvise),
    (nr::mincore, mem::mincore),
    (nr::msync, mem::msync),
    (nr::mlock, mem::mlock),
    (nr::mlock2, mem::mlock2),
    (nr::munlock, mem::munlock),
    (nr::dup, file::dup),
    (nr::dup2, file::dup2),
    (nr::nanosleep, time::nanosleep),
    (nr::getpid, proc::getpid),
    (nr::exit, proc::exit),
    (nr::uname, utsname::uname),
    (nr::sethostname, utsname::sethostname),
    (nr::setdomainname, utsname::setdomainname),
    (nr::fcntl, file::fcntl),
    (nr::getcwd, file::getcwd),
    (nr::chdir, file::chdir),
    (nr::mkdir, file::mkdir),
    (nr::unlink, file::unlink),
    (nr::readlink, file::readlink),
    (nr::umask, proc::umask),
    (nr::gettimeofday, time::gettimeofday),
    (nr::getrlimit, proc::getrlimit),
    (nr::getuid, ids::getuid),
    (nr::getgid, ids::getgid),
    (nr::geteuid, ids::geteuid),
    (nr::getegid, ids::getegid),
    (nr::getppid, proc::getppid),
    (nr::arch_prctl, proc::arch_prctl),
    (nr::gettid, proc::gettid),
    (nr::time, time::time),
    (nr::getdents64, file::getdents64),
    (nr::set_tid_address, proc::set_tid_address),
    (nr::clock_gettime, time::clock_gettime),
    (nr::clock_settime, time::clock_settime),
    (nr::clock_getres, time::clock_getres),
    (nr::clock_nanosleep, time::clock_nanosleep),
    (nr::restart_syscall, time::restart_syscall),
    (nr::pause, time::pause),
    (nr::getrusage, rusage::getrusage),
    (nr::times, rusage::times),
    (nr::alarm, timers::alarm),
    (nr::getitimer, timers::getitimer),
    (nr::setitimer, timers::setitimer),
    (nr::timer_create, timers::timer_create),
    (nr::timer_settime, timers::timer_settime),
    (nr::timer_gettime, timers::timer_gettime),
    (nr::timer_getoverrun, timers::timer_getoverrun),
    (nr::timer_delete, timers::timer_delete),
    (nr::exit_group, proc::exit_group),
    (nr::openat, file::openat),
    (nr::mkdirat, file::mkdirat),
    (nr::newfstatat, file::newfstatat),
    (nr::unlinkat, file::unlinkat),
    (nr::readlinkat, file::readlinkat),
    (nr::faccessat, file::faccessat),
    (nr::faccessat2, file::faccessat2),
    (nr::statx, statx::statx),
    (nr::creat, file::creat),
    (nr::preadv, file::preadv),
    (nr::pwritev, file::pwritev),
    (nr::set_robust_list, proc::set_robust_list),
    (nr::dup3, file::dup3),
    (nr::pipe2, file::pipe2),
    (nr::prlimit64, proc::prlimit64),
    (nr::getrandom, misc::getrandom),
];

/// Handlers by number, built once from [`IMPLEMENTED`].
static BY_NUMBER: spin::Once<[Option<Handler>; 512]> = spin::Once::new();

/// The handler for `nr`.
pub fn handler(n: u64) -> Option<Handler> {
    let t = BY_NUMBER.call_once(|| {
        let mut t: [Option<Handler>; 512] = [None; 512];
        for &(nr, h) in IMPLEMENTED {
            t[nr as usize] = Some(h);
        }
        t
    });
    *t.get(usize::try_from(n).ok()?)?
}

mod tests {
    use crate::{kassert, ktest};
    use abi::linux::syscalls::TABLE;
    use abi::syscall_list::Status;

    ktest! {
        /// The dispatch table and the declarative list agree: every call the list marks
        /// implemented or partial has a handler, and no handler serves a call the list calls
        /// missing (so `cargo xtask syscalls` tells the truth).
        fn table_matches_the_list() {
            for s in TABLE {
                let has = super::handler(s.nr as u64).is_some();
                let listed = s.status != Status::Missing;
                kassert!(has == listed, "{} ({}): list says {:?}, handler present: {}", s.name, s.nr, s.status, has);
            }
            kassert!(super::IMPLEMENTED.len() == TABLE.iter().filter(|s| s.status != Status::Missing).count(), "duplicates in the table");
            Ok(())
        }
    }
}
