/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_OUTLIER_PRIV_H
#define MG_OUTLIER_PRIV_H
/* Shared between the files of lib/outlier; not part of its interface. */

#include "mg_outlier.h"

#define MG_OL_NOPOS UINT32_MAX

enum {
	MG_OL_H_TIMER = 0, /* ejection end, multiplier decay, probe timeout */
	MG_OL_H_PROBE = 1, /* next probe */
};

static inline uint32_t
mg_ol_idx(const struct mg_outlier *o, const struct mg_ol_ep *e)
{
	return (uint32_t)(e - o->eps);
}

static inline void
mg_ol_clock(struct mg_outlier *o, uint64_t now)
{
	if (now > o->now)
		o->now = now;
}

/* A duration parameter of 0 would make timers spin: 1 ms at least. */
static inline uint64_t
mg_ol_ms(uint32_t v)
{
	return v ? v : 1;
}

/* Out of the table: ejected or down by health check. */
static inline bool
mg_ol_out(const struct mg_ol_ep *e)
{
	return e->ejected || e->hc_down;
}

/* mg_outlier_timer.c */
void mg_ol_heap_set(struct mg_outlier *o, int h, uint32_t idx);
void mg_ol_heap_reset(struct mg_outlier *o);

/* mg_outlier.c */
void mg_ol_note(struct mg_outlier *o, const struct mg_ol_ep *e, enum mg_ol_note_kind kind,
		uint8_t reason, uint64_t now);
enum mg_ol_change mg_ol_mark(struct mg_outlier *o, const struct mg_ol_ep *e);
void mg_ol_restart(struct mg_outlier *o, struct mg_ol_ep *e, uint64_t now);
void mg_ol_readmit(struct mg_outlier *o, struct mg_ol_ep *e, enum mg_ol_readmit why, uint64_t now);

/* mg_outlier_hc.c */
void mg_ol_hc_refresh(struct mg_outlier *o, struct mg_ol_ep *e, uint64_t now);
void mg_ol_hc_outcome(struct mg_outlier *o, struct mg_ol_ep *e, bool ok, uint64_t now);

#endif /* MG_OUTLIER_PRIV_H */
