/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker flow table: see mg_flow.h for the design. This file keeps the
 * flow arrays with their free stack and the per-state FIFO timeout lists,
 * and releases a flow's keys from the index (mg_flow_hash.c).
 *
 * Signed comparisons of the 32-bit millisecond clock make deadlines safe
 * across its wrap (every 49 days).
 */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "mg_flow.h"

static inline int
mg_ms_before_eq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

struct mg_flow_table *
mg_flow_table_create(const char *name, uint32_t size, int socket_id)
{
	struct mg_flow_table *ft;
	if (size == 0 || size > (UINT32_MAX >> 2)) {
		rte_errno = EINVAL;
		return NULL;
	}
	ft = rte_zmalloc_socket(name, sizeof(*ft), RTE_CACHE_LINE_SIZE, socket_id);
	if (ft == NULL)
		return NULL;
	ft->size = size;
	ft->flows = rte_zmalloc_socket(name, sizeof(*ft->flows) * size,
				       RTE_CACHE_LINE_SIZE, socket_id);
	ft->cold = rte_zmalloc_socket(name, sizeof(*ft->cold) * size,
				      RTE_CACHE_LINE_SIZE, socket_id);
	ft->free_stack = rte_malloc_socket(name, sizeof(uint32_t) * size, 0, socket_id);
	/* 3/8 bucket per flow: two keys per flow fill at most 2/3 of the slots. */
	ft->n_buckets = RTE_MAX((uint32_t)(((uint64_t)size * 3 + 7) / 8), 2u);
	ft->buckets = rte_zmalloc_socket(name, sizeof(*ft->buckets) * ft->n_buckets,
					 RTE_CACHE_LINE_SIZE, socket_id);
	if (ft->flows == NULL || ft->cold == NULL || ft->free_stack == NULL ||
	    ft->buckets == NULL) {
		mg_flow_table_free(ft);
		rte_errno = ENOMEM;
		return NULL;
	}
	/* Lowest indices on top, so a lightly used table stays compact. */
	for (uint32_t i = 0; i < size; i++)
		ft->free_stack[i] = size - 1 - i;
	ft->n_free = size;
	for (int c = 0; c < MG_FLOW_TCLASS_MAX; c++)
		ft->lists[c].head = ft->lists[c].tail = MG_FLOW_NONE;
	return ft;
}

void
mg_flow_table_free(struct mg_flow_table *ft)
{
	if (ft == NULL)
		return;
	if (ft->cold != NULL)
		for (uint32_t i = 0; i < ft->size; i++) {
			rte_pktmbuf_free(ft->cold[i].syn);
			rte_pktmbuf_free(ft->cold[i].held);
		}
	rte_free(ft->buckets);
	rte_free(ft->free_stack);
	rte_free(ft->cold);
	rte_free(ft->flows);
	rte_free(ft);
}

uint32_t
mg_flow_alloc(struct mg_flow_table *ft)
{
	uint32_t idx;

	if (ft->n_free == 0)
		return MG_FLOW_NONE;
	idx = ft->free_stack[--ft->n_free];
	memset(&ft->flows[idx], 0, sizeof(ft->flows[idx]));
	memset(&ft->cold[idx], 0, sizeof(ft->cold[idx]));
	ft->flows[idx].tclass = MG_FLOW_TCLASS_MAX; /* on no list */
	return idx;
}

static void
tlist_unlink(struct mg_flow_table *ft, uint32_t idx)
{
	struct mg_flow *f = &ft->flows[idx];
	struct mg_flow_tlist *l;

	if (f->tclass >= MG_FLOW_TCLASS_MAX)
		return;
	l = &ft->lists[f->tclass];
	if (f->tprev != MG_FLOW_NONE)
		ft->flows[f->tprev].tnext = f->tnext;
	else
		l->head = f->tnext;
	if (f->tnext != MG_FLOW_NONE)
		ft->flows[f->tnext].tprev = f->tprev;
	else
		l->tail = f->tprev;
	l->count--;
	f->tclass = MG_FLOW_TCLASS_MAX;
}

