/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading: files, strings, YAML streams, messages and value helpers.
 *
 * A load reads one input (a file or a string) as a multi-document YAML
 * stream with libfyaml, one document at a time, and hands every object (the
 * items of a `kind: List` one by one) to the reader of its kind: the
 * MeshGateway (mg_conf_gateway.c) or a Kubernetes/Istio object
 * (mg_conf_k8s.c). Each reader copies what meshgate uses into the plain C
 * model, so the YAML document is freed as soon as it has been read. When the
 * file that holds the MeshGateway has been read, the manifests it names are
 * loaded (paths relative to that file; a directory means every *.yaml,
 * *.yml and *.json file in it, sorted, subdirectories included), then each
 * remote cluster's manifests, whose objects get that cluster's name. Then
 * the whole model is checked (exactly one MeshGateway, no object twice) and
 * post-processed (mg_conf_locality.c).
 *
 * Messages: the first error stops the load. It is written once, as
 * "FILE:LINE: FIELD: problem", where FIELD is the object ("MeshGateway",
 * "Service demo/web") and the dotted path of the field inside it, kept in a
 * struct mg_conf_obj as the readers descend. Lines come from the scalar
 * tokens libfyaml keeps (a mapping's line is its first key's line); YAML
 * syntax errors come from a libfyaml diagnostic object whose output is
 * captured, never printed.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mg_conf_priv.h"

/* ---- messages -------------------------------------------------------- */

void
mg_conf_obj_init(struct mg_conf_obj *o, const struct mg_conf_doc *doc, struct fy_node *n,
		 const char *what, char sep)
{
	o->doc = doc;
	o->line = mg_conf_line(n, 1);
	snprintf(o->what, sizeof(o->what), "%s", what);
	o->sep = sep;
	o->path[0] = '\0';
	o->plen = 0;
}

static int
verr(struct mg_conf_loader *ld, const char *file, uint32_t line, const char *what,
     char sep, const char *path, const char *fmt, va_list ap)
{
	char msg[MG_CONF_ERR_LEN];
	char where[MG_PATH_LEN + 16];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(where, sizeof(where), "%s:%" PRIu32, file, line);
	else
		snprintf(where, sizeof(where), "%s", file);
	if (what[0] != '\0' && path[0] != '\0')
		snprintf(ld->err, ld->errlen, "%s: %s%c%s: %s", where, what, sep, path, msg);
	else if (what[0] != '\0' || path[0] != '\0')
		snprintf(ld->err, ld->errlen, "%s: %s: %s", where, what[0] ? what : path, msg);
	else
		snprintf(ld->err, ld->errlen, "%s: %s", where, msg);
	return -1;
}

int
mg_conf_err(struct mg_conf_obj *o, struct fy_node *n, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = verr(o->doc->ld, o->doc->file, mg_conf_line(n, o->line), o->what, o->sep,
		  o->path, fmt, ap);
	va_end(ap);
	return rc;
}

int
mg_conf_err_line(struct mg_conf_obj *o, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = verr(o->doc->ld, o->doc->file, line ? line : o->line, o->what, o->sep, o->path,
		  fmt, ap);
	va_end(ap);
	return rc;
}

int
mg_conf_err_at(struct mg_conf_loader *ld, const char *file, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = verr(ld, file, line, "", ' ', "", fmt, ap);
	va_end(ap);
	return rc;
}

static size_t
push_str(struct mg_conf_obj *o, const char *pre, const char *s, const char *post)
{
	size_t old = o->plen;
	int n = snprintf(o->path + o->plen, sizeof(o->path) - o->plen, "%s%s%s", pre, s, post);

	if (n > 0)
		o->plen += (size_t)n;
	if (o->plen >= sizeof(o->path))
		o->plen = sizeof(o->path) - 1;
	return old;
}

size_t
mg_conf_push(struct mg_conf_obj *o, const char *key)
{
	return push_str(o, o->plen ? "." : "", key, "");
}

size_t
mg_conf_push_idx(struct mg_conf_obj *o, uint32_t idx)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%" PRIu32, idx);
	return push_str(o, "[", buf, "]");
}

size_t
mg_conf_push_br(struct mg_conf_obj *o, const char *key)
{
	return push_str(o, "[", key, "]");
}

void
mg_conf_pop(struct mg_conf_obj *o, size_t old)
{
	o->plen = old;
	o->path[old] = '\0';
}

