/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An HDR-style histogram: log-bucketed with linear sub-buckets.
 *
 * A value v below 2^S (S = MG_LG_HIST_SUB_BITS = 5) has its own bucket.
 * Above, with e = floor(log2 v), the bucket is (e - S + 1) * 2^S plus the
 * S bits of v just below its top bit: every power-of-two range is cut into
 * 32 equal parts, so a bucket's width is at most 1/32 of its values (3 %
 * relative error) over the whole 64-bit range, in 1,920 counters. Recording
 * is a count-leading-zeros and an increment, no division, no allocation;
 * each lcore has its own histograms and the main lcore adds them up when it
 * reports. Quantiles are read as the upper bound of the bucket where the
 * cumulative count crosses q * count (never optimistic).
 */
#include "lg.h"

static inline uint32_t
bucket_of(uint64_t v)
{
	uint32_t e;

	if (v < MG_LG_HIST_SUB)
		return (uint32_t)v;
	e = 63 - (uint32_t)__builtin_clzll(v);
	return (e - MG_LG_HIST_SUB_BITS + 1) * MG_LG_HIST_SUB +
	       (uint32_t)((v >> (e - MG_LG_HIST_SUB_BITS)) & (MG_LG_HIST_SUB - 1));
}

/* The largest value that falls into bucket @p b. */
static uint64_t
bucket_top(uint32_t b)
{
	uint32_t e, sub;

	if (b < MG_LG_HIST_SUB)
		return b;
	e = b / MG_LG_HIST_SUB + MG_LG_HIST_SUB_BITS - 1;
	sub = b % MG_LG_HIST_SUB;
	if (e >= 63 && sub == MG_LG_HIST_SUB - 1)
		return UINT64_MAX;
	return ((UINT64_C(1) << e) | ((uint64_t)sub << (e - MG_LG_HIST_SUB_BITS))) +
	       (UINT64_C(1) << (e - MG_LG_HIST_SUB_BITS)) - 1;
}

void
mg_lg_hist_record(struct mg_lg_hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

void
mg_lg_hist_merge(struct mg_lg_hist *dst, const struct mg_lg_hist *src)
{
	for (uint32_t i = 0; i < MG_LG_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t
mg_lg_hist_quantile(const struct mg_lg_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(q * (double)h->count + 0.5);
	if (want == 0)
		want = 1;
	for (uint32_t i = 0; i < MG_LG_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want)
			return RTE_MIN(bucket_top(i), h->max);
	}
	return h->max;
}
