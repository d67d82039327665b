#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, Debian's unmodified keepalived (checkers only) with libdirigo-ipvs.so preloaded
# (docs/keepalived.md): seed 004's virtual_server block, adapted to the test network, drives one
# NAT director. Its TCP_CHECKs connect from the director's kernel through Dirigo's exception path
# (the `int` kernel interface) to the real servers. One real server's web server stops:
#  - on VIP:80 (plain) keepalived removes it within delay_loop + retries (the time is printed),
#    and once it is gone no request to the VIP fails;
#  - on VIP:81 (inhibit_on_failure) it stays with weight 0;
#  - on VIP:82 (its only real server; sorry_server real server 3) the sorry server takes over;
#  - on VIP:83 (quorum 2 of two weight-1 servers; sorry_server real server 3) likewise.
# The web server starts again: everything comes back as it was.
# Usage: keepalived_check_test.sh [DIRIGO [DIRIGOADM]] with DIRIGO_IPVS_LIB set (meson does).
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_keepalived_check
DIRIGO_ADM_TOOL=dirigoadm
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"
t_init_ipvsadm
command -v keepalived >/dev/null || t_unavailable "keepalived is not installed"

# Checker timing (seconds): small, so that the test is quick; the removal must come within
# delay_loop + connect_timeout + retry * delay_before_retry (+ 2 s of slack for scheduling).
DELAY_LOOP=1
CONNECT_TIMEOUT=1
RETRY=1
DELAY_BEFORE_RETRY=1
BOUND=$((DELAY_LOOP + CONNECT_TIMEOUT + RETRY * DELAY_BEFORE_RETRY + 2))

world_install_trap
world_create 3
world_start_servers
# The HTTP servers' pids, in real server order (world_start_servers appended them).
RS_PIDS=("${W_PIDS[@]}")
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

VIP=$W_VIP
RIP1=$(world_rs_ip 1)
RIP2=$(world_rs_ip 2)
RIP3=$(world_rs_ip 3)

# The director's kernel reaches the real servers through the exception path (the checkers do).
dir_reaches_rs2() { world_exec "$W_NS_DIR" curl -s --max-time 2 "http://$RIP2/" | grep -q web2; }
ok=0
t_wait_until 10 dir_reaches_rs2 && ok=1
t_expect "the director's kernel reaches real server 2 through the int kernel interface" "$ok"

check_block() {
    local rip=$1
    cat <<BLOCK
        TCP_CHECK {
            connect_port 80
            connect_timeout $CONNECT_TIMEOUT
            retry $RETRY
            delay_before_retry $DELAY_BEFORE_RETRY
        }
BLOCK
}

