#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Long fuzz runs: build the libFuzzer targets with clang (-Dfuzz=true, ASan+UBSan)
# and run each for SECONDS, one after the other, printing the executions.
#
# Usage: scripts/fuzz.sh [packet|conf|cli|all] [SECONDS]    (default: all 600)
# Environment: MG_BUILD_FUZZ (build directory, default build-fuzz/),
#              MG_FUZZ_JOBS (parallel fuzzing processes per target, default 1),
#              MG_FUZZ_CPU (the CPU to run on: two runs side by side, each on its own)
# Inputs that found new coverage stay in MG_BUILD_FUZZ/test/fuzz/work-<target>/corpus
# (the next run starts from them); a crash leaves crash-* there and ends the run
# with its stack. Minimize it and commit it to test/fuzz/regressions/<target>/ with
# the fix: the suite replays every file there (see doc/hardening.md).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

target=${1:-all}
secs=${2:-600}
case "$target" in
all) targets=(packet conf cli) ;;
packet|conf|cli) targets=("$target") ;;
-h|--help) sed -n '3,13p' "$0"; exit 0 ;;
*) echo "fuzz: unknown target $target (packet, conf, cli, all)" >&2; exit 2 ;;
esac

mg_fuzz_build || exit 1
rc=0
for t in "${targets[@]}"; do
	jobs=${MG_FUZZ_JOBS:-1}
	if [ "$jobs" -gt 1 ]; then
		export MG_FUZZ_EXTRA="-fork=$jobs"
	fi
	bash "$MG_ROOT/test/fuzz/run.sh" "$MG_BUILD_FUZZ/test/fuzz/fuzz_$t" "$MG_ROOT/test/fuzz" "$t" \
		"$MG_BUILD_FUZZ/test/fuzz/work-$t" "$secs" || rc=1
done
exit $rc
