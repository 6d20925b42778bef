#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpora of the fuzz targets (test/fuzz/corpus/<target>/).

  test/fuzz/gen_seeds.py            # rewrite corpus/{packet,conf,cli}

packet: inputs in fuzz_packet.c's format (a mode byte, then steps: opcode
        and fields) for whole connection lives -- handshake, data both ways,
        FIN both ways, RST, refused and unreachable connects with failover,
        connect timeouts, SYNs twice in a burst, ARP, ping, port reuse --
        plus raw frames from scapy (python3-scapy), broken in the ways the
        malformed-traffic campaign breaks them.
conf:   the repository's YAML (the embedded default, the unit-test fixtures,
        the operator guide's example) and a small document of every kind.
cli:    command lines, as an operator types them.
The output is committed; rerun after changing fuzz_packet.c's format.
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# ---- fuzz_packet's format (keep in step with fuzz_packet.c) ----------------
OP_SYN, OP_CLIENT, OP_EP, OP_ICMP, OP_TICK, OP_RAW, OP_ARP, OP_ECHO, OP_BURST, OP_SET = \
    0, 1, 3, 5, 6, 7, 8, 9, 10, 11
F_FIN, F_SYN, F_RST, F_PSH, F_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
# flag_menu in fuzz_packet.c: index -> flags; raw flags: 0x80 | flags
MENU = [F_SYN, F_ACK, F_ACK | F_PSH, F_FIN | F_ACK, F_RST, F_RST | F_ACK, F_SYN | F_ACK, F_FIN]


def fl(flags):
    return MENU.index(flags) if flags in MENU else 0x80 | flags


COOKIES = {"auto": 0, "always": 1, "off": 2}


def mode(workers=1, rss=False, attempts=3, wrap=False, cookies="auto", low_limits=False):
    m = 0 if workers == 1 else (2 if rss else 1)
    m |= ((attempts - 1) & 3) << 2
    if wrap:
        m |= 0x10
    m |= COOKIES[cookies] << 5
    if low_limits:
        m |= 0x80
    return bytes([m])


def syn(client=0, svc=0, seq=1000, pick=0, opt=1):
    # c, s, seq(4), pl, opt, pick, split, patches
    return bytes([OP_SYN, client, svc]) + struct.pack(">I", seq) + bytes([0, opt, pick, 0, 0])


def client(flags, client=0, svc=0, seq=1001, ack=5001, payload=0, pick=0, split=0):
    return bytes([OP_CLIENT, client, svc, fl(flags)]) + struct.pack(">II", seq, ack) + \
        bytes([payload, 0, pick, split, 0])


def cookie_ack(flags=F_ACK, seq_off=0, ack_off=0, payload=0, pick=0):
    """The client's answer to the latest SYN+ACK it got (the cookie's), numbers off by _off."""
    return bytes([OP_CLIENT, 0x80, 0, fl(flags)]) + struct.pack(">II", seq_off, ack_off) + \
        bytes([payload, 0, pick, 0, 0])


def ep(flags, k=0, seq=5000, ack_delta=0, payload=0, pick=0, split=0, probe=False):
    # ackmode bit 0: ack = seen seq + 1 + (ackmode >> 1)
    kk = k | (0x80 if probe else 0)
    return bytes([OP_EP, kk, fl(flags)]) + struct.pack(">I", seq) + \
        bytes([1 | (ack_delta << 1), payload, pick, split, 0])


def icmp(k=0, type_=3, code=3, qlen=8, pick=0, router=False):
    kk = k | (0x40 if router else 0)
    return bytes([OP_ICMP, kk, 0 if type_ == 3 else 1, code, qlen, pick, 0])


def tick(ms):
    return bytes([OP_TICK]) + struct.pack(">H", ms)


def raw(frame, port=0, fix_mac=True, pick=0):
    b = (port & 1) | (2 if fix_mac else 0)
    return bytes([OP_RAW, b, pick, 0]) + struct.pack(">H", len(frame)) + frame


def arp(reply=False, port=1, ep=0):
    return bytes([OP_ARP, (port & 1) | (ep << 2), 1 if reply else 0, 0, 0])


def echo(port=0, payload=32):
    return bytes([OP_ECHO, port & 1, payload, 0, 0])


def burst(n):
    return bytes([OP_BURST, n - 2])


def setting(attempts, timeout_steps):
    return bytes([OP_SET, ((timeout_steps & 0xf) << 3) | ((attempts - 1) & 7)])


def pool(leave=None):
    """Hold back all mbufs but `leave`; pool() gives them back."""
    return bytes([OP_SET, 0x80 | (0 if leave is None else 1 | (leave << 1))])


def handshake(c=0, svc=0):
    return syn(c, svc) + ep(F_SYN | F_ACK) + client(F_ACK, c, svc)


