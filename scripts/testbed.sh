#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# meshgate's test bed: network namespaces joined to meshgate's net_tap ports.
#
#              <p>-c1 (10.10.0.2)                  <p>-b1 (10.20.0.11:8080)
#                  | veth                           | veth    <p>-b2, <p>-b3 ...
#   +--------------+------- <p>-sw ------------------+-------------+
#   |   br-client (10.10.0.0/24)          br-backend (10.20.0.0/24) |
#   +--------------+----------------------------------+-------------+
#                  | tap mgtap-c                      | tap mgtap-b
#                  +------------ meshgate (DPDK) ------+
#                    10.10.0.1             10.20.0.1
#
# The switch namespace <p>-sw holds one Linux bridge per LAN. Clients and
# backends live in namespaces of their own, each joined to its LAN's bridge by
# a veth pair; backends run a real HTTP server on :8080 whose answers name the
# backend ("backend=b1"). meshgate creates its TAP interfaces in the root
# namespace when it starts; "attach" moves them into <p>-sw and enslaves each
# to its LAN's bridge. Everything is named with a prefix (default "mg") so that
# parallel test beds do not clash, and recorded under $MG_TB_STATE/<prefix> so
# that "down" removes exactly what "up" made.
#
# Usage: testbed.sh [options] up|attach|down|status|...   (testbed.sh --help)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3

PREFIX=${MG_TB_PREFIX:-mg}
STATE_ROOT=${MG_TB_STATE:-/run/meshgate-testbed}
N_BACKENDS=3
SERVER=python
PORT=8080
FILES_DIR=
TIMEOUT=30
QUIET=0
PRINT_TIME=0
declare -a EXTRA_LANS=() EXTRA_BACKENDS=() EXTRA_CLIENTS=() CLIENT_ROUTES=() TAPS=()
N_CLIENTS=1

usage() {
	cat <<EOF
Usage: $0 [options] COMMAND [args]

Commands:
  up                    build the test bed (tears down an earlier one of the same prefix)
  attach                wait for meshgate's TAP interfaces in the root namespace, move them
                        into <prefix>-sw and enslave them to their LAN's bridge
  down                  stop the servers and remove every namespace this prefix made
  status                show namespaces, addresses, servers
  server-stop NAME      kill backend NAME's server (SIGKILL: new connections get RST)
  server-start NAME     start backend NAME's server again
  server-fault NAME MODE  switch backend NAME's (python) server to a fault, in place:
                        never-accept  listen backlog 1, accept() no more, tcp_syncookies=0 in
                                      its namespace: 2 handshakes hang in the accept queue,
                                      then SYNs are dropped (connect timeouts)
                        reset         accept, read the request, then RST
  server-unfault NAME   back to serving (syncookies back on)
  blackhole NAME        drop TCP to NAME's server port silently (nftables in its namespace)
  unblackhole NAME      undo blackhole
  netgw [ADDR/PLEN...]  a namespace <prefix>-gw joined to every LAN with the LAN's gateway
                        address (meshgate's place: never with an attached meshgate), the
                        ADDRs (service VIPs) on its loopback: for a kernel proxy (HAProxy)
  netgw-del             remove it (kills what runs in it)
  exec NAME CMD...      run CMD in namespace <prefix>-NAME (NAME: c1, b1, sw, ...)
  ns NAME               print the namespace name of NAME

Options (before the command):
  -p, --prefix P        name prefix (default: \$MG_TB_PREFIX or "mg"); namespaces are P-sw, P-c1, P-b1..
  -n, --backends N      backends b1..bN at 10.20.0.(10+i)/24 on LAN "backend" (default 3)
  -c, --clients N       clients c1..cN at 10.10.0.(1+i)/24 on LAN "client" (default 1)
      --lan NAME=GW/PLEN       another LAN (bridge br-NAME) whose gateway (meshgate) is GW
      --backend NAME=IP/PLEN@LAN  another backend namespace (repeatable)
      --client NAME=IP/PLEN@LAN   another client namespace (repeatable)
      --client-route CIDR  route in every client via its LAN's gateway (default 10.96.0.0/16)
      --server python|nginx|none  the backends' server (default python: scripts/backend.py)
      --port N          backends' server port (default 8080)
      --files-dir DIR   directory the python backends serve under /files/
      --tap IFACE=LAN   (attach) a gateway TAP and its LAN (default: mgtap-c=client mgtap-b=backend)
      --timeout S       (attach) how long to wait for the TAP interfaces (default 30)
  -T, --time            server-stop, blackhole, server-fault print "at SECONDS": the
                        moment (Unix time, microseconds) the fault took effect; server-start,
                        unblackhole, server-unfault: the moment it was undone
  -q, --quiet           less output
Built-in LANs: client=10.10.0.1/24, backend=10.20.0.1/24.
State: $STATE_ROOT/<prefix>/ (topology, server PIDs and logs).
EOF
}

log() { [ "$QUIET" = 1 ] || echo "testbed[$PREFIX]: $*"; }
die() { echo "testbed[$PREFIX]: error: $*" >&2; exit 1; }

CMD=
declare -a ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	-p|--prefix) PREFIX=$2; shift 2 ;;
	-n|--backends) N_BACKENDS=$2; shift 2 ;;
	-c|--clients) N_CLIENTS=$2; shift 2 ;;
	--lan) EXTRA_LANS+=("$2"); shift 2 ;;
	--backend) EXTRA_BACKENDS+=("$2"); shift 2 ;;
	--client) EXTRA_CLIENTS+=("$2"); shift 2 ;;
	--client-route) CLIENT_ROUTES+=("$2"); shift 2 ;;
	--server) SERVER=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--files-dir) FILES_DIR=$2; shift 2 ;;
	--tap) TAPS+=("$2"); shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-q|--quiet) QUIET=1; shift ;;
	-T|--time) PRINT_TIME=1; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) if [ -z "$CMD" ]; then die "unknown option $1 (see --help)"; fi
	    ARGS+=("$1"); shift ;;
	exec) if [ -z "$CMD" ]; then CMD=exec; shift; ARGS=("$@"); break; fi
	      ARGS+=("$1"); shift ;;
	*) if [ -z "$CMD" ]; then CMD=$1; else ARGS+=("$1"); fi; shift ;;
	esac
