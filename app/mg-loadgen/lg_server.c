/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulated servers, stateless.
 *
 * A server never stores a connection: its initial sequence number is a
 * keyed hash of the client's (a SYN cookie, mg_lg_cookie), and every later
 * segment of the client carries, in its sequence number, how far the
 * connection has gone. With the configured request size Q and response size
 * R (both sides read the same configuration), a client with ISN c and the
 * server's ISN s = cookie(c) send:
 *   SYN          seq c                       -> SYN+ACK seq s, ack c+1
 *   ACK          seq c+1, ack s+1            (handshake: counted established)
 *   request      seq c+1, ack s+1, Q bytes, PSH
 *                -> response: R bytes in MSS-sized segments from seq s+1
 *   FIN          seq c+1+Q, ack s+1+R        -> FIN+ACK seq s+1+R, ack c+Q+2
 *   ACK          seq c+Q+2, ack s+R+2        (the last one: counted closed)
 * Each check recomputes s from the segment's own sequence number, so any
 * lcore can answer any connection and a segment that fits no step is
 * counted as bad. Data without PSH is flood traffic: counted, never
 * answered. Answers reuse the received mbuf (addresses swapped in place).
 */
#include <rte_ip.h>
#include <rte_tcp.h>

#include "lg.h"

bool
mg_lg_is_server(const struct mg_lg_lcore *lc, uint32_t ip)
{
	return ip - lc->cfg.server_ip0 < lc->cfg.n_server_ips;
}

static void
answer(struct mg_lg_lcore *lc, struct rte_mbuf *m, struct mg_lg_seg *s)
{
	uint16_t port = m->port;

	mg_lg_pkt_rewrite(m, s);
	mg_lg_tx(lc, port, m);
}

static void
respond(struct mg_lg_lcore *lc, struct rte_mbuf *m, struct mg_lg_seg *s, uint32_t len)
{
	uint16_t port = m->port;
	uint32_t off = 0, seq0 = s->seq;

	while (off < len) {
		uint32_t n = RTE_MIN(len - off, (uint32_t)MG_LG_MSS);
		struct rte_mbuf *r;

		s->seq = seq0 + off;
		s->payload = (uint16_t)n;
		s->flags = RTE_TCP_ACK_FLAG | (off + n == len ? RTE_TCP_PSH_FLAG : 0);
		if (m != NULL) {
			mg_lg_pkt_rewrite(m, s);
			r = m;
			m = NULL;
		} else {
			r = mg_lg_pkt_new(lc, s);
			if (r == NULL)
				return; /* the client times out and counts it */
		}
		lc->c.srv_resp_segs++;
		mg_lg_tx(lc, port, r);
		off += n;
	}
}

void
mg_lg_server_input(struct mg_lg_lcore *lc, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((uint8_t *)ip + rte_ipv4_hdr_len(ip));
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq), ack = rte_be_to_cpu_32(th->recv_ack);
	uint32_t hl = rte_ipv4_hdr_len(ip) + ((th->data_off >> 4) * 4u);
	uint32_t plen = rte_be_to_cpu_16(ip->total_length);
	uint32_t q = lc->cfg.req_size, r = lc->cfg.resp_size;
	uint8_t fl = th->tcp_flags;
	struct mg_lg_seg s;

	plen = plen > hl ? plen - hl : 0;
	s.src_mac = lc->mac[m->port];
	s.dst_mac = eth->src_addr;
	s.sip = rte_be_to_cpu_32(ip->dst_addr);
	s.dip = rte_be_to_cpu_32(ip->src_addr);
	s.sport = rte_be_to_cpu_16(th->dst_port);
	s.dport = rte_be_to_cpu_16(th->src_port);
	s.payload = 0;

	if (fl & RTE_TCP_RST_FLAG) {
		lc->c.srv_rst++;
		rte_pktmbuf_free(m);
		return;
	}
	if ((fl & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG) {
		lc->c.srv_syn++;
		s.seq = mg_lg_cookie(lc, seq);
		s.ack = seq + 1;
		s.flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG;
		answer(lc, m, &s);
		return;
	}
	if (!(fl & RTE_TCP_ACK_FLAG) || (fl & RTE_TCP_SYN_FLAG))
		goto bad;
	if (fl & RTE_TCP_FIN_FLAG) {
		uint32_t irs = mg_lg_cookie(lc, seq - 1 - q);

		if (plen != 0 || ack != irs + 1 + r)
			goto bad;
		lc->c.srv_fin++;
		s.seq = irs + 1 + r;
		s.ack = seq + 1;
		s.flags = RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG;
		answer(lc, m, &s);
		return;
	}
	if (plen > 0) {
		uint32_t irs = mg_lg_cookie(lc, seq - 1);

		if (!(fl & RTE_TCP_PSH_FLAG)) {
			lc->c.flood_rx++;
			rte_pktmbuf_free(m);
			return;
		}
		if (ack != irs + 1)
			goto bad;
		lc->c.srv_request++;
		s.seq = irs + 1;
		s.ack = seq + plen;
		respond(lc, m, &s, r);
		return;
	}
	/* A pure ACK: the handshake's, or the last one of the connection. */
	if (ack == mg_lg_cookie(lc, seq - 1) + 1)
		lc->c.srv_established++;
	else if (ack == mg_lg_cookie(lc, seq - q - 2) + r + 2)
		lc->c.srv_closed++;
	else
		goto bad;
	rte_pktmbuf_free(m);
	return;
bad:
	lc->c.srv_bad++;
	rte_pktmbuf_free(m);
}
