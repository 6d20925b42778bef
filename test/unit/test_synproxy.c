/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/proxy's SYN flood defence: half-open limits per worker,
 * per client address and per service, SYN cookies, and the SYN-proxied flow
 * that a valid cookie opens (sequence numbers shifted both ways, the client's
 * first data kept until the endpoint accepts, failover and the final RST).
 */
#include "proxy_fixture.h"
#include "mg_syncookie.h"

#define VIP IP(10, 96, 0, 10)

static struct rte_mbuf *
syn_from(uint32_t src, uint16_t sport, uint32_t isn)
{
	return tcp_pkt(port_c, client_mac, src, VIP, BE16(sport), BE16(80), MG_TCP_SYN, isn, 0, 0);
}

static struct rte_mbuf *
seg_from(uint32_t src, uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack,
	 uint16_t payload)
{
	return tcp_pkt(port_c, client_mac, src, VIP, BE16(sport), BE16(80), flags, seq, ack,
		       payload);
}

/* The MSS option of a sent segment; 0 when absent. */
static uint16_t
mss_of(struct rte_mbuf *m)
{
	struct rte_tcp_hdr *th = tcp_of(m);

	return mg_tcp_opt_mss((const uint8_t *)(th + 1), (uint32_t)(th->data_off >> 4) * 4 - 20);
}

/* Send a SYN past the limits: it must come back as our cookie SYN+ACK. */
static uint32_t
cookie_for(uint32_t src, uint16_t sport, uint32_t isn)
{
	struct rte_mbuf *m;
	uint32_t cookie;

	input(syn_from(src, sport, isn));
	assert_null(sent(port_b));      /* nothing toward the endpoints */
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_SYN | MG_TCP_ACK);
	assert_int_equal(ip_of(m)->src_addr, VIP);
	assert_int_equal(ip_of(m)->dst_addr, src);
	assert_int_equal(tcp_of(m)->src_port, BE16(80));
	assert_int_equal(tcp_of(m)->dst_port, BE16(sport));
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->recv_ack), isn + 1);
	assert_int_equal(mss_of(m), MG_SYNPROXY_MSS);
	cookie = rte_be_to_cpu_32(tcp_of(m)->sent_seq);
	rte_pktmbuf_free(m);
	return cookie;
}

static void
test_syncookie_round_trip_and_forgeries(void **state)
{
	struct mg_syncookie_key k = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };
	struct mg_syncookie_key k2 = { 1, 2 };
	uint32_t a = IP(10, 10, 0, 2), b = VIP, now = 5000000;
	uint32_t c = mg_syncookie_make(&k, a, b, BE16(40000), BE16(80), 777, 1460, now);

	assert_int_equal(mg_syncookie_check(&k, a, b, BE16(40000), BE16(80), 777, c, now), 1460);
	/* Within the next slot still, not two slots later. */
	assert_int_equal(mg_syncookie_check(&k, a, b, BE16(40000), BE16(80), 777, c,
					    now + (1u << MG_SYNCOOKIE_SLOT_SHIFT)), 1460);
	assert_int_equal(mg_syncookie_check(&k, a, b, BE16(40000), BE16(80), 777, c,
					    now + (2u << MG_SYNCOOKIE_SLOT_SHIFT)), 0);
	/* Any other tuple, sequence number, key or bit: refused. */
	assert_int_equal(mg_syncookie_check(&k, a + 1, b, BE16(40000), BE16(80), 777, c, now), 0);
	assert_int_equal(mg_syncookie_check(&k, a, b, BE16(40001), BE16(80), 777, c, now), 0);
	assert_int_equal(mg_syncookie_check(&k, a, b, BE16(40000), BE16(80), 778, c, now), 0);
	assert_int_equal(mg_syncookie_check(&k2, a, b, BE16(40000), BE16(80), 777, c, now), 0);
	for (int bit = 0; bit < 32; bit++)
		assert_int_equal(mg_syncookie_check(&k, a, b, BE16(40000), BE16(80), 777,
						    c ^ (1u << bit), now), 0);
	/* The MSS is rounded down to the table, and 536 when absent. */
	c = mg_syncookie_make(&k, a, b, BE16(1), BE16(2), 9, 1450, now);
	assert_int_equal(mg_syncookie_check(&k, a, b, BE16(1), BE16(2), 9, c, now), 1440);
	c = mg_syncookie_make(&k, a, b, BE16(1), BE16(2), 9, 0, now);
	assert_int_equal(mg_syncookie_check(&k, a, b, BE16(1), BE16(2), 9, c, now), 536);
	c = mg_syncookie_make(&k, a, b, BE16(1), BE16(2), 9, 9000, now);
	assert_int_equal(mg_syncookie_check(&k, a, b, BE16(1), BE16(2), 9, c, now), 1460);
	/* Random guesses pass with about 2^-24 x 2/32 each: none of 100000
	 * (a fixed seed, so the test is the same every run). */
	uint32_t accepted = 0;

	rte_srand(1);
	for (uint32_t i = 0; i < 100000; i++)
		accepted += mg_syncookie_check(&k, a, b, BE16(1), BE16(2), 9, (uint32_t)rte_rand(),
					       now) != 0;
	assert_int_equal(accepted, 0);
}

