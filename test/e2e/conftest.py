# SPDX-License-Identifier: BSD-3-Clause
"""Fixtures for meshgate's end-to-end tests.

A test bed (scripts/testbed.sh) of network namespaces per test module, with a
unique name prefix, and a meshgate process per test started on a configuration
written into the test's tmp_path, its net_tap ports attached to the test bed's
bridges. Everything is torn down even when a test fails: meshgate is stopped by
its PID (SIGINT, then SIGKILL), the test bed's servers by their recorded PIDs.

Run as root with Debian's Python:  /usr/bin/python3 -m pytest test/e2e
Environment: MG_BUILD (build directory, default build/), MG_BIN (the binary),
MG_EAL_MEM (EAL memory options; default: hugepages if free, else --no-huge -m 1024).
"""
import itertools
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
TESTBED_SH = SCRIPTS / "testbed.sh"
LOADCLIENT = Path(__file__).resolve().parent / "loadclient.py"
BUILD = Path(os.environ.get("MG_BUILD", ROOT / "build"))
MESHGATE = Path(os.environ.get("MG_BIN", BUILD / "app" / "meshgate" / "meshgate"))
PY = "/usr/bin/python3"

VIP = "10.96.0.10"
VIP_PORT = 80
TARGET_PORT = 8080
GW_CLIENT = "10.10.0.1"
GW_BACKEND = "10.20.0.1"

# The per-worker counters meshgate prints at exit:
#   worker 0 lcore 1: rx N tx N flows N active N ...   (flows: created since start)
# ("worker lcore 1: ... flows N" is accepted too); the key is the lcore id.
WORKER_LINE = re.compile(r"^\s*worker\s+(?:\d+\s+)?(?:lcore\s+)?(\d+)\s*:.*?\bflows[\s:=]+(\d+)", re.M)
RUNNING_LINE = "meshgate: running"
# AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer (meson -Dsanitize=true)
SANITIZER_REPORT = re.compile(r"^(==\d+==ERROR: \w+Sanitizer|.*: runtime error: |SUMMARY: \w+Sanitizer)", re.M)

_module_seq = itertools.count()


def eal_mem_args():
    """[] when enough hugepages are free on a mounted hugetlbfs, else --no-huge."""
    if "MG_EAL_MEM" in os.environ:
        return os.environ["MG_EAL_MEM"].split()
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            info[k] = int(v.split()[0]) if v.split() else 0
    mounted = False
    with open("/proc/mounts") as f:
        mounted = any(l.split()[1:3] == ["/dev/hugepages", "hugetlbfs"] for l in f)
    if mounted and info.get("HugePages_Free", 0) * info.get("Hugepagesize", 0) >= 256 * 1024:
        return []
    return ["--no-huge", "-m", "1024"]


def make_config(tap_client, tap_backend, endpoints=("10.20.0.11", "10.20.0.12", "10.20.0.13"),
                connect_timeout="500ms", max_attempts=3, vip=VIP, port=VIP_PORT, target_port=TARGET_PORT):
    """A configuration like lib/conf/default.yaml with our own TAP names and endpoints."""
    eps = "".join('  - addresses: ["%s"]\n    conditions: {ready: true}\n    nodeName: node-a\n' % e
                  for e in endpoints)
    return f"""\
# written by test/e2e/conftest.py
apiVersion: meshgate.io/v1alpha1
kind: MeshGateway
metadata:
  name: e2e-gateway
spec:
  cluster: demo
  network: net1
  nodeName: node-a
  ports:
    - name: client
      device: net_tap0,iface={tap_client}
      address: {GW_CLIENT}/24
    - name: backend
      device: net_tap1,iface={tap_backend}
      address: {GW_BACKEND}/24
  connect:
    timeout: {connect_timeout}
    maxAttempts: {max_attempts}
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels:
    topology.kubernetes.io/region: region1
    topology.kubernetes.io/zone: zone-a
---
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  clusterIP: {vip}
  ports:
    - name: http
      port: {port}
      targetPort: {target_port}
      protocol: TCP
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-e2e
  namespace: demo
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
ports:
  - name: http
    port: {target_port}
    protocol: TCP
endpoints:
{eps}"""


