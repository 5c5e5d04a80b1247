#include "tools/syscount/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "libcheck/common/libbpf_log.h"
#include "syscount.h"
#include "syscount.skel.h"

namespace bpfready {

static_assert(kSyscallNrLimit == SYSCOUNT_SLOT_OUT_OF_RANGE,
              "syscall numbers counted by name are the counters' slots");

namespace {

long slot_to_nr(__u32 slot) {
  return slot == SYSCOUNT_SLOT_OUT_OF_RANGE ? kSyscallOutOfRange : static_cast<long>(slot);
}

SyscallStat sum_cpus(const std::vector<syscount_stat>& values) {
  SyscallStat out;
  for (const auto& value : values) {
    out.count += value.count;
    out.errors += value.errors;
    out.total_ns += value.total_ns;
    out.timed += value.timed;
  }
  return out;
}

// Thread ids stay below pid_max; the latency slots are sized to it.
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

}  // namespace

const std::vector<std::string>& syscount_program_names() {
  static const std::vector<std::string> names = {"syscount_enter", "syscount_exit",
                                                 "syscount_fork", "syscount_forget",
                                                 "syscount_exec"};
  return names;
}

Expected<std::unique_ptr<SyscountTracer>> SyscountTracer::start(const TracerConfig& config,
                                                                std::string& log) {
  const LibbpfLogCapture capture(log, /*with_debug=*/false);
  std::unique_ptr<SyscountTracer> tracer(new SyscountTracer(config));
  auto* skel = syscount_bpf__open();
  if (!skel) return SysError::from_errno(errno, "open the syscount BPF object");
  tracer->skel_ = skel;

  const bool breakdown = config.by_process || config.by_thread;
  skel->rodata->filter_tgids = config.system_wide ? 0 : 1;
  skel->rodata->breakdown = config.by_thread    ? SYSCOUNT_BREAKDOWN_THREAD
                            : config.by_process ? SYSCOUNT_BREAKDOWN_PROCESS
                                                : SYSCOUNT_BREAKDOWN_NONE;
  skel->rodata->want_errors = config.errors ? 1 : 0;
  skel->rodata->want_latency = config.latency ? 1 : 0;
  skel->rodata->execve_nr = SYS_execve;
  skel->rodata->execveat_nr = SYS_execveat;

  // Attach only what was asked for: every attached program costs every
  // syscall on the host.
  bpf_program__set_autoload(skel->progs.syscount_exit, config.errors || config.latency);
  const bool follow = !config.system_wide || config.latency;
  bpf_program__set_autoload(skel->progs.syscount_fork, follow);
  bpf_program__set_autoload(skel->progs.syscount_forget, !config.system_wide);
  bpf_program__set_autoload(skel->progs.syscount_exec, breakdown);
  if (breakdown) {
    bpf_map__set_max_entries(skel->maps.by_task, config.map_entries);
    bpf_map__set_max_entries(skel->maps.comms, config.map_entries);
  }
  if (config.latency) bpf_map__set_max_entries(skel->maps.starts, pid_max());

  if (int err = syscount_bpf__load(skel); err != 0) {
    return SysError::from_errno(-err, "load the syscount BPF programs");
  }
  struct Attach {
    bpf_program* program;
    bpf_link** link;
    bool wanted;
  };
  const Attach attach[] = {
      {skel->progs.syscount_fork, &skel->links.syscount_fork, follow},
      {skel->progs.syscount_forget, &skel->links.syscount_forget, !config.system_wide},
      {skel->progs.syscount_exec, &skel->links.syscount_exec, breakdown},
      {skel->progs.syscount_exit, &skel->links.syscount_exit, config.errors || config.latency},
      // Last, so the other programs are in place before the first count.
      {skel->progs.syscount_enter, &skel->links.syscount_enter, true},
  };
  for (const auto& step : attach) {
    if (!step.wanted) continue;
    *step.link = bpf_program__attach(step.program);
    if (!*step.link) {
      return SysError::from_errno(errno, std::string("attach ") + bpf_program__name(step.program));
    }
  }
  return tracer;
}

SyscountTracer::~SyscountTracer() { stop(); }

void SyscountTracer::stop() {
  if (skel_) {
    syscount_bpf__destroy(skel_);
    skel_ = nullptr;
  }
}

Expected<void> SyscountTracer::track(pid_t tgid, bool armed) {
  if (!skel_) return SysError::plain("tracer stopped");
  if (tgid <= 0 || static_cast<__u32>(tgid) >= SYSCOUNT_PID_LIMIT) {
    return SysError::plain("PID " + std::to_string(tgid) + " out of range");
  }
  // The .bss is memory-mapped: a plain store is visible to the programs.
  __atomic_store_n(&skel_->bss->tracked[tgid],
                   static_cast<__u8>(armed ? SYSCOUNT_ARMED : SYSCOUNT_TRACKED), __ATOMIC_SEQ_CST);
  return Ok{};
}

SyscountSample SyscountTracer::read() const {
  SyscountSample sample;
  if (!skel_) return sample;
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return sample;
  std::vector<syscount_stat> values(static_cast<std::size_t>(cpus));

  // All slots in one batch call (one syscall rather than a thousand, which
  // matters in -a mode, where syscount's own calls are counted too).
  const int totals_fd = bpf_map__fd(skel_->maps.totals);
  std::vector<__u32> keys(SYSCOUNT_NR_SLOTS);
  std::vector<syscount_stat> all(static_cast<std::size_t>(SYSCOUNT_NR_SLOTS) *
                                 static_cast<std::size_t>(cpus));
  __u32 batch_count = SYSCOUNT_NR_SLOTS;
  __u32 out_batch = 0;
  const int batch = bpf_map_lookup_batch(totals_fd, nullptr, &out_batch, keys.data(), all.data(),
                                         &batch_count, nullptr);
  if ((batch == 0 || errno == ENOENT) && batch_count == SYSCOUNT_NR_SLOTS) {
    for (__u32 i = 0; i < batch_count; ++i) {
      std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(i) * cpus, cpus, values.begin());
      SyscallStat stat = sum_cpus(values);
      if (stat.count || stat.errors || stat.timed) sample.totals[slot_to_nr(keys[i])] = stat;
    }
  } else {
    for (__u32 slot = 0; slot < SYSCOUNT_NR_SLOTS; ++slot) {
      if (bpf_map_lookup_elem(totals_fd, &slot, values.data()) != 0) continue;
      SyscallStat stat = sum_cpus(values);
      if (stat.count || stat.errors || stat.timed) sample.totals[slot_to_nr(slot)] = stat;
    }
  }

