// Text that came from the host (process names, arguments, file contents,
// paths) may be hostile: these make it safe for JSON, a terminal, or a
// shell command line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bpfready {

// TEXT with every byte sequence that is not valid UTF-8 replaced by U+FFFD
// (one replacement per invalid byte), so that it can go into JSON.
std::string valid_utf8(std::string_view text);

// TEXT for a terminal: valid UTF-8, with control characters (C0, DEL, C1)
// written as \n, \t, \e, \xNN or \u{NNNN}, and backslash as "\\", so that no
// escape sequence reaches the terminal and the original stays readable.
std::string escape_for_terminal(std::string_view text);

// WORD quoted for a POSIX shell when it needs it: "abc" stays as is,
// "a b" becomes 'a b', and a quote inside becomes '\''.
std::string shell_quote(std::string_view word);
// Each word shell-quoted, separated by spaces.
std::string shell_command(const std::vector<std::string>& words);

}  // namespace bpfready
