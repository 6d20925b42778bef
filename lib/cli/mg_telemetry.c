/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /meshgate/... telemetry commands: what the CLI shows, as JSON, for
 * dpdk-telemetry.py, scripts/meshgate-exporter.py or any client of DPDK's
 * telemetry socket. The figures come from mg_cli_fmt.c, as the CLI's do;
 * counters are per worker and summed on read.
 *
 * DPDK 22.11 caps a reply at 256 dict entries, 512 array entries, 128-byte
 * strings and 16 kB of JSON, and silently leaves out what does not fit.
 * Listings that can grow (services, a service's endpoints, endpoints,
 * neighbours, flows) therefore take a start index (",<start>") and return
 * the entries from there on, as many as fit in MG_TEL_PAGE_BYTES of JSON and
 * at most MG_TEL_PAGE: a client asks again from start + the number of
 * entries it got, until a reply is empty (or shorter than MG_TEL_PAGE when
 * the entries are short). Dict keys are restricted to [A-Za-z0-9_/].
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "mg_cli_priv.h"

#define MG_TEL_PAGE 200          /* entries of a listing per reply, at most */
#define MG_TEL_PAGE_BYTES 14000  /* JSON of a listing per reply (16 kB with headroom) */

static struct mg_gw *tel_gw;

/* ---- helpers ------------------------------------------------------------------ */

/* Parse an unsigned number that must be all of @p s (up to a comma). */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != ',') || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The page start of a listing: none/"" = 0. */
static int
page_start(const char *params, uint32_t *start)
{
	uint64_t v;

	*start = 0;
	if (params == NULL || *params == '\0')
		return 0;
	if (parse_u64(params, UINT32_MAX, &v) < 0)
		return -EINVAL;
	*start = (uint32_t)v;
	return 0;
}

static int
parse_ipv4(const char *s, size_t len, uint32_t *ip)
{
	char buf[MG_IP_STRLEN];
	uint8_t plen;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (mg_conf_parse_ipv4(buf, ip, &plen) < 0 || plen != 32)
		return -EINVAL;
	return 0;
}

static void
add_strf(struct rte_tel_data *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One array string, cut to what telemetry takes. */
static void
add_strf(struct rte_tel_data *d, const char *fmt, ...)
{
	char buf[RTE_TEL_MAX_STRING_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rte_tel_data_add_array_string(d, buf);
}

/* A page of a listing being filled. */
struct tel_page {
	struct rte_tel_data *d;
	uint32_t n;
	size_t bytes;
};

static bool
page_add(struct tel_page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Add one string to the page if it has room (false: the page is full). */
static bool
page_add(struct tel_page *p, const char *fmt, ...)
{
	char buf[RTE_TEL_MAX_STRING_LEN];
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	len = strlen(buf) + 4; /* quotes, comma, space */
	for (const char *c = buf; *c; c++)
		len += *c == '"' || *c == '\\'; /* escaped */
	if (p->n >= MG_TEL_PAGE || p->bytes + len > MG_TEL_PAGE_BYTES)
		return false;
	rte_tel_data_add_array_string(p->d, buf);
	p->n++;
	p->bytes += len;
	return true;
}

/* A dict key made of @p prefix and @p name with characters telemetry refuses as '_'. */
static const char *
tel_key(char *buf, size_t len, const char *prefix, const char *name)
{
	snprintf(buf, len, "%s%s", prefix, name);
	for (char *c = buf; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '/'))
			*c = '_';
	return buf;
}

/* ---- counters ------------------------------------------------------------------- */

static void
add_counters(struct rte_tel_data *d, const struct mg_worker_stats *s)
{
	for (uint32_t i = 0; i < mg_cli_n_counters; i++)
		rte_tel_data_add_dict_u64(d, mg_cli_counters[i].name,
					  mg_cli_counter_get(s, &mg_cli_counters[i]));
	for (int r = 1; r < MG_DROP__MAX; r++) {
		char k[64];

		rte_tel_data_add_dict_u64(d, tel_key(k, sizeof(k), "drop_",
						     mg_drop_reason_name((enum mg_drop_reason)r)),
					  s->drop[r]);
	}
}

/* /meshgate/stats: every worker's counters summed. */
static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mg_cli_worker sum;

	mg_cli_worker_sum(tel_gw, &sum);
	rte_tel_data_start_dict(d);
	add_counters(d, &sum.st);
	rte_tel_data_add_dict_u64(d, "flows_active", sum.flows_active);
	rte_tel_data_add_dict_u64(d, "workers", tel_gw->n_workers);
	return 0;
}

/* /meshgate/lcores: the workers' lcore ids, in worker order. */
static int
tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (uint16_t i = 0; i < tel_gw->n_workers; i++)
		rte_tel_data_add_array_int(d, tel_gw->workers[i]->lcore);
	return 0;
}

