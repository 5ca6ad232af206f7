/* Readiness: poll, ppoll, select, pselect6, epoll (create, ctl, wait, pwait, pwait2), eventfd,
 * timerfd and signalfd. */
#include "cases.h"

#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

static void make_pipe(int p[2])
{
    CHECK_OK(pipe(p));
}

static int lowest_free(void)
{
    int fd = (int)CHECK_OK(dup(0));
    CHECK_OK(close(fd));
    return fd;
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

/* SIGUSR1 runs an empty handler without SA_RESTART. */
static void catch_usr1(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
}

/* A child that sends SIGUSR1 to this process after `us` microseconds. */
static pid_t usr1_after(int us)
{
    pid_t parent = getpid();
    pid_t pid = case_fork();
    if (pid == 0) {
        usleep(us);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    return pid;
}

/* A child that writes one byte to `fd` after `us` microseconds. */
static pid_t write_after(int fd, int us)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        usleep(us);
        _exit(write(fd, "x", 1) == 1 ? 0 : 1);
    }
    return pid;
}

static void block_signal(int sig)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
}

/* ---- poll and ppoll ---- */

CASE(poll_pipe_readable_after_write)
{
    int p[2];
    make_pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 0), 0);
    CHECK_EQ(pf.revents, 0);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLIN);
}

CASE(poll_write_end_writable)
{
    int p[2];
    make_pipe(p);
    struct pollfd pf[2] = {{p[1], POLLOUT, 0}, {p[0], POLLOUT, 0}};
    CHECK_EQ(poll(pf, 2, 0), 1);
    CHECK_EQ(pf[0].revents, POLLOUT);
    CHECK_EQ(pf[1].revents, 0);
}

CASE(poll_pipe_full_not_writable)
{
    int p[2];
    CHECK_OK(pipe2(p, O_NONBLOCK));
    static char big[65536];
    CHECK_EQ(write(p[1], big, sizeof big), 65536);
    struct pollfd pf = {p[1], POLLOUT, 0};
    CHECK_EQ(poll(&pf, 1, 0), 0);
    char buf[4096];
    CHECK_EQ(read(p[0], buf, sizeof buf), 4096);
    CHECK_EQ(poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLOUT);
}

CASE(poll_pollhup_after_writer_closes)
{
    int p[2];
    make_pipe(p);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_OK(close(p[1]));
    struct pollfd pf = {p[0], POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLIN | POLLHUP);
    char c;
    CHECK_EQ(read(p[0], &c, 1), 1);
    /* POLLHUP is reported even when not asked for. */
    pf.events = 0;
    CHECK_EQ(poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLHUP);
}

CASE(poll_pollerr_after_reader_closes)
{
    int p[2];
    make_pipe(p);
    CHECK_OK(close(p[0]));
    struct pollfd pf = {p[1], POLLOUT, 0};
    CHECK_EQ(poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLOUT | POLLERR);
}

CASE(poll_pollnval_closed_fd)
{
    int p[2];
    make_pipe(p);
    int closed = lowest_free();
    struct pollfd pf[2] = {{closed, POLLIN, 0}, {p[1], POLLOUT, 0}};
    CHECK_EQ(poll(pf, 2, 0), 2);
    CHECK_EQ(pf[0].revents, POLLNVAL);
    CHECK_EQ(pf[1].revents, POLLOUT);
}

CASE(poll_negative_fd_ignored)
{
    int p[2];
    make_pipe(p);
    CHECK_EQ(write(p[1], "x", 1), 1);
    struct pollfd pf[2] = {{-1, POLLIN, 0x55}, {-p[0], POLLIN, 0}};
    CHECK_EQ(poll(pf, 2, 0), 0);
    CHECK_EQ(pf[0].revents, 0);
    CHECK_EQ(pf[1].revents, 0);
}

CASE(poll_timeout_expires)
{
    int p[2];
    make_pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(poll(&pf, 1, 30), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms >= 29);
}

CASE(poll_blocks_until_data)
{
    int p[2];
    make_pipe(p);
    pid_t pid = write_after(p[1], 20000);
    struct pollfd pf = {p[0], POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, -1), 1);
    CHECK_EQ(pf.revents, POLLIN);
    CHECK_EXIT(pid, 0);
}

CASE(poll_no_fds_sleeps)
{
    CHECK_EQ(poll(NULL, 0, 10), 0);
}

