/* /proc: the self link, /proc/PID files (stat, status, cmdline, comm, maps, fd, exe, cwd) of
 * this process, a child and a zombie, and the system files (mounts, meminfo, uptime, loadavg,
 * stat, cpuinfo, version), in Linux 6.1's formats. Values are not checked, only formats and
 * the relations Linux guarantees. */
#include "cases.h"
#include <dirent.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>

#define PG 4096L

static char text[65536];

/* Reads a whole /proc file (several reads, as they come) into `text`; returns its length. */
static long slurp(const char *path)
{
    int fd = (int)CHECK_OK(open(path, O_RDONLY));
    long n = 0, r;
    while ((r = read(fd, text + n, sizeof text - 1 - (size_t)n)) > 0)
        n += r;
    CHECK(r == 0);
    text[n] = 0;
    CHECK_OK(close(fd));
    return n;
}

/* The line of `text` starting with `prefix`, copied into `out` without its newline; 0 when
 * none. */
static int line_with(const char *prefix, char *out, size_t size)
{
    size_t pl = strlen(prefix);
    for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, prefix, pl) == 0) {
            size_t n = strcspn(l, "\n");
            if (n >= size)
                n = size - 1;
            memcpy(out, l, n);
            out[n] = 0;
            return 1;
        }
    }
    return 0;
}

static void check_line(const char *prefix, const char *want)
{
    char got[512];
    if (!line_with(prefix, got, sizeof got))
        FAIL("no line starting \"%s\"", prefix);
    CHECK_STR(got, want);
}

/* The command name a fresh exec of this program gets: the basename, at most 15 bytes. */
static const char *exe_comm(void)
{
    static char c[16];
    const char *b = strrchr(self_exe, '/');
    snprintf(c, sizeof c, "%s", b ? b + 1 : self_exe);
    return c;
}

static void readlink_is(const char *path, const char *want)
{
    char buf[4096];
    long n = CHECK_OK(readlink(path, buf, sizeof buf - 1));
    buf[n] = 0;
    CHECK_STR(buf, want);
}

/* Fields of /proc/PATH/stat after the command: fields[0] is field 3 (state). Returns the
 * field count of the line; `comm` gets field 2 without its parentheses. */
static int stat_fields(const char *path, char *comm, char fields[60][32])
{
    slurp(path);
    char *open_paren = strchr(text, '(');
    char *close_paren = strrchr(text, ')');
    CHECK(open_paren && close_paren && close_paren > open_paren);
    CHECK(close_paren[1] == ' ');
    size_t cl = (size_t)(close_paren - open_paren - 1);
    memcpy(comm, open_paren + 1, cl);
    comm[cl] = 0;
    CHECK(text[strlen(text) - 1] == '\n');
    int n = 2;
    char *save = NULL;
    for (char *t = strtok_r(close_paren + 2, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
        if (n - 2 < 60)
            snprintf(fields[n - 2], 32, "%s", t);
        n++;
    }
    return n;
}

/* A child blocked reading a pipe; returns its pid and the pipe's write end. */
static pid_t sleeping_child(int *release)
{
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = case_fork();
    if (pid == 0) {
        char c;
        close(p[1]);
        _exit(read(p[0], &c, 1) == 1 ? 0 : 3);
    }
    close(p[0]);
    *release = p[1];
    /* Wait until it sleeps (state S), a second at most. */
    char path[64], comm[64], f[60][32];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 1000; i++) {
        stat_fields(path, comm, f);
        if (f[0][0] == 'S')
            break;
        usleep(1000);
    }
    return pid;
}

/* A child that has exited and is not reaped yet. */
static pid_t zombie_child(void)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(7);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK_OK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT));
    CHECK_EQ(si.si_pid, pid);
    return pid;
}

/* ---- /proc/self ---- */

