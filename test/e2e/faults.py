# SPDX-License-Identifier: BSD-3-Clause
"""Backend faults under real client load, and the figures of each (issue 4).

Shared by test_outlier.py (meshgate) and scripts/faults-compare (meshgate beside
HAProxy). One run: loadclient.py runs connection-per-request load from the
client namespace (every request's start, end, outcome and backend logged); after
`pre` seconds one backend (the victim) fails; the gateway's own view (meshgate's
CLI `show endpoint`, HAProxy's `show stat`) is polled every POLL seconds for the
moment the victim is taken out; `hold` seconds later the fault is undone and the
view polled for the victim's return; `post` seconds later the load stops.

Figures (Run.figures):
  total, failed      client connections in all; those the gateway could not
                     connect to any backend (meshgate: the client's connect was
                     refused or timed out; HAProxy, which accepts first: its log's
                     termination state ?C, server-side connect failure)
  midstream          other connections without a complete answer (reset, closed,
                     timed out after connecting): only the victim causes them
  delayed            answered connections that took DELAYED s or more (a connect
                     timeout on the victim before the failover: 300 ms each)
  to_eject           fault in force -> victim out of the gateway's view (s)
  to_readmit         fault undone -> victim back in the gateway's view (s)
  ejected_for        victim out -> victim back (s)
  share_*            share of client connections that reached the victim (answered
                     by it, or failed mid-stream) among those started: before the
                     fault, while it was out (from the fault when never out) until
                     the fault was undone, after it was back (from the restore when
                     it was never out)
"""
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections import defaultdict, deque
from pathlib import Path

POLL = 0.05
DELAYED = 0.29
HAPROXY = "/usr/sbin/haproxy"
VICTIM = "b1"
VICTIM_IP = "10.20.0.11"


class Fault:
    def __init__(self, key, title, inject, restore, ejects=True):
        self.key = key
        self.title = title
        self.inject = inject      # (tb, victim) -> when it took effect (time.monotonic())
        self.restore = restore    # (tb, victim) -> when it was undone (time.monotonic())
        self.ejects = ejects      # a connect-level fault: the gateway must take the victim out


FAULTS = {f.key: f for f in (
    Fault("kill", "server killed (RST)", lambda tb, v: tb.server_stop(v), lambda tb, v: tb.server_start(v)),
    Fault("blackhole", "link blackholed (timeouts)", lambda tb, v: tb.blackhole(v),
          lambda tb, v: tb.unblackhole(v)),
    Fault("never-accept", "listener never accepts (backlog full)",
          lambda tb, v: tb.server_fault(v, "never-accept"), lambda tb, v: tb.server_unfault(v)),
    Fault("reset", "resets after establishment", lambda tb, v: tb.server_fault(v, "reset"),
          lambda tb, v: tb.server_unfault(v), ejects=False),
)}


# ---------------------------------------------------------------- gateway views

