// Finds the few facts typed (tp_btf) programs need in the kernel's BTF
// (/sys/kernel/btf/vmlinux) in one streaming pass: the type ids of named
// typedefs (a tp_btf program's attach target is the typedef btf_trace_NAME)
// and the size and member offsets of named structs (what CO-RE relocates).
//
// Why not libbpf: libbpf parses all of it (5+ MiB on a distribution kernel,
// copied twice, 100k+ types indexed), which was most of syscount's start-up
// time and of ebpf_diag's peak memory. This maps the file where the kernel
// allows it (6.18 does), else reads it through a 64 KiB window, keeps only
// what was asked for, and stops once it has all of it (tracepoint typedefs
// and task_struct come early in the kernel's BTF).
#pragma once

#include <linux/types.h>

#include <map>
#include <string>
#include <vector>

#include "libcheck/expected.h"

namespace bpfready {

struct BtfStructLayout {
  __u32 size = 0;                       // bytes
  std::map<std::string, __u32> member_bits;  // member name -> offset in bits
};

struct KernelBtfQuery {
  std::vector<std::string> typedefs;
  std::map<std::string, std::vector<std::string>> struct_members;  // struct -> members wanted
};

struct KernelBtfFacts {
  std::map<std::string, __u32> typedef_ids;     // only the typedefs found
  std::map<std::string, BtfStructLayout> structs;  // only the structs found, with every member asked for
  // For a typedef found that points to a function type (a tracepoint's
  // btf_trace_NAME), that function's parameter count; the first parameter
  // of a tracepoint's is its context, the others are the tracepoint's
  // arguments.
  std::map<std::string, __u32> typedef_params;
};

// How the file is read: mapped when the kernel allows it (one mmap, no
// copy), else through preads; or only through preads (the tests of that
// path, which a mappable file would otherwise skip).
enum class BtfAccess { map_or_read, read_only };

// Scans the raw BTF readable from FD (a file in BTF's raw format, as
// /sys/kernel/btf/vmlinux is). A typedef or struct that is absent is simply
// not in the result (finding that out reads the whole file); a struct found without one of the members asked for,
// or with it as a bitfield, is an error, as is a file that is not BTF or
// holds a kind this scanner does not know (the caller then falls back to
// libbpf's own parsing).
Expected<KernelBtfFacts> scan_kernel_btf(int fd, const KernelBtfQuery& query,
                                         BtfAccess access = BtfAccess::map_or_read);

}  // namespace bpfready
