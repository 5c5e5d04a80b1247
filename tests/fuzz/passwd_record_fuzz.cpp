// parse_passwd_record over an arbitrary /etc/passwd and user name. The input
// is NAME, a NUL byte, then the file; without a NUL the whole input is the
// file and the name is "alice".
#include "tests/fuzz/fuzz.h"
#include "tools/tracefs-setup/system.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = bpfready::fuzz::as_text(data, size);
  const auto nul = input.find('\0');
  const std::string name = nul == std::string_view::npos ? "alice" : std::string(input.substr(0, nul));
  const auto file = nul == std::string_view::npos ? input : input.substr(nul + 1);
  (void)bpfready::parse_passwd_record(file, name);
  return 0;
}
