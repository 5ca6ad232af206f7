/* The in-guest runner of the conformance suite.
 *
 *   runner [--dir DIR] [--timeout SECONDS] [--trace] [--session SCRIPT]
 *
 * Runs every case of every program in DIR (default /conf; each program lists its cases with
 * --list, see suite/cases.h) and reports KTAP on stdout: `ok N PROGRAM.CASE` or `not ok ...`,
 * with the case's output before it as `# ` lines. Each case runs in its own process group, in
 * a fresh empty working directory (/tmp/case), with stdin from /dev/null and its output in a
 * file; after SECONDS (default 20) the group gets SIGKILL, so a hang costs one case.
 *
 * --trace (Linux only: it needs ptrace) follows every case and its children and prints, after
 * the case's result, `# trace PROGRAM.CASE NR:FLAGS ...`: each syscall number it made, with
 * `+` when some call succeeded and `-` when some call failed. The host turns these into the
 * per-syscall coverage report.
 *
 * --session SCRIPT runs `/bin/sh SCRIPT` after the cases (in /tmp/case, same timeout ×6) and
 * prints its output verbatim between `--- session begin` and `--- session end STATUS` lines.
 *
 * As PID 1 it mounts /proc if it is missing and at the end powers the machine off (Linux) or
 * exits (Damselfly ends QEMU when PID 1 exits). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define CASE_DIR "/tmp/case"
#define CASE_OUT "/tmp/case.out"
#define MAX_NR 512
#define MAX_TID (1 << 22)

static int timeout_s = 20;
static int tracing;
static volatile sig_atomic_t expired;
/* The unit being waited for: the alarm kills its group itself, so a timeout cannot be missed
 * while the runner is between two waits (kill is async-signal-safe). */
static volatile sig_atomic_t unit_pid;

static void on_alarm(int sig)
{
    (void)sig;
    expired = 1;
    if (unit_pid > 0) {
        kill(-unit_pid, SIGKILL);
        kill(unit_pid, SIGKILL);
    }
}

struct unit {
    char *program; /* path */
    char *label;   /* PROGRAM.CASE */
    char *arg;     /* the case name, or NULL for the session */
};

static struct unit *units;
static size_t n_units, cap_units;

static void die(const char *what)
{
    printf("Bail out! runner: %s: %s\n", what, strerror(errno));
    fflush(stdout);
    exit(1);
}

static void add_unit(const char *program, const char *label, const char *arg)
{
    if (n_units == cap_units) {
        cap_units = cap_units ? 2 * cap_units : 256;
        units = realloc(units, cap_units * sizeof *units);
        if (units == NULL)
            die("realloc");
    }
    units[n_units].program = strdup(program);
    units[n_units].label = strdup(label);
    units[n_units].arg = arg ? strdup(arg) : NULL;
    n_units++;
}

/* Removes everything under `path` and `path` itself; missing is fine. */
static void remove_tree(int dirfd, const char *path)
{
    if (unlinkat(dirfd, path, 0) == 0 || errno == ENOENT)
        return;
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL)
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                    remove_tree(fd, e->d_name);
            closedir(d);
        } else {
            close(fd);
        }
    }
    unlinkat(dirfd, path, AT_REMOVEDIR);
}

/* Detaches whatever a killed case left mounted under the case directory. */
static void unmount_leftovers(void)
{
    for (int round = 0; round < 16; round++) {
        FILE *f = fopen("/proc/self/mounts", "r");
        if (f == NULL)
            return;
        char line[1024], point[512];
        int found = 0;
        while (fgets(line, sizeof line, f) != NULL)
            if (sscanf(line, "%*s %511s", point) == 1 && strncmp(point, CASE_DIR "/", strlen(CASE_DIR) + 1) == 0) {
                umount2(point, MNT_DETACH);
                found = 1;
            }
        fclose(f);
        if (!found)
            return;
    }
}

/* A fresh, empty, world-writable case directory (cases may drop to uid 65534). A directory
 * that cannot be removed is moved aside rather than ending the run. */
static void fresh_case_dir(void)
{
    static unsigned aside;
    unmount_leftovers();
    remove_tree(AT_FDCWD, CASE_DIR);
    if (access(CASE_DIR, F_OK) == 0) {
        char name[64];
        snprintf(name, sizeof name, "%s.stuck.%u", CASE_DIR, aside++);
        rename(CASE_DIR, name);
    }
    if (mkdir(CASE_DIR, 0777) != 0 || chmod(CASE_DIR, 01777) != 0)
        die("mkdir " CASE_DIR);
}

