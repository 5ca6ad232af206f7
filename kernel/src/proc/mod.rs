//! Processes (DragonFly's kern_proc.c, sys/proc.h): a `Proc` holds what its threads share
//! (descriptor table, working directory, credentials, signal actions, resource limits, the
//! ABI it runs under), an `Lwp` is one thread of it, carried by one LWKT thread whose user
//! state is a [`usermd::UserMd`].
//!
//! Processes live in the [`tree`] from fork to their reaping. [`thread`] makes and ends the
//! extra threads clone(CLONE_THREAD) asks for; [`futex`] is what they wait on.
pub mod exec;
pub mod exit;
pub mod fork;
pub mod futex;
pub mod init;
pub mod killable;
pub mod ktimer;
pub mod lwp;
pub mod oom;
pub mod restart;
pub mod rseq;
pub mod rusage;
pub mod schedpolicy;
pub mod signal;
pub mod thread;
pub mod timers;
pub mod tree;
pub mod usermd;

use crate::sync::spinlock::SpinLock;
use crate::vfs::cred::Cred;
use crate::vfs::filedesc::FileDesc;
use crate::vfs::namecache::NcHandle;
use crate::vfs::nlookup::Ctx;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
pub use lwp::{curlwp, Lwp};

/// Resource limits (RLIMIT_*), Linux numbering.
pub const RLIM_NLIMITS: usize = 16;
/// No limit.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// A signal disposition as rt_sigaction stores it (Linux's `struct sigaction` on x86_64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    /// Handler address, SIG_DFL (0) or SIG_IGN (1).
    pub handler: u64,
    /// SA_* flags.
    pub flags: u64,
    /// The trampoline (SA_RESTORER).
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

/// Real and saved ids (kern_prot.c's p_ruid/p_svuid and group counterparts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    /// Real user id.
    pub ruid: u32,
    /// Saved set-user-id.
    pub suid: u32,
    /// Real group id.
    pub rgid: u32,
    /// Saved set-group-id.
    pub sgid: u32,
}

/// Number of signals (1..=64).
pub const NSIG: usize = 64;

/// One process.
pub struct Proc {
    /// Process id.
    pub pid: u32,
    /// Parent's pid (0 for PID 1); changed under the tree's lock.
    pub ppid: AtomicU32,
    /// Process group.
    pub pgid: AtomicU32,
    /// Session.
    pub sid: AtomicU32,
    /// The wait status once the process has ended (a zombie until its parent reaps it).
    pub zombie: SpinLock<Option<i32>>,
    /// The descriptor table.
    pub fd: Arc<FileDesc>,
    /// Working directory.
    pub cwd: SpinLock<NcHandle>,
    /// Root directory (chroot).
    pub root: SpinLock<NcHandle>,
    /// Credentials: the effective ids and groups every access check uses.
    pub cred: SpinLock<Cred>,
    /// Real and saved user and group ids (the effective ones are in `cred`).
    pub ids: SpinLock<Ids>,
    /// File creation mask.
    pub umask: AtomicU32,
    /// Scheduling niceness, -20 (most favoured) to 19; the user scheduler reads it.
    pub nice: AtomicI32,
    /// The command name (the executable's base name, 15 bytes at most).
    pub comm: SpinLock<Vec<u8>>,
    /// Where the executable was found (for /proc/self/exe).
    pub exe: SpinLock<Option<NcHandle>>,
    /// Signal dispositions, index = signal - 1.
    pub sigacts: SpinLock<[SigAction; NSIG]>,
    /// (soft, hard) resource limits.
    pub rlimits: SpinLock<[(u64, u64); RLIM_NLIMITS]>,
    /// Signals pending for the process as a whole (any thread that does not block one may
    /// take it); each lwp has its own set besides.
    pub sig: signal::Pending,
    /// Its live threads. An lwp leaves the list as its thread ends, which breaks the
    /// proc -> lwp -> proc cycle; the last one out ends the process.
    pub lwps: SpinLock<Vec<Arc<Lwp>>>,
    /// The wait status the process ends with once its last thread is gone: set by the
    /// first thread's own exit, or (for good) by exit_group or a fatal signal.
    pub exit_status: SpinLock<Option<i32>>,
    /// exit_group or a fatal signal is ending the process: every thread is made to leave
    /// and no new one may start.
    pub group_exit: AtomicBool,
    /// The signal its parent hears of its end by (clone's CSIGNAL; SIGCHLD for fork).
    pub exit_signal: AtomicU32,
    /// Job control: the process is stopped (SIGSTOP and friends) until SIGCONT.
    pub stopped: AtomicBool,
    /// A stop or continue its parent has not waited for yet (WUNTRACED, WCONTINUED): the
    /// wait status to report.
    pub wait_report: SpinLock<Option<i32>>,
    /// A vfork child still borrowing its parent's memory (the parent sleeps until it clears).
    pub in_vfork: AtomicBool,
    /// The address space its thread runs in (set at fork and exec), for /proc/PID.
    pub vm: SpinLock<Weak<crate::vm::vmspace::VmSpace>>,
    /// Where exec put the argument and environment strings (Linux's mm->arg_start etc.).
    pub args: SpinLock<ArgRange>,
    /// CPU time and faults of its ended threads and reaped children.
    pub usage: rusage::ProcUsage,
    /// Interval and POSIX timers.
    pub timers: timers::ProcTimers,
    /// The signalfds waiting for its signals.
    pub sigwatch: signal::watchers::SigWatchers,
    /// The signal it gets when its parent dies (prctl PR_SET_PDEATHSIG); 0 for none.
    pub pdeath_signal: AtomicU32,
    /// Its orphaned descendants come to it rather than to PID 1 (PR_SET_CHILD_SUBREAPER).
    pub child_subreaper: AtomicBool,
}

