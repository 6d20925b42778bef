/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread and configuration changes.
 *
 * A change is built completely aside (configuration parsed and checked,
 * routes, a new locality table with every endpoint routed and given a
 * neighbour entry) and only then published with one pointer store; the
 * generation it replaces goes to the RCU defer queue and is freed once every
 * worker has been quiescent since. If any step fails nothing is published
 * and the running configuration stays, with the reason logged and returned.
 *
 * What cannot change at run time (ports, their addresses, SNAT addresses,
 * worker count) is compared with the running configuration and a change is
 * refused with a message that says a restart is needed, rather than applied
 * halfway.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include "mg_gw_priv.h"

RTE_LOG_REGISTER(mg_logtype_ctl, meshgate.control, INFO);

static uint64_t
now_ms(void)
{
	return rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000);
}

void
mg_gw_params_from_conf(struct mg_proxy_params *p, const struct mg_conf_gateway *g)
{
	const struct mg_conf_flowtable *f = &g->flows;
	const struct mg_conf_synflood *sf = &g->synflood;
	struct mg_tcp_timeouts *t = &p->timeouts;
	uint32_t size = f->size ? f->size : 262144;

	p->connect_timeout_ms = g->connect_timeout_ms ? g->connect_timeout_ms : 500;
	p->max_attempts = g->max_connect_attempts ? g->max_connect_attempts : 3;
	p->max_half_open = RTE_MIN(sf->max_half_open ? sf->max_half_open : 4096, size);
	p->max_half_open_src = sf->max_half_open_per_source;
	p->max_half_open_svc = sf->max_half_open_per_service;
	p->syn_cookies = strcmp(sf->cookies, "always") == 0 ? MG_SYNCOOKIES_ALWAYS :
			 strcmp(sf->cookies, "off") == 0 ? MG_SYNCOOKIES_OFF : MG_SYNCOOKIES_AUTO;

	mg_tcp_timeouts_default(t);
#define MG_SET_TO(state, v) do { if (v) t->ms[state] = (v); } while (0)
	MG_SET_TO(MG_TCP_SYN_RECV, f->syn_recv_ms);
	MG_SET_TO(MG_TCP_ESTABLISHED, f->established_ms);
	MG_SET_TO(MG_TCP_FIN_WAIT, f->fin_wait_ms);
	MG_SET_TO(MG_TCP_LAST_ACK, f->last_ack_ms);
	MG_SET_TO(MG_TCP_TIME_WAIT, f->time_wait_ms);
	MG_SET_TO(MG_TCP_CLOSE, f->close_ms);
#undef MG_SET_TO
	t->ms[MG_TCP_SYN_SENT] = g->connect_timeout_ms ? g->connect_timeout_ms : 500;
}

/* Route an endpoint: egress port, neighbour entry of its next hop, SNAT source. */
static int
resolve_ep(void *ctx, uint32_t ip, uint16_t *port_id, uint16_t *nh, uint16_t *snat_idx)
{
	struct mg_gw *gw = ctx;
	uint32_t next_hop;
	int idx, pi;

	if (mg_route_lookup(&gw->routes, ip, &next_hop, port_id) < 0)
		return -ENOENT;
	idx = mg_neigh_get_or_add(gw->sh.neigh, next_hop, *port_id);
	if (idx < 0)
		return idx;
	*nh = (uint16_t)idx;
	pi = mg_gw_port_index(gw, *port_id);
	*snat_idx = 0;
	if (gw->sh.n_snat == gw->n_ports && gw->sh.snat_ips[pi] == gw->sh.ports[*port_id].ip) {
		*snat_idx = (uint16_t)pi; /* no SNAT list: the egress port's address */
		return 0;
	}
	/* Endpoints spread over the SNAT addresses of their egress subnet (by
	 * address, so stable across reloads): each address has its own port
	 * pool, so N addresses carry N x 64k flows per worker, not 64k. */
	uint16_t match[MG_MAX_SNAT], nm = 0;

	for (uint16_t s = 0; s < gw->sh.n_snat; s++) {
		uint8_t len = gw->sh.ports[*port_id].prefix_len;
		uint32_t mask = len ? rte_cpu_to_be_32(~UINT32_C(0) << (32 - len)) : 0;

		if ((gw->sh.snat_ips[s] & mask) == (gw->sh.ports[*port_id].ip & mask))
			match[nm++] = s;
	}
	if (nm > 0)
		*snat_idx = match[rte_be_to_cpu_32(ip) % nm];
	return 0;
}

