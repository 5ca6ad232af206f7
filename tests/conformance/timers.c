/* Timers and CPU time: alarm, the three interval timers, POSIX timers (signals, si_value,
 * overruns, SIGEV_NONE, TIMER_ABSTIME), clock_nanosleep, nanosleep interrupted by a handler
 * (EINTR even with SA_RESTART) and not by an ignored SIGCHLD, restart_syscall with nothing
 * to restart, and CPU accounting: getrusage, times, the CPU clocks, wait4's rusage and
 * SIGCHLD's si_utime. Only comparisons are printed, never raw times. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int alrm, vtalrm, prof, usr1, chld;
static volatile int usr1_code, usr1_value, usr1_overrun;
static volatile long chld_utime;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGALRM)
		alrm++;
	if (sig == SIGVTALRM)
		vtalrm++;
	if (sig == SIGPROF)
		prof++;
	if (sig == SIGUSR1) {
		usr1++;
		usr1_code = si->si_code;
		usr1_value = si->si_value.sival_int;
		usr1_overrun = si->si_overrun;
	}
	if (sig == SIGCHLD) {
		chld++;
		chld_utime = si->si_utime;
	}
}

static void catch(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | flags;
	sigaction(sig, &sa, 0);
}

static long long ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long tv_us(struct timeval t) { return t.tv_sec * 1000000LL + t.tv_usec; }

/* Spins in user mode for `ms` of this thread's CPU time (at most 20 s of wall time). */
static void burn(long ms)
{
	long long start = ns(CLOCK_THREAD_CPUTIME_ID), wall = ns(CLOCK_MONOTONIC);
	volatile unsigned long x = 0;
	while (ns(CLOCK_THREAD_CPUTIME_ID) - start < ms * 1000000LL && ns(CLOCK_MONOTONIC) - wall < 20000000000LL)
		for (int i = 0; i < 100000; i++)
			x += i;
}

/* Spins until `*flag` is set (at most 20 s of wall time). */
static void burn_until(volatile int *flag)
{
	long long wall = ns(CLOCK_MONOTONIC);
	volatile unsigned long x = 0;
	while (!*flag && ns(CLOCK_MONOTONIC) - wall < 20000000000LL)
		for (int i = 0; i < 100000; i++)
			x += i;
}

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void alarms(void)
{
	unsigned a = alarm(10), b = alarm(5), c = alarm(0);
	printf("alarm: %u %u %u\n", a, b, c);
	catch(SIGALRM, 0);
	alrm = 0;
	alarm(1);
	while (!alrm)
		pause();
	printf("alarm fired: %d\n", alrm);
}

static void itimers(void)
{
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, cur, old;
	alrm = 0;
	setitimer(ITIMER_REAL, &it, 0);
	getitimer(ITIMER_REAL, &cur);
	printf("getitimer real: interval %ld, value ok %d\n", (long)cur.it_interval.tv_usec,
	       tv_us(cur.it_value) > 0 && tv_us(cur.it_value) <= 20000);
	while (alrm < 3)
		pause();
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, &old);
	printf("real: %d signals, old interval %ld\n", alrm, (long)old.it_interval.tv_usec);
	getitimer(ITIMER_REAL, &cur);
	printf("disarmed: %lld\n", tv_us(cur.it_value));

	struct itimerval bad = { { 0, 0 }, { 0, 1000000 } };
	int r1 = setitimer(ITIMER_REAL, &bad, 0), e1 = errno;
	int r2 = getitimer(7, &cur), e2 = errno;
	printf("bad usec: %d %s, bad which: %d %s\n", r1, e1 == EINVAL ? "EINVAL" : "?", r2,
	       e2 == EINVAL ? "EINVAL" : "?");

	struct itimerval v = { { 0, 0 }, { 1, 0 } };
	setitimer(ITIMER_VIRTUAL, &v, 0);
	getitimer(ITIMER_VIRTUAL, &cur);
	printf("getitimer virtual: value ok %d\n", tv_us(cur.it_value) > 900000 && tv_us(cur.it_value) <= 1100000);
	setitimer(ITIMER_VIRTUAL, &off, 0);

	catch(SIGVTALRM, 0);
	catch(SIGPROF, 0);
	struct itimerval short_ = { { 0, 0 }, { 0, 50000 } };
	setitimer(ITIMER_VIRTUAL, &short_, 0);
	burn_until(&vtalrm);
	setitimer(ITIMER_PROF, &short_, 0);
	burn_until(&prof);
	printf("virtual: %d, prof: %d\n", vtalrm, prof);
}

