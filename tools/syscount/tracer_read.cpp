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

// Every slot's counters are the one value of the map, per CPU: one call.
Expected<void> read_totals(int fd, int cpus, SyscountSample& sample) {
  static_assert(sizeof(syscount_totals) == SYSCOUNT_NR_SLOTS * sizeof(syscount_stat));
  std::vector<syscount_totals> per_cpu(static_cast<std::size_t>(cpus));
  const __u32 key = 0;
  if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) != 0) return read_error("syscall counters");
  std::vector<syscount_stat> slot_per_cpu(per_cpu.size());
  for (__u32 slot = 0; slot < SYSCOUNT_NR_SLOTS; ++slot) {
    for (std::size_t cpu = 0; cpu < per_cpu.size(); ++cpu) slot_per_cpu[cpu] = per_cpu[cpu].slot[slot];
    keep_if_counted(sample, slot, sum_cpus(slot_per_cpu.data(), cpus));
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
  dropped.errnos = sums[SYSCOUNT_DROP_ERRNO];
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

// With a breakdown, the kernel counts a call in the totals only when the
// breakdown could not take it: the totals are what the breakdown read holds
// plus those, so both come from the same values and sum exactly.
void add_breakdown_to_totals(SyscountSample& sample) {
  for (const auto& [task, stats] : sample.by_task) {
    for (const auto& [nr, stat] : stats) sample.totals[nr] += stat;
  }
}

// The histogram row of syscall NR (bpf/syscount.h, SYSCOUNT_LAT_ROWS).
__u32 latency_row(long nr) {
  const long last = SYSCOUNT_LAT_ROWS - 1;
  return static_cast<__u32>(nr >= 0 && nr < last ? nr : last);
}

// Only the rows of syscalls that were timed: a read per such syscall.
Expected<void> read_latency(int fd, int cpus, SyscountSample& sample) {
  static_assert(kLatencyBuckets == SYSCOUNT_LAT_BUCKETS, "the kernel's buckets");
  std::vector<syscount_latency> values(static_cast<std::size_t>(cpus));
  for (const auto& [nr, stat] : sample.totals) {
    if (stat.timed == 0) continue;
    const __u32 row = latency_row(nr);
    if (bpf_map_lookup_elem(fd, &row, values.data()) != 0) return read_error("latency histograms");
    LatencyHistogram hist;
    std::uint64_t min_inv = 0;
    for (const auto& value : values) {
      min_inv = std::max<std::uint64_t>(min_inv, value.min_inv);
      hist.max = std::max<std::uint64_t>(hist.max, value.max);
      for (std::size_t i = 0; i < kLatencyBuckets; ++i) hist.buckets[i] += value.buckets[i];
    }
    hist.min = min_inv ? ~min_inv : 0;
    sample.latency[nr] = hist;
  }
  return Ok{};
}

Expected<void> read_errnos(int fd, int cpus, SyscountSample& sample) {
  std::vector<__u64> values(static_cast<std::size_t>(cpus));
  return for_each_key<syscount_errno_key>(fd, "errno counters", [&](const syscount_errno_key& key) -> Expected<void> {
    if (bpf_map_lookup_elem(fd, &key, values.data()) != 0) return read_error("errno counters");
    std::uint64_t sum = 0;
    for (auto value : values) sum += value;
    if (sum) sample.errnos[slot_to_nr(key.slot)][static_cast<int>(key.err)] = sum;
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
    add_breakdown_to_totals(sample);
  }
  if (config_.latency) {
    if (auto latency = read_latency(loaded_->latency_fd, cpus, sample); !latency) return latency.error();
  }
  if (config_.errors) {
    if (auto errnos = read_errnos(loaded_->errnos_fd, cpus, sample); !errnos) return errnos.error();
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
