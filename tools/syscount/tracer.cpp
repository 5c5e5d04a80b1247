#include "tools/syscount/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

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
  if (FILE *file = std::fopen("/proc/sys/kernel/pid_max", "re")) {
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
  // The entry program compiled for the default mode (syscount_tally) rather
  // than the one that reads the settings (syscount_enter).
  bool tally = false;
  bool exit = false;
  bool fork = false;
  bool forget = false;
  bool exec = false;
  // Typed variant: forget through sched_process_exit's group_dead (the
  // untyped syscount_forget) rather than signal->live (syscount_gone).
  bool forget_by_group_dead = false;
};

Wanted wanted_programs(const TracerConfig &config) {
  const bool breakdown = config.by_process || config.by_thread;
  const bool exit_counts = config.errors || config.latency;
  Wanted wanted;
  wanted.tally =
      !config.system_wide && !breakdown && !exit_counts && config.cgroup_fd < 0;
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
template <class Skel> struct SkeletonOps;
template <> struct SkeletonOps<syscount_bpf> {
  static syscount_bpf *open(const bpf_object_open_opts *opts) {
    return syscount_bpf__open_opts(opts);
  }
  static int load(syscount_bpf *skel) { return syscount_bpf__load(skel); }
  static void destroy(syscount_bpf *skel) { syscount_bpf__destroy(skel); }
};
template <> struct SkeletonOps<syscount_raw_bpf> {
  static syscount_raw_bpf *open(const bpf_object_open_opts *opts) {
    return syscount_raw_bpf__open_opts(opts);
  }
  static int load(syscount_raw_bpf *skel) {
    return syscount_raw_bpf__load(skel);
  }
  static void destroy(syscount_raw_bpf *skel) {
    syscount_raw_bpf__destroy(skel);
  }
};

// The variant behind SyscountTracer::Loaded, owning its skeleton.
template <class Skel> struct LoadedSkeleton final : SyscountTracer::Loaded {
  explicit LoadedSkeleton(Skel *opened) : skel(opened) {}
  ~LoadedSkeleton() override { SkeletonOps<Skel>::destroy(skel); }
  LoadedSkeleton(const LoadedSkeleton &) = delete;
  LoadedSkeleton &operator=(const LoadedSkeleton &) = delete;
  Skel *skel;
};

// Settings before load: the verifier then prunes what is switched off.
template <class Skel>
Expected<void> configure(Skel *skel, const TracerConfig &config) {
  const bool breakdown = config.by_process || config.by_thread;
  auto *settings = skel->rodata;
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
  if (config.errors || config.latency)
    bpf_map__set_max_entries(skel->maps.inflight, pid_max());
  if (config.latency)
    bpf_map__set_max_entries(skel->maps.latency, SYSCOUNT_LAT_ROWS);
  if (config.errors)
    bpf_map__set_max_entries(skel->maps.errnos, SYSCOUNT_ERRNO_ENTRIES);
  return Ok{};
}

// The .bss map (the tracked-TGID table is the .bss's last variable),
// created here rather than by libbpf, at SIZE bytes: the variables before
// the table, then the table for pid_max TGIDs, where libbpf would make it
// as large as the object declares it (for the largest pid_max).
// Memory-mapped where the kernel can (5.5+); a new array map is already
// zero.
Expected<Fd> create_table(std::size_t size) {
  const auto value_size = static_cast<__u32>(size);
  LIBBPF_OPTS(bpf_map_create_opts, mmapable, .map_flags = BPF_F_MMAPABLE);
  Fd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "syscount.bss", sizeof(__u32),
                       value_size, 1, &mmapable));
  if (fd.valid())
    return fd;
  // Before 5.5: no memory-mapped arrays.
  fd = Fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "syscount.bss", sizeof(__u32),
                         value_size, 1, nullptr));
  if (!fd.valid())
    return SysError::from_errno(errno, "create the tracked-process table");
  return fd;
}

// Bits OR-ed into the zeroed .bss map at byte AT: one byte, or one aligned
// 32-bit word in the host's byte order (as the program reads it).
struct TablePatch {
  std::size_t at = 0;
  __u32 bits = 0;
  bool word = false;
};

void apply_patch(unsigned char *place, const TablePatch &patch) {
  if (!patch.word) {
    *place = static_cast<unsigned char>(*place | patch.bits);
    return;
  }
  __u32 value = 0;
  std::memcpy(&value, place, sizeof(value));
  value |= patch.bits;
  std::memcpy(place, &value, sizeof(value));
}

