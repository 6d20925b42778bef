/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data gathering shared by the CLI (mg_cli_show.c), the counters printed at
 * exit and by --stats-period, and telemetry (mg_telemetry.c): snapshots of a
 * worker, a port, a service and its endpoints, a neighbour, a route, a flow,
 * and one walk over the configuration in force. Each figure is computed
 * here only, so the text and the JSON of the same moment agree.
 *
 * Concurrency: worker counters and flow arrays belong to the workers; they
 * are read here while the workers write them, one aligned 64-bit word (or
 * one copied flow) at a time. That is a benign race for display: nothing
 * read is written back, and no pointer found in a flow is followed. Tables,
 * neighbours and control counters belong to the control thread: callers
 * hold gw->lock while they read them (mg_cli_config_visit takes it itself).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "mg_cli_priv.h"

/* ---- output ----------------------------------------------------------------- */

void
mg_out_printf(struct mg_out *o, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->write(o->ctx, buf);
}

int
mg_out_fail(struct mg_out *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->write(o->ctx, buf);
	o->write(o->ctx, "\n");
	if (o->err != NULL && o->errlen > 0)
		snprintf(o->err, o->errlen, "%s", buf);
	return -1;
}

static void
out_stdio(void *ctx, const char *s)
{
	fputs(s, ctx);
}

void
mg_out_file(struct mg_out *o, FILE *f)
{
	*o = (struct mg_out){ .write = out_stdio, .ctx = f };
}

const char *
mg_cli_ip(uint32_t ip, char *buf)
{
	snprintf(buf, MG_IP_STRLEN, MG_IP_FMT, MG_IP_ARGS(ip));
	return buf;
}

const char *
mg_cli_ipport(uint32_t ip, uint16_t port, char *buf)
{
	snprintf(buf, MG_IPPORT_STRLEN, MG_IP_FMT ":%u", MG_IP_ARGS(ip), rte_be_to_cpu_16(port));
	return buf;
}

uint64_t
mg_cli_now_ms(void)
{
	return rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000);
}

/* ---- workers ------------------------------------------------------------------ */

#define COUNTER(n) { #n, offsetof(struct mg_worker_stats, n) }
const struct mg_cli_counter mg_cli_counters[] = {
	COUNTER(rx),
	COUNTER(tx),
	COUNTER(loops),
	COUNTER(busy_cycles),
	COUNTER(handoff_in),
	COUNTER(handoff_out),
	COUNTER(flows_new),
	COUNTER(flows_closed),
	COUNTER(connect_ok),
	COUNTER(connect_refused),
	COUNTER(connect_unreach),
	COUNTER(connect_timeout),
	COUNTER(connect_retry),
	COUNTER(connect_failed),
	COUNTER(resets),
	COUNTER(arp_replies),
	COUNTER(icmp_echo),
	COUNTER(events_dropped),
	COUNTER(probe_replies),
	COUNTER(half_open),
	COUNTER(half_open_limit_worker),
	COUNTER(half_open_limit_source),
	COUNTER(half_open_limit_service),
	COUNTER(syncookies_sent),
	COUNTER(syncookies_ok),
	COUNTER(rst_probes),
};
#undef COUNTER
const uint32_t mg_cli_n_counters = RTE_DIM(mg_cli_counters);

/* A counter added to struct mg_worker_stats must be named above. */
_Static_assert(offsetof(struct mg_worker_stats, drop) ==
	       RTE_DIM(mg_cli_counters) * sizeof(uint64_t),
	       "mg_cli_counters[] must list every counter of struct mg_worker_stats");

static void
worker_finish(struct mg_cli_worker *w)
{
	w->drops = 0;
	for (int d = 1; d < MG_DROP__MAX; d++)
		w->drops += w->st.drop[d];
	w->pkts = w->st.rx + w->st.handoff_in;
	w->cycles_per_pkt = w->pkts ? (double)w->st.busy_cycles / (double)w->pkts : 0.0;
}

