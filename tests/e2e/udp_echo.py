#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""UDP echo for the fragmentation test (frag_test.sh).

  udp_echo.py server ADDR PORT LOG    echoes every datagram back to its sender, whole; logs the
                                      length of each one received
  udp_echo.py client VIP PORT --count N --size BYTES [--sockets K] [--timeout S]
                                      sends N datagrams of BYTES bytes (each with its own content)
                                      over K sockets in turn, each waiting for its echo; prints
                                      one line per datagram and a summary, exits 0 when every
                                      echo came back whole, byte-identical and from VIP:PORT
"""
import argparse
import socket
import sys


def server(addr, port, log):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    with open(log, "a", buffering=1) as out:
        while True:
            data, peer = s.recvfrom(65535)
            out.write(f"{len(data)} {peer[0]}:{peer[1]}\n")
            s.sendto(data, peer)


def payload(i, size):
    head = f"datagram {i} of {size} bytes;".encode()
    body = bytes((i * 31 + k * 7 + k // 251) & 0xFF for k in range(size - len(head)))
    return head + body


def client(vip, port, count, size, nsock, timeout):
    socks = []
    for _ in range(nsock):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.bind(("0.0.0.0", 0))
        socks.append(s)
    ok = 0
    for i in range(count):
        s = socks[i % nsock]
        data = payload(i, size)
        s.sendto(data, (vip, port))
        try:
            got, peer = s.recvfrom(65535)
        except socket.timeout:
            print(f"{i}: no echo within {timeout}s")
            continue
        good = got == data and peer == (vip, port)
        ok += good
        print(f"{i}: {len(got)} bytes from {peer[0]}:{peer[1]} "
              f"{'identical' if got == data else 'DIFFERENT'}")
    print(f"echoed {ok}/{count}")
    return 0 if ok == count else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    sp = sub.add_parser("server")
    sp.add_argument("addr")
    sp.add_argument("port", type=int)
    sp.add_argument("log")
    cp = sub.add_parser("client")
    cp.add_argument("vip")
    cp.add_argument("port", type=int)
    cp.add_argument("--count", type=int, default=10)
    cp.add_argument("--size", type=int, default=8000)
    cp.add_argument("--sockets", type=int, default=2)
    cp.add_argument("--timeout", type=float, default=2.0)
    a = ap.parse_args()
    if a.mode == "server":
        server(a.addr, a.port, a.log)
        return 0
    return client(a.vip, a.port, a.count, a.size, a.sockets, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
