/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_GW_PRIV_H
#define MG_GW_PRIV_H
/* Internal to lib/control. */
#include "mg_gw.h"

/* Fill @p out with the profile named @p name, else the one of @p driver,
 * else built-in defaults. Never fails: a missing file means defaults. */
void mg_profile_for(const struct mg_gw *gw, const char *name, const char *driver,
		    struct mg_port_profile *out);

/* The workers' knobs (connect, timeouts, SYN flood) from the configuration. */
void mg_gw_params_from_conf(struct mg_proxy_params *p, const struct mg_conf_gateway *g);

/* Health-check targets from table @p t (on every apply); 0 or -ENOMEM. */
int mg_probe_targets_build(struct mg_gw *gw, const struct mg_lb_table *t);

/* Send the health-check SYNs the outlier model says are due. */
void mg_probe_send_due(struct mg_gw *gw, uint64_t now_ms);

/* The control thread. */
void *mg_gw_control_loop(void *arg);

static inline struct mg_gw *
mg_gw_of(struct mg_proxy_shared *sh)
{
	return container_of(sh, struct mg_gw, sh);
}
#endif