void
mg_cli_worker_get(const struct mg_gw *gw, uint16_t i, struct mg_cli_worker *w)
{
	const struct mg_worker *wk = gw->workers[i];
	const volatile uint64_t *src = (const volatile uint64_t *)&wk->st;
	uint64_t *dst = (uint64_t *)&w->st;

	memset(w, 0, sizeof(*w));
	w->idx = i;
	w->lcore = wk->lcore;
	/* word by word: each counter is one store by its worker */
	for (size_t k = 0; k < offsetof(struct mg_worker_stats, drop) / 8 + MG_DROP__MAX; k++)
		dst[k] = src[k];
	w->flows_active = mg_flow_count(wk->ft);
	w->flows_size = wk->ft->size;
	worker_finish(w);
}

void
mg_cli_worker_sum(const struct mg_gw *gw, struct mg_cli_worker *sum)
{
	uint64_t *acc = (uint64_t *)&sum->st;
	const size_t words = offsetof(struct mg_worker_stats, drop) / 8 + MG_DROP__MAX;

	memset(sum, 0, sizeof(*sum));
	sum->idx = gw->n_workers;
	sum->lcore = UINT16_MAX;
	for (uint16_t i = 0; i < gw->n_workers; i++) {
		struct mg_cli_worker w;
		const uint64_t *v = (const uint64_t *)&w.st;

		mg_cli_worker_get(gw, i, &w);
		for (size_t k = 0; k < words; k++)
			acc[k] += v[k];
		sum->flows_active += w.flows_active;
		sum->flows_size += w.flows_size;
	}
	worker_finish(sum);
}

/* ---- ports ------------------------------------------------------------------- */

int
mg_cli_port_range(const struct mg_gw *gw, struct mg_out *o, int port, uint16_t *first,
		  uint16_t *last)
{
	char ports[512] = "";
	size_t used = 0;

	if (port < 0) {
		*first = 0;
		*last = gw->n_ports;
		return 0;
	}
	for (uint16_t i = 0; i < gw->n_ports; i++)
		if (gw->ports[i].port_id == port) {
			*first = i;
			*last = i + 1;
			return 0;
		}
	for (uint16_t i = 0; i < gw->n_ports && used < sizeof(ports); i++)
		used += (size_t)snprintf(ports + used, sizeof(ports) - used, " %u (%s)",
					 gw->ports[i].port_id, gw->ports[i].name);
	return mg_out_fail(o, "Invalid port %d: meshgate's ports are%s", port, ports);
}

void
mg_cli_port_get(const struct mg_gw *gw, uint16_t i, struct mg_cli_port *p)
{
	const struct mg_gw_port *gp = &gw->ports[i];
	const struct mg_proxy_port *pp = &gw->sh.ports[gp->port_id];

	memset(p, 0, sizeof(*p));
	p->gp = gp;
	p->id = gp->port_id;
	rte_ether_format_addr(p->mac, sizeof(p->mac), &pp->mac);
	p->ip = pp->ip;
	p->prefix_len = pp->prefix_len;
	if (rte_eth_dev_get_mtu(p->id, &p->mtu) != 0)
		p->mtu = 0;
	if (rte_eth_link_get_nowait(p->id, &p->link) != 0 ||
	    rte_eth_link_to_str(p->link_str, sizeof(p->link_str), &p->link) < 0)
		snprintf(p->link_str, sizeof(p->link_str), "unknown");
	p->stats_ok = rte_eth_stats_get(p->id, &p->st) == 0;
	if (!p->stats_ok)
		memset(&p->st, 0, sizeof(p->st));
}

/* ---- services and endpoints ----------------------------------------------------- */

