/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kubernetes and Istio objects: Node, Namespace, Service, EndpointSlice,
 * ServiceEntry, WorkloadEntry.
 *
 * These are read the way Kubernetes clients read them: by looking up the
 * fields meshgate uses and ignoring every other one, so a `kubectl get -o
 * yaml` dump (status, managedFields, resourceVersion, ...) loads unchanged,
 * and objects of other kinds (Pod, ConfigMap, a Service of another API
 * group) are skipped. An object kind is (API group, kind); a known kind with
 * an API version meshgate does not read is an error rather than a silent
 * skip. What is read is checked as strictly as the MeshGateway: a value that
 * does not fit its field (bad address, port out of range, a name longer than
 * the model's buffer, more ports than MG_MAX_SVC_PORTS) is an error naming
 * the object and field, e.g. "Service demo/web spec.ports[0].port".
 *
 * Each EndpointSlice address, each WorkloadEntry and each inline
 * ServiceEntry endpoint becomes one struct mg_conf_endpoint. What they say
 * about locality (nodeName, zone, WorkloadEntry locality and network) is
 * kept as given; mg_conf_locality.c completes it once everything is loaded.
 * Objects of a remote cluster's manifests get that cluster's name.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_conf_priv.h"

enum kind { K_NODE, K_NAMESPACE, K_SERVICE, K_SLICE, K_SE, K_WE };

static const struct {
	const char *kind;
	const char *group;
	const char *versions[4];
	bool namespaced;
	enum kind k;
} kinds[] = {
	{ "Node", "", { "v1" }, false, K_NODE },
	{ "Namespace", "", { "v1" }, false, K_NAMESPACE },
	{ "Service", "", { "v1" }, true, K_SERVICE },
	{ "EndpointSlice", "discovery.k8s.io", { "v1" }, true, K_SLICE },
	{ "ServiceEntry", "networking.istio.io", { "v1", "v1beta1", "v1alpha3" }, true, K_SE },
	{ "WorkloadEntry", "networking.istio.io", { "v1", "v1beta1", "v1alpha3" }, true, K_WE },
};

#define ANN_TD "networking.istio.io/traffic-distribution"
#define ANN_SCOPE "solo.io/service-scope"
#define ANN_TAKEOVER "solo.io/service-takeover"
#define ANN_MESHGATE "meshgate.io/"
#define LBL_SVC_NAME "kubernetes.io/service-name"
#define LBL_REGION "topology.kubernetes.io/region"
#define LBL_ZONE "topology.kubernetes.io/zone"
#define LBL_SUBZONE "topology.istio.io/subzone"

struct meta {
	char name[MG_NAME_LEN];
	char ns[MG_NAME_LEN];
	struct fy_node *labels;
	struct fy_node *annotations;
};

/* metadata: name (required), namespace, labels, annotations; names the object. */
static int
read_meta(struct mg_conf_obj *o, struct fy_node *obj, const char *kind, bool namespaced,
	  struct meta *m)
{
	struct fy_node *md = mg_conf_get(obj, "metadata");
	int rc;

	memset(m, 0, sizeof(*m));
	mg_conf_push(o, "metadata");
	if (md != NULL && mg_conf_v_map(o, md) < 0)
		return -1;
	rc = mg_conf_str(o, md, "name", m->name, sizeof(m->name));
	if (rc < 0)
		return -1;
	if (rc == 0 || m->name[0] == '\0') {
		mg_conf_push(o, "name");
		return mg_conf_err(o, md ? md : obj, "missing required field");
	}
	if (namespaced) {
		if (mg_conf_str(o, md, "namespace", m->ns, sizeof(m->ns)) < 0)
			return -1;
		if (m->ns[0] == '\0')
			snprintf(m->ns, sizeof(m->ns), "%s", "default");
	}
	m->labels = mg_conf_get(md, "labels");
	m->annotations = mg_conf_get(md, "annotations");
	if (namespaced)
		snprintf(o->what, sizeof(o->what), "%s %s/%s", kind, m->ns, m->name);
	else
		snprintf(o->what, sizeof(o->what), "%s %s", kind, m->name);
	mg_conf_pop(o, 0);
	return 0;
}

/*
 * A label or annotation meshgate keeps: 1 if present, 0 if not, -1 if its
 * value does not fit.
 */
static int
meta_value(struct mg_conf_obj *o, struct fy_node *map, const char *which, const char *key,
	   char *buf, size_t size)
{
	struct fy_node *v = mg_conf_get(map, key);
	size_t old;
	int rc;

	if (v == NULL) {
		/* Present with a null value (`key:`): recorded as empty. */
		struct fy_node_pair *p;
		void *it = NULL;

		while (map != NULL && fy_node_get_type(map) == FYNT_MAPPING &&
		       (p = fy_node_mapping_iterate(map, &it)) != NULL) {
			char k[256];

			if (mg_conf_scalar(fy_node_pair_key(p), k, sizeof(k)) != NULL &&
			    strcmp(k, key) == 0) {
				buf[0] = '\0';
				return 1;
			}
		}
		return 0;
	}
	old = mg_conf_push(o, which);
	mg_conf_push_br(o, key);
	rc = mg_conf_v_str(o, v, buf, size);
	mg_conf_pop(o, old);
	return rc < 0 ? -1 : 1;
}

static int
check_map(struct mg_conf_obj *o, struct fy_node *n, const char *which)
{
	size_t old;
	int rc = 0;

	if (n != NULL) {
		old = mg_conf_push(o, which);
		rc = mg_conf_v_map(o, n);
		mg_conf_pop(o, old);
	}
	return rc;
}

static void
set_src(struct mg_conf_src *src, const struct mg_conf_obj *o, struct fy_node *n)
{
	snprintf(src->file, sizeof(src->file), "%s", o->doc->file);
	src->line = mg_conf_line(n, o->line);
}

/* The value's scalar text (for protocol names and the like); "" if none. */
static const char *
text(struct fy_node *n, char *buf, size_t size)
{
	if (mg_conf_scalar(n, buf, size) == NULL)
		buf[0] = '\0';
	return buf;
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* An address that is meant as IPv4 (digits, dots, a prefix), not a name or IPv6. */
static bool
looks_ipv4(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '.' || *s == '/'))
			return false;
	return true;
}