CASE(proc_self_link_is_pid)
{
    char want[32];
    snprintf(want, sizeof want, "%d", (int)getpid());
    readlink_is("/proc/self", want);
    struct stat a, b;
    CHECK_OK(stat("/proc/self", &a));
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)getpid());
    CHECK_OK(stat(path, &b));
    CHECK(S_ISDIR(a.st_mode));
    CHECK_EQ(a.st_ino, b.st_ino);
    CHECK_OK(lstat("/proc/self", &a));
    CHECK(S_ISLNK(a.st_mode));
}

CASE(proc_self_stat_fields)
{
    char comm[64], f[60][32];
    int n = stat_fields("/proc/self/stat", comm, f);
    CHECK_EQ(n, 52);
    char pid[32];
    snprintf(pid, sizeof pid, "%d ", (int)getpid());
    CHECK(strncmp(text, pid, strlen(pid)) == 0);
    CHECK_STR(comm, exe_comm());
    CHECK_STR(f[0], "R");
    CHECK_EQ(atol(f[1]), getppid());   /* ppid */
    CHECK_EQ(atol(f[2]), getpgrp());   /* pgrp */
    CHECK_EQ(atol(f[3]), getsid(0));   /* session */
    CHECK_EQ(atol(f[17]), 1);          /* num_threads */
    CHECK_EQ(atol(f[35]), SIGCHLD);    /* exit_signal: the runner forked us */
}

CASE(proc_self_status_lines)
{
    slurp("/proc/self/status");
    char want[128];
    snprintf(want, sizeof want, "Name:\t%s", exe_comm());
    check_line("Name:", want);
    check_line("State:", "State:\tR (running)");
    snprintf(want, sizeof want, "Tgid:\t%d", (int)getpid());
    check_line("Tgid:", want);
    snprintf(want, sizeof want, "Pid:\t%d", (int)getpid());
    check_line("Pid:", want);
    snprintf(want, sizeof want, "PPid:\t%d", (int)getppid());
    check_line("PPid:", want);
    check_line("Uid:", "Uid:\t0\t0\t0\t0");
    check_line("Gid:", "Gid:\t0\t0\t0\t0");
    check_line("Threads:", "Threads:\t1");
    /* The first line is Name. */
    CHECK(strncmp(text, "Name:\t", 6) == 0);
}

CASE(proc_status_uid_after_drop)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        CHECK_OK(setresgid(65534, 65534, 65534));
        CHECK_OK(setresuid(1000, 65534, 2000));
        slurp("/proc/self/status");
        check_line("Uid:", "Uid:\t1000\t65534\t2000\t65534");
        check_line("Gid:", "Gid:\t65534\t65534\t65534\t65534");
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(proc_self_cmdline_nuls)
{
    long n = slurp("/proc/self/cmdline");
    const char *arg = "proc_self_cmdline_nuls";
    size_t el = strlen(self_exe);
    CHECK_EQ(n, (long)(el + 1 + strlen(arg) + 1));
    CHECK_STR(text, self_exe);
    CHECK_STR(text + el + 1, arg);
    CHECK_EQ(text[n - 1], 0);
}

CASE(proc_self_comm_read)
{
    slurp("/proc/self/comm");
    char want[32];
    snprintf(want, sizeof want, "%s\n", exe_comm());
    CHECK_STR(text, want);
}

CASE(proc_self_comm_follows_pr_set_name)
{
    CHECK_OK(prctl(PR_SET_NAME, "renamed", 0, 0, 0));
    slurp("/proc/self/comm");
    CHECK_STR(text, "renamed\n");
    char comm[64], f[60][32];
    stat_fields("/proc/self/stat", comm, f);
    CHECK_STR(comm, "renamed");
}

