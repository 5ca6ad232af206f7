/* /proc/self and /proc/PID as Linux shows them (man 5 proc). Run as PID 1; prints one line
 * per check, each ending in 1 when what procfs says matches what the process knows:
 *   self: 1
 *   stat: pid 1, comm 1, state R, ppid 1, fields 1
 *   cmdline: 1
 *   comm: 1
 *   maps: stack 1, exe 1
 *   exe: 1
 *   fd1: /dev/console
 *   child: name 1, state S, pid 1, ppid 1
 *   zombie: state Z, cmdline 0, fds 0
 *   nopid: ENOENT
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char buf[65536];

/* Reads a whole file into buf; returns its length, or -1. */
static long slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	long n = 0, r;

	if (fd < 0)
		return -1;
	while (n < (long)sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The state letter of a stat line (after the last ')'). */
static char stat_state(void)
{
	char *close = strrchr(buf, ')');

	return close && close[1] == ' ' ? close[2] : '?';
}

static int count_fds(int pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	char path[64], link[4096], comm[16], want[64];
	int pid = getpid();
	ssize_t n;
	long len;

	/* /proc/self names the caller. */
	n = readlink("/proc/self", link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = 0;
	snprintf(want, sizeof(want), "%d", pid);
	printf("self: %d\n", strcmp(link, want) == 0);

	/* stat: pid (comm) state ppid ..., at least 52 fields. */
	snprintf(comm, sizeof(comm), "%s", base(argv[0]));
	len = slurp("/proc/self/stat");
	{
		int spid = -1, ppid = -1, fields = 0;
		char scomm[64] = "";
		char *close = strrchr(buf, ')');
		char *open = strchr(buf, '(');

		if (len > 0 && open && close && close > open) {
			spid = atoi(buf);
			snprintf(scomm, sizeof(scomm), "%.*s", (int)(close - open - 1), open + 1);
			ppid = atoi(close + 4);
			fields = 2;
			for (char *t = strtok(close + 1, " \n"); t; t = strtok(NULL, " \n"))
				fields++;
		}
		printf("stat: pid %d, comm %d, state R, ppid %d, fields %d\n", spid == pid,
		       strcmp(scomm, comm) == 0, ppid == getppid(), fields >= 52);
	}

	/* cmdline: argv, NUL-separated. */
	len = slurp("/proc/self/cmdline");
	{
		long at = 0;
		int ok = len > 0;

		for (int i = 0; ok && i < argc; i++) {
			ok = at < len && strcmp(buf + at, argv[i]) == 0;
			at += strlen(argv[i]) + 1;
		}
		printf("cmdline: %d\n", ok && at == len);
	}

	len = slurp("/proc/self/comm");
	snprintf(want, sizeof(want), "%s\n", comm);
	printf("comm: %d\n", len > 0 && strcmp(buf, want) == 0);

	n = readlink("/proc/self/exe", link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = 0;

	/* maps: the stack, and the executable's mappings under its path. */
	len = slurp("/proc/self/maps");
	{
		int stack = 0, exe = 0;

		for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
			size_t ll = strlen(l), el = strlen(link);

			if (ll >= 7 && strcmp(l + ll - 7, "[stack]") == 0)
				stack = 1;
			if (el > 0 && ll > el && strcmp(l + ll - el, link) == 0 && l[ll - el - 1] == ' ')
				exe = 1;
		}
		printf("maps: stack %d, exe %d\n", stack, exe);
	}

	printf("exe: %d\n", strcmp(link, argv[0]) == 0);

	n = readlink("/proc/self/fd/1", link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = 0;
	printf("fd1: %s\n", link);
	fflush(stdout);

	/* A child sleeping in read: its status as the parent sees it. */
	int go[2];
	if (pipe(go) < 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		char c;

		close(go[1]);
		read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)child);
	{
		int name = 0, sleeping = 0, cpid = 0, cppid = 0;
		char line[64];

		for (int tries = 0; tries < 500 && !sleeping; tries++) {
			struct timespec ts = { 0, 10000000 };

			if (slurp(path) > 0) {
				snprintf(line, sizeof(line), "Name:\t%s\n", comm);
				name = strstr(buf, line) != NULL;
				sleeping = strstr(buf, "\nState:\tS (sleeping)\n") != NULL;
				snprintf(line, sizeof(line), "\nPid:\t%d\n", (int)child);
				cpid = strstr(buf, line) != NULL;
				snprintf(line, sizeof(line), "\nPPid:\t%d\n", pid);
				cppid = strstr(buf, line) != NULL;
			}
			if (!sleeping)
				nanosleep(&ts, NULL);
		}
		printf("child: name %d, state %s, pid %d, ppid %d\n", name, sleeping ? "S" : "?", cpid, cppid);
	}

	/* Let it end; before the wait it is a zombie without memory or descriptors. */
	close(go[1]);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
	{
		char state = '?';

		for (int tries = 0; tries < 500 && state != 'Z'; tries++) {
			struct timespec ts = { 0, 10000000 };

			if (slurp(path) > 0)
				state = stat_state();
			if (state != 'Z')
				nanosleep(&ts, NULL);
		}
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)child);
		len = slurp(path);
		printf("zombie: state %c, cmdline %ld, fds %d\n", state, len, count_fds(child));
	}
	waitpid(child, NULL, 0);

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
	errno = 0;
	printf("nopid: %s\n", open(path, O_RDONLY) < 0 && errno == ENOENT ? "ENOENT" : "found");
	return 0;
}
