/* Children by every route: vfork (the child writes the parent's memory, then _exits),
 * posix_spawn (CLONE_VM|CLONE_VFORK in musl and glibc) of /bin/hello-musl, a forked child that
 * writes through a null pointer (reported by wait as killed by SIGSEGV), and WNOHANG on a
 * child that is still running (it waits on a pipe), waitid with WNOWAIT then a reaping wait. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
	int st;
	volatile int shared = 0;
	pid_t p = vfork();
	if (p == 0) {
		shared = 42;
		_exit(3);
	}
	if (waitpid(p, &st, 0) != p)
		return 1;
	printf("vfork: shared=%d status=%d\n", shared, WEXITSTATUS(st));
	fflush(stdout);

	char *av[] = { "/bin/hello-musl", 0 };
	int e = posix_spawn(&p, "/bin/hello-musl", 0, 0, av, environ);
	if (e) {
		printf("posix_spawn: error %d\n", e);
		return 2;
	}
	if (waitpid(p, &st, 0) != p)
		return 3;
	printf("spawn: exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));

	p = fork();
	if (p == 0) {
		*(volatile int *)0 = 1;
		_exit(0);
	}
	if (waitpid(p, &st, 0) != p)
		return 4;
	printf("crash: signaled=%d signal=%d\n", WIFSIGNALED(st), WTERMSIG(st));

	int fds[2];
	if (pipe(fds))
		return 5;
	p = fork();
	if (p == 0) {
		char c;
		close(fds[1]);
		_exit(read(fds[0], &c, 1) == 1 ? c : 99);
	}
	close(fds[0]);
	pid_t none = waitpid(p, &st, WNOHANG);
	if (write(fds[1], "\x05", 1) != 1)
		return 6;
	if (waitpid(p, &st, 0) != p)
		return 7;
	printf("nohang: %d, then status=%d\n", (int)none, WEXITSTATUS(st));

	p = fork();
	if (p == 0)
		_exit(9);
	siginfo_t si;
	if (waitid(P_PID, p, &si, WEXITED | WNOWAIT))
		return 8;
	int peek_ok = si.si_pid == p && si.si_code == CLD_EXITED && si.si_status == 9 && si.si_signo == SIGCHLD;
	if (waitpid(p, &st, 0) != p)
		return 9;
	errno = 0;
	int last = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
	printf("waitid: peek %d, reaped %d, then %s\n", peek_ok, WEXITSTATUS(st), last == -1 && errno == ECHILD ? "ECHILD" : "?");
	return 0;
}