/*
 * Kubernetes protocol names: TCP, UDP, SCTP. 0 = SCTP (meshgate serves no
 * SCTP: such ports are skipped), -1 = error written.
 */
static int
k8s_proto(struct mg_conf_obj *o, struct fy_node *port, uint8_t *proto)
{
	struct fy_node *v = mg_conf_get(port, "protocol");
	char buf[16];
	size_t old;

	*proto = MG_PROTO_TCP;
	if (v == NULL)
		return 1;
	text(v, buf, sizeof(buf));
	if (strcmp(buf, "TCP") == 0)
		return 1;
	if (strcmp(buf, "UDP") == 0) {
		*proto = MG_PROTO_UDP;
		return 1;
	}
	if (strcmp(buf, "SCTP") == 0)
		return 0;
	old = mg_conf_push(o, "protocol");
	mg_conf_err(o, v, "unknown protocol (expected TCP, UDP or SCTP)");
	mg_conf_pop(o, old);
	return -1;
}

/* Istio port protocols: UDP is UDP, every other one runs over TCP. */
static uint8_t
istio_proto(struct fy_node *port)
{
	char buf[32];

	text(mg_conf_get(port, "protocol"), buf, sizeof(buf));
	return strcasecmp(buf, "UDP") == 0 ? MG_PROTO_UDP : MG_PROTO_TCP;
}

/* "region/zone/subzone" (any suffix may be left out). */
static int
read_locality(struct mg_conf_obj *o, struct fy_node *map, struct mg_locality *loc)
{
	struct fy_node *v = mg_conf_get(map, "locality");
	char buf[3 * MG_NAME_LEN + 8], *parts[3] = { loc->region, loc->zone, loc->subzone };
	char *s, *slash;
	size_t old;
	int rc = 0;

	if (v == NULL)
		return 0;
	old = mg_conf_push(o, "locality");
	if (mg_conf_v_str(o, v, buf, sizeof(buf)) < 0)
		return -1;
	s = buf;
	for (int i = 0; i < 3 && rc == 0; i++) {
		slash = strchr(s, '/');
		if (slash != NULL)
			*slash = '\0';
		if (strlen(s) >= MG_NAME_LEN)
			rc = mg_conf_err(o, v, "part %d too long (at most %d characters)", i + 1,
					 MG_NAME_LEN - 1);
		else
			snprintf(parts[i], MG_NAME_LEN, "%s", s);
		if (slash == NULL)
			break;
		s = slash + 1;
		if (i == 2)
			rc = mg_conf_err(o, v, "expected region/zone/subzone");
	}
	mg_conf_pop(o, old);
	return rc;
}

/* A string-to-string map (labels) into (k, v) pairs. */
static int
read_pairs(struct mg_conf_obj *o, struct fy_node *map, const char *key, char (*out)[2][MG_NAME_LEN],
	   uint32_t max, uint32_t *count)
{
	struct fy_node *m = mg_conf_get(map, key);
	struct fy_node_pair *p;
	void *it = NULL;
	size_t old;
	uint32_t n = 0;

	if (m == NULL)
		return 0;
	old = mg_conf_push(o, key);
	if (mg_conf_v_map(o, m) < 0)
		return -1;
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		size_t o2;

		if (n >= max)
			return mg_conf_err(o, k, "too many entries (at most %" PRIu32 ")", max);
		if (mg_conf_v_str(o, k, out[n][0], MG_NAME_LEN) < 0)
			return -1;
		o2 = mg_conf_push_br(o, out[n][0]);
		if (v != NULL && !mg_conf_is_null(v) && mg_conf_v_str(o, v, out[n][1], MG_NAME_LEN) < 0)
			return -1;
		mg_conf_pop(o, o2);
		n++;
	}
	*count = n;
	mg_conf_pop(o, old);
	return 0;
}

