// On the running kernel (this host, and each kernel of the matrix), the
// streaming scan of /sys/kernel/btf/vmlinux finds exactly what libbpf's full
// parse finds, and syscount's typed programs load without libbpf parsing the
// kernel BTF at all.
#include <bpf/btf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "libcheck/common/fd.h"
#include "libcheck/kernel_btf.h"
#include "support/system.h"

namespace bpfready {
namespace {

constexpr const char* kKernelBtf = "/sys/kernel/btf/vmlinux";

// Bit offset of MEMBER in struct ID of B, as libbpf reads it.
long libbpf_member_bits(const btf* b, int id, const std::string& member) {
  const btf_type* type = btf__type_by_id(b, id);
  const btf_member* members = btf_members(type);
  for (int i = 0; i < btf_vlen(type); ++i) {
    if (member == btf__name_by_offset(b, members[i].name_off)) {
      return static_cast<long>(btf_member_bit_offset(type, i));
    }
  }
  return -1;
}

TEST(KernelBtfOnThisKernel, ScanAgreesWithLibbpf) {
  if (::access(kKernelBtf, R_OK) != 0) {
    if (std::getenv("BPFREADY_REQUIRE_SYSTEM_TESTS") != nullptr) FAIL() << "no " << kKernelBtf;
    GTEST_SKIP() << "this kernel has no BTF";
  }
  const std::unique_ptr<btf, decltype(&btf__free)> full(btf__load_vmlinux_btf(), btf__free);
  ASSERT_NE(full, nullptr);

  KernelBtfQuery query;
  const std::vector<std::string> tracepoints = {"sys_enter", "sys_exit", "sched_process_fork",
                                                "sched_process_exit", "sched_process_exec",
                                                "task_rename"};
  for (const auto& tracepoint : tracepoints) query.typedefs.push_back("btf_trace_" + tracepoint);
  query.typedefs.emplace_back("btf_trace_no_such_tracepoint");
  query.struct_members["task_struct"] = {"pid", "tgid", "signal", "comm"};
  query.struct_members["signal_struct"] = {"live"};

  const Fd file(::open(kKernelBtf, O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(file.valid());
  const auto facts = scan_kernel_btf(file.get(), query);
  ASSERT_TRUE(facts) << facts.error().message;

  for (const auto& name : query.typedefs) {
    const int expected = btf__find_by_name_kind(full.get(), name.c_str(), BTF_KIND_TYPEDEF);
    if (expected < 0) {
      EXPECT_EQ(facts->typedef_ids.count(name), 0U) << name;
    } else {
      ASSERT_EQ(facts->typedef_ids.count(name), 1U) << name;
      EXPECT_EQ(facts->typedef_ids.at(name), static_cast<__u32>(expected)) << name;
      // typedef -> pointer -> function type: its parameter count.
      const btf_type* pointer = btf__type_by_id(full.get(), btf__type_by_id(full.get(), expected)->type);
      ASSERT_TRUE(btf_is_ptr(pointer)) << name;
      const btf_type* proto = btf__type_by_id(full.get(), pointer->type);
      ASSERT_TRUE(btf_is_func_proto(proto)) << name;
      ASSERT_EQ(facts->typedef_params.count(name), 1U) << name;
      EXPECT_EQ(facts->typedef_params.at(name), btf_vlen(proto)) << name;
    }
  }
  EXPECT_EQ(facts->typedef_ids.count("btf_trace_no_such_tracepoint"), 0U);
  for (const auto& [name, members] : query.struct_members) {
    const int id = btf__find_by_name_kind(full.get(), name.c_str(), BTF_KIND_STRUCT);
    ASSERT_GT(id, 0) << name;
    const auto& layout = facts->structs.at(name);
    EXPECT_EQ(layout.size, btf__type_by_id(full.get(), id)->size) << name;
    for (const auto& member : members) {
      EXPECT_EQ(static_cast<long>(layout.member_bits.at(member)), libbpf_member_bits(full.get(), id, member))
          << name << "." << member;
    }
  }
}

// libbpf says "loading kernel BTF" (a debug line, shown by -v) whenever it
// parses the kernel's BTF itself; the typed variant must not need it.
TEST(KernelBtfOnThisKernel, SyscountTypedVariantDoesNotParseTheKernelBtf) {
  BPFREADY_REQUIRE_ROOT();
  if (::access(kKernelBtf, R_OK) != 0) GTEST_SKIP() << "this kernel has no BTF";
  const std::string syscount = std::string(BPFREADY_BINARY_DIR) + "/tools/syscount/syscount";
  const auto run = testing::run_command(syscount + " --flavour tp_btf -v -o /dev/null -- /bin/true 2>&1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("tp_btf"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("loading kernel BTF"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace bpfready
