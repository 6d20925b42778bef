/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MeshGateway object (meshgate.io/v1alpha1): the gateway's own settings.
 *
 * MeshGateway.spec is meshgate's own schema, so it is read strictly: every
 * mapping in it is described by a table of fields (YAML key, type, where it
 * goes in struct mg_conf_gateway, allowed range), one generic walker reads a
 * mapping against its table, and a key that no table names is an error at
 * any depth. Lists and values with their own syntax (ports, routes, SNAT
 * addresses, the port range, manifests, remote clusters) have small reader
 * functions; checks that involve several fields (a route's port name, the
 * ejection times, the flow table's half-open limit) run once the mapping
 * that holds them has been read, so the order of keys in the YAML does not
 * matter. Defaults are written first and then overwritten by what is given.
 * Manifest paths are resolved here, relative to the file holding the
 * MeshGateway; they are loaded by mg_conf.c when this file is done.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_conf_priv.h"

/* What one MeshGateway read remembers between its fields. */
struct gw_state {
	const struct mg_conf_doc *doc;
	struct mg_conf_gateway *g;
	bool seen_addr;                         /* the port being read has an address */
	uint32_t cur;                           /* index of the route/remote being read */
	char route_port[MG_MAX_ROUTES][MG_NAME_LEN];
	uint32_t route_port_line[MG_MAX_ROUTES];
	uint32_t route_line[MG_MAX_ROUTES];
	uint32_t remote_line[MG_MAX_CLUSTERS];
	bool remote_network[MG_MAX_CLUSTERS];   /* network given */
	bool ewg_addr;                          /* eastWestGateway.address given */
};

enum ftype { T_STR, T_U32, T_U16, T_BOOL, T_DUR, T_DBL, T_IP, T_SUB, T_FN };

struct field {
	const char *key;
	enum ftype type;
	size_t off;             /* in the structure the table describes */
	size_t size;            /* T_STR: buffer size */
	double min, max;        /* T_U32, T_U16, T_DBL: range; T_DUR: min ms */
	const struct field *sub;
	int (*fn)(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st);
};

#define F_STR(k, T, m) { k, T_STR, offsetof(T, m), sizeof(((T *)0)->m), 0, 0, NULL, NULL }
#define F_U32(k, T, m, lo, hi) { k, T_U32, offsetof(T, m), 0, lo, hi, NULL, NULL }
#define F_U16(k, T, m, lo, hi) { k, T_U16, offsetof(T, m), 0, lo, hi, NULL, NULL }
#define F_BOOL(k, T, m) { k, T_BOOL, offsetof(T, m), 0, 0, 0, NULL, NULL }
#define F_DUR(k, T, m, lo) { k, T_DUR, offsetof(T, m), 0, lo, 0, NULL, NULL }
#define F_DBL(k, T, m, lo, hi) { k, T_DBL, offsetof(T, m), 0, lo, hi, NULL, NULL }
#define F_IP(k, T, m) { k, T_IP, offsetof(T, m), 0, 0, 0, NULL, NULL }
#define F_SUB(k, off, tbl) { k, T_SUB, off, 0, 0, 0, tbl, NULL }
#define F_FN(k, f) { k, T_FN, 0, 0, 0, 0, NULL, f }
#define F_END { NULL, T_STR, 0, 0, 0, 0, NULL, NULL }

static int walk(struct mg_conf_obj *o, struct fy_node *map, const struct field *tbl,
		void *base, struct gw_state *st);

static int
read_field(struct mg_conf_obj *o, const struct field *f, struct fy_node *v, char *base,
	   struct gw_state *st)
{
	char *p = base + f->off;
	uint32_t x;

	switch (f->type) {
	case T_STR:
		return mg_conf_v_str(o, v, p, f->size);
	case T_U32:
		return mg_conf_v_u32(o, v, (uint32_t)f->min, (uint32_t)f->max, (uint32_t *)p);
	case T_U16:
		if (mg_conf_v_u32(o, v, (uint32_t)f->min, (uint32_t)f->max, &x) < 0)
			return -1;
		*(uint16_t *)p = (uint16_t)x;
		return 0;
	case T_BOOL:
		return mg_conf_v_bool(o, v, (bool *)p);
	case T_DUR:
		return mg_conf_v_duration(o, v, (uint32_t)f->min, (uint32_t *)p);
	case T_DBL:
		return mg_conf_v_double(o, v, f->min, f->max, (double *)p);
	case T_IP:
		return mg_conf_v_ipv4(o, v, false, (uint32_t *)p, NULL);
	case T_SUB:
		return walk(o, v, f->sub, p, st);
	case T_FN:
		return f->fn(o, v, base, st);
	}
	return -1;
}

static int
walk(struct mg_conf_obj *o, struct fy_node *map, const struct field *tbl, void *base,
     struct gw_state *st)
{
	struct fy_node_pair *pair;
	void *it = NULL;

	if (mg_conf_v_map(o, map) < 0)
		return -1;
	while ((pair = fy_node_mapping_iterate(map, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(pair), *v = fy_node_pair_value(pair);
		const struct field *f = NULL;
		char key[96];
		size_t old;

		if (mg_conf_scalar(k, key, sizeof(key)) != NULL)
			for (f = tbl; f->key != NULL && strcmp(f->key, key) != 0; f++)
				;
		else
			snprintf(key, sizeof(key), "%s", "?");
		old = mg_conf_push(o, key);
		if (f == NULL || f->key == NULL)
			return mg_conf_err(o, k, "unknown field");
		if (!mg_conf_is_null(v) && read_field(o, f, v, base, st) < 0)
			return -1;
		mg_conf_pop(o, old);
	}
	return 0;
}

/* ---- values with their own syntax ---- */

static int
port_address(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_port *p = base;

	if (mg_conf_v_ipv4(o, n, true, &p->ip, &p->prefix_len) < 0)
		return -1;
	if (p->ip == 0 || p->prefix_len == 0)
		return mg_conf_err(o, n, "0.0.0.0 and /0 are not usable as a port address");
	st->seen_addr = true;
	return 0;
}

static int
route_destination(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_route *r = base;
	uint32_t mask;

	if (mg_conf_v_ipv4(o, n, true, &r->dst, &r->prefix_len) < 0)
		return -1;
	mask = r->prefix_len ? htonl(~0u << (32 - r->prefix_len)) : 0;
	if (r->dst & ~mask) {
		char a[INET_ADDRSTRLEN];
		uint32_t net = r->dst & mask;

		inet_ntop(AF_INET, &net, a, sizeof(a));
		return mg_conf_err(o, n, "prefix has host bits set (did you mean %s/%u?)", a,
				   r->prefix_len);
	}
	return 0;
}

static int
route_port(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	st->route_port_line[st->cur] = mg_conf_line(n, 0);
	return mg_conf_v_str(o, n, st->route_port[st->cur], MG_NAME_LEN);
}

static int
snat_addresses(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_gateway *g = st->g;
	struct fy_node *item;
	void *it = NULL;
	uint32_t i = 0;

	if (mg_conf_v_seq(o, n) < 0)
		return -1;
	while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
		size_t old = mg_conf_push_idx(o, i);
		uint32_t ip;

		if (i >= MG_MAX_SNAT)
			return mg_conf_err(o, item, "too many addresses (at most %d)", MG_MAX_SNAT);
		if (mg_conf_v_ipv4(o, item, false, &ip, NULL) < 0)
			return -1;
		if (ip == 0)
			return mg_conf_err(o, item, "0.0.0.0 is not usable");
		for (uint32_t k = 0; k < i; k++)
			if (g->snat[k] == ip)
				return mg_conf_err(o, item, "duplicate address (also [%" PRIu32 "])", k);
		g->snat[i++] = ip;
		mg_conf_pop(o, old);
	}
	g->n_snat = i;
	return 0;
}

static int
snat_port_range(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	char buf[32];
	unsigned int lo, hi;
	int end = 0;

	if (mg_conf_scalar(n, buf, sizeof(buf)) == NULL ||
	    sscanf(buf, "%5u-%5u%n", &lo, &hi, &end) != 2 || buf[end] != '\0' ||
	    buf[0] < '0' || buf[0] > '9' || lo < 1 || hi > 65535 || lo > hi)
		return mg_conf_err(o, n, "invalid port range (expected LOW-HIGH within 1-65535, e.g. 1024-65535)");
	st->g->snat_port_min = (uint16_t)lo;
	st->g->snat_port_max = (uint16_t)hi;
	return 0;
}

static const char *const td_names[] = {
	"Any", "PreferNetwork", "PreferRegion", "PreferClose", "PreferSameZone", "PreferSameNode",
};

static int
traffic_distribution(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	char buf[MG_NAME_LEN];

	if (mg_conf_v_str(o, n, buf, sizeof(buf)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(td_names) / sizeof(td_names[0]); i++)
		if (strcasecmp(buf, td_names[i]) == 0) {
			snprintf(st->g->default_traffic_distribution, MG_NAME_LEN, "%s", td_names[i]);
			return 0;
		}
	return mg_conf_err(o, n, "unknown traffic distribution \"%s\" (expected Any, PreferNetwork, PreferRegion, PreferClose, PreferSameZone or PreferSameNode)",
			   buf);
}

/* A list of manifest paths, resolved against the MeshGateway's file. */
static int
manifest_list(struct mg_conf_obj *o, struct fy_node *n, char (*out)[MG_PATH_LEN],
	      uint32_t max, uint32_t *count, uint32_t *lines, const struct mg_conf_doc *doc)
{
	struct fy_node *item;
	void *it = NULL;
	uint32_t i = 0;

	if (mg_conf_v_seq(o, n) < 0)
		return -1;
	while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
		size_t old = mg_conf_push_idx(o, i);
		char rel[MG_PATH_LEN];

		if (i >= max)
			return mg_conf_err(o, item, "too many manifests (at most %" PRIu32 ")", max);
		if (mg_conf_v_str(o, item, rel, sizeof(rel)) < 0)
			return -1;
		if (rel[0] == '\0')
			return mg_conf_err(o, item, "empty path");
		if (mg_conf_join(out[i], MG_PATH_LEN, doc->dir, rel) < 0)
			return mg_conf_err(o, item, "path too long once resolved against %s (at most %d characters)",
					   doc->dir, MG_PATH_LEN - 1);
		lines[i++] = mg_conf_line(item, 0);
		mg_conf_pop(o, old);
	}
	*count = i;
	return 0;
}

static int
gw_manifests(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	return manifest_list(o, n, st->g->manifests, MG_CONF_GW_MANIFESTS, &st->g->n_manifests,
			     st->doc->ld->gw_manifest_line, st->doc);
}

static int
rc_manifests(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_cluster *rc = base;

	return manifest_list(o, n, rc->manifests, MG_CONF_RC_MANIFESTS, &rc->n_manifests,
			     st->doc->ld->rc_manifest_line[st->cur], st->doc);
}

/* ---- tables ---- */

static const struct field locality_fields[] = {
	F_STR("region", struct mg_locality, region),
	F_STR("zone", struct mg_locality, zone),
	F_STR("subzone", struct mg_locality, subzone),
	F_END
};

static const struct field port_fields[] = {
	F_STR("name", struct mg_conf_port, name),
	F_STR("device", struct mg_conf_port, device),
	F_STR("profile", struct mg_conf_port, profile),
	F_FN("address", port_address),
	F_U16("mtu", struct mg_conf_port, mtu, 68, 65535),
	F_END
};

static const struct field route_fields[] = {
	F_FN("destination", route_destination),
	F_IP("gateway", struct mg_conf_route, gateway),
	F_FN("port", route_port),
	F_END
};

static const struct field snat_fields[] = {
	F_FN("addresses", snat_addresses),
	F_FN("portRange", snat_port_range),
	F_END
};

static const struct field connect_fields[] = {
	F_DUR("timeout", struct mg_conf_gateway, connect_timeout_ms, 1),
	F_U32("maxAttempts", struct mg_conf_gateway, max_connect_attempts, 1, 8),
	F_END
};

static const struct field outlier_fields[] = {
	F_BOOL("enabled", struct mg_conf_outlier, enabled),
	F_U32("consecutiveFailures", struct mg_conf_outlier, consecutive_failures, 1, 1000000),
	F_DUR("interval", struct mg_conf_outlier, interval_ms, 1),
	F_DUR("baseEjectionTime", struct mg_conf_outlier, base_ejection_ms, 1),
	F_DUR("maxEjectionTime", struct mg_conf_outlier, max_ejection_ms, 1),
	F_U32("maxEjectionPercent", struct mg_conf_outlier, max_ejection_percent, 0, 100),
	F_DBL("ewmaAlpha", struct mg_conf_outlier, ewma_alpha, 0.001, 1.0),
	F_DBL("readmitScore", struct mg_conf_outlier, readmit_score, 0.0, 1.0),
	F_END
};

static const struct field circuit_fields[] = {
	F_U32("maxConnections", struct mg_conf_circuit, max_connections, 0, UINT32_MAX),
	F_U32("maxPendingConnects", struct mg_conf_circuit, max_pending_connects, 0, UINT32_MAX),
	F_END
};

static const struct field healthcheck_fields[] = {
	F_BOOL("enabled", struct mg_conf_healthcheck, enabled),
	F_DUR("interval", struct mg_conf_healthcheck, interval_ms, 1),
	F_DUR("timeout", struct mg_conf_healthcheck, timeout_ms, 1),
	F_U32("healthyThreshold", struct mg_conf_healthcheck, healthy_threshold, 1, 1000),
	F_U32("unhealthyThreshold", struct mg_conf_healthcheck, unhealthy_threshold, 1, 1000),
	F_END
};

static const struct field timeout_fields[] = {
	F_DUR("synRecv", struct mg_conf_flowtable, syn_recv_ms, 1),
	F_DUR("established", struct mg_conf_flowtable, established_ms, 1),
	F_DUR("finWait", struct mg_conf_flowtable, fin_wait_ms, 1),
	F_DUR("lastAck", struct mg_conf_flowtable, last_ack_ms, 1),
	F_DUR("timeWait", struct mg_conf_flowtable, time_wait_ms, 1),
	F_DUR("close", struct mg_conf_flowtable, close_ms, 1),
	F_END
};

#define MG_FLOWS_MIN 1024
#define MG_FLOWS_MAX (1u << 24)

static const struct field flow_fields[] = {
	F_U32("size", struct mg_conf_flowtable, size, MG_FLOWS_MIN, MG_FLOWS_MAX),
	F_SUB("timeouts", 0, timeout_fields),
	F_END
};

static int
east_west_gateway(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st);

static const struct field remote_fields[] = {
	F_STR("name", struct mg_conf_cluster, name),
	F_STR("network", struct mg_conf_cluster, network),
	F_STR("segment", struct mg_conf_cluster, segment),
	F_FN("eastWestGateway", east_west_gateway),
	F_FN("manifests", rc_manifests),
	F_END
};

static int
ewg_address(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_cluster *rc = base;

	if (mg_conf_v_ipv4(o, n, false, &rc->gateway_ip, NULL) < 0)
		return -1;
	if (rc->gateway_ip == 0)
		return mg_conf_err(o, n, "0.0.0.0 is not usable");
	st->ewg_addr = true;
	return 0;
}

static const struct field ewg_fields[] = {
	F_FN("address", ewg_address),
	F_U16("port", struct mg_conf_cluster, gateway_port, 1, 65535),
	F_SUB("locality", offsetof(struct mg_conf_cluster, gateway_locality), locality_fields),
	F_END
};

static int
east_west_gateway(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	size_t old;

	st->ewg_addr = false;
	if (walk(o, n, ewg_fields, base, st) < 0)
		return -1;
	if (!st->ewg_addr) {
		old = mg_conf_push(o, "address");
		mg_conf_err(o, n, "missing required field");
		mg_conf_pop(o, old);
		return -1;
	}
	return 0;
}

/* ---- lists of objects and mappings with cross-field checks ---- */

/* A required field missing from item @p n, for messages. */
static int
missing(struct mg_conf_obj *o, struct fy_node *n, const char *key)
{
	mg_conf_push(o, key);
	return mg_conf_err(o, n, "missing required field");
}

static int
ports(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_gateway *g = st->g;
	struct fy_node *item;
	void *it = NULL;
	uint32_t i = 0;

	if (mg_conf_v_seq(o, n) < 0)
		return -1;
	while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
		size_t old = mg_conf_push_idx(o, i);
		struct mg_conf_port *p = &g->ports[i];

		if (i >= MG_MAX_PORTS)
			return mg_conf_err(o, item, "too many ports (at most %d)", MG_MAX_PORTS);
		st->seen_addr = false;
		if (walk(o, item, port_fields, p, st) < 0)
			return -1;
		if (p->device[0] == '\0')
			return missing(o, item, "device");
		if (!st->seen_addr)
			return missing(o, item, "address");
		if (p->name[0] == '\0')
			snprintf(p->name, sizeof(p->name), "p%" PRIu32, i);
		for (uint32_t k = 0; k < i; k++) {
			if (strcmp(g->ports[k].name, p->name) == 0) {
				mg_conf_push(o, "name");
				return mg_conf_err(o, item, "duplicate port name \"%s\" (also ports[%" PRIu32 "])",
						   p->name, k);
			}
			if (strcmp(g->ports[k].device, p->device) == 0) {
				mg_conf_push(o, "device");
				return mg_conf_err(o, item, "duplicate device \"%s\" (also ports[%" PRIu32 "])",
						   p->device, k);
			}
		}
		i++;
		mg_conf_pop(o, old);
	}
	g->n_ports = i;
	return 0;
}

static int
routes(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_gateway *g = st->g;
	struct fy_node *item;
	void *it = NULL;
	uint32_t i = 0;

	if (mg_conf_v_seq(o, n) < 0)
		return -1;
	while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
		size_t old = mg_conf_push_idx(o, i);
		struct mg_conf_route *r = &g->routes[i];

		if (i >= MG_MAX_ROUTES)
			return mg_conf_err(o, item, "too many routes (at most %d)", MG_MAX_ROUTES);
		st->cur = i;
		st->route_line[i] = mg_conf_line(item, o->line);
		r->port = -1;
		if (walk(o, item, route_fields, r, st) < 0)
			return -1;
		if (mg_conf_get(item, "destination") == NULL)
			return missing(o, item, "destination");
		if (r->gateway == 0 && st->route_port[i][0] == '\0')
			return mg_conf_err(o, item, "needs a gateway or a port");
		i++;
		mg_conf_pop(o, old);
	}
	g->n_routes = i;
	return 0;
}

