/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_PROXY_PRIV_H
#define MG_PROXY_PRIV_H
/* Internal to lib/proxy: helpers shared by its files. */
#include <rte_ethdev.h>
#include "mg_proxy.h"
#include "mg_owner.h"

static inline void
mg_drop(struct mg_worker *w, struct rte_mbuf *m, enum mg_drop_reason r)
{
	w->st.drop[r]++;
	rte_pktmbuf_free(m);
}

/* Buffer a packet for TX on @p port_id; flushed at the end of the burst. */
static inline void
mg_tx(struct mg_worker *w, uint16_t port_id, struct rte_mbuf *m)
{
	struct mg_tx_buf *b = &w->tx[port_id];

	if (unlikely(b->n == MG_TX_BUF)) {
		uint16_t sent = rte_eth_tx_burst(port_id, w->id, b->pkts, b->n);

		w->st.tx += sent;
		for (uint16_t i = sent; i < b->n; i++)
			mg_drop(w, b->pkts[i], MG_DROP_TX_FULL);
		b->n = 0;
	}
	b->pkts[b->n++] = m;
	w->tx_pending |= 1u << port_id;
}

/*
 * A source address no host may send from toward us (RFC 1812 5.3.7): one of
 * the gateway's own addresses, or the directed broadcast of the receiving
 * port's subnet. mg_pkt_parse() already refused 0/8, 127/8 and 224/4 up.
 * Checked where a packet would make the gateway answer or open a flow.
 */
static inline bool
mg_proxy_src_martian(const struct mg_proxy_shared *sh, uint16_t port_id, uint32_t src)
{
	const struct mg_proxy_port *pp = &sh->ports[port_id];

	if (pp->prefix_len > 0 && pp->prefix_len < 31) {
		uint32_t host = rte_cpu_to_be_32(UINT32_MAX >> pp->prefix_len);

		if ((src & host) == host && ((src ^ pp->ip) & ~host) == 0)
			return true;
	}
	return mg_proxy_is_local(sh, src);
}

/* xorshift64*: a worker's own random numbers, no shared state. */
static inline uint32_t
mg_rand(struct mg_worker *w)
{
	uint64_t x = w->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return (uint32_t)((x * UINT64_C(2685821657736338717)) >> 32);
}

static inline void
mg_event(struct mg_worker *w, uint8_t type, uint32_t ip, uint16_t port, uint32_t value)
{
	struct mg_event ev = {
		.type = type, .worker = (uint8_t)w->id, .port = port, .ip = ip,
	};

	ev.value = value;
	if (rte_ring_sp_enqueue_elem(w->sh->events[w->id], &ev, sizeof(ev)) != 0)
		w->st.events_dropped++;
}

/* The worker whose queue receives ep -> snat segments on predictable-RSS port @p pp. */
static inline uint16_t
mg_owner_rss(const struct mg_proxy_port *pp, uint32_t n, uint32_t ep_ip, uint32_t snat_ip,
	     uint16_t ep_port, uint16_t snat_port)
{
	union rte_thash_tuple t;

	t.v4.src_addr = rte_be_to_cpu_32(ep_ip);
	t.v4.dst_addr = rte_be_to_cpu_32(snat_ip);
	t.v4.sport = rte_be_to_cpu_16(ep_port);
	t.v4.dport = rte_be_to_cpu_16(snat_port);
	return (uint16_t)((rte_softrss_be((uint32_t *)&t, RTE_THASH_V4_L4_LEN,
					  (const uint8_t *)pp->rss_key_be) & pp->reta_mask) % n);
}

void mg_proxy_tcp(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
		  uint32_t ref);
void mg_proxy_icmp_error(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
			 bool handed_off);
void mg_proxy_expire_cb(void *ctx, uint32_t idx);

/* A full-NAT source port toward @p ep (pool, or predictable RSS); 0 or -ENOSPC. */
int mg_snat_pick(struct mg_worker *w, const struct mg_lb_ep *ep, uint16_t *port_be);
/* Give it back (a no-op on predictable-RSS ports, which keep no pool). */
void mg_snat_put(struct mg_worker *w, uint16_t port_id, uint16_t snat_idx, uint16_t port_be);

/* SYN flood defence (mg_proxy_syn.c). */
enum mg_syn_verdict {
	MG_SYN_FLOW,    /**< open a flow */
	MG_SYN_COOKIE,  /**< answer with a cookie */
	MG_SYN_DROP,    /**< past a limit with cookies off */
};
/* What to do with a SYN from @p saddr to @p vip:@p vport (counts the limit hit). */
enum mg_syn_verdict mg_syn_admit(struct mg_worker *w, uint32_t saddr, uint32_t vip,
				 uint16_t vport);
/* Count flow @p f as half-open / no longer (idempotent). */
void mg_half_open_add(struct mg_worker *w, struct mg_flow *f);
void mg_half_open_done(struct mg_worker *w, struct mg_flow *f);
/* Turn the SYN @p m into our cookie SYN+ACK and send it back. */
void mg_syncookie_answer(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi);
/* The MSS of the cookie the ACK @p m returns, 0 when it holds none of ours. */
uint16_t mg_syncookie_ack(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi);
/* A new mbuf: the client's SYN rebuilt from its cookie ACK @p ack; NULL when out of mbufs. */
struct rte_mbuf *mg_synproxy_syn(struct mg_worker *w, struct rte_mbuf *ack,
				 const struct mg_pkt_info *pi, uint16_t mss);

#endif
