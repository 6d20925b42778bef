/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP stage: new connections, connect attempts and their failover, the
 * rewrite of established segments, and flow expiry. See mg_proxy.h for the
 * model; the invariants kept here:
 * - a flow in SYN_SENT holds the client's SYN (cold->syn) and is on the
 *   SYN_SENT timeout list with deadline = attempt start + connect timeout;
 * - a flow's endpoint key is bound exactly when f->ep_ip != 0, and then it
 *   holds one SNAT port from pool snat_idx (in its cold part);
 * - the client sees either the SYN+ACK of the endpoint that accepted, or one
 *   RST when every attempt failed;
 * - a SYN-proxied flow (MG_FLOW_F_SYNPROXY) in SYN_SENT holds the client's
 *   ACK that returned the cookie (cold->held) besides the rebuilt SYN; its
 *   seq_delta is the cookie until the endpoint accepts, then the difference
 *   endpoint ISN - cookie, applied to every later segment.
 */
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <string.h>

#include "mg_proxy_priv.h"

static inline uint32_t
deadline(const struct mg_worker *w, uint8_t state)
{
	const struct mg_proxy_params *p = &w->sh->params;

	return w->now_ms + (state == MG_TCP_SYN_SENT ? p->connect_timeout_ms :
			    p->timeouts.ms[state]);
}

/* Give the flow's endpoint side back: key and SNAT port. */
static void
ep_unbind(struct mg_worker *w, uint32_t idx)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);
	struct mg_flow_key k;

	if (f->ep_ip == 0)
		return;
	mg_flow_ep_key(f, &k);
	mg_flow_unbind(w->ft, &k);
	mg_snat_put(w, f->ep_port_id, mg_flow_cold_get(w->ft, idx)->snat_idx, f->snat_port);
	f->ep_ip = 0;
}

static void
flow_end(struct mg_worker *w, uint32_t idx)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);

	/* A connect given up with no outcome (the client left) still ends the
	 * endpoint's pending connect in the control thread's books. */
	if (f->ep_ip != 0 && !(f->flags & MG_FLOW_F_CLOSED))
		mg_event(w, f->state == MG_TCP_SYN_SENT ? MG_EV_CONNECT_ABORTED : MG_EV_CLOSED,
			 f->ep_ip, f->ep_port, 0);
	mg_half_open_done(w, f);
	ep_unbind(w, idx);
	mg_flow_release(w->ft, idx);
	w->st.flows_closed++;
}

/*
 * Turn the client's SYN (or any segment) in @p m into a RST(+ACK) back to
 * its sender, in place, and send it out of the port it came in on.
 */
static void
rst_to_client(struct mg_worker *w, struct rte_mbuf *m)
{
	struct mg_pkt_info pi;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	struct rte_ether_addr mac;
	uint32_t a, seq;
	uint16_t p;

	if (mg_pkt_parse(m, &pi) != MG_PKT_TCP) {
		rte_pktmbuf_free(m);
		return;
	}
	eth = mg_pkt_eth(m);
	ip = mg_pkt_ip(m, &pi);
	th = mg_pkt_tcp(m, &pi);
	mac = eth->src_addr;
	eth->dst_addr = mac;
	eth->src_addr = w->sh->ports[m->port].mac;
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*th));
	ip->packet_id = 0;
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	p = th->src_port;
	th->src_port = th->dst_port;
	th->dst_port = p;
	seq = rte_be_to_cpu_32(th->sent_seq) + pi.payload_len +
	      ((pi.tcp_flags & (MG_TCP_SYN | MG_TCP_FIN)) ? 1 : 0);
	if (pi.tcp_flags & MG_TCP_ACK) {
		/* RFC 793: a RST answering an ACK takes its sequence from that ACK. */
		th->sent_seq = th->recv_ack;
		th->recv_ack = 0;
		th->tcp_flags = MG_TCP_RST;
	} else {
		th->sent_seq = 0;
		th->recv_ack = rte_cpu_to_be_32(seq);
		th->tcp_flags = MG_TCP_RST | MG_TCP_ACK;
	}
	th->data_off = (sizeof(*th) / 4) << 4;
	th->rx_win = 0;
	th->tcp_urp = 0;
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - (pi.l4_off + sizeof(*th)));
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	mg_tx(w, m->port, m);
}

/* Every attempt failed (or none was possible): RST the client, end the flow. */
static void
fail_client(struct mg_worker *w, uint32_t idx)
{
	struct mg_flow_cold *c = mg_flow_cold_get(w->ft, idx);
	struct rte_mbuf *syn = c->syn;

	/* A SYN-proxied client is established with us: its RST must carry our
	 * next sequence number, which its held ACK acknowledges. */
	if (c->held != NULL) {
		syn = c->held;
		c->held = NULL;
	} else {
		c->syn = NULL;
	}
	w->st.connect_failed++;
	if (syn != NULL)
		rst_to_client(w, syn);
	flow_end(w, idx);
}