done
[ -n "$CMD" ] || { usage; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
[[ "$PREFIX" =~ ^[a-zA-Z0-9][a-zA-Z0-9_]{0,9}$ ]] || die "prefix must be 1-10 letters, digits or _"

STATE=$STATE_ROOT/$PREFIX
TOPO=$STATE/topology
SW=$PREFIX-sw
ns_of() { echo "$PREFIX-$1"; }

# ---------------------------------------------------------------- topology
# Lines of $TOPO:  lan NAME GWIP PLEN | client NAME IP PLEN LAN | backend NAME IP PLEN LAN
#                  route CIDR | server KIND PORT | files DIR
build_topology() {
	local i spec name rest addr lan ip plen
	{
		echo "lan client 10.10.0.1 24"
		echo "lan backend 10.20.0.1 24"
		for spec in "${EXTRA_LANS[@]+"${EXTRA_LANS[@]}"}"; do
			name=${spec%%=*}; addr=${spec#*=}
			[[ "$spec" == *=*/* ]] || die "--lan $spec: expected NAME=GW/PLEN"
			echo "lan $name ${addr%/*} ${addr#*/}"
		done
		for ((i = 1; i <= N_CLIENTS; i++)); do echo "client c$i 10.10.0.$((1 + i)) 24 client"; done
		for spec in "${EXTRA_CLIENTS[@]+"${EXTRA_CLIENTS[@]}"}"; do
			[[ "$spec" == *=*/*@* ]] || die "--client $spec: expected NAME=IP/PLEN@LAN"
			name=${spec%%=*}; rest=${spec#*=}; lan=${rest#*@}; rest=${rest%@*}
			echo "client $name ${rest%/*} ${rest#*/} $lan"
		done
		for ((i = 1; i <= N_BACKENDS; i++)); do echo "backend b$i 10.20.0.$((10 + i)) 24 backend"; done
		for spec in "${EXTRA_BACKENDS[@]+"${EXTRA_BACKENDS[@]}"}"; do
			[[ "$spec" == *=*/*@* ]] || die "--backend $spec: expected NAME=IP/PLEN@LAN"
			name=${spec%%=*}; rest=${spec#*=}; lan=${rest#*@}; rest=${rest%@*}
			echo "backend $name ${rest%/*} ${rest#*/} $lan"
		done
		if [ ${#CLIENT_ROUTES[@]} -eq 0 ]; then echo "route 10.96.0.0/16"; fi
		for spec in "${CLIENT_ROUTES[@]+"${CLIENT_ROUTES[@]}"}"; do echo "route $spec"; done
		echo "server $SERVER $PORT"
		[ -z "$FILES_DIR" ] || echo "files $FILES_DIR"
	} > "$TOPO"
	# names must fit Linux interface names inside the switch (br-NAME, NAME)
	while read -r kind name _; do
		case $kind in
		lan) [[ "$name" =~ ^[a-zA-Z0-9_]{1,12}$ ]] || die "LAN name '$name': 1-12 letters/digits" ;;
		client|backend) [[ "$name" =~ ^[a-zA-Z0-9_]{1,15}$ ]] || die "name '$name': 1-15 letters/digits"
			[ "$name" != sw ] || die "'sw' is the switch's name"
			[ "$name" != gw ] || die "'gw' is netgw's name" ;;
		esac
	done < "$TOPO"
}

topo() { [ -f "$TOPO" ] || die "no test bed '$PREFIX' (run: $0 -p $PREFIX up)"; cat "$TOPO"; }
lan_gw() { awk -v n="$1" '$1 == "lan" && $2 == n { print $3 }' "$TOPO"; }
member() { awk -v n="$1" '($1 == "client" || $1 == "backend") && $2 == n' "$TOPO"; }
server_kind() { awk '$1 == "server" { print $2 }' "$TOPO"; }
server_port() { awk '$1 == "server" { print $3 }' "$TOPO"; }
files_dir() { awk '$1 == "files" { print $2 }' "$TOPO"; }

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

quiet_ipv6() {  # no IPv6 chatter (router solicitations, MLD) toward meshgate
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
}

# With br_netfilter loaded, the kernel hands bridged IPv4 frames to iptables and drops
# those whose IPv4 header is malformed (bad version, IHL, length or checksum) before
# they reach meshgate's TAP; it may reassemble fragments too. The switch must pass
# frames as they are (the malformed-traffic tests count what meshgate drops), so
# bridged traffic skips netfilter here (per-namespace sysctls; absent without the module).
transparent_bridges() {
	local k
	for k in iptables ip6tables arptables; do
		nsx "$SW" sysctl -qw "net.bridge.bridge-nf-call-$k=0" >/dev/null 2>&1 || true
	done
}

# ---------------------------------------------------------------- servers
pid_alive() { [ -n "$1" ] && [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

server_start() {
	local name=$1 line ip kind port ns fd logf pidf
	line=$(member "$name"); [ -n "$line" ] || die "no member '$name'"
	set -- $line; ip=$3
	kind=$(server_kind); port=$(server_port); fd=$(files_dir)
	ns=$(ns_of "$name")
	logf=$STATE/$name.server.log; pidf=$STATE/$name.server.pid
	if [ -f "$pidf" ] && pid_alive "$(cat "$pidf")"; then log "server $name already running"; return 0; fi
	case $kind in
	python)
		rm -f "$STATE/$name.server.state"
		nsx "$ns" sysctl -qw net.ipv4.tcp_syncookies=1 >/dev/null   # server-fault never-accept
		ip netns exec "$ns" setsid $PY "$HERE/backend.py" --name "$name" --port "$port" \
			--state-file "$STATE/$name.server.state" \
			${fd:+--files-dir "$fd"} </dev/null >"$logf" 2>&1 &
		echo $! > "$pidf"
		;;
	nginx)
		local d=$STATE/nginx-$name files_loc=
		mkdir -p "$d"
		[ -z "$fd" ] || files_loc="location /files/ { alias $fd/; }"
		cat > "$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	keepalive_requests 1000000;
	server {
		listen $port backlog=4096;
		location = / { default_type text/plain; add_header X-Backend $name; return 200 "backend=$name\n"; }
		location = /healthz { default_type text/plain; return 200 "ok\n"; }
		$files_loc
	}
}
EOF
		ip netns exec "$ns" setsid /usr/sbin/nginx -c "$d/nginx.conf" -p "$d" -g 'daemon off;' \
			</dev/null >"$logf" 2>&1 &
		echo $! > "$pidf"
		;;
	none) return 0 ;;
	*) die "unknown server kind '$kind'" ;;
	esac
	# wait until it listens (bounded)
	local t
	for ((t = 0; t < 100; t++)); do
		# python: serving once it wrote its state file (with the time)
		if nsx "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . &&
		   { [ "$kind" != python ] || [ -s "$STATE/$name.server.state" ]; }; then
			log "server $name ($kind) listening on $ip:$port, pid $(cat "$pidf")"
			if [ "$kind" = python ]; then
				fault_time "$(awk '{ print $2 }' "$STATE/$name.server.state")"
			else
				fault_time
			fi
			return 0
		fi
		pid_alive "$(cat "$pidf")" || { cat "$logf" >&2; die "server $name exited"; }
		sleep 0.1
	done
	cat "$logf" >&2
	die "server $name does not listen on :$port after 10 s"
}

# kill a recorded PID (and, for nginx, its workers: master first, then worker)
kill_pid_tree() {
	local pid=$1 kids
	pid_alive "$pid" || return 0
	kids=$(pgrep -P "$pid" 2>/dev/null || true)
	kill -KILL "$pid" 2>/dev/null || true
	for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
}

# "at SECONDS" (with -T): when a fault took effect
fault_time() { [ "$PRINT_TIME" = 0 ] || echo "at ${1:-$EPOCHREALTIME}"; }

server_stop() {
	local name=$1 pidf=$STATE/$1.server.pid pid
	[ -f "$pidf" ] || { log "server $name: not running"; return 0; }
	pid=$(cat "$pidf")
	kill_pid_tree "$pid"
	fault_time
	for ((t = 0; t < 50; t++)); do pid_alive "$pid" || break; sleep 0.05; done
	rm -f "$pidf" "$STATE/$name.server.state"
	log "server $name stopped (pid $pid killed)"
}

# Switch a running python server to a fault mode (or back: MODE serve) by a signal;
# it writes "MODE TIME" to its state file once the mode is in force.
server_fault() {
	local name=$1 mode=$2 pidf=$STATE/$1.server.pid statef=$STATE/$1.server.state pid sig ns t
	[ -n "$(member "$name")" ] || die "no member '$name'"
	[ "$(server_kind)" = python ] || die "server-fault needs the python server (--server python)"
	[ -f "$pidf" ] && pid_alive "$(cat "$pidf")" || die "server $name is not running"
	pid=$(cat "$pidf"); ns=$(ns_of "$name")
	case $mode in
	never-accept) sig=USR1 ;;
	reset) sig=USR2 ;;
	serve) sig=HUP ;;
	*) die "unknown fault '$mode' (never-accept, reset)" ;;
	esac
	# With SYN cookies the kernel could still answer SYNs of a full queue
	# (per namespace: the other backends keep theirs).
	if [ "$mode" = never-accept ]; then
		nsx "$ns" sysctl -qw net.ipv4.tcp_syncookies=0 >/dev/null
	fi
	kill -"$sig" "$pid"
	for ((t = 0; t < 100; t++)); do
		if [ -f "$statef" ] && [ "$(awk '{ print $1 }' "$statef")" = "$mode" ]; then
			[ "$mode" != serve ] || nsx "$ns" sysctl -qw net.ipv4.tcp_syncookies=1 >/dev/null
			log "server $name: $mode"
			fault_time "$(awk '{ print $2 }' "$statef")"
			return 0
		fi
		pid_alive "$pid" || die "server $name exited"
		sleep 0.05
	done
	die "server $name did not switch to $mode within 5 s"
}

