#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end LVS/TUN (IP-in-IP, `-i`, "Tunnel"), the mode seed 002 and seed 003 describe: the
# director encapsulates each client packet (outer 172.16.0.1 -> RIP, protocol 4) and the real
# server decapsulates it on tunl0, where it holds the VIP, and answers the client directly,
# through a router that is not the director.
#
#   client 10.0.0.2 -- wan bridge -- director ext (VIP 10.0.0.100) ... int 172.16.0.1 -- lan
#                          |                                                             |
#                        router 10.0.0.254 / 172.16.0.254 -------------------------------+
#   rs1, rs2 (172.16.0.11/.12): tunl0 up with the VIP, rp_filter off, ARP quiet, default route
#   via the router (world_rs_tun).
#
# tunl0 is the ipip module's. On a kernel built without it (CONFIG_NET_IPIP unset: no tunl0 in any
# namespace, `ip link add type ipip` says "Unknown device type"), world_rs_tun emulates tunl0 with
# a TUN device fed by a userspace decapsulator; the director's side is the same either way. The
# test prints which one ran. It skips (77) only when neither is possible.
#
# Checks: -Ln shows Tunnel (and ipip with --tun-info); -S writes `-i ... --tun-type ipip` and -R
# takes it back; port mapping is refused; requests alternate; each server decapsulated packets
# on tunl0; the director carried only the client's half (OutPkts 0, nothing sent to the client);
# a request larger than the tunnel's MTU gets through by path-MTU discovery (the director answers
# ICMP "fragmentation needed" with MTU 1480).
# Usage: tun_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_tun
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

world_install_trap
world_create 2 router
# Not in $(...): world_rs_tun starts helpers and sets variables this shell needs.
if ! world_rs_tun 2>"$W_TMP/rs_tun.err"; then
    t_unavailable "no IP-in-IP decapsulation on this machine: $(cat "$W_TMP/rs_tun.err")"
fi
echo "    tunl0 on the real servers: $W_TUN_MODE"
world_start_servers
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

VS="$W_VIP:$W_VPORT"
RIP1=$(world_rs_ip 1)
RIP2=$(world_rs_ip 2)
PY=$(world_python)

# rx_packets NS IF / tx_packets NS IF: the kernel's counters of an interface.
link_stat() {
    ip -n "$1" -s -j link show "$2" | "$PY" -c \
        "import json,sys; print(json.load(sys.stdin)[0]['stats64']['$3']['packets'])"
}
port_counter() {
    world_adm --list-ports --exact | awk -v p="$1" -v c="$2" '$1 == p { print $c; exit }'
}

ok=1
t_adm -C || ok=0
t_adm -A -t "$VS" -s rr || ok=0
t_adm -a -t "$VS" -r "$RIP1" -i || ok=0
t_adm -a -t "$VS" -r "$RIP2" -i || ok=0
t_expect "the TUN rules apply (-A -s rr, -a -i twice)" "$ok"
listing=$(world_adm -Ln)
t_show "$listing"
t_expect "-Ln: two Tunnel servers on port 80" \
    "$([[ $(grep -Ec -- "-> 172\.16\.0\.1[12]:80 +Tunnel +1 " <<<"$listing") == 2 ]] && echo 1)"
listing=$(world_adm -Ln --tun-info)
t_expect "-Ln --tun-info: TunnelInfo ipip" \
    "$([[ $(grep -Ec -- "-> 172\.16\.0\.1[12]:80 +Tunnel +ipip " <<<"$listing") == 2 ]] && echo 1)"
rc=0
msg=$(world_adm -a -t "$VS" -r "$(world_rs_ip 3):8080" -i 2>&1) || rc=$?
t_expect "port mapping with -i is refused (exit $rc: $msg)" \
    "$([[ $rc == 2 && $msg == *'port mapping needs masquerading'* ]] && echo 1)"
saved=$(world_adm -Sn)
t_show "$saved"
ok=0
if [[ $(grep -c -- "-i -w 1 --tun-type ipip$" <<<"$saved") == 2 ]] &&
    world_adm -C && world_adm -R <<<"$saved" && [[ $(world_adm -Sn) == "$saved" ]]; then
    ok=1
fi
t_expect "-Sn writes '-i -w 1 --tun-type ipip' and -C, -R restore the same rules" "$ok"

tun_rx1=$(link_stat "${W_NS_RS[0]}" tunl0 rx)
tun_rx2=$(link_stat "${W_NS_RS[1]}" tunl0 rx)
ext_tx0=$(port_counter ext 9)
int_rx0=$(port_counter int 8)
rtr_tx0=$(link_stat "$W_NS_RTR" wan0 tx)
t_curl_n 10
echo "    10 requests: ${REPLIES[*]}"
t_expect "10 requests through the tunnels alternate web1/web2 ($(t_tally "${REPLIES[@]}"))" \
    "$(t_alternates "${REPLIES[@]}" && [[ $(t_count web1 "${REPLIES[@]}") == 5 ]] && echo 1)"
tun_rx1=$(($(link_stat "${W_NS_RS[0]}" tunl0 rx) - tun_rx1))
tun_rx2=$(($(link_stat "${W_NS_RS[1]}" tunl0 rx) - tun_rx2))
t_expect "each real server decapsulated the client's packets on tunl0 ($tun_rx1 and $tun_rx2 packets)" \
    "$([[ $tun_rx1 -ge 25 && $tun_rx2 -ge 25 ]] && echo 1)"
stats=$(world_adm -Ln --stats)
t_show "$stats"
ext_tx=$(($(port_counter ext 9) - ext_tx0))
int_rx=$(($(port_counter int 8) - int_rx0))
rtr_tx=$(($(link_stat "$W_NS_RTR" wan0 tx) - rtr_tx0))
echo "    during the 10 requests: director ext TX $ext_tx, int RX $int_rx; router wan0 TX $rtr_tx"
t_expect "--stats: the service's InPkts > 0 and OutPkts 0" "$(
    [[ $(t_field "$stats" "^TCP  $VS" 4) -gt 0 && $(t_field "$stats" "^TCP  $VS" 5) == 0 ]] && echo 1
)"
t_expect "replies went client-wards through the router ($rtr_tx packets), not the director (ext TX $ext_tx, int RX $int_rx: ARP at most)" \
    "$([[ $rtr_tx -ge 30 && $ext_tx -le 3 && $int_rx -le 8 ]] && echo 1)"

# A request of about 4 KB: the client's full-size segments (1500 bytes) do not fit a tunnel on a
# 1500-byte port; dirigo answers ICMP "fragmentation needed" (MTU 1480), the client shrinks them.
pad=$(head -c 4000 /dev/zero | tr '\0' a)
code=$(world_curl "http://$VS/" -H "X-Pad: $pad" -o /dev/null -w '%{http_code}' 2>/dev/null) || code=ERR
pmtu=$(world_exec "$W_NS_CLI" ip route get "$W_VIP" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
t_expect "a 4 KB request crosses the tunnel (HTTP $code) after path-MTU discovery (client's MTU to the VIP: ${pmtu:-none})" \
    "$([[ $code == 200 && $pmtu == 1480 ]] && echo 1)"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
