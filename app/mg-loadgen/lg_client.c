/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulated clients: one slot per connection, found from the address
 * and port of any segment sent to it by arithmetic (slot = address index x
 * ports per address + port index), so the packet path has no hash table.
 *
 * A connection slot goes FREE -> SYN_SENT -> WAIT_RESP -> FIN_SENT -> FREE:
 *   open       SYN (seq c) to the VIP or, with no gateway, to a server
 *   SYN+ACK    must ack c+1; its seq is kept (our servers' cookie(c), or a
 *              SYN proxy's own): ACK, then the request
 *              (Q bytes, PSH); connect latency recorded
 *   response   in-order segments counted up to R bytes: FIN+ACK;
 *              response latency (request sent -> last byte) recorded
 *   FIN+ACK    must ack our FIN: the last ACK; completed, lifetime recorded
 * Answers are written over the received frame. Flood flows (lg_flood.c) use
 * the same slots after the connection slots, stop at HELD after the
 * handshake and are never closed.
 *
 * Free connection slots wait in a FIFO, so a client port is reused as late
 * as possible (the gateway keeps the old flow in TIME_WAIT until the port's
 * next SYN replaces it). A sweep of a slice of the slots every millisecond
 * retransmits SYNs (the gateway drops a SYN while a next hop is unresolved)
 * with exponential back-off and gives up on connections that made no
 * progress within the timeout: counted, RST sent, slot freed.
 */
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_tcp.h>

#include "lg.h"

bool
mg_lg_client_slot(const struct mg_lg_lcore *lc, uint32_t ip, uint16_t port, uint32_t *slot)
{
	uint32_t i = ip - lc->cfg.client_ip0, p = (uint32_t)(uint16_t)(port - lc->cfg.client_port_min);
	uint64_t s;

	if (i >= lc->cfg.n_client_ips || p >= lc->cfg.n_client_ports)
		return false;
	s = (uint64_t)i * lc->cfg.n_client_ports + p;
	if (s >= lc->n_slots)
		return false;
	*slot = (uint32_t)s;
	return true;
}

void
mg_lg_client_addr(const struct mg_lg_lcore *lc, uint32_t slot, uint32_t *ip, uint16_t *port)
{
	*ip = lc->cfg.client_ip0 + slot / lc->cfg.n_client_ports;
	*port = (uint16_t)(lc->cfg.client_port_min + slot % lc->cfg.n_client_ports);
}

/* The segment @p slot sends, addresses filled in. */
static void
seg_of(const struct mg_lg_lcore *lc, uint32_t slot, struct mg_lg_seg *s)
{
	const struct mg_lg_cfg *c = &lc->cfg;

	s->src_mac = lc->mac[c->cport];
	s->dst_mac = c->gw_mac;
	mg_lg_client_addr(lc, slot, &s->sip, &s->sport);
	if (c->vip != 0) {
		s->dip = c->vip;
		s->dport = c->vport;
	} else {
		s->dip = c->server_ip0 + slot % c->n_server_ips;
		s->dport = c->server_port;
	}
	s->payload = 0;
}

void
mg_lg_syn(struct mg_lg_lcore *lc, uint32_t slot, uint64_t now)
{
	struct mg_lg_conn *k = &lc->slots[slot];
	struct mg_lg_seg s;
	struct rte_mbuf *m;

	seg_of(lc, slot, &s);
	s.seq = k->isn;
	s.ack = 0;
	s.flags = RTE_TCP_SYN_FLAG;
	k->t_last = now;
	m = mg_lg_pkt_new(lc, &s);
	if (m != NULL)
		mg_lg_tx(lc, lc->cfg.cport, m);
}

static inline bool
is_hold(const struct mg_lg_lcore *lc, uint32_t slot)
{
	return slot >= lc->cfg.conns || !(lc->cfg.modes & MG_LG_M_CONN);
}

/* A connection slot is free again (flood flows are not recycled). */
static void
release(struct mg_lg_lcore *lc, uint32_t slot)
{
	struct mg_lg_conn *k = &lc->slots[slot];
	uint32_t tail;

	if (is_hold(lc, slot)) {
		if (k->state == MG_LG_SYN_SENT)
			lc->hold_open--;
		k->state = MG_LG_FREE;
		return;
	}
	k->state = MG_LG_FREE;
	tail = lc->fq_head + lc->fq_count;
	if (tail >= lc->cfg.conns)
		tail -= lc->cfg.conns;
	lc->freeq[tail] = slot;
	lc->fq_count++;
	lc->inflight--;
}

static void
send_rst(struct mg_lg_lcore *lc, uint32_t slot)
{
	struct mg_lg_conn *k = &lc->slots[slot];
	struct mg_lg_seg s;
	struct rte_mbuf *m;

	seg_of(lc, slot, &s);
	s.seq = k->isn + 1 + (k->state == MG_LG_FIN_SENT ? lc->cfg.req_size + 1 :
			      k->state == MG_LG_WAIT_RESP ? lc->cfg.req_size : 0);
	s.ack = 0;
	s.flags = RTE_TCP_RST_FLAG;
	m = mg_lg_pkt_new(lc, &s);
	if (m != NULL)
		mg_lg_tx(lc, lc->cfg.cport, m);
}

void
mg_lg_client_input(struct mg_lg_lcore *lc, struct rte_mbuf *m, uint32_t slot)
{
	struct mg_lg_conn *k = &lc->slots[slot];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((uint8_t *)ip + rte_ipv4_hdr_len(ip));
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq), ack = rte_be_to_cpu_32(th->recv_ack);
	uint32_t hl = rte_ipv4_hdr_len(ip) + ((th->data_off >> 4) * 4u);
	uint32_t plen = rte_be_to_cpu_16(ip->total_length);
	uint32_t q = lc->cfg.req_size, r = lc->cfg.resp_size;
	uint32_t irs = k->state == MG_LG_SYN_SENT ? 0 : k->irs;
	uint8_t fl = th->tcp_flags;
	uint64_t now = rte_rdtsc();
	struct mg_lg_seg s;
	struct rte_mbuf *req;

	plen = plen > hl ? plen - hl : 0;
	if (k->state == MG_LG_FREE || k->state == MG_LG_HELD) {
		/* A late duplicate (both copies of a retransmitted SYN answered). */
		lc->c.err_unexpected++;
		rte_pktmbuf_free(m);
		return;
	}
	if (fl & RTE_TCP_RST_FLAG) {
		lc->c.err_rst++;
		if (is_hold(lc, slot))
			lc->c.hold_failed++;
		rte_pktmbuf_free(m);
		release(lc, slot);
		return;
	}
	s.src_mac = lc->mac[m->port];
	s.dst_mac = eth->src_addr;
	s.sip = rte_be_to_cpu_32(ip->dst_addr);
	s.dip = rte_be_to_cpu_32(ip->src_addr);
	s.sport = rte_be_to_cpu_16(th->dst_port);
	s.dport = rte_be_to_cpu_16(th->src_port);
	s.payload = 0;

	if (k->state != MG_LG_SYN_SENT &&
	    (fl & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG) &&
	    ack == k->isn + 1 && seq == irs) {
		/* The answer to a retransmitted SYN: already established. */
		lc->c.dup_synack++;
		rte_pktmbuf_free(m);
		return;
	}
	switch (k->state) {
	case MG_LG_SYN_SENT:
		if ((fl & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) !=
		    (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG) || ack != k->isn + 1)
			break;
		irs = seq;
		k->irs = seq;
		lc->c.conn_established++;
		mg_lg_hist_record(&lc->h_connect, mg_lg_ns(lc, now - k->t_syn));
		s.seq = k->isn + 1;
		s.ack = irs + 1;
		s.flags = RTE_TCP_ACK_FLAG;
		mg_lg_pkt_rewrite(m, &s);
		mg_lg_tx(lc, lc->cfg.cport, m);
		k->t_last = now;
		if (is_hold(lc, slot)) {
			k->state = MG_LG_HELD;
			lc->hold_open--;
			lc->c.held++;
			lc->n_held++;
			if (irs != mg_lg_cookie(lc, k->isn))
				lc->n_held_foreign++;
			return;
		}
		s.payload = (uint16_t)q;
		s.flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
		req = mg_lg_pkt_new(lc, &s);
		if (req != NULL)
			mg_lg_tx(lc, lc->cfg.cport, req);
		k->state = MG_LG_WAIT_RESP;
		k->t_req = now;
		k->rx = 0;
		return;
	case MG_LG_WAIT_RESP:
		if (plen == 0 && !(fl & RTE_TCP_FIN_FLAG)) {
			rte_pktmbuf_free(m); /* a bare ACK */
			return;
		}
		if (seq != irs + 1 + k->rx || (fl & RTE_TCP_FIN_FLAG))
			break;
		k->rx += plen;
		k->t_last = now;
		if (k->rx < r) {
			rte_pktmbuf_free(m);
			return;
		}
		mg_lg_hist_record(&lc->h_response, mg_lg_ns(lc, now - k->t_req));
		s.seq = k->isn + 1 + q;
		s.ack = irs + 1 + r;
		s.flags = RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG;
		mg_lg_pkt_rewrite(m, &s);
		mg_lg_tx(lc, lc->cfg.cport, m);
		k->state = MG_LG_FIN_SENT;
		return;
	case MG_LG_FIN_SENT:
		if (!(fl & RTE_TCP_FIN_FLAG) || ack != k->isn + q + 2 || seq != irs + 1 + r)
			break;
		s.seq = k->isn + q + 2;
		s.ack = irs + r + 2;
		s.flags = RTE_TCP_ACK_FLAG;
		mg_lg_pkt_rewrite(m, &s);
		mg_lg_tx(lc, lc->cfg.cport, m);
		lc->c.conn_completed++;
		mg_lg_hist_record(&lc->h_life, mg_lg_ns(lc, now - k->t_syn));
		release(lc, slot);
		return;
	default:
		break;
	}
	lc->c.err_bad_segment++;
	rte_pktmbuf_free(m);
}

