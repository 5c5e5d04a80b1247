#include "libcheck/typed_load.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "libcheck/kernel_btf.h"

namespace bpfready {

namespace {

constexpr const char* kKernelBtf = "/sys/kernel/btf/vmlinux";
constexpr const char* kTracepointPrefix = "btf_trace_";

// tp_btf target -> its btf_trace_ typedef's id in the kernel BTF, as found by
// TypedBtf::prepare. Ids never change while the kernel runs.
std::mutex attach_ids_mutex;
std::map<std::string, __u32>& attach_ids() {
  static std::map<std::string, __u32> ids;
  return ids;
}

// The tp_btf target of PROG: its section name after "tp_btf/".
std::string tracepoint_of(const bpf_program* prog) {
  const char* section = bpf_program__section_name(prog);
  const char* slash = section != nullptr ? std::strchr(section, '/') : nullptr;
  return slash != nullptr ? std::string(slash + 1) : std::string();
}

// libbpf calls this right before loading a tp_btf program. The handler
// registers tp_btf programs as raw tracepoints, because libbpf parses the
// whole kernel BTF for any object with a tracing-type program (to find its
// attach target), which is what TypedBtf avoids; here the program becomes
// what it is, a tracing program on the raw tracepoint, with the target the
// scan found.
int prepare_typed_load(bpf_program* prog, bpf_prog_load_opts* opts, long /*cookie*/) {
  const std::string tracepoint = tracepoint_of(prog);
  if (tracepoint.empty()) return -EINVAL;
  int id = -ENOENT;
  {
    const std::lock_guard lock(attach_ids_mutex);
    const auto found = attach_ids().find(tracepoint);
    if (found != attach_ids().end()) id = static_cast<int>(found->second);
  }
  // Not scanned (TypedBtf could not be used): libbpf's own lookup.
  if (id < 0) id = libbpf_find_vmlinux_btf_id(tracepoint.c_str(), BPF_TRACE_RAW_TP);
  if (id < 0) return id;
  opts->attach_btf_id = static_cast<__u32>(id);
  opts->attach_btf_obj_fd = 0;
  opts->expected_attach_type = BPF_TRACE_RAW_TP;
  return bpf_program__set_type(prog, BPF_PROG_TYPE_TRACING);
}

int attach_typed(const bpf_program* prog, long /*cookie*/, bpf_link** link) {
  *link = bpf_program__attach_trace(prog);
  return static_cast<int>(libbpf_get_error(*link));
}

// The types syscount's and the probe's CO-RE reads name, with the running
// kernel's layout: task_struct.{pid,tgid,signal} and signal_struct.live
// (an atomic_t: a struct holding int counter).
Expected<std::string> minimal_btf(const KernelBtfFacts& facts) {
  const auto task = facts.structs.find("task_struct");
  const auto signal = facts.structs.find("signal_struct");
  if (task == facts.structs.end() || signal == facts.structs.end()) {
    return SysError::plain("the kernel BTF has no task_struct or signal_struct");
  }
  std::unique_ptr<btf, decltype(&btf__free)> out(btf__new_empty(), btf__free);
  if (!out) return SysError::from_errno(errno, "build the minimal BTF");
  btf* b = out.get();
  const int int_id = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  const int atomic_id = btf__add_struct(b, nullptr, 4);
  int err = btf__add_field(b, "counter", int_id, 0, 0);
  const int signal_id = btf__add_struct(b, "signal_struct", signal->second.size);
  err = err != 0 ? err : btf__add_field(b, "live", atomic_id, signal->second.member_bits.at("live"), 0);
  const int signal_ptr = btf__add_ptr(b, signal_id);
  const int task_id = btf__add_struct(b, "task_struct", task->second.size);
  for (const char* member : {"pid", "tgid"}) {
    err = err != 0 ? err : btf__add_field(b, member, int_id, task->second.member_bits.at(member), 0);
  }
  err = err != 0 ? err : btf__add_field(b, "signal", signal_ptr, task->second.member_bits.at("signal"), 0);
  if (int_id < 0 || atomic_id < 0 || signal_id < 0 || signal_ptr < 0 || task_id < 0 || err != 0) {
    return SysError::plain("build the minimal BTF: libbpf refused a type");
  }
  __u32 size = 0;
  const void* raw = btf__raw_data(b, &size);
  if (raw == nullptr) return SysError::from_errno(errno, "build the minimal BTF");
  return std::string(static_cast<const char*>(raw), size);
}

}  // namespace

Expected<void> install_typed_loader() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] {
    LIBBPF_OPTS(libbpf_prog_handler_opts, handler, .prog_prepare_load_fn = prepare_typed_load,
                .prog_attach_fn = attach_typed);
    result = libbpf_register_prog_handler("tp_btf+", BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_TRACE_RAW_TP,
                                          &handler);
  });
  if (result < 0) return SysError::from_errno(-result, "register the tp_btf section handler");
  return {};
}

Expected<TypedBtf> TypedBtf::prepare(const std::vector<std::string>& tracepoints) {
  const Fd kernel(::open(kKernelBtf, O_RDONLY | O_CLOEXEC));
  if (!kernel.valid()) return SysError::from_errno(errno, std::string("open ") + kKernelBtf);
  KernelBtfQuery query;
  for (const auto& tracepoint : tracepoints) query.typedefs.push_back(kTracepointPrefix + tracepoint);
  query.struct_members["task_struct"] = {"pid", "tgid", "signal"};
  query.struct_members["signal_struct"] = {"live"};
  auto facts = scan_kernel_btf(kernel.get(), query);
  if (!facts) return facts.error();
  auto raw = minimal_btf(*facts);
  if (!raw) return raw.error();

  Fd memfd(::memfd_create("bpfready-core-btf", MFD_CLOEXEC));
  if (!memfd.valid()) return SysError::from_errno(errno, "memfd_create");
  if (!write_all(memfd.get(), *raw)) return SysError::from_errno(errno, "write the minimal BTF");
  std::map<std::string, unsigned> args;
  {
    const std::lock_guard lock(attach_ids_mutex);
    for (const auto& tracepoint : tracepoints) {
      const std::string name = kTracepointPrefix + tracepoint;
      const auto found = facts->typedef_ids.find(name);
      if (found != facts->typedef_ids.end()) attach_ids()[tracepoint] = found->second;
      // The first parameter of the typedef's function is the context.
      const auto params = facts->typedef_params.find(name);
      if (params != facts->typedef_params.end() && params->second > 0) args[tracepoint] = params->second - 1;
    }
  }
  std::string path = "/proc/self/fd/" + std::to_string(memfd.get());
  return TypedBtf(std::move(memfd), std::move(path), std::move(args));
}

std::optional<unsigned> TypedBtf::tracepoint_args(const std::string& tracepoint) const {
  const auto found = args_.find(tracepoint);
  if (found == args_.end()) return std::nullopt;
  return found->second;
}

TypedBtf::TypedBtf(Fd memfd, std::string path, std::map<std::string, unsigned> args)
    : memfd_(std::move(memfd)), path_(std::move(path)), args_(std::move(args)) {
  opts_.sz = sizeof opts_;
  opts_.btf_custom_path = path_.c_str();
}

TypedBtf::TypedBtf(TypedBtf&& other) noexcept
    : memfd_(std::move(other.memfd_)), path_(std::move(other.path_)), args_(std::move(other.args_)) {
  opts_.sz = sizeof opts_;
  opts_.btf_custom_path = path_.c_str();
}

}  // namespace bpfready
