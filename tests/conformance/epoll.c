/* Readiness: an epoll echo between processes (the parent multiplexes three pipes and an
 * eventfd from a forked child that echoes through its own epoll), level-triggered,
 * edge-triggered and one-shot registrations (re-armed by EPOLL_CTL_MOD), nested epoll and
 * poll on an epoll fd, epoll_ctl's errors, registrations gone with the file's last close,
 * eventfd counter and semaphore modes, timerfd expiry counts, flock between two open file
 * descriptions (EWOULDBLOCK, released at the last close, EINTR), F_GETPIPE_SZ/F_SETPIPE_SZ,
 * and epoll_pwait whose mask lets a signal in (EINTR, the handler ran, the old mask back).
 * Only deterministic facts are printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

#define NPIPES 3
#define NMSG 4

static const char *en(int e)
{
	switch (e) {
	case EAGAIN: return "EAGAIN";
	case EBADF: return "EBADF";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EINTR: return "EINTR";
	case EINVAL: return "EINVAL";
	case ELOOP: return "ELOOP";
	case ENOENT: return "ENOENT";
	case EPERM: return "EPERM";
	default: return "other";
	}
}

/* The call's result as "0" or "-1 ERRNO". */
static const char *res(int r)
{
	static char b[8][32];
	static int i;
	i = (i + 1) % 8;
	if (r >= 0)
		snprintf(b[i], sizeof b[i], "%d", r);
	else
		snprintf(b[i], sizeof b[i], "-1 %s", en(errno));
	return b[i];
}

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data = { .u64 = data } };
	return epoll_ctl(ep, op, fd, &ev);
}

/* Events ready now (timeout 0). */
static int ready(int ep)
{
	struct epoll_event ev[8];
	return epoll_wait(ep, ev, 8, 0);
}

/* The child of the echo: echoes each message on pipe i back uppercased on pipe i, with
 * the pipes multiplexed by its own epoll; at the end of every input, adds 42 to the
 * eventfd. */
static void echo_child(int in[NPIPES], int out[NPIPES], int efd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), open_ins = NPIPES;
	for (int i = 0; i < NPIPES; i++)
		ctl(ep, EPOLL_CTL_ADD, in[i], EPOLLIN, i);
	while (open_ins > 0) {
		struct epoll_event ev[NPIPES];
		int n = epoll_wait(ep, ev, NPIPES, 5000);
		if (n <= 0)
			_exit(2);
		for (int k = 0; k < n; k++) {
			int i = (int)ev[k].data.u64;
			char buf[64];
			ssize_t m = read(in[i], buf, sizeof buf);
			if (m > 0) {
				for (ssize_t j = 0; j < m; j++)
					if (buf[j] >= 'a' && buf[j] <= 'z')
						buf[j] -= 32;
				if (write(out[i], buf, (size_t)m) != m)
					_exit(3);
			} else {
				epoll_ctl(ep, EPOLL_CTL_DEL, in[i], 0);
				open_ins--;
			}
		}
	}
	uint64_t v = 42;
	_exit(write(efd, &v, 8) == 8 ? 0 : 4);
}