def unix_query(path, text, timeout=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
        s.sendall(text.encode())
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    finally:
        s.close()
    return out.decode(errors="replace")


def client_side(ev, victim):
    """(failed connection, reached victim) from the client's view alone."""
    outcome, backend = ev[2], ev[3]
    failed = outcome in ("refused", "connect_timeout")
    reached = (outcome == "ok" and backend == victim) or (outcome != "ok" and not failed)
    return failed, reached


class MeshgateView:
    """meshgate's CLI socket: is the victim out (ejected or down by health check)?"""

    name = "meshgate"

    def __init__(self, gw, ip=VICTIM_IP):
        self.sock = gw.workdir / "cli.sock"
        self.ip = ip
        self.first_out = None

    def cli(self, *commands):
        return unix_query(self.sock, "\n".join(commands) + "\n")

    def state(self):
        out = self.cli("show endpoint %s" % self.ip)
        return out.splitlines()[0] if out else ""

    def out(self):
        first = self.state()
        out = "EJECTED" in first or "DOWN" in first
        if out and self.first_out is None:
            self.first_out = first
        return out

    def why(self):
        """What took the victim out, as seen when it was first out."""
        first = self.first_out or ""
        return "outlier detection" if "EJECTED" in first else "health check" if "DOWN" in first else "-"

    def wait_healthy(self, ips=("10.20.0.11", "10.20.0.12", "10.20.0.13"), timeout=20):
        """Until every endpoint is healthy (health probes sent before the ports were
        attached failed: the endpoints start DOWN for about a second)."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.cli("show endpoints")
            st = {l.split()[0]: l.split()[1] for l in out.splitlines() if len(l.split()) > 1}
            if all(st.get(ip) == "healthy" for ip in ips):
                self.first_out = None
                return
            if time.monotonic() > deadline:
                raise RuntimeError("endpoints not healthy within %ds:\n%s" % (timeout, out))
            time.sleep(0.1)

    def eject_detail(self):
        """When the last ejection happened (time.monotonic()), how long its table took
        to publish, and the generation counter: from `show endpoint` and `show config`."""
        t0 = time.monotonic()
        ep = self.cli("show endpoint %s" % self.ip)
        t1 = time.monotonic()
        conf = self.cli("show config")
        m = re.search(r"last ejection (\d+)ms ago", ep)

        def num(key):
            k = re.search(r"\b%s\W+(\d+)" % key, conf)
            return int(k.group(1)) if k else None
        return {"ejected_at": (t0 + t1) / 2 - int(m.group(1)) / 1000.0 if m else None,
                "eject_publish_us": num("eject_publish_us_last"),
                "publish_wait_us": num("publish_wait_us_last"),
                "generations": num("generations"), "endpoint": ep}

    def classify(self, events, victim):
        return [client_side(e, victim) for e in events]


# ---------------------------------------------------------------- meshgate beside HAProxy

# meshgate's settings that match haproxy_config()'s defaults (scripts/faults-compare's
# header says how they map)
MESHGATE_COMPARE = """\
  outlierDetection: {consecutiveFailures: 5, baseEjectionTime: 30s, maxEjectionTime: 300s, interval: 10s}
  healthCheck: {enabled: true, interval: 300ms, timeout: 300ms, healthyThreshold: 2, unhealthyThreshold: 3}
"""


def meshgate_compare_config(tb):
    """conftest.make_config (3 endpoints on the gateway's node: one tier) with a 300 ms
    connect timeout, 4 attempts in all, outlier detection and health checks as HAProxy's."""
    from conftest import make_config
    text = make_config(tb.tap_client, tb.tap_backend, connect_timeout="300ms", max_attempts=4)
    old = "    maxAttempts: 4\n"
    assert text.count(old) == 1
    return text.replace(old, old + MESHGATE_COMPARE)


# ---------------------------------------------------------------- HAProxy

HAPROXY_CFG = """\
# written by test/e2e/faults.py: HAProxy in meshgate's place, tuned as meshgate is
# (see scripts/faults-compare for how each setting maps)
global
    log stdout format raw local0
    stats socket {sock} mode 600 level admin
    maxconn 4096
defaults
    mode tcp
    log global
    log-format "%cp %ts %s %rc"
    timeout connect {connect_ms}ms
    timeout client 30s
    timeout server 30s
    retries {retries}
    option redispatch 1
frontend vip
    bind {vip}:{port}
    default_backend web
backend web
    balance roundrobin
    default-server check inter {inter_ms}ms fall {fall} rise {rise} observe layer4 error-limit {error_limit} on-error mark-down
{servers}"""


def haproxy_config(sock, vip="10.96.0.10", port=80, servers=(("b1", "10.20.0.11"), ("b2", "10.20.0.12"),
                                                              ("b3", "10.20.0.13")),
                   target_port=8080, connect_ms=300, retries=3, inter_ms=300, fall=3, rise=2, error_limit=5):
    srv = "".join("    server %s %s:%d\n" % (n, ip, target_port) for n, ip in servers)
    return HAPROXY_CFG.format(sock=sock, vip=vip, port=port, connect_ms=connect_ms, retries=retries,
                              inter_ms=inter_ms, fall=fall, rise=rise, error_limit=error_limit, servers=srv)


class Haproxy:
    """Debian's HAProxy in the test bed's netgw namespace, by PID, its log in a file."""

    name = "haproxy"

    def __init__(self, tb, workdir, **cfg):
        self.tb = tb
        self.workdir = Path(workdir)
        self.sock = self.workdir / "haproxy.sock"
        self.cfg_path = self.workdir / "haproxy.cfg"
        self.log_path = self.workdir / "haproxy.log"
        self.cfg = cfg
        self.proc = None
        self.log = None
        self.server = VICTIM

    def start(self, timeout=20):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cfg_path.write_text(haproxy_config(self.sock, **self.cfg))
        self.log = open(self.log_path, "w")
        # ip netns exec execs haproxy: the PID is HAProxy's own
        self.proc = self.tb.popen("gw", [HAPROXY, "-db", "-f", self.cfg_path], stdout=self.log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("haproxy exited with %d:\n%s" % (self.proc.returncode,
                                                                   self.log_path.read_text()))
            try:
                st = self.stat()
                if all(st.get(n) == "UP" for n in ("b1", "b2", "b3")):  # steady, not "UP 1/3"
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("haproxy not ready within %ds:\n%s" % (timeout, self.log_path.read_text()))
            time.sleep(0.1)

    def stop(self):
        """SIGTERM (then SIGKILL) by PID; idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.log is not None:
            self.log.close()
            self.log = None

    def stat(self):
        """{server: status} of backend web from `show stat`."""
        out = unix_query(self.sock, "show stat\n")
        lines = out.splitlines()
        head = lines[0].lstrip("# ").split(",")
        ip, iv, ist = head.index("pxname"), head.index("svname"), head.index("status")
        res = {}
        for l in lines[1:]:
            f = l.split(",")
            if len(f) > ist and f[ip] == "web":
                res[f[iv]] = f[ist]
        return res

    def out(self):
        st = self.stat().get(self.server, "")
        return st.startswith("DOWN") or st.startswith("MAINT")

    def why(self):
        """What marked the victim down, from HAProxy's log ("reason: ...")."""
        m = re.search(r"Server web/%s is DOWN, reason: ([^,]+)" % self.server,
                      self.log_path.read_text(errors="replace"))
        if not m:
            return "-"
        return "observe layer4" if m.group(1) == "Health analyze" else "health check"

    def classify(self, events, victim):
        """Joins the client's events to HAProxy's log lines by client port (in order)."""
        logs = defaultdict(deque)
        for line in self.log_path.read_text(errors="replace").splitlines():
            f = line.split()
            if len(f) == 4 and f[0].isdigit() and len(f[1]) == 2:
                logs[int(f[0])].append((f[1], f[2]))
        res = []
        for e in events:
            port = int(e[4]) if len(e) > 4 else 0
            if port and logs[port]:
                ts, srv = logs[port].popleft()
                failed = ts[1] == "C"
                reached = not failed and srv == victim
                res.append((failed, reached))
            else:
                res.append(client_side(e, victim))
        return res


# ---------------------------------------------------------------- one run

def warm_up(tb, n=30):
    """A few requests through the gateway, so that every endpoint has a recent
    success (meshgate: endpoints back from a start-up health-check DOWN start at
    readmitScore and reach their full weight after a few successes)."""
    res = tb.curl_many(n)
    bad = [r for r in res if r[0] != 0 or r[1] != "200"]
    if len(res) != n or bad:
        raise RuntimeError("warm-up: %d of %d requests failed: %s" % (n - len(res) + len(bad), n, bad[:5]))


class Run:
    """One fault under load through one gateway view; the figures in self.figures."""

    def __init__(self, tb, view, workdir, fault, victim=VICTIM, pre=2.0, hold=2.0, post=2.0,
                 eject_within=6.0, quiet_for=4.0, readmit_within=8.0, concurrency=4, timeout=3.0):
        self.tb, self.view, self.workdir, self.fault = tb, view, Path(workdir), fault
        self.victim = victim
        self.pre, self.hold, self.post = pre, hold, post
        self.eject_within, self.quiet_for, self.readmit_within = eject_within, quiet_for, readmit_within
        self.concurrency, self.timeout = concurrency, timeout
        self.t = {}
        self.res = None
        self.events = []
        self.detail = None
        self.figures = None

    def _poll(self, want_out, until):
        while time.monotonic() < until:
            if self.view.out() == want_out:
                return time.monotonic()
            time.sleep(POLL)
        return None

    def run(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        started, stop, evf = self.workdir / "started", self.workdir / "stop", self.workdir / "events"
        for f in (started, stop, evf):
            if f.exists():
                f.unlink()
        cap = self.pre + self.eject_within + self.quiet_for + self.hold + self.readmit_within + self.post + 30
        p = self.tb.load_background(duration=cap, concurrency=self.concurrency, connect_timeout=10,
                                    timeout=self.timeout, start_file=started, stop_file=stop, events=evf)
        t = self.t
        try:
            deadline = time.monotonic() + 20
            while not started.exists():
                if p.poll() is not None:
                    raise RuntimeError("loadclient exited: %s" % p.stderr.read())
                if time.monotonic() > deadline:
                    raise RuntimeError("loadclient did not start within 20 s")
                time.sleep(0.05)
            t["load"] = time.monotonic()
            time.sleep(self.pre)
            t["fault"] = self.fault.inject(self.tb, self.victim)
            window = self.eject_within if self.fault.ejects else self.quiet_for
            t["eject"] = self._poll(True, t["fault"] + window)
            if t["eject"] is not None:
                time.sleep(max(0.0, t["eject"] + self.hold - time.monotonic()))
                if hasattr(self.view, "eject_detail"):
                    self.detail = self.view.eject_detail()
            t["restore"] = self.fault.restore(self.tb, self.victim) or time.monotonic()
            t["back"] = None
            if t["eject"] is not None:
                t["back"] = self._poll(False, t["restore"] + self.readmit_within)
            time.sleep(max(0.0, (t["back"] or t["restore"]) + self.post - time.monotonic()))
            stop.touch()
            t["end"] = time.monotonic()
            out, err = p.communicate(timeout=self.timeout + 30)
            if p.returncode != 0:
                raise RuntimeError("loadclient failed: %s" % err)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.res = json.loads(out)
        self.events = [l.split() for l in evf.read_text().splitlines() if l.strip()]
        for e in self.events:
            e[0], e[1] = float(e[0]), float(e[1])
        return self

    def compute(self):
        """The figures; call after the gateway's log is complete (HAProxy: stopped)."""
        t = self.t
        cls = self.view.classify(self.events, self.victim)
        windows = {
            "before": (t["load"], t["fault"]),
            "during": (t["eject"] if t["eject"] is not None else t["fault"], t["restore"]),
            "after": (t["back"] if t["back"] is not None else t["restore"], t["end"]),
        }
        fig = {"fault": self.fault.key, "gateway": self.view.name, "total": len(self.events),
               "failed": sum(1 for c in cls if c[0]),
               "midstream": sum(1 for e, c in zip(self.events, cls) if e[2] != "ok" and not c[0]),
               "delayed": sum(1 for e in self.events if e[2] == "ok" and e[1] - e[0] >= DELAYED),
               "outcomes": self.res["outcomes"],
               "to_eject": t["eject"] - t["fault"] if t["eject"] is not None else None,
               "out_by": self.view.why() if t["eject"] is not None else None,
               "to_readmit": t["back"] - t["restore"] if t["back"] is not None else None,
               "ejected_for": t["back"] - t["eject"] if t["back"] is not None and t["eject"] is not None
               else None}
        for w, (a, b) in windows.items():
            sel = [c for e, c in zip(self.events, cls) if a <= e[0] < b]
            fig["n_" + w] = len(sel)
            fig["share_" + w] = sum(1 for c in sel if c[1]) / len(sel) if sel else None
        if self.detail and self.detail.get("ejected_at") is not None and self.detail["ejected_at"] > t["fault"] - 0.5:
            d = self.detail
            fig["fault_to_ejected"] = d["ejected_at"] - t["fault"]
            fig["eject_publish_us"] = d["eject_publish_us"]
            fig["fault_to_generation"] = (d["ejected_at"] + (d["eject_publish_us"] or 0) / 1e6 - t["fault"])
            fig["publish_wait_us"] = d["publish_wait_us"]
        self.figures = fig
        return fig


def fmt_s(v):
    return "-" if v is None else "%.2f s" % v


def fmt_pct(v):
    return "-" if v is None else "%.0f %%" % (100 * v)


def summary(fig):
    """One line of figures."""
    s = ("%s via %s: failed %d/%d, mid-stream %d, delayed %d, to ejection %s (%s), to re-admission %s (out for %s), "
         "victim share before %s during %s after %s" % (
             fig["fault"], fig["gateway"], fig["failed"], fig["total"], fig["midstream"], fig["delayed"],
             fmt_s(fig["to_eject"]),
             fig["out_by"] or "never out",
             fmt_s(fig["to_readmit"]), fmt_s(fig["ejected_for"]), fmt_pct(fig["share_before"]),
             fmt_pct(fig["share_during"]), fmt_pct(fig["share_after"])))
    if fig.get("fault_to_generation") is not None:
        s += "; fault -> generation without it %.1f ms (ejecting event read -> published %d us)" % (
            1000 * fig["fault_to_generation"], fig["eject_publish_us"] or 0)
    return s