/* /meshgate/lcore,<worker>: one worker's counters. */
static int
tel_lcore(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mg_cli_worker w;
	uint64_t i;

	if (parse_u64(params, UINT16_MAX, &i) < 0 || i >= tel_gw->n_workers)
		return -EINVAL;
	mg_cli_worker_get(tel_gw, (uint16_t)i, &w);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "worker", w.idx);
	rte_tel_data_add_dict_int(d, "lcore", w.lcore);
	rte_tel_data_add_dict_u64(d, "flows_active", w.flows_active);
	rte_tel_data_add_dict_u64(d, "drops", w.drops);
	add_counters(d, &w.st);
	return 0;
}

/* /meshgate/workers: the summary line of `show lcores` of every worker. */
static int
tel_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	for (uint16_t i = 0; i < tel_gw->n_workers; i++) {
		struct rte_tel_data *w = rte_tel_data_alloc();
		struct mg_cli_worker s;
		char k[32];

		if (w == NULL)
			return -ENOMEM;
		mg_cli_worker_get(tel_gw, i, &s);
		rte_tel_data_start_dict(w);
		rte_tel_data_add_dict_int(w, "lcore", s.lcore);
		rte_tel_data_add_dict_u64(w, "rx", s.st.rx);
		rte_tel_data_add_dict_u64(w, "tx", s.st.tx);
		rte_tel_data_add_dict_u64(w, "flows_new", s.st.flows_new);
		rte_tel_data_add_dict_u64(w, "flows_active", s.flows_active);
		rte_tel_data_add_dict_u64(w, "connect_ok", s.st.connect_ok);
		rte_tel_data_add_dict_u64(w, "connect_retry", s.st.connect_retry);
		rte_tel_data_add_dict_u64(w, "connect_failed", s.st.connect_failed);
		rte_tel_data_add_dict_u64(w, "drops", s.drops);
		rte_tel_data_add_dict_u64(w, "loops", s.st.loops);
		rte_tel_data_add_dict_u64(w, "busy_cycles", s.st.busy_cycles);
		snprintf(k, sizeof(k), "worker_%u", i);
		if (rte_tel_data_add_dict_container(d, k, w, 0) != 0)
			rte_tel_data_free(w);
	}
	return 0;
}

/* ---- ports ------------------------------------------------------------------------ */

/* /meshgate/ports: meshgate's DPDK port ids. */
static int
tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (uint16_t i = 0; i < tel_gw->n_ports; i++)
		rte_tel_data_add_array_int(d, tel_gw->ports[i].port_id);
	return 0;
}

