/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's input stage: classify a burst, answer ARP and ICMP echo,
 * hand packets that belong to another worker to their owner, and look the
 * TCP segments up in the flow table in one bulk call before the TCP stage
 * (mg_proxy_tcp.c) handles them one by one.
 */
#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "mg_proxy_priv.h"

static void
arp_input(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	struct rte_ether_hdr *eth = mg_pkt_eth(m);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, pi->l3_off);
	const struct mg_proxy_port *pp = &w->sh->ports[m->port];
	uint32_t sip = arp->arp_data.arp_sip, tip = arp->arp_data.arp_tip;
	struct mg_event ev = { .type = MG_EV_ARP, .worker = (uint8_t)w->id,
			       .port = m->port, .ip = sip };

	/* Learn from anything addressed to us; the control lcore decides. */
	if (mg_proxy_is_local(w->sh, tip) && sip != 0) {
		rte_memcpy(ev.mac, &arp->arp_data.arp_sha, RTE_ETHER_ADDR_LEN);
		if (rte_ring_sp_enqueue_elem(w->sh->events[w->id], &ev, sizeof(ev)) != 0)
			w->st.events_dropped++;
	}
	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    !mg_proxy_is_local(w->sh, tip)) {
		/* A reply to us was learnt above: consumed, not dropped. Any
		 * other (a gratuitous ARP, a reply to another host) is dropped. */
		if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY) &&
		    mg_proxy_is_local(w->sh, tip) && sip != 0)
			rte_pktmbuf_free(m);
		else
			mg_drop(w, m, MG_DROP_ARP_NOT_FOR_US);
		return;
	}
	/* Turn the request into the reply, in place. */
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = sip;
	arp->arp_data.arp_sha = pp->mac;
	arp->arp_data.arp_sip = tip;
	eth->dst_addr = arp->arp_data.arp_tha;
	eth->src_addr = pp->mac;
	w->st.arp_replies++;
	mg_tx(w, m->port, m);
}

static void
icmp_input(struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi,
	   bool handed_off)
{
	struct rte_ipv4_hdr *ip = mg_pkt_ip(m, pi);
	struct rte_icmp_hdr *icmp;
	struct rte_ether_hdr *eth;
	struct rte_ether_addr tmp;
	uint32_t a;

	if (pi->icmp_type != RTE_IP_ICMP_ECHO_REQUEST) {
		mg_proxy_icmp_error(w, m, pi, handed_off);
		return;
	}
	if (!mg_proxy_is_local(w->sh, ip->dst_addr)) {
		mg_drop(w, m, MG_DROP_IP_NOT_FOR_US);
		return;
	}
	if (unlikely(mg_proxy_src_martian(w->sh, m->port, ip->src_addr))) {
		mg_drop(w, m, MG_DROP_IP_SRC);
		return;
	}
	icmp = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, pi->l4_off);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = mg_csum_update16(icmp->icmp_cksum,
					    rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REQUEST << 8),
					    rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REPLY << 8));
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	eth = mg_pkt_eth(m);
	tmp = eth->src_addr;
	eth->src_addr = w->sh->ports[m->port].mac;
	eth->dst_addr = tmp;
	w->st.icmp_echo++;
	mg_tx(w, m->port, m);
}

/* The worker that owns a TCP segment, from its addresses alone. */
static inline uint16_t
tcp_owner(const struct mg_worker *w, struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	const struct rte_ipv4_hdr *ip = mg_pkt_ip(m, pi);
	const struct rte_tcp_hdr *th = mg_pkt_tcp(m, pi);
	uint32_t n = w->sh->n_workers;

	/* Predictable RSS brought it to its owner's queue (mg_snat_pick). */
	if (w->sh->ports[m->port].rss)
		return w->id;
	if (mg_proxy_is_local(w->sh, ip->dst_addr))
		return mg_owner_snat_port(n, th->dst_port);
	return mg_owner_client(n, ip->src_addr, th->src_port);
}

static inline void
handoff(struct mg_worker *w, uint16_t owner, struct rte_mbuf *m)
{
	if (rte_ring_sp_enqueue(w->sh->handoff[w->id][owner], m) != 0) {
		mg_drop(w, m, MG_DROP_RING_FULL);
		return;
	}
	w->st.handoff_out++;
}

void
mg_proxy_input(struct mg_worker *w, struct rte_mbuf **pkts, uint16_t n, bool handed_off)
{
	struct mg_pkt_info pi[MG_BURST];
	struct mg_flow_key keys[MG_BURST];
	const struct mg_flow_key *kp[MG_BURST];
	struct rte_mbuf *tcp[MG_BURST];
	uint32_t refs[MG_BURST];
	uint16_t nt = 0;

	if (handed_off)
		w->st.handoff_in += n;
	else
		w->st.rx += n;
	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct mg_pkt_info *p = &pi[nt];
		const struct rte_ether_hdr *eth;

		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		switch (mg_pkt_parse(m, p)) {
		case MG_PKT_ARP:
			arp_input(w, m, p);
			continue;
		case MG_PKT_ICMP:
			icmp_input(w, m, p, handed_off);
			continue;
		case MG_PKT_TCP:
			break;
		default:
			mg_drop(w, m, (enum mg_drop_reason)p->drop);
			continue;
		}
		eth = mg_pkt_eth(m);
		if (unlikely(!rte_is_same_ether_addr(&eth->dst_addr,
						     &w->sh->ports[m->port].mac))) {
			mg_drop(w, m, MG_DROP_L2_DST);
			continue;
		}
		if (!handed_off && w->sh->n_workers > 1) {
			uint16_t owner = tcp_owner(w, m, p);

			if (owner != w->id) {
				handoff(w, owner, m);
				continue;
			}
		}
		const struct rte_ipv4_hdr *ip = mg_pkt_ip(m, p);
		const struct rte_tcp_hdr *th = mg_pkt_tcp(m, p);

		mg_flow_key_set(&keys[nt], ip->src_addr, ip->dst_addr, th->src_port, th->dst_port);
		kp[nt] = &keys[nt];
		tcp[nt++] = m;
	}
	uint32_t key_changes = w->ft->key_changes;

	/* Also brings every found flow line in (the keys are checked there). */
	mg_flow_lookup_bulk(w->ft, kp, nt, refs);
	for (uint16_t i = 0; i < nt; i++) {
		uint32_t ref = refs[i];

		/* A segment before it in this burst made or ended a flow: the
		 * bulk lookup may be stale (two copies of a SYN would make two
		 * flows for one key, a reused index another flow's segment).
		 * A found flow that is live and still spells the key stands;
		 * anything else is looked up again. */
		if (unlikely(w->ft->key_changes != key_changes))
			ref = mg_flow_lookup_recheck(w->ft, kp[i], ref);
		mg_proxy_tcp(w, tcp[i], &pi[i], ref);
	}
}
