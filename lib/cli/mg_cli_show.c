/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the show commands print. Every function writes through struct mg_out,
 * so the interactive CLI, --cmdline-file, the counters printed at exit and
 * the Unix socket share one implementation. Counters are per worker and are
 * summed here, on read; nothing here writes to a worker's memory. Reading a
 * worker's flow array while it runs is a benign race for display only (no
 * pointer taken from it is followed).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "mg_cli_priv.h"

void
mg_out_printf(struct mg_out *o, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->write(o->ctx, buf);
}

static int
port_range(struct mg_gw *gw, struct mg_out *o, int port, uint16_t *first, uint16_t *last)
{
	if (port < 0) {
		*first = 0;
		*last = gw->n_ports;
		return 0;
	}
	for (uint16_t i = 0; i < gw->n_ports; i++)
		if (gw->ports[i].port_id == port) {
			*first = i;
			*last = i + 1;
			return 0;
		}
	mg_out_printf(o, "Invalid port %d: meshgate's ports are", port);
	for (uint16_t i = 0; i < gw->n_ports; i++)
		mg_out_printf(o, " %u (%s)", gw->ports[i].port_id, gw->ports[i].name);
	mg_out_printf(o, "\n");
	return -1;
}

int
mg_show_port_stats(struct mg_gw *gw, struct mg_out *o, int port)
{
	uint16_t first, last;

	if (port_range(gw, o, port, &first, &last) < 0)
		return -1;
	for (uint16_t i = first; i < last; i++) {
		struct rte_eth_stats s;
		uint16_t id = gw->ports[i].port_id;

		if (rte_eth_stats_get(id, &s) != 0)
			memset(&s, 0, sizeof(s));
		mg_out_printf(o, "\n  ######################## NIC statistics for port %-2u (%s) #########################\n",
			      id, gw->ports[i].name);
		mg_out_printf(o, "  RX-packets: %-10" PRIu64 " RX-missed: %-10" PRIu64 " RX-bytes:  %" PRIu64 "\n",
			      s.ipackets, s.imissed, s.ibytes);
		mg_out_printf(o, "  RX-errors:  %-10" PRIu64 " RX-nombuf: %" PRIu64 "\n", s.ierrors, s.rx_nombuf);
		mg_out_printf(o, "  TX-packets: %-10" PRIu64 " TX-errors: %-10" PRIu64 " TX-bytes:  %" PRIu64 "\n",
			      s.opackets, s.oerrors, s.obytes);
		mg_out_printf(o, "  ####################################################################################\n");
	}
	return 0;
}

int
mg_show_port_xstats(struct mg_gw *gw, struct mg_out *o, int port)
{
	uint16_t first, last;

	if (port_range(gw, o, port, &first, &last) < 0)
		return -1;
	for (uint16_t i = first; i < last; i++) {
		uint16_t id = gw->ports[i].port_id;
		int n = rte_eth_xstats_get(id, NULL, 0);
		struct rte_eth_xstat xs[256];
		struct rte_eth_xstat_name names[256];

		mg_out_printf(o, "###### NIC extended statistics for port %-2u (%s)\n", id, gw->ports[i].name);
		if (n <= 0)
			continue;
		if (n > 256)
			n = 256;
		n = rte_eth_xstats_get(id, xs, (unsigned int)n);
		if (n > 256)
			n = 256;
		if (n <= 0 || rte_eth_xstats_get_names(id, names, (unsigned int)n) != n)
			continue;
		for (int k = 0; k < n; k++)
			mg_out_printf(o, "%s: %" PRIu64 "\n", names[k].name, xs[k].value);
	}
	return 0;
}

int
mg_clear_port_stats(struct mg_gw *gw, struct mg_out *o, int port)
{
	uint16_t first, last;

	if (port_range(gw, o, port, &first, &last) < 0)
		return -1;
	for (uint16_t i = first; i < last; i++) {
		rte_eth_stats_reset(gw->ports[i].port_id);
		rte_eth_xstats_reset(gw->ports[i].port_id);
		mg_out_printf(o, "  NIC statistics for port %u cleared\n", gw->ports[i].port_id);
	}
	return 0;
}

