#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Counts the IPv4 TCP packets an interface RECEIVES, by source address:port, until SIGTERM/SIGINT
or --seconds elapse, then prints one JSON object {"ip:port": count, ...} on stdout.

Run inside the client namespace, it shows who really answers: with NAT every reply must come from
the VIP, never from a real server's own address. Needs root (AF_PACKET).
"""
import argparse
import json
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

stop = False


def on_signal(_signo, _frame):
    global stop
    stop = True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--ready-file", help="created once the socket is bound")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((args.iface, 0))
    sock.settimeout(0.1)
    if args.ready_file:
        open(args.ready_file, "w").close()
    counts: dict[str, int] = {}
    deadline = time.monotonic() + args.seconds
    while not stop and time.monotonic() < deadline:
        try:
            frame, addr = sock.recvfrom(65535)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        if addr[2] == PACKET_OUTGOING or len(frame) < 14 + 20:
            continue
        if struct.unpack("!H", frame[12:14])[0] != 0x0800:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 6 or len(ip) < ihl + 4:
            continue
        src = socket.inet_ntoa(ip[12:16])
        sport = struct.unpack("!H", ip[ihl:ihl + 2])[0]
        key = f"{src}:{sport}"
        counts[key] = counts.get(key, 0) + 1
    print(json.dumps(counts, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
