# SPDX-License-Identifier: BSD-3-Clause
"""The load generator's own correctness, through meshgate (a short run of the harness).

meshgate and mg-loadgen joined by one net_memif link (scripts/bench's topology, small
counts). Every connection the generator reports complete must have completed on both of
its sides (the generator's clients and its stateless servers count every step) and through
meshgate (its flow and connect counters); none lost, no error. The flood check: every flood
flow opened with a real handshake through meshgate. Speed is printed, never asserted.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BUILD, MESHGATE, eal_mem_args

LOADGEN = BUILD / "app" / "mg-loadgen" / "mg-loadgen"
SERVERS = 4

pytestmark = [
    pytest.mark.skipif(not LOADGEN.exists(), reason="mg-loadgen is not built"),
    # net_memif shares hugepage memory between the processes: no --no-huge run.
    pytest.mark.skipif("--no-huge" in eal_mem_args(), reason="net_memif needs hugepages"),
]


def config(sock):
    eps = "".join('  - addresses: ["10.0.2.%d"]\n' % (i + 1) for i in range(SERVERS))
    snat = ", ".join("10.0.3.%d" % (i + 1) for i in range(SERVERS))
    return f"""\
apiVersion: meshgate.io/v1alpha1
kind: MeshGateway
metadata: {{name: e2e-loadgen}}
spec:
  cluster: e2e
  network: net1
  nodeName: node-a
  ports:
    - name: wire
      device: net_memif0,role=server,socket={sock}
      address: 10.0.0.1/16
  snat:
    addresses: [{snat}]
  flowTable:
    size: 16384
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {{topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: e2e}}
spec:
  clusterIP: 10.96.0.10
  ports: [{{name: http, port: 80, targetPort: 8080, protocol: TCP}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: e2e
  labels: {{kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
{eps}"""


def telemetry(prefix, cmd):
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    try:
        s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix)
        info = json.loads(s.recv(4096).decode())
        s.send(cmd.encode())
        reply = s.recv(info.get("max_output_len", 16384) + 1024).decode()
    finally:
        s.close()
    return json.loads(reply)[cmd.split(",")[0]]


def start_gateway(tmp_path, workers=1, extra=("--idle-sleep", "10")):
    """meshgate on a memif server port, @workers workers on core 1; stopped by its PID."""
    prefix = "e2e-lg%d-%d" % (os.getpid(), workers)
    sock = str(tmp_path / "memif.sock")
    conf = tmp_path / "gw.yaml"
    conf.write_text(config(sock))
    logf = open(tmp_path / "meshgate.log", "w")
    lcores = "0@0," + ",".join("%d@1" % (i + 1) for i in range(workers))
    p = subprocess.Popen([str(MESHGATE), "--lcores", lcores, "--file-prefix", prefix,
                          "-m", "256", "--huge-unlink", "--no-pci", "--", "--config", str(conf)] + list(extra),
                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    gw = {"prefix": prefix, "sock": sock, "proc": p, "log": tmp_path / "meshgate.log", "logf": logf,
          "workers": workers}
    for _ in range(300):
        if "meshgate: running" in (tmp_path / "meshgate.log").read_text(errors="replace"):
            break
        if p.poll() is not None:
            stop_gateway(gw)
            pytest.fail((tmp_path / "meshgate.log").read_text())
        time.sleep(0.1)
    return gw


def stop_gateway(gw):
    p = gw["proc"]
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    gw["logf"].close()


@pytest.fixture
def gateway(tmp_path):
    gw = start_gateway(tmp_path)
    try:
        yield gw
    finally:
        stop_gateway(gw)


def loadgen(gw, args, timeout=40):
    # As many RX queues as meshgate has TX queues (one per worker, one for control).
    cmd = [str(LOADGEN), "--lcores", "0@0,1@0", "--file-prefix", gw["prefix"] + "-lg", "-m", "128", "--huge-unlink",
           "--no-pci", "--vdev=net_memif0,role=client,socket=%s" % gw["sock"], "--",
           "--json", "--rxq", str(gw.get("workers", 1) + 1), "--servers", "10.0.2.1/%d" % SERVERS,
           "--mbufs", "8191"] + args
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-3000:]
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            out.update(json.loads(line))
    return out


def test_every_reported_connection_completed_through_meshgate(gateway):
    n = 5000
    before = telemetry(gateway["prefix"], "/meshgate/stats")
    res = loadgen(gateway, ["--mode", "conn", "--conns", "64", "--count", str(n), "--duration", "0",
                            "--warmup", "0", "--timeout", "3000", "--drain", "5"])
    after = telemetry(gateway["prefix"], "/meshgate/stats")
    c = res["total"]["counters"]
    print("connections: %d in %.2f s (%.0f/s), lifetime p50 %.0f us p99 %.0f us" % (
        c["conn_completed"], res["total"]["seconds"], res["total"]["rates"]["conn_per_s"],
        res["total"]["latency_us"]["lifetime"]["p50"], res["total"]["latency_us"]["lifetime"]["p99"]))
    # The generator's clients: every connection opened went all the way.
    assert c["conn_open"] == n
    assert c["conn_established"] == n
    assert c["conn_completed"] == n
    assert res["total"]["inflight"] == 0
    for e in ("err_rst", "err_timeout", "err_bad_segment", "err_unexpected", "srv_bad", "srv_rst",
              "tx_drop", "nombuf"):
        assert c[e] == 0, e
    # Its servers saw each step of each of them (a retransmitted SYN may be answered twice).
    assert n <= c["srv_syn"] <= n + c["syn_retrans"]
    assert c["srv_established"] == n
    assert c["srv_request"] == n
    assert c["srv_fin"] == n
    assert c["srv_closed"] == n
    assert res["total"]["latency_us"]["lifetime"]["count"] == n
    # meshgate made exactly one flow and one successful connect for each of them.
    d = {k: after[k] - before[k] for k in ("flows_new", "connect_ok", "connect_failed", "connect_retry")}
    assert d["flows_new"] == n, d
    assert d["connect_ok"] == n, d
    assert d["connect_failed"] == 0 and d["connect_retry"] == 0, d
    assert after.get("drop_no_flow", 0) == before.get("drop_no_flow", 0)
    assert after.get("drop_flow_state", 0) == before.get("drop_flow_state", 0)


def test_steered_segments_need_no_handoff_between_two_workers(tmp_path):
    """mg-loadgen --steer 2 puts each segment on the queue of the worker that owns it
    (lib/proxy/mg_owner.h), as an RSS NIC with meshgate's key would: every connection
    completes, both workers carry flows, and not one segment is handed off."""
    gw = start_gateway(tmp_path, workers=2, extra=("--idle-yield",))
    try:
        n = 3000
        before = telemetry(gw["prefix"], "/meshgate/stats")
        res = loadgen(gw, ["--steer", "2", "--mode", "conn", "--conns", "64", "--count", str(n),
                           "--duration", "0", "--warmup", "0", "--timeout", "3000", "--drain", "5"])
        after = telemetry(gw["prefix"], "/meshgate/stats")
        workers = telemetry(gw["prefix"], "/meshgate/workers")
    finally:
        stop_gateway(gw)
    c = res["total"]["counters"]
    d = {k: after[k] - before[k] for k in ("flows_new", "connect_ok", "handoff_in", "handoff_out")}
    per_worker = [w["flows_new"] for w in workers.values()]
    print("steered over 2 workers: %d connections completed, flows per worker %s, hand-offs %d/%d"
          % (c["conn_completed"], per_worker, d["handoff_out"], d["handoff_in"]))
    assert c["conn_completed"] == n and res["total"]["inflight"] == 0, c
    assert d["flows_new"] == n and d["connect_ok"] == n, d
    assert d["handoff_out"] == 0 and d["handoff_in"] == 0, d
    assert len(per_worker) == 2 and min(per_worker) > n // 4, per_worker


def test_flood_flows_are_opened_through_meshgate(gateway):
    flows = 2000
    before = telemetry(gateway["prefix"], "/meshgate/stats")
    # At most 128 handshakes outstanding: all 2000 at once overflow the link's
    # rings now and then, and a lost handshake ACK (never retransmitted) leaves
    # a server short of one established flow.
    res = loadgen(gateway, ["--mode", "flood", "--flows", str(flows), "--rate", "200k",
                            "--duration", "1", "--warmup", "0", "--setup-window", "128"])
    after = telemetry(gateway["prefix"], "/meshgate/stats")
    w, c = res["window"], res["total"]["counters"]
    print("flood: %.3f Mpps offered, %.3f Mpps through meshgate" % (
        w["rates"]["flood_tx_pps"] / 1e6, w["rates"]["flood_rx_pps"] / 1e6))
    assert res["setup"]["held"] == flows
    assert c["held"] == flows and c["hold_failed"] == 0
    assert c["srv_established"] == flows
    assert after["flows_new"] - before["flows_new"] == flows
    assert after["connect_ok"] - before["connect_ok"] == flows
    # At 200k pps meshgate forwards every flood segment to the servers.
    assert c["flood_rx"] > 0
    lost = c["flood_tx"] - c["flood_rx"] - (after.get("drop_tx_full", 0) - before.get("drop_tx_full", 0))
    assert 0 <= lost <= c["flood_tx"] // 1000, lost


def test_syn_flood_at_full_rate_legitimate_connections_complete(gateway):
    """A SYN flood from 64k spoofed sources as fast as the link takes, with
    connections of legitimate clients among it: >= 99 % of those complete."""
    before = telemetry(gateway["prefix"], "/meshgate/stats")
    res = loadgen(gateway, ["--mode", "conn,synflood", "--conns", "32", "--duration", "4",
                            "--warmup", "1", "--timeout", "3000", "--drain", "5"], timeout=60)
    after = telemetry(gateway["prefix"], "/meshgate/stats")
    w, c = res["window"], res["total"]["counters"]
    d = {k: after[k] - before[k] for k in after if isinstance(after[k], int) and k in before}
    ok, opened = c["conn_completed"], c["conn_open"]
    failed = c["err_rst"] + c["err_timeout"]
    print("SYN flood: %.3f Mpps offered (%d SYNs in %.1f s), meshgate: cookies sent %d, flows opened by "
          "cookies %d, half-open limit hits %d, drops %s" % (
              c["synflood_tx"] / res["total"]["seconds"] / 1e6, c["synflood_tx"],
              res["total"]["seconds"], d["syncookies_sent"],
              d["syncookies_ok"], d["half_open_limit_worker"],
              {k: v for k, v in d.items() if k.startswith("drop_") and v}))
    print("legitimate: %d of %d connections completed (%.3f %%), %d failed, %.0f conn/s" % (
        ok, opened, 100.0 * ok / max(opened, 1), failed, w["rates"]["conn_per_s"]))
    assert c["synflood_tx"] > 100000, c
    assert opened > 100, c
    assert ok >= 0.99 * opened, c
    assert d["syncookies_sent"] > 0, d
    assert after["half_open"] <= 4096, after
