/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/pkt: frame validation, ICMP quotes, drop names and the
 * incremental checksum / NAT helpers of mg_pkt.h.
 *
 * Frames are crafted by hand into a struct frame, then copied into mbufs. The
 * robustness test puts every frame at the very end of a buffer followed by an
 * inaccessible page, so a read past data_len faults, and compares each result
 * with a byte-by-byte reference model written independently of the parser.
 * Random tests use a fixed seed; MG_TEST_SEED=<n> in the environment picks
 * another one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include <rte_random.h>

#include <rte_mbuf.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_icmp.h>
#include <rte_arp.h>
#include <rte_ether.h>

#include "mg_pkt.h"
#include "mg_test.h"

static struct rte_mempool *mp;

/* ---- random numbers ------------------------------------------------------ */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)((rnd() >> 16) % n);
}

/* ---- frame builder ------------------------------------------------------- */

#define ETH 14u
#define IPH 20u
#define TCPH 20u
#define ICMPH 8u

#define CLIENT_IP RTE_IPV4(10, 0, 0, 1)
#define VIP_IP    RTE_IPV4(10, 1, 0, 1)
#define SNAT_IP   RTE_IPV4(10, 1, 0, 10)
#define EP_IP     RTE_IPV4(10, 2, 0, 7)
#define ROUTER_IP RTE_IPV4(10, 2, 0, 254)

struct frame {
	uint8_t b[2048] __attribute__((aligned(8)));
	uint32_t len;
};

static struct rte_ipv4_hdr *
ip_of(struct frame *f)
{
	return (struct rte_ipv4_hdr *)(f->b + ETH);
}

static struct rte_tcp_hdr *
tcp_of(struct frame *f)
{
	return (struct rte_tcp_hdr *)(f->b + ETH + IPH);
}

static struct rte_icmp_hdr *
icmp_of(struct frame *f)
{
	return (struct rte_icmp_hdr *)(f->b + ETH + IPH);
}

static void
put_eth(struct frame *f, uint16_t ether_type)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)f->b;

	e->dst_addr = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0, 0x01 } };
	e->src_addr = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0, 0x02 } };
	e->ether_type = rte_cpu_to_be_16(ether_type);
}

/* Recompute the IPv4 header checksum (over IHL*4 bytes). */
static void
ip_fix(struct frame *f)
{
	struct rte_ipv4_hdr *ip = ip_of(f);

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static void
put_ip(struct frame *f, uint8_t proto, uint32_t l4_len, uint32_t src, uint32_t dst)
{
	struct rte_ipv4_hdr *ip = ip_of(f);

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(IPH + l4_len));
	ip->packet_id = rte_cpu_to_be_16(0x1234);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip_fix(f);
}

static void
tcp_fix(struct frame *f)
{
	struct rte_tcp_hdr *th = tcp_of(f);

	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip_of(f), th);
}

/* A valid Ethernet/IPv4/TCP frame with @p optlen bytes of options (MSS + NOPs). */
static void
mk_tcp(struct frame *f, uint8_t flags, uint32_t optlen, uint32_t paylen)
{
	struct rte_tcp_hdr *th = tcp_of(f);
	uint8_t *opt = f->b + ETH + IPH + TCPH;

	memset(f, 0, sizeof(*f));
	put_eth(f, RTE_ETHER_TYPE_IPV4);
	put_ip(f, IPPROTO_TCP, TCPH + optlen + paylen, CLIENT_IP, VIP_IP);
	th->src_port = rte_cpu_to_be_16(40000);
	th->dst_port = rte_cpu_to_be_16(80);
	th->sent_seq = rte_cpu_to_be_32(1000);
	th->recv_ack = rte_cpu_to_be_32((flags & RTE_TCP_ACK_FLAG) ? 2000 : 0);
	th->data_off = (uint8_t)(((TCPH + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(65535);
	memset(opt, 1, optlen); /* NOP */
	if (optlen >= 4) {
		opt[0] = 2; /* MSS 1460 */
		opt[1] = 4;
		opt[2] = 0x05;
		opt[3] = 0xb4;
	}
	for (uint32_t i = 0; i < paylen; i++)
		opt[optlen + i] = (uint8_t)(i * 7 + 3);
	f->len = ETH + IPH + TCPH + optlen + paylen;
	tcp_fix(f);
}

static void
mk_arp(struct frame *f, uint16_t op)
{
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(f->b + ETH);

	memset(f, 0, sizeof(*f));
	put_eth(f, RTE_ETHER_TYPE_ARP);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0, 0x02 } };
	a->arp_data.arp_sip = rte_cpu_to_be_32(CLIENT_IP);
	a->arp_data.arp_tip = rte_cpu_to_be_32(SNAT_IP);
	f->len = ETH + (uint32_t)sizeof(*a);
}

static void
mk_icmp_echo(struct frame *f, uint32_t paylen)
{
	struct rte_icmp_hdr *ih = icmp_of(f);

	memset(f, 0, sizeof(*f));
	put_eth(f, RTE_ETHER_TYPE_IPV4);
	put_ip(f, IPPROTO_ICMP, ICMPH + paylen, CLIENT_IP, VIP_IP);
	ih->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	ih->icmp_ident = rte_cpu_to_be_16(7);
	ih->icmp_seq_nb = rte_cpu_to_be_16(1);
	for (uint32_t i = 0; i < paylen; i++)
		f->b[ETH + IPH + ICMPH + i] = (uint8_t)i;
	ih->icmp_cksum = (uint16_t)~rte_raw_cksum(ih, ICMPH + paylen);
	f->len = ETH + IPH + ICMPH + paylen;
}

#define Q_OFF (ETH + IPH + ICMPH)   /* quoted IPv4 header in an ICMP error */

/* An ICMP error from a router quoting our SYN to an endpoint: IP + @p qtcp bytes of TCP. */
static void
mk_icmp_err(struct frame *f, uint8_t type, uint8_t code, uint32_t qtcp)
{
	struct rte_icmp_hdr *ih = icmp_of(f);
	struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(f->b + Q_OFF);
	struct rte_tcp_hdr th = {
		.src_port = rte_cpu_to_be_16(33000),
		.dst_port = rte_cpu_to_be_16(8080),
		.sent_seq = rte_cpu_to_be_32(0xdeadbeef),
		.data_off = 0x50,
		.tcp_flags = RTE_TCP_SYN_FLAG,
		.rx_win = rte_cpu_to_be_16(64240),
	};

	memset(f, 0, sizeof(*f));
	put_eth(f, RTE_ETHER_TYPE_IPV4);
	put_ip(f, IPPROTO_ICMP, ICMPH + IPH + qtcp, ROUTER_IP, SNAT_IP);
	ih->icmp_type = type;
	ih->icmp_code = code;
	q->version_ihl = RTE_IPV4_VHL_DEF;
	q->total_length = rte_cpu_to_be_16(IPH + TCPH);
	q->time_to_live = 1;
	q->next_proto_id = IPPROTO_TCP;
	q->src_addr = rte_cpu_to_be_32(SNAT_IP);
	q->dst_addr = rte_cpu_to_be_32(EP_IP);
	q->hdr_checksum = rte_ipv4_cksum(q);
	memcpy(f->b + Q_OFF + IPH, &th, qtcp < sizeof(th) ? qtcp : sizeof(th));
	f->len = Q_OFF + IPH + qtcp;
}

/* ---- mbufs and parsing --------------------------------------------------- */

static bool seen_drop[MG_DROP__MAX];

/* Copy @p f into an mbuf; when 0 < split < len, the rest goes to a 2nd segment. */
static struct rte_mbuf *
mbuf_of(const struct frame *f, uint32_t split)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint32_t first = (split > 0 && split < f->len) ? split : f->len;
	char *p;

	assert_non_null(m);
	p = rte_pktmbuf_append(m, (uint16_t)first);
	assert_non_null(p);
	memcpy(p, f->b, first);
	if (first < f->len) {
		struct rte_mbuf *m2 = rte_pktmbuf_alloc(mp);

		assert_non_null(m2);
		p = rte_pktmbuf_append(m2, (uint16_t)(f->len - first));
		assert_non_null(p);
		memcpy(p, f->b + first, f->len - first);
		assert_int_equal(rte_pktmbuf_chain(m, m2), 0);
	}
	return m;
}

static void
check_info_sane(enum mg_pkt_kind k, const struct mg_pkt_info *pi)
{
	assert_int_equal(k, pi->kind);
	if (k == MG_PKT_DROP) {
		assert_int_not_equal(pi->drop, MG_DROP_NONE);
		assert_true(pi->drop < MG_DROP__MAX);
		seen_drop[pi->drop] = true;
	} else {
		assert_int_equal(pi->drop, MG_DROP_NONE);
	}
}

static enum mg_pkt_kind
parse_ex(const struct frame *f, uint32_t split, uint64_t ol, struct mg_pkt_info *pi)
{
	struct rte_mbuf *m = mbuf_of(f, split);
	enum mg_pkt_kind k;

	m->ol_flags |= ol;
	memset(pi, 0xee, sizeof(*pi));
	k = mg_pkt_parse(m, pi);
	check_info_sane(k, pi);
	rte_pktmbuf_free(m);
	return k;
}

static enum mg_pkt_kind
parse(const struct frame *f, struct mg_pkt_info *pi)
{
	return parse_ex(f, 0, 0, pi);
}

static void
expect_drop_ex(const struct frame *f, uint32_t split, uint64_t ol,
	       enum mg_drop_reason want, int line)
{
	struct mg_pkt_info pi;
	enum mg_pkt_kind k = parse_ex(f, split, ol, &pi);

	if (k != MG_PKT_DROP || pi.drop != want)
		fail_msg("line %d: want drop %s, got kind %d (%s)", line,
			 mg_drop_reason_name(want), k,
			 k == MG_PKT_DROP ? mg_drop_reason_name((enum mg_drop_reason)pi.drop) : "accepted");
}

static void
expect_kind_ex(const struct frame *f, uint32_t split, uint64_t ol,
	       enum mg_pkt_kind want, int line)
{
	struct mg_pkt_info pi;
	enum mg_pkt_kind k = parse_ex(f, split, ol, &pi);

	if (k != want)
		fail_msg("line %d: want kind %d, got kind %d (%s)", line, want, k,
			 k == MG_PKT_DROP ? mg_drop_reason_name((enum mg_drop_reason)pi.drop) : "-");
}

#define EXPECT_DROP(f, r) expect_drop_ex((f), 0, 0, (r), __LINE__)
#define EXPECT_DROP_EX(f, split, ol, r) expect_drop_ex((f), (split), (ol), (r), __LINE__)
#define EXPECT_KIND(f, k) expect_kind_ex((f), 0, 0, (k), __LINE__)
#define EXPECT_KIND_EX(f, split, ol, k) expect_kind_ex((f), (split), (ol), (k), __LINE__)

