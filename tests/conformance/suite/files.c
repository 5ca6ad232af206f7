/* Files: open, read, write, seek, truncate, stat, access, ownership and modes, times, links,
 * symlinks, rename, unlink, sync, sendfile, and their errors. */
#include "cases.h"

#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* Runs `body` in a child as uid/gid 65534; the child must get through it (exit 0). */
#define AS_USER(...)                                                                         \
    do {                                                                                     \
        pid_t u_ = case_fork();                                                              \
        if (u_ == 0) {                                                                       \
            drop_privileges();                                                               \
            __VA_ARGS__;                                                                     \
            _exit(0);                                                                        \
        }                                                                                    \
        CHECK_EXIT(u_, 0);                                                                   \
    } while (0)

/* struct statx of the Linux ABI (musl 1.2.3 has no wrapper or type: cases use syscall()). */
struct sx_time {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t reserved;
};
struct sx {
    uint32_t mask, blksize;
    uint64_t attributes;
    uint32_t nlink, uid, gid;
    uint16_t mode, spare0;
    uint64_t ino, size, blocks, attributes_mask;
    struct sx_time atime, btime, ctime, mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t spare[14];
};
#define SX_BASIC_STATS 0x7ffU

static struct stat stat_of(const char *path)
{
    struct stat st;
    CHECK_OK(stat(path, &st));
    return st;
}

static struct stat lstat_of(const char *path)
{
    struct stat st;
    CHECK_OK(lstat(path, &st));
    return st;
}

static void check_content(const char *path, const char *want)
{
    char buf[256];
    read_file(path, buf, sizeof buf);
    CHECK_STR(buf, want);
}

/* ---- open, openat, creat ---- */

CASE(open_creat_write_read)
{
    int fd = (int)CHECK_OK(open("f", O_RDWR | O_CREAT | O_EXCL, 0600));
    CHECK_EQ(write(fd, "hello", 5), 5);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    char buf[8] = {0};
    CHECK_EQ(read(fd, buf, sizeof buf), 5);
    CHECK_STR(buf, "hello");
    CHECK_EQ(read(fd, buf, sizeof buf), 0);
    CHECK_OK(close(fd));
}

CASE(open_enoent)
{
    CHECK_ERR(open("missing", O_RDONLY), ENOENT);
    CHECK_ERR(open("", O_RDONLY), ENOENT);
}

CASE(open_efault)
{
    CHECK_ERR(syscall(SYS_openat, AT_FDCWD, BAD_PTR, O_RDONLY), EFAULT);
    CHECK_ERR(syscall(SYS_openat, AT_FDCWD, KERNEL_PTR, O_RDONLY), EFAULT);
    CHECK_ERR(syscall(SYS_open, BAD_PTR, O_RDONLY), EFAULT);
}

