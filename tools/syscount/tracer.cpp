#include "tools/syscount/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "libcheck/common/fd.h"
#include "libcheck/common/libbpf_log.h"
#include "libcheck/typed_load.h"
#include "syscount.h"
#include "syscount.skel.h"
#include "syscount_raw.skel.h"
#include "tools/syscount/tracer_loaded.h"

namespace bpfready {

namespace {

// The typed programs' tracepoints, and their kernel facts (the per-call
// programs are untyped: bpf/syscount.bpf.c).
Expected<TypedBtf> scan_typed_facts() {
  return TypedBtf::prepare({"sched_process_fork", "sched_process_exit"});
}

// Thread and process ids stay below pid_max (unless it is raised while
// syscount runs); the per-thread slots and the tracked table are sized to it.
__u32 pid_max() {
  __u32 value = SYSCOUNT_PID_LIMIT;
  if (FILE* file = std::fopen("/proc/sys/kernel/pid_max", "re")) {
    unsigned long read_value = 0;
    if (std::fscanf(file, "%lu", &read_value) == 1 && read_value > 0 &&
        read_value <= SYSCOUNT_PID_LIMIT) {
      value = static_cast<__u32>(read_value);
    }
    std::fclose(file);
  }
  return value;
}

// Which programs a run attaches. Every attached program costs every syscall
// on the host, so only what the options need.
struct Wanted {
  bool exit = false;
  bool fork = false;
  bool forget = false;
  bool exec = false;
  // Typed variant: forget through sched_process_exit's group_dead (the
  // untyped syscount_forget) rather than signal->live (syscount_gone).
  bool forget_by_group_dead = false;
};

Wanted wanted_programs(const TracerConfig& config) {
  const bool breakdown = config.by_process || config.by_thread;
  const bool exit_counts = config.errors || config.latency;
  Wanted wanted;
  wanted.forget = !config.system_wide;
  if (config.flavour == ProbeFlavour::raw_tp) {
    // Untyped: children are adopted at their first sys_exit, and an exec
    // by a non-leader thread moves its stashed call (syscount_raw.bpf.c).
    wanted.fork = !config.system_wide;
    wanted.exit = exit_counts || !config.system_wide;
    wanted.exec = breakdown || exit_counts || !config.system_wide;
  } else {
    // Typed: the fork hook also clears a new thread's in-flight slot.
    wanted.fork = !config.system_wide || exit_counts;
    wanted.exit = exit_counts;
    wanted.exec = breakdown;
  }
  return wanted;
}

// One variant's generated skeleton functions, under one set of names.
template <class Skel>
struct SkeletonOps;
template <>
struct SkeletonOps<syscount_bpf> {
  static syscount_bpf* open(const bpf_object_open_opts* opts) { return syscount_bpf__open_opts(opts); }
  static int load(syscount_bpf* skel) { return syscount_bpf__load(skel); }
  static void destroy(syscount_bpf* skel) { syscount_bpf__destroy(skel); }
};
template <>
struct SkeletonOps<syscount_raw_bpf> {
  static syscount_raw_bpf* open(const bpf_object_open_opts* opts) { return syscount_raw_bpf__open_opts(opts); }
  static int load(syscount_raw_bpf* skel) { return syscount_raw_bpf__load(skel); }
  static void destroy(syscount_raw_bpf* skel) { syscount_raw_bpf__destroy(skel); }
};

// The variant behind SyscountTracer::Loaded, owning its skeleton.
template <class Skel>
struct LoadedSkeleton final : SyscountTracer::Loaded {
  explicit LoadedSkeleton(Skel* opened) : skel(opened) {}
  ~LoadedSkeleton() override { SkeletonOps<Skel>::destroy(skel); }
  LoadedSkeleton(const LoadedSkeleton&) = delete;
  LoadedSkeleton& operator=(const LoadedSkeleton&) = delete;
  Skel* skel;
};

// Settings before load: the verifier then prunes what is switched off.
template <class Skel>
Expected<void> configure(Skel* skel, const TracerConfig& config) {
  const bool breakdown = config.by_process || config.by_thread;
  auto* settings = skel->rodata;
  settings->filter_tgids = config.system_wide ? 0 : 1;
  settings->breakdown = config.by_thread    ? SYSCOUNT_BREAKDOWN_THREAD
                        : config.by_process ? SYSCOUNT_BREAKDOWN_PROCESS
                                            : SYSCOUNT_BREAKDOWN_NONE;
  settings->want_errors = config.errors ? 1 : 0;
  settings->want_latency = config.latency ? 1 : 0;
  settings->filter_cgroup = config.cgroup_fd >= 0 ? 1 : 0;
  settings->execve_nr = SYS_execve;
  settings->execveat_nr = SYS_execveat;
  settings->exit_nr = SYS_exit;
  settings->exit_group_nr = SYS_exit_group;
  settings->rt_sigreturn_nr = SYS_rt_sigreturn;
  settings->only_errno = config.only_errno;
  // Known before load: syscount's own calls are never counted.
  settings->self_tgid = static_cast<__u32>(getpid());
  if (breakdown) {
    bpf_map__set_max_entries(skel->maps.by_task, config.map_entries);
    bpf_map__set_max_entries(skel->maps.comms, config.map_entries);
  }
  if (config.errors || config.latency) bpf_map__set_max_entries(skel->maps.inflight, pid_max());
  if (config.latency) bpf_map__set_max_entries(skel->maps.latency, SYSCOUNT_LAT_ROWS);
  if (config.errors) bpf_map__set_max_entries(skel->maps.errnos, SYSCOUNT_ERRNO_ENTRIES);
  return Ok{};
}

// The .bss map (the tracked-TGID table, the .bss's last variable), created
// here rather than by libbpf, at its real size: OFFSET bytes of other
// variables, then one byte per TGID below SLOTS (pid_max), where libbpf
// would make it as large as the object declares it (4 MiB, for the largest
// pid_max). Memory-mapped where the kernel can (5.5+); a new array map is
// already zero.
Expected<Fd> create_table(std::size_t offset, __u32 slots) {
  const auto size = static_cast<__u32>(offset + slots);
  LIBBPF_OPTS(bpf_map_create_opts, mmapable, .map_flags = BPF_F_MMAPABLE);
  Fd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "syscount.bss", sizeof(__u32), size, 1, &mmapable));
  if (fd.valid()) return fd;
  // Before 5.5: no memory-mapped arrays.
  fd = Fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "syscount.bss", sizeof(__u32), size, 1, nullptr));
  if (!fd.valid()) return SysError::from_errno(errno, "create the tracked-process table");
  return fd;
}

}  // namespace