CASE(poll_efault)
{
    CHECK_ERR(syscall(SYS_poll, BAD_PTR, 1, 0), EFAULT);
    CHECK_ERR(syscall(SYS_poll, KERNEL_PTR, 1, 0), EFAULT);
}

CASE(poll_einval_nfds_over_limit)
{
    struct rlimit rl = {32, 32};
    CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
    static struct pollfd pf[40];
    for (int i = 0; i < 40; i++)
        pf[i].fd = -1;
    CHECK_EQ(poll(pf, 32, 0), 0);
    CHECK_ERR(poll(pf, 33, 0), EINVAL);
}

CASE(poll_eintr)
{
    int p[2];
    make_pipe(p);
    interrupt_repeatedly();
    struct pollfd pf = {p[0], POLLIN, 0};
    CHECK_ERR(poll(&pf, 1, -1), EINTR);
}

CASE(ppoll_readable_and_timeout_zero)
{
    int p[2];
    make_pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};
    struct timespec ts = {0, 0};
    CHECK_EQ(ppoll(&pf, 1, &ts, NULL), 0);
    CHECK_EQ(write(p[1], "x", 1), 1);
    ts.tv_sec = 5;
    CHECK_EQ(ppoll(&pf, 1, &ts, NULL), 1);
    CHECK_EQ(pf.revents, POLLIN);
}

CASE(ppoll_timeout_updated)
{
    int p[2];
    make_pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};
    struct timespec ts = {0, 20000000};
    /* The raw call writes back the time left: none after a timeout. */
    CHECK_EQ(syscall(SYS_ppoll, &pf, 1, &ts, NULL, 8), 0);
    CHECK_EQ(ts.tv_sec, 0);
    CHECK_EQ(ts.tv_nsec, 0);
}

CASE(ppoll_sigmask_lets_signal_in)
{
    int p[2];
    make_pipe(p);
    catch_usr1();
    block_signal(SIGUSR1);
    pid_t pid = usr1_after(0);
    CHECK_EXIT(pid, 0);
    sigset_t pending, empty;
    CHECK_OK(sigpending(&pending));
    CHECK_EQ(sigismember(&pending, SIGUSR1), 1);
    sigemptyset(&empty);
    struct pollfd pf = {p[0], POLLIN, 0};
    CHECK_ERR(ppoll(&pf, 1, NULL, &empty), EINTR);
    CHECK_OK(sigpending(&pending));
    CHECK_EQ(sigismember(&pending, SIGUSR1), 0);
    /* The old mask is back: SIGUSR1 is blocked again. */
    sigset_t now;
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &now));
    CHECK_EQ(sigismember(&now, SIGUSR1), 1);
}

CASE(ppoll_einval)
{
    int p[2];
    make_pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(ppoll(&pf, 1, &bad, NULL), EINVAL);
    struct timespec neg = {-1, 0};
    CHECK_ERR(ppoll(&pf, 1, &neg, NULL), EINVAL);
    sigset_t set;
    sigemptyset(&set);
    struct timespec zero = {0, 0};
    CHECK_ERR(syscall(SYS_ppoll, &pf, 1, &zero, &set, 4), EINVAL);
}

CASE(ppoll_efault)
{
    int p[2];
    make_pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};
    CHECK_ERR(syscall(SYS_ppoll, &pf, 1, BAD_PTR, NULL, 8), EFAULT);
    CHECK_ERR(syscall(SYS_ppoll, BAD_PTR, 1, NULL, NULL, 8), EFAULT);
}

/* ---- select and pselect6 ---- */

CASE(select_reports_ready_sets)
{
    int p[2];
    make_pipe(p);
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    struct timeval tv = {0, 0};
    int nfds = (p[0] > p[1] ? p[0] : p[1]) + 1;
    CHECK_EQ(select(nfds, &r, &w, NULL, &tv), 1);
    CHECK(!FD_ISSET(p[0], &r));
    CHECK(FD_ISSET(p[1], &w));
    CHECK_EQ(write(p[1], "x", 1), 1);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    tv.tv_sec = 1;
    CHECK_EQ(select(nfds, &r, &w, NULL, &tv), 2);
    CHECK(FD_ISSET(p[0], &r));
    CHECK(FD_ISSET(p[1], &w));
}

CASE(select_raw_syscall)
{
    int p[2];
    make_pipe(p);
    CHECK_EQ(write(p[1], "x", 1), 1);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    FD_SET(p[1], &r);
    struct timeval tv = {0, 0};
    CHECK_EQ(syscall(SYS_select, FD_SETSIZE, &r, NULL, NULL, &tv), 1);
    CHECK(FD_ISSET(p[0], &r));
    CHECK(!FD_ISSET(p[1], &r));
}

