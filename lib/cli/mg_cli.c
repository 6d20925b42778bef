/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CLI on DPDK's cmdline library, in testpmd's grammar: every fixed word
 * is a cmdline token, so TAB completes it (TAB twice lists the choices with
 * their help), and the words an operator would otherwise have to look up --
 * service names, VIPs, endpoint addresses -- complete from the gateway's
 * current state. The same context serves the terminal (-i), command files
 * (--cmdline-file: the first line that fails stops with FILE:LINE: why) and
 * single lines (mg_cli_exec, for the Unix socket and tests).
 *
 * A handler formats into memory (mg_cli_show.c, under the control mutex
 * where it reads control-plane state) and then prints the result with
 * cmdline_printf, so a slow reader of the socket never holds the control
 * thread up. Commands are serialized by one mutex: the terminal, a command
 * file and the socket may all be active at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
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
#include <rte_string_fns.h>

#include "mg_cli_priv.h"

#define MG_CLI_LINE_MAX 512
#define MG_CLI_PROMPT "meshgate> "
#define TOK(t) ((cmdline_parse_token_hdr_t *)&(t))

static struct mg_gw *cli_gw;
static volatile bool quit_requested;
/* The terminal, a command file and the socket may run commands at once. */
static pthread_mutex_t exec_lock = PTHREAD_MUTEX_INITIALIZER;
/* Outcome of the last command (under exec_lock): failed, and why. */
static bool cli_failed;
static char cli_err[MG_CONF_ERR_LEN + 64];

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

/* ---- a command's output: formatted in memory, printed with cmdline_printf ---- */

struct cl_out {
	struct mg_out o;
	struct cmdline *cl;
	FILE *mem;
	char *buf;
	size_t len;
};

static void
out_cmdline(void *ctx, const char *s)
{
	cmdline_printf(ctx, "%s", s);
}

static void
cl_begin(struct cl_out *c, struct cmdline *cl)
{
	c->cl = cl;
	c->buf = NULL;
	c->len = 0;
	c->mem = open_memstream(&c->buf, &c->len);
	if (c->mem != NULL)
		mg_out_file(&c->o, c->mem);
	else
		c->o = (struct mg_out){ .write = out_cmdline, .ctx = cl };
	c->o.err = cli_err;
	c->o.errlen = sizeof(cli_err);
}

static void
cl_end(struct cl_out *c, int rc)
{
	if (c->mem != NULL) {
		fclose(c->mem);
		if (c->buf != NULL && c->len > 0)
			cmdline_printf(c->cl, "%s", c->buf);
		free(c->buf);
	}
	cli_failed = rc < 0;
}

/* ---- completion from the gateway's state ------------------------------------ */

/*
 * A list of words rebuilt when TAB asks how many there are, read back one by
 * one, sorted and without duplicates. Only the terminal completes, under
 * exec_lock.
 */
struct word_list {
	char (*w)[MG_SVC_NAME_LEN];
	uint32_t n;
	uint32_t cap;
};

enum { DYN_SERVICE, DYN_VIP, DYN_ENDPOINT, DYN__MAX };
static struct word_list dyn[DYN__MAX];

static void
words_add(struct word_list *l, const char *w)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? 2 * l->cap : 64;
		void *p = realloc(l->w, (size_t)cap * sizeof(*l->w));

		if (p == NULL)
			return;
		l->w = p;
		l->cap = cap;
	}
	rte_strscpy(l->w[l->n++], w, sizeof(l->w[0]));
}

static int
words_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
words_fill(int kind)
{
	struct word_list *l = &dyn[kind];
	const struct mg_lb_table *t;
	uint32_t out = 0;

	l->n = 0;
	if (cli_gw == NULL)
		return;
	pthread_mutex_lock(&cli_gw->lock);
	t = mg_gw_table(cli_gw);
	if (kind == DYN_ENDPOINT) {
		for (uint32_t i = 0; i < cli_gw->ol->n; i++) {
			char ip[MG_IP_STRLEN];

			words_add(l, mg_cli_ip(cli_gw->ol->eps[i].id, ip));
		}
	} else {
		for (uint32_t i = 0; i < t->n_svcs; i++) {
			struct mg_cli_svc s;
			char ip[MG_IP_STRLEN];

			if (kind == DYN_VIP) {
				words_add(l, mg_cli_ip(t->svcs[i].vip, ip));
				continue;
			}
			mg_cli_svc_get(t, i, &s);
			words_add(l, s.name);
		}
	}
	pthread_mutex_unlock(&cli_gw->lock);
	qsort(l->w, l->n, sizeof(l->w[0]), words_cmp);
	for (uint32_t i = 0; i < l->n; i++)
		if (out == 0 || strcmp(l->w[out - 1], l->w[i]) != 0)
			memmove(l->w[out++], l->w[i], sizeof(l->w[0]));
	l->n = out;
}

