#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers of tests/e2e/control_storm_test.sh: a rule-change storm against the real daemon while
established traffic runs, a latency prober and hostile clients on the control socket.

Every mode prints one JSON object on stdout when it ends (the shell script asserts on it):
  udp-echo ADDR PORT NAME     echo server: answers each datagram with "NAME " + datagram
  udp VIP PORT                numbered datagrams on a few fixed flows, every reply counted
  tcp VIP PORT                keep-alive HTTP connections doing back-to-back requests
  storm SOCK PART             paced rule changes (AddService ... Batch) on one connection,
                              checked against a model; prints the expected `dirigoadm -S -n`
  probe SOCK                  Ping/List latency on a held connection and on fresh ones
  hostile SOCK                idle, half-frame, half-header, non-reading and oversize clients

The control protocol is written from docs/control-protocol.md (frame, ops, error codes).
"""
import argparse
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time

MAGIC = 0x4F475244
VERSION = 4  # proto/protocol.hpp kVersion
HDR = struct.Struct("<IHHI")
MAX_PAYLOAD = 16 << 20

OP_PING, OP_ADD_SVC, OP_EDIT_SVC, OP_DEL_SVC = 0, 1, 2, 3
OP_ADD_DEST, OP_EDIT_DEST, OP_DEL_DEST = 5, 6, 7
OP_LIST, OP_BATCH = 11, 13
OK, NO_SERVICE, SERVICE_EXISTS, NO_DEST, DEST_EXISTS, PROTOCOL = 0, 2, 3, 4, 5, 8
TCP, UDP = 6, 17


def ip(s: str) -> int:
    a, b, c, d = (int(x) for x in s.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def ipstr(n: int) -> str:
    return "%d.%d.%d.%d" % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def frame(payload: bytes) -> bytes:
    return HDR.pack(MAGIC, VERSION, 1, len(payload)) + payload


def svc_key(proto: int, addr: int, port: int, fwmark: int = 0) -> bytes:
    # protocol, address, port, then (version 3) the firewall mark, 0 for an address service,
    # then (version 4) the family (4) and the IPv6 address (16 zero bytes for IPv4).
    return struct.pack("<BIHIB16s", proto, addr, port, fwmark, 4, bytes(16))


def service(key: tuple, sched: str) -> bytes:
    s = sched.encode()
    # flags, timeout, netmask, then (version 4) the IPv6 persistence prefix length.
    tail = struct.pack("<IIIB", 0, 300, 0xFFFFFFFF, 128)
    return svc_key(*key) + struct.pack("<I", len(s)) + s + tail


def real_server(addr: int, port: int, weight: int, uth: int = 0) -> bytes:
    # addr, port, fwd (masquerading), weight, u_threshold, l_threshold, then (version 2) the
    # tunnel type, port and checksum option, all 0 for a NAT server; then (version 4) the family
    # (4) and the IPv6 address (zeros).
    return struct.pack("<IHBiIIBHBB16s", addr, port, 0, weight, uth, 0, 0, 0, 0, 4, bytes(16))


def body_ping() -> bytes:
    return struct.pack("<H", OP_PING)


def body_list() -> bytes:
    return struct.pack("<HB", OP_LIST, 0)


def percentiles(xs: list) -> dict:
    if not xs:
        return {"n": 0}
    s = sorted(xs)

    def p(q: float) -> float:
        return round(s[min(len(s) - 1, int(q * len(s)))] * 1000, 3)

    return {"n": len(s), "p50_ms": p(0.50), "p99_ms": p(0.99), "max_ms": round(s[-1] * 1000, 3)}


class Conn:
    """A control connection: whole frames out, whole reply frames in (code and message only)."""

    def __init__(self, path: str, timeout: float = 5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def send(self, payload: bytes) -> None:
        self.s.sendall(frame(payload))

    def replies(self) -> list:
        """Parses every whole reply frame in the buffer: [(code, message)]."""
        out = []
        while len(self.buf) >= HDR.size:
            magic, ver, typ, length = HDR.unpack_from(self.buf)
            if magic != MAGIC or ver != VERSION or typ != 2:
                raise ValueError(f"bad reply header {self.buf[:12].hex()}")
            if len(self.buf) < HDR.size + length:
                break
            p = self.buf[HDR.size:HDR.size + length]
            self.buf = self.buf[HDR.size + length:]
            code, mlen = struct.unpack_from("<II", p)
            out.append((code, p[8:8 + mlen].decode(errors="replace")))
        return out

    def recv_some(self) -> bool:
        chunk = self.s.recv(1 << 16)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def call(self, payload: bytes) -> tuple:
        self.send(payload)
        while True:
            r = self.replies()
            if r:
                return r[0]
            if not self.recv_some():
                raise ConnectionError("daemon closed the connection")


def emit(obj: dict) -> None:
    print(json.dumps(obj, sort_keys=True), flush=True)


# ---- traffic ----

def mode_udp_echo(a) -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((a.addr, a.port))
    n = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    prefix = a.name.encode() + b" "
    while not stop:
        try:
            data, peer = s.recvfrom(2048)
        except InterruptedError:
            continue
        n += 1
        s.sendto(prefix + data, peer)
    emit({"echoed": n})
    return 0


def mode_udp(a) -> int:
    """F flows (fixed source ports), datagrams numbered per flow, paced; every reply counted."""
    flows = []
    for f in range(a.flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        s.bind(("0.0.0.0", 0))
        s.connect((a.vip, a.port))
        s.setblocking(False)
        flows.append(s)
    sent = [0] * a.flows
    got = [set() for _ in range(a.flows)]
    dup = 0
    servers = [set() for _ in range(a.flows)]
    bad = 0
    by_fd = {s.fileno(): i for i, s in enumerate(flows)}

    def drain(wait: float) -> None:
        nonlocal dup, bad
        r, _, _ = select.select(flows, [], [], wait)
        for s in r:
            i = by_fd[s.fileno()]
            while True:
                try:
                    data = s.recv(2048)
                except BlockingIOError:
                    break
                except ConnectionRefusedError:
                    bad += 1
                    break
                parts = data.split()
                if len(parts) != 4 or int(parts[2]) != i:
                    bad += 1
                    continue
                seq = int(parts[3])
                if seq in got[i]:
                    dup += 1
                got[i].add(seq)
                servers[i].add(parts[0].decode())

    start = time.monotonic()
    end = start + a.seconds
    total = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * a.rate)
        while total < due:
            i = total % a.flows
            flows[i].send(b"x %d %d" % (i, sent[i]))
            sent[i] += 1
            total += 1
        drain(0.002)
    # Replies still in flight: wait until all are in or the grace period ends.
    grace_end = time.monotonic() + a.grace
    while time.monotonic() < grace_end and sum(len(g) for g in got) < total:
        drain(0.05)
    received = sum(len(g) for g in got)
    emit({
        "sent": total, "received": received, "lost": total - received, "duplicates": dup,
        "malformed": bad, "flows": a.flows, "servers_per_flow": [sorted(x) for x in servers],
        "seconds": round(time.monotonic() - start, 2),
    })
    return 0


def read_response(sock: socket.socket, buf: bytes) -> tuple:
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed while reading headers")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"status {lines[0]!r}")
    length = None
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    if length is None:
        raise ConnectionError("no Content-Length")
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed while reading the body")
        rest += chunk
    return rest[:length], rest[length:]


def mode_tcp(a) -> int:
    """C keep-alive connections, each doing back-to-back requests; a failure ends it."""
    results = []
    lock = threading.Lock()
    end = time.monotonic() + a.seconds

    def run(k: int) -> None:
        ok, servers, err = 0, set(), ""
        try:
            s = socket.create_connection((a.vip, a.port), timeout=5)
            req = f"GET / HTTP/1.1\r\nHost: {a.vip}\r\nConnection: keep-alive\r\n\r\n".encode()
            buf = b""
            while time.monotonic() < end:
                s.sendall(req)
                body, buf = read_response(s, buf)
                servers.add(body.decode(errors="replace").strip())
                ok += 1
                if a.interval:
                    time.sleep(a.interval)
            s.close()
        except (OSError, ValueError) as e:
            err = f"connection {k} after {ok} requests: {e}"
        with lock:
            results.append({"ok": ok, "servers": sorted(servers), "error": err})

    threads = [threading.Thread(target=run, args=(k,)) for k in range(a.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    emit({
        "requests": sum(r["ok"] for r in results),
        "failed": sum(1 for r in results if r["error"]),
        "errors": [r["error"] for r in results if r["error"]],
        "servers_per_conn": [r["servers"] for r in results],
    })
    return 0


# ---- the storm ----

class Model:
    """The rules one storm process owns: its own services, and its extra weight-0 real servers
    on one live service. Its keys never overlap another process's, so the order in which the
    daemon interleaves two storm connections cannot change the final state."""

    SCHEDS = ["rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq"]

    def __init__(self, part: int, live: tuple, seed: int):
        self.rng = random.Random(seed)
        self.part = part
        self.proto = TCP if part == 0 else UDP
        self.live = live                       # (proto, addr, port) of the live service
        self.svcs = {}                         # key -> [sched, {dest_addr: weight}]
        self.live_dests = {}                   # dest addr -> u_threshold (weight 0)
        self.free_keys = [(self.proto, ip(f"10.{1 + part}.0.0") + i, 80 if part == 0 else 53)
                          for i in range(1, 41)]
        self.dest_pool = [ip(f"172.16.{3 + part}.0") + i for i in range(1, 9)]
        self.live_pool = [ip("172.16.0.0") + 100 + 20 * part + i for i in range(1, 13)]

    def dport(self, key: tuple) -> int:
        return key[2]

    def next(self) -> tuple:
        """The next request: (payload, expected code, changes it makes, apply)."""
        r = self.rng.random()
        rng = self.rng
        if r < 0.04:
            # Expected error: a service nobody has.
            key = (self.proto, ip("10.9.9.9") + self.part, 1)
            return body(OP_DEL_SVC, svc_key(*key)), NO_SERVICE, 0, None
        if r < 0.07 and self.svcs:
            key = rng.choice(list(self.svcs))
            dests = self.svcs[key][1]
            if dests:
                d = rng.choice(list(dests))
                return (body(OP_ADD_DEST, svc_key(*key) + real_server(d, self.dport(key), 1)),
                        DEST_EXISTS, 0, None)
        if r < 0.10 and self.free_keys:
            # A Batch that fails on its last element: nothing of it may be applied.
            key = rng.choice(self.free_keys)
            d = rng.choice(self.dest_pool)
            elems = [
                struct.pack("<H", OP_ADD_SVC) + service(key, "rr"),
                struct.pack("<H", OP_ADD_DEST) + svc_key(*key) + real_server(d, key[2], 3),
                struct.pack("<H", OP_DEL_SVC) + svc_key(self.proto, ip("10.9.9.9") + self.part, 1),
            ]
            return batch(elems), NO_SERVICE, 0, None
        if r < 0.14 and self.free_keys:
            # A Batch that succeeds: a service and two real servers, all at once.
            key = rng.choice(self.free_keys)
            sched = rng.choice(self.SCHEDS)
            d1, d2 = rng.sample(self.dest_pool, 2)
            w1, w2 = rng.randint(0, 9), rng.randint(0, 9)
            elems = [
                struct.pack("<H", OP_ADD_SVC) + service(key, sched),
                struct.pack("<H", OP_ADD_DEST) + svc_key(*key) + real_server(d1, key[2], w1),
                struct.pack("<H", OP_ADD_DEST) + svc_key(*key) + real_server(d2, key[2], w2),
            ]

            def apply() -> None:
                self.free_keys.remove(key)
                self.svcs[key] = [sched, {d1: w1, d2: w2}]
            return batch(elems), OK, 3, apply
        if r < 0.34:
            # The live service: add, edit or delete one of this process's weight-0 servers.
            k = self.live
            free = [d for d in self.live_pool if d not in self.live_dests]
            c = rng.random()
            if (c < 0.45 or not self.live_dests) and free:
                d = rng.choice(free)

                def apply() -> None:
                    self.live_dests[d] = 0
                return body(OP_ADD_DEST, svc_key(*k) + real_server(d, k[2], 0)), OK, 1, apply
            if self.live_dests:
                d = rng.choice(list(self.live_dests))
                if c < 0.75:
                    uth = rng.randint(0, 1000)

                    def apply() -> None:
                        self.live_dests[d] = uth
                    return (body(OP_EDIT_DEST, svc_key(*k) + real_server(d, k[2], 0, uth)), OK, 1,
                            apply)

                def apply() -> None:
                    del self.live_dests[d]
                return body(OP_DEL_DEST, svc_key(*k) + real_server(d, k[2], 0)), OK, 1, apply
        c = rng.random()
        if (c < 0.25 or not self.svcs) and self.free_keys:
            key = rng.choice(self.free_keys)
            sched = rng.choice(self.SCHEDS)

            def apply() -> None:
                self.free_keys.remove(key)
                self.svcs[key] = [sched, {}]
            return body(OP_ADD_SVC, service(key, sched)), OK, 1, apply
        key = rng.choice(list(self.svcs))
        sched, dests = self.svcs[key]
        if c < 0.35:
            def apply() -> None:
                del self.svcs[key]
                self.free_keys.append(key)
            return body(OP_DEL_SVC, svc_key(*key)), OK, 1, apply
        if c < 0.45:
            ns = rng.choice(self.SCHEDS)

            def apply() -> None:
                self.svcs[key][0] = ns
            return body(OP_EDIT_SVC, service(key, ns)), OK, 1, apply
        free = [d for d in self.dest_pool if d not in dests]
        if (c < 0.70 or not dests) and free:
            d, w = rng.choice(free), rng.randint(0, 9)

            def apply() -> None:
                dests[d] = w
            return body(OP_ADD_DEST, svc_key(*key) + real_server(d, key[2], w)), OK, 1, apply
        if not dests:
            return body(OP_EDIT_SVC, service(key, sched)), OK, 1, None
        d = rng.choice(list(dests))
        if c < 0.85:
            w = rng.randint(0, 9)

            def apply() -> None:
                dests[d] = w
            return body(OP_EDIT_DEST, svc_key(*key) + real_server(d, key[2], w)), OK, 1, apply

        def apply() -> None:
            del dests[d]
        return body(OP_DEL_DEST, svc_key(*key) + real_server(d, key[2], 0)), OK, 1, apply

    def save_lines(self) -> list:
        """What `dirigoadm -S -n` prints for this process's rules (cli/format.cpp)."""
        sw = "-t" if self.proto == TCP else "-u"
        out = []
        for key, (sched, dests) in self.svcs.items():
            v = f"{ipstr(key[1])}:{key[2]}"
            out.append(f"-A {sw} {v} -s {sched}")
            for d, w in dests.items():
                out.append(f"-a {sw} {v} -r {ipstr(d)}:{key[2]} -m -w {w}")
        lk = self.live
        lsw = "-t" if lk[0] == TCP else "-u"
        for d in self.live_dests:
            out.append(f"-a {lsw} {ipstr(lk[1])}:{lk[2]} -r {ipstr(d)}:{lk[2]} -m -w 0")
        return out


