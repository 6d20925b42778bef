/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_CONF_H
#define MG_CONF_H

/**
 * @file
 * meshgate's configuration: Kubernetes and Istio objects, read unchanged.
 *
 * The input is multi-document YAML (a `kubectl get -o yaml` dump loads, List
 * objects included): one `MeshGateway` (meshgate.io/v1alpha1) for the
 * gateway's own settings, and the mesh's `Node`, `Namespace`, `Service`,
 * `EndpointSlice`, `ServiceEntry` and `WorkloadEntry` objects. The
 * MeshGateway may name further manifest files (`spec.manifests`, relative to
 * the file that names them) and remote clusters with their own manifests.
 *
 * The loader produces a plain C model (struct mg_conf) with no pointers into
 * the YAML parser; it is built whole or not at all. Any error is reported once
 * as "FILE:LINE: FIELD: what is wrong" and nothing is returned. Fields of
 * Kubernetes objects meshgate does not use (status, managedFields, ...) are
 * ignored; unknown fields inside MeshGateway.spec are errors, because they are
 * meshgate's own and a typo there would silently change behaviour.
 *
 * Addresses are IPv4, stored in network byte order. Durations are written as
 * Kubernetes/Envoy write them ("500ms", "30s", "5m", "1h") and stored in ms.
 */

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MG_NAME_LEN 64        /**< names, namespaces, labels values (incl. NUL) */
#define MG_PATH_LEN 256
#define MG_DEV_LEN 128
#define MG_CONF_ERR_LEN 512
#define MG_MAX_PORTS 16       /**< DPDK ports used by the gateway */
#define MG_MAX_ROUTES 64
#define MG_MAX_SNAT 256       /**< full-NAT source addresses (64,512 flows each, node-wide) */
#define MG_MAX_VIPS 4         /**< clusterIPs / addresses per service */
#define MG_MAX_SVC_PORTS 16   /**< ports per service */
#define MG_MAX_CLUSTERS 16    /**< local + remote clusters */

/** Where an object or value came from, for messages. */
struct mg_conf_src {
	char file[MG_PATH_LEN];
	uint32_t line;
};

/** Locality of a node, endpoint or gateway. Empty string = unset. */
struct mg_locality {
	char network[MG_NAME_LEN];
	char region[MG_NAME_LEN];
	char zone[MG_NAME_LEN];
	char subzone[MG_NAME_LEN];
	char node[MG_NAME_LEN];
};

/* ---- MeshGateway ------------------------------------------------------ */

struct mg_conf_port {
	char name[MG_NAME_LEN];      /**< operator's name for the port ("client", "p0") */
	char device[MG_DEV_LEN];     /**< DPDK device: PCI address or vdev args
					  ("net_tap0,iface=mg0"); probed if not yet present */
	char profile[MG_NAME_LEN];   /**< drivers-conf profile name ("" = by driver) */
	uint32_t ip;                 /**< the gateway's address on this port */
	uint8_t prefix_len;
	uint16_t mtu;                /**< 0 = leave as is */
};

struct mg_conf_route {
	uint32_t dst;                /**< destination prefix */
	uint8_t prefix_len;
	uint32_t gateway;            /**< next hop; 0 = on-link */
	int port;                    /**< index in mg_conf_gateway.ports; -1 = by next hop's subnet */
};

struct mg_conf_outlier {
	uint32_t consecutive_failures;  /**< default 5 */
	uint32_t interval_ms;           /**< default 10s */
	uint32_t base_ejection_ms;      /**< default 30s */
	uint32_t max_ejection_ms;       /**< default 300s */
	uint32_t max_ejection_percent;  /**< default 100 */
	double ewma_alpha;              /**< default 0.3 */
	double readmit_score;           /**< EWMA score on re-admission, default 0.5 */
	bool enabled;                   /**< default true */
};

struct mg_conf_circuit {
	uint32_t max_connections;       /**< per endpoint; 0 = unlimited */
	uint32_t max_pending_connects;  /**< per endpoint; 0 = unlimited */
};

struct mg_conf_healthcheck {
	bool enabled;                   /**< default false */
	uint32_t interval_ms;           /**< default 5s */
	uint32_t timeout_ms;            /**< default 1s */
	uint32_t healthy_threshold;     /**< default 2 */
	uint32_t unhealthy_threshold;   /**< default 3 */
};

struct mg_conf_flowtable {
	uint32_t size;                  /**< flows per worker, default 262144 */
	uint32_t syn_recv_ms;           /**< timeouts per TCP state */
	uint32_t established_ms;
	uint32_t fin_wait_ms;
	uint32_t last_ack_ms;
	uint32_t time_wait_ms;
	uint32_t close_ms;
};

