# SPDX-License-Identifier: BSD-3-Clause
"""Active TCP health checks, operator drain and run-time settings (issues 4, 5).

Health checks find a dead endpoint with no client traffic at all: meshgate's
control thread sends SYN probes from a port outside the SNAT pools, a worker
reads the answer (SYN-ACK: up, then RST; RST or silence: a failed probe).
`unhealthyThreshold` failed probes take an endpoint out, `healthyThreshold`
good ones bring it back. Drain stops new connections to an endpoint and keeps
the established ones. `set ...` changes a parameter at run time; bad values
are refused and change nothing.
"""
import re
import subprocess
import time

import pytest

from test_outlier import cli
from test_locality import config as base_config

HC = """\
  healthCheck: {enabled: true, interval: 300ms, timeout: 200ms, healthyThreshold: 2, unhealthyThreshold: 2}
  outlierDetection: {consecutiveFailures: 5, baseEjectionTime: 30s, maxEjectionTime: 60s, interval: 10s}
"""


def config(tb, healthcheck=True, annotations=""):
    text = base_config(tb, default="Any", annotations=annotations)
    extra = HC if healthcheck else ""
    return text.replace("  defaultTrafficDistribution: Any\n", "  defaultTrafficDistribution: Any\n" + extra, 1)


def first_line(gw, ip):
    out = cli(gw, "show endpoint %s" % ip)
    return out.splitlines()[0] if out else ""


