/* Damselfly's benchmark: the same static program on Damselfly and on Linux in the same QEMU.
 *
 * Every line it prints is `# text` or `result NAME VALUE UNIT`: VALUE is nanoseconds per
 * operation (`ns`) or megabytes per second (`MB/s`). The iteration counts are fixed, so both
 * kernels do the same work. The first and the last result are a control loop that makes no
 * system call: it costs the same on any kernel, so a changed control figure means the host
 * (or the emulator) changed, not the kernel.
 *
 *   bench            every benchmark
 *   bench NAME...    only those
 *   bench --exit     exits at once (what fork+exec runs)
 *
 * As PID 1 (how `cargo xtask bench` boots it) it first prints `# bench: start` at once (the
 * host times the boot to that line), mounts /proc when it is missing and prints
 * `result mem_used_after_boot N KiB` (MemTotal - MemAvailable) before any benchmark has run;
 * at its end it powers the machine off (Linux), or simply exits (Damselfly ends QEMU when PID 1
 * exits, and its reboot returns ENOSYS). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h> is not among musl's headers. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static const char *self;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what)
{
    printf("# bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void result_ns(const char *name, uint64_t ns, uint64_t ops)
{
    printf("result %s %.1f ns\n", name, (double)ns / (double)ops);
}

/* ---- the control: user-mode work only ---- */

static volatile uint64_t sink;

static void control(const char *name)
{
    const uint64_t n = 20000000;
    uint64_t x = 88172645463325252u, t = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    sink = x;
    result_ns(name, now_ns() - t, n);
}

/* ---- system calls ---- */

static void null_syscall(void)
{
    const uint64_t n = 20000;
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++)
        syscall(SYS_getppid);
    result_ns("null_syscall", now_ns() - t, n);
}

static void rw_byte(const char *name, const char *path, int write_it)
{
    const uint64_t n = 20000;
    int fd = open(path, write_it ? O_WRONLY : O_RDONLY);
    if (fd < 0)
        die(path);
    char c = 0;
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++)
        if ((write_it ? write(fd, &c, 1) : read(fd, &c, 1)) != 1)
            die(name);
    result_ns(name, now_ns() - t, n);
    close(fd);
}

static void open_close(void)
{
    const uint64_t n = 5000;
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        int fd = open(self, O_RDONLY);
        if (fd < 0)
            die("open");
        close(fd);
    }
    result_ns("open_close", now_ns() - t, n);
}

static void stat_file(void)
{
    const uint64_t n = 5000;
    struct stat sb;
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++)
        if (stat(self, &sb) != 0)
            die("stat");
    result_ns("stat", now_ns() - t, n);
}

static void sched_yield_loop(void)
{
    const uint64_t n = 20000;
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++)
        sched_yield();
    result_ns("sched_yield", now_ns() - t, n);
}

/* ---- processes ---- */

static void pipe_round_trip(void)
{
    const uint64_t n = 2000;
    int there[2], back[2];
    if (pipe(there) || pipe(back))
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    char c = 0;
    if (pid == 0) {
        for (uint64_t i = 0; i < n; i++)
            if (read(there[0], &c, 1) != 1 || write(back[1], &c, 1) != 1)
                _exit(1);
        _exit(0);
    }
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++)
        if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
            die("pipe round trip");
    result_ns("pipe_round_trip", now_ns() - t, n);
    waitpid(pid, NULL, 0);
    close(there[0]), close(there[1]), close(back[0]), close(back[1]);
}

static void fork_exit_wait(void)
{
    const uint64_t n = 200;
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            _exit(0);
        waitpid(pid, NULL, 0);
    }
    result_ns("fork_exit_wait", now_ns() - t, n);
}

static void fork_exec_wait(void)
{
    const uint64_t n = 100;
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            execl(self, self, "--exit", (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("exec");
    }
    result_ns("fork_exec_wait", now_ns() - t, n);
}

/* ---- memory ---- */

static void page_faults(void)
{
    const size_t pages = 1024, rounds = 10;
    uint64_t t = now_ns();
    for (size_t r = 0; r < rounds; r++) {
        volatile char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            die("mmap");
        for (size_t i = 0; i < pages; i++)
            p[i * 4096] = 1;
        munmap((void *)p, pages * 4096);
    }
    result_ns("page_fault", now_ns() - t, pages * rounds);
}

/* ---- threads ---- */

static void *nothing(void *arg)
{
    return arg;
}

static void thread_create_join(void)
{
    const uint64_t n = 500;
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, nothing, NULL) != 0)
            die("pthread_create");
        pthread_join(th, NULL);
    }
    result_ns("thread_create_join", now_ns() - t, n);
}

static _Atomic int turn;
#define PING_ROUNDS 2000

