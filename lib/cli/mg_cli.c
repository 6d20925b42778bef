/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CLI on DPDK's cmdline library, in testpmd's grammar: every fixed word
 * is a cmdline token, so TAB completes it and `help` lists the commands.
 * The same context serves the terminal (-i), command files (--cmdline-file:
 * the first line that fails stops with FILE:LINE) and single lines
 * (mg_cli_exec, for the Unix socket and tests). The handlers only format
 * (mg_cli_show.c) or call into the control plane (mg_gw_load).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_ipaddr.h>
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>
#include <cmdline_rdline.h>
#include <cmdline_socket.h>
#include <rte_log.h>

#include "mg_cli_priv.h"

#define MG_CLI_LINE_MAX 512

static struct mg_gw *cli_gw;
static volatile bool quit_requested;
static int cli_failed; /* the last command parsed but failed on its arguments */

bool
mg_cli_quit_requested(void)
{
	return quit_requested;
}

void
mg_cli_request_quit(void)
{
	quit_requested = true;
}

static void
out_cmdline(void *ctx, const char *s)
{
	cmdline_printf(ctx, "%s", s);
}

static void
out_file(void *ctx, const char *s)
{
	fputs(s, ctx);
}

#define CL_OUT(cl) struct mg_out o = { .write = out_cmdline, .ctx = (cl) }

/* ---- show port stats|info|xstats all|<id>, clear port stats all|<id> ---- */

struct port_res {
	cmdline_fixed_string_t verb;
	cmdline_fixed_string_t port;
	cmdline_fixed_string_t what;
	cmdline_fixed_string_t all;
	uint16_t id;
};

static void
port_cmd(struct port_res *r, struct cmdline *cl, int id)
{
	CL_OUT(cl);
	int rc;

	if (strcmp(r->verb, "clear") == 0)
		rc = mg_clear_port_stats(cli_gw, &o, id);
	else if (strcmp(r->what, "stats") == 0)
		rc = mg_show_port_stats(cli_gw, &o, id);
	else if (strcmp(r->what, "xstats") == 0)
		rc = mg_show_port_xstats(cli_gw, &o, id);
	else
		rc = mg_show_port_info(cli_gw, &o, id);
	cli_failed = rc < 0;
}

static void
port_all_parsed(void *res, struct cmdline *cl, void *data)
{
	port_cmd(res, cl, -1);
}

static void
port_id_parsed(void *res, struct cmdline *cl, void *data)
{
	port_cmd(res, cl, ((struct port_res *)res)->id);
}

static cmdline_parse_token_string_t port_show =
	TOKEN_STRING_INITIALIZER(struct port_res, verb, "show");
static cmdline_parse_token_string_t port_clear =
	TOKEN_STRING_INITIALIZER(struct port_res, verb, "clear");
static cmdline_parse_token_string_t port_port =
	TOKEN_STRING_INITIALIZER(struct port_res, port, "port");
static cmdline_parse_token_string_t port_what =
	TOKEN_STRING_INITIALIZER(struct port_res, what, "stats#info#xstats");
static cmdline_parse_token_string_t port_stats =
	TOKEN_STRING_INITIALIZER(struct port_res, what, "stats");
static cmdline_parse_token_string_t port_all =
	TOKEN_STRING_INITIALIZER(struct port_res, all, "all");
static cmdline_parse_token_num_t port_id =
	TOKEN_NUM_INITIALIZER(struct port_res, id, RTE_UINT16);

static cmdline_parse_inst_t cmd_show_port_all = {
	.f = port_all_parsed,
	.help_str = "show port stats|info|xstats all: counters / details of every port",
	.tokens = { (void *)&port_show, (void *)&port_port, (void *)&port_what, (void *)&port_all, NULL },
};
static cmdline_parse_inst_t cmd_show_port_id = {
	.f = port_id_parsed,
	.help_str = "show port stats|info|xstats <port_id>: counters / details of one port",
	.tokens = { (void *)&port_show, (void *)&port_port, (void *)&port_what, (void *)&port_id, NULL },
};
static cmdline_parse_inst_t cmd_clear_port_all = {
	.f = port_all_parsed,
	.help_str = "clear port stats all: reset every port's counters",
	.tokens = { (void *)&port_clear, (void *)&port_port, (void *)&port_stats, (void *)&port_all, NULL },
};
static cmdline_parse_inst_t cmd_clear_port_id = {
	.f = port_id_parsed,
	.help_str = "clear port stats <port_id>: reset one port's counters",
	.tokens = { (void *)&port_clear, (void *)&port_port, (void *)&port_stats, (void *)&port_id, NULL },
};

