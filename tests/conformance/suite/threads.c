/* Threads and futexes: pthreads, raw clone(CLONE_THREAD), set_tid_address, futex operations,
 * robust lists, tgkill between threads, thread exit against exit_group, CPU affinity,
 * getcpu, and restartable sequences (rseq: registration, CPU ids, critical-section aborts). */
#include "cases.h"

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#ifdef __GLIBC__
#include <sys/rseq.h>
#endif

/* Linux's futex ABI (musl has no <linux/futex.h>). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#define FUTEX_OWNER_DIED 0x40000000
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP(op, oparg, cmp, cmparg)                                                     \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))
#ifndef RSEQ_FLAG_UNREGISTER
#define RSEQ_FLAG_UNREGISTER 1
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_rseq
#define SYS_rseq 334
#endif

/* ---- raw system calls and threads that touch no libc state (errno, TLS) ---- */

static inline long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

/* conf_clone(flags, stack_top, ptid, ctid, tls, fn, arg): clone; the child runs fn(arg) on
 * the new stack and ends with SYS_exit(fn's value). Returns the raw result (-errno). */
long conf_clone(unsigned long flags, void *stack, int *ptid, int *ctid, unsigned long tls,
                int (*fn)(void *), void *arg);
__asm__(".text\n"
        ".globl conf_clone\n"
        ".type conf_clone,@function\n"
        "conf_clone:\n"
        "  mov 8(%rsp), %rax\n"
        "  sub $16, %rsi\n"
        "  mov %r9, 0(%rsi)\n"
        "  mov %rax, 8(%rsi)\n"
        "  mov %rcx, %r10\n"
        "  mov $56, %eax\n"
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n"
        "  pop %rax\n"
        "  pop %rdi\n"
        "  call *%rax\n"
        "  mov %eax, %edi\n"
        "  mov $60, %eax\n"
        "  syscall\n"
        "  hlt\n"
        "1: ret\n");

#define THREAD_FLAGS                                                                         \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)
#define STACK_SIZE (64 * 1024)

static char *new_stack(void)
{
    char *s = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(s != MAP_FAILED);
    return s + STACK_SIZE;
}

static long futex_call(volatile int *uaddr, int op, int val, const struct timespec *ts,
                       volatile int *uaddr2, int val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

/* Waits (raw futex) until *word is 0: a CLONE_CHILD_CLEARTID or set_tid_address word. */
static void wait_cleared(volatile int *word)
{
    int v;
    while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) != 0)
        sys6(SYS_futex, (long)word, FUTEX_WAIT, v, 0, 0, 0);
}

/* ---- pthreads ---- */

static void *ret_arg_plus_one(void *arg)
{
    return (void *)((uintptr_t)arg + 1);
}

CASE(pthread_create_join_returns_value)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, ret_arg_plus_one, (void *)41), 0);
    void *ret = NULL;
    CHECK_EQ(pthread_join(t, &ret), 0);
    CHECK_EQ((uintptr_t)ret, 42);
}

static volatile int detached_done;

static void *set_done(void *arg)
{
    (void)arg;
    __atomic_store_n(&detached_done, 1, __ATOMIC_RELEASE);
    sys6(SYS_futex, (long)&detached_done, FUTEX_WAKE, 1, 0, 0, 0);
    return NULL;
}

CASE(pthread_detach_runs_to_end)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, set_done, NULL), 0);
    CHECK_EQ(pthread_detach(t), 0);
    while (__atomic_load_n(&detached_done, __ATOMIC_ACQUIRE) == 0)
        futex_call(&detached_done, FUTEX_WAIT, 0, NULL, NULL, 0);
    CHECK_EQ(detached_done, 1);
}

static void *report_tid(void *arg)
{
    *(pid_t *)arg = gettid();
    return NULL;
}

CASE(pthread_has_own_tid)
{
    pid_t tid = 0;
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, report_tid, &tid), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK(tid > 0);
    CHECK(tid != gettid());
}

CASE(gettid_of_main_thread_is_pid)
{
    CHECK_EQ(gettid(), getpid());
    CHECK_EQ(syscall(SYS_gettid), getpid());
}

/* ---- raw clone(CLONE_THREAD) ---- */

static volatile long raw_pid, raw_tid;

static int record_ids(void *arg)
{
    (void)arg;
    raw_pid = sys3(SYS_getpid, 0, 0, 0);
    raw_tid = sys3(SYS_gettid, 0, 0, 0);
    return 0;
}

CASE(clone_thread_shares_pid_new_tid)
{
    static volatile int ctid, ptid;
    ctid = -1;
    long tid = CHECK_OK(conf_clone(THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
                                   new_stack(), (int *)&ptid, (int *)&ctid, 0, record_ids, NULL));
    CHECK(tid > 0);
    CHECK_EQ(ptid, tid);
    wait_cleared(&ctid);
    CHECK_EQ(raw_pid, getpid());
    CHECK_EQ(raw_tid, tid);
    CHECK(raw_tid != gettid());
}

