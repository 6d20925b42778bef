/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/control, and the publication stress test of issue 3:
 * a real gateway (control thread, two worker lcores, RCU defer queue) on
 * ring-backed ports, with this thread playing clients and endpoints
 * (answering ARP, SYN+ACK, data, FIN), while a second thread publishes a
 * new table generation every millisecond, alternating between two endpoint
 * sets. Every SYN a worker sends must go to an endpoint of one of the two
 * sets, every connection must complete, and nothing may crash or leak
 * (run it under -Dsanitize=true for use-after-free detection).
 *
 * MG_STRESS_SECONDS sets the duration (default 5; scripts/stress.sh runs 30).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "mg_gw.h"

#define IP(a, b, c, d) rte_cpu_to_be_32(RTE_IPV4(a, b, c, d))
#define BE16(x) rte_cpu_to_be_16(x)

static struct rte_mempool *mp;
static struct rte_ring *rx[2][3], *tx[2][3];
static uint16_t port_id[2];
static struct mg_gw gw;

static const char *conf_fmt =
	"apiVersion: meshgate.io/v1alpha1\nkind: MeshGateway\nmetadata: {name: s}\n"
	"spec:\n  network: n1\n  connect: {timeout: 200ms}\n"
	"  ports:\n"
	"    - {name: client, device: net_ring_sc, address: 10.10.0.1/24}\n"
	"    - {name: backend, device: net_ring_sb, address: 10.20.0.1/24}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
	"spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: 8080}]}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}\n"
	"addressType: IPv4\nports: [{name: http, port: 8080}]\n"
	"endpoints: [{addresses: [%s]}, {addresses: [%s]}]\n";

static struct mg_conf *
conf_with(const char *a, const char *b)
{
	char y[2048], err[512];
	struct mg_conf *c;

	snprintf(y, sizeof(y), conf_fmt, a, b);
	c = mg_conf_load_string(y, strlen(y), "stress.yaml", NULL, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

static struct rte_mbuf *
tcp_pkt(int side, uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport, uint8_t flags,
	uint32_t seq, uint32_t ack, uint16_t payload)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t len = sizeof(struct rte_ether_hdr) + 40 + payload;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	memset(rte_pktmbuf_mtod(m, void *), 0, len);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	th = (struct rte_tcp_hdr *)(ip + 1);
	eth->src_addr = (struct rte_ether_addr){ { 2, 0, 0, 0, (uint8_t)side, 9 } };
	rte_eth_macaddr_get(port_id[side], &eth->dst_addr);
	eth->ether_type = BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = BE16(40 + payload);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = sip;
	ip->dst_addr = dip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = sport;
	th->dst_port = dport;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;
	th->rx_win = BE16(65535);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}

static void
inject(int side, struct rte_mbuf *m, uint32_t n)
{
	if (m != NULL && rte_ring_enqueue(rx[side][n % 2], m) != 0)
		rte_pktmbuf_free(m);
}

/* The ARP answer of endpoint @p tip to a request @p req seen on the backend side. */
static struct rte_mbuf *
arp_reply(struct rte_mbuf *req)
{
	struct rte_arp_hdr *q = rte_pktmbuf_mtod_offset(req, struct rte_arp_hdr *,
							sizeof(struct rte_ether_hdr));
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, 60);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eth + 1);

	memset(rte_pktmbuf_mtod(m, void *), 0, 60);
	eth->src_addr = (struct rte_ether_addr){ { 2, 0, 0, 0, 1, 9 } };
	eth->dst_addr = q->arp_data.arp_sha;
	eth->ether_type = BE16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = BE16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = BE16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = BE16(RTE_ARP_OP_REPLY);
	a->arp_data.arp_sha = eth->src_addr;
	a->arp_data.arp_sip = q->arp_data.arp_tip;
	a->arp_data.arp_tha = q->arp_data.arp_sha;
	a->arp_data.arp_tip = q->arp_data.arp_sip;
	return m;
}

