/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Floods.
 *
 * Established-flow flood: N flows (the slots after the connection slots)
 * are first opened with real handshakes through the gateway, at most
 * setup_window SYNs outstanding, and held open; then data segments (ACK,
 * no PSH, so the server counts them and never answers) go out on them as
 * fast as the link takes them or at the configured rate. A flow's ISN is a
 * hash of its slot and the run, so a flood segment is computed from the
 * flow index alone: the generator reads no per-flow memory while flooding,
 * and 1M flows cost it no cache misses. Flows are visited with a stride
 * coprime with N (a full cycle in a scattered order, as real traffic hits a
 * flow table). (A flow's slot is read only when some handshake met a peer
 * ISN other than our servers', a SYN proxy's.) With synthetic flows (no
 * gateway) the handshakes are skipped.
 *
 * SYN flood: SYNs from random addresses of the flood range and random
 * ports, nothing kept; the answers that come back to those addresses are
 * counted and dropped, as a spoofed source would.
 */
#include <rte_cycles.h>
#include <rte_tcp.h>

#include "lg.h"

static inline uint32_t
hold_isn(const struct mg_lg_lcore *lc, uint32_t slot)
{
	return mg_lg_mix(slot ^ (lc->epoch * 0x9E3779B9u) ^ lc->secret);
}

static uint32_t
gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

bool
mg_lg_is_flood_src(const struct mg_lg_lcore *lc, uint32_t ip)
{
	return ip - lc->cfg.flood_ip0 < lc->cfg.n_flood_ips;
}

void
mg_lg_flood_start(struct mg_lg_lcore *lc)
{
	uint32_t n = lc->cfg.flows;

	lc->hold_next = 0;
	lc->hold_open = 0;
	lc->n_held = 0;
	lc->n_held_foreign = 0;
	lc->flood_pos = 0;
	lc->flood_step = 1;
	if (n > 2) {
		uint32_t s = (uint32_t)((double)n * 0.6180339887) | 1;

		while (gcd(s, n) != 1)
			s++;
		lc->flood_step = s;
	}
	lc->setup_done = !(lc->cfg.modes & MG_LG_M_FLOOD) || lc->cfg.synthetic || n == 0;
}

static inline uint32_t
flood_base(const struct mg_lg_lcore *lc)
{
	return (lc->cfg.modes & MG_LG_M_CONN) ? lc->cfg.conns : 0;
}

void
mg_lg_flood_setup(struct mg_lg_lcore *lc, uint64_t now)
{
	uint32_t room, n;

	if (lc->hold_next >= lc->cfg.flows) {
		if (lc->hold_open == 0)
			lc->setup_done = true;
		return;
	}
	if (lc->tx[lc->cfg.cport].n > MG_LG_TXBUF / 2 || lc->hold_open >= lc->cfg.setup_window)
		return;
	room = RTE_MIN(lc->cfg.setup_window - lc->hold_open, lc->cfg.flows - lc->hold_next);
	n = mg_lg_bucket_take(lc, &lc->b_conn, lc->cfg.conn_rate, now,
			      RTE_MIN(room, (uint32_t)MG_LG_BURST));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = flood_base(lc) + lc->hold_next++;
		struct mg_lg_conn *k = &lc->slots[slot];

		k->isn = hold_isn(lc, slot);
		k->state = MG_LG_SYN_SENT;
		k->tries = 1;
		k->t_syn = now;
		lc->hold_open++;
		mg_lg_syn(lc, slot, now);
	}
}

void
mg_lg_flood_send(struct mg_lg_lcore *lc, uint64_t now)
{
	const struct mg_lg_cfg *c = &lc->cfg;
	struct rte_mbuf *pkts[MG_LG_BURST];
	struct mg_lg_seg s;
	uint32_t n, base = flood_base(lc);
	uint32_t len = RTE_MAX(c->size, 64u) - 4; /* without the FCS */

	if (c->flows == 0 || lc->tx[c->cport].n >= MG_LG_BURST)
		return;
	n = mg_lg_bucket_take(lc, &lc->b_flood, c->rate, now, MG_LG_BURST);
	if (n == 0)
		return;
	if (rte_pktmbuf_alloc_bulk(lc->mp, pkts, n) != 0) {
		lc->c.nombuf++;
		return;
	}
	s.src_mac = lc->mac[c->cport];
	s.dst_mac = c->gw_mac;
	s.flags = RTE_TCP_ACK_FLAG;
	s.payload = (uint16_t)(len > 54 ? len - 54 : 0);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = base + lc->flood_pos;
		uint32_t isn = hold_isn(lc, slot);

		lc->flood_pos += lc->flood_step;
		if (lc->flood_pos >= c->flows)
			lc->flood_pos -= c->flows;
		mg_lg_client_addr(lc, slot, &s.sip, &s.sport);
		if (c->vip != 0) {
			s.dip = c->vip;
			s.dport = c->vport;
		} else {
			s.dip = c->server_ip0 + slot % c->n_server_ips;
			s.dport = c->server_port;
		}
		s.seq = isn + 1;
		/* The ISN the flow's handshake met: our servers', computed, unless
		 * some handshake met another (a SYN proxy's cookie), and only then
		 * read from the slot (a cache miss per segment at 1M flows). */
		if (lc->n_held_foreign != 0 && lc->slots[slot].state == MG_LG_HELD)
			s.ack = lc->slots[slot].irs + 1;
		else
			s.ack = mg_lg_cookie(lc, isn) + 1;
		mg_lg_pkt_build(pkts[i], &s);
		mg_lg_tx(lc, c->cport, pkts[i]);
	}
	lc->c.flood_tx += n;
}

void
mg_lg_synflood_send(struct mg_lg_lcore *lc, uint64_t now)
{
	const struct mg_lg_cfg *c = &lc->cfg;
	struct rte_mbuf *pkts[MG_LG_BURST];
	struct mg_lg_seg s;
	uint32_t n;

	if (c->n_flood_ips == 0 || lc->tx[c->cport].n >= MG_LG_BURST)
		return;
	n = mg_lg_bucket_take(lc, &lc->b_syn, c->syn_rate, now, MG_LG_BURST);
	if (n == 0)
		return;
	if (rte_pktmbuf_alloc_bulk(lc->mp, pkts, n) != 0) {
		lc->c.nombuf++;
		return;
	}
	s.src_mac = lc->mac[c->cport];
	s.dst_mac = c->gw_mac;
	s.flags = RTE_TCP_SYN_FLAG;
	s.payload = 0;
	s.ack = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t r = mg_lg_rand(lc);

		s.sip = c->flood_ip0 + r % c->n_flood_ips;
		s.sport = (uint16_t)(1024 + (r >> 16) % 64512);
		if (c->vip != 0) {
			s.dip = c->vip;
			s.dport = c->vport;
		} else {
			s.dip = c->server_ip0 + r % c->n_server_ips;
			s.dport = c->server_port;
		}
		s.seq = mg_lg_rand(lc);
		mg_lg_pkt_build(pkts[i], &s);
		mg_lg_tx(lc, c->cport, pkts[i]);
	}
	lc->c.synflood_tx += n;
}
