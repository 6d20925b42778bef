/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/lb: building a table from a configuration, VIP lookup,
 * weighted random picks (checked with a chi-square test), and exclusion of
 * endpoints already tried.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_ip.h>

#include "mg_test.h"
#include "mg_lb.h"

#define IP(a, b, c, d) rte_cpu_to_be_32(RTE_IPV4(a, b, c, d))

static const char *base =
	"apiVersion: meshgate.io/v1alpha1\n"
	"kind: MeshGateway\n"
	"metadata: {name: t}\n"
	"spec:\n"
	"  network: n1\n"
	"  ports: [{name: p, device: net_null0, address: 10.20.0.1/16}]\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata: {name: web, namespace: demo}\n"
	"spec:\n"
	"  clusterIP: 10.96.0.10\n"
	"  ports:\n"
	"    - {name: http, port: 80, targetPort: web}\n"
	"    - {name: admin, port: 9000, targetPort: 9001}\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\n"
	"kind: EndpointSlice\n"
	"metadata:\n"
	"  name: web-1\n"
	"  namespace: demo\n"
	"  labels: {kubernetes.io/service-name: web}\n"
	"addressType: IPv4\n"
	"ports: [{name: web, port: 8080}, {name: admin, port: 9001}]\n"
	"endpoints:\n"
	"  - addresses: [10.20.0.11]\n"
	"  - addresses: [10.20.0.12]\n"
	"  - addresses: [10.20.0.13]\n"
	"  - addresses: [10.20.0.14]\n"
	"    conditions: {ready: false}\n";

static int
resolve(void *ctx, uint32_t ip, uint16_t *port_id, uint16_t *nh, uint16_t *snat_idx)
{
	*port_id = 0;
	*nh = (uint16_t)(rte_be_to_cpu_32(ip) & 0xff);
	*snat_idx = 0;
	return 0;
}

static struct mg_lb_table *
build(const char *yaml)
{
	char err[512];
	struct mg_conf *c = mg_conf_load_string(yaml, strlen(yaml), "t.yaml", NULL, err, sizeof(err));
	static uint64_t generation;
	struct mg_lb_env env = { .resolve = resolve, .generation = ++generation };
	struct mg_lb_table *t;

	if (c == NULL)
		fail_msg("config: %s", err);
	t = mg_lb_build(c, &env, err, sizeof(err));
	if (t == NULL)
		fail_msg("table: %s", err);
	return t;
}

/* Pearson chi-square of @p obs against equal expected counts; p = 0.001 critical values. */
static void
assert_uniform(const uint32_t *obs, uint32_t k, uint32_t n)
{
	static const double crit[] = { 0, 10.83, 13.82, 16.27, 18.47 }; /* df = 1..4 */
	double e = (double)n / k, chi = 0;

	for (uint32_t i = 0; i < k; i++)
		chi += (obs[i] - e) * (obs[i] - e) / e;
	if (chi > crit[k - 1])
		fail_msg("chi-square %.2f above %.2f for %u bins", chi, crit[k - 1], k);
}

static uint32_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

static void
test_lookup_and_named_target_port(void **state)
{
	struct mg_lb_table *t = build(base);
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 96, 0, 10), rte_cpu_to_be_16(80));
	const struct mg_lb_svc *a = mg_lb_lookup(t, IP(10, 96, 0, 10), rte_cpu_to_be_16(9000));

	assert_non_null(s);
	assert_non_null(a);
	assert_null(mg_lb_lookup(t, IP(10, 96, 0, 10), rte_cpu_to_be_16(81)));
	assert_null(mg_lb_lookup(t, IP(10, 96, 0, 11), rte_cpu_to_be_16(80)));
	assert_int_equal(s->ep_count, 3); /* the not-ready one is left out */
	for (uint32_t i = 0; i < s->ep_count; i++)
		assert_int_equal(t->eps[s->ep_first + i].port, rte_cpu_to_be_16(8080));
	for (uint32_t i = 0; i < a->ep_count; i++)
		assert_int_equal(t->eps[a->ep_first + i].port, rte_cpu_to_be_16(9001));
	mg_lb_free(t);
}

static void
test_pick_is_uniform_over_ready_endpoints(void **state)
{
	struct mg_lb_table *t = build(base);
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 96, 0, 10), rte_cpu_to_be_16(80));
	uint32_t hits[3] = { 0 };
	uint64_t seed = 12345;

	for (int i = 0; i < 3000; i++) {
		const struct mg_lb_ep *ep = mg_lb_pick(t, s, rnd(&seed), NULL, 0);

		assert_non_null(ep);
		hits[(rte_be_to_cpu_32(ep->ip) & 0xff) - 11]++;
	}
	assert_uniform(hits, 3, 3000);
	mg_lb_free(t);
}

static void
test_pick_excludes_tried(void **state)
{
	struct mg_lb_table *t = build(base);
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 96, 0, 10), rte_cpu_to_be_16(80));
	uint32_t tried[2] = { IP(10, 20, 0, 11), IP(10, 20, 0, 13) };
	uint64_t seed = 99;

	for (int i = 0; i < 200; i++) {
		const struct mg_lb_ep *ep = mg_lb_pick(t, s, rnd(&seed), tried, 2);

		assert_non_null(ep);
		assert_int_equal(ep->ip, IP(10, 20, 0, 12));
	}
	uint32_t all[3] = { IP(10, 20, 0, 11), IP(10, 20, 0, 12), IP(10, 20, 0, 13) };

	assert_null(mg_lb_pick(t, s, 7, all, 3));
	mg_lb_free(t);
}

