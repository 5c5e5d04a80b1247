// ebpf_diag run in-process as its main runs it (parse, then the app, with
// stdout not a terminal), for the unit tests of its options and outputs.
#pragma once

#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "tools/ebpf_diag/app.h"
#include "tools/ebpf_diag/cli.h"

namespace bpfready::unit {

struct DiagRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string diag_binary() { return std::string(BPFREADY_BINARY_DIR) + "/tools/ebpf_diag/ebpf_diag"; }

inline DiagRun run_diag(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ebpf_diag"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto parsed = parse_diag_args(argv);
  if (const auto* done = std::get_if<DiagExit>(&parsed)) return {done->code, done->out, done->err};
  std::ostringstream out;
  std::ostringstream err;
  DiagRun run;
  run.exit_code = run_ebpf_diag(std::get<DiagOptions>(parsed), out, err, /*out_is_terminal=*/false);
  run.out = out.str();
  run.err = err.str();
  return run;
}

}  // namespace bpfready::unit