/// The user addresses of the argument and environment strings exec wrote on the stack
/// (each range NUL-separated strings, end exclusive); zeros before any exec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArgRange {
    /// First byte of argv[0].
    pub arg_start: u64,
    /// One past the last argument's NUL.
    pub arg_end: u64,
    /// First byte of envp[0].
    pub env_start: u64,
    /// One past the last environment string's NUL.
    pub env_end: u64,
}

fn default_rlimits() -> [(u64, u64); RLIM_NLIMITS] {
    let mut r = [(RLIM_INFINITY, RLIM_INFINITY); RLIM_NLIMITS];
    const RLIMIT_STACK: usize = 3;
    const RLIMIT_NOFILE: usize = 7;
    const RLIMIT_CORE: usize = 4;
    const RLIMIT_NICE: usize = 13;
    const RLIMIT_RTPRIO: usize = 14;
    const RLIMIT_MEMLOCK: usize = 8;
    r[RLIMIT_STACK] = (8 << 20, RLIM_INFINITY);
    // Linux starts init with no core files (and none are written here).
    r[RLIMIT_CORE] = (0, RLIM_INFINITY);
    r[RLIMIT_NOFILE] = (1024, 4096);
    // Linux's MLOCK_LIMIT since 5.16: 8 MiB may be locked without privilege.
    r[RLIMIT_MEMLOCK] = (8 << 20, 8 << 20);
    // As Linux: without privilege, no niceness below 0 and no real-time priority.
    r[RLIMIT_NICE] = (0, 0);
    r[RLIMIT_RTPRIO] = (0, 0);
    r
}

