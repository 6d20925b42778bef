/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port profiles from drivers-conf/: one small YAML file per driver (or per
 * named profile) with the descriptor counts, RSS and offloads that suit it.
 * An operator picks one by name in MeshGateway.spec.ports[].profile; without
 * a name the profile of the port's driver is used when one exists, and the
 * built-in defaults otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libfyaml.h>

#include "mg_gw_priv.h"

static void
profile_defaults(struct mg_port_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "default");
	p->rx_desc = 1024;
	p->tx_desc = 1024;
	p->rss = true;
}

static const char *
yaml_scalar(struct fy_document *fyd, const char *path, size_t *len)
{
	struct fy_node *n = fy_node_by_path(fy_document_root(fyd), path, FY_NT,
					    FYNWF_DONT_FOLLOW);

	return n == NULL ? NULL : fy_node_get_scalar(n, len);
}

static bool
yaml_bool(struct fy_document *fyd, const char *path, bool dflt)
{
	size_t len;
	const char *v = yaml_scalar(fyd, path, &len);

	if (v == NULL)
		return dflt;
	return len == 4 && strncasecmp(v, "true", 4) == 0;
}

static uint16_t
yaml_u16(struct fy_document *fyd, const char *path, uint16_t dflt)
{
	size_t len;
	const char *v = yaml_scalar(fyd, path, &len);
	char buf[16];
	long x;

	if (v == NULL || len >= sizeof(buf))
		return dflt;
	memcpy(buf, v, len);
	buf[len] = '\0';
	x = strtol(buf, NULL, 10);
	return x > 0 && x <= 65535 ? (uint16_t)x : dflt;
}

static bool
profile_load(const char *dir, const char *name, struct mg_port_profile *p)
{
	char path[MG_PATH_LEN + MG_NAME_LEN + 8];
	struct fy_document *fyd;

	snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
	fyd = fy_document_build_from_file(NULL, path);
	if (fyd == NULL)
		return false;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->rx_desc = yaml_u16(fyd, "/rxDescriptors", p->rx_desc);
	p->tx_desc = yaml_u16(fyd, "/txDescriptors", p->tx_desc);
	p->rss = yaml_bool(fyd, "/rss", p->rss);
	p->rx_ip_cksum = yaml_bool(fyd, "/offloads/rxIpv4Checksum", p->rx_ip_cksum);
	fy_document_destroy(fyd);
	return true;
}

void
mg_profile_for(const struct mg_gw *gw, const char *name, const char *driver,
	       struct mg_port_profile *out)
{
	const char *dir = gw->opts.drivers_conf;

	profile_defaults(out);
	if (dir == NULL || dir[0] == '\0')
		return;
	if (name != NULL && name[0] != '\0' && profile_load(dir, name, out))
		return;
	profile_load(dir, driver, out);
}
