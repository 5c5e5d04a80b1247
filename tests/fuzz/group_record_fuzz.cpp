// parse_group_record over an arbitrary /etc/group and group name. The input
// is NAME, a NUL byte, then the file; without a NUL the whole input is the
// file and the name is "bpfready".
#include "tests/fuzz/fuzz.h"
#include "tools/tracefs-setup/system.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = bpfready::fuzz::as_text(data, size);
  const auto nul = input.find('\0');
  const std::string name = nul == std::string_view::npos ? "bpfready" : std::string(input.substr(0, nul));
  const auto file = nul == std::string_view::npos ? input : input.substr(nul + 1);
  const auto record = bpfready::parse_group_record(file, name);
  if (record && *record) (void)(*record)->lists(name);
  return 0;
}