# Seed 004's virtual_server block (lb_algo rr, lb_kind NAT, TCP_CHECK on every real server),
# without persistence (the test wants to see every server) and with small timers.
{
    cat <<KA
global_defs {
    router_id dirigo_check
}
virtual_server $VIP 80 {
    delay_loop $DELAY_LOOP
    lb_algo rr
    lb_kind NAT
    protocol TCP
KA
    for rip in "$RIP1" "$RIP2" "$RIP3"; do
        echo "    real_server $rip 80 {"
        echo "        weight 1"
        check_block "$rip"
        echo "    }"
    done
    cat <<KA
}
virtual_server $VIP 81 {
    delay_loop $DELAY_LOOP
    lb_algo wrr
    lb_kind NAT
    protocol TCP
KA
    for rip in "$RIP1" "$RIP2"; do
        echo "    real_server $rip 80 {"
        echo "        weight 2"
        echo "        inhibit_on_failure"
        check_block "$rip"
        echo "    }"
    done
    cat <<KA
}
virtual_server $VIP 82 {
    delay_loop $DELAY_LOOP
    lb_algo rr
    lb_kind NAT
    protocol TCP
    sorry_server $RIP3 80
    real_server $RIP2 80 {
        weight 1
KA
    check_block "$RIP2"
    echo "    }"
    echo "}"
    # quorum: the live servers' weights must add up to 2, or the sorry server comes in.
    cat <<KA
virtual_server $VIP 83 {
    delay_loop $DELAY_LOOP
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server $RIP3 80
KA
    for rip in "$RIP1" "$RIP2"; do
        echo "    real_server $rip 80 {"
        echo "        weight 1"
        check_block "$rip"
        echo "    }"
    done
    echo "}"
} >"$W_TMP/keepalived.conf"
t_show "$(cat "$W_TMP/keepalived.conf")"

# keepalived in the director's namespace (its checkers connect from the director's kernel), in
# the foreground (-n) so that $! is keepalived itself, logging to the console (-l) in detail (-D).
LD_PRELOAD=$DIRIGO_IPVS_LIB DIRIGO_SOCKET=$W_SOCK ip netns exec "$W_NS_DIR" keepalived -n -l -D -C \
    -f "$W_TMP/keepalived.conf" -p "$W_TMP/keepalived.pid" -c "$W_TMP/checkers.pid" \
    -r "$W_TMP/vrrp.pid" >"$W_TMP/keepalived.log" 2>&1 &
KA_PID=$!
W_PIDS+=("$KA_PID")

rules() { world_adm -S -n 2>/dev/null; }
# has_line LINE: the rules hold LINE exactly.
has_line() { rules | grep -qxF -- "$1"; }
lacks_line() { ! has_line "$1"; }
all_up() {
    local r
    r=$(rules)
    [[ $(grep -c "^-a -t $VIP:80 -r .* -m -w 1\$" <<<"$r") == 3 &&
        $(grep -c "^-a -t $VIP:81 -r .* -m -w 2\$" <<<"$r") == 2 ]] &&
        grep -qxF -- "-a -t $VIP:82 -r $RIP2:80 -m -w 1" <<<"$r"
}

ok=0
t_wait_until 20 all_up && ok=1
t_show "$(rules)"
t_expect "keepalived's virtual_server blocks become dirigo services, every real server up" "$ok"
((ok)) || t_show "$(tail -30 "$W_TMP/keepalived.log")"

t_warm_up 3 || true
t_curl_n 9
t_expect "VIP:80 serves from all three real servers ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count ERR "${REPLIES[@]}") == 0 && $(t_count web1 "${REPLIES[@]}") -ge 1 &&
        $(t_count web2 "${REPLIES[@]}") -ge 1 && $(t_count web3 "${REPLIES[@]}") -ge 1 ]] && echo 1)"
r=$(world_curl "http://$VIP:82/" 2>&1 || echo ERR)
t_expect "VIP:82 serves from its real server ('$r')" "$([[ $r == web2 ]] && echo 1)"

# curl_port N PORT: t_curl_n on another virtual port.
curl_port() {
    local saved=$W_VPORT
    W_VPORT=$2
    t_curl_n "$1"
    W_VPORT=$saved
}

# ---- Real server 2's web server stops ------------------------------------------------------------
now_ms() { date +%s%3N; }
kill -TERM "${RS_PIDS[1]}"
wait "${RS_PIDS[1]}" 2>/dev/null || true
t0=$(now_ms)
removed_ms=""
for ((i = 0; i < (BOUND + 10) * 10; i++)); do
    if lacks_line "-a -t $VIP:80 -r $RIP2:80 -m -w 1"; then
        removed_ms=$(($(now_ms) - t0))
        break
    fi
    sleep 0.1
done
t_show "$(rules)"
if [[ -n $removed_ms ]]; then
    t_expect "keepalived removes real server 2 from VIP:80 after $((removed_ms / 1000)).$(printf '%03d' $((removed_ms % 1000))) s (bound: delay_loop + connect_timeout + retry * delay_before_retry + 2 = ${BOUND} s)" \
        "$([[ $removed_ms -le $((BOUND * 1000)) ]] && echo 1)"
else
    t_fail "keepalived did not remove real server 2 from VIP:80 within $((BOUND + 10)) s"
    t_show "$(tail -30 "$W_TMP/keepalived.log")"
fi
# Listings through Debian's ipvsadm and dirigoadm agree that it is gone.
ka_listing=$(t_ipvsadm -Ln -t "$VIP:80" 2>&1 || true)
t_show "$ka_listing"
t_expect "ipvsadm -Ln -t VIP:80 no longer lists real server 2" \
    "$([[ $ka_listing == *"$RIP1:80"* && $ka_listing != *"$RIP2:80"* ]] && echo 1)"

