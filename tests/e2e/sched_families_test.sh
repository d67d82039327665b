#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, one quick check per scheduler family, through dirigo in network namespaces (NAT,
# three real servers "web1".."web3", eight client addresses 10.0.0.2-9). Each check has its own
# virtual service (VIP:8001, VIP:8002, ..., mapped to the servers' port 80), so the connections
# one check leaves behind do not weigh on the next one's counts.
#
#   rr, wrr           exact rotation; exact weighted split
#   lc, wlc, sed, nq  connections held open: each scheduler's own order and split
#   sh, mh            source hashing: a client always gets the same server, clients spread
#   dh                destination hashing: every client gets the same server (one destination)
#   lblc, lblcr       locality: the destination stays on its server, until that server is
#                     overloaded (active > weight while another is under half its weight)
#   fo, ovf           the highest weight wins; ovf spills once active connections exceed it
#   twos              random two choices: every request answered, spread over the servers
#
# The expected orders follow docs/schedulers.md (IPVS's rules; the list is newest first, as the
# kernel's: web3 web2 web1 here, since web1 is added first; the first in the list wins ties).
# Usage: sched_families_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_sched_families
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

world_install_trap
world_create 3
world_start_servers
world_add_clients 8
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

NEXT_PORT=8000
# service SCHED W1 W2 W3 [-A OPTIONS...]: a new service VIP:PORT (PORT in $PORT) with the three
# servers at those weights, NAT to port 80.
service() {
    local sched=$1 i ok=1
    local w=("$2" "$3" "$4")
    shift 4
    NEXT_PORT=$((NEXT_PORT + 1))
    PORT=$NEXT_PORT
    world_adm -A -t "$W_VIP:$PORT" -s "$sched" "$@" || ok=0
    for i in 1 2 3; do
        world_adm -a -t "$W_VIP:$PORT" -r "$(world_rs_ip "$i"):80" -m -w "${w[i - 1]}" || ok=0
    done
    echo "== $sched on $W_VIP:$PORT, weights ${w[*]} ${*}"
    t_expect "$sched: service $W_VIP:$PORT set up" "$ok"
}
# curl_p N [CURL_ARGS...]: N sequential requests to VIP:$PORT; fills REPLIES (t_curl_n).
curl_p() {
    local saved=$W_VPORT
    W_VPORT=$PORT
    t_curl_n "$@"
    W_VPORT=$saved
}
# held SCHED COUNT WANT: holds COUNT connections to VIP:$PORT, expects the servers in order WANT.
held() {
    local sched=$1 count=$2 want=$3
    t_hold_start "$sched" "$count" --port "$PORT"
    echo "    $count held connections: ${HELD[*]}"
    t_expect "$sched: $count held connections go $want" "$([[ ${HELD[*]} == "$want" ]] && echo 1)"
    t_hold_stop "$sched"
}


# ---- rr, wrr --------------------------------------------------------------------------------
service rr 1 1 1
curl_p 30
echo "    ${REPLIES[*]}"
want=$(for ((i = 0; i < 10; i++)); do printf 'web3 web2 web1 '; done)
t_expect "rr: 30 requests rotate web3 web2 web1 exactly, newest first ($(t_tally "${REPLIES[@]}"))" \
    "$([[ "${REPLIES[*]} " == "$want" ]] && echo 1)"
# The list order itself: -Ln sorts as ipvsadm does; --nosort shows the kernel's, newest first.
order() { world_adm -Ln -t "$W_VIP:$PORT" "$@" | awk '$1 == "->" && $2 ~ /^[0-9]/ { printf "%s ", $2 }'; }
sorted=$(order)
unsorted=$(order --nosort)
t_expect "-Ln lists web1 web2 web3 sorted ($sorted); --nosort lists them newest first ($unsorted)" "$(
    [[ $sorted == "$(world_rs_ip 1):80 $(world_rs_ip 2):80 $(world_rs_ip 3):80 " &&
        $unsorted == "$(world_rs_ip 3):80 $(world_rs_ip 2):80 $(world_rs_ip 1):80 " ]] && echo 1
)"

