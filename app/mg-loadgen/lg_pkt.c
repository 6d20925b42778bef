/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frames: every segment the generator sends is written whole (Ethernet,
 * IPv4 without options, TCP without options, zero payload bytes) into a
 * fresh mbuf or over the received frame it answers, which saves an
 * allocation and a free per answer. The TCP checksum is the pseudo-header
 * sum plus the 20-byte header sum: the payload is zeros and adds nothing,
 * so a 1,500-byte segment costs no more to checksum than a 64-byte one.
 * Frames shorter than 60 bytes are padded with zeros (Ethernet minimum).
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "lg.h"

void
mg_lg_pkt_build(struct rte_mbuf *m, const struct mg_lg_seg *s)
{
	uint32_t l4 = sizeof(struct rte_tcp_hdr) + s->payload;
	uint32_t ipl = sizeof(struct rte_ipv4_hdr) + l4;
	uint32_t len = RTE_MAX(sizeof(struct rte_ether_hdr) + ipl, (size_t)60);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint32_t sum;

	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	m->nb_segs = 1;
	m->ol_flags = 0;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	th = (struct rte_tcp_hdr *)(ip + 1);
	eth->dst_addr = s->dst_mac;
	eth->src_addr = s->src_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)ipl);
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(s->sip);
	ip->dst_addr = rte_cpu_to_be_32(s->dip);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = rte_cpu_to_be_16(s->sport);
	th->dst_port = rte_cpu_to_be_16(s->dport);
	th->sent_seq = rte_cpu_to_be_32(s->seq);
	th->recv_ack = rte_cpu_to_be_32(s->ack);
	th->data_off = (sizeof(*th) / 4) << 4;
	th->tcp_flags = s->flags;
	th->rx_win = rte_cpu_to_be_16(65535);
	th->tcp_urp = 0;
	th->cksum = 0;
	if (len > sizeof(struct rte_ether_hdr) + sizeof(*ip) + sizeof(*th))
		memset(th + 1, 0, len - (sizeof(struct rte_ether_hdr) + sizeof(*ip) + sizeof(*th)));
	sum = rte_ipv4_phdr_cksum(ip, 0);
	sum += rte_raw_cksum(th, sizeof(*th));
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	th->cksum = (uint16_t)~sum;
	if (th->cksum == 0)
		th->cksum = 0xffff;
}

void
mg_lg_pkt_rewrite(struct rte_mbuf *m, const struct mg_lg_seg *s)
{
	if (m->nb_segs > 1) {
		/* Never with our frame sizes; keep the first segment only. */
		rte_pktmbuf_free(m->next);
		m->next = NULL;
	}
	mg_lg_pkt_build(m, s);
}

struct rte_mbuf *
mg_lg_pkt_new(struct mg_lg_lcore *lc, const struct mg_lg_seg *s)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(lc->mp);

	if (m == NULL) {
		lc->c.nombuf++;
		return NULL;
	}
	mg_lg_pkt_build(m, s);
	return m;
}
