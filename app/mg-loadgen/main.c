/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mg-loadgen: options, EAL, ports and the run.
 *
 *   mg-loadgen [EAL options] -- [options]          (a timed run, then a report)
 *   mg-loadgen [EAL options] -- -i [options]       (the CLI: set/start/stop/show)
 *
 * The first EAL worker lcore runs the packet loop (lg_lcore.c); the main
 * lcore sleeps, reads counters and drives runs. A timed run: resolve the
 * gateway's MAC by ARP (the requests come from every server address, so the
 * gateway learns the servers' MAC at the same time), start, wait for the
 * flood flows' handshakes, warm up, measure over the duration, stop, let
 * the connections in flight finish, and report the window and the totals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "lg.h"

struct mg_lg *mg_lg;
static volatile sig_atomic_t got_signal;

uint32_t mg_lg_poll(struct mg_lg_lcore *lc);

static void
on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static void
usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- [options]\n"
	       "  -i, --interactive      the CLI (prompt \"mg-loadgen> \": set/start/stop/show stats)\n"
	       "  --mode LIST            conn, flood, synflood, or a comma list (default conn)\n"
	       "  --duration S           measured seconds (default 5; 0 with --count: until done)\n"
	       "  --warmup S             seconds before measuring (default 1)\n"
	       "  --conns N              concurrent connections (default 1024)\n"
	       "  --count N              connections to open in all (default: no limit)\n"
	       "  --cps N                new connections (and flood-flow handshakes) per second (0 = max)\n"
	       "  --req-size B           request bytes, 1..1460 (default 64)\n"
	       "  --resp-size B          response bytes (default 256; MSS-sized segments)\n"
	       "  --flows N              flood flows (k and M suffixes; default 1000)\n"
	       "  --size B               flood frame size with FCS, 64..1518 (default 64)\n"
	       "  --rate PPS             flood rate (0 = as fast as the link takes; default 0)\n"
	       "  --syn-rate PPS         SYN-flood rate (0 = as fast as the link takes)\n"
	       "  --synthetic            flood flows without handshakes (no gateway in the path)\n"
	       "  --setup-window N       flood-flow SYNs outstanding during set-up (default 4096)\n"
	       "  --vip IP:PORT          clients connect to this VIP (default 10.96.0.10:80)\n"
	       "  --direct               clients connect to the servers themselves (no gateway)\n"
	       "  --gw-ip IP             the gateway, resolved by ARP (default 10.0.0.1)\n"
	       "  --gw-mac MAC           the gateway's MAC (no ARP)\n"
	       "  --clients IP/N         first client address and how many (default 10.1.0.1/32)\n"
	       "  --client-ports MIN-MAX client ports (default 1024-65535)\n"
	       "  --servers IP/N         first server address and how many (default 10.0.2.1/4)\n"
	       "  --server-port P        servers' port (default 8080)\n"
	       "  --flood-src IP/N       SYN-flood source addresses (default 10.2.0.0/65536)\n"
	       "  --timeout MS           a connection with no progress for MS fails (default 1000)\n"
	       "  --rto MS               first SYN retransmission (default 200)\n"
	       "  --drain S              after stopping, wait at most S for connections in flight (default 3)\n"
	       "  --rxq N                RX queues per port (default 1; over memif, as many as the peer's TX queues)\n"
	       "  --steer N              N TX queues per port, each segment on the queue of the meshgate\n"
	       "                         worker that owns it (lib/proxy/mg_owner.h), as an RSS NIC\n"
	       "                         with meshgate's key would; a full queue drops, as an RX ring\n"
	       "                         does (default 1: one queue, no steering)\n"
	       "  --mbufs N              mbuf pool size (default 32767)\n"
	       "  --client-port ID, --server-port-id ID   DPDK ports of each side (default 0 and 0)\n"
	       "  --json                 the reports as JSON (one object per line)\n"
	       "  -h, --help             this text\n", prog);
}