/* /meshgate/port,<id>: `show port stats` and `show port info` of one port. */
static int
tel_port(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mg_cli_port p;
	char ip[MG_IP_STRLEN], addr[MG_IP_STRLEN + 4];
	uint64_t id;
	int idx;

	if (parse_u64(params, UINT16_MAX, &id) < 0 || (idx = mg_gw_port_index(tel_gw, (uint16_t)id)) < 0)
		return -EINVAL;
	mg_cli_port_get(tel_gw, (uint16_t)idx, &p);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "ipackets", p.st.ipackets);
	rte_tel_data_add_dict_u64(d, "opackets", p.st.opackets);
	rte_tel_data_add_dict_u64(d, "ibytes", p.st.ibytes);
	rte_tel_data_add_dict_u64(d, "obytes", p.st.obytes);
	rte_tel_data_add_dict_u64(d, "imissed", p.st.imissed);
	rte_tel_data_add_dict_u64(d, "ierrors", p.st.ierrors);
	rte_tel_data_add_dict_u64(d, "oerrors", p.st.oerrors);
	rte_tel_data_add_dict_u64(d, "rx_nombuf", p.st.rx_nombuf);
	rte_tel_data_add_dict_string(d, "name", p.gp->name);
	rte_tel_data_add_dict_string(d, "device", p.gp->device);
	rte_tel_data_add_dict_string(d, "driver", p.gp->driver);
	rte_tel_data_add_dict_string(d, "mac", p.mac);
	snprintf(addr, sizeof(addr), "%s/%u", mg_cli_ip(p.ip, ip), p.prefix_len);
	rte_tel_data_add_dict_string(d, "address", addr);
	rte_tel_data_add_dict_string(d, "link_status", p.link.link_status ? "up" : "down");
	rte_tel_data_add_dict_u64(d, "link_speed_mbps", p.link.link_speed);
	rte_tel_data_add_dict_u64(d, "mtu", p.mtu);
	rte_tel_data_add_dict_u64(d, "rx_queues", p.gp->n_rxq);
	rte_tel_data_add_dict_u64(d, "tx_queues", p.gp->n_txq);
	rte_tel_data_add_dict_string(d, "rss", !p.gp->rss ? "off" :
				     tel_gw->sh.ports[p.gp->port_id].rss ? "predictable" : "on");
	rte_tel_data_add_dict_string(d, "profile", p.gp->profile.name);
	rte_tel_data_add_dict_u64(d, "rx_desc", p.gp->profile.rx_desc);
	rte_tel_data_add_dict_u64(d, "tx_desc", p.gp->profile.tx_desc);
	return 0;
}

/* ---- configuration ------------------------------------------------------------------ */

struct tel_kv {
	struct rte_tel_data *d;
	struct rte_tel_data *list;
	char list_key[64];
};

static void
tkv_section(void *ctx, const char *title)
{
}

static void
tkv_str(void *ctx, const char *key, const char *val)
{
	struct tel_kv *t = ctx;

	rte_tel_data_add_dict_string(t->d, key, val);
}

static void
tkv_u64(void *ctx, const char *key, uint64_t val)
{
	struct tel_kv *t = ctx;

	rte_tel_data_add_dict_u64(t->d, key, val);
}

static void
tkv_list_begin(void *ctx, const char *key)
{
	struct tel_kv *t = ctx;

	snprintf(t->list_key, sizeof(t->list_key), "%s", key);
	t->list = rte_tel_data_alloc();
	if (t->list != NULL)
		rte_tel_data_start_array(t->list, RTE_TEL_STRING_VAL);
}

static void
tkv_list_str(void *ctx, const char *val)
{
	struct tel_kv *t = ctx;

	if (t->list != NULL)
		add_strf(t->list, "%s", val);
}

static void
tkv_list_end(void *ctx)
{
	struct tel_kv *t = ctx;

	if (t->list != NULL && rte_tel_data_add_dict_container(t->d, t->list_key, t->list, 0) != 0)
		rte_tel_data_free(t->list);
	t->list = NULL;
}

/* /meshgate/config: `show config`. */
static int
tel_config(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tel_kv t = { .d = d };
	const struct mg_cli_kv kv = {
		.section = tkv_section, .str = tkv_str, .u64 = tkv_u64,
		.list_begin = tkv_list_begin, .list_str = tkv_list_str, .list_end = tkv_list_end,
		.ctx = &t,
	};

	rte_tel_data_start_dict(d);
	mg_cli_config_visit(tel_gw, &kv);
	return 0;
}

/* ---- services ------------------------------------------------------------------------- */

/* /meshgate/services[,<start>]: "ns/name vip:port mode scope eps=N tiers=N" per service port. */
static int
tel_services(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tel_page pg = { .d = d };
	const struct mg_lb_table *t;
	uint32_t start;

	if (page_start(params, &start) < 0)
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&tel_gw->lock);
	t = mg_gw_table(tel_gw);
	for (uint32_t i = start; i < t->n_svcs; i++) {
		struct mg_cli_svc s;

		mg_cli_svc_get(t, i, &s);
		if (!page_add(&pg, "%s %s %s %s eps=%u tiers=%u%s%s", s.name, s.vip, s.mode, s.scope,
			      s.eps, s.tiers, s.dazed ? " dazed" : "", s.global ? " global" : ""))
			break;
	}
	pthread_mutex_unlock(&tel_gw->lock);
	return 0;
}

