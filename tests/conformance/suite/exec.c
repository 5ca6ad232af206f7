/* exec: execve and execveat, their errors, #! scripts, and what an image keeps across exec
 * (pid, descriptors without FD_CLOEXEC, ignored signals, the blocked mask, pending signals)
 * and what it loses (handlers, close-on-exec descriptors). Also readlink, which every glibc
 * program's startup makes on /proc/self/exe. */
#include "cases.h"
#include <limits.h>
#include <sys/prctl.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

extern char **environ;

/* Runs self_exe's helper `name` with `arg` (or none) in a child through execve, with
 * `envp`, and returns the child's pid. */
static pid_t spawn_helper(const char *name, const char *arg, char *const envp[])
{
    pid_t pid = case_fork();
    if (pid == 0) {
        char *argv[] = {(char *)self_exe, "--helper", (char *)name, (char *)arg, NULL};
        execve(self_exe, argv, envp);
        _exit(127);
    }
    return pid;
}

/* An executable file at `path` with `text`. */
static void write_exec(const char *path, const char *text)
{
    write_file(path, text);
    CHECK_OK(chmod(path, 0755));
}

/* The last component of self_exe. */
static const char *self_base(void)
{
    const char *s = strrchr(self_exe, '/');
    return s ? s + 1 : self_exe;
}

HELPER(exit_code)
{
    return argc > 1 ? atoi(argv[1]) : 0;
}

/* argv and envp as execve_passes_argv_envp sets them. */
HELPER(args)
{
    if (argc != 3 || strcmp(argv[1], "one") != 0 || strcmp(argv[2], "two words") != 0)
        return 10;
    if (environ == NULL || environ[0] == NULL || strcmp(environ[0], "CONF_A=1") != 0)
        return 11;
    if (environ[1] == NULL || strcmp(environ[1], "CONF_B=x y") != 0 || environ[2] != NULL)
        return 12;
    if (getenv("PATH") != NULL)
        return 13;
    return 0;
}

/* Exits 0 when descriptor argv[1] is open, 1 when it is closed (EBADF). */
HELPER(fd_open)
{
    if (argc != 2)
        return 10;
    if (fcntl(atoi(argv[1]), F_GETFD) >= 0)
        return 0;
    return errno == EBADF ? 1 : 11;
}

/* Reads what is left of descriptor argv[1]. */
HELPER(fd_read)
{
    char buf[16] = {0};
    if (argc != 2)
        return 10;
    if (read(atoi(argv[1]), buf, sizeof buf - 1) != 3 || strcmp(buf, "def") != 0)
        return 1;
    return 0;
}

/* The signal state execve_signal_state sets up, seen from the new image. */
HELPER(signal_state)
{
    struct sigaction sa;
    (void)argc;
    (void)argv;
    if (sigaction(SIGUSR1, NULL, &sa) != 0 || sa.sa_handler != SIG_DFL)
        return 10; /* a handler is reset */
    if (sigaction(SIGUSR2, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN)
        return 11; /* an ignored signal stays ignored */
    sigset_t set;
    sigprocmask(SIG_SETMASK, NULL, &set);
    if (!sigismember(&set, SIGTERM) || !sigismember(&set, SIGHUP) || sigismember(&set, SIGINT))
        return 12; /* the mask is kept */
    sigpending(&set);
    if (!sigismember(&set, SIGHUP) || sigismember(&set, SIGTERM))
        return 13; /* a pending signal stays pending */
    return 0;
}

/* Exits 0 when its pid is argv[1] and its parent argv[2]. */
HELPER(pids)
{
    if (argc != 3)
        return 10;
    if (getpid() != atoi(argv[1]))
        return 11;
    if (getppid() != atoi(argv[2]))
        return 12;
    return 0;
}

/* /proc/self/exe names argv[1]; the command name is argv[2]. */
HELPER(exe_link)
{
    char buf[PATH_MAX];
    if (argc != 3)
        return 10;
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n < 0)
        return 11;
    buf[n] = 0;
    if (strcmp(buf, argv[1]) != 0) {
        printf("# exe is %s, want %s\n", buf, argv[1]);
        return 12;
    }
    char comm[32] = {0};
    if (prctl(PR_GET_NAME, comm, 0, 0, 0) != 0 || strcmp(comm, argv[2]) != 0) {
        printf("# comm is %s, want %s\n", comm, argv[2]);
        return 13;
    }
    return 0;
}

