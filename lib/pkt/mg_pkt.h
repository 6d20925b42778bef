/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_PKT_H
#define MG_PKT_H

/**
 * @file
 * Packet classification for the worker fast path.
 *
 * mg_pkt_parse() looks at one received frame once, validates every header
 * the gateway will later touch (Ethernet, ARP, IPv4, ICMP, TCP) and fills a
 * small struct mg_pkt_info with offsets, so that later stages never re-parse
 * and never read beyond the data the frame really holds. A frame that fails
 * validation yields a drop reason; the caller counts it per lcore and frees
 * the mbuf. Nothing here allocates, locks or logs.
 *
 * Policy decisions taken here (documented in doc/operator-guide.md):
 * - IPv4 only; IP options and fragments are dropped (counted apart), since a
 *   full-NAT proxy of TCP never needs them and they are an attack surface.
 * - A TTL of 0 is dropped: segments are forwarded without decrementing it,
 *   and no datagram may be sent with a TTL of 0.
 * - The IPv4 header checksum is verified (or taken from the RX offload flag
 *   when the port reports it). The TCP checksum is verified on SYNs without
 *   ACK only, the segments that open a flow (offload flag, or computed over
 *   the whole segment, chained or not): a corrupt SYN would otherwise hold a
 *   flow and a connect attempt per endpoint until each connect timed out,
 *   and count as a failure of every endpoint it was sent to, so that a few
 *   forged SYNs ejected healthy endpoints. Other segments are not verified:
 *   the checksum is updated incrementally on rewrite, so a corrupt segment
 *   stays corrupt and the receiving stack drops it.
 * - The frame must be contiguous up to the end of the TCP header (one
 *   segment mbuf for the headers; data may be chained).
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_icmp.h>
#include <rte_arp.h>
#include <rte_mbuf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ICMP types DPDK 22.11's rte_icmp.h does not name. */
#define MG_ICMP_DEST_UNREACH 3
#define MG_ICMP_TIME_EXCEEDED 11

/** Why a packet was dropped; every drop is counted under one reason. */
enum mg_drop_reason {
	MG_DROP_NONE = 0,
	MG_DROP_L2_SHORT,        /**< shorter than an Ethernet header */
	MG_DROP_L2_ETHERTYPE,    /**< neither IPv4 nor ARP (IPv6, LLDP, VLAN...) */
	MG_DROP_L2_DST,          /**< unicast to another MAC */
	MG_DROP_ARP_MALFORMED,   /**< truncated ARP, or not Ethernet/IPv4 ARP */
	MG_DROP_ARP_NOT_FOR_US,  /**< ARP request for an address we do not own */
	MG_DROP_IP_SHORT,        /**< truncated IPv4 header */
	MG_DROP_IP_VERSION,      /**< version != 4 */
	MG_DROP_IP_HDRLEN,       /**< IHL < 5 */
	MG_DROP_IP_OPTIONS,      /**< IHL > 5: IP options are not forwarded */
	MG_DROP_IP_LEN,          /**< total length < header or > frame */
	MG_DROP_IP_CSUM,         /**< bad IPv4 header checksum */
	MG_DROP_IP_FRAGMENT,     /**< MF set or fragment offset != 0 */
	MG_DROP_IP_TTL,          /**< TTL 0 (forwarded as is, the TTL would leave as 0) */
	MG_DROP_IP_SRC,          /**< martian source: 0/8, 127/8, multicast, broadcast */
	MG_DROP_IP_NOT_FOR_US,   /**< destination is neither ours nor a VIP */
	MG_DROP_L4_PROTO,        /**< not TCP or ICMP */
	MG_DROP_ICMP_SHORT,      /**< truncated ICMP */
	MG_DROP_ICMP_TYPE,       /**< ICMP we do not handle */
	MG_DROP_TCP_SHORT,       /**< truncated TCP header */
	MG_DROP_TCP_DOFF,        /**< data offset < 5 or beyond the IP payload */
	MG_DROP_TCP_FLAGS,       /**< impossible flag combination (SYN+FIN, SYN+RST, none) */
	MG_DROP_TCP_PORT,        /**< source or destination port 0 */
	MG_DROP_TCP_CSUM,        /**< a SYN (without ACK) with a bad TCP checksum */
	MG_DROP_NO_SERVICE,      /**< SYN to a VIP:port with no service */
	MG_DROP_NO_FLOW,         /**< non-SYN segment for no known flow */
	MG_DROP_FLOW_STATE,      /**< segment invalid for the flow's state */
	MG_DROP_FLOW_FULL,       /**< flow table or SNAT port pool exhausted */
	MG_DROP_NO_ENDPOINT,     /**< service has no eligible endpoint */
	MG_DROP_NO_ROUTE,        /**< no route toward the destination */
	MG_DROP_NEIGH_UNRESOLVED,/**< next hop MAC not known yet */
	MG_DROP_TX_FULL,         /**< TX queue did not take the packet */
	MG_DROP_RING_FULL,       /**< hand-off ring to the owner worker full */
	MG_DROP_NOMBUF,          /**< mbuf pool empty when building a packet */
	MG_DROP_SYN_RETRANSMIT,  /**< client SYN retransmission absorbed */
	MG_DROP_HALF_OPEN,       /**< SYN past a half-open limit, cookies off */
	MG_DROP_SYNCOOKIE,       /**< ACK for no flow whose cookie is not valid */
	MG_DROP_SYNPROXY_WAIT,   /**< client segment while its SYN-proxied connect is pending */
	MG_DROP__MAX
};

