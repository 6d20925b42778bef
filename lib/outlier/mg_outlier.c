/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The outlier model; see mg_outlier.h for the rules and semantics.md 3.3
 * for where they come from. Lookups go through a small open-addressing
 * index rebuilt on mg_outlier_sync; events touch one record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_outlier.h"

#define MG_OL_SCORE_FLOOR 0.05
#define MG_OL_WEIGHT_HYSTERESIS 50 /* permille: publish a weight change above this */

static inline uint32_t
slot_of(uint32_t id, uint32_t size)
{
	return (id * 2654435761u) & (size - 1);
}

struct mg_ol_ep *
mg_outlier_find(const struct mg_outlier *o, uint32_t id)
{
	if (o->index_size == 0)
		return NULL;
	for (uint32_t i = slot_of(id, o->index_size);; i = (i + 1) & (o->index_size - 1)) {
		uint32_t v = o->index[i];

		if (v == 0)
			return NULL;
		if (o->eps[v - 1].id == id)
			return &o->eps[v - 1];
	}
}

struct mg_outlier *
mg_outlier_create(const struct mg_conf_outlier *p, const struct mg_conf_circuit *cb)
{
	struct mg_outlier *o = calloc(1, sizeof(*o));

	if (o != NULL)
		mg_outlier_set_params(o, p, cb);
	return o;
}

void
mg_outlier_free(struct mg_outlier *o)
{
	if (o == NULL)
		return;
	free(o->eps);
	free(o->index);
	free(o);
}

void
mg_outlier_set_params(struct mg_outlier *o, const struct mg_conf_outlier *p,
		      const struct mg_conf_circuit *cb)
{
	o->p = *p;
	o->cb = *cb;
}

static void
fresh(struct mg_ol_ep *e, uint32_t id)
{
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->score = 1.0;
	e->published_factor = 1000;
}

int
mg_outlier_sync(struct mg_outlier *o, const uint32_t *ids, uint32_t n)
{
	struct mg_ol_ep *eps = calloc(n ? n : 1, sizeof(*eps));
	uint32_t size = 16, *index, kept = 0, ejected = 0;

	while (size < 2 * n + 2)
		size *= 2;
	index = calloc(size, sizeof(*index));
	if (eps == NULL || index == NULL) {
		free(eps);
		free(index);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct mg_ol_ep *old = mg_outlier_find(o, ids[i]);
		uint32_t s = slot_of(ids[i], size);
		bool dup = false;

		for (uint32_t k = s; index[k] != 0; k = (k + 1) & (size - 1))
			dup |= eps[index[k] - 1].id == ids[i];
		if (dup)
			continue;
		if (old != NULL)
			eps[kept] = *old;
		else
			fresh(&eps[kept], ids[i]);
		ejected += eps[kept].ejected;
		while (index[s] != 0)
			s = (s + 1) & (size - 1);
		index[s] = ++kept;
	}
	free(o->eps);
	free(o->index);
	o->eps = eps;
	o->index = index;
	o->index_size = size;
	o->n = kept;
	o->cap = n;
	o->n_ejected = ejected;
	return 0;
}

static uint16_t
factor_of(const struct mg_ol_ep *e)
{
	double s = e->score < MG_OL_SCORE_FLOOR ? MG_OL_SCORE_FLOOR : e->score;

	return (uint16_t)(s * 1000.0 + 0.5);
}

static bool
limit_reached(const struct mg_outlier *o, const struct mg_ol_ep *e)
{
	return (o->cb.max_connections && e->active >= o->cb.max_connections) ||
	       (o->cb.max_pending_connects && e->pending >= o->cb.max_pending_connects);
}

static uint64_t
ejection_ms(const struct mg_outlier *o, uint32_t k)
{
	uint64_t t = (uint64_t)o->p.base_ejection_ms * k;

	return t > o->p.max_ejection_ms ? o->p.max_ejection_ms : t;
}

