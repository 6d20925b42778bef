/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/outlier with a clock of their own.
 *
 * Acceptance scenarios 27 to 38 of semantics.md section 8, each named after
 * its scenario. Where a scenario is about traffic (27, 28, 34 to 38), the
 * test builds real locality tables (lib/lb) from a configuration, with this
 * model as the table builder's health callback, and republishes them when
 * the model says so (mg_outlier_publish_due), as the control thread does;
 * the picks are then the workers' picks. Scenario 33 (HBONE error replies)
 * needs HBONE and is skipped. Scenario 37's retry loop itself lives in
 * lib/proxy (test_proxy.c); here the loop is the test's, to check that the
 * model and the tables make it converge.
 *
 * Then the edges of the model: EWMA, weights, maxEjectionPercent per
 * group, circuit breaker, publication batching, notes, timers against a
 * brute-force reference, active health checks, and no allocation per event.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "mg_test.h"
#include "mg_outlier.h"

#define IP(a, b, c, d) rte_cpu_to_be_32(RTE_IPV4(a, b, c, d))
#define A IP(10, 1, 0, 1)
#define B IP(10, 1, 0, 2)
#define C IP(10, 1, 0, 3)
#define D IP(10, 1, 0, 4)

/* semantics.md 3.3 / decision 6 defaults. */
static const struct mg_conf_outlier params = {
	.consecutive_failures = 5, .interval_ms = 10000, .base_ejection_ms = 30000,
	.max_ejection_ms = 300000, .max_ejection_percent = 100, .ewma_alpha = 0.3,
	.readmit_score = 0.5, .enabled = true,
};
static const struct mg_conf_circuit nolimit;
static const struct mg_conf_healthcheck hc_on = {
	.enabled = true, .interval_ms = 5000, .timeout_ms = 1000,
	.healthy_threshold = 2, .unhealthy_threshold = 3,
};

static struct mg_outlier *
model(const struct mg_conf_outlier *p, const struct mg_conf_circuit *cb, const uint32_t *ids,
      uint32_t n)
{
	struct mg_outlier *o = mg_outlier_create(p ? p : &params, cb ? cb : &nolimit);

	assert_non_null(o);
	assert_int_equal(mg_outlier_sync(o, ids, n), 0);
	return o;
}

static struct mg_outlier *
two(void)
{
	const uint32_t ids[] = { A, B };

	return model(NULL, NULL, ids, 2);
}

static enum mg_ol_change
ev(struct mg_outlier *o, uint32_t id, enum mg_ol_event e, uint64_t now)
{
	return mg_outlier_event(o, id, e, e == MG_OL_OK ? 250 : 0, now);
}

/* @p n connects to @p id that end in @p how (a failure or MG_OL_OK). */
static enum mg_ol_change
conn_n(struct mg_outlier *o, uint32_t id, enum mg_ol_event how, int n, uint64_t now)
{
	enum mg_ol_change ch = MG_OL_NONE, c;

	for (int i = 0; i < n; i++) {
		ev(o, id, MG_OL_START, now);
		c = ev(o, id, how, now);
		if (c > ch)
			ch = c;
	}
	return ch;
}

static void
fail_n(struct mg_outlier *o, uint32_t id, int n, uint64_t now)
{
	conn_n(o, id, MG_OL_REFUSED, n, now);
}

static enum mg_lb_ep_state
peek(const struct mg_outlier *o, uint32_t id, uint32_t *f)
{
	uint32_t dummy = 1000;

	return mg_outlier_peek(o, id, f ? f : &dummy);
}

static const struct mg_ol_ep *
rec(const struct mg_outlier *o, uint32_t id)
{
	const struct mg_ol_ep *e = mg_outlier_find(o, id);

	assert_non_null(e);
	return e;
}

static uint32_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

/* ---- A test bed: configuration -> tables, with the model's health -------- */

/* The gateway (the client of every pick) sits on node N1 in n1/r1/z1/s1. */
static const char *gw_hdr =
	"apiVersion: meshgate.io/v1alpha1\n"
	"kind: MeshGateway\n"
	"metadata: {name: t}\n"
	"spec:\n"
	"  network: n1\n"
	"  nodeName: N1\n"
	"  defaultTrafficDistribution: %s\n"
	"  ports: [{name: p, device: net_null0, address: 10.0.0.1/8}]\n"
	"%s"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: N1, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1, topology.istio.io/subzone: s1}}}\n"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: N2, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1, topology.istio.io/subzone: s1}}}\n"
	"---\n"
	"{apiVersion: v1, kind: Node, metadata: {name: NZ2, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z2}}}\n"
	"---\n"
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: demo\n%s\n"
	"spec:\n  clusterIP: 10.96.0.10\n  ports: [{name: http, port: 80, targetPort: 8080}]\n%s\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n"
	"  namespace: demo\n  labels: {kubernetes.io/service-name: web}\n"
	"addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n%s\n";

#define EP(ip, node) "  - {addresses: [" ip "], nodeName: " node "}\n"

struct bed {
	char yaml[16384];
	struct mg_outlier *o;
	struct mg_lb_table *t;
	uint64_t seed;
	uint32_t publications;
};

static int
resolve(void *ctx, uint32_t ip, uint16_t *port_id, uint16_t *nh, uint16_t *snat_idx)
{
	(void)ctx;
	*port_id = 0;
	*nh = (uint16_t)(rte_be_to_cpu_32(ip) & 0xff);
	*snat_idx = 0;
	return 0;
}

/* What the control thread gives mg_lb_build as env->health. */
static enum mg_lb_ep_state
health(void *ctx, uint32_t id, uint32_t *factor)
{
	return mg_outlier_state(ctx, id, factor);
}

static struct mg_lb_table *
build(struct bed *b)
{
	static uint64_t gen;
	char err[512];
	struct mg_conf *c = mg_conf_load_string(b->yaml, strlen(b->yaml), "t.yaml", NULL, err,
						sizeof(err));
	struct mg_lb_env env = { .resolve = resolve, .health = health, .ctx = b->o,
				 .generation = ++gen };
	struct mg_lb_table *t;

	if (c == NULL)
		fail_msg("config: %s", err);
	t = mg_lb_build(c, &env, err, sizeof(err));
	if (t == NULL)
		fail_msg("table: %s", err);
	return t;
}

/* Track exactly the table's endpoints, one maxEjectionPercent group per service port. */
static void
sync_from(struct mg_outlier *o, const struct mg_lb_table *t)
{
	uint32_t *ids = malloc(sizeof(*ids) * (t->n_eps + 1));
	uint32_t *counts = malloc(sizeof(*counts) * (t->n_svcs + 1));
	uint32_t k = 0;

	assert_non_null(ids);
	assert_non_null(counts);
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		for (uint32_t j = 0; j < t->svcs[i].ep_count; j++)
			ids[k++] = t->eps[t->svcs[i].ep_first + j].id;
		counts[i] = t->svcs[i].ep_count;
	}
	assert_int_equal(mg_outlier_sync_groups(o, ids, counts, t->n_svcs), 0);
	free(ids);
	free(counts);
}

/* Publish a new generation built from the model's state. */
static void
publish(struct bed *b, uint64_t now)
{
	mg_lb_free(b->t);
	b->t = build(b);
	mg_outlier_published(b->o, now);
	b->publications++;
}

static void
bed_open(struct bed *b, const char *mode, const char *gw_extra, const char *svc_meta,
	 const char *svc_spec, const char *eps, const struct mg_conf_outlier *p)
{
	int n;

	memset(b, 0, sizeof(*b));
	n = snprintf(b->yaml, sizeof(b->yaml), gw_hdr, mode, gw_extra ? gw_extra : "",
		     svc_meta ? svc_meta : "", svc_spec ? svc_spec : "", eps);
	assert_true(n < (int)sizeof(b->yaml));
	b->o = mg_outlier_create(p ? p : &params, &nolimit);
	assert_non_null(b->o);
	b->t = build(b);
	sync_from(b->o, b->t);
	publish(b, 0);
	b->seed = 0x9e3779b97f4a7c15ull;
}

static void
bed_close(struct bed *b)
{
	mg_lb_free(b->t);
	mg_outlier_free(b->o);
}