void
mg_cli_svc_get(const struct mg_lb_table *t, uint32_t i, struct mg_cli_svc *out)
{
	const struct mg_lb_svc *s = &t->svcs[i];
	const struct mg_conf_service *cs = &t->conf->services[s->conf_idx];

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s/%s", cs->ns, cs->name);
	mg_cli_ipport(s->vip, s->port, out->vip);
	out->mode = s->mode != NULL ? s->mode->name : "-";
	out->source = mg_lb_source_name((enum mg_lb_source)s->source);
	out->scope = s->scope != NULL ? s->scope : "-";
	out->health = s->health == MG_HEALTH_ALLOW_ALL ? "ALLOW_ALL" : "ONLY_HEALTHY";
	out->eps = s->ep_count;
	out->tiers = s->n_tiers;
	out->dazed = s->dazed;
	out->global = s->global;
	out->service_entry = cs->is_service_entry;
}

int
mg_cli_svc_split(const char *ns_name, char *ns, char *name)
{
	const char *slash = strchr(ns_name, '/');

	if (slash == NULL || slash == ns_name || slash[1] == '\0' ||
	    (size_t)(slash - ns_name) >= MG_NAME_LEN || strlen(slash + 1) >= MG_NAME_LEN ||
	    strchr(slash + 1, '/') != NULL)
		return -1;
	snprintf(ns, MG_NAME_LEN, "%.*s", (int)(slash - ns_name), ns_name);
	snprintf(name, MG_NAME_LEN, "%s", slash + 1);
	return 0;
}

bool
mg_cli_svc_is(const struct mg_lb_table *t, uint32_t i, const char *ns, const char *name)
{
	const struct mg_conf_service *cs = &t->conf->services[t->svcs[i].conf_idx];

	return strcmp(cs->ns, ns) == 0 && strcmp(cs->name, name) == 0;
}

static const char *
ep_state_name(uint8_t st)
{
	static const char *const n[] = {
		[MG_LB_EP_OK] = "healthy",
		[MG_LB_EP_EJECTED] = "ejected",
		[MG_LB_EP_AT_LIMIT] = "at-limit",
		[MG_LB_EP_DAZED] = "dazed",
	};

	return st < RTE_DIM(n) ? n[st] : "?";
}

void
mg_cli_ep_get(const struct mg_gw *gw, const struct mg_lb_table *t, const struct mg_lb_svc *s,
	      uint32_t k, struct mg_cli_ep *e)
{
	const struct mg_lb_ep *ep = &t->eps[s->ep_first + k];
	const struct mg_conf_gateway *g = &t->conf->gw;
	const struct mg_locality *l = NULL;
	struct rte_ether_addr mac;

	memset(e, 0, sizeof(*e));
	mg_cli_ipport(ep->ip, ep->port, e->addr);
	e->tier = ep->tier;
	e->rank = ep->rank;
	e->weight = ep->weight;
	e->capacity = ep->capacity;
	e->ready = ep->ready;
	e->state = ep->state;
	e->state_name = ep_state_name(ep->state);
	/* The table says "no weight"; the outlier model says why. */
	if (ep->state == MG_LB_EP_AT_LIMIT || ep->state == MG_LB_EP_EJECTED) {
		const struct mg_ol_ep *o = mg_outlier_find(gw->ol, ep->id);

		if (o != NULL && (o->drained || o->hc_down))
			e->state_name = mg_ol_show_name(mg_outlier_show(o));
	}
	e->port_id = ep->port_id;
	e->remote = ep->remote != UINT16_MAX && ep->remote < g->n_remotes;
	e->resolved = mg_neigh_mac(gw->sh.neigh, ep->nh, &mac);
	if (ep->conf_idx != UINT32_MAX && ep->conf_idx < t->conf->n_endpoints)
		l = &t->conf->endpoints[ep->conf_idx].locality;
	else if (e->remote)
		l = &g->remotes[ep->remote].gateway_locality;
	if (l != NULL)
		snprintf(e->locality, sizeof(e->locality), "%s/%s/%s/%s/%s",
			 e->remote ? g->remotes[ep->remote].network : l->network,
			 l->region, l->zone, l->subzone, l->node);
	else
		snprintf(e->locality, sizeof(e->locality), "-");
	if (e->remote)
		snprintf(e->via, sizeof(e->via), "east-west gateway of %s%s",
			 g->remotes[ep->remote].name, e->resolved ? "" : " (next hop unresolved)");
	else
		snprintf(e->via, sizeof(e->via), "port %u%s", ep->port_id,
			 e->resolved ? "" : " (next hop unresolved)");
}

