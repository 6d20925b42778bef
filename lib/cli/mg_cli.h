/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_CLI_H
#define MG_CLI_H

/**
 * @file
 * meshgate's operator CLI, on DPDK's cmdline library, in testpmd's grammar:
 * prompt "meshgate> ", TAB completion, `help`. The same command set runs
 * interactively (-i), from a file at start (--cmdline-file, errors name the
 * line), one line at a time (mg_cli_exec, used by the Unix socket and tests),
 * and every `show` has a twin under /meshgate/... in DPDK telemetry.
 */

#include <stdio.h>
#include "mg_gw.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Interactive CLI on stdin/stdout until `quit` or EOF. */
void mg_cli_interact(struct mg_gw *gw);

/**
 * Run every line of @p path as a command, output to stdout. Stops at the
 * first line that does not parse: returns -1 with "FILE:LINE: ..." in @p err.
 */
int mg_cli_run_file(struct mg_gw *gw, const char *path, char *err, size_t errlen);

/**
 * Run one command line, writing its output to file descriptor @p out_fd.
 * Returns 0 when the line parsed and ran, -1 otherwise (a message was written).
 */
int mg_cli_exec(struct mg_gw *gw, const char *line, int out_fd);

/** Print the per-port and per-lcore counters (used at exit and by --stats-period). */
void mg_cli_print_stats(struct mg_gw *gw, FILE *out);

/**
 * Serve the CLI on Unix socket @p path (mode 0600): one command per line,
 * each answer ended by "# ok" or "# error". 0, or -1 with @p err set.
 */
int mg_cli_socket_start(struct mg_gw *gw, const char *path, char *err, size_t errlen);

/** Close the socket and remove its file. */
void mg_cli_socket_stop(void);

/** Register the /meshgate/... telemetry commands. 0 or -1. */
int mg_telemetry_register(struct mg_gw *gw);

/** True once a `quit` command was entered (the application then stops). */
bool mg_cli_quit_requested(void);

/** Ask a running mg_cli_interact() to return (from a signal handler). */
void mg_cli_request_quit(void);

#ifdef __cplusplus
}
#endif
#endif /* MG_CLI_H */
