/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_proxy: meshgate's own cost per packet and per connection, with no
 * driver in the figure.
 *
 * The worker runs on two ring-backed ports (rte_eth_from_rings): its RX is
 * fed by calling mg_proxy_input() on bursts of 32 prepared mbufs and its TX
 * is an rte_ring enqueue, so the TSC cycles counted around input + flush are
 * the packet path's own: parse, ownership, bulk flow lookup, state step,
 * rewrite, TX buffering. Filling the mbufs and freeing what was sent happen
 * outside the timed region. (In the memif harness of scripts/bench the
 * driver's copies are inside the worker's busy cycles: about 40 % of them.)
 *
 * Figures, for 1k, 100k and 1M established flows (64-byte segments, both
 * directions alternately, flows visited in a random order):
 *   cycles and ns per packet;
 *   cycles per connection (SYN, SYN+ACK, ACK, FIN both ways, last ACK: the
 *   six segments of a connection's life through the worker);
 *   bytes of memory per flow.
 * A benchmark, not a test: it prints figures and asserts nothing. Under
 * `valgrind --tool=callgrind` (a small run: `bench_proxy 2000 20`) it gives
 * instruction counts per function:
 *   valgrind --tool=callgrind --toggle-collect='*timed_flood*' build/test/bench/bench_proxy 2000 0 1000
 *   valgrind --tool=callgrind --toggle-collect='*timed_burst*' --toggle-collect='*timed_expire*' \
 *       build/test/bench/bench_proxy 0 10 1
 *
 *   [MG_BENCH_HUGE=1] build/test/bench/bench_proxy [bursts per size (default 200000)]
 *                     [connections/1000 (default 200; 0: none)] [only this many flows]
 *                     [only this many connections per burst: 1 or 32]
 * MG_BENCH_HUGE=1 puts memory on 2 MiB hugepages, as the gateway runs (the
 * 1M-flow figure on 4 KiB pages is mostly TLB misses); not under valgrind.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_random.h>
#include <rte_tcp.h>

#include "mg_proxy.h"

#define N_EPS 32
#define IPB(a, b, c, d) rte_cpu_to_be_32(RTE_IPV4(a, b, c, d))

static struct rte_mempool *mp;
static struct rte_ring *rxr[2], *txr[2];
static uint16_t port_c, port_b;
static struct mg_proxy_shared sh;
static struct mg_worker w;
static const struct rte_ether_addr cmac = { { 0x02, 0xc0, 0, 0, 0, 2 } };

static int
resolve(void *ctx, uint32_t ip, uint16_t *port_id, uint16_t *nh, uint16_t *snat_idx)
{
	*port_id = port_b;
	*nh = (uint16_t)mg_neigh_get_or_add(sh.neigh, ip, port_b);
	*snat_idx = (uint16_t)((rte_be_to_cpu_32(ip) & 0xff) % N_EPS);
	return 0;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_proxy: %s\n", what);
	exit(1);
}

static void
ports(void)
{
	char name[32];

	for (int p = 0; p < 2; p++) {
		struct rte_eth_conf ec = { 0 };
		int id;

		snprintf(name, sizeof(name), "b_rx%d", p);
		rxr[p] = rte_ring_create(name, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "b_tx%d", p);
		txr[p] = rte_ring_create(name, 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "net_ring_b%d", p);
		id = rte_eth_from_rings(name, &rxr[p], 1, &txr[p], 1, SOCKET_ID_ANY);
		if (id < 0 || rte_eth_dev_configure((uint16_t)id, 1, 1, &ec) != 0 ||
		    rte_eth_rx_queue_setup((uint16_t)id, 0, 1024, SOCKET_ID_ANY, NULL, mp) != 0 ||
		    rte_eth_tx_queue_setup((uint16_t)id, 0, 4096, SOCKET_ID_ANY, NULL) != 0 ||
		    rte_eth_dev_start((uint16_t)id) != 0)
			die("ring ports");
		if (p == 0)
			port_c = (uint16_t)id;
		else
			port_b = (uint16_t)id;
	}
}

static void
gateway(uint32_t flows)
{
	char yaml[8192], err[512];
	size_t k;
	struct mg_lb_env env = { .resolve = resolve, .generation = 1 };
	struct mg_conf *c;

	memset(&sh, 0, sizeof(sh));
	sh.n_workers = 1;
	rte_eth_macaddr_get(port_c, &sh.ports[port_c].mac);
	rte_eth_macaddr_get(port_b, &sh.ports[port_b].mac);
	sh.ports[port_c].ip = IPB(10, 10, 0, 1);
	sh.ports[port_b].ip = IPB(10, 20, 0, 1);
	for (int i = 0; i < N_EPS; i++) {
		sh.snat_ips[i] = IPB(10, 20, 1, 1 + i);
		mg_proxy_local_add(&sh, sh.snat_ips[i]);
	}
	sh.n_snat = N_EPS;
	sh.snat_port_min = 1024;
	sh.snat_port_max = 65535;
	mg_proxy_local_add(&sh, IPB(10, 10, 0, 1));
	mg_proxy_local_add(&sh, IPB(10, 20, 0, 1));
	sh.params.connect_timeout_ms = 500;
	sh.params.max_attempts = 3;
	mg_tcp_timeouts_default(&sh.params.timeouts);
	sh.neigh = mg_neigh_create("b_neigh", 256, 3600000, SOCKET_ID_ANY);
	sh.events[0] = rte_ring_create_elem("b_ev", sizeof(struct mg_event), 1 << 16,
					    SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	k = (size_t)snprintf(yaml, sizeof(yaml),
		"apiVersion: meshgate.io/v1alpha1\nkind: MeshGateway\nmetadata: {name: b}\n"
		"spec:\n  network: n1\n  ports: [{name: p, device: net_null0, address: 10.20.0.1/16}]\n"
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: b}\n"
		"spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: 8080}]}\n"
		"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: web-1, namespace: b, labels: {kubernetes.io/service-name: web}}\n"
		"addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n");
	for (int i = 0; i < N_EPS; i++)
		k += (size_t)snprintf(yaml + k, sizeof(yaml) - k, "  - addresses: [10.20.0.%d]\n", 11 + i);
	c = mg_conf_load_string(yaml, k, "bench", NULL, err, sizeof(err));
	if (c == NULL)
		die(err);
	sh.lb = mg_lb_build(c, &env, err, sizeof(err));
	if (sh.lb == NULL)
		die(err);
	for (uint32_t i = 0; i < sh.neigh->n; i++) {
		struct rte_ether_addr m = { { 0x02, 0xee, 0, 0, 0, (uint8_t)i } };

		mg_neigh_learn(sh.neigh, sh.neigh->info[i].ip, port_b, &m, 1, false);
	}
	if (mg_worker_init(&w, &sh, 0, 1, flows, mp, SOCKET_ID_ANY) != 0)
		die("worker");
	w.lb = sh.lb;
	w.now_ms = 1000;
}

static void
gateway_free(void)
{
	struct rte_mbuf *m;

	mg_proxy_drain(&w);
	mg_proxy_flush(&w);
	mg_worker_fini(&w);
	mg_lb_free(sh.lb);
	mg_neigh_free(sh.neigh);
	rte_ring_free(sh.events[0]);
	for (int p = 0; p < 2; p++)
		while (rte_ring_dequeue(txr[p], (void **)&m) == 0)
			rte_pktmbuf_free(m);
}

/* A 64-byte TCP frame into @p m (60 bytes + the FCS the wire would add). */
static void
frame(struct rte_mbuf *m, uint16_t in_port, uint32_t sip, uint32_t dip, uint16_t sport,
      uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack)
{
	const uint16_t len = 60;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	rte_pktmbuf_reset(m);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	th = (struct rte_tcp_hdr *)(ip + 1);
	memset(eth, 0, len);
	eth->src_addr = cmac;
	eth->dst_addr = sh.ports[in_port].mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(46);
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
	th->rx_win = rte_cpu_to_be_16(65535);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	m->port = in_port;
}

static inline uint32_t
client_ip(uint32_t i)
{
	return rte_cpu_to_be_32(RTE_IPV4(11, 0, 0, 0) + i / 50000);
}

static inline uint16_t
client_port(uint32_t i)
{
	return rte_cpu_to_be_16((uint16_t)(10000 + i % 50000));
}

/* Everything the worker sent since the last call: freed; the last one on port_b kept. */
static struct rte_mbuf *
drain(struct rte_mbuf **keep_b)
{
	struct rte_mbuf *m[64];
	unsigned int n;

	for (int p = 0; p < 2; p++)
		while ((n = rte_ring_dequeue_burst(txr[p], (void **)m, 64, NULL)) > 0) {
			if (p == 1 && keep_b != NULL && n > 0) {
				*keep_b = m[n - 1];
				n--;
			}
			rte_pktmbuf_free_bulk(m, n);
		}
	return keep_b ? *keep_b : NULL;
}

/* Per flow: the endpoint side it got (address, SNAT address and port). */
struct ep_side {
	uint32_t ep_ip, snat_ip;
	uint16_t ep_port, snat_port;
};

/* The timed parts, on their own so that callgrind can count them alone
 * (--toggle-collect=timed_burst: connections, timed_flood: established flows,
 * timed_expire: the release of closed flows). */
static __rte_noinline void
timed_burst(struct rte_mbuf **b, uint16_t n)
{
	mg_proxy_input(&w, b, n, false);
	mg_proxy_flush(&w);
}

static uint64_t flood_bursts;

/* The worker loop's expiry step, with its budget per loop. */
static __rte_noinline void
timed_expire(void)
{
	mg_proxy_expire(&w, 256);
	mg_proxy_flush(&w);
}

static __rte_noinline void
timed_flood(struct rte_mbuf **b, uint16_t n)
{
	flood_bursts++;         /* (and the compiler keeps it apart from timed_burst) */
	mg_proxy_input(&w, b, n, false);
	mg_proxy_flush(&w);
}

/* The client's initial sequence number for flow @p i: the SYN meshgate sends
 * on carries it, which tells whose SYN it is. */
static inline uint32_t
client_isn(uint32_t i)
{
	return 1000u + i * 4u;
}

/*
 * One step of the connections [i0, i0 + n) in one burst: a segment of each
 * from the client (@p from_ep false) or its endpoint, timed. When the step
 * is the clients' SYNs, the endpoint side of each flow is read from the
 * SYNs meshgate sent on.
 */
static uint64_t
step(uint32_t i0, uint16_t n, bool from_ep, uint8_t flags, struct ep_side *e)
{
	struct rte_mbuf *b[MG_BURST], *out[MG_BURST];
	bool syn = flags == RTE_TCP_SYN_FLAG;
	uint64_t t;

	if (rte_pktmbuf_alloc_bulk(mp, b, n) != 0)
		die("out of mbufs");
	for (uint16_t j = 0; j < n; j++) {
		uint32_t i = i0 + j;

		if (from_ep)
			frame(b[j], port_b, e[i].ep_ip, e[i].snat_ip, e[i].ep_port, e[i].snat_port,
			      flags, 5000, client_isn(i) + 1);
		else
			frame(b[j], port_c, client_ip(i), IPB(10, 96, 0, 10), client_port(i),
			      rte_cpu_to_be_16(80), flags, client_isn(i) + (syn ? 0 : 1),
			      syn ? 0 : 5001);
	}
	t = rte_rdtsc();
	timed_burst(b, n);
	t = rte_rdtsc() - t;
	if (!syn) {
		drain(NULL);
		return t;
	}
	if (rte_ring_dequeue_bulk(txr[1], (void **)out, n, NULL) != n)
		die("not every SYN went on toward an endpoint");
	for (uint16_t j = 0; j < n; j++) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(out[j], struct rte_ipv4_hdr *, 14);
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
		uint32_t i = (rte_be_to_cpu_32(th->sent_seq) - client_isn(0)) / 4u;

		if (i < i0 || i >= i0 + n)
			die("a SYN of another connection");
		e[i].ep_ip = ip->dst_addr;
		e[i].snat_ip = ip->src_addr;
		e[i].ep_port = th->dst_port;
		e[i].snat_port = th->src_port;
	}
	rte_pktmbuf_free_bulk(out, n);
	drain(NULL);
	return t;
}

