/* Descriptors and locks: dup, dup2, dup3, fcntl (F_DUPFD, F_GETFD/F_SETFD, F_GETFL/F_SETFL),
 * close, close_range, RLIMIT_NOFILE, the FIOCLEX/FIONCLEX/FIONBIO ioctls, flock, POSIX and
 * OFD record locks, and the offset shared by one open file description. */
#include "cases.h"

#include <limits.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <termios.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* A file "f" holding `text`, opened read-write. */
static int open_file(const char *text)
{
    write_file("f", text);
    return (int)CHECK_OK(open("f", O_RDWR));
}

/* The lowest free descriptor now. */
static int lowest_free(void)
{
    int fd = (int)CHECK_OK(dup(0));
    CHECK_OK(close(fd));
    return fd;
}

static void set_nofile(rlim_t n)
{
    struct rlimit rl = {n, n};
    CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
}

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

CASE(dup_shares_offset)
{
    int a = open_file("abcdef");
    int b = (int)CHECK_OK(dup(a));
    CHECK(b != a);
    char buf[4] = {0};
    CHECK_EQ(read(a, buf, 2), 2);
    CHECK_STR(buf, "ab");
    CHECK_EQ(lseek(b, 0, SEEK_CUR), 2);
    CHECK_EQ(read(b, buf, 2), 2);
    CHECK_STR(buf, "cd");
    CHECK_EQ(lseek(a, 0, SEEK_CUR), 4);
}

CASE(dup_takes_lowest_free)
{
    int a = open_file("x");
    int low = lowest_free();
    CHECK_EQ(dup(a), low);
    int next = lowest_free();
    CHECK(next > low);
    CHECK_OK(close(low));
    CHECK_EQ(dup(a), low);
}

