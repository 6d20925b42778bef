/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_CONF_PRIV_H
#define MG_CONF_PRIV_H

/*
 * Shared between the parts of the configuration loader (mg_conf.c: files,
 * documents, messages and value helpers; mg_conf_gateway.c: MeshGateway;
 * mg_conf_k8s.c: Kubernetes and Istio objects; mg_conf_locality.c: the
 * post-processing). Not installed, not for other libraries.
 *
 * Every parse function returns 0 on success and -1 after it wrote the one
 * error message with mg_conf_err(); nothing ever prints.
 */

#include <libfyaml.h>

#include "mg_conf.h"

#define MG_CONF_MAX_DIR_DEPTH 8   /**< nested directories named as manifests */
#define MG_CONF_MAX_FILE (64 << 20) /**< bytes of one YAML file, at most */
#define MG_CONF_GW_MANIFESTS 16   /**< sizeof mg_conf_gateway.manifests */
#define MG_CONF_RC_MANIFESTS 8    /**< sizeof mg_conf_cluster.manifests */

/** State of one load (mg_conf_load_file / mg_conf_load_string). */
struct mg_conf_loader {
	struct mg_conf *c;
	char *err;
	size_t errlen;
	uint32_t cap_nodes, cap_namespaces, cap_services, cap_endpoints;
	uint32_t n_gateways;
	/* The MeshGateway's manifests are still to load, and the lines that
	 * named them (for "cannot open" messages). */
	bool gw_manifests_pending;
	uint32_t gw_manifest_line[MG_CONF_GW_MANIFESTS];
	uint32_t rc_manifest_line[MG_MAX_CLUSTERS][MG_CONF_RC_MANIFESTS];
};

/** One input file (or string) being read. */
struct mg_conf_doc {
	struct mg_conf_loader *ld;
	const char *file;   /**< name used in messages */
	const char *dir;    /**< directory relative paths resolve against; "" = cwd */
	int remote;         /**< -1 = local cluster, else index in gw.remotes */
};

/** The object being read, and the field path inside it, for messages. */
struct mg_conf_obj {
	const struct mg_conf_doc *doc;
	uint32_t line;      /**< the object's first line */
	char what[200];     /**< "MeshGateway", "Service demo/web", "" */
	char sep;           /**< between what and path: '.' or ' ' */
	char path[320];     /**< "spec.ports[0].port" */
	size_t plen;
};

/* ---- mg_conf.c: messages ---- */

void mg_conf_obj_init(struct mg_conf_obj *o, const struct mg_conf_doc *doc,
		      struct fy_node *n, const char *what, char sep);
int mg_conf_err(struct mg_conf_obj *o, struct fy_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** As mg_conf_err(), at a line remembered earlier (0 = the object's line). */
int mg_conf_err_line(struct mg_conf_obj *o, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int mg_conf_err_at(struct mg_conf_loader *ld, const char *file, uint32_t line,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
size_t mg_conf_push(struct mg_conf_obj *o, const char *key);
size_t mg_conf_push_idx(struct mg_conf_obj *o, uint32_t idx);
size_t mg_conf_push_br(struct mg_conf_obj *o, const char *key);
void mg_conf_pop(struct mg_conf_obj *o, size_t old);

/* ---- mg_conf.c: YAML nodes ---- */

uint32_t mg_conf_line(struct fy_node *n, uint32_t fallback);
bool mg_conf_is_null(struct fy_node *n);
/** The value of @p key in mapping @p map; NULL if absent, null, or map is no mapping. */
struct fy_node *mg_conf_get(struct fy_node *map, const char *key);
/** Scalar text as a NUL-terminated temporary copy (NULL if not a scalar or too long). */
const char *mg_conf_scalar(struct fy_node *n, char *buf, size_t size);

/*
 * Value readers. The _v forms read node @p n (the path already names it);
 * the keyed forms look @p key up in @p map, return 0 if it is absent and
 * 1 if it was read. All return -1 after writing an error.
 */
int mg_conf_v_map(struct mg_conf_obj *o, struct fy_node *n);
int mg_conf_v_seq(struct mg_conf_obj *o, struct fy_node *n);
int mg_conf_v_str(struct mg_conf_obj *o, struct fy_node *n, char *buf, size_t size);
int mg_conf_v_u32(struct mg_conf_obj *o, struct fy_node *n, uint32_t min, uint32_t max,
		  uint32_t *out);
int mg_conf_v_bool(struct mg_conf_obj *o, struct fy_node *n, bool *out);
int mg_conf_v_duration(struct mg_conf_obj *o, struct fy_node *n, uint32_t min_ms,
		       uint32_t *out);
int mg_conf_v_double(struct mg_conf_obj *o, struct fy_node *n, double min, double max,
		     double *out);
int mg_conf_v_ipv4(struct mg_conf_obj *o, struct fy_node *n, bool prefix, uint32_t *ip,
		   uint8_t *plen);

int mg_conf_str(struct mg_conf_obj *o, struct fy_node *map, const char *key, char *buf,
		size_t size);
int mg_conf_u32(struct mg_conf_obj *o, struct fy_node *map, const char *key, uint32_t min,
		uint32_t max, uint32_t *out);
int mg_conf_bool(struct mg_conf_obj *o, struct fy_node *map, const char *key, bool *out);

/* ---- mg_conf.c: model ---- */

struct mg_conf_node *mg_conf_add_node(struct mg_conf_loader *ld);
struct mg_conf_namespace *mg_conf_add_namespace(struct mg_conf_loader *ld);
struct mg_conf_service *mg_conf_add_service(struct mg_conf_loader *ld);
struct mg_conf_endpoint *mg_conf_add_endpoint(struct mg_conf_loader *ld);
/** The cluster name objects of @p doc belong to ("" = local). */
const char *mg_conf_doc_cluster(const struct mg_conf_doc *doc);
/** dir + "/" + rel (rel if absolute or dir empty); -1 if too long. */
int mg_conf_join(char *out, size_t size, const char *dir, const char *rel);

/* ---- mg_conf_gateway.c ---- */

int mg_conf_gateway_parse(const struct mg_conf_doc *doc, struct fy_node *obj);

/* ---- mg_conf_k8s.c ---- */

/** Read a Kubernetes/Istio object; objects of other kinds are ignored (0). */
int mg_conf_k8s_parse(const struct mg_conf_doc *doc, struct fy_node *obj,
		      const char *api_version, const char *kind);
/** Same object twice (kind, cluster, namespace, name) is an error. */
int mg_conf_k8s_check_duplicates(struct mg_conf_loader *ld);

/* ---- mg_conf_locality.c ---- */

int mg_conf_resolve_locality(struct mg_conf_loader *ld);

#endif /* MG_CONF_PRIV_H */
