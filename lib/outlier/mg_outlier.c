/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The outlier model: endpoint records, events, ejection and re-admission,
 * circuit breaker, what to publish. See mg_outlier.h for the rules and
 * semantics.md 3.3 for where they come from. Timers are in
 * mg_outlier_timer.c, active health checks in mg_outlier_hc.c.
 *
 * Lookups go through a small open-addressing index (id -> record) rebuilt
 * on every mg_outlier_sync*; an event touches one record and, when it
 * ejects, the endpoint's groups and one heap entry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_outlier_priv.h"

static inline uint32_t
slot_of(uint32_t id, uint32_t size)
{
	return (id * 2654435761u) & (size - 1);
}

/* Index of @p id in @p eps through @p index, or MG_OL_NOPOS. */
static uint32_t
lookup(const uint32_t *index, uint32_t size, const struct mg_ol_ep *eps, uint32_t id)
{
	if (size == 0)
		return MG_OL_NOPOS;
	for (uint32_t i = slot_of(id, size);; i = (i + 1) & (size - 1)) {
		uint32_t v = index[i];

		if (v == 0)
			return MG_OL_NOPOS;
		if (eps[v - 1].id == id)
			return v - 1;
	}
}

struct mg_ol_ep *
mg_outlier_find(const struct mg_outlier *o, uint32_t id)
{
	uint32_t i = lookup(o->index, o->index_size, o->eps, id);

	return i == MG_OL_NOPOS ? NULL : &o->eps[i];
}

uint32_t
mg_outlier_count(const struct mg_outlier *o)
{
	return o->n;
}

const struct mg_ol_ep *
mg_outlier_at(const struct mg_outlier *o, uint32_t i)
{
	return i < o->n ? &o->eps[i] : NULL;
}

/* ---- Notes ---------------------------------------------------------------- */

void
mg_ol_note(struct mg_outlier *o, const struct mg_ol_ep *e, enum mg_ol_note_kind kind,
	   uint8_t reason, uint64_t now)
{
	struct mg_ol_note *n;

	if (o->note_n == MG_OL_NOTES) {
		/* Keep the newest: the oldest goes. */
		o->note_head = (o->note_head + 1) % MG_OL_NOTES;
		o->note_n--;
		o->notes_lost++;
	}
	n = &o->notes[(o->note_head + o->note_n) % MG_OL_NOTES];
	o->note_n++;
	memset(n, 0, sizeof(*n));
	n->ms = now;
	n->id = e->id;
	n->kind = (uint8_t)kind;
	n->reason = reason;
	switch (kind) {
	case MG_OL_N_EJECTED:
		n->until = e->ejected_until;
		n->k = e->k;
		n->failures = e->consecutive;
		break;
	case MG_OL_N_HELD_BACK:
		n->k = e->k;
		n->failures = e->consecutive;
		break;
	case MG_OL_N_PROBE_DOWN:
		n->failures = e->hc_fail_run;
		break;
	case MG_OL_N_LIMIT_ON:
	case MG_OL_N_LIMIT_OFF:
		n->k = e->active;
		n->failures = e->pending;
		break;
	default:
		break;
	}
}

uint32_t
mg_outlier_notes(struct mg_outlier *o, struct mg_ol_note *out, uint32_t max)
{
	uint32_t k = 0;

	while (k < max && o->note_n > 0) {
		out[k++] = o->notes[o->note_head];
		o->note_head = (o->note_head + 1) % MG_OL_NOTES;
		o->note_n--;
	}
	return k;
}

/* ---- State, weight, publication ------------------------------------------ */

uint32_t
mg_outlier_factor(const struct mg_outlier *o, const struct mg_ol_ep *e)
{
	double s = e->score;

	if (!mg_outlier_params(o, e)->p.enabled)
		return 1000;
	if (s < MG_OL_SCORE_FLOOR)
		s = MG_OL_SCORE_FLOOR;
	if (s > 1.0)
		s = 1.0;
	return (uint32_t)(s * 1000.0 + 0.5);
}

