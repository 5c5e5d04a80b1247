// ebpf_diag: proves whether eBPF profiling works on this host, for whom, and
// what the smallest fix is. Everything is in app.cpp and cli.cpp; this is the
// one catch point.
#include <unistd.h>

#include <exception>
#include <iostream>
#include <variant>

#include "tools/ebpf_diag/app.h"
#include "tools/ebpf_diag/cli.h"

int main(int argc, char** argv) {
  try {
    auto parsed = bpfready::parse_diag_args(argc, argv);
    if (const auto* done = std::get_if<bpfready::DiagExit>(&parsed)) {
      std::cout << done->out;
      std::cerr << done->err;
      return done->code;
    }
    auto& options = std::get<bpfready::DiagOptions>(parsed);
    options.release_in_background = true;
    return bpfready::run_ebpf_diag(options, std::cout, std::cerr, ::isatty(STDOUT_FILENO) != 0);
  } catch (const std::exception& e) {
    std::cerr << "ebpf_diag: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "ebpf_diag: internal error\n";
  }
  return 2;
}