static int
parse_num(const char *s, uint64_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6, end++;
	else if (*end == 'G' || *end == 'g')
		v *= 1e9, end++;
	if (*end != '\0')
		return -1;
	*out = (uint64_t)(v + 0.5);
	return 0;
}

static int
parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*ip = rte_be_to_cpu_32(a.s_addr);
	return 0;
}

/* "IP/N" or "IP:PORT" */
static int
parse_ip_pair(const char *s, char sep, uint32_t *ip, uint64_t *n)
{
	char buf[64];
	char *p;

	snprintf(buf, sizeof(buf), "%s", s);
	p = strchr(buf, sep);
	if (p == NULL)
		return -1;
	*p++ = '\0';
	if (parse_ip(buf, ip) < 0 || parse_num(p, n) < 0)
		return -1;
	return 0;
}

int
mg_lg_set(struct mg_lg_cfg *c, const char *key, const char *val, char *err, size_t errlen)
{
	uint64_t v = 0;
	uint32_t ip;
	bool num = parse_num(val, &v) == 0;

#define NEED(cond, msg) do { if (!(cond)) { snprintf(err, errlen, "%s %s: %s", key, val, msg); return -1; } } while (0)
	if (strcmp(key, "mode") == 0) {
		char buf[64], *save = NULL;
		uint32_t m = 0;

		snprintf(buf, sizeof(buf), "%s", val);
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (strcmp(t, "conn") == 0)
				m |= MG_LG_M_CONN;
			else if (strcmp(t, "flood") == 0)
				m |= MG_LG_M_FLOOD;
			else if (strcmp(t, "synflood") == 0)
				m |= MG_LG_M_SYNFLOOD;
			else
				NEED(false, "modes are conn, flood, synflood");
		}
		NEED(m != 0, "no mode");
		c->modes = m;
	} else if (strcmp(key, "rate") == 0) {
		NEED(num, "a packet rate (0 = as fast as the link takes)");
		c->rate = v;
	} else if (strcmp(key, "synrate") == 0) {
		NEED(num, "a SYN rate (0 = as fast as the link takes)");
		c->syn_rate = v;
	} else if (strcmp(key, "cps") == 0) {
		NEED(num, "connections per second (0 = as fast as slots free)");
		c->conn_rate = v;
	} else if (strcmp(key, "size") == 0) {
		NEED(num && v >= 64 && v <= 1518, "frame size from 64 to 1518");
		c->size = (uint32_t)v;
	} else if (strcmp(key, "flows") == 0) {
		NEED(num && v <= 16000000, "flows from 0 to 16M");
		c->flows = (uint32_t)v;
	} else if (strcmp(key, "conns") == 0) {
		NEED(num && v >= 1 && v <= 16000000, "connections from 1 to 16M");
		c->conns = (uint32_t)v;
	} else if (strcmp(key, "count") == 0) {
		NEED(num, "a number (0 = no limit)");
		c->count = v;
	} else if (strcmp(key, "reqsize") == 0) {
		NEED(num && v >= 1 && v <= MG_LG_MSS, "from 1 to 1460 bytes (one segment)");
		c->req_size = (uint32_t)v;
	} else if (strcmp(key, "respsize") == 0) {
		NEED(num && v >= 1 && v <= 100000000, "from 1 byte to 100 MB");
		c->resp_size = (uint32_t)v;
	} else if (strcmp(key, "timeout") == 0) {
		NEED(num && v >= 1 && v <= 600000, "milliseconds from 1 to 600000");
		c->timeout_ms = (uint32_t)v;
	} else if (strcmp(key, "rto") == 0) {
		NEED(num && v >= 1 && v <= 60000, "milliseconds from 1 to 60000");
		c->rto_ms = (uint32_t)v;
	} else if (strcmp(key, "window") == 0) {
		NEED(num && v >= 1 && v <= 1000000, "from 1 to 1M SYNs");
		c->setup_window = (uint32_t)v;
	} else if (strcmp(key, "synthetic") == 0) {
		NEED(strcmp(val, "on") == 0 || strcmp(val, "off") == 0, "on or off");
		c->synthetic = strcmp(val, "on") == 0;
	} else if (strcmp(key, "vip") == 0) {
		if (strcmp(val, "none") == 0) {
			c->vip = 0;
		} else {
			NEED(parse_ip_pair(val, ':', &ip, &v) == 0 && v > 0 && v < 65536, "IP:PORT or none");
			c->vip = ip;
			c->vport = (uint16_t)v;
		}
	} else if (strcmp(key, "gwmac") == 0) {
		NEED(rte_ether_unformat_addr(val, &c->gw_mac) == 0, "a MAC address");
		c->gw_ip = 0;
	} else if (strcmp(key, "gwip") == 0) {
		NEED(parse_ip(val, &ip) == 0, "an IPv4 address");
		c->gw_ip = ip;
	} else if (strcmp(key, "clients") == 0) {
		NEED(parse_ip_pair(val, '/', &ip, &v) == 0 && v >= 1 && v <= 65536, "IP/N");
		c->client_ip0 = ip;
		c->n_client_ips = (uint32_t)v;
	} else if (strcmp(key, "servers") == 0) {
		NEED(parse_ip_pair(val, '/', &ip, &v) == 0 && v >= 1 && v <= 65536, "IP/N");
		c->server_ip0 = ip;
		c->n_server_ips = (uint32_t)v;
	} else if (strcmp(key, "floodsrc") == 0) {
		NEED(parse_ip_pair(val, '/', &ip, &v) == 0 && v >= 1 && v <= (1u << 24), "IP/N");
		c->flood_ip0 = ip;
		c->n_flood_ips = (uint32_t)v;
	} else if (strcmp(key, "serverport") == 0) {
		NEED(num && v >= 1 && v < 65536, "a TCP port");
		c->server_port = (uint16_t)v;
	} else if (strcmp(key, "clientports") == 0) {
		unsigned int lo, hi;

		NEED(sscanf(val, "%u-%u", &lo, &hi) == 2 && lo >= 1 && lo <= hi && hi < 65536, "MIN-MAX");
		c->client_port_min = (uint16_t)lo;
		c->n_client_ports = (uint16_t)RTE_MIN(hi - lo + 1, 65535u);
	} else {
		snprintf(err, errlen, "unknown setting %s", key);
		return -1;
	}
