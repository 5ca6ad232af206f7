/* Pipes and FIFOs: pipe, pipe2, reads and writes across fork, EOF, EPIPE and SIGPIPE,
 * O_NONBLOCK, PIPE_BUF atomicity, the pipe size fcntls, FIONREAD, mkfifo and FIFO opens. */
#include "cases.h"

#include <limits.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <termios.h>

/* A pipe that must open. */
static void make_pipe(int p[2])
{
    CHECK_OK(pipe(p));
}

/* Bytes waiting in the pipe whose read end is `fd`. */
static int queued(int fd)
{
    int n = -1;
    CHECK_OK(ioctl(fd, FIONREAD, &n));
    return n;
}

/* The lowest free descriptor now (checked by opening and closing one). */
static int lowest_free(void)
{
    int fd = (int)CHECK_OK(dup(0));
    CHECK_OK(close(fd));
    return fd;
}

CASE(pipe_write_then_read)
{
    int p[2];
    make_pipe(p);
    CHECK(p[0] != p[1]);
    CHECK_EQ(write(p[1], "hello", 5), 5);
    char buf[16] = {0};
    CHECK_EQ(read(p[0], buf, sizeof buf), 5);
    CHECK_STR(buf, "hello");
}

CASE(pipe_raw_syscall)
{
    int p[2] = {-1, -1};
    CHECK_EQ(syscall(SYS_pipe, p), 0);
    CHECK_EQ(write(p[1], "x", 1), 1);
    char c = 0;
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK(c == 'x');
    CHECK_EQ(fcntl(p[0], F_GETFD), 0);
}

CASE(pipe_efault)
{
    int before = lowest_free();
    CHECK_ERR(syscall(SYS_pipe, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_pipe, KERNEL_PTR), EFAULT);
    /* The descriptors made before the copy-out failed are gone again. */
    CHECK_EQ(lowest_free(), before);
}

CASE(pipe2_efault)
{
    int before = lowest_free();
    CHECK_ERR(syscall(SYS_pipe2, BAD_PTR, 0), EFAULT);
    CHECK_EQ(lowest_free(), before);
}

