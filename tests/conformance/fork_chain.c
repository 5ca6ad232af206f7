/* A fork/exec/wait chain: with argument N > 0 the program forks, the child execs the program
 * again with N - 1, and the parent waits for it and exits with the child's status + 1; at
 * N = 0 it exits 0. Each level also checks that a second wait finds no child (ECHILD). The
 * top prints how deep it went, so `fork_chain 100` prints `depth 100, status 100`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	int top = argc > 2;
	if (n <= 0)
		return 0;
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 200;
	}
	if (pid == 0) {
		char buf[16];
		snprintf(buf, sizeof buf, "%d", n - 1);
		execl(argv[0], argv[0], buf, (char *)0);
		perror("execl");
		_exit(201);
	}
	int st = 0;
	if (waitpid(pid, &st, 0) != pid) {
		perror("waitpid");
		return 202;
	}
	if (!WIFEXITED(st)) {
		fprintf(stderr, "child %d did not exit: status %#x\n", (int)pid, st);
		return 203;
	}
	errno = 0;
	if (waitpid(-1, &st, WNOHANG) != -1 || errno != ECHILD) {
		fprintf(stderr, "a second wait did not fail with ECHILD\n");
		return 204;
	}
	int r = WEXITSTATUS(st) + 1;
	if (top)
		printf("depth %d, status %d\n", n, r);
	return r;
}
