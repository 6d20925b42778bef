/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /meshgate/... telemetry commands, read with dpdk-telemetry.py or any
 * client of DPDK's telemetry socket. Counters are summed over the workers on
 * read, exactly as the CLI sums them. DPDK 22.11 caps a reply at 256 dict
 * entries, 512 array entries and 128-character strings: listings that can
 * grow take a start index as parameter (",<start>") and say where the next
 * page begins.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "mg_cli_priv.h"

static struct mg_gw *tel_gw;

#define PAGE 200

static void
add_worker_stats(struct rte_tel_data *d, const struct mg_worker_stats *s)
{
	rte_tel_data_add_dict_u64(d, "rx", s->rx);
	rte_tel_data_add_dict_u64(d, "tx", s->tx);
	rte_tel_data_add_dict_u64(d, "loops", s->loops);
	rte_tel_data_add_dict_u64(d, "busy_cycles", s->busy_cycles);
	rte_tel_data_add_dict_u64(d, "handoff_in", s->handoff_in);
	rte_tel_data_add_dict_u64(d, "handoff_out", s->handoff_out);
	rte_tel_data_add_dict_u64(d, "flows_new", s->flows_new);
	rte_tel_data_add_dict_u64(d, "flows_closed", s->flows_closed);
	rte_tel_data_add_dict_u64(d, "connect_ok", s->connect_ok);
	rte_tel_data_add_dict_u64(d, "connect_refused", s->connect_refused);
	rte_tel_data_add_dict_u64(d, "connect_unreach", s->connect_unreach);
	rte_tel_data_add_dict_u64(d, "connect_timeout", s->connect_timeout);
	rte_tel_data_add_dict_u64(d, "connect_retry", s->connect_retry);
	rte_tel_data_add_dict_u64(d, "connect_failed", s->connect_failed);
	rte_tel_data_add_dict_u64(d, "resets", s->resets);
	rte_tel_data_add_dict_u64(d, "arp_replies", s->arp_replies);
	rte_tel_data_add_dict_u64(d, "icmp_echo", s->icmp_echo);
	rte_tel_data_add_dict_u64(d, "events_dropped", s->events_dropped);
	for (int r = 1; r < MG_DROP__MAX; r++) {
		char k[64];

		snprintf(k, sizeof(k), "drop_%s", mg_drop_reason_name((enum mg_drop_reason)r));
		rte_tel_data_add_dict_u64(d, k, s->drop[r]);
	}
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mg_worker_stats sum;
	uint64_t active = 0;

	mg_gw_stats_sum(tel_gw, &sum);
	for (uint16_t i = 0; i < tel_gw->n_workers; i++)
		active += mg_flow_count(tel_gw->workers[i]->ft);
	rte_tel_data_start_dict(d);
	add_worker_stats(d, &sum);
	rte_tel_data_add_dict_u64(d, "flows_active", active);
	rte_tel_data_add_dict_u64(d, "workers", tel_gw->n_workers);
	return 0;
}

static int
tel_lcore(const char *cmd, const char *params, struct rte_tel_data *d)
{
	int w = params ? atoi(params) : -1;
	struct mg_worker_stats s;

	if (params == NULL || w < 0 || w >= tel_gw->n_workers)
		return -EINVAL;
	memcpy(&s, &tel_gw->workers[w]->st, sizeof(s));
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "worker", w);
	rte_tel_data_add_dict_int(d, "lcore", tel_gw->workers[w]->lcore);
	rte_tel_data_add_dict_u64(d, "flows_active", mg_flow_count(tel_gw->workers[w]->ft));
	add_worker_stats(d, &s);
	return 0;
}

static int
tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (uint16_t i = 0; i < tel_gw->n_workers; i++)
		rte_tel_data_add_array_int(d, tel_gw->workers[i]->lcore);
	return 0;
}

