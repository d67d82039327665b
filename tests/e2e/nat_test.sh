#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end LVS/NAT test: the seed scenario, run for real through dirigo in network namespaces.
#
#   client 10.0.0.2 --> VIP 10.0.0.100:80 (dirigo, rr, masq) --> 172.16.0.11:80 "web1"
#                                                            --> 172.16.0.12:80 "web2"
#
# Checks: the director answers ARP and ping on its own addresses; 100 sequential requests split
# exactly 50/50 and alternate; one long-lived keep-alive connection keeps its real server while
# other connections rotate; every TCP packet the client receives comes from the VIP; rule changes
# made with dirigoadm while traffic runs take effect at once; dirigo stops cleanly on SIGTERM.
#
# Usage: nat_test.sh [DIRIGO [DIRIGOADM]]   (or the DIRIGO / DIRIGOADM environment variables;
#        defaults: build/dirigo, build/dirigoadm)
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_nat
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

PY=$(world_python)
VIP_URL="http://$W_VIP:$W_VPORT/"

# bail MESSAGE: a failure that makes the remaining checks meaningless.
bail() {
    t_fail "$1"
    world_dirigo_log_tail 60
    t_summary
}

# curl_n N: N sequential requests to the VIP; fills the array REPLIES ("ERR" for a failed one).
REPLIES=()
curl_n() {
    local n=$1 i body
    REPLIES=()
    for ((i = 0; i < n; i++)); do
        body=$(world_curl "$VIP_URL" 2>/dev/null) || body=ERR
        REPLIES+=("${body:-ERR}")
    done
}

# alternates LIST...: succeeds when no two neighbours are equal.
# shellcheck disable=SC2317  # called through t_check
alternates() {
    local prev="" item
    for item in "$@"; do
        [[ $item != "$prev" ]] || return 1
        prev=$item
    done
}

world_install_trap
world_create 2
world_start_servers
world_write_config
world_start_dirigo "$DIRIGO" || bail "dirigo starts and opens its control socket"
t_pass "dirigo starts and opens its control socket"

# The seed's rules, verbatim.
rules_ok=1
world_adm -C || rules_ok=0
world_adm -A -t "$W_VIP:$W_VPORT" -s rr || rules_ok=0
world_adm -a -t "$W_VIP:$W_VPORT" -r 172.16.0.11:80 -m || rules_ok=0
world_adm -a -t "$W_VIP:$W_VPORT" -r 172.16.0.12:80 -m || rules_ok=0
((rules_ok)) || bail "dirigoadm applies the seed's rules"
t_pass "dirigoadm applies the seed's rules"

listing=$(world_adm -Ln 2>&1) || true
printf '    %s\n' "${listing//$'\n'/$'\n'    }"
t_expect "dirigoadm -Ln lists the service and both real servers as Masq" "$(
    grep -Eq "^TCP +$W_VIP:$W_VPORT +rr" <<<"$listing" &&
        grep -Eq "172\.16\.0\.11:80 +Masq" <<<"$listing" &&
        grep -Eq "172\.16\.0\.12:80 +Masq" <<<"$listing" && echo 1
)"

t_check "director answers ARP and ping on 10.0.0.1" world_ping "$W_EXT_IP" 3
t_check "director answers ARP and ping on the VIP" world_ping "$W_VIP" 3

# Warm up: the director resolves both real servers by ARP; bounded at about 20 s.
seen1=0 seen2=0
for ((i = 0; i < 40 && !(seen1 && seen2); i++)); do
    body=$(world_curl "$VIP_URL" 2>/dev/null) || body=""
    [[ $body == web1 ]] && seen1=1
    [[ $body == web2 ]] && seen2=1
    [[ -n $body ]] || sleep 0.5
done
((seen1 && seen2)) || bail "the VIP answers from both real servers (warm-up)"
t_pass "the VIP answers from both real servers (warm-up)"

# Everything from here on is sniffed at the client: replies must come from the VIP only.
sniff_out="$W_TMP/sniff.json"
ip netns exec "$W_NS_CLI" "$PY" "$HERE/sniff.py" eth0 --seconds 240 \
    --ready-file "$W_TMP/sniff.ready" >"$sniff_out" 2>"$W_TMP/sniff.err" &
sniff_pid=$!
W_PIDS+=("$sniff_pid")
for ((i = 0; i < 50; i++)); do
    [[ -e $W_TMP/sniff.ready ]] && break
    sleep 0.1
done

# 1. 100 sequential connections: round robin over two servers is exactly 50/50, alternating.
curl_n 100
n1=$(t_count web1 "${REPLIES[@]}")
n2=$(t_count web2 "${REPLIES[@]}")
nerr=$((100 - n1 - n2))
echo "    100 requests: web1=$n1 web2=$n2 failed=$nerr"
t_expect "100 sequential requests split exactly 50/50 (web1=$n1 web2=$n2 failed=$nerr)" \
    "$([[ $n1 -eq 50 && $n2 -eq 50 ]] && echo 1)"
