/* Signal delivery: a SIGSEGV handler that leaves by siglongjmp (twice, so the mask saved by
 * sigsetjmp is restored each time), the fault address in siginfo, a handler for a signal the
 * process sends itself with kill and with raise, SIGCHLD from an exiting child, SIGPIPE
 * ignored so write fails with EPIPE, a blocked signal staying pending until unblocked, and
 * abort() ending a child with SIGABRT, and hostile stack pointers at sigreturn and delivery. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile void *fault_addr;
static volatile int got_usr1, got_chld, got_usr2;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_addr = si->si_addr;
	siglongjmp(env, 1);
}

static void on_usr1(int sig) { got_usr1 += sig == SIGUSR1; }
static void on_usr2(int sig) { got_usr2 += sig == SIGUSR2; }
static void on_chld(int sig) { got_chld += sig == SIGCHLD; }

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, 0);
	volatile int caught = 0;
	for (volatile int i = 0; i < 2; i++) {
		if (sigsetjmp(env, 1) == 0)
			*(volatile int *)(unsigned long)(0x1000 + i * 8) = 1;
		else
			caught++;
	}
	printf("segv: caught %d, addr %p\n", caught, fault_addr);

	signal(SIGUSR1, on_usr1);
	kill(getpid(), SIGUSR1);
	raise(SIGUSR1);
	printf("usr1: %d\n", got_usr1);

	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	signal(SIGUSR2, on_usr2);
	sigprocmask(SIG_BLOCK, &set, &old);
	kill(getpid(), SIGUSR2);
	sigset_t pend;
	sigpending(&pend);
	int pending = sigismember(&pend, SIGUSR2);
	int before = got_usr2;
	sigprocmask(SIG_SETMASK, &old, 0);
	printf("usr2: pending %d, before %d, after %d\n", pending, before, got_usr2);

	signal(SIGCHLD, on_chld);
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	int st;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	printf("chld: %d\n", got_chld);

	signal(SIGPIPE, SIG_IGN);
	int fds[2];
	pipe(fds);
	close(fds[0]);
	errno = 0;
	ssize_t n = write(fds[1], "x", 1);
	printf("pipe: %d %s\n", (int)n, errno == EPIPE ? "EPIPE" : "?");

	p = fork();
	if (p == 0)
		abort();
	waitpid(p, &st, 0);
	printf("abort: signaled %d, signal %d\n", WIFSIGNALED(st), WTERMSIG(st));

	p = fork();
	if (p == 0) {
		signal(SIGPIPE, SIG_DFL);
		int f[2];
		pipe(f);
		close(f[0]);
		write(f[1], "x", 1);
		_exit(0);
	}
	waitpid(p, &st, 0);
	printf("sigpipe: signaled %d, signal %d\n", WIFSIGNALED(st), WTERMSIG(st));

	/* A hostile stack pointer: rt_sigreturn with rsp at the top of the address space, and a
	 * caught signal delivered with rsp too low for its frame, each end the child by SIGSEGV. */
	p = fork();
	if (p == 0) {
		__asm__ volatile("mov $-16, %%rsp\n\tmov $15, %%eax\n\tsyscall" ::: "memory");
		_exit(0);
	}
	waitpid(p, &st, 0);
	int bad_return = WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
	p = fork();
	if (p == 0) {
		signal(SIGUSR1, on_usr1);
		long pid = getpid();
		__asm__ volatile("mov $0x400, %%rsp\n\tmov $62, %%eax\n\tmov %0, %%rdi\n\tmov $10, %%esi\n\tsyscall\n\t"
				 "mov $60, %%eax\n\txor %%edi, %%edi\n\tsyscall"
				 :
				 : "r"(pid)
				 : "memory", "rax", "rdi", "rsi", "rcx", "r11");
		_exit(0);
	}
	waitpid(p, &st, 0);
	int bad_stack = WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
	printf("hostile rsp: sigreturn %d, delivery %d\n", bad_return, bad_stack);
	return 0;
}
