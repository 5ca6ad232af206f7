/* Time: clocks (clock_gettime/getres/settime, gettimeofday, time), sleeps (nanosleep,
 * clock_nanosleep), times, interval timers (getitimer/setitimer, alarm) and POSIX timers. */
#include "cases.h"
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <time.h>

#ifndef CLOCK_BOOTTIME
#define CLOCK_BOOTTIME 7
#endif
#ifndef CLOCK_TAI
#define CLOCK_TAI 11
#endif

#define NS 1000000000LL

static long long ts_ns(struct timespec t)
{
    return (long long)t.tv_sec * NS + t.tv_nsec;
}

static long long now_ns(clockid_t c)
{
    struct timespec t;
    CHECK_OK(clock_gettime(c, &t));
    CHECK(t.tv_nsec >= 0 && t.tv_nsec < NS);
    return ts_ns(t);
}

/* Runs on the CPU until this thread has used `ms` more milliseconds of it (a busy machine
 * may take longer in real time). */
static void spin_cpu_ms(long ms)
{
    long long end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ms * 1000000LL;
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        ;
}

static volatile sig_atomic_t got_sig;
static void on_sig(int sig)
{
    got_sig = sig;
}

static void catch(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    CHECK_OK(sigaction(sig, &sa, NULL));
}

/* ---- clock_gettime / clock_getres ---- */

CASE(clock_gettime_every_clock)
{
    static const clockid_t clocks[] = {CLOCK_REALTIME,         CLOCK_MONOTONIC,
                                       CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
                                       CLOCK_MONOTONIC_RAW,    CLOCK_REALTIME_COARSE,
                                       CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
                                       CLOCK_TAI};
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec t = {-1, -1};
        CHECK_EQ(clock_gettime(clocks[i], &t), 0);
        CHECK(t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < NS);
    }
}

CASE(clock_gettime_monotonic_never_goes_back)
{
    long long prev = now_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < 1000; i++) {
        long long t = now_ns(CLOCK_MONOTONIC);
        CHECK(t >= prev);
        prev = t;
    }
}

CASE(clock_gettime_boottime_not_behind_monotonic)
{
    long long m = now_ns(CLOCK_MONOTONIC);
    long long b = now_ns(CLOCK_BOOTTIME);
    CHECK(b >= m);
}

CASE(clock_gettime_coarse_close_to_fine)
{
    /* A coarse clock reads the fine one as of the last tick: never ahead of it, and behind
     * by a few ticks at most (a second allows for ticks delayed on a loaded emulator). */
    long long before = now_ns(CLOCK_MONOTONIC);
    long long c = now_ns(CLOCK_MONOTONIC_COARSE);
    long long after = now_ns(CLOCK_MONOTONIC);
    CHECK(c <= after);
    CHECK(c >= before - NS);
    long long rt = now_ns(CLOCK_REALTIME);
    long long rc = now_ns(CLOCK_REALTIME_COARSE);
    CHECK(rc <= now_ns(CLOCK_REALTIME));
    CHECK(rc >= rt - NS);
}

CASE(clock_gettime_cputime_advances_with_work)
{
    long long m0 = now_ns(CLOCK_MONOTONIC);
    long long p0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    spin_cpu_ms(30);
    long long t1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    long long p1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    long long m1 = now_ns(CLOCK_MONOTONIC);
    CHECK(p1 - p0 >= 30000000);
    /* The process clock counts at least what its only thread did, and CPU time is never
     * more than the time that passed. */
    CHECK(p1 >= t1);
    CHECK(p1 - p0 <= m1 - m0 + 2000000);
}

CASE(clock_gettime_cputime_not_while_sleeping)
{
    long long p0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    struct timespec d = {0, 50000000};
    CHECK_OK(nanosleep(&d, NULL));
    long long p1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    CHECK(p1 - p0 < 25000000);
}

CASE(clock_gettime_einval_bad_clock)
{
    struct timespec t;
    CHECK_ERR(clock_gettime((clockid_t)12345, &t), EINVAL);
    CHECK_ERR(clock_gettime((clockid_t)10, &t), EINVAL);
}

CASE(clock_gettime_efault)
{
    CHECK_ERR(syscall(SYS_clock_gettime, CLOCK_REALTIME, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, KERNEL_PTR), EFAULT);
}

