# SPDX-License-Identifier: BSD-3-Clause
"""The operator's interface on a running gateway (issue 5): the CLI socket with
good and bad commands, DPDK telemetry against the CLI's figures, the
Prometheus exporter's text, and dpdk-dumpcap capturing meshgate's packets."""
import json
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PY, ROOT, eal_mem_args
from test_outlier import cli

EXPORTER = ROOT / "scripts" / "meshgate-exporter.py"


def telemetry(prefix, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix)
    info = json.loads(s.recv(4096).decode())
    s.send(cmd.encode())
    reply = json.loads(s.recv(info["max_output_len"] + 1024).decode())
    s.close()
    return reply[cmd.split(",")[0]]


@pytest.fixture
def gw(tb, gateway_factory, tmp_path):
    g = gateway_factory(extra_args=["--cli-socket", str(tmp_path / "gw1" / "cli.sock")])
    g.prefix = "%s-gw%d" % (tb.prefix, g.n)
    return g


def test_cli_socket_commands_and_errors(tb, gw):
    assert tb.curl_many(10)
    out = cli(gw, "show port info all", "show port stats 0", "show lcores", "show config",
              "show services", "show service demo/web", "show flows", "show flows 10.96.0.10",
              "show neigh", "show routes", "show endpoints", "show endpoint 10.20.0.11", "help")
    answers = out.split("# ")
    assert out.count("# ok") == 13, out
    assert "Driver name: net_tap" in out
    assert "mode PreferNetwork, decided by MeshGateway.spec.defaultTrafficDistribution" in out
    assert "10.20.0.11:8080" in out and ("TIME_WAIT" in out or "ESTABLISHED" in out)
    bad = cli(gw, "show port stats 99", "show service nope/none", "show bogus", "load /nonexistent.yaml",
              "show endpoint 10.99.0.1", "set log loud")
    assert bad.count("# error") == 6 and "# ok" not in bad, bad
    assert "Invalid port 99" in bad
    assert "Configuration refused, the running one stays" in bad
    assert gw.alive()
    assert len(tb.curl_many(5)) == 5


def test_telemetry_matches_the_cli(tb, gw):
    assert tb.curl_many(20)
    time.sleep(0.5)  # no traffic now: counters hold still
    tel = telemetry(gw.prefix, "/meshgate/stats")
    line = [l for l in cli(gw, "show lcores").splitlines() if l.startswith("worker ")][0]
    m = re.search(r"rx (\d+) tx (\d+) flows (\d+) active (\d+) connect_ok (\d+)", line)
    assert m, line
    rx, tx, flows, active, ok = map(int, m.groups())
    assert (tel["rx"], tel["tx"], tel["flows_new"], tel["flows_active"], tel["connect_ok"]) == \
        (rx, tx, flows, active, ok)
    assert tel["connect_ok"] >= 20
    conf = telemetry(gw.prefix, "/meshgate/config")
    assert conf["generation"] >= 1 and conf["network"] == "net1"
    svc = telemetry(gw.prefix, "/meshgate/service,demo/web")
    assert svc[0].startswith("mode=PreferNetwork")
    assert sum("10.20.0.1" in l for l in svc[1:]) == 3
    for cmd in ("/meshgate/lcores", "/meshgate/lcore,0", "/meshgate/services", "/meshgate/neigh",
                "/meshgate/port,0", "/meshgate/flows"):
        assert telemetry(gw.prefix, cmd) is not None, cmd


def test_exporter_serves_prometheus_text(tb, gw):
    assert tb.curl_many(10)
    r = subprocess.run([PY, str(EXPORTER), "--file-prefix", gw.prefix, "--once"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$')
    names = set()
    for line in r.stdout.splitlines():
        if line.startswith("# TYPE "):
            assert line.split()[3] in ("counter", "gauge"), line
            continue
        assert sample.match(line), "not Prometheus text: %r" % line
        names.add(line.split("{")[0].split()[0])
    assert {"meshgate_rx_total", "meshgate_connect_ok_total", "meshgate_drops_total",
            "meshgate_endpoint_weight", "meshgate_worker_rx_total", "meshgate_endpoint_state",
            "meshgate_endpoint_success_score", "meshgate_endpoint_active_connections"} <= names
    # One state per endpoint is 1, the others 0.
    up = re.findall(r'meshgate_endpoint_state\{endpoint="10.20.0.11",state="([a-z-]+)"\} 1', r.stdout)
    assert up == ["healthy"], up
    assert re.search(r'meshgate_endpoint_weight\{service="demo/web".*endpoint="10.20.0.11:8080"', r.stdout)


def test_dumpcap_captures_a_running_gateway(tb, gw, tmp_path):
    if eal_mem_args():
        pytest.skip("dpdk-dumpcap attaches as a secondary process: needs hugepages, none reserved")
    pcap = tmp_path / "cap.pcapng"
    p = subprocess.Popen(["dpdk-dumpcap", "--file-prefix=%s" % gw.prefix, "-i", "0", "-w", str(pcap),
                          "-a", "duration:8", "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(3)
    assert tb.curl_many(5)
    out, _ = p.communicate(timeout=30)
    assert pcap.exists() and pcap.stat().st_size > 0, out
    r = subprocess.run(["tcpdump", "-nr", str(pcap), "tcp port 80"], capture_output=True, text=True)
    assert "10.96.0.10.80" in r.stdout, r.stdout + r.stderr