# ---------------------------------------------------------------- up / down
cmd_up() {
	if [ -f "$TOPO" ] || ip netns list | grep -qw "^$SW"; then
		log "an earlier test bed '$PREFIX' exists: removing it first"
		cmd_down
	fi
	mkdir -p "$STATE"
	build_topology
	# the switch
	ip netns add "$SW"
	echo "$SW" > "$STATE/namespaces"
	nsx "$SW" ip link set lo up
	quiet_ipv6 "$SW"
	transparent_bridges
	local kind name ip plen lan gw ns
	while read -r kind name ip plen _; do
		[ "$kind" = lan ] || continue
		nsx "$SW" ip link add "br-$name" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
		nsx "$SW" ip link set "br-$name" up
		log "LAN $name: bridge br-$name in $SW, gateway $ip/$plen"
	done < "$TOPO"
	# clients and backends
	while read -r kind name ip plen lan; do
		case $kind in client|backend) ;; *) continue ;; esac
		gw=$(lan_gw "$lan"); [ -n "$gw" ] || die "$name: no LAN '$lan'"
		ns=$(ns_of "$name")
		ip netns add "$ns"
		echo "$ns" >> "$STATE/namespaces"
		quiet_ipv6 "$ns"
		nsx "$ns" ip link set lo up
		ip link add name "$name" netns "$SW" type veth peer name eth0 netns "$ns"
		nsx "$SW" ip link set "$name" master "br-$lan" up
		nsx "$ns" ip addr add "$ip/$plen" dev eth0
		nsx "$ns" ip link set eth0 up
		if [ "$kind" = client ]; then
			nsx "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 >/dev/null
			nsx "$ns" sysctl -qw net.ipv4.ip_local_port_range="10000 65000" >/dev/null
			local r
			for r in $(awk '$1 == "route" { print $2 }' "$TOPO"); do
				nsx "$ns" ip route add "$r" via "$gw"
			done
			log "client $name: $ns $ip/$plen on $lan, routes $(awk '$1 == "route" { printf "%s ", $2 }' "$TOPO")via $gw"
		else
			nsx "$ns" ip route add default via "$gw"
			nsx "$ns" sysctl -qw net.core.somaxconn=4096 >/dev/null 2>&1 || true
			log "backend $name: $ns $ip/$plen on $lan, default via $gw"
		fi
	done < "$TOPO"
	while read -r kind name _; do
		[ "$kind" = backend ] && server_start "$name"
	done < "$TOPO"
	log "up"
}

