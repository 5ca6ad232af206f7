/* Signals: rt_sigaction and its flags, rt_sigprocmask, kill/tkill/tgkill, rt_sigqueueinfo and
 * rt_tgsigqueueinfo, rt_sigpending, rt_sigsuspend, rt_sigtimedwait, sigaltstack, default
 * actions (terminate, ignore, stop/continue, core), queueing of real-time and standard
 * signals, SIGCHLD ignored (auto-reaping), pause. */
#include "cases.h"

#include <stdint.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#define SA_RESTORER_FLAG 0x04000000
#define KSIGSET 8 /* the kernel's sigset_t size */

/* The kernel's struct sigaction (rt_sigaction's layout). */
struct ksigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

static volatile int hits;
static volatile int last_sig;

static void count_hit(int sig)
{
    last_sig = sig;
    hits++;
}

static void handle(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    CHECK_OK(sigaction(sig, &sa, NULL));
}

static void block(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    CHECK_OK(sigprocmask(SIG_BLOCK, &s, NULL));
}

static void unblock(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    CHECK_OK(sigprocmask(SIG_UNBLOCK, &s, NULL));
}

/* SIGALRM every `usec` until a handler disarms it: a call that must be interrupted is,
 * however late it starts (and a second tick may come before the handler stops it). */
static void alarm_in(long usec)
{
    struct itimerval it = {{usec / 1000000, usec % 1000000}, {usec / 1000000, usec % 1000000}};
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
}

static void disarm(void)
{
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
}

/* A SIGALRM handler: counts and stops the timer (so it runs once). */
static void alarm_hit(int sig)
{
    disarm();
    count_hit(sig);
}

/* A child that waits for signals until killed; returns its pid. */
static pid_t idle_child(void)
{
    pid_t pid = case_fork();
    if (pid == 0)
        for (;;)
            pause();
    return pid;
}

/* A pid that named a process of ours and names none now. */
static pid_t gone_pid(void)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(0);
    CHECK_EXIT(pid, 0);
    return pid;
}

/* ---- rt_sigaction ---- */

CASE(sigaction_old_action_read_back)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_hit;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    memset(&old, 0, sizeof old);
    CHECK_OK(sigaction(SIGUSR1, NULL, &old));
    CHECK(old.sa_handler == count_hit);
    CHECK_EQ(old.sa_flags & ~SA_RESTORER_FLAG, SA_RESTART);
    CHECK_EQ(sigismember(&old.sa_mask, SIGUSR2), 1);
    CHECK_EQ(sigismember(&old.sa_mask, SIGTERM), 0);
    /* Replacing gives the previous one back in the same call. */
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    CHECK_OK(sigaction(SIGUSR1, &sa, &old));
    CHECK(old.sa_handler == count_hit);
    CHECK_OK(sigaction(SIGUSR1, NULL, &old));
    CHECK(old.sa_handler == SIG_IGN);
}

CASE(sigaction_default_is_sig_dfl)
{
    struct sigaction old;
    CHECK_OK(sigaction(SIGUSR2, NULL, &old));
    CHECK(old.sa_handler == SIG_DFL);
    /* SIGKILL's action may be read, not changed. */
    CHECK_OK(sigaction(SIGKILL, NULL, &old));
    CHECK(old.sa_handler == SIG_DFL);
}

CASE(sigaction_sigkill_sigstop_einval)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_hit;
    CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL);
    sa.sa_handler = SIG_IGN;
    CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
}

CASE(sigaction_bad_signal_einval)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_hit;
    CHECK_ERR(sigaction(0, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(65, &sa, NULL), EINVAL);
    struct ksigaction k = {count_hit, 0, NULL, 0};
    CHECK_ERR(syscall(SYS_rt_sigaction, 0, &k, NULL, KSIGSET), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigaction, 65, &k, NULL, KSIGSET), EINVAL);
}

CASE(rt_sigaction_bad_sigsetsize_einval)
{
    struct ksigaction old;
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 16), EINVAL);
}

CASE(rt_sigaction_efault)
{
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, BAD_PTR, NULL, KSIGSET), EFAULT);
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, KERNEL_PTR, KSIGSET), EFAULT);
}