/* ---- YAML nodes -------------------------------------------------------- */

uint32_t
mg_conf_line(struct fy_node *n, uint32_t fallback)
{
	void *it = NULL;

	if (n == NULL)
		return fallback;
	switch (fy_node_get_type(n)) {
	case FYNT_SCALAR: {
		struct fy_token *t = fy_node_get_scalar_token(n);
		const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;

		return m ? (uint32_t)m->line + 1 : fallback;
	}
	case FYNT_MAPPING: {
		struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);

		return p ? mg_conf_line(fy_node_pair_key(p), fallback) : fallback;
	}
	case FYNT_SEQUENCE:
		return mg_conf_line(fy_node_sequence_iterate(n, &it), fallback);
	}
	return fallback;
}

bool
mg_conf_is_null(struct fy_node *n)
{
	const char *s;
	size_t len;

	if (n == NULL)
		return true;
	if (fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) != FYNS_PLAIN)
		return false;
	s = fy_node_get_scalar(n, &len);
	if (s == NULL || len == 0)
		return true;
	return (len == 1 && s[0] == '~') ||
	       (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
			     !memcmp(s, "NULL", 4)));
}

struct fy_node *
mg_conf_get(struct fy_node *map, const char *key)
{
	struct fy_node_pair *p;
	void *it = NULL;
	size_t klen = strlen(key);

	if (map == NULL || fy_node_get_type(map) != FYNT_MAPPING)
		return NULL;
	while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p);
		const char *s;
		size_t len;

		if (k == NULL || fy_node_get_type(k) != FYNT_SCALAR)
			continue;
		s = fy_node_get_scalar(k, &len);
		if (s != NULL && len == klen && memcmp(s, key, len) == 0) {
			struct fy_node *v = fy_node_pair_value(p);

			return mg_conf_is_null(v) ? NULL : v;
		}
	}
	return NULL;
}

