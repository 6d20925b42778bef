/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packet lcore's loop, run to completion: poll every RX queue of every
 * port, dispatch each frame by its destination (ARP, a client slot, a
 * server, a SYN-flood source, or nothing of ours), then, while running, let
 * the sources add new work (new connections, flood segments, SYN-flood
 * SYNs), each paced by a token bucket on the TSC; sweep a slice of the
 * connection slots once a millisecond; flush the TX buffers.
 *
 * Only this lcore writes its counters, histograms and slots: the main lcore
 * reads them (reports) and writes only the control words (start sequence,
 * running, quit). No lock anywhere. TX is buffered per port; what the PMD
 * does not take stays buffered for the next loop (backpressure: sources add
 * nothing while their port's buffer is filling), and only a full buffer
 * drops (tx_drop).
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "lg.h"
#include "mg_owner.h"

uint32_t
mg_lg_bucket_take(struct mg_lg_lcore *lc, struct mg_lg_bucket *b, uint64_t rate, uint64_t now,
		  uint32_t max)
{
	uint64_t dt, n, cap;

	if (rate == 0)
		return max;
	dt = now - b->last;
	b->last = now;
	if (dt > lc->hz / 100)
		dt = lc->hz / 100; /* at most 10 ms of credit after a pause */
	b->credit += dt * rate;
	cap = (uint64_t)MG_LG_BURST * 2 * lc->hz;
	if (b->credit > cap)
		b->credit = cap;
	n = b->credit / lc->hz;
	if (n > max)
		n = max;
	b->credit -= n * lc->hz;
	return (uint32_t)n;
}

/* The meshgate worker that owns frame @p m (mg_owner.h): a server's segment
 * by its destination (SNAT) port, a client's by its source; ARP to 0. */
static uint16_t
steer_queue(const struct mg_lg_lcore *lc, const struct rte_mbuf *m, uint16_t n)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_tcp_hdr *th;

	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) || ip->next_proto_id != IPPROTO_TCP)
		return 0;
	th = (const struct rte_tcp_hdr *)((const uint8_t *)ip + (ip->version_ihl & 0xf) * 4);
	if (mg_lg_is_server(lc, rte_be_to_cpu_32(ip->src_addr)))
		return mg_owner_snat_port(n, th->dst_port);
	return mg_owner_client(n, ip->src_addr, th->src_port);
}

/*
 * Send a port's buffered frames on their owners' queues. What a full queue
 * refuses is dropped (tx_drop), as a NIC drops on a full RX ring: kept, it
 * would hold up the other queues' traffic behind a worker that is not
 * running (two workers sharing a core run in turns).
 */
static uint16_t
flush_steered(struct mg_lg_lcore *lc, uint16_t port, struct mg_lg_txq *t)
{
	uint16_t nq = lc->n_txq[port], sent_all = 0;
	struct rte_mbuf *q[MG_LG_MAX_RXQ][MG_LG_TXBUF];
	uint32_t len[MG_LG_MAX_RXQ][MG_LG_TXBUF];
	uint16_t qn[MG_LG_MAX_RXQ] = { 0 };

	for (uint16_t i = 0; i < t->n; i++) {
		uint16_t k = steer_queue(lc, t->pkts[i], nq);

		len[k][qn[k]] = t->pkts[i]->pkt_len; /* a sent mbuf is the driver's */
		q[k][qn[k]++] = t->pkts[i];
	}
	for (uint16_t k = 0; k < nq; k++) {
		uint16_t sent = qn[k] ? rte_eth_tx_burst(port, k, q[k], qn[k]) : 0;

		sent_all += sent;
		for (uint16_t i = 0; i < sent; i++)
			lc->c.tx_bytes += len[k][i];
		if (sent < qn[k]) {
			lc->c.tx_drop += qn[k] - sent;
			rte_pktmbuf_free_bulk(&q[k][sent], qn[k] - sent);
		}
	}
	t->n = 0;
	return sent_all;
}