/** SYN flood defence: half-open limits and SYN cookies. */
struct mg_conf_synflood {
	char cookies[16];               /**< "auto" (default), "always" or "off" */
	uint32_t max_half_open;         /**< per worker, default 4096 (at most the table size) */
	uint32_t max_half_open_per_source; /**< per client address and worker, default 0 = none */
	uint32_t max_half_open_per_service; /**< per service and worker, default 0 = none */
};

/** A remote cluster peered with this one. */
struct mg_conf_cluster {
	char name[MG_NAME_LEN];
	char network[MG_NAME_LEN];
	char segment[MG_NAME_LEN];
	uint32_t gateway_ip;            /**< its east-west gateway; 0 = flat network */
	uint16_t gateway_port;          /**< default 15008 */
	struct mg_locality gateway_locality; /**< the gateway's labels (region/zone/subzone) */
	char manifests[8][MG_PATH_LEN];
	uint32_t n_manifests;
};

struct mg_conf_gateway {
	char name[MG_NAME_LEN];
	char cluster[MG_NAME_LEN];       /**< spec.cluster; default "local" (objects of this cluster have cluster "") */
	char segment[MG_NAME_LEN];
	struct mg_locality locality;     /**< network from spec.network; region/zone/subzone
					      from spec.locality or from the Node named by spec.nodeName */
	bool locality_from_node;         /**< locality was taken from spec.nodeName's Node */
	struct mg_conf_port ports[MG_MAX_PORTS];
	uint32_t n_ports;
	struct mg_conf_route routes[MG_MAX_ROUTES];
	uint32_t n_routes;
	uint32_t snat[MG_MAX_SNAT];      /**< full-NAT sources; none = the egress port's address */
	uint32_t n_snat;
	uint16_t snat_port_min, snat_port_max; /**< default 1024..65535 */
	char default_traffic_distribution[MG_NAME_LEN]; /**< default "PreferNetwork" */
	uint32_t connect_timeout_ms;     /**< default 500 */
	uint32_t max_connect_attempts;   /**< default 3 */
	struct mg_conf_outlier outlier;
	struct mg_conf_circuit circuit;
	struct mg_conf_healthcheck healthcheck;
	struct mg_conf_flowtable flows;
	struct mg_conf_synflood synflood;
	uint32_t neigh_timeout_ms;       /**< ARP entry lifetime, default 300s */
	char manifests[16][MG_PATH_LEN]; /**< resolved paths */
	uint32_t n_manifests;
	struct mg_conf_cluster remotes[MG_MAX_CLUSTERS];
	uint32_t n_remotes;
	struct mg_conf_src src;
};

/* ---- Mesh objects ------------------------------------------------------ */

/** One annotation or label kept from metadata (only the ones meshgate reads). */
struct mg_conf_node {
	char name[MG_NAME_LEN];
	char cluster[MG_NAME_LEN];       /**< "" = local cluster */
	struct mg_locality locality;     /**< region/zone/subzone from labels; node = name */
	struct mg_conf_src src;
};

struct mg_conf_namespace {
	char name[MG_NAME_LEN];
	char cluster[MG_NAME_LEN];
	char traffic_distribution[MG_NAME_LEN]; /**< annotation networking.istio.io/traffic-distribution */
	char service_scope[MG_NAME_LEN];        /**< label/annotation solo.io/service-scope */
	struct mg_conf_src src;
};

enum mg_conf_proto { MG_PROTO_TCP = 6, MG_PROTO_UDP = 17 };

struct mg_conf_svc_port {
	char name[MG_NAME_LEN];
	uint16_t port;                    /**< service port */
	uint16_t target_port;             /**< numeric targetPort; 0 when named or unset */
	char target_port_name[MG_NAME_LEN]; /**< named targetPort ("" = numeric) */
	uint8_t proto;                    /**< enum mg_conf_proto */
};

/** Service (kind Service) or ServiceEntry (is_service_entry). */
struct mg_conf_service {
	char name[MG_NAME_LEN];
	char ns[MG_NAME_LEN];
	char cluster[MG_NAME_LEN];               /**< "" = local cluster */
	bool is_service_entry;
	uint32_t vips[MG_MAX_VIPS];              /**< spec.clusterIP(s) / SE spec.addresses */
	uint32_t n_vips;
	char hosts[MG_MAX_VIPS][MG_NAME_LEN * 2];/**< ServiceEntry spec.hosts */
	uint32_t n_hosts;
	struct mg_conf_svc_port ports[MG_MAX_SVC_PORTS];
	uint32_t n_ports;
	char traffic_distribution_spec[MG_NAME_LEN];  /**< spec.trafficDistribution */
	char traffic_distribution_annot[MG_NAME_LEN]; /**< annotation networking.istio.io/traffic-distribution */
	bool has_traffic_distribution_annot;
	bool internal_traffic_local;             /**< spec.internalTrafficPolicy: Local */
	bool publish_not_ready;                  /**< spec.publishNotReadyAddresses */
	bool resolution_none;                    /**< ServiceEntry spec.resolution: NONE */
	char service_scope[MG_NAME_LEN];         /**< solo.io/service-scope (label or annotation) */
	bool service_takeover;                   /**< solo.io/service-takeover: "true" */
	char workload_selector[4][2][MG_NAME_LEN]; /**< SE spec.workloadSelector.labels (k, v) */
	uint32_t n_workload_selector;
	char annotations[8][2][MG_NAME_LEN];     /**< "meshgate.io/..." annotations (k, v), for per-service overrides */
	uint32_t n_annotations;
	struct mg_conf_src src;
};

