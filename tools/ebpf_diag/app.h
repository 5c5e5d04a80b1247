// The whole of `ebpf_diag` after its command line, in-process: its tests run
// it over fixture hosts and read what it prints, and main stays a thin shell
// with the one catch point.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "libcheck/access.h"
#include "libcheck/checks.h"
#include "libcheck/snapshot.h"
#include "libcheck/verdicts.h"
#include "tools/ebpf_diag/cli.h"

namespace bpfready {

// Runs ebpf_diag with OPTIONS: the report (or the --list-checks table) to OUT,
// one line to ERR on a usage error. OUT_IS_TERMINAL decides `--color auto`
// (with NO_COLOR). Returns the exit status: 0 ready, 1 not ready, 2 usage
// error or a prediction contradicted by its probe.
int run_ebpf_diag(const DiagOptions& options, std::ostream& out, std::ostream& err, bool out_is_terminal = false);

// The id of that row: listed by --list-checks and accepted by --check, like
// every id a report can show.
inline constexpr const char* kUserSubjectCheck = "user.subject";

// The row that says who the verdicts are for (--user), and whether they may
// execute BINARY (empty: none): pass, fail (the mode forbids it) or error
// (BINARY cannot be stat()ed on the live host).
CheckResult user_subject_row(const Subject& subject, const std::string& binary, const Snapshot& snapshot);

// When USER_ROW does not pass the tool cannot even start: every verdict is
// then not ready, predicted to fail at exec with EACCES, for the row's reason.
void block_verdicts_on_exec(std::vector<Verdict>& verdicts, const CheckResult& user_row);

}  // namespace bpfready
