/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The text of the show commands, in testpmd's layout where testpmd has one
 * (port stats, port info, xstats) and in aligned columns elsewhere, columns
 * computed from the widest entry so that more can be added. Every function
 * writes through struct mg_out, so the terminal, --cmdline-file, the Unix
 * socket and the counters printed at exit share one implementation; the
 * figures come from mg_cli_fmt.c, as telemetry's do.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "mg_cli_priv.h"

/* ---- ports ------------------------------------------------------------------- */

/* Throughput since the previous `show port stats` of the same port, as testpmd. */
static struct {
	uint64_t tsc;
	uint64_t ipackets, opackets, ibytes, obytes;
} last_show[RTE_MAX_ETHPORTS];
static pthread_mutex_t last_show_lock = PTHREAD_MUTEX_INITIALIZER;

static void
throughput(const struct mg_cli_port *p, uint64_t rate[4])
{
	uint64_t now = rte_get_tsc_cycles(), hz = rte_get_tsc_hz(), dt;

	pthread_mutex_lock(&last_show_lock);
	dt = last_show[p->id].tsc ? now - last_show[p->id].tsc : 0;
	memset(rate, 0, 4 * sizeof(rate[0]));
	if (dt > 0) {
		/* counters reset by `clear port stats` would go backwards: 0 then */
#define RATE(cur, prev, mul) ((cur) >= (prev) ? (double)((cur) - (prev)) * (mul) * hz / dt : 0)
		rate[0] = (uint64_t)RATE(p->st.ipackets, last_show[p->id].ipackets, 1.0);
		rate[1] = (uint64_t)RATE(p->st.ibytes, last_show[p->id].ibytes, 8.0);
		rate[2] = (uint64_t)RATE(p->st.opackets, last_show[p->id].opackets, 1.0);
		rate[3] = (uint64_t)RATE(p->st.obytes, last_show[p->id].obytes, 8.0);
#undef RATE
	}
	last_show[p->id].tsc = now;
	last_show[p->id].ipackets = p->st.ipackets;
	last_show[p->id].opackets = p->st.opackets;
	last_show[p->id].ibytes = p->st.ibytes;
	last_show[p->id].obytes = p->st.obytes;
	pthread_mutex_unlock(&last_show_lock);
}

#define NIC_BORDER "########################"

int
mg_show_port_stats(struct mg_gw *gw, struct mg_out *o, int port)
{
	uint16_t first, last;

	if (mg_cli_port_range(gw, o, port, &first, &last) < 0)
		return -1;
	for (uint16_t i = first; i < last; i++) {
		struct mg_cli_port p;
		uint64_t r[4];

		mg_cli_port_get(gw, i, &p);
		throughput(&p, r);
		mg_out_printf(o, "\n  " NIC_BORDER " NIC statistics for port %-2u (%s) " NIC_BORDER "\n",
			      p.id, p.gp->name);
		mg_out_printf(o, "  RX-packets: %-10" PRIu64 " RX-missed: %-10" PRIu64
			      " RX-bytes:  %" PRIu64 "\n", p.st.ipackets, p.st.imissed, p.st.ibytes);
		mg_out_printf(o, "  RX-errors: %" PRIu64 "\n", p.st.ierrors);
		mg_out_printf(o, "  RX-nombuf:  %-10" PRIu64 "\n", p.st.rx_nombuf);
		mg_out_printf(o, "  TX-packets: %-10" PRIu64 " TX-errors: %-10" PRIu64
			      " TX-bytes:  %" PRIu64 "\n", p.st.opackets, p.st.oerrors, p.st.obytes);
		mg_out_printf(o, "\n  Throughput (since last show)\n");
		mg_out_printf(o, "  Rx-pps: %12" PRIu64 "          Rx-bps: %12" PRIu64 "\n", r[0], r[1]);
		mg_out_printf(o, "  Tx-pps: %12" PRIu64 "          Tx-bps: %12" PRIu64 "\n", r[2], r[3]);
		mg_out_printf(o, "  " NIC_BORDER "############################" NIC_BORDER "\n");
		if (!p.stats_ok)
			mg_out_printf(o, "  (the driver gave no statistics)\n");
	}
	return 0;
}

