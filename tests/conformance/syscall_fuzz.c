/* A deterministic syscall fuzzer for the thread, signal, time and readiness calls. The parent
 * forks CHILDREN children; each arms alarm(1) (SIGALRM keeps its default action, so a call
 * that blocks ends the child) and makes CALLS calls chosen by a fixed-seed PRNG from a
 * whitelist, with hostile arguments: random 64-bit values, 0, -1, small ints, INT_MIN/MAX,
 * aligned and misaligned pointers into a buffer it owns (followed by a PROT_NONE page), NULL,
 * addresses near the top of user space, kernel and non-canonical addresses, huge sizes.
 * Signals go to the child itself only; clone3 only gets arguments that fail before anything
 * is created. A child may end any way it likes (exit, SIGALRM, SIGSEGV from a random handler
 * address, ...); the parent reaps each one (killing it after a few seconds if it is stuck,
 * stopped say) and then checks the kernel is alive and, on Damselfly, that /proc/kcounters
 * is where it was. The same binary runs on Linux, where it only ever signals itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILDREN 100
#define CALLS 1500
#define PAGE 4096
#define BUF_PAGES 4
/* Seconds after which the parent kills a child that is still there. */
#define WATCHDOG_SECS 5
/* Children run before the counters are read. */
#define WARMUP 8

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

/* ---- the PRNG: splitmix64, seeded per child ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

/* True with probability 1/n. */
static int one_in(uint64_t n)
{
	return below(n) == 0;
}

/* ---- the child's memory and descriptors ---- */

/* BUF_PAGES read-write pages, then a PROT_NONE one. */
static unsigned char *buf;
/* A MAP_SHARED page (shared futexes). */
static unsigned char *shared;
/* The first page of buf holds well-formed structures at fixed offsets, rewritten before
 * every call, so that calls get past their argument checks. */
enum {
	SANE_TS = 0,		/* struct timespec: a short time */
	SANE_TS2 = 16,		/* another */
	SANE_ITS = 32,		/* struct itimerspec: short */
	SANE_SET = 64,		/* sigset_t without SIGALRM */
	SANE_SIGEV = 128,	/* struct sigevent */
	SANE_EV = 192,		/* struct epoll_event array */
	SANE_FLOCK = 256,	/* struct flock */
	SANE_RLIM = 320,	/* struct rlimit */
	SANE_ITV = 352,		/* struct itimerval */
	SANE_FUTEX = 384,	/* futex words: 0, the tid, the tid with FUTEX_WAITERS, ... */
	SANE_POLL = 448,	/* struct pollfd array */
	SANE_FDSET = 512,	/* fd_set */
	SANE_SS = 640,		/* stack_t */
	SANE_SIGACT = 672,	/* struct k_sigaction */
	SANE_ROBUST = 720,	/* struct robust_list_head */
	SANE_SIGINFO = 768,	/* siginfo_t */
	SANE_PSEL = 912,	/* pselect6's { sigset pointer, size } */
	NEGATIVE = 1024,	/* 64 bytes with the top bit set: any timespec read there is invalid */
};

#define MAX_FDS 16
static int fds[MAX_FDS];
static int nfds;
static pid_t me;
/* Whether this child may make calls that block until the alarm (one in forty do). */
static int may_block;
/* Calls made by all children (a MAP_SHARED word of the parent's). */
static volatile uint64_t *calls_made;
static struct timespec deadline;

/* The number of cases in one_call(), and the one case to make (from argv, for narrowing a
 * failure down), or -1 for all. */
#define CASES 47
static int only_case = -1;
static int calls = CALLS;

/* The C library's signal restorer (__restore_rt), as rt_sigaction reports it. */
static uint64_t restorer;

static void noop_handler(int sig)
{
	(void)sig;
}

/* ---- argument generators ---- */

/* An integer of the kinds that break range checks. */
static uint64_t hostile_int(void)
{
	switch (below(12)) {
	case 0:
		return 0;
	case 1:
		return (uint64_t)-1;
	case 2:
		return below(8);
	case 3:
		return below(256);
	case 4:
		return (uint64_t)(int64_t)INT_MIN;
	case 5:
		return INT_MAX;
	case 6:
		return UINT_MAX;
	case 7:
		return (uint64_t)INT64_MIN;
	case 8:
		return INT64_MAX;
	case 9:
		return (1ull << below(64)) + below(3) - 1;
	case 10:
		return (uint32_t)rnd();
	default:
		return rnd();
	}
}

