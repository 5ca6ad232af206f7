//! Scenarios that run the programs of tests/conformance as PID 1, built with musl and with
//! glibc, and judge their output and exit status. Their names start with `conformance-` and
//! name the program and the C library (`cargo xtask test hello` runs both hello scenarios).

use crate::check::Check;
use crate::init::{self, InitEnd};
use crate::run::Run;
use crate::scenarios::{Context, Image, Scenario};
use abi::debug_exit::{qemu_status, INIT_EXIT};

/// The two C libraries every program is built with.
pub const LIBCS: [&str; 2] = ["musl", "glibc"];

/// The conformance scenarios, musl first.
pub fn scenarios() -> Vec<Scenario> {
    let run = |name, cmdline, check| Scenario {
        name,
        image: Image::Conformance,
        smp: 1,
        cmdline,
        exit: qemu_status(INIT_EXIT),
        check,
    };
    // Threaded programs run on four CPUs, where their threads really run at once.
    let smp4 = |name, cmdline, check| Scenario { smp: 4, ..run(name, cmdline, check) };
    // The scheduler's nice test pins itself to CPU 0 with a second CPU beside it.
    let smp2 = |name, cmdline, check| Scenario { smp: 2, ..run(name, cmdline, check) };
    vec![
        run("conformance-hello-musl", "log=warn init=/bin/hello-musl", hello),
        run("conformance-exit_status-musl", "log=warn init=/bin/exit_status-musl -- 42", exit_status),
        run("conformance-args-musl", r#"log=warn init=/bin/args-musl -- a "b c""#, args),
        run("conformance-fork_chain-musl", "log=warn init=/bin/fork_chain-musl -- 100 top", fork_chain),
        run("conformance-spawn-musl", "log=warn init=/bin/spawn-musl", spawn),
        run("conformance-busybox-pipeline", BUSYBOX_PIPELINE, busybox_pipeline),
        run("conformance-busybox-files", BUSYBOX_FILES, busybox_files),
        run("conformance-busybox-mount", BUSYBOX_MOUNT, busybox_mount),
        run("conformance-signals-musl", "log=warn init=/bin/signals-musl", signals),
        run("conformance-crash_leaks-musl", "log=warn init=/bin/crash_leaks-musl", crash_leaks),
        run("conformance-elf_fuzz-musl", "log=warn init=/bin/elf_fuzz-musl", elf_fuzz),
        run("conformance-interrupt-musl", "log=warn init=/bin/interrupt-musl", interrupt),
        run("conformance-ids-musl", "log=warn init=/bin/ids-musl", ids),
        run("conformance-procfs-musl", "log=warn init=/bin/procfs-musl", procfs),
        smp4("conformance-threads-musl", "log=warn init=/bin/threads-musl", threads),
        smp4("conformance-sigdelivery-musl", "log=warn init=/bin/sigdelivery-musl", sigdelivery),
        run("conformance-timers-musl", "log=warn init=/bin/timers-musl", timers),
        run("conformance-oom-musl", "log=warn init=/bin/oom-musl", oom),
        run("conformance-epoll-musl", "log=warn init=/bin/epoll-musl", epoll),
        run("conformance-locks_sigfd-musl", "log=warn init=/bin/locks_sigfd-musl", locks_sigfd),
        run("conformance-sched_control-musl", "log=warn init=/bin/sched_control-musl", sched_control),
        smp4("conformance-sched_share-musl", "log=warn init=/bin/sched_share-musl", sched_share),
        smp2("conformance-sched_nice-musl", "log=warn init=/bin/sched_nice-musl", sched_nice),
        run("conformance-syscall_fuzz-musl", "log=warn init=/bin/syscall_fuzz-musl", syscall_fuzz),
        run("conformance-hello-glibc", "log=warn init=/bin/hello-glibc", hello),
        run("conformance-exit_status-glibc", "log=warn init=/bin/exit_status-glibc -- 42", exit_status),
        run("conformance-args-glibc", r#"log=warn init=/bin/args-glibc -- a "b c""#, args),
        run("conformance-fork_chain-glibc", "log=warn init=/bin/fork_chain-glibc -- 100 top", fork_chain),
        run("conformance-spawn-glibc", "log=warn init=/bin/spawn-glibc", spawn),
        run("conformance-signals-glibc", "log=warn init=/bin/signals-glibc", signals),
        run("conformance-crash_leaks-glibc", "log=warn init=/bin/crash_leaks-glibc", crash_leaks),
        run("conformance-elf_fuzz-glibc", "log=warn init=/bin/elf_fuzz-glibc", elf_fuzz),
        run("conformance-interrupt-glibc", "log=warn init=/bin/interrupt-glibc", interrupt),
        run("conformance-ids-glibc", "log=warn init=/bin/ids-glibc", ids),
        run("conformance-procfs-glibc", "log=warn init=/bin/procfs-glibc", procfs),
        smp4("conformance-threads-glibc", "log=warn init=/bin/threads-glibc", threads),
        smp4("conformance-sigdelivery-glibc", "log=warn init=/bin/sigdelivery-glibc", sigdelivery),
        run("conformance-timers-glibc", "log=warn init=/bin/timers-glibc", timers),
        run("conformance-oom-glibc", "log=warn init=/bin/oom-glibc", oom),
        run("conformance-epoll-glibc", "log=warn init=/bin/epoll-glibc", epoll),
        run("conformance-locks_sigfd-glibc", "log=warn init=/bin/locks_sigfd-glibc", locks_sigfd),
        run("conformance-sched_control-glibc", "log=warn init=/bin/sched_control-glibc", sched_control),
        smp4("conformance-sched_share-glibc", "log=warn init=/bin/sched_share-glibc", sched_share),
        smp2("conformance-sched_nice-glibc", "log=warn init=/bin/sched_nice-glibc", sched_nice),
        // The same scheduler checks under usched_bsd4, the boot-time alternative.
        smp4(
            "conformance-sched_share-musl-bsd4",
            "log=warn usched=bsd4 init=/bin/sched_share-musl",
            sched_share,
        ),
        smp2(
            "conformance-sched_nice-musl-bsd4",
            "log=warn usched=bsd4 init=/bin/sched_nice-musl",
            sched_nice,
        ),
        run("conformance-syscall_fuzz-glibc", "log=warn init=/bin/syscall_fuzz-glibc", syscall_fuzz),
    ]
}

/// PID 1's end as the kernel reported it must be `want`.
fn status(p: &str, run: &Run, want: InitEnd) -> Check {
    let r = match init::decode(&run.serial, run.status) {
        Ok(got) if got == want => Ok(()),
        Ok(got) => Err(format!("PID 1 ended {got:?}, expected {want:?}")),
        Err(e) => Err(e),
    };
    Check::new(format!("{p}/status"), r)
}

/// `want` must appear as whole lines, in this order (other lines, such as kernel warnings,
/// may come between them).
fn output(p: &str, run: &Run, want: &[String]) -> Check {
    let mut lines = run.lines().into_iter();
    let r = match want.iter().find(|w| !lines.any(|l| l == w.as_str())) {
        None => Ok(()),
        Some(w) => Err(format!("no line `{w}` (in order after the ones before it)")),
    };
    Check::new(format!("{p}/output"), r)
}

fn hello(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &["hello, world".into()])]
}

