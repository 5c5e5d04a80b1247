// Errors as values: a result or the errno and a one-line message saying what
// was attempted. (std::expected arrives with C++23; this is the subset we use.)
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace bpfready {

struct SysError {
  int errnum = 0;       // errno, or 0 when the failure is not a system call's
  std::string message;  // "open /proc/config.gz: No such file or directory"

  static SysError from_errno(int errnum, const std::string& what) {
    return SysError{errnum, what + ": " + std::strerror(errnum)};
  }
  static SysError plain(std::string message) { return SysError{0, std::move(message)}; }
};

template <class T>
class Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Expected(SysError error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return has_value(); }
  T& value() { return std::get<T>(state_); }
  const T& value() const { return std::get<T>(state_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  [[nodiscard]] const SysError& error() const { return std::get<SysError>(state_); }
  T value_or(T fallback) const { return has_value() ? value() : std::move(fallback); }

 private:
  std::variant<T, SysError> state_;
};

// The value of an operation that returns nothing but can fail:
// `return Ok{};` or `return SysError...;`, tested with `if (!done)`.
struct Ok {};

template <>
class Expected<void> {
 public:
  Expected() = default;
  Expected(Ok /*done*/) {}                                   // NOLINT(google-explicit-constructor)
  Expected(SysError error) : error_(std::move(error)) {}   // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const { return !failed_(); }
  explicit operator bool() const { return has_value(); }
  [[nodiscard]] const SysError& error() const { return error_.value(); }

 private:
  [[nodiscard]] bool failed_() const { return error_.has_value(); }
  std::optional<SysError> error_;
};

}  // namespace bpfready
