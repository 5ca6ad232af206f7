/* Directories: mkdir, rmdir, getdents64 and the libc directory stream, chdir/fchdir/getcwd,
 * mknod, renaming directories, link counts, statfs, mount/umount2 of a tmpfs, and the sticky
 * bit, with their errors. */
#include "cases.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>

#define TMPFS_MAGIC_NR 0x01021994

/* Runs `body` in a child as `uid` (gid the same, no supplementary groups). */
#define AS_UID(uid, ...)                                                                     \
    do {                                                                                     \
        pid_t u_ = case_fork();                                                              \
        if (u_ == 0) {                                                                       \
            become(uid);                                                                     \
            __VA_ARGS__;                                                                     \
            _exit(0);                                                                        \
        }                                                                                    \
        CHECK_EXIT(u_, 0);                                                                   \
    } while (0)

#define AS_USER(...) AS_UID(65534, __VA_ARGS__)

static void become(uid_t uid)
{
    CHECK_OK(setgroups(0, NULL));
    CHECK_OK(setresgid(uid, uid, uid));
    CHECK_OK(setresuid(uid, uid, uid));
}

struct dirent64_hdr {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static struct stat stat_of(const char *path)
{
    struct stat st;
    CHECK_OK(stat(path, &st));
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Joins `n` names sorted, comma-separated, into `out`, freeing them. */
static void join_sorted(char **names, size_t n, char *out, size_t size)
{
    qsort(names, n, sizeof *names, cmp_str);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, names[i], size - strlen(out) - 1);
        free(names[i]);
    }
}

static char type_letter(unsigned char t)
{
    switch (t) {
    case DT_REG:
        return 'f';
    case DT_DIR:
        return 'd';
    case DT_LNK:
        return 'l';
    case DT_FIFO:
        return 'p';
    case DT_CHR:
        return 'c';
    default:
        return '?';
    }
}

/* Lists directory `fd` from its current offset with getdents64 in `bufsize` chunks:
 * "name:type" entries, sorted as strings (so "..:d" before ".:d") and comma-joined. */
static void getdents_list(int fd, size_t bufsize, char *out, size_t size)
{
    static char buf[4096];
    char *names[64];
    size_t n = 0;
    for (;;) {
        long got = CHECK_OK(syscall(SYS_getdents64, fd, buf, bufsize));
        if (got == 0)
            break;
        for (long off = 0; off < got;) {
            struct dirent64_hdr *d = (struct dirent64_hdr *)(buf + off);
            CHECK(n < 64);
            char *e = malloc(strlen(d->d_name) + 3);
            CHECK(e != NULL);
            sprintf(e, "%s:%c", d->d_name, type_letter(d->d_type));
            names[n++] = e;
            off += d->d_reclen;
        }
    }
    join_sorted(names, n, out, size);
}

/* Lists `path` through the libc stream: names only, sorted and comma-joined. */
static void readdir_list(DIR *d, char *out, size_t size)
{
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        CHECK(n < 64);
        names[n++] = strdup(e->d_name);
    }
    int err = errno;
    CHECK_EQ(err, 0);
    join_sorted(names, n, out, size);
}

static const char *case_dir(void)
{
    static char cwd[4096];
    if (cwd[0] == 0)
        CHECK_PTR(getcwd(cwd, sizeof cwd));
    return cwd;
}

/* ---- mkdir, mkdirat ---- */

CASE(mkdir_creates_directory)
{
    nlink_t before = stat_of(".").st_nlink;
    CHECK_OK(mkdir("d", 0755));
    struct stat st = stat_of("d");
    CHECK_EQ(st.st_mode, S_IFDIR | 0755);
    CHECK_EQ(st.st_nlink, 2);
    CHECK_EQ(st.st_uid, 0);
    CHECK_EQ(stat_of(".").st_nlink, before + 1);
    CHECK_EQ(stat_of("d/.").st_ino, st.st_ino);
    CHECK_EQ(stat_of("d/..").st_ino, stat_of(".").st_ino);
    /* A trailing slash names the directory too. */
    CHECK_OK(mkdir("e/", 0700));
    CHECK_EQ(stat_of("e").st_mode, S_IFDIR | 0700);
}

CASE(mkdir_mode_and_umask)
{
    umask(027);
    CHECK_OK(mkdir("d", 0777));
    CHECK_EQ(stat_of("d").st_mode, S_IFDIR | 0750);
    /* The sticky bit survives; set-id bits do not (the parent is not set-group-id). */
    CHECK_OK(mkdir("s", 07777));
    CHECK_EQ(stat_of("s").st_mode, S_IFDIR | 01750);
    umask(0);
    CHECK_OK(mkdir("o", 0777));
    CHECK_EQ(stat_of("o").st_mode, S_IFDIR | 0777);
}

CASE(mkdir_setgid_parent_inherits)
{
    CHECK_OK(mkdir("p", 0755));
    CHECK_OK(chown("p", 0, 1234));
    CHECK_OK(chmod("p", 02775));
    CHECK_OK(mkdir("p/c", 0755));
    struct stat st = stat_of("p/c");
    CHECK_EQ(st.st_gid, 1234);
    CHECK_EQ(st.st_mode, S_IFDIR | 02755);
}

CASE(mkdir_eexist)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("f", "x");
    CHECK_OK(symlink("nowhere", "l"));
    CHECK_ERR(mkdir("d", 0755), EEXIST);
    CHECK_ERR(mkdir("f", 0755), EEXIST);
    CHECK_ERR(mkdir("l", 0755), EEXIST);
    CHECK_ERR(mkdir(".", 0755), EEXIST);
    CHECK_ERR(access("nowhere", F_OK), ENOENT);
}

CASE(mkdir_errors)
{
    write_file("f", "x");
    CHECK_ERR(mkdir("missing/d", 0755), ENOENT);
    CHECK_ERR(mkdir("f/d", 0755), ENOTDIR);
    CHECK_ERR(mkdir("", 0755), ENOENT);
    char name[300];
    memset(name, 'n', 256);
    name[256] = 0;
    CHECK_ERR(mkdir(name, 0755), ENAMETOOLONG);
    CHECK_ERR(syscall(SYS_mkdir, BAD_PTR, 0755), EFAULT);
    CHECK_ERR(syscall(SYS_mkdir, KERNEL_PTR, 0755), EFAULT);
}

CASE(mkdir_eacces_as_user)
{
    CHECK_OK(mkdir("ro", 0755));
    CHECK_OK(mkdir("priv", 0700));
    AS_USER({
        CHECK_ERR(mkdir("ro/d", 0755), EACCES);
        CHECK_ERR(mkdir("priv/d", 0755), EACCES);
        CHECK_OK(mkdir("mine", 0755));
    });
    CHECK_EQ(stat_of("mine").st_uid, 65534);
    CHECK_ERR(access("ro/d", F_OK), ENOENT);
}