/* The child side: own process group, clean signal state, stdio, then exec. */
static void start_child(char *const argv[])
{
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    int in = open("/dev/null", O_RDONLY);
    int out = open(CASE_OUT, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || chdir(CASE_DIR) != 0)
        _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (in > 2)
        close(in);
    if (out > 2)
        close(out);
    umask(022);
    if (tracing) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
            _exit(125);
    }
    execv(argv[0], argv);
    _exit(127);
}

/* Per-syscall flags of the unit being traced: bit 0 a success seen, bit 1 a failure seen. */
static unsigned char sys_seen[MAX_NR];
static unsigned char in_syscall[MAX_TID];
static unsigned char tid_seen[MAX_TID];
/* The syscall each traced task last entered: an exec that succeeds is that call's success
 * (Linux reports the exit of a successful execveat as execve's). */
static unsigned short entry_nr[MAX_TID];
/* 1 + the call a task left with a kernel-internal restart code (-ERESTARTSYS and kin, which
 * the program never sees): it failed only if the task does not enter it again (or
 * restart_syscall) after any signal handler's rt_sigreturn. */
static unsigned short restart_nr[MAX_TID];

static void note_syscall(pid_t tid, int entering)
{
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0)
        return;
    unsigned long nr = regs.orig_rax;
    if (nr >= MAX_NR)
        return;
    /* exit and exit_group never come back: entering them is their success. */
    if (entering) {
        if (restart_nr[tid] && nr != SYS_rt_sigreturn) {
            unsigned prev = restart_nr[tid] - 1u;
            restart_nr[tid] = 0;
            if (nr != prev && nr != SYS_restart_syscall)
                sys_seen[prev] |= 2; /* it came back to the program as EINTR */
        }
        entry_nr[tid] = (unsigned short)nr;
        if (nr == SYS_exit || nr == SYS_exit_group)
            sys_seen[nr] |= 1;
        return;
    }
    long ret = (long)regs.rax;
    if (ret <= -512 && ret >= -516 && nr != SYS_rt_sigreturn) {
        restart_nr[tid] = (unsigned short)(nr + 1);
        return;
    }
    /* rt_sigreturn "returns" the interrupted context's rax: never its own failure. */
    if (nr == SYS_rt_sigreturn || ret >= 0 || ret < -4095)
        sys_seen[nr] |= 1;
    else
        sys_seen[nr] |= 2;
}

/* One stop of a traced task; restarts it. */
static void traced_stop(pid_t tid, int st)
{
    int sig = WSTOPSIG(st);
    int inject = 0;
    if (sig == (SIGTRAP | 0x80)) {
        if (tid < MAX_TID) {
            in_syscall[tid] ^= 1;
            note_syscall(tid, in_syscall[tid]);
        }
    } else if (sig == SIGTRAP && (st >> 16) != 0) {
        /* fork/clone/exec event: the new task starts outside a syscall. */
        if ((st >> 16) == PTRACE_EVENT_EXEC && tid < MAX_TID && in_syscall[tid])
            sys_seen[entry_nr[tid]] |= 1;
    } else if (sig == SIGSTOP && tid < MAX_TID && !tid_seen[tid]) {
        /* The stop every auto-attached child starts with. */
    } else {
        siginfo_t si;
        /* No siginfo means a group stop: resume it (the trace is for syscalls only). */
        if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) == 0)
            inject = sig;
    }
    if (tid < MAX_TID)
        tid_seen[tid] = 1;
    ptrace(PTRACE_SYSCALL, tid, 0, (void *)(long)inject);
}

/* Waits for the unit's process `pid` (reaping and, when tracing, serving everything else)
 * until it ends or the time is up; returns its wait status, or -1 when it was killed for
 * the timeout. */
static int wait_unit(pid_t pid, int seconds)
{
    int status = -1, done = 0;
    expired = 0;
    unit_pid = pid;
    alarm(seconds);
    while (!done) {
        int st;
        pid_t w = waitpid(-1, &st, __WALL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: nothing left */
        }
        if (WIFSTOPPED(st)) {
            if (tracing)
                traced_stop(w, st);
            continue;
        }
        if (w < MAX_TID)
            in_syscall[w] = tid_seen[w] = 0, restart_nr[w] = 0;
        if (w == pid) {
            status = expired ? -1 : st;
            done = 1;
        }
    }
    alarm(0);
    unit_pid = 0;
    /* Whatever the case left in its group goes too. As PID 1 the runner also ends what
     * escaped the group (a setsid child) and reaps it all, so nothing of this case lives on
     * into the next; elsewhere it reaps what is already dead. */
    kill(-pid, SIGKILL);
    if (getpid() == 1) {
        kill(-1, SIGKILL);
        expired = 0;
        alarm(5);
        while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
            if (expired)
                break;
        alarm(0);
    } else {
        while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
            ;
    }
    return status;
}

