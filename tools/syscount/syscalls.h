// Syscall names and categories of the build architecture. Names come from the
// table generated at build time from the kernel UAPI headers
// (cmake/SyscallTable.cmake); numbers the headers do not know (a newer
// running kernel) are named "syscall_N" and categorised "other", never dropped.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bpfready {

enum class SyscallCategory { file_io, memory, process, network, time, ipc, security, signal, system, other };

inline constexpr std::array<SyscallCategory, 10> kAllSyscallCategories = {
    SyscallCategory::file_io, SyscallCategory::memory,   SyscallCategory::process,
    SyscallCategory::network, SyscallCategory::time,     SyscallCategory::ipc,
    SyscallCategory::security, SyscallCategory::signal,  SyscallCategory::system,
    SyscallCategory::other};

std::string_view to_string(SyscallCategory category);  // "file_io"
std::optional<SyscallCategory> parse_syscall_category(std::string_view text);

struct SyscallName {
  long nr = 0;
  std::string_view name;
};
// Every syscall the UAPI headers of the build define, in header order.
std::span<const SyscallName> known_syscalls();

// One row of the hand-written category table.
struct SyscallCategoryRow {
  std::string_view name;
  SyscallCategory category;
};
std::span<const SyscallCategoryRow> syscall_category_table();

// Syscall numbers below this are counted under their own number (the kernel
// counters' slots, bpf/syscount.h); higher ones only as "out_of_range".
inline constexpr long kSyscallNrLimit = 1023;

// "read", or "syscall_451" for a number the headers do not name.
std::string syscall_name(long nr);
// Inverse of syscall_name, so "syscall_451" is accepted too (below
// kSyscallNrLimit: a higher number can never be counted by name).
std::optional<long> syscall_number(std::string_view name);
SyscallCategory syscall_category(long nr);

// Failures are returns in [-kMaxErrno, -1].
inline constexpr int kMaxErrno = 4095;
// "ENOENT" (glibc's strerrorname_np), "ERESTARTSYS" for the kernel-internal
// codes a syscall returns on its way to a signal handler, else "errno_N".
std::string errno_name(int err);
// Inverse of errno_name for 1..kMaxErrno.
std::optional<int> errno_number(std::string_view name);

}  // namespace bpfready