static void echo(void)
{
	int in[NPIPES], out[NPIPES], back_r[NPIPES], back_w[NPIPES];
	int efd = eventfd(0, EFD_CLOEXEC);
	for (int i = 0; i < NPIPES; i++) {
		int a[2], b[2];
		if (pipe(a) || pipe(b))
			exit(1);
		in[i] = a[0];
		out[i] = a[1];
		back_r[i] = b[0];
		back_w[i] = b[1];
	}
	pid_t p = fork();
	if (p == 0) {
		for (int i = 0; i < NPIPES; i++) {
			close(out[i]);
			close(back_r[i]);
		}
		echo_child(in, back_w, efd);
	}
	for (int i = 0; i < NPIPES; i++) {
		close(in[i]);
		close(back_w[i]);
	}
	int ep = epoll_create1(0);
	for (int i = 0; i < NPIPES; i++)
		ctl(ep, EPOLL_CTL_ADD, back_r[i], EPOLLIN, i);
	ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN, 100);
	char got[NPIPES][128];
	size_t len[NPIPES] = { 0 };
	int want = 0;
	for (int m = 0; m < NMSG; m++) {
		for (int i = 0; i < NPIPES; i++) {
			char msg[16];
			int n = snprintf(msg, sizeof msg, "p%dm%d;", i, m);
			if (write(out[i], msg, (size_t)n) != n)
				exit(1);
			want += n;
		}
		/* Wait until every echo of this round is back, whatever order they come in. */
		int have = 0;
		for (int i = 0; i < NPIPES; i++)
			have += (int)len[i];
		while (have < want) {
			struct epoll_event ev[8];
			int n = epoll_wait(ep, ev, 8, 5000);
			if (n <= 0) {
				printf("echo: wait %s\n", res(n));
				exit(1);
			}
			for (int k = 0; k < n; k++) {
				int i = (int)ev[k].data.u64;
				if (i == 100)
					continue;
				ssize_t r = read(back_r[i], got[i] + len[i], sizeof got[i] - 1 - len[i]);
				if (r > 0) {
					len[i] += (size_t)r;
					have += (int)r;
				}
			}
		}
	}
	for (int i = 0; i < NPIPES; i++) {
		got[i][len[i]] = 0;
		printf("echo pipe %d: %s\n", i, got[i]);
		close(out[i]);
	}
	/* The child sees every input end, then posts on the eventfd. */
	struct epoll_event ev[8];
	int n, efd_seen = 0, hups = 0;
	while (!efd_seen && (n = epoll_wait(ep, ev, 8, 5000)) > 0)
		for (int k = 0; k < n; k++)
			efd_seen |= ev[k].data.u64 == 100 && (ev[k].events & EPOLLIN);
	uint64_t v = 0;
	const char *rd = res((int)read(efd, &v, 8));
	printf("echo eventfd: seen %d, read %s, value %llu\n", efd_seen, rd, (unsigned long long)v);
	int st;
	waitpid(p, &st, 0);
	/* Every echo pipe is hung up now: EPOLLHUP though only EPOLLIN was asked for. */
	n = epoll_wait(ep, ev, 8, 0);
	for (int k = 0; k < n; k++)
		hups += ev[k].data.u64 < NPIPES && (ev[k].events & EPOLLHUP) != 0;
	printf("echo end: child status %d, hung up %d\n", WEXITSTATUS(st), hups);
	for (int i = 0; i < NPIPES; i++)
		close(back_r[i]);
	close(ep);
	close(efd);
}

static void triggers(void)
{
	int lt[2], et[2], os[2];
	if (pipe(lt) || pipe(et) || pipe(os))
		exit(1);
	int a = epoll_create1(0), b = epoll_create1(0), c = epoll_create1(0);
	ctl(a, EPOLL_CTL_ADD, lt[0], EPOLLIN, 1);
	ctl(b, EPOLL_CTL_ADD, et[0], EPOLLIN | EPOLLET, 2);
	ctl(c, EPOLL_CTL_ADD, os[0], EPOLLIN | EPOLLONESHOT, 3);
	if (write(lt[1], "a", 1) + write(et[1], "a", 1) + write(os[1], "a", 1) != 3)
		exit(1);
	int l1 = ready(a), l2 = ready(a);
	int e1 = ready(b), e2 = ready(b);
	if (write(et[1], "b", 1) != 1)
		exit(1);
	int e3 = ready(b);
	int o1 = ready(c), o2 = ready(c);
	int mod = ctl(c, EPOLL_CTL_MOD, os[0], EPOLLIN | EPOLLONESHOT, 4);
	struct epoll_event ev;
	int o3 = epoll_wait(c, &ev, 1, 0);
	printf("level: %d %d; edge: %d %d, after a write %d; oneshot: %d %d, re-armed %s: %d data %llu\n", l1,
	       l2, e1, e2, e3, o1, o2, res(mod), o3, (unsigned long long)ev.data.u64);
	char buf[8];
	if (read(lt[0], buf, sizeof buf) != 1)
		exit(1);
	printf("level drained: %d\n", ready(a));
	/* EPOLLOUT on a write end; both directions on one registration. */
	int w = epoll_create1(0);
	ctl(w, EPOLL_CTL_ADD, lt[1], EPOLLOUT, 5);
	int nw = epoll_wait(w, &ev, 1, 0);
	printf("pipe write end: %d events %#x\n", nw, ev.events);
	/* Nested: the inner instance is readable to the outer one and to poll. */
	int outer = epoll_create1(0);
	ctl(outer, EPOLL_CTL_ADD, a, EPOLLIN, 6);
	struct pollfd pf = { .fd = a, .events = POLLIN };
	int p0 = poll(&pf, 1, 0), n0 = ready(outer);
	if (write(lt[1], "c", 1) != 1)
		exit(1);
	int p1 = poll(&pf, 1, 0);
	int n1 = epoll_wait(outer, &ev, 1, 0);
	printf("nested: before %d %d, after poll %d revents %#x, outer %d data %llu\n", p0, n0, p1, pf.revents, n1,
	       (unsigned long long)ev.data.u64);
	printf("cycle: %s\n", res(ctl(a, EPOLL_CTL_ADD, outer, EPOLLIN, 0)));
	int fds[] = { lt[0], lt[1], et[0], et[1], os[0], os[1], a, b, c, w, outer };
	for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
		close(fds[i]);
}

