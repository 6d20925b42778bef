/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/proxy: the whole worker packet path on crafted packets
 * (the fixture is proxy_fixture.h; SYN floods and cookies: test_synproxy.c).
 */
#include "proxy_fixture.h"

/* ---- tests ------------------------------------------------------------------ */

static void
test_syn_is_full_natted_to_an_endpoint(void **state)
{
	struct rte_mbuf *s = open_syn(40000);
	struct rte_ether_hdr *eth;
	uint32_t dst;

	assert_non_null(s);
	eth = rte_pktmbuf_mtod(s, struct rte_ether_hdr *);
	dst = rte_be_to_cpu_32(ip_of(s)->dst_addr);
	assert_true(dst >= RTE_IPV4(10, 20, 0, 11) && dst <= RTE_IPV4(10, 20, 0, 13));
	assert_int_equal(ip_of(s)->src_addr, IP(10, 20, 0, 1));
	assert_int_equal(tcp_of(s)->dst_port, BE16(8080));
	assert_true(rte_be_to_cpu_16(tcp_of(s)->src_port) >= 1024);
	assert_int_equal(tcp_of(s)->tcp_flags, MG_TCP_SYN);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(s)->sent_seq), 1000);
	struct rte_ether_addr want = ep_mac(ip_of(s)->dst_addr);

	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &want));
	assert_null(sent(port_c)); /* nothing to the client yet */
	assert_int_equal(fx.w.st.flows_new, 1);
	rte_pktmbuf_free(s);
}

static void
test_handshake_and_data_both_ways(void **state)
{
	struct rte_mbuf *s = open_syn(40001), *m;

	input(reply_from(s, MG_TCP_SYN | MG_TCP_ACK, 5000, 1001, 0));
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(ip_of(m)->src_addr, IP(10, 96, 0, 10));
	assert_int_equal(ip_of(m)->dst_addr, IP(10, 10, 0, 2));
	assert_int_equal(tcp_of(m)->src_port, BE16(80));
	assert_int_equal(tcp_of(m)->dst_port, BE16(40001));
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_SYN | MG_TCP_ACK);
	struct rte_ether_addr cm = client_mac;

	assert_true(rte_is_same_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr,
					   &cm));
	rte_pktmbuf_free(m);
	input(from_client(40001, MG_TCP_ACK | MG_TCP_PSH, 1001, 5001, 100));
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(ip_of(m)->dst_addr, ip_of(s)->dst_addr);
	assert_int_equal(tcp_of(m)->src_port, tcp_of(s)->src_port);
	assert_int_equal(rte_be_to_cpu_16(ip_of(m)->total_length), 140);
	rte_pktmbuf_free(m);
	input(reply_from(s, MG_TCP_ACK | MG_TCP_PSH, 5001, 1101, 1000));
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(rte_be_to_cpu_16(ip_of(m)->total_length), 1040);
	rte_pktmbuf_free(m);
	assert_int_equal(fx.w.st.connect_ok, 1);
	rte_pktmbuf_free(s);
}

static void
test_refused_connect_fails_over_unseen(void **state)
{
	struct rte_mbuf *s1 = open_syn(40002), *s2;

	input(reply_from(s1, MG_TCP_RST | MG_TCP_ACK, 0, 1001, 0));
	s2 = sent(port_b);
	assert_non_null(s2);
	assert_int_not_equal(ip_of(s2)->dst_addr, ip_of(s1)->dst_addr);
	assert_int_equal(tcp_of(s2)->tcp_flags, MG_TCP_SYN);
	assert_null(sent(port_c)); /* the client saw nothing */
	assert_int_equal(fx.w.st.connect_refused, 1);
	assert_int_equal(fx.w.st.connect_retry, 1);
	/* The second endpoint accepts: the client gets its SYN+ACK. */
	input(reply_from(s2, MG_TCP_SYN | MG_TCP_ACK, 7000, 1001, 0));
	struct rte_mbuf *m = sent(port_c);

	assert_non_null(m);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->sent_seq), 7000);
	/* A late RST from the first endpoint belongs to no flow. */
	input(reply_from(s1, MG_TCP_RST | MG_TCP_ACK, 0, 1001, 0));
	assert_null(sent(port_c));
	assert_int_equal(fx.w.st.drop[MG_DROP_NO_FLOW], 1);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(s1);
	rte_pktmbuf_free(s2);
}

static void
test_connect_timeout_fails_over(void **state)
{
	struct rte_mbuf *s1 = open_syn(40003), *s2;

	fx.w.now_ms += 499;
	mg_proxy_expire(&fx.w, 64);
	mg_proxy_flush(&fx.w);
	assert_null(sent(port_b));
	fx.w.now_ms += 2;
	mg_proxy_expire(&fx.w, 64);
	mg_proxy_flush(&fx.w);
	s2 = sent(port_b);
	assert_non_null(s2);
	assert_int_not_equal(ip_of(s2)->dst_addr, ip_of(s1)->dst_addr);
	assert_int_equal(fx.w.st.connect_timeout, 1);
	rte_pktmbuf_free(s1);
	rte_pktmbuf_free(s2);
}

