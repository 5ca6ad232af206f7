/* Scheduling control as Linux does it (man 2 setpriority, sched_setscheduler, sched_setattr):
 * niceness by process, process group and user, the kernel's "20 - nice" return of the raw
 * getpriority, nice() from the C library, clamping, the unprivileged rules (RLIMIT_NICE,
 * another user's process, RLIMIT_RTPRIO), fork inheriting the niceness and
 * SCHED_RESET_ON_FORK, /proc/PID/stat fields 18 and 19, and the sched_* calls' values and
 * errors. Run as root (PID 1 here; on the host, root). The sched_* calls go through
 * syscall(): musl's wrappers of sched_setscheduler and friends return ENOSYS on purpose.
 * Prints one line per group of checks and "sched_control: done". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#define RESET_ON_FORK 0x40000000
#define NOPID 0x7fffffff
#define OTHER_UID 4242

/* struct sched_attr, version 1 (56 bytes). */
struct attr {
	uint32_t size;
	uint32_t policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};

static const char *en(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case ESRCH: return "ESRCH";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case E2BIG: return "E2BIG";
	case EFAULT: return "EFAULT";
	case ENOSYS: return "ENOSYS";
	default: return "?";
	}
}

/* "R" or "-1 ERRNO" for a call's result `r` and the errno `e` it left. */
static const char *fmt(long r, int e)
{
	static char b[32][32];
	static int i;
	char *s = b[i++ % 32];

	if (r == -1)
		snprintf(s, 32, "-1 %s", en(e));
	else
		snprintf(s, 32, "%ld", r);
	return s;
}

/* A call's result as fmt gives it, errno taken at once (arguments of one printf are
 * evaluated in no set order). */
#define T(expr) ({ errno = 0; long r_ = (long)(expr); fmt(r_, errno); })

static long setsched(int pid, int policy, int prio)
{
	struct sched_param p = { .sched_priority = prio };
	return syscall(SYS_sched_setscheduler, pid, policy, &p);
}

static long getsched(int pid)
{
	return syscall(SYS_sched_getscheduler, pid);
}

static long getparam(int pid)
{
	struct sched_param p = { .sched_priority = -1 };
	long r = syscall(SYS_sched_getparam, pid, &p);
	return r ? r : p.sched_priority;
}

static long setattr(struct attr *a, unsigned flags)
{
	return syscall(SYS_sched_setattr, 0, a, flags);
}

static long getattr(struct attr *a, unsigned size, unsigned flags)
{
	memset(a, 0x55, sizeof(*a));
	return syscall(SYS_sched_getattr, 0, a, size, flags);
}

/* Fields 18 and 19 (priority, nice) of /proc/self/stat. */
static void stat_prio(long *prio, long *nice)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY);
	long n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	char *p;
	int field;

	*prio = *nice = -99;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return;
	/* After ')' comes field 3. */
	p += 2;
	for (field = 3; field < 18 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		sscanf(p, "%ld %ld", prio, nice);
}

static int nice_of(int pid)
{
	errno = 0;
	int n = getpriority(PRIO_PROCESS, pid);
	return errno ? -99 : n;
}

static void niceness(void)
{
	const char *rs;

	setpriority(PRIO_PROCESS, 0, 0);
	printf("getpriority: %d, raw %ld\n", getpriority(PRIO_PROCESS, 0),
	       syscall(SYS_getpriority, PRIO_PROCESS, 0));
	rs = T(setpriority(PRIO_PROCESS, 0, 5));
	printf("setpriority 5: %s, now %d, raw %ld\n", rs, getpriority(PRIO_PROCESS, getpid()),
	       syscall(SYS_getpriority, PRIO_PROCESS, 0));
	errno = 0;
	rs = T(nice(3));
	printf("nice(3): %s, now %d\n", rs, nice_of(0));
	errno = 0;
	rs = T(nice(100));
	printf("nice(100): %s, now %d\n", rs, nice_of(0));
	rs = T(setpriority(PRIO_PROCESS, 0, -100));
	printf("setpriority -100 as root: %s, now %d\n", rs, nice_of(0));
	rs = T(setpriority(PRIO_PROCESS, 0, 100));
	printf("setpriority 100: %s, now %d\n", rs, nice_of(0));
	setpriority(PRIO_PROCESS, 0, 3);
	long prio, nice;
	stat_prio(&prio, &nice);
	printf("stat: priority %ld nice %ld\n", prio, nice);
	errno = 0;
	long a = setpriority(3, 0, 0);
	int ea = errno;
	errno = 0;
	long b = getpriority(-1, 0);
	int eb = errno;
	errno = 0;
	long c = getpriority(PRIO_PROCESS, NOPID);
	int ec = errno;
	errno = 0;
	long d = setpriority(PRIO_PGRP, NOPID, 1);
	int ed = errno;
	errno = 0;
	long e = getpriority(PRIO_USER, OTHER_UID + 1);
	int ee = errno;
	printf("errors: which %ld %s, get which %ld %s, no pid %ld %s, no group %ld %s, no user %ld %s\n", a,
	       en(ea), b, en(eb), c, en(ec), d, en(ed), e, en(ee));
}