CASE(proc_self_comm_write_sets_name)
{
    int fd = (int)CHECK_OK(open("/proc/self/comm", O_WRONLY));
    CHECK_EQ(write(fd, "written", 7), 7);
    CHECK_OK(close(fd));
    char name[17] = {0};
    CHECK_OK(prctl(PR_GET_NAME, name, 0, 0, 0));
    CHECK_STR(name, "written");
    slurp("/proc/self/status");
    check_line("Name:", "Name:\twritten");
    /* Longer names are cut to 15 bytes. */
    fd = (int)CHECK_OK(open("/proc/self/comm", O_WRONLY));
    CHECK_EQ(write(fd, "abcdefghijklmnopqrstuvwxyz", 26), 26);
    CHECK_OK(close(fd));
    slurp("/proc/self/comm");
    CHECK_STR(text, "abcdefghijklmno\n");
}

CASE(proc_self_maps_shows_mapping)
{
    char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK_OK(mprotect(p + PG, PG, PROT_READ | PROT_EXEC));
    slurp("/proc/self/maps");
    char prefix[64], want[128];
    snprintf(prefix, sizeof prefix, "%08lx-", (unsigned long)(p + PG));
    snprintf(want, sizeof want, "%08lx-%08lx r-xp 00000000 00:00 0 ", (unsigned long)(p + PG),
             (unsigned long)(p + 2 * PG));
    check_line(prefix, want);
    CHECK_OK(munmap(p, 3 * PG));
    slurp("/proc/self/maps");
    char got[256];
    CHECK(!line_with(prefix, got, sizeof got));
}

CASE(proc_self_maps_file_line)
{
    write_file("mapped", "some data");
    int fd = (int)CHECK_OK(open("mapped", O_RDONLY));
    char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    slurp("/proc/self/maps");
    char prefix[64], want[512];
    snprintf(prefix, sizeof prefix, "%08lx-", (unsigned long)p);
    int n = snprintf(want, sizeof want, "%08lx-%08lx r--s 00000000 %02x:%02x %lu ", (unsigned long)p,
                     (unsigned long)(p + PG), major(st.st_dev), minor(st.st_dev),
                     (unsigned long)st.st_ino);
    while (n < 73)
        want[n++] = ' ';
    snprintf(want + n, sizeof want - (size_t)n, "/tmp/case/mapped");
    check_line(prefix, want);
}

CASE(proc_self_maps_lists_stack)
{
    slurp("/proc/self/maps");
    CHECK(strstr(text, " [stack]\n") != NULL);
    /* Every line: start-end perms offset dev inode. */
    for (char *l = text; *l; l = strchr(l, '\n') + 1) {
        unsigned long s, e, off, ino;
        unsigned maj, min;
        char perms[8];
        CHECK_EQ(sscanf(l, "%lx-%lx %4s %lx %x:%x %lu", &s, &e, perms, &off, &maj, &min, &ino), 7);
        CHECK(s < e && s % PG == 0 && e % PG == 0);
        CHECK(strchr("r-", perms[0]) && strchr("w-", perms[1]) && strchr("x-", perms[2]) &&
              strchr("ps", perms[3]));
    }
}

CASE(proc_self_fd_links)
{
    write_file("f", "x");
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    readlink_is(path, "/tmp/case/f");
    int p[2];
    CHECK_OK(pipe(p));
    struct stat st;
    CHECK_OK(fstat(p[0], &st));
    char want[64];
    snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)st.st_ino);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    readlink_is(path, want);
    readlink_is("/proc/self/fd/0", "/dev/null");
    /* Opening the link opens the file. */
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int again = (int)CHECK_OK(open(path, O_RDONLY));
    char c;
    CHECK_EQ(read(again, &c, 1), 1);
    CHECK_EQ(c, 'x');
}