static void
test_every_attempt_fails_client_gets_rst(void **state)
{
	struct rte_mbuf *s = open_syn(40004), *m;
	uint32_t seen[3];

	for (int i = 0; i < 3; i++) {
		assert_non_null(s);
		seen[i] = ip_of(s)->dst_addr;
		for (int k = 0; k < i; k++)
			assert_int_not_equal(seen[k], seen[i]); /* never the same one twice */
		input(reply_from(s, MG_TCP_RST | MG_TCP_ACK, 0, 1001, 0));
		rte_pktmbuf_free(s);
		s = sent(port_b);
	}
	assert_null(s);
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_RST | MG_TCP_ACK);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->recv_ack), 1001);
	assert_int_equal(ip_of(m)->src_addr, IP(10, 96, 0, 10));
	assert_int_equal(tcp_of(m)->dst_port, BE16(40004));
	assert_int_equal(fx.w.st.connect_failed, 1);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
	rte_pktmbuf_free(m);
}

static void
test_client_syn_retransmission_absorbed(void **state)
{
	struct rte_mbuf *s = open_syn(40005);

	input(from_client(40005, MG_TCP_SYN, 1000, 0, 0));
	assert_null(sent(port_b));
	assert_int_equal(fx.w.st.drop[MG_DROP_SYN_RETRANSMIT], 1);
	rte_pktmbuf_free(s);
}

/* Found by fuzz_packet: both copies of a SYN in one RX burst made a flow each
 * (the bulk lookup ran before the first made its flow), the second stealing
 * the client key from the first. The copy must be absorbed like a
 * retransmission, and segments after a flow's end in the same burst must
 * not reach the flow by a stale lookup. */
static void
test_syn_twice_in_one_burst_makes_one_flow(void **state)
{
	struct rte_mbuf *b[4] = {
		from_client(40030, MG_TCP_SYN, 1000, 0, 0),
		from_client(40030, MG_TCP_SYN, 1000, 0, 0),
		from_client(40031, MG_TCP_SYN, 7000, 0, 0),
		from_client(40031, MG_TCP_RST | MG_TCP_ACK, 7001, 0, 0),
	};
	struct rte_mbuf *s, *m;

	mg_proxy_input(&fx.w, b, 4, false);
	mg_proxy_flush(&fx.w);
	s = sent(port_b);
	assert_non_null(s);
	assert_int_equal(tcp_of(s)->tcp_flags, MG_TCP_SYN);
	m = sent(port_b);       /* 40031's SYN, then its RST */
	assert_non_null(m);
	rte_pktmbuf_free(m);
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags & MG_TCP_RST, MG_TCP_RST);
	rte_pktmbuf_free(m);
	assert_null(sent(port_b));
	assert_int_equal(fx.w.st.flows_new, 2);
	assert_int_equal(fx.w.st.drop[MG_DROP_SYN_RETRANSMIT], 1);
	assert_int_equal(mg_flow_count(fx.w.ft), 1);  /* 40030's; 40031's ended */
	/* The flow the key leads to is the one connecting. */
	input(reply_from(s, MG_TCP_SYN | MG_TCP_ACK, 5000, 1001, 0));
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->dst_port, BE16(40030));
	rte_pktmbuf_free(m);
	input(from_client(40030, MG_TCP_ACK, 1001, 5001, 0));
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->src_port, tcp_of(s)->src_port);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(s);
}

static void
test_icmp_unreachable_fails_over(void **state)
{
	struct rte_mbuf *s = open_syn(40006), *m, *s2;
	uint16_t len = sizeof(struct rte_ether_hdr) + 20 + 8 + 20 + 20;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *ic;

	m = rte_pktmbuf_alloc(mp);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	memset(eth, 0, len);
	eth->src_addr = ep_mac(ip_of(s)->dst_addr);
	rte_eth_macaddr_get(port_b, &eth->dst_addr);
	eth->ether_type = BE16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	ip->version_ihl = 0x45;
	ip->total_length = BE16(20 + 8 + 40);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = IP(10, 20, 0, 254); /* a router on the way */
	ip->dst_addr = IP(10, 20, 0, 1);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic = (struct rte_icmp_hdr *)(ip + 1);
	ic->icmp_type = MG_ICMP_DEST_UNREACH;
	ic->icmp_code = 1;
	memcpy((uint8_t *)(ic + 1), ip_of(s), 40);
	ic->icmp_cksum = ~rte_raw_cksum(ic, 8 + 40);
	m->port = port_b;
	input(m);
	s2 = sent(port_b);
	assert_non_null(s2);
	assert_int_not_equal(ip_of(s2)->dst_addr, ip_of(s)->dst_addr);
	assert_int_equal(fx.w.st.connect_unreach, 1);
	rte_pktmbuf_free(s);
	rte_pktmbuf_free(s2);
}

/* How many events of @p type wait on worker 0's ring (all are consumed). */
static uint32_t
events_of(uint8_t type)
{
	struct mg_event ev;
	uint32_t n = 0;

	while (rte_ring_dequeue_elem(fx.sh.events[0], &ev, sizeof(ev)) == 0)
		n += ev.type == type;
	return n;
}

/* An ICMP unreachable quoting a health-check SYN toward 10.20.0.11:8080 with sequence @p seq. */
static struct rte_mbuf *
probe_unreach(uint16_t in_port, uint32_t seq)
{
	uint16_t len = sizeof(struct rte_ether_hdr) + 20 + 8 + 20 + 20;
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1), *q;
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	struct rte_tcp_hdr *qt;

	assert_non_null(eth);
	memset(rte_pktmbuf_mtod(m, void *), 0, len);
	eth->src_addr = client_mac;
	rte_eth_macaddr_get(in_port, &eth->dst_addr);
	eth->ether_type = BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = BE16(20 + 8 + 40);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = IP(10, 20, 0, 254);
	ip->dst_addr = IP(10, 20, 0, 1);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic->icmp_type = MG_ICMP_DEST_UNREACH;
	ic->icmp_code = 3;
	q = (struct rte_ipv4_hdr *)(ic + 1);
	q->version_ihl = 0x45;
	q->total_length = BE16(40);
	q->time_to_live = 64;
	q->next_proto_id = IPPROTO_TCP;
	q->src_addr = IP(10, 20, 0, 1);
	q->dst_addr = IP(10, 20, 0, 11);
	q->hdr_checksum = rte_ipv4_cksum(q);
	qt = (struct rte_tcp_hdr *)(q + 1);
	qt->src_port = fx.sh.probe_port;
	qt->dst_port = BE16(8080);
	qt->sent_seq = rte_cpu_to_be_32(seq);
	qt->data_off = 0x50;
	qt->tcp_flags = MG_TCP_SYN;
	ic->icmp_cksum = ~rte_raw_cksum(ic, 8 + 40);
	m->port = in_port;
	return m;
}