/* ---- valid frames -------------------------------------------------------- */

static void
test_tcp_syn_valid(void **state)
{
	(void)state;
	struct frame f;
	struct mg_pkt_info pi;

	mk_tcp(&f, RTE_TCP_SYN_FLAG, 20, 0);
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	assert_int_equal(pi.kind, MG_PKT_TCP);
	assert_int_equal(pi.drop, MG_DROP_NONE);
	assert_int_equal(pi.l3_off, ETH);
	assert_int_equal(pi.l4_off, ETH + IPH);
	assert_int_equal(pi.l4_len, TCPH + 20);
	assert_int_equal(pi.payload_len, 0);
	assert_int_equal(pi.tcp_flags, RTE_TCP_SYN_FLAG);

	/* The accessors point at the headers. */
	struct rte_mbuf *m = mbuf_of(&f, 0);
	assert_int_equal(mg_pkt_parse(m, &pi), MG_PKT_TCP);
	assert_ptr_equal(mg_pkt_eth(m), rte_pktmbuf_mtod(m, void *));
	assert_int_equal(mg_pkt_ip(m, &pi)->dst_addr, rte_cpu_to_be_32(VIP_IP));
	assert_int_equal(mg_pkt_tcp(m, &pi)->dst_port, rte_cpu_to_be_16(80));
	assert_null(mg_pkt_icmp_quoted(m, &pi));
	rte_pktmbuf_free(m);

	/* SYN with ECN bits, SYN+ACK, maximum options (doff 15). */
	mk_tcp(&f, RTE_TCP_SYN_FLAG | RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG, 0, 0);
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	assert_int_equal(pi.tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG);
	mk_tcp(&f, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 40, 0);
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	assert_int_equal(pi.l4_len, 60);
	assert_int_equal(pi.payload_len, 0);
}

static void
test_tcp_data_valid(void **state)
{
	(void)state;
	struct frame f;
	struct mg_pkt_info pi;

	mk_tcp(&f, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 12, 1000);
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	assert_int_equal(pi.l4_off, ETH + IPH);
	assert_int_equal(pi.l4_len, TCPH + 12 + 1000);
	assert_int_equal(pi.payload_len, 1000);
	assert_int_equal(pi.tcp_flags, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);

	/* Full-size segment. */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 1460);
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	assert_int_equal(pi.payload_len, 1460);

	/* Payload in a second segment: only headers must be contiguous. */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 12, 1000);
	assert_int_equal(parse_ex(&f, ETH + IPH + TCPH + 12, 0, &pi), MG_PKT_TCP);
	assert_int_equal(pi.payload_len, 1000);
	assert_int_equal(parse_ex(&f, ETH + IPH + TCPH + 13, 0, &pi), MG_PKT_TCP);

	/* Flags that are legal, if sometimes unusual. */
	static const uint8_t ok[] = {
		RTE_TCP_ACK_FLAG, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, RTE_TCP_FIN_FLAG,
		RTE_TCP_RST_FLAG, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
		RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG, RTE_TCP_ACK_FLAG | RTE_TCP_URG_FLAG,
		RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_URG_FLAG,
		RTE_TCP_ACK_FLAG | RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG,
	};
	for (size_t i = 0; i < sizeof(ok); i++) {
		mk_tcp(&f, ok[i], 0, 10);
		assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
		assert_int_equal(pi.tcp_flags, ok[i]);
		assert_int_equal(pi.payload_len, 10);
	}
}

static void
test_ethernet_padding(void **state)
{
	(void)state;
	struct frame f;
	struct mg_pkt_info pi;

	/* A bare ACK is 54 bytes; the NIC pads it to 60 (zeros or junk). */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 0);
	assert_int_equal(f.len, 54);
	f.len = 60;
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	assert_int_equal(pi.l4_len, TCPH);
	assert_int_equal(pi.payload_len, 0);
	memset(f.b + 54, 0xa5, 6);
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	assert_int_equal(pi.payload_len, 0);

	/* Small ICMP echo, padded. */
	mk_icmp_echo(&f, 0);
	f.len = 60;
	assert_int_equal(parse(&f, &pi), MG_PKT_ICMP);
	assert_int_equal(pi.l4_len, ICMPH);

	/* ARP is 42 bytes, padded to 60. */
	mk_arp(&f, RTE_ARP_OP_REQUEST);
	f.len = 60;
	assert_int_equal(parse(&f, &pi), MG_PKT_ARP);
}

static void
test_arp_valid(void **state)
{
	(void)state;
	struct frame f;
	struct mg_pkt_info pi;

	mk_arp(&f, RTE_ARP_OP_REQUEST);
	assert_int_equal(parse(&f, &pi), MG_PKT_ARP);
	assert_int_equal(pi.l3_off, ETH);
	mk_arp(&f, RTE_ARP_OP_REPLY);
	assert_int_equal(parse(&f, &pi), MG_PKT_ARP);
	assert_int_equal(pi.l3_off, ETH);
}

static void
test_icmp_valid(void **state)
{
	(void)state;
	struct frame f;
	struct mg_pkt_info pi;

	mk_icmp_echo(&f, 56);
	assert_int_equal(parse(&f, &pi), MG_PKT_ICMP);
	assert_int_equal(pi.icmp_type, RTE_IP_ICMP_ECHO_REQUEST);
	assert_int_equal(pi.l3_off, ETH);
	assert_int_equal(pi.l4_off, ETH + IPH);
	assert_int_equal(pi.l4_len, ICMPH + 56);
	assert_int_equal(pi.payload_len, 0);

	mk_icmp_err(&f, 3, 3, 8);
	assert_int_equal(parse(&f, &pi), MG_PKT_ICMP);
	assert_int_equal(pi.icmp_type, 3);
	assert_int_equal(pi.l4_len, ICMPH + IPH + 8);
	mk_icmp_err(&f, 11, 0, 8);
	assert_int_equal(parse(&f, &pi), MG_PKT_ICMP);
	assert_int_equal(pi.icmp_type, 11);
	/* Needs-frag (3/4) is an unreachable too. */
	mk_icmp_err(&f, 3, 4, 20);
	assert_int_equal(parse(&f, &pi), MG_PKT_ICMP);
}

/* ---- ICMP quotes ---------------------------------------------------------- */

/* Offset of the quoted header from the frame start, or -1 for NULL. */
static long
quoted_ex(const struct frame *f, uint32_t split)
{
	struct rte_mbuf *m = mbuf_of(f, split);
	struct mg_pkt_info pi;
	const struct rte_ipv4_hdr *q;
	long off = -1;

	mg_pkt_parse(m, &pi);
	q = mg_pkt_icmp_quoted(m, &pi);
	if (q != NULL)
		off = (const uint8_t *)q - rte_pktmbuf_mtod(m, const uint8_t *);
	rte_pktmbuf_free(m);
	return off;
}

static long
quoted(const struct frame *f)
{
	return quoted_ex(f, 0);
}

static void
quote_set(struct frame *f, uint8_t vihl, uint8_t proto, uint16_t frag)
{
	struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(f->b + Q_OFF);

	q->version_ihl = vihl;
	q->next_proto_id = proto;
	q->fragment_offset = rte_cpu_to_be_16(frag);
}

static void
test_icmp_quoted(void **state)
{
	(void)state;
	struct frame f;
	struct rte_mbuf *m;
	struct mg_pkt_info pi;
	const struct rte_ipv4_hdr *q;

	/* Unreachable quoting IP + 8 bytes of TCP: the minimum. */
	mk_icmp_err(&f, 3, 1, 8);
	m = mbuf_of(&f, 0);
	assert_int_equal(mg_pkt_parse(m, &pi), MG_PKT_ICMP);
	q = mg_pkt_icmp_quoted(m, &pi);
	assert_non_null(q);
	assert_ptr_equal(q, rte_pktmbuf_mtod_offset(m, void *, Q_OFF));
	assert_int_equal(q->src_addr, rte_cpu_to_be_32(SNAT_IP));
	assert_int_equal(q->dst_addr, rte_cpu_to_be_32(EP_IP));
	const struct rte_tcp_hdr *qt = (const struct rte_tcp_hdr *)((const uint8_t *)q + IPH);
	assert_int_equal(qt->src_port, rte_cpu_to_be_16(33000));
	assert_int_equal(qt->dst_port, rte_cpu_to_be_16(8080));
	assert_int_equal(qt->sent_seq, rte_cpu_to_be_32(0xdeadbeef));
	rte_pktmbuf_free(m);

	/* Time exceeded, and a longer quote. */
	mk_icmp_err(&f, 11, 0, 8);
	assert_int_equal(quoted(&f), Q_OFF);
	mk_icmp_err(&f, 3, 3, 20);
	assert_int_equal(quoted(&f), Q_OFF);

	/* Truncated quotes. */
	for (uint32_t n = 0; n < 8; n++) {
		mk_icmp_err(&f, 3, 1, n);
		EXPECT_KIND(&f, MG_PKT_ICMP);
		assert_int_equal(quoted(&f), -1);
	}
	/* Quote shorter than an IPv4 header. */
	mk_icmp_err(&f, 3, 1, 0);
	ip_of(&f)->total_length = rte_cpu_to_be_16(IPH + ICMPH + 12);
	ip_fix(&f);
	f.len = ETH + IPH + ICMPH + 12;
	EXPECT_KIND(&f, MG_PKT_ICMP);
	assert_int_equal(quoted(&f), -1);
	/* ICMP with no quote at all. */
	mk_icmp_err(&f, 3, 1, 0);
	ip_of(&f)->total_length = rte_cpu_to_be_16(IPH + ICMPH);
	ip_fix(&f);
	f.len = ETH + IPH + ICMPH;
	EXPECT_KIND(&f, MG_PKT_ICMP);
	assert_int_equal(quoted(&f), -1);

	/* The quote must lie within the ICMP message, not in the padding. */
	mk_icmp_err(&f, 3, 1, 8);
	ip_of(&f)->total_length = rte_cpu_to_be_16(IPH + ICMPH + IPH + 7);
	ip_fix(&f);
	EXPECT_KIND(&f, MG_PKT_ICMP);
	assert_int_equal(quoted(&f), -1);
	/* ...and within the first segment. */
	mk_icmp_err(&f, 3, 1, 8);
	assert_int_equal(quoted_ex(&f, f.len - 1), -1);
	assert_int_equal(quoted_ex(&f, Q_OFF + 10), -1);
	assert_int_equal(quoted_ex(&f, f.len), Q_OFF);

	/* Quoted header checks. */
	mk_icmp_err(&f, 3, 1, 8);
	quote_set(&f, 0x65, IPPROTO_TCP, 0);           /* version 6 */
	assert_int_equal(quoted(&f), -1);
	quote_set(&f, 0x44, IPPROTO_TCP, 0);           /* IHL 4 */
	assert_int_equal(quoted(&f), -1);
	quote_set(&f, 0x40, IPPROTO_TCP, 0);           /* IHL 0 */
	assert_int_equal(quoted(&f), -1);
	quote_set(&f, 0x45, IPPROTO_UDP, 0);           /* not TCP */
	assert_int_equal(quoted(&f), -1);
	quote_set(&f, 0x45, IPPROTO_ICMP, 0);
	assert_int_equal(quoted(&f), -1);
	quote_set(&f, 0x45, IPPROTO_TCP, 185);         /* non-first fragment */
	assert_int_equal(quoted(&f), -1);
	quote_set(&f, 0x45, IPPROTO_TCP, RTE_IPV4_HDR_MF_FLAG); /* first fragment: has the ports */
	assert_int_equal(quoted(&f), Q_OFF);
	quote_set(&f, 0x45, IPPROTO_TCP, RTE_IPV4_HDR_DF_FLAG);
	assert_int_equal(quoted(&f), Q_OFF);

	/* A quoted header with options is fine, if the 8 TCP bytes follow it. */
	mk_icmp_err(&f, 3, 1, 12);                     /* 20 + 12 bytes quoted */
	quote_set(&f, 0x46, IPPROTO_TCP, 0);           /* IHL 6: 24 + 8 */
	assert_int_equal(quoted(&f), Q_OFF);
	quote_set(&f, 0x47, IPPROTO_TCP, 0);           /* IHL 7: 28 + 4: short */
	assert_int_equal(quoted(&f), -1);
	mk_icmp_err(&f, 3, 1, 48);                     /* 20 + 48 = 60 + 8 */
	quote_set(&f, 0x4f, IPPROTO_TCP, 0);           /* IHL 15 */
	assert_int_equal(quoted(&f), Q_OFF);
	mk_icmp_err(&f, 3, 1, 47);
	quote_set(&f, 0x4f, IPPROTO_TCP, 0);
	assert_int_equal(quoted(&f), -1);

	/* Only errors quote: an echo does not, nor a dropped frame. */
	mk_icmp_echo(&f, 64);
	assert_int_equal(quoted(&f), -1);
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	assert_int_equal(quoted(&f), -1);
	mk_icmp_err(&f, 3, 1, 8);
	icmp_of(&f)->icmp_type = 5;                    /* redirect: dropped */
	assert_int_equal(quoted(&f), -1);
}

