# SPDX-License-Identifier: BSD-3-Clause
"""scripts/faults-compare --quick: the kill fault through meshgate and through HAProxy.

The script builds its own test bed (another prefix), runs one fault under load
through each gateway, prints the side-by-side table and removes everything it
started. About 25-40 s; the full comparison (all four faults, about 80 s) is
run by hand: see doc/performance.md.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT

SCRIPT = ROOT / "scripts" / "faults-compare"


def test_faults_compare_quick(tmp_path):
    if not os.access("/usr/sbin/haproxy", os.X_OK):
        pytest.fail("no /usr/sbin/haproxy (scripts/setup.sh installs it)")
    prefix = "fq%04d" % (os.getpid() % 10000)
    out_json = tmp_path / "figures.json"
    r = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--prefix", prefix, "--build", str(BUILD),
                        "--json", str(out_json)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       stdin=subprocess.DEVNULL, timeout=180)
    print(r.stdout)
    assert r.returncode == 0, r.stdout
    figs = {f["gateway"]: f for f in json.loads(out_json.read_text())}
    assert set(figs) == {"meshgate", "haproxy"}, figs
    m, h = figs["meshgate"], figs["haproxy"]
    # meshgate: nothing failed, b1 out quickly, none of its new connections while out, back after restore
    assert m["failed"] == 0, m
    assert m["to_eject"] is not None and m["to_eject"] < 2.0, m
    assert m["out_by"] == "outlier detection", m
    assert m["share_during"] == 0 and m["n_during"] > 0, m
    assert m["to_readmit"] is not None and m["to_readmit"] < 5.0, m
    assert m["share_after"] is not None and m["share_after"] > 0.05, m
    assert m["fault_to_generation"] is not None and m["fault_to_generation"] <= m["to_eject"] + 0.05, m
    # HAProxy ran the same fault and marked b1 down (the comparison is real)
    assert h["total"] > 100 and h["to_eject"] is not None, h
    # the table
    assert re.search(r"^\| server killed \(RST\) \| meshgate \| 0 / \d+ \| \d+ \| \d+ \|", r.stdout, re.M), r.stdout
    assert re.search(r"^\| server killed \(RST\) \| haproxy \| \d+ / \d+ \| \d+ \| \d+ \|", r.stdout, re.M), r.stdout
    # everything it started is gone: namespaces, test bed state, processes in its work directory
    ns = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
    assert not [l for l in ns.splitlines() if l.startswith(prefix + "-")], ns
    assert not os.path.exists("/run/meshgate-testbed/" + prefix)
    work = re.search(r"work directory (\S+)", r.stdout).group(1)
    assert not os.path.exists(work)
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if work.encode() in f.read():
                    left.append(pid)
        except OSError:
            pass
    assert not left, "processes left running from %s: %s" % (work, left)
