#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Holds COUNT HTTP/1.1 keep-alive connections across a director failover (tests/e2e/sync_test.sh).

Round 1: opens COUNT connections one after the other and sends one request on each (the next
connection opens only once the previous one has its answer, so the director has counted it
ESTABLISHED); each answer's body names the real server ("web1"). Prints one line per connection,
    CONN <i> local=<ip:port> server=<body>      (or server=ERR:<reason>)
then "ROUND1 answered=<n> failed=<m>", and waits until GO_FILE exists (at most --max-wait s).
Round 2: sends a second request on every connection at once, then reads every answer; each must
come from the server that answered round 1. Prints one line per connection,
    ROUND2 <i> local=<ip:port> first=<body> second=<body> result=<same|wrong|reset|timeout|closed|error>
and the counts:
    RESULT answered=<n> same=<n> wrong=<n> reset=<n> timeout=<n> closed=<n> error=<n>
Exits 0 only when all COUNT connections answered round 2 from the same server. Every socket
operation is bounded by --timeout seconds; the connections close with a FIN at the end.
"""
import argparse
import os
import socket
import sys
import time


class Closed(Exception):
    """The peer closed the connection (EOF) before a whole response arrived."""


def read_response(sock: socket.socket, deadline: float) -> str:
    """Reads one response with a Content-Length; returns its body, stripped."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += recv_some(sock, deadline)
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 200"):
        raise ValueError(f"unexpected status line {lines[0]!r}")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("response without Content-Length")
    while len(rest) < length:
        rest += recv_some(sock, deadline)
    return rest[:length].decode(errors="replace").strip()


def recv_some(sock: socket.socket, deadline: float) -> bytes:
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("deadline passed")
    sock.settimeout(left)
    chunk = sock.recv(4096)
    if not chunk:
        raise Closed("connection closed by the peer")
    return chunk


def classify(e: BaseException) -> str:
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, socket.timeout):  # TimeoutError on 3.10+
        return "timeout"
    if isinstance(e, (Closed, BrokenPipeError)):
        return "closed"
    return "error"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("go_file", help="round 2 starts once this file exists")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=10.0, help="bound of each socket operation")
    ap.add_argument("--max-wait", type=float, default=300.0, help="bound of the wait for GO_FILE")
    args = ap.parse_args()

    request = f"GET / HTTP/1.1\r\nHost: {args.host}\r\nConnection: keep-alive\r\n\r\n".encode()
    conns: list[tuple[socket.socket | None, str, str]] = []  # (socket, local, first body)
    for i in range(args.count):
        sock = None
        local = "-"
        try:
            sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
            local = "%s:%d" % sock.getsockname()[:2]
            sock.settimeout(args.timeout)
            sock.sendall(request)
            body = read_response(sock, time.monotonic() + args.timeout)
        except (OSError, ValueError, Closed) as e:
            body = f"ERR:{classify(e)}"
            if sock is not None:
                sock.close()
                sock = None
        conns.append((sock, local, body))
        print(f"CONN {i} local={local} server={body}", flush=True)
    failed = sum(1 for s, _, b in conns if s is None or b.startswith("ERR:"))
    print(f"ROUND1 answered={args.count - failed} failed={failed}", flush=True)

    end = time.monotonic() + args.max_wait
    while not os.path.exists(args.go_file):
        if time.monotonic() >= end:
            print(f"ERROR: {args.go_file} did not appear within {args.max_wait} s", flush=True)
            return 2
        time.sleep(0.05)

    # Every request goes out before any answer is read, so the round takes one timeout at most.
    counts = dict.fromkeys(["answered", "same", "wrong", "reset", "timeout", "closed", "error"], 0)
    results: list[str | None] = []
    for sock, _, _ in conns:
        result = None
        if sock is None:
            result = "error"
        else:
            try:
                sock.settimeout(args.timeout)
                sock.sendall(request)
            except OSError as e:
                result = classify(e)
        results.append(result)
    deadline = time.monotonic() + args.timeout
    for i, (sock, local, first) in enumerate(conns):
        second = "-"
        result = results[i]
        if result is None:
            try:
                second = read_response(sock, deadline)
                counts["answered"] += 1
                result = "same" if second == first else "wrong"
            except (OSError, ValueError, Closed) as e:
                result = classify(e)
        counts[result] += 1
        print(f"ROUND2 {i} local={local} first={first} second={second} result={result}", flush=True)
    for sock, _, _ in conns:
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            sock.close()
    print("RESULT " + " ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
    return 0 if counts["same"] == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