/* ---- drops ------------------------------------------------------------------ */

static void
test_drop_l2(void **state)
{
	(void)state;
	struct frame f;

	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	for (uint32_t n = 0; n < ETH; n++) {
		f.len = n;
		EXPECT_DROP(&f, MG_DROP_L2_SHORT);
	}

	static const uint16_t other[] = {
		RTE_ETHER_TYPE_IPV6, RTE_ETHER_TYPE_VLAN, RTE_ETHER_TYPE_QINQ,
		RTE_ETHER_TYPE_LLDP, RTE_ETHER_TYPE_RARP, 0x0000, 0xffff, 0x0008,
	};
	for (size_t i = 0; i < RTE_DIM(other); i++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		put_eth(&f, other[i]);
		EXPECT_DROP(&f, MG_DROP_L2_ETHERTYPE);
	}
	/* A VLAN-tagged IPv4 frame: dropped as a foreign ethertype. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	memmove(f.b + 16, f.b + 12, f.len - 12);
	f.b[12] = 0x81;
	f.b[13] = 0x00;
	f.b[14] = 0x00;
	f.b[15] = 0x05;
	f.len += 4;
	EXPECT_DROP(&f, MG_DROP_L2_ETHERTYPE);
}

static void
test_drop_arp(void **state)
{
	(void)state;
	struct frame f;
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(f.b + ETH);

	mk_arp(&f, RTE_ARP_OP_REQUEST);
	for (uint32_t n = ETH; n < ETH + sizeof(*a); n++) {
		f.len = n;
		EXPECT_DROP(&f, MG_DROP_ARP_MALFORMED);
	}
	mk_arp(&f, RTE_ARP_OP_REQUEST);
	a->arp_hardware = rte_cpu_to_be_16(6);         /* IEEE 802 */
	EXPECT_DROP(&f, MG_DROP_ARP_MALFORMED);
	mk_arp(&f, RTE_ARP_OP_REQUEST);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	EXPECT_DROP(&f, MG_DROP_ARP_MALFORMED);
	mk_arp(&f, RTE_ARP_OP_REQUEST);
	a->arp_hlen = 8;
	EXPECT_DROP(&f, MG_DROP_ARP_MALFORMED);
	mk_arp(&f, RTE_ARP_OP_REQUEST);
	a->arp_plen = 16;
	EXPECT_DROP(&f, MG_DROP_ARP_MALFORMED);
	static const uint16_t bad_ops[] = { 0, 3, 4, 8, 9, 0x100, 0xffff };
	for (size_t i = 0; i < RTE_DIM(bad_ops); i++) {
		mk_arp(&f, bad_ops[i]);
		EXPECT_DROP(&f, MG_DROP_ARP_MALFORMED);
	}
}

static void
test_drop_ip_header(void **state)
{
	(void)state;
	struct frame f;

	/* Truncated IPv4 header. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	for (uint32_t n = ETH; n < ETH + IPH; n++) {
		f.len = n;
		EXPECT_DROP(&f, MG_DROP_IP_SHORT);
	}
	/* Version. */
	static const uint8_t versions[] = { 0, 1, 5, 6, 15 };
	for (size_t i = 0; i < sizeof(versions); i++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		ip_of(&f)->version_ihl = (uint8_t)(versions[i] << 4 | 5);
		ip_fix(&f);
		EXPECT_DROP(&f, MG_DROP_IP_VERSION);
	}
	/* IHL < 5. */
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		ip_of(&f)->version_ihl = (uint8_t)(0x40 | ihl);
		EXPECT_DROP(&f, MG_DROP_IP_HDRLEN);
	}
	/* IHL > 5: options, even when well-formed and checksummed. */
	for (uint8_t ihl = 6; ihl <= 15; ihl++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		uint32_t optlen = (ihl - 5u) * 4;
		memmove(f.b + ETH + IPH + optlen, f.b + ETH + IPH, f.len - ETH - IPH);
		memset(f.b + ETH + IPH, RTE_IPV4_HDR_OPT_NOP, optlen);
		f.len += optlen;
		ip_of(&f)->version_ihl = (uint8_t)(0x40 | ihl);
		ip_of(&f)->total_length = rte_cpu_to_be_16((uint16_t)(f.len - ETH));
		ip_fix(&f);
		EXPECT_DROP(&f, MG_DROP_IP_OPTIONS);
	}
}

static void
test_drop_ip_len(void **state)
{
	(void)state;
	struct frame f;
	struct mg_pkt_info pi;

	/* Total length beyond the frame. */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 100);
	ip_of(&f)->total_length = rte_cpu_to_be_16((uint16_t)(f.len - ETH + 1));
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_IP_LEN);
	ip_of(&f)->total_length = rte_cpu_to_be_16(0xffff);
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_IP_LEN);
	/* Frame cut short by the wire. */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 100);
	f.len -= 1;
	EXPECT_DROP(&f, MG_DROP_IP_LEN);
	/* Exactly the frame: fine. */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 100);
	EXPECT_KIND(&f, MG_PKT_TCP);
	/* Total length shorter than the header. */
	static const uint16_t small[] = { 0, 1, 19 };
	for (size_t i = 0; i < RTE_DIM(small); i++) {
		mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 100);
		ip_of(&f)->total_length = rte_cpu_to_be_16(small[i]);
		ip_fix(&f);
		EXPECT_DROP(&f, MG_DROP_IP_LEN);
	}
	/* Total length within a chained frame, beyond the first segment: fine. */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 1000);
	EXPECT_KIND_EX(&f, 100, 0, MG_PKT_TCP);
	assert_int_equal(parse_ex(&f, 100, 0, &pi), MG_PKT_TCP);
	assert_int_equal(pi.payload_len, 1000);
	/* ...but not beyond the whole chain. */
	ip_of(&f)->total_length = rte_cpu_to_be_16((uint16_t)(f.len - ETH + 1));
	ip_fix(&f);
	EXPECT_DROP_EX(&f, 100, 0, MG_DROP_IP_LEN);
	/* Shorter than the frame (padding) trims the TCP payload. */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 100);
	ip_of(&f)->total_length = rte_cpu_to_be_16(IPH + TCPH + 30);
	ip_fix(&f);
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	assert_int_equal(pi.payload_len, 30);
	assert_int_equal(pi.l4_len, TCPH + 30);
}

static void
test_drop_ip_csum(void **state)
{
	(void)state;
	struct frame f;

	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	ip_of(&f)->hdr_checksum ^= rte_cpu_to_be_16(1);
	EXPECT_DROP(&f, MG_DROP_IP_CSUM);
	/* The checksum covers every header byte: corrupt each in turn. */
	for (uint32_t i = 0; i < IPH; i++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		if (i == 0 || i == 2 || i == 3)
			continue; /* version/IHL and length are caught earlier */
		f.b[ETH + i] ^= 0x10;
		EXPECT_DROP(&f, MG_DROP_IP_CSUM);
	}
	/* A zeroed checksum (not computed) on an otherwise valid header. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	assert_int_not_equal(ip_of(&f)->hdr_checksum, 0);
	ip_of(&f)->hdr_checksum = 0;
	EXPECT_DROP(&f, MG_DROP_IP_CSUM);

	/* Random header contents: refused exactly when DPDK's own checksum
	 * says so (the parser sums 32-bit words, rte_ipv4_cksum 16-bit ones). */
	rte_srand(7);
	for (uint32_t n = 0; n < 20000; n++) {
		struct rte_ipv4_hdr *ip;

		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		ip = ip_of(&f);
		ip->type_of_service = (uint8_t)rte_rand();
		ip->packet_id = (uint16_t)rte_rand();
		ip->time_to_live = (uint8_t)(1 + rte_rand() % 255);
		ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(1 + rte_rand() % 126, 0, 0, 0) |
						(uint32_t)(rte_rand() & 0xffffff));
		ip->dst_addr = (uint32_t)rte_rand();
		tcp_of(&f)->cksum = 0;  /* the SYN's own checksum covers the addresses */
		tcp_of(&f)->cksum = rte_ipv4_udptcp_cksum(ip, tcp_of(&f));
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		if (n & 1)
			ip->hdr_checksum = (uint16_t)rte_rand();
		if (rte_ipv4_cksum(ip) == 0)
			EXPECT_KIND_EX(&f, 0, 0, MG_PKT_TCP);
		else
			EXPECT_DROP_EX(&f, 0, 0, MG_DROP_IP_CSUM);
	}

	/* RX offload: GOOD is trusted, BAD is believed, NONE/UNKNOWN verified. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	EXPECT_KIND_EX(&f, 0, RTE_MBUF_F_RX_IP_CKSUM_GOOD, MG_PKT_TCP);
	EXPECT_DROP_EX(&f, 0, RTE_MBUF_F_RX_IP_CKSUM_BAD, MG_DROP_IP_CSUM);
	EXPECT_KIND_EX(&f, 0, RTE_MBUF_F_RX_IP_CKSUM_NONE, MG_PKT_TCP);
	EXPECT_KIND_EX(&f, 0, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN, MG_PKT_TCP);
	ip_of(&f)->hdr_checksum ^= 0x5555;
	EXPECT_KIND_EX(&f, 0, RTE_MBUF_F_RX_IP_CKSUM_GOOD, MG_PKT_TCP);
	EXPECT_DROP_EX(&f, 0, RTE_MBUF_F_RX_IP_CKSUM_BAD, MG_DROP_IP_CSUM);
	EXPECT_DROP_EX(&f, 0, RTE_MBUF_F_RX_IP_CKSUM_NONE, MG_DROP_IP_CSUM);
	EXPECT_DROP_EX(&f, 0, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN, MG_DROP_IP_CSUM);
	/* Unrelated offload flags do not matter. */
	EXPECT_DROP_EX(&f, 0, RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_RSS_HASH,
		       MG_DROP_IP_CSUM);
}

