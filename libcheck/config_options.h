// The kernel config options the config.* checks look at: each one's check
// id, how much it matters, and what it means set and unset. Data only; the
// checks table turns each row into a check.
#pragma once

#include <string_view>

namespace bpfready::config_options {

// How a kernel option matters, for the config.* rows.
enum class OptionRole { required, required_perf_tp, recommended, informational };

struct OptionDef {
  std::string_view id;
  std::string_view option;
  OptionRole role;
  std::string_view when_set;
  std::string_view when_unset;
};

inline constexpr OptionDef kOptions[] = {
    {"config.bpf_syscall", "CONFIG_BPF_SYSCALL", OptionRole::required, "the bpf() system call is available",
     "no bpf() system call: no eBPF tool can work"},
    {"config.bpf_events", "CONFIG_BPF_EVENTS", OptionRole::required_perf_tp,
     "BPF programs can attach to tracepoints through perf events", "no BPF on perf-event tracepoints"},
    {"config.tracepoints", "CONFIG_TRACEPOINTS", OptionRole::required, "tracepoints are built in",
     "no tracepoints: neither raw nor perf-event tracepoint tools can attach"},
    {"config.ftrace_syscalls", "CONFIG_FTRACE_SYSCALLS", OptionRole::required,
     "syscall tracepoints (sys_enter/sys_exit) exist", "no syscall tracepoints: syscall counting cannot work"},
    {"config.perf_events", "CONFIG_PERF_EVENTS", OptionRole::required_perf_tp, "perf events are available",
     "no perf events: tracefs tracepoint tools cannot attach"},
    {"config.debug_info_btf", "CONFIG_DEBUG_INFO_BTF", OptionRole::recommended,
     "kernel BTF is built in (CO-RE programs can run)", "no kernel BTF: typed (tp_btf) and CO-RE programs cannot load; syscount uses its raw_tp fallback"},
    {"config.bpf_jit", "CONFIG_BPF_JIT", OptionRole::recommended, "the BPF JIT is built in",
     "no BPF JIT: programs run in the interpreter (slower, still correct)"},
    {"config.bpf_jit_always_on", "CONFIG_BPF_JIT_ALWAYS_ON", OptionRole::informational,
     "the interpreter is compiled out; the JIT must stay enabled", "the interpreter is available if the JIT is off"},
    {"config.kprobes", "CONFIG_KPROBES", OptionRole::informational, "kprobes are available to kprobe-based tools",
     "no kprobes: kprobe-based tools fail; tracepoint tools (all of bpfready) are unaffected"},
    {"config.bpf_unpriv_default_off", "CONFIG_BPF_UNPRIV_DEFAULT_OFF", OptionRole::informational,
     "unprivileged BPF is off by default (unprivileged_bpf_disabled=2 at boot)",
     "unprivileged BPF is on at boot unless a sysctl turns it off"},
};

}  // namespace bpfready::config_options
