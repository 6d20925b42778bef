#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Run every meshgate test: the unit tests (meson test --suite unit), the
# end-to-end suite (pytest, network namespaces + net_tap, needs root), then the
# hardening runs: a second build with AddressSanitizer+UndefinedBehaviorSanitizer
# (-Dsanitize=true, build-san/) running the unit tests and the end-to-end tests
# again (--no-huge), and the libFuzzer targets (clang,
# -Dfuzz=true, build-fuzz/), each replaying its corpus and regressions, then
# fuzzing for MG_FUZZ_SECONDS (meson test --suite fuzz). The last line printed
# is the sum of all:  "N passed, N failed".
#
# Usage: scripts/test.sh [--unit-only | --e2e-only] [--no-sanitize] [--no-fuzz]
#                        [extra pytest arguments]
#   --unit-only: unit tests, plain and sanitized; --e2e-only: end-to-end tests,
#   plain and sanitized. Neither runs the fuzzers.
# Environment: MG_BUILD (build directory, default build/), MG_E2E_TIMEOUT (s, default 2400),
#   MG_BUILD_SAN, MG_BUILD_FUZZ (default build-san/, build-fuzz/), MG_FUZZ_SECONDS
#   (per fuzz target, default 60), MG_SAN_E2E (what pytest runs under the
#   sanitizers, default test/e2e: all of it, about 4 minutes here)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUN_UNIT=1
RUN_E2E=1
RUN_SAN=1
RUN_FUZZ=1
PYTEST_ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--unit-only) RUN_E2E=0; RUN_FUZZ=0 ;;
	--e2e-only) RUN_UNIT=0; RUN_FUZZ=0 ;;
	--no-sanitize) RUN_SAN=0 ;;
	--no-fuzz) RUN_FUZZ=0 ;;
	-h|--help) sed -n '3,19p' "$0"; exit 0 ;;
	*) PYTEST_ARGS+=("$1") ;;
	esac
	shift
done

export PYTHONDONTWRITEBYTECODE=1
RESULTS=$MG_BUILD/test-results
mkdir -p "$RESULTS" 2>/dev/null || RESULTS=$(mktemp -d)

# ---------------------------------------------------------------- helpers
# "passed failed skipped" of a meson test run: cmocka's own counts per
# program where it printed them, else the program's meson result
meson_sum() {	# BUILDDIR EXIT
	$MG_PY - "$1/meson-logs/testlog.json" "$2" <<'EOF' || echo "0 1 0"
import json, re, sys
path, rc = sys.argv[1], int(sys.argv[2])
p = f = s = 0
try:
    lines = open(path).read().splitlines()
except OSError:
    lines = []
for line in lines:
    if not line.strip():
        continue
    t = json.loads(line)
    res = t.get("result", "")
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    cp = sum(int(n) for n in re.findall(r"\[\s*PASSED\s*\]\s+(\d+) test", out))
    cf = sum(int(n) for n in re.findall(r"\[\s*FAILED\s*\]\s+(\d+) test", out))
    cs = sum(int(n) for n in re.findall(r"\[\s*SKIPPED\s*\]\s+(\d+) test", out))
    if res in ("OK", "EXPECTEDFAIL"):
        if cp or cf:
            p += cp; f += cf; s += cs
        else:
            p += 1
    elif res == "SKIP":
        s += 1
    else:   # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS
        p += cp
        f += max(cf, 1)
if not lines and rc != 0:
    f += 1      # meson test could not run at all
print(p, f, s)
EOF
}

# "passed failed skipped" of a pytest run, from its JUnit report
junit_sum() {	# JUNIT EXIT
	$MG_PY - "$1" "$2" <<'EOF' || echo "0 1 0"
import sys
import xml.etree.ElementTree as ET
path, rc = sys.argv[1], int(sys.argv[2])
try:
    root = ET.parse(path).getroot()
except (OSError, ET.ParseError):
    print(0, 1, 0)      # pytest did not get as far as writing its report
    sys.exit(0)
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = e = s = 0
for su in suites:
    t += int(su.get("tests", 0)); f += int(su.get("failures", 0))
    e += int(su.get("errors", 0)); s += int(su.get("skipped", 0))
passed = t - f - e - s
failed = f + e
if rc not in (0, 1, 5) and failed == 0:
    failed = 1          # interrupted, internal error or timeout
print(passed, failed, s)
EOF
}

TOTAL_P=0 TOTAL_F=0 TOTAL_S=0
add_sum() {	# LABEL "passed failed skipped" NOTE
	local p f s
	read -r p f s <<< "$2"
	TOTAL_P=$((TOTAL_P + p)); TOTAL_F=$((TOTAL_F + f)); TOTAL_S=$((TOTAL_S + s))
	echo "=== $1: $p passed, $f failed, $s skipped ($3)"
}