static int
routes_build(struct mg_gw *gw, const struct mg_conf *conf, struct mg_route_table *rt,
	     char *err, size_t errlen)
{
	const struct mg_conf_gateway *g = &conf->gw;

	memset(rt, 0, sizeof(*rt));
	for (uint32_t i = 0; i < g->n_ports; i++)
		mg_route_add(rt, g->ports[i].ip, g->ports[i].prefix_len, 0,
			     gw->ports[i].port_id, true);
	for (uint32_t i = 0; i < g->n_routes; i++) {
		const struct mg_conf_route *r = &g->routes[i];
		uint16_t port_id;
		uint32_t nh;

		if (r->port >= 0) {
			port_id = gw->ports[r->port].port_id;
		} else if (mg_route_lookup(rt, r->gateway, &nh, &port_id) < 0 || r->gateway == 0) {
			snprintf(err, errlen, "%s:%u: MeshGateway.spec.routes[%u].gateway: not on any port's subnet",
				 g->src.file, g->src.line, i);
			return -1;
		}
		if (mg_route_add(rt, r->dst, r->prefix_len, r->gateway, port_id, false) < 0) {
			snprintf(err, errlen, "%s:%u: MeshGateway.spec.routes: more than %u routes",
				 g->src.file, g->src.line, MG_ROUTE_MAX);
			return -1;
		}
	}
	return 0;
}

/* What only a restart can change. */
static int
check_static(const struct mg_gw *gw, const struct mg_conf *conf, char *err, size_t errlen)
{
	const struct mg_conf_gateway *g = &conf->gw;
	bool same = g->n_ports == gw->n_ports;

	for (uint32_t i = 0; same && i < g->n_ports; i++)
		same = strcmp(g->ports[i].device, gw->ports[i].device) == 0 &&
		       g->ports[i].ip == gw->sh.ports[gw->ports[i].port_id].ip;
	if (!same) {
		snprintf(err, errlen, "%s: MeshGateway.spec.ports: ports and their addresses cannot change while running; restart meshgate",
			 conf->path);
		return -1;
	}
	if (g->n_snat != 0 && (g->n_snat != gw->sh.n_snat ||
			       memcmp(g->snat, gw->sh.snat_ips, g->n_snat * sizeof(uint32_t)) != 0)) {
		snprintf(err, errlen, "%s: MeshGateway.spec.snat: SNAT addresses cannot change while running; restart meshgate",
			 conf->path);
		return -1;
	}
	if (g->n_snat == 0 && gw->sh.n_snat != gw->n_ports) {
		snprintf(err, errlen, "%s: MeshGateway.spec.snat: SNAT addresses cannot be removed while running; restart meshgate",
			 conf->path);
		return -1;
	}
	return 0;
}

static void
publish(struct mg_gw *gw, struct mg_lb_table *t)
{
	struct mg_lb_table *old = gw->sh.lb;

	__atomic_store_n(&gw->sh.lb, t, __ATOMIC_RELEASE);
	gw->cst.generations++;
	if (old == NULL)
		return;
	gw->pending_token = rte_rcu_qsbr_start(gw->rcu);
	gw->pending_tsc = rte_get_tsc_cycles();
	gw->pending = true;
	if (rte_rcu_qsbr_dq_enqueue(gw->dq, &old) != 0) {
		/* Defer queue full: wait for the workers right here. */
		rte_rcu_qsbr_synchronize(gw->rcu, RTE_QSBR_THRID_INVALID);
		mg_lb_free(old);
		gw->cst.reclaimed++;
	}
}