const char *
mg_cli_ol_state(const struct mg_ol_ep *e)
{
	return mg_ol_show_name(mg_outlier_show(e));
}

uint64_t
mg_cli_ol_back_in_ms(const struct mg_ol_ep *e, uint64_t now_ms)
{
	return e->ejected && e->ejected_until > now_ms ? e->ejected_until - now_ms : 0;
}

uint64_t
mg_cli_ol_ejected_ago_ms(const struct mg_ol_ep *e, uint64_t now_ms)
{
	return e->ejections > 0 && now_ms > e->ejected_at ? now_ms - e->ejected_at : 0;
}

/* ---- neighbours and routes -------------------------------------------------------- */

void
mg_cli_neigh_get(const struct mg_neigh_table *t, uint32_t i, uint64_t now_ms,
		 struct mg_cli_neigh *n)
{
	const struct mg_neigh_info *info = &t->info[i];
	struct rte_ether_addr mac;

	memset(n, 0, sizeof(*n));
	mg_cli_ip(info->ip, n->ip);
	n->port_id = info->port_id;
	n->resolved = mg_neigh_mac(t, (uint16_t)i, &mac);
	if (n->resolved)
		rte_ether_format_addr(n->mac, sizeof(n->mac), &mac);
	else
		snprintf(n->mac, sizeof(n->mac), "incomplete");
	n->age_s = info->confirmed_ms && now_ms >= info->confirmed_ms ?
		(int64_t)((now_ms - info->confirmed_ms) / 1000) : -1;
	n->requests = info->requests;
	n->answers = info->answers;
}

void
mg_cli_route_get(const struct mg_route_table *rt, uint32_t i, struct mg_cli_route *r)
{
	const struct mg_route *e = &rt->r[i];
	char ip[MG_IP_STRLEN];

	snprintf(r->dst, sizeof(r->dst), "%s/%u", mg_cli_ip(e->dst, ip), e->prefix_len);
	if (e->gateway)
		mg_cli_ip(e->gateway, r->gateway);
	else
		snprintf(r->gateway, sizeof(r->gateway), "on-link");
	r->port_id = e->port_id;
	r->kind = e->connected ? "connected" : "static";
}

/* ---- flows ---------------------------------------------------------------------- */

/* A copy of flow @p i of @p ft, or false when the slot is free. */
static bool
flow_copy(const struct mg_flow_table *ft, uint32_t i, struct mg_flow *out)
{
	const volatile struct mg_flow *f = &ft->flows[i];

	if (f->state == MG_TCP_NONE)
		return false;
	memcpy(out, (const void *)f, sizeof(*out));
	return out->state != MG_TCP_NONE && out->state < MG_TCP_STATE__MAX;
}

void
mg_cli_flows_count(const struct mg_gw *gw, uint16_t i, struct mg_cli_flows *out)
{
	const struct mg_flow_table *ft = gw->workers[i]->ft;

	memset(out, 0, sizeof(*out));
	out->active = mg_flow_count(ft);
	out->size = ft->size;
	for (uint32_t f = 0; f < ft->size; f++) {
		uint8_t st = ((const volatile struct mg_flow *)&ft->flows[f])->state;

		if (st != MG_TCP_NONE && st < MG_TCP_STATE__MAX)
			out->state[st]++;
	}
}