static void
test_drop_ip_fragment(void **state)
{
	(void)state;
	struct frame f;
	static const uint16_t frag[] = {
		RTE_IPV4_HDR_MF_FLAG, RTE_IPV4_HDR_MF_FLAG | 1, 1, 185, RTE_IPV4_HDR_OFFSET_MASK,
		RTE_IPV4_HDR_DF_FLAG | 1, RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_DF_FLAG,
	};
	static const uint16_t whole[] = { 0, RTE_IPV4_HDR_DF_FLAG };

	for (size_t i = 0; i < RTE_DIM(frag); i++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		ip_of(&f)->fragment_offset = rte_cpu_to_be_16(frag[i]);
		ip_fix(&f);
		EXPECT_DROP(&f, MG_DROP_IP_FRAGMENT);
	}
	for (size_t i = 0; i < RTE_DIM(whole); i++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		ip_of(&f)->fragment_offset = rte_cpu_to_be_16(whole[i]);
		ip_fix(&f);
		EXPECT_KIND(&f, MG_PKT_TCP);
	}
	/* A non-first ICMP fragment too. */
	mk_icmp_echo(&f, 100);
	ip_of(&f)->fragment_offset = rte_cpu_to_be_16(100);
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_IP_FRAGMENT);
}

static void
test_drop_ip_ttl(void **state)
{
	(void)state;
	struct frame f;

	/* Forwarded without a decrement: a TTL of 0 would leave as 0. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	ip_of(&f)->time_to_live = 0;
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_IP_TTL);
	mk_icmp_echo(&f, 8);
	ip_of(&f)->time_to_live = 0;
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_IP_TTL);
	/* 1 is fine: meshgate terminates the route at the VIP, as a host would. */
	for (unsigned int ttl = 1; ttl <= 255; ttl += 127) {
		mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 10);
		ip_of(&f)->time_to_live = (uint8_t)ttl;
		ip_fix(&f);
		EXPECT_KIND(&f, MG_PKT_TCP);
	}
	/* After the fragment check, before the source check. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	ip_of(&f)->time_to_live = 0;
	ip_of(&f)->src_addr = rte_cpu_to_be_32(RTE_IPV4(127, 0, 0, 1));
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_IP_TTL);
	ip_of(&f)->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_IP_FRAGMENT);
}

static void
test_drop_ip_src(void **state)
{
	(void)state;
	struct frame f;
	static const uint32_t martian[] = {
		RTE_IPV4(0, 0, 0, 0), RTE_IPV4(0, 1, 2, 3), RTE_IPV4(127, 0, 0, 1),
		RTE_IPV4(127, 255, 255, 254), RTE_IPV4(224, 0, 0, 1), RTE_IPV4(239, 255, 255, 250),
		RTE_IPV4(240, 0, 0, 1), RTE_IPV4(255, 255, 255, 255),
	};
	static const uint32_t fine[] = {
		RTE_IPV4(1, 0, 0, 0), RTE_IPV4(126, 255, 255, 255), RTE_IPV4(128, 0, 0, 1),
		RTE_IPV4(223, 255, 255, 255), RTE_IPV4(192, 168, 1, 1), RTE_IPV4(169, 254, 1, 1),
	};

	for (size_t i = 0; i < RTE_DIM(martian); i++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		ip_of(&f)->src_addr = rte_cpu_to_be_32(martian[i]);
		ip_fix(&f);
		EXPECT_DROP(&f, MG_DROP_IP_SRC);
		mk_icmp_echo(&f, 8);
		ip_of(&f)->src_addr = rte_cpu_to_be_32(martian[i]);
		ip_fix(&f);
		EXPECT_DROP(&f, MG_DROP_IP_SRC);
	}
	for (size_t i = 0; i < RTE_DIM(fine); i++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		ip_of(&f)->src_addr = rte_cpu_to_be_32(fine[i]);
		ip_fix(&f);
		tcp_fix(&f);
		EXPECT_KIND(&f, MG_PKT_TCP);
	}
}

static void
test_drop_l4_proto(void **state)
{
	(void)state;
	struct frame f;
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_GRE, IPPROTO_ESP, 0, 4, 41, 132, 255 };

	for (size_t i = 0; i < sizeof(protos); i++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		ip_of(&f)->next_proto_id = protos[i];
		ip_fix(&f);
		EXPECT_DROP(&f, MG_DROP_L4_PROTO);
	}
}

static void
test_drop_tcp_short(void **state)
{
	(void)state;
	struct frame f;

	/* IP datagram too short for a TCP header. */
	for (uint32_t n = 0; n < TCPH; n++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
		ip_of(&f)->total_length = rte_cpu_to_be_16((uint16_t)(IPH + n));
		ip_fix(&f);
		f.len = ETH + IPH + n;
		EXPECT_DROP(&f, MG_DROP_TCP_SHORT);
		/* Still short with padding after the datagram. */
		f.len = 60 > ETH + IPH + n ? 60 : ETH + IPH + n;
		EXPECT_DROP(&f, MG_DROP_TCP_SHORT);
	}
	/* First segment ends inside the TCP header (rest chained). */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 100);
	for (uint32_t s = ETH + IPH; s < ETH + IPH + TCPH; s++)
		EXPECT_DROP_EX(&f, s, 0, MG_DROP_TCP_SHORT);
	/* ...or inside the options. */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 12, 100);
	for (uint32_t s = ETH + IPH + TCPH; s < ETH + IPH + TCPH + 12; s++)
		EXPECT_DROP_EX(&f, s, 0, MG_DROP_TCP_SHORT);
	EXPECT_KIND_EX(&f, ETH + IPH + TCPH + 12, 0, MG_PKT_TCP);
	/* First segment ends inside the IP header: IP short, whatever follows. */
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 100);
	EXPECT_DROP_EX(&f, ETH + 10, 0, MG_DROP_IP_SHORT);
	EXPECT_DROP_EX(&f, ETH - 1, 0, MG_DROP_L2_SHORT);
}

static void
test_drop_tcp_doff(void **state)
{
	(void)state;
	struct frame f;
	struct mg_pkt_info pi;

	for (uint8_t doff = 0; doff < 5; doff++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 40);
		tcp_of(&f)->data_off = (uint8_t)(doff << 4);
		EXPECT_DROP(&f, MG_DROP_TCP_DOFF);
	}
	/* Data offset beyond the IP payload, even if the frame holds the bytes. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	tcp_of(&f)->data_off = 6 << 4;
	f.len = 60; /* padding */
	EXPECT_DROP(&f, MG_DROP_TCP_DOFF);
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 20, 0);
	tcp_of(&f)->data_off = 11 << 4;
	EXPECT_DROP(&f, MG_DROP_TCP_DOFF);
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 10);
	tcp_of(&f)->data_off = 15 << 4;
	EXPECT_DROP(&f, MG_DROP_TCP_DOFF);
	/* Exactly to the end of the IP payload: valid, no payload. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 40);
	tcp_of(&f)->data_off = 15 << 4;
	tcp_fix(&f);
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	assert_int_equal(pi.payload_len, 0);
	/* Reserved bits below the data offset are ignored. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	tcp_of(&f)->data_off = (5 << 4) | 0x0f;
	tcp_fix(&f);
	EXPECT_KIND(&f, MG_PKT_TCP);
}

static void
test_drop_tcp_flags(void **state)
{
	(void)state;
	struct frame f;
	static const uint8_t bad[] = {
		0,                                              /* null scan */
		RTE_TCP_PSH_FLAG, RTE_TCP_URG_FLAG, RTE_TCP_PSH_FLAG | RTE_TCP_URG_FLAG,
		RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG,
		RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG,
		RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG,
		RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG,
		RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
		RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG,
		0xff,                                           /* christmas tree */
	};

	for (size_t i = 0; i < sizeof(bad); i++) {
		mk_tcp(&f, bad[i], 0, 0);
		EXPECT_DROP(&f, MG_DROP_TCP_FLAGS);
	}
	/* Every flag byte: dropped exactly when the policy says so. */
	for (unsigned fl = 0; fl < 256; fl++) {
		struct mg_pkt_info pi;
		bool imp = (fl & 0x03) == 0x03 || (fl & 0x06) == 0x06 || (fl & 0x17) == 0;

		mk_tcp(&f, (uint8_t)fl, 0, 0);
		if (imp) {
			EXPECT_DROP(&f, MG_DROP_TCP_FLAGS);
		} else {
			assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
			assert_int_equal(pi.tcp_flags, fl);
		}
	}
}

static void
test_drop_tcp_port(void **state)
{
	(void)state;
	struct frame f;

	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	tcp_of(&f)->src_port = 0;
	EXPECT_DROP(&f, MG_DROP_TCP_PORT);
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	tcp_of(&f)->dst_port = 0;
	EXPECT_DROP(&f, MG_DROP_TCP_PORT);
	mk_tcp(&f, RTE_TCP_ACK_FLAG, 0, 0);
	tcp_of(&f)->src_port = 0;
	tcp_of(&f)->dst_port = 0;
	EXPECT_DROP(&f, MG_DROP_TCP_PORT);
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	tcp_of(&f)->src_port = rte_cpu_to_be_16(1);
	tcp_of(&f)->dst_port = rte_cpu_to_be_16(65535);
	tcp_fix(&f);
	EXPECT_KIND(&f, MG_PKT_TCP);
}

