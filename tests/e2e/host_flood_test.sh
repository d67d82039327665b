#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end isolation of the exception path (issue 11): a flood of 100k packets/s at the
# director's own address (10.0.0.1, UDP port 9: no service) leaves a forwarded TCP stream through
# a NAT service unaffected, and the exception path counts the flood's drops.
#
#   client 10.0.0.2 --udp_flood--> 10.0.0.1:9  (host ring -> token bucket -> kernel interface)
#          10.0.0.2 --curl-------> VIP 10.0.0.100:80 (rr, masq) --> 172.16.0.11:80 (a big file)
#
# Checks (asserted):
#  - udp_flood floods (at least half of HF_RATE, default 100000/s; the achieved rate is printed);
#  - during that flood the director stays responsive: dirigoadm answers (timed, bound 2 s) and the
#    client resolves 10.0.0.1 again after flushing its ARP cache (ARP bypasses the bucket);
#  - that flood's accounting: everything ext received beyond ToKern was counted as
#    host_rate_limited + host_queue_full + host_tap_full (within 1 %), and that is at least what
#    exceeded the budget rate x time + burst;
#  - every download succeeds, with and without floods;
#  - over all floods ToKern of ext rose by at most rate x flood time + burst per flood (+500 for
#    the pings), and by more than zero.
# Measured and printed, not asserted (a timed assertion on a shared machine judges its noise;
# performance claims come from bench/): the pings answered during the flood, the threads' CPU,
# and the download throughput over HF_ROUNDS rounds (default 5) of one download without a flood,
# one with the flood at the director and one with the same flood at the client's own loopback
# (the generator's cost alone), medians compared against the criterion "within HF_TOLERANCE
# percent (default 10)"; HF_STRICT=1 asserts it (for a quiet machine).
# The daemon polls adaptively (world_write_config's default); the flood, curl, the servers and the
# daemon share the machine's cores (the CPU count and load average are printed).
#
# Usage: host_flood_test.sh [DIRIGO [DIRIGOADM [UDP_FLOOD]]]  (or DIRIGO, DIRIGOADM, UDP_FLOOD;
#        defaults: build/dirigo, build/dirigoadm, build/tests/e2e/udp_flood)
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_host_flood
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"

t_init_bins "${1:-}" "${2:-}"
UDP_FLOOD=${3:-${UDP_FLOOD:-$ROOT/build/tests/e2e/udp_flood}}
[[ -x $UDP_FLOOD ]] || {
    echo "FAIL: $UDP_FLOOD is not built"
    exit 1
}

RATE=${HF_RATE:-100000}          # flood packets a second
ROUNDS=${HF_ROUNDS:-5}           # download pairs (without / with the flood)
TOL=${HF_TOLERANCE:-10}          # percent
BIG_MB=${HF_MB:-128}             # the downloaded file
HOST_RATE=20000 HOST_BURST=2000 HOST_QUEUE=1024
FLOODS=0 FLOOD_SENT=0 FLOOD_SECS=0 FLOOD_RATES=()

world_install_trap
world_create 1
world_start_servers
dd if=/dev/urandom of="$W_TMP/www1/big.bin" bs=1M count="$BIG_MB" status=none
W_EXTRA_CONFIG="host = { rate = $HOST_RATE; burst = $HOST_BURST; queue = $HOST_QUEUE; };"
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts and opens its control socket"
t_pass "dirigo starts and opens its control socket"

ok=1
world_adm -A -t "$W_VIP:$W_VPORT" -s rr || ok=0
world_adm -a -t "$W_VIP:$W_VPORT" -r "$(world_rs_ip 1):80" -m || ok=0
((ok)) || t_bail "dirigoadm adds the NAT service"
t_warm_up 1 || t_bail "the VIP answers (warm-up)"
t_pass "a NAT service $W_VIP:$W_VPORT -> $(world_rs_ip 1):80; the VIP answers"
world_ping "$W_EXT_IP" 2 || t_bail "ping 10.0.0.1 answers before the flood"