cmd_down() {
	local ns pidf pid
	# servers first (by recorded PID), while their namespaces still exist
	for pidf in "$STATE"/*.server.pid; do
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf")
		kill_pid_tree "$pid"
		rm -f "$pidf"
	done
	local -a nss=()
	if [ -f "$STATE/namespaces" ]; then
		mapfile -t nss < "$STATE/namespaces"
	else
		# no record: only the standard names of this prefix
		mapfile -t nss < <(ip netns list | awk '{ print $1 }' | grep -E "^$PREFIX-(sw|c[0-9]+|b[0-9]+)$" || true)
	fi
	for ns in "${nss[@]+"${nss[@]}"}"; do
		[ -n "$ns" ] || continue
		ip netns list | awk '{ print $1 }' | grep -qx "$ns" || continue
		# anything still running inside a namespace of ours was started in it by us or our tests
		for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$STATE"
	log "down"
}

# ---------------------------------------------------------------- attach
tap_up() { ip -o link show dev "$1" 2>/dev/null | grep -qE '<([^>]*,)?UP[,>]'; }
cmd_attach() {
	topo >/dev/null
	local -a taps=("${TAPS[@]+"${TAPS[@]}"}")
	[ ${#taps[@]} -gt 0 ] || taps=(mgtap-c=client mgtap-b=backend)
	local spec ifc lan t
	for spec in "${taps[@]}"; do
		ifc=${spec%%=*}; lan=${spec#*=}
		[ -n "$(lan_gw "$lan")" ] || die "--tap $spec: no LAN '$lan'"
		if nsx "$SW" ip link show dev "$ifc" >/dev/null 2>&1; then
			:   # already moved
		else
			# The DPDK process brings the interface UP when it starts the port
			# (by name, in the root namespace): move it only after that.
			for ((t = 0; t < TIMEOUT * 10; t++)); do
				tap_up "$ifc" && break
				sleep 0.1
			done
			tap_up "$ifc" || die "TAP interface $ifc did not appear (UP) within ${TIMEOUT}s (is meshgate running?)"
			sleep 0.2
			ip link set dev "$ifc" netns "$SW"
		fi
		nsx "$SW" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1" >/dev/null 2>&1 || true
		# The kernel side of a TAP carries the DPDK port's own MAC; a bridge
		# would take frames sent to that MAC as its own and never forward them
		# to the port. Give the kernel side another (locally administered) MAC.
		nsx "$SW" ip link set dev "$ifc" address \
			"$(printf '02:6d:67:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))"
		nsx "$SW" ip link set dev "$ifc" master "br-$lan" up
		log "attached $ifc to LAN $lan (br-$lan in $SW)"
	done
	transparent_bridges  # br_netfilter may have been loaded since "up"
	# A new gateway process has new MAC addresses: forget the old ones, or clients and
	# backends keep sending to a stale neighbour entry for seconds.
	local kind name
	while read -r kind name _; do
		case $kind in client|backend) nsx "$(ns_of "$name")" ip neigh flush all 2>/dev/null || true ;; esac
	done < "$TOPO"
}

# ---------------------------------------------------------------- misc
cmd_status() {
	topo
	local kind name ns pidf
	echo "namespaces:"; cat "$STATE/namespaces" 2>/dev/null | sed 's/^/  /'
	echo "switch ports:"; nsx "$SW" ip -br link show | sed 's/^/  /'
	while read -r kind name _; do
		[ "$kind" = backend ] || continue
		pidf=$STATE/$name.server.pid
		if [ -f "$pidf" ] && pid_alive "$(cat "$pidf")"; then
			echo "server $name: pid $(cat "$pidf")"
		else
			echo "server $name: stopped"
		fi
	done < "$TOPO"
}

cmd_blackhole() {
	local name=$1 on=$2 ns port
	[ -n "$(member "$name")" ] || die "no member '$name'"
	ns=$(ns_of "$name"); port=$(server_port)
	if [ "$on" = 1 ]; then
		if command -v nft >/dev/null; then
			nsx "$ns" nft -f - <<EOF
table inet mg_blackhole {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport $port drop
	}
}
EOF
		else
			nsx "$ns" iptables -I INPUT -p tcp --dport "$port" -j DROP
		fi
		fault_time
		log "backend $name: TCP to :$port silently dropped"
	else
		if command -v nft >/dev/null; then
			nsx "$ns" nft delete table inet mg_blackhole 2>/dev/null || true
		else
			nsx "$ns" iptables -D INPUT -p tcp --dport "$port" -j DROP 2>/dev/null || true
		fi
		fault_time
		log "backend $name: blackhole removed"
	fi
}

# A namespace in meshgate's place for a kernel proxy: one veth per LAN (g-LAN in
# the switch, LAN inside) with the LAN's gateway address, the VIPs on loopback.
cmd_netgw() {
	topo >/dev/null
	local ns=$PREFIX-gw kind name ip plen a
	! ip netns list | awk '{ print $1 }' | grep -qx "$ns" || die "$ns exists (netgw-del first)"
	ip netns add "$ns"
	echo "$ns" >> "$STATE/namespaces"
	nsx "$ns" ip link set lo up
	quiet_ipv6 "$ns"
	while read -r kind name ip plen _; do
		[ "$kind" = lan ] || continue
		ip link add name "g-$name" netns "$SW" type veth peer name "$name" netns "$ns"
		nsx "$SW" ip link set "g-$name" master "br-$name" up
		nsx "$ns" ip addr add "$ip/$plen" dev "$name"
		nsx "$ns" ip link set "$name" up
		log "netgw: $ns has $ip/$plen on LAN $name"
	done < "$TOPO"
	for a in "${ARGS[@]+"${ARGS[@]}"}"; do
		[[ "$a" == */* ]] || a=$a/32
		nsx "$ns" ip addr add "$a" dev lo
		log "netgw: $a on lo"
	done
	nsx "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=4096 >/dev/null
	nsx "$ns" sysctl -qw net.ipv4.ip_local_port_range="10000 65000" >/dev/null
	# the gateway addresses have another MAC now
	while read -r kind name _; do
		case $kind in client|backend) nsx "$(ns_of "$name")" ip neigh flush all 2>/dev/null || true ;; esac
	done < "$TOPO"
}

