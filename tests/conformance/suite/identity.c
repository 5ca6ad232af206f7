/* Identity and limits: user and group ids with Linux's privilege rules, supplementary groups,
 * resource limits (and their effect on open and write), umask, uname and the host and
 * domain names, sysinfo, getrandom and getcwd. Cases that change ids do it in a child. */
#include "cases.h"
#include <limits.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

/* Runs `body` in a child and expects it to exit 0 (a failed CHECK exits 1). */
#define IN_CHILD(...)                                                                       \
    do {                                                                                     \
        pid_t pid_ = case_fork();                                                            \
        if (pid_ == 0) {                                                                     \
            __VA_ARGS__;                                                                     \
            _exit(0);                                                                        \
        }                                                                                    \
        CHECK_EXIT(pid_, 0);                                                                 \
    } while (0)

#define CHECK_RESUID(r, e, s)                                                                \
    do {                                                                                     \
        uid_t rid_, eid_, sid_;                                                                    \
        CHECK_OK(getresuid(&rid_, &eid_, &sid_));                                                  \
        if (rid_ != (uid_t)(r) || eid_ != (uid_t)(e) || sid_ != (uid_t)(s))                        \
            FAIL("resuid %u %u %u, want %u %u %u", rid_, eid_, sid_, (uid_t)(r), (uid_t)(e),       \
                 (uid_t)(s));                                                                \
    } while (0)

#define CHECK_RESGID(r, e, s)                                                                \
    do {                                                                                     \
        gid_t rid_, eid_, sid_;                                                                    \
        CHECK_OK(getresgid(&rid_, &eid_, &sid_));                                                  \
        if (rid_ != (gid_t)(r) || eid_ != (gid_t)(e) || sid_ != (gid_t)(s))                        \
            FAIL("resgid %u %u %u, want %u %u %u", rid_, eid_, sid_, (gid_t)(r), (gid_t)(e),       \
                 (gid_t)(s));                                                                \
    } while (0)

/* A pid that names no process now: a child's, once reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(0);
    CHECK_EXIT(pid, 0);
    return pid;
}

CASE(getuid_root)
{
    CHECK_EQ(getuid(), 0);
    CHECK_EQ(geteuid(), 0);
    CHECK_EQ(getgid(), 0);
    CHECK_EQ(getegid(), 0);
    CHECK_RESUID(0, 0, 0);
    CHECK_RESGID(0, 0, 0);
}

CASE(getresuid_efault)
{
    uid_t a, b;
    CHECK_ERR(syscall(SYS_getresuid, BAD_PTR, &a, &b), EFAULT);
    CHECK_ERR(syscall(SYS_getresuid, &a, &b, KERNEL_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_getresgid, &a, BAD_PTR, &b), EFAULT);
}

CASE(setuid_root_sets_all)
{
    IN_CHILD({
        CHECK_OK(setuid(1000));
        CHECK_RESUID(1000, 1000, 1000);
        CHECK_EQ(getuid(), 1000);
        CHECK_EQ(geteuid(), 1000);
        /* Privilege is gone for good. */
        CHECK_ERR(setuid(0), EPERM);
    });
}

CASE(setuid_unprivileged_rules)
{
    IN_CHILD({
        CHECK_OK(setresuid(1000, 1001, 1002));
        /* Without privilege only the effective id changes, to one of the three. */
        CHECK_OK(setuid(1002));
        CHECK_RESUID(1000, 1002, 1002);
        CHECK_OK(setuid(1000));
        CHECK_RESUID(1000, 1000, 1002);
        CHECK_ERR(setuid(1001), EPERM);
        CHECK_ERR(setuid(0), EPERM);
    });
}

CASE(setgid_rules)
{
    IN_CHILD({
        CHECK_OK(setgid(500));
        CHECK_RESGID(500, 500, 500);
        CHECK_EQ(getgid(), 500);
        CHECK_EQ(getegid(), 500);
        CHECK_OK(setresgid(10, 20, 30));
        CHECK_OK(setuid(1000));
        CHECK_OK(setgid(30));
        CHECK_RESGID(10, 30, 30);
        CHECK_ERR(setgid(20), EPERM);
        CHECK_ERR(setgid(0), EPERM);
    });
}

CASE(setreuid_rules)
{
    IN_CHILD({
        CHECK_OK(setreuid(1000, 1001));
        /* A new effective id other than the real one sets the saved id too. */
        CHECK_RESUID(1000, 1001, 1001);
        /* Unprivileged: swap real and effective. */
        CHECK_OK(setreuid(1001, 1000));
        CHECK_RESUID(1001, 1000, 1000);
        CHECK_OK(setreuid(-1, -1));
        CHECK_RESUID(1001, 1000, 1000);
        CHECK_ERR(setreuid(2000, -1), EPERM);
        CHECK_ERR(setreuid(-1, 0), EPERM);
    });
}

