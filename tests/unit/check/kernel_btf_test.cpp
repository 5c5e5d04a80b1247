// scan_kernel_btf over BTF built here with libbpf's writer: every kind the
// kernel emits, records and names that cross the scanner's read window (and one larger than it),
// and the files it must refuse. Each test runs on both paths: the mapped
// file (6.16+ kernels) and the windowed reads (older ones).
#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "libcheck/common/fd.h"
#include "libcheck/kernel_btf.h"

namespace bpfready {
namespace {

using BtfPtr = std::unique_ptr<btf, decltype(&btf__free)>;

BtfPtr new_btf() { return BtfPtr(btf__new_empty(), btf__free); }

// The raw bytes of B in a memory file, as the kernel serves them.
Fd as_file(const btf* b) {
  __u32 size = 0;
  const void* raw = btf__raw_data(b, &size);
  Fd file(::memfd_create("kernel-btf-test", MFD_CLOEXEC));
  EXPECT_TRUE(file.valid());
  EXPECT_TRUE(write_all(file.get(), std::string(static_cast<const char*>(raw), size)));
  return file;
}

Fd bytes_file(const std::string& bytes) {
  Fd file(::memfd_create("kernel-btf-test", MFD_CLOEXEC));
  EXPECT_TRUE(write_all(file.get(), bytes));
  return file;
}

std::string raw_bytes(const btf* b) {
  __u32 size = 0;
  const void* raw = btf__raw_data(b, &size);
  return {static_cast<const char*>(raw), size};
}

KernelBtfQuery task_query() {
  KernelBtfQuery query;
  query.typedefs = {"btf_trace_sys_enter", "btf_trace_absent"};
  query.struct_members["task_struct"] = {"pid", "tgid"};
  return query;
}

class KernelBtf : public ::testing::TestWithParam<BtfAccess> {};

// One type of every kind before the ones asked for, so that a wrong record
// size for any kind shifts every id and offset after it.
void add_every_kind(btf* b) {
  const int int_id = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  ASSERT_GT(int_id, 0);
  ASSERT_GT(btf__add_ptr(b, int_id), 0);
  ASSERT_GT(btf__add_array(b, int_id, int_id, 4), 0);
  ASSERT_GT(btf__add_struct(b, "pair", 8), 0);
  ASSERT_EQ(btf__add_field(b, "a", int_id, 0, 0), 0);
  ASSERT_EQ(btf__add_field(b, "b", int_id, 32, 0), 0);
  ASSERT_GT(btf__add_union(b, "either", 4), 0);
  ASSERT_EQ(btf__add_field(b, "x", int_id, 0, 0), 0);
  ASSERT_GT(btf__add_enum(b, "colour", 4), 0);
  ASSERT_EQ(btf__add_enum_value(b, "red", 0), 0);
  ASSERT_EQ(btf__add_enum_value(b, "blue", 1), 0);
  ASSERT_GT(btf__add_fwd(b, "opaque", BTF_FWD_STRUCT), 0);
  ASSERT_GT(btf__add_typedef(b, "counter_t", int_id), 0);
  ASSERT_GT(btf__add_volatile(b, int_id), 0);
  ASSERT_GT(btf__add_const(b, int_id), 0);
  ASSERT_GT(btf__add_restrict(b, int_id), 0);
  const int proto = btf__add_func_proto(b, int_id);
  ASSERT_GT(proto, 0);
  ASSERT_EQ(btf__add_func_param(b, "arg", int_id), 0);
  ASSERT_GT(btf__add_func(b, "handler", BTF_FUNC_GLOBAL, proto), 0);
  const int var = btf__add_var(b, "global", BTF_VAR_GLOBAL_ALLOCATED, int_id);
  ASSERT_GT(var, 0);
  ASSERT_GT(btf__add_datasec(b, ".data", 4), 0);
  ASSERT_EQ(btf__add_datasec_var_info(b, var, 0, 4), 0);
  ASSERT_GT(btf__add_float(b, "double", 8), 0);
  ASSERT_GT(btf__add_decl_tag(b, "tag", int_id, -1), 0);
  ASSERT_GT(btf__add_type_tag(b, "user", int_id), 0);
  ASSERT_GT(btf__add_enum64(b, "wide", 8, false), 0);
  ASSERT_EQ(btf__add_enum64_value(b, "huge", 1ULL << 40), 0);
}

// Adds task_struct {int pid @ 8 bytes; int tgid @ 12 bytes} and the
// tracepoint typedef; returns the typedef's id.
int add_task_and_tracepoint(btf* b) {
  const int int_id = btf__find_by_name_kind(b, "int", BTF_KIND_INT);
  EXPECT_GT(btf__add_struct(b, "task_struct", 64), 0);
  EXPECT_EQ(btf__add_field(b, "state", int_id, 0, 0), 0);
  EXPECT_EQ(btf__add_field(b, "pid", int_id, 64, 0), 0);
  EXPECT_EQ(btf__add_field(b, "tgid", int_id, 96, 0), 0);
  // As the kernel emits a tracepoint: the typedef, then its pointer, then
  // the function type (context, then the tracepoint's two arguments).
  const int typedef_id = btf__add_typedef(b, "btf_trace_sys_enter", static_cast<int>(btf__type_cnt(b)) + 1);
  EXPECT_GT(btf__add_ptr(b, static_cast<int>(btf__type_cnt(b)) + 1), 0);
  EXPECT_GT(btf__add_func_proto(b, 0), 0);
  for (const char* param : {"ctx", "regs", "id"}) EXPECT_EQ(btf__add_func_param(b, param, int_id), 0);
  return typedef_id;
}

TEST_P(KernelBtf, FindsTypedefsAndLayoutsAfterEveryKind) {
  auto b = new_btf();
  add_every_kind(b.get());
  const int tracepoint = add_task_and_tracepoint(b.get());
  const Fd file = as_file(b.get());

  const auto facts = scan_kernel_btf(file.get(), task_query(), GetParam());
  ASSERT_TRUE(facts) << facts.error().message;
  ASSERT_EQ(facts->typedef_ids.size(), 1U);  // the absent one is simply not there
  EXPECT_EQ(facts->typedef_ids.at("btf_trace_sys_enter"), static_cast<__u32>(tracepoint));
  EXPECT_EQ(facts->typedef_params.at("btf_trace_sys_enter"), 3U);
  const auto& task = facts->structs.at("task_struct");
  EXPECT_EQ(task.size, 64U);
  EXPECT_EQ(task.member_bits.at("pid"), 64U);
  EXPECT_EQ(task.member_bits.at("tgid"), 96U);
  EXPECT_EQ(task.member_bits.size(), 2U);  // only what was asked for
}

TEST_P(KernelBtf, RecordsAndNamesThatCrossTheReadWindow) {
  auto b = new_btf();
  const int int_id = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  // About 2 MiB of names and 2 MiB of records before the wanted ones.
  for (int i = 0; i < 90000; ++i) {
    const std::string name = "filler_type_with_a_long_name_" + std::to_string(i);
    ASSERT_GT(btf__add_typedef(b.get(), name.c_str(), int_id), 0);
    ASSERT_GT(btf__add_const(b.get(), int_id), 0);
  }
  // A struct whose members alone span more than one read.
  ASSERT_GT(btf__add_struct(b.get(), "wide", 4 * 20000), 0);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(btf__add_field(b.get(), ("m" + std::to_string(i)).c_str(), int_id, 32U * i, 0), 0);
  }
  const int tracepoint = add_task_and_tracepoint(b.get());
  const Fd file = as_file(b.get());