def packet_seeds():
    s = {}
    s["handshake"] = mode() + handshake()
    s["data-both-ways"] = mode() + handshake() + client(F_ACK | F_PSH, payload=100) + \
        ep(F_ACK | F_PSH, payload=120) + client(F_ACK, payload=0x85)
    s["fin-client-first"] = mode() + handshake() + client(F_ACK | F_PSH, payload=10) + \
        client(F_FIN | F_ACK) + ep(F_ACK) + ep(F_FIN | F_ACK) + client(F_ACK) + tick(0x8000 | 130)
    s["fin-endpoint-first"] = mode() + handshake() + ep(F_FIN | F_ACK) + client(F_FIN | F_ACK) + \
        ep(F_ACK) + tick(2000)
    s["reset-by-endpoint"] = mode() + handshake() + ep(F_RST) + client(F_ACK, payload=5)
    s["reset-by-client"] = mode() + handshake() + client(F_RST | F_ACK) + tick(11000)
    s["refused-failover"] = mode(attempts=3) + syn() + ep(F_RST | F_ACK) + ep(F_RST | F_ACK) + \
        ep(F_SYN | F_ACK) + client(F_ACK)
    s["all-refused"] = mode(attempts=2) + syn() + ep(F_RST | F_ACK) + ep(F_RST | F_ACK)
    s["unreachable-failover"] = mode() + syn() + icmp() + ep(F_SYN | F_ACK) + client(F_ACK)
    s["unreachable-from-router"] = mode() + syn() + icmp(router=True, code=1) + icmp(type_=11)
    s["connect-timeouts"] = mode(attempts=4) + syn() + tick(600) + tick(600) + tick(600) + tick(600)
    s["time-wait-ack"] = mode() + syn() + ep(F_ACK, ack_delta=77) + ep(F_SYN | F_ACK)
    s["syn-retransmit"] = mode() + syn() + syn() + tick(300) + syn()
    s["syn-twice-in-a-burst"] = mode() + burst(2) + syn() + syn()
    s["burst-mixed"] = mode() + handshake() + burst(6) + client(F_ACK | F_PSH, payload=50) + \
        syn(1) + syn(2, 1) + client(F_RST | F_ACK) + syn(0) + client(F_ACK, 1)
    s["port-reuse"] = mode() + handshake() + client(F_FIN | F_ACK) + ep(F_FIN | F_ACK) + \
        client(F_ACK) + syn(seq=99999)
    s["unresolved-endpoint"] = mode() + syn(svc=2) + syn(svc=2) + tick(1000)
    s["unknown-service"] = mode() + syn(svc=3) + client(F_ACK, svc=3)
    s["to-the-gateway"] = mode() + syn(svc=0x80) + echo(0) + echo(1)
    s["arp"] = mode() + arp() + arp(reply=True, ep=1) + arp(port=0)
    s["two-workers"] = mode(workers=2) + handshake(3) + handshake(5, 1) + \
        client(F_ACK | F_PSH, 3, payload=30, pick=1) + ep(F_ACK, k=1, pick=1) + icmp(pick=1)
    s["two-workers-rss"] = mode(workers=2, rss=True) + handshake(3) + handshake(9, 1) + \
        client(F_FIN | F_ACK, 9, 1, pick=1) + ep(F_FIN | F_ACK) + syn(4) + icmp(pick=1)
    s["clock-wrap"] = mode(wrap=True) + syn() + tick(300) + ep(F_SYN | F_ACK) + client(F_ACK) + \
        tick(600) + syn(1) + tick(700)
    s["settings"] = mode() + setting(1, 0) + syn() + tick(200) + setting(8, 15) + syn(1) + tick(3000)
    s["table-full"] = mode() + b"".join(syn(c, c & 1) for c in range(0, 128, 2)) + \
        syn(1) + syn(3)
    s["cookie-handshake"] = mode(cookies="always") + syn() + cookie_ack() + ep(F_SYN | F_ACK) + \
        client(F_ACK | F_PSH, seq=1001, payload=20) + ep(F_ACK | F_PSH, seq=5001, payload=30)
    s["cookie-first-data-held"] = mode(cookies="always") + syn(opt=2) + cookie_ack() + \
        cookie_ack(F_ACK | F_PSH, payload=40) + cookie_ack(F_ACK | F_PSH, seq_off=40, payload=9) + \
        ep(F_SYN | F_ACK) + ep(F_FIN | F_ACK, seq=5001) + cookie_ack(F_FIN | F_ACK, seq_off=40)
    s["cookie-refused-all"] = mode(cookies="always", attempts=2) + syn() + cookie_ack() + \
        ep(F_RST | F_ACK) + ep(F_RST | F_ACK)
    s["cookie-client-reset"] = mode(cookies="always") + syn() + cookie_ack() + \
        cookie_ack(F_RST | F_ACK) + tick(700)
    s["cookie-forged"] = mode(cookies="always") + syn() + cookie_ack(ack_off=1) + \
        cookie_ack(seq_off=5) + tick(0x7fff) + cookie_ack()
    s["half-open-limits"] = mode(low_limits=True) + syn(0) + syn(2) + syn(4) + syn(1) + \
        cookie_ack() + ep(F_SYN | F_ACK) + tick(600)
    s["half-open-limits-off"] = mode(low_limits=True, cookies="off") + syn(0) + syn(2) + \
        syn(4) + syn(6) + tick(600) + syn(8)
    s["probe-answers"] = mode() + ep(F_SYN | F_ACK, probe=True) + ep(F_RST | F_ACK, probe=True) + \
        icmp(k=0x80 >> 0)
    s["split-segments"] = mode() + syn() + ep(F_SYN | F_ACK, split=0x80 | 60) + \
        client(F_ACK | F_PSH, payload=200, split=0x80 | 70) + client(F_ACK, split=0x80 | 20)
    s["pool-dry"] = mode() + syn() + pool(1) + ep(F_RST | F_ACK) + syn(1) + pool() + \
        tick(600) + ep(F_SYN | F_ACK) + client(F_ACK) + pool(0) + ep(F_FIN | F_ACK) + pool()
    s.update(raw_seeds())
    return s


