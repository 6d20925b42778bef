# SPDX-License-Identifier: BSD-3-Clause
"""meshgate as an operator starts it (issue 2): options, configuration errors, the first CLI."""
import re
import subprocess

import pytest

from conftest import MESHGATE, ROOT, VIP, make_config


def run_meshgate(args, timeout=60):
    if not MESHGATE.exists():
        pytest.fail("meshgate binary not built: %s (run scripts/setup.sh)" % MESHGATE)
    return subprocess.run([str(MESHGATE)] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_help_exits_0():
    r = run_meshgate(["--", "--help"])
    assert r.returncode == 0, r.stderr
    assert "--config" in r.stdout and "--cmdline-file" in r.stdout


def test_embedded_default_config_checks_ok():
    r = run_meshgate(["--", "--check-config"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_default_yaml_file_checks_ok():
    r = run_meshgate(["--", "--config", str(ROOT / "lib" / "conf" / "default.yaml"), "--check-config"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_bad_config_names_file_line_and_field(tmp_path):
    text = make_config("x-tc", "x-tb").replace("timeout: 500ms", "timeout: banana")
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    line = 1 + text.splitlines().index("    timeout: banana")
    r = run_meshgate(["--no-pci", "--file-prefix", "e2e-badcfg", "--", "--config", str(cfg)])
    assert r.returncode != 0
    err = r.stderr + r.stdout
    assert str(cfg) in err, err
    assert re.search(r"\b%d\b" % line, err), "line %d not named: %s" % (line, err)
    assert "timeout" in err, err
    assert "running" not in r.stdout, "half-started: " + r.stdout


def test_missing_config_file_is_a_clear_error(tmp_path):
    cfg = tmp_path / "nope.yaml"
    r = run_meshgate(["--no-pci", "--file-prefix", "e2e-nocfg", "--", "--config", str(cfg)])
    assert r.returncode != 0
    assert str(cfg) in r.stderr + r.stdout


def test_bad_option_exits_nonzero():
    r = run_meshgate(["--no-pci", "--file-prefix", "e2e-badopt", "--", "--stats-period", "x"])
    assert r.returncode != 0


def test_cmdline_file_runs_first_cli_commands(tmp_path):
    """--cmdline-file with the issue's first CLI: show port stats all, show flows, show services, quit."""
    from conftest import eal_mem_args
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(make_config("e2ecli-tc", "e2ecli-tb"))
    cmds = tmp_path / "cmds"
    cmds.write_text("show port stats all\nshow flows\nshow services\nquit\n")
    r = run_meshgate(["-l", "0-1", "--no-pci", "--file-prefix", "e2e-cli"] + eal_mem_args() +
                     ["--", "--config", str(cfg), "--cmdline-file", str(cmds), "--idle-sleep", "20"])
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "meshgate: running" in out, out
    assert VIP in out, "show services does not list the VIP:\n" + out
    assert re.search(r"(?i)rx", out), "show port stats all printed no counters:\n" + out