  std::vector<__u64> drop_values(static_cast<std::size_t>(cpus));
  const int drops_fd = bpf_map__fd(skel_->maps.drops);
  auto drop_sum = [&](__u32 what) {
    std::uint64_t sum = 0;
    if (bpf_map_lookup_elem(drops_fd, &what, drop_values.data()) == 0) {
      for (auto value : drop_values) sum += value;
    }
    return sum;
  };
  sample.dropped.breakdown = drop_sum(SYSCOUNT_DROP_BREAKDOWN);
  sample.dropped.names = drop_sum(SYSCOUNT_DROP_COMM);
  sample.dropped.latency = drop_sum(SYSCOUNT_DROP_LATENCY);
  for (const auto& info : program_infos()) sample.dropped.recursion_misses += info.recursion_misses;

  if (config_.by_process || config_.by_thread) {
    const int task_fd = bpf_map__fd(skel_->maps.by_task);
    syscount_key key{};
    syscount_key next{};
    const syscount_key* previous = nullptr;
    while (bpf_map_get_next_key(task_fd, previous, &next) == 0) {
      key = next;
      previous = &key;
      if (bpf_map_lookup_elem(task_fd, &key, values.data()) != 0) continue;
      sample.by_task[TaskId{key.tgid, key.tid}][slot_to_nr(key.nr)] = sum_cpus(values);
    }
    const int comm_fd = bpf_map__fd(skel_->maps.comms);
    __u32 id = 0;
    __u32 next_id = 0;
    const __u32* previous_id = nullptr;
    while (bpf_map_get_next_key(comm_fd, previous_id, &next_id) == 0) {
      id = next_id;
      previous_id = &id;
      syscount_comm comm{};
      if (bpf_map_lookup_elem(comm_fd, &id, &comm) != 0) continue;
      sample.names[id] = std::string(comm.comm, strnlen(comm.comm, sizeof comm.comm));
    }
  }
  return sample;
}

std::vector<bpf_prog_info> SyscountTracer::program_infos() const {
  std::vector<bpf_prog_info> infos;
  if (!skel_) return infos;
  bpf_program* program = nullptr;
  bpf_object__for_each_program(program, skel_->obj) {
    const int fd = bpf_program__fd(program);
    if (fd < 0) continue;  // not loaded in this configuration
    bpf_prog_info info{};
    __u32 length = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &length) == 0) infos.push_back(info);
  }
  return infos;
}

}  // namespace bpfready