void
mg_gw_reclaim(struct mg_gw *gw)
{
	unsigned int pending = 0;

	pthread_mutex_lock(&gw->lock);
	rte_rcu_qsbr_dq_reclaim(gw->dq, UINT32_MAX, NULL, &pending, NULL);
	if (pending > 0) {
		uint64_t token = rte_rcu_qsbr_start(gw->rcu);

		/* Yield rather than spin: a worker may share this core. */
		while (rte_rcu_qsbr_check(gw->rcu, token, false) != 1)
			sched_yield();
		rte_rcu_qsbr_dq_reclaim(gw->dq, UINT32_MAX, NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&gw->lock);
}

/* The outlier detector's view of an endpoint, for the table builder. */
static enum mg_lb_ep_state
ep_health(void *ctx, uint32_t id, uint32_t *factor)
{
	struct mg_gw *gw = ctx;

	return mg_outlier_state(gw->ol, id, factor);
}

/* Build a table from @p conf with the current health state; NULL on error. */
static struct mg_lb_table *
build(struct mg_gw *gw, struct mg_conf *conf, char *err, size_t errlen)
{
	struct mg_lb_env env = {
		.resolve = resolve_ep, .health = ep_health, .ctx = gw,
		.generation = gw->generation + 1, .borrow_conf = true,
	};

	return mg_lb_build(conf, &env, err, errlen);
}

/* Log services entering or leaving the dazed state (once each). */
static void
note_dazed(struct mg_gw *gw, const struct mg_lb_table *t)
{
	uint32_t dazed = 0;

	for (uint32_t i = 0; i < t->n_svcs; i++)
		dazed += t->svcs[i].dazed;
	if (dazed > gw->dazed_svcs) {
		gw->cst.dazed++;
		MG_LOG(WARNING, "%u service port(s) dazed: every endpoint ejected, selecting among all of them\n",
		       dazed);
	} else if (dazed < gw->dazed_svcs) {
		MG_LOG(NOTICE, "%u service port(s) dazed\n", dazed);
	}
	gw->dazed_svcs = dazed;
}

#define MG_ANN_PREFIX "meshgate.io/"
#define MG_ANN_HEALTHCHECK "meshgate.io/health-check"

/* Per-service overrides: annotation meshgate.io/<name> -> MeshGateway parameter. */
static const struct {
	const char *name;
	const char *section;
	const char *key;
} ann_params[] = {
	{ "outlier-detection", "outlier", "enabled" },
	{ "consecutive-failures", "outlier", "consecutiveFailures" },
	{ "outlier-interval", "outlier", "interval" },
	{ "base-ejection-time", "outlier", "baseEjectionTime" },
	{ "max-ejection-time", "outlier", "maxEjectionTime" },
	{ "max-ejection-percent", "outlier", "maxEjectionPercent" },
	{ "max-connections", "circuit", "maxConnections" },
	{ "max-pending-connects", "circuit", "maxPendingConnects" },
};

/* A service's health-check override: its meshgate.io/health-check annotation. */
static enum mg_ol_hc_mode
svc_hc_mode(const struct mg_conf_service *s)
{
	for (uint32_t i = 0; i < s->n_annotations; i++) {
		if (strcmp(s->annotations[i][0], MG_ANN_HEALTHCHECK) != 0)
			continue;
		if (strcasecmp(s->annotations[i][1], "true") == 0)
			return MG_OL_HC_ON;
		if (strcasecmp(s->annotations[i][1], "false") == 0)
			return MG_OL_HC_OFF;
	}
	return MG_OL_HC_DEFAULT;
}

/*
 * The gateway's outlier and circuit-breaker parameters in @p g (only those
 * sections are written), overridden by @p s's annotations: 1 if it has any,
 * 0 if none, -1 with @p err on a bad or unknown one.
 */
static int
svc_params(const struct mg_conf_gateway *gw, const struct mg_conf_service *s,
	   struct mg_conf_gateway *g, char *err, size_t errlen)
{
	int any = 0;

	g->outlier = gw->outlier;
	g->circuit = gw->circuit;
	g->healthcheck = gw->healthcheck;
	for (uint32_t j = 0; j < s->n_annotations; j++) {
		const char *k = s->annotations[j][0], *v = s->annotations[j][1];
		char why[MG_CONF_ERR_LEN];
		size_t a;

		if (strcmp(k, MG_ANN_HEALTHCHECK) == 0) {
			if (strcasecmp(v, "true") == 0 || strcasecmp(v, "false") == 0)
				continue;
			snprintf(why, sizeof(why), "\"%s\" is not true or false", v);
			goto bad;
		}
		for (a = 0; a < RTE_DIM(ann_params); a++)
			if (strcmp(k + strlen(MG_ANN_PREFIX), ann_params[a].name) == 0)
				break;
		if (a == RTE_DIM(ann_params)) {
			snprintf(why, sizeof(why), "unknown annotation (health-check, outlier-detection, consecutive-failures, outlier-interval, base-ejection-time, max-ejection-time, max-ejection-percent, max-connections, max-pending-connects)");
			goto bad;
		}
		if (mg_conf_gw_set(g, ann_params[a].section, ann_params[a].key, v, why, sizeof(why)) < 0)
			goto bad;
		any = 1;
		continue;
bad:
		snprintf(err, errlen, "%s:%u: Service %s/%s metadata.annotations[%s]: %s", s->src.file,
			 s->src.line, s->ns, s->name, k, why);
		return -1;
	}
	return any;
}

/* Values the configuration loader cannot know about: refuse them whole. */
static int
check_annotations(const struct mg_conf *conf, char *err, size_t errlen)
{
	struct mg_conf_gateway *g = malloc(sizeof(*g));
	int rc = 0;

	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < conf->n_services && rc == 0; i++)
		if (svc_params(&conf->gw, &conf->services[i], g, err, errlen) < 0)
			rc = -1;
	free(g);
	return rc;
}