static volatile bool publishing;
static uint64_t published;

static void *
publisher(void *arg)
{
	char err[512];

	while (publishing) {
		struct mg_conf *c = (published & 1) ? conf_with("10.20.0.11", "10.20.0.12") :
						      conf_with("10.20.0.12", "10.20.0.13");

		pthread_mutex_lock(&gw.lock);
		if (mg_gw_apply(&gw, c, err, sizeof(err)) < 0) {
			pthread_mutex_unlock(&gw.lock);
			mg_conf_free(c);
			fprintf(stderr, "apply: %s\n", err);
			abort();
		}
		pthread_mutex_unlock(&gw.lock);
		published++;
		usleep(1000);
	}
	return NULL;
}

struct stats {
	uint64_t syn_out, bad_ep, synack_in, data_in, fin_done, arp;
};

/*
 * Drain both sides' TX rings: answer ARP, answer endpoint SYNs with
 * SYN+ACK, and when the client side sees a SYN+ACK, complete the
 * connection with ACK+data and FIN.
 */
static void
play(struct stats *st)
{
	struct rte_mbuf *m;

	for (int q = 0; q < 3; q++) {
		while (rte_ring_dequeue(tx[1][q], (void **)&m) == 0) {
			struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

			if (eth->ether_type == BE16(RTE_ETHER_TYPE_ARP)) {
				inject(1, arp_reply(m), st->arp++);
			} else {
				struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
				struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
				uint32_t d = ip->dst_addr;

				if (th->tcp_flags == MG_TCP_SYN) {
					st->syn_out++;
					if (d != IP(10, 20, 0, 11) && d != IP(10, 20, 0, 12) &&
					    d != IP(10, 20, 0, 13))
						st->bad_ep++;
					inject(1, tcp_pkt(1, d, ip->src_addr, th->dst_port, th->src_port,
							  MG_TCP_SYN | MG_TCP_ACK, 7000,
							  rte_be_to_cpu_32(th->sent_seq) + 1, 0), st->syn_out);
				} else if (th->tcp_flags & MG_TCP_FIN) {
					/* Client closed: the endpoint closes too. */
					inject(1, tcp_pkt(1, d, ip->src_addr, th->dst_port, th->src_port,
							  MG_TCP_FIN | MG_TCP_ACK, 7001,
							  rte_be_to_cpu_32(th->sent_seq) + 1, 0), st->syn_out);
				}
			}
			rte_pktmbuf_free(m);
		}
		while (rte_ring_dequeue(tx[0][q], (void **)&m) == 0) {
			struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
			struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

			if (eth->ether_type == BE16(RTE_ETHER_TYPE_IPV4) &&
			    th->tcp_flags == (MG_TCP_SYN | MG_TCP_ACK)) {
				st->synack_in++;
				inject(0, tcp_pkt(0, ip->dst_addr, ip->src_addr, th->dst_port,
						  th->src_port, MG_TCP_ACK | MG_TCP_FIN, 1001, 7001, 0),
				       st->synack_in);
			} else if (eth->ether_type == BE16(RTE_ETHER_TYPE_IPV4) &&
				   (th->tcp_flags & MG_TCP_FIN)) {
				st->fin_done++;
			}
			rte_pktmbuf_free(m);
		}
	}
}

