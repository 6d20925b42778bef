#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The publication stress test of issue 3 at full length: the control side
# publishes a new locality-table generation every millisecond for 30 s while
# two workers carry traffic, built with AddressSanitizer and UBSan, so a
# table freed before every worker has passed a quiescent state is caught as a
# use-after-free. (The test suite runs the same test for 5 s.)
#
# Usage: scripts/stress.sh [seconds]      (build dir: $MG_BUILD_SAN, default build-san/)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SECONDS_WANTED=${1:-30}
BUILD_SAN=${MG_BUILD_SAN:-$MG_ROOT/build-san}
if [ ! -f "$BUILD_SAN/build.ninja" ]; then
	meson setup "$BUILD_SAN" "$MG_ROOT" -Dsanitize=true -Db_lto=false >/dev/null
fi
ninja -C "$BUILD_SAN" test/unit/test_control >/dev/null
# DPDK's own allocations are alive at exit by design: leaks are not what this looks for.
MG_STRESS_SECONDS=$SECONDS_WANTED ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	"$BUILD_SAN/test/unit/test_control"