/* ---- show lcores|config|services|flows|neigh|routes ---- */

struct show_res {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t what;
	cmdline_fixed_string_t arg;
	cmdline_ipaddr_t ip;
};

static void
show_parsed(void *res, struct cmdline *cl, void *data)
{
	struct show_res *r = res;
	CL_OUT(cl);

	cli_failed = 0;
	if (strcmp(r->what, "lcores") == 0)
		mg_show_lcores(cli_gw, &o);
	else if (strcmp(r->what, "config") == 0)
		mg_show_config(cli_gw, &o);
	else if (strcmp(r->what, "services") == 0)
		mg_show_services(cli_gw, &o);
	else if (strcmp(r->what, "flows") == 0)
		mg_show_flows(cli_gw, &o, 0);
	else if (strcmp(r->what, "neigh") == 0)
		mg_show_neigh(cli_gw, &o);
	else if (strcmp(r->what, "endpoints") == 0)
		mg_show_endpoints(cli_gw, &o);
	else
		mg_show_routes(cli_gw, &o);
}

static cmdline_parse_token_string_t show_show =
	TOKEN_STRING_INITIALIZER(struct show_res, show, "show");
static cmdline_parse_token_string_t show_what =
	TOKEN_STRING_INITIALIZER(struct show_res, what,
				 "lcores#config#services#flows#neigh#routes#endpoints");
static cmdline_parse_inst_t cmd_show = {
	.f = show_parsed,
	.help_str = "show lcores|config|services|flows|neigh|routes|endpoints",
	.tokens = { (void *)&show_show, (void *)&show_what, NULL },
};

static void
show_service_parsed(void *res, struct cmdline *cl, void *data)
{
	CL_OUT(cl);

	cli_failed = mg_show_service(cli_gw, &o, ((struct show_res *)res)->arg) < 0;
}

static cmdline_parse_token_string_t show_service =
	TOKEN_STRING_INITIALIZER(struct show_res, what, "service");
static cmdline_parse_token_string_t show_arg =
	TOKEN_STRING_INITIALIZER(struct show_res, arg, NULL);
static cmdline_parse_inst_t cmd_show_service = {
	.f = show_service_parsed,
	.help_str = "show service <namespace>/<name>: mode and why, scope, every endpoint with tier, weight, health",
	.tokens = { (void *)&show_show, (void *)&show_service, (void *)&show_arg, NULL },
};

static void
show_flows_vip_parsed(void *res, struct cmdline *cl, void *data)
{
	struct show_res *r = res;
	CL_OUT(cl);

	cli_failed = 0;
	mg_show_flows(cli_gw, &o, r->ip.addr.ipv4.s_addr);
}

static cmdline_parse_token_string_t show_flows =
	TOKEN_STRING_INITIALIZER(struct show_res, what, "flows");
static cmdline_parse_token_ipaddr_t show_ip =
	TOKEN_IPV4_INITIALIZER(struct show_res, ip);
static cmdline_parse_inst_t cmd_show_flows_vip = {
	.f = show_flows_vip_parsed,
	.help_str = "show flows <vip>: up to 100 flows to a VIP, both sides of the NAT",
	.tokens = { (void *)&show_show, (void *)&show_flows, (void *)&show_ip, NULL },
};

static void
show_endpoint_parsed(void *res, struct cmdline *cl, void *data)
{
	CL_OUT(cl);

	cli_failed = mg_show_endpoint(cli_gw, &o, ((struct show_res *)res)->ip.addr.ipv4.s_addr) < 0;
}

static cmdline_parse_token_string_t show_endpoint =
	TOKEN_STRING_INITIALIZER(struct show_res, what, "endpoint");
