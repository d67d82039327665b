#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end SYN flood (issue 16, "Floods"; docs/reliability.md): 10x the connection table's size
# in SYNs from random sources, while a keep-alive HTTP client keeps requesting through the VIP.
#
#   client 10.0.0.2 --keep-alive HTTP, fresh curls--> VIP 10.0.0.100:80 (rr, masq) --> web1, web2
#   client ns: syn_flood from 198.18.0.0/16 (raw socket) -----^
#   director: 198.18.0.0/16 routed back to the client namespace, which does not forward: the real
#   servers' SYN-ACKs to the spoofed sources end there, nothing leaves the namespaces.
#
# The director has one worker and a 1,024-entry connection table, and the IPVS defences
# drop_entry = 1 and secure_tcp = 1 with amemthresh = 256 (SF_DEFENSE overrides the group's body).
#
# e2e_syn_flood_proxy runs it with SF_DEFENSE="syn_proxy = 3;": the SYN proxy answers every SYN
# with a cookie, so the flood makes no entry at all; it also checks that no new client was refused
# or evicted (table_full and conn_evicted 0), that the cookies sent account for the flood, and
# that every connection of the test's clients was spliced through a valid cookie.
#
# Checks: zero failed keep-alive requests during and after the flood; fresh curls during the
# flood and right after it are served; the flood's SYNs are accounted for by the drop and
# eviction counts of `dirigoadm --list-ports` (printed by reason); the automatic defences switched
# on; dirigo stops cleanly.
#
# Usage: syn_flood_test.sh [DIRIGO [DIRIGOADM [SYN_FLOOD]]]   (or DIRIGO / DIRIGOADM / SYN_FLOOD;
#        defaults: build/dirigo, build/dirigoadm, build/tests/e2e/syn_flood)
# Environment: SF_TABLE (1024), SF_FACTOR (10: SYNs = factor x table), SF_RATE (20000 SYNs/s),
#              SF_DEFENSE (the defense group's body).
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_syn_flood
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"

DIRIGO=${1:-${DIRIGO:-$ROOT/build/dirigo}}
DIRIGOADM=${2:-${DIRIGOADM:-$ROOT/build/dirigoadm}}
SYN_FLOOD=${3:-${SYN_FLOOD:-$ROOT/build/tests/e2e/syn_flood}}
export DIRIGOADM
TABLE=${SF_TABLE:-1024}
FACTOR=${SF_FACTOR:-10}
RATE=${SF_RATE:-20000}
DEFENSE=${SF_DEFENSE:-drop_entry = 1; secure_tcp = 1; amemthresh = 256;}
FLOOD_PREFIX=198.18.0.0/16
COUNT=$((TABLE * FACTOR))

if ! reason=$(world_can_run 2>&1); then
    t_unavailable "$reason"
fi
for bin in "$DIRIGO" "$DIRIGOADM" "$SYN_FLOOD"; do
    if [[ ! -x $bin ]]; then
        echo "FAIL: $bin is not built"
        exit 1
    fi
done
PY=$(world_python)
VIP_URL="http://$W_VIP:$W_VPORT/"

world_install_trap
world_create 2
world_start_servers
W_DATAPLANE_EXTRA="conn_table_size = $TABLE;"
W_EXTRA_CONFIG="defense = { $DEFENSE };"
world_write_config
# The flood's sources are routed back to the client namespace (it has no such address and does
# not forward: the replies die there).
sed -i "s|^routes = ( |routes = ( { prefix = \"$FLOOD_PREFIX\"; via = \"$W_CLIENT_IP\"; }, |" "$W_CONFIG"
grep -q "$FLOOD_PREFIX" "$W_CONFIG" || t_bail "the config routes $FLOOD_PREFIX to the client"
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts and opens its control socket"
t_pass "dirigo starts: one worker, a $TABLE-entry table, defense = { $DEFENSE }"

ok=1
world_adm -A -t "$W_VIP:$W_VPORT" -s rr || ok=0
world_adm -a -t "$W_VIP:$W_VPORT" -r "$(world_rs_ip 1):80" -m || ok=0
world_adm -a -t "$W_VIP:$W_VPORT" -r "$(world_rs_ip 2):80" -m || ok=0
((ok)) || t_bail "dirigoadm adds the NAT service with two real servers"
t_warm_up 2 || t_bail "the VIP answers from both real servers (warm-up)"
t_pass "the VIP answers from both real servers (warm-up)"
# The director learns the client's MAC for the flood prefix's next hop before the flood.
world_ping "$W_EXT_IP" 2 || true