/*
 * Give the endpoints of every service with overrides its parameters, and its
 * health-check setting (from @p conf, checked already). An endpoint serving
 * several services takes those of the last one with overrides.
 */
static void
apply_overrides(struct mg_gw *gw, const struct mg_conf *conf, const struct mg_lb_table *t)
{
	struct mg_conf_gateway *g = malloc(sizeof(*g));
	char err[MG_CONF_ERR_LEN];
	uint64_t now = now_ms();

	mg_outlier_overrides_clear(gw->ol);
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct mg_lb_svc *sv = &t->svcs[i];
		const struct mg_conf_service *s = &conf->services[sv->ep_conf_idx];
		enum mg_ol_hc_mode m = svc_hc_mode(s);
		int any = g != NULL ? svc_params(&conf->gw, s, g, err, sizeof(err)) : 0;

		/* Checked at load; a run-time `set` can still clash with them. */
		if (any < 0)
			MG_LOG(WARNING, "%s: the gateway's values apply\n", err);

		for (uint32_t j = 0; j < sv->ep_count; j++) {
			uint32_t id = t->eps[sv->ep_first + j].id;

			if (m != MG_OL_HC_DEFAULT)
				mg_outlier_probe_enable(gw->ol, id, m, now);
			if (any > 0 && mg_outlier_override(gw->ol, id, &g->outlier, &g->circuit) == -ENOSPC)
				MG_LOG(WARNING, "service %s/%s: more than %u distinct outlier settings, its endpoints keep the gateway's\n",
				       s->ns, s->name, MG_OL_PSETS - 1);
		}
	}
	free(g);
}