/* The script of exec_shebang_self runs this with the interpreter's argument, the script's
 * path and the script's arguments. */
HELPER(shebang)
{
    if (argc != 3 || strcmp(argv[0], "shebang") != 0 || strcmp(argv[1], "a1") != 0 ||
        strcmp(argv[2], "a2") != 0)
        return 10;
    return 33;
}

CASE(execve_passes_argv_envp)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        char *argv[] = {(char *)self_exe, "--helper", "args", "one", "two words", NULL};
        char *envp[] = {"CONF_A=1", "CONF_B=x y", NULL};
        execve(self_exe, argv, envp);
        _exit(127);
    }
    CHECK_EXIT(pid, 0);
}

CASE(execve_exit_status_of_new_image)
{
    char *envp[] = {NULL};
    CHECK_EXIT(spawn_helper("exit_code", "42", envp), 42);
}

CASE(execve_pid_unchanged)
{
    char parent[16];
    snprintf(parent, sizeof parent, "%d", (int)getpid());
    pid_t pid = case_fork();
    if (pid == 0) {
        char me[16];
        snprintf(me, sizeof me, "%d", (int)getpid());
        char *argv[] = {(char *)self_exe, "--helper", "pids", me, parent, NULL};
        execve(self_exe, argv, environ);
        _exit(127);
    }
    CHECK_EXIT(pid, 0);
}

CASE(execve_proc_self_exe_and_comm)
{
    char exe[PATH_MAX];
    CHECK_PTR(realpath(self_exe, exe));
    char comm[16] = {0};
    strncpy(comm, self_base(), 15);
    pid_t pid = case_fork();
    if (pid == 0) {
        CHECK_EQ(prctl(PR_SET_NAME, "before-exec", 0, 0, 0), 0);
        char *argv[] = {(char *)self_exe, "--helper", "exe_link", exe, comm, NULL};
        execve(self_exe, argv, environ);
        _exit(127);
    }
    CHECK_EXIT(pid, 0);
}

CASE(execve_through_symlink)
{
    CHECK_OK(symlink(self_exe, "link"));
    pid_t pid = case_fork();
    if (pid == 0) {
        char *argv[] = {"link", "--helper", "exit_code", "7", NULL};
        execve("link", argv, environ);
        _exit(127);
    }
    CHECK_EXIT(pid, 7);
}

CASE(execve_enoent)
{
    char *argv[] = {"missing", NULL};
    CHECK_ERR(execve("missing", argv, environ), ENOENT);
    CHECK_ERR(execve("", argv, environ), ENOENT);
    CHECK_ERR(execve("/nonexistent-dir/prog", argv, environ), ENOENT);
}

CASE(execve_eacces_not_executable)
{
    write_file("plain", "\177ELF not really");
    char *argv[] = {"plain", NULL};
    CHECK_ERR(execve("./plain", argv, environ), EACCES);
}

CASE(execve_eacces_directory)
{
    CHECK_OK(mkdir("dir", 0755));
    char *argv[] = {"dir", NULL};
    CHECK_ERR(execve("./dir", argv, environ), EACCES);
    CHECK_ERR(execve("/tmp", argv, environ), EACCES);
}