CASE(clone_thread_without_sighand_einval)
{
    CHECK_EQ(conf_clone(CLONE_VM | CLONE_THREAD, new_stack(), NULL, NULL, 0, record_ids, NULL),
             -EINVAL);
}

CASE(clone_sighand_without_vm_einval)
{
    CHECK_EQ(conf_clone(CLONE_SIGHAND, new_stack(), NULL, NULL, 0, record_ids, NULL), -EINVAL);
}

static volatile int tid_word;

static int set_tid_address_and_exit(void *arg)
{
    (void)arg;
    long tid = sys3(SYS_set_tid_address, (long)&tid_word, 0, 0);
    tid_word = (int)tid;
    return 0;
}

CASE(set_tid_address_clears_and_wakes_at_exit)
{
    tid_word = -1;
    long tid = CHECK_OK(conf_clone(THREAD_FLAGS, new_stack(), NULL, NULL, 0,
                                   set_tid_address_and_exit, NULL));
    /* The thread stores its tid there, then its exit clears it and wakes this wait. */
    wait_cleared(&tid_word);
    CHECK_EQ(tid_word, 0);
    CHECK(tid > 0);
}

CASE(set_tid_address_returns_tid)
{
    static int word;
    CHECK_EQ(syscall(SYS_set_tid_address, &word), gettid());
}

/* ---- clone3 ---- */

struct clone_args_v0 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

CASE(clone3_fork_like_child)
{
    struct clone_args_v0 ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    fflush(stdout);
    long pid = CHECK_OK(syscall(SYS_clone3, &ca, sizeof ca));
    if (pid == 0)
        _exit(6);
    CHECK_EXIT((pid_t)pid, 6);
}

CASE(clone3_errors)
{
    struct clone_args_v0 ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    CHECK_ERR(syscall(SYS_clone3, &ca, 32), EINVAL);
    CHECK_ERR(syscall(SYS_clone3, BAD_PTR, sizeof ca), EFAULT);
    ca.exit_signal = 65;
    CHECK_ERR(syscall(SYS_clone3, &ca, sizeof ca), EINVAL);
    ca.exit_signal = SIGCHLD;
    ca.flags = CLONE_THREAD;
    CHECK_ERR(syscall(SYS_clone3, &ca, sizeof ca), EINVAL);
}

/* ---- exit of one thread against exit_group ---- */

static int spin_forever(void *arg)
{
    (void)arg;
    for (;;)
        sys3(SYS_sched_yield, 0, 0, 0);
    return 0;
}

static int exit_group_5(void *arg)
{
    (void)arg;
    /* Waits for the main thread to be gone, then ends the group. */
    struct timespec ts = {0, 20 * 1000 * 1000};
    sys3(SYS_nanosleep, (long)&ts, 0, 0);
    sys3(SYS_exit_group, 5, 0, 0);
    return 0;
}

/* A child process starts a thread running `fn`, then its main thread makes call `nr`
 * (exit or exit_group) with `code`; the child must end with status `want`. */
static void thread_then_exit(int (*fn)(void *), long nr, int code, int want)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        if (conf_clone(THREAD_FLAGS, new_stack(), NULL, NULL, 0, fn, NULL) < 0)
            _exit(90);
        sys3(nr, code, 0, 0);
        _exit(91);
    }
    CHECK_EXIT(pid, want);
}

CASE(exit_group_ends_all_threads)
{
    thread_then_exit(spin_forever, SYS_exit_group, 7, 7);
}

CASE(thread_exit_leaves_process_running)
{
    /* Only the main thread ends: the process lives on in the other one. */
    thread_then_exit(exit_group_5, SYS_exit, 3, 5);
}

/* ---- futex ---- */

CASE(futex_wait_value_mismatch_eagain)
{
    static volatile int word = 1;
    CHECK_ERR(futex_call(&word, FUTEX_WAIT, 2, NULL, NULL, 0), EAGAIN);
}

CASE(futex_wait_times_out)
{
    static volatile int word = 0;
    struct timespec ts = {0, 10 * 1000 * 1000};
    CHECK_ERR(futex_call(&word, FUTEX_WAIT, 0, &ts, NULL, 0), ETIMEDOUT);
}

CASE(futex_wait_bad_timeout_einval)
{
    static volatile int word = 0;
    struct timespec ts = {0, 1000 * 1000 * 1000};
    CHECK_ERR(futex_call(&word, FUTEX_WAIT, 0, &ts, NULL, 0), EINVAL);
}

CASE(futex_unknown_op_enosys)
{
    static volatile int word = 0;
    CHECK_ERR(futex_call(&word, 99, 0, NULL, NULL, 0), ENOSYS);
}

CASE(futex_wait_unaligned_einval)
{
    static volatile int words[2];
    CHECK_ERR(futex_call((volatile int *)((char *)words + 1), FUTEX_WAIT, 0, NULL, NULL, 0),
              EINVAL);
}

