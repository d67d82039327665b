#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end IPv6 host presence: the director's IPv6 addresses answer neighbour discovery and
# `ping -6` (the client's neighbour entry for the director holds the port's MAC), IPv6 crosses the
# director as it crosses a Linux router (on-link, and through a configured route via a gateway;
# hop limit decremented once), and a packet that arrives with hop limit 1 gets ICMPv6 time
# exceeded from the director. The client and the real server get their IPv6 addresses with
# `nodad` (no duplicate address detection delay); the director's own kernel side stays IPv6-free.
#
# Usage: ipv6_host_test.sh [DIRIGO [DIRIGOADM]]   (or the DIRIGO / DIRIGOADM environment variables)
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_ipv6_host
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"

DIRIGO=${1:-${DIRIGO:-$ROOT/build/dirigo}}
DIRIGOADM=${2:-${DIRIGOADM:-$ROOT/build/dirigoadm}}
export DIRIGOADM

if ! reason=$(world_can_run 2>&1); then
    t_unavailable "$reason"
fi
if [[ ! -x $DIRIGO ]]; then
    echo "FAIL: $DIRIGO is not built"
    exit 1
fi

DIR_EXT6=2001:db8:1::1
DIR_INT6=2001:db8:2::1
CLI6=2001:db8:1::2
RS6=2001:db8:2::11
FAR6=2001:db8:100::1  # on the real server's loopback, routed by the director via $RS6

world_install_trap
world_create 1
RS_NS=${W_NS_RS[0]}

# v6_on NS IF: IPv6 back on for one interface (the world turns it off everywhere).
v6_on() {
    world_exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0"
}
v6_on "$W_NS_CLI" eth0
v6_on "$W_NS_CLI" lo
ip -n "$W_NS_CLI" -6 addr add "$CLI6/64" dev eth0 nodad
ip -n "$W_NS_CLI" -6 route add 2001:db8::/32 via "$DIR_EXT6" dev eth0
v6_on "$RS_NS" eth0
v6_on "$RS_NS" lo
ip -n "$RS_NS" -6 addr add "$RS6/64" dev eth0 nodad
ip -n "$RS_NS" -6 addr add "$FAR6/128" dev lo
ip -n "$RS_NS" -6 route add default via "$DIR_INT6" dev eth0
# The lan's bridge carries the real server's neighbour discovery as plain multicast.
ip -n "$W_NS_LAN" link set br0 type bridge mcast_snooping 0

world_write_config
# The world's config, with an IPv6 address on each port and a route through the real server.
sed -i -e "s|\"$W_EXT_IP/24\", \"$W_VIP/32\" \]|\"$W_EXT_IP/24\", \"$W_VIP/32\", \"$DIR_EXT6/64\" ]|" \
    -e "s|\"$W_INT_IP/24\" \]|\"$W_INT_IP/24\", \"$DIR_INT6/64\" ]|" \
    -e "s|^routes = ( \(.*\) );|routes = ( \1, { prefix = \"2001:db8:100::/48\"; via = \"$RS6\"; } );|" \
    "$W_CONFIG"
if ! grep -q "$DIR_EXT6/64" "$W_CONFIG" || ! grep -q "$DIR_INT6/64" "$W_CONFIG" ||
    ! grep -q "2001:db8:100::/48" "$W_CONFIG"; then
    t_fail "the config carries the IPv6 addresses and route"
    cat "$W_CONFIG"
    t_summary
fi
if ! world_start_dirigo "$DIRIGO"; then
    t_fail "dirigo starts with IPv6 addresses and an IPv6 route"
    t_summary
fi
t_pass "dirigo starts with IPv6 addresses and an IPv6 route"

# ping6 NS DST [ARGS...]: ping -6, three echoes 0.2 s apart, each awaited at most a second.
ping6() {
    local ns=$1 dst=$2
    shift 2
    world_exec "$ns" timeout 10 ping -6 -n -c 3 -i 0.2 -W 1 "$@" "$dst" 2>&1 || true
}
# replies OUTPUT: how many echo replies came back.
replies() { grep -c 'bytes from' <<<"$1" || true; }
# hop OUTPUT: the hop limit of the first reply (ping prints it as ttl=).
hop() { sed -n 's/.*ttl=\([0-9]*\).*/\1/p' <<<"$1" | head -n 1; }

out=$(ping6 "$W_NS_CLI" "$DIR_EXT6")
t_expect "ping -6 from the client to the director's $DIR_EXT6: 3 replies, hop limit 64 ($(replies "$out"), ttl=$(hop "$out"))" \
    "$([[ $(replies "$out") == 3 && $(hop "$out") == 64 ]] && echo 1)"
[[ $(replies "$out") == 3 ]] || echo "$out" | sed 's/^/    /'

port_mac=$(ip -n "$W_NS_DIR" -br link show ext0 | awk '{print $3}')
neigh=$(ip -n "$W_NS_CLI" -6 neigh show "$DIR_EXT6" dev eth0)
t_expect "the client's neighbour entry for $DIR_EXT6 holds the director port's MAC $port_mac ($neigh)" \
    "$([[ -n $port_mac && $neigh == *"lladdr $port_mac"* ]] && echo 1)"

