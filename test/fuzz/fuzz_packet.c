/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the whole worker packet path (lib/proxy) -- parse,
 * ownership and hand-off, bulk flow lookup, the TCP stage with connect
 * failover, rewrite, expiry -- fed with sequences of packets built from the
 * fuzzer's input.
 *
 * The set-up is test/unit/test_proxy.c's: the EAL in memory (--no-huge),
 * two ring-backed ports (rte_eth_from_rings) whose TX rings the harness
 * empties after every step, a configuration loaded from a string, and the
 * locality table built from it. Two workers exist; an input runs either
 * with one of them (n_workers = 1), with both (hand-off rings between
 * them), or with both and predictable RSS on the backend port.
 *
 * Input: one mode byte, then steps until the input ends (at most
 * MAX_STEPS). Each step is an opcode byte followed by its fields; fields
 * past the end of the input read as zero. Templates make the fuzzer reach
 * established flows quickly: a client's segment to a VIP, an endpoint's
 * answer to a segment the gateway really sent (picked from those seen on
 * the backend port), an ICMP error quoting such a segment; any template
 * can then be patched byte by byte, and RAW frames are fully fuzzed. Other
 * steps move the clock (expiry, connect timeouts), group packets into one
 * burst, change run-time settings, or hold the mbuf pool's buffers back.
 * test/fuzz/gen_seeds.py writes the seed corpus in this format.
 *
 * Oracles besides ASan/UBSan: after every step the flow table must be
 * consistent (every live flow's keys map to it, the hash holds nothing
 * else, the free stack accounts for the rest); every TCP segment the
 * gateway sends while all input segments had valid checksums must have
 * valid IPv4 and TCP checksums; after the input, draining every flow must
 * give back every mbuf to the pool (no leak).
 */
#include "fuzz_eal.h" /* first: _GNU_SOURCE */

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_thash.h>

#include "mg_conf.h"
#include "mg_proxy.h"

#define IP(a, b, c, d) rte_cpu_to_be_32(RTE_IPV4(a, b, c, d))
#define BE16(x) rte_cpu_to_be_16(x)

#define MAX_STEPS 96
#define MAX_FRAME 2048
#define N_SEEN 16
#define N_FLOWS 64          /* small: the fuzzer fills the table */
#define N_MBUFS 2047
#define EXPIRE_BUDGET 64
#define SNAT_MIN 1024
#define SNAT_MAX 1151

static const char *conf_yaml =
	"apiVersion: meshgate.io/v1alpha1\n"
	"kind: MeshGateway\n"
	"metadata: {name: fuzz}\n"
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
	"  - addresses: [10.20.0.13]\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata: {name: api, namespace: demo}\n"
	"spec:\n"
	"  clusterIP: 10.96.0.11\n"
	"  ports: [{name: https, port: 443, targetPort: 9443}]\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\n"
	"kind: EndpointSlice\n"
	"metadata:\n"
	"  name: api-1\n"
	"  namespace: demo\n"
	"  labels: {kubernetes.io/service-name: api}\n"
	"addressType: IPv4\n"
	"ports: [{name: https, port: 9443}]\n"
	"endpoints:\n"
	"  - addresses: [10.20.0.21]\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata: {name: dark, namespace: demo}\n"
	"spec:\n"
	"  clusterIP: 10.96.0.12\n"
	"  ports: [{name: tcp, port: 7000, targetPort: 7000}]\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\n"
	"kind: EndpointSlice\n"
	"metadata:\n"
	"  name: dark-1\n"
	"  namespace: demo\n"
	"  labels: {kubernetes.io/service-name: dark}\n"
	"addressType: IPv4\n"
	"ports: [{name: tcp, port: 7000}]\n"
	"endpoints:\n"
	"  - addresses: [10.20.0.99]\n";   /* never resolved: its SYNs wait for ARP */

static const uint32_t vips[] = { RTE_IPV4(10, 96, 0, 10), RTE_IPV4(10, 96, 0, 11),
				 RTE_IPV4(10, 96, 0, 12), RTE_IPV4(10, 96, 0, 13) };
static const uint16_t vports[] = { 80, 443, 7000, 80 };

static struct rte_mempool *mp;
static struct rte_mbuf *stash[N_MBUFS];   /* mbufs held back: the pool runs dry */
static unsigned int n_stash;
static struct rte_ring *rxr[2], *txr[2][2];
static uint16_t port_c, port_b;
static struct mg_proxy_shared sh;
static struct mg_worker wk[2];
static struct mg_route_table rt;
static const struct rte_ether_addr client_mac = { { 0x02, 0xc0, 0, 0, 0, 2 } };
static unsigned int pool_full;
static uint32_t neigh_unresolved_ip;

/* ---- set-up ------------------------------------------------------------------ */

static struct rte_ether_addr
ep_mac(uint32_t ip)
{
	struct rte_ether_addr m = { { 0x02, 0xee, 0, 0, 0, (uint8_t)(rte_be_to_cpu_32(ip) & 0xff) } };
	return m;
}