static void errors(void)
{
	int ep = epoll_create1(0), pp[2];
	if (pipe(pp))
		exit(1);
	int reg = open("/proc/self/exe", O_RDONLY);
	struct epoll_event ev = { .events = EPOLLIN };
	const char *x, *y, *z, *w;
	printf("epoll_create(0): %s\n", res((int)syscall(SYS_epoll_create, 0)));
	printf("epoll_create1(bad flag): %s\n", res(epoll_create1(1)));
	printf("regular file: %s\n", res(ctl(ep, EPOLL_CTL_ADD, reg, EPOLLIN, 0)));
	x = res(ctl(ep, EPOLL_CTL_ADD, pp[0], EPOLLIN, 0));
	y = res(ctl(ep, EPOLL_CTL_ADD, pp[0], EPOLLIN, 0));
	printf("add: %s, again: %s\n", x, y);
	x = res(ctl(ep, EPOLL_CTL_MOD, pp[1], EPOLLOUT, 0));
	y = res(epoll_ctl(ep, EPOLL_CTL_DEL, pp[1], 0));
	printf("mod unknown: %s, del unknown: %s\n", x, y);
	x = res(ctl(pp[1], EPOLL_CTL_ADD, pp[0], 0, 0));
	y = res(ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0));
	z = res(ctl(ep, EPOLL_CTL_ADD, 999, EPOLLIN, 0));
	w = res(ctl(ep, 7, pp[0], EPOLLIN, 0));
	printf("not an epoll: %s, itself: %s, bad fd: %s, bad op: %s\n", x, y, z, w);
	x = res(ctl(ep, EPOLL_CTL_ADD, pp[1], EPOLLOUT | EPOLLEXCLUSIVE, 0));
	y = res(ctl(ep, EPOLL_CTL_MOD, pp[1], EPOLLOUT | EPOLLEXCLUSIVE, 0));
	z = res(ctl(ep, EPOLL_CTL_ADD, pp[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0));
	printf("exclusive: add %s, mod %s, with oneshot %s\n", x, y, z);
	x = res(epoll_wait(ep, &ev, 0, 0));
	y = res(epoll_wait(pp[0], &ev, 1, 0));
	printf("wait maxevents 0: %s, on a pipe: %s\n", x, y);
	close(ep);
	ep = epoll_create1(0);
	/* The registration goes with the file's last close: a new file on the same number is
	 * unknown to the instance. A dup keeps the description (and the registration) alive. */
	int efd = eventfd(0, 0);
	ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN, 9);
	int d = dup(efd);
	close(efd);
	uint64_t one = 1;
	if (write(d, &one, 8) != 8)
		exit(1);
	int n = epoll_wait(ep, &ev, 1, 0);
	printf("closed but dup'ed: %d data %llu\n", n, (unsigned long long)ev.data.u64);
	close(d);
	int efd2 = eventfd(0, 0);
	printf("last close: same number %d, del %s\n", efd2 == efd, res(epoll_ctl(ep, EPOLL_CTL_DEL, efd2, 0)));
	close(efd2);
	close(reg);
	close(pp[0]);
	close(pp[1]);
	close(ep);
}

static void eventfds(void)
{
	int s = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	uint64_t v[4] = { 0 };
	int r[4];
	for (int i = 0; i < 4; i++)
		r[i] = (int)read(s, &v[i], 8);
	printf("semaphore: %s %llu, %s %llu, %s %llu, then %s\n", res(r[0]), (unsigned long long)v[0], res(r[1]),
	       (unsigned long long)v[1], res(r[2]), (unsigned long long)v[2], res(r[3]));
	int c = eventfd(0, EFD_NONBLOCK);
	uint64_t five = 5, seven = 7, got = 0, max = UINT64_MAX, big = UINT64_MAX - 1;
	if (write(c, &five, 8) + write(c, &seven, 8) != 16)
		exit(1);
	const char *x = res((int)read(c, &got, 8));
	uint64_t first = got;
	const char *y = res((int)read(c, &got, 8));
	printf("counter: %s %llu, empty %s\n", x, (unsigned long long)first, y);
	x = res((int)read(c, &got, 4));
	y = res((int)write(c, &five, 4));
	const char *z = res((int)write(c, &max, 8));
	printf("short read %s, short write %s, write 2^64-1 %s\n", x, y, z);
	x = res((int)write(c, &big, 8));
	y = res((int)write(c, &five, 8));
	printf("fill %s, overflow %s, flags %#x\n", x, y, fcntl(c, F_GETFL) & (O_NONBLOCK | O_ACCMODE));
	printf("bad flags: %s\n", res(eventfd(0, 0x40)));
	close(s);
	close(c);
}

