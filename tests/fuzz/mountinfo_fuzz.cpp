// parse_mountinfo_file (libmount) over arbitrary mountinfo text. The parser
// takes a path, so the input goes into one memfd, read through /proc/self/fd.
// Then what the checks do with a mount table: find tracefs and its options.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "libcheck/mounts.h"
#include "tests/fuzz/fuzz.h"

namespace {

struct Memfd {
  int fd = -1;
  std::string path;
};

const Memfd& memfd() {
  static const Memfd file = [] {
    Memfd made;
    made.fd = ::memfd_create("mountinfo", 0);
    if (made.fd < 0) bpfready::fuzz::finding("memfd_create failed");
    made.path = "/proc/self/fd/" + std::to_string(made.fd);
    return made;
  }();
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& file = memfd();
  if (::ftruncate(file.fd, 0) != 0 || ::pwrite(file.fd, data, size, 0) != static_cast<ssize_t>(size)) {
    bpfready::fuzz::finding("cannot write the memfd");
  }
  const auto mounts = bpfready::parse_mountinfo_file(file.path);
  if (!mounts) return 0;
  if (const auto tracefs = bpfready::find_mount(*mounts, "tracefs", {"/sys/kernel/tracing"})) {
    (void)bpfready::mount_option(tracefs->fs_options, "mode");
    (void)bpfready::mount_option(tracefs->fs_options, "gid");
  }
  return 0;
}