CASE(proc_self_fd_listing)
{
    int extra = (int)CHECK_OK(dup2(1, 37));
    DIR *d = CHECK_PTR(opendir("/proc/self/fd"));
    int seen0 = 0, seen37 = 0, seen_dirfd = 0, count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        count++;
        CHECK_EQ(e->d_type, DT_LNK);
        int n = atoi(e->d_name);
        seen0 |= n == 0;
        seen37 |= n == extra;
        seen_dirfd |= n == dirfd(d);
    }
    CHECK(seen0 && seen37 && seen_dirfd);
    CHECK_OK(closedir(d));
    CHECK_ERR(open("/proc/self/fd/36", O_RDONLY), ENOENT);
}

CASE(proc_self_exe_link)
{
    readlink_is("/proc/self/exe", self_exe);
}

CASE(proc_self_cwd_and_root_links)
{
    readlink_is("/proc/self/cwd", "/tmp/case");
    CHECK_OK(mkdir("sub", 0755));
    CHECK_OK(chdir("sub"));
    readlink_is("/proc/self/cwd", "/tmp/case/sub");
    readlink_is("/proc/self/root", "/");
}

CASE(proc_readlink_einval_not_link)
{
    char buf[64];
    CHECK_ERR(readlink("/proc/self/stat", buf, sizeof buf), EINVAL);
}

CASE(proc_self_missing_file_enoent)
{
    CHECK_ERR(open("/proc/self/no-such-file", O_RDONLY), ENOENT);
    CHECK_ERR(open("/proc/no-such-file", O_RDONLY), ENOENT);
}

/* ---- other processes ---- */

CASE(proc_pid_of_sleeping_child)
{
    int release;
    pid_t pid = sleeping_child(&release);
    char path[64], comm[64], f[60][32];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    CHECK_EQ(stat_fields(path, comm, f), 52);
    CHECK_STR(f[0], "S");
    CHECK_EQ(atol(f[1]), getpid());
    CHECK_STR(comm, exe_comm());
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    slurp(path);
    check_line("State:", "State:\tS (sleeping)");
    char want[64];
    snprintf(want, sizeof want, "PPid:\t%d", (int)getpid());
    check_line("PPid:", want);
    /* The forked child has our command line. */
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    long n = slurp(path);
    CHECK_EQ(n, (long)(strlen(self_exe) + 1 + strlen("proc_pid_of_sleeping_child") + 1));
    CHECK_STR(text, self_exe);
    CHECK_EQ(write(release, "x", 1), 1);
    CHECK_EXIT(pid, 0);
}

CASE(proc_pid_of_zombie)
{
    pid_t pid = zombie_child();
    char path[64], comm[64], f[60][32];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    stat_fields(path, comm, f);
    CHECK_STR(f[0], "Z");
    CHECK_EQ(atol(f[1]), getpid());
    /* exit_code (field 52): the wait status. */
    CHECK_EQ(atol(f[49]), 7 << 8);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    slurp(path);
    check_line("State:", "State:\tZ (zombie)");
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    CHECK_EQ(slurp(path), 0);
    CHECK_EXIT(pid, 7);
}

CASE(proc_pid_of_reaped_child_enoent)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(0);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = (int)CHECK_OK(open(path, O_RDONLY));
    CHECK_EXIT(pid, 0);
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    struct stat st;
    CHECK_ERR(stat(path, &st), ENOENT);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    CHECK_ERR(open(path, O_RDONLY), ENOENT);
    /* A file opened before the end now reads as nothing there (ESRCH). */
    char buf[64];
    CHECK_ERR(read(fd, buf, sizeof buf), ESRCH);
}

CASE(proc_readdir_lists_pids)
{
    int release;
    pid_t child = sleeping_child(&release);
    DIR *d = CHECK_PTR(opendir("/proc"));
    int me = 0, kid = 0, self = 0, meminfo = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (atoi(e->d_name) == getpid() && e->d_type == DT_DIR)
            me++;
        if (atoi(e->d_name) == child && e->d_type == DT_DIR)
            kid++;
        if (strcmp(e->d_name, "self") == 0 && e->d_type == DT_LNK)
            self++;
        if (strcmp(e->d_name, "meminfo") == 0 && e->d_type == DT_REG)
            meminfo++;
    }
    CHECK_OK(closedir(d));
    CHECK_EQ(me, 1);
    CHECK_EQ(kid, 1);
    CHECK_EQ(self, 1);
    CHECK_EQ(meminfo, 1);
    CHECK_EQ(write(release, "x", 1), 1);
    CHECK_EXIT(child, 0);
}

