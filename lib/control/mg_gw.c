/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Gateway set-up and tear-down: ports (probed from the configuration's
 * device strings, so `--vdev` on the command line is optional), per-worker
 * queues, rings and flow tables, the RCU state and the defer queue that
 * frees old table generations.
 *
 * Queue plan, per port: RX queue q is polled by worker q % n_workers, TX
 * queue w belongs to worker w, and TX queue n_workers to the control thread
 * (ARP requests). A port that offers fewer RX queues than workers is polled
 * by the first workers only, one that insists on as many RX as TX queues
 * (net_tap) has its extra RX queue polled by worker 0; hand-off rings bring
 * each packet to its owner anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "mg_gw.h"
#include "mg_gw_priv.h"

#define MG_MBUFS_PER_PORT_QUEUE 2048
#define MG_MEMPOOL_CACHE 256

int
mg_gw_port_index(const struct mg_gw *gw, uint16_t port_id)
{
	for (uint16_t i = 0; i < gw->n_ports; i++)
		if (gw->ports[i].port_id == port_id)
			return i;
	return -1;
}

/* The DPDK port of a configured device: already probed, or probe it now. */
static int
port_find_or_probe(const char *device, uint16_t *port_id, char *err, size_t errlen)
{
	char name[MG_DEV_LEN];
	const char *comma = strchr(device, ',');
	size_t len = comma ? (size_t)(comma - device) : strlen(device);
	int rc;

	snprintf(name, sizeof(name), "%.*s", (int)len, device);
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	rc = rte_dev_probe(device);
	if (rc < 0) {
		snprintf(err, errlen, "device %s: cannot probe it: %s", device, strerror(-rc));
		return -1;
	}
	if (rte_eth_dev_get_port_by_name(name, port_id) != 0) {
		snprintf(err, errlen, "device %s: probed but no ethdev named %s", device, name);
		return -1;
	}
	return 0;
}

/*
 * Predictable RSS, second half: redirection table entry i -> queue
 * i % workers, so that a reply whose hash ends in a worker's id reaches
 * that worker (lib/proxy mg_snat_pick). Without it, RSS still spreads the
 * load and the hand-off rings keep every flow with its owner.
 */
static void
rss_reta_setup(struct mg_gw *gw, struct mg_gw_port *p, const struct rte_eth_dev_info *info,
	       const struct mg_conf_port *cp)
{
	struct rte_eth_rss_reta_entry64 reta[RTE_ETH_RSS_RETA_SIZE_512 / RTE_ETH_RETA_GROUP_SIZE];
	uint16_t size = info->reta_size;

	if (size == 0 || size > RTE_ETH_RSS_RETA_SIZE_512) {
		MG_LOG(NOTICE, "port %s: RSS table of %u entries: replies reach their worker by hand-off\n",
		       cp->name, size);
		return;
	}
	memset(reta, 0, sizeof(reta));
	for (uint16_t i = 0; i < size; i++) {
		reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= UINT64_C(1) << (i % RTE_ETH_RETA_GROUP_SIZE);
		reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = i % gw->n_workers;
	}
	if (rte_eth_dev_rss_reta_update(p->port_id, reta, size) != 0) {
		MG_LOG(NOTICE, "port %s: cannot program the RSS table: replies reach their worker by hand-off\n",
		       cp->name);
		return;
	}
	gw->sh.ports[p->port_id].rss = true;
	MG_LOG(INFO, "port %s: predictable RSS (%u-byte key, %u entries): no hand-off\n", cp->name,
	       info->hash_key_size, size);
}

