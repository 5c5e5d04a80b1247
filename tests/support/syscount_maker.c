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
 * The expectations live in tests/system/syscount_exact_test.cpp. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
	/* "loop N": only N getppid calls, for benchmarks; prints the time per
	 * call in nanoseconds. */
	if (argc == 3 && argv[1][0] == 'l') {
		long n = atol(argv[2]);
		struct timespec start, end;
		clock_gettime(CLOCK_MONOTONIC, &start);
		for (long i = 0; i < n; ++i)
			syscall(SYS_getppid);
		clock_gettime(CLOCK_MONOTONIC, &end);
		double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 +
			    (double)(end.tv_nsec - start.tv_nsec);
		printf("%.2f\n", n > 0 ? ns / (double)n : 0.0);
		return 0;
	}
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
