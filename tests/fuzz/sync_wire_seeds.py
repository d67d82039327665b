#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the sync_wire target's seed datagrams to corpus/sync_wire/: IPVS sync messages laid out
as the kernel's master sends them (net/netfilter/ipvs/ip_vs_sync.c: v1 header, IPv4 and IPv6
records, the sequence, PE data and PE name options, padding before each record but the first),
one v0 message, and the malformed shapes the decoder must refuse. Independent of sync/wire.cpp.
Run from anywhere: python3 tests/fuzz/sync_wire_seeds.py"""

import ipaddress
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "corpus" / "sync_wire"
TCP, UDP = 6, 17
TEMPLATE, INACTIVE, SEQ = 0x1000, 0x100, 0x600
DROUTE = 3


def ip(s):
    return ipaddress.ip_address(s).packed


def record(proto, flags, state, cport, vport, dport, c, v, d, timeout=900, fwmark=0,
           seq=None, pe_data=b"", pe_name=b""):
    v6 = len(ip(c)) == 16
    body = struct.pack("!IHHHHII", flags, state, cport, vport, dport, fwmark, timeout)
    body += ip(c) + ip(v) + ip(d)
    opts = b""
    if seq is not None:
        opts += bytes([1, 24]) + struct.pack("!6I", *seq)
    if pe_data:
        opts += bytes([2, len(pe_data)]) + pe_data
        if pe_name:
            opts += bytes([3, len(pe_name)]) + pe_name
    size = 4 + len(body) + len(opts)
    return struct.pack("!BBH", 1 if v6 else 0, proto, size) + body + opts


def message(records, syncid=7):
    out = b""
    for r in records:
        out += b"\0" * ((4 - (8 + len(out)) % 4) % 4) + r
    return struct.pack("!BBHBBH", 0, syncid, 8 + len(out), len(records), 1, 0) + out


def v0_message(records, syncid=7):
    body = b"".join(records)
    return struct.pack("!BBH", len(records), syncid, 4 + len(body)) + body


def v0_record(proto, flags, state, cport, vport, dport, c, v, d, seq=None):
    r = struct.pack("!BBHHH", 0, proto, cport, vport, dport) + ip(c) + ip(v) + ip(d)
    r += struct.pack("!HH", flags, state)
    if seq is not None:
        r += struct.pack("<6I", *seq)  # the sender's memory, little-endian
    return r


def patch(b, at, value):
    b = bytearray(b)
    b[at] = value
    return bytes(b)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    est = record(TCP, 0, 1, 40000, 80, 8080, "192.0.2.10", "198.51.100.1", "10.1.0.2")
    syn = record(TCP, INACTIVE, 3, 40001, 80, 8080, "192.0.2.11", "198.51.100.1", "10.1.0.3", 60)
    tpl = record(TCP, TEMPLATE, 0, 0, 80, 8080, "192.0.2.10", "198.51.100.1", "10.1.0.2", 300)
    ftp = record(TCP, SEQ, 1, 40002, 21, 21, "192.0.2.12", "198.51.100.1", "10.1.0.2",
                 seq=(0x11223344, 5, 0, 0x55667788, 0xFFFFFFFB, 3))
    v6 = record(UDP, DROUTE, 0, 53000, 53, 53, "2001:db8::10", "2001:db8:1::1", "2001:db8:2::2",
                300, fwmark=42)
    sip = record(UDP, TEMPLATE, 0, 0, 5060, 5060, "192.0.2.20", "198.51.100.2", "10.1.0.5", 360,
                 pe_data=b"a84b4c76e66710", pe_name=b"sip")
    udp = record(UDP, 0, 0, 5060, 5060, 5060, "192.0.2.20", "198.51.100.2", "10.1.0.5", 300)
    two = message([est, syn])
    seeds = {
        "v1_two_tcp_nat": two,
        "v1_template": message([tpl]),
        "v1_seq_padded": message([ftp, est]),
        "v1_v6_udp": message([v6]),
        "v1_pe_sip_padded": message([sip, udp]),
        "v1_empty": message([]),
        "v1_mixed_syncid_9": message([v6, ftp, sip, tpl, est], syncid=9),
        "v1_255_records": message([est] * 255),
        "v1_optional_unknown_option": message([est[:3] + bytes([40]) + est[4:] + b"\x44\x02ab"]),
        "v0_two_tcp": v0_message([
            v0_record(TCP, 0, 1, 40000, 80, 8080, "192.0.2.10", "198.51.100.1", "10.1.0.2"),
            v0_record(TCP, SEQ, 1, 40002, 21, 21, "192.0.2.12", "198.51.100.1", "10.1.0.2",
                      seq=(0x11223344, 5, 0, 0x55667788, 0xFFFFFFFB, 3)),
        ]),
        "bad_truncated": two[:50],
        "bad_size": patch(two, 3, 81),
        "bad_version": patch(two, 5, 2),
        "bad_reserved": patch(two, 0, 1),
        "bad_record_version": patch(two, 46, 0x10),
        "bad_record_overrun": patch(two, 47, 40),
        "bad_seq_length": patch(message([ftp, est]), 45, 23),
        "bad_duplicate_pe_name": patch(message([sip, udp]), 44, 3),
        "bad_tcp_state_11": patch(two, 53, 11),
        "bad_unknown_option": message([est[:3] + bytes([40]) + est[4:] + b"\x04\x02ab"]),
        "bad_pe_data_without_name": patch(message([sip, udp]), 60, 0x44),
        "bad_v0_truncated": v0_message([
            v0_record(TCP, SEQ, 1, 40002, 21, 21, "192.0.2.12", "198.51.100.1", "10.1.0.2"),
        ]),
    }
    for name, data in seeds.items():
        (OUT / name).write_bytes(data)


if __name__ == "__main__":
    main()
