/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame validation for the worker fast path (see mg_pkt.h for the policy).
 *
 * Every read is bounded by the data length of the first segment: each stage
 * first checks that the header it is about to touch lies inside it, then
 * reads. Lengths are computed in 32 bits so that no sum can wrap. Checks run
 * in the order of enum mg_drop_reason, outermost header first, so a frame
 * with several defects is counted under the first one met.
 */
#include <stddef.h>
#include <string.h>
#include <rte_branch_prediction.h>
#include <rte_common.h>

#include "mg_pkt.h"

#define ETH_LEN   ((uint32_t)sizeof(struct rte_ether_hdr))
#define IP_LEN    ((uint32_t)sizeof(struct rte_ipv4_hdr))
#define TCP_LEN   ((uint32_t)sizeof(struct rte_tcp_hdr))
#define ICMP_LEN  ((uint32_t)sizeof(struct rte_icmp_hdr))
#define ARP_LEN   ((uint32_t)sizeof(struct rte_arp_hdr))

/* ICMP types the gateway handles (RFC 792). */
#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11

static const char *const drop_names[] = {
	[MG_DROP_NONE] = "none",
	[MG_DROP_L2_SHORT] = "l2_short",
	[MG_DROP_L2_ETHERTYPE] = "l2_ethertype",
	[MG_DROP_L2_DST] = "l2_dst",
	[MG_DROP_ARP_MALFORMED] = "arp_malformed",
	[MG_DROP_ARP_NOT_FOR_US] = "arp_not_for_us",
	[MG_DROP_IP_SHORT] = "ip_short",
	[MG_DROP_IP_VERSION] = "ip_version",
	[MG_DROP_IP_HDRLEN] = "ip_hdrlen",
	[MG_DROP_IP_OPTIONS] = "ip_options",
	[MG_DROP_IP_LEN] = "ip_len",
	[MG_DROP_IP_CSUM] = "ip_csum",
	[MG_DROP_IP_FRAGMENT] = "ip_fragment",
	[MG_DROP_IP_TTL] = "ip_ttl",
	[MG_DROP_IP_SRC] = "ip_src",
	[MG_DROP_IP_NOT_FOR_US] = "ip_not_for_us",
	[MG_DROP_L4_PROTO] = "l4_proto",
	[MG_DROP_ICMP_SHORT] = "icmp_short",
	[MG_DROP_ICMP_TYPE] = "icmp_type",
	[MG_DROP_TCP_SHORT] = "tcp_short",
	[MG_DROP_TCP_DOFF] = "tcp_doff",
	[MG_DROP_TCP_FLAGS] = "tcp_flags",
	[MG_DROP_TCP_PORT] = "tcp_port",
	[MG_DROP_TCP_CSUM] = "tcp_csum",
	[MG_DROP_NO_SERVICE] = "no_service",
	[MG_DROP_NO_FLOW] = "no_flow",
	[MG_DROP_FLOW_STATE] = "flow_state",
	[MG_DROP_FLOW_FULL] = "flow_full",
	[MG_DROP_NO_ENDPOINT] = "no_endpoint",
	[MG_DROP_NO_ROUTE] = "no_route",
	[MG_DROP_NEIGH_UNRESOLVED] = "neigh_unresolved",
	[MG_DROP_TX_FULL] = "tx_full",
	[MG_DROP_RING_FULL] = "ring_full",
	[MG_DROP_NOMBUF] = "nombuf",
	[MG_DROP_SYN_RETRANSMIT] = "syn_retransmit",
	[MG_DROP_HALF_OPEN] = "half_open_limit",
	[MG_DROP_SYNCOOKIE] = "syncookie_invalid",
	[MG_DROP_SYNPROXY_WAIT] = "synproxy_wait",
};

/* One name per reason: a reason added to the enum must be named here too. */
_Static_assert(RTE_DIM(drop_names) == MG_DROP__MAX,
	       "drop_names[] must name every enum mg_drop_reason");
/* mg_pkt_info.drop and .kind are 8 bits wide. */
_Static_assert(MG_DROP__MAX <= UINT8_MAX, "drop reason must fit in uint8_t");