CASE(sa_resethand_runs_once)
{
    handle(SIGUSR1, count_hit, SA_RESETHAND);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(hits, 1);
    struct sigaction old;
    CHECK_OK(sigaction(SIGUSR1, NULL, &old));
    CHECK(old.sa_handler == SIG_DFL);
    /* The next one takes the default action. */
    pid_t pid = case_fork();
    if (pid == 0) {
        raise(SIGUSR1);
        _exit(0);
    }
    CHECK_KILLED(pid, SIGUSR1);
}

static volatile int blocked_in_handler = -1;

static void note_blocked(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    blocked_in_handler = sigismember(&cur, sig);
}

CASE(handler_blocks_its_signal)
{
    handle(SIGUSR1, note_blocked, 0);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(blocked_in_handler, 1);
    /* And the mask is back after the handler. */
    sigset_t cur;
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
    CHECK_EQ(sigismember(&cur, SIGUSR1), 0);
}

CASE(sa_nodefer_leaves_signal_unblocked)
{
    handle(SIGUSR1, note_blocked, SA_NODEFER);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(blocked_in_handler, 0);
}

static volatile int nested_depth, nested_max, nested_calls;

static void nest_once(int sig)
{
    nested_depth++;
    nested_calls++;
    if (nested_depth > nested_max)
        nested_max = nested_depth;
    /* The first call raises it once more: nested with SA_NODEFER, after it otherwise. */
    if (nested_calls == 1)
        raise(sig);
    nested_depth--;
}

CASE(sa_nodefer_nests_handler)
{
    handle(SIGUSR1, nest_once, SA_NODEFER);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(nested_max, 2);
    CHECK_EQ(nested_calls, 2);
    nested_max = nested_calls = 0;
    handle(SIGUSR1, nest_once, 0);
    CHECK_OK(raise(SIGUSR1));
    /* Deferred: the second ran after the first returned. */
    CHECK_EQ(nested_max, 1);
    CHECK_EQ(nested_calls, 2);
}

static volatile siginfo_t got_info;

static void save_info(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    memcpy((void *)&got_info, si, sizeof *si);
    hits++;
}

static void handle_info(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = save_info;
    sa.sa_flags = SA_SIGINFO | flags;
    CHECK_OK(sigaction(sig, &sa, NULL));
}

CASE(sa_siginfo_kill_fields)
{
    handle_info(SIGUSR1, 0);
    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_EQ(hits, 1);
    CHECK_EQ(got_info.si_signo, SIGUSR1);
    CHECK_EQ(got_info.si_code, SI_USER);
    CHECK_EQ(got_info.si_pid, getpid());
    CHECK_EQ(got_info.si_uid, 0);
}

CASE(sa_siginfo_tkill_code)
{
    handle_info(SIGUSR2, 0);
    CHECK_OK(syscall(SYS_tkill, gettid(), SIGUSR2));
    CHECK_EQ(got_info.si_signo, SIGUSR2);
    CHECK_EQ(got_info.si_code, SI_TKILL);
    CHECK_EQ(got_info.si_pid, getpid());
}

static int restart_pipe[2];

static void write_to_pipe(int sig)
{
    (void)sig;
    disarm();
    /* One more may come before the timer is off (slowly traced): one byte in all. */
    if (++hits == 1 && write(restart_pipe[1], "x", 1) != 1)
        _exit(99);
}

CASE(sa_restart_resumes_read)
{
    CHECK_OK(pipe(restart_pipe));
    handle(SIGALRM, write_to_pipe, SA_RESTART);
    alarm_in(10000);
    /* The handler writes a byte: the restarted read finds it. */
    char c = 0;
    CHECK_EQ(read(restart_pipe[0], &c, 1), 1);
    CHECK_EQ(c, 'x');
    CHECK(hits >= 1);
}

CASE(no_sa_restart_read_eintr)
{
    CHECK_OK(pipe(restart_pipe));
    handle(SIGALRM, alarm_hit, 0);
    alarm_in(10000);
    char c = 0;
    CHECK_ERR(read(restart_pipe[0], &c, 1), EINTR);
    CHECK(hits >= 1);
}

/* ---- rt_sigprocmask ---- */