static void
test_forged_unreachable_for_a_probe_ignored(void **state)
{
	uint32_t isn;

	fx.sh.probe_port = BE16(1023);
	fx.sh.probe_secret = 0x5eed1234;
	isn = mg_probe_isn(&fx.sh, IP(10, 20, 0, 11), BE16(8080));
	/* Anyone may forge an unreachable quoting the probe port: not a failed probe. */
	input(probe_unreach(port_c, isn + 1));
	input(probe_unreach(port_b, isn ^ 0x80000000));
	assert_int_equal(fx.w.st.probe_replies, 0);
	assert_int_equal(fx.w.st.drop[MG_DROP_NO_FLOW], 2);
	assert_int_equal(events_of(MG_EV_PROBE_FAIL), 0);
	/* The quote of our own SYN (its keyed ISN) is. */
	input(probe_unreach(port_b, isn));
	assert_int_equal(fx.w.st.probe_replies, 1);
	assert_int_equal(events_of(MG_EV_PROBE_FAIL), 1);
}

static void
test_close_both_ways_then_expire(void **state)
{
	struct rte_mbuf *s = open_syn(40007), *m;

	input(reply_from(s, MG_TCP_SYN | MG_TCP_ACK, 5000, 1001, 0));
	rte_pktmbuf_free(sent(port_c));
	input(from_client(40007, MG_TCP_ACK, 1001, 5001, 0));
	rte_pktmbuf_free(sent(port_b));
	input(from_client(40007, MG_TCP_FIN | MG_TCP_ACK, 1001, 5001, 0));
	rte_pktmbuf_free(sent(port_b));
	input(reply_from(s, MG_TCP_FIN | MG_TCP_ACK, 5001, 1002, 0));
	rte_pktmbuf_free(sent(port_c));
	input(from_client(40007, MG_TCP_ACK, 1002, 5002, 0));
	m = sent(port_b);
	assert_non_null(m);
	rte_pktmbuf_free(m);
	uint32_t ref;
	struct mg_flow_key k;

	mg_flow_key_set(&k, IP(10, 10, 0, 2), IP(10, 96, 0, 10), BE16(40007), BE16(80));
	ref = mg_flow_lookup(fx.w.ft, &k);
	assert_int_not_equal(ref, MG_FLOW_NONE);
	assert_int_equal(mg_flow_get(fx.w.ft, MG_FLOW_REF_IDX(ref))->state, MG_TCP_TIME_WAIT);
	/* The connection is over for the circuit breaker as it enters TIME_WAIT ... */
	assert_int_equal(events_of(MG_EV_CLOSED), 1);
	fx.w.now_ms += fx.sh.params.timeouts.ms[MG_TCP_TIME_WAIT] + 1;
	mg_proxy_expire(&fx.w, 64);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
	assert_int_equal(fx.w.st.flows_closed, 1);
	/* ... and reported once. */
	assert_int_equal(events_of(MG_EV_CLOSED), 0);
	rte_pktmbuf_free(s);
}

static uint8_t
state_of(uint16_t sport)
{
	struct mg_flow_key k;
	uint32_t ref;

	mg_flow_key_set(&k, IP(10, 10, 0, 2), IP(10, 96, 0, 10), BE16(sport), BE16(80));
	ref = mg_flow_lookup(fx.w.ft, &k);
	return ref == MG_FLOW_NONE ? MG_TCP_NONE : mg_flow_get(fx.w.ft, MG_FLOW_REF_IDX(ref))->state;
}

/* A blind RST (any sequence number) closes the flow; the traffic that goes
 * on (the endpoint ignored the RST) revives it; a genuine RST, followed by
 * nothing, ends the flow at the close timeout. */