CASE(clock_getres_values)
{
    struct timespec r;
    CHECK_OK(clock_getres(CLOCK_REALTIME, &r));
    CHECK(r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 1000000);
    CHECK_OK(clock_getres(CLOCK_MONOTONIC, &r));
    CHECK(r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 1000000);
    CHECK_OK(clock_getres(CLOCK_MONOTONIC_COARSE, &r));
    CHECK(r.tv_sec == 0 && r.tv_nsec >= 1000000 && r.tv_nsec <= 10000000);
    CHECK_OK(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &r));
    CHECK(r.tv_sec == 0 && r.tv_nsec > 0);
    /* A null result pointer is allowed. */
    CHECK_EQ(syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL), 0);
}

CASE(clock_getres_errors)
{
    struct timespec r;
    CHECK_ERR(clock_getres((clockid_t)12345, &r), EINVAL);
    CHECK_ERR(syscall(SYS_clock_getres, CLOCK_REALTIME, BAD_PTR), EFAULT);
}

CASE(clock_getcpuclockid_of_self)
{
    clockid_t c;
    CHECK_EQ(clock_getcpuclockid(0, &c), 0);
    struct timespec t;
    CHECK_OK(clock_gettime(c, &t));
    /* The clock of a pid that does not exist. */
    CHECK_ERR(clock_gettime((clockid_t)((~4194303u << 3) | 2), &t), EINVAL);
}

/* ---- clock_settime ---- */

CASE(clock_settime_realtime_as_root)
{
    struct timespec t;
    CHECK_OK(clock_gettime(CLOCK_REALTIME, &t));
    CHECK_OK(clock_settime(CLOCK_REALTIME, &t));
    long long after = now_ns(CLOCK_REALTIME);
    CHECK(after >= ts_ns(t));
    CHECK(after - ts_ns(t) < 5 * NS);
}

CASE(clock_settime_einval)
{
    struct timespec t;
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &t));
    CHECK_ERR(clock_settime(CLOCK_MONOTONIC, &t), EINVAL);
    CHECK_ERR(clock_settime((clockid_t)12345, &t), EINVAL);
    struct timespec bad = {t.tv_sec, NS};
    CHECK_ERR(clock_settime(CLOCK_REALTIME, &bad), EINVAL);
}

/* Linux refuses a wall clock at or past TIME_SETTOD_SEC_MAX (KTIME_SEC_MAX less 30 years)
 * so that it can never overflow; the check comes before the privilege check. Nothing is
 * set, so nothing needs restoring. */