int
mg_show_port_info(struct mg_gw *gw, struct mg_out *o, int port)
{
	uint16_t first, last;

	if (port_range(gw, o, port, &first, &last) < 0)
		return -1;
	for (uint16_t i = first; i < last; i++) {
		const struct mg_gw_port *p = &gw->ports[i];
		const struct mg_proxy_port *pp = &gw->sh.ports[p->port_id];
		struct rte_eth_link link;
		char mac[RTE_ETHER_ADDR_FMT_SIZE];

		rte_eth_link_get_nowait(p->port_id, &link);
		rte_ether_format_addr(mac, sizeof(mac), &pp->mac);
		mg_out_printf(o, "\n********************* Infos for port %-2u (%s) *********************\n",
			      p->port_id, p->name);
		mg_out_printf(o, "Device: %s\nDriver name: %s\nMAC address: %s\n", p->device, p->driver, mac);
		mg_out_printf(o, "Address: " MG_IP_FMT "/%u\n", MG_IP_ARGS(pp->ip), pp->prefix_len);
		mg_out_printf(o, "Link status: %s, speed %u Mbps\n", link.link_status ? "up" : "down",
			      link.link_speed);
		mg_out_printf(o, "RX queues: %u  TX queues: %u  RSS: %s\n", p->n_rxq, p->n_txq,
			      p->rss ? "on" : "off (hand-off rings)");
		mg_out_printf(o, "Profile: %s  RX descriptors: %u  TX descriptors: %u\n", p->profile.name,
			      p->profile.rx_desc, p->profile.tx_desc);
	}
	return 0;
}

static uint64_t
drops_total(const struct mg_worker_stats *s)
{
	uint64_t t = 0;

	for (int d = 1; d < MG_DROP__MAX; d++)
		t += s->drop[d];
	return t;
}

void
mg_show_lcores(struct mg_gw *gw, struct mg_out *o)
{
	for (uint16_t i = 0; i < gw->n_workers; i++) {
		const struct mg_worker *w = gw->workers[i];
		struct mg_worker_stats s;
		uint64_t pkts;

		memcpy(&s, &w->st, sizeof(s));
		pkts = s.rx + s.handoff_in;
		mg_out_printf(o, "worker %u lcore %u: rx %" PRIu64 " tx %" PRIu64 " flows %" PRIu64
			      " active %u connect_ok %" PRIu64 " retries %" PRIu64 " failed %" PRIu64
			      " drops %" PRIu64 "\n", w->id, w->lcore, s.rx, s.tx, s.flows_new,
			      mg_flow_count(w->ft), s.connect_ok, s.connect_retry, s.connect_failed,
			      drops_total(&s));
		mg_out_printf(o, "  loops %" PRIu64 " busy cycles %" PRIu64 " (%.0f per packet)  hand-off in %"
			      PRIu64 " out %" PRIu64 "\n", s.loops, s.busy_cycles,
			      pkts ? (double)s.busy_cycles / pkts : 0.0, s.handoff_in, s.handoff_out);
		mg_out_printf(o, "  flows closed %" PRIu64 "  connect refused %" PRIu64 " unreachable %" PRIu64
			      " timeout %" PRIu64 "  resets %" PRIu64 "  arp replies %" PRIu64 " icmp echo %"
			      PRIu64 "  events dropped %" PRIu64 "\n", s.flows_closed, s.connect_refused,
			      s.connect_unreach, s.connect_timeout, s.resets, s.arp_replies, s.icmp_echo,
			      s.events_dropped);
		if (drops_total(&s)) {
			mg_out_printf(o, "  drops:");
			for (int d = 1; d < MG_DROP__MAX; d++)
				if (s.drop[d])
					mg_out_printf(o, " %s %" PRIu64, mg_drop_reason_name((enum mg_drop_reason)d),
						      s.drop[d]);
			mg_out_printf(o, "\n");
		}
	}
}