def body(op: int, fields: bytes) -> bytes:
    return struct.pack("<H", op) + fields


def batch(elems: list) -> bytes:
    return struct.pack("<HI", OP_BATCH, len(elems)) + b"".join(elems)


def mode_storm(a) -> int:
    vip = ip(a.vip)
    live = (TCP, vip, 80) if a.part == 0 else (UDP, vip, a.udp_port)
    m = Model(a.part, live, a.seed + a.part)
    c = Conn(a.socket, timeout=10)
    c.s.setblocking(False)
    pending = []          # FIFO of (sent_at, expected, changes, apply, desc)
    sent = answered = changes = 0
    wrong = []
    lat = []
    out = b""
    start = time.monotonic()
    end = start + a.seconds
    while True:
        now = time.monotonic()
        sending = now < end
        if not sending and not pending and not out:
            break
        if now > end + 30:
            wrong.append(f"{len(pending)} requests unanswered 30 s after the storm")
            break
        if sending:
            due = int((now - start) * a.rate)
            while sent < due and len(pending) < a.window:
                payload, exp, n, apply = m.next()
                # The model moves at send time: the daemon applies one connection's requests in
                # order, so the next request is generated against the state this one leaves.
                if apply is not None:
                    apply()
                pending.append((time.monotonic(), exp, n, payload[:2]))
                out += frame(payload)
                sent += 1
        r, w, _ = select.select([c.s], [c.s] if out else [], [], 0.001)
        if w:
            try:
                k = c.s.send(out)
                out = out[k:]
            except BlockingIOError:
                pass
        if r:
            try:
                if not c.recv_some():
                    wrong.append("daemon closed the storm connection")
                    break
            except BlockingIOError:
                pass
            t = time.monotonic()
            for code, msg in c.replies():
                at, exp, n, op = pending.pop(0)
                answered += 1
                lat.append(t - at)
                if code != exp:
                    if len(wrong) < 10:
                        wrong.append(f"op {struct.unpack('<H', op)[0]}: code {code} ({msg}), "
                                     f"expected {exp}")
                    else:
                        wrong.append("...")
                elif code == OK:
                    changes += n
    elapsed = time.monotonic() - start
    emit({
        "part": a.part, "requests": sent, "answered": answered, "changes": changes,
        "seconds": round(elapsed, 2), "storm_seconds": a.seconds,
        "changes_per_s": round(changes / a.seconds, 1),
        "requests_per_s": round(sent / a.seconds, 1),
        "wrong": wrong, "reply_latency": percentiles(lat),
        "expected": sorted(m.save_lines()),
    })
    return 0


