/* Processes: fork, vfork, clone, the wait family, ids, process groups and sessions, exit
 * statuses, orphans, kill's errors, prctl and arch_prctl. */
#include "cases.h"
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>

#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#define PR_GET_CHILD_SUBREAPER 37
#endif
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#ifndef __WALL
#define __WALL 0x40000000
#endif

/* A pid that names no process now: a child's, once reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(0);
    CHECK_EXIT(pid, 0);
    return pid;
}

/* A child blocked until `*release` (the write end of its pipe) is closed; it then exits
 * with `code`. */
static pid_t blocked_child(int *release, int code)
{
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = case_fork();
    if (pid == 0) {
        close(p[1]);
        char c;
        while (read(p[0], &c, 1) > 0)
            ;
        _exit(code);
    }
    close(p[0]);
    *release = p[1];
    return pid;
}

/* clone(flags) made in assembly: the child (sharing the stack when CLONE_VM is set) stores
 * 1 at `*mark` and exits with `code` without touching the stack; the parent gets the result. */
static long clone_store_exit(unsigned long flags, volatile int *mark, int code)
{
    register long r9 __asm__("r9") = (long)mark;
    register long r12 __asm__("r12") = code;
    register long r10 __asm__("r10") = 0;
    register long r8 __asm__("r8") = 0;
    long ret;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "movl $1, (%%r9)\n\t"
                     "mov $60, %%eax\n\t"
                     "mov %%r12, %%rdi\n\t"
                     "syscall\n\t"
                     "1:\n\t"
                     : "=a"(ret)
                     : "a"((long)SYS_clone), "D"(flags), "S"(0L), "d"(0L), "r"(r10), "r"(r8),
                       "r"(r9), "r"(r12)
                     : "rcx", "r11", "memory");
    return ret;
}

CASE(fork_child_exit_status)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(42);
    CHECK(pid > 0);
    CHECK_EXIT(pid, 42);
}

CASE(fork_raw_syscall)
{
    /* The fork system call itself (glibc's fork() makes clone). */
    fflush(stdout);
    long pid = syscall(SYS_fork);
    if (pid == 0)
        _exit(24);
    CHECK(pid > 0);
    CHECK_EXIT(pid, 24);
}

CASE(fork_child_ids)
{
    pid_t parent = getpid();
    pid_t pid = case_fork();
    if (pid == 0) {
        if (getppid() != parent)
            _exit(1);
        if (getpid() == parent)
            _exit(2);
        if (gettid() != getpid())
            _exit(3);
        _exit(0);
    }
    CHECK(pid != parent);
    CHECK_EQ(gettid(), getpid());
    CHECK_EXIT(pid, 0);
}

CASE(fork_memory_is_copied)
{
    static volatile int value = 1;
    pid_t pid = case_fork();
    if (pid == 0) {
        value = 2;
        _exit(value == 2 ? 0 : 1);
    }
    CHECK_EXIT(pid, 0);
    CHECK_EQ(value, 1);
}

CASE(fork_exit_status_truncated)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(256 + 255);
    CHECK_EXIT(pid, 255);
    pid = case_fork();
    if (pid == 0)
        _exit(256);
    CHECK_EXIT(pid, 0);
}

CASE(fork_child_killed_by_signal)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    CHECK_KILLED(pid, SIGTERM);
}

CASE(fork_eagain_rlimit_nproc)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        drop_privileges();
        /* This user has at least this process: no room under a limit of 0. */
        struct rlimit rl = {0, 0};
        CHECK_OK(setrlimit(RLIMIT_NPROC, &rl));
        CHECK_ERR(fork(), EAGAIN);
        CHECK_ERR(syscall(SYS_fork), EAGAIN);
        CHECK_ERR(vfork(), EAGAIN);
        CHECK_ERR(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0), EAGAIN);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(vfork_shares_memory_and_suspends_parent)
{
    static volatile int value = 1;
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        value = 2;
        _exit(9);
    }
    CHECK(pid > 0);
    /* The parent runs again only after the child's _exit, and sees its store. */
    CHECK_EQ(value, 2);
    CHECK_EXIT(pid, 9);
}

