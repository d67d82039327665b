#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, two Dirigo directors made highly available by Debian's unmodified keepalived
# (VRRP plus virtual_server, libdirigo-ipvs.so preloaded; docs/keepalived.md), as seed 004 sets
# up LVS-NAT with a MASTER and a BACKUP:
#
#   client ns  eth0 10.0.0.2/24 --- wan ns br0 --+-- dir1 ns ext0 (af_packet) ... int0 --+
#                                                +-- dir2 ns ext0 (af_packet) ... int0 --+
#   lan ns br0 --- rs1 ns 172.16.0.11, rs2 ns 172.16.0.12 (default via 172.16.0.1) ------+
#
# Each director's keepalived runs vrrp_instance VI_1 on its `ext` kernel interface (priorities
# 150 and 100, advert_int 1) with two virtual addresses: the VIP 10.0.0.100/32 on ext, and the
# real servers' gateway 172.16.0.1/32 on int (LVS-NAT's replies must come back through whichever
# director is MASTER). dir1 holds both; the client's ARP entry for the VIP is dir1's MAC. Then
# dir1's dirigo is SIGKILLed: dir2 takes the addresses over (gratuitous ARP) and new connections
# succeed; the time from the kill to the first successful request is printed. dir1 comes back
# (dirigo, then keepalived): it preempts, and the client is served through it again. Then dir1's
# keepalived alone stops (SIGTERM: it gives the addresses up at once) and starts again.
# Usage: keepalived_vrrp_test.sh [DIRIGO [DIRIGOADM]] with DIRIGO_IPVS_LIB set (meson does).
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_keepalived_vrrp
DIRIGO_ADM_TOOL=dirigoadm
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
# shellcheck source=tests/e2e/vrrp_pair.sh
source "$HERE/vrrp_pair.sh"
t_init_bins "$@"
t_init_ipvsadm
command -v keepalived >/dev/null || t_unavailable "keepalived is not installed"

VIP=10.0.0.100
GW=172.16.0.1          # the real servers' default gateway, floating with the VIP
CLIENT=10.0.0.2
EXT_IP=(- 10.0.0.11 10.0.0.12)
INT_IP=(- 172.16.0.2 172.16.0.3)
PRIO=(- 150 100)
STATE=(- MASTER BACKUP)
NRS=2
FAILOVER_BOUND=15      # seconds: 3 * advert_int + skew (3.6 s) + ARP, with ample slack

# ---- The world (world.sh's variables, so that world_destroy tears it down) ---------------------
W_ID=$(printf 'dk%x%04x' "$$" "$((RANDOM))")
W_TMP=$(mktemp -d "/tmp/dirigo-$W_ID.XXXXXX")
W_NS_CLI="$W_ID-cli"
W_NS_WAN="$W_ID-wan"
W_NS_LAN="$W_ID-lan"
NS_DIR=(- "$W_ID-dir1" "$W_ID-dir2")
W_NS_DIR=${NS_DIR[1]}
W_NS_RTR=${NS_DIR[2]}   # world_destroy deletes it (no router in this world)
W_NRS=$NRS
W_NS_RS=()
W_PREFIX="$W_ID-1"
SOCK=(- "$W_TMP/dirigo1.sock" "$W_TMP/dirigo2.sock")
DPID=(- "" "")
KPID=(- "" "")

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local rc=$? k
    trap - EXIT INT TERM
    for k in 1 2; do
        [[ -n ${KPID[k]} ]] && kill -TERM "${KPID[k]}" 2>/dev/null || true
        [[ -n ${DPID[k]} ]] && kill -TERM "${DPID[k]}" 2>/dev/null || true
    done
    for k in 1 2; do
        for pid in ${KPID[k]} ${DPID[k]}; do
            timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done
    done
    rm -rf "/var/run/dpdk/$W_ID-2"
    world_destroy
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

world_log "creating: client, wan, two directors, lan, $NRS real servers; temp dir $W_TMP"
vrrp_world_directors
vrrp_world_servers
world_start_servers

# ---- The directors -------------------------------------------------------------------------------
get() { ip netns exec "$W_NS_CLI" curl -s --connect-timeout 1 --max-time 2 "http://$VIP/" 2>/dev/null; }
master_is() {
    local m=$1 b=$((3 - $1))
    holds "$m" ext "$VIP" && holds "$m" int "$GW" && ! holds "$b" ext "$VIP" && ! holds "$b" int "$GW"
}
# curl_ok N: N requests in a row succeed.
curl_ok() {
    local i
    for ((i = 0; i < $1; i++)); do
        [[ $(get) == web* ]] || return 1
    done
}

for k in 1 2; do
    write_dirigo_config "$k"
    write_keepalived_config "$k"
    start_dirigo "$k" || t_bail "dirigo $k starts"
done
t_pass "both directors' dirigo start (adaptive polling, prefixes $W_ID-1 and $W_ID-2)"
MAC1=$(mac_of 1)
MAC2=$(mac_of 2)
for k in 1 2; do
    start_keepalived "$k"
done

ok=0
t_wait_until 20 eval 'master_is 1 && services_up 1 && services_up 2' && ok=1
t_show "$(ip -n "${NS_DIR[1]}" -4 addr show dev ext; ip -n "${NS_DIR[1]}" -4 addr show dev int)"
t_expect "dir1 (MASTER, priority 150) holds $VIP on ext and $GW on int; dir2 holds neither; both have the virtual_server" "$ok"
((ok)) || { t_show "$(tail -30 "$W_TMP/keepalived1.log")"; t_show "$(tail -30 "$W_TMP/keepalived2.log")"; }

