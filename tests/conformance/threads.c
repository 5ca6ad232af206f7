/* POSIX threads on the kernel's clone, futex and thread-group support: eight threads with
 * a mutex, condition variables, a barrier and thread-local storage; thread ids; a signal
 * to a chosen thread; robust mutexes of a dead owner; futex calls made directly (private
 * and shared across fork); a thread group ended by one thread's exit, by its leader's
 * pthread_exit, and replaced by one thread's execve; CPU affinity; and the CPUs the
 * threads ran on. Prints one line per fact; the output is the same on Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* musl ships no kernel headers: the futex ABI, from linux/futex.h. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP(op, oparg, cmp, cmparg) \
	((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

#define NTHREADS 8
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;
static long counter;
static __thread int tls_value;
static int tls_ok[NTHREADS];
static int serial_count;
static int cpus_seen[64];
static pid_t tids[NTHREADS];
static pid_t pids[NTHREADS];

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *t, uint32_t *uaddr2, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, t, uaddr2, val3);
}

static void spin(long n)
{
	volatile long x = 0;
	for (long i = 0; i < n; i++)
		x += i;
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	tls_value = id * 100;
	tids[id] = (pid_t)syscall(SYS_gettid);
	pids[id] = getpid();
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD)
		__atomic_fetch_add(&serial_count, 1, __ATOMIC_SEQ_CST);
	/* Every thread busy at once: they cannot all share one CPU's time unnoticed. */
	for (int i = 0; i < 20; i++) {
		spin(200000);
		int c = sched_getcpu();
		if (c >= 0 && c < 64)
			__atomic_store_n(&cpus_seen[c], 1, __ATOMIC_SEQ_CST);
	}
	pthread_barrier_wait(&barrier);
	tls_ok[id] = tls_value == id * 100;
	return (void *)(intptr_t)(id + 1);
}

/* A bounded queue under one mutex and two condition variables. */
#define QCAP 16
static int queue[QCAP], qhead, qtail, qcount, qdone;
static long consumed_sum;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;

static void *consumer(void *arg)
{
	(void)arg;
	long sum = 0;
	for (;;) {
		pthread_mutex_lock(&qlock);
		while (qcount == 0 && !qdone)
			pthread_cond_wait(&not_empty, &qlock);
		if (qcount == 0 && qdone) {
			pthread_mutex_unlock(&qlock);
			break;
		}
		int v = queue[qhead];
		qhead = (qhead + 1) % QCAP;
		qcount--;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&qlock);
		sum += v;
	}
	pthread_mutex_lock(&qlock);
	consumed_sum += sum;
	pthread_mutex_unlock(&qlock);
	return NULL;
}

static void condvars(void)
{
	pthread_t c[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&c[i], NULL, consumer, NULL);
	long produced = 0;
	for (int v = 1; v <= 5000; v++) {
		pthread_mutex_lock(&qlock);
		while (qcount == QCAP)
			pthread_cond_wait(&not_full, &qlock);
		queue[qtail] = v;
		qtail = (qtail + 1) % QCAP;
		qcount++;
		produced += v;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&qlock);
	}
	pthread_mutex_lock(&qlock);
	qdone = 1;
	pthread_cond_broadcast(&not_empty);
	pthread_mutex_unlock(&qlock);
	for (int i = 0; i < 4; i++)
		pthread_join(c[i], NULL);
	printf("condvar: produced %ld consumed %ld\n", produced, consumed_sum);
}

static volatile pid_t usr1_tid;
static void on_usr1(int sig)
{
	(void)sig;
	usr1_tid = (pid_t)syscall(SYS_gettid);
}

static pthread_barrier_t kill_barrier;
static volatile pid_t kill_target_tid;
static void *kill_target(void *arg)
{
	(void)arg;
	kill_target_tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&kill_barrier);
	while (usr1_tid == 0)
		usleep(1000);
	return NULL;
}

static void thread_signal(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_barrier_init(&kill_barrier, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, kill_target, NULL);
	pthread_barrier_wait(&kill_barrier);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	printf("pthread_kill: handled by the target %d\n", usr1_tid == kill_target_tid);
}

static pthread_mutex_t robust;
static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	return NULL;
}

static void robust_mutex(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &a);
	pthread_t t;
	pthread_create(&t, NULL, die_holding, NULL);
	pthread_join(t, NULL);
	int r = pthread_mutex_lock(&robust);
	printf("robust: lock after owner died %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "other");
	pthread_mutex_consistent(&robust);
	pthread_mutex_unlock(&robust);
}

