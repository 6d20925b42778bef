/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_LG_H
#define MG_LG_H
/*
 * mg-loadgen: a stateful TCP load generator for meshgate's benchmarks.
 *
 * One DPDK process emulates both ends of many TCP connections: clients
 * (addresses client_ip0 + i, ports client_port_min + j) that connect to a
 * VIP (through meshgate, which full-NATs them to an endpoint) or straight
 * to a server (no gateway), and the servers (server_ip0 + k) that answer.
 * The packet lcore runs to completion on RX bursts: every received frame
 * is dispatched by its destination address to the client side (an array
 * slot found arithmetically from the address and port: no hash), the server
 * side (stateless, see lg_server.c) or the ARP responder; new work (SYNs,
 * flood segments) is paced by token buckets.
 *
 * Files, one idea each:
 *   lg_hist.c    HDR-style log-bucketed latency histogram
 *   lg_pkt.c     frame building and checksums (pseudo-header sums)
 *   lg_server.c  the stateless server (ISN cookie, request/response, FIN)
 *   lg_client.c  the client connection state machine, slots, timeouts
 *   lg_flood.c   established-flow floods and SYN floods
 *   lg_lcore.c   the packet loop: RX dispatch, ARP, TX buffers, pacing
 *   lg_report.c  counters summed, rates, percentiles, text and JSON
 *   lg_cli.c     the pktgen-style CLI (DPDK cmdline)
 *   main.c       options, EAL, ports, a non-interactive run
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define MG_LG_BURST 32
#define MG_LG_MAX_PORTS 4
#define MG_LG_MAX_RXQ 8
#define MG_LG_TXBUF 512
#define MG_LG_MSS 1460

enum {
	MG_LG_M_CONN = 1,      /**< connections: handshake, request, response, FIN both ways */
	MG_LG_M_FLOOD = 2,     /**< data segments on established (or synthetic) flows */
	MG_LG_M_SYNFLOOD = 4,  /**< SYNs from random spoofed sources */
};

/* Every counter of a packet lcore, in the order reports print them. */
#define MG_LG_COUNTERS(X) \
	X(tx_pkts) X(tx_bytes) X(rx_pkts) X(rx_bytes) X(tx_drop) X(nombuf) \
	X(conn_open) X(conn_established) X(conn_completed) X(syn_retrans) \
	X(err_rst) X(err_timeout) X(err_bad_segment) X(err_unexpected) X(dup_synack) \
	X(held) X(hold_failed) \
	X(srv_syn) X(srv_established) X(srv_request) X(srv_resp_segs) X(srv_fin) \
	X(srv_closed) X(srv_rst) X(srv_bad) \
	X(flood_tx) X(flood_rx) X(synflood_tx) X(synflood_rx) \
	X(arp_rx) X(arp_tx) X(rx_other)

struct mg_lg_counters {
#define MG_LG_X(n) uint64_t n;
	MG_LG_COUNTERS(MG_LG_X)
#undef MG_LG_X
};

/* ---- histogram (lg_hist.c) --------------------------------------------- */
#define MG_LG_HIST_SUB_BITS 5                     /* 32 linear sub-buckets per power of 2 */
#define MG_LG_HIST_SUB (1u << MG_LG_HIST_SUB_BITS)
#define MG_LG_HIST_BUCKETS ((64 - MG_LG_HIST_SUB_BITS + 1) * MG_LG_HIST_SUB)

struct mg_lg_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t max;
	uint64_t b[MG_LG_HIST_BUCKETS];
};

void mg_lg_hist_record(struct mg_lg_hist *h, uint64_t v);
void mg_lg_hist_merge(struct mg_lg_hist *dst, const struct mg_lg_hist *src);
/** The value below which @p q (0..1) of the records fall (bucket's upper bound). */
uint64_t mg_lg_hist_quantile(const struct mg_lg_hist *h, double q);

/* ---- configuration --------------------------------------------------------- */
struct mg_lg_cfg {
	uint32_t modes;             /**< MG_LG_M_* */
	uint16_t cport, sport;      /**< DPDK ports of the client and the server side */
	uint32_t gw_ip;             /**< gateway address to resolve (ARP); 0 = use gw_mac */
	struct rte_ether_addr gw_mac;
	uint32_t vip;               /**< clients' destination; 0 = the servers themselves */
	uint16_t vport;             /**< host order */
	uint32_t client_ip0;        /**< host order, as every address below */
	uint32_t n_client_ips;
	uint16_t client_port_min;
	uint16_t n_client_ports;
	uint32_t server_ip0;
	uint32_t n_server_ips;
	uint16_t server_port;
	uint32_t flood_ip0;         /**< SYN-flood source addresses */
	uint32_t n_flood_ips;
	uint32_t conns;             /**< concurrent connections (conn mode) */
	uint64_t count;             /**< connections to open in all; 0 = no limit */
	uint64_t conn_rate;         /**< new connections per second; 0 = as fast as slots free */
	uint32_t req_size, resp_size;
	uint32_t flows;             /**< flood flows */
	uint32_t size;              /**< flood frame size with FCS (64..1518) */
	uint64_t rate;              /**< flood packets per second; 0 = as fast as the link takes */
	uint64_t syn_rate;          /**< SYN-flood SYNs per second; 0 = as fast as the link takes */
	bool synthetic;             /**< flood flows without handshakes (no gateway) */
	uint32_t setup_window;      /**< SYNs outstanding while flood flows are set up */
	uint32_t timeout_ms;        /**< no progress for this long: the connection failed */
	uint32_t rto_ms;            /**< SYN retransmission */
};

