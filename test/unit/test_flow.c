/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/flow: keys, allocation, the cuckoo index (bulk and single
 * lookups, a full table, forced moves), timeout lists. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mg_test.h"
#include "mg_flow.h"

static struct rte_mempool *mp;

static void
key_of(uint32_t i, struct mg_flow_key *k)
{
	mg_flow_key_set(k, rte_cpu_to_be_32(0x0a000000 + i), rte_cpu_to_be_32(0x0a60000a),
			rte_cpu_to_be_16((uint16_t)(1024 + (i % 60000))), rte_cpu_to_be_16(80));
}

/* Give flow @p idx the client tuple @p k and, when @p ep, an endpoint tuple
 * derived from it; bind both. */
static void
flow_set_bind(struct mg_flow_table *ft, uint32_t idx, const struct mg_flow_key *k, int ep)
{
	struct mg_flow *f = mg_flow_get(ft, idx);
	struct mg_flow_key r;

	f->client_ip = k->src_ip;
	f->vip = k->dst_ip;
	f->client_port = k->src_port;
	f->vport = k->dst_port;
	assert_int_equal(mg_flow_bind(ft, k, idx, 0), 0);
	if (!ep)
		return;
	f->ep_ip = rte_cpu_to_be_32(0x0a140000 + (idx % 200));
	f->snat_ip = rte_cpu_to_be_32(0x0a150001 + (idx / 60000));
	f->ep_port = rte_cpu_to_be_16(8080);
	f->snat_port = rte_cpu_to_be_16((uint16_t)(1024 + idx % 60000));
	mg_flow_ep_key(f, &r);
	assert_int_equal(mg_flow_bind(ft, &r, idx, 1), 0);
}

static void
test_entry_is_one_cache_line(void **state)
{
	assert_int_equal(sizeof(struct mg_flow), RTE_CACHE_LINE_SIZE);
	assert_int_equal(sizeof(struct mg_flow_key), 16);
	assert_int_equal(sizeof(struct mg_flow_bucket), RTE_CACHE_LINE_SIZE);
	/* targets.md: <= 160 bytes of flow state per flow. */
	assert_true(mg_flow_bytes_per_flow() <= 160);
}

static void
test_alloc_bind_lookup_release(void **state)
{
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_a", 1024, SOCKET_ID_ANY);
	struct mg_flow_key k, r;
	uint32_t idx, ref;

	assert_non_null(ft);
	idx = mg_flow_alloc(ft);
	assert_int_not_equal(idx, MG_FLOW_NONE);
	struct mg_flow *f = mg_flow_get(ft, idx);

	key_of(7, &k);
	f->client_ip = k.src_ip;
	f->vip = k.dst_ip;
	f->client_port = k.src_port;
	f->vport = k.dst_port;
	f->ep_ip = rte_cpu_to_be_32(0x0a14000b);
	f->snat_ip = rte_cpu_to_be_32(0x0a140001);
	f->ep_port = rte_cpu_to_be_16(8080);
	f->snat_port = rte_cpu_to_be_16(4000);
	assert_int_equal(mg_flow_bind(ft, &k, idx, 0), 0);
	mg_flow_ep_key(f, &r);
	assert_int_equal(mg_flow_bind(ft, &r, idx, 1), 0);
	ref = mg_flow_lookup(ft, &k);
	assert_int_equal(MG_FLOW_REF_IDX(ref), idx);
	assert_int_equal(MG_FLOW_REF_DIR(ref), 0);
	ref = mg_flow_lookup(ft, &r);
	assert_int_equal(MG_FLOW_REF_IDX(ref), idx);
	assert_int_equal(MG_FLOW_REF_DIR(ref), 1);
	assert_int_equal(mg_flow_count(ft), 1);
	mg_flow_release(ft, idx);
	assert_int_equal(mg_flow_lookup(ft, &k), MG_FLOW_NONE);
	assert_int_equal(mg_flow_lookup(ft, &r), MG_FLOW_NONE);
	assert_int_equal(mg_flow_count(ft), 0);
	mg_flow_table_free(ft);
}