static int
resolve(void *ctx, uint32_t ip, uint16_t *port_id, uint16_t *nh, uint16_t *snat_idx)
{
	uint32_t next_hop;
	int idx;

	if (mg_route_lookup(&rt, ip, &next_hop, port_id) < 0)
		return -ENOENT;
	idx = mg_neigh_get_or_add(sh.neigh, next_hop, *port_id);
	if (idx < 0)
		return idx;
	*nh = (uint16_t)idx;
	*snat_idx = *port_id == port_b ? 1 : 0;
	return 0;
}

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_packet: %s\n", what);
	abort();
}

static uint16_t
ring_port(int p)
{
	char name[32];
	struct rte_eth_conf ec = { 0 };
	int id;

	snprintf(name, sizeof(name), "fz_rx%d", p);
	rxr[p] = rte_ring_create(name, 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	for (int q = 0; q < 2; q++) {
		snprintf(name, sizeof(name), "fz_tx%d%d", p, q);
		txr[p][q] = rte_ring_create(name, 1024, SOCKET_ID_ANY, 0);
	}
	snprintf(name, sizeof(name), "net_ring_fz%d", p);
	id = rte_eth_from_rings(name, &rxr[p], 1, txr[p], 2, SOCKET_ID_ANY);
	if (id < 0 || rte_eth_dev_configure((uint16_t)id, 1, 2, &ec) != 0 ||
	    rte_eth_rx_queue_setup((uint16_t)id, 0, 64, SOCKET_ID_ANY, NULL, mp) != 0 ||
	    rte_eth_tx_queue_setup((uint16_t)id, 0, 1024, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_tx_queue_setup((uint16_t)id, 1, 1024, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_start((uint16_t)id) != 0)
		die("cannot set up a ring port");
	return (uint16_t)id;
}

static void
setup(void)
{
	char lcores[32];
	char *argv[] = { "fuzz_packet", "--no-shconf", "--no-huge", "-m", "128", "--no-pci",
			 "--log-level=crit", "--file-prefix=fuzz_packet", "--lcores",
			 (char *)mg_fuzz_lcores(lcores, sizeof(lcores), 1), NULL };
	struct mg_lb_env env = { .resolve = resolve, .generation = 1 };
	char err[MG_CONF_ERR_LEN];
	uint8_t nic_key[MG_RSS_KEY_MAX];
	struct mg_conf *conf;

	if (rte_eal_init((int)RTE_DIM(argv) - 1, argv) < 0)
		die("cannot start the EAL");
	mp = rte_pktmbuf_pool_create("fz_pool", N_MBUFS, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     rte_socket_id());
	if (mp == NULL)
		die("cannot create the mbuf pool");
	port_c = ring_port(0);
	port_b = ring_port(1);

	sh.n_workers = 2;
	rte_eth_macaddr_get(port_c, &sh.ports[port_c].mac);
	rte_eth_macaddr_get(port_b, &sh.ports[port_b].mac);
	sh.ports[port_c].ip = IP(10, 10, 0, 1);
	sh.ports[port_b].ip = IP(10, 20, 0, 1);
	sh.ports[port_c].enabled = sh.ports[port_b].enabled = true;
	sh.snat_ips[0] = IP(10, 10, 0, 1);
	sh.snat_ips[1] = IP(10, 20, 0, 1);
	sh.n_snat = 2;
	/* A narrow SNAT range: cheap to reset per input, and the fuzzer can
	 * run a worker out of source ports as well as out of flows. */
	sh.snat_port_min = SNAT_MIN;
	sh.snat_port_max = SNAT_MAX;
	sh.probe_port = BE16(1000);
	sh.probe_secret = 0x5eed;
	mg_proxy_local_add(&sh, IP(10, 10, 0, 1));
	mg_proxy_local_add(&sh, IP(10, 20, 0, 1));
	sh.params.connect_timeout_ms = 500;
	sh.params.max_attempts = 3;
	mg_tcp_timeouts_default(&sh.params.timeouts);
	sh.neigh = mg_neigh_create("fz_neigh", 64, 60000, SOCKET_ID_ANY);
	for (uint16_t w = 0; w < 2; w++) {
		char name[32];

		snprintf(name, sizeof(name), "fz_ev%u", w);
		sh.events[w] = rte_ring_create_elem(name, sizeof(struct mg_event), 4096,
						    SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "fz_ho%u", w);
		sh.handoff[w][1 - w] = rte_ring_create(name, 256, SOCKET_ID_ANY,
						       RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (sh.events[w] == NULL || sh.handoff[w][1 - w] == NULL)
			die("cannot create rings");
	}
	if (sh.neigh == NULL)
		die("cannot create the neighbour table");
	mg_route_add(&rt, IP(10, 10, 0, 1), 24, 0, port_c, true);
	mg_route_add(&rt, IP(10, 20, 0, 1), 24, 0, port_b, true);
	conf = mg_conf_load_string(conf_yaml, strlen(conf_yaml), "fuzz.yaml", NULL, err, sizeof(err));
	if (conf == NULL) {
		fprintf(stderr, "fuzz_packet: config: %s\n", err);
		abort();
	}
	sh.lb = mg_lb_build(conf, &env, err, sizeof(err));
	if (sh.lb == NULL) {
		fprintf(stderr, "fuzz_packet: table: %s\n", err);
		abort();
	}
	neigh_unresolved_ip = IP(10, 20, 0, 99);
	for (uint32_t i = 0; i < sh.neigh->n; i++) {
		struct rte_ether_addr m = ep_mac(sh.neigh->info[i].ip);

		if (sh.neigh->info[i].ip != neigh_unresolved_ip)
			mg_neigh_learn(sh.neigh, sh.neigh->info[i].ip, port_b, &m, 1, false);
	}
	/* Predictable RSS of the backend port, switched on per input. */
	if (mg_proxy_rss_init(&sh.ports[port_b], port_b, 40, 128, nic_key) != 0)
		die("cannot set up predictable RSS");
	for (uint16_t w = 0; w < 2; w++)
		if (mg_worker_init(&wk[w], &sh, w, 0, N_FLOWS, mp, SOCKET_ID_ANY) != 0)
			die("cannot set up a worker");
	pool_full = rte_mempool_avail_count(mp);
}

/* ---- the input ---------------------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t
u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static uint16_t
u16(struct in *in)
{
	return (uint16_t)((u8(in) << 8) | u8(in));
}

static uint32_t
u32(struct in *in)
{
	return ((uint32_t)u16(in) << 16) | u16(in);
}

/* A segment the gateway sent toward an endpoint: the endpoint's view. */
struct seen {
	uint32_t ep_ip, snat_ip;
	uint16_t ep_port, snat_port;
	uint32_t seq;
};

/* The latest SYN+ACK sent to a client (a cookie, or an endpoint's). */
struct seen_synack {
	uint32_t client_ip, vip;
	uint16_t client_port, vport;
	uint32_t seq, ack;
	bool valid;
};

struct run {
	uint16_t nw;            /* workers in use */
	struct seen_synack synack;
	bool rss;
	bool all_csum_ok;       /* every TCP segment fed so far had valid checksums */
	struct seen seen[N_SEEN];
	uint32_t n_seen;
	struct rte_mbuf *burst[MG_BURST];
	uint16_t n_burst;
	uint16_t burst_left;    /* packets still to collect before the burst goes */
	uint8_t burst_worker;
};

/* ---- after every step ---------------------------------------------------------- */

/*
 * Is the TCP checksum of @p m right? On a linear copy: DPDK 22.11's
 * rte_raw_cksum_mbuf() (behind rte_ipv4_udptcp_cksum_mbuf_verify) truncates
 * a segment's partial sum to 16 bits before swapping it after an odd-length
 * segment, and so calls some broken chains good (meshgate does not use it).
 */
static bool
tcp_csum_ok(const struct rte_mbuf *m, const struct mg_pkt_info *pi)
{
	static uint8_t buf[2 * MAX_FRAME];
	uint32_t len = rte_pktmbuf_pkt_len(m);
	const uint8_t *p;

	if (len > sizeof(buf))
		return false;
	p = rte_pktmbuf_read(m, 0, len, buf);
	if (p == NULL)
		return false;
	return rte_ipv4_udptcp_cksum_verify((const struct rte_ipv4_hdr *)(p + pi->l3_off),
					    p + pi->l4_off) == 0;
}

static void
check_out(struct run *r, uint16_t port, struct rte_mbuf *m)
{
	struct mg_pkt_info pi;

	if (rte_pktmbuf_pkt_len(m) < rte_pktmbuf_data_len(m))
		die("a sent mbuf's pkt_len is below its data_len");
	if (mg_pkt_parse(m, &pi) != MG_PKT_TCP) {
		/* Only valid IPv4 headers come in: none may go out broken. */
		if (pi.kind == MG_PKT_DROP && pi.drop == MG_DROP_IP_CSUM)
			die("an IPv4 header was sent with a bad checksum");
		return;
	}
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								 pi.l3_off);
	const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *,
								pi.l4_off);

	if (r->all_csum_ok && !tcp_csum_ok(m, &pi)) {
		fprintf(stderr, "fuzz_packet: port %u: %u bytes in %u segments (first %u), IP length %u,"
			" flags 0x%02x, checksum 0x%04x\n", port, rte_pktmbuf_pkt_len(m), m->nb_segs,
			rte_pktmbuf_data_len(m), rte_be_to_cpu_16(ip->total_length), th->tcp_flags,
			rte_be_to_cpu_16(th->cksum));
		rte_pktmbuf_dump(stderr, m, 128);
		die("a TCP segment was sent with a bad checksum");
	}
	if (port == port_c && (th->tcp_flags & (MG_TCP_SYN | MG_TCP_ACK)) == (MG_TCP_SYN | MG_TCP_ACK)) {
		r->synack = (struct seen_synack){
			.client_ip = ip->dst_addr, .vip = ip->src_addr,
			.client_port = th->dst_port, .vport = th->src_port,
			.seq = rte_be_to_cpu_32(th->sent_seq), .ack = rte_be_to_cpu_32(th->recv_ack),
			.valid = true,
		};
	}
	if (port == port_b) {
		struct seen *s = &r->seen[r->n_seen++ % N_SEEN];

		s->ep_ip = ip->dst_addr;
		s->snat_ip = ip->src_addr;
		s->ep_port = th->dst_port;
		s->snat_port = th->src_port;
		s->seq = rte_be_to_cpu_32(th->sent_seq);
	}
}

static void
drain_tx(struct run *r)
{
	struct rte_mbuf *m;

	for (int p = 0; p < 2; p++)
		for (int q = 0; q < 2; q++)
			while (rte_ring_dequeue(txr[p][q], (void **)&m) == 0) {
				if (r != NULL)
					check_out(r, p == 0 ? port_c : port_b, m);
				rte_pktmbuf_free(m);
			}
}

static void
drain_events(void)
{
	struct mg_event ev[64];

	for (int w = 0; w < 2; w++)
		while (rte_ring_dequeue_burst_elem(sh.events[w], ev, sizeof(ev[0]), 64, NULL) > 0)
			;
}

/* Every live flow's keys lead to it; the hash holds nothing else. */
static void
check_table(struct mg_worker *w)
{
	struct mg_flow_table *ft = w->ft;
	uint32_t live = 0, keys = 0;

	for (uint32_t i = 0; i < ft->size; i++) {
		struct mg_flow *f = mg_flow_get(ft, i);
		struct mg_flow_key k;

		if (f->state == MG_TCP_NONE)
			continue;
		if (f->state >= MG_TCP_STATE__MAX)
			die("a flow in no known state");
		live++;
		mg_flow_client_key(f, &k);
		if (mg_flow_lookup(ft, &k) != MG_FLOW_REF(i, MG_TCP_DIR_ORIG)) {
			fprintf(stderr, "worker %u flow %u state %u: lookup %x\n", w->id, i, f->state,
				mg_flow_lookup(ft, &k));
			die("a live flow's client key does not lead to it");
		}
		keys++;
		if (f->ep_ip != 0) {
			mg_flow_ep_key(f, &k);
			if (mg_flow_lookup(ft, &k) != MG_FLOW_REF(i, MG_TCP_DIR_REPLY))
				die("a live flow's endpoint key does not lead to it");
			keys++;
		}
		if (f->state == MG_TCP_SYN_SENT && mg_flow_cold_get(ft, i)->syn == NULL)
			die("a connecting flow lost the client's SYN");
	}
	if (live != mg_flow_count(ft))
		die("live flows and the free stack disagree");
	if (ft->n_keys != keys || mg_flow_index_slots_used(ft) != keys)
		die("the flow index holds keys of no live flow");
}

/* Run the workers' hand-off rings, flush, empty the TX rings, check. */
static void
settle(struct run *r)
{
	struct rte_mbuf *pkts[MG_BURST];

	for (int round = 0; round < 4; round++) {
		bool any = false;

		for (uint16_t w = 0; w < r->nw; w++) {
			mg_proxy_flush(&wk[w]);
			if (r->nw < 2)
				continue;
			unsigned int n = rte_ring_sc_dequeue_burst(sh.handoff[1 - w][w],
								   (void **)pkts, MG_BURST, NULL);
			if (n) {
				mg_proxy_input(&wk[w], pkts, (uint16_t)n, true);
				mg_proxy_flush(&wk[w]);
				any = true;
			}
		}
		drain_tx(r);
		if (!any)
			break;
	}
	drain_events();
	for (uint16_t w = 0; w < r->nw; w++)
		check_table(&wk[w]);
}

/* ---- packets ---------------------------------------------------------------- */

static bool
frame_csum_ok(struct rte_mbuf *m)
{
	struct mg_pkt_info pi;

	if (mg_pkt_parse(m, &pi) != MG_PKT_TCP)
		return true;
	return tcp_csum_ok(m, &pi);
}

/*
 * An mbuf holding @p len bytes of @p frame, split in two segments at
 * @p split when 0 < split < len (a NIC with scatter on delivers such chains).
 */
static struct rte_mbuf *
make_mbuf(const uint8_t *frame, uint16_t len, uint16_t split, uint16_t port)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp), *m2;
	char *d;

	if (m == NULL)
		return NULL;
	/* Split when the top bit says so, anywhere in the first 128 bytes. */
	split = (split & 0x80) ? (split & 0x7f) : len;
	if (split == 0 || split >= len)
		split = len;
	d = rte_pktmbuf_append(m, split);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(d, frame, split);
	if (split < len) {
		m2 = rte_pktmbuf_alloc(mp);
		if (m2 == NULL || (d = rte_pktmbuf_append(m2, len - split)) == NULL) {
			rte_pktmbuf_free(m2);
			rte_pktmbuf_free(m);
			return NULL;
		}
		memcpy(d, frame + split, len - split);
		if (rte_pktmbuf_chain(m, m2) != 0) {
			rte_pktmbuf_free(m2);
			rte_pktmbuf_free(m);
			return NULL;
		}
	}
	m->port = port;
	return m;
}