void
mg_show_config(struct mg_gw *gw, struct mg_out *o)
{
	const struct mg_lb_table *t;
	const struct mg_conf_gateway *g;
	const struct mg_proxy_params *pp = &gw->sh.params;
	const struct mg_gw_ctl_stats *c = &gw->cst;

	pthread_mutex_lock(&gw->lock);
	t = mg_gw_table(gw);
	g = &t->conf->gw;
	mg_out_printf(o, "configuration: %s (generation %" PRIu64 ")\n", t->conf->path, t->generation);
	mg_out_printf(o, "gateway %s: cluster %s, network %s, segment %s, locality %s/%s/%s, node %s%s\n",
		      g->name, g->cluster, g->locality.network, g->segment, g->locality.region,
		      g->locality.zone, g->locality.subzone, g->locality.node,
		      g->locality_from_node ? " (from its Node)" : "");
	for (uint16_t i = 0; i < gw->n_ports; i++)
		mg_out_printf(o, "port %u %s: %s " MG_IP_FMT "/%u\n", gw->ports[i].port_id, gw->ports[i].name,
			      gw->ports[i].device, MG_IP_ARGS(gw->sh.ports[gw->ports[i].port_id].ip),
			      gw->sh.ports[gw->ports[i].port_id].prefix_len);
	mg_out_printf(o, "snat:");
	for (uint16_t i = 0; i < gw->sh.n_snat; i++)
		mg_out_printf(o, " " MG_IP_FMT, MG_IP_ARGS(gw->sh.snat_ips[i]));
	mg_out_printf(o, " ports %u-%u\n", gw->sh.snat_port_min, gw->sh.snat_port_max);
	mg_out_printf(o, "default traffic distribution: %s\n", g->default_traffic_distribution);
	mg_out_printf(o, "connect: timeout %ums, max attempts %u\n", pp->connect_timeout_ms,
		      pp->max_attempts);
	mg_out_printf(o, "flow table: %u per worker; timeouts ms:", g->flows.size);
	for (int s = MG_TCP_SYN_RECV; s < MG_TCP_STATE__MAX; s++)
		mg_out_printf(o, " %s %u", mg_tcp_state_name((uint8_t)s), pp->timeouts.ms[s]);
	mg_out_printf(o, "\ncontrol: generations %" PRIu64 ", loads ok %" PRIu64 " failed %" PRIu64
		      ", publish wait last %" PRIu64 "us max %" PRIu64 "us, reclaimed %" PRIu64 "\n",
		      c->generations, c->loads_ok, c->loads_failed, c->publish_wait_us_last,
		      c->publish_wait_us_max, c->reclaimed);
	mg_out_printf(o, "control: arp requests %" PRIu64 ", learnt %" PRIu64 ", events %" PRIu64
		      " (connect ok %" PRIu64 " refused %" PRIu64 " unreachable %" PRIu64 " timeout %" PRIu64
		      " reset %" PRIu64 " closed %" PRIu64 ")\n", c->arp_requests, c->arp_learnt, c->events,
		      c->ev_connect_ok, c->ev_refused, c->ev_unreach, c->ev_timeout, c->ev_reset,
		      c->ev_closed);
	if (gw->last_error[0])
		mg_out_printf(o, "last refused configuration: %s\n", gw->last_error);
	pthread_mutex_unlock(&gw->lock);
}

void
mg_show_services(struct mg_gw *gw, struct mg_out *o)
{
	const struct mg_lb_table *t;

	pthread_mutex_lock(&gw->lock);
	t = mg_gw_table(gw);
	mg_out_printf(o, "%-32s %-21s %-16s %-8s %5s %5s\n", "SERVICE", "VIP:PORT", "MODE", "SCOPE",
		      "EPS", "TIERS");
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct mg_lb_svc *s = &t->svcs[i];
		const struct mg_conf_service *cs = &t->conf->services[s->conf_idx];
		char name[MG_NAME_LEN * 2 + 2], vip[32];

		snprintf(name, sizeof(name), "%s/%s", cs->ns, cs->name);
		snprintf(vip, sizeof(vip), MG_IP_FMT ":%u", MG_IP_ARGS(s->vip), rte_be_to_cpu_16(s->port));
		mg_out_printf(o, "%-32s %-21s %-16s %-8s %5u %5u%s\n", name, vip, s->mode->name, s->scope,
			      s->ep_count, s->n_tiers, s->dazed ? "  DAZED" : "");
	}
	pthread_mutex_unlock(&gw->lock);
}

