/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Post-processing: the locality of every endpoint and of the gateway.
 *
 * Runs once everything is loaded, because a Node, the object naming it and
 * the MeshGateway may come in any order and from different files. Nodes are
 * indexed once (sorted by cluster and name) so that each endpoint costs one
 * binary search. For each endpoint, in order:
 *   - network: its own (WorkloadEntry or ServiceEntry endpoint `network`),
 *     else its cluster's (remoteClusters[].network; the local cluster's is
 *     MeshGateway spec.network);
 *   - region/zone/subzone: the labels of the Node its nodeName names in the
 *     same cluster; where that Node has no such label (or there is no Node),
 *     what the object itself said (EndpointSlice `zone`, WorkloadEntry
 *     `locality`) stays;
 *   - behind an east-west gateway (a remote cluster with
 *     eastWestGateway.address, and the endpoint not on the local network):
 *     region/zone/subzone are that gateway's locality labels, as Solo peering
 *     does (semantics.md decision 10); in a flat network it keeps its own;
 *   - node: its nodeName (kept as read).
 * The gateway: spec.locality if any of it is given, else the labels of the
 * local Node named by spec.nodeName (locality_from_node); network is
 * spec.network and node is spec.nodeName either way.
 */
#include <stdlib.h>
#include <string.h>

#include "mg_conf_priv.h"

struct node_ref {
	const char *cluster;
	const char *name;
	const struct mg_conf_node *node;
};

static int
node_ref_cmp(const void *a, const void *b)
{
	const struct node_ref *x = a, *y = b;
	int c = strcmp(x->cluster, y->cluster);

	return c ? c : strcmp(x->name, y->name);
}

static const struct mg_conf_node *
lookup(const struct node_ref *refs, size_t n, const char *cluster, const char *name)
{
	struct node_ref key = { cluster, name, NULL };
	const struct node_ref *r;

	if (n == 0 || name[0] == '\0')
		return NULL;
	r = bsearch(&key, refs, n, sizeof(*refs), node_ref_cmp);
	return r ? r->node : NULL;
}

static void
copy_if_set(char *dst, const char *src)
{
	if (src[0] != '\0')
		memcpy(dst, src, MG_NAME_LEN);
}

static const struct mg_conf_cluster *
remote_by_name(const struct mg_conf_gateway *g, const char *name)
{
	for (uint32_t i = 0; i < g->n_remotes; i++)
		if (strcmp(g->remotes[i].name, name) == 0)
			return &g->remotes[i];
	return NULL;
}

int
mg_conf_resolve_locality(struct mg_conf_loader *ld)
{
	struct mg_conf *c = ld->c;
	struct mg_conf_gateway *g = &c->gw;
	struct node_ref *refs = NULL;
	const struct mg_conf_node *nd;

	if (c->n_nodes > 0) {
		refs = calloc(c->n_nodes, sizeof(*refs));
		if (refs == NULL)
			return mg_conf_err_at(ld, c->path, 0, "out of memory");
		for (uint32_t i = 0; i < c->n_nodes; i++)
			refs[i] = (struct node_ref){ c->nodes[i].cluster, c->nodes[i].name,
						     &c->nodes[i] };
		qsort(refs, c->n_nodes, sizeof(*refs), node_ref_cmp);
	}

	g->locality_from_node = false;
	if (g->locality.region[0] == '\0' && g->locality.zone[0] == '\0' &&
	    g->locality.subzone[0] == '\0') {
		nd = lookup(refs, c->n_nodes, "", g->locality.node);
		if (nd != NULL) {
			memcpy(g->locality.region, nd->locality.region, MG_NAME_LEN);
			memcpy(g->locality.zone, nd->locality.zone, MG_NAME_LEN);
			memcpy(g->locality.subzone, nd->locality.subzone, MG_NAME_LEN);
			g->locality_from_node = true;
		}
	}

	for (uint32_t i = 0; i < c->n_endpoints; i++) {
		struct mg_conf_endpoint *e = &c->endpoints[i];
		const struct mg_conf_cluster *rc = NULL;
		struct mg_locality *l = &e->locality;

		if (e->cluster[0] != '\0')
			rc = remote_by_name(g, e->cluster);
		if (l->network[0] == '\0')
			memcpy(l->network, rc ? rc->network : g->locality.network, MG_NAME_LEN);
		nd = lookup(refs, c->n_nodes, e->cluster, l->node);
		if (nd != NULL) {
			copy_if_set(l->region, nd->locality.region);
			copy_if_set(l->zone, nd->locality.zone);
			copy_if_set(l->subzone, nd->locality.subzone);
		}
		if (rc != NULL && rc->gateway_ip != 0 &&
		    strcmp(l->network, g->locality.network) != 0) {
			memcpy(l->region, rc->gateway_locality.region, MG_NAME_LEN);
			memcpy(l->zone, rc->gateway_locality.zone, MG_NAME_LEN);
			memcpy(l->subzone, rc->gateway_locality.subzone, MG_NAME_LEN);
		}
	}
	free(refs);
	return 0;
}
