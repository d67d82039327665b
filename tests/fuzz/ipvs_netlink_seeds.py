#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the ipvs_netlink target's seed datagrams to corpus/ipvs_netlink/: requests laid out as
libipvs (ipvsadm, keepalived) sends them, one per IPVS command, plus the malformed shapes the
emulator must refuse the kernel's way. Run from anywhere: python3 tests/fuzz/ipvs_netlink_seeds.py"""

import pathlib
import socket
import struct

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "corpus" / "ipvs_netlink"
FAMILY = 0x7FF0  # ipvs::kFamilyId
CTRL = 0x10
REQ, MULTI, ACK, DUMP = 1, 2, 4, 0x300

# IPVS_CMD_*
(NEW_SVC, SET_SVC, DEL_SVC, GET_SVC, NEW_DEST, SET_DEST, DEL_DEST, GET_DEST, NEW_DAEMON,
 DEL_DAEMON, GET_DAEMON, SET_CONFIG, GET_CONFIG, SET_INFO, GET_INFO, ZERO, FLUSH) = range(1, 18)


def attr(t, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, t) + payload + b"\0" * ((4 - n % 4) % 4)


def u8(t, v):
    return attr(t, struct.pack("=B", v))


def u16(t, v):
    return attr(t, struct.pack("=H", v))


def u32(t, v):
    return attr(t, struct.pack("=I", v))


def strz(t, s):
    return attr(t, s.encode() + b"\0")


def msg(cmd, attrs=b"", flags=REQ | ACK, seq=1, typ=FAMILY, version=1):
    body = struct.pack("=BBH", cmd, version, 0) + attrs
    return struct.pack("=IHHII", 16 + len(body), typ, flags, seq, 4242) + body


def addr16(a):
    return socket.inet_aton(a) + b"\0" * 12


def service(proto=6, vip="10.0.0.100", port=80, sched="rr", flags=0, timeout=0,
            mask="255.255.255.255", full=True):
    a = u16(1, socket.AF_INET) + u16(2, proto) + attr(3, addr16(vip)) + \
        attr(4, struct.pack("!H", port))
    if full:
        a += strz(6, sched) + attr(7, struct.pack("=II", flags, 0xFFFFFFFF)) + u32(8, timeout) + \
            attr(9, socket.inet_aton(mask))
    return attr(1, a)


def dest(rip="172.16.0.11", port=80, fwd=0, weight=1, u=0, l=0):
    a = u16(11, socket.AF_INET) + attr(1, addr16(rip)) + attr(2, struct.pack("!H", port)) + \
        u32(3, fwd) + u32(4, weight) + u32(5, u) + u32(6, l)
    return attr(2, a)


def service6(proto=6, vip="2001:db8::100", port=80, sched="rr", flags=0, timeout=0, plen=128,
             full=True):
    # AF_INET6: a 16-byte address, the netmask a plain prefix length (libipvs's u32).
    a = u16(1, socket.AF_INET6) + u16(2, proto) + \
        attr(3, socket.inet_pton(socket.AF_INET6, vip)) + attr(4, struct.pack("!H", port))
    if full:
        a += strz(6, sched) + attr(7, struct.pack("=II", flags, 0xFFFFFFFF)) + u32(8, timeout) + \
            u32(9, plen)
    return attr(1, a)


def dest6(rip="2001:db8:1::11", port=80, fwd=0, weight=1):
    a = u16(11, socket.AF_INET6) + attr(1, socket.inet_pton(socket.AF_INET6, rip)) + \
        attr(2, struct.pack("!H", port)) + u32(3, fwd) + u32(4, weight) + u32(5, 0) + u32(6, 0)
    return attr(2, a)


def daemon(state=1, ifn="eth0", syncid=1):
    return attr(3, u32(1, state) + strz(2, ifn) + u32(3, syncid))


SEEDS = {
    "getfamily_ipvs": msg(3, strz(2, "IPVS"), typ=CTRL, version=1),
    "getfamily_by_id": msg(3, u16(1, FAMILY), typ=CTRL, version=1),
    "getfamily_other": msg(3, strz(2, "nl80211"), typ=CTRL, version=1),
    "get_info": msg(GET_INFO),
    "get_config": msg(GET_CONFIG),
    "set_config": msg(SET_CONFIG, u32(4, 900) + u32(5, 120) + u32(6, 300)),
    "new_service": msg(NEW_SVC, service(sched="wlc")),
    "new_service_persistent": msg(NEW_SVC, service(17, "10.0.0.1", 53, "sh", 0x19, 600,
                                                   "255.255.255.0")),
    "set_service": msg(SET_SVC, service(sched="wrr")),
    "del_service": msg(DEL_SVC, service(full=False)),
    "get_service": msg(GET_SVC, service(full=False)),
    "dump_services": msg(GET_SVC, flags=REQ | DUMP),
    "new_dest_masq": msg(NEW_DEST, service(full=False) + dest("172.16.0.13", 8080, 0, 3)),
    "set_dest_dr": msg(SET_DEST, service(full=False) + dest(fwd=3, weight=5, u=100, l=10)),
    "del_dest": msg(DEL_DEST, service(full=False) + dest()),
    "dump_dests": msg(GET_DEST, service(full=False), flags=REQ | DUMP),
    "zero_all": msg(ZERO),
    "zero_service": msg(ZERO, service(full=False)),
    "flush": msg(FLUSH),
    "new_daemon": msg(NEW_DAEMON, daemon()),
    "del_daemon": msg(DEL_DAEMON, daemon()),
    "dump_daemons": msg(GET_DAEMON, flags=REQ | DUMP),
    "two_messages": msg(FLUSH, seq=1) + msg(GET_INFO, seq=2),
    "bad_short_u32": msg(SET_CONFIG, u16(4, 1)),
    "bad_short_nest": msg(DEL_SVC, u16(1, 1)),
    "bad_sched_no_nul": msg(NEW_SVC, attr(1, u16(1, 2) + u32(5, 1) + attr(6, b"rr"))),
    "new_service_ipv6_persistent": msg(NEW_SVC, service6(sched="rr", flags=1, timeout=60,
                                                         plen=64)),
    "new_dest_ipv6_masq": msg(NEW_DEST, service6(full=False) + dest6()),
    "new_dest_ipv4_in_ipv6_tunnel": msg(NEW_DEST, service6(full=False) + dest("10.0.0.11", 80, 2)),
    "bad_ipv6_plen": msg(NEW_SVC, service6(plen=129)),
    "bad_truncated": msg(FLUSH)[:-1],
    "bad_len_zero": struct.pack("=IHHII", 0, FAMILY, REQ, 1, 0) + b"\0" * 8,
    "bad_genl_short": struct.pack("=IHHII", 18, FAMILY, REQ | ACK, 1, 0) + b"\x0f\x01",
    # An attribute whose length runs past the message.
    "bad_attr_overrun": msg(NEW_SVC, struct.pack("=HH", 200, 1) + b"\0" * 8),
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
