/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/conf: the embedded default, value parsers, MeshGateway
 * defaults and fields, each object kind, a `kubectl get -o yaml` dump with a
 * remote cluster (fixtures in test/unit/conf/), locality resolution, and
 * every class of error with its exact "FILE:LINE: FIELD: problem" text.
 *
 * The fixtures are found next to this file: $MG_CONF_FIXTURES if set, else
 * the directory of __FILE__ (relative to the build directory, where the
 * compiler ran) + "/conf".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "mg_conf.h"

static char fixdir[PATH_MAX];

static uint32_t
ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		fail_msg("bad test address %s", s);
	return a.s_addr;
}

static bool
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
find_fixtures(void **state)
{
	const char *env = getenv("MG_CONF_FIXTURES");
	char src[PATH_MAX], exe[PATH_MAX], cand[2 * PATH_MAX + 16];
	char *slash;
	ssize_t n;

	if (env != NULL && realpath(env, fixdir) != NULL)
		return 0;
	snprintf(src, sizeof(src), "%s", __FILE__);
	slash = strrchr(src, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		snprintf(src, sizeof(src), "%s", ".");
	/* Relative to the directory the compiler ran in: the build root. */
	snprintf(cand, sizeof(cand), "%s/conf", src);
	if (src[0] != '/' && !is_dir(cand)) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			for (int up = 0; up < 3 && (slash = strrchr(exe, '/')) != NULL; up++)
				*slash = '\0'; /* .../build/test/unit/test_conf -> .../build */
			snprintf(cand, sizeof(cand), "%s/%s/conf", exe, src);
		}
	}
	if (realpath(cand, fixdir) == NULL) {
		fprintf(stderr, "test_conf: fixtures not found at %s (set MG_CONF_FIXTURES)\n", cand);
		return -1;
	}
	return 0;
}

static struct mg_conf *
load_str(const char *yaml, char *err, size_t errlen)
{
	return mg_conf_load_string(yaml, strlen(yaml), "t.yaml", fixdir, err, errlen);
}

static struct mg_conf *
must_load_str(const char *yaml)
{
	char err[MG_CONF_ERR_LEN];
	struct mg_conf *c = load_str(yaml, err, sizeof(err));

	if (c == NULL)
		fail_msg("load: %s", err);
	return c;
}

static struct mg_conf *
must_load_fixture(const char *name)
{
	char path[PATH_MAX + 64], err[MG_CONF_ERR_LEN];
	struct mg_conf *c;

	snprintf(path, sizeof(path), "%s/%s", fixdir, name);
	c = mg_conf_load_file(path, err, sizeof(err));
	if (c == NULL)
		fail_msg("load %s: %s", path, err);
	return c;
}

/* Loading @p yaml fails with exactly @p expect. */
static void
expect_error(const char *yaml, const char *expect)
{
	char err[MG_CONF_ERR_LEN];
	struct mg_conf *c = load_str(yaml, err, sizeof(err));

	if (c != NULL) {
		mg_conf_free(c);
		fail_msg("loaded, expected: %s", expect);
	}
	assert_string_equal(err, expect);
}

static const struct mg_conf_service *
find_svc(const struct mg_conf *c, const char *cluster, const char *ns, const char *name,
	 bool se)
{
	for (uint32_t i = 0; i < c->n_services; i++) {
		const struct mg_conf_service *s = &c->services[i];

		if (!strcmp(s->cluster, cluster) && !strcmp(s->ns, ns) && !strcmp(s->name, name) &&
		    s->is_service_entry == se)
			return s;
	}
	fail_msg("no service %s %s/%s", cluster, ns, name);
	return NULL;
}

static const struct mg_conf_endpoint *
find_ep(const struct mg_conf *c, const char *ip)
{
	for (uint32_t i = 0; i < c->n_endpoints; i++)
		if (c->endpoints[i].ip == ip4(ip))
			return &c->endpoints[i];
	fail_msg("no endpoint %s", ip);
	return NULL;
}

static void
assert_locality(const struct mg_locality *l, const char *net, const char *region,
		const char *zone, const char *subzone, const char *node)
{
	assert_string_equal(l->network, net);
	assert_string_equal(l->region, region);
	assert_string_equal(l->zone, zone);
	assert_string_equal(l->subzone, subzone);
	assert_string_equal(l->node, node);
}

/* Lines 1-6; what a test adds to spec starts on line 7. */
#define GW_HEAD \
	"apiVersion: meshgate.io/v1alpha1\n" \
	"kind: MeshGateway\n" \
	"metadata: {name: g}\n" \
	"spec:\n" \
	"  ports:\n" \
	"  - {name: p, device: net_null0, address: 10.0.0.1/24}\n"

/* GW_HEAD and a document separator: the next object starts on line 8. */
#define GW_DOC GW_HEAD "---\n"

/* ---- the embedded default ------------------------------------------------ */

static void
test_embedded_default(void **state)
{
	char err[MG_CONF_ERR_LEN];
	struct mg_conf *c = mg_conf_load_string(mg_conf_embedded_default,
						strlen(mg_conf_embedded_default), "<embedded>",
						NULL, err, sizeof(err));
	const struct mg_conf_gateway *g;
	const struct mg_conf_service *s;

	if (c == NULL)
		fail_msg("%s", err);
	g = &c->gw;
	assert_string_equal(c->path, "<embedded>");
	assert_string_equal(g->name, "demo-gateway");
	assert_string_equal(g->cluster, "demo");
	assert_int_equal(g->n_ports, 2);
	assert_string_equal(g->ports[0].name, "client");
	assert_string_equal(g->ports[0].device, "net_tap0,iface=mgtap-c");
	assert_int_equal(g->ports[0].ip, ip4("10.10.0.1"));
	assert_int_equal(g->ports[0].prefix_len, 24);
	assert_string_equal(g->ports[1].name, "backend");
	assert_int_equal(g->ports[1].ip, ip4("10.20.0.1"));
	assert_string_equal(g->default_traffic_distribution, "PreferNetwork");
	assert_int_equal(g->connect_timeout_ms, 500);
	assert_int_equal(g->max_connect_attempts, 3);
	assert_true(g->locality_from_node);
	assert_locality(&g->locality, "net1", "region1", "zone-a", "", "node-a");
	assert_int_equal(c->n_nodes, 2);
	assert_int_equal(c->n_namespaces, 1);
	assert_int_equal(c->n_services, 1);
	s = find_svc(c, "", "demo", "web", false);
	assert_int_equal(s->n_vips, 1);
	assert_int_equal(s->vips[0], ip4("10.96.0.10"));
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].target_port, 8080);
	assert_int_equal(s->ports[0].proto, MG_PROTO_TCP);
	assert_int_equal(c->n_endpoints, 3);
	assert_locality(&find_ep(c, "10.20.0.11")->locality, "net1", "region1", "zone-a", "",
			"node-a");
	assert_locality(&find_ep(c, "10.20.0.13")->locality, "net1", "region1", "zone-b", "",
			"node-b");
	assert_int_equal(find_ep(c, "10.20.0.12")->ports[0].port, 8080);
	assert_string_equal(find_ep(c, "10.20.0.12")->service, "web");
	mg_conf_free(c);
}

/* ---- parse helpers ------------------------------------------------------------ */

