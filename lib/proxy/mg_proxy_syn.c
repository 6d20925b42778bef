/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SYN flood defence: half-open limits and SYN cookies (the model is in
 * mg_proxy.h, the cookie in mg_syncookie.h).
 *
 * A half-open flow costs a flow entry, a kept SYN (an mbuf) and a SYN sent
 * to an endpoint, for up to max_attempts x the connect timeout. A spoofed
 * flood would fill the table and the endpoints' own SYN queues with them.
 * So a SYN only opens a flow while three counts stay under their limits:
 * the worker's half-open flows, those of the client's address and those of
 * the service. The last two are kept in hashed buckets (4096 and 1024 per
 * worker, no allocation, no eviction); two addresses sharing a bucket share
 * its limit, which errs on the strict side, and the penalty for a legitimate
 * client caught there is a cookie, not a refusal.
 *
 * Past a limit the SYN is answered from the packet itself: the SYN is turned
 * into our SYN+ACK, its sequence number the cookie. The client's ACK brings
 * the cookie back and only then does the worker spend a flow on it
 * (mg_proxy_tcp.c, synproxy_open): a flood of spoofed SYNs costs one SipHash
 * and one transmitted packet each, and nothing reaches the endpoints.
 */
#include <rte_ip.h>
#include <rte_tcp.h>

#include "mg_proxy_priv.h"

static inline uint32_t
src_bucket(uint32_t ip)
{
	return (ip * 2654435761u) >> (32 - MG_HALF_OPEN_SRC_BITS);
}

static inline uint32_t
svc_bucket(uint32_t vip, uint16_t vport)
{
	return ((vip ^ ((uint32_t)vport * 0x9E3779B1u)) * 0x85EBCA6Bu) >> (32 - MG_HALF_OPEN_SVC_BITS);
}

void
mg_half_open_add(struct mg_worker *w, struct mg_flow *f)
{
	f->flags |= MG_FLOW_F_HALFOPEN;
	w->st.half_open++;
	w->half_open_src[src_bucket(f->client_ip)]++;
	w->half_open_svc[svc_bucket(f->vip, f->vport)]++;
}

void
mg_half_open_done(struct mg_worker *w, struct mg_flow *f)
{
	if (!(f->flags & MG_FLOW_F_HALFOPEN))
		return;
	f->flags &= ~MG_FLOW_F_HALFOPEN;
	w->st.half_open--;
	w->half_open_src[src_bucket(f->client_ip)]--;
	w->half_open_svc[svc_bucket(f->vip, f->vport)]--;
}

enum mg_syn_verdict
mg_syn_admit(struct mg_worker *w, uint32_t saddr, uint32_t vip, uint16_t vport)
{
	const struct mg_proxy_params *p = &w->sh->params;

	if (p->syn_cookies == MG_SYNCOOKIES_ALWAYS)
		return MG_SYN_COOKIE;
	if (p->max_half_open != 0 && w->st.half_open >= p->max_half_open)
		w->st.half_open_limit_worker++;
	else if (p->max_half_open_src != 0 &&
		 w->half_open_src[src_bucket(saddr)] >= p->max_half_open_src)
		w->st.half_open_limit_source++;
	else if (p->max_half_open_svc != 0 &&
		 w->half_open_svc[svc_bucket(vip, vport)] >= p->max_half_open_svc)
		w->st.half_open_limit_service++;
	else
		return MG_SYN_FLOW;
	return p->syn_cookies == MG_SYNCOOKIES_OFF ? MG_SYN_DROP : MG_SYN_COOKIE;
}

/* The TCP options of a validated segment, bounded by the first segment. */
static inline uint32_t
tcp_opt_len(const struct rte_mbuf *m, const struct mg_pkt_info *pi, const struct rte_tcp_hdr *th)
{
	uint32_t hlen = (uint32_t)(th->data_off >> 4) * 4;
	uint32_t avail = rte_pktmbuf_data_len(m) - pi->l4_off;

	return RTE_MIN(hlen, avail) - sizeof(*th);
}