CASE(setregid_rules)
{
    IN_CHILD({
        CHECK_OK(setregid(100, 200));
        CHECK_RESGID(100, 200, 200);
        CHECK_OK(setuid(1000));
        CHECK_OK(setregid(200, 100));
        CHECK_RESGID(200, 100, 100);
        CHECK_ERR(setregid(300, -1), EPERM);
        CHECK_ERR(setregid(-1, 0), EPERM);
    });
}

CASE(setresuid_rules)
{
    IN_CHILD({
        CHECK_OK(setresuid(1, 2, 3));
        CHECK_RESUID(1, 2, 3);
        /* -1 keeps a field; unprivileged, each new one must be one of the current three. */
        CHECK_OK(setresuid(-1, 3, -1));
        CHECK_RESUID(1, 3, 3);
        CHECK_OK(setresuid(3, 1, 1));
        CHECK_RESUID(3, 1, 1);
        CHECK_ERR(setresuid(-1, -1, 4), EPERM);
        CHECK_ERR(setresuid(0, -1, -1), EPERM);
        CHECK_RESUID(3, 1, 1);
    });
}

CASE(setresgid_rules)
{
    IN_CHILD({
        CHECK_OK(setresgid(1, 2, 3));
        CHECK_RESGID(1, 2, 3);
        CHECK_OK(setresuid(9, 9, 9));
        CHECK_OK(setresgid(3, -1, 1));
        CHECK_RESGID(3, 2, 1);
        CHECK_ERR(setresgid(-1, 4, -1), EPERM);
        CHECK_ERR(setresgid(0, 0, 0), EPERM);
    });
}

CASE(setuid_einval_invalid_id)
{
    IN_CHILD({
        /* (uid_t)-1 is no id: the raw calls refuse it where it cannot mean "keep". */
        CHECK_ERR(syscall(SYS_setuid, -1), EINVAL);
        CHECK_ERR(syscall(SYS_setgid, -1), EINVAL);
        CHECK_RESUID(0, 0, 0);
    });
}

CASE(drop_privileges_then_eperm)
{
    IN_CHILD({
        drop_privileges();
        CHECK_RESUID(65534, 65534, 65534);
        CHECK_RESGID(65534, 65534, 65534);
        CHECK_ERR(setuid(0), EPERM);
        CHECK_ERR(setgid(0), EPERM);
        CHECK_ERR(setreuid(0, 0), EPERM);
        CHECK_ERR(setregid(0, 0), EPERM);
        CHECK_ERR(setresuid(0, 0, 0), EPERM);
        CHECK_ERR(setresgid(0, 0, 0), EPERM);
        /* Setting what it already has is allowed. */
        CHECK_OK(setuid(65534));
        CHECK_OK(setresgid(65534, -1, -1));
    });
}

CASE(getgroups_setgroups)
{
    IN_CHILD({
        gid_t set[3] = {5, 6, 7};
        CHECK_OK(setgroups(3, set));
        CHECK_EQ(getgroups(0, NULL), 3);
        gid_t got[8] = {0};
        CHECK_EQ(getgroups(8, got), 3);
        CHECK_EQ(got[0], 5);
        CHECK_EQ(got[1], 6);
        CHECK_EQ(got[2], 7);
        CHECK_ERR(getgroups(2, got), EINVAL);
        CHECK_OK(setgroups(0, NULL));
        CHECK_EQ(getgroups(0, NULL), 0);
    });
}

CASE(getgroups_errors)
{
    gid_t one = 1;
    IN_CHILD({
        CHECK_OK(setgroups(1, &one));
        CHECK_ERR(syscall(SYS_getgroups, 4, BAD_PTR), EFAULT);
        CHECK_ERR(syscall(SYS_getgroups, -1, NULL), EINVAL);
    });
}

CASE(setgroups_errors)
{
    IN_CHILD({
        CHECK_ERR(syscall(SYS_setgroups, 2, BAD_PTR), EFAULT);
        CHECK_ERR(syscall(SYS_setgroups, 65537, NULL), EINVAL);
        CHECK_ERR(syscall(SYS_setgroups, -1, NULL), EINVAL);
        drop_privileges();
        gid_t g = 65534;
        CHECK_ERR(setgroups(1, &g), EPERM);
        CHECK_ERR(setgroups(0, NULL), EPERM);
    });
}

