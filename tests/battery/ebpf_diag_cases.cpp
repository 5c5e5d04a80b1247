// ebpf_diag: bad options, and --root trees (copies of a fixture host) with
// one hostile file each: FIFOs, endless devices, a gzip bomb, garbage.
#include "battery/battery.h"

namespace bpfready::battery {

namespace {

using Words = std::vector<std::string>;

BadCase plain(std::string name, Words words) {
  return {std::move(name), "ebpf_diag", [words](const Scene&) { return words; }};
}

// --root over a copy of the Debian 12 fixture host, changed by SPOIL. The
// command line is valid: ebpf_diag must read through the tree and report
// what it cannot read as a check in error, not hang or crash on it.
BadCase spoiled_root(std::string name, std::function<void(const Scene&)> spoil) {
  return {std::move(name), "ebpf_diag",
          [spoil](const Scene& scene) {
            const auto root = scene.copy_host("debian12-vm-6.18");
            spoil(scene);
            return Words{"--root", root};
          },
          {}, Expect::survives};
}

std::vector<BadCase> option_cases() {
  return {
      plain("EbpfDiag_UnknownCheck", {"--check", "no.such.check"}),
      plain("EbpfDiag_EmptyCheck", {"--check", ""}),
      plain("EbpfDiag_UnknownCheckAfterAKnownOne", {"--check", "probe.raw_tp", "--check", "bogus"}),
      plain("EbpfDiag_CheckWithoutValue", {"--check"}),
      plain("EbpfDiag_UnknownUser", {"--user", "bpfr_nosuchuser", "--no-probe"}),
      plain("EbpfDiag_UserUidOverflow", {"--user", "99999999999999999999", "--no-probe"}),
      plain("EbpfDiag_UserUidMinusOne", {"--user", "4294967295", "--no-probe"}),
      plain("EbpfDiag_EmptyUser", {"--user", "", "--no-probe"}),
      plain("EbpfDiag_UserWithNewline", {"--user", "root\nroot", "--no-probe"}),
      plain("EbpfDiag_MissingBinary", {"--user", "root", "--binary", "/nonexistent/bpfr-binary"}),
      plain("EbpfDiag_BinaryIsADirectory", {"--user", "root", "--binary", "/etc"}),
      plain("EbpfDiag_BinaryWithoutUser", {"--binary", "/bin/true"}),
      plain("EbpfDiag_NonexistentRoot", {"--root", "/nonexistent/bpfr-root"}),
      plain("EbpfDiag_EmptyRoot", {"--root", ""}),
      plain("EbpfDiag_RootIsAFile", {"--root", "/etc/hostname"}),
      plain("EbpfDiag_RootWithoutValue", {"--root"}),
      plain("EbpfDiag_BogusRequire", {"--require", "bogus"}),
      plain("EbpfDiag_RequireWithABogusClass", {"--require", "raw_tp,bogus"}),
      plain("EbpfDiag_EmptyRequire", {"--require", ""}),
      plain("EbpfDiag_JsonAndPrometheus", {"--json", "--prometheus"}),
      plain("EbpfDiag_BogusColor", {"--color", "purple"}),
      plain("EbpfDiag_UnknownOption", {"--frobnicate"}),
      plain("EbpfDiag_StrayArgument", {"stray"}),
      plain("EbpfDiag_FlagWithAValue", {"--quiet=maybe"}),
      plain("EbpfDiag_EscapeSequenceInCheck", {"--check", "\x1b[2J\x1b[31mred"}),
  };
}

std::vector<BadCase> hostile_root_cases() {
  const std::string kernel = "proc/sys/kernel/";
  return {
      spoiled_root("EbpfDiag_RootOsreleaseIsAFifo",
                   [=](const Scene& s) { s.make_fifo("root/" + kernel + "osrelease"); }),
      spoiled_root("EbpfDiag_RootOsreleaseIsDevZero",
                   [=](const Scene& s) { s.make_symlink("root/" + kernel + "osrelease", "/dev/zero"); }),
      spoiled_root("EbpfDiag_RootSysctlIsDevUrandom",
                   [=](const Scene& s) { s.make_symlink("root/" + kernel + "perf_event_paranoid", "/dev/urandom"); }),
      spoiled_root("EbpfDiag_RootConfigGzBomb",
                   [](const Scene& s) { s.make_gzip_bomb("root/proc/config.gz", 4100); }),
      spoiled_root("EbpfDiag_RootConfigGzGarbage", [](const Scene& s) {
        static const char garbage[] = "\x1f\x8b\x08\0garbage\xff\xfe\0\x01 not gzip at all";
        s.make_file("root/proc/config.gz", std::string(garbage, sizeof garbage - 1));
      }),
      spoiled_root("EbpfDiag_RootConfigGzIsAFifo", [](const Scene& s) { s.make_fifo("root/proc/config.gz"); }),
      spoiled_root("EbpfDiag_RootBootConfigIsAFifo", [](const Scene& s) {
        s.remove("root/proc/config.gz");
        s.make_fifo("root/boot/config-6.18.44-fc-v769");
      }),
      spoiled_root("EbpfDiag_RootStatusIsAFifo", [](const Scene& s) { s.make_fifo("root/proc/self/status"); }),
      spoiled_root("EbpfDiag_RootMountinfoIsDevZero",
                   [](const Scene& s) { s.make_symlink("root/proc/self/mountinfo", "/dev/zero"); }),
      spoiled_root("EbpfDiag_RootMountinfoIsAFifo", [](const Scene& s) { s.make_fifo("root/proc/self/mountinfo"); }),
      spoiled_root("EbpfDiag_RootLockdownIsDevZero",
                   [](const Scene& s) { s.make_symlink("root/sys/kernel/security/lockdown", "/dev/zero"); }),
      spoiled_root("EbpfDiag_RootSysctlConfIsAFifo", [](const Scene& s) { s.make_fifo("root/etc/sysctl.d/99-x.conf"); }),
      spoiled_root("EbpfDiag_RootGarbageMeta", [](const Scene& s) {
        s.make_file("root/.bpfready-meta",
                    "/sys/kernel/tracing zzz 99999999999999999999 -1\n/sys/kernel/tracing/events\n\xff\xfe\n");
      }),
      spoiled_root("EbpfDiag_RootOsreleaseIsADirectory", [=](const Scene& s) {
        s.remove("root/" + kernel + "osrelease");
        s.make_dir("root/" + kernel + "osrelease");
      }),
  };
}

}  // namespace

std::vector<BadCase> ebpf_diag_cases() {
  auto cases = option_cases();
  for (auto& bad : hostile_root_cases()) cases.push_back(std::move(bad));
  return cases;
}

}  // namespace bpfready::battery