static int
tel_config(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct mg_gw_ctl_stats *c = &tel_gw->cst;
	const struct mg_lb_table *t;

	pthread_mutex_lock(&tel_gw->lock);
	t = mg_gw_table(tel_gw);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "path", t->conf->path);
	rte_tel_data_add_dict_u64(d, "generation", t->generation);
	rte_tel_data_add_dict_string(d, "gateway", t->conf->gw.name);
	rte_tel_data_add_dict_string(d, "cluster", t->conf->gw.cluster);
	rte_tel_data_add_dict_string(d, "network", t->conf->gw.locality.network);
	rte_tel_data_add_dict_string(d, "region", t->conf->gw.locality.region);
	rte_tel_data_add_dict_string(d, "zone", t->conf->gw.locality.zone);
	rte_tel_data_add_dict_u64(d, "connect_timeout_ms", tel_gw->sh.params.connect_timeout_ms);
	rte_tel_data_add_dict_u64(d, "max_connect_attempts", tel_gw->sh.params.max_attempts);
	rte_tel_data_add_dict_u64(d, "generations", c->generations);
	rte_tel_data_add_dict_u64(d, "loads_ok", c->loads_ok);
	rte_tel_data_add_dict_u64(d, "loads_failed", c->loads_failed);
	rte_tel_data_add_dict_u64(d, "publish_wait_us_last", c->publish_wait_us_last);
	rte_tel_data_add_dict_u64(d, "publish_wait_us_max", c->publish_wait_us_max);
	rte_tel_data_add_dict_u64(d, "reclaimed", c->reclaimed);
	rte_tel_data_add_dict_u64(d, "arp_requests", c->arp_requests);
	rte_tel_data_add_dict_u64(d, "arp_learnt", c->arp_learnt);
	rte_tel_data_add_dict_u64(d, "events", c->events);
	pthread_mutex_unlock(&tel_gw->lock);
	return 0;
}

/* "ns/name vip:port mode scope eps tiers" per service port, paged. */
static int
tel_services(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint32_t start = params ? (uint32_t)atoi(params) : 0;
	const struct mg_lb_table *t;

	pthread_mutex_lock(&tel_gw->lock);
	t = mg_gw_table(tel_gw);
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (uint32_t i = start; i < t->n_svcs && i < start + PAGE; i++) {
		const struct mg_lb_svc *s = &t->svcs[i];
		const struct mg_conf_service *cs = &t->conf->services[s->conf_idx];
		char line[512];

		snprintf(line, sizeof(line), "%s/%s " MG_IP_FMT ":%u %s %s eps=%u tiers=%u%s", cs->ns,
			 cs->name, MG_IP_ARGS(s->vip), rte_be_to_cpu_16(s->port), s->mode->name, s->scope,
			 s->ep_count, s->n_tiers, s->dazed ? " dazed" : "");
		line[RTE_TEL_MAX_STRING_LEN - 1] = '\0';
		rte_tel_data_add_array_string(d, line);
	}
	pthread_mutex_unlock(&tel_gw->lock);
	return 0;
}

/* /meshgate/service,<ns>/<name>[,<start>]: "ip:port tier rank weight state" per endpoint. */
static int
tel_service(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char ns_name[2 * MG_NAME_LEN + 2];
	const char *comma;
	uint32_t start = 0, shown = 0, seen = 0;
	const struct mg_lb_table *t;

	if (params == NULL)
		return -EINVAL;
	comma = strchr(params, ',');
	snprintf(ns_name, sizeof(ns_name), "%.*s", comma ? (int)(comma - params) : (int)strlen(params),
		 params);
	if (comma)
		start = (uint32_t)atoi(comma + 1);
	pthread_mutex_lock(&tel_gw->lock);
	t = mg_gw_table(tel_gw);
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct mg_lb_svc *s = &t->svcs[i];
		const struct mg_conf_service *cs = &t->conf->services[s->conf_idx];
		char full[2 * MG_NAME_LEN + 2], line[512];

		snprintf(full, sizeof(full), "%s/%s", cs->ns, cs->name);
		if (strcmp(full, ns_name) != 0)
			continue;
		if (seen++ == 0 && start == 0) {
			snprintf(line, sizeof(line), "mode=%s source=%s scope=%s%s", s->mode->name,
				 mg_lb_source_name((enum mg_lb_source)s->source), s->scope,
				 s->dazed ? " dazed" : "");
			line[RTE_TEL_MAX_STRING_LEN - 1] = '\0';
			rte_tel_data_add_array_string(d, line);
		}
		for (uint32_t k = 0; k < s->ep_count; k++, shown++) {
			const struct mg_lb_ep *ep = &t->eps[s->ep_first + k];

			if (shown < start || shown >= start + PAGE)
				continue;
			snprintf(line, sizeof(line), MG_IP_FMT ":%u->" MG_IP_FMT ":%u tier=%u rank=%d weight=%u state=%u ready=%u",
				 MG_IP_ARGS(s->vip), rte_be_to_cpu_16(s->port), MG_IP_ARGS(ep->ip),
				 rte_be_to_cpu_16(ep->port), ep->tier, ep->rank, ep->weight, ep->state,
				 ep->ready);
			line[RTE_TEL_MAX_STRING_LEN - 1] = '\0';
			rte_tel_data_add_array_string(d, line);
		}
	}
	pthread_mutex_unlock(&tel_gw->lock);
	return seen ? 0 : -ENOENT;
}