static void
test_blind_rst_is_revived_by_traffic(void **state)
{
	struct rte_mbuf *s = open_syn(40020), *m;

	input(reply_from(s, MG_TCP_SYN | MG_TCP_ACK, 5000, 1001, 0));
	rte_pktmbuf_free(sent(port_c));
	input(from_client(40020, MG_TCP_ACK, 1001, 5001, 0));
	rte_pktmbuf_free(sent(port_b));
	/* Spoofed as the client, an off-path RST. */
	input(from_client(40020, MG_TCP_RST, 123456789, 0, 0));
	m = sent(port_b);
	assert_non_null(m);     /* passed on: the endpoint judges it */
	rte_pktmbuf_free(m);
	assert_int_equal(state_of(40020), MG_TCP_CLOSE);
	/* The endpoint ignored it: its data brings the flow back. */
	input(reply_from(s, MG_TCP_ACK | MG_TCP_PSH, 5001, 1001, 100));
	rte_pktmbuf_free(sent(port_c));
	assert_int_equal(state_of(40020), MG_TCP_ESTABLISHED);
	fx.w.now_ms += fx.sh.params.timeouts.ms[MG_TCP_CLOSE] + 1;
	mg_proxy_expire(&fx.w, 64);
	assert_int_equal(state_of(40020), MG_TCP_ESTABLISHED);
	input(from_client(40020, MG_TCP_ACK, 1001, 5101, 0));
	m = sent(port_b);
	assert_non_null(m);
	rte_pktmbuf_free(m);
	/* A blind RST on an idle connection: at the close timeout the RST's
	 * receiver (the endpoint) gets a probe with the RST's sequence number;
	 * it answers with an ACK (out of window), which revives the flow. */
	input(from_client(40020, MG_TCP_RST, 987654321, 0, 0));
	rte_pktmbuf_free(sent(port_b));
	assert_int_equal(state_of(40020), MG_TCP_CLOSE);
	fx.w.now_ms += fx.sh.params.timeouts.ms[MG_TCP_CLOSE] + 1;
	mg_proxy_expire(&fx.w, 64);
	mg_proxy_flush(&fx.w);
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_ACK);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->sent_seq), 987654321);
	assert_int_equal(ip_of(m)->dst_addr, ip_of(s)->dst_addr);
	assert_int_equal(tcp_of(m)->src_port, tcp_of(s)->src_port);
	rte_pktmbuf_free(m);
	assert_int_equal(fx.w.st.rst_probes, 1);
	assert_int_equal(state_of(40020), MG_TCP_CLOSE);
	input(reply_from(s, MG_TCP_ACK, 5101, 1001, 0));
	rte_pktmbuf_free(sent(port_c));
	assert_int_equal(state_of(40020), MG_TCP_ESTABLISHED);
	fx.w.now_ms += fx.sh.params.timeouts.ms[MG_TCP_CLOSE] + 1;
	mg_proxy_expire(&fx.w, 64);
	assert_int_equal(state_of(40020), MG_TCP_ESTABLISHED);
	/* A genuine RST from the endpoint: the client is probed, answers RST
	 * (its socket is gone), and the flow ends one close timeout later. */
	input(reply_from(s, MG_TCP_RST | MG_TCP_ACK, 5101, 1001, 0));
	rte_pktmbuf_free(sent(port_c));
	assert_int_equal(state_of(40020), MG_TCP_CLOSE);
	fx.w.now_ms += fx.sh.params.timeouts.ms[MG_TCP_CLOSE] + 1;
	mg_proxy_expire(&fx.w, 64);
	mg_proxy_flush(&fx.w);
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_ACK);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->sent_seq), 5101);
	assert_int_equal(ip_of(m)->src_addr, IP(10, 96, 0, 10));
	assert_int_equal(tcp_of(m)->dst_port, BE16(40020));
	rte_pktmbuf_free(m);
	input(from_client(40020, MG_TCP_RST, 1001, 0, 0));
	rte_pktmbuf_free(sent(port_b));
	assert_int_equal(state_of(40020), MG_TCP_CLOSE);
	fx.w.now_ms += fx.sh.params.timeouts.ms[MG_TCP_CLOSE] + 1;
	mg_proxy_expire(&fx.w, 64);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
	assert_int_equal(fx.w.st.rst_probes, 2);
	/* The connection's end was reported once, at the first RST. */
	assert_int_equal(events_of(MG_EV_CLOSED), 1);
	rte_pktmbuf_free(s);
}

static void
test_client_leaving_during_connect_aborts_it(void **state)
{
	/* The client resets while we connect: the endpoint's pending connect
	 * ends as ABORTED (not CLOSED: it never counted as active), once. */
	struct rte_mbuf *s = open_syn(40017);

	events_of(0);
	input(from_client(40017, MG_TCP_RST, 2, 0, 0));
	rte_pktmbuf_free(sent(port_b));
	fx.w.now_ms += 60000;
	mg_proxy_expire(&fx.w, 64);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
	struct mg_event ev;
	uint32_t aborted = 0, closed = 0;

	while (rte_ring_dequeue_elem(fx.sh.events[0], &ev, sizeof(ev)) == 0) {
		aborted += ev.type == MG_EV_CONNECT_ABORTED;
		closed += ev.type == MG_EV_CLOSED;
	}
	assert_int_equal(aborted, 1);
	assert_int_equal(closed, 0);
	rte_pktmbuf_free(s);
}

static void
test_unknown_service_and_stray_segments_dropped(void **state)
{
	input(tcp_pkt(port_c, client_mac, IP(10, 10, 0, 2), IP(10, 96, 0, 10), BE16(40008),
		      BE16(81), MG_TCP_SYN, 1, 0, 0));
	assert_int_equal(fx.w.st.drop[MG_DROP_NO_SERVICE], 1);
	input(from_client(40009, MG_TCP_ACK, 1, 1, 10));
	assert_int_equal(fx.w.st.drop[MG_DROP_NO_FLOW], 1);
	assert_null(sent(port_b));
	assert_null(sent(port_c));
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
}