static enum mg_lb_ep_state
desired(const struct mg_ol_ep *e)
{
	if (mg_ol_out(e))
		return MG_LB_EP_EJECTED;
	/* Drained by the operator: no new connections, like a limit (a
	 * drained endpoint is not a failing one, so it never makes a
	 * service dazed). */
	if (e->at_limit || e->drained)
		return MG_LB_EP_AT_LIMIT;
	return MG_LB_EP_OK;
}

/* How @p e differs from what the last table says about it. */
static enum mg_ol_change
classify(const struct mg_outlier *o, const struct mg_ol_ep *e)
{
	enum mg_lb_ep_state want = desired(e);
	uint32_t f, p, d, lo;

	if (want != e->published_state) {
		/* Releasing a limit can wait for the batch; anything else cannot. */
		if (want == MG_LB_EP_OK && e->published_state == MG_LB_EP_AT_LIMIT && !e->undrained)
			return MG_OL_WEIGHT;
		return MG_OL_STATE;
	}
	if (want != MG_LB_EP_OK)
		return MG_OL_NONE;
	f = mg_outlier_factor(o, e);
	p = e->published_factor;
	d = f > p ? f - p : p - f;
	lo = f < p ? f : p;
	/* Worth a generation: the hysteresis, or a fifth of a small weight. */
	if (d > 0 && (d >= o->hysteresis || d * 5 >= lo))
		return MG_OL_WEIGHT;
	return MG_OL_NONE;
}

enum mg_ol_change
mg_ol_mark(struct mg_outlier *o, const struct mg_ol_ep *e)
{
	enum mg_ol_change ch = classify(o, e);

	if (ch > o->pending_change)
		o->pending_change = (uint8_t)ch;
	return ch;
}

enum mg_lb_ep_state
mg_outlier_peek(const struct mg_outlier *o, uint32_t id, uint32_t *factor)
{
	const struct mg_ol_ep *e = mg_outlier_find(o, id);

	if (e == NULL)
		return MG_LB_EP_OK;
	*factor = mg_outlier_factor(o, e);
	return desired(e);
}

enum mg_lb_ep_state
mg_outlier_state(struct mg_outlier *o, uint32_t id, uint32_t *factor)
{
	struct mg_ol_ep *e = mg_outlier_find(o, id);

	if (e == NULL)
		return MG_LB_EP_OK;
	e->published_factor = (uint16_t)mg_outlier_factor(o, e);
	e->published_state = (uint8_t)desired(e);
	e->undrained = false;
	*factor = e->published_factor;
	return (enum mg_lb_ep_state)e->published_state;
}

uint32_t
mg_outlier_weight(const struct mg_outlier *o, uint32_t id, uint32_t capacity)
{
	uint32_t f = 1000;
	uint64_t w;

	if (capacity == 0 || mg_outlier_peek(o, id, &f) != MG_LB_EP_OK)
		return 0;
	w = (uint64_t)capacity * MG_OL_WEIGHT_UNIT * f / 1000;
	if (w == 0)
		return 1;
	return w > (UINT32_C(1) << 24) ? UINT32_C(1) << 24 : (uint32_t)w;
}

bool
mg_outlier_all_ejected(const struct mg_outlier *o, const uint32_t *ids, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct mg_ol_ep *e = mg_outlier_find(o, ids[i]);

		if (e == NULL || !mg_ol_out(e))
			return false;
	}
	return n > 0;
}

bool
mg_outlier_publish_due(const struct mg_outlier *o, uint64_t now)
{
	if (o->pending_change == MG_OL_STATE)
		return true;
	return o->pending_change == MG_OL_WEIGHT && now >= o->last_publish_ms + o->batch_ms;
}

