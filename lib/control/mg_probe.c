/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Active TCP health checks: the control thread's half of them.
 *
 * The outlier model (lib/outlier) says which endpoints are due for a probe
 * and decides what results mean; this file turns "probe endpoint X now"
 * into a SYN on the wire, and the workers turn the answer into an event
 * (lib/proxy: probe_answer). A probe is a half-open connect, as HAProxy's
 * `check` and Envoy's TCP health checker do it without a payload:
 *
 *   gateway:probe_port --SYN(seq = ISN)--> endpoint:targetPort
 *   SYN-ACK(ack = ISN + 1)  -> healthy; the worker answers RST, so neither
 *                              side keeps a connection or a TIME_WAIT
 *   RST(ack = ISN + 1), ICMP unreachable -> failed
 *   nothing within the timeout -> failed (the model's own timer)
 *
 * The source port lies outside every SNAT pool (just below it), so a probe
 * can never collide with a proxied flow, and the ISN is a keyed hash of the
 * endpoint, so a stray or forged segment does not count as an answer. SYNs
 * leave on the control thread's own TX queue of the egress port: the
 * workers' queues and hot loops are untouched, and a probe costs the data
 * plane one lookup miss for its answer.
 *
 * Targets are looked up by endpoint id in a sorted array rebuilt whenever a
 * configuration is applied (binary search, O(log n) per probe). An endpoint
 * serving several ports is probed on the first of them in table order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "mg_gw_priv.h"

#define MG_PROBE_BATCH 32

static int
target_cmp(const void *a, const void *b)
{
	const struct mg_probe_target *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int
mg_probe_targets_build(struct mg_gw *gw, const struct mg_lb_table *t)
{
	struct mg_probe_target *v = NULL;
	uint32_t n = 0;

	if (t->n_eps > 0) {
		v = malloc(sizeof(*v) * t->n_eps);
		if (v == NULL)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < t->n_eps; i++) {
		const struct mg_lb_ep *e = &t->eps[i];

		v[n++] = (struct mg_probe_target){
			.id = e->id, .ip = e->ip, .port = e->port, .port_id = e->port_id,
			.nh = e->nh, .order = i,
		};
	}
	/* Sort by id, the first in table order first, then keep one per id.
	 * (Not qsort(NULL, 0): undefined, UBSan stops a gateway with no endpoint.) */
	if (n > 1) {
		uint32_t k = 0;

		qsort(v, n, sizeof(*v), target_cmp);

		for (uint32_t i = 1; i < n; i++) {
			if (v[i].id != v[k].id)
				v[++k] = v[i];
			else if (v[i].order < v[k].order)
				v[k] = v[i];
		}
		n = k + 1;
	}
	free(gw->probes);
	gw->probes = v;
	gw->n_probes = n;
	return 0;
}

static const struct mg_probe_target *
target_find(const struct mg_gw *gw, uint32_t id)
{
	uint32_t lo = 0, hi = gw->n_probes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (gw->probes[mid].id == id)
			return &gw->probes[mid];
		if (gw->probes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Build and send one SYN toward @p tg; false if it could not leave. */
static bool
probe_send(struct mg_gw *gw, const struct mg_probe_target *tg)
{
	const struct mg_proxy_port *pp = &gw->sh.ports[tg->port_id];
	struct rte_ether_addr mac;
	struct rte_mbuf *m;

	/* Unresolved next hop: the neighbour table is already asking; the
	 * probe times out, which is the truth about an endpoint nobody can
	 * reach. */
	if (!mg_neigh_mac(gw->sh.neigh, tg->nh, &mac))
		return false;
	m = rte_pktmbuf_alloc(gw->ctl_mp);
	if (m == NULL)
		return false;
	if (mg_pkt_tcp_build(m, &pp->mac, &mac, pp->ip, tg->ip, gw->sh.probe_port, tg->port,
			     mg_probe_isn(&gw->sh, tg->ip, tg->port), 0, RTE_TCP_SYN_FLAG, 1024) < 0) {
		rte_pktmbuf_free(m);
		return false;
	}
	m->port = tg->port_id;
	if (rte_eth_tx_burst(tg->port_id, gw->n_workers, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return false;
	}
	return true;
}

void
mg_probe_send_due(struct mg_gw *gw, uint64_t now)
{
	uint32_t ids[MG_PROBE_BATCH];
	uint32_t n;

	if (gw->sh.probe_port == 0)
		return;
	do {
		n = mg_outlier_probes_due(gw->ol, now, ids, RTE_DIM(ids));
		for (uint32_t i = 0; i < n; i++) {
			const struct mg_probe_target *tg = target_find(gw, ids[i]);

			if (tg != NULL && probe_send(gw, tg))
				gw->cst.probes_sent++;
			else
				gw->cst.probes_unsent++;
		}
	} while (n == RTE_DIM(ids));
}
