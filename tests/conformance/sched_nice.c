/* Scheduler acceptance: niceness and wake-up latency on one CPU. Everything is pinned to
 * CPU 0 (sched_setaffinity, inherited at fork).
 *
 * Two CPU-bound children, one at nice 0 and one at nice 10, start together (released by the
 * close of a pipe) and spin until a common deadline 2 s away; the parent compares their CPU
 * times from wait4's rusage:
 *   # ratio N.N (nice 0: A s, nice 10: B s)
 *   nice: the nice 10 child ran too: 1
 *   nice: the nice 0 child got more than twice the CPU time of the nice 10 one: 1
 * Then a probe child sleeps 10 ms (clock_nanosleep) 100 times while four CPU hogs run,
 * measuring how late each wake-up is (informational, a benchmark figure):
 *   # latency: median X us, max Y us
 * The hogs stop when the probe is done, or at a deadline, so that the program ends even
 * on a kernel that never preempts them. Prints "sched_nice: done" last. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define HOGS 4
#define SLEEPS 100
#define SLEEP_NS 10000000LL

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

/* Spins until the deadline passes or *stop is set. */
static void spin(long long deadline, volatile int *stop)
{
	volatile unsigned long sink = 0;

	while (!*stop && now_ns() < deadline)
		for (int i = 0; i < 1000; i++)
			sink += i;
}

/* Blocks on the pipe until every write end is closed. */
static void wait_gate(int gate[2])
{
	char x;

	close(gate[1]);
	while (read(gate[0], &x, 1) > 0)
		;
}

static double cpu_seconds(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

struct shared {
	long long deadline;
	int stop;
	long long late_ns[SLEEPS];
};

static void niceness(struct shared *sh)
{
	int gate[2];
	pid_t pid[2];
	double cpu[2];

	if (pipe(gate))
		exit(10);
	sh->stop = 0;
	sh->deadline = 0;
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			exit(11);
		if (pid[i] == 0) {
			if (i == 1 && setpriority(PRIO_PROCESS, 0, 10))
				_exit(1);
			wait_gate(gate);
			spin(sh->deadline, &sh->stop);
			_exit(0);
		}
	}
	sh->deadline = now_ns() + 2 * NS;
	close(gate[1]);
	for (int i = 0; i < 2; i++) {
		struct rusage ru;
		int status;
		if (wait4(pid[i], &status, 0, &ru) != pid[i] || !WIFEXITED(status) || WEXITSTATUS(status))
			exit(12);
		cpu[i] = cpu_seconds(&ru);
	}
	printf("# ratio %.1f (nice 0: %.2f s, nice 10: %.2f s)\n", cpu[1] > 0 ? cpu[0] / cpu[1] : 999.9, cpu[0],
	       cpu[1]);
	/* A kernel that never switches away from the first child would pass the ratio. */
	printf("nice: the nice 10 child ran too: %d\n", cpu[1] >= 0.02);
	printf("nice: the nice 0 child got more than twice the CPU time of the nice 10 one: %d\n",
	       cpu[0] > 2 * cpu[1]);
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static void latency(struct shared *sh)
{
	int gate[2];
	pid_t hog[HOGS], probe;

	if (pipe(gate))
		exit(20);
	sh->stop = 0;
	sh->deadline = now_ns() + 10 * NS;
	for (int i = 0; i < HOGS; i++) {
		hog[i] = fork();
		if (hog[i] < 0)
			exit(21);
		if (hog[i] == 0) {
			wait_gate(gate);
			spin(sh->deadline, &sh->stop);
			_exit(0);
		}
	}
	probe = fork();
	if (probe < 0)
		exit(22);
	if (probe == 0) {
		struct timespec d = { 0, SLEEP_NS };
		wait_gate(gate);
		for (int i = 0; i < SLEEPS; i++) {
			long long t = now_ns();
			clock_nanosleep(CLOCK_MONOTONIC, 0, &d, 0);
			sh->late_ns[i] = now_ns() - t - SLEEP_NS;
		}
		_exit(0);
	}
	close(gate[1]);
	waitpid(probe, 0, 0);
	sh->stop = 1;
	for (int i = 0; i < HOGS; i++)
		waitpid(hog[i], 0, 0);
	qsort(sh->late_ns, SLEEPS, sizeof(sh->late_ns[0]), cmp);
	printf("# latency: median %lld us, max %lld us\n", sh->late_ns[SLEEPS / 2] / 1000,
	       sh->late_ns[SLEEPS - 1] / 1000);
}

int main(void)
{
	cpu_set_t set;

	setvbuf(stdout, 0, _IOLBF, 0);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return 1;
	struct shared *sh = mmap(0, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	niceness(sh);
	latency(sh);
	printf("sched_nice: done\n");
	return 0;
}