// Where each variant keeps its targets (bpf/syscount.bpf.c,
// bpf/syscount_raw.bpf.c): the size of its .bss map for SLOTS TGIDs, and
// the patches that mark the targets.
template <class Skel> struct TableLayout {
  using Bss = std::remove_reference_t<decltype(*std::declval<Skel>().bss)>;
  static constexpr std::size_t offset = offsetof(Bss, tracked);
  static_assert(offset + sizeof(Bss::tracked) == sizeof(Bss),
                "the tracked table must be the .bss's last variable: the map "
                "is cut short");
  static constexpr bool bits = std::is_same_v<Skel, syscount_bpf>;
  static_assert(sizeof(Bss::tracked) ==
                (bits ? SYSCOUNT_PID_LIMIT / 8 : SYSCOUNT_PID_LIMIT));
  static_assert(!bits || offset % sizeof(__u32) == 0);

  static std::size_t size(__u32 slots) {
    return offset +
           (bits ? (static_cast<std::size_t>(slots) + 31) / 32 * sizeof(__u32)
                 : slots);
  }

  static Expected<std::vector<TablePatch>> patches(const TracerConfig &config) {
    std::vector<TablePatch> out;
    bool armed_seen = false;
    for (const auto &target : config.targets) {
      const auto tgid = static_cast<std::size_t>(target.tgid);
      if constexpr (bits) {
        if (target.armed) {
          if (armed_seen)
            return SysError::plain("only one command can wait for its execve");
          armed_seen = true;
          out.push_back({offsetof(Bss, armed_tgid),
                         static_cast<__u32>(target.tgid), true});
          continue;
        }
        out.push_back(
            {offset + tgid / 32 * sizeof(__u32), 1U << (tgid % 32), true});
      } else {
        out.push_back({offset + tgid,
                       target.armed ? SYSCOUNT_ARMED : SYSCOUNT_TRACKED,
                       false});
      }
    }
    return out;
  }
};

// Marks the targets in TABLE (made by create_table at SIZE bytes): each
// through a mapping of the one page that holds it, or, where the map cannot
// be mapped (before 5.5), through one update of the whole value. The
// programs read the table as a global variable: one load.
Expected<void> write_targets(int table, std::size_t size,
                             const std::vector<TablePatch> &patches) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  bool mapped_all = true;
  for (const auto &patch : patches) {
    const std::size_t page_start = patch.at - patch.at % page;
    void *mapped = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED,
                          table, static_cast<off_t>(page_start));
    if (mapped == MAP_FAILED) {
      mapped_all = false;
      break;
    }
    apply_patch(static_cast<unsigned char *>(mapped) + (patch.at - page_start),
                patch);
    ::munmap(mapped, page);
  }
  if (mapped_all)
    return Ok{};
  std::vector<unsigned char> image(size);
  for (const auto &patch : patches)
    apply_patch(image.data() + patch.at, patch);
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
Expected<void> use_table(Skel *skel, const TracerConfig &config) {
  using Layout = TableLayout<Skel>;
  const __u32 slots = pid_max();
  for (const auto &target : config.targets) {
    if (target.tgid <= 0 || static_cast<__u32>(target.tgid) >= slots) {
      return SysError::plain("PID " + std::to_string(target.tgid) +
                             " is out of range (pid_max " +
                             std::to_string(slots) + ")");
    }
  }
  auto patches = Layout::patches(config);
  if (!patches)
    return patches.error();
  skel->rodata->tgid_slots = slots;
  auto table = create_table(Layout::size(slots));
  if (!table)
    return table.error();
  if (auto written = write_targets(table->get(), Layout::size(slots), *patches);
      !written) {
    return written.error();
  }
  if (int err = bpf_map__reuse_fd(skel->maps.bss, table->get()); err != 0) {
    return SysError::from_errno(-err, "use the tracked-process table");
  }
  bpf_object_skeleton *skeleton = skel->skeleton;
  for (int i = 0; i < skeleton->map_cnt; ++i) {
    if (*skeleton->maps[i].map == skel->maps.bss)
      skeleton->maps[i].mmaped = nullptr;
  }
  return Ok{};
}

// The typed variant's two ways to forget a process (syscount.bpf.c).
template <class Skel>
bpf_program *forget_program(Skel *skel, const Wanted &wanted) {
  if constexpr (std::is_same_v<Skel, syscount_bpf>) {
    if (!wanted.forget_by_group_dead)
      return skel->progs.syscount_gone;
  }
  return skel->progs.syscount_forget;
}

