/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/outlier with a clock of their own: the acceptance
 * scenarios 27 to 38 of semantics.md section 8 that do not need HBONE
 * (33 does; 34, 35 and 28's tier failover are in test_lb.c, 37 in
 * test_proxy.c), and the circuit breaker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "mg_outlier.h"

#define A 0x0b00000a /* any two endpoint ids */
#define B 0x0c00000a

static struct mg_conf_outlier params = {
	.consecutive_failures = 5, .interval_ms = 10000, .base_ejection_ms = 30000,
	.max_ejection_ms = 300000, .max_ejection_percent = 100, .ewma_alpha = 0.3,
	.readmit_score = 0.5, .enabled = true,
};
static struct mg_conf_circuit nolimit;

static struct mg_outlier *
two(void)
{
	struct mg_outlier *o = mg_outlier_create(&params, &nolimit);
	uint32_t ids[] = { A, B };

	assert_non_null(o);
	assert_int_equal(mg_outlier_sync(o, ids, 2), 0);
	return o;
}

static void
fail_n(struct mg_outlier *o, uint32_t id, int n, uint64_t now)
{
	for (int i = 0; i < n; i++) {
		mg_outlier_event(o, id, MG_OL_START, 0, now);
		mg_outlier_event(o, id, MG_OL_REFUSED, 0, now);
	}
}

static enum mg_lb_ep_state
state(struct mg_outlier *o, uint32_t id, uint32_t *f)
{
	uint32_t dummy;

	return mg_outlier_state(o, id, f ? f : &dummy);
}

static void
scenario_27_consecutive_failures_eject(void **s)
{
	struct mg_outlier *o = two();
	uint32_t f, prev = 1000;

	for (int i = 1; i <= 4; i++) {
		fail_n(o, A, 1, 1000);
		assert_int_equal(state(o, A, &f), MG_LB_EP_OK);
		assert_true(f < prev); /* its share falls with every failure (EWMA) */
		prev = f;
	}
	assert_true(prev < 500); /* below B's weight: under 50 % of the traffic */
	assert_int_equal(mg_outlier_event(o, A, MG_OL_REFUSED, 0, 1000), MG_OL_STATE);
	assert_int_equal(state(o, A, NULL), MG_LB_EP_EJECTED);
	assert_int_equal(state(o, B, NULL), MG_LB_EP_OK);
	mg_outlier_tick(o, 1000 + 29999);
	assert_int_equal(state(o, A, NULL), MG_LB_EP_EJECTED);
	assert_int_equal(mg_outlier_tick(o, 1000 + 30000), MG_OL_STATE); /* exactly at expiry */
	assert_int_equal(state(o, A, NULL), MG_LB_EP_OK);
	mg_outlier_free(o);
}

static void
scenario_29_ejection_time_grows(void **s)
{
	struct mg_outlier *o = two();
	uint64_t t = 0;
	const uint64_t want[] = { 30000, 60000, 90000, 120000, 150000, 180000, 210000, 240000,
				  270000, 300000, 300000, 300000 };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		fail_n(o, A, 5, t);
		assert_int_equal(state(o, A, NULL), MG_LB_EP_EJECTED);
		assert_int_equal(mg_outlier_find(o, A)->ejected_until - t, want[i]);
		t += want[i];
		mg_outlier_tick(o, t); /* re-admitted; fails 5 times straight away */
		assert_int_equal(state(o, A, NULL), MG_LB_EP_OK);
	}
	mg_outlier_free(o);
}

static void
scenario_30_ejection_multiplier_decays(void **s)
{
	struct mg_outlier *o = two();
	uint64_t t = 0;

	for (int i = 0; i < 3; i++) {
		fail_n(o, A, 5, t);
		t = mg_outlier_find(o, A)->ejected_until;
		mg_outlier_tick(o, t);
	}
	assert_int_equal(mg_outlier_find(o, A)->k, 3);
	/* Healthy for three intervals. */
	for (int i = 1; i <= 3; i++)
		mg_outlier_tick(o, t + (uint64_t)i * 10000);
	assert_int_equal(mg_outlier_find(o, A)->k, 0);
	t += 30000;
	fail_n(o, A, 5, t);
	assert_int_equal(mg_outlier_find(o, A)->ejected_until - t, 30000);
	mg_outlier_free(o);
}

static void
scenario_31_a_success_resets_the_count(void **s)
{
	struct mg_outlier *o = two();

	fail_n(o, A, 4, 10);
	mg_outlier_event(o, A, MG_OL_START, 0, 10);
	mg_outlier_event(o, A, MG_OL_OK, 200, 10);
	fail_n(o, A, 4, 20);
	assert_int_equal(state(o, A, NULL), MG_LB_EP_OK);
	assert_int_equal(mg_outlier_find(o, A)->ejections, 0);
	mg_outlier_free(o);
}

static void
scenario_32_post_handshake_errors_are_not_failures(void **s)
{
	struct mg_outlier *o = two();

	for (int i = 0; i < 50; i++) {
		mg_outlier_event(o, A, MG_OL_START, 0, i);
		mg_outlier_event(o, A, MG_OL_OK, 100, i);
		mg_outlier_event(o, A, MG_OL_RESET, 0, i);
		mg_outlier_event(o, A, MG_OL_CLOSED, 0, i);
	}
	assert_int_equal(state(o, A, NULL), MG_LB_EP_OK);
	assert_int_equal(mg_outlier_find(o, A)->consecutive, 0);
	assert_int_equal(mg_outlier_find(o, A)->events[MG_OL_RESET], 50);
	mg_outlier_free(o);
}