# ---- helpers ---------------------------------------------------------------------------------
PORTS=""
snap_ports() { PORTS=$(world_adm --list-ports --exact); }
# port_col PORT LINE COL: a column of line LINE (1..3) of PORT's block in $PORTS.
port_col() {
    awk -v p="$1" -v l="$2" -v c="$3" '$1 == p { for (i = 1; i < l; i++) getline; print $c; exit }' <<<"$PORTS"
}
drop() { awk -v r="$1" '$1 == r { print $2; exit }' <<<"$PORTS"; }
counters() { # prints: ext_rx to_kern limited queue_full tap_full rx_missed
    snap_ports
    echo "$(port_col ext 1 8) $(port_col ext 3 4) $(drop host_rate_limited) $(drop host_queue_full) $(drop host_tap_full) $(port_col ext 1 10)"
}

FLOOD_PID="" FLOOD_OUT=""
flood_start() {
    FLOOD_OUT="$W_TMP/flood$FLOODS.out"
    ip netns exec "$W_NS_CLI" "$UDP_FLOOD" "$W_EXT_IP" 9 "$RATE" "${1:-60}" >"$FLOOD_OUT" 2>&1 &
    FLOOD_PID=$!
    W_PIDS+=("$FLOOD_PID")
}
# flood_stop: ends the flood (SIGINT: it reports), adds its numbers to the totals.
flood_stop() {
    kill -INT "$FLOOD_PID" 2>/dev/null || true
    wait "$FLOOD_PID" 2>/dev/null || true
    local line sent secs rate
    line=$(grep '^sent=' "$FLOOD_OUT" || true)
    sent=$(sed -E 's/.*sent=([0-9]+).*/\1/' <<<"$line")
    secs=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$line")
    rate=$(sed -E 's/.*rate=([0-9]+).*/\1/' <<<"$line")
    [[ -n $line ]] || { echo "    flood: no report: $(cat "$FLOOD_OUT")"; sent=0 secs=0 rate=0; }
    FLOODS=$((FLOODS + 1))
    FLOOD_SENT=$((FLOOD_SENT + sent))
    FLOOD_SECS=$(awk -v a="$FLOOD_SECS" -v b="$secs" 'BEGIN { printf "%.3f", a + b }')
    FLOOD_RATES+=("$rate")
    LAST_FLOOD="$line"
}