CASE(sigprocmask_block_unblock_setmask)
{
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    CHECK_OK(sigprocmask(SIG_SETMASK, &s, &old));
    sigaddset(&s, SIGUSR2);
    sigdelset(&s, SIGUSR1);
    CHECK_OK(sigprocmask(SIG_BLOCK, &s, &old));
    CHECK_EQ(sigismember(&old, SIGUSR1), 1);
    CHECK_EQ(sigismember(&old, SIGUSR2), 0);
    CHECK_OK(sigprocmask(SIG_UNBLOCK, &s, &old));
    CHECK_EQ(sigismember(&old, SIGUSR1), 1);
    CHECK_EQ(sigismember(&old, SIGUSR2), 1);
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &old));
    CHECK_EQ(sigismember(&old, SIGUSR1), 1);
    CHECK_EQ(sigismember(&old, SIGUSR2), 0);
    sigemptyset(&s);
    CHECK_OK(sigprocmask(SIG_SETMASK, &s, NULL));
    CHECK_OK(sigprocmask(SIG_SETMASK, NULL, &old));
    CHECK_EQ(sigismember(&old, SIGUSR1), 0);
}

CASE(sigprocmask_bad_how_einval)
{
    sigset_t s;
    sigemptyset(&s);
    CHECK_ERR(sigprocmask(99, &s, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigprocmask, 3, &s, NULL, KSIGSET), EINVAL);
}

CASE(sigprocmask_sigkill_sigstop_unblockable)
{
    uint64_t set = (1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)) | (1ull << (SIGUSR1 - 1));
    CHECK_OK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &set, NULL, KSIGSET));
    uint64_t cur = 0;
    CHECK_OK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, KSIGSET));
    CHECK_EQ(cur, 1ull << (SIGUSR1 - 1));
}

CASE(rt_sigprocmask_bad_size_einval)
{
    uint64_t set = 0;
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 16), EINVAL);
}

CASE(rt_sigprocmask_efault)
{
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD_PTR, NULL, KSIGSET), EFAULT);
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, KERNEL_PTR, KSIGSET), EFAULT);
}

CASE(blocked_signal_delivered_at_unblock)
{
    handle(SIGUSR1, count_hit, 0);
    block(SIGUSR1);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(hits, 0);
    unblock(SIGUSR1);
    CHECK_EQ(hits, 1);
}

/* ---- kill, tkill, tgkill ---- */

CASE(kill_signal_zero_checks_existence)
{
    CHECK_OK(kill(getpid(), 0));
    pid_t pid = idle_child();
    CHECK_OK(kill(pid, 0));
    CHECK_OK(kill(pid, SIGKILL));
    CHECK_KILLED(pid, SIGKILL);
    CHECK_ERR(kill(pid, 0), ESRCH);
}

CASE(kill_esrch)
{
    CHECK_ERR(kill(gone_pid(), SIGTERM), ESRCH);
}

CASE(kill_bad_signal_einval)
{
    CHECK_ERR(kill(getpid(), 65), EINVAL);
    CHECK_ERR(kill(getpid(), -1), EINVAL);
}

CASE(kill_other_user_eperm)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        drop_privileges();
        CHECK_ERR(kill(getppid(), 0), EPERM);
        CHECK_ERR(kill(getppid(), SIGTERM), EPERM);
        CHECK_ERR(syscall(SYS_tkill, getppid(), SIGTERM), EPERM);
        CHECK_ERR(syscall(SYS_tgkill, getppid(), getppid(), SIGTERM), EPERM);
        /* Its own process is fine. */
        CHECK_OK(kill(getpid(), 0));
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(kill_own_group)
{
    handle(SIGUSR1, count_hit, 0);
    CHECK_OK(kill(0, SIGUSR1));
    CHECK_EQ(hits, 1);
    CHECK_OK(kill(-getpgrp(), SIGUSR1));
    CHECK_EQ(hits, 2);
}

CASE(kill_process_group_of_child)
{
    pid_t pid = idle_child();
    CHECK_OK(setpgid(pid, pid));
    CHECK_EQ(getpgid(pid), pid);
    CHECK_EQ(syscall(SYS_getpgrp), getpgid(0));
    CHECK_OK(kill(-pid, SIGTERM));
    CHECK_KILLED(pid, SIGTERM);
    /* The group is empty now. */
    CHECK_ERR(kill(-pid, SIGTERM), ESRCH);
    CHECK_ERR(getpgid(pid), ESRCH);
    CHECK_ERR(setpgid(pid, pid), ESRCH);
    CHECK_ERR(setpgid(0, -1), EINVAL);
}