cmd_netgw_del() {
	local ns=$PREFIX-gw pid
	if ip netns list | awk '{ print $1 }' | grep -qx "$ns"; then
		for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$ns"
		log "netgw: $ns removed"
	fi
	[ ! -f "$STATE/namespaces" ] || sed -i "/^$ns\$/d" "$STATE/namespaces"
}

case $CMD in
up) cmd_up ;;
down) cmd_down ;;
attach) cmd_attach ;;
status) cmd_status ;;
server-stop) topo >/dev/null; server_stop "${ARGS[0]:?server-stop NAME}" ;;
server-start) topo >/dev/null; server_start "${ARGS[0]:?server-start NAME}" ;;
server-fault) topo >/dev/null; server_fault "${ARGS[0]:?server-fault NAME MODE}" "${ARGS[1]:?server-fault NAME MODE}" ;;
server-unfault) topo >/dev/null; server_fault "${ARGS[0]:?server-unfault NAME}" serve ;;
netgw) cmd_netgw ;;
netgw-del) topo >/dev/null; cmd_netgw_del ;;
blackhole) topo >/dev/null; cmd_blackhole "${ARGS[0]:?blackhole NAME}" 1 ;;
unblackhole) topo >/dev/null; cmd_blackhole "${ARGS[0]:?unblackhole NAME}" 0 ;;
exec) n=${ARGS[0]:?exec NAME CMD...}; exec ip netns exec "$(ns_of "$n")" "${ARGS[@]:1}" ;;
ns) ns_of "${ARGS[0]:?ns NAME}" ;;
*) usage; exit 2 ;;
esac
