/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Neighbour table and routes; see mg_neigh.h. The only subtle part is the
 * MAC word: the control lcore publishes a whole 64-bit value (MAC + valid
 * bit) with one atomic store, so a worker reading concurrently sees either
 * the old or the new address, never a mix.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "mg_neigh.h"

struct mg_neigh_table *
mg_neigh_create(const char *name, uint32_t max, uint32_t timeout_ms, int socket_id)
{
	struct mg_neigh_table *t;
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = max < 8 ? 8 : max,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
	};

	if (max == 0 || max >= MG_NEIGH_NONE)
		return NULL;
	t = rte_zmalloc_socket(name, sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL)
		return NULL;
	t->max = max;
	t->timeout_ms = timeout_ms;
	t->mac = rte_zmalloc_socket(name, sizeof(*t->mac) * max, RTE_CACHE_LINE_SIZE, socket_id);
	t->info = rte_zmalloc_socket(name, sizeof(*t->info) * max, RTE_CACHE_LINE_SIZE, socket_id);
	t->by_ip = rte_hash_create(&hp);
	if (t->mac == NULL || t->info == NULL || t->by_ip == NULL) {
		mg_neigh_free(t);
		return NULL;
	}
	return t;
}

void
mg_neigh_free(struct mg_neigh_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->by_ip);
	rte_free(t->info);
	rte_free(t->mac);
	rte_free(t);
}

int
mg_neigh_find(const struct mg_neigh_table *t, uint32_t ip)
{
	void *data;

	if (rte_hash_lookup_data(t->by_ip, &ip, &data) < 0)
		return -ENOENT;
	return (int)(uintptr_t)data;
}

int
mg_neigh_get_or_add(struct mg_neigh_table *t, uint32_t ip, uint16_t port_id)
{
	int idx = mg_neigh_find(t, ip);

	if (idx >= 0) {
		t->info[idx].port_id = port_id;
		return idx;
	}
	if (t->n >= t->max) {
		t->learn_full++;
		return -ENOSPC;
	}
	idx = (int)t->n;
	if (rte_hash_add_key_data(t->by_ip, &ip, (void *)(uintptr_t)idx) < 0) {
		t->learn_full++;
		return -ENOSPC;
	}
	memset(&t->info[idx], 0, sizeof(t->info[idx]));
	t->info[idx].ip = ip;
	t->info[idx].port_id = port_id;
	__atomic_store_n(&t->mac[idx], 0, __ATOMIC_RELAXED);
	/* Publish the count last: a worker never indexes past a ready entry. */
	__atomic_store_n(&t->n, t->n + 1, __ATOMIC_RELEASE);
	return idx;
}

int
mg_neigh_learn(struct mg_neigh_table *t, uint32_t ip, uint16_t port_id,
	       const struct rte_ether_addr *mac, uint64_t now_ms, bool create)
{
	int idx = create ? mg_neigh_get_or_add(t, ip, port_id) : mg_neigh_find(t, ip);
	uint64_t v = 0;

	if (idx < 0)
		return idx;
	if (t->info[idx].port_id != port_id) {
		t->learn_wrong_port++;
		return -EXDEV;
	}
	memcpy(&v, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	v |= MG_NEIGH_VALID;
	__atomic_store_n(&t->mac[idx], v, __ATOMIC_RELEASE);
	t->info[idx].port_id = port_id;
	t->info[idx].confirmed_ms = now_ms;
	t->info[idx].requests = 0;
	t->info[idx].answers++;
	return idx;
}

uint32_t
mg_neigh_age(struct mg_neigh_table *t, uint64_t now_ms, uint64_t retry_ms,
	     mg_neigh_ask_cb ask, void *ctx)
{
	uint32_t asked = 0;

	for (uint32_t i = 0; i < t->n; i++) {
		struct mg_neigh_info *in = &t->info[i];
		bool valid = __atomic_load_n(&t->mac[i], __ATOMIC_RELAXED) & MG_NEIGH_VALID;
		uint64_t age = now_ms - in->confirmed_ms;

		if (valid && age > t->timeout_ms) {
			__atomic_store_n(&t->mac[i], 0, __ATOMIC_RELEASE);
			valid = false;
		}
		if ((!valid || age > t->timeout_ms / 2) &&
		    (in->asked_ms == 0 || now_ms - in->asked_ms >= retry_ms)) {
			in->asked_ms = now_ms;
			in->requests++;
			ask(ctx, in->ip, in->port_id);
			asked++;
		}
	}
	return asked;
}

static inline uint32_t
prefix_mask(uint8_t len)
{
	return len == 0 ? 0 : rte_cpu_to_be_32(~UINT32_C(0) << (32 - len));
}

int
mg_route_add(struct mg_route_table *rt, uint32_t dst, uint8_t prefix_len,
	     uint32_t gateway, uint16_t port_id, bool connected)
{
	struct mg_route *r;

	if (rt->n >= MG_ROUTE_MAX || prefix_len > 32)
		return -ENOSPC;
	r = &rt->r[rt->n++];
	r->mask = prefix_mask(prefix_len);
	r->dst = dst & r->mask;
	r->prefix_len = prefix_len;
	r->gateway = gateway;
	r->port_id = port_id;
	r->connected = connected;
	return 0;
}

int
mg_route_lookup(const struct mg_route_table *rt, uint32_t ip, uint32_t *next_hop,
		uint16_t *port_id)
{
	const struct mg_route *best = NULL;

	for (uint32_t i = 0; i < rt->n; i++) {
		const struct mg_route *r = &rt->r[i];

		if ((ip & r->mask) == r->dst && (best == NULL || r->prefix_len > best->prefix_len))
			best = r;
	}
	if (best == NULL)
		return -ENOENT;
	*next_hop = best->gateway ? best->gateway : ip;
	*port_id = best->port_id;
	return 0;
}
