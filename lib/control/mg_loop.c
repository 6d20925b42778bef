/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's main loop, in the manner of DPDK's l3fwd: poll, process the
 * burst to completion, flush, and once per loop report a quiescent state so
 * the control lcore knows this worker holds no reference to an old table.
 * Timers are checked every millisecond. With --idle-sleep, a loop that found
 * nothing sleeps briefly (for test beds; off by default). With --idle-yield
 * it gives the core to whatever else is runnable there (sched_yield): for
 * workers that share a core, so that one with nothing to do does not spin
 * out its time slice while the other's queue fills. Neither is on the
 * packet path: only a loop without packets makes the call. A sleeping
 * worker is RCU-offline (it holds no table then), so that a grace period
 * does not last until it wakes: with --idle-sleep 1000 each one took up to
 * a millisecond, and whoever waited for it (mg_gw_reclaim) with it.
 */
#include <sched.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>

#include "mg_gw_priv.h"

#define MG_EXPIRE_BUDGET 64

int
mg_gw_worker_loop(void *arg)
{
	struct mg_worker *w = arg;
	struct mg_gw *gw = mg_gw_of(w->sh);
	struct mg_proxy_shared *sh = w->sh;
	struct rte_mbuf *pkts[MG_BURST];
	uint64_t next_expire = 0;

	rte_rcu_qsbr_thread_online(gw->rcu, w->id);
	while (!gw->quit) {
		uint64_t start = rte_rdtsc();
		uint32_t work = 0;

		w->now_tsc = start;
		w->now_ms = (uint32_t)(start / w->tsc_per_ms);
		w->lb = __atomic_load_n(&sh->lb, __ATOMIC_ACQUIRE);
		if (likely(gw->running)) {
			for (uint16_t p = 0; p < gw->n_ports; p++) {
				const struct mg_gw_port *gp = &gw->ports[p];

				for (uint16_t q = w->id; q < gp->n_rxq; q += sh->n_workers) {
					uint16_t n = rte_eth_rx_burst(gp->port_id, q, pkts, MG_BURST);

					/* The packet path indexes per-port state by
					 * m->port: never trust a PMD to have set it. */
					for (uint16_t i = 0; i < n; i++)
						pkts[i]->port = gp->port_id;
					if (n) {
						mg_proxy_input(w, pkts, n, false);
						work += n;
					}
				}
			}
		}
		for (uint16_t o = 0; o < sh->n_workers; o++) {
			unsigned int n;

			if (o == w->id)
				continue;
			n = rte_ring_sc_dequeue_burst(sh->handoff[o][w->id], (void **)pkts,
						      MG_BURST, NULL);
			if (n) {
				mg_proxy_input(w, pkts, (uint16_t)n, true);
				work += n;
			}
		}
		mg_proxy_flush(w);
		if (start >= next_expire) {
			next_expire = start + w->tsc_per_ms;
			mg_proxy_expire(w, MG_EXPIRE_BUDGET);
			mg_proxy_flush(w);
		}
		w->lb = NULL;
		rte_rcu_qsbr_quiescent(gw->rcu, w->id);
		w->st.loops++;
		if (work) {
			w->st.busy_cycles += rte_rdtsc() - start;
		} else if (gw->opts.idle_sleep_us) {
			rte_rcu_qsbr_thread_offline(gw->rcu, w->id);
			usleep(gw->opts.idle_sleep_us);
			rte_rcu_qsbr_thread_online(gw->rcu, w->id);
		} else if (gw->opts.idle_yield) {
			sched_yield();
		}
	}
	rte_rcu_qsbr_thread_offline(gw->rcu, w->id);
	return 0;
}