class TablePrefetch {
 public:
  TablePrefetch(std::size_t offset, __u32 slots)
      : offset_(offset), slots_(slots),
        table_(std::async(std::launch::async, [offset, slots] { return create_table(offset, slots); })) {}
  // The table, if it was made for OFFSET and SLOTS (pid_max unchanged since);
  // nullopt otherwise, and the caller makes its own.
  std::optional<Expected<Fd>> take(std::size_t offset, __u32 slots) {
    if (!table_.valid()) return std::nullopt;
    Expected<Fd> made = table_.get();
    if (offset != offset_ || slots != slots_) return std::nullopt;
    return made;
  }

 private:
  std::size_t offset_;
  __u32 slots_;
  std::future<Expected<Fd>> table_;
};

namespace {

// Writes the targets' bytes into TABLE (made by create_table): each through
// a mapping of the one page that holds it, or, where the map cannot be
// mapped (before 5.5), through one update of the whole value. The program
// reads the table as a global variable: one load.
Expected<void> write_targets(int table, std::size_t offset, __u32 slots, const TracerConfig& config) {
  for (const auto& target : config.targets) {
    if (target.tgid <= 0 || static_cast<__u32>(target.tgid) >= slots) {
      return SysError::plain("PID " + std::to_string(target.tgid) + " is out of range (pid_max " +
                             std::to_string(slots) + ")");
    }
  }
  const auto state = [](const TrackedTarget& target) -> __u8 {
    return target.armed ? SYSCOUNT_ARMED : SYSCOUNT_TRACKED;
  };
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  bool mapped_all = true;
  for (const auto& target : config.targets) {
    const std::size_t at = offset + static_cast<std::size_t>(target.tgid);
    const std::size_t page_start = at - at % page;
    void* mapped = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, table,
                          static_cast<off_t>(page_start));
    if (mapped == MAP_FAILED) {
      mapped_all = false;
      break;
    }
    static_cast<__u8*>(mapped)[at - page_start] = state(target);
    ::munmap(mapped, page);
  }
  if (mapped_all) return Ok{};
  std::vector<__u8> image(offset + slots);
  for (const auto& target : config.targets) {
    image[offset + static_cast<std::size_t>(target.tgid)] = state(target);
  }
  const __u32 zero = 0;
  if (bpf_map_update_elem(table, &zero, image.data(), BPF_ANY) != 0) {
    return SysError::from_errno(errno, "fill the tracked-process table");
  }
  return Ok{};
}