ok=0
t_wait_until 10 curl_ok 4 && ok=1
t_expect "requests to the VIP succeed through dir1" "$ok"
t_expect "the client's ARP entry for the VIP is dir1's MAC ($(client_mac) == $MAC1)" \
    "$([[ $(client_mac) == "$MAC1" ]] && echo 1)"
t_show "$(adm 1 -Ln --stats)"

# ---- The MASTER's dirigo dies ------------------------------------------------------------------
t0=$(now_ms)
kill -KILL "${DPID[1]}"
wait "${DPID[1]}" 2>/dev/null || true
DPID[1]=""
first_ms=""
while (($(now_ms) - t0 < FAILOVER_BOUND * 1000)); do
    if [[ $(get) == web* ]]; then
        first_ms=$(($(now_ms) - t0))
        break
    fi
    sleep 0.1
done
holds2=0
holds 2 ext "$VIP" && holds 2 int "$GW" && holds2=1
t_expect "after SIGKILL of dir1's dirigo, dir2 takes $VIP and $GW over" "$holds2"
if [[ -n $first_ms ]]; then
    t_pass "failover: the first new connection succeeds $(secs "$first_ms") s after the kill (bound ${FAILOVER_BOUND} s)"
else
    t_fail "failover: no request succeeded within ${FAILOVER_BOUND} s of the kill"
    t_show "$(tail -30 "$W_TMP/keepalived2.log")"
fi
ok=0
curl_ok 10 && ok=1
t_expect "10 new connections in a row succeed through dir2" "$ok"
t_expect "the client's ARP entry for the VIP is now dir2's MAC ($(client_mac) == $MAC2)" \
    "$([[ $(client_mac) == "$MAC2" ]] && echo 1)"
t_show "$(adm 2 -Ln --stats)"

# ---- dir1 comes back: dirigo, then keepalived (the old one lost its interfaces and its daemon) --
stop_pid "${KPID[1]}"
KPID[1]=""
start_dirigo 1 || t_bail "dir1's dirigo restarts"
t0=$(now_ms)
start_keepalived 1
back_ms=""
for ((i = 0; i < 300; i++)); do
    if master_is 1 && services_up 1 && [[ $(client_mac) == "$MAC1" ]] && curl_ok 1; then
        back_ms=$(($(now_ms) - t0))
        break
    fi
    sleep 0.1
done
t_expect "failback: dir1 preempts, holds $VIP and $GW again, the client's ARP entry is dir1's MAC and requests succeed, $(secs "${back_ms:-0}") s after its keepalived started" \
    "$([[ -n $back_ms ]] && echo 1)"
((${#back_ms})) || { t_show "$(tail -30 "$W_TMP/keepalived1.log")"; t_show "$(ip -n "$W_NS_CLI" neigh)"; }
ok=0
curl_ok 10 && ok=1
t_expect "10 new connections in a row succeed through dir1 again" "$ok"
before=$(adm 1 -Ln --stats | awk '$1 == "TCP" { print $3 }')
curl_ok 3 || true
after=$(adm 1 -Ln --stats | awk '$1 == "TCP" { print $3 }')
t_expect "dir1 counts the new connections ($before -> $after)" \
    "$([[ -n $after && $after -ge $((before + 3)) ]] && echo 1)"

# ---- The MASTER's keepalived stops (SIGTERM): priority-0 advert, the BACKUP takes over at once --
t0=$(now_ms)
stop_pid "${KPID[1]}"
KPID[1]=""
first_ms=""
while (($(now_ms) - t0 < FAILOVER_BOUND * 1000)); do
    if master_is 2 && [[ $(client_mac) == "$MAC2" && $(get) == web* ]]; then
        first_ms=$(($(now_ms) - t0))
        break
    fi
    sleep 0.1
done
t_expect "dir1's keepalived stopped (SIGTERM): dir2 holds the addresses, the client's ARP entry is dir2's MAC and requests succeed $(secs "${first_ms:-0}") s after the stop" \
    "$([[ -n $first_ms ]] && echo 1)"
t0=$(now_ms)
start_keepalived 1
back_ms=""
for ((i = 0; i < 300; i++)); do
    if master_is 1 && services_up 1 && [[ $(client_mac) == "$MAC1" ]] && curl_ok 1; then
        back_ms=$(($(now_ms) - t0))
        break
    fi
    sleep 0.1
done
t_expect "dir1's keepalived restarted: it preempts and serves again $(secs "${back_ms:-0}") s after starting" \
    "$([[ -n $back_ms ]] && echo 1)"

# ---- Clean stop: keepalived gives the addresses back, the daemons stop ------------------------
for k in 2 1; do
    stop_pid "${KPID[k]}"
    KPID[k]=""
done
ok=1
for k in 1 2; do
    if holds "$k" ext "$VIP" || holds "$k" int "$GW"; then ok=0; fi
done
t_expect "keepalived removes the virtual addresses when it stops" "$ok"
ok=1
for k in 1 2; do
    pid=${DPID[k]}
    DPID[k]=""
    kill -TERM "$pid" 2>/dev/null || true
    rc=0
    timeout 15 tail --pid="$pid" -f /dev/null 2>/dev/null || { kill -KILL "$pid"; ok=0; }
    wait "$pid" 2>/dev/null || rc=$?
    ((rc == 0)) || ok=0
done
t_expect "both dirigo stop on SIGTERM with status 0" "$ok"
t_summary