CASE(pipe2_cloexec)
{
    int p[2];
    CHECK_OK(pipe2(p, O_CLOEXEC));
    CHECK_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(p[1], F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
}

CASE(pipe2_nonblock)
{
    int p[2];
    CHECK_OK(pipe2(p, O_NONBLOCK));
    CHECK_EQ(fcntl(p[0], F_GETFD), 0);
    CHECK_EQ(fcntl(p[0], F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_NONBLOCK | O_RDONLY);
    CHECK_EQ(fcntl(p[1], F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_NONBLOCK | O_WRONLY);
    char c;
    CHECK_ERR(read(p[0], &c, 1), EAGAIN);
}

CASE(pipe2_einval_flags)
{
    int p[2] = {-1, -1};
    int before = lowest_free();
    CHECK_ERR(pipe2(p, O_APPEND), EINVAL);
    CHECK_ERR(pipe2(p, O_RDWR), EINVAL);
    CHECK_ERR(syscall(SYS_pipe2, p, 0x40000000), EINVAL);
    CHECK_EQ(lowest_free(), before);
}

CASE(pipe_fstat_is_fifo)
{
    int p[2];
    make_pipe(p);
    struct stat st;
    CHECK_OK(fstat(p[0], &st));
    CHECK(S_ISFIFO(st.st_mode));
    CHECK_OK(fstat(p[1], &st));
    CHECK(S_ISFIFO(st.st_mode));
    /* glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH): the fstat call itself too. */
    memset(&st, 0, sizeof st);
    CHECK_EQ(syscall(SYS_fstat, p[0], &st), 0);
    CHECK(S_ISFIFO(st.st_mode));
}

CASE(pipe_wrong_end_ebadf)
{
    int p[2];
    make_pipe(p);
    char c = 'x';
    CHECK_ERR(write(p[0], &c, 1), EBADF);
    CHECK_ERR(read(p[1], &c, 1), EBADF);
}

CASE(pipe_write_efault)
{
    int p[2];
    make_pipe(p);
    CHECK_ERR(syscall(SYS_write, p[1], BAD_PTR, 4), EFAULT);
    CHECK_EQ(queued(p[0]), 0);
}

CASE(pipe_read_efault_keeps_data)
{
    int p[2];
    make_pipe(p);
    CHECK_EQ(write(p[1], "abc", 3), 3);
    CHECK_ERR(syscall(SYS_read, p[0], BAD_PTR, 3), EFAULT);
    CHECK_EQ(queued(p[0]), 3);
    char buf[4] = {0};
    CHECK_EQ(read(p[0], buf, 3), 3);
    CHECK_STR(buf, "abc");
}

CASE(pipe_eof_after_writer_closes)
{
    int p[2];
    make_pipe(p);
    CHECK_EQ(write(p[1], "ab", 2), 2);
    CHECK_OK(close(p[1]));
    char buf[8];
    CHECK_EQ(read(p[0], buf, sizeof buf), 2);
    CHECK_EQ(read(p[0], buf, sizeof buf), 0);
    CHECK_EQ(read(p[0], buf, sizeof buf), 0);
}

CASE(pipe_eof_waits_for_every_writer)
{
    int p[2];
    CHECK_OK(pipe2(p, O_NONBLOCK));
    int w2 = (int)CHECK_OK(dup(p[1]));
    CHECK_OK(close(p[1]));
    char c;
    /* A writer remains: no data is "try again", not end of file. */
    CHECK_ERR(read(p[0], &c, 1), EAGAIN);
    CHECK_OK(close(w2));
    CHECK_EQ(read(p[0], &c, 1), 0);
}

CASE(pipe_fork_child_writes_parent_reads)
{
    int p[2];
    make_pipe(p);
    pid_t pid = case_fork();
    if (pid == 0) {
        close(p[0]);
        for (int i = 0; i < 10; i++)
            if (write(p[1], "0123456789", 10) != 10)
                _exit(1);
        _exit(0);
    }
    CHECK_OK(close(p[1]));
    char buf[256];
    long total = 0, n;
    while ((n = CHECK_OK(read(p[0], buf, sizeof buf))) > 0) {
        for (long i = 0; i < n; i++)
            CHECK(buf[i] == '0' + (total + i) % 10);
        total += n;
    }
    CHECK_EQ(total, 100);
    CHECK_EXIT(pid, 0);
}

CASE(pipe_blocking_read_waits_for_writer)
{
    int p[2];
    make_pipe(p);
    pid_t pid = case_fork();
    if (pid == 0) {
        usleep(20000);
        _exit(write(p[1], "late", 4) == 4 ? 0 : 1);
    }
    char buf[8] = {0};
    CHECK_EQ(read(p[0], buf, sizeof buf), 4);
    CHECK_STR(buf, "late");
    CHECK_EXIT(pid, 0);
}

CASE(pipe_large_write_blocks_until_drained)
{
    enum { TOTAL = 200000 };
    int p[2];
    make_pipe(p);
    pid_t pid = case_fork();
    if (pid == 0) {
        close(p[1]);
        static char buf[8192];
        long total = 0, n;
        while ((n = read(p[0], buf, sizeof buf)) > 0) {
            for (long i = 0; i < n; i++)
                if (buf[i] != (char)((total + i) % 251))
                    _exit(2);
            total += n;
        }
        _exit(total == TOTAL ? 0 : 1);
    }
    CHECK_OK(close(p[0]));
    static char out[TOTAL];
    for (int i = 0; i < TOTAL; i++)
        out[i] = (char)(i % 251);
    /* A blocking write returns only when all of it went in. */
    CHECK_EQ(write(p[1], out, TOTAL), TOTAL);
    CHECK_OK(close(p[1]));
    CHECK_EXIT(pid, 0);
}

CASE(pipe_sigpipe_kills_writer)
{
    int p[2];
    make_pipe(p);
    CHECK_OK(close(p[0]));
    pid_t pid = case_fork();
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        (void)write(p[1], "x", 1);
        _exit(0);
    }
    CHECK_KILLED(pid, SIGPIPE);
}

CASE(pipe_epipe_when_sigpipe_ignored)
{
    int p[2];
    make_pipe(p);
    signal(SIGPIPE, SIG_IGN);
    CHECK_OK(close(p[0]));
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    CHECK_ERR(write(p[1], "xyz", 3), EPIPE);
}

CASE(pipe_epipe_sigpipe_pending_when_blocked)
{
    int p[2];
    make_pipe(p);
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    CHECK_OK(close(p[0]));
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    CHECK_OK(sigpending(&pending));
    CHECK_EQ(sigismember(&pending, SIGPIPE), 1);
}

CASE(pipe_blocked_writer_gets_epipe_when_reader_closes)
{
    int p[2], sync[2];
    make_pipe(p);
    make_pipe(sync);
    CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), 65536);
    pid_t pid = case_fork();
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        close(p[0]);
        static char fill[65536];
        if (write(p[1], fill, sizeof fill) != (long)sizeof fill)
            _exit(1);
        if (write(sync[1], "f", 1) != 1)
            _exit(2);
        /* The pipe is full: this blocks until the reader goes, then fails. */
        errno = 0;
        long r = write(p[1], "x", 1);
        _exit(r == -1 && errno == EPIPE ? 0 : 3);
    }
    char c;
    CHECK_EQ(read(sync[0], &c, 1), 1);
    CHECK_OK(close(p[0]));
    CHECK_EXIT(pid, 0);
}