ok=0
t_wait_until 10 has_line "-a -t $VIP:81 -r $RIP2:80 -m -w 0" && ok=1
t_expect "inhibit_on_failure: real server 2 stays on VIP:81 with weight 0" \
    "$([[ $ok == 1 ]] && has_line "-a -t $VIP:81 -r $RIP1:80 -m -w 2" && echo 1)"
ok=0
t_wait_until 10 has_line "-a -t $VIP:82 -r $RIP3:80 -m -w 1" && ok=1
t_expect "sorry_server: with VIP:82's only real server down, real server 3 (the sorry server) is in" \
    "$([[ $ok == 1 ]] && lacks_line "-a -t $VIP:82 -r $RIP2:80 -m -w 1" && echo 1)"

ok=0
t_wait_until 10 has_line "-a -t $VIP:83 -r $RIP3:80 -m -w 1" && ok=1
t_show "$(world_adm -Ln -t "$VIP:83")"
t_expect "quorum 2 lost on VIP:83 (one of two weight-1 servers left): the sorry server is in" "$ok"

# With the dead server gone, no request fails.
t_curl_n 30
t_expect "after the check fired, 30 requests to VIP:80 all succeed, none on real server 2 ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count ERR "${REPLIES[@]}") == 0 && $(t_count web2 "${REPLIES[@]}") == 0 ]] && echo 1)"
curl_port 10 81
t_expect "VIP:81 (weight 0 for the dead server) serves all 10 requests ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count ERR "${REPLIES[@]}") == 0 && $(t_count web2 "${REPLIES[@]}") == 0 ]] && echo 1)"
curl_port 5 82
t_expect "VIP:82 is served by the sorry server ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count web3 "${REPLIES[@]}") == 5 ]] && echo 1)"

# ---- It starts again -----------------------------------------------------------------------------
mkdir -p "$W_TMP/www2"
ip netns exec "${W_NS_RS[1]}" "$(world_python)" -m http.server 80 --bind "$RIP2" \
    --directory "$W_TMP/www2" --protocol HTTP/1.1 >"$W_TMP/http2-again.log" 2>&1 &
W_PIDS+=("$!")
# The clock starts when the web server answers in its own namespace (Python's http.server can take
# seconds to start on a loaded machine: it resolves its own name).
rs2_listens() { world_exec "${W_NS_RS[1]}" curl -s --max-time 1 "http://$RIP2/" | grep -q web2; }
t_wait_until 30 rs2_listens || t_fail "real server 2's web server starts again"
t0=$(now_ms)
back_ms=""
for ((i = 0; i < (BOUND + 10) * 10; i++)); do
    if all_up && has_line "-a -t $VIP:82 -r $RIP2:80 -m -w 1"; then
        back_ms=$(($(now_ms) - t0))
        break
    fi
    sleep 0.1
done
t_show "$(rules)"
if [[ -n $back_ms ]]; then
    t_expect "real server 2 comes back everywhere (VIP:80, weight 2 on VIP:81, VIP:82) $((back_ms / 1000)).$(printf '%03d' $((back_ms % 1000))) s after its web server answers again (bound ${BOUND} s)" \
        "$([[ $back_ms -le $((BOUND * 1000)) ]] && echo 1)"
else
    t_fail "real server 2 did not come back within $((BOUND + 10)) s"
fi
ok=0
t_wait_until 10 lacks_line "-a -t $VIP:82 -r $RIP3:80 -m -w 1" && ok=1
t_expect "the sorry server leaves VIP:82 when its real server is back" "$ok"
ok=0
t_wait_until 10 lacks_line "-a -t $VIP:83 -r $RIP3:80 -m -w 1" && ok=1
t_expect "quorum regained on VIP:83: the sorry server leaves, both real servers are in" \
    "$([[ $ok == 1 ]] && has_line "-a -t $VIP:83 -r $RIP1:80 -m -w 1" &&
        has_line "-a -t $VIP:83 -r $RIP2:80 -m -w 1" && echo 1)"
t_curl_n 9
t_expect "VIP:80 serves from all three real servers again ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count ERR "${REPLIES[@]}") == 0 && $(t_count web2 "${REPLIES[@]}") -ge 1 ]] && echo 1)"

kill -TERM "$KA_PID" 2>/dev/null || true
ok=0
t_wait_until 15 eval '[[ -z $(rules) ]]' && ok=1
t_expect "keepalived removes its services when it stops" "$ok"
wait "$KA_PID" 2>/dev/null || true

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
