// The generated syscall table and the hand-written category table agree:
// every syscall of the build architecture has exactly one category, and
// common calls land where a reader would look for them.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tools/syscount/syscalls.h"

namespace bpfready {
namespace {

TEST(SyscallTable, IsGeneratedFromTheUapiHeaders) {
  ASSERT_GT(known_syscalls().size(), 300u);
  EXPECT_EQ(syscall_name(0), "read");
  EXPECT_EQ(syscall_number("openat"), 257);
  EXPECT_EQ(syscall_number("exit_group"), 231);
}

TEST(SyscallTable, EverySyscallHasExactlyOneCategory) {
  std::map<std::string, int> rows;
  for (const auto& row : syscall_category_table()) ++rows[std::string(row.name)];
  for (const auto& known : known_syscalls()) {
    EXPECT_EQ(rows[std::string(known.name)], 1) << known.name << " needs exactly one category row";
  }
  for (const auto& [name, count] : rows) {
    EXPECT_TRUE(syscall_number(name).has_value()) << name << " is not a syscall of this architecture";
  }
}

TEST(SyscallTable, CommonCallsLandInSensibleCategories) {
  const std::map<std::string, SyscallCategory> expected = {
      {"read", SyscallCategory::file_io},        {"openat", SyscallCategory::file_io},
      {"newfstatat", SyscallCategory::file_io},  {"statx", SyscallCategory::file_io},
      {"io_uring_enter", SyscallCategory::file_io}, {"epoll_wait", SyscallCategory::file_io},
      {"getdents64", SyscallCategory::file_io},  {"mmap", SyscallCategory::memory},
      {"brk", SyscallCategory::memory},          {"madvise", SyscallCategory::memory},
      {"futex", SyscallCategory::ipc},           {"pipe2", SyscallCategory::ipc},
      {"clone3", SyscallCategory::process},      {"execve", SyscallCategory::process},
      {"rseq", SyscallCategory::process},        {"prlimit64", SyscallCategory::process},
      {"exit_group", SyscallCategory::process},  {"wait4", SyscallCategory::process},
      {"socket", SyscallCategory::network},      {"connect", SyscallCategory::network},
      {"sendmsg", SyscallCategory::network},     {"clock_gettime", SyscallCategory::time},
      {"nanosleep", SyscallCategory::time},      {"rt_sigaction", SyscallCategory::signal},
      {"kill", SyscallCategory::signal},         {"setuid", SyscallCategory::security},
      {"capset", SyscallCategory::security},     {"seccomp", SyscallCategory::security},
      {"getrandom", SyscallCategory::system},    {"uname", SyscallCategory::system},
      {"bpf", SyscallCategory::system},          {"mount", SyscallCategory::system},
  };
  for (const auto& [name, category] : expected) {
    auto nr = syscall_number(name);
    ASSERT_TRUE(nr.has_value()) << name;
    EXPECT_EQ(to_string(syscall_category(*nr)), to_string(category)) << name;
  }
}

TEST(SyscallTable, UnknownNumbersAreNamedNotDropped) {
  EXPECT_EQ(syscall_name(451), "syscall_451");
  EXPECT_EQ(syscall_name(100000), "syscall_100000");
  EXPECT_EQ(syscall_category(451), SyscallCategory::other);
  EXPECT_EQ(syscall_number("syscall_451"), 451);
  EXPECT_EQ(syscall_number("syscall_0"), 0);
  EXPECT_FALSE(syscall_number("syscall_").has_value());
  EXPECT_FALSE(syscall_number("syscall_-3").has_value());
  EXPECT_FALSE(syscall_number("no_such_call").has_value());
}

TEST(SyscallTable, CategoryNamesRoundTrip) {
  ASSERT_EQ(kAllSyscallCategories.size(), 10u);
  for (auto category : kAllSyscallCategories) {
    EXPECT_EQ(parse_syscall_category(to_string(category)), category);
  }
  EXPECT_FALSE(parse_syscall_category("disk").has_value());
}

// Why 9: the out_of_range row appears in reports, so --syscall takes it.
TEST(SyscallTable, OutOfRangeIsARowName) { EXPECT_EQ(syscall_number("out_of_range"), -1); }

TEST(ErrnoNames, FromGlibcAndTheKernel) {
  EXPECT_EQ(errno_name(2), "ENOENT");
  EXPECT_EQ(errno_name(11), "EAGAIN");
  EXPECT_EQ(errno_name(512), "ERESTARTSYS");
  EXPECT_EQ(errno_name(514), "ERESTARTNOHAND");
  EXPECT_EQ(errno_name(4000), "errno_4000");
  EXPECT_EQ(errno_number("EBADF"), 9);
  EXPECT_EQ(errno_number("ERESTARTNOINTR"), 513);
  EXPECT_FALSE(errno_number("ENOSUCH").has_value());
}

}  // namespace
}  // namespace bpfready
