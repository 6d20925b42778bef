/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_TEST_H
#define MG_TEST_H
/* Shared helpers for the cmocka unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_lcore.h>

/* Start the EAL in memory, no hugepages, no devices: enough for mempools. */
static inline struct rte_mempool *
mg_test_eal_init(const char *prog)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s", prog);
	char *argv[] = { (char *)prog, "--no-shconf", "--no-huge", "-m", "256",
			 "--no-pci", "--log-level=error", prefix, "-l", "0", NULL };
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "%s: cannot start the EAL\n", prog);
		exit(1);
	}
	struct rte_mempool *mp = rte_pktmbuf_pool_create("test_pool", 4095, 0, 0,
				RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (mp == NULL) {
		fprintf(stderr, "%s: cannot create the mbuf pool\n", prog);
		exit(1);
	}
	return mp;
}

/* Write @p text to @p dir/@p name (a test's own temporary directory); aborts on failure. */
static inline void
mg_test_write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		abort();
	}
}
#endif