/* ---- per-lcore state ----------------------------------------------------- */
enum mg_lg_state {
	MG_LG_FREE = 0,
	MG_LG_SYN_SENT,
	MG_LG_WAIT_RESP,   /* handshake done, request sent */
	MG_LG_FIN_SENT,
	MG_LG_HELD,        /* flood flow: established, kept open */
};

/** One client connection (slot). Its address and port follow from its index. */
struct mg_lg_conn {
	uint64_t t_syn;    /**< first SYN (TSC) */
	uint64_t t_last;   /**< last segment sent (TSC), for retransmission and timeout */
	uint64_t t_req;    /**< request sent (TSC) */
	uint32_t isn;
	uint32_t irs;      /**< the peer's ISN, from its SYN+ACK (a SYN proxy's cookie, say) */
	uint32_t rx;       /**< response bytes received */
	uint8_t state;
	uint8_t tries;
	uint16_t pad;
};

struct mg_lg_txq {
	uint16_t n;
	struct rte_mbuf *pkts[MG_LG_TXBUF];
};

struct mg_lg_bucket {
	uint64_t credit;   /* packets x hz */
	uint64_t last;
};

/** Commands from the main lcore; the packet lcore only reads them. */
struct mg_lg_ctl {
	volatile uint32_t start_seq;   /**< bumped by each start */
	volatile bool running;         /**< open new work */
	volatile bool quit;
};

struct mg_lg_lcore {
	unsigned int lcore;
	struct mg_lg_counters c;
	struct mg_lg_hist h_connect;   /**< SYN -> SYN+ACK, ns */
	struct mg_lg_hist h_response;  /**< request sent -> response complete, ns */
	struct mg_lg_hist h_life;      /**< SYN -> final ACK, ns */
	/* written by the lcore, read by the main lcore */
	volatile uint32_t seen_seq;
	volatile uint32_t inflight;     /**< connections not free and not held */
	volatile bool setup_done;       /**< every flood flow held (or given up) */
	volatile uint32_t n_held;
	/* private to the packet lcore */
	struct mg_lg_cfg cfg;           /**< copy taken at start */
	struct rte_mempool *mp;
	struct mg_lg_txq tx[MG_LG_MAX_PORTS];
	uint16_t n_rxq[MG_LG_MAX_PORTS];
	uint16_t n_txq[MG_LG_MAX_PORTS];  /**< > 1: steered to the owning worker's queue */
	struct rte_ether_addr mac[MG_LG_MAX_PORTS];
	struct mg_lg_conn *slots;       /**< conns connection slots, then flows flood flows */
	uint32_t n_slots, slots_cap;
	uint32_t n_held_foreign;        /**< held flows whose peer ISN is not our servers' */
	uint32_t *freeq;                /**< FIFO of free connection slots */
	uint32_t fq_head, fq_count;
	uint64_t opened;                /**< connections opened in this run */
	uint32_t hold_next;             /**< next flood flow to open */
	uint32_t hold_open;             /**< flood flows in SYN_SENT */
	uint32_t flood_pos, flood_step;
	uint32_t sweep_pos;
	uint64_t next_sweep;
	uint32_t epoch;
	struct mg_lg_bucket b_conn, b_flood, b_syn;
	uint64_t rng;
	uint64_t hz;
	uint64_t ns_mult;               /**< ns = cycles * ns_mult >> 32 */
	uint64_t timeout_cyc, rto_cyc;
	uint32_t secret;
} __rte_cache_aligned;

struct mg_lg {
	struct mg_lg_cfg cfg;           /**< edited by the CLI and the options */
	struct mg_lg_ctl ctl;
	struct mg_lg_lcore *lc;         /**< the packet lcore */
	uint16_t ports[MG_LG_MAX_PORTS];
	uint16_t n_ports;
	struct rte_mempool *mp;
	/* counters at the last "clear stats"/start: reports subtract them */
	struct mg_lg_counters base;
	uint64_t base_tsc;
	struct mg_lg_counters last;     /* for "show stats" rates */
	uint64_t last_tsc;
	bool json;
};