# ---- the prober ----

def mode_probe(a) -> int:
    held = Conn(a.socket, timeout=10)
    lat_held, lat_fresh, errors = [], [], []
    end = time.monotonic() + a.seconds
    k = 0
    while time.monotonic() < end:
        payload = body_list() if k % 2 else body_ping()
        t = time.monotonic()
        try:
            code, msg = held.call(payload)
            lat_held.append(time.monotonic() - t)
            if code != OK:
                errors.append(f"held: code {code} {msg}")
        except (OSError, ValueError) as e:
            errors.append(f"held: {e}")
            break
        if k % 10 == 0:
            t = time.monotonic()
            try:
                f = Conn(a.socket, timeout=10)
                code, msg = f.call(body_ping())
                f.s.close()
                lat_fresh.append(time.monotonic() - t)
                if code != OK:
                    errors.append(f"fresh: code {code} {msg}")
            except (OSError, ValueError) as e:
                errors.append(f"fresh: {e}")
        k += 1
        time.sleep(a.interval)
    emit({"held": percentiles(lat_held), "fresh": percentiles(lat_fresh),
          "all": percentiles(lat_held + lat_fresh), "errors": errors[:10]})
    return 0


# ---- hostile clients ----

def still_open(s: socket.socket) -> bool:
    """True when the daemon has neither closed the connection nor sent anything on it."""
    s.setblocking(False)
    try:
        data = s.recv(1)
        return False  # closed (b"") or answered: either way not an idle connection
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)