/* ---- Node, Namespace ---- */

static int
node_parse(struct mg_conf_obj *o, struct fy_node *obj, const struct meta *m)
{
	struct mg_conf_node *nd = mg_conf_add_node(o->doc->ld);

	if (nd == NULL)
		return -1;
	snprintf(nd->name, sizeof(nd->name), "%s", m->name);
	snprintf(nd->cluster, sizeof(nd->cluster), "%s", mg_conf_doc_cluster(o->doc));
	snprintf(nd->locality.node, sizeof(nd->locality.node), "%s", m->name);
	set_src(&nd->src, o, obj);
	if (meta_value(o, m->labels, "metadata.labels", LBL_REGION, nd->locality.region,
		       MG_NAME_LEN) < 0 ||
	    meta_value(o, m->labels, "metadata.labels", LBL_ZONE, nd->locality.zone,
		       MG_NAME_LEN) < 0 ||
	    meta_value(o, m->labels, "metadata.labels", LBL_SUBZONE, nd->locality.subzone,
		       MG_NAME_LEN) < 0)
		return -1;
	return 0;
}

/* solo.io/service-scope: the annotation, else the label. */
static int
service_scope(struct mg_conf_obj *o, const struct meta *m, char *buf)
{
	int rc = meta_value(o, m->annotations, "metadata.annotations", ANN_SCOPE, buf, MG_NAME_LEN);

	if (rc == 0)
		rc = meta_value(o, m->labels, "metadata.labels", ANN_SCOPE, buf, MG_NAME_LEN);
	return rc < 0 ? -1 : 0;
}

static int
namespace_parse(struct mg_conf_obj *o, struct fy_node *obj, const struct meta *m)
{
	struct mg_conf_namespace *ns = mg_conf_add_namespace(o->doc->ld);

	if (ns == NULL)
		return -1;
	snprintf(ns->name, sizeof(ns->name), "%s", m->name);
	snprintf(ns->cluster, sizeof(ns->cluster), "%s", mg_conf_doc_cluster(o->doc));
	set_src(&ns->src, o, obj);
	if (meta_value(o, m->annotations, "metadata.annotations", ANN_TD, ns->traffic_distribution,
		       MG_NAME_LEN) < 0)
		return -1;
	return service_scope(o, m, ns->service_scope);
}

/* ---- Service, ServiceEntry ---- */