int
mg_gw_apply(struct mg_gw *gw, struct mg_conf *conf, char *err, size_t errlen)
{
	struct mg_route_table rt;
	struct mg_route_table saved;
	struct mg_lb_table *t;
	uint32_t *ids, *counts;
	int rc;

	if (gw->sh.lb != NULL && check_static(gw, conf, err, errlen) < 0)
		return -1;
	if (check_annotations(conf, err, errlen) < 0 || routes_build(gw, conf, &rt, err, errlen) < 0)
		return -1;
	/* resolve_ep reads gw->routes: build against the new ones, restore on error. */
	saved = gw->routes;
	gw->routes = rt;
	mg_outlier_set_params(gw->ol, &conf->gw.outlier, &conf->gw.circuit);
	t = build(gw, conf, err, errlen);
	if (t == NULL) {
		gw->routes = saved;
		if (gw->conf != NULL)
			mg_outlier_set_params(gw->ol, &gw->conf->gw.outlier, &gw->conf->gw.circuit);
		return -1;
	}
	/* Track exactly the endpoints of the new table (their history kept),
	 * grouped by service port for maxEjectionPercent. */
	ids = malloc(sizeof(*ids) * (t->n_eps + 1));
	counts = malloc(sizeof(*counts) * (t->n_svcs + 1));
	if (ids == NULL || counts == NULL) {
		free(ids);
		free(counts);
		mg_lb_free(t);
		gw->routes = saved;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0, n = 0; i < t->n_svcs; i++) {
		if (n + t->svcs[i].ep_count > t->n_eps) { /* services share no slices */
			counts[i] = 0;
			continue;
		}
		counts[i] = t->svcs[i].ep_count;
		for (uint32_t j = 0; j < t->svcs[i].ep_count; j++)
			ids[n++] = t->eps[t->svcs[i].ep_first + j].id;
	}
	rc = mg_outlier_sync_groups(gw->ol, ids, counts, t->n_svcs);
	free(ids);
	free(counts);
	if (rc < 0) {
		mg_lb_free(t);
		gw->routes = saved;
		snprintf(err, errlen, "out of memory tracking endpoints");
		return -1;
	}
	mg_outlier_set_healthcheck(gw->ol, &conf->gw.healthcheck, now_ms());
	if (mg_probe_targets_build(gw, t) < 0)
		MG_LOG(ERR, "out of memory: health-check probes will time out\n");
	if (gw->sh.probe_port == 0 && conf->gw.healthcheck.enabled)
		MG_LOG(ERR, "health checks need a source port outside the SNAT port range: none left, checks off\n");
	apply_overrides(gw, conf, t);
	gw->generation++;
	mg_gw_params_from_conf(&gw->sh.params, &conf->gw);
	publish(gw, t);
	mg_outlier_published(gw->ol, now_ms());
	/* The old tables only borrowed the old configuration and never read it
	 * again (workers do not read configurations at all). */
	if (gw->conf != conf)
		mg_conf_free(gw->conf);
	gw->conf = conf;
	note_dazed(gw, t);
	MG_LOG(INFO, "configuration %s applied: generation %" PRIu64 ", %u service ports, %u endpoints\n",
	       conf->path, gw->generation, t->n_svcs, t->n_eps);
	return 0;
}

/* Health changed: the same configuration, a new generation. */
static void
rebuild(struct mg_gw *gw, uint64_t now)
{
	char err[MG_CONF_ERR_LEN];
	struct mg_lb_table *t = build(gw, gw->conf, err, sizeof(err));

	if (t == NULL) {
		/* Try again at the next batch, not in a loop. */
		MG_LOG(ERR, "cannot rebuild the tables after a health change: %s\n", err);
		mg_outlier_published(gw->ol, now);
		return;
	}
	gw->generation++;
	gw->cst.rebuilds++;
	publish(gw, t);
	mg_outlier_published(gw->ol, now);
	note_dazed(gw, t);
}