CASE(select_timeout_updated)
{
    int p[2];
    make_pipe(p);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval tv = {0, 20000};
    CHECK_EQ(syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv), 0);
    CHECK(!FD_ISSET(p[0], &r));
    CHECK_EQ(tv.tv_sec, 0);
    CHECK_EQ(tv.tv_usec, 0);
}

CASE(select_ebadf)
{
    int closed = lowest_free();
    fd_set r;
    FD_ZERO(&r);
    FD_SET(closed, &r);
    struct timeval tv = {0, 0};
    CHECK_ERR(select(closed + 1, &r, NULL, NULL, &tv), EBADF);
    FD_ZERO(&r);
    FD_SET(closed, &r);
    CHECK_ERR(syscall(SYS_select, closed + 1, &r, NULL, NULL, &tv), EBADF);
}

CASE(select_einval)
{
    struct timeval tv = {0, 0};
    CHECK_ERR(select(-1, NULL, NULL, NULL, &tv), EINVAL);
    CHECK_ERR(syscall(SYS_select, -1, NULL, NULL, NULL, &tv), EINVAL);
    struct timeval bad = {0, -1};
    CHECK_ERR(syscall(SYS_select, 0, NULL, NULL, NULL, &bad), EINVAL);
}

CASE(select_efault)
{
    struct timeval tv = {0, 0};
    CHECK_ERR(syscall(SYS_select, 1, BAD_PTR, NULL, NULL, &tv), EFAULT);
    CHECK_ERR(syscall(SYS_select, 1, NULL, NULL, NULL, BAD_PTR), EFAULT);
}

CASE(select_eintr)
{
    int p[2];
    make_pipe(p);
    interrupt_repeatedly();
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    CHECK_ERR(select(p[0] + 1, &r, NULL, NULL, NULL), EINTR);
}

CASE(pselect_readable_and_timeout)
{
    int p[2];
    make_pipe(p);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timespec ts = {0, 10000000};
    CHECK_EQ(pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL), 0);
    CHECK(!FD_ISSET(p[0], &r));
    CHECK_EQ(write(p[1], "x", 1), 1);
    FD_SET(p[0], &r);
    CHECK_EQ(pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL), 1);
    CHECK(FD_ISSET(p[0], &r));
}

CASE(pselect_sigmask_lets_signal_in)
{
    int p[2];
    make_pipe(p);
    catch_usr1();
    block_signal(SIGUSR1);
    pid_t pid = usr1_after(0);
    CHECK_EXIT(pid, 0);
    sigset_t empty;
    sigemptyset(&empty);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    CHECK_ERR(pselect(p[0] + 1, &r, NULL, NULL, NULL, &empty), EINTR);
    sigset_t pending;
    CHECK_OK(sigpending(&pending));
    CHECK_EQ(sigismember(&pending, SIGUSR1), 0);
}

CASE(pselect6_raw_timeout_updated)
{
    int p[2];
    make_pipe(p);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timespec ts = {0, 20000000};
    CHECK_EQ(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, NULL), 0);
    CHECK_EQ(ts.tv_sec, 0);
    CHECK_EQ(ts.tv_nsec, 0);
}

CASE(pselect6_errors)
{
    int closed = lowest_free();
    fd_set r;
    FD_ZERO(&r);
    FD_SET(closed, &r);
    struct timespec ts = {0, 0};
    CHECK_ERR(pselect(closed + 1, &r, NULL, NULL, &ts, NULL), EBADF);
    CHECK_ERR(pselect(-1, NULL, NULL, NULL, &ts, NULL), EINVAL);
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(pselect(0, NULL, NULL, NULL, &bad, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_pselect6, 0, NULL, NULL, NULL, BAD_PTR, NULL), EFAULT);
}

/* ---- epoll ---- */

