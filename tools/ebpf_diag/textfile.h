// ebpf_diag --textfile DIR: the Prometheus report as DIR/bpfready-<subject>.prom
// for node_exporter's textfile collector, replaced atomically so that a scrape
// never reads half a file.
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

// Writes TEXT to textfile_path(DIR, SUBJECT): a temporary file in DIR (its
// name does not end in .prom, so the collector never reads it), mode 0644,
// written in full and synced, then renamed over the target. On any error the
// temporary file is removed, the target is left as it was, and the error
// names the step and DIR.
Expected<std::string> write_textfile(const std::string& dir, std::string_view subject, std::string_view text);

}  // namespace bpfready
