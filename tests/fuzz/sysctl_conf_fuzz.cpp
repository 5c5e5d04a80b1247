// parse_sysctl_conf over arbitrary /etc/sysctl.conf and /etc/sysctl.d/*.conf text.
#include "libcheck/parse.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)bpfready::parse_sysctl_conf(bpfready::fuzz::as_text(data, size));
  return 0;
}
