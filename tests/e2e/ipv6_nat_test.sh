#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end IPv6 NAT service: the demo's set-up in IPv6. `dirigoadm -A -t [VIP6]:80 -s rr` with
# two IPv6 real servers added with -m; `curl -6` from the client alternates between them (rr,
# the newest server first, as for IPv4) and every answer comes from the VIP (a reply from any
# other address would be reset by the client's stack and the request would fail); `-Ln` lists
# the service and its servers as ipvsadm writes IPv6 ([addr]:port), counting the connections;
# `-Lnc` lists the connections with their IPv6 addresses.
#
# Usage: ipv6_nat_test.sh [DIRIGO [DIRIGOADM]]   (or the DIRIGO / DIRIGOADM environment variables)
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_ipv6_nat
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
world_create 2
v6_on "$W_NS_CLI" eth0
v6_on "$W_NS_CLI" lo
ip -n "$W_NS_CLI" -6 addr add "$CLI6/64" dev eth0 nodad
ip -n "$W_NS_CLI" -6 route add 2001:db8::/32 via "$DIR_EXT6" dev eth0
for i in 0 1; do
    ns=${W_NS_RS[i]}
    v6_on "$ns" eth0
    v6_on "$ns" lo
    ip -n "$ns" -6 addr add "${RS6[i]}/64" dev eth0 nodad
    ip -n "$ns" -6 route add default via "$DIR_INT6" dev eth0
done
# The lan's bridge carries the real servers' neighbour discovery as plain multicast.
ip -n "$W_NS_LAN" link set br0 type bridge mcast_snooping 0
# Web servers on both families (web1, web2).
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
    world_adm -a -t "[$VIP6]:80" -r "[${RS6[i]}]:80" -m || rules_ok=0
done
t_expect "dirigoadm -A -t [$VIP6]:80 -s rr and two -a ... -m IPv6 real servers" "$rules_ok"

# The first request also waits for neighbour discovery; bounded.
body=""
for ((tries = 0; tries < 25; tries++)); do
    body=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 2 "http://[$VIP6]:80/" 2>/dev/null) && break
    sleep 0.2
done
[[ -n $body ]] || bail "curl -6 http://[$VIP6]:80/ answers"
REPLIES=()
for ((i = 0; i < 10; i++)); do
    body=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 5 "http://[$VIP6]:80/" 2>"$W_TMP/curl.err") ||
        body=""
    [[ -n $body ]] || t_show "request $((i + 1)) failed: $(head -c 300 "$W_TMP/curl.err")"
    REPLIES+=("${body:-ERR}")
done
t_expect "10 x curl -6 [$VIP6]:80 alternate between the two IPv6 servers (${REPLIES[*]})" \
    "$(t_alternates "${REPLIES[@]}" && [[ " ${REPLIES[*]} " == *" web1 "* && " ${REPLIES[*]} " == *" web2 "* ]] && echo 1)"

# The client's socket saw the VIP as its peer: curl reports the address it talked to.
peer=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 5 -o /dev/null -w '%{remote_ip}' \
    "http://[$VIP6]:80/" 2>/dev/null || true)
t_expect "the answers come from the VIP ($peer)" "$([[ $peer == "$VIP6" ]] && echo 1)"

list=$(world_adm -Ln 2>&1 || true)
t_show "$list"
t_expect "-Ln lists TCP  [$VIP6]:80 rr" "$(grep -Eq "^TCP  \[$VIP6\]:80 rr" <<<"$list" && echo 1)"
t_expect "-Ln lists both IPv6 servers as Masq" "$(
    grep -Eq "^  -> \[${RS6[0]}\]:80 +Masq" <<<"$list" &&
        grep -Eq "^  -> \[${RS6[1]}\]:80 +Masq" <<<"$list" && echo 1)"
stats=$(world_adm -Ln --stats 2>&1 || true)
conns=$(awk -v v="[$VIP6]:80" '$1 == "TCP" && $2 == v { print $3 }' <<<"$stats")
t_expect "--stats counts the 12 connections of the service (${conns:-none})" \
    "$([[ ${conns:-0} -ge 12 ]] && echo 1)"
clist=$(world_adm -Lnc 2>&1 || true)
t_expect "-Lnc lists IPv6 connections from [$CLI6] to [$VIP6]:80" \
    "$(grep -Eq "^TCP .*\[$CLI6\]:[0-9]+ +\[$VIP6\]:80 +\[2001:db8:2::1[12]\]:80" <<<"$clist" && echo 1)"
[[ $clist == *"$VIP6"* ]] || t_show "$clist"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
