/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_OUTLIER_H
#define MG_OUTLIER_H

/**
 * @file
 * Per-endpoint outlier detection, circuit breaking and active health checks:
 * the model the control thread keeps (semantics.md section 3.3, decisions 5
 * to 8). Pure logic: no ports, no threads, no clock of its own (every call
 * that can change something takes the caller's time in ms, so the tests
 * drive a clock of their own), no logging (state changes are queued as
 * notes for the caller to log), no allocation except when the set of
 * endpoints changes (mg_outlier_sync*). An event costs O(1); one that ejects
 * also sets a timer, O(log n) in a binary heap. Endpoints are keyed by their
 * locality-table id (the IPv4 address in network order), so an east-west
 * gateway entry is tracked like any endpoint (scenario 36).
 *
 * The model, per endpoint:
 * - EWMA success score s <- a.x + (1-a).s, x = 1 connected, 0 failed, s = 1
 *   at first. The weight factor is max(s, 0.05) in thousandths; the table's
 *   weight is 100 x capacity x factor (mg_outlier_weight, the same rule as
 *   lib/lb's builder), at least 1 while capacity > 0 and the endpoint is
 *   eligible. A failing endpoint so loses its share before it is ejected
 *   (scenario 27). EWMA connect latency (SYN to SYN-ACK, us) is kept for
 *   display with the same a.
 * - Failures are connect outcomes only: refused (RST), unreachable (ICMP),
 *   timed out. A connect that succeeds resets the consecutive-failure count
 *   (scenario 31). Resets after establishment and closes are counted but
 *   are not failures (scenario 32: L4 only, an HTTP 500 is a healthy
 *   endpoint).
 * - `consecutiveFailures` failures in a row eject the endpoint for
 *   baseEjectionTime x k, k = its ejections in a row, capped at
 *   maxEjectionTime (scenario 29). k itself stops growing at
 *   ceil(max/base), so that recovering from the cap takes max/base healthy
 *   intervals (Envoy's rule, semantics.md 4.1).
 * - k decays by one per healthy `interval` spent not ejected (scenario 30).
 *   Our reading of "healthy": an interval with no connect failure and no
 *   failed probe; a failure restarts the interval. (Envoy decrements on
 *   every sweep while the host is not ejected; ours is stricter, so a flaky
 *   endpoint keeps its long ejections.)
 * - Re-admission happens exactly when the ejection expires (decision 6; at
 *   the first mg_outlier_tick at or after that time: mg_outlier_next_deadline
 *   says when to call it), with the failure count 0 and s = readmitScore
 *   (scenario 38).
 * - maxEjectionPercent: per group of endpoints (a service port: see
 *   mg_outlier_sync_groups; all tracked endpoints form one group if none is
 *   given). An ejection that would leave more than that share of any of the
 *   endpoint's groups ejected is not applied and is counted
 *   (ejections_refused); the endpoint stays eligible and the next failure
 *   tries again. As in newer Envoy, the first ejection of a group is always
 *   allowed unless the percentage is 0 (0 turns ejection off). Endpoints
 *   down by health check do not count against the percentage.
 * - Dazed (decision 7) is a property of a candidate set, not of an
 *   endpoint: mg_outlier_all_ejected says whether every candidate is
 *   excluded; lib/lb then selects over all of them ignoring ejection,
 *   keeping tiers, weights and STRICT filtering (the table builder does it).
 * - Circuit breaker (decision 8): active connections and pending connects
 *   per endpoint, tracked from START / OK / failures / CLOSED / ABORTED. At
 *   maxConnections or maxPendingConnects (0 = unlimited) the endpoint is
 *   AT_LIMIT: the table gives it no weight until it drops below. Lost events
 *   make these counts drift; mg_outlier_set_conns resets them from the
 *   workers' own counts.
 * - Active health checks (optional): the model says which endpoints are due
 *   for a probe and when an outstanding probe timed out; the data plane
 *   sends the SYNs. `unhealthyThreshold` failed probes in a row take the
 *   endpoint out (until `healthyThreshold` good probes in a row); while it
 *   is ejected by outlier detection, `healthyThreshold` good probes since
 *   the ejection re-admit it early (decision 6).
 * - mg_outlier_sync*: endpoints that left are forgotten with their state,
 *   new ones start healthy with s = 1 (scenario 40).
 *
 * Publication. The table holds each endpoint's state and factor as of the
 * last publication; every call returns how the endpoint now differs from
 * that: MG_OL_STATE (ejected, re-admitted, taken out or back by a probe,
 * reached a circuit-breaker limit: publish now) or MG_OL_WEIGHT (the factor
 * moved by at least the hysteresis, or a limit was released: publish within
 * the batch period, default 100 ms), or MG_OL_NONE. mg_outlier_publish_due
 * folds that into one question, so a burst of events costs at most one
 * generation per batch period plus one per state change. Trade-off: a
 * released limit waits for the batch, so an endpoint hovering at its limit
 * costs at most one generation per 100 ms for its releases (its returns to
 * the limit publish at once).
 *
 * The structures are public for display (lib/cli reads them); only this
 * library writes them.
 */

