/* Out of memory: a child that writes to twice the machine's RAM (in 16 MiB chunks, every
 * page touched) is killed by SIGKILL, as Linux's OOM killer does; the parent and the rest
 * of the system go on: a second child allocates a little and exits normally. The output is
 * what Linux prints (not run on the host: it would take twice the host's memory). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK (16UL << 20)

static void report(const char *who, int st)
{
	if (WIFSIGNALED(st))
		printf("%s killed by signal %d\n", who, WTERMSIG(st));
	else
		printf("%s exited %d\n", who, WEXITSTATUS(st));
}

int main(void)
{
	struct sysinfo si;
	int st;

	setvbuf(stdout, 0, _IONBF, 0);
	if (sysinfo(&si) != 0)
		return 1;
	unsigned long long want = 2ULL * si.totalram * si.mem_unit;
	long page = sysconf(_SC_PAGESIZE);
	pid_t p = fork();
	if (p == 0) {
		for (unsigned long long got = 0; got < want; got += CHUNK) {
			char *m = malloc(CHUNK);
			if (!m)
				_exit(2);
			for (unsigned long i = 0; i < CHUNK; i += page)
				m[i] = 1;
		}
		_exit(3);
	}
	waitpid(p, &st, 0);
	report("child", st);

	p = fork();
	if (p == 0) {
		char *m = malloc(1 << 20);
		if (!m)
			_exit(2);
		for (int i = 0; i < 1 << 20; i += 4096)
			m[i] = 1;
		_exit(0);
	}
	waitpid(p, &st, 0);
	report("small child", st);
	return 0;
}