  const auto facts = scan_kernel_btf(file.get(), task_query(), GetParam());
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->typedef_ids.at("btf_trace_sys_enter"), static_cast<__u32>(tracepoint));
  EXPECT_EQ(facts->structs.at("task_struct").member_bits.at("tgid"), 96U);
}

TEST_P(KernelBtf, BitfieldMemberIsRefused) {
  auto b = new_btf();
  const int int_id = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  ASSERT_GT(btf__add_struct(b.get(), "task_struct", 8), 0);
  ASSERT_EQ(btf__add_field(b.get(), "pid", int_id, 0, 3), 0);  // 3-bit field
  ASSERT_EQ(btf__add_field(b.get(), "tgid", int_id, 32, 0), 0);
  const Fd file = as_file(b.get());
  const auto facts = scan_kernel_btf(file.get(), task_query(), GetParam());
  ASSERT_FALSE(facts);
  EXPECT_NE(facts.error().message.find("task_struct"), std::string::npos);
}

TEST_P(KernelBtf, MissingMemberIsRefusedUnlessAnotherStructOfTheNameHasIt) {
  auto b = new_btf();
  const int int_id = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  ASSERT_GT(btf__add_struct(b.get(), "task_struct", 4), 0);
  ASSERT_EQ(btf__add_field(b.get(), "pid", int_id, 0, 0), 0);
  {
    const Fd file = as_file(b.get());
    EXPECT_FALSE(scan_kernel_btf(file.get(), task_query(), GetParam()));
  }
  add_task_and_tracepoint(b.get());
  const Fd file = as_file(b.get());
  const auto facts = scan_kernel_btf(file.get(), task_query(), GetParam());
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->structs.at("task_struct").member_bits.at("pid"), 64U);
}

