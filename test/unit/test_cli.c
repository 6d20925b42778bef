/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/cli: a real gateway (one worker, two net_null ports that
 * receive nothing) driven through mg_cli_exec and mg_cli_run_file. Every
 * command must parse and print what an operator looks for; bad lines must
 * fail with a clear message and leave the gateway running; a command file
 * stops at its first bad line and names it; the per-worker summary line
 * keeps the form the end-to-end tests parse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "mg_cli.h"

/* The worker's sleep between empty polls: long, so that a wait for it shows. */
#define IDLE_SLEEP_US 300000

static struct mg_gw gw;
static char conf_path[] = "/tmp/mg_test_cli_XXXXXX";

static const char *conf_yaml =
	"apiVersion: meshgate.io/v1alpha1\nkind: MeshGateway\nmetadata: {name: t}\n"
	"spec:\n  network: n1\n  connect: {timeout: 200ms}\n"
	"  ports:\n"
	"    - {name: client, device: 'net_null0,no-rx=1', address: 10.10.0.1/24}\n"
	"    - {name: backend, device: 'net_null1,no-rx=1', address: 10.20.0.1/24}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
	"spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: 8080}]}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}\n"
	"addressType: IPv4\nports: [{name: http, port: 8080}]\n"
	"endpoints: [{addresses: [10.20.0.11]}, {addresses: [10.20.0.12]}]\n";

/* Run one line; its output in @p out (static buffer). */
static int
run(const char *line, char **out)
{
	static char buf[65536];
	FILE *f = tmpfile();
	size_t n;
	int rc;

	assert_non_null(f);
	rc = mg_cli_exec(&gw, line, fileno(f));
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	*out = buf;
	return rc;
}

static void
expect_ok(const char *line, const char *needle)
{
	char *out;

	if (run(line, &out) != 0)
		fail_msg("\"%s\" failed:\n%s", line, out);
	if (needle != NULL && strstr(out, needle) == NULL)
		fail_msg("\"%s\" does not print \"%s\":\n%s", line, needle, out);
}

static void
expect_error(const char *line, const char *needle)
{
	char *out;

	if (run(line, &out) != -1)
		fail_msg("\"%s\" did not fail:\n%s", line, out);
	if (strstr(out, needle) == NULL)
		fail_msg("\"%s\" does not say \"%s\":\n%s", line, needle, out);
}

static void
test_every_command(void **state)
{
	expect_ok("help", "help show");
	expect_ok("help all", "show service <namespace>/<name>");
	expect_ok("help control", "quit");
	expect_ok("show port info all", "Driver name: net_null");
	expect_ok("show port info 1", "Address: 10.20.0.1/24");
	expect_ok("show port stats all", "NIC statistics for port 0");
	expect_ok("show port stats 1", "Throughput (since last show)");
	expect_ok("show port xstats all", "NIC extended statistics for port 1");
	expect_ok("clear port stats all", "cleared");
	expect_ok("clear port stats 0", "cleared");
	expect_ok("show lcores", "worker 0 lcore 1: rx 0 tx 0 flows 0 active 0 connect_ok 0");
	expect_ok("show config", "connect_timeout_ms               200");
	expect_ok("show services", "demo/web 10.96.0.10:80");
	expect_ok("show service demo/web", "10.20.0.12:8080");
	expect_ok("show flows", "worker 0: 0 flows of");
	expect_ok("show flows summary", "worker 0: 0 flows of");
	expect_ok("show flows 10.96.0.10", "0 flows to 10.96.0.10");
	expect_ok("show neigh", "10.20.0.11");
	expect_ok("show routes", "10.20.0.0/24");
	expect_ok("show endpoints", "10.20.0.12");
	expect_ok("show endpoint 10.20.0.11", "endpoint 10.20.0.11: healthy");
	expect_ok("set log debug", "meshgate log level: debug");
	expect_ok("set log global notice", "Global log level: notice");
	expect_ok("set log info", NULL);
	expect_ok("stop", "Forwarding stopped");
	assert_false(gw.running);
	expect_ok("start", "Forwarding started");
	assert_true(gw.running);
	expect_ok("  show   lcores  ", "worker 0");
	expect_ok("", NULL);
	expect_ok("# a comment", NULL);
}

static void
test_bad_lines_fail_and_say_why(void **state)
{
	expect_error("show port stats 9", "Invalid port 9: meshgate's ports are 0 (client) 1 (backend)");
	expect_error("show port info 70000", "Bad arguments");
	expect_error("show service nope/none", "No service nope/none");
	expect_error("show service demo", "Bad service \"demo\"");
	expect_error("show endpoint 10.99.0.1", "No endpoint 10.99.0.1");
	expect_error("show flows 10.96.0.300", "Bad arguments");
	expect_error("show bogus", "Bad arguments: show bogus");
	expect_error("bogus", "Command not found: bogus");
	expect_error("set log loud", "Bad arguments");
	expect_error("load /nonexistent/meshgate.yaml", "Configuration refused, the running one stays");
	assert_true(gw.running);
	assert_false(mg_cli_quit_requested());
}