static void
test_drop_tcp_csum(void **state)
{
	(void)state;
	struct frame f;
	struct mg_pkt_info pi;

	/* A SYN with a bad checksum opens nothing. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 20, 0);
	tcp_of(&f)->cksum ^= 0x0101;
	EXPECT_DROP(&f, MG_DROP_TCP_CSUM);
	mk_tcp(&f, RTE_TCP_SYN_FLAG | RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG, 0, 0);
	tcp_of(&f)->sent_seq ^= 1;                 /* covered data changed */
	EXPECT_DROP(&f, MG_DROP_TCP_CSUM);
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	ip_of(&f)->src_addr ^= rte_cpu_to_be_32(1); /* the pseudo-header is covered */
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_TCP_CSUM);
	/* Other segments are not verified (rewritten incrementally, the receiver drops them). */
	static const uint8_t unverified[] = {
		RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, RTE_TCP_ACK_FLAG, RTE_TCP_RST_FLAG,
		RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG,
	};
	for (size_t i = 0; i < sizeof(unverified); i++) {
		mk_tcp(&f, unverified[i], 0, 10);
		tcp_of(&f)->cksum ^= 0x0101;
		EXPECT_KIND(&f, MG_PKT_TCP);
	}
	/* SYN with data (TCP Fast Open), odd length, split anywhere into two segments:
	 * the sum runs across segments (an odd first part swaps the second's bytes). */
	for (uint32_t pay = 0; pay < 6; pay++) {
		mk_tcp(&f, RTE_TCP_SYN_FLAG, 12, 100 + pay);
		for (uint32_t split = ETH + IPH + TCPH + 12; split <= f.len; split++)
			EXPECT_KIND_EX(&f, split, 0, MG_PKT_TCP);
		f.b[f.len - 1] ^= 0x40;                /* the last byte, in the 2nd segment */
		for (uint32_t split = ETH + IPH + TCPH + 12; split < f.len; split++)
			EXPECT_DROP_EX(&f, split, 0, MG_DROP_TCP_CSUM);
		f.b[f.len - 1] ^= 0x40;
	}
	/* Ethernet padding after the datagram is not summed. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	memset(f.b + f.len, 0xa5, 60 - f.len);
	f.len = 60;
	assert_int_equal(parse(&f, &pi), MG_PKT_TCP);
	/* The RX offload flags when the port gives them: GOOD and NONE (data verified,
	 * field maybe not filled in) are taken, BAD drops, UNKNOWN is computed. */
	mk_tcp(&f, RTE_TCP_SYN_FLAG, 0, 0);
	tcp_of(&f)->cksum ^= 0x0101;
	EXPECT_KIND_EX(&f, 0, RTE_MBUF_F_RX_L4_CKSUM_GOOD, MG_PKT_TCP);
	EXPECT_KIND_EX(&f, 0, RTE_MBUF_F_RX_L4_CKSUM_NONE, MG_PKT_TCP);
	EXPECT_DROP_EX(&f, 0, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN, MG_DROP_TCP_CSUM);
	tcp_fix(&f);
	EXPECT_DROP_EX(&f, 0, RTE_MBUF_F_RX_L4_CKSUM_BAD, MG_DROP_TCP_CSUM);
	EXPECT_KIND_EX(&f, 0, RTE_MBUF_F_RX_IP_CKSUM_GOOD, MG_PKT_TCP);
}

static void
test_drop_icmp(void **state)
{
	(void)state;
	struct frame f;

	/* Fewer than 8 bytes of ICMP in the datagram. */
	for (uint32_t n = 0; n < ICMPH; n++) {
		mk_icmp_echo(&f, 0);
		ip_of(&f)->total_length = rte_cpu_to_be_16((uint16_t)(IPH + n));
		ip_fix(&f);
		f.len = ETH + IPH + n;
		EXPECT_DROP(&f, MG_DROP_ICMP_SHORT);
		f.len = 60;
		EXPECT_DROP(&f, MG_DROP_ICMP_SHORT);
	}
	/* First segment ends inside the ICMP header. */
	mk_icmp_echo(&f, 100);
	for (uint32_t s = ETH + IPH; s < ETH + IPH + ICMPH; s++)
		EXPECT_DROP_EX(&f, s, 0, MG_DROP_ICMP_SHORT);
	EXPECT_KIND_EX(&f, ETH + IPH + ICMPH, 0, MG_PKT_ICMP);

	/* Types other than echo request, unreachable, time exceeded. */
	for (unsigned t = 0; t < 256; t++) {
		mk_icmp_echo(&f, 16);
		icmp_of(&f)->icmp_type = (uint8_t)t;
		if (t == 8 || t == 3 || t == 11)
			EXPECT_KIND(&f, MG_PKT_ICMP);
		else
			EXPECT_DROP(&f, MG_DROP_ICMP_TYPE);
	}
}

/* Frames with several defects count under the outermost one. */
static void
test_drop_precedence(void **state)
{
	(void)state;
	struct frame f;

	mk_tcp(&f, RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG, 0, 0);
	tcp_of(&f)->src_port = 0;
	EXPECT_DROP(&f, MG_DROP_TCP_FLAGS);
	ip_of(&f)->src_addr = rte_cpu_to_be_32(RTE_IPV4(127, 0, 0, 1));
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_IP_SRC);
	ip_of(&f)->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	ip_fix(&f);
	EXPECT_DROP(&f, MG_DROP_IP_FRAGMENT);
	ip_of(&f)->hdr_checksum ^= 1;
	EXPECT_DROP(&f, MG_DROP_IP_CSUM);
	ip_of(&f)->total_length = rte_cpu_to_be_16(1000);
	EXPECT_DROP(&f, MG_DROP_IP_LEN);
	ip_of(&f)->version_ihl = 0x46;
	EXPECT_DROP(&f, MG_DROP_IP_OPTIONS);
	ip_of(&f)->version_ihl = 0x44;
	EXPECT_DROP(&f, MG_DROP_IP_HDRLEN);
	ip_of(&f)->version_ihl = 0x64;
	EXPECT_DROP(&f, MG_DROP_IP_VERSION);
}

/* The parser returns these and only these; every one must have been met above. */
static const enum mg_drop_reason parser_reasons[] = {
	MG_DROP_L2_SHORT, MG_DROP_L2_ETHERTYPE, MG_DROP_ARP_MALFORMED,
	MG_DROP_IP_SHORT, MG_DROP_IP_VERSION, MG_DROP_IP_HDRLEN, MG_DROP_IP_OPTIONS,
	MG_DROP_IP_LEN, MG_DROP_IP_CSUM, MG_DROP_IP_FRAGMENT, MG_DROP_IP_TTL, MG_DROP_IP_SRC,
	MG_DROP_L4_PROTO, MG_DROP_ICMP_SHORT, MG_DROP_ICMP_TYPE,
	MG_DROP_TCP_SHORT, MG_DROP_TCP_DOFF, MG_DROP_TCP_FLAGS, MG_DROP_TCP_PORT,
	MG_DROP_TCP_CSUM,
};

static bool
is_parser_reason(unsigned r)
{
	for (size_t i = 0; i < RTE_DIM(parser_reasons); i++)
		if (parser_reasons[i] == r)
			return true;
	return false;
}

static void
test_all_parser_reasons_covered(void **state)
{
	(void)state;

	for (size_t i = 0; i < RTE_DIM(parser_reasons); i++)
		if (!seen_drop[parser_reasons[i]])
			fail_msg("no test produced drop reason %s",
				 mg_drop_reason_name(parser_reasons[i]));
	for (unsigned r = 0; r < MG_DROP__MAX; r++)
		if (seen_drop[r] && !is_parser_reason(r))
			fail_msg("the parser returned caller-only reason %s",
				 mg_drop_reason_name((enum mg_drop_reason)r));
}

static void
test_drop_reason_names(void **state)
{
	(void)state;

	assert_string_equal(mg_drop_reason_name(MG_DROP_NONE), "none");
	assert_string_equal(mg_drop_reason_name(MG_DROP_L2_SHORT), "l2_short");
	assert_string_equal(mg_drop_reason_name(MG_DROP_L2_ETHERTYPE), "l2_ethertype");
	assert_string_equal(mg_drop_reason_name(MG_DROP_IP_CSUM), "ip_csum");
	assert_string_equal(mg_drop_reason_name(MG_DROP_IP_OPTIONS), "ip_options");
	assert_string_equal(mg_drop_reason_name(MG_DROP_TCP_DOFF), "tcp_doff");
	assert_string_equal(mg_drop_reason_name(MG_DROP_TCP_FLAGS), "tcp_flags");
	assert_string_equal(mg_drop_reason_name(MG_DROP_NEIGH_UNRESOLVED), "neigh_unresolved");
	assert_string_equal(mg_drop_reason_name(MG_DROP_SYN_RETRANSMIT), "syn_retransmit");

	for (unsigned r = 0; r < MG_DROP__MAX; r++) {
		const char *n = mg_drop_reason_name((enum mg_drop_reason)r);

		assert_non_null(n);
		assert_true(strlen(n) > 0 && strlen(n) < 24);
		assert_true(islower((unsigned char)n[0]));
		for (const char *c = n; *c; c++)
			assert_true(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_');
		for (unsigned o = 0; o < r; o++)
			assert_string_not_equal(n, mg_drop_reason_name((enum mg_drop_reason)o));
	}
	/* Out of range: a name all the same. */
	assert_non_null(mg_drop_reason_name(MG_DROP__MAX));
	assert_non_null(mg_drop_reason_name((enum mg_drop_reason)255));
	assert_non_null(mg_drop_reason_name((enum mg_drop_reason)-1));
}

/* ---- checksum helpers and NAT ----------------------------------------------- */

/* Checksum of a buffer, as a sender computes it (never 0xffff unless all zero). */
static uint16_t
full_csum(const void *buf, size_t len)
{
	return (uint16_t)~rte_raw_cksum(buf, len);
}

static uint16_t
rnd_word(void)
{
	switch (rnd_below(8)) {
	case 0: return 0;
	case 1: return 0xffff;
	case 2: return 0xfffe;
	case 3: return 1;
	default: return (uint16_t)rnd();
	}
}

static void
test_csum_update(void **state)
{
	(void)state;
	uint8_t buf[128] __attribute__((aligned(4)));

	for (int iter = 0; iter < 200000; iter++) {
		size_t n = 4 + 2 * rnd_below(60);         /* bytes, even */
		size_t pos;
		uint16_t c, o16, n16;
		uint32_t o32, n32;

		for (size_t i = 0; i < n; i += 2) {
			uint16_t w = rnd_word();
			memcpy(buf + i, &w, 2);
		}
		buf[0] |= 0x40; /* never all zero, like any real header */
		c = full_csum(buf, n);

		/* 16-bit field at an even offset (not the first word). */
		pos = 2 + 2 * rnd_below((uint32_t)(n / 2 - 1));
		memcpy(&o16, buf + pos, 2);
		n16 = rnd_word();
		memcpy(buf + pos, &n16, 2);
		c = mg_csum_update16(c, o16, n16);
		assert_int_equal(c, full_csum(buf, n));

		/* 32-bit field at an even offset, as addresses sit in headers. */
		if (n >= 6) {
			pos = 2 + 2 * rnd_below((uint32_t)(n / 2 - 2));
			memcpy(&o32, buf + pos, 4);
			n32 = (uint32_t)rnd_word() << 16 | rnd_word();
			memcpy(buf + pos, &n32, 4);
			c = mg_csum_update32(c, o32, n32);
			assert_int_equal(c, full_csum(buf, n));
		}
	}

	/* No change leaves the checksum alone (0xffff is not produced). */
	for (uint32_t c = 0; c < 0xffff; c++) {
		assert_int_equal(mg_csum_update16((uint16_t)c, 0x1234, 0x1234), c);
		assert_int_equal(mg_csum_update32((uint16_t)c, 0xdeadbeef, 0xdeadbeef), c);
	}
}

/* A random valid TCP frame with checksums right. */
static void
mk_random_tcp(struct frame *f)
{
	uint32_t optlen = 4 * rnd_below(11);
	uint32_t paylen = rnd_below(4) == 0 ? 0 : rnd_below(1461);
	struct rte_ipv4_hdr *ip = ip_of(f);
	struct rte_tcp_hdr *th = tcp_of(f);

	mk_tcp(f, RTE_TCP_ACK_FLAG | (uint8_t)(rnd() & RTE_TCP_PSH_FLAG), optlen, paylen);
	for (uint32_t i = 0; i < paylen; i++)
		f->b[ETH + IPH + TCPH + optlen + i] = (uint8_t)rnd();
	ip->type_of_service = (uint8_t)rnd();
	ip->packet_id = (uint16_t)rnd();
	ip->time_to_live = (uint8_t)(1 + rnd_below(255));
	ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(1 + rnd_below(126), rnd_below(256),
						 rnd_below(256), rnd_below(256)));
	ip->dst_addr = (uint32_t)rnd();
	th->src_port = (uint16_t)(1 + rnd_below(65535));
	th->dst_port = (uint16_t)(1 + rnd_below(65535));
	th->sent_seq = (uint32_t)rnd();
	th->recv_ack = (uint32_t)rnd();
	th->rx_win = (uint16_t)rnd();
	ip_fix(f);
	tcp_fix(f);
}