static int epoll_add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int epoll_mod(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

CASE(epoll_create1_cloexec)
{
    int a = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(fcntl(a, F_GETFD), 0);
    int b = (int)CHECK_OK(epoll_create1(EPOLL_CLOEXEC));
    CHECK_EQ(fcntl(b, F_GETFD), FD_CLOEXEC);
}

CASE(epoll_create1_einval)
{
    CHECK_ERR(epoll_create1(1), EINVAL);
    CHECK_ERR(epoll_create1(O_NONBLOCK), EINVAL);
}

CASE(epoll_create_size)
{
    int a = (int)CHECK_OK(syscall(SYS_epoll_create, 1));
    CHECK_EQ(fcntl(a, F_GETFD), 0);
    CHECK_OK(syscall(SYS_epoll_create, 1000));
    CHECK_ERR(syscall(SYS_epoll_create, 0), EINVAL);
    CHECK_ERR(syscall(SYS_epoll_create, -1), EINVAL);
}

CASE(epoll_wait_reports_data)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 0x1122334455667788ULL), 0);
    struct epoll_event ev[4];
    CHECK_EQ(epoll_wait(ep, ev, 4, 0), 0);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(epoll_wait(ep, ev, 4, 0), 1);
    CHECK_EQ(ev[0].events, EPOLLIN);
    CHECK(ev[0].data.u64 == 0x1122334455667788ULL);
}

CASE(epoll_wait_raw_syscall)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[1], EPOLLOUT, 7), 0);
    struct epoll_event ev[2];
    CHECK_EQ(syscall(SYS_epoll_wait, ep, ev, 2, 0), 1);
    CHECK_EQ(ev[0].events, EPOLLOUT);
    CHECK(ev[0].data.u64 == 7);
    CHECK_ERR(syscall(SYS_epoll_wait, ep, ev, 0, 0), EINVAL);
}

CASE(epoll_wait_blocks_until_ready)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 1), 0);
    pid_t pid = write_after(p[1], 20000);
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(ep, &ev, 1, -1), 1);
    CHECK_EQ(ev.events, EPOLLIN);
    CHECK_EXIT(pid, 0);
}

CASE(epoll_wait_timeout_expires)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 1), 0);
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(ep, &ev, 1, 20), 0);
}

CASE(epoll_level_triggered_repeats)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 1), 0);
    CHECK_EQ(write(p[1], "ab", 2), 2);
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 1);
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 1);
    char c[2];
    CHECK_EQ(read(p[0], c, 2), 2);
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
}

CASE(epoll_edge_triggered_once_per_change)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN | EPOLLET, 1), 0);
    CHECK_EQ(write(p[1], "a", 1), 1);
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 1);
    CHECK_EQ(ev.events, EPOLLIN);
    /* Still readable, but nothing new happened. */
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
    CHECK_EQ(write(p[1], "b", 1), 1);
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 1);
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
}

CASE(epoll_oneshot_until_rearmed)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN | EPOLLONESHOT, 5), 0);
    CHECK_EQ(write(p[1], "a", 1), 1);
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 1);
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
    CHECK_EQ(write(p[1], "b", 1), 1);
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
    /* Disabled, not removed: MOD rearms it (ADD would be EEXIST). */
    CHECK_ERR(epoll_add(ep, p[0], EPOLLIN, 5), EEXIST);
    CHECK_EQ(epoll_mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 6), 0);
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 1);
    CHECK(ev.data.u64 == 6);
}

CASE(epoll_mod_changes_events)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[1], EPOLLIN, 1), 0);
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
    CHECK_EQ(epoll_mod(ep, p[1], EPOLLOUT, 2), 0);
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 1);
    CHECK_EQ(ev.events, EPOLLOUT);
    CHECK(ev.data.u64 == 2);
}

CASE(epoll_del_stops_reports)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[1], EPOLLOUT, 1), 0);
    CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), 0);
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
}

CASE(epoll_close_removes_watch)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[1], EPOLLOUT, 1), 0);
    CHECK_OK(close(p[1]));
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
}

CASE(epoll_pollhup_always_reported)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 1), 0);
    CHECK_OK(close(p[1]));
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 1);
    CHECK_EQ(ev.events, EPOLLHUP);
}

CASE(epoll_maxevents_limits_batch)
{
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, a[1], EPOLLOUT, 1), 0);
    CHECK_EQ(epoll_add(ep, b[1], EPOLLOUT, 2), 0);
    struct epoll_event ev[4];
    CHECK_EQ(epoll_wait(ep, ev, 1, 0), 1);
    CHECK_EQ(epoll_wait(ep, ev, 4, 0), 2);
    CHECK(ev[0].data.u64 + ev[1].data.u64 == 3);
}

CASE(epoll_ctl_eexist_enoent)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 1), 0);
    CHECK_ERR(epoll_add(ep, p[0], EPOLLIN, 1), EEXIST);
    CHECK_ERR(epoll_mod(ep, p[1], EPOLLOUT, 1), ENOENT);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
}