extern struct mg_lg *mg_lg;

/* ---- lg_pkt.c ----------------------------------------------------------------- */
struct mg_lg_seg {
	struct rte_ether_addr src_mac, dst_mac;
	uint32_t sip, dip;         /* host order */
	uint16_t sport, dport;     /* host order */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t payload;          /* zero bytes of payload */
};

/** Write a whole Ethernet/IPv4/TCP frame into @p m (reset first). */
void mg_lg_pkt_build(struct rte_mbuf *m, const struct mg_lg_seg *s);
/** Turn a received TCP frame into the answer @p s describes, in place. */
void mg_lg_pkt_rewrite(struct rte_mbuf *m, const struct mg_lg_seg *s);
struct rte_mbuf *mg_lg_pkt_new(struct mg_lg_lcore *lc, const struct mg_lg_seg *s);

/* ---- lg_lcore.c ------------------------------------------------------------- */
int mg_lg_lcore_main(void *arg);
void mg_lg_tx(struct mg_lg_lcore *lc, uint16_t port, struct rte_mbuf *m);
uint32_t mg_lg_bucket_take(struct mg_lg_lcore *lc, struct mg_lg_bucket *b, uint64_t rate,
			   uint64_t now, uint32_t max);

static inline uint32_t
mg_lg_rand(struct mg_lg_lcore *lc)
{
	uint64_t x = lc->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	lc->rng = x;
	return (uint32_t)((x * UINT64_C(2685821657736338717)) >> 32);
}

/* A 32-bit mix (murmur3's finaliser). */
static inline uint32_t
mg_lg_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static inline uint64_t
mg_lg_ns(const struct mg_lg_lcore *lc, uint64_t cycles)
{
	return (uint64_t)(((unsigned __int128)cycles * lc->ns_mult) >> 32);
}

/* ---- lg_server.c ---------------------------------------------------------------- */
/** The server's ISN for a client ISN: a keyed hash, so the server keeps no state. */
static inline uint32_t
mg_lg_cookie(const struct mg_lg_lcore *lc, uint32_t client_isn)
{
	return mg_lg_mix(client_isn ^ lc->secret);
}
bool mg_lg_is_server(const struct mg_lg_lcore *lc, uint32_t ip);
void mg_lg_server_input(struct mg_lg_lcore *lc, struct rte_mbuf *m);

/* ---- lg_client.c ------------------------------------------------------------- */
void mg_lg_client_start(struct mg_lg_lcore *lc);
bool mg_lg_client_slot(const struct mg_lg_lcore *lc, uint32_t ip, uint16_t port, uint32_t *slot);
void mg_lg_client_addr(const struct mg_lg_lcore *lc, uint32_t slot, uint32_t *ip, uint16_t *port);
void mg_lg_client_input(struct mg_lg_lcore *lc, struct rte_mbuf *m, uint32_t slot);
void mg_lg_client_open(struct mg_lg_lcore *lc, uint64_t now);
void mg_lg_client_sweep(struct mg_lg_lcore *lc, uint64_t now);
void mg_lg_syn(struct mg_lg_lcore *lc, uint32_t slot, uint64_t now);

/* ---- lg_flood.c ------------------------------------------------------------ */
void mg_lg_flood_start(struct mg_lg_lcore *lc);
void mg_lg_flood_setup(struct mg_lg_lcore *lc, uint64_t now);
void mg_lg_flood_send(struct mg_lg_lcore *lc, uint64_t now);
void mg_lg_synflood_send(struct mg_lg_lcore *lc, uint64_t now);
bool mg_lg_is_flood_src(const struct mg_lg_lcore *lc, uint32_t ip);

/* ---- lg_report.c ----------------------------------------------------------- */
void mg_lg_sum(const struct mg_lg *g, struct mg_lg_counters *out);
void mg_lg_report(const struct mg_lg *g, FILE *f, const struct mg_lg_counters *from,
		  uint64_t from_tsc, const struct mg_lg_counters *to, uint64_t to_tsc, bool json);

/* ---- lg_cli.c ------------------------------------------------------------------- */
int mg_lg_cli_run(struct mg_lg *g);

/* ---- main.c: run control shared by the CLI and the non-interactive run -------- */
int mg_lg_start(struct mg_lg *g);
void mg_lg_stop(struct mg_lg *g);
int mg_lg_arp_resolve(struct mg_lg *g, uint32_t timeout_ms);
int mg_lg_set(struct mg_lg_cfg *c, const char *key, const char *val, char *err, size_t errlen);
void mg_lg_cfg_print(const struct mg_lg_cfg *c, FILE *f);

#endif