static cmdline_parse_inst_t cmd_show_endpoint = {
	.f = show_endpoint_parsed,
	.help_str = "show endpoint <ip>: outlier state, failures, ejections, EWMA score and latency",
	.tokens = { (void *)&show_show, (void *)&show_endpoint, (void *)&show_ip, NULL },
};

/* ---- load <file> ---- */

struct load_res {
	cmdline_fixed_string_t load;
	cmdline_fixed_string_t file;
};

static void
load_parsed(void *res, struct cmdline *cl, void *data)
{
	struct load_res *r = res;
	char err[MG_CONF_ERR_LEN];

	if (mg_gw_load(cli_gw, r->file, err, sizeof(err)) < 0) {
		cmdline_printf(cl, "Configuration refused, the running one stays: %s\n", err);
		cli_failed = 1;
		return;
	}
	cmdline_printf(cl, "Configuration %s applied: generation %" PRIu64 "\n", r->file,
		       cli_gw->generation);
	cli_failed = 0;
}

static cmdline_parse_token_string_t load_load =
	TOKEN_STRING_INITIALIZER(struct load_res, load, "load");
static cmdline_parse_token_string_t load_file =
	TOKEN_STRING_INITIALIZER(struct load_res, file, NULL);
static cmdline_parse_inst_t cmd_load = {
	.f = load_parsed,
	.help_str = "load <file>: apply a configuration whole, or refuse it and keep the running one",
	.tokens = { (void *)&load_load, (void *)&load_file, NULL },
};

/* ---- start | stop | quit | help ---- */

struct word_res {
	cmdline_fixed_string_t word;
	cmdline_fixed_string_t arg;
};

static void
word_parsed(void *res, struct cmdline *cl, void *data)
{
	struct word_res *r = res;

	cli_failed = 0;
	if (strcmp(r->word, "start") == 0) {
		cli_gw->running = true;
		cmdline_printf(cl, "Forwarding started\n");
	} else if (strcmp(r->word, "stop") == 0) {
		cli_gw->running = false;
		cmdline_printf(cl, "Forwarding stopped (established flows wait; the control plane runs)\n");
	} else if (strcmp(r->word, "quit") == 0) {
		quit_requested = true;
		cmdline_quit(cl);
	} else {
		cmdline_printf(cl,
			"Commands (TAB completes every word):\n"
			"  show port stats|info|xstats all|<port_id>\n"
			"  clear port stats all|<port_id>\n"
			"  show lcores                per-worker counters, busy cycles, drops by reason\n"
			"  show config                configuration in force and control-plane counters\n"
			"  show services              every service VIP:port with its mode and scope\n"
			"  show service <ns>/<name>   why this mode, and every endpoint's tier, weight, health\n"
			"  show flows [<vip>]         flows per worker and state; the flows of a VIP\n"
			"  show neigh | show routes   ARP neighbours, routes\n"
			"  show endpoints             outlier state of every endpoint\n"
			"  show endpoint <ip>         its failures, ejections, EWMA score and latency\n"
			"  load <file>                apply a configuration (whole or not at all)\n"
			"  set log <level>            emerg|alert|crit|err|warning|notice|info|debug\n"
			"  start | stop               forwarding on or off\n"
			"  quit\n");
	}
}

static cmdline_parse_token_string_t word_word =
	TOKEN_STRING_INITIALIZER(struct word_res, word, "start#stop#quit#help");
static cmdline_parse_inst_t cmd_word = {
	.f = word_parsed,
	.help_str = "start|stop|quit|help",
	.tokens = { (void *)&word_word, NULL },
};

static void
set_log_parsed(void *res, struct cmdline *cl, void *data)
{
	struct word_res *r = res;
	static const char *const lv[] = { "", "emerg", "alert", "crit", "err", "warning",
					  "notice", "info", "debug" };

	for (uint32_t i = 1; i < RTE_DIM(lv); i++)
		if (strcmp(r->arg, lv[i]) == 0) {
			rte_log_set_level_pattern("meshgate.*", i);
			cmdline_printf(cl, "meshgate log level: %s\n", lv[i]);
			cli_failed = 0;
			return;
		}
}

static cmdline_parse_token_string_t set_set =
	TOKEN_STRING_INITIALIZER(struct word_res, word, "set");
static cmdline_parse_token_string_t set_log =
	TOKEN_STRING_INITIALIZER(struct word_res, arg, "log");