#include <stdbool.h>
#include <stdint.h>

#include "mg_conf.h"
#include "mg_lb.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An outcome reported by a worker (mirrors enum mg_event_type, plus ABORTED). */
enum mg_ol_event {
	MG_OL_START,     /**< a SYN left for it (pending + 1) */
	MG_OL_OK,        /**< connected; value = latency in us (pending - 1, active + 1) */
	MG_OL_REFUSED,   /**< RST to our SYN: failure */
	MG_OL_UNREACH,   /**< ICMP unreachable: failure */
	MG_OL_TIMEOUT,   /**< no answer within the connect timeout: failure */
	MG_OL_RESET,     /**< reset after establishment: counted, not a failure */
	MG_OL_CLOSED,    /**< an established connection ended (active - 1) */
	MG_OL_ABORTED,   /**< a connect given up with no outcome (client left): pending - 1 */
	MG_OL__MAX
};

/** What changed against the last publication; ordered by urgency. */
enum mg_ol_change {
	MG_OL_NONE = 0,
	MG_OL_WEIGHT = 1, /**< a factor moved or a limit was released: publish within the batch */
	MG_OL_STATE = 2,  /**< ejected, re-admitted, probed down/up, at a limit: publish now */
};

/** Per-endpoint health-check setting (a service's override of the default). */
enum mg_ol_hc_mode {
	MG_OL_HC_DEFAULT = 0, /**< as struct mg_conf_healthcheck.enabled */
	MG_OL_HC_ON,
	MG_OL_HC_OFF,
};

/** An endpoint's state for display. */
enum mg_ol_show {
	MG_OL_SHOW_HEALTHY,
	MG_OL_SHOW_EJECTED,    /**< by outlier detection, until ejected_until */
	MG_OL_SHOW_PROBE_DOWN, /**< by active health check, until enough good probes */
	MG_OL_SHOW_AT_LIMIT,   /**< circuit breaker */
	MG_OL_SHOW_DRAINED,    /**< by the operator (set endpoint <ip> drain) */
};

/** What a note reports. */
enum mg_ol_note_kind {
	MG_OL_N_EJECTED,    /**< reason = the last failure (enum mg_ol_event); k, until, failures */
	MG_OL_N_HELD_BACK,  /**< maxEjectionPercent held an ejection back (first of a streak) */
	MG_OL_N_READMITTED, /**< reason = enum mg_ol_readmit */
	MG_OL_N_PROBE_DOWN, /**< unhealthyThreshold failed probes; failures = how many */
	MG_OL_N_PROBE_UP,   /**< healthyThreshold good probes after a probe-down */
	MG_OL_N_LIMIT_ON,   /**< circuit breaker reached (active, pending in k, failures) */
	MG_OL_N_LIMIT_OFF,  /**< back below the limits */
	MG_OL_N__MAX
};