# ---- counters ------------------------------------------------------------------------------------
PORTS=""
snap_ports() { PORTS=$(world_adm --list-ports --exact); }
drop() { awk -v r="$1" '$1 == r { print $2; found = 1; exit } END { if (!found) print 0 }' <<<"$PORTS"; }
# port_col PORT LINE COL: a column of line LINE of PORT's block in $PORTS.
port_col() {
    awk -v p="$1" -v l="$2" -v c="$3" '$1 == p { for (i = 1; i < l; i++) getline; print $c; exit }' <<<"$PORTS"
}
# The Conns column (7th) of --list-workers, summed over the workers.
live_conns() { world_adm --list-workers --exact | awk '$1 ~ /^[0-9]+$/ { n += $7 } END { print n + 0 }'; }
REASONS=(table_full conn_evicted conn_drop_entry drop_packet secure_tcp_held no_conn
    synp_cookie_sent synp_cookie_valid synp_handshake synp_early_held synp_bad_cookie
    synp_stale_cookie synp_early_dropped)
snap_ports
declare -A before=()
for r in "${REASONS[@]}"; do before[$r]=$(drop "$r"); done
miss0=$(port_col ext 1 10)
# The test bed's own losses, outside Dirigo: a SYN the client's veth could not hand to the
# director's side (counted as the client's tx_dropped), or one the director's interface received
# (its rx_packets) that never reached Dirigo's ext port (its RxPkts): af_packet's ring was full
# while the worker was off the CPU, which the af_packet PMD does not report as RxMissed.
netstat() { world_exec "$1" cat "/sys/class/net/$2/statistics/$3"; }
bed_counts() { echo "$(netstat "$W_NS_CLI" eth0 tx_dropped) $(netstat "$W_NS_DIR" ext0 rx_packets) $(port_col ext 1 8)"; }
read -r txdrop0 krx0 drx0 <<<"$(bed_counts)"

# ---- the keep-alive client and the fresh curls ---------------------------------------------------
# 400 requests 50 ms apart (about 20 s): before, during and after the flood.
ka_out="$W_TMP/keepalive.out"
ip netns exec "$W_NS_CLI" timeout 90 "$PY" "$HERE/keepalive_client.py" "$W_VIP" "$W_VPORT" \
    --count 400 --interval 0.05 >"$ka_out" 2>&1 &
ka_pid=$!
W_PIDS+=("$ka_pid")
for ((i = 0; i < 50; i++)); do
    [[ -f $ka_out ]] && (($(wc -l <"$ka_out") >= 5)) && break
    sleep 0.1
done
# Fresh connections, one after another, until the stop file appears (bounded at 60 s).
fresh_out="$W_TMP/fresh.out"
fresh_stop="$W_TMP/fresh.stop"
: >"$fresh_out"
(
    end=$((SECONDS + 60))
    while [[ ! -e $fresh_stop ]] && ((SECONDS < end)); do
        body=$(world_curl "$VIP_URL" 2>/dev/null) || body=ERR
        echo "${body:-ERR}" >>"$fresh_out"
        sleep 0.1
    done
) &
fresh_pid=$!
W_PIDS+=("$fresh_pid")
sleep 1

# ---- the flood -------------------------------------------------------------------------------------
t0=$(date +%s.%N)
flood=$(ip netns exec "$W_NS_CLI" "$SYN_FLOOD" "$W_VIP" "$W_VPORT" "$FLOOD_PREFIX" "$COUNT" "$RATE" 2>&1) ||
    t_bail "syn_flood runs: $flood"
t_flood=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "    flood: $flood"
sent=$(sed -nE 's/.*sent=([0-9]+).*/\1/p' <<<"$flood")
sent=${sent:-0}
t_expect "syn_flood sent $COUNT SYNs ($FACTOR x the table) from $FLOOD_PREFIX (sent $sent in ${t_flood}s)" \
    "$([[ $sent -eq $COUNT ]] && echo 1)"
mid=$(wc -l <"$fresh_out")
# Let the director drain its queues, then stop the fresh curls of the flood period.
sleep 1
touch "$fresh_stop"
wait "$fresh_pid" || true
mapfile -t fresh <"$fresh_out"
echo "    fresh curls around the flood: $(t_tally "${fresh[@]}") (${mid} started before it ended)"
t_expect "fresh curls during the flood are served ($(t_tally "${fresh[@]}"))" \
    "$([[ ${#fresh[@]} -ge 3 && $(t_count ERR "${fresh[@]}") -eq 0 ]] && echo 1)"

# Right after: new clients get in although the table is full of the flood's half-open entries.
t_curl_n 10
echo "    10 fresh curls right after the flood: $(t_tally "${REPLIES[@]}")"
t_expect "10 new clients right after the flood are served ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count ERR "${REPLIES[@]}") -eq 0 ]] && echo 1)"