int
mg_show_port_xstats(struct mg_gw *gw, struct mg_out *o, int port)
{
	uint16_t first, last;

	if (mg_cli_port_range(gw, o, port, &first, &last) < 0)
		return -1;
	for (uint16_t i = first; i < last; i++) {
		uint16_t id = gw->ports[i].port_id;
		int n = rte_eth_xstats_get_names(id, NULL, 0);
		struct rte_eth_xstat_name *names;
		struct rte_eth_xstat *xs;

		mg_out_printf(o, "###### NIC extended statistics for port %-2u (%s)\n", id, gw->ports[i].name);
		if (n <= 0)
			continue;
		names = calloc((size_t)n, sizeof(*names));
		xs = calloc((size_t)n, sizeof(*xs));
		if (names != NULL && xs != NULL && rte_eth_xstats_get_names(id, names, (unsigned int)n) == n &&
		    rte_eth_xstats_get(id, xs, (unsigned int)n) == n) {
			for (int k = 0; k < n; k++)
				if (xs[k].id < (uint64_t)n)
					mg_out_printf(o, "%s: %" PRIu64 "\n", names[xs[k].id].name, xs[k].value);
		}
		free(names);
		free(xs);
	}
	return 0;
}

int
mg_clear_port_stats(struct mg_gw *gw, struct mg_out *o, int port)
{
	uint16_t first, last;

	if (mg_cli_port_range(gw, o, port, &first, &last) < 0)
		return -1;
	for (uint16_t i = first; i < last; i++) {
		uint16_t id = gw->ports[i].port_id;

		rte_eth_stats_reset(id);
		rte_eth_xstats_reset(id);
		pthread_mutex_lock(&last_show_lock);
		memset(&last_show[id], 0, sizeof(last_show[id]));
		pthread_mutex_unlock(&last_show_lock);
		mg_out_printf(o, "\n  NIC statistics for port %u (%s) cleared\n", id, gw->ports[i].name);
	}
	return 0;
}

