/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building a locality table from a configuration.
 *
 * Every (VIP, service port) becomes one mg_lb_svc. Its candidates are
 * gathered in three layers, as semantics.md sections 7 and 9 say:
 * 1. the service scope picks the endpoint set: `cluster` (the default) =
 *    this cluster's endpoints; `segment` = also the peered clusters of the
 *    gateway's segment; `global`/`global-only` = every peered cluster. The
 *    ordinary VIP gets the wider set only with service-takeover (implied by
 *    global-only); the global set is served at the VIP of the ServiceEntry
 *    whose host is <name>.<ns>.mesh.internal.
 * 2. a peer in another network behind an east-west gateway contributes one
 *    entry per (cluster, service): the gateway's address and port, the
 *    gateway's locality labels, capacity = its ready endpoint count rounded
 *    down to a power of two (capped at 2048; none ready = not a candidate).
 *    A peer in the same network (flat) contributes its endpoints one by one;
 *    a peer in another network without a gateway contributes nothing.
 * 3. the service's mode (mg_lb_mode_resolve) ranks every candidate against
 *    the gateway's locality; STRICT drops non-matching ones; the health
 *    policy drops not-ready ones unless ALLOW_ALL.
 * Endpoints are then routed (egress port, next hop, SNAT address) through
 * env->resolve, sorted into strict tiers and given cumulative weights.
 * Building never touches the live table; the result is immutable.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "mg_lb.h"

#define MG_LB_REMOTE_CAP_MAX 2048

enum scope_kind { SCOPE_CLUSTER, SCOPE_SEGMENT, SCOPE_GLOBAL, SCOPE_GLOBAL_ONLY };

struct build {
	struct mg_lb_table *t;
	struct mg_conf *conf;
	const struct mg_lb_env *env;
	char *err;
	size_t errlen;
};

#define IPV4_FMT "%u.%u.%u.%u"
#define IPV4_ARGS(ip) (ip) & 0xff, ((ip) >> 8) & 0xff, ((ip) >> 16) & 0xff, (ip) >> 24

static inline uint64_t
vip_key(uint32_t vip, uint16_t port)
{
	return ((uint64_t)vip << 16) | port;
}

static enum scope_kind
scope_of(const struct mg_conf *c, const struct mg_conf_service *s)
{
	const char *v = s->service_scope;
	const struct mg_conf_namespace *ns;

	if (v[0] == '\0' && (ns = mg_conf_find_namespace(c, s->cluster, s->ns)) != NULL)
		v = ns->service_scope; /* the Namespace's label is the default */
	if (strcasecmp(v, "global-only") == 0)
		return SCOPE_GLOBAL_ONLY;
	if (strcasecmp(v, "global") == 0)
		return SCOPE_GLOBAL;
	if (strcasecmp(v, "segment") == 0)
		return SCOPE_SEGMENT;
	return SCOPE_CLUSTER; /* missing, empty, "cluster", "local" */
}

static const char *
scope_name(enum scope_kind k)
{
	static const char *const names[] = { "cluster", "segment", "global", "global-only" };

	return names[k];
}

/* The port an endpoint serves a service port on, or 0 if it has none. */
static uint16_t
ep_target_port(const struct mg_conf_svc_port *sp, const struct mg_conf_endpoint *e)
{
	for (uint32_t i = 0; i < e->n_ports; i++) {
		const struct mg_conf_ep_port *p = &e->ports[i];

		if (sp->target_port_name[0] != '\0') {
			if (strcmp(p->name, sp->target_port_name) == 0)
				return p->port;
		} else if (p->name[0] != '\0' && strcmp(p->name, sp->name) == 0) {
			return p->port;
		}
	}
	if (sp->target_port_name[0] == '\0') {
		/* Unnamed: a single-port slice, or the numeric target itself. */
		if (e->n_ports == 1 && e->ports[0].name[0] == '\0')
			return e->ports[0].port;
		for (uint32_t i = 0; i < e->n_ports; i++)
			if (e->ports[i].port == sp->target_port)
				return sp->target_port;
		if (e->n_ports == 0)
			return sp->target_port ? sp->target_port : sp->port;
	}
	return 0;
}

static bool
ep_belongs(const struct mg_conf_service *s, const char *cluster, const struct mg_conf_endpoint *e)
{
	return strcmp(e->service, s->name) == 0 && strcmp(e->ns, s->ns) == 0 &&
	       strcmp(e->cluster, cluster) == 0;
}

