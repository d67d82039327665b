#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Seed 004 (/work/shared/seeds/004_*.txt, "LVS-NAT模式实现方案"), replayed end to end with dirigoadm
# in place of ipvsadm. The seed's VIP 192.168.1.200 and real servers 10.0.0.2/.3 are this world's
# 10.0.0.100 and 172.16.0.11/.12 (the real servers' gateway is the director's inside address).
#
#   ipvsadm -C
#   ipvsadm --set 30 5 60
#   ipvsadm -A -t VIP:80 -s rr
#   ipvsadm -a -t VIP:80 -r RIP1:80 -m
#   ipvsadm -a -t VIP:80 -r RIP2:80 -m
#   ipvsadm-save > /etc/sysconfig/ipvsadm          (ipvsadm-save is `ipvsadm -S`)
#   ipvsadm -L -n
#   for i in {1..10}; do curl -s http://VIP; done  (round robin)
#   ipvsadm -L -n --stats; ipvsadm -L -n --rate; ipvsadm -L -n --connections
#   ipvsadm -E -t VIP:80 -s wrr                     (weighted round robin, weights 2 and 1)
#   ipvsadm -e -t VIP:80 -r RIP1:80 -m -w 2
#   ipvsadm -e -t VIP:80 -r RIP2:80 -m -w 1
#   ipvsadm -E -t VIP:80 -s rr -p 300               (persistence)
#   ipvsadm -L --timeout
#
# `--connections` is the seed's slip: ipvsadm's long option is `--connection` (-c), and ipvsadm
# refuses `--connections` ("unknown option"); dirigoadm does the same, and the test lists with
# `--connection`. Left out: the keepalived virtual_server blocks, VRRP and TCP_CHECK health
# checks (keepalived, not ipvsadm), and the kernel tuning sysctls.
# Usage: seed_004_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_seed_004
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

world_install_trap
world_create 2
world_start_servers
world_add_clients 2   # A = 10.0.0.2, B = 10.0.0.3
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

VS="$W_VIP:$W_VPORT"
RIP1=$(world_rs_ip 1)
RIP2=$(world_rs_ip 2)
A=${W_CLIENT_IPS[0]} B=${W_CLIENT_IPS[1]}
SAVE="$W_TMP/ipvsadm"   # the seed's /etc/sysconfig/ipvsadm

ok=1
t_adm -C || ok=0
t_adm --set 30 5 60 || ok=0
t_adm -A -t "$VS" -s rr || ok=0
t_adm -a -t "$VS" -r "$RIP1:80" -m || ok=0
t_adm -a -t "$VS" -r "$RIP2:80" -m || ok=0
t_expect "the seed's commands apply (-C, --set 30 5 60, -A -s rr, -a -m twice)" "$ok"
timeouts=$(world_adm -L --timeout)
echo "    $timeouts"
t_expect "-L --timeout shows 'Timeout (tcp tcpfin udp): 30 5 60'" \
    "$([[ $timeouts == 'Timeout (tcp tcpfin udp): 30 5 60' ]] && echo 1)"
echo "    # dirigoadm -S > $SAVE"
world_adm -S >"$SAVE" || true
t_show "$(cat "$SAVE")"
t_expect "ipvsadm-save's -S writes the service and both servers" "$(
    [[ $(grep -c '^-A -t 10\.0\.0\.100:http -s rr$' "$SAVE") == 1 &&
        $(grep -Ec '^-a -t 10\.0\.0\.100:http -r 172\.16\.0\.1[12]:http -m -w 1$' "$SAVE") == 2 ]] && echo 1
)"
listing=$(world_adm -L -n)
t_show "$listing"
t_expect "-L -n: TCP $VS rr, two Masq servers" "$(
    grep -Eq "^TCP  $VS rr *$" <<<"$listing" &&
        [[ $(grep -Ec -- "-> 172\.16\.0\.1[12]:80 +Masq +1 " <<<"$listing") == 2 ]] && echo 1
)"

# for i in {1..10}; do curl -s http://VIP; done
t_curl_n 10
echo "    ${REPLIES[*]}"
t_expect "10 curls alternate between the two servers (${REPLIES[*]})" \
    "$(t_alternates "${REPLIES[@]}" && [[ $(t_count web1 "${REPLIES[@]}") == 5 ]] && echo 1)"