/*
 * Send the kept SYN to the next endpoint by priority, skipping those tried.
 * Ends the flow (RST to the client) when no attempt is left. @p svc is the
 * flow's service when the caller just looked it up in this loop's table,
 * else NULL.
 */
static void
connect_next(struct mg_worker *w, uint32_t idx, const struct mg_lb_svc *svc)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);
	struct mg_flow_cold *c = mg_flow_cold_get(w->ft, idx);
	const struct mg_proxy_shared *sh = w->sh;
	uint32_t max = RTE_MIN(sh->params.max_attempts, (uint32_t)MG_FLOW_MAX_ATTEMPTS);
	bool unresolved = false, counted = false;

	if (svc == NULL)
		svc = mg_lb_lookup(w->lb, f->vip, f->vport);

	while (svc != NULL && f->attempts < max) {
		const struct mg_lb_ep *ep = mg_lb_pick(w->lb, svc, mg_rand(w), c->tried,
						       f->attempts);
		struct mg_pkt_info pi;
		struct rte_mbuf *m;
		struct mg_flow_key k;
		uint16_t sport;

		if (ep == NULL)
			break;
		c->tried[f->attempts++] = ep->id;
		if (!mg_neigh_mac(sh->neigh, ep->nh, &f->ep_mac)) {
			w->st.drop[MG_DROP_NEIGH_UNRESOLVED]++;
			unresolved = true;
			continue;
		}
		if (mg_snat_pick(w, ep, &sport) < 0) {
			w->st.drop[MG_DROP_FLOW_FULL]++;
			counted = true;
			break;
		}
		c->snat_idx = ep->snat_idx;
		f->snat_ip = sh->snat_ips[ep->snat_idx];
		f->snat_port = sport;
		f->ep_ip = ep->ip;
		f->ep_port = ep->port;
		f->ep_port_id = (uint8_t)ep->port_id;
		mg_pkt_nat_delta(f->client_ip, f->client_port, f->vip, f->vport, f->snat_ip,
				 f->snat_port, f->ep_ip, f->ep_port, &f->csum_ip, &f->csum_tcp);
		mg_flow_ep_key(f, &k);
		if (mg_flow_bind(w->ft, &k, idx, MG_TCP_DIR_REPLY) < 0) {
			ep_unbind(w, idx);
			w->st.drop[MG_DROP_FLOW_FULL]++;
			counted = true;
			break;
		}
		m = rte_pktmbuf_copy(c->syn, w->mp, 0, UINT32_MAX);
		if (m == NULL) {
			/* No mbuf now: the connect timeout will try again. */
			w->st.drop[MG_DROP_NOMBUF]++;
			f->attempts--;
			ep_unbind(w, idx);
			mg_flow_timer_set(w->ft, idx, MG_TCP_SYN_SENT, deadline(w, MG_TCP_SYN_SENT));
			return;
		}
		struct rte_ether_hdr *eth = mg_pkt_eth(m);

		mg_pkt_info_accepted_tcp(m, &pi);
		eth->src_addr = sh->ports[f->ep_port_id].mac;
		eth->dst_addr = f->ep_mac;
		mg_pkt_nat_tcp(mg_pkt_ip(m, &pi), mg_pkt_tcp(m, &pi), f->snat_ip, f->snat_port,
			       f->ep_ip, f->ep_port);
		if (f->attempts > 1)
			w->st.connect_retry++;
		c->syn_tsc = w->now_tsc;
		f->flags |= MG_FLOW_F_SYN_SENT;
		f->state = MG_TCP_SYN_SENT;
		mg_flow_timer_set(w->ft, idx, MG_TCP_SYN_SENT, deadline(w, MG_TCP_SYN_SENT));
		mg_tx(w, f->ep_port_id, m);
		mg_event(w, MG_EV_CONNECT_START, f->ep_ip, f->ep_port, 0);
		return;
	}
	if (unresolved && !(f->flags & MG_FLOW_F_SYN_SENT)) {
		/*
		 * Nothing was sent: every next hop is still unresolved (just
		 * started, or ARP lost). Drop the client's SYN quietly; its
		 * retransmission will find the neighbours resolved.
		 */
		flow_end(w, idx);
		return;
	}
	/* Refused before any SYN left: no eligible endpoint at all (every one
	 * at its circuit-breaker limit, drained, or the service gone). */
	if (!(f->flags & MG_FLOW_F_SYN_SENT) && !counted)
		w->st.drop[MG_DROP_NO_ENDPOINT]++;
	fail_client(w, idx);
}

