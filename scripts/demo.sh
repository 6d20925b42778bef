#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# meshgate's demo (README command 1, after scripts/setup.sh):
#   1. builds the test bed (scripts/testbed.sh): a client namespace, three backend
#      namespaces running HTTP servers, a switch namespace with two bridges;
#   2. starts meshgate on its embedded default configuration (no --config): TAP
#      ports mgtap-c (10.10.0.1) and mgtap-b (10.20.0.1), Service demo/web
#      10.96.0.10:80 -> 10.20.0.11-13:8080, and joins its TAPs to the bridges;
#   3. sends requests from the client to the VIP and shows which backend served each;
#   4. kills one backend's server (its port now answers SYN with RST) and sends more
#      requests: meshgate retries the next endpoint, the client never sees the failure,
#      and after 5 refused connects in a row outlier detection ejects the endpoint;
#   5. restarts the server: the endpoint is re-admitted when its ejection ends (the
#      demo shortens it to 5 s with the CLI, over meshgate's Unix socket) and takes
#      its share again;
#   6. stops meshgate with SIGINT (it prints its counters) and removes the test bed.
# Exit status: non-zero if any request failed.
#
# Usage: scripts/demo.sh [--requests N] [--prefix P] [--workers N]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N=30
PREFIX=mg
WORKERS=1
while [ $# -gt 0 ]; do
	case "$1" in
	--requests) N=$2; shift ;;
	--prefix) PREFIX=$2; shift ;;
	--workers) WORKERS=$2; shift ;;
	-h|--help) sed -n '3,17p' "$0"; exit 0 ;;
	*) echo "demo: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo scripts/demo.sh)" >&2; exit 1; }

VIP=10.96.0.10
TB=("$MG_ROOT/scripts/testbed.sh" -q -p "$PREFIX")
CLIENT_NS=$PREFIX-c1
declare -A BACKEND_IP=([b1]=10.20.0.11 [b2]=10.20.0.12 [b3]=10.20.0.13)
WORK=$(mktemp -d /tmp/meshgate-demo.XXXXXX)
MGLOG=$WORK/meshgate.log
MG_PID=
FAILED=0

if [ -t 1 ]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; D=$'\e[2m'; N0=$'\e[0m'; else B= G= R= D= N0=; fi
title() { echo; echo "${B}== $*${N0}"; }

stop_meshgate() {
	[ -n "$MG_PID" ] || return 0
	if mg_running "$MG_PID"; then
		kill -INT "$MG_PID" 2>/dev/null || true
		for _ in $(seq 100); do mg_running "$MG_PID" || break; sleep 0.1; done
		if mg_running "$MG_PID"; then
			echo "demo: meshgate did not stop on SIGINT within 10 s: killing it"
			kill -KILL "$MG_PID" 2>/dev/null || true
		fi
	fi
	wait "$MG_PID" 2>/dev/null && MG_RC=0 || MG_RC=$?
	MG_PID=
}