static void timerfds(void)
{
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	uint64_t n = 0;
	printf("timerfd disarmed read: %s\n", res((int)read(t, &n, 8)));
	struct itimerspec its = { { 0, 10000000 }, { 0, 10000000 } }, cur;
	timerfd_settime(t, 0, &its, 0);
	nap(45);
	int r = (int)read(t, &n, 8);
	timerfd_gettime(t, &cur);
	printf("periodic 10ms after 45ms: %s, at least 3 %d, interval %ld ns, next within 10ms %d\n", res(r),
	       n >= 3, cur.it_interval.tv_nsec, cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 10000000);
	struct itimerspec off = { { 0, 0 }, { 0, 0 } }, old;
	timerfd_settime(t, 0, &off, &old);
	timerfd_gettime(t, &cur);
	printf("disarmed: old interval %ld, now %ld %ld\n", old.it_interval.tv_nsec, (long)cur.it_value.tv_sec,
	       cur.it_value.tv_nsec);
	/* One shot through epoll, then an absolute time on CLOCK_REALTIME read blocking. */
	int ep = epoll_create1(0);
	ctl(ep, EPOLL_CTL_ADD, t, EPOLLIN, 7);
	struct itimerspec once = { { 0, 0 }, { 0, 20000000 } };
	timerfd_settime(t, 0, &once, 0);
	struct epoll_event ev;
	int w = epoll_wait(ep, &ev, 1, 2000);
	r = (int)read(t, &n, 8);
	printf("one shot: epoll %d data %llu, read %s count %llu\n", w, (unsigned long long)ev.data.u64, res(r),
	       (unsigned long long)n);
	int rt = timerfd_create(CLOCK_REALTIME, 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct itimerspec abs = { { 0, 0 }, { now.tv_sec, now.tv_nsec } };
	abs.it_value.tv_nsec += 20000000;
	if (abs.it_value.tv_nsec >= 1000000000) {
		abs.it_value.tv_sec++;
		abs.it_value.tv_nsec -= 1000000000;
	}
	timerfd_settime(rt, TFD_TIMER_ABSTIME, &abs, 0);
	r = (int)read(rt, &n, 8);
	printf("absolute realtime: read %s count %llu\n", res(r), (unsigned long long)n);
	struct itimerspec bad = { { 0, 0 }, { 0, 1000000000 } };
	const char *x = res(timerfd_create(99, 0));
	const char *y = res(timerfd_settime(rt, 4, &once, 0));
	const char *z = res(timerfd_settime(rt, 0, &bad, 0));
	const char *w2 = res(timerfd_settime(ep, 0, &once, 0));
	printf("bad: clock %s, flags %s, nsec %s, not a timer %s\n", x, y, z, w2);
	close(t);
	close(rt);
	close(ep);
}

static volatile int hits;
static void on_usr1(int sig) { hits += sig == SIGUSR1; }

static void handle_usr1(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, 0);
}

#define LOCKFILE "/tmp/epoll-flock"

static void flocks(void)
{
	mkdir("/tmp", 0777);
	int a = open(LOCKFILE, O_RDWR | O_CREAT | O_TRUNC, 0644), b = open(LOCKFILE, O_RDWR);
	const char *x = res(flock(a, LOCK_EX));
	const char *y = res(flock(b, LOCK_EX | LOCK_NB));
	const char *z = res(flock(b, LOCK_SH | LOCK_NB));
	printf("flock ex: %s, other ex nb: %s, other sh nb: %s\n", x, y, z);
	int d = dup(a);
	printf("dup relock: %s\n", res(flock(d, LOCK_EX | LOCK_NB)));
	close(a);
	printf("after closing one of two: %s\n", res(flock(b, LOCK_SH | LOCK_NB)));
	close(d);
	printf("after the last close: %s\n", res(flock(b, LOCK_SH | LOCK_NB)));
	int c = open(LOCKFILE, O_RDWR);
	x = res(flock(c, LOCK_SH | LOCK_NB));
	y = res(flock(c, LOCK_EX | LOCK_NB));
	z = res(flock(b, LOCK_UN));
	const char *u = res(flock(c, LOCK_UN));
	const char *v = res(flock(c, LOCK_EX | LOCK_NB));
	printf("shared twice: %s, ex nb %s, unlock %s %s, ex %s\n", x, y, z, u, v);
	printf("bad op: %s\n", res(flock(c, 0)));
	/* A blocked flock ends with EINTR when a handler without SA_RESTART runs. */
	pid_t p = fork();
	if (p == 0) {
		handle_usr1();
		int e = open(LOCKFILE, O_RDWR);
		int r = flock(e, LOCK_EX);
		_exit(r == -1 && errno == EINTR && hits == 1 ? 7 : 1);
	}
	nap(100);
	kill(p, SIGUSR1);
	int st;
	waitpid(p, &st, 0);
	printf("blocked flock interrupted: status %d\n", WEXITSTATUS(st));
	close(b);
	close(c);
	unlink(LOCKFILE);
}

