/* Shared between bpf/probe.bpf.c and libcheck/probe.cpp. */
#ifndef BPFREADY_PROBE_H
#define BPFREADY_PROBE_H

/* Slots of the probe's counter array: one per attach flavour, so a single
 * object can prove each flavour independently. */
enum probe_slot {
	PROBE_SLOT_RAW_TP = 0,
	PROBE_SLOT_PERF_TP = 1,
	PROBE_SLOT_COUNT = 2,
};

#endif