const char *
mg_conf_scalar(struct fy_node *n, char *buf, size_t size)
{
	const char *s;
	size_t len;

	if (n == NULL || fy_node_get_type(n) != FYNT_SCALAR)
		return NULL;
	s = fy_node_get_scalar(n, &len);
	if (s == NULL)
		s = "", len = 0;
	if (len >= size)
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

/* A scalar for a message: quoted, cut short. */
static const char *
shown(struct fy_node *n, char *buf, size_t size)
{
	const char *s;
	size_t len;

	s = fy_node_get_scalar(n, &len);
	if (s == NULL)
		s = "", len = 0;
	if (len > 40)
		snprintf(buf, size, "\"%.40s...\"", s);
	else
		snprintf(buf, size, "\"%.*s\"", (int)len, s);
	return buf;
}

static const char *
type_name(struct fy_node *n)
{
	switch (fy_node_get_type(n)) {
	case FYNT_MAPPING:
		return "a mapping";
	case FYNT_SEQUENCE:
		return "a list";
	default:
		return "a scalar";
	}
}

int
mg_conf_v_map(struct mg_conf_obj *o, struct fy_node *n)
{
	if (fy_node_get_type(n) != FYNT_MAPPING)
		return mg_conf_err(o, n, "expected a mapping, got %s", type_name(n));
	return 0;
}

int
mg_conf_v_seq(struct mg_conf_obj *o, struct fy_node *n)
{
	if (fy_node_get_type(n) != FYNT_SEQUENCE)
		return mg_conf_err(o, n, "expected a list, got %s", type_name(n));
	return 0;
}

/* The scalar text of @p n in @p buf, or an error naming what was expected. */
static const char *
scalar_or_err(struct mg_conf_obj *o, struct fy_node *n, char *buf, size_t size,
	      const char *expected)
{
	char sh[64];

	if (fy_node_get_type(n) != FYNT_SCALAR) {
		mg_conf_err(o, n, "expected %s, got %s", expected, type_name(n));
		return NULL;
	}
	if (mg_conf_scalar(n, buf, size) == NULL) {
		mg_conf_err(o, n, "expected %s, got %s", expected, shown(n, sh, sizeof(sh)));
		return NULL;
	}
	return buf;
}

int
mg_conf_v_str(struct mg_conf_obj *o, struct fy_node *n, char *buf, size_t size)
{
	if (fy_node_get_type(n) != FYNT_SCALAR)
		return mg_conf_err(o, n, "expected a string, got %s", type_name(n));
	if (mg_conf_scalar(n, buf, size) == NULL)
		return mg_conf_err(o, n, "too long (at most %zu characters)", size - 1);
	return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int
mg_conf_v_u32(struct mg_conf_obj *o, struct fy_node *n, uint32_t min, uint32_t max,
	      uint32_t *out)
{
	char buf[32];
	uint64_t v;

	if (scalar_or_err(o, n, buf, sizeof(buf), "an integer") == NULL)
		return -1;
	if (parse_u64(buf, &v) < 0)
		return mg_conf_err(o, n, "expected an integer, got \"%s\"", buf);
	if (v < min || v > max)
		return mg_conf_err(o, n, "%s is out of range (%" PRIu32 "..%" PRIu32 ")", buf,
				   min, max);
	*out = (uint32_t)v;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		*out = true;
	else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		*out = false;
	else
		return -1;
	return 0;
}

int
mg_conf_v_bool(struct mg_conf_obj *o, struct fy_node *n, bool *out)
{
	char buf[16];

	if (scalar_or_err(o, n, buf, sizeof(buf), "true or false") == NULL)
		return -1;
	if (parse_bool(buf, out) < 0)
		return mg_conf_err(o, n, "expected true or false, got \"%s\"", buf);
	return 0;
}

int
mg_conf_v_duration(struct mg_conf_obj *o, struct fy_node *n, uint32_t min_ms, uint32_t *out)
{
	char buf[64];
	int64_t v;

	if (scalar_or_err(o, n, buf, sizeof(buf), "a duration") == NULL)
		return -1;
	v = mg_conf_parse_duration_ms(buf);
	if (v < 0)
		return mg_conf_err(o, n, "invalid duration \"%s\" (use e.g. 500ms, 30s, 5m, 1h)",
				   buf);
	if (v > UINT32_MAX)
		return mg_conf_err(o, n, "duration \"%s\" is too long", buf);
	if (v < min_ms)
		return mg_conf_err(o, n, "duration \"%s\" is too short (at least %" PRIu32 "ms)",
				   buf, min_ms);
	*out = (uint32_t)v;
	return 0;
}

int
mg_conf_v_double(struct mg_conf_obj *o, struct fy_node *n, double min, double max, double *out)
{
	char buf[64], *end;
	double v;

	if (scalar_or_err(o, n, buf, sizeof(buf), "a number") == NULL)
		return -1;
	errno = 0;
	v = strtod(buf, &end);
	if (buf[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v))
		return mg_conf_err(o, n, "expected a number, got \"%s\"", buf);
	if (v < min || v > max)
		return mg_conf_err(o, n, "%s is out of range (%g..%g)", buf, min, max);
	*out = v;
	return 0;
}

int
mg_conf_v_ipv4(struct mg_conf_obj *o, struct fy_node *n, bool prefix, uint32_t *ip,
	       uint8_t *plen)
{
	char buf[48];
	uint8_t len;

	if (scalar_or_err(o, n, buf, sizeof(buf), prefix ? "an IPv4 prefix" : "an IPv4 address")
	    == NULL)
		return -1;
	if (mg_conf_parse_ipv4(buf, ip, &len) < 0)
		return mg_conf_err(o, n, "invalid IPv4 %s \"%s\"", prefix ? "prefix" : "address",
				   buf);
	if (!prefix && strchr(buf, '/') != NULL)
		return mg_conf_err(o, n, "invalid IPv4 address \"%s\" (no prefix length here)",
				   buf);
	if (plen != NULL)
		*plen = len;
	return 0;
}

int
mg_conf_str(struct mg_conf_obj *o, struct fy_node *map, const char *key, char *buf, size_t size)
{
	struct fy_node *v = mg_conf_get(map, key);
	size_t old;
	int rc;

	if (v == NULL)
		return 0;
	old = mg_conf_push(o, key);
	rc = mg_conf_v_str(o, v, buf, size);
	mg_conf_pop(o, old);
	return rc < 0 ? -1 : 1;
}

int
mg_conf_u32(struct mg_conf_obj *o, struct fy_node *map, const char *key, uint32_t min,
	    uint32_t max, uint32_t *out)
{
	struct fy_node *v = mg_conf_get(map, key);
	size_t old;
	int rc;

	if (v == NULL)
		return 0;
	old = mg_conf_push(o, key);
	rc = mg_conf_v_u32(o, v, min, max, out);
	mg_conf_pop(o, old);
	return rc < 0 ? -1 : 1;
}

int
mg_conf_bool(struct mg_conf_obj *o, struct fy_node *map, const char *key, bool *out)
{
	struct fy_node *v = mg_conf_get(map, key);
	size_t old;
	int rc;

	if (v == NULL)
		return 0;
	old = mg_conf_push(o, key);
	rc = mg_conf_v_bool(o, v, out);
	mg_conf_pop(o, old);
	return rc < 0 ? -1 : 1;
}

/* ---- parse helpers (public) -------------------------------------------- */

int64_t
mg_conf_parse_duration_ms(const char *s)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000ULL }, { "m", 60000000000ULL }, { "h", 3600000000000ULL },
	};
	uint64_t total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, "0") == 0)
		return 0;
	while (*s) {
		uint64_t ip = 0, frac = 0, fscale = 1, unit = 0, v;
		int digits = 0;
		size_t ulen = 0;

		for (; *s >= '0' && *s <= '9'; s++, digits++) {
			if (ip > (UINT64_MAX - 9) / 10)
				return -1;
			ip = ip * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.') {
			for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
				if (fscale < 1000000000000000000ULL) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					fscale *= 10;
				}
			}
		}
		if (digits == 0)
			return -1;
		/* Longest unit first: "ms" before "m". */
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].name);

			if (strncmp(s, units[i].name, l) == 0 && l > ulen) {
				unit = units[i].ns;
				ulen = l;
			}
		}
		if (ulen == 0)
			return -1;
		s += ulen;
		if (ip > (uint64_t)INT64_MAX / unit)
			return -1;
		v = ip * unit;
		/* frac / fscale of a unit, without overflowing 64 bits. */
		v += (uint64_t)((double)frac * ((double)unit / (double)fscale));
		if (v > (uint64_t)INT64_MAX - total)
			return -1;
		total += v;
	}
	return (int64_t)(total / 1000000);
}

