// The files ebpf_diag writes for other programs to read while it may be
// rewriting them: --textfile DIR (the Prometheus report as
// DIR/bpfready-<subject>.prom for node_exporter's textfile collector) and
// --status-file FILE (the JSON document). Both are replaced atomically, so
// that a reader never sees half a file.
#pragma once

#include <string>
#include <string_view>

#include "libcheck/expected.h"

namespace bpfready {

// SUBJECT as one safe file-name component: letters, digits, '_', '-' and '.'
// stay, every other byte becomes '_', a leading '.' too (no hidden files,
// no "." or ".."); empty becomes "unknown".
std::string textfile_component(std::string_view subject);

// DIR/bpfready-<textfile_component(SUBJECT)>.prom.
std::string textfile_path(const std::string& dir, std::string_view subject);

// Writes TEXT to TARGET: a temporary file in TARGET's directory named
// ".<name of TARGET>.tmp.XXXXXX" (a hidden name without TARGET's suffix, so
// neither the textfile collector nor a reader globbing *.json picks it up),
// mode 0644, written in full and synced, then renamed over TARGET. On any
// error the temporary file is removed, TARGET is left as it was, and the
// error names the step; a directory that is missing or not a directory is
// reported as "WHAT: <errno text>".
Expected<void> replace_file(const std::string& target, std::string_view text, const std::string& what);

// Writes TEXT to textfile_path(DIR, SUBJECT) through replace_file; returns
// the path written.
Expected<std::string> write_textfile(const std::string& dir, std::string_view subject, std::string_view text);

// --status-file FILE: TEXT (the JSON document) to FILE through replace_file.
// FILE's directory must exist; FILE itself must not be a directory.
Expected<void> write_status_file(const std::string& file, std::string_view text);

}  // namespace bpfready