static void
scenario_36_gateway_tracked_like_any_endpoint(void **s)
{
	/* An east-west gateway entry's id is the gateway's address: the same model. */
	struct mg_outlier *o = mg_outlier_create(&params, &nolimit);
	uint32_t ids[] = { 0x0200a8c0 /* GW2 */, 0x0300a8c0 /* GW3 */ };

	mg_outlier_sync(o, ids, 2);
	fail_n(o, ids[0], 5, 0);
	assert_int_equal(state(o, ids[0], NULL), MG_LB_EP_EJECTED);
	assert_int_equal(state(o, ids[1], NULL), MG_LB_EP_OK);
	mg_outlier_free(o);
}

static void
scenario_38_readmission_uses_a_fresh_score(void **s)
{
	struct mg_outlier *o = two();
	uint32_t fa, fb;

	fail_n(o, A, 5, 0);
	mg_outlier_tick(o, 30000);
	assert_int_equal(mg_outlier_find(o, A)->consecutive, 0);
	assert_int_equal(state(o, A, &fa), MG_LB_EP_OK);
	state(o, B, &fb);
	assert_int_equal(fa, 500);
	/* With two equal peers A's share is fa / (fa + fb) = 1/3 >= 20 %. */
	assert_true(fa * 100 / (fa + fb) >= 20);
	/* ... and converges as it succeeds. */
	for (int i = 0; i < 20; i++) {
		mg_outlier_event(o, A, MG_OL_START, 0, 30001);
		mg_outlier_event(o, A, MG_OL_OK, 100, 30001);
	}
	state(o, A, &fa);
	assert_true(fa >= 995);
	mg_outlier_free(o);
}

static void
scenario_40_config_change_drops_state(void **s)
{
	struct mg_outlier *o = two();
	uint32_t next[] = { B, 0x0d00000a /* C */ };

	fail_n(o, A, 5, 0);
	fail_n(o, B, 2, 0);
	assert_int_equal(mg_outlier_sync(o, next, 2), 0);
	assert_null(mg_outlier_find(o, A));
	assert_int_equal(mg_outlier_find(o, B)->consecutive, 2); /* kept */
	assert_int_equal(mg_outlier_find(o, next[1])->score, 1.0); /* C fresh */
	assert_int_equal(o->n_ejected, 0);
	mg_outlier_free(o);
}

static void
max_ejection_percent_holds_back(void **s)
{
	struct mg_conf_outlier p = params;
	struct mg_outlier *o;
	uint32_t ids[] = { A, B };

	p.max_ejection_percent = 50;
	o = mg_outlier_create(&p, &nolimit);
	mg_outlier_sync(o, ids, 2);
	fail_n(o, A, 5, 0);
	fail_n(o, B, 5, 0);
	assert_int_equal(state(o, A, NULL), MG_LB_EP_EJECTED);
	assert_int_equal(state(o, B, NULL), MG_LB_EP_OK);
	assert_int_equal(o->ejections_refused, 1);
	mg_outlier_free(o);
}

static void
circuit_breaker_limits(void **s)
{
	struct mg_conf_circuit cb = { .max_connections = 2, .max_pending_connects = 3 };
	struct mg_outlier *o = mg_outlier_create(&params, &cb);
	uint32_t ids[] = { A };

	mg_outlier_sync(o, ids, 1);
	mg_outlier_event(o, A, MG_OL_START, 0, 0);
	mg_outlier_event(o, A, MG_OL_START, 0, 0);
	assert_int_equal(mg_outlier_event(o, A, MG_OL_START, 0, 0), MG_OL_STATE);
	assert_int_equal(state(o, A, NULL), MG_LB_EP_AT_LIMIT); /* 3 pending */
	mg_outlier_event(o, A, MG_OL_OK, 10, 0);
	assert_int_equal(state(o, A, NULL), MG_LB_EP_OK);       /* 2 pending, 1 active */
	mg_outlier_event(o, A, MG_OL_OK, 10, 0);
	assert_int_equal(state(o, A, NULL), MG_LB_EP_AT_LIMIT); /* 2 active */
	mg_outlier_event(o, A, MG_OL_CLOSED, 0, 0);
	assert_int_equal(state(o, A, NULL), MG_LB_EP_OK);
	mg_outlier_free(o);
}

static void
unknown_endpoints_are_counted_not_tracked(void **s)
{
	struct mg_outlier *o = two();

	assert_int_equal(mg_outlier_event(o, 0x63636363, MG_OL_REFUSED, 0, 0), MG_OL_NONE);
	assert_int_equal(o->unknown_events, 1);
	mg_outlier_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scenario_27_consecutive_failures_eject),
		cmocka_unit_test(scenario_29_ejection_time_grows),
		cmocka_unit_test(scenario_30_ejection_multiplier_decays),
		cmocka_unit_test(scenario_31_a_success_resets_the_count),
		cmocka_unit_test(scenario_32_post_handshake_errors_are_not_failures),
		cmocka_unit_test(scenario_36_gateway_tracked_like_any_endpoint),
		cmocka_unit_test(scenario_38_readmission_uses_a_fresh_score),
		cmocka_unit_test(scenario_40_config_change_drops_state),
		cmocka_unit_test(max_ejection_percent_holds_back),
		cmocka_unit_test(circuit_breaker_limits),
		cmocka_unit_test(unknown_endpoints_are_counted_not_tracked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
