#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Holds ONE HTTP/1.1 keep-alive connection and sends COUNT requests over it, INTERVAL apart.

Prints one line per response body ("web1"), flushed, so a test can watch it. Never reconnects:
if the connection closes, stalls or a response is malformed, prints "ERROR: ..." and exits 1.
The first line is "CONNECTED local=IP:PORT peer=IP:PORT".
"""
import argparse
import socket
import sys
import time


def read_response(sock: socket.socket, buf: bytes) -> tuple[bytes, bytes]:
    """Returns (body, leftover) of one response with a Content-Length."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed while reading headers")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"unexpected status line {lines[0]!r}")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() == b"connection" and value.strip().lower() == b"close":
            raise ConnectionError("server wants to close the connection")
    if length is None:
        raise ConnectionError("response without Content-Length")
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed while reading the body")
        rest += chunk
    return rest[:length], rest[length:]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()

    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    except OSError as e:
        print(f"ERROR: connect: {e}", flush=True)
        return 1
    local = "%s:%d" % sock.getsockname()[:2]
    peer = "%s:%d" % sock.getpeername()[:2]
    print(f"CONNECTED local={local} peer={peer}", flush=True)
    request = (f"GET / HTTP/1.1\r\nHost: {args.host}\r\nConnection: keep-alive\r\n\r\n").encode()
    buf = b""
    try:
        for i in range(args.count):
            if i:
                time.sleep(args.interval)
            sock.sendall(request)
            body, buf = read_response(sock, buf)
            print(body.decode(errors="replace").strip(), flush=True)
    except (OSError, ValueError) as e:
        print(f"ERROR: request {i + 1}: {e}", flush=True)
        return 1
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
