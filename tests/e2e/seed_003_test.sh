#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Seed 003 (/work/shared/seeds/003_*.txt, "LVS 在 Fedora Core5 上的配置指南"), replayed end to end with
# dirigoadm in place of ipvsadm: VS/NAT with wlc over three real servers, then VS/DR with wlc over
# three real servers whose replies bypass the director through another router.
#
# One world holds both set-ups (world_create 6 router):
#   client 10.0.0.2 -- wan bridge -- director ext (10.0.0.1, VIP 10.0.0.100) ... int (172.16.0.1)
#                         |                                                      |
#                       router 10.0.0.254 / 172.16.0.254 ------------------- lan bridge
#   rs1..rs3 (172.16.0.11-13, "web1-3"): NAT servers, default route via the director
#   rs4..rs6 (172.16.0.14-16, "web4-6"): DR servers, the VIP on lo, arp_ignore=1 and
#       arp_announce=2 (the seed's sysctl.conf lines), default route via the router: the seed's
#       "RouterB" (192.168.0.252); the director's own gateway is the router too ("RouterA").
#
# Listing 1 (VS/NAT):                        Listing 9 (VS/DR):
#   ipvsadm -C                                 ipvsadm -C
#   ipvsadm -A -t VIP:80 -s wlc                ipvsadm -A -t VIP:80 -s wlc
#   ipvsadm -a -t VIP:80 -r RIP1:80 -m         ipvsadm -a -t VIP:80 -r RIP4 -g
#   ipvsadm -a -t VIP:80 -r RIP2:80 -m         ipvsadm -a -t VIP:80 -r RIP5 -g
#   ipvsadm -a -t VIP:80 -r RIP3:80 -m         ipvsadm -a -t VIP:80 -r RIP6 -g
#   ipvsadm -a -t VIP:80 -r DIP:80 -m          ipvsadm -Ln
#   ipvsadm -Ln
# Left out: Listing 1's last real server is the director itself (192.168.0.254:80, "the director
# can also be a real server"): dirigo has no local web server on its DPDK ports to send it to.
# The seed's VIPs (192.168.10.254 for NAT, 192.168.0.200 for DR) are both this world's 10.0.0.100.
#
# NAT checks: -Ln shows Masq; with weights 1, 2, 3 (set with -e), twelve held connections spread
# exactly as wlc prescribes, 2/4/6. DR checks: -Ln shows Route; 30 requests spread 10/10/10; the
# director saw only the client's half (service OutPkts 0, its client-side port sent no data, the
# router forwarded the replies).
# Usage: seed_003_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_seed_003
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

world_install_trap
world_create 6 router
world_rs_dr 4 5 6
world_start_servers
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

VS="$W_VIP:$W_VPORT"
RIP=()
for ((i = 1; i <= 6; i++)); do
    RIP[i]=$(world_rs_ip "$i")
done

# port_counter NAME COLUMN: a column of --list-ports' first line for port NAME (--exact).
port_counter() {
    world_adm --list-ports --exact | awk -v p="$1" -v c="$2" '$1 == p { print $c; exit }'
}

# ---- VS/NAT, Listing 1 -------------------------------------------------------------------------
echo "== VS/NAT =="
ok=1
t_adm -C || ok=0
t_adm -A -t "$VS" -s wlc || ok=0
for i in 1 2 3; do
    t_adm -a -t "$VS" -r "${RIP[i]}:80" -m || ok=0
done
t_expect "Listing 1 applies (without the director as its own real server)" "$ok"
listing=$(world_adm -Ln)
t_show "$listing"
t_expect "-Ln: TCP $VS wlc, three Masq servers of weight 1" "$(
    grep -Eq "^TCP  $VS wlc *$" <<<"$listing" &&
        [[ $(grep -Ec -- "-> 172\.16\.0\.1[123]:80 +Masq +1 " <<<"$listing") == 3 ]] && echo 1
)"