service wrr 3 2 1
curl_p 60
echo "    ${REPLIES[*]:0:12} ..."
t_expect "wrr 3:2:1: 60 requests split exactly 30/20/10 ($(t_tally "${REPLIES[@]}"))" "$(
    [[ $(t_count web1 "${REPLIES[@]}") == 30 && $(t_count web2 "${REPLIES[@]}") == 20 &&
        $(t_count web3 "${REPLIES[@]}") == 10 ]] && echo 1
)"
# IPVS's order for servers added one by one: each goes to the list head (web3 web2 web1); adding
# web1 (weight 3, alone: gcd 3, max 1) sets the current weight cw to 1, and the later additions
# keep it (ip_vs_wrr_dest_changed), so the first pass is the cw=1 pass (every server, from the
# head), then cw=3 (web1), cw=2 (web2 web1), cw=1 again, ...
t_expect "wrr 3:2:1: IPVS's order (web3 web2 web1, web1, web2 web1; repeated)" \
    "$([[ "${REPLIES[*]:0:12}" == 'web3 web2 web1 web1 web2 web1 web3 web2 web1 web1 web2 web1' ]] && echo 1)"

# ---- lc, wlc, sed, nq: connections held open -----------------------------------------------
# Weights 1, 2, 3 everywhere, so that each rule shows: lc ignores weights; wlc takes the lowest
# active/weight; sed the lowest (active+1)/weight; nq any idle server first, then as sed.
service lc 1 2 3
held lc 6 "web3 web2 web1 web3 web2 web1"
service wlc 1 2 3
held wlc 6 "web3 web2 web1 web3 web2 web3"
service sed 1 2 3
held sed 6 "web3 web2 web3 web3 web2 web1"
service nq 1 2 3
held nq 6 "web3 web2 web1 web3 web3 web2"

# ---- sh, mh, dh: hashing -------------------------------------------------------------------------
for sched in sh mh; do
    service "$sched" 1 1 1
    ok=1 firsts=()
    for src in "${W_CLIENT_IPS[@]}"; do
        curl_p 4 --interface "$src"
        t_all_same "${REPLIES[@]}" || ok=0
        firsts+=("${REPLIES[0]}")
    done
    echo "    per client (${W_CLIENT_IPS[*]}): ${firsts[*]}"
    t_expect "$sched: each of 8 clients always reaches the same server" "$ok"
    t_expect "$sched: the 8 clients spread over more than one server ($(t_tally "${firsts[@]}"))" \
        "$([[ $(printf '%s\n' "${firsts[@]}" | sort -u | wc -l) -ge 2 ]] && echo 1)"
done

service dh 1 1 1
all=()
for src in "${W_CLIENT_IPS[@]}"; do
    curl_p 2 --interface "$src"
    all+=("${REPLIES[@]}")
done
echo "    ${all[*]}"
t_expect "dh: one destination, one server: all 16 requests from 8 clients reach ${all[0]}" \
    "$(t_all_same "${all[@]}" && echo 1)"

# ---- lblc, lblcr: locality ------------------------------------------------------------------------
for sched in lblc lblcr; do
    service "$sched" 1 1 1
    all=()
    for src in "${W_CLIENT_IPS[@]}"; do
        curl_p 2 --interface "$src"
        all+=("${REPLIES[@]}")
    done
    t_expect "$sched: the destination keeps its server: 16 requests from 8 clients all reach ${all[0]}" \
        "$(t_all_same "${all[@]}" && [[ ${all[0]} == web3 ]] && echo 1)"
    # web3 (weight 1, first in the list) takes two active connections; with two, active > weight
    # while web2 is idle (0 * 2 < 1): overloaded, so the third goes to wlc's choice, web2 (idle
    # web2 and web1 tie; web2 comes first in the list).
    held "$sched" 3 "web3 web3 web2"
done

# ---- fo, ovf ----------------------------------------------------------------------------------------
service fo 1 3 2
curl_p 6
t_expect "fo: every request reaches the highest weight, web2 ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count web2 "${REPLIES[@]}") == 6 ]] && echo 1)"
service ovf 1 2 1
held ovf 4 "web2 web2 web2 web3"

# ---- twos ------------------------------------------------------------------------------------------
service twos 1 1 1
curl_p 30
echo "    ${REPLIES[*]}"
t_expect "twos: 30 requests all answered, over more than one server ($(t_tally "${REPLIES[@]}"))" "$(
    [[ $(t_count ERR "${REPLIES[@]}") == 0 &&
        $(printf '%s\n' "${REPLIES[@]}" | sort -u | wc -l) -ge 2 ]] && echo 1
)"

t_show "$(world_adm -Ln)"
t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