/* Turn the endpoint's stray ACK @p m into our RST (seq = its ACK), in place. */
static void
rst_to_endpoint(struct mg_worker *w, struct rte_mbuf *m, const struct mg_flow *f)
{
	struct mg_pkt_info pi;
	struct rte_ether_hdr *eth = mg_pkt_eth(m);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	if (mg_pkt_parse(m, &pi) != MG_PKT_TCP) {
		rte_pktmbuf_free(m);
		return;
	}
	ip = mg_pkt_ip(m, &pi);
	th = mg_pkt_tcp(m, &pi);
	eth->dst_addr = f->ep_mac;
	eth->src_addr = w->sh->ports[f->ep_port_id].mac;
	ip->src_addr = f->snat_ip;
	ip->dst_addr = f->ep_ip;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*th));
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = f->snat_port;
	th->dst_port = f->ep_port;
	th->sent_seq = th->recv_ack;
	th->recv_ack = 0;
	th->tcp_flags = MG_TCP_RST;
	th->data_off = (sizeof(*th) / 4) << 4;
	th->rx_win = 0;
	th->tcp_urp = 0;
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - (pi.l4_off + sizeof(*th)));
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	mg_tx(w, f->ep_port_id, m);
}

/* Send the kept SYN to the flow's current endpoint again (no new attempt). */
static void
resend_syn(struct mg_worker *w, uint32_t idx)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);
	struct mg_flow_cold *c = mg_flow_cold_get(w->ft, idx);
	struct rte_mbuf *m = rte_pktmbuf_copy(c->syn, w->mp, 0, UINT32_MAX);
	struct mg_pkt_info pi;

	if (m == NULL) {
		w->st.drop[MG_DROP_NOMBUF]++;
		return; /* the connect timeout takes over */
	}
	mg_pkt_info_accepted_tcp(m, &pi);
	mg_pkt_eth(m)->src_addr = w->sh->ports[f->ep_port_id].mac;
	mg_pkt_eth(m)->dst_addr = f->ep_mac;
	mg_pkt_nat_tcp(mg_pkt_ip(m, &pi), mg_pkt_tcp(m, &pi), f->snat_ip, f->snat_port,
		       f->ep_ip, f->ep_port);
	mg_tx(w, f->ep_port_id, m);
}

/* The endpoint refused or could not be reached: report, then try the next. */
static void
connect_failed(struct mg_worker *w, uint32_t idx, uint8_t ev)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);

	mg_event(w, ev, f->ep_ip, f->ep_port, 0);
	ep_unbind(w, idx);
	connect_next(w, idx, NULL);
}

/*
 * A flow for the client of segment @p m (a SYN, or the ACK that returned a
 * cookie), bound by its client key; MG_FLOW_NONE when the table is full, and
 * then the client got a RST.
 */
static uint32_t
open_flow(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	const struct rte_ipv4_hdr *ip = mg_pkt_ip(m, pi);
	const struct rte_tcp_hdr *th = mg_pkt_tcp(m, pi);
	struct mg_flow_key k;
	struct mg_flow *f;
	uint32_t idx;

	idx = mg_flow_alloc(w->ft);
	if (idx == MG_FLOW_NONE) {
		w->st.drop[MG_DROP_FLOW_FULL]++;
		rst_to_client(w, m);
		return MG_FLOW_NONE;
	}
	f = mg_flow_get(w->ft, idx);
	f->client_ip = ip->src_addr;
	f->vip = ip->dst_addr;
	f->client_port = th->src_port;
	f->vport = th->dst_port;
	f->client_mac = mg_pkt_eth(m)->src_addr;
	f->client_port_id = (uint8_t)m->port;
	mg_flow_key_set(&k, f->client_ip, f->vip, f->client_port, f->vport);
	if (mg_flow_bind(w->ft, &k, idx, MG_TCP_DIR_ORIG) < 0) {
		mg_flow_release(w->ft, idx);
		w->st.drop[MG_DROP_FLOW_FULL]++;
		rst_to_client(w, m);
		return MG_FLOW_NONE;
	}
	w->st.flows_new++;
	f->state = MG_TCP_SYN_SENT;
	return idx;
}

/* A client's SYN to a VIP: a flow, a cookie, or a drop (mg_proxy_syn.c). */
static void
syn_input(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	const struct rte_ipv4_hdr *ip = mg_pkt_ip(m, pi);
	const struct rte_tcp_hdr *th = mg_pkt_tcp(m, pi);
	const struct mg_lb_svc *svc = mg_lb_lookup(w->lb, ip->dst_addr, th->dst_port);
	uint32_t idx;

	if (svc == NULL) {
		mg_drop(w, m, MG_DROP_NO_SERVICE);
		return;
	}
	switch (mg_syn_admit(w, ip->src_addr, ip->dst_addr, th->dst_port)) {
	case MG_SYN_FLOW:
		break;
	case MG_SYN_COOKIE:
		mg_syncookie_answer(w, m, pi);
		return;
	default:
		mg_drop(w, m, MG_DROP_HALF_OPEN);
		return;
	}
	idx = open_flow(w, m, pi);
	if (idx == MG_FLOW_NONE)
		return;
	mg_half_open_add(w, mg_flow_get(w->ft, idx));
	mg_flow_cold_get(w->ft, idx)->syn = m;
	connect_next(w, idx, svc);
}