static const char *
ep_state_name(uint8_t st)
{
	static const char *const n[] = { "healthy", "ejected", "at-limit", "dazed" };

	return st < 4 ? n[st] : "?";
}

int
mg_show_service(struct mg_gw *gw, struct mg_out *o, const char *ns_name)
{
	const struct mg_lb_table *t;
	char ns[MG_NAME_LEN], name[MG_NAME_LEN];
	const char *slash = strchr(ns_name, '/');
	int found = 0;

	if (slash == NULL || (size_t)(slash - ns_name) >= sizeof(ns)) {
		mg_out_printf(o, "Bad service \"%s\": write <namespace>/<name>\n", ns_name);
		return -1;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - ns_name), ns_name);
	snprintf(name, sizeof(name), "%s", slash + 1);
	pthread_mutex_lock(&gw->lock);
	t = mg_gw_table(gw);
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct mg_lb_svc *s = &t->svcs[i];
		const struct mg_conf_service *cs = &t->conf->services[s->conf_idx];
		const struct mg_conf_gateway *g = &t->conf->gw;

		if (strcmp(cs->ns, ns) != 0 || strcmp(cs->name, name) != 0)
			continue;
		found++;
		mg_out_printf(o, "service %s/%s%s at " MG_IP_FMT ":%u\n", ns, name,
			      cs->is_service_entry ? " (ServiceEntry)" : "", MG_IP_ARGS(s->vip),
			      rte_be_to_cpu_16(s->port));
		mg_out_printf(o, "  mode %s, decided by %s; health policy %s; scope %s%s%s\n",
			      s->mode->name, mg_lb_source_name((enum mg_lb_source)s->source),
			      s->health == MG_HEALTH_ALLOW_ALL ? "ALLOW_ALL" : "ONLY_HEALTHY", s->scope,
			      s->global ? " (with peered clusters)" : "", s->dazed ? "; DAZED" : "");
		mg_out_printf(o, "  gateway locality %s/%s/%s/%s node %s\n", g->locality.network,
			      g->locality.region, g->locality.zone, g->locality.subzone, g->locality.node);
		mg_out_printf(o, "  %-21s %-4s %-4s %-8s %-7s %-9s %-36s %s\n", "ENDPOINT", "TIER", "RANK",
			      "WEIGHT", "READY", "STATE", "LOCALITY (net/region/zone/subzone/node)", "VIA");
		for (uint32_t k = 0; k < s->ep_count; k++) {
			const struct mg_lb_ep *ep = &t->eps[s->ep_first + k];
			const struct mg_locality *l = NULL;
			char addr[32], loc[5 * MG_NAME_LEN + 8], via[MG_NAME_LEN + 16];
			struct rte_ether_addr mac;

			if (ep->conf_idx != UINT32_MAX)
				l = &t->conf->endpoints[ep->conf_idx].locality;
			else if (ep->remote != UINT16_MAX)
				l = &g->remotes[ep->remote].gateway_locality;
			snprintf(addr, sizeof(addr), MG_IP_FMT ":%u", MG_IP_ARGS(ep->ip),
				 rte_be_to_cpu_16(ep->port));
			if (l != NULL)
				snprintf(loc, sizeof(loc), "%s/%s/%s/%s/%s",
					 ep->remote != UINT16_MAX ? g->remotes[ep->remote].network : l->network,
					 l->region, l->zone, l->subzone, l->node);
			else
				snprintf(loc, sizeof(loc), "-");
			if (ep->remote != UINT16_MAX)
				snprintf(via, sizeof(via), "east-west gateway of %s", g->remotes[ep->remote].name);
			else
				snprintf(via, sizeof(via), "port %u%s", ep->port_id,
					 mg_neigh_mac(gw->sh.neigh, ep->nh, &mac) ? "" : " (next hop unresolved)");
			mg_out_printf(o, "  %-21s %-4u %-4d %-8u %-7s %-9s %-36s %s\n", addr, ep->tier, ep->rank,
				      ep->weight, ep->ready ? "yes" : "no", ep_state_name(ep->state), loc, via);
		}
	}
	pthread_mutex_unlock(&gw->lock);
	if (!found) {
		mg_out_printf(o, "No service %s/%s (see show services)\n", ns, name);
		return -1;
	}
	return 0;
}

