/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mode table, the precedence rules and the ranking of semantics.md
 * sections 1.2-1.4 and 2.2 (decisions 2-4). Ranking walks the scope list in
 * order and stops at the first mismatch, so a zone match after a region
 * mismatch counts for nothing; when the list starts with NETWORK, a same-
 * network endpoint gets a bonus of n-1 and a cross-network one skips the
 * network scope without stopping, so every local endpoint outranks every
 * remote one while remote ones are still ordered by region and zone.
 * Empty labels compare equal: an unlabelled gateway matches unlabelled
 * endpoints, as ztunnel does.
 */
#include <string.h>
#include <strings.h>

#include "mg_lb_mode.h"

static const struct mg_lb_mode modes[] = {
	{ "Any", MG_LB_STANDARD, 0, { 0 } },
	{ "PreferNetwork", MG_LB_FAILOVER, 1, { MG_SCOPE_NETWORK } },
	{ "PreferRegion", MG_LB_FAILOVER, 2, { MG_SCOPE_NETWORK, MG_SCOPE_REGION } },
	{ "PreferSameZone", MG_LB_FAILOVER, 3,
	  { MG_SCOPE_NETWORK, MG_SCOPE_REGION, MG_SCOPE_ZONE } },
	{ "PreferSameNode", MG_LB_FAILOVER, 5,
	  { MG_SCOPE_NETWORK, MG_SCOPE_REGION, MG_SCOPE_ZONE, MG_SCOPE_SUBZONE, MG_SCOPE_NODE } },
	{ "Local", MG_LB_STRICT, 1, { MG_SCOPE_NODE } },
	{ "Passthrough", MG_LB_PASSTHROUGH, 0, { 0 } },
};

#define MODE_ANY (&modes[0])
#define MODE_LOCAL (&modes[5])
#define MODE_PASSTHROUGH (&modes[6])

const struct mg_lb_mode *
mg_lb_mode_any(void)
{
	return MODE_ANY;
}

const struct mg_lb_mode *
mg_lb_mode_by_name(const char *name)
{
	if (strcasecmp(name, "PreferClose") == 0)
		name = "PreferSameZone";
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcasecmp(name, modes[i].name) == 0)
			return &modes[i];
	return NULL;
}

/* spec.trafficDistribution: only the Kubernetes API values count. */
static const struct mg_lb_mode *
spec_mode(const char *v)
{
	if (strcasecmp(v, "PreferClose") == 0 || strcasecmp(v, "PreferSameZone") == 0 ||
	    strcasecmp(v, "PreferSameNode") == 0)
		return mg_lb_mode_by_name(v);
	return NULL;
}

/* An annotation: any named mode except the internal ones; unknown = Any. */
static const struct mg_lb_mode *
annotation_mode(const char *v)
{
	const struct mg_lb_mode *m = mg_lb_mode_by_name(v);

	if (m == NULL || m == MODE_LOCAL || m == MODE_PASSTHROUGH)
		return MODE_ANY;
	return m;
}

struct mg_lb_policy
mg_lb_mode_resolve(const struct mg_conf *c, const struct mg_conf_service *s)
{
	struct mg_lb_policy p = {
		.health = s->publish_not_ready ? MG_HEALTH_ALLOW_ALL : MG_HEALTH_ONLY_HEALTHY,
	};
	const struct mg_conf_namespace *ns;

	if (s->is_service_entry && s->resolution_none) {
		p.mode = MODE_PASSTHROUGH;
		p.health = MG_HEALTH_ALLOW_ALL;
		p.source = MG_SRC_RESOLUTION_NONE;
		return p;
	}
	if (s->internal_traffic_local) {
		p.mode = MODE_LOCAL;
		p.source = MG_SRC_INTERNAL_TRAFFIC_POLICY;
		return p;
	}
	if (s->traffic_distribution_spec[0] != '\0' &&
	    (p.mode = spec_mode(s->traffic_distribution_spec)) != NULL) {
		p.source = MG_SRC_SPEC;
		return p;
	}
	if (s->has_traffic_distribution_annot) {
		p.mode = annotation_mode(s->traffic_distribution_annot);
		p.source = MG_SRC_ANNOTATION;
		return p;
	}
	ns = mg_conf_find_namespace(c, s->cluster, s->ns);
	if (ns != NULL && ns->traffic_distribution[0] != '\0') {
		p.mode = annotation_mode(ns->traffic_distribution);
		p.source = MG_SRC_NAMESPACE;
		return p;
	}
	p.mode = mg_lb_mode_by_name(c->gw.default_traffic_distribution[0] ?
				    c->gw.default_traffic_distribution : "PreferNetwork");
	if (p.mode == NULL)
		p.mode = MODE_ANY;
	p.source = MG_SRC_DEFAULT;
	return p;
}

static bool
scope_match(enum mg_lb_scope sc, const struct mg_locality *a, const struct mg_locality *b,
	    const char *ca, const char *cb)
{
	switch (sc) {
	case MG_SCOPE_NETWORK:
		return strcmp(a->network, b->network) == 0;
	case MG_SCOPE_REGION:
		return strcmp(a->region, b->region) == 0;
	case MG_SCOPE_ZONE:
		return strcmp(a->zone, b->zone) == 0;
	case MG_SCOPE_SUBZONE:
		return strcmp(a->subzone, b->subzone) == 0;
	case MG_SCOPE_NODE:
		return strcmp(a->node, b->node) == 0;
	case MG_SCOPE_CLUSTER:
		return strcmp(ca ? ca : "", cb ? cb : "") == 0;
	}
	return false;
}

int
mg_lb_rank(const struct mg_lb_mode *mode, const struct mg_locality *me,
	   const struct mg_locality *ep, const char *me_cluster, const char *ep_cluster)
{
	int n = mode->n_scopes, rank = 0, bonus = 0;

	if (mode->kind == MG_LB_STANDARD || mode->kind == MG_LB_PASSTHROUGH)
		return 0;
	for (int i = 0; i < n; i++) {
		enum mg_lb_scope sc = mode->scopes[i];
		bool match = scope_match(sc, me, ep, me_cluster, ep_cluster);

		if (i == 0 && sc == MG_SCOPE_NETWORK) {
			if (match) {
				rank++;
				bonus = n - 1;
			}
			continue; /* a different network skips, it does not stop */
		}
		if (!match)
			break;
		rank++;
	}
	if (mode->kind == MG_LB_STRICT && rank != n)
		return -1;
	return rank + bonus;
}

const char *
mg_lb_source_name(enum mg_lb_source s)
{
	switch (s) {
	case MG_SRC_INTERNAL_TRAFFIC_POLICY:
		return "spec.internalTrafficPolicy";
	case MG_SRC_SPEC:
		return "spec.trafficDistribution";
	case MG_SRC_ANNOTATION:
		return "annotation networking.istio.io/traffic-distribution";
	case MG_SRC_NAMESPACE:
		return "namespace annotation networking.istio.io/traffic-distribution";
	case MG_SRC_DEFAULT:
		return "MeshGateway.spec.defaultTrafficDistribution";
	case MG_SRC_RESOLUTION_NONE:
		return "ServiceEntry spec.resolution: NONE";
	}
	return "?";
}
