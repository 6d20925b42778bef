# SPDX-License-Identifier: BSD-3-Clause
"""scripts/demo.sh, the README's first command after set-up, as a user runs it.

The demo builds its own test bed (its own prefix), starts meshgate on the embedded
default configuration, sends requests to the VIP, kills a backend, waits for the
ejection and the re-admission, and stops meshgate with SIGINT; its exit status says
whether every request succeeded and every step happened. About 10-20 s.
"""
import os
import re
import subprocess

from conftest import BUILD, ROOT

SCRIPT = ROOT / "scripts" / "demo.sh"


def test_demo_runs_clean():
    prefix = "dm%04d" % (os.getpid() % 10000)
    env = dict(os.environ, MG_BUILD=str(BUILD))
    r = subprocess.run(["bash", str(SCRIPT), "--prefix", prefix], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL, timeout=180, env=env)
    print(r.stdout)
    assert r.returncode == 0, r.stdout
    out = r.stdout
    # three rounds, every request answered
    assert len(re.findall(r"30 of 30 requests succeeded", out)) == 3, out
    # b2 killed: ejected by outlier detection, then back and serving
    assert re.search(r"log: meshgate: endpoint 10\.20\.0\.12 ejected for 5000 ms", out), out
    assert re.search(r"endpoint 10\.20\.0\.12: EJECTED", out), out
    assert re.search(r"log: meshgate: endpoint 10\.20\.0\.12 re-admitted", out), out
    # a clean stop on SIGINT, with its counters, and nothing left behind
    assert "meshgate: bye" in out and "did not stop" not in out and "Traceback" not in out, out
    ns = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
    assert not [l for l in ns.splitlines() if l.startswith(prefix + "-")], ns
