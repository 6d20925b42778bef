/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building and reading locality tables; see mg_lb.h.
 *
 * Build: every (VIP, service port) becomes one mg_lb_svc. Its endpoints are
 * the configuration's endpoints of that service that carry a port matching
 * the service port (by name, or the numeric targetPort), de-duplicated by
 * address, filtered by readiness, routed (egress port, next hop, SNAT
 * address) through env->resolve, then sorted by tier and given cumulative
 * weights. Building never touches the live table; the result is immutable.
 *
 * Pick: multiply the random value by the tier's total weight (a 64-bit
 * multiply-shift, no division) and binary-search the cumulative array.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "mg_lb.h"

static inline uint64_t
vip_key(uint32_t vip, uint16_t port)
{
	return ((uint64_t)vip << 16) | port;
}

/* Closest first; by address inside a rank, so the table is deterministic. */
static int
ep_cmp_rank(const void *a, const void *b)
{
	const struct mg_lb_ep *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return x->ip < y->ip ? -1 : x->ip > y->ip;
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
ep_belongs(const struct mg_conf_service *s, const struct mg_conf_endpoint *e)
{
	return strcmp(e->service, s->name) == 0 && strcmp(e->ns, s->ns) == 0 &&
	       strcmp(e->cluster, s->cluster) == 0;
}

static void
fill_tiers(struct mg_lb_svc *svc, struct mg_lb_ep *eps)
{
	uint32_t i = 0;

	/* Strict tiers: one per distinct rank, closest first. */
	qsort(eps, svc->ep_count, sizeof(*eps), ep_cmp_rank);
	svc->n_tiers = 0;
	while (i < svc->ep_count && svc->n_tiers < MG_LB_MAX_TIERS) {
		int8_t rank = eps[i].rank;
		uint32_t first = i, cum = 0;

		for (; i < svc->ep_count && eps[i].rank == rank; i++) {
			cum += eps[i].weight;
			eps[i].cum = cum;
			eps[i].tier = svc->n_tiers;
		}
		svc->tier_first[svc->n_tiers] = first;
		svc->tier_count[svc->n_tiers] = i - first;
		svc->n_tiers++;
	}
}

struct mg_lb_table *
mg_lb_build(struct mg_conf *conf, const struct mg_lb_env *env, char *err, size_t errlen)
{
	struct mg_lb_table *t;
	uint32_t max_svcs = 0, max_eps = 0;
	char name[RTE_HASH_NAMESIZE];

	for (uint32_t i = 0; i < conf->n_services; i++) {
		const struct mg_conf_service *s = &conf->services[i];

		max_svcs += s->n_vips * s->n_ports;
		max_eps += s->n_vips * s->n_ports * conf->n_endpoints;
	}
	t = rte_zmalloc("mg_lb_table", sizeof(*t), RTE_CACHE_LINE_SIZE);
	if (t == NULL)
		goto nomem;
	t->generation = env->generation;
	t->svcs = rte_zmalloc("mg_lb_svcs", sizeof(*t->svcs) * (max_svcs + 1), RTE_CACHE_LINE_SIZE);
	t->eps = rte_zmalloc("mg_lb_eps", sizeof(*t->eps) * (max_eps + 1), RTE_CACHE_LINE_SIZE);
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

	for (uint32_t si = 0; si < conf->n_services; si++) {
		const struct mg_conf_service *s = &conf->services[si];
		struct mg_lb_policy pol = mg_lb_mode_resolve(conf, s);

		for (uint32_t v = 0; v < s->n_vips; v++) {
			for (uint32_t pi = 0; pi < s->n_ports; pi++) {
				const struct mg_conf_svc_port *sp = &s->ports[pi];
				struct mg_lb_svc *svc = &t->svcs[t->n_svcs];
				uint64_t key = vip_key(s->vips[v], rte_cpu_to_be_16(sp->port));

				if (sp->proto != MG_PROTO_TCP)
					continue;
				if (rte_hash_lookup(t->vips, &key) >= 0) {
					snprintf(err, errlen, "%s:%u: Service %s/%s: %u.%u.%u.%u:%u is already served by another service",
						 s->src.file, s->src.line, s->ns, s->name,
						 s->vips[v] & 0xff, (s->vips[v] >> 8) & 0xff,
						 (s->vips[v] >> 16) & 0xff, s->vips[v] >> 24, sp->port);
					goto fail;
				}
				svc->vip = s->vips[v];
				svc->port = rte_cpu_to_be_16(sp->port);
				svc->proto = sp->proto;
				svc->conf_idx = si;
				svc->svc_port_idx = (uint16_t)pi;
				svc->passthrough = pol.mode->kind == MG_LB_PASSTHROUGH;
				svc->mode = pol.mode;
				svc->source = (uint8_t)pol.source;
				svc->health = (uint8_t)pol.health;
				svc->ep_first = t->n_eps;
				if (svc->passthrough) {
					/* No selection: the original destination is the endpoint. */
					struct mg_lb_ep *ep = &t->eps[t->n_eps];

					if (env->resolve(env->ctx, svc->vip, &ep->port_id, &ep->nh,
							 &ep->snat_idx) == 0) {
						ep->ip = svc->vip;
						ep->port = svc->port;
						ep->id = svc->vip;
						ep->weight = 1;
						ep->ready = 1;
						t->n_eps++;
					}
				}
				for (uint32_t ei = 0; ei < conf->n_endpoints; ei++) {
					const struct mg_conf_endpoint *e = &conf->endpoints[ei];
					struct mg_lb_ep *ep = &t->eps[t->n_eps];
					uint16_t tport;
					bool dup = false;

					int rank;

					if (svc->passthrough || !ep_belongs(s, e))
						continue;
					if (!e->ready && pol.health == MG_HEALTH_ONLY_HEALTHY)
						continue;
					rank = mg_lb_rank(pol.mode, &conf->gw.locality, &e->locality,
							  conf->gw.cluster, e->cluster[0] ? e->cluster :
							  conf->gw.cluster);
					if (rank < 0)
						continue; /* STRICT: not a candidate at all */
					tport = ep_target_port(sp, e);
					if (tport == 0)
						continue;
					for (uint32_t k = svc->ep_first; k < t->n_eps; k++)
						dup |= t->eps[k].ip == e->ip;
					if (dup)
						continue;
					if (env->resolve(env->ctx, e->ip, &ep->port_id, &ep->nh,
							 &ep->snat_idx) < 0) {
						snprintf(err, errlen, "%s:%u: endpoint %u.%u.%u.%u of %s/%s: no route to it",
							 e->src.file, e->src.line, e->ip & 0xff,
							 (e->ip >> 8) & 0xff, (e->ip >> 16) & 0xff,
							 e->ip >> 24, s->ns, s->name);
						goto fail;
					}
					ep->ip = e->ip;
					ep->port = rte_cpu_to_be_16(tport);
					ep->id = e->ip;
					ep->weight = e->weight ? e->weight : 1;
					ep->ready = e->ready;
					ep->rank = (int8_t)rank;
					ep->conf_idx = (uint16_t)ei;
					t->n_eps++;
				}
				svc->ep_count = t->n_eps - svc->ep_first;
				fill_tiers(svc, &t->eps[svc->ep_first]);
				if (rte_hash_add_key_data(t->vips, &key,
							  (void *)(uintptr_t)t->n_svcs) < 0)
					goto nomem;
				t->n_svcs++;
			}
		}
	}
	t->conf = conf;
	return t;
nomem:
	snprintf(err, errlen, "%s: out of memory building the service table", conf->path);
fail:
	mg_lb_free(t);
	return NULL;
}

void
mg_lb_free(struct mg_lb_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->vips);
	rte_free(t->eps);
	rte_free(t->svcs);
	mg_conf_free(t->conf);
	rte_free(t);
}