static cmdline_parse_token_string_t set_level =
	TOKEN_STRING_INITIALIZER(struct word_res, arg, "emerg#alert#crit#err#warning#notice#info#debug");
static cmdline_parse_inst_t cmd_set_log = {
	.f = set_log_parsed,
	.help_str = "set log <level>: meshgate's log level",
	.tokens = { (void *)&set_set, (void *)&set_log, (void *)&set_level, NULL },
};

static cmdline_parse_ctx_t main_ctx[] = {
	(cmdline_parse_inst_t *)&cmd_show_port_all,
	(cmdline_parse_inst_t *)&cmd_show_port_id,
	(cmdline_parse_inst_t *)&cmd_clear_port_all,
	(cmdline_parse_inst_t *)&cmd_clear_port_id,
	(cmdline_parse_inst_t *)&cmd_show,
	(cmdline_parse_inst_t *)&cmd_show_service,
	(cmdline_parse_inst_t *)&cmd_show_flows_vip,
	(cmdline_parse_inst_t *)&cmd_show_endpoint,
	(cmdline_parse_inst_t *)&cmd_load,
	(cmdline_parse_inst_t *)&cmd_word,
	(cmdline_parse_inst_t *)&cmd_set_log,
	NULL,
};

/* ---- entry points ---- */

/* The terminal, a command file and the socket may run commands at once. */
static pthread_mutex_t exec_lock = PTHREAD_MUTEX_INITIALIZER;

int
mg_cli_exec(struct mg_gw *gw, const char *line, int out_fd)
{
	struct cmdline *cl;
	char buf[MG_CLI_LINE_MAX];
	int rc;

	pthread_mutex_lock(&exec_lock);
	cli_gw = gw;
	/* cmdline_free() closes the descriptors it was given: give it a copy. */
	out_fd = out_fd > 2 ? dup(out_fd) : out_fd;
	cl = out_fd < 0 ? NULL : cmdline_new(main_ctx, "", -1, out_fd);
	if (cl == NULL) {
		if (out_fd > 2)
			close(out_fd);
		pthread_mutex_unlock(&exec_lock);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s\n", line);
	cli_failed = 0;
	/* cmdline_parse returns the parsed length, or a negative status
	 * (ambiguous, not found, bad arguments) after printing why. */
	rc = cmdline_parse(cl, buf);
	if (rc == CMDLINE_PARSE_AMBIGUOUS)
		cmdline_printf(cl, "Ambiguous command: %s\n", line);
	else if (rc == CMDLINE_PARSE_NOMATCH)
		cmdline_printf(cl, "Command not found: %s (help lists the commands)\n", line);
	else if (rc == CMDLINE_PARSE_BAD_ARGS)
		cmdline_printf(cl, "Bad arguments: %s (help lists the commands)\n", line);
	cmdline_free(cl);
	rc = rc >= 0 && !cli_failed ? 0 : -1;
	pthread_mutex_unlock(&exec_lock);
	return rc;
}

int
mg_cli_run_file(struct mg_gw *gw, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[MG_CLI_LINE_MAX];
	unsigned int n = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line;

		n++;
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		fflush(stdout);
		if (mg_cli_exec(gw, p, STDOUT_FILENO) < 0) {
			snprintf(err, errlen, "%s:%u: command \"%s\" failed", path, n, p);
			fclose(f);
			return -1;
		}
		if (quit_requested)
			break;
	}
	fclose(f);
	return 0;
}

void
mg_cli_interact(struct mg_gw *gw)
{
	struct cmdline *cl;

	cli_gw = gw;
	cl = cmdline_stdin_new(main_ctx, "meshgate> ");
	if (cl == NULL)
		return;
	while (!quit_requested && !gw->quit) {
		int st = cmdline_poll(cl);

		if (st < 0 || st == RDLINE_EXITED)
			break;
		usleep(10000);
	}
	cmdline_stdin_exit(cl);
}

void
mg_cli_print_stats(struct mg_gw *gw, FILE *out)
{
	struct mg_out o = { .write = out_file, .ctx = out };

	mg_show_port_stats(gw, &o, -1);
	mg_show_lcores(gw, &o);
}