CASE(futex_wait_efault)
{
    CHECK_ERR(syscall(SYS_futex, BAD_PTR, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
    CHECK_ERR(syscall(SYS_futex, KERNEL_PTR, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
}

CASE(futex_wake_no_waiters_zero)
{
    static volatile int word = 0;
    CHECK_EQ(futex_call(&word, FUTEX_WAKE, 1, NULL, NULL, 0), 0);
    CHECK_EQ(futex_call(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
}

static volatile int wake_word;
static volatile long waiter_result = 1;

static void *wait_on_word(void *arg)
{
    int op = (int)(intptr_t)arg;
    waiter_result = sys6(SYS_futex, (long)&wake_word, op, 0, 0, 0, FUTEX_BITSET_MATCH_ANY);
    return NULL;
}

/* Wakes `op` on wake_word until one waiter is woken (the waiter may not wait yet). */
static void wake_until_one(int op, int val3)
{
    for (int i = 0; i < 100000; i++) {
        long n = CHECK_OK(futex_call(&wake_word, op, 1, NULL, NULL, val3));
        if (n == 1)
            return;
        CHECK_EQ(n, 0);
        sched_yield();
    }
    FAIL("nobody woken");
}

/* A thread waits with `wait_op`; `wake_op` (with `val3`) wakes it; its wait returned 0. */
static void wait_then_wake(int wait_op, int wake_op, int val3)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, wait_on_word, (void *)(intptr_t)wait_op), 0);
    wake_until_one(wake_op, val3);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(waiter_result, 0);
}

CASE(futex_wake_wakes_waiter)
{
    wait_then_wake(FUTEX_WAIT, FUTEX_WAKE, 0);
}

CASE(futex_private_wake_wakes_private_waiter)
{
    wait_then_wake(FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE, 0);
}

CASE(futex_wake_bitset_wakes_matching_waiter)
{
    wait_then_wake(FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, 1);
}

CASE(futex_wait_bitset_zero_einval)
{
    static volatile int word = 0;
    CHECK_ERR(futex_call(&word, FUTEX_WAIT_BITSET, 0, NULL, NULL, 0), EINVAL);
}

CASE(futex_wake_bitset_zero_einval)
{
    static volatile int word = 0;
    CHECK_ERR(futex_call(&word, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0), EINVAL);
}

CASE(futex_wait_bitset_absolute_past_times_out)
{
    static volatile int word = 0;
    struct timespec now;
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &now));
    CHECK_ERR(futex_call(&word, FUTEX_WAIT_BITSET, 0, &now, NULL, FUTEX_BITSET_MATCH_ANY),
              ETIMEDOUT);
    CHECK_OK(clock_gettime(CLOCK_REALTIME, &now));
    CHECK_ERR(futex_call(&word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 0, &now, NULL,
                         FUTEX_BITSET_MATCH_ANY),
              ETIMEDOUT);
}

CASE(futex_clock_realtime_on_wake_enosys)
{
    static volatile int word = 0;
    CHECK_ERR(futex_call(&word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS);
}

static volatile int requeue_target;

CASE(futex_requeue_moves_waiter)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, wait_on_word, (void *)(intptr_t)FUTEX_WAIT), 0);
    /* Requeue (wake none, move one) until the waiter is there to be moved. */
    long n = 0;
    for (int i = 0; i < 100000 && n == 0; i++) {
        n = CHECK_OK(syscall(SYS_futex, &wake_word, FUTEX_REQUEUE, 0, 1, &requeue_target, 0));
        if (n == 0)
            sched_yield();
    }
    CHECK_EQ(n, 1);
    /* Now it waits on the target: a wake on the first word finds nobody. */
    CHECK_EQ(futex_call(&wake_word, FUTEX_WAKE, 1, NULL, NULL, 0), 0);
    CHECK_EQ(futex_call(&requeue_target, FUTEX_WAKE, 1, NULL, NULL, 0), 1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(waiter_result, 0);
}

CASE(futex_cmp_requeue_value_mismatch_eagain)
{
    static volatile int a = 1, b = 0;
    CHECK_ERR(syscall(SYS_futex, &a, FUTEX_CMP_REQUEUE, 1, 1, &b, 2), EAGAIN);
    CHECK_EQ(syscall(SYS_futex, &a, FUTEX_CMP_REQUEUE, 1, 1, &b, 1), 0);
}

CASE(futex_cmp_requeue_negative_count_einval)
{
    static volatile int a = 1, b = 0;
    CHECK_ERR(syscall(SYS_futex, &a, FUTEX_CMP_REQUEUE, -1, 1, &b, 1), EINVAL);
}

CASE(futex_wake_op_changes_second_word)
{
    static volatile int a = 0, b = 3;
    /* b = 5 (old 3); wake on b if old == 3. */
    int op = FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 3);
    CHECK_EQ(syscall(SYS_futex, &a, FUTEX_WAKE_OP, 1, 1, &b, op), 0);
    CHECK_EQ(b, 5);
    op = FUTEX_OP(FUTEX_OP_ADD, 2, FUTEX_OP_CMP_GT, 100);
    CHECK_EQ(syscall(SYS_futex, &a, FUTEX_WAKE_OP, 1, 1, &b, op), 0);
    CHECK_EQ(b, 7);
}