/* The bound of every service's candidates once wrapped in 32 bits (65536
 * service ports x 65536 endpoints left room for 65536): refused now. */
static void
test_table_bound_does_not_wrap(void **state)
{
	struct mg_lb_env env = { .resolve = resolve, .generation = 1001 };
	struct mg_conf c = { .path = "big.yaml", .n_services = 65536, .n_endpoints = 65536 };
	char err[512];

	c.services = calloc(c.n_services, sizeof(*c.services));
	assert_non_null(c.services);
	for (uint32_t i = 0; i < c.n_services; i++)
		c.services[i].n_vips = c.services[i].n_ports = 1;
	assert_null(mg_lb_build(&c, &env, err, sizeof(err)));
	assert_string_equal(err, "big.yaml: 65536 service ports x 65537 candidate endpoints are too "
			    "many for one table");
	free(c.services);
}

static void
test_vip_port_served_twice_is_refused(void **state)
{
	char yaml[4096];
	char err[512];
	struct mg_lb_env env = { .resolve = resolve, .generation = 1000 };

	snprintf(yaml, sizeof(yaml), "%s---\napiVersion: v1\nkind: Service\n"
		 "metadata: {name: other, namespace: demo}\n"
		 "spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}\n", base);
	struct mg_conf *c = mg_conf_load_string(yaml, strlen(yaml), "dup.yaml", NULL, err, sizeof(err));

	assert_non_null(c);
	assert_null(mg_lb_build(c, &env, err, sizeof(err)));
	assert_non_null(strstr(err, "10.96.0.10:80 is already served"));
	mg_conf_free(c);
}


/* ---- semantics.md section 8: traffic distribution scenarios ---------------- */

/*
 * The gateway (the client of every pick) sits on node N1 in n1/r1/z1/s1.
 * Endpoints come from EndpointSlices (locality from their Node) or from a
 * ServiceEntry's inline endpoints (network and locality written out).
 */
static const char *gw_hdr =
	"apiVersion: meshgate.io/v1alpha1\n"
	"kind: MeshGateway\n"
	"metadata: {name: t}\n"
	"spec:\n"
	"  network: n1\n"
	"  nodeName: %s\n"
	"  defaultTrafficDistribution: %s\n"
	"  ports: [{name: p, device: net_null0, address: 10.0.0.1/8}]\n"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: N1, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1, topology.istio.io/subzone: s1}}}\n"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: N2, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1, topology.istio.io/subzone: s1}}}\n"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: N3, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1, topology.istio.io/subzone: s2}}}\n"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: NZ2, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z2}}}\n"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: NR2, labels: {topology.kubernetes.io/region: r2, topology.kubernetes.io/zone: z5}}}\n"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: NR9, labels: {topology.kubernetes.io/region: r9, topology.kubernetes.io/zone: z1}}}\n"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: NZ7, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z7}}}\n"
	"---\n";

/* A Service web/demo at 10.96.0.10:80 with @p spec_extra and @p annot, and a Namespace. */
static const char *gw_node = "N1";

static char *
scenario(const char *dflt, const char *svc_spec, const char *svc_annot, const char *ns_annot,
	 const char *endpoints, const char *extra)
{
	static char buf[16384];
	int n = snprintf(buf, sizeof(buf), gw_hdr, gw_node, dflt);

	n += snprintf(buf + n, sizeof(buf) - n,
		      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n%s%s\n---\n"
		      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: demo\n%s%s\n"
		      "spec:\n  clusterIP: 10.96.0.10\n  ports: [{name: http, port: 80, targetPort: 8080}]\n%s\n"
		      "---\n"
		      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n"
		      "  namespace: demo\n  labels: {kubernetes.io/service-name: web}\n"
		      "addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n%s\n%s",
		      ns_annot ? "  annotations:\n    networking.istio.io/traffic-distribution: " : "",
		      ns_annot ? ns_annot : "",
		      svc_annot ? "  annotations:\n    networking.istio.io/traffic-distribution: " : "",
		      svc_annot ? svc_annot : "", svc_spec ? svc_spec : "", endpoints, extra ? extra : "");
	assert_true(n < (int)sizeof(buf));
	return buf;
}

#define EP(ip, node) "  - {addresses: [" ip "], nodeName: " node "}\n"
#define EP_NR(ip, node) "  - {addresses: [" ip "], nodeName: " node ", conditions: {ready: false}}\n"

/* Picks 2000 times; hits[i] counts 10.1.0.(i). Returns picks that found no endpoint. */
static uint32_t
pick_many(struct mg_lb_table *t, uint32_t *hits, uint32_t n)
{
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 96, 0, 10), rte_cpu_to_be_16(80));
	uint64_t seed = 424242;
	uint32_t none = 0;

	memset(hits, 0, 256 * sizeof(*hits));
	for (uint32_t i = 0; i < n; i++) {
		const struct mg_lb_ep *ep = s ? mg_lb_pick(t, s, rnd(&seed), NULL, 0) : NULL;

		if (ep == NULL)
			none++;
		else
			hits[rte_be_to_cpu_32(ep->ip) & 0xff]++;
	}
	return none;
}

static void
assert_only(struct mg_lb_table *t, uint32_t who)
{
	uint32_t hits[256];

	assert_int_equal(pick_many(t, hits, 2000), 0);
	for (uint32_t i = 0; i < 256; i++)
		if (i != who && hits[i] != 0)
			fail_msg("10.1.0.%u got %u picks; only 10.1.0.%u should", i, hits[i], who);
	assert_int_equal(hits[who], 2000);
}