CASE(clone_raw_sigchld)
{
    static volatile int mark = 0;
    long pid = clone_store_exit(SIGCHLD, &mark, 17);
    CHECK(pid > 0);
    CHECK_EXIT(pid, 17);
    /* No CLONE_VM: the child's store went to its own copy. */
    CHECK_EQ(mark, 0);
}

CASE(clone_vfork_vm_shares_memory)
{
    static volatile int mark = 0;
    long pid = clone_store_exit(CLONE_VFORK | CLONE_VM | SIGCHLD, &mark, 5);
    CHECK(pid > 0);
    /* CLONE_VFORK: the parent resumes after the child's exit, which stored into our memory. */
    CHECK_EQ(mark, 1);
    CHECK_EXIT(pid, 5);
}

CASE(clone_no_exit_signal_needs_wall)
{
    static volatile int mark = 0;
    long pid = clone_store_exit(0, &mark, 3);
    CHECK(pid > 0);
    int st = 0;
    /* A child with no exit signal is a "clone" child: plain waits do not see it. */
    CHECK_ERR(waitpid(pid, &st, 0), ECHILD);
    CHECK_EQ(waitpid(pid, &st, __WALL), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
}

CASE(clone_sighand_without_vm_einval)
{
    CHECK_ERR(syscall(SYS_clone, CLONE_SIGHAND | SIGCHLD, 0, 0, 0, 0), EINVAL);
    CHECK_ERR(syscall(SYS_clone, CLONE_THREAD | SIGCHLD, 0, 0, 0, 0), EINVAL);
}

CASE(wait4_rusage_of_child)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        struct rusage ru;
        do {
            getrusage(RUSAGE_SELF, &ru);
        } while (ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec +
                     ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec <
                 30000);
        _exit(4);
    }
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    CHECK_EQ(wait4(pid, &st, 0, &ru), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 4);
    long us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L +
              ru.ru_stime.tv_usec;
    CHECK(us >= 30000);
}

CASE(wait4_efault_status_reaps)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(1);
    CHECK_ERR(syscall(SYS_wait4, pid, BAD_PTR, 0, NULL), EFAULT);
    /* The child was reaped before the status could not be stored. */
    CHECK_ERR(waitpid(pid, NULL, 0), ECHILD);
}

CASE(wait4_efault_rusage)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(1);
    CHECK_ERR(syscall(SYS_wait4, pid, NULL, 0, KERNEL_PTR), EFAULT);
    CHECK_ERR(waitpid(pid, NULL, 0), ECHILD);
}

CASE(waitpid_wnohang_running_child)
{
    int release;
    pid_t pid = blocked_child(&release, 6);
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, WNOHANG), 0);
    CHECK_OK(close(release));
    CHECK_EXIT(pid, 6);
}

CASE(waitpid_echild_without_children)
{
    int st;
    CHECK_ERR(waitpid(-1, &st, 0), ECHILD);
    CHECK_ERR(waitpid(-1, &st, WNOHANG), ECHILD);
}

CASE(waitpid_echild_not_our_child)
{
    CHECK_ERR(waitpid(getppid(), NULL, 0), ECHILD);
    CHECK_ERR(waitpid(dead_pid(), NULL, WNOHANG), ECHILD);
}

CASE(wait4_einval_bad_options)
{
    CHECK_ERR(wait4(-1, NULL, 0x100, NULL), EINVAL);
    /* WEXITED belongs to waitid, not wait4. */
    CHECK_ERR(wait4(-1, NULL, WEXITED, NULL), EINVAL);
}