/* A stale result stands only for a live flow that still spells the key. */
static void
test_recheck_after_key_changes(void **state)
{
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_rc", 1024, SOCKET_ID_ANY);
	struct mg_flow_key k, other;
	uint32_t a, b, ref;

	(void)state;
	assert_non_null(ft);
	key_of(11, &k);
	key_of(12, &other);
	a = mg_flow_alloc(ft);
	flow_set_bind(ft, a, &k, 0);
	mg_flow_get(ft, a)->state = 1;
	ref = mg_flow_lookup(ft, &k);
	/* still right: kept */
	assert_int_equal(mg_flow_lookup_recheck(ft, &k, ref), ref);
	/* nothing found before, the key bound since: found now */
	assert_int_equal(mg_flow_lookup_recheck(ft, &k, MG_FLOW_NONE), ref);
	/* the flow ended: its stale reference is not kept */
	mg_flow_release(ft, a);
	assert_int_equal(mg_flow_lookup_recheck(ft, &k, ref), MG_FLOW_NONE);
	/* its slot reused by another key's flow: the stale reference is not kept,
	 * and the new flow is found under its own key */
	b = mg_flow_alloc(ft);
	assert_int_equal(b, a);
	flow_set_bind(ft, b, &other, 0);
	mg_flow_get(ft, b)->state = 1;
	assert_int_equal(mg_flow_lookup_recheck(ft, &k, ref), MG_FLOW_NONE);
	assert_int_equal(mg_flow_lookup_recheck(ft, &other, ref), MG_FLOW_REF(b, 0));
	mg_flow_table_free(ft);
}

static void
test_full_table_refuses(void **state)
{
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_full", 64, SOCKET_ID_ANY);

	for (int i = 0; i < 64; i++)
		assert_int_not_equal(mg_flow_alloc(ft), MG_FLOW_NONE);
	assert_int_equal(mg_flow_alloc(ft), MG_FLOW_NONE);
	mg_flow_release(ft, 10);
	assert_int_equal(mg_flow_alloc(ft), 10);
	mg_flow_table_free(ft);
}

static void
test_bulk_lookup(void **state)
{
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_bulk", 4096, SOCKET_ID_ANY);
	struct mg_flow_key keys[32];
	const struct mg_flow_key *kp[32];
	uint32_t refs[32];

	for (uint32_t i = 0; i < 32; i++) {
		key_of(i, &keys[i]);
		kp[i] = &keys[i];
		if (i % 2 == 0)
			flow_set_bind(ft, mg_flow_alloc(ft), &keys[i], 0);
	}
	mg_flow_lookup_bulk(ft, kp, 32, refs);
	for (uint32_t i = 0; i < 32; i++) {
		if (i % 2 == 0)
			assert_int_equal(refs[i], mg_flow_lookup(ft, &keys[i]));
		else
			assert_int_equal(refs[i], MG_FLOW_NONE);
	}
	mg_flow_table_free(ft);
}

/* Every flow with both keys bound: the index at its 2/3 load ceiling.
 * Then every key found in bulk and alone, a rebind moves nothing, and
 * releasing all of them empties the index. */
static void
test_full_index_both_keys(void **state)
{
	enum { N = 100000 };
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_fullidx", N, SOCKET_ID_ANY);
	struct mg_flow_key k, r;
	const struct mg_flow_key *kp[MG_FLOW_LOOKUP_BULK_MAX];
	struct mg_flow_key keys[MG_FLOW_LOOKUP_BULK_MAX];
	uint32_t refs[MG_FLOW_LOOKUP_BULK_MAX];

	assert_non_null(ft);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t idx = mg_flow_alloc(ft);

		key_of(i * 7919u, &k); /* scattered addresses and ports */
		flow_set_bind(ft, idx, &k, 1);
	}
	assert_int_equal(mg_flow_alloc(ft), MG_FLOW_NONE);
	assert_int_equal(ft->n_keys, 2 * N);
	assert_int_equal(mg_flow_index_slots_used(ft), 2 * N);
	print_message("  %u keys in %u buckets: %" PRIu64 " cuckoo moves\n", 2 * N, ft->n_buckets,
		      ft->key_moves);
	assert_true(ft->key_moves > 0);
	for (uint32_t base = 0; base < N; base += MG_FLOW_LOOKUP_BULK_MAX) {
		uint32_t n = RTE_MIN((uint32_t)MG_FLOW_LOOKUP_BULK_MAX, N - base);

		for (uint32_t j = 0; j < n; j++) {
			struct mg_flow *f = mg_flow_get(ft, base + j);

			if (j % 2)
				mg_flow_ep_key(f, &keys[j]);
			else
				mg_flow_client_key(f, &keys[j]);
			kp[j] = &keys[j];
		}
		mg_flow_lookup_bulk(ft, kp, n, refs);
		for (uint32_t j = 0; j < n; j++)
			assert_int_equal(refs[j], MG_FLOW_REF(base + j, j % 2));
	}
	for (uint32_t i = 0; i < N; i++) {
		mg_flow_ep_key(mg_flow_get(ft, i), &r);
		assert_int_equal(mg_flow_lookup(ft, &r), MG_FLOW_REF(i, 1));
		assert_int_equal(mg_flow_bind(ft, &r, i, 1), 0);
	}
	assert_int_equal(ft->n_keys, 2 * N);
	for (uint32_t i = 0; i < N; i++)
		mg_flow_release(ft, i);
	assert_int_equal(ft->n_keys, 0);
	for (uint32_t b = 0; b < ft->n_buckets; b++)
		for (int s = 0; s < MG_FLOW_BUCKET_SLOTS; s++)
			assert_int_equal(ft->buckets[b].sig[s], 0);
	mg_flow_table_free(ft);
}