static void
assert_no_upstream(struct mg_lb_table *t)
{
	uint32_t hits[256];

	assert_int_equal(pick_many(t, hits, 100), 100);
}

static const struct mg_lb_svc *
web(struct mg_lb_table *t)
{
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 96, 0, 10), rte_cpu_to_be_16(80));

	assert_non_null(s);
	return s;
}

/* A ServiceEntry-style remote endpoint set for web, network n2 etc. */
#define SE_REMOTE(eps) \
	"---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: web-remote, namespace: demo}\n" \
	"spec:\n  hosts: [web.demo.remote]\n  addresses: [10.96.0.20]\n  ports: [{number: 80, name: http, targetPort: 8080}]\n" \
	"  resolution: STATIC\n  endpoints:\n" eps

static void
scenario_01_any_spreads_evenly(void **state)
{
	struct mg_lb_table *t = build(scenario("Any", NULL, NULL, NULL,
		EP("10.1.0.1", "N1") EP("10.1.0.2", "NZ2") EP("10.1.0.3", "NR2"), NULL));
	uint32_t hits[256], obs[3];

	assert_int_equal(pick_many(t, hits, 3000), 0);
	obs[0] = hits[1], obs[1] = hits[2], obs[2] = hits[3];
	assert_uniform(obs, 3, 3000);
	assert_int_equal(web(t)->n_tiers, 1);
	mg_lb_free(t);
}

static void
scenario_02_to_04_prefer_same_zone_tiers(void **state)
{
	const char *spec = "  trafficDistribution: PreferSameZone";
	struct mg_lb_table *t;

	t = build(scenario("Any", spec, NULL, NULL,
		EP("10.1.0.1", "N1") EP("10.1.0.2", "NZ2") EP("10.1.0.5", "NR2"), NULL));
	assert_only(t, 1);                       /* 2: only A */
	assert_int_equal(web(t)->n_tiers, 3);
	mg_lb_free(t);
	t = build(scenario("Any", spec, NULL, NULL,
		EP_NR("10.1.0.1", "N1") EP("10.1.0.2", "NZ2") EP("10.1.0.5", "NR2"), NULL));
	assert_only(t, 2);                       /* 3: A unhealthy: only B */
	mg_lb_free(t);
	t = build(scenario("Any", spec, NULL, NULL, EP("10.1.0.5", "NR2"), NULL));
	assert_only(t, 5);                       /* 4: only E */
	mg_lb_free(t);
}

static void
scenario_05_equal_rank_share_by_capacity(void **state)
{
	struct mg_lb_table *t = build(scenario("Any", "  trafficDistribution: PreferSameZone",
		NULL, NULL, EP("10.1.0.100", "NR2"),
		SE_REMOTE("  - {address: 10.1.0.1, network: n1, locality: r1/z1, weight: 1}\n"
			  "  - {address: 10.1.0.2, network: n1, locality: r1/z1, weight: 3}\n")));
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 96, 0, 20), rte_cpu_to_be_16(80));
	uint64_t seed = 5;
	uint32_t a1 = 0, n = 4000;

	assert_non_null(s);
	for (uint32_t i = 0; i < n; i++) {
		const struct mg_lb_ep *ep = mg_lb_pick(t, s, rnd(&seed), NULL, 0);

		assert_non_null(ep);
		a1 += ep->ip == IP(10, 1, 0, 1);
	}
	/* 25 % +- 3 sigma (sigma = sqrt(n p (1-p)) = 27.4 for n = 4000) */
	assert_in_range(a1, 1000 - 83, 1000 + 83);
	mg_lb_free(t);
}

static void
scenario_05_se_annotation_prefer_same_zone(void **state)
{
	/* ServiceEntry endpoints above use the SE's own mode: default here is Any,
	 * so give it the annotation and check the tiering (scenario 19 second half). */
	struct mg_lb_table *t = build(scenario("Any", NULL, NULL, NULL, EP("10.1.0.100", "NR2"),
		"---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		"metadata: {name: se, namespace: demo, annotations: {networking.istio.io/traffic-distribution: PreferSameZone}}\n"
		"spec:\n  hosts: [se.example]\n  addresses: [10.96.0.30]\n  ports: [{number: 80, name: http}]\n"
		"  resolution: STATIC\n  endpoints:\n"
		"  - {address: 10.1.0.1, network: n1, locality: r1/z1}\n"
		"  - {address: 10.1.0.2, network: n1, locality: r1/z2}\n"
		"  - {address: 10.1.0.5, network: n1, locality: r2/z5}\n"));
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 96, 0, 30), rte_cpu_to_be_16(80));

	assert_non_null(s);
	assert_string_equal(s->mode->name, "PreferSameZone");
	assert_int_equal(s->n_tiers, 3);
	assert_int_equal(t->eps[s->ep_first].ip, IP(10, 1, 0, 1));
	assert_int_equal(s->tier_count[0], 1);
	mg_lb_free(t);
}

static void
scenario_06_prefer_same_node(void **state)
{
	const char *spec = "  trafficDistribution: PreferSameNode";
	struct mg_lb_table *t;

	t = build(scenario("Any", spec, NULL, NULL,
		EP("10.1.0.1", "N1") EP("10.1.0.2", "N2") EP("10.1.0.3", "N3"), NULL));
	assert_only(t, 1);
	mg_lb_free(t);
	t = build(scenario("Any", spec, NULL, NULL, EP("10.1.0.2", "N2") EP("10.1.0.3", "N3"), NULL));
	assert_only(t, 2);
	mg_lb_free(t);
	t = build(scenario("Any", spec, NULL, NULL, EP("10.1.0.3", "N3"), NULL));
	assert_only(t, 3);
	mg_lb_free(t);
}

