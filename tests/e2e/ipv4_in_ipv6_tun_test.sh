#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end IPv4-in-IPv6 tunnelling: an IPv4 service (`dirigoadm -A -t VIP:80 -s rr`) with two
# IPv6 real servers added with -i (tunnel servers of the other family, as the kernel allows), in
# the router world with IPv6 on the servers' side. Each server decapsulates the director's
# IPv4-in-IPv6 packets (next header 4) and holds the IPv4 VIP on its tunnel device. This kernel
# has no ip6_tunnel module, so, as e2e_ipv6_tun does for next header 41, a small userspace helper
# stands in for ip6tnl0: it receives every next-header-4 packet to the server on a raw IPv6 socket
# (which hands it the inner IPv4 packet) and writes it into a TUN device holding the VIP. `curl`
# alternates between the two servers, the answers go straight back through the router as IPv4
# (OutPkts 0), -Ln and -Lnc list the servers and connections' destinations in IPv6 form.
#
# Usage: ipv4_in_ipv6_tun_test.sh [DIRIGO [DIRIGOADM]]   (or the DIRIGO / DIRIGOADM variables)
# Exit: 0 pass, 1 fail, 77 skip (not root, no network namespaces or no /dev/net/tun).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_ipv4_in_ipv6_tun
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"

DIRIGO=${1:-${DIRIGO:-$ROOT/build/dirigo}}
DIRIGOADM=${2:-${DIRIGOADM:-$ROOT/build/dirigoadm}}
export DIRIGOADM

if ! reason=$(world_can_run 2>&1); then
    t_unavailable "$reason"
fi
for bin in "$DIRIGO" "$DIRIGOADM"; do
    if [[ ! -x $bin ]]; then
        echo "FAIL: $bin is not built"
        exit 1
    fi
done

DIR_EXT6=2001:db8:1::1
DIR_INT6=2001:db8:2::1
VIP6=2001:db8:1::100
CLI6=2001:db8:1::2
RTR_WAN6=2001:db8:1::fe
RTR_LAN6=2001:db8:2::fe
RS6=(2001:db8:2::11 2001:db8:2::12)

bail() {
    t_fail "$1"
    world_dirigo_log_tail 60
    t_summary
}

# v6_on NS IF: IPv6 back on for one interface (the world turns it off everywhere).
v6_on() {
    world_exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0"
}

[[ -c /dev/net/tun ]] || t_unavailable "no /dev/net/tun for the IPv6-in-IPv6 helper"

world_install_trap
world_create 2 router
# The userspace stand-in for ip6tnl0 (see the header): payload of a raw next-header-4 socket
# (the inner IPv4 packet) into a TUN device.
cat >"$W_TMP/ip6ip6_decap.py" <<'PYEOF'
import fcntl, os, socket, struct, sys
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun6", IFF_TUN | IFF_NO_PI))
raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 4)  # IPPROTO_IPIP: IPv4-in-IPv6
open(sys.argv[1], "w").close()  # ready
while True:
    inner = raw.recv(65535)
    if len(inner) >= 20 and inner[0] >> 4 == 4:
        os.write(fd, inner)
PYEOF
v6_on "$W_NS_CLI" eth0
v6_on "$W_NS_CLI" lo
ip -n "$W_NS_CLI" -6 addr add "$CLI6/64" dev eth0 nodad
# The router: the client's /64 on wan0, the servers' on lan0, forwarding IPv6.
v6_on "$W_NS_RTR" wan0
v6_on "$W_NS_RTR" lan0
v6_on "$W_NS_RTR" lo
world_exec "$W_NS_RTR" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$W_NS_RTR" -6 addr add "$RTR_WAN6/64" dev wan0 nodad
ip -n "$W_NS_RTR" -6 addr add "$RTR_LAN6/64" dev lan0 nodad
for i in 0 1; do
    ns=${W_NS_RS[i]}
    v6_on "$ns" eth0
    v6_on "$ns" lo
    ip -n "$ns" -6 addr add "${RS6[i]}/64" dev eth0 nodad
    ip -n "$ns" -6 route add default via "$RTR_LAN6" dev eth0
    # LVS/TUN: the helper's TUN device (the stand-in for ip6tnl0) holds the VIP.
    rm -f "$W_TMP/decap6_$i.ready"
    ip netns exec "$ns" sh -c 'echo $$ >"$1"; exec "$2" "$3" "$4"' sh "$W_TMP/decap6_$i.pid" \
        "$(world_python)" "$W_TMP/ip6ip6_decap.py" "$W_TMP/decap6_$i.ready" \
        >"$W_TMP/decap6_$i.log" 2>&1 &
    for ((tries = 0; ; tries++)); do
        [[ -e $W_TMP/decap6_$i.ready ]] && ip -n "$ns" link show tun6 >/dev/null 2>&1 && break
        if ((tries >= 50)); then
            cat "$W_TMP/decap6_$i.log" >&2 || true
            bail "the IPv4-in-IPv6 helper of real server $((i + 1)) starts"
        fi
        sleep 0.1
    done
    W_PIDS+=("$(cat "$W_TMP/decap6_$i.pid")")
    ip -n "$ns" link set tun6 up
    ip -n "$ns" addr add "$W_VIP/32" dev tun6
    for key in net.ipv4.conf.tun6.rp_filter=0 net.ipv4.conf.all.rp_filter=0; do
        world_exec "$ns" sysctl -qw "$key"
    done
    ip -n "$ns" route replace default via "$W_RTR_LAN_IP"
