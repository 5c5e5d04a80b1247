#!/usr/bin/env bash
# Long fuzzing runs: setup/fuzz.sh with SECONDS_EACH per harness (default
# 600, i.e. about 2 h for all of them), for a machine that has the time.
#
#   ./bench/fuzz_long.sh [SECONDS_EACH] [NAME...]
#
# Same build, corpora, findings and exit status as setup/fuzz.sh. The grown
# corpora stay in build-fuzz/fuzz-corpus/NAME; to keep what they found,
# merge them into the committed seeds, which stay small:
#   build-fuzz/tests/fuzz/fuzz_NAME -merge=1 -max_len=4096 tests/fuzz/corpus/NAME build-fuzz/fuzz-corpus/NAME
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
exec ./setup/fuzz.sh "$seconds" "$@"
