/* Record locks through fcntl and signalfd. Locks: F_SETLK conflicts between a parent and a
 * child, F_GETLK reporting the holder, all of a process's locks gone when it closes any
 * descriptor for the file and when it exits, F_SETLKW waiting for the holder, interrupted by
 * SIGALRM (EINTR without SA_RESTART, restarted with it), EDEADLK for a two-process cycle,
 * argument errors, and OFD locks owned by open file descriptions. signalfd: blocked signals
 * read as struct signalfd_siginfo (signo, pid, code, sigqueue's value), poll and epoll,
 * SFD_NONBLOCK, a blocking read woken by another process, mask updates and errors, and a
 * child's signalfd reading the child's signals. Only deterministic facts are printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#endif

#define LOCKFILE "/tmp/locks_sigfd"

static const char *en(int e)
{
	switch (e) {
	case EACCES: return "EACCES";
	case EAGAIN: return "EAGAIN";
	case EBADF: return "EBADF";
	case EDEADLK: return "EDEADLK";
	case EINTR: return "EINTR";
	case EINVAL: return "EINVAL";
	case EOVERFLOW: return "EOVERFLOW";
	default: return "other";
	}
}

/* The call's result as "N" or "-1 ERRNO". */
static const char *res(long r)
{
	static char b[8][32];
	static int i;
	i = (i + 1) % 8;
	if (r >= 0)
		snprintf(b[i], sizeof b[i], "%ld", r);
	else
		snprintf(b[i], sizeof b[i], "-1 %s", en(errno));
	return b[i];
}

static int lk(int fd, int cmd, int type, off_t start, off_t len)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return fcntl(fd, cmd, &fl);
}

/* F_GETLK (or F_OFD_GETLK) for a write lock over [start, start+len). */
static struct flock getlk(int fd, int cmd, off_t start, off_t len)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	if (fcntl(fd, cmd, &fl) < 0)
		fl.l_type = -1;
	return fl;
}