out=$(ping6 "$RS_NS" "$DIR_INT6")
t_expect "ping -6 from the real server to the director's $DIR_INT6: 3 replies ($(replies "$out"))" \
    "$([[ $(replies "$out") == 3 ]] && echo 1)"

# Transit: the director solicits the real server, forwards, and decrements the hop limit once
# (the reply left the real server with 64).
out=$(ping6 "$W_NS_CLI" "$RS6")
t_expect "ping -6 from the client to $RS6 across the director: 3 replies, ttl=63 ($(replies "$out"), ttl=$(hop "$out"))" \
    "$([[ $(replies "$out") == 3 && $(hop "$out") == 63 ]] && echo 1)"
[[ $(replies "$out") == 3 ]] || echo "$out" | sed 's/^/    /'
out=$(ping6 "$RS_NS" "$CLI6")
t_expect "ping -6 from the real server to the client $CLI6 across the director: 3 replies ($(replies "$out"))" \
    "$([[ $(replies "$out") == 3 ]] && echo 1)"

# Through the configured route: 2001:db8:100::/48 via the real server.
out=$(ping6 "$W_NS_CLI" "$FAR6")
t_expect "ping -6 to $FAR6 through the director's route via $RS6: 3 replies, ttl=63 ($(replies "$out"), ttl=$(hop "$out"))" \
    "$([[ $(replies "$out") == 3 && $(hop "$out") == 63 ]] && echo 1)"

# Hop limit 1: the director answers time exceeded, from its address on the client's side.
out=$(ping6 "$W_NS_CLI" "$RS6" -t 1)
t_expect "ping -6 -t 1 across the director gets time exceeded from $DIR_EXT6, no reply" \
    "$([[ $out == *"From $DIR_EXT6"*"Time exceeded"* && $(replies "$out") == 0 ]] && echo 1)"
[[ $out == *"Time exceeded"* ]] || echo "$out" | sed 's/^/    /'

# What the dataplane does not serve goes up the exception path: TCP to the director's IPv6
# address reaches a server of the director's own kernel (on the port's interface, which Dirigo
# gave the address without duplicate address detection), and its answers go back out.
mkdir -p "$W_TMP/www-dir"
printf 'director6\n' >"$W_TMP/www-dir/index.html"
ip netns exec "$W_NS_DIR" "$(world_python)" -m http.server 8080 --bind "$DIR_EXT6" \
    --directory "$W_TMP/www-dir" >"$W_TMP/http-dir.log" 2>&1 &
W_PIDS+=("$!")
body=""
for ((tries = 0; tries < 50; tries++)); do
    body=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 1 "http://[$DIR_EXT6]:8080/" 2>/dev/null) &&
        break
    sleep 0.2
done
t_expect "TCP to [$DIR_EXT6]:8080 is served by the director's kernel through the exception path ($body)" \
    "$([[ $body == director6 ]] && echo 1)"
[[ $body == director6 ]] || sed 's/^/    /' "$W_TMP/http-dir.log"
dad=$(world_exec "$W_NS_DIR" cat /proc/sys/net/ipv6/conf/ext/accept_dad 2>/dev/null || echo missing)
kaddr=$(ip -n "$W_NS_DIR" -6 addr show dev ext scope global 2>/dev/null | awk '/inet6/ { print $2 }')
t_expect "the kernel interface ext holds $DIR_EXT6/64 without duplicate address detection (addr $kaddr, accept_dad $dad)" \
    "$([[ $kaddr == "$DIR_EXT6/64" && $dad == 0 ]] && echo 1)"

# IPv4 is unchanged next to it.
out=$(world_exec "$W_NS_CLI" timeout 10 ping -n -c 2 -i 0.2 -W 1 "$W_EXT_IP" 2>&1 || true)
t_expect "IPv4 ping to $W_EXT_IP still answers ($(replies "$out"))" \
    "$([[ $(replies "$out") == 2 ]] && echo 1)"

# The drop reasons list bad_icmp6, and well-formed traffic never counted there.
plist=$(world_adm --list-ports --exact 2>&1 || true)
bad=$(sed -n '/^Drops by reason/,$p' <<<"$plist" | awk '$1 == "bad_icmp6" { print $2 }')
t_expect "--list-ports --exact lists bad_icmp6, at 0 (${bad:-missing})" "$([[ $bad == 0 ]] && echo 1)"
# A flap of the kernel interface keeps its IPv6 address (Linux would flush it; Dirigo sets
# keep_addr_on_down), and the kernel serves over IPv6 again once it is up.
ip -n "$W_NS_DIR" link set ext down
ip -n "$W_NS_DIR" link set ext up
kaddr=$(ip -n "$W_NS_DIR" -6 addr show dev ext scope global 2>/dev/null | awk '/inet6/ { print $2 }')
body=""
for ((tries = 0; tries < 50; tries++)); do
    body=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 1 "http://[$DIR_EXT6]:8080/" 2>/dev/null) &&
        break
    sleep 0.2
done
t_expect "after ip link set ext down/up the interface keeps $DIR_EXT6/64 ($kaddr) and serves again ($body)" \
    "$([[ $kaddr == "$DIR_EXT6/64" && $body == director6 ]] && echo 1)"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
