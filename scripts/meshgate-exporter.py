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

GAUGES = {"flows_active", "workers", "generation", "publish_wait_us_last", "publish_wait_us_max",
          "connect_timeout_ms", "max_connect_attempts"}


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
        if isinstance(v, (int, float)):
            name = "meshgate_config_" + k if k in GAUGES else "meshgate_control_%s_total" % k
            metric(name, v, kind="gauge" if k in GAUGES else "counter", out=out, seen=seen)
    start = 0
    while True:
        svcs = t.query("/meshgate/services,%d" % start) or []
        for line in svcs:
            name, vipport = line.split()[:2]
            eps = t.query("/meshgate/service,%s" % name) or []
            for e in eps[1:]:
                m = re.match(r"(\S+)->(\S+) tier=(\d+) rank=(-?\d+) weight=(\d+) state=(\d+)", e)
                if m and m.group(1) == vipport:
                    metric("meshgate_endpoint_weight", m.group(5),
                           {"service": name, "vip": vipport, "endpoint": m.group(2), "tier": m.group(3),
                            "state": ["healthy", "ejected", "at-limit", "dazed"][int(m.group(6)) % 4]},
                           kind="gauge", out=out, seen=seen)
        if len(svcs) < 200:
            break
        start += 200
    return "\n".join(out) + "\n"


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