static const struct mg_lb_svc *
web(const struct bed *b)
{
	const struct mg_lb_svc *s = mg_lb_lookup(b->t, IP(10, 96, 0, 10), rte_cpu_to_be_16(80));

	assert_non_null(s);
	return s;
}

/* One pick from the table in force; the endpoint's id, 0 = no upstream. */
static uint32_t
pick(struct bed *b, const uint32_t *tried, uint32_t n_tried)
{
	const struct mg_lb_ep *ep = mg_lb_pick(b->t, web(b), rnd(&b->seed), tried, n_tried);

	return ep ? ep->id : 0;
}

/* What the control loop does at @p now: timers, then publish if due. */
static void
control(struct bed *b, uint64_t now)
{
	mg_outlier_tick(b->o, now);
	if (mg_outlier_publish_due(b->o, now))
		publish(b, now);
}

/* @p id's state in the table in force. */
static enum mg_lb_ep_state
table_state(const struct bed *b, uint32_t id)
{
	const struct mg_lb_svc *s = web(b);

	for (uint32_t i = 0; i < s->ep_count; i++)
		if (b->t->eps[s->ep_first + i].id == id)
			return (enum mg_lb_ep_state)b->t->eps[s->ep_first + i].state;
	fail_msg("not in the table");
	return MG_LB_EP_OK;
}

/* The service's candidate ids, for the dazed test. */
static uint32_t
candidates(const struct bed *b, uint32_t *ids)
{
	const struct mg_lb_svc *s = web(b);

	for (uint32_t i = 0; i < s->ep_count; i++)
		ids[i] = b->t->eps[s->ep_first + i].id;
	return s->ep_count;
}

/* ---- Scenarios ------------------------------------------------------------ */

static void
scenario_27_consecutive_failures_eject(void **state)
{
	struct bed b;
	uint32_t wa_prev = UINT32_MAX, failures = 0, a_while_ejected = 0, b_while_ejected = 0;
	uint64_t t_eject = 0, t;
	struct mg_ol_note n;

	(void)state;
	bed_open(&b, "Any", NULL, NULL, "  trafficDistribution: PreferSameZone",
		 EP("10.1.0.1", "N1") EP("10.1.0.2", "N1"), NULL);
	/* New connections every 10 ms; A refuses, B accepts. */
	for (t = 10; t < 40000; t += 10) {
		uint32_t id = pick(&b, NULL, 0);

		assert_int_not_equal(id, 0);
		if (t_eject && t < t_eject + 30000) {
			a_while_ejected += id == A;
			b_while_ejected += id == B;
		}
		ev(b.o, id, MG_OL_START, t);
		if (id == A && t_eject == 0) {
			enum mg_ol_change ch = ev(b.o, A, MG_OL_REFUSED, t);
			uint32_t wa = mg_outlier_weight(b.o, A, 1);
			uint32_t wb = mg_outlier_weight(b.o, B, 1);

			failures++;
			if (failures < 5) {
				/* Failures 1 to 4: A's share is below 50 % and falls. */
				assert_int_equal(peek(b.o, A, NULL), MG_LB_EP_OK);
				assert_true(wa < wb);
				assert_true(wa < wa_prev);
				wa_prev = wa;
				assert_int_equal(ch, MG_OL_WEIGHT);
			} else {
				assert_int_equal(ch, MG_OL_STATE); /* publish now */
				t_eject = t;
			}
		} else if (id == A) {
			ev(b.o, A, MG_OL_REFUSED, t);
		} else {
			ev(b.o, id, MG_OL_OK, t);
			ev(b.o, id, MG_OL_CLOSED, t);
		}
		control(&b, t);
		if (t_eject == t)
			/* out in the very next generation */
			assert_int_equal(table_state(&b, A), MG_LB_EP_EJECTED);
	}
	assert_int_not_equal(t_eject, 0);
	/* For 30 s A gets 0 new connections and B everything. */
	assert_int_equal(a_while_ejected, 0);
	assert_int_equal(b_while_ejected, 3000 - 1);
	assert_int_equal(mg_outlier_notes(b.o, &n, 1), 1);
	assert_int_equal(n.kind, MG_OL_N_EJECTED);
	assert_int_equal(n.id, A);
	assert_int_equal(n.until, t_eject + 30000);
	assert_int_equal(n.reason, MG_OL_REFUSED);
	/* Exactly at expiry it came back, and (still refusing) went again, for 60 s. */
	assert_int_equal(mg_outlier_notes(b.o, &n, 1), 1);
	assert_int_equal(n.kind, MG_OL_N_READMITTED);
	assert_int_equal(n.ms, t_eject + 30000);
	assert_int_equal(rec(b.o, A)->ejections, 2);
	assert_int_equal(rec(b.o, A)->k, 2);
	bed_close(&b);
}

static void
scenario_28_ejection_feeds_tier_failover(void **state)
{
	struct bed b;
	uint32_t ids[2];
	uint64_t t = 1;

	(void)state;
	bed_open(&b, "Any", NULL, NULL, "  trafficDistribution: PreferSameZone",
		 EP("10.1.0.1", "N1") EP("10.1.0.2", "NZ2"), NULL);
	for (int i = 0; i < 200; i++)
		assert_int_equal(pick(&b, NULL, 0), A); /* only A in z1 */
	/* A times out on connect, 5 times: traffic moves to B with no configuration change. */
	for (int i = 0; i < 5; i++, t += 500) {
		assert_int_equal(pick(&b, NULL, 0), A);
		ev(b.o, A, MG_OL_START, t);
		ev(b.o, A, MG_OL_TIMEOUT, t + 500);
		control(&b, t + 500);
	}
	assert_int_equal(peek(b.o, A, NULL), MG_LB_EP_EJECTED);
	assert_false(web(&b)->dazed);
	assert_int_equal(candidates(&b, ids), 2);
	assert_false(mg_outlier_all_ejected(b.o, ids, 2));
	for (int i = 0; i < 1000; i++)
		assert_int_equal(pick(&b, NULL, 0), B);
	/* A's ejection ends and it accepts again: traffic returns to A exclusively. */
	control(&b, rec(b.o, A)->ejected_until);
	for (int i = 0; i < 1000; i++) {
		uint32_t id = pick(&b, NULL, 0);

		assert_int_equal(id, A);
		conn_n(b.o, id, MG_OL_OK, 1, rec(b.o, A)->readmitted_at + (uint64_t)i);
	}
	bed_close(&b);
}

static void
scenario_29_ejection_time_grows(void **state)
{
	struct mg_outlier *o = two();
	uint64_t t = 0;
	const uint64_t want[] = { 30000, 60000, 90000, 120000, 150000, 180000, 210000, 240000,
				  270000, 300000, 300000, 300000 };

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		fail_n(o, A, 5, t);
		assert_int_equal(peek(o, A, NULL), MG_LB_EP_EJECTED);
		assert_int_equal(rec(o, A)->ejected_until - t, want[i]);
		/* Never above 300 s, and the multiplier stops at max / base = 10. */
		assert_true(rec(o, A)->k <= 10);
		assert_int_equal(mg_outlier_next_deadline(o) <= rec(o, A)->ejected_until, true);
		t += want[i];
		mg_outlier_tick(o, t); /* re-admitted; fails 5 times straight away */
		assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);
	}
	assert_int_equal(rec(o, A)->ejections, 12);
	mg_outlier_free(o);
}

static void
scenario_30_ejection_multiplier_decays(void **state)
{
	struct mg_outlier *o = two();
	uint64_t t = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		fail_n(o, A, 5, t);
		t = rec(o, A)->ejected_until;
		mg_outlier_tick(o, t);
	}
	assert_int_equal(rec(o, A)->k, 3);
	/* Healthy for three intervals (30 s): one decay each. */
	for (int i = 1; i <= 3; i++) {
		mg_outlier_tick(o, t + (uint64_t)i * 10000 - 1);
		assert_int_equal(rec(o, A)->k, 3 - i + 1);
		mg_outlier_tick(o, t + (uint64_t)i * 10000);
		assert_int_equal(rec(o, A)->k, 3 - i);
	}
	mg_outlier_published(o, t + 30000);
	assert_int_equal(mg_outlier_next_deadline(o), MG_OL_NEVER); /* no timer left */
	t += 30000;
	fail_n(o, A, 5, t);
	assert_int_equal(rec(o, A)->ejected_until - t, 30000); /* 30 s again */
	mg_outlier_free(o);
}