/*
 * /meshgate/service,<ns>/<name>[,<start>]: first "mode=... source=... scope=...",
 * then one "vip:port->ip:port tier= rank= weight= state= ready= port= nh=" per
 * endpoint of every VIP:port of the service. <start> counts endpoint lines;
 * the first line comes with start 0 only.
 */
static int
tel_service(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char ns_name[MG_SVC_NAME_LEN], ns[MG_NAME_LEN], name[MG_NAME_LEN];
	const char *comma;
	uint32_t start = 0, n = 0, found = 0;
	struct tel_page pg = { .d = d };
	const struct mg_lb_table *t;
	bool full = false;
	size_t len;

	if (params == NULL)
		return -EINVAL;
	comma = strchr(params, ',');
	len = comma != NULL ? (size_t)(comma - params) : strlen(params);
	if (len >= sizeof(ns_name) || (comma != NULL && page_start(comma + 1, &start) < 0))
		return -EINVAL;
	memcpy(ns_name, params, len);
	ns_name[len] = '\0';
	if (mg_cli_svc_split(ns_name, ns, name) < 0)
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&tel_gw->lock);
	t = mg_gw_table(tel_gw);
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct mg_lb_svc *s = &t->svcs[i];
		struct mg_cli_svc sv;

		if (!mg_cli_svc_is(t, i, ns, name))
			continue;
		mg_cli_svc_get(t, i, &sv);
		if (found++ == 0 && start == 0)
			page_add(&pg, "mode=%s source=%s scope=%s%s", sv.mode, sv.source, sv.scope,
				 sv.dazed ? " dazed" : "");
		for (uint32_t k = 0; k < s->ep_count && !full; k++, n++) {
			struct mg_cli_ep e;

			if (n < start)
				continue;
			mg_cli_ep_get(tel_gw, t, s, k, &e);
			full = !page_add(&pg, "%s->%s tier=%u rank=%d weight=%u state=%u ready=%u port=%u nh=%s",
					 sv.vip, e.addr, e.tier, e.rank, e.weight, e.state, e.ready,
					 e.port_id, e.resolved ? "resolved" : "unresolved");
		}
	}
	pthread_mutex_unlock(&tel_gw->lock);
	return found ? 0 : -ENOENT;
}

/* ---- endpoints (outlier detection) --------------------------------------------------------- */

/* /meshgate/endpoints[,<start>]: one line per endpoint, as `show endpoints`. */
static int
tel_endpoints(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tel_page pg = { .d = d };
	uint64_t now = mg_cli_now_ms();
	uint32_t start;

	if (page_start(params, &start) < 0)
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&tel_gw->lock);
	for (uint32_t i = start; i < tel_gw->ol->n; i++) {
		const struct mg_ol_ep *e = &tel_gw->ol->eps[i];
		char ip[MG_IP_STRLEN];

		if (!page_add(&pg, "%s %s fails=%u k=%u back_in_ms=%" PRIu64 " score=%.3f rtt_us=%.0f"
			      " active=%u pending=%u ejections=%" PRIu64, mg_cli_ip(e->id, ip),
			      mg_cli_ol_state(e), e->consecutive, e->k, mg_cli_ol_back_in_ms(e, now),
			      e->score, e->latency_us, e->active, e->pending, e->ejections))
			break;
	}
	pthread_mutex_unlock(&tel_gw->lock);
	return 0;
}