ka_rc=0
wait "$ka_pid" || ka_rc=$?
mapfile -t ka_lines < <(grep -v '^CONNECTED' "$ka_out")
ka_ok=$(grep -cE '^web[12]$' "$ka_out" || true)
ka_err=$(grep -c '^ERROR' "$ka_out" || true)
echo "    keep-alive: ${#ka_lines[@]} responses, ok=$ka_ok errors=$ka_err status=$ka_rc"
grep '^ERROR' "$ka_out" | sed 's/^/    /' || true
t_expect "the keep-alive connection: 400 of 400 requests answered, zero failed (status $ka_rc)" \
    "$([[ $ka_rc -eq 0 && $ka_ok -eq 400 && $ka_err -eq 0 ]] && echo 1)"

# ---- accounting ------------------------------------------------------------------------------------
snap_ports
declare -A delta=()
for r in "${REASONS[@]}"; do delta[$r]=$(($(drop "$r") - ${before[$r]})); done
missed=$(($(port_col ext 1 10) - miss0))
read -r txdrop1 krx1 drx1 <<<"$(bed_counts)"
ring_lost=$(((krx1 - krx0) - (drx1 - drx0)))
((ring_lost < 0)) && ring_lost=0
lost=$((txdrop1 - txdrop0 + ring_lost))
echo "    test bed: client eth0 tx_dropped +$((txdrop1 - txdrop0)); director ext0 received" \
    "$((krx1 - krx0)), Dirigo's ext port $((drx1 - drx0)) (af_packet ring losses $ring_lost)"
live=$(live_conns)
echo "    drops and evictions by reason during the test (dirigoadm --list-ports):"
for r in "${REASONS[@]}"; do printf '      %-18s %s\n' "$r" "${delta[$r]}"; done
printf '      %-18s %s\n' rx_missed "$missed" "live entries" "$live" "lost before dirigo" "$lost"
world_adm --list-ports | sed -n '/^Drops by reason/,$p' | sed 's/^/    | /'
world_adm --list-workers | sed 's/^/    | /'
accounted=$((delta[table_full] + delta[conn_evicted] + delta[conn_drop_entry] + delta[drop_packet] + delta[synp_cookie_sent] + missed + lost))
echo "    accounted: table_full + conn_evicted + conn_drop_entry + drop_packet + synp_cookie_sent + rx_missed +" \
    "lost before dirigo = $accounted; sent $sent - live entries $live = $((sent - live))"
t_expect "the counts account for the flood: $accounted >= sent $sent - served (live entries) $live" \
    "$([[ $live -le $TABLE && $accounted -ge $((sent - live)) ]] && echo 1)"
if grep -q 'drop_entry = 1\|drop_entry=1\|secure_tcp = 1' <<<"$DEFENSE"; then
    t_expect "the automatic defences switched on (dirigo's log: flood defence ... 2)" \
        "$(grep -q 'flood defence: drop_entry 2.*secure_tcp 2' "$W_DIRIGO_LOG" && echo 1)"
    grep 'flood defence' "$W_DIRIGO_LOG" | sed 's/^/    log: /' || true
fi
if grep -q 'syn_proxy = 3' <<<"$DEFENSE"; then
    # Every SYN the director saw was answered with a cookie: the flood's, the curls'.
    t_expect "SYN proxy: the table never filled (table_full ${delta[table_full]}, conn_evicted ${delta[conn_evicted]}, live entries $live)" \
        "$([[ ${delta[table_full]} -eq 0 && ${delta[conn_evicted]} -eq 0 && $live -lt $((TABLE / 4)) ]] && echo 1)"
    t_expect "SYN proxy: cookies sent ${delta[synp_cookie_sent]} >= SYNs sent $sent - lost before dirigo $((lost + missed))" \
        "$([[ ${delta[synp_cookie_sent]} -ge $((sent - lost - missed)) && ${delta[synp_cookie_sent]} -le $((sent + 1000)) ]] && echo 1)"
    n_fresh=$((${#fresh[@]} + 10))
    t_expect "SYN proxy: the $n_fresh fresh curls came in through valid cookies (valid ${delta[synp_cookie_valid]}, spliced ${delta[synp_handshake]}), none bad or stale" \
        "$([[ ${delta[synp_cookie_valid]} -ge $n_fresh && ${delta[synp_handshake]} -ge $n_fresh && $((delta[synp_bad_cookie] + delta[synp_stale_cookie])) -eq 0 ]] && echo 1)"
fi

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
