#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# One bounded fuzz run (the meson test suite 'fuzz', scripts/fuzz.sh):
#   run.sh FUZZER SRCDIR NAME WORKDIR [SECONDS]
# Replays the committed inputs (SRCDIR/corpus/NAME, SRCDIR/regressions/NAME),
# then fuzzes for SECONDS (default $MG_FUZZ_SECONDS, else 60) with them as
# the starting corpus. New inputs go to WORKDIR/corpus (never to the repo);
# a crash leaves WORKDIR/crash-* and fails the run. Prints the executions.
set -uo pipefail
fuzzer=$(realpath "$1") src=$(realpath "$2") name=$3 work=$(realpath -m "$4")
secs=${5:-${MG_FUZZ_SECONDS:-60}}
mkdir -p "$work/corpus"
rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*
# The target runs in an empty directory of its own, not beside the corpus:
# fuzz_cli's "load ." reads its working directory (see fuzz_cli.c).
rm -rf "$work/cwd" && mkdir -p "$work/cwd"
dirs=()
for d in "$src/corpus/$name" "$src/regressions/$name"; do
	[ -d "$d" ] && dirs+=("$d")
done
# detect_leaks: the targets check their own mbuf/flow accounting; LSan at
# each input is kept (heap of libfyaml, cmdline and our own code). DPDK's
# EAL memory is mmap'ed, not malloc'ed, so LSan does not see it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
[ -f "$src/lsan-$name.supp" ] && export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/lsan-$name.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# fuzz_conf: no leak check per input. The loader abandons a libfyaml parser
# that met a stream error (libfyaml 0.7.12 may crash destroying it, see
# lib/conf/mg_conf.c), so most inputs end with memory held and a check per
# input would scan the heap every time (50x slower). LeakSanitizer still runs
# at exit (lsan-conf.supp), and the sanitized unit tests check the loader.
extra=()
[ "$name" = conf ] && extra+=(-detect_leaks=0)
# RSS limit: 3 GB, but fuzz_conf 16 GB. The loader's abandoned libfyaml parsers
# (a few KiB per broken document, see above) reach 3 GB within a minute at
# ~500k documents (CI's 60 s run hit it on 2026-12-07); the limit is there to
# catch a runaway input, which 16 GB on this 24 GB machine still does.
rss=3072
[ "$name" = conf ] && rss=16384
log=$work/fuzz.log
echo "fuzz $name: $secs s, seeds: ${dirs[*]}"
# MG_FUZZ_CPU=N: on CPU N (the targets put their lcores on the first CPU they
# may use), so that two runs side by side take two cores, not one.
pin=()
[ -n "${MG_FUZZ_CPU:-}" ] && pin=(taskset -c "$MG_FUZZ_CPU")
( cd "$work/cwd" && exec "${pin[@]+"${pin[@]}"}" "$fuzzer" -max_total_time="$secs" -timeout=25 -rss_limit_mb="$rss" \
	-max_len=8192 -print_final_stats=1 -artifact_prefix="$work/" ${MG_FUZZ_EXTRA:-} "${extra[@]+"${extra[@]}"}" \
	"$work/corpus" "${dirs[@]}" ) >"$log" 2>&1
rc=$?
execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1)
if [ "$rc" -ne 0 ]; then
	tail -n 60 "$log"
	ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null
	echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} executions; log $log"
	exit 1
fi
echo "fuzz $name: ${execs:-?} executions in $secs s ($cov, $corp), no crash"