CASE(epoll_ctl_ebadf)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    int closed = lowest_free();
    CHECK_ERR(epoll_add(ep, closed, EPOLLIN, 1), EBADF);
    CHECK_ERR(epoll_add(closed, p[0], EPOLLIN, 1), EBADF);
    CHECK_ERR(epoll_add(-1, p[0], EPOLLIN, 1), EBADF);
}

CASE(epoll_ctl_eperm_regular_file)
{
    write_file("f", "x");
    int fd = (int)CHECK_OK(open("f", O_RDONLY));
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_ERR(epoll_add(ep, fd, EPOLLIN, 1), EPERM);
}

CASE(epoll_ctl_einval)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    /* Into itself. */
    CHECK_ERR(epoll_add(ep, ep, EPOLLIN, 1), EINVAL);
    /* The first descriptor is not an epoll instance. */
    CHECK_ERR(epoll_add(p[0], p[1], EPOLLOUT, 1), EINVAL);
    /* An unknown operation. */
    struct epoll_event ev = {EPOLLIN, {0}};
    CHECK_ERR(epoll_ctl(ep, 99, p[0], &ev), EINVAL);
    /* EPOLLEXCLUSIVE cannot be given to MOD. */
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 1), 0);
    CHECK_ERR(epoll_mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 1), EINVAL);
}

CASE(epoll_ctl_efault)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_ERR(syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], KERNEL_PTR), EFAULT);
}

CASE(epoll_nested_and_eloop)
{
    int p[2];
    make_pipe(p);
    int a = (int)CHECK_OK(epoll_create1(0));
    int b = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(a, p[1], EPOLLOUT, 1), 0);
    CHECK_EQ(epoll_add(b, a, EPOLLIN, 2), 0);
    /* b sees a as readable because a has an event ready. */
    struct epoll_event ev;
    CHECK_EQ(epoll_wait(b, &ev, 1, 0), 1);
    CHECK_EQ(ev.events, EPOLLIN);
    CHECK(ev.data.u64 == 2);
    CHECK_ERR(epoll_add(a, b, EPOLLIN, 3), ELOOP);
}

CASE(epoll_wait_einval)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    struct epoll_event ev;
    CHECK_ERR(epoll_wait(ep, &ev, 0, 0), EINVAL);
    CHECK_ERR(syscall(SYS_epoll_wait, ep, &ev, -1, 0), EINVAL);
    CHECK_ERR(epoll_wait(p[0], &ev, 1, 0), EINVAL);
    int closed = lowest_free();
    CHECK_ERR(epoll_wait(closed, &ev, 1, 0), EBADF);
}

CASE(epoll_wait_efault)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[1], EPOLLOUT, 1), 0);
    CHECK_ERR(syscall(SYS_epoll_wait, ep, KERNEL_PTR, 1, 0), EFAULT);
    CHECK_ERR(syscall(SYS_epoll_wait, ep, BAD_PTR, 1, 0), EFAULT);
}

CASE(epoll_pwait_sigmask_lets_signal_in)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 1), 0);
    catch_usr1();
    block_signal(SIGUSR1);
    pid_t pid = usr1_after(0);
    CHECK_EXIT(pid, 0);
    sigset_t empty;
    sigemptyset(&empty);
    struct epoll_event ev;
    CHECK_ERR(epoll_pwait(ep, &ev, 1, -1, &empty), EINTR);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(epoll_pwait(ep, &ev, 1, 0, &empty), 1);
    CHECK_ERR(syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &empty, 4), EINVAL);
}

CASE(epoll_pwait2_timespec)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 1), 0);
    struct epoll_event ev;
    struct timespec ts = {0, 10000000};
    CHECK_EQ(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8), 0);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(syscall(SYS_epoll_pwait2, ep, &ev, 1, NULL, NULL, 8), 1);
    struct timespec bad = {0, -1};
    CHECK_ERR(syscall(SYS_epoll_pwait2, ep, &ev, 1, &bad, NULL, 8), EINVAL);
}

CASE(epoll_eintr)
{
    int p[2];
    make_pipe(p);
    int ep = (int)CHECK_OK(epoll_create1(0));
    CHECK_EQ(epoll_add(ep, p[0], EPOLLIN, 1), 0);
    interrupt_repeatedly();
    struct epoll_event ev;
    CHECK_ERR(epoll_wait(ep, &ev, 1, -1), EINTR);
}

/* ---- eventfd ---- */

CASE(eventfd_counter_adds_and_resets)
{
    int fd = (int)CHECK_OK(eventfd(3, EFD_NONBLOCK));
    uint64_t v = 2;
    CHECK_EQ(write(fd, &v, 8), 8);
    v = 0;
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK(v == 5);
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
}

