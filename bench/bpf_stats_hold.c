/* Benchmark helper: turns on the kernel's run-time statistics of BPF
 * programs (run_time_ns and run_cnt in each program's info, as
 * kernel.bpf_stats_enabled=1 does) for as long as it runs, says "enabled"
 * and waits for SIGINT or SIGTERM. Through BPF_ENABLE_STATS (5.8+), which
 * the kernel counts per holder: the statistics stop when the last holder
 * (or the sysctl) lets go, so a crashed benchmark cannot leave them on and
 * two benchmarks at once do not turn them off under each other. */
#include <bpf/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_signal(int signo)
{
	(void)signo;
}

int main(void)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(stderr, "cannot enable BPF statistics: %s\n", strerror(-fd));
		return 1;
	}
	printf("enabled\n");
	fflush(stdout);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pause();
	close(fd);
	return 0;
}