static void
test_full_flow_table_refuses_with_rst_keeps_established(void **state)
{
	/* setup_small: 4 flows */
	struct rte_mbuf *s[4];

	for (int i = 0; i < 4; i++) {
		s[i] = open_syn((uint16_t)(41000 + i));
		assert_non_null(s[i]);
		input(reply_from(s[i], MG_TCP_SYN | MG_TCP_ACK, 5000, 1001, 0));
		rte_pktmbuf_free(sent(port_c));
	}
	input(from_client(41010, MG_TCP_SYN, 1000, 0, 0));
	struct rte_mbuf *r = sent(port_c);

	assert_non_null(r);
	assert_int_equal(tcp_of(r)->tcp_flags, MG_TCP_RST | MG_TCP_ACK);
	assert_int_equal(fx.w.st.drop[MG_DROP_FLOW_FULL], 1);
	rte_pktmbuf_free(r);
	/* Established flows still carry data. */
	input(from_client(41002, MG_TCP_ACK, 1001, 5001, 10));
	r = sent(port_b);
	assert_non_null(r);
	rte_pktmbuf_free(r);
	for (int i = 0; i < 4; i++)
		rte_pktmbuf_free(s[i]);
}

static int
setup_small(void **state)
{
	return setup(state, 1, 4);
}

static void
test_arp_request_answered_and_learnt(void **state)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, 60);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct mg_event ev;

	assert_non_null(eth);
	memset(rte_pktmbuf_mtod(m, void *), 0, 60);
	eth->dst_addr = (struct rte_ether_addr){ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	eth->src_addr = client_mac;
	eth->ether_type = BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = BE16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = client_mac;
	arp->arp_data.arp_sip = IP(10, 10, 0, 2);
	arp->arp_data.arp_tip = IP(10, 10, 0, 1);
	m->port = port_c;
	input(m);
	m = sent(port_c);
	assert_non_null(m);
	arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, sizeof(*eth));
	assert_int_equal(arp->arp_opcode, BE16(RTE_ARP_OP_REPLY));
	assert_int_equal(arp->arp_data.arp_sip, IP(10, 10, 0, 1));
	assert_int_equal(arp->arp_data.arp_tip, IP(10, 10, 0, 2));
	assert_true(rte_is_same_ether_addr(&arp->arp_data.arp_sha, &fx.sh.ports[port_c].mac));
	rte_pktmbuf_free(m);
	assert_int_equal(rte_ring_dequeue_elem(fx.sh.events[0], &ev, sizeof(ev)), 0);
	assert_int_equal(ev.type, MG_EV_ARP);
	assert_int_equal(ev.ip, IP(10, 10, 0, 2));
}

static void
test_icmp_echo_answered(void **state)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t len = sizeof(struct rte_ether_hdr) + 20 + 8 + 16;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);

	memset(eth, 0, len);
	eth->src_addr = client_mac;
	rte_eth_macaddr_get(port_c, &eth->dst_addr);
	eth->ether_type = BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = BE16(20 + 8 + 16);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = IP(10, 10, 0, 2);
	ip->dst_addr = IP(10, 10, 0, 1);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	ic->icmp_ident = BE16(7);
	ic->icmp_seq_nb = BE16(1);
	ic->icmp_cksum = ~rte_raw_cksum(ic, 8 + 16);
	m->port = port_c;
	input(m);
	m = sent(port_c);
	assert_non_null(m);
	ip = ip_of(m);
	ic = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(ic->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(ip->dst_addr, IP(10, 10, 0, 2));
	assert_int_equal(rte_raw_cksum(ic, 8 + 16), 0xffff);
	assert_int_equal(rte_ipv4_cksum(ip), 0); /* over a valid header */
	rte_pktmbuf_free(m);
}

static void
test_malformed_dropped_and_counted(void **state)
{
	struct rte_mbuf *m = from_client(40010, MG_TCP_SYN, 1, 0, 0);

	ip_of(m)->hdr_checksum ^= 0x1234;
	input(m);
	m = from_client(40011, MG_TCP_SYN | MG_TCP_FIN, 1, 0, 0);
	input(m);
	m = from_client(40012, MG_TCP_SYN, 1, 0, 0);
	rte_pktmbuf_trim(m, 10); /* the IP length claims more than the frame holds */
	input(m);
	/* A forged SYN with a bad TCP checksum: no flow, no connect attempt (it
	 * used to time out on every endpoint in turn, failures that ejected them). */
	m = from_client(40013, MG_TCP_SYN, 1, 0, 0);
	tcp_of(m)->cksum ^= 0x1234;
	input(m);
	assert_int_equal(fx.w.st.drop[MG_DROP_IP_CSUM], 1);
	assert_int_equal(fx.w.st.drop[MG_DROP_TCP_FLAGS], 1);
	assert_int_equal(fx.w.st.drop[MG_DROP_IP_LEN], 1);
	assert_int_equal(fx.w.st.drop[MG_DROP_TCP_CSUM], 1);
	assert_int_equal(fx.w.st.flows_new, 0);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
	assert_null(sent(port_b));
}

/* An Ethernet/IPv4 ARP packet received on @p port. */
static struct rte_mbuf *
arp_pkt(uint16_t port, uint16_t op, uint32_t sip, uint32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, 60);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	assert_non_null(eth);
	memset(rte_pktmbuf_mtod(m, void *), 0, 60);
	eth->dst_addr = (struct rte_ether_addr){ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	eth->src_addr = client_mac;
	eth->ether_type = BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = BE16(op);
	arp->arp_data.arp_sha = client_mac;
	arp->arp_data.arp_sip = sip;
	arp->arp_data.arp_tip = tip;
	m->port = port;
	return m;
}