static void
test_tcp_mss_option_parser_is_defensive(void **state)
{
	const uint8_t ok[] = { 1, 1, 4, 2, 3, 3, 7, 2, 4, 0x05, 0xb4 }; /* NOP NOP SACKOK WS MSS */
	const uint8_t trunc[] = { 2, 4, 0x05 };
	const uint8_t zero_len[] = { 3, 0, 2, 4, 0x05, 0xb4 };
	const uint8_t over[] = { 8, 40, 2, 4, 0x05, 0xb4 };
	const uint8_t eol[] = { 0, 2, 4, 0x05, 0xb4 };

	assert_int_equal(mg_tcp_opt_mss(ok, sizeof(ok)), 1460);
	assert_int_equal(mg_tcp_opt_mss(trunc, sizeof(trunc)), 0);
	assert_int_equal(mg_tcp_opt_mss(zero_len, sizeof(zero_len)), 0);
	assert_int_equal(mg_tcp_opt_mss(over, sizeof(over)), 0);
	assert_int_equal(mg_tcp_opt_mss(eol, sizeof(eol)), 0);
	assert_int_equal(mg_tcp_opt_mss(ok, 0), 0);
}

/* Past the worker's half-open limit a SYN costs no flow: a cookie answers it. */
static void
test_syn_past_worker_limit_gets_a_cookie(void **state)
{
	struct rte_mbuf *s1, *s2;

	fx.sh.params.max_half_open = 2;
	input(syn_from(IP(10, 10, 0, 2), 40000, 100));
	input(syn_from(IP(10, 10, 0, 3), 40000, 100));
	s1 = sent(port_b);
	s2 = sent(port_b);
	assert_non_null(s1);
	assert_non_null(s2);
	assert_int_equal(fx.w.st.half_open, 2);
	cookie_for(IP(10, 10, 0, 4), 40000, 100);
	assert_int_equal(mg_flow_count(fx.w.ft), 2);
	assert_int_equal(fx.w.st.half_open_limit_worker, 1);
	assert_int_equal(fx.w.st.syncookies_sent, 1);
	/* The client completing its handshake frees a half-open place (the
	 * endpoint's SYN+ACK alone does not: spoofed clients never answer it). */
	input(reply_from(s1, MG_TCP_SYN | MG_TCP_ACK, 5000, 101, 0));
	rte_pktmbuf_free(sent(port_c));
	assert_int_equal(fx.w.st.half_open, 2);
	input(seg_from(IP(10, 10, 0, 2), 40000, MG_TCP_ACK, 101, 5001, 0));
	rte_pktmbuf_free(sent(port_b));
	assert_int_equal(fx.w.st.half_open, 1);
	input(syn_from(IP(10, 10, 0, 5), 40000, 100));
	rte_pktmbuf_free(sent(port_b));
	assert_null(sent(port_c));
	assert_int_equal(fx.w.st.half_open, 2);
	/* Expiry of an unanswered connect gives its place back too. */
	fx.sh.params.max_attempts = 1;
	fx.w.now_ms += 501;
	mg_proxy_expire(&fx.w, 64);
	mg_proxy_flush(&fx.w);
	while ((s1 = sent(port_c)) != NULL)
		rte_pktmbuf_free(s1);   /* the RSTs of the failed connects */
	assert_int_equal(fx.w.st.half_open, 0);
	rte_pktmbuf_free(s2);
}