CASE(open_syscall_creates_and_fails)
{
    /* musl opens with SYS_open, glibc with SYS_openat: both numbers, both outcomes. */
    int fd = (int)CHECK_OK(syscall(SYS_open, "f", O_WRONLY | O_CREAT | O_EXCL, 0644));
    CHECK_OK(close(fd));
    CHECK_ERR(syscall(SYS_open, "f", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    fd = (int)CHECK_OK(syscall(SYS_openat, AT_FDCWD, "f", O_RDONLY));
    CHECK_OK(close(fd));
    CHECK_ERR(syscall(SYS_openat, AT_FDCWD, "g", O_RDONLY), ENOENT);
}

CASE(open_excl_eexist)
{
    write_file("f", "x");
    CHECK_ERR(open("f", O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
    mkdir("d", 0755);
    CHECK_ERR(open("d", O_RDONLY | O_CREAT | O_EXCL, 0600), EEXIST);
    check_content("f", "x");
}

CASE(open_excl_dangling_symlink_eexist)
{
    CHECK_OK(symlink("target", "l"));
    CHECK_ERR(open("l", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    CHECK_ERR(access("target", F_OK), ENOENT);
}

CASE(open_creat_through_dangling_symlink)
{
    CHECK_OK(symlink("target", "l"));
    int fd = (int)CHECK_OK(open("l", O_WRONLY | O_CREAT, 0644));
    CHECK_EQ(write(fd, "t", 1), 1);
    CHECK_OK(close(fd));
    check_content("target", "t");
}

CASE(open_trunc_empties)
{
    write_file("f", "hello");
    int fd = (int)CHECK_OK(open("f", O_WRONLY | O_TRUNC));
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 0);
    CHECK_OK(close(fd));
    CHECK_EQ(stat_of("f").st_size, 0);
}

CASE(open_append_writes_at_end)
{
    write_file("f", "abc");
    int fd = (int)CHECK_OK(open("f", O_WRONLY | O_APPEND));
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(write(fd, "de", 2), 2);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 5);
    CHECK_EQ(fcntl(fd, F_GETFL) & O_APPEND, O_APPEND);
    CHECK_OK(close(fd));
    check_content("f", "abcde");
}

CASE(open_directory_on_file_enotdir)
{
    write_file("f", "x");
    CHECK_ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
    CHECK_OK(mkdir("d", 0755));
    int fd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    CHECK_OK(close(fd));
}

CASE(open_trailing_slash)
{
    write_file("f", "x");
    CHECK_ERR(open("f/", O_RDONLY), ENOTDIR);
    CHECK_ERR(open("new/", O_WRONLY | O_CREAT, 0644), EISDIR);
    CHECK_ERR(access("new", F_OK), ENOENT);
}

CASE(open_nofollow_symlink_eloop)
{
    write_file("f", "x");
    CHECK_OK(symlink("f", "l"));
    CHECK_ERR(open("l", O_RDONLY | O_NOFOLLOW), ELOOP);
    int fd = (int)CHECK_OK(open("f", O_RDONLY | O_NOFOLLOW));
    CHECK_OK(close(fd));
}

CASE(open_write_dir_eisdir)
{
    CHECK_OK(mkdir("d", 0755));
    CHECK_ERR(open("d", O_WRONLY), EISDIR);
    CHECK_ERR(open("d", O_RDWR), EISDIR);
    int fd = (int)CHECK_OK(open("d", O_RDONLY));
    CHECK_OK(close(fd));
}

CASE(open_missing_dir_enoent)
{
    CHECK_ERR(open("nodir/f", O_WRONLY | O_CREAT, 0644), ENOENT);
    CHECK_ERR(access("nodir", F_OK), ENOENT);
}

CASE(open_through_file_enotdir)
{
    write_file("f", "x");
    CHECK_ERR(open("f/x", O_RDONLY), ENOTDIR);
    CHECK_ERR(open("f/x", O_WRONLY | O_CREAT, 0644), ENOTDIR);
}

CASE(open_long_component_enametoolong)
{
    char name[300];
    memset(name, 'a', 255);
    name[255] = 0;
    int fd = (int)CHECK_OK(open(name, O_WRONLY | O_CREAT, 0644));
    CHECK_OK(close(fd));
    memset(name, 'b', 256);
    name[256] = 0;
    CHECK_ERR(open(name, O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
    CHECK_ERR(open(name, O_RDONLY), ENAMETOOLONG);
}

CASE(open_long_path_enametoolong)
{
    write_file("f", "x");
    /* "./" repeated then "f": 4095 bytes is the longest path Linux takes, 4096 too long. */
    static char path[4200];
    size_t n = 0;
    while (n < 4094) {
        path[n++] = '.';
        path[n++] = '/';
    }
    path[n++] = 'f';
    path[n] = 0;
    CHECK_EQ(strlen(path), 4095);
    int fd = (int)CHECK_OK(open(path, O_RDONLY));
    CHECK_OK(close(fd));
    path[n++] = 'f';
    path[n] = 0;
    CHECK_ERR(open(path, O_RDONLY), ENAMETOOLONG);
}

CASE(open_symlink_cycle_eloop)
{
    CHECK_OK(symlink("b", "a"));
    CHECK_OK(symlink("a", "b"));
    CHECK_ERR(open("a", O_RDONLY), ELOOP);
    CHECK_ERR(open("a/x", O_RDONLY), ELOOP);
    CHECK_ERR(stat("a", &(struct stat){0}), ELOOP);
    CHECK_EQ(lstat_of("a").st_mode & S_IFMT, S_IFLNK);
}

CASE(open_eacces_as_user)
{
    write_file("f", "secret");
    CHECK_OK(chmod("f", 0600));
    write_file("r", "public");
    CHECK_OK(chmod("r", 0644));
    AS_USER({
        CHECK_ERR(open("f", O_RDONLY), EACCES);
        CHECK_ERR(open("r", O_WRONLY), EACCES);
        int fd = (int)CHECK_OK(open("r", O_RDONLY));
        CHECK_OK(close(fd));
    });
}

CASE(open_creat_mode_umask)
{
    umask(027);
    int fd = (int)CHECK_OK(open("f", O_WRONLY | O_CREAT, 0777));
    CHECK_OK(close(fd));
    CHECK_EQ(stat_of("f").st_mode, S_IFREG | 0750);
    umask(0);
    fd = (int)CHECK_OK(open("g", O_WRONLY | O_CREAT, 0666));
    CHECK_OK(close(fd));
    CHECK_EQ(stat_of("g").st_mode, S_IFREG | 0666);
    CHECK_EQ(stat_of("g").st_uid, 0);
}

CASE(open_cloexec_visible)
{
    write_file("f", "x");
    int a = (int)CHECK_OK(open("f", O_RDONLY | O_CLOEXEC));
    int b = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(b, F_GETFD), 0);
    CHECK_OK(close(a));
    CHECK_OK(close(b));
    CHECK_ERR(fcntl(a, F_GETFD), EBADF);
}

CASE(openat_relative_to_dirfd)
{
    CHECK_OK(mkdir("d", 0755));
    int dfd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    int fd = (int)CHECK_OK(openat(dfd, "x", O_WRONLY | O_CREAT | O_EXCL, 0644));
    CHECK_EQ(write(fd, "in d", 4), 4);
    CHECK_OK(close(fd));
    check_content("d/x", "in d");
    CHECK_ERR(openat(dfd, "y", O_RDONLY), ENOENT);
    /* An absolute path ignores the dirfd. */
    fd = (int)CHECK_OK(openat(-1, "/", O_RDONLY | O_DIRECTORY));
    CHECK_OK(close(fd));
    CHECK_OK(close(dfd));
}

CASE(openat_bad_dirfd)
{
    write_file("f", "x");
    CHECK_ERR(openat(999, "f", O_RDONLY), EBADF);
    CHECK_ERR(openat(-5, "f", O_RDONLY), EBADF);
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_ERR(openat(fd, "x", O_RDONLY), ENOTDIR);
    CHECK_OK(close(fd));
}

CASE(creat_truncates_write_only)
{
    write_file("f", "old content");
    int fd = (int)CHECK_OK(creat("f", 0644));
    char c;
    CHECK_ERR(read(fd, &c, 1), EBADF);
    CHECK_EQ(write(fd, "new", 3), 3);
    CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
    CHECK_OK(close(fd));
    check_content("f", "new");
    CHECK_ERR(creat("nodir/f", 0644), ENOENT);
    CHECK_OK(mkdir("d", 0755));
    CHECK_ERR(creat("d", 0644), EISDIR);
    /* musl's creat() is open(): the creat number itself, both outcomes. */
    fd = (int)CHECK_OK(syscall(SYS_creat, "g", 0600));
    CHECK_OK(close(fd));
    CHECK_EQ(stat_of("g").st_mode, S_IFREG | 0600);
    CHECK_ERR(syscall(SYS_creat, "nodir/g", 0600), ENOENT);
}

/* ---- read, write and their vectored and positioned forms ---- */

CASE(read_write_ebadf)
{
    char c = 0;
    CHECK_ERR(read(-1, &c, 1), EBADF);
    CHECK_ERR(write(-1, &c, 1), EBADF);
    CHECK_ERR(read(900, &c, 1), EBADF);
    write_file("f", "x");
    int r = (int)CHECK_OK(open("f", O_RDONLY));
    int w = (int)CHECK_OK(open("f", O_WRONLY));
    CHECK_ERR(write(r, "y", 1), EBADF);
    CHECK_ERR(read(w, &c, 1), EBADF);
    CHECK_OK(close(r));
    CHECK_OK(close(w));
    CHECK_ERR(read(r, &c, 1), EBADF);
    check_content("f", "x");
}

CASE(read_write_efault)
{
    write_file("f", "hello");
    int fd = (int)CHECK_OK(open("f", O_RDWR));
    CHECK_ERR(syscall(SYS_read, fd, BAD_PTR, 5), EFAULT);
    CHECK_ERR(syscall(SYS_read, fd, KERNEL_PTR, 5), EFAULT);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_ERR(syscall(SYS_write, fd, BAD_PTR, 5), EFAULT);
    CHECK_ERR(syscall(SYS_write, fd, KERNEL_PTR, 5), EFAULT);
    CHECK_OK(close(fd));
    check_content("f", "hello");
}

CASE(read_dir_eisdir)
{
    CHECK_OK(mkdir("d", 0755));
    int fd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    char buf[16];
    CHECK_ERR(read(fd, buf, sizeof buf), EISDIR);
    CHECK_OK(close(fd));
}

CASE(read_zero_count_and_eof)
{
    write_file("f", "ab");
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    char buf[4];
    CHECK_EQ(read(fd, buf, 0), 0);
    CHECK_EQ(read(fd, buf, 1), 1);
    CHECK_EQ(read(fd, buf, sizeof buf), 1);
    CHECK_EQ(buf[0], 'b');
    CHECK_EQ(read(fd, buf, sizeof buf), 0);
    CHECK_OK(close(fd));
}

CASE(pread_pwrite_keep_offset)
{
    int fd = (int)CHECK_OK(open("f", O_RDWR | O_CREAT, 0644));
    CHECK_EQ(write(fd, "0123456789", 10), 10);
    CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
    CHECK_EQ(pwrite(fd, "XY", 2, 8), 2);
    char buf[8] = {0};
    CHECK_EQ(pread(fd, buf, 4, 6), 4);
    CHECK_STR(buf, "67XY");
    CHECK_EQ(pread(fd, buf, 4, 10), 0);
    CHECK_EQ(pwrite(fd, "Z", 1, 12), 1);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 2);
    CHECK_EQ(pread(fd, buf, 3, 10), 3);
    CHECK_MEM(buf, "\0\0Z", 3);
    CHECK_OK(close(fd));
}

CASE(pread_pwrite_errors)
{
    write_file("f", "hello");
    int fd = (int)CHECK_OK(open("f", O_RDWR));
    char buf[4];
    CHECK_ERR(pread(fd, buf, 1, -1), EINVAL);
    CHECK_ERR(pwrite(fd, "x", 1, -1), EINVAL);
    CHECK_ERR(pread(-1, buf, 1, 0), EBADF);
    CHECK_ERR(pwrite(-1, "x", 1, 0), EBADF);
    CHECK_ERR(syscall(SYS_pread64, fd, BAD_PTR, 2, 0), EFAULT);
    CHECK_ERR(syscall(SYS_pwrite64, fd, BAD_PTR, 2, 0), EFAULT);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(pread(p[0], buf, 1, 0), ESPIPE);
    CHECK_ERR(pwrite(p[1], "x", 1, 0), ESPIPE);
    CHECK_OK(close(fd));
    check_content("f", "hello");
}

CASE(readv_writev_scatter_gather)
{
    int fd = (int)CHECK_OK(open("f", O_RDWR | O_CREAT, 0644));
    struct iovec w[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
    CHECK_EQ(writev(fd, w, 3), 6);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    char x[3] = {0}, y[8] = {0};
    struct iovec r[2] = {{x, 2}, {y, sizeof y}};
    CHECK_EQ(readv(fd, r, 2), 6);
    CHECK_STR(x, "ab");
    CHECK_STR(y, "cdef");
    CHECK_EQ(readv(fd, r, 2), 0);
    CHECK_EQ(writev(fd, w, 0), 0);
    CHECK_OK(close(fd));
}

CASE(readv_writev_errors)
{
    write_file("f", "hello");
    int fd = (int)CHECK_OK(open("f", O_RDWR));
    char b[4];
    struct iovec v = {b, sizeof b};
    /* Volatile: the counts are wrong on purpose, the compiler must not see them. */
    volatile int negative = -1, too_many = 1025;
    CHECK_ERR(readv(fd, &v, negative), EINVAL);
    CHECK_ERR(writev(fd, &v, too_many), EINVAL);
    CHECK_ERR(readv(-1, &v, 1), EBADF);
    CHECK_ERR(writev(-1, &v, 1), EBADF);
    CHECK_ERR(syscall(SYS_readv, fd, BAD_PTR, 1), EFAULT);
    CHECK_ERR(syscall(SYS_writev, fd, BAD_PTR, 1), EFAULT);
    struct iovec bad = {BAD_PTR, 4};
    CHECK_ERR(readv(fd, &bad, 1), EFAULT);
    CHECK_OK(close(fd));
}

CASE(preadv_pwritev_at_offset)
{
    write_file("f", "0123456789");
    int fd = (int)CHECK_OK(open("f", O_RDWR));
    struct iovec w[2] = {{"A", 1}, {"BC", 2}};
    CHECK_EQ(pwritev(fd, w, 2, 3), 3);
    char x[3] = {0}, y[4] = {0};
    struct iovec r[2] = {{x, 2}, {y, 3}};
    CHECK_EQ(preadv(fd, r, 2, 2), 5);
    CHECK_STR(x, "2A");
    CHECK_STR(y, "BC6");
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0);
    CHECK_EQ(preadv(fd, r, 2, 100), 0);
    CHECK_OK(close(fd));
    check_content("f", "012ABC6789");
}

/* A positioned transfer ending past INT64_MAX is EINVAL before anything happens (Linux's
 * rw_verify_area), with no SIGXFSZ: that signal is for writes RLIMIT_FSIZE refuses. */
CASE(pwrite_pread_past_max_offset_einval)
{
    write_file("f", "hello");
    int fd = (int)CHECK_OK(open("f", O_RDWR));
    CHECK_ERR(pwrite(fd, "ab", 2, INT64_MAX), EINVAL);
    CHECK_ERR(pwrite(fd, "ab", 2, INT64_MAX - 1), EINVAL);
    char b[2];
    CHECK_ERR(pread(fd, b, 2, INT64_MAX), EINVAL);
    CHECK_EQ(pread(fd, b, 1, INT64_MAX - 1), 0);
    struct iovec v = {"ab", 2};
    CHECK_ERR(pwritev(fd, &v, 1, INT64_MAX), EINVAL);
    sigset_t pending;
    CHECK_OK(sigpending(&pending));
    CHECK(!sigismember(&pending, SIGXFSZ));
    CHECK_OK(close(fd));
    check_content("f", "hello");
}

/* One iovec far larger than any kernel chunk moves whole, both ways. */
CASE(preadv_pwritev_large_iovec_whole)
{
    const size_t n = 3 << 20;
    unsigned char *w = CHECK_PTR(malloc(n)), *r = CHECK_PTR(malloc(n));
    for (size_t i = 0; i < n; i++)
        w[i] = (unsigned char)(i * 7 + i / 4096);
    int fd = (int)CHECK_OK(open("f", O_RDWR | O_CREAT | O_TRUNC, 0644));
    struct iovec wv = {w, n};
    CHECK_EQ(pwritev(fd, &wv, 1, 0), (long)n);
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, (long)n);
    memset(r, 0, n);
    struct iovec rv = {r, n};
    CHECK_EQ(preadv(fd, &rv, 1, 0), (long)n);
    CHECK_MEM(r, w, n);
    memset(r, 0, n);
    CHECK_EQ(pread(fd, r, n, 0), (long)n);
    CHECK_MEM(r, w, n);
    CHECK_EQ(pwrite(fd, w, n, (off_t)n), (long)n);
    CHECK_EQ(lseek(fd, 0, SEEK_END), (long)(2 * n));
    CHECK_OK(close(fd));
    free(w);
    free(r);
}

CASE(preadv_pwritev_errors)
{
    write_file("f", "hello");
    int fd = (int)CHECK_OK(open("f", O_RDWR));
    char b[4];
    struct iovec v = {b, sizeof b};
    CHECK_ERR(preadv(fd, &v, 1, -1), EINVAL);
    CHECK_ERR(pwritev(fd, &v, 1, -1), EINVAL);
    CHECK_ERR(preadv(-1, &v, 1, 0), EBADF);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(preadv(p[0], &v, 1, 0), ESPIPE);
    CHECK_ERR(pwritev(p[1], &v, 1, 0), ESPIPE);
    CHECK_OK(close(fd));
}

/* ---- lseek ---- */

CASE(lseek_whence)
{
    write_file("f", "0123456789");
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_EQ(lseek(fd, 4, SEEK_SET), 4);
    CHECK_EQ(lseek(fd, 2, SEEK_CUR), 6);
    CHECK_EQ(lseek(fd, -3, SEEK_CUR), 3);
    CHECK_EQ(lseek(fd, -1, SEEK_END), 9);
    char c;
    CHECK_EQ(read(fd, &c, 1), 1);
    CHECK_EQ(c, '9');
    CHECK_EQ(lseek(fd, 5, SEEK_END), 15);
    CHECK_EQ(read(fd, &c, 1), 0);
    CHECK_OK(close(fd));
}

CASE(lseek_errors)
{
    write_file("f", "0123");
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
    CHECK_ERR(lseek(fd, 0, 7), EINVAL);
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    CHECK_ERR(lseek(fd, -5, SEEK_END), EINVAL);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 2);
    CHECK_ERR(lseek(-1, 0, SEEK_SET), EBADF);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);
    CHECK_OK(close(fd));
}

CASE(lseek_past_end_write_makes_hole)
{
    int fd = (int)CHECK_OK(open("f", O_RDWR | O_CREAT, 0644));
    CHECK_EQ(write(fd, "ab", 2), 2);
    CHECK_EQ(lseek(fd, 5000, SEEK_SET), 5000);
    CHECK_EQ(stat_of("f").st_size, 2);
    CHECK_EQ(write(fd, "z", 1), 1);
    CHECK_EQ(stat_of("f").st_size, 5001);
    static char buf[5001], zeros[4998];
    CHECK_EQ(pread(fd, buf, sizeof buf, 0), 5001);
    CHECK_MEM(buf, "ab", 2);
    CHECK_MEM(buf + 2, zeros, sizeof zeros);
    CHECK_EQ(buf[5000], 'z');
    CHECK_OK(close(fd));
}

/* ---- truncate, ftruncate ---- */

CASE(ftruncate_grow_and_shrink)
{
    write_file("f", "hello");
    int fd = (int)CHECK_OK(open("f", O_RDWR));
    CHECK_OK(ftruncate(fd, 8));
    CHECK_EQ(stat_of("f").st_size, 8);
    char buf[8];
    CHECK_EQ(pread(fd, buf, 8, 0), 8);
    CHECK_MEM(buf, "hello\0\0\0", 8);
    CHECK_OK(ftruncate(fd, 2));
    CHECK_EQ(pread(fd, buf, 8, 0), 2);
    CHECK_MEM(buf, "he", 2);
    /* Shrinking and growing again leaves zeros, not the old bytes. */
    CHECK_OK(ftruncate(fd, 4));
    CHECK_EQ(pread(fd, buf, 8, 0), 4);
    CHECK_MEM(buf, "he\0\0", 4);
    CHECK_OK(close(fd));
}

CASE(ftruncate_errors)
{
    write_file("f", "hello");
    int fd = (int)CHECK_OK(open("f", O_RDWR));
    CHECK_ERR(ftruncate(fd, -1), EINVAL);
    CHECK_ERR(ftruncate(-1, 0), EBADF);
    CHECK_OK(close(fd));
    fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_ERR(ftruncate(fd, 0), EINVAL);
    CHECK_OK(close(fd));
    CHECK_OK(mkdir("d", 0755));
    fd = (int)CHECK_OK(open("d", O_RDONLY));
    CHECK_ERR(ftruncate(fd, 0), EINVAL);
    CHECK_OK(close(fd));
    CHECK_EQ(stat_of("f").st_size, 5);
}

CASE(truncate_by_path)
{
    write_file("f", "hello world");
    CHECK_OK(truncate("f", 5));
    check_content("f", "hello");
    CHECK_OK(truncate("f", 0));
    CHECK_EQ(stat_of("f").st_size, 0);
    CHECK_OK(truncate("f", 3));
    CHECK_EQ(stat_of("f").st_size, 3);
}

CASE(truncate_errors)
{
    write_file("f", "hello");
    CHECK_ERR(truncate("f", -1), EINVAL);
    CHECK_ERR(truncate("missing", 0), ENOENT);
    CHECK_OK(mkdir("d", 0755));
    CHECK_ERR(truncate("d", 0), EISDIR);
    CHECK_ERR(truncate("f/x", 0), ENOTDIR);
    CHECK_ERR(syscall(SYS_truncate, BAD_PTR, 0), EFAULT);
    AS_USER(CHECK_ERR(truncate("f", 0), EACCES));
    CHECK_EQ(stat_of("f").st_size, 5);
}

/* ---- stat, lstat, fstat, newfstatat, statx ---- */

CASE(stat_regular_file)
{
    write_file("f", "12345");
    CHECK_OK(chmod("f", 0640));
    struct stat st = stat_of("f"), fst;
    CHECK_EQ(st.st_size, 5);
    CHECK_EQ(st.st_mode, S_IFREG | 0640);
    CHECK_EQ(st.st_nlink, 1);
    CHECK_EQ(st.st_uid, 0);
    CHECK_EQ(st.st_gid, 0);
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_OK(fstat(fd, &fst));
    CHECK_EQ(fst.st_ino, st.st_ino);
    CHECK_EQ(fst.st_dev, st.st_dev);
    CHECK_EQ(fst.st_size, 5);
    CHECK_OK(close(fd));
    /* The inode number stays with the file across a rename. */
    CHECK_OK(rename("f", "g"));
    CHECK_EQ(stat_of("g").st_ino, st.st_ino);
}

CASE(stat_directory_and_pipe)
{
    CHECK_OK(mkdir("d", 0751));
    struct stat st = stat_of("d");
    CHECK_EQ(st.st_mode, S_IFDIR | 0751);
    CHECK_EQ(st.st_nlink, 2);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_OK(fstat(p[0], &st));
    CHECK_EQ(st.st_mode & S_IFMT, S_IFIFO);
}

CASE(lstat_symlink)
{
    write_file("f", "12345");
    CHECK_OK(symlink("f", "l"));
    struct stat l = lstat_of("l"), s = stat_of("l"), f = stat_of("f");
    CHECK_EQ(l.st_mode & S_IFMT, S_IFLNK);
    CHECK_EQ(l.st_size, 1);
    CHECK(l.st_ino != f.st_ino);
    CHECK_EQ(s.st_mode, f.st_mode);
    CHECK_EQ(s.st_ino, f.st_ino);
    CHECK_EQ(s.st_size, 5);
    /* A symlink as a non-last component is followed even by lstat. */
    CHECK_OK(mkdir("d", 0755));
    CHECK_OK(symlink("d", "dl"));
    write_file("d/x", "x");
    CHECK_EQ(lstat_of("dl/x").st_mode & S_IFMT, S_IFREG);
}

CASE(stat_errors)
{
    struct stat st;
    write_file("f", "x");
    CHECK_ERR(stat("missing", &st), ENOENT);
    CHECK_ERR(lstat("missing", &st), ENOENT);
    CHECK_ERR(stat("f/x", &st), ENOTDIR);
    CHECK_ERR(fstat(-1, &st), EBADF);
    CHECK_ERR(fstat(777, &st), EBADF);
    CHECK_ERR(syscall(SYS_fstat, 0, BAD_PTR), EFAULT);
    /* glibc's fstat() is newfstatat(AT_EMPTY_PATH): the fstat number itself, succeeding. */
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_OK(syscall(SYS_fstat, fd, &st));
    CHECK_EQ(st.st_size, 1);
    CHECK_OK(close(fd));
}

CASE(close_ebadf)
{
    write_file("f", "x");
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_OK(close(fd));
    CHECK_ERR(close(fd), EBADF);
    CHECK_ERR(close(-1), EBADF);
    CHECK_ERR(close(12345), EBADF);
}

CASE(stat_lstat_syscalls)
{
    /* musl stats with SYS_stat and SYS_lstat, glibc with SYS_newfstatat: every number. */
    struct stat st;
    write_file("f", "abc");
    CHECK_OK(symlink("f", "l"));
    CHECK_OK(syscall(SYS_stat, "l", &st));
    CHECK_EQ(st.st_size, 3);
    CHECK_OK(syscall(SYS_lstat, "l", &st));
    CHECK_EQ(st.st_mode & S_IFMT, S_IFLNK);
    CHECK_ERR(syscall(SYS_stat, "missing", &st), ENOENT);
    CHECK_ERR(syscall(SYS_lstat, "missing", &st), ENOENT);
    CHECK_ERR(syscall(SYS_stat, "f", BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_lstat, BAD_PTR, &st), EFAULT);
    CHECK_OK(syscall(SYS_newfstatat, AT_FDCWD, "l", &st, 0));
    CHECK_EQ(st.st_size, 3);
    CHECK_ERR(syscall(SYS_newfstatat, AT_FDCWD, "f", BAD_PTR, 0), EFAULT);
    CHECK_ERR(syscall(SYS_newfstatat, AT_FDCWD, "missing", &st, 0), ENOENT);
}

CASE(fstatat_flags)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/f", "abcd");
    CHECK_OK(symlink("f", "d/l"));
    int dfd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    struct stat st;
    CHECK_OK(fstatat(dfd, "l", &st, 0));
    CHECK_EQ(st.st_mode & S_IFMT, S_IFREG);
    CHECK_EQ(st.st_size, 4);
    CHECK_OK(fstatat(dfd, "l", &st, AT_SYMLINK_NOFOLLOW));
    CHECK_EQ(st.st_mode & S_IFMT, S_IFLNK);
    int fd = (int)CHECK_OK(openat(dfd, "f", O_RDONLY));
    CHECK_OK(fstatat(fd, "", &st, AT_EMPTY_PATH));
    CHECK_EQ(st.st_size, 4);
    CHECK_ERR(fstatat(fd, "", &st, 0), ENOENT);
    CHECK_ERR(fstatat(dfd, "f", &st, 0x4), EINVAL);
    CHECK_ERR(fstatat(fd, "x", &st, 0), ENOTDIR);
    CHECK_ERR(fstatat(dfd, "missing", &st, 0), ENOENT);
    CHECK_ERR(fstatat(-7, "f", &st, 0), EBADF);
    CHECK_OK(close(fd));
    CHECK_OK(close(dfd));
}