CASE(futex_wake_op_efault)
{
    static volatile int a = 0;
    int op = FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0);
    CHECK_ERR(syscall(SYS_futex, &a, FUTEX_WAKE_OP, 1, 1, BAD_PTR, op), EFAULT);
}

/* ---- robust lists ---- */

struct robust_head {
    void *next;
    long futex_offset;
    void *pending;
};

CASE(set_robust_list_bad_len_einval)
{
    static struct robust_head h = {&h, 0, NULL};
    CHECK_ERR(syscall(SYS_set_robust_list, &h, sizeof h - 1), EINVAL);
}

CASE(get_robust_list_self)
{
    static struct robust_head h = {&h, 0, NULL};
    CHECK_OK(syscall(SYS_set_robust_list, &h, sizeof h));
    void *head = NULL;
    size_t len = 0;
    CHECK_OK(syscall(SYS_get_robust_list, 0, &head, &len));
    CHECK(head == &h);
    CHECK_EQ(len, sizeof h);
}

CASE(get_robust_list_esrch)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(0);
    CHECK_EXIT(pid, 0);
    void *head;
    size_t len;
    CHECK_ERR(syscall(SYS_get_robust_list, pid, &head, &len), ESRCH);
}

CASE(get_robust_list_efault)
{
    size_t len;
    CHECK_ERR(syscall(SYS_get_robust_list, 0, BAD_PTR, &len), EFAULT);
}

struct robust_lock {
    void *next;
    int futex;
};

static struct robust_head dying_head;
static struct robust_lock dying_lock;

static int take_robust_lock_and_exit(void *arg)
{
    (void)arg;
    dying_lock.next = &dying_head;
    dying_lock.futex = (int)sys3(SYS_gettid, 0, 0, 0);
    dying_head.next = &dying_lock;
    dying_head.futex_offset = (long)offsetof(struct robust_lock, futex);
    dying_head.pending = NULL;
    sys3(SYS_set_robust_list, (long)&dying_head, sizeof dying_head, 0);
    return 0;
}

CASE(robust_list_owner_died_at_thread_exit)
{
    static volatile int ctid;
    ctid = -1;
    CHECK_OK(conf_clone(THREAD_FLAGS | CLONE_CHILD_CLEARTID, new_stack(), NULL, (int *)&ctid, 0,
                        take_robust_lock_and_exit, NULL));
    wait_cleared(&ctid);
    CHECK_EQ(dying_lock.futex, FUTEX_OWNER_DIED);
}

static pthread_mutex_t robust_mutex;

static void *lock_and_leave(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&robust_mutex);
    return NULL;
}

CASE(robust_mutex_eownerdead)
{
    pthread_mutexattr_t a;
    CHECK_EQ(pthread_mutexattr_init(&a), 0);
    CHECK_EQ(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
    CHECK_EQ(pthread_mutex_init(&robust_mutex, &a), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, lock_and_leave, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(pthread_mutex_lock(&robust_mutex), EOWNERDEAD);
    CHECK_EQ(pthread_mutex_consistent(&robust_mutex), 0);
    CHECK_EQ(pthread_mutex_unlock(&robust_mutex), 0);
}

/* ---- tgkill between threads ---- */

static volatile pid_t handled_on;

static void note_tid(int sig)
{
    (void)sig;
    handled_on = (pid_t)sys3(SYS_gettid, 0, 0, 0);
}

static volatile int tg_ready, tg_stop;

static void *wait_for_signal(void *arg)
{
    *(volatile pid_t *)arg = gettid();
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    __atomic_store_n(&tg_ready, 1, __ATOMIC_RELEASE);
    while (!tg_stop)
        sched_yield();
    return NULL;
}

CASE(tgkill_reaches_named_thread)
{
    signal(SIGUSR1, note_tid);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &s, NULL), 0);
    volatile pid_t tid = 0;
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, wait_for_signal, (void *)&tid), 0);
    while (!__atomic_load_n(&tg_ready, __ATOMIC_ACQUIRE))
        sched_yield();
    CHECK_OK(syscall(SYS_tgkill, getpid(), tid, SIGUSR1));
    while (handled_on == 0)
        sched_yield();
    CHECK_EQ(handled_on, tid);
    tg_stop = 1;
    CHECK_EQ(pthread_join(t, NULL), 0);
}

CASE(tgkill_wrong_tgid_esrch)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(0);
    CHECK_EXIT(pid, 0);
    CHECK_ERR(syscall(SYS_tgkill, pid, gettid(), 0), ESRCH);
}

CASE(tgkill_einval)
{
    CHECK_ERR(syscall(SYS_tgkill, getpid(), gettid(), 65), EINVAL);
    CHECK_ERR(syscall(SYS_tgkill, 0, gettid(), 0), EINVAL);
    CHECK_ERR(syscall(SYS_tgkill, getpid(), 0, 0), EINVAL);
}

/* ---- affinity and getcpu ---- */

