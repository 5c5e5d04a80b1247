// Loads bpfready's typed objects (syscount.bpf.c, probe_typed.bpf.c: tp_btf
// programs with CO-RE reads of task_struct) without libbpf parsing the whole
// kernel BTF, which cost most of syscount's start-up and of ebpf_diag's peak
// memory. scan_kernel_btf() finds the attach targets and the few struct
// layouts; they reach libbpf as a minimal BTF for CO-RE (btf_custom_path)
// and through a tp_btf section handler that sets the attach target itself.
// Where the scan cannot be used, the same objects load exactly as libbpf
// loads them by itself.
#pragma once

#include <bpf/libbpf.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libcheck/common/fd.h"
#include "libcheck/expected.h"

namespace bpfready {

// Registers the tp_btf section handler, once per process. Call it before
// any thread opens a BPF object (libbpf's handler list is not locked).
// Objects opened later resolve tp_btf attach targets through TypedBtf's
// scan, or, for a target it did not find, through libbpf's own lookup.
Expected<void> install_typed_loader();

// The kernel facts for one typed object's load: keep it alive until the
// object is loaded. TRACEPOINTS are the tp_btf targets it attaches to
// ("sys_enter", "sched_process_fork", ...).
class TypedBtf {
 public:
  // A scan that fails (no kernel BTF, a format not known here) is an error;
  // the caller then opens the object with no options, as before.
  static Expected<TypedBtf> prepare(const std::vector<std::string>& tracepoints);

  // Options for the skeleton's open(): the minimal BTF for CO-RE.
  [[nodiscard]] const bpf_object_open_opts* open_opts() const { return &opts_; }

  // How many arguments TRACEPOINT passes its programs on this kernel (some
  // gained one over the years: sched_process_exit's group_dead), when the
  // scan found it.
  [[nodiscard]] std::optional<unsigned> tracepoint_args(const std::string& tracepoint) const;

  TypedBtf(TypedBtf&& other) noexcept;
  TypedBtf& operator=(TypedBtf&&) = delete;
  TypedBtf(const TypedBtf&) = delete;
  TypedBtf& operator=(const TypedBtf&) = delete;
  ~TypedBtf() = default;

 private:
  TypedBtf(Fd memfd, std::string path, std::map<std::string, unsigned> args);
  Fd memfd_;          // the minimal BTF, raw format
  std::string path_;  // /proc/self/fd/N
  std::map<std::string, unsigned> args_;  // tracepoint -> arguments
  bpf_object_open_opts opts_{};
};

}  // namespace bpfready