static void
scenario_07_prefer_same_zone_ignores_subzone(void **state)
{
	struct mg_lb_table *t = build(scenario("Any", "  trafficDistribution: PreferSameZone", NULL,
		NULL, EP("10.1.0.2", "N2") EP("10.1.0.3", "N3"), NULL));
	uint32_t hits[256], obs[2];

	assert_int_equal(pick_many(t, hits, 2000), 0);
	obs[0] = hits[2], obs[1] = hits[3];
	assert_uniform(obs, 2, 2000);
	mg_lb_free(t);
}

static void
scenario_08_zone_without_region_does_not_count(void **state)
{
	struct mg_lb_table *t = build(scenario("Any", "  trafficDistribution: PreferSameZone", NULL,
		NULL, EP("10.1.0.24", "NR9") EP("10.1.0.25", "NZ7"), NULL));

	assert_only(t, 25);
	mg_lb_free(t);
}

static void
scenario_09_empty_labels_match_empty_labels(void **state)
{
	/* A gateway with no region/zone: its node has no labels. */
	gw_node = "NONE";
	struct mg_lb_table *t = build(scenario("Any", "  trafficDistribution: PreferSameZone",
		NULL, NULL, EP("10.1.0.21", "NONE") EP("10.1.0.22", "N1"),
		"---\n{apiVersion: v1, kind: Node, metadata: {name: NONE}}\n"));

	gw_node = "N1";
	assert_only(t, 21);
	mg_lb_free(t);
}

static void
scenario_10_internal_traffic_policy_local_is_strict(void **state)
{
	struct mg_lb_table *t = build(scenario("Any", "  internalTrafficPolicy: Local", NULL, NULL,
		EP("10.1.0.1", "N1") EP("10.1.0.2", "N2"), NULL));

	assert_only(t, 1);
	assert_string_equal(web(t)->mode->name, "Local");
	mg_lb_free(t);
	t = build(scenario("Any", "  internalTrafficPolicy: Local", NULL, NULL,
			   EP("10.1.0.2", "N2"), NULL));
	assert_no_upstream(t);
	mg_lb_free(t);
}

/*
 * Scenario 11: a STRICT row configured directly never falls back. No named
 * mode maps to STRICT [NETWORK, REGION, ZONE], so the row is built here, as
 * one line of lib/lb/mg_lb_mode.c's table would be.
 */
static void
scenario_11_strict_mode_never_falls_back(void **state)
{
	static const struct mg_lb_mode strict = {
		"StrictZone", MG_LB_STRICT, 3, { MG_SCOPE_NETWORK, MG_SCOPE_REGION, MG_SCOPE_ZONE },
	};
	struct mg_locality me = { "n1", "r1", "z1", "s1", "N1" };
	struct mg_locality a = { "n1", "r1", "z1", "s9", "N9" };
	struct mg_locality b = { "n1", "r1", "z2", "s1", "N1" };
	struct mg_locality e = { "n2", "r1", "z1", "s1", "N1" };

	assert_true(mg_lb_rank(&strict, &me, &a, "c1", "c1") >= 0);
	/* B matches network and region, not zone: excluded, not a lower tier. */
	assert_int_equal(mg_lb_rank(&strict, &me, &b, "c1", "c1"), -1);
	/* Another network is excluded too (the network-first rule does not save it). */
	assert_int_equal(mg_lb_rank(&strict, &me, &e, "c1", "c1"), -1);
}

static void
scenario_12_internal_traffic_policy_wins(void **state)
{
	struct mg_lb_table *t = build(scenario("Any",
		"  trafficDistribution: PreferSameZone\n  internalTrafficPolicy: Local", NULL, NULL,
		EP("10.1.0.1", "N1") EP("10.1.0.2", "N2"), NULL));

	assert_only(t, 1);
	assert_int_equal(web(t)->source, MG_SRC_INTERNAL_TRAFFIC_POLICY);
	mg_lb_free(t);
}

static void
check_mode(const char *dflt, const char *spec, const char *annot, const char *ns,
	   const char *want, enum mg_lb_source src)
{
	struct mg_lb_table *t = build(scenario(dflt, spec, annot, ns, EP("10.1.0.1", "N1"), NULL));

	assert_string_equal(web(t)->mode->name, want);
	assert_int_equal(web(t)->source, src);
	mg_lb_free(t);
}

static void
scenario_13_spec_wins_over_annotation(void **state)
{
	check_mode("Any", "  trafficDistribution: PreferSameNode", "PreferSameZone", NULL,
		   "PreferSameNode", MG_SRC_SPEC);
}

static void
scenario_14_unknown_spec_falls_through(void **state)
{
	check_mode("Any", "  trafficDistribution: FooBar", "PreferSameNode", NULL,
		   "PreferSameNode", MG_SRC_ANNOTATION);
}

static void
scenario_15_service_annotation_wins_over_namespace(void **state)
{
	check_mode("Any", NULL, "PreferSameNode", "PreferClose", "PreferSameNode",
		   MG_SRC_ANNOTATION);
}

static void
scenario_16_unknown_annotation_does_not_inherit(void **state)
{
	check_mode("PreferNetwork", NULL, "bogus", "PreferClose", "Any", MG_SRC_ANNOTATION);
}

