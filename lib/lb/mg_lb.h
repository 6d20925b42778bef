/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_LB_H
#define MG_LB_H

/**
 * @file
 * Locality tables: for every service VIP:port, its endpoints ranked into
 * priority tiers, as one immutable generation.
 *
 * The control lcore builds a whole new table (mg_lb_build) whenever the
 * configuration or an endpoint's health changes, publishes it through one
 * pointer, and frees the old one only after every worker has passed an RCU
 * quiescent state. A worker therefore reads a table with no lock and no
 * atomic beyond the pointer load, and never sees one half-built.
 *
 * Inside a service, endpoints are sorted by tier (0 = best), and each tier
 * carries a cumulative weight array, so a weighted random pick in the best
 * tier that has an eligible endpoint is one binary search: O(log n), no
 * allocation. On a connect retry the endpoints already tried are excluded
 * by drawing again (a few binary searches), and by one linear pass over the
 * tier only when the endpoints tried hold most of its weight.
 */

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include <rte_malloc.h>

#include "mg_conf.h"
#include "mg_lb_mode.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rte_hash;

#define MG_LB_MAX_TIERS 12 /* ranks 0..2n-1 for n <= 6 scopes */

/** One endpoint of one service port, as the worker needs it. */
struct mg_lb_ep {
	uint32_t ip;         /**< network order */
	uint16_t port;       /**< target port, network order */
	uint16_t nh;         /**< neighbour-table index of the next hop */
	uint16_t port_id;    /**< DPDK port toward it */
	uint16_t snat_idx;   /**< full-NAT source address to use */
	uint32_t id;         /**< stable identity across generations (its IP) */
	uint32_t weight;     /**< effective weight: 100 x capacity x health factor; 0 = not eligible */
	uint32_t capacity;   /**< configured weight (capacity) */
	uint32_t cum;        /**< cumulative weight within its tier, inclusive */
	uint8_t tier;        /**< 0 = best */
	uint8_t ready;       /**< control-plane readiness */
	int8_t rank;         /**< locality rank against the gateway (higher = closer) */
	uint8_t state;       /**< enum mg_lb_ep_state */
	uint32_t conf_idx;   /**< index into the configuration's endpoints; UINT32_MAX = none */
	uint16_t remote;     /**< remote cluster index of an east-west gateway entry; UINT16_MAX = none */
};

/** One VIP:port of a service. */
struct mg_lb_svc {
	uint32_t vip;        /**< network order */
	uint16_t port;       /**< network order */
	uint8_t proto;
	uint8_t n_tiers;
	uint32_t ep_first;   /**< into mg_lb_table.eps */
	uint32_t ep_count;
	uint32_t tier_first[MG_LB_MAX_TIERS]; /**< offset of each tier within the service */
	uint32_t tier_count[MG_LB_MAX_TIERS];
	uint32_t conf_idx;   /**< the configuration's service this VIP belongs to */
	uint32_t ep_conf_idx; /**< the service whose endpoints and policy it serves */
	uint16_t svc_port_idx; /**< which of the service's ports */
	bool passthrough;    /**< forward to the original destination */
	uint8_t health;      /**< enum mg_lb_health */
	uint8_t source;      /**< enum mg_lb_source: which setting decided the mode */
	const struct mg_lb_mode *mode;
	const char *scope;   /**< service scope in force ("cluster", "global", ...) */
	bool global;         /**< serves the peers' endpoints too */
	bool dazed;          /**< every candidate ejected: selection ignores ejection */
};

/** What mg_lb_build needs to know about the data plane. */
/** Health of an endpoint as the outlier detector sees it. */
enum mg_lb_ep_state {
	MG_LB_EP_OK = 0,    /**< eligible */
	MG_LB_EP_EJECTED,   /**< ejected: weight 0 (unless the whole service is dazed) */
	MG_LB_EP_AT_LIMIT,  /**< circuit breaker: at maxConnections/maxPendingConnects */
	MG_LB_EP_DAZED,     /**< ejected, but selectable because every candidate is */
};

struct mg_lb_env {
	/** Route @p ip: egress port, neighbour index and SNAT index; 0 or -errno. */
	int (*resolve)(void *ctx, uint32_t ip, uint16_t *port_id, uint16_t *nh,
		       uint16_t *snat_idx);
	/**
	 * Optional: the state of endpoint @p id and its weight factor in
	 * thousandths (1000 = full weight). NULL = every endpoint healthy.
	 */
	enum mg_lb_ep_state (*health)(void *ctx, uint32_t id, uint32_t *factor_permille);
	void *ctx;
	uint64_t generation;
	bool borrow_conf;    /**< the table only borrows the configuration (its owner frees it) */
};

struct mg_lb_table {
	uint64_t generation;
	struct rte_hash *vips;    /**< (vip, port) -> service index; read-only once built */
	struct mg_lb_svc *svcs;
	uint32_t n_svcs;
	struct mg_lb_ep *eps;
	uint32_t n_eps;
	struct mg_conf *conf;     /**< the configuration it was built from */
	bool owns_conf;           /**< mg_lb_free frees conf too */
};

/**
 * Build a table from @p conf. On success the table owns @p conf unless
 * env->borrow_conf. On error returns NULL with a message in @p err, and
 * @p conf is left to the caller.
 */
struct mg_lb_table *mg_lb_build(struct mg_conf *conf, const struct mg_lb_env *env,
				char *err, size_t errlen);

/*
 * Table memory. Under the sanitizers (-Dsanitize=true) tables come from the
 * C heap, so AddressSanitizer sees a worker touching a freed generation;
 * otherwise from DPDK's allocator, on the caller's NUMA socket.
 */
#ifdef MG_SANITIZE
#define mg_lb_zalloc(name, size) calloc(1, (size))
#define mg_lb_mfree(p) free(p)
#else
#define mg_lb_zalloc(name, size) rte_zmalloc((name), (size), RTE_CACHE_LINE_SIZE)
#define mg_lb_mfree(p) rte_free(p)
#endif

/** Sort @p svc's endpoints into tiers with cumulative weights (used by the builder). */
void mg_lb_fill_tiers(struct mg_lb_svc *svc, struct mg_lb_ep *eps);

/** Free a table and its configuration. NULL is fine. */
void mg_lb_free(struct mg_lb_table *t);

/** The service at @p vip:@p port (network order), or NULL. */
const struct mg_lb_svc *mg_lb_lookup(const struct mg_lb_table *t, uint32_t vip, uint16_t port);

/**
 * Pick an endpoint of @p s: weighted random in the best tier holding an
 * eligible endpoint; an endpoint whose id is in @p tried is not eligible.
 * @p rnd is a uniformly random 32-bit value. Returns the endpoint or NULL.
 */
const struct mg_lb_ep *mg_lb_pick(const struct mg_lb_table *t, const struct mg_lb_svc *s,
				  uint32_t rnd, const uint32_t *tried, uint32_t n_tried);

#ifdef __cplusplus
}
#endif
#endif /* MG_LB_H */
