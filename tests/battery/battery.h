// The battery of bad invocations: every tool, run as a user would run it
// (stdin from /dev/null, its own process group), with a bad command line
// and, where a case needs one, a hostile tree of files. Each case must end
// cleanly: within 10 s, by exiting (no signal), with a non-zero status and
// exactly one line on stderr (see Expect for hostile trees read through),
// with no raw library text, and with no BPF program left loaded. The cases
// are in *_cases.cpp, one file per tool.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace bpfready::battery {

// A scratch directory for one case, removed with everything in it (FIFOs and
// symbolic links included; links are never followed).
class Scene {
 public:
  Scene();
  ~Scene();
  Scene(const Scene&) = delete;
  Scene& operator=(const Scene&) = delete;

  [[nodiscard]] const std::string& dir() const { return dir_; }
  // DIR/RELATIVE; every make_* below creates missing parent directories.
  [[nodiscard]] std::string path(const std::string& relative) const;
  std::string make_file(const std::string& relative, const std::string& content, mode_t mode = 0644) const;
  std::string make_fifo(const std::string& relative) const;
  std::string make_symlink(const std::string& relative, const std::string& target) const;
  std::string make_dir(const std::string& relative) const;
  // Replaces whatever is at RELATIVE (file, link, FIFO) with nothing.
  void remove(const std::string& relative) const;
  // A copy of the fixture host tests/fixtures/hosts/NAME at RELATIVE.
  std::string copy_host(const std::string& name, const std::string& relative = "root") const;
  // A small target image for tracefs-setup --root at RELATIVE: /etc/group,
  // /etc/passwd with user alice, and the binary /usr/local/bin/tool.
  std::string make_image(const std::string& relative = "img") const;
  // gzip data of one member that inflates to MIB MiB of zero bytes, written
  // in about 1 KiB per MiB.
  std::string make_gzip_bomb(const std::string& relative, unsigned mib) const;

 private:
  std::string dir_;
};

// What a case must end in. refused: a bad command line (or one that names
// something unusable), so a non-zero exit status and exactly one line on
// stderr. survives: a valid command line over a hostile tree that the tool
// reads through, showing what it cannot read as a check in error (README:
// "[ERR ]"), so any documented exit status (0, 1, 2) and at most one line on
// stderr. Both: within 10 s, no signal, no raw library text, no BPF left.
enum class Expect { refused, survives };

struct BadCase {
  std::string name;  // the test's name: letters, digits and '_'
  std::string tool;  // ebpf_diag, syscount or tracefs-setup
  // The arguments after the program name; may build hostile files in the scene.
  std::function<std::vector<std::string>(const Scene&)> args;
  // Extra assertions after the run (e.g. nothing outside --root was touched).
  std::function<void(const Scene&)> verify = {};
  Expect expect = Expect::refused;
};

std::vector<BadCase> ebpf_diag_cases();
std::vector<BadCase> syscount_cases();
std::vector<BadCase> tracefs_setup_cases();

struct Outcome {
  bool timed_out = false;  // killed after the limit
  bool signalled = false;
  int signal = 0;
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs ARGV (ARGV[0] a path) in a new process group with stdin from
// /dev/null and stdout and stderr captured in OUTPUT_DIR. After LIMIT, or
// when it ends, whatever is left of its process group is killed.
Outcome run_bounded(const std::vector<std::string>& argv, const std::string& output_dir,
                    std::chrono::milliseconds limit);

// A PID below pid_max that no process has right now.
pid_t unused_pid();

}  // namespace bpfready::battery
