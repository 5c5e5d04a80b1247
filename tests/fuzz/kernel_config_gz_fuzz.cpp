// /proc/config.gz: gunzip, then parse_kernel_config, over arbitrary bytes
// (truncated streams, concatenated members, bombs).
#include "libcheck/parse.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = bpfready::gunzip(bpfready::fuzz::as_text(data, size));
  if (!text) return 0;
  (void)bpfready::parse_kernel_config(*text);
  return 0;
}