/** Why an ejection ended (the reason of an MG_OL_N_READMITTED note). */
enum mg_ol_readmit {
	MG_OL_R_EXPIRED,  /**< the ejection time ran out */
	MG_OL_R_PROBE,    /**< healthyThreshold good probes since the ejection */
	MG_OL_R_DISABLED, /**< outlier detection was turned off */
};

/** A state change, for the caller to log. */
struct mg_ol_note {
	uint64_t ms;      /**< when (the caller's clock) */
	uint64_t until;   /**< EJECTED: ejected until (ms) */
	uint32_t id;      /**< endpoint */
	uint32_t k;       /**< EJECTED: ejections in a row; LIMIT_ON: active connections */
	uint32_t failures;/**< EJECTED/HELD_BACK: failures in a row; PROBE_DOWN: failed probes;
			       LIMIT_ON: pending connects */
	uint8_t kind;     /**< enum mg_ol_note_kind */
	uint8_t reason;   /**< see enum mg_ol_note_kind */
};

#define MG_OL_NOTES 256          /**< notes kept between two mg_outlier_notes calls */
#define MG_OL_SCORE_FLOOR 0.05   /**< the weight factor never falls below this */
#define MG_OL_WEIGHT_UNIT 100    /**< table weight per unit of capacity at full health */
#define MG_OL_BATCH_MS 100       /**< default: one weight-only publication per this period */
#define MG_OL_HYSTERESIS 50      /**< default: factor change (thousandths) worth publishing */
#define MG_OL_NEVER UINT64_MAX

/** One endpoint's record: everything `show endpoint <ip>` prints. */
struct mg_ol_ep {
	uint32_t id;              /**< endpoint address, network order */
	double score;             /**< EWMA success score, 0..1 */
	double latency_us;        /**< EWMA connect latency */
	uint32_t consecutive;     /**< connect failures in a row */
	uint32_t k;               /**< consecutive ejection count (multiplier) */
	bool ejected;             /**< by outlier detection (see hc_down for health checks) */
	uint64_t ejected_until;   /**< ms, while ejected */
	uint64_t ejected_at;      /**< ms, of the last ejection */
	uint64_t next_decay;      /**< ms: when k decays if still healthy */
	uint32_t active;          /**< established connections */
	uint32_t pending;         /**< connects in progress */
	bool at_limit;            /**< circuit breaker */
	bool drained;             /**< by the operator: no new connections */
	uint8_t ps;               /**< its parameters: o->ps[ps] (0 = the gateway's) */
	bool undrained;           /**< undrained since the last publication (publish now) */
	uint16_t published_factor;/**< weight factor (thousandths) in the last table */
	uint8_t published_state;  /**< enum mg_lb_ep_state in the last table */
	uint64_t ejections;       /**< total */
	uint64_t held_back;       /**< ejections refused by maxEjectionPercent */
	uint64_t overflow;        /**< picks that passed it over at its limit */
	uint64_t readmitted_at;   /**< ms, of the last re-admission (0 = never) */
	uint64_t last_failure_ms;
	uint8_t last_failure;     /**< enum mg_ol_event */
	uint64_t events[MG_OL__MAX]; /**< totals per event type */

	/* Active health check. */
	uint8_t hc_mode;          /**< enum mg_ol_hc_mode */
	bool hc_on;               /**< probed (mode and configuration) */
	bool hc_down;             /**< out by health check */
	bool hc_inflight;         /**< a probe is outstanding */
	bool hc_phase;            /**< first probe not yet scheduled */
	uint32_t hc_ok_run;       /**< good probes in a row (since the last ejection) */
	uint32_t hc_fail_run;     /**< failed probes in a row */
	uint64_t hc_next;         /**< ms: next probe due */
	uint64_t hc_deadline;     /**< ms: the outstanding probe times out */
	uint64_t hc_probes;       /**< total sent */
	uint64_t hc_failures;     /**< total failed (timeouts included) */
	uint64_t hc_late;         /**< results for no outstanding probe (after its timeout) */
	uint64_t last_probe_failure_ms;

