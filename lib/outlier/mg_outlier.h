/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_OUTLIER_H
#define MG_OUTLIER_H

/**
 * @file
 * Passive outlier detection and circuit breaking, per endpoint, on the
 * control lcore (semantics.md section 3.3, decisions 5 to 8).
 *
 * Workers report connect outcomes as events; this model turns them into the
 * endpoint states the locality tables publish:
 * - an EWMA success score s <- a.x + (1-a).s (x = 1 connected, 0 failed;
 *   s starts at 1) scales the endpoint's weight by max(s, 0.05), so a
 *   failing endpoint loses its share before it is ejected;
 * - `consecutiveFailures` connect failures in a row (refused, unreachable,
 *   timed out; a success resets the count) eject it for base x k, k being its
 *   consecutive ejection count, capped at maxEjectionTime; k decays by one
 *   per healthy `interval` (Envoy's multiplier rule);
 * - it is re-admitted exactly when the ejection expires, with a failure count
 *   of 0 and s = readmitScore;
 * - an ejection that would leave more than maxEjectionPercent of the tracked
 *   endpoints ejected is not applied (counted);
 * - resets after establishment and closes are counted but are not failures:
 *   only L4 connect outcomes count (an HTTP 500 is a healthy endpoint);
 * - circuit breaker: active connections and pending connects per endpoint;
 *   at maxConnections or maxPendingConnects the endpoint is passed over.
 * Every function takes the time (ms) from its caller, so tests drive a clock
 * of their own. Nothing allocates per event; the table grows only when the
 * set of endpoints changes (mg_outlier_sync).
 */

#include <stdbool.h>
#include <stdint.h>

#include "mg_conf.h"
#include "mg_lb.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mg_ol_event {
	MG_OL_START,     /**< a SYN left for it (pending + 1) */
	MG_OL_OK,        /**< connected; value = latency in us */
	MG_OL_REFUSED,   /**< RST to our SYN */
	MG_OL_UNREACH,   /**< ICMP unreachable */
	MG_OL_TIMEOUT,   /**< no answer within the connect timeout */
	MG_OL_RESET,     /**< reset after establishment (not a failure) */
	MG_OL_CLOSED,    /**< a connection ended */
	MG_OL__MAX
};

/** What changed, so the caller knows whether to publish a new table. */
enum mg_ol_change {
	MG_OL_NONE = 0,
	MG_OL_WEIGHT = 1, /**< a weight factor moved: publish soon (batched) */
	MG_OL_STATE = 2,  /**< ejected, re-admitted or at/below a limit: publish now */
};

struct mg_ol_ep {
	uint32_t id;              /**< endpoint address, network order */
	double score;             /**< EWMA success score, 0..1 */
	double latency_us;        /**< EWMA connect latency */
	uint32_t consecutive;     /**< connect failures in a row */
	uint32_t k;               /**< consecutive ejection count (multiplier) */
	bool ejected;
	uint64_t ejected_until;   /**< ms */
	uint64_t next_decay;      /**< ms: when k decays if still healthy */
	uint32_t active;          /**< established connections */
	uint32_t pending;         /**< connects in progress */
	bool at_limit;
	uint16_t published_factor;/**< weight factor (permille) in the last table */
	uint64_t ejections;       /**< total */
	uint64_t last_failure_ms;
	uint8_t last_failure;     /**< enum mg_ol_event */
	uint64_t events[MG_OL__MAX];
};

struct mg_outlier {
	struct mg_conf_outlier p;
	struct mg_conf_circuit cb;
	struct mg_ol_ep *eps;
	uint32_t n;
	uint32_t cap;
	uint32_t *index;          /**< open addressing: id -> slot + 1; 0 = empty */
	uint32_t index_size;      /**< power of two, > 2 n */
	uint32_t n_ejected;
	uint64_t ejections_refused; /**< held back by maxEjectionPercent */
	uint64_t unknown_events;  /**< events for endpoints not tracked */
};

/** Create a model with the configuration's parameters. NULL on failure. */
struct mg_outlier *mg_outlier_create(const struct mg_conf_outlier *p, const struct mg_conf_circuit *cb);
void mg_outlier_free(struct mg_outlier *o);

/** New parameters (configuration change); endpoint state is kept. */
void mg_outlier_set_params(struct mg_outlier *o, const struct mg_conf_outlier *p,
			   const struct mg_conf_circuit *cb);

/**
 * The endpoint set changed: track exactly @p ids. Endpoints that left are
 * forgotten with their history (semantics.md scenario 40); new ones start
 * healthy with s = 1. 0 or -ENOMEM.
 */
int mg_outlier_sync(struct mg_outlier *o, const uint32_t *ids, uint32_t n);

/** One event for endpoint @p id at @p now_ms. */
enum mg_ol_change mg_outlier_event(struct mg_outlier *o, uint32_t id, enum mg_ol_event ev,
				   uint32_t value, uint64_t now_ms);

/** Re-admit expired ejections, decay multipliers. */
enum mg_ol_change mg_outlier_tick(struct mg_outlier *o, uint64_t now_ms);

/** The state of @p id for a new table, and its weight factor in permille. */
enum mg_lb_ep_state mg_outlier_state(struct mg_outlier *o, uint32_t id, uint32_t *factor);

/** The record of @p id, or NULL. */
struct mg_ol_ep *mg_outlier_find(const struct mg_outlier *o, uint32_t id);

/** Printable event name. */
const char *mg_ol_event_name(enum mg_ol_event ev);

#ifdef __cplusplus
}
#endif
#endif /* MG_OUTLIER_H */
