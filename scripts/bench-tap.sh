#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real clients through the TAP test bed: requests/s (keep-alive), new
# connections/s (Connection: close) and Gbit/s (one 200 MB download), for
#   meshgate   client -> VIP 10.96.0.10:80 -> meshgate (full NAT) -> b1:8080
#   testpmd    client -> b1:8080 with dpdk-testpmd --forward-mode=io bridging the two TAPs
#              (the ceiling of the TAP path)
#   haproxy    client -> VIP 10.96.0.10:80 -> Debian's HAProxy (mode tcp, one thread) in a
#              namespace on the same two LANs over veth (testbed.sh netgw) -> b1:8080:
#              the kernel proxy the bars name as the anchor, on the kernel's veth path
#   veth       client -> b1:8080 over a veth pair between the two namespaces (no TAP, no DPDK)
# in the same run, alternating, ROUNDS times; prints medians and ratios.
# nginx serves on b1 (the same server for every path); one endpoint (b1).
# Figures, not a test: the machine is shared, compare ratios of one run only.
#
# Usage: scripts/bench-tap.sh [--rounds N] [--duration S] [--connections C]
# Environment: MG_BUILD, MG_BENCH_IDLE (meshgate --idle-sleep, default 20)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ROUNDS=3
DUR=5
CONNS=8
PREFIX=mgbn
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--connections) CONNS=$2; shift ;;
	--prefix) PREFIX=$2; shift ;;
	-h|--help) sed -n '3,20p' "$0"; exit 0 ;;
	*) echo "bench: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x "$MG_BIN" ] || { echo "bench: $MG_BIN is not built" >&2; exit 1; }

TB=("$MG_ROOT/scripts/testbed.sh" -q -p "$PREFIX")
C=$PREFIX-c1
B=$PREFIX-b1
TAPC=$PREFIX-tc
TAPB=$PREFIX-tb
WORK=$(mktemp -d /tmp/meshgate-bench.XXXXXX)
chmod 755 "$WORK"   # nginx workers run as nobody
DPDK_PID=
BIG=$((200 * 1024 * 1024))

stop_dpdk() {
	[ -n "$DPDK_PID" ] || return 0
	kill -INT "$DPDK_PID" 2>/dev/null || true
	for _ in $(seq 100); do mg_running "$DPDK_PID" || break; sleep 0.1; done
	kill -KILL "$DPDK_PID" 2>/dev/null || true
	wait "$DPDK_PID" 2>/dev/null || true
	DPDK_PID=
}
cleanup() {
	stop_dpdk
	"${TB[@]}" down >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

truncate -s "$BIG" "$WORK/big.bin"
"${TB[@]}" -n 1 --server nginx --files-dir "$WORK" up
# the veth path: c1 10.99.0.1 <-> b1 10.99.0.2
ip link add vdirect netns "$C" type veth peer name vdirect netns "$B"
ip -n "$C" addr add 10.99.0.1/30 dev vdirect
ip -n "$B" addr add 10.99.0.2/30 dev vdirect
ip -n "$C" link set vdirect up
ip -n "$B" link set vdirect up

sed -e "s/iface=mgtap-c/iface=$TAPC/" -e "s/iface=mgtap-b/iface=$TAPB/" \
	"$MG_ROOT/lib/conf/default.yaml" |
	/usr/bin/python3 -c '
import sys, re
t = sys.stdin.read()
# one endpoint: b1
t = re.sub(r"endpoints:\n(.|\n)*\Z", "endpoints:\n  - addresses: [\"10.20.0.11\"]\n    conditions: {ready: true}\n    nodeName: node-a\n", t)
print(t)' > "$WORK/mg.yaml"

wait_up() {  # wait_up LOGFILE PATTERN
	for _ in $(seq 300); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		mg_running "$DPDK_PID" || { cat "$1"; return 1; }
		sleep 0.1
	done
	cat "$1"; return 1
}

start_path() {
	case $1 in
	meshgate)
		"$MG_BIN" -l 0-1 --file-prefix "$PREFIX-mg" --no-pci --log-level lib.eal:error $(mg_eal_mem) -- \
			--config "$WORK/mg.yaml" --idle-sleep "${MG_BENCH_IDLE:-20}" </dev/null >"$WORK/mg.log" 2>&1 &
		DPDK_PID=$!
		wait_up "$WORK/mg.log" "meshgate: running"
		"${TB[@]}" --tap "$TAPC=client" --tap "$TAPB=backend" attach
		URL=http://10.96.0.10:80
		;;
	testpmd)
		# with --stats-period testpmd runs until SIGINT without reading stdin
		dpdk-testpmd -l 0-1 --file-prefix "$PREFIX-tp" --no-pci --log-level lib.eal:error \
			$(mg_eal_mem) --vdev "net_tap0,iface=$TAPC" --vdev "net_tap1,iface=$TAPB" -- \
			--forward-mode=io --stats-period 100000 </dev/null >"$WORK/tp.log" 2>&1 &
		DPDK_PID=$!
		"${TB[@]}" --tap "$TAPC=client" --tap "$TAPB=backend" attach
		ip -n "$C" route replace 10.20.0.0/24 dev eth0
		ip -n "$B" route replace 10.10.0.0/24 dev eth0
		URL=http://10.20.0.11:8080
		;;
	haproxy)
		# one thread, as meshgate has one worker; the proxy's own work is the kernel's
		"${TB[@]}" netgw 10.96.0.10/32
		cat >"$WORK/haproxy.cfg" <<-EOF
			global
			    nbthread 1
			    maxconn 4096
			defaults
			    mode tcp
			    timeout connect 1s
			    timeout client 30s
			    timeout server 30s
			frontend vip
			    bind 10.96.0.10:80
			    default_backend web
			backend web
			    server b1 10.20.0.11:8080
		EOF
		ip netns exec "$PREFIX-gw" /usr/sbin/haproxy -db -f "$WORK/haproxy.cfg" \
			</dev/null >"$WORK/haproxy.log" 2>&1 &
		DPDK_PID=$!  # (stopped the same way: by PID)
		URL=http://10.96.0.10:80
		;;
	veth)
		URL=http://10.99.0.2:8080
		;;
	esac
	# warm up (ARP, first connections)
	for _ in $(seq 20); do ip netns exec "$C" curl -s -m 2 -o /dev/null "$URL/" && break; sleep 0.2; done
}