const char *
mg_drop_reason_name(enum mg_drop_reason r)
{
	if ((unsigned int)r < RTE_DIM(drop_names) && drop_names[r] != NULL)
		return drop_names[r];
	return "unknown";
}

static inline enum mg_pkt_kind
pkt_drop(struct mg_pkt_info *pi, enum mg_drop_reason r)
{
	pi->kind = MG_PKT_DROP;
	pi->drop = (uint8_t)r;
	return MG_PKT_DROP;
}

/* Ethernet/IPv4 ARP request or reply, nothing else. */
static inline enum mg_pkt_kind
parse_arp(const uint8_t *frame, uint32_t dlen, struct mg_pkt_info *pi)
{
	const struct rte_arp_hdr *arp;

	if (unlikely(dlen < ETH_LEN + ARP_LEN))
		return pkt_drop(pi, MG_DROP_ARP_MALFORMED);
	arp = (const struct rte_arp_hdr *)(frame + ETH_LEN);
	if (unlikely(arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
		     arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
		     arp->arp_hlen != RTE_ETHER_ADDR_LEN ||
		     arp->arp_plen != sizeof(rte_be32_t)))
		return pkt_drop(pi, MG_DROP_ARP_MALFORMED);
	if (unlikely(arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) &&
		     arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REPLY)))
		return pkt_drop(pi, MG_DROP_ARP_MALFORMED);
	pi->l3_off = ETH_LEN;
	pi->kind = MG_PKT_ARP;
	return MG_PKT_ARP;
}

/* True for a TCP flag byte no stack sends (see MG_DROP_TCP_FLAGS). */
static inline int
tcp_flags_impossible(uint8_t f)
{
	const uint8_t syn_fin = RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG;
	const uint8_t syn_rst = RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG;
	const uint8_t ctl = RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG |
			    RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;

	/*
	 * SYN+FIN and SYN+RST are contradictions. A segment with none of
	 * SYN, FIN, RST and ACK (the all-zero "null scan", or only PSH/URG/ECE/
	 * CWR) is not sent by any stack: every segment but the first SYN and
	 * some RSTs carries ACK. A bare FIN without ACK is left through.
	 */
	return (f & syn_fin) == syn_fin || (f & syn_rst) == syn_rst ||
	       (f & ctl) == 0;
}

/*
 * Ones' complement sum of @p len bytes at offset @p off of the packet,
 * across its segments (16-bit, not folded to its complement). A segment that
 * starts at an odd byte of the sum's range has its partial sum byte-swapped
 * (RFC 1071): DPDK 22.11's rte_raw_cksum_mbuf gets that wrong (see
 * doc/hardening.md). The caller checked that pkt_len holds the range.
 */
static uint32_t
pkt_sum(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	uint32_t sum = 0, done = 0;

	for (; m != NULL && len > 0; m = m->next) {
		uint32_t dl = m->data_len, n, s;

		if (off >= dl) {
			off -= dl;
			continue;
		}
		n = RTE_MIN(dl - off, len);
		s = rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const uint8_t *, off), n);
		if (done & 1)
			s = ((s & 0xff) << 8) | (s >> 8);
		sum += s;
		done += n;
		len -= n;
		off = 0;
	}
	return sum;
}

