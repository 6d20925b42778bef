#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A small HTTP/1.1 backend for meshgate's test bed.

Every response names the backend that served it, in the body (``backend=NAME``)
and in the ``X-Backend`` header, so a client can tell which endpoint the
gateway picked.

  GET  /            -> "backend=NAME\n"
  GET  /bytes/N     -> N bytes of a deterministic pattern (see pattern_bytes);
                       header X-Sha256 holds their SHA-256
  GET  /files/NAME  -> a file from --files-dir (for big transfers)
  POST /sha256      -> reads the request body, answers "sha256=HEX bytes=N\n"
  GET  /healthz     -> "ok\n"

Threaded, keep-alive (HTTP/1.1), a large listen backlog, quiet logs.
Runs with Debian's /usr/bin/python3 and the standard library only.

Faults, switched at run time by signals (no restart, so no moment where
nothing listens and connects are refused; scripts/testbed.sh server-fault):
  SIGUSR1  never-accept: the listen backlog drops to --stall-backlog (default 1)
           and the server stops calling accept(). The kernel completes
           backlog+1 handshakes into the accept queue, whose connections then
           hang; once the queue is full further SYNs are dropped (connect
           timeouts). Set net.ipv4.tcp_syncookies=0 in the namespace so that
           the kernel never answers with a cookie either.
  SIGUSR2  reset: every new connection is accepted, its request read, then
           reset (RST: SO_LINGER 0), i.e. it fails after establishment.
  SIGHUP   back to serving (backlog 1024, accept again).
--state-file PATH: the mode in force and when it took effect
("MODE REALTIME"), rewritten after each switch.
"""
import argparse
import hashlib
import os
import shutil
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024


def _base_block():
    return b"".join(hashlib.sha256(b"meshgate-%d" % i).digest() for i in range(CHUNK // 32))


_BASE = _base_block()


def pattern_bytes(n):
    """Yield n bytes of the test pattern in chunks of 64 KiB.

    Chunk k is a 64 KiB pseudo-random block rotated left by (k * 4099) % 65536
    bytes, so lost, duplicated or reordered segments change the digest."""
    k = 0
    left = n
    while left > 0:
        r = (k * 4099) % CHUNK
        b = _BASE[r:] + _BASE[:r]
        take = min(left, CHUNK)
        yield b[:take]
        left -= take
        k += 1


def pattern_sha256(n):
    h = hashlib.sha256()
    for c in pattern_bytes(n):
        h.update(c)
    return h.hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mg-backend/1"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def end_headers(self):
        # say so when the connection closes after this response (HTTP/1.1
        # clients such as wrk otherwise expect keep-alive and count an error)
        if self.close_connection:
            self.send_header("Connection", "close")
        super().end_headers()

    def _send(self, code, body, ctype="text/plain", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.name)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        name = self.server.name
        path = self.path.split("?", 1)[0]
        if path == "/" or path == "/index.html":
            self._send(200, ("backend=%s\n" % name).encode())
        elif path == "/healthz":
            self._send(200, b"ok\n")
        elif path.startswith("/bytes/"):
            try:
                n = int(path[len("/bytes/"):])
                if n < 0 or n > (1 << 34):
                    raise ValueError
            except ValueError:
                self._send(400, b"bad size\n")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.send_header("X-Backend", name)
            self.end_headers()
            if self.command != "HEAD":
                for c in pattern_bytes(n):
                    self.wfile.write(c)
        elif path.startswith("/files/") and self.server.files_dir:
            fn = os.path.basename(path[len("/files/"):])
            full = os.path.join(self.server.files_dir, fn)
            if not fn or not os.path.isfile(full):
                self._send(404, b"not found\n")
                return
            size = os.path.getsize(full)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.send_header("X-Backend", name)
            self.end_headers()
            if self.command != "HEAD":
                with open(full, "rb") as f:
                    shutil.copyfileobj(f, self.wfile, CHUNK)
        else:
            self._send(404, b"not found\n")

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        length = self.headers.get("Content-Length")
        h = hashlib.sha256()
        total = 0
        if length is not None:
            left = int(length)
            while left > 0:
                c = self.rfile.read(min(CHUNK, left))
                if not c:
                    break
                h.update(c)
                total += len(c)
                left -= len(c)
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                left = size
                while left > 0:
                    c = self.rfile.read(min(CHUNK, left))
                    if not c:
                        break
                    h.update(c)
                    total += len(c)
                    left -= len(c)
                self.rfile.readline()
        if path == "/sha256":
            self._send(200, ("sha256=%s bytes=%d backend=%s\n" % (h.hexdigest(), total, self.server.name)).encode())
        else:
            self._send(200, ("backend=%s bytes=%d\n" % (self.server.name, total)).encode())


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    fault = None

    def finish_request(self, request, client_address):
        if self.fault == "reset":
            reset_after_request(request)
            return
        super().finish_request(request, client_address)


def reset_after_request(conn):
    """Read what the client sent (its request, if it comes within 2 s), then RST."""
    try:
        conn.settimeout(2)
        conn.recv(65536)
    except OSError:
        pass
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    conn.close()


class Faults:
    """Serve in a thread; switch modes on signals in the main thread."""

    def __init__(self, srv, stall_backlog, state_file):
        self.srv = srv
        self.stall_backlog = stall_backlog
        self.state_file = state_file
        self.want = "serve"
        self.mode = None
        self.thread = None

    def _serve(self):
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def _stop_serving(self):
        if self.thread is not None:
            self.srv.shutdown()  # the loop stops; the listening socket stays open
            self.thread.join()
            self.thread = None

    def apply(self):
        want = self.want
        if want == self.mode:
            return
        if want == "never-accept":
            # first the small backlog (in force at once), then no more accept()
            self.srv.socket.listen(self.stall_backlog)
            self._stop_serving()
            self.srv.fault = None
        elif want == "reset":
            self.srv.socket.listen(self.srv.request_queue_size)
            self.srv.fault = "reset"
            if self.thread is None:
                self._serve()
        else:
            self.srv.socket.listen(self.srv.request_queue_size)
            self.srv.fault = None
            if self.thread is None:
                self._serve()
        self.mode = want
        if self.state_file:
            tmp = self.state_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%s %.6f\n" % (want, time.time()))
            os.replace(tmp, self.state_file)
        print("mode %s" % want, flush=True)

    def run(self):
        # Blocked in every thread (the serving thread inherits the mask) and
        # taken by sigwait here: no handler, so no signal lost between two checks.
        modes = {signal.SIGUSR1: "never-accept", signal.SIGUSR2: "reset", signal.SIGHUP: "serve"}
        signal.pthread_sigmask(signal.SIG_BLOCK, set(modes))
        self.apply()
        while True:
            self.want = modes[signal.sigwait(set(modes))]
            self.apply()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True, help="backend name put in every response")
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--files-dir", default=None)
    ap.add_argument("--pidfile", default=None)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--stall-backlog", type=int, default=1,
                    help="listen backlog while never accepting (SIGUSR1); default 1")
    ap.add_argument("--state-file", default=None, help="write the fault mode in force here")
    ap.add_argument("--sha256-of", type=int, default=None, metavar="N",
                    help="print the SHA-256 of /bytes/N and exit")
    a = ap.parse_args()
    if a.sha256_of is not None:
        print(pattern_sha256(a.sha256_of))
        return 0
    srv = Server((a.bind, a.port), Handler)
    srv.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    srv.name = a.name
    srv.files_dir = a.files_dir
    srv.verbose = a.verbose
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        Faults(srv, a.stall_backlog, a.state_file).run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