static void
scenario_17_namespace_inheritance(void **state)
{
	check_mode("Any", NULL, NULL, "preferclose", "PreferSameZone", MG_SRC_NAMESPACE);
}

static void
scenario_18_default_is_configurable(void **state)
{
	struct mg_lb_table *t;

	check_mode("Any", NULL, NULL, NULL, "Any", MG_SRC_DEFAULT);
	check_mode("PreferNetwork", NULL, NULL, NULL, "PreferNetwork", MG_SRC_DEFAULT);
	/* PreferNetwork: local-network endpoints only while any exist. */
	t = build(scenario("PreferNetwork", NULL, NULL, NULL, EP("10.1.0.100", "NR2"),
		SE_REMOTE("  - {address: 10.1.0.1, network: n1, locality: r2/z5}\n"
			  "  - {address: 10.1.0.2, network: n2, locality: r1/z1}\n")));
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 96, 0, 20), rte_cpu_to_be_16(80));

	assert_non_null(s);
	assert_int_equal(t->eps[s->ep_first + s->tier_first[0]].ip, IP(10, 1, 0, 1));
	assert_int_equal(s->tier_count[0], 1);
	mg_lb_free(t);
}

static void
scenario_19_service_entry_resolution_none_is_passthrough(void **state)
{
	struct mg_lb_table *t = build(scenario("Any", NULL, NULL, NULL, EP("10.1.0.1", "N1"),
		"---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		"metadata: {name: ext, namespace: demo}\n"
		"spec:\n  hosts: [ext.example]\n  addresses: [10.50.0.7]\n"
		"  ports: [{number: 443, name: tls}]\n  resolution: NONE\n"));
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 50, 0, 7), rte_cpu_to_be_16(443));
	const struct mg_lb_ep *ep;

	assert_non_null(s);
	assert_true(s->passthrough);
	ep = mg_lb_pick(t, s, 12345, NULL, 0);
	assert_non_null(ep);
	assert_int_equal(ep->ip, IP(10, 50, 0, 7));
	assert_int_equal(ep->port, rte_cpu_to_be_16(443));
	mg_lb_free(t);
}

static void
scenario_20_publish_not_ready_admits_not_ready(void **state)
{
	struct mg_lb_table *t = build(scenario("Any", "  publishNotReadyAddresses: true", NULL, NULL,
		EP_NR("10.1.0.1", "N1") EP("10.1.0.2", "N1"), NULL));
	uint32_t hits[256], obs[2];

	assert_int_equal(pick_many(t, hits, 2000), 0);
	obs[0] = hits[1], obs[1] = hits[2];
	assert_uniform(obs, 2, 2000);
	mg_lb_free(t);
	t = build(scenario("Any", NULL, NULL, NULL,
			   EP_NR("10.1.0.1", "N1") EP("10.1.0.2", "N1"), NULL));
	assert_only(t, 2);
	mg_lb_free(t);
}

static void
scenario_21_prefer_network_stays_local(void **state)
{
	struct mg_lb_table *t = build(scenario("PreferNetwork", NULL, NULL, NULL, EP("10.1.0.1", "N1"),
		NULL));

	assert_only(t, 1);
	mg_lb_free(t);
}

static void
remote_only(const char *eps, uint32_t want)
{
	struct mg_lb_table *t = build(scenario("Any", NULL, NULL, NULL, EP("10.1.0.100", "NR2"),
		eps));
	const struct mg_lb_svc *s = mg_lb_lookup(t, IP(10, 96, 0, 20), rte_cpu_to_be_16(80));
	uint64_t seed = 77;

	assert_non_null(s);
	for (int i = 0; i < 1000; i++) {
		const struct mg_lb_ep *ep = mg_lb_pick(t, s, rnd(&seed), NULL, 0);

		assert_non_null(ep);
		assert_int_equal(rte_be_to_cpu_32(ep->ip) & 0xff, want);
	}
	mg_lb_free(t);
}

#define SE_ANNOT(mode, eps) \
	"---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: web-remote, namespace: demo, " \
	"annotations: {networking.istio.io/traffic-distribution: " mode "}}\n" \
	"spec:\n  hosts: [web.demo.remote]\n  addresses: [10.96.0.20]\n  ports: [{number: 80, name: http, targetPort: 8080}]\n" \
	"  resolution: STATIC\n  endpoints:\n" eps

static void
scenario_22_remote_fallback_prefers_nearer_region(void **state)
{
	remote_only(SE_ANNOT("PreferSameZone",
		"  - {address: 10.1.0.31, network: n2, locality: r1/z1}\n"
		"  - {address: 10.1.0.32, network: n3, locality: r2/z4}\n"), 31);
}

static void
scenario_23_local_beats_remote_regardless_of_locality(void **state)
{
	remote_only(SE_ANNOT("PreferSameZone",
		"  - {address: 10.1.0.41, network: n1, locality: r5/z5}\n"
		"  - {address: 10.1.0.31, network: n2, locality: r1/z1}\n"), 41);
}

static void
scenario_39_control_plane_unhealthy_removed(void **state)
{
	struct mg_lb_table *t = build(scenario("Any", NULL, NULL, NULL,
		EP_NR("10.1.0.1", "N1") EP("10.1.0.2", "N1") EP("10.1.0.3", "N1"), NULL));

	assert_int_equal(web(t)->ep_count, 2);
	for (uint32_t i = 0; i < web(t)->ep_count; i++)
		assert_int_not_equal(t->eps[web(t)->ep_first + i].ip, IP(10, 1, 0, 1));
	mg_lb_free(t);
}