static void
events_drain(void)
{
	struct mg_event ev[256];

	while (rte_ring_dequeue_burst_elem(sh.events[0], ev, sizeof(ev[0]), 256, NULL))
		;
}

/* Handshakes of @p n connections, @p per_burst of them in each burst. */
static struct ep_side *
establish(uint32_t n, uint16_t per_burst, uint64_t *cycles)
{
	struct ep_side *e = calloc(n, sizeof(*e));

	*cycles = 0;
	for (uint32_t i = 0; i < n; i += per_burst) {
		uint16_t k = (uint16_t)RTE_MIN((uint32_t)per_burst, n - i);

		*cycles += step(i, k, false, RTE_TCP_SYN_FLAG, e);
		*cycles += step(i, k, true, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, e);
		*cycles += step(i, k, false, RTE_TCP_ACK_FLAG, e);
		if ((i & 1023) < per_burst)
			events_drain();
	}
	return e;
}

#define N_ROUNDS 7 /* a figure is the median of this many rounds: the VM's tenants */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median, min and max of @p v[N_ROUNDS] (sorted in place). */
struct spread {
	double med, min, max;
};

static struct spread
spread_of(double *v)
{
	qsort(v, N_ROUNDS, sizeof(v[0]), cmp_double);
	return (struct spread){ v[N_ROUNDS / 2], v[0], v[N_ROUNDS - 1] };
}