static void
tlist_append(struct mg_flow_table *ft, uint32_t idx, uint8_t tclass)
{
	struct mg_flow *f = &ft->flows[idx];
	struct mg_flow_tlist *l = &ft->lists[tclass];

	f->tclass = tclass;
	f->tnext = MG_FLOW_NONE;
	f->tprev = l->tail;
	if (l->tail != MG_FLOW_NONE)
		ft->flows[l->tail].tnext = idx;
	else
		l->head = idx;
	l->tail = idx;
	l->count++;
}

void
mg_flow_timer_set(struct mg_flow_table *ft, uint32_t idx, uint8_t tclass, uint32_t expire_ms)
{
	RTE_ASSERT(tclass < MG_FLOW_TCLASS_MAX);
	tlist_unlink(ft, idx);
	ft->flows[idx].expire_ms = expire_ms;
	ft->flows[idx].flags &= ~MG_FLOW_F_TOUCHED;
	tlist_append(ft, idx, tclass);
}

void
mg_flow_release(struct mg_flow_table *ft, uint32_t idx)
{
	struct mg_flow *f = &ft->flows[idx];
	struct mg_flow_cold *c = &ft->cold[idx];
	struct mg_flow_key k;

	mg_flow_client_key(f, &k);
	mg_flow_unbind(ft, &k);
	if (f->ep_ip != 0) {
		mg_flow_ep_key(f, &k);
		mg_flow_unbind(ft, &k);
	}
	tlist_unlink(ft, idx);
	if (c->syn != NULL) {
		rte_pktmbuf_free(c->syn);
		c->syn = NULL;
	}
	if (c->held != NULL) {
		rte_pktmbuf_free(c->held);
		c->held = NULL;
	}
	f->state = 0; /* MG_TCP_NONE: readers scanning the array skip it */
	ft->free_stack[ft->n_free++] = idx;
}

/*
 * Expired flows are cold (TIME_WAIT lasts seconds), and a list is a chain
 * of dependent loads: while one flow is released, the next one's index
 * buckets and cold part are fetched (its line was fetched one step
 * earlier), and the line of the one after it.
 */
static inline void
expire_prefetch(const struct mg_flow_table *ft, uint32_t next)
{
	if (next == MG_FLOW_NONE)
		return;
	mg_flow_prefetch_keys(ft, next);
	rte_prefetch0(&ft->cold[next]);
	if (ft->flows[next].tnext != MG_FLOW_NONE)
		rte_prefetch0(&ft->flows[ft->flows[next].tnext]);
}

uint32_t
mg_flow_expire(struct mg_flow_table *ft, uint32_t now_ms, uint32_t budget,
	       mg_flow_expire_cb cb, void *ctx)
{
	uint32_t done = 0, work = 0;

	for (int c = 0; c < MG_FLOW_TCLASS_MAX && work < budget; c++) {
		struct mg_flow_tlist *l = &ft->lists[c];

		while (l->head != MG_FLOW_NONE && work < budget) {
			uint32_t idx = l->head;
			struct mg_flow *f = &ft->flows[idx];

			if (!mg_ms_before_eq(f->expire_ms, now_ms)) {
				if (!(f->flags & MG_FLOW_F_TOUCHED))
					break; /* nothing behind it has expired */
				/* Refreshed by traffic: back of the line, unmarked. */
				f->flags &= ~MG_FLOW_F_TOUCHED;
				if (l->count > 1) {
					tlist_unlink(ft, idx);
					tlist_append(ft, idx, (uint8_t)c);
				}
				work++; /* rotations count against the budget too */
				continue;
			}
			work++;
			done++;
			expire_prefetch(ft, f->tnext);
			cb(ctx, idx);
			/* The callback released or re-armed the flow; if it left it
			 * at the head unchanged, stop rather than spin. */
			if (l->head == idx)
				break;
		}
	}
	return done;
}

size_t
mg_flow_bytes_per_flow(void)
{
	/* The flow line, its cold part, its free-stack entry and 3/8 of a
	 * 64-byte bucket (mg_flow_table_create). */
	return sizeof(struct mg_flow) + sizeof(struct mg_flow_cold) + sizeof(uint32_t) +
	       sizeof(struct mg_flow_bucket) * 3 / 8;
}