static int
words_elt(int kind, int idx, char *dst, unsigned int size)
{
	if (idx < 0 || (uint32_t)idx >= dyn[kind].n)
		return -1;
	rte_strscpy(dst, dyn[kind].w[idx], size);
	return 0;
}

#define DYN_TOKEN_OPS(fn, kind, parser, help)					\
static int fn ## _nb(cmdline_parse_token_hdr_t *tk)				\
{										\
	words_fill(kind);							\
	return (int)dyn[kind].n;						\
}										\
static int fn ## _elt(cmdline_parse_token_hdr_t *tk, int idx, char *dst,	\
		      unsigned int size)					\
{										\
	return words_elt(kind, idx, dst, size);					\
}										\
static int fn ## _help(cmdline_parse_token_hdr_t *tk, char *dst, unsigned int size) \
{										\
	rte_strscpy(dst, help, size);						\
	return 0;								\
}										\
static struct cmdline_token_ops fn ## _ops = {					\
	.parse = parser,							\
	.complete_get_nb = fn ## _nb,						\
	.complete_get_elt = fn ## _elt,						\
	.get_help = fn ## _help,						\
}

DYN_TOKEN_OPS(svc_tok, DYN_SERVICE, cmdline_parse_string, "<namespace>/<name>");
DYN_TOKEN_OPS(vip_tok, DYN_VIP, cmdline_parse_ipaddr, "<vip>");
DYN_TOKEN_OPS(ep_tok, DYN_ENDPOINT, cmdline_parse_ipaddr, "<endpoint ip>");

/* ---- show port info|stats|xstats all|<id>, clear port stats all|<id> ---------- */

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
	struct cl_out c;
	int rc;

	cl_begin(&c, cl);
	if (strcmp(r->verb, "clear") == 0)
		rc = mg_clear_port_stats(cli_gw, &c.o, id);
	else if (strcmp(r->what, "stats") == 0)
		rc = mg_show_port_stats(cli_gw, &c.o, id);
	else if (strcmp(r->what, "xstats") == 0)
		rc = mg_show_port_xstats(cli_gw, &c.o, id);
	else
		rc = mg_show_port_info(cli_gw, &c.o, id);
	cl_end(&c, rc);
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
	TOKEN_STRING_INITIALIZER(struct port_res, what, "info#stats#xstats");
static cmdline_parse_token_string_t port_stats =
	TOKEN_STRING_INITIALIZER(struct port_res, what, "stats");
static cmdline_parse_token_string_t port_all =
	TOKEN_STRING_INITIALIZER(struct port_res, all, "all");
static cmdline_parse_token_num_t port_id =
	TOKEN_NUM_INITIALIZER(struct port_res, id, RTE_UINT16);

static cmdline_parse_inst_t cmd_show_port_all = {
	.f = port_all_parsed,
	.help_str = "show port info|stats|xstats all: details / counters of every port",
	.tokens = { TOK(port_show), TOK(port_port), TOK(port_what), TOK(port_all), NULL },
};
static cmdline_parse_inst_t cmd_show_port_id = {
	.f = port_id_parsed,
	.help_str = "show port info|stats|xstats <port_id>: details / counters of one port",
	.tokens = { TOK(port_show), TOK(port_port), TOK(port_what), TOK(port_id), NULL },
};
static cmdline_parse_inst_t cmd_clear_port_all = {
	.f = port_all_parsed,
	.help_str = "clear port stats all: reset every port's counters",
	.tokens = { TOK(port_clear), TOK(port_port), TOK(port_stats), TOK(port_all), NULL },
};
static cmdline_parse_inst_t cmd_clear_port_id = {
	.f = port_id_parsed,
	.help_str = "clear port stats <port_id>: reset one port's counters",
	.tokens = { TOK(port_clear), TOK(port_port), TOK(port_stats), TOK(port_id), NULL },
};