CASE(waitpid_any_reaps_each_once)
{
    pid_t a = case_fork();
    if (a == 0)
        _exit(1);
    pid_t b = case_fork();
    if (b == 0)
        _exit(2);
    int seen = 0;
    for (int i = 0; i < 2; i++) {
        int st = 0;
        pid_t w = (pid_t)CHECK_OK(waitpid(-1, &st, 0));
        CHECK(WIFEXITED(st));
        if (w == a && WEXITSTATUS(st) == 1)
            seen |= 1;
        else if (w == b && WEXITSTATUS(st) == 2)
            seen |= 2;
        else
            FAIL("waitpid gave pid %d status %#x", (int)w, st);
    }
    CHECK_EQ(seen, 3);
    CHECK_ERR(waitpid(-1, NULL, 0), ECHILD);
}

CASE(waitpid_by_process_group)
{
    int release;
    pid_t other = blocked_child(&release, 0);
    CHECK_OK(setpgid(other, other));
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(8);
    /* 0 waits for our own group only: `other` left it. */
    int st = 0;
    CHECK_EQ(waitpid(0, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 8);
    /* No child is left in our group. */
    CHECK_ERR(waitpid(0, &st, WNOHANG), ECHILD);
    CHECK_OK(close(release));
    CHECK_EQ(waitpid(-other, &st, 0), other);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

CASE(waitpid_wuntraced_wcontinued)
{
    int release;
    pid_t pid = blocked_child(&release, 0);
    int st = 0;
    CHECK_OK(kill(pid, SIGSTOP));
    CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
    CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
    /* A stop is reported once. */
    CHECK_EQ(waitpid(pid, &st, WUNTRACED | WNOHANG), 0);
    CHECK_OK(kill(pid, SIGCONT));
    CHECK_EQ(waitpid(pid, &st, WCONTINUED), pid);
    CHECK(WIFCONTINUED(st));
    CHECK_OK(close(release));
    CHECK_EXIT(pid, 0);
}

CASE(waitid_exited_siginfo)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(3);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK_EQ(waitid(P_PID, pid, &si, WEXITED), 0);
    CHECK_EQ(si.si_signo, SIGCHLD);
    CHECK_EQ(si.si_code, CLD_EXITED);
    CHECK_EQ(si.si_pid, pid);
    CHECK_EQ(si.si_uid, 0);
    CHECK_EQ(si.si_status, 3);
    CHECK_ERR(waitid(P_PID, pid, &si, WEXITED), ECHILD);
}

CASE(waitid_killed_siginfo)
{
    int release;
    pid_t pid = blocked_child(&release, 0);
    CHECK_OK(kill(pid, SIGKILL));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK_EQ(waitid(P_ALL, 0, &si, WEXITED), 0);
    CHECK_EQ(si.si_code, CLD_KILLED);
    CHECK_EQ(si.si_pid, pid);
    CHECK_EQ(si.si_status, SIGKILL);
    close(release);
}

CASE(waitid_wnowait_leaves_zombie)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(12);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
    CHECK_EQ(si.si_pid, pid);
    CHECK_EQ(si.si_status, 12);
    CHECK_EXIT(pid, 12);
}

CASE(waitid_wnohang_nothing_ready)
{
    int release;
    pid_t pid = blocked_child(&release, 0);
    siginfo_t si;
    memset(&si, 0x55, sizeof si);
    CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOHANG), 0);
    /* Nothing to report: Linux zeroes si_pid (and si_signo). */
    CHECK_EQ(si.si_pid, 0);
    CHECK_EQ(si.si_signo, 0);
    close(release);
    CHECK_EXIT(pid, 0);
}

CASE(waitid_einval)
{
    siginfo_t si;
    CHECK_ERR(waitid(P_ALL, 0, &si, 0), EINVAL);
    CHECK_ERR(waitid((idtype_t)42, 0, &si, WEXITED), EINVAL);
}

CASE(waitid_by_pgid_echild)
{
    siginfo_t si;
    CHECK_ERR(waitid(P_PGID, getpgrp(), &si, WEXITED | WNOHANG), ECHILD);
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(2);
    memset(&si, 0, sizeof si);
    CHECK_EQ(waitid(P_PGID, getpgrp(), &si, WEXITED), 0);
    CHECK_EQ(si.si_pid, pid);
    CHECK_EQ(si.si_status, 2);
}