struct mg_conf_ep_port {
	char name[MG_NAME_LEN];
	uint16_t port;
	uint8_t proto;
};

/** One address of an EndpointSlice endpoint, or one WorkloadEntry. */
struct mg_conf_endpoint {
	char service[MG_NAME_LEN];   /**< owning service (slice label kubernetes.io/service-name);
					  "" for a WorkloadEntry (matched by labels) */
	char ns[MG_NAME_LEN];
	char cluster[MG_NAME_LEN];   /**< "" = local */
	uint32_t ip;
	bool ready;                  /**< conditions.ready (absent = true) */
	bool is_workload_entry;
	uint32_t weight;             /**< WorkloadEntry weight, default 1 */
	struct mg_locality locality; /**< from nodeName's Node, the slice's zone, or WE locality/network */
	char hostname[MG_NAME_LEN];
	struct mg_conf_ep_port ports[MG_MAX_SVC_PORTS]; /**< the slice's ports / WE ports (name -> port) */
	uint32_t n_ports;
	char labels[8][2][MG_NAME_LEN]; /**< WorkloadEntry labels */
	uint32_t n_labels;
	struct mg_conf_src src;
};

/** The whole configuration. Arrays are heap-allocated; free with mg_conf_free(). */
struct mg_conf {
	char path[MG_PATH_LEN];      /**< the file it was loaded from ("<embedded>" for the default) */
	struct mg_conf_gateway gw;
	struct mg_conf_node *nodes;
	uint32_t n_nodes;
	struct mg_conf_namespace *namespaces;
	uint32_t n_namespaces;
	struct mg_conf_service *services;
	uint32_t n_services;
	struct mg_conf_endpoint *endpoints;
	uint32_t n_endpoints;
};

/**
 * Load a configuration file and every manifest it names.
 * @return the configuration, or NULL with a one-line message in @p err
 *         ("FILE:LINE: FIELD: problem").
 */
struct mg_conf *mg_conf_load_file(const char *path, char *err, size_t errlen);

/**
 * Load a configuration from memory. @p name is used in messages and
 * relative manifest paths resolve against @p base_dir (may be NULL = cwd).
 */
struct mg_conf *mg_conf_load_string(const char *yaml, size_t len, const char *name,
				    const char *base_dir, char *err, size_t errlen);

/** Free a configuration (NULL is fine). */
void mg_conf_free(struct mg_conf *c);

/**
 * Set one MeshGateway parameter at run time from text, with the loader's
 * ranges and cross-field checks: @p section "outlier" (outlierDetection),
 * "circuit" (circuitBreaker), "connect" or "healthcheck" (healthCheck);
 * @p key the YAML field name (consecutiveFailures, baseEjectionTime, ...).
 * 0, or -1 with @p err set and @p g unchanged.
 */
int mg_conf_gw_set(struct mg_conf_gateway *g, const char *section, const char *key,
		   const char *value, char *err, size_t errlen);

/** The parameter names of @p section, '#'-separated (a cmdline token's choices). */
const char *mg_conf_gw_params(const char *section, char *buf, size_t len);

/** Parse a duration ("500ms", "30s", "5m", "1h", "1h30m"); -1 on error. */
int64_t mg_conf_parse_duration_ms(const char *s);

/** Parse "a.b.c.d" or "a.b.c.d/len" (len defaults to 32); -1 on error. */
int mg_conf_parse_ipv4(const char *s, uint32_t *ip_be, uint8_t *prefix_len);

/** Find a Node by name in a cluster ("" = local); NULL if absent. */
const struct mg_conf_node *mg_conf_find_node(const struct mg_conf *c, const char *cluster,
					     const char *name);

/** Find a Namespace by name in a cluster; NULL if absent. */
const struct mg_conf_namespace *mg_conf_find_namespace(const struct mg_conf *c,
						       const char *cluster, const char *name);

/** The configuration meshgate runs when started without --config (the demo). */
extern const char mg_conf_embedded_default[];

#ifdef __cplusplus
}
#endif
#endif /* MG_CONF_H */