/* Annotations and labels common to Service and ServiceEntry. */
static int
service_meta(struct mg_conf_obj *o, const struct meta *m, struct mg_conf_service *s)
{
	struct fy_node_pair *p;
	void *it = NULL;
	char buf[MG_NAME_LEN];
	int rc;

	rc = meta_value(o, m->annotations, "metadata.annotations", ANN_TD,
			s->traffic_distribution_annot, MG_NAME_LEN);
	if (rc < 0)
		return -1;
	s->has_traffic_distribution_annot = rc == 1;
	if (service_scope(o, m, s->service_scope) < 0)
		return -1;
	rc = meta_value(o, m->annotations, "metadata.annotations", ANN_TAKEOVER, buf, sizeof(buf));
	if (rc == 0)
		rc = meta_value(o, m->labels, "metadata.labels", ANN_TAKEOVER, buf, sizeof(buf));
	if (rc < 0)
		return -1;
	s->service_takeover = rc == 1 && strcasecmp(buf, "true") == 0;
	if (m->annotations == NULL)
		return 0;
	while ((p = fy_node_mapping_iterate(m->annotations, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		char key[256];
		size_t old;

		if (mg_conf_scalar(k, key, sizeof(key)) == NULL ||
		    strncmp(key, ANN_MESHGATE, strlen(ANN_MESHGATE)) != 0)
			continue;
		old = mg_conf_push(o, "metadata.annotations");
		mg_conf_push_br(o, key);
		if (s->n_annotations >= 8)
			return mg_conf_err(o, k, "too many meshgate.io/ annotations (at most 8)");
		if (strlen(key) >= MG_NAME_LEN)
			return mg_conf_err(o, k, "key too long (at most %d characters)",
					   MG_NAME_LEN - 1);
		snprintf(s->annotations[s->n_annotations][0], MG_NAME_LEN, "%s", key);
		if (!mg_conf_is_null(v) &&
		    mg_conf_v_str(o, v, s->annotations[s->n_annotations][1], MG_NAME_LEN) < 0)
			return -1;
		s->n_annotations++;
		mg_conf_pop(o, old);
	}
	return 0;
}

/* One IPv4 VIP; IPv6 and "None" are skipped. @p prefix: a /32 is allowed. */
static int
add_vip(struct mg_conf_obj *o, struct fy_node *v, struct mg_conf_service *s, bool prefix)
{
	char buf[64];
	uint32_t ip;
	uint8_t plen;

	if (fy_node_get_type(v) != FYNT_SCALAR)
		return mg_conf_v_str(o, v, buf, sizeof(buf));
	text(v, buf, sizeof(buf));
	if (buf[0] == '\0' || strcmp(buf, "None") == 0 || strchr(buf, ':') != NULL)
		return 0;
	if (mg_conf_v_ipv4(o, v, prefix, &ip, &plen) < 0)
		return -1;
	if (plen != 32)
		return mg_conf_err(o, v, "address ranges are not supported (only single addresses, /32)");
	for (uint32_t i = 0; i < s->n_vips; i++)
		if (s->vips[i] == ip)
			return 0;
	if (s->n_vips >= MG_MAX_VIPS)
		return mg_conf_err(o, v, "too many addresses (at most %d)", MG_MAX_VIPS);
	s->vips[s->n_vips++] = ip;
	return 0;
}

static int
add_vips(struct mg_conf_obj *o, struct fy_node *spec, const char *key, struct mg_conf_service *s,
	 bool prefix)
{
	struct fy_node *l = mg_conf_get(spec, key), *item;
	void *it = NULL;
	size_t old;
	uint32_t i = 0;

	if (l == NULL)
		return 0;
	old = mg_conf_push(o, key);
	if (mg_conf_v_seq(o, l) < 0)
		return -1;
	while ((item = fy_node_sequence_iterate(l, &it)) != NULL) {
		size_t o2 = mg_conf_push_idx(o, i++);

		if (add_vip(o, item, s, prefix) < 0)
			return -1;
		mg_conf_pop(o, o2);
	}
	mg_conf_pop(o, old);
	return 0;
}

/* targetPort: a number, or the name of an endpoint port. */
static int
target_port(struct mg_conf_obj *o, struct fy_node *port, struct mg_conf_svc_port *sp)
{
	struct fy_node *v = mg_conf_get(port, "targetPort");
	char buf[MG_NAME_LEN];
	size_t old;
	uint32_t x;
	int rc = 0;

	if (v == NULL)
		return 0;
	old = mg_conf_push(o, "targetPort");
	if (mg_conf_v_str(o, v, buf, sizeof(buf)) < 0)
		return -1;
	if (all_digits(buf)) {
		rc = mg_conf_v_u32(o, v, 1, 65535, &x);
		sp->target_port = (uint16_t)x;
	} else if (buf[0] == '\0') {
		rc = mg_conf_err(o, v, "empty port name");
	} else {
		snprintf(sp->target_port_name, sizeof(sp->target_port_name), "%s", buf);
	}
	mg_conf_pop(o, old);
	return rc;
}

/* spec.ports of a Service (@p se false) or a ServiceEntry. */
static int
service_ports(struct mg_conf_obj *o, struct fy_node *spec, struct mg_conf_service *s, bool se)
{
	struct fy_node *l = mg_conf_get(spec, "ports"), *item;
	void *it = NULL;
	size_t old;
	uint32_t i = 0;

	if (l == NULL)
		return 0;
	old = mg_conf_push(o, "ports");
	if (mg_conf_v_seq(o, l) < 0)
		return -1;
	while ((item = fy_node_sequence_iterate(l, &it)) != NULL) {
		size_t o2 = mg_conf_push_idx(o, i++);
		struct mg_conf_svc_port *sp = &s->ports[s->n_ports];
		const char *pkey = se ? "number" : "port";
		uint32_t x;
		int rc;

		if (mg_conf_v_map(o, item) < 0)
			return -1;
		if (s->n_ports >= MG_MAX_SVC_PORTS)
			return mg_conf_err(o, item, "too many ports (at most %d)", MG_MAX_SVC_PORTS);
		memset(sp, 0, sizeof(*sp));
		if (se) {
			sp->proto = istio_proto(item);
		} else {
			rc = k8s_proto(o, item, &sp->proto);
			if (rc < 0)
				return -1;
			if (rc == 0) {  /* SCTP */
				mg_conf_pop(o, o2);
				continue;
			}
		}
		if (mg_conf_str(o, item, "name", sp->name, sizeof(sp->name)) < 0)
			return -1;
		rc = mg_conf_u32(o, item, pkey, 1, 65535, &x);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			mg_conf_push(o, pkey);
			return mg_conf_err(o, item, "missing required field");
		}
		sp->port = (uint16_t)x;
		if (target_port(o, item, sp) < 0)
			return -1;
		s->n_ports++;
		mg_conf_pop(o, o2);
	}
	mg_conf_pop(o, old);
	return 0;
}

static struct mg_conf_service *
new_service(struct mg_conf_obj *o, struct fy_node *obj, const struct meta *m)
{
	struct mg_conf_service *s = mg_conf_add_service(o->doc->ld);

	if (s == NULL)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", m->name);
	snprintf(s->ns, sizeof(s->ns), "%s", m->ns);
	snprintf(s->cluster, sizeof(s->cluster), "%s", mg_conf_doc_cluster(o->doc));
	set_src(&s->src, o, obj);
	return s;
}

static int
service_parse(struct mg_conf_obj *o, struct fy_node *obj, const struct meta *m)
{
	struct fy_node *spec = mg_conf_get(obj, "spec");
	struct mg_conf_service *s = new_service(o, obj, m);
	struct fy_node *v;
	char buf[MG_NAME_LEN] = "";

	if (s == NULL || service_meta(o, m, s) < 0)
		return -1;
	if (spec == NULL)
		return 0;
	mg_conf_push(o, "spec");
	if (mg_conf_v_map(o, spec) < 0)
		return -1;
	v = mg_conf_get(spec, "clusterIP");
	if (v != NULL) {
		mg_conf_push(o, "clusterIP");
		if (add_vip(o, v, s, false) < 0)
			return -1;
		mg_conf_pop(o, strlen("spec"));
	}
	if (add_vips(o, spec, "clusterIPs", s, false) < 0 || service_ports(o, spec, s, false) < 0)
		return -1;
	if (mg_conf_str(o, spec, "trafficDistribution", s->traffic_distribution_spec,
			sizeof(s->traffic_distribution_spec)) < 0)
		return -1;
	if (mg_conf_str(o, spec, "internalTrafficPolicy", buf, sizeof(buf)) < 0)
		return -1;
	s->internal_traffic_local = strcmp(buf, "Local") == 0;
	if (mg_conf_bool(o, spec, "publishNotReadyAddresses", &s->publish_not_ready) < 0)
		return -1;
	return 0;
}

/* ---- endpoints ---- */

static struct mg_conf_endpoint *
new_endpoint(struct mg_conf_obj *o, struct fy_node *n, const char *service, const char *ns)
{
	struct mg_conf_endpoint *e = mg_conf_add_endpoint(o->doc->ld);

	if (e == NULL)
		return NULL;
	snprintf(e->service, sizeof(e->service), "%s", service);
	snprintf(e->ns, sizeof(e->ns), "%s", ns);
	snprintf(e->cluster, sizeof(e->cluster), "%s", mg_conf_doc_cluster(o->doc));
	e->ready = true;
	e->weight = 1;
	set_src(&e->src, o, n);
	return e;
}

static int
slice_ports(struct mg_conf_obj *o, struct fy_node *obj, struct mg_conf_ep_port *ports,
	    uint32_t *n_ports)
{
	struct fy_node *l = mg_conf_get(obj, "ports"), *item;
	void *it = NULL;
	size_t old;
	uint32_t i = 0;

	*n_ports = 0;
	if (l == NULL)
		return 0;
	old = mg_conf_push(o, "ports");
	if (mg_conf_v_seq(o, l) < 0)
		return -1;
	while ((item = fy_node_sequence_iterate(l, &it)) != NULL) {
		size_t o2 = mg_conf_push_idx(o, i++);
		struct mg_conf_ep_port *p = &ports[*n_ports];
		uint32_t x;
		int rc;

		if (mg_conf_v_map(o, item) < 0)
			return -1;
		if (*n_ports >= MG_MAX_SVC_PORTS)
			return mg_conf_err(o, item, "too many ports (at most %d)", MG_MAX_SVC_PORTS);
		memset(p, 0, sizeof(*p));
		rc = k8s_proto(o, item, &p->proto);
		if (rc < 0)
			return -1;
		if (mg_conf_str(o, item, "name", p->name, sizeof(p->name)) < 0)
			return -1;
		x = 0;
		if (mg_conf_u32(o, item, "port", 1, 65535, &x) < 0)
			return -1;
		/* SCTP, or no port number ("all ports"): nothing to connect to. */
		if (rc == 1 && x != 0) {
			p->port = (uint16_t)x;
			(*n_ports)++;
		}
		mg_conf_pop(o, o2);
	}
	mg_conf_pop(o, old);
	return 0;
}

static int
slice_parse(struct mg_conf_obj *o, struct fy_node *obj, const struct meta *m)
{
	struct mg_conf_ep_port ports[MG_MAX_SVC_PORTS];
	char svc[MG_NAME_LEN], type[16];
	struct fy_node *eps, *item;
	void *it = NULL;
	uint32_t n_ports, i = 0;
	int rc;

	rc = meta_value(o, m->labels, "metadata.labels", LBL_SVC_NAME, svc, sizeof(svc));
	if (rc <= 0 || svc[0] == '\0')
		return rc;  /* not a Service's slice */
	rc = mg_conf_str(o, obj, "addressType", type, sizeof(type));
	if (rc < 0)
		return -1;
	if (rc == 0) {
		mg_conf_push(o, "addressType");
		return mg_conf_err(o, obj, "missing required field");
	}
	if (strcmp(type, "IPv4") != 0)
		return 0;  /* IPv6, FQDN */
	if (slice_ports(o, obj, ports, &n_ports) < 0)
		return -1;
	eps = mg_conf_get(obj, "endpoints");
	if (eps == NULL)
		return 0;
	mg_conf_push(o, "endpoints");
	if (mg_conf_v_seq(o, eps) < 0)
		return -1;
	while ((item = fy_node_sequence_iterate(eps, &it)) != NULL) {
		size_t o2 = mg_conf_push_idx(o, i++);
		struct fy_node *addrs, *a, *cond;
		char node[MG_NAME_LEN] = "", zone[MG_NAME_LEN] = "", host[MG_NAME_LEN] = "";
		bool ready = true;
		void *ait = NULL;
		uint32_t k = 0;

		if (mg_conf_v_map(o, item) < 0)
			return -1;
		cond = mg_conf_get(item, "conditions");
		if (cond != NULL) {
			size_t o3 = mg_conf_push(o, "conditions");

			if (mg_conf_v_map(o, cond) < 0 || mg_conf_bool(o, cond, "ready", &ready) < 0)
				return -1;
			mg_conf_pop(o, o3);
		}
		if (mg_conf_str(o, item, "nodeName", node, sizeof(node)) < 0 ||
		    mg_conf_str(o, item, "zone", zone, sizeof(zone)) < 0 ||
		    mg_conf_str(o, item, "hostname", host, sizeof(host)) < 0)
			return -1;
		addrs = mg_conf_get(item, "addresses");
		if (addrs == NULL) {
			mg_conf_push(o, "addresses");
			return mg_conf_err(o, item, "missing required field");
		}
		mg_conf_push(o, "addresses");
		if (mg_conf_v_seq(o, addrs) < 0)
			return -1;
		while ((a = fy_node_sequence_iterate(addrs, &ait)) != NULL) {
			size_t o3 = mg_conf_push_idx(o, k++);
			struct mg_conf_endpoint *e;
			uint32_t ip;

			if (mg_conf_v_ipv4(o, a, false, &ip, NULL) < 0)
				return -1;
			e = new_endpoint(o, a, svc, m->ns);
			if (e == NULL)
				return -1;
			e->ip = ip;
			e->ready = ready;
			snprintf(e->locality.node, MG_NAME_LEN, "%s", node);
			snprintf(e->locality.zone, MG_NAME_LEN, "%s", zone);
			snprintf(e->hostname, MG_NAME_LEN, "%s", host);
			memcpy(e->ports, ports, sizeof(ports[0]) * n_ports);
			e->n_ports = n_ports;
			mg_conf_pop(o, o3);
		}
		mg_conf_pop(o, o2);
	}
	return 0;
}

/*
 * What a WorkloadEntry spec and an inline ServiceEntry endpoint share:
 * address, ports (name -> number), locality, network, weight, labels.
 * Returns 0 without an endpoint when the address is not IPv4 (a DNS name, an
 * IPv6 address, a Unix socket, or none: reached through its network's
 * gateway), which meshgate cannot dial.
 */
static int
workload(struct mg_conf_obj *o, struct fy_node *w, const char *service, const char *ns,
	 const struct mg_conf_service *se, struct mg_conf_endpoint **out)
{
	struct fy_node *v = mg_conf_get(w, "address"), *ports;
	struct mg_conf_endpoint *e;
	char buf[64];
	uint32_t ip;
	size_t old;

	*out = NULL;
	if (v == NULL)
		return 0;
	old = mg_conf_push(o, "address");
	if (fy_node_get_type(v) != FYNT_SCALAR)
		return mg_conf_v_str(o, v, buf, sizeof(buf));
	if (!looks_ipv4(text(v, buf, sizeof(buf)))) {
		mg_conf_pop(o, old);
		return 0;
	}
	if (mg_conf_v_ipv4(o, v, false, &ip, NULL) < 0)
		return -1;
	mg_conf_pop(o, old);
	e = new_endpoint(o, v, service, ns);
	if (e == NULL)
		return -1;
	e->ip = ip;
	if (mg_conf_str(o, w, "network", e->locality.network, MG_NAME_LEN) < 0 ||
	    read_locality(o, w, &e->locality) < 0 ||
	    mg_conf_u32(o, w, "weight", 0, UINT32_MAX, &e->weight) < 0 ||
	    read_pairs(o, w, "labels", e->labels, 8, &e->n_labels) < 0)
		return -1;
	ports = mg_conf_get(w, "ports");
	if (ports != NULL) {
		struct fy_node_pair *p;
		void *it = NULL;

		old = mg_conf_push(o, "ports");
		if (mg_conf_v_map(o, ports) < 0)
			return -1;
		while ((p = fy_node_mapping_iterate(ports, &it)) != NULL) {
			struct mg_conf_ep_port *ep = &e->ports[e->n_ports];
			struct fy_node *k = fy_node_pair_key(p), *pv = fy_node_pair_value(p);
			size_t o2;
			uint32_t x;

			if (e->n_ports >= MG_MAX_SVC_PORTS)
				return mg_conf_err(o, k, "too many ports (at most %d)", MG_MAX_SVC_PORTS);
			if (mg_conf_v_str(o, k, ep->name, sizeof(ep->name)) < 0)
				return -1;
			o2 = mg_conf_push_br(o, ep->name);
			if (mg_conf_is_null(pv))
				return mg_conf_err(o, k, "missing port number");
			if (mg_conf_v_u32(o, pv, 1, 65535, &x) < 0)
				return -1;
			ep->port = (uint16_t)x;
			ep->proto = MG_PROTO_TCP;
			for (uint32_t i = 0; se != NULL && i < se->n_ports; i++)
				if (strcmp(se->ports[i].name, ep->name) == 0)
					ep->proto = se->ports[i].proto;
			e->n_ports++;
			mg_conf_pop(o, o2);
		}
		mg_conf_pop(o, old);
	}
	*out = e;
	return 0;
}

static int
service_entry_parse(struct mg_conf_obj *o, struct fy_node *obj, const struct meta *m)
{
	struct fy_node *spec = mg_conf_get(obj, "spec"), *l, *item, *ws;
	struct mg_conf_service *s = new_service(o, obj, m);
	char buf[MG_NAME_LEN];
	void *it = NULL;
	uint32_t i = 0, idx;
	int rc;

	if (s == NULL)
		return -1;
	idx = (uint32_t)(s - o->doc->ld->c->services);
	s->is_service_entry = true;
	s->resolution_none = true;  /* Istio's default resolution is NONE */
	if (service_meta(o, m, s) < 0)
		return -1;
	if (spec == NULL)
		return 0;
	mg_conf_push(o, "spec");
	if (mg_conf_v_map(o, spec) < 0)
		return -1;
	l = mg_conf_get(spec, "hosts");
	if (l != NULL) {
		mg_conf_push(o, "hosts");
		if (mg_conf_v_seq(o, l) < 0)
			return -1;
		while ((item = fy_node_sequence_iterate(l, &it)) != NULL) {
			size_t o2 = mg_conf_push_idx(o, i++);

			if (s->n_hosts >= MG_MAX_VIPS)
				return mg_conf_err(o, item, "too many hosts (at most %d)", MG_MAX_VIPS);
			if (mg_conf_v_str(o, item, s->hosts[s->n_hosts], sizeof(s->hosts[0])) < 0)
				return -1;
			s->n_hosts++;
			mg_conf_pop(o, o2);
		}
		mg_conf_pop(o, strlen("spec"));
	}
	if (add_vips(o, spec, "addresses", s, true) < 0 || service_ports(o, spec, s, true) < 0)
		return -1;
	rc = mg_conf_str(o, spec, "resolution", buf, sizeof(buf));
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (strcmp(buf, "NONE") != 0 && strcmp(buf, "STATIC") != 0 &&
		    strcmp(buf, "DNS") != 0 && strcmp(buf, "DNS_ROUND_ROBIN") != 0) {
			mg_conf_push(o, "resolution");
			return mg_conf_err(o, mg_conf_get(spec, "resolution"),
					   "unknown resolution \"%s\" (expected NONE, STATIC, DNS or DNS_ROUND_ROBIN)",
					   buf);
		}
		s->resolution_none = strcmp(buf, "NONE") == 0;
	}
	ws = mg_conf_get(spec, "workloadSelector");
	if (ws != NULL) {
		mg_conf_push(o, "workloadSelector");
		if (mg_conf_v_map(o, ws) < 0 ||
		    read_pairs(o, ws, "labels", s->workload_selector, 4, &s->n_workload_selector) < 0)
			return -1;
		mg_conf_pop(o, strlen("spec"));
	}
	l = mg_conf_get(spec, "endpoints");
	if (l == NULL)
		return 0;
	mg_conf_push(o, "endpoints");
	if (mg_conf_v_seq(o, l) < 0)
		return -1;
	it = NULL;
	i = 0;
	while ((item = fy_node_sequence_iterate(l, &it)) != NULL) {
		size_t o2 = mg_conf_push_idx(o, i++);
		struct mg_conf_endpoint *e;

		if (mg_conf_v_map(o, item) < 0)
			return -1;
		/* Adding endpoints never moves services: s stays valid. */
		s = &o->doc->ld->c->services[idx];
		if (workload(o, item, s->name, s->ns, s, &e) < 0)
			return -1;
		mg_conf_pop(o, o2);
	}
	return 0;
}

