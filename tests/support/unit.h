// Helpers shared by the unit tests: fixture hosts, scratch trees, and small
// lookups over check results. Nothing here touches the live system.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "libcheck/checks.h"
#include "libcheck/snapshot.h"
#include "libcheck/system_root.h"

namespace bpfready {

// Readable values in gtest failure messages.
inline void PrintTo(Status status, std::ostream* os) { *os << to_string(status); }
inline void PrintTo(ProbeStage stage, std::ostream* os) { *os << to_string(stage); }
inline void PrintTo(const KernelVersion& version, std::ostream* os) { *os << version.str(); }

}  // namespace bpfready

namespace bpfready::unit {

inline const std::vector<std::string>& fixture_hosts() {
  static const std::vector<std::string> hosts = {
      "debian12-vm-6.18",         "ubuntu2204-paranoid4", "container-no-tracefs", "kernel-5.4",
      "lockdown-confidentiality", "unpriv-bpf-enabled",   "tracefs-group-read",   "custom-6.6-no-btf",
      "debian11-5.10",            "rhel8-4.18",
  };
  return hosts;
}

inline std::filesystem::path fixture_host(std::string_view name) {
  return std::filesystem::path(BPFREADY_FIXTURES) / "hosts" / name;
}

inline Snapshot load_host(std::string_view name) {
  const SystemRoot root(fixture_host(name));
  return collect_snapshot(root, CollectOptions{.run_probes = false, .binary_path = {}, .probe_calls = 0});
}

inline const CheckResult* find_result(const std::vector<CheckResult>& results, std::string_view id) {
  for (const auto& r : results) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

// Runs one check over a snapshot and returns its result (fails the test when
// the id is not in the table).
inline CheckResult run_one(const Snapshot& snapshot, const std::string& id) {
  const auto results = run_checks(snapshot, {id});
  if (results.size() != 1) {
    ADD_FAILURE() << "check " << id << " is not in the table";
    return {};
  }
  return results.front();
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

inline std::string evidence(const CheckResult& r, std::string_view key) {
  for (const auto& [k, v] : r.evidence) {
    if (k == key) return v;
  }
  return "<no evidence " + std::string(key) + ">";
}

// A scratch directory under $TMPDIR, removed with everything in it.
class ScratchTree {
 public:
  ScratchTree() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bpfready-unit-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ScratchTree(const ScratchTree&) = delete;
  ScratchTree& operator=(const ScratchTree&) = delete;
  ScratchTree(ScratchTree&&) = delete;
  ScratchTree& operator=(ScratchTree&&) = delete;
  ~ScratchTree() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  // Writes CONTENT at the host path ABSOLUTE inside the tree.
  void write(std::string_view absolute, std::string_view content) const {
    const auto file = at(absolute);
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    out << content;
  }
  void mkdir(std::string_view absolute) const { std::filesystem::create_directories(at(absolute)); }
  [[nodiscard]] std::filesystem::path at(std::string_view absolute) const {
    while (!absolute.empty() && absolute.front() == '/') absolute.remove_prefix(1);
    return path_ / absolute;
  }

  // Copies a fixture host into this tree, to vary one file of it.
  void copy_host(std::string_view name) const {
    std::filesystem::copy(fixture_host(name), path_,
                          std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  }

  [[nodiscard]] Snapshot snapshot() const {
    const SystemRoot root(path_);
    return collect_snapshot(root, CollectOptions{.run_probes = false, .binary_path = {}, .probe_calls = 0});
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace bpfready::unit