/* Both checksums of @p ip/@p th must equal a full recomputation. */
static void
check_csums(struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th)
{
	uint16_t ic = ip->hdr_checksum, tc = th->cksum;

	ip->hdr_checksum = 0;
	assert_int_equal(ic, rte_ipv4_cksum(ip));
	ip->hdr_checksum = ic;
	th->cksum = 0;
	assert_int_equal(tc, rte_ipv4_udptcp_cksum(ip, th));
	th->cksum = tc;
	/* And as a receiver verifies them. */
	assert_int_equal(rte_ipv4_cksum(ip), 0);
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, th), 0);
}

static void
test_nat_tcp_random(void **state)
{
	(void)state;
	static struct frame f;
	struct mg_pkt_info pi;

	for (int iter = 0; iter < 50000; iter++) {
		mk_random_tcp(&f);

		struct rte_mbuf *m = mbuf_of(&f, 0);
		assert_int_equal(mg_pkt_parse(m, &pi), MG_PKT_TCP);
		struct rte_ipv4_hdr *ip = mg_pkt_ip(m, &pi);
		struct rte_tcp_hdr *th = mg_pkt_tcp(m, &pi);
		check_csums(ip, th);

		uint32_t sip = (uint32_t)rnd(), dip = (uint32_t)rnd();
		uint16_t sp = (uint16_t)rnd(), dp = (uint16_t)rnd();
		switch (rnd_below(6)) {  /* also rewrite only part of the tuple */
		case 0: sip = ip->src_addr; sp = th->src_port; break;  /* DNAT only */
		case 1: dip = ip->dst_addr; dp = th->dst_port; break;  /* SNAT only */
		case 2: sip = ip->src_addr; dip = ip->dst_addr; sp = th->src_port; dp = th->dst_port; break;
		case 3: sip = ~ip->src_addr; break;
		default: break;
		}
		mg_pkt_nat_tcp(ip, th, sip, sp, dip, dp);
		assert_int_equal(ip->src_addr, sip);
		assert_int_equal(ip->dst_addr, dip);
		assert_int_equal(th->src_port, sp);
		assert_int_equal(th->dst_port, dp);
		check_csums(ip, th);
		rte_pktmbuf_free(m);
	}
}

/*
 * A flow's precomputed deltas (mg_pkt_nat_delta) rewrite exactly as
 * mg_pkt_nat_tcp() does, both ways: client -> endpoint with the deltas,
 * endpoint -> client with ~deltas, back to the original bytes. Random
 * frames, and every value of the endpoint port (so every checksum result).
 */
static void
test_nat_tcp_delta(void **state)
{
	(void)state;
	static struct frame f, g, orig;

	for (uint32_t iter = 0; iter < 50000 + 65536; iter++) {
		uint32_t sip = (uint32_t)rnd(), dip = (uint32_t)rnd();
		uint16_t sp = (uint16_t)rnd(), dp = (uint16_t)rnd();
		uint16_t d_ip, d_tcp;

		if (iter < 50000) {
			mk_random_tcp(&f);
		} else {
			mk_tcp(&f, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 0, 13);
			sip = rte_cpu_to_be_32(SNAT_IP);
			sp = rte_cpu_to_be_16(40001);
			dip = rte_cpu_to_be_32(EP_IP);
			dp = rte_cpu_to_be_16((uint16_t)(iter - 50000));
		}
		orig = f;
		g = f;
		struct rte_ipv4_hdr *ip = ip_of(&f), *gip = ip_of(&g);
		struct rte_tcp_hdr *th = tcp_of(&f), *gth = tcp_of(&g);

		mg_pkt_nat_delta(ip->src_addr, th->src_port, ip->dst_addr, th->dst_port,
				 sip, sp, dip, dp, &d_ip, &d_tcp);
		mg_pkt_nat_tcp_delta(ip, th, sip, sp, dip, dp, d_ip, d_tcp);
		mg_pkt_nat_tcp(gip, gth, sip, sp, dip, dp);
		assert_memory_equal(f.b, g.b, f.len);
		check_csums(ip, th);
		/* The reply's rewrite: the reverse mapping, with the negated deltas. */
		mg_pkt_nat_tcp_delta(ip, th, ip_of(&orig)->src_addr, tcp_of(&orig)->src_port,
				     ip_of(&orig)->dst_addr, tcp_of(&orig)->dst_port,
				     (uint16_t)~d_ip, (uint16_t)~d_tcp);
		assert_memory_equal(f.b, orig.b, orig.len);
	}
}

/*
 * Sweep one 16-bit input through all its values, so that every possible
 * checksum result is produced, 0x0000 included.
 */
static void
test_nat_tcp_sweep(void **state)
{
	(void)state;
	static struct frame base, f;
	unsigned zero_tcp = 0, zero_ip = 0;

	mk_tcp(&base, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 0, 13);
	for (uint32_t v = 0; v <= 0xffff; v++) {
		f = base;
		struct rte_ipv4_hdr *ip = ip_of(&f);
		struct rte_tcp_hdr *th = tcp_of(&f);

		/* Destination port over all values. */
		mg_pkt_nat_tcp(ip, th, rte_cpu_to_be_32(SNAT_IP), rte_cpu_to_be_16(40001),
			       rte_cpu_to_be_32(EP_IP), rte_cpu_to_be_16((uint16_t)v));
		check_csums(ip, th);
		zero_tcp += th->cksum == 0;

		/* Low half of the source address over all values. */
		f = base;
		mg_pkt_nat_tcp(ip, th, rte_cpu_to_be_32(RTE_IPV4(10, 3, 0, 0) | v),
			       th->src_port, ip->dst_addr, th->dst_port);
		check_csums(ip, th);
		zero_ip += ip->hdr_checksum == 0;
		zero_tcp += th->cksum == 0;
	}
	assert_true(zero_tcp > 0);
	assert_true(zero_ip > 0);

	/* Chained rewrites (DNAT then the reverse) return to the original. */
	f = base;
	mg_pkt_nat_tcp(ip_of(&f), tcp_of(&f), rte_cpu_to_be_32(SNAT_IP), rte_cpu_to_be_16(55555),
		       rte_cpu_to_be_32(EP_IP), rte_cpu_to_be_16(8080));
	mg_pkt_nat_tcp(ip_of(&f), tcp_of(&f), ip_of(&base)->src_addr, tcp_of(&base)->src_port,
		       ip_of(&base)->dst_addr, tcp_of(&base)->dst_port);
	assert_memory_equal(f.b, base.b, base.len);
}

/* ---- robustness: random and mutated frames behind a guard page ------------ */

/*
 * Reference model: the same policy, written byte by byte from the header
 * comment, without the parser's structs. Returns the kind, fills @p o.
 */
static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static enum mg_pkt_kind
ref_drop(struct mg_pkt_info *o, enum mg_drop_reason r)
{
	o->kind = MG_PKT_DROP;
	o->drop = (uint8_t)r;
	return MG_PKT_DROP;
}