CASE(statx_basic)
{
    write_file("f", "123456");
    CHECK_OK(chmod("f", 0604));
    CHECK_OK(link("f", "g"));
    struct stat st = stat_of("f");
    struct sx x;
    memset(&x, 0xff, sizeof x);
    CHECK_OK(syscall(SYS_statx, AT_FDCWD, "f", 0, SX_BASIC_STATS, &x));
    CHECK_EQ(x.mask & SX_BASIC_STATS, SX_BASIC_STATS);
    CHECK_EQ(x.size, 6);
    CHECK_EQ(x.mode, S_IFREG | 0604);
    CHECK_EQ(x.nlink, 2);
    CHECK_EQ(x.uid, 0);
    CHECK_EQ(x.ino, st.st_ino);
    CHECK_EQ(x.mtime.tv_sec, st.st_mtim.tv_sec);
    CHECK_EQ(x.mtime.tv_nsec, st.st_mtim.tv_nsec);
    CHECK_EQ(x.dev_major, major(st.st_dev));
    CHECK_EQ(x.dev_minor, minor(st.st_dev));
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    memset(&x, 0, sizeof x);
    CHECK_OK(syscall(SYS_statx, fd, "", AT_EMPTY_PATH, SX_BASIC_STATS, &x));
    CHECK_EQ(x.ino, st.st_ino);
    CHECK_OK(symlink("f", "l"));
    CHECK_OK(syscall(SYS_statx, AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW, SX_BASIC_STATS, &x));
    CHECK_EQ(x.mode & S_IFMT, S_IFLNK);
    CHECK_EQ(x.size, 1);
    CHECK_OK(close(fd));
}