CASE(mkdirat_dirfd)
{
    CHECK_OK(mkdir("d", 0755));
    int dfd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    CHECK_OK(mkdirat(dfd, "sub", 0711));
    CHECK_EQ(stat_of("d/sub").st_mode, S_IFDIR | 0711);
    CHECK_ERR(mkdirat(dfd, "sub", 0711), EEXIST);
    CHECK_ERR(mkdirat(-3, "x", 0755), EBADF);
    write_file("f", "x");
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_ERR(mkdirat(fd, "x", 0755), ENOTDIR);
    CHECK_OK(mkdirat(AT_FDCWD, "top", 0755));
    CHECK_OK(close(fd));
    CHECK_OK(close(dfd));
}

/* ---- rmdir ---- */

CASE(rmdir_removes)
{
    CHECK_OK(mkdir("d", 0755));
    nlink_t before = stat_of(".").st_nlink;
    CHECK_OK(rmdir("d"));
    CHECK_ERR(access("d", F_OK), ENOENT);
    CHECK_EQ(stat_of(".").st_nlink, before - 1);
    CHECK_ERR(rmdir("d"), ENOENT);
    CHECK_OK(mkdir("e", 0755));
    CHECK_OK(rmdir("e/"));
}

CASE(rmdir_enotempty)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/f", "x");
    CHECK_ERR(rmdir("d"), ENOTEMPTY);
    CHECK_OK(unlink("d/f"));
    CHECK_OK(mkdir("d/sub", 0755));
    CHECK_ERR(rmdir("d"), ENOTEMPTY);
    CHECK_OK(rmdir("d/sub"));
    CHECK_OK(rmdir("d"));
}

CASE(rmdir_enotdir)
{
    write_file("f", "x");
    CHECK_OK(symlink(".", "l"));
    CHECK_ERR(rmdir("f"), ENOTDIR);
    CHECK_ERR(rmdir("f/x"), ENOTDIR);
    CHECK_ERR(rmdir("l"), ENOTDIR);
    CHECK_ERR(syscall(SYS_rmdir, BAD_PTR), EFAULT);
}

CASE(rmdir_dot_and_dotdot)
{
    CHECK_OK(mkdir("d", 0755));
    CHECK_ERR(rmdir("d/."), EINVAL);
    CHECK_ERR(rmdir("."), EINVAL);
    CHECK_ERR(rmdir("d/.."), ENOTEMPTY);
    CHECK_OK(access("d", F_OK));
}

CASE(rmdir_cwd_then_create_enoent)
{
    CHECK_OK(mkdir("d", 0755));
    CHECK_OK(chdir("d"));
    CHECK_OK(rmdir("../d"));
    CHECK_ERR(open("f", O_WRONLY | O_CREAT, 0644), ENOENT);
    CHECK_ERR(mkdir("sub", 0755), ENOENT);
    char buf[256];
    CHECK_ERR(syscall(SYS_getcwd, buf, sizeof buf), ENOENT);
    /* The removed directory still opens but cannot be listed any more. */
    int fd = (int)CHECK_OK(open(".", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(syscall(SYS_getdents64, fd, buf, sizeof buf), ENOENT);
    CHECK_OK(close(fd));
}

/* A removed working directory stays the same directory: `..` still leads to its old parent,
 * and a new directory of the same name is another one. */
CASE(rmdir_cwd_dotdot_and_recreate)
{
    CHECK_OK(mkdir("d", 0755));
    CHECK_OK(chdir("d"));
    CHECK_OK(rmdir("../d"));
    struct stat dead = stat_of(".");
    CHECK_EQ(dead.st_nlink, 0);
    CHECK_OK(mkdir("../d", 0755));
    struct stat fresh = stat_of("../d");
    CHECK(fresh.st_ino != dead.st_ino);
    CHECK_EQ(stat_of(".").st_ino, dead.st_ino);
    CHECK_ERR(open("f", O_WRONLY | O_CREAT, 0644), ENOENT);
    CHECK_ERR(access("../d/f", F_OK), ENOENT);
    int fd = (int)CHECK_OK(open(".", O_RDONLY | O_DIRECTORY));
    CHECK_OK(chdir(".."));
    CHECK_OK(fchdir(fd));
    CHECK_EQ(stat_of(".").st_ino, dead.st_ino);
    CHECK_ERR(mkdir("x", 0755), ENOENT);
    CHECK_OK(close(fd));
}

CASE(rmdir_eacces_and_sticky)
{
    CHECK_OK(mkdir("ro", 0755));
    CHECK_OK(mkdir("ro/d", 0755));
    AS_USER(CHECK_ERR(rmdir("ro/d"), EACCES));
    CHECK_OK(mkdir("s", 0755));
    CHECK_OK(chmod("s", 01777));
    CHECK_OK(mkdir("s/d", 0755));
    CHECK_OK(chmod("s/d", 0777));
    AS_USER(CHECK_ERR(rmdir("s/d"), EPERM));
    CHECK_OK(access("s/d", F_OK));
    CHECK_OK(access("ro/d", F_OK));
}

/* ---- getdents64 ---- */

CASE(getdents64_lists_all_with_types)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/a", "x");
    write_file("d/b", "x");
    CHECK_OK(mkdir("d/c", 0755));
    CHECK_OK(symlink("a", "d/l"));
    CHECK_OK(mkfifo("d/p", 0644));
    int fd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    char list[512];
    getdents_list(fd, 4096, list, sizeof list);
    CHECK_STR(list, "..:d,.:d,a:f,b:f,c:d,l:l,p:p");
    CHECK_OK(close(fd));
}

CASE(getdents64_inode_numbers)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/a", "x");
    int fd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    static char buf[4096];
    long got = CHECK_OK(syscall(SYS_getdents64, fd, buf, sizeof buf));
    int seen = 0;
    for (long off = 0; off < got;) {
        struct dirent64_hdr *e = (struct dirent64_hdr *)(buf + off);
        if (strcmp(e->d_name, "a") == 0) {
            CHECK_EQ(e->d_ino, stat_of("d/a").st_ino);
            seen |= 1;
        } else if (strcmp(e->d_name, ".") == 0) {
            CHECK_EQ(e->d_ino, stat_of("d").st_ino);
            seen |= 2;
        }
        CHECK_EQ(e->d_reclen % 8, 0);
        off += e->d_reclen;
    }
    CHECK_EQ(seen, 3);
    CHECK_OK(close(fd));
}