CASE(sched_getaffinity_includes_current_cpu)
{
    cpu_set_t set;
    memset(&set, 0xa5, sizeof set);
    /* The kernel's mask size in bytes (8 up to 64 possible CPUs); the rest is untouched. */
    long n = CHECK_OK(syscall(SYS_sched_getaffinity, 0, sizeof set, &set));
    CHECK(n >= 8 && n % 8 == 0 && n <= (long)sizeof set);
    for (size_t i = (size_t)n; i < sizeof set; i++)
        CHECK_EQ(((unsigned char *)&set)[i], 0xa5);
    memset((char *)&set + n, 0, sizeof set - (size_t)n);
    CHECK(CPU_COUNT(&set) >= 1);
    unsigned cpu = 0;
    CHECK_OK(syscall(SYS_getcpu, &cpu, NULL, NULL));
    CHECK(CPU_ISSET(cpu, &set));
    cpu_set_t libc;
    CHECK_OK(sched_getaffinity(0, sizeof libc, &libc));
    CHECK(CPU_EQUAL(&set, &libc));
}

CASE(sched_getaffinity_einval)
{
    unsigned long m[2];
    CHECK_ERR(syscall(SYS_sched_getaffinity, 0, 4, m), EINVAL);
    CHECK_ERR(syscall(SYS_sched_getaffinity, 0, 0, m), EINVAL);
}

CASE(sched_getaffinity_efault)
{
    CHECK_ERR(syscall(SYS_sched_getaffinity, 0, 8, BAD_PTR), EFAULT);
}

/* The first CPU this thread may use, and the second (-1 when there is one). */
static void allowed_cpus(int *first, int *second)
{
    cpu_set_t set;
    CHECK_OK(sched_getaffinity(0, sizeof set, &set));
    *first = *second = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            if (*first < 0) {
                *first = c;
            } else {
                *second = c;
                break;
            }
        }
    CHECK(*first >= 0);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    CHECK_OK(sched_setaffinity(0, sizeof set, &set));
}

CASE(sched_setaffinity_pins_to_cpu)
{
    int a, b;
    allowed_cpus(&a, &b);
    int cpus[2] = {a, b};
    for (int i = 0; i < 2 && cpus[i] >= 0; i++) {
        pin(cpus[i]);
        unsigned cpu = 99999, node = 99999;
        CHECK_OK(syscall(SYS_getcpu, &cpu, &node, NULL));
        CHECK_EQ(cpu, cpus[i]);
        CHECK_EQ(node, 0);
        CHECK_EQ(sched_getcpu(), cpus[i]);
        cpu_set_t set;
        CHECK_OK(sched_getaffinity(0, sizeof set, &set));
        CHECK_EQ(CPU_COUNT(&set), 1);
        CHECK(CPU_ISSET(cpus[i], &set));
    }
}

CASE(sched_setaffinity_empty_mask_einval)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK_ERR(sched_setaffinity(0, sizeof set, &set), EINVAL);
}

CASE(sched_setaffinity_efault)
{
    CHECK_ERR(syscall(SYS_sched_setaffinity, 0, 8, BAD_PTR), EFAULT);
}

CASE(sched_setaffinity_esrch)
{
    pid_t pid = case_fork();
    if (pid == 0)
        _exit(0);
    CHECK_EXIT(pid, 0);
    cpu_set_t set;
    CHECK_OK(sched_getaffinity(0, sizeof set, &set));
    CHECK_ERR(sched_setaffinity(pid, sizeof set, &set), ESRCH);
}

CASE(sched_setaffinity_other_user_eperm)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        drop_privileges();
        cpu_set_t set;
        CHECK_OK(sched_getaffinity(0, sizeof set, &set));
        /* The parent runs as root: not ours to move. */
        CHECK_ERR(sched_setaffinity(getppid(), sizeof set, &set), EPERM);
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

CASE(getcpu_ok)
{
    unsigned cpu = 99999, node = 99999;
    CHECK_EQ(syscall(SYS_getcpu, &cpu, &node, NULL), 0);
    CHECK(cpu < (unsigned)CPU_SETSIZE);
    CHECK_EQ(node, 0);
    /* Either pointer may be NULL. */
    CHECK_EQ(syscall(SYS_getcpu, NULL, NULL, NULL), 0);
}

CASE(getcpu_efault)
{
    CHECK_ERR(syscall(SYS_getcpu, BAD_PTR, NULL, NULL), EFAULT);
    unsigned cpu;
    CHECK_ERR(syscall(SYS_getcpu, &cpu, KERNEL_PTR, NULL), EFAULT);
}

/* ---- restartable sequences ---- */

#define RSEQ_SIG_X86 0x53053053
#define RSEQ_LEN 32

struct conf_rseq {
    uint32_t cpu_id_start;
    uint32_t cpu_id;
    uint64_t rseq_cs;
    uint32_t flags;
    uint32_t node_id;
    uint32_t mm_cid;
    uint32_t pad;
} __attribute__((aligned(32)));

struct conf_rseq_cs {
    uint32_t version;
    uint32_t flags;
    uint64_t start_ip;
    uint64_t post_commit_offset;
    uint64_t abort_ip;
} __attribute__((aligned(32)));