/* Cycles per packet of @p bursts bursts over @p n established flows, in
 * N_ROUNDS rounds. */
static struct spread
established_flood(uint32_t n, const struct ep_side *e, uint32_t bursts)
{
	struct rte_mbuf *b[MG_BURST];
	double per_round[N_ROUNDS];

	for (int r = 0; r < N_ROUNDS; r++) {
		uint64_t cycles = 0, pkts = 0;

		for (uint32_t k = 0; k < bursts / N_ROUNDS + 1; k++) {
			bool reply = k & 1;

			if (rte_pktmbuf_alloc_bulk(mp, b, MG_BURST) != 0)
				die("out of mbufs");
			for (int j = 0; j < MG_BURST; j++) {
				uint32_t i = (uint32_t)(rte_rand() % n);

				if (reply)
					frame(b[j], port_b, e[i].ep_ip, e[i].snat_ip, e[i].ep_port,
					      e[i].snat_port, RTE_TCP_ACK_FLAG, 5001, client_isn(i) + 1);
				else
					frame(b[j], port_c, client_ip(i), IPB(10, 96, 0, 10),
					      client_port(i), rte_cpu_to_be_16(80), RTE_TCP_ACK_FLAG,
					      client_isn(i) + 1, 5001);
			}
			uint64_t t = rte_rdtsc();

			timed_flood(b, MG_BURST);
			cycles += rte_rdtsc() - t;
			pkts += MG_BURST;
			drain(NULL);
		}
		per_round[r] = (double)cycles / (double)pkts;
	}
	return spread_of(per_round);
}