/** Printable name of a drop reason (e.g. "ip_csum"); never NULL. */
const char *mg_drop_reason_name(enum mg_drop_reason r);

/** What a frame is, once validated. */
enum mg_pkt_kind {
	MG_PKT_DROP = 0,  /**< invalid: see mg_pkt_info.drop */
	MG_PKT_ARP,       /**< Ethernet/IPv4 ARP, request or reply */
	MG_PKT_ICMP,      /**< IPv4 ICMP (echo, or an error quoting a TCP header) */
	MG_PKT_TCP,       /**< IPv4 TCP */
};

/** Offsets and fields of a validated frame. All offsets are from the frame start. */
struct mg_pkt_info {
	uint16_t l3_off;      /**< IPv4 or ARP header */
	uint16_t l4_off;      /**< TCP or ICMP header */
	uint16_t l4_len;      /**< bytes from l4_off to the end of the IP datagram */
	uint16_t payload_len; /**< TCP payload bytes (0 for non-TCP) */
	uint8_t kind;         /**< enum mg_pkt_kind */
	uint8_t tcp_flags;    /**< TCP flags (FIN..CWR) when kind == MG_PKT_TCP */
	uint8_t drop;         /**< enum mg_drop_reason when kind == MG_PKT_DROP */
	uint8_t icmp_type;    /**< ICMP type when kind == MG_PKT_ICMP */
};

/**
 * The full validation of mg_pkt_parse(), every frame kind and every drop
 * reason, without its fast path (the tests compare the two).
 */
enum mg_pkt_kind mg_pkt_parse_full(const struct rte_mbuf *m, struct mg_pkt_info *pi);

/*
 * Is the checksum of an option-less IPv4 header right? Five 32-bit words
 * summed in 64 bits and folded: the one's-complement sum is the same in
 * any word size and byte order, and a right header sums to 0xffff. A third
 * of the instructions of rte_ipv4_cksum()'s generic loop, for the one
 * header size meshgate accepts.
 */