static volatile struct conf_rseq rs_area;
static volatile struct conf_rseq rs_other;

/* glibc registers an area of its own for every thread: gone, so cases register theirs. */
static void rseq_libc_off(void)
{
#ifdef __GLIBC__
    /* cpu_id is -1 once unregistered, -2 when glibc's registration failed. */
    char *area = (char *)__builtin_thread_pointer() + __rseq_offset;
    if (__rseq_size > 0 && *(volatile int *)(area + 4) >= 0)
        CHECK_OK(syscall(SYS_rseq, area, RSEQ_LEN, RSEQ_FLAG_UNREGISTER, RSEQ_SIG_X86));
#endif
}

static long rseq_reg(volatile struct conf_rseq *area, unsigned len, int flags, unsigned sig)
{
    return syscall(SYS_rseq, area, len, flags, sig);
}

static void rseq_on(void)
{
    rseq_libc_off();
    rs_area.cpu_id = 0xffffffff;
    CHECK_OK(rseq_reg(&rs_area, RSEQ_LEN, 0, RSEQ_SIG_X86));
}

/* A critical section [conf_kill_cs_start, conf_kill_cs_end) sending itself a signal by tgkill:
 * conf_kill_cs(area, pid, tid, sig) returns 1 when it resumed at the abort handler, 0 when
 * it ran to its end. The signal is taken on the way out of tgkill, inside the section. */
int conf_kill_cs(volatile struct conf_rseq *area, long pid, long tid, long sig);
int conf_kill_badsig(volatile struct conf_rseq *area, long pid, long tid, long sig);
extern struct conf_rseq_cs conf_kill_cs_cs;
/* The asm of such a function: descriptor `P_cs`, section [P_start, P_end), abort handler
 * P_abort preceded by the signature `SIG`. */
#define KILL_CS_ASM(P, SIG)                                                                  \
    ".pushsection .data\n"                                                                   \
    ".balign 32\n"                                                                           \
    ".globl " #P "_cs\n" #P "_cs: .long 0, 0\n"                                              \
    "  .quad " #P "_start, " #P "_end - " #P "_start, " #P "_abort\n"                         \
    ".popsection\n"                                                                          \
    ".text\n"                                                                                \
    ".globl " #P "\n"                                                                        \
    ".type " #P ",@function\n" #P ":\n"                                                      \
    "  lea " #P "_cs(%rip), %rax\n"                                                          \
    "  mov %rax, 8(%rdi)\n" #P "_start:\n"                                                   \
    "  mov %rsi, %rdi\n"                                                                     \
    "  mov %rdx, %rsi\n"                                                                     \
    "  mov %rcx, %rdx\n"                                                                     \
    "  mov $234, %eax\n"                                                                     \
    "  syscall\n"                                                                            \
    "  nop\n" #P "_end:\n"                                                                   \
    "  xor %eax, %eax\n"                                                                     \
    "  ret\n"                                                                                \
    "  .long " #SIG "\n" #P "_abort:\n"                                                      \
    "  mov $1, %eax\n"                                                                       \
    "  ret\n"
__asm__(KILL_CS_ASM(conf_kill_cs, 0x53053053));
__asm__(KILL_CS_ASM(conf_kill_badsig, 0x12345678));

/* A critical section spinning until conf_spin_stop is set: conf_spin(area) returns 1 when
 * it resumed at the abort handler, 0 when the flag ended it. */
int conf_spin(volatile struct conf_rseq *area);
extern char conf_spin_start[], conf_spin_end[], conf_spin_abort[];
volatile int conf_spin_stop;
__asm__(".pushsection .data\n"
        ".balign 32\n"
        "conf_cs_spin: .long 0, 0\n"
        "  .quad conf_spin_start, conf_spin_end - conf_spin_start, conf_spin_abort\n"
        ".popsection\n"
        ".text\n"
        ".globl conf_spin, conf_spin_start, conf_spin_end, conf_spin_abort\n"
        ".type conf_spin,@function\n"
        "conf_spin:\n"
        "  lea conf_cs_spin(%rip), %rax\n"
        "  mov %rax, 8(%rdi)\n"
        "conf_spin_start:\n"
        "  cmpl $0, conf_spin_stop(%rip)\n"
        "  je conf_spin_start\n"
        "conf_spin_end:\n"
        "  xor %eax, %eax\n"
        "  ret\n"
        "  .long 0x53053053\n"
        "conf_spin_abort:\n"
        "  mov $1, %eax\n"
        "  ret\n");

static volatile int usr1_seen;

static void count_usr1(int sig)
{
    (void)sig;
    usr1_seen++;
}

/* Reads the area's cpu_id and getcpu's answer until both agree with a second read of the
 * area (no move in between); returns that CPU. */
