# SPDX-License-Identifier: BSD-3-Clause
"""Locality-aware traffic distribution with real clients and servers (issue 3).

The three backends of the test bed are placed, by the configuration's Node
objects, in different places relative to the gateway (node-a: region1/zone-a):
  b1 (10.20.0.11) on node-a  region1/zone-a   (the gateway's own zone)
  b2 (10.20.0.12) on node-b  region1/zone-b   (same region, other zone)
  b3 (10.20.0.13) on node-c  region2/zone-c   (other region)
Real curl clients then check that each mode sends new connections only to the
tier it dictates, and that reloading a configuration without the top tier
moves traffic to the next tier without failing a single client connection.
"""
import json
import signal
import time

import pytest

from conftest import GW_BACKEND, GW_CLIENT, VIP

NODES = """
---
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {topology.kubernetes.io/region: region1, topology.kubernetes.io/zone: zone-a}}
---
apiVersion: v1
kind: Node
metadata: {name: node-b, labels: {topology.kubernetes.io/region: region1, topology.kubernetes.io/zone: zone-b}}
---
apiVersion: v1
kind: Node
metadata: {name: node-c, labels: {topology.kubernetes.io/region: region2, topology.kubernetes.io/zone: zone-c}}
"""

PLACE = {"10.20.0.11": "node-a", "10.20.0.12": "node-b", "10.20.0.13": "node-c"}


def config(tb, endpoints=("10.20.0.11", "10.20.0.12", "10.20.0.13"), spec="", annotations="",
           default="PreferNetwork"):
    eps = "".join("  - {addresses: [%s], nodeName: %s}\n" % (e, PLACE[e]) for e in endpoints) or "  []\n"
    return f"""\
apiVersion: meshgate.io/v1alpha1
kind: MeshGateway
metadata: {{name: e2e-locality}}
spec:
  cluster: demo
  network: net1
  nodeName: node-a
  defaultTrafficDistribution: {default}
  ports:
    - {{name: client, device: "net_tap0,iface={tb.tap_client}", address: {GW_CLIENT}/24}}
    - {{name: backend, device: "net_tap1,iface={tb.tap_backend}", address: {GW_BACKEND}/24}}
{NODES}
---
apiVersion: v1
kind: Namespace
metadata: {{name: demo}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
  annotations: {{{annotations}}}
spec:
  clusterIP: {VIP}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
{spec}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: web-1, namespace: demo, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
ports: [{{name: http, port: 8080}}]
endpoints:
{eps}"""


def spread(tb, n=60):
    res = tb.curl_many(n)
    failed = [r for r in res if r[0] != 0 or r[1] != "200"]
    assert not failed, "%d of %d requests failed: %s" % (len(failed), n, failed[:5])
    seen = {}
    for r in res:
        seen[r[2]] = seen.get(r[2], 0) + 1
    return seen


@pytest.mark.parametrize("spec,annot,default,want", [
    ("  trafficDistribution: PreferSameZone", "", "Any", {"b1"}),
    ("", "networking.istio.io/traffic-distribution: PreferRegion", "Any", {"b1", "b2"}),
    ("", "", "Any", {"b1", "b2", "b3"}),
    ("", "", "PreferNetwork", {"b1", "b2", "b3"}),
    ("  trafficDistribution: FooBar", "networking.istio.io/traffic-distribution: PreferSameNode", "Any", {"b1"}),
], ids=["prefer-same-zone", "prefer-region-annotation", "any", "default-prefer-network", "unknown-spec-falls-through"])
def test_mode_sends_new_connections_only_to_its_tier(tb, gateway_factory, spec, annot, default, want):
    gateway_factory(config=config(tb, spec=spec, annotations=annot, default=default))
    seen = spread(tb)
    assert set(seen) == want, "backends seen %s, expected only %s" % (seen, sorted(want))


def test_internal_traffic_policy_local_is_strict(tb, gateway_factory):
    """Only node-a's endpoint; without it the client is refused at once (no upstream)."""
    gw = gateway_factory(config=config(tb, endpoints=("10.20.0.12", "10.20.0.13"),
                                       spec="  internalTrafficPolicy: Local"))
    rc, out, elapsed = tb.curl("http://%s/" % VIP, timeout=10)
    assert rc == 7, "expected connection refused (curl exit 7), got %d: %s" % (rc, out)
    assert elapsed < 2, "refusal took %.1fs" % elapsed