template <class Skel> void set_autoload(Skel *skel, const Wanted &wanted) {
  bpf_program__set_autoload(skel->progs.syscount_enter, !wanted.tally);
  bpf_program__set_autoload(skel->progs.syscount_tally, wanted.tally);
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
Expected<void> attach_all(Skel *skel, const Wanted &wanted) {
  struct Step {
    bpf_program *program;
    bpf_link **link;
    bool wanted;
  };
  bpf_link **forget_link = &skel->links.syscount_forget;
  if constexpr (std::is_same_v<Skel, syscount_bpf>) {
    if (!wanted.forget_by_group_dead)
      forget_link = &skel->links.syscount_gone;
  }
  const Step steps[] = {
      {skel->progs.syscount_fork, &skel->links.syscount_fork, wanted.fork},
      {forget_program(skel, wanted), forget_link, wanted.forget},
      {skel->progs.syscount_exec, &skel->links.syscount_exec, wanted.exec},
      {skel->progs.syscount_exit, &skel->links.syscount_exit, wanted.exit},
      // Last, so the other programs are in place before the first count.
      {skel->progs.syscount_enter, &skel->links.syscount_enter, !wanted.tally},
      {skel->progs.syscount_tally, &skel->links.syscount_tally, wanted.tally},
  };
  for (const auto &step : steps) {
    if (!step.wanted)
      continue;
    *step.link = bpf_program__attach(step.program);
    if (!*step.link) {
      return SysError::from_errno(errno, std::string("attach ") +
                                             bpf_program__name(step.program));
    }
  }
  return Ok{};
}

// The typed variant's kernel facts, from a scan of the kernel BTF rather than
// libbpf's parse of all of it (typed_load.h); empty for the raw variant, or
// where the scan cannot be used (libbpf then parses it, as before).
template <class Skel> std::optional<TypedBtf> typed_btf() {
  if constexpr (!std::is_same_v<Skel, syscount_bpf>) {
    return std::nullopt;
  } else {
    if (!install_typed_loader())
      return std::nullopt;
    auto prepared = scan_typed_facts();
    if (!prepared)
      return std::nullopt;
    return std::optional<TypedBtf>(std::move(*prepared));
  }
}

template <class Skel>
Expected<std::unique_ptr<SyscountTracer::Loaded>>
load_variant(const TracerConfig &config) {
  const std::optional<TypedBtf> kernel_facts =
      typed_btf<Skel>(); // kept until the load
  Skel *opened = SkeletonOps<Skel>::open(
      kernel_facts ? kernel_facts->open_opts() : nullptr);
  if (!opened)
    return SysError::from_errno(errno, "open the syscount BPF object");
  auto loaded = std::make_unique<LoadedSkeleton<Skel>>(opened);
  Skel *skel = loaded->skel;
  if (auto configured = configure(skel, config); !configured)
    return configured.error();
  if (auto table = use_table(skel, config); !table)
    return table.error();
  Wanted wanted = wanted_programs(config);
  // sched_process_exit's (task, group_dead), when the scan could tell.
  wanted.forget_by_group_dead =
      kernel_facts &&
      kernel_facts->tracepoint_args("sched_process_exit").value_or(1) >= 2;
  set_autoload(skel, wanted);
  if (int err = SkeletonOps<Skel>::load(skel); err != 0) {
    return SysError::from_errno(-err, "load the syscount BPF programs");
  }
  if (config.cgroup_fd >= 0) {
    const __u32 zero = 0;
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_filter), &zero,
                            &config.cgroup_fd, BPF_ANY) != 0) {
      return SysError::from_errno(errno, "set the cgroup filter");
    }
  }
  if (auto attached = attach_all(skel, wanted); !attached)
    return attached.error();
  loaded->object = skel->obj;
  loaded->totals_fd = bpf_map__fd(skel->maps.totals);
  loaded->by_task_fd = bpf_map__fd(skel->maps.by_task);
  loaded->comms_fd = bpf_map__fd(skel->maps.comms);
  loaded->drops_fd = bpf_map__fd(skel->maps.drops);
  loaded->latency_fd = bpf_map__fd(skel->maps.latency);
  loaded->errnos_fd = bpf_map__fd(skel->maps.errnos);
  return std::unique_ptr<SyscountTracer::Loaded>(std::move(loaded));
}

} // namespace

const std::vector<std::string> &syscount_program_names() {
  static const std::vector<std::string> names = {
      "syscount_enter",  "syscount_tally", "syscount_exit", "syscount_fork",
      "syscount_forget", "syscount_gone",  "syscount_exec"};
  return names;
}

SyscountTracer::SyscountTracer(const TracerConfig &config) : config_(config) {}

Expected<std::unique_ptr<SyscountTracer>>
SyscountTracer::start(const TracerConfig &config, std::string &log) {
  if (config.flavour != ProbeFlavour::tp_btf &&
      config.flavour != ProbeFlavour::raw_tp) {
    return SysError::plain("syscount has no " +
                           std::string(to_string(config.flavour)) +
                           " programs");
  }
  const LibbpfLogCapture capture(log, config.libbpf_debug);
  auto loaded = config.flavour == ProbeFlavour::raw_tp
                    ? load_variant<syscount_raw_bpf>(config)
                    : load_variant<syscount_bpf>(config);
  if (!loaded)
    return loaded.error();
  std::unique_ptr<SyscountTracer> tracer(new SyscountTracer(config));
  tracer->loaded_ = std::move(*loaded);
  return tracer;
}

SyscountTracer::~SyscountTracer() { stop(); }

void SyscountTracer::stop() { loaded_.reset(); }

} // namespace bpfready
