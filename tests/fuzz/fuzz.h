// What every libFuzzer harness of tests/fuzz shares. A harness feeds one
// parser bytes it has never seen; a crash, a sanitizer report, an uncaught
// exception or a timeout is a finding. finding() turns a broken property
// (a documented promise the parser did not keep) into one too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace bpfready::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};  // NOLINT: libFuzzer hands out bytes
}

// The pieces of TEXT between NUL bytes (empty pieces kept).
inline std::vector<std::string> split_on_nul(std::string_view text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (true) {
    const auto nul = text.find('\0', start);
    words.emplace_back(text.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start));
    if (nul == std::string_view::npos) return words;
    start = nul + 1;
  }
}

[[noreturn]] inline void finding(const char* what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what);
  std::abort();
}

}  // namespace bpfready::fuzz