static void
scenario_31_a_success_resets_the_count(void **state)
{
	struct mg_outlier *o = two();

	(void)state;
	fail_n(o, A, 4, 10);
	assert_int_equal(rec(o, A)->consecutive, 4);
	conn_n(o, A, MG_OL_OK, 1, 10);
	assert_int_equal(rec(o, A)->consecutive, 0);
	fail_n(o, A, 4, 20);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);
	assert_int_equal(rec(o, A)->ejections, 0);
	mg_outlier_free(o);
}

static void
scenario_32_post_handshake_errors_are_not_failures(void **state)
{
	struct mg_outlier *o = two();

	(void)state;
	for (uint64_t i = 0; i < 50; i++) {
		/* accepted, then the app answers 500 and resets, or closes after a byte */
		ev(o, A, MG_OL_START, i);
		ev(o, A, MG_OL_OK, i);
		if (i % 2)
			ev(o, A, MG_OL_RESET, i);
		ev(o, A, MG_OL_CLOSED, i);
	}
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);
	assert_int_equal(rec(o, A)->consecutive, 0);
	assert_int_equal(rec(o, A)->ejections, 0);
	assert_true(rec(o, A)->score > 0.999);
	assert_int_equal(rec(o, A)->events[MG_OL_RESET], 25); /* counted for display */
	assert_int_equal(rec(o, A)->events[MG_OL_CLOSED], 50);
	assert_int_equal(rec(o, A)->active, 0);
	assert_int_equal(rec(o, A)->pending, 0);
	mg_outlier_free(o);
}

static void
scenario_33_hbone_error_replies_count_as_failures(void **state)
{
	/* Needs HBONE (CONNECT answered non-2xx, TLS to :15008 failing): not
	 * built yet. The model takes such outcomes as any connect failure. */
	(void)state;
	skip();
}

static void
scenario_34_dazed_when_everything_is_ejected(void **state)
{
	struct bed b;
	uint32_t ids[2], n;

	(void)state;
	bed_open(&b, "Any", NULL, NULL, "  trafficDistribution: PreferSameZone",
		 EP("10.1.0.1", "N1") EP("10.1.0.2", "NZ2"), NULL);
	fail_n(b.o, B, 5, 100);
	control(&b, 100);
	n = candidates(&b, ids);
	assert_false(mg_outlier_all_ejected(b.o, ids, n));
	fail_n(b.o, A, 5, 200);
	control(&b, 200);
	assert_true(mg_outlier_all_ejected(b.o, ids, n)); /* the caller counts it */
	assert_true(web(&b)->dazed);
	/* Still attempted, in the normal tier order over all: A only. Nothing refused. */
	for (int i = 0; i < 2000; i++)
		assert_int_equal(pick(&b, NULL, 0), A);
	/* B back: no longer dazed, B only (A still ejected). */
	control(&b, rec(b.o, B)->ejected_until);
	assert_false(mg_outlier_all_ejected(b.o, ids, n));
	assert_false(web(&b)->dazed);
	for (int i = 0; i < 500; i++)
		assert_int_equal(pick(&b, NULL, 0), B);
	bed_close(&b);
}

static void
scenario_35_dazed_keeps_strict_filter(void **state)
{
	struct bed b;
	uint32_t ids[2], n;

	(void)state;
	bed_open(&b, "Any", NULL, NULL, "  internalTrafficPolicy: Local",
		 EP("10.1.0.1", "N1") EP("10.1.0.2", "N2"), NULL);
	/* STRICT [NODE]: Q (other node) is no candidate at all. */
	n = candidates(&b, ids);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], A);
	fail_n(b.o, A, 5, 10);
	control(&b, 10);
	assert_true(mg_outlier_all_ejected(b.o, ids, n));
	assert_true(web(&b)->dazed);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(pick(&b, NULL, 0), A); /* P, never the other node's Q */
	bed_close(&b);
}

static char tmpdir[64];

static void
write_file(const char *name, const char *text)
{
	mg_test_write_file(tmpdir, name, text);
}