static void posix_timers(void)
{
	struct sigevent sev;
	timer_t t;
	struct itimerspec its, cur;

	catch(SIGUSR1, 0);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_value.sival_int = 42;
	int r = timer_create(CLOCK_MONOTONIC, &sev, &t);
	memset(&its, 0, sizeof its);
	its.it_value.tv_nsec = 50000000;
	timer_settime(t, 0, &its, 0);
	timer_gettime(t, &cur);
	int running = cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 50000000;
	while (!usr1)
		pause();
	timer_gettime(t, &cur);
	printf("timer: create %d, running %d, fired %d, code SI_TIMER %d, value %d, overrun %d, after %ld\n", r,
	       running, usr1, usr1_code == SI_TIMER, usr1_value, usr1_overrun, cur.it_value.tv_nsec);

	/* Periodic, with the signal blocked for 100 ms: the expiries pile up as overruns. */
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, 0);
	usr1 = 0;
	its.it_interval.tv_nsec = 10000000;
	its.it_value.tv_nsec = 10000000;
	timer_settime(t, 0, &its, 0);
	nap(100);
	sigprocmask(SIG_UNBLOCK, &m, 0);
	int ov = timer_getoverrun(t);
	memset(&its, 0, sizeof its);
	struct itimerspec old;
	timer_settime(t, 0, &its, &old);
	printf("overrun: signals %d, si_overrun ok %d, getoverrun ok %d, old interval %ld, after settime %d\n",
	       usr1, usr1_overrun >= 4 && usr1_overrun <= 11, ov == usr1_overrun, old.it_interval.tv_nsec,
	       timer_getoverrun(t));
	timer_delete(t);
	errno = 0;
	r = timer_gettime(t, &cur);
	printf("deleted: %d %s\n", r, errno == EINVAL ? "EINVAL" : "?");

	sev.sigev_notify = 77;
	r = timer_create(CLOCK_MONOTONIC, &sev, &t);
	printf("bad notify: %d %s\n", r, errno == EINVAL ? "EINVAL" : "?");

	sev.sigev_notify = SIGEV_NONE;
	timer_create(CLOCK_REALTIME, &sev, &t);
	its.it_value.tv_nsec = 30000000;
	timer_settime(t, 0, &its, 0);
	timer_gettime(t, &cur);
	int armed = cur.it_value.tv_nsec > 0;
	nap(60);
	timer_gettime(t, &cur);
	printf("sigev_none: armed %d, then %ld\n", armed, cur.it_value.tv_nsec);
	timer_delete(t);

	/* TIMER_ABSTIME on CLOCK_REALTIME. */
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_value.sival_int = 7;
	timer_create(CLOCK_REALTIME, &sev, &t);
	usr1 = 0;
	long long target = ns(CLOCK_REALTIME) + 30000000;
	its.it_value.tv_sec = target / 1000000000;
	its.it_value.tv_nsec = target % 1000000000;
	timer_settime(t, TIMER_ABSTIME, &its, 0);
	while (!usr1)
		pause();
	printf("abstime: fired %d, not early %d, value %d\n", usr1, ns(CLOCK_REALTIME) >= target, usr1_value);
	timer_delete(t);
}