int
mg_show_port_info(struct mg_gw *gw, struct mg_out *o, int port)
{
	uint16_t first, last;

	if (mg_cli_port_range(gw, o, port, &first, &last) < 0)
		return -1;
	for (uint16_t i = first; i < last; i++) {
		struct mg_cli_port p;
		char ip[MG_IP_STRLEN];

		mg_cli_port_get(gw, i, &p);
		mg_out_printf(o, "\n********************* Infos for port %-2u (%s) *********************\n",
			      p.id, p.gp->name);
		mg_out_printf(o, "Device: %s\n", p.gp->device);
		mg_out_printf(o, "Driver name: %s\n", p.gp->driver);
		mg_out_printf(o, "MAC address: %s\n", p.mac);
		mg_out_printf(o, "Address: %s/%u\n", mg_cli_ip(p.ip, ip), p.prefix_len);
		mg_out_printf(o, "Link status: %s\n", p.link.link_status ? "up" : "down");
		mg_out_printf(o, "Link speed: %s\n", rte_eth_link_speed_to_str(p.link.link_speed));
		mg_out_printf(o, "Link duplex: %s\n",
			      p.link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full-duplex" : "half-duplex");
		mg_out_printf(o, "MTU: %u\n", p.mtu);
		mg_out_printf(o, "RX queues: %u\nTX queues: %u\n", p.gp->n_rxq, p.gp->n_txq);
		mg_out_printf(o, "RSS: %s\n",
			      !p.gp->rss ? "off (workers hand packets to their owner over rings)" :
			      gw->sh.ports[p.gp->port_id].rss ?
			      "on, predictable (SNAT ports steer replies to their worker: no hand-off)" :
			      "on (replies reach their worker by hand-off)");
		mg_out_printf(o, "Profile: %s\n", p.gp->profile.name);
		mg_out_printf(o, "RX descriptors: %u\nTX descriptors: %u\n", p.gp->profile.rx_desc,
			      p.gp->profile.tx_desc);
		mg_out_printf(o, "RX IPv4 checksum offload: %s\n", p.gp->profile.rx_ip_cksum ? "on" : "off");
	}
	return 0;
}

/* ---- lcores ------------------------------------------------------------------- */

static void
worker_text(struct mg_out *o, const struct mg_cli_worker *w)
{
	const struct mg_worker_stats *s = &w->st;

	if (w->lcore == UINT16_MAX)
		mg_out_printf(o, "all %u workers:", w->idx);
	else
		mg_out_printf(o, "worker %u lcore %u:", w->idx, w->lcore);
	/* this first line is parsed by tools: keep its form */
	mg_out_printf(o, " rx %" PRIu64 " tx %" PRIu64 " flows %" PRIu64 " active %u connect_ok %" PRIu64
		      " retries %" PRIu64 " failed %" PRIu64 " drops %" PRIu64 "\n", s->rx, s->tx,
		      s->flows_new, w->flows_active, s->connect_ok, s->connect_retry, s->connect_failed,
		      w->drops);
	mg_out_printf(o, "  loops %" PRIu64 "  busy cycles %" PRIu64 " (%.0f per packet)  hand-off in %"
		      PRIu64 " out %" PRIu64 "\n", s->loops, s->busy_cycles, w->cycles_per_pkt,
		      s->handoff_in, s->handoff_out);
	mg_out_printf(o, "  flows active %u of %u, new %" PRIu64 ", closed %" PRIu64 "\n", w->flows_active,
		      w->flows_size, s->flows_new, s->flows_closed);
	mg_out_printf(o, "  connect ok %" PRIu64 " refused %" PRIu64 " unreachable %" PRIu64 " timeout %"
		      PRIu64 " retried %" PRIu64 " failed %" PRIu64 "  resets %" PRIu64 "\n", s->connect_ok,
		      s->connect_refused, s->connect_unreach, s->connect_timeout, s->connect_retry,
		      s->connect_failed, s->resets);
	mg_out_printf(o, "  arp replies %" PRIu64 "  icmp echo %" PRIu64 "  events dropped %" PRIu64
		      "  health-check answers %" PRIu64 "\n", s->arp_replies, s->icmp_echo,
		      s->events_dropped, s->probe_replies);
	mg_out_printf(o, "  half-open %" PRIu64 " (limits met: worker %" PRIu64 " source %" PRIu64
		      " service %" PRIu64 ")  syn cookies sent %" PRIu64 " ok %" PRIu64
		      "  rst probes %" PRIu64 "\n",
		      s->half_open, s->half_open_limit_worker, s->half_open_limit_source,
		      s->half_open_limit_service, s->syncookies_sent, s->syncookies_ok,
		      s->rst_probes);
	if (w->drops) {
		mg_out_printf(o, "  drops:");
		for (int d = 1; d < MG_DROP__MAX; d++)
			if (s->drop[d])
				mg_out_printf(o, " %s %" PRIu64, mg_drop_reason_name((enum mg_drop_reason)d),
					      s->drop[d]);
		mg_out_printf(o, "\n");
	}
}

void
mg_show_lcores(struct mg_gw *gw, struct mg_out *o)
{
	for (uint16_t i = 0; i < gw->n_workers; i++) {
		struct mg_cli_worker w;

		mg_cli_worker_get(gw, i, &w);
		worker_text(o, &w);
	}
	if (gw->n_workers > 1) {
		struct mg_cli_worker sum;

		mg_cli_worker_sum(gw, &sum);
		worker_text(o, &sum);
	}
	if (gw->n_workers == 0)
		mg_out_printf(o, "no workers (meshgate needs at least one EAL worker lcore)\n");
}

/* ---- config -------------------------------------------------------------------- */

#define KEY_W 32

struct text_kv {
	struct mg_out *o;
	uint32_t items;
};

static void
text_section(void *ctx, const char *title)
{
	struct text_kv *t = ctx;

	mg_out_printf(t->o, "%s\n", title);
}

static void
text_str(void *ctx, const char *key, const char *val)
{
	struct text_kv *t = ctx;

	mg_out_printf(t->o, "  %-*s %s\n", KEY_W, key, val[0] ? val : "-");
}

static void
text_u64(void *ctx, const char *key, uint64_t val)
{
	struct text_kv *t = ctx;

	mg_out_printf(t->o, "  %-*s %" PRIu64 "\n", KEY_W, key, val);
}

static void
text_list_begin(void *ctx, const char *key)
{
	struct text_kv *t = ctx;

	mg_out_printf(t->o, "  %-*s", KEY_W, key);
	t->items = 0;
}

static void
text_list_str(void *ctx, const char *val)
{
	struct text_kv *t = ctx;

	if (t->items++ == 0)
		mg_out_printf(t->o, " %s\n", val);
	else
		mg_out_printf(t->o, "  %-*s %s\n", KEY_W, "", val);
}

static void
text_list_end(void *ctx)
{
	struct text_kv *t = ctx;

	if (t->items == 0)
		mg_out_printf(t->o, " -\n");
}

void
mg_show_config(struct mg_gw *gw, struct mg_out *o)
{
	struct text_kv t = { .o = o };
	const struct mg_cli_kv kv = {
		.section = text_section, .str = text_str, .u64 = text_u64,
		.list_begin = text_list_begin, .list_str = text_list_str, .list_end = text_list_end,
		.ctx = &t,
	};

	mg_cli_config_visit(gw, &kv);
}

/* ---- services ------------------------------------------------------------------- */

void
mg_show_services(struct mg_gw *gw, struct mg_out *o)
{
	const struct mg_lb_table *t;
	int nw = (int)strlen("SERVICE"), mw = (int)strlen("MODE");

	pthread_mutex_lock(&gw->lock);
	t = mg_gw_table(gw);
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		struct mg_cli_svc s;

		mg_cli_svc_get(t, i, &s);
		nw = RTE_MAX(nw, (int)strlen(s.name));
		mw = RTE_MAX(mw, (int)strlen(s.mode));
	}
	mg_out_printf(o, "%-*s %-21s %5s %5s  %-*s %-8s %s\n", nw, "SERVICE", "VIP:PORT", "EPS", "TIERS",
		      mw, "MODE", "SCOPE", "FLAGS");
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		struct mg_cli_svc s;

		mg_cli_svc_get(t, i, &s);
		mg_out_printf(o, "%-*s %-21s %5u %5u  %-*s %-8s %s%s%s\n", nw, s.name, s.vip, s.eps, s.tiers,
			      mw, s.mode, s.scope, s.dazed ? "DAZED " : "", s.global ? "global " : "",
			      s.service_entry ? "ServiceEntry" : "");
	}
	mg_out_printf(o, "%u service ports, generation %" PRIu64 "\n", t->n_svcs, t->generation);
	pthread_mutex_unlock(&gw->lock);
}

