/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_FLOW_H
#define MG_FLOW_H

/**
 * @file
 * A worker's own flow table.
 *
 * Every proxied TCP connection is one struct mg_flow, owned by exactly one
 * worker lcore, reachable from both directions: the client's key
 * (client -> VIP) and the endpoint's key (endpoint -> full-NAT source). Both
 * keys index one cuckoo hash (mg_flow_hash.c) whose buckets hold a 32-bit
 * signature and the flow's index with the direction in bit 0, and no key:
 * the key is checked against the flow's own fields, which hold both tuples
 * in packet order. So a key may be bound to a flow only while the flow's
 * fields spell it (set the fields, then bind; unbind, then change them).
 * No other core touches the table: no locks, no atomics, and a lookup is
 * done in bulk for a whole RX burst.
 *
 * Flows live in a preallocated array on the worker's NUMA socket: the part a
 * packet touches in one 64-byte cache line (struct mg_flow), the part only
 * connection set-up touches in a parallel array (struct mg_flow_cold). A
 * free-index stack makes allocation O(1) with no heap.
 *
 * Timeouts: each TCP state has one idle timeout, so a flow sits on the FIFO
 * list of its state and a packet only moves its deadline forward
 * (mg_flow_touch) and marks it touched, without touching the list. Within a
 * list, entries joined in time order with the same timeout, so an untouched
 * head that has not expired means nothing behind it has expired either.
 * mg_flow_expire() therefore looks at list heads only: an expired head is
 * handed to the caller, a touched head is unmarked and rotated to the tail,
 * an untouched live head ends the walk. Expiry is exact for flows that never
 * see a packet, such as a SYN waiting for its endpoint (the connect timeout),
 * and at most one timeout late for refreshed ones.
 */

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <rte_common.h>
#include <rte_ether.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MG_FLOW_MAX_ATTEMPTS 8  /**< connect attempts remembered per flow */
#define MG_FLOW_NONE UINT32_MAX /**< no flow / end of list */
#define MG_FLOW_TCLASS_MAX 8    /**< timeout classes (one per TCP state) */
#define MG_FLOW_LOOKUP_BULK_MAX 64 /**< keys per mg_flow_lookup_bulk() call */
#define MG_FLOW_BUCKET_SLOTS 8
#define MG_FLOW_KEY_SIDE_BYTES 12 /**< one direction's 4-tuple in struct mg_flow */

/** Hash key: the 4-tuple as it appears in a received packet. 16 bytes. */
struct mg_flow_key {
	uint32_t src_ip;   /**< network order */
	uint32_t dst_ip;
	uint16_t src_port;
	uint16_t dst_port;
	uint32_t proto;    /**< IPPROTO_TCP; padding kept zero */
};

/** Per-packet state of a flow: one cache line. Addresses/ports in network order. */
struct mg_flow {
	/* client side: client_ip:client_port <-> vip:vport */
	uint32_t client_ip;
	uint32_t vip;
	uint16_t client_port;
	uint16_t vport;
	/* endpoint side, as the endpoint's packets carry it: ep_ip:ep_port -> snat_ip:snat_port */
	uint32_t ep_ip;
	uint32_t snat_ip;
	uint16_t ep_port;
	uint16_t snat_port;
	struct rte_ether_addr client_mac; /**< next hop toward the client */
	struct rte_ether_addr ep_mac;     /**< next hop toward the endpoint */
	uint8_t state;       /**< enum mg_tcp_state */
	uint8_t fin_dir;     /**< FIN bookkeeping of mg_tcp_next() */
	uint8_t attempts;    /**< connect attempts made */
	uint8_t tclass;      /**< timeout list the flow is on */
	uint8_t client_port_id; /**< DPDK port toward the client */
	uint8_t ep_port_id;     /**< DPDK port toward the endpoint */
	uint16_t csum_ip;       /**< client -> endpoint rewrite: IPv4 checksum delta (mg_pkt_nat_delta) */
	uint32_t expire_ms;  /**< worker clock deadline */
	uint32_t tnext;      /**< timeout list links */
	uint32_t tprev;
	uint32_t seq_delta;  /**< SYN-proxied flows: endpoint ISN - our cookie ISN */
	uint8_t flags;       /**< MG_FLOW_F_* */
	uint8_t rst_from;    /**< the state a RST ended (0: none) | MG_FLOW_RST_*, see mg_proxy_tcp.c */
	uint16_t csum_tcp;   /**< client -> endpoint rewrite: TCP checksum delta; replies use ~delta */
} __rte_cache_aligned;