void
mg_outlier_published(struct mg_outlier *o, uint64_t now)
{
	mg_ol_clock(o, now);
	for (uint32_t i = 0; i < o->n; i++) {
		struct mg_ol_ep *e = &o->eps[i];

		e->published_state = (uint8_t)desired(e);
		e->published_factor = (uint16_t)mg_outlier_factor(o, e);
		e->undrained = false;
	}
	o->pending_change = MG_OL_NONE;
	o->last_publish_ms = now;
	o->generation++;
}

enum mg_ol_show
mg_outlier_show(const struct mg_ol_ep *e)
{
	if (e->ejected)
		return MG_OL_SHOW_EJECTED;
	if (e->hc_down)
		return MG_OL_SHOW_PROBE_DOWN;
	if (e->drained)
		return MG_OL_SHOW_DRAINED;
	if (e->at_limit)
		return MG_OL_SHOW_AT_LIMIT;
	return MG_OL_SHOW_HEALTHY;
}

int
mg_outlier_drain(struct mg_outlier *o, uint32_t id, bool drain)
{
	struct mg_ol_ep *e = mg_outlier_find(o, id);

	if (e == NULL)
		return -ENOENT;
	if (e->drained == drain)
		return 0;
	e->drained = drain;
	/* The operator's word takes effect at once, both ways. */
	e->undrained = !drain;
	mg_ol_mark(o, e);
	return 1;
}

/* ---- Life cycle ----------------------------------------------------------- */

struct mg_outlier *
mg_outlier_create(const struct mg_conf_outlier *p, const struct mg_conf_circuit *cb)
{
	struct mg_outlier *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	/* Health checks off until mg_outlier_set_healthcheck; section 3.3's defaults. */
	o->hc = (struct mg_conf_healthcheck){
		.enabled = false, .interval_ms = 5000, .timeout_ms = 1000,
		.healthy_threshold = 2, .unhealthy_threshold = 3,
	};
	o->batch_ms = MG_OL_BATCH_MS;
	o->hysteresis = MG_OL_HYSTERESIS;
	mg_outlier_set_params(o, p, cb);
	return o;
}

static void
free_arrays(struct mg_ol_ep *eps, uint32_t *index, struct mg_ol_group *grp, uint32_t *memb,
	    struct mg_ol_hent *h0, struct mg_ol_hent *h1)
{
	free(eps);
	free(index);
	free(grp);
	free(memb);
	free(h0);
	free(h1);
}

void
mg_outlier_free(struct mg_outlier *o)
{
	if (o == NULL)
		return;
	free_arrays(o->eps, o->index, o->grp, o->memb, o->heap[0], o->heap[1]);
	free(o);
}

void
mg_outlier_set_publish(struct mg_outlier *o, uint32_t batch_ms, uint32_t hysteresis)
{
	o->batch_ms = batch_ms;
	o->hysteresis = hysteresis ? hysteresis : 1;
}

static bool
limit_reached(const struct mg_outlier *o, const struct mg_ol_ep *e)
{
	const struct mg_conf_circuit *cb = &mg_outlier_params(o, e)->cb;

	return (cb->max_connections && e->active >= cb->max_connections) ||
	       (cb->max_pending_connects && e->pending >= cb->max_pending_connects);
}

static void
limit_update(struct mg_outlier *o, struct mg_ol_ep *e, uint64_t now)
{
	bool l = limit_reached(o, e);

	if (l == e->at_limit)
		return;
	e->at_limit = l;
	mg_ol_note(o, e, l ? MG_OL_N_LIMIT_ON : MG_OL_N_LIMIT_OFF, 0, now);
}

/* k stops where base x k reaches the cap (Envoy): max/base intervals to recover. */
static void
params_set(struct mg_ol_params *ps, const struct mg_conf_outlier *p, const struct mg_conf_circuit *cb)
{
	uint64_t base, max;

	ps->p = *p;
	ps->cb = *cb;
	base = mg_ol_ms(p->base_ejection_ms);
	max = p->max_ejection_ms > base ? p->max_ejection_ms : base;
	ps->k_max = (uint32_t)((max + base - 1) / base);
}

