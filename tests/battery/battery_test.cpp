// Runs every case of the battery (battery.h) and holds it to the same rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "battery/battery.h"
#include "support/system.h"
#include "tools/syscount/tracer.h"

namespace bpfready::battery {
namespace {

constexpr std::chrono::seconds kLimit{10};

// Text that means a library's exception or message reached the user as is.
const char* const kRawLibraryText[] = {"json.exception", "stoul", "std::", "terminate", "libbpf:", "internal error"};

// The built tools; BPFREADY_BATTERY_BINARY_DIR points the battery at another
// build tree (the tools are in its tools/NAME/NAME).
std::string tool_path(const std::string& tool) {
  const char* other = std::getenv("BPFREADY_BATTERY_BINARY_DIR");
  return std::string(other != nullptr ? other : BPFREADY_BINARY_DIR) + "/tools/" + tool + "/" + tool;
}

// Loaded BPF programs named like syscount's or ebpf_diag's probes.
std::set<std::uint64_t> our_programs() {
  std::set<std::string> names(syscount_program_names().begin(), syscount_program_names().end());
  names.insert({"probe_tp_btf", "probe_raw_tp", "probe_perf_tp", "probe_perf_sys"});
  std::set<std::uint64_t> ids;
  const auto listed = testing::run_command("bpftool -j prog show 2>/dev/null");
  const auto doc = nlohmann::json::parse(listed.output, nullptr, false);
  if (!doc.is_array()) return ids;
  for (const auto& prog : doc) {
    if (prog.contains("name") && prog["name"].is_string() && names.contains(prog["name"].get<std::string>())) {
      ids.insert(prog["id"].get<std::uint64_t>());
    }
  }
  return ids;
}

// Programs of ours loaded since BEFORE and still there after a grace period.
std::set<std::uint64_t> programs_left(const std::set<std::uint64_t>& before) {
  std::set<std::uint64_t> left;
  for (int attempt = 0; attempt < 10; ++attempt) {
    left.clear();
    for (const auto id : our_programs()) {
      if (!before.contains(id)) left.insert(id);
    }
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return left;
}

std::string shown(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& word : argv) {
    std::string quoted = nlohmann::json(word).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    if (quoted.size() > 80) quoted = quoted.substr(0, 60) + "...\" (" + std::to_string(word.size()) + " bytes)";
    line += (line.empty() ? "" : " ") + quoted;
  }
  return line;
}

std::string excerpt(const std::string& text) {
  return text.size() <= 2000 ? text : text.substr(0, 2000) + "\n[... " + std::to_string(text.size()) + " bytes]";
}

// One non-empty line, ended by its newline or not, and no control character
// in it that a terminal would act on.
::testing::AssertionResult one_clean_line(const std::string& err) {
  std::string line = err;
  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (line.empty()) return ::testing::AssertionFailure() << "stderr is empty";
  const auto lines = std::count(line.begin(), line.end(), '\n') + 1;
  if (lines != 1) return ::testing::AssertionFailure() << "stderr has " << lines << " lines";
  const auto control = std::find_if(line.begin(), line.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && byte != '\t') || byte == 0x7f;
  });
  if (control != line.end()) {
    return ::testing::AssertionFailure() << "stderr has the control character "
                                         << static_cast<int>(static_cast<unsigned char>(*control));
  }
  return ::testing::AssertionSuccess();
}

std::vector<BadCase> all_cases() {
  std::vector<BadCase> cases = ebpf_diag_cases();
  for (auto&& more : {syscount_cases(), tracefs_setup_cases()}) cases.insert(cases.end(), more.begin(), more.end());
  return cases;
}

}  // namespace

// Names the case in gtest's messages (the functions cannot be printed).
void PrintTo(const BadCase& bad, std::ostream* out) { *out << bad.tool << " case " << bad.name; }

namespace {

class BadInvocation : public ::testing::TestWithParam<BadCase> {
 protected:
  void SetUp() override { BPFREADY_REQUIRE_ROOT(); }
};

TEST_P(BadInvocation, RefusedCleanly) {
  const BadCase& bad = GetParam();
  Scene scene;
  std::vector<std::string> argv{tool_path(bad.tool)};
  for (auto& word : bad.args(scene)) argv.push_back(std::move(word));
  const std::string output_dir = scene.make_dir("battery-output");
  const auto before = our_programs();

  const Outcome outcome = run_bounded(argv, output_dir, kLimit);
  RecordProperty("exit_status", outcome.timed_out ? "timeout" : outcome.signalled ? "signal " + std::to_string(outcome.signal)
                                                                                   : std::to_string(outcome.exit_code));
  RecordProperty("stderr", excerpt(outcome.err));
  SCOPED_TRACE("command: " + shown(argv) + "\nstderr:\n" + excerpt(outcome.err) + "\nstdout:\n" + excerpt(outcome.out));

  EXPECT_FALSE(outcome.timed_out) << "still running after " << kLimit.count() << " s (killed)";
  if (!outcome.timed_out) {
    EXPECT_FALSE(outcome.signalled) << "killed by signal " << outcome.signal;
    if (bad.expect == Expect::refused) {
      EXPECT_NE(outcome.exit_code, 0) << "a bad invocation must not exit 0";
      EXPECT_TRUE(one_clean_line(outcome.err));
    } else {
      EXPECT_TRUE(outcome.exit_code >= 0 && outcome.exit_code <= 2) << "exit status " << outcome.exit_code;
      if (!outcome.err.empty()) {
        EXPECT_TRUE(one_clean_line(outcome.err));
      }
    }
  }
  for (const char* raw : kRawLibraryText) {
    EXPECT_EQ(outcome.err.find(raw), std::string::npos) << "stderr has raw library text: " << raw;
    EXPECT_EQ(outcome.out.find(raw), std::string::npos) << "stdout has raw library text: " << raw;
  }
  const auto left = programs_left(before);
  EXPECT_TRUE(left.empty()) << left.size() << " BPF program(s) of syscount/ebpf_diag left loaded, e.g. id "
                            << (left.empty() ? 0 : *left.begin());
  if (bad.verify) bad.verify(scene);
}

INSTANTIATE_TEST_SUITE_P(Battery, BadInvocation, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<BadCase>& param) { return param.param.name; });

// The battery's own promise: at least 60 bad command lines, every tool
// covered, names unique.
TEST(BadInvocationBattery, SixtyCasesOverThreeTools) {
  const auto cases = all_cases();
  EXPECT_GE(std::count_if(cases.begin(), cases.end(), [](const BadCase& bad) { return bad.expect == Expect::refused; }),
            60);
  std::set<std::string> names;
  std::set<std::string> tools;
  for (const auto& bad : cases) {
    EXPECT_TRUE(names.insert(bad.name).second) << "duplicate case " << bad.name;
    tools.insert(bad.tool);
  }
  EXPECT_EQ(tools, (std::set<std::string>{"ebpf_diag", "syscount", "tracefs-setup"}));
}

}  // namespace
}  // namespace bpfready::battery