static int
remotes(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_gateway *g = st->g;
	struct fy_node *item;
	void *it = NULL;
	uint32_t i = 0;

	if (mg_conf_v_seq(o, n) < 0)
		return -1;
	while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
		size_t old = mg_conf_push_idx(o, i);
		struct mg_conf_cluster *rc = &g->remotes[i];

		if (i >= MG_MAX_CLUSTERS - 1)
			return mg_conf_err(o, item, "too many remote clusters (at most %d)",
					   MG_MAX_CLUSTERS - 1);
		st->cur = i;
		st->remote_line[i] = mg_conf_line(item, o->line);
		rc->gateway_port = 15008;
		if (walk(o, item, remote_fields, rc, st) < 0)
			return -1;
		if (rc->name[0] == '\0')
			return missing(o, item, "name");
		st->remote_network[i] = rc->network[0] != '\0';
		for (uint32_t k = 0; k < i; k++)
			if (strcmp(g->remotes[k].name, rc->name) == 0) {
				mg_conf_push(o, "name");
				return mg_conf_err(o, item, "duplicate cluster name \"%s\" (also remoteClusters[%" PRIu32 "])",
						   rc->name, k);
			}
		i++;
		mg_conf_pop(o, old);
	}
	g->n_remotes = i;
	return 0;
}