static void
scenario_36_gateway_tracked_like_any_endpoint(void **state)
{
	/* Network n2 is served by two east-west gateway instances (two peered
	 * clusters' gateways, same labels); the GW2 instance refuses. */
	static const char slice[] =
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-r\n"
		"  namespace: demo\n  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n"
		"  - addresses: [10.60.0.1]\n  - addresses: [10.60.0.2]\n";
	const uint32_t gw2 = IP(10, 70, 0, 2), gw3 = IP(10, 70, 0, 3);
	char rc[1024];
	struct bed b;
	uint32_t hits2 = 0, hits3 = 0;
	uint64_t t = 1;

	(void)state;
	strcpy(tmpdir, "/tmp/test_outlier.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	write_file("c2.yaml", slice);
	write_file("c3.yaml", slice);
	snprintf(rc, sizeof(rc),
		 "  remoteClusters:\n"
		 "    - {name: c2, network: n2, eastWestGateway: {address: 10.70.0.2, locality: {region: r1, zone: z1}}, manifests: [%s/c2.yaml]}\n"
		 "    - {name: c3, network: n2, eastWestGateway: {address: 10.70.0.3, locality: {region: r1, zone: z1}}, manifests: [%s/c3.yaml]}\n",
		 tmpdir, tmpdir);
	/* PreferNetwork, no local endpoints. */
	bed_open(&b, "PreferNetwork", rc, "  annotations: {solo.io/service-scope: global-only}",
		 NULL, "  []", NULL);
	assert_non_null(mg_outlier_find(b.o, gw2)); /* tracked by the gateway's address */
	assert_non_null(mg_outlier_find(b.o, gw3));
	for (int i = 0; i < 2000; i++) {
		uint32_t id = pick(&b, NULL, 0);

		hits2 += id == gw2;
		hits3 += id == gw3;
	}
	assert_in_range(hits2, 850, 1150); /* both in use */
	assert_int_equal(hits2 + hits3, 2000);
	/* GW2 refuses: after the threshold it is ejected and all goes via GW3. */
	while (peek(b.o, gw2, NULL) == MG_LB_EP_OK) {
		uint32_t id = pick(&b, NULL, 0);

		conn_n(b.o, id, id == gw2 ? MG_OL_REFUSED : MG_OL_OK, 1, t);
		control(&b, t++);
	}
	assert_int_equal(rec(b.o, gw2)->ejections, 1);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(pick(&b, NULL, 0), gw3);
	bed_close(&b);
	unlink(strcat(strcpy(rc, tmpdir), "/c2.yaml"));
	unlink(strcat(strcpy(rc, tmpdir), "/c3.yaml"));
	rmdir(tmpdir);
}

static void
scenario_37_connect_retry_before_any_forwarded_byte(void **state)
{
	const uint32_t max_attempts = 3; /* maxConnectAttempts: 1 + 2 retries */
	struct bed b;
	uint32_t attempts_a = 0;
	uint64_t t = 1;

	(void)state;
	bed_open(&b, "Any", NULL, NULL, "  trafficDistribution: PreferSameZone",
		 EP("10.1.0.1", "N1") EP("10.1.0.2", "N1"), NULL);
	for (int c = 0; c < 500; c++, t += 10) {
		uint32_t tried[3], n = 0, id = 0;

		/* One client connection: re-select excluding the endpoints tried. */
		while (n < max_attempts) {
			id = pick(&b, tried, n);
			assert_int_not_equal(id, 0);
			for (uint32_t k = 0; k < n; k++)
				assert_int_not_equal(tried[k], id); /* never retried */
			tried[n++] = id;
			ev(b.o, id, MG_OL_START, t);
			if (id != A)
				break;
			attempts_a++;
			ev(b.o, id, MG_OL_REFUSED, t);
		}
		assert_int_equal(id, B); /* the client's connection succeeds through B */
		assert_true(n <= max_attempts);
		ev(b.o, B, MG_OL_OK, t);
		control(&b, t);
	}
	/* A's refusals are failures in the model: it is ejected after 5 of them. */
	assert_int_equal(attempts_a, 5);
	assert_int_equal(peek(b.o, A, NULL), MG_LB_EP_EJECTED);
	bed_close(&b);
}

static void
scenario_38_readmission_uses_a_fresh_score(void **state)
{
	struct bed b;
	uint32_t fa, fb, a_first = 0, a_late = 0, n = 0;
	uint64_t t;

	(void)state;
	bed_open(&b, "Any", NULL, NULL, NULL, EP("10.1.0.1", "N1") EP("10.1.0.2", "N1"), NULL);
	fail_n(b.o, A, 5, 0);
	control(&b, 0);
	t = rec(b.o, A)->ejected_until;
	control(&b, t);
	/* Its failure counter is 0; its score starts at the re-admission value. */
	assert_int_equal(rec(b.o, A)->consecutive, 0);
	assert_int_equal(peek(b.o, A, &fa), MG_LB_EP_OK);
	peek(b.o, B, &fb);
	assert_int_equal(fa, 500);
	assert_int_equal(fb, 1000);
	/* A now accepts: >= 20 % of the first 100 connections, then about half. */
	for (; n < 2100; n++, t += 10) {
		uint32_t id = pick(&b, NULL, 0);

		if (n < 100)
			a_first += id == A;
		else if (n >= 1100)
			a_late += id == A;
		conn_n(b.o, id, MG_OL_OK, 1, t);
		ev(b.o, id, MG_OL_CLOSED, t);
		control(&b, t);
	}
	assert_true(a_first >= 20);
	peek(b.o, A, &fa);
	assert_int_equal(fa, 1000);
	/* 1000 picks at 50 %: +- 4 sigma (sigma = 15.8) */
	assert_in_range(a_late, 500 - 64, 500 + 64);
	bed_close(&b);
}

static void
scenario_40_config_change_drops_state(void **state)
{
	struct mg_outlier *o = two();
	const uint32_t next[] = { B, C, C };

	(void)state;
	fail_n(o, A, 5, 0);
	fail_n(o, B, 2, 0);
	assert_int_equal(o->n_ejected, 1);
	assert_int_equal(mg_outlier_sync(o, next, 3), 0);
	assert_int_equal(mg_outlier_count(o), 2);     /* duplicates ignored */
	assert_null(mg_outlier_find(o, A));           /* A's state dropped */
	assert_int_equal(rec(o, B)->consecutive, 2);  /* B's kept */
	assert_true(rec(o, C)->score == 1.0);         /* C starts healthy */
	assert_false(rec(o, C)->ejected);
	assert_int_equal(o->n_ejected, 0);
	mg_outlier_published(o, 0);
	assert_int_equal(mg_outlier_next_deadline(o), MG_OL_NEVER); /* A's timer gone too */
	assert_int_equal(mg_outlier_event(o, A, MG_OL_REFUSED, 0, 1), MG_OL_NONE);
	assert_int_equal(o->unknown_events, 1);
	mg_outlier_free(o);
}

/* ---- Edges of the model ---------------------------------------------------- */

static void
ewma_score_and_latency(void **state)
{
	struct mg_outlier *o = two();
	const struct mg_ol_ep *e = rec(o, A);

	(void)state;
	fail_n(o, A, 1, 0);
	assert_float_equal(e->score, 0.7, 1e-9);
	fail_n(o, A, 1, 0);
	assert_float_equal(e->score, 0.49, 1e-9);
	conn_n(o, A, MG_OL_OK, 1, 0);
	assert_float_equal(e->score, 0.3 + 0.7 * 0.49, 1e-9);
	mg_outlier_event(o, B, MG_OL_START, 0, 0);
	mg_outlier_event(o, B, MG_OL_OK, 1000, 0);
	assert_float_equal(rec(o, B)->latency_us, 1000, 1e-9); /* the first sample */
	mg_outlier_event(o, B, MG_OL_START, 0, 0);
	mg_outlier_event(o, B, MG_OL_OK, 2000, 0);
	assert_float_equal(rec(o, B)->latency_us, 1300, 1e-9);
	assert_int_equal(rec(o, B)->active, 2);
	mg_outlier_free(o);
}

static void
weights_follow_the_factor_with_a_floor(void **state)
{
	struct mg_conf_outlier p = params;
	struct mg_outlier *o;
	const uint32_t ids[] = { A, B };
	uint32_t f;

	(void)state;
	p.consecutive_failures = 100;
	o = model(&p, NULL, ids, 2);
	assert_int_equal(mg_outlier_weight(o, A, 1), 100);   /* 100 x capacity at full health */
	assert_int_equal(mg_outlier_weight(o, A, 3), 300);
	assert_int_equal(mg_outlier_weight(o, A, 0), 0);     /* capacity 0: never selected */
	assert_int_equal(mg_outlier_weight(o, D, 2), 200);   /* not tracked: full weight */
	fail_n(o, A, 50, 0);
	peek(o, A, &f);
	assert_int_equal(f, 50);                             /* max(s, 0.05) */
	assert_int_equal(mg_outlier_weight(o, A, 1), 5);
	assert_int_equal(mg_outlier_weight(o, A, 1u << 30), 1u << 24); /* clamped */
	mg_outlier_free(o);
}

static void
disabled_detection_tracks_but_never_ejects(void **state)
{
	struct mg_conf_outlier off = params;
	struct mg_outlier *o = two();
	struct mg_ol_note n[4];
	uint32_t f, k;

	(void)state;
	fail_n(o, A, 5, 100);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_EJECTED);
	off.enabled = false;
	mg_outlier_set_params(o, &off, &nolimit);          /* lifts ejections */
	assert_int_equal(peek(o, A, &f), MG_LB_EP_OK);
	assert_int_equal(f, 1000);                          /* and de-weighting */
	assert_true(mg_outlier_publish_due(o, 100));
	k = mg_outlier_notes(o, n, 4);
	assert_int_equal(k, 2);
	assert_int_equal(n[1].kind, MG_OL_N_READMITTED);
	assert_int_equal(n[1].reason, MG_OL_R_DISABLED);
	fail_n(o, B, 20, 200);
	assert_int_equal(peek(o, B, NULL), MG_LB_EP_OK);
	assert_int_equal(rec(o, B)->events[MG_OL_REFUSED], 20);
	assert_int_equal(o->n_ejected, 0);
	mg_outlier_free(o);
}

static void
failures_while_ejected_do_not_extend_it(void **state)
{
	struct mg_outlier *o = two();
	uint64_t until;

	(void)state;
	fail_n(o, A, 5, 0);
	until = rec(o, A)->ejected_until;
	fail_n(o, A, 20, 1000); /* connects begun before the ejection, or dazed picks */
	assert_int_equal(rec(o, A)->ejected_until, until);
	assert_int_equal(rec(o, A)->ejections, 1);
	mg_outlier_tick(o, until);
	assert_int_equal(rec(o, A)->consecutive, 0);
	fail_n(o, A, 4, until + 1); /* one failure after re-admission is not enough */
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);
	fail_n(o, A, 1, until + 2);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_EJECTED);
	mg_outlier_free(o);
}

static void
decay_needs_a_healthy_interval(void **state)
{
	struct mg_outlier *o = two();
	uint64_t t;

	(void)state;
	fail_n(o, A, 5, 0);
	fail_n(o, A, 5, 30000); /* still ejected: ignored */
	t = rec(o, A)->ejected_until;
	mg_outlier_tick(o, t);
	fail_n(o, A, 5, t);
	t = rec(o, A)->ejected_until;
	mg_outlier_tick(o, t);
	assert_int_equal(rec(o, A)->k, 2);
	/* A failure 4 s into the first interval restarts it. */
	fail_n(o, A, 1, t + 4000);
	mg_outlier_tick(o, t + 10000);
	mg_outlier_published(o, t + 10000);
	assert_int_equal(rec(o, A)->k, 2);
	assert_int_equal(mg_outlier_next_deadline(o), t + 14000);
	mg_outlier_tick(o, t + 14000);
	assert_int_equal(rec(o, A)->k, 1);
	/* A late tick catches up with every healthy interval it missed. */
	mg_outlier_tick(o, t + 60000);
	assert_int_equal(rec(o, A)->k, 0);
	mg_outlier_free(o);
}