/* A pointer of the kinds that break copyin/copyout. */
static uint64_t hostile_ptr(void)
{
	uint64_t b = (uint64_t)(uintptr_t)buf;
	switch (below(14)) {
	case 0:
		return 0;
	case 1:
		return b + below(BUF_PAGES) * PAGE;
	case 2:
		return b + below(BUF_PAGES * PAGE);
	case 3:
		/* Straddles the end of the buffer and the PROT_NONE page. */
		return b + BUF_PAGES * PAGE - 1 - below(64);
	case 4:
		return b + BUF_PAGES * PAGE + below(PAGE);
	case 5:
		return 0x7ffffffff000ull + below(PAGE);
	case 6:
		return 0x7fffffffffffull - below(16);
	case 7:
		return 0xffff800000000000ull + (rnd() & 0x7fffffffffffull);
	case 8:
		return 0xffffffffffffffffull - below(PAGE);
	case 9:
		return 0x0000800000000000ull + (rnd() & 0x7fff00000000ffffull);
	case 10:
		return below(0x10000);
	case 11:
		return (uint64_t)(uintptr_t)shared + below(PAGE);
	case 12:
		return rnd();
	default:
		return (uint64_t)-1;
	}
}

static uint64_t sane(int off)
{
	return (uint64_t)(uintptr_t)(buf + off);
}

/* Mostly the well-formed structure at `off`, sometimes a hostile pointer. */
static uint64_t ptr_or(int off)
{
	return one_in(3) ? hostile_ptr() : sane(off);
}

/* A timeout pointer: a short time, sometimes hostile, rarely NULL (block until the alarm)
 * where blocking is allowed. */
static uint64_t timeout_ptr(void)
{
	if (may_block && one_in(200))
		return 0;
	if (may_block) {
		uint64_t p = ptr_or(one_in(2) ? SANE_TS : SANE_TS2);
		return p ? p : sane(SANE_TS);
	}
	if (below(3))
		return sane(one_in(2) ? SANE_TS : SANE_TS2);
	/* What calls wrote into the buffer, and the stack near the top of user space, can
	 * read as a long time: where blocking is not allowed, only pointers that fault or
	 * read an invalid time. */
	static const uint64_t faulting[] = { 0xffff800000000000ull, 0x0000800000000000ull, 0xfffffffffffff000ull,
					     0x10, (uint64_t)-1 };
	switch (below(3)) {
	case 0:
		return sane(NEGATIVE) + below(48);
	case 1:
		/* Straddling the buffer's end. */
		return (uint64_t)(uintptr_t)buf + BUF_PAGES * PAGE - 1 - below(15);
	default:
		return faulting[below(sizeof faulting / sizeof faulting[0])] + below(PAGE) * one_in(2);
	}
}

static uint64_t any_fd(void)
{
	switch (below(6)) {
	case 0:
		return hostile_int();
	case 1:
		return below(64);
	default:
		return nfds ? (uint64_t)fds[below(nfds)] : (uint64_t)-1;
	}
}

/* A descriptor the child opened (or an invalid one); never 0-2, whose description the
 * parent shares: an OFD lock or flock there would outlive the child, rightly. (The kernel
 * takes the low 32 bits of a descriptor, as Linux does.) */
static uint64_t own_fd(void)
{
	if (one_in(5)) {
		uint64_t v = hostile_int();
		return (uint32_t)v <= 2 ? (uint64_t)-1 : v;
	}
	return nfds ? (uint64_t)fds[below(nfds)] : (uint64_t)-1;
}

/* A sigset size: mostly 8 as the kernel wants. */
static uint64_t setsize(void)
{
	return one_in(4) ? hostile_int() : 8;
}

/* A signal to send to itself: never a stop signal (the child would stay stopped). */
static uint64_t self_signal(void)
{
	static const int safe[] = { 0, SIGUSR1, SIGUSR2, SIGCHLD, SIGURG, SIGWINCH, SIGCONT,
				    36, 37, 64, SIGPROF, SIGVTALRM, SIGIO };
	uint64_t s;
	if (one_in(10))
		s = hostile_int();
	else if (one_in(40))
		s = below(70);
	else
		s = (uint64_t)safe[below(sizeof safe / sizeof safe[0])];
	if (s == SIGSTOP || s == SIGTSTP || s == SIGTTIN || s == SIGTTOU || (s == SIGALRM && !may_block))
		s = SIGCONT;
	return s;
}

static uint64_t clockid(void)
{
	switch (below(4)) {
	case 0:
		return hostile_int();
	case 1:
		/* CPU clocks: ~pid << 3 | type, for this process or another. */
		return (uint64_t)(int64_t)((~(int64_t)(one_in(2) ? me : (pid_t)below(4))) << 3 | (int64_t)below(8));
	default:
		return below(12);
	}
}

static uint64_t futex_op(void)
{
	if (one_in(8))
		return hostile_int();
	uint64_t op = below(15);
	if (one_in(2))
		op |= 128; /* FUTEX_PRIVATE_FLAG */
	if (one_in(4))
		op |= 256; /* FUTEX_CLOCK_REALTIME */
	return op;
}

static uint64_t futex_addr(void)
{
	switch (below(4)) {
	case 0:
		return hostile_ptr();
	case 1:
		return (uint64_t)(uintptr_t)shared + 4 * below(8);
	default:
		return sane(SANE_FUTEX) + 4 * below(8);
	}
}

/* ---- the well-formed structures ---- */