/* Route @p ep (ip set) and append it; 0, or -1 with a message. */
static int
add_ep(struct build *b, struct mg_lb_svc *svc, struct mg_lb_ep *ep, const struct mg_conf_src *src,
       const struct mg_conf_service *s)
{
	struct mg_lb_table *t = b->t;

	for (uint32_t k = svc->ep_first; k < t->n_eps; k++)
		if (t->eps[k].ip == ep->ip && t->eps[k].port == ep->port)
			return 0; /* the same address twice (two slices): once */
	if (b->env->resolve(b->env->ctx, ep->ip, &ep->port_id, &ep->nh, &ep->snat_idx) < 0) {
		snprintf(b->err, b->errlen, "%s:%u: endpoint " IPV4_FMT " of %s/%s: no route to it",
			 src->file, src->line, IPV4_ARGS(ep->ip), s->ns, s->name);
		return -1;
	}
	t->eps[t->n_eps++] = *ep;
	return 0;
}

/* One candidate per endpoint of @p s in @p cluster ("" = local). */
static int
add_endpoints(struct build *b, struct mg_lb_svc *svc, const struct mg_conf_service *s,
	      const struct mg_conf_svc_port *sp, const struct mg_lb_policy *pol,
	      const char *cluster)
{
	const struct mg_conf *c = b->conf;

	for (uint32_t ei = 0; ei < c->n_endpoints; ei++) {
		const struct mg_conf_endpoint *e = &c->endpoints[ei];
		struct mg_lb_ep ep = { 0 };
		uint16_t tport;
		int rank;

		if (!ep_belongs(s, cluster, e))
			continue;
		if (!e->ready && pol->health == MG_HEALTH_ONLY_HEALTHY)
			continue;
		rank = mg_lb_rank(pol->mode, &c->gw.locality, &e->locality, c->gw.cluster,
				  e->cluster[0] ? e->cluster : c->gw.cluster);
		if (rank < 0)
			continue; /* STRICT: not a candidate at all */
		tport = ep_target_port(sp, e);
		if (tport == 0)
			continue;
		ep.ip = e->ip;
		ep.port = rte_cpu_to_be_16(tport);
		ep.id = e->ip;
		ep.weight = e->weight ? e->weight : 1;
		ep.ready = e->ready;
		ep.rank = (int8_t)rank;
		ep.conf_idx = ei;
		ep.remote = UINT16_MAX;
		if (add_ep(b, svc, &ep, &e->src, s) < 0)
			return -1;
	}
	return 0;
}

/* A peer in another network: one entry at its east-west gateway. */
static int
add_remote_gateway(struct build *b, struct mg_lb_svc *svc, const struct mg_conf_service *s,
		   const struct mg_conf_svc_port *sp, const struct mg_lb_policy *pol,
		   const struct mg_conf_cluster *r, uint16_t ri)
{
	const struct mg_conf *c = b->conf;
	struct mg_locality loc = r->gateway_locality;
	struct mg_lb_ep ep = { 0 };
	uint32_t ready = 0, cap = 1;
	int rank;

	for (uint32_t ei = 0; ei < c->n_endpoints; ei++) {
		const struct mg_conf_endpoint *e = &c->endpoints[ei];

		if (ep_belongs(s, r->name, e) && e->ready && ep_target_port(sp, e) != 0)
			ready++;
	}
	if (ready == 0)
		return 0; /* capacity 0: not selectable */
	while (cap * 2 <= ready && cap < MG_LB_REMOTE_CAP_MAX)
		cap *= 2;
	snprintf(loc.network, sizeof(loc.network), "%s", r->network);
	loc.node[0] = '\0';
	rank = mg_lb_rank(pol->mode, &c->gw.locality, &loc, c->gw.cluster, r->name);
	if (rank < 0)
		return 0;
	ep.ip = r->gateway_ip;
	ep.port = rte_cpu_to_be_16(r->gateway_port ? r->gateway_port : 15008);
	ep.id = r->gateway_ip;
	ep.weight = cap;
	ep.ready = 1;
	ep.rank = (int8_t)rank;
	ep.conf_idx = UINT32_MAX;
	ep.remote = ri;
	return add_ep(b, svc, &ep, &c->gw.src, s);
}