CASE(pipe_nonblock_read_empty_eagain)
{
    int p[2];
    make_pipe(p);
    CHECK_OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
    char c;
    CHECK_ERR(read(p[0], &c, 1), EAGAIN);
    CHECK_EQ(write(p[1], "z", 1), 1);
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_ERR(read(p[0], &c, 1), EAGAIN);
}

CASE(pipe_nonblock_write_full_eagain)
{
    int p[2];
    CHECK_OK(pipe2(p, O_NONBLOCK));
    static char big[100000];
    /* A write larger than PIPE_BUF goes in partly: as much as fits. */
    CHECK_EQ(write(p[1], big, sizeof big), 65536);
    CHECK_ERR(write(p[1], big, 1), EAGAIN);
    CHECK_ERR(write(p[1], big, sizeof big), EAGAIN);
    CHECK_EQ(queued(p[0]), 65536);
    char buf[4096];
    CHECK_EQ(read(p[0], buf, sizeof buf), 4096);
    CHECK_EQ(write(p[1], big, sizeof big), 4096);
}

CASE(pipe_nonblock_small_write_is_all_or_nothing)
{
    int p[2];
    CHECK_OK(pipe2(p, O_NONBLOCK));
    static char big[65536 - 100];
    CHECK_EQ(write(p[1], big, sizeof big), (long)sizeof big);
    /* 200 bytes (<= PIPE_BUF) do not fit in the 100 left: nothing is written. */
    CHECK_ERR(write(p[1], big, 200), EAGAIN);
    CHECK_EQ(queued(p[0]), 65536 - 100);
    CHECK_EQ(write(p[1], big, 100), 100);
    CHECK_EQ(queued(p[0]), 65536);
}

CASE(pipe_buf_writes_are_atomic)
{
    enum { MSGS = 24 };
    int p[2];
    make_pipe(p);
    CHECK(PIPE_BUF == 4096);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = case_fork();
        if (kids[k] == 0) {
            close(p[0]);
            static char msg[PIPE_BUF];
            memset(msg, 'a' + k, sizeof msg);
            for (int i = 0; i < MSGS; i++)
                if (write(p[1], msg, sizeof msg) != (long)sizeof msg)
                    _exit(1);
            _exit(0);
        }
    }
    CHECK_OK(close(p[1]));
    static char all[2 * MSGS * PIPE_BUF];
    long total = 0, n;
    while ((n = CHECK_OK(read(p[0], all + total, sizeof all - total))) > 0)
        total += n;
    CHECK_EQ(total, (long)sizeof all);
    int count[2] = {0, 0};
    for (long m = 0; m < 2 * MSGS; m++) {
        char *b = all + m * PIPE_BUF;
        CHECK(b[0] == 'a' || b[0] == 'b');
        for (int i = 1; i < PIPE_BUF; i++)
            CHECK(b[i] == b[0]);
        count[b[0] - 'a']++;
    }
    CHECK_EQ(count[0], MSGS);
    CHECK_EQ(count[1], MSGS);
    CHECK_EXIT(kids[0], 0);
    CHECK_EXIT(kids[1], 0);
}

CASE(pipe_getpipe_sz_default)
{
    int p[2];
    make_pipe(p);
    CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536);
    CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), 65536);
}