/* @p e's parameters changed: clamp, lift, limit, and mark what the table must learn. */
static void
params_apply(struct mg_outlier *o, struct mg_ol_ep *e)
{
	const struct mg_ol_params *ps = mg_outlier_params(o, e);

	if (e->k > ps->k_max)
		e->k = ps->k_max;
	if (!ps->p.enabled && e->ejected)
		mg_ol_readmit(o, e, MG_OL_R_DISABLED, o->now);
	limit_update(o, e, o->now);
	mg_ol_mark(o, e);
}

void
mg_outlier_set_params(struct mg_outlier *o, const struct mg_conf_outlier *p,
		      const struct mg_conf_circuit *cb)
{
	o->p = *p;
	o->cb = *cb;
	params_set(&o->ps[0], p, cb);
	o->k_max = o->ps[0].k_max;
	if (o->n_ps == 0)
		o->n_ps = 1;
	for (uint32_t i = 0; i < o->n; i++)
		if (o->eps[i].ps == 0)
			params_apply(o, &o->eps[i]);
}

void
mg_outlier_overrides_clear(struct mg_outlier *o)
{
	for (uint32_t i = 0; i < o->n; i++) {
		struct mg_ol_ep *e = &o->eps[i];

		if (e->ps != 0) {
			e->ps = 0;
			params_apply(o, e);
		}
	}
	o->n_ps = 1;
}

static bool
params_equal(const struct mg_ol_params *a, const struct mg_conf_outlier *p,
	     const struct mg_conf_circuit *cb)
{
	const struct mg_conf_outlier *q = &a->p;

	return q->consecutive_failures == p->consecutive_failures &&
	       q->interval_ms == p->interval_ms && q->base_ejection_ms == p->base_ejection_ms &&
	       q->max_ejection_ms == p->max_ejection_ms &&
	       q->max_ejection_percent == p->max_ejection_percent &&
	       q->ewma_alpha == p->ewma_alpha && q->readmit_score == p->readmit_score &&
	       q->enabled == p->enabled && a->cb.max_connections == cb->max_connections &&
	       a->cb.max_pending_connects == cb->max_pending_connects;
}

int
mg_outlier_override(struct mg_outlier *o, uint32_t id, const struct mg_conf_outlier *p,
		    const struct mg_conf_circuit *cb)
{
	struct mg_ol_ep *e = mg_outlier_find(o, id);
	uint32_t k;

	if (e == NULL)
		return -ENOENT;
	for (k = 0; k < o->n_ps; k++)
		if (params_equal(&o->ps[k], p, cb))
			break;
	if (k == o->n_ps) {
		if (o->n_ps >= MG_OL_PSETS)
			return -ENOSPC;
		params_set(&o->ps[o->n_ps++], p, cb);
	}
	if (e->ps != k) {
		e->ps = (uint8_t)k;
		params_apply(o, e);
	}
	return 0;
}

/* ---- The endpoint set ------------------------------------------------------ */

static void
fresh(const struct mg_outlier *o, struct mg_ol_ep *e, uint32_t id)
{
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->score = 1.0;
	e->published_factor = 1000;
	e->published_state = MG_LB_EP_OK;
	e->hc_mode = MG_OL_HC_DEFAULT;
	e->hc_on = o->hc.enabled;
	e->hc_phase = true;
}