static void futex_wait_for(int want)
{
    int v;
    while ((v = atomic_load(&turn)) != want)
        syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_pass(int to)
{
    atomic_store(&turn, to);
    syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *pong(void *arg)
{
    for (int i = 0; i < PING_ROUNDS; i++) {
        futex_wait_for(1);
        futex_pass(0);
    }
    return arg;
}

static void futex_ping_pong(void)
{
    pthread_t th;
    atomic_store(&turn, 0);
    if (pthread_create(&th, NULL, pong, NULL) != 0)
        die("pthread_create");
    uint64_t t = now_ns();
    for (int i = 0; i < PING_ROUNDS; i++) {
        futex_pass(1);
        futex_wait_for(0);
    }
    result_ns("futex_ping_pong", now_ns() - t, PING_ROUNDS);
    pthread_join(th, NULL);
}

/* ---- files ---- */

static void create_write_unlink(void)
{
    const uint64_t n = 2000;
    char buf[512];
    memset(buf, 'x', sizeof buf);
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        int fd = open("/tmp/bench.f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            die("create+write");
        close(fd);
        if (unlink("/tmp/bench.f") != 0)
            die("unlink");
    }
    result_ns("create_write_unlink", now_ns() - t, n);
}

static void file_bandwidth(void)
{
    const size_t chunk = 64 * 1024, total = 32u << 20;
    char *buf = malloc(chunk);
    if (buf == NULL)
        die("malloc");
    memset(buf, 'y', chunk);
    int fd = open("/tmp/bench.big", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open");
    uint64_t t = now_ns();
    for (size_t done = 0; done < total; done += chunk)
        if (write(fd, buf, chunk) != (ssize_t)chunk)
            die("write");
    uint64_t w = now_ns() - t;
    lseek(fd, 0, SEEK_SET);
    t = now_ns();
    for (size_t done = 0; done < total; done += chunk)
        if (read(fd, buf, chunk) != (ssize_t)chunk)
            die("read");
    uint64_t r = now_ns() - t;
    close(fd);
    unlink("/tmp/bench.big");
    free(buf);
    printf("result file_write_bandwidth %.1f MB/s\n", (double)total / 1e6 / ((double)w / 1e9));
    printf("result file_read_bandwidth %.1f MB/s\n", (double)total / 1e6 / ((double)r / 1e9));
}

/* ---- the machine after boot ---- */

/* The value of `key:` in /proc/meminfo, in KiB; -1 when absent. */
static long meminfo_kib(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = text; p != NULL && *p != 0; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, n) == 0 && p[n] == ':')
            return strtol(p + n + 1, NULL, 10);
    return -1;
}

static void mem_used_after_boot(void)
{
    if (access("/proc/meminfo", R_OK) != 0 && mount("proc", "/proc", "proc", 0, NULL) != 0)
        die("mount /proc");
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0)
        die("/proc/meminfo");
    static char text[16384];
    ssize_t got = 0, r;
    while (got < (ssize_t)sizeof text - 1 && (r = read(fd, text + got, sizeof text - 1 - got)) > 0)
        got += r;
    close(fd);
    text[got > 0 ? got : 0] = 0;
    long total = meminfo_kib(text, "MemTotal"), avail = meminfo_kib(text, "MemAvailable");
    if (total < 0 || avail < 0) {
        printf("# bench: /proc/meminfo has no MemTotal or MemAvailable\n");
        return;
    }
    printf("result mem_used_after_boot %ld KiB\n", total - avail);
}

static void read_zero(void) { rw_byte("read_zero", "/dev/zero", 0); }
static void write_null(void) { rw_byte("write_null", "/dev/null", 1); }

static const struct {
    const char *name;
    void (*fn)(void);
} BENCHES[] = {
    {"null_syscall", null_syscall},
    {"read_zero", read_zero},
    {"write_null", write_null},
    {"open_close", open_close},
    {"stat", stat_file},
    {"pipe_round_trip", pipe_round_trip},
    {"fork_exit_wait", fork_exit_wait},
    {"fork_exec_wait", fork_exec_wait},
    {"page_fault", page_faults},
    {"sched_yield", sched_yield_loop},
    {"thread_create_join", thread_create_join},
    {"futex_ping_pong", futex_ping_pong},
    {"create_write_unlink", create_write_unlink},
    {"file_bandwidth", file_bandwidth},
};

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc == 2 && strcmp(argv[1], "--exit") == 0)
        return 0;
    int init = getpid() == 1;
    if (init) {
        /* The boot-time mark: one write, before anything else. */
        static const char start[] = "# bench: start\n";
        if (write(1, start, sizeof start - 1) < 0)
            return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (init)
        mem_used_after_boot();
    printf("# bench: %d benchmarks\n", (int)(sizeof BENCHES / sizeof BENCHES[0]));
    control("control_start");
    for (size_t i = 0; i < sizeof BENCHES / sizeof BENCHES[0]; i++) {
        int chosen = argc == 1;
        for (int a = 1; a < argc; a++)
            chosen |= strcmp(argv[a], BENCHES[i].name) == 0;
        if (chosen)
            BENCHES[i].fn();
    }
    control("control_end");
    printf("# bench: done\n");
    if (init) {
        fflush(stdout);
        sync();
        reboot(RB_POWER_OFF);
    }
    return 0;
}