/* Each side's tuple sits where mg_flow_hash.c compares it with a key. */
static_assert(offsetof(struct mg_flow, client_ip) == 0 && offsetof(struct mg_flow, vip) == 4 &&
	      offsetof(struct mg_flow, client_port) == 8 && offsetof(struct mg_flow, vport) == 10,
	      "client tuple in packet order at offset 0");
static_assert(offsetof(struct mg_flow, ep_ip) == MG_FLOW_KEY_SIDE_BYTES &&
	      offsetof(struct mg_flow, snat_ip) == 16 && offsetof(struct mg_flow, ep_port) == 20 &&
	      offsetof(struct mg_flow, snat_port) == 22, "endpoint tuple in packet order at 12");
static_assert(sizeof(struct mg_flow) == RTE_CACHE_LINE_SIZE, "one cache line per flow");

#define MG_FLOW_F_SYN_SENT 0x01 /**< a SYN went to some endpoint */
#define MG_FLOW_F_TOUCHED 0x02  /**< deadline moved since it joined its timeout list */
#define MG_FLOW_F_CLOSED 0x04   /**< its end was reported (MG_EV_CLOSED) */
#define MG_FLOW_F_SYNPROXY 0x08 /**< opened by a SYN cookie: sequence numbers shifted */
#define MG_FLOW_F_HALFOPEN 0x10 /**< counted in the worker's half-open limits */

#define MG_FLOW_RST_STATE 0x0f   /**< rst_from: the state the RST ended */
#define MG_FLOW_RST_FROM_EP 0x40 /**< rst_from: the endpoint sent it (the client received it) */
#define MG_FLOW_RST_PROBED 0x80  /**< rst_from: its receiver was probed at the close timeout */

/** Set-up state of a flow, touched only while connecting. */
struct mg_flow_cold {
	struct rte_mbuf *syn;    /**< the client's SYN, kept until the endpoint answers */
	struct rte_mbuf *held;   /**< SYN-proxied: the client's ACK (or first data), sent on */
	uint64_t syn_tsc;        /**< when the current attempt's SYN left */
	uint32_t rst_seq;        /**< the last RST's sequence number, as its receiver saw it */
	uint32_t tried[MG_FLOW_MAX_ATTEMPTS]; /**< endpoint ids already tried */
	uint16_t snat_idx;       /**< which full-NAT source address (pool) the SNAT port is from */
};

struct mg_flow_tlist {
	uint32_t head;
	uint32_t tail;
	uint32_t count;
};

/** A bucket of the flow index: 8 (signature, flow reference) slots, 0 = free. */
struct mg_flow_bucket {
	uint32_t sig[MG_FLOW_BUCKET_SLOTS];
	uint32_t ref[MG_FLOW_BUCKET_SLOTS];
} __rte_cache_aligned;

struct mg_flow_table {
	struct mg_flow_bucket *buckets;
	uint32_t n_buckets;
	uint32_t n_keys;        /**< keys bound */
	uint64_t key_moves;     /**< keys moved to their other bucket to make room */
	struct mg_flow *flows;
	struct mg_flow_cold *cold;
	uint32_t *free_stack;
	uint32_t n_free;
	uint32_t size;
	struct mg_flow_tlist lists[MG_FLOW_TCLASS_MAX];
	uint32_t key_changes;   /**< keys bound or unbound so far: a bulk lookup is stale once it moves */
};

/** Lookup result: flow index << 1 | direction (0 = client side, 1 = endpoint side). */
#define MG_FLOW_REF(idx, dir) (((uint32_t)(idx) << 1) | (dir))
#define MG_FLOW_REF_IDX(ref) ((ref) >> 1)
#define MG_FLOW_REF_DIR(ref) ((ref) & 1)

/**
 * Create a table for @p size flows (up to 2 x size keys) on @p socket_id.
 * @return NULL on failure (rte_errno set).
 */
struct mg_flow_table *mg_flow_table_create(const char *name, uint32_t size, int socket_id);

/** Free a table; stored SYN mbufs are freed. NULL is fine. */
void mg_flow_table_free(struct mg_flow_table *ft);

/** Flows in use. */
static inline uint32_t
mg_flow_count(const struct mg_flow_table *ft)
{
	return ft->size - ft->n_free;
}

static inline struct mg_flow *
mg_flow_get(struct mg_flow_table *ft, uint32_t idx)
{
	return &ft->flows[idx];
}

static inline struct mg_flow_cold *
mg_flow_cold_get(struct mg_flow_table *ft, uint32_t idx)
{
	return &ft->cold[idx];
}