static void
test_publish_every_millisecond_under_traffic(void **state)
{
	const char *env = getenv("MG_STRESS_SECONDS");
	uint64_t seconds = env ? strtoull(env, NULL, 10) : 5;
	struct mg_gw_opts opts = { .idle_sleep_us = 0 };
	struct stats st = { 0 };
	char err[512];
	pthread_t pub;
	uint64_t end, sent = 0;

	assert_int_equal(mg_gw_init(&gw, conf_with("10.20.0.11", "10.20.0.12"), NULL, &opts, err,
				    sizeof(err)), 0);
	assert_int_equal(gw.n_workers, 2);
	assert_int_equal(mg_gw_start(&gw, err, sizeof(err)), 0);
	/* Let ARP resolve before traffic. */
	end = rte_get_tsc_cycles() + rte_get_tsc_hz() / 2;
	while (rte_get_tsc_cycles() < end)
		play(&st);
	publishing = true;
	assert_int_equal(pthread_create(&pub, NULL, publisher, NULL), 0);
	end = rte_get_tsc_cycles() + seconds * rte_get_tsc_hz();
	while (rte_get_tsc_cycles() < end) {
		/* Keep ~64 connections in flight. */
		if (sent - st.synack_in < 64) {
			uint16_t cport = (uint16_t)(1024 + sent % 60000);

			inject(0, tcp_pkt(0, IP(10, 10, (uint8_t)(sent / 60000 % 200), 2),
					  IP(10, 96, 0, 10), BE16(cport), BE16(80), MG_TCP_SYN,
					  1000, 0, 0), sent);
			sent++;
		}
		play(&st);
	}
	publishing = false;
	pthread_join(pub, NULL);
	/* Drain what is in flight. */
	end = rte_get_tsc_cycles() + rte_get_tsc_hz();
	while (rte_get_tsc_cycles() < end)
		play(&st);
	printf("stress: %" PRIu64 " s, %" PRIu64 " generations published, %" PRIu64
	       " connections opened, %" PRIu64 " established, %" PRIu64 " closed, publish wait max %" PRIu64
	       " us, reclaimed %" PRIu64 "\n", seconds, published, sent, st.synack_in, st.fin_done,
	       gw.cst.publish_wait_us_max, gw.cst.reclaimed);
	for (uint16_t w = 0; w < gw.n_workers; w++) {
		const struct mg_worker_stats *ws = &gw.workers[w]->st;

		printf("worker %u: rx %" PRIu64 " tx %" PRIu64 " flows %" PRIu64 " handoff %" PRIu64 "/%" PRIu64,
		       w, ws->rx, ws->tx, ws->flows_new, ws->handoff_out, ws->handoff_in);
		for (int d = 0; d < MG_DROP__MAX; d++)
			if (ws->drop[d])
				printf(" %s=%" PRIu64, mg_drop_reason_name((enum mg_drop_reason)d), ws->drop[d]);
		printf("\n");
	}
	printf("arp answered %" PRIu64 ", syn out %" PRIu64 "\n", st.arp, st.syn_out);
	assert_true(published > seconds * 100);
	assert_int_equal(st.bad_ep, 0);
	assert_true(sent > 1000);
	/* Every connection opened was answered (drops only if rings overflowed). */
	assert_true(st.synack_in >= sent - 64);
	assert_true(gw.cst.reclaimed > 0);
	mg_gw_fini(&gw);
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "--no-shconf", "-m", "1024", "--no-pci",
			"--log-level=error", "--lcores", "0@0,1@1,2@1", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_every_millisecond_under_traffic),
	};
	char name[32];

	if (rte_eal_init(9, eal) < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("stress_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	for (int p = 0; p < 2; p++) {
		for (int q = 0; q < 3; q++) {
			snprintf(name, sizeof(name), "s_rx%d%d", p, q);
			rx[p][q] = rte_ring_create(name, 4096, SOCKET_ID_ANY, 0);
			snprintf(name, sizeof(name), "s_tx%d%d", p, q);
			tx[p][q] = rte_ring_create(name, 4096, SOCKET_ID_ANY, 0);
		}
		/* The ethdev is named "net_ring_" + this name. */
		int id = rte_eth_from_rings(p ? "sb" : "sc", rx[p], 3, tx[p], 3,
					    SOCKET_ID_ANY);

		if (id < 0 || mp == NULL)
			return 1;
		port_id[p] = (uint16_t)id;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