run_meson_suite() {	# LABEL BUILDDIR SUITE
	local rc
	echo "=== $1: meson test -C $2 --suite $3"
	rm -f "$2/meson-logs/testlog.json"
	meson test -C "$2" --suite "$3" --print-errorlogs
	rc=$?
	add_sum "$1" "$(meson_sum "$2" "$rc")" "meson test exit $rc"
}

run_pytest() {	# LABEL JUNIT [pytest arguments]
	local label=$1 junit=$2 rc
	shift 2
	echo "=== $label: pytest (EAL memory: '$(mg_eal_mem)')"
	rm -f "$junit"
	( cd "$MG_ROOT" && timeout --signal=INT --kill-after=60 "${MG_E2E_TIMEOUT:-2400}" \
		$MG_PY -m pytest -v -p no:cacheprovider -rfE --junitxml="$junit" "$@" </dev/null )
	rc=$?
	add_sum "$label" "$(junit_sum "$junit" "$rc")" "pytest exit $rc; report $junit"
}

# ---------------------------------------------------------------- unit
if [ "$RUN_UNIT" = 1 ]; then
	run_meson_suite "unit tests" "$MG_BUILD" unit
fi

# ---------------------------------------------------------------- end to end
if [ "$RUN_E2E" = 1 ]; then
	export MG_BUILD
	run_pytest "end-to-end tests" "$RESULTS/e2e-junit.xml" test/e2e \
		"${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"}"
fi

# ---------------------------------------------------------------- sanitizers
# gcc's ASan+UBSan; -fno-sanitize-recover=undefined and halt_on_error: an
# undefined behaviour stops the program and fails its test. DPDK is not
# instrumented; its memory (the EAL's mmap'ed heap) is invisible to ASan,
# which checks meshgate's own heap, stacks and globals, and to LeakSanitizer,
# whose one suppression (test/lsan.supp) is the libfyaml parser the loader
# abandons after a YAML error.
if [ "$RUN_SAN" = 1 ] && { [ "$RUN_UNIT" = 1 ] || [ "$RUN_E2E" = 1 ]; }; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$MG_ROOT/test/lsan.supp}
	echo "=== sanitizers: building $MG_BUILD_SAN (-Dsanitize=true)"
	if ! mg_build "$MG_BUILD_SAN" -Dsanitize=true -Db_lto=false; then
		add_sum "sanitizer build" "0 1 0" "meson or ninja failed"
	else
		if [ "$RUN_UNIT" = 1 ]; then
			run_meson_suite "unit tests (ASan+UBSan)" "$MG_BUILD_SAN" unit
		fi
		if [ "$RUN_E2E" = 1 ]; then
			# All of it: the whole suite runs in about 4 minutes here
			# under ASan (MG_SAN_E2E narrows it, e.g. to test/e2e/test_proxy.py).
			read -r -a san_sel <<< "${MG_SAN_E2E:-test/e2e}"
			MG_BIN=$MG_BUILD_SAN/app/meshgate/meshgate MG_BUILD=$MG_BUILD_SAN \
				MG_EAL_MEM=${MG_SAN_EAL_MEM:---no-huge -m 1024} \
				run_pytest "end-to-end tests (ASan+UBSan)" "$RESULTS/e2e-san-junit.xml" "${san_sel[@]}"
		fi
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

# ---------------------------------------------------------------- fuzzers
if [ "$RUN_FUZZ" = 1 ]; then
	echo "=== fuzzers: building $MG_BUILD_FUZZ (clang, -Dfuzz=true)"
	if ! mg_fuzz_build; then
		add_sum "fuzz build" "0 1 0" "meson or ninja failed: clang and libclang-rt-14-dev installed?"
	else
		export MG_FUZZ_SECONDS=${MG_FUZZ_SECONDS:-60}
		run_meson_suite "fuzzers ($MG_FUZZ_SECONDS s each)" "$MG_BUILD_FUZZ" fuzz
		grep -h '^fuzz [a-z]*: .*executions' "$MG_BUILD_FUZZ/meson-logs/testlog.txt" 2>/dev/null |
			sed 's/^/=== /'
	fi
fi

if [ "$TOTAL_S" -gt 0 ]; then
	echo "$TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
else
	echo "$TOTAL_P passed, $TOTAL_F failed"
fi
[ "$TOTAL_F" -eq 0 ] && [ "$TOTAL_P" -gt 0 ]
