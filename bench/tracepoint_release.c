// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What releasing a perf-event tracepoint costs, per tracepoint (what
 * ebpf_diag's perf_tp probe pays). For each EVENT given (tracefs
 * "system/name"), RUNS times: open and close a perf event on it alone (the
 * tracepoint's unregistration), attach a trivial BPF program through a BPF
 * link while a second perf event keeps the tracepoint registered and close
 * the link (the program's detach alone), and attach and close with nothing
 * else holding the tracepoint (both). Prints the medians in ms. Root only.
 *
 *   tracepoint_release [-n RUNS] [-t TRACEFS] EVENT...
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *values, int n)
{
	qsort(values, (size_t)n, sizeof *values, by_value);
	return values[n / 2];
}

static long event_id(const char *tracefs, const char *event)
{
	char path[512];
	long id = -1;
	snprintf(path, sizeof path, "%s/events/%s/id", tracefs, event);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &id) != 1)
		id = -1;
	fclose(f);
	return id;
}

static int open_event(long id)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof attr;
	attr.config = (__u64)id;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	return (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
}

int main(int argc, char **argv)
{
	const char *tracefs = "/sys/kernel/tracing";
	int runs = 7, opt;
	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		if (opt == 'n')
			runs = atoi(optarg);
		else if (opt == 't')
			tracefs = optarg;
		else
			return 2;
	}
	if (runs < 1 || runs > 1000 || optind >= argc) {
		fprintf(stderr, "usage: tracepoint_release [-n RUNS] [-t TRACEFS] EVENT...\n");
		return 2;
	}
	struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "release_probe", "GPL", ret0, 2, NULL);
	if (prog < 0) {
		fprintf(stderr, "tracepoint_release: loading a program failed: %s\n", strerror(errno));
		return 1;
	}
	double *alone = calloc((size_t)runs, sizeof(double));
	double *detach = calloc((size_t)runs, sizeof(double));
	double *both = calloc((size_t)runs, sizeof(double));
	if (!alone || !detach || !both)
		return 1;
	printf("%-32s %12s %12s %12s  (medians of %d, ms)\n", "event", "unregister", "detach", "both", runs);
	for (int a = optind; a < argc; a++) {
		const long id = event_id(tracefs, argv[a]);
		if (id < 0) {
			printf("%-32s absent\n", argv[a]);
			continue;
		}
		for (int i = 0; i < runs; i++) {
			int event = open_event(id), holder, link;
			double start = now_ms();
			close(event);
			alone[i] = now_ms() - start;

			holder = open_event(id);
			event = open_event(id);
			link = bpf_link_create(prog, event, BPF_PERF_EVENT, NULL);
			close(event);
			start = now_ms();
			close(link);
			detach[i] = now_ms() - start;
			close(holder);

			event = open_event(id);
			link = bpf_link_create(prog, event, BPF_PERF_EVENT, NULL);
			close(event);
			if (link < 0) {
				fprintf(stderr, "tracepoint_release: attaching to %s failed: %s\n", argv[a], strerror(errno));
				return 1;
			}
			start = now_ms();
			close(link);
			both[i] = now_ms() - start;
		}
		printf("%-32s %12.1f %12.1f %12.1f\n", argv[a], median(alone, runs), median(detach, runs),
		       median(both, runs));
	}
	close(prog);
	return 0;
}