#undef NEED
	return 0;
}

static void
ipstr(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

void
mg_lg_cfg_print(const struct mg_lg_cfg *c, FILE *f)
{
	char a[32], b[32], d[32], e[32], mac[RTE_ETHER_ADDR_FMT_SIZE];

	ipstr(c->vip, a, sizeof(a));
	ipstr(c->client_ip0, b, sizeof(b));
	ipstr(c->server_ip0, d, sizeof(d));
	ipstr(c->flood_ip0, e, sizeof(e));
	rte_ether_format_addr(mac, sizeof(mac), &c->gw_mac);
	fprintf(f, "mode %s%s%s  conns %u count %" PRIu64 " cps %" PRIu64 " reqsize %u respsize %u\n"
		"flows %u size %u rate %" PRIu64 " synrate %" PRIu64 " synthetic %s window %u\n"
		"vip %s:%u  clients %s/%u ports %u+%u  servers %s/%u port %u  floodsrc %s/%u\n"
		"gateway MAC %s  timeout %u ms  rto %u ms\n",
		(c->modes & MG_LG_M_CONN) ? "conn " : "", (c->modes & MG_LG_M_FLOOD) ? "flood " : "",
		(c->modes & MG_LG_M_SYNFLOOD) ? "synflood" : "", c->conns, c->count, c->conn_rate,
		c->req_size, c->resp_size, c->flows, c->size, c->rate, c->syn_rate,
		c->synthetic ? "on" : "off", c->setup_window, c->vip ? a : "none", c->vport, b,
		c->n_client_ips, c->client_port_min, c->n_client_ports, d, c->n_server_ips,
		c->server_port, e, c->n_flood_ips, mac, c->timeout_ms, c->rto_ms);
}

static int
cfg_check(const struct mg_lg_cfg *c, char *err, size_t errlen)
{
	uint64_t need = (uint64_t)((c->modes & MG_LG_M_CONN) ? c->conns : 0) +
			((c->modes & MG_LG_M_FLOOD) ? c->flows : 0);

	if (need > (uint64_t)c->n_client_ips * c->n_client_ports) {
		snprintf(err, errlen, "%" PRIu64 " connections and flows need more client addresses than %u x %u ports",
			 need, c->n_client_ips, c->n_client_ports);
		return -1;
	}
	if (c->vip != 0 && c->vip >= c->client_ip0 && c->vip - c->client_ip0 < c->n_client_ips) {
		snprintf(err, errlen, "the VIP is inside the client range");
		return -1;
	}
	return 0;
}

int
mg_lg_start(struct mg_lg *g)
{
	char err[160];

	if (cfg_check(&g->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mg-loadgen: %s\n", err);
		return -1;
	}
	g->ctl.running = false;
	mg_lg_sum(g, &g->base);
	g->base_tsc = rte_rdtsc();
	g->last = g->base;
	g->last_tsc = g->base_tsc;
	__atomic_add_fetch(&g->ctl.start_seq, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&g->lc->seen_seq, __ATOMIC_ACQUIRE) != g->ctl.start_seq)
		usleep(100);
	g->ctl.running = true;
	return 0;
}

void
mg_lg_stop(struct mg_lg *g)
{
	g->ctl.running = false;
}

static void
arp_request(struct mg_lg *g, uint16_t port, uint32_t sip, uint32_t tip)
{
	struct mg_lg_lcore *lc = g->lc;
	struct rte_mbuf *m = rte_pktmbuf_alloc(g->mp);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL)
		return;
	m->data_len = 60;
	m->pkt_len = 60;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	memset(rte_pktmbuf_mtod(m, void *), 0, 60);
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	eth->src_addr = lc->mac[port];
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = lc->mac[port];
	arp->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	mg_lg_tx(lc, port, m);
}