static void
max_ejection_percent_per_group(void **state)
{
	struct mg_conf_outlier p = params;
	struct mg_outlier *o;
	/* svc1 = {A, B}, svc2 = {C, D, A}; A is in both. */
	const uint32_t ids[] = { A, B, C, D, A, A };
	const uint32_t counts[] = { 2, 4 };
	struct mg_ol_note n[8];

	(void)state;
	p.max_ejection_percent = 50;
	o = mg_outlier_create(&p, &nolimit);
	assert_int_equal(mg_outlier_sync_groups(o, ids, counts, 2), 0);
	assert_int_equal(o->grp[0].size, 2);
	assert_int_equal(o->grp[1].size, 3);             /* A once */
	fail_n(o, C, 5, 0);                              /* svc2: 1 of 3, the first always goes */
	assert_int_equal(peek(o, C, NULL), MG_LB_EP_EJECTED);
	fail_n(o, A, 5, 0);                              /* svc2 would be 2 of 3 > 50 % */
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);
	assert_int_equal(o->ejections_refused, 1);
	fail_n(o, A, 3, 1);                              /* each further failure tries again */
	assert_int_equal(o->ejections_refused, 4);
	assert_int_equal(rec(o, A)->held_back, 4);
	fail_n(o, B, 5, 2);                              /* svc1: 1 of 2: fine */
	assert_int_equal(peek(o, B, NULL), MG_LB_EP_EJECTED);
	/* C ejected, A held back (noted once), B ejected */
	assert_int_equal(mg_outlier_notes(o, n, 8), 3);
	assert_int_equal(n[1].kind, MG_OL_N_HELD_BACK);
	assert_int_equal(n[1].id, A);
	/* Room again: C back, the next failure of A ejects it. */
	mg_outlier_tick(o, rec(o, C)->ejected_until);
	assert_int_equal(peek(o, C, NULL), MG_LB_EP_OK);
	mg_outlier_tick(o, rec(o, B)->ejected_until);
	fail_n(o, A, 1, 40000);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_EJECTED);
	assert_int_equal(o->grp[1].n_ejected, 1);
	assert_int_equal(o->grp[0].n_ejected, 1);
	mg_outlier_free(o);
}

static void
max_ejection_percent_edges(void **state)
{
	struct mg_conf_outlier p = params;
	struct mg_outlier *o;
	const uint32_t ids[] = { A, B, C };

	(void)state;
	p.max_ejection_percent = 10; /* 3 endpoints: 10 % is less than one */
	o = model(&p, NULL, ids, 3);
	fail_n(o, A, 5, 0);
	fail_n(o, B, 5, 0);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_EJECTED); /* at least one */
	assert_int_equal(peek(o, B, NULL), MG_LB_EP_OK);
	mg_outlier_free(o);
	p.max_ejection_percent = 0; /* 0: ejection off */
	o = model(&p, NULL, ids, 3);
	fail_n(o, A, 5, 0);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);
	assert_int_equal(o->ejections_refused, 1);
	mg_outlier_free(o);
	p.max_ejection_percent = 100; /* 100: all of them (then dazed) */
	o = model(&p, NULL, ids, 3);
	for (int i = 0; i < 3; i++)
		fail_n(o, ids[i], 5, 0);
	assert_true(mg_outlier_all_ejected(o, ids, 3));
	assert_false(mg_outlier_all_ejected(o, ids, 0));
	mg_outlier_free(o);
}

static void
sync_keeps_ejections_and_recounts_groups(void **state)
{
	struct mg_conf_outlier p = params;
	struct mg_outlier *o;
	const uint32_t ids[] = { A, B, C, D };
	const uint32_t ids2[] = { A, B, C, D };
	const uint32_t counts2[] = { 2, 2 };

	(void)state;
	p.max_ejection_percent = 50;
	o = model(&p, NULL, ids, 4);
	fail_n(o, A, 5, 0);
	fail_n(o, C, 5, 0);
	assert_int_equal(o->n_ejected, 2);
	/* Regrouped: {A, B} and {C, D}, each with one ejected. */
	assert_int_equal(mg_outlier_sync_groups(o, ids2, counts2, 2), 0);
	assert_int_equal(o->grp[0].n_ejected, 1);
	assert_int_equal(o->grp[1].n_ejected, 1);
	fail_n(o, B, 5, 1);
	assert_int_equal(peek(o, B, NULL), MG_LB_EP_OK); /* 2 of 2 > 50 % */
	/* The kept ejection still ends on time. */
	mg_outlier_published(o, 1);
	assert_int_equal(mg_outlier_next_deadline(o), 30000);
	mg_outlier_tick(o, 30000);
	assert_int_equal(o->n_ejected, 0);
	assert_int_equal(o->grp[0].n_ejected, 0);
	mg_outlier_free(o);
}

static void
circuit_breaker_limits(void **state)
{
	const struct mg_conf_circuit cb = { .max_connections = 2, .max_pending_connects = 3 };
	const uint32_t ids[] = { A };
	struct mg_outlier *o = model(NULL, &cb, ids, 1);
	uint32_t f;

	(void)state;
	ev(o, A, MG_OL_START, 0);
	ev(o, A, MG_OL_START, 0);
	assert_int_equal(ev(o, A, MG_OL_START, 0), MG_OL_STATE); /* reaching a limit: now */
	assert_int_equal(mg_outlier_state(o, A, &f), MG_LB_EP_AT_LIMIT); /* 3 pending */
	assert_int_equal(mg_outlier_weight(o, A, 1), 0);
	mg_outlier_overflow(o, A);
	assert_int_equal(rec(o, A)->overflow, 1);
	assert_int_equal(o->overflow, 1);
	/* Releasing a limit waits for the batch. */
	assert_int_equal(ev(o, A, MG_OL_OK, 0), MG_OL_WEIGHT);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);          /* 2 pending, 1 active */
	/* Back at the limit (2 active) before the release was published: nothing to do. */
	assert_int_equal(ev(o, A, MG_OL_OK, 0), MG_OL_NONE);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_AT_LIMIT);
	/* Published below the limit, then reaching it again: now. */
	assert_int_equal(ev(o, A, MG_OL_CLOSED, 0), MG_OL_WEIGHT);
	mg_outlier_published(o, 0);
	assert_int_equal(rec(o, A)->published_state, MG_LB_EP_OK);
	assert_int_equal(ev(o, A, MG_OL_OK, 0), MG_OL_STATE);
	/* A connect given up (client gone) frees its pending slot. */
	ev(o, A, MG_OL_CLOSED, 0);
	ev(o, A, MG_OL_START, 0);
	ev(o, A, MG_OL_START, 0);
	assert_int_equal(rec(o, A)->pending, 2);
	ev(o, A, MG_OL_ABORTED, 0);
	assert_int_equal(rec(o, A)->pending, 1);
	/* Lost events: the workers' own counts put it right. */
	mg_outlier_set_conns(o, A, 0, 0, 1);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);
	assert_int_equal(rec(o, A)->active, 0);
	/* Counters never go below 0. */
	ev(o, A, MG_OL_CLOSED, 2);
	ev(o, A, MG_OL_OK, 2);
	assert_int_equal(rec(o, A)->pending, 0);
	mg_outlier_free(o);
}

static void
circuit_limits_follow_new_params(void **state)
{
	const struct mg_conf_circuit cb = { .max_connections = 1 };
	const uint32_t ids[] = { A };
	struct mg_outlier *o = model(NULL, NULL, ids, 1);
	struct mg_ol_note n[2];

	(void)state;
	conn_n(o, A, MG_OL_OK, 1, 0);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);
	mg_outlier_set_params(o, &params, &cb);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_AT_LIMIT);
	assert_true(mg_outlier_publish_due(o, 0));
	assert_int_equal(mg_outlier_notes(o, n, 2), 1);
	assert_int_equal(n[0].kind, MG_OL_N_LIMIT_ON);
	assert_int_equal(n[0].k, 1); /* active */
	mg_outlier_free(o);
}