CASE(setpgid_moves_child)
{
    int release;
    pid_t pid = blocked_child(&release, 0);
    CHECK_EQ(getpgid(pid), getpgrp());
    CHECK_OK(setpgid(pid, pid));
    CHECK_EQ(getpgid(pid), pid);
    CHECK_EQ(getpgid(0), getpgrp());
    CHECK_EQ(syscall(SYS_getpgrp), getpgrp());
    CHECK_EQ(getpgid(getpid()), getpgrp());
    /* The group is a kill target of its own. */
    CHECK_OK(kill(-pid, SIGKILL));
    CHECK_KILLED(pid, SIGKILL);
    close(release);
}

CASE(setpgid_self_new_group)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        if (setpgid(0, 0) != 0 || getpgrp() != getpid())
            _exit(1);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(setpgid_esrch)
{
    CHECK_ERR(setpgid(dead_pid(), 0), ESRCH);
    CHECK_ERR(getpgid(dead_pid()), ESRCH);
}

CASE(setpgid_einval_negative)
{
    CHECK_ERR(setpgid(0, -1), EINVAL);
    /* pgid 0 means pid: -1 again. */
    CHECK_ERR(setpgid(-1, 0), EINVAL);
}

CASE(setpgid_eperm_other_session)
{
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = case_fork();
    if (pid == 0) {
        close(p[0]);
        if (setsid() != getpid())
            _exit(1);
        CHECK_EQ(write(p[1], "s", 1), 1);
        pause();
        _exit(0);
    }
    close(p[1]);
    char c;
    CHECK_EQ(read(p[0], &c, 1), 1);
    /* A session leader cannot move, and no group of ours is in its session. */
    CHECK_ERR(setpgid(pid, getpgrp()), EPERM);
    CHECK_ERR(setpgid(pid, pid), EPERM);
    CHECK_EQ(getsid(pid), pid);
    CHECK_OK(kill(pid, SIGKILL));
    CHECK_KILLED(pid, SIGKILL);
}