impl Proc {
    /// A new process with a fresh pid, the given descriptor table, root and working
    /// directory, and root's credentials, entered in the process tree. `EAGAIN` when every
    /// pid is taken.
    pub fn new(fd: Arc<FileDesc>, root: NcHandle, cwd: NcHandle) -> Result<Arc<Proc>, i32> {
        tree::insert_new(|pid| {
            Ok(Arc::new(Proc {
                pid,
                ppid: AtomicU32::new(0),
                pgid: AtomicU32::new(pid),
                sid: AtomicU32::new(pid),
                zombie: SpinLock::new(None),
                fd,
                cwd: SpinLock::new(cwd),
                root: SpinLock::new(root),
                cred: SpinLock::new(Cred::root()),
                ids: SpinLock::new(Ids::default()),
                umask: AtomicU32::new(0o022),
                nice: AtomicI32::new(0),
                comm: SpinLock::new(Vec::new()),
                exe: SpinLock::new(None),
                sigacts: SpinLock::new([SigAction::default(); NSIG]),
                rlimits: SpinLock::new(default_rlimits()),
                in_vfork: AtomicBool::new(false),
                sig: signal::Pending::new(),
                lwps: SpinLock::new(Vec::new()),
                exit_status: SpinLock::new(None),
                group_exit: AtomicBool::new(false),
                exit_signal: AtomicU32::new(signal::SIGCHLD),
                stopped: AtomicBool::new(false),
                wait_report: SpinLock::new(None),
                vm: SpinLock::new(Weak::new()),
                args: SpinLock::new(ArgRange::default()),
                usage: rusage::ProcUsage::new(),
                timers: timers::ProcTimers::new(),
                sigwatch: signal::watchers::SigWatchers::new(),
                pdeath_signal: AtomicU32::new(0),
                child_subreaper: AtomicBool::new(false),
            }))
        })
    }

    /// fork's copy of this process: a fresh pid with this one as parent, the descriptor
    /// table `make_fd(pid)` makes, and everything else inherited.
    pub fn fork(&self, make_fd: impl FnOnce(u32) -> Result<Arc<FileDesc>, i32>) -> Result<Arc<Proc>, i32> {
        tree::insert_new(|pid| {
            let fd = make_fd(pid)?;
            Ok(Arc::new(Proc {
                pid,
                ppid: AtomicU32::new(self.pid),
                pgid: AtomicU32::new(self.pgid.load(Ordering::Relaxed)),
                sid: AtomicU32::new(self.sid.load(Ordering::Relaxed)),
                zombie: SpinLock::new(None),
                fd,
                cwd: SpinLock::new(self.cwd.lock().clone()),
                root: SpinLock::new(self.root.lock().clone()),
                cred: SpinLock::new(self.cred.lock().clone()),
                ids: SpinLock::new(*self.ids.lock()),
                umask: AtomicU32::new(self.umask.load(Ordering::Relaxed)),
                nice: AtomicI32::new(self.nice.load(Ordering::Relaxed)),
                comm: SpinLock::new(self.comm.lock().clone()),
                exe: SpinLock::new(self.exe.lock().clone()),
                sigacts: SpinLock::new(*self.sigacts.lock()),
                rlimits: SpinLock::new(*self.rlimits.lock()),
                in_vfork: AtomicBool::new(false),
                sig: signal::Pending::new(),
                lwps: SpinLock::new(Vec::new()),
                exit_status: SpinLock::new(None),
                group_exit: AtomicBool::new(false),
                exit_signal: AtomicU32::new(signal::SIGCHLD),
                stopped: AtomicBool::new(false),
                wait_report: SpinLock::new(None),
                vm: SpinLock::new(Weak::new()),
                args: SpinLock::new(*self.args.lock()),
                usage: rusage::ProcUsage::new(),
                timers: timers::ProcTimers::new(),
                sigwatch: signal::watchers::SigWatchers::new(),
                pdeath_signal: AtomicU32::new(0),
                child_subreaper: AtomicBool::new(false),
            }))
        })
    }

    /// The lookup context for this process's path arguments.
    pub fn ctx(&self) -> Ctx {
        Ctx { root: self.root.lock().clone(), cwd: self.cwd.lock().clone(), cred: self.cred.lock().clone() }
    }
}

impl Proc {
    /// Its live threads (a snapshot).
    pub fn lwps(&self) -> Vec<Arc<Lwp>> {
        self.lwps.lock().clone()
    }

    /// The thread a signal for the whole process goes to: the first live one that does not
    /// block `sig`, else the first live one.
    pub fn lwp_for_signal(&self, sig: u32) -> Option<Arc<Lwp>> {
        let l = self.lwps.lock();
        let bit = signal::bit(sig);
        l.iter().find(|t| t.sigmask.load(Ordering::Relaxed) & bit == 0).or(l.first()).cloned()
    }
}