/*
 * A pure ACK for no flow: the third segment of a cookie handshake? Only
 * while this worker has been sending cookies, and only to a service.
 * Returns false when it is not a cookie's business (the caller drops it).
 */
static bool
synproxy_open(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	const struct rte_ipv4_hdr *ip = mg_pkt_ip(m, pi);
	const struct rte_tcp_hdr *th = mg_pkt_tcp(m, pi);
	struct rte_mbuf *syn;
	struct mg_flow *f;
	uint32_t idx;
	uint16_t mss;

	if (w->sh->params.syn_cookies == MG_SYNCOOKIES_OFF || !w->cookies_sent ||
	    w->now_ms - w->cookie_sent_ms > MG_SYNCOOKIE_ACCEPT_MS ||
	    mg_lb_lookup(w->lb, ip->dst_addr, th->dst_port) == NULL)
		return false;
	mss = mg_syncookie_ack(w, m, pi);
	if (mss == 0) {
		mg_drop(w, m, MG_DROP_SYNCOOKIE);
		return true;
	}
	syn = mg_synproxy_syn(w, m, pi, mss);
	if (syn == NULL) {
		mg_drop(w, m, MG_DROP_NOMBUF);
		return true;
	}
	idx = open_flow(w, m, pi);
	if (idx == MG_FLOW_NONE) {
		rte_pktmbuf_free(syn);
		return true;
	}
	w->st.syncookies_ok++;
	f = mg_flow_get(w->ft, idx);
	f->flags |= MG_FLOW_F_SYNPROXY;
	f->seq_delta = rte_be_to_cpu_32(th->recv_ack) - 1;     /* the cookie, for now */
	mg_flow_cold_get(w->ft, idx)->syn = syn;
	mg_flow_cold_get(w->ft, idx)->held = m;
	connect_next(w, idx, NULL);
	return true;
}

/* A SYN-proxied client's acknowledgment, shifted into the endpoint's space. */
static inline void
ack_shift(struct rte_tcp_hdr *th, uint32_t delta)
{
	rte_be32_t old = th->recv_ack;

	th->recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(old) + delta);
	th->cksum = mg_csum_update32(th->cksum, old, th->recv_ack);
}

/* The endpoint's sequence number, shifted into the cookie's space. */
static inline void
seq_shift(struct rte_tcp_hdr *th, uint32_t delta)
{
	rte_be32_t old = th->sent_seq;

	th->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(old) - delta);
	th->cksum = mg_csum_update32(th->cksum, old, th->sent_seq);
}

/*
 * A RST moves a flow to CLOSE with no look at its sequence number (meshgate
 * tracks none), so a blind RST from off the path would end a live connection
 * once it idled past the close timeout. The endpoints check a RST's sequence
 * number (RFC 5961) and drop such a one silently. So a flow remembers the
 * state a RST ended, and:
 * - any later segment but a RST or SYN, from either side, proves the
 *   connection alive: the flow goes back to that state (rst_revive);
 * - at the close timeout, before the flow is forgotten, the RST's receiver
 *   gets one probe: an ACK with the RST's sequence number (rst_probe). A live
 *   connection finds it out of window and answers with an ACK, which revives
 *   the flow; a closed one answers with a RST, and the flow ends one close
 *   timeout later.
 * After a genuine RST a segment still in flight may revive a flow too: the
 * side that closed answers it with a RST, and the flow closes again.
 */
static inline void
rst_revive(struct mg_flow *f, struct mg_tcp_step *st, uint8_t flags)
{
	if (unlikely(f->state == MG_TCP_CLOSE) && f->rst_from != 0 &&
	    !(flags & (MG_TCP_RST | MG_TCP_SYN))) {
		st->state = f->rst_from & MG_FLOW_RST_STATE;
		f->rst_from = 0;
	}
}

/* A RST is ending flow @p idx's connection: note who received it and its sequence number. */
static inline void
rst_note(struct mg_worker *w, uint32_t idx, struct mg_flow *f, const struct rte_tcp_hdr *th,
	 bool from_ep)
{
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);

	if (f->state < MG_TCP_ESTABLISHED || f->state > MG_TCP_LAST_ACK)
		return;
	if (from_ep && (f->flags & MG_FLOW_F_SYNPROXY))
		seq -= f->seq_delta;
	f->rst_from = f->state | (from_ep ? MG_FLOW_RST_FROM_EP : 0);
	mg_flow_cold_get(w->ft, idx)->rst_seq = seq;
}