static inline void
put_mss_option(struct rte_tcp_hdr *th, uint16_t mss)
{
	uint8_t *o = (uint8_t *)(th + 1);

	o[0] = 2;
	o[1] = 4;
	o[2] = (uint8_t)(mss >> 8);
	o[3] = (uint8_t)mss;
	th->data_off = ((sizeof(*th) + 4) / 4) << 4;
}

void
mg_syncookie_answer(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	const uint32_t need = pi->l4_off + sizeof(struct rte_tcp_hdr) + 4;
	struct rte_ether_hdr *eth = mg_pkt_eth(m);
	struct rte_ipv4_hdr *ip = mg_pkt_ip(m, pi);
	struct rte_tcp_hdr *th = mg_pkt_tcp(m, pi);
	uint32_t isn = rte_be_to_cpu_32(th->sent_seq), cookie, a;
	uint16_t mss, p;

	if (m->nb_segs != 1 || need > (uint32_t)m->buf_len - m->data_off) {
		mg_drop(w, m, MG_DROP_NOMBUF);
		return;
	}
	mss = mg_tcp_opt_mss((const uint8_t *)(th + 1), tcp_opt_len(m, pi, th));
	cookie = mg_syncookie_make(&w->sh->cookie_key, ip->src_addr, ip->dst_addr, th->src_port,
				   th->dst_port, isn, mss, w->now_ms);
	/* The SYN becomes our SYN+ACK, in place. */
	eth->dst_addr = eth->src_addr;
	eth->src_addr = w->sh->ports[m->port].mac;
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16(need - pi->l3_off);
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	p = th->src_port;
	th->src_port = th->dst_port;
	th->dst_port = p;
	th->sent_seq = rte_cpu_to_be_32(cookie);
	th->recv_ack = rte_cpu_to_be_32(isn + 1);
	th->tcp_flags = MG_TCP_SYN | MG_TCP_ACK;
	th->rx_win = rte_cpu_to_be_16(65535);
	th->tcp_urp = 0;
	put_mss_option(th, MG_SYNPROXY_MSS);
	m->data_len = (uint16_t)need;
	m->pkt_len = need;
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	w->cookie_sent_ms = w->now_ms;
	w->cookies_sent = true;
	w->st.syncookies_sent++;
	mg_tx(w, m->port, m);
}

uint16_t
mg_syncookie_ack(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	const struct rte_ipv4_hdr *ip = mg_pkt_ip(m, pi);
	const struct rte_tcp_hdr *th = mg_pkt_tcp(m, pi);

	return mg_syncookie_check(&w->sh->cookie_key, ip->src_addr, ip->dst_addr, th->src_port,
				  th->dst_port, rte_be_to_cpu_32(th->sent_seq) - 1,
				  rte_be_to_cpu_32(th->recv_ack) - 1, w->now_ms);
}

struct rte_mbuf *
mg_synproxy_syn(struct mg_worker *w, struct rte_mbuf *ack, const struct mg_pkt_info *pi,
		uint16_t mss)
{
	const uint32_t len = pi->l4_off + sizeof(struct rte_tcp_hdr) + 4;
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	char *d;

	if (m == NULL)
		return NULL;
	d = rte_pktmbuf_append(m, (uint16_t)len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	/* The client's own SYN as it would have been, options but the MSS aside. */
	rte_memcpy(d, rte_pktmbuf_mtod(ack, const char *), pi->l4_off + sizeof(*th));
	m->port = ack->port;
	ip = (struct rte_ipv4_hdr *)(d + pi->l3_off);
	th = (struct rte_tcp_hdr *)(d + pi->l4_off);
	ip->total_length = rte_cpu_to_be_16(len - pi->l3_off);
	ip->packet_id = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) - 1);
	th->recv_ack = 0;
	th->tcp_flags = MG_TCP_SYN;
	th->tcp_urp = 0;
	put_mss_option(th, mss);
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}