static int
sync_common(struct mg_outlier *o, const uint32_t *ids, uint32_t total, const uint32_t *counts,
	    uint32_t n_groups)
{
	uint32_t alloc = total ? total : 1, size = 16, n = 0, *index, *memb = NULL, *stamp = NULL;
	struct mg_ol_group *grp = NULL;
	struct mg_ol_hent *h0, *h1;
	struct mg_ol_ep *eps;

	while (size < 2 * (uint64_t)total + 2)
		size *= 2;
	eps = calloc(alloc, sizeof(*eps));
	index = calloc(size, sizeof(*index));
	h0 = calloc(alloc, sizeof(*h0));
	h1 = calloc(alloc, sizeof(*h1));
	if (n_groups > 0) {
		grp = calloc(n_groups, sizeof(*grp));
		memb = calloc(alloc, sizeof(*memb));
		stamp = calloc(alloc, sizeof(*stamp));
	}
	if (eps == NULL || index == NULL || h0 == NULL || h1 == NULL ||
	    (n_groups > 0 && (grp == NULL || memb == NULL || stamp == NULL))) {
		free_arrays(eps, index, grp, memb, h0, h1);
		free(stamp);
		return -ENOMEM;
	}
	/* The union of @p ids: kept records move over, new ones start fresh. */
	for (uint32_t i = 0; i < total; i++) {
		const struct mg_ol_ep *old;
		uint32_t s;

		if (lookup(index, size, eps, ids[i]) != MG_OL_NOPOS)
			continue;
		old = mg_outlier_find(o, ids[i]);
		if (old != NULL)
			eps[n] = *old;
		else
			fresh(o, &eps[n], ids[i]);
		eps[n].hpos[0] = eps[n].hpos[1] = MG_OL_NOPOS;
		eps[n].grp_first = eps[n].grp_count = 0;
		for (s = slot_of(ids[i], size); index[s] != 0; s = (s + 1) & (size - 1))
			;
		index[s] = ++n;
	}
	/* Group memberships (CSR), each endpoint once per group. */
	if (n_groups > 0) {
		uint32_t pos = 0, acc = 0;

		for (uint32_t g = 0; g < n_groups; pos += counts[g], g++)
			for (uint32_t j = 0; j < counts[g]; j++) {
				uint32_t x = lookup(index, size, eps, ids[pos + j]);

				if (stamp[x] != g + 1) {
					stamp[x] = g + 1;
					eps[x].grp_count++;
					grp[g].size++;
				}
			}
		for (uint32_t x = 0; x < n; x++) {
			eps[x].grp_first = acc;
			acc += eps[x].grp_count;
			eps[x].grp_count = 0;
		}
		memset(stamp, 0, sizeof(*stamp) * alloc);
		pos = 0;
		for (uint32_t g = 0; g < n_groups; pos += counts[g], g++)
			for (uint32_t j = 0; j < counts[g]; j++) {
				uint32_t x = lookup(index, size, eps, ids[pos + j]);

				if (stamp[x] != g + 1) {
					stamp[x] = g + 1;
					memb[eps[x].grp_first + eps[x].grp_count++] = g;
				}
			}
		free(stamp);
	}
	free_arrays(o->eps, o->index, o->grp, o->memb, o->heap[0], o->heap[1]);
	o->eps = eps;
	o->index = index;
	o->index_size = size;
	o->n = n;
	o->cap = alloc;
	o->grp = grp;
	o->n_grp = n_groups;
	o->memb = memb;
	o->heap[0] = h0;
	o->heap[1] = h1;
	o->n_ejected = 0;
	o->n_hc_down = 0;
	for (uint32_t x = 0; x < n; x++) {
		struct mg_ol_ep *e = &eps[x];

		if (e->ejected) {
			o->n_ejected++;
			for (uint32_t m = 0; m < e->grp_count; m++)
				grp[memb[e->grp_first + m]].n_ejected++;
		}
		o->n_hc_down += e->hc_down;
		mg_ol_hc_refresh(o, e, o->now);
	}
	mg_ol_heap_reset(o);
	return 0;
}

int
mg_outlier_sync(struct mg_outlier *o, const uint32_t *ids, uint32_t n)
{
	return sync_common(o, ids, n, NULL, 0);
}

int
mg_outlier_sync_groups(struct mg_outlier *o, const uint32_t *ids, const uint32_t *counts,
		       uint32_t n_groups)
{
	uint64_t total = 0;

	for (uint32_t g = 0; g < n_groups; g++)
		total += counts[g];
	if (total > UINT32_MAX / 4)
		return -EINVAL;
	return sync_common(o, ids, (uint32_t)total, counts, n_groups);
}

/* ---- Ejection and re-admission -------------------------------------------- */

