#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end 802.1Q VLAN test (docs/forwarding.md, "VLANs"): a client on VLAN 100 of the
# director's trunk port reaches a NAT service whose VIP is an address of that VLAN.
#
#   client 10.1.0.2 (untagged) -- vlan_bridge (tags 100) == trunk == ext0 (dirigo: ext, ext.100)
#       VIP 10.1.0.100:80 on ext.100 (rr, masq) --> int: 172.16.0.11:80 "web1", 172.16.0.12 "web2"
#
# This kernel has no 8021q module and no tc vlan action, so the client's side of the trunk is a
# user-space access port: tests/e2e/vlan_bridge.c, in a namespace of its own between the client's
# link and the trunk veth. Checks: the director's VLAN interface is mirrored in the kernel (tap
# ext.100 with its addresses); ping to the VLAN's address answers (through that tap); 20 requests
# to the VIP alternate web1/web2 10/10; every TCP packet the client receives comes from the VIP;
# the trunk carried the client's traffic tagged both ways and nothing of other VLANs; a frame of a
# VLAN the port does not carry is counted as unknown_vlan; dirigo stops cleanly.
#
# Usage: vlan_test.sh [DIRIGO [DIRIGOADM [VLAN_BRIDGE]]]  (or the DIRIGO, DIRIGOADM, VLAN_BRIDGE
#        environment variables; defaults: build/dirigo, build/dirigoadm,
#        build/tests/e2e/vlan_bridge). One worker by default; two, with software hand-off:
#        VLAN_LCORES="0@0,1@1,2@0" DIRIGO_AFP_ARGS=",qpairs=2".
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_vlan
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"

t_init_bins "${1:-}" "${2:-}"
VLAN_BRIDGE=${3:-${VLAN_BRIDGE:-$ROOT/build/tests/e2e/vlan_bridge}}
[[ -x $VLAN_BRIDGE ]] || {
    echo "FAIL: $VLAN_BRIDGE is not built"
    exit 1
}
PY=$(world_python)

VID=100
VLAN_IP=10.1.0.1
CLIENT_IP=10.1.0.2
W_VIP=10.1.0.100  # the VIP is an address of the VLAN (world_curl and t_curl_n use it)

# vlan_veth NS_A IF_A NS_B IF_B: world_veth, plus the VLAN offloads off where the driver allows,
# so that what af_packet and the bridge see is what is on the wire.
vlan_veth() {
    world_veth "$@"
    world_exec "$1" ethtool -K "$2" rxvlan off txvlan off >/dev/null 2>&1 || true
    world_exec "$3" ethtool -K "$4" rxvlan off txvlan off >/dev/null 2>&1 || true
}

world_install_trap
world_create 2
# Re-plumb the client's side: client eth0 -- brg/acc, brg/trunk -- director ext0. The bridge's
# namespace takes W_NS_WAN's place (unused in this topology), so world_destroy removes it.
W_NS_WAN="$W_ID-brg"
world_new_ns "$W_NS_WAN"
ip -n "$W_NS_CLI" link del eth0  # its peer, the director's ext0, goes with it
vlan_veth "$W_NS_CLI" eth0 "$W_NS_WAN" acc
vlan_veth "$W_NS_DIR" ext0 "$W_NS_WAN" trunk
# world_isolate_port's blackhole rule names ext0 and still applies; the sysctl is per device.
world_exec "$W_NS_DIR" sysctl -qw net.ipv4.conf.ext0.arp_ignore=8
ip -n "$W_NS_CLI" addr add "$CLIENT_IP/24" dev eth0
ip -n "$W_NS_CLI" route add default via "$VLAN_IP"

# The bridge, its pid recorded from inside the namespace (ip netns exec may fork).
ip netns exec "$W_NS_WAN" sh -c 'echo $$ >"$1"; exec "$2" acc trunk "$3" 240' sh \
    "$W_TMP/bridge.pid" "$VLAN_BRIDGE" "$VID" >"$W_TMP/bridge.out" 2>"$W_TMP/bridge.err" &
bridge_job=$!
W_PIDS+=("$bridge_job")
for ((i = 0; i < 50; i++)); do
    grep -q '^vlan_bridge:' "$W_TMP/bridge.err" 2>/dev/null && break
    sleep 0.1
done
bridge_pid=$(cat "$W_TMP/bridge.pid" 2>/dev/null || true)
[[ -n $bridge_pid ]] && W_PIDS+=("$bridge_pid")
grep -q '^vlan_bridge:' "$W_TMP/bridge.err" || t_bail "the VLAN bridge starts"

world_start_servers
W_CONFIG="$W_TMP/dirigo.cfg"
cat >"$W_CONFIG" <<EOF
# VLAN test world $W_ID.
eal = [ "--lcores", "${VLAN_LCORES:-0-1}", "--no-pci", "--no-huge", "-m", "${DIRIGO_EAL_MEM:-512}",
        "--file-prefix", "$W_PREFIX",
        "--vdev=net_af_packet0,iface=ext0${DIRIGO_AFP_ARGS:-}",
        "--vdev=net_af_packet1,iface=int0${DIRIGO_AFP_ARGS:-}" ];
control = { socket = "$W_SOCK"; };
ports = (
  { name = "ext"; device = "net_af_packet0"; addresses = [ "$W_EXT_IP/24" ];
    vlans = ( { id = $VID; addresses = ( "$VLAN_IP/24", "$W_VIP/32" ); } ); },
  { name = "int"; device = "net_af_packet1"; addresses = [ "$W_INT_IP/24" ]; }
);
services = ( );
dataplane = { poll = "${DIRIGO_POLL:-adaptive}"; };
EOF
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts with a VLAN sub-interface on ext"
t_pass "dirigo starts with a VLAN sub-interface on ext"

