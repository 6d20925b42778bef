# SPDX-License-Identifier: BSD-3-Clause
# Sourced by meshgate's scripts: paths and the EAL memory options.

MG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MG_BUILD=${MG_BUILD:-$MG_ROOT/build}
MG_BIN=${MG_BIN:-$MG_BUILD/app/meshgate/meshgate}
MG_PY=/usr/bin/python3     # Debian's, with python3-pytest and python3-scapy
# Second builds of CI (scripts/test.sh): sanitizers (gcc) and fuzz targets (clang).
MG_BUILD_SAN=${MG_BUILD_SAN:-$MG_ROOT/build-san}
MG_BUILD_FUZZ=${MG_BUILD_FUZZ:-$MG_ROOT/build-fuzz}

# Configure (once) and build a build directory: mg_build DIR [meson options...]
mg_build() {
	local dir=$1
	shift
	if [ ! -f "$dir/meson-private/coredata.dat" ]; then
		meson setup "$dir" "$@" >/dev/null || return 1
	fi
	ninja -C "$dir" >/dev/null || ninja -C "$dir"
}

# The libFuzzer targets: clang, ASan+UBSan, no unit tests.
mg_fuzz_build() {
	CC=clang mg_build "$MG_BUILD_FUZZ" -Dfuzz=true -Dtests=false -Db_lto=false
}

# EAL memory options: nothing when enough hugepages are free on a mounted
# hugetlbfs, else "--no-huge -m 1024". MG_EAL_MEM overrides.
mg_eal_mem() {
	if [ -n "${MG_EAL_MEM+x}" ]; then
		echo "$MG_EAL_MEM"
		return
	fi
	local free size
	free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
	size=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
	if grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts && [ $((free * size)) -ge $((256 * 1024)) ]; then
		echo ""
	else
		echo "--no-huge -m 1024"
	fi
}

# mg_running PID: the process runs (kill -0 alone also holds for a child that
# has exited but is not reaped yet, a zombie).
mg_running() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