	/* Internal. */
	uint32_t hpos[2];         /**< place in the timer and probe heaps */
	uint32_t grp_first;       /**< its groups: o->memb[grp_first .. + grp_count] */
	uint32_t grp_count;
};

/** A timer: when endpoint eps[idx] next needs attention. */
struct mg_ol_hent {
	uint64_t key;             /**< ms */
	uint32_t idx;
};

/** Outlier and circuit-breaker parameters: the gateway's, or a service's overrides. */
struct mg_ol_params {
	struct mg_conf_outlier p;
	struct mg_conf_circuit cb;
	uint32_t k_max;           /**< ceil(max / base ejection time) */
};

#define MG_OL_PSETS 64            /**< distinct parameter sets (ps[0] = the gateway's) */

/** A group of endpoints (one service port) for maxEjectionPercent. */
struct mg_ol_group {
	uint32_t size;            /**< distinct endpoints */
	uint32_t n_ejected;       /**< of them ejected by outlier detection */
};

struct mg_outlier {
	struct mg_conf_outlier p;
	struct mg_conf_circuit cb;
	struct mg_conf_healthcheck hc;
	struct mg_ol_ep *eps;     /**< mg_outlier_at(o, 0 .. n - 1) */
	uint32_t n;
	uint32_t cap;
	uint32_t *index;          /**< open addressing: id -> slot + 1; 0 = empty */
	uint32_t index_size;      /**< power of two, > 2 n */
	struct mg_ol_group *grp;
	uint32_t n_grp;           /**< 0 = all endpoints form one group */
	uint32_t *memb;           /**< group indexes of every endpoint */
	struct mg_ol_hent *heap[2]; /**< min-heaps: [0] ejection ends, decays, probe timeouts;
				       [1] next probes */
	uint32_t heap_n[2];
	uint32_t k_max;           /**< ceil(max / base ejection time) */
	struct mg_ol_params ps[MG_OL_PSETS]; /**< [0] = p, cb, k_max; then services' overrides */
	uint32_t n_ps;
	uint32_t batch_ms;        /**< weight-only publication period */
	uint32_t hysteresis;      /**< factor change worth publishing (thousandths) */
	uint64_t now;             /**< the latest time the caller gave */
	uint8_t pending_change;   /**< enum mg_ol_change since the last mg_outlier_published */
	uint64_t last_publish_ms;
	uint64_t generation;      /**< publications (mg_outlier_published) */

	uint32_t n_ejected;       /**< ejected by outlier detection */
	uint32_t n_hc_down;
	uint64_t ejections_total;
	uint64_t ejections_refused; /**< held back by maxEjectionPercent */
	uint64_t readmissions;    /**< ejections ended, any reason */
	uint64_t early_readmissions; /**< of which by health check */
	uint64_t unknown_events;  /**< events for endpoints not tracked */
	uint64_t overflow;        /**< picks that passed an endpoint over at its limit */
	uint64_t probe_timeouts;

	struct mg_ol_note notes[MG_OL_NOTES];
	uint32_t note_head;       /**< oldest */
	uint32_t note_n;
	uint64_t notes_lost;      /**< overwritten before being read */
};

/* ---- Life cycle and configuration ---------------------------------------- */

/** Create a model with the configuration's parameters (health checks off). NULL on failure. */
struct mg_outlier *mg_outlier_create(const struct mg_conf_outlier *p,
				     const struct mg_conf_circuit *cb);
void mg_outlier_free(struct mg_outlier *o);

/**
 * New parameters (configuration change); endpoint state is kept and
 * running ejections keep their end. Turning outlier detection off lifts
 * every ejection and restores full weights; new circuit-breaker limits
 * apply at once. The changes are reported through mg_outlier_publish_due
 * (mg_gw_apply rebuilds the table right after anyway).
 */
void mg_outlier_set_params(struct mg_outlier *o, const struct mg_conf_outlier *p,
			   const struct mg_conf_circuit *cb);

