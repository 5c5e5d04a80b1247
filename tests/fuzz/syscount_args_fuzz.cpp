// syscount's option parser over arbitrary argv: the input split on NUL
// bytes is the words after "syscount". cli.h promises help or version
// (code 0) or a usage error (code 2) in one line.
#include "tests/fuzz/fuzz.h"
#include "tools/syscount/cli.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args{"syscount"};
  if (size > 0) {
    for (auto& word : bpfready::fuzz::split_on_nul(bpfready::fuzz::as_text(data, size))) args.push_back(std::move(word));
  }
  const auto parsed = bpfready::parse_syscount_args(args);
  if (const auto* done = std::get_if<bpfready::CliExit>(&parsed)) {
    if (done->code != 0 && done->code != 2) bpfready::fuzz::finding("exit code other than 0 or 2");
    if (done->code == 2 && done->text.find('\n') != std::string::npos) {
      bpfready::fuzz::finding("a usage error of more than one line");
    }
  }
  return 0;
}