static void
test_arp_not_for_us_counted(void **state)
{
	struct mg_event ev;

	/* A reply to us is learnt: consumed, not a drop. */
	input(arp_pkt(port_c, RTE_ARP_OP_REPLY, IP(10, 10, 0, 2), IP(10, 10, 0, 1)));
	assert_int_equal(rte_ring_dequeue_elem(fx.sh.events[0], &ev, sizeof(ev)), 0);
	assert_int_equal(ev.type, MG_EV_ARP);
	assert_int_equal(fx.w.st.drop[MG_DROP_ARP_NOT_FOR_US], 0);
	/* A reply to another host, a gratuitous ARP (reply or request), a request
	 * for another address: each a drop, counted (a reply used to vanish). */
	input(arp_pkt(port_c, RTE_ARP_OP_REPLY, IP(10, 10, 0, 2), IP(10, 10, 0, 3)));
	input(arp_pkt(port_c, RTE_ARP_OP_REPLY, IP(10, 10, 0, 2), IP(10, 10, 0, 2)));
	input(arp_pkt(port_c, RTE_ARP_OP_REQUEST, IP(10, 10, 0, 2), IP(10, 10, 0, 2)));
	input(arp_pkt(port_c, RTE_ARP_OP_REQUEST, IP(10, 10, 0, 2), IP(10, 10, 0, 7)));
	assert_int_equal(fx.w.st.drop[MG_DROP_ARP_NOT_FOR_US], 4);
	assert_int_not_equal(rte_ring_dequeue_elem(fx.sh.events[0], &ev, sizeof(ev)), 0);
	assert_null(sent(port_c));
	assert_int_equal(fx.w.st.arp_replies, 0);
}

static struct rte_mbuf *
echo_pkt(uint32_t src, uint32_t dst)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t len = sizeof(struct rte_ether_hdr) + 20 + 8;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);

	memset(eth, 0, len);
	eth->src_addr = client_mac;
	rte_eth_macaddr_get(port_c, &eth->dst_addr);
	eth->ether_type = BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = BE16(20 + 8);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	ic->icmp_cksum = ~rte_raw_cksum(ic, 8);
	m->port = port_c;
	return m;
}

static void
test_martian_sources_answered_nothing(void **state)
{
	const uint32_t martian[] = {
		IP(10, 10, 0, 1),   /* the gateway's own addresses */
		IP(10, 20, 0, 1),
		IP(10, 10, 0, 255), /* the receiving port's subnet broadcast */
	};
	struct rte_mbuf *m;

	fx.sh.ports[port_c].prefix_len = 24;
	for (size_t i = 0; i < RTE_DIM(martian); i++) {
		input(tcp_pkt(port_c, client_mac, martian[i], IP(10, 96, 0, 10), BE16(40100), BE16(80),
			      MG_TCP_SYN, 1, 0, 0));
		input(echo_pkt(martian[i], IP(10, 10, 0, 1)));
	}
	assert_int_equal(fx.w.st.drop[MG_DROP_IP_SRC], 2 * RTE_DIM(martian));
	assert_int_equal(fx.w.st.flows_new, 0);
	assert_int_equal(fx.w.st.icmp_echo, 0);
	assert_null(sent(port_b));
	assert_null(sent(port_c));
	/* Its neighbours are fine: another subnet's broadcast-looking address, a host. */
	input(echo_pkt(IP(10, 10, 0, 2), IP(10, 10, 0, 1)));
	m = sent(port_c);
	assert_non_null(m);
	rte_pktmbuf_free(m);
	m = open_syn(40101);
	assert_non_null(m);
	rte_pktmbuf_free(m);
	input(tcp_pkt(port_c, client_mac, IP(10, 30, 0, 255), IP(10, 96, 0, 10), BE16(40102),
		      BE16(80), MG_TCP_SYN, 1, 0, 0));
	m = sent(port_b);
	assert_non_null(m);
	rte_pktmbuf_free(m);
	assert_int_equal(fx.w.st.drop[MG_DROP_IP_SRC], 2 * RTE_DIM(martian));
}

static enum mg_lb_ep_state
all_at_limit(void *ctx, uint32_t id, uint32_t *factor)
{
	*factor = 1000;
	return MG_LB_EP_AT_LIMIT;
}

static void
test_no_eligible_endpoint_rst_counted(void **state)
{
	char err[512];
	struct mg_conf *conf = mg_conf_load_string(conf_yaml, strlen(conf_yaml), "test.yaml", NULL,
						   err, sizeof(err));
	struct mg_lb_env env = { .resolve = resolve, .health = all_at_limit, .ctx = &fx,
				 .generation = 2 };
	struct mg_lb_table *t;
	struct rte_mbuf *r;

	assert_non_null(conf);
	t = mg_lb_build(conf, &env, err, sizeof(err));
	assert_non_null(t);
	mg_lb_free(fx.sh.lb);
	fx.sh.lb = t;
	fx.w.lb = t;
	/* Every endpoint at its circuit-breaker limit: RST at once, counted. */
	input(from_client(40200, MG_TCP_SYN, 1000, 0, 0));
	assert_null(sent(port_b));
	r = sent(port_c);
	assert_non_null(r);
	assert_int_equal(tcp_of(r)->tcp_flags, MG_TCP_RST | MG_TCP_ACK);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(r)->recv_ack), 1001);
	rte_pktmbuf_free(r);
	assert_int_equal(fx.w.st.drop[MG_DROP_NO_ENDPOINT], 1);
	assert_int_equal(fx.w.st.connect_failed, 1);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
}

/* Resource exhaustion: each refuses new work cleanly (counted), keeps what is
 * established, and recovers once the resource is back. */

