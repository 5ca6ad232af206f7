/* The case framework of the conformance suite: one program per area, each a set of cases.
 *
 *   AREA --list              prints the case names, one per line, in source order
 *   AREA CASE                runs one case in this process: exit 0 is a pass, anything else
 *                            (a failed CHECK exits 1, a crash is a signal) a failure
 *   AREA --helper NAME ARGS  runs a HELPER (a second program the cases exec, e.g. for exec)
 *
 * The runner (tests/conformance/runner.c) starts every case in its own process group, in a
 * fresh empty working directory, as root, with a timeout. A case asserts exact results: the
 * return value, errno, and the side effects visible afterwards. A failed check prints one
 * `# file:line: ...` diagnostic and exits 1.
 *
 * Cases call the libc wrapper where one exists (both libcs are under test) and syscall()
 * where a libc would touch a bad pointer itself or has no wrapper. */
#ifndef CASES_H
#define CASES_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct case_def {
    const char *name;
    void (*fn)(void);
    int line;
};

struct helper_def {
    const char *name;
    int (*fn)(int argc, char **argv);
};

/* Cases and helpers register themselves in a section of their own; the linker provides the
 * bounds. `line` keeps --list in source order whatever order the compiler emits them in. */
#define CASE(n)                                                                              \
    static void case_fn_##n(void);                                                           \
    __attribute__((used, section("conf_cases"), aligned(8))) static const struct case_def    \
        case_def_##n = {#n, case_fn_##n, __LINE__};                                          \
    static void case_fn_##n(void)

#define HELPER(n)                                                                            \
    static int helper_fn_##n(int argc, char **argv);                                         \
    __attribute__((used, section("conf_helpers"), aligned(8))) static const struct helper_def \
        helper_def_##n = {#n, helper_fn_##n};                                                \
    static int helper_fn_##n(int argc, char **argv)

/* This program's path (argv[0]; the runner passes an absolute one) for cases that exec it. */
static const char *self_exe;

/* A pointer no process has mapped: the first page is never mapped on Linux or Damselfly. */
#define BAD_PTR ((void *)8)
/* An address in the kernel's half: a user pointer that must give EFAULT, never a kernel read. */
#define KERNEL_PTR ((void *)0xffff800000001000UL)

#define FAIL(...)                                                                            \
    do {                                                                                     \
        printf("# %s:%d: ", __FILE__, __LINE__);                                             \
        printf(__VA_ARGS__);                                                                 \
        printf("\n");                                                                        \
        fflush(stdout);                                                                      \
        _exit(1);                                                                            \
    } while (0)

/* `cond` must hold. */
#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond))                                                                         \
            FAIL("CHECK(%s) failed (errno %d: %s)", #cond, errno, strerror(errno));          \
    } while (0)