def test_reload_without_top_tier_moves_traffic_with_no_failed_connection(tb, gateway_factory, tmp_path):
    """PreferSameZone: b1 only; reload (SIGHUP) without b1 -> b2 only; without b1, b2 -> b3.

    A connection-per-request load runs through both reloads: no client connection may fail."""
    spec = "  trafficDistribution: PreferSameZone"
    gw = gateway_factory(config=config(tb, spec=spec))
    assert set(spread(tb, 30)) == {"b1"}
    started = tmp_path / "started"
    p = tb.load_background(duration=9, concurrency=2, connect_timeout=10, timeout=10, start_file=started)
    try:
        deadline = time.monotonic() + 20
        while not started.exists():
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline, "load did not start"
            time.sleep(0.05)
        time.sleep(2)
        gw.config_path.write_text(config(tb, endpoints=("10.20.0.12", "10.20.0.13"), spec=spec))
        gw.send_signal(signal.SIGHUP)
        time.sleep(3)
        assert set(spread(tb, 20)) == {"b2"}
        gw.config_path.write_text(config(tb, endpoints=("10.20.0.13",), spec=spec))
        gw.send_signal(signal.SIGHUP)
        time.sleep(2)
        assert set(spread(tb, 20)) == {"b3"}
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    res = json.loads(out)
    print(res)
    assert res["failed_connections"] == 0, res
    assert set(res["outcomes"]) == {"ok"}, res
    assert {"b1", "b2", "b3"} <= set(res["backends"]), res


def test_bad_reload_keeps_the_running_configuration(tb, gateway_factory):
    gw = gateway_factory(config=config(tb, spec="  trafficDistribution: PreferSameZone"))
    gw.config_path.write_text("apiVersion: meshgate.io/v1alpha1\nkind: MeshGateway\nspec: {bogus: 1}\n")
    gw.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    assert gw.alive()
    assert set(spread(tb, 20)) == {"b1"}
    assert "configuration refused, the running one stays" in gw.output()


def with_remote(text, tmp_path, n_remote=3):
    """Add a remote cluster "east" on network net2, its east-west gateway stood
    in by b3's server (10.20.0.13:8080, reached by plain TCP until HBONE), with
    labels region1/zone-a (the gateway's own zone), and its own slice of web
    whose endpoints (10.60.0.x) are never reached directly."""
    remote = tmp_path / "east.yaml"
    remote.write_text(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: web-east, namespace: demo, labels: {kubernetes.io/service-name: web}}\n"
        "addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n"
        + "".join("  - addresses: [10.60.0.%d]\n" % (i + 1) for i in range(n_remote)))
    block = (
        "  remoteClusters:\n"
        "    - name: east\n"
        "      network: net2\n"
        "      eastWestGateway: {address: 10.20.0.13, port: 8080, locality: {region: region1, zone: zone-a}}\n"
        "      manifests: [%s]\n" % remote)
    marker = "address: %s/24}\n" % GW_BACKEND
    assert marker in text
    return text.replace(marker, marker + block, 1)


def test_remote_network_reached_through_its_east_west_gateway(tb, gateway_factory, tmp_path):
    """PreferNetwork with a global service that takes over its cluster VIP: the local
    network's endpoints first, however close the remote gateway's labels are (network-first
    rule); without local endpoints, new connections go to the east-west gateway entry."""
    scope = 'solo.io/service-scope: global, solo.io/service-takeover: "true"'
    gw = gateway_factory(config=with_remote(
        config(tb, endpoints=("10.20.0.11", "10.20.0.12"), annotations=scope), tmp_path))
    assert set(spread(tb, 40)) == {"b1", "b2"}
    gw.config_path.write_text(with_remote(config(tb, endpoints=(), annotations=scope), tmp_path))
    gw.send_signal(signal.SIGHUP)
    time.sleep(2)
    assert set(spread(tb, 30)) == {"b3"}
    # Any: the gateway entry is one candidate among the local ones.
    gw.config_path.write_text(with_remote(
        config(tb, endpoints=("10.20.0.11", "10.20.0.12"), annotations=scope, default="Any"), tmp_path))
    gw.send_signal(signal.SIGHUP)
    time.sleep(2)
    assert set(spread(tb, 90)) == {"b1", "b2", "b3"}


def test_cluster_scope_never_leaves_the_cluster(tb, gateway_factory, tmp_path):
    """service-scope cluster: the remote cluster's endpoints are filtered out before ranking;
    with no local endpoint there is no upstream and the client is refused at once."""
    gw = gateway_factory(config=with_remote(
        config(tb, endpoints=(), annotations="solo.io/service-scope: cluster", default="Any"), tmp_path))
    rc, out, elapsed = tb.curl("http://%s/" % VIP, timeout=10)
    assert rc == 7, "expected connection refused (curl exit 7), got %d: %s" % (rc, out)
