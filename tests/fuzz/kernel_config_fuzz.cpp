// parse_kernel_config over arbitrary .config text (/boot/config-*, /lib/modules/*/config).
#include "libcheck/parse.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto options = bpfready::parse_kernel_config(bpfready::fuzz::as_text(data, size));
  for (const auto& [name, value] : options) {
    if (!name.starts_with("CONFIG_")) bpfready::fuzz::finding("a kernel config option not named CONFIG_*");
  }
  return 0;
}