static void
flush(struct mg_lg_lcore *lc, uint16_t port)
{
	struct mg_lg_txq *t = &lc->tx[port];
	uint64_t bytes = 0;
	uint16_t sent;

	if (t->n == 0)
		return;
	if (lc->n_txq[port] > 1) {
		lc->c.tx_pkts += flush_steered(lc, port, t);
		return;
	}
	for (uint16_t i = 0; i < t->n; i++)
		bytes += t->pkts[i]->pkt_len;
	sent = rte_eth_tx_burst(port, 0, t->pkts, t->n);
	for (uint16_t i = sent; i < t->n; i++)
		bytes -= t->pkts[i]->pkt_len;
	lc->c.tx_pkts += sent;
	lc->c.tx_bytes += bytes;
	if (sent < t->n)
		memmove(t->pkts, t->pkts + sent, sizeof(t->pkts[0]) * (t->n - sent));
	t->n -= sent;
}

void
mg_lg_tx(struct mg_lg_lcore *lc, uint16_t port, struct rte_mbuf *m)
{
	struct mg_lg_txq *t = &lc->tx[port];

	if (unlikely(t->n == MG_LG_TXBUF)) {
		flush(lc, port);
		if (t->n == MG_LG_TXBUF) {
			lc->c.tx_drop++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	t->pkts[t->n++] = m;
}

static bool
is_ours(const struct mg_lg_lcore *lc, uint32_t ip)
{
	return ip - lc->cfg.client_ip0 < lc->cfg.n_client_ips || mg_lg_is_server(lc, ip);
}

/* Answer ARP requests for our clients and servers; learn the gateway's MAC. */
static void
arp_input(struct mg_lg_lcore *lc, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint32_t sip, tip;

	lc->c.arp_rx++;
	if (m->data_len < sizeof(*eth) + sizeof(*arp)) {
		rte_pktmbuf_free(m);
		return;
	}
	sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
	tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
	if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY)) {
		if (lc->cfg.gw_ip != 0 && sip == lc->cfg.gw_ip) {
			lc->cfg.gw_mac = arp->arp_data.arp_sha;
			mg_lg->cfg.gw_mac = arp->arp_data.arp_sha;
		}
		rte_pktmbuf_free(m);
		return;
	}
	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || !is_ours(lc, tip)) {
		rte_pktmbuf_free(m);
		return;
	}
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = rte_cpu_to_be_32(sip);
	arp->arp_data.arp_sha = lc->mac[m->port];
	arp->arp_data.arp_sip = rte_cpu_to_be_32(tip);
	eth->dst_addr = arp->arp_data.arp_tha;
	eth->src_addr = lc->mac[m->port];
	lc->c.arp_tx++;
	mg_lg_tx(lc, m->port, m);
}

static inline void
dispatch(struct mg_lg_lcore *lc, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip;
	const uint16_t *ports;
	uint32_t dip, slot;

	lc->c.rx_pkts++;
	lc->c.rx_bytes += m->pkt_len;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		arp_input(lc, m);
		return;
	}
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    m->data_len < sizeof(*eth) + sizeof(*ip) + 20 || ip->next_proto_id != IPPROTO_TCP ||
	    m->data_len < sizeof(*eth) + rte_ipv4_hdr_len(ip) + 20) {
		lc->c.rx_other++;
		rte_pktmbuf_free(m);
		return;
	}
	dip = rte_be_to_cpu_32(ip->dst_addr);
	ports = (const uint16_t *)((const uint8_t *)ip + rte_ipv4_hdr_len(ip));
	if (mg_lg_client_slot(lc, dip, rte_be_to_cpu_16(ports[1]), &slot)) {
		mg_lg_client_input(lc, m, slot);
	} else if (mg_lg_is_server(lc, dip)) {
		mg_lg_server_input(lc, m);
	} else if (mg_lg_is_flood_src(lc, dip)) {
		lc->c.synflood_rx++;
		rte_pktmbuf_free(m);
	} else {
		lc->c.rx_other++;
		rte_pktmbuf_free(m);
	}
}

/* Poll every queue of every port once; also used by the main lcore before
 * the packet lcore starts (ARP resolution). Returns frames received. */
uint32_t mg_lg_poll(struct mg_lg_lcore *lc);

uint32_t
mg_lg_poll(struct mg_lg_lcore *lc)
{
	struct rte_mbuf *pkts[MG_LG_BURST];
	uint32_t total = 0;

	for (uint16_t p = 0; p < mg_lg->n_ports; p++) {
		uint16_t port = mg_lg->ports[p];

		for (uint16_t q = 0; q < lc->n_rxq[port]; q++) {
			uint16_t n = rte_eth_rx_burst(port, q, pkts, MG_LG_BURST);

			for (uint16_t i = 0; i < n && i < 4; i++)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
			for (uint16_t i = 0; i < n; i++) {
				if (i + 4 < n)
					rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
				pkts[i]->port = port;
				dispatch(lc, pkts[i]);
			}
			total += n;
		}
	}
	for (uint16_t p = 0; p < mg_lg->n_ports; p++)
		flush(lc, mg_lg->ports[p]);
	return total;
}

