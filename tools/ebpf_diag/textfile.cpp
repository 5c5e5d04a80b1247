#include "tools/ebpf_diag/textfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "libcheck/common/fd.h"

namespace bpfready {

std::string textfile_component(std::string_view subject) {
  std::string out;
  for (const char c : subject) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || (c == '.' && !out.empty());
    out += safe ? c : '_';
  }
  return out.empty() ? "unknown" : out;
}

std::string textfile_path(const std::string& dir, std::string_view subject) {
  std::string path = dir;
  if (path.empty() || path.back() != '/') path += '/';
  return path + "bpfready-" + textfile_component(subject) + ".prom";
}

Expected<std::string> write_textfile(const std::string& dir, std::string_view subject, std::string_view text) {
  const std::string target = textfile_path(dir, subject);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return SysError::from_errno(errno, "--textfile " + dir);
  if (!S_ISDIR(st.st_mode)) return SysError::from_errno(ENOTDIR, "--textfile " + dir);
  // The temporary name does not end in .prom: the collector skips it.
  std::string temp = textfile_path(dir, subject);
  temp.insert(temp.rfind('/') + 1, ".");
  temp += ".tmp.XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  Fd file(::mkostemp(name.data(), O_CLOEXEC));
  if (!file.valid()) return SysError::from_errno(errno, "cannot create a temporary file in " + dir);
  temp.assign(name.data());
  const auto fail = [&temp](const std::string& what) {
    const int err = errno;
    ::unlink(temp.c_str());
    return SysError::from_errno(err, what);
  };
  // mkostemp makes it 0600; node_exporter reads it as its own user.
  if (::fchmod(file.get(), 0644) != 0) return fail("cannot set the mode of " + temp);
  if (!write_all(file.get(), text)) return fail("cannot write " + temp);
  if (::fsync(file.get()) != 0) return fail("cannot write " + temp);
  if (::close(file.release()) != 0) return fail("cannot write " + temp);
  if (::rename(temp.c_str(), target.c_str()) != 0) return fail("cannot rename " + temp + " to " + target);
  return target;
}

}  // namespace bpfready
