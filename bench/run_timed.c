/* Benchmark helper: runs a command (its output to /dev/null) and prints
 * "WALL_MS CPU_MS": the wall time from fork to reaped, and the user plus
 * system time of the command and every child it waited for (wait4's
 * rusage, in microseconds, unlike time(1)'s hundredths). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double ms(const struct timeval *t)
{
	return (double)t->tv_sec * 1e3 + (double)t->tv_usec / 1e3;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	int status = 0;
	struct rusage usage;
	if (pid < 0 || wait4(pid, &status, 0, &usage) != pid)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &end);
	double wall = (double)(end.tv_sec - start.tv_sec) * 1e3 +
		      (double)(end.tv_nsec - start.tv_nsec) / 1e6;
	printf("%.3f %.3f\n", wall, ms(&usage.ru_utime) + ms(&usage.ru_stime));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