/* ---- show lcores|config|services|flows|neigh|routes|endpoints ------------------ */

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
	struct cl_out c;

	cl_begin(&c, cl);
	if (strcmp(r->what, "lcores") == 0)
		mg_show_lcores(cli_gw, &c.o);
	else if (strcmp(r->what, "config") == 0)
		mg_show_config(cli_gw, &c.o);
	else if (strcmp(r->what, "services") == 0)
		mg_show_services(cli_gw, &c.o);
	else if (strcmp(r->what, "flows") == 0)
		mg_show_flows(cli_gw, &c.o);
	else if (strcmp(r->what, "neigh") == 0)
		mg_show_neigh(cli_gw, &c.o);
	else if (strcmp(r->what, "endpoints") == 0)
		mg_show_endpoints(cli_gw, &c.o);
	else
		mg_show_routes(cli_gw, &c.o);
	cl_end(&c, 0);
}

static cmdline_parse_token_string_t show_show =
	TOKEN_STRING_INITIALIZER(struct show_res, show, "show");
static cmdline_parse_token_string_t show_what =
	TOKEN_STRING_INITIALIZER(struct show_res, what,
				 "lcores#config#services#flows#neigh#routes#endpoints");
static cmdline_parse_inst_t cmd_show = {
	.f = show_parsed,
	.help_str = "show lcores|config|services|flows|neigh|routes|endpoints",
	.tokens = { TOK(show_show), TOK(show_what), NULL },
};

static cmdline_parse_token_string_t show_flows =
	TOKEN_STRING_INITIALIZER(struct show_res, what, "flows");
static cmdline_parse_token_string_t show_summary =
	TOKEN_STRING_INITIALIZER(struct show_res, arg, "summary");
static cmdline_parse_inst_t cmd_show_flows_summary = {
	.f = show_parsed,
	.help_str = "show flows summary: flows per worker by TCP state",
	.tokens = { TOK(show_show), TOK(show_flows), TOK(show_summary), NULL },
};

static void
show_flows_vip_parsed(void *res, struct cmdline *cl, void *data)
{
	struct show_res *r = res;
	struct cl_out c;

	cl_begin(&c, cl);
	mg_show_flows_vip(cli_gw, &c.o, r->ip.addr.ipv4.s_addr);
	cl_end(&c, 0);
}

static cmdline_parse_token_ipaddr_t show_vip = {
	.hdr = { .ops = &vip_tok_ops, .offset = offsetof(struct show_res, ip) },
	.ipaddr_data = { .flags = CMDLINE_IPADDR_V4 },
};
static cmdline_parse_inst_t cmd_show_flows_vip = {
	.f = show_flows_vip_parsed,
	.help_str = "show flows <vip>: up to 100 flows to a VIP, both sides of the full NAT",
	.tokens = { TOK(show_show), TOK(show_flows), TOK(show_vip), NULL },
};

static void
show_service_parsed(void *res, struct cmdline *cl, void *data)
{
	struct cl_out c;

	cl_begin(&c, cl);
	cl_end(&c, mg_show_service(cli_gw, &c.o, ((struct show_res *)res)->arg));
}

static cmdline_parse_token_string_t show_service =
	TOKEN_STRING_INITIALIZER(struct show_res, what, "service");
static cmdline_parse_token_string_t show_svc_name = {
	.hdr = { .ops = &svc_tok_ops, .offset = offsetof(struct show_res, arg) },
	.string_data = { .str = NULL },
};
static cmdline_parse_inst_t cmd_show_service = {
	.f = show_service_parsed,
	.help_str = "show service <namespace>/<name>: mode and why, endpoints' tier, weight, state",
	.tokens = { TOK(show_show), TOK(show_service), TOK(show_svc_name), NULL },
};

static void
show_endpoint_parsed(void *res, struct cmdline *cl, void *data)
{
	struct cl_out c;

	cl_begin(&c, cl);
	cl_end(&c, mg_show_endpoint(cli_gw, &c.o, ((struct show_res *)res)->ip.addr.ipv4.s_addr));
}

static cmdline_parse_token_string_t show_endpoint =
	TOKEN_STRING_INITIALIZER(struct show_res, what, "endpoint");
