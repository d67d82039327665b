#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the packet target's seed frames to corpus/packet/ (and the known crash to
known_crashes/packet/): real frames with valid checksums, one per class the parser tells apart.
Run from anywhere: python3 tests/fuzz/packet_seeds.py"""

import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
LB = bytes.fromhex("020000000001")      # the director's port
CLIENT = bytes.fromhex("02cc00000002")  # a client's router


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ipv4(proto, src, dst, payload, ttl=64, frag=0x4000, options=b"", ident=0x1234):
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), ident, frag, ttl,
                    proto, 0, ip4(src), ip4(dst)) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def l4(proto, src, dst, sport, dport, flags=0x02, data=b"", with_csum=True):
    if proto == 6:
        h = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 64240, 0, 0)
        off = 16
    else:
        h = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
        off = 6
    seg = h + data
    if with_csum:
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(seg))
        c = csum(pseudo + seg) or 0xFFFF
        seg = seg[:off] + struct.pack("!H", c) + seg[off + 2:]
    return seg


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF


def sctp(sport, dport, vtag, chunks):
    """SCTP common header and chunks ((type, flags, value) each, padded to 4), CRC32c stored
    least significant byte first."""
    body = b""
    for type_, flags, value in chunks:
        c = struct.pack("!BBH", type_, flags, 4 + len(value)) + value
        body += c + bytes(-len(c) % 4)
    pkt = struct.pack("!HHII", sport, dport, vtag, 0) + body
    return pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]


def eth(payload, etype=0x0800, dst=LB, src=CLIENT):
    return dst + src + struct.pack("!H", etype) + payload


def tcp_frame(src, dst, sport, dport, flags, data=b"", **kw):
    return eth(ipv4(6, src, dst, l4(6, src, dst, sport, dport, flags, data), **kw))


def icmp(type_, code, body, rest=0):
    h = struct.pack("!BBHI", type_, code, 0, rest)
    m = h + body
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def icmp_error(src, dst, quoted, type_=3, code=4, rest=1400):
    return eth(ipv4(1, src, dst, icmp(type_, code, quoted, rest), frag=0x4000))


SYN = tcp_frame("10.0.0.2", "10.0.0.100", 40000, 80, 0x02)
# The SYN as NAT sends it to the real server, for a quote of the server's ICMP error.
TO_SERVER = ipv4(6, "172.16.0.1", "172.16.0.2", l4(6, "172.16.0.1", "172.16.0.2", 40000, 8080))
REPLY = ipv4(6, "10.0.0.100", "10.0.0.2", l4(6, "10.0.0.100", "10.0.0.2", 80, 40000, 0x12))
SCTP_INIT = ipv4(132, "10.0.0.2", "10.0.0.100", sctp(40000, 5000, 0, [(1, 0, bytes(16))]))
UDP_DNS = ipv4(17, "10.0.0.2", "10.0.0.100", l4(17, "10.0.0.2", "10.0.0.100", 5353, 53,
                                                     data=b"\x12\x34\x01\x00\x00\x01" + bytes(6)))

SEEDS = {
    "tcp_syn": SYN,
    "tcp_ack_data": tcp_frame("10.0.0.2", "10.0.0.100", 40000, 80, 0x18, b"GET / HTTP/1.0\r\n\r\n"),
    "tcp_fin": tcp_frame("10.0.0.2", "10.0.0.100", 40000, 80, 0x11),
    "tcp_rst_ttl1": tcp_frame("10.0.0.2", "10.0.0.100", 40000, 80, 0x04, ttl=1),
    "tcp_ip_options": tcp_frame("10.0.0.2", "10.0.0.100", 40001, 80, 0x02,
                                options=bytes.fromhex("94040000")),  # router alert
    "tcp_first_fragment": eth(ipv4(6, "10.0.0.2", "10.0.0.100",
                                   l4(6, "10.0.0.2", "10.0.0.100", 40002, 80, 0x18, b"x" * 24),
                                   frag=0x2000)),
    "tcp_later_fragment": eth(ipv4(6, "10.0.0.2", "10.0.0.100", b"y" * 16, frag=0x0005)),
    "tcp_server_reply": eth(REPLY, dst=LB, src=bytes.fromhex("02aa00000002")),
    "tcp_syn_padded_to_60": SYN + bytes(60 - len(SYN)),
    "udp_dns": eth(UDP_DNS),
    "udp_no_checksum": eth(ipv4(17, "10.0.0.2", "10.0.0.100",
                                l4(17, "10.0.0.2", "10.0.0.100", 5000, 53, data=b"q",
                                   with_csum=False))),
    "sctp_init": eth(SCTP_INIT),
    "sctp_cookie_echo_then_abort": eth(ipv4(132, "10.0.0.2", "10.0.0.100",
                                            sctp(40000, 5000, 7, [(10, 0, b"cookie"),
                                                                  (6, 0, b"")]))),
    "icmp_frag_needed_quoting_sctp": icmp_error("10.0.0.2", "10.0.0.100", SCTP_INIT[:48]),
    "icmp_echo": eth(ipv4(1, "10.0.0.2", "10.0.0.100", icmp(8, 0, b"ping" * 8, 0x00010001))),
    # Errors quoting the whole TCP header, and UDP's 8 bytes (which hold its checksum).
    "icmp_frag_needed_full_tcp": icmp_error("10.0.0.2", "10.0.0.100", REPLY[:40]),
    "icmp_port_unreach_udp": icmp_error("172.16.0.2", "172.16.0.1",
                                        ipv4(17, "172.16.0.1", "172.16.0.2",
                                             l4(17, "172.16.0.1", "172.16.0.2", 5353, 53))[:28],
                                        code=3, rest=0),
    "icmp_time_exceeded_from_server": icmp_error("172.16.0.2", "10.0.0.2", TO_SERVER[:40],
                                                 type_=11, code=0, rest=0),
    "icmp_error_quoting_icmp": icmp_error("10.0.0.2", "10.0.0.100",
                                          ipv4(1, "10.0.0.100", "10.0.0.2", icmp(0, 0, b""))),
    "arp_request": eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, CLIENT,
                                   ip4("10.0.0.2"), bytes(6), ip4("10.0.0.100")),
                       etype=0x0806, dst=b"\xff" * 6),
    "arp_reply": eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, CLIENT, ip4("10.0.0.2"),
                                 LB, ip4("10.0.0.1")), etype=0x0806),
    "gre_other_proto": eth(ipv4(47, "10.0.0.2", "10.0.0.100", bytes(4))),
    "ipv6": eth(bytes.fromhex("6000000000083a40") + bytes(32) + bytes(8), etype=0x86DD),
    "vlan_tagged": eth(struct.pack("!HH", 10, 0x0800) + SYN[14:], etype=0x8100),
    "runt_ip": SYN[:30],
}

# From the reliability issue: an ICMP error quoting an IPv4 header plus only 8 transport bytes
# (RFC 792's minimum). The NAT rewrite of the quoted TCP header touches its checksum at offset
# 16, past the end of the frame.
KNOWN = {
    "icmp_error_quote_8_bytes": bytes.fromhex(
        "020000000001 02cc00000002 0800 4500 0038 1234 4000 4001 142c 0a000002 0a000064"
        " 0304 570a 00000578 4500 0028 1234 4000 4006 1437 0a000064 0a000002 0050 a028 00000001"
        .replace(" ", "")),
}

for d, seeds in ((HERE / "corpus" / "packet", SEEDS),
                 (HERE / "known_crashes" / "packet", KNOWN)):
    d.mkdir(parents=True, exist_ok=True)
    for name, frame in seeds.items():
        (d / name).write_bytes(frame)