# Weights 1, 2, 3; then twelve connections opened one after another and held open. wlc sends each
# to the lowest ActiveConn/weight, the first in list order on ties; the list is newest first, as
# the kernel's (RIP3 RIP2 RIP1): 3,2,1,3,2,3,3,2,1,3,2,3.
t_adm -e -t "$VS" -r "${RIP[2]}:80" -m -w 2 || true
t_adm -e -t "$VS" -r "${RIP[3]}:80" -m -w 3 || true
t_hold_start nat 12
echo "    12 held connections: ${HELD[*]}"
listing=$(world_adm -Ln)
t_show "$listing"
t_expect "wlc spreads 12 concurrent connections by weight: $(t_tally "${HELD[@]}") (want 2/4/6)" "$(
    [[ ${#HELD[@]} == 12 && $(t_count web1 "${HELD[@]}") == 2 && $(t_count web2 "${HELD[@]}") == 4 &&
        $(t_count web3 "${HELD[@]}") == 6 ]] && echo 1
)"
t_expect "in wlc's order (${HELD[*]})" \
    "$([[ ${HELD[*]} == 'web3 web2 web1 web3 web2 web3 web3 web2 web1 web3 web2 web3' ]] && echo 1)"
t_expect "-Ln: weights 1/2/3, Masq, ActiveConn 2/4/6" "$(
    grep -Eq -- "-> ${RIP[1]}:80 +Masq +1 +2 " <<<"$listing" &&
        grep -Eq -- "-> ${RIP[2]}:80 +Masq +2 +4 " <<<"$listing" &&
        grep -Eq -- "-> ${RIP[3]}:80 +Masq +3 +6 " <<<"$listing" && echo 1
)"
t_hold_stop nat

# ---- VS/DR, Listing 9 --------------------------------------------------------------------------
echo "== VS/DR =="
ok=1
t_adm -C || ok=0
t_adm -A -t "$VS" -s wlc || ok=0
for i in 4 5 6; do
    t_adm -a -t "$VS" -r "${RIP[i]}" -g || ok=0
done
t_expect "Listing 9 applies" "$ok"
listing=$(world_adm -Ln)
t_show "$listing"
t_expect "-Ln: TCP $VS wlc, three Route servers (port 80 from the service), weight 1" "$(
    grep -Eq "^TCP  $VS wlc *$" <<<"$listing" &&
        [[ $(grep -Ec -- "-> 172\.16\.0\.1[456]:80 +Route +1 " <<<"$listing") == 3 ]] && echo 1
)"

ext_rx0=$(port_counter ext 8)
ext_tx0=$(port_counter ext 9)
int_rx0=$(port_counter int 8)
rtr_tx0=$(ip -n "$W_NS_RTR" -s -j link show wan0 | "$(world_python)" -c \
    'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])')
t_curl_n 30
echo "    30 requests: ${REPLIES[*]}"
t_expect "DR: 30 requests spread evenly by wlc ($(t_tally "${REPLIES[@]}"), want 10/10/10)" "$(
    [[ $(t_count web4 "${REPLIES[@]}") == 10 && $(t_count web5 "${REPLIES[@]}") == 10 &&
        $(t_count web6 "${REPLIES[@]}") == 10 ]] && echo 1
)"
stats=$(world_adm -Ln --stats)
t_show "$stats"
t_expect "--stats: the DR service saw the client's packets (InPkts > 0) and no reply (OutPkts 0)" "$(
    [[ $(t_field "$stats" "^TCP  $VS" 4) -gt 0 && $(t_field "$stats" "^TCP  $VS" 5) == 0 ]] && echo 1
)"
ext_rx=$(($(port_counter ext 8) - ext_rx0))
ext_tx=$(($(port_counter ext 9) - ext_tx0))
int_rx=$(($(port_counter int 8) - int_rx0))
rtr_tx=$(($(ip -n "$W_NS_RTR" -s -j link show wan0 | "$(world_python)" -c \
    'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])') - rtr_tx0))
t_show "$(world_adm --list-ports)"
echo "    during the 30 requests: director ext RX $ext_rx, ext TX $ext_tx, int RX $int_rx; router wan0 TX $rtr_tx"
t_expect "the director received the client->VIP half ($ext_rx packets on ext) and sent nothing back to the client (ext TX $ext_tx: ARP at most)" \
    "$([[ $ext_rx -ge 150 && $ext_tx -le 3 ]] && echo 1)"
t_expect "the replies bypassed the director: its inside port received no data ($int_rx packets: ARP only), the router forwarded them ($rtr_tx packets)" \
    "$([[ $int_rx -le 12 && $rtr_tx -ge 90 ]] && echo 1)"
ext_mac=$(world_adm --list-ports | awk '$1 == "ext" { getline; print $3; exit }')
vip_mac=$(ip -n "$W_NS_CLI" neigh show "$W_VIP" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
t_expect "the client's ARP entry for the VIP is the director's ext port ($vip_mac = $ext_mac): the real servers keep quiet" \
    "$([[ -n $vip_mac && $vip_mac == "$ext_mac" ]] && echo 1)"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