CASE(statx_errors)
{
    struct sx x;
    write_file("f", "x");
    CHECK_ERR(syscall(SYS_statx, AT_FDCWD, "missing", 0, SX_BASIC_STATS, &x), ENOENT);
    CHECK_ERR(syscall(SYS_statx, AT_FDCWD, "f", 0, SX_BASIC_STATS, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_statx, AT_FDCWD, BAD_PTR, 0, SX_BASIC_STATS, &x), EFAULT);
    /* AT_STATX_FORCE_SYNC and AT_STATX_DONT_SYNC together, an unknown flag, a reserved mask bit. */
    CHECK_ERR(syscall(SYS_statx, AT_FDCWD, "f", 0x6000, SX_BASIC_STATS, &x), EINVAL);
    CHECK_ERR(syscall(SYS_statx, AT_FDCWD, "f", 0x1, SX_BASIC_STATS, &x), EINVAL);
    CHECK_ERR(syscall(SYS_statx, AT_FDCWD, "f", 0, 0x80000000U, &x), EINVAL);
    CHECK_ERR(syscall(SYS_statx, 999, "f", 0, SX_BASIC_STATS, &x), EBADF);
}

/* ---- access, faccessat, faccessat2 ---- */

CASE(access_as_root)
{
    write_file("f", "x");
    CHECK_OK(chmod("f", 0));
    CHECK_OK(access("f", F_OK));
    CHECK_OK(access("f", R_OK | W_OK));
    /* Root gets execute only when some execute bit is set. */
    CHECK_ERR(access("f", X_OK), EACCES);
    CHECK_OK(chmod("f", 0010));
    CHECK_OK(access("f", X_OK));
    CHECK_ERR(access("missing", F_OK), ENOENT);
    CHECK_ERR(access("f", 8), EINVAL);
    CHECK_ERR(syscall(SYS_access, BAD_PTR, F_OK), EFAULT);
}