CASE(getdents64_small_buffer_continues)
{
    CHECK_OK(mkdir("d", 0755));
    char name[16];
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof name, "d/file%02d", i);
        write_file(name, "x");
    }
    int fd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    char list[1024];
    /* 40 bytes hold one entry of these names (19 + 7 bytes rounded to 32) at a time. */
    getdents_list(fd, 40, list, sizeof list);
    CHECK_STR(list, "..:d,.:d,file00:f,file01:f,file02:f,file03:f,file04:f,file05:f,"
                    "file06:f,file07:f,file08:f,file09:f,file10:f,file11:f");
    CHECK_EQ(syscall(SYS_getdents64, fd, list, sizeof list), 0);
    CHECK_OK(close(fd));
}

CASE(getdents64_after_unlink_and_rewind)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/a", "x");
    write_file("d/b", "x");
    int fd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    char list[256];
    getdents_list(fd, 4096, list, sizeof list);
    CHECK_STR(list, "..:d,.:d,a:f,b:f");
    CHECK_OK(unlink("d/b"));
    CHECK_OK(mkdir("d/n", 0755));
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    getdents_list(fd, 4096, list, sizeof list);
    CHECK_STR(list, "..:d,.:d,a:f,n:d");
    CHECK_OK(close(fd));
}

CASE(getdents64_errors)
{
    char buf[256];
    CHECK_ERR(syscall(SYS_getdents64, -1, buf, sizeof buf), EBADF);
    write_file("f", "x");
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_ERR(syscall(SYS_getdents64, fd, buf, sizeof buf), ENOTDIR);
    CHECK_OK(close(fd));
    CHECK_OK(mkdir("d", 0755));
    fd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(syscall(SYS_getdents64, fd, buf, 4), EINVAL);
    CHECK_ERR(syscall(SYS_getdents64, fd, BAD_PTR, sizeof buf), EFAULT);
    /* Nothing was consumed by the failures. */
    char list[256];
    getdents_list(fd, 4096, list, sizeof list);
    CHECK_STR(list, "..:d,.:d");
    CHECK_OK(close(fd));
}

/* ---- the libc stream: opendir, readdir, rewinddir, telldir, seekdir ---- */

CASE(readdir_lists_names)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/x", "1");
    write_file("d/y", "2");
    CHECK_OK(mkdir("d/z", 0755));
    DIR *d = CHECK_PTR(opendir("d"));
    char list[256];
    readdir_list(d, list, sizeof list);
    CHECK_STR(list, ".,..,x,y,z");
    CHECK(readdir(d) == NULL);
    CHECK_OK(closedir(d));
}

CASE(readdir_empty_case_dir)
{
    DIR *d = CHECK_PTR(opendir("."));
    char list[64];
    readdir_list(d, list, sizeof list);
    CHECK_STR(list, ".,..");
    CHECK_OK(closedir(d));
}

CASE(rewinddir_sees_changes)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/old", "1");
    DIR *d = CHECK_PTR(opendir("d"));
    char list[256];
    readdir_list(d, list, sizeof list);
    CHECK_STR(list, ".,..,old");
    write_file("d/new", "2");
    CHECK_OK(unlink("d/old"));
    rewinddir(d);
    readdir_list(d, list, sizeof list);
    CHECK_STR(list, ".,..,new");
    CHECK_OK(closedir(d));
}

CASE(seekdir_telldir_return)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/a", "1");
    write_file("d/b", "2");
    write_file("d/c", "3");
    DIR *d = CHECK_PTR(opendir("d"));
    CHECK_PTR(readdir(d));
    CHECK_PTR(readdir(d));
    long pos = telldir(d);
    CHECK(pos != -1);
    struct dirent *e = CHECK_PTR(readdir(d));
    char third[256];
    snprintf(third, sizeof third, "%s", e->d_name);
    CHECK_PTR(readdir(d));
    seekdir(d, pos);
    e = CHECK_PTR(readdir(d));
    CHECK_STR(e->d_name, third);
    CHECK_OK(closedir(d));
}

CASE(opendir_errors)
{
    write_file("f", "x");
    CHECK(opendir("missing") == NULL && errno == ENOENT);
    CHECK(opendir("f") == NULL && errno == ENOTDIR);
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK(fdopendir(fd) == NULL && errno == ENOTDIR);
    CHECK_OK(close(fd));
    CHECK_OK(mkdir("priv", 0700));
    AS_USER(CHECK(opendir("priv") == NULL && errno == EACCES));
}

CASE(fdopendir_uses_descriptor)
{
    CHECK_OK(mkdir("d", 0755));
    write_file("d/only", "1");
    int fd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    DIR *d = CHECK_PTR(fdopendir(fd));
    CHECK_EQ(dirfd(d), fd);
    char list[64];
    readdir_list(d, list, sizeof list);
    CHECK_STR(list, ".,..,only");
    CHECK_OK(closedir(d));
    CHECK_ERR(fcntl(fd, F_GETFD), EBADF);
}

/* ---- chdir, fchdir, getcwd ---- */

CASE(chdir_getcwd)
{
    char want[4200], buf[4200];
    const char *base = case_dir();
    CHECK_OK(mkdir("d", 0755));
    CHECK_OK(mkdir("d/e", 0755));
    CHECK_OK(chdir("d/e"));
    snprintf(want, sizeof want, "%s/d/e", base);
    CHECK_STR(getcwd(buf, sizeof buf), want);
    CHECK_OK(chdir(".."));
    snprintf(want, sizeof want, "%s/d", base);
    CHECK_STR(getcwd(buf, sizeof buf), want);
    CHECK_OK(chdir("/"));
    CHECK_STR(getcwd(buf, sizeof buf), "/");
    CHECK_OK(chdir(".."));
    CHECK_STR(getcwd(buf, sizeof buf), "/");
    CHECK_OK(chdir(base));
    write_file("d/e/here", "x");
    CHECK_OK(chdir("d/e"));
    CHECK_OK(access("here", F_OK));
}

CASE(chdir_through_symlink)
{
    char want[4200], buf[4200];
    const char *base = case_dir();
    CHECK_OK(mkdir("real", 0755));
    CHECK_OK(symlink("real", "link"));
    CHECK_OK(chdir("link"));
    snprintf(want, sizeof want, "%s/real", base);
    CHECK_STR(getcwd(buf, sizeof buf), want);
}