static void
test_mbuf_pool_empty_defers_connect_keeps_established(void **state)
{
	struct rte_mbuf *s = open_syn(43000), *syn, *data, *m;
	struct rte_mbuf **hold = calloc(8192, sizeof(*hold));
	uint32_t n = 0;

	assert_non_null(s);
	assert_non_null(hold);
	input(reply_from(s, MG_TCP_SYN | MG_TCP_ACK, 5000, 1001, 0));
	rte_pktmbuf_free(sent(port_c));
	input(from_client(43000, MG_TCP_ACK, 1001, 5001, 0));
	rte_pktmbuf_free(sent(port_b));
	/* Frames first, then the pool runs dry. */
	syn = from_client(43001, MG_TCP_SYN, 1000, 0, 0);
	data = from_client(43000, MG_TCP_ACK | MG_TCP_PSH, 1001, 5001, 10);
	while (n < 8192 && (hold[n] = rte_pktmbuf_alloc(mp)) != NULL)
		n++;
	assert_true(n > 0 && n < 8192);
	/* A new connection: no mbuf for the copy of its SYN. Counted, the flow kept
	 * with its SYN, nothing sent, the client not refused. */
	input(syn);
	assert_int_equal(fx.w.st.drop[MG_DROP_NOMBUF], 1);
	assert_null(sent(port_b));
	assert_null(sent(port_c));
	assert_int_equal(mg_flow_count(fx.w.ft), 2);
	/* The established flow is rewritten in place: it still carries data. */
	input(data);
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(rte_be_to_cpu_16(ip_of(m)->total_length), 50);
	/* Mbufs back: at the connect timeout the SYN leaves for an endpoint. */
	while (n > 0)
		rte_pktmbuf_free(hold[--n]);
	free(hold);
	rte_pktmbuf_free(m);
	fx.w.now_ms += 600;
	mg_proxy_expire(&fx.w, 64);
	mg_proxy_flush(&fx.w);
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_SYN);
	assert_int_equal(fx.w.st.connect_timeout, 0);
	assert_int_equal(fx.w.st.connect_failed, 0);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(s);
}

static void
test_tx_queue_full_drops_counted_connect_recovers(void **state)
{
	struct rte_ring *r = txr[1][0];
	struct rte_mbuf *m;
	uint32_t filled = 0;

	/* The backend port's TX queue takes nothing. */
	while (rte_ring_free_count(r) > 0) {
		m = rte_pktmbuf_alloc(mp);
		assert_non_null(m);
		assert_int_equal(rte_ring_enqueue(r, m), 0);
		filled++;
	}
	input(from_client(43100, MG_TCP_SYN, 1000, 0, 0));
	assert_int_equal(fx.w.st.drop[MG_DROP_TX_FULL], 1);
	assert_int_equal(mg_flow_count(fx.w.ft), 1);
	while (filled-- > 0) {
		assert_int_equal(rte_ring_dequeue(r, (void **)&m), 0);
		rte_pktmbuf_free(m);
	}
	/* The SYN was lost on the way: the connect timeout tries another endpoint. */
	fx.w.now_ms += 600;
	mg_proxy_expire(&fx.w, 64);
	mg_proxy_flush(&fx.w);
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_SYN);
	assert_int_equal(fx.w.st.connect_timeout, 1);
	assert_int_equal(fx.w.st.connect_retry, 1);
	rte_pktmbuf_free(m);
}