static void
publication_is_batched_for_weights_immediate_for_state(void **state)
{
	struct mg_outlier *o = two();

	(void)state;
	mg_outlier_published(o, 1000);
	assert_false(mg_outlier_publish_due(o, 1000));
	/* Successes on a healthy endpoint change nothing worth a generation. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(conn_n(o, B, MG_OL_OK, 1, 1000), MG_OL_NONE);
	assert_false(mg_outlier_publish_due(o, 5000));
	assert_int_equal(mg_outlier_next_deadline(o), MG_OL_NEVER);
	/* A failure moves A's factor 1000 -> 700: weight-only, batched. */
	assert_int_equal(conn_n(o, A, MG_OL_REFUSED, 1, 1010), MG_OL_WEIGHT);
	assert_false(mg_outlier_publish_due(o, 1010));
	assert_int_equal(mg_outlier_next_deadline(o), 1100);
	assert_false(mg_outlier_publish_due(o, 1099));
	assert_true(mg_outlier_publish_due(o, 1100));
	mg_outlier_published(o, 1100);
	assert_int_equal(rec(o, A)->published_factor, 700);
	assert_int_equal(o->generation, 2);
	/* The ejection: at once, even within the batch period. */
	conn_n(o, A, MG_OL_REFUSED, 3, 1110);
	assert_false(mg_outlier_publish_due(o, 1110));
	assert_int_equal(conn_n(o, A, MG_OL_REFUSED, 1, 1120), MG_OL_STATE);
	assert_true(mg_outlier_publish_due(o, 1120));
	assert_int_equal(mg_outlier_next_deadline(o), 1120);
	mg_outlier_published(o, 1120);
	assert_int_equal(rec(o, A)->published_state, MG_LB_EP_EJECTED);
	/* Re-admission: at once too, and exactly at expiry. */
	assert_int_equal(mg_outlier_next_deadline(o), 1120 + 30000);
	assert_int_equal(mg_outlier_tick(o, 1120 + 29999), MG_OL_NONE);
	assert_int_equal(mg_outlier_tick(o, 1120 + 30000), MG_OL_STATE);
	assert_true(mg_outlier_publish_due(o, 1120 + 30000));
	mg_outlier_free(o);
}

static void
weight_hysteresis(void **state)
{
	struct mg_outlier *o = two();
	uint32_t f;

	(void)state;
	/* Default 50 thousandths: 1000 -> 700 -> 790 both count. */
	assert_int_equal(conn_n(o, A, MG_OL_REFUSED, 1, 0), MG_OL_WEIGHT);
	mg_outlier_state(o, A, &f);
	assert_int_equal(f, 700);
	assert_int_equal(conn_n(o, A, MG_OL_OK, 1, 0), MG_OL_WEIGHT);
	/* 200: 700 -> 790 does not; 700 -> 853 does, being over a fifth of 700. */
	mg_outlier_set_publish(o, 100, 200);
	assert_int_equal(mg_outlier_event(o, A, MG_OL_CLOSED, 0, 0), MG_OL_NONE);
	assert_int_equal(conn_n(o, A, MG_OL_OK, 1, 0), MG_OL_WEIGHT);
	mg_outlier_state(o, A, &f);
	assert_int_equal(f, 853);
	/* Near the top, 853 -> 897 -> 928 -> 950 -> 965: only the absolute rule. */
	assert_int_equal(conn_n(o, A, MG_OL_OK, 3, 0), MG_OL_NONE);
	assert_int_equal(conn_n(o, A, MG_OL_OK, 1, 0), MG_OL_NONE);
	mg_outlier_free(o);
}

static void
notes_report_changes_and_keep_the_newest(void **state)
{
	const uint32_t ids[] = { A, B };
	struct mg_conf_outlier p = params;
	struct mg_outlier *o;
	struct mg_ol_note n[MG_OL_NOTES];
	uint32_t k;

	(void)state;
	p.consecutive_failures = 1;
	p.base_ejection_ms = 10;
	p.max_ejection_ms = 10;
	o = model(&p, NULL, ids, 2);
	conn_n(o, A, MG_OL_TIMEOUT, 1, 5);
	k = mg_outlier_notes(o, n, MG_OL_NOTES);
	assert_int_equal(k, 1);
	assert_int_equal(n[0].kind, MG_OL_N_EJECTED);
	assert_int_equal(n[0].reason, MG_OL_TIMEOUT);
	assert_int_equal(n[0].ms, 5);
	assert_int_equal(n[0].until, 15);
	assert_int_equal(n[0].k, 1);
	assert_int_equal(n[0].failures, 1);
	assert_string_equal(mg_ol_note_name(n[0].kind), "ejected");
	assert_int_equal(mg_outlier_notes(o, n, MG_OL_NOTES), 0);
	/* 300 ejections + re-admissions: the ring keeps the newest 256. */
	for (uint64_t t = 15; t < 15 + 150 * 10; t += 10) {
		mg_outlier_tick(o, t);
		conn_n(o, A, MG_OL_REFUSED, 1, t);
	}
	assert_int_equal(o->notes_lost, 300 - MG_OL_NOTES);
	k = mg_outlier_notes(o, n, MG_OL_NOTES);
	assert_int_equal(k, MG_OL_NOTES);
	assert_int_equal(n[k - 1].kind, MG_OL_N_EJECTED);
	assert_int_equal(n[k - 1].ms, 15 + 149 * 10);
	assert_int_equal(n[k - 2].kind, MG_OL_N_READMITTED);
	assert_string_equal(mg_ol_readmit_name(n[k - 2].reason), "ejection expired");
	mg_outlier_free(o);
}

static void
show_state_and_iteration(void **state)
{
	const struct mg_conf_circuit cb = { .max_connections = 1 };
	const uint32_t ids[] = { A, B, C };
	struct mg_outlier *o = model(NULL, &cb, ids, 3);
	uint32_t seen = 0;

	(void)state;
	fail_n(o, A, 5, 0);
	conn_n(o, B, MG_OL_OK, 1, 0);
	for (uint32_t i = 0; i < mg_outlier_count(o); i++) {
		const struct mg_ol_ep *e = mg_outlier_at(o, i);

		seen |= 1u << (rte_be_to_cpu_32(e->id) & 0xff);
		if (e->id == A) {
			assert_string_equal(mg_ol_show_name(mg_outlier_show(e)), "ejected");
			assert_int_equal(e->last_failure, MG_OL_REFUSED);
			assert_int_equal(e->events[MG_OL_START], 5);
		} else if (e->id == B) {
			assert_string_equal(mg_ol_show_name(mg_outlier_show(e)), "at-limit");
		} else {
			assert_string_equal(mg_ol_show_name(mg_outlier_show(e)), "healthy");
		}
	}
	assert_int_equal(seen, 0xe);
	assert_null(mg_outlier_at(o, 3));
	assert_string_equal(mg_ol_event_name(MG_OL_ABORTED), "aborted");
	assert_string_equal(mg_ol_event_name((enum mg_ol_event)99), "?");
	mg_outlier_free(o);
}

/* Many endpoints, random ejections: the heap re-admits each exactly on time. */
static void
timers_match_a_brute_force_reference(void **state)
{
	enum { N = 500 };
	struct mg_conf_outlier p = params;
	uint32_t ids[N];
	uint64_t until[N] = { 0 }, seed = 12345;
	struct mg_outlier *o;

	(void)state;
	p.consecutive_failures = 1;
	p.base_ejection_ms = 1000;
	p.max_ejection_ms = 7000;
	p.interval_ms = 500;
	for (uint32_t i = 0; i < N; i++)
		ids[i] = IP(10, 2, i >> 8, i & 0xff);
	o = model(&p, NULL, ids, N);
	for (uint64_t t = 1; t < 60000; t += 1 + rnd(&seed) % 7) {
		uint32_t i = rnd(&seed) % N;

		mg_outlier_tick(o, t);
		for (uint32_t j = 0; j < N; j++) {
			bool want = until[j] > t;

			if (rec(o, ids[j])->ejected != want)
				fail_msg("t=%lu endpoint %u: ejected %d, want %d (until %lu)",
					 (unsigned long)t, j, rec(o, ids[j])->ejected, want,
					 (unsigned long)until[j]);
		}
		if (rnd(&seed) % 3 == 0 && until[i] <= t) {
			conn_n(o, ids[i], MG_OL_REFUSED, 1, t);
			until[i] = rec(o, ids[i])->ejected_until;
			assert_int_equal(until[i] - t, rec(o, ids[i])->k * 1000 > 7000 ?
					 7000 : rec(o, ids[i])->k * 1000);
		}
	}
	mg_outlier_free(o);
}

