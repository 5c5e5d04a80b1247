// libbpf prints through one process-wide callback. A capture routes the
// messages libbpf prints on the capturing thread into a string, whole
// (a verifier log can be far longer than any fixed buffer), and never onto
// the user's terminal.
#pragma once

#include <string>

namespace bpfready {

class LibbpfLogCapture {
 public:
  // WITH_DEBUG: keep libbpf's debug messages too (they are many).
  explicit LibbpfLogCapture(std::string& sink, bool with_debug = true);
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture(LibbpfLogCapture&&) = delete;
  LibbpfLogCapture& operator=(LibbpfLogCapture&&) = delete;

 private:
  std::string* previous_sink_;
  bool previous_with_debug_;
};

}  // namespace bpfready