/* Sixteen flows, 32 keys in six buckets of eight: a key's two buckets
 * are often full, so inserts move keys to their other bucket, or fail
 * whole. Every bound key stays findable through the moves, a refused one
 * is absent, and releasing everything empties the index. */
static void
test_cuckoo_moves_keep_keys(void **state)
{
	enum { N = 16 };
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_tiny", N, SOCKET_ID_ANY);
	struct mg_flow_key k[2];
	uint32_t refused = 0;

	assert_non_null(ft);
	assert_int_equal(ft->n_buckets, 6);
	for (uint32_t round = 0; round < 3000; round++) {
		int bound[N][2];
		uint32_t n_bound = 0;

		for (uint32_t i = 0; i < N; i++) {
			uint32_t idx = mg_flow_alloc(ft);
			struct mg_flow *f = mg_flow_get(ft, idx);

			key_of(round * N + i, &k[0]);
			f->client_ip = k[0].src_ip;
			f->vip = k[0].dst_ip;
			f->client_port = k[0].src_port;
			f->vport = k[0].dst_port;
			f->ep_ip = rte_cpu_to_be_32(0x0b000000 + round * N + i);
			f->snat_ip = rte_cpu_to_be_32(0x0a150001);
			f->ep_port = rte_cpu_to_be_16(8080);
			f->snat_port = rte_cpu_to_be_16((uint16_t)(2000 + i));
			mg_flow_ep_key(f, &k[1]);
			for (int d = 0; d < 2; d++) {
				int rc = mg_flow_bind(ft, &k[d], idx, d);

				assert_true(rc == 0 || rc == -ENOSPC);
				bound[idx][d] = rc == 0;
				n_bound += rc == 0;
				refused += rc != 0;
			}
		}
		assert_int_equal(ft->n_keys, n_bound);
		for (uint32_t i = 0; i < N; i++) {
			mg_flow_client_key(mg_flow_get(ft, i), &k[0]);
			mg_flow_ep_key(mg_flow_get(ft, i), &k[1]);
			for (int d = 0; d < 2; d++)
				assert_int_equal(mg_flow_lookup(ft, &k[d]),
						 bound[i][d] ? MG_FLOW_REF(i, d) : MG_FLOW_NONE);
		}
		for (uint32_t i = 0; i < N; i++)
			mg_flow_release(ft, i);
		assert_int_equal(ft->n_keys, 0);
	}
	print_message("  cuckoo moves %" PRIu64 ", refused binds %u of %u\n",
		      ft->key_moves, refused, 3000 * 2 * N);
	assert_true(ft->key_moves > 0);
	assert_true(refused < 3000 * 2 * N / 100);
	mg_flow_table_free(ft);
}

/* A key may be bound only to a flow whose fields spell it: anything else
 * could never be found again, so it is refused. */
static void
test_bind_refuses_foreign_key(void **state)
{
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_foreign", 16, SOCKET_ID_ANY);
	struct mg_flow_key k, other;
	uint32_t idx = mg_flow_alloc(ft);

	key_of(1, &k);
	key_of(2, &other);
	flow_set_bind(ft, idx, &k, 0);
	assert_int_equal(mg_flow_bind(ft, &other, idx, 0), -EINVAL);
	assert_int_equal(mg_flow_lookup(ft, &other), MG_FLOW_NONE);
	assert_int_equal(mg_flow_bind(ft, &k, idx, 1), -EINVAL); /* wrong side */
	assert_int_equal(ft->n_keys, 1);
	mg_flow_table_free(ft);
}

struct expired {
	uint32_t n;
	uint32_t idx[64];
	struct mg_flow_table *ft;
};

