// Reading syscount's counters. Every bpf() call that fails is an error of
// the read: a counter that could not be read must never show as zero (older
// kernels refuse map reads without CAP_BPF, see tools/syscount/privs.h).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "syscount.h"
#include "tools/syscount/tracer.h"
#include "tools/syscount/tracer_loaded.h"

namespace bpfready {

static_assert(kSyscallNrLimit == SYSCOUNT_SLOT_OUT_OF_RANGE,
              "syscall numbers counted by name are the counters' slots");

namespace {

long slot_to_nr(__u32 slot) {
  return slot == SYSCOUNT_SLOT_OUT_OF_RANGE ? kSyscallOutOfRange : static_cast<long>(slot);
}

SyscallStat sum_cpus(const syscount_stat* values, int cpus) {
  SyscallStat out;
  for (int cpu = 0; cpu < cpus; ++cpu) {
    out.count += values[cpu].count;
    out.errors += values[cpu].errors;
    out.total_ns += values[cpu].total_ns;
    out.timed += values[cpu].timed;
  }
  return out;
}

SysError read_error(const char* what) {
  return SysError::from_errno(errno, std::string("cannot read the ") + what);
}

void keep_if_counted(SyscountSample& sample, __u32 slot, const SyscallStat& stat) {
  if (stat.count || stat.errors || stat.timed) sample.totals[slot_to_nr(slot)] = stat;
}

// All slots in one batch call (one syscall rather than a thousand, which
// matters in -a mode, where syscount's own calls are counted too); one call
// per slot where the kernel has no batch lookup (before 5.6).
Expected<void> read_totals(int fd, int cpus, SyscountSample& sample) {
  const auto per_slot = static_cast<std::size_t>(cpus);
  std::vector<__u32> keys(SYSCOUNT_NR_SLOTS);
  std::vector<syscount_stat> all(SYSCOUNT_NR_SLOTS * per_slot);
  __u32 count = SYSCOUNT_NR_SLOTS;
  __u32 out_batch = 0;
  const int batch =
      bpf_map_lookup_batch(fd, nullptr, &out_batch, keys.data(), all.data(), &count, nullptr);
  if ((batch == 0 || errno == ENOENT) && count == SYSCOUNT_NR_SLOTS) {
    for (__u32 i = 0; i < count; ++i) keep_if_counted(sample, keys[i], sum_cpus(&all[i * per_slot], cpus));
    return Ok{};
  }
  // EPERM is not "no batch lookup": the per-slot reads would fail alike.
  if (errno == EPERM || errno == EACCES) return read_error("syscall counters");
  for (__u32 slot = 0; slot < SYSCOUNT_NR_SLOTS; ++slot) {
    if (bpf_map_lookup_elem(fd, &slot, all.data()) != 0) return read_error("syscall counters");
    keep_if_counted(sample, slot, sum_cpus(all.data(), cpus));
  }
  return Ok{};
}

Expected<void> read_drops(int fd, int cpus, Dropped& dropped) {
  std::vector<__u64> values(static_cast<std::size_t>(cpus));
  std::uint64_t sums[SYSCOUNT_DROP_COUNT] = {};
  for (__u32 what = 0; what < SYSCOUNT_DROP_COUNT; ++what) {
    if (bpf_map_lookup_elem(fd, &what, values.data()) != 0) return read_error("drop counters");
    for (auto value : values) sums[what] += value;
  }
  dropped.breakdown = sums[SYSCOUNT_DROP_BREAKDOWN];
  dropped.names = sums[SYSCOUNT_DROP_COMM];
  dropped.latency = sums[SYSCOUNT_DROP_LATENCY];
  dropped.children = sums[SYSCOUNT_DROP_FOLLOW];
  return Ok{};
}

// Walks a hash map: VISIT(key) for every key. The end of the map is ENOENT;
// any other failure is an error.
template <class Key, class Visit>
Expected<void> for_each_key(int fd, const char* what, Visit visit) {
  Key key{};
  Key next{};
  const Key* previous = nullptr;
  while (bpf_map_get_next_key(fd, previous, &next) == 0) {
    key = next;
    previous = &key;
    if (auto visited = visit(key); !visited) return visited;
  }
  if (errno != ENOENT) return read_error(what);
  return Ok{};
}

Expected<void> read_breakdown(int task_fd, int comm_fd, int cpus, SyscountSample& sample) {
  std::vector<syscount_stat> values(static_cast<std::size_t>(cpus));
  auto tasks = for_each_key<syscount_key>(task_fd, "per-task counters", [&](const syscount_key& key) -> Expected<void> {
    if (bpf_map_lookup_elem(task_fd, &key, values.data()) != 0) return read_error("per-task counters");
    sample.by_task[TaskId{key.tgid, key.tid}][slot_to_nr(key.nr)] = sum_cpus(values.data(), cpus);
    return Ok{};
  });
  if (!tasks) return tasks;
  return for_each_key<__u32>(comm_fd, "process names", [&](__u32 id) -> Expected<void> {
    syscount_comm comm{};
    if (bpf_map_lookup_elem(comm_fd, &id, &comm) != 0) return read_error("process names");
    sample.names[id] = std::string(comm.comm, strnlen(comm.comm, sizeof comm.comm));
    return Ok{};
  });
}

}  // namespace

Expected<SyscountSample> SyscountTracer::read() const {
  if (!loaded_) return SysError::plain("the programs are no longer loaded");
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return SysError::from_errno(-cpus, "cannot count the possible CPUs");
  SyscountSample sample;
  if (auto totals = read_totals(loaded_->totals_fd, cpus, sample); !totals) return totals.error();
  if (auto drops = read_drops(loaded_->drops_fd, cpus, sample.dropped); !drops) return drops.error();
  auto infos = program_infos();
  if (!infos) return infos.error();
  for (const auto& info : *infos) sample.dropped.recursion_misses += info.recursion_misses;
  if (config_.by_process || config_.by_thread) {
    auto breakdown = read_breakdown(loaded_->by_task_fd, loaded_->comms_fd, cpus, sample);
    if (!breakdown) return breakdown.error();
  }
  return sample;
}

Expected<std::vector<bpf_prog_info>> SyscountTracer::program_infos() const {
  std::vector<bpf_prog_info> infos;
  bpf_program* program = nullptr;
  bpf_object__for_each_program(program, loaded_->object) {
    const int fd = bpf_program__fd(program);
    if (fd < 0) continue;  // not loaded in this configuration
    bpf_prog_info info{};
    __u32 length = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0) return read_error("program statistics");
    infos.push_back(info);
  }
  return infos;
}

}  // namespace bpfready
