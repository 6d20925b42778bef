/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/neigh: learning, aging, requests, routes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <rte_ip.h>

#include "mg_test.h"
#include "mg_neigh.h"

/* Not RTE_IPV4: DPDK 22.11's shifts an int, undefined from 128.0.0.0 on (UBSan). */
#define IP(a, b, c, d) rte_cpu_to_be_32(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | \
					((uint32_t)(c) << 8) | (uint32_t)(d))

struct asked {
	uint32_t n;
	uint32_t ip[16];
};

static void
ask(void *ctx, uint32_t ip, uint16_t port)
{
	struct asked *a = ctx;

	a->ip[a->n++ % 16] = ip;
}

static void
test_learn_age_refresh(void **state)
{
	struct mg_neigh_table *t = mg_neigh_create("t_neigh", 16, 1000, SOCKET_ID_ANY);
	struct rte_ether_addr mac = { { 2, 0, 0, 0, 0, 9 } }, out = { { 0 } };
	struct asked a = { 0 };
	int idx;

	assert_non_null(t);
	idx = mg_neigh_get_or_add(t, IP(10, 20, 0, 11), 1);
	assert_int_equal(idx, 0);
	assert_false(mg_neigh_mac(t, (uint16_t)idx, &out));
	/* Unresolved: asked at once, not again before the retry time. */
	assert_int_equal(mg_neigh_age(t, 10, 300, ask, &a), 1);
	assert_int_equal(mg_neigh_age(t, 100, 300, ask, &a), 0);
	assert_int_equal(mg_neigh_age(t, 310, 300, ask, &a), 1);
	/* Learning an unknown address without create does nothing. */
	assert_true(mg_neigh_learn(t, IP(10, 20, 0, 99), 1, &mac, 400, false) < 0);
	assert_int_equal(mg_neigh_learn(t, IP(10, 20, 0, 11), 1, &mac, 400, false), idx);
	assert_true(mg_neigh_mac(t, (uint16_t)idx, &out));
	assert_true(rte_is_same_ether_addr(&out, &mac));
	/* Fresh: nothing to ask. Past half its life: refreshed, still valid. */
	assert_int_equal(mg_neigh_age(t, 800, 300, ask, &a), 0);
	assert_int_equal(mg_neigh_age(t, 1000, 300, ask, &a), 1);
	assert_true(mg_neigh_mac(t, (uint16_t)idx, &out));
	/* Past its life with no answer: invalid. */
	mg_neigh_age(t, 1500, 300, ask, &a);
	assert_false(mg_neigh_mac(t, (uint16_t)idx, &out));
	mg_neigh_free(t);
}

static void
test_learn_only_from_the_entry_port(void **state)
{
	struct mg_neigh_table *t = mg_neigh_create("t_neigh_port", 16, 1000, SOCKET_ID_ANY);
	struct rte_ether_addr good = { { 2, 0, 0, 0, 0, 9 } }, evil = { { 2, 0xde, 0xad, 0, 0, 1 } };
	struct rte_ether_addr out = { { 0 } };
	int idx;

	/* An endpoint behind port 1; a host on port 0's LAN claims its address. */
	assert_non_null(t);
	idx = mg_neigh_get_or_add(t, IP(10, 20, 0, 11), 1);
	assert_int_equal(mg_neigh_learn(t, IP(10, 20, 0, 11), 0, &evil, 100, false), -EXDEV);
	assert_false(mg_neigh_mac(t, (uint16_t)idx, &out));
	assert_int_equal(t->learn_wrong_port, 1);
	assert_int_equal(mg_neigh_learn(t, IP(10, 20, 0, 11), 1, &good, 200, false), idx);
	assert_int_equal(mg_neigh_learn(t, IP(10, 20, 0, 11), 0, &evil, 300, false), -EXDEV);
	assert_true(mg_neigh_mac(t, (uint16_t)idx, &out));
	assert_true(rte_is_same_ether_addr(&out, &good));
	assert_int_equal(t->info[idx].port_id, 1);
	assert_int_equal(t->info[idx].answers, 1);
	assert_int_equal(t->learn_wrong_port, 2);
	/* A route moving the next hop to another port (a reload) moves the entry. */
	assert_int_equal(mg_neigh_get_or_add(t, IP(10, 20, 0, 11), 0), idx);
	assert_int_equal(mg_neigh_learn(t, IP(10, 20, 0, 11), 0, &evil, 400, false), idx);
	assert_true(mg_neigh_mac(t, (uint16_t)idx, &out));
	assert_true(rte_is_same_ether_addr(&out, &evil));
	mg_neigh_free(t);
}

static void
test_table_full(void **state)
{
	struct mg_neigh_table *t = mg_neigh_create("t_neigh_full", 8, 1000, SOCKET_ID_ANY);

	for (int i = 0; i < 8; i++)
		assert_int_equal(mg_neigh_get_or_add(t, IP(10, 0, 0, i + 1), 0), i);
	assert_int_equal(mg_neigh_get_or_add(t, IP(10, 0, 0, 50), 0), -ENOSPC);
	assert_int_equal(mg_neigh_get_or_add(t, IP(10, 0, 0, 3), 0), 2);
	mg_neigh_free(t);
}

static void
test_routes_longest_prefix(void **state)
{
	struct mg_route_table rt = { 0 };
	uint32_t nh;
	uint16_t port;

	mg_route_add(&rt, IP(10, 10, 0, 1), 24, 0, 0, true);
	mg_route_add(&rt, IP(10, 20, 0, 1), 24, 0, 1, true);
	mg_route_add(&rt, IP(0, 0, 0, 0), 0, IP(10, 20, 0, 254), 1, false);
	mg_route_add(&rt, IP(192, 168, 5, 0), 24, IP(10, 10, 0, 254), 0, false);
	assert_int_equal(mg_route_lookup(&rt, IP(10, 20, 0, 11), &nh, &port), 0);
	assert_int_equal(nh, IP(10, 20, 0, 11));
	assert_int_equal(port, 1);
	assert_int_equal(mg_route_lookup(&rt, IP(192, 168, 5, 7), &nh, &port), 0);
	assert_int_equal(nh, IP(10, 10, 0, 254));
	assert_int_equal(port, 0);
	assert_int_equal(mg_route_lookup(&rt, IP(8, 8, 8, 8), &nh, &port), 0);
	assert_int_equal(nh, IP(10, 20, 0, 254));
	struct mg_route_table empty = { 0 };

	assert_int_equal(mg_route_lookup(&empty, IP(8, 8, 8, 8), &nh, &port), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learn_age_refresh),
		cmocka_unit_test(test_learn_only_from_the_entry_port),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_routes_longest_prefix),
	};

	mg_test_eal_init("test_neigh");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