CASE(execve_eacces_search_permission)
{
    CHECK_OK(mkdir("locked", 0700));
    CHECK_OK(symlink(self_exe, "locked/prog"));
    pid_t pid = case_fork();
    if (pid == 0) {
        drop_privileges();
        char *argv[] = {"prog", NULL};
        CHECK_ERR(execve("locked/prog", argv, environ), EACCES);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(execve_enoexec_garbage)
{
    write_exec("garbage", "this is neither ELF nor a script\n\001\002\003");
    char *argv[] = {"garbage", NULL};
    CHECK_ERR(execve("./garbage", argv, environ), ENOEXEC);
    /* An empty file is no image either. */
    write_exec("empty", "");
    CHECK_ERR(execve("./empty", argv, environ), ENOEXEC);
}

CASE(execve_enotdir)
{
    write_exec("file", "#!/bin/sh\n");
    char *argv[] = {"x", NULL};
    CHECK_ERR(execve("file/x", argv, environ), ENOTDIR);
}

CASE(execve_eloop)
{
    CHECK_OK(symlink("loop1", "loop2"));
    CHECK_OK(symlink("loop2", "loop1"));
    char *argv[] = {"loop1", NULL};
    CHECK_ERR(execve("./loop1", argv, environ), ELOOP);
}

CASE(execve_enametoolong)
{
    char name[PATH_MAX + 16];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    char *argv[] = {"x", NULL};
    CHECK_ERR(execve(name, argv, environ), ENAMETOOLONG);
}

CASE(execve_efault_path)
{
    char *argv[] = {"x", NULL};
    CHECK_ERR(syscall(SYS_execve, BAD_PTR, argv, environ), EFAULT);
    CHECK_ERR(syscall(SYS_execve, KERNEL_PTR, argv, environ), EFAULT);
}

CASE(execve_efault_argv)
{
    CHECK_ERR(syscall(SYS_execve, self_exe, BAD_PTR, environ), EFAULT);
    char *argv[] = {(char *)self_exe, BAD_PTR, NULL};
    CHECK_ERR(syscall(SYS_execve, self_exe, argv, environ), EFAULT);
}

CASE(execve_efault_envp)
{
    char *argv[] = {(char *)self_exe, NULL};
    CHECK_ERR(syscall(SYS_execve, self_exe, argv, KERNEL_PTR), EFAULT);
    char *envp[] = {"A=1", BAD_PTR, NULL};
    CHECK_ERR(syscall(SYS_execve, self_exe, argv, envp), EFAULT);
}

CASE(execve_e2big_long_argument)
{
    /* One string longer than MAX_ARG_STRLEN (32 pages). */
    size_t n = 33 * 4096;
    char *big = malloc(n + 1);
    CHECK(big != NULL);
    memset(big, 'a', n);
    big[n] = 0;
    char *argv[] = {(char *)self_exe, big, NULL};
    CHECK_ERR(execve(self_exe, argv, environ), E2BIG);
    free(big);
}

CASE(execve_shebang_sh_with_argument)
{
    /* -e makes the shell stop at `false` with its status 1, before `exit 9`. */
    write_exec("script", "#!/bin/sh -e\n"
                         "[ \"$#\" = 2 ] && [ \"$1\" = a ] && [ \"$2\" = 'b c' ] || exit 3\n"
                         "false\n"
                         "exit 9\n");
    pid_t pid = case_fork();
    if (pid == 0) {
        char *argv[] = {"script", "a", "b c", NULL};
        execve("./script", argv, environ);
        _exit(127);
    }
    CHECK_EXIT(pid, 1);
}

CASE(execve_shebang_interpreter_args)
{
    /* The interpreter gets its one argument, the script's path as given to execve, then
     * the script's own arguments (its argv[0] dropped). */
    char text[PATH_MAX + 32];
    snprintf(text, sizeof text, "#!%s --helper\nignored\n", self_exe);
    write_exec("shebang", text);
    pid_t pid = case_fork();
    if (pid == 0) {
        char *argv[] = {"whatever", "a1", "a2", NULL};
        execve("shebang", argv, environ);
        _exit(127);
    }
    CHECK_EXIT(pid, 33);
}

CASE(execve_shebang_missing_interpreter)
{
    write_exec("script", "#!/nonexistent/interpreter\n");
    char *argv[] = {"script", NULL};
    CHECK_ERR(execve("./script", argv, environ), ENOENT);
}

CASE(execve_cloexec_closed_others_kept)
{
    int keep = (int)CHECK_OK(open("/dev/null", O_RDONLY));
    int gone = (int)CHECK_OK(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int gone2 = (int)CHECK_OK(dup(keep));
    CHECK_OK(fcntl(gone2, F_SETFD, FD_CLOEXEC));
    char a[16], b[16], c[16];
    snprintf(a, sizeof a, "%d", keep);
    snprintf(b, sizeof b, "%d", gone);
    snprintf(c, sizeof c, "%d", gone2);
    CHECK_EXIT(spawn_helper("fd_open", a, environ), 0);
    CHECK_EXIT(spawn_helper("fd_open", b, environ), 1);
    CHECK_EXIT(spawn_helper("fd_open", c, environ), 1);
    /* The flag is per descriptor: `keep`, the same file, stays open. */
    CHECK_EQ(fcntl(keep, F_GETFD), 0);
}

CASE(execve_kept_descriptor_shares_offset)
{
    write_file("data", "abcdef");
    int fd = (int)CHECK_OK(open("data", O_RDONLY));
    char buf[4];
    CHECK_EQ(read(fd, buf, 3), 3);
    char arg[16];
    snprintf(arg, sizeof arg, "%d", fd);
    CHECK_EXIT(spawn_helper("fd_read", arg, environ), 0);
    /* The child read through the same open file description. */
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 6);
}

static void on_usr1(int sig)
{
    (void)sig;
}

CASE(execve_signal_state)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
        CHECK(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
        CHECK_OK(raise(SIGHUP));
        char *argv[] = {(char *)self_exe, "--helper", "signal_state", NULL};
        execve(self_exe, argv, environ);
        _exit(127);
    }
    CHECK_EXIT(pid, 0);
}

CASE(execve_failed_keeps_image)
{
    static int value = 5;
    char *argv[] = {"missing", NULL};
    CHECK_ERR(execve("./missing", argv, environ), ENOENT);
    /* A failed exec returns to the same image, state intact. */
    CHECK_EQ(value, 5);
    int fd = (int)CHECK_OK(open("/dev/null", O_RDONLY | O_CLOEXEC));
    CHECK_ERR(execve("./missing", argv, environ), ENOENT);
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
}

CASE(vfork_then_execve)
{
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        char *argv[] = {(char *)self_exe, "--helper", "exit_code", "3", NULL};
        execve(self_exe, argv, environ);
        _exit(127);
    }
    CHECK(pid > 0);
    CHECK_EXIT(pid, 3);
}