CASE(proc_pid_listing)
{
    DIR *d = CHECK_PTR(opendir("/proc/self"));
    const char *want[] = {"cmdline", "comm", "cwd", "exe", "fd", "maps", "root", "stat", "status"};
    unsigned found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
            if (strcmp(e->d_name, want[i]) == 0)
                found |= 1u << i;
    CHECK_OK(closedir(d));
    CHECK_EQ(found, (1u << (sizeof want / sizeof want[0])) - 1);
}

/* ---- writes and modifications ---- */

CASE(proc_write_root_eio_or_einval)
{
    /* Root may open them for writing (DAC override), but they take no writes. */
    int fd = (int)CHECK_OK(open("/proc/version", O_WRONLY));
    CHECK_ERR(write(fd, "x", 1), EIO);
    CHECK_OK(close(fd));
    fd = (int)CHECK_OK(open("/proc/self/stat", O_WRONLY));
    CHECK_ERR(write(fd, "x", 1), EINVAL);
    CHECK_OK(close(fd));
}

CASE(proc_write_eacces_as_user)
{
    drop_privileges();
    CHECK_ERR(open("/proc/meminfo", O_WRONLY), EACCES);
    CHECK_ERR(open("/proc/version", O_RDWR), EACCES);
    CHECK_ERR(open("/proc/self/stat", O_WRONLY), EACCES);
}

CASE(proc_create_and_unlink_refused)
{
    CHECK_ERR(open("/proc/newfile", O_WRONLY | O_CREAT, 0644), ENOENT);
    CHECK_ERR(mkdir("/proc/newdir", 0755), ENOENT);
    CHECK_ERR(unlink("/proc/version"), EPERM);
}

/* ---- system files ---- */

CASE(proc_mounts_has_proc)
{
    readlink_is("/proc/mounts", "self/mounts");
    slurp("/proc/mounts");
    int found = 0;
    for (char *l = text; *l; l = strchr(l, '\n') + 1) {
        char dev[256], dir[256], type[64], opts[256];
        int a, b;
        CHECK_EQ(sscanf(l, "%255s %255s %63s %255s %d %d", dev, dir, type, opts, &a, &b), 6);
        CHECK(a == 0 && b == 0);
        CHECK(strncmp(opts, "rw", 2) == 0 || strncmp(opts, "ro", 2) == 0);
        if (strcmp(dir, "/proc") == 0 && strcmp(type, "proc") == 0)
            found = 1;
    }
    CHECK(found);
}

CASE(proc_meminfo_lines)
{
    slurp("/proc/meminfo");
    const char *names[] = {"MemTotal:", "MemFree:", "MemAvailable:"};
    unsigned long v[3];
    char *l = text;
    for (int i = 0; i < 3; i++) {
        /* The name padded to 16 columns, the value right-aligned in 8, then " kB". */
        char want[32];
        snprintf(want, sizeof want, "%-16s", names[i]);
        CHECK(strncmp(l, want, 16) == 0);
        char *nl = strchr(l, '\n');
        CHECK(nl && nl - l >= 27);
        CHECK(strncmp(nl - 3, " kB", 3) == 0);
        CHECK(nl[-4] >= '0' && nl[-4] <= '9');
        v[i] = strtoul(l + 16, NULL, 10);
        l = nl + 1;
    }
    CHECK(v[0] > 0 && v[1] <= v[0] && v[2] <= v[0]);
    CHECK(strstr(text, "\nSwapTotal:") != NULL);
}