/* The probe of rst_revive's comment, to the receiver of the RST that closed flow @p idx. */
static void
rst_probe(struct mg_worker *w, uint32_t idx)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);
	bool to_client = f->rst_from & MG_FLOW_RST_FROM_EP;
	uint16_t port_id = to_client ? f->client_port_id : f->ep_port_id;
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);

	if (m == NULL || mg_pkt_tcp_build(m, &w->sh->ports[port_id].mac,
					  to_client ? &f->client_mac : &f->ep_mac,
					  to_client ? f->vip : f->snat_ip,
					  to_client ? f->client_ip : f->ep_ip,
					  to_client ? f->vport : f->snat_port,
					  to_client ? f->client_port : f->ep_port,
					  mg_flow_cold_get(w->ft, idx)->rst_seq, 0, MG_TCP_ACK, 0) < 0) {
		rte_pktmbuf_free(m);
		w->st.drop[MG_DROP_NOMBUF]++;
		return;
	}
	m->port = port_id;
	w->st.rst_probes++;
	mg_tx(w, port_id, m);
}

/* Apply a state step and keep the flow's timer in line with it. */
static inline void
flow_step(struct mg_worker *w, uint32_t idx, struct mg_flow *f, struct mg_tcp_step st)
{
	if (st.state != f->state) {
		if (st.state > MG_TCP_SYN_RECV)
			mg_half_open_done(w, f);
		/* Closed both ways or reset: the endpoint's connection is over for
		 * the circuit breaker, though the flow lingers in TIME_WAIT. */
		if ((st.state == MG_TCP_TIME_WAIT || st.state == MG_TCP_CLOSE) &&
		    f->ep_ip != 0 && !(f->flags & MG_FLOW_F_CLOSED)) {
			f->flags |= MG_FLOW_F_CLOSED;
			mg_event(w, f->state == MG_TCP_SYN_SENT ? MG_EV_CONNECT_ABORTED : MG_EV_CLOSED,
				 f->ep_ip, f->ep_port, 0);
		}
		f->state = st.state;
		mg_flow_timer_set(w->ft, idx, st.state, deadline(w, st.state));
	} else {
		mg_flow_touch(f, deadline(w, st.state));
	}
	f->fin_dir = st.fin_dir;
}

/* Rewrite a client's segment toward the flow's endpoint and send it. */
static inline void
to_endpoint(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
	    const struct mg_flow *f)
{
	struct rte_ether_hdr *eth = mg_pkt_eth(m);
	struct rte_tcp_hdr *th = mg_pkt_tcp(m, pi);

	if (unlikely(f->flags & MG_FLOW_F_SYNPROXY) && (pi->tcp_flags & MG_TCP_ACK))
		ack_shift(th, f->seq_delta);
	eth->src_addr = w->sh->ports[f->ep_port_id].mac;
	eth->dst_addr = f->ep_mac;
	mg_pkt_nat_tcp_delta(mg_pkt_ip(m, pi), th, f->snat_ip, f->snat_port, f->ep_ip, f->ep_port,
			     f->csum_ip, f->csum_tcp);
	mg_tx(w, f->ep_port_id, m);
}

/*
 * A segment of a SYN-proxied client while its endpoint is being connected.
 * The client believes itself established: it may send its first data, which
 * is kept in place of the bare ACK (the endpoint gets it as the handshake's
 * last segment); anything else waits for the client's retransmission. A RST
 * ends the flow (and the endpoint's half-open connection).
 */
static void
synproxy_pending(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
		 uint32_t idx)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);
	struct mg_flow_cold *c = mg_flow_cold_get(w->ft, idx);
	const struct rte_tcp_hdr *th = mg_pkt_tcp(m, pi);
	struct mg_pkt_info hpi;

	if (pi->tcp_flags & MG_TCP_RST) {
		if (f->ep_ip != 0 && (f->flags & MG_FLOW_F_SYN_SENT)) {
			struct rte_tcp_hdr *t = mg_pkt_tcp(m, pi);
			uint16_t ow, nw;        /* data offset + flags, as one checksum word */
			struct mg_pkt_info rpi = *pi;

			/* Its ACK is in the cookie's space: send a bare RST. */
			memcpy(&ow, &t->data_off, 2);
			t->tcp_flags = MG_TCP_RST;
			memcpy(&nw, &t->data_off, 2);
			t->cksum = mg_csum_update16(t->cksum, ow, nw);
			t->cksum = mg_csum_update32(t->cksum, t->recv_ack, 0);
			t->recv_ack = 0;
			rpi.tcp_flags = MG_TCP_RST;
			to_endpoint(w, m, &rpi, f);
		} else {
			rte_pktmbuf_free(m);
		}
		flow_end(w, idx);
		return;
	}
	if (c->held != NULL && pi->payload_len > 0 &&
	    !(pi->tcp_flags & (MG_TCP_SYN | MG_TCP_FIN)) &&
	    mg_pkt_parse(c->held, &hpi) == MG_PKT_TCP && hpi.payload_len < pi->payload_len &&
	    mg_pkt_tcp(c->held, &hpi)->sent_seq == th->sent_seq) {
		rte_pktmbuf_free(c->held);
		c->held = m;
		return;
	}
	mg_drop(w, m, MG_DROP_SYNPROXY_WAIT);
}

