/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_PROXY_FIXTURE_H
#define MG_PROXY_FIXTURE_H
/*
 * The fixture of lib/proxy's unit tests (test_proxy.c, test_synproxy.c): a
 * worker over two ring-backed ethdevs (rte_eth_from_rings), so every packet
 * the worker sends can be taken off the TX ring and checked: addresses,
 * ports, flags and both checksums recomputed from scratch; and crafted TCP
 * segments from the client and the endpoints.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_eth_ring.h>
#include <rte_random.h>
#include <rte_thash.h>
#include <rte_ethdev.h>

#include "mg_test.h"
#include "mg_proxy.h"

#define IP(a, b, c, d) rte_cpu_to_be_32(RTE_IPV4(a, b, c, d))
#define BE16(x) rte_cpu_to_be_16(x)

static struct rte_mempool *mp;
static struct rte_ring *rxr[2], *txr[2][3];
static uint16_t port_c, port_b; /* client side, backend side */

static const char *conf_yaml =
	"apiVersion: meshgate.io/v1alpha1\n"
	"kind: MeshGateway\n"
	"metadata: {name: t}\n"
	"spec:\n"
	"  network: n1\n"
	"  ports:\n"
	"    - {name: client, device: net_ring_c, address: 10.10.0.1/24}\n"
	"    - {name: backend, device: net_ring_b, address: 10.20.0.1/24}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata: {name: web, namespace: demo}\n"
	"spec:\n"
	"  clusterIP: 10.96.0.10\n"
	"  ports: [{name: http, port: 80, targetPort: 8080}]\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\n"
	"kind: EndpointSlice\n"
	"metadata:\n"
	"  name: web-1\n"
	"  namespace: demo\n"
	"  labels: {kubernetes.io/service-name: web}\n"
	"addressType: IPv4\n"
	"ports: [{name: http, port: 8080}]\n"
	"endpoints:\n"
	"  - addresses: [10.20.0.11]\n"
	"  - addresses: [10.20.0.12]\n"
	"  - addresses: [10.20.0.13]\n";

struct fixture {
	struct mg_proxy_shared sh;
	struct mg_worker w;
	struct mg_route_table rt;
};

static struct fixture fx;
static const struct rte_ether_addr client_mac = { { 0x02, 0xc0, 0, 0, 0, 2 } };

static inline struct rte_ether_addr
ep_mac(uint32_t ip)
{
	struct rte_ether_addr m = { { 0x02, 0xee, 0, 0, 0, (uint8_t)(rte_be_to_cpu_32(ip) & 0xff) } };
	return m;
}

static inline int
resolve(void *ctx, uint32_t ip, uint16_t *port_id, uint16_t *nh, uint16_t *snat_idx)
{
	struct fixture *f = ctx;
	uint32_t next_hop;
	int idx;

	if (mg_route_lookup(&f->rt, ip, &next_hop, port_id) < 0)
		return -ENOENT;
	idx = mg_neigh_get_or_add(f->sh.neigh, next_hop, *port_id);
	*nh = (uint16_t)idx;
	*snat_idx = *port_id == port_b ? 1 : 0;
	return 0;
}

static inline void
learn_all(struct fixture *f)
{
	for (uint32_t i = 0; i < f->sh.neigh->n; i++) {
		struct rte_ether_addr m = ep_mac(f->sh.neigh->info[i].ip);

		mg_neigh_learn(f->sh.neigh, f->sh.neigh->info[i].ip, port_b, &m, 1, false);
	}
}

static inline int
setup(void **state, uint16_t n_workers, uint32_t flows)
{
	char err[512];
	struct mg_conf *conf;
	struct mg_lb_env env = { .resolve = resolve, .ctx = &fx, .generation = 1 };

	memset(&fx, 0, sizeof(fx));
	fx.sh.n_workers = n_workers;
	rte_eth_macaddr_get(port_c, &fx.sh.ports[port_c].mac);
	rte_eth_macaddr_get(port_b, &fx.sh.ports[port_b].mac);
	fx.sh.ports[port_c].ip = IP(10, 10, 0, 1);
	fx.sh.ports[port_b].ip = IP(10, 20, 0, 1);
	fx.sh.snat_ips[0] = IP(10, 10, 0, 1);
	fx.sh.snat_ips[1] = IP(10, 20, 0, 1);
	fx.sh.n_snat = 2;
	fx.sh.snat_port_min = 1024;
	fx.sh.snat_port_max = 65535;
	mg_proxy_local_add(&fx.sh, IP(10, 10, 0, 1));
	mg_proxy_local_add(&fx.sh, IP(10, 20, 0, 1));
	fx.sh.params.connect_timeout_ms = 500;
	fx.sh.params.max_attempts = 3;
	mg_tcp_timeouts_default(&fx.sh.params.timeouts);
	fx.sh.neigh = mg_neigh_create("t_px_neigh", 64, 60000, SOCKET_ID_ANY);
	for (uint16_t w = 0; w < n_workers; w++) {
		char name[32];

		snprintf(name, sizeof(name), "t_px_ev%u", w);
		fx.sh.events[w] = rte_ring_create_elem(name, sizeof(struct mg_event), 1024,
						       SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		for (uint16_t o = 0; o < n_workers; o++) {
			if (o == w)
				continue;
			snprintf(name, sizeof(name), "t_px_ho%u%u", w, o);
			fx.sh.handoff[w][o] = rte_ring_create(name, 256, SOCKET_ID_ANY,
							      RING_F_SP_ENQ | RING_F_SC_DEQ);
		}
	}
	mg_route_add(&fx.rt, IP(10, 10, 0, 1), 24, 0, port_c, true);
	mg_route_add(&fx.rt, IP(10, 20, 0, 1), 24, 0, port_b, true);
	conf = mg_conf_load_string(conf_yaml, strlen(conf_yaml), "test.yaml", NULL, err, sizeof(err));
	if (conf == NULL)
		fail_msg("config: %s", err);
	fx.sh.lb = mg_lb_build(conf, &env, err, sizeof(err));
	if (fx.sh.lb == NULL)
		fail_msg("table: %s", err);
	learn_all(&fx);
	assert_int_equal(mg_worker_init(&fx.w, &fx.sh, 0, 0, flows, mp, SOCKET_ID_ANY), 0);
	fx.w.now_ms = 1000;
	fx.w.lb = fx.sh.lb;
	*state = &fx;
	return 0;
}

static inline int
setup1(void **state)
{
	return setup(state, 1, 1024);
}

static inline int
teardown(void **state)
{
	struct rte_mbuf *m;

	mg_proxy_drain(&fx.w);
	mg_proxy_flush(&fx.w);
	mg_worker_fini(&fx.w);
	mg_lb_free(fx.sh.lb);
	mg_neigh_free(fx.sh.neigh);
	for (int w = 0; w < MG_MAX_WORKERS; w++) {
		rte_ring_free(fx.sh.events[w]);
		for (int o = 0; o < MG_MAX_WORKERS; o++)
			rte_ring_free(fx.sh.handoff[w][o]);
	}
	for (int p = 0; p < 2; p++)
		while (rte_ring_dequeue(txr[p][0], (void **)&m) == 0)
			rte_pktmbuf_free(m);
	return 0;
}

/* ---- packets -------------------------------------------------------------- */

static inline struct rte_mbuf *
tcp_pkt(uint16_t in_port, struct rte_ether_addr smac, uint32_t sip, uint32_t dip,
	uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
	uint16_t payload)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t len = sizeof(struct rte_ether_hdr) + 20 + 20 + payload;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	memset(eth, 0, len);
	eth->src_addr = smac;
	rte_eth_macaddr_get(in_port, &eth->dst_addr);
	eth->ether_type = BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = BE16(20 + 20 + payload);
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
	memset(th + 1, 'x', payload);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	m->port = in_port;
	return m;
}