CASE(setpgid_eperm_group_elsewhere)
{
    /* A child in another session cannot join a group of ours. */
    pid_t pid = case_fork();
    if (pid == 0) {
        pid_t group = getpgrp();
        setsid();
        if (setpgid(0, group) == 0 || errno != EPERM)
            _exit(1);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(setsid_new_session)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        pid_t me = getpid();
        if (getsid(0) == me)
            _exit(1);
        if (setsid() != me)
            _exit(2);
        if (getsid(0) != me || getpgrp() != me || getpgid(0) != me)
            _exit(3);
        /* Already a session (and group) leader. */
        if (setsid() != -1 || errno != EPERM)
            _exit(4);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(setsid_eperm_group_leader)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        if (setpgid(0, 0) != 0)
            _exit(1);
        if (setsid() != -1 || errno != EPERM)
            _exit(2);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(getsid_of_child_and_esrch)
{
    int release;
    pid_t pid = blocked_child(&release, 0);
    CHECK_EQ(getsid(pid), getsid(0));
    CHECK_EQ(getsid(getpid()), getsid(0));
    close(release);
    CHECK_EXIT(pid, 0);
    CHECK_ERR(getsid(dead_pid()), ESRCH);
}

CASE(kill_probe_and_esrch)
{
    int release;
    pid_t pid = blocked_child(&release, 0);
    CHECK_EQ(kill(pid, 0), 0);
    CHECK_ERR(kill(pid, 65), EINVAL);
    close(release);
    CHECK_EXIT(pid, 0);
    pid_t dead = dead_pid();
    CHECK_ERR(kill(dead, 0), ESRCH);
    CHECK_ERR(kill(dead, SIGTERM), ESRCH);
    CHECK_ERR(kill(-dead, SIGTERM), ESRCH);
}

CASE(kill_zombie_succeeds)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(0);
    siginfo_t si;
    CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
    /* A zombie still exists for kill. */
    CHECK_EQ(kill(pid, 0), 0);
    CHECK_EXIT(pid, 0);
}

CASE(kill_eperm_unprivileged)
{
    pid_t parent = getpid();
    pid_t pid = case_fork();
    if (pid == 0) {
        drop_privileges();
        CHECK_ERR(kill(parent, 0), EPERM);
        CHECK_ERR(kill(parent, SIGTERM), EPERM);
        /* Itself it may signal. */
        CHECK_EQ(kill(getpid(), 0), 0);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(orphan_reparented_to_subreaper)
{
    CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    int p[2];
    CHECK_OK(pipe(p));
    pid_t middle = case_fork();
    if (middle == 0) {
        middle = getpid();
        pid_t grand = case_fork();
        if (grand == 0) {
            close(p[0]);
            /* Wait until the middle process is gone, then report the new parent. */
            while (getppid() == middle)
                usleep(1000);
            pid_t ppid = getppid();
            CHECK_EQ(write(p[1], &ppid, sizeof ppid), (long)sizeof ppid);
            _exit(21);
        }
        _exit(0);
    }
    close(p[1]);
    CHECK_EXIT(middle, 0);
    pid_t ppid = 0;
    CHECK_EQ(read(p[0], &ppid, sizeof ppid), (long)sizeof ppid);
    CHECK_EQ(ppid, getpid());
    /* The orphan is ours to reap now. */
    int st = 0;
    pid_t w = (pid_t)CHECK_OK(waitpid(-1, &st, 0));
    CHECK(w != middle);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 21);
}

CASE(prctl_child_subreaper_get)
{
    int v = -1;
    CHECK_EQ(prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    CHECK_EQ(prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0), 0);
    CHECK_EQ(v, 1);
    CHECK_ERR(prctl(PR_GET_CHILD_SUBREAPER, BAD_PTR, 0, 0, 0), EFAULT);
    /* Not inherited across fork. */
    pid_t pid = case_fork();
    if (pid == 0) {
        int c = -1;
        prctl(PR_GET_CHILD_SUBREAPER, &c, 0, 0, 0);
        _exit(c == 0 ? 0 : 1);
    }
    CHECK_EXIT(pid, 0);
}

CASE(prctl_set_get_name)
{
    char name[32];
    CHECK_EQ(prctl(PR_SET_NAME, "conf-name", 0, 0, 0), 0);
    memset(name, 'x', sizeof name);
    CHECK_EQ(prctl(PR_GET_NAME, name, 0, 0, 0), 0);
    CHECK_STR(name, "conf-name");
    /* Longer names are cut to 15 bytes. */
    CHECK_EQ(prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz", 0, 0, 0), 0);
    CHECK_EQ(prctl(PR_GET_NAME, name, 0, 0, 0), 0);
    CHECK_STR(name, "abcdefghijklmno");
    char comm[64];
    read_file("/proc/self/comm", comm, sizeof comm);
    CHECK_STR(comm, "abcdefghijklmno\n");
}

CASE(prctl_name_efault)
{
    CHECK_ERR(prctl(PR_SET_NAME, BAD_PTR, 0, 0, 0), EFAULT);
    CHECK_ERR(prctl(PR_GET_NAME, KERNEL_PTR, 0, 0, 0), EFAULT);
}

CASE(prctl_einval_unknown)
{
    CHECK_ERR(prctl(0x7fff1234, 0, 0, 0, 0), EINVAL);
    CHECK_ERR(prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0), EINVAL);
}

CASE(prctl_pdeathsig_get_and_fork)
{
    int v = -1;
    CHECK_EQ(prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0), 0);
    CHECK_EQ(prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0), 0);
    CHECK_EQ(v, SIGUSR1);
    CHECK_ERR(prctl(PR_GET_PDEATHSIG, BAD_PTR, 0, 0, 0), EFAULT);
    /* A child starts without one. */
    pid_t pid = case_fork();
    if (pid == 0) {
        int c = -1;
        prctl(PR_GET_PDEATHSIG, &c, 0, 0, 0);
        _exit(c == 0 ? 0 : 1);
    }
    CHECK_EXIT(pid, 0);
    CHECK_EQ(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0), 0);
}