CASE(pipe_setpipe_sz_limits_capacity)
{
    int p[2];
    CHECK_OK(pipe2(p, O_NONBLOCK));
    CHECK_EQ(fcntl(p[1], F_SETPIPE_SZ, 8192), 8192);
    CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 8192);
    static char big[20000];
    CHECK_EQ(write(p[1], big, sizeof big), 8192);
    CHECK_ERR(write(p[1], big, 1), EAGAIN);
}

CASE(pipe_setpipe_sz_rounds_up)
{
    int p[2];
    make_pipe(p);
    CHECK_EQ(fcntl(p[0], F_SETPIPE_SZ, 5000), 8192);
    CHECK_EQ(fcntl(p[0], F_SETPIPE_SZ, 1), 4096);
    CHECK_EQ(fcntl(p[0], F_SETPIPE_SZ, 0), 4096);
    CHECK_EQ(fcntl(p[0], F_SETPIPE_SZ, 65537), 131072);
    CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), 131072);
}

CASE(pipe_setpipe_sz_einval_too_big)
{
    int p[2];
    make_pipe(p);
    CHECK_ERR(fcntl(p[0], F_SETPIPE_SZ, 0x80000001U), EINVAL);
    CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536);
}

CASE(pipe_setpipe_sz_ebusy_below_contents)
{
    int p[2];
    make_pipe(p);
    static char data[8192];
    CHECK_EQ(write(p[1], data, sizeof data), (long)sizeof data);
    CHECK_ERR(fcntl(p[0], F_SETPIPE_SZ, 4096), EBUSY);
    CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536);
    CHECK_EQ(queued(p[0]), 8192);
}

CASE(pipe_getpipe_sz_regular_file_ebadf)
{
    int fd = (int)CHECK_OK(open("f", O_RDWR | O_CREAT, 0600));
    CHECK_ERR(fcntl(fd, F_GETPIPE_SZ), EBADF);
    CHECK_ERR(fcntl(fd, F_SETPIPE_SZ, 4096), EBADF);
}

CASE(pipe_fionread_counts_bytes)
{
    int p[2];
    make_pipe(p);
    CHECK_EQ(queued(p[0]), 0);
    CHECK_EQ(write(p[1], "12345", 5), 5);
    CHECK_EQ(queued(p[0]), 5);
    char c;
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_EQ(queued(p[0]), 4);
}

CASE(pipe_fionread_efault)
{
    int p[2];
    make_pipe(p);
    CHECK_ERR(ioctl(p[0], FIONREAD, BAD_PTR), EFAULT);
}

CASE(pipe_ioctl_tcgets_enotty)
{
    int p[2];
    make_pipe(p);
    struct termios t;
    CHECK_ERR(ioctl(p[0], TCGETS, &t), ENOTTY);
}

static void on_signal(int sig)
{
    (void)sig;
}

/* SIGALRM every 10 ms from now on, with a handler without SA_RESTART: a blocking call made
 * after this fails with EINTR however late it starts. */
static void interrupt_repeatedly(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    CHECK_OK(sigaction(SIGALRM, &sa, NULL));
    struct itimerval it = {{0, 10000}, {0, 10000}};
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
}

CASE(pipe_read_eintr)
{
    int p[2];
    make_pipe(p);
    interrupt_repeatedly();
    char c;
    CHECK_ERR(read(p[0], &c, 1), EINTR);
}

CASE(mkfifo_creates_fifo)
{
    CHECK_OK(mkfifo("fifo", 0640));
    struct stat st;
    CHECK_OK(stat("fifo", &st));
    CHECK(S_ISFIFO(st.st_mode));
    CHECK_EQ(st.st_mode & 0777, 0640 & ~umask(022));
    CHECK_EQ(st.st_size, 0);
}

CASE(mkfifo_eexist)
{
    CHECK_OK(mkfifo("fifo", 0600));
    CHECK_ERR(mkfifo("fifo", 0600), EEXIST);
    write_file("file", "x");
    CHECK_ERR(mkfifo("file", 0600), EEXIST);
}

CASE(mkfifo_enoent)
{
    CHECK_ERR(mkfifo("missing/fifo", 0600), ENOENT);
}