def raw_seeds():
    """Frames from scapy, whole and broken, each as a RAW step after a handshake."""
    try:
        from scapy.all import ARP, ICMP, IP, TCP, Ether, Raw, fragment
    except ImportError:
        print("gen_seeds: no scapy (python3-scapy): raw frames skipped", file=sys.stderr)
        return {}
    gw_c = "02:00:00:00:00:00"
    cl = dict(src="10.10.0.2", dst="10.96.0.10")
    eth = Ether(src="02:c0:00:00:00:02", dst=gw_c)
    frames = {
        "syn": eth / IP(**cl) / TCP(sport=40002, dport=80, flags="S", seq=1000),
        "syn-options": eth / IP(**cl) / TCP(sport=40001, dport=80, flags="S",
                                            options=[("MSS", 1460), ("SAckOK", b""),
                                                     ("Timestamp", (1, 0)), ("WScale", 7)]),
        "ip-options": eth / IP(options=[b"\x94\x04\x00\x00"], **cl) / TCP(sport=40000, dport=80, flags="S"),
        "bad-ip-checksum": eth / IP(chksum=0x1234, **cl) / TCP(sport=40000, dport=80, flags="S"),
        "bad-tcp-checksum": eth / IP(**cl) / TCP(sport=40000, dport=80, flags="S", chksum=0x1234),
        "syn-fin": eth / IP(**cl) / TCP(sport=40000, dport=80, flags="SF"),
        "null-flags": eth / IP(**cl) / TCP(sport=40000, dport=80, flags=""),
        "xmas": eth / IP(**cl) / TCP(sport=40000, dport=80, flags="FPU"),
        "short-tcp": eth / IP(**cl, proto=6) / Raw(b"\x9c\x40\x00\x50\x00\x00"),
        "doff-too-big": eth / IP(**cl) / TCP(sport=40000, dport=80, flags="S", dataofs=15),
        "ip-len-too-big": eth / IP(len=1500, **cl) / TCP(sport=40000, dport=80, flags="S"),
        "ttl-zero": eth / IP(ttl=0, **cl) / TCP(sport=40000, dport=80, flags="S"),
        "martian-src": eth / IP(src="127.0.0.1", dst="10.96.0.10") / TCP(sport=40000, dport=80, flags="S"),
        "udp": eth / IP(**cl) / Raw(b"\x00" * 8),
        "icmp-echo": eth / IP(src="10.10.0.2", dst="10.10.0.1") / ICMP() / Raw(b"x" * 56),
        "icmp-unreach-short": eth / IP(src="10.20.0.11", dst="10.20.0.1") / ICMP(type=3, code=3),
        "icmp-unreach-quote": eth / IP(src="10.20.0.11", dst="10.20.0.1") / ICMP(type=3, code=3) /
        IP(src="10.20.0.1", dst="10.20.0.11") / TCP(sport=1024, dport=8080, flags="S"),
        "arp-request": Ether(src="02:ee:00:00:00:0b", dst="ff:ff:ff:ff:ff:ff") /
        ARP(op=1, hwsrc="02:ee:00:00:00:0b", psrc="10.20.0.11", pdst="10.20.0.1"),
        "arp-bad-hlen": Ether(src="02:ee:00:00:00:0b", dst="ff:ff:ff:ff:ff:ff") /
        ARP(op=1, hwlen=8, psrc="10.20.0.11", pdst="10.20.0.1"),
        "vlan": Ether(src="02:c0:00:00:00:02", dst=gw_c, type=0x8100) / Raw(b"\x00\x01\x08\x00"),
        "tiny": Ether(src="02:c0:00:00:00:02", dst=gw_c, type=0x0800),
        "huge": eth / IP(**cl) / TCP(sport=40000, dport=80, flags="PA") / Raw(b"y" * 1900),
    }
    frag = fragment(eth / IP(**cl) / TCP(sport=40000, dport=80, flags="PA") / Raw(b"z" * 200), fragsize=64)
    frames["fragment-first"] = frag[0]
    frames["fragment-later"] = frag[1]
    out = {}
    for name, f in frames.items():
        port = 1 if name.startswith(("icmp-unreach", "arp")) else 0
        out["raw-" + name] = mode() + handshake() + raw(bytes(f), port=port, fix_mac=True)
    return out