CASE(kill_child_terminates_it)
{
    pid_t pid = idle_child();
    CHECK_OK(kill(pid, SIGTERM));
    CHECK_KILLED(pid, SIGTERM);
}

CASE(tkill_self)
{
    handle(SIGUSR1, count_hit, 0);
    CHECK_OK(syscall(SYS_tkill, gettid(), SIGUSR1));
    CHECK_EQ(hits, 1);
    CHECK_OK(syscall(SYS_tkill, gettid(), 0));
}

CASE(tkill_errors)
{
    CHECK_ERR(syscall(SYS_tkill, 0, SIGUSR1), EINVAL);
    CHECK_ERR(syscall(SYS_tkill, -5, SIGUSR1), EINVAL);
    CHECK_ERR(syscall(SYS_tkill, gettid(), 65), EINVAL);
    CHECK_ERR(syscall(SYS_tkill, gone_pid(), 0), ESRCH);
}

CASE(tgkill_self)
{
    handle(SIGUSR2, count_hit, 0);
    CHECK_OK(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2));
    CHECK_EQ(hits, 1);
    CHECK_EQ(last_sig, SIGUSR2);
}

CASE(tgkill_errors)
{
    CHECK_ERR(syscall(SYS_tgkill, getpid(), gettid(), 65), EINVAL);
    CHECK_ERR(syscall(SYS_tgkill, -1, gettid(), 0), EINVAL);
    CHECK_ERR(syscall(SYS_tgkill, getpid(), -1, 0), EINVAL);
    pid_t gone = gone_pid();
    CHECK_ERR(syscall(SYS_tgkill, gone, gone, 0), ESRCH);
    /* A thread of another group is not found under this one. */
    CHECK_ERR(syscall(SYS_tgkill, gone, gettid(), 0), ESRCH);
}

/* ---- rt_sigqueueinfo, rt_tgsigqueueinfo ---- */

CASE(sigqueue_value_arrives)
{
    handle_info(SIGRTMIN, 0);
    union sigval v = {.sival_int = 42};
    CHECK_OK(sigqueue(getpid(), SIGRTMIN, v));
    CHECK_EQ(hits, 1);
    CHECK_EQ(got_info.si_signo, SIGRTMIN);
    CHECK_EQ(got_info.si_code, SI_QUEUE);
    CHECK_EQ(got_info.si_value.sival_int, 42);
    CHECK_EQ(got_info.si_pid, getpid());
}

static void fill_queue_info(siginfo_t *si, int sig, int code, int value)
{
    memset(si, 0, sizeof *si);
    si->si_signo = sig;
    si->si_code = code;
    si->si_pid = getpid();
    si->si_uid = getuid();
    si->si_value.sival_int = value;
}

CASE(rt_sigqueueinfo_raw_value)
{
    handle_info(SIGUSR1, 0);
    siginfo_t si;
    fill_queue_info(&si, SIGUSR1, SI_QUEUE, 7);
    CHECK_OK(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
    CHECK_EQ(got_info.si_code, SI_QUEUE);
    CHECK_EQ(got_info.si_value.sival_int, 7);
    /* A positive code to itself is allowed. */
    fill_queue_info(&si, SIGUSR1, SI_USER, 8);
    CHECK_OK(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
    CHECK_EQ(hits, 2);
}

CASE(rt_sigqueueinfo_positive_code_to_other_eperm)
{
    pid_t pid = idle_child();
    siginfo_t si;
    fill_queue_info(&si, SIGUSR1, SI_USER, 1);
    CHECK_ERR(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si), EPERM);
    fill_queue_info(&si, SIGUSR1, SI_TKILL, 1);
    CHECK_ERR(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si), EPERM);
    /* SI_QUEUE is what sigqueue sends: allowed. */
    fill_queue_info(&si, SIGTERM, SI_QUEUE, 1);
    CHECK_OK(syscall(SYS_rt_sigqueueinfo, pid, SIGTERM, &si));
    CHECK_KILLED(pid, SIGTERM);
}

CASE(rt_sigqueueinfo_errors)
{
    siginfo_t si;
    fill_queue_info(&si, SIGUSR1, SI_QUEUE, 1);
    CHECK_ERR(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_rt_sigqueueinfo, getpid(), 65, &si), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigqueueinfo, gone_pid(), SIGUSR1, &si), ESRCH);
}