static int
outlier(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_outlier *od = &st->g->outlier;

	if (walk(o, n, outlier_fields, od, st) < 0)
		return -1;
	if (od->max_ejection_ms < od->base_ejection_ms) {
		mg_conf_push(o, "maxEjectionTime");
		return mg_conf_err(o, mg_conf_get(n, "maxEjectionTime") ?: n,
				   "shorter than baseEjectionTime (%" PRIu32 "ms < %" PRIu32 "ms)",
				   od->max_ejection_ms, od->base_ejection_ms);
	}
	return 0;
}

static int
healthcheck(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_healthcheck *hc = &st->g->healthcheck;

	if (walk(o, n, healthcheck_fields, hc, st) < 0)
		return -1;
	if (hc->timeout_ms > hc->interval_ms) {
		mg_conf_push(o, "timeout");
		return mg_conf_err(o, mg_conf_get(n, "timeout") ?: n,
				   "longer than the interval (%" PRIu32 "ms > %" PRIu32 "ms)",
				   hc->timeout_ms, hc->interval_ms);
	}
	return 0;
}

static int
flow_table(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_flowtable *ft = &st->g->flows;

	return walk(o, n, flow_fields, ft, st);
}

static const struct field synflood_fields[] = {
	F_STR("cookies", struct mg_conf_synflood, cookies),
	F_U32("maxHalfOpen", struct mg_conf_synflood, max_half_open, 1, MG_FLOWS_MAX),
	F_U32("maxHalfOpenPerSource", struct mg_conf_synflood, max_half_open_per_source, 0,
	      MG_FLOWS_MAX),
	F_U32("maxHalfOpenPerService", struct mg_conf_synflood, max_half_open_per_service, 0,
	      MG_FLOWS_MAX),
	F_END
};

