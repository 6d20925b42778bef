#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Hold many idle, established TCP connections through meshgate, on command.

Runs inside a client namespace (ip netns exec <p>-c1 /usr/bin/python3 connholder.py ...) and
reads one command per line on stdin, answering each with one JSON line on stdout:

  open N       open connections one after the other, up to N in all, until one fails;
               {"opened": total held, "failure": {"outcome", "t"} or null, "seconds"}
  fill N K     like open, but go on after a failure until N are held or K attempts in a row
               failed; {"opened", "failures": {outcome: count}, "max_t", "seconds"}
  try K        K more connection attempts, each closed at once if it connects;
               {"outcomes": [{"outcome", "t"}, ...]}
  xfer         one HTTP/1.1 keep-alive request on every held connection, all sent first,
               then every response read whole; {"ok": n, "backends": {...}, "failed": [...]}
  ports        {"ports": [local port of each held connection]}
  close        close them all (FIN); {"closed": n}
  exit

Outcomes of a connect, as loadclient.py names them: ok, refused (RST to the SYN:
ECONNREFUSED), reset (ECONNRESET), connect_timeout (no answer within --connect-timeout),
error. "t" is how long the connect took, in seconds.
"""
import argparse
import json
import resource
import socket
import sys
import time


def connect(host, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    t0 = time.monotonic()
    try:
        s.connect((host, port))
        return s, "ok", time.monotonic() - t0
    except ConnectionRefusedError:
        out = "refused"
    except ConnectionResetError:
        out = "reset"
    except (socket.timeout, TimeoutError):
        out = "connect_timeout"
    except OSError as e:
        out = "error: %s" % e
    s.close()
    return None, out, time.monotonic() - t0


def read_response(s):
    """One whole HTTP response (Content-Length framed); returns (status, backend)."""
    data = b""
    while b"\r\n\r\n" not in data:
        c = s.recv(65536)
        if not c:
            raise ConnectionError("closed before the headers")
        data += c
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = lines[0].split(b" ")[1].decode()
    hdr = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        hdr[k.strip().lower()] = v.strip()
    n = int(hdr.get(b"content-length", b"0"))
    while len(body) < n:
        c = s.recv(65536)
        if not c:
            raise ConnectionError("closed in the body")
        body += c
    return status, hdr.get(b"x-backend", b"").decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="10.96.0.10")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--connect-timeout", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    held = []

    def answer(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "open":
            t0 = time.monotonic()
            failure = None
            while len(held) < int(cmd[1]):
                s, out, t = connect(a.host, a.port, a.connect_timeout)
                if s is None:
                    failure = {"outcome": out, "t": round(t, 3)}
                    break
                held.append(s)
            answer({"opened": len(held), "failure": failure, "seconds": round(time.monotonic() - t0, 3)})
        elif cmd[0] == "fill":
            t0 = time.monotonic()
            failures, in_a_row, max_t = {}, 0, 0.0
            while len(held) < int(cmd[1]) and in_a_row < int(cmd[2]):
                s, out, t = connect(a.host, a.port, a.connect_timeout)
                max_t = max(max_t, t)
                if s is None:
                    failures[out] = failures.get(out, 0) + 1
                    in_a_row += 1
                    continue
                in_a_row = 0
                held.append(s)
            answer({"opened": len(held), "failures": failures, "max_t": round(max_t, 3),
                    "seconds": round(time.monotonic() - t0, 3)})
        elif cmd[0] == "try":
            outs = []
            for _ in range(int(cmd[1])):
                s, out, t = connect(a.host, a.port, a.connect_timeout)
                if s is not None:
                    s.close()
                outs.append({"outcome": out, "t": round(t, 3)})
            answer({"outcomes": outs})
        elif cmd[0] == "xfer":
            ok, backends, failed = 0, {}, []
            for i, s in enumerate(held):
                s.settimeout(a.timeout)
                try:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % a.host.encode())
                except OSError as e:
                    failed.append({"conn": i, "error": "send: %s" % e})
            for i, s in enumerate(held):
                if any(f["conn"] == i for f in failed):
                    continue
                try:
                    status, backend = read_response(s)
                except (OSError, ConnectionError, ValueError, IndexError) as e:
                    failed.append({"conn": i, "error": "recv: %s" % e})
                    continue
                if status != "200":
                    failed.append({"conn": i, "error": "status %s" % status})
                    continue
                ok += 1
                backends[backend] = backends.get(backend, 0) + 1
            answer({"ok": ok, "backends": backends, "failed": failed[:10], "n_failed": len(failed)})
        elif cmd[0] == "ports":
            answer({"ports": [s.getsockname()[1] for s in held]})
        elif cmd[0] == "close":
            n = len(held)
            for s in held:
                s.close()
            held = []
            answer({"closed": n})
        elif cmd[0] == "exit":
            break
        else:
            answer({"error": "unknown command %r" % line.strip()})
    for s in held:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