# ---- configurations ------------------------------------------------------------
KINDS = {
    "kind-namespace-node.yaml": """\
apiVersion: v1
kind: Namespace
metadata: {name: demo, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1}
""",
    "kind-service-annotations.yaml": """\
apiVersion: meshgate.io/v1alpha1
kind: MeshGateway
metadata: {name: g}
spec:
  network: n1
  ports: [{name: p, device: net_null0, address: 10.0.0.1/24}]
  outlierDetection: {consecutiveFailures: 3, interval: 2s, baseEjectionTime: 10s}
  circuitBreaker: {maxConnections: 100, maxPendingConnects: 10}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
  annotations:
    networking.istio.io/traffic-distribution: PreferClose
    meshgate.io/consecutive-failures: "2"
spec:
  clusterIP: 10.96.0.10
  trafficDistribution: PreferSameZone
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [10.0.0.11], conditions: {ready: true}, nodeName: node-a, zone: z1}
- {addresses: [10.0.0.12], conditions: {ready: false}}
""",
    "kind-serviceentry-workloadentry.yaml": """\
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ext, namespace: demo}
spec:
  hosts: [ext.example.com]
  addresses: [10.97.0.1]
  ports: [{number: 443, name: tls, protocol: TLS, targetPort: 8443}]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: {labels: {app: ext}}
  endpoints:
  - {address: 10.0.0.21, network: n2, locality: r1/z2, weight: 3}
---
apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: demo, labels: {app: ext}}
spec: {address: 10.0.0.22, network: n1, locality: r1/z1/s1, weight: 2, labels: {app: ext}}
""",
}


def conf_seeds():
    s = {}
    for d, _, files in os.walk(os.path.join(ROOT, "test", "unit", "conf")):
        for f in sorted(files):
            if f.endswith(".yaml"):
                rel = os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "test", "unit", "conf"))
                s["unit-" + rel.replace("/", "-")] = open(os.path.join(d, f), "rb").read()
    s["default.yaml"] = open(os.path.join(ROOT, "lib", "conf", "default.yaml"), "rb").read()
    guide = open(os.path.join(ROOT, "doc", "operator-guide.md")).read()
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", guide, re.S)):
        s["operator-guide-%d.yaml" % i] = block.encode()
    for name, text in KINDS.items():
        s[name] = text.encode()
    return s


CLI = [
    "help", "help all", "help show", "help set", "show port info all", "show port stats 1",
    "show port xstats all", "clear port stats all", "show lcores", "show config",
    "show services", "show service demo/web", "show flows", "show flows summary",
    "show flows 10.96.0.10", "show neigh", "show routes", "show endpoints",
    "show endpoint 10.20.0.11",
    "set endpoint 10.20.0.11 drain\nshow endpoint 10.20.0.11\nset endpoint 10.20.0.11 undrain",
    "set outlier consecutiveFailures 3\nset outlier baseEjectionTime 30s\nset outlier ewmaAlpha 0.3",
    "set circuit maxConnections 100\nset circuit maxPendingConnects 0",
    "set connect timeout 300ms\nset connect maxAttempts 2\nshow config",
    "set healthcheck interval 5s",
    "set log debug\nset log global notice",
    "stop\nstart", "load fuzz_cli.yaml\nshow config", "load /nonexistent.yaml",
    "show port stats 9", "show flows 10.96.0.300", "show bogus", "# comment\n\n   show   lcores  ",
]


def cli_seeds():
    return {"cmd-%02d" % i: (c + "\n").encode() for i, c in enumerate(CLI)}


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("gen_seeds: %d seeds in %s" % (len(seeds), os.path.relpath(d, ROOT)))


if __name__ == "__main__":
    write("packet", packet_seeds())
    write("conf", conf_seeds())
    write("cli", cli_seeds())
