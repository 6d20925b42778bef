/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_lb: the cost of one endpoint pick, in nanoseconds and TSC cycles,
 * for services of 3, 100 and 10,000 endpoints; in one tier (Any) and with
 * the best tier empty of eligible endpoints (a retry that skips the tried
 * ones). A benchmark, not a test: it prints figures and asserts nothing.
 *
 *   build/test/bench/bench_lb [iterations]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip.h>

#include "mg_lb.h"

static int
resolve(void *ctx, uint32_t ip, uint16_t *port_id, uint16_t *nh, uint16_t *snat_idx)
{
	*port_id = 0;
	*nh = 0;
	*snat_idx = 0;
	return 0;
}

static struct mg_lb_table *
build(uint32_t n, const char *mode, uint64_t gen)
{
	size_t cap = 4096 + (size_t)n * 80;
	char *y = malloc(cap), err[512];
	size_t k = (size_t)snprintf(y, cap,
		"apiVersion: meshgate.io/v1alpha1\nkind: MeshGateway\nmetadata: {name: b}\n"
		"spec:\n  network: n1\n  locality: {region: r1, zone: z1}\n"
		"  ports: [{name: p, device: net_null0, address: 10.0.0.1/8}]\n---\n"
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		"metadata: {name: s, namespace: b, annotations: {networking.istio.io/traffic-distribution: %s}}\n"
		"spec:\n  hosts: [s.b]\n  addresses: [10.96.0.1]\n  ports: [{number: 80, name: http}]\n"
		"  resolution: STATIC\n  endpoints:\n", mode);

	for (uint32_t i = 0; i < n; i++)
		k += (size_t)snprintf(y + k, cap - k, "  - {address: 10.%u.%u.%u, locality: r1/z%u, weight: %u}\n",
				      1 + i / 65536, (i / 256) % 256, i % 256, i % 4, 1 + i % 3);
	struct mg_conf *c = mg_conf_load_string(y, k, "bench", NULL, err, sizeof(err));
	struct mg_lb_env env = { .resolve = resolve, .generation = gen };
	struct mg_lb_table *t = c ? mg_lb_build(c, &env, err, sizeof(err)) : NULL;

	free(y);
	if (t == NULL) {
		fprintf(stderr, "bench_lb: %s\n", err);
		exit(1);
	}
	return t;
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "--no-shconf", "-m", "512", "--no-pci",
			"--log-level=error", "-l", "0", NULL };
	uint32_t iters = argc > 1 ? (uint32_t)atoi(argv[1]) : 2000000;
	static const uint32_t sizes[] = { 3, 100, 10000 };
	uint64_t gen = 0, seed = 88172645463325252ull;
	volatile uint32_t sink = 0;

	if (rte_eal_init(9, eal) < 0)
		return 1;
	printf("%-8s %-16s %12s %12s\n", "endpoints", "case", "ns/pick", "cycles/pick");
	for (size_t si = 0; si < 3; si++) {
		for (int retry = 0; retry < 2; retry++) {
			struct mg_lb_table *t = build(sizes[si], retry ? "PreferSameZone" : "Any", ++gen);
			const struct mg_lb_svc *s = mg_lb_lookup(t, rte_cpu_to_be_32(RTE_IPV4(10, 96, 0, 1)),
								 rte_cpu_to_be_16(80));
			uint32_t tried[2] = { 0, 0 };
			uint32_t nt = 0;

			if (retry) {
				/* Exclude the whole best tier when it has one or two endpoints,
				 * else two of it: the pick falls back to a linear pass. */
				for (uint32_t i = 0; i < s->tier_count[0] && i < 2; i++)
					tried[nt++] = t->eps[s->ep_first + s->tier_first[0] + i].id;
			}
			uint64_t start = rte_rdtsc_precise();

			for (uint32_t i = 0; i < iters; i++) {
				seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
				const struct mg_lb_ep *ep = mg_lb_pick(t, s, (uint32_t)seed, tried, nt);

				sink += ep->port;
			}
			uint64_t cyc = rte_rdtsc_precise() - start;
			double per = (double)cyc / iters;

			printf("%-8u %-16s %12.1f %12.1f\n", sizes[si],
			       retry ? "retry, 2 tried" : "first pick", per * 1e9 / rte_get_tsc_hz(), per);
			mg_lb_free(t);
		}
	}
	(void)sink;
	rte_eal_cleanup();
	return 0;
}