static void
no_allocation_per_event(void **state)
{
	const uint32_t ids[] = { A, B, C, D };
	const struct mg_conf_circuit cb = { .max_connections = 3 };
	struct mg_outlier *o = model(NULL, &cb, ids, 4);
	struct mg_ol_note n[16];
	uint32_t due[4];
	struct mallinfo2 before, after;

	(void)state;
	mg_outlier_set_healthcheck(o, &hc_on, 0);
	before = mallinfo2();
	for (uint64_t t = 0; t < 200000; t += 3) {
		uint32_t id = ids[t % 4];

		conn_n(o, id, t % 7 ? MG_OL_OK : MG_OL_REFUSED, 1, t);
		if (t % 5 == 0)
			ev(o, id, MG_OL_CLOSED, t);
		mg_outlier_tick(o, t);
		for (uint32_t k = mg_outlier_probes_due(o, t, due, 4); k > 0; k--)
			mg_outlier_probe_result(o, due[k - 1], t % 2, t);
		mg_outlier_notes(o, n, 16);
		if (mg_outlier_publish_due(o, t))
			mg_outlier_published(o, t);
	}
	after = mallinfo2();
	assert_int_equal(after.uordblks, before.uordblks);
	mg_outlier_free(o);
}

/* ---- Active health checks ------------------------------------------------------ */

static struct mg_outlier *
probed(void)
{
	struct mg_outlier *o = two();

	mg_outlier_set_healthcheck(o, &hc_on, 0);
	return o;
}

/* Run the probe schedule until @p id is due; returns when. */
static uint64_t
until_due(struct mg_outlier *o, uint32_t id, uint64_t from)
{
	uint32_t due[8];

	for (uint64_t t = from; t < from + 20000; t++) {
		uint32_t k = mg_outlier_probes_due(o, t, due, 8);

		bool hit = false;

		mg_outlier_tick(o, t);
		for (uint32_t i = 0; i < k; i++) {
			if (due[i] == id)
				hit = true;
			else
				mg_outlier_probe_result(o, due[i], true, t); /* others fine */
		}
		if (hit)
			return t;
	}
	fail_msg("no probe due");
	return 0;
}

static void
hc_probes_spread_over_the_interval(void **state)
{
	enum { N = 64 };
	uint32_t ids[N], due[N], count[N] = { 0 }, per_second[5] = { 0 };
	struct mg_outlier *o;

	(void)state;
	for (uint32_t i = 0; i < N; i++)
		ids[i] = IP(10, 3, 0, i);
	o = model(NULL, NULL, ids, N);
	assert_int_equal(mg_outlier_probes_due(o, 0, due, N), 0); /* off by default */
	mg_outlier_set_healthcheck(o, &hc_on, 0);
	for (uint64_t t = 0; t < 15000; t++) {
		uint32_t k = mg_outlier_probes_due(o, t, due, N);

		for (uint32_t i = 0; i < k; i++) {
			count[rte_be_to_cpu_32(due[i]) & 0xff]++;
			if (t < 5000)
				per_second[t / 1000]++;
			mg_outlier_probe_result(o, due[i], true, t);
		}
	}
	/* Every endpoint probed once per 5 s interval: 3 times in 15 s. */
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(count[i], 3);
	/* Spread: no second of the first interval has most of them. */
	for (int s = 0; s < 5; s++)
		assert_true(per_second[s] < N / 2);
	assert_int_equal(rec(o, ids[0])->hc_probes, 3);
	mg_outlier_free(o);
}

static void
hc_unhealthy_threshold_takes_out_healthy_brings_back(void **state)
{
	struct mg_outlier *o = probed();
	struct mg_ol_note n[4];
	uint64_t t = 0;
	uint32_t f;

	(void)state;
	mg_outlier_published(o, 0);
	for (int i = 1; i <= 3; i++) {
		t = until_due(o, A, t);
		assert_int_equal(mg_outlier_probe_result(o, A, false, t),
				 i < 3 ? MG_OL_NONE : MG_OL_STATE);
		t++;
	}
	assert_true(rec(o, A)->hc_down);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_EJECTED);
	assert_string_equal(mg_ol_show_name(mg_outlier_show(rec(o, A))), "probe-down");
	assert_false(rec(o, A)->ejected); /* not an outlier ejection: no timer, no k */
	assert_int_equal(rec(o, A)->k, 0);
	assert_int_equal(o->n_hc_down, 1);
	mg_outlier_published(o, t);
	/* One good probe is not enough; two are. */
	t = until_due(o, A, t);
	assert_int_equal(mg_outlier_probe_result(o, A, true, t), MG_OL_NONE);
	t = until_due(o, A, t + 1);
	assert_int_equal(mg_outlier_probe_result(o, A, true, t), MG_OL_STATE);
	assert_int_equal(peek(o, A, &f), MG_LB_EP_OK);
	assert_int_equal(f, 500); /* a fresh start, as any re-admission */
	assert_int_equal(mg_outlier_notes(o, n, 4), 2);
	assert_int_equal(n[0].kind, MG_OL_N_PROBE_DOWN);
	assert_int_equal(n[0].failures, 3);
	assert_int_equal(n[1].kind, MG_OL_N_PROBE_UP);
	mg_outlier_free(o);
}

static void
hc_probe_timeout_is_a_failure(void **state)
{
	struct mg_outlier *o = probed();
	struct mg_conf_healthcheck slow = hc_on;
	uint64_t t, sent;
	uint32_t due[2];

	(void)state;
	t = until_due(o, A, 0);
	assert_true(rec(o, A)->hc_inflight);
	assert_true(mg_outlier_next_deadline(o) <= t + 1000);
	mg_outlier_tick(o, t + 999);
	assert_int_equal(rec(o, A)->hc_fail_run, 0);
	mg_outlier_tick(o, t + 1000); /* the timeout */
	assert_int_equal(rec(o, A)->hc_fail_run, 1);
	assert_int_equal(o->probe_timeouts, 1);
	/* The answer that comes after: ignored, counted. */
	assert_int_equal(mg_outlier_probe_result(o, A, true, t + 1200), MG_OL_NONE);
	assert_int_equal(rec(o, A)->hc_late, 1);
	assert_int_equal(rec(o, A)->hc_fail_run, 1);
	/* A probe is not sent again while one is outstanding (timeout > interval). */
	slow.timeout_ms = 12000;
	mg_outlier_set_healthcheck(o, &slow, t + 1300);
	t = until_due(o, B, t + 1300);
	sent = rec(o, B)->hc_probes;
	for (uint64_t x = t + 1; x < t + 12000; x++) {
		uint32_t k = mg_outlier_probes_due(o, x, due, 2);

		mg_outlier_tick(o, x);
		for (uint32_t i = 0; i < k; i++)
			assert_int_not_equal(due[i], B);
	}
	assert_true(rec(o, B)->hc_inflight);
	mg_outlier_tick(o, t + 12000);
	assert_false(rec(o, B)->hc_inflight);
	assert_int_equal(rec(o, B)->hc_probes, sent);
	t = until_due(o, B, t + 12000);
	assert_int_equal(rec(o, B)->hc_probes, sent + 1);
	mg_outlier_free(o);
}

static void
hc_readmits_an_ejected_endpoint_early(void **state)
{
	struct mg_outlier *o = probed();
	uint64_t t = 0, ej;

	(void)state;
	/* Good probes before the ejection do not count. */
	t = until_due(o, A, t);
	mg_outlier_probe_result(o, A, true, t);
	fail_n(o, A, 5, t + 1);
	ej = t + 1;
	mg_outlier_published(o, ej);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_EJECTED);
	t = until_due(o, A, t + 2);
	assert_int_equal(mg_outlier_probe_result(o, A, true, t), MG_OL_NONE);
	assert_true(rec(o, A)->ejected);
	t = until_due(o, A, t + 1);
	assert_int_equal(mg_outlier_probe_result(o, A, true, t), MG_OL_STATE);
	assert_false(rec(o, A)->ejected);
	assert_true(t < ej + 30000); /* early */
	assert_int_equal(o->early_readmissions, 1);
	assert_int_equal(rec(o, A)->consecutive, 0);
	assert_float_equal(rec(o, A)->score, 0.5, 1e-9);
	assert_int_equal(rec(o, A)->k, 1); /* the multiplier is kept; it decays as usual */
	mg_outlier_tick(o, t + 10000);
	assert_int_equal(rec(o, A)->k, 0);
	mg_outlier_free(o);
}