done
# Both bridges carry neighbour discovery as plain multicast.
ip -n "$W_NS_LAN" link set br0 type bridge mcast_snooping 0
ip -n "$W_NS_WAN" link set br0 type bridge mcast_snooping 0
# Web servers on both families, on every address (the VIP included).
W_RS_BIND="::" world_start_servers || bail "the real servers' web servers start"

world_write_config
sed -i -e "s|\"$W_EXT_IP/24\", \"$W_VIP/32\" \]|\"$W_EXT_IP/24\", \"$W_VIP/32\", \"$DIR_EXT6/64\", \"$VIP6/128\" ]|" \
    -e "s|\"$W_INT_IP/24\" \]|\"$W_INT_IP/24\", \"$DIR_INT6/64\" ]|" "$W_CONFIG"
grep -q "$VIP6/128" "$W_CONFIG" && grep -q "$DIR_INT6/64" "$W_CONFIG" ||
    bail "the config carries the IPv6 addresses and the VIP"
world_start_dirigo "$DIRIGO" || bail "dirigo starts with IPv6 addresses and an IPv6 VIP"
t_pass "dirigo starts with IPv6 addresses and an IPv6 VIP"

rules_ok=1
world_adm -A -t "$W_VIP:80" -s rr || rules_ok=0
for i in 0 1; do
    world_adm -a -t "$W_VIP:80" -r "[${RS6[i]}]:80" -i || rules_ok=0
done
t_expect "dirigoadm -A -t $W_VIP:80 -s rr and two -a ... -i IPv6 real servers" "$rules_ok"

# The first request also waits for neighbour discovery; bounded.
body=""
for ((tries = 0; tries < 25; tries++)); do
    body=$(world_exec "$W_NS_CLI" curl -4 -s --max-time 2 "http://$W_VIP:80/" 2>/dev/null) && break
    sleep 0.2
done
[[ -n $body ]] || bail "curl http://$W_VIP:80/ answers through the IPv4-in-IPv6 tunnel"
REPLIES=()
for ((i = 0; i < 10; i++)); do
    body=$(world_exec "$W_NS_CLI" curl -4 -s --max-time 5 "http://$W_VIP:80/" 2>"$W_TMP/curl.err") ||
        body=""
    [[ -n $body ]] || t_show "request $((i + 1)) failed: $(head -c 300 "$W_TMP/curl.err")"
    REPLIES+=("${body:-ERR}")
done
t_expect "10 x curl $W_VIP:80 alternate between the two IPv6 tunnel servers (${REPLIES[*]})" \
    "$(t_alternates "${REPLIES[@]}" && [[ " ${REPLIES[*]} " == *" web1 "* && " ${REPLIES[*]} " == *" web2 "* ]] && echo 1)"

# Every request reached its server through the tunnel: the helpers' TUN devices received the
# decapsulated packets (the VIP is on no other interface of the servers).
rx=()
for i in 0 1; do
    rx+=("$(ip -n "${W_NS_RS[i]}" -s link show tun6 | awk '/RX:/ { getline; print $2; exit }')")
done
t_expect "both servers' tunnel devices received the decapsulated packets (${rx[*]})" \
    "$([[ ${rx[0]:-0} -ge 20 && ${rx[1]:-0} -ge 20 ]] && echo 1)"

list=$(world_adm -Ln 2>&1 || true)
t_show "$list"
t_expect "-Ln lists TCP  $W_VIP:80 rr" "$(grep -Eq "^TCP  $W_VIP:80 rr" <<<"$list" && echo 1)"
t_expect "-Ln lists both IPv6 servers as Tunnel" "$(
    grep -Eq "^  -> \[${RS6[0]}\]:80 +Tunnel" <<<"$list" &&
        grep -Eq "^  -> \[${RS6[1]}\]:80 +Tunnel" <<<"$list" && echo 1)"
stats=$(world_adm -Ln --stats 2>&1 || true)
t_show "$stats"
read -r conns inpkts outpkts < <(awk -v v="$W_VIP:80" \
    '$1 == "TCP" && $2 == v { print $3, $4, $5 }' <<<"$stats") || true
t_expect "--stats counts the 11 connections (${conns:-none}) and the client's packets in (${inpkts:-none})" \
    "$([[ ${conns:-0} -ge 11 && ${inpkts:-0} -ge 44 ]] && echo 1)"
t_expect "--stats: OutPkts 0, the servers answer the client directly (${outpkts:-none})" \
    "$([[ ${outpkts:-x} == 0 ]] && echo 1)"
clist=$(world_adm -Lnc 2>&1 || true)
t_expect "-Lnc lists IPv4 connections to $W_VIP:80 with IPv6 destinations" \
    "$(grep -Eq "^TCP .* +$W_VIP:80 +\[2001:db8:2::1[12]\]:80" <<<"$clist" && echo 1)"
[[ $clist == *"2001:db8:2::1"* ]] || t_show "$clist"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