static int
load_locked(struct mg_gw *gw, const char *path, char *err, size_t errlen)
{
	struct mg_conf *conf;
	const char *p = path ? path : gw->conf_path;

	if (p[0] == '\0')
		conf = mg_conf_load_string(mg_conf_embedded_default, strlen(mg_conf_embedded_default),
					   "<embedded>", NULL, err, errlen);
	else
		conf = mg_conf_load_file(p, err, errlen);
	if (conf == NULL || mg_gw_apply(gw, conf, err, errlen) < 0) {
		mg_conf_free(conf);
		gw->cst.loads_failed++;
		snprintf(gw->last_error, sizeof(gw->last_error), "%s", err);
		MG_LOG(ERR, "configuration refused, the running one stays: %s\n", err);
		return -1;
	}
	if (path != NULL)
		snprintf(gw->conf_path, sizeof(gw->conf_path), "%s", path);
	gw->cst.loads_ok++;
	return 0;
}

int
mg_gw_load(struct mg_gw *gw, const char *path, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&gw->lock);
	rc = load_locked(gw, path, err, errlen);
	pthread_mutex_unlock(&gw->lock);
	return rc;
}

static const char *
ip_str(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip & 0xff, (ip >> 8) & 0xff, (ip >> 16) & 0xff, ip >> 24);
	return buf;
}

int
mg_gw_set_param(struct mg_gw *gw, const char *section, const char *key, const char *value,
		char *err, size_t errlen)
{
	struct mg_conf_gateway *g;
	uint64_t now = now_ms();
	int rc = -1;

	pthread_mutex_lock(&gw->lock);
	g = &gw->conf->gw;
	if (mg_conf_gw_set(g, section, key, value, err, errlen) == 0) {
		/* The configuration in force changes with it: `show config`
		 * says so, and the next load or SIGHUP reads the file again. */
		mg_outlier_set_params(gw->ol, &g->outlier, &g->circuit);
		mg_outlier_set_healthcheck(gw->ol, &g->healthcheck, now);
		/* Services' overrides sit on the gateway's values: recompute. */
		apply_overrides(gw, gw->conf, gw->sh.lb);
		mg_gw_params_from_conf(&gw->sh.params, g);
		if (mg_outlier_publish_due(gw->ol, now))
			rebuild(gw, now);
		MG_LOG(NOTICE, "set %s %s %s\n", section, key, value);
		rc = 0;
	}
	pthread_mutex_unlock(&gw->lock);
	return rc;
}

int
mg_gw_drain(struct mg_gw *gw, uint32_t ip, bool drain, char *err, size_t errlen)
{
	uint64_t now = now_ms();
	char buf[20];
	int rc;

	pthread_mutex_lock(&gw->lock);
	rc = mg_outlier_drain(gw->ol, ip, drain);
	if (rc > 0) {
		MG_LOG(NOTICE, "endpoint %s %s by the operator\n", ip_str(ip, buf, sizeof(buf)),
		       drain ? "drained" : "undrained");
		rebuild(gw, now);
	}
	pthread_mutex_unlock(&gw->lock);
	if (rc < 0)
		snprintf(err, errlen, "%s is not an endpoint of any service",
			 ip_str(ip, buf, sizeof(buf)));
	return rc < 0 ? -1 : 0;
}

/*
 * Send an ARP request for @p ip out of DPDK port @p port_id (control TX
 * queue). Asking for one's own address is a gratuitous ARP: neighbours that
 * still hold an older MAC for it (a restarted gateway, a replaced NIC)
 * update their caches at once instead of probing a dead address for seconds.
 */
