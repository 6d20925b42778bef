/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the configuration loader (lib/conf) on a YAML stream of
 * any documents -- MeshGateway, Service, EndpointSlice, Node, Namespace,
 * ServiceEntry, WorkloadEntry, and anything else -- and, for what loads,
 * the locality-table builder (lib/lb) with a resolver that routes most
 * addresses and refuses some. The input is the YAML text as is: the seed
 * corpus (corpus/conf) holds the repository's configurations.
 *
 * Manifests a MeshGateway names resolve against the working directory
 * (the fuzz run's work directory, which holds no YAML).
 */
#include "fuzz_eal.h" /* first: _GNU_SOURCE */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_byteorder.h>

#include "mg_conf.h"
#include "mg_lb.h"

static int
resolve(void *ctx, uint32_t ip, uint16_t *port_id, uint16_t *nh, uint16_t *snat_idx)
{
	uint32_t h = rte_be_to_cpu_32(ip);

	if ((h >> 16) == 0x0a63)        /* 10.99/16: no route */
		return -ENOENT;
	*port_id = (uint16_t)((h >> 8) & 1);
	*nh = (uint16_t)(h & 0xff);
	*snat_idx = *port_id;
	return 0;
}

static enum mg_lb_ep_state
health(void *ctx, uint32_t id, uint32_t *factor_permille)
{
	/* Some endpoints ejected, some weighed down, most healthy. */
	*factor_permille = (id % 3 == 1) ? 250 : 1000;
	return (id % 5 == 4) ? MG_LB_EP_EJECTED : MG_LB_EP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static uint64_t gen;
	char err[MG_CONF_ERR_LEN];
	struct mg_conf *c;

	if (!ready) {
		char lcores[32];
		char *argv[] = { "fuzz_conf", "--no-shconf", "--no-huge", "-m", "64", "--no-pci",
				 "--log-level=crit", "--file-prefix=fuzz_conf", "--lcores",
				 (char *)mg_fuzz_lcores(lcores, sizeof(lcores), 1), NULL };

		if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
			abort();
		ready = true;
	}
	c = mg_conf_load_string((const char *)data, size, "fuzz.yaml", NULL, err, sizeof(err));
	if (c == NULL) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();        /* a refusal must say why */
		return 0;
	}
	gen++;
	struct mg_lb_env env = { .resolve = resolve, .generation = gen,
				 .health = (gen & 1) ? health : NULL };
	struct mg_lb_table *t = mg_lb_build(c, &env, err, sizeof(err));

	if (t == NULL)
		mg_conf_free(c);  /* the builder takes the configuration only on success */
	else
		mg_lb_free(t);
	return 0;
}
