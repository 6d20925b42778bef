#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Malformed and hostile frames for meshgate's test bed, and what meshgate must do with each.

Runs inside a client namespace (ip netns exec <p>-c2 /usr/bin/python3 hostile.py ...): builds
every frame of the campaign (systematically broken Ethernet, ARP, IPv4, ICMP and TCP, tiny and
huge frames, then scapy fuzz(), mutations of valid frames and random bytes), prints "ready",
reads one JSON line on stdin ({"gw_mac": ..., "live": ["ip:port", ...]}: the gateway's MAC and
the client tuples of live flows to shoot RSTs at), classifies each frame with `expect()`, a
model of meshgate's packet path written from lib/pkt/mg_pkt.c, lib/proxy/mg_proxy.c and
lib/proxy/mg_proxy_tcp.c, sends them raw on the namespace's interface in paced batches, and
prints one JSON object:

  sent       frames sent, per category
  unsent     frames the kernel refused to send (too short for Ethernet, over the MTU)
  drops      frames meshgate must drop, per drop reason
  answered   frames meshgate must answer (arp_replies, icmp_echo)
  consumed   frames meshgate must take without answer or drop (ARP replies to it)
  flows      SYNs that must open a flow (a valid SYN to the VIP); flows_self: those from this
             host's own address, which its kernel resets once the endpoint answers
  ierrors    frames the TAP driver must refuse (longer than one mbuf: jumbo frames)
  uncertain  frames whose fate depends on state the model does not know (RSTs into
             live flows, a fuzzed SYN repeating the tuple of an earlier one), per category
  arp_wrong_port  ARP packets claiming an address of another port's neighbour

Nothing here needs meshgate's code: the expectations are the policy, written again.
Frames are built before the gateway's MAC is known (with PLACEHOLDER in its place), so that
scapy's slow building overlaps the gateway's start.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import time

PLACEHOLDER = bytes.fromhex("024d47475701")   # the gateway's MAC until it is known
MBUF_DATA = 2048          # meshgate's mbufs hold 2048 bytes; the TAP driver has no scatter
PROBE_PORT = 1023         # health-check source port: just below the SNAT range (1024-65535)
BACKENDS = ("10.20.0.11", "10.20.0.12", "10.20.0.13")


def ip2b(a):
    return socket.inet_aton(a)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


class Env:
    """What the model needs to know about the gateway and this host."""

    def __init__(self, gw_mac, my_mac, my_ip, locals_, port_net, services, backends, live=()):
        self.gw_mac = bytes.fromhex(gw_mac.replace(":", ""))
        self.my_mac = bytes.fromhex(my_mac.replace(":", ""))
        self.my_ip = my_ip
        self.my_ip_b = ip2b(my_ip)
        self.locals = {ip2b(a) for a in locals_}            # the gateway's addresses
        net, plen = port_net.split("/")                        # the receiving port's subnet
        mask = (0xffffffff << (32 - int(plen))) & 0xffffffff
        self.bcast = struct.pack("!I", (struct.unpack("!I", ip2b(net))[0] & mask) | (~mask & 0xffffffff))
        self.services = {(ip2b(v), p) for v, p in services}    # VIP:port
        self.backends = {ip2b(b) for b in backends}            # neighbours behind the other port
        self.live = set()                                      # client keys of live flows
        self.set_live(live, services)
        self.opened = set()                                    # client keys of flows this campaign opened

    def set_live(self, live, services):
        self.live = {(ip2b(a), ip2b(v), p, vp) for a, p in live for v, vp in services}