/* Would ejecting @p e keep every group of it within maxEjectionPercent? */
static bool
room_to_eject(const struct mg_outlier *o, const struct mg_ol_ep *e)
{
	uint64_t pct = mg_outlier_params(o, e)->p.max_ejection_percent;

	if (pct >= 100)
		return true;
	if (pct == 0)
		return false;
	if (o->n_grp == 0)
		return o->n_ejected == 0 || (uint64_t)(o->n_ejected + 1) * 100 <= pct * o->n;
	for (uint32_t m = 0; m < e->grp_count; m++) {
		const struct mg_ol_group *g = &o->grp[o->memb[e->grp_first + m]];

		/* The first ejection of a group always goes through (newer Envoy). */
		if (g->n_ejected > 0 && (uint64_t)(g->n_ejected + 1) * 100 > pct * g->size)
			return false;
	}
	return true;
}

static void
count_ejected(struct mg_outlier *o, const struct mg_ol_ep *e, int d)
{
	o->n_ejected += d;
	for (uint32_t m = 0; m < e->grp_count; m++)
		o->grp[o->memb[e->grp_first + m]].n_ejected += d;
}

static void
eject(struct mg_outlier *o, struct mg_ol_ep *e, enum mg_ol_event why, uint64_t now)
{
	const struct mg_ol_params *ps = mg_outlier_params(o, e);
	uint64_t t;

	if (e->k < ps->k_max)
		e->k++;
	t = (uint64_t)ps->p.base_ejection_ms * e->k;
	if (t > ps->p.max_ejection_ms)
		t = ps->p.max_ejection_ms;
	e->ejected = true;
	e->ejected_at = now;
	e->ejected_until = now + t;
	e->ejections++;
	e->hc_ok_run = 0; /* early re-admission needs good probes after this */
	o->ejections_total++;
	count_ejected(o, e, 1);
	mg_ol_note(o, e, MG_OL_N_EJECTED, (uint8_t)why, now);
	mg_ol_heap_set(o, MG_OL_H_TIMER, mg_ol_idx(o, e));
}

/* Back in the table: a fresh start (scenario 38). */
void
mg_ol_restart(struct mg_outlier *o, struct mg_ol_ep *e, uint64_t now)
{
	const struct mg_conf_outlier *p = &mg_outlier_params(o, e)->p;

	e->consecutive = 0;
	e->score = p->readmit_score;
	e->next_decay = now + mg_ol_ms(p->interval_ms);
	e->readmitted_at = now;
}

void
mg_ol_readmit(struct mg_outlier *o, struct mg_ol_ep *e, enum mg_ol_readmit why, uint64_t now)
{
	if (!e->ejected)
		return;
	e->ejected = false;
	count_ejected(o, e, -1);
	o->readmissions++;
	if (why == MG_OL_R_PROBE)
		o->early_readmissions++;
	mg_ol_restart(o, e, now);
	mg_ol_note(o, e, MG_OL_N_READMITTED, (uint8_t)why, now);
	mg_ol_heap_set(o, MG_OL_H_TIMER, mg_ol_idx(o, e));
}

static void
failure(struct mg_outlier *o, struct mg_ol_ep *e, enum mg_ol_event ev, uint64_t now)
{
	const struct mg_conf_outlier *p = &mg_outlier_params(o, e)->p;
	uint32_t threshold = p->consecutive_failures ? p->consecutive_failures : 1;

	e->last_failure = (uint8_t)ev;
	e->last_failure_ms = now;
	e->score = (1.0 - p->ewma_alpha) * e->score;
	/* Failures of connects begun before an ejection do not extend it. */
	if (!p->enabled || e->ejected)
		return;
	if (++e->consecutive < threshold)
		return;
	if (!room_to_eject(o, e)) {
		/* Stays eligible; the next failure tries again. */
		o->ejections_refused++;
		e->held_back++;
		if (e->consecutive == threshold)
			mg_ol_note(o, e, MG_OL_N_HELD_BACK, (uint8_t)ev, now);
		return;
	}
	eject(o, e, ev, now);
}