CASE(getrlimit_setrlimit_nofile)
{
    struct rlimit rl;
    CHECK_OK(getrlimit(RLIMIT_NOFILE, &rl));
    CHECK(rl.rlim_cur > 0 && rl.rlim_cur <= rl.rlim_max);
    struct rlimit low = {8, rl.rlim_max};
    CHECK_OK(setrlimit(RLIMIT_NOFILE, &low));
    struct rlimit now;
    CHECK_OK(getrlimit(RLIMIT_NOFILE, &now));
    CHECK_EQ(now.rlim_cur, 8);
    CHECK_EQ(now.rlim_max, rl.rlim_max);
    /* Descriptors 0..7 are all there is: the lowest free ones fill up, then EMFILE. */
    for (;;) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) {
            int e = errno;
            CHECK_EQ(e, EMFILE);
            break;
        }
        CHECK(fd < 8);
    }
    CHECK_ERR(dup(0), EMFILE);
    CHECK_ERR(fcntl(0, F_DUPFD, 0), EMFILE);
    CHECK_ERR(dup2(0, 8), EBADF);
    CHECK_OK(dup2(0, 7));
}

CASE(setrlimit_einval_soft_above_hard)
{
    struct rlimit bad = {100, 50};
    CHECK_ERR(setrlimit(RLIMIT_NOFILE, &bad), EINVAL);
    struct rlimit rl = {1, 1};
    CHECK_ERR(syscall(SYS_setrlimit, 1000, &rl), EINVAL);
    CHECK_ERR(syscall(SYS_getrlimit, 1000, &rl), EINVAL);
}

CASE(rlimit_raw_syscalls)
{
    struct rlimit rl, back;
    CHECK_EQ(syscall(SYS_getrlimit, RLIMIT_CORE, &rl), 0);
    struct rlimit want = {0, rl.rlim_max};
    CHECK_EQ(syscall(SYS_setrlimit, RLIMIT_CORE, &want), 0);
    CHECK_EQ(syscall(SYS_getrlimit, RLIMIT_CORE, &back), 0);
    CHECK_EQ(back.rlim_cur, 0);
    CHECK_EQ(back.rlim_max, rl.rlim_max);
    CHECK_ERR(syscall(SYS_getrlimit, RLIMIT_CORE, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_setrlimit, RLIMIT_CORE, KERNEL_PTR), EFAULT);
}

CASE(setrlimit_eperm_raise_hard_as_user)
{
    IN_CHILD({
        struct rlimit rl = {64, 128};
        CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
        drop_privileges();
        /* Lowering and raising the soft limit up to the hard one are fine. */
        rl.rlim_cur = 128;
        CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
        rl.rlim_max = 100;
        rl.rlim_cur = 100;
        CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
        rl.rlim_max = 128;
        CHECK_ERR(setrlimit(RLIMIT_NOFILE, &rl), EPERM);
    });
}

CASE(setrlimit_nofile_above_nr_open_eperm)
{
    /* Even root cannot go above fs.nr_open (1048576 by default). */
    struct rlimit rl = {1 << 30, 1 << 30};
    CHECK_ERR(setrlimit(RLIMIT_NOFILE, &rl), EPERM);
}

CASE(prlimit64_get_and_set)
{
    struct rlimit old, set = {32, 64}, now;
    CHECK_OK(prlimit(0, RLIMIT_NOFILE, NULL, &old));
    CHECK_OK(prlimit(0, RLIMIT_NOFILE, &set, &now));
    /* The old value comes back as the new one goes in. */
    CHECK_EQ(now.rlim_cur, old.rlim_cur);
    CHECK_EQ(now.rlim_max, old.rlim_max);
    CHECK_OK(prlimit(getpid(), RLIMIT_NOFILE, NULL, &now));
    CHECK_EQ(now.rlim_cur, 32);
    CHECK_EQ(now.rlim_max, 64);
}

CASE(prlimit64_other_process)
{
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = case_fork();
    if (pid == 0) {
        close(p[1]);
        char c;
        read(p[0], &c, 1);
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        _exit(rl.rlim_cur == 20 ? 0 : 1);
    }
    close(p[0]);
    struct rlimit set = {20, 40};
    CHECK_OK(prlimit(pid, RLIMIT_NOFILE, &set, NULL));
    struct rlimit got;
    CHECK_OK(prlimit(pid, RLIMIT_NOFILE, NULL, &got));
    CHECK_EQ(got.rlim_cur, 20);
    CHECK_EQ(got.rlim_max, 40);
    close(p[1]);
    CHECK_EXIT(pid, 0);
}