static inline bool
mg_pkt_ipv4_hdr20_cksum_ok(const struct rte_ipv4_hdr *ip)
{
	uint32_t w[5];
	uint64_t s;

	memcpy(w, ip, sizeof(w));
	s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* 0/8 ("this network"), 127/8 (loopback), 224/4 and 240/4 (incl. broadcast). */
static inline int
mg_pkt_ipv4_src_martian(rte_be32_t src)
{
	uint32_t first = rte_be_to_cpu_32(src) >> 24;

	return first == 0 || first == 127 || first >= 224;
}

/**
 * Validate one frame and classify it. Reads only the first segment for
 * headers; trims nothing. Returns the kind, and fills @p pi.
 *
 * The segment of an established flow (IPv4 without options, TCP with ACK
 * and neither SYN nor RST, not a fragment, everything in bounds) is
 * accepted here, inline, by one conjunction of the same checks; anything
 * else, or any check that fails, goes to mg_pkt_parse_full(), which
 * decides the kind or the drop reason on its own. So the fast path can only
 * accept what the full validation accepts, with the same fields: the unit
 * tests hold both (and an independent model) to it on random frames.
 */
static inline enum mg_pkt_kind
mg_pkt_parse(const struct rte_mbuf *m, struct mg_pkt_info *pi)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
	uint32_t dlen = rte_pktmbuf_data_len(m), tot_len, doff;
	uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

	if (unlikely(dlen < sizeof(*eth) + sizeof(*ip) + sizeof(*th) ||
		     eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
		     ip->version_ihl != RTE_IPV4_VHL_DEF || ip->next_proto_id != IPPROTO_TCP ||
		     (ip->fragment_offset &
		      RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0 ||
		     ip->time_to_live == 0 ||
		     (th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG)) !=
		     RTE_TCP_ACK_FLAG ||
		     th->src_port == 0 || th->dst_port == 0))
		return mg_pkt_parse_full(m, pi);
	tot_len = rte_be_to_cpu_16(ip->total_length);
	doff = (uint32_t)(th->data_off >> 4) * 4;
	if (unlikely(tot_len < sizeof(*ip) + sizeof(*th) ||
		     tot_len > rte_pktmbuf_pkt_len(m) - sizeof(*eth) ||
		     doff < sizeof(*th) || doff > tot_len - sizeof(*ip) ||
		     dlen < sizeof(*eth) + sizeof(*ip) + doff ||
		     (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
		      (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD || !mg_pkt_ipv4_hdr20_cksum_ok(ip))) ||
		     mg_pkt_ipv4_src_martian(ip->src_addr)))
		return mg_pkt_parse_full(m, pi);
	pi->l3_off = sizeof(*eth);
	pi->l4_off = sizeof(*eth) + sizeof(*ip);
	pi->l4_len = (uint16_t)(tot_len - sizeof(*ip));
	pi->payload_len = (uint16_t)(tot_len - sizeof(*ip) - doff);
	pi->kind = MG_PKT_TCP;
	pi->tcp_flags = th->tcp_flags;
	pi->drop = 0;
	pi->icmp_type = 0;
	return MG_PKT_TCP;
}

/**
 * The info of a copy of a TCP frame that mg_pkt_parse() accepted (the kept
 * SYN of a flow, copied for each connect attempt): the same bytes, so only
 * the fields are read again, none checked. Accepted frames have no IP
 * options, so the offsets are fixed.
 */
static inline void
mg_pkt_info_accepted_tcp(const struct rte_mbuf *m, struct mg_pkt_info *pi)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
	uint16_t l4_len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - sizeof(*ip));

	*pi = (struct mg_pkt_info){
		.l3_off = sizeof(struct rte_ether_hdr),
		.l4_off = sizeof(struct rte_ether_hdr) + sizeof(*ip),
		.l4_len = l4_len,
		.payload_len = (uint16_t)(l4_len - (th->data_off >> 4) * 4),
		.kind = MG_PKT_TCP,
		.tcp_flags = th->tcp_flags,
	};
}

/**
 * For an ICMP destination-unreachable / time-exceeded quoting a TCP header:
 * validate the quoted IPv4 header + first 8 bytes of TCP, return a pointer to
 * the quoted IPv4 header (its TCP ports follow), or NULL when the quote is
 * truncated or not TCP.
 */
const struct rte_ipv4_hdr *mg_pkt_icmp_quoted(const struct rte_mbuf *m,
					      const struct mg_pkt_info *pi);

static inline struct rte_ether_hdr *
mg_pkt_eth(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
}

static inline struct rte_ipv4_hdr *
mg_pkt_ip(struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, pi->l3_off);
}

static inline struct rte_tcp_hdr *
mg_pkt_tcp(struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, pi->l4_off);
}

/*
 * Incremental Internet checksum update (RFC 1624, eqn. 3):
 * HC' = ~(~HC + ~m + m'). Values are in network byte order, as stored.
 */
static inline uint16_t
mg_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/** Update checksum @p csum for a 16-bit field changing from @p old to @p new. */
static inline uint16_t
mg_csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
	uint32_t sum = (uint16_t)~csum;

	sum += (uint16_t)~old;
	sum += new_;
	return (uint16_t)~mg_csum_fold(sum);
}

/** Update checksum @p csum for a 32-bit field changing from @p old to @p new. */
static inline uint16_t
mg_csum_update32(uint16_t csum, uint32_t old, uint32_t new_)
{
	uint32_t sum = (uint16_t)~csum;

	sum += (uint16_t)~(old >> 16);
	sum += (uint16_t)~(old & 0xffff);
	sum += new_ >> 16;
	sum += new_ & 0xffff;
	return (uint16_t)~mg_csum_fold(sum);
}

