# SPDX-License-Identifier: BSD-3-Clause
"""Outlier detection, ejection and re-admission with real faults (issue 4).

A connection-per-request load runs from the client namespace while one backend
fails; meshgate's CLI socket says when the endpoint is ejected and when it comes
back. Ejection times are shortened (baseEjectionTime 3s) so that re-admission
fits in a test. For every fault: no client connection may fail while another
endpoint is up (connect failover hides the faults), the failing endpoint must be
ejected within the consecutive-failure threshold, and traffic must return to it
after re-admission.
"""
import json
import socket
import threading
import time

import pytest

from test_locality import config as base_config

OUTLIER = """\
  outlierDetection: {consecutiveFailures: 5, baseEjectionTime: 3s, maxEjectionTime: 30s, interval: 2s}
  connect: {timeout: 300ms, maxAttempts: 3}
"""


def config(tb):
    text = base_config(tb, default="Any")
    return text.replace("  defaultTrafficDistribution: Any\n", "  defaultTrafficDistribution: Any\n" + OUTLIER, 1)


def cli(gw, *commands):
    """Run commands on the gateway's CLI socket; returns the output of each."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(str(gw.workdir / "cli.sock"))
    s.sendall(("\n".join(commands) + "\n").encode())
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


def endpoint_state(gw, ip):
    out = cli(gw, "show endpoint %s" % ip)
    first = out.splitlines()[0] if out else ""
    return "ejected" if "EJECTED" in first else "healthy" if "healthy" in first else first


def start_gateway(tb, gateway_factory, tmp_path):
    sock = tmp_path / "gw1" / "cli.sock"
    return gateway_factory(config=config(tb), extra_args=["--cli-socket", str(sock)])


def run_fault(tb, gw, tmp_path, inject, restore, victim="b1", ip="10.20.0.11"):
    started = tmp_path / "started"
    p = tb.load_background(duration=14, concurrency=2, connect_timeout=10, timeout=10, start_file=started)
    t_fault = t_eject = t_back = None
    try:
        deadline = time.monotonic() + 20
        while not started.exists():
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.5)
        t_fault = time.monotonic()
        inject(victim)
        while time.monotonic() - t_fault < 6 and t_eject is None:
            if endpoint_state(gw, ip) == "ejected":
                t_eject = time.monotonic()
            time.sleep(0.05)
        restore(victim)
        while time.monotonic() - t_fault < 12 and t_back is None:
            if endpoint_state(gw, ip) == "healthy":
                t_back = time.monotonic()
            time.sleep(0.05)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    res = json.loads(out)
    detail = cli(gw, "show endpoint %s" % ip)
    print(res, detail)
    assert t_eject is not None, "%s was never ejected: %s" % (ip, detail)
    assert t_back is not None, "%s was never re-admitted: %s" % (ip, detail)
    print("time to ejection %.2fs, to re-admission %.2fs" % (t_eject - t_fault, t_back - t_eject))
    return res, t_eject - t_fault, t_back - t_eject


def test_server_killed_is_ejected_and_readmitted(tb, gateway_factory, tmp_path):
    gw = start_gateway(tb, gateway_factory, tmp_path)
    res, to_eject, to_back = run_fault(tb, gw, tmp_path, tb.server_stop, tb.server_start)
    assert res["failed_connections"] == 0, res
    assert set(res["outcomes"]) <= {"ok", "reset", "closed"}, res
    assert to_back < 6, "re-admission took %.1fs with a 3s ejection" % to_back
    assert "refused" in cli(gw, "show endpoint 10.20.0.11")


def test_blackholed_backend_is_ejected_on_timeouts(tb, gateway_factory, tmp_path):
    gw = start_gateway(tb, gateway_factory, tmp_path)
    res, to_eject, to_back = run_fault(tb, gw, tmp_path, tb.blackhole, tb.unblackhole)
    assert res["failed_connections"] == 0, res
    # Connections established before the blackhole may time out mid-stream.
    assert set(res["outcomes"]) <= {"ok", "reset", "closed", "timeout"}, res
    assert res["outcomes"].get("timeout", 0) <= 2, res
    assert "timeout" in cli(gw, "show endpoint 10.20.0.11")


def test_resets_after_establishment_do_not_eject(tb, gateway_factory, tmp_path):
    """Connections reset right after they were established are healthy at L4 (scenario 32)."""
    gw = start_gateway(tb, gateway_factory, tmp_path)
    # Connections that the client itself resets right after connecting.
    for _ in range(30):
        tb.run("c1", ["/usr/bin/python3", "-c",
                      "import socket,struct;s=socket.create_connection(('10.96.0.10',80),5);"
                      "s.setsockopt(socket.SOL_SOCKET,socket.SO_LINGER,struct.pack('ii',1,0));s.close()"],
               timeout=10)
    time.sleep(0.5)
    for ip in ("10.20.0.11", "10.20.0.12", "10.20.0.13"):
        assert endpoint_state(gw, ip) == "healthy", cli(gw, "show endpoint %s" % ip)


def test_show_endpoints_and_telemetry_agree(tb, gateway_factory, tmp_path):
    gw = start_gateway(tb, gateway_factory, tmp_path)
    assert tb.curl_many(30)
    out = cli(gw, "show endpoints", "show bogus")
    assert "10.20.0.11" in out and "healthy" in out
    assert out.rstrip().endswith("# error"), out
    assert gw.alive()
