/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading locality tables (see mg_lb.h; building them is mg_lb_build.c).
 *
 * Pick: multiply the random value by the tier's total weight (a 64-bit
 * multiply-shift, no division) and binary-search the cumulative array.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "mg_lb.h"

static inline uint64_t
vip_key(uint32_t vip, uint16_t port)
{
	return ((uint64_t)vip << 16) | port;
}


/* Closest first; by address inside a rank, so the table is deterministic. */
static int
ep_cmp_rank(const void *a, const void *b)
{
	const struct mg_lb_ep *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

void
mg_lb_fill_tiers(struct mg_lb_svc *svc, struct mg_lb_ep *eps)
{
	uint32_t i = 0;

	/* Strict tiers: one per distinct rank, closest first. */
	qsort(eps, svc->ep_count, sizeof(*eps), ep_cmp_rank);
	svc->n_tiers = 0;
	while (i < svc->ep_count && svc->n_tiers < MG_LB_MAX_TIERS) {
		int8_t rank = eps[i].rank;
		uint32_t first = i, cum = 0;

		for (; i < svc->ep_count && eps[i].rank == rank; i++) {
			cum += eps[i].weight;
			eps[i].cum = cum;
			eps[i].tier = svc->n_tiers;
		}
		svc->tier_first[svc->n_tiers] = first;
		svc->tier_count[svc->n_tiers] = i - first;
		svc->n_tiers++;
	}
}

void
mg_lb_free(struct mg_lb_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->vips);
	mg_lb_mfree(t->eps);
	mg_lb_mfree(t->svcs);
	if (t->owns_conf)
		mg_conf_free(t->conf);
	mg_lb_mfree(t);
}

const struct mg_lb_svc *
mg_lb_lookup(const struct mg_lb_table *t, uint32_t vip, uint16_t port)
{
	uint64_t key = vip_key(vip, port);
	void *data;

	if (rte_hash_lookup_data(t->vips, &key, &data) < 0)
		return NULL;
	return &t->svcs[(uintptr_t)data];
}

static inline bool
was_tried(uint32_t id, const uint32_t *tried, uint32_t n_tried)
{
	for (uint32_t i = 0; i < n_tried; i++)
		if (tried[i] == id)
			return true;
	return false;
}

static inline uint32_t
tier_search(const struct mg_lb_ep *tier, uint32_t n, uint32_t total, uint32_t rnd)
{
	uint32_t target = (uint32_t)(((uint64_t)rnd * total) >> 32);
	uint32_t lo = 0, hi = n - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (tier[mid].cum > target)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

const struct mg_lb_ep *
mg_lb_pick(const struct mg_lb_table *t, const struct mg_lb_svc *s, uint32_t rnd,
	   const uint32_t *tried, uint32_t n_tried)
{
	const struct mg_lb_ep *eps = &t->eps[s->ep_first];

	for (uint32_t ti = 0; ti < s->n_tiers; ti++) {
		const struct mg_lb_ep *tier = &eps[s->tier_first[ti]];
		uint32_t n = s->tier_count[ti];
		uint32_t total = tier[n - 1].cum;

		if (total == 0)
			continue;
		/* One binary search over cumulative weights; on a retry, draw again
		 * while the draw lands on an endpoint already tried (few draws when
		 * the tier is large, and a small tier makes the pass below cheap). */
		for (uint32_t draw = 0; draw < 4; draw++) {
			const struct mg_lb_ep *ep = &tier[tier_search(tier, n, total, rnd)];

			if (!was_tried(ep->id, tried, n_tried))
				return ep;
			rnd = rnd * 2654435761u + 0x9e3779b9u;
		}
		/* The tried endpoints hold most of this tier: weigh the others. */
		uint32_t left = 0;

		for (uint32_t i = 0; i < n; i++)
			if (!was_tried(tier[i].id, tried, n_tried))
				left += tier[i].weight;
		if (left == 0)
			continue;
		uint32_t target = (uint32_t)(((uint64_t)rnd * left) >> 32);

		for (uint32_t i = 0; i < n; i++) {
			if (was_tried(tier[i].id, tried, n_tried))
				continue;
			if (target < tier[i].weight)
				return &tier[i];
			target -= tier[i].weight;
		}
	}
	return NULL;
}