int
mg_show_service(struct mg_gw *gw, struct mg_out *o, const char *ns_name)
{
	const struct mg_lb_table *t;
	const struct mg_conf_gateway *g;
	char ns[MG_NAME_LEN], name[MG_NAME_LEN];
	int found = 0;

	if (mg_cli_svc_split(ns_name, ns, name) < 0)
		return mg_out_fail(o, "Bad service \"%s\": write <namespace>/<name>", ns_name);
	pthread_mutex_lock(&gw->lock);
	t = mg_gw_table(gw);
	g = &t->conf->gw;
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct mg_lb_svc *s = &t->svcs[i];
		struct mg_cli_svc sv;
		int aw = (int)strlen("ENDPOINT"), lw = (int)strlen("LOCALITY");

		if (!mg_cli_svc_is(t, i, ns, name))
			continue;
		mg_cli_svc_get(t, i, &sv);
		if (found++ == 0)
			mg_out_printf(o, "gateway locality %s/%s/%s/%s node %s\n", g->locality.network,
				      g->locality.region, g->locality.zone, g->locality.subzone,
				      g->locality.node);
		mg_out_printf(o, "service %s%s at %s\n", sv.name, sv.service_entry ? " (ServiceEntry)" : "",
			      sv.vip);
		mg_out_printf(o, "  mode %s, decided by %s; health policy %s; scope %s%s%s\n", sv.mode,
			      sv.source, sv.health, sv.scope, sv.global ? " (with peered clusters)" : "",
			      sv.dazed ? "; DAZED" : "");
		mg_out_printf(o, "  %u endpoints in %u tiers\n", sv.eps, sv.tiers);
		for (uint32_t k = 0; k < s->ep_count; k++) {
			struct mg_cli_ep e;

			mg_cli_ep_get(gw, t, s, k, &e);
			aw = RTE_MAX(aw, (int)strlen(e.addr));
			lw = RTE_MAX(lw, (int)strlen(e.locality));
		}
		mg_out_printf(o, "  %-*s %4s %4s %8s %5s %-9s %-*s %s\n", aw, "ENDPOINT", "TIER", "RANK",
			      "WEIGHT", "READY", "STATE", lw, "LOCALITY", "VIA");
		for (uint32_t k = 0; k < s->ep_count; k++) {
			struct mg_cli_ep e;

			mg_cli_ep_get(gw, t, s, k, &e);
			mg_out_printf(o, "  %-*s %4u %4d %8u %5s %-9s %-*s %s\n", aw, e.addr, e.tier, e.rank,
				      e.weight, e.ready ? "yes" : "no", e.state_name, lw, e.locality, e.via);
		}
	}
	pthread_mutex_unlock(&gw->lock);
	if (!found)
		return mg_out_fail(o, "No service %s/%s (show services lists them)", ns, name);
	return 0;
}

/* ---- flows ----------------------------------------------------------------------- */