/* Before the packet lcore runs: find the gateway's MAC, and let it learn the servers'. */
int
mg_lg_arp_resolve(struct mg_lg *g, uint32_t timeout_ms)
{
	struct mg_lg_lcore *lc = g->lc;
	uint64_t hz = rte_get_tsc_hz(), end = rte_rdtsc() + hz / 1000 * timeout_ms, next = 0;
	struct rte_ether_addr zero = { { 0 } };
	int extra = -1;

	lc->cfg = g->cfg;
	lc->cfg.gw_mac = zero;
	g->cfg.gw_mac = zero;
	while (rte_rdtsc() < end && !got_signal) {
		uint64_t now = rte_rdtsc();

		if (now >= next) {
			uint32_t n = RTE_MIN(g->cfg.n_server_ips, 256u);

			next = now + hz / 10;
			for (uint32_t i = 0; i < n; i++)
				arp_request(g, g->cfg.sport, g->cfg.server_ip0 + i, g->cfg.gw_ip);
			if (g->cfg.cport != g->cfg.sport)
				arp_request(g, g->cfg.cport, g->cfg.client_ip0, g->cfg.gw_ip);
			if (extra >= 0 && extra-- == 0)
				return 0;
		}
		mg_lg_poll(lc);
		if (extra < 0 && !rte_is_zero_ether_addr(&g->cfg.gw_mac))
			extra = 2; /* two more rounds: the gateway hears every server */
		usleep(1000);
	}
	return rte_is_zero_ether_addr(&g->cfg.gw_mac) ? -1 : 0;
}

