/* Signals and blocking calls: a read on an empty pipe fails with EINTR when a handler without
 * SA_RESTART runs, and is restarted (and completes) when the handler has SA_RESTART;
 * nanosleep fails with EINTR and reports time left; SIGTERM kills a child blocked in read;
 * a parent blocked in wait sees the child's exit. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int hits;
static void on_usr1(int sig) { hits += sig == SIGUSR1; }

static void handle(int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, 0);
}

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, 0);
}

int main(void)
{
	int fds[2], st;
	char c;

	pipe(fds);
	pid_t p = fork();
	if (p == 0) {
		handle(0);
		ssize_t n = read(fds[0], &c, 1);
		_exit(n == -1 && errno == EINTR && hits == 1 ? 7 : 1);
	}
	nap(50);
	kill(p, SIGUSR1);
	waitpid(p, &st, 0);
	printf("read interrupted: status %d\n", WEXITSTATUS(st));

	p = fork();
	if (p == 0) {
		handle(1);
		ssize_t n = read(fds[0], &c, 1);
		_exit(n == 1 && c == 'r' && hits == 1 ? 8 : 1);
	}
	nap(50);
	kill(p, SIGUSR1);
	nap(50);
	write(fds[1], "r", 1);
	waitpid(p, &st, 0);
	printf("read restarted: status %d\n", WEXITSTATUS(st));

	p = fork();
	if (p == 0) {
		handle(0);
		struct timespec ts = { 10, 0 }, rem = { 0, 0 };
		int r = nanosleep(&ts, &rem);
		_exit(r == -1 && errno == EINTR && rem.tv_sec > 5 ? 9 : 1);
	}
	nap(50);
	kill(p, SIGUSR1);
	waitpid(p, &st, 0);
	printf("nanosleep interrupted: status %d\n", WEXITSTATUS(st));

	p = fork();
	if (p == 0) {
		read(fds[0], &c, 1);
		_exit(1);
	}
	nap(50);
	kill(p, SIGTERM);
	waitpid(p, &st, 0);
	printf("blocked child killed: signaled %d, signal %d\n", WIFSIGNALED(st), WTERMSIG(st));
	return 0;
}