static void
scenario_40_config_change_rebuilds_candidates(void **state)
{
	struct mg_lb_table *t1 = build(scenario("Any", NULL, NULL, NULL,
		EP("10.1.0.1", "N1") EP("10.1.0.2", "N1"), NULL));
	struct mg_lb_table *t2 = build(scenario("Any", NULL, NULL, NULL,
		EP("10.1.0.2", "N1") EP("10.1.0.3", "N1"), NULL));
	uint32_t hits[256];

	assert_int_equal(pick_many(t2, hits, 1000), 0);
	assert_int_equal(hits[1], 0);
	assert_true(hits[3] > 0);
	mg_lb_free(t1);
	mg_lb_free(t2);
}

/* ---- remote clusters, scopes and the global service ----------------------- */

static char tmpdir[64];

static void
write_file(const char *name, const char *text)
{
	mg_test_write_file(tmpdir, name, text);
}

/* A slice of web in a remote cluster with @p n ready endpoints 10.<net>.0.x. */
static void
remote_slice(const char *file, int net, int n)
{
	char buf[2048];
	int k = snprintf(buf, sizeof(buf),
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-r\n"
		"  namespace: demo\n  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n");

	for (int i = 1; i <= n; i++)
		k += snprintf(buf + k, sizeof(buf) - k, "  - addresses: [10.%d.0.%d]\n", net, i);
	write_file(file, buf);
}

static struct mg_lb_table *
build_remote(const char *mode, const char *scope_annot, const char *local_eps,
	     const char *remotes, const char *extra)
{
	static char buf[16384];
	char svc_annot[256];

	snprintf(svc_annot, sizeof(svc_annot), "%s", scope_annot ? scope_annot : "");
	int n = snprintf(buf, sizeof(buf), gw_hdr, gw_node, mode);

	n += snprintf(buf + n, sizeof(buf) - n,
		"  remoteClusters:\n%s"
		"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: demo\n"
		"  annotations: {%s}\n"
		"spec:\n  clusterIP: 10.96.0.10\n  ports: [{name: http, port: 80, targetPort: 8080}]\n"
		"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n"
		"  namespace: demo\n  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n%s\n%s",
		remotes, svc_annot, local_eps ? local_eps : "  []", extra ? extra : "");
	/* The remote clusters' list belongs inside the MeshGateway's spec: move
	 * it before the first document separator. */
	char *rc = strstr(buf, "  remoteClusters:\n");
	char *sep = strstr(buf, "---\n");

	assert_true(sep < rc);
	size_t rc_len = strlen("  remoteClusters:\n") + strlen(remotes);
	char tmp[4096];

	memcpy(tmp, rc, rc_len);
	memmove(sep + rc_len, sep, (size_t)(rc - sep));
	memcpy(sep, tmp, rc_len);
	return build(buf);
}

static char *
remote(const char *name, const char *net, const char *gw, const char *loc, const char *file)
{
	static char bufs[4][512];
	static int i;
	char *b = bufs[i++ % 4];

	snprintf(b, 512, "    - name: %s\n      network: %s\n%s%s%s      manifests: [%s/%s]\n",
		 name, net, gw ? "      eastWestGateway: {address: " : "", gw ? gw : "",
		 gw ? (loc ? loc : "}\n") : "", tmpdir, file);
	return b;
}

static void
scenario_21_prefer_network_fails_over_to_the_remote_gateway(void **state)
{
	char rem[1024];
	struct mg_lb_table *t;

	remote_slice("east.yaml", 60, 3);
	snprintf(rem, sizeof(rem), "%s", remote("east", "n2", "10.70.0.1, port: 15008",
		 ", locality: {region: r1, zone: z1}}\n", "east.yaml"));
	t = build_remote("PreferNetwork", "solo.io/service-scope: global-only",
			 EP("10.1.0.1", "N1"), rem, NULL);
	assert_only(t, 1); /* L1 while it exists */
	assert_int_equal(web(t)->n_tiers, 2);
	mg_lb_free(t);
	t = build_remote("PreferNetwork", "solo.io/service-scope: global-only", NULL, rem, NULL);
	const struct mg_lb_svc *s = web(t);
	const struct mg_lb_ep *ep = mg_lb_pick(t, s, 1, NULL, 0);

	assert_non_null(ep);
	assert_int_equal(ep->ip, IP(10, 70, 0, 1));        /* the east-west gateway */
	assert_int_equal(ep->port, rte_cpu_to_be_16(15008));
	assert_int_equal(ep->capacity, 2);                  /* 3 ready -> 2 */
	assert_int_equal(s->ep_count, 1);                   /* one entry per (cluster, service) */
	mg_lb_free(t);
}

static void
scenario_22_remote_gateways_ranked_by_their_labels(void **state)
{
	char rem[1024];
	struct mg_lb_table *t;
	uint32_t hits[256];

	remote_slice("east.yaml", 60, 1);
	remote_slice("west.yaml", 61, 5);
	snprintf(rem, sizeof(rem), "%s%s",
		 remote("east", "n2", "10.70.0.2", ", locality: {region: r1, zone: z1}}\n", "east.yaml"),
		 remote("west", "n3", "10.70.0.3", ", locality: {region: r2, zone: z4}}\n", "west.yaml"));
	t = build_remote("PreferSameZone", "solo.io/service-scope: global-only", NULL, rem, NULL);
	assert_int_equal(pick_many(t, hits, 1000), 0);
	assert_int_equal(hits[2], 1000); /* GW2 only (rank 2 vs 0) */
	assert_int_equal(web(t)->ep_count, 2);
	mg_lb_free(t);
}