static int
port_setup(struct mg_gw *gw, struct mg_gw_port *p, const struct mg_conf_port *cp,
	   char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf pc = { 0 };
	uint16_t nrx, ntx, rxd, txd;
	int rc;

	if (rte_eth_dev_info_get(p->port_id, &info) != 0) {
		snprintf(err, errlen, "port %s: no device info", cp->name);
		return -1;
	}
	snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
	mg_profile_for(gw, cp->profile, info.driver_name, &p->profile);
	nrx = RTE_MIN(gw->n_workers, info.max_rx_queues);
	ntx = gw->n_workers + 1;
	if (ntx > info.max_tx_queues) {
		snprintf(err, errlen, "port %s (%s): needs %u TX queues (one per worker and one for control), the device has %u",
			 cp->name, info.driver_name, ntx, info.max_tx_queues);
		return -1;
	}
	if (p->profile.rss && nrx > 1 &&
	    (info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP)) {
		pc.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		pc.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
						 (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP);
		p->rss = true;
		/* Our own Toeplitz key, so that SNAT ports can steer replies. */
		if (mg_proxy_rss_init(&gw->sh.ports[p->port_id], p->port_id, info.hash_key_size,
				      info.reta_size, p->rss_key) == 0) {
			pc.rx_adv_conf.rss_conf.rss_key = p->rss_key;
			pc.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
		}
	}
	if (p->profile.rx_ip_cksum && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM))
		pc.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	rc = rte_eth_dev_configure(p->port_id, nrx, ntx, &pc);
	if (rc < 0 && p->rss) {
		/* Some virtual devices advertise RSS they cannot set up (net_tap
		 * without its BPF program): run without, hand-off covers it. */
		pc.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
		pc.rx_adv_conf.rss_conf.rss_hf = 0;
		p->rss = false;
		rc = rte_eth_dev_configure(p->port_id, nrx, ntx, &pc);
	}
	if (rc < 0 && nrx != ntx && ntx <= info.max_rx_queues) {
		/* Some drivers (net_tap) want as many RX queues as TX queues:
		 * the extra RX queues are polled by the workers too (q % n). */
		nrx = ntx;
		rc = rte_eth_dev_configure(p->port_id, nrx, ntx, &pc);
	}
	if (rc < 0) {
		snprintf(err, errlen, "port %s (%s): configure failed: %s", cp->name,
			 info.driver_name, strerror(-rc));
		return -1;
	}
	rxd = p->profile.rx_desc;
	txd = p->profile.tx_desc;
	rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &rxd, &txd);
	for (uint16_t q = 0; q < nrx; q++) {
		rc = rte_eth_rx_queue_setup(p->port_id, q, rxd,
					    rte_eth_dev_socket_id(p->port_id), NULL, gw->mp);
		if (rc < 0) {
			snprintf(err, errlen, "port %s: RX queue %u: %s", cp->name, q, strerror(-rc));
			return -1;
		}
	}
	for (uint16_t q = 0; q < ntx; q++) {
		rc = rte_eth_tx_queue_setup(p->port_id, q, txd,
					    rte_eth_dev_socket_id(p->port_id), NULL);
		if (rc < 0) {
			snprintf(err, errlen, "port %s: TX queue %u: %s", cp->name, q, strerror(-rc));
			return -1;
		}
	}
	if (cp->mtu && rte_eth_dev_set_mtu(p->port_id, cp->mtu) != 0) {
		snprintf(err, errlen, "port %s: cannot set MTU %u", cp->name, cp->mtu);
		return -1;
	}
	rc = rte_eth_dev_start(p->port_id);
	if (rc < 0) {
		snprintf(err, errlen, "port %s: start failed: %s", cp->name, strerror(-rc));
		return -1;
	}
	p->n_rxq = nrx;
	p->n_txq = ntx;
	if (p->rss && pc.rx_adv_conf.rss_conf.rss_key != NULL)
		rss_reta_setup(gw, p, &info, cp);
	rte_eth_macaddr_get(p->port_id, &gw->sh.ports[p->port_id].mac);
	gw->sh.ports[p->port_id].ip = cp->ip;
	gw->sh.ports[p->port_id].prefix_len = cp->prefix_len;
	gw->sh.ports[p->port_id].enabled = true;
	return 0;
}

static void
dq_free_table(void *p, void *e, unsigned int n)
{
	struct mg_gw *gw = p;

	for (unsigned int i = 0; i < n; i++) {
		struct mg_lb_table *t = ((struct mg_lb_table **)e)[i];

		mg_lb_free(t);
		gw->cst.reclaimed++;
	}
}