static void
flows_line(struct mg_out *o, const char *who, const struct mg_cli_flows *f)
{
	mg_out_printf(o, "%s: %u flows of %u", who, f->active, f->size);
	for (int s = 1; s < MG_TCP_STATE__MAX; s++)
		if (f->state[s])
			mg_out_printf(o, "  %s %u", mg_tcp_state_name((uint8_t)s), f->state[s]);
	mg_out_printf(o, "\n");
}

void
mg_show_flows(struct mg_gw *gw, struct mg_out *o)
{
	struct mg_cli_flows sum = { 0 };

	for (uint16_t i = 0; i < gw->n_workers; i++) {
		struct mg_cli_flows f;
		char who[32];

		mg_cli_flows_count(gw, i, &f);
		snprintf(who, sizeof(who), "worker %u", i);
		flows_line(o, who, &f);
		sum.active += f.active;
		sum.size += f.size;
		for (int s = 0; s < MG_TCP_STATE__MAX; s++)
			sum.state[s] += f.state[s];
	}
	if (gw->n_workers > 1)
		flows_line(o, "all workers", &sum);
}

struct vip_walk {
	struct mg_out *o;
	uint32_t shown;
	uint32_t total;
};

static bool
vip_flow(void *ctx, uint16_t worker, const struct mg_flow *f)
{
	struct vip_walk *v = ctx;
	char line[128];

	if (v->total++ >= MG_CLI_FLOWS_SHOWN)
		return true; /* keep counting */
	mg_cli_flow_str(f, line, sizeof(line));
	mg_out_printf(v->o, "  %s  %s attempts %u worker %u\n", line, mg_tcp_state_name(f->state),
		      f->attempts, worker);
	v->shown++;
	return true;
}

void
mg_show_flows_vip(struct mg_gw *gw, struct mg_out *o, uint32_t vip)
{
	struct vip_walk v = { .o = o };
	char ip[MG_IP_STRLEN];

	mg_out_printf(o, "  client -> VIP => full-NAT source -> endpoint  "
		      "state, connect attempts, worker\n");
	mg_cli_flows_walk(gw, vip, vip_flow, &v);
	mg_out_printf(o, "%u flows to %s", v.total, mg_cli_ip(vip, ip));
	if (v.total > v.shown)
		mg_out_printf(o, ", the first %u shown", v.shown);
	mg_out_printf(o, "\n");
}

/* ---- neighbours and routes ---------------------------------------------------------- */

void
mg_show_neigh(struct mg_gw *gw, struct mg_out *o)
{
	const struct mg_neigh_table *t = gw->sh.neigh;
	uint64_t now = mg_cli_now_ms();

	pthread_mutex_lock(&gw->lock);
	mg_out_printf(o, "%-15s %4s  %-17s %8s %8s %7s\n", "ADDRESS", "PORT", "MAC", "AGE(s)", "REQUESTS",
		      "ANSWERS");
	for (uint32_t i = 0; i < t->n; i++) {
		struct mg_cli_neigh n;
		char age[24] = "-";

		mg_cli_neigh_get(t, i, now, &n);
		if (n.age_s >= 0)
			snprintf(age, sizeof(age), "%" PRId64, n.age_s);
		mg_out_printf(o, "%-15s %4u  %-17s %8s %8u %7u\n", n.ip, n.port_id, n.mac, age, n.requests,
			      n.answers);
	}
	mg_out_printf(o, "%u neighbours of %u", t->n, t->max);
	if (t->learn_full)
		mg_out_printf(o, ", %" PRIu64 " refused (table full)", t->learn_full);
	mg_out_printf(o, "\n");
	pthread_mutex_unlock(&gw->lock);
}

void
mg_show_routes(struct mg_gw *gw, struct mg_out *o)
{
	pthread_mutex_lock(&gw->lock);
	mg_out_printf(o, "%-18s %-15s %4s  %s\n", "DESTINATION", "GATEWAY", "PORT", "KIND");
	for (uint32_t i = 0; i < gw->routes.n; i++) {
		struct mg_cli_route r;

		mg_cli_route_get(&gw->routes, i, &r);
		mg_out_printf(o, "%-18s %-15s %4u  %s\n", r.dst, r.gateway, r.port_id, r.kind);
	}
	pthread_mutex_unlock(&gw->lock);
}

/* ---- endpoints (outlier detection) ---------------------------------------------------- */