static void
scenario_24_remote_without_gateway_is_unusable(void **state)
{
	char rem[1024];
	struct mg_lb_table *t;

	remote_slice("far.yaml", 62, 2);
	snprintf(rem, sizeof(rem), "%s", remote("far", "n3", NULL, NULL, "far.yaml"));
	t = build_remote("Any", "solo.io/service-scope: global-only", NULL, rem, NULL);
	assert_no_upstream(t);
	mg_lb_free(t);
	/* A flat peer (same network) is used endpoint by endpoint. */
	snprintf(rem, sizeof(rem), "%s", remote("flat", "n1", NULL, NULL, "far.yaml"));
	t = build_remote("Any", "solo.io/service-scope: global-only", NULL, rem, NULL);
	assert_int_equal(web(t)->ep_count, 2);
	assert_int_equal(t->eps[web(t)->ep_first].ip, IP(10, 62, 0, 1));
	mg_lb_free(t);
}

static void
scenario_26_service_scope_filters_before_ranking(void **state)
{
	char rem[1024];
	struct mg_lb_table *t;
	const char *global_se =
		"---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		"metadata: {name: autogen.demo.web, namespace: demo}\n"
		"spec:\n  hosts: [web.demo.mesh.internal]\n  addresses: [10.97.0.10]\n"
		"  ports: [{number: 80, name: http}]\n  resolution: STATIC\n";

	remote_slice("c2.yaml", 63, 2);
	snprintf(rem, sizeof(rem), "%s", remote("c2", "n1", NULL, NULL, "c2.yaml"));
	/* scope=cluster (none): the VIP serves c1 only; no global VIP is served. */
	t = build_remote("Any", NULL, EP("10.1.0.1", "N1"), rem, global_se);
	assert_int_equal(web(t)->ep_count, 1);
	assert_false(web(t)->global);
	const struct mg_lb_svc *g = mg_lb_lookup(t, IP(10, 97, 0, 10), rte_cpu_to_be_16(80));

	assert_non_null(g);
	assert_int_equal(g->ep_count, 1);
	mg_lb_free(t);
	/* scope=global: the service VIP stays local, the global VIP has c2 too. */
	t = build_remote("Any", "solo.io/service-scope: global", EP("10.1.0.1", "N1"), rem,
			 global_se);
	assert_int_equal(web(t)->ep_count, 1);
	g = mg_lb_lookup(t, IP(10, 97, 0, 10), rte_cpu_to_be_16(80));
	assert_non_null(g);
	assert_int_equal(g->ep_count, 3);
	assert_string_equal(g->scope, "global");
	mg_lb_free(t);
	/* service-takeover: the ordinary VIP gets the global set too. */
	t = build_remote("Any", "solo.io/service-scope: global, solo.io/service-takeover: \"true\"",
			 EP("10.1.0.1", "N1"), rem, NULL);
	assert_int_equal(web(t)->ep_count, 3);
	mg_lb_free(t);
	/* segment: only peers of the gateway's segment (the gateway has none; c2 neither). */
	t = build_remote("Any", "solo.io/service-scope: segment, solo.io/service-takeover: \"true\"",
			 EP("10.1.0.1", "N1"), rem, NULL);
	assert_int_equal(web(t)->ep_count, 3);
	mg_lb_free(t);
}

/* ---- outlier state in the tables (scenarios 28, 34, 35; decision 8) ------- */

static uint32_t ejected_ips[4], at_limit_ip;
static uint32_t half_ip; /* weight factor 0.25 */

static enum mg_lb_ep_state
health(void *ctx, uint32_t id, uint32_t *factor)
{
	for (int i = 0; i < 4; i++)
		if (ejected_ips[i] == id)
			return MG_LB_EP_EJECTED;
	if (id == at_limit_ip)
		return MG_LB_EP_AT_LIMIT;
	if (id == half_ip)
		*factor = 250;
	return MG_LB_EP_OK;
}

static struct mg_lb_table *
build_health(const char *yaml)
{
	char err[512];
	static uint64_t gen = 5000;
	struct mg_conf *c = mg_conf_load_string(yaml, strlen(yaml), "h.yaml", NULL, err, sizeof(err));
	struct mg_lb_env env = { .resolve = resolve, .health = health, .generation = ++gen };
	struct mg_lb_table *t;

	if (c == NULL)
		fail_msg("config: %s", err);
	t = mg_lb_build(c, &env, err, sizeof(err));
	if (t == NULL)
		fail_msg("table: %s", err);
	return t;
}

static void
scenario_28_ejection_feeds_tier_failover(void **state)
{
	const char *y = scenario("Any", "  trafficDistribution: PreferSameZone", NULL, NULL,
				 EP("10.1.0.1", "N1") EP("10.1.0.2", "NZ2"), NULL);
	struct mg_lb_table *t;

	memset(ejected_ips, 0, sizeof(ejected_ips));
	ejected_ips[0] = IP(10, 1, 0, 1);
	t = build_health(y);
	assert_only(t, 2);                 /* A ejected: zone failover to B */
	assert_false(web(t)->dazed);
	mg_lb_free(t);
	ejected_ips[0] = 0;                /* A re-admitted: back to A only */
	t = build_health(y);
	assert_only(t, 1);
	mg_lb_free(t);
}