CASE(clock_settime_einval_past_settod_max)
{
    const long long settod_max = 9223372036LL - 30LL * 365 * 86400;
    long long before = now_ns(CLOCK_REALTIME);
    struct timespec huge = {(time_t)0x7fffffffffffffffLL, 0};
    CHECK_ERR(clock_settime(CLOCK_REALTIME, &huge), EINVAL);
    struct timespec edge = {(time_t)settod_max, 0};
    CHECK_ERR(clock_settime(CLOCK_REALTIME, &edge), EINVAL);
    long long after = now_ns(CLOCK_REALTIME);
    CHECK(after >= before && after - before < 5 * NS);
    pid_t pid = case_fork();
    if (pid == 0) {
        drop_privileges();
        CHECK_ERR(clock_settime(CLOCK_REALTIME, &huge), EINVAL);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(clock_settime_efault)
{
    CHECK_ERR(syscall(SYS_clock_settime, CLOCK_REALTIME, BAD_PTR), EFAULT);
}

CASE(clock_settime_eperm_as_user)
{
    struct timespec t;
    CHECK_OK(clock_gettime(CLOCK_REALTIME, &t));
    drop_privileges();
    CHECK_ERR(clock_settime(CLOCK_REALTIME, &t), EPERM);
}

/* ---- gettimeofday / time ---- */

CASE(gettimeofday_matches_realtime)
{
    struct timeval tv;
    long long before = now_ns(CLOCK_REALTIME) / 1000;
    CHECK_OK(gettimeofday(&tv, NULL));
    long long after = now_ns(CLOCK_REALTIME) / 1000;
    long long us = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK(us >= before && us <= after);
    /* The raw call with a timezone too. */
    struct timezone tz;
    CHECK_EQ(syscall(SYS_gettimeofday, &tv, &tz), 0);
    CHECK_EQ(syscall(SYS_gettimeofday, NULL, NULL), 0);
}

CASE(gettimeofday_efault)
{
    CHECK_ERR(syscall(SYS_gettimeofday, BAD_PTR, NULL), EFAULT);
    struct timeval tv;
    CHECK_ERR(syscall(SYS_gettimeofday, &tv, BAD_PTR), EFAULT);
}

CASE(time_matches_realtime)
{
    long long before = now_ns(CLOCK_REALTIME) / NS;
    time_t out = 0;
    time_t t = time(&out);
    long long after = now_ns(CLOCK_REALTIME) / NS;
    CHECK(t == out);
    CHECK(t >= before && t <= after);
    long r = syscall(SYS_time, NULL);
    CHECK(r >= before && r <= after + 1);
}

CASE(time_efault)
{
    CHECK_ERR(syscall(SYS_time, BAD_PTR), EFAULT);
}

/* ---- nanosleep / clock_nanosleep ---- */

CASE(nanosleep_sleeps_at_least)
{
    long long t0 = now_ns(CLOCK_MONOTONIC);
    struct timespec d = {0, 30000000}, rem = {-1, -1};
    CHECK_EQ(nanosleep(&d, &rem), 0);
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 30000000);
}

CASE(nanosleep_einval)
{
    struct timespec d = {0, NS};
    CHECK_ERR(nanosleep(&d, NULL), EINVAL);
    struct timespec n = {0, -1};
    CHECK_ERR(nanosleep(&n, NULL), EINVAL);
    struct timespec s = {-1, 0};
    CHECK_ERR(nanosleep(&s, NULL), EINVAL);
}

CASE(nanosleep_efault)
{
    CHECK_ERR(syscall(SYS_nanosleep, BAD_PTR, NULL), EFAULT);
}

CASE(nanosleep_eintr_reports_remaining)
{
    catch(SIGALRM);
    struct itimerval it = {{0, 0}, {0, 20000}};
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
    struct timespec d = {5, 0}, rem = {0, 0};
    CHECK_ERR(nanosleep(&d, &rem), EINTR);
    CHECK_EQ(got_sig, SIGALRM);
    CHECK(rem.tv_sec >= 3 && rem.tv_sec <= 5);
}

CASE(clock_nanosleep_relative)
{
    long long t0 = now_ns(CLOCK_MONOTONIC);
    struct timespec d = {0, 20000000};
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL), 0);
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 20000000);
    t0 = now_ns(CLOCK_MONOTONIC);
    CHECK_EQ(clock_nanosleep(CLOCK_REALTIME, 0, &d, NULL), 0);
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 20000000);
}

CASE(clock_nanosleep_abstime)
{
    struct timespec t;
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &t));
    long long target = ts_ns(t) + 20000000;
    struct timespec at = {(time_t)(target / NS), (long)(target % NS)};
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL), 0);
    CHECK(now_ns(CLOCK_MONOTONIC) >= target);
}

CASE(clock_nanosleep_abstime_past_returns_at_once)
{
    long long t0 = now_ns(CLOCK_MONOTONIC);
    struct timespec past = {0, 1};
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL), 0);
    CHECK_EQ(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &past, NULL), 0);
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 500000000);
}

CASE(clock_nanosleep_errors)
{
    struct timespec bad = {0, NS};
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
    struct timespec d = {0, 1000};
    CHECK_EQ(clock_nanosleep((clockid_t)12345, 0, &d, NULL), EINVAL);
    CHECK_EQ(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &d, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, BAD_PTR, NULL), EFAULT);
}

/* ---- times ---- */

CASE(times_counts_cpu_and_children)
{
    struct tms before, after;
    clock_t t0 = times(&before);
    CHECK(t0 != (clock_t)-1);
    pid_t pid = case_fork();
    if (pid == 0) {
        spin_cpu_ms(60);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
    spin_cpu_ms(30);
    clock_t t1 = times(&after);
    long hz = sysconf(_SC_CLK_TCK);
    CHECK_EQ(hz, 100);
    CHECK(t1 - t0 >= 8);
    CHECK(after.tms_utime + after.tms_stime > before.tms_utime + before.tms_stime);
    CHECK(after.tms_cutime + after.tms_cstime >= 3);
    CHECK_EQ(before.tms_cutime + before.tms_cstime, 0);
}

CASE(times_efault)
{
    CHECK_ERR(syscall(SYS_times, BAD_PTR), EFAULT);
}

/* ---- getitimer / setitimer / alarm ---- */

CASE(setitimer_real_fires_and_reads_back)
{
    catch(SIGALRM);
    struct itimerval it = {{0, 0}, {0, 30000}}, old, cur;
    CHECK_OK(setitimer(ITIMER_REAL, &it, &old));
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
    CHECK_OK(getitimer(ITIMER_REAL, &cur));
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 30000);
    while (!got_sig)
        pause();
    CHECK_EQ(got_sig, SIGALRM);
    CHECK_OK(getitimer(ITIMER_REAL, &cur));
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
}