static void
test_per_source_and_per_service_limits(void **state)
{
	fx.sh.params.max_half_open_src = 2;
	for (uint16_t p = 0; p < 2; p++) {
		input(syn_from(IP(10, 10, 0, 2), (uint16_t)(41000 + p), 7));
		rte_pktmbuf_free(sent(port_b));
	}
	cookie_for(IP(10, 10, 0, 2), 41002, 7);
	assert_int_equal(fx.w.st.half_open_limit_source, 1);
	/* Another address is not held back by this one's. */
	input(syn_from(IP(10, 10, 0, 9), 41000, 7));
	rte_pktmbuf_free(sent(port_b));
	assert_int_equal(fx.w.st.half_open, 3);
	/* Per service: 3 half-open already. */
	fx.sh.params.max_half_open_src = 0;
	fx.sh.params.max_half_open_svc = 3;
	cookie_for(IP(10, 10, 0, 10), 41000, 7);
	assert_int_equal(fx.w.st.half_open_limit_service, 1);
}

static void
test_cookies_off_drops_past_the_limit(void **state)
{
	fx.sh.params.max_half_open = 1;
	fx.sh.params.syn_cookies = MG_SYNCOOKIES_OFF;
	input(syn_from(IP(10, 10, 0, 2), 40000, 1));
	rte_pktmbuf_free(sent(port_b));
	input(syn_from(IP(10, 10, 0, 3), 40000, 1));
	assert_null(sent(port_b));
	assert_null(sent(port_c));
	assert_int_equal(fx.w.st.drop[MG_DROP_HALF_OPEN], 1);
	assert_int_equal(fx.w.st.syncookies_sent, 0);
}

/*
 * The whole SYN-proxied connection: cookie, the client's ACK with its first
 * data, the endpoint's SYN+ACK, then data both ways with shifted numbers.
 */