/* Which worker's queue a frame arrives on. */
static uint8_t
rx_worker(struct run *r, struct rte_mbuf *m, uint8_t pick)
{
	struct mg_pkt_info pi;

	if (r->nw < 2)
		return 0;
	/* On a predictable-RSS port the NIC hashes TCP by its 4-tuple. */
	if (r->rss && m->port == port_b && mg_pkt_parse(m, &pi) == MG_PKT_TCP) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
				const struct rte_ipv4_hdr *, pi.l3_off);
		const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m,
				const struct rte_tcp_hdr *, pi.l4_off);
		const struct mg_proxy_port *pp = &sh.ports[port_b];
		union rte_thash_tuple t;

		t.v4.src_addr = rte_be_to_cpu_32(ip->src_addr);
		t.v4.dst_addr = rte_be_to_cpu_32(ip->dst_addr);
		t.v4.sport = rte_be_to_cpu_16(th->src_port);
		t.v4.dport = rte_be_to_cpu_16(th->dst_port);
		return (uint8_t)((rte_softrss_be((uint32_t *)&t, RTE_THASH_V4_L4_LEN,
						 (const uint8_t *)pp->rss_key_be) & pp->reta_mask) % 2);
	}
	return pick & 1;
}

static bool trace;

static void
deliver(struct run *r, struct rte_mbuf *m, uint8_t pick)
{
	uint8_t w;

	if (m == NULL)
		return;
	if (!frame_csum_ok(m))
		r->all_csum_ok = false;
	w = rx_worker(r, m, pick);
	if (trace) {
		fprintf(stderr, "  packet of %u bytes on port %u to worker %u%s%s\n",
			rte_pktmbuf_pkt_len(m), m->port, w, r->burst_left ? " (burst)" : "",
			frame_csum_ok(m) ? "" : " (bad TCP checksum)");
		if (getenv("MG_FUZZ_TRACE")[0] == '2')
			rte_pktmbuf_dump(stderr, m, 96);
	}
	if (r->burst_left > 0 && r->n_burst > 0 && w != r->burst_worker) {
		/* Another queue: the burst so far goes first. */
		mg_proxy_input(&wk[r->burst_worker], r->burst, r->n_burst, false);
		r->n_burst = 0;
	}
	if (r->burst_left > 0) {
		r->burst_worker = w;
		r->burst[r->n_burst++] = m;
		if (--r->burst_left > 0 && r->n_burst < MG_BURST)
			return;
		mg_proxy_input(&wk[w], r->burst, r->n_burst, false);
		r->n_burst = 0;
		r->burst_left = 0;
	} else {
		mg_proxy_input(&wk[w], &m, 1, false);
	}
	settle(r);
}

