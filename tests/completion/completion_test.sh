#!/usr/bin/env bash
# Issue 12: the bash completion of ebpf_diag, syscount and tracefs-setup
# (setup/completion/*) and their man pages (BUILD/man/*.8.gz, rendered from
# docs/man/*.8.scd).
#
# Completion: bash-completion's main script and each completion file are
# sourced, COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT are set as bash sets
# them for a command line, the completion function is called and COMPREPLY
# is checked. The tools are the built ones, found through PATH as an
# installed tool would be.
#
# No drift: every option each --help lists (and each tracefs-setup
# command's --help) must be offered by the completion and documented in the
# man page's OPTIONS section, and the man page may document no other; the
# man pages must render without a warning from man --warnings; --help must
# point at the man page, not at a docs/ path.
#
#   tests/completion/completion_test.sh BUILD_DIR
# Exit status: 0 passed, 1 failed, 77 skipped (bash-completion or man-db is
# missing), a failure instead when BPFREADY_REQUIRE_SYSTEM_TESTS is set.
set -uo pipefail

build=$(cd "${1:?usage: completion_test.sh BUILD_DIR}" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
completion_dir=$source_dir/setup/completion
bash_completion=/usr/share/bash-completion/bash_completion

die() { echo "FAIL: $*" >&2; exit 1; }
skip() {
  [ -z "${BPFREADY_REQUIRE_SYSTEM_TESTS:-}" ] || die "$* (BPFREADY_REQUIRE_SYSTEM_TESTS is set)"
  echo "SKIP: $*"
  exit 77
}

for tool in ebpf_diag syscount tracefs-setup; do
  [ -x "$build/tools/$tool/$tool" ] || die "no $build/tools/$tool/$tool: build first"
  [ -f "$build/man/$tool.8.gz" ] || die "no $build/man/$tool.8.gz: build first (target manpages)"
  [ -f "$completion_dir/$tool" ] || die "no $completion_dir/$tool"
done
[ -f "$bash_completion" ] || skip "bash-completion is not installed (setup/install-deps.sh)"
command -v man >/dev/null || skip "man is not installed (package man-db; setup/install-deps.sh)"

export PATH="$build/tools/ebpf_diag:$build/tools/syscount:$build/tools/tracefs-setup:$PATH"
export LC_ALL=C
tmp=$(mktemp -d /tmp/bpfready-completion-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/sub" "$tmp/empty"
: >"$tmp/subfile"
# No completion of the user running the test may take part.
export BASH_COMPLETION_USER_DIR=$tmp/empty XDG_DATA_HOME=$tmp/empty

failures=0
# flat TEXT: the lines of TEXT on one line, separated by blanks.
flat() { tr '\n' ' ' <<<"$1" | sed 's/ *$//'; }
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# complete LINE: the completions bash would offer with the cursor at the
# end of LINE, one per line. LINE is split into words as bash splits it
# (blanks, and `=` as a word of its own); a LINE ending in a blank
# completes an empty word. Runs in a subshell, as a fresh shell would.
complete_line() (
  # bash-completion is not written for nounset.
  set +u
  local line=$1 word rest
  local -a words=()
  read -ra words <<<"$line"
  [[ $line == *' ' || ${#words[@]} -eq 0 ]] && words+=("")
  local -a split=()
  for word in "${words[@]}"; do
    while [[ $word == *=* ]]; do
      rest=${word#*=}
      [[ -n ${word%%=*} ]] && split+=("${word%%=*}")
      split+=("=")
      word=$rest
    done
    [[ -n $word || ${#split[@]} -eq 0 || ${split[-1]} != "=" ]] && split+=("$word")
  done
  # shellcheck disable=SC1090
  source "$bash_completion"
  # compopt works only while bash itself runs a completion.
  # shellcheck disable=SC2317
  compopt() { :; }
  local tool
  for tool in ebpf_diag syscount tracefs-setup; do
    # shellcheck disable=SC1090
    source "$completion_dir/$tool"
  done
  COMP_WORDS=("${split[@]}")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE=$line
  COMP_POINT=${#line}
  local spec
  spec=$(complete -p "${COMP_WORDS[0]}" 2>/dev/null) || {
    _completion_loader "${COMP_WORDS[0]}"
    spec=$(complete -p "${COMP_WORDS[0]}" 2>/dev/null)
  } || { echo "no completion for ${COMP_WORDS[0]}" >&2; return 1; }
  local function=${spec#*-F }
  function=${function%% *}
  COMPREPLY=()
  local previous=
  ((COMP_CWORD > 0)) && previous=${COMP_WORDS[COMP_CWORD - 1]}
  "$function" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "$previous" 2>"$tmp/stderr"
  [ -s "$tmp/stderr" ] && { echo "completion wrote to stderr: $(cat "$tmp/stderr")" >&2; return 1; }
  [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort -u
)

# expect_has LINE WORD...: the completions of LINE include every WORD.
expect_has() {
  local line=$1 got word
  shift
  got=$(complete_line "$line") || { fail "[$line]: the completion failed"; return; }
  for word in "$@"; do
    grep -qxF -- "$word" <<<"$got" || fail "[$line]: '$word' not offered; offered: $(flat "$got")"
  done
}

# expect_only LINE WORD...: the completions of LINE are exactly the WORDs
# (none when no WORD is given).
expect_only() {
  local line=$1 got want
  shift
  got=$(complete_line "$line") || { fail "[$line]: the completion failed"; return; }
  want=$( (($# == 0)) || printf '%s\n' "$@" | sort -u)
  [ "$got" = "$want" ] || fail "[$line]: offered [$(flat "$got")], expected [$(flat "$want")]"
}

# expect_lacks LINE WORD...: the completions of LINE include no WORD.
expect_lacks() {
  local line=$1 got word
  shift
  got=$(complete_line "$line") || { fail "[$line]: the completion failed"; return; }
  for word in "$@"; do
    grep -qxF -- "$word" <<<"$got" && fail "[$line]: '$word' offered"
  done
}

# --- ebpf_diag ---------------------------------------------------------------
probe_ids=$(ebpf_diag --list-checks | cut -d' ' -f1 | grep '^probe\.')
[ "$(wc -l <<<"$probe_ids")" -ge 3 ] || die "ebpf_diag --list-checks lists no probe ids"
expect_only "ebpf_diag --che" --check
# shellcheck disable=SC2086
expect_only "ebpf_diag --check probe." $probe_ids
expect_has "ebpf_diag --check " kernel.release caps.effective tracefs.event_id probe.raw_tp
expect_only "ebpf_diag --check=probe.ra" probe.raw_tp
expect_only "ebpf_diag --require " syscount tp_btf raw_tp perf_tp
expect_only "ebpf_diag --require syscount,raw" syscount,raw_tp
expect_only "ebpf_diag --color " auto always never
expect_has "ebpf_diag --user ro" root
expect_only "ebpf_diag --root $tmp/su" "$tmp/sub"
expect_only "ebpf_diag --textfile $tmp/su" "$tmp/sub"
expect_only "ebpf_diag --binary $tmp/su" "$tmp/sub" "$tmp/subfile"
expect_has "ebpf_diag --json -" --quiet --no-probe --list-checks
expect_has "sudo ebpf_diag --user root --bin" --binary

# --- syscount ----------------------------------------------------------------
expect_has "syscount --syscall ope" open openat openat2
expect_only "syscount --syscall openat,clock_nano" openat,clock_nanosleep
expect_has "syscount --histogram wri" write writev
expect_lacks "syscount --syscall ope" read
# The categories offered are the ones syscount's --help names.
categories=$(syscount --help | sed -n 's/.*Report only these categories: //p' | tr -d ' ' | tr , ' ')
[ -n "$categories" ] || fail "syscount --help names no categories"
# shellcheck disable=SC2086
expect_only "syscount --category " $categories
expect_only "syscount --category file_io,net" file_io,network
expect_has "syscount -p " 1 "$$"
expect_has "syscount --pid 1,$$" "1,$$"
expect_only "syscount --flavour " auto tp_btf raw_tp
expect_only "syscount -S " count time errors name
expect_only "syscount -d " 
expect_only "syscount --map-entries " 
expect_has "syscount -u ro" root
expect_only "syscount -o $tmp/su" "$tmp/sub" "$tmp/subfile"
expect_only "syscount --cgroup $tmp/su" "$tmp/sub"
expect_only "syscount --by" --by-process --by-thread
expect_has "syscount -" -- --all --pid --errno --list
# A command after --, or after the options without --, is completed as a
# command, then with its own completion (ls: bash-completion's long options).
expect_has "syscount -- ls" ls lsblk
expect_has "syscount -- ls --al" --all --almost-all
expect_has "syscount -d 5 -e ls --al" --all --almost-all
expect_has "syscount -e ech" echo
expect_has "syscount -d5 ech" echo
expect_lacks "syscount -- ls --al" --all-pids --pid
expect_has "syscount -p 1 -- ech" echo

# --- tracefs-setup -----------------------------------------------------------
commands=$(tracefs-setup --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ "$(flat "$commands")" = "plan apply status revert" ] || fail "tracefs-setup --help lists [$(flat "$commands")]"
expect_only "tracefs-setup ap" apply
# shellcheck disable=SC2086
expect_only "tracefs-setup " $commands
expect_only "tracefs-setup --root $tmp/su" "$tmp/sub"
# shellcheck disable=SC2086
expect_only "tracefs-setup --root $tmp " $commands
expect_has "tracefs-setup apply --" --binary --user --group --tracefs-read --caps --force
expect_lacks "tracefs-setup apply --" --root --version
expect_has "tracefs-setup --root $tmp plan -" -b -u -g
expect_only "tracefs-setup status -" -h --help
expect_only "tracefs-setup apply -b $tmp/su" "$tmp/sub" "$tmp/subfile"
expect_only "tracefs-setup apply --binary=$tmp/su" "$tmp/sub" "$tmp/subfile"
expect_has "tracefs-setup plan -g ro" root
expect_has "tracefs-setup plan --user ro" root
expect_has "tracefs-setup apply --user root --binary /usr/bin/env --tr" --tracefs-read
expect_only "sudo tracefs-setup ap" apply

# --- No drift between --help, the completion and the man page ----------------

# help_options TOOL [COMMAND]: every option name --help lists, one a line.
help_options() {
  "$@" --help | grep -E '^  -[^ ]' | sed -E 's/^  //; s/[ ].*//' | tr , '\n' | sort -u
}

# man_section PAGE SECTION: the text of SECTION of the rendered PAGE.
man_section() {
  MANWIDTH=200 man -l "$1" 2>/dev/null | awk -v section="$2" '
    /^[A-Z][A-Z ]*$/ { inside = ($0 == section); next }
    inside'
}

# man_options PAGE: every option name an entry of OPTIONS documents
# ("       -q, --quiet" or "       --textfile DIR"), one a line.
man_options() {
  man_section "$1" OPTIONS | grep -E '^       -' | sed -E 's/^ +//' | sed 's/, /\n/g' |
    sed -E 's/[ ].*//' | sort -u
}

for tool in ebpf_diag syscount tracefs-setup; do
  page=$build/man/$tool.8.gz
  help=$(help_options "$tool")
  completion_line="$tool -"
  if [ "$tool" = tracefs-setup ]; then
    for command in $commands; do
      sub=$(help_options tracefs-setup "$command")
      # shellcheck disable=SC2086
      expect_has "tracefs-setup $command -" $sub
      help=$(printf '%s\n%s\n' "$help" "$sub" | sort -u)
    done
  fi
  mapfile -t top < <(help_options "$tool")
  expect_has "$completion_line" "${top[@]}"
  [ "$(wc -l <<<"$help")" -ge 3 ] || fail "$tool --help: no options found"

  documented=$(man_options "$page")
  missing=$(comm -23 <(echo "$help") <(echo "$documented"))
  extra=$(comm -13 <(echo "$help") <(echo "$documented"))
  [ -z "$missing" ] || fail "$tool(8) does not document: $(flat "$missing")"
  [ -z "$extra" ] || fail "$tool(8) documents options --help does not list: $(flat "$extra")"

  warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "man --warnings -l $page: $warnings"
  # As lintian renders it (groff-message).
  warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=120 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "man --warnings -E UTF-8 -l -Tutf8 -Z $page (lintian's check): $warnings"
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" FILES EXAMPLES "SEE ALSO"; do
    [ -n "$(man_section "$page" "$section")" ] || fail "$tool(8) has no $section section"
  done
  see_also=$(man_section "$page" "SEE ALSO")
  for other in ebpf_diag syscount tracefs-setup; do
    [ "$other" = "$tool" ] && continue
    grep -qF "$other(8)" <<<"$see_also" || fail "$tool(8) SEE ALSO does not name $other(8)"
  done
  grep -qF "/usr/share/doc/bpfready/$tool.md" <<<"$see_also" ||
    fail "$tool(8) SEE ALSO does not name /usr/share/doc/bpfready/$tool.md"

  tool_help=$("$tool" --help)
  grep -qF "$tool(8)" <<<"$tool_help" || fail "$tool --help does not name $tool(8)"
  if grep -qE '(^|[^/])docs/' <<<"$tool_help"; then
    fail "$tool --help still refers to a docs/ path: $(grep -E '(^|[^/])docs/' <<<"$tool_help")"
  fi
done

# tracefs-setup(8) COMMANDS: exactly the commands of --help.
documented=$(man_section "$build/man/tracefs-setup.8.gz" COMMANDS | sed -n 's/^       \([a-z][a-z-]*\)$/\1/p')
[ "$(flat "$documented")" = "$(flat "$commands")" ] ||
  fail "tracefs-setup(8) COMMANDS documents [$(flat "$documented")], --help lists [$(flat "$commands")]"

if [ "$failures" -gt 0 ]; then
  echo "completion_test: $failures failure(s)" >&2
  exit 1
fi
echo "completion_test: passed"