CASE(setitimer_interval_rearms)
{
    struct itimerval it = {{1, 0}, {2, 0}}, cur, old;
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
    CHECK_OK(getitimer(ITIMER_REAL, &cur));
    CHECK(cur.it_interval.tv_sec == 1 && cur.it_interval.tv_usec == 0);
    CHECK(cur.it_value.tv_sec >= 1 && cur.it_value.tv_sec <= 2);
    struct itimerval off = {{0, 0}, {0, 0}};
    CHECK_OK(setitimer(ITIMER_REAL, &off, &old));
    CHECK(old.it_interval.tv_sec == 1);
    CHECK_OK(getitimer(ITIMER_REAL, &cur));
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
}

CASE(setitimer_virtual_counts_cpu)
{
    catch(SIGVTALRM);
    struct itimerval it = {{0, 0}, {0, 20000}};
    CHECK_OK(setitimer(ITIMER_VIRTUAL, &it, NULL));
    /* User time only: clock reads may be system calls, so compute between them. */
    long long end = now_ns(CLOCK_MONOTONIC) + 5 * NS;
    while (!got_sig && now_ns(CLOCK_MONOTONIC) < end)
        for (volatile int i = 0; i < 1000000 && !got_sig; i++)
            ;
    CHECK_EQ(got_sig, SIGVTALRM);
}

CASE(itimer_einval)
{
    struct itimerval it = {{0, 0}, {0, 1000000}}, cur;
    CHECK_ERR(setitimer(ITIMER_REAL, &it, NULL), EINVAL);
    struct itimerval ok = {{0, 0}, {0, 0}};
    CHECK_ERR(setitimer((int)5, &ok, NULL), EINVAL);
    CHECK_ERR(getitimer((int)5, &cur), EINVAL);
}

CASE(itimer_efault)
{
    CHECK_ERR(syscall(SYS_getitimer, ITIMER_REAL, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_setitimer, ITIMER_REAL, BAD_PTR, NULL), EFAULT);
}

CASE(alarm_returns_remaining)
{
    CHECK_EQ(alarm(10), 0);
    unsigned left = alarm(5);
    CHECK(left >= 9 && left <= 10);
    left = alarm(0);
    CHECK(left >= 4 && left <= 5);
    CHECK_EQ(alarm(0), 0);
}

CASE(alarm_delivers_sigalrm)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        alarm(1);
        for (;;)
            pause();
    }
    CHECK_KILLED(pid, SIGALRM);
}

/* ---- POSIX timers ---- */

CASE(timer_create_signal_fires)
{
    catch(SIGUSR1);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    timer_t t;
    CHECK_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
    struct itimerspec its = {{0, 0}, {0, 20000000}}, cur;
    CHECK_OK(timer_settime(t, 0, &its, NULL));
    CHECK_OK(timer_gettime(t, &cur));
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000);
    while (!got_sig)
        pause();
    CHECK_EQ(got_sig, SIGUSR1);
    CHECK_OK(timer_gettime(t, &cur));
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    CHECK_EQ(timer_getoverrun(t), 0);
    CHECK_OK(timer_delete(t));
}

CASE(timer_sigev_none_overrun)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    timer_t t;
    CHECK_OK(timer_create(CLOCK_REALTIME, &ev, &t));
    struct itimerspec its = {{10, 0}, {10, 0}}, old, cur;
    CHECK_OK(timer_settime(t, 0, &its, NULL));
    CHECK_OK(timer_gettime(t, &cur));
    CHECK(cur.it_interval.tv_sec == 10 && cur.it_value.tv_sec >= 9 && cur.it_value.tv_sec <= 10);
    struct itimerspec off = {{0, 0}, {0, 0}};
    CHECK_OK(timer_settime(t, 0, &off, &old));
    CHECK(old.it_interval.tv_sec == 10 && old.it_value.tv_sec >= 9);
    CHECK_EQ(timer_getoverrun(t), 0);
    CHECK_OK(timer_delete(t));
}

CASE(timer_abstime_in_past_fires_at_once)
{
    catch(SIGUSR2);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    timer_t t;
    CHECK_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
    struct itimerspec its = {{0, 0}, {0, 1}};
    CHECK_OK(timer_settime(t, TIMER_ABSTIME, &its, NULL));
    long long end = now_ns(CLOCK_MONOTONIC) + 2 * NS;
    while (!got_sig && now_ns(CLOCK_MONOTONIC) < end)
        ;
    CHECK_EQ(got_sig, SIGUSR2);
    CHECK_OK(timer_delete(t));
}