/* A decimal number of 1..maxd digits, no leading zero, at most max. */
static const char *
parse_dec(const char *s, int maxd, unsigned int max, unsigned int *out)
{
	unsigned int v = 0;
	int d = 0;

	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++d > maxd)
			return NULL;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	if (d == 0 || v > max)
		return NULL;
	*out = v;
	return s;
}

int
mg_conf_parse_ipv4(const char *s, uint32_t *ip_be, uint8_t *prefix_len)
{
	uint8_t b[4];
	unsigned int v, len = 32;
	uint32_t ip;

	if (s == NULL)
		return -1;
	for (int i = 0; i < 4; i++) {
		s = parse_dec(s, 3, 255, &v);
		if (s == NULL)
			return -1;
		b[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	if (*s == '/') {
		s = parse_dec(s + 1, 2, 32, &len);
		if (s == NULL)
			return -1;
	}
	if (*s != '\0')
		return -1;
	memcpy(&ip, b, sizeof(ip));
	if (ip_be != NULL)
		*ip_be = ip;
	if (prefix_len != NULL)
		*prefix_len = (uint8_t)len;
	return 0;
}

/* ---- the model ---------------------------------------------------------- */

static void *
grow(struct mg_conf_loader *ld, void **arr, uint32_t *n, uint32_t *cap, size_t elem)
{
	char *p;

	if (*n == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 16;
		void *na;

		if (ncap < *cap || (size_t)ncap > SIZE_MAX / elem) {
			snprintf(ld->err, ld->errlen, "%s: too many objects", ld->c->path);
			return NULL;
		}
		na = realloc(*arr, (size_t)ncap * elem);
		if (na == NULL) {
			snprintf(ld->err, ld->errlen, "%s: out of memory", ld->c->path);
			return NULL;
		}
		*arr = na;
		*cap = ncap;
	}
	p = (char *)*arr + (size_t)*n * elem;
	memset(p, 0, elem);
	(*n)++;
	return p;
}

struct mg_conf_node *
mg_conf_add_node(struct mg_conf_loader *ld)
{
	return grow(ld, (void **)&ld->c->nodes, &ld->c->n_nodes, &ld->cap_nodes,
		    sizeof(struct mg_conf_node));
}

struct mg_conf_namespace *
mg_conf_add_namespace(struct mg_conf_loader *ld)
{
	return grow(ld, (void **)&ld->c->namespaces, &ld->c->n_namespaces, &ld->cap_namespaces,
		    sizeof(struct mg_conf_namespace));
}

struct mg_conf_service *
mg_conf_add_service(struct mg_conf_loader *ld)
{
	return grow(ld, (void **)&ld->c->services, &ld->c->n_services, &ld->cap_services,
		    sizeof(struct mg_conf_service));
}

struct mg_conf_endpoint *
mg_conf_add_endpoint(struct mg_conf_loader *ld)
{
	return grow(ld, (void **)&ld->c->endpoints, &ld->c->n_endpoints, &ld->cap_endpoints,
		    sizeof(struct mg_conf_endpoint));
}

const char *
mg_conf_doc_cluster(const struct mg_conf_doc *doc)
{
	return doc->remote < 0 ? "" : doc->ld->c->gw.remotes[doc->remote].name;
}

int
mg_conf_join(char *out, size_t size, const char *dir, const char *rel)
{
	int n;

	if (rel[0] == '/' || dir[0] == '\0')
		n = snprintf(out, size, "%s", rel);
	else if (dir[strlen(dir) - 1] == '/')
		n = snprintf(out, size, "%s%s", dir, rel);
	else
		n = snprintf(out, size, "%s/%s", dir, rel);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

static void
dir_of(char *out, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, size, "%s", "");
	else if (slash == path)
		snprintf(out, size, "%s", "/");
	else
		snprintf(out, size, "%.*s", (int)(slash - path), path);
}

const struct mg_conf_node *
mg_conf_find_node(const struct mg_conf *c, const char *cluster, const char *name)
{
	if (cluster == NULL)
		cluster = "";
	for (uint32_t i = 0; i < c->n_nodes; i++)
		if (strcmp(c->nodes[i].name, name) == 0 && strcmp(c->nodes[i].cluster, cluster) == 0)
			return &c->nodes[i];
	return NULL;
}

const struct mg_conf_namespace *
mg_conf_find_namespace(const struct mg_conf *c, const char *cluster, const char *name)
{
	if (cluster == NULL)
		cluster = "";
	for (uint32_t i = 0; i < c->n_namespaces; i++)
		if (strcmp(c->namespaces[i].name, name) == 0 &&
		    strcmp(c->namespaces[i].cluster, cluster) == 0)
			return &c->namespaces[i];
	return NULL;
}

void
mg_conf_free(struct mg_conf *c)
{
	if (c == NULL)
		return;
	free(c->nodes);
	free(c->namespaces);
	free(c->services);
	free(c->endpoints);
	free(c);
}

/* ---- documents ------------------------------------------------------------ */

static int load_object(const struct mg_conf_doc *doc, struct fy_node *n);

static int
load_list(const struct mg_conf_doc *doc, struct mg_conf_obj *o, struct fy_node *n)
{
	struct fy_node *items = mg_conf_get(n, "items"), *it;
	void *iter = NULL;
	uint32_t i = 0;
	size_t old;

	if (items == NULL)
		return 0;
	mg_conf_push(o, "items");
	old = o->plen;
	if (mg_conf_v_seq(o, items) < 0)
		return -1;
	while ((it = fy_node_sequence_iterate(items, &iter)) != NULL) {
		if (!mg_conf_is_null(it)) {
			mg_conf_push_idx(o, i);
			if (mg_conf_v_map(o, it) < 0 || load_object(doc, it) < 0)
				return -1;
			mg_conf_pop(o, old);
		}
		i++;
	}
	return 0;
}

static int
load_object(const struct mg_conf_doc *doc, struct fy_node *n)
{
	struct mg_conf_obj o;
	char kind[128] = "", api[128] = "";
	int rc;

	mg_conf_obj_init(&o, doc, n, "", ' ');
	rc = mg_conf_str(&o, n, "kind", kind, sizeof(kind));
	if (rc < 0)
		return -1;
	if (rc == 0) {
		mg_conf_push(&o, "kind");
		return mg_conf_err(&o, n, "missing required field (not a Kubernetes object?)");
	}
	rc = mg_conf_str(&o, n, "apiVersion", api, sizeof(api));
	if (rc < 0)
		return -1;
	if (rc == 0) {
		mg_conf_push(&o, "apiVersion");
		return mg_conf_err(&o, n, "missing required field");
	}
	if (strcmp(kind, "List") == 0 && strcmp(api, "v1") == 0)
		return load_list(doc, &o, n);
	if (strcmp(kind, "MeshGateway") == 0)
		return mg_conf_gateway_parse(doc, n);
	return mg_conf_k8s_parse(doc, n, api, kind);
}

/* libfyaml's first error, captured from its diagnostic output. */
struct yaml_diag {
	bool got;
	uint32_t line;
	char msg[200];
};

static void
diag_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	static const char tag[] = ": error: ";
	struct yaml_diag *d = user;
	const char *p = NULL, *q, *end;
	unsigned long nums[2] = { 0, 0 };

	if (d->got || len < sizeof(tag))
		return;
	for (size_t i = 0; i + sizeof(tag) - 1 <= len; i++)
		if (memcmp(buf + i, tag, sizeof(tag) - 1) == 0) {
			p = buf + i;
			break;
		}
	if (p == NULL)
		return;
	/* "<input>:LINE:COL: error: MSG\n" */
	q = p;
	for (int k = 1; k >= 0; k--) {
		unsigned long v = 0, mul = 1;

		while (q > buf && q[-1] >= '0' && q[-1] <= '9') {
			q--;
			v += (unsigned long)(*q - '0') * mul;
			mul *= 10;
		}
		nums[k] = v;
		if (q > buf && q[-1] == ':')
			q--;
	}
	d->line = (uint32_t)nums[0];
	p += sizeof(tag) - 1;
	end = memchr(p, '\n', len - (size_t)(p - buf));
	if (end == NULL)
		end = buf + len;
	snprintf(d->msg, sizeof(d->msg), "%.*s", (int)(end - p), p);
	d->got = true;
}

static int load_pending_manifests(struct mg_conf_loader *ld);

/*
 * Is @p text YAML's kind of text? The line of the first byte that is not,
 * with why in @p why, or 0 if all is. YAML streams are Unicode text (UTF-8
 * here: RFC 3629, no overlong forms, no surrogates, nothing above U+10FFFF)
 * without C0 control characters but tab, LF and CR, nor DEL (YAML 1.2
 * c-printable). libfyaml 0.7.12 (Debian 12) is not safe on the rest, as
 * fuzz_conf found: it never returns from a directive ("%...") whose name
 * holds a byte that is not UTF-8, and it crashes freeing a parser that met
 * a NUL after a tab ("? 1:\t\0"). So the loader refuses them first.
 */
static uint32_t
text_bad_line(const char *text, size_t len, char *why, size_t whylen)
{
	const uint8_t *p = (const uint8_t *)text, *end = p + len;
	uint32_t line = 1;

	while (p < end) {
		uint8_t c = *p;
		uint32_t n, cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
				snprintf(why, whylen, "control character 0x%02x", c);
				return line;
			}
			line += c == '\n';
			p++;
			continue;
		}
		snprintf(why, whylen, "not UTF-8 text");
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return line;
		}
		if ((size_t)(end - p) <= n)
			return line;
		for (uint32_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return line;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return line;
		p += n + 1;
	}
	return 0;
}