t_check "100 sequential requests alternate web1/web2" alternates "${REPLIES[@]}"

# 2. One long-lived keep-alive connection keeps its server while new connections rotate.
ka_out="$W_TMP/keepalive.out"
ip netns exec "$W_NS_CLI" timeout 60 "$PY" "$HERE/keepalive_client.py" "$W_VIP" "$W_VPORT" \
    --count 40 --interval 0.1 >"$ka_out" 2>&1 &
ka_pid=$!
W_PIDS+=("$ka_pid")
for ((i = 0; i < 50; i++)); do
    [[ -f $ka_out ]] && (($(wc -l <"$ka_out") >= 2)) && break
    sleep 0.1
done
curl_n 20
ka_rc=0
wait "$ka_pid" || ka_rc=$?
sed 's/^/    keep-alive: /' "$ka_out" | sort | uniq -c | sed 's/^/   /'
mapfile -t ka_lines < <(grep -v '^CONNECTED' "$ka_out")
ka_first=${ka_lines[0]:-none}
ka_same=$(t_count "$ka_first" "${ka_lines[@]}")
t_expect "keep-alive connection: 40 responses on one connection, all from $ka_first (status $ka_rc)" \
    "$([[ $ka_rc -eq 0 && ${#ka_lines[@]} -eq 40 && $ka_same -eq 40 && $ka_first == web[12] ]] && echo 1)"
n1=$(t_count web1 "${REPLIES[@]}")
n2=$(t_count web2 "${REPLIES[@]}")
t_expect "meanwhile 20 new connections rotate 10/10 (web1=$n1 web2=$n2)" \
    "$([[ $n1 -eq 10 && $n2 -eq 10 ]] && echo 1)"

# 3. Rule changes while traffic runs. A background loop keeps connections coming (bounded: it
# stops on the stop file or after 60 s); the foreground measures.
bg_out="$W_TMP/background.out"
bg_stop="$W_TMP/background.stop"
: >"$bg_out"
(
    end=$((SECONDS + 60))
    while [[ ! -e $bg_stop ]] && ((SECONDS < end)); do
        body=$(world_curl "$VIP_URL" 2>/dev/null) || body=ERR
        echo "${body:-ERR}" >>"$bg_out"
    done
) &
bg_pid=$!
W_PIDS+=("$bg_pid")
sleep 1

del_ok=1
world_adm -d -t "$W_VIP:$W_VPORT" -r 172.16.0.12:80 || del_ok=0
t_expect "dirigoadm -d removes 172.16.0.12:80 under traffic" "$del_ok"
curl_n 20
n1=$(t_count web1 "${REPLIES[@]}")
t_expect "after -d, 20 of 20 new connections go to web1 (got $n1)" "$([[ $n1 -eq 20 ]] && echo 1)"

add_ok=1
world_adm -a -t "$W_VIP:$W_VPORT" -r 172.16.0.12:80 -m || add_ok=0
t_expect "dirigoadm -a puts 172.16.0.12:80 back under traffic" "$add_ok"
sleep 0.5
# Background connections take rr tickets too: stop them, then the split is exact again.
touch "$bg_stop"
wait "$bg_pid" || true
curl_n 20
n1=$(t_count web1 "${REPLIES[@]}")
n2=$(t_count web2 "${REPLIES[@]}")
t_expect "after -a, 20 new connections split 10/10 again (web1=$n1 web2=$n2)" \
    "$([[ $n1 -eq 10 && $n2 -eq 10 ]] && echo 1)"

mapfile -t bg_lines <"$bg_out"
bg_err=$(t_count ERR "${bg_lines[@]}")
echo "    background: ${#bg_lines[@]} requests, web1=$(t_count web1 "${bg_lines[@]}")" \
    "web2=$(t_count web2 "${bg_lines[@]}") failed=$bg_err"
t_expect "background traffic kept flowing during the changes (${#bg_lines[@]} requests)" \
    "$([[ ${#bg_lines[@]} -ge 10 ]] && echo 1)"
if ((bg_err > 0)); then
    # A connection in flight on the removed server may be cut, as IPVS may with
    # expire_nodest_conn; reported, not failed.
    echo "    note: $bg_err background request(s) failed around the rule changes"
fi

# 4. Replies come from the VIP: every TCP packet the client received during 1-3.
kill -TERM "$sniff_pid" 2>/dev/null || true
timeout 10 tail --pid="$sniff_pid" -f /dev/null || true
wait "$sniff_pid" || true
sniffed=$(cat "$sniff_out")
sniffed=${sniffed:-"{}"}
echo "    client received TCP from: $sniffed"
t_expect "every TCP packet the client received came from $W_VIP:$W_VPORT" "$(
    "$PY" -c 'import json,sys; c=json.loads(sys.argv[1]); sys.exit(not (c and set(c)=={sys.argv[2]}))' \
        "$sniffed" "$W_VIP:$W_VPORT" && echo 1
)"

# 5. Clean shutdown.
t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