void
mg_show_endpoints(struct mg_gw *gw, struct mg_out *o)
{
	uint64_t now = mg_cli_now_ms();

	pthread_mutex_lock(&gw->lock);
	mg_out_printf(o, "%-15s %-9s %5s %4s %8s %6s %9s %6s %7s %8s\n", "ENDPOINT", "STATE", "FAILS", "K",
		      "BACK IN", "SCORE", "RTT(us)", "ACTIVE", "PENDING", "EJECTED");
	for (uint32_t i = 0; i < gw->ol->n; i++) {
		const struct mg_ol_ep *e = &gw->ol->eps[i];
		char ip[MG_IP_STRLEN], until[24] = "-";

		if (e->ejected)
			snprintf(until, sizeof(until), "%" PRIu64 "s",
				 (mg_cli_ol_back_in_ms(e, now) + 999) / 1000);
		mg_out_printf(o, "%-15s %-9s %5u %4u %8s %6.3f %9.0f %6u %7u %8" PRIu64 "\n",
			      mg_cli_ip(e->id, ip), mg_cli_ol_state(e), e->consecutive, e->k, until, e->score,
			      e->latency_us, e->active, e->pending, e->ejections);
	}
	mg_out_printf(o, "ejections %" PRIu64 ", re-admission rounds %" PRIu64
		      ", held back by maxEjectionPercent %" PRIu64 ", dazed %" PRIu64
		      ", table rebuilds %" PRIu64 "\n", gw->cst.ejections,
		      gw->cst.readmissions, gw->ol->ejections_refused, gw->cst.dazed, gw->cst.rebuilds);
	pthread_mutex_unlock(&gw->lock);
}

int
mg_show_endpoint(struct mg_gw *gw, struct mg_out *o, uint32_t ip)
{
	uint64_t now = mg_cli_now_ms();
	const struct mg_ol_ep *e;
	char a[MG_IP_STRLEN];

	pthread_mutex_lock(&gw->lock);
	e = mg_outlier_find(gw->ol, ip);
	if (e == NULL) {
		pthread_mutex_unlock(&gw->lock);
		return mg_out_fail(o, "No endpoint %s (show endpoints lists them)", mg_cli_ip(ip, a));
	}
	/* the first line says the state in one word: scripts read it */
	static const char *const first[] = {
		[MG_OL_SHOW_HEALTHY] = "healthy",
		[MG_OL_SHOW_EJECTED] = "EJECTED",
		[MG_OL_SHOW_PROBE_DOWN] = "DOWN (health check)",
		[MG_OL_SHOW_AT_LIMIT] = "AT LIMIT (circuit breaker)",
		[MG_OL_SHOW_DRAINED] = "DRAINED (no new connections)",
	};
	mg_out_printf(o, "endpoint %s: %s\n", mg_cli_ip(ip, a), first[mg_outlier_show(e)]);
	mg_out_printf(o, "  consecutive failures %u, ejections %" PRIu64 " (multiplier %u)\n",
		      e->consecutive, e->ejections, e->k);
	if (e->ejected)
		mg_out_printf(o, "  ejected until +%" PRIu64 "ms\n", mg_cli_ol_back_in_ms(e, now));
	if (e->ejections > 0)
		mg_out_printf(o, "  last ejection %" PRIu64 "ms ago\n", mg_cli_ol_ejected_ago_ms(e, now));
	mg_out_printf(o, "  EWMA success score %.3f (weight x %.3f), EWMA connect latency %.0f us\n",
		      e->score, e->score < 0.05 ? 0.05 : e->score, e->latency_us);
	mg_out_printf(o, "  active connections %u, pending connects %u\n", e->active, e->pending);
	if (e->last_failure_ms)
		mg_out_printf(o, "  last failure %s, %" PRIu64 "s ago\n",
			      mg_ol_event_name((enum mg_ol_event)e->last_failure),
			      now > e->last_failure_ms ? (now - e->last_failure_ms) / 1000 : 0);
	if (e->hc_on)
		mg_out_printf(o, "  health check: %s, probes %" PRIu64 ", failed %" PRIu64
			      ", good in a row %u, failed in a row %u%s\n",
			      e->hc_down ? "down" : "up", e->hc_probes, e->hc_failures, e->hc_ok_run,
			      e->hc_fail_run, e->hc_inflight ? ", one outstanding" : "");
	else
		mg_out_printf(o, "  health check: off\n");
	mg_out_printf(o, "  events:");
	for (int k = 0; k < MG_OL__MAX; k++)
		mg_out_printf(o, " %s %" PRIu64, mg_ol_event_name((enum mg_ol_event)k), e->events[k]);
	mg_out_printf(o, "\n");
	pthread_mutex_unlock(&gw->lock);
	return 0;
}
