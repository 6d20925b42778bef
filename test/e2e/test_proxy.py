# SPDX-License-Identifier: BSD-3-Clause
"""End to end through meshgate (issue 2): kernel clients in a namespace, real
servers in three backend namespaces, meshgate between them on net_tap ports.

Every test runs twice: with one worker lcore, and with two worker lcores that
share one core (--lcores 0@0,1@1,2@1).

Behaviour is asserted, never speed: the only time bounds are there to tell a
prompt answer from a hang.
"""
import hashlib
import os
import signal
import sys
import time

import pytest

from conftest import GW_BACKEND, GW_CLIENT, VIP, VIP_PORT, make_config

sys.path.insert(0, str(__import__("conftest").SCRIPTS))
from backend import pattern_sha256  # noqa: E402  (scripts/backend.py)

BACKENDS = ("b1", "b2", "b3")


@pytest.fixture(params=[1, 2], ids=["1worker", "2workers"])
def workers(request):
    return request.param


@pytest.fixture
def gw(gateway_factory, workers):
    return gateway_factory(workers=workers)


def share_report(backends, total):
    return ", ".join("%s=%d (%.0f%%)" % (b, backends.get(b, 0), 100.0 * backends.get(b, 0) / max(1, total))
                     for b in BACKENDS)


# ---------------------------------------------------------------- L2/L3

def test_ping_gateway_addresses(tb, gw):
    """ARP + ICMP echo: the client pings 10.10.0.1, a backend pings 10.20.0.1."""
    r = tb.run("c1", ["ping", "-c", "3", "-i", "0.2", "-W", "2", GW_CLIENT], timeout=30)
    assert r.returncode == 0, "client -> %s: %s%s" % (GW_CLIENT, r.stdout, r.stderr)
    r = tb.run("b1", ["ping", "-c", "3", "-i", "0.2", "-W", "2", GW_BACKEND], timeout=30)
    assert r.returncode == 0, "b1 -> %s: %s%s" % (GW_BACKEND, r.stdout, r.stderr)


# ---------------------------------------------------------------- proxying

def test_200_curl_requests_all_succeed_and_reach_every_backend(tb, gw):
    res = tb.curl_many(200)
    assert len(res) == 200, "curl printed %d results" % len(res)
    failed = [r for r in res if r[0] != 0 or r[1] != "200"]
    assert not failed, "%d of 200 requests failed, e.g. %s" % (len(failed), failed[:5])
    counts = {}
    for _, _, b in res:
        counts[b] = counts.get(b, 0) + 1
    assert set(counts) == set(BACKENDS), "backends seen: %s" % counts
    for b in BACKENDS:
        # uniform random over 3: expect ~33%; 15% is > 5 sigma below that
        assert counts[b] >= 30, "uneven spread: %s" % share_report(counts, 200)