/* A new run: take the configuration, size the slots, reset the sources. */
static int
run_start(struct mg_lg_lcore *lc)
{
	const struct mg_lg_cfg *c = &mg_lg->cfg;
	uint64_t need = (uint64_t)((c->modes & MG_LG_M_CONN) ? c->conns : 0) +
			(((c->modes & MG_LG_M_FLOOD) && !c->synthetic) ? c->flows : 0);

	lc->cfg = *c;
	lc->epoch++;
	if (need > lc->slots_cap) {
		rte_free(lc->slots);
		rte_free(lc->freeq);
		lc->slots = rte_zmalloc("mg_lg_slots", sizeof(*lc->slots) * need, RTE_CACHE_LINE_SIZE);
		lc->freeq = rte_malloc("mg_lg_freeq", sizeof(uint32_t) * need, 0);
		if (lc->slots == NULL || lc->freeq == NULL) {
			rte_free(lc->slots);
			rte_free(lc->freeq);
			lc->slots = NULL;
			lc->freeq = NULL;
			lc->slots_cap = 0;
			lc->n_slots = 0;
			return -1;
		}
		lc->slots_cap = (uint32_t)need;
	} else if (need) {
		memset(lc->slots, 0, sizeof(*lc->slots) * need);
	}
	lc->n_slots = (uint32_t)need;
	/* Synthetic flood flows have no slot but the same addresses. */
	lc->timeout_cyc = lc->hz / 1000 * (c->timeout_ms ? c->timeout_ms : 1000);
	lc->rto_cyc = lc->hz / 1000 * (c->rto_ms ? c->rto_ms : 200);
	lc->sweep_pos = 0;
	memset(&lc->h_connect, 0, sizeof(lc->h_connect));
	memset(&lc->h_response, 0, sizeof(lc->h_response));
	memset(&lc->h_life, 0, sizeof(lc->h_life));
	mg_lg_client_start(lc);
	mg_lg_flood_start(lc);
	lc->b_conn.last = lc->b_flood.last = lc->b_syn.last = rte_rdtsc();
	lc->b_conn.credit = lc->b_flood.credit = lc->b_syn.credit = 0;
	return 0;
}

int
mg_lg_lcore_main(void *arg)
{
	struct mg_lg_lcore *lc = arg;
	struct mg_lg_ctl *ctl = &mg_lg->ctl;

	while (!ctl->quit) {
		uint64_t now = rte_rdtsc();
		uint32_t seq = __atomic_load_n(&ctl->start_seq, __ATOMIC_ACQUIRE);

		if (seq != lc->seen_seq) {
			if (run_start(lc) < 0)
				fprintf(stderr, "mg-loadgen: cannot allocate %u connection slots\n",
					lc->cfg.conns + lc->cfg.flows);
			__atomic_store_n(&lc->seen_seq, seq, __ATOMIC_RELEASE);
		}
		mg_lg_poll(lc);
		if (ctl->running && lc->slots_cap >= lc->n_slots) {
			if ((lc->cfg.modes & MG_LG_M_CONN) && lc->n_slots)
				mg_lg_client_open(lc, now);
			if (lc->cfg.modes & MG_LG_M_FLOOD) {
				if (!lc->setup_done)
					mg_lg_flood_setup(lc, now);
				else
					mg_lg_flood_send(lc, now);
			}
			if (lc->cfg.modes & MG_LG_M_SYNFLOOD)
				mg_lg_synflood_send(lc, now);
		}
		if (now >= lc->next_sweep && lc->n_slots) {
			lc->next_sweep = now + lc->hz / 1000;
			mg_lg_client_sweep(lc, now);
		}
		for (uint16_t p = 0; p < mg_lg->n_ports; p++)
			flush(lc, mg_lg->ports[p]);
	}
	for (uint16_t p = 0; p < mg_lg->n_ports; p++) {
		struct mg_lg_txq *t = &lc->tx[mg_lg->ports[p]];

		rte_pktmbuf_free_bulk(t->pkts, t->n);
		t->n = 0;
	}
	return 0;
}
