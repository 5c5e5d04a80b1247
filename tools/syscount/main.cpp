// syscount: exact, low-overhead syscall counting. The command line is
// parsed by tools/syscount/cli.cpp, the run is tools/syscount/app.cpp; this
// dispatches between them and is the one catch point.
#include <exception>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include "tools/syscount/app.h"
#include "tools/syscount/cli.h"

namespace {

int syscount(const std::vector<std::string>& args) {
  const auto parsed = bpfready::parse_syscount_args(args);
  if (const auto* done = std::get_if<bpfready::CliExit>(&parsed)) {
    if (done->code == 0) {
      std::cout << done->text;  // --help, --version
    } else {
      std::cerr << done->text + "\n";
    }
    return done->code;
  }
  const auto& options = std::get<bpfready::SyscountOptions>(parsed);
  if (options.list) {
    std::cout << bpfready::syscall_table_text();
    return 0;
  }
  return bpfready::run_syscount(options);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return syscount(std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "syscount: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "syscount: internal error\n";
  }
  return 2;
}