CASE(rt_tgsigqueueinfo_value_arrives)
{
    handle_info(SIGUSR2, 0);
    siginfo_t si;
    fill_queue_info(&si, SIGUSR2, SI_QUEUE, 99);
    CHECK_OK(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR2, &si));
    CHECK_EQ(hits, 1);
    CHECK_EQ(got_info.si_signo, SIGUSR2);
    CHECK_EQ(got_info.si_value.sival_int, 99);
}

CASE(rt_tgsigqueueinfo_errors)
{
    pid_t pid = idle_child();
    siginfo_t si;
    fill_queue_info(&si, SIGUSR1, SI_USER, 1);
    CHECK_ERR(syscall(SYS_rt_tgsigqueueinfo, pid, pid, SIGUSR1, &si), EPERM);
    CHECK_OK(kill(pid, SIGKILL));
    CHECK_KILLED(pid, SIGKILL);
    fill_queue_info(&si, SIGUSR1, SI_QUEUE, 1);
    CHECK_ERR(syscall(SYS_rt_tgsigqueueinfo, 0, gettid(), SIGUSR1, &si), EINVAL);
    CHECK_ERR(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), 65, &si), EINVAL);
    CHECK_ERR(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR1, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_rt_tgsigqueueinfo, pid, pid, SIGUSR1, &si), ESRCH);
}

/* ---- rt_sigpending ---- */

CASE(sigpending_shows_blocked_signal)
{
    handle(SIGUSR1, count_hit, 0);
    block(SIGUSR1);
    sigset_t p;
    CHECK_OK(sigpending(&p));
    CHECK_EQ(sigismember(&p, SIGUSR1), 0);
    CHECK_OK(raise(SIGUSR1));
    CHECK_OK(sigpending(&p));
    CHECK_EQ(sigismember(&p, SIGUSR1), 1);
    unblock(SIGUSR1);
    CHECK_EQ(hits, 1);
    CHECK_OK(sigpending(&p));
    CHECK_EQ(sigismember(&p, SIGUSR1), 0);
}

CASE(sigpending_ignored_blocked_stays_pending)
{
    handle(SIGUSR2, SIG_IGN, 0);
    block(SIGUSR2);
    CHECK_OK(raise(SIGUSR2));
    sigset_t p;
    CHECK_OK(sigpending(&p));
    CHECK_EQ(sigismember(&p, SIGUSR2), 1);
    unblock(SIGUSR2);
    CHECK_OK(sigpending(&p));
    CHECK_EQ(sigismember(&p, SIGUSR2), 0);
}

CASE(rt_sigpending_errors)
{
    CHECK_ERR(syscall(SYS_rt_sigpending, BAD_PTR, KSIGSET), EFAULT);
    uint64_t set;
    CHECK_ERR(syscall(SYS_rt_sigpending, &set, 16), EINVAL);
}

/* ---- rt_sigsuspend ---- */

CASE(sigsuspend_runs_handler_and_restores_mask)
{
    handle(SIGUSR1, count_hit, 0);
    block(SIGUSR1);
    CHECK_OK(raise(SIGUSR1));
    sigset_t none;
    sigemptyset(&none);
    CHECK_ERR(sigsuspend(&none), EINTR);
    CHECK_EQ(hits, 1);
    sigset_t cur;
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
    CHECK_EQ(sigismember(&cur, SIGUSR1), 1);
}

CASE(sigsuspend_waits_for_timer)
{
    handle(SIGALRM, alarm_hit, 0);
    block(SIGALRM);
    alarm_in(10000);
    sigset_t none;
    sigemptyset(&none);
    CHECK_ERR(sigsuspend(&none), EINTR);
    CHECK_EQ(last_sig, SIGALRM);
}

CASE(rt_sigsuspend_errors)
{
    uint64_t set = 0;
    CHECK_ERR(syscall(SYS_rt_sigsuspend, &set, 4), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigsuspend, BAD_PTR, KSIGSET), EFAULT);
}

/* ---- rt_sigtimedwait ---- */