void
mg_cli_flows_walk(const struct mg_gw *gw, uint32_t vip, mg_cli_flow_cb cb, void *ctx)
{
	for (uint16_t i = 0; i < gw->n_workers; i++) {
		const struct mg_flow_table *ft = gw->workers[i]->ft;

		for (uint32_t k = 0; k < ft->size; k++) {
			struct mg_flow fl;

			if (!flow_copy(ft, k, &fl) || (vip != 0 && fl.vip != vip))
				continue;
			if (!cb(ctx, i, &fl))
				return;
		}
	}
}

void
mg_cli_flow_str(const struct mg_flow *f, char *buf, size_t len)
{
	char c[MG_IPPORT_STRLEN], v[MG_IPPORT_STRLEN], s[MG_IPPORT_STRLEN], e[MG_IPPORT_STRLEN];

	snprintf(buf, len, "%s -> %s => %s -> %s", mg_cli_ipport(f->client_ip, f->client_port, c),
		 mg_cli_ipport(f->vip, f->vport, v), mg_cli_ipport(f->snat_ip, f->snat_port, s),
		 f->ep_ip ? mg_cli_ipport(f->ep_ip, f->ep_port, e) : "-");
}

/* ---- the configuration in force ---------------------------------------------------- */

static void
kv_strf(const struct mg_cli_kv *kv, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
kv_strf(const struct mg_cli_kv *kv, const char *key, const char *fmt, ...)
{
	char buf[MG_CONF_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kv->str(kv->ctx, key, buf);
}

static void
kv_list_f(const struct mg_cli_kv *kv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
kv_list_f(const struct mg_cli_kv *kv, const char *fmt, ...)
{
	char buf[2 * MG_PATH_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kv->list_str(kv->ctx, buf);
}

static void
config_gateway(struct mg_gw *gw, const struct mg_lb_table *t, const struct mg_cli_kv *kv)
{
	const struct mg_conf_gateway *g = &t->conf->gw;
	char ip[MG_IP_STRLEN];

	kv->section(kv->ctx, "configuration");
	kv->str(kv->ctx, "path", t->conf->path);
	kv->u64(kv->ctx, "generation", t->generation);
	kv->str(kv->ctx, "forwarding", gw->running ? "on" : "off");
	kv->list_begin(kv->ctx, "manifests");
	for (uint32_t i = 0; i < g->n_manifests; i++)
		kv->list_str(kv->ctx, g->manifests[i]);
	kv->list_end(kv->ctx);
	kv->u64(kv->ctx, "services", t->conf->n_services);
	kv->u64(kv->ctx, "service_ports", t->n_svcs);
	kv->u64(kv->ctx, "endpoints", t->conf->n_endpoints);

	kv->section(kv->ctx, "gateway");
	kv->str(kv->ctx, "gateway", g->name);
	kv->str(kv->ctx, "cluster", g->cluster);
	kv->str(kv->ctx, "network", g->locality.network);
	kv->str(kv->ctx, "segment", g->segment);
	kv->str(kv->ctx, "region", g->locality.region);
	kv->str(kv->ctx, "zone", g->locality.zone);
	kv->str(kv->ctx, "subzone", g->locality.subzone);
	kv->str(kv->ctx, "node", g->locality.node);
	kv->str(kv->ctx, "locality_from", g->locality_from_node ? "Node" : "MeshGateway.spec.locality");
	kv->str(kv->ctx, "default_traffic_distribution", g->default_traffic_distribution);

	kv->section(kv->ctx, "ports and addresses");
	kv->list_begin(kv->ctx, "ports");
	for (uint16_t i = 0; i < gw->n_ports; i++) {
		const struct mg_gw_port *p = &gw->ports[i];
		const struct mg_proxy_port *pp = &gw->sh.ports[p->port_id];

		kv_list_f(kv, "%u %s %s/%u %s profile %s", p->port_id, p->name, mg_cli_ip(pp->ip, ip),
			  pp->prefix_len, p->device, p->profile.name);
	}
	kv->list_end(kv->ctx);
	kv->list_begin(kv->ctx, "snat");
	for (uint16_t i = 0; i < gw->sh.n_snat; i++)
		kv->list_str(kv->ctx, mg_cli_ip(gw->sh.snat_ips[i], ip));
	kv->list_end(kv->ctx);
	kv->u64(kv->ctx, "snat_port_min", gw->sh.snat_port_min);
	kv->u64(kv->ctx, "snat_port_max", gw->sh.snat_port_max);
	kv->u64(kv->ctx, "routes", gw->routes.n);
	kv->u64(kv->ctx, "neigh_timeout_ms", g->neigh_timeout_ms);
	kv->list_begin(kv->ctx, "remotes");
	for (uint32_t i = 0; i < g->n_remotes; i++) {
		const struct mg_conf_cluster *r = &g->remotes[i];

		kv_list_f(kv, "%s network %s segment %s east-west %s:%u locality %s/%s/%s", r->name,
			  r->network, r->segment[0] ? r->segment : "-", mg_cli_ip(r->gateway_ip, ip),
			  r->gateway_port, r->gateway_locality.region, r->gateway_locality.zone,
			  r->gateway_locality.subzone);
	}
	kv->list_end(kv->ctx);
}

static void
config_settings(struct mg_gw *gw, const struct mg_lb_table *t, const struct mg_cli_kv *kv)
{
	const struct mg_conf_gateway *g = &t->conf->gw;
	const struct mg_proxy_params *pp = &gw->sh.params;

	kv->section(kv->ctx, "connect");
	kv->u64(kv->ctx, "connect_timeout_ms", pp->connect_timeout_ms);
	kv->u64(kv->ctx, "max_connect_attempts", pp->max_attempts);

	kv->section(kv->ctx, "flow table");
	kv->u64(kv->ctx, "flow_table_size", g->flows.size);
	for (int s = MG_TCP_SYN_RECV; s < MG_TCP_STATE__MAX; s++) {
		char key[48], *c;

		snprintf(key, sizeof(key), "timeout_%s_ms", mg_tcp_state_name((uint8_t)s));
		for (c = key; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		kv->u64(kv->ctx, key, pp->timeouts.ms[s]);
	}

	kv->section(kv->ctx, "syn flood");
	kv->str(kv->ctx, "syn_cookies", pp->syn_cookies == MG_SYNCOOKIES_ALWAYS ? "always" :
		pp->syn_cookies == MG_SYNCOOKIES_OFF ? "off" : "auto");
	kv->u64(kv->ctx, "max_half_open", pp->max_half_open);
	kv->u64(kv->ctx, "max_half_open_per_source", pp->max_half_open_src);
	kv->u64(kv->ctx, "max_half_open_per_service", pp->max_half_open_svc);

	kv->section(kv->ctx, "outlier detection and circuit breakers");
	kv->str(kv->ctx, "outlier_detection", g->outlier.enabled ? "on" : "off");
	kv->u64(kv->ctx, "outlier_consecutive_failures", g->outlier.consecutive_failures);
	kv->u64(kv->ctx, "outlier_interval_ms", g->outlier.interval_ms);
	kv->u64(kv->ctx, "outlier_base_ejection_ms", g->outlier.base_ejection_ms);
	kv->u64(kv->ctx, "outlier_max_ejection_ms", g->outlier.max_ejection_ms);
	kv->u64(kv->ctx, "outlier_max_ejection_percent", g->outlier.max_ejection_percent);
	kv_strf(kv, "outlier_ewma_alpha", "%.2f", g->outlier.ewma_alpha);
	kv_strf(kv, "outlier_readmit_score", "%.2f", g->outlier.readmit_score);
	kv->u64(kv->ctx, "circuit_max_connections", g->circuit.max_connections);
	kv->u64(kv->ctx, "circuit_max_pending_connects", g->circuit.max_pending_connects);
	kv->str(kv->ctx, "healthcheck", g->healthcheck.enabled ? "on" : "off");
	kv->u64(kv->ctx, "healthcheck_interval_ms", g->healthcheck.interval_ms);
	kv->u64(kv->ctx, "healthcheck_timeout_ms", g->healthcheck.timeout_ms);
	kv->u64(kv->ctx, "healthcheck_healthy_threshold", g->healthcheck.healthy_threshold);
	kv->u64(kv->ctx, "healthcheck_unhealthy_threshold", g->healthcheck.unhealthy_threshold);
}

static void
config_control(struct mg_gw *gw, const struct mg_cli_kv *kv)
{
	const struct mg_gw_ctl_stats *c = &gw->cst;

	kv->section(kv->ctx, "control plane");
	kv->u64(kv->ctx, "generations", c->generations);
	kv->u64(kv->ctx, "loads_ok", c->loads_ok);
	kv->u64(kv->ctx, "loads_failed", c->loads_failed);
	kv->str(kv->ctx, "last_error", gw->last_error);
	kv->u64(kv->ctx, "publish_wait_us_last", c->publish_wait_us_last);
	kv->u64(kv->ctx, "publish_wait_us_max", c->publish_wait_us_max);
	kv->u64(kv->ctx, "reclaimed", c->reclaimed);
	kv->u64(kv->ctx, "arp_requests", c->arp_requests);
	kv->u64(kv->ctx, "arp_learnt", c->arp_learnt);
	kv->u64(kv->ctx, "neigh_full", gw->sh.neigh->learn_full);
	kv->u64(kv->ctx, "arp_wrong_port", gw->sh.neigh->learn_wrong_port);
	kv->u64(kv->ctx, "events", c->events);
	kv->u64(kv->ctx, "events_connect_start", c->ev[MG_EV_CONNECT_START]);
	kv->u64(kv->ctx, "events_connect_ok", c->ev[MG_EV_CONNECT_OK]);
	kv->u64(kv->ctx, "events_refused", c->ev[MG_EV_CONNECT_REFUSED]);
	kv->u64(kv->ctx, "events_unreach", c->ev[MG_EV_CONNECT_UNREACH]);
	kv->u64(kv->ctx, "events_timeout", c->ev[MG_EV_CONNECT_TIMEOUT]);
	kv->u64(kv->ctx, "events_aborted", c->ev[MG_EV_CONNECT_ABORTED]);
	kv->u64(kv->ctx, "events_reset", c->ev[MG_EV_RESET]);
	kv->u64(kv->ctx, "events_closed", c->ev[MG_EV_CLOSED]);
	kv->u64(kv->ctx, "events_unknown", c->ev_unknown);
	kv->u64(kv->ctx, "ejections", c->ejections);
	kv->u64(kv->ctx, "readmissions", c->readmissions);
	kv->u64(kv->ctx, "eject_publish_us_last", c->eject_publish_us_last);
	kv->u64(kv->ctx, "eject_publish_us_max", c->eject_publish_us_max);
	kv->u64(kv->ctx, "probes_sent", c->probes_sent);
	kv->u64(kv->ctx, "probe_results", c->probe_results);
	kv->u64(kv->ctx, "probe_down", c->probe_down);
	kv->u64(kv->ctx, "probe_up", c->probe_up);
	kv->u64(kv->ctx, "rebuilds", c->rebuilds);
	kv->u64(kv->ctx, "dazed", c->dazed);
}

void
mg_cli_config_visit(struct mg_gw *gw, const struct mg_cli_kv *kv)
{
	const struct mg_lb_table *t;

	pthread_mutex_lock(&gw->lock);
	t = mg_gw_table(gw);
	config_gateway(gw, t, kv);
	config_settings(gw, t, kv);
	config_control(gw, kv);
	pthread_mutex_unlock(&gw->lock);
}
