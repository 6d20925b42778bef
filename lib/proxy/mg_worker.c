/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker set-up and the full-NAT source port pools.
 *
 * Each worker owns the ports p of [min, max] with p % n_workers == its index,
 * for every SNAT address, in a FIFO starting at a random place: a released
 * port goes to the back, so it is reused as late as possible and an endpoint
 * still holding the old connection in TIME_WAIT rarely sees the same 4-tuple
 * again (when it does, mg_proxy_tcp.c clears it as a TCP client would).
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "mg_proxy_priv.h"

int
mg_proxy_local_add(struct mg_proxy_shared *sh, uint32_t ip)
{
	uint32_t h = (ip * 2654435761u) >> 24;

	if (ip == 0)
		return -EINVAL;
	for (uint32_t i = 0; i < MG_ADDRSET_SIZE - 1; i++) {
		uint32_t *v = &sh->local[(h + i) & (MG_ADDRSET_SIZE - 1)];

		if (*v == ip)
			return 0;
		if (*v == 0) {
			*v = ip;
			return 0;
		}
	}
	return -ENOSPC;
}

int
mg_worker_init(struct mg_worker *w, struct mg_proxy_shared *sh, uint16_t id,
	       uint16_t lcore, uint32_t flows, struct rte_mempool *mp, int socket_id)
{
	char name[64];
	uint32_t n = sh->n_workers;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->lcore = lcore;
	w->sh = sh;
	w->mp = mp;
	w->rng = rte_rdtsc() ^ ((uint64_t)(id + 1) * UINT64_C(0x9E3779B97F4A7C15));
	w->tsc_per_ms = rte_get_tsc_hz() / 1000;
	w->tsc_per_us = rte_get_tsc_hz() / 1000000;
	snprintf(name, sizeof(name), "mg_flows_%u", id);
	w->ft = mg_flow_table_create(name, flows, socket_id);
	if (w->ft == NULL)
		return -ENOMEM;
	for (uint16_t s = 0; s < sh->n_snat; s++) {
		struct mg_snat_pool *p = &w->pools[s];
		uint32_t cap = 0;

		p->ports = rte_malloc_socket("mg_snat", sizeof(uint16_t) * 65536, 0, socket_id);
		if (p->ports == NULL)
			return -ENOMEM;
		for (uint32_t port = sh->snat_port_min; port <= sh->snat_port_max; port++)
			if (port % n == id)
				p->ports[cap++] = rte_cpu_to_be_16((uint16_t)port);
		p->cap = cap;
		p->count = cap;
		/* Start anywhere, as kernels do with ephemeral ports: a restarted
		 * gateway does not reuse the 4-tuples its predecessor left in
		 * TIME_WAIT on the endpoints. */
		p->head = cap ? (uint32_t)(rte_rand() % cap) : 0;
	}
	return 0;
}

void
mg_worker_fini(struct mg_worker *w)
{
	for (uint16_t s = 0; s < MG_MAX_SNAT; s++)
		rte_free(w->pools[s].ports);
	mg_flow_table_free(w->ft);
	memset(w, 0, sizeof(*w));
}

int
mg_snat_alloc(struct mg_worker *w, uint16_t snat_idx, uint16_t *port_be)
{
	struct mg_snat_pool *p = &w->pools[snat_idx];

	if (p->count == 0)
		return -ENOSPC;
	*port_be = p->ports[p->head];
	if (++p->head == p->cap)
		p->head = 0;
	p->count--;
	return 0;
}

void
mg_snat_free(struct mg_worker *w, uint16_t snat_idx, uint16_t port_be)
{
	struct mg_snat_pool *p = &w->pools[snat_idx];
	uint32_t tail = p->head + p->count;

	if (tail >= p->cap)
		tail -= p->cap;
	p->ports[tail] = port_be;
	p->count++;
}

void
mg_proxy_flush(struct mg_worker *w)
{
	for (uint16_t port = 0; port < MG_MAX_ETHPORTS; port++) {
		struct mg_tx_buf *b = &w->tx[port];
		uint16_t sent;

		if (b->n == 0)
			continue;
		sent = rte_eth_tx_burst(port, w->id, b->pkts, b->n);
		w->st.tx += sent;
		for (uint16_t i = sent; i < b->n; i++)
			mg_drop(w, b->pkts[i], MG_DROP_TX_FULL);
		b->n = 0;
	}
}

void
mg_proxy_expire(struct mg_worker *w, uint32_t budget)
{
	mg_flow_expire(w->ft, w->now_ms, budget, mg_proxy_expire_cb, w);
}
