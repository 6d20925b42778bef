/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_NEIGH_H
#define MG_NEIGH_H

/**
 * @file
 * Neighbours (ARP) and static routes.
 *
 * Only the control lcore writes; workers read. A worker never resolves an
 * address on the packet path: the next hop of every endpoint is found when
 * the locality table is built (route lookup on the control lcore) and stored
 * in it as an index into this table. The worker then reads one 64-bit word,
 * the MAC address with a valid bit, written atomically by the control lcore,
 * so no lock and no hash lookup is needed per packet, and the entry's index
 * never changes for the life of the process (entries are invalidated, never
 * removed).
 *
 * Replies to clients need no neighbour entry at all: a flow remembers the
 * source MAC of the client's SYN (the client or its router) and answers to it.
 *
 * Aging: an entry is confirmed by any ARP from its address. The control lcore
 * asks again (ARP request) when an entry is unresolved or at half its
 * lifetime, and invalidates it when the lifetime passes without an answer;
 * until then the old MAC is kept in use (like the kernel's STALE state).
 */

#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <rte_ether.h>

struct rte_hash;

#ifdef __cplusplus
extern "C" {
#endif

#define MG_NEIGH_VALID (UINT64_C(1) << 63)
#define MG_NEIGH_NONE UINT16_MAX

struct mg_neigh_info {     /* control-lcore bookkeeping of one entry */
	uint32_t ip;       /**< network order */
	uint16_t port_id;
	uint16_t pad;
	uint64_t confirmed_ms; /**< last ARP from it; 0 = never */
	uint64_t asked_ms;     /**< last ARP request sent */
	uint32_t requests;     /**< requests sent since the last answer */
	uint32_t answers;      /**< ARP packets learnt from it */
};

struct mg_neigh_table {
	uint64_t *mac;             /**< per entry: MAC bytes in bits 0..47, MG_NEIGH_VALID */
	struct mg_neigh_info *info;
	struct rte_hash *by_ip;    /**< control only: ip -> index */
	uint32_t n;
	uint32_t max;
	uint32_t timeout_ms;
	uint64_t learn_full;       /**< learn/adds refused because the table was full */
	uint64_t learn_wrong_port; /**< ARP refused: it came in on another port than the entry's */
};

/** Create a table of @p max entries; NULL on failure. */
struct mg_neigh_table *mg_neigh_create(const char *name, uint32_t max, uint32_t timeout_ms,
				       int socket_id);
void mg_neigh_free(struct mg_neigh_table *t);

/** Control: the entry of @p ip, added if new. Index, or -ENOSPC. */
int mg_neigh_get_or_add(struct mg_neigh_table *t, uint32_t ip, uint16_t port_id);

/** Control: index of @p ip, or -ENOENT. */
int mg_neigh_find(const struct mg_neigh_table *t, uint32_t ip);

/**
 * Control: an ARP packet from @p ip with @p mac arrived on @p port_id.
 * Updates a known entry; adds one only when @p create. A known entry is
 * reached through one port (its route's): an ARP for it from another port is
 * refused (-EXDEV, counted in learn_wrong_port), or a host on any LAN could
 * claim an endpoint's address on another one and blackhole its connects.
 * Returns the index or a negative errno.
 */
int mg_neigh_learn(struct mg_neigh_table *t, uint32_t ip, uint16_t port_id,
		   const struct rte_ether_addr *mac, uint64_t now_ms, bool create);

/** Callback asking for an ARP request for @p ip on @p port_id. */
typedef void (*mg_neigh_ask_cb)(void *ctx, uint32_t ip, uint16_t port_id);

/**
 * Control: age the table at @p now_ms: ask (at most once per @p retry_ms per
 * entry) for unresolved entries and for entries past half their lifetime;
 * invalidate entries past their lifetime. Returns the number of requests asked.
 */
uint32_t mg_neigh_age(struct mg_neigh_table *t, uint64_t now_ms, uint64_t retry_ms,
		      mg_neigh_ask_cb ask, void *ctx);

/** Worker: the MAC of entry @p idx; false when unresolved. */
static inline bool
mg_neigh_mac(const struct mg_neigh_table *t, uint16_t idx, struct rte_ether_addr *out)
{
	uint64_t v;

	if (idx >= t->n)
		return false;
	v = __atomic_load_n(&t->mac[idx], __ATOMIC_RELAXED);
	if (!(v & MG_NEIGH_VALID))
		return false;
	memcpy(out->addr_bytes, &v, RTE_ETHER_ADDR_LEN);
	return true;
}

/* ---- routes -------------------------------------------------------------- */

#define MG_ROUTE_MAX 80

struct mg_route {
	uint32_t dst;       /**< network order, masked */
	uint32_t mask;      /**< network order */
	uint8_t prefix_len;
	uint32_t gateway;   /**< 0 = on-link */
	uint16_t port_id;
	bool connected;     /**< from a port's own address */
};

struct mg_route_table {
	struct mg_route r[MG_ROUTE_MAX];
	uint32_t n;
};

/** Add a route; -ENOSPC when full. */
int mg_route_add(struct mg_route_table *rt, uint32_t dst, uint8_t prefix_len,
		 uint32_t gateway, uint16_t port_id, bool connected);

/**
 * Longest-prefix match for @p ip: the next hop (the gateway, or @p ip itself
 * on-link) and the port. Returns 0 or -ENOENT. Used on the control lcore only
 * (when tables are built), so a linear scan of a few routes is fine.
 */
int mg_route_lookup(const struct mg_route_table *rt, uint32_t ip, uint32_t *next_hop,
		    uint16_t *port_id);

#ifdef __cplusplus
}
#endif
#endif /* MG_NEIGH_H */
