#include "tools/syscount/syscalls.h"

#include <charconv>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bpfready {

namespace {

constexpr SyscallName kKnown[] = {
#include "syscall_table.inc"
};

using C = SyscallCategory;

// Each name appears once; a unit test checks that every generated name is
// here exactly once and that every name here is a generated one. Placement
// follows what a call is mostly used for: readiness polling (poll, epoll) is
// file I/O because it waits on descriptors; futex, pipes and eventfd are
// inter-process (and inter-thread) communication; clocks and timers are time.
constexpr SyscallCategoryRow kCategories[] = {
    // file_io: descriptors, files, directories, metadata, async I/O
    {"read", C::file_io}, {"write", C::file_io}, {"open", C::file_io}, {"close", C::file_io},
    {"stat", C::file_io}, {"fstat", C::file_io}, {"lstat", C::file_io}, {"poll", C::file_io},
    {"lseek", C::file_io}, {"ioctl", C::file_io}, {"pread64", C::file_io},
    {"pwrite64", C::file_io}, {"readv", C::file_io}, {"writev", C::file_io},
    {"access", C::file_io}, {"select", C::file_io}, {"dup", C::file_io}, {"dup2", C::file_io},
    {"sendfile", C::file_io}, {"fcntl", C::file_io}, {"flock", C::file_io},
    {"fsync", C::file_io}, {"fdatasync", C::file_io}, {"truncate", C::file_io},
    {"ftruncate", C::file_io}, {"getdents", C::file_io}, {"getcwd", C::file_io},
    {"chdir", C::file_io}, {"fchdir", C::file_io}, {"rename", C::file_io},
    {"mkdir", C::file_io}, {"rmdir", C::file_io}, {"creat", C::file_io}, {"link", C::file_io},
    {"unlink", C::file_io}, {"symlink", C::file_io}, {"readlink", C::file_io},
    {"mknod", C::file_io}, {"utime", C::file_io}, {"ustat", C::file_io},
    {"statfs", C::file_io}, {"fstatfs", C::file_io}, {"sync", C::file_io},
    {"readahead", C::file_io}, {"setxattr", C::file_io}, {"lsetxattr", C::file_io},
    {"fsetxattr", C::file_io}, {"getxattr", C::file_io}, {"lgetxattr", C::file_io},
    {"fgetxattr", C::file_io}, {"listxattr", C::file_io}, {"llistxattr", C::file_io},
    {"flistxattr", C::file_io}, {"removexattr", C::file_io}, {"lremovexattr", C::file_io},
    {"fremovexattr", C::file_io}, {"io_setup", C::file_io}, {"io_destroy", C::file_io},
    {"io_getevents", C::file_io}, {"io_submit", C::file_io}, {"io_cancel", C::file_io},
    {"epoll_create", C::file_io}, {"getdents64", C::file_io}, {"fadvise64", C::file_io},
    {"epoll_wait", C::file_io}, {"epoll_ctl", C::file_io}, {"utimes", C::file_io},
    {"inotify_init", C::file_io}, {"inotify_add_watch", C::file_io},
    {"inotify_rm_watch", C::file_io}, {"openat", C::file_io}, {"mkdirat", C::file_io},
    {"mknodat", C::file_io}, {"futimesat", C::file_io}, {"newfstatat", C::file_io},
    {"unlinkat", C::file_io}, {"renameat", C::file_io}, {"renameat2", C::file_io},
    {"linkat", C::file_io},
    {"symlinkat", C::file_io}, {"readlinkat", C::file_io}, {"faccessat", C::file_io},
    {"pselect6", C::file_io}, {"ppoll", C::file_io}, {"splice", C::file_io}, {"tee", C::file_io},
    {"sync_file_range", C::file_io}, {"vmsplice", C::file_io}, {"utimensat", C::file_io},
    {"epoll_pwait", C::file_io}, {"fallocate", C::file_io}, {"epoll_create1", C::file_io},
    {"dup3", C::file_io}, {"inotify_init1", C::file_io}, {"preadv", C::file_io},
    {"pwritev", C::file_io}, {"fanotify_init", C::file_io}, {"fanotify_mark", C::file_io},
    {"name_to_handle_at", C::file_io}, {"open_by_handle_at", C::file_io},
    {"syncfs", C::file_io}, {"copy_file_range", C::file_io}, {"preadv2", C::file_io},
    {"pwritev2", C::file_io}, {"statx", C::file_io}, {"io_pgetevents", C::file_io},
    {"io_uring_setup", C::file_io}, {"io_uring_enter", C::file_io},
    {"io_uring_register", C::file_io}, {"close_range", C::file_io}, {"openat2", C::file_io},
    {"faccessat2", C::file_io}, {"epoll_pwait2", C::file_io},
    // memory
    {"mmap", C::memory}, {"mprotect", C::memory}, {"munmap", C::memory}, {"brk", C::memory},
    {"mremap", C::memory}, {"msync", C::memory}, {"mincore", C::memory},
    {"madvise", C::memory}, {"mlock", C::memory}, {"munlock", C::memory},
    {"mlockall", C::memory}, {"munlockall", C::memory}, {"remap_file_pages", C::memory},
    {"mbind", C::memory}, {"set_mempolicy", C::memory}, {"get_mempolicy", C::memory},
    {"migrate_pages", C::memory}, {"move_pages", C::memory},
    {"process_vm_readv", C::memory}, {"process_vm_writev", C::memory},
    {"memfd_create", C::memory}, {"userfaultfd", C::memory}, {"membarrier", C::memory},
    {"mlock2", C::memory}, {"pkey_mprotect", C::memory}, {"pkey_alloc", C::memory},
    {"pkey_free", C::memory}, {"process_madvise", C::memory}, {"memfd_secret", C::memory},
    {"process_mrelease", C::memory}, {"set_mempolicy_home_node", C::memory},
    // process: lifecycle, identity, scheduling, limits, namespaces
    {"sched_yield", C::process}, {"getpid", C::process}, {"clone", C::process},
    {"fork", C::process}, {"vfork", C::process}, {"execve", C::process}, {"exit", C::process},
    {"wait4", C::process}, {"getrlimit", C::process}, {"getrusage", C::process},
    {"times", C::process}, {"ptrace", C::process}, {"setpgid", C::process},
    {"getppid", C::process}, {"getpgrp", C::process}, {"setsid", C::process},
    {"getpgid", C::process}, {"getsid", C::process}, {"personality", C::process},
    {"getpriority", C::process}, {"setpriority", C::process},
    {"sched_setparam", C::process}, {"sched_getparam", C::process},
    {"sched_setscheduler", C::process}, {"sched_getscheduler", C::process},
    {"sched_get_priority_max", C::process}, {"sched_get_priority_min", C::process},
    {"sched_rr_get_interval", C::process}, {"modify_ldt", C::process}, {"prctl", C::process},
    {"arch_prctl", C::process}, {"setrlimit", C::process}, {"gettid", C::process},
    {"sched_setaffinity", C::process}, {"sched_getaffinity", C::process},
    {"set_thread_area", C::process}, {"get_thread_area", C::process},
    {"set_tid_address", C::process}, {"exit_group", C::process}, {"waitid", C::process},
    {"ioprio_set", C::process}, {"ioprio_get", C::process}, {"unshare", C::process},
    {"set_robust_list", C::process}, {"get_robust_list", C::process},
    {"prlimit64", C::process}, {"setns", C::process}, {"getcpu", C::process},
    {"kcmp", C::process}, {"sched_setattr", C::process}, {"sched_getattr", C::process},
    {"execveat", C::process}, {"rseq", C::process}, {"pidfd_open", C::process},
    {"clone3", C::process}, {"pidfd_getfd", C::process},
    // network
    {"socket", C::network}, {"connect", C::network}, {"accept", C::network},
    {"sendto", C::network}, {"recvfrom", C::network}, {"sendmsg", C::network},
    {"recvmsg", C::network}, {"shutdown", C::network}, {"bind", C::network},
    {"listen", C::network}, {"getsockname", C::network}, {"getpeername", C::network},
    {"socketpair", C::network}, {"setsockopt", C::network}, {"getsockopt", C::network},
    {"accept4", C::network}, {"recvmmsg", C::network}, {"sendmmsg", C::network},
    // time: sleeping, clocks, timers
    {"nanosleep", C::time}, {"getitimer", C::time}, {"alarm", C::time},
    {"setitimer", C::time}, {"gettimeofday", C::time}, {"adjtimex", C::time},
    {"settimeofday", C::time}, {"time", C::time}, {"timer_create", C::time},
    {"timer_settime", C::time}, {"timer_gettime", C::time}, {"timer_getoverrun", C::time},
    {"timer_delete", C::time}, {"clock_settime", C::time}, {"clock_gettime", C::time},
    {"clock_getres", C::time}, {"clock_nanosleep", C::time}, {"timerfd_create", C::time},
    {"timerfd_settime", C::time}, {"timerfd_gettime", C::time}, {"clock_adjtime", C::time},
    // ipc: System V and POSIX IPC, futexes, pipes, eventfd
    {"pipe", C::ipc}, {"shmget", C::ipc}, {"shmat", C::ipc}, {"shmctl", C::ipc},
    {"semget", C::ipc}, {"semop", C::ipc}, {"semctl", C::ipc}, {"shmdt", C::ipc},
    {"msgget", C::ipc}, {"msgsnd", C::ipc}, {"msgrcv", C::ipc}, {"msgctl", C::ipc},
    {"futex", C::ipc}, {"semtimedop", C::ipc}, {"mq_open", C::ipc}, {"mq_unlink", C::ipc},
    {"mq_timedsend", C::ipc}, {"mq_timedreceive", C::ipc}, {"mq_notify", C::ipc},
    {"mq_getsetattr", C::ipc}, {"eventfd", C::ipc}, {"eventfd2", C::ipc}, {"pipe2", C::ipc},
    {"futex_waitv", C::ipc},
    // security: credentials, permissions, capabilities, sandboxing, keys
    {"chmod", C::security}, {"fchmod", C::security}, {"chown", C::security},
    {"fchown", C::security}, {"lchown", C::security}, {"umask", C::security},
    {"getuid", C::security}, {"getgid", C::security}, {"setuid", C::security},
    {"setgid", C::security}, {"geteuid", C::security}, {"getegid", C::security},
    {"setreuid", C::security}, {"setregid", C::security}, {"getgroups", C::security},
    {"setgroups", C::security}, {"setresuid", C::security}, {"getresuid", C::security},
    {"setresgid", C::security}, {"getresgid", C::security}, {"setfsuid", C::security},
    {"setfsgid", C::security}, {"capget", C::security}, {"capset", C::security},
    {"chroot", C::security}, {"add_key", C::security}, {"request_key", C::security},
    {"keyctl", C::security}, {"fchownat", C::security}, {"fchmodat", C::security},
    {"seccomp", C::security}, {"landlock_create_ruleset", C::security},
    {"landlock_add_rule", C::security}, {"landlock_restrict_self", C::security},
    // signal
    {"rt_sigaction", C::signal}, {"rt_sigprocmask", C::signal}, {"rt_sigreturn", C::signal},
    {"pause", C::signal}, {"kill", C::signal}, {"rt_sigpending", C::signal},
    {"rt_sigtimedwait", C::signal}, {"rt_sigqueueinfo", C::signal},
    {"rt_sigsuspend", C::signal}, {"sigaltstack", C::signal}, {"tkill", C::signal},
    {"restart_syscall", C::signal}, {"tgkill", C::signal}, {"signalfd", C::signal},
    {"signalfd4", C::signal}, {"rt_tgsigqueueinfo", C::signal},
    {"pidfd_send_signal", C::signal},
    // system: host-wide state, administration, kernel facilities
    {"uname", C::system}, {"syslog", C::system}, {"sysinfo", C::system},
    {"sysfs", C::system}, {"vhangup", C::system}, {"pivot_root", C::system},
    {"_sysctl", C::system}, {"acct", C::system}, {"mount", C::system},
    {"umount2", C::system}, {"swapon", C::system}, {"swapoff", C::system},
    {"reboot", C::system}, {"sethostname", C::system}, {"setdomainname", C::system},
    {"iopl", C::system}, {"ioperm", C::system}, {"init_module", C::system},
    {"delete_module", C::system}, {"quotactl", C::system}, {"lookup_dcookie", C::system},
    {"kexec_load", C::system}, {"perf_event_open", C::system}, {"finit_module", C::system},
    {"getrandom", C::system}, {"kexec_file_load", C::system}, {"bpf", C::system},
    {"open_tree", C::system}, {"move_mount", C::system}, {"fsopen", C::system},
    {"fsconfig", C::system}, {"fsmount", C::system}, {"fspick", C::system},
    {"mount_setattr", C::system}, {"quotactl_fd", C::system},
    // other: numbers reserved for calls Linux never implemented or removed
    {"uselib", C::other}, {"create_module", C::other}, {"get_kernel_syms", C::other},
    {"query_module", C::other}, {"nfsservctl", C::other}, {"getpmsg", C::other},
    {"putpmsg", C::other}, {"afs_syscall", C::other}, {"tuxcall", C::other},
    {"security", C::other}, {"epoll_ctl_old", C::other}, {"epoll_wait_old", C::other},
    {"vserver", C::other},
};

constexpr std::string_view kCategoryNames[] = {"file_io", "memory",   "process", "network",
                                               "time",    "ipc",      "security", "signal",
                                               "system",  "other"};

struct Index {
  std::vector<std::string_view> names;        // by number; empty: unknown
  std::vector<SyscallCategory> categories;    // by number
  std::unordered_map<std::string_view, long> numbers;
};

const Index& index() {
  static const Index built = [] {
    Index idx;
    long max_nr = 0;
    for (const auto& known : kKnown) max_nr = std::max(max_nr, known.nr);
    idx.names.resize(static_cast<std::size_t>(max_nr) + 1);
    idx.categories.resize(static_cast<std::size_t>(max_nr) + 1, SyscallCategory::other);
    std::unordered_map<std::string_view, SyscallCategory> by_name;
    for (const auto& row : kCategories) by_name.emplace(row.name, row.category);
    for (const auto& known : kKnown) {
      const auto at = static_cast<std::size_t>(known.nr);
      idx.names[at] = known.name;
      if (auto found = by_name.find(known.name); found != by_name.end()) {
        idx.categories[at] = found->second;
      }
      idx.numbers.emplace(known.name, known.nr);
    }
    return idx;
  }();
  return built;
}

}  // namespace