/*
 * The endpoint accepted a SYN-proxied connection (its SYN+ACK is @p m): from
 * now on its sequence numbers are shifted onto the cookie's. The client's
 * held ACK completes the endpoint's handshake; the SYN+ACK goes no further.
 */
static void
synproxy_accepted(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
		  uint32_t idx)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);
	struct mg_flow_cold *c = mg_flow_cold_get(w->ft, idx);
	struct rte_mbuf *a = c->held;
	struct mg_pkt_info api;
	struct mg_tcp_step st;

	f->seq_delta = rte_be_to_cpu_32(mg_pkt_tcp(m, pi)->sent_seq) - f->seq_delta;
	rte_pktmbuf_free(m);
	c->held = NULL;
	flow_step(w, idx, f, mg_tcp_next(f->state, f->fin_dir, MG_TCP_DIR_REPLY,
					 MG_TCP_SYN | MG_TCP_ACK));
	if (a == NULL || mg_pkt_parse(a, &api) != MG_PKT_TCP) {
		/* Cannot happen (the ACK was validated when kept): the client's
		 * next segment will complete the endpoint's handshake. */
		rte_pktmbuf_free(a);
		return;
	}
	st = mg_tcp_next(f->state, f->fin_dir, MG_TCP_DIR_ORIG, api.tcp_flags);
	if (st.valid)
		flow_step(w, idx, f, st);
	to_endpoint(w, a, &api, f);
}

static void
from_client(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
	    uint32_t idx)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);
	uint8_t flags = pi->tcp_flags;
	struct mg_tcp_step st;

	if (unlikely(f->state == MG_TCP_SYN_SENT && (f->flags & MG_FLOW_F_SYNPROXY))) {
		synproxy_pending(w, m, pi, idx);
		return;
	}
	if (f->state == MG_TCP_SYN_SENT && (flags & MG_TCP_SYN)) {
		mg_drop(w, m, MG_DROP_SYN_RETRANSMIT);
		return;
	}
	if ((f->state == MG_TCP_TIME_WAIT || f->state == MG_TCP_CLOSE) &&
	    (flags & (MG_TCP_SYN | MG_TCP_ACK | MG_TCP_RST)) == MG_TCP_SYN) {
		/* The client reuses the port: forget the old flow, start anew. */
		flow_end(w, idx);
		syn_input(w, m, pi);
		return;
	}
	st = mg_tcp_next_fast(f->state, f->fin_dir, MG_TCP_DIR_ORIG, flags);
	if (!st.valid || f->ep_ip == 0) {
		mg_drop(w, m, MG_DROP_FLOW_STATE);
		return;
	}
	rst_revive(f, &st, flags);
	if (unlikely(st.state == MG_TCP_CLOSE) && st.state != f->state)
		rst_note(w, idx, f, mg_pkt_tcp(m, pi), false);
	if (f->state == MG_TCP_SYN_SENT) {
		/* Client gave up (RST) while we were connecting. */
		struct rte_ether_hdr *eth = mg_pkt_eth(m);

		eth->src_addr = w->sh->ports[f->ep_port_id].mac;
		eth->dst_addr = f->ep_mac;
		mg_pkt_nat_tcp(mg_pkt_ip(m, pi), mg_pkt_tcp(m, pi), f->snat_ip, f->snat_port,
			       f->ep_ip, f->ep_port);
		mg_tx(w, f->ep_port_id, m);
		flow_end(w, idx);
		return;
	}
	flow_step(w, idx, f, st);
	to_endpoint(w, m, pi, f);
}

