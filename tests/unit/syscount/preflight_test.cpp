// syscount's pre-flight over fixture hosts: which variant of the programs it
// loads, when it refuses, and when its counter reads need a capability.
#include <gtest/gtest.h>

#include <string>

#include "support/unit.h"
#include "tools/syscount/preflight.h"

namespace bpfready {
namespace {

using unit::load_host;

constexpr std::uint64_t kCapBpf = std::uint64_t{1} << 39;
constexpr std::uint64_t kCapPerfmon = std::uint64_t{1} << 38;
constexpr std::uint64_t kCapSysAdmin = std::uint64_t{1} << 21;
const std::string kBinary = "/usr/local/bin/syscount";

// The fixture's own process, with the capabilities CAPS.
Subject with_caps(const Snapshot& snapshot, std::uint64_t caps) {
  Subject subject = subject_from_snapshot(snapshot);
  subject.effective_caps = caps;
  return subject;
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

TEST(SyscountPreflight, TypedProgramsWhereTheKernelHasBtfAnd511) {
  const Snapshot snapshot = load_host("debian12-vm-6.18");
  auto flavour = decide_flavour(snapshot, subject_from_snapshot(snapshot), kBinary);
  ASSERT_TRUE(flavour) << flavour.error().message;
  EXPECT_EQ(*flavour, ProbeFlavour::tp_btf);
  auto forced = decide_flavour(snapshot, subject_from_snapshot(snapshot), kBinary, ProbeFlavour::raw_tp);
  ASSERT_TRUE(forced) << forced.error().message;
  EXPECT_EQ(*forced, ProbeFlavour::raw_tp);
}

TEST(SyscountPreflight, FallbackWithoutBtf) {
  Snapshot snapshot = load_host("debian12-vm-6.18");
  snapshot.btf_vmlinux = false;
  auto flavour = decide_flavour(snapshot, subject_from_snapshot(snapshot), kBinary);
  ASSERT_TRUE(flavour) << flavour.error().message;
  EXPECT_EQ(*flavour, ProbeFlavour::raw_tp);

  auto forced = decide_flavour(snapshot, subject_from_snapshot(snapshot), kBinary, ProbeFlavour::tp_btf);
  ASSERT_FALSE(forced);
  EXPECT_EQ(lines(forced.error().message), 1u) << forced.error().message;
  EXPECT_TRUE(unit::contains(forced.error().message, "no BTF")) << forced.error().message;
  EXPECT_TRUE(unit::contains(forced.error().message, "--flavour auto")) << forced.error().message;
}

TEST(SyscountPreflight, FallbackBefore511) {
  const Snapshot snapshot = load_host("kernel-5.4");
  auto flavour = decide_flavour(snapshot, with_caps(snapshot, kCapSysAdmin), kBinary);
  ASSERT_TRUE(flavour) << flavour.error().message;
  EXPECT_EQ(*flavour, ProbeFlavour::raw_tp);

  Snapshot with_btf = snapshot;
  with_btf.btf_vmlinux = true;
  auto forced = decide_flavour(with_btf, with_caps(with_btf, kCapSysAdmin), kBinary, ProbeFlavour::tp_btf);
  ASSERT_FALSE(forced);
  EXPECT_EQ(lines(forced.error().message), 1u) << forced.error().message;
  EXPECT_TRUE(unit::contains(forced.error().message, "5.11")) << forced.error().message;
}

TEST(SyscountPreflight, MissingCapabilitiesRefuseWithTheFix) {
  const Snapshot snapshot = load_host("debian12-vm-6.18");
  auto refused = decide_flavour(snapshot, with_caps(snapshot, kCapBpf), kBinary);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message.rfind("cannot trace: ", 0), 0u) << refused.error().message;
  EXPECT_TRUE(unit::contains(refused.error().message, "\n  fix: ")) << refused.error().message;
  EXPECT_TRUE(unit::contains(refused.error().message, kBinary)) << refused.error().message;
  EXPECT_TRUE(decide_flavour(snapshot, with_caps(snapshot, kCapBpf | kCapPerfmon), kBinary));
}

// Its decision is libcheck's, on every fixture host.
TEST(SyscountPreflight, AgreesWithTheSharedPredictionOnEveryFixture) {
  for (const auto& host : unit::fixture_hosts()) {
    const Snapshot snapshot = load_host(host);
    const Subject subject = subject_from_snapshot(snapshot);
    const Prediction prediction = predict_syscount(snapshot, subject, kBinary);
    auto flavour = decide_flavour(snapshot, subject, kBinary);
    EXPECT_EQ(flavour.has_value(), prediction.ok || !prediction.certain) << host;
    if (flavour) {
      EXPECT_EQ(*flavour, syscount_flavour(snapshot)) << host;
    }
  }
}

TEST(SyscountPreflight, MapReadsNeedACapabilityOnlyBefore519WithTheSysctlSet) {
  EXPECT_FALSE(map_reads_need_capability(load_host("debian12-vm-6.18")));
  EXPECT_FALSE(map_reads_need_capability(load_host("lockdown-confidentiality"))) << "6.1";
  EXPECT_TRUE(map_reads_need_capability(load_host("ubuntu2204-paranoid4"))) << "5.15, sysctl 2";
  EXPECT_FALSE(map_reads_need_capability(load_host("kernel-5.4"))) << "5.4, sysctl 0";

  Snapshot unknown = load_host("ubuntu2204-paranoid4");
  unknown.sysctls.erase("kernel.unprivileged_bpf_disabled");
  EXPECT_TRUE(map_reads_need_capability(unknown)) << "an unreadable sysctl counts as set";
  unknown.kernel = KernelVersion{5, 19, 0};
  EXPECT_FALSE(map_reads_need_capability(unknown)) << "5.19 gates only map creation and loads";
  unknown.kernel.reset();
  unknown.sysctls["kernel.unprivileged_bpf_disabled"] = 1;
  EXPECT_TRUE(map_reads_need_capability(unknown)) << "an unknown kernel counts as old";
}

}  // namespace
}  // namespace bpfready
