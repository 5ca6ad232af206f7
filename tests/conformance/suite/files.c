/* Files: open, read, write, seek, truncate, stat, and their errors. */
#include "cases.h"

CASE(open_creat_write_read)
{
    int fd = (int)CHECK_OK(open("f", O_RDWR | O_CREAT | O_EXCL, 0600));
    CHECK_EQ(write(fd, "hello", 5), 5);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    char buf[8] = {0};
    CHECK_EQ(read(fd, buf, sizeof buf), 5);
    CHECK_STR(buf, "hello");
    CHECK_OK(close(fd));
}

CASE(open_enoent)
{
    CHECK_ERR(open("missing", O_RDONLY), ENOENT);
}

CASE(open_efault)
{
    CHECK_ERR(syscall(SYS_openat, AT_FDCWD, BAD_PTR, O_RDONLY), EFAULT);
}