def mode_hostile(a) -> int:
    res = {"errors": []}
    idle = []
    for _ in range(a.idle):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(a.socket)
        idle.append(s)
    ping = frame(body_ping())
    half_frame = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    half_frame.connect(a.socket)
    half_frame.sendall(ping[:13])            # the header and one of the payload's two bytes
    half_header = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    half_header.connect(a.socket)
    half_header.sendall(ping[:6])
    # A client that sends many requests and reads no reply until the end.
    nonreader = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    nonreader.connect(a.socket)
    nonreader.setblocking(False)
    nr_out = ping * a.unread
    oversize = []
    end = time.monotonic() + a.seconds
    next_over = time.monotonic()
    while time.monotonic() < end:
        if nr_out:
            try:
                k = nonreader.send(nr_out)
                nr_out = nr_out[k:]
            except BlockingIOError:
                pass
        if time.monotonic() >= next_over:
            # A header announcing more than 16 MiB: a Protocol reply, then the daemon closes.
            next_over += a.oversize_every
            t = time.monotonic()
            s = Conn(a.socket, timeout=5)
            try:
                s.s.sendall(HDR.pack(MAGIC, VERSION, 1, MAX_PAYLOAD + 1) + b"\0" * 64)
                got = None
                while got is None:
                    r = s.replies()
                    if r:
                        got = r[0]
                    elif not s.recv_some():
                        break
                closed = False
                if got is not None:
                    closed = not s.recv_some() and not s.buf
                oversize.append({"code": got[0] if got else None, "closed": closed,
                                 "s": time.monotonic() - t})
            except (OSError, ValueError) as e:
                oversize.append({"code": None, "closed": False, "error": str(e),
                                 "s": time.monotonic() - t})
            s.s.close()
        time.sleep(0.02)
    res["idle_open"] = sum(1 for s in idle if still_open(s))
    res["idle"] = a.idle
    res["half_frame_open"] = still_open(half_frame)
    res["half_header_open"] = still_open(half_header)
    # The stalled clients finish their frames: each gets its Ping answered.
    for name, s, rest in (("half_frame", half_frame, ping[13:]),
                          ("half_header", half_header, ping[6:])):
        c = Conn.__new__(Conn)
        c.s, c.buf = s, b""
        s.settimeout(5)
        try:
            s.sendall(rest)
            while not c.buf or not c.replies():
                if not c.recv_some():
                    raise ConnectionError("closed")
            res[name + "_answered"] = True
        except (OSError, ValueError) as e:
            res[name + "_answered"] = False
            res["errors"].append(f"{name}: {e}")
    # The non-reader finally reads: every one of its requests is answered, in order.
    nonreader.setblocking(True)
    nonreader.settimeout(10)
    c = Conn.__new__(Conn)
    c.s, c.buf = nonreader, b""
    n_ok = 0
    res["unread_sent_before_end"] = a.unread - (len(nr_out) + len(ping) - 1) // len(ping)
    try:
        if nr_out:
            threading.Thread(target=nonreader.sendall, args=(nr_out,), daemon=True).start()
        while n_ok < a.unread:
            for code, _ in c.replies():
                n_ok += code == OK
            if n_ok >= a.unread:
                break
            if not c.recv_some():
                break
    except (OSError, ValueError) as e:
        res["errors"].append(f"non-reader: {e}")
    res["unread"] = a.unread
    res["unread_answered_ok"] = n_ok
    res["oversize"] = len(oversize)
    res["oversize_refused"] = sum(1 for o in oversize if o["code"] == PROTOCOL and o["closed"])
    res["oversize_max_ms"] = round(max((o["s"] for o in oversize), default=0) * 1000, 3)
    bad = [o for o in oversize if not (o["code"] == PROTOCOL and o["closed"])]
    if bad:
        res["errors"].append(f"oversize: {bad[:3]}")
    for s in idle:
        s.close()
    emit(res)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("udp-echo")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("name")
    p = sub.add_parser("udp")
    p.add_argument("vip")
    p.add_argument("port", type=int)
    p.add_argument("--flows", type=int, default=4)
    p.add_argument("--rate", type=float, default=400, help="datagrams per second, all flows")
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--grace", type=float, default=3)
    p = sub.add_parser("tcp")
    p.add_argument("vip")
    p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, default=3)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--interval", type=float, default=0.0)
    p = sub.add_parser("storm")
    p.add_argument("socket")
    p.add_argument("part", type=int, choices=[0, 1])
    p.add_argument("--vip", default="10.0.0.100")
    p.add_argument("--udp-port", type=int, default=5353)
    p.add_argument("--rate", type=float, default=750, help="requests per second")
    p.add_argument("--seconds", type=float, default=12)
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--seed", type=int, default=int(os.environ.get("STORM_SEED", "1")))
    p = sub.add_parser("probe")
    p.add_argument("socket")
    p.add_argument("--seconds", type=float, default=14)
    p.add_argument("--interval", type=float, default=0.005)
    p = sub.add_parser("hostile")
    p.add_argument("socket")
    p.add_argument("--seconds", type=float, default=14)
    p.add_argument("--idle", type=int, default=16)
    p.add_argument("--unread", type=int, default=50000)
    p.add_argument("--oversize-every", type=float, default=0.5)
    a = ap.parse_args()
    return {"udp-echo": mode_udp_echo, "udp": mode_udp, "tcp": mode_tcp, "storm": mode_storm,
            "probe": mode_probe, "hostile": mode_hostile}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