static void
test_durations(void **state)
{
	assert_int_equal(mg_conf_parse_duration_ms("500ms"), 500);
	assert_int_equal(mg_conf_parse_duration_ms("30s"), 30000);
	assert_int_equal(mg_conf_parse_duration_ms("5m"), 300000);
	assert_int_equal(mg_conf_parse_duration_ms("1h"), 3600000);
	assert_int_equal(mg_conf_parse_duration_ms("1h30m"), 5400000);
	assert_int_equal(mg_conf_parse_duration_ms("1m30s250ms"), 90250);
	assert_int_equal(mg_conf_parse_duration_ms("1.5s"), 1500);
	assert_int_equal(mg_conf_parse_duration_ms("0.25h"), 900000);
	assert_int_equal(mg_conf_parse_duration_ms("2000us"), 2);
	assert_int_equal(mg_conf_parse_duration_ms("3000000ns"), 3);
	assert_int_equal(mg_conf_parse_duration_ms("0"), 0);
	assert_int_equal(mg_conf_parse_duration_ms("0s"), 0);
	assert_int_equal(mg_conf_parse_duration_ms(""), -1);
	assert_int_equal(mg_conf_parse_duration_ms(NULL), -1);
	assert_int_equal(mg_conf_parse_duration_ms("30"), -1);
	assert_int_equal(mg_conf_parse_duration_ms("s"), -1);
	assert_int_equal(mg_conf_parse_duration_ms("-5s"), -1);
	assert_int_equal(mg_conf_parse_duration_ms("5x"), -1);
	assert_int_equal(mg_conf_parse_duration_ms("5 s"), -1);
	assert_int_equal(mg_conf_parse_duration_ms("1d"), -1);
	assert_int_equal(mg_conf_parse_duration_ms("99999999999999999999h"), -1);
}

