/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the CLI (lib/cli) -- DPDK cmdline's parser with
 * meshgate's grammar and dynamic tokens (services, VIPs, endpoints), and
 * every handler behind it -- on a running gateway (one worker, two net_null
 * ports that receive nothing), as test/unit/test_cli.c sets it up.
 *
 * Input: text; each line (at most 16 of them) goes to mg_cli_exec, output
 * to /dev/null. After each input the harness restores what a line may have
 * turned off (forwarding, log levels) so that inputs replay alike. "load"
 * finds the gateway's own configuration as fuzz_cli.yaml in the working
 * directory; "quit" only sets a flag.
 *
 * Speed (10^7 inputs is the goal), two rules:
 * - An input leaves the heap as it found it. A line that publishes a table
 *   (load, set) retires the previous one to the RCU defer queue, which the
 *   control thread empties a little later; an input that ended first looked
 *   like a leak to libFuzzer, which ran it again and then scanned the heap
 *   with LeakSanitizer: about half the time went there. The harness frees
 *   the retired tables before it returns (mg_gw_reclaim: the worker, asleep
 *   between empty polls, is RCU-offline and not waited for), which also lets
 *   LeakSanitizer check every table the CLI publishes (lsan-cli.supp).
 * - Inputs see no file but the harness's. The working directory holds
 *   nothing but fuzz_cli.yaml (run.sh gives the target an empty one), and a
 *   "load" of a path outside it (absolute, or through "..") is not run.
 *   "load ." reads a whole directory: with the corpus in it, each such line
 *   stat'ed every corpus file, and as the corpus grew the run fell to ~100
 *   inputs/s; "load .." (the corpus again) and "load /" (the host's tree,
 *   here 5-7 ms a line) came back within a minute of fuzzing. What they
 *   read depends on the machine, so such inputs did not replay alike
 *   either. setup() says so when the directory holds anything else.
 */
#include "fuzz_eal.h" /* first: _GNU_SOURCE */

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_log.h>

#include "mg_cli.h"

#define MAX_LINES 16
#define LINE_MAX_LEN 600   /* a little beyond the CLI's 512 */

static struct mg_gw gw;
static int null_fd;

static const char *conf_yaml =
	"apiVersion: meshgate.io/v1alpha1\nkind: MeshGateway\nmetadata: {name: t}\n"
	"spec:\n  network: n1\n  connect: {timeout: 200ms}\n"
	"  flowTable: {size: 1024}\n"      /* "show flows" scans it: keep it small */
	"  ports:\n"
	"    - {name: client, device: 'net_null0,no-rx=1', address: 10.10.0.1/24}\n"
	"    - {name: backend, device: 'net_null1,no-rx=1', address: 10.20.0.1/24}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
	"spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: 8080}]}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}\n"
	"addressType: IPv4\nports: [{name: http, port: 8080}]\n"
	"endpoints: [{addresses: [10.20.0.11]}, {addresses: [10.20.0.12]}]\n";

/*
 * Is @p line a "load" of a path outside the working directory (absolute, or
 * through ".."): one that would read the host's file system? Split as DPDK
 * cmdline splits it: blanks are space and tab, a word ends at a blank, '#',
 * CR, LF or NUL.
 */
static bool
loads_outside(const char *line)
{
	const char *p = line + strspn(line, " \t");
	size_t n;

	if (strncmp(p, "load", 4) != 0 || (p[4] != ' ' && p[4] != '\t'))
		return false;
	p += 4 + strspn(p + 4, " \t");
	n = strcspn(p, " \t#\r\n");
	if (n > 0 && p[0] == '/')
		return true;
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '.' && p[i + 1] == '.')
			return true;
	return false;
}

/* Say so when "load ." would read more than fuzz_cli.yaml (see above). */
static void
check_workdir(void)
{
	DIR *d = opendir(".");
	struct dirent *e;
	unsigned int n = 0;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strcmp(e->d_name, "fuzz_cli.yaml") != 0)
			n++;
	closedir(d);
	if (n > 0)
		fprintf(stderr, "fuzz_cli: the working directory holds %u entries besides "
			"fuzz_cli.yaml: \"load .\" reads them all (slow, and inputs replay "
			"differently elsewhere); run from an empty directory, as "
			"test/fuzz/run.sh does\n", n);
}

static void
setup(void)
{
	char lcores[32];
	char *eal[] = { "fuzz_cli", "--no-huge", "--no-shconf", "-m", "256", "--no-pci",
			"--log-level=crit", "--file-prefix=fuzz_cli", "--lcores",
			(char *)mg_fuzz_lcores(lcores, sizeof(lcores), 2), NULL };
	struct mg_gw_opts opts = { .idle_sleep_us = 1000, .drivers_conf = "" };
	char err[MG_CONF_ERR_LEN];
	struct mg_conf *conf;
	FILE *f;

	check_workdir();
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		abort();
	f = fopen("fuzz_cli.yaml", "w");
	if (f == NULL || fputs(conf_yaml, f) < 0 || fclose(f) != 0)
		abort();
	conf = mg_conf_load_file("fuzz_cli.yaml", err, sizeof(err));
	if (conf == NULL || mg_gw_init(&gw, conf, "fuzz_cli.yaml", &opts, err, sizeof(err)) < 0 ||
	    mg_gw_start(&gw, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_cli: cannot start a gateway: %s\n", err);
		abort();
	}
	mg_telemetry_register(&gw);
	null_fd = open("/dev/null", O_WRONLY);
	if (null_fd < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char line[LINE_MAX_LEN + 1];
	size_t pos = 0;

	if (!ready) {
		setup();
		ready = true;
	}
	for (int n = 0; n < MAX_LINES && pos < size; n++) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = (nl ? (size_t)(nl - data) : size) - pos;

		if (len > LINE_MAX_LEN)
			len = LINE_MAX_LEN;
		memcpy(line, data + pos, len);
		line[len] = '\0';
		pos += len + (nl != NULL && data + pos + len == nl ? 1 : 0);
		if (!loads_outside(line))
			(void)mg_cli_exec(&gw, line, null_fd);
	}
	/* What a line may have changed that would slow or silence the next. */
	(void)mg_cli_exec(&gw, "start", null_fd);
	(void)mg_cli_exec(&gw, "set log err", null_fd);
	rte_log_set_global_level(RTE_LOG_CRIT);
	/* The tables this input retired, freed before libFuzzer counts. */
	mg_gw_reclaim(&gw);
	return 0;
}