std::string_view to_string(SyscallCategory category) {
  return kCategoryNames[static_cast<std::size_t>(category)];
}

std::optional<SyscallCategory> parse_syscall_category(std::string_view text) {
  for (auto category : kAllSyscallCategories) {
    if (to_string(category) == text) return category;
  }
  return std::nullopt;
}

std::span<const SyscallName> known_syscalls() { return kKnown; }

std::span<const SyscallCategoryRow> syscall_category_table() { return kCategories; }

std::string syscall_name(long nr) {
  const auto& idx = index();
  if (nr >= 0 && static_cast<std::size_t>(nr) < idx.names.size() &&
      !idx.names[static_cast<std::size_t>(nr)].empty()) {
    return std::string(idx.names[static_cast<std::size_t>(nr)]);
  }
  return "syscall_" + std::to_string(nr);
}

std::optional<long> syscall_number(std::string_view name) {
  const auto& idx = index();
  // The row that collects numbers outside the table (syscall_name's -1).
  if (name == "out_of_range") return -1;
  if (auto found = idx.numbers.find(name); found != idx.numbers.end()) return found->second;
  constexpr std::string_view prefix = "syscall_";
  if (name.starts_with(prefix) && name.size() > prefix.size()) {
    long nr = 0;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    auto [end, ec] = std::from_chars(first, last, nr);
    if (ec == std::errc() && end == last && nr >= 0 && nr < kSyscallNrLimit) return nr;
  }
  return std::nullopt;
}

