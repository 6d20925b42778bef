/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CLI, in pktgen's habits, on DPDK's cmdline library (TAB completes,
 * "help" lists):
 *   set <port|all> <setting> <value>   mode rate size flows conns count cps
 *                                      synrate reqsize respsize timeout rto
 *                                      window synthetic vip
 *   start [<port>|all]                 a new run with the settings in force
 *   stop [<port>|all]                  no new work; connections in flight finish
 *   show stats                         rates since the last "show stats", totals since start
 *   show config | clear stats | quit
 * The settings are the generator's, not a port's (one packet lcore drives
 * every port); <port> is accepted for pktgen's sake and checked.
 */
#include <stdlib.h>
#include <string.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_string.h>
#include <cmdline_rdline.h>
#include <cmdline_socket.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "lg.h"

static bool
port_ok(struct cmdline *cl, const char *p)
{
	char *end;
	unsigned long v;

	if (strcmp(p, "all") == 0)
		return true;
	v = strtoul(p, &end, 10);
	if (*end == '\0' && end != p && v < RTE_MAX_ETHPORTS && rte_eth_dev_is_valid_port((uint16_t)v))
		return true;
	cmdline_printf(cl, "no port %s\n", p);
	return false;
}

/* set <port> <key> <value> */
struct cmd_set_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t port;
	cmdline_fixed_string_t key;
	cmdline_fixed_string_t value;
};

static void
cmd_set_parsed(void *res, struct cmdline *cl, void *data)
{
	struct cmd_set_result *r = res;
	char err[160];

	if (!port_ok(cl, r->port))
		return;
	if (mg_lg_set(&mg_lg->cfg, r->key, r->value, err, sizeof(err)) < 0) {
		cmdline_printf(cl, "%s\n", err);
		return;
	}
	if (mg_lg->ctl.running)
		cmdline_printf(cl, "in force at the next start\n");
}

static cmdline_parse_token_string_t cmd_set_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_result, set, "set");
static cmdline_parse_token_string_t cmd_set_port =
	TOKEN_STRING_INITIALIZER(struct cmd_set_result, port, NULL);
static cmdline_parse_token_string_t cmd_set_key =
	TOKEN_STRING_INITIALIZER(struct cmd_set_result, key,
		"mode#rate#size#flows#conns#count#cps#synrate#reqsize#respsize#timeout#rto#window#synthetic#vip");
static cmdline_parse_token_string_t cmd_set_value =
	TOKEN_STRING_INITIALIZER(struct cmd_set_result, value, NULL);

static cmdline_parse_inst_t cmd_set = {
	.f = cmd_set_parsed,
	.help_str = "set <port|all> mode|rate|size|flows|conns|count|cps|synrate|reqsize|respsize|"
		    "timeout|rto|window|synthetic|vip <value>",
	.tokens = { (void *)&cmd_set_set, (void *)&cmd_set_port, (void *)&cmd_set_key,
		    (void *)&cmd_set_value, NULL },
};

/* start|stop [<port>|all] */
struct cmd_run_result {
	cmdline_fixed_string_t what;
	cmdline_fixed_string_t port;
};

static void
cmd_run_parsed(void *res, struct cmdline *cl, void *data)
{
	struct cmd_run_result *r = res;

	if (data != NULL && !port_ok(cl, r->port))
		return;
	if (strcmp(r->what, "start") == 0) {
		if (mg_lg_start(mg_lg) == 0)
			cmdline_printf(cl, "started\n");
	} else {
		mg_lg_stop(mg_lg);
		cmdline_printf(cl, "stopped (connections in flight finish)\n");
	}
}

static cmdline_parse_token_string_t cmd_run_what =
	TOKEN_STRING_INITIALIZER(struct cmd_run_result, what, "start#stop");
static cmdline_parse_token_string_t cmd_run_port =
	TOKEN_STRING_INITIALIZER(struct cmd_run_result, port, NULL);

static cmdline_parse_inst_t cmd_run = {
	.f = cmd_run_parsed,
	.help_str = "start|stop: every port",
	.tokens = { (void *)&cmd_run_what, NULL },
};

static cmdline_parse_inst_t cmd_run_port_inst = {
	.f = cmd_run_parsed,
	.data = (void *)1,
	.help_str = "start|stop <port>|all",
	.tokens = { (void *)&cmd_run_what, (void *)&cmd_run_port, NULL },
};