CASE(chdir_errors)
{
    write_file("f", "x");
    CHECK_ERR(chdir("missing"), ENOENT);
    CHECK_ERR(chdir("f"), ENOTDIR);
    CHECK_ERR(chdir(""), ENOENT);
    CHECK_ERR(syscall(SYS_chdir, BAD_PTR), EFAULT);
    CHECK_OK(mkdir("priv", 0700));
    CHECK_OK(mkdir("priv/in", 0755));
    CHECK_OK(mkdir("noexec", 0766));
    AS_USER({
        CHECK_ERR(chdir("priv"), EACCES);
        CHECK_ERR(chdir("priv/in"), EACCES);
        CHECK_ERR(chdir("noexec"), EACCES);
    });
}

CASE(fchdir_to_descriptor)
{
    char want[4200], buf[4200];
    const char *base = case_dir();
    CHECK_OK(mkdir("d", 0755));
    int fd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    CHECK_OK(fchdir(fd));
    snprintf(want, sizeof want, "%s/d", base);
    CHECK_STR(getcwd(buf, sizeof buf), want);
    CHECK_OK(close(fd));
    CHECK_ERR(fchdir(fd), EBADF);
    CHECK_ERR(fchdir(-1), EBADF);
    write_file("f", "x");
    fd = (int)CHECK_OK(open("f", O_RDONLY));
    CHECK_ERR(fchdir(fd), ENOTDIR);
    CHECK_OK(close(fd));
    CHECK_STR(getcwd(buf, sizeof buf), want);
}

CASE(getcwd_errors)
{
    char buf[4200];
    long n = CHECK_OK(syscall(SYS_getcwd, buf, sizeof buf));
    CHECK_EQ(n, (long)strlen(buf) + 1);
    CHECK_ERR(syscall(SYS_getcwd, buf, 1), ERANGE);
    CHECK_ERR(syscall(SYS_getcwd, buf, (size_t)n - 1), ERANGE);
    CHECK_EQ(syscall(SYS_getcwd, buf, (size_t)n), n);
    CHECK_ERR(syscall(SYS_getcwd, BAD_PTR, sizeof buf), EFAULT);
    CHECK(getcwd(buf, 1) == NULL && errno == ERANGE);
}

CASE(getcwd_after_parent_rename)
{
    char want[4200], buf[4200];
    const char *base = case_dir();
    CHECK_OK(mkdir("a", 0755));
    CHECK_OK(mkdir("a/b", 0755));
    CHECK_OK(chdir("a/b"));
    snprintf(want, sizeof want, "%s/a", base);
    char to[4200];
    snprintf(to, sizeof to, "%s/z", base);
    CHECK_OK(rename(want, to));
    snprintf(want, sizeof want, "%s/z/b", base);
    CHECK_STR(getcwd(buf, sizeof buf), want);
}

/* ---- mknod, mknodat ---- */

CASE(mknod_fifo_and_regular)
{
    CHECK_OK(mknod("p", S_IFIFO | 0640, 0));
    CHECK_EQ(stat_of("p").st_mode, S_IFIFO | 0640);
    CHECK_OK(mkfifo("q", 0600));
    CHECK_EQ(stat_of("q").st_mode, S_IFIFO | 0600);
    CHECK_OK(syscall(SYS_mknod, "r", S_IFREG | 0600, 0));
    struct stat st = stat_of("r");
    CHECK_EQ(st.st_mode, S_IFREG | 0600);
    CHECK_EQ(st.st_size, 0);
    /* A zero file type is a regular file. */
    CHECK_OK(mknod("z", 0644, 0));
    CHECK_EQ(stat_of("z").st_mode, S_IFREG | 0644);
    /* A FIFO opened non-blocking for reading has no writer and reads EOF. */
    int fd = (int)CHECK_OK(open("p", O_RDONLY | O_NONBLOCK));
    char c;
    CHECK_EQ(read(fd, &c, 1), 0);
    CHECK_OK(close(fd));
}

CASE(mknod_fifo_without_reader_enxio)
{
    CHECK_OK(mkfifo("p", 0600));
    CHECK_ERR(open("p", O_WRONLY | O_NONBLOCK), ENXIO);
}

CASE(mknod_char_device_as_root)
{
    CHECK_OK(mknod("null", S_IFCHR | 0666, makedev(1, 3)));
    struct stat st = stat_of("null");
    CHECK_EQ(st.st_mode, S_IFCHR | 0644); /* umask 022 */
    CHECK_EQ(major(st.st_rdev), 1);
    CHECK_EQ(minor(st.st_rdev), 3);
}

CASE(mknod_errors)
{
    CHECK_OK(mkfifo("p", 0600));
    CHECK_ERR(mknod("p", S_IFIFO | 0600, 0), EEXIST);
    CHECK_ERR(mkfifo("p", 0600), EEXIST);
    CHECK_ERR(mknod("missing/p", S_IFIFO | 0600, 0), ENOENT);
    CHECK_ERR(mknod("d", S_IFDIR | 0755, 0), EPERM);
    CHECK_ERR(mknod("l", S_IFLNK | 0777, 0), EINVAL);
    CHECK_ERR(syscall(SYS_mknod, BAD_PTR, S_IFIFO | 0600, 0), EFAULT);
    AS_USER({
        CHECK_ERR(mknod("c", S_IFCHR | 0600, makedev(1, 3)), EPERM);
        CHECK_ERR(mknod("b", S_IFBLK | 0600, makedev(7, 0)), EPERM);
        CHECK_OK(mknod("mine", S_IFIFO | 0600, 0));
    });
    CHECK_ERR(access("c", F_OK), ENOENT);
    CHECK_EQ(stat_of("mine").st_uid, 65534);
}

CASE(mknodat_dirfd)
{
    CHECK_OK(mkdir("d", 0755));
    int dfd = (int)CHECK_OK(open("d", O_RDONLY | O_DIRECTORY));
    CHECK_OK(mknodat(dfd, "p", S_IFIFO | 0644, 0));
    CHECK_EQ(stat_of("d/p").st_mode, S_IFIFO | 0644);
    CHECK_ERR(mknodat(dfd, "p", S_IFIFO | 0644, 0), EEXIST);
    CHECK_ERR(mknodat(-2, "q", S_IFIFO | 0644, 0), EBADF);
    CHECK_OK(mkfifoat(dfd, "q", 0600));
    CHECK_EQ(stat_of("d/q").st_mode, S_IFIFO | 0600);
    CHECK_OK(close(dfd));
}

/* ---- renaming directories, link counts ---- */

CASE(rename_dir_updates_dotdot)
{
    CHECK_OK(mkdir("a", 0755));
    CHECK_OK(mkdir("a/x", 0755));
    CHECK_OK(mkdir("b", 0755));
    write_file("a/x/f", "kept");
    CHECK_EQ(stat_of("a").st_nlink, 3);
    CHECK_OK(rename("a/x", "b/x"));
    CHECK_EQ(stat_of("b/x/..").st_ino, stat_of("b").st_ino);
    CHECK_EQ(stat_of("a").st_nlink, 2);
    CHECK_EQ(stat_of("b").st_nlink, 3);
    char buf[16];
    read_file("b/x/f", buf, sizeof buf);
    CHECK_STR(buf, "kept");
    CHECK_ERR(access("a/x", F_OK), ENOENT);
}

