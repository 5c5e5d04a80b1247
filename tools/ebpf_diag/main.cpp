// ebpf_diag: proves whether eBPF profiling works on this host, for whom, and
// what the smallest fix is. Everything is in app.cpp and cli.cpp; this is the
// one catch point.
#include <unistd.h>

#include <exception>
#include <iostream>
#include <string>
#include <variant>

#include "tools/ebpf_diag/app.h"
#include "tools/ebpf_diag/cli.h"
#include "tools/ebpf_diag/fleet.h"

namespace {

// One line on stderr; with --format npd also the plugin's message on stdout.
int internal_error(bpfready::OutputFormat format, const std::string& what) {
  std::cerr << "ebpf_diag: " << what << "\n";
  if (format == bpfready::OutputFormat::npd) std::cout << bpfready::npd_error_line(what) << "\n" << std::flush;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto format = bpfready::OutputFormat::text;
  try {
    auto parsed = bpfready::parse_diag_args(argc, argv);
    if (const auto* done = std::get_if<bpfready::DiagExit>(&parsed)) {
      std::cout << done->out;
      std::cerr << done->err;
      return done->code;
    }
    auto& options = std::get<bpfready::DiagOptions>(parsed);
    if (!options.quiet && options.textfile.empty()) format = options.format;
    options.release_in_background = true;
    return bpfready::run_ebpf_diag(options, std::cout, std::cerr, ::isatty(STDOUT_FILENO) != 0);
  } catch (const std::exception& e) {
    return internal_error(format, std::string("internal error: ") + e.what());
  } catch (...) {
    return internal_error(format, "internal error");
  }
}