static cmdline_parse_token_ipaddr_t show_ep_ip = {
	.hdr = { .ops = &ep_tok_ops, .offset = offsetof(struct show_res, ip) },
	.ipaddr_data = { .flags = CMDLINE_IPADDR_V4 },
};
static cmdline_parse_inst_t cmd_show_endpoint = {
	.f = show_endpoint_parsed,
	.help_str = "show endpoint <ip>: outlier state, failures, ejections, EWMA score and latency",
	.tokens = { TOK(show_show), TOK(show_endpoint), TOK(show_ep_ip), NULL },
};

/* ---- load <file> ---------------------------------------------------------------- */

struct load_res {
	cmdline_fixed_string_t load;
	cmdline_fixed_string_t file;
};

static void
load_parsed(void *res, struct cmdline *cl, void *data)
{
	struct load_res *r = res;
	char err[MG_CONF_ERR_LEN];
	struct cl_out c;
	int rc;

	cl_begin(&c, cl);
	rc = mg_gw_load(cli_gw, r->file, err, sizeof(err));
	if (rc < 0)
		mg_out_fail(&c.o, "Configuration refused, the running one stays: %s", err);
	else
		mg_out_printf(&c.o, "Configuration %s applied: generation %" PRIu64 "\n", r->file,
			      cli_gw->generation);
	cl_end(&c, rc);
}

static cmdline_parse_token_string_t load_load =
	TOKEN_STRING_INITIALIZER(struct load_res, load, "load");
static cmdline_parse_token_string_t load_file =
	TOKEN_STRING_INITIALIZER(struct load_res, file, NULL);
static cmdline_parse_inst_t cmd_load = {
	.f = load_parsed,
	.help_str = "load <file>: apply a configuration whole, or refuse it and keep the running one",
	.tokens = { TOK(load_load), TOK(load_file), NULL },
};

/* ---- start | stop | quit ------------------------------------------------------------ */

struct word_res {
	cmdline_fixed_string_t word;
	cmdline_fixed_string_t arg;
	cmdline_fixed_string_t arg2;
};

static void
control_parsed(void *res, struct cmdline *cl, void *data)
{
	struct word_res *r = res;
	struct cl_out c;

	cl_begin(&c, cl);
	if (strcmp(r->word, "quit") == 0) {
		quit_requested = true;
		cmdline_quit(cl);
	} else {
		bool on = strcmp(r->word, "start") == 0;

		if (cli_gw->running == on)
			mg_out_printf(&c.o, "Forwarding is already %s\n", on ? "on" : "off");
		else
			mg_out_printf(&c.o, on ? "Forwarding started\n" :
				      "Forwarding stopped (the control plane keeps running)\n");
		cli_gw->running = on;
	}
	cl_end(&c, 0);
}

static cmdline_parse_token_string_t control_word =
	TOKEN_STRING_INITIALIZER(struct word_res, word, "start#stop#quit");
static cmdline_parse_inst_t cmd_control = {
	.f = control_parsed,
	.help_str = "start|stop|quit: forwarding on, off; stop meshgate",
	.tokens = { TOK(control_word), NULL },
};

/* ---- set log [global] <level> --------------------------------------------------------- */

static const char *const log_levels[] = {
	[RTE_LOG_EMERG] = "emerg", [RTE_LOG_ALERT] = "alert", [RTE_LOG_CRIT] = "crit",
	[RTE_LOG_ERR] = "err", [RTE_LOG_WARNING] = "warning", [RTE_LOG_NOTICE] = "notice",
	[RTE_LOG_INFO] = "info", [RTE_LOG_DEBUG] = "debug",
};

static uint32_t
log_level(const char *name)
{
	for (uint32_t i = RTE_LOG_EMERG; i < RTE_DIM(log_levels); i++)
		if (strcmp(name, log_levels[i]) == 0)
			return i;
	return 0;
}

static void
set_log_parsed(void *res, struct cmdline *cl, void *data)
{
	struct word_res *r = res;
	bool global = strcmp(r->arg2, "global") == 0;
	uint32_t lv = log_level(global ? r->word : r->arg2);
	struct cl_out c;

	cl_begin(&c, cl);
	if (lv == 0) {
		cl_end(&c, mg_out_fail(&c.o, "Bad log level: emerg alert crit err warning notice info debug"));
		return;
	}
	if (global) {
		rte_log_set_global_level(lv);
		mg_out_printf(&c.o, "Global log level: %s\n", log_levels[lv]);
	} else {
		rte_log_set_level_pattern("meshgate.*", lv);
		mg_out_printf(&c.o, "meshgate log level: %s\n", log_levels[lv]);
		if (rte_log_get_global_level() < lv) {
			rte_log_set_global_level(lv);
			mg_out_printf(&c.o, "Global log level raised to %s so that these messages show\n",
				      log_levels[lv]);
		}
	}
	cl_end(&c, 0);
}