static void
patch(struct in *in, uint8_t *frame, uint16_t len)
{
	uint8_t n = u8(in) & 3;

	for (uint8_t i = 0; i < n && len > 0; i++) {
		uint16_t off = u16(in) % len;

		frame[off] ^= u8(in);
	}
}

/* Ethernet + IPv4 + TCP with correct checksums; returns the frame length. */
static uint16_t
build_tcp(uint8_t *frame, uint16_t port, struct rte_ether_addr smac, uint32_t sip, uint32_t dip,
	  uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
	  uint16_t payload, uint8_t opt_words)
{
	uint16_t l4 = (uint16_t)(20 + 4 * opt_words);
	uint16_t len = (uint16_t)(sizeof(struct rte_ether_hdr) + 20 + l4 + payload);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t *opt = (uint8_t *)(th + 1);

	memset(frame, 0, len);
	eth->src_addr = smac;
	eth->dst_addr = sh.ports[port].mac;
	eth->ether_type = BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = BE16((uint16_t)(20 + l4 + payload));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = sip;
	ip->dst_addr = dip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = sport;
	th->dst_port = dport;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)((l4 / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = BE16(65535);
	if (opt_words) {           /* MSS, then NOPs */
		memset(opt, 1, 4 * opt_words);
		opt[0] = 2;
		opt[1] = 4;
		opt[2] = 0x05;
		opt[3] = 0xb4;
	}
	memset(opt + 4 * opt_words, 'x', payload);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return len;
}

static const uint8_t flag_menu[] = {
	MG_TCP_SYN, MG_TCP_ACK, MG_TCP_ACK | MG_TCP_PSH, MG_TCP_FIN | MG_TCP_ACK,
	MG_TCP_RST, MG_TCP_RST | MG_TCP_ACK, MG_TCP_SYN | MG_TCP_ACK, MG_TCP_FIN,
};

static uint8_t
flags_of(uint8_t b)
{
	/* Half the values name a usual combination, the other half are raw. */
	return (b & 0x80) ? (uint8_t)(b & 0x3f) : flag_menu[b % RTE_DIM(flag_menu)];
}

/* A client's segment to a VIP (or to the gateway itself). */
static void
op_client(struct run *r, struct in *in, bool syn)
{
	uint8_t frame[MAX_FRAME];
	uint8_t c = u8(in), s = u8(in), fl = syn ? MG_TCP_SYN : flags_of(u8(in));
	uint32_t seq = u32(in), ack = syn ? 0 : u32(in);
	uint8_t pl = u8(in), opt = u8(in) & 3, pick = u8(in), split = u8(in);
	uint32_t cip = IP(10, 10, 0, 2 + (c & 7));
	uint16_t cport = BE16((uint16_t)(40000 + ((c >> 3) & 15)));
	uint32_t dip = rte_cpu_to_be_32(vips[s % RTE_DIM(vips)]);
	uint16_t dport = BE16(vports[s % RTE_DIM(vports)]);
	uint16_t len;

	if (s & 0x80)   /* to the gateway's own address: a stray or a scan */
		dip = IP(10, 10, 0, 1);
	if (!syn && (c & 0x80) && r->synack.valid) {
		/* The client answers the latest SYN+ACK (a cookie's, often):
		 * right when the input's numbers are 0, else off by them. */
		cip = r->synack.client_ip;
		cport = r->synack.client_port;
		dip = r->synack.vip;
		dport = r->synack.vport;
		seq += r->synack.ack;
		ack += r->synack.seq + 1;
	}
	len = build_tcp(frame, port_c, client_mac, cip, dip, cport, dport, fl, seq, ack,
			(uint16_t)(syn ? 0 : (pl & 0x80 ? (pl & 0x7f) * 11 : pl)), opt);
	patch(in, frame, len);
	deliver(r, make_mbuf(frame, len, split, port_c), pick);
}

/* An endpoint's answer to a segment the gateway sent it. */
static void
op_endpoint(struct run *r, struct in *in)
{
	uint8_t frame[MAX_FRAME];
	uint8_t k = u8(in), fl = flags_of(u8(in));
	uint32_t seq = u32(in);
	uint8_t ackmode = u8(in), pl = u8(in), pick = u8(in), split = u8(in);
	struct seen s = { IP(10, 20, 0, 11), IP(10, 20, 0, 1), BE16(8080), BE16(1024), 0 };
	uint32_t ack;
	uint16_t len;

	if (r->n_seen > 0)     /* k = 0: the latest */
		s = r->seen[(r->n_seen - 1 - k % RTE_MIN(r->n_seen, N_SEEN)) % N_SEEN];
	if (k & 0x80)                        /* a probe answer, right or wrong */
		s.snat_port = sh.probe_port;
	ack = (ackmode & 1) ? s.seq + 1 + (ackmode >> 1) : u32(in);
	if ((k & 0x80) && (ackmode & 1))
		ack = mg_probe_isn(&sh, s.ep_ip, s.ep_port) + 1;
	len = build_tcp(frame, port_b, ep_mac(s.ep_ip), s.ep_ip, s.snat_ip, s.ep_port,
			s.snat_port, fl, seq, ack, pl & 0x7f, (ackmode >> 6) & 3);
	patch(in, frame, len);
	deliver(r, make_mbuf(frame, len, split, port_b), pick);
}

/* ICMP destination unreachable (or time exceeded) quoting a sent segment. */
static void
op_icmp(struct run *r, struct in *in)
{
	uint8_t frame[MAX_FRAME];
	uint8_t k = u8(in), type = u8(in), code = u8(in), qlen = u8(in), pick = u8(in);
	struct seen s = { IP(10, 20, 0, 11), IP(10, 20, 0, 1), BE16(8080), BE16(1024), 0 };
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(ic + 1);
	struct rte_tcp_hdr *qt = (struct rte_tcp_hdr *)(q + 1);
	uint16_t quote = (uint16_t)(20 + (qlen % 29));   /* 20 + 0..28 bytes of TCP */
	uint16_t icmp_len = (uint16_t)(sizeof(*ic) + quote);
	uint16_t len = (uint16_t)(sizeof(*eth) + 20 + icmp_len);
	uint32_t from;

	if (r->n_seen > 0)
		s = r->seen[(r->n_seen - 1 - k % RTE_MIN(r->n_seen, N_SEEN)) % N_SEEN];
	if (k & 0x80)
		s.snat_port = sh.probe_port;
	from = (k & 0x40) ? IP(10, 20, 0, 254) : s.ep_ip;   /* a router, or the host */
	memset(frame, 0, len);
	eth->src_addr = ep_mac(s.ep_ip);
	eth->dst_addr = sh.ports[port_b].mac;
	eth->ether_type = BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = BE16((uint16_t)(20 + icmp_len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = from;
	ip->dst_addr = s.snat_ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic->icmp_type = (type & 0x80) ? type : ((type & 1) ? 11 : 3);
	ic->icmp_code = code;
	q->version_ihl = 0x45;
	q->total_length = BE16(40);
	q->time_to_live = 63;
	q->next_proto_id = IPPROTO_TCP;
	q->src_addr = s.snat_ip;
	q->dst_addr = s.ep_ip;
	q->hdr_checksum = rte_ipv4_cksum(q);
	if (quote >= 28) {
		qt->src_port = s.snat_port;
		qt->dst_port = s.ep_port;
	}
	if (quote >= 32)
		qt->sent_seq = rte_cpu_to_be_32(s.seq);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, icmp_len);
	patch(in, frame, len);
	deliver(r, make_mbuf(frame, len, 0, port_b), pick);
}

static void
op_arp(struct run *r, struct in *in)
{
	uint8_t frame[64];
	uint8_t b = u8(in), op = u8(in), pick = u8(in);
	uint16_t port = (b & 1) ? port_b : port_c;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint32_t sip = (b & 2) ? IP(10, 20, 0, 99) : IP(10, 20, 0, 11 + ((b >> 2) & 3));
	uint32_t tip = (b & 0x20) ? u32(in) : sh.ports[port].ip;
	struct rte_ether_addr smac = ep_mac(sip);
	uint16_t len = (uint16_t)(sizeof(*eth) + sizeof(*arp));

	if (b & 0x40)
		sip = u32(in);
	memset(frame, 0, sizeof(frame));
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	eth->src_addr = smac;
	eth->ether_type = BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = BE16((op & 1) ? RTE_ARP_OP_REPLY : RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = smac;
	arp->arp_data.arp_sip = sip;
	arp->arp_data.arp_tip = tip;
	patch(in, frame, len);
	deliver(r, make_mbuf(frame, len, 0, port), pick);
}

static void
op_echo(struct run *r, struct in *in)
{
	uint8_t frame[MAX_FRAME];
	uint8_t b = u8(in), pl = u8(in), pick = u8(in);
	uint16_t port = (b & 1) ? port_b : port_c;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	uint16_t icmp_len = (uint16_t)(sizeof(*ic) + pl);
	uint16_t len = (uint16_t)(sizeof(*eth) + 20 + icmp_len);

	memset(frame, 0, len);
	eth->src_addr = client_mac;
	eth->dst_addr = sh.ports[port].mac;
	eth->ether_type = BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = BE16((uint16_t)(20 + icmp_len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = IP(10, 10, 0, 2);
	ip->dst_addr = (b & 2) ? IP(10, 96, 0, 10) : sh.ports[port].ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	ic->icmp_ident = BE16(b);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, icmp_len);
	patch(in, frame, len);
	deliver(r, make_mbuf(frame, len, 0, port), pick);
}

static void
op_raw(struct run *r, struct in *in)
{
	uint8_t frame[MAX_FRAME];
	uint8_t b = u8(in), pick = u8(in), split = u8(in);
	uint16_t len = u16(in) % (MAX_FRAME + 1);

	if (len > in->n)
		len = (uint16_t)in->n;
	memcpy(frame, in->p, len);
	in->p += len;
	in->n -= len;
	/* Most raw frames are addressed to the port, or parsing stops at L2. */
	if ((b & 2) && len >= RTE_ETHER_ADDR_LEN)
		memcpy(frame, &sh.ports[(b & 1) ? port_b : port_c].mac, RTE_ETHER_ADDR_LEN);
	deliver(r, make_mbuf(frame, len, split, (b & 1) ? port_b : port_c), pick);
}

static void
op_tick(struct run *r, struct in *in)
{
	uint16_t t = u16(in);
	/* Mostly around the timeouts that matter (500 ms connect, seconds
	 * for closing states), now and then hours. */
	uint32_t ms = (t & 0x8000) ? (uint32_t)(t & 0x7fff) * 1000 : t;

	for (uint16_t w = 0; w < r->nw; w++) {
		wk[w].now_ms += ms;
		wk[w].now_tsc += (uint64_t)ms * wk[w].tsc_per_ms;
		mg_proxy_expire(&wk[w], EXPIRE_BUDGET);
	}
	settle(r);
}

/* Hold back every mbuf of the pool but b >> 1 (b & 1), or give them back. */
static void
op_pool(uint8_t b)
{
	if (!(b & 1)) {
		rte_pktmbuf_free_bulk(stash, n_stash);
		n_stash = 0;
		return;
	}
	while (rte_mempool_avail_count(mp) > (unsigned int)(b >> 1) && n_stash < N_MBUFS) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

		if (m == NULL)
			break;
		stash[n_stash++] = m;
	}
}

/* Reset what an input may have changed, so that inputs replay alike. */
static void
reset(struct run *r, uint8_t mode)
{
	memset(r, 0, sizeof(*r));
	r->nw = (mode & 3) == 0 ? 1 : 2;
	r->rss = (mode & 3) == 2;
	r->all_csum_ok = true;
	sh.n_workers = r->nw;
	sh.ports[port_b].rss = r->rss;
	sh.params.max_attempts = 1 + ((mode >> 2) & 3);  /* 1..4 */
	/* SYN flood defence: auto, always or off, with limits a few SYNs reach. */
	sh.params.syn_cookies = (uint8_t)(((mode >> 5) & 3) % 3);
	sh.params.max_half_open = (mode & 0x80) ? 3 : 0;
	sh.params.max_half_open_src = (mode & 0x80) ? 2 : 0;
	sh.params.max_half_open_svc = (mode & 0x80) ? 0 : 4;
	for (uint16_t w = 0; w < 2; w++) {
		struct mg_worker *wp = &wk[w];

		wp->lb = sh.lb;
		wp->rng = 0x9E3779B97F4A7C15ull * (w + 1);
		/* The clock starts near its wrap now and then. */
		wp->now_ms = (mode & 0x10) ? UINT32_MAX - 700 : 1000;
		wp->now_tsc = (uint64_t)wp->now_ms * wp->tsc_per_ms;
		for (uint16_t s = 0; s < sh.n_snat; s++) {
			struct mg_snat_pool *p = &wp->pools[s];
			uint32_t cap = 0;

			for (uint32_t port = sh.snat_port_min; port <= sh.snat_port_max; port++)
				if (port % r->nw == w)
					p->ports[cap++] = rte_cpu_to_be_16((uint16_t)port);
			p->cap = cap;
			p->count = cap;
			p->head = 0;
		}
		memset(&wp->st, 0, sizeof(wp->st));
		wp->cookies_sent = false;
	}
}

static void
finish(struct run *r)
{
	rte_pktmbuf_free_bulk(stash, n_stash);
	n_stash = 0;
	if (r->n_burst > 0) {
		mg_proxy_input(&wk[r->burst_worker], r->burst, r->n_burst, false);
		r->n_burst = 0;
		settle(r);
	}
	for (uint16_t w = 0; w < r->nw; w++) {
		mg_proxy_drain(&wk[w]);
		mg_proxy_flush(&wk[w]);
	}
	settle(r);
	/* Packets handed to a worker after its drain went nowhere: drop them. */
	for (int w = 0; w < 2; w++) {
		struct rte_mbuf *m;

		while (rte_ring_dequeue(sh.handoff[w][1 - w], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		if (mg_flow_count(wk[w].ft) != 0)
			die("flows left after the drain");
		if (wk[w].ft->n_keys != 0 || mg_flow_index_slots_used(wk[w].ft) != 0)
			die("keys left in the flow index after the drain");
		if (wk[w].st.half_open != 0)
			die("half-open flows counted after the drain");
		for (uint32_t b = 0; b < RTE_DIM(wk[w].half_open_src); b++)
			if (wk[w].half_open_src[b] != 0)
				die("a source's half-open count left after the drain");
		for (uint32_t b = 0; b < RTE_DIM(wk[w].half_open_svc); b++)
			if (wk[w].half_open_svc[b] != 0)
				die("a service's half-open count left after the drain");
	}
	drain_tx(NULL);
	drain_events();
	if (rte_mempool_avail_count(mp) != pool_full) {
		fprintf(stderr, "fuzz_packet: %u mbufs leaked\n",
			pool_full - rte_mempool_avail_count(mp));
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct in in = { data, size };
	struct run r;

	if (!ready) {
		setup();
		trace = getenv("MG_FUZZ_TRACE") != NULL;
		ready = true;
	}
	reset(&r, u8(&in));
	if (trace)
		fprintf(stderr, "input of %zu bytes: %u workers%s, max_attempts %u, clock %u\n",
			size, r.nw, r.rss ? " (RSS)" : "", sh.params.max_attempts, wk[0].now_ms);
	for (int step = 0; step < MAX_STEPS && in.n > 0; step++) {
		uint8_t op = u8(&in);

		if (trace)
			fprintf(stderr, "step %d: op %u (%u), flows %u/%u, %zu bytes left\n", step,
				op % 12, op, mg_flow_count(wk[0].ft), mg_flow_count(wk[1].ft), in.n);

		switch (op % 12) {
		case 0: op_client(&r, &in, true); break;
		case 1: case 2: op_client(&r, &in, false); break;
		case 3: case 4: op_endpoint(&r, &in); break;
		case 5: op_icmp(&r, &in); break;
		case 6: op_tick(&r, &in); break;
		case 7: op_raw(&r, &in); break;
		case 8: op_arp(&r, &in); break;
		case 9: op_echo(&r, &in); break;
		case 10:
			/* The next 2..9 packets go as one burst (one bulk lookup). */
			if (r.burst_left == 0 && r.n_burst == 0)
				r.burst_left = (uint16_t)(2 + (u8(&in) & 7));
			break;
		default: {
			uint8_t b = u8(&in);

			if (b & 0x80) {
				op_pool(b & 0x7f);
				break;
			}
			/* Change a run-time setting as the control thread would. */
			sh.params.max_attempts = 1 + (b & 7);   /* 1..8, as the configuration allows */
			sh.params.connect_timeout_ms = 1 + (uint32_t)(b >> 3) * 100;
			break;
		}
		}
	}
	if (trace)
		for (uint16_t w = 0; w < r.nw; w++) {
			const struct mg_worker_stats *st = &wk[w].st;

			fprintf(stderr, "worker %u: flows %u new %" PRIu64 " ok %" PRIu64 " refused %"
				PRIu64 " unreach %" PRIu64 " timeout %" PRIu64 " retry %" PRIu64
				" failed %" PRIu64 " resets %" PRIu64 " tx %" PRIu64 " handoff %" PRIu64
				" arp %" PRIu64 " echo %" PRIu64 " probes %" PRIu64 "\n", w,
				mg_flow_count(wk[w].ft), st->flows_new, st->connect_ok,
				st->connect_refused, st->connect_unreach, st->connect_timeout,
				st->connect_retry, st->connect_failed, st->resets, st->tx,
				st->handoff_in, st->arp_replies, st->icmp_echo, st->probe_replies);
			for (int d = 0; d < MG_DROP__MAX; d++)
				if (st->drop[d])
					fprintf(stderr, "  drop %s %" PRIu64 "\n",
						mg_drop_reason_name((enum mg_drop_reason)d), st->drop[d]);
		}
	finish(&r);
	return 0;
}
