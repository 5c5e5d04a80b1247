// parse_sysctl_int over arbitrary /proc/sys/* contents.
#include "libcheck/parse.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)bpfready::parse_sysctl_int(bpfready::fuzz::as_text(data, size));
  return 0;
}