// Hands the table to libbpf, which then neither creates nor fills its own,
// and keeps the skeleton from mapping it at load: a mapping of the whole
// table that nothing reads (skel->bss is not used after load).
template <class Skel>
Expected<void> use_table(Skel* skel, const TracerConfig& config) {
  using Bss = std::remove_reference_t<decltype(*skel->bss)>;
  static_assert(sizeof(Bss::tracked) == SYSCOUNT_PID_LIMIT);
  static_assert(offsetof(Bss, tracked) + sizeof(Bss::tracked) == sizeof(Bss),
                "the tracked table must be the .bss's last variable: the map is cut short");
  const std::size_t offset = offsetof(Bss, tracked);
  const __u32 slots = pid_max();
  skel->rodata->tgid_slots = slots;
  std::optional<Expected<Fd>> prefetched;
  if constexpr (std::is_same_v<Skel, syscount_bpf>) {
    if (config.table) prefetched = config.table->take(offset, slots);
  }
  auto table = prefetched ? std::move(*prefetched) : create_table(offset, slots);
  if (!table) return table.error();
  if (auto written = write_targets(table->get(), offset, slots, config); !written) return written.error();
  if (int err = bpf_map__reuse_fd(skel->maps.bss, table->get()); err != 0) {
    return SysError::from_errno(-err, "use the tracked-process table");
  }
  bpf_object_skeleton* skeleton = skel->skeleton;
  for (int i = 0; i < skeleton->map_cnt; ++i) {
    if (*skeleton->maps[i].map == skel->maps.bss) skeleton->maps[i].mmaped = nullptr;
  }
  return Ok{};
}

// The typed variant's two ways to forget a process (syscount.bpf.c).
template <class Skel>
bpf_program* forget_program(Skel* skel, const Wanted& wanted) {
  if constexpr (std::is_same_v<Skel, syscount_bpf>) {
    if (!wanted.forget_by_group_dead) return skel->progs.syscount_gone;
  }
  return skel->progs.syscount_forget;
}

template <class Skel>
void set_autoload(Skel* skel, const Wanted& wanted) {
  bpf_program__set_autoload(skel->progs.syscount_exit, wanted.exit);
  bpf_program__set_autoload(skel->progs.syscount_fork, wanted.fork);
  bpf_program__set_autoload(skel->progs.syscount_forget, false);
  if constexpr (std::is_same_v<Skel, syscount_bpf>) {
    bpf_program__set_autoload(skel->progs.syscount_gone, false);
  }
  bpf_program__set_autoload(forget_program(skel, wanted), wanted.forget);
  bpf_program__set_autoload(skel->progs.syscount_exec, wanted.exec);
}

template <class Skel>
Expected<void> attach_all(Skel* skel, const Wanted& wanted) {
  struct Step {
    bpf_program* program;
    bpf_link** link;
    bool wanted;
  };
  bpf_link** forget_link = &skel->links.syscount_forget;
  if constexpr (std::is_same_v<Skel, syscount_bpf>) {
    if (!wanted.forget_by_group_dead) forget_link = &skel->links.syscount_gone;
  }
  const Step steps[] = {
      {skel->progs.syscount_fork, &skel->links.syscount_fork, wanted.fork},
      {forget_program(skel, wanted), forget_link, wanted.forget},
      {skel->progs.syscount_exec, &skel->links.syscount_exec, wanted.exec},
      {skel->progs.syscount_exit, &skel->links.syscount_exit, wanted.exit},
      // Last, so the other programs are in place before the first count.
      {skel->progs.syscount_enter, &skel->links.syscount_enter, true},
  };
  for (const auto& step : steps) {
    if (!step.wanted) continue;
    *step.link = bpf_program__attach(step.program);
    if (!*step.link) {
      return SysError::from_errno(errno, std::string("attach ") + bpf_program__name(step.program));
    }
  }
  return Ok{};
}

// The typed variant's kernel facts, from a scan of the kernel BTF rather than
// libbpf's parse of all of it (typed_load.h); empty for the raw variant, or
// where the scan cannot be used (libbpf then parses it, as before).
template <class Skel>
std::optional<TypedBtf> typed_btf() {
  if constexpr (!std::is_same_v<Skel, syscount_bpf>) {
    return std::nullopt;
  } else {
    if (!install_typed_loader()) return std::nullopt;
    auto prepared = scan_typed_facts();
    if (!prepared) return std::nullopt;
    return std::optional<TypedBtf>(std::move(*prepared));
  }
}

