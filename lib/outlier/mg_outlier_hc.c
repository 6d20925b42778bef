/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Active TCP health checks: the per-endpoint state machine and the probe
 * schedule (decision 6). The data plane sends the SYN probes; this file
 * says which endpoints are due, times out the probes nobody answered, and
 * turns results into state:
 *
 *            unhealthyThreshold failures in a row
 *   up  ------------------------------------------>  down (out of the table)
 *       <------------------------------------------
 *            healthyThreshold successes in a row
 *
 * and, independently, an endpoint ejected by outlier detection comes back
 * early after healthyThreshold good probes in a row since its ejection.
 */
#include <errno.h>

#include "mg_outlier_priv.h"

static bool
hc_wanted(const struct mg_outlier *o, const struct mg_ol_ep *e)
{
	switch (e->hc_mode) {
	case MG_OL_HC_ON:
		return true;
	case MG_OL_HC_OFF:
		return false;
	default:
		return o->hc.enabled;
	}
}

/* A fixed phase within the interval for @p id, so that probes spread out. */
static uint64_t
phase(uint32_t id, uint64_t iv)
{
	uint32_t h = id * 2654435761u;

	h ^= h >> 16;
	return h % iv;
}

static void
hc_up(struct mg_outlier *o, struct mg_ol_ep *e, uint64_t now)
{
	if (!e->hc_down)
		return;
	e->hc_down = false;
	o->n_hc_down--;
	mg_ol_note(o, e, MG_OL_N_PROBE_UP, 0, now);
	if (!e->ejected)
		mg_ol_restart(o, e, now);
}

/* Follow a change of the endpoint's mode or of the default; the caller re-keys the heaps. */
void
mg_ol_hc_refresh(struct mg_outlier *o, struct mg_ol_ep *e, uint64_t now)
{
	bool on = hc_wanted(o, e);

	if (on == e->hc_on)
		return;
	e->hc_on = on;
	e->hc_ok_run = e->hc_fail_run = 0;
	if (on) {
		e->hc_phase = true;
	} else {
		/* Nothing could bring it back any more. */
		e->hc_inflight = false;
		hc_up(o, e, now);
	}
}

static void
rekey(struct mg_outlier *o, uint32_t idx)
{
	mg_ol_heap_set(o, MG_OL_H_TIMER, idx);
	mg_ol_heap_set(o, MG_OL_H_PROBE, idx);
}

void
mg_ol_hc_outcome(struct mg_outlier *o, struct mg_ol_ep *e, bool ok, uint64_t now)
{
	uint32_t healthy = o->hc.healthy_threshold ? o->hc.healthy_threshold : 1;
	uint32_t unhealthy = o->hc.unhealthy_threshold ? o->hc.unhealthy_threshold : 1;

	if (ok) {
		e->hc_fail_run = 0;
		if (++e->hc_ok_run < healthy)
			return;
		hc_up(o, e, now);
		if (e->ejected)
			mg_ol_readmit(o, e, MG_OL_R_PROBE, now);
		return;
	}
	e->hc_failures++;
	e->last_probe_failure_ms = now;
	e->hc_ok_run = 0;
	if (++e->hc_fail_run < unhealthy || e->hc_down)
		return;
	e->hc_down = true;
	o->n_hc_down++;
	mg_ol_note(o, e, MG_OL_N_PROBE_DOWN, 0, now);
}

enum mg_ol_change
mg_outlier_set_healthcheck(struct mg_outlier *o, const struct mg_conf_healthcheck *hc, uint64_t now)
{
	enum mg_ol_change ch = MG_OL_NONE;
	bool rephase = hc->interval_ms != o->hc.interval_ms;

	mg_ol_clock(o, now);
	o->hc = *hc;
	for (uint32_t i = 0; i < o->n; i++) {
		struct mg_ol_ep *e = &o->eps[i];
		enum mg_ol_change c;

		if (rephase && e->hc_on)
			e->hc_phase = true;
		mg_ol_hc_refresh(o, e, now);
		rekey(o, i);
		c = mg_ol_mark(o, e);
		if (c > ch)
			ch = c;
	}
	return ch;
}

int
mg_outlier_probe_enable(struct mg_outlier *o, uint32_t id, enum mg_ol_hc_mode mode, uint64_t now)
{
	struct mg_ol_ep *e = mg_outlier_find(o, id);

	mg_ol_clock(o, now);
	if (e == NULL)
		return -ENOENT;
	e->hc_mode = (uint8_t)mode;
	mg_ol_hc_refresh(o, e, now);
	rekey(o, mg_ol_idx(o, e));
	mg_ol_mark(o, e);
	return 0;
}

uint32_t
mg_outlier_probes_due(struct mg_outlier *o, uint64_t now, uint32_t *ids, uint32_t max)
{
	uint64_t iv = mg_ol_ms(o->hc.interval_ms);
	uint32_t k = 0;

	mg_ol_clock(o, now);
	while (k < max && o->heap_n[MG_OL_H_PROBE] > 0 && o->heap[MG_OL_H_PROBE][0].key <= now) {
		uint32_t idx = o->heap[MG_OL_H_PROBE][0].idx;
		struct mg_ol_ep *e = &o->eps[idx];
		uint64_t next;

		if (e->hc_phase) {
			/* First time: take its place in the interval. */
			e->hc_phase = false;
			e->hc_next = now + phase(e->id, iv);
			mg_ol_heap_set(o, MG_OL_H_PROBE, idx);
			continue;
		}
		next = e->hc_next + iv;
		if (next <= now)
			next = now + iv; /* fell behind: no burst to catch up */
		e->hc_next = next;
		mg_ol_heap_set(o, MG_OL_H_PROBE, idx);
		if (e->hc_inflight)
			continue; /* the last one has not timed out yet */
		e->hc_inflight = true;
		e->hc_deadline = now + mg_ol_ms(o->hc.timeout_ms);
		e->hc_probes++;
		mg_ol_heap_set(o, MG_OL_H_TIMER, idx);
		ids[k++] = e->id;
	}
	return k;
}

enum mg_ol_change
mg_outlier_probe_result(struct mg_outlier *o, uint32_t id, bool ok, uint64_t now)
{
	struct mg_ol_ep *e = mg_outlier_find(o, id);

	mg_ol_clock(o, now);
	if (e == NULL) {
		o->unknown_events++;
		return MG_OL_NONE;
	}
	if (!e->hc_inflight) {
		e->hc_late++;
		return MG_OL_NONE;
	}
	e->hc_inflight = false;
	mg_ol_hc_outcome(o, e, ok, now);
	mg_ol_heap_set(o, MG_OL_H_TIMER, mg_ol_idx(o, e));
	return mg_ol_mark(o, e);
}