static enum mg_pkt_kind
ref_parse(const uint8_t *b, uint32_t dlen, uint32_t plen, uint64_t ol, const uint8_t *all,
	  struct mg_pkt_info *o)
{
	memset(o, 0, sizeof(*o));
	if (dlen < 14)
		return ref_drop(o, MG_DROP_L2_SHORT);
	if (rd16(b + 12) == 0x0806) {
		if (dlen < 42)
			return ref_drop(o, MG_DROP_ARP_MALFORMED);
		if (rd16(b + 14) != 1 || rd16(b + 16) != 0x0800 || b[18] != 6 || b[19] != 4 ||
		    (rd16(b + 20) != 1 && rd16(b + 20) != 2))
			return ref_drop(o, MG_DROP_ARP_MALFORMED);
		o->l3_off = 14;
		o->kind = MG_PKT_ARP;
		return MG_PKT_ARP;
	}
	if (rd16(b + 12) != 0x0800)
		return ref_drop(o, MG_DROP_L2_ETHERTYPE);
	if (dlen < 34)
		return ref_drop(o, MG_DROP_IP_SHORT);
	const uint8_t *ip = b + 14;
	if (ip[0] >> 4 != 4)
		return ref_drop(o, MG_DROP_IP_VERSION);
	if ((ip[0] & 15) < 5)
		return ref_drop(o, MG_DROP_IP_HDRLEN);
	if ((ip[0] & 15) > 5)
		return ref_drop(o, MG_DROP_IP_OPTIONS);
	uint32_t tl = rd16(ip + 2);
	if (tl < 20 || 14 + tl > plen)
		return ref_drop(o, MG_DROP_IP_LEN);
	uint64_t ck = ol & (RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_BAD);
	if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return ref_drop(o, MG_DROP_IP_CSUM);
	if (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD) {
		uint32_t s = 0;
		for (int i = 0; i < 20; i += 2)
			s += rd16(ip + i);
		while (s > 0xffff)
			s = (s & 0xffff) + (s >> 16);
		if (s != 0xffff)
			return ref_drop(o, MG_DROP_IP_CSUM);
	}
	if (rd16(ip + 6) & 0x3fff)
		return ref_drop(o, MG_DROP_IP_FRAGMENT);
	if (ip[8] == 0)
		return ref_drop(o, MG_DROP_IP_TTL);
	if (ip[12] == 0 || ip[12] == 127 || ip[12] >= 224)
		return ref_drop(o, MG_DROP_IP_SRC);
	uint32_t l4len = tl - 20;
	o->l3_off = 14;
	o->l4_off = 34;
	o->l4_len = (uint16_t)l4len;
	if (ip[9] == 6) {
		if (l4len < 20 || dlen < 54)
			return ref_drop(o, MG_DROP_TCP_SHORT);
		uint32_t doff = (uint32_t)(b[46] >> 4) * 4;
		if (doff < 20 || doff > l4len)
			return ref_drop(o, MG_DROP_TCP_DOFF);
		if (dlen < 34 + doff)
			return ref_drop(o, MG_DROP_TCP_SHORT);
		uint8_t fl = b[47];
		bool syn = fl & 2, fin = fl & 1, rst = fl & 4, ack = fl & 0x10;
		if ((syn && fin) || (syn && rst) || !(syn || fin || rst || ack))
			return ref_drop(o, MG_DROP_TCP_FLAGS);
		if (rd16(b + 34) == 0 || rd16(b + 36) == 0)
			return ref_drop(o, MG_DROP_TCP_PORT);
		/* SYN without ACK: the checksum over the pseudo-header and the whole
		 * segment (all: the packet's bytes, every segment). */
		uint64_t l4ck = ol & (RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD);
		if (syn && !ack && l4ck == RTE_MBUF_F_RX_L4_CKSUM_BAD)
			return ref_drop(o, MG_DROP_TCP_CSUM);
		if (syn && !ack && l4ck == 0) {
			uint32_t s = rd16(ip + 12) + rd16(ip + 14) + rd16(ip + 16) + rd16(ip + 18) +
				     6 + l4len;
			for (uint32_t i = 0; i < l4len; i += 2)
				s += (uint32_t)all[34 + i] << 8 | (i + 1 < l4len ? all[35 + i] : 0);
			while (s > 0xffff)
				s = (s & 0xffff) + (s >> 16);
			if (s != 0xffff)
				return ref_drop(o, MG_DROP_TCP_CSUM);
		}
		o->payload_len = (uint16_t)(l4len - doff);
		o->tcp_flags = fl;
		o->kind = MG_PKT_TCP;
		return MG_PKT_TCP;
	}
	if (ip[9] == 1) {
		if (l4len < 8 || dlen < 42)
			return ref_drop(o, MG_DROP_ICMP_SHORT);
		if (b[34] != 8 && b[34] != 3 && b[34] != 11)
			return ref_drop(o, MG_DROP_ICMP_TYPE);
		o->icmp_type = b[34];
		o->kind = MG_PKT_ICMP;
		return MG_PKT_ICMP;
	}
	return ref_drop(o, MG_DROP_L4_PROTO);
}

/* Reference for mg_pkt_icmp_quoted(): offset of the quote, or -1. */
static long
ref_quoted(const uint8_t *b, uint32_t dlen, const struct mg_pkt_info *pi)
{
	if (pi->kind != MG_PKT_ICMP || (pi->icmp_type != 3 && pi->icmp_type != 11))
		return -1;
	uint32_t end = pi->l4_off + pi->l4_len < dlen ? pi->l4_off + pi->l4_len : dlen;
	uint32_t q = pi->l4_off + 8u;
	if (q + 20 > end || b[q] >> 4 != 4 || (b[q] & 15) < 5 || b[q + 9] != 6 ||
	    (rd16(b + q + 6) & 0x1fff) != 0 || q + (b[q] & 15) * 4u + 8 > end)
		return -1;
	return (long)q;
}

#define GUARD_ROOM 4096u
#define FUZZ_MAX_LEN 200u

struct guard {
	void *map;
	size_t map_len;
	uint8_t *room;          /* GUARD_ROOM bytes, then an inaccessible page */
	struct rte_mbuf *m;     /* attached to room */
	struct rte_mbuf *tail;  /* second segment, chained at times */
	struct rte_mbuf_ext_shared_info shinfo;
};

static void
noop_free(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
}

static void
guard_init(struct guard *g)
{
	long pg = sysconf(_SC_PAGESIZE);

	assert_true(pg >= (long)GUARD_ROOM);
	g->map_len = 2 * (size_t)pg;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect((uint8_t *)g->map + pg, (size_t)pg, PROT_NONE), 0);
	g->room = (uint8_t *)g->map + pg - GUARD_ROOM;
	g->m = rte_pktmbuf_alloc(mp);
	g->tail = rte_pktmbuf_alloc(mp);
	assert_non_null(g->m);
	assert_non_null(g->tail);
	g->shinfo.free_cb = noop_free;
	g->shinfo.fcb_opaque = NULL;
	rte_mbuf_ext_refcnt_set(&g->shinfo, 1);
	rte_pktmbuf_attach_extbuf(g->m, g->room, 0, GUARD_ROOM, &g->shinfo);
}

static void
guard_fini(struct guard *g)
{
	g->m->next = NULL;
	g->m->nb_segs = 1;
	rte_pktmbuf_free(g->m);
	rte_pktmbuf_free(g->tail);
	munmap(g->map, g->map_len);
}

/*
 * Put @p len bytes so that they end right before the guard page (even lengths;
 * odd ones one byte before, to keep the 2-byte alignment real frames have),
 * optionally followed by a chained segment of @p extra bytes.
 */
static struct rte_mbuf *
guard_load(struct guard *g, const uint8_t *frame, uint32_t len, uint32_t extra, uint64_t ol)
{
	uint32_t start = (GUARD_ROOM - len) & ~1u;
	struct rte_mbuf *m = g->m;

	memcpy(g->room + start, frame, len);
	m->data_off = (uint16_t)start;
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	m->nb_segs = 1;
	m->next = NULL;
	m->ol_flags = RTE_MBUF_F_EXTERNAL | ol;
	if (extra > 0) {
		rte_pktmbuf_reset(g->tail);
		char *p = rte_pktmbuf_append(g->tail, (uint16_t)extra);
		assert_non_null(p);
		for (uint32_t i = 0; i < extra; i++)
			p[i] = (char)rnd();
		m->next = g->tail;
		m->nb_segs = 2;
		m->pkt_len = len + extra;
	}
	return m;
}

struct fuzz_stats {
	unsigned long kind[4];
	unsigned long drop[MG_DROP__MAX];
	unsigned long quoted;
};

/* Parse the loaded frame, compare with the model, check the invariants. */
static void
fuzz_check(struct rte_mbuf *m, struct fuzz_stats *st)
{
	const uint8_t *b = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t dlen = rte_pktmbuf_data_len(m), plen = rte_pktmbuf_pkt_len(m);
	struct mg_pkt_info pi, ref, full;
	enum mg_pkt_kind k = mg_pkt_parse(m, &pi);
	static uint8_t copy[GUARD_ROOM + 256];

	/* The inline fast path and the full validation agree on everything. */
	assert_int_equal(mg_pkt_parse_full(m, &full), k);
	assert_memory_equal(&full, &pi, sizeof(pi));
	const uint8_t *all = rte_pktmbuf_read(m, 0, plen, copy);

	assert_non_null(all);
	ref_parse(b, dlen, plen, m->ol_flags, all, &ref);
	if (pi.kind != ref.kind || pi.drop != ref.drop)
		fail_msg("dlen %u plen %u: parser kind %u drop %s, model kind %u drop %s",
			 dlen, plen, pi.kind, mg_drop_reason_name((enum mg_drop_reason)pi.drop),
			 ref.kind, mg_drop_reason_name((enum mg_drop_reason)ref.drop));
	check_info_sane(k, &pi);
	st->kind[k]++;
	if (k == MG_PKT_DROP) {
		assert_true(is_parser_reason(pi.drop));
		st->drop[pi.drop]++;
		return;
	}
	assert_int_equal(pi.l3_off, ref.l3_off);
	assert_int_equal(pi.l4_off, ref.l4_off);
	assert_int_equal(pi.l4_len, ref.l4_len);
	assert_int_equal(pi.payload_len, ref.payload_len);
	assert_int_equal(pi.tcp_flags, ref.tcp_flags);
	assert_int_equal(pi.icmp_type, ref.icmp_type);

	switch (k) {
	case MG_PKT_ARP:
		assert_true(pi.l3_off + sizeof(struct rte_arp_hdr) <= dlen);
		break;
	case MG_PKT_TCP: {
		uint32_t doff = (uint32_t)(b[pi.l4_off + 12] >> 4) * 4;

		assert_true(pi.l4_off + doff <= dlen);
		assert_true(doff >= TCPH && doff <= pi.l4_len);
		assert_int_equal(pi.payload_len, pi.l4_len - doff);
		assert_true(pi.l4_off + (uint32_t)pi.l4_len <= plen);
		break;
	}
	case MG_PKT_ICMP: {
		assert_true(pi.l4_off + ICMPH <= dlen);
		assert_true(pi.l4_off + (uint32_t)pi.l4_len <= plen);
		const struct rte_ipv4_hdr *q = mg_pkt_icmp_quoted(m, &pi);
		long rq = ref_quoted(b, dlen, &pi);
		if (q == NULL) {
			assert_int_equal(rq, -1);
		} else {
			long off = (const uint8_t *)q - b;
			uint32_t qhl = (uint32_t)(q->version_ihl & 15) * 4;

			assert_int_equal(off, rq);
			assert_true(off + qhl + 8 <= dlen);
			assert_true(off + qhl + 8 <= (long)pi.l4_off + pi.l4_len);
			st->quoted++;
		}
		break;
	}
	default:
		fail();
	}
}

#define N_TMPL 9

static struct frame tmpl[N_TMPL];

static void
fuzz_templates(void)
{
	mk_tcp(&tmpl[0], RTE_TCP_SYN_FLAG, 20, 0);
	mk_tcp(&tmpl[1], RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 12, 60);
	mk_tcp(&tmpl[2], RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, 0, 0);
	mk_arp(&tmpl[3], RTE_ARP_OP_REQUEST);
	mk_arp(&tmpl[4], RTE_ARP_OP_REPLY);
	mk_icmp_echo(&tmpl[5], 32);
	mk_icmp_err(&tmpl[6], 3, 3, 8);
	mk_icmp_err(&tmpl[7], 11, 0, 20);
	mk_icmp_err(&tmpl[8], 3, 4, 48);
	((struct rte_ipv4_hdr *)(tmpl[8].b + Q_OFF))->version_ihl = 0x4f;
}

