/* Scheduler acceptance: CPU sharing and spreading. Four CPU-bound children start together
 * (released by the close of a pipe) and spin for 1.5 s of wall time each, noting every few
 * milliseconds in shared memory the CPU they run on (sched_getcpu). The parent takes each
 * child's CPU time from wait4's rusage and prints
 *   # shares: A% B% C% D%, cpus seen N of M online
 *   share: every child got between 15% and 35% of the CPU time: 1
 *   cpus: the children ran on min(4, online CPUs) different CPUs: 1
 * The first line is informational (raw figures); the checks look at the other two.
 * "Online CPUs" are the CPUs the process may run on (sched_getaffinity), so that the count
 * is the same whatever the C library reads. */
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

#define CHILDREN 4
#define SPIN_NS 1500000000LL
#define SAMPLE_NS 3000000LL

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Spins until `ns` of wall time have passed, OR-ing the CPUs it sees into *seen. */
static void spin(uint64_t *seen, long long ns)
{
	long long start = now_ns(), next = start;
	volatile unsigned long sink = 0;

	for (;;) {
		for (int i = 0; i < 1000; i++)
			sink += i;
		long long t = now_ns();
		if (t >= next) {
			int cpu = sched_getcpu();
			if (cpu >= 0 && cpu < 64)
				__atomic_fetch_or(seen, 1ULL << cpu, __ATOMIC_RELAXED);
			next = t + SAMPLE_NS;
		}
		if (t - start >= ns)
			break;
	}
}

static double seconds(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

int main(void)
{
	cpu_set_t set;
	int gate[2];
	pid_t pid[CHILDREN];
	double cpu[CHILDREN], sum = 0;

	setvbuf(stdout, 0, _IOLBF, 0);
	if (sched_getaffinity(0, sizeof(set), &set) || pipe(gate))
		return 1;
	int online = CPU_COUNT(&set);
	uint64_t *seen = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (seen == MAP_FAILED)
		return 2;
	for (int i = 0; i < CHILDREN; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			return 3;
		if (pid[i] == 0) {
			char x;
			close(gate[1]);
			/* Wait for the others: the pipe's end is their common start. */
			while (read(gate[0], &x, 1) > 0)
				;
			spin(&seen[i], SPIN_NS);
			_exit(0);
		}
	}
	close(gate[1]);
	for (int i = 0; i < CHILDREN; i++) {
		struct rusage ru;
		int status;
		if (wait4(pid[i], &status, 0, &ru) != pid[i] || !WIFEXITED(status))
			return 4;
		cpu[i] = seconds(ru.ru_utime) + seconds(ru.ru_stime);
		sum += cpu[i];
	}
	uint64_t all = 0;
	int fair = sum > 0;
	printf("# shares:");
	for (int i = 0; i < CHILDREN; i++) {
		double share = sum > 0 ? cpu[i] / sum : 0;
		printf(" %.1f%%", share * 100);
		fair = fair && share >= 0.15 && share <= 0.35;
		all |= seen[i];
	}
	int want = online < CHILDREN ? online : CHILDREN;
	int used = __builtin_popcountll(all);
	printf(", cpus seen %d of %d online, cpu time %.2f s\n", used, online, sum);
	printf("share: every child got between 15%% and 35%% of the CPU time: %d\n", fair);
	printf("cpus: the children ran on min(4, online CPUs) different CPUs: %d\n", used >= want);
	return 0;
}
