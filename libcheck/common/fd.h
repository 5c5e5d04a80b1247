// A file descriptor that closes itself, and the few whole-buffer reads and
// writes every tool needs.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "libcheck/expected.h"

namespace bpfready {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Both ends of a close-on-exec pipe: {read end, write end}.
Expected<std::pair<Fd, Fd>> make_pipe();

// Writes all of TEXT, retrying short writes and EINTR. False on error (errno set).
bool write_all(int fd, std::string_view text);

// Everything readable from FD until end of file (or an error).
std::string read_all(int fd);

}  // namespace bpfready