CASE(prlimit64_errors)
{
    struct rlimit rl;
    CHECK_ERR(prlimit(dead_pid(), RLIMIT_NOFILE, NULL, &rl), ESRCH);
    CHECK_ERR(syscall(SYS_prlimit64, 0, 1000, NULL, &rl), EINVAL);
    CHECK_ERR(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, BAD_PTR, NULL), EFAULT);
    struct rlimit bad = {10, 5};
    CHECK_ERR(prlimit(0, RLIMIT_NOFILE, &bad, NULL), EINVAL);
    pid_t parent = getpid();
    IN_CHILD({
        drop_privileges();
        struct rlimit r;
        /* Another user's limits are not ours to read. */
        CHECK_ERR(prlimit(parent, RLIMIT_NOFILE, NULL, &r), EPERM);
    });
}

CASE(rlimit_fsize_sigxfsz)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        struct rlimit rl = {100, 100};
        CHECK_OK(setrlimit(RLIMIT_FSIZE, &rl));
        int fd = (int)CHECK_OK(open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644));
        char buf[200];
        memset(buf, 'x', sizeof buf);
        /* The write stops at the limit; the next one gets SIGXFSZ. */
        CHECK_EQ(write(fd, buf, sizeof buf), 100);
        write(fd, buf, 1);
        _exit(0);
    }
    CHECK_KILLED(pid, SIGXFSZ);
    struct stat st;
    CHECK_OK(stat("f", &st));
    CHECK_EQ(st.st_size, 100);
}

CASE(rlimit_fsize_efbig_when_ignored)
{
    IN_CHILD({
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {10, 10};
        CHECK_OK(setrlimit(RLIMIT_FSIZE, &rl));
        int fd = (int)CHECK_OK(open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644));
        CHECK_EQ(write(fd, "0123456789", 10), 10);
        CHECK_ERR(write(fd, "a", 1), EFBIG);
        CHECK_ERR(pwrite(fd, "a", 1, 50), EFBIG);
        /* Below the limit writes still work. */
        CHECK_EQ(pwrite(fd, "z", 1, 0), 1);
    });
}

CASE(umask_applies_and_returns_old)
{
    CHECK_EQ(umask(027), 022);
    CHECK_EQ(umask(027), 027);
    int fd = (int)CHECK_OK(open("f", O_WRONLY | O_CREAT, 0666));
    close(fd);
    struct stat st;
    CHECK_OK(stat("f", &st));
    CHECK_EQ(st.st_mode & 0777, 0640);
    CHECK_OK(mkdir("d", 0777));
    CHECK_OK(stat("d", &st));
    CHECK_EQ(st.st_mode & 0777, 0750);
    /* Only the permission bits are kept. */
    CHECK_EQ(umask(0777777), 027);
    CHECK_EQ(umask(022), 0777);
}

CASE(umask_inherited_by_child)
{
    umask(077);
    IN_CHILD({ CHECK_EQ(umask(0), 077); });
}

CASE(uname_fields)
{
    struct utsname u;
    CHECK_OK(uname(&u));
    CHECK_STR(u.sysname, "Linux");
    CHECK_STR(u.machine, "x86_64");
    CHECK(u.nodename[0] != 0);
    CHECK(u.release[0] >= '3' && u.release[0] <= '9');
    CHECK(u.version[0] != 0);
    CHECK_ERR(syscall(SYS_uname, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_uname, KERNEL_PTR), EFAULT);
}

CASE(sethostname_roundtrip)
{
    struct utsname u;
    CHECK_OK(uname(&u));
    char saved[sizeof u.nodename];
    memcpy(saved, u.nodename, sizeof saved);
    CHECK_OK(sethostname("conf-host", 9));
    char got[128];
    CHECK_OK(gethostname(got, sizeof got));
    int same = strcmp(got, "conf-host") == 0;
    CHECK_OK(uname(&u));
    same = same && strcmp(u.nodename, "conf-host") == 0;
    /* The length is what counts, not a NUL. */
    CHECK_OK(sethostname("abcdef", 3));
    CHECK_OK(uname(&u));
    same = same && strcmp(u.nodename, "abc") == 0;
    CHECK_OK(sethostname(saved, strlen(saved)));
    CHECK(same);
    CHECK_OK(uname(&u));
    CHECK_STR(u.nodename, saved);
}