def expect(f, env):
    """What meshgate does with frame f: (outcome, detail).

    outcome: drop (detail = reason), answer (arp_replies / icmp_echo), consume, flow,
    ierror, uncertain. Checks run in meshgate's order, outermost header first."""
    n = len(f)
    if n > MBUF_DATA:
        return "ierror", "mbuf"
    if n < 14:
        return "drop", "l2_short"
    et = struct.unpack("!H", f[12:14])[0]
    if et == 0x0806:
        return _arp(f, env)
    if et != 0x0800:
        return "drop", "l2_ethertype"
    if n < 34:
        return "drop", "ip_short"
    ip = f[14:34]
    if ip[0] >> 4 != 4:
        return "drop", "ip_version"
    ihl = (ip[0] & 15) * 4
    if ihl < 20:
        return "drop", "ip_hdrlen"
    if ihl > 20:
        return "drop", "ip_options"
    tl = struct.unpack("!H", ip[2:4])[0]
    if tl < ihl or tl > n - 14:
        return "drop", "ip_len"
    if csum(ip) != 0xffff:
        return "drop", "ip_csum"
    if struct.unpack("!H", ip[6:8])[0] & 0x3fff:
        return "drop", "ip_fragment"
    if ip[8] == 0:
        return "drop", "ip_ttl"
    src, dst = ip[12:16], ip[16:20]
    if src[0] in (0, 127) or src[0] >= 224:
        return "drop", "ip_src"
    l4, l4len = f[34:], tl - 20
    if ip[9] == 6:
        return _tcp(f, env, src, dst, l4, l4len)
    if ip[9] == 1:
        return _icmp(f, env, src, dst, l4, l4len)
    return "drop", "l4_proto"


def _arp(f, env):
    if len(f) < 42:
        return "drop", "arp_malformed"
    hrd, pro, hln, pln, op = struct.unpack("!HHBBH", f[14:22])
    if hrd != 1 or pro != 0x0800 or hln != 6 or pln != 4 or op not in (1, 2):
        return "drop", "arp_malformed"
    sip, tip = f[28:32], f[38:42]
    if op == 1 and tip in env.locals:
        return "answer", "arp_replies"
    if op == 2 and tip in env.locals and sip != b"\0\0\0\0":
        return "consume", "arp_reply"
    return "drop", "arp_not_for_us"


def _martian(env, src):
    return src in env.locals or src == env.bcast


def _tcp(f, env, src, dst, l4, l4len):
    n = len(f)
    if l4len < 20 or n < 54:
        return "drop", "tcp_short"
    doff = (l4[12] >> 4) * 4
    if doff < 20 or doff > l4len:
        return "drop", "tcp_doff"
    if n < 34 + doff:
        return "drop", "tcp_short"
    fl = l4[13]
    syn, fin, rst, ack = fl & 2, fl & 1, fl & 4, fl & 0x10
    if (syn and fin) or (syn and rst) or not (syn or fin or rst or ack):
        return "drop", "tcp_flags"
    sport, dport = struct.unpack("!HH", l4[0:4])
    if sport == 0 or dport == 0:
        return "drop", "tcp_port"
    if syn and not ack:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, l4len)
        if csum(pseudo + l4[:l4len]) != 0xffff:
            return "drop", "tcp_csum"
    if f[0:6] != env.gw_mac:
        return "drop", "l2_dst"
    key = (src, dst, sport, dport)
    if key in env.live or key in env.opened:
        return "uncertain", "flow tuple"
    if syn and not ack:              # (FIN and RST with SYN were dropped above)
        if _martian(env, src):
            return "drop", "ip_src"
        if (dst, dport) not in env.services:
            return "drop", "no_service"
        env.opened.add(key)
        return "flow", "self" if src == env.my_ip_b else "other"
    # No flow has this tuple; a health-check answer must acknowledge a keyed ISN.
    return "drop", "no_flow"


def _icmp(f, env, src, dst, l4, l4len):
    if l4len < 8 or len(f) < 42:
        return "drop", "icmp_short"
    t = l4[0]
    if t not in (3, 8, 11):
        return "drop", "icmp_type"
    if t == 8:
        if dst not in env.locals:
            return "drop", "ip_not_for_us"
        if _martian(env, src):
            return "drop", "ip_src"
        return "answer", "icmp_echo"
    # An error quoting our SYN toward an endpoint: IPv4 + 8 bytes of TCP, inside the
    # ICMP message and the frame; only destination unreachable is acted on.
    end = min(34 + l4len, len(f))
    q = 42
    if q + 20 > end:
        return "drop", "icmp_type"
    qv = f[q]
    qhl = (qv & 15) * 4
    if qv >> 4 != 4 or qhl < 20 or f[q + 9] != 6 or struct.unpack("!H", f[q + 6:q + 8])[0] & 0x1fff \
            or q + qhl + 8 > end:
        return "drop", "icmp_type"
    if t != 3:
        return "drop", "icmp_type"
    # A quote of a health-check SYN (from PROBE_PORT) counts only with the probe's keyed ISN,
    # which no frame of ours can know; any other quote names no flow of ours.
    return "drop", "no_flow"


# ---------------------------------------------------------------- the frames