static void fill_sane(void)
{
	unsigned char *p = buf;
	struct timespec *ts = (struct timespec *)(p + SANE_TS);
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = (long)below(2000000);
	/* A long or endless time only where blocking is allowed; else zero or invalid. */
	ts[1].tv_sec = one_in(8) ? (may_block ? (long)hostile_int() : -(long)below(2)) : 0;
	ts[1].tv_nsec = one_in(8) ? (long)hostile_int() : (long)below(1000);
	struct itimerspec *its = (struct itimerspec *)(p + SANE_ITS);
	its->it_interval.tv_sec = 0;
	its->it_interval.tv_nsec = one_in(2) ? 0 : (long)(100000 + below(5000000));
	its->it_value.tv_sec = 0;
	its->it_value.tv_nsec = (long)below(3000000);
	uint64_t set = rnd() & ~(1ull << (SIGALRM - 1));
	memcpy(p + SANE_SET, &set, 8);
	struct sigevent *sev = (struct sigevent *)(p + SANE_SIGEV);
	memset(sev, 0, sizeof *sev);
	sev->sigev_notify = one_in(6) ? (int)hostile_int() : (int)below(5); /* 4: SIGEV_THREAD_ID */
	sev->sigev_signo = (int)self_signal();
	sev->sigev_value.sival_ptr = (void *)(uintptr_t)rnd();
	/* The kernel's sigev_notify_thread_id follows value, signo and notify. */
	int tid = one_in(2) ? me : (int)hostile_int();
	memcpy((char *)sev + 16, &tid, 4);
	unsigned *ev = (unsigned *)(p + SANE_EV);
	for (int i = 0; i < 4; i++) {
		ev[3 * i] = one_in(3) ? (unsigned)rnd() : (unsigned)below(32) | (one_in(4) ? 1u << 31 : 0) |
			(one_in(4) ? 1u << 30 : 0);
		ev[3 * i + 1] = (unsigned)rnd();
		ev[3 * i + 2] = (unsigned)rnd();
	}
	struct flock *fl = (struct flock *)(p + SANE_FLOCK);
	fl->l_type = one_in(8) ? (short)rnd() : (short)below(3);
	fl->l_whence = one_in(8) ? (short)rnd() : (short)below(3);
	fl->l_start = one_in(4) ? (off_t)hostile_int() : (off_t)below(100);
	fl->l_len = one_in(4) ? (off_t)hostile_int() : (off_t)below(100) - 20;
	fl->l_pid = one_in(2) ? 0 : (pid_t)hostile_int();
	uint64_t *rl = (uint64_t *)(p + SANE_RLIM);
	rl[0] = one_in(2) ? (uint64_t)-1 : hostile_int();
	rl[1] = one_in(2) ? (uint64_t)-1 : hostile_int();
	struct itimerval *itv = (struct itimerval *)(p + SANE_ITV);
	itv->it_interval.tv_sec = 0;
	itv->it_interval.tv_usec = one_in(4) ? (long)hostile_int() : (long)below(5000);
	itv->it_value.tv_sec = 0;
	itv->it_value.tv_usec = one_in(4) ? (long)hostile_int() : (long)below(5000);
	uint32_t *fw = (uint32_t *)(p + SANE_FUTEX);
	fw[0] = 0;
	fw[1] = (uint32_t)me;
	fw[2] = (uint32_t)me | 0x80000000u;
	fw[3] = (uint32_t)me | 0x40000000u;
	fw[4] = 1;
	fw[5] = (uint32_t)rnd();
	fw[6] = 0x80000000u | (uint32_t)below(100000);
	fw[7] = (uint32_t)below(3);
	struct {
		int fd;
		short events, revents;
	} *pfd = (void *)(p + SANE_POLL);
	for (int i = 0; i < 4; i++) {
		pfd[i].fd = (int)any_fd();
		pfd[i].events = (short)rnd();
		pfd[i].revents = 0;
	}
	for (int i = 0; i < 16; i++)
		p[SANE_FDSET + i] = (unsigned char)rnd();
	stack_t *ss = (stack_t *)(p + SANE_SS);
	ss->ss_sp = (void *)(uintptr_t)(one_in(2) ? hostile_ptr() : sane(PAGE));
	ss->ss_flags = one_in(4) ? (int)hostile_int() : (int)(below(3) ? 0 : SS_DISABLE);
	ss->ss_size = one_in(4) ? (size_t)hostile_int() : 2048 + below(3 * PAGE);
	/* The kernel's sigaction: handler, flags, restorer, mask. */
	uint64_t *ka = (uint64_t *)(p + SANE_SIGACT);
	/* Mostly a handler: a signal back at its default or at a random address ends the
	 * child the next time it sends it. */
	switch (below(10)) {
	case 0:
	case 1:
		ka[0] = (uint64_t)(uintptr_t)SIG_IGN;
		break;
	case 2:
		ka[0] = (uint64_t)(uintptr_t)SIG_DFL;
		break;
	case 3:
		ka[0] = hostile_ptr();
		break;
	default:
		ka[0] = (uint64_t)(uintptr_t)noop_handler;
	}
	/* SA_RESTORER with the C library's restorer and a few of SA_NOCLDSTOP, SA_SIGINFO,
	 * SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND; else garbage (a frame the
	 * kernel cannot set up or return from is a SIGSEGV). */
	ka[1] = one_in(8) ? hostile_int() : 0x04000000 | (rnd() & 0xd8000005);
	ka[2] = one_in(8) ? hostile_ptr() : restorer;
	ka[3] = rnd() & ~(1ull << (SIGALRM - 1));
	/* A robust list head: next, futex offset, pending; pointing at itself or at garbage. */
	uint64_t *rh = (uint64_t *)(p + SANE_ROBUST);
	rh[0] = one_in(2) ? sane(SANE_ROBUST) : hostile_ptr();
	rh[1] = one_in(2) ? (uint64_t)(SANE_FUTEX - SANE_ROBUST) : hostile_int();
	rh[2] = one_in(2) ? 0 : hostile_ptr();
	int *si = (int *)(p + SANE_SIGINFO);
	for (int i = 0; i < 32; i++)
		si[i] = (int)rnd();
	si[2] = one_in(2) ? -1 /* SI_QUEUE */ : (int)hostile_int();
	for (int i = 0; i < 64; i++)
		p[NEGATIVE + i] = (unsigned char)(rnd() | 0x80);
	uint64_t *ps = (uint64_t *)(p + SANE_PSEL);
	ps[0] = ptr_or(SANE_SET);
	ps[1] = setsize();
}