static void
on_expire(void *ctx, uint32_t idx)
{
	struct expired *e = ctx;

	e->idx[e->n++] = idx;
	mg_flow_release(e->ft, idx);
}

static void
test_timeouts_fifo_and_refresh(void **state)
{
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_to", 64, SOCKET_ID_ANY);
	struct expired e = { .ft = ft };
	uint32_t a = mg_flow_alloc(ft), b = mg_flow_alloc(ft), c = mg_flow_alloc(ft);

	mg_flow_timer_set(ft, a, 1, 100);
	mg_flow_timer_set(ft, b, 1, 110);
	mg_flow_timer_set(ft, c, 2, 105);
	assert_int_equal(mg_flow_expire(ft, 99, 64, on_expire, &e), 0);
	assert_int_equal(mg_flow_expire(ft, 106, 64, on_expire, &e), 2);
	assert_int_equal(e.idx[0], a);
	assert_int_equal(e.idx[1], c);
	/* b refreshed: its deadline moved on, it must not expire at 110. */
	mg_flow_touch(mg_flow_get(ft, b), 200);
	assert_int_equal(mg_flow_expire(ft, 150, 64, on_expire, &e), 0);
	assert_int_equal(mg_flow_expire(ft, 200, 64, on_expire, &e), 1);
	assert_int_equal(e.idx[2], b);
	assert_int_equal(mg_flow_count(ft), 0);
	mg_flow_table_free(ft);
}

static void
test_timeouts_clock_wrap(void **state)
{
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_wrap", 8, SOCKET_ID_ANY);
	struct expired e = { .ft = ft };
	uint32_t a = mg_flow_alloc(ft);

	mg_flow_timer_set(ft, a, 0, 5); /* deadline just after the wrap */
	assert_int_equal(mg_flow_expire(ft, UINT32_MAX - 10, 8, on_expire, &e), 0);
	assert_int_equal(mg_flow_expire(ft, 6, 8, on_expire, &e), 1);
	mg_flow_table_free(ft);
}

static void
test_many_flows_random_churn(void **state)
{
	enum { N = 20000 };
	struct mg_flow_table *ft = mg_flow_table_create("t_flow_churn", N, SOCKET_ID_ANY);
	static uint32_t live[N];
	uint32_t n_live = 0;
	uint64_t x = 88172645463325252ull;

	for (int round = 0; round < 200000; round++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if ((x & 1) && n_live < N) {
			uint32_t idx = mg_flow_alloc(ft);
			struct mg_flow *f = mg_flow_get(ft, idx);
			struct mg_flow_key k;

			assert_int_not_equal(idx, MG_FLOW_NONE);
			f->client_ip = (uint32_t)(x >> 32) | 1;
			f->vip = 0x0a60000a;
			f->client_port = (uint16_t)(idx + 1);
			f->vport = 80;
			mg_flow_client_key(f, &k);
			assert_int_equal(mg_flow_bind(ft, &k, idx, 0), 0);
			mg_flow_timer_set(ft, idx, (uint8_t)(x % 8), (uint32_t)round);
			live[n_live++] = idx;
		} else if (n_live > 0) {
			uint32_t pos = (uint32_t)((x >> 8) % n_live);
			uint32_t idx = live[pos];
			struct mg_flow_key k;

			mg_flow_client_key(mg_flow_get(ft, idx), &k);
			assert_int_equal(MG_FLOW_REF_IDX(mg_flow_lookup(ft, &k)), idx);
			mg_flow_release(ft, idx);
			assert_int_equal(mg_flow_lookup(ft, &k), MG_FLOW_NONE);
			live[pos] = live[--n_live];
		}
		assert_int_equal(mg_flow_count(ft), n_live);
	}
	mg_flow_table_free(ft);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_is_one_cache_line),
		cmocka_unit_test(test_alloc_bind_lookup_release),
		cmocka_unit_test(test_recheck_after_key_changes),
		cmocka_unit_test(test_full_table_refuses),
		cmocka_unit_test(test_bulk_lookup),
		cmocka_unit_test(test_full_index_both_keys),
		cmocka_unit_test(test_cuckoo_moves_keep_keys),
		cmocka_unit_test(test_bind_refuses_foreign_key),
		cmocka_unit_test(test_timeouts_fifo_and_refresh),
		cmocka_unit_test(test_timeouts_clock_wrap),
		cmocka_unit_test(test_many_flows_random_churn),
	};

	mp = mg_test_eal_init("test_flow");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