static void
scenario_34_dazed_when_everything_is_ejected(void **state)
{
	const char *y = scenario("Any", "  trafficDistribution: PreferSameZone", NULL, NULL,
				 EP("10.1.0.1", "N1") EP("10.1.0.2", "NZ2"), NULL);
	struct mg_lb_table *t;

	memset(ejected_ips, 0, sizeof(ejected_ips));
	ejected_ips[0] = IP(10, 1, 0, 1);
	ejected_ips[1] = IP(10, 1, 0, 2);
	t = build_health(y);
	assert_true(web(t)->dazed);
	assert_only(t, 1);                 /* normal tier order over all: A only */
	mg_lb_free(t);
	memset(ejected_ips, 0, sizeof(ejected_ips));
}

static void
scenario_35_dazed_keeps_strict_filter(void **state)
{
	const char *y = scenario("Any", "  internalTrafficPolicy: Local", NULL, NULL,
				 EP("10.1.0.1", "N1") EP("10.1.0.2", "N2"), NULL);
	struct mg_lb_table *t;

	memset(ejected_ips, 0, sizeof(ejected_ips));
	ejected_ips[0] = IP(10, 1, 0, 1);
	t = build_health(y);
	assert_true(web(t)->dazed);
	assert_only(t, 1);                 /* P, never the other node's Q */
	mg_lb_free(t);
	memset(ejected_ips, 0, sizeof(ejected_ips));
}

static void
circuit_breaker_at_limit_is_passed_over(void **state)
{
	const char *y = scenario("Any", NULL, NULL, NULL,
				 EP("10.1.0.1", "N1") EP("10.1.0.2", "N1"), NULL);
	struct mg_lb_table *t;

	at_limit_ip = IP(10, 1, 0, 1);
	t = build_health(y);
	assert_only(t, 2);
	assert_false(web(t)->dazed);
	mg_lb_free(t);
	at_limit_ip = 0;
}

static void
ewma_factor_scales_weight(void **state)
{
	const char *y = scenario("Any", NULL, NULL, NULL,
				 EP("10.1.0.1", "N1") EP("10.1.0.2", "N1"), NULL);
	struct mg_lb_table *t;
	uint32_t hits[256];

	half_ip = IP(10, 1, 0, 1);
	t = build_health(y);
	assert_int_equal(pick_many(t, hits, 4000), 0);
	/* weights 1000 x 0.25 : 1000 -> 20 % +- 3 sigma (sigma = 25.3) */
	assert_in_range(hits[1], 800 - 76, 800 + 76);
	mg_lb_free(t);
	half_ip = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_and_named_target_port),
		cmocka_unit_test(test_table_bound_does_not_wrap),
		cmocka_unit_test(test_pick_is_uniform_over_ready_endpoints),
		cmocka_unit_test(test_pick_excludes_tried),
		cmocka_unit_test(test_vip_port_served_twice_is_refused),
		cmocka_unit_test(scenario_01_any_spreads_evenly),
		cmocka_unit_test(scenario_02_to_04_prefer_same_zone_tiers),
		cmocka_unit_test(scenario_05_equal_rank_share_by_capacity),
		cmocka_unit_test(scenario_05_se_annotation_prefer_same_zone),
		cmocka_unit_test(scenario_06_prefer_same_node),
		cmocka_unit_test(scenario_07_prefer_same_zone_ignores_subzone),
		cmocka_unit_test(scenario_08_zone_without_region_does_not_count),
		cmocka_unit_test(scenario_09_empty_labels_match_empty_labels),
		cmocka_unit_test(scenario_10_internal_traffic_policy_local_is_strict),
		cmocka_unit_test(scenario_11_strict_mode_never_falls_back),
		cmocka_unit_test(scenario_12_internal_traffic_policy_wins),
		cmocka_unit_test(scenario_13_spec_wins_over_annotation),
		cmocka_unit_test(scenario_14_unknown_spec_falls_through),
		cmocka_unit_test(scenario_15_service_annotation_wins_over_namespace),
		cmocka_unit_test(scenario_16_unknown_annotation_does_not_inherit),
		cmocka_unit_test(scenario_17_namespace_inheritance),
		cmocka_unit_test(scenario_18_default_is_configurable),
		cmocka_unit_test(scenario_19_service_entry_resolution_none_is_passthrough),
		cmocka_unit_test(scenario_20_publish_not_ready_admits_not_ready),
		cmocka_unit_test(scenario_21_prefer_network_stays_local),
		cmocka_unit_test(scenario_22_remote_fallback_prefers_nearer_region),
		cmocka_unit_test(scenario_23_local_beats_remote_regardless_of_locality),
		cmocka_unit_test(scenario_39_control_plane_unhealthy_removed),
		cmocka_unit_test(scenario_40_config_change_rebuilds_candidates),
		cmocka_unit_test(scenario_21_prefer_network_fails_over_to_the_remote_gateway),
		cmocka_unit_test(scenario_22_remote_gateways_ranked_by_their_labels),
		cmocka_unit_test(scenario_24_remote_without_gateway_is_unusable),
		cmocka_unit_test(scenario_26_service_scope_filters_before_ranking),
		cmocka_unit_test(scenario_28_ejection_feeds_tier_failover),
		cmocka_unit_test(scenario_34_dazed_when_everything_is_ejected),
		cmocka_unit_test(scenario_35_dazed_keeps_strict_filter),
		cmocka_unit_test(circuit_breaker_at_limit_is_passed_over),
		cmocka_unit_test(ewma_factor_scales_weight),
	};

	mg_test_eal_init("test_lb");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mg_test_lb_XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
