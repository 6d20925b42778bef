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
"""
import argparse
import hashlib
import os
import shutil
import signal
import socket
import sys
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True, help="backend name put in every response")
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--files-dir", default=None)
    ap.add_argument("--pidfile", default=None)
    ap.add_argument("--verbose", action="store_true")
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
        srv.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
