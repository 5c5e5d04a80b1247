#!/usr/bin/env bash
# Guards the layout rules of docs/architecture.md that a compiler cannot see:
#   - libcheck/ never includes anything under tools/;
#   - no source file is longer than 600 lines;
#   - CMake lists every source (no file(GLOB)) and never drops a target silently
#     (no if(EXISTS)/if(TARGET) guards).
# Exits 1 and names each violation. Function length (80 lines) is checked by
# clang-tidy's readability-function-size (see .clang-tidy).
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
violation() { echo "check-layout: $*" >&2; status=1; }

while IFS= read -r hit; do
  violation "libcheck must not include a tool's code: $hit"
done < <(grep -rn '#include "tools/' libcheck || true)

while IFS= read -r file; do
  lines=$(wc -l < "$file")
  (( lines <= 600 )) || violation "$file has $lines lines (at most 600: split it)"
done < <(git ls-files 'libcheck/*.cpp' 'libcheck/*.h' 'tools/*.cpp' 'tools/*.h' 'bpf/*.c' 'bpf/*.h')

while IFS= read -r hit; do
  violation "list sources explicitly, and let a missing target fail: $hit"
done < <(git ls-files 'CMakeLists.txt' '*/CMakeLists.txt' 'cmake/*.cmake' |
           xargs grep -nE 'file\(GLOB|if\((NOT )?TARGET|if\(EXISTS \$\{CMAKE_CURRENT_SOURCE_DIR' || true)

[ "$status" -ne 0 ] || echo "check-layout: ok"
exit "$status"