/** Publication tuning: weight-only period (ms) and factor hysteresis (thousandths). */
void mg_outlier_set_publish(struct mg_outlier *o, uint32_t batch_ms, uint32_t hysteresis);

/**
 * The endpoint set changed: track exactly @p ids (duplicates ignored), all
 * in one group. Endpoints that left are forgotten with their history
 * (scenario 40); new ones start healthy with s = 1. 0 or -ENOMEM (the old
 * state is then kept).
 */
int mg_outlier_sync(struct mg_outlier *o, const uint32_t *ids, uint32_t n);

/**
 * As mg_outlier_sync, with groups for maxEjectionPercent: @p ids holds
 * @p n_groups groups one after the other, group g being the next
 * @p counts[g] ids (an id may be in several groups and twice in one). For
 * a locality table: the eps of each service, svcs[i].ep_count each.
 */
int mg_outlier_sync_groups(struct mg_outlier *o, const uint32_t *ids, const uint32_t *counts,
			   uint32_t n_groups);

/* ---- Events and time ------------------------------------------------------ */

/** One outcome for endpoint @p id at @p now_ms; unknown ids are counted and ignored. */
enum mg_ol_change mg_outlier_event(struct mg_outlier *o, uint32_t id, enum mg_ol_event ev,
				   uint32_t value, uint64_t now_ms);

/**
 * Set @p id's connection counts to the workers' own (sum over workers), to
 * undo drift from lost events. The circuit breaker follows.
 */
enum mg_ol_change mg_outlier_set_conns(struct mg_outlier *o, uint32_t id, uint32_t active,
				       uint32_t pending, uint64_t now_ms);

/**
 * Per-service overrides. mg_outlier_overrides_clear puts every endpoint back
 * on the gateway's parameters; mg_outlier_override gives endpoint @p id its
 * own (a service's annotations over the gateway's values), shared with every
 * endpoint that has the same ones. Ejections running keep their end; a lower
 * cap clamps the multiplier; limits apply at once. 0, -ENOENT (not tracked)
 * or -ENOSPC (MG_OL_PSETS distinct sets already).
 */
void mg_outlier_overrides_clear(struct mg_outlier *o);
int mg_outlier_override(struct mg_outlier *o, uint32_t id, const struct mg_conf_outlier *p,
			const struct mg_conf_circuit *cb);

/** The parameters endpoint @p e runs with. */
static inline const struct mg_ol_params *
mg_outlier_params(const struct mg_outlier *o, const struct mg_ol_ep *e)
{
	return &o->ps[e->ps];
}

/**
 * Drain @p id (no new connections; established ones go on) or undrain it.
 * Both publish at once (MG_OL_STATE). 1 if changed, 0 if already so,
 * -ENOENT if not tracked. The mark survives reloads while @p id stays.
 */
int mg_outlier_drain(struct mg_outlier *o, uint32_t id, bool drain);

/** A pick passed @p id over because it was at its limit: count it (decision 8, overflow). */
void mg_outlier_overflow(struct mg_outlier *o, uint32_t id);

/**
 * Run the timers due at @p now_ms: re-admit expired ejections, decay
 * multipliers, time out probes. O(1) when nothing is due, O(log n) per
 * timer run.
 */
enum mg_ol_change mg_outlier_tick(struct mg_outlier *o, uint64_t now_ms);

/**
 * The earliest time at which mg_outlier_tick, mg_outlier_probes_due or a
 * batched publication has something to do; MG_OL_NEVER if nothing.
 */
uint64_t mg_outlier_next_deadline(const struct mg_outlier *o);

/* ---- Publication ---------------------------------------------------------- */

/**
 * Should the caller publish a new table generation at @p now_ms? True when
 * a state change is waiting, or a weight-only one and the batch period
 * has passed since the last publication.
 */
bool mg_outlier_publish_due(const struct mg_outlier *o, uint64_t now_ms);

/**
 * A table built from the current state was published at @p now_ms: every
 * endpoint's state and factor become the published ones.
 */
