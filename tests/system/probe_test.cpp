// The end-to-end probes really load, attach, count and clean up.
#include <gtest/gtest.h>

#include "libcheck/probe.h"
#include "libcheck/snapshot.h"
#include "support/system.h"

namespace bpfready {
namespace {

using testing::open_bpf_descriptors;

TEST(ProbeSystem, RawTracepointCountsExactly) {
  BPFREADY_REQUIRE_ROOT();
  const int before = open_bpf_descriptors();
  const auto outcome = run_probe(ProbeFlavour::raw_tp, {.tracefs_dir = "", .trigger_calls = 4321});
  ASSERT_TRUE(outcome.ok) << outcome.detail << "\n" << outcome.libbpf_log;
  EXPECT_EQ(outcome.expected, 4321U);
  EXPECT_EQ(outcome.counted, 4321U);
  EXPECT_EQ(open_bpf_descriptors(), before) << "run_probe left a BPF object open";
}

TEST(ProbeSystem, PerfEventTracepointCountsExactly) {
  BPFREADY_REQUIRE_ROOT();
  testing::TracefsMounted tracefs;
  const int before = open_bpf_descriptors();
  const auto outcome = run_probe(ProbeFlavour::perf_tp, {.tracefs_dir = "/sys/kernel/tracing", .trigger_calls = 777});
  ASSERT_TRUE(outcome.ok) << outcome.detail << "\n" << outcome.libbpf_log;
  EXPECT_EQ(outcome.counted, 777U);
  EXPECT_EQ(open_bpf_descriptors(), before) << "run_probe left a BPF object open";
}

TEST(ProbeSystem, PerfTracepointWithoutTracefsNamesTheStage) {
  BPFREADY_REQUIRE_ROOT();
  const int before = open_bpf_descriptors();
  const auto outcome = run_probe(ProbeFlavour::perf_tp, {.tracefs_dir = "", .trigger_calls = 10});
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.stage, ProbeStage::tracefs_id);
  EXPECT_EQ(outcome.errnum, ENOENT);
  EXPECT_EQ(open_bpf_descriptors(), before);
}

TEST(ProbeSystem, WrongTracefsDirFailsAtIdNotLater) {
  BPFREADY_REQUIRE_ROOT();
  testing::ScratchDir empty;
  const auto outcome = run_probe(ProbeFlavour::perf_tp, {.tracefs_dir = empty.path(), .trigger_calls = 10});
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.stage, ProbeStage::tracefs_id);
}

TEST(ProbeSystem, LiveSnapshotProvesBothFlavoursAsRoot) {
  BPFREADY_REQUIRE_ROOT();
  testing::TracefsMounted tracefs;
  const auto snapshot = collect_snapshot(SystemRoot("/"), {});
  ASSERT_TRUE(snapshot.probe_raw_tp.has_value());
  ASSERT_TRUE(snapshot.probe_perf_tp.has_value());
  EXPECT_TRUE(snapshot.probe_raw_tp->ok) << snapshot.probe_raw_tp->detail;
  EXPECT_TRUE(snapshot.probe_perf_tp->ok) << snapshot.probe_perf_tp->detail;
  ASSERT_TRUE(snapshot.kernel_config.has_value()) << "this VM has /proc/config.gz";
  EXPECT_TRUE(snapshot.btf_vmlinux);
}

}  // namespace
}  // namespace bpfready