CASE(eventfd_semaphore_counts_down)
{
    int fd = (int)CHECK_OK(eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK));
    uint64_t v = 0;
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK(v == 1);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK(v == 1);
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
}

CASE(eventfd_flags)
{
    int fd = (int)CHECK_OK(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_NONBLOCK | O_RDWR);
    CHECK_ERR(eventfd(0, O_APPEND), EINVAL);
    CHECK_ERR(syscall(SYS_eventfd2, 0, O_APPEND), EINVAL);
}

CASE(eventfd_raw_syscall)
{
    int fd = (int)CHECK_OK(syscall(SYS_eventfd, 4));
    CHECK_EQ(fcntl(fd, F_GETFD), 0);
    uint64_t v = 0;
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK(v == 4);
    struct rlimit rl = {(rlim_t)fd + 1, (rlim_t)fd + 1};
    CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
    /* Every slot below the limit is taken. */
    for (int i = 0; i < fd; i++)
        if (fcntl(i, F_GETFD) == -1)
            CHECK_EQ(dup2(fd, i), i);
    CHECK_ERR(syscall(SYS_eventfd, 0), EMFILE);
    CHECK_ERR(eventfd(0, 0), EMFILE);
}

CASE(eventfd_eight_byte_rule)
{
    int fd = (int)CHECK_OK(eventfd(1, 0));
    uint32_t small = 1;
    CHECK_ERR(read(fd, &small, 4), EINVAL);
    CHECK_ERR(write(fd, &small, 4), EINVAL);
    uint64_t max = UINT64_MAX;
    CHECK_ERR(write(fd, &max, 8), EINVAL);
    /* A larger buffer is fine: eight bytes move. */
    uint64_t big[2] = {0, 0};
    CHECK_EQ(read(fd, big, 16), 8);
    CHECK(big[0] == 1);
}

CASE(eventfd_write_full_eagain)
{
    int fd = (int)CHECK_OK(eventfd(0, EFD_NONBLOCK));
    uint64_t v = UINT64_MAX - 1;
    CHECK_EQ(write(fd, &v, 8), 8);
    v = 1;
    CHECK_ERR(write(fd, &v, 8), EAGAIN);
    struct pollfd pf = {fd, POLLIN | POLLOUT, 0};
    CHECK_EQ(poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLIN);
}

CASE(eventfd_blocking_read_waits)
{
    int fd = (int)CHECK_OK(eventfd(0, 0));
    pid_t pid = case_fork();
    if (pid == 0) {
        usleep(20000);
        uint64_t one = 9;
        _exit(write(fd, &one, 8) == 8 ? 0 : 1);
    }
    uint64_t v = 0;
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK(v == 9);
    CHECK_EXIT(pid, 0);
}

CASE(eventfd_poll_states)
{
    int fd = (int)CHECK_OK(eventfd(0, EFD_NONBLOCK));
    struct pollfd pf = {fd, POLLIN | POLLOUT, 0};
    CHECK_EQ(poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLOUT);
    uint64_t v = 1;
    CHECK_EQ(write(fd, &v, 8), 8);
    CHECK_EQ(poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLIN | POLLOUT);
}

CASE(eventfd_read_efault)
{
    int fd = (int)CHECK_OK(eventfd(1, 0));
    CHECK_ERR(syscall(SYS_read, fd, BAD_PTR, 8), EFAULT);
    CHECK_ERR(syscall(SYS_write, fd, BAD_PTR, 8), EFAULT);
}

/* ---- timerfd ---- */

CASE(timerfd_create_flags)
{
    int a = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    CHECK_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(a, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    int b = (int)CHECK_OK(timerfd_create(CLOCK_REALTIME, 0));
    CHECK_EQ(fcntl(b, F_GETFD), 0);
}

CASE(timerfd_create_einval)
{
    CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
    CHECK_ERR(timerfd_create(-1, 0), EINVAL);
    CHECK_ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    CHECK_ERR(timerfd_create(12345, 0), EINVAL);
}

CASE(timerfd_oneshot_expires)
{
    int fd = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    struct itimerspec its = {{0, 0}, {0, 10000000}};
    CHECK_EQ(timerfd_settime(fd, 0, &its, NULL), 0);
    uint64_t n = 0;
    CHECK_EQ(read(fd, &n, 8), 8);
    CHECK(n == 1);
    struct itimerspec cur;
    CHECK_EQ(timerfd_gettime(fd, &cur), 0);
    CHECK_EQ(cur.it_value.tv_sec, 0);
    CHECK_EQ(cur.it_value.tv_nsec, 0);
    CHECK_EQ(cur.it_interval.tv_nsec, 0);
}

CASE(timerfd_nonblock_before_expiry_eagain)
{
    int fd = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    uint64_t n;
    CHECK_ERR(read(fd, &n, 8), EAGAIN);
    struct itimerspec its = {{0, 0}, {100, 0}};
    CHECK_EQ(timerfd_settime(fd, 0, &its, NULL), 0);
    CHECK_ERR(read(fd, &n, 8), EAGAIN);
    struct pollfd pf = {fd, POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 0), 0);
}