static void inherit(void)
{
	setpriority(PRIO_PROCESS, 0, 7);
	pid_t c = fork();
	if (c == 0) {
		long prio, nice;
		stat_prio(&prio, &nice);
		printf("fork: child nice %d, stat priority %ld nice %ld\n", nice_of(0), prio, nice);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, 0, 0);
	setpriority(PRIO_PROCESS, 0, 0);
}

/* A child that joins group `pgid` (0: its own, -1: stays) and takes user id `uid` (0: stays
 * root), tells the parent through `ready` and waits for the pipe `go` to be closed. */
static pid_t helper(int ready, int go[2], int uid, pid_t pgid)
{
	pid_t c = fork();
	if (c == 0) {
		char x = 1;
		close(go[1]);
		if (pgid >= 0)
			setpgid(0, pgid);
		if (uid && setresuid(uid, uid, uid))
			_exit(1);
		if (write(ready, &x, 1) != 1)
			_exit(2);
		while (read(go[0], &x, 1) > 0)
			;
		_exit(0);
	}
	if (pgid >= 0)
		setpgid(c, pgid ? pgid : c);
	return c;
}

static void groups_and_users(void)
{
	int ready[2], go[2];
	char x[2];

	if (pipe(ready) || pipe(go))
		exit(10);
	pid_t g1 = helper(ready[1], go, 0, 0);
	pid_t g2 = helper(ready[1], go, 0, g1);
	pid_t u1 = helper(ready[1], go, OTHER_UID, -1);
	pid_t u2 = helper(ready[1], go, OTHER_UID, -1);
	close(go[0]);
	for (int i = 0; i < 4; i++)
		if (read(ready[0], x, 1) != 1)
			exit(11);
	const char *ss = T(setpriority(PRIO_PGRP, g1, 4));
	int grp = getpriority(PRIO_PGRP, g1);
	int member = nice_of(g2);
	setpriority(PRIO_PROCESS, g2, 2);
	printf("pgrp: set %s, group %d, member %d, lowest %d, first %d, own group %d\n", ss, grp, member,
	       getpriority(PRIO_PGRP, g1), nice_of(g1), getpriority(PRIO_PGRP, 0));
	int before = getpriority(PRIO_USER, OTHER_UID);
	ss = T(setpriority(PRIO_USER, OTHER_UID, 6));
	int both = nice_of(u1) == 6 && nice_of(u2) == 6;
	setpriority(PRIO_PROCESS, u2, 3);
	printf("user: before %d, set %s, both %d, lowest %d, caller %d\n", before, ss, both,
	       getpriority(PRIO_USER, OTHER_UID), nice_of(0));
	close(go[1]);
	for (int i = 0; i < 4; i++)
		wait(0);
}

static void unprivileged(void)
{
	pid_t c = fork();
	if (c == 0) {
		/* Linux's defaults: no lowering of the niceness, no real-time priority. */
		struct rlimit zero = { 0, 0 };
		if (setrlimit(RLIMIT_NICE, &zero) || setrlimit(RLIMIT_RTPRIO, &zero))
			_exit(1);
		setpriority(PRIO_PROCESS, 0, 10);
		if (setresuid(OTHER_UID, OTHER_UID, OTHER_UID))
			_exit(2);
		const char *raise = T(setpriority(PRIO_PROCESS, 0, 12));
		const char *lower = T(setpriority(PRIO_PROCESS, 0, 11));
		const char *n = T(nice(-1));
		const char *other = T(setpriority(PRIO_PROCESS, getppid(), 5));
		int read_other = nice_of(getppid());
		const char *fifo = T(setsched(0, SCHED_FIFO, 10));
		struct attr a = { .size = sizeof(a), .policy = SCHED_OTHER, .nice = 11 };
		const char *sa = T(setattr(&a, 0));
		a.nice = 14;
		const char *sa14 = T(setattr(&a, 0));
		const char *idle = T(setsched(0, SCHED_IDLE, 0));
		/* Leaving SCHED_IDLE needs the right to the niceness the process has. */
		const char *back = T(setsched(0, SCHED_OTHER, 0));
		const char *parent = T(setsched(getppid(), SCHED_OTHER, 0));
		printf("unprivileged: raise %s, lower %s, nice(-1) %s, other user's %s, read other's %d, "
		       "fifo %s, setattr 11 %s, setattr 14 %s, idle %s, back %s, parent's policy %s, now %d\n",
		       raise, lower, n, other, read_other, fifo, sa, sa14, idle, back, parent, nice_of(0));
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, 0, 0);
}

