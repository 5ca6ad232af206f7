/* Signal delivery beyond the basics: handlers interrupting a blocking read with and
 * without SA_RESTART, a stack overflow handled on the alternate stack, stop and continue
 * seen by the parent (wait4 and SIGCHLD), sigtimedwait and queued real-time signals,
 * sigsuspend, SA_RESETHAND and SA_NODEFER, siginfo of kill and sigqueue, and a process
 * signal taken by the one thread that does not block it. One line per fact; the output is
 * the same on Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits;
static void count(int sig)
{
	(void)sig;
	hits++;
}

static void on(int sig, void (*h)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

static void msleep(int ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* A child that signals us after 50 ms, then writes one byte to the pipe 50 ms later. */
static pid_t signal_then_write(int wfd, int sig)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		msleep(50);
		kill(parent, sig);
		msleep(50);
		if (write(wfd, "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	return pid;
}

static void interrupted_reads(void)
{
	for (int restart = 0; restart <= 1; restart++) {
		int p[2];
		if (pipe(p) < 0)
			return;
		hits = 0;
		on(SIGUSR1, count, restart ? SA_RESTART : 0);
		pid_t pid = signal_then_write(p[1], SIGUSR1);
		char c;
		ssize_t n = read(p[0], &c, 1);
		int e = errno;
		waitpid(pid, NULL, 0);
		printf("read %s SA_RESTART: returned %zd%s, handler ran %d\n", restart ? "with" : "without", n,
		       n < 0 && e == EINTR ? " EINTR" : "", hits);
		close(p[0]);
		close(p[1]);
	}
}

static char *alt_lo, *alt_hi;
static void on_segv(int sig)
{
	(void)sig;
	char here;
	stack_t cur;
	sigaltstack(NULL, &cur);
	int on_alt = &here >= alt_lo && &here < alt_hi;
	/* Changing the stack while running on it is refused. */
	stack_t other = { .ss_sp = malloc(SIGSTKSZ), .ss_size = SIGSTKSZ, .ss_flags = 0 };
	int r = sigaltstack(&other, NULL);
	_exit(on_alt && (cur.ss_flags & SS_ONSTACK) && r < 0 && errno == EPERM ? 42 : 1);
}

/* Deeper until the stack runs out (the limit is far beyond any real stack). */
static volatile int depth_limit = 1 << 30;
static int recurse(int n)
{
	volatile char pad[4096];
	pad[0] = (char)n;
	if (n >= depth_limit)
		return 0;
	return recurse(n + 1) + pad[0];
}

static void overflow(void)
{
	for (int with_alt = 1; with_alt >= 0; with_alt--) {
		pid_t pid = fork();
		if (pid == 0) {
			if (with_alt) {
				size_t sz = 64 * 1024;
				alt_lo = malloc(sz);
				alt_hi = alt_lo + sz;
				stack_t ss = { .ss_sp = alt_lo, .ss_size = sz, .ss_flags = 0 };
				sigaltstack(&ss, NULL);
				on(SIGSEGV, on_segv, SA_ONSTACK);
			} else {
				on(SIGSEGV, on_segv, 0);
			}
			_exit(recurse(0) == 0 ? 2 : 3);
		}
		int st;
		waitpid(pid, &st, 0);
		if (with_alt)
			printf("overflow with an alternate stack: handler exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		else
			printf("overflow without one: killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	}
	stack_t small = { .ss_sp = malloc(1024), .ss_size = 1024, .ss_flags = 0 };
	int r = sigaltstack(&small, NULL);
	printf("sigaltstack too small: %d %s\n", r, errno == ENOMEM ? "ENOMEM" : "other");
	stack_t off;
	sigaltstack(NULL, &off);
	printf("sigaltstack unset: disabled %d\n", (off.ss_flags & SS_DISABLE) != 0);
}

static volatile sig_atomic_t chld_stopped, chld_continued;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == CLD_STOPPED)
		chld_stopped++;
	if (si->si_code == CLD_CONTINUED)
		chld_continued++;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *close_paren = strrchr(buf, ')');
	return close_paren && close_paren[1] ? close_paren[2] : '?';
}

static void stop_continue(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	msleep(20);
	kill(pid, SIGSTOP);
	int st;
	pid_t r = waitpid(pid, &st, WUNTRACED);
	printf("stopped: waited %d, WIFSTOPPED %d, sig %d, state %c\n", r == pid, WIFSTOPPED(st), WSTOPSIG(st),
	       proc_state(pid));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	waitid(P_PID, pid, &si, WSTOPPED | WNOHANG);
	printf("stop reported once: %d\n", si.si_pid == 0);
	kill(pid, SIGCONT);
	r = waitpid(pid, &st, WCONTINUED);
	printf("continued: waited %d, WIFCONTINUED %d, state %c\n", r == pid, WIFCONTINUED(st), proc_state(pid) == 'T' ? 'T' : 'S');
	/* Run as PID 1, the child's group is orphaned (its members' parent is PID 1): SIGTSTP
	 * does nothing there (POSIX and Linux; the suite's signals area has it stopping a
	 * group that is not orphaned). SIGSTOP stops it all the same. */
	kill(pid, SIGTSTP);
	msleep(20);
	memset(&si, 0, sizeof si);
	waitid(P_PID, pid, &si, WSTOPPED | WNOHANG);
	printf("SIGTSTP in an orphaned group: stopped %d, state %c\n", si.si_pid != 0,
	       proc_state(pid) == 'T' ? 'T' : 'S');
	kill(pid, SIGSTOP);
	memset(&si, 0, sizeof si);
	waitid(P_PID, pid, &si, WSTOPPED);
	printf("SIGSTOP: waitid code %s status %d\n", si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other", si.si_status);
	/* A stopped process still dies of SIGKILL. */
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	printf("killed while stopped: signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	/* Standard signals do not queue: two stops may come as one SIGCHLD. */
	printf("SIGCHLD: stopped seen %d, continued seen %d\n", chld_stopped >= 1, chld_continued >= 1);
	on(SIGCHLD, SIG_DFL, 0);
}

static void timed_waits(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* tgkill itself: the C libraries' raise differ in how they send. */
	syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
	siginfo_t si;
	struct timespec zero = { 0, 0 }, short_wait = { 0, 30 * 1000000L };
	int s = sigtimedwait(&set, &si, &zero);
	/* glibc's sigtimedwait reports SI_TKILL as SI_USER. */
	printf("sigtimedwait: sig %d, code %s, pid ok %d\n", s,
	       si.si_code == SI_TKILL || si.si_code == SI_USER ? "user" : "other",
	       si.si_pid == getpid());
	s = sigtimedwait(&set, &si, &short_wait);
	printf("sigtimedwait nothing: %d %s\n", s, errno == EAGAIN ? "EAGAIN" : "other");
	for (int v = 1; v <= 3; v++) {
		union sigval val = { .sival_int = v * 10 };
		sigqueue(getpid(), SIGRTMIN, val);
	}
	raise(SIGUSR1);
	raise(SIGUSR1);
	int order[4] = { 0 }, n = 0, usr1 = 0;
	while ((s = sigtimedwait(&set, &si, &zero)) > 0) {
		if (s == SIGUSR1)
			usr1++;
		else if (n < 4 && si.si_code == SI_QUEUE)
			order[n++] = si.si_value.sival_int;
	}
	printf("queued: realtime %d %d %d (%d), standard once %d\n", order[0], order[1], order[2], n, usr1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void suspend(void)
{
	sigset_t block, old, empty;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	hits = 0;
	on(SIGUSR2, count, 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		msleep(30);
		kill(parent, SIGUSR2);
		_exit(0);
	}
	sigemptyset(&empty);
	int r = sigsuspend(&empty);
	int e = errno;
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	waitpid(pid, NULL, 0);
	printf("sigsuspend: %d %s, handler ran %d, mask back %d\n", r, e == EINTR ? "EINTR" : "other", hits,
	       sigismember(&now, SIGUSR2));
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static volatile sig_atomic_t nodefer_blocked = -1;
static void check_mask(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	nodefer_blocked = sigismember(&now, sig);
	hits++;
}

static void flags(void)
{
	hits = 0;
	on(SIGUSR1, check_mask, SA_RESETHAND);
	raise(SIGUSR1);
	struct sigaction cur;
	sigaction(SIGUSR1, NULL, &cur);
	printf("SA_RESETHAND: ran %d, now default %d, blocked inside %d\n", hits, cur.sa_handler == SIG_DFL,
	       nodefer_blocked);
	on(SIGUSR1, check_mask, SA_NODEFER);
	raise(SIGUSR1);
	printf("SA_NODEFER: blocked inside %d\n", nodefer_blocked);
	on(SIGUSR1, SIG_DFL, 0);
}

static volatile pid_t info_pid;
static volatile int info_code, info_value;
static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	info_pid = si->si_pid;
	info_code = si->si_code;
	info_value = si->si_value.sival_int;
}

static void siginfo_sources(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		kill(parent, SIGUSR1);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	while (info_pid == 0)
		msleep(1);
	printf("kill siginfo: from the child %d, SI_USER %d\n", info_pid == pid, info_code == SI_USER);
	union sigval v = { .sival_int = 77 };
	sigqueue(getpid(), SIGUSR1, v);
	printf("sigqueue siginfo: SI_QUEUE %d, value %d\n", info_code == SI_QUEUE, info_value);
	on(SIGUSR1, SIG_DFL, 0);
}

static volatile pid_t taker;
static void note_taker(int sig)
{
	(void)sig;
	taker = (pid_t)syscall(SYS_gettid);
}

static volatile pid_t worker_tid;
static void *unblocked_worker(void *arg)
{
	(void)arg;
	worker_tid = (pid_t)syscall(SYS_gettid);
	while (taker == 0)
		msleep(1);
	return NULL;
}

static void thread_choice(void)
{
	on(SIGUSR2, note_taker, 0);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	/* The worker starts with SIGUSR2 open; then only the main thread blocks it. */
	pthread_t t;
	pthread_create(&t, NULL, unblocked_worker, NULL);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	while (worker_tid == 0)
		msleep(1);
	kill(getpid(), SIGUSR2);
	pthread_join(t, NULL);
	printf("process signal taken by the thread that does not block it: %d\n", taker == worker_tid);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	interrupted_reads();
	overflow();
	stop_continue();
	timed_waits();
	suspend();
	flags();
	siginfo_sources();
	thread_choice();
	return 0;
}