@pytest.mark.parametrize("mode", ["keepalive", "conn_close"])
def test_wrk_no_socket_errors(tb, gw, mode):
    hdr = ["-H", "Connection: close"] if mode == "conn_close" else []
    r = tb.run("c1", ["wrk", "-t", "2", "-c", "4", "-d", "5s", "--timeout", "5s"] + hdr +
               ["http://%s:%d/" % (VIP, VIP_PORT)], timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Socket errors" not in out, out
    assert "Non-2xx" not in out, out
    reqs = [l for l in out.splitlines() if "requests in" in l]
    assert reqs and int(reqs[0].split()[0]) > 0, out
    print(out)


def test_100mb_download_arrives_intact(tb, gw):
    n = 100 * 1024 * 1024
    r = tb.run("c1", ["bash", "-c", "set -o pipefail; curl -sS --max-time 240 http://%s:%d/bytes/%d | sha256sum"
                      % (VIP, VIP_PORT, n)], timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == pattern_sha256(n), "100 MB download corrupted"


def test_100mb_upload_arrives_intact(tb, gw, tmp_path):
    n = 100 * 1024 * 1024
    f = tmp_path / "upload.bin"
    h = hashlib.sha256()
    with open(f, "wb") as out:
        for _ in range(n // (1 << 20)):
            c = os.urandom(1 << 20)
            h.update(c)
            out.write(c)
    rc, out, _ = tb.curl("http://%s:%d/sha256" % (VIP, VIP_PORT), "-X", "POST", "-T", str(f),
                         "-H", "Expect:", timeout=300)
    assert rc == 0, "curl exit %d: %s" % (rc, out)
    fields = dict(kv.split("=", 1) for kv in out.split())
    assert int(fields["bytes"]) == n, out
    assert fields["sha256"] == h.hexdigest(), "100 MB upload corrupted: %s" % out


# ---------------------------------------------------------------- connect failover

def test_backend_refusing_rst_no_failed_client_connections(tb, gw):
    """b2's server is killed: its port answers SYN with RST; meshgate retries another endpoint."""
    tb.server_stop("b2")
    res = tb.load(count=60, concurrency=2, connect_timeout=5, timeout=10)
    assert res["failed_connections"] == 0, res
    assert res["outcomes"] == {"ok": 60}, res
    assert "b2" not in res["backends"], res
    assert set(res["backends"]) == {"b1", "b3"}, res


def test_backend_blackholed_no_failed_client_connections(tb, gw):
    """b3 drops every TCP segment to :8080 (nft DROP): connect timeout (500ms), then another endpoint."""
    tb.blackhole("b3")
    res = tb.load(count=30, concurrency=2, connect_timeout=5, timeout=10)
    assert res["failed_connections"] == 0, res
    assert res["outcomes"] == {"ok": 30}, res
    assert "b3" not in res["backends"], res


def test_refusing_and_blackholed_while_clients_keep_connecting(tb, gw, tmp_path):
    """Faults injected under load: b1 refuses (RST), b2 blackholed; only b3 is left.

    Connections already established to b1 when its server dies are reset, and those
    established to b2 when it is blackholed stall (at most one per client thread for
    each fault): those are the backends' faults, mid-stream. No client connection may
    fail to connect."""
    started = tmp_path / "load-started"
    concurrency = 4
    p = tb.load_background(duration=8, concurrency=concurrency, connect_timeout=5, timeout=10,
                           start_file=started)
    try:
        deadline = time.monotonic() + 20
        while not started.exists():
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline, "load did not start"
            time.sleep(0.05)
        time.sleep(1.5)
        tb.server_stop("b1")
        tb.blackhole("b2")
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    import json
    res = json.loads(out)
    print(res)
    assert res["failed_connections"] == 0, res
    midstream = sum(res["outcomes"].get(k, 0) for k in ("reset", "closed", "timeout"))
    assert midstream <= 2 * concurrency, res
    other = {k: v for k, v in res["outcomes"].items() if k not in ("ok", "reset", "closed", "timeout")}
    assert not other, res
    assert res["backends"].get("b3", 0) > 0, res


def test_all_backends_refusing_client_gets_rst_promptly(tb, gw):
    for b in BACKENDS:
        tb.server_stop(b)
    for _ in range(3):
        rc, out, dt = tb.curl("http://%s:%d/" % (VIP, VIP_PORT), timeout=20)
        assert rc in (7, 56), "curl exit %d (7/56 = connection refused/reset expected; 28 = hang): %s" % (rc, out)
        assert dt < 2.0, "the RST took %.2fs" % dt


def test_all_backends_blackholed_client_gets_rst_not_a_hang(tb, gw):
    """3 attempts x 500ms connect timeout, then RST to the client."""
    for b in BACKENDS:
        tb.blackhole(b)
    rc, out, dt = tb.curl("http://%s:%d/" % (VIP, VIP_PORT), timeout=20)
    assert rc in (7, 56), "curl exit %d (7/56 = connection refused/reset expected; 28 = hang): %s" % (rc, out)
    assert dt < 5.0, "the RST took %.2fs (3 x 500ms expected)" % dt


# ---------------------------------------------------------------- lifecycle, workers

def test_sigint_stops_cleanly_and_prints_counters(tb, gw):
    res = tb.load(count=20, concurrency=2)
    assert res["outcomes"] == {"ok": 20}, res
    rc = gw.stop(signal.SIGINT)
    out = gw.output()
    assert rc == 0, "exit status %s:\n%s" % (rc, gw.tail())
    assert "meshgate: stopping" in out, gw.tail()


def test_two_workers_both_carry_flows(tb, gateway_factory):
    """Counters format assumed (printed at exit): 'worker lcore <id>: rx N tx N flows N ...',
    flows = flows the worker created since start."""
    gw = gateway_factory(workers=2)
    res = tb.load(count=200, concurrency=4)
    assert res["outcomes"] == {"ok": 200}, res
    assert gw.stop() == 0, gw.tail()
    flows = gw.worker_flows()
    assert len(flows) == 2, "expected two 'worker lcore N: ... flows N' lines in the final counters:\n%s" % gw.tail()
    assert all(v > 0 for v in flows.values()), "a worker carried no flow: %s" % flows
    assert sum(flows.values()) >= 200, "flows %s for 200 connections" % flows


def test_sighup_reload_changes_endpoints(tb, gateway_factory):
    """SIGHUP re-reads the configuration file: new connections go to the new endpoint set."""
    gw = gateway_factory(config=make_config(tb.tap_client, tb.tap_backend, endpoints=["10.20.0.11"]))
    res = tb.load(count=10, concurrency=1)
    assert res["backends"] == {"b1": 10}, res
    gw.config_path.write_text(make_config(tb.tap_client, tb.tap_backend, endpoints=["10.20.0.12"]))
    gw.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while True:
        res = tb.load(count=1)
        if res["backends"] == {"b2": 1}:
            break
        assert time.monotonic() < deadline, "still %s 10s after SIGHUP:\n%s" % (res, gw.tail())
        time.sleep(0.2)
    res = tb.load(count=10, concurrency=2)
    assert res["backends"] == {"b2": 10}, res
    assert gw.alive()