static void
from_endpoint(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
	      uint32_t idx)
{
	struct mg_flow *f = mg_flow_get(w->ft, idx);
	uint8_t flags = pi->tcp_flags;
	struct mg_tcp_step st;

	if (f->state == MG_TCP_SYN_SENT) {
		if ((flags & (MG_TCP_SYN | MG_TCP_ACK | MG_TCP_RST)) == (MG_TCP_SYN | MG_TCP_ACK)) {
			struct mg_flow_cold *c = mg_flow_cold_get(w->ft, idx);
			uint64_t us = (w->now_tsc - c->syn_tsc) / w->tsc_per_us;

			w->st.connect_ok++;
			mg_event(w, MG_EV_CONNECT_OK, f->ep_ip, f->ep_port, (uint32_t)us);
			rte_pktmbuf_free(c->syn);
			c->syn = NULL;
			if (f->flags & MG_FLOW_F_SYNPROXY) {
				synproxy_accepted(w, m, pi, idx);
				return;
			}
		} else if (flags & MG_TCP_RST) {
			w->st.connect_refused++;
			rte_pktmbuf_free(m);
			connect_failed(w, idx, MG_EV_CONNECT_REFUSED);
			return;
		} else if (flags & MG_TCP_ACK) {
			/* An ACK to our SYN: the endpoint still holds this 4-tuple
			 * from an older connection (TIME_WAIT). Answer as a TCP
			 * client does (RFC 793: RST with seq = its ACK), which
			 * clears it, and send the SYN again. */
			rst_to_endpoint(w, m, f);
			resend_syn(w, idx);
			return;
		} else {
			mg_drop(w, m, MG_DROP_FLOW_STATE);
			return;
		}
	}
	st = mg_tcp_next_fast(f->state, f->fin_dir, MG_TCP_DIR_REPLY, flags);
	if (!st.valid) {
		mg_drop(w, m, MG_DROP_FLOW_STATE);
		return;
	}
	rst_revive(f, &st, flags);
	if (unlikely(st.state == MG_TCP_CLOSE) && st.state != f->state)
		rst_note(w, idx, f, mg_pkt_tcp(m, pi), true);
	if ((flags & MG_TCP_RST) && f->state >= MG_TCP_ESTABLISHED &&
	    f->state < MG_TCP_TIME_WAIT) {
		w->st.resets++;
		mg_event(w, MG_EV_RESET, f->ep_ip, f->ep_port, 0);
	}
	flow_step(w, idx, f, st);
	struct rte_ether_hdr *eth = mg_pkt_eth(m);
	struct rte_tcp_hdr *th = mg_pkt_tcp(m, pi);

	if (unlikely(f->flags & MG_FLOW_F_SYNPROXY))
		seq_shift(th, f->seq_delta);
	eth->src_addr = w->sh->ports[f->client_port_id].mac;
	eth->dst_addr = f->client_mac;
	mg_pkt_nat_tcp_delta(mg_pkt_ip(m, pi), th, f->vip, f->vport, f->client_ip, f->client_port,
			     (uint16_t)~f->csum_ip, (uint16_t)~f->csum_tcp);
	mg_tx(w, f->client_port_id, m);
}

/*
 * An answer to one of the control thread's health-check SYNs? Those leave
 * from a source port outside every SNAT pool, so they never collide with a
 * flow; the answer must acknowledge the keyed ISN. A SYN-ACK means the
 * endpoint listens: report it and RST the endpoint's half-open connection
 * (no TIME_WAIT anywhere). A RST means nothing listens.
 */
static bool
probe_answer(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	const struct mg_proxy_shared *sh = w->sh;
	uint8_t fl = pi->tcp_flags & (MG_TCP_SYN | MG_TCP_ACK | MG_TCP_RST);
	const struct rte_ipv4_hdr *ip;
	const struct rte_tcp_hdr *th;

	if (sh->probe_port == 0 ||
	    (fl != (MG_TCP_SYN | MG_TCP_ACK) && fl != (MG_TCP_RST | MG_TCP_ACK)))
		return false;
	ip = mg_pkt_ip(m, pi);
	th = mg_pkt_tcp(m, pi);
	if (th->dst_port != sh->probe_port ||
	    rte_be_to_cpu_32(th->recv_ack) != mg_probe_isn(sh, ip->src_addr, th->src_port) + 1)
		return false;
	w->st.probe_replies++;
	mg_event(w, (fl & MG_TCP_SYN) ? MG_EV_PROBE_OK : MG_EV_PROBE_FAIL, ip->src_addr,
		 th->src_port, 0);
	if (fl & MG_TCP_SYN)
		rst_to_client(w, m);
	else
		rte_pktmbuf_free(m);
	return true;
}