static void
test_ipv4(void **state)
{
	uint32_t ip = 0;
	uint8_t len = 0;

	assert_int_equal(mg_conf_parse_ipv4("10.1.2.3", &ip, &len), 0);
	assert_int_equal(ip, ip4("10.1.2.3"));
	assert_int_equal(len, 32);
	assert_int_equal(mg_conf_parse_ipv4("192.168.0.0/16", &ip, &len), 0);
	assert_int_equal(ip, ip4("192.168.0.0"));
	assert_int_equal(len, 16);
	assert_int_equal(mg_conf_parse_ipv4("0.0.0.0/0", &ip, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(mg_conf_parse_ipv4("255.255.255.255/32", &ip, NULL), 0);
	assert_int_equal(ip, 0xffffffffu);
	assert_int_equal(mg_conf_parse_ipv4("10.1.2", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4("10.1.2.3.4", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4("10.1.2.256", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4("10.01.2.3", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4("10.1.2.3/33", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4("10.1.2.3/", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4("10.1.2.3/024", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4(" 10.1.2.3", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4("10.1.2.3 ", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4("fd00::1", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4("", &ip, &len), -1);
	assert_int_equal(mg_conf_parse_ipv4(NULL, &ip, &len), -1);
}

/* ---- MeshGateway --------------------------------------------------------------- */

static void
test_gateway_defaults(void **state)
{
	struct mg_conf *c = must_load_str(GW_HEAD);
	const struct mg_conf_gateway *g = &c->gw;

	assert_string_equal(g->name, "g");
	assert_string_equal(g->cluster, "local");
	assert_string_equal(g->segment, "");
	assert_locality(&g->locality, "", "", "", "", "");
	assert_false(g->locality_from_node);
	assert_string_equal(g->ports[0].name, "p");
	assert_string_equal(g->ports[0].profile, "");
	assert_int_equal(g->ports[0].mtu, 0);
	assert_int_equal(g->n_routes, 0);
	assert_int_equal(g->n_snat, 0);
	assert_int_equal(g->snat_port_min, 1024);
	assert_int_equal(g->snat_port_max, 65535);
	assert_string_equal(g->default_traffic_distribution, "PreferNetwork");
	assert_int_equal(g->connect_timeout_ms, 500);
	assert_int_equal(g->max_connect_attempts, 3);
	assert_true(g->outlier.enabled);
	assert_int_equal(g->outlier.consecutive_failures, 5);
	assert_int_equal(g->outlier.interval_ms, 10000);
	assert_int_equal(g->outlier.base_ejection_ms, 30000);
	assert_int_equal(g->outlier.max_ejection_ms, 300000);
	assert_int_equal(g->outlier.max_ejection_percent, 100);
	assert_true(g->outlier.ewma_alpha == 0.3);
	assert_true(g->outlier.readmit_score == 0.5);
	assert_int_equal(g->circuit.max_connections, 0);
	assert_int_equal(g->circuit.max_pending_connects, 0);
	assert_false(g->healthcheck.enabled);
	assert_int_equal(g->healthcheck.interval_ms, 5000);
	assert_int_equal(g->healthcheck.timeout_ms, 1000);
	assert_int_equal(g->healthcheck.healthy_threshold, 2);
	assert_int_equal(g->healthcheck.unhealthy_threshold, 3);
	assert_int_equal(g->flows.size, 262144);
	assert_string_equal(g->synflood.cookies, "auto");
	assert_int_equal(g->synflood.max_half_open, 4096);
	assert_int_equal(g->synflood.max_half_open_per_source, 0);
	assert_int_equal(g->synflood.max_half_open_per_service, 0);
	assert_int_equal(g->flows.syn_recv_ms, 30000);
	assert_int_equal(g->flows.established_ms, 3600000);
	assert_int_equal(g->flows.fin_wait_ms, 120000);
	assert_int_equal(g->flows.last_ack_ms, 30000);
	assert_int_equal(g->flows.time_wait_ms, 10000);
	assert_int_equal(g->flows.close_ms, 2000);
	assert_int_equal(g->neigh_timeout_ms, 300000);
	assert_int_equal(g->n_manifests, 0);
	assert_int_equal(g->n_remotes, 0);
	assert_string_equal(g->src.file, "t.yaml");
	assert_int_equal(g->src.line, 1);
	assert_int_equal(c->n_nodes + c->n_namespaces + c->n_services + c->n_endpoints, 0);
	mg_conf_free(c);

	/* Unnamed ports are p0, p1...; no metadata.name is "meshgate". */
	c = must_load_str("apiVersion: meshgate.io/v1alpha1\nkind: MeshGateway\nspec:\n"
			  "  ports: [{device: a, address: 10.0.0.1/24}, {device: b, address: 10.1.0.1}]\n");
	assert_string_equal(c->gw.name, "meshgate");
	assert_string_equal(c->gw.ports[0].name, "p0");
	assert_string_equal(c->gw.ports[1].name, "p1");
	assert_int_equal(c->gw.ports[1].prefix_len, 32);
	mg_conf_free(c);
}

static void
test_gateway_all_fields(void **state)
{
	struct mg_conf *c = must_load_fixture("gateway.yaml");
	const struct mg_conf_gateway *g = &c->gw;
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/gateway.yaml", fixdir);
	assert_string_equal(c->path, path);
	assert_string_equal(g->src.file, path);
	assert_int_equal(g->src.line, 3);
	assert_string_equal(g->name, "gw1");
	assert_string_equal(g->cluster, "c1");
	assert_string_equal(g->segment, "seg-a");
	assert_int_equal(g->n_ports, 2);
	assert_string_equal(g->ports[0].device, "0000:00:04.0");
	assert_string_equal(g->ports[0].profile, "virtio");
	assert_int_equal(g->ports[0].mtu, 1500);
	assert_int_equal(g->ports[1].ip, ip4("10.20.0.1"));
	assert_int_equal(g->ports[1].prefix_len, 16);
	assert_int_equal(g->n_routes, 2);
	assert_int_equal(g->routes[0].dst, ip4("10.30.0.0"));
	assert_int_equal(g->routes[0].prefix_len, 16);
	assert_int_equal(g->routes[0].gateway, ip4("10.20.0.254"));
	assert_int_equal(g->routes[0].port, 1);
	assert_int_equal(g->routes[1].dst, 0);
	assert_int_equal(g->routes[1].prefix_len, 0);
	assert_int_equal(g->routes[1].port, -1);
	assert_int_equal(g->n_snat, 2);
	assert_int_equal(g->snat[1], ip4("10.20.0.101"));
	assert_int_equal(g->snat_port_min, 2000);
	assert_int_equal(g->snat_port_max, 60000);
	assert_string_equal(g->default_traffic_distribution, "PreferClose");
	assert_int_equal(g->connect_timeout_ms, 750);
	assert_int_equal(g->max_connect_attempts, 4);
	assert_true(g->outlier.enabled);
	assert_int_equal(g->outlier.consecutive_failures, 3);
	assert_int_equal(g->outlier.interval_ms, 5000);
	assert_int_equal(g->outlier.base_ejection_ms, 60000);
	assert_int_equal(g->outlier.max_ejection_ms, 5400000);
	assert_int_equal(g->outlier.max_ejection_percent, 50);
	assert_true(g->outlier.ewma_alpha == 0.25);
	assert_true(g->outlier.readmit_score == 0.75);
	assert_int_equal(g->circuit.max_connections, 1000);
	assert_int_equal(g->circuit.max_pending_connects, 100);
	assert_true(g->healthcheck.enabled);
	assert_int_equal(g->healthcheck.interval_ms, 2000);
	assert_int_equal(g->healthcheck.timeout_ms, 500);
	assert_int_equal(g->healthcheck.healthy_threshold, 1);
	assert_int_equal(g->healthcheck.unhealthy_threshold, 4);
	assert_int_equal(g->flows.size, 65536);
	assert_string_equal(g->synflood.cookies, "always");
	assert_int_equal(g->synflood.max_half_open, 8192);
	assert_int_equal(g->synflood.max_half_open_per_source, 32);
	assert_int_equal(g->synflood.max_half_open_per_service, 1000);
	assert_int_equal(g->flows.syn_recv_ms, 20000);
	assert_int_equal(g->flows.established_ms, 7200000);
	assert_int_equal(g->flows.fin_wait_ms, 60000);
	assert_int_equal(g->flows.last_ack_ms, 20000);
	assert_int_equal(g->flows.time_wait_ms, 5000);
	assert_int_equal(g->flows.close_ms, 1000);
	assert_int_equal(g->neigh_timeout_ms, 120000);
	assert_int_equal(g->n_manifests, 2);
	snprintf(path, sizeof(path), "%s/istio.yaml", fixdir);
	assert_string_equal(g->manifests[1], path);
	assert_int_equal(g->n_remotes, 2);
	assert_string_equal(g->remotes[0].name, "c2");
	assert_string_equal(g->remotes[0].network, "net2");
	assert_string_equal(g->remotes[0].segment, "seg-a");
	assert_int_equal(g->remotes[0].gateway_ip, ip4("172.16.0.2"));
	assert_int_equal(g->remotes[0].gateway_port, 15443);
	assert_locality(&g->remotes[0].gateway_locality, "net2", "eu-west1", "eu-west1-b", "", "");
	assert_int_equal(g->remotes[0].n_manifests, 1);
	snprintf(path, sizeof(path), "%s/remote/c2-dump.yaml", fixdir);
	assert_string_equal(g->remotes[0].manifests[0], path);
	/* c3: no network of its own (flat with c1), no gateway. */
	assert_string_equal(g->remotes[1].network, "net1");
	assert_int_equal(g->remotes[1].gateway_ip, 0);
	assert_int_equal(g->remotes[1].gateway_port, 15008);
	/* The gateway's locality comes from its Node, found in a manifest. */
	assert_true(g->locality_from_node);
	assert_locality(&g->locality, "net1", "us-east1", "us-east1-a", "rack7", "node-1a");
	mg_conf_free(c);
}

static void
test_gateway_locality_from_spec(void **state)
{
	struct mg_conf *c = must_load_str(GW_HEAD
		"  network: n1\n"
		"  nodeName: N1\n"
		"  locality: {region: r9, zone: z9}\n"
		"---\n"
		"{apiVersion: v1, kind: Node, metadata: {name: N1, labels: {topology.kubernetes.io/region: r1}}}\n");

	assert_false(c->gw.locality_from_node);
	assert_locality(&c->gw.locality, "n1", "r9", "z9", "", "N1");
	mg_conf_free(c);
	/* A nodeName without a Node: no locality, and not an error. */
	c = must_load_str(GW_HEAD "  nodeName: N1\n");
	assert_false(c->gw.locality_from_node);
	assert_locality(&c->gw.locality, "", "", "", "", "N1");
	mg_conf_free(c);
}

/* ---- Kubernetes and Istio objects ------------------------------------------- */

static void
test_kubectl_dump_local(void **state)
{
	struct mg_conf *c = must_load_fixture("gateway.yaml");
	const struct mg_conf_node *nd;
	const struct mg_conf_namespace *ns;
	const struct mg_conf_service *s;
	const struct mg_conf_endpoint *e;
	char path[PATH_MAX + 64];

	/* Nodes: 2 local + 1 of c2; the Pod and the knative Service are ignored. */
	assert_int_equal(c->n_nodes, 3);
	nd = mg_conf_find_node(c, "", "node-1a");
	assert_non_null(nd);
	assert_locality(&nd->locality, "", "us-east1", "us-east1-a", "rack7", "node-1a");
	snprintf(path, sizeof(path), "%s/k8s-dump.yaml", fixdir);
	assert_string_equal(nd->src.file, path);
	assert_int_equal(nd->src.line, 5);
	assert_null(mg_conf_find_node(c, "", "node-2a"));
	assert_non_null(mg_conf_find_node(c, "c2", "node-2a"));
	assert_non_null(mg_conf_find_node(c, NULL, "node-1b"));

	ns = mg_conf_find_namespace(c, "", "shop");
	assert_non_null(ns);
	assert_string_equal(ns->traffic_distribution, "PreferSameNode");
	assert_string_equal(ns->service_scope, "global");
	assert_non_null(mg_conf_find_namespace(c, "c2", "shop"));
	assert_null(mg_conf_find_namespace(c, "", "default"));

	/* Service web: IPv6 clusterIP skipped, SCTP port skipped, named targetPort. */
	assert_int_equal(c->n_services, 5);
	s = find_svc(c, "", "shop", "web", false);
	assert_int_equal(s->n_vips, 1);
	assert_int_equal(s->vips[0], ip4("10.96.10.10"));
	assert_int_equal(s->n_ports, 3);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].target_port, 0);
	assert_string_equal(s->ports[0].target_port_name, "http-alt");
	assert_int_equal(s->ports[1].target_port, 9091);
	assert_string_equal(s->ports[1].target_port_name, "");
	assert_int_equal(s->ports[1].proto, MG_PROTO_TCP);
	assert_string_equal(s->ports[2].name, "dns");
	assert_int_equal(s->ports[2].proto, MG_PROTO_UDP);
	assert_string_equal(s->traffic_distribution_spec, "PreferClose");
	assert_true(s->has_traffic_distribution_annot);
	assert_string_equal(s->traffic_distribution_annot, "");
	assert_false(s->internal_traffic_local);
	assert_true(s->publish_not_ready);
	assert_string_equal(s->service_scope, "segment");
	assert_true(s->service_takeover);
	assert_int_equal(s->n_annotations, 1);
	assert_string_equal(s->annotations[0][0], "meshgate.io/max-connections");
	assert_string_equal(s->annotations[0][1], "50");
	assert_false(s->is_service_entry);

	/* Headless, namespace defaulted, scope from a label, Local policy. */
	s = find_svc(c, "", "default", "headless", false);
	assert_int_equal(s->n_vips, 0);
	assert_int_equal(s->ports[0].port, 5432);
	assert_true(s->internal_traffic_local);
	assert_string_equal(s->service_scope, "cluster");
	assert_false(s->has_traffic_distribution_annot);

	/* EndpointSlice: one endpoint per address; the IPv6 slice is skipped. */
	e = find_ep(c, "10.20.1.11");
	assert_string_equal(e->service, "web");
	assert_string_equal(e->ns, "shop");
	assert_string_equal(e->cluster, "");
	assert_true(e->ready);
	assert_false(e->is_workload_entry);
	assert_int_equal(e->weight, 1);
	assert_int_equal(e->n_ports, 2);
	assert_string_equal(e->ports[0].name, "http-alt");
	assert_int_equal(e->ports[0].port, 8080);
	assert_int_equal(e->ports[1].port, 9091);
	assert_int_equal(e->src.line, 148);
	e = find_ep(c, "10.20.1.12");
	assert_false(e->ready);                 /* conditions.ready: false */
	assert_string_equal(e->hostname, "web-1");
	assert_true(find_ep(c, "10.20.1.13")->ready); /* no conditions: ready */
	assert_true(find_ep(c, "10.20.1.14")->ready);
	mg_conf_free(c);
}

static void
test_istio_objects(void **state)
{
	struct mg_conf *c = must_load_fixture("gateway.yaml");
	const struct mg_conf_service *s;
	const struct mg_conf_endpoint *e;

	s = find_svc(c, "", "shop", "legacy-db", true);
	assert_int_equal(s->n_hosts, 1);
	assert_string_equal(s->hosts[0], "db.legacy.internal");
	assert_int_equal(s->n_vips, 2);
	assert_int_equal(s->vips[1], ip4("240.240.0.6"));
	assert_int_equal(s->n_ports, 2);
	assert_int_equal(s->ports[0].port, 5432);
	assert_int_equal(s->ports[0].target_port, 15432);
	assert_string_equal(s->ports[0].name, "tcp-pg");
	assert_int_equal(s->ports[1].proto, MG_PROTO_UDP);
	assert_false(s->resolution_none);
	assert_int_equal(s->n_workload_selector, 1);
	assert_string_equal(s->workload_selector[0][0], "app");
	assert_string_equal(s->workload_selector[0][1], "legacy-db");
	assert_true(s->has_traffic_distribution_annot);
	assert_string_equal(s->traffic_distribution_annot, "PreferNetwork");

	/* No resolution given: Istio's default, NONE; namespace defaulted. */
	s = find_svc(c, "", "default", "passthrough", true);
	assert_true(s->resolution_none);
	assert_int_equal(s->n_vips, 0);

	/* The inline endpoint belongs to the ServiceEntry; the DNS one is skipped. */
	e = find_ep(c, "10.30.0.21");
	assert_string_equal(e->service, "legacy-db");
	assert_string_equal(e->ns, "shop");
	assert_int_equal(e->weight, 3);
	assert_int_equal(e->n_ports, 2);
	assert_string_equal(e->ports[0].name, "tcp-pg");
	assert_int_equal(e->ports[0].port, 5433);
	assert_int_equal(e->ports[0].proto, MG_PROTO_TCP);
	assert_int_equal(e->ports[1].proto, MG_PROTO_UDP);
	assert_int_equal(e->n_labels, 1);
	assert_string_equal(e->labels[0][0], "version");
	assert_string_equal(e->labels[0][1], "v2");

	/* WorkloadEntry: no service, its own network and locality, weight 1. */
	e = find_ep(c, "10.30.0.31");
	assert_true(e->is_workload_entry);
	assert_string_equal(e->service, "");
	assert_string_equal(e->hostname, "vm-1");
	assert_int_equal(e->weight, 1);
	assert_int_equal(e->n_labels, 2);
	assert_string_equal(e->labels[1][0], "tier");
	assert_int_equal(e->n_ports, 1);
	assert_int_equal(e->ports[0].port, 5432);
	assert_int_equal(c->n_endpoints, 8);
	mg_conf_free(c);
}

static void
test_remote_cluster_objects(void **state)
{
	struct mg_conf *c = must_load_fixture("gateway.yaml");
	const struct mg_conf_service *s = find_svc(c, "c2", "shop", "web", false);
	const struct mg_conf_endpoint *e;

	assert_int_equal(s->vips[0], ip4("10.100.10.10"));
	assert_string_equal(s->service_scope, "global");
	e = find_ep(c, "10.40.0.11");
	assert_string_equal(e->cluster, "c2");
	assert_string_equal(e->service, "web");
	e = find_ep(c, "10.50.0.7");   /* from a directory of manifests */
	assert_string_equal(e->cluster, "c3");
	assert_true(e->is_workload_entry);
	assert_int_equal(e->weight, 7);
	mg_conf_free(c);
}

/* ---- locality resolution ------------------------------------------------------ */

static void
test_locality_resolution(void **state)
{
	struct mg_conf *c = must_load_fixture("gateway.yaml");

	/* Node labels, nodeName kept, network of the local cluster. */
	assert_locality(&find_ep(c, "10.20.1.11")->locality, "net1", "us-east1", "us-east1-a",
			"rack7", "node-1a");
	assert_locality(&find_ep(c, "10.20.1.12")->locality, "net1", "us-east1", "us-east1-b",
			"", "node-1b");
	/* Unknown Node: the slice's zone. */
	assert_locality(&find_ep(c, "10.20.1.13")->locality, "net1", "", "us-east1-c", "",
			"node-unknown");
	/* ServiceEntry endpoint: its locality; cluster network. */
	assert_locality(&find_ep(c, "10.30.0.21")->locality, "net1", "us-east1", "us-east1-c",
			"rack1", "");
	/* WorkloadEntry: its own network and locality. */
	assert_locality(&find_ep(c, "10.30.0.31")->locality, "vm-net", "us-east1", "us-east1-d",
			"", "");
	/* Behind c2's east-west gateway: the gateway's labels, not node-2a's. */
	assert_locality(&find_ep(c, "10.40.0.11")->locality, "net2", "eu-west1", "eu-west1-b",
			"", "node-2a");
	/* c3, flat network: the WorkloadEntry keeps its own locality. */
	assert_locality(&find_ep(c, "10.50.0.7")->locality, "net1", "ap-south1", "ap-south1-a",
			"rack9", "");
	mg_conf_free(c);
}

static void
test_locality_node_beats_slice_zone(void **state)
{
	struct mg_conf *c = must_load_str(GW_HEAD
		"  network: n1\n"
		"---\n"
		"{apiVersion: v1, kind: Node, metadata: {name: N1, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1}}}\n"
		"---\n"
		"{apiVersion: v1, kind: Node, metadata: {name: N2, labels: {topology.kubernetes.io/region: r2}}}\n"
		"---\n"
		"apiVersion: discovery.k8s.io/v1\n"
		"kind: EndpointSlice\n"
		"metadata: {name: s, labels: {kubernetes.io/service-name: web}}\n"
		"addressType: IPv4\n"
		"endpoints:\n"
		"- {addresses: [10.0.0.5], nodeName: N1, zone: zX}\n"
		"- {addresses: [10.0.0.6], nodeName: N2, zone: zY}\n");

	assert_locality(&find_ep(c, "10.0.0.5")->locality, "n1", "r1", "z1", "", "N1");
	/* The Node has no zone label: the slice's zone fills in. */
	assert_locality(&find_ep(c, "10.0.0.6")->locality, "n1", "r2", "zY", "", "N2");
	assert_string_equal(find_ep(c, "10.0.0.6")->ns, "default");
	assert_int_equal(find_ep(c, "10.0.0.6")->n_ports, 0);
	mg_conf_free(c);
}

static void
test_remote_network_and_workload_network(void **state)
{
	/* A remote on another network, with a gateway; one WorkloadEntry there
	 * says it is on the local network (flat): it keeps its own locality. */
	char yaml[2048];
	struct mg_conf *c;

	snprintf(yaml, sizeof(yaml), GW_HEAD
		 "  network: n1\n"
		 "  remoteClusters:\n"
		 "  - name: east\n"
		 "    network: n2\n"
		 "    eastWestGateway: {address: 192.0.2.1, locality: {region: rE, zone: zE, subzone: sE}}\n"
		 "    manifests: [remote/east.yaml]\n");
	c = must_load_str(yaml);
	assert_int_equal(c->gw.remotes[0].gateway_port, 15008);
	assert_locality(&find_ep(c, "10.60.0.1")->locality, "n2", "rE", "zE", "sE", "");
	assert_locality(&find_ep(c, "10.60.0.2")->locality, "n1", "rW", "zW", "", "");
	assert_string_equal(find_ep(c, "10.60.0.2")->cluster, "east");
	mg_conf_free(c);
}

/* ---- errors --------------------------------------------------------------------- */

static void
test_error_values(void **state)
{
	expect_error(GW_HEAD "  connect: {timeout: 5x}\n",
		     "t.yaml:7: MeshGateway.spec.connect.timeout: invalid duration \"5x\" (use e.g. 500ms, 30s, 5m, 1h)");
	expect_error(GW_HEAD "  connect:\n    timeout: 0s\n",
		     "t.yaml:8: MeshGateway.spec.connect.timeout: duration \"0s\" is too short (at least 1ms)");
	expect_error(GW_HEAD "  connect: {maxAttempts: 9}\n",
		     "t.yaml:7: MeshGateway.spec.connect.maxAttempts: 9 is out of range (1..8)");
	expect_error(GW_HEAD "  connect: {maxAttempts: three}\n",
		     "t.yaml:7: MeshGateway.spec.connect.maxAttempts: expected an integer, got \"three\"");
	expect_error(GW_HEAD "  outlierDetection: {enabled: yes}\n",
		     "t.yaml:7: MeshGateway.spec.outlierDetection.enabled: expected true or false, got \"yes\"");
	expect_error(GW_HEAD "  outlierDetection: {ewmaAlpha: 1.5}\n",
		     "t.yaml:7: MeshGateway.spec.outlierDetection.ewmaAlpha: 1.5 is out of range (0.001..1)");
	expect_error(GW_HEAD "  outlierDetection:\n    baseEjectionTime: 10m\n    maxEjectionTime: 1m\n",
		     "t.yaml:9: MeshGateway.spec.outlierDetection.maxEjectionTime: shorter than baseEjectionTime (60000ms < 600000ms)");
	expect_error(GW_HEAD "  healthCheck: {interval: 1s, timeout: 2s}\n",
		     "t.yaml:7: MeshGateway.spec.healthCheck.timeout: longer than the interval (2000ms > 1000ms)");
	expect_error(GW_HEAD "  synFlood: {cookies: sometimes}\n",
		     "t.yaml:7: MeshGateway.spec.synFlood.cookies: \"sometimes\" is not one of auto, always, off");
	expect_error(GW_HEAD "  synFlood: {maxHalfOpen: 0}\n",
		     "t.yaml:7: MeshGateway.spec.synFlood.maxHalfOpen: 0 is out of range (1..16777216)");
	expect_error(GW_HEAD "  flowTable: {size: 2048, maxHalfOpen: 4096}\n",
		     "t.yaml:7: MeshGateway.spec.flowTable.maxHalfOpen: unknown field");
	expect_error(GW_HEAD "  flowTable: {size: 100}\n",
		     "t.yaml:7: MeshGateway.spec.flowTable.size: 100 is out of range (1024..16777216)");
	expect_error(GW_HEAD "  snat: {portRange: 70000-1}\n",
		     "t.yaml:7: MeshGateway.spec.snat.portRange: invalid port range (expected LOW-HIGH within 1-65535, e.g. 1024-65535)");
	expect_error(GW_HEAD "  snat: {portRange: 3000-2000}\n",
		     "t.yaml:7: MeshGateway.spec.snat.portRange: invalid port range (expected LOW-HIGH within 1-65535, e.g. 1024-65535)");
	/* MG_MAX_SNAT addresses load (10M flows per node need 156), one more does not. */
	{
		static char yaml[16384];
		size_t k = (size_t)snprintf(yaml, sizeof(yaml), "%s  snat:\n    addresses:\n", GW_HEAD);
		struct mg_conf *c;

		for (int i = 0; i < MG_MAX_SNAT; i++)
			k += (size_t)snprintf(yaml + k, sizeof(yaml) - k, "    - 10.30.%d.%d\n", i / 200,
					      1 + i % 200);
		c = must_load_str(yaml);
		assert_int_equal(c->gw.n_snat, MG_MAX_SNAT);
		mg_conf_free(c);
		snprintf(yaml + k, sizeof(yaml) - k, "    - 10.31.0.1\n");
		char err[512];

		assert_null(load_str(yaml, err, sizeof(err)));
		assert_non_null(strstr(err, "too many addresses (at most 256)"));
	}
	expect_error(GW_HEAD "  snat: {addresses: [10.0.0.5, 10.0.0.300]}\n",
		     "t.yaml:7: MeshGateway.spec.snat.addresses[1]: invalid IPv4 address \"10.0.0.300\"");
	expect_error(GW_HEAD "  snat: {addresses: [10.0.0.5/24]}\n",
		     "t.yaml:7: MeshGateway.spec.snat.addresses[0]: invalid IPv4 address \"10.0.0.5/24\" (no prefix length here)");
	expect_error(GW_HEAD "  defaultTrafficDistribution: Closest\n",
		     "t.yaml:7: MeshGateway.spec.defaultTrafficDistribution: unknown traffic distribution \"Closest\" (expected Any, PreferNetwork, PreferRegion, PreferClose, PreferSameZone or PreferSameNode)");
	expect_error(GW_HEAD "  neighbourTimeout: [1s]\n",
		     "t.yaml:7: MeshGateway.spec.neighbourTimeout: expected a duration, got a list");
	expect_error(GW_HEAD "  connect: 5s\n",
		     "t.yaml:7: MeshGateway.spec.connect: expected a mapping, got a scalar");
}

static void
test_error_ports_and_routes(void **state)
{
	expect_error(GW_HEAD "  - {name: q, device: net_null1, address: 10.0.0.256/24}\n",
		     "t.yaml:7: MeshGateway.spec.ports[1].address: invalid IPv4 prefix \"10.0.0.256/24\"");
	expect_error(GW_HEAD "  - name: q\n    address: 10.1.0.1/24\n",
		     "t.yaml:7: MeshGateway.spec.ports[1].device: missing required field");
	expect_error(GW_HEAD "  - {name: q, device: net_null1}\n",
		     "t.yaml:7: MeshGateway.spec.ports[1].address: missing required field");
	expect_error(GW_HEAD "  - {name: p, device: net_null1, address: 10.1.0.1/24}\n",
		     "t.yaml:7: MeshGateway.spec.ports[1].name: duplicate port name \"p\" (also ports[0])");
	expect_error(GW_HEAD "  - {device: net_null1, address: 10.1.0.1/24, mtu: 40}\n",
		     "t.yaml:7: MeshGateway.spec.ports[1].mtu: 40 is out of range (68..65535)");
	expect_error("apiVersion: meshgate.io/v1alpha1\nkind: MeshGateway\nspec:\n  network: n\n",
		     "t.yaml:4: MeshGateway.spec.ports: at least one port is required");
	expect_error("apiVersion: meshgate.io/v1alpha1\nkind: MeshGateway\nmetadata: {name: g}\n",
		     "t.yaml:1: MeshGateway.spec: missing required field");
	expect_error(GW_HEAD "  routes:\n  - destination: 10.9.0.0/16\n    port: nope\n",
		     "t.yaml:9: MeshGateway.spec.routes[0].port: no port named \"nope\"");
	expect_error(GW_HEAD "  routes:\n  - {destination: 10.9.0.1/16, gateway: 10.0.0.254}\n",
		     "t.yaml:8: MeshGateway.spec.routes[0].destination: prefix has host bits set (did you mean 10.9.0.0/16?)");
	expect_error(GW_HEAD "  routes:\n  - {destination: 10.9.0.0/16}\n",
		     "t.yaml:8: MeshGateway.spec.routes[0]: needs a gateway or a port");
	expect_error(GW_HEAD "  routes:\n  - {gateway: 10.0.0.254}\n",
		     "t.yaml:8: MeshGateway.spec.routes[0].destination: missing required field");
	expect_error(GW_HEAD "  routes:\n  - {destination: 10.9.0.0/16, gateway: 10.0.0.254/24}\n",
		     "t.yaml:8: MeshGateway.spec.routes[0].gateway: invalid IPv4 address \"10.0.0.254/24\" (no prefix length here)");
}

static void
test_error_unknown_fields(void **state)
{
	expect_error(GW_HEAD "  connect: {timout: 1s}\n",
		     "t.yaml:7: MeshGateway.spec.connect.timout: unknown field");
	expect_error(GW_HEAD "  flowTable:\n    timeouts:\n      synrecv: 1s\n",
		     "t.yaml:9: MeshGateway.spec.flowTable.timeouts.synrecv: unknown field");
	expect_error(GW_HEAD "  clusterName: x\n",
		     "t.yaml:7: MeshGateway.spec.clusterName: unknown field");
	expect_error(GW_HEAD "  - {name: q, device: d, address: 10.1.0.1/24, speed: 10G}\n",
		     "t.yaml:7: MeshGateway.spec.ports[1].speed: unknown field");
	expect_error(GW_HEAD "  remoteClusters:\n  - name: r\n    eastWestGateway: {address: 1.2.3.4, hostname: x}\n",
		     "t.yaml:9: MeshGateway.spec.remoteClusters[0].eastWestGateway.hostname: unknown field");
	/* Unknown fields of Kubernetes objects are ignored. */
	mg_conf_free(must_load_str(GW_DOC
		"apiVersion: v1\nkind: Node\nmetadata: {name: n, frobnicate: 1}\nspec: {x: y}\nstatus: {z: 1}\n"));
}

static void
test_error_remote_clusters(void **state)
{
	char expect[PATH_MAX + 256];

	expect_error(GW_HEAD "  remoteClusters:\n  - {network: n2}\n",
		     "t.yaml:8: MeshGateway.spec.remoteClusters[0].name: missing required field");
	expect_error(GW_HEAD "  remoteClusters:\n  - {name: a}\n  - {name: a}\n",
		     "t.yaml:9: MeshGateway.spec.remoteClusters[1].name: duplicate cluster name \"a\" (also remoteClusters[0])");
	expect_error(GW_HEAD "  cluster: c1\n  remoteClusters:\n  - {name: c1}\n",
		     "t.yaml:9: MeshGateway.spec.remoteClusters[0].name: \"c1\" is the local cluster's name");
	expect_error(GW_HEAD "  remoteClusters:\n  - name: a\n    eastWestGateway: {port: 15443}\n",
		     "t.yaml:9: MeshGateway.spec.remoteClusters[0].eastWestGateway.address: missing required field");
	expect_error(GW_HEAD "  remoteClusters:\n  - name: a\n    eastWestGateway: {address: 1.2.3.4, port: 0}\n",
		     "t.yaml:9: MeshGateway.spec.remoteClusters[0].eastWestGateway.port: 0 is out of range (1..65535)");
	/* A MeshGateway in a remote cluster's manifests. */
	snprintf(expect, sizeof(expect),
		 "%s/gateway.yaml:3: MeshGateway: not allowed in the manifests of remote cluster \"r\"",
		 fixdir);
	expect_error(GW_HEAD "  remoteClusters:\n  - {name: r, manifests: [gateway.yaml]}\n", expect);
}

static void
test_error_k8s_objects(void **state)
{
	expect_error(GW_DOC "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
		     "spec:\n  ports:\n  - {name: http, port: 70000}\n",
		     "t.yaml:13: Service demo/web spec.ports[0].port: 70000 is out of range (1..65535)");
	expect_error(GW_DOC "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
		     "spec:\n  ports:\n  - {name: http}\n",
		     "t.yaml:13: Service demo/web spec.ports[0].port: missing required field");
	expect_error(GW_DOC "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
		     "spec:\n  ports:\n  - {port: 80, targetPort: 0}\n",
		     "t.yaml:13: Service default/web spec.ports[0].targetPort: 0 is out of range (1..65535)");
	expect_error(GW_DOC "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
		     "spec:\n  ports:\n  - {port: 80, protocol: ICMP}\n",
		     "t.yaml:13: Service default/web spec.ports[0].protocol: unknown protocol (expected TCP, UDP or SCTP)");
	expect_error(GW_DOC "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
		     "spec:\n  clusterIP: 10.96.0.1000\n",
		     "t.yaml:12: Service default/web spec.clusterIP: invalid IPv4 address \"10.96.0.1000\"");
	expect_error(GW_DOC "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
		     "spec:\n  publishNotReadyAddresses: maybe\n",
		     "t.yaml:12: Service default/web spec.publishNotReadyAddresses: expected true or false, got \"maybe\"");
	expect_error(GW_DOC "apiVersion: v1\nkind: Service\nmetadata: {namespace: demo}\n",
		     "t.yaml:10: Service metadata.name: missing required field");
	expect_error(GW_DOC "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		     "metadata: {name: s, namespace: d, labels: {kubernetes.io/service-name: web}}\n"
		     "addressType: IPv4\nendpoints:\n- addresses: [10.1.1.1, 10.1.1]\n",
		     "t.yaml:13: EndpointSlice d/s endpoints[0].addresses[1]: invalid IPv4 address \"10.1.1\"");
	expect_error(GW_DOC "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		     "metadata: {name: s, namespace: d, labels: {kubernetes.io/service-name: web}}\n"
		     "addressType: IPv4\nendpoints:\n- addresses: [10.1.1.1]\n  conditions: {ready: 1}\n",
		     "t.yaml:14: EndpointSlice d/s endpoints[0].conditions.ready: expected true or false, got \"1\"");
	expect_error(GW_DOC "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		     "metadata: {name: s, namespace: d, labels: {kubernetes.io/service-name: web}}\n"
		     "endpoints: []\n",
		     "t.yaml:8: EndpointSlice d/s addressType: missing required field");
	expect_error(GW_DOC "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		     "metadata: {name: s, namespace: d, labels: {kubernetes.io/service-name: web}}\n"
		     "addressType: IPv4\nendpoints:\n- {nodeName: n}\n",
		     "t.yaml:13: EndpointSlice d/s endpoints[0].addresses: missing required field");
	expect_error(GW_DOC "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
		     "metadata: {name: w}\nspec:\n  address: 10.2.0.1\n  locality: a/b/c/d\n",
		     "t.yaml:13: WorkloadEntry default/w spec.locality: expected region/zone/subzone");
	expect_error(GW_DOC "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
		     "metadata: {name: w}\nspec:\n  address: 10.2.0.1\n  ports: {http: 99999}\n",
		     "t.yaml:13: WorkloadEntry default/w spec.ports[http]: 99999 is out of range (1..65535)");
	expect_error(GW_DOC "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
		     "metadata: {name: w}\nspec:\n  address: 10.2.0.999\n",
		     "t.yaml:12: WorkloadEntry default/w spec.address: invalid IPv4 address \"10.2.0.999\"");
	expect_error(GW_DOC "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		     "metadata: {name: se, namespace: x}\nspec:\n  addresses: [10.5.0.0/24]\n",
		     "t.yaml:12: ServiceEntry x/se spec.addresses[0]: address ranges are not supported (only single addresses, /32)");
	expect_error(GW_DOC "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		     "metadata: {name: se, namespace: x}\nspec:\n  ports: [{name: p}]\n",
		     "t.yaml:12: ServiceEntry x/se spec.ports[0].number: missing required field");
	expect_error(GW_DOC "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		     "metadata: {name: se, namespace: x}\nspec:\n  resolution: DNS_MAGIC\n",
		     "t.yaml:12: ServiceEntry x/se spec.resolution: unknown resolution \"DNS_MAGIC\" (expected NONE, STATIC, DNS or DNS_ROUND_ROBIN)");
	expect_error(GW_DOC "apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: {name: s}\n",
		     "t.yaml:8: EndpointSlice apiVersion: unsupported version \"discovery.k8s.io/v1beta1\" (meshgate reads discovery.k8s.io/v1)");
	expect_error("apiVersion: meshgate.io/v1\nkind: MeshGateway\nspec: {}\n",
		     "t.yaml:1: MeshGateway.apiVersion: unsupported apiVersion (expected meshgate.io/v1alpha1)");
	expect_error(GW_DOC "metadata: {name: x}\nspec: {}\n",
		     "t.yaml:8: kind: missing required field (not a Kubernetes object?)");
	expect_error(GW_DOC "kind: Node\nmetadata: {name: x}\n",
		     "t.yaml:8: apiVersion: missing required field");
	expect_error(GW_DOC "- just\n- a list\n",
		     "t.yaml:8: document: expected a mapping (a Kubernetes object), got a list");
	expect_error(GW_DOC "apiVersion: v1\nkind: List\nitems:\n- 42\n",
		     "t.yaml:11: items[0]: expected a mapping, got a scalar");
}

static void
test_error_too_long_and_capacity(void **state)
{
	char yaml[8192], expect[512];
	char longname[80];
	int n;

	memset(longname, 'a', 64);
	longname[64] = '\0';
	snprintf(yaml, sizeof(yaml), GW_DOC "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n",
		 longname);
	expect_error(yaml, "t.yaml:11: Service metadata.name: too long (at most 63 characters)");
	snprintf(yaml, sizeof(yaml), GW_DOC "apiVersion: v1\nkind: Node\nmetadata:\n  name: n\n"
		 "  labels: {topology.kubernetes.io/zone: %s}\n", longname);
	expect_error(yaml, "t.yaml:12: Node n metadata.labels[topology.kubernetes.io/zone]: too long (at most 63 characters)");
	snprintf(yaml, sizeof(yaml), GW_HEAD "  network: %s\n", longname);
	expect_error(yaml, "t.yaml:7: MeshGateway.spec.network: too long (at most 63 characters)");

	/* 17 ports: one more than MG_MAX_PORTS. */
	n = snprintf(yaml, sizeof(yaml), GW_HEAD);
	for (int i = 1; i <= MG_MAX_PORTS; i++)
		n += snprintf(yaml + n, sizeof(yaml) - n,
			      "  - {device: d%d, address: 10.%d.0.1/24}\n", i, i);
	snprintf(expect, sizeof(expect),
		 "t.yaml:%d: MeshGateway.spec.ports[%d]: too many ports (at most %d)",
		 6 + MG_MAX_PORTS, MG_MAX_PORTS, MG_MAX_PORTS);
	expect_error(yaml, expect);

	/* Five addresses on a Service: one more than MG_MAX_VIPS. */
	expect_error(GW_DOC "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
		     "  clusterIPs: [10.96.0.1, 10.96.0.2, 10.96.0.3, 10.96.0.4, 10.96.0.5]\n",
		     "t.yaml:12: Service default/web spec.clusterIPs[4]: too many addresses (at most 4)");

	/* 17 ports on a slice. */
	n = snprintf(yaml, sizeof(yaml), GW_DOC "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		     "metadata: {name: s, labels: {kubernetes.io/service-name: web}}\n"
		     "addressType: IPv4\nports:\n");
	for (int i = 0; i <= MG_MAX_SVC_PORTS; i++)
		n += snprintf(yaml + n, sizeof(yaml) - n, "- {port: %d}\n", 1000 + i);
	snprintf(expect, sizeof(expect),
		 "t.yaml:%d: EndpointSlice default/s ports[%d]: too many ports (at most %d)",
		 13 + MG_MAX_SVC_PORTS, MG_MAX_SVC_PORTS, MG_MAX_SVC_PORTS);
	expect_error(yaml, expect);

	/* Nine meshgate.io/ annotations. */
	n = snprintf(yaml, sizeof(yaml), GW_DOC "apiVersion: v1\nkind: Service\nmetadata:\n"
		     "  name: web\n  annotations:\n");
	for (int i = 0; i < 9; i++)
		n += snprintf(yaml + n, sizeof(yaml) - n, "    meshgate.io/k%d: v\n", i);
	expect_error(yaml, "t.yaml:21: Service default/web metadata.annotations[meshgate.io/k8]: too many meshgate.io/ annotations (at most 8)");
}

static void
test_error_gateway_count_and_duplicates(void **state)
{
	char expect[PATH_MAX + 256];

	expect_error("", "t.yaml: MeshGateway: missing (exactly one meshgate.io/v1alpha1 MeshGateway is required)");
	expect_error("apiVersion: v1\nkind: Node\nmetadata: {name: n}\n",
		     "t.yaml: MeshGateway: missing (exactly one meshgate.io/v1alpha1 MeshGateway is required)");
	expect_error(GW_DOC GW_HEAD,
		     "t.yaml:8: MeshGateway: a second MeshGateway (the first is at t.yaml:1); exactly one is allowed");
	/* A manifest that holds a second MeshGateway. */
	snprintf(expect, sizeof(expect),
		 "%s/gateway.yaml:3: MeshGateway: a second MeshGateway (the first is at t.yaml:1); exactly one is allowed",
		 fixdir);
	expect_error(GW_HEAD "  manifests: [gateway.yaml]\n", expect);
	expect_error(GW_DOC "{apiVersion: v1, kind: Namespace, metadata: {name: a}}\n---\n"
		     "{apiVersion: v1, kind: Namespace, metadata: {name: a}}\n",
		     "t.yaml:10: Namespace a: defined twice (first at t.yaml:8)");
	/* Same name, different kinds or clusters: fine. */
	mg_conf_free(must_load_str(GW_DOC "{apiVersion: v1, kind: Service, metadata: {name: a}}\n---\n"
		"{apiVersion: networking.istio.io/v1, kind: ServiceEntry, metadata: {name: a}}\n"));
}

static void
test_error_yaml_and_files(void **state)
{
	char path[PATH_MAX + 64], expect[2 * PATH_MAX + 256], err[MG_CONF_ERR_LEN];

	expect_error(GW_HEAD "  network: [n1\n", "t.yaml:8: YAML: flow sequence without a closing bracket");
	expect_error(GW_HEAD "  network: n1\n  network: n2\n", "t.yaml:8: YAML: duplicate key");
	expect_error(GW_HEAD "  cluster: \"c1\n", "t.yaml:7: YAML: double-quoted scalar without closing quote");
	expect_error("a: b: c\n", "t.yaml:1: YAML: invalid nested block mapping on the same line");
	/* Not UTF-8: refused before libfyaml, which loops forever on a directive
	 * name holding such a byte (found by fuzz_conf). */
	expect_error("%\xbe:\xc8", "t.yaml:1: YAML: not UTF-8 text");
	expect_error("# ok\n%a\xbe\n", "t.yaml:2: YAML: not UTF-8 text");
	expect_error(GW_HEAD "  network: \xc0\xaf\n", "t.yaml:7: YAML: not UTF-8 text");      /* overlong */
	expect_error(GW_HEAD "  network: \xed\xa0\x80\n", "t.yaml:7: YAML: not UTF-8 text"); /* surrogate */
	expect_error(GW_HEAD "  network: n\xc3\n", "t.yaml:7: YAML: not UTF-8 text");    /* truncated */
	/* Nor control characters: libfyaml crashed on a NUL after a tab (fuzz_conf). */
	{
		char err[MG_CONF_ERR_LEN];

		assert_null(mg_conf_load_string("? 1:\t\0", 6, "t.yaml", fixdir, err, sizeof(err)));
		assert_string_equal(err, "t.yaml:1: YAML: control character 0x00");
	}
	expect_error("a: 1\nb: \x01\n", "t.yaml:2: YAML: control character 0x01");
	expect_error("a: \x7f\n", "t.yaml:1: YAML: control character 0x7f");
	mg_conf_free(must_load_str("# tab\tand CR\r\n" GW_HEAD "  network: n1\r\n"));
	mg_conf_free(must_load_str("# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n" GW_HEAD "  network: n1\n"));

	/* A file that does not exist. */
	snprintf(path, sizeof(path), "%s/no-such-file.yaml", fixdir);
	snprintf(expect, sizeof(expect), "%s: cannot open: No such file or directory", path);
	assert_null(mg_conf_load_file(path, err, sizeof(err)));
	assert_string_equal(err, expect);

	/* A manifest that does not exist: named by the MeshGateway. */
	snprintf(expect, sizeof(expect),
		 "%s/missing.yaml: cannot open: No such file or directory (named by t.yaml:9 MeshGateway.spec.manifests[1])",
		 fixdir);
	expect_error(GW_HEAD "  manifests:\n  - k8s-dump.yaml\n  - missing.yaml\n", expect);
	snprintf(expect, sizeof(expect),
		 "%s/remote/nope: cannot open: No such file or directory (named by t.yaml:8 MeshGateway.spec.remoteClusters[0].manifests[0])",
		 fixdir);
	expect_error(GW_HEAD "  remoteClusters:\n  - {name: r, manifests: [remote/nope]}\n", expect);

	/* A syntax error inside a manifest names that file. */
	snprintf(expect, sizeof(expect), "%s/broken.yaml:4: YAML: duplicate key", fixdir);
	expect_error(GW_HEAD "  manifests: [broken.yaml]\n", expect);
}

/* The CLI's run-time settings: the loader's names, ranges and cross checks. */
static void
test_gw_set_params(void **state)
{
	struct mg_conf_gateway g;
	char err[MG_CONF_ERR_LEN], names[256];

	memset(&g, 0, sizeof(g));
	g.outlier.base_ejection_ms = 30000;
	g.outlier.max_ejection_ms = 300000;
	g.healthcheck.interval_ms = 5000;
	g.healthcheck.timeout_ms = 1000;
	assert_int_equal(mg_conf_gw_set(&g, "outlier", "consecutiveFailures", "7", err, sizeof(err)), 0);
	assert_int_equal(g.outlier.consecutive_failures, 7);
	assert_int_equal(mg_conf_gw_set(&g, "outlier", "baseEjectionTime", "2s", err, sizeof(err)), 0);
	assert_int_equal(g.outlier.base_ejection_ms, 2000);
	assert_int_equal(mg_conf_gw_set(&g, "outlier", "enabled", "false", err, sizeof(err)), 0);
	assert_false(g.outlier.enabled);
	assert_int_equal(mg_conf_gw_set(&g, "outlier", "ewmaAlpha", "0.5", err, sizeof(err)), 0);
	assert_true(g.outlier.ewma_alpha == 0.5);
	assert_int_equal(mg_conf_gw_set(&g, "connect", "timeout", "250ms", err, sizeof(err)), 0);
	assert_int_equal(g.connect_timeout_ms, 250);
	assert_int_equal(mg_conf_gw_set(&g, "circuit", "maxConnections", "100", err, sizeof(err)), 0);
	assert_int_equal(g.circuit.max_connections, 100);
	assert_int_equal(mg_conf_gw_set(&g, "synflood", "cookies", "always", err, sizeof(err)), 0);
	assert_string_equal(g.synflood.cookies, "always");
	assert_int_equal(mg_conf_gw_set(&g, "synflood", "maxHalfOpenPerSource", "16", err, sizeof(err)), 0);
	assert_int_equal(g.synflood.max_half_open_per_source, 16);
	assert_int_equal(mg_conf_gw_set(&g, "synflood", "cookies", "maybe", err, sizeof(err)), -1);
	assert_string_equal(err, "cookies: \"maybe\" is not one of auto, always, off");
	assert_string_equal(g.synflood.cookies, "always");
	assert_int_equal(mg_conf_gw_set(&g, "synflood", "maxHalfOpen", "0", err, sizeof(err)), -1);
	/* Refused values change nothing and say why. */
	assert_int_equal(mg_conf_gw_set(&g, "outlier", "consecutiveFailures", "0", err, sizeof(err)), -1);
	assert_int_equal(g.outlier.consecutive_failures, 7);
	assert_non_null(strstr(err, "consecutiveFailures"));
	assert_int_equal(mg_conf_gw_set(&g, "outlier", "maxEjectionPercent", "101", err, sizeof(err)), -1);
	assert_int_equal(mg_conf_gw_set(&g, "outlier", "maxEjectionTime", "1s", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "shorter than baseEjectionTime"));
	assert_int_equal(g.outlier.max_ejection_ms, 300000);
	assert_int_equal(mg_conf_gw_set(&g, "healthcheck", "timeout", "10s", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than its interval"));
	assert_int_equal(mg_conf_gw_set(&g, "connect", "maxAttempts", "9", err, sizeof(err)), -1);
	assert_int_equal(mg_conf_gw_set(&g, "connect", "timeout", "soon", err, sizeof(err)), -1);
	assert_int_equal(mg_conf_gw_set(&g, "outlier", "enabled", "yes please", err, sizeof(err)), -1);
	assert_int_equal(mg_conf_gw_set(&g, "outlier", "nosuch", "1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "consecutiveFailures"));
	assert_int_equal(mg_conf_gw_set(&g, "nosuch", "x", "1", err, sizeof(err)), -1);
	assert_string_equal(mg_conf_gw_params("circuit", names, sizeof(names)),
			    "maxConnections#maxPendingConnects");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_default),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_gateway_defaults),
		cmocka_unit_test(test_gateway_all_fields),
		cmocka_unit_test(test_gateway_locality_from_spec),
		cmocka_unit_test(test_kubectl_dump_local),
		cmocka_unit_test(test_istio_objects),
		cmocka_unit_test(test_remote_cluster_objects),
		cmocka_unit_test(test_locality_resolution),
		cmocka_unit_test(test_locality_node_beats_slice_zone),
		cmocka_unit_test(test_remote_network_and_workload_network),
		cmocka_unit_test(test_error_values),
		cmocka_unit_test(test_error_ports_and_routes),
		cmocka_unit_test(test_error_unknown_fields),
		cmocka_unit_test(test_error_remote_clusters),
		cmocka_unit_test(test_error_k8s_objects),
		cmocka_unit_test(test_error_too_long_and_capacity),
		cmocka_unit_test(test_error_gateway_count_and_duplicates),
		cmocka_unit_test(test_error_yaml_and_files),
		cmocka_unit_test(test_gw_set_params),
	};

	return cmocka_run_group_tests(tests, find_fixtures, NULL);
}