static int
load_text(struct mg_conf_loader *ld, const char *text, size_t len, const char *file,
	  const char *dir, int remote)
{
	struct mg_conf_doc doc = { .ld = ld, .file = file, .dir = dir, .remote = remote };
	struct yaml_diag yd = { .got = false };
	struct fy_diag_cfg dc;
	struct fy_diag *diag;
	struct fy_parser *fyp;
	struct fy_document *fyd;
	int rc = 0;

	char why[64];
	uint32_t bad = text_bad_line(text, len, why, sizeof(why));

	if (bad != 0)
		return mg_conf_err_at(ld, file, bad, "YAML: %s", why);
	fy_diag_cfg_default(&dc);
	dc.fp = NULL;
	dc.output_fn = diag_output;
	dc.user = &yd;
	dc.level = FYET_ERROR;
	dc.colorize = false;
	dc.show_source = false;
	dc.show_position = true;
	dc.show_type = false;
	dc.show_module = false;
	diag = fy_diag_create(&dc);
	if (diag == NULL)
		return mg_conf_err_at(ld, file, 0, "out of memory");
	struct fy_parse_cfg pc = {
		.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT,
		.diag = diag,
	};
	fyp = fy_parser_create(&pc);
	if (fyp == NULL || fy_parser_set_string(fyp, text, len) != 0) {
		rc = mg_conf_err_at(ld, file, 0, "cannot start the YAML parser");
		goto out;
	}
	while ((fyd = fy_parse_load_document(fyp)) != NULL) {
		struct fy_node *root = fy_document_root(fyd);

		if (!mg_conf_is_null(root)) {
			if (fy_node_get_type(root) != FYNT_MAPPING)
				rc = mg_conf_err_at(ld, file, mg_conf_line(root, 1),
						    "document: expected a mapping (a Kubernetes object), got %s",
						    type_name(root));
			else
				rc = load_object(&doc, root);
		}
		fy_parse_document_destroy(fyp, fyd);
		if (rc < 0)
			goto out;
	}
	if (fy_parser_get_stream_error(fyp)) {
		if (yd.got)
			rc = mg_conf_err_at(ld, file, yd.line, "YAML: %s", yd.msg);
		else
			rc = mg_conf_err_at(ld, file, 0, "YAML: invalid document");
		/*
		 * libfyaml 0.7.12 (Debian 12) can leave its indentation stack
		 * broken after some errors ("? 11:\t:\t1:\t", found by
		 * fuzz_conf) and then crashes in fy_parser_destroy(). A parser
		 * that met a stream error is abandoned instead: it leaks what
		 * it holds (bounded by the text, once per refused load) rather
		 * than taking the control plane down.
		 */
		fyp = NULL;
		goto out;
	}
out:
	if (fyp != NULL)
		fy_parser_destroy(fyp);
	fy_diag_destroy(diag);
	if (rc == 0)
		rc = load_pending_manifests(ld);
	return rc;
}