CASE(timer_create_einval)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    timer_t t;
    CHECK_ERR(timer_create((clockid_t)12345, &ev, &t), EINVAL);
    ev.sigev_signo = 200;
    CHECK_ERR(timer_create(CLOCK_MONOTONIC, &ev, &t), EINVAL);
    ev.sigev_signo = SIGUSR1;
    ev.sigev_notify = 99;
    CHECK_ERR(timer_create(CLOCK_MONOTONIC, &ev, &t), EINVAL);
}

CASE(timer_create_efault)
{
    int id;
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, BAD_PTR, &id), EFAULT);
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, BAD_PTR), EFAULT);
}

CASE(timer_calls_einval_bad_id)
{
    struct itimerspec its = {{0, 0}, {1, 0}}, cur;
    CHECK_ERR(syscall(SYS_timer_settime, 4242, 0, &its, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_timer_gettime, 4242, &cur), EINVAL);
    CHECK_ERR(syscall(SYS_timer_getoverrun, 4242), EINVAL);
    CHECK_ERR(syscall(SYS_timer_delete, 4242), EINVAL);
}

CASE(timer_settime_einval_bad_value)
{
    int id;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    CHECK_OK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id));
    struct itimerspec bad = {{0, 0}, {0, NS}};
    CHECK_ERR(syscall(SYS_timer_settime, id, 0, &bad, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_timer_settime, id, 0, BAD_PTR, NULL), EFAULT);
    CHECK_OK(syscall(SYS_timer_delete, id));
    /* Deleted: the id is gone. */
    CHECK_ERR(syscall(SYS_timer_delete, id), EINVAL);
}

CASE(nanosleep_raw_and_alarm_raw)
{
    /* The plain system calls, which the libcs may route elsewhere (clock_nanosleep,
     * setitimer). */
    struct timespec d = {0, 1000000};
    CHECK_EQ(syscall(SYS_nanosleep, &d, NULL), 0);
    CHECK_EQ(syscall(SYS_alarm, 30), 0);
    long left = syscall(SYS_alarm, 0);
    CHECK(left >= 29 && left <= 30);
}

CASE(getrusage_self_children_and_errors)
{
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    CHECK_OK(getrusage(RUSAGE_SELF, &ru));
    CHECK(ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
    CHECK(ru.ru_stime.tv_usec >= 0 && ru.ru_stime.tv_usec < 1000000);
    CHECK(ru.ru_maxrss > 0);
    /* No child has been reaped yet: the children's times are zero. */
    CHECK_OK(getrusage(RUSAGE_CHILDREN, &ru));
    CHECK_EQ(ru.ru_utime.tv_sec, 0);
    CHECK_EQ(ru.ru_utime.tv_usec, 0);
    CHECK_OK(getrusage(RUSAGE_THREAD, &ru));
    CHECK_ERR(getrusage(99, &ru), EINVAL);
    CHECK_ERR(getrusage(-3, &ru), EINVAL);
    CHECK_ERR(syscall(SYS_getrusage, RUSAGE_SELF, BAD_PTR), EFAULT);
    CHECK_ERR(syscall(SYS_getrusage, RUSAGE_CHILDREN, KERNEL_PTR), EFAULT);
}

CASE(getrusage_maxrss_of_reaped_child)
{
    /* A child that touches 4 MiB: the children's ru_maxrss (KiB) is at least that, and the
     * parent's own is unchanged by it. */
    struct rusage self_before, self_after, kids;
    CHECK_OK(getrusage(RUSAGE_SELF, &self_before));
    pid_t pid = case_fork();
    if (pid == 0) {
        size_t n = 4 << 20;
        volatile char *p = malloc(n);
        if (p == NULL)
            _exit(2);
        for (size_t i = 0; i < n; i += 4096)
            p[i] = 1;
        _exit(p[n - 4096] == 1 ? 0 : 3);
    }
    CHECK_EXIT(pid, 0);
    CHECK_OK(getrusage(RUSAGE_CHILDREN, &kids));
    CHECK(kids.ru_maxrss >= 4096);
    CHECK_OK(getrusage(RUSAGE_SELF, &self_after));
    CHECK(self_after.ru_maxrss < kids.ru_maxrss);
    CHECK(self_after.ru_maxrss >= self_before.ru_maxrss);
}