static bool
cookies_mode_ok(const char *v)
{
	return strcmp(v, "auto") == 0 || strcmp(v, "always") == 0 || strcmp(v, "off") == 0;
}

static int
synflood(struct mg_conf_obj *o, struct fy_node *n, void *base, struct gw_state *st)
{
	struct mg_conf_synflood *sf = &st->g->synflood;

	if (walk(o, n, synflood_fields, sf, st) < 0)
		return -1;
	if (!cookies_mode_ok(sf->cookies)) {
		mg_conf_push(o, "cookies");
		return mg_conf_err(o, mg_conf_get(n, "cookies") ?: n,
				   "\"%s\" is not one of auto, always, off", sf->cookies);
	}
	return 0;
}

static const struct field spec_fields[] = {
	F_STR("cluster", struct mg_conf_gateway, cluster),
	F_STR("network", struct mg_conf_gateway, locality.network),
	F_STR("segment", struct mg_conf_gateway, segment),
	F_STR("nodeName", struct mg_conf_gateway, locality.node),
	F_SUB("locality", offsetof(struct mg_conf_gateway, locality), locality_fields),
	F_FN("ports", ports),
	F_FN("routes", routes),
	F_SUB("snat", 0, snat_fields),
	F_FN("defaultTrafficDistribution", traffic_distribution),
	F_SUB("connect", 0, connect_fields),
	F_FN("outlierDetection", outlier),
	F_SUB("circuitBreaker", offsetof(struct mg_conf_gateway, circuit), circuit_fields),
	F_FN("healthCheck", healthcheck),
	F_FN("flowTable", flow_table),
	F_FN("synFlood", synflood),
	F_DUR("neighbourTimeout", struct mg_conf_gateway, neigh_timeout_ms, 1),
	F_FN("manifests", gw_manifests),
	F_FN("remoteClusters", remotes),
	F_END
};