static uint32_t fword;
static void *waker(void *arg)
{
	(void)arg;
	usleep(20000);
	__atomic_store_n(&fword, 1, __ATOMIC_SEQ_CST);
	futex(&fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

static void futex_calls(void)
{
	uint32_t w = 5;
	long r = futex(&w, FUTEX_WAIT_PRIVATE, 6, NULL, NULL, 0);
	printf("futex wait on a changed word: %ld %s\n", r, errno == EAGAIN ? "EAGAIN" : "other");
	struct timespec t = { 0, 20 * 1000 * 1000 };
	r = futex(&w, FUTEX_WAIT_PRIVATE, 5, &t, NULL, 0);
	printf("futex wait timeout: %ld %s\n", r, errno == ETIMEDOUT ? "ETIMEDOUT" : "other");
	printf("futex wake nobody: %ld\n", futex(&w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	r = futex(&w, 99, 0, NULL, NULL, 0);
	printf("futex bad op: %ld %s\n", r, errno == ENOSYS ? "ENOSYS" : "other");
	r = futex((uint32_t *)((char *)&w + 1), FUTEX_WAKE, 1, NULL, NULL, 0);
	printf("futex misaligned: %ld %s\n", r, errno == EINVAL ? "EINVAL" : "other");
	pthread_t th;
	pthread_create(&th, NULL, waker, NULL);
	while (__atomic_load_n(&fword, __ATOMIC_SEQ_CST) == 0)
		futex(&fword, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	pthread_join(th, NULL);
	printf("futex woken by a thread: %u\n", fword);

	/* Shared: a MAP_SHARED word, parent waits, child wakes. */
	uint32_t *sw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*sw = 0;
	pid_t pid = fork();
	if (pid == 0) {
		usleep(20000);
		__atomic_store_n(sw, 1, __ATOMIC_SEQ_CST);
		futex(sw, FUTEX_WAKE, 1, NULL, NULL, 0);
		_exit(0);
	}
	while (__atomic_load_n(sw, __ATOMIC_SEQ_CST) == 0)
		futex(sw, FUTEX_WAIT, 0, NULL, NULL, 0);
	waitpid(pid, NULL, 0);
	printf("shared futex across fork: %u\n", *sw);

	/* Requeue refuses when the word moved on; wake_op updates the second word. */
	static uint32_t a_word, b_word;
	r = futex(&a_word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (struct timespec *)(uintptr_t)1, &b_word, 7);
	printf("cmp_requeue with a stale value: %ld %s\n", r, errno == EAGAIN ? "EAGAIN" : "other");
	uint32_t op_word = 1;
	r = futex(&a_word, FUTEX_WAKE_OP_PRIVATE, 1, (struct timespec *)(uintptr_t)1, &op_word,
		  FUTEX_OP(FUTEX_OP_ADD, 4, FUTEX_OP_CMP_EQ, 1));
	printf("wake_op: %ld, word now %u\n", r, op_word);
}

static void *block_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *exit_three(void *arg)
{
	(void)arg;
	usleep(10000);
	exit(3);
}

static void *outlive_leader(void *arg)
{
	(void)arg;
	usleep(30000);
	printf("leader gone, worker still runs: pid %d\n", getpid() == (pid_t)(intptr_t)arg);
	fflush(stdout);
	return NULL;
}

static void thread_groups(const char *self)
{
	/* One thread's exit() ends every thread. */
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, block_forever, NULL);
		pthread_create(&t, NULL, exit_three, NULL);
		for (;;)
			pause();
	}
	int st;
	waitpid(pid, &st, 0);
	printf("exit from a thread: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));

	/* The leader's own exit (the thread only, behind the C library's back: musl's
	 * pthread_exit from main waits on a lock of its own) leaves the process running. */
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, outlive_leader, (void *)(intptr_t)getpid());
		syscall(SYS_exit, 0);
	}
	waitpid(pid, &st, 0);
	printf("after the last thread: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));

	/* execve from a thread: the others go, the process keeps its pid. */
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, block_forever, NULL);
		char pidbuf[16];
		snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
		char *argv[] = { (char *)self, "after-exec", pidbuf, NULL };
		execv(self, argv);
		_exit(99);
	}
	waitpid(pid, &st, 0);
	printf("exec from a thread group: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

static int after_exec(const char *pidbuf)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int threads = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Threads: %d", &threads) == 1)
			break;
	if (f)
		fclose(f);
	printf("after exec: same pid %d, threads %d\n", getpid() == atoi(pidbuf), threads);
	return 0;
}

static void affinity(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	int r = sched_setaffinity(0, sizeof set, &set);
	spin(1000);
	int cpu = sched_getcpu();
	CPU_ZERO(&set);
	sched_getaffinity(0, sizeof set, &set);
	printf("affinity: set %d, on cpu 0 %d, mask has 1 cpu %d\n", r, cpu == 0, CPU_COUNT(&set) == 1);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "after-exec") == 0)
		return after_exec(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t t[NTHREADS];
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	long ret_sum = 0;
	for (int i = 0; i < NTHREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		ret_sum += (long)(intptr_t)r;
	}
	int tls = 0, same_pid = 0, distinct = 1;
	for (int i = 0; i < NTHREADS; i++) {
		tls += tls_ok[i];
		same_pid += pids[i] == getpid();
		for (int j = 0; j < i; j++)
			if (tids[i] == tids[j] || tids[i] == getpid())
				distinct = 0;
	}
	int ncpus = 0;
	for (int i = 0; i < 64; i++)
		ncpus += cpus_seen[i];
	printf("mutex: counter %ld\n", counter);
	printf("join: return values sum %ld\n", ret_sum);
	printf("barrier: serial threads %d\n", serial_count);
	printf("tls: %d of %d kept their value\n", tls, NTHREADS);
	printf("ids: same pid %d, distinct tids %d\n", same_pid, distinct);
	printf("cpus: threads ran on at least 2: %d\n", ncpus >= 2);
	condvars();
	thread_signal();
	robust_mutex();
	futex_calls();
	thread_groups(argv[0]);
	affinity();
	return 0;
}
