// parse_kernel_version over arbitrary kernel release strings (osrelease, uname -r).
#include "libcheck/parse.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (const auto version = bpfready::parse_kernel_version(bpfready::fuzz::as_text(data, size))) {
    (void)version->str();
  }
  return 0;
}