fn exit_status(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    vec![status(p, run, InitEnd::Exited(42))]
}

fn args(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let libc = LIBCS.iter().find(|l| p.ends_with(&format!("-{l}"))).unwrap_or(&"musl");
    let want = [
        "argc=3".to_string(),
        format!("argv[0]=/bin/args-{libc}"),
        "argv[1]=a".into(),
        "argv[2]=b c".into(),
        "HOME=/".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

/// busybox sh runs a pipeline of three busybox processes, a redirection into /tmp and back,
/// and exits with a status of its own.
const BUSYBOX_PIPELINE: &str = r#"log=warn init=/bin/busybox -- sh -c "echo hello pipes | /bin/busybox tr a-z A-Z | /bin/busybox tee /tmp/out; /bin/busybox wc -c < /tmp/out; exit 3""#;

/// busybox applets on names and attributes: mkdir -p, mv across directories, symbolic and
/// hard links, chmod, truncate through a hard link, touch -t, chown, mknod of a FIFO, rm -r.
const BUSYBOX_FILES: &str = r#"log=warn init=/bin/busybox -- sh -c "cd /tmp && mkdir -p d/e && echo x > d/e/f && mv d/e/f d/g && ln -s g d/l && ln d/g d/h && chmod 640 d/g && cat d/l && stat -c %a:%h d/h && truncate -s 0 d/h && wc -c d/g && touch -t 200102030405 d/g && stat -c %Y d/g && chown 5:6 d/g && stat -c %u:%g d/h && mknod d/p p && stat -c %F d/p && rm -r d && ls /tmp | wc -l""#;

fn busybox_files(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "x".to_string(),
        "640:2".into(),
        "0 d/g".into(),
        "981173100".into(),
        "5:6".into(),
        "fifo".into(),
        "0".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

/// mount and umount of a tmpfs from busybox: /proc/mounts shows it, statfs reports tmpfs's
/// magic, a busy mount refuses to go, an unknown type is ENODEV.
const BUSYBOX_MOUNT: &str = "log=warn init=/bin/busybox -- sh -c \"mkdir /mnt && mount -t tmpfs x /mnt && echo hi > /mnt/f && grep /mnt /proc/mounts && stat -f -c %t /mnt && cd /mnt && umount /mnt; echo busy=$?; cd / && umount /mnt && ls /mnt | wc -l; mount -t ext4 x /mnt 2>/dev/null; echo ext4=$?\"";

fn busybox_mount(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want =
        ["x /mnt tmpfs rw 0 0".to_string(), "1021994".into(), "busy=1".into(), "0".into(), "ext4=255".into()];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

fn busybox_pipeline(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    vec![status(p, run, InitEnd::Exited(3)), output(p, run, &["HELLO PIPES".into(), "12".into()])]
}

fn signals(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "segv: caught 2, addr 0x1008".to_string(),
        "usr1: 2".into(),
        "usr2: pending 1, before 0, after 1".into(),
        "chld: 1".into(),
        "pipe: -1 EPIPE".into(),
        "abort: signaled 1, signal 6".into(),
        "sigpipe: signaled 1, signal 13".into(),
        "hostile rsp: sigreturn 1, delivery 1".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

fn threads(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "mutex: counter 160000".to_string(),
        "join: return values sum 36".into(),
        "barrier: serial threads 1".into(),
        "tls: 8 of 8 kept their value".into(),
        "ids: same pid 8, distinct tids 1".into(),
        "cpus: threads ran on at least 2: 1".into(),
        "condvar: produced 12502500 consumed 12502500".into(),
        "pthread_kill: handled by the target 1".into(),
        "robust: lock after owner died EOWNERDEAD".into(),
        "futex wait on a changed word: -1 EAGAIN".into(),
        "futex wait timeout: -1 ETIMEDOUT".into(),
        "futex wake nobody: 0".into(),
        "futex bad op: -1 ENOSYS".into(),
        "futex misaligned: -1 EINVAL".into(),
        "futex woken by a thread: 1".into(),
        "shared futex across fork: 1".into(),
        "cmp_requeue with a stale value: -1 EAGAIN".into(),
        "wake_op: 0, word now 5".into(),
        "exit from a thread: exited 1 status 3".into(),
        "leader gone, worker still runs: pid 1".into(),
        "after the last thread: exited 1 status 0".into(),
        "after exec: same pid 1, threads 1".into(),
        "exec from a thread group: exited 1 status 0".into(),
        "affinity: set 0, on cpu 0 1, mask has 1 cpu 1".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

fn sigdelivery(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "read without SA_RESTART: returned -1 EINTR, handler ran 1".to_string(),
        "read with SA_RESTART: returned 1, handler ran 1".into(),
        "overflow with an alternate stack: handler exited 42".into(),
        "overflow without one: killed by signal 11".into(),
        "sigaltstack too small: -1 ENOMEM".into(),
        "sigaltstack unset: disabled 1".into(),
        "stopped: waited 1, WIFSTOPPED 1, sig 19, state T".into(),
        "stop reported once: 1".into(),
        "continued: waited 1, WIFCONTINUED 1, state S".into(),
        "SIGTSTP in an orphaned group: stopped 0, state S".into(),
        "SIGSTOP: waitid code CLD_STOPPED status 19".into(),
        "killed while stopped: signal 9".into(),
        "SIGCHLD: stopped seen 1, continued seen 1".into(),
        "sigtimedwait: sig 10, code user, pid ok 1".into(),
        "sigtimedwait nothing: -1 EAGAIN".into(),
        "queued: realtime 10 20 30 (3), standard once 1".into(),
        "sigsuspend: -1 EINTR, handler ran 1, mask back 1".into(),
        "SA_RESETHAND: ran 1, now default 1, blocked inside 1".into(),
        "SA_NODEFER: blocked inside 0".into(),
        "kill siginfo: from the child 1, SI_USER 1".into(),
        "sigqueue siginfo: SI_QUEUE 1, value 77".into(),
        "process signal taken by the thread that does not block it: 1".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

fn crash_leaks(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = ["crash: 1000 children reaped, counters unchanged".to_string()];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

/// Hostile calls from 100 children leave the kernel up and its exact counters where they
/// were. Run at -smp 1, where the counters are exact: at -smp 2 the teardown of a child that
/// ended on the other CPU can lag behind the reap (vm_objects and kmalloc seen off by a few).
/// On Linux the first two lines are the same and the last says there is no /proc/kcounters.
fn syscall_fuzz(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "syscall_fuzz: 8 children to warm up".to_string(),
        "syscall_fuzz: 100 children, kernel survived".into(),
        "syscall_fuzz: counters unchanged".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

fn elf_fuzz(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &["elf_fuzz: survived".into()])]
}

fn interrupt(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "read interrupted: status 7".to_string(),
        "read restarted: status 8".into(),
        "nanosleep interrupted: status 9".into(),
        "blocked child killed: signaled 1, signal 15".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

/// What tests/conformance/epoll.c prints on Linux (the host's output, line for line).
const EPOLL_LINES: &[&str] = &[
    "echo pipe 0: P0M0;P0M1;P0M2;P0M3;",
    "echo pipe 1: P1M0;P1M1;P1M2;P1M3;",
    "echo pipe 2: P2M0;P2M1;P2M2;P2M3;",
    "echo eventfd: seen 1, read 8, value 42",
    "echo end: child status 0, hung up 3",
    "level: 1 1; edge: 1 0, after a write 1; oneshot: 1 0, re-armed 0: 1 data 4",
    "level drained: 0",
    "pipe write end: 1 events 0x4",
    "nested: before 0 0, after poll 1 revents 0x1, outer 1 data 6",
    "cycle: -1 ELOOP",
    "epoll_create(0): -1 EINVAL",
    "epoll_create1(bad flag): -1 EINVAL",
    "regular file: -1 EPERM",
    "add: 0, again: -1 EEXIST",
    "mod unknown: -1 ENOENT, del unknown: -1 ENOENT",
    "not an epoll: -1 EINVAL, itself: -1 EINVAL, bad fd: -1 EBADF, bad op: -1 EINVAL",
    "exclusive: add 0, mod -1 EINVAL, with oneshot -1 EINVAL",
    "wait maxevents 0: -1 EINVAL, on a pipe: -1 EINVAL",
    "closed but dup'ed: 1 data 9",
    "last close: same number 1, del -1 ENOENT",
    "semaphore: 8 1, 8 1, 8 1, then -1 EAGAIN",
    "counter: 8 12, empty -1 EAGAIN",
    "short read -1 EINVAL, short write -1 EINVAL, write 2^64-1 -1 EINVAL",
    "fill 8, overflow -1 EAGAIN, flags 0x802",
    "bad flags: -1 EINVAL",
    "timerfd disarmed read: -1 EAGAIN",
    "periodic 10ms after 45ms: 8, at least 3 1, interval 10000000 ns, next within 10ms 1",
    "disarmed: old interval 10000000, now 0 0",
    "one shot: epoll 1 data 7, read 8 count 1",
    "absolute realtime: read 8 count 1",
    "bad: clock -1 EINVAL, flags -1 EINVAL, nsec -1 EINVAL, not a timer -1 EINVAL",
    "flock ex: 0, other ex nb: -1 EAGAIN, other sh nb: -1 EAGAIN",
    "dup relock: 0",
    "after closing one of two: -1 EAGAIN",
    "after the last close: 0",
    "shared twice: 0, ex nb -1 EAGAIN, unlock 0 0, ex 0",
    "bad op: -1 EINVAL",
    "blocked flock interrupted: status 7",
    "pipe size: 65536, set 10000 -> 16384, get 16384, set 0 -> 4096",
    "shrink below the data: -1 EBUSY, to fit: 32768",
    "data kept: 20000, on a file: -1 EBADF",
    "epoll_pwait: -1 EINTR, handler ran 1, still blocked 1",
    "blocked during the wait: 0, handler ran 1",
    "unblocked: handler ran 2",
    "epoll_pwait2 10ms: 0",
    "epoll counters: back",
    "epoll: done",
];

fn epoll(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want: Vec<String> = EPOLL_LINES.iter().map(|l| l.to_string()).collect();
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

/// What tests/conformance/locks_sigfd.c prints on Linux (the host's output, line for line).
const LOCKS_SIGFD_LINES: &[&str] = &[
    "parent setlk: 0",
    "own lock again, as read: 0, back to write: 0",
    "child setlk on a held range: -1 EAGAIN, F_GETLK names the parent 1, beside it 1",
    "F_GETLK whole file: type WR start 50 len 10, holder is child: 1",
    "parent setlk on it: -1 EAGAIN",
    "setlkw after the child closed another descriptor: 0, waited 1",
    "child: 0",
    "child locked and exited: 0, range free: 0",
    "setlkw, SIGALRM without SA_RESTART: -1 EINTR, handler ran 1",
    "setlkw, SIGALRM with SA_RESTART: 0, handler ran 1",
    "child: 0",
    "parent holds 0: 0",
    "deadlock: -1 EDEADLK",
    "child got the lock: 0",
    "write lock on O_RDONLY: -1 EBADF, read lock on O_WRONLY: -1 EBADF, unlock on O_RDONLY: 0",
    "bad whence: -1 EINVAL, F_GETLK of F_UNLCK: -1 EINVAL, bad type: -1 EINVAL",
    "start before 0: -1 EINVAL, negative len past 0: -1 EINVAL, bad fd: -1 EBADF",
    "past the largest offset: -1 EOVERFLOW, up to it: 0",
    "negative length seen as [20,30): 1, SEEK_END-180 conflicts: 1",
    "ofd a: 0, ofd b: -1 EAGAIN",
    "F_OFD_GETLK from b: type WR start 0 len 10 pid -1",
    "F_GETLK (process): type WR pid -1; F_SETLK: -1 EAGAIN",
    "ofd with l_pid 1: -1 EINVAL",
    "closing a dup of a: b still -1 EAGAIN",
    "closing another description: b still -1 EAGAIN",
    "after a's last close: b 0",
    "process lock over b's: -1 EAGAIN; the child's copy of b owns it too: 1",
    "signalfd: 1",
    "read both: 256 bytes",
    "  signo 12, pid is mine 1, code -6, errno 0",
    "  signo 10, pid is mine 1, code 0, errno 0",
    "sigqueue: 128, signo 10, code -1, int 1234, ptr 1234, pid is mine 1",
    "short buffer: -1 EINVAL",
    "poll idle: 0",
    "poll pending: 1 revents 0x1",
    "epoll add: 0",
    "epoll pending: 1 events 0x1 data 77",
    "read it: 128 signo 12",
    "epoll drained: 0, poll drained: 0",
    "blocking read: 128 signo 10, from the child 1, code 0",
    "blocking epoll_wait: 1 events 0x1, then read signo 12",
    "blocking poll: 1 revents 0x1, then read signo 10",
    "child: 0",
    "nonblock empty: -1 EAGAIN, flags nonblock 1 cloexec 1",
    "update mask: same fd 1",
    "SIGUSR1 outside the mask: -1 EAGAIN",
    "still pending: 1",
    "the other signalfd reads it: 128 signo 10",
    "write: -1 EINVAL",
    "bad flags: -1 EINVAL, not a signalfd: -1 EINVAL, bad fd: -1 EBADF, sizemask 4: -1 EINVAL",
    "child read its own SIGUSR2 from the parent: 1",
    "parent has none: -1 EAGAIN",
    "locks_sigfd: done",
];

fn locks_sigfd(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want: Vec<String> = LOCKS_SIGFD_LINES.iter().map(|l| l.to_string()).collect();
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

/// What tests/conformance/sched_control.c prints on Linux 6.18 (the same with both libcs).
const SCHED_CONTROL_LINES: &[&str] = &[
    "getpriority: 0, raw 20",
    "setpriority 5: 0, now 5, raw 15",
    "nice(3): 8, now 8",
    "nice(100): 19, now 19",
    "setpriority -100 as root: 0, now -20",
    "setpriority 100: 0, now 19",
    "stat: priority 23 nice 3",
    "errors: which -1 EINVAL, get which -1 EINVAL, no pid -1 ESRCH, no group -1 ESRCH, no user -1 ESRCH",
    "fork: child nice 7, stat priority 27 nice 7",
    "pgrp: set 0, group 4, member 4, lowest 2, first 4, own group 0",
    "user: before 0, set 0, both 1, lowest 3, caller 0",
    "unprivileged: raise 0, lower -1 EACCES, nice(-1) -1 EPERM, other user's -1 EPERM, read other's 0, fifo -1 EPERM, setattr 11 -1 EPERM, setattr 14 0, idle 0, back -1 EPERM, parent's policy -1 EPERM, now 14",
    "range: other 0-0 fifo 1-99 rr 1-99 batch 0-0 idle 0-0",
    "range of a bad policy: -1 EINVAL, -1 EINVAL",
    "start: policy 0, param 0",
    "batch 0 -> 3, idle 0 -> 5, other 0 -> 0",
    "errors: other prio 1 -1 EINVAL, fifo prio 0 -1 EINVAL, fifo 100 -1 EINVAL, fifo -1 -1 EINVAL, policy 42 -1 EINVAL, pid -1 -1 EINVAL, no pid -1 ESRCH, null param -1 EINVAL, getsched -1 -1 EINVAL, getsched no pid -1 ESRCH, getparam null -1 EINVAL, setparam other 5 -1 EINVAL",
    "rr_get_interval other: 0, under a second 1",
    "rr_get_interval errors: -1 EINVAL, -1 ESRCH, -1 EFAULT",
    "fifo 10: 0, policy 1, param 10, slice 0.000000000, stat -11 0",
    "setparam 20: 0, policy 1, param 20",
    "rr 5: 0, policy 2, param 5, slice 0.100000000",
    "reset-on-fork 1: 0, policy 0x40000001",
    "  child: policy 0, param 0, nice 0",
    "reset-on-fork 3: 0, policy 0x40000003",
    "  child: policy 3, param 0, nice 0",
    "back to other: policy 0, nice 0",
    "getattr: 0, size 56, policy 0, flags 0, nice 0, priority 0",
    "setattr batch nice 4: 0, policy 3, nice 4",
    "getattr 48: 0, size 48, policy 3, nice 4",
    "setattr size 0 nice -100: 0, policy 0, nice -20",
    "setattr keep policy nice 2: 0, policy 0, nice 2",
    "setattr fifo 30: 0, getattr 0, policy 1, flags 1, nice 0, priority 30, getsched 0x40000001",
    "setattr sizes: 20 -1 E2BIG (size 56), 64 zeros 0 (nice 1), 64 junk -1 E2BIG (size 56), 8192 -1 E2BIG",
    "setattr errors: flags -1 EINVAL, sched_flags -1 EINVAL, policy 42 -1 EINVAL, null -1 EINVAL, pid -1 -1 EINVAL, no pid -1 ESRCH",
    "getattr errors: size 40 -1 EINVAL, size 8192 -1 EINVAL, flags -1 EINVAL, null -1 EINVAL, no pid -1 ESRCH",
    "sched_control: done",
];

fn sched_control(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want: Vec<String> = SCHED_CONTROL_LINES.iter().map(|l| l.to_string()).collect();
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

/// The scheduler's acceptance lines (the `# ` lines with the raw figures are not judged).
fn sched_share(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "share: every child got between 15% and 35% of the CPU time: 1".to_string(),
        "cpus: the children ran on min(4, online CPUs) different CPUs: 1".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

/// Niceness weighs in the CPU time of two children sharing one CPU; the wake-up latency line
/// is a figure, not judged.
fn sched_nice(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "nice: the nice 10 child ran too: 1".to_string(),
        "nice: the nice 0 child got more than twice the CPU time of the nice 10 one: 1".into(),
        "sched_nice: done".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

fn ids(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "start: uid 0 euid 0 gid 0".to_string(),
        "setresuid: 1000 1000 0".into(),
        "setgroups unprivileged: -1 EPERM".into(),
        "seteuid back: 1000 0 0".into(),
        "setuid dropped: 1000 1000 1000, regain -1 EPERM".into(),
        "sysinfo: ram ok, procs ok, unit 1".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

fn procfs(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "self: 1".to_string(),
        "stat: pid 1, comm 1, state R, ppid 1, fields 1".into(),
        "cmdline: 1".into(),
        "comm: 1".into(),
        "maps: stack 1, exe 1".into(),
        "exe: 1".into(),
        "fd1: /dev/console".into(),
        "child: name 1, state S, pid 1, ppid 1".into(),
        "zombie: state Z, cmdline 0, fds 0".into(),
        "nopid: ENOENT".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

fn timers(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "alarm: 0 10 5".to_string(),
        "alarm fired: 1".into(),
        "getitimer real: interval 20000, value ok 1".into(),
        "real: 3 signals, old interval 20000".into(),
        "disarmed: 0".into(),
        "bad usec: -1 EINVAL, bad which: -1 EINVAL".into(),
        "getitimer virtual: value ok 1".into(),
        "virtual: 1, prof: 1".into(),
        "timer: create 0, running 1, fired 1, code SI_TIMER 1, value 42, overrun 0, after 0".into(),
        "overrun: signals 1, si_overrun ok 1, getoverrun ok 1, old interval 10000000, after settime 0".into(),
        "deleted: -1 EINVAL".into(),
        "bad notify: -1 EINVAL".into(),
        "sigev_none: armed 1, then 0".into(),
        "abstime: fired 1, not early 1, value 7".into(),
        "clock_nanosleep relative: 0, slept enough 1".into(),
        "clock_nanosleep absolute: 0, not early 1".into(),
        "clock_nanosleep errors: EINVAL EINVAL".into(),
        "nanosleep handler: -1 EINTR, rem ok 1".into(),
        "nanosleep handler SA_RESTART: -1 EINTR, rem ok 1".into(),
        "nanosleep with ignored SIGCHLD: 0".into(),
        "restart_syscall: -1 EINTR".into(),
        "self: utime grew 1, ticks grew 1, minflt grew 1".into(),
        "clocks: process 1, thread 1, cpuclockid 0 1".into(),
        "thread: utime 1, res ok 1, bad who -1 EINVAL".into(),
        "child: wait4 utime 1, children utime 1, cutime 1, sigchld 1 utime 1".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

fn oom(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = ["child killed by signal 9".to_string(), "small child exited 0".into()];
    let mut checks = vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)];
    let logged = run.serial.contains("Out of memory: Killed process");
    checks.push(Check::new(
        format!("{p}/oom-log"),
        if logged { Ok(()) } else { Err("no OOM kill line".into()) },
    ));
    checks
}

fn fork_chain(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    vec![status(p, run, InitEnd::Exited(100)), output(p, run, &["depth 100, status 100".into()])]
}

fn spawn(p: &str, run: &Run, _: &Context) -> Vec<Check> {
    let want = [
        "vfork: shared=42 status=3".to_string(),
        "hello, world".into(),
        "spawn: exited=1 status=0".into(),
        "crash: signaled=1 signal=11".into(),
        "nohang: 0, then status=5".into(),
        "waitid: peek 1, reaped 9, then ECHILD".into(),
    ];
    vec![status(p, run, InitEnd::Exited(0)), output(p, run, &want)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str) -> Scenario {
        scenarios().into_iter().find(|s| s.name == name).unwrap()
    }

    fn run(serial: &str, status: i32) -> Run {
        Run { serial: serial.into(), status: Some(status), ..Run::default() }
    }

    fn failed(name: &str, r: &Run) -> Vec<String> {
        let cx = Context { symbols: Err("not needed".into()) };
        scenario(name).evaluate(r, &cx).into_iter().filter(|c| !c.passed()).map(|c| c.to_string()).collect()
    }

    #[test]
    fn command_lines_are_what_init_cmdline_builds() {
        for s in scenarios().into_iter().filter(|s| !s.name.contains("busybox")) {
            // A `-bsd4` run boots the other user scheduler.
            let (name, words) = match s.name.strip_suffix("-bsd4") {
                Some(n) => (n, vec![init::DEFAULT_KERNEL_WORDS.to_string(), "usched=bsd4".to_string()]),
                None => (s.name, vec![init::DEFAULT_KERNEL_WORDS.to_string()]),
            };
            let (prog, libc) = name.trim_start_matches("conformance-").rsplit_once('-').unwrap();
            let args: &[&str] = match prog {
                "hello" => &[],
                "exit_status" => &["42"],
                "args" => &["a", "b c"],
                "fork_chain" => &["100", "top"],
                "spawn" | "signals" | "crash_leaks" | "elf_fuzz" | "interrupt" | "ids" | "procfs"
                | "threads" | "timers" | "oom" | "epoll" | "sigdelivery" | "locks_sigfd"
                | "sched_control" | "sched_share" | "sched_nice" | "syscall_fuzz" => &[],
                _ => panic!("{}: unknown program", s.name),
            };
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let want = init::cmdline(&words, &format!("/bin/{prog}-{libc}"), &args).unwrap();
            assert_eq!(s.cmdline, want, "{}", s.name);
            assert_eq!(s.image, Image::Conformance);
        }
        assert!(crate::scenarios::all().iter().filter(|s| s.name.contains("hello")).count() == 2);
    }

    #[test]
    fn hello_passes_on_its_line_and_status_zero() {
        let out = "Damselfly 0.1.0\r\nhello, world\r\ninit: exited with status 0\r\n";
        assert!(failed("conformance-hello-musl", &run(out, 39)).is_empty());
        let f = failed("conformance-hello-glibc", &run("init: exited with status 0\n", 39));
        assert_eq!(f, ["FAIL conformance-hello-glibc/output: no line `hello, world` (in order after the ones before it)"]);
        let f = failed("conformance-hello-musl", &run("hello, world\ninit: killed by signal 11\n", 39));
        assert_eq!(f, ["FAIL conformance-hello-musl/status: PID 1 ended Killed(11), expected Exited(0)"]);
    }

    #[test]
    fn exit_status_needs_42_and_qemu_39() {
        assert!(failed("conformance-exit_status-musl", &run("init: exited with status 42\n", 39)).is_empty());
        let f = failed("conformance-exit_status-musl", &run("init: exited with status 0\n", 39));
        assert!(f[0].contains("Exited(0), expected Exited(42)"), "{f:?}");
        // A kernel panic: both the exit and the status fail.
        assert_eq!(failed("conformance-exit_status-glibc", &run("panic\n", 35)).len(), 2);
    }

    #[test]
    fn args_needs_every_line_in_order() {
        let out = "argc=3\nargv[0]=/bin/args-glibc\nwarn: x\nargv[1]=a\nargv[2]=b c\nHOME=/\n\
            init: exited with status 0\n";
        assert!(failed("conformance-args-glibc", &run(out, 39)).is_empty());
        let f = failed("conformance-args-musl", &run(out, 39));
        assert!(f[0].contains("argv[0]=/bin/args-musl"), "{f:?}");
        let swapped = out.replace("argv[1]=a\nargv[2]=b c", "argv[2]=b c\nargv[1]=a");
        assert!(failed("conformance-args-glibc", &run(&swapped, 39))[0].contains("argv[2]=b c"));
    }
}