/* show stats|config, clear stats, quit, help */
struct cmd_word_result {
	cmdline_fixed_string_t a;
	cmdline_fixed_string_t b;
};

static void
cmd_show_parsed(void *res, struct cmdline *cl, void *data)
{
	struct cmd_word_result *r = res;
	struct mg_lg_counters now;
	uint64_t t;

	if (strcmp(r->b, "config") == 0) {
		mg_lg_cfg_print(&mg_lg->cfg, stdout);
		fflush(stdout);
		return;
	}
	mg_lg_sum(mg_lg, &now);
	t = rte_rdtsc();
	printf("since the last show stats ");
	mg_lg_report(mg_lg, stdout, &mg_lg->last, mg_lg->last_tsc, &now, t, false);
	printf("since start ");
	mg_lg_report(mg_lg, stdout, &mg_lg->base, mg_lg->base_tsc, &now, t, false);
	fflush(stdout);
	mg_lg->last = now;
	mg_lg->last_tsc = t;
}

static cmdline_parse_token_string_t cmd_show_a =
	TOKEN_STRING_INITIALIZER(struct cmd_word_result, a, "show");
static cmdline_parse_token_string_t cmd_show_b =
	TOKEN_STRING_INITIALIZER(struct cmd_word_result, b, "stats#config");

static cmdline_parse_inst_t cmd_show = {
	.f = cmd_show_parsed,
	.help_str = "show stats|config",
	.tokens = { (void *)&cmd_show_a, (void *)&cmd_show_b, NULL },
};

static void
cmd_clear_parsed(void *res, struct cmdline *cl, void *data)
{
	mg_lg_sum(mg_lg, &mg_lg->base);
	mg_lg->base_tsc = rte_rdtsc();
	mg_lg->last = mg_lg->base;
	mg_lg->last_tsc = mg_lg->base_tsc;
}

static cmdline_parse_token_string_t cmd_clear_a =
	TOKEN_STRING_INITIALIZER(struct cmd_word_result, a, "clear");
static cmdline_parse_token_string_t cmd_clear_b =
	TOKEN_STRING_INITIALIZER(struct cmd_word_result, b, "stats");

static cmdline_parse_inst_t cmd_clear = {
	.f = cmd_clear_parsed,
	.help_str = "clear stats",
	.tokens = { (void *)&cmd_clear_a, (void *)&cmd_clear_b, NULL },
};

static void
cmd_one_parsed(void *res, struct cmdline *cl, void *data)
{
	struct cmd_word_result *r = res;

	if (strcmp(r->a, "quit") == 0) {
		cmdline_quit(cl);
		return;
	}
	cmdline_printf(cl,
		"set <port|all> <setting> <value>  settings: mode conn|flood|synflood[,..], rate PPS,\n"
		"      size 64..1518, flows N, conns N, count N, cps N, synrate PPS, reqsize B,\n"
		"      respsize B, timeout MS, rto MS, window N, synthetic on|off, vip IP:PORT|none\n"
		"start [<port>|all]   stop [<port>|all]   show stats   show config   clear stats   quit\n");
}

static cmdline_parse_token_string_t cmd_one_a =
	TOKEN_STRING_INITIALIZER(struct cmd_word_result, a, "quit#help");

static cmdline_parse_inst_t cmd_one = {
	.f = cmd_one_parsed,
	.help_str = "quit|help",
	.tokens = { (void *)&cmd_one_a, NULL },
};

static cmdline_parse_ctx_t ctx[] = {
	(cmdline_parse_inst_t *)&cmd_set,
	(cmdline_parse_inst_t *)&cmd_run,
	(cmdline_parse_inst_t *)&cmd_run_port_inst,
	(cmdline_parse_inst_t *)&cmd_show,
	(cmdline_parse_inst_t *)&cmd_clear,
	(cmdline_parse_inst_t *)&cmd_one,
	NULL,
};

int
mg_lg_cli_run(struct mg_lg *g)
{
	struct cmdline *cl = cmdline_stdin_new(ctx, "mg-loadgen> ");

	if (cl == NULL)
		return 1;
	cmdline_interact(cl);
	cmdline_stdin_exit(cl);
	return 0;
}