static int
tel_neigh(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct mg_neigh_table *t = tel_gw->sh.neigh;
	uint32_t start = params ? (uint32_t)atoi(params) : 0;

	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&tel_gw->lock);
	for (uint32_t i = start; i < t->n && i < start + PAGE; i++) {
		struct rte_ether_addr mac;
		char m[RTE_ETHER_ADDR_FMT_SIZE] = "incomplete", line[512];

		if (mg_neigh_mac(t, (uint16_t)i, &mac))
			rte_ether_format_addr(m, sizeof(m), &mac);
		snprintf(line, sizeof(line), MG_IP_FMT " port=%u %s requests=%u", MG_IP_ARGS(t->info[i].ip),
			 t->info[i].port_id, m, t->info[i].requests);
		line[RTE_TEL_MAX_STRING_LEN - 1] = '\0';
		rte_tel_data_add_array_string(d, line);
	}
	pthread_mutex_unlock(&tel_gw->lock);
	return 0;
}

static int
tel_port(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct rte_eth_stats s;
	int id = params ? atoi(params) : -1;

	if (id < 0 || id >= MG_MAX_ETHPORTS || !tel_gw->sh.ports[id].enabled ||
	    rte_eth_stats_get((uint16_t)id, &s) != 0)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "ipackets", s.ipackets);
	rte_tel_data_add_dict_u64(d, "opackets", s.opackets);
	rte_tel_data_add_dict_u64(d, "ibytes", s.ibytes);
	rte_tel_data_add_dict_u64(d, "obytes", s.obytes);
	rte_tel_data_add_dict_u64(d, "imissed", s.imissed);
	rte_tel_data_add_dict_u64(d, "ierrors", s.ierrors);
	rte_tel_data_add_dict_u64(d, "oerrors", s.oerrors);
	rte_tel_data_add_dict_u64(d, "rx_nombuf", s.rx_nombuf);
	return 0;
}

static int
tel_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	for (uint16_t i = 0; i < tel_gw->n_workers; i++) {
		char k[32];

		snprintf(k, sizeof(k), "worker_%u", i);
		rte_tel_data_add_dict_u64(d, k, mg_flow_count(tel_gw->workers[i]->ft));
	}
	return 0;
}

int
mg_telemetry_register(struct mg_gw *gw)
{
	tel_gw = gw;
	return rte_telemetry_register_cmd("/meshgate/stats", tel_stats,
			"Counters of all workers, summed (drops by reason). No parameters") |
	       rte_telemetry_register_cmd("/meshgate/lcores", tel_lcores,
			"Worker lcore ids. No parameters") |
	       rte_telemetry_register_cmd("/meshgate/lcore", tel_lcore,
			"Counters of one worker. Parameters: worker index") |
	       rte_telemetry_register_cmd("/meshgate/config", tel_config,
			"The configuration in force and control-plane counters. No parameters") |
	       rte_telemetry_register_cmd("/meshgate/services", tel_services,
			"Service VIP:ports with mode and scope. Parameters: [start index]") |
	       rte_telemetry_register_cmd("/meshgate/service", tel_service,
			"A service's mode and endpoints. Parameters: <ns>/<name>[,start index]") |
	       rte_telemetry_register_cmd("/meshgate/neigh", tel_neigh,
			"ARP neighbours. Parameters: [start index]") |
	       rte_telemetry_register_cmd("/meshgate/port", tel_port,
			"Counters of one port. Parameters: port id") |
	       rte_telemetry_register_cmd("/meshgate/flows", tel_flows,
			"Active flows per worker. No parameters");
}