static int
workload_entry_parse(struct mg_conf_obj *o, struct fy_node *obj, const struct meta *m)
{
	struct fy_node *spec = mg_conf_get(obj, "spec");
	struct mg_conf_endpoint *e;

	if (spec == NULL)
		return 0;
	mg_conf_push(o, "spec");
	if (mg_conf_v_map(o, spec) < 0 || workload(o, spec, "", m->ns, NULL, &e) < 0)
		return -1;
	if (e != NULL) {
		e->is_workload_entry = true;
		snprintf(e->hostname, sizeof(e->hostname), "%s", m->name);
		set_src(&e->src, o, obj);
	}
	return 0;
}

/* ---- dispatch ---- */

int
mg_conf_k8s_parse(const struct mg_conf_doc *doc, struct fy_node *obj, const char *api_version,
		  const char *kind)
{
	const char *slash = strchr(api_version, '/');
	const char *version = slash ? slash + 1 : api_version;
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	struct mg_conf_obj o;
	struct meta m;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, kind) == 0 && strlen(kinds[i].group) == glen &&
		    strncmp(kinds[i].group, api_version, glen) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return 0;  /* a kind meshgate does not use */
	mg_conf_obj_init(&o, doc, obj, kind, ' ');
	for (int v = 0;; v++) {
		if (v == 4 || kinds[i].versions[v] == NULL) {
			mg_conf_push(&o, "apiVersion");
			return mg_conf_err(&o, mg_conf_get(obj, "apiVersion"),
					   "unsupported version \"%s\" (meshgate reads %s%s%s)",
					   api_version, kinds[i].group, kinds[i].group[0] ? "/" : "",
					   kinds[i].versions[0]);
		}
		if (strcmp(kinds[i].versions[v], version) == 0)
			break;
	}
	if (read_meta(&o, obj, kind, kinds[i].namespaced, &m) < 0 ||
	    check_map(&o, m.labels, "metadata.labels") < 0 ||
	    check_map(&o, m.annotations, "metadata.annotations") < 0)
		return -1;
	switch (kinds[i].k) {
	case K_NODE:
		return node_parse(&o, obj, &m);
	case K_NAMESPACE:
		return namespace_parse(&o, obj, &m);
	case K_SERVICE:
		return service_parse(&o, obj, &m);
	case K_SLICE:
		return slice_parse(&o, obj, &m);
	case K_SE:
		return service_entry_parse(&o, obj, &m);
	case K_WE:
		return workload_entry_parse(&o, obj, &m);
	}
	return 0;
}