void
mg_lg_client_open(struct mg_lg_lcore *lc, uint64_t now)
{
	uint32_t max = RTE_MIN(lc->fq_count, (uint32_t)MG_LG_BURST);
	uint32_t n;

	if (lc->cfg.count) {
		if (lc->opened >= lc->cfg.count)
			return;
		max = (uint32_t)RTE_MIN((uint64_t)max, lc->cfg.count - lc->opened);
	}
	if (max == 0 || lc->tx[lc->cfg.cport].n > MG_LG_TXBUF / 2)
		return;
	n = mg_lg_bucket_take(lc, &lc->b_conn, lc->cfg.conn_rate, now, max);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = lc->freeq[lc->fq_head];
		struct mg_lg_conn *k = &lc->slots[slot];

		if (++lc->fq_head == lc->cfg.conns)
			lc->fq_head = 0;
		lc->fq_count--;
		lc->inflight++;
		lc->opened++;
		lc->c.conn_open++;
		k->isn = mg_lg_rand(lc);
		k->state = MG_LG_SYN_SENT;
		k->tries = 1;
		k->t_syn = now;
		mg_lg_syn(lc, slot, now);
	}
}

void
mg_lg_client_sweep(struct mg_lg_lcore *lc, uint64_t now)
{
	uint32_t limit = lc->setup_done ? ((lc->cfg.modes & MG_LG_M_CONN) ? lc->cfg.conns : 0) :
			 lc->n_slots;
	uint32_t budget = RTE_MAX(limit / 16, RTE_MIN(limit, 256u));

	/* Segments handled since the loop began carry later times than its
	 * start: read the clock again, or now - t_last would wrap. */
	now = RTE_MAX(now, rte_rdtsc());

	for (uint32_t i = 0; i < budget && limit; i++) {
		uint32_t slot = lc->sweep_pos;
		struct mg_lg_conn *k = &lc->slots[slot];

		if (++lc->sweep_pos >= limit)
			lc->sweep_pos = 0;
		if (k->state == MG_LG_FREE || k->state == MG_LG_HELD)
			continue;
		if (k->state == MG_LG_SYN_SENT && now - k->t_syn < lc->timeout_cyc) {
			if (now - k->t_last >= (lc->rto_cyc << (k->tries - 1)) && k->tries < 8) {
				k->tries++;
				lc->c.syn_retrans++;
				mg_lg_syn(lc, slot, now);
			}
			continue;
		}
		if (now - k->t_last < lc->timeout_cyc)
			continue;
		lc->c.err_timeout++;
		if (is_hold(lc, slot))
			lc->c.hold_failed++;
		send_rst(lc, slot);
		release(lc, slot);
	}
}

void
mg_lg_client_start(struct mg_lg_lcore *lc)
{
	lc->fq_head = 0;
	lc->fq_count = 0;
	lc->inflight = 0;
	lc->opened = 0;
	if (lc->cfg.modes & MG_LG_M_CONN) {
		for (uint32_t i = 0; i < lc->cfg.conns; i++)
			lc->freeq[i] = i;
		lc->fq_count = lc->cfg.conns;
	}
}
