#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A connection-per-request HTTP client that classifies every failure.

Runs inside the client namespace (ip netns exec <p>-c1 /usr/bin/python3 loadclient.py ...).
Each request opens a new TCP connection, sends GET with "Connection: close",
reads the whole response and notes which backend served it (X-Backend / body).
Outcomes:
  ok               200 and a body naming a backend
  refused          connect() got RST (ECONNREFUSED): a failed client connection
  connect_timeout  connect() got no answer within --connect-timeout: a failed client connection
  reset            RST after the connection was established (mid-stream)
  closed           connection closed before a complete response (mid-stream)
  timeout          established, but the response did not arrive within --timeout
  bad_status       a response that is not 200
  error            anything else (message kept)
Prints one JSON object: totals by outcome, by backend, and the first errors.
--events FILE also writes one line per request, "START END OUTCOME BACKEND|- PORT"
(time.monotonic() seconds, the same clock in every process of the machine; the
client's local port once connected, else 0), for
figures over time windows; --stop-file FILE stops issuing requests once FILE exists.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time


def one_request(host, port, path, connect_timeout, timeout, info=None):
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(connect_timeout)
    try:
        try:
            s.connect((host, port))
            if info is not None:
                info["port"] = s.getsockname()[1]
        except ConnectionRefusedError:
            return "refused", None, time.monotonic() - t0, "ECONNREFUSED"
        except (socket.timeout, TimeoutError):
            return "connect_timeout", None, time.monotonic() - t0, "no SYN+ACK"
        except ConnectionResetError:
            # Linux reports ECONNREFUSED for a RST to the SYN; ECONNRESET means the
            # SYN+ACK came and a RST right after it, before connect() returned: the
            # backend accepted, then died (its listener closed with us in its queue).
            return "reset", None, time.monotonic() - t0, "RST right after SYN+ACK"
        except OSError as e:
            return "error", None, time.monotonic() - t0, "connect: %s" % e
        t_conn = time.monotonic() - t0
        s.settimeout(timeout)
        try:
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
            data = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
        except ConnectionResetError:
            return "reset", None, time.monotonic() - t0, "RST after %.3fs" % t_conn
        except (socket.timeout, TimeoutError):
            return "timeout", None, time.monotonic() - t0, "no response"
        except OSError as e:
            return "error", None, time.monotonic() - t0, "recv: %s" % e
        head, _, body = data.partition(b"\r\n\r\n")
        if not head:
            return "closed", None, time.monotonic() - t0, "empty response"
        status = head.split(b"\r\n", 1)[0].split(b" ")
        if len(status) < 2 or status[1] != b"200":
            return "bad_status", None, time.monotonic() - t0, head[:80].decode("latin1")
        backend = None
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"x-backend":
                backend = v.strip().decode()
        if backend is None and body.startswith(b"backend="):
            backend = body[8:].split()[0].decode()
        if backend is None:
            return "closed", None, time.monotonic() - t0, "incomplete response"
        return "ok", backend, time.monotonic() - t0, None
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="10.96.0.10")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--path", default="/")
    ap.add_argument("--count", type=int, default=0, help="requests in all (0: until --duration)")
    ap.add_argument("--duration", type=float, default=0.0, help="seconds (with --count 0)")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--connect-timeout", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--start-file", default=None, help="touch this file once the first request completed")
    ap.add_argument("--stop-file", default=None, help="issue no more requests once this file exists")
    ap.add_argument("--events", default=None, help="write every request's start, end, outcome, backend here")
    a = ap.parse_args()
    if a.count <= 0 and a.duration <= 0:
        ap.error("give --count or --duration")

    lock = threading.Lock()
    res = {"outcomes": {}, "backends": {}, "errors": [], "requests": 0, "max_latency": 0.0}
    issued = [0]
    events = []
    deadline = time.monotonic() + a.duration if a.duration > 0 else None
    t_start = time.monotonic()

    def worker():
        while True:
            with lock:
                if a.count > 0 and issued[0] >= a.count:
                    return
                if deadline is not None and time.monotonic() >= deadline:
                    return
                if a.stop_file and os.path.exists(a.stop_file):
                    return
                issued[0] += 1
            t0 = time.monotonic()
            info = {"port": 0}
            outcome, backend, lat, err = one_request(a.host, a.port, a.path, a.connect_timeout, a.timeout, info)
            with lock:
                if a.events:
                    events.append((t0, t0 + lat, outcome, backend or "-", info["port"]))
                res["requests"] += 1
                res["outcomes"][outcome] = res["outcomes"].get(outcome, 0) + 1
                if backend:
                    res["backends"][backend] = res["backends"].get(backend, 0) + 1
                res["max_latency"] = max(res["max_latency"], lat)
                if err and len(res["errors"]) < 20:
                    res["errors"].append({"t": round(time.monotonic() - t_start, 3), "outcome": outcome, "detail": err})
                if a.start_file and res["requests"] == 1:
                    open(a.start_file, "w").close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res["elapsed"] = round(time.monotonic() - t_start, 3)
    res["failed_connections"] = res["outcomes"].get("refused", 0) + res["outcomes"].get("connect_timeout", 0)
    if a.events:
        with open(a.events, "w") as f:
            for e in sorted(events):
                f.write("%.6f %.6f %s %s %d\n" % e)
    json.dump(res, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
