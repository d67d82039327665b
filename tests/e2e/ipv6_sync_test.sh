#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, IPv6 connections kept across a failover by connection sync (docs/sync.md, "IPv6
# connections"): two Dirigo directors with the same IPv6 NAT service, the first a sync master,
# the second a sync backup; held keep-alive IPv6 connections opened through the first must be
# listed by the second (-L -c -n, ESTABLISHED, the right real server; ActiveConn) and, once the
# first is killed and the second takes its place, answer again from the same real server. A
# persistent service beside it (-p 300 -M 64) has its template synced too: the backup lists the
# client's /64 template, and after the takeover the client's new connections still land on the
# server the master chose (rr alone would alternate).
#
#   client ns  eth0 2001:db8:1::2 --- wan ns br0 --+-- dir1 ns ext0 ... int0 --+
#                                                  +.. dir2 ns ext0 ... int0 ..+   (detached)
#   lan ns br0 --- rs1 2001:db8:2::11, rs2 2001:db8:2::12 (default via 2001:db8:2::1) ----+
#   dir1 ns sy0 192.168.77.1 ========= dir2 ns sy0 192.168.77.2   (the sync link, kernel veth)
#
# IPv6 addresses come from Dirigo's config (docs/architecture.md: `ip -6 addr add` does not make
# Dirigo own one), so the two directors are configured alike, VIP and gateway included, and the
# second one's ports carry the first one's MACs (as VRRP's virtual MAC would): the takeover is
# the bridge ports moving from dir1 to dir2, which nobody's neighbour cache notices. Until then
# dir2's ports hang off the bridges (link up, no traffic); the sync messages reach it over a
# private kernel link between the directors (`--mcast-interface sy0`, any host interface works).
# Both directors poll adaptively (two daemons on a two-core machine).
#
# Usage: ipv6_sync_test.sh [DIRIGO [DIRIGOADM]]   Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_ipv6_sync
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
# shellcheck source=tests/e2e/vrrp_pair.sh
source "$HERE/vrrp_pair.sh"
t_init_bins "$@"

CLIENT=10.0.0.2
GW=172.16.0.1
EXT_IP=(- 10.0.0.11 10.0.0.12)
INT_IP=(- 172.16.0.2 172.16.0.3)
NRS=2
NCONN=6
SYNCID=9
DIR_EXT6=2001:db8:1::1
DIR_INT6=2001:db8:2::1
VIP6=2001:db8:1::100
CLI6=2001:db8:1::2
RS6=(- 2001:db8:2::11 2001:db8:2::12)
SYNC_BOUND=20
PPORT=81  # the persistent service's port (its servers listen on 80)
NPERS=4   # new connections to it through dir2 after the takeover