const struct mg_lb_svc *
mg_lb_lookup(const struct mg_lb_table *t, uint32_t vip, uint16_t port)
{
	uint64_t key = vip_key(vip, port);
	void *data;

	if (rte_hash_lookup_data(t->vips, &key, &data) < 0)
		return NULL;
	return &t->svcs[(uintptr_t)data];
}

static inline bool
was_tried(uint32_t id, const uint32_t *tried, uint32_t n_tried)
{
	for (uint32_t i = 0; i < n_tried; i++)
		if (tried[i] == id)
			return true;
	return false;
}

const struct mg_lb_ep *
mg_lb_pick(const struct mg_lb_table *t, const struct mg_lb_svc *s, uint32_t rnd,
	   const uint32_t *tried, uint32_t n_tried)
{
	const struct mg_lb_ep *eps = &t->eps[s->ep_first];

	for (uint32_t ti = 0; ti < s->n_tiers; ti++) {
		const struct mg_lb_ep *tier = &eps[s->tier_first[ti]];
		uint32_t n = s->tier_count[ti];
		uint32_t total = tier[n - 1].cum;

		if (total == 0)
			continue;
		if (n_tried == 0) {
			/* Common case: one binary search over cumulative weights. */
			uint32_t target = (uint32_t)(((uint64_t)rnd * total) >> 32);
			uint32_t lo = 0, hi = n - 1;

			while (lo < hi) {
				uint32_t mid = (lo + hi) / 2;

				if (tier[mid].cum > target)
					hi = mid;
				else
					lo = mid + 1;
			}
			return &tier[lo];
		}
		/* Retry: weights of the endpoints not tried yet. */
		uint32_t left = 0;

		for (uint32_t i = 0; i < n; i++)
			if (!was_tried(tier[i].id, tried, n_tried))
				left += tier[i].weight;
		if (left == 0)
			continue;
		uint32_t target = (uint32_t)(((uint64_t)rnd * left) >> 32);

		for (uint32_t i = 0; i < n; i++) {
			if (was_tried(tier[i].id, tried, n_tried))
				continue;
			if (target < tier[i].weight)
				return &tier[i];
			target -= tier[i].weight;
		}
	}
	return NULL;
}