CASE(prctl_pdeathsig_delivered)
{
    CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    int p[2];
    CHECK_OK(pipe(p));
    pid_t middle = case_fork();
    if (middle == 0) {
        middle = getpid();
        pid_t grand = case_fork();
        if (grand == 0) {
            close(p[0]);
            if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != middle)
                _exit(1);
            CHECK_EQ(write(p[1], "r", 1), 1);
            for (;;)
                pause();
        }
        char c;
        close(p[1]);
        /* Exit once the grandchild has armed its death signal. */
        _exit(read(p[0], &c, 1) == 1 ? 0 : 1);
    }
    close(p[0]);
    close(p[1]);
    CHECK_EXIT(middle, 0);
    int st = 0;
    pid_t w = (pid_t)CHECK_OK(waitpid(-1, &st, 0));
    CHECK(w != middle);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

CASE(arch_prctl_get_fs)
{
    unsigned long fs = 0;
    CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0);
    /* The thread pointer points at itself on both libcs (the TCB's first word). */
    CHECK(fs != 0);
    CHECK_EQ(*(unsigned long *)fs, fs);
    CHECK_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, BAD_PTR), EFAULT);
}

/* arch_prctl without the libc, which may need the thread pointer being replaced. */
static long raw_arch_prctl(long code, unsigned long arg)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"((long)SYS_arch_prctl), "D"(code), "S"(arg)
                     : "rcx", "r11", "memory");
    return ret;
}

CASE(arch_prctl_set_fs_in_child)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        static unsigned long block[4] = {0x1111, 0x2222, 0x3333, 0x4444};
        static unsigned long old, now, word;
        if (raw_arch_prctl(ARCH_GET_FS, (unsigned long)&old) != 0)
            _exit(1);
        if (raw_arch_prctl(ARCH_SET_FS, (unsigned long)block) != 0)
            _exit(2);
        __asm__ volatile("mov %%fs:8, %0" : "=r"(word));
        long r = raw_arch_prctl(ARCH_GET_FS, (unsigned long)&now);
        raw_arch_prctl(ARCH_SET_FS, old);
        if (r != 0)
            _exit(3);
        if (word != 0x2222)
            _exit(4);
        if (now != (unsigned long)block)
            _exit(5);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(arch_prctl_gs)
{
    unsigned long gs = 1;
    static unsigned long block[2] = {0xabc, 0xdef};
    CHECK_EQ(syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)block), 0);
    CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs), 0);
    CHECK_EQ(gs, (unsigned long)block);
    unsigned long word = 0;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(word));
    CHECK_EQ(word, 0xdef);
    CHECK_EQ(syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL), 0);
}

CASE(arch_prctl_errors)
{
    CHECK_ERR(syscall(SYS_arch_prctl, 0x9999, 0UL), EINVAL);
    /* A base in the kernel's half is refused. */
    CHECK_ERR(syscall(SYS_arch_prctl, ARCH_SET_FS, (unsigned long)KERNEL_PTR), EPERM);
    CHECK_ERR(syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)KERNEL_PTR), EPERM);
}

CASE(getppid_of_child_after_parent_waits)
{
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = case_fork();
    if (pid == 0) {
        close(p[0]);
        pid_t pp = getppid();
        CHECK_EQ(write(p[1], &pp, sizeof pp), (long)sizeof pp);
        _exit(0);
    }
    close(p[1]);
    pid_t pp = 0;
    CHECK_EQ(read(p[0], &pp, sizeof pp), (long)sizeof pp);
    CHECK_EQ(pp, getpid());
    CHECK_EXIT(pid, 0);
}
