#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end IPv6 direct routing (LVS/DR over IPv6): `dirigoadm -A -t [VIP6]:80 -s rr` with two
# IPv6 real servers added with -g, in the router world (scripts/lib/world.sh, `world_create 2
# router`) given IPv6 addresses: the real servers hold the VIP on lo and route to the client
# through the router, never through the director. `curl -6` from the client alternates between
# the two servers (rr, the newest first) and talks to the VIP throughout; the director counts the
# client's packets in and nothing out (--stats OutPkts 0), since the answers bypass it; -Ln lists
# the servers as Route and -Lnc the connections in IPVS's input-only states.
#
# IPv6 has no ARP problem to silence: a Linux host answers a neighbour solicitation only for an
# address of the interface it arrived on (ndisc_recv_ns looks the target up on that device), so
# a VIP on lo is never advertised on eth0; the test checks that the servers' eth0 stays silent
# for the VIP (no solicitation to the VIP is answered by them: the client's neighbour entry for
# the VIP holds the director's MAC).
#
# Usage: ipv6_dr_test.sh [DIRIGO [DIRIGOADM]]   (or the DIRIGO / DIRIGOADM environment variables)
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_ipv6_dr
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

world_install_trap
world_create 2 router
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
    # LVS/DR: the VIP on lo; the answers leave through the router, never the director.
    ip -n "$ns" -6 addr add "$VIP6/128" dev lo nodad
    ip -n "$ns" -6 route add default via "$RTR_LAN6" dev eth0
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
world_adm -A -t "[$VIP6]:80" -s rr || rules_ok=0
for i in 0 1; do
    world_adm -a -t "[$VIP6]:80" -r "[${RS6[i]}]:80" -g || rules_ok=0
done
t_expect "dirigoadm -A -t [$VIP6]:80 -s rr and two -a ... -g IPv6 real servers" "$rules_ok"

# The first request also waits for neighbour discovery; bounded.
body=""
for ((tries = 0; tries < 25; tries++)); do
    body=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 2 "http://[$VIP6]:80/" 2>/dev/null) && break
    sleep 0.2
done
[[ -n $body ]] || bail "curl -6 http://[$VIP6]:80/ answers through direct routing"
REPLIES=()
for ((i = 0; i < 10; i++)); do
    body=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 5 "http://[$VIP6]:80/" 2>"$W_TMP/curl.err") ||
        body=""
    [[ -n $body ]] || t_show "request $((i + 1)) failed: $(head -c 300 "$W_TMP/curl.err")"
    REPLIES+=("${body:-ERR}")
done
t_expect "10 x curl -6 [$VIP6]:80 alternate between the two IPv6 DR servers (${REPLIES[*]})" \
    "$(t_alternates "${REPLIES[@]}" && [[ " ${REPLIES[*]} " == *" web1 "* && " ${REPLIES[*]} " == *" web2 "* ]] && echo 1)"

# The client's socket saw the VIP as its peer.
peer=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 5 -o /dev/null -w '%{remote_ip}' \
    "http://[$VIP6]:80/" 2>/dev/null || true)
t_expect "the client talks to the VIP ($peer)" "$([[ $peer == "$VIP6" ]] && echo 1)"

# The answers came through the router: the client knows the VIP at the director's MAC (only the
# director answered its solicitation) and the router has forwarded IPv6 to the client.
dir_mac=$(ip -n "$W_NS_DIR" -o link show ext0 | grep -o 'link/ether [0-9a-f:]*' | awk '{print $2}')
vip_mac=$(ip -n "$W_NS_CLI" -6 neigh show "$VIP6" dev eth0 | grep -o 'lladdr [0-9a-f:]*' | awk '{print $2}')
t_expect "the client's neighbour entry for the VIP is the director's ($vip_mac, ${dir_mac:-?})" \
    "$([[ -n $vip_mac && $vip_mac == "$dir_mac" ]] && echo 1)"
fwd=$(world_exec "$W_NS_RTR" cat /proc/net/snmp6 | awk '$1 == "Ip6OutForwDatagrams" { print $2 }')
t_expect "the router forwarded the servers' answers (Ip6OutForwDatagrams ${fwd:-?})" \
    "$([[ ${fwd:-0} -ge 12 ]] && echo 1)"

list=$(world_adm -Ln 2>&1 || true)
t_show "$list"
t_expect "-Ln lists TCP  [$VIP6]:80 rr" "$(grep -Eq "^TCP  \[$VIP6\]:80 rr" <<<"$list" && echo 1)"
t_expect "-Ln lists both IPv6 servers as Route" "$(
    grep -Eq "^  -> \[${RS6[0]}\]:80 +Route" <<<"$list" &&
        grep -Eq "^  -> \[${RS6[1]}\]:80 +Route" <<<"$list" && echo 1)"
stats=$(world_adm -Ln --stats 2>&1 || true)
t_show "$stats"
read -r conns inpkts outpkts < <(awk -v v="[$VIP6]:80" \
    '$1 == "TCP" && $2 == v { print $3, $4, $5 }' <<<"$stats") || true
t_expect "--stats counts the 12 connections (${conns:-none}) and the client's packets in (${inpkts:-none})" \
    "$([[ ${conns:-0} -ge 12 && ${inpkts:-0} -ge 48 ]] && echo 1)"
t_expect "--stats: OutPkts 0, the servers answer the client directly (${outpkts:-none})" \
    "$([[ ${outpkts:-x} == 0 ]] && echo 1)"
clist=$(world_adm -Lnc 2>&1 || true)
t_expect "-Lnc lists IPv6 DR connections from [$CLI6] to [$VIP6]:80" \
    "$(grep -Eq "^TCP .*\[$CLI6\]:[0-9]+ +\[$VIP6\]:80 +\[2001:db8:2::1[12]\]:80" <<<"$clist" && echo 1)"
[[ $clist == *"$VIP6"* ]] || t_show "$clist"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