void
mg_show_flows(struct mg_gw *gw, struct mg_out *o, uint32_t vip)
{
	uint32_t shown = 0;

	for (uint16_t i = 0; i < gw->n_workers; i++) {
		const struct mg_worker *w = gw->workers[i];
		uint32_t by_state[MG_TCP_STATE__MAX] = { 0 };

		for (uint32_t f = 0; f < w->ft->size; f++) {
			struct mg_flow fl = w->ft->flows[f]; /* a copy: the worker keeps writing */

			if (fl.state == MG_TCP_NONE || fl.state >= MG_TCP_STATE__MAX)
				continue;
			by_state[fl.state]++;
			if (vip != 0 && fl.vip == vip && shown < 100) {
				shown++;
				mg_out_printf(o, "  " MG_IP_FMT ":%u -> " MG_IP_FMT ":%u => " MG_IP_FMT ":%u -> "
					      MG_IP_FMT ":%u  %s attempts %u worker %u\n",
					      MG_IP_ARGS(fl.client_ip), rte_be_to_cpu_16(fl.client_port),
					      MG_IP_ARGS(fl.vip), rte_be_to_cpu_16(fl.vport),
					      MG_IP_ARGS(fl.snat_ip), rte_be_to_cpu_16(fl.snat_port),
					      MG_IP_ARGS(fl.ep_ip), rte_be_to_cpu_16(fl.ep_port),
					      mg_tcp_state_name(fl.state), fl.attempts, w->id);
			}
		}
		mg_out_printf(o, "worker %u: %u flows of %u", w->id, mg_flow_count(w->ft), w->ft->size);
		for (int s = 1; s < MG_TCP_STATE__MAX; s++)
			if (by_state[s])
				mg_out_printf(o, "  %s %u", mg_tcp_state_name((uint8_t)s), by_state[s]);
		mg_out_printf(o, "\n");
	}
}

void
mg_show_neigh(struct mg_gw *gw, struct mg_out *o)
{
	const struct mg_neigh_table *t = gw->sh.neigh;
	uint64_t now = rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000);

	mg_out_printf(o, "%-16s %-5s %-18s %-10s %s\n", "ADDRESS", "PORT", "MAC", "AGE", "REQUESTS");
	pthread_mutex_lock(&gw->lock);
	for (uint32_t i = 0; i < t->n; i++) {
		struct rte_ether_addr mac;
		char m[RTE_ETHER_ADDR_FMT_SIZE] = "incomplete", age[24] = "-";

		if (mg_neigh_mac(t, (uint16_t)i, &mac))
			rte_ether_format_addr(m, sizeof(m), &mac);
		if (t->info[i].confirmed_ms)
			snprintf(age, sizeof(age), "%" PRIu64 "s", (now - t->info[i].confirmed_ms) / 1000);
		mg_out_printf(o, MG_IP_FMT "%*s %-5u %-18s %-10s %u\n", MG_IP_ARGS(t->info[i].ip), 1, "",
			      t->info[i].port_id, m, age, t->info[i].requests);
	}
	pthread_mutex_unlock(&gw->lock);
}

void
mg_show_routes(struct mg_gw *gw, struct mg_out *o)
{
	pthread_mutex_lock(&gw->lock);
	mg_out_printf(o, "%-20s %-16s %-5s %s\n", "DESTINATION", "GATEWAY", "PORT", "KIND");
	for (uint32_t i = 0; i < gw->routes.n; i++) {
		const struct mg_route *r = &gw->routes.r[i];
		char dst[32], nh[20];

		snprintf(dst, sizeof(dst), MG_IP_FMT "/%u", MG_IP_ARGS(r->dst), r->prefix_len);
		if (r->gateway)
			snprintf(nh, sizeof(nh), MG_IP_FMT, MG_IP_ARGS(r->gateway));
		else
			snprintf(nh, sizeof(nh), "on-link");
		mg_out_printf(o, "%-20s %-16s %-5u %s\n", dst, nh, r->port_id,
			      r->connected ? "connected" : "static");
	}
	pthread_mutex_unlock(&gw->lock);
}

