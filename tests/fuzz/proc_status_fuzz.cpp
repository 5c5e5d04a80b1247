// parse_proc_status over arbitrary /proc/PID/status text.
#include "libcheck/parse.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)bpfready::parse_proc_status(bpfready::fuzz::as_text(data, size));
  return 0;
}