/* ---- Events ---------------------------------------------------------------- */

enum mg_ol_change
mg_outlier_event(struct mg_outlier *o, uint32_t id, enum mg_ol_event ev, uint32_t value,
		 uint64_t now)
{
	struct mg_ol_ep *e;
	double a;

	mg_ol_clock(o, now);
	if ((unsigned int)ev >= MG_OL__MAX || (e = mg_outlier_find(o, id)) == NULL) {
		o->unknown_events++;
		return MG_OL_NONE;
	}
	a = mg_outlier_params(o, e)->p.ewma_alpha;
	e->events[ev]++;
	switch (ev) {
	case MG_OL_START:
		e->pending++;
		break;
	case MG_OL_OK:
		if (e->pending)
			e->pending--;
		e->active++;
		e->consecutive = 0;
		e->score = a + (1.0 - a) * e->score;
		e->latency_us = e->events[MG_OL_OK] == 1 ? value :
				a * value + (1.0 - a) * e->latency_us;
		break;
	case MG_OL_REFUSED:
	case MG_OL_UNREACH:
	case MG_OL_TIMEOUT:
		if (e->pending)
			e->pending--;
		failure(o, e, ev, now);
		break;
	case MG_OL_RESET:
		break; /* counted; the CLOSED that follows releases the connection */
	case MG_OL_CLOSED:
		if (e->active)
			e->active--;
		break;
	case MG_OL_ABORTED:
		if (e->pending)
			e->pending--;
		break;
	default:
		break;
	}
	limit_update(o, e, now);
	return mg_ol_mark(o, e);
}

enum mg_ol_change
mg_outlier_set_conns(struct mg_outlier *o, uint32_t id, uint32_t active, uint32_t pending,
		     uint64_t now)
{
	struct mg_ol_ep *e = mg_outlier_find(o, id);

	mg_ol_clock(o, now);
	if (e == NULL) {
		o->unknown_events++;
		return MG_OL_NONE;
	}
	e->active = active;
	e->pending = pending;
	limit_update(o, e, now);
	return mg_ol_mark(o, e);
}

void
mg_outlier_overflow(struct mg_outlier *o, uint32_t id)
{
	struct mg_ol_ep *e = mg_outlier_find(o, id);

	o->overflow++;
	if (e != NULL)
		e->overflow++;
}

/* ---- Names ------------------------------------------------------------------ */

const char *
mg_ol_event_name(enum mg_ol_event ev)
{
	static const char *const names[MG_OL__MAX] = {
		"start", "connected", "refused", "unreachable", "timeout", "reset", "closed",
		"aborted",
	};

	return (unsigned int)ev < MG_OL__MAX ? names[ev] : "?";
}

const char *
mg_ol_note_name(enum mg_ol_note_kind k)
{
	static const char *const names[MG_OL_N__MAX] = {
		"ejected", "held-back", "re-admitted", "probe-down", "probe-up", "at-limit",
		"below-limit",
	};

	return (unsigned int)k < MG_OL_N__MAX ? names[k] : "?";
}

const char *
mg_ol_readmit_name(enum mg_ol_readmit r)
{
	switch (r) {
	case MG_OL_R_EXPIRED:
		return "ejection expired";
	case MG_OL_R_PROBE:
		return "health check passed";
	case MG_OL_R_DISABLED:
		return "outlier detection disabled";
	}
	return "?";
}

const char *
mg_ol_show_name(enum mg_ol_show s)
{
	switch (s) {
	case MG_OL_SHOW_HEALTHY:
		return "healthy";
	case MG_OL_SHOW_EJECTED:
		return "ejected";
	case MG_OL_SHOW_PROBE_DOWN:
		return "probe-down";
	case MG_OL_SHOW_AT_LIMIT:
		return "at-limit";
	case MG_OL_SHOW_DRAINED:
		return "drained";
	}
	return "?";
}