/* /meshgate/endpoint,<ip>: `show endpoint <ip>`. */
static int
tel_endpoint(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t now = mg_cli_now_ms();
	const struct mg_ol_ep *e;
	char k[64];
	uint32_t ip;

	if (params == NULL || parse_ipv4(params, strlen(params), &ip) < 0)
		return -EINVAL;
	pthread_mutex_lock(&tel_gw->lock);
	e = mg_outlier_find(tel_gw->ol, ip);
	if (e == NULL) {
		pthread_mutex_unlock(&tel_gw->lock);
		return -ENOENT;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "state", mg_cli_ol_state(e));
	rte_tel_data_add_dict_u64(d, "consecutive_failures", e->consecutive);
	rte_tel_data_add_dict_u64(d, "ejections", e->ejections);
	rte_tel_data_add_dict_u64(d, "multiplier", e->k);
	rte_tel_data_add_dict_u64(d, "back_in_ms", mg_cli_ol_back_in_ms(e, now));
	rte_tel_data_add_dict_u64(d, "last_ejection_ago_ms", mg_cli_ol_ejected_ago_ms(e, now));
	rte_tel_data_add_dict_u64(d, "score_permille", (uint64_t)(e->score * 1000.0 + 0.5));
	rte_tel_data_add_dict_u64(d, "latency_us", (uint64_t)(e->latency_us + 0.5));
	rte_tel_data_add_dict_u64(d, "active", e->active);
	rte_tel_data_add_dict_u64(d, "pending", e->pending);
	rte_tel_data_add_dict_string(d, "last_failure", e->last_failure_ms ?
				     mg_ol_event_name((enum mg_ol_event)e->last_failure) : "");
	rte_tel_data_add_dict_u64(d, "last_failure_ago_ms",
				  e->last_failure_ms && now > e->last_failure_ms ?
				  now - e->last_failure_ms : 0);
	rte_tel_data_add_dict_u64(d, "drained", e->drained);
	rte_tel_data_add_dict_u64(d, "healthcheck", e->hc_on);
	rte_tel_data_add_dict_u64(d, "healthcheck_down", e->hc_down);
	rte_tel_data_add_dict_u64(d, "probes", e->hc_probes);
	rte_tel_data_add_dict_u64(d, "probe_failures", e->hc_failures);
	for (int ev = 0; ev < MG_OL__MAX; ev++)
		rte_tel_data_add_dict_u64(d, tel_key(k, sizeof(k), "events_",
						     mg_ol_event_name((enum mg_ol_event)ev)), e->events[ev]);
	pthread_mutex_unlock(&tel_gw->lock);
	return 0;
}

/* ---- neighbours, routes ----------------------------------------------------------------- */

/* /meshgate/neigh[,<start>]: "ip port=N mac requests=N age_s=N|-" per neighbour. */
static int
tel_neigh(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct mg_neigh_table *t = tel_gw->sh.neigh;
	struct tel_page pg = { .d = d };
	uint64_t now = mg_cli_now_ms();
	uint32_t start;

	if (page_start(params, &start) < 0)
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&tel_gw->lock);
	for (uint32_t i = start; i < t->n; i++) {
		struct mg_cli_neigh n;
		char age[24] = "-";

		mg_cli_neigh_get(t, i, now, &n);
		if (n.age_s >= 0)
			snprintf(age, sizeof(age), "%" PRId64, n.age_s);
		if (!page_add(&pg, "%s port=%u %s requests=%u answers=%u age_s=%s", n.ip, n.port_id,
			      n.mac, n.requests, n.answers, age))
			break;
	}
	pthread_mutex_unlock(&tel_gw->lock);
	return 0;
}

/* /meshgate/routes: "dst/len via gateway|on-link port=N kind". */
static int
tel_routes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&tel_gw->lock);
	for (uint32_t i = 0; i < tel_gw->routes.n; i++) {
		struct mg_cli_route r;

		mg_cli_route_get(&tel_gw->routes, i, &r);
		add_strf(d, "%s via %s port=%u %s", r.dst, r.gateway, r.port_id, r.kind);
	}
	pthread_mutex_unlock(&tel_gw->lock);
	return 0;
}

/* ---- flows -------------------------------------------------------------------------------- */

struct tel_flow_walk {
	struct tel_page pg;
	uint32_t start;
	uint32_t seen;
};

static bool
tel_flow(void *ctx, uint16_t worker, const struct mg_flow *f)
{
	struct tel_flow_walk *w = ctx;
	char line[RTE_TEL_MAX_STRING_LEN];

	if (w->seen++ < w->start)
		return true;
	mg_cli_flow_str(f, line, sizeof(line));
	return page_add(&w->pg, "%s %s attempts=%u worker=%u", line, mg_tcp_state_name(f->state),
			f->attempts, worker);
}