W_ID=$(printf 'd6%x%04x' "$$" "$((RANDOM))")
W_TMP=$(mktemp -d "/tmp/dirigo-$W_ID.XXXXXX")
W_NS_CLI="$W_ID-cli"
W_NS_WAN="$W_ID-wan"
W_NS_LAN="$W_ID-lan"
NS_DIR=(- "$W_ID-dir1" "$W_ID-dir2")
W_NS_DIR=${NS_DIR[1]}
W_NS_RTR=""
W_NRS=$NRS
W_NS_RS=()
W_PREFIX="$W_ID-1"
SOCK=(- "$W_TMP/dirigo1.sock" "$W_TMP/dirigo2.sock")
DPID=(- "" "")
CLIENT_PID=""

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in $CLIENT_PID ${DPID[1]} ${DPID[2]}; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $CLIENT_PID ${DPID[1]} ${DPID[2]}; do
        timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
    # dir2 is not one of world.sh's namespaces: whatever is left in it was started here.
    if ip netns list 2>/dev/null | grep -q "^${NS_DIR[2]}\b"; then
        for pid in $(ip netns pids "${NS_DIR[2]}" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "${NS_DIR[2]}" 2>/dev/null || true
    fi
    rm -rf "/var/run/dpdk/$W_ID-2"
    world_destroy
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

v6_on() { world_exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0"; }
# start_director K: dirigo in director K's namespace, its pid recorded from inside.
start_director() {
    local k=$1 deadline
    rm -f "${SOCK[k]}" "$W_TMP/dirigo$k.pid"
    # shellcheck disable=SC2016  # $$ and $1.. expand in the inner shell
    ip netns exec "${NS_DIR[k]}" sh -c 'echo $$ >"$1"; exec "$2" -c "$3"' sh \
        "$W_TMP/dirigo$k.pid" "$DIRIGO" "$W_TMP/dirigo$k.cfg" >>"$W_TMP/dirigo$k.log" 2>&1 &
    disown  # its pid is recorded from inside; the SIGKILL below is expected, not a job report
    deadline=$((SECONDS + W_START_TIMEOUT))
    while [[ ! -S ${SOCK[k]} ]]; do
        [[ -s $W_TMP/dirigo$k.pid ]] && DPID[k]=$(cat "$W_TMP/dirigo$k.pid")
        if ((SECONDS >= deadline)) || { [[ -n ${DPID[k]} ]] && ! kill -0 "${DPID[k]}" 2>/dev/null; }; then
            tail -30 "$W_TMP/dirigo$k.log" >&2
            return 1
        fi
        sleep 0.2
    done
    DPID[k]=$(cat "$W_TMP/dirigo$k.pid")
}
# attach K on|off: director K's ports on the bridges or off them.
attach() {
    local k=$1 br
    for br in "$W_NS_WAN" "$W_NS_LAN"; do
        if [[ $2 == on ]]; then
            ip -n "$br" link set "dir$k" master br0
        else
            ip -n "$br" link set "dir$k" nomaster
        fi
    done
}
lines_of() { grep "^$2" "$1" 2>/dev/null || true; }

# ---- The world ---------------------------------------------------------------------------------
world_log "creating: client, wan, two directors, lan, $NRS real servers, a sync link; temp dir $W_TMP"
vrrp_world_directors
vrrp_world_servers
for br in "$W_NS_WAN" "$W_NS_LAN"; do
    ip -n "$br" link set br0 type bridge mcast_snooping 0
done
v6_on "$W_NS_CLI" eth0
v6_on "$W_NS_CLI" lo
ip -n "$W_NS_CLI" -6 addr add "$CLI6/64" dev eth0 nodad
ip -n "$W_NS_CLI" -6 route add 2001:db8::/32 via "$DIR_EXT6" dev eth0
for ((i = 1; i <= NRS; i++)); do
    ns=${W_NS_RS[i - 1]}
    v6_on "$ns" eth0
    v6_on "$ns" lo
    ip -n "$ns" -6 addr add "${RS6[i]}/64" dev eth0 nodad
    ip -n "$ns" -6 route add default via "$DIR_INT6" dev eth0
done
W_RS_BIND="::" world_start_servers || t_bail "the real servers' web servers start"
world_veth "${NS_DIR[1]}" sy0 "${NS_DIR[2]}" sy0
ip -n "${NS_DIR[1]}" addr add 192.168.77.1/24 dev sy0
ip -n "${NS_DIR[2]}" addr add 192.168.77.2/24 dev sy0
# dir2 stands in for dir1 with its MACs; off the bridges until the takeover.
for port in ext0 int0; do
    mac=$(ip -n "${NS_DIR[1]}" link show dev "$port" | awk '/link\/ether/ { print $2 }')
    ip -n "${NS_DIR[2]}" link set "$port" address "$mac"
done
attach 2 off

for k in 1 2; do
    cat >"$W_TMP/dirigo$k.cfg" <<CFG
eal = [ "-l", "0-1", "--no-pci", "--no-huge", "-m", "512", "--file-prefix", "$W_ID-$k",
        "--vdev=net_af_packet0,iface=ext0", "--vdev=net_af_packet1,iface=int0" ];
control = { socket = "${SOCK[k]}"; };
ports = (
  { name = "ext"; device = "net_af_packet0";
    addresses = [ "${EXT_IP[k]}/24", "$DIR_EXT6/64", "$VIP6/128" ]; },
  { name = "int"; device = "net_af_packet1"; addresses = [ "${INT_IP[k]}/24", "$DIR_INT6/64" ]; }
);
routes = ( );
services = ( );
dataplane = { poll = "adaptive"; };
CFG
    start_director "$k" || t_bail "dirigo $k starts"
done
t_pass "both directors start with the same IPv6 addresses (prefixes $W_ID-1 and $W_ID-2)"

ok=1
for k in 1 2; do
    adm "$k" -A -t "[$VIP6]:80" -s rr || ok=0
    for ((i = 1; i <= NRS; i++)); do
        adm "$k" -a -t "[$VIP6]:80" -r "[${RS6[i]}]:80" -m || ok=0
    done
    adm "$k" -A -t "[$VIP6]:$PPORT" -s rr -p 300 -M 64 || ok=0
    for ((i = 1; i <= NRS; i++)); do
        adm "$k" -a -t "[$VIP6]:$PPORT" -r "[${RS6[i]}]:80" -m || ok=0
    done
done
out1=$(adm 1 --start-daemon master --mcast-interface sy0 --syncid "$SYNCID" 2>&1) || ok=0
out2=$(adm 2 --start-daemon backup --mcast-interface sy0 --syncid "$SYNCID" 2>&1) || ok=0
t_expect "the IPv6 services (:80, and :$PPORT persistent /64) on both; dir1 master and dir2 backup sync daemons on sy0 ($out1$out2)" "$ok"
t_show "dir1: $(adm 1 -L --daemon 2>&1 || true)"
t_show "dir2: $(adm 2 -L --daemon 2>&1 || true)"

# Neighbour discovery on the first requests (fresh curls: they close, leaving no ESTABLISHED
# entry); bounded.
n=0
for ((tries = 0; tries < 40 && n < 2; tries++)); do
    if world_exec "$W_NS_CLI" curl -6 -s --max-time 2 "http://[$VIP6]:80/" >/dev/null 2>&1; then
        n=$((n + 1))
    else
        sleep 0.2
    fi
done
((n == 2)) || t_bail "curl -6 http://[$VIP6]:80/ answers through dir1"

# ---- Held connections through dir1 --------------------------------------------------------------
GO="$W_TMP/round2.go"
# shellcheck disable=SC2016  # $$ and $@ expand in the inner shell
ip netns exec "$W_NS_CLI" sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$W_TMP/client.pid" \
    "$(world_python)" "$HERE/sync_client.py" "$VIP6" 80 "$GO" --count "$NCONN" --timeout 10 \
    --max-wait 120 >"$W_TMP/client.out" 2>&1 &
t_wait_until 10 test -s "$W_TMP/client.pid" || t_bail "the client starts"
CLIENT_PID=$(cat "$W_TMP/client.pid")
t_wait_until 60 grep -q '^ROUND1' "$W_TMP/client.out" || true
round1=$(lines_of "$W_TMP/client.out" ROUND1)
t_show "$(lines_of "$W_TMP/client.out" CONN)"
t_expect "the client holds $NCONN IPv6 connections through dir1, each answered once ($round1)" \
    "$([[ $round1 == "ROUND1 answered=$NCONN failed=0" ]] && echo 1)"

# EXPECT: "PORT RS" for each held connection, from the client's own record (the body).
mapfile -t EXPECT < <(lines_of "$W_TMP/client.out" CONN |
    sed -n 's/^CONN [0-9]* local=.*:\([0-9]*\) server=web\([0-9]*\)$/\1 \2/p')
# shellcheck disable=SC2317  # run through t_wait_until
synced_ok() {
    local listing line port rs n=0
    listing=$(adm 2 -L -c -n 2>/dev/null) || return 1
    for line in "${EXPECT[@]}"; do
        port=${line% *}
        rs=${RS6[${line#* }]}
        grep -Eq "^TCP +[0-9]{2}:[0-9]{2} +ESTABLISHED +\[$CLI6\]:$port +\[$VIP6\]:80 +\[$rs\]:80\$" \
            <<<"$listing" && n=$((n + 1))
    done
    ((n == NCONN))
}
ok=0
((${#EXPECT[@]} == NCONN)) && t_wait_until "$SYNC_BOUND" synced_ok && ok=1
t_show "dir2 (backup): dirigoadm -L -c -n"
t_show "$(adm 2 -L -c -n 2>&1 || true)"
t_expect "the backup lists all $NCONN IPv6 connections ESTABLISHED, [$CLI6] -> [$VIP6]:80 -> the server that answered" "$ok"
listing=$(adm 2 -L -n 2>&1 || true)
t_show "$listing"
active=$(awk '$1 == "->" { s += $5 } END { print s + 0 }' <<<"$listing")
t_expect "the backup counts them in ActiveConn (sum $active, want $NCONN)" \
    "$([[ $active == "$NCONN" ]] && echo 1)"

# ---- A persistent client's template --------------------------------------------------------------
# One request to the persistent service through dir1 (SYN, ACK, request: its third packet sends
# the connection and, after it, its template); bounded retries.
held=""
for ((tries = 0; tries < 20 && ${#held} == 0; tries++)); do
    held=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 2 "http://[$VIP6]:$PPORT/" 2>/dev/null) ||
        { held=""; sleep 0.2; }
done
held_n=${held#web}
t_expect "the persistent service answers through dir1 (${held:-nothing})" \
    "$([[ $held =~ ^web[0-9]+$ ]] && ((held_n >= 1 && held_n <= NRS)) && echo 1)"
# shellcheck disable=SC2317  # run through t_wait_until
template_ok() {
    adm 2 -L -c -n 2>/dev/null | grep -Eq \
        "^TCP +[0-9]{2}:[0-9]{2} +NONE +\[2001:db8:1::\]:0 +\[$VIP6\]:$PPORT +\[${RS6[held_n]}\]:80\$"
}
ok=0
[[ $held =~ ^web[0-9]+$ ]] && t_wait_until "$SYNC_BOUND" template_ok && ok=1
t_show "$(adm 2 -L -c -n 2>&1 | grep NONE || true)"
t_expect "the backup lists the client's /64 template: NONE [2001:db8:1::]:0 [$VIP6]:$PPORT [${RS6[held_n]:-?}]:80" "$ok"

# ---- The takeover -------------------------------------------------------------------------------
kill -KILL "${DPID[1]}" 2>/dev/null || true
timeout 10 tail --pid="${DPID[1]}" -f /dev/null 2>/dev/null || true
DPID[1]=""
attach 1 off
attach 2 on
t_pass "dir1 killed (SIGKILL); dir2's ports take its place on the bridges"

touch "$GO"
timeout 60 tail --pid="$CLIENT_PID" -f /dev/null 2>/dev/null || true
CLIENT_PID=""
t_show "$(lines_of "$W_TMP/client.out" ROUND2)"
result=$(lines_of "$W_TMP/client.out" RESULT)
t_expect "after the takeover all $NCONN held IPv6 connections answer from the same server through dir2 (${result:-no result})" \
    "$([[ $result == *" same=$NCONN "* ]] && echo 1)"
stats=$(adm 2 -L -n --stats 2>&1 || true)
t_show "$stats"
inpkts=$(awk -v v="[$VIP6]:80" '$1 == "TCP" && $2 == v { print $4 }' <<<"$stats")
t_expect "dir2 forwarded the synced connections' packets (service InPkts ${inpkts:-none})" \
    "$([[ ${inpkts:-0} -ge $NCONN ]] && echo 1)"

# New connections of the held client after the takeover: each to the server of the synced
# template (fresh curls; a failed one is retried, bounded).
same=0
got=""
for ((c = 0, tries = 0; c < NPERS && tries < 40; tries++)); do
    if body=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 2 "http://[$VIP6]:$PPORT/" 2>/dev/null); then
        c=$((c + 1))
        got="$got $body"
        [[ $body == "$held" ]] && same=$((same + 1))
    else
        sleep 0.2
    fi
done
t_expect "after the takeover $NPERS new connections of the persistent client all reach $held (got:$got)" \
    "$([[ $same == "$NPERS" ]] && echo 1)"

stop_pid "${DPID[2]}"
DPID[2]=""
t_summary
