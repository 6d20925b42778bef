/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_LB_MODE_H
#define MG_LB_MODE_H

/**
 * @file
 * Traffic distribution: which endpoints of a service a client should prefer.
 *
 * Every named mode (PreferNetwork, PreferSameZone, internalTrafficPolicy
 * Local, ...) is one row of a table of (scope list, mode, health policy), the
 * generic model ztunnel receives from istiod, so a mode whose meaning is
 * unsettled is a one-line change. The precedence that picks a service's mode
 * from its Kubernetes/Istio settings is mg_lb_mode_resolve(); the ranking of
 * one endpoint against the gateway's locality is mg_lb_rank().
 */

#include <stdint.h>
#include <stdbool.h>

#include "mg_conf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mg_lb_scope {
	MG_SCOPE_NETWORK,
	MG_SCOPE_REGION,
	MG_SCOPE_ZONE,
	MG_SCOPE_SUBZONE,
	MG_SCOPE_NODE,
	MG_SCOPE_CLUSTER,
};

enum mg_lb_kind {
	MG_LB_STANDARD,    /**< no preference: one tier */
	MG_LB_FAILOVER,    /**< best-matching tier first, then fewer scopes, then any */
	MG_LB_STRICT,      /**< only endpoints matching every scope */
	MG_LB_PASSTHROUGH, /**< no selection: the original destination */
};

enum mg_lb_health { MG_HEALTH_ONLY_HEALTHY, MG_HEALTH_ALLOW_ALL };

/** Which setting decided a service's mode (for `show service`). */
enum mg_lb_source {
	MG_SRC_INTERNAL_TRAFFIC_POLICY,
	MG_SRC_SPEC,             /**< spec.trafficDistribution */
	MG_SRC_ANNOTATION,       /**< Service/ServiceEntry annotation */
	MG_SRC_NAMESPACE,        /**< Namespace annotation */
	MG_SRC_DEFAULT,          /**< MeshGateway.spec.defaultTrafficDistribution */
	MG_SRC_RESOLUTION_NONE,  /**< ServiceEntry resolution: NONE */
};

#define MG_LB_MAX_SCOPES 6

struct mg_lb_mode {
	const char *name;        /**< canonical name ("PreferSameZone") */
	enum mg_lb_kind kind;
	uint8_t n_scopes;
	uint8_t scopes[MG_LB_MAX_SCOPES]; /**< enum mg_lb_scope, in order */
};

struct mg_lb_policy {
	const struct mg_lb_mode *mode;
	enum mg_lb_health health;
	enum mg_lb_source source;
};

/** The mode named @p name (case-insensitive; PreferClose = PreferSameZone), or NULL. */
const struct mg_lb_mode *mg_lb_mode_by_name(const char *name);

/** The "Any" mode (Standard, no scopes). */
const struct mg_lb_mode *mg_lb_mode_any(void);

/**
 * Decide a service's policy by the precedence of semantics.md decision 3:
 * internalTrafficPolicy Local > spec.trafficDistribution (only PreferClose,
 * PreferSameZone, PreferSameNode; others fall through) > the service's
 * annotation (unknown = Any, no inheritance) > the Namespace annotation
 * (unknown = Any) > the gateway's default. ServiceEntry resolution NONE is
 * passthrough. publishNotReadyAddresses makes the health policy ALLOW_ALL.
 */
struct mg_lb_policy mg_lb_mode_resolve(const struct mg_conf *c, const struct mg_conf_service *s);

/**
 * Rank endpoint locality @p ep against the client (gateway) locality @p me
 * for @p mode (semantics.md section 2.2, with the network-first rule).
 * Returns the rank (higher = closer), or -1 when STRICT excludes it.
 */
int mg_lb_rank(const struct mg_lb_mode *mode, const struct mg_locality *me,
	       const struct mg_locality *ep, const char *me_cluster, const char *ep_cluster);

/** Printable name of a policy source ("spec.trafficDistribution", ...). */
const char *mg_lb_source_name(enum mg_lb_source s);

#ifdef __cplusplus
}
#endif
#endif /* MG_LB_MODE_H */
