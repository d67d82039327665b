#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, the dataplane views dirigoadm adds to ipvsadm's language (docs/cli.md, "Beyond
# ipvsadm"): --list-ports, --list-workers, --list-neighbours, --list-routes, after real traffic
# through a NAT service (the seed 000 set-up), checked against what the kernel side of the world
# knows (MACs, packet counters).
# Usage: views_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_views
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

world_install_trap
world_create 2
world_start_servers
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

# ---- adaptive polling: an idle daemon leaves the machine alone -----------------------------------
# world_write_config sets dataplane.poll = "adaptive". utime + stime (fields 14 and 15 of
# /proc/PID/stat, in clock ticks) over 2 s idle: of the worker thread (rte-worker-*), which busy
# polling would keep at ~100% of a core, and of the whole daemon, whose control thread also wakes
# every millisecond (socket, slow path, exception path, rtnetlink).
cpu_ticks() { sed 's/.*) //' "$1" | awk '{print $12 + $13}'; }
worker_stat=$(grep -l '^rte-worker' /proc/"$W_DIRIGO_PID"/task/*/comm | head -n 1)
worker_stat=${worker_stat%/comm}/stat
hz=$(getconf CLK_TCK)
c0=$(cpu_ticks "/proc/$W_DIRIGO_PID/stat")
w0=$(cpu_ticks "$worker_stat")
t0=$(date +%s%N)
sleep 2
c1=$(cpu_ticks "/proc/$W_DIRIGO_PID/stat")
w1=$(cpu_ticks "$worker_stat")
t1=$(date +%s%N)
idle_pct=$(((c1 - c0) * 100 * 1000000000 / hz / (t1 - t0)))
worker_pct=$(((w1 - w0) * 100 * 1000000000 / hz / (t1 - t0)))
t_expect "adaptive polling: the idle worker used ${worker_pct}% of a core over 2 s (< 20%; busy polling: 100%)" \
    "$([[ $worker_pct -lt 20 ]] && echo 1)"
t_expect "the idle daemon as a whole used ${idle_pct}% of a core (< 50%)" \
    "$([[ $idle_pct -lt 50 ]] && echo 1)"

VS="$W_VIP:$W_VPORT"
PY=$(world_python)
mac_of() { ip -n "$1" -j link show "$2" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }
tx_of() { ip -n "$1" -s -j link show "$2" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])'; }

world_adm -A -t "$VS" -s rr
world_adm -a -t "$VS" -r "$(world_rs_ip 1):80" -m
world_adm -a -t "$VS" -r "$(world_rs_ip 2):80" -m
t_curl_n 10
t_expect "traffic: 10 requests through the NAT service ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count ERR "${REPLIES[@]}") == 0 ]] && echo 1)"
# A port with no service is the director's kernel's: up the exception path (its RST comes back).
world_curl "http://$W_VIP:81/" --connect-timeout 1 --max-time 1 >/dev/null 2>&1 || true
# A TCP ACK to the service with no connection behind it: dropped as no_conn.
world_exec "$W_NS_CLI" "$PY" - "$W_CLIENT_IP" "$W_VIP" <<'PYEOF'
import socket, struct, sys
src, dst = sys.argv[1], sys.argv[2]
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
tcp = struct.pack("!HHIIBBHHH", 40999, 80, 1, 1, 5 << 4, 0x10, 65535, 0, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.sendto(tcp, (dst, 0))
PYEOF

# The port and worker views below are read one after the other and compared packet for packet,
# so from here on nothing may reach or leave the director unasked. The hosts' kernels would
# re-check their ARP entries for the director (unicast probes that it answers): pin them.
for a in "$W_EXT_IP" "$W_VIP"; do
    ip -n "$W_NS_CLI" neigh replace "$a" lladdr "$(mac_of "$W_NS_DIR" ext0)" dev eth0 nud permanent
done
for ns in "${W_NS_RS[@]}"; do
    ip -n "$ns" neigh replace "$W_INT_IP" lladdr "$(mac_of "$W_NS_DIR" int0)" dev eth0 nud permanent
done
# A real server pings an address behind the director's default gateway 10.0.0.254, which does not
# exist here: the director asks for the gateway (incomplete) until its last try goes unanswered
# (failed); only then has it stopped sending on its own.
world_exec "${W_NS_RS[0]}" ping -n -c 2 -i 0.3 -W 1 192.0.2.1 >/dev/null 2>&1 || true
gw_state=""
for ((i = 0; i < 100; i++)); do
    gw_state=$(world_adm --list-neighbours -n | awk -v gw="$W_EXT_GW" '$1 == gw { print $4 }')
    [[ $gw_state == failed ]] && break
    sleep 0.1
done

# ---- --list-ports ---------------------------------------------------------------------------------
plist=$(world_adm --list-ports --exact)
t_show "$(world_adm --list-ports)"
t_expect "--list-ports: the two header lines" "$(
    [[ $(sed -n 1p <<<"$plist") == 'Port     Device           Link  Speed   MTU RxQ TxQ   RxPkts   TxPkts RxMissed    RxErr    TxErr' &&
        $(sed -n 2p <<<"$plist") == '  -> Id    MAC                RxBytes  TxBytes Addresses' ]] && echo 1
)"
read -r _ ext_dev ext_link _ ext_mtu _ _ ext_rx ext_tx _ _ _ < <(grep '^ext ' <<<"$plist")
read -r _ ext_id ext_mac _ _ ext_addrs < <(grep -A1 '^ext ' <<<"$plist" | tail -n 1)
read -r _ int_dev int_link _ int_mtu _ _ int_rx int_tx _ _ _ < <(grep '^int ' <<<"$plist")
read -r _ int_id int_mac _ _ int_addrs < <(grep -A1 '^int ' <<<"$plist" | tail -n 1)
t_expect "--list-ports: ext is port 0, net_af_packet0, up, MTU 1500, 10.0.0.1/24 and the VIP" "$(
    [[ $ext_id == 0 && $ext_dev == net_af_packet0 && $ext_link == up && $ext_mtu == 1500 &&
        $ext_addrs == "$W_EXT_IP/24 $W_VIP/32" ]] && echo 1
)"
t_expect "--list-ports: int is port 1, net_af_packet1, up, MTU 1500, 172.16.0.1/24" "$(
    [[ $int_id == 1 && $int_dev == net_af_packet1 && $int_link == up && $int_mtu == 1500 &&
        $int_addrs == "$W_INT_IP/24" ]] && echo 1
)"
t_expect "--list-ports: the MACs are those of ext0 and int0 ($ext_mac, $int_mac)" "$(
    [[ $ext_mac == "$(mac_of "$W_NS_DIR" ext0)" && $int_mac == "$(mac_of "$W_NS_DIR" int0)" ]] && echo 1
)"
cli_tx=$(tx_of "$W_NS_CLI" eth0)
t_expect "--list-ports: ext received what the client sent ($ext_rx of $cli_tx packets) and sent back $ext_tx" \
    "$([[ $ext_rx -ge 70 && $((cli_tx - ext_rx)) -le 2 && $((cli_tx - ext_rx)) -ge 0 && $ext_tx -ge 50 ]] && echo 1)"
t_expect "--list-ports: int forwarded to and from the servers (TX $int_tx, RX $int_rx)" \
    "$([[ $int_tx -ge 70 && $int_rx -ge 50 ]] && echo 1)"
drops=$(sed -n '/^Drops by reason/,$p' <<<"$plist")
nconn=$(awk '$1 == "no_conn" { print $2 }' <<<"$drops")
ext_up=$(grep -A2 '^ext ' <<<"$plist" | tail -n 1 | awk '{ print $2, $3, $4 }')
t_expect "--list-ports --exact: all 47 drop reasons (31 of the dataplane, 4 of the exception path, 3 defence counters of connection entries, 4 SYN-proxy decisions, 5 fragment counters), no_conn counted the stray ACK ($nconn)" \
    "$([[ $(($(wc -l <<<"$drops") - 1)) == 47 && ${nconn:-0} -ge 1 ]] && echo 1)"
t_expect "--list-ports without --exact lists only the non-zero reasons" "$(
    [[ $(world_adm --list-ports | sed -n '/^Drops by reason/,$p' | awk 'NR > 1 && $2 == 0' | wc -l) == 0 ]] &&
        world_adm --list-ports | grep -q '^  no_conn ' && echo 1
)"
read -r k_if k_link k_up _ <<<"$ext_up"
t_expect "--list-ports: ext's kernel interface, up, took the SYN to port 81 (kernel line: $ext_up)" \
    "$([[ $k_if == ext && $k_link == up && ${k_up:-0} -ge 1 ]] && echo 1)"

# ---- --list-workers ---------------------------------------------------------------------------------
workers=$(world_adm --list-workers)
t_show "$workers"
read -r w_id w_lcore w_rx w_tx w_drops w_busy w_conns w_created _ _ w_sleeps < <(sed -n 2p <<<"$workers")
t_expect "--list-workers: header, and one worker (id 0) on lcore 1" "$(
    [[ $(sed -n 1p <<<"$workers") == 'Worker Lcore    RxPkts    TxPkts     Drops  Busy%     Conns   Created HandedOff TakenOver    Sleeps' &&
        $(wc -l <<<"$workers") == 2 && $w_id == 0 && $w_lcore == 1 ]] && echo 1
)"
t_expect "--list-workers: the worker received and sent what the ports did (RX $w_rx = $ext_rx + $int_rx, TX $w_tx = $ext_tx + $int_tx)" \
    "$([[ $w_rx == $((ext_rx + int_rx)) && $w_tx == $((ext_tx + int_tx)) ]] && echo 1)"
t_expect "--list-workers: it created the 10 connections and still holds them (TIME_WAIT); drops $w_drops; busy $w_busy" \
    "$([[ $w_created -ge 10 && $w_conns -ge 10 && $w_drops -ge 1 && $w_busy =~ ^([0-9]+\.[0-9]|-)$ ]] && echo 1)"
t_expect "--list-workers: the adaptive worker slept while idle (Sleeps $w_sleeps)" \
    "$([[ $w_sleeps =~ ^[0-9]+K?$ && $w_sleeps != 0 ]] && echo 1)"

# ---- --list-neighbours ----------------------------------------------------------------------------
neigh=$(world_adm --list-neighbours -n)
t_show "$neigh"
t_expect "--list-neighbours: header" \
    "$([[ $(sed -n 1p <<<"$neigh") == 'Address          MAC               Port     State' ]] && echo 1)"
t_expect "--list-neighbours: the client, resolved on ext with its MAC" \
    "$(grep -Eq "^$W_CLIENT_IP +$(mac_of "$W_NS_CLI" eth0) +ext +resolved$" <<<"$neigh" && echo 1)"
t_expect "--list-neighbours: both real servers, resolved on int with their MACs" "$(
    grep -Eq "^$(world_rs_ip 1) +$(mac_of "${W_NS_RS[0]}" eth0) +int +resolved$" <<<"$neigh" &&
        grep -Eq "^$(world_rs_ip 2) +$(mac_of "${W_NS_RS[1]}" eth0) +int +resolved$" <<<"$neigh" && echo 1
)"
t_expect "--list-neighbours: the absent gateway $W_EXT_GW, failed after its last try, no MAC" \
    "$(grep -Eq "^$W_EXT_GW +- +ext +failed$" <<<"$neigh" && echo 1)"
t_expect "--list-neighbors (US spelling) and --nosort give the same entries" \
    "$([[ $(world_adm --list-neighbors -n --nosort | sort) == "$(sort <<<"$neigh")" ]] && echo 1)"

# ---- --list-routes ----------------------------------------------------------------------------------
routes=$(world_adm --list-routes -n)
t_show "$routes"
t_expect "--list-routes: the default route of the configuration and the two connected subnets" "$(
    [[ $routes == "$(printf '%-18s %-20s %s\n' Destination Gateway Port '0.0.0.0/0' "via $W_EXT_GW" ext \
        10.0.0.0/24 connected ext 172.16.0.0/24 connected int)" ]] && echo 1
)"

# ---- options refused as ipvsadm refuses them --------------------------------------------------------
rc=0
msg=$(world_adm --list-ports --stats 2>&1) || rc=$?
t_expect "--list-ports --stats is refused ($msg, exit $rc)" \
    "$([[ $rc == 2 && $msg == "Illegal 'stats' option with the 'list-ports' command" ]] && echo 1)"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
