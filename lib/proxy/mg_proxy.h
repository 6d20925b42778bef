/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_PROXY_H
#define MG_PROXY_H

/**
 * @file
 * The worker's packet path: full-NAT TCP proxying with hidden connect
 * failover, plus the ARP and ICMP a gateway port must answer.
 *
 * A client's SYN to a service VIP:port creates a flow on the worker that
 * owns it: the worker picks an endpoint from the current locality table,
 * keeps the client's SYN, and sends a copy rewritten to
 * snat-address:snat-port -> endpoint:target-port. The endpoint's SYN+ACK
 * establishes the flow and every later segment is rewritten in place, both
 * ways, with incremental checksums. Sequence numbers are not touched: the
 * client only ever sees the SYN+ACK of the endpoint that accepted.
 *
 * If the endpoint answers RST or ICMP unreachable, or nothing within the
 * connect timeout, the worker sends the kept SYN to the next endpoint
 * (excluding those tried) until max_attempts; the client's own SYN
 * retransmissions meanwhile are absorbed. Only when every attempt failed
 * does the client get a RST.
 *
 * Ownership with several workers: the flow of a client belongs to worker
 * hash(client address, client port) % n; the endpoint's replies carry the
 * SNAT port, and every worker allocates only ports p with p % n == its
 * index, so the owner of a reply is dport % n. A packet received by another
 * worker (a port without RSS, such as net_tap, or an RSS hash that disagrees)
 * is handed to its owner through a single-producer/single-consumer ring.
 *
 * SYN floods: a flow is half-open until the client's ACK establishes it
 * (SYN_SENT, SYN_RECV), counted per worker, per
 * client address and per service (the last two in hashed buckets, so a
 * collision only makes a limit stricter). A SYN past a limit creates no
 * state: it is answered with a SYN cookie (mg_syncookie.h), and the client's
 * ACK that returns a valid cookie opens a SYN-proxied flow: the worker
 * connects to the endpoint with the client's sequence number and, once the
 * endpoint accepted, sends the client's ACK on and shifts the endpoint's
 * sequence numbers (and the client's acknowledgments) by the difference
 * between the two ISNs for the rest of the flow. Cookies engage on a limit
 * ("auto"), always, or never ("off": a SYN past a limit is dropped).
 *
 * Outcomes (connect ok with latency, refused, unreachable, timed out, reset)
 * go to the control lcore as events on a per-worker ring; a full ring drops
 * and counts the event, the worker never waits.
 */

#include <stdint.h>
#include <stdbool.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_jhash.h>
#include <rte_ring.h>
#include <rte_thash.h>

#include "mg_pkt.h"
#include "mg_tcp.h"
#include "mg_syncookie.h"
#include "mg_flow.h"
#include "mg_neigh.h"
#include "mg_lb.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MG_MAX_WORKERS 16
#define MG_BURST 32
#define MG_TX_BUF 64
#define MG_MAX_ETHPORTS 16
#define MG_ADDRSET_SIZE 1024 /* open addressing: ports, SNAT addresses (256) and more, < 1/2 full */
#define MG_RSS_KEY_MAX 52       /**< longest RSS key of a supported NIC (i40e) */

/** Events a worker reports to the control lcore. */
enum mg_event_type {
	MG_EV_CONNECT_OK = 1,   /**< value = SYN -> SYN+ACK latency in us */
	MG_EV_CONNECT_REFUSED,  /**< endpoint answered RST */
	MG_EV_CONNECT_UNREACH,  /**< ICMP unreachable */
	MG_EV_CONNECT_TIMEOUT,  /**< no answer within the connect timeout */
	MG_EV_RESET,            /**< endpoint reset an established flow */
	MG_EV_CLOSED,           /**< a flow to the endpoint ended */
	MG_EV_ARP,              /**< ARP seen: ip, DPDK port, mac */
	MG_EV_CONNECT_START,    /**< a SYN left for the endpoint (pending connect) */
	MG_EV_CONNECT_ABORTED,  /**< a connect ended with no outcome (the client left) */
	MG_EV_PROBE_OK,         /**< a health-check SYN was answered by SYN-ACK */
	MG_EV_PROBE_FAIL,       /**< a health-check SYN was answered by RST */
	MG_EV__MAX
};

struct mg_event {
	uint8_t type;
	uint8_t worker;
	uint16_t port;          /**< endpoint port (network order), or DPDK port for ARP */
	uint32_t ip;            /**< endpoint or ARP sender address */
	union {
		uint32_t value;
		uint8_t mac[RTE_ETHER_ADDR_LEN];
	};
	uint16_t pad;
};