static void
hc_off_brings_back_what_it_took_out(void **state)
{
	struct mg_outlier *o = probed();
	struct mg_conf_healthcheck off = hc_on;
	uint64_t t = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		t = until_due(o, A, t);
		mg_outlier_probe_result(o, A, false, t++);
	}
	assert_true(rec(o, A)->hc_down);
	/* A service's override keeps it probed when the default goes off... */
	assert_int_equal(mg_outlier_probe_enable(o, A, MG_OL_HC_ON, t), 0);
	off.enabled = false;
	mg_outlier_set_healthcheck(o, &off, t);
	assert_true(rec(o, A)->hc_down);
	assert_false(rec(o, B)->hc_on);
	/* ... and once off for it too, nothing could bring it back: it is back. */
	assert_int_equal(mg_outlier_probe_enable(o, A, MG_OL_HC_OFF, t), 0);
	assert_false(rec(o, A)->hc_down);
	assert_int_equal(peek(o, A, NULL), MG_LB_EP_OK);
	assert_true(mg_outlier_publish_due(o, t));
	assert_int_equal(mg_outlier_probes_due(o, t + 100000, (uint32_t[2]){ 0 }, 2), 0);
	assert_int_equal(mg_outlier_probe_enable(o, D, MG_OL_HC_ON, t), -ENOENT);
	mg_outlier_free(o);
}

static void
hc_state_survives_sync(void **state)
{
	struct mg_outlier *o = probed();
	const uint32_t next[] = { A, C };
	uint64_t t = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		t = until_due(o, A, t);
		mg_outlier_probe_result(o, A, false, t++);
	}
	assert_int_equal(mg_outlier_sync(o, next, 2), 0);
	assert_true(rec(o, A)->hc_down);
	assert_int_equal(o->n_hc_down, 1);
	assert_true(rec(o, C)->hc_on); /* new endpoints follow the default */
	t = until_due(o, C, t);
	t = until_due(o, A, t);
	mg_outlier_probe_result(o, A, true, t);
	t = until_due(o, A, t + 1);
	mg_outlier_probe_result(o, A, true, t);
	assert_false(rec(o, A)->hc_down);
	assert_int_equal(o->n_hc_down, 0);
	mg_outlier_free(o);
}

/* Operator drain: no weight, published at once both ways, never dazes a
 * service, survives a sync while the endpoint stays. */
static void
drain_takes_weight_away_at_once(void **state)
{
	struct mg_outlier *o = two();
	const uint32_t both[] = { A, B };
	uint32_t f = 0;

	mg_outlier_published(o, 0);
	assert_int_equal(mg_outlier_drain(o, A, true), 1);
	assert_int_equal(mg_outlier_drain(o, A, true), 0);
	assert_int_equal(mg_outlier_drain(o, 0x01020304, true), -ENOENT);
	assert_true(mg_outlier_publish_due(o, 1));
	assert_int_equal(mg_outlier_state(o, A, &f), MG_LB_EP_AT_LIMIT);
	assert_int_equal(mg_outlier_weight(o, A, 1), 0);
	assert_int_equal(mg_outlier_show(mg_outlier_find(o, A)), MG_OL_SHOW_DRAINED);
	assert_string_equal(mg_ol_show_name(MG_OL_SHOW_DRAINED), "drained");
	mg_outlier_published(o, 1);
	assert_int_equal(mg_outlier_drain(o, B, true), 1);
	mg_outlier_published(o, 2);
	/* Both drained: not a failure, so not dazed. */
	assert_false(mg_outlier_all_ejected(o, both, 2));
	assert_int_equal(mg_outlier_sync(o, both, 2), 0);
	assert_int_equal(mg_outlier_peek(o, A, &f), MG_LB_EP_AT_LIMIT);
	/* Undrain publishes at once too (not batched like a released limit). */
	assert_int_equal(mg_outlier_drain(o, A, false), 1);
	assert_true(mg_outlier_publish_due(o, 3));
	assert_int_equal(mg_outlier_state(o, A, &f), MG_LB_EP_OK);
	mg_outlier_free(o);
}

/* A service's annotations override the gateway's parameters for its endpoints only. */
static void
service_overrides_apply_to_its_endpoints(void **state)
{
	struct mg_outlier *o = two();
	struct mg_conf_outlier quick = params;
	struct mg_conf_circuit one = { .max_connections = 1 };

	quick.consecutive_failures = 2;
	assert_int_equal(mg_outlier_override(o, A, &quick, &nolimit), 0);
	assert_int_equal(mg_outlier_override(o, 0x01020304, &quick, &nolimit), -ENOENT);
	assert_int_equal(o->n_ps, 2);
	/* The same overrides share one set. */
	assert_int_equal(mg_outlier_override(o, A, &quick, &nolimit), 0);
	assert_int_equal(o->n_ps, 2);
	ev(o, A, MG_OL_REFUSED, 10);
	ev(o, B, MG_OL_REFUSED, 10);
	ev(o, A, MG_OL_REFUSED, 20);
	ev(o, B, MG_OL_REFUSED, 20);
	assert_true(mg_outlier_find(o, A)->ejected);
	assert_false(mg_outlier_find(o, B)->ejected);
	/* A circuit-breaker override: B at its limit with one connection. */
	assert_int_equal(mg_outlier_override(o, B, &params, &one), 0);
	ev(o, B, MG_OL_START, 30);
	ev(o, B, MG_OL_OK, 31);
	assert_true(mg_outlier_find(o, B)->at_limit);
	/* Back on the gateway's parameters: no limit, threshold 5 again. */
	mg_outlier_overrides_clear(o);
	assert_int_equal(o->n_ps, 1);
	assert_false(mg_outlier_find(o, B)->at_limit);
	assert_int_equal(mg_outlier_params(o, mg_outlier_find(o, A))->p.consecutive_failures,
			 params.consecutive_failures);
	mg_outlier_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scenario_27_consecutive_failures_eject),
		cmocka_unit_test(scenario_28_ejection_feeds_tier_failover),
		cmocka_unit_test(scenario_29_ejection_time_grows),
		cmocka_unit_test(scenario_30_ejection_multiplier_decays),
		cmocka_unit_test(scenario_31_a_success_resets_the_count),
		cmocka_unit_test(scenario_32_post_handshake_errors_are_not_failures),
		cmocka_unit_test(scenario_33_hbone_error_replies_count_as_failures),
		cmocka_unit_test(scenario_34_dazed_when_everything_is_ejected),
		cmocka_unit_test(scenario_35_dazed_keeps_strict_filter),
		cmocka_unit_test(scenario_36_gateway_tracked_like_any_endpoint),
		cmocka_unit_test(scenario_37_connect_retry_before_any_forwarded_byte),
		cmocka_unit_test(scenario_38_readmission_uses_a_fresh_score),
		cmocka_unit_test(scenario_40_config_change_drops_state),
		cmocka_unit_test(ewma_score_and_latency),
		cmocka_unit_test(weights_follow_the_factor_with_a_floor),
		cmocka_unit_test(disabled_detection_tracks_but_never_ejects),
		cmocka_unit_test(failures_while_ejected_do_not_extend_it),
		cmocka_unit_test(decay_needs_a_healthy_interval),
		cmocka_unit_test(max_ejection_percent_per_group),
		cmocka_unit_test(max_ejection_percent_edges),
		cmocka_unit_test(sync_keeps_ejections_and_recounts_groups),
		cmocka_unit_test(circuit_breaker_limits),
		cmocka_unit_test(circuit_limits_follow_new_params),
		cmocka_unit_test(publication_is_batched_for_weights_immediate_for_state),
		cmocka_unit_test(weight_hysteresis),
		cmocka_unit_test(notes_report_changes_and_keep_the_newest),
		cmocka_unit_test(show_state_and_iteration),
		cmocka_unit_test(timers_match_a_brute_force_reference),
		cmocka_unit_test(no_allocation_per_event),
		cmocka_unit_test(hc_probes_spread_over_the_interval),
		cmocka_unit_test(hc_unhealthy_threshold_takes_out_healthy_brings_back),
		cmocka_unit_test(hc_probe_timeout_is_a_failure),
		cmocka_unit_test(hc_readmits_an_ejected_endpoint_early),
		cmocka_unit_test(hc_off_brings_back_what_it_took_out),
		cmocka_unit_test(hc_state_survives_sync),
		cmocka_unit_test(drain_takes_weight_away_at_once),
		cmocka_unit_test(service_overrides_apply_to_its_endpoints),
	};

	mg_test_eal_init("test_outlier");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