static int
port_init(struct mg_lg *g, uint16_t port, uint16_t nrxq, uint16_t ntxq)
{
	struct rte_eth_conf pc = { 0 };
	struct rte_eth_dev_info info;
	uint16_t rxd = 1024, txd = 1024;
	int rc;

	if (rte_eth_dev_info_get(port, &info) != 0)
		return -1;
	nrxq = RTE_MIN(nrxq, info.max_rx_queues);
	nrxq = RTE_MIN(nrxq, (uint16_t)MG_LG_MAX_RXQ);
	if (ntxq > info.max_tx_queues || ntxq > MG_LG_MAX_RXQ) {
		fprintf(stderr, "mg-loadgen: port %u: --steer %u: the device has %u TX queues (at most %u here)\n",
			port, ntxq, info.max_tx_queues, MG_LG_MAX_RXQ);
		return -EINVAL;
	}
	rc = rte_eth_dev_configure(port, nrxq, ntxq, &pc);
	if (rc < 0)
		return rc;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	for (uint16_t q = 0; q < nrxq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, rxd, rte_eth_dev_socket_id(port), NULL, g->mp);
		if (rc < 0)
			return rc;
	}
	for (uint16_t q = 0; q < ntxq; q++) {
		rc = rte_eth_tx_queue_setup(port, q, txd, rte_eth_dev_socket_id(port), NULL);
		if (rc < 0)
			return rc;
	}
	rc = rte_eth_dev_start(port);
	if (rc < 0)
		return rc;
	rte_eth_promiscuous_enable(port);
	rte_eth_macaddr_get(port, &g->lc->mac[port]);
	g->lc->n_rxq[port] = nrxq;
	g->lc->n_txq[port] = ntxq;
	return 0;
}

static int
wait_links(struct mg_lg *g, uint32_t timeout_ms)
{
	for (uint32_t t = 0; t < timeout_ms && !got_signal; t += 10) {
		bool all = true;

		for (uint16_t i = 0; i < g->n_ports; i++) {
			struct rte_eth_link l;

			if (rte_eth_link_get_nowait(g->ports[i], &l) != 0 || !l.link_status)
				all = false;
		}
		if (all)
			return 0;
		usleep(10000);
	}
	return -1;
}

static void
sleep_s(double s)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(s * rte_get_tsc_hz());

	while (rte_rdtsc() < end && !got_signal)
		usleep(10000);
}