static int
rings_create(struct mg_gw *gw, char *err, size_t errlen)
{
	char name[RTE_RING_NAMESIZE];

	for (uint16_t w = 0; w < gw->n_workers; w++) {
		snprintf(name, sizeof(name), "mg_ev_%u", w);
		gw->sh.events[w] = rte_ring_create_elem(name, sizeof(struct mg_event), 16384,
							SOCKET_ID_ANY,
							RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (gw->sh.events[w] == NULL)
			goto fail;
		for (uint16_t o = 0; o < gw->n_workers; o++) {
			if (o == w)
				continue;
			snprintf(name, sizeof(name), "mg_ho_%u_%u", w, o);
			gw->sh.handoff[w][o] = rte_ring_create(name, 4096, SOCKET_ID_ANY,
							       RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (gw->sh.handoff[w][o] == NULL)
				goto fail;
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot create ring %s: %s", name, rte_strerror(rte_errno));
	return -1;
}

static int
snat_setup(struct mg_gw *gw, const struct mg_conf *conf, char *err, size_t errlen)
{
	const struct mg_conf_gateway *g = &conf->gw;

	gw->sh.snat_port_min = g->snat_port_min ? g->snat_port_min : 1024;
	gw->sh.snat_port_max = g->snat_port_max ? g->snat_port_max : 65535;
	/* Health-check SYNs leave from the port just outside the SNAT pools. */
	if (gw->sh.snat_port_min > 1)
		gw->sh.probe_port = rte_cpu_to_be_16(gw->sh.snat_port_min - 1);
	else if (gw->sh.snat_port_max < 65535)
		gw->sh.probe_port = rte_cpu_to_be_16(gw->sh.snat_port_max + 1);
	gw->sh.probe_secret = (uint32_t)rte_rand();
	gw->sh.cookie_key.k0 = rte_rand();
	gw->sh.cookie_key.k1 = rte_rand();
	if (g->n_snat > 0) {
		for (uint32_t i = 0; i < g->n_snat; i++)
			gw->sh.snat_ips[i] = g->snat[i];
		gw->sh.n_snat = (uint16_t)g->n_snat;
	} else {
		/* No SNAT list: each port's own address is the source behind it. */
		for (uint32_t i = 0; i < g->n_ports; i++)
			gw->sh.snat_ips[i] = g->ports[i].ip;
		gw->sh.n_snat = (uint16_t)g->n_ports;
	}
	for (uint16_t i = 0; i < gw->sh.n_snat; i++)
		if (mg_proxy_local_add(&gw->sh, gw->sh.snat_ips[i]) < 0) {
			snprintf(err, errlen, "too many local addresses");
			return -1;
		}
	return 0;
}

int
mg_gw_init(struct mg_gw *gw, struct mg_conf *conf, const char *conf_path,
	   const struct mg_gw_opts *opts, char *err, size_t errlen)
{
	const struct mg_conf_gateway *g = &conf->gw;
	unsigned int lcore;
	uint32_t nb_mbufs;
	size_t sz;

	memset(gw, 0, sizeof(*gw));
	pthread_mutex_init(&gw->lock, NULL);
	gw->opts = *opts;
	snprintf(gw->conf_path, sizeof(gw->conf_path), "%s", conf_path ? conf_path : "");
	RTE_LCORE_FOREACH_WORKER(lcore)
		gw->n_workers++;
	if (gw->n_workers == 0) {
		snprintf(err, errlen, "no worker lcore: give the EAL at least two lcores (e.g. -l 0-1)");
		return -1;
	}
	if (gw->n_workers > MG_MAX_WORKERS) {
		snprintf(err, errlen, "%u worker lcores: at most %u are supported",
			 gw->n_workers, MG_MAX_WORKERS);
		return -1;
	}
	gw->sh.n_workers = gw->n_workers;
	mg_gw_params_from_conf(&gw->sh.params, g);

	nb_mbufs = (uint32_t)g->n_ports * (gw->n_workers + 1) * MG_MBUFS_PER_PORT_QUEUE * 2 +
		   gw->n_workers * 16384 + 8191;
	gw->mp = rte_pktmbuf_pool_create("mg_mbufs", nb_mbufs, MG_MEMPOOL_CACHE, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	gw->ctl_mp = rte_pktmbuf_pool_create("mg_ctl_mbufs", 1023, 0, 0,
					     RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (gw->mp == NULL || gw->ctl_mp == NULL) {
		snprintf(err, errlen, "cannot create the mbuf pool (%u mbufs): %s; reserve hugepages or give -m",
			 nb_mbufs, rte_strerror(rte_errno));
		return -1;
	}
	gw->ol = mg_outlier_create(&g->outlier, &g->circuit);
	if (gw->ol == NULL) {
		snprintf(err, errlen, "cannot create the outlier detector");
		return -1;
	}
	gw->sh.neigh = mg_neigh_create("mg_neigh", 4096,
				       g->neigh_timeout_ms ? g->neigh_timeout_ms : 300000,
				       rte_socket_id());
	if (gw->sh.neigh == NULL) {
		snprintf(err, errlen, "cannot create the neighbour table");
		return -1;
	}
	if (rings_create(gw, err, errlen) < 0)
		return -1;
	for (uint32_t i = 0; i < g->n_ports; i++) {
		struct mg_gw_port *p = &gw->ports[i];
		const struct mg_conf_port *cp = &g->ports[i];

		if (port_find_or_probe(cp->device, &p->port_id, err, errlen) < 0)
			return -1;
		if (p->port_id >= MG_MAX_ETHPORTS) {
			snprintf(err, errlen, "port %s: DPDK port id %u above %u", cp->name,
				 p->port_id, MG_MAX_ETHPORTS - 1);
			return -1;
		}
		for (uint16_t k = 0; k < i; k++)
			if (gw->ports[k].port_id == p->port_id) {
				snprintf(err, errlen, "ports %s and %s name the same device",
					 g->ports[k].name, cp->name);
				return -1;
			}
		snprintf(p->name, sizeof(p->name), "%s", cp->name);
		snprintf(p->device, sizeof(p->device), "%s", cp->device);
		gw->n_ports++;
		if (port_setup(gw, p, cp, err, errlen) < 0)
			return -1;
		if (mg_proxy_local_add(&gw->sh, cp->ip) < 0) {
			snprintf(err, errlen, "too many local addresses");
			return -1;
		}
	}
	if (snat_setup(gw, conf, err, errlen) < 0)
		return -1;

	sz = rte_rcu_qsbr_get_memsize(gw->n_workers);
	gw->rcu = rte_zmalloc("mg_rcu", sz, RTE_CACHE_LINE_SIZE);
	if (gw->rcu == NULL || rte_rcu_qsbr_init(gw->rcu, gw->n_workers) != 0) {
		snprintf(err, errlen, "cannot set up RCU");
		return -1;
	}
	struct rte_rcu_qsbr_dq_parameters dqp = {
		.name = "mg_lb_dq",
		.size = 64,
		.esize = sizeof(struct mg_lb_table *),
		.trigger_reclaim_limit = 1,
		.max_reclaim_size = 16,
		.free_fn = dq_free_table,
		.p = gw,
		.v = gw->rcu,
	};
	gw->dq = rte_rcu_qsbr_dq_create(&dqp);
	if (gw->dq == NULL) {
		snprintf(err, errlen, "cannot create the RCU defer queue");
		return -1;
	}

	uint16_t wi = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		int socket = (int)rte_lcore_to_socket_id(lcore);
		struct mg_worker *w = rte_zmalloc_socket("mg_worker", sizeof(*w),
							 RTE_CACHE_LINE_SIZE, socket);
		uint32_t flows = g->flows.size ? g->flows.size : 262144;

		if (w == NULL || mg_worker_init(w, &gw->sh, wi, (uint16_t)lcore, flows, gw->mp,
						socket) < 0) {
			snprintf(err, errlen, "worker %u: cannot allocate its flow table of %u flows",
				 wi, flows);
			rte_free(w);
			return -1;
		}
		gw->workers[wi++] = w;
		rte_rcu_qsbr_thread_register(gw->rcu, w->id);
	}
	/* First generation: published before any worker runs. */
	if (mg_gw_apply(gw, conf, err, errlen) < 0)
		return -1;
	return 0;
}

int
mg_gw_start(struct mg_gw *gw, char *err, size_t errlen)
{
	int rc;

	gw->running = true;
	for (uint16_t i = 0; i < gw->n_workers; i++) {
		rc = rte_eal_remote_launch(mg_gw_worker_loop, gw->workers[i], gw->workers[i]->lcore);
		if (rc != 0) {
			snprintf(err, errlen, "cannot launch worker on lcore %u", gw->workers[i]->lcore);
			return -1;
		}
	}
	rc = rte_ctrl_thread_create(&gw->ctl_thread, "mg-control", NULL, mg_gw_control_loop, gw);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the control thread: %s", strerror(rc));
		return -1;
	}
	return 0;
}

void
mg_gw_fini(struct mg_gw *gw)
{
	gw->quit = true;
	rte_eal_mp_wait_lcore();
	if (gw->ctl_thread)
		pthread_join(gw->ctl_thread, NULL);
	for (uint16_t i = 0; i < gw->n_workers; i++) {
		if (gw->workers[i] == NULL)
			continue;
		mg_proxy_drain(gw->workers[i]);
		mg_proxy_flush(gw->workers[i]);
	}
	for (uint16_t i = 0; i < gw->n_ports; i++) {
		rte_eth_dev_stop(gw->ports[i].port_id);
		rte_eth_dev_close(gw->ports[i].port_id);
	}
	for (uint16_t i = 0; i < gw->n_workers; i++) {
		if (gw->workers[i] == NULL)
			continue;
		mg_worker_fini(gw->workers[i]);
		rte_free(gw->workers[i]);
	}
	if (gw->dq != NULL)
		rte_rcu_qsbr_dq_delete(gw->dq);
	mg_lb_free(gw->sh.lb);
	mg_conf_free(gw->conf);
	mg_outlier_free(gw->ol);
	free(gw->probes);
	rte_free(gw->rcu);
	for (uint16_t w = 0; w < MG_MAX_WORKERS; w++) {
		rte_ring_free(gw->sh.events[w]);
		for (uint16_t o = 0; o < MG_MAX_WORKERS; o++)
			rte_ring_free(gw->sh.handoff[w][o]);
	}
	mg_neigh_free(gw->sh.neigh);
	rte_mempool_free(gw->mp);
	rte_mempool_free(gw->ctl_mp);
}

void
mg_gw_stats_sum(const struct mg_gw *gw, struct mg_worker_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (uint16_t i = 0; i < gw->n_workers; i++) {
		const uint64_t *s = (const uint64_t *)&gw->workers[i]->st;
		uint64_t *d = (uint64_t *)out;

		for (size_t k = 0; k < sizeof(*out) / sizeof(uint64_t); k++)
			d[k] += __atomic_load_n(&s[k], __ATOMIC_RELAXED);
	}
}