static inline void
mg_flow_key_set(struct mg_flow_key *k, uint32_t src_ip, uint32_t dst_ip,
		uint16_t src_port, uint16_t dst_port)
{
	k->src_ip = src_ip;
	k->dst_ip = dst_ip;
	k->src_port = src_port;
	k->dst_port = dst_port;
	k->proto = 6;
}

/**
 * Look up @p n keys at once. @p refs[i] receives MG_FLOW_REF or
 * MG_FLOW_NONE. @p n <= MG_FLOW_LOOKUP_BULK_MAX.
 */
void mg_flow_lookup_bulk(struct mg_flow_table *ft, const struct mg_flow_key **keys,
			 uint32_t n, uint32_t *refs);

/** Look up one key: MG_FLOW_REF or MG_FLOW_NONE. */
uint32_t mg_flow_lookup(struct mg_flow_table *ft, const struct mg_flow_key *k);

/**
 * @p ref, a result for @p k from before keys were bound or unbound since
 * (ft->key_changes moved): kept if its flow is live and still spells @p k
 * (every live flow's keys are bound to it, so the index would say the
 * same), else the key is looked up again. One compare on the flow line
 * the caller needs next, where a lookup reads a bucket.
 */
uint32_t mg_flow_lookup_recheck(struct mg_flow_table *ft, const struct mg_flow_key *k,
				uint32_t ref);

/**
 * Take a free flow, zeroed, not yet on any list or key.
 * @return its index, or MG_FLOW_NONE when the table is full.
 */
uint32_t mg_flow_alloc(struct mg_flow_table *ft);

/**
 * Bind @p k to flow @p idx in direction @p dir (a bound key moves to it).
 * The flow's fields of that direction must already equal @p k.
 * @return 0, -ENOSPC (no room: the connection is refused), -EINVAL (the
 * fields do not match).
 */
int mg_flow_bind(struct mg_flow_table *ft, const struct mg_flow_key *k, uint32_t idx, int dir);

/** Occupied slots of the index, counted bucket by bucket (for audits: equals n_keys). */
uint32_t mg_flow_index_slots_used(const struct mg_flow_table *ft);

/** Start loading the index buckets that flow @p idx's keys live in (first choice). */
void mg_flow_prefetch_keys(const struct mg_flow_table *ft, uint32_t idx);

/** Remove a key binding (no effect when absent); the flow's fields must still spell it. */
void mg_flow_unbind(struct mg_flow_table *ft, const struct mg_flow_key *k);

/** The client-side key of a flow (as the client's packets carry it). */
static inline void
mg_flow_client_key(const struct mg_flow *f, struct mg_flow_key *k)
{
	mg_flow_key_set(k, f->client_ip, f->vip, f->client_port, f->vport);
}

/** The endpoint-side key of a flow (as the endpoint's packets carry it). */
static inline void
mg_flow_ep_key(const struct mg_flow *f, struct mg_flow_key *k)
{
	mg_flow_key_set(k, f->ep_ip, f->snat_ip, f->ep_port, f->snat_port);
}

/**
 * Release a flow: unbind both of its keys (the endpoint key only when
 * ep_ip != 0), take it off its timeout list, free stored segments, and return
 * the index to the free stack.
 */
void mg_flow_release(struct mg_flow_table *ft, uint32_t idx);

/** Put flow @p idx on timeout list @p tclass with deadline @p expire_ms. */
void mg_flow_timer_set(struct mg_flow_table *ft, uint32_t idx, uint8_t tclass,
		       uint32_t expire_ms);

/** Move a flow's deadline forward without touching the list. */
static inline void
mg_flow_touch(struct mg_flow *f, uint32_t expire_ms)
{
	f->expire_ms = expire_ms;
	f->flags |= MG_FLOW_F_TOUCHED;
}

/** Called by mg_flow_expire() for each expired flow; must release or re-arm it. */
typedef void (*mg_flow_expire_cb)(void *ctx, uint32_t idx);

/**
 * Hand at most @p budget expired flows to @p cb, rotating at most one
 * refreshed head per list. @return the number of flows handed over.
 */
uint32_t mg_flow_expire(struct mg_flow_table *ft, uint32_t now_ms, uint32_t budget,
			mg_flow_expire_cb cb, void *ctx);

/** Bytes of memory per flow (line, cold part, free-stack entry, index share), for sizing. */
size_t mg_flow_bytes_per_flow(void);

#ifdef __cplusplus
}
#endif
#endif /* MG_FLOW_H */
