// syscount: exact, low-overhead syscall counting. Everything is in
// libcheck/syscount_app.cpp; this is the one catch point.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tools/syscount/app.h"

int main(int argc, char** argv) {
  try {
    return bpfready::syscount_main(std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "syscount: internal error: %s\n", error.what());
  } catch (...) {
    std::fprintf(stderr, "syscount: internal error\n");
  }
  return 2;
}