/** Counters of one worker; only that worker writes them. */
struct mg_worker_stats {
	uint64_t loops;
	uint64_t busy_cycles;
	uint64_t rx;
	uint64_t tx;
	uint64_t handoff_out;
	uint64_t handoff_in;
	uint64_t flows_new;
	uint64_t flows_closed;
	uint64_t connect_ok;
	uint64_t connect_refused;
	uint64_t connect_unreach;
	uint64_t connect_timeout;
	uint64_t connect_retry;
	uint64_t connect_failed;   /**< every attempt failed: client got RST */
	uint64_t resets;           /**< established flows reset by an endpoint */
	uint64_t arp_replies;
	uint64_t icmp_echo;
	uint64_t events_dropped;
	uint64_t probe_replies;    /**< health-check SYNs answered (SYN-ACK, RST or ICMP) */
	uint64_t half_open;        /**< gauge: half-open flows now (client's handshake not done) */
	uint64_t half_open_limit_worker; /**< SYNs past the worker's half-open limit */
	uint64_t half_open_limit_source; /**< SYNs past their source's half-open limit */
	uint64_t half_open_limit_service; /**< SYNs past their service's half-open limit */
	uint64_t syncookies_sent;  /**< SYNs answered with a cookie */
	uint64_t syncookies_ok;    /**< ACKs with a valid cookie: SYN-proxied flows opened */
	uint64_t rst_probes;       /**< a RST's receiver probed: is the connection still there? */
	uint64_t drop[MG_DROP__MAX];
} __rte_cache_aligned;

/** When SYNs are answered with cookies. */
enum mg_syncookie_mode {
	MG_SYNCOOKIES_AUTO = 0, /**< past a half-open limit (the default) */
	MG_SYNCOOKIES_ALWAYS,   /**< every SYN: a SYN proxy in front of every endpoint */
	MG_SYNCOOKIES_OFF,      /**< never: a SYN past a limit is dropped */
};

/** Knobs the control lcore may change at run time (read per use). */
struct mg_proxy_params {
	uint32_t connect_timeout_ms;
	uint32_t max_attempts;
	struct mg_tcp_timeouts timeouts;
	uint32_t max_half_open;     /**< per worker; 0 = no limit */
	uint32_t max_half_open_src; /**< per client address and worker; 0 = no limit */
	uint32_t max_half_open_svc; /**< per service and worker; 0 = no limit */
	uint8_t syn_cookies;        /**< enum mg_syncookie_mode */
};

/** The MSS meshgate offers in its cookie SYN+ACKs (Ethernet, 1500-byte MTU). */
#define MG_SYNPROXY_MSS 1460
/** How long a worker accepts cookie ACKs after it last sent a cookie. */
#define MG_SYNCOOKIE_ACCEPT_MS (2u << MG_SYNCOOKIE_SLOT_SHIFT)
#define MG_HALF_OPEN_SRC_BITS 12
#define MG_HALF_OPEN_SVC_BITS 10

/** One gateway address port. */
struct mg_proxy_port {
	struct rte_ether_addr mac;
	uint32_t ip;              /**< network order; 0 = none */
	uint8_t prefix_len;
	bool enabled;
	/* Predictable RSS (see mg_snat_pick): set when the port hashes TCP/IPv4
	 * with our key and our redirection table, so that every packet
	 * arrives at the queue of the worker that owns its flow. */
	bool rss;
	uint32_t reta_mask;       /**< redirection table entries - 1 */
	uint32_t rss_key_be[MG_RSS_KEY_MAX / 4]; /**< the port's key, for rte_softrss_be */
	struct rte_thash_subtuple_helper *rss_helper; /**< the SNAT port's bits */
};

/** The SNAT port pool of one source address on one worker: a FIFO. */
struct mg_snat_pool {
	uint16_t *ports;          /**< network order */
	uint32_t cap;
	uint32_t head;
	uint32_t count;
};

/** State shared by all workers, written by the control lcore. */
struct mg_proxy_shared {
	struct mg_proxy_port ports[MG_MAX_ETHPORTS];
	uint32_t snat_ips[MG_MAX_SNAT];      /**< network order */
	uint16_t n_snat;
	uint16_t snat_port_min, snat_port_max;
	uint32_t local[MG_ADDRSET_SIZE];     /**< open-addressed set of our addresses */
	struct mg_lb_table *lb;              /**< RCU-published current generation */
	struct mg_neigh_table *neigh;
	struct mg_proxy_params params;
	uint16_t n_workers;
	uint16_t probe_port;                 /**< health-check source port, network order; 0 = off */
	uint32_t probe_secret;               /**< keys the health-check SYNs' sequence numbers */
	struct mg_syncookie_key cookie_key;  /**< keys the SYN cookies */
	struct rte_ring *handoff[MG_MAX_WORKERS][MG_MAX_WORKERS]; /**< [from][to] */
	struct rte_ring *events[MG_MAX_WORKERS];
};

