// Hostile host trees for --root and the code that reads them: FIFOs, device
// links, gzip bombs, huge sparse files, binary garbage. A FIFO or a /dev link
// cannot live in git, so each is made in a scratch copy by the test. Code that
// could hang or exhaust memory runs in a child with a deadline and an
// address-space limit, so that a regression fails the test instead of
// hanging it or the machine.
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "libcheck/common/fd.h"
#include "libcheck/common/subprocess.h"
#include "support/unit.h"

namespace bpfready::hostile {

struct Bounded {
  bool finished = false;  // exited normally within the deadline
  std::string output;     // what BODY returned
  std::string how;        // how the child ended, for failure messages
};

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// Runs BODY in a child limited to 1 GiB of address space and DEADLINE;
// its returned text comes back in output.
inline Bounded run_bounded(const std::function<std::string()>& body,
                           std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  Bounded result;
  auto child = run_in_child(
      [&](int out_fd) {
        // AddressSanitizer reserves terabytes of shadow address space, so
        // under it the limit would fail every run; ASan's own allocator
        // checks (and the deadline) still catch a runaway read there.
        if (!kAddressSanitizer) {
          const rlimit limit{std::size_t{1} << 30, std::size_t{1} << 30};
          ::setrlimit(RLIMIT_AS, &limit);
        }
        std::string text;
        try {
          text = body();
        } catch (const std::exception& e) {
          text = std::string("exception: ") + e.what();
        } catch (...) {
          text = "exception";
        }
        return write_all(out_fd, text) ? 0 : 1;
      },
      deadline);
  if (!child) {
    result.how = child.error().message;
    return result;
  }
  result.output = child->output;
  result.finished = !child->timed_out && WIFEXITED(child->wait_status) && WEXITSTATUS(child->wait_status) == 0;
  result.how = child->timed_out ? "did not finish within " + std::to_string(deadline.count()) + " ms (killed)"
                                : describe_wait_status(child->wait_status);
  return result;
}

// Replaces the host path ABSOLUTE in TREE by a FIFO nobody writes to.
inline void make_fifo(const unit::ScratchTree& tree, std::string_view absolute) {
  const auto at = tree.at(absolute);
  std::filesystem::create_directories(at.parent_path());
  std::filesystem::remove(at);
  ASSERT_EQ(::mkfifo(at.c_str(), 0644), 0) << at;
}

// Replaces the host path ABSOLUTE in TREE by a symbolic link to TARGET.
inline void make_link(const unit::ScratchTree& tree, std::string_view absolute, const std::string& target) {
  const auto at = tree.at(absolute);
  std::filesystem::create_directories(at.parent_path());
  std::filesystem::remove(at);
  std::filesystem::create_symlink(target, at);
}

// A sparse file of SIZE bytes (no disk space used) at ABSOLUTE in TREE.
inline void make_sparse(const unit::ScratchTree& tree, std::string_view absolute, std::uintmax_t size) {
  tree.write(absolute, "CONFIG_BPF_SYSCALL=y\n");
  std::filesystem::resize_file(tree.at(absolute), size);
}

// gzip data that unpacks to UNPACKED bytes of kernel-config lines.
inline std::string gzip_bomb(std::size_t unpacked) {
  z_stream stream{};
  if (deflateInit2(&stream, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string line = "CONFIG_BPF_SYSCALL=y\n";
  std::string chunk;
  while (chunk.size() < 65536) chunk += line;
  std::string out;
  char buffer[65536];
  std::size_t fed = 0;
  for (bool last = false; !last;) {
    const std::size_t take = std::min(chunk.size(), unpacked - fed);
    fed += take;
    last = fed == unpacked;
    stream.next_in = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_in = static_cast<uInt>(take);
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = sizeof buffer;
      deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(buffer, sizeof buffer - stream.avail_out);
    } while (stream.avail_out == 0);
  }
  deflateEnd(&stream);
  return out;
}

// Bytes that are neither UTF-8 nor harmless on a terminal.
inline std::string garbage() {
  return std::string("6.18.44\xff\xfe\xc3(\x1b]0;owned\x07\x1b[2J\r\x7f\xc2\x9b") + std::string(1, '\0') + "x";
}

}  // namespace bpfready::hostile