/*
 * /meshgate/flows: active flows in total, per TCP state and per worker.
 * /meshgate/flows,<vip>[,<start>]: the flows to a VIP (`show flows <vip>`).
 */
static int
tel_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mg_cli_flows sum = { 0 };
	char k[32];

	if (params != NULL && *params != '\0') {
		struct tel_flow_walk w = { .pg = { .d = d } };
		const char *comma = strchr(params, ',');
		uint32_t vip;

		if (parse_ipv4(params, comma ? (size_t)(comma - params) : strlen(params), &vip) < 0 ||
		    (comma != NULL && page_start(comma + 1, &w.start) < 0))
			return -EINVAL;
		rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
		mg_cli_flows_walk(tel_gw, vip, tel_flow, &w);
		return 0;
	}
	rte_tel_data_start_dict(d);
	for (uint16_t i = 0; i < tel_gw->n_workers; i++) {
		struct mg_cli_flows f;

		mg_cli_flows_count(tel_gw, i, &f);
		snprintf(k, sizeof(k), "worker_%u", i);
		rte_tel_data_add_dict_u64(d, k, f.active);
		sum.active += f.active;
		sum.size += f.size;
		for (int s = 0; s < MG_TCP_STATE__MAX; s++)
			sum.state[s] += f.state[s];
	}
	rte_tel_data_add_dict_u64(d, "active", sum.active);
	rte_tel_data_add_dict_u64(d, "size", sum.size);
	for (int s = 1; s < MG_TCP_STATE__MAX; s++) {
		char *c;

		tel_key(k, sizeof(k), "", mg_tcp_state_name((uint8_t)s));
		for (c = k; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		rte_tel_data_add_dict_u64(d, k, sum.state[s]);
	}
	return 0;
}

/* ---- registration ------------------------------------------------------------------------- */

static const struct {
	const char *cmd;
	telemetry_cb fn;
	const char *help;
} tel_cmds[] = {
	{ "/meshgate/stats", tel_stats,
	  "Counters of all workers, summed; drops by reason (drop_<reason>). No parameters" },
	{ "/meshgate/lcores", tel_lcores, "Lcore ids of the workers, in worker order. No parameters" },
	{ "/meshgate/lcore", tel_lcore, "Counters of one worker. Parameters: worker index" },
	{ "/meshgate/workers", tel_workers,
	  "Per worker: the summary of show lcores (rx, tx, flows, connects, drops). No parameters" },
	{ "/meshgate/ports", tel_ports, "meshgate's DPDK port ids. No parameters" },
	{ "/meshgate/port", tel_port, "Counters and details of one port. Parameters: port id" },
	{ "/meshgate/config", tel_config,
	  "The configuration in force and control-plane counters. No parameters" },
	{ "/meshgate/services", tel_services,
	  "Service VIP:ports with endpoints, tiers, mode, scope. Parameters: [start index], paged" },
	{ "/meshgate/service", tel_service,
	  "A service's mode and endpoints. Parameters: <ns>/<name>[,start index], paged" },
	{ "/meshgate/endpoints", tel_endpoints,
	  "Outlier state of every endpoint. Parameters: [start index], paged" },
	{ "/meshgate/endpoint", tel_endpoint, "Outlier state of one endpoint. Parameters: <ip>" },
	{ "/meshgate/neigh", tel_neigh, "ARP neighbours. Parameters: [start index], paged" },
	{ "/meshgate/routes", tel_routes, "Routes. No parameters" },
	{ "/meshgate/flows", tel_flows,
	  "Active flows per worker and TCP state; with <vip>[,start index]: its flows, paged" },
};

int
mg_telemetry_register(struct mg_gw *gw)
{
	int rc = 0;

	tel_gw = gw;
	for (uint32_t i = 0; i < RTE_DIM(tel_cmds); i++)
		if (rte_telemetry_register_cmd(tel_cmds[i].cmd, tel_cmds[i].fn, tel_cmds[i].help) != 0)
			rc = -1;
	return rc;
}