static unsigned settled_cpu(void)
{
    for (int i = 0; i < 1000; i++) {
        unsigned before = rs_area.cpu_id, cpu = 99999;
        CHECK_OK(syscall(SYS_getcpu, &cpu, NULL, NULL));
        unsigned after = rs_area.cpu_id;
        if (before == after && before == cpu) {
            CHECK_EQ(rs_area.cpu_id_start, cpu);
            return cpu;
        }
    }
    FAIL("cpu_id %u never matched getcpu", rs_area.cpu_id);
}

CASE(rseq_register_writes_cpu_id)
{
    rseq_on();
    unsigned cpu = settled_cpu();
    CHECK(cpu < (unsigned)CPU_SETSIZE);
    CHECK_EQ(rs_area.rseq_cs, 0);
}

CASE(rseq_cpu_id_follows_migration)
{
    rseq_on();
    int a, b;
    allowed_cpus(&a, &b);
    pin(a);
    CHECK_EQ(rs_area.cpu_id, a);
    CHECK_EQ(rs_area.cpu_id_start, a);
    if (b >= 0) {
        pin(b);
        CHECK_EQ(rs_area.cpu_id, b);
        CHECK_EQ(sched_getcpu(), b);
    }
}

CASE(rseq_unregister_resets_cpu_id)
{
    rseq_on();
    settled_cpu();
    CHECK_OK(rseq_reg(&rs_area, RSEQ_LEN, RSEQ_FLAG_UNREGISTER, RSEQ_SIG_X86));
    CHECK_EQ(rs_area.cpu_id, 0xffffffff);
    CHECK_EQ(rs_area.cpu_id_start, 0);
    /* Unregistered: it may be registered again. */
    CHECK_OK(rseq_reg(&rs_area, RSEQ_LEN, 0, RSEQ_SIG_X86));
}

CASE(rseq_bad_len_einval)
{
    rseq_libc_off();
    CHECK_ERR(rseq_reg(&rs_area, 16, 0, RSEQ_SIG_X86), EINVAL);
    CHECK_ERR(rseq_reg(&rs_area, 0, 0, RSEQ_SIG_X86), EINVAL);
}

CASE(rseq_misaligned_einval)
{
    rseq_libc_off();
    static char buf[128] __attribute__((aligned(64)));
    CHECK_ERR(syscall(SYS_rseq, buf + 8, RSEQ_LEN, 0, RSEQ_SIG_X86), EINVAL);
}

CASE(rseq_bad_flags_einval)
{
    rseq_libc_off();
    CHECK_ERR(rseq_reg(&rs_area, RSEQ_LEN, 2, RSEQ_SIG_X86), EINVAL);
    CHECK_ERR(rseq_reg(&rs_area, RSEQ_LEN, RSEQ_FLAG_UNREGISTER | 2, RSEQ_SIG_X86), EINVAL);
}

CASE(rseq_kernel_address_efault)
{
    rseq_libc_off();
    CHECK_ERR(syscall(SYS_rseq, KERNEL_PTR, RSEQ_LEN, 0, RSEQ_SIG_X86), EFAULT);
}

CASE(rseq_register_twice_ebusy)
{
    rseq_on();
    CHECK_ERR(rseq_reg(&rs_area, RSEQ_LEN, 0, RSEQ_SIG_X86), EBUSY);
}

CASE(rseq_register_other_area_einval)
{
    rseq_on();
    CHECK_ERR(rseq_reg(&rs_other, RSEQ_LEN, 0, RSEQ_SIG_X86), EINVAL);
}

CASE(rseq_register_other_signature_eperm)
{
    rseq_on();
    CHECK_ERR(rseq_reg(&rs_area, RSEQ_LEN, 0, 0x12345678), EPERM);
}

CASE(rseq_unregister_wrong_signature_eperm)
{
    rseq_on();
    CHECK_ERR(rseq_reg(&rs_area, RSEQ_LEN, RSEQ_FLAG_UNREGISTER, 0x12345678), EPERM);
    /* Still registered. */
    CHECK_ERR(rseq_reg(&rs_area, RSEQ_LEN, 0, RSEQ_SIG_X86), EBUSY);
}

CASE(rseq_unregister_not_registered_einval)
{
    rseq_libc_off();
    CHECK_ERR(rseq_reg(&rs_area, RSEQ_LEN, RSEQ_FLAG_UNREGISTER, RSEQ_SIG_X86), EINVAL);
    rseq_on();
    CHECK_ERR(rseq_reg(&rs_other, RSEQ_LEN, RSEQ_FLAG_UNREGISTER, RSEQ_SIG_X86), EINVAL);
}

CASE(rseq_unmapped_area_sigsegv)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        rseq_libc_off();
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || munmap(p, 4096) != 0)
            _exit(90);
        /* Linux 6.1 accepts a user address and faults at the update on the way out
         * (SIGSEGV); later kernels write the area at once and fail with EFAULT. */
        long r = syscall(SYS_rseq, p, RSEQ_LEN, 0, RSEQ_SIG_X86);
        _exit(r == -1 && errno == EFAULT ? 14 : 91);
    }
    int st = wait_status(pid);
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) || (WIFEXITED(st) && WEXITSTATUS(st) == 14));
}