CASE(access_as_user)
{
    write_file("f", "x");
    CHECK_OK(chmod("f", 0644));
    CHECK_OK(mkdir("d", 0700));
    write_file("d/g", "y");
    AS_USER({
        CHECK_OK(access("f", R_OK));
        CHECK_ERR(access("f", W_OK), EACCES);
        CHECK_ERR(access("f", X_OK), EACCES);
        CHECK_ERR(access("d/g", F_OK), EACCES);
        CHECK_ERR(faccessat(AT_FDCWD, "f", W_OK, 0), EACCES);
    });
}

CASE(faccessat_dirfd_and_flags)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/f", "x");
    CHECK_OK(symlink("missing", "d/l"));
    int dfd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    CHECK_OK(faccessat(dfd, "f", R_OK, 0));
    CHECK_ERR(faccessat(dfd, "l", F_OK, 0), ENOENT);
    CHECK_OK(faccessat(dfd, "l", F_OK, AT_SYMLINK_NOFOLLOW));
    CHECK_OK(faccessat(dfd, "f", R_OK | W_OK, AT_EACCESS));
    CHECK_ERR(faccessat(dfd, "f", R_OK, 0x4), EINVAL);
    CHECK_ERR(faccessat(-9, "f", R_OK, 0), EBADF);
    CHECK_OK(close(dfd));
}

CASE(faccessat_syscalls)
{
    write_file("f", "x");
    CHECK_OK(syscall(SYS_faccessat, AT_FDCWD, "f", R_OK));
    CHECK_ERR(syscall(SYS_faccessat, AT_FDCWD, "missing", R_OK), ENOENT);
    CHECK_OK(syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, AT_EACCESS));
    CHECK_ERR(syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, 0x4), EINVAL);
    CHECK_ERR(syscall(SYS_faccessat2, AT_FDCWD, "missing", F_OK, 0), ENOENT);
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_OK(syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH));
    CHECK_OK(close(fd));
}