template <class Skel>
Expected<std::unique_ptr<SyscountTracer::Loaded>> load_variant(const TracerConfig& config) {
  const std::optional<TypedBtf> kernel_facts = typed_btf<Skel>();  // kept until the load
  Skel* opened = SkeletonOps<Skel>::open(kernel_facts ? kernel_facts->open_opts() : nullptr);
  if (!opened) return SysError::from_errno(errno, "open the syscount BPF object");
  auto loaded = std::make_unique<LoadedSkeleton<Skel>>(opened);
  Skel* skel = loaded->skel;
  if (auto configured = configure(skel, config); !configured) return configured.error();
  if (auto table = use_table(skel, config); !table) return table.error();
  Wanted wanted = wanted_programs(config);
  // sched_process_exit's (task, group_dead), when the scan could tell.
  wanted.forget_by_group_dead =
      kernel_facts && kernel_facts->tracepoint_args("sched_process_exit").value_or(1) >= 2;
  set_autoload(skel, wanted);
  if (int err = SkeletonOps<Skel>::load(skel); err != 0) {
    return SysError::from_errno(-err, "load the syscount BPF programs");
  }
  if (config.cgroup_fd >= 0) {
    const __u32 zero = 0;
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_filter), &zero, &config.cgroup_fd,
                            BPF_ANY) != 0) {
      return SysError::from_errno(errno, "set the cgroup filter");
    }
  }
  if (auto attached = attach_all(skel, wanted); !attached) return attached.error();
  loaded->object = skel->obj;
  loaded->totals_fd = bpf_map__fd(skel->maps.totals);
  loaded->by_task_fd = bpf_map__fd(skel->maps.by_task);
  loaded->comms_fd = bpf_map__fd(skel->maps.comms);
  loaded->drops_fd = bpf_map__fd(skel->maps.drops);
  loaded->latency_fd = bpf_map__fd(skel->maps.latency);
  loaded->errnos_fd = bpf_map__fd(skel->maps.errnos);
  return std::unique_ptr<SyscountTracer::Loaded>(std::move(loaded));
}

}  // namespace

std::shared_ptr<TablePrefetch> prefetch_table(std::optional<ProbeFlavour> forced) {
  // Above 1 MiB: below, creating the table costs less than a thread.
  constexpr __u32 kLargeTable = 1U << 20;
  if (forced.value_or(ProbeFlavour::tp_btf) != ProbeFlavour::tp_btf) return nullptr;
  const __u32 slots = pid_max();
  if (slots <= kLargeTable) return nullptr;
  using Bss = std::remove_reference_t<decltype(*std::declval<syscount_bpf>().bss)>;
  try {
    return std::make_shared<TablePrefetch>(offsetof(Bss, tracked), slots);
  } catch (const std::system_error&) {
    return nullptr;  // no thread: the tracer creates the table itself
  }
}

const std::vector<std::string>& syscount_program_names() {
  static const std::vector<std::string> names = {"syscount_enter", "syscount_exit",
                                                 "syscount_fork", "syscount_forget",
                                                 "syscount_gone", "syscount_exec"};
  return names;
}

SyscountTracer::SyscountTracer(const TracerConfig& config) : config_(config) {}

Expected<std::unique_ptr<SyscountTracer>> SyscountTracer::start(const TracerConfig& config,
                                                                std::string& log) {
  if (config.flavour != ProbeFlavour::tp_btf && config.flavour != ProbeFlavour::raw_tp) {
    return SysError::plain("syscount has no " + std::string(to_string(config.flavour)) +
                           " programs");
  }
  const LibbpfLogCapture capture(log, config.libbpf_debug);
  auto loaded = config.flavour == ProbeFlavour::raw_tp ? load_variant<syscount_raw_bpf>(config)
                                                       : load_variant<syscount_bpf>(config);
  if (!loaded) return loaded.error();
  std::unique_ptr<SyscountTracer> tracer(new SyscountTracer(config));
  tracer->loaded_ = std::move(*loaded);
  return tracer;
}

SyscountTracer::~SyscountTracer() { stop(); }

void SyscountTracer::stop() { loaded_.reset(); }

}  // namespace bpfready