CASE(rename_dir_into_own_subtree_einval)
{
    CHECK_OK(mkdir("a", 0755));
    CHECK_OK(mkdir("a/b", 0755));
    CHECK_OK(mkdir("a/b/c", 0755));
    CHECK_ERR(rename("a", "a/b/c/d"), EINVAL);
    CHECK_ERR(rename("a", "a/new"), EINVAL);
    CHECK_ERR(rename("a/b", "a/b/c/d"), EINVAL);
    CHECK_ERR(rename("a/b/c", "a"), ENOTEMPTY);
    CHECK_EQ(stat_of("a/b/c").st_mode & S_IFMT, S_IFDIR);
}

CASE(rename_dir_replaces_empty_dir)
{
    CHECK_OK(mkdir("a", 0755));
    write_file("a/f", "x");
    CHECK_OK(mkdir("b", 0755));
    nlink_t before = stat_of(".").st_nlink;
    CHECK_OK(rename("a", "b"));
    CHECK_ERR(access("a", F_OK), ENOENT);
    CHECK_OK(access("b/f", F_OK));
    CHECK_EQ(stat_of(".").st_nlink, before - 1);
    CHECK_OK(mkdir("c", 0755));
    write_file("c/g", "x");
    CHECK_ERR(rename("b", "c"), ENOTEMPTY);
    CHECK_ERR(rename("b", "c/"), ENOTEMPTY);
    write_file("file", "x");
    CHECK_ERR(rename("b", "file"), ENOTDIR);
    CHECK_ERR(rename("file", "b"), EISDIR);
    CHECK_ERR(rename("file/", "z"), ENOTDIR);
}

CASE(dir_nlink_counts_subdirs)
{
    CHECK_OK(mkdir("d", 0755));
    CHECK_EQ(stat_of("d").st_nlink, 2);
    CHECK_OK(mkdir("d/a", 0755));
    CHECK_OK(mkdir("d/b", 0755));
    CHECK_EQ(stat_of("d").st_nlink, 4);
    write_file("d/f", "x");
    CHECK_OK(symlink("a", "d/l"));
    CHECK_EQ(stat_of("d").st_nlink, 4);
    CHECK_OK(rmdir("d/a"));
    CHECK_EQ(stat_of("d").st_nlink, 3);
    CHECK_OK(rename("d/b", "b"));
    CHECK_EQ(stat_of("d").st_nlink, 2);
}

/* Runs `body`, which mounts on "m", in a child, then detaches whatever is still mounted there:
 * a failed check must not leave a mount behind that the runner cannot remove. */
static void run_unmounting(void (*body)(void))
{
    pid_t pid = case_fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    int st = wait_status(pid);
    while (umount2("m", MNT_DETACH) == 0 || umount2("m", 0) == 0)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAIL("the case's child: status %#x, want exit 0", st);
}

/* ---- statfs, fstatfs ---- */

static void statfs_tmpfs_magic_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", 0, "size=1m"));
    struct statfs a, b;
    CHECK_OK(statfs("m", &a));
    CHECK_EQ(a.f_type, TMPFS_MAGIC_NR);
    CHECK_EQ(a.f_bsize, 4096);
    CHECK_EQ(a.f_blocks, 256);
    CHECK(a.f_bfree <= a.f_blocks);
    CHECK(a.f_namelen == 255);
    int fd = (int)CHECK_OK(open("m", O_RDONLY | O_DIRECTORY));
    CHECK_OK(fstatfs(fd, &b));
    CHECK_EQ(b.f_type, TMPFS_MAGIC_NR);
    CHECK_EQ(b.f_blocks, 256);
    CHECK_OK(close(fd));
    CHECK_OK(umount2("m", 0));
}

CASE(statfs_tmpfs_magic)
{
    run_unmounting(statfs_tmpfs_magic_body);
}

/* Free blocks of the mount on "m". */
static long free_blocks(void)
{
    struct statfs s;
    CHECK_OK(statfs("m", &s));
    return (long)s.f_bfree;
}

/* size= caps the pages a tmpfs's files hold: past it a write is ENOSPC (a write that got some
 * bytes in reports those), and freed pages come back. */
static void write_tmpfs_size_enospc_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", 0, "size=64k"));
    CHECK_EQ(free_blocks(), 16);
    static char buf[20 * 4096];
    memset(buf, 'x', sizeof buf);
    int fd = (int)CHECK_OK(open("m/a", O_WRONLY | O_CREAT, 0644));
    CHECK_EQ(write(fd, buf, 16 * 4096), 16 * 4096);
    CHECK_EQ(free_blocks(), 0);
    CHECK_ERR(write(fd, buf, 1), ENOSPC);
    CHECK_EQ(lseek(fd, 0, SEEK_END), 16 * 4096);
    /* Rewriting pages the file has needs no new ones. */
    CHECK_EQ(pwrite(fd, buf, 4096, 4096), 4096);
    CHECK_OK(ftruncate(fd, 8 * 4096));
    CHECK_EQ(free_blocks(), 8);
    int fd2 = (int)CHECK_OK(open("m/b", O_WRONLY | O_CREAT, 0644));
    CHECK_EQ(write(fd2, buf, 10 * 4096), 8 * 4096);
    CHECK_ERR(write(fd2, buf, 4096), ENOSPC);
    CHECK_EQ(free_blocks(), 0);
    /* Directories take no blocks. */
    CHECK_OK(mkdir("m/d", 0755));
    CHECK_OK(close(fd2));
    CHECK_OK(close(fd));
    CHECK_OK(unlink("m/a"));
    CHECK_OK(unlink("m/b"));
    CHECK_EQ(free_blocks(), 16);
    CHECK_OK(umount2("m", 0));
}

CASE(write_tmpfs_size_enospc)
{
    run_unmounting(write_tmpfs_size_enospc_body);
}

/* A shared mapping's fault that needs a page the tmpfs has no room for is SIGBUS. */
static void mmap_tmpfs_size_sigbus_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", 0, "size=8k"));
    int fd = (int)CHECK_OK(open("m/f", O_RDWR | O_CREAT, 0644));
    CHECK_OK(ftruncate(fd, 4 * 4096));
    char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 1;
    p[4096] = 2;
    CHECK_EQ(free_blocks(), 0);
    pid_t pid = case_fork();
    if (pid == 0) {
        p[2 * 4096] = 3;
        _exit(0);
    }
    CHECK_KILLED(pid, SIGBUS);
    /* The pages it has stay and hold what was stored. */
    char c;
    CHECK_EQ(pread(fd, &c, 1, 4096), 1);
    CHECK_EQ(c, 2);
    CHECK_OK(munmap(p, 4 * 4096));
    CHECK_OK(close(fd));
    CHECK_OK(umount2("m", 0));
}

