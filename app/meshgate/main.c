/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * meshgate: the gateway application.
 *
 *   meshgate [EAL options] -- [--config FILE] [-i] [--cmdline-file FILE]
 *                             [--stats-period N] [--idle-sleep US] [--idle-yield] ...
 *
 * The configuration is read and checked before the EAL starts, so a bad
 * file costs nothing and leaves nothing behind. Then: EAL, ports, workers
 * on every EAL worker lcore, the control thread, and the CLI (interactive,
 * a command file, or none) on the main lcore. SIGINT/SIGTERM stop cleanly,
 * SIGHUP reloads the configuration file.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pdump.h>

#include "mg_cli.h"
#include "mg_conf.h"
#include "mg_gw.h"

#ifndef MG_DRIVERS_CONF_DIR
#define MG_DRIVERS_CONF_DIR ""
#endif

struct app_opts {
	const char *config;
	const char *cmdline_file;
	const char *cli_socket;
	bool interactive;
	bool check_only;
	uint32_t stats_period;
	struct mg_gw_opts gw;
};

static struct mg_gw gw;
static volatile sig_atomic_t quit_signal;

static void
on_signal(int sig)
{
	if (sig == SIGHUP) {
		gw.reload_req = true;
		return;
	}
	quit_signal = 1;
	mg_cli_request_quit(); /* ends an interactive CLI */
}

static void
usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- [options]\n"
	       "  -c, --config FILE        configuration (multi-document YAML); default: the\n"
	       "                           embedded demo configuration\n"
	       "  -i, --interactive        run the CLI on this terminal (prompt \"meshgate> \")\n"
	       "      --cmdline-file FILE  run the CLI commands of FILE at start\n"
	       "      --stats-period N     print port and lcore counters every N seconds\n"
	       "      --idle-sleep US      idle workers sleep US microseconds (test beds)\n"
	       "      --idle-yield         idle workers yield the core (workers sharing cores)\n"
	       "      --drivers-conf DIR   directory of port profiles (default %s)\n"
	       "      --cli-socket PATH    serve the CLI on a Unix socket (mode 0600)\n"
	       "      --check-config       load and check the configuration, then exit\n"
	       "  -h, --help               this text\n",
	       prog, MG_DRIVERS_CONF_DIR[0] ? MG_DRIVERS_CONF_DIR : "none");
}