CASE(sigtimedwait_takes_pending_signal)
{
    block(SIGUSR2);
    CHECK_OK(syscall(SYS_tkill, gettid(), SIGUSR2));
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    siginfo_t si;
    struct timespec ts = {1, 0};
    /* Raw: glibc's sigtimedwait reports SI_TKILL as SI_USER. */
    uint64_t set = 1ull << (SIGUSR2 - 1);
    CHECK_EQ(syscall(SYS_rt_sigtimedwait, &set, &si, &ts, KSIGSET), SIGUSR2);
    CHECK_EQ(si.si_signo, SIGUSR2);
    CHECK_EQ(si.si_code, SI_TKILL);
    CHECK_EQ(si.si_pid, getpid());
    CHECK_OK(kill(getpid(), SIGUSR2));
    CHECK_EQ(sigtimedwait(&s, &si, &ts), SIGUSR2);
    CHECK_EQ(si.si_code, SI_USER);
    sigset_t p;
    CHECK_OK(sigpending(&p));
    CHECK_EQ(sigismember(&p, SIGUSR2), 0);
}

CASE(sigtimedwait_timeout_eagain)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    block(SIGUSR1);
    struct timespec ts = {0, 10 * 1000 * 1000};
    CHECK_ERR(sigtimedwait(&s, NULL, &ts), EAGAIN);
    struct timespec zero = {0, 0};
    CHECK_ERR(sigtimedwait(&s, NULL, &zero), EAGAIN);
}

CASE(sigtimedwait_other_signal_eintr)
{
    handle(SIGALRM, alarm_hit, 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    block(SIGUSR1);
    alarm_in(10000);
    struct timespec ts = {5, 0};
    /* Raw: musl's sigtimedwait retries after EINTR. */
    uint64_t set = 1ull << (SIGUSR1 - 1);
    CHECK_ERR(syscall(SYS_rt_sigtimedwait, &set, NULL, &ts, KSIGSET), EINTR);
    CHECK(hits >= 1);
}

CASE(rt_sigtimedwait_errors)
{
    uint64_t set = 1ull << (SIGUSR1 - 1);
    struct timespec bad = {0, 1000 * 1000 * 1000};
    CHECK_ERR(syscall(SYS_rt_sigtimedwait, &set, NULL, &bad, KSIGSET), EINVAL);
    struct timespec ts = {0, 0};
    CHECK_ERR(syscall(SYS_rt_sigtimedwait, &set, NULL, &ts, 4), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigtimedwait, BAD_PTR, NULL, &ts, KSIGSET), EFAULT);
    CHECK_ERR(syscall(SYS_rt_sigtimedwait, &set, NULL, BAD_PTR, KSIGSET), EFAULT);
}

/* ---- sigaltstack ---- */

static char alt_mem[64 * 1024] __attribute__((aligned(16)));
static volatile int handler_on_alt = -1, alt_onstack_flag = -1, alt_change_errno = -1;

static void on_alt(int sig)
{
    (void)sig;
    char local;
    handler_on_alt = &local >= alt_mem && &local < alt_mem + sizeof alt_mem;
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0)
        alt_onstack_flag = (cur.ss_flags & SS_ONSTACK) != 0;
    /* The stack in use cannot be changed. */
    stack_t ss = {.ss_sp = alt_mem, .ss_size = sizeof alt_mem, .ss_flags = 0};
    alt_change_errno = sigaltstack(&ss, NULL) == -1 ? errno : 0;
}

CASE(sigaltstack_set_and_read_back)
{
    stack_t ss = {.ss_sp = alt_mem, .ss_size = sizeof alt_mem, .ss_flags = 0}, old;
    CHECK_OK(sigaltstack(&ss, &old));
    CHECK_EQ(old.ss_flags, SS_DISABLE);
    CHECK_OK(sigaltstack(NULL, &old));
    CHECK(old.ss_sp == alt_mem);
    CHECK_EQ(old.ss_size, sizeof alt_mem);
    CHECK_EQ(old.ss_flags, 0);
    ss.ss_flags = SS_DISABLE;
    CHECK_OK(sigaltstack(&ss, NULL));
    CHECK_OK(sigaltstack(NULL, &old));
    CHECK_EQ(old.ss_flags, SS_DISABLE);
}

CASE(sigaltstack_handler_runs_on_it_eperm_to_change)
{
    stack_t ss = {.ss_sp = alt_mem, .ss_size = sizeof alt_mem, .ss_flags = 0};
    CHECK_OK(sigaltstack(&ss, NULL));
    handle(SIGUSR1, on_alt, SA_ONSTACK);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(handler_on_alt, 1);
    CHECK_EQ(alt_onstack_flag, 1);
    CHECK_EQ(alt_change_errno, EPERM);
    /* Off it again. */
    stack_t cur;
    CHECK_OK(sigaltstack(NULL, &cur));
    CHECK_EQ(cur.ss_flags, 0);
}