TEST_P(KernelBtf, RefusesWhatIsNotWholeBtf) {
  auto b = new_btf();
  add_every_kind(b.get());
  add_task_and_tracepoint(b.get());
  const std::string good = raw_bytes(b.get());

  std::string bad_magic = good;
  bad_magic[0] = 'X';
  std::string truncated = good.substr(0, good.size() - 40);
  std::string unknown_kind = good;
  // The first type's info word: kind bits 24-28 set to 31, a kind no kernel has.
  const std::size_t hdr_len = 24;
  unknown_kind[hdr_len + 4 + 3] = static_cast<char>(31);
  for (const auto& [what, bytes] : {std::pair<const char*, std::string>{"bad magic", bad_magic},
                                    {"truncated", truncated},
                                    {"unknown kind", unknown_kind},
                                    {"empty", std::string()},
                                    {"header only", good.substr(0, 24)}}) {
    const Fd file = bytes_file(bytes);
    const auto facts = scan_kernel_btf(file.get(), task_query(), GetParam());
    EXPECT_FALSE(facts) << what;
  }
}

// A typedef whose pointer and function type come before it (the kernel
// shares one pointer among tracepoints of the same arguments) still has its
// parameter count.
TEST_P(KernelBtf, TypedefPointingBackwardsHasItsParameterCount) {
  auto b = new_btf();
  const int int_id = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  const int proto = btf__add_func_proto(b.get(), 0);
  ASSERT_EQ(btf__add_func_param(b.get(), "ctx", int_id), 0);
  const int ptr = btf__add_ptr(b.get(), proto);
  const int typedef_id = btf__add_typedef(b.get(), "btf_trace_sys_enter", ptr);
  const Fd file = as_file(b.get());
  const auto facts = scan_kernel_btf(file.get(), task_query(), GetParam());
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->typedef_ids.at("btf_trace_sys_enter"), static_cast<__u32>(typedef_id));
  EXPECT_EQ(facts->typedef_params.at("btf_trace_sys_enter"), 1U);
}

// A string section that does not end in a NUL is refused on both paths (a
// name must never be read past the section).
TEST_P(KernelBtf, UnterminatedStringSectionIsRefused) {
  auto b = new_btf();
  ASSERT_GT(btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED), 0);
  add_task_and_tracepoint(b.get());
  std::string bytes = raw_bytes(b.get());
  ASSERT_EQ(bytes.back(), '\0');
  bytes.back() = 'x';
  const Fd file = bytes_file(bytes);
  const auto facts = scan_kernel_btf(file.get(), task_query(), GetParam());
  ASSERT_FALSE(facts);
  EXPECT_NE(facts.error().message.find("NUL"), std::string::npos) << facts.error().message;
}

// Once every typedef and struct asked for is found, the rest of the file is
// not read (in the kernel's BTF they come early): what follows them, even a
// kind this scanner does not know, changes nothing; a second struct of a
// name found complete is not taken either.
TEST_P(KernelBtf, StopsOnceEverythingAskedForIsFound) {
  auto b = new_btf();
  const int int_id = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  const int tracepoint = add_task_and_tracepoint(b.get());
  ASSERT_GT(btf__add_struct(b.get(), "task_struct", 8), 0);  // a later one, other offsets
  ASSERT_EQ(btf__add_field(b.get(), "pid", int_id, 0, 0), 0);
  ASSERT_EQ(btf__add_field(b.get(), "tgid", int_id, 32, 0), 0);
  ASSERT_GT(btf__add_const(b.get(), int_id), 0);  // becomes a kind no kernel has
  std::string bytes = raw_bytes(b.get());
  const std::size_t hdr_len = 24;
  __u32 type_len = 0;
  std::memcpy(&type_len, bytes.data() + 12, sizeof type_len);
  // The last type is the 12-byte const: its info word's kind bits.
  bytes[hdr_len + type_len - 12 + 4 + 3] = static_cast<char>(31);
  const Fd file = bytes_file(bytes);
  KernelBtfQuery query;
  query.typedefs = {"btf_trace_sys_enter"};
  query.struct_members["task_struct"] = {"pid", "tgid"};
  const auto facts = scan_kernel_btf(file.get(), query, GetParam());
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->typedef_ids.at("btf_trace_sys_enter"), static_cast<__u32>(tracepoint));
  EXPECT_EQ(facts->structs.at("task_struct").member_bits.at("tgid"), 96U);  // the first one
  // Asked for something absent, it reads on and meets the unknown kind.
  query.typedefs.emplace_back("btf_trace_absent");
  EXPECT_FALSE(scan_kernel_btf(file.get(), query, GetParam()));
}

INSTANTIATE_TEST_SUITE_P(BothPaths, KernelBtf,
                         ::testing::Values(BtfAccess::map_or_read, BtfAccess::read_only),
                         [](const ::testing::TestParamInfo<BtfAccess>& param) {
                           return param.param == BtfAccess::map_or_read ? "Mapped" : "Read";
                         });

}  // namespace
}  // namespace bpfready