static void
test_cookie_ack_opens_a_syn_proxied_flow(void **state)
{
	const uint32_t src = IP(10, 10, 0, 2), isn = 0xfffffff0u, eisn = 0x12345678u;
	struct rte_mbuf *syn, *m;
	uint32_t cookie;

	fx.sh.params.syn_cookies = MG_SYNCOOKIES_ALWAYS;
	cookie = cookie_for(src, 40000, isn);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
	/* The handshake's ACK opens the flow: our SYN carries the client's ISN. */
	input(seg_from(src, 40000, MG_TCP_ACK, isn + 1, cookie + 1, 0));
	syn = sent(port_b);
	assert_non_null(syn);
	assert_int_equal(tcp_of(syn)->tcp_flags, MG_TCP_SYN);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(syn)->sent_seq), isn);
	assert_int_equal(tcp_of(syn)->dst_port, BE16(8080));
	assert_int_equal(ip_of(syn)->src_addr, IP(10, 20, 0, 1));
	assert_int_equal(mss_of(syn), 536);     /* the test's SYN had no MSS option */
	assert_int_equal(fx.w.st.syncookies_ok, 1);
	assert_int_equal(fx.w.st.half_open, 0); /* a verified client is not a flood */
	/* The client's first data replaces the bare ACK; later ones wait. */
	input(seg_from(src, 40000, MG_TCP_ACK | MG_TCP_PSH, isn + 1, cookie + 1, 100));
	input(seg_from(src, 40000, MG_TCP_ACK | MG_TCP_PSH, isn + 101, cookie + 1, 50));
	assert_null(sent(port_b));
	assert_int_equal(fx.w.st.drop[MG_DROP_SYNPROXY_WAIT], 1);
	/* The endpoint accepts: it gets the client's data as the handshake's ACK. */
	input(reply_from(syn, MG_TCP_SYN | MG_TCP_ACK, eisn, isn + 1, 0));
	assert_null(sent(port_c));      /* the client had its SYN+ACK from us */
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_ACK | MG_TCP_PSH);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->sent_seq), isn + 1);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->recv_ack), eisn + 1);
	assert_int_equal(rte_be_to_cpu_16(ip_of(m)->total_length), 140);
	rte_pktmbuf_free(m);
	assert_int_equal(fx.w.st.connect_ok, 1);
	/* The endpoint's data: its sequence moved onto the cookie's. */
	input(reply_from(syn, MG_TCP_ACK | MG_TCP_PSH, eisn + 1, isn + 101, 1000));
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->sent_seq), cookie + 1);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->recv_ack), isn + 101);
	assert_int_equal(ip_of(m)->src_addr, VIP);
	rte_pktmbuf_free(m);
	/* The client's acknowledgment: moved onto the endpoint's. */
	input(seg_from(src, 40000, MG_TCP_ACK, isn + 101, cookie + 1001, 0));
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->recv_ack), eisn + 1001);
	rte_pktmbuf_free(m);
	/* Close both ways: FINs shifted too, the flow goes to TIME_WAIT. */
	input(seg_from(src, 40000, MG_TCP_FIN | MG_TCP_ACK, isn + 101, cookie + 1001, 0));
	rte_pktmbuf_free(sent(port_b));
	input(reply_from(syn, MG_TCP_FIN | MG_TCP_ACK, eisn + 1001, isn + 102, 0));
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->sent_seq), cookie + 1001);
	rte_pktmbuf_free(m);
	input(seg_from(src, 40000, MG_TCP_ACK, isn + 102, cookie + 1002, 0));
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->recv_ack), eisn + 1002);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(syn);
}

static void
test_forged_cookie_ack_is_dropped(void **state)
{
	const uint32_t src = IP(10, 10, 0, 2);
	uint32_t cookie;

	/* Before any cookie was sent, an ACK for no flow is just that. */
	input(seg_from(src, 40000, MG_TCP_ACK, 11, 12345, 0));
	assert_int_equal(fx.w.st.drop[MG_DROP_NO_FLOW], 1);
	fx.sh.params.syn_cookies = MG_SYNCOOKIES_ALWAYS;
	cookie = cookie_for(src, 40000, 10);
	input(seg_from(src, 40000, MG_TCP_ACK, 11, cookie + 2, 0));    /* wrong ack */
	input(seg_from(src, 40000, MG_TCP_ACK, 12, cookie + 1, 0));    /* wrong seq */
	input(seg_from(src, 40001, MG_TCP_ACK, 11, cookie + 1, 0));    /* other port */
	assert_null(sent(port_b));
	assert_int_equal(fx.w.st.drop[MG_DROP_SYNCOOKIE], 3);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
	/* A stale one: two slots later. */
	fx.w.now_ms += 2u << MG_SYNCOOKIE_SLOT_SHIFT;
	cookie_for(src, 40002, 10);     /* cookies still being sent */
	input(seg_from(src, 40000, MG_TCP_ACK, 11, cookie + 1, 0));
	assert_int_equal(fx.w.st.drop[MG_DROP_SYNCOOKIE], 4);
	/* Long after the last cookie, ACKs for no flow are not checked at all. */
	fx.w.now_ms += MG_SYNCOOKIE_ACCEPT_MS + 1;
	input(seg_from(src, 40000, MG_TCP_ACK, 11, cookie + 1, 0));
	assert_int_equal(fx.w.st.drop[MG_DROP_NO_FLOW], 2);
}