stats=$(world_adm -L -n --stats)
t_show "$stats"
t_expect "-L -n --stats: 10 connections, 5 per server" "$(
    [[ $(t_field "$stats" "^TCP  $VS" 3) == 10 && $(t_field "$stats" "-> $RIP1:80" 3) == 5 &&
        $(t_field "$stats" "-> $RIP2:80" 3) == 5 ]] && echo 1
)"
rate=$(world_adm -L -n --rate)
t_expect "-L -n --rate lists the service with its five rate columns" "$(
    grep -q 'CPS    InPPS   OutPPS    InBPS   OutBPS' <<<"$rate" &&
        [[ $(awk -v vs="$VS" '$1 == "TCP" && $2 == vs { print NF }' <<<"$rate") == 7 ]] && echo 1
)"
rc=0
msg=$(world_adm -L -n --connections 2>&1) || rc=$?
t_expect "-L -n --connections (the seed's spelling) is refused as ipvsadm refuses it ('--connections: unknown option', exit $rc)" \
    "$([[ $rc == 255 && $msg == '--connections: unknown option'* ]] && echo 1)"
conns=$(world_adm -L -n --connection)
t_show "$(head -n 4 <<<"$conns")"
t_expect "-L -n --connection lists the 10 connections (TIME_WAIT, client -> $VS -> RIP:80)" "$(
    [[ $(grep -Ec "^TCP [0-9:]+ +[A-Z_]+ +$A:[0-9]+ +$VS +172\.16\.0\.1[12]:80" <<<"$conns") == 10 ]] && echo 1
)"

# wrr with weights 2 and 1: exactly 2:1.
ok=1
t_adm -E -t "$VS" -s wrr || ok=0
t_adm -e -t "$VS" -r "$RIP1:80" -m -w 2 || ok=0
t_adm -e -t "$VS" -r "$RIP2:80" -m -w 1 || ok=0
listing=$(world_adm -L -n)
t_show "$listing"
t_expect "-E -s wrr and -e -w 2 / -w 1: -L -n shows wrr and weights 2 and 1" "$(
    [[ $ok == 1 ]] && grep -Eq "^TCP  $VS wrr *$" <<<"$listing" &&
        grep -Eq -- "-> $RIP1:80 +Masq +2 " <<<"$listing" &&
        grep -Eq -- "-> $RIP2:80 +Masq +1 " <<<"$listing" && echo 1
)"
t_curl_n 30
echo "    ${REPLIES[*]}"
t_expect "wrr 2:1 over 30 sequential requests: exactly 20/10 ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count web1 "${REPLIES[@]}") == 20 && $(t_count web2 "${REPLIES[@]}") == 10 ]] && echo 1)"

# Persistence: -p 300.
t_adm -E -t "$VS" -s rr -p 300 || true
listing=$(world_adm -L -n)
t_expect "-E -s rr -p 300: -L -n shows 'rr persistent 300'" \
    "$(grep -Eq "^TCP  $VS rr persistent 300 *$" <<<"$listing" && echo 1)"
t_curl_n 10 --interface "$A"
ra=("${REPLIES[@]}")
t_curl_n 10 --interface "$B"
rb=("${REPLIES[@]}")
echo "    client A: ${ra[*]}"
echo "    client B: ${rb[*]}"
t_expect "-p 300: client A's 10 requests all reach one server (${ra[0]})" "$(t_all_same "${ra[@]}" && echo 1)"
t_expect "-p 300: client B's 10 requests all reach one server, the other one: rr moved on (${rb[0]})" \
    "$(t_all_same "${rb[@]}" && [[ ${rb[0]} != "${ra[0]}" ]] && echo 1)"
conns=$(world_adm -Lnc)
t_expect "-Lnc shows both clients' persistence templates (NONE, expire near 5:00)" "$(
    grep -Eq "^TCP 0[45]:[0-9]{2} +NONE +$A:0 +$VS " <<<"$conns" &&
        grep -Eq "^TCP 0[45]:[0-9]{2} +NONE +$B:0 +$VS " <<<"$conns" && echo 1
)"
timeouts=$(world_adm -L --timeout)
t_expect "-L --timeout still shows 30 5 60 ($timeouts)" \
    "$([[ $timeouts == 'Timeout (tcp tcpfin udp): 30 5 60' ]] && echo 1)"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