static void pipe_sizes(void)
{
	int p[2];
	if (pipe(p))
		exit(1);
	int g0 = fcntl(p[0], F_GETPIPE_SZ);
	int s1 = fcntl(p[1], F_SETPIPE_SZ, 10000);
	int g1 = fcntl(p[0], F_GETPIPE_SZ);
	int s2 = fcntl(p[0], F_SETPIPE_SZ, 0);
	printf("pipe size: %d, set 10000 -> %d, get %d, set 0 -> %d\n", g0, s1, g1, s2);
	fcntl(p[1], F_SETPIPE_SZ, 65536);
	static char buf[20000];
	if (write(p[1], buf, sizeof buf) != (ssize_t)sizeof buf)
		exit(1);
	const char *x = res(fcntl(p[1], F_SETPIPE_SZ, 4096));
	const char *y = res(fcntl(p[1], F_SETPIPE_SZ, 20000));
	printf("shrink below the data: %s, to fit: %s\n", x, y);
	ssize_t n = read(p[0], buf, sizeof buf);
	int reg = open("/proc/self/exe", O_RDONLY);
	x = res(fcntl(reg, F_GETPIPE_SZ));
	printf("data kept: %zd, on a file: %s\n", n, x);
	close(reg);
	close(p[0]);
	close(p[1]);
}

static void pwait_signal(void)
{
	sigset_t block, empty, now;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &block, 0);
	handle_usr1();
	hits = 0;
	int ep = epoll_create1(0), p[2];
	if (pipe(p))
		exit(1);
	ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1);
	pid_t parent = getpid(), c = fork();
	if (c == 0) {
		nap(100);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	struct epoll_event ev;
	int r = epoll_pwait(ep, &ev, 1, 5000, &empty);
	int e = errno;
	sigprocmask(SIG_BLOCK, 0, &now);
	errno = e;
	printf("epoll_pwait: %s, handler ran %d, still blocked %d\n", res(r), hits, sigismember(&now, SIGUSR1));
	waitpid(c, 0, 0);
	/* Pending but blocked by the wait's mask: the wait times out, the handler does not run. */
	kill(getpid(), SIGUSR1);
	r = epoll_pwait(ep, &ev, 1, 20, &block);
	printf("blocked during the wait: %s, handler ran %d\n", res(r), hits);
	sigprocmask(SIG_UNBLOCK, &block, 0);
	printf("unblocked: handler ran %d\n", hits);
	struct timespec ts = { 0, 10000000 };
	printf("epoll_pwait2 10ms: %s\n", res((int)syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, 0, 8)));
	close(ep);
	close(p[0]);
	close(p[1]);
}

/* Exact counters, when the kernel has them (Damselfly's /proc/kcounters). */
static int epoll_counters(long *eps, long *regs)
{
	char buf[4096];
	int fd = open("/proc/kcounters", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *a = strstr(buf, "epolls "), *b = strstr(buf, "epoll_regs ");
	if (!a || !b)
		return -1;
	*eps = atol(a + 7);
	*regs = atol(b + 11);
	return 0;
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	long e0 = 0, r0 = 0, e1 = 0, r1 = 0;
	int have = epoll_counters(&e0, &r0) == 0;
	echo();
	triggers();
	errors();
	eventfds();
	timerfds();
	flocks();
	pipe_sizes();
	pwait_signal();
	if (have && (epoll_counters(&e1, &r1) != 0 || e1 != e0 || r1 != r0))
		printf("epoll counters: %ld %ld before, %ld %ld after\n", e0, r0, e1, r1);
	else
		printf("epoll counters: back\n");
	printf("epoll: done\n");
	return 0;
}