/* Is the TCP checksum of this (validated, option-less IPv4) segment wrong? */
static inline bool
tcp_csum_bad(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, uint32_t l4_off,
	     uint32_t l4_len)
{
	uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	uint32_t sum;

	/* NONE: the port verified the data, the field may be unfilled. */
	if (ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD || ck == RTE_MBUF_F_RX_L4_CKSUM_NONE)
		return false;
	if (ck == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return true;
	sum = rte_ipv4_phdr_cksum(ip, 0) + pkt_sum(m, l4_off, l4_len);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum != 0xffff;
}

static inline enum mg_pkt_kind
parse_tcp(const struct rte_mbuf *m, const uint8_t *frame, uint32_t dlen, uint32_t l4_off,
	  uint32_t l4_len, struct mg_pkt_info *pi)
{
	const struct rte_tcp_hdr *th;
	uint32_t doff;

	if (unlikely(l4_len < TCP_LEN || dlen < l4_off + TCP_LEN))
		return pkt_drop(pi, MG_DROP_TCP_SHORT);
	th = (const struct rte_tcp_hdr *)(frame + l4_off);
	doff = (uint32_t)(th->data_off >> 4) * 4;
	if (unlikely(doff < TCP_LEN || doff > l4_len))
		return pkt_drop(pi, MG_DROP_TCP_DOFF);
	/* Options too must be in the first segment. */
	if (unlikely(dlen < l4_off + doff))
		return pkt_drop(pi, MG_DROP_TCP_SHORT);
	if (unlikely(tcp_flags_impossible(th->tcp_flags)))
		return pkt_drop(pi, MG_DROP_TCP_FLAGS);
	if (unlikely(th->src_port == 0 || th->dst_port == 0))
		return pkt_drop(pi, MG_DROP_TCP_PORT);
	/* A SYN opens a flow: only a genuine one may (see mg_pkt.h). */
	if ((th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG &&
	    unlikely(tcp_csum_bad(m, (const struct rte_ipv4_hdr *)(frame + pi->l3_off), l4_off,
				  l4_len)))
		return pkt_drop(pi, MG_DROP_TCP_CSUM);
	pi->payload_len = (uint16_t)(l4_len - doff);
	pi->tcp_flags = th->tcp_flags;
	pi->kind = MG_PKT_TCP;
	return MG_PKT_TCP;
}

static inline enum mg_pkt_kind
parse_icmp(const uint8_t *frame, uint32_t dlen, uint32_t l4_off,
	   uint32_t l4_len, struct mg_pkt_info *pi)
{
	const struct rte_icmp_hdr *ih;

	if (unlikely(l4_len < ICMP_LEN || dlen < l4_off + ICMP_LEN))
		return pkt_drop(pi, MG_DROP_ICMP_SHORT);
	ih = (const struct rte_icmp_hdr *)(frame + l4_off);
	switch (ih->icmp_type) {
	case RTE_IP_ICMP_ECHO_REQUEST:
	case ICMP_DEST_UNREACH:
	case ICMP_TIME_EXCEEDED:
		break;
	default:
		return pkt_drop(pi, MG_DROP_ICMP_TYPE);
	}
	pi->icmp_type = ih->icmp_type;
	pi->kind = MG_PKT_ICMP;
	return MG_PKT_ICMP;
}

static inline enum mg_pkt_kind
parse_ipv4(const struct rte_mbuf *m, const uint8_t *frame, uint32_t dlen,
	   struct mg_pkt_info *pi)
{
	const struct rte_ipv4_hdr *ip;
	uint32_t ihl, tot_len, l4_off, l4_len;
	uint64_t ck;

	if (unlikely(dlen < ETH_LEN + IP_LEN))
		return pkt_drop(pi, MG_DROP_IP_SHORT);
	ip = (const struct rte_ipv4_hdr *)(frame + ETH_LEN);
	if (unlikely((ip->version_ihl >> 4) != 4))
		return pkt_drop(pi, MG_DROP_IP_VERSION);
	ihl = (uint32_t)(ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
	if (unlikely(ihl < IP_LEN))
		return pkt_drop(pi, MG_DROP_IP_HDRLEN);
	if (unlikely(ihl > IP_LEN))
		return pkt_drop(pi, MG_DROP_IP_OPTIONS);
	/*
	 * The datagram may continue in later segments, and Ethernet padding
	 * may follow it: only bound it by the whole frame.
	 */
	tot_len = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(tot_len < ihl || tot_len > rte_pktmbuf_pkt_len(m) - ETH_LEN))
		return pkt_drop(pi, MG_DROP_IP_LEN);
	/* NONE ("checksum field not filled in") is verified like UNKNOWN. */
	ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	if (unlikely(ck == RTE_MBUF_F_RX_IP_CKSUM_BAD))
		return pkt_drop(pi, MG_DROP_IP_CSUM);
	if (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && unlikely(!mg_pkt_ipv4_hdr20_cksum_ok(ip)))
		return pkt_drop(pi, MG_DROP_IP_CSUM);
	if (unlikely(ip->fragment_offset &
		     RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		return pkt_drop(pi, MG_DROP_IP_FRAGMENT);
	/* meshgate forwards without decrementing the TTL: never a TTL of 0
	 * onto the wire (RFC 1122 3.2.1.7, RFC 1812 4.2.2.9). */
	if (unlikely(ip->time_to_live == 0))
		return pkt_drop(pi, MG_DROP_IP_TTL);
	if (unlikely(mg_pkt_ipv4_src_martian(ip->src_addr)))
		return pkt_drop(pi, MG_DROP_IP_SRC);

	l4_off = ETH_LEN + ihl;
	l4_len = tot_len - ihl;
	pi->l3_off = ETH_LEN;
	pi->l4_off = (uint16_t)l4_off;
	pi->l4_len = (uint16_t)l4_len;
	if (likely(ip->next_proto_id == IPPROTO_TCP))
		return parse_tcp(m, frame, dlen, l4_off, l4_len, pi);
	if (ip->next_proto_id == IPPROTO_ICMP)
		return parse_icmp(frame, dlen, l4_off, l4_len, pi);
	return pkt_drop(pi, MG_DROP_L4_PROTO);
}

enum mg_pkt_kind
mg_pkt_parse_full(const struct rte_mbuf *m, struct mg_pkt_info *pi)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t dlen = rte_pktmbuf_data_len(m);
	const struct rte_ether_hdr *eth;

	*pi = (struct mg_pkt_info){ .kind = MG_PKT_DROP };
	if (unlikely(dlen < ETH_LEN))
		return pkt_drop(pi, MG_DROP_L2_SHORT);
	eth = (const struct rte_ether_hdr *)frame;
	/* No VLAN: the gateway's ports are untagged, a tag is a foreign frame. */
	if (likely(eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4)))
		return parse_ipv4(m, frame, dlen, pi);
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return parse_arp(frame, dlen, pi);
	return pkt_drop(pi, MG_DROP_L2_ETHERTYPE);
}

const struct rte_ipv4_hdr *
mg_pkt_icmp_quoted(const struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *q;
	uint32_t q_off, end, qhl;

	if (pi->kind != MG_PKT_ICMP ||
	    (pi->icmp_type != ICMP_DEST_UNREACH && pi->icmp_type != ICMP_TIME_EXCEEDED))
		return NULL;
	/* The quote ends with the ICMP message or the first segment. */
	end = (uint32_t)pi->l4_off + pi->l4_len;
	if (end > rte_pktmbuf_data_len(m))
		end = rte_pktmbuf_data_len(m);
	q_off = (uint32_t)pi->l4_off + ICMP_LEN;
	if (unlikely(q_off + IP_LEN > end))
		return NULL;
	q = (const struct rte_ipv4_hdr *)(frame + q_off);
	if (unlikely((q->version_ihl >> 4) != 4))
		return NULL;
	qhl = (uint32_t)(q->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
	if (unlikely(qhl < IP_LEN))
		return NULL;
	if (unlikely(q->next_proto_id != IPPROTO_TCP))
		return NULL;
	/* A non-first fragment does not start with the TCP header. */
	if (unlikely(q->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)))
		return NULL;
	/* Ports and sequence number: the 8 bytes RFC 792 guarantees. */
	if (unlikely(q_off + qhl + 8 > end))
		return NULL;
	return q;
}

int
mg_pkt_tcp_build(struct rte_mbuf *m, const struct rte_ether_addr *src_mac,
		 const struct rte_ether_addr *dst_mac, uint32_t src_ip, uint32_t dst_ip,
		 uint16_t src_port, uint16_t dst_port, uint32_t seq, uint32_t ack,
		 uint8_t flags, uint16_t window)
{
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, ETH_LEN + IP_LEN + TCP_LEN);
	if (eth == NULL)
		return -1;
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	th = (struct rte_tcp_hdr *)(ip + 1);
	memset(ip, 0, IP_LEN + TCP_LEN);
	eth->src_addr = *src_mac;
	eth->dst_addr = *dst_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(IP_LEN + TCP_LEN);
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = src_ip;
	ip->dst_addr = dst_ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = src_port;
	th->dst_port = dst_port;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (TCP_LEN / 4) << 4;
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(window);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return 0;
}