void mg_outlier_published(struct mg_outlier *o, uint64_t now_ms);

/**
 * The state of @p id for a new table and its weight factor in thousandths
 * (the lib/lb health callback): EJECTED if ejected or down by health check,
 * else AT_LIMIT at a circuit-breaker limit, else OK. Records them as
 * published for @p id. An id not tracked is OK and @p factor is left alone.
 */
enum mg_lb_ep_state mg_outlier_state(struct mg_outlier *o, uint32_t id, uint32_t *factor);

/** As mg_outlier_state, recording nothing. */
enum mg_lb_ep_state mg_outlier_peek(const struct mg_outlier *o, uint32_t id, uint32_t *factor);

/**
 * The table weight of @p id for a configured @p capacity: 0 if capacity is
 * 0 or the endpoint is not eligible (ejected, down, at its limit), else
 * MG_OL_WEIGHT_UNIT x capacity x factor / 1000, at least 1, at most 2^24.
 */
uint32_t mg_outlier_weight(const struct mg_outlier *o, uint32_t id, uint32_t capacity);

/**
 * Dazed test: true when @p n > 0 and every id of @p ids is tracked and
 * ejected (or down by health check). The caller then selects over all of
 * them ignoring ejection, and counts it (decision 7).
 */
bool mg_outlier_all_ejected(const struct mg_outlier *o, const uint32_t *ids, uint32_t n);

/* ---- Active health checks ------------------------------------------------- */

/** Health-check parameters (default and per endpoint, see mg_outlier_probe_enable). */
enum mg_ol_change mg_outlier_set_healthcheck(struct mg_outlier *o,
					     const struct mg_conf_healthcheck *hc, uint64_t now_ms);

/** Probe @p id or not, whatever the default (a service's override); -ENOENT if not tracked. */
int mg_outlier_probe_enable(struct mg_outlier *o, uint32_t id, enum mg_ol_hc_mode mode,
			    uint64_t now_ms);

/**
 * Up to @p max endpoints due for a probe at @p now_ms, into @p ids; each is
 * marked as probed (its result is expected within the timeout) and its next
 * probe scheduled. A new endpoint's first probe comes at a fixed phase
 * within the interval (from its id), so probes spread out.
 */
uint32_t mg_outlier_probes_due(struct mg_outlier *o, uint64_t now_ms, uint32_t *ids, uint32_t max);

/**
 * The outcome of @p id's outstanding probe. A result with no probe
 * outstanding (it timed out already) is counted and ignored.
 */
enum mg_ol_change mg_outlier_probe_result(struct mg_outlier *o, uint32_t id, bool ok,
					  uint64_t now_ms);

/* ---- Inspection ----------------------------------------------------------- */

/** The record of @p id, or NULL. */
struct mg_ol_ep *mg_outlier_find(const struct mg_outlier *o, uint32_t id);

/** Endpoints tracked, and the i-th of them (i < count) for iteration. */
uint32_t mg_outlier_count(const struct mg_outlier *o);
const struct mg_ol_ep *mg_outlier_at(const struct mg_outlier *o, uint32_t i);

/** An endpoint's state for display, and its name ("healthy", "ejected", ...). */
enum mg_ol_show mg_outlier_show(const struct mg_ol_ep *e);
const char *mg_ol_show_name(enum mg_ol_show s);

/** The weight factor (thousandths) @p e would get in a table now. */
uint32_t mg_outlier_factor(const struct mg_outlier *o, const struct mg_ol_ep *e);

/** Move up to @p max notes, oldest first, into @p out; returns how many. */
uint32_t mg_outlier_notes(struct mg_outlier *o, struct mg_ol_note *out, uint32_t max);

/** Printable names. */
const char *mg_ol_event_name(enum mg_ol_event ev);
const char *mg_ol_note_name(enum mg_ol_note_kind k);
const char *mg_ol_readmit_name(enum mg_ol_readmit r);

#ifdef __cplusplus
}
#endif
#endif /* MG_OUTLIER_H */