/**
 * Write a bare TCP segment (Ethernet, IPv4 without options, TCP without
 * options or payload, both checksums) at the start of the empty mbuf @p m,
 * for the segments meshgate makes itself (health-check SYNs, RST probes).
 * Addresses and ports in network order, @p seq and @p ack in host order.
 * 0, or -1 when @p m has no room (then untouched).
 */
int mg_pkt_tcp_build(struct rte_mbuf *m, const struct rte_ether_addr *src_mac,
		     const struct rte_ether_addr *dst_mac, uint32_t src_ip, uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port, uint32_t seq, uint32_t ack,
		     uint8_t flags, uint16_t window);

/* The one's-complement difference ~old + new of a 32-bit field, unfolded. */
static inline uint32_t
mg_csum_diff32(uint32_t old, uint32_t new_)
{
	return (uint32_t)(uint16_t)~(old >> 16) + (uint16_t)~(old & 0xffff) +
	       (new_ >> 16) + (new_ & 0xffff);
}

/**
 * Rewrite the IPv4 addresses and TCP ports of a validated TCP frame in place
 * and update both checksums incrementally. All arguments in network order.
 * The differences of all four fields are summed once and folded once per
 * checksum (RFC 1624 eqn. 3 over several words): the same result as four
 * field-by-field updates, in a third of the instructions.
 */
static inline void
mg_pkt_nat_tcp(struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th,
	       uint32_t src_ip, uint16_t src_port,
	       uint32_t dst_ip, uint16_t dst_port)
{
	/* At most 8 x 0xffff: no overflow before the fold. */
	uint32_t addr = mg_csum_diff32(ip->src_addr, src_ip) + mg_csum_diff32(ip->dst_addr, dst_ip);
	uint32_t ports = (uint32_t)(uint16_t)~th->src_port + src_port +
			 (uint16_t)~th->dst_port + dst_port;

	ip->hdr_checksum = (uint16_t)~mg_csum_fold((uint16_t)~ip->hdr_checksum + addr);
	/* The TCP pseudo-header covers both addresses too. */
	th->cksum = (uint16_t)~mg_csum_fold((uint16_t)~th->cksum + addr + ports);
	ip->src_addr = src_ip;
	ip->dst_addr = dst_ip;
	th->src_port = src_port;
	th->dst_port = dst_port;
}

/**
 * The checksum deltas of a full-NAT rewrite, for a flow to keep: the
 * one's-complement sum of every field's change from (@p s, @p sp, @p d,
 * @p dp) to (@p s2, @p sp2, @p d2, @p dp2), folded to 16 bits, once over the
 * addresses (@p d_ip, for the IPv4 header) and once over addresses and
 * ports (@p d_tcp, the pseudo-header and the header). The rewrite of the
 * way back is the same sum negated, which in one's complement is ~delta.
 * All arguments in network order.
 */
static inline void
mg_pkt_nat_delta(uint32_t s, uint16_t sp, uint32_t d, uint16_t dp,
		 uint32_t s2, uint16_t sp2, uint32_t d2, uint16_t dp2,
		 uint16_t *d_ip, uint16_t *d_tcp)
{
	uint32_t addr = mg_csum_diff32(s, s2) + mg_csum_diff32(d, d2);
	uint32_t ports = (uint32_t)(uint16_t)~sp + sp2 + (uint16_t)~dp + dp2;

	*d_ip = mg_csum_fold(addr);
	*d_tcp = mg_csum_fold(addr + ports);
}

/**
 * mg_pkt_nat_tcp() with the flow's precomputed deltas (mg_pkt_nat_delta):
 * four stores and two checksum updates, the same result.
 */
static inline void
mg_pkt_nat_tcp_delta(struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th,
		     uint32_t src_ip, uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
		     uint16_t d_ip, uint16_t d_tcp)
{
	ip->hdr_checksum = (uint16_t)~mg_csum_fold((uint32_t)(uint16_t)~ip->hdr_checksum + d_ip);
	th->cksum = (uint16_t)~mg_csum_fold((uint32_t)(uint16_t)~th->cksum + d_tcp);
	ip->src_addr = src_ip;
	ip->dst_addr = dst_ip;
	th->src_port = src_port;
	th->dst_port = dst_port;
}

#ifdef __cplusplus
}
#endif
#endif /* MG_PKT_H */