/* Who named a manifest file, for "cannot open" messages. */
struct naming {
	const char *file;
	uint32_t line;
	const char *field;
	uint32_t idx;
};

static int
cannot(struct mg_conf_loader *ld, const char *path, const char *what, int e,
       const struct naming *by)
{
	if (by == NULL)
		return mg_conf_err_at(ld, path, 0, "%s: %s", what, strerror(e));
	return mg_conf_err_at(ld, path, 0, "%s: %s (named by %s:%" PRIu32 " %s[%" PRIu32 "])",
			      what, strerror(e), by->file, by->line, by->field, by->idx);
}

static int
load_one_file(struct mg_conf_loader *ld, const char *path, int remote, const struct naming *by)
{
	char dir[MG_PATH_LEN];
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	int rc;

	if (f == NULL)
		return cannot(ld, path, "cannot open", errno, by);
	/* Only regular files of sane size: `load /dev/zero` or a FIFO must not
	 * hang the control thread or eat its memory. */
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return mg_conf_err_at(ld, path, 0, "not a regular file");
	}
	if (st.st_size > MG_CONF_MAX_FILE) {
		fclose(f);
		return mg_conf_err_at(ld, path, 0, "larger than %d MiB", MG_CONF_MAX_FILE >> 20);
	}
	for (;;) {
		size_t n;

		if (len > MG_CONF_MAX_FILE) {
			free(buf);
			fclose(f);
			return mg_conf_err_at(ld, path, 0, "larger than %d MiB", MG_CONF_MAX_FILE >> 20);
		}

		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, ncap);

			if (nb == NULL) {
				free(buf);
				fclose(f);
				return mg_conf_err_at(ld, path, 0, "out of memory");
			}
			buf = nb;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;

		free(buf);
		fclose(f);
		return cannot(ld, path, "cannot read", e ? e : EIO, by);
	}
	fclose(f);
	buf[len] = '\0';
	dir_of(dir, sizeof(dir), path);
	rc = load_text(ld, buf, len, path, dir, remote);
	free(buf);
	return rc;
}