/* ---- the calls ---- */

static long sc(long n, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f)
{
	return syscall(n, a, b, c, d, e, f);
}

static void remember_fd(long fd)
{
	if (fd > 2 && fd < 1024) {
		if (nfds < MAX_FDS)
			fds[nfds++] = (int)fd;
		else
			close((int)fd);
	}
}

static int past_deadline(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	       (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

static void block_alarm(int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	sigprocmask(how, &s, 0);
}

/* The alarm may have been changed or consumed by the last call: what is left of the second
 * goes back on ITIMER_REAL, a SIGALRM that a fuzzed timer raised meanwhile (with SIGALRM
 * blocked) is dropped, and SIGALRM is unblocked. */
static void rearm(void)
{
	struct timespec now, zero = { 0, 0 };
	block_alarm(SIG_BLOCK);
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long left = (deadline.tv_sec - now.tv_sec) * 1000000LL + (deadline.tv_nsec - now.tv_nsec) / 1000;
	if (left <= 0)
		_exit(3);
	struct itimerval itv = { { 0, 0 }, { left / 1000000, left % 1000000 } };
	setitimer(ITIMER_REAL, &itv, 0);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	while (sigtimedwait(&s, 0, &zero) == SIGALRM)
		;
	block_alarm(SIG_UNBLOCK);
}

static void one_call(void)
{
	uint64_t set = ptr_or(SANE_SET);
	int which = (int)below(CASES);
	switch (only_case >= 0 ? only_case : which) {
	case 0:
	case 1:
	case 2: {
		uint64_t op = futex_op();
		/* Waits without a timeout block until the alarm: only in children that may. */
		uint64_t to = may_block ? (one_in(3) ? 0 : timeout_ptr()) : timeout_ptr();
		uint64_t val = one_in(2) ? hostile_int() : below(3);
		uint64_t val2_or_to = one_in(2) ? to : hostile_int();
		/* (A zero there is no timeout for the waits.) */
		if (!may_block && !val2_or_to)
			val2_or_to = to;
		sc(SYS_futex, futex_addr(), op, val, val2_or_to, futex_addr(), one_in(3) ? hostile_int() : below(8));
		break;
	}
	case 3:
		sc(SYS_set_robust_list, one_in(2) ? sane(SANE_ROBUST) : hostile_ptr(), one_in(3) ? hostile_int() : 24, 0, 0, 0, 0);
		break;
	case 4:
		sc(SYS_get_robust_list, one_in(2) ? 0 : (one_in(2) ? (uint64_t)me : hostile_int() & 0xffff),
		   hostile_ptr(), hostile_ptr(), 0, 0, 0);
		break;
	case 5:
	case 6: {
		uint64_t sig = one_in(3) ? hostile_int() : 1 + below(64);
		uint64_t act = one_in(3) ? hostile_ptr() : sane(SANE_SIGACT);
		/* SIGALRM keeps its default action: it is what ends the child. A handler that
		 * returns from a fault faults again, until the alarm: only where blocking is
		 * allowed. */
		if (sig == SIGALRM || (!may_block && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
						      sig == SIGFPE || sig == SIGTRAP)))
			act = 0;
		sc(SYS_rt_sigaction, sig, act, one_in(2) ? 0 : hostile_ptr(), setsize(), 0, 0);
		break;
	}
	case 7:
		sc(SYS_rt_sigprocmask, one_in(4) ? hostile_int() : below(3), set, one_in(2) ? 0 : hostile_ptr(), setsize(), 0, 0);
		rearm();
		break;
	case 8:
		sc(SYS_rt_sigpending, hostile_ptr(), setsize(), 0, 0, 0, 0);
		break;
	case 9:
		sc(SYS_rt_sigtimedwait, set, one_in(2) ? 0 : hostile_ptr(), may_block ? (one_in(2) ? 0 : timeout_ptr()) : timeout_ptr(),
		   setsize(), 0, 0);
		rearm();
		break;
	case 10:
		sc(SYS_rt_sigqueueinfo, one_in(8) ? 0 : (uint64_t)me, self_signal(), ptr_or(SANE_SIGINFO), 0, 0, 0);
		break;
	case 11:
		sc(SYS_rt_tgsigqueueinfo, me, one_in(8) ? 0 : (uint64_t)me, self_signal(), ptr_or(SANE_SIGINFO), 0, 0);
		break;
	case 12:
		sc(SYS_tgkill, me, me, self_signal(), 0, 0, 0);
		break;
	case 13:
		sc(SYS_tkill, me, self_signal(), 0, 0, 0, 0);
		break;
	case 14:
		sc(SYS_sigaltstack, one_in(3) ? 0 : ptr_or(SANE_SS), one_in(2) ? 0 : hostile_ptr(), 0, 0, 0, 0);
		break;
	case 15:
		/* Waits for a signal: with a good mask only where blocking is allowed. */
		if (may_block && one_in(4))
			sc(SYS_rt_sigsuspend, sane(SANE_SET), 8, 0, 0, 0, 0);
		else
			sc(SYS_rt_sigsuspend, hostile_ptr() | 1ull << 63, setsize() + one_in(2), 0, 0, 0, 0);
		rearm();
		break;
	case 16:
		remember_fd(sc(SYS_epoll_create1, one_in(2) ? 0 : hostile_int(), 0, 0, 0, 0, 0));
		break;
	case 17:
	case 18:
		sc(SYS_epoll_ctl, any_fd(), one_in(4) ? hostile_int() : 1 + below(3), any_fd(), ptr_or(SANE_EV), 0, 0);
		break;
	case 19:
		sc(SYS_epoll_wait, any_fd(), ptr_or(SANE_EV), one_in(3) ? hostile_int() : 1 + below(4),
		   may_block && one_in(4) ? (uint64_t)-1 : below(3), 0, 0);
		break;
	case 20:
		sc(SYS_epoll_pwait, any_fd(), ptr_or(SANE_EV), one_in(3) ? hostile_int() : 1 + below(4),
		   may_block && one_in(4) ? (uint64_t)-1 : below(3), one_in(2) ? 0 : set, setsize());
		break;
	case 21:
		sc(SYS_epoll_pwait2, any_fd(), ptr_or(SANE_EV), one_in(3) ? hostile_int() : 1 + below(4),
		   may_block ? (one_in(2) ? 0 : timeout_ptr()) : timeout_ptr(), one_in(2) ? 0 : set, setsize());
		break;
	case 22:
		remember_fd(sc(SYS_eventfd2, hostile_int(), one_in(2) ? below(2) << 11 : hostile_int(), 0, 0, 0, 0));
		break;
	case 23:
		remember_fd(sc(SYS_timerfd_create, one_in(3) ? hostile_int() : below(10),
			       one_in(3) ? hostile_int() : (below(2) << 11 | below(2) << 19), 0, 0, 0, 0));
		break;
	case 24:
		sc(SYS_timerfd_settime, any_fd(), one_in(3) ? hostile_int() : below(4), ptr_or(SANE_ITS),
		   one_in(2) ? 0 : hostile_ptr(), 0, 0);
		break;
	case 25:
		sc(SYS_timerfd_gettime, any_fd(), hostile_ptr(), 0, 0, 0, 0);
		break;
	case 26:
		remember_fd(sc(SYS_signalfd4, one_in(3) ? (uint64_t)-1 : any_fd(), set, setsize(),
			       one_in(2) ? below(2) << 11 : hostile_int(), 0, 0));
		break;
	case 27:
		/* No sigevent means SIGALRM: the child's end, where blocking is not allowed. */
		sc(SYS_timer_create, clockid(), may_block && one_in(4) ? 0 : ptr_or(SANE_SIGEV), hostile_ptr(), 0, 0, 0);
		break;
	case 28:
		sc(SYS_timer_settime, one_in(2) ? below(4) : hostile_int(), one_in(3) ? hostile_int() : below(2),
		   ptr_or(SANE_ITS), one_in(2) ? 0 : hostile_ptr(), 0, 0);
		break;
	case 29:
		sc(SYS_timer_gettime, one_in(2) ? below(4) : hostile_int(), hostile_ptr(), 0, 0, 0, 0);
		break;
	case 30:
		sc(SYS_timer_getoverrun, one_in(2) ? below(4) : hostile_int(), 0, 0, 0, 0, 0);
		break;
	case 31:
		sc(SYS_timer_delete, one_in(2) ? below(4) : hostile_int(), 0, 0, 0, 0, 0);
		break;
	case 32:
		/* SIGALRM blocked: a short timer must not end the child before rearm(). */
		block_alarm(SIG_BLOCK);
		sc(SYS_setitimer, one_in(3) ? hostile_int() : below(3), ptr_or(SANE_ITV), one_in(2) ? 0 : hostile_ptr(), 0, 0, 0);
		rearm();
		break;
	case 33:
		sc(SYS_getitimer, one_in(3) ? hostile_int() : below(3), hostile_ptr(), 0, 0, 0, 0);
		break;
	case 34:
		block_alarm(SIG_BLOCK);
		sc(SYS_alarm, one_in(2) ? below(3) : hostile_int(), 0, 0, 0, 0, 0);
		rearm();
		break;
	case 35:
		sc(SYS_getrusage, one_in(3) ? hostile_int() : (uint64_t)(int64_t)((int)below(3) - 1), hostile_ptr(), 0, 0, 0, 0);
		sc(SYS_times, hostile_ptr(), 0, 0, 0, 0, 0);
		break;
	case 36:
		sc(SYS_clock_gettime, clockid(), hostile_ptr(), 0, 0, 0, 0);
		sc(SYS_clock_getres, clockid(), one_in(3) ? 0 : hostile_ptr(), 0, 0, 0, 0);
		break;
	case 37:
		/* TIMER_ABSTIME with a short time is in the past: it returns at once. */
		/* A CPU clock does not move while its only thread sleeps on it, and an absolute
		 * time may be far off: those only where blocking is allowed. */
		uint64_t clock = may_block ? clockid() : below(2) ? below(2) : hostile_int();
		if (!may_block && ((int)clock < 0 || (int)clock == 2 || (int)clock == 3))
			clock = 1;
		sc(SYS_clock_nanosleep, clock,
		   one_in(3) ? hostile_int() : below(2), timeout_ptr(),
		   one_in(2) ? 0 : hostile_ptr(), 0, 0);
		sc(SYS_nanosleep, timeout_ptr(), one_in(2) ? 0 : hostile_ptr(), 0, 0, 0, 0);
		break;
	case 38: {
		uint64_t who = one_in(2) ? 0 : (uint64_t)me;
		sc(SYS_sched_setaffinity, who, one_in(3) ? hostile_int() : 8, ptr_or(SANE_SET), 0, 0, 0);
		sc(SYS_sched_getaffinity, who, one_in(3) ? hostile_int() : 8ull << below(4), hostile_ptr(), 0, 0, 0);
		break;
	}
	case 39:
		sc(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
		sc(SYS_getcpu, one_in(3) ? 0 : hostile_ptr(), one_in(3) ? 0 : hostile_ptr(), hostile_ptr(), 0, 0, 0);
		break;
	case 40:
		/* No children: these fail with ECHILD (or sooner) whatever they are given. */
		sc(SYS_wait4, one_in(2) ? (uint64_t)-1 : hostile_int(), hostile_ptr(), one_in(2) ? 1 : hostile_int(),
		   hostile_ptr(), 0, 0);
		sc(SYS_waitid, one_in(2) ? below(4) : hostile_int(), hostile_int(), hostile_ptr(),
		   one_in(2) ? 4 | 1 : hostile_int(), hostile_ptr(), 0);
		break;
	case 41: {
		static const int cmds[] = { F_GETLK, F_SETLK, F_SETLKW, 36 /* F_OFD_GETLK */,
					    37 /* F_OFD_SETLK */, 38 /* F_OFD_SETLKW */,
					    1032 /* F_GETPIPE_SZ */, 1031 /* F_SETPIPE_SZ */ };
		uint64_t cmd = (uint64_t)cmds[below(sizeof cmds / sizeof cmds[0])];
		/* Anonymous inodes are shared by all their descriptions: an OFD lock can wait on
		 * another of the child's own. */
		if (!may_block && (cmd == F_SETLKW || cmd == 38))
			cmd--;
		uint64_t arg = cmd >= 1031 ? hostile_int() : ptr_or(SANE_FLOCK);
		sc(SYS_fcntl, own_fd(), cmd, arg, 0, 0, 0);
		break;
	}
	case 42:
		/* Likewise flock (LOCK_NB is 4). */
		sc(SYS_flock, own_fd(), one_in(3) ? hostile_int() | (may_block ? 0 : 4) : (1u << below(4)) | (may_block && one_in(2) ? 0 : 4),
		   0, 0, 0, 0);
		break;
	case 43:
		sc(SYS_ppoll, ptr_or(SANE_POLL), one_in(3) ? hostile_int() : below(5),
		   may_block && one_in(3) ? 0 : timeout_ptr(), one_in(2) ? 0 : set, setsize(), 0);
		break;
	case 44:
		sc(SYS_pselect6, one_in(3) ? hostile_int() : below(128), ptr_or(SANE_FDSET), one_in(2) ? 0 : ptr_or(SANE_FDSET + 16),
		   one_in(2) ? 0 : hostile_ptr(), may_block && one_in(3) ? 0 : timeout_ptr(), one_in(2) ? 0 : ptr_or(SANE_PSEL));
		break;
	case 45: {
		uint64_t res = one_in(4) ? hostile_int() : below(16);
		/* Not RLIMIT_CPU (0): a low one is a SIGKILL, which would end most children early. */
		if (res == 0 && !one_in(10))
			res = 7;
		sc(SYS_prlimit64, one_in(2) ? 0 : (uint64_t)me, res, one_in(2) ? 0 : ptr_or(SANE_RLIM),
		   one_in(2) ? 0 : hostile_ptr(), 0, 0);
		break;
	}
	default:
		if (one_in(2)) {
			sc(SYS_set_tid_address, one_in(2) ? sane(SANE_FUTEX) + 4 * below(8) : hostile_ptr(), 0, 0, 0, 0, 0);
		} else {
			/* clone3 only where it fails before creating anything: a size below 64 or
			 * above a page, or a pointer that is not mapped. */
			uint64_t size, p;
			switch (below(3)) {
			case 0:
				size = below(64);
				p = one_in(2) ? sane(PAGE) : hostile_ptr();
				break;
			case 1:
				size = PAGE + 1 + below(1ull << 40);
				p = one_in(2) ? sane(PAGE) : hostile_ptr();
				break;
			default:
				size = 64 + below(PAGE - 63);
				static const uint64_t bad[] = { 0, 0xffff800000000000ull, 0x0000800000000000ull,
								0xfffffffffffff000ull, 0x10 };
				p = bad[below(sizeof bad / sizeof bad[0])];
			}
			sc(SYS_clone3, p, size, 0, 0, 0, 0);
		}
	}
}

/* ---- a child ---- */

static void child(int index)
{
	rng_state = 0x5eed0000ull + (uint64_t)index * 0x10001ull;
	me = getpid();
	/* A second from now, on the same clock rearm() reads. */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 1;
	alarm(1);
	buf = mmap(0, (BUF_PAGES + 1) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	shared = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || shared == MAP_FAILED || mprotect(buf + BUF_PAGES * PAGE, PAGE, PROT_NONE))
		_exit(2);
	for (size_t i = 0; i < BUF_PAGES * PAGE; i += 8) {
		uint64_t v = rnd();
		memcpy(buf + i, &v, 8);
	}
	/* Handlers for the signals it sends itself most, so that it lives a while. */
	static const int caught[] = { SIGUSR1, SIGUSR2, SIGCHLD, SIGPROF, SIGVTALRM, SIGIO };
	for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
		signal(caught[i], noop_handler);
	/* The real-time signals past the C libraries' own (32 to 34). */
	for (int s = 35; s <= 64; s++)
		signal(s, noop_handler);
	uint64_t ka[4];
	if (sc(SYS_rt_sigaction, SIGUSR1, 0, (uint64_t)(uintptr_t)ka, 8, 0, 0) == 0)
		restorer = ka[2];
	/* Descriptors to aim at: a pipe, a file in /tmp, an epoll, an eventfd, a timerfd. */
	int p[2];
	if (pipe(p) == 0) {
		remember_fd(p[0]);
		remember_fd(p[1]);
	}
	/* One name for all (they run one after the other): a name per child would leave a
	 * namecache entry each, which the counters would see. */
	const char *name = "/tmp/syscall_fuzz.lock";
	int f = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f >= 0) {
		unlink(name);
		remember_fd(f);
	}
	remember_fd(sc(SYS_epoll_create1, 0, 0, 0, 0, 0, 0));
	remember_fd(sc(SYS_eventfd2, 0, 0, 0, 0, 0, 0));
	remember_fd(sc(SYS_timerfd_create, CLOCK_MONOTONIC, 0, 0, 0, 0, 0));
	may_block = index % 40 == 39;
	for (int i = 0; i < calls; i++) {
		fill_sane();
		one_call();
		__atomic_fetch_add(calls_made, 1, __ATOMIC_RELAXED);
		/* (The alarm ends a call that blocks; this ends a child whose alarm a fuzzed
		 * call consumed. Every 16 calls: a clock read costs a syscall here.) */
		if (i % 16 == 15 && past_deadline())
			_exit(3);
	}
	_exit(0);
}

/* ---- the parent ---- */

/* Reads /proc/kcounters into `out`. With more than one CPU, the lines that count what the
 * other CPUs cache are left out: /proc/kcounters drains only the reading CPU's page cache
 * (pages_free) and the objcache magazines of another CPU hold the kernel stacks of threads
 * that ended there (malloc.objcache); both are exact at -smp 1 only. */
static int read_counters(char *out, size_t len)
{
	static char raw[8192];
	int fd = open("/proc/kcounters", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, raw, sizeof raw - 1);
	close(fd);
	if (n <= 0)
		return -1;
	raw[n] = 0;
	int smp = sysconf(_SC_NPROCESSORS_ONLN) > 1;
	size_t o = 0;
	for (char *line = strtok(raw, "\n"); line; line = strtok(0, "\n")) {
		if (smp && (strncmp(line, "pages_free ", 11) == 0 || strncmp(line, "malloc.objcache ", 16) == 0))
			continue;
		int w = snprintf(out + o, len - o, "%s\n", line);
		if (w < 0 || (size_t)w >= len - o)
			return -1;
		o += (size_t)w;
	}
	return 0;
}

/* Reads the counters once two reads 10 ms apart agree: a reaped child's last thread and
 * address space go a moment after the wait returns. Returns 0 when they settled. */
static int settled_counters(char *out, size_t len)
{
	static char prev[8192];
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	if (read_counters(prev, sizeof prev))
		return -1;
	for (int tries = 0; tries < 200; tries++) {
		nanosleep(&ts, 0);
		if (read_counters(out, len))
			return -1;
		if (strcmp(prev, out) == 0)
			return 0;
		memcpy(prev, out, sizeof prev);
	}
	return -1;
}

/* Waits for `pid`, killing it once it has had WATCHDOG_SECS. Returns 1 when it was killed. */
static int reap(pid_t pid, int *status)
{
	struct timespec start, now, nap = { 0, 2 * 1000 * 1000 };
	clock_gettime(CLOCK_MONOTONIC, &start);
	int killed = 0;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return killed;
		if (r < 0 && errno != EINTR) {
			perror("waitpid");
			exit(1);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!killed && now.tv_sec - start.tv_sec >= WATCHDOG_SECS) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		nanosleep(&nap, 0);
	}
}