CASE(rseq_signal_in_critical_section_aborts)
{
    rseq_on();
    signal(SIGUSR1, count_usr1);
    CHECK_EQ(conf_kill_cs(&rs_area, getpid(), gettid(), SIGUSR1), 1);
    CHECK_EQ(usr1_seen, 1);
    /* The kernel cleared the descriptor pointer when it aborted. */
    CHECK_EQ(rs_area.rseq_cs, 0);
}

CASE(rseq_no_signal_runs_to_end)
{
    rseq_on();
    /* Nothing happens in the section (no signal, no switch): it runs to its end. */
    conf_spin_stop = 1;
    CHECK_EQ(conf_spin(&rs_area), 0);
}

CASE(rseq_signal_outside_section_clears_descriptor)
{
    rseq_on();
    signal(SIGUSR1, count_usr1);
    rs_area.rseq_cs = (uint64_t)(uintptr_t)&conf_kill_cs_cs;
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(usr1_seen, 1);
    CHECK_EQ(rs_area.rseq_cs, 0);
}

CASE(rseq_wrong_abort_signature_sigsegv)
{
    pid_t pid = case_fork();
    if (pid == 0) {
        rseq_on();
        signal(SIGUSR1, count_usr1);
        conf_kill_badsig(&rs_area, getpid(), gettid(), SIGUSR1);
        _exit(91);
    }
    CHECK_KILLED(pid, SIGSEGV);
}

static volatile int alarm_saw_abort, alarm_saw_section, spinning;

static void on_alarm(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    char *rip = (char *)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
    if (rip == conf_spin_abort) {
        alarm_saw_abort = 1;
    } else if (rip >= conf_spin_start && rip < conf_spin_end) {
        /* Interrupted in the section without an abort: end the spin, the case fails. */
        alarm_saw_section = 1;
        conf_spin_stop = 1;
    } else if (spinning) {
        /* Not in the section yet: again later. */
        struct itimerval it = {{0, 0}, {0, 1000}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
}

CASE(rseq_timer_signal_aborts_spinning_section)
{
    rseq_on();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO;
    CHECK_OK(sigaction(SIGALRM, &sa, NULL));
    /* A preemption may abort the section before the timer does (an abort as well, but not
     * the one looked for): then again. */
    for (int i = 0; i < 50 && !alarm_saw_abort; i++) {
        struct itimerval it = {{0, 0}, {0, 1000}}, off = {{0, 0}, {0, 0}};
        spinning = 1;
        CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
        CHECK_EQ(conf_spin(&rs_area), 1);
        spinning = 0;
        CHECK_OK(setitimer(ITIMER_REAL, &off, NULL));
        CHECK_EQ(alarm_saw_section, 0);
        CHECK_EQ(rs_area.rseq_cs, 0);
    }
    CHECK_EQ(alarm_saw_abort, 1);
}

CASE(rseq_preemption_aborts_spinning_section)
{
    int a, b;
    allowed_cpus(&a, &b);
    pin(a);
    /* A competitor on the same CPU: the spin below is preempted, and only an abort ends
     * it. */
    pid_t pid = case_fork();
    if (pid == 0)
        for (;;)
            ;
    rseq_on();
    int r = conf_spin(&rs_area);
    kill(pid, SIGKILL);
    CHECK_KILLED(pid, SIGKILL);
    CHECK_EQ(r, 1);
    CHECK_EQ(rs_area.rseq_cs, 0);
}

CASE(rseq_fork_child_keeps_registration)
{
    rseq_on();
    pid_t pid = case_fork();
    if (pid == 0) {
        CHECK_ERR(rseq_reg(&rs_area, RSEQ_LEN, 0, RSEQ_SIG_X86), EBUSY);
        settled_cpu();
        _exit(0);
    }
    CHECK_EXIT(pid, 0);
}

static void *rseq_in_thread(void *arg)
{
    (void)arg;
    /* A new thread starts without the creator's area (glibc registers its own). */
    static volatile struct conf_rseq thread_area;
    rseq_libc_off();
    long r = rseq_reg(&thread_area, RSEQ_LEN, 0, RSEQ_SIG_X86);
    return (void *)(intptr_t)(r == 0 ? 0 : errno);
}

CASE(rseq_thread_registers_its_own)
{
    rseq_on();
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, rseq_in_thread, NULL), 0);
    void *ret = (void *)1;
    CHECK_EQ(pthread_join(t, &ret), 0);
    CHECK_EQ((intptr_t)ret, 0);
}

HELPER(rseq_fresh)
{
    (void)argc;
    (void)argv;
    /* After exec nothing is registered, whatever the old image had. */
    rseq_libc_off();
    return rseq_reg(&rs_area, RSEQ_LEN, 0, RSEQ_SIG_X86) == 0 ? 0 : 3;
}

CASE(rseq_exec_drops_registration)
{
    rseq_on();
    pid_t pid = case_fork();
    if (pid == 0) {
        execl(self_exe, self_exe, "--helper", "rseq_fresh", (char *)NULL);
        _exit(90);
    }
    CHECK_EXIT(pid, 0);
}