static const uint8_t interesting[] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x0b, 0x10, 0x11, 0x12, 0x14,
	0x20, 0x3f, 0x40, 0x44, 0x45, 0x46, 0x4f, 0x50, 0x7f, 0x80, 0xe0, 0xf0, 0xff,
};

/* Change one header field to a value near a boundary of some check. */
static void
mutate_field(uint8_t *b, uint32_t len)
{
	uint32_t l4 = ETH + IPH;
	uint16_t v;

	switch (rnd_below(12)) {
	case 0: /* ethertype */
		v = (uint16_t[]){ 0x0800, 0x0806, 0x86dd, 0x8100, 0x0000 }[rnd_below(5)];
		b[12] = (uint8_t)(v >> 8);
		b[13] = (uint8_t)v;
		break;
	case 1: /* version / IHL */
		b[ETH] = (uint8_t)(rnd_below(16) << 4 | rnd_below(16));
		break;
	case 2: /* total length near the frame length */
		v = (uint16_t)(len - ETH + rnd_below(9) - 4);
		if (rnd_below(4) == 0)
			v = (uint16_t)rnd_below(80);
		b[ETH + 2] = (uint8_t)(v >> 8);
		b[ETH + 3] = (uint8_t)v;
		break;
	case 3: /* fragment bits */
		b[ETH + 6] = (uint8_t)(rnd_below(8) << 5 | (rnd_below(2) ? rnd_below(32) : 0));
		b[ETH + 7] = rnd_below(2) ? (uint8_t)rnd() : 0;
		if (rnd_below(4) == 0)
			b[ETH + 8] = (uint8_t)rnd_below(3); /* TTL 0, 1 or 2 */
		break;
	case 4: /* source network */
		b[ETH + 12] = interesting[rnd_below(sizeof(interesting))] ^
			      (uint8_t)(rnd_below(2) ? 0 : 0x80);
		break;
	case 5: /* protocol */
		b[ETH + 9] = (uint8_t[]){ 1, 6, 17, 0, 47 }[rnd_below(5)];
		break;
	case 6: /* TCP data offset */
		b[l4 + 12] = (uint8_t)(rnd_below(16) << 4);
		break;
	case 7: /* TCP flags */
		b[l4 + 13] = (uint8_t)rnd();
		break;
	case 8: /* TCP ports */
		b[l4 + rnd_below(4)] = 0;
		break;
	case 9: /* ICMP type */
		b[l4] = (uint8_t[]){ 0, 3, 5, 8, 11, 13 }[rnd_below(6)];
		break;
	case 10: /* quoted IPv4 version/IHL or protocol */
		if (rnd_below(2))
			b[Q_OFF] = (uint8_t)(rnd_below(16) << 4 | rnd_below(16));
		else
			b[Q_OFF + 9] = (uint8_t[]){ 6, 17, 1 }[rnd_below(3)];
		break;
	default: /* ARP fields */
		b[ETH + rnd_below(8)] = interesting[rnd_below(sizeof(interesting))];
		break;
	}
}

/* Build one random or mutated frame in @p b (FUZZ_MAX_LEN room); returns its length. */
static uint32_t
fuzz_frame(uint8_t *b)
{
	uint32_t t = rnd_below(N_TMPL + 1), len;

	if (t == N_TMPL) {
		/* Random bytes, sometimes with a plausible start. */
		len = rnd_below(FUZZ_MAX_LEN + 1);
		for (uint32_t i = 0; i < len; i++)
			b[i] = (uint8_t)rnd();
		if (len >= 15 && rnd_below(2)) {
			b[12] = 0x08;
			b[13] = rnd_below(4) ? 0x00 : 0x06;
			b[14] = 0x45;
		}
		return len;
	}

	memset(b, 0, FUZZ_MAX_LEN);
	memcpy(b, tmpl[t].b, tmpl[t].len);
	len = tmpl[t].len;
	switch (rnd_below(6)) {
	case 0:
		len = rnd_below(FUZZ_MAX_LEN + 1);     /* truncate or extend (zeros) */
		break;
	case 1:
		len = rnd_below(len + 1);              /* truncate */
		break;
	case 2:                                        /* pad with junk */
		for (uint32_t n = rnd_below(20); n > 0 && len < FUZZ_MAX_LEN; n--)
			b[len++] = (uint8_t)rnd();
		break;
	default:
		break;
	}
	for (uint32_t n = rnd_below(3); n > 0; n--)
		mutate_field(b, len);
	for (uint32_t n = rnd_below(4) == 0 ? 1 + rnd_below(3) : 0; n > 0 && len > 0; n--) {
		uint32_t pos = rnd_below(4) ? rnd_below(len < 70 ? len : 70) : rnd_below(len);

		switch (rnd_below(3)) {
		case 0: b[pos] ^= (uint8_t)(1u << rnd_below(8)); break;
		case 1: b[pos] = (uint8_t)rnd(); break;
		default: b[pos] = interesting[rnd_below(sizeof(interesting))]; break;
		}
	}
	/* Mostly keep the IPv4 checksum right, so that later checks are reached. */
	if (len >= ETH + IPH && (b[ETH] & 15) == 5 && rnd_below(8) != 0) {
		b[ETH + 10] = b[ETH + 11] = 0;
		uint16_t c = full_csum(b + ETH, IPH);
		memcpy(b + ETH + 10, &c, 2);
		/* And often the TCP checksum, so that SYNs get through. */
		uint32_t tl = rd16(b + ETH + 2);
		if (b[ETH + 9] == 6 && tl >= IPH + TCPH && ETH + tl <= len && rnd_below(2)) {
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + ETH);
			struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(b + ETH + IPH);

			th->cksum = 0;
			th->cksum = rte_ipv4_udptcp_cksum(ip, th);
		}
	}
	return len;
}

static void
test_fuzz_guarded(void **state)
{
	(void)state;
	static const uint64_t ol_choice[] = {
		RTE_MBUF_F_RX_IP_CKSUM_GOOD, RTE_MBUF_F_RX_IP_CKSUM_BAD, RTE_MBUF_F_RX_IP_CKSUM_NONE,
		RTE_MBUF_F_RX_L4_CKSUM_GOOD, RTE_MBUF_F_RX_L4_CKSUM_BAD, RTE_MBUF_F_RX_L4_CKSUM_NONE,
	};
	struct guard g;
	struct fuzz_stats st;
	uint8_t b[FUZZ_MAX_LEN + 64];

	memset(&st, 0, sizeof(st));
	guard_init(&g);
	fuzz_templates();

	/* Every prefix of every template, unchained and chained. */
	for (int t = 0; t < N_TMPL; t++)
		for (uint32_t len = 0; len <= tmpl[t].len; len++) {
			fuzz_check(guard_load(&g, tmpl[t].b, len, 0, 0), &st);
			fuzz_check(guard_load(&g, tmpl[t].b, len, tmpl[t].len - len + 1, 0), &st);
		}
	/* Every template is valid as built. */
	for (int t = 0; t < N_TMPL; t++) {
		struct mg_pkt_info pi;
		assert_int_not_equal(mg_pkt_parse(guard_load(&g, tmpl[t].b, tmpl[t].len, 0, 0), &pi),
				     MG_PKT_DROP);
	}

	for (int iter = 0; iter < 200000; iter++) {
		uint32_t len = fuzz_frame(b);
		uint32_t extra = rnd_below(8) == 0 ? 1 + rnd_below(100) : 0;
		uint64_t ol = rnd_below(8) == 0 ? ol_choice[rnd_below(RTE_DIM(ol_choice))] : 0;

		fuzz_check(guard_load(&g, b, len, extra, ol), &st);
	}
	guard_fini(&g);

	print_message("fuzz: tcp %lu icmp %lu (quoted %lu) arp %lu drop %lu\n",
		      st.kind[MG_PKT_TCP], st.kind[MG_PKT_ICMP], st.quoted,
		      st.kind[MG_PKT_ARP], st.kind[MG_PKT_DROP]);
	/* The generator must reach every outcome, or it tests little. */
	assert_true(st.kind[MG_PKT_TCP] > 1000);
	assert_true(st.kind[MG_PKT_ICMP] > 1000);
	assert_true(st.kind[MG_PKT_ARP] > 1000);
	assert_true(st.quoted > 100);
	for (size_t i = 0; i < RTE_DIM(parser_reasons); i++)
		if (st.drop[parser_reasons[i]] == 0)
			fail_msg("fuzzing never produced %s",
				 mg_drop_reason_name(parser_reasons[i]));
}

int
main(void)
{
	const char *seed = getenv("MG_TEST_SEED");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_syn_valid),
		cmocka_unit_test(test_tcp_data_valid),
		cmocka_unit_test(test_ethernet_padding),
		cmocka_unit_test(test_arp_valid),
		cmocka_unit_test(test_icmp_valid),
		cmocka_unit_test(test_icmp_quoted),
		cmocka_unit_test(test_drop_l2),
		cmocka_unit_test(test_drop_arp),
		cmocka_unit_test(test_drop_ip_header),
		cmocka_unit_test(test_drop_ip_len),
		cmocka_unit_test(test_drop_ip_csum),
		cmocka_unit_test(test_drop_ip_fragment),
		cmocka_unit_test(test_drop_ip_ttl),
		cmocka_unit_test(test_drop_ip_src),
		cmocka_unit_test(test_drop_l4_proto),
		cmocka_unit_test(test_drop_tcp_short),
		cmocka_unit_test(test_drop_tcp_doff),
		cmocka_unit_test(test_drop_tcp_flags),
		cmocka_unit_test(test_drop_tcp_port),
		cmocka_unit_test(test_drop_tcp_csum),
		cmocka_unit_test(test_drop_icmp),
		cmocka_unit_test(test_drop_precedence),
		cmocka_unit_test(test_all_parser_reasons_covered),
		cmocka_unit_test(test_drop_reason_names),
		cmocka_unit_test(test_csum_update),
		cmocka_unit_test(test_nat_tcp_random),
		cmocka_unit_test(test_nat_tcp_sweep),
		cmocka_unit_test(test_nat_tcp_delta),
		cmocka_unit_test(test_fuzz_guarded),
	};

	if (seed != NULL && *seed != '\0')
		rng = strtoull(seed, NULL, 0) | 1;
	printf("# test_pkt seed %#llx\n", (unsigned long long)rng);
	mp = mg_test_eal_init("test_pkt");
	return cmocka_run_group_tests_name("pkt", tests, NULL, NULL);
}