CASE(faccessat_eaccess_uses_effective_ids)
{
    write_file("f", "x");
    CHECK_OK(chmod("f", 0600));
    pid_t pid = case_fork();
    if (pid == 0) {
        /* Real uid 65534, effective uid 0: access() checks the real ids, AT_EACCESS the
         * effective ones. */
        CHECK_OK(setresuid(65534, 0, 0));
        CHECK_ERR(access("f", R_OK), EACCES);
        CHECK_OK(faccessat(AT_FDCWD, "f", R_OK, AT_EACCESS));
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

/* ---- chmod, fchmod, fchmodat ---- */

CASE(chmod_sets_mode)
{
    write_file("f", "x");
    CHECK_OK(chmod("f", 0640));
    CHECK_EQ(stat_of("f").st_mode, S_IFREG | 0640);
    CHECK_OK(chmod("f", 07777));
    CHECK_EQ(stat_of("f").st_mode, S_IFREG | 07777);
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_OK(fchmod(fd, 0400));
    CHECK_EQ(stat_of("f").st_mode, S_IFREG | 0400);
    CHECK_OK(close(fd));
    CHECK_OK(mkdir("d", 0755));
    int dfd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    write_file("d/g", "y");
    CHECK_OK(fchmodat(dfd, "g", 0611, 0));
    CHECK_EQ(stat_of("d/g").st_mode, S_IFREG | 0611);
    CHECK_OK(close(dfd));
    /* chmod through a symlink changes the target. */
    CHECK_OK(symlink("f", "l"));
    CHECK_OK(chmod("l", 0604));
    CHECK_EQ(stat_of("f").st_mode, S_IFREG | 0604);
}

CASE(chmod_errors)
{
    write_file("f", "x");
    CHECK_ERR(chmod("missing", 0644), ENOENT);
    CHECK_ERR(chmod("f/x", 0644), ENOTDIR);
    CHECK_ERR(fchmod(-1, 0644), EBADF);
    CHECK_ERR(fchmodat(-1, "f", 0644, 0), EBADF);
    CHECK_ERR(fchmodat(AT_FDCWD, "missing", 0644, 0), ENOENT);
    CHECK_ERR(syscall(SYS_chmod, BAD_PTR, 0644), EFAULT);
    CHECK_OK(chmod("f", 0644));
    AS_USER({
        CHECK_ERR(chmod("f", 0777), EPERM);
        int fd = (int)CHECK_OK(open("f", O_RDONLY));
        CHECK_ERR(fchmod(fd, 0777), EPERM);
        CHECK_ERR(fchmodat(AT_FDCWD, "f", 0777, 0), EPERM);
    });
    CHECK_EQ(stat_of("f").st_mode, S_IFREG | 0644);
}

CASE(chmod_setgid_cleared_for_non_member)
{
    /* An owner who is not in the file's group cannot set S_ISGID: Linux drops it silently. */
    int fd = (int)CHECK_OK(open("f", O_WRONLY | O_CREAT, 0644));
    CHECK_OK(close(fd));
    CHECK_OK(chown("f", 65534, 0));
    AS_USER({
        CHECK_OK(chmod("f", 02755));
        CHECK_EQ(stat_of("f").st_mode, S_IFREG | 0755);
    });
}

/* ---- chown, fchown, lchown, fchownat ---- */

CASE(chown_as_root)
{
    write_file("f", "x");
    CHECK_OK(chown("f", 1000, 2000));
    struct stat st = stat_of("f");
    CHECK_EQ(st.st_uid, 1000);
    CHECK_EQ(st.st_gid, 2000);
    CHECK_OK(chown("f", (uid_t)-1, 3000));
    st = stat_of("f");
    CHECK_EQ(st.st_uid, 1000);
    CHECK_EQ(st.st_gid, 3000);
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_OK(fchown(fd, 5, (gid_t)-1));
    CHECK_EQ(stat_of("f").st_uid, 5);
    CHECK_OK(close(fd));
    CHECK_OK(fchownat(AT_FDCWD, "f", 6, 7, 0));
    st = stat_of("f");
    CHECK_EQ(st.st_uid, 6);
    CHECK_EQ(st.st_gid, 7);
}

CASE(chown_clears_setuid)
{
    write_file("f", "x");
    CHECK_OK(chmod("f", 06755));
    CHECK_OK(chown("f", 1, 1));
    CHECK_EQ(stat_of("f").st_mode, S_IFREG | 0755);
}

CASE(lchown_changes_link_not_target)
{
    /* In a directory of its own: following a symlink not owned by the follower in the sticky,
     * world-writable case directory is refused where fs.protected_symlinks is set. */
    CHECK_OK(mkdir("d", 0755));
    CHECK_OK(chdir("d"));
    write_file("f", "x");
    CHECK_OK(symlink("f", "l"));
    CHECK_OK(lchown("l", 11, 12));
    CHECK_EQ(lstat_of("l").st_uid, 11);
    CHECK_EQ(lstat_of("l").st_gid, 12);
    CHECK_EQ(stat_of("f").st_uid, 0);
    CHECK_OK(fchownat(AT_FDCWD, "l", 13, 14, AT_SYMLINK_NOFOLLOW));
    CHECK_EQ(lstat_of("l").st_uid, 13);
    CHECK_EQ(stat_of("f").st_uid, 0);
    CHECK_OK(chown("l", 15, 16));
    CHECK_EQ(stat_of("f").st_uid, 15);
    CHECK_EQ(lstat_of("l").st_uid, 13);
}

CASE(chown_errors)
{
    write_file("f", "x");
    CHECK_ERR(chown("missing", 1, 1), ENOENT);
    CHECK_ERR(lchown("missing", 1, 1), ENOENT);
    CHECK_ERR(fchown(-1, 1, 1), EBADF);
    CHECK_ERR(fchownat(AT_FDCWD, "f", 1, 1, 0x4), EINVAL);
    CHECK_ERR(syscall(SYS_chown, BAD_PTR, 1, 1), EFAULT);
    AS_USER({
        CHECK_ERR(chown("f", 65534, 65534), EPERM);
        CHECK_ERR(lchown("f", 65534, 65534), EPERM);
        int fd = (int)CHECK_OK(open("f", O_RDONLY));
        CHECK_ERR(fchown(fd, 65534, (gid_t)-1), EPERM);
        CHECK_ERR(fchownat(AT_FDCWD, "f", 1, 1, 0), EPERM);
    });
    CHECK_EQ(stat_of("f").st_uid, 0);
}

CASE(chown_own_file_as_user)
{
    /* The owner may "change" to the same ids but not give the file away. */
    write_file("f", "x");
    CHECK_OK(chown("f", 65534, 65534));
    AS_USER({
        CHECK_OK(chown("f", 65534, 65534));
        CHECK_OK(chown("f", (uid_t)-1, (gid_t)-1));
        CHECK_ERR(chown("f", 0, (gid_t)-1), EPERM);
        CHECK_ERR(chown("f", (uid_t)-1, 0), EPERM);
    });
}

/* ---- utimensat, futimens ---- */

CASE(utimensat_exact_times)
{
    write_file("f", "x");
    struct timespec ts[2] = {{1000, 500}, {2000000000, 999999999}};
    CHECK_OK(utimensat(AT_FDCWD, "f", ts, 0));
    struct stat st = stat_of("f");
    CHECK_EQ(st.st_atim.tv_sec, 1000);
    CHECK_EQ(st.st_atim.tv_nsec, 500);
    CHECK_EQ(st.st_mtim.tv_sec, 2000000000);
    CHECK_EQ(st.st_mtim.tv_nsec, 999999999);
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    struct timespec t2[2] = {{5, 6}, {7, 8}};
    CHECK_OK(futimens(fd, t2));
    st = stat_of("f");
    CHECK_EQ(st.st_atim.tv_sec, 5);
    CHECK_EQ(st.st_atim.tv_nsec, 6);
    CHECK_EQ(st.st_mtim.tv_sec, 7);
    CHECK_EQ(st.st_mtim.tv_nsec, 8);
    CHECK_OK(close(fd));
}

CASE(utimensat_now_and_omit)
{
    write_file("f", "x");
    struct timespec ts[2] = {{100, 1}, {200, 2}};
    CHECK_OK(utimensat(AT_FDCWD, "f", ts, 0));
    struct timespec before, after;
    CHECK_OK(clock_gettime(CLOCK_REALTIME, &before));
    struct timespec t2[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    CHECK_OK(utimensat(AT_FDCWD, "f", t2, 0));
    CHECK_OK(clock_gettime(CLOCK_REALTIME, &after));
    struct stat st = stat_of("f");
    CHECK_EQ(st.st_atim.tv_sec, 100);
    CHECK_EQ(st.st_atim.tv_nsec, 1);
    CHECK(st.st_mtim.tv_sec >= before.tv_sec - 1 && st.st_mtim.tv_sec <= after.tv_sec + 1);
    struct timespec t3[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    CHECK_OK(utimensat(AT_FDCWD, "f", t3, 0));
    struct stat s2 = stat_of("f");
    CHECK(s2.st_atim.tv_sec >= before.tv_sec - 1);
    CHECK_EQ(s2.st_mtim.tv_sec, st.st_mtim.tv_sec);
    CHECK_EQ(s2.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
    CHECK_OK(utimensat(AT_FDCWD, "f", ts, 0));
    CHECK_OK(utimensat(AT_FDCWD, "f", NULL, 0));
    s2 = stat_of("f");
    CHECK(s2.st_atim.tv_sec >= before.tv_sec - 1);
    CHECK(s2.st_mtim.tv_sec >= before.tv_sec - 1);
}

CASE(utimensat_symlink_nofollow)
{
    write_file("f", "x");
    CHECK_OK(symlink("f", "l"));
    struct timespec ts[2] = {{10, 0}, {20, 0}};
    CHECK_OK(utimensat(AT_FDCWD, "f", ts, 0));
    struct timespec t2[2] = {{30, 0}, {40, 0}};
    CHECK_OK(utimensat(AT_FDCWD, "l", t2, AT_SYMLINK_NOFOLLOW));
    CHECK_EQ(lstat_of("l").st_mtim.tv_sec, 40);
    CHECK_EQ(stat_of("f").st_mtim.tv_sec, 20);
}

CASE(utimensat_errors)
{
    write_file("f", "x");
    struct timespec ts[2] = {{1, 0}, {2, 0}};
    CHECK_ERR(utimensat(AT_FDCWD, "missing", ts, 0), ENOENT);
    struct timespec bad[2] = {{1, 1000000000}, {2, 0}};
    CHECK_ERR(utimensat(AT_FDCWD, "f", bad, 0), EINVAL);
    CHECK_ERR(utimensat(AT_FDCWD, "f", ts, 0x4), EINVAL);
    CHECK_ERR(syscall(SYS_utimensat, AT_FDCWD, "f", BAD_PTR, 0), EFAULT);
    CHECK_ERR(futimens(-1, ts), EBADF);
    CHECK_OK(chmod("f", 0644));
    AS_USER({
        CHECK_ERR(utimensat(AT_FDCWD, "f", ts, 0), EPERM);
        CHECK_ERR(utimensat(AT_FDCWD, "f", NULL, 0), EACCES);
    });
    /* With write permission a non-owner may set "now" but still not explicit times. */
    CHECK_OK(chmod("f", 0666));
    AS_USER({
        CHECK_OK(utimensat(AT_FDCWD, "f", NULL, 0));
        CHECK_ERR(utimensat(AT_FDCWD, "f", ts, 0), EPERM);
    });
}

/* ---- link, linkat ---- */

CASE(link_shares_inode)
{
    write_file("f", "shared");
    CHECK_OK(link("f", "g"));
    struct stat a = stat_of("f"), b = stat_of("g");
    CHECK_EQ(a.st_ino, b.st_ino);
    CHECK_EQ(a.st_nlink, 2);
    write_file("g", "changed");
    check_content("f", "changed");
    CHECK_OK(unlink("f"));
    CHECK_EQ(stat_of("g").st_nlink, 1);
    check_content("g", "changed");
}

CASE(link_errors)
{
    write_file("f", "x");
    write_file("g", "y");
    CHECK_ERR(link("f", "g"), EEXIST);
    CHECK_ERR(link("missing", "h"), ENOENT);
    CHECK_ERR(link("f", "nodir/h"), ENOENT);
    CHECK_OK(mkdir("d", 0755));
    CHECK_ERR(link("d", "d2"), EPERM);
    CHECK_ERR(syscall(SYS_link, BAD_PTR, "h"), EFAULT);
    CHECK_EQ(stat_of("f").st_nlink, 1);
    check_content("g", "y");
}

CASE(linkat_dirfds_and_follow)
{
    CHECK_OK(mkdir("a", 0755));
    CHECK_OK(mkdir("b", 0755));
    write_file("a/f", "x");
    CHECK_OK(symlink("f", "a/l"));
    int da = (int)CHECK_OK(open("a", O_RDONLY | O_DIRECTORY));
    int db = (int)CHECK_OK(open("b", O_RDONLY | O_DIRECTORY));
    CHECK_OK(linkat(da, "f", db, "g", 0));
    CHECK_EQ(stat_of("b/g").st_ino, stat_of("a/f").st_ino);
    /* Without AT_SYMLINK_FOLLOW the new name is another link to the symlink itself. */
    CHECK_OK(linkat(da, "l", db, "sl", 0));
    CHECK_EQ(lstat_of("b/sl").st_mode & S_IFMT, S_IFLNK);
    CHECK_OK(linkat(da, "l", db, "fl", AT_SYMLINK_FOLLOW));
    CHECK_EQ(lstat_of("b/fl").st_ino, stat_of("a/f").st_ino);
    CHECK_EQ(stat_of("a/f").st_nlink, 3);
    CHECK_ERR(linkat(da, "f", db, "g", 0), EEXIST);
    CHECK_ERR(linkat(da, "f", db, "h", 0x1), EINVAL);
    CHECK_ERR(linkat(-4, "f", db, "h", 0), EBADF);
    CHECK_OK(close(da));
    CHECK_OK(close(db));
}

/* ---- symlink, symlinkat, readlink, readlinkat ---- */

CASE(symlink_readlink)
{
    CHECK_OK(symlink("some/where/else", "l"));
    char buf[64];
    memset(buf, '#', sizeof buf);
    CHECK_EQ(readlink("l", buf, sizeof buf), 15);
    CHECK_MEM(buf, "some/where/else#", 16);
    /* A short buffer gets the first bytes, no terminator, and the count it got. */
    memset(buf, '#', sizeof buf);
    CHECK_EQ(readlink("l", buf, 4), 4);
    CHECK_MEM(buf, "some#", 5);
    CHECK_ERR(access("l", F_OK), ENOENT);
}

CASE(symlink_readlink_errors)
{
    write_file("f", "x");
    CHECK_OK(symlink("f", "l"));
    char buf[16];
    CHECK_ERR(readlink("f", buf, sizeof buf), EINVAL);
    CHECK_ERR(readlink("missing", buf, sizeof buf), ENOENT);
    CHECK_ERR(syscall(SYS_readlinkat, AT_FDCWD, "l", buf, 0), EINVAL);
    CHECK_ERR(syscall(SYS_readlinkat, AT_FDCWD, "l", BAD_PTR, 16), EFAULT);
    CHECK_ERR(symlink("x", "f"), EEXIST);
    CHECK_ERR(symlink("x", "l"), EEXIST);
    CHECK_ERR(symlink("", "e"), ENOENT);
    CHECK_ERR(symlink("x", "nodir/e"), ENOENT);
    CHECK_ERR(syscall(SYS_symlink, BAD_PTR, "e"), EFAULT);
}

CASE(symlinkat_readlinkat_dirfd)
{
    CHECK_OK(mkdir("d", 0755));
    int dfd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    CHECK_OK(symlinkat("../target", dfd, "l"));
    char buf[32] = {0};
    CHECK_EQ(readlinkat(dfd, "l", buf, sizeof buf), 9);
    CHECK_STR(buf, "../target");
    CHECK_EQ(lstat_of("d/l").st_mode & S_IFMT, S_IFLNK);
    CHECK_ERR(symlinkat("x", dfd, "l"), EEXIST);
    CHECK_ERR(symlinkat("x", -3, "m"), EBADF);
    CHECK_ERR(readlinkat(-3, "l", buf, sizeof buf), EBADF);
    CHECK_ERR(readlinkat(dfd, "missing", buf, sizeof buf), ENOENT);
    write_file("target", "t");
    check_content("d/l", "t");
    CHECK_OK(close(dfd));
}

CASE(readlink_syscalls)
{
    /* musl reads links with SYS_readlink, glibc with SYS_readlinkat: both numbers. */
    CHECK_OK(symlink("abc", "l"));
    char buf[8] = {0};
    CHECK_EQ(syscall(SYS_readlink, "l", buf, sizeof buf), 3);
    CHECK_STR(buf, "abc");
    CHECK_ERR(syscall(SYS_readlink, "missing", buf, sizeof buf), ENOENT);
    CHECK_ERR(syscall(SYS_readlink, "l", BAD_PTR, sizeof buf), EFAULT);
    memset(buf, 0, sizeof buf);
    CHECK_EQ(syscall(SYS_readlinkat, AT_FDCWD, "l", buf, sizeof buf), 3);
    CHECK_STR(buf, "abc");
    CHECK_ERR(syscall(SYS_readlinkat, AT_FDCWD, "missing", buf, sizeof buf), ENOENT);
}

CASE(readlink_proc_self_exe)
{
    char buf[4096] = {0};
    long n = CHECK_OK(readlink("/proc/self/exe", buf, sizeof buf - 1));
    CHECK_EQ(n, (long)strlen(self_exe));
    CHECK_STR(buf, self_exe);
}

/* ---- rename, renameat, renameat2 ---- */

CASE(rename_replaces_file)
{
    write_file("a", "from a");
    write_file("b", "from b");
    ino_t ino = stat_of("a").st_ino;
    int fd = (int)CHECK_OK(open("b", O_RDONLY));
    CHECK_OK(rename("a", "b"));
    CHECK_ERR(access("a", F_OK), ENOENT);
    check_content("b", "from a");
    CHECK_EQ(stat_of("b").st_ino, ino);
    /* The replaced file lives on while open. */
    char buf[8] = {0};
    CHECK_EQ(read(fd, buf, sizeof buf), 6);
    CHECK_STR(buf, "from b");
    CHECK_OK(close(fd));
}

CASE(rename_into_other_dir)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("f", "moved");
    CHECK_OK(rename("f", "d/g"));
    CHECK_ERR(access("f", F_OK), ENOENT);
    check_content("d/g", "moved");
    int dfd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    CHECK_OK(renameat(dfd, "g", AT_FDCWD, "h"));
    check_content("h", "moved");
    CHECK_ERR(renameat(dfd, "g", AT_FDCWD, "h"), ENOENT);
    CHECK_ERR(renameat(-2, "g", AT_FDCWD, "h"), EBADF);
    CHECK_OK(close(dfd));
}

CASE(rename_same_inode_noop)
{
    write_file("f", "x");
    CHECK_OK(link("f", "g"));
    CHECK_OK(rename("f", "g"));
    CHECK_OK(access("f", F_OK));
    CHECK_OK(access("g", F_OK));
    CHECK_EQ(stat_of("f").st_nlink, 2);
    CHECK_OK(rename("f", "f"));
    CHECK_OK(access("f", F_OK));
}

CASE(rename_type_mismatch)
{
    write_file("f", "x");
    CHECK_OK(mkdir("d", 0755));
    CHECK_OK(mkdir("e", 0755));
    write_file("e/x", "x");
    CHECK_OK(mkdir("empty", 0755));
    CHECK_ERR(rename("f", "d"), EISDIR);
    CHECK_ERR(rename("d", "f"), ENOTDIR);
    CHECK_ERR(rename("d", "e"), ENOTEMPTY);
    CHECK_ERR(rename("d", "d/sub"), EINVAL);
    CHECK_ERR(rename("missing", "x"), ENOENT);
    CHECK_ERR(rename("f", "f/x"), ENOTDIR);
    CHECK_ERR(rename(".", "x"), EBUSY);
    /* A directory may replace an empty one. */
    CHECK_OK(rename("d", "empty"));
    CHECK_ERR(access("d", F_OK), ENOENT);
    CHECK_EQ(stat_of("empty").st_mode & S_IFMT, S_IFDIR);
    CHECK_ERR(syscall(SYS_rename, BAD_PTR, "x"), EFAULT);
}

CASE(renameat2_noreplace)
{
    write_file("a", "A");
    write_file("b", "B");
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST);
    check_content("a", "A");
    check_content("b", "B");
    CHECK_OK(syscall(SYS_renameat2, AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
    CHECK_ERR(access("a", F_OK), ENOENT);
    check_content("c", "A");
    CHECK_OK(syscall(SYS_renameat2, AT_FDCWD, "c", AT_FDCWD, "b", 0));
    check_content("b", "A");
}

CASE(renameat2_exchange)
{
    write_file("a", "A");
    CHECK_OK(mkdir("d", 0755));
    write_file("d/x", "inside");
    CHECK_OK(syscall(SYS_renameat2, AT_FDCWD, "a", AT_FDCWD, "d", RENAME_EXCHANGE));
    check_content("d", "A");
    check_content("a/x", "inside");
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, "a", AT_FDCWD, "missing", RENAME_EXCHANGE),
              ENOENT);
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, "a", AT_FDCWD, "d",
                      RENAME_EXCHANGE | RENAME_NOREPLACE),
              EINVAL);
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, "a", AT_FDCWD, "d", 1 << 5), EINVAL);
    check_content("d", "A");
}