/* ---- the object ---- */

static void
defaults(struct mg_conf_gateway *g)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", "meshgate");
	snprintf(g->cluster, sizeof(g->cluster), "%s", "local");
	g->snat_port_min = 1024;
	g->snat_port_max = 65535;
	snprintf(g->default_traffic_distribution, sizeof(g->default_traffic_distribution), "%s",
		 "PreferNetwork");
	g->connect_timeout_ms = 500;
	g->max_connect_attempts = 3;
	g->outlier = (struct mg_conf_outlier){
		.consecutive_failures = 5,
		.interval_ms = 10000,
		.base_ejection_ms = 30000,
		.max_ejection_ms = 300000,
		.max_ejection_percent = 100,
		.ewma_alpha = 0.3,
		.readmit_score = 0.5,
		.enabled = true,
	};
	g->healthcheck = (struct mg_conf_healthcheck){
		.enabled = false,
		.interval_ms = 5000,
		.timeout_ms = 1000,
		.healthy_threshold = 2,
		.unhealthy_threshold = 3,
	};
	g->flows = (struct mg_conf_flowtable){
		.size = 262144,
		.syn_recv_ms = 30000,
		.established_ms = 3600000,
		.fin_wait_ms = 120000,
		.last_ack_ms = 30000,
		.time_wait_ms = 10000,
		.close_ms = 2000,
	};
	g->synflood = (struct mg_conf_synflood){
		.cookies = "auto",
		.max_half_open = 4096,
		.max_half_open_per_source = 0,
		.max_half_open_per_service = 0,
	};
	g->neigh_timeout_ms = 300000;
}

