# SPDX-License-Identifier: BSD-3-Clause
"""SYN floods (issue 7): SYN cookies and half-open limits with real clients.

The SYN-proxied path first, with every SYN answered by a cookie (synFlood
cookies: always): real kernel clients must not see any difference, over many
short connections and over a 100 MB transfer whose sequence numbers meshgate
shifts on every segment. Then a flood: hping3 sends spoofed SYNs from random
sources as fast as it can while legitimate clients connect, with the default
automatic mode; at least 99 % of the legitimate connections must succeed, and
meshgate's counters must show the cookies that carried them.
"""
import re
import subprocess
import sys
import time

import pytest

from conftest import SCRIPTS, VIP, VIP_PORT, make_config
from test_operator import telemetry

sys.path.insert(0, str(SCRIPTS))
from backend import pattern_sha256  # noqa: E402  (scripts/backend.py)

FLOOD_SECONDS = 12


def config(tb, synflood):
    text = make_config(tb.tap_client, tb.tap_backend)
    return text.replace("  connect:\n", "  synFlood: %s\n  connect:\n" % synflood, 1)


@pytest.fixture
def start(tb, gateway_factory, tmp_path):
    def f(synflood, workers=1):
        g = gateway_factory(config=config(tb, synflood), workers=workers,
                            extra_args=["--cli-socket", str(tmp_path / "gw1" / "cli.sock")])
        g.prefix = "%s-gw%d" % (tb.prefix, g.n)
        return g
    return f


def stats(g):
    return telemetry(g.prefix, "/meshgate/stats")


def test_syn_proxy_serves_real_clients(tb, start):
    g = start("{cookies: always}")
    res = tb.load(duration=4, concurrency=4, connect_timeout=5, timeout=10)
    print(res)
    st = stats(g)
    ok = res["outcomes"].get("ok", 0)
    assert ok > 50 and ok == res["requests"], res
    assert len(res["backends"]) == 3, res
    # Every connection went through a cookie, none around it.
    assert st["syncookies_ok"] >= res["requests"], st
    assert st["syncookies_sent"] >= res["requests"], st
    assert st["drop_syncookie_invalid"] == 0, st
    assert st["half_open"] == 0, st


def test_syn_proxy_100mb_download_intact(tb, start):
    g = start("{cookies: always}")
    t0 = time.monotonic()
    r = tb.run("c1", ["bash", "-c", "set -o pipefail; curl -sS --max-time 120 http://%s:%d/bytes/104857600 | sha256sum"
                      % (VIP, VIP_PORT)], timeout=150)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == pattern_sha256(104857600)
    print("100 MB through the SYN proxy in %.1fs" % (time.monotonic() - t0))
    assert stats(g)["syncookies_ok"] >= 1


def test_syn_flood_legitimate_clients_keep_connecting(tb, start):
    g = start("{cookies: auto, maxHalfOpen: 1024}")
    before = stats(g)
    flood = tb.popen("c1", ["hping3", "-q", "-S", "-p", str(VIP_PORT), "--flood", "--rand-source", VIP],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)     # the flood is on before the clients start
        assert flood.poll() is None, "hping3 exited"
        res = tb.load(duration=FLOOD_SECONDS - 2, concurrency=4, connect_timeout=10, timeout=10)
        during = stats(g)
    finally:
        flood.terminate()
        try:
            flood.wait(timeout=10)
        except subprocess.TimeoutExpired:
            flood.kill()
            flood.wait()
    after = stats(g)
    rx = during["rx"] - before["rx"]
    ok, total = res["outcomes"].get("ok", 0), res["requests"]
    rate = ok / total if total else 0
    print("flood: %d packets received in ~%ds (%.0f pps), cookies sent %d, cookie flows %d, "
          "half-open now %d, martian sources dropped %d" %
          (rx, FLOOD_SECONDS, rx / FLOOD_SECONDS, during["syncookies_sent"],
           during["syncookies_ok"], during["half_open"], during["drop_ip_src"]))
    print("legitimate: %d/%d ok (%.2f %%): %s" % (ok, total, 100 * rate, res))
    assert g.alive()
    assert total >= 20, res
    assert rate >= 0.99, res
    # The flood met the limit and cookies carried on.
    assert during["syncookies_sent"] > 1000, during
    assert during["half_open_limit_worker"] > 0, during
    assert during["half_open"] <= 1024, during
    # The table did not fill with the flood's half-open flows.
    assert during["drop_flow_full"] == 0, during
    # Flows now: the legitimate ones (most in TIME_WAIT) and at most the
    # flood's half-open ones; nothing grew with the flood's size.
    assert after["flows_active"] <= total + 1024, after


def test_set_synflood_at_run_time(tb, start):
    from test_outlier import cli
    g = start("{}")
    assert tb.load(count=5, concurrency=1)["outcomes"] == {"ok": 5}
    assert stats(g)["syncookies_ok"] == 0      # auto: no limit reached, no cookie
    out = cli(g, "set synflood cookies always")
    assert "synflood cookies = always" in out, out
    assert tb.load(count=5, concurrency=1)["outcomes"] == {"ok": 5}
    assert stats(g)["syncookies_ok"] == 5
    out = cli(g, "set synflood cookies sometimes", "set synflood maxHalfOpen 0", "show config")
    assert 'Refused, nothing changed: cookies: "sometimes" is not one of auto, always, off' in out, out
    assert "Refused, nothing changed: maxHalfOpen" in out, out
    assert re.search(r"syn_cookies\s+always", out), out