static const char *tname(int t)
{
	return t == F_RDLCK ? "RD" : t == F_WRLCK ? "WR" : t == F_UNLCK ? "UN" : "?";
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int wait_status(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void put(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(90);
}

static char get(int fd)
{
	char c = 0;
	if (read(fd, &c, 1) != 1)
		return 0;
	return c;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void arm_alarm(int restart, int ms)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, ms * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static void record_locks(void)
{
	mkdir("/tmp", 0777);
	int fd = open(LOCKFILE, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char zeros[200] = { 0 };
	if (fd < 0 || write(fd, zeros, sizeof zeros) != (ssize_t)sizeof zeros) {
		printf("setup failed\n");
		exit(1);
	}
	int up[2], down[2];
	if (pipe(up) < 0 || pipe(down) < 0)
		exit(1);

	/* Conflicts: the parent write-locks [0,10); the child tries. */
	printf("parent setlk: %s\n", res(lk(fd, F_SETLK, F_WRLCK, 0, 10)));
	const char *x = res(lk(fd, F_SETLK, F_RDLCK, 0, 10));
	const char *y = res(lk(fd, F_SETLK, F_WRLCK, 0, 10));
	printf("own lock again, as read: %s, back to write: %s\n", x, y);
	fflush(stdout);
	pid_t me = getpid();
	pid_t c = fork();
	if (c == 0) {
		int cfd = open(LOCKFILE, O_RDWR);
		int r = lk(cfd, F_SETLK, F_WRLCK, 5, 10);
		int e = errno;
		struct flock q = getlk(cfd, F_GETLK, 5, 1);
		int code = 0;
		if (r == -1 && e == EAGAIN)
			code |= 1;
		if (r == -1 && e == EACCES)
			code |= 2;
		if (q.l_type == F_WRLCK && q.l_start == 0 && q.l_len == 10 && q.l_pid == me && q.l_whence == SEEK_SET)
			code |= 4;
		if (lk(cfd, F_SETLK, F_RDLCK, 10, 5) == 0)
			code |= 8;
		_exit(code);
	}
	int code = wait_status(c);
	printf("child setlk on a held range: %s, F_GETLK names the parent %d, beside it %d\n",
	       code & 1 ? "-1 EAGAIN" : code & 2 ? "-1 EACCES" : "?", !!(code & 4), !!(code & 8));

	/* The child holds [50,60); the parent asks who, waits for it in F_SETLKW, and the child
	 * lets go by closing another descriptor of the file. */
	c = fork();
	if (c == 0) {
		int cfd = open(LOCKFILE, O_RDWR);
		if (lk(cfd, F_SETLK, F_WRLCK, 50, 10) < 0)
			_exit(1);
		put(up[1], 'l');
		get(down[0]);
		msleep(100);
		int other = open(LOCKFILE, O_RDONLY);
		close(other);
		get(down[0]);
		_exit(0);
	}
	get(up[0]);
	struct flock q = getlk(fd, F_GETLK, 0, 0);
	printf("F_GETLK whole file: type %s start %ld len %ld, holder is child: %d\n", tname(q.l_type),
	       (long)q.l_start, (long)q.l_len, q.l_pid == c);
	printf("parent setlk on it: %s\n", res(lk(fd, F_SETLK, F_WRLCK, 55, 1)));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	put(down[1], 'g');
	int r = lk(fd, F_SETLKW, F_WRLCK, 55, 1);
	long waited = ms_since(&t0);
	printf("setlkw after the child closed another descriptor: %s, waited %d\n", res(r), waited >= 50);
	put(down[1], 'e');
	printf("child: %d\n", wait_status(c));

	/* A process's locks go when it exits. */
	c = fork();
	if (c == 0) {
		int cfd = open(LOCKFILE, O_RDWR);
		_exit(lk(cfd, F_SETLK, F_WRLCK, 100, 10) == 0 ? 0 : 1);
	}
	code = wait_status(c);
	printf("child locked and exited: %d, range free: %s\n", code, res(lk(fd, F_SETLK, F_WRLCK, 100, 10)));
	lk(fd, F_SETLK, F_UNLCK, 0, 0);

	/* F_SETLKW and SIGALRM: EINTR without SA_RESTART, restarted with it. */
	c = fork();
	if (c == 0) {
		int cfd = open(LOCKFILE, O_RDWR);
		lk(cfd, F_SETLK, F_WRLCK, 0, 1);
		put(up[1], 'l');
		get(down[0]);
		msleep(300);
		lk(cfd, F_SETLK, F_UNLCK, 0, 1);
		get(down[0]);
		_exit(0);
	}
	get(up[0]);
	alarms = 0;
	arm_alarm(0, 50);
	r = lk(fd, F_SETLKW, F_WRLCK, 0, 1);
	printf("setlkw, SIGALRM without SA_RESTART: %s, handler ran %d\n", res(r), alarms);
	alarms = 0;
	arm_alarm(1, 50);
	put(down[1], 'g');
	r = lk(fd, F_SETLKW, F_WRLCK, 0, 1);
	printf("setlkw, SIGALRM with SA_RESTART: %s, handler ran %d\n", res(r), alarms);
	put(down[1], 'e');
	printf("child: %d\n", wait_status(c));
	signal(SIGALRM, SIG_DFL);
	lk(fd, F_SETLK, F_UNLCK, 0, 0);

	/* EDEADLK: the parent holds [0,1), the child [1,2) and waits for [0,1); the parent
	 * asking for [1,2) would close the cycle. */
	printf("parent holds 0: %s\n", res(lk(fd, F_SETLK, F_WRLCK, 0, 1)));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		int cfd = open(LOCKFILE, O_RDWR);
		lk(cfd, F_SETLK, F_WRLCK, 1, 1);
		put(up[1], 'l');
		int rr = lk(cfd, F_SETLKW, F_WRLCK, 0, 1);
		_exit(rr == 0 ? 0 : 1);
	}
	get(up[0]);
	msleep(100);
	r = lk(fd, F_SETLKW, F_WRLCK, 1, 1);
	printf("deadlock: %s\n", res(r));
	lk(fd, F_SETLK, F_UNLCK, 0, 1);
	printf("child got the lock: %d\n", wait_status(c));

	/* Argument rules. */
	int ro = open(LOCKFILE, O_RDONLY), wo = open(LOCKFILE, O_WRONLY);
	x = res(lk(ro, F_SETLK, F_WRLCK, 0, 1));
	y = res(lk(wo, F_SETLK, F_RDLCK, 0, 1));
	const char *z = res(lk(ro, F_SETLK, F_UNLCK, 0, 1));
	printf("write lock on O_RDONLY: %s, read lock on O_WRONLY: %s, unlock on O_RDONLY: %s\n", x, y, z);
	close(ro);
	close(wo);
	struct flock bad;
	memset(&bad, 0, sizeof bad);
	bad.l_type = F_WRLCK;
	bad.l_whence = 7;
	int e1 = fcntl(fd, F_SETLK, &bad);
	int e1n = errno;
	bad.l_whence = SEEK_SET;
	bad.l_type = F_UNLCK;
	int e2 = fcntl(fd, F_GETLK, &bad);
	int e2n = errno;
	bad.l_type = 9;
	int e3 = fcntl(fd, F_SETLK, &bad);
	int e3n = errno;
	errno = e1n;
	printf("bad whence: %s, ", res(e1));
	errno = e2n;
	printf("F_GETLK of F_UNLCK: %s, ", res(e2));
	errno = e3n;
	printf("bad type: %s\n", res(e3));
	x = res(lk(fd, F_SETLK, F_WRLCK, -1, 1));
	y = res(lk(fd, F_SETLK, F_WRLCK, 2, -3));
	z = res(lk(99, F_SETLK, F_WRLCK, 0, 1));
	printf("start before 0: %s, negative len past 0: %s, bad fd: %s\n", x, y, z);
	x = res(lk(fd, F_SETLK, F_WRLCK, 0x7fffffffffffffffL, 2));
	y = res(lk(fd, F_SETLK, F_WRLCK, 0x7fffffffffffffffL, 1));
	printf("past the largest offset: %s, up to it: %s\n", x, y);
	lk(fd, F_SETLK, F_UNLCK, 0, 0);
	/* A negative length covers the bytes before l_start; SEEK_END counts from the size. */
	lk(fd, F_SETLK, F_WRLCK, 30, -10);
	fflush(stdout);
	c = fork();
	if (c == 0) {
		int cfd = open(LOCKFILE, O_RDWR);
		struct flock g = getlk(cfd, F_GETLK, 0, 0);
		struct flock fl;
		memset(&fl, 0, sizeof fl);
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_END;
		fl.l_start = -180;
		fl.l_len = 1;
		int rr = fcntl(cfd, F_SETLK, &fl);
		_exit((g.l_start == 20 && g.l_len == 10) | (rr == -1) << 1);
	}
	code = wait_status(c);
	printf("negative length seen as [20,30): %d, SEEK_END-180 conflicts: %d\n", code & 1, !!(code & 2));
	lk(fd, F_SETLK, F_UNLCK, 0, 0);

	/* OFD locks: owned by the open file description. */
	int a = open(LOCKFILE, O_RDWR), b = open(LOCKFILE, O_RDWR);
	x = res(lk(a, F_OFD_SETLK, F_WRLCK, 0, 10));
	y = res(lk(b, F_OFD_SETLK, F_WRLCK, 5, 1));
	printf("ofd a: %s, ofd b: %s\n", x, y);
	q = getlk(b, F_OFD_GETLK, 0, 0);
	printf("F_OFD_GETLK from b: type %s start %ld len %ld pid %d\n", tname(q.l_type), (long)q.l_start,
	       (long)q.l_len, q.l_pid);
	q = getlk(fd, F_GETLK, 0, 0);
	x = res(lk(fd, F_SETLK, F_RDLCK, 0, 1));
	printf("F_GETLK (process): type %s pid %d; F_SETLK: %s\n", tname(q.l_type), q.l_pid, x);
	struct flock p1;
	memset(&p1, 0, sizeof p1);
	p1.l_type = F_WRLCK;
	p1.l_pid = 1;
	printf("ofd with l_pid 1: %s\n", res(fcntl(a, F_OFD_SETLK, &p1)));
	int a2 = dup(a);
	close(a2);
	printf("closing a dup of a: b still %s\n", res(lk(b, F_OFD_SETLK, F_WRLCK, 5, 1)));
	/* Closing another descriptor of the file does not drop an OFD lock (b stays locked out). */
	int other = open(LOCKFILE, O_RDONLY);
	close(other);
	printf("closing another description: b still %s\n", res(lk(b, F_OFD_SETLK, F_WRLCK, 5, 1)));
	close(a);
	printf("after a's last close: b %s\n", res(lk(b, F_OFD_SETLK, F_WRLCK, 5, 1)));
	/* b's OFD lock against this process's own classic lock. */
	x = res(lk(fd, F_SETLK, F_WRLCK, 0, 10));
	fflush(stdout);
	c = fork();
	if (c == 0)
		_exit(lk(b, F_OFD_SETLK, F_WRLCK, 5, 1) == 0 ? 0 : 1);
	printf("process lock over b's: %s; the child's copy of b owns it too: %d\n", x, wait_status(c) == 0);
	close(b);
	close(fd);
	unlink(LOCKFILE);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

/* Reads one signalfd_siginfo; returns the read's result. */
static long sfd_read(int sfd, struct signalfd_siginfo *si)
{
	memset(si, 0, sizeof *si);
	return read(sfd, si, sizeof *si);
}

static void signalfds(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, 0);
	printf("signalfd: %d\n", sfd >= 0);
	pid_t me = getpid();

	kill(me, SIGUSR1);
	raise(SIGUSR2);
	struct signalfd_siginfo si[3];
	memset(si, 0, sizeof si);
	long n = read(sfd, si, sizeof si);
	printf("read both: %ld bytes\n", n);
	for (int i = 0; i < 2; i++)
		printf("  signo %u, pid is mine %d, code %d, errno %d\n", si[i].ssi_signo, si[i].ssi_pid == (unsigned)me,
		       si[i].ssi_code, si[i].ssi_errno);

	union sigval v;
	memset(&v, 0, sizeof v);
	v.sival_int = 1234;
	sigqueue(me, SIGUSR1, v);
	struct signalfd_siginfo one;
	n = sfd_read(sfd, &one);
	printf("sigqueue: %ld, signo %u, code %d, int %d, ptr %llu, pid is mine %d\n", n, one.ssi_signo, one.ssi_code,
	       one.ssi_int, (unsigned long long)one.ssi_ptr, one.ssi_pid == (unsigned)me);
	char small[100];
	printf("short buffer: %s\n", res(read(sfd, small, sizeof small)));

	/* poll and epoll. */
	struct pollfd pfd = { sfd, POLLIN, 0 };
	printf("poll idle: %d\n", poll(&pfd, 1, 0));
	kill(me, SIGUSR2);
	pfd.revents = 0;
	int pr = poll(&pfd, 1, 0);
	printf("poll pending: %d revents %#x\n", pr, pfd.revents);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 77 }, out;
	printf("epoll add: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev)));
	memset(&out, 0, sizeof out);
	int er = epoll_wait(ep, &out, 1, 0);
	printf("epoll pending: %d events %#x data %llu\n", er, out.events, (unsigned long long)out.data.u64);
	n = sfd_read(sfd, &one);
	printf("read it: %ld signo %u\n", n, one.ssi_signo);
	er = epoll_wait(ep, &out, 1, 0);
	pr = poll(&pfd, 1, 0);
	printf("epoll drained: %d, poll drained: %d\n", er, pr);

	/* Woken by another process: a blocking read, then a blocking epoll_wait and poll. */
	int sync[2];
	if (pipe(sync) < 0)
		exit(1);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < 3; i++) {
			get(sync[0]);
			msleep(50);
			kill(getppid(), i == 1 ? SIGUSR2 : SIGUSR1);
		}
		_exit(0);
	}
	put(sync[1], 'a');
	n = sfd_read(sfd, &one);
	printf("blocking read: %ld signo %u, from the child %d, code %d\n", n, one.ssi_signo, one.ssi_pid == (unsigned)c,
	       one.ssi_code);
	put(sync[1], 'b');
	memset(&out, 0, sizeof out);
	er = epoll_wait(ep, &out, 1, 5000);
	n = sfd_read(sfd, &one);
	printf("blocking epoll_wait: %d events %#x, then read signo %u\n", er, out.events, one.ssi_signo);
	put(sync[1], 'c');
	pfd.revents = 0;
	pr = poll(&pfd, 1, 5000);
	n = sfd_read(sfd, &one);
	printf("blocking poll: %d revents %#x, then read signo %u\n", pr, pfd.revents, one.ssi_signo);
	printf("child: %d\n", wait_status(c));

	/* SFD_NONBLOCK, a mask update, errors. */
	int nb = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	const char *x = res(sfd_read(nb, &one));
	printf("nonblock empty: %s, flags nonblock %d cloexec %d\n", x, !!(fcntl(nb, F_GETFL) & O_NONBLOCK),
	       fcntl(nb, F_GETFD) == FD_CLOEXEC);
	sigset_t only2;
	sigemptyset(&only2);
	sigaddset(&only2, SIGUSR2);
	printf("update mask: same fd %d\n", signalfd(nb, &only2, 0) == nb);
	kill(me, SIGUSR1);
	printf("SIGUSR1 outside the mask: %s\n", res(sfd_read(nb, &one)));
	sigset_t pend;
	sigpending(&pend);
	printf("still pending: %d\n", sigismember(&pend, SIGUSR1));
	n = sfd_read(sfd, &one);
	printf("the other signalfd reads it: %ld signo %u\n", n, one.ssi_signo);
	printf("write: %s\n", res(write(sfd, &one, sizeof one)));
	x = res(signalfd(-1, &mask, 0x1234));
	const char *y = res(signalfd(ep, &mask, 0));
	const char *z = res(signalfd(99, &mask, 0));
	const char *w = res(syscall(SYS_signalfd4, -1, &mask, 4, 0));
	printf("bad flags: %s, not a signalfd: %s, bad fd: %s, sizemask 4: %s\n", x, y, z, w);

	/* Across fork: the child's signalfd reads the child's signals. */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		put(sync[1], 'r');
		n = sfd_read(sfd, &one);
		_exit(n == sizeof one && one.ssi_signo == SIGUSR2 && one.ssi_pid == (unsigned)getppid() ? 0 : 1);
	}
	get(sync[0]);
	msleep(50);
	kill(c, SIGUSR2);
	printf("child read its own SIGUSR2 from the parent: %d\n", wait_status(c) == 0);
	printf("parent has none: %s\n", res(sfd_read(nb, &one)));
	close(nb);
	close(ep);
	close(sfd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	record_locks();
	signalfds();
	printf("locks_sigfd: done\n");
	return 0;
}
