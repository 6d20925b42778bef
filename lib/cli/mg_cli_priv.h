/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_CLI_PRIV_H
#define MG_CLI_PRIV_H
/*
 * Internal to lib/cli. Three layers:
 * - data gathering (mg_cli_fmt.c): a snapshot of one worker, port, service,
 *   endpoint, neighbour or flow, and a visitor over the configuration in
 *   force. The CLI, mg_cli_print_stats and telemetry all read the gateway
 *   through these, so a figure is computed one way only.
 * - text (mg_cli_show.c): the show commands, written through struct mg_out.
 * - JSON (mg_telemetry.c): the same data as /meshgate/... telemetry.
 */
#include <stdarg.h>
#include <stdio.h>

#include <rte_ethdev.h>

#include "mg_cli.h"

/* ---- output --------------------------------------------------------------- */

/** Where a show command writes: terminal, file, socket or memory. */
struct mg_out {
	void (*write)(void *ctx, const char *s);
	void *ctx;
	char *err;        /**< optional: receives the message of a failing command */
	size_t errlen;
};

void mg_out_printf(struct mg_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Print a failure message and keep it in o->err (for FILE:LINE reports). Returns -1. */
int mg_out_fail(struct mg_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** An mg_out writing to a stdio stream. */
void mg_out_file(struct mg_out *o, FILE *f);

#define MG_IP_FMT "%u.%u.%u.%u"
#define MG_IP_ARGS(ip) (ip) & 0xff, ((ip) >> 8) & 0xff, ((ip) >> 16) & 0xff, (ip) >> 24
#define MG_IP_STRLEN 16      /* "255.255.255.255" */
#define MG_IPPORT_STRLEN 22  /* "255.255.255.255:65535" */
#define MG_SVC_NAME_LEN (2 * MG_NAME_LEN + 2)

/** "a.b.c.d" of a network-order address into @p buf (MG_IP_STRLEN). */
const char *mg_cli_ip(uint32_t ip, char *buf);
/** "a.b.c.d:port" (network order both) into @p buf (MG_IPPORT_STRLEN). */
const char *mg_cli_ipport(uint32_t ip, uint16_t port, char *buf);

/** Milliseconds on the control plane's clock (TSC based, as mg_ctl.c). */
uint64_t mg_cli_now_ms(void);

/* ---- workers -------------------------------------------------------------- */

/** One per-worker counter: its name (telemetry key) and place in mg_worker_stats. */
struct mg_cli_counter {
	const char *name;
	uint32_t off;
};

/** Every counter of struct mg_worker_stats except drops (see mg_drop_reason_name). */
extern const struct mg_cli_counter mg_cli_counters[];
extern const uint32_t mg_cli_n_counters;

static inline uint64_t
mg_cli_counter_get(const struct mg_worker_stats *s, const struct mg_cli_counter *c)
{
	return *(const uint64_t *)(const void *)((const char *)s + c->off);
}

/** A worker's counters, copied (racy by design: one 64-bit load per counter). */
struct mg_cli_worker {
	uint16_t idx;            /**< worker index (n_workers for the sum) */
	uint16_t lcore;          /**< its lcore (UINT16_MAX for the sum) */
	uint32_t flows_active;   /**< mg_flow_count of its table */
	uint32_t flows_size;
	uint64_t drops;          /**< all reasons */
	uint64_t pkts;           /**< packets it processed: rx + hand-off in */
	double cycles_per_pkt;   /**< busy cycles per processed packet */
	struct mg_worker_stats st;
};

void mg_cli_worker_get(const struct mg_gw *gw, uint16_t i, struct mg_cli_worker *w);
/** Every worker's counters summed. */
void mg_cli_worker_sum(const struct mg_gw *gw, struct mg_cli_worker *sum);

/* ---- ports ---------------------------------------------------------------- */

struct mg_cli_port {
	const struct mg_gw_port *gp;   /**< name, device, driver, queues, RSS, profile */
	uint16_t id;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	uint32_t ip;                   /**< network order */
	uint8_t prefix_len;
	uint16_t mtu;
	struct rte_eth_link link;
	char link_str[RTE_ETH_LINK_MAX_STR_LEN];
	bool stats_ok;
	struct rte_eth_stats st;
};

/**
 * Gateway port indexes [*first, *last) for DPDK port id @p port (< 0 = all);
 * -1 with a message naming the valid ports when @p port is not one of ours.
 */
int mg_cli_port_range(const struct mg_gw *gw, struct mg_out *o, int port, uint16_t *first,
		      uint16_t *last);
/** Snapshot of gateway port index @p i (stats too). */
void mg_cli_port_get(const struct mg_gw *gw, uint16_t i, struct mg_cli_port *p);

/* ---- services and endpoints (call under gw->lock) -------------------------- */

struct mg_cli_svc {
	char name[MG_SVC_NAME_LEN];    /**< namespace/name */
	char vip[MG_IPPORT_STRLEN];
	const char *mode;
	const char *source;            /**< which setting decided the mode */
	const char *scope;
	const char *health;            /**< ONLY_HEALTHY | ALLOW_ALL */
	uint32_t eps;
	uint32_t tiers;
	bool dazed;
	bool global;
	bool service_entry;
};

void mg_cli_svc_get(const struct mg_lb_table *t, uint32_t i, struct mg_cli_svc *s);

/** Split "ns/name"; -1 when malformed. */
int mg_cli_svc_split(const char *ns_name, char *ns, char *name);
/** Is service port @p i of table @p t the service ns/name? */
bool mg_cli_svc_is(const struct mg_lb_table *t, uint32_t i, const char *ns, const char *name);

struct mg_cli_ep {
	char addr[MG_IPPORT_STRLEN];
	uint8_t tier;
	int8_t rank;
	uint32_t weight;               /**< effective (0 = not eligible) */
	uint32_t capacity;             /**< configured */
	bool ready;
	uint8_t state;                 /**< enum mg_lb_ep_state */
	const char *state_name;
	char locality[5 * MG_NAME_LEN + 8]; /**< net/region/zone/subzone/node, "-" if unknown */
	uint16_t port_id;              /**< egress DPDK port */
	bool remote;                   /**< behind a remote cluster's east-west gateway */
	bool resolved;                 /**< next hop's MAC known */
	char via[MG_NAME_LEN + 40];    /**< "port 1", "east-west gateway of c2" */
};

/** Endpoint @p k of service port @p s. */
void mg_cli_ep_get(const struct mg_gw *gw, const struct mg_lb_table *t, const struct mg_lb_svc *s,
		   uint32_t k, struct mg_cli_ep *e);

/** Outlier view of an endpoint: "healthy", "ejected", "at-limit". */
const char *mg_cli_ol_state(const struct mg_ol_ep *e);
/** Milliseconds until an ejected endpoint returns (0 if not ejected). */
uint64_t mg_cli_ol_back_in_ms(const struct mg_ol_ep *e, uint64_t now_ms);
/** ms since @p e was last ejected (0 if never). */
uint64_t mg_cli_ol_ejected_ago_ms(const struct mg_ol_ep *e, uint64_t now_ms);

/* ---- neighbours (call under gw->lock) ---------------------------------------- */

struct mg_cli_neigh {
	char ip[MG_IP_STRLEN];
	uint16_t port_id;
	bool resolved;
	char mac[RTE_ETHER_ADDR_FMT_SIZE]; /**< "incomplete" when unresolved */
	int64_t age_s;                     /**< since the last ARP from it; -1 = never */
	uint32_t requests;
	uint32_t answers;
};

void mg_cli_neigh_get(const struct mg_neigh_table *t, uint32_t i, uint64_t now_ms,
		      struct mg_cli_neigh *n);

/** "dst/len via gw|on-link port N connected|static" parts of route @p i. */
struct mg_cli_route {
	char dst[MG_IP_STRLEN + 4];
	char gateway[MG_IP_STRLEN];        /**< "on-link" when direct */
	uint16_t port_id;
	const char *kind;                  /**< "connected" | "static" */
};

void mg_cli_route_get(const struct mg_route_table *rt, uint32_t i, struct mg_cli_route *r);

/* ---- flows (racy reads of the workers' arrays: copies only) ------------------ */

struct mg_cli_flows {
	uint32_t active;                   /**< mg_flow_count */
	uint32_t size;
	uint32_t state[MG_TCP_STATE__MAX]; /**< by TCP state, from a scan */
};

/** Count worker @p i's flows by state (a scan of its array). */
void mg_cli_flows_count(const struct mg_gw *gw, uint16_t i, struct mg_cli_flows *f);

/** Called with a copy of each flow; return false to stop the walk. */
typedef bool (*mg_cli_flow_cb)(void *ctx, uint16_t worker, const struct mg_flow *f);

/** Walk the flows to @p vip (0 = all) of every worker. */
void mg_cli_flows_walk(const struct mg_gw *gw, uint32_t vip, mg_cli_flow_cb cb, void *ctx);

/** "client -> vip => snat -> endpoint" of a flow into @p buf. */
void mg_cli_flow_str(const struct mg_flow *f, char *buf, size_t len);

#define MG_CLI_FLOWS_SHOWN 100             /* flows listed by `show flows <vip>` */

/* ---- the configuration in force --------------------------------------------- */

/**
 * Receives the configuration as sections of key/value pairs. Keys are
 * telemetry names ([a-z0-9_]); lists are sequences of strings.
 */
struct mg_cli_kv {
	void (*section)(void *ctx, const char *title);
	void (*str)(void *ctx, const char *key, const char *val);
	void (*u64)(void *ctx, const char *key, uint64_t val);
	void (*list_begin)(void *ctx, const char *key);
	void (*list_str)(void *ctx, const char *val);
	void (*list_end)(void *ctx);
	void *ctx;
};

/** Visit the configuration in force and the control counters (takes gw->lock). */
void mg_cli_config_visit(struct mg_gw *gw, const struct mg_cli_kv *kv);

/* ---- the show commands (mg_cli_show.c); port < 0 = all. -1 = bad argument ---- */

int mg_show_port_stats(struct mg_gw *gw, struct mg_out *o, int port);
int mg_show_port_xstats(struct mg_gw *gw, struct mg_out *o, int port);
int mg_show_port_info(struct mg_gw *gw, struct mg_out *o, int port);
int mg_clear_port_stats(struct mg_gw *gw, struct mg_out *o, int port);
void mg_show_lcores(struct mg_gw *gw, struct mg_out *o);
void mg_show_config(struct mg_gw *gw, struct mg_out *o);
void mg_show_services(struct mg_gw *gw, struct mg_out *o);
int mg_show_service(struct mg_gw *gw, struct mg_out *o, const char *ns_name);
void mg_show_flows(struct mg_gw *gw, struct mg_out *o);
void mg_show_flows_vip(struct mg_gw *gw, struct mg_out *o, uint32_t vip);
void mg_show_neigh(struct mg_gw *gw, struct mg_out *o);
void mg_show_routes(struct mg_gw *gw, struct mg_out *o);
void mg_show_endpoints(struct mg_gw *gw, struct mg_out *o);
int mg_show_endpoint(struct mg_gw *gw, struct mg_out *o, uint32_t ip);

#endif /* MG_CLI_PRIV_H */