SyscallCategory syscall_category(long nr) {
  const auto& idx = index();
  if (nr >= 0 && static_cast<std::size_t>(nr) < idx.categories.size()) {
    return idx.categories[static_cast<std::size_t>(nr)];
  }
  return SyscallCategory::other;
}

}  // namespace bpfready

namespace bpfready {

namespace {
// What the kernel returns from a syscall only on its way to a signal
// handler or a restart (include/linux/errno.h: never seen by user space, so
// glibc has no name for them), and the other kernel-internal codes.
constexpr std::pair<int, std::string_view> kKernelErrnos[] = {
    {512, "ERESTARTSYS"},     {513, "ERESTARTNOINTR"}, {514, "ERESTARTNOHAND"},
    {515, "ENOIOCTLCMD"},     {516, "ERESTART_RESTARTBLOCK"}, {517, "EPROBE_DEFER"},
    {518, "EOPENSTALE"},      {519, "ENOPARAM"},       {521, "EBADHANDLE"},
    {522, "ENOTSYNC"},        {523, "EBADCOOKIE"},     {524, "ENOTSUPP"},
    {525, "ETOOSMALL"},       {526, "ESERVERFAULT"},   {527, "EBADTYPE"},
    {528, "EJUKEBOX"},        {529, "EIOCBQUEUED"},    {530, "ERECALLCONFLICT"},
    {531, "ENOGRACE"},
};
}  // namespace

std::string errno_name(int err) {
  if (const char* name = strerrorname_np(err)) return name;
  for (const auto& [number, name] : kKernelErrnos) {
    if (number == err) return std::string(name);
  }
  return "errno_" + std::to_string(err);
}

std::optional<int> errno_number(std::string_view name) {
  for (int err = 1; err <= kMaxErrno; ++err) {
    if (errno_name(err) == name) return err;
  }
  return std::nullopt;
}

}  // namespace bpfready
