/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CLI on a Unix socket, so scripts drive a running gateway without a
 * terminal: `echo "show lcores" | socat - UNIX-CONNECT:/run/meshgate.sock`
 * or scripts/mgctl. One client at a time, one command per line, the output
 * of each command followed by the line "# ok" or "# error". The socket is
 * created with mode 0600 (owner only) and nothing listens on the network.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "mg_cli_priv.h"

struct cli_socket {
	struct mg_gw *gw;
	int fd;
	char path[108];
};

static struct cli_socket sock = { .fd = -1 };

static void
serve(struct mg_gw *gw, int c)
{
	char buf[1024];
	size_t used = 0;

	for (;;) {
		ssize_t n = read(c, buf + used, sizeof(buf) - 1 - used);
		char *nl;

		if (n <= 0)
			return;
		used += (size_t)n;
		buf[used] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			if (nl > buf && nl[-1] == '\r')
				nl[-1] = '\0';
			if (buf[0] != '\0') {
				int rc = mg_cli_exec(gw, buf, c);

				if (dprintf(c, "# %s\n", rc == 0 ? "ok" : "error") < 0)
					return;
			}
			used -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, used + 1);
		}
		if (used == sizeof(buf) - 1)
			used = 0; /* a line too long: drop it */
	}
}

static void *
accept_loop(void *arg)
{
	struct cli_socket *s = arg;

	while (!s->gw->quit) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		serve(s->gw, c);
		close(c);
	}
	return NULL;
}

int
mg_cli_socket_start(struct mg_gw *gw, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	pthread_t tid;
	mode_t old;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--cli-socket %s: path too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1); /* fits: checked above */
	/* Replace a stale socket, never anything else (we may run as root). */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "--cli-socket %s: exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	sock.gw = gw;
	sock.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	old = umask(0077); /* owner only, from the first moment */
	if (sock.fd < 0 || bind(sock.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(sock.fd, 4) < 0) {
		umask(old);
		snprintf(err, errlen, "--cli-socket %s: %s", path, strerror(errno));
		return -1;
	}
	umask(old);
	chmod(path, 0600);
	snprintf(sock.path, sizeof(sock.path), "%s", path);
	if (rte_ctrl_thread_create(&tid, "mg-cli-sock", NULL, accept_loop, &sock) != 0) {
		snprintf(err, errlen, "--cli-socket %s: cannot start its thread", path);
		return -1;
	}
	pthread_detach(tid);
	return 0;
}

void
mg_cli_socket_stop(void)
{
	if (sock.fd >= 0) {
		shutdown(sock.fd, SHUT_RDWR);
		close(sock.fd);
		unlink(sock.path);
		sock.fd = -1;
	}
}
