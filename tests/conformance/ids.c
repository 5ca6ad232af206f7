/* Credentials and sysinfo: root changes its real, effective and saved ids with setresuid,
 * switches back through the saved id, drops all three with setuid and then cannot regain
 * root (EPERM), while supplementary groups and getresgid follow the same rules; sysinfo
 * reports memory, uptime and the process count. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	uid_t r, e, s;
	gid_t groups[4] = { 10, 20, 30, 40 };
	printf("start: uid %d euid %d gid %d\n", (int)getuid(), (int)geteuid(), (int)getgid());
	if (setgroups(4, groups) || getgroups(0, 0) != 4)
		return 1;
	if (setresgid(100, 100, 0) || setresuid(1000, 1000, 0))
		return 2;
	getresuid(&r, &e, &s);
	printf("setresuid: %d %d %d\n", (int)r, (int)e, (int)s);
	errno = 0;
	int g = setgroups(1, groups);
	printf("setgroups unprivileged: %d %s\n", g, errno == EPERM ? "EPERM" : "?");
	if (seteuid(0))
		return 3;
	getresuid(&r, &e, &s);
	printf("seteuid back: %d %d %d\n", (int)r, (int)e, (int)s);
	if (setuid(1000))
		return 4;
	getresuid(&r, &e, &s);
	errno = 0;
	int back = setuid(0);
	printf("setuid dropped: %d %d %d, regain %d %s\n", (int)r, (int)e, (int)s, back, errno == EPERM ? "EPERM" : "?");
	struct sysinfo si;
	if (sysinfo(&si))
		return 5;
	printf("sysinfo: ram %s, procs %s, unit %u\n", si.totalram > (64UL << 20) ? "ok" : "small",
	       si.procs >= 1 ? "ok" : "none", si.mem_unit);
	return 0;
}