CASE(sigaltstack_without_sa_onstack_unused)
{
    stack_t ss = {.ss_sp = alt_mem, .ss_size = sizeof alt_mem, .ss_flags = 0};
    CHECK_OK(sigaltstack(&ss, NULL));
    handle(SIGUSR1, on_alt, 0);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(handler_on_alt, 0);
    CHECK_EQ(alt_onstack_flag, 0);
    CHECK_EQ(alt_change_errno, 0);
}

CASE(sigaltstack_too_small_enomem)
{
    stack_t ss = {.ss_sp = alt_mem, .ss_size = 1024, .ss_flags = 0};
    CHECK_ERR(sigaltstack(&ss, NULL), ENOMEM);
}

CASE(sigaltstack_bad_flags_einval)
{
    stack_t ss = {.ss_sp = alt_mem, .ss_size = sizeof alt_mem, .ss_flags = 0x10};
    CHECK_ERR(sigaltstack(&ss, NULL), EINVAL);
    ss.ss_flags = SS_ONSTACK | 0x10;
    CHECK_ERR(sigaltstack(&ss, NULL), EINVAL);
}

CASE(sigaltstack_efault)
{
    CHECK_ERR(syscall(SYS_sigaltstack, BAD_PTR, NULL), EFAULT);
    CHECK_ERR(syscall(SYS_sigaltstack, NULL, KERNEL_PTR), EFAULT);
}

/* ---- default actions ---- */

CASE(sigterm_default_terminates)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    CHECK_KILLED(pid, SIGTERM);
}

CASE(sigchld_default_ignored)
{
    CHECK_OK(raise(SIGCHLD));
    CHECK_OK(raise(SIGURG));
    CHECK_OK(raise(SIGWINCH));
    sigset_t p;
    CHECK_OK(sigpending(&p));
    CHECK_EQ(sigismember(&p, SIGCHLD), 0);
}

CASE(sigstop_sigcont_reported_to_parent)
{
    pid_t pid = idle_child();
    CHECK_OK(kill(pid, SIGSTOP));
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
    CHECK(WIFSTOPPED(st));
    CHECK_EQ(WSTOPSIG(st), SIGSTOP);
    CHECK_OK(kill(pid, SIGCONT));
    CHECK_EQ(waitpid(pid, &st, WCONTINUED), pid);
    CHECK(WIFCONTINUED(st));
    /* Nothing more to report. */
    CHECK_EQ(waitpid(pid, &st, WNOHANG | WUNTRACED | WCONTINUED), 0);
    CHECK_OK(kill(pid, SIGKILL));
    CHECK_KILLED(pid, SIGKILL);
}

CASE(sigtstp_default_stops)
{
    /* In a group of its own, whose parent (this process) is in another group of the
     * session: not an orphaned group, where Linux would discard SIGTSTP. */
    pid_t pid = case_fork();
    if (pid == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    CHECK_OK(setpgid(pid, pid));
    CHECK_OK(kill(pid, SIGTSTP));
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
    CHECK(WIFSTOPPED(st));
    CHECK_EQ(WSTOPSIG(st), SIGTSTP);
    /* SIGKILL ends a stopped process. */
    CHECK_OK(kill(pid, SIGKILL));
    CHECK_KILLED(pid, SIGKILL);
}

CASE(sigtstp_discarded_in_orphaned_group)
{
    /* A session leader's group is orphaned (its parent is in another session): SIGTSTP,
     * SIGTTIN and SIGTTOU do nothing there, while SIGSTOP still stops it. */
    pid_t pid = case_fork();
    if (pid == 0) {
        if (setsid() < 0)
            _exit(2);
        raise(SIGTSTP);
        raise(SIGTTIN);
        raise(SIGTTOU);
        _exit(0);
    }
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    pid = case_fork();
    if (pid == 0) {
        if (setsid() < 0)
            _exit(2);
        raise(SIGSTOP);
        _exit(0);
    }
    CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
    CHECK(WIFSTOPPED(st));
    CHECK_OK(kill(pid, SIGCONT));
    CHECK_EXIT(pid, 0);
}

CASE(core_signal_without_core_limit_no_coredump)
{
    int sigs[] = {SIGSEGV, SIGQUIT, SIGABRT, SIGFPE};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        pid_t pid = case_fork();
        if (pid == 0) {
            struct rlimit r = {0, 0};
            setrlimit(RLIMIT_CORE, &r);
            signal(sigs[i], SIG_DFL);
            raise(sigs[i]);
            _exit(0);
        }
        int st = wait_status(pid);
        CHECK(WIFSIGNALED(st));
        CHECK_EQ(WTERMSIG(st), sigs[i]);
        CHECK_EQ(WCOREDUMP(st), 0);
    }
}

