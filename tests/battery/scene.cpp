// The battery's scratch trees, hostile files and bounded runs.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "battery/battery.h"

namespace bpfready::battery {

namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void parent_dirs(const std::string& path) { fs::create_directories(fs::path(path).parent_path()); }

void put_le32(std::string& out, uLong value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Raw deflate of SIZE zero bytes, flushed so that the piece decodes on its
// own wherever it stands in a stream; and the empty final block.
std::pair<std::string, std::string> deflate_zeros(std::size_t size) {
  std::vector<unsigned char> zeros(size, 0);
  std::vector<unsigned char> buffer(size / 64 + 4096);
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  z.next_in = zeros.data();
  z.avail_in = static_cast<uInt>(zeros.size());
  z.next_out = buffer.data();
  z.avail_out = static_cast<uInt>(buffer.size());
  deflate(&z, Z_FULL_FLUSH);
  std::string piece(reinterpret_cast<const char*>(buffer.data()), buffer.size() - z.avail_out);
  z.next_out = buffer.data();
  z.avail_out = static_cast<uInt>(buffer.size());
  deflate(&z, Z_FINISH);
  std::string tail(reinterpret_cast<const char*>(buffer.data()), buffer.size() - z.avail_out);
  deflateEnd(&z);
  return {piece, tail};
}

}  // namespace

Scene::Scene() {
  char pattern[] = "/tmp/bpfr-battery-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  ::chmod(dir_.c_str(), 0755);
}

Scene::~Scene() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string Scene::path(const std::string& relative) const { return dir_ + "/" + relative; }

std::string Scene::make_file(const std::string& relative, const std::string& content, mode_t mode) const {
  const auto full = path(relative);
  parent_dirs(full);
  remove(relative);
  std::ofstream(full, std::ios::binary) << content;
  ::chmod(full.c_str(), mode);
  return full;
}

std::string Scene::make_fifo(const std::string& relative) const {
  const auto full = path(relative);
  parent_dirs(full);
  remove(relative);
  if (::mkfifo(full.c_str(), 0644) != 0) throw std::runtime_error("mkfifo " + full);
  return full;
}

std::string Scene::make_symlink(const std::string& relative, const std::string& target) const {
  const auto full = path(relative);
  parent_dirs(full);
  remove(relative);
  fs::create_symlink(target, full);
  return full;
}

std::string Scene::make_dir(const std::string& relative) const {
  const auto full = path(relative);
  fs::create_directories(full);
  return full;
}

void Scene::remove(const std::string& relative) const {
  std::error_code ec;
  fs::remove(path(relative), ec);
}

std::string Scene::copy_host(const std::string& name, const std::string& relative) const {
  const auto full = path(relative);
  fs::create_directories(full);
  fs::copy(std::string(BPFREADY_FIXTURES) + "/hosts/" + name, full,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  return full;
}

std::string Scene::make_image(const std::string& relative) const {
  make_file(relative + "/etc/group", "root:x:0:\ndaemon:x:1:\nusers:x:100:\nalice:x:1000:\n");
  make_file(relative + "/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n");
  make_file(relative + "/usr/local/bin/tool", slurp("/bin/true"), 0755);
  return path(relative);
}

std::string Scene::make_gzip_bomb(const std::string& relative, unsigned mib) const {
  constexpr std::size_t kMiB = 1U << 20;
  const auto [piece, tail] = deflate_zeros(kMiB);
  std::vector<unsigned char> zeros(kMiB, 0);
  const uLong piece_crc = crc32(0, zeros.data(), static_cast<uInt>(zeros.size()));
  uLong crc = crc32(0, nullptr, 0);
  std::string data = {'\x1f', '\x8b', '\x08', '\0', '\0', '\0', '\0', '\0', '\0', '\x03'};
  data.reserve(data.size() + piece.size() * mib + 64);
  for (unsigned i = 0; i < mib; ++i) {
    data += piece;
    crc = crc32_combine(crc, piece_crc, static_cast<z_off_t>(kMiB));
  }
  data += tail;
  put_le32(data, crc);
  put_le32(data, static_cast<uLong>(static_cast<std::uint64_t>(mib) * kMiB));  // ISIZE: modulo 2^32
  return make_file(relative, data);
}

Outcome run_bounded(const std::vector<std::string>& argv, const std::string& output_dir,
                    std::chrono::milliseconds limit) {
  const std::string out_path = output_dir + "/stdout";
  const std::string err_path = output_dir + "/stderr";
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(125);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> args;
    for (const auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(126);
  }
  ::setpgid(pid, pid);  // also here, so that the kill below reaches it whichever runs first
  Outcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
    if (std::chrono::steady_clock::now() >= deadline) {
      outcome.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid, SIGKILL);  // whatever it left running in its group
  if (!outcome.timed_out) {
    outcome.signalled = WIFSIGNALED(status);
    outcome.signal = outcome.signalled ? WTERMSIG(status) : 0;
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  outcome.out = slurp(out_path);
  outcome.err = slurp(err_path);
  return outcome;
}

pid_t unused_pid() {
  long pid_max = 32768;
  std::ifstream("/proc/sys/kernel/pid_max") >> pid_max;
  for (auto pid = static_cast<pid_t>(pid_max - 1); pid > 300; --pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return pid;
  }
  throw std::runtime_error("no unused PID");
}

}  // namespace bpfready::battery
