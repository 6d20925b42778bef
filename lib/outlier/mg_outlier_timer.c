/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Timers of the outlier model: two binary min-heaps of endpoints keyed by
 * the time they next need attention. Heap 0 holds ejection ends, multiplier
 * decays and probe timeouts (mg_outlier_tick); heap 1 the next probe of
 * every probed endpoint (mg_outlier_probes_due). Each endpoint has at most
 * one entry per heap, keyed by the earliest of its deadlines; its place is
 * kept in the record, so moving it is O(log n) and a tick with nothing due
 * is O(1).
 */
#include "mg_outlier_priv.h"

static uint64_t
key_of(const struct mg_outlier *o, int h, const struct mg_ol_ep *e)
{
	uint64_t t = MG_OL_NEVER;

	if (h == MG_OL_H_PROBE)
		return !e->hc_on ? MG_OL_NEVER : e->hc_phase ? 0 : e->hc_next;
	(void)o;
	if (e->ejected)
		t = e->ejected_until;
	else if (e->k > 0)
		t = e->next_decay;
	if (e->hc_inflight && e->hc_deadline < t)
		t = e->hc_deadline;
	return t;
}

static inline void
place(struct mg_outlier *o, int h, uint32_t pos, struct mg_ol_hent v)
{
	o->heap[h][pos] = v;
	o->eps[v.idx].hpos[h] = pos;
}

static void
sift_up(struct mg_outlier *o, int h, uint32_t pos)
{
	struct mg_ol_hent v = o->heap[h][pos];

	while (pos > 0) {
		uint32_t up = (pos - 1) / 2;

		if (o->heap[h][up].key <= v.key)
			break;
		place(o, h, pos, o->heap[h][up]);
		pos = up;
	}
	place(o, h, pos, v);
}

static void
sift_down(struct mg_outlier *o, int h, uint32_t pos)
{
	struct mg_ol_hent v = o->heap[h][pos];
	uint32_t n = o->heap_n[h];

	for (;;) {
		uint32_t c = 2 * pos + 1;

		if (c >= n)
			break;
		if (c + 1 < n && o->heap[h][c + 1].key < o->heap[h][c].key)
			c++;
		if (v.key <= o->heap[h][c].key)
			break;
		place(o, h, pos, o->heap[h][c]);
		pos = c;
	}
	place(o, h, pos, v);
}

/* Re-key endpoint @p idx in heap @p h after its deadlines changed. */
void
mg_ol_heap_set(struct mg_outlier *o, int h, uint32_t idx)
{
	struct mg_ol_ep *e = &o->eps[idx];
	uint64_t key = key_of(o, h, e);
	uint32_t pos = e->hpos[h];

	if (key == MG_OL_NEVER) {
		if (pos == MG_OL_NOPOS)
			return;
		e->hpos[h] = MG_OL_NOPOS;
		if (pos != --o->heap_n[h]) {
			/* The last entry fills the hole and finds its place. */
			uint32_t moved = o->heap[h][o->heap_n[h]].idx;

			place(o, h, pos, o->heap[h][o->heap_n[h]]);
			sift_up(o, h, pos);
			sift_down(o, h, o->eps[moved].hpos[h]);
		}
		return;
	}
	if (pos == MG_OL_NOPOS) {
		pos = o->heap_n[h]++;
		place(o, h, pos, (struct mg_ol_hent){ .key = key, .idx = idx });
		sift_up(o, h, pos);
		return;
	}
	o->heap[h][pos].key = key;
	sift_up(o, h, pos);
	sift_down(o, h, e->hpos[h]);
}

/* Rebuild both heaps (after mg_outlier_sync*). */
void
mg_ol_heap_reset(struct mg_outlier *o)
{
	o->heap_n[0] = o->heap_n[1] = 0;
	for (uint32_t i = 0; i < o->n; i++) {
		o->eps[i].hpos[0] = o->eps[i].hpos[1] = MG_OL_NOPOS;
		mg_ol_heap_set(o, MG_OL_H_TIMER, i);
		mg_ol_heap_set(o, MG_OL_H_PROBE, i);
	}
}

/*
 * k decays by one per healthy interval spent eligible; a connect or probe
 * failure inside the interval restarts it (mg_outlier.h). Failures do not
 * touch the heap: the check is made here, when the interval ends.
 */
static void
decay(struct mg_outlier *o, struct mg_ol_ep *e, uint64_t now)
{
	uint64_t iv = mg_ol_ms(mg_outlier_params(o, e)->p.interval_ms);

	while (!e->ejected && e->k > 0 && e->next_decay <= now) {
		uint64_t bad = e->last_failure_ms > e->last_probe_failure_ms ?
			       e->last_failure_ms : e->last_probe_failure_ms;

		if (bad > e->next_decay - iv) {
			e->next_decay = bad + iv;
		} else {
			e->k--;
			e->next_decay += iv;
		}
	}
}

enum mg_ol_change
mg_outlier_tick(struct mg_outlier *o, uint64_t now)
{
	enum mg_ol_change ch = MG_OL_NONE;

	mg_ol_clock(o, now);
	while (o->heap_n[MG_OL_H_TIMER] > 0 && o->heap[MG_OL_H_TIMER][0].key <= now) {
		uint32_t idx = o->heap[MG_OL_H_TIMER][0].idx;
		struct mg_ol_ep *e = &o->eps[idx];
		enum mg_ol_change c;

		if (e->hc_inflight && e->hc_deadline <= now) {
			e->hc_inflight = false;
			o->probe_timeouts++;
			mg_ol_hc_outcome(o, e, false, now);
		}
		if (e->ejected && e->ejected_until <= now)
			mg_ol_readmit(o, e, MG_OL_R_EXPIRED, now);
		decay(o, e, now);
		mg_ol_heap_set(o, MG_OL_H_TIMER, idx);
		c = mg_ol_mark(o, e);
		if (c > ch)
			ch = c;
	}
	return ch;
}

uint64_t
mg_outlier_next_deadline(const struct mg_outlier *o)
{
	uint64_t t = MG_OL_NEVER;

	for (int h = 0; h < 2; h++)
		if (o->heap_n[h] > 0 && o->heap[h][0].key < t)
			t = o->heap[h][0].key;
	if (o->pending_change == MG_OL_STATE && o->now < t)
		t = o->now;
	else if (o->pending_change == MG_OL_WEIGHT && o->last_publish_ms + o->batch_ms < t)
		t = o->last_publish_ms + o->batch_ms;
	return t;
}