static void
arp_ask(void *ctx, uint32_t ip, uint16_t port_id)
{
	struct mg_gw *gw = ctx;
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw->ctl_mp);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL)
		return;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = gw->sh.ports[port_id].mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = gw->sh.ports[port_id].mac;
	arp->arp_data.arp_sip = gw->sh.ports[port_id].ip;
	memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
	arp->arp_data.arp_tip = ip;
	m->port = port_id;
	if (rte_eth_tx_burst(port_id, gw->n_workers, &m, 1) != 1)
		rte_pktmbuf_free(m);
	else
		gw->cst.arp_requests++;
}


/* Log the outlier detector's state changes, once each, and count them. */
static void
notes_drain(struct mg_gw *gw)
{
	struct mg_ol_note nt[32];
	uint32_t n;
	char ip[20];

	while ((n = mg_outlier_notes(gw->ol, nt, RTE_DIM(nt))) > 0) {
		for (uint32_t i = 0; i < n; i++) {
			const struct mg_ol_note *x = &nt[i];

			ip_str(x->id, ip, sizeof(ip));
			switch (x->kind) {
			case MG_OL_N_EJECTED:
				gw->cst.ejections++;
				MG_LOG(WARNING, "endpoint %s ejected for %" PRIu64 " ms (ejection %u in a row): %u connect failures in a row, the last %s\n",
				       ip, x->until - x->ms, x->k, x->failures,
				       mg_ol_event_name((enum mg_ol_event)x->reason));
				break;
			case MG_OL_N_HELD_BACK:
				MG_LOG(WARNING, "endpoint %s not ejected after %u failures: maxEjectionPercent reached in one of its services\n",
				       ip, x->failures);
				break;
			case MG_OL_N_READMITTED:
				gw->cst.readmissions++;
				MG_LOG(NOTICE, "endpoint %s re-admitted: %s\n", ip,
				       mg_ol_readmit_name((enum mg_ol_readmit)x->reason));
				break;
			case MG_OL_N_PROBE_DOWN:
				gw->cst.probe_down++;
				MG_LOG(WARNING, "endpoint %s down by health check: %u probes failed in a row\n",
				       ip, x->failures);
				break;
			case MG_OL_N_PROBE_UP:
				gw->cst.probe_up++;
				MG_LOG(NOTICE, "endpoint %s up again by health check\n", ip);
				break;
			case MG_OL_N_LIMIT_ON:
				MG_LOG(NOTICE, "endpoint %s at its circuit-breaker limit (%u active, %u pending)\n",
				       ip, x->k, x->failures);
				break;
			case MG_OL_N_LIMIT_OFF:
				MG_LOG(INFO, "endpoint %s below its circuit-breaker limits again\n", ip);
				break;
			}
		}
	}
}

/* Worker event types as the outlier detector's. */
static const int8_t ev_to_ol[] = {
	[MG_EV_CONNECT_OK] = MG_OL_OK,
	[MG_EV_CONNECT_REFUSED] = MG_OL_REFUSED,
	[MG_EV_CONNECT_UNREACH] = MG_OL_UNREACH,
	[MG_EV_CONNECT_TIMEOUT] = MG_OL_TIMEOUT,
	[MG_EV_RESET] = MG_OL_RESET,
	[MG_EV_CLOSED] = MG_OL_CLOSED,
	[MG_EV_ARP] = -1,
	[MG_EV_CONNECT_START] = MG_OL_START,
	[MG_EV_CONNECT_ABORTED] = MG_OL_ABORTED,
};