/* Every endpoint refuses: the established client gets a RST it accepts. */
static void
test_syn_proxied_connect_fails_over_then_rst(void **state)
{
	const uint32_t src = IP(10, 10, 0, 2);
	struct rte_mbuf *s, *m;
	uint32_t cookie, first;

	fx.sh.params.syn_cookies = MG_SYNCOOKIES_ALWAYS;
	cookie = cookie_for(src, 40000, 500);
	input(seg_from(src, 40000, MG_TCP_ACK, 501, cookie + 1, 0));
	s = sent(port_b);
	assert_non_null(s);
	first = ip_of(s)->dst_addr;
	for (int i = 0; i < 3; i++) {
		assert_non_null(s);
		assert_int_equal(rte_be_to_cpu_32(tcp_of(s)->sent_seq), 500);
		if (i > 0)
			assert_int_not_equal(ip_of(s)->dst_addr, first);
		input(reply_from(s, MG_TCP_RST | MG_TCP_ACK, 0, 501, 0));
		rte_pktmbuf_free(s);
		s = sent(port_b);
	}
	assert_null(s);
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_RST);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->sent_seq), cookie + 1);
	assert_int_equal(fx.w.st.connect_failed, 1);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
	rte_pktmbuf_free(m);
}

/* The client leaves (RST) while its SYN-proxied connect is pending. */
static void
test_syn_proxied_client_reset_while_connecting(void **state)
{
	const uint32_t src = IP(10, 10, 0, 2);
	struct rte_mbuf *s, *m;
	uint32_t cookie;

	fx.sh.params.syn_cookies = MG_SYNCOOKIES_ALWAYS;
	cookie = cookie_for(src, 40000, 500);
	input(seg_from(src, 40000, MG_TCP_ACK, 501, cookie + 1, 0));
	s = sent(port_b);
	assert_non_null(s);
	input(seg_from(src, 40000, MG_TCP_RST | MG_TCP_ACK, 501, cookie + 1, 0));
	m = sent(port_b);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_RST);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->sent_seq), 501);
	assert_int_equal(tcp_of(m)->src_port, tcp_of(s)->src_port);
	assert_int_equal(mg_flow_count(fx.w.ft), 0);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(s);
}

/* A full table refuses a cookie's ACK with a RST the client accepts. */
static void
test_full_table_refuses_cookie_ack(void **state)
{
	const uint32_t src = IP(10, 10, 0, 2);
	struct rte_mbuf *m;
	uint32_t cookie;

	for (uint16_t p = 0; p < 4; p++) {
		input(syn_from(src, (uint16_t)(42000 + p), 1));
		rte_pktmbuf_free(sent(port_b));
	}
	fx.sh.params.syn_cookies = MG_SYNCOOKIES_ALWAYS;
	cookie = cookie_for(src, 40000, 500);
	input(seg_from(src, 40000, MG_TCP_ACK, 501, cookie + 1, 0));
	assert_null(sent(port_b));
	m = sent(port_c);
	assert_non_null(m);
	assert_int_equal(tcp_of(m)->tcp_flags, MG_TCP_RST);
	assert_int_equal(rte_be_to_cpu_32(tcp_of(m)->sent_seq), cookie + 1);
	assert_int_equal(fx.w.st.drop[MG_DROP_FLOW_FULL], 1);
	rte_pktmbuf_free(m);
}

static int
setup_small(void **state)
{
	return setup(state, 1, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syncookie_round_trip_and_forgeries),
		cmocka_unit_test(test_tcp_mss_option_parser_is_defensive),
		cmocka_unit_test_setup_teardown(test_syn_past_worker_limit_gets_a_cookie, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_per_source_and_per_service_limits, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_cookies_off_drops_past_the_limit, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_ack_opens_a_syn_proxied_flow, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_forged_cookie_ack_is_dropped, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_syn_proxied_connect_fails_over_then_rst, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_syn_proxied_client_reset_while_connecting, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_full_table_refuses_cookie_ack, setup_small, teardown),
	};

	if (fixture_ports("test_synproxy") != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
