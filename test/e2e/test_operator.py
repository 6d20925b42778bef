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
              "show neigh", "show routes", "show endpoints", "show endpoint 10.20.0.11", "help",
              "help all", "show flows summary", "set log info", "set endpoint 10.20.0.12 drain",
              "show endpoint 10.20.0.12", "set endpoint 10.20.0.12 undrain", "set connect timeout 400ms",
              "show config")
    assert out.count("# ok") == 21, out
    assert "set healthcheck <param> <value>" in out           # help all
    assert "endpoint 10.20.0.12: DRAINED" in out
    assert re.search(r"connect_timeout_ms\W+400\b", out), out              # show config, after set
    assert "Driver name: net_tap" in out
    assert "mode PreferNetwork, decided by MeshGateway.spec.defaultTrafficDistribution" in out
    assert "10.20.0.11:8080" in out and ("TIME_WAIT" in out or "ESTABLISHED" in out)
    bad = cli(gw, "show port stats 99", "show service nope/none", "show bogus", "load /nonexistent.yaml",
              "show endpoint 10.99.0.1", "set log loud", "set outlier consecutiveFailures -1",
              "set healthcheck bogus 1", "set endpoint 10.99.0.1 drain", "set connect timeout 1x",
              "load /dev/zero", "load /tmp")
    assert bad.count("# error") == 12 and "# ok" not in bad, bad
    assert "not a regular file" in bad
    assert "Invalid port 99" in bad
    assert "Configuration refused, the running one stays" in bad
    assert gw.alive()
    assert len(tb.curl_many(5)) == 5


def test_control_surface_is_owner_only(tb, gw, tmp_path):
    """The CLI socket, the telemetry socket and the EAL runtime directory: the owner's
    alone; nothing of meshgate's listens on the network; --cli-socket never replaces
    anything but a socket."""
    import os
    import stat
    sock = tmp_path / "gw1" / "cli.sock"
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    run = Path("/var/run/dpdk") / gw.prefix
    assert stat.S_IMODE(os.stat(run).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(run / "dpdk_telemetry.v2").st_mode) & 0o077 == 0
    r = subprocess.run(["ss", "-Hltnup"], capture_output=True, text=True)
    assert "meshgate" not in r.stdout, r.stdout
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    r = subprocess.run([str(gw.argv()[0]), "--no-huge", "-m", "256", "--no-pci", "--file-prefix",
                        gw.prefix + "x", "--", "--cli-socket", str(victim)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "is not a socket" in r.stdout + r.stderr, r.stdout + r.stderr
    assert victim.read_text() == "keep me\n"


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
    # Every /meshgate command the gateway registered answers (with its parameter where it
    # needs one); none is left untested.
    params = {"/meshgate/lcore": "0", "/meshgate/port": "0", "/meshgate/service": "demo/web",
              "/meshgate/endpoint": "10.20.0.11"}
    cmds = [c for c in telemetry(gw.prefix, "/") if c.startswith("/meshgate/")]
    assert len(cmds) >= 14, cmds
    for cmd in cmds:
        full = cmd + ("," + params[cmd] if cmd in params else "")
        assert telemetry(gw.prefix, full) is not None, full
    # The endpoint as telemetry and as the CLI say it, at the same moment.
    ep = telemetry(gw.prefix, "/meshgate/endpoint,10.20.0.11")
    text = cli(gw, "show endpoint 10.20.0.11")
    assert ep["state"] == "healthy" and "endpoint 10.20.0.11: healthy" in text
    m = re.search(r"active connections (\d+), pending connects (\d+)", text)
    assert m and (ep["active"], ep["pending"]) == (int(m.group(1)), int(m.group(2))), (ep, text)
    m = re.search(r"events: start (\d+) connected (\d+)", text)
    assert m and (ep["events_start"], ep["events_connected"]) == (int(m.group(1)), int(m.group(2)))
    workers = telemetry(gw.prefix, "/meshgate/workers")
    assert workers, workers


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
