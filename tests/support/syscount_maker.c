/* Makes an exact, known number of syscalls, so that syscount's counts can be
 * checked against ground truth: in the main thread, in a second thread and in
 * a forked child, some of them failing. The calls chosen are ones the C
 * runtime itself does not make, and every call goes through syscall(2) so
 * that libc cannot cache or skip one.
 *
 *   main thread:   getppid x 1000,  fchdir(-1) x 37 (all fail, EBADF)
 *   second thread: getpgrp x 500,   getpriority(99, 0) x 11 (all fail, EINVAL)
 *   forked child:  getsid(0) x 300, getsid(invalid) x 23 (fail, ESRCH)
 *
 * Other modes, each a shape of process the programs must follow:
 *   "loop N":        N getppid calls in the main thread; prints ns per call
 *   "leader-exits":  the main thread exits first; a second thread then makes
 *                    200 getppid calls
 *   "thread-exec":   a second thread execs "loop 250", which makes the
 *                    former second thread the process's leader
 *   "signals N":     N times: a signal made pending while blocked, then
 *                    rt_sigsuspend, which the signal interrupts (it fails,
 *                    ERESTARTNOHAND at the tracepoint), the handler runs and
 *                    returns through rt_sigreturn (whose return value is the
 *                    interrupted call's -EINTR, and whose registers say
 *                    syscall -1). Exactly: tgkill x N, rt_sigsuspend x N
 *                    (all fail), rt_sigreturn x N (none fails)
 *   "seccomp N":     a seccomp filter makes getpgid fail with EPERM without
 *                    running (no sys_enter event, but a sys_exit one), then
 *                    N getpgid calls and N getppid calls
 *   "busy T":        T threads calling getppid and getpgrp without end; the
 *                    main thread exits when stdin ends
 *   "forks T N":     T threads each fork N children, one at a time, at the
 *                    same time as the others (so that neighbouring PIDs
 *                    are given on different CPUs at once); each child makes
 *                    3 getppid calls. Exactly: getppid x 3*T*N
 *
 * The expectations live in tests/system/syscount_system_test.cpp and
 * syscount_variants_test.cpp. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *second_thread(void *unused)
{
	(void)unused;
	for (int i = 0; i < 500; ++i)
		syscall(SYS_getpgrp);
	for (int i = 0; i < 11; ++i)
		syscall(SYS_getpriority, 99, 0);
	return NULL;
}

static int loop(long n)
{
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < n; ++i)
		syscall(SYS_getppid);
	clock_gettime(CLOCK_MONOTONIC, &end);
	double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
	printf("%.2f\n", n > 0 ? ns / (double)n : 0.0);
	return 0;
}

/* Whether the main thread has exited: its /proc entry says zombie. */
static int leader_gone(void)
{
	char path[64], text[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
	FILE *file = fopen(path, "re");
	if (!file)
		return 1;
	size_t n = fread(text, 1, sizeof text - 1, file);
	fclose(file);
	text[n] = 0;
	const char *state = strrchr(text, ')');
	return state && state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X');
}

static void *after_the_leader(void *unused)
{
	(void)unused;
	while (!leader_gone())
		usleep(1000);
	for (int i = 0; i < 200; ++i)
		syscall(SYS_getppid);
	return NULL;
}

static char *self_path;

static void *exec_loop(void *unused)
{
	(void)unused;
	char *args[] = {self_path, "loop", "250", NULL};
	execv(self_path, args);
	_exit(6);
}

/* Runs BODY in a second thread; the main thread exits (pthread_exit) or,
 * with WAIT, waits for it forever (an exec ends the wait). */
static int in_second_thread(void *(*body)(void *), int wait)
{
	pthread_t thread;
	if (pthread_create(&thread, NULL, body, NULL) != 0)
		return 3;
	if (wait)
		pthread_join(thread, NULL);
	pthread_exit(NULL);
}

static void on_signal(int signo)
{
	(void)signo; /* no syscall here: the counts stay exact */
}

static int signals(long n)
{
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_signal; /* no SA_RESTART */
	sigemptyset(&action.sa_mask);
	if (sigaction(SIGUSR1, &action, NULL) != 0)
		return 3;
	sigset_t blocked, none;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigemptyset(&none);
	if (sigprocmask(SIG_BLOCK, &blocked, NULL) != 0)
		return 3;
	pid_t pid = getpid();
	pid_t tid = (pid_t)syscall(SYS_gettid);
	for (long i = 0; i < n; ++i) {
		syscall(SYS_tgkill, pid, tid, SIGUSR1);
		/* The kernel's sigset is 8 bytes. */
		syscall(SYS_rt_sigsuspend, &none, 8);
	}
	return 0;
}

static int seccomp_denied(long n)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = { (unsigned short)(sizeof filter / sizeof filter[0]), filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
		return 3;
	for (long i = 0; i < n; ++i)
		syscall(SYS_getpgid, 0);
	for (long i = 0; i < n; ++i)
		syscall(SYS_getppid);
	return 0;
}

static void *busy_thread(void *unused)
{
	(void)unused;
	for (;;) {
		syscall(SYS_getppid);
		syscall(SYS_getpgrp);
	}
	return NULL;
}

static int busy(long threads)
{
	for (long i = 0; i < threads; ++i) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, busy_thread, NULL) != 0)
			return 3;
	}
	char byte;
	while (read(0, &byte, 1) > 0)
		;
	return 0;
}

