// Hostile text made safe for JSON, terminals and shell command lines.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "libcheck/common/text.h"

namespace bpfready {
namespace {

TEST(ValidUtf8, KeepsValidTextAndReplacesEachInvalidByte) {
  EXPECT_EQ(valid_utf8("syscount"), "syscount");
  EXPECT_EQ(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xA7"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xA7");
  EXPECT_EQ(valid_utf8("\xFF\xFE" "A"), "\xEF\xBF\xBD\xEF\xBF\xBD" "A");  // prctl(PR_SET_NAME, "\xff\xfeA")
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // above U+10FFFF
  EXPECT_EQ(valid_utf8("ab\xE2\x82"), "ab\xEF\xBF\xBD\xEF\xBF\xBD");  // cut short
  EXPECT_EQ(valid_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(ValidUtf8, AnyBytesBecomeSerialisableJson) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  const nlohmann::json doc = {{"name", valid_utf8(every_byte)}};
  EXPECT_NO_THROW((void)doc.dump());
}

TEST(EscapeForTerminal, NoControlCharacterSurvives) {
  EXPECT_EQ(escape_for_terminal("ls -l"), "ls -l");
  EXPECT_EQ(escape_for_terminal("\x1B]0;pwned\x07"), "\\e]0;pwned\\x07");
  EXPECT_EQ(escape_for_terminal("a\nb\tc\\d"), "a\\nb\\tc\\\\d");
  EXPECT_EQ(escape_for_terminal("\x7F"), "\\x7f");
  EXPECT_EQ(escape_for_terminal("\xC2\x9B" "31m"), "\\u{009b}31m");  // C1 CSI
  EXPECT_EQ(escape_for_terminal("\xFF"), "\xEF\xBF\xBD");
  EXPECT_EQ(escape_for_terminal("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST(ShellQuote, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(shell_quote("/usr/bin/syscount"), "/usr/bin/syscount");
  EXPECT_EQ(shell_quote("cap_bpf,cap_perfmon=ep"), "cap_bpf,cap_perfmon=ep");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("/tmp/x;id>&2;#/ebpf_diag"), "'/tmp/x;id>&2;#/ebpf_diag'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$USER"), "'$USER'");
  EXPECT_EQ(shell_command({"sudo", "setcap", "cap_bpf=ep", "/opt/my tools/x"}),
            "sudo setcap cap_bpf=ep '/opt/my tools/x'");
}

}  // namespace
}  // namespace bpfready