static void
events_drain(struct mg_gw *gw, uint64_t now)
{
	uint64_t t0 = rte_get_tsc_cycles(), ejections = gw->cst.ejections;
	struct mg_event ev[64];

	for (uint16_t w = 0; w < gw->n_workers; w++) {
		unsigned int n;

		do {
			n = rte_ring_sc_dequeue_burst_elem(gw->sh.events[w], ev, sizeof(ev[0]),
							   RTE_DIM(ev), NULL);
			gw->cst.events += n;
			for (unsigned int i = 0; i < n; i++) {
				const struct mg_event *e = &ev[i];
				struct rte_ether_addr mac;

				switch (e->type) {
				case MG_EV_ARP:
					memcpy(mac.addr_bytes, e->mac, RTE_ETHER_ADDR_LEN);
					if (mg_neigh_learn(gw->sh.neigh, e->ip, e->port, &mac, now,
							   false) >= 0)
						gw->cst.arp_learnt++;
					break;
				case MG_EV_PROBE_OK:
				case MG_EV_PROBE_FAIL:
					gw->cst.probe_results++;
					mg_outlier_probe_result(gw->ol, e->ip, e->type == MG_EV_PROBE_OK,
								now);
					break;
				default:
					if (e->type >= RTE_DIM(ev_to_ol) || ev_to_ol[e->type] < 0) {
						gw->cst.ev_unknown++;
						break;
					}
					gw->cst.ev[e->type]++;
					mg_outlier_event(gw->ol, e->ip, (enum mg_ol_event)ev_to_ol[e->type],
							 e->value, now);
					break;
				}
			}
		} while (n == RTE_DIM(ev));
	}
	mg_outlier_tick(gw->ol, now);
	mg_probe_send_due(gw, now);
	notes_drain(gw);
	/* State changes publish at once; weight drift once per batch period. */
	if (mg_outlier_publish_due(gw->ol, now)) {
		rebuild(gw, now);
		if (gw->cst.ejections != ejections) {
			/* From reading the failure that ejected to the table without it. */
			uint64_t us = (rte_get_tsc_cycles() - t0) / (rte_get_tsc_hz() / 1000000);

			gw->cst.eject_publish_us_last = us;
			if (us > gw->cst.eject_publish_us_max)
				gw->cst.eject_publish_us_max = us;
		}
	}
}

/* Announce every address of every port (gratuitous ARP). */
static void
garp_all(struct mg_gw *gw)
{
	for (uint16_t i = 0; i < gw->n_ports; i++) {
		uint16_t id = gw->ports[i].port_id;

		arp_ask(gw, gw->sh.ports[id].ip, id);
	}
}

#define MG_GARP_PERIOD_MS 500
#define MG_GARP_FOR_MS 10000

void *
mg_gw_control_loop(void *arg)
{
	struct mg_gw *gw = arg;
	uint64_t started = now_ms(), last_garp = 0;
	uint64_t last_age = 0;
	char err[MG_CONF_ERR_LEN];

	while (!gw->quit) {
		uint64_t now = now_ms();

		pthread_mutex_lock(&gw->lock);
		if (gw->reload_req) {
			gw->reload_req = false;
			MG_LOG(INFO, "SIGHUP: reloading %s\n",
			       gw->conf_path[0] ? gw->conf_path : "the embedded default");
			load_locked(gw, NULL, err, sizeof(err));
		}
		events_drain(gw, now);
		/* Just started: announce our MACs a few times (ports may be
		 * attached to their network a moment after meshgate starts). */
		if (now - started < MG_GARP_FOR_MS && now - last_garp >= MG_GARP_PERIOD_MS) {
			last_garp = now;
			garp_all(gw);
		}
		if (now - last_age >= 100) {
			last_age = now;
			mg_neigh_age(gw->sh.neigh, now, 100, arp_ask, gw);
		}
		if (gw->pending && rte_rcu_qsbr_check(gw->rcu, gw->pending_token, false) == 1) {
			uint64_t us = (rte_get_tsc_cycles() - gw->pending_tsc) /
				      (rte_get_tsc_hz() / 1000000);

			gw->pending = false;
			gw->cst.publish_wait_us_last = us;
			if (us > gw->cst.publish_wait_us_max)
				gw->cst.publish_wait_us_max = us;
		}
		rte_rcu_qsbr_dq_reclaim(gw->dq, 16, NULL, NULL, NULL);
		pthread_mutex_unlock(&gw->lock);
		usleep(gw->pending ? 10 : 200);
	}
	return NULL;
}