CASE(timerfd_gettime_reports_remaining)
{
    int fd = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    struct itimerspec its = {{2, 500}, {100, 0}};
    struct itimerspec old;
    CHECK_EQ(timerfd_settime(fd, 0, &its, &old), 0);
    CHECK_EQ(old.it_value.tv_sec, 0);
    CHECK_EQ(old.it_value.tv_nsec, 0);
    struct itimerspec cur;
    CHECK_EQ(timerfd_gettime(fd, &cur), 0);
    CHECK(cur.it_value.tv_sec >= 98 && cur.it_value.tv_sec <= 99);
    CHECK_EQ(cur.it_interval.tv_sec, 2);
    CHECK_EQ(cur.it_interval.tv_nsec, 500);
    /* Setting again returns the previous setting, and zero disarms. */
    struct itimerspec off = {{0, 0}, {0, 0}};
    CHECK_EQ(timerfd_settime(fd, 0, &off, &old), 0);
    CHECK(old.it_value.tv_sec >= 98 && old.it_value.tv_sec <= 99);
    CHECK_EQ(old.it_interval.tv_sec, 2);
    CHECK_EQ(timerfd_gettime(fd, &cur), 0);
    CHECK_EQ(cur.it_value.tv_sec, 0);
    CHECK_EQ(cur.it_value.tv_nsec, 0);
}

CASE(timerfd_interval_counts_expirations)
{
    int fd = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    struct itimerspec its = {{0, 5000000}, {0, 5000000}};
    CHECK_EQ(timerfd_settime(fd, 0, &its, NULL), 0);
    usleep(40000);
    uint64_t n = 0;
    CHECK_EQ(read(fd, &n, 8), 8);
    CHECK(n >= 2);
    /* Still armed: the next read waits for the next period. */
    CHECK_EQ(read(fd, &n, 8), 8);
    CHECK(n >= 1);
}

CASE(timerfd_abstime_in_past_fires_now)
{
    int fd = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    struct timespec now;
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &now));
    struct itimerspec its = {{0, 0}, {now.tv_sec > 1 ? now.tv_sec - 1 : 0, 1}};
    CHECK_EQ(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL), 0);
    /* Linux fires it from the timer interrupt, not within settime: wait for it. */
    uint64_t n = 0;
    CHECK_EQ(read(fd, &n, 8), 8);
    CHECK(n == 1);
    struct itimerspec cur;
    CHECK_EQ(timerfd_gettime(fd, &cur), 0);
    CHECK_EQ(cur.it_value.tv_sec, 0);
    CHECK_EQ(cur.it_value.tv_nsec, 0);
}

CASE(timerfd_settime_einval)
{
    int fd = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    struct itimerspec bad = {{0, 0}, {0, 1000000000}};
    CHECK_ERR(timerfd_settime(fd, 0, &bad, NULL), EINVAL);
    struct itimerspec badi = {{0, -1}, {1, 0}};
    CHECK_ERR(timerfd_settime(fd, 0, &badi, NULL), EINVAL);
    struct itimerspec ok = {{0, 0}, {1, 0}};
    CHECK_ERR(timerfd_settime(fd, 0x100, &ok, NULL), EINVAL);
    int p[2];
    make_pipe(p);
    CHECK_ERR(timerfd_settime(p[0], 0, &ok, NULL), EINVAL);
    CHECK_ERR(timerfd_settime(lowest_free(), 0, &ok, NULL), EBADF);
}

CASE(timerfd_settime_efault)
{
    int fd = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    CHECK_ERR(syscall(SYS_timerfd_settime, fd, 0, BAD_PTR, NULL), EFAULT);
    struct itimerspec ok = {{0, 0}, {1, 0}};
    CHECK_ERR(syscall(SYS_timerfd_settime, fd, 0, &ok, KERNEL_PTR), EFAULT);
}