static long forks_each;

static void *forking_thread(void *unused)
{
	(void)unused;
	for (long i = 0; i < forks_each; ++i) {
		pid_t child = fork();
		if (child < 0)
			return (void *)1;
		if (child == 0) {
			for (int call = 0; call < 3; ++call)
				syscall(SYS_getppid);
			_exit(0);
		}
		if (waitpid(child, NULL, 0) != child)
			return (void *)1;
	}
	return NULL;
}

static int forks(long threads, long each)
{
	pthread_t thread[64];
	int failed = 0;

	if (threads < 1 || threads > 64)
		return 2;
	forks_each = each;
	for (long i = 0; i < threads; ++i) {
		if (pthread_create(&thread[i], NULL, forking_thread, NULL) != 0)
			return 3;
	}
	for (long i = 0; i < threads; ++i) {
		void *result = NULL;
		pthread_join(thread[i], &result);
		failed |= result != NULL;
	}
	return failed ? 4 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "forks") == 0)
		return forks(atol(argv[2]), atol(argv[3]));
	if (argc == 3 && strcmp(argv[1], "signals") == 0)
		return signals(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "seccomp") == 0)
		return seccomp_denied(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "busy") == 0)
		return busy(atol(argv[2]));
	if (argc == 2 && strcmp(argv[1], "leader-exits") == 0)
		return in_second_thread(after_the_leader, 0);
	if (argc == 2 && strcmp(argv[1], "thread-exec") == 0) {
		self_path = argv[0];
		return in_second_thread(exec_loop, 1);
	}

	/* "loop N": only N getppid calls, for benchmarks; prints the time per
	 * call in nanoseconds. */
	if (argc == 3 && argv[1][0] == 'l')
		return loop(atol(argv[2]));
	for (int i = 0; i < 1000; ++i)
		syscall(SYS_getppid);
	for (int i = 0; i < 37; ++i)
		syscall(SYS_fchdir, -1);

	pthread_t thread;
	if (pthread_create(&thread, NULL, second_thread, NULL) != 0)
		return 3;
	pthread_join(thread, NULL);

	pid_t child = fork();
	if (child < 0)
		return 4;
	if (child == 0) {
		for (int i = 0; i < 300; ++i)
			syscall(SYS_getsid, 0);
		for (int i = 0; i < 23; ++i)
			syscall(SYS_getsid, 0x3ffffff);
		_exit(0);
	}
	int status = 0;
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) + 7 : 5; /* 7: a status to check */
}
