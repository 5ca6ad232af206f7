/* Memory: mmap (anonymous, file-backed, shared and private, fixed), munmap, mprotect, mremap,
 * madvise, brk, msync, mincore, mlock/munlock, fork isolation, SIGSEGV and SIGBUS. */
#include "cases.h"
#include <sys/mman.h>
#include <sys/resource.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

#define PG 4096L

/* `expr` (mmap or mremap) must fail with `err`. */
#define CHECK_MAP_ERR(expr, err)                                                             \
    do {                                                                                     \
        errno = 0;                                                                           \
        void *r_ = (expr);                                                                   \
        int e_ = errno;                                                                      \
        if (r_ != MAP_FAILED || e_ != (err))                                                 \
            FAIL("%s = %p, errno %d (%s); want MAP_FAILED, errno %d (%s)", #expr, r_, e_,     \
                 strerror(e_), (int)(err), strerror(err));                                   \
    } while (0)

static char *map_anon(long len, int prot, int flags)
{
    void *p = mmap(NULL, (size_t)len, prot, flags | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        FAIL("mmap anonymous %ld bytes: errno %d (%s)", len, errno, strerror(errno));
    return p;
}

static char *map_rw(long len)
{
    return map_anon(len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
}

/* A free, page-aligned range of `len` bytes: mapped, then unmapped. */
static char *free_range(long len)
{
    char *p = map_rw(len);
    CHECK_OK(munmap(p, (size_t)len));
    return p;
}

/* `path` with `len` bytes of `c`, opened with `flags`. */
static int file_of(const char *path, long len, char c, int flags)
{
    int fd = (int)CHECK_OK(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    char buf[512];
    memset(buf, c, sizeof buf);
    for (long done = 0; done < len;) {
        long n = len - done < (long)sizeof buf ? len - done : (long)sizeof buf;
        CHECK_EQ(write(fd, buf, (size_t)n), n);
        done += n;
    }
    CHECK_OK(close(fd));
    return (int)CHECK_OK(open(path, flags));
}

/* A child that reads (or writes, if `write`) `p` must be killed by `sig`. */
static void access_killed(volatile char *p, int write, int sig)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        if (write)
            *p = 1;
        else
            (void)*p;
        _exit(0);
    }
    CHECK_KILLED(pid, sig);
}

/* A child that reads and writes `p` must exit normally. */
static void access_ok(volatile char *p)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        *p = *p;
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

static int all_bytes(const char *p, long len, char c)
{
    for (long i = 0; i < len; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

/* ---- mmap ---- */

CASE(mmap_anon_private_zero_filled)
{
    char *p = map_rw(3 * PG);
    CHECK((long)p % PG == 0);
    CHECK(all_bytes(p, 3 * PG, 0));
    memset(p, 'x', 3 * PG);
    CHECK(all_bytes(p, 3 * PG, 'x'));
    CHECK_OK(munmap(p, 3 * PG));
}

CASE(mmap_anon_shared_seen_by_parent)
{
    char *p = map_anon(PG, PROT_READ | PROT_WRITE, MAP_SHARED);
    pid_t pid = case_fork();
    if (pid == 0) {
        strcpy(p, "from child");
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
    CHECK_STR(p, "from child");
}

CASE(mmap_anon_private_fork_isolation)
{
    char *p = map_rw(PG);
    strcpy(p, "before");
    int ready[2], done[2];
    CHECK_OK(pipe(ready));
    CHECK_OK(pipe(done));
    pid_t pid = case_fork();
    if (pid == 0) {
        char c;
        if (strcmp(p, "before") != 0)
            _exit(2);
        strcpy(p, "child");
        if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) != 1)
            _exit(3);
        /* The parent wrote "parent" after the fork: not seen here. */
        _exit(strcmp(p, "child") == 0 ? 0 : 4);
    }
    char c;
    CHECK_EQ(read(ready[0], &c, 1), 1);
    CHECK_STR(p, "before");
    strcpy(p, "parent");
    CHECK_EQ(write(done[1], "d", 1), 1);
    CHECK_EXIT(pid, 0);
    CHECK_STR(p, "parent");
}

CASE(mmap_file_offset_past_largest_eoverflow)
{
    /* The mapped range must end within the largest file offset (Linux's file_mmap_ok);
     * one that ends exactly there maps, and /proc/self/maps shows it. */
    int fd = (int)CHECK_OK(open("f", O_RDWR | O_CREAT, 0600));
    CHECK_ERR(syscall(SYS_mmap, 0, 8192, PROT_READ, MAP_SHARED, fd, 0xFFFFFFFFFFFFF000UL), EOVERFLOW);
    CHECK_ERR(syscall(SYS_mmap, 0, 8192, PROT_READ, MAP_SHARED, fd, 0x7FFFFFFFFFFFF000UL), EOVERFLOW);
    long p = CHECK_OK(syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_SHARED, fd, 0x7FFFFFFFFFFFE000UL));
    char buf[8192];
    read_file("/proc/self/maps", buf, sizeof buf);
    CHECK(strstr(buf, " 7fffffffffffe000 ") != NULL);
    CHECK_OK(munmap((void *)p, 4096));
    CHECK_OK(close(fd));
}

CASE(mmap_file_shared_write_seen_by_read)
{
    int fd = file_of("f", 2 * PG, 'a', O_RDWR);
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(all_bytes(p, 2 * PG, 'a'));
    memcpy(p + PG + 10, "mapped", 6);
    char buf[8] = {0};
    CHECK_EQ(pread(fd, buf, 6, PG + 10), 6);
    CHECK_STR(buf, "mapped");
    CHECK_OK(munmap(p, 2 * PG));
    CHECK_OK(close(fd));
    /* Still there after unmapping and closing. */
    fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_EQ(pread(fd, buf, 6, PG + 10), 6);
    CHECK_STR(buf, "mapped");
    CHECK_OK(close(fd));
}

CASE(mmap_file_shared_sees_write)
{
    int fd = file_of("f", PG, 'a', O_RDWR);
    char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK_EQ(p[100], 'a');
    CHECK_EQ(pwrite(fd, "written", 7, 100), 7);
    CHECK_MEM(p + 100, "written", 7);
    CHECK_OK(close(fd));
    CHECK_OK(munmap(p, PG));
}

CASE(mmap_file_shared_child_write_seen)
{
    int fd = file_of("f", PG, 'a', O_RDWR);
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    pid_t pid = case_fork();
    if (pid == 0) {
        memcpy(p, "child", 5);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
    char buf[6] = {0};
    CHECK_EQ(pread(fd, buf, 5, 0), 5);
    CHECK_STR(buf, "child");
    CHECK_MEM(p, "child", 5);
    CHECK_OK(close(fd));
}

CASE(mmap_file_private_not_written_back)
{
    int fd = file_of("f", PG, 'a', O_RDONLY);
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    memcpy(p, "private", 7);
    CHECK_MEM(p, "private", 7);
    char buf[8] = {0};
    CHECK_EQ(pread(fd, buf, 7, 0), 7);
    CHECK_STR(buf, "aaaaaaa");
    CHECK_OK(munmap(p, PG));
    CHECK_OK(close(fd));
}

CASE(mmap_file_private_cow_after_fork)
{
    int fd = file_of("f", PG, 'a', O_RDONLY);
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 'p';
    pid_t pid = case_fork();
    if (pid == 0) {
        if (p[0] != 'p' || p[1] != 'a')
            _exit(2);
        p[0] = 'c';
        p[1] = 'c';
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
    CHECK_EQ(p[0], 'p');
    CHECK_EQ(p[1], 'a');
    char buf[2];
    CHECK_EQ(pread(fd, buf, 2, 0), 2);
    CHECK_MEM(buf, "aa", 2);
    CHECK_OK(close(fd));
}

CASE(mmap_file_offset)
{
    int fd = file_of("f", 2 * PG, 'a', O_RDWR);
    CHECK_EQ(pwrite(fd, "second", 6, PG), 6);
    char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, PG);
    CHECK(p != MAP_FAILED);
    CHECK_MEM(p, "second", 6);
    CHECK_OK(close(fd));
}

CASE(mmap_file_past_eof_sigbus)
{
    int fd = file_of("f", 100, 'a', O_RDWR);
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK_EQ(p[99], 'a');
    /* The rest of the last page reads as zeros; the page past it is SIGBUS. */
    CHECK(all_bytes(p + 100, PG - 100, 0));
    access_killed(p + PG, 0, SIGBUS);
    access_killed(p + PG + 5, 1, SIGBUS);
    /* Growing the file makes the page valid. */
    CHECK_OK(ftruncate(fd, 2 * PG));
    access_ok(p + PG);
    CHECK_OK(close(fd));
}

CASE(mmap_fixed_replaces)
{
    char *p = map_rw(3 * PG);
    memset(p, 'x', 3 * PG);
    char *q = mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == p + PG);
    CHECK(all_bytes(p, PG, 'x'));
    CHECK(all_bytes(p + PG, PG, 0));
    CHECK(all_bytes(p + 2 * PG, PG, 'x'));
}

CASE(mmap_fixed_noreplace_eexist)
{
    char *p = map_rw(2 * PG);
    p[0] = 'x';
    CHECK_MAP_ERR(mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
                  EEXIST);
    CHECK_EQ(p[0], 'x');
    p[PG] = 'y';
}

CASE(mmap_fixed_noreplace_free_range)
{
    char *p = free_range(2 * PG);
    char *q = mmap(p, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    CHECK(q == p);
    q[PG] = 1;
}

CASE(mmap_einval_zero_length)
{
    CHECK_MAP_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
}

CASE(mmap_einval_unaligned_offset)
{
    int fd = file_of("f", 2 * PG, 'a', O_RDONLY);
    CHECK_MAP_ERR(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL);
}

CASE(mmap_einval_no_map_type)
{
    CHECK_MAP_ERR(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
}

CASE(mmap_einval_fixed_unaligned)
{
    char *p = free_range(2 * PG);
    CHECK_MAP_ERR(mmap(p + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
}

CASE(mmap_eopnotsupp_shared_validate_unknown_flag)
{
    int fd = file_of("f", PG, 'a', O_RDWR);
    CHECK_MAP_ERR(mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | 0x200000, fd, 0), EOPNOTSUPP);
    char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK_EQ(p[0], 'a');
}

CASE(mmap_ebadf)
{
    CHECK_MAP_ERR(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
    CHECK_MAP_ERR(mmap(NULL, PG, PROT_READ, MAP_SHARED, 999, 0), EBADF);
}

CASE(mmap_eacces_shared_write_on_rdonly_fd)
{
    int fd = file_of("f", PG, 'a', O_RDONLY);
    CHECK_MAP_ERR(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
    /* Private writable and shared read-only are fine. */
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    char *q = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(q != MAP_FAILED);
}

CASE(mmap_eacces_wronly_fd)
{
    int fd = file_of("f", PG, 'a', O_WRONLY);
    CHECK_MAP_ERR(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0), EACCES);
}

CASE(mmap_enodev_pipe)
{
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_MAP_ERR(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, p[0], 0), ENODEV);
}

CASE(mmap_enomem_huge_length)
{
    CHECK_MAP_ERR(mmap(NULL, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
}

CASE(mmap_prot_none_sigsegv)
{
    char *p = map_anon(PG, PROT_NONE, MAP_PRIVATE);
    access_killed(p, 0, SIGSEGV);
}

CASE(mmap_readonly_write_sigsegv)
{
    char *p = map_anon(PG, PROT_READ, MAP_PRIVATE);
    CHECK_EQ(p[0], 0);
    access_killed(p, 1, SIGSEGV);
}

/* ---- munmap ---- */

CASE(munmap_then_sigsegv)
{
    char *p = map_rw(3 * PG);
    memset(p, 'x', 3 * PG);
    CHECK_OK(munmap(p + PG, PG));
    access_killed(p + PG, 0, SIGSEGV);
    CHECK_EQ(p[0], 'x');
    CHECK_EQ(p[2 * PG], 'x');
}

CASE(munmap_unmapped_range_ok)
{
    char *p = free_range(4 * PG);
    CHECK_OK(munmap(p, 4 * PG));
}

CASE(munmap_einval_unaligned)
{
    char *p = map_rw(2 * PG);
    CHECK_ERR(munmap(p + 1, PG), EINVAL);
    p[0] = 1;
}

CASE(munmap_einval_zero_length)
{
    char *p = map_rw(PG);
    CHECK_ERR(munmap(p, 0), EINVAL);
    p[0] = 1;
}

/* ---- mprotect ---- */

CASE(mprotect_none_sigsegv_then_restore)
{
    char *p = map_rw(2 * PG);
    strcpy(p, "kept");
    CHECK_OK(mprotect(p, PG, PROT_NONE));
    access_killed(p, 0, SIGSEGV);
    access_ok(p + PG);
    CHECK_OK(mprotect(p, PG, PROT_READ | PROT_WRITE));
    CHECK_STR(p, "kept");
}

CASE(mprotect_readonly_write_sigsegv)
{
    char *p = map_rw(PG);
    p[0] = 'r';
    CHECK_OK(mprotect(p, PG, PROT_READ));
    CHECK_EQ(p[0], 'r');
    access_killed(p, 1, SIGSEGV);
}

CASE(mprotect_zero_length_ok)
{
    char *p = map_rw(PG);
    CHECK_OK(mprotect(p, 0, PROT_NONE));
    p[0] = 1;
}

CASE(mprotect_einval_unaligned)
{
    char *p = map_rw(2 * PG);
    /* musl's wrapper rounds the address down: the raw call. */
    CHECK_ERR(syscall(SYS_mprotect, p + 1, PG, PROT_READ), EINVAL);
}

CASE(mprotect_einval_bad_prot)
{
    char *p = map_rw(PG);
    CHECK_ERR(mprotect(p, PG, 0x10 | PROT_READ), EINVAL);
    p[0] = 1;
}

CASE(mprotect_enomem_unmapped)
{
    char *p = free_range(2 * PG);
    CHECK_ERR(mprotect(p, PG, PROT_READ), ENOMEM);
    /* A hole after the start is ENOMEM too, and Linux has changed what came before it. */
    char *q = map_rw(2 * PG);
    CHECK_OK(munmap(q + PG, PG));
    CHECK_ERR(mprotect(q, 2 * PG, PROT_READ), ENOMEM);
    CHECK_EQ(q[0], 0);
    access_killed(q, 1, SIGSEGV);
    /* A hole at the start changes nothing. */
    char *r = map_rw(2 * PG);
    CHECK_OK(munmap(r, PG));
    CHECK_ERR(mprotect(r, 2 * PG, PROT_READ), ENOMEM);
    r[PG] = 1;
}

CASE(mprotect_eacces_write_shared_rdonly_file)
{
    int fd = file_of("f", PG, 'a', O_RDONLY);
    char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK_ERR(mprotect(p, PG, PROT_READ | PROT_WRITE), EACCES);
    CHECK_EQ(p[0], 'a');
}

/* ---- mremap ---- */

CASE(mremap_grow_maymove_keeps_contents)
{
    char *p = map_rw(2 * PG);
    strcpy(p, "moved");
    /* A mapping of its own right above blocks growth in place. */
    CHECK_OK(mprotect(p + PG, PG, PROT_READ));
    char *r = mremap(p, PG, 3 * PG, MREMAP_MAYMOVE);
    CHECK(r != MAP_FAILED);
    CHECK(r != p);
    CHECK_STR(r, "moved");
    CHECK(all_bytes(r + PG, 2 * PG, 0));
    r[3 * PG - 1] = 1;
    access_killed(p, 0, SIGSEGV);
    CHECK_EQ(p[PG], 0);
}

CASE(mremap_grow_in_place)
{
    char *p = free_range(3 * PG);
    CHECK(mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
    p[0] = 'g';
    CHECK(mremap(p, PG, 3 * PG, 0) == p);
    CHECK_EQ(p[0], 'g');
    p[2 * PG] = 'h';
}

CASE(mremap_shrink_unmaps_tail)
{
    char *p = map_rw(3 * PG);
    p[0] = 's';
    CHECK(mremap(p, 3 * PG, PG, 0) == p);
    CHECK_EQ(p[0], 's');
    CHECK_ERR(mprotect(p + PG, PG, PROT_READ), ENOMEM);
}

CASE(mremap_fixed_moves)
{
    char *p = map_rw(PG);
    char *dst = free_range(PG);
    strcpy(p, "fixed");
    CHECK(mremap(p, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst);
    CHECK_STR(dst, "fixed");
    CHECK_ERR(mprotect(p, PG, PROT_READ), ENOMEM);
}

CASE(mremap_enomem_no_maymove)
{
    char *p = map_rw(2 * PG);
    CHECK_MAP_ERR(mremap(p, PG, 2 * PG, 0), ENOMEM);
}

CASE(mremap_einval)
{
    char *p = map_rw(2 * PG);
    CHECK_MAP_ERR(mremap(p + 1, PG, 2 * PG, MREMAP_MAYMOVE), EINVAL);
    CHECK_MAP_ERR(mremap(p, PG, 2 * PG, 0x80), EINVAL);
    CHECK_MAP_ERR(mremap(p, PG, 0, MREMAP_MAYMOVE), EINVAL);
    /* FIXED without MAYMOVE. */
    CHECK_MAP_ERR(mremap(p, PG, PG, MREMAP_FIXED, p + PG), EINVAL);
}

CASE(mremap_efault_unmapped)
{
    char *p = free_range(PG);
    CHECK_MAP_ERR(mremap(p, PG, 2 * PG, MREMAP_MAYMOVE), EFAULT);
}

/* ---- madvise ---- */

CASE(madvise_dontneed_zeroes_private_anon)
{
    char *p = map_rw(2 * PG);
    memset(p, 'x', 2 * PG);
    CHECK_OK(madvise(p, PG, MADV_DONTNEED));
    CHECK(all_bytes(p, PG, 0));
    CHECK(all_bytes(p + PG, PG, 'x'));
}

CASE(madvise_dontneed_private_file_rereads)
{
    int fd = file_of("f", PG, 'a', O_RDONLY);
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 'z';
    CHECK_OK(madvise(p, PG, MADV_DONTNEED));
    CHECK_EQ(p[0], 'a');
}

CASE(madvise_dontneed_shared_keeps_data)
{
    char *p = map_anon(PG, PROT_READ | PROT_WRITE, MAP_SHARED);
    strcpy(p, "shared");
    CHECK_OK(madvise(p, PG, MADV_DONTNEED));
    CHECK_STR(p, "shared");
}

CASE(madvise_hints_ok)
{
    char *p = map_rw(PG);
    CHECK_OK(madvise(p, PG, MADV_NORMAL));
    CHECK_OK(madvise(p, PG, MADV_SEQUENTIAL));
    CHECK_OK(madvise(p, PG, MADV_WILLNEED));
    CHECK_OK(madvise(p, 0, MADV_DONTNEED));
}

CASE(madvise_einval)
{
    char *p = map_rw(2 * PG);
    CHECK_ERR(madvise(p + 1, PG, MADV_NORMAL), EINVAL);
    CHECK_ERR(madvise(p, PG, 12345), EINVAL);
}

CASE(madvise_enomem_unmapped)
{
    char *p = free_range(PG);
    CHECK_ERR(madvise(p, PG, MADV_NORMAL), ENOMEM);
}

/* ---- brk ---- */

CASE(brk_grow_and_shrink)
{
    long cur = syscall(SYS_brk, 0);
    CHECK(cur > 0);
    CHECK_EQ(syscall(SYS_brk, 0), cur);
    long top = (cur + 3 * PG) & ~(PG - 1);
    CHECK_EQ(syscall(SYS_brk, top), top);
    CHECK_EQ(syscall(SYS_brk, 0), top);
    char *b = (char *)top - PG;
    b[0] = 'h';
    CHECK_EQ(b[0], 'h');
    CHECK_EQ(syscall(SYS_brk, cur), cur);
    CHECK_EQ(syscall(SYS_brk, 0), cur);
    /* The released pages are gone, and come back zero-filled. */
    access_killed(b, 0, SIGSEGV);
    CHECK_EQ(syscall(SYS_brk, top), top);
    CHECK_EQ(b[0], 0);
    CHECK_EQ(syscall(SYS_brk, cur), cur);
}

CASE(brk_refused_keeps_break)
{
    long cur = syscall(SYS_brk, 0);
    /* Beyond the user half, and onto an existing mapping: the break stays. */
    CHECK_EQ(syscall(SYS_brk, 0x7ffffffff000L + PG * 16), cur);
    CHECK_EQ(syscall(SYS_brk, 0), cur);
    /* The libc wrapper turns the refusal into ENOMEM. */
    CHECK_ERR(brk((void *)0x7ffffffff000L), ENOMEM);
    CHECK_EQ(syscall(SYS_brk, 0), cur);
}

/* ---- msync ---- */

CASE(msync_file_shared)
{
    int fd = file_of("f", PG, 'a', O_RDWR);
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    memcpy(p, "synced", 6);
    CHECK_OK(msync(p, PG, MS_SYNC));
    CHECK_OK(msync(p, PG, MS_ASYNC | MS_INVALIDATE));
    char buf[7] = {0};
    CHECK_EQ(pread(fd, buf, 6, 0), 6);
    CHECK_STR(buf, "synced");
    CHECK_OK(msync(p, 0, MS_ASYNC));
}

CASE(msync_einval)
{
    char *p = map_rw(2 * PG);
    CHECK_ERR(msync(p + 1, PG, MS_SYNC), EINVAL);
    CHECK_ERR(msync(p, PG, MS_SYNC | MS_ASYNC), EINVAL);
    CHECK_ERR(msync(p, PG, 0x100), EINVAL);
}

CASE(msync_enomem_unmapped)
{
    char *p = free_range(2 * PG);
    CHECK_ERR(msync(p, PG, MS_SYNC), ENOMEM);
}

/* ---- mincore ---- */

CASE(mincore_touched_pages)
{
    char *p = map_rw(3 * PG);
    p[0] = 1;
    p[2 * PG] = 1;
    unsigned char vec[3] = {0xff, 0xff, 0xff};
    CHECK_OK(mincore(p, 3 * PG, vec));
    CHECK_EQ(vec[0], 1);
    CHECK_EQ(vec[1], 0);
    CHECK_EQ(vec[2], 1);
}

CASE(mincore_errors)
{
    char *p = map_rw(PG);
    unsigned char vec[2];
    CHECK_ERR(mincore(p + 1, PG, vec), EINVAL);
    CHECK_ERR(syscall(SYS_mincore, p, PG, BAD_PTR), EFAULT);
    char *q = free_range(2 * PG);
    CHECK_ERR(mincore(q, PG, vec), ENOMEM);
}

/* A large PROT_NONE reservation (4M pages, answered in many batches): every page reads 0
 * except the two made resident, one at a batch boundary and the last. */
CASE(mincore_large_reservation)
{
    const size_t len = 1UL << 34, pages = len / PG;
    char *p = map_anon((long)len, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
    CHECK_OK(mprotect(p + 4096 * PG, PG, PROT_READ | PROT_WRITE));
    CHECK_OK(mprotect(p + len - PG, PG, PROT_READ | PROT_WRITE));
    p[4096 * PG] = 1;
    p[len - PG] = 1;
    unsigned char *vec = (unsigned char *)map_rw((long)pages);
    memset(vec, 0xff, pages);
    CHECK_OK(mincore(p, len, vec));
    for (size_t i = 0; i < pages; i++)
        if (vec[i] != (i == 4096 || i == pages - 1))
            FAIL("vec[%zu] = %d", i, vec[i]);
}

/* mincore over a terabyte with a one-page vector: the first batch fits, the next one
 * faults, so the call fails with EFAULT (no giant buffer, no endless loop). */
CASE(mincore_huge_range_short_vector_efault)
{
    char *p = map_anon(1L << 40, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
    unsigned char *vec = (unsigned char *)map_rw(2 * PG);
    CHECK_OK(munmap(vec + PG, PG));
    memset(vec, 0xff, PG);
    CHECK_ERR(mincore(p, 1UL << 40, vec), EFAULT);
    for (long i = 0; i < PG; i++)
        CHECK_EQ(vec[i], 0);
    /* A vector that would run past the user range is EFAULT before any work. */
    CHECK_ERR(syscall(SYS_mincore, p, 1UL << 40, (void *)0x7ffffffe0000UL), EFAULT);
}

/* ---- mlock ---- */

CASE(mlock_munlock)
{
    char *p = map_rw(2 * PG);
    CHECK_OK(mlock(p, 2 * PG));
    unsigned char vec[2] = {0, 0};
    CHECK_OK(mincore(p, 2 * PG, vec));
    CHECK_EQ(vec[0] & 1, 1);
    CHECK_EQ(vec[1] & 1, 1);
    CHECK_OK(munlock(p, 2 * PG));
    CHECK_EQ(p[0], 0);
}

CASE(mlock_enomem_unmapped)
{
    char *p = free_range(PG);
    CHECK_ERR(mlock(p, PG), ENOMEM);
    CHECK_ERR(munlock(p, PG), ENOMEM);
}

CASE(mlock_eperm_without_limit)
{
    char *p = map_rw(PG);
    struct rlimit rl = {0, 0};
    CHECK_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
    drop_privileges();
    CHECK_ERR(mlock(p, PG), EPERM);
}

/* Without CAP_IPC_LOCK, locking past RLIMIT_MEMLOCK fails: mlock with ENOMEM, a MAP_LOCKED
 * mmap with EAGAIN (Linux's mlock_future_check); what is already locked counts. */
CASE(mlock_map_locked_over_rlimit_as_user)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        struct rlimit rl = {2 * PG, 2 * PG};
        CHECK_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
        drop_privileges();
        char *p = map_rw(4 * PG);
        CHECK_ERR(mlock(p, 4 * PG), ENOMEM);
        CHECK_OK(mlock(p, 2 * PG));
        CHECK_ERR(mlock(p + 2 * PG, PG), ENOMEM);
        /* Relocking what is locked adds nothing. */
        CHECK_OK(mlock(p, 2 * PG));
        CHECK_MAP_ERR(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0), EAGAIN);
        CHECK_OK(munlock(p, 2 * PG));
        CHECK_MAP_ERR(mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0), EAGAIN);
        char *q = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        CHECK(q != MAP_FAILED);
        CHECK_ERR(mlock(p, PG), ENOMEM);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

/* A zero RLIMIT_MEMLOCK forbids MAP_LOCKED outright without the capability (EPERM; by
 * syscall(), since musl's mmap turns an anonymous mapping's EPERM into ENOMEM). */
CASE(mmap_map_locked_eperm_without_limit)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        struct rlimit rl = {0, 0};
        CHECK_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
        drop_privileges();
        CHECK_ERR(syscall(SYS_mmap, NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0),
                  EPERM);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}