/* The peers' share of a global (or segment) endpoint set. */
static int
add_peers(struct build *b, struct mg_lb_svc *svc, const struct mg_conf_service *s,
	  const struct mg_conf_svc_port *sp, const struct mg_lb_policy *pol, enum scope_kind scope)
{
	const struct mg_conf *c = b->conf;

	for (uint16_t ri = 0; ri < c->gw.n_remotes; ri++) {
		const struct mg_conf_cluster *r = &c->gw.remotes[ri];
		int rc;

		if (scope == SCOPE_SEGMENT && strcmp(r->segment, c->gw.segment) != 0)
			continue;
		if (strcmp(r->network, c->gw.locality.network) == 0)
			rc = add_endpoints(b, svc, s, sp, pol, r->name); /* flat network */
		else if (r->gateway_ip != 0)
			rc = add_remote_gateway(b, svc, s, sp, pol, r, ri);
		else
			rc = 0; /* another network and no gateway: unreachable */
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * Outlier state (semantics.md 3.3, decisions 7-8): an ejected endpoint or one
 * at its circuit-breaker limit keeps its place and rank but weighs nothing,
 * so a tier of only such endpoints is skipped and traffic fails over to the
 * next tier. When every candidate is ejected the service is dazed: the
 * ejected ones keep their weights (ranking and STRICT filtering unchanged).
 */
static void
apply_health(struct build *b, struct mg_lb_svc *svc)
{
	struct mg_lb_ep *eps = &b->t->eps[svc->ep_first];
	uint32_t eligible = 0, ejected = 0;

	for (uint32_t i = 0; i < svc->ep_count; i++) {
		struct mg_lb_ep *ep = &eps[i];
		uint32_t factor = 1000;

		ep->capacity = ep->weight;
		ep->state = b->env->health ? (uint8_t)b->env->health(b->env->ctx, ep->id, &factor) :
					     MG_LB_EP_OK;
		if (ep->state == MG_LB_EP_OK) {
			if (ep->weight > 0) {
				/* 100 weight units per unit of capacity, so a health
				 * factor in thousandths keeps its resolution. */
				uint64_t w = (uint64_t)ep->weight * factor / 10;

				ep->weight = w ? (uint32_t)RTE_MIN(w, UINT32_C(1) << 24) : 1;
				eligible++;
			}
		} else {
			ejected += ep->state == MG_LB_EP_EJECTED;
			ep->weight = 0;
		}
	}
	if (eligible == 0 && ejected > 0) {
		svc->dazed = true;
		for (uint32_t i = 0; i < svc->ep_count; i++)
			if (eps[i].state == MG_LB_EP_EJECTED) {
				eps[i].state = MG_LB_EP_DAZED;
				eps[i].weight = eps[i].capacity * 100;
			}
	}
}

/*
 * Serve @p s (its endpoints, its policy) at @p vip for every TCP port;
 * @p wide: with the peers' endpoints too. @p as: the service the VIP belongs
 * to (the service itself, or its mesh.internal ServiceEntry), for messages
 * and `show service`.
 */
static int
add_vip(struct build *b, const struct mg_conf_service *s, uint32_t si, uint32_t vip,
	bool wide, enum scope_kind scope, const struct mg_conf_service *as, uint32_t as_idx)
{
	struct mg_lb_table *t = b->t;
	struct mg_lb_policy pol = mg_lb_mode_resolve(b->conf, s);

	for (uint32_t pi = 0; pi < s->n_ports; pi++) {
		const struct mg_conf_svc_port *sp = &s->ports[pi];
		struct mg_lb_svc *svc = &t->svcs[t->n_svcs];
		uint64_t key = vip_key(vip, rte_cpu_to_be_16(sp->port));

		if (sp->proto != MG_PROTO_TCP)
			continue;
		if (rte_hash_lookup(t->vips, &key) >= 0) {
			snprintf(b->err, b->errlen,
				 "%s:%u: %s %s/%s: " IPV4_FMT ":%u is already served by another service",
				 as->src.file, as->src.line,
				 as->is_service_entry ? "ServiceEntry" : "Service", as->ns, as->name,
				 IPV4_ARGS(vip), sp->port);
			return -1;
		}
		memset(svc, 0, sizeof(*svc));
		svc->vip = vip;
		svc->port = rte_cpu_to_be_16(sp->port);
		svc->proto = sp->proto;
		svc->conf_idx = as_idx;
		svc->ep_conf_idx = si;
		svc->svc_port_idx = (uint16_t)pi;
		svc->passthrough = pol.mode->kind == MG_LB_PASSTHROUGH;
		svc->mode = pol.mode;
		svc->source = (uint8_t)pol.source;
		svc->health = (uint8_t)pol.health;
		svc->scope = scope_name(scope);
		svc->global = wide;
		svc->ep_first = t->n_eps;
		if (svc->passthrough) {
			/* No selection: the original destination is the endpoint. */
			struct mg_lb_ep ep = { .ip = vip, .port = svc->port, .id = vip, .weight = 1,
					       .ready = 1, .conf_idx = UINT32_MAX,
					       .remote = UINT16_MAX };

			if (add_ep(b, svc, &ep, &as->src, as) < 0)
				return -1;
		} else {
			if (add_endpoints(b, svc, s, sp, &pol, "") < 0)
				return -1;
			if (wide && add_peers(b, svc, s, sp, &pol, scope) < 0)
				return -1;
		}
		svc->ep_count = t->n_eps - svc->ep_first;
		apply_health(b, svc);
		mg_lb_fill_tiers(svc, &t->eps[svc->ep_first]);
		if (rte_hash_add_key_data(t->vips, &key, (void *)(uintptr_t)t->n_svcs) < 0) {
			snprintf(b->err, b->errlen, "%s: too many service ports", b->conf->path);
			return -1;
		}
		t->n_svcs++;
	}
	return 0;
}

/* The local service a "<name>.<ns>.mesh.internal" ServiceEntry stands for. */
static int
global_base(const struct mg_conf *c, const struct mg_conf_service *se)
{
	for (uint32_t h = 0; h < se->n_hosts; h++) {
		for (uint32_t i = 0; i < c->n_services; i++) {
			const struct mg_conf_service *s = &c->services[i];
			char want[MG_NAME_LEN * 3];

			if (s->is_service_entry || s->cluster[0] != '\0')
				continue;
			snprintf(want, sizeof(want), "%s.%s.mesh.internal", s->name, s->ns);
			if (strcasecmp(se->hosts[h], want) == 0)
				return (int)i;
		}
	}
	return -1;
}

static int
build_services(struct build *b)
{
	const struct mg_conf *c = b->conf;

	for (uint32_t si = 0; si < c->n_services; si++) {
		const struct mg_conf_service *s = &c->services[si];
		enum scope_kind scope;
		int base;

		if (s->cluster[0] != '\0')
			continue; /* a peer's service: only a source of endpoints */
		if (s->is_service_entry && (base = global_base(c, s)) >= 0) {
			/* The global hostname's VIP: the base service's global set. */
			const struct mg_conf_service *bs = &c->services[base];

			scope = scope_of(c, bs);
			for (uint32_t v = 0; v < s->n_vips; v++)
				if (add_vip(b, bs, (uint32_t)base, s->vips[v], scope != SCOPE_CLUSTER,
					    scope, s, si) < 0)
					return -1;
			continue;
		}
		scope = scope_of(c, s);
		for (uint32_t v = 0; v < s->n_vips; v++)
			if (add_vip(b, s, si, s->vips[v],
				    scope == SCOPE_GLOBAL_ONLY || (scope != SCOPE_CLUSTER &&
								   s->service_takeover),
				    scope, s, si) < 0)
				return -1;
	}
	return 0;
}

struct mg_lb_table *
mg_lb_build(struct mg_conf *conf, const struct mg_lb_env *env, char *err, size_t errlen)
{
	struct mg_lb_table *t;
	uint64_t max_svcs = 0, max_eps, per_svc;
	char name[RTE_HASH_NAMESIZE];
	struct build b = { .conf = conf, .env = env, .err = err, .errlen = errlen };

	for (uint32_t i = 0; i < conf->n_services; i++)
		max_svcs += (uint64_t)conf->services[i].n_vips * conf->services[i].n_ports;
	per_svc = (uint64_t)conf->n_endpoints + conf->gw.n_remotes + 1;
	max_eps = max_svcs * per_svc;
	/* Bounds for every service port's candidates at once: in 32 bits the
	 * product wrapped (65536 service ports x 65536 endpoints gave room for
	 * 65536 entries, and the build wrote past them). */
	if (max_svcs >= UINT32_MAX / 2 || max_eps >= UINT32_MAX) {
		snprintf(err, errlen, "%s: %" PRIu64 " service ports x %" PRIu64
			 " candidate endpoints are too many for one table", conf->path, max_svcs,
			 per_svc);
		return NULL;
	}
	t = mg_lb_zalloc("mg_lb_table", sizeof(*t));
	if (t == NULL)
		goto nomem;
	b.t = t;
	t->generation = env->generation;
	t->svcs = mg_lb_zalloc("mg_lb_svcs", sizeof(*t->svcs) * (max_svcs + 1));
	t->eps = mg_lb_zalloc("mg_lb_eps", sizeof(*t->eps) * (max_eps + 1));
	snprintf(name, sizeof(name), "mg_vip_%" PRIu64, env->generation);
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = max_svcs < 8 ? 8 : max_svcs * 2,
		.key_len = sizeof(uint64_t),
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
	};
	t->vips = rte_hash_create(&hp);
	if (t->svcs == NULL || t->eps == NULL || t->vips == NULL)
		goto nomem;
	if (build_services(&b) < 0)
		goto fail;
	t->conf = conf;
	t->owns_conf = !env->borrow_conf;
	return t;
nomem:
	snprintf(err, errlen, "%s: out of memory building the service table", conf->path);
fail:
	mg_lb_free(t);
	return NULL;
}