/* Checks that need the whole spec: route port names, remote clusters. */
static int
spec_checks(struct mg_conf_obj *o, struct fy_node *spec, struct gw_state *st)
{
	struct mg_conf_gateway *g = st->g;

	if (g->n_ports == 0) {
		snprintf(o->path, sizeof(o->path), "%s", "spec.ports");
		return mg_conf_err(o, spec, "at least one port is required");
	}
	for (uint32_t i = 0; i < g->n_routes; i++) {
		struct mg_conf_route *r = &g->routes[i];

		if (st->route_port[i][0] == '\0')
			continue;
		for (uint32_t k = 0; k < g->n_ports; k++)
			if (strcmp(g->ports[k].name, st->route_port[i]) == 0)
				r->port = (int)k;
		if (r->port < 0) {
			snprintf(o->path, sizeof(o->path), "spec.routes[%" PRIu32 "].port", i);
			return mg_conf_err_line(o, st->route_port_line[i], "no port named \"%s\"",
						st->route_port[i]);
		}
	}
	for (uint32_t i = 0; i < g->n_remotes; i++) {
		struct mg_conf_cluster *rc = &g->remotes[i];

		if (strcmp(rc->name, g->cluster) == 0) {
			snprintf(o->path, sizeof(o->path), "spec.remoteClusters[%" PRIu32 "].name", i);
			return mg_conf_err_line(o, st->remote_line[i],
						"\"%s\" is the local cluster's name", rc->name);
		}
		/* No network of its own: a flat network with this cluster. */
		if (!st->remote_network[i])
			memcpy(rc->network, g->locality.network, MG_NAME_LEN);
		memcpy(rc->gateway_locality.network, rc->network, MG_NAME_LEN);
	}
	return 0;
}