/* Runs argv as a unit; returns its wait status (-1 on timeout). */
static int run_unit(char *const argv[], int seconds)
{
    fresh_case_dir();
    unlink(CASE_OUT); /* a survivor of the last unit keeps the old file, not this one's */
    memset(sys_seen, 0, sizeof sys_seen);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        start_child(argv);
    setpgid(pid, pid);
    if (tracing) {
        int st;
        /* The exec stops the child with SIGTRAP: from there every syscall stops it. */
        if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st))
            return -1;
        tid_seen[pid] = 1;
        ptrace(PTRACE_SETOPTIONS, pid, 0,
               (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                              PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
        ptrace(PTRACE_SYSCALL, pid, 0, 0);
    }
    return wait_unit(pid, seconds);
}

/* Copies the unit's output to stdout, each line prefixed by `prefix`. */
static void print_output(const char *prefix)
{
    FILE *f = fopen(CASE_OUT, "r");
    if (f == NULL)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL) {
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = 0;
        printf("%s%s\n", prefix, line);
    }
    fclose(f);
}

static void print_trace(const char *label)
{
    if (!tracing)
        return;
    printf("# trace %s", label);
    for (int nr = 0; nr < MAX_NR; nr++)
        if (sys_seen[nr])
            printf(" %d:%s%s", nr, sys_seen[nr] & 1 ? "+" : "", sys_seen[nr] & 2 ? "-" : "");
    printf("\n");
}

static void describe(int st, int seconds, char *buf, size_t n)
{
    if (st == -1)
        snprintf(buf, n, "timed out after %d s", seconds);
    else if (WIFEXITED(st))
        snprintf(buf, n, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, n, "status %#x", st);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the programs of `dir` and their cases into `units`. */
static void collect(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        die(dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        if (names == NULL)
            die("realloc");
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *argv[] = {path, "--list", NULL};
        int save = tracing;
        tracing = 0;
        int st = run_unit(argv, timeout_s);
        tracing = save;
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("# %s --list failed\n", path);
            add_unit(path, names[i], "(list)"); /* not a case: fails */
            continue;
        }
        FILE *f = fopen(CASE_OUT, "r");
        char line[256];
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            line[strcspn(line, "\n")] = 0;
            if (line[0] == 0)
                continue;
            char label[512];
            snprintf(label, sizeof label, "%s.%s", names[i], line);
            add_unit(path, label, line);
        }
        if (f != NULL)
            fclose(f);
        free(names[i]);
    }
    free(names);
}

/* PID 1 on Linux starts without /proc; Damselfly may have mounted it already. */
static void mount_proc(void)
{
    struct stat sb;
    if (stat("/proc/self", &sb) == 0)
        return;
    mkdir("/proc", 0555);
    if (mount("proc", "/proc", "proc", 0, NULL) != 0)
        printf("# runner: mount /proc: %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
    const char *dir = "/conf", *session = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout_s = atoi(argv[++i]);
        else if (strcmp(argv[i], "--trace") == 0)
            tracing = 1;
        else if (strcmp(argv[i], "--session") == 0 && i + 1 < argc)
            session = argv[++i];
        else {
            fprintf(stderr, "usage: runner [--dir DIR] [--timeout S] [--trace] [--session SCRIPT]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (getpid() == 1)
        mount_proc();
    /* Orphans of the cases come back here to be reaped, on the host too. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: the wait must see EINTR */
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    collect(dir);
    printf("KTAP version 1\n1..%zu\n", n_units);
    for (size_t i = 0; i < n_units; i++) {
        struct unit *u = &units[i];
        char *cargv[] = {u->program, u->arg, NULL};
        int st = run_unit(cargv, timeout_s);
        print_output("# ");
        char how[64];
        describe(st, timeout_s, how, sizeof how);
        int pass = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (pass)
            printf("ok %zu %s\n", i + 1, u->label);
        else
            printf("not ok %zu %s # %s\n", i + 1, u->label, how);
        print_trace(u->label);
    }
    if (session != NULL) {
        char *sargv[] = {"/bin/sh", (char *)session, NULL};
        int st = run_unit(sargv, timeout_s * 6);
        printf("--- session begin\n");
        fflush(stdout);
        print_output("");
        char how[64];
        describe(st, timeout_s * 6, how, sizeof how);
        printf("--- session end %s\n", how);
        print_trace("session");
    }
    printf("# runner done\n");
    fflush(stdout);
    if (getpid() == 1) {
        sync();
        reboot(RB_POWER_OFF); /* Linux; Damselfly ends QEMU when PID 1 exits */
    }
    return 0;
}