/*
 * Close every flow: FIN both ways and the last ACK (3 more segments each),
 * @p per_burst connections per burst; then the clock past TIME_WAIT and
 * the expiry that releases each flow (keys, SNAT port, list), timed too:
 * the end of a connection's life is part of its cost.
 */
static uint64_t
close_all(uint32_t n, uint16_t per_burst, const struct ep_side *e, uint64_t *expiry)
{
	uint64_t cycles = 0;

	for (uint32_t i = 0; i < n; i += per_burst) {
		uint16_t k = (uint16_t)RTE_MIN((uint32_t)per_burst, n - i);

		cycles += step(i, k, false, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, (struct ep_side *)e);
		cycles += step(i, k, true, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, (struct ep_side *)e);
		cycles += step(i, k, false, RTE_TCP_ACK_FLAG, (struct ep_side *)e);
		if ((i & 1023) < per_burst)
			events_drain();
	}
	events_drain();
	w.now_ms += 3600 * 1000;
	*expiry = 0;
	while (mg_flow_count(w.ft) > 0) {
		uint64_t t = rte_rdtsc();

		timed_expire();
		*expiry += rte_rdtsc() - t;
		events_drain();
	}
	return cycles;
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-shconf", "--no-pci", "--log-level=error",
			"--file-prefix=bench_proxy", "-l", "0", "--no-huge", "-m", "2048", NULL };
	/* 4 KiB pages by default (valgrind cannot map hugepages); with
	 * MG_BENCH_HUGE=1 the tables sit on 2 MiB pages as in the gateway, so
	 * the 1M-flow figure is not one of TLB misses. */
	bool huge = getenv("MG_BENCH_HUGE") != NULL && strcmp(getenv("MG_BENCH_HUGE"), "0") != 0;
	int n_eal = (int)RTE_DIM(eal) - 1 - (huge ? 3 : 0);
	uint32_t bursts = argc > 1 ? (uint32_t)atoi(argv[1]) : 200000;
	uint32_t conns = (argc > 2 ? (uint32_t)atoi(argv[2]) : 200) * 1000;
	uint32_t sizes[] = { 1000, 100000, 1000000 };
	size_t n_sizes = RTE_DIM(sizes);
	double hz;

	if (huge)
		eal[n_eal] = NULL;
	if (rte_eal_init(n_eal, eal) < 0)
		die("cannot start the EAL");
	hz = (double)rte_get_tsc_hz();
	mp = rte_pktmbuf_pool_create("b_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     rte_socket_id());
	if (mp == NULL)
		die("mbuf pool");
	ports();
	printf("bench_proxy: meshgate's packet path alone (ring ports, no driver), TSC %.2f GHz, "
	       "%s pages\n", hz / 1e9, huge ? "2 MiB" : "4 KiB");
	printf("(medians of %d rounds; min-max beside)\n", N_ROUNDS);
	printf("%-10s %12s %16s %10s %14s %12s\n", "flows", "cycles/pkt", "(min-max)", "ns/pkt",
	       "Mpps (1 core)", "bytes/flow");
	if (argc > 3) {
		sizes[0] = (uint32_t)atoi(argv[3]);
		n_sizes = 1;
	}
	for (size_t s = 0; s < n_sizes; s++) {
		uint32_t n = sizes[s];
		uint64_t setup;
		struct ep_side *e;
		struct spread c;
		char mm[32];

		gateway(n + 1024);
		e = establish(n, MG_BURST, &setup);
		c = established_flood(n, e, bursts);
		snprintf(mm, sizeof(mm), "(%.0f-%.0f)", c.min, c.max);
		printf("%-10u %12.1f %16s %10.1f %14.2f %12zu\n", n, c.med, mm, c.med / hz * 1e9,
		       hz / c.med / 1e6, mg_flow_bytes_per_flow());
		free(e);
		gateway_free();
	}
	/* Connections: handshake, close and release, for fresh flows each time;
	 * one connection per burst (the worst case: every burst's fixed cost on
	 * one connection) and 32 per burst (a loaded gateway's bursts). */
	for (int batch = 0; conns > 0 && batch < 2; batch++) {
		uint16_t per_burst = batch == 0 ? 1 : MG_BURST;
		uint32_t per_round = conns / N_ROUNDS + 1;
		double tot[N_ROUNDS], hs[N_ROUNDS], cl[N_ROUNDS], rel[N_ROUNDS];

		if (argc > 4 && atoi(argv[4]) != per_burst)
			continue;
		for (int r = 0; r < N_ROUNDS; r++) {
			uint64_t setup, teardown, expiry;
			struct ep_side *e;

			gateway(per_round + 1024);
			e = establish(per_round, per_burst, &setup);
			teardown = close_all(per_round, per_burst, e, &expiry);
			hs[r] = (double)setup / per_round;
			cl[r] = (double)teardown / per_round;
			rel[r] = (double)expiry / per_round;
			tot[r] = hs[r] + cl[r] + rel[r];
			free(e);
			gateway_free();
		}
		struct spread t = spread_of(tot);

		printf("connections, %2u per burst: %u, %.0f cycles each (min %.0f, max %.0f; medians: "
		       "handshake %.0f + close %.0f + release %.0f; 6 segments), %.0f connections/s "
		       "per core\n", per_burst, per_round * N_ROUNDS, t.med, t.min, t.max,
		       spread_of(hs).med, spread_of(cl).med, spread_of(rel).med, hz / t.med);
	}
	rte_eal_cleanup();
	return 0;
}