static void policies(void)
{
	printf("range: other %d-%d fifo %d-%d rr %d-%d batch %d-%d idle %d-%d\n",
	       sched_get_priority_min(SCHED_OTHER), sched_get_priority_max(SCHED_OTHER),
	       sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO),
	       sched_get_priority_min(SCHED_RR), sched_get_priority_max(SCHED_RR),
	       sched_get_priority_min(SCHED_BATCH), sched_get_priority_max(SCHED_BATCH),
	       sched_get_priority_min(SCHED_IDLE), sched_get_priority_max(SCHED_IDLE));
	errno = 0;
	long mn = syscall(SYS_sched_get_priority_min, 42);
	int emn = errno;
	errno = 0;
	long mx = syscall(SYS_sched_get_priority_max, -1);
	printf("range of a bad policy: %ld %s, %ld %s\n", mn, en(emn), mx, en(errno));
	printf("start: policy %s, param %s\n", T(getsched(0)), T(getparam(0)));
	const char *batch = T(setsched(0, SCHED_BATCH, 0));
	const char *gb = T(getsched(getpid()));
	const char *idle = T(setsched(0, SCHED_IDLE, 0));
	const char *gi = T(getsched(0));
	const char *other = T(setsched(0, SCHED_OTHER, 0));
	printf("batch %s -> %s, idle %s -> %s, other %s -> %s\n", batch, gb, idle, gi, other, T(getsched(0)));
	struct sched_param sp = { 0 };
	printf("errors: other prio 1 %s, fifo prio 0 %s, fifo 100 %s, fifo -1 %s, policy 42 %s, pid -1 %s, "
	       "no pid %s, null param %s, getsched -1 %s, getsched no pid %s, getparam null %s, "
	       "setparam other 5 %s\n",
	       T(setsched(0, SCHED_OTHER, 1)), T(setsched(0, SCHED_FIFO, 0)),
	       T(setsched(0, SCHED_FIFO, 100)), T(setsched(0, SCHED_FIFO, -1)), T(setsched(0, 42, 0)),
	       T(setsched(-1, SCHED_OTHER, 0)), T(setsched(NOPID, SCHED_OTHER, 0)),
	       T(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL)), T(getsched(-1)),
	       T(getsched(NOPID)), T(syscall(SYS_sched_getparam, 0, NULL)),
	       T((sp.sched_priority = 5, syscall(SYS_sched_setparam, 0, &sp))));

	struct timespec ts = { -1, -1 };
	const char *rs = T(syscall(SYS_sched_rr_get_interval, 0, &ts));
	/* Linux gives the fair slice in whole ticks, which may be 0. */
	printf("rr_get_interval other: %s, under a second %d\n", rs,
	       ts.tv_sec == 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	printf("rr_get_interval errors: %s, %s, %s\n", T(syscall(SYS_sched_rr_get_interval, -1, &ts)),
	       T(syscall(SYS_sched_rr_get_interval, NOPID, &ts)), T(syscall(SYS_sched_rr_get_interval, 0, NULL)));

	long prio, nice;
	const char *fifo = T(setsched(0, SCHED_FIFO, 10));
	ts.tv_sec = ts.tv_nsec = -1;
	syscall(SYS_sched_rr_get_interval, 0, &ts);
	stat_prio(&prio, &nice);
	printf("fifo 10: %s, policy %s, param %s, slice %ld.%09ld, stat %ld %ld\n", fifo, T(getsched(0)),
	       T(getparam(0)), (long)ts.tv_sec, ts.tv_nsec, prio, nice);
	sp.sched_priority = 20;
	rs = T(syscall(SYS_sched_setparam, 0, &sp));
	printf("setparam 20: %s, policy %s, param %s\n", rs, T(getsched(0)), T(getparam(0)));
	const char *rr = T(setsched(0, SCHED_RR, 5));
	syscall(SYS_sched_rr_get_interval, 0, &ts);
	printf("rr 5: %s, policy %s, param %s, slice %ld.%09ld\n", rr, T(getsched(0)), T(getparam(0)),
	       (long)ts.tv_sec, ts.tv_nsec);

	/* SCHED_RESET_ON_FORK: a real-time parent's child starts as SCHED_OTHER with nice 0, a
	 * time-sharing one's keeps its policy with a niceness of at least 0. */
	setpriority(PRIO_PROCESS, 0, -3);
	for (int policy = SCHED_FIFO; policy <= SCHED_BATCH; policy += 2) {
		rs = T(setsched(0, policy | RESET_ON_FORK, policy == SCHED_FIFO ? 10 : 0));
		printf("reset-on-fork %d: %s, policy %#lx\n", policy, rs, getsched(0));
		fflush(stdout);
		pid_t c = fork();
		if (c == 0) {
			printf("  child: policy %s, param %s, nice %d\n", T(getsched(0)), T(getparam(0)), nice_of(0));
			fflush(stdout);
			_exit(0);
		}
		waitpid(c, 0, 0);
	}
	setsched(0, SCHED_OTHER, 0);
	setpriority(PRIO_PROCESS, 0, 0);
	printf("back to other: policy %s, nice %d\n", T(getsched(0)), nice_of(0));
}