rules_ok=1
world_adm -A -t "$W_VIP:$W_VPORT" -s rr || rules_ok=0
world_adm -a -t "$W_VIP:$W_VPORT" -r 172.16.0.11:80 -m || rules_ok=0
world_adm -a -t "$W_VIP:$W_VPORT" -r 172.16.0.12:80 -m || rules_ok=0
((rules_ok)) || t_bail "dirigoadm adds the service on the VLAN's VIP"
t_pass "dirigoadm adds the service on the VLAN's VIP"

# The kernel mirror: a tap named ext.100 holding the VLAN's addresses (not ext's).
addrs=$(ip -n "$W_NS_DIR" -4 -o addr show dev ext.$VID 2>&1 || true)
t_show "$addrs"
t_expect "the kernel interface ext.$VID exists with $VLAN_IP/24 and $W_VIP/32" "$(
    grep -q "inet $VLAN_IP/24" <<<"$addrs" && grep -q "inet $W_VIP/32" <<<"$addrs" && echo 1
)"
ext_addrs=$(ip -n "$W_NS_DIR" -4 -o addr show dev ext 2>&1 || true)
t_expect "ext keeps only its own address" "$(
    grep -q "inet $W_EXT_IP/24" <<<"$ext_addrs" && ! grep -q "$VLAN_IP" <<<"$ext_addrs" && echo 1
)"

t_check "ping to the VLAN's address $VLAN_IP answers (through ext.$VID)" world_ping "$VLAN_IP" 3
t_check "ping to the VIP $W_VIP answers" world_ping "$W_VIP" 3

t_warm_up 2 || t_bail "the VIP answers from both real servers (warm-up)"
t_pass "the VIP answers from both real servers (warm-up)"

# From here on every TCP packet the client receives is counted by source.
sniff_out="$W_TMP/sniff.json"
ip netns exec "$W_NS_CLI" "$PY" "$HERE/sniff.py" eth0 --seconds 120 \
    --ready-file "$W_TMP/sniff.ready" >"$sniff_out" 2>"$W_TMP/sniff.err" &
sniff_pid=$!
W_PIDS+=("$sniff_pid")
for ((i = 0; i < 50; i++)); do
    [[ -e $W_TMP/sniff.ready ]] && break
    sleep 0.1
done

t_curl_n 20
n1=$(t_count web1 "${REPLIES[@]}")
n2=$(t_count web2 "${REPLIES[@]}")
t_expect "20 requests from VLAN $VID split 10/10 (web1=$n1 web2=$n2)" \
    "$([[ $n1 -eq 10 && $n2 -eq 10 ]] && echo 1)"
t_check "20 requests alternate web1/web2" t_alternates "${REPLIES[@]}"

kill -TERM "$sniff_pid" 2>/dev/null || true
timeout 10 tail --pid="$sniff_pid" -f /dev/null || true
wait "$sniff_pid" || true
sniffed=$(cat "$sniff_out")
sniffed=${sniffed:-"{}"}
echo "    client received TCP from: $sniffed"
t_expect "every TCP packet the client received came from $W_VIP:$W_VPORT" "$(
    "$PY" -c 'import json,sys; c=json.loads(sys.argv[1]); sys.exit(not (c and set(c)=={sys.argv[2]}))' \
        "$sniffed" "$W_VIP:$W_VPORT" && echo 1
)"

# A frame of VLAN 200, which ext does not carry, sent on the trunk: a counted drop.
drops_before=$(world_adm --list-ports --exact 2>/dev/null | awk '$1 == "unknown_vlan" { print $2 }')
ip netns exec "$W_NS_WAN" "$PY" - <<'PYEOF'
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("trunk", 0))
frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x02\x00" + struct.pack("!HH", 0x8100, 200)
frame += struct.pack("!H", 0x0800) + bytes(46)
s.send(frame)
PYEOF
unknown=""
for ((i = 0; i < 20; i++)); do
    unknown=$(world_adm --list-ports --exact 2>/dev/null | awk '$1 == "unknown_vlan" { print $2 }')
    [[ -n $unknown && $unknown -gt ${drops_before:-0} ]] && break
    sleep 0.1
done
t_expect "a frame of VLAN 200 is dropped and counted as unknown_vlan (${drops_before:-?} -> ${unknown:-?})" \
    "$([[ -n $unknown && $unknown -eq $((${drops_before:-0} + 1)) ]] && echo 1)"

# For the log: per worker, what it received and handed over (VLAN_LCORES with two workers).
t_show "$(world_adm --list-workers 2>&1 || true)"
t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo

# The bridge's counters: the client's frames went up the trunk tagged and came back on VLAN 100.
kill -TERM "$bridge_pid" 2>/dev/null || true
timeout 10 tail --pid="$bridge_pid" -f /dev/null || true
wait "$bridge_job" || true
read -r _ to_trunk _ to_access _ other _ untagged <"$W_TMP/bridge.out" || true
echo "    bridge: to_trunk=${to_trunk:-?} to_access=${to_access:-?} other_vlan=${other:-?} untagged=${untagged:-?}"
t_expect "the trunk carried the client's traffic tagged $VID both ways (up ${to_trunk:-?}, down ${to_access:-?}), no frame of another VLAN came down" \
    "$([[ ${to_trunk:-0} -ge 100 && ${to_access:-0} -ge 100 && ${other:-1} -eq 0 ]] && echo 1)"
t_summary