cleanup() {
	stop_meshgate
	"${TB[@]}" down >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

if [ ! -x "$MG_BIN" ]; then
	echo "demo: $MG_BIN is not built: run scripts/setup.sh first" >&2
	exit 1
fi
for t in mgtap-c mgtap-b; do
	if ip link show dev "$t" >/dev/null 2>&1; then
		echo "demo: interface $t already exists: is another meshgate running on the default configuration?" >&2
		exit 1
	fi
done

# ---------------------------------------------------------------- 1. test bed
title "1. test bed: namespaces $PREFIX-sw (bridges), $CLIENT_NS (client), $PREFIX-b1..b3 (backends)"
"${TB[@]}" up
cat <<EOF
   client $CLIENT_NS 10.10.0.2 --br-client-- [mgtap-c 10.10.0.1  meshgate  10.20.0.1 mgtap-b] --br-backend-- b1 10.20.0.11:8080
                                                                                                    b2 10.20.0.12:8080
                                                                                                    b3 10.20.0.13:8080
EOF

# ---------------------------------------------------------------- 2. meshgate
if [ "$WORKERS" -le 1 ]; then LCORES=(-l 0-1); else
	LCORES=(--lcores "0@0,$(seq -s, 1 "$WORKERS" | sed 's/\([0-9]*\)/\1@1/g')")
fi
EAL=("${LCORES[@]}" --file-prefix "$PREFIX-demo" --no-pci --log-level lib.eal:error $(mg_eal_mem))
title "2. meshgate on its embedded default configuration"
SOCK=$WORK/cli.sock
echo "   $MG_BIN ${EAL[*]} -- --idle-sleep 20 --cli-socket $SOCK"
"$MG_BIN" "${EAL[@]}" -- --idle-sleep 20 --cli-socket "$SOCK" </dev/null >"$MGLOG" 2>&1 &
MG_PID=$!
for _ in $(seq 300); do
	grep -q "meshgate: running" "$MGLOG" && break
	if ! mg_running "$MG_PID"; then
		echo "demo: meshgate exited before it was running:"; cat "$MGLOG"; MG_PID=; exit 1
	fi
	sleep 0.1
done
grep -q "meshgate: running" "$MGLOG" || { echo "demo: meshgate not running after 30 s:"; cat "$MGLOG"; exit 1; }
grep "^meshgate:" "$MGLOG" | sed 's/^/   /'
"${TB[@]}" attach
echo "   TAP ports mgtap-c and mgtap-b joined to the bridges in $PREFIX-sw"
for _ in $(seq 50); do
	ip netns exec "$CLIENT_NS" ping -c 1 -W 1 10.10.0.1 >/dev/null 2>&1 && break
	sleep 0.2
done
echo "   client -> gateway: $(ip netns exec "$CLIENT_NS" ping -c 3 -i 0.2 -W 1 10.10.0.1 | grep -E 'packets transmitted')"

# cli COMMAND...: run commands on meshgate's CLI socket, print the answers
cli() {
	printf '%s\n' "$@" | $MG_PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
while True:
    d = s.recv(65536)
    if not d:
        break
    sys.stdout.buffer.write(d)
' "$SOCK"
}
ep_state() {   # ep_state IP: the first line of "show endpoint IP" (captured whole: pipefail)
	local out
	out=$(cli "show endpoint $1" 2>/dev/null) || true
	echo "${out%%$'\n'*}"
}
show_cli() {   # show_cli COMMAND: echo it as at the prompt, then its answer
	echo "   ${D}meshgate> $1${N0}"
	cli "$1" | grep -v '^# ok' | sed 's/^/     /'
}

# ---------------------------------------------------------------- 3./4. requests
declare -A TALLY
round() {   # round LABEL: N requests, a new TCP connection each
	local i out rc code backend ms
	for b in b1 b2 b3; do TALLY[$b]=0; done
	local fails=0
	for ((i = 1; i <= N; i++)); do
		rc=0
		out=$(ip netns exec "$CLIENT_NS" curl -s -m 10 -H 'Connection: close' \
			-w ' %{http_code} %{time_total}' "http://$VIP/" 2>&1) || rc=$?
		if [ "$rc" -eq 0 ]; then
			read -r backend code secs <<< "$(echo $out)"
			backend=${backend#backend=}
			ms=$(awk -v s="$secs" 'BEGIN { printf "%.1f", s * 1000 }')
			TALLY[$backend]=$(( ${TALLY[$backend]:-0} + 1 ))
			printf "   %3d  10.10.0.2 -> %s:80  HTTP %s  served by %s%-3s%s (%s:8080)  %6s ms\n" \
				"$i" "$VIP" "$code" "$G" "$backend" "$N0" "${BACKEND_IP[$backend]:-?}" "$ms"
		else
			fails=$((fails + 1))
			printf "   %3d  10.10.0.2 -> %s:80  %sFAILED (curl exit %d)%s\n" "$i" "$VIP" "$R" "$rc" "$N0"
		fi
	done
	echo "   tally:"
	for b in b1 b2 b3; do
		local c=${TALLY[$b]} bar
		bar=$(printf '%*s' "$c" '' | tr ' ' '#')
		printf "     %s (%s)  %3d  %s\n" "$b" "${BACKEND_IP[$b]}" "$c" "$bar"
	done
	if [ "$fails" -eq 0 ]; then
		echo "   ${G}$N of $N requests succeeded${N0}"
	else
		echo "   ${R}$fails of $N requests FAILED${N0}"
	fi
	FAILED=$((FAILED + fails))
}

title "3. $N HTTP requests from the client to the Service VIP $VIP:80 (a new TCP connection each)"
round

title "4. backend b2's server is killed: 10.20.0.12:8080 now answers every SYN with RST"
show_cli "set outlier baseEjectionTime 5s"
"${TB[@]}" server-stop b2
echo "   meshgate still picks b2 now and then; on its RST it sends the client's SYN to"
echo "   another endpoint, so the client never sees the failure. After 5 refused connects"
echo "   in a row, outlier detection ejects b2: it gets no new connections at all."
round
if [ "${TALLY[b2]}" -ne 0 ]; then
	echo "   ${R}b2 served ${TALLY[b2]} requests after its server was killed?${N0}"
	FAILED=$((FAILED + 1))
fi
# After its first refusals b2's latency score drops, so it is picked less often and
# 30 requests may have tried it fewer than 5 times: more requests until it is out.
extra=0 extra_fail=0
while [[ "$(ep_state 10.20.0.12)" != *EJECTED* ]] && [ "$extra" -lt 300 ]; do
	ip netns exec "$CLIENT_NS" curl -s -m 10 -o /dev/null -H 'Connection: close' "http://$VIP/" ||
		extra_fail=$((extra_fail + 1))
	extra=$((extra + 1))
done
if [ "$extra" -gt 0 ]; then
	echo "   b2 had been tried fewer than 5 times: $extra more requests until it was ejected" \
		"($extra_fail failed)"
	FAILED=$((FAILED + extra_fail))
fi
grep "ejected" "$MGLOG" | sed 's/^/   log: /' | tail -2 || true
show_cli "show endpoint 10.20.0.12"
if [[ "$(ep_state 10.20.0.12)" != *EJECTED* ]]; then
	echo "   ${R}b2 was not ejected${N0}"
	FAILED=$((FAILED + 1))
fi

title "5. b2's server is back: re-admitted when its ejection ends, it takes its share again"
"${TB[@]}" server-start b2
t0=$(date +%s.%N)
for _ in $(seq 200); do
	[[ "$(ep_state 10.20.0.12)" == *healthy* ]] && break
	sleep 0.1
done
t1=$(date +%s.%N)
grep "re-admitted" "$MGLOG" | sed 's/^/   log: /' | tail -1 || true
show_cli "show endpoints"
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "   re-admitted %.1f s after the server came back (ejection: 5 s from the 5th failure)\n", b - a }'
round
# Re-admitted at readmitScore (half weight), b2 takes about a fifth of new
# connections at first: a round of 30 can miss it (rarely). More until it serves.
extra=0
while [ "${TALLY[b2]}" -eq 0 ] && [ "$extra" -lt 300 ]; do
	out=$(ip netns exec "$CLIENT_NS" curl -s -m 10 -H 'Connection: close' "http://$VIP/" 2>/dev/null) || true
	extra=$((extra + 1))
	[[ "$out" == backend=b2* ]] && TALLY[b2]=1
done
if [ "$extra" -gt 0 ]; then
	echo "   b2 was not picked in this round; $extra more requests until it served one"
fi
if [ "${TALLY[b2]}" -eq 0 ]; then
	echo "   ${R}b2 got nothing after its re-admission${N0}"
	FAILED=$((FAILED + 1))
fi

# ---------------------------------------------------------------- 5. stop
title "6. meshgate stopped with SIGINT: its counters"
stop_meshgate
sed -n '/meshgate: stopping/,$p' "$MGLOG" | sed 's/^/   /'
if [ "${MG_RC:-1}" -ne 0 ]; then
	echo "   ${R}meshgate exited with status $MG_RC${N0}"
	FAILED=$((FAILED + 1))
fi
"${TB[@]}" down
echo
if [ "$FAILED" -eq 0 ]; then
	echo "${B}${G}demo: every request succeeded, also with a backend down; it was ejected and re-admitted.${N0}"
	exit 0
fi
echo "${B}${R}demo: $FAILED failures${N0}"
exit 1