void
mg_proxy_tcp(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
	     uint32_t ref)
{
	if (ref == MG_FLOW_NONE) {
		uint8_t fl = pi->tcp_flags & (MG_TCP_SYN | MG_TCP_ACK | MG_TCP_RST | MG_TCP_FIN);

		if (fl == MG_TCP_SYN) {
			if (unlikely(mg_proxy_src_martian(w->sh, m->port, mg_pkt_ip(m, pi)->src_addr)))
				mg_drop(w, m, MG_DROP_IP_SRC);
			else
				syn_input(w, m, pi);
		} else if (fl == MG_TCP_ACK && synproxy_open(w, m, pi))
			return;
		else if (!probe_answer(w, m, pi))
			mg_drop(w, m, MG_DROP_NO_FLOW);
		return;
	}
	if (MG_FLOW_REF_DIR(ref) == MG_TCP_DIR_ORIG)
		from_client(w, m, pi, MG_FLOW_REF_IDX(ref));
	else
		from_endpoint(w, m, pi, MG_FLOW_REF_IDX(ref));
}

void
mg_proxy_icmp_error(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
		    bool handed_off)
{
	const struct rte_ipv4_hdr *q = mg_pkt_icmp_quoted(m, pi);
	const struct rte_tcp_hdr *qt;
	struct mg_flow_key k;
	uint32_t ref;

	if (q == NULL || pi->icmp_type != MG_ICMP_DEST_UNREACH) {
		mg_drop(w, m, MG_DROP_ICMP_TYPE);
		return;
	}
	qt = (const struct rte_tcp_hdr *)((const uint8_t *)q + rte_ipv4_hdr_len(q));
	/* The quote is our SYN toward the endpoint: snat -> endpoint. */
	if (!handed_off && w->sh->n_workers > 1) {
		const struct mg_proxy_port *pp = &w->sh->ports[m->port];
		/* On an RSS port the owner is where the endpoint's replies go. */
		uint16_t owner = pp->rss ?
			mg_owner_rss(pp, w->sh->n_workers, q->dst_addr, q->src_addr, qt->dst_port,
				     qt->src_port) :
			mg_owner_snat_port(w->sh->n_workers, qt->src_port);

		if (owner != w->id) {
			if (rte_ring_sp_enqueue(w->sh->handoff[w->id][owner], m) != 0)
				mg_drop(w, m, MG_DROP_RING_FULL);
			else
				w->st.handoff_out++;
			return;
		}
	}
	if (qt->src_port == w->sh->probe_port && w->sh->probe_port != 0) {
		/* A health-check SYN could not be delivered, if the quote is of one of
		 * ours: its keyed ISN, as a SYN-ACK must acknowledge (probe_answer). */
		if (rte_be_to_cpu_32(qt->sent_seq) != mg_probe_isn(w->sh, q->dst_addr, qt->dst_port)) {
			mg_drop(w, m, MG_DROP_NO_FLOW);
			return;
		}
		w->st.probe_replies++;
		mg_event(w, MG_EV_PROBE_FAIL, q->dst_addr, qt->dst_port, 0);
		rte_pktmbuf_free(m);
		return;
	}
	mg_flow_key_set(&k, q->dst_addr, q->src_addr, qt->dst_port, qt->src_port);
	ref = mg_flow_lookup(w->ft, &k);
	if (ref == MG_FLOW_NONE || MG_FLOW_REF_DIR(ref) != MG_TCP_DIR_REPLY ||
	    mg_flow_get(w->ft, MG_FLOW_REF_IDX(ref))->state != MG_TCP_SYN_SENT) {
		mg_drop(w, m, MG_DROP_NO_FLOW);
		return;
	}
	rte_pktmbuf_free(m);
	w->st.connect_unreach++;
	connect_failed(w, MG_FLOW_REF_IDX(ref), MG_EV_CONNECT_UNREACH);
}

void
mg_proxy_expire_cb(void *ctx, uint32_t idx)
{
	struct mg_worker *w = ctx;
	struct mg_flow *f = mg_flow_get(w->ft, idx);

	if (f->state == MG_TCP_SYN_SENT) {
		if (f->ep_ip != 0) {
			w->st.connect_timeout++;
			connect_failed(w, idx, MG_EV_CONNECT_TIMEOUT);
		} else {
			connect_next(w, idx, NULL); /* an attempt put off for want of mbufs */
		}
		return;
	}
	if (f->state == MG_TCP_CLOSE && f->rst_from != 0 && !(f->rst_from & MG_FLOW_RST_PROBED)) {
		/* Closed by a RST: is the connection really gone? (rst_revive) */
		rst_probe(w, idx);
		f->rst_from |= MG_FLOW_RST_PROBED;
		mg_flow_timer_set(w->ft, idx, MG_TCP_CLOSE, deadline(w, MG_TCP_CLOSE));
		return;
	}
	flow_end(w, idx);
}

void
mg_proxy_drain(struct mg_worker *w)
{
	for (uint32_t i = 0; i < w->ft->size; i++)
		if (mg_flow_get(w->ft, i)->state != MG_TCP_NONE)
			flow_end(w, i);
}