CASE(mmap_tmpfs_size_sigbus)
{
    run_unmounting(mmap_tmpfs_size_sigbus_body);
}

/* The size options: suffixes, C number notation, nr_blocks, and a bad value. */
static void mount_tmpfs_size_options_body(void)
{
    struct statfs s;
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", 0, "size=0x10K"));
    CHECK_OK(statfs("m", &s));
    CHECK_EQ(s.f_blocks, 4);
    CHECK_OK(umount2("m", 0));
    CHECK_OK(mount("none", "m", "tmpfs", 0, "size=5000"));
    CHECK_OK(statfs("m", &s));
    CHECK_EQ(s.f_blocks, 2);
    CHECK_OK(umount2("m", 0));
    CHECK_OK(mount("none", "m", "tmpfs", 0, "nr_blocks=3,mode=0700"));
    CHECK_OK(statfs("m", &s));
    CHECK_EQ(s.f_blocks, 3);
    CHECK_EQ(s.f_bavail, 3);
    CHECK_OK(umount2("m", 0));
    CHECK_OK(mount("none", "m", "tmpfs", 0, "size=1%"));
    CHECK_OK(statfs("m", &s));
    CHECK(s.f_blocks > 0);
    CHECK_OK(umount2("m", 0));
    CHECK_ERR(mount("none", "m", "tmpfs", 0, "size=1q"), EINVAL);
    CHECK_ERR(mount("none", "m", "tmpfs", 0, "size="), EINVAL);
    CHECK_ERR(mount("none", "m", "tmpfs", 0, "size"), EINVAL);
    CHECK_ERR(mount("none", "m", "tmpfs", 0, "nr_blocks=2%"), EINVAL);
}

CASE(mount_tmpfs_size_options)
{
    run_unmounting(mount_tmpfs_size_options_body);
}

CASE(statfs_errors)
{
    struct statfs s;
    write_file("f", "x");
    CHECK_ERR(statfs("missing", &s), ENOENT);
    CHECK_ERR(statfs("f/x", &s), ENOTDIR);
    CHECK_ERR(syscall(SYS_statfs, ".", BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_statfs, BAD_PTR, &s), EFAULT);
    CHECK_ERR(fstatfs(-1, &s), EBADF);
    CHECK_ERR(syscall(SYS_fstatfs, 0, BAD_PTR), EFAULT);
    CHECK_OK(statfs("f", &s));
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    struct statfs t;
    CHECK_OK(fstatfs(fd, &t));
    CHECK_EQ(t.f_type, s.f_type);
    CHECK_OK(close(fd));
}

/* ---- mount, umount2 ---- */

static void mount_tmpfs_in_case_dir_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    write_file("m/under", "hidden");
    struct stat before = stat_of("m");
    CHECK_OK(mount("none", "m", "tmpfs", 0, "mode=0700"));
    struct stat st = stat_of("m");
    CHECK(st.st_dev != before.st_dev);
    CHECK_EQ(st.st_mode, S_IFDIR | 0700);
    CHECK_ERR(access("m/under", F_OK), ENOENT);
    write_file("m/over", "on tmpfs");
    CHECK_EQ(stat_of("m/over").st_dev, st.st_dev);
    /* Across the mount boundary a rename cannot move a file, nor a link join them. */
    CHECK_ERR(rename("m/over", "moved"), EXDEV);
    CHECK_ERR(link("m/over", "linked"), EXDEV);
    CHECK_ERR(rmdir("m"), EBUSY);
    CHECK_OK(umount2("m", 0));
    CHECK_ERR(access("m/over", F_OK), ENOENT);
    char buf[16];
    read_file("m/under", buf, sizeof buf);
    CHECK_STR(buf, "hidden");
    CHECK_EQ(stat_of("m").st_dev, before.st_dev);
}

CASE(mount_tmpfs_in_case_dir)
{
    run_unmounting(mount_tmpfs_in_case_dir_body);
}

static void mount_readonly_erofs_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", MS_RDONLY, NULL));
    CHECK_ERR(open("m/f", O_WRONLY | O_CREAT, 0644), EROFS);
    CHECK_ERR(mkdir("m/d", 0755), EROFS);
    CHECK_OK(umount2("m", 0));
    write_file("m/f", "writable again");
}

CASE(mount_readonly_erofs)
{
    run_unmounting(mount_readonly_erofs_body);
}

static void umount_busy_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", 0, NULL));
    write_file("m/f", "x");
    int fd = (int)CHECK_OK(open("m/f", O_RDONLY));
    CHECK_ERR(umount2("m", 0), EBUSY);
    CHECK_OK(close(fd));
    CHECK_OK(chdir("m"));
    CHECK_ERR(umount2(".", 0), EBUSY);
    CHECK_OK(chdir(".."));
    CHECK_OK(umount2("m", 0));
    CHECK_ERR(access("m/f", F_OK), ENOENT);
}

CASE(umount_busy)
{
    run_unmounting(umount_busy_body);
}

static void umount_detach_while_busy_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", 0, NULL));
    write_file("m/f", "still readable");
    int fd = (int)CHECK_OK(open("m/f", O_RDONLY));
    CHECK_OK(umount2("m", MNT_DETACH));
    CHECK_ERR(access("m/f", F_OK), ENOENT);
    char buf[32] = {0};
    CHECK_EQ(read(fd, buf, sizeof buf), 14);
    CHECK_STR(buf, "still readable");
    CHECK_OK(close(fd));
}

CASE(umount_detach_while_busy)
{
    run_unmounting(umount_detach_while_busy_body);
}

static void umount_errors_body(void)
{
    CHECK_OK(mkdir("d", 0755));
    CHECK_ERR(umount2("d", 0), EINVAL);
    CHECK_ERR(umount2("missing", 0), ENOENT);
    CHECK_ERR(umount2("d", 0x80), EINVAL);
    CHECK_ERR(syscall(SYS_umount2, BAD_PTR, 0), EFAULT);
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", 0, NULL));
    AS_USER(CHECK_ERR(umount2("m", 0), EPERM));
    CHECK_OK(umount2("m", 0));
    CHECK_ERR(umount2("m", 0), EINVAL);
}

CASE(umount_errors)
{
    run_unmounting(umount_errors_body);
}