def campaign(env, vip, vport, gw_ip, n_fuzz, rng, jumbo, spare=()):
    """[(category, frame bytes)]: every frame of the campaign, in sending order, the gateway's
    MAC as PLACEHOLDER. n_fuzz: scapy fuzz() frames; as many again are mutations of valid
    frames and random bytes (cheaper to make).

    The mutations never change the Ethernet addresses (a frame to another host, a link-local
    group or from a group address would not reach the gateway, or would teach the switch
    another host's MAC: the Ethernet cases are the systematic ones) and never forge a source
    address of `spare` (the legitimate clients: a forged SYN from a client's address and port
    holds that tuple until its SYN_RECV timeout, so a genuine connection from the same port
    would fail; the gateway cannot tell them apart, see doc/hardening.md) nor, in ARP, the
    gateway's (which would poison the clients' neighbour entry for it)."""
    from scapy.all import ARP, Ether, ICMP, IP, TCP, UDP, Dot1Q, Raw, IPOption_RR, fuzz, conf
    conf.verb = 0
    G = ":".join("%02x" % b for b in PLACEHOLDER)
    M = ":".join("%02x" % b for b in env.my_mac)
    me = env.my_ip
    out = []

    def add(cat, p):
        out.append((cat, bytes(p)))

    def eth(dst=G):
        return Ether(dst=dst, src=M)

    def sport():
        return rng.randrange(20000, 60000)

    def rnd_bytes(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    def ack_to_vip(**kw):   # a well-formed segment of no flow: the base of many mutations
        return eth() / IP(src=me, dst=vip, **kw) / TCP(sport=sport(), dport=vport, flags="A",
                                                         seq=rng.getrandbits(32), ack=rng.getrandbits(32))

    # Ethernet
    for et in (0x86dd, 0x88cc, 0x0000, 0x05dc, 0xffff, 0x88a8, 0x8847, 0x8863, 0x0801):
        out.append(("eth_ethertype", PLACEHOLDER + env.my_mac + struct.pack("!H", et) + bytes(46)))
    add("eth_ethertype", eth() / Dot1Q(vlan=10) / IP(src=me, dst=vip) / TCP(dport=vport, flags="S"))
    base = bytes(eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="A"))
    for n in range(14, 34):
        add("eth_runt", base[:n])
    arp_ok = bytes(eth("ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=M, psrc=me, pdst=gw_ip))
    for n in (14, 20, 28, 41):
        add("eth_runt", arp_ok[:n])
    for dst in ("02:00:5e:12:34:56", "ff:ff:ff:ff:ff:ff", "01:00:5e:01:02:03", "33:33:00:00:00:01"):
        add("eth_dst_other", Ether(dst=dst, src=M) / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="S"))

    # ARP
    for kw in (dict(hwtype=6), dict(ptype=0x86dd), dict(hwlen=8), dict(plen=16), dict(op=0), dict(op=3),
               dict(op=9), dict(op=0xffff)):
        add("arp_malformed", eth("ff:ff:ff:ff:ff:ff") / ARP(**dict(dict(op=1, hwsrc=M, psrc=me, pdst=gw_ip), **kw)))
    add("arp_gratuitous", eth("ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=M, psrc=me, pdst=me))
    add("arp_gratuitous", eth("ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=M, psrc=me, pdst=me, hwdst="ff:ff:ff:ff:ff:ff"))
    for other in ("10.10.0.2", "10.10.0.77", vip, "10.20.0.11"):
        add("arp_other_ip", eth("ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=M, psrc=me, pdst=other))
        add("arp_other_ip", eth() / ARP(op=2, hwsrc=M, psrc=me, pdst=other, hwdst=G))
    add("arp_valid", eth("ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=M, psrc=me, pdst=gw_ip))
    add("arp_valid", eth() / ARP(op=2, hwsrc=M, psrc=me, pdst=gw_ip, hwdst=G))
    # A host of this LAN claims the backends' addresses (they are neighbours of the other port).
    for b in sorted(env.backends):
        b = socket.inet_ntoa(b)
        add("arp_spoof", eth() / ARP(op=2, hwsrc="02:de:ad:be:ef:01", psrc=b, pdst=gw_ip, hwdst=G))
        add("arp_spoof", eth("ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc="02:de:ad:be:ef:01", psrc=b, pdst=gw_ip))

    # IPv4
    for v in (0, 5, 6, 15):
        add("ip_version", ack_to_vip(version=v))
    for ihl in range(5):
        add("ip_hdrlen", ack_to_vip(ihl=ihl))
    add("ip_options", ack_to_vip(options=[IPOption_RR()]))
    add("ip_options", ack_to_vip(options=[b"\x01\x01\x01\x00"]))
    p = bytearray(bytes(ack_to_vip()))
    p[14] = 0x4f          # IHL 15 (60 bytes) beyond the 40-byte datagram
    p[24:26] = b"\0\0"
    p[24:26] = struct.pack("!H", 0xffff ^ csum(bytes(p[14:34])))
    add("ip_options", bytes(p))
    for ln in (0, 19, 41, 1000, 65535):
        add("ip_len", ack_to_vip(len=ln))
    add("ip_len", ack_to_vip(len=20))          # the header alone: no room for TCP
    out[-1] = ("ip_len_tcp_short", out[-1][1])
    add("ip_csum", ack_to_vip(chksum=0x1234))
    add("ip_csum", ack_to_vip(chksum=0))
    for flags, frag in (("MF", 0), ("MF", 185), (0, 370), ("DF", 1), ("MF+DF", 0)):
        add("ip_fragment", ack_to_vip(flags=flags, frag=frag))
    add("ip_ttl", ack_to_vip(ttl=0))
    add("ip_ttl", eth() / IP(src=me, dst=vip, ttl=0) / TCP(sport=sport(), dport=vport, flags="S"))
    add("ip_ttl1", ack_to_vip(ttl=1))
    for s in ("255.255.255.255", "224.0.0.1", "239.1.2.3", "0.0.0.0", "127.0.0.1", "240.0.0.1"):
        add("ip_src_martian", eth() / IP(src=s, dst=vip) / TCP(sport=sport(), dport=vport, flags="S"))
    for s in sorted(env.locals) + [env.bcast]:
        s = socket.inet_ntoa(s)
        add("ip_src_ours", eth() / IP(src=s, dst=vip) / TCP(sport=sport(), dport=vport, flags="S"))
        add("ip_src_ours", eth() / IP(src=s, dst=gw_ip) / ICMP(type=8, id=7, seq=1))
    for proto in (17, 47, 41, 255, 0):
        p = eth() / IP(src=me, dst=vip, proto=proto) / Raw(bytes(20))
        add("ip_proto", p)
    add("ip_proto", eth() / IP(src=me, dst=gw_ip) / UDP(sport=5353, dport=53))
    add("ip_other_dst", eth() / IP(src=me, dst="10.10.0.2") / ICMP(type=8))
    add("ip_other_dst", eth() / IP(src=me, dst="8.8.8.8") / TCP(sport=sport(), dport=80, flags="S"))
    add("ip_other_dst", eth() / IP(src=me, dst=gw_ip) / TCP(sport=sport(), dport=22, flags="S"))
    add("ip_other_dst", eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport + 1, flags="S"))

    # ICMP
    for t in (0, 4, 5, 13, 14, 17, 42, 255):
        add("icmp_type", eth() / IP(src=me, dst=gw_ip) / ICMP(type=t))
    for ln in (0, 4, 7):
        add("icmp_short", eth() / IP(src=me, dst=gw_ip, proto=1) / Raw(b"\x08" * ln))
    add("icmp_echo", eth() / IP(src=me, dst=gw_ip) / ICMP(type=8, id=1, seq=1) / Raw(b"x" * 32))
    add("icmp_echo", eth() / IP(src=me, dst="10.20.0.1") / ICMP(type=8, id=1, seq=2))
    add("icmp_echo_other", eth() / IP(src=me, dst=vip) / ICMP(type=8, id=1, seq=3))
    quote = bytes(IP(src="10.20.0.1", dst="10.20.0.11") / TCP(sport=40000, dport=8080, flags="S"))
    for ln in (0, 10, 20, 27):                  # truncated quotes
        add("icmp_quote_short", eth() / IP(src=me, dst=gw_ip) / ICMP(type=3, code=3) / Raw(quote[:ln]))
    add("icmp_quote_short", eth() / IP(src=me, dst=gw_ip) / ICMP(type=3, code=3) /
        Raw(bytes(IP(src="10.20.0.1", dst="10.20.0.11") / UDP(sport=40000, dport=53))[:28]))
    add("icmp_time_exceeded", eth() / IP(src=me, dst=gw_ip) / ICMP(type=11) / Raw(quote[:28]))
    for _ in range(40):                         # forged unreachables quoting random tuples
        q = bytes(IP(src="10.20.0.1", dst="10.20.0.%d" % rng.randrange(11, 14)) /
                  TCP(sport=rng.randrange(1024, 65536), dport=8080, flags="S", seq=rng.getrandbits(32)))
        add("icmp_unreach_forged", eth() / IP(src=rng.choice([me, "10.20.0.254", "10.10.0.254"]), dst=gw_ip) /
            ICMP(type=3, code=rng.choice([0, 1, 3, 4, 13])) / Raw(q[:28 + rng.choice([0, 12])]))
    for ep in BACKENDS:                         # ... and quoting the health-check SYNs' port
        q = bytes(IP(src="10.20.0.1", dst=ep) / TCP(sport=PROBE_PORT, dport=8080, flags="S",
                                                     seq=rng.getrandbits(32)))
        add("icmp_unreach_probe", eth() / IP(src=me, dst=gw_ip) / ICMP(type=3, code=3) / Raw(q[:28]))

    # TCP
    for d in range(5):
        add("tcp_doff", eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="A", dataofs=d))
    add("tcp_doff", eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="A", dataofs=15))
    add("tcp_doff", eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="S", dataofs=8) / Raw(b"ab"))
    add("tcp_csum", eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="S", chksum=0x1234))
    add("tcp_csum", eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="SE", chksum=0))
    add("tcp_csum_ack", eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="A", chksum=0x1234))
    for fl in ("SF", "SR", "SFA", "SRA", "SFR", 0, "", "FSRPAUEC", "U", "P", "PU", "EC", "FPU", "UA", "F",
               "R", "RA", "FA", "PA"):
        add("tcp_flags", eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags=fl,
                                                           seq=rng.getrandbits(32)))
    for sp, dp in ((0, vport), (sport(), 0), (0, 0)):
        add("tcp_port", eth() / IP(src=me, dst=vip) / TCP(sport=sp, dport=dp, flags="S"))
    for _ in range(20):
        add("tcp_no_flow", ack_to_vip())
        add("tcp_no_flow", eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="R",
                                                             seq=rng.getrandbits(32)))

    # Sizes: up to the MTU, over it (one mbuf still holds it), jumbo (it does not)
    for ln in (60, 64, 128, 512, 1000, 1514):
        p = ack_to_vip()
        add("size_mtu", p / Raw(bytes(ln - len(p))))
    add("size_mtu", eth() / IP(src=me, dst=gw_ip) / ICMP(type=8, id=9, seq=9) / Raw(bytes(1472)))
    for ln in (1515, 1600, 2000, 2048):
        p = ack_to_vip()
        add("size_over_mtu", p / Raw(bytes(ln - len(p))))
    if jumbo:
        for ln in (2100, 4096, 9000):
            p = ack_to_vip()
            add("size_jumbo", p / Raw(bytes(ln - len(p))))
            p = eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="S")
            add("size_jumbo", p / Raw(bytes(ln - len(p))))

    # Fuzz: scapy's fuzz() on six templates (each build draws every field not given anew)
    templates = [
        ("fuzz_ip_tcp", eth() / fuzz(IP(src=me, dst=vip) / TCP(dport=vport))),
        ("fuzz_tcp", eth() / IP(src=me, dst=vip) / fuzz(TCP(dport=vport))),
        ("fuzz_tcp", eth() / IP(src=me, dst=vip, ttl=0) / fuzz(TCP(dport=vport))),
        ("fuzz_icmp", eth() / IP(src=me, dst=gw_ip) / fuzz(ICMP()) / Raw(quote[:28])),
        ("fuzz_icmp", eth() / IP(src=me, dst=gw_ip) / fuzz(ICMP())),
        ("fuzz_arp", eth("ff:ff:ff:ff:ff:ff") / fuzz(ARP(pdst=gw_ip, psrc=me))),
        ("fuzz_arp", eth() / fuzz(ARP(pdst="10.10.0.9"))),
        ("fuzz_ip", eth() / fuzz(IP(src=me, dst=vip)) / Raw(bytes(range(40)))),
    ]
    for i in range(n_fuzz):
        cat, t = templates[i % len(templates)]
        add(cat, t)
    # Mutations of valid frames: a few header bytes set near the boundaries of some check,
    # the IPv4 and TCP checksums mostly made right again, so that later checks are reached.
    valid = [bytes(p) for p in (
        eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="S", options=[("MSS", 1460)]),
        eth() / IP(src=me, dst=vip) / TCP(sport=sport(), dport=vport, flags="PA") / Raw(b"GET / HTTP/1.1\r\n\r\n"),
        eth() / IP(src=me, dst=gw_ip) / ICMP(type=8, id=3, seq=4) / Raw(b"ping" * 8),
        eth() / IP(src=me, dst=gw_ip) / ICMP(type=3, code=3) / Raw(quote[:28]),
        eth("ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=M, psrc=me, pdst=gw_ip),
    )]
    interesting = (0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x10, 0x11, 0x12, 0x14, 0x3f, 0x40, 0x44,
                   0x45, 0x46, 0x4f, 0x50, 0x7f, 0x80, 0xe0, 0xf0, 0xff)
    spare_b = {ip2b(a) for a in spare}
    for i in range(n_fuzz):
        base = rng.choice(valid)
        b = bytearray(base)
        for _ in range(rng.randrange(1, 4)):
            at = rng.choice((12, 13, 14, 16, 17, 20, 21, 22, 23, 26, 29, 30, 33, 34, 35, 36, 37,
                             46, 47, 42, 43, rng.randrange(0, len(b))))
            if at < len(b):
                b[at] = rng.choice(interesting) if rng.random() < 0.7 else rng.getrandbits(8)
        if rng.random() < 0.15:
            b = b[:rng.randrange(0, len(b) + 1)] if rng.random() < 0.7 else b + rnd_bytes(rng.randrange(1, 40))
        b[0:min(12, len(b))] = base[0:min(12, len(b))]
        if len(b) >= 30 and b[12:14] == b"\x08\x00" and bytes(b[26:30]) in spare_b:
            b[26:30] = env.my_ip_b
        if len(b) >= 32 and b[12:14] == b"\x08\x06" and (bytes(b[28:32]) in spare_b or
                                                           bytes(b[28:32]) in env.locals):
            b[28:32] = env.my_ip_b
        if len(b) >= 34 and b[12:14] == b"\x08\x00" and (b[14] & 15) == 5 and rng.random() < 0.85:
            b[24:26] = b"\0\0"
            b[24:26] = struct.pack("!H", 0xffff ^ csum(bytes(b[14:34])))
            tl = struct.unpack("!H", b[16:18])[0]
            if b[23] == 6 and 40 <= tl and 14 + tl <= len(b) and rng.random() < 0.7:
                b[50:52] = b"\0\0"
                pseudo = bytes(b[26:34]) + struct.pack("!BBH", 0, 6, tl - 20)
                b[50:52] = struct.pack("!H", 0xffff ^ csum(pseudo + bytes(b[34:14 + tl])))
        out.append(("fuzz_mutated", bytes(b)))
    for i in range(n_fuzz // 2):
        et = rng.choice([b"\x08\x00", b"\x08\x06", rnd_bytes(2)])
        body = rnd_bytes(rng.randrange(0, 120))
        if et == b"\x08\x00" and body and rng.random() < 0.5:
            body = b"\x45" + body[1:]
        out.append(("fuzz_raw", PLACEHOLDER + env.my_mac + et + body))
    return out


def rst_live(env, live, vip, vport, rng):
    """RSTs with random sequence numbers at the client tuples of live flows."""
    out = []
    for a, p in live:
        for fl in (0x04, 0x14):
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0, ip2b(a), ip2b(vip))
            ip = ip[:10] + struct.pack("!H", 0xffff ^ csum(ip)) + ip[12:]
            tcp = struct.pack("!HHIIBBHHH", p, vport, rng.getrandbits(32), rng.getrandbits(32), 0x50, fl,
                              0, 0, 0)
            c = 0xffff ^ csum(ip[12:20] + struct.pack("!BBH", 0, 6, 20) + tcp)
            tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
            out.append(("tcp_rst_live", env.gw_mac + env.my_mac + b"\x08\x00" + ip + tcp))
    return out


def patch_mac(f, gw_mac):
    """The gateway's MAC in place of PLACEHOLDER (Ethernet destination, ARP target)."""
    if f[0:6] == PLACEHOLDER:
        f = gw_mac + f[6:]
    if len(f) >= 38 and f[12:14] == b"\x08\x06" and f[32:38] == PLACEHOLDER:
        f = f[:32] + gw_mac + f[38:]
    return f


# ---------------------------------------------------------------- sending

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", default="eth0")
    ap.add_argument("--gw-mac", default=None, help="instead of reading it (and the live tuples) on stdin")
    ap.add_argument("--live", default="", help="with --gw-mac: client tuples ip:port of live flows")
    ap.add_argument("--rst-only", action="store_true", help="send only the RSTs at the live flows")
    ap.add_argument("--gw-ip", default="10.10.0.1")
    ap.add_argument("--my-ip", required=True)
    ap.add_argument("--locals", default="10.10.0.1,10.20.0.1")
    ap.add_argument("--port-net", default="10.10.0.1/24")
    ap.add_argument("--vip", default="10.96.0.10")
    ap.add_argument("--vport", type=int, default=80)
    ap.add_argument("--backends", default="10.20.0.11,10.20.0.12,10.20.0.13")
    ap.add_argument("--spare", default="10.10.0.2", help="addresses the fuzzed frames never forge")
    ap.add_argument("--fuzz", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--pause", type=float, default=0.01)
    ap.add_argument("--jumbo", action="store_true", help="the path takes 9000-byte frames")
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    random.seed(a.seed)                       # scapy's fuzz() draws from the random module
    my_mac = open("/sys/class/net/%s/address" % a.iface).read().strip()
    services = [(a.vip, a.vport)]
    env = Env(PLACEHOLDER.hex(":"), my_mac, a.my_ip, a.locals.split(","), a.port_net, services,
              a.backends.split(","))
    t0 = time.monotonic()
    frames = [] if a.rst_only else campaign(env, a.vip, a.vport, a.gw_ip, a.fuzz, rng, a.jumbo,
                                            [x for x in a.spare.split(",") if x])
    t_build = time.monotonic() - t0
    if a.gw_mac:
        go = {"gw_mac": a.gw_mac, "live": [t for t in a.live.split(",") if t]}
    else:
        print("ready", flush=True)
        go = json.loads(sys.stdin.readline())
    env.gw_mac = bytes.fromhex(go["gw_mac"].replace(":", ""))
    live = [(t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1])) for t in go.get("live", [])]
    env.set_live(live, services)
    frames = [(c, patch_mac(f, env.gw_mac)) for c, f in frames]
    # the RSTs at live flows go in the middle of the campaign
    mid = len(frames) // 2
    frames[mid:mid] = rst_live(env, live, a.vip, a.vport, rng)

    res = {"sent": {}, "unsent": {}, "drops": {}, "answered": {}, "consumed": {}, "flows": 0,
           "flows_self": 0, "ierrors": 0, "uncertain": {}, "arp_wrong_port": 0, "outcomes": {}}

    def bump(d, k, n=1):
        d[k] = d.get(k, 0) + n

    s = None
    if not a.dry_run:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((a.iface, 0))
    t1 = time.monotonic()
    for i, (cat, f) in enumerate(frames):
        if s is not None:
            try:
                s.send(f)
            except OSError as e:
                bump(res["unsent"], "%s (%s)" % (cat, os.strerror(e.errno)))
                continue
        bump(res["sent"], cat)
        outcome, detail = expect(f, env)
        bump(res["outcomes"], "%s:%s" % (cat, outcome if outcome != "drop" else detail))
        if outcome == "drop":
            bump(res["drops"], detail)
        elif outcome == "answer":
            bump(res["answered"], detail)
        elif outcome == "consume":
            bump(res["consumed"], detail)
        elif outcome == "flow":
            res["flows"] += 1
            res["flows_self"] += detail == "self"
        elif outcome == "ierror":
            res["ierrors"] += 1
        else:
            bump(res["uncertain"], cat)
        # An ARP to the gateway that claims a neighbour of its other port: refused by the control plane.
        if (len(f) >= 42 and f[12:14] == b"\x08\x06" and outcome in ("answer", "consume")
                and f[28:32] in env.backends):
            res["arp_wrong_port"] += 1
        if (i + 1) % a.batch == 0 and a.pause > 0:
            time.sleep(a.pause)   # the worker shares its core: leave it time to drain the TAP
    res["frames"] = len(frames)
    res["build_s"] = round(t_build, 2)
    res["send_s"] = round(time.monotonic() - t1, 2)
    json.dump(res, sys.stdout, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