static void sleeps(void)
{
	long long t0 = ns(CLOCK_MONOTONIC);
	struct timespec rel = { 0, 20000000 };
	int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, 0);
	printf("clock_nanosleep relative: %d, slept enough %d\n", r, ns(CLOCK_MONOTONIC) - t0 >= 20000000);
	long long target = ns(CLOCK_REALTIME) + 30000000;
	struct timespec abs_ = { target / 1000000000, target % 1000000000 };
	r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs_, 0);
	printf("clock_nanosleep absolute: %d, not early %d\n", r, ns(CLOCK_REALTIME) >= target);
	struct timespec bad = { 0, 1000000000 };
	printf("clock_nanosleep errors: %s %s\n",
	       clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, 0) == EINVAL ? "EINVAL" : "?",
	       clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &rel, 0) == EINVAL ? "EINVAL" : "?");

	for (int restart = 0; restart < 2; restart++) {
		catch(SIGALRM, restart ? SA_RESTART : 0);
		alrm = 0;
		struct itimerval it = { { 0, 0 }, { 0, 50000 } };
		setitimer(ITIMER_REAL, &it, 0);
		struct timespec req = { 2, 0 }, rem = { 0, 0 };
		errno = 0;
		r = nanosleep(&req, &rem);
		printf("nanosleep handler%s: %d %s, rem ok %d\n", restart ? " SA_RESTART" : "", r,
		       errno == EINTR ? "EINTR" : "?", alrm == 1 && rem.tv_sec <= 2 && (rem.tv_sec > 0 || rem.tv_nsec > 0));
	}

	/* An ignored signal (SIGCHLD by default) does not interrupt the sleep. */
	signal(SIGCHLD, SIG_DFL);
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	struct timespec req = { 0, 200000000 };
	r = nanosleep(&req, 0);
	waitpid(p, 0, 0);
	printf("nanosleep with ignored SIGCHLD: %d\n", r);

	errno = 0;
	r = syscall(SYS_restart_syscall);
	printf("restart_syscall: %d %s\n", r, errno == EINTR ? "EINTR" : "?");
}

static void accounting(void)
{
	struct rusage r0, r1;
	struct tms t0, t1;
	getrusage(RUSAGE_SELF, &r0);
	times(&t0);
	long long c0 = ns(CLOCK_PROCESS_CPUTIME_ID), th0 = ns(CLOCK_THREAD_CPUTIME_ID);
	clockid_t cid;
	int cr = clock_getcpuclockid(0, &cid);
	long long d0 = ns(cid);
	burn(300);
	char *mem = malloc(64 << 12);
	for (int i = 0; i < 64; i++)
		mem[i << 12] = 1;
	getrusage(RUSAGE_SELF, &r1);
	times(&t1);
	long long c1 = ns(CLOCK_PROCESS_CPUTIME_ID), th1 = ns(CLOCK_THREAD_CPUTIME_ID), d1 = ns(cid);
	printf("self: utime grew %d, ticks grew %d, minflt grew %d\n", tv_us(r1.ru_utime) - tv_us(r0.ru_utime) >= 150000,
	       t1.tms_utime - t0.tms_utime >= 15, r1.ru_minflt - r0.ru_minflt >= 64);
	printf("clocks: process %d, thread %d, cpuclockid %d %d\n", c1 - c0 >= 300000000, th1 - th0 >= 300000000, cr,
	       d1 - d0 >= 300000000);
	struct rusage rt;
	getrusage(RUSAGE_THREAD, &rt);
	struct timespec res;
	clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res);
	errno = 0;
	int bad = getrusage(5, &rt);
	printf("thread: utime %d, res ok %d, bad who %d %s\n", tv_us(rt.ru_utime) >= 150000,
	       res.tv_sec == 0 && res.tv_nsec > 0, bad, errno == EINVAL ? "EINVAL" : "?");

	catch(SIGCHLD, 0);
	chld = 0;
	pid_t p = fork();
	if (p == 0) {
		burn(300);
		_exit(0);
	}
	struct rusage ru;
	int st;
	while (wait4(p, &st, 0, &ru) == -1 && errno == EINTR)
		;
	struct rusage rc;
	getrusage(RUSAGE_CHILDREN, &rc);
	struct tms tc;
	times(&tc);
	printf("child: wait4 utime %d, children utime %d, cutime %d, sigchld %d utime %d\n",
	       tv_us(ru.ru_utime) >= 150000, tv_us(rc.ru_utime) >= tv_us(ru.ru_utime), tc.tms_cutime >= 15, chld,
	       chld_utime >= 15);
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	alarms();
	itimers();
	posix_timers();
	sleeps();
	accounting();
	return 0;
}