static void attrs(void)
{
	struct attr a;
	const char *rs = T(getattr(&a, sizeof(a), 0));
	printf("getattr: %s, size %u, policy %u, flags %llu, nice %d, priority %u\n", rs, a.size, a.policy,
	       (unsigned long long)a.flags, a.nice, a.priority);
	memset(&a, 0, sizeof(a));
	a.size = 48;
	a.policy = SCHED_BATCH;
	a.nice = 4;
	rs = T(setattr(&a, 0));
	printf("setattr batch nice 4: %s, policy %s, nice %d\n", rs, T(getsched(0)), nice_of(0));
	rs = T(getattr(&a, 48, 0));
	printf("getattr 48: %s, size %u, policy %u, nice %d\n", rs, a.size, a.policy, a.nice);
	memset(&a, 0, sizeof(a));
	a.nice = -100;
	rs = T(setattr(&a, 0));
	printf("setattr size 0 nice -100: %s, policy %s, nice %d\n", rs, T(getsched(0)), nice_of(0));
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = 0x08; /* SCHED_FLAG_KEEP_POLICY */
	a.policy = SCHED_IDLE;
	a.nice = 2;
	rs = T(setattr(&a, 0));
	printf("setattr keep policy nice 2: %s, policy %s, nice %d\n", rs, T(getsched(0)), nice_of(0));
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.policy = SCHED_FIFO;
	a.priority = 30;
	a.flags = 1; /* SCHED_FLAG_RESET_ON_FORK */
	rs = T(setattr(&a, 0));
	const char *gs = T(getattr(&a, sizeof(a), 0));
	printf("setattr fifo 30: %s, getattr %s, policy %u, flags %llu, nice %d, priority %u, getsched %#lx\n",
	       rs, gs, a.policy, (unsigned long long)a.flags, a.nice, a.priority, getsched(0));
	setsched(0, SCHED_OTHER, 0);
	setpriority(PRIO_PROCESS, 0, 0);

	unsigned char big[80];
	memset(big, 0, sizeof(big));
	struct attr *b = (struct attr *)big;
	b->size = 20;
	const char *small = T(setattr(b, 0));
	unsigned told = b->size;
	memset(big, 0, sizeof(big));
	b->size = 64;
	b->nice = 1;
	const char *zeros = T(setattr(b, 0));
	int n1 = nice_of(0);
	big[60] = 1;
	b->size = 64;
	const char *junk = T(setattr(b, 0));
	memset(big, 0, sizeof(big));
	b->size = 8192;
	const char *huge = T(setattr(b, 0));
	printf("setattr sizes: 20 %s (size %u), 64 zeros %s (nice %d), 64 junk %s (size %u), 8192 %s\n", small, told,
	       zeros, n1, junk, b->size == 8192 ? 0u : b->size, huge);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	const char *fl = T(setattr(&a, 1));
	a.flags = 0x80;
	const char *sf = T(setattr(&a, 0));
	a.flags = 0;
	a.policy = 42;
	const char *bp = T(setattr(&a, 0));
	printf("setattr errors: flags %s, sched_flags %s, policy 42 %s, null %s, pid -1 %s, no pid %s\n", fl, sf, bp,
	       T(syscall(SYS_sched_setattr, 0, NULL, 0)), T(syscall(SYS_sched_setattr, -1, &a, 0)),
	       T(syscall(SYS_sched_setattr, NOPID, &a, 0)));
	printf("getattr errors: size 40 %s, size 8192 %s, flags %s, null %s, no pid %s\n", T(getattr(&a, 40, 0)),
	       T(getattr(&a, 8192, 0)), T(getattr(&a, sizeof(a), 1)),
	       T(syscall(SYS_sched_getattr, 0, NULL, sizeof(a), 0)),
	       T(syscall(SYS_sched_getattr, NOPID, &a, sizeof(a), 0)));
	setpriority(PRIO_PROCESS, 0, 0);
}

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	niceness();
	inherit();
	groups_and_users();
	unprivileged();
	policies();
	attrs();
	printf("sched_control: done\n");
	return 0;
}