int
mg_conf_gateway_parse(const struct mg_conf_doc *doc, struct fy_node *obj)
{
	struct mg_conf_loader *ld = doc->ld;
	struct mg_conf_gateway *g = &ld->c->gw;
	struct fy_node *spec, *api = mg_conf_get(obj, "apiVersion");
	struct mg_conf_obj o;
	struct gw_state *st;
	char buf[128];
	int rc;

	mg_conf_obj_init(&o, doc, obj, "MeshGateway", '.');
	if (mg_conf_scalar(api, buf, sizeof(buf)) == NULL ||
	    strcmp(buf, "meshgate.io/v1alpha1") != 0) {
		mg_conf_push(&o, "apiVersion");
		return mg_conf_err(&o, api, "unsupported apiVersion (expected meshgate.io/v1alpha1)");
	}
	if (doc->remote >= 0)
		return mg_conf_err(&o, obj, "not allowed in the manifests of remote cluster \"%s\"",
				   mg_conf_doc_cluster(doc));
	if (ld->n_gateways > 0)
		return mg_conf_err(&o, obj, "a second MeshGateway (the first is at %s:%" PRIu32 "); exactly one is allowed",
				   g->src.file, g->src.line);
	ld->n_gateways++;
	defaults(g);
	snprintf(g->src.file, sizeof(g->src.file), "%s", doc->file);
	g->src.line = o.line;

	mg_conf_push(&o, "metadata");
	rc = mg_conf_str(&o, mg_conf_get(obj, "metadata"), "name", g->name, sizeof(g->name));
	mg_conf_pop(&o, 0);
	if (rc < 0)
		return -1;
	spec = mg_conf_get(obj, "spec");
	mg_conf_push(&o, "spec");
	if (spec == NULL)
		return mg_conf_err(&o, obj, "missing required field");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return mg_conf_err(&o, obj, "out of memory");
	st->doc = doc;
	st->g = g;
	rc = walk(&o, spec, spec_fields, g, st);
	if (rc == 0)
		rc = spec_checks(&o, spec, st);
	free(st);
	if (rc < 0)
		return -1;
	ld->gw_manifests_pending = true;
	return 0;
}

/* ---- run-time settings (the CLI's `set outlier|circuit|connect|healthcheck`) ---- */

static const struct {
	const char *section;
	const struct field *tbl;
	size_t off;             /* of the section in struct mg_conf_gateway */
} settable[] = {
	{ "outlier", outlier_fields, offsetof(struct mg_conf_gateway, outlier) },
	{ "circuit", circuit_fields, offsetof(struct mg_conf_gateway, circuit) },
	{ "connect", connect_fields, 0 },
	{ "healthcheck", healthcheck_fields, offsetof(struct mg_conf_gateway, healthcheck) },
	{ "synflood", synflood_fields, offsetof(struct mg_conf_gateway, synflood) },
};

const char *
mg_conf_gw_params(const char *section, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(settable) / sizeof(settable[0]); i++) {
		if (strcmp(settable[i].section, section) != 0)
			continue;
		for (const struct field *f = settable[i].tbl; f->key != NULL && n < len; f++)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "#" : "", f->key);
	}
	return buf;
}