/* `expr` must not return -1; yields its value. */
#define CHECK_OK(expr)                                                                       \
    ({                                                                                       \
        errno = 0;                                                                           \
        long r_ = (long)(expr);                                                              \
        if (r_ == -1)                                                                        \
            FAIL("%s = -1, errno %d (%s)", #expr, errno, strerror(errno));                   \
        r_;                                                                                  \
    })

/* `expr` must return exactly `want`. */
#define CHECK_EQ(expr, want)                                                                 \
    ({                                                                                       \
        errno = 0;                                                                           \
        long r_ = (long)(expr);                                                              \
        long w_ = (long)(want);                                                              \
        if (r_ != w_)                                                                        \
            FAIL("%s = %ld (errno %d: %s), want %ld", #expr, r_, errno, strerror(errno), w_); \
        r_;                                                                                  \
    })

/* `expr` must fail: return -1 with errno `err`. */
#define CHECK_ERR(expr, err)                                                                 \
    do {                                                                                     \
        errno = 0;                                                                           \
        long r_ = (long)(expr);                                                              \
        int e_ = errno;                                                                      \
        if (r_ != -1 || e_ != (err))                                                         \
            FAIL("%s = %ld, errno %d (%s); want -1, errno %d (%s)", #expr, r_, e_,           \
                 strerror(e_), (int)(err), strerror(err));                                   \
    } while (0)

/* A pointer-returning `expr` (opendir, fopen, mmap with MAP_FAILED checked by the caller)
 * must not be NULL; yields it. */
#define CHECK_PTR(expr)                                                                      \
    ({                                                                                       \
        errno = 0;                                                                           \
        void *p_ = (void *)(expr);                                                           \
        if (p_ == NULL)                                                                      \
            FAIL("%s = NULL, errno %d (%s)", #expr, errno, strerror(errno));                 \
        p_;                                                                                  \
    })

#define CHECK_STR(got, want)                                                                 \
    do {                                                                                     \
        const char *g_ = (got), *w_ = (want);                                                \
        if (g_ == NULL || strcmp(g_, w_) != 0)                                               \
            FAIL("%s = \"%s\", want \"%s\"", #got, g_ ? g_ : "(null)", w_);                  \
    } while (0)

#define CHECK_MEM(got, want, n)                                                              \
    do {                                                                                     \
        if (memcmp((got), (want), (n)) != 0)                                                 \
            FAIL("%s differs from %s in its first %zu bytes", #got, #want, (size_t)(n));     \
    } while (0)

/* fork() that must succeed; the child returns 0. */
static inline pid_t case_fork(void)
{
    fflush(stdout);
    return (pid_t)CHECK_OK(fork());
}

/* Waits for `pid` and returns its raw wait status. */
static inline int wait_status(pid_t pid)
{
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    return st;
}

/* `pid` must exit normally with `code`. */
#define CHECK_EXIT(pid, code)                                                                \
    do {                                                                                     \
        int st_ = wait_status(pid);                                                          \
        if (!WIFEXITED(st_) || WEXITSTATUS(st_) != (code))                                   \
            FAIL("child %d: status %#x, want exit %d", (int)(pid), st_, (int)(code));        \
    } while (0)

/* `pid` must be killed by signal `sig`. */
#define CHECK_KILLED(pid, sig)                                                               \
    do {                                                                                     \
        int st_ = wait_status(pid);                                                          \
        if (!WIFSIGNALED(st_) || WTERMSIG(st_) != (sig))                                     \
            FAIL("child %d: status %#x, want killed by %d", (int)(pid), st_, (int)(sig));    \
    } while (0)

/* Becomes uid/gid 65534 with no supplementary groups, for EACCES and EPERM cases. */
static inline void drop_privileges(void)
{
    CHECK_OK(setgroups(0, NULL));
    CHECK_OK(setresgid(65534, 65534, 65534));
    CHECK_OK(setresuid(65534, 65534, 65534));
}

/* Creates (or truncates) `path` holding `text`. */
static inline void write_file(const char *path, const char *text)
{
    int fd = (int)CHECK_OK(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    size_t n = strlen(text);
    CHECK_EQ(write(fd, text, n), (long)n);
    CHECK_OK(close(fd));
}

/* Reads at most `size - 1` bytes of `path` into `buf`, NUL-terminated; returns the length. */
static inline long read_file(const char *path, char *buf, size_t size)
{
    int fd = (int)CHECK_OK(open(path, O_RDONLY));
    long n = CHECK_OK(read(fd, buf, size - 1));
    buf[n] = 0;
    CHECK_OK(close(fd));
    return n;
}

extern const struct case_def __start_conf_cases[], __stop_conf_cases[];
extern const struct helper_def __start_conf_helpers[] __attribute__((weak));
extern const struct helper_def __stop_conf_helpers[] __attribute__((weak));

static int case_by_line(const void *a, const void *b)
{
    const struct case_def *x = *(const struct case_def *const *)a;
    const struct case_def *y = *(const struct case_def *const *)b;
    return x->line - y->line;
}

int main(int argc, char **argv)
{
    self_exe = argv[0];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        size_t n = (size_t)(__stop_conf_cases - __start_conf_cases);
        const struct case_def **all = calloc(n, sizeof *all);
        if (all == NULL)
            return 2;
        for (size_t i = 0; i < n; i++)
            all[i] = &__start_conf_cases[i];
        qsort(all, n, sizeof *all, case_by_line);
        for (size_t i = 0; i < n; i++)
            printf("%s\n", all[i]->name);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "--helper") == 0) {
        for (const struct helper_def *h = __start_conf_helpers; h && h < __stop_conf_helpers; h++)
            if (strcmp(h->name, argv[2]) == 0)
                return h->fn(argc - 2, argv + 2);
        fprintf(stderr, "no helper %s\n", argv[2]);
        return 2;
    }
    if (argc == 2)
        for (const struct case_def *c = __start_conf_cases; c < __stop_conf_cases; c++)
            if (strcmp(c->name, argv[1]) == 0) {
                c->fn();
                fflush(stdout);
                return 0;
            }
    fprintf(stderr, "usage: %s --list | CASE | --helper NAME [ARG...]\n", argv[0]);
    return 2;
}

#endif