/* ---- queueing ---- */

static volatile int rt_values[8];
static volatile int rt_count;

static void record_value(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    if (rt_count < 8)
        rt_values[rt_count] = si->si_value.sival_int;
    rt_count++;
}

CASE(realtime_signals_queue_in_order)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = record_value;
    sa.sa_flags = SA_SIGINFO;
    CHECK_OK(sigaction(SIGRTMIN + 1, &sa, NULL));
    block(SIGRTMIN + 1);
    for (int i = 1; i <= 3; i++) {
        union sigval v = {.sival_int = i * 10};
        CHECK_OK(sigqueue(getpid(), SIGRTMIN + 1, v));
    }
    CHECK_EQ(rt_count, 0);
    unblock(SIGRTMIN + 1);
    CHECK_EQ(rt_count, 3);
    CHECK_EQ(rt_values[0], 10);
    CHECK_EQ(rt_values[1], 20);
    CHECK_EQ(rt_values[2], 30);
}

CASE(realtime_signals_lowest_first)
{
    block(SIGRTMIN + 2);
    block(SIGRTMIN + 3);
    union sigval v = {.sival_int = 0};
    CHECK_OK(sigqueue(getpid(), SIGRTMIN + 3, v));
    CHECK_OK(sigqueue(getpid(), SIGRTMIN + 2, v));
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 2);
    sigaddset(&s, SIGRTMIN + 3);
    struct timespec zero = {0, 0};
    CHECK_EQ(sigtimedwait(&s, NULL, &zero), SIGRTMIN + 2);
    CHECK_EQ(sigtimedwait(&s, NULL, &zero), SIGRTMIN + 3);
    CHECK_ERR(sigtimedwait(&s, NULL, &zero), EAGAIN);
}

CASE(standard_signals_merge)
{
    handle(SIGUSR1, count_hit, 0);
    block(SIGUSR1);
    for (int i = 0; i < 3; i++)
        CHECK_OK(raise(SIGUSR1));
    unblock(SIGUSR1);
    CHECK_EQ(hits, 1);
}

CASE(sigchld_ignored_children_reaped)
{
    handle(SIGCHLD, SIG_IGN, 0);
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(3);
    /* No zombie is left to wait for: wait blocks until the child is gone, then ECHILD. */
    int st;
    CHECK_ERR(waitpid(pid, &st, 0), ECHILD);
    CHECK_ERR(wait(&st), ECHILD);
}

CASE(sigchld_handler_runs_on_child_exit)
{
    handle_info(SIGCHLD, 0);
    block(SIGCHLD);
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(4);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    unblock(SIGCHLD);
    CHECK_EQ(hits, 1);
    CHECK_EQ(got_info.si_signo, SIGCHLD);
    CHECK_EQ(got_info.si_code, CLD_EXITED);
    CHECK_EQ(got_info.si_pid, pid);
    CHECK_EQ(got_info.si_status, 4);
}

/* ---- pause ---- */

CASE(pause_returns_eintr_after_handler)
{
    handle(SIGALRM, alarm_hit, 0);
    alarm_in(10000);
    CHECK_ERR(pause(), EINTR);
    CHECK(hits >= 1);
}

CASE(pause_ignored_signal_keeps_waiting)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        signal(SIGUSR1, SIG_IGN);
        signal(SIGALRM, alarm_hit);
        /* SIGUSR1 is ignored: the first pause ends only at the timer. */
        alarm_in(50000);
        kill(getpid(), SIGUSR1);
        int r = pause();
        _exit(r == -1 && errno == EINTR && last_sig == SIGALRM ? 0 : 1);
    }
    CHECK_EXIT(pid, 0);
}