CASE(execveat_empty_path)
{
    int fd = (int)CHECK_OK(open(self_exe, O_RDONLY));
    pid_t pid = case_fork();
    if (pid == 0) {
        char *argv[] = {(char *)self_exe, "--helper", "exit_code", "11", NULL};
        syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
        _exit(127);
    }
    CHECK_EXIT(pid, 11);
}

CASE(execveat_relative_to_dirfd)
{
    char dir[PATH_MAX];
    CHECK_PTR(realpath(self_exe, dir));
    char *slash = strrchr(dir, '/');
    CHECK(slash != NULL);
    *slash = 0;
    int dfd = (int)CHECK_OK(open(dir, O_RDONLY | O_DIRECTORY));
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%s", slash + 1);
    pid_t pid = case_fork();
    if (pid == 0) {
        char *argv[] = {name, "--helper", "exit_code", "12", NULL};
        syscall(SYS_execveat, dfd, name, argv, environ, 0);
        _exit(127);
    }
    CHECK_EXIT(pid, 12);
    /* AT_FDCWD with an absolute path is plain execve. */
    pid = case_fork();
    if (pid == 0) {
        char *argv[] = {name, "--helper", "exit_code", "13", NULL};
        syscall(SYS_execveat, AT_FDCWD, self_exe, argv, environ, 0);
        _exit(127);
    }
    CHECK_EXIT(pid, 13);
}