static int
parse_uint(const char *opt, const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr, "meshgate: %s: \"%s\" is not a number from 0 to %u\n", opt, s, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int
parse_app_args(int argc, char **argv, struct app_opts *o)
{
	enum { OPT_CMDFILE = 256, OPT_STATS, OPT_IDLE, OPT_YIELD, OPT_DRIVERS, OPT_CHECK, OPT_SOCKET };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "cmdline-file", required_argument, NULL, OPT_CMDFILE },
		{ "stats-period", required_argument, NULL, OPT_STATS },
		{ "idle-sleep", required_argument, NULL, OPT_IDLE },
		{ "idle-yield", no_argument, NULL, OPT_YIELD },
		{ "drivers-conf", required_argument, NULL, OPT_DRIVERS },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "cli-socket", required_argument, NULL, OPT_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:ih", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'i':
			o->interactive = true;
			break;
		case OPT_CMDFILE:
			o->cmdline_file = optarg;
			break;
		case OPT_STATS:
			if (parse_uint("--stats-period", optarg, 86400, &o->stats_period) < 0)
				return -1;
			break;
		case OPT_YIELD:
			o->gw.idle_yield = true;
			break;
		case OPT_IDLE:
			if (parse_uint("--idle-sleep", optarg, 100000, &o->gw.idle_sleep_us) < 0)
				return -1;
			break;
		case OPT_DRIVERS:
			o->gw.drivers_conf = optarg;
			break;
		case OPT_CHECK:
			o->check_only = true;
			break;
		case OPT_SOCKET:
			o->cli_socket = optarg;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "meshgate: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void
print_summary(const struct mg_conf *c)
{
	printf("meshgate: configuration %s: gateway %s, cluster %s, network %s, %u ports, %u services, %u endpoints\n",
	       c->path, c->gw.name, c->gw.cluster, c->gw.locality.network, c->gw.n_ports,
	       c->n_services, c->n_endpoints);
}

/* The control surface is the owner's: the runtime directory and its sockets. */
static void
restrict_runtime_dir(void)
{
	char path[PATH_MAX];
	const char *dir = rte_eal_get_runtime_dir();

	if (dir == NULL || chmod(dir, 0700) != 0)
		fprintf(stderr, "meshgate: cannot restrict %s to its owner: %s\n", dir ? dir : "the runtime directory",
			strerror(errno));
	snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", dir ? dir : "");
	chmod(path, 0600);
}

int
main(int argc, char **argv)
{
	struct app_opts o = { .gw = { .drivers_conf = MG_DRIVERS_CONF_DIR } };
	char err[MG_CONF_ERR_LEN];
	struct mg_conf *conf;
	int app_argc = 1, eal_argc = argc, rc;
	char **app_argv = argv;

	/* Application options follow "--"; read them (and the configuration)
	 * before starting the EAL, so that a mistake starts nothing. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			eal_argc = i;
			app_argc = argc - i;
			app_argv = &argv[i];
			break;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(argv[0]);
			return 0;
		}
	}
	if (app_argc > 1) {
		app_argv[0] = argv[0];
		if (parse_app_args(app_argc, app_argv, &o) < 0)
			return 2;
	}
	if (o.cli_socket != NULL) {
		struct stat st;

		/* Checked before anything starts: it would be replaced. */
		if (lstat(o.cli_socket, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "meshgate: --cli-socket %s: exists and is not a socket\n",
				o.cli_socket);
			return 2;
		}
	}
	if (o.config != NULL)
		conf = mg_conf_load_file(o.config, err, sizeof(err));
	else
		conf = mg_conf_load_string(mg_conf_embedded_default,
					   strlen(mg_conf_embedded_default), "<embedded>", NULL,
					   err, sizeof(err));
	if (conf == NULL) {
		fprintf(stderr, "meshgate: %s\n", err);
		return 1;
	}
	print_summary(conf);
	if (o.check_only) {
		mg_conf_free(conf);
		printf("meshgate: configuration OK\n");
		return 0;
	}

	/* Everything the EAL creates (the runtime directory, the telemetry and
	 * multi-process sockets, hugepage files) is the owner's alone. */
	umask(0077);
	rc = rte_eal_init(eal_argc, argv);
	if (rc < 0) {
		fprintf(stderr, "meshgate: cannot start the EAL: %s\n", rte_strerror(rte_errno));
		mg_conf_free(conf);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);

	if (mg_gw_init(&gw, conf, o.config, &o.gw, err, sizeof(err)) < 0) {
		fprintf(stderr, "meshgate: %s\n", err);
		if (gw.conf != conf)
			mg_conf_free(conf); /* not taken by the gateway */
		mg_gw_fini(&gw);
		rte_eal_cleanup();
		return 1;
	}
	rte_pdump_init();
	mg_telemetry_register(&gw);
	restrict_runtime_dir();
	if (mg_gw_start(&gw, err, sizeof(err)) < 0) {
		fprintf(stderr, "meshgate: %s\n", err);
		mg_gw_fini(&gw);
		rte_eal_cleanup();
		return 1;
	}
	if (o.cli_socket != NULL && mg_cli_socket_start(&gw, o.cli_socket, err, sizeof(err)) < 0) {
		fprintf(stderr, "meshgate: %s\n", err);
		mg_gw_fini(&gw);
		rte_eal_cleanup();
		return 1;
	}
	printf("meshgate: running: %u workers, %u ports, generation %" PRIu64 "\n",
	       gw.n_workers, gw.n_ports, gw.generation);
	fflush(stdout);

	rc = 0;
	if (o.cmdline_file != NULL && mg_cli_run_file(&gw, o.cmdline_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "meshgate: %s\n", err);
		rc = 1;
		quit_signal = 1;
	}
	if (o.interactive && !quit_signal && !mg_cli_quit_requested()) {
		mg_cli_interact(&gw);
	} else {
		uint64_t ticks = 0;

		while (!quit_signal && !mg_cli_quit_requested()) {
			usleep(100000);
			if (o.stats_period && ++ticks % (o.stats_period * 10) == 0) {
				mg_cli_print_stats(&gw, stdout);
				fflush(stdout);
			}
		}
	}
	printf("meshgate: stopping\n");
	mg_cli_socket_stop();
	mg_cli_print_stats(&gw, stdout);
	fflush(stdout);
	rte_pdump_uninit();
	mg_gw_fini(&gw);
	rte_eal_cleanup();
	printf("meshgate: bye\n");
	return rc;
}