CASE(sethostname_errors)
{
    char big[70];
    memset(big, 'h', sizeof big);
    CHECK_ERR(sethostname(big, 65), EINVAL);
    CHECK_ERR(syscall(SYS_sethostname, big, -1), EINVAL);
    CHECK_ERR(syscall(SYS_sethostname, BAD_PTR, 5), EFAULT);
    IN_CHILD({
        drop_privileges();
        CHECK_ERR(sethostname("x", 1), EPERM);
    });
}

CASE(gethostname_is_uname_nodename)
{
    struct utsname u;
    CHECK_OK(uname(&u));
    size_t n = strlen(u.nodename);
    char buf[128];
    CHECK_OK(gethostname(buf, sizeof buf));
    CHECK_STR(buf, u.nodename);
    CHECK_EQ(strlen(buf), n);
}

CASE(setdomainname_roundtrip)
{
    struct utsname u;
    CHECK_OK(uname(&u));
    char saved[sizeof u.domainname];
    memcpy(saved, u.domainname, sizeof saved);
    CHECK_OK(setdomainname("conf.domain", 11));
    CHECK_OK(uname(&u));
    int same = strcmp(u.domainname, "conf.domain") == 0;
    CHECK_OK(setdomainname(saved, strlen(saved)));
    CHECK(same);
    CHECK_OK(uname(&u));
    CHECK_STR(u.domainname, saved);
}

CASE(setdomainname_errors)
{
    char big[70];
    memset(big, 'd', sizeof big);
    CHECK_ERR(setdomainname(big, 65), EINVAL);
    CHECK_ERR(syscall(SYS_setdomainname, KERNEL_PTR, 4), EFAULT);
    IN_CHILD({
        drop_privileges();
        CHECK_ERR(setdomainname("x", 1), EPERM);
    });
}

CASE(sysinfo_fields)
{
    struct sysinfo si;
    memset(&si, 0xff, sizeof si);
    CHECK_OK(sysinfo(&si));
    CHECK(si.mem_unit >= 1);
    CHECK(si.totalram > 0);
    CHECK(si.freeram <= si.totalram);
    CHECK(si.procs >= 1);
    CHECK_ERR(syscall(SYS_sysinfo, BAD_PTR), EFAULT);
}

CASE(getrandom_fills)
{
    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK_EQ(syscall(SYS_getrandom, a, sizeof a, 0), 64);
    CHECK_EQ(syscall(SYS_getrandom, b, sizeof b, 1 /* GRND_NONBLOCK */), 64);
    /* 512 random bits are never twice the same. */
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK_EQ(syscall(SYS_getrandom, a, 0, 0), 0);
    CHECK_EQ(syscall(SYS_getrandom, a, 16, 2 /* GRND_RANDOM */), 16);
}

CASE(getrandom_errors)
{
    unsigned char a[16];
    CHECK_ERR(syscall(SYS_getrandom, a, sizeof a, 0x80), EINVAL);
    /* GRND_RANDOM and GRND_INSECURE together are refused. */
    CHECK_ERR(syscall(SYS_getrandom, a, sizeof a, 6), EINVAL);
    CHECK_ERR(syscall(SYS_getrandom, BAD_PTR, 16, 0), EFAULT);
    CHECK_ERR(syscall(SYS_getrandom, KERNEL_PTR, 16, 0), EFAULT);
}

CASE(getcwd_case_dir)
{
    char buf[PATH_MAX];
    CHECK_PTR(getcwd(buf, sizeof buf));
    CHECK_STR(buf, "/tmp/case");
    /* The raw call returns the length with the NUL. */
    CHECK_EQ(syscall(SYS_getcwd, buf, sizeof buf), 10);
    CHECK_OK(mkdir("sub", 0755));
    CHECK_OK(chdir("sub"));
    CHECK_PTR(getcwd(buf, sizeof buf));
    CHECK_STR(buf, "/tmp/case/sub");
}

CASE(getcwd_errors)
{
    char buf[64];
    CHECK_ERR(syscall(SYS_getcwd, buf, 9), ERANGE);
    CHECK_ERR(syscall(SYS_getcwd, buf, 0), ERANGE);
    CHECK(getcwd(buf, 5) == NULL && errno == ERANGE);
    CHECK_ERR(syscall(SYS_getcwd, BAD_PTR, 64), EFAULT);
}

CASE(getcwd_enoent_removed)
{
    CHECK_OK(mkdir("gone", 0755));
    CHECK_OK(chdir("gone"));
    CHECK_OK(rmdir("../gone"));
    char buf[PATH_MAX];
    CHECK_ERR(syscall(SYS_getcwd, buf, sizeof buf), ENOENT);
}