/* ---- unlink, unlinkat ---- */

CASE(unlink_removes_name)
{
    write_file("f", "still here");
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_OK(unlink("f"));
    CHECK_ERR(access("f", F_OK), ENOENT);
    CHECK_ERR(unlink("f"), ENOENT);
    char buf[16] = {0};
    CHECK_EQ(read(fd, buf, sizeof buf), 10);
    CHECK_STR(buf, "still here");
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_nlink, 0);
    CHECK_OK(close(fd));
    /* Unlinking a symlink removes the link, not its target. */
    write_file("t", "t");
    CHECK_OK(symlink("t", "l"));
    CHECK_OK(unlink("l"));
    check_content("t", "t");
}

CASE(unlink_errors)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("f", "x");
    CHECK_ERR(unlink("d"), EISDIR);
    CHECK_ERR(unlink("f/x"), ENOTDIR);
    CHECK_ERR(unlink("missing"), ENOENT);
    CHECK_ERR(syscall(SYS_unlink, BAD_PTR), EFAULT);
    CHECK_EQ(stat_of("d").st_mode & S_IFMT, S_IFDIR);
}

CASE(unlinkat_flags)
{
    CHECK_OK(mkdir("d", 0755));
    CHECK_OK(mkdir("d/e", 0755));
    write_file("d/f", "x");
    int dfd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(unlinkat(dfd, "e", 0), EISDIR);
    CHECK_ERR(unlinkat(dfd, "f", AT_REMOVEDIR), ENOTDIR);
    CHECK_ERR(unlinkat(dfd, "f", 0x1), EINVAL);
    CHECK_OK(unlinkat(dfd, "e", AT_REMOVEDIR));
    CHECK_OK(unlinkat(dfd, "f", 0));
    CHECK_ERR(access("d/e", F_OK), ENOENT);
    CHECK_ERR(access("d/f", F_OK), ENOENT);
    CHECK_ERR(unlinkat(-6, "f", 0), EBADF);
    CHECK_OK(close(dfd));
    CHECK_ERR(unlinkat(AT_FDCWD, "d/f", 0), ENOENT);
}