# download: one download of big.bin through the VIP; prints bytes/s (0 on failure).
download() {
    local out
    out=$(world_exec "$W_NS_CLI" curl -sS -o /dev/null --max-time 30 -w '%{http_code} %{speed_download}' \
        "http://$W_VIP:$W_VPORT/big.bin" 2>/dev/null) || out="0 0"
    if [[ ${out%% *} == 200 ]]; then
        printf '%.0f\n' "${out##* }"
    else
        echo 0
    fi
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mbps() { awk -v b="$1" 'BEGIN { printf "%.1f", b * 8 / 1e6 }'; }

read -r rx0 tk0 lim0 qf0 tf0 miss0 <<<"$(counters)"

# thread_ticks: "name=ticks ..." (user + system clock ticks) for each of the daemon's threads.
thread_ticks() {
    local t
    for t in /proc/"$W_DIRIGO_PID"/task/*; do
        awk -v n="$(cat "$t/comm")" '{ sub(/^.*\) /, ""); printf "%s=%d ", n, $12 + $13 }' "$t/stat"
    done
}
# ctl_switches: voluntary context switches of the daemon's control thread (the main one): it
# sleeps in poll() when idle, and spins without sleeping while it has work.
ctl_switches() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$W_DIRIGO_PID/task/$W_DIRIGO_PID/status"; }
# cpu_share BEFORE AFTER SECONDS: each thread's CPU use in between, in percent of one core.
cpu_share() {
    local hz
    hz=$(getconf CLK_TCK)
    awk -v a="$1" -v b="$2" -v s="$3" -v hz="$hz" 'BEGIN {
        n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); t0[kv[1]] += kv[2] }
        n = split(b, y, " "); for (i = 1; i <= n; i++) { split(y[i], kv, "="); t1[kv[1]] += kv[2] }
        for (k in t1) { d = (t1[k] - t0[k]) * 100 / hz / s; if (d >= 1) printf "%s %.0f%%  ", k, d }
    }'
}
idle_a=$(thread_ticks)
sleep 2
idle_cpu=$(cpu_share "$idle_a" "$(thread_ticks)" 2)
echo "    the daemon's threads, idle (2 s): ${idle_cpu:-all below 1%}"

# ---- 1. responsiveness under the flood (and the flood's own rate) ------------------------------
flood_start 60
sleep 1
flood_a=$(thread_ticks)
sw_a=$(ctl_switches)
t0=$(date +%s.%N)
adm_ok=0
world_adm -Ln >/dev/null && world_adm --list-ports >/dev/null && adm_ok=1
adm_ms=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
# The client forgets 10.0.0.1's MAC first: ARP must get through as well (it is exempt from the
# rate limit; Dirigo answers it itself).
world_exec "$W_NS_CLI" ip neigh flush dev eth0 2>/dev/null || true
ping_out=$(world_exec "$W_NS_CLI" ping -n -q -c 40 -i 0.1 -W 1 "$W_EXT_IP" 2>&1 || true)
ping_rx=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' <<<"$ping_out")
neigh=$(world_exec "$W_NS_CLI" ip neigh show "$W_EXT_IP" dev eth0 2>/dev/null || true)
arp_ok=0
[[ $neigh == *lladdr* ]] && arp_ok=1
sleep 1
flood_b=$(thread_ticks)
sw_b=$(ctl_switches)
flood_dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
flood_stop
echo "    flood: $LAST_FLOOD"
echo "    the daemon's threads under the flood (${flood_dt} s): $(cpu_share "$flood_a" "$flood_b" "$flood_dt")" \
    "control thread sleeps $(awk -v a="$sw_a" -v b="$sw_b" -v s="$flood_dt" 'BEGIN { printf "%.0f", (b - a) / s }')/s"
# This flood ran alone (no download): everything ext received is the flood's, bar the pings.
read -r rx1 tk1 lim1 qf1 tf1 miss1 <<<"$(counters)"
p_rx=$((rx1 - rx0)) p_tk=$((tk1 - tk0)) p_drop=$((lim1 - lim0 + qf1 - qf0 + tf1 - tf0))
p_sent=$FLOOD_SENT
p_budget=$(awk -v r="$HOST_RATE" -v s="$FLOOD_SECS" -v b="$HOST_BURST" 'BEGIN { printf "%.0f", r * s + b }')
p_over=$((p_rx - p_budget))
((p_over < 0)) && p_over=0
echo "    this flood: sent $p_sent, ext received $p_rx (RxMissed +$((miss1 - miss0))); ToKern(ext) +$p_tk" \
    "(budget $p_budget); host_rate_limited +$((lim1 - lim0)), host_queue_full +$((qf1 - qf0)), host_tap_full +$((tf1 - tf0))"
# The generator's rate is the test bed's, not Dirigo's: reported, and only a flood worth the name
# (half the target) is required for the checks below to mean something.
echo "    udp_flood achieved ${FLOOD_RATES[0]}/s of the $RATE/s asked"
t_expect "udp_flood floods: at least half of $RATE packets/s from the client namespace (achieved ${FLOOD_RATES[0]}/s)" \
    "$(awk -v r="${FLOOD_RATES[0]}" -v t="$RATE" 'BEGIN { if (r >= 0.5 * t) print 1 }')"
t_expect "during the flood dirigoadm -Ln and --list-ports answer (${adm_ms} ms for both, bound 2000 ms)" \
    "$([[ $adm_ok == 1 && $adm_ms -le 2000 ]] && echo 1)"
# Pings share the port's bucket with the flood (no priority among host packets): reported.
echo "    during the flood ping 10.0.0.1 got ${ping_rx:-0}/40 answers (pings share the bucket with the flood)"
t_expect "during the flood the client resolved 10.0.0.1 again after flushing its ARP cache ($neigh)" "$arp_ok"

# ---- 2. throughput without / with the flood, interleaved -------------------------------------
if ((ROUNDS > 0)); then
# Three kinds of download per round, in rotating order: without a flood; with the flood at the
# director; with the same flood at the client's own loopback (127.0.0.1:9), which costs the
# machine the generator's CPU but reaches no Dirigo: the reference for how much of a slowdown is
# just this machine's two cores generating 100k packets/s.
download >/dev/null # warm the server's page cache and the connection path
NO=() YES=() LOCAL=() LOCAL_RATES=()
orders=("no yes local" "yes local no" "local no yes")
for ((r = 0; r < ROUNDS; r++)); do
    for which in ${orders[r % 3]}; do
        case $which in
        no) NO+=("$(download)") ;;
        yes)
            flood_start 60
            sleep 0.3
            YES+=("$(download)")
            flood_stop
            ;;
        local)
            ip netns exec "$W_NS_CLI" "$UDP_FLOOD" 127.0.0.1 9 "$RATE" 60 >"$W_TMP/local.out" 2>&1 &
            lpid=$!
            W_PIDS+=("$lpid")
            sleep 0.3
            LOCAL+=("$(download)")
            kill -INT "$lpid" 2>/dev/null || true
            wait "$lpid" 2>/dev/null || true
            LOCAL_RATES+=("$(sed -nE 's/.*rate=([0-9]+).*/\1/p' "$W_TMP/local.out")")
            ;;
        esac
    done
    echo "    round $((r + 1)): without $(mbps "${NO[r]}") Mbit/s, flood at the director $(mbps "${YES[r]}")" \
        "(${FLOOD_RATES[-1]}/s), flood at the client's loopback $(mbps "${LOCAL[r]}") (${LOCAL_RATES[-1]:-?}/s)"
done
m_no=$(median "${NO[@]}")
m_yes=$(median "${YES[@]}")
m_loc=$(median "${LOCAL[@]}")
lo=$(printf '%s\n' "${NO[@]}" | sort -n | head -1)
hi=$(printf '%s\n' "${NO[@]}" | sort -n | tail -1)
spread=$(awk -v l="$lo" -v h="$hi" -v m="$m_no" 'BEGIN { if (m > 0) printf "%.0f", (h - l) * 100 / m; else print 999 }')
ratio=$(awk -v a="$m_yes" -v b="$m_no" 'BEGIN { if (b > 0) printf "%.1f", a * 100 / b; else print 0 }')
ratio_loc=$(awk -v a="$m_loc" -v b="$m_no" 'BEGIN { if (b > 0) printf "%.1f", a * 100 / b; else print 0 }')
ratio_yl=$(awk -v a="$m_yes" -v b="$m_loc" 'BEGIN { if (b > 0) printf "%.1f", a * 100 / b; else print 0 }')
echo "    without a flood:              median $(mbps "$m_no") Mbit/s, min $(mbps "$lo"), max $(mbps "$hi") (spread ${spread}% of the median)"
echo "    flood at the director:        median $(mbps "$m_yes") Mbit/s ($ratio% of without)"
echo "    flood at the client loopback: median $(mbps "$m_loc") Mbit/s ($ratio_loc% of without; the director flood's median is $ratio_yl% of it)"
echo "    ${BIG_MB} MiB a download; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
min_rate=$(printf '%s\n' "${FLOOD_RATES[@]:1}" | sort -n | head -1)
t_expect "every download succeeded" "$([[ ! " ${NO[*]} ${YES[*]} ${LOCAL[*]} " =~ " 0 " ]] && echo 1)"
# Informational: while competing with a download for the two cores the generator may fall short.
echo "    the floods during the downloads: slowest ${min_rate}/s of $RATE ($(printf '%s/s ' "${FLOOD_RATES[@]:1}"))"
lo_loc=$(printf '%s\n' "${LOCAL[@]}" | sort -n | head -1)
# Throughput is a measurement, not a pass/fail property (a timed assertion on a shared 2-core VM
# judges its noise): reported here, asserted only with HF_STRICT=1 on a quiet machine.
echo "    RESULT: with the flood at the director the forwarded stream ran at $ratio% of its no-flood median" \
    "(criterion: >= $((100 - TOL))%; the no-flood runs alone spread ${spread}%; loopback-flood reference $ratio_loc%)"
if [[ -n ${HF_STRICT:-} ]]; then
    t_expect "the forwarded stream's median throughput with the flood is within ${TOL}% of without ($ratio%)" \
        "$(awk -v x="$ratio" -v t="$TOL" 'BEGIN { if (x >= 100 - t) print 1 }')"
fi
fi

# ---- 3. the exception path's counters --------------------------------------------------------
read -r rx1 tk1 lim1 qf1 tf1 miss1 <<<"$(counters)"
t_show "$(world_adm --list-ports)"
d_rx=$((rx1 - rx0)) d_tk=$((tk1 - tk0)) d_lim=$((lim1 - lim0)) d_qf=$((qf1 - qf0)) d_tf=$((tf1 - tf0))
d_miss=$((miss1 - miss0))
budget=$(awk -v r="$HOST_RATE" -v s="$FLOOD_SECS" -v b="$HOST_BURST" -v n="$FLOODS" \
    'BEGIN { printf "%.0f", r * s + b * n }')
echo "    $FLOODS floods: sent $FLOOD_SENT in ${FLOOD_SECS}s; the director's ext received $d_rx packets" \
    "(RxMissed +$d_miss) in the same time (the downloads' and pings' included)"
echo "    ToKern(ext) +$d_tk (budget rate x time + burst x floods = $budget);" \
    "host_rate_limited +$d_lim, host_queue_full +$d_qf, host_tap_full +$d_tf"
dropped=$((d_lim + d_qf + d_tf))
t_expect "ToKern for ext rose by at most the budget plus 500 (+$d_tk <= $budget + 500)" \
    "$([[ $d_tk -le $((budget + 500)) ]] && echo 1)"
echo "    the kernel got $((d_tk * 100 / (budget > 0 ? budget : 1)))% of the budget (the control thread's share of the CPU decides the rest)"
t_expect "the rate-limited share did reach the kernel during the floods (ToKern +$d_tk > 0)" \
    "$([[ $d_tk -gt 0 ]] && echo 1)"
t_expect "the exception path counted the lone flood's drops: rate_limited + queue_full + tap_full +$p_drop = what ext received beyond ToKern ($p_rx - $p_tk = $((p_rx - p_tk)), within 1%), >= the excess over the budget ($p_over)" \
    "$([[ $p_drop -ge $p_over && $((p_drop * 100)) -ge $(((p_rx - p_tk) * 99)) ]] && echo 1)"
echo "    over all floods the exception path dropped $dropped of the director's flood packets; the lone" \
    "flood lost $((p_sent - p_rx)) of $p_sent between the client's socket and the director's af_packet" \
    "ring (not counted as RxMissed: the kernel's ring drops are outside the port's counters)"

t_check "ping 10.0.0.1 answers after the flood" world_ping "$W_EXT_IP" 3
t_check "dirigo stops cleanly on SIGTERM" world_stop_dirigo
t_summary