static void
test_summary_line_form(void **state)
{
	unsigned int idx, lcore, active;
	uint64_t rx, tx, flows, ok, retries, failed, drops;
	char *out;

	assert_int_equal(run("show lcores", &out), 0);
	assert_int_equal(sscanf(out, "worker %u lcore %u: rx %" SCNu64 " tx %" SCNu64 " flows %" SCNu64
				" active %u connect_ok %" SCNu64 " retries %" SCNu64 " failed %" SCNu64
				" drops %" SCNu64, &idx, &lcore, &rx, &tx, &flows, &active, &ok, &retries,
				&failed, &drops), 10);
	assert_int_equal(idx, 0);
	assert_int_equal(lcore, gw.workers[0]->lcore);
}

static void
test_load_applies_a_new_generation(void **state)
{
	char line[128];
	uint64_t gen = gw.generation;

	snprintf(line, sizeof(line), "load %s", conf_path);
	expect_ok(line, "applied: generation");
	assert_int_equal(gw.generation, gen + 1);
	expect_ok("show config", "loads_ok                         1");
}

/*
 * A load retires the previous table to the RCU defer queue; mg_gw_reclaim
 * frees every retired one at once, without waiting out the worker's idle
 * sleep (a sleeping worker is RCU-offline). The CLI fuzzer reclaims after
 * each input: with the worker online through its sleep, that waited up to a
 * sleep per input, and a table left in the queue looked like a leak.
 */
static void
test_reclaim_frees_retired_tables_at_once(void **state)
{
	char line[128];
	uint64_t t0, us;

	snprintf(line, sizeof(line), "load %s", conf_path);
	t0 = rte_get_tsc_cycles();
	for (int i = 0; i < 4; i++) {
		expect_ok(line, "applied: generation");
		mg_gw_reclaim(&gw);
		/* Every generation but the one in force is freed. */
		assert_int_equal(gw.cst.reclaimed, gw.cst.generations - 1);
	}
	us = (rte_get_tsc_cycles() - t0) * 1000000 / rte_get_tsc_hz();
	if (us >= IDLE_SLEEP_US / 2)
		fail_msg("4 loads and reclaims took %" PRIu64 " us: they waited for the worker",
			 us);
}

static void
test_cmdline_file_names_the_failing_line(void **state)
{
	char path[] = "/tmp/mg_test_cli_cmds_XXXXXX", err[512];
	int fd = mkstemp(path);
	const char *cmds = "# first commands\n\nshow services\n  show port stats 5\nshow lcores\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, cmds, strlen(cmds)), (ssize_t)strlen(cmds));
	close(fd);
	assert_int_equal(mg_cli_run_file(&gw, path, err, sizeof(err)), -1);
	if (strncmp(err, path, strlen(path)) != 0 || strstr(err, ":4: Invalid port 5") == NULL)
		fail_msg("unexpected error: %s", err);
	unlink(path);
	assert_int_equal(mg_cli_run_file(&gw, "/nonexistent/cmds", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/cmds: cannot open"));
}

static void
test_print_stats(void **state)
{
	FILE *f = tmpfile();
	char buf[16384];
	size_t n;

	mg_cli_print_stats(&gw, f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "NIC statistics for port 1"));
	assert_non_null(strstr(buf, "worker 0 lcore 1: rx "));
}

static void
test_quit(void **state)
{
	expect_ok("quit", NULL);
	assert_true(mg_cli_quit_requested());
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "--no-shconf", "-m", "512", "--no-pci",
			"--log-level=error", "--lcores", "0@0,1@0", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command),
		cmocka_unit_test(test_bad_lines_fail_and_say_why),
		cmocka_unit_test(test_summary_line_form),
		cmocka_unit_test(test_load_applies_a_new_generation),
		cmocka_unit_test(test_reclaim_frees_retired_tables_at_once),
		cmocka_unit_test(test_cmdline_file_names_the_failing_line),
		cmocka_unit_test(test_print_stats),
		cmocka_unit_test(test_quit),
	};
	struct mg_gw_opts opts = { .idle_sleep_us = IDLE_SLEEP_US, .drivers_conf = "" };
	struct mg_conf *conf;
	char err[MG_CONF_ERR_LEN];
	int fd, rc;

	if (rte_eal_init(9, eal) < 0)
		return 1;
	fd = mkstemp(conf_path);
	if (fd < 0 || write(fd, conf_yaml, strlen(conf_yaml)) != (ssize_t)strlen(conf_yaml))
		return 1;
	close(fd);
	conf = mg_conf_load_file(conf_path, err, sizeof(err));
	if (conf == NULL || mg_gw_init(&gw, conf, conf_path, &opts, err, sizeof(err)) < 0 ||
	    mg_gw_start(&gw, err, sizeof(err)) < 0) {
		fprintf(stderr, "test_cli: cannot start a gateway: %s\n", err);
		return 1;
	}
	mg_telemetry_register(&gw);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mg_gw_fini(&gw);
	unlink(conf_path);
	rte_eal_cleanup();
	return rc;
}
