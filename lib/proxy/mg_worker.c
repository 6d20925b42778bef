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
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_errno.h>
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
		/* This worker's share of the range: the ports p with p % n == id. */
		uint32_t share = (uint32_t)(sh->snat_port_max - sh->snat_port_min + 1) / n + 1;
		uint32_t cap = 0;

		p->ports = rte_malloc_socket("mg_snat", sizeof(uint16_t) * share, 0, socket_id);
		if (p->ports == NULL)
			return -ENOMEM;
		for (uint32_t port = sh->snat_port_min; port <= sh->snat_port_max; port++)
			if (port % n == id) {
				RTE_ASSERT(cap < share);
				p->ports[cap++] = rte_cpu_to_be_16((uint16_t)port);
			}
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

static int
pool_take(struct mg_worker *w, uint16_t snat_idx, uint16_t *port_be)
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

static void
pool_give(struct mg_worker *w, uint16_t snat_idx, uint16_t port_be)
{
	struct mg_snat_pool *p = &w->pools[snat_idx];
	uint32_t tail = p->head + p->count;

	if (tail >= p->cap)
		tail -= p->cap;
	p->ports[tail] = port_be;
	p->count++;
}

/*
 * Predictable RSS. The endpoint's replies (ep -> snat) reach the queue that
 * entry (toeplitz(ep_ip, snat_ip, ep_port, snat_port) & reta_mask) of the
 * port's redirection table names; the control plane filled entry i with
 * queue i % workers. So a SNAT port whose reply hash has the worker's id in
 * its low bits brings the replies straight to the flow's owner: draw a port,
 * let rte_thash compute which of its low bits to flip for that (the key was
 * made for it, rte_thash_add_helper), and check the 4-tuple is not in use
 * on this worker. No pools: the owner of a tuple is fixed by its hash, so
 * two workers can never choose the same one.
 */
static int
rss_pick(struct mg_worker *w, const struct mg_proxy_port *pp, uint32_t snat_ip, uint32_t ep_ip,
	 uint16_t ep_port, uint16_t *port_be)
{
	const struct mg_proxy_shared *sh = w->sh;
	uint32_t span = (uint32_t)sh->snat_port_max - sh->snat_port_min + 1;

	for (int attempt = 0; attempt < 8; attempt++) {
		struct mg_flow_key k;
		uint16_t port = (uint16_t)(sh->snat_port_min + (uint32_t)(mg_rand(w) % span));

		port = mg_rss_adjust(pp, ep_ip, snat_ip, ep_port, port, w->id);
		if (port < sh->snat_port_min || port > sh->snat_port_max ||
		    rte_cpu_to_be_16(port) == sh->probe_port)
			continue;
		mg_flow_key_set(&k, ep_ip, snat_ip, ep_port, rte_cpu_to_be_16(port));
		if (mg_flow_lookup(w->ft, &k) != MG_FLOW_NONE)
			continue;
		*port_be = rte_cpu_to_be_16(port);
		return 0;
	}
	return -ENOSPC;
}

uint16_t
mg_rss_adjust(const struct mg_proxy_port *pp, uint32_t ep_ip, uint32_t snat_ip, uint16_t ep_port,
	      uint16_t port, uint32_t desired)
{
	union rte_thash_tuple t;
	uint32_t h;

	t.v4.src_addr = rte_be_to_cpu_32(ep_ip);
	t.v4.dst_addr = rte_be_to_cpu_32(snat_ip);
	t.v4.sport = rte_be_to_cpu_16(ep_port);
	t.v4.dport = port;
	h = rte_softrss_be((uint32_t *)&t, RTE_THASH_V4_L4_LEN, (const uint8_t *)pp->rss_key_be);
	return (uint16_t)(port ^ rte_thash_get_complement(pp->rss_helper, h, desired));
}

int
mg_proxy_rss_init(struct mg_proxy_port *pp, uint16_t port_id, uint32_t key_len,
		  uint32_t reta_size, uint8_t *nic_key)
{
	char name[32];
	struct rte_thash_ctx *ctx;
	const uint8_t *key;
	uint32_t log = 0;

	if (key_len == 0 || key_len > MG_RSS_KEY_MAX || key_len % 4 != 0 || reta_size < 2 ||
	    !rte_is_power_of_2(reta_size))
		return -ENOTSUP;
	while ((1u << log) < reta_size)
		log++;
	snprintf(name, sizeof(name), "mg_rss_%u", port_id);
	ctx = rte_thash_find_existing(name);
	if (ctx == NULL)
		ctx = rte_thash_init_ctx(name, key_len, log, NULL, 0);
	if (ctx == NULL)
		return -rte_errno;
	/* The destination port of the endpoint's replies: the last 16 bits of
	 * the 96-bit (src, dst, sport, dport) string the NIC hashes. */
	pp->rss_helper = rte_thash_get_helper(ctx, "snat_port");
	if (pp->rss_helper == NULL) {
		int rc = rte_thash_add_helper(ctx, "snat_port", 16, 80);

		if (rc < 0)
			return rc;
		pp->rss_helper = rte_thash_get_helper(ctx, "snat_port");
	}
	key = rte_thash_get_key(ctx);
	memcpy(nic_key, key, key_len);
	rte_convert_rss_key((const uint32_t *)key, pp->rss_key_be, key_len);
	pp->reta_mask = reta_size - 1;
	return 0;
}

int
mg_snat_pick(struct mg_worker *w, const struct mg_lb_ep *ep, uint16_t *port_be)
{
	const struct mg_proxy_port *pp = &w->sh->ports[ep->port_id];

	if (pp->rss)
		return rss_pick(w, pp, w->sh->snat_ips[ep->snat_idx], ep->ip, ep->port, port_be);
	return pool_take(w, ep->snat_idx, port_be);
}

void
mg_snat_put(struct mg_worker *w, uint16_t port_id, uint16_t snat_idx, uint16_t port_be)
{
	if (!w->sh->ports[port_id].rss)
		pool_give(w, snat_idx, port_be);
}

void
mg_proxy_flush(struct mg_worker *w)
{
	/* Only the ports this burst sent to: a scan of every port's buffer
	 * would touch 16 cache lines per loop. */
	while (w->tx_pending != 0) {
		uint16_t port = (uint16_t)__builtin_ctz(w->tx_pending);
		struct mg_tx_buf *b = &w->tx[port];
		uint16_t sent;

		w->tx_pending &= w->tx_pending - 1;
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
