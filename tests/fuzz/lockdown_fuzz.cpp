// parse_lockdown over arbitrary /sys/kernel/security/lockdown contents.
#include "libcheck/parse.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (const auto mode = bpfready::parse_lockdown(bpfready::fuzz::as_text(data, size))) {
    (void)bpfready::to_string(*mode);
  }
  return 0;
}
