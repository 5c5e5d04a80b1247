// syscount's pre-flight: before anything is loaded, whether tracing can work
// here and which variant of the programs to load, decided from a snapshot
// of the host through the same libcheck functions ebpf_diag's syscount
// verdict uses (syscount_flavour, predict_syscount), so the two can never
// disagree. Pure functions of the snapshot: unit tests run them on fixture
// hosts.
#pragma once

#include <optional>
#include <string>

#include "libcheck/access.h"
#include "libcheck/expected.h"
#include "libcheck/parse.h"
#include "libcheck/probe.h"
#include "libcheck/snapshot.h"

namespace bpfready {

// The first release whose bpf() applies kernel.unprivileged_bpf_disabled only
// to BPF_MAP_CREATE and BPF_PROG_LOAD: commit c8644cd0efe7 "bpf: refine
// kernel.unprivileged_bpf_disabled behaviour" (Alan Maguire, v5.19). Before
// it, with the sysctl set, every bpf() command (map lookups included) needs
// CAP_BPF (or CAP_SYS_ADMIN), so syscount could not read its counters after
// dropping its capabilities.
inline constexpr KernelVersion kMapReadsWithoutCapability{5, 19, 0};

// The variant of the programs to load for SUBJECT (normally the running
// process) on the host SNAPSHOT describes: FORCED (--flavour) or the one
// syscount_flavour() picks. The error is what syscount prints and exits 2
// with: "cannot trace: REASON" and a second line with the fix, or, for a
// forced flavour the kernel cannot load, one line. BINARY names the
// executable in the fix (setcap ...).
Expected<ProbeFlavour> decide_flavour(const Snapshot& snapshot, const Subject& subject,
                                      const std::string& binary,
                                      std::optional<ProbeFlavour> forced = std::nullopt);

// Whether reading the counters needs a BPF capability on this host: on
// kernels before kMapReadsWithoutCapability with
// kernel.unprivileged_bpf_disabled set. An unknown kernel version or sysctl
// counts as needing it (keeping the capability costs nothing where it is not
// needed; missing it loses the report).
bool map_reads_need_capability(const Snapshot& snapshot);

}  // namespace bpfready