stop_path() {
	case $1 in
	meshgate) stop_dpdk ;;
	haproxy)
		stop_dpdk
		"${TB[@]}" netgw-del
		;;
	testpmd)
		stop_dpdk
		ip -n "$C" route del 10.20.0.0/24 dev eth0 2>/dev/null || true
		ip -n "$B" route del 10.10.0.0/24 dev eth0 2>/dev/null || true
		;;
	esac
	sleep 0.5
}

wrk_rps() {  # wrk_rps URL [header]: requests/s, or 0 when there were errors
	local out
	out=$(ip netns exec "$C" wrk -t 1 -c "$CONNS" -d "${DUR}s" ${2:+-H "$2"} "$1/" 2>&1)
	echo "$out" >> "$WORK/wrk.log"
	if echo "$out" | grep -qE "Socket errors|Non-2xx"; then
		echo "$out" | grep -E "Socket errors|Non-2xx" | sed 's/^/      /' >&2
	fi
	echo "$out" | awk '/^Requests\/sec:/ { print $2 }'
}

gbps() {  # one download of big.bin; 0 unless all of it arrived
	ip netns exec "$C" curl -s -m 60 -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' \
		"$1/files/big.bin" | awk -v n="$BIG" '{ printf "%.3f", ($1 == 200 && $2 == n) ? $3 * 8 / 1e9 : 0 }'
}

declare -A R
PATHS=(testpmd meshgate haproxy veth)
if [ ! -x /usr/sbin/haproxy ]; then
	echo "bench: no /usr/sbin/haproxy (apt-get install haproxy; scripts/setup.sh does): its path is skipped" >&2
	PATHS=(testpmd meshgate veth)
fi
for ((r = 1; r <= ROUNDS; r++)); do
	for p in "${PATHS[@]}"; do
		start_path "$p"
		rps=$(wrk_rps "$URL")
		cps=$(wrk_rps "$URL" "Connection: close")
		g=$(gbps "$URL")
		stop_path "$p"
		printf "round %d  %-8s  %9.0f req/s  %8.0f conn/s  %6.3f Gbit/s\n" "$r" "$p" "${rps:-0}" "${cps:-0}" "${g:-0}"
		R[$p,rps]+="${rps:-0} "; R[$p,cps]+="${cps:-0} "; R[$p,gbps]+="${g:-0} "
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo
echo "medians of $ROUNDS rounds (wrk -t1 -c$CONNS -d${DUR}s; one 200 MB download):"
printf "  %-10s %12s %12s %10s\n" path "req/s" "conn/s" "Gbit/s"
declare -A M
for p in "${PATHS[@]}"; do
	for k in rps cps gbps; do M[$p,$k]=$(echo "${R[$p,$k]}" | median); done
	printf "  %-10s %12.0f %12.0f %10.3f\n" "$p" "${M[$p,rps]}" "${M[$p,cps]}" "${M[$p,gbps]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf "  %-10s %12s %12s %10s\n" "mg/testpmd" "$(ratio "${M[meshgate,rps]}" "${M[testpmd,rps]}")" \
	"$(ratio "${M[meshgate,cps]}" "${M[testpmd,cps]}")" "$(ratio "${M[meshgate,gbps]}" "${M[testpmd,gbps]}")"
printf "  %-10s %12s %12s %10s\n" "mg/haproxy" "$(ratio "${M[meshgate,rps]}" "${M[haproxy,rps]}")" \
	"$(ratio "${M[meshgate,cps]}" "${M[haproxy,cps]}")" "$(ratio "${M[meshgate,gbps]}" "${M[haproxy,gbps]}")"
printf "  %-10s %12s %12s %10s\n" "mg/veth" "$(ratio "${M[meshgate,rps]}" "${M[veth,rps]}")" \
	"$(ratio "${M[meshgate,cps]}" "${M[veth,cps]}")" "$(ratio "${M[meshgate,gbps]}" "${M[veth,gbps]}")"