static inline struct rte_mbuf *
from_client(uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t payload)
{
	return tcp_pkt(port_c, client_mac, IP(10, 10, 0, 2), IP(10, 96, 0, 10), BE16(sport),
		       BE16(80), flags, seq, ack, payload);
}

static inline void
input(struct rte_mbuf *m)
{
	mg_proxy_input(&fx.w, &m, 1, false);
	mg_proxy_flush(&fx.w);
}

/* Take one packet sent on @p port; NULL if none. Checks its checksums. */
static inline struct rte_mbuf *
sent(uint16_t port)
{
	struct rte_mbuf *m;
	struct rte_ring *r = txr[port == port_c ? 0 : 1][0];

	if (rte_ring_dequeue(r, (void **)&m) != 0)
		return NULL;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							   sizeof(struct rte_ether_hdr));
	if (ip->next_proto_id == IPPROTO_TCP) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

		assert_int_equal(rte_ipv4_cksum(ip), 0); /* over a valid header */
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, th), 0);
	}
	return m;
}

static inline struct rte_ipv4_hdr *
ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
}

static inline struct rte_tcp_hdr *
tcp_of(struct rte_mbuf *m)
{
	return (struct rte_tcp_hdr *)(ip_of(m) + 1);
}

/* Open a connection from client port @p sport up to the endpoint's SYN; returns that SYN. */
static inline struct rte_mbuf *
open_syn(uint16_t sport)
{
	input(from_client(sport, MG_TCP_SYN, 1000, 0, 0));
	return sent(port_b);
}

static inline struct rte_mbuf *
reply_from(struct rte_mbuf *syn, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t payload)
{
	struct rte_ipv4_hdr *ip = ip_of(syn);
	struct rte_tcp_hdr *th = tcp_of(syn);

	return tcp_pkt(port_b, ep_mac(ip->dst_addr), ip->dst_addr, ip->src_addr, th->dst_port,
		       th->src_port, flags, seq, ack, payload);
}

/* Start the EAL and the two ring-backed ports; 0 or -1. */
static inline int
fixture_ports(const char *prog)
{
	char name[32];

	mp = mg_test_eal_init(prog);
	/* Two ring-backed ports: RX ring (unused) and one TX ring per queue. */
	for (int p = 0; p < 2; p++) {
		snprintf(name, sizeof(name), "t_rx%d", p);
		rxr[p] = rte_ring_create(name, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		for (int q = 0; q < 3; q++) {
			snprintf(name, sizeof(name), "t_tx%d%d", p, q);
			txr[p][q] = rte_ring_create(name, 1024, SOCKET_ID_ANY, 0);
		}
		snprintf(name, sizeof(name), "net_ring_t%d", p);
		int id = rte_eth_from_rings(name, &rxr[p], 1, txr[p], 3, SOCKET_ID_ANY);

		struct rte_eth_conf ec = { 0 };

		if (id < 0 || rte_eth_dev_configure((uint16_t)id, 1, 3, &ec) != 0 ||
		    rte_eth_rx_queue_setup((uint16_t)id, 0, 1024, SOCKET_ID_ANY, NULL, mp) != 0)
			return -1;
		for (uint16_t q = 0; q < 3; q++)
			if (rte_eth_tx_queue_setup((uint16_t)id, q, 1024, SOCKET_ID_ANY, NULL) != 0)
				return -1;
		if (rte_eth_dev_start((uint16_t)id) != 0)
			return -1;
		if (p == 0)
			port_c = (uint16_t)id;
		else
			port_b = (uint16_t)id;
	}
	return 0;
}

#endif /* MG_PROXY_FIXTURE_H */

