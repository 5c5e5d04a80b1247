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

namespace {

// The directory part of PATH ("." when it has none, "/" for "/x").
std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

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

Expected<void> replace_file(const std::string& target, std::string_view text, const std::string& what) {
  const std::string dir = directory_of(target);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return SysError::from_errno(errno, what);
  if (!S_ISDIR(st.st_mode)) return SysError::from_errno(ENOTDIR, what);
  if (::stat(target.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return SysError::from_errno(EISDIR, what);
  // ".<name>.tmp.XXXXXX": hidden, and without the target's suffix.
  std::string temp = target;
  temp.insert(target.rfind('/') == std::string::npos ? 0 : target.rfind('/') + 1, ".");
  temp += ".tmp.XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  Fd file(::mkostemp(name.data(), O_CLOEXEC));
  if (!file.valid()) return SysError::from_errno(errno, "cannot create a temporary file in " + dir);
  temp.assign(name.data());
  const auto fail = [&temp](const std::string& step) {
    const int err = errno;
    ::unlink(temp.c_str());
    return SysError::from_errno(err, step);
  };
  // mkostemp makes it 0600; its readers (node_exporter, a monitoring agent)
  // read it as their own user.
  if (::fchmod(file.get(), 0644) != 0) return fail("cannot set the mode of " + temp);
  if (!write_all(file.get(), text)) return fail("cannot write " + temp);
  if (::fsync(file.get()) != 0) return fail("cannot write " + temp);
  if (::close(file.release()) != 0) return fail("cannot write " + temp);
  if (::rename(temp.c_str(), target.c_str()) != 0) return fail("cannot rename " + temp + " to " + target);
  return {};
}

Expected<std::string> write_textfile(const std::string& dir, std::string_view subject, std::string_view text) {
  const std::string target = textfile_path(dir, subject);
  auto written = replace_file(target, text, "--textfile " + dir);
  if (!written) return written.error();
  return target;
}

Expected<void> write_status_file(const std::string& file, std::string_view text) {
  return replace_file(file, text, "--status-file " + file);
}

}  // namespace bpfready