CASE(mknod_fifo_raw)
{
    CHECK_EQ(syscall(SYS_mknod, "a", S_IFIFO | 0600, 0), 0);
    CHECK_EQ(syscall(SYS_mknodat, AT_FDCWD, "b", S_IFIFO | 0600, 0), 0);
    struct stat st;
    CHECK_OK(stat("a", &st));
    CHECK(S_ISFIFO(st.st_mode));
    CHECK_OK(stat("b", &st));
    CHECK(S_ISFIFO(st.st_mode));
    CHECK_ERR(syscall(SYS_mknod, "a", S_IFIFO | 0600, 0), EEXIST);
    CHECK_ERR(syscall(SYS_mknodat, AT_FDCWD, BAD_PTR, S_IFIFO | 0600, 0), EFAULT);
}

CASE(fifo_open_rdonly_nonblock_succeeds)
{
    CHECK_OK(mkfifo("fifo", 0600));
    int fd = (int)CHECK_OK(open("fifo", O_RDONLY | O_NONBLOCK));
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK(S_ISFIFO(st.st_mode));
    /* No writer has ever opened it: end of file, not EAGAIN. */
    char c;
    CHECK_EQ(read(fd, &c, 1), 0);
}

CASE(fifo_open_wronly_nonblock_enxio)
{
    CHECK_OK(mkfifo("fifo", 0600));
    CHECK_ERR(open("fifo", O_WRONLY | O_NONBLOCK), ENXIO);
}

CASE(fifo_nonblock_pair_transfers)
{
    CHECK_OK(mkfifo("fifo", 0600));
    int r = (int)CHECK_OK(open("fifo", O_RDONLY | O_NONBLOCK));
    int w = (int)CHECK_OK(open("fifo", O_WRONLY | O_NONBLOCK));
    char c;
    CHECK_ERR(read(r, &c, 1), EAGAIN);
    CHECK_EQ(write(w, "fifo", 4), 4);
    CHECK_EQ(queued(r), 4);
    char buf[8] = {0};
    CHECK_EQ(read(r, buf, sizeof buf), 4);
    CHECK_STR(buf, "fifo");
    CHECK_OK(close(w));
    CHECK_EQ(read(r, buf, sizeof buf), 0);
}

CASE(fifo_rdwr_open_does_not_block)
{
    CHECK_OK(mkfifo("fifo", 0600));
    int fd = (int)CHECK_OK(open("fifo", O_RDWR));
    CHECK_EQ(write(fd, "rw", 2), 2);
    char buf[4] = {0};
    CHECK_EQ(read(fd, buf, sizeof buf), 2);
    CHECK_STR(buf, "rw");
}

CASE(fifo_blocking_opens_meet)
{
    CHECK_OK(mkfifo("fifo", 0600));
    pid_t pid = case_fork();
    if (pid == 0) {
        int w = open("fifo", O_WRONLY);
        if (w < 0)
            _exit(1);
        _exit(write(w, "met", 3) == 3 ? 0 : 2);
    }
    int r = (int)CHECK_OK(open("fifo", O_RDONLY));
    char buf[8] = {0};
    long total = 0, n;
    while ((n = CHECK_OK(read(r, buf + total, sizeof buf - 1 - total))) > 0)
        total += n;
    CHECK_STR(buf, "met");
    CHECK_EXIT(pid, 0);
}

CASE(fifo_writer_sigpipe_after_reader_closes)
{
    CHECK_OK(mkfifo("fifo", 0600));
    int r = (int)CHECK_OK(open("fifo", O_RDONLY | O_NONBLOCK));
    int w = (int)CHECK_OK(open("fifo", O_WRONLY | O_NONBLOCK));
    CHECK_OK(close(r));
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(w, "x", 1), EPIPE);
}

/* A read as large as a full 1 MiB pipe takes all of it at once, in order. */
CASE(pipe_read_whole_large_buffer)
{
    int p[2];
    CHECK_OK(pipe2(p, O_NONBLOCK));
    CHECK_EQ(fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
    const size_t n = 1 << 20;
    unsigned char *w = CHECK_PTR(malloc(n)), *r = CHECK_PTR(malloc(n));
    for (size_t i = 0; i < n; i++)
        w[i] = (unsigned char)(i * 13 + i / 4096);
    CHECK_EQ(write(p[1], w, n), (long)n);
    CHECK_EQ(read(p[0], r, n), (long)n);
    CHECK_MEM(r, w, n);
    CHECK_ERR(read(p[0], r, 1), EAGAIN);
}
