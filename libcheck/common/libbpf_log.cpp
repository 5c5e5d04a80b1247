#include "libcheck/common/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace bpfready {

namespace {

// The callback runs on the thread that called libbpf, so a thread-local sink
// keeps the messages of concurrent loads apart.
thread_local std::string* t_sink = nullptr;
thread_local bool t_with_debug = true;

int collect(enum libbpf_print_level level, const char* format, va_list args) {
  if (t_sink == nullptr || (level == LIBBPF_DEBUG && !t_with_debug)) return 0;
  va_list sizing;
  va_copy(sizing, args);
  const int length = std::vsnprintf(nullptr, 0, format, sizing);  // NOLINT(clang-analyzer-valist.Uninitialized): va_copy-ed
  va_end(sizing);
  if (length <= 0) return length;
  std::string message(static_cast<std::size_t>(length) + 1, '\0');
  std::vsnprintf(message.data(), message.size(), format, args);
  message.pop_back();
  t_sink->append(message);
  return length;
}

}  // namespace

LibbpfLogCapture::LibbpfLogCapture(std::string& sink, bool with_debug)
    : previous_sink_(t_sink), previous_with_debug_(t_with_debug) {
  static std::once_flag installed;
  std::call_once(installed, [] { libbpf_set_print(collect); });
  t_sink = &sink;
  t_with_debug = with_debug;
}

LibbpfLogCapture::~LibbpfLogCapture() {
  t_sink = previous_sink_;
  t_with_debug = previous_with_debug_;
}

}  // namespace bpfready