#define LOG_LEVELS "emerg#alert#crit#err#warning#notice#info#debug"
static cmdline_parse_token_string_t set_set =
	TOKEN_STRING_INITIALIZER(struct word_res, arg, "set");
static cmdline_parse_token_string_t set_log =
	TOKEN_STRING_INITIALIZER(struct word_res, arg, "log");
static cmdline_parse_token_string_t set_level =
	TOKEN_STRING_INITIALIZER(struct word_res, arg2, LOG_LEVELS);
static cmdline_parse_token_string_t set_global =
	TOKEN_STRING_INITIALIZER(struct word_res, arg2, "global");
static cmdline_parse_token_string_t set_global_level =
	TOKEN_STRING_INITIALIZER(struct word_res, word, LOG_LEVELS);
static cmdline_parse_inst_t cmd_set_log = {
	.f = set_log_parsed,
	.help_str = "set log <level>: level of meshgate's own logs (meshgate.*)",
	.tokens = { TOK(set_set), TOK(set_log), TOK(set_level), NULL },
};
static cmdline_parse_inst_t cmd_set_log_global = {
	.f = set_log_parsed,
	.help_str = "set log global <level>: DPDK's global log level",
	.tokens = { TOK(set_set), TOK(set_log), TOK(set_global), TOK(set_global_level), NULL },
};

/* ---- set endpoint <ip> drain|undrain, set <section> <param> <value> ------------------- */

struct set_res {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t what;
	cmdline_fixed_string_t param;
	cmdline_fixed_string_t value;
	cmdline_ipaddr_t ip;
};

static void
set_endpoint_parsed(void *res, struct cmdline *cl, void *data)
{
	struct set_res *r = res;
	bool drain = strcmp(r->value, "drain") == 0;
	char err[128], ip[MG_IP_STRLEN];
	struct cl_out c;
	int rc;

	cl_begin(&c, cl);
	rc = mg_gw_drain(cli_gw, r->ip.addr.ipv4.s_addr, drain, err, sizeof(err));
	if (rc < 0)
		mg_out_fail(&c.o, "%s", err);
	else
		mg_out_printf(&c.o, "Endpoint %s %s: %s\n", mg_cli_ip(r->ip.addr.ipv4.s_addr, ip),
			      drain ? "drained" : "undrained",
			      drain ? "no new connections, established ones go on" :
				      "takes new connections again");
	cl_end(&c, rc);
}

static cmdline_parse_token_string_t set_res_set =
	TOKEN_STRING_INITIALIZER(struct set_res, set, "set");
static cmdline_parse_token_string_t set_res_endpoint =
	TOKEN_STRING_INITIALIZER(struct set_res, what, "endpoint");
static cmdline_parse_token_ipaddr_t set_res_ip = {
	.hdr = { .ops = &ep_tok_ops, .offset = offsetof(struct set_res, ip) },
	.ipaddr_data = { .flags = CMDLINE_IPADDR_V4 },
};
static cmdline_parse_token_string_t set_res_drain =
	TOKEN_STRING_INITIALIZER(struct set_res, value, "drain#undrain");
static cmdline_parse_inst_t cmd_set_endpoint = {
	.f = set_endpoint_parsed,
	.help_str = "set endpoint <ip> drain|undrain: stop or resume new connections to an endpoint",
	.tokens = { TOK(set_res_set), TOK(set_res_endpoint), TOK(set_res_ip), TOK(set_res_drain), NULL },
};

static void
set_param_parsed(void *res, struct cmdline *cl, void *data)
{
	struct set_res *r = res;
	char err[MG_CONF_ERR_LEN];
	struct cl_out c;
	int rc;

	cl_begin(&c, cl);
	rc = mg_gw_set_param(cli_gw, r->what, r->param, r->value, err, sizeof(err));
	if (rc < 0)
		mg_out_fail(&c.o, "Refused, nothing changed: %s", err);
	else
		mg_out_printf(&c.o, "%s %s = %s (in force now, until the next load)\n", r->what,
			      r->param, r->value);
	cl_end(&c, rc);
}

