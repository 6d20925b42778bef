/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_GW_H
#define MG_GW_H

/**
 * @file
 * The gateway runtime: ports, workers, the control lcore and publication.
 *
 * Threads and what they own:
 * - worker lcores (EAL lcores other than the main one) run mg_gw_worker_loop:
 *   RX queue w of every port, TX queue w of every port, their own flow table
 *   and counters; they read the shared state (struct mg_proxy_shared) and the
 *   current locality table through an RCU-protected pointer.
 * - the control thread (an EAL control thread, not spinning) drains the
 *   workers' event rings (ARP learning, connect outcomes), ages neighbours and
 *   sends ARP requests on its own TX queue (index n_workers), applies
 *   configuration loads and publishes new table generations, and reclaims
 *   old ones through the rte_rcu_qsbr defer queue once every worker has
 *   reported a quiescent state.
 * - the main lcore runs the CLI and telemetry; a CLI `load` takes the control
 *   mutex, so configuration changes are serialized with the control thread.
 *   The mutex is never taken on the packet path.
 */

#include <stdint.h>
#include <stdbool.h>
#include <pthread.h>

#include <rte_log.h>
#include <rte_rcu_qsbr.h>

#include "mg_conf.h"
#include "mg_proxy.h"
#include "mg_outlier.h"