/* ---- fsync, fdatasync ---- */

CASE(fsync_fdatasync)
{
    int fd = (int)CHECK_OK(open("f", O_WRONLY | O_CREAT, 0644));
    CHECK_EQ(write(fd, "data", 4), 4);
    CHECK_OK(fsync(fd));
    CHECK_OK(fdatasync(fd));
    CHECK_OK(close(fd));
    CHECK_ERR(fsync(fd), EBADF);
    CHECK_ERR(fdatasync(fd), EBADF);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(fsync(p[0]), EINVAL);
    CHECK_ERR(fdatasync(p[1]), EINVAL);
    check_content("f", "data");
}

/* ---- sendfile ---- */

CASE(sendfile_file_to_file)
{
    write_file("src", "0123456789");
    int in = (int)CHECK_OK(open("src", O_RDONLY));
    int out = (int)CHECK_OK(open("dst", O_WRONLY | O_CREAT, 0644));
    off_t off = 3;
    CHECK_EQ(sendfile(out, in, &off, 4), 4);
    CHECK_EQ(off, 7);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 0);
    /* Without an offset it reads from, and advances, the file offset. */
    CHECK_EQ(sendfile(out, in, NULL, 2), 2);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 2);
    off = 10;
    CHECK_EQ(sendfile(out, in, &off, 5), 0);
    CHECK_OK(close(in));
    CHECK_OK(close(out));
    check_content("dst", "345601");
}

CASE(sendfile_to_pipe)
{
    write_file("src", "piped");
    int in = (int)CHECK_OK(open("src", O_RDONLY));
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_EQ(sendfile(p[1], in, NULL, 100), 5);
    char buf[8] = {0};
    CHECK_EQ(read(p[0], buf, sizeof buf), 5);
    CHECK_STR(buf, "piped");
    CHECK_OK(close(in));
}

CASE(sendfile_errors)
{
    write_file("src", "abc");
    int in = (int)CHECK_OK(open("src", O_RDONLY));
    int wo = (int)CHECK_OK(open("src", O_WRONLY));
    int out = (int)CHECK_OK(open("dst", O_WRONLY | O_CREAT, 0644));
    CHECK_ERR(sendfile(out, -1, NULL, 1), EBADF);
    CHECK_ERR(sendfile(-1, in, NULL, 1), EBADF);
    CHECK_ERR(sendfile(out, wo, NULL, 1), EBADF);
    CHECK_ERR(sendfile(in, in, NULL, 1), EBADF);
    off_t neg = -1;
    CHECK_ERR(sendfile(out, in, &neg, 1), EINVAL);
    CHECK_ERR(syscall(SYS_sendfile, out, in, BAD_PTR, 1), EFAULT);
    CHECK_EQ(stat_of("dst").st_size, 0);
}
