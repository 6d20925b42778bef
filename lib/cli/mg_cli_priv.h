/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_CLI_PRIV_H
#define MG_CLI_PRIV_H
/* Internal to lib/cli: one output abstraction for the terminal, files and sockets. */
#include <stdarg.h>
#include "mg_cli.h"

struct mg_out {
	void (*write)(void *ctx, const char *s);
	void *ctx;
};

void mg_out_printf(struct mg_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The show commands; @p port < 0 = all ports. Return -1 on a bad argument (message written). */
int mg_show_port_stats(struct mg_gw *gw, struct mg_out *o, int port);
int mg_show_port_xstats(struct mg_gw *gw, struct mg_out *o, int port);
int mg_show_port_info(struct mg_gw *gw, struct mg_out *o, int port);
int mg_clear_port_stats(struct mg_gw *gw, struct mg_out *o, int port);
void mg_show_lcores(struct mg_gw *gw, struct mg_out *o);
void mg_show_config(struct mg_gw *gw, struct mg_out *o);
void mg_show_services(struct mg_gw *gw, struct mg_out *o);
int mg_show_service(struct mg_gw *gw, struct mg_out *o, const char *ns_name);
void mg_show_flows(struct mg_gw *gw, struct mg_out *o, uint32_t vip);
void mg_show_neigh(struct mg_gw *gw, struct mg_out *o);
void mg_show_routes(struct mg_gw *gw, struct mg_out *o);
void mg_show_endpoints(struct mg_gw *gw, struct mg_out *o);
int mg_show_endpoint(struct mg_gw *gw, struct mg_out *o, uint32_t ip);

#define MG_IP_FMT "%u.%u.%u.%u"
#define MG_IP_ARGS(ip) (ip) & 0xff, ((ip) >> 8) & 0xff, ((ip) >> 16) & 0xff, (ip) >> 24
#endif