/* ---- the same object twice ---- */

struct objkey {
	const char *kind, *cluster, *ns, *name;
	const struct mg_conf_src *src;
	uint32_t order;
};

static int
objkey_cmp(const void *a, const void *b)
{
	const struct objkey *x = a, *y = b;
	int c;

	if ((c = strcmp(x->kind, y->kind)) != 0 || (c = strcmp(x->cluster, y->cluster)) != 0 ||
	    (c = strcmp(x->ns, y->ns)) != 0 || (c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

int
mg_conf_k8s_check_duplicates(struct mg_conf_loader *ld)
{
	const struct mg_conf *c = ld->c;
	size_t n = (size_t)c->n_nodes + c->n_namespaces + c->n_services, k = 0;
	struct objkey *keys;
	int rc = 0;

	if (n < 2)
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (keys == NULL)
		return mg_conf_err_at(ld, c->path, 0, "out of memory");
	for (uint32_t i = 0; i < c->n_nodes; i++, k++)
		keys[k] = (struct objkey){ "Node", c->nodes[i].cluster, "", c->nodes[i].name,
					   &c->nodes[i].src, (uint32_t)k };
	for (uint32_t i = 0; i < c->n_namespaces; i++, k++)
		keys[k] = (struct objkey){ "Namespace", c->namespaces[i].cluster, "",
					   c->namespaces[i].name, &c->namespaces[i].src,
					   (uint32_t)k };
	for (uint32_t i = 0; i < c->n_services; i++, k++) {
		const struct mg_conf_service *s = &c->services[i];

		keys[k] = (struct objkey){ s->is_service_entry ? "ServiceEntry" : "Service",
					   s->cluster, s->ns, s->name, &s->src, (uint32_t)k };
	}
	qsort(keys, n, sizeof(*keys), objkey_cmp);
	for (k = 1; k < n && rc == 0; k++) {
		const struct objkey *a = &keys[k - 1], *b = &keys[k];

		if (objkey_cmp(a, b) != 0 && strcmp(a->kind, b->kind) == 0 &&
		    strcmp(a->cluster, b->cluster) == 0 && strcmp(a->ns, b->ns) == 0 &&
		    strcmp(a->name, b->name) == 0)
			rc = mg_conf_err_at(ld, b->src->file, b->src->line,
					    "%s %s%s%s: defined twice (first at %s:%" PRIu32 ")",
					    b->kind, b->ns, b->ns[0] ? "/" : "", b->name,
					    a->src->file, a->src->line);
	}
	free(keys);
	return rc;
}