static int
manifest_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static bool
has_suffix(const char *s, const char *suf)
{
	size_t l = strlen(s), m = strlen(suf);

	return l > m && strcmp(s + l - m, suf) == 0;
}

static int
load_path(struct mg_conf_loader *ld, const char *path, int remote, const struct naming *by,
	  int depth)
{
	struct dirent **list = NULL;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) < 0)
		return cannot(ld, path, "cannot open", errno, by);
	if (!S_ISDIR(st.st_mode))
		return load_one_file(ld, path, remote, by);
	if (depth >= MG_CONF_MAX_DIR_DEPTH)
		return mg_conf_err_at(ld, path, 0, "directories nested too deep (at most %d)",
				      MG_CONF_MAX_DIR_DEPTH);
	n = scandir(path, &list, manifest_filter, alphasort);
	if (n < 0)
		return cannot(ld, path, "cannot open", errno, by);
	for (int i = 0; i < n; i++) {
		char sub[MG_PATH_LEN];

		if (rc == 0) {
			if (mg_conf_join(sub, sizeof(sub), path, list[i]->d_name) < 0) {
				rc = mg_conf_err_at(ld, path, 0, "%s: path too long",
						    list[i]->d_name);
			} else if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
				rc = load_path(ld, sub, remote, by, depth + 1);
			} else if (has_suffix(sub, ".yaml") || has_suffix(sub, ".yml") ||
				   has_suffix(sub, ".json")) {
				rc = load_one_file(ld, sub, remote, by);
			}
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

/* After the file holding the MeshGateway: its manifests, then the remotes'. */
static int
load_pending_manifests(struct mg_conf_loader *ld)
{
	struct mg_conf_gateway *g = &ld->c->gw;

	if (!ld->gw_manifests_pending)
		return 0;
	ld->gw_manifests_pending = false;
	for (uint32_t i = 0; i < g->n_manifests; i++) {
		struct naming by = { g->src.file, ld->gw_manifest_line[i],
				     "MeshGateway.spec.manifests", i };

		if (load_path(ld, g->manifests[i], -1, &by, 0) < 0)
			return -1;
	}
	for (uint32_t r = 0; r < g->n_remotes; r++) {
		const struct mg_conf_cluster *rc = &g->remotes[r];
		char field[96];

		snprintf(field, sizeof(field), "MeshGateway.spec.remoteClusters[%" PRIu32 "].manifests",
			 r);
		for (uint32_t i = 0; i < rc->n_manifests; i++) {
			struct naming by = { g->src.file, ld->rc_manifest_line[r][i], field, i };

			if (load_path(ld, rc->manifests[i], (int)r, &by, 0) < 0)
				return -1;
		}
	}
	return 0;
}

/* ---- loads ------------------------------------------------------------------ */

static struct mg_conf *
load(const char *yaml, size_t len, const char *name, const char *base_dir, const char *path,
     char *err, size_t errlen)
{
	struct mg_conf_loader ld;
	char dummy[8];
	int rc;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	memset(&ld, 0, sizeof(ld));
	ld.err = err;
	ld.errlen = errlen;
	ld.c = calloc(1, sizeof(*ld.c));
	if (ld.c == NULL) {
		snprintf(err, errlen, "%s: out of memory", path ? path : name);
		return NULL;
	}
	if (snprintf(ld.c->path, sizeof(ld.c->path), "%s", path ? path : name) >=
	    (int)sizeof(ld.c->path)) {
		snprintf(err, errlen, "%s: path too long (at most %d characters)",
			 path ? path : name, MG_PATH_LEN - 1);
		rc = -1;
	} else if (path != NULL) {
		rc = load_path(&ld, path, -1, NULL, 0);
	} else {
		rc = load_text(&ld, yaml, len, name, base_dir ? base_dir : "", -1);
	}
	if (rc == 0 && ld.n_gateways == 0)
		rc = mg_conf_err_at(&ld, ld.c->path, 0,
				    "MeshGateway: missing (exactly one meshgate.io/v1alpha1 MeshGateway is required)");
	if (rc == 0)
		rc = mg_conf_k8s_check_duplicates(&ld);
	if (rc == 0)
		rc = mg_conf_resolve_locality(&ld);
	if (rc < 0) {
		mg_conf_free(ld.c);
		return NULL;
	}
	return ld.c;
}

struct mg_conf *
mg_conf_load_file(const char *path, char *err, size_t errlen)
{
	if (path == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "no configuration file given");
		return NULL;
	}
	return load(NULL, 0, NULL, NULL, path, err, errlen);
}

struct mg_conf *
mg_conf_load_string(const char *yaml, size_t len, const char *name, const char *base_dir,
		    char *err, size_t errlen)
{
	if (yaml == NULL)
		yaml = "", len = 0;
	return load(yaml, len, name ? name : "<string>", base_dir, NULL, err, errlen);
}