struct mg_tx_buf {
	uint16_t n;
	struct rte_mbuf *pkts[MG_TX_BUF];
};

/** A worker: everything its packet path writes. */
struct mg_worker {
	uint16_t id;              /**< worker index, also its RX/TX queue */
	uint16_t lcore;
	struct mg_proxy_shared *sh;
	const struct mg_lb_table *lb;   /**< generation in use for this loop */
	struct mg_flow_table *ft;
	struct rte_mempool *mp;
	struct mg_snat_pool pools[MG_MAX_SNAT];
	uint64_t rng;
	uint32_t now_ms;
	uint64_t now_tsc;
	uint64_t tsc_per_ms;
	uint64_t tsc_per_us;
	struct mg_tx_buf tx[MG_MAX_ETHPORTS];
	uint32_t tx_pending;      /**< bit p: tx[p] holds packets */
	struct mg_worker_stats st;
	uint32_t cookie_sent_ms;  /**< when this worker last answered a SYN with a cookie */
	bool cookies_sent;        /**< ... and whether it ever did */
	/* Half-open flows by hashed client address and by hashed service. */
	uint32_t half_open_src[1u << MG_HALF_OPEN_SRC_BITS];
	uint32_t half_open_svc[1u << MG_HALF_OPEN_SVC_BITS];
} __rte_cache_aligned;

/**
 * The initial sequence number of the health-check SYN to @p ep_ip:@p ep_port
 * (network order). Keyed by a secret, so that only a genuine answer to our
 * probe (ACK = ISN + 1) counts as its result.
 */
static inline uint32_t
mg_probe_isn(const struct mg_proxy_shared *sh, uint32_t ep_ip, uint16_t ep_port)
{
	return rte_jhash_3words(ep_ip, ep_port, sh->probe_port, sh->probe_secret);
}

/* ---- set-up (control side) ------------------------------------------------ */

/**
 * Predictable RSS for a port: a Toeplitz key (rte_thash) under which the
 * low bits of the SNAT port steer the endpoint's replies to any redirection
 * table entry. Fills @p pp's key and helper and @p nic_key (@p key_len
 * bytes) for the NIC; the caller programs the key and a table whose entry i
 * is queue i % workers, then sets pp->rss. 0 or -errno (-ENOTSUP: the port's
 * key or table cannot do it).
 */
int mg_proxy_rss_init(struct mg_proxy_port *pp, uint16_t port_id, uint32_t key_len,
		      uint32_t reta_size, uint8_t *nic_key);

/**
 * @p port (host order) with the low bits flipped that make the hash of
 * the reply tuple (ep_ip, snat_ip, ep_port, port) end in @p desired.
 */
uint16_t mg_rss_adjust(const struct mg_proxy_port *pp, uint32_t ep_ip, uint32_t snat_ip,
		       uint16_t ep_port, uint16_t port, uint32_t desired);

/** Add an address to the local set; -ENOSPC when full. */
int mg_proxy_local_add(struct mg_proxy_shared *sh, uint32_t ip);

/** Is @p ip one of the gateway's own addresses (ports, SNAT)? */
static inline bool
mg_proxy_is_local(const struct mg_proxy_shared *sh, uint32_t ip)
{
	uint32_t h = (ip * 2654435761u) >> 24;

	for (uint32_t i = 0; i < MG_ADDRSET_SIZE; i++) {
		uint32_t v = sh->local[(h + i) & (MG_ADDRSET_SIZE - 1)];

		if (v == ip)
			return ip != 0;
		if (v == 0)
			return false;
	}
	return false;
}

/**
 * Prepare worker @p id: flow table of @p flows entries, SNAT pools for the
 * shared SNAT addresses, mbuf pool @p mp for copies. 0 or -errno.
 */
int mg_worker_init(struct mg_worker *w, struct mg_proxy_shared *sh, uint16_t id,
		   uint16_t lcore, uint32_t flows, struct rte_mempool *mp, int socket_id);
void mg_worker_fini(struct mg_worker *w);

/* ---- packet path ------------------------------------------------------------ */

/** Process a burst received on a port (@p handed_off: from another worker's ring). */
void mg_proxy_input(struct mg_worker *w, struct rte_mbuf **pkts, uint16_t n, bool handed_off);

/** Send everything buffered; drops (and counts) what the TX queues refuse. */
void mg_proxy_flush(struct mg_worker *w);

/** Expire flows whose timers passed (connect timeouts included). */
void mg_proxy_expire(struct mg_worker *w, uint32_t budget);

/** Free all flows of a stopped worker. */
void mg_proxy_drain(struct mg_worker *w);

#ifdef __cplusplus
}
#endif
#endif /* MG_PROXY_H */
