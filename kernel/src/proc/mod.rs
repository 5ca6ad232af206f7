//! Processes (DragonFly's kern_proc.c, sys/proc.h): a `Proc` holds what its threads share
//! (descriptor table, working directory, credentials, signal actions, resource limits, the
//! ABI it runs under), an `Lwp` is one thread of it, carried by one LWKT thread whose user
//! state is a [`usermd::UserMd`].
//!
//! Processes live in the [`tree`] from fork to their reaping; signal delivery builds on
//! these structures next.
pub mod exec;
pub mod exit;
pub mod fork;
pub mod init;
pub mod signal;
pub mod tree;
pub mod usermd;

use crate::lwkt::sched::try_curthread;
use crate::sync::spinlock::SpinLock;
use crate::vfs::cred::Cred;
use crate::vfs::filedesc::FileDesc;
use crate::vfs::namecache::NcHandle;
use crate::vfs::nlookup::Ctx;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

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
    /// The command name (the executable's base name, 15 bytes at most).
    pub comm: SpinLock<Vec<u8>>,
    /// Where the executable was found (for /proc/self/exe).
    pub exe: SpinLock<Option<NcHandle>>,
    /// Signal dispositions, index = signal - 1.
    pub sigacts: SpinLock<[SigAction; NSIG]>,
    /// (soft, hard) resource limits.
    pub rlimits: SpinLock<[(u64, u64); RLIM_NLIMITS]>,
    /// Pending signals.
    pub sig: SpinLock<signal::SigState>,
    /// The signals its thread blocks (a copy of the lwp's mask, for posting).
    pub blocked: AtomicU64,
    /// Its thread's lwp (one per process so far), for signals posted from elsewhere.
    pub threads: SpinLock<Option<Weak<Lwp>>>,
    /// A vfork child still borrowing its parent's memory (the parent sleeps until it clears).
    pub in_vfork: AtomicBool,
    /// The address space its thread runs in (set at fork and exec), for /proc/PID.
    pub vm: SpinLock<Weak<crate::vm::vmspace::VmSpace>>,
    /// Where exec put the argument and environment strings (Linux's mm->arg_start etc.).
    pub args: SpinLock<ArgRange>,
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

/// One thread of a process.
pub struct Lwp {
    /// The process.
    pub proc: Arc<Proc>,
    /// Thread id (the pid for the first thread).
    pub tid: u32,
    /// Blocked signals.
    pub sigmask: AtomicU64,
    /// The mask a call that waits under a temporary one (ppoll, pselect6, epoll_pwait)
    /// replaced: put back on the way out, or saved in the signal frame when a handler runs
    /// (Linux's saved_sigmask).
    pub saved_sigmask: SpinLock<Option<u64>>,
    /// set_tid_address: where to store 0 and wake futex waiters at thread exit.
    pub clear_child_tid: AtomicU64,
    /// set_robust_list head (recorded; walked at exit once futexes exist).
    pub robust_list: AtomicU64,
    /// The thread that runs it, so a signal can end its interruptible sleep. Set by the
    /// thread when it starts, cleared when the process exits (it would otherwise keep the
    /// thread, which holds this lwp, alive).
    pub thread: SpinLock<Option<crate::lwkt::thread::ThreadHandle>>,
}

fn default_rlimits() -> [(u64, u64); RLIM_NLIMITS] {
    let mut r = [(RLIM_INFINITY, RLIM_INFINITY); RLIM_NLIMITS];
    const RLIMIT_STACK: usize = 3;
    const RLIMIT_NOFILE: usize = 7;
    r[RLIMIT_STACK] = (8 << 20, RLIM_INFINITY);
    r[RLIMIT_NOFILE] = (1024, 4096);
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
                comm: SpinLock::new(Vec::new()),
                exe: SpinLock::new(None),
                sigacts: SpinLock::new([SigAction::default(); NSIG]),
                rlimits: SpinLock::new(default_rlimits()),
                in_vfork: AtomicBool::new(false),
                threads: SpinLock::new(None),
                sig: SpinLock::new(signal::SigState::new()),
                blocked: AtomicU64::new(0),
                vm: SpinLock::new(Weak::new()),
                args: SpinLock::new(ArgRange::default()),
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
                comm: SpinLock::new(self.comm.lock().clone()),
                exe: SpinLock::new(self.exe.lock().clone()),
                sigacts: SpinLock::new(*self.sigacts.lock()),
                rlimits: SpinLock::new(*self.rlimits.lock()),
                in_vfork: AtomicBool::new(false),
                threads: SpinLock::new(None),
                sig: SpinLock::new(signal::SigState::new()),
                blocked: AtomicU64::new(self.blocked.load(Ordering::Relaxed)),
                vm: SpinLock::new(Weak::new()),
                args: SpinLock::new(*self.args.lock()),
            }))
        })
    }

    /// The lookup context for this process's path arguments.
    pub fn ctx(&self) -> Ctx {
        Ctx { root: self.root.lock().clone(), cwd: self.cwd.lock().clone(), cred: self.cred.lock().clone() }
    }
}

impl Lwp {
    /// The first thread of `proc` (its tid is the pid).
    pub fn first(proc: Arc<Proc>) -> Arc<Lwp> {
        let lwp = Arc::new(Lwp {
            tid: proc.pid,
            proc,
            sigmask: AtomicU64::new(0),
            saved_sigmask: SpinLock::new(None),
            clear_child_tid: AtomicU64::new(0),
            robust_list: AtomicU64::new(0),
            thread: SpinLock::new(None),
        });
        *lwp.proc.threads.lock() = Some(Arc::downgrade(&lwp));
        lwp
    }
}

/// The lwp the running thread carries, if it runs a process. Borrowed from the thread, not
/// counted: a thread that exits from deep in a call leaves no reference behind.
pub fn curlwp() -> Option<&'static Arc<Lwp>> {
    try_curthread()?.user().map(|u| &u.lwp)
}

impl Proc {
    /// The thread running this process (one per process for now), while it runs.
    pub fn lwp_thread(&self) -> Option<crate::lwkt::thread::ThreadHandle> {
        let lwp = self.threads.lock().as_ref()?.upgrade()?;
        let td = lwp.thread.lock().clone();
        td
    }
}
