#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Run every meshgate test: the unit tests (meson test --suite unit), then the
# end-to-end suite (pytest, network namespaces + net_tap, needs root). The last
# line printed is the sum of both:  "N passed, N failed".
#
# Usage: scripts/test.sh [--unit-only | --e2e-only] [extra pytest arguments]
# Environment: MG_BUILD (build directory, default build/), MG_E2E_TIMEOUT (s, default 2400)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUN_UNIT=1
RUN_E2E=1
PYTEST_ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--unit-only) RUN_E2E=0 ;;
	--e2e-only) RUN_UNIT=0 ;;
	-h|--help) sed -n '3,10p' "$0"; exit 0 ;;
	*) PYTEST_ARGS+=("$1") ;;
	esac
	shift
done

export PYTHONDONTWRITEBYTECODE=1
RESULTS=$MG_BUILD/test-results
mkdir -p "$RESULTS" 2>/dev/null || RESULTS=$(mktemp -d)
UNIT_SUM="0 0 0"
E2E_SUM="0 0 0"

# ---------------------------------------------------------------- unit
if [ "$RUN_UNIT" = 1 ]; then
	echo "=== unit tests: meson test -C $MG_BUILD --suite unit"
	rm -f "$MG_BUILD/meson-logs/testlog.json"
	meson test -C "$MG_BUILD" --suite unit --print-errorlogs
	unit_rc=$?
	# one line "passed failed skipped": cmocka's own counts per program where it printed
	# them, else the program's meson result
	UNIT_SUM=$($MG_PY - "$MG_BUILD/meson-logs/testlog.json" "$unit_rc" <<'EOF'
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
) || UNIT_SUM="0 1 0"
	read -r up uf us <<< "$UNIT_SUM"
	echo "=== unit tests: $up passed, $uf failed, $us skipped (meson test exit $unit_rc)"
fi

# ---------------------------------------------------------------- end to end
if [ "$RUN_E2E" = 1 ]; then
	echo "=== end-to-end tests: pytest test/e2e (EAL memory: '$(mg_eal_mem)')"
	junit=$RESULTS/e2e-junit.xml
	rm -f "$junit"
	( cd "$MG_ROOT" && MG_BUILD=$MG_BUILD timeout --signal=INT --kill-after=60 "${MG_E2E_TIMEOUT:-2400}" \
		$MG_PY -m pytest test/e2e -v -p no:cacheprovider -rfE --junitxml="$junit" \
		"${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"}" </dev/null )
	e2e_rc=$?
	E2E_SUM=$($MG_PY - "$junit" "$e2e_rc" <<'EOF'
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
) || E2E_SUM="0 1 0"
	read -r ep ef es <<< "$E2E_SUM"
	echo "=== end-to-end tests: $ep passed, $ef failed, $es skipped (pytest exit $e2e_rc; report $junit)"
fi

read -r up uf us <<< "$UNIT_SUM"
read -r ep ef es <<< "$E2E_SUM"
passed=$((up + ep))
failed=$((uf + ef))
skipped=$((us + es))
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