/* One value of a field from text, with the loader's ranges. */
static int
field_from_str(const struct field *f, const char *v, char *base, char *err, size_t errlen)
{
	char *end = NULL;
	double d;
	int64_t ms;
	unsigned long long u;

	switch (f->type) {
	case T_U32:
	case T_U16:
		errno = 0;
		u = strtoull(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || v[0] == '-' ||
		    u < (unsigned long long)f->min || u > (unsigned long long)f->max) {
			snprintf(err, errlen, "%s: \"%s\" is not an integer in %.0f..%.0f", f->key, v,
				 f->min, f->max);
			return -1;
		}
		if (f->type == T_U16)
			*(uint16_t *)(base + f->off) = (uint16_t)u;
		else
			*(uint32_t *)(base + f->off) = (uint32_t)u;
		return 0;
	case T_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "on") == 0)
			*(bool *)(base + f->off) = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "off") == 0)
			*(bool *)(base + f->off) = false;
		else {
			snprintf(err, errlen, "%s: \"%s\" is not true or false", f->key, v);
			return -1;
		}
		return 0;
	case T_DUR:
		ms = mg_conf_parse_duration_ms(v);
		if (ms < (int64_t)f->min || ms > UINT32_MAX) {
			snprintf(err, errlen, "%s: \"%s\" is not a duration of at least %.0fms (500ms, 30s, 5m)",
				 f->key, v, f->min);
			return -1;
		}
		*(uint32_t *)(base + f->off) = (uint32_t)ms;
		return 0;
	case T_DBL:
		errno = 0;
		d = strtod(v, &end);
		if (errno != 0 || end == v || *end != '\0' || !(d >= f->min && d <= f->max)) {
			snprintf(err, errlen, "%s: \"%s\" is not a number in %g..%g", f->key, v,
				 f->min, f->max);
			return -1;
		}
		*(double *)(base + f->off) = d;
		return 0;
	case T_STR:
		if (strlen(v) >= f->size) {
			snprintf(err, errlen, "%s: \"%s\" is too long", f->key, v);
			return -1;
		}
		snprintf(base + f->off, f->size, "%s", v);
		return 0;
	default:
		snprintf(err, errlen, "%s cannot be set at run time", f->key);
		return -1;
	}
}

int
mg_conf_gw_set(struct mg_conf_gateway *g, const char *section, const char *key,
	       const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(settable) / sizeof(settable[0]); i++) {
		char names[256];

		if (strcmp(settable[i].section, section) != 0)
			continue;
		for (const struct field *f = settable[i].tbl; f->key != NULL; f++) {
			struct mg_conf_outlier od = g->outlier;
			struct mg_conf_healthcheck hc = g->healthcheck;
			struct mg_conf_synflood sf = g->synflood;

			if (strcmp(f->key, key) != 0)
				continue;
			/* field_from_str writes only a valid value; a cross check
			 * that fails puts the sections it reads back. */
			if (field_from_str(f, value, (char *)g + settable[i].off, err, errlen) < 0)
				return -1;
			if (g->outlier.max_ejection_ms < g->outlier.base_ejection_ms) {
				snprintf(err, errlen, "maxEjectionTime shorter than baseEjectionTime (%" PRIu32 "ms < %" PRIu32 "ms)",
					 g->outlier.max_ejection_ms, g->outlier.base_ejection_ms);
				g->outlier = od;
				return -1;
			}
			if (g->healthcheck.timeout_ms > g->healthcheck.interval_ms) {
				snprintf(err, errlen, "health-check timeout longer than its interval (%" PRIu32 "ms > %" PRIu32 "ms)",
					 g->healthcheck.timeout_ms, g->healthcheck.interval_ms);
				g->healthcheck = hc;
				return -1;
			}
			if (f->off + settable[i].off == offsetof(struct mg_conf_gateway, synflood.cookies) &&
			    !cookies_mode_ok(g->synflood.cookies)) {
				snprintf(err, errlen, "cookies: \"%s\" is not one of auto, always, off",
					 g->synflood.cookies);
				g->synflood = sf;
				return -1;
			}
			return 0;
		}
		snprintf(err, errlen, "unknown %s parameter \"%s\" (one of: %s)", section, key,
			 mg_conf_gw_params(section, names, sizeof(names)));
		return -1;
	}
	snprintf(err, errlen, "unknown section \"%s\" (outlier, circuit, connect, healthcheck, synflood)", section);
	return -1;
}