static enum mg_ol_change
failure(struct mg_outlier *o, struct mg_ol_ep *e, enum mg_ol_event ev, uint64_t now)
{
	e->last_failure = (uint8_t)ev;
	e->last_failure_ms = now;
	e->score = o->p.ewma_alpha * 0.0 + (1.0 - o->p.ewma_alpha) * e->score;
	if (e->ejected || ++e->consecutive < o->p.consecutive_failures || !o->p.enabled)
		return MG_OL_WEIGHT;
	/* Threshold reached: eject, unless that passes maxEjectionPercent. */
	if ((uint64_t)(o->n_ejected + 1) * 100 > (uint64_t)o->p.max_ejection_percent * o->n) {
		o->ejections_refused++;
		return MG_OL_WEIGHT;
	}
	e->k++;
	e->ejected = true;
	e->ejected_until = now + ejection_ms(o, e->k);
	e->ejections++;
	e->consecutive = 0;
	o->n_ejected++;
	return MG_OL_STATE;
}

enum mg_ol_change
mg_outlier_event(struct mg_outlier *o, uint32_t id, enum mg_ol_event ev, uint32_t value,
		 uint64_t now)
{
	struct mg_ol_ep *e = mg_outlier_find(o, id);
	enum mg_ol_change ch = MG_OL_NONE;
	bool was_limited;

	if (e == NULL || ev >= MG_OL__MAX) {
		o->unknown_events++;
		return MG_OL_NONE;
	}
	e->events[ev]++;
	was_limited = e->at_limit;
	switch (ev) {
	case MG_OL_START:
		e->pending++;
		break;
	case MG_OL_OK:
		if (e->pending)
			e->pending--;
		e->active++;
		e->consecutive = 0;
		e->score = o->p.ewma_alpha + (1.0 - o->p.ewma_alpha) * e->score;
		e->latency_us = e->events[MG_OL_OK] == 1 ? value :
				o->p.ewma_alpha * value + (1.0 - o->p.ewma_alpha) * e->latency_us;
		ch = MG_OL_WEIGHT;
		break;
	case MG_OL_REFUSED:
	case MG_OL_UNREACH:
	case MG_OL_TIMEOUT:
		if (e->pending)
			e->pending--;
		ch = failure(o, e, ev, now);
		break;
	case MG_OL_RESET:
		break; /* counted; the CLOSED that follows releases it */
	case MG_OL_CLOSED:
		if (e->active)
			e->active--;
		break;
	default:
		break;
	}
	e->at_limit = limit_reached(o, e);
	if (e->at_limit != was_limited)
		ch = MG_OL_STATE;
	if (ch == MG_OL_WEIGHT) {
		int d = (int)factor_of(e) - (int)e->published_factor;

		if (d < MG_OL_WEIGHT_HYSTERESIS && d > -MG_OL_WEIGHT_HYSTERESIS)
			ch = MG_OL_NONE;
	}
	return ch;
}

enum mg_ol_change
mg_outlier_tick(struct mg_outlier *o, uint64_t now)
{
	enum mg_ol_change ch = MG_OL_NONE;

	for (uint32_t i = 0; i < o->n; i++) {
		struct mg_ol_ep *e = &o->eps[i];

		if (e->ejected && now >= e->ejected_until) {
			/* Re-admission: a fresh start, with the re-admission score. */
			e->ejected = false;
			e->consecutive = 0;
			e->score = o->p.readmit_score;
			e->next_decay = now + o->p.interval_ms;
			o->n_ejected--;
			ch = MG_OL_STATE;
		} else if (!e->ejected && e->k > 0 && now >= e->next_decay) {
			/* Each healthy interval forgives one ejection. */
			if (e->next_decay != 0)
				e->k--;
			e->next_decay = now + o->p.interval_ms;
		}
	}
	return ch;
}

enum mg_lb_ep_state
mg_outlier_state(struct mg_outlier *o, uint32_t id, uint32_t *factor)
{
	struct mg_ol_ep *e = mg_outlier_find(o, id);

	if (e == NULL)
		return MG_LB_EP_OK;
	e->published_factor = factor_of(e);
	*factor = e->published_factor;
	if (e->ejected)
		return MG_LB_EP_EJECTED;
	if (e->at_limit)
		return MG_LB_EP_AT_LIMIT;
	return MG_LB_EP_OK;
}

const char *
mg_ol_event_name(enum mg_ol_event ev)
{
	static const char *const names[MG_OL__MAX] = {
		"start", "connected", "refused", "unreachable", "timeout", "reset", "closed",
	};

	return ev < MG_OL__MAX ? names[ev] : "?";
}
