#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Prometheus exporter for meshgate: DPDK telemetry in, Prometheus text out.

Reads meshgate's /meshgate/... telemetry commands over DPDK's telemetry socket
(/var/run/dpdk/<file-prefix>/dpdk_telemetry.v2) on every scrape and serves them
as Prometheus text on a loopback port. Python standard library only.

  scripts/meshgate-exporter.py --file-prefix mg-demo [--listen 127.0.0.1:9470] [--once]

Metrics (counters per worker are summed by meshgate, as the CLI shows them):
  meshgate_<counter>_total{}                  e.g. meshgate_rx_total, meshgate_connect_ok_total
  meshgate_drops_total{reason="..."}          every drop reason
  meshgate_worker_<counter>_total{lcore="N"}  per worker
  meshgate_flows_active, meshgate_workers
  meshgate_endpoint_weight{service, vip, endpoint, tier, state}
  meshgate_config_generation, meshgate_publish_wait_us_last ...
"""
import argparse
import http.server
import json
import re
import socket
import sys

# Values that go up and down. Everything else numeric is a counter; a numeric
# /meshgate/config key that is a setting (a duration, a threshold, a size) is a
# gauge too: its name says so (_ms, _percent, max_, size, threshold, ...).
GAUGES = {"flows_active", "workers", "generation", "publish_wait_us_last", "publish_wait_us_max",
          "connect_timeout_ms", "max_connect_attempts"}
GAUGE_HINTS = ("_ms", "_us", "_percent", "_permille", "max_", "min_", "size", "threshold", "alpha",
               "score", "enabled", "workers", "ports", "services", "endpoints", "generation")
STATES = ["healthy", "ejected", "at-limit", "dazed"]


def is_gauge(key):
    return key in GAUGES or any(h in key for h in GAUGE_HINTS)


class Telemetry:
    def __init__(self, prefix, runtime="/var/run/dpdk"):
        self.path = "%s/%s/dpdk_telemetry.v2" % (runtime, prefix)

    def query(self, cmd):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(5)
        try:
            s.connect(self.path)
            info = json.loads(s.recv(4096).decode())
            s.send(cmd.encode())
            reply = s.recv(info.get("max_output_len", 16384) + 1024).decode()
        finally:
            s.close()
        return json.loads(reply).get(cmd.split(",")[0])


def esc(v):
    return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metric(name, value, labels=None, kind="counter", out=None, seen=None):
    if name not in seen:
        seen.add(name)
        out.append("# TYPE %s %s" % (name, kind))
    lab = ""
    if labels:
        lab = "{" + ",".join('%s="%s"' % (k, esc(v)) for k, v in labels.items()) + "}"
    out.append("%s%s %s" % (name, lab, value))


def scrape(t):
    out, seen = [], set()
    stats = t.query("/meshgate/stats") or {}
    for k, v in sorted(stats.items()):
        if k.startswith("drop_"):
            metric("meshgate_drops_total", v, {"reason": k[5:]}, out=out, seen=seen)
        elif k in GAUGES:
            metric("meshgate_" + k, v, kind="gauge", out=out, seen=seen)
        else:
            metric("meshgate_%s_total" % k, v, out=out, seen=seen)
    for w, lcore in enumerate(t.query("/meshgate/lcores") or []):
        ws = t.query("/meshgate/lcore,%d" % w) or {}
        for k, v in sorted(ws.items()):
            if k in ("worker", "lcore") or k.startswith("drop_"):
                continue
            if k == "flows_active":
                metric("meshgate_worker_flows_active", v, {"lcore": lcore}, kind="gauge", out=out, seen=seen)
            else:
                metric("meshgate_worker_%s_total" % k, v, {"lcore": lcore}, out=out, seen=seen)
    conf = t.query("/meshgate/config") or {}
    for k, v in sorted(conf.items()):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if is_gauge(k):
            metric("meshgate_config_" + k, v, kind="gauge", out=out, seen=seen)
        else:
            metric("meshgate_control_%s_total" % k, v, out=out, seen=seen)
    for line in paged(t, "/meshgate/services"):
        name, vipport = line.split()[:2]
        for e in paged(t, "/meshgate/service,%s" % name, header=1):
            m = re.match(r"(\S+)->(\S+) tier=(\d+) rank=(-?\d+) weight=(\d+) state=(\d+)", e)
            if m and m.group(1) == vipport:
                metric("meshgate_endpoint_weight", m.group(5),
                       {"service": name, "vip": vipport, "endpoint": m.group(2), "tier": m.group(3),
                        "state": STATES[int(m.group(6)) % len(STATES)]},
                       kind="gauge", out=out, seen=seen)
    # Outlier detection, per endpoint: "ip state fails=N k=N back_in_ms=N score=F rtt_us=F
    # active=N pending=N ejections=N"
    for line in paged(t, "/meshgate/endpoints"):
        parts = line.split()
        if len(parts) < 2:
            continue
        ip, state = parts[0], parts[1]
        kv = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        lab = {"endpoint": ip}
        for st in ("healthy", "ejected", "probe-down", "at-limit", "drained"):
            metric("meshgate_endpoint_state", 1 if state == st else 0, dict(lab, state=st),
                   kind="gauge", out=out, seen=seen)
        for key, name, kind in (("fails", "meshgate_endpoint_consecutive_failures", "gauge"),
                                ("score", "meshgate_endpoint_success_score", "gauge"),
                                ("rtt_us", "meshgate_endpoint_connect_latency_us", "gauge"),
                                ("active", "meshgate_endpoint_active_connections", "gauge"),
                                ("pending", "meshgate_endpoint_pending_connects", "gauge"),
                                ("back_in_ms", "meshgate_endpoint_ejected_for_ms", "gauge"),
                                ("ejections", "meshgate_endpoint_ejections_total", "counter")):
            if key in kv:
                metric(name, kv[key], lab, kind=kind, out=out, seen=seen)
    return "\n".join(out) + "\n"


def paged(t, cmd, header=0, limit=1000000):
    """Every entry of a paged listing. The start index counts entries (the
    @header lines only the first page carries do not count): ask again from
    the number received, until a page brings nothing new."""
    got, start = [], 0
    while start < limit:
        page = t.query("%s,%d" % (cmd, start)) or []
        new = len(page) - (header if start == 0 else 0)
        got.extend(page)
        if new <= 0:
            break
        start += new
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file-prefix", required=True, help="meshgate's EAL --file-prefix")
    ap.add_argument("--listen", default="127.0.0.1:9470", help="loopback address:port to serve on")
    ap.add_argument("--runtime-dir", default="/var/run/dpdk")
    ap.add_argument("--once", action="store_true", help="print one scrape and exit")
    a = ap.parse_args()
    t = Telemetry(a.file_prefix, a.runtime_dir)
    if a.once:
        sys.stdout.write(scrape(t))
        return
    host, port = a.listen.rsplit(":", 1)
    if host not in ("127.0.0.1", "::1", "localhost"):
        sys.exit("meshgate-exporter: serves on loopback only")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path not in ("/metrics", "/"):
                self.send_error(404)
                return
            try:
                body = scrape(t).encode()
            except OSError as e:
                self.send_error(503, "meshgate telemetry: %s" % e)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