def wait_for(gw, ip, word, timeout):
    """Seconds until `show endpoint ip`'s first line holds word; None on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if word in first_line(gw, ip):
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def wait_resolved(gw, ips=("10.20.0.11", "10.20.0.12", "10.20.0.13"), timeout=10):
    """Until every endpoint's next hop answered ARP: before that, new connections
    skip the unresolved ones, which would skew a test of who gets traffic."""
    t0 = time.monotonic()
    out = ""
    while time.monotonic() - t0 < timeout:
        out = cli(gw, "show neigh")
        lines = [l for l in out.splitlines() if l.split()[:1] and l.split()[0] in ips]
        if len(lines) == len(ips) and not any("incomplete" in l for l in lines):
            return
        time.sleep(0.1)
    raise AssertionError("next hops not resolved: " + out)


def served_by(tb, n):
    """Backend names of n fresh connections; every one must succeed."""
    res = tb.curl_many(n)
    assert len(res) == n and all(r[0] == 0 and r[1] == "200" for r in res), res
    return [r[2] for r in res]


@pytest.mark.parametrize("workers", [1, 2], ids=["1worker", "2workers"])
def test_health_check_takes_a_dead_idle_endpoint_out_and_back(tb, gateway_factory, tmp_path, workers):
    gw = gateway_factory(config=config(tb), workers=workers,
                         extra_args=["--cli-socket", str(tmp_path / "gw1" / "cli.sock")])
    wait_resolved(gw)
    ip = "10.20.0.12"
    # Every endpoint answers its probes.
    assert wait_for(gw, ip, "healthy", 5) is not None
    time.sleep(1.5)
    out = cli(gw, "show endpoint %s" % ip)
    assert "health check: up" in out, out
    # No client traffic at all: only the probes can notice the server die.
    tb.server_stop("b2")
    t_down = wait_for(gw, ip, "DOWN (health check)", 10)   # 0.4-0.6 s when the machine is quiet
    assert t_down is not None, cli(gw, "show endpoint %s" % ip) + gw.tail()
    print("server stopped -> down by health check in %.2fs (interval 300ms, 2 failed probes)" % t_down)
    # Taken out of the tables: new connections avoid it.
    names = served_by(tb, 30)
    assert "b2" not in names, names
    tb.server_start("b2")
    t_up = wait_for(gw, ip, "healthy", 10)
    assert t_up is not None, cli(gw, "show endpoint %s" % ip) + gw.tail()
    print("server restarted -> up by health check in %.2fs" % t_up)
    assert "b2" in served_by(tb, 60)
    conf = cli(gw, "show config")
    assert "probes_sent" in conf or "probes" in conf


def test_health_check_off_by_annotation(tb, gateway_factory, tmp_path):
    # The service opts out of the gateway-wide checks.
    text = config(tb, annotations='meshgate.io/health-check: "false"')
    gw = gateway_factory(config=text, extra_args=["--cli-socket", str(tmp_path / "gw1" / "cli.sock")])
    time.sleep(1.0)
    assert "health check: off" in cli(gw, "show endpoint 10.20.0.12")
    tb.server_stop("b2")
    assert wait_for(gw, "10.20.0.12", "DOWN", 2) is None


def test_bad_annotation_refused_whole(tb, gateway_factory, tmp_path):
    gw = gateway_factory(config=config(tb), extra_args=["--cli-socket", str(tmp_path / "gw1" / "cli.sock")])
    bad = tmp_path / "bad.yaml"
    bad.write_text(config(tb, annotations="meshgate.io/health-check: maybe"))
    out = cli(gw, "load %s" % bad)
    assert "refused" in out and "meshgate.io/health-check" in out and "maybe" in out, out
    assert gw.alive()
    # The running configuration's health checks go on (healthy once its probes answer).
    assert wait_for(gw, "10.20.0.11", "healthy", 10) is not None, first_line(gw, "10.20.0.11")


def test_service_annotations_override_the_gateway(tb, gateway_factory, tmp_path):
    """meshgate.io/consecutive-failures: "2" ejects this service's endpoints after 2
    refused connects (the gateway says 5); an unknown meshgate.io annotation is refused."""
    text = config(tb, healthcheck=False,
                  annotations='meshgate.io/consecutive-failures: "2", meshgate.io/base-ejection-time: 20s')
    gw = gateway_factory(config=text, extra_args=["--cli-socket", str(tmp_path / "gw1" / "cli.sock")])
    wait_resolved(gw)
    tb.server_stop("b1")
    out = ""
    for _ in range(40):
        assert all(r[0] == 0 for r in tb.curl_many(3))
        out = cli(gw, "show endpoint 10.20.0.11")
        if "EJECTED" in out.splitlines()[0]:
            break
    assert "EJECTED" in out.splitlines()[0], out
    assert "consecutive failures 2," in out, out
    assert "meshgate: endpoint 10.20.0.11 ejected for 20000 ms" in gw.output()
    conf = cli(gw, "show config")
    figures = {k: v for k, v in re.findall(r"(eject_publish_us_last|publish_wait_us_last)\W+(\d+)", conf)}
    assert set(figures) == {"eject_publish_us_last", "publish_wait_us_last"}, conf
    print("failure read -> generation without the endpoint published: %s us; "
          "-> every worker on it: +%s us" % (figures["eject_publish_us_last"], figures["publish_wait_us_last"]))
    bad = tmp_path / "bad.yaml"
    bad.write_text(config(tb, annotations='meshgate.io/consecutive-failure: "2"'))
    out = cli(gw, "load %s" % bad)
    assert "refused" in out and "unknown annotation" in out and "consecutive-failure" in out, out
    bad.write_text(config(tb, annotations='meshgate.io/max-connections: "-3"'))
    out = cli(gw, "load %s" % bad)
    assert "refused" in out and "maxConnections" in out, out


def test_drain_stops_new_connections_keeps_established(tb, gateway_factory, tmp_path):
    gw = gateway_factory(config=config(tb, healthcheck=False),
                         extra_args=["--cli-socket", str(tmp_path / "gw1" / "cli.sock")])
    wait_resolved(gw)
    assert set(served_by(tb, 30)) == {"b1", "b2", "b3"}
    # A slow transfer that must survive the drain of its own endpoint.
    headers = tmp_path / "headers.txt"
    long = tb.popen("c1", ["curl", "-s", "-o", "/dev/null", "-D", str(headers), "-w", "%{http_code} %{size_download}",
                           "--limit-rate", "2M", "http://10.96.0.10/bytes/6000000"],
                   stdout=subprocess.PIPE)
    deadline = time.monotonic() + 10
    backend = None
    while backend is None and time.monotonic() < deadline:
        time.sleep(0.1)
        for line in headers.read_text().splitlines() if headers.exists() else []:
            if line.lower().startswith("x-backend:"):
                backend = line.split(":", 1)[1].strip()
    assert backend in ("b1", "b2", "b3"), backend
    ip = "10.20.0.1%s" % backend[1]
    out = cli(gw, "set endpoint %s drain" % ip)
    assert "drained" in out, out
    assert "DRAINED" in first_line(gw, ip)
    names = served_by(tb, 40)
    assert backend not in names, names
    assert "not an endpoint" in cli(gw, "set endpoint 10.99.0.1 drain")
    rc = long.wait(timeout=30)
    got = long.stdout.read().decode().split()
    print("transfer from the drained endpoint:", got)
    assert rc == 0 and got == ["200", "6000000"], got
    out = cli(gw, "set endpoint %s undrain" % ip)
    assert "undrained" in out
    assert backend in served_by(tb, 40)


def test_set_parameters_at_run_time(tb, gateway_factory, tmp_path):
    gw = gateway_factory(config=config(tb, healthcheck=False),
                         extra_args=["--cli-socket", str(tmp_path / "gw1" / "cli.sock")])
    wait_resolved(gw)
    out = cli(gw, "set outlier consecutiveFailures 2")
    assert "consecutiveFailures = 2" in out, out
    assert "refused" in cli(gw, "set outlier consecutiveFailures zero").lower()
    assert "refused" in cli(gw, "set outlier maxEjectionTime 1s").lower()  # < baseEjectionTime
    assert "refused" in cli(gw, "set healthcheck timeout 1h").lower()      # > interval
    assert "Bad arguments" in cli(gw, "set outlier nosuch 1") or "not found" in cli(gw, "set outlier nosuch 1")
    assert "= 250ms" in cli(gw, "set connect timeout 250ms")
    # The new threshold is in force: two refused connects eject.
    tb.server_stop("b1")
    out = ""
    for _ in range(40):
        assert all(r[0] == 0 for r in tb.curl_many(5))   # failover hides the refusals
        out = first_line(gw, "10.20.0.11")
        if "EJECTED" in out:
            break
    assert "EJECTED" in out, cli(gw, "show endpoint 10.20.0.11")
    full = cli(gw, "show endpoint 10.20.0.11")
    assert "consecutive failures" in full
    # Health checks switched on at run time bring it back once it listens
    # again, long before its 3 s ejection ends... and the probes are counted.
    cli(gw, "set healthcheck interval 300ms", "set healthcheck timeout 200ms", "set healthcheck enabled true")
    tb.server_start("b1")
    assert wait_for(gw, "10.20.0.11", "healthy", 10) is not None, cli(gw, "show endpoint 10.20.0.11")
    assert gw.alive()