/* Whether /proc/mounts lists a mount point equal to `a` or `b`, or one ending in `tail` (how a
 * mount left behind in a detached tree would show). */
static int mounts_list(const char *a, const char *b, const char *tail)
{
    static char text[65536];
    int fd = (int)CHECK_OK(open("/proc/mounts", O_RDONLY));
    long n = 0, r;
    while ((r = read(fd, text + n, sizeof text - 1 - (size_t)n)) > 0)
        n += r;
    CHECK(r == 0);
    CHECK_OK(close(fd));
    text[n] = 0;
    size_t tl = strlen(tail);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        char *mp = sp + 1;
        char *end = strchr(mp, ' ');
        if (end)
            *end = 0;
        size_t ml = strlen(mp);
        if (!strcmp(mp, a) || !strcmp(mp, b) || (ml >= tl && !strcmp(mp + ml - tl, tail)))
            return 1;
    }
    return 0;
}

static void umount_detach_takes_submounts_body(void)
{
    char cwd[256], top[300], sub[300];
    CHECK_PTR(getcwd(cwd, sizeof cwd));
    snprintf(top, sizeof top, "%s/m", cwd);
    snprintf(sub, sizeof sub, "%s/m/fix2sub", cwd);
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", 0, NULL));
    CHECK_OK(mkdir("m/fix2sub", 0755));
    CHECK_OK(mount("none", "m/fix2sub", "tmpfs", 0, NULL));
    write_file("m/fix2sub/f", "data in the submount");
    CHECK(mounts_list(top, sub, "/fix2sub"));
    CHECK_OK(umount2("m", MNT_DETACH));
    /* The whole tree left the namespace: neither mount is listed, nothing is left to unmount. */
    CHECK(!mounts_list(top, sub, "/fix2sub"));
    CHECK(!mounts_list(top, sub, "/fix2sub\\040(deleted)"));
    CHECK_ERR(access("m/fix2sub", F_OK), ENOENT);
    CHECK_ERR(umount2("m/fix2sub", 0), ENOENT);
    CHECK_ERR(umount2("m", 0), EINVAL);
}

CASE(umount_detach_takes_submounts)
{
    run_unmounting(umount_detach_takes_submounts_body);
}

static void umount_detach_busy_submount_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", 0, NULL));
    CHECK_OK(mkdir("m/s", 0755));
    CHECK_OK(mount("none", "m/s", "tmpfs", 0, NULL));
    write_file("m/s/f", "kept open");
    int fd = (int)CHECK_OK(open("m/s/f", O_RDONLY));
    int dfd = (int)CHECK_OK(open("m/s", O_RDONLY | O_DIRECTORY));
    CHECK_OK(umount2("m", MNT_DETACH));
    CHECK_ERR(access("m/s", F_OK), ENOENT);
    /* What was open inside the detached submount still works. */
    char buf[32] = {0};
    CHECK_EQ(read(fd, buf, sizeof buf), 9);
    CHECK_STR(buf, "kept open");
    CHECK_OK(close(fd));
    int g = (int)CHECK_OK(openat(dfd, "g", O_WRONLY | O_CREAT, 0644));
    CHECK_OK(close(g));
    CHECK_OK(faccessat(dfd, "g", F_OK, 0));
    CHECK_OK(close(dfd));
    CHECK_ERR(umount2("m", 0), EINVAL);
}

CASE(umount_detach_busy_submount)
{
    run_unmounting(umount_detach_busy_submount_body);
}

/* A read-only mount refuses changes with EROFS before it checks the caller's permission. */
static void mount_readonly_erofs_before_eacces_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", MS_RDONLY, "mode=0555"));
    AS_USER({
        CHECK_ERR(open("m/f", O_WRONLY | O_CREAT, 0644), EROFS);
        CHECK_ERR(creat("m/f", 0644), EROFS);
        CHECK_ERR(mkdir("m/d", 0755), EROFS);
        CHECK_ERR(mknod("m/p", S_IFIFO | 0644, 0), EROFS);
        CHECK_ERR(symlink("x", "m/l"), EROFS);
        CHECK_ERR(unlink("m/x"), EROFS);
        CHECK_ERR(rmdir("m/x"), EROFS);
        CHECK_ERR(open("m", O_WRONLY), EISDIR);
        CHECK_ERR(chmod("m", 0777), EROFS);
        CHECK_ERR(chown("m", 65534, 65534), EROFS);
        CHECK_ERR(utimensat(AT_FDCWD, "m", NULL, 0), EROFS);
        struct timespec ts[2] = {{1000000, 0}, {2000000, 0}};
        CHECK_ERR(utimensat(AT_FDCWD, "m", ts, 0), EROFS);
        CHECK_ERR(access("m", W_OK), EROFS);
        CHECK_ERR(faccessat(AT_FDCWD, "m", R_OK | W_OK, AT_EACCESS), EROFS);
        CHECK_OK(access("m", R_OK | X_OK));
        CHECK_ERR(truncate("m", 0), EISDIR);
        int fd = (int)CHECK_OK(open("m", O_RDONLY | O_DIRECTORY));
        CHECK_ERR(fchmod(fd, 0777), EROFS);
        CHECK_ERR(futimens(fd, NULL), EROFS);
        CHECK_OK(close(fd));
    });
    CHECK_OK(umount2("m", 0));
}

CASE(mount_readonly_erofs_before_eacces)
{
    run_unmounting(mount_readonly_erofs_before_eacces_body);
}

/* Linux's order of a create's and a remove's errors: a create answers EEXIST before EROFS
 * and EACCES; a remove answers EINVAL/ENOTEMPTY for dot names, then EROFS, then ENOENT, and
 * only then EACCES. */
static void create_remove_error_order_body(void)
{
    CHECK_OK(mkdir("w", 0755));
    write_file("w/f", "x");
    CHECK_OK(mkdir("w/d", 0755));
    CHECK_OK(chmod("w", 0555));
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", MS_RDONLY, "mode=0555"));
    AS_USER({
        CHECK_ERR(mkdir("w/f", 0755), EEXIST);
        CHECK_ERR(mkdir("w/d", 0755), EEXIST);
        CHECK_ERR(symlink("x", "w/f"), EEXIST);
        CHECK_ERR(link("w/f", "w/d"), EEXIST);
        CHECK_ERR(mknod("w/f", S_IFIFO | 0644, 0), EEXIST);
        CHECK_ERR(mkdir("w/new", 0755), EACCES);
        CHECK_ERR(unlink("w/missing"), ENOENT);
        CHECK_ERR(rmdir("w/missing"), ENOENT);
        CHECK_ERR(rename("w/missing", "w/other"), ENOENT);
        CHECK_ERR(unlink("w/f"), EACCES);
        CHECK_ERR(rmdir("w/d"), EACCES);
        CHECK_ERR(rename("w/f", "w/g"), EACCES);
        CHECK_ERR(mkdir("m/.", 0755), EEXIST);
        CHECK_ERR(mkdir("m/..", 0755), EEXIST);
        CHECK_ERR(rmdir("m/."), EINVAL);
        CHECK_ERR(rmdir("m/.."), ENOTEMPTY);
        CHECK_ERR(mkdir("m/new", 0755), EROFS);
        CHECK_ERR(unlink("m/missing"), EROFS);
        CHECK_ERR(rename("m/missing", "m/other"), EROFS);
    });
    CHECK_OK(access("w/f", F_OK));
    CHECK_OK(umount2("m", 0));
    CHECK_OK(chmod("w", 0755));
}