class TestBed:
    """The namespaces of scripts/testbed.sh under one prefix."""

    __test__ = False

    def __init__(self, prefix, n_backends=3, files_dir=None, extra=()):
        self.prefix = prefix
        self.n_backends = n_backends
        self.files_dir = files_dir
        self.extra = list(extra)
        self.backends = {"b%d" % i: "10.20.0.%d" % (10 + i) for i in range(1, n_backends + 1)}
        self.tap_client = prefix + "-tc"
        self.tap_backend = prefix + "-tb"
        self.stopped = set()
        self.blackholed = set()
        self.faulted = set()

    def sh(self, *args, check=True, timeout=60):
        cmd = [str(TESTBED_SH), "-q", "-p", self.prefix] + list(args)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stdout))
        return r

    def up(self):
        args = ["-n", str(self.n_backends)] + self.extra
        if self.files_dir:
            args += ["--files-dir", str(self.files_dir)]
        self.sh(*args, "up", timeout=120)

    def down(self):
        self.sh("down", check=False)

    def ns(self, name):
        return "%s-%s" % (self.prefix, name)

    def run(self, name, argv, timeout=60, check=False, **kw):
        return subprocess.run(["ip", "netns", "exec", self.ns(name)] + [str(a) for a in argv],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=check, **kw)

    def popen(self, name, argv, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.ns(name)] + [str(a) for a in argv],
                                stdin=subprocess.DEVNULL, **kw)

    def attach(self, timeout=30):
        self.sh("--tap", "%s=client" % self.tap_client, "--tap", "%s=backend" % self.tap_backend,
                "--timeout", str(timeout), "attach", timeout=timeout + 30)

    def sh_at(self, *args):
        """A fault command run with -T: returns when the fault took effect, on
        time.monotonic()'s clock (testbed.sh prints Unix time)."""
        r = self.sh("-T", *args)
        now_real, now_mono = time.time(), time.monotonic()
        at = [l.split()[1] for l in r.stdout.splitlines() if l.startswith("at ")]
        return now_mono - (now_real - float(at[-1])) if at else now_mono

    def server_stop(self, name):
        """SIGKILL backend name's server; returns when (time.monotonic())."""
        t = self.sh_at("server-stop", name)
        self.stopped.add(name)
        return t

    def server_start(self, name):
        """Start backend name's server; returns when it served (time.monotonic())."""
        t = self.sh_at("server-start", name)
        self.stopped.discard(name)
        self.faulted.discard(name)
        return t

    def server_fault(self, name, mode):
        """Switch backend name's server to a fault (never-accept, reset) in place;
        returns when it took effect (time.monotonic())."""
        t = self.sh_at("server-fault", name, mode)
        self.faulted.add(name)
        return t

    def server_unfault(self, name):
        t = self.sh_at("server-unfault", name)
        self.faulted.discard(name)
        return t

    def blackhole(self, name):
        t = self.sh_at("blackhole", name)
        self.blackholed.add(name)
        return t

    def unblackhole(self, name):
        t = self.sh_at("unblackhole", name)
        self.blackholed.discard(name)
        return t

    def netgw(self, *addrs):
        """A namespace <prefix>-gw in meshgate's place (for HAProxy); VIPs on its loopback."""
        self.sh("netgw", *addrs)

    def netgw_del(self):
        self.sh("netgw-del", check=False)

    def restore(self):
        """Every server running and serving, nothing blackholed (between tests)."""
        for name in sorted(self.blackholed):
            self.unblackhole(name)
        for name in sorted(self.faulted - self.stopped):
            self.server_unfault(name)
        for name in sorted(self.stopped):
            self.server_start(name)

    # --- clients
    def curl(self, url, *opts, client="c1", timeout=30):
        """curl from a client namespace; returns (exit code, stdout, elapsed seconds)."""
        t0 = time.monotonic()
        r = self.run(client, ["curl", "-sS", "--max-time", str(max(1, timeout - 5))] + list(opts) + [url],
                     timeout=timeout)
        return r.returncode, r.stdout, time.monotonic() - t0

    def curl_many(self, n, path="/", client="c1", max_time=10):
        """n requests, a new connection each; returns a list of (exit code, http code, backend)."""
        url = "http://%s:%d%s?n=[1-%d]" % (VIP, VIP_PORT, path, n)
        r = self.run(client, ["curl", "-s", "-o", "/dev/null", "-H", "Connection: close",
                              "--max-time", str(max_time),
                              "-w", r"%{exitcode} %{http_code} %header{x-backend}\n", url],
                     timeout=n * (max_time + 1) + 30)
        out = []
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                out.append((int(parts[0]), parts[1], parts[2] if len(parts) > 2 else ""))
        return out

    def load(self, client="c1", **kw):
        """Run loadclient.py in a client namespace; returns its JSON result."""
        args = [PY, LOADCLIENT, "--host", VIP, "--port", VIP_PORT]
        for k, v in kw.items():
            args += ["--" + k.replace("_", "-"), v]
        r = self.run(client, args, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("loadclient failed: %s" % r.stderr)
        return json.loads(r.stdout)

    def load_background(self, client="c1", **kw):
        args = [PY, LOADCLIENT, "--host", VIP, "--port", VIP_PORT]
        for k, v in kw.items():
            args += ["--" + k.replace("_", "-"), v]
        return self.popen(client, args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Gateway:
    """One meshgate process, by PID, with its output in a log file."""

    __test__ = False
    _seq = itertools.count(1)

    def __init__(self, testbed, workdir, config=None, workers=1, idle_sleep=20, extra_args=()):
        self.tb = testbed
        self.workdir = Path(workdir)
        self.workers = workers
        self.n = next(self._seq)
        self.config_text = config if config is not None else make_config(testbed.tap_client, testbed.tap_backend)
        self.config_path = self.workdir / "meshgate.yaml"
        self.log_path = self.workdir / "meshgate.log"
        self.idle_sleep = idle_sleep
        self.extra_args = list(extra_args)
        self.proc = None
        self.returncode = None

    def argv(self):
        if self.workers == 1:
            lcores = ["-l", "0-1"]
        else:
            # main on core 0, the workers share core 1
            lcores = ["--lcores", "0@0," + ",".join("%d@1" % (i + 1) for i in range(self.workers))]
        eal = lcores + ["--file-prefix", "%s-gw%d" % (self.tb.prefix, self.n), "--no-pci",
                        "--log-level", "lib.eal:error"] + eal_mem_args()
        app = ["--config", str(self.config_path), "--idle-sleep", str(self.idle_sleep)] + self.extra_args
        return [str(MESHGATE)] + eal + ["--"] + app

    def start(self, attach=True, timeout=60):
        if not MESHGATE.exists():
            pytest.fail("meshgate binary not built: %s (run scripts/setup.sh)" % MESHGATE)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_text)
        self.log = open(self.log_path, "w")
        self.log.write("# %s\n" % " ".join(self.argv()))
        self.log.flush()
        self.proc = subprocess.Popen(self.argv(), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while RUNNING_LINE not in self.output():
            if self.proc.poll() is not None:
                pytest.fail("meshgate exited with %d before running:\n%s" % (self.proc.returncode, self.tail()))
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail("meshgate did not print '%s' within %ds:\n%s" % (RUNNING_LINE, timeout, self.tail()))
            time.sleep(0.05)
        if attach:
            self.tb.attach()
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        """Both gateway addresses answer ping (ARP and ICMP work through the moved TAPs),
        from the client and from every backend: so the gateway has every backend's MAC
        before a test counts who gets traffic (until then new connections skip an
        endpoint whose next hop is unresolved, which on a loaded machine can last)."""
        deadline = time.monotonic() + timeout
        while True:
            a = self.tb.run("c1", ["ping", "-c", "1", "-W", "1", GW_CLIENT], timeout=10)
            b = a
            for i in range(1, self.tb.n_backends + 1):
                if b.returncode != 0:
                    break
                b = self.tb.run("b%d" % i, ["ping", "-c", "1", "-W", "1", GW_BACKEND], timeout=10)
            if a.returncode == 0 and b.returncode == 0:
                return
            if self.proc.poll() is not None:
                pytest.fail("meshgate exited with %d:\n%s" % (self.proc.returncode, self.tail()))
            if time.monotonic() > deadline:
                # not fatal here: test_ping reports it; requests will tell the rest
                return
            time.sleep(0.2)

    def output(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, n=60):
        return "\n".join(self.output().splitlines()[-n:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self, sig=signal.SIGINT, timeout=20):
        """Stop it (SIGINT: meshgate prints its final counters); returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
                self.returncode = "hung after %s, killed" % signal.Signals(sig).name
                self.log.close()
                return self.returncode
        self.returncode = self.proc.returncode
        self.log.close()
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def worker_flows(self):
        """{lcore: flows} from the per-worker lines of the final counters."""
        return {int(m.group(1)): int(m.group(2)) for m in WORKER_LINE.finditer(self.output())}


# ---------------------------------------------------------------- fixtures

def pytest_configure(config):
    config.addinivalue_line("markers", "needs_root: needs root (network namespaces, TAP, hugepages)")


@pytest.fixture(scope="module")
def testbed(request, tmp_path_factory):
    """A test bed with 3 backends under a prefix unique to this module and run."""
    if os.geteuid() != 0:
        pytest.fail("the end-to-end tests need root (network namespaces)")
    prefix = "e%04d%s" % (os.getpid() % 10000, "abcdefghijklmnopqrstuvwxyz"[next(_module_seq) % 26])
    files = tmp_path_factory.mktemp("files")
    tb = TestBed(prefix, n_backends=3, files_dir=files)
    tb.files_dir = files
    try:
        tb.up()
        yield tb
    finally:
        tb.down()


@pytest.fixture
def tb(testbed):
    """The module's test bed, restored (every server up, no blackhole) after the test."""
    try:
        yield testbed
    finally:
        testbed.restore()


@pytest.fixture
def gateway_factory(request, tb, tmp_path):
    """Start meshgate(s) for one test; always stopped (by PID) afterwards."""
    started = []

    def start(config=None, workers=1, attach=True, **kw):
        gw = Gateway(tb, tmp_path / ("gw%d" % (len(started) + 1)), config=config, workers=workers, **kw)
        started.append(gw)
        request.node._mg_gateways = started
        return gw.start(attach=attach)

    yield start
    for gw in started:
        gw.stop()
        gw.kill()
    # Under -Dsanitize=true a report may come at any time, at exit too (the
    # process may still exit 0 with a leak report when not halting): fail.
    for gw in started:
        m = SANITIZER_REPORT.search(gw.output())
        if m:
            lines = gw.output()[m.start():].splitlines()[:60]
            pytest.fail("sanitizer report in %s:\n%s" % (gw.log_path, "\n".join(lines)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for gw in getattr(item, "_mg_gateways", []):
            rep.sections.append(("meshgate log %s" % gw.log_path, gw.tail(80)))