/* Usage: syscall_fuzz [CHILDREN [CASE [trace [FIRST [CALLS]]]]]: the defaults are what the
 * tests run. CASE -1 is all of them; `trace` prints the counters after each child that
 * moved them; FIRST is the first child's index (its seed); CALLS the calls per child. These
 * narrow a failure down to a child and a call. */
int main(int argc, char **argv)
{
	int children = argc > 1 ? atoi(argv[1]) : CHILDREN;
	if (argc > 2)
		only_case = atoi(argv[2]);
	int trace = argc > 3 && strcmp(argv[3], "trace") == 0;
	int first = argc > 4 ? atoi(argv[4]) : 0;
	if (argc > 5)
		calls = atoi(argv[5]);
	static char last[8192], now[8192];
	memset(last, 0, sizeof last);
	memset(now, 0, sizeof now);
	/* stdout gets a static buffer now: glibc would otherwise allocate one at the first
	 * printf, after the counters are read, and grow the heap. */
	static char outbuf[BUFSIZ];
	setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);
	static char before[8192], after[8192];
	/* Both touched now: their first touch must not count as a difference. */
	memset(before, 0, sizeof before);
	memset(after, 0, sizeof after);
	/* Damselfly's own file: Linux has none. */
	int have_counters = access("/proc/kcounters", R_OK) == 0;
	calls_made = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (calls_made == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* Mapped in the parent now, page tables and all, not after the counters are read. */
	*calls_made = 0;
	int exited = 0, signaled = 0, watchdog = 0;
	for (int i = 0; i < children; i++) {
		/* The counters are taken after a few children: size classes, namecache entries
		 * and the like settle. */
		if (i == (children > WARMUP ? WARMUP : 0)) {
			/* What the end does, done once before the counters are read: the pages the
			 * C library's stdio touches then (a copy-on-write chain a fork left behind
			 * collapses at the first write) must not count as a difference. */
			printf("syscall_fuzz: %d children to warm up\n", i);
			fflush(stdout);
			fprintf(stderr, "syscall_fuzz: warmed up, %llu calls\n", (unsigned long long)*calls_made);
			waitpid(-1, 0, WNOHANG);
			if (have_counters && settled_counters(before, sizeof before)) {
				fprintf(stderr, "syscall_fuzz: the counters do not settle\n");
				return 1;
			}
		}
		fflush(0);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			child(first + i);
		int st = 0;
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		watchdog += reap(pid, &st);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (trace)
			fprintf(stderr, "child %d: status %#x, %ld ms\n", i, st,
				(long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
		if (trace && i >= WARMUP - 1) {
			if (settled_counters(now, sizeof now) == 0 && strcmp(now, last))
				fprintf(stderr, "child %d moved the counters:\n%s", i, now);
			memcpy(last, now, sizeof last);
		}
		if (WIFEXITED(st))
			exited++;
		else if (WIFSIGNALED(st))
			signaled++;
	}
	errno = 0;
	if (waitpid(-1, 0, WNOHANG) != -1 || errno != ECHILD) {
		fprintf(stderr, "a last wait did not fail with ECHILD\n");
		return 1;
	}
	fprintf(stderr, "syscall_fuzz: %llu calls; %d exited, %d killed by a signal, %d by the watchdog\n",
		(unsigned long long)*calls_made, exited, signaled, watchdog);
	printf("syscall_fuzz: %d children, kernel survived\n", children);
	if (!have_counters) {
		printf("syscall_fuzz: no /proc/kcounters here\n");
		return 0;
	}
	/* Exited threads and timers go a little after the reap: give them a moment. */
	for (int tries = 0; tries < 100; tries++) {
		if (read_counters(after, sizeof after))
			return 1;
		if (strcmp(before, after) == 0) {
			printf("syscall_fuzz: counters unchanged\n");
			return 0;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, 0);
	}
	printf("syscall_fuzz: counters moved\n--- before\n%s--- after\n%s", before, after);
	return 1;
}
