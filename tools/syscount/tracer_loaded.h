// What SyscountTracer holds once one variant of the programs is loaded:
// the object and the descriptors of the maps both variants share by name.
// Private to tracer.cpp (loading) and tracer_read.cpp (reading).
#pragma once

#include "tools/syscount/tracer.h"

namespace bpfready {

struct SyscountTracer::Loaded {
  Loaded() = default;
  virtual ~Loaded() = default;  // the variant destroys its skeleton
  Loaded(const Loaded&) = delete;
  Loaded& operator=(const Loaded&) = delete;
  bpf_object* object = nullptr;
  int totals_fd = -1;
  int by_task_fd = -1;
  int comms_fd = -1;
  int drops_fd = -1;
  int latency_fd = -1;
  int errnos_fd = -1;
};

}  // namespace bpfready