/* A timed run without the CLI. */
static int
run_batch(struct mg_lg *g, double warmup, double duration, double drain)
{
	struct mg_lg_lcore *lc = g->lc;
	struct mg_lg_counters a, b, z;
	uint64_t ta, tb, t0, tz, hz = rte_get_tsc_hz();
	FILE *out = stdout;

	if (mg_lg_start(g) < 0)
		return -1;
	t0 = rte_rdtsc();
	if ((g->cfg.modes & MG_LG_M_FLOOD) && !g->cfg.synthetic) {
		while (!lc->setup_done && !got_signal)
			usleep(1000);
		fprintf(stderr, "mg-loadgen: %u of %u flood flows established in %.2f s\n",
			lc->n_held, g->cfg.flows, (double)(rte_rdtsc() - t0) / hz);
		if (g->json)
			fprintf(out, "{\"setup\":{\"flows\":%u,\"held\":%u,\"seconds\":%.3f}}\n",
				g->cfg.flows, lc->n_held, (double)(rte_rdtsc() - t0) / hz);
		fflush(out);
	}
	sleep_s(warmup);
	mg_lg_sum(g, &a);
	ta = rte_rdtsc();
	if (duration > 0) {
		sleep_s(duration);
	} else {
		/* until --count connections are done */
		while (!got_signal && (lc->opened < g->cfg.count || lc->inflight > 0))
			usleep(1000);
	}
	mg_lg_sum(g, &b);
	tb = rte_rdtsc();
	mg_lg_stop(g);
	for (uint64_t end = rte_rdtsc() + (uint64_t)(drain * hz); lc->inflight && rte_rdtsc() < end;)
		usleep(1000);
	usleep(20000); /* the last ACKs reach the servers */
	mg_lg_sum(g, &z);
	tz = rte_rdtsc();
	if (g->json) {
		fprintf(out, "{\"window\":");
		mg_lg_report(g, out, &a, ta, &b, tb, true);
		fprintf(out, "}\n{\"total\":");
		mg_lg_report(g, out, &g->base, g->base_tsc, &z, tz, true);
		fprintf(out, "}\n");
	} else {
		fprintf(out, "measured window ");
		mg_lg_report(g, out, &a, ta, &b, tb, false);
		fprintf(out, "whole run (start to drained) ");
		mg_lg_report(g, out, &g->base, g->base_tsc, &z, tz, false);
	}
	fflush(out);
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_MODE = 256, O_DUR, O_WARM, O_CONNS, O_COUNT, O_CPS, O_REQ, O_RESP, O_FLOWS, O_SIZE,
	       O_RATE, O_SYNRATE, O_SYNTH, O_WINDOW, O_VIP, O_DIRECT, O_GWIP, O_GWMAC, O_CLIENTS,
	       O_CPORTS, O_SERVERS, O_SPORT, O_FLOODSRC, O_TIMEOUT, O_RTO, O_DRAIN, O_RXQ, O_STEER, O_MBUFS,
	       O_CPID, O_SPID, O_JSON };
	static const struct { int id; const char *key; } keymap[] = {
		{ O_MODE, "mode" }, { O_CONNS, "conns" }, { O_COUNT, "count" }, { O_CPS, "cps" },
		{ O_REQ, "reqsize" }, { O_RESP, "respsize" }, { O_FLOWS, "flows" }, { O_SIZE, "size" },
		{ O_RATE, "rate" }, { O_SYNRATE, "synrate" }, { O_WINDOW, "window" }, { O_VIP, "vip" },
		{ O_GWIP, "gwip" }, { O_GWMAC, "gwmac" }, { O_CLIENTS, "clients" },
		{ O_CPORTS, "clientports" }, { O_SERVERS, "servers" }, { O_SPORT, "serverport" },
		{ O_FLOODSRC, "floodsrc" }, { O_TIMEOUT, "timeout" }, { O_RTO, "rto" },
	};
	static const struct option longopts[] = {
		{ "interactive", no_argument, NULL, 'i' }, { "help", no_argument, NULL, 'h' },
		{ "mode", required_argument, NULL, O_MODE }, { "duration", required_argument, NULL, O_DUR },
		{ "warmup", required_argument, NULL, O_WARM }, { "conns", required_argument, NULL, O_CONNS },
		{ "count", required_argument, NULL, O_COUNT }, { "cps", required_argument, NULL, O_CPS },
		{ "req-size", required_argument, NULL, O_REQ }, { "resp-size", required_argument, NULL, O_RESP },
		{ "flows", required_argument, NULL, O_FLOWS }, { "size", required_argument, NULL, O_SIZE },
		{ "rate", required_argument, NULL, O_RATE }, { "syn-rate", required_argument, NULL, O_SYNRATE },
		{ "synthetic", no_argument, NULL, O_SYNTH }, { "setup-window", required_argument, NULL, O_WINDOW },
		{ "vip", required_argument, NULL, O_VIP }, { "direct", no_argument, NULL, O_DIRECT },
		{ "gw-ip", required_argument, NULL, O_GWIP }, { "gw-mac", required_argument, NULL, O_GWMAC },
		{ "clients", required_argument, NULL, O_CLIENTS },
		{ "client-ports", required_argument, NULL, O_CPORTS },
		{ "servers", required_argument, NULL, O_SERVERS },
		{ "server-port", required_argument, NULL, O_SPORT },
		{ "flood-src", required_argument, NULL, O_FLOODSRC },
		{ "timeout", required_argument, NULL, O_TIMEOUT }, { "rto", required_argument, NULL, O_RTO },
		{ "drain", required_argument, NULL, O_DRAIN }, { "rxq", required_argument, NULL, O_RXQ },
		{ "steer", required_argument, NULL, O_STEER },
		{ "mbufs", required_argument, NULL, O_MBUFS },
		{ "client-port", required_argument, NULL, O_CPID },
		{ "server-port-id", required_argument, NULL, O_SPID },
		{ "json", no_argument, NULL, O_JSON },
		{ NULL, 0, NULL, 0 },
	};
	static struct mg_lg g;
	double duration = 5, warmup = 1, drain = 3;
	uint64_t rxq = 1, steer = 1, mbufs = 32767, cpid = 0, spid = 0;
	bool interactive = false;
	char err[160];
	unsigned int lcore;
	int rc, c, ret = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(argv[0]);
			return 0;
		}
	}
	mg_lg = &g;
	g.cfg = (struct mg_lg_cfg){
		.modes = MG_LG_M_CONN, .conns = 1024, .req_size = 64, .resp_size = 256,
		.flows = 1000, .size = 64, .setup_window = 4096, .timeout_ms = 1000, .rto_ms = 200,
		.vport = 80, .n_client_ips = 32, .client_port_min = 1024, .n_client_ports = 64512,
		.n_server_ips = 4, .server_port = 8080, .n_flood_ips = 65536,
	};
	parse_ip("10.96.0.10", &g.cfg.vip);
	parse_ip("10.0.0.1", &g.cfg.gw_ip);
	parse_ip("10.1.0.1", &g.cfg.client_ip0);
	parse_ip("10.0.2.1", &g.cfg.server_ip0);
	parse_ip("10.2.0.0", &g.cfg.flood_ip0);

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "mg-loadgen: EAL initialisation failed\n");
		return 1;
	}
	argc -= rc;
	argv += rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ih", longopts, NULL)) != -1) {
		uint64_t v;
		const char *key = NULL;

		for (size_t k = 0; k < RTE_DIM(keymap); k++)
			if (keymap[k].id == c)
				key = keymap[k].key;
		if (key != NULL) {
			if (mg_lg_set(&g.cfg, key, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "mg-loadgen: %s\n", err);
				ret = 2;
				goto out;
			}
			continue;
		}
		switch (c) {
		case 'i':
			interactive = true;
			break;
		case 'h':
			usage("mg-loadgen");
			goto out;
		case O_DUR:
		case O_WARM:
		case O_DRAIN: {
			char *end;
			double d = strtod(optarg, &end);

			if (*end || end == optarg || d < 0) {
				fprintf(stderr, "mg-loadgen: bad number of seconds \"%s\"\n", optarg);
				ret = 2;
				goto out;
			}
			*(c == O_DUR ? &duration : c == O_WARM ? &warmup : &drain) = d;
			break;
		}
		case O_SYNTH:
			g.cfg.synthetic = true;
			break;
		case O_DIRECT:
			g.cfg.vip = 0;
			break;
		case O_JSON:
			g.json = true;
			break;
		case O_RXQ:
		case O_STEER:
		case O_MBUFS:
		case O_CPID:
		case O_SPID:
			if (parse_num(optarg, &v) < 0) {
				fprintf(stderr, "mg-loadgen: bad number \"%s\"\n", optarg);
				ret = 2;
				goto out;
			}
			*(c == O_RXQ ? &rxq : c == O_STEER ? &steer : c == O_MBUFS ? &mbufs :
			  c == O_CPID ? &cpid : &spid) = v;
			break;
		default:
			usage("mg-loadgen");
			ret = 2;
			goto out;
		}
	}
	if (cfg_check(&g.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mg-loadgen: %s\n", err);
		ret = 2;
		goto out;
	}
	lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE) {
		fprintf(stderr, "mg-loadgen: no worker lcore for the packet loop (give e.g. --lcores 0@0,1@0)\n");
		ret = 1;
		goto out;
	}
	g.lc = rte_zmalloc("mg_lg_lcore", sizeof(*g.lc), RTE_CACHE_LINE_SIZE);
	g.mp = rte_pktmbuf_pool_create("mg_lg_mbufs", (uint32_t)mbufs, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (g.lc == NULL || g.mp == NULL) {
		fprintf(stderr, "mg-loadgen: cannot allocate memory (reserve hugepages or give -m)\n");
		ret = 1;
		goto out;
	}
	g.lc->lcore = lcore;
	g.lc->mp = g.mp;
	g.lc->hz = rte_get_tsc_hz();
	g.lc->ns_mult = (uint64_t)(((unsigned __int128)1000000000 << 32) / g.lc->hz);
	g.lc->rng = rte_rdtsc() | 1;
	g.lc->secret = (uint32_t)rte_rdtsc() * 2654435761u;
	RTE_ETH_FOREACH_DEV(c) {
		if (g.n_ports == MG_LG_MAX_PORTS)
			break;
		if (steer == 0 || steer > MG_LG_MAX_RXQ) {
			fprintf(stderr, "mg-loadgen: --steer takes 1 to %u\n", MG_LG_MAX_RXQ);
			ret = 2;
			goto out;
		}
		if ((rc = port_init(&g, (uint16_t)c, (uint16_t)rxq, (uint16_t)steer)) < 0) {
			fprintf(stderr, "mg-loadgen: port %d: cannot start it: %s\n", c, strerror(-rc));
			ret = 1;
			goto out;
		}
		g.ports[g.n_ports++] = (uint16_t)c;
	}
	if (g.n_ports == 0 || cpid >= MG_LG_MAX_PORTS || spid >= MG_LG_MAX_PORTS ||
	    !rte_eth_dev_is_valid_port((uint16_t)cpid) || !rte_eth_dev_is_valid_port((uint16_t)spid)) {
		fprintf(stderr, "mg-loadgen: no such port (give a --vdev, e.g. net_memif0,role=client,socket=PATH)\n");
		ret = 1;
		goto out;
	}
	g.cfg.cport = (uint16_t)cpid;
	g.cfg.sport = (uint16_t)spid;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (wait_links(&g, 10000) < 0) {
		fprintf(stderr, "mg-loadgen: link down after 10 s (is the peer running?)\n");
		ret = 1;
		goto out;
	}
	if (g.cfg.gw_ip != 0) {
		if (mg_lg_arp_resolve(&g, 5000) < 0) {
			fprintf(stderr, "mg-loadgen: the gateway does not answer ARP\n");
			ret = 1;
			goto out;
		}
		char mac[RTE_ETHER_ADDR_FMT_SIZE];

		rte_ether_format_addr(mac, sizeof(mac), &g.cfg.gw_mac);
		fprintf(stderr, "mg-loadgen: gateway at %s\n", mac);
	}
	rte_eal_remote_launch(mg_lg_lcore_main, g.lc, lcore);
	if (interactive)
		ret = mg_lg_cli_run(&g);
	else
		ret = run_batch(&g, warmup, duration, drain) < 0 ? 1 : 0;
	g.ctl.running = false;
	g.ctl.quit = true;
	rte_eal_mp_wait_lcore();
out:
	for (uint16_t i = 0; i < g.n_ports; i++) {
		rte_eth_dev_stop(g.ports[i]);
		rte_eth_dev_close(g.ports[i]);
	}
	rte_eal_cleanup();
	return ret;
}