/* The names are the MeshGateway object's (lib/conf's field tables check them). */
#define SET_SECTION(sec, params)							\
	static cmdline_parse_token_string_t set_##sec##_what =				\
		TOKEN_STRING_INITIALIZER(struct set_res, what, #sec);			\
	static cmdline_parse_token_string_t set_##sec##_param =				\
		TOKEN_STRING_INITIALIZER(struct set_res, param, params);		\
	static cmdline_parse_token_string_t set_##sec##_value =				\
		TOKEN_STRING_INITIALIZER(struct set_res, value, NULL);			\
	static cmdline_parse_inst_t cmd_set_##sec = {					\
		.f = set_param_parsed,							\
		.help_str = "set " #sec " <param> <value>: " params,			\
		.tokens = { TOK(set_res_set), TOK(set_##sec##_what), TOK(set_##sec##_param), \
			    TOK(set_##sec##_value), NULL },				\
	}
SET_SECTION(outlier, "enabled#consecutiveFailures#interval#baseEjectionTime#maxEjectionTime#"
		     "maxEjectionPercent#ewmaAlpha#readmitScore");
SET_SECTION(circuit, "maxConnections#maxPendingConnects");
SET_SECTION(connect, "timeout#maxAttempts");
SET_SECTION(healthcheck, "enabled#interval#timeout#healthyThreshold#unhealthyThreshold");
SET_SECTION(synflood, "cookies#maxHalfOpen#maxHalfOpenPerSource#maxHalfOpenPerService");

/* ---- help [section] ---------------------------------------------------------------------- */

static const struct {
	const char *name;
	const char *title;
} help_sections[] = {
	{ "show", "Display: ports, lcores, services, endpoints, flows, neighbours, routes" },
	{ "set", "Settings at run time: endpoints, outlier detection, health checks, logs" },
	{ "config", "Configuration: what is in force, loading another" },
	{ "control", "Control: forwarding on and off, quit" },
};

static const struct {
	const char *section;
	const char *syntax;
	const char *what;
} help_cmds[] = {
	{ "show", "show port info all|<port_id>",
	  "driver, MAC, address, link, queues, RSS, profile, descriptors" },
	{ "show", "show port stats all|<port_id>",
	  "packets, bytes, missed, errors, rx_nombuf, throughput" },
	{ "show", "show port xstats all|<port_id>", "the driver's extended statistics" },
	{ "show", "show lcores",
	  "per worker: loops, busy cycles, packets, flows, connects, drops by reason" },
	{ "show", "show services", "every service VIP:port with its endpoints, tiers, mode and scope" },
	{ "show", "show service <namespace>/<name>",
	  "its mode and which setting decided it; every endpoint" },
	{ "show", "", "with tier, rank, weight, readiness, state, locality, egress" },
	{ "show", "show endpoints", "outlier state of every endpoint" },
	{ "show", "show endpoint <ip>", "its failures, ejections, EWMA score and latency, connections" },
	{ "show", "show flows [summary]", "flows per worker by TCP state" },
	{ "show", "show flows <vip>", "up to 100 flows to a VIP, both sides of the full NAT" },
	{ "show", "show neigh", "ARP neighbours: MAC or incomplete, age, requests" },
	{ "show", "show routes", "routes: connected and static" },
	{ "set", "clear port stats all|<port_id>", "reset port counters" },
	{ "set", "set endpoint <ip> drain|undrain", "no new connections to it / again" },
	{ "set", "set outlier <param> <value>", "enabled consecutiveFailures interval baseEjectionTime" },
	{ "set", "", "maxEjectionTime maxEjectionPercent ewmaAlpha readmitScore" },
	{ "set", "set circuit <param> <value>", "maxConnections maxPendingConnects (per endpoint, 0 = none)" },
	{ "set", "set connect <param> <value>", "timeout (500ms) maxAttempts (3)" },
	{ "set", "set healthcheck <param> <value>",
	  "enabled interval timeout healthyThreshold unhealthyThreshold" },
	{ "set", "set synflood <param> <value>",
	  "cookies (auto|always|off) maxHalfOpen maxHalfOpenPerSource maxHalfOpenPerService" },
	{ "set", "", "(in force at once, until the next load; durations 500ms 30s 5m)" },
	{ "set", "set log <level>", "meshgate's logs: emerg alert crit err warning notice info debug" },
	{ "set", "set log global <level>", "DPDK's global log level" },
	{ "config", "show config", "the configuration in force, the control plane's counters" },
	{ "config", "load <file>", "apply a configuration whole, or refuse it and keep the running one" },
	{ "control", "start", "forwarding on" },
	{ "control", "stop", "forwarding off (the control plane keeps running)" },
	{ "control", "quit", "stop meshgate" },
	{ "control", "help [show|set|config|control|all]", "this help" },
};

static void
help_section(struct mg_out *o, uint32_t s)
{
	mg_out_printf(o, "\n%s:\n", help_sections[s].title);
	for (uint32_t i = 0; i < RTE_DIM(help_cmds); i++)
		if (strcmp(help_cmds[i].section, help_sections[s].name) == 0)
			mg_out_printf(o, "    %-36s %s\n", help_cmds[i].syntax, help_cmds[i].what);
}

static void
help_parsed(void *res, struct cmdline *cl, void *data)
{
	struct word_res *r = res;
	struct cl_out c;

	cl_begin(&c, cl);
	if (r->arg[0] == '\0') {
		mg_out_printf(&c.o, "\nHelp is available for the following sections:\n\n");
		for (uint32_t s = 0; s < RTE_DIM(help_sections); s++)
			mg_out_printf(&c.o, "    help %-9s : %s\n", help_sections[s].name,
				      help_sections[s].title);
		mg_out_printf(&c.o, "    help %-9s : All of the above sections.\n\n", "all");
		mg_out_printf(&c.o, "TAB completes every word, service names and addresses too; "
			      "TAB twice lists the choices.\n");
	}
	for (uint32_t s = 0; s < RTE_DIM(help_sections); s++)
		if (strcmp(r->arg, "all") == 0 || strcmp(r->arg, help_sections[s].name) == 0)
			help_section(&c.o, s);
	cl_end(&c, 0);
}

static cmdline_parse_token_string_t help_help =
	TOKEN_STRING_INITIALIZER(struct word_res, word, "help");
static cmdline_parse_token_string_t help_which =
	TOKEN_STRING_INITIALIZER(struct word_res, arg, "show#set#config#control#all");
static cmdline_parse_inst_t cmd_help = {
	.f = help_parsed,
	.help_str = "help: the sections of the help",
	.tokens = { TOK(help_help), NULL },
};
static cmdline_parse_inst_t cmd_help_section = {
	.f = help_parsed,
	.help_str = "help show|set|config|control|all: the commands of a section",
	.tokens = { TOK(help_help), TOK(help_which), NULL },
};

static cmdline_parse_ctx_t main_ctx[] = {
	(cmdline_parse_inst_t *)&cmd_show_port_all,
	(cmdline_parse_inst_t *)&cmd_show_port_id,
	(cmdline_parse_inst_t *)&cmd_clear_port_all,
	(cmdline_parse_inst_t *)&cmd_clear_port_id,
	(cmdline_parse_inst_t *)&cmd_show,
	(cmdline_parse_inst_t *)&cmd_show_flows_summary,
	(cmdline_parse_inst_t *)&cmd_show_flows_vip,
	(cmdline_parse_inst_t *)&cmd_show_service,
	(cmdline_parse_inst_t *)&cmd_show_endpoint,
	(cmdline_parse_inst_t *)&cmd_load,
	(cmdline_parse_inst_t *)&cmd_control,
	(cmdline_parse_inst_t *)&cmd_set_endpoint,
	(cmdline_parse_inst_t *)&cmd_set_outlier,
	(cmdline_parse_inst_t *)&cmd_set_circuit,
	(cmdline_parse_inst_t *)&cmd_set_connect,
	(cmdline_parse_inst_t *)&cmd_set_healthcheck,
	(cmdline_parse_inst_t *)&cmd_set_synflood,
	(cmdline_parse_inst_t *)&cmd_set_log,
	(cmdline_parse_inst_t *)&cmd_set_log_global,
	(cmdline_parse_inst_t *)&cmd_help,
	(cmdline_parse_inst_t *)&cmd_help_section,
	NULL,
};

/* ---- entry points ------------------------------------------------------------------------- */

/* Run one line; on failure @p why gets the reason. Under exec_lock. */
static int
exec_line(struct mg_gw *gw, const char *line, int out_fd, char *why, size_t whylen)
{
	struct cmdline *cl;
	char buf[MG_CLI_LINE_MAX + 2];
	const char *msg = NULL;
	int rc;

	if (strlen(line) > MG_CLI_LINE_MAX) {
		snprintf(why, whylen, "line longer than %d characters", MG_CLI_LINE_MAX);
		dprintf(out_fd, "%s\n", why);
		return -1;
	}
	cli_gw = gw;
	/* cmdline_free() closes the descriptors it was given: give it a copy. */
	out_fd = out_fd > 2 ? dup(out_fd) : out_fd;
	cl = out_fd < 0 ? NULL : cmdline_new(main_ctx, "", -1, out_fd);
	if (cl == NULL) {
		if (out_fd > 2)
			close(out_fd);
		snprintf(why, whylen, "cannot run the command: out of memory or descriptors");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s\n", line);
	cli_failed = false;
	cli_err[0] = '\0';
	/* The parsed length, or why no command matched (nothing printed yet). */
	rc = cmdline_parse(cl, buf);
	if (rc == CMDLINE_PARSE_AMBIGUOUS)
		msg = "Ambiguous command";
	else if (rc == CMDLINE_PARSE_NOMATCH)
		msg = "Command not found";
	else if (rc == CMDLINE_PARSE_BAD_ARGS)
		msg = "Bad arguments";
	else if (rc < 0)
		msg = "Cannot parse";
	if (msg != NULL) {
		cmdline_printf(cl, "%s: %s (help lists the commands)\n", msg, line);
		snprintf(why, whylen, "%s: %s", msg, line);
	} else if (cli_failed) {
		snprintf(why, whylen, "%s", cli_err[0] ? cli_err : "command failed");
	}
	cmdline_free(cl);
	return msg == NULL && !cli_failed ? 0 : -1;
}

int
mg_cli_exec(struct mg_gw *gw, const char *line, int out_fd)
{
	char why[sizeof(cli_err)];
	int rc;

	pthread_mutex_lock(&exec_lock);
	rc = exec_line(gw, line, out_fd, why, sizeof(why));
	pthread_mutex_unlock(&exec_lock);
	return rc;
}

int
mg_cli_run_file(struct mg_gw *gw, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[MG_CLI_LINE_MAX + 2];
	unsigned int n = 0;
	int rc = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && !quit_requested && fgets(line, sizeof(line), f) != NULL) {
		char why[sizeof(cli_err)];
		char *p = line, *end;
		size_t len = strlen(line);

		n++;
		if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line longer than %d characters", path, n,
				 MG_CLI_LINE_MAX);
			rc = -1;
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		fflush(stdout);
		pthread_mutex_lock(&exec_lock);
		rc = exec_line(gw, p, STDOUT_FILENO, why, sizeof(why));
		pthread_mutex_unlock(&exec_lock);
		if (rc < 0)
			snprintf(err, errlen, "%s:%u: %s", path, n, why);
	}
	fclose(f);
	fflush(stdout);
	return rc;
}

void
mg_cli_interact(struct mg_gw *gw)
{
	struct cmdline *cl;

	pthread_mutex_lock(&exec_lock);
	cli_gw = gw;
	cl = cmdline_stdin_new(main_ctx, MG_CLI_PROMPT);
	pthread_mutex_unlock(&exec_lock);
	if (cl == NULL)
		return;
	/*
	 * Wait for input at most 100 ms at a time, so that a signal (SIGINT
	 * sets the quit flag through mg_cli_request_quit) or a `quit` sent to
	 * the socket ends the loop; feed whatever was typed to cmdline.
	 */
	while (!quit_requested && !gw->quit) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		char buf[256];
		ssize_t n;
		int rc;

		rc = poll(&pfd, 1, 100);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* end of input */
		pthread_mutex_lock(&exec_lock);
		cli_gw = gw;
		rc = cmdline_in(cl, buf, (int)n);
		pthread_mutex_unlock(&exec_lock);
		if (rc < 0)
			break; /* quit, or Ctrl-D on an empty line */
	}
	cmdline_printf(cl, "\n");
	cmdline_stdin_exit(cl);
}

void
mg_cli_print_stats(struct mg_gw *gw, FILE *out)
{
	struct mg_out o;

	mg_out_file(&o, out);
	mg_show_port_stats(gw, &o, -1);
	mg_show_lcores(gw, &o);
}