CASE(timerfd_gettime_errors)
{
    int fd = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    CHECK_ERR(syscall(SYS_timerfd_gettime, fd, BAD_PTR), EFAULT);
    int p[2];
    make_pipe(p);
    struct itimerspec cur;
    CHECK_ERR(timerfd_gettime(p[0], &cur), EINVAL);
    CHECK_ERR(timerfd_gettime(-1, &cur), EBADF);
}

CASE(timerfd_read_small_buffer_einval)
{
    int fd = (int)CHECK_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    uint32_t small;
    CHECK_ERR(read(fd, &small, 4), EINVAL);
}

/* ---- signalfd ---- */

CASE(signalfd_reads_blocked_signal)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    int fd = (int)CHECK_OK(signalfd(-1, &set, SFD_NONBLOCK));
    CHECK_OK(kill(getpid(), SIGUSR1));
    struct pollfd pf = {fd, POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 0), 1);
    struct signalfd_siginfo si;
    memset(&si, 0, sizeof si);
    CHECK_EQ(read(fd, &si, sizeof si), (long)sizeof si);
    CHECK_EQ(si.ssi_signo, SIGUSR1);
    CHECK_EQ(si.ssi_code, SI_USER);
    CHECK_EQ(si.ssi_pid, getpid());
    CHECK_EQ(si.ssi_uid, getuid());
    /* Consumed: no longer pending, nothing more to read. */
    sigset_t pending;
    CHECK_OK(sigpending(&pending));
    CHECK_EQ(sigismember(&pending, SIGUSR1), 0);
    CHECK_ERR(read(fd, &si, sizeof si), EAGAIN);
}

CASE(signalfd_blocking_read_waits)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    int fd = (int)CHECK_OK(signalfd(-1, &set, SFD_CLOEXEC));
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    pid_t parent = getpid();
    pid_t pid = case_fork();
    if (pid == 0) {
        usleep(20000);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    struct signalfd_siginfo si;
    CHECK_EQ(read(fd, &si, sizeof si), (long)sizeof si);
    CHECK_EQ(si.ssi_signo, SIGUSR2);
    CHECK_EQ(si.ssi_pid, pid);
    CHECK_EXIT(pid, 0);
}

CASE(signalfd_update_mask)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    int fd = (int)CHECK_OK(signalfd(-1, &one, SFD_NONBLOCK));
    CHECK_OK(kill(getpid(), SIGUSR2));
    struct signalfd_siginfo si;
    CHECK_ERR(read(fd, &si, sizeof si), EAGAIN);
    sigset_t two;
    sigemptyset(&two);
    sigaddset(&two, SIGUSR2);
    CHECK_EQ(signalfd(fd, &two, 0), fd);
    CHECK_EQ(read(fd, &si, sizeof si), (long)sizeof si);
    CHECK_EQ(si.ssi_signo, SIGUSR2);
}

CASE(signalfd_raw_syscall)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    int fd = (int)CHECK_OK(syscall(SYS_signalfd, -1, &set, 8));
    CHECK_EQ(fcntl(fd, F_GETFD), 0);
    CHECK_OK(kill(getpid(), SIGUSR1));
    struct signalfd_siginfo si;
    CHECK_EQ(read(fd, &si, sizeof si), (long)sizeof si);
    CHECK_EQ(si.ssi_signo, SIGUSR1);
    CHECK_ERR(syscall(SYS_signalfd, -1, &set, 4), EINVAL);
    CHECK_ERR(syscall(SYS_signalfd, -1, BAD_PTR, 8), EFAULT);
}

CASE(signalfd4_einval)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_ERR(signalfd(-1, &set, 1), EINVAL);
    CHECK_ERR(syscall(SYS_signalfd4, -1, &set, 16, 0), EINVAL);
    int p[2];
    make_pipe(p);
    /* An existing descriptor that is not a signalfd. */
    CHECK_ERR(signalfd(p[0], &set, 0), EINVAL);
    CHECK_ERR(signalfd(lowest_free(), &set, 0), EBADF);
    CHECK_ERR(syscall(SYS_signalfd4, -1, BAD_PTR, 8, 0), EFAULT);
}

CASE(signalfd_read_small_buffer_einval)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    int fd = (int)CHECK_OK(signalfd(-1, &set, SFD_NONBLOCK));
    char small[64];
    CHECK_ERR(read(fd, small, sizeof small), EINVAL);
}
