/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reports: the packet lcore's counters are read without locks (each is a
 * 64-bit word written by one lcore, so a read is never torn; a report may
 * be a few packets behind), differences between two readings give the
 * rates, and the histograms give latency percentiles. Text for people, one
 * JSON object for scripts (scripts/bench).
 */
#include <inttypes.h>

#include <rte_cycles.h>

#include "lg.h"

void
mg_lg_sum(const struct mg_lg *g, struct mg_lg_counters *out)
{
	const uint64_t *s = (const uint64_t *)&g->lc->c;
	uint64_t *d = (uint64_t *)out;

	for (size_t k = 0; k < sizeof(*out) / sizeof(uint64_t); k++)
		d[k] = __atomic_load_n(&s[k], __ATOMIC_RELAXED);
}

static void
hist_line(FILE *f, const char *name, const struct mg_lg_hist *h, bool json, bool last)
{
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	static const char *qn[] = { "p50", "p90", "p99", "p999" };

	if (json) {
		fprintf(f, "\"%s\":{\"count\":%" PRIu64, name, h->count);
		for (int i = 0; i < 4; i++)
			fprintf(f, ",\"%s\":%.1f", qn[i], mg_lg_hist_quantile(h, qs[i]) / 1000.0);
		fprintf(f, ",\"mean\":%.1f,\"max\":%.1f}%s", h->count ? (double)h->sum / h->count / 1000.0 : 0.0,
			h->max / 1000.0, last ? "" : ",");
		return;
	}
	fprintf(f, "  %-10s %10" PRIu64 "  p50 %9.1f  p90 %9.1f  p99 %9.1f  p99.9 %9.1f  max %9.1f us\n",
		name, h->count, mg_lg_hist_quantile(h, 0.5) / 1000.0, mg_lg_hist_quantile(h, 0.9) / 1000.0,
		mg_lg_hist_quantile(h, 0.99) / 1000.0, mg_lg_hist_quantile(h, 0.999) / 1000.0,
		h->max / 1000.0);
}

void
mg_lg_report(const struct mg_lg *g, FILE *f, const struct mg_lg_counters *from, uint64_t from_tsc,
	     const struct mg_lg_counters *to, uint64_t to_tsc, bool json)
{
	struct mg_lg_counters d;
	const uint64_t *a = (const uint64_t *)from, *b = (const uint64_t *)to;
	uint64_t *o = (uint64_t *)&d;
	double secs = (double)(to_tsc - from_tsc) / (double)rte_get_tsc_hz();
	const struct mg_lg_lcore *lc = g->lc;

	for (size_t k = 0; k < sizeof(d) / sizeof(uint64_t); k++)
		o[k] = b[k] - a[k];
	if (secs <= 0)
		secs = 1e-9;
	if (json) {
		fprintf(f, "{\"seconds\":%.3f,\"rates\":{\"conn_per_s\":%.1f,\"tx_pps\":%.1f,\"rx_pps\":%.1f,"
			"\"flood_rx_pps\":%.1f,\"flood_tx_pps\":%.1f,\"synflood_tx_pps\":%.1f,"
			"\"rx_gbps\":%.4f},\"counters\":{",
			secs, d.conn_completed / secs, d.tx_pkts / secs, d.rx_pkts / secs,
			d.flood_rx / secs, d.flood_tx / secs, d.synflood_tx / secs,
			d.rx_bytes * 8 / secs / 1e9);
		bool first = true;
#define MG_LG_X(n) fprintf(f, "%s\"" #n "\":%" PRIu64, first ? "" : ",", d.n); first = false;
		MG_LG_COUNTERS(MG_LG_X)
#undef MG_LG_X
		fprintf(f, "},\"inflight\":%u,\"held\":%u,\"latency_us\":{", lc->inflight, lc->n_held);
		hist_line(f, "connect", &lc->h_connect, true, false);
		hist_line(f, "response", &lc->h_response, true, false);
		hist_line(f, "lifetime", &lc->h_life, true, true);
		fprintf(f, "}}");
		return;
	}
	fprintf(f, "over %.2f s:\n", secs);
	fprintf(f, "  connections  opened %" PRIu64 "  established %" PRIu64 "  completed %" PRIu64
		"  (%.0f/s)  in flight %u  flood flows held %u\n",
		d.conn_open, d.conn_established, d.conn_completed, d.conn_completed / secs,
		lc->inflight, lc->n_held);
	fprintf(f, "  packets      tx %" PRIu64 " (%.3f Mpps, %.3f Gbit/s)  rx %" PRIu64
		" (%.3f Mpps, %.3f Gbit/s)\n",
		d.tx_pkts, d.tx_pkts / secs / 1e6, d.tx_bytes * 8 / secs / 1e9, d.rx_pkts,
		d.rx_pkts / secs / 1e6, d.rx_bytes * 8 / secs / 1e9);
	fprintf(f, "  flood        tx %" PRIu64 "  rx %" PRIu64 " (%.3f Mpps)   SYN flood tx %" PRIu64
		" (%.3f Mpps)  answers %" PRIu64 "\n",
		d.flood_tx, d.flood_rx, d.flood_rx / secs / 1e6, d.synflood_tx,
		d.synflood_tx / secs / 1e6, d.synflood_rx);
	fprintf(f, "  servers      SYN %" PRIu64 "  established %" PRIu64 "  requests %" PRIu64
		"  FIN %" PRIu64 "  closed %" PRIu64 "\n",
		d.srv_syn, d.srv_established, d.srv_request, d.srv_fin, d.srv_closed);
	fprintf(f, "  errors       RST %" PRIu64 "  timeout %" PRIu64 "  bad segment %" PRIu64
		"  unexpected %" PRIu64 "  server bad %" PRIu64 "  server RST %" PRIu64
		"  SYN retransmit %" PRIu64 "  tx drop %" PRIu64 "  no mbuf %" PRIu64 "\n",
		d.err_rst, d.err_timeout, d.err_bad_segment, d.err_unexpected, d.srv_bad, d.srv_rst,
		d.syn_retrans, d.tx_drop, d.nombuf);
	fprintf(f, "  latency (since start):\n");
	hist_line(f, "connect", &lc->h_connect, false, false);
	hist_line(f, "response", &lc->h_response, false, false);
	hist_line(f, "lifetime", &lc->h_life, false, true);
}