CASE(proc_uptime_format)
{
    slurp("/proc/uptime");
    unsigned long a, b, c, d;
    char end;
    CHECK_EQ(sscanf(text, "%lu.%2lu %lu.%2lu%c", &a, &b, &c, &d, &end), 5);
    CHECK_EQ(end, '\n');
    CHECK(a + b > 0);
    /* Two decimals on each. */
    char *dot = strchr(text, '.');
    CHECK(dot[3] == ' ');
    CHECK(text[strlen(text) - 4] == '.');
}

CASE(proc_loadavg_format)
{
    slurp("/proc/loadavg");
    unsigned a, b, c, d, e, f, running, total;
    int last;
    char end;
    CHECK_EQ(sscanf(text, "%u.%2u %u.%2u %u.%2u %u/%u %d%c", &a, &b, &c, &d, &e, &f, &running, &total,
                    &last, &end),
             10);
    CHECK_EQ(end, '\n');
    CHECK(running >= 1 && running <= total);
    CHECK(last > 0);
}

CASE(proc_stat_cpu_lines)
{
    slurp("/proc/stat");
    CHECK(strncmp(text, "cpu  ", 5) == 0);
    unsigned long v[10];
    CHECK_EQ(sscanf(text + 5, "%lu %lu %lu %lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]),
             10);
    long cpus = 0;
    for (char *l = strchr(text, '\n') + 1; strncmp(l, "cpu", 3) == 0; l = strchr(l, '\n') + 1) {
        char want[32];
        snprintf(want, sizeof want, "cpu%ld ", cpus);
        CHECK(strncmp(l, want, strlen(want)) == 0);
        cpus++;
    }
    CHECK_EQ(cpus, sysconf(_SC_NPROCESSORS_ONLN));
    char got[256];
    const char *keys[] = {"intr ", "ctxt ", "btime ", "processes ", "procs_running ", "procs_blocked ",
                          "softirq "};
    for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!line_with(keys[i], got, sizeof got))
            FAIL("no %s line", keys[i]);
}

CASE(proc_cpuinfo_processors)
{
    slurp("/proc/cpuinfo");
    long n = 0;
    char *l = text;
    while ((l = strstr(l, "processor\t: ")) != NULL) {
        CHECK(l == text || l[-1] == '\n');
        CHECK_EQ(atol(l + 12), n);
        n++;
        l++;
    }
    CHECK_EQ(n, sysconf(_SC_NPROCESSORS_ONLN));
    CHECK(strstr(text, "\nvendor_id\t: ") != NULL);
    CHECK(strstr(text, "\nmodel name\t: ") != NULL);
    CHECK(strstr(text, "\nflags\t\t: ") != NULL);
}

CASE(proc_version_line)
{
    long n = slurp("/proc/version");
    CHECK(strncmp(text, "Linux version ", 14) == 0);
    CHECK_EQ(text[n - 1], '\n');
    CHECK(strchr(text, '\n') == text + n - 1);
}

CASE(proc_pr_set_name_efault)
{
    CHECK_ERR(prctl(PR_SET_NAME, BAD_PTR, 0, 0, 0), EFAULT);
    slurp("/proc/self/comm");
    char want[32];
    snprintf(want, sizeof want, "%s\n", exe_comm());
    CHECK_STR(text, want);
}

CASE(proc_getdents_errors)
{
    char buf[1024];
    int fd = (int)CHECK_OK(open("/proc/version", O_RDONLY));
    CHECK_ERR(syscall(SYS_getdents64, fd, buf, sizeof buf), ENOTDIR);
    int dir = (int)CHECK_OK(open("/proc/self/fd", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(syscall(SYS_getdents64, dir, BAD_PTR, sizeof buf), EFAULT);
    CHECK_ERR(syscall(SYS_getdents64, 999, buf, sizeof buf), EBADF);
    CHECK(syscall(SYS_getdents64, dir, buf, sizeof buf) > 0);
}