static void
test_handoff_ring_full_drops_counted(void **state)
{
	/* Worker 0 of 2 whose ring to worker 1 is full: what worker 1 owns is
	 * dropped and counted; what worker 0 owns goes on. */
	struct rte_ring *r = fx.sh.handoff[0][1];
	struct rte_mbuf *m;
	uint32_t mine = 0;

	while (rte_ring_free_count(r) > 0) {
		m = rte_pktmbuf_alloc(mp);
		assert_non_null(m);
		assert_int_equal(rte_ring_enqueue(r, m), 0);
	}
	for (uint16_t p = 42100; p < 42164; p++) {
		input(from_client(p, MG_TCP_SYN, 1, 0, 0));
		m = sent(port_b);
		if (m != NULL) {
			mine++;
			rte_pktmbuf_free(m);
		}
	}
	assert_true(mine > 10 && mine < 54);
	assert_int_equal(fx.w.st.drop[MG_DROP_RING_FULL], 64 - mine);
	assert_int_equal(fx.w.st.handoff_out, 0);
	assert_int_equal(mg_flow_count(fx.w.ft), mine);
	while (rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

static int
setup2(void **state)
{
	return setup(state, 2, 1024);
}

static void
test_two_workers_hand_off_to_owner(void **state)
{
	/* Worker 0 of 2: SYNs whose owner is worker 1 go to the ring. */
	uint32_t mine = 0, handed = 0;

	for (uint16_t p = 42000; p < 42064; p++) {
		input(from_client(p, MG_TCP_SYN, 1, 0, 0));
		struct rte_mbuf *s = sent(port_b);

		if (s != NULL) {
			mine++;
			/* Replies come back to worker 0: its SNAT ports are even. */
			assert_int_equal(rte_be_to_cpu_16(tcp_of(s)->src_port) % 2, 0);
			rte_pktmbuf_free(s);
		}
	}
	handed = rte_ring_count(fx.sh.handoff[0][1]);
	assert_int_equal(mine + handed, 64);
	assert_true(mine > 10 && handed > 10);
	assert_int_equal(fx.w.st.handoff_out, handed);
	struct rte_mbuf *m;

	while (rte_ring_dequeue(fx.sh.handoff[0][1], (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

/* The hash a NIC computes for an endpoint's reply, with the key as programmed. */
static uint32_t
nic_hash(const uint8_t *key, uint32_t ep_ip, uint32_t snat_ip, uint16_t ep_port, uint16_t snat_port)
{
	union rte_thash_tuple t;

	t.v4.src_addr = rte_be_to_cpu_32(ep_ip);
	t.v4.dst_addr = rte_be_to_cpu_32(snat_ip);
	t.v4.sport = rte_be_to_cpu_16(ep_port);
	t.v4.dport = rte_be_to_cpu_16(snat_port);
	return rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, key);
}

/* rte_thash: flipping the SNAT port's low bits steers the reply's hash. */
static void
test_rss_adjust_lands_on_every_reta_entry(void **state)
{
	struct mg_proxy_port pp;
	uint8_t key[40];

	memset(&pp, 0, sizeof(pp));
	assert_int_equal(mg_proxy_rss_init(&pp, 9, sizeof(key), 128, key), 0);
	assert_int_equal(mg_proxy_rss_init(&pp, 9, 41, 128, key), -ENOTSUP);
	for (uint32_t i = 0; i < 4096; i++) {
		uint32_t ep = (uint32_t)rte_rand(), snat = (uint32_t)rte_rand();
		uint16_t ep_port = (uint16_t)rte_rand(), port = (uint16_t)rte_rand();
		uint32_t want = i % 128;
		uint16_t adj = mg_rss_adjust(&pp, ep, snat, ep_port, port, want);

		/* Only the low log2(128) bits change ... */
		assert_int_equal(adj & ~0x7f, port & ~0x7f);
		/* ... and the NIC's hash of the reply now ends in the entry we want. */
		assert_int_equal(nic_hash(key, ep, snat, ep_port, rte_cpu_to_be_16(adj)) & 127, want);
	}
}

static void
test_two_workers_predictable_rss_no_hand_off(void **state)
{
	/* Worker 0 of 2 with predictable RSS on the endpoints' port: every
	 * SYN it sends carries a SNAT port whose reply hashes to a table entry
	 * of queue 0, i.e. to worker 0 itself; no pools, no parity rule. */
	struct mg_proxy_port *pp = &fx.sh.ports[port_b];
	uint8_t key[40];
	uint32_t mine = 0, odd = 0;

	assert_int_equal(mg_proxy_rss_init(pp, port_b, sizeof(key), 64, key), 0);
	pp->rss = true;
	for (uint16_t p = 43000; p < 43064; p++) {
		input(from_client(p, MG_TCP_SYN, 1, 0, 0));
		struct rte_mbuf *s = sent(port_b);

		if (s == NULL)
			continue;
		mine++;
		uint32_t h = nic_hash(key, ip_of(s)->dst_addr, ip_of(s)->src_addr,
				      tcp_of(s)->dst_port, tcp_of(s)->src_port);
		/* Table entry i holds queue i % 2: worker 0's entries are even. */
		assert_int_equal((h & 63) % 2, 0);
		odd += rte_be_to_cpu_16(tcp_of(s)->src_port) % 2;
		rte_pktmbuf_free(s);
	}
	assert_true(mine > 10);
	/* The port's parity no longer matters (about half are odd). */
	assert_true(odd > 0);
	struct rte_mbuf *m;

	while (rte_ring_dequeue(fx.sh.handoff[0][1], (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

static void
test_endpoint_time_wait_ack_is_cleared(void **state)
{
	/* The endpoint answers our SYN with a bare ACK (old 4-tuple in TIME_WAIT):
	 * we send a RST with seq = its ACK, then the SYN again, to the same endpoint. */
	struct rte_mbuf *s = open_syn(40020), *r, *s2;

	input(reply_from(s, MG_TCP_ACK, 9000, 123456, 0));
	r = sent(port_b);
	s2 = sent(port_b);
	assert_non_null(r);
	assert_non_null(s2);
	assert_int_equal(tcp_of(r)->tcp_flags, MG_TCP_RST);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(r)->sent_seq), 123456);
	assert_int_equal(ip_of(r)->dst_addr, ip_of(s)->dst_addr);
	assert_int_equal(tcp_of(r)->src_port, tcp_of(s)->src_port);
	assert_int_equal(tcp_of(s2)->tcp_flags, MG_TCP_SYN);
	assert_int_equal(ip_of(s2)->dst_addr, ip_of(s)->dst_addr);
	assert_null(sent(port_c));
	rte_pktmbuf_free(r);
	rte_pktmbuf_free(s2);
	rte_pktmbuf_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_syn_is_full_natted_to_an_endpoint, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_and_data_both_ways, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_refused_connect_fails_over_unseen, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout_fails_over, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_every_attempt_fails_client_gets_rst, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_client_syn_retransmission_absorbed, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_syn_twice_in_one_burst_makes_one_flow, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_time_wait_ack_is_cleared, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_unreachable_fails_over, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_forged_unreachable_for_a_probe_ignored, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_close_both_ways_then_expire, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_client_leaving_during_connect_aborts_it, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_blind_rst_is_revived_by_traffic, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_service_and_stray_segments_dropped, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_full_flow_table_refuses_with_rst_keeps_established, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_arp_request_answered_and_learnt, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo_answered, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_dropped_and_counted, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_arp_not_for_us_counted, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_martian_sources_answered_nothing, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_no_eligible_endpoint_rst_counted, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_two_workers_hand_off_to_owner, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_mbuf_pool_empty_defers_connect_keeps_established, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_tx_queue_full_drops_counted_connect_recovers, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_handoff_ring_full_drops_counted, setup2, teardown),
		cmocka_unit_test(test_rss_adjust_lands_on_every_reta_entry),
		cmocka_unit_test_setup_teardown(test_two_workers_predictable_rss_no_hand_off, setup2, teardown),
	};
	if (fixture_ports("test_proxy") != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