CASE(execveat_errors)
{
    char *argv[] = {"x", NULL};
    int fd = (int)CHECK_OK(open(self_exe, O_RDONLY));
    /* An empty path without AT_EMPTY_PATH names nothing. */
    CHECK_ERR(syscall(SYS_execveat, fd, "", argv, environ, 0), ENOENT);
    CHECK_ERR(syscall(SYS_execveat, AT_FDCWD, self_exe, argv, environ, 0x4), EINVAL);
    CHECK_ERR(syscall(SYS_execveat, 999, "rel", argv, environ, 0), EBADF);
    CHECK_ERR(syscall(SYS_execveat, 999, "", argv, environ, AT_EMPTY_PATH), EBADF);
    /* A regular file is no directory to resolve from. */
    CHECK_ERR(syscall(SYS_execveat, fd, "rel", argv, environ, 0), ENOTDIR);
    CHECK_ERR(syscall(SYS_execveat, AT_FDCWD, BAD_PTR, argv, environ, 0), EFAULT);
}

CASE(execveat_symlink_nofollow_eloop)
{
    CHECK_OK(symlink(self_exe, "link"));
    char *argv[] = {"link", NULL};
    CHECK_ERR(syscall(SYS_execveat, AT_FDCWD, "link", argv, environ, AT_SYMLINK_NOFOLLOW), ELOOP);
}

CASE(execveat_eacces_directory_fd)
{
    int dfd = (int)CHECK_OK(open(".", O_RDONLY | O_DIRECTORY));
    char *argv[] = {"x", NULL};
    CHECK_ERR(syscall(SYS_execveat, dfd, "", argv, environ, AT_EMPTY_PATH), EACCES);
}

CASE(readlink_proc_self_exe)
{
    char want[PATH_MAX];
    CHECK_PTR(realpath(self_exe, want));
    char buf[PATH_MAX];
    long n = CHECK_OK(readlink("/proc/self/exe", buf, sizeof buf));
    CHECK_EQ(n, (long)strlen(want));
    CHECK_MEM(buf, want, (size_t)n);
    /* A short buffer gets a truncated name, no NUL. */
    memset(buf, '#', sizeof buf);
    CHECK_EQ(readlink("/proc/self/exe", buf, 4), 4);
    CHECK_MEM(buf, want, 4);
    CHECK_EQ(buf[4], '#');
}

CASE(readlink_symlink_target)
{
    CHECK_OK(symlink("some/target", "l"));
    char buf[64] = {0};
    CHECK_EQ(syscall(SYS_readlink, "l", buf, sizeof buf), 11);
    CHECK_STR(buf, "some/target");
    memset(buf, 0, sizeof buf);
    int dfd = (int)CHECK_OK(open(".", O_RDONLY | O_DIRECTORY));
    CHECK_EQ(readlinkat(dfd, "l", buf, sizeof buf), 11);
    CHECK_STR(buf, "some/target");
}

CASE(readlink_errors)
{
    char buf[64];
    write_file("plain", "x");
    CHECK_ERR(syscall(SYS_readlink, "plain", buf, sizeof buf), EINVAL);
    CHECK_ERR(syscall(SYS_readlink, "missing", buf, sizeof buf), ENOENT);
    CHECK_OK(symlink("t", "l"));
    CHECK_ERR(syscall(SYS_readlink, "l", buf, 0), EINVAL);
    CHECK_ERR(syscall(SYS_readlink, "l", BAD_PTR, sizeof buf), EFAULT);
    CHECK_ERR(syscall(SYS_readlink, BAD_PTR, buf, sizeof buf), EFAULT);
    CHECK_ERR(syscall(SYS_readlinkat, AT_FDCWD, "plain", buf, sizeof buf), EINVAL);
    CHECK_ERR(syscall(SYS_readlinkat, 999, "l", buf, sizeof buf), EBADF);
    CHECK_ERR(syscall(SYS_readlinkat, AT_FDCWD, "plain/x", buf, sizeof buf), ENOTDIR);
}