#ifdef __cplusplus
extern "C" {
#endif

/** meshgate's log type for the control plane ("meshgate.control"). */
extern int mg_logtype_ctl;
#define MG_LOG(level, ...) \
	rte_log(RTE_LOG_ ## level, mg_logtype_ctl, "meshgate: " __VA_ARGS__)

struct mg_gw_opts {
	uint32_t idle_sleep_us;   /**< workers sleep this long when a poll finds nothing */
	bool idle_yield;          /**< workers yield the core (sched_yield) when a poll finds nothing */
	const char *drivers_conf; /**< directory of port profiles ("" = built-in) */
};

/** Per-port settings applied at start (from a drivers-conf profile). */
struct mg_port_profile {
	char name[MG_NAME_LEN];
	uint16_t rx_desc;
	uint16_t tx_desc;
	bool rss;
	bool rx_ip_cksum;       /**< let the NIC check IPv4 header checksums */
};

struct mg_gw_port {
	uint16_t port_id;
	char name[MG_NAME_LEN];
	char device[MG_DEV_LEN];
	char driver[MG_NAME_LEN];
	uint16_t n_rxq;
	uint16_t n_txq;
	bool rss;
	uint8_t rss_key[MG_RSS_KEY_MAX]; /**< the Toeplitz key programmed (predictable RSS) */
	struct mg_port_profile profile;
};

/** Where the health-check SYNs for one endpoint go (lib/control/mg_probe.c). */
struct mg_probe_target {
	uint32_t id;
	uint32_t ip;
	uint16_t port;              /**< target port, network order */
	uint16_t port_id;
	uint16_t nh;
	uint32_t order;             /**< place in the table (the first port wins) */
};

/** Control-plane counters (written by the control thread / CLI only). */
struct mg_gw_ctl_stats {
	uint64_t generations;       /**< tables published */
	uint64_t loads_ok;
	uint64_t loads_failed;
	uint64_t arp_requests;
	uint64_t arp_learnt;
	uint64_t events;
	uint64_t ev[MG_EV__MAX];    /**< worker events by enum mg_event_type */
	uint64_t ev_unknown;
	uint64_t publish_wait_us_last; /**< publish -> every worker quiescent, last */
	uint64_t publish_wait_us_max;
	uint64_t reclaimed;
	uint64_t ejections;         /**< endpoints ejected by the outlier detector */
	uint64_t readmissions;
	uint64_t probes_sent;       /**< active health-check SYNs */
	uint64_t probes_unsent;     /**< due but could not leave (next hop unresolved, no mbuf) */
	uint64_t probe_results;     /**< answers (SYN-ACK or RST) seen by the workers */
	uint64_t probe_down;        /**< endpoints taken out by health checks */
	uint64_t probe_up;
	uint64_t rebuilds;          /**< tables rebuilt for health changes */
	uint64_t eject_publish_us_last; /**< the ejecting event read -> the table without it out */
	uint64_t eject_publish_us_max;
	uint64_t dazed;             /**< times a service became dazed */
};

struct mg_gw {
	struct mg_proxy_shared sh;
	struct mg_worker *workers[MG_MAX_WORKERS];
	uint16_t n_workers;
	struct mg_gw_port ports[MG_MAX_PORTS];
	uint16_t n_ports;
	struct rte_mempool *mp;
	struct rte_mempool *ctl_mp;
	struct rte_rcu_qsbr *rcu;
	struct rte_rcu_qsbr_dq *dq;
	struct mg_route_table routes;
	struct mg_gw_opts opts;
	char conf_path[MG_PATH_LEN]; /**< "" = embedded default */
	uint64_t generation;
	pthread_mutex_t lock;        /**< control-plane serialization */
	pthread_t ctl_thread;
	volatile bool quit;
	volatile bool running;       /**< workers forward (CLI start/stop) */
	volatile bool reload_req;    /**< SIGHUP */
	/* publication latency tracking */
	uint64_t pending_token;
	uint64_t pending_tsc;
	bool pending;
	struct mg_gw_ctl_stats cst;
	char last_error[MG_CONF_ERR_LEN];
	struct mg_conf *conf;        /**< the configuration in force (tables borrow it) */
	struct mg_outlier *ol;       /**< per-endpoint outlier and circuit-breaker state */
	uint32_t dazed_svcs;
	struct mg_probe_target *probes; /**< sorted by id */
	uint32_t n_probes;
};

/**
 * Set up the gateway from a loaded configuration: probe and start its ports,
 * create workers on every EAL worker lcore, build and publish the first
 * table. On success @p conf belongs to the gateway. 0 or -1 with @p err set.
 */
int mg_gw_init(struct mg_gw *gw, struct mg_conf *conf, const char *conf_path,
	       const struct mg_gw_opts *opts, char *err, size_t errlen);

/** Launch the workers and the control thread. */
int mg_gw_start(struct mg_gw *gw, char *err, size_t errlen);

/** Stop workers and the control thread, stop and close ports, free all. */
void mg_gw_fini(struct mg_gw *gw);

/**
 * Load a configuration file and apply it whole, or not at all (the running
 * one stays and @p err says why). @p path NULL = reload the current file.
 * Serialized with the control thread. 0 or -1.
 */
int mg_gw_load(struct mg_gw *gw, const char *path, char *err, size_t errlen);

/** Apply an already loaded configuration (same rules; takes @p conf on success). */
/**
 * Set one MeshGateway parameter at run time (`set outlier|circuit|connect|
 * healthcheck <param> <value>`): validated as the loader does, in force at
 * once, until the next load. 0 or -1 with @p err.
 */
int mg_gw_set_param(struct mg_gw *gw, const char *section, const char *key, const char *value,
		    char *err, size_t errlen);

/**
 * Free every table generation retired so far, now: wait until each worker
 * has passed a quiescent state (one loop; a worker asleep between empty
 * polls is RCU-offline, not waited for), then empty the defer queue. The
 * control thread does the same on its own a moment later; a caller that
 * must find memory as it left it (a test, the CLI fuzzer after each input)
 * calls this.
 */
void mg_gw_reclaim(struct mg_gw *gw);

/** Drain (no new connections) or undrain endpoint @p ip (network order). 0 or -1 with @p err. */
int mg_gw_drain(struct mg_gw *gw, uint32_t ip, bool drain, char *err, size_t errlen);

int mg_gw_apply(struct mg_gw *gw, struct mg_conf *conf, char *err, size_t errlen);

/** The table in use (control side: call under gw->lock). */
static inline const struct mg_lb_table *
mg_gw_table(const struct mg_gw *gw)
{
	return __atomic_load_n(&gw->sh.lb, __ATOMIC_ACQUIRE);
}

/** Sum of all workers' counters into @p out. */
void mg_gw_stats_sum(const struct mg_gw *gw, struct mg_worker_stats *out);

/** The worker loop (rte_eal_remote_launch argument: struct mg_worker *). */
int mg_gw_worker_loop(void *arg);

/** Find a gateway port index by DPDK port id; -1 if not ours. */
int mg_gw_port_index(const struct mg_gw *gw, uint16_t port_id);

#ifdef __cplusplus
}
#endif
#endif /* MG_GW_H */