CASE(create_remove_error_order)
{
    run_unmounting(create_remove_error_order_body);
}

/* utimensat and futimens change a file: a read-only mount refuses them, even to root. */
static void utimensat_readonly_erofs_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    CHECK_OK(mount("none", "m", "tmpfs", MS_RDONLY, NULL));
    struct stat before = stat_of("m");
    struct timespec ts[2] = {{1000000, 0}, {2000000, 0}};
    CHECK_ERR(utimensat(AT_FDCWD, "m", ts, 0), EROFS);
    CHECK_ERR(utimensat(AT_FDCWD, "m", NULL, 0), EROFS);
    CHECK_ERR(utimes("m", NULL), EROFS);
    int fd = (int)CHECK_OK(open("m", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(futimens(fd, ts), EROFS);
    CHECK_ERR(futimens(fd, NULL), EROFS);
    /* Both times UTIME_OMIT change nothing: a success before the path is even looked at. */
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    CHECK_OK(futimens(fd, omit));
    CHECK_OK(utimensat(AT_FDCWD, "m", omit, 0));
    CHECK_OK(utimensat(AT_FDCWD, "missing", omit, 0));
    /* Invalid times are EINVAL before the read-only mount is. */
    struct timespec bad[2] = {{0, -5}, {0, 0}};
    CHECK_ERR(utimensat(AT_FDCWD, "m", bad, 0), EINVAL);
    CHECK_ERR(access("m", W_OK), EROFS);
    CHECK_OK(close(fd));
    struct stat after = stat_of("m");
    CHECK_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    CHECK_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    CHECK_EQ(after.st_atim.tv_sec, before.st_atim.tv_sec);
    CHECK_OK(umount2("m", 0));
}

CASE(utimensat_readonly_erofs)
{
    run_unmounting(utimensat_readonly_erofs_body);
}

static void mount_errors_body(void)
{
    CHECK_OK(mkdir("m", 0755));
    write_file("f", "x");
    CHECK_ERR(mount("none", "missing", "tmpfs", 0, NULL), ENOENT);
    CHECK_ERR(mount("none", "m", "nosuchfs", 0, NULL), ENODEV);
    CHECK_ERR(mount("none", "f", "tmpfs", 0, NULL), ENOTDIR);
    CHECK_ERR(syscall(SYS_mount, "none", "m", BAD_PTR, 0, NULL), EFAULT);
    CHECK_ERR(syscall(SYS_mount, "none", BAD_PTR, "tmpfs", 0, NULL), EFAULT);
    AS_USER(CHECK_ERR(mount("none", "m", "tmpfs", 0, NULL), EPERM));
    /* Nothing got mounted. */
    CHECK_ERR(umount2("m", 0), EINVAL);
}

CASE(mount_errors)
{
    run_unmounting(mount_errors_body);
}

/* ---- permissions on directories, the sticky bit ---- */

CASE(dir_search_permission_eacces)
{
    CHECK_OK(mkdir("priv", 0700));
    write_file("priv/f", "x");
    CHECK_OK(chmod("priv/f", 0666));
    CHECK_OK(mkdir("listonly", 0744));
    write_file("listonly/g", "y");
    AS_USER({
        struct stat st;
        CHECK_ERR(stat("priv/f", &st), EACCES);
        CHECK_ERR(open("priv/f", O_RDONLY), EACCES);
        CHECK_ERR(stat("listonly/g", &st), EACCES);
        DIR *d = CHECK_PTR(opendir("listonly"));
        CHECK_OK(closedir(d));
    });
}

CASE(dir_write_permission_eacces)
{
    CHECK_OK(mkdir("ro", 0755));
    write_file("ro/f", "x");
    CHECK_OK(chmod("ro/f", 0666));
    AS_USER({
        CHECK_ERR(open("ro/new", O_WRONLY | O_CREAT, 0644), EACCES);
        CHECK_ERR(unlink("ro/f"), EACCES);
        CHECK_ERR(rename("ro/f", "moved"), EACCES);
        CHECK_ERR(symlink("x", "ro/l"), EACCES);
        /* Writing the file itself needs only the file's permission. */
        int fd = (int)CHECK_OK(open("ro/f", O_WRONLY | O_TRUNC));
        CHECK_OK(close(fd));
    });
    CHECK_EQ(stat_of("ro/f").st_size, 0);
}

CASE(sticky_dir_protects_others_files)
{
    CHECK_OK(mkdir("s", 0755));
    CHECK_OK(chmod("s", 01777));
    AS_UID(65534, write_file("s/a", "from a"));
    AS_UID(65533, {
        CHECK_ERR(unlink("s/a"), EPERM);
        CHECK_ERR(rename("s/a", "s/b"), EPERM);
        write_file("s/own", "mine");
        CHECK_OK(rename("s/own", "s/own2"));
        CHECK_OK(unlink("s/own2"));
    });
    char buf[16];
    read_file("s/a", buf, sizeof buf);
    CHECK_STR(buf, "from a");
    /* The directory's owner (root here) may remove anything. */
    CHECK_OK(unlink("s/a"));
}

CASE(sticky_dir_owner_may_delete)
{
    CHECK_OK(mkdir("s", 0755));
    CHECK_OK(chmod("s", 01777));
    CHECK_OK(chown("s", 65533, 65533));
    AS_UID(65534, write_file("s/a", "x"));
    AS_UID(65533, CHECK_OK(unlink("s/a")));
    CHECK_ERR(access("s/a", F_OK), ENOENT);
}

CASE(non_sticky_dir_allows_delete)
{
    CHECK_OK(mkdir("w", 0755));
    CHECK_OK(chmod("w", 0777));
    AS_UID(65534, write_file("w/a", "x"));
    AS_UID(65533, CHECK_OK(unlink("w/a")));
    CHECK_ERR(access("w/a", F_OK), ENOENT);
}
