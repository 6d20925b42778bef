#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Prepare a Debian 12 machine for meshgate, idempotently: install the packages
# (apt), load the kernel modules the test bed uses, reserve hugepages (or say
# that the EAL will run with --no-huge), and build with meson/ninja.
# Runs as root, needs no terminal (CI=true, no stdin).
#
# Usage: scripts/setup.sh [--no-apt] [--no-build] [--hugepages N]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DO_APT=1
DO_BUILD=1
NR_HUGE=${MG_HUGEPAGES:-1024}
while [ $# -gt 0 ]; do
	case "$1" in
	--no-apt) DO_APT=0 ;;
	--no-build) DO_BUILD=0 ;;
	--hugepages) NR_HUGE=$2; shift ;;
	-h|--help) sed -n '3,10p' "$0"; exit 0 ;;
	*) echo "setup: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

say() { echo "setup: $*"; }
[ "$(id -u)" = 0 ] || { echo "setup: run as root (sudo scripts/setup.sh)" >&2; exit 1; }

# ---------------------------------------------------------------- packages
PKGS=(
	# build
	build-essential meson ninja-build pkg-config
	dpdk dpdk-dev libdpdk-dev libfyaml-dev libcmocka-dev libnuma-dev libssl-dev libpcap-dev
	libipsec-mb-dev
	# tests, test bed, demo
	python3 python3-pytest python3-scapy
	iproute2 iputils-ping procps kmod nftables tcpdump
	curl wrk iperf3 nginx-light hping3
	# comparisons, fuzzing, cycle counts (later issues)
	haproxy clang valgrind
	# libFuzzer and the clang sanitizer runtimes (compiler-rt): meson -Dfuzz=true
	libclang-rt-14-dev
)
if [ "$DO_APT" = 1 ]; then
	missing=()
	for p in "${PKGS[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "packages: all ${#PKGS[@]} installed"
	else
		say "packages: installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q </dev/null
		apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
	fi
fi

# ---------------------------------------------------------------- kernel
for m in tun veth bridge; do
	modprobe -q "$m" 2>/dev/null || true
done
[ -c /dev/net/tun ] || say "warning: /dev/net/tun is missing: net_tap ports will not work"

# ---------------------------------------------------------------- hugepages
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
	mkdir -p /dev/hugepages
	if mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null; then
		say "hugepages: mounted hugetlbfs on /dev/hugepages"
	else
		say "hugepages: cannot mount hugetlbfs on /dev/hugepages"
	fi
fi
total=$(awk '/^HugePages_Total:/ { print $2 }' /proc/meminfo)
if [ "${total:-0}" -lt "$NR_HUGE" ]; then
	echo "$NR_HUGE" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
	total=$(awk '/^HugePages_Total:/ { print $2 }' /proc/meminfo)
	say "hugepages: asked for $NR_HUGE, the kernel reserved $total"
fi
free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
size=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
eal_mem=$(mg_eal_mem)
if [ -z "$eal_mem" ]; then
	say "hugepages: $total x ${size} kB reserved, $free free: the EAL uses hugepages"
else
	say "hugepages: only ${free:-0} free: scripts run the EAL with '$eal_mem'"
fi

# ---------------------------------------------------------------- build
if [ "$DO_BUILD" = 1 ]; then
	cd "$MG_ROOT"
	if [ -f "$MG_BUILD/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$MG_BUILD" >/dev/null || meson setup --wipe "$MG_BUILD"
	else
		meson setup "$MG_BUILD"
	fi
	ninja -C "$MG_BUILD"
	if [ -x "$MG_BIN" ]; then
		say "built $MG_BIN"
	else
		say "warning: the build has no $MG_BIN"
	fi
fi
say "done"