CASE(dup_clears_cloexec)
{
    int a = (int)CHECK_OK(open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    CHECK_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
    int b = (int)CHECK_OK(dup(a));
    CHECK_EQ(fcntl(b, F_GETFD), 0);
    CHECK_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
}

CASE(dup_ebadf)
{
    CHECK_ERR(dup(-1), EBADF);
    CHECK_ERR(dup(INT_MAX), EBADF);
    int a = open_file("x");
    CHECK_OK(close(a));
    CHECK_ERR(dup(a), EBADF);
}

CASE(dup2_onto_free_slot)
{
    int a = open_file("abc");
    CHECK_EQ(dup2(a, 40), 40);
    char buf[4] = {0};
    CHECK_EQ(read(40, buf, 3), 3);
    CHECK_STR(buf, "abc");
    CHECK_EQ(lseek(a, 0, SEEK_CUR), 3);
}

CASE(dup2_replaces_open_target)
{
    int a = open_file("first");
    write_file("g", "second");
    int b = (int)CHECK_OK(open("g", O_RDONLY));
    CHECK_EQ(dup2(a, b), b);
    char buf[8] = {0};
    CHECK_EQ(read(b, buf, sizeof buf - 1), 5);
    CHECK_STR(buf, "first");
}

CASE(dup2_same_fd_returns_it)
{
    int a = open_file("x");
    CHECK_OK(fcntl(a, F_SETFD, FD_CLOEXEC));
    CHECK_EQ(dup2(a, a), a);
    /* Nothing changed: not even the close-on-exec flag. */
    CHECK_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
}

CASE(dup2_same_closed_fd_ebadf)
{
    int a = lowest_free();
    CHECK_ERR(dup2(a, a), EBADF);
}

CASE(dup2_clears_cloexec)
{
    int a = (int)CHECK_OK(open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    CHECK_EQ(dup2(a, 30), 30);
    CHECK_EQ(fcntl(30, F_GETFD), 0);
}

CASE(dup2_ebadf)
{
    int a = open_file("x");
    CHECK_ERR(dup2(-1, 30), EBADF);
    CHECK_ERR(dup2(a, -1), EBADF);
    set_nofile(64);
    CHECK_ERR(dup2(a, 64), EBADF);
    CHECK_EQ(dup2(a, 63), 63);
}

CASE(dup3_cloexec)
{
    int a = open_file("x");
    CHECK_EQ(dup3(a, 30, O_CLOEXEC), 30);
    CHECK_EQ(fcntl(30, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(dup3(a, 31, 0), 31);
    CHECK_EQ(fcntl(31, F_GETFD), 0);
}

CASE(dup3_same_fd_einval)
{
    int a = open_file("x");
    CHECK_ERR(dup3(a, a, 0), EINVAL);
    CHECK_ERR(dup3(a, a, O_CLOEXEC), EINVAL);
}

CASE(dup3_bad_flags_einval)
{
    int a = open_file("x");
    /* musl's wrapper drops flags without O_CLOEXEC itself: ask the kernel directly. */
    CHECK_ERR(syscall(SYS_dup3, a, 30, O_NONBLOCK), EINVAL);
    CHECK_ERR(syscall(SYS_dup3, a, 30, 1), EINVAL);
    CHECK_ERR(dup3(a, 30, O_CLOEXEC | O_NONBLOCK), EINVAL);
    CHECK(!is_open(30));
}

CASE(dup3_ebadf)
{
    int a = open_file("x");
    int closed = lowest_free();
    CHECK_ERR(dup3(closed, 30, 0), EBADF);
    CHECK_ERR(dup3(a, -1, 0), EBADF);
    CHECK_ERR(dup3(a, INT_MAX, 0), EBADF);
}

CASE(fcntl_dupfd_lowest_at_or_above)
{
    int a = open_file("x");
    CHECK_EQ(fcntl(a, F_DUPFD, 20), 20);
    CHECK_EQ(fcntl(a, F_DUPFD, 20), 21);
    CHECK_EQ(fcntl(20, F_GETFD), 0);
    CHECK_OK(close(20));
    CHECK_EQ(fcntl(a, F_DUPFD, 19), 19);
    CHECK_EQ(fcntl(a, F_DUPFD, 19), 20);
    int low = lowest_free();
    CHECK_EQ(fcntl(a, F_DUPFD, 0), low);
}

CASE(fcntl_dupfd_cloexec)
{
    int a = open_file("x");
    CHECK_EQ(fcntl(a, F_DUPFD_CLOEXEC, 25), 25);
    CHECK_EQ(fcntl(25, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(a, F_GETFD), 0);
}

CASE(fcntl_dupfd_einval)
{
    int a = open_file("x");
    set_nofile(64);
    CHECK_ERR(fcntl(a, F_DUPFD, 64), EINVAL);
    CHECK_ERR(fcntl(a, F_DUPFD_CLOEXEC, 1000000), EINVAL);
    CHECK_ERR(fcntl(a, F_DUPFD, -1), EINVAL);
    CHECK_EQ(fcntl(a, F_DUPFD, 63), 63);
}

CASE(fcntl_getfd_setfd)
{
    int a = open_file("x");
    CHECK_EQ(fcntl(a, F_GETFD), 0);
    CHECK_EQ(fcntl(a, F_SETFD, FD_CLOEXEC), 0);
    CHECK_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
    int b = (int)CHECK_OK(dup(a));
    /* The flag belongs to the descriptor, not the description. */
    CHECK_EQ(fcntl(b, F_GETFD), 0);
    CHECK_EQ(fcntl(a, F_SETFD, 0), 0);
    CHECK_EQ(fcntl(a, F_GETFD), 0);
}

CASE(fcntl_getfl_access_modes)
{
    write_file("f", "x");
    int r = (int)CHECK_OK(open("f", O_RDONLY));
    int w = (int)CHECK_OK(open("f", O_WRONLY | O_APPEND));
    int rw = (int)CHECK_OK(open("f", O_RDWR | O_NONBLOCK));
    int mask = O_ACCMODE | O_APPEND | O_NONBLOCK;
    CHECK_EQ(fcntl(r, F_GETFL) & mask, O_RDONLY);
    CHECK_EQ(fcntl(w, F_GETFL) & mask, O_WRONLY | O_APPEND);
    CHECK_EQ(fcntl(rw, F_GETFL) & mask, O_RDWR | O_NONBLOCK);
}

CASE(fcntl_setfl_append_writes_at_end)
{
    int a = open_file("abc");
    CHECK_OK(fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_APPEND));
    CHECK_EQ(fcntl(a, F_GETFL) & O_APPEND, O_APPEND);
    CHECK_EQ(write(a, "d", 1), 1);
    CHECK_EQ(lseek(a, 0, SEEK_CUR), 4);
    CHECK_OK(fcntl(a, F_SETFL, fcntl(a, F_GETFL) & ~O_APPEND));
    CHECK_EQ(lseek(a, 0, SEEK_SET), 0);
    CHECK_EQ(write(a, "X", 1), 1);
    char buf[8];
    CHECK_EQ(read_file("f", buf, sizeof buf), 4);
    CHECK_STR(buf, "Xbcd");
}

CASE(fcntl_setfl_nonblock_shared_by_dup)
{
    int p[2];
    CHECK_OK(pipe(p));
    int d = (int)CHECK_OK(dup(p[0]));
    CHECK_OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
    /* The status flags belong to the description that both descriptors name. */
    CHECK_EQ(fcntl(d, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    char c;
    CHECK_ERR(read(d, &c, 1), EAGAIN);
    CHECK_OK(fcntl(d, F_SETFL, 0));
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
}

CASE(fcntl_setfl_keeps_access_mode)
{
    write_file("f", "abc");
    int r = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_EQ(fcntl(r, F_SETFL, O_RDWR), 0);
    CHECK_EQ(fcntl(r, F_GETFL) & O_ACCMODE, O_RDONLY);
    CHECK_ERR(write(r, "x", 1), EBADF);
}

CASE(fcntl_ebadf)
{
    CHECK_ERR(fcntl(-1, F_GETFD), EBADF);
    CHECK_ERR(fcntl(INT_MAX, F_GETFL), EBADF);
    int closed = lowest_free();
    CHECK_ERR(fcntl(closed, F_SETFD, FD_CLOEXEC), EBADF);
    CHECK_ERR(fcntl(closed, F_DUPFD, 0), EBADF);
}

CASE(fcntl_bad_command_einval)
{
    int a = open_file("x");
    CHECK_ERR(fcntl(a, 9999), EINVAL);
    CHECK_ERR(fcntl(-1, 9999), EBADF);
}

CASE(close_ebadf)
{
    CHECK_ERR(close(-1), EBADF);
    CHECK_ERR(close(INT_MAX), EBADF);
    int a = open_file("x");
    CHECK_EQ(close(a), 0);
    CHECK_ERR(close(a), EBADF);
}

CASE(close_frees_lowest_for_reuse)
{
    int a = open_file("x");
    int b = (int)CHECK_OK(dup(a));
    int c = (int)CHECK_OK(dup(a));
    CHECK(a < b && b < c);
    CHECK_OK(close(c));
    CHECK_OK(close(a));
    CHECK_EQ(open("f", O_RDONLY), a);
    CHECK_EQ(open("f", O_RDONLY), c);
}

CASE(close_keeps_description_for_dup)
{
    int a = open_file("abcd");
    int b = (int)CHECK_OK(dup(a));
    CHECK_EQ(lseek(a, 2, SEEK_SET), 2);
    CHECK_OK(close(a));
    char buf[4] = {0};
    CHECK_EQ(read(b, buf, 2), 2);
    CHECK_STR(buf, "cd");
}

CASE(close_range_closes_range)
{
    int a = open_file("x");
    for (int fd = 20; fd <= 25; fd++)
        CHECK_EQ(dup2(a, fd), fd);
    CHECK_EQ(syscall(SYS_close_range, 21, 24, 0), 0);
    CHECK(is_open(20));
    for (int fd = 21; fd <= 24; fd++)
        CHECK(!is_open(fd));
    CHECK(is_open(25));
    CHECK(is_open(a));
}

CASE(close_range_to_max)
{
    int a = open_file("x");
    CHECK_EQ(dup2(a, 30), 30);
    CHECK_EQ(dup2(a, 50), 50);
    CHECK_EQ(syscall(SYS_close_range, 30, ~0U, 0), 0);
    CHECK(!is_open(30));
    CHECK(!is_open(50));
    CHECK(is_open(a));
    /* A range with nothing open is fine too. */
    CHECK_EQ(syscall(SYS_close_range, 100, 200, 0), 0);
}

CASE(close_range_cloexec)
{
    int a = open_file("x");
    CHECK_EQ(dup2(a, 20), 20);
    CHECK_EQ(dup2(a, 21), 21);
    CHECK_EQ(dup2(a, 22), 22);
    CHECK_EQ(syscall(SYS_close_range, 20, 21, CLOSE_RANGE_CLOEXEC), 0);
    CHECK_EQ(fcntl(20, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(21, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(22, F_GETFD), 0);
}

CASE(close_range_unshare)
{
    int a = open_file("x");
    CHECK_EQ(dup2(a, 20), 20);
    CHECK_EQ(syscall(SYS_close_range, 20, 20, CLOSE_RANGE_UNSHARE), 0);
    CHECK(!is_open(20));
    CHECK(is_open(a));
}

CASE(close_range_einval)
{
    int a = open_file("x");
    CHECK_EQ(dup2(a, 20), 20);
    CHECK_ERR(syscall(SYS_close_range, 21, 20, 0), EINVAL);
    CHECK_ERR(syscall(SYS_close_range, 20, 20, 1), EINVAL);
    CHECK_ERR(syscall(SYS_close_range, 20, 20, 0x100), EINVAL);
    CHECK(is_open(20));
}

CASE(rlimit_nofile_emfile)
{
    set_nofile(16);
    write_file("f", "x");
    int last = -1, fd;
    while ((fd = open("f", O_RDONLY)) >= 0)
        last = fd;
    int err = errno;
    CHECK_EQ(err, EMFILE);
    CHECK_EQ(last, 15);
    int p[2];
    CHECK_ERR(dup(0), EMFILE);
    CHECK_ERR(fcntl(0, F_DUPFD, 3), EMFILE);
    CHECK_ERR(pipe(p), EMFILE);
    CHECK_OK(close(15));
    /* One free slot is not enough for a pipe, and the failure leaves it free. */
    CHECK_ERR(pipe(p), EMFILE);
    CHECK_EQ(dup(0), 15);
}

CASE(rlimit_nofile_below_open_fd)
{
    int a = open_file("x");
    CHECK_EQ(dup2(a, 40), 40);
    set_nofile(10);
    /* Descriptors already above the limit stay usable. */
    CHECK(is_open(40));
    CHECK_ERR(dup2(a, 40), EBADF);
    CHECK_ERR(fcntl(a, F_DUPFD, 10), EINVAL);
}

CASE(rlimit_nofile_einval_soft_above_hard)
{
    struct rlimit rl = {100, 50};
    CHECK_ERR(setrlimit(RLIMIT_NOFILE, &rl), EINVAL);
    CHECK_OK(getrlimit(RLIMIT_NOFILE, &rl));
    CHECK(rl.rlim_cur <= rl.rlim_max);
}

CASE(read_write_ebadf)
{
    char c = 0;
    CHECK_ERR(read(-1, &c, 1), EBADF);
    CHECK_ERR(write(-1, &c, 1), EBADF);
    CHECK_ERR(read(1 << 20, &c, 1), EBADF);
    CHECK_ERR(write(INT_MAX, &c, 1), EBADF);
    struct stat st;
    CHECK_ERR(fstat(-1, &st), EBADF);
    /* musl's fstat answers a negative descriptor itself: ask the kernel too. */
    CHECK_ERR(syscall(SYS_fstat, -1, &st), EBADF);
    CHECK_ERR(syscall(SYS_fstat, 1 << 20, &st), EBADF);
    CHECK_ERR(lseek(-1, 0, SEEK_SET), EBADF);
}

CASE(ioctl_fioclex_fionclex)
{
    int a = open_file("x");
    CHECK_EQ(ioctl(a, FIOCLEX), 0);
    CHECK_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(ioctl(a, FIONCLEX), 0);
    CHECK_EQ(fcntl(a, F_GETFD), 0);
}

CASE(ioctl_fionbio)
{
    int p[2];
    CHECK_OK(pipe(p));
    int on = 1, off = 0;
    CHECK_EQ(ioctl(p[0], FIONBIO, &on), 0);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    char c;
    CHECK_ERR(read(p[0], &c, 1), EAGAIN);
    CHECK_EQ(ioctl(p[0], FIONBIO, &off), 0);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
}

CASE(ioctl_fionbio_efault)
{
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(ioctl(p[0], FIONBIO, BAD_PTR), EFAULT);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
}

CASE(ioctl_ebadf_enotty)
{
    CHECK_ERR(ioctl(-1, FIOCLEX), EBADF);
    int closed = lowest_free();
    CHECK_ERR(ioctl(closed, FIONCLEX), EBADF);
    int a = open_file("x");
    struct termios t;
    CHECK_ERR(ioctl(a, TCGETS, &t), ENOTTY);
}

CASE(flock_shared_locks_coexist)
{
    int a = open_file("x");
    int b = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_EQ(flock(a, LOCK_SH), 0);
    CHECK_EQ(flock(b, LOCK_SH | LOCK_NB), 0);
    CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    CHECK_EQ(flock(a, LOCK_UN), 0);
    CHECK_EQ(flock(b, LOCK_EX | LOCK_NB), 0);
}

CASE(flock_exclusive_conflicts_across_descriptions)
{
    int a = open_file("x");
    int b = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_EQ(flock(a, LOCK_EX), 0);
    CHECK_ERR(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    /* The same description (a dup) converts its own lock freely. */
    int d = (int)CHECK_OK(dup(a));
    CHECK_EQ(flock(d, LOCK_SH | LOCK_NB), 0);
    CHECK_EQ(flock(b, LOCK_SH | LOCK_NB), 0);
}

CASE(flock_released_on_last_close)
{
    int a = open_file("x");
    int d = (int)CHECK_OK(dup(a));
    int b = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_EQ(flock(a, LOCK_EX), 0);
    CHECK_OK(close(a));
    CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    CHECK_OK(close(d));
    CHECK_EQ(flock(b, LOCK_EX | LOCK_NB), 0);
}

CASE(flock_blocking_waits_for_holder)
{
    int a = open_file("x");
    int sync[2];
    CHECK_OK(pipe(sync));
    CHECK_EQ(flock(a, LOCK_EX), 0);
    pid_t pid = case_fork();
    if (pid == 0) {
        int b = open("f", O_RDONLY);
        if (b < 0 || flock(b, LOCK_EX | LOCK_NB) != -1 || errno != EWOULDBLOCK)
            _exit(1);
        if (write(sync[1], "w", 1) != 1)
            _exit(2);
        _exit(flock(b, LOCK_EX) == 0 ? 0 : 3);
    }
    char c;
    CHECK_EQ(read(sync[0], &c, 1), 1);
    usleep(20000);
    CHECK_EQ(flock(a, LOCK_UN), 0);
    CHECK_EXIT(pid, 0);
}

CASE(flock_inherited_description_across_fork)
{
    int a = open_file("x");
    CHECK_EQ(flock(a, LOCK_EX), 0);
    pid_t pid = case_fork();
    if (pid == 0) {
        /* The child's descriptor names the same description: the lock is its own. */
        if (flock(a, LOCK_EX | LOCK_NB) != 0)
            _exit(1);
        int b = open("f", O_RDONLY);
        _exit(b >= 0 && flock(b, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK ? 0 : 2);
    }
    CHECK_EXIT(pid, 0);
}

CASE(flock_einval_ebadf)
{
    int a = open_file("x");
    CHECK_ERR(flock(a, 0), EINVAL);
    CHECK_ERR(flock(a, LOCK_SH | LOCK_EX), EINVAL);
    CHECK_ERR(flock(a, LOCK_NB), EINVAL);
    CHECK_ERR(flock(-1, LOCK_SH), EBADF);
    int closed = lowest_free();
    CHECK_ERR(flock(closed, LOCK_UN), EBADF);
}

/* A struct flock for [start, start+len) of `type`. */
static struct flock lock_of(short type, off_t start, off_t len)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    return fl;
}

/* Runs `fn(arg)` in a child and returns its exit code. */
static int in_child(int (*fn)(int), int arg)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(fn(arg));
    int st = wait_status(pid);
    CHECK(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Child: F_SETLK of a write lock on [0,10) must fail with EAGAIN, F_GETLK names `parent`. */
static int child_sees_write_lock(int parent)
{
    int fd = open("f", O_RDWR);
    if (fd < 0)
        return 10;
    struct flock fl = lock_of(F_WRLCK, 0, 10);
    errno = 0;
    if (fcntl(fd, F_SETLK, &fl) != -1 || errno != EAGAIN)
        return 11;
    fl = lock_of(F_RDLCK, 5, 1);
    if (fcntl(fd, F_GETLK, &fl) != 0)
        return 12;
    if (fl.l_type != F_WRLCK || fl.l_pid != parent || fl.l_start != 0 || fl.l_len != 10 ||
        fl.l_whence != SEEK_SET)
        return 13;
    /* Outside the locked range there is no conflict. */
    fl = lock_of(F_WRLCK, 10, 5);
    if (fcntl(fd, F_SETLK, &fl) != 0)
        return 14;
    return 0;
}

CASE(fcntl_setlk_conflict_between_processes)
{
    int a = open_file("0123456789abcdef");
    struct flock fl = lock_of(F_WRLCK, 0, 10);
    CHECK_EQ(fcntl(a, F_SETLK, &fl), 0);
    CHECK_EQ(in_child(child_sees_write_lock, getpid()), 0);
}

/* Child: a read lock on [0,10) must be granted; a write lock must not. */
static int child_shares_read_lock(int unused)
{
    (void)unused;
    int fd = open("f", O_RDWR);
    struct flock fl = lock_of(F_RDLCK, 0, 10);
    if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0)
        return 1;
    fl = lock_of(F_WRLCK, 0, 1);
    errno = 0;
    if (fcntl(fd, F_SETLK, &fl) != -1 || errno != EAGAIN)
        return 2;
    return 0;
}

CASE(fcntl_read_locks_are_shared)
{
    int a = open_file("0123456789");
    struct flock fl = lock_of(F_RDLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_SETLK, &fl), 0);
    CHECK_EQ(in_child(child_shares_read_lock, 0), 0);
}

CASE(fcntl_getlk_own_lock_no_conflict)
{
    int a = open_file("0123456789");
    struct flock fl = lock_of(F_WRLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_SETLK, &fl), 0);
    fl = lock_of(F_WRLCK, 3, 4);
    CHECK_EQ(fcntl(a, F_GETLK, &fl), 0);
    CHECK_EQ(fl.l_type, F_UNLCK);
    CHECK_EQ(fl.l_start, 3);
    CHECK_EQ(fl.l_len, 4);
}

/* Child: a write lock on the whole file must be free. */
static int child_locks_whole_file(int unused)
{
    (void)unused;
    int fd = open("f", O_RDWR);
    struct flock fl = lock_of(F_WRLCK, 0, 0);
    return fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 0 : 1;
}

CASE(fcntl_unlock_releases)
{
    int a = open_file("0123456789");
    struct flock fl = lock_of(F_WRLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_SETLK, &fl), 0);
    CHECK_EQ(in_child(child_locks_whole_file, 0), 1);
    fl = lock_of(F_UNLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_SETLK, &fl), 0);
    CHECK_EQ(in_child(child_locks_whole_file, 0), 0);
}

CASE(fcntl_lock_dropped_by_closing_any_fd)
{
    int a = open_file("0123456789");
    struct flock fl = lock_of(F_WRLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_SETLK, &fl), 0);
    int other = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_EQ(in_child(child_locks_whole_file, 0), 1);
    /* POSIX locks belong to the process and the file: any close drops them. */
    CHECK_OK(close(other));
    CHECK_EQ(in_child(child_locks_whole_file, 0), 0);
}

CASE(fcntl_setlkw_waits_for_release)
{
    int a = open_file("0123456789");
    int sync[2];
    CHECK_OK(pipe(sync));
    struct flock fl = lock_of(F_WRLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_SETLK, &fl), 0);
    pid_t pid = case_fork();
    if (pid == 0) {
        int fd = open("f", O_RDWR);
        struct flock w = lock_of(F_WRLCK, 2, 2);
        if (fd < 0 || write(sync[1], "w", 1) != 1)
            _exit(1);
        if (fcntl(fd, F_SETLKW, &w) != 0)
            _exit(2);
        _exit(0);
    }
    char c;
    CHECK_EQ(read(sync[0], &c, 1), 1);
    usleep(20000);
    fl = lock_of(F_UNLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_SETLK, &fl), 0);
    CHECK_EXIT(pid, 0);
}

CASE(fcntl_setlk_wrong_mode_ebadf)
{
    write_file("f", "0123456789");
    int r = (int)CHECK_OK(open("f", O_RDONLY));
    int w = (int)CHECK_OK(open("f", O_WRONLY));
    struct flock fl = lock_of(F_WRLCK, 0, 1);
    CHECK_ERR(fcntl(r, F_SETLK, &fl), EBADF);
    fl = lock_of(F_RDLCK, 0, 1);
    CHECK_ERR(fcntl(w, F_SETLKW, &fl), EBADF);
    CHECK_ERR(fcntl(-1, F_GETLK, &fl), EBADF);
}

CASE(fcntl_lock_einval)
{
    int a = open_file("0123456789");
    struct flock fl = lock_of(99, 0, 1);
    CHECK_ERR(fcntl(a, F_SETLK, &fl), EINVAL);
    CHECK_ERR(fcntl(a, F_GETLK, &fl), EINVAL);
    fl = lock_of(F_WRLCK, 0, 1);
    fl.l_whence = 7;
    CHECK_ERR(fcntl(a, F_SETLK, &fl), EINVAL);
    fl = lock_of(F_WRLCK, -5, 1);
    CHECK_ERR(fcntl(a, F_SETLK, &fl), EINVAL);
}

CASE(fcntl_lock_efault)
{
    int a = open_file("0123456789");
    CHECK_ERR(syscall(SYS_fcntl, a, F_SETLK, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_fcntl, a, F_GETLK, KERNEL_PTR), EFAULT);
}

CASE(ofd_locks_conflict_between_descriptions)
{
    int a = open_file("0123456789");
    int b = (int)CHECK_OK(open("f", O_RDWR));
    struct flock fl = lock_of(F_WRLCK, 0, 5);
    CHECK_EQ(fcntl(a, F_OFD_SETLK, &fl), 0);
    /* Unlike POSIX locks, two descriptions in one process conflict. */
    fl = lock_of(F_WRLCK, 2, 1);
    CHECK_ERR(fcntl(b, F_OFD_SETLK, &fl), EAGAIN);
    fl = lock_of(F_RDLCK, 0, 1);
    CHECK_EQ(fcntl(b, F_OFD_GETLK, &fl), 0);
    CHECK_EQ(fl.l_type, F_WRLCK);
    CHECK_EQ(fl.l_pid, -1);
    CHECK_EQ(fl.l_start, 0);
    CHECK_EQ(fl.l_len, 5);
    fl = lock_of(F_WRLCK, 5, 5);
    CHECK_EQ(fcntl(b, F_OFD_SETLK, &fl), 0);
}

CASE(ofd_lock_survives_other_close)
{
    int a = open_file("0123456789");
    struct flock fl = lock_of(F_WRLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_OFD_SETLK, &fl), 0);
    int other = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_OK(close(other));
    int b = (int)CHECK_OK(open("f", O_RDWR));
    CHECK_ERR(fcntl(b, F_OFD_SETLK, &fl), EAGAIN);
    /* The last close of the locking description drops it. */
    CHECK_OK(close(a));
    CHECK_EQ(fcntl(b, F_OFD_SETLK, &fl), 0);
}

CASE(ofd_lock_l_pid_einval)
{
    int a = open_file("0123456789");
    struct flock fl = lock_of(F_WRLCK, 0, 1);
    fl.l_pid = 1;
    CHECK_ERR(fcntl(a, F_OFD_SETLK, &fl), EINVAL);
    CHECK_ERR(fcntl(a, F_OFD_SETLKW, &fl), EINVAL);
    CHECK_ERR(fcntl(a, F_OFD_GETLK, &fl), EINVAL);
}

CASE(ofd_setlkw_waits_for_release)
{
    int a = open_file("0123456789");
    int sync[2];
    CHECK_OK(pipe(sync));
    struct flock fl = lock_of(F_WRLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_OFD_SETLK, &fl), 0);
    pid_t pid = case_fork();
    if (pid == 0) {
        int fd = open("f", O_RDWR);
        struct flock w = lock_of(F_RDLCK, 0, 0);
        if (fd < 0 || write(sync[1], "w", 1) != 1)
            _exit(1);
        _exit(fcntl(fd, F_OFD_SETLKW, &w) == 0 ? 0 : 2);
    }
    char c;
    CHECK_EQ(read(sync[0], &c, 1), 1);
    usleep(20000);
    fl = lock_of(F_UNLCK, 0, 0);
    CHECK_EQ(fcntl(a, F_OFD_SETLK, &fl), 0);
    CHECK_EXIT(pid, 0);
}

CASE(lseek_shared_after_fork)
{
    int a = open_file("0123456789");
    pid_t pid = case_fork();
    if (pid == 0) {
        char c;
        _exit(lseek(a, 4, SEEK_SET) == 4 && read(a, &c, 1) == 1 && c == '4' ? 0 : 1);
    }
    CHECK_EXIT(pid, 0);
    CHECK_EQ(lseek(a, 0, SEEK_CUR), 5);
    char c;
    CHECK_EQ(read(a, &c, 1), 1);
    CHECK(c == '5');
}

CASE(lseek_errors)
{
    int a = open_file("0123456789");
    CHECK_ERR(lseek(a, 0, 99), EINVAL);
    CHECK_ERR(lseek(a, -1, SEEK_SET), EINVAL);
    CHECK_ERR(lseek(a, -11, SEEK_END), EINVAL);
    CHECK_EQ(lseek(a, -10, SEEK_END), 0);
    CHECK_EQ(lseek(a, 5, SEEK_CUR), 5);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(lseek(p[0], 0, SEEK_CUR), ESPIPE);
}