static void
endpoint_line(struct mg_out *o, const struct mg_ol_ep *e, uint64_t now)
{
	char until[32] = "-";

	if (e->ejected)
		snprintf(until, sizeof(until), "%" PRIu64 "s", (e->ejected_until - now + 999) / 1000);
	mg_out_printf(o, MG_IP_FMT "%*s %-9s %5u %4u %-8s %6.3f %9.0f %6u %7u %8" PRIu64 "\n",
		      MG_IP_ARGS(e->id), 1, "",
		      e->ejected ? "ejected" : e->at_limit ? "at-limit" : "healthy", e->consecutive, e->k,
		      until, e->score, e->latency_us, e->active, e->pending, e->ejections);
}

static uint64_t
ctl_now_ms(void)
{
	return rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000);
}

void
mg_show_endpoints(struct mg_gw *gw, struct mg_out *o)
{
	uint64_t now = ctl_now_ms();

	pthread_mutex_lock(&gw->lock);
	mg_out_printf(o, "%-16s %-9s %5s %4s %-8s %6s %9s %6s %7s %8s\n", "ENDPOINT", "STATE", "FAILS",
		      "K", "BACK IN", "SCORE", "RTT(us)", "ACTIVE", "PENDING", "EJECTED");
	for (uint32_t i = 0; i < gw->ol->n; i++)
		endpoint_line(o, &gw->ol->eps[i], now);
	mg_out_printf(o, "ejections %" PRIu64 ", re-admission rounds %" PRIu64 ", held back by maxEjectionPercent %"
		      PRIu64 ", dazed %" PRIu64 ", table rebuilds %" PRIu64 "\n", gw->cst.ejections,
		      gw->cst.readmissions, gw->ol->ejections_refused, gw->cst.dazed, gw->cst.rebuilds);
	pthread_mutex_unlock(&gw->lock);
}

int
mg_show_endpoint(struct mg_gw *gw, struct mg_out *o, uint32_t ip)
{
	uint64_t now = ctl_now_ms();
	const struct mg_ol_ep *e;

	pthread_mutex_lock(&gw->lock);
	e = mg_outlier_find(gw->ol, ip);
	if (e == NULL) {
		pthread_mutex_unlock(&gw->lock);
		mg_out_printf(o, "No endpoint " MG_IP_FMT " (see show endpoints)\n", MG_IP_ARGS(ip));
		return -1;
	}
	mg_out_printf(o, "endpoint " MG_IP_FMT ": %s\n", MG_IP_ARGS(ip),
		      e->ejected ? "EJECTED" : e->at_limit ? "AT LIMIT (circuit breaker)" : "healthy");
	mg_out_printf(o, "  consecutive failures %u, ejections %" PRIu64 " (multiplier %u)\n", e->consecutive,
		      e->ejections, e->k);
	if (e->ejected)
		mg_out_printf(o, "  ejected until +%" PRIu64 "ms\n", e->ejected_until - now);
	mg_out_printf(o, "  EWMA success score %.3f (weight x %.3f), EWMA connect latency %.0f us\n",
		      e->score, e->score < 0.05 ? 0.05 : e->score, e->latency_us);
	mg_out_printf(o, "  active connections %u, pending connects %u\n", e->active, e->pending);
	if (e->last_failure_ms)
		mg_out_printf(o, "  last failure %s, %" PRIu64 "s ago\n",
			      mg_ol_event_name((enum mg_ol_event)e->last_failure),
			      (now - e->last_failure_ms) / 1000);
	mg_out_printf(o, "  events:");
	for (int k = 0; k < MG_OL__MAX; k++)
		mg_out_printf(o, " %s %" PRIu64, mg_ol_event_name((enum mg_ol_event)k), e->events[k]);
	mg_out_printf(o, "\n");
	pthread_mutex_unlock(&gw->lock);
	return 0;
}
