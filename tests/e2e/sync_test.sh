#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, failover that keeps connections (issue 12): two Dirigo directors made highly
# available by Debian's unmodified keepalived (VRRP, libdirigo-ipvs.so preloaded), as in
# keepalived_vrrp_test.sh, plus IPVS connection synchronisation between them. MODE is nat or dr:
#
#   client ns  eth0 10.0.0.2/24 --- wan ns br0 --+-- dir1 ns ext0 (af_packet) ... int0 --+
#                                    |           +-- dir2 ns ext0 (af_packet) ... int0 --+
#                                    |   (dr) rtr ns wan0 10.0.0.254 ... lan0 172.16.0.254 -+
#   lan ns br0 --- rs1 ns 172.16.0.11, rs2 ns 172.16.0.12 ----------------------------------+
#     nat: default via 172.16.0.1 (the gateway that floats with the VIP), lb_kind NAT
#     dr:  the VIP 10.0.0.100/32 on lo, arp_ignore=1/arp_announce=2, default via the router, whose
#          replies go straight to the client (world_rs_dr), lb_kind DR
#
# keepalived runs vrrp_instance VI_1 on each director's `ext` (priorities 150 and 100, advert_int
# 1) with the VIP (and, for NAT, the gateway 172.16.0.1 on `int`), and virtual_server VIP:80 rr
# over both real servers (a BACKUP that scheduled afresh would send about half the flows to the
# other server). Sync:
#   nat: keepalived starts it (global_defs `lvs_sync_daemon int VI_1 id 7`, through the netlink
#        emulation's IPVS_CMD_NEW_DAEMON): master on dir1, backup on dir2.
#   dr:  `dirigoadm --start-daemon master --mcast-interface int --syncid 8` on dir1 and
#        `--start-daemon backup ...` on dir2.
# `-L --daemon` must print ipvsadm's line on each (and Debian's ipvsadm through the library the
# same). The sync interface is `int`, the lan-side kernel interface: the directors' private side.
# The sync stream carries every client's address and port, so it stays off the client-facing
# network; and it is apart from `ext`, where the VRRP adverts and the client traffic run (a burst
# of sync messages shares no exception-path budget with them; see docs/host-integration.md).
#
# Then: a client (sync_client.py) opens 20 keep-alive connections through dir1 with one request
# each (the body names the server) and a rate-limited curl downloads a file from the VIP; the
# BACKUP must list all 21 connections in `-L -c -n` (ESTABLISHED, client -> VIP -> the server
# that really holds it, as the real servers' `ss` says) and count them in ActiveConn (sum 21).
# dir1 crashes (SIGKILL of every process in its namespace: dirigo and keepalived's three); once
# dir2 holds the addresses and the client's ARP entry for the VIP is dir2's MAC, every connection
# sends a second request, which must be answered by the same server; the download must complete
# (curl exit 0, size and sha256 match); the client must receive no TCP reset at all (tcpdump on
# its eth0 for the whole traffic phase). The failover time and the counts are printed.
# Usage: sync_test.sh MODE [DIRIGO [DIRIGOADM]] with DIRIGO_IPVS_LIB set (meson does).
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MODE=${1:-}
case $MODE in
nat | dr) shift ;;
*)
    echo "usage: $0 nat|dr [DIRIGO [DIRIGOADM]]" >&2
    exit 1
    ;;
esac
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_sync_$MODE
DIRIGO_ADM_TOOL=dirigoadm
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
# shellcheck source=tests/e2e/vrrp_pair.sh
source "$HERE/vrrp_pair.sh"
t_init_bins "$@"
t_init_ipvsadm
command -v keepalived >/dev/null || t_unavailable "keepalived is not installed"
command -v tcpdump >/dev/null || t_unavailable "tcpdump is not installed"

VIP=10.0.0.100
GW=172.16.0.1          # nat: the real servers' default gateway, floating with the VIP
CLIENT=10.0.0.2
EXT_IP=(- 10.0.0.11 10.0.0.12)
INT_IP=(- 172.16.0.2 172.16.0.3)
PRIO=(- 150 100)
STATE=(- MASTER BACKUP)
NRS=2
NCONN=20               # held keep-alive connections; plus the download: 21
SYNC_IF=int
if [[ $MODE == nat ]]; then SYNCID=7; else SYNCID=8; fi
FAILOVER_BOUND=15      # seconds: 3 * advert_int + skew (3.6 s) + ARP, with ample slack
SYNC_BOUND=20          # seconds for the BACKUP to list every connection (the kernel flushes in 2 s)
DAEMON_BOUND=10        # seconds for keepalived's VRRP process to start the sync daemons
RATE=256k              # the download: 8 MiB at 256 KiB/s lasts 32 s, some 20 s past the failover
BIG_MIB=8
STALL_BOUND=30         # seconds without progress that make the download a failure

# ---- The world (world.sh's variables, so that world_destroy tears most of it down) -------------
W_ID=$(printf 'dy%x%04x' "$$" "$((RANDOM))")
W_TMP=$(mktemp -d "/tmp/dirigo-$W_ID.XXXXXX")
W_NS_CLI="$W_ID-cli"
W_NS_WAN="$W_ID-wan"
W_NS_LAN="$W_ID-lan"
NS_DIR=(- "$W_ID-dir1" "$W_ID-dir2")
W_NS_DIR=${NS_DIR[1]}
W_NS_RTR=""            # dr: the router; world_destroy deletes it
W_NRS=$NRS
W_NS_RS=()
W_PREFIX="$W_ID-1"
SOCK=(- "$W_TMP/dirigo1.sock" "$W_TMP/dirigo2.sock")
DPID=(- "" "")
KPID=(- "" "")
TCPDUMP_PID=""
CURL_PID=""
CLIENT_PID=""

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local rc=$? k pid
    trap - EXIT INT TERM
    for pid in $CLIENT_PID $CURL_PID $TCPDUMP_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for k in 1 2; do
        for pid in ${KPID[k]} ${DPID[k]}; do
            kill -TERM "$pid" 2>/dev/null || true
        done
    done
    for pid in $CLIENT_PID $CURL_PID $TCPDUMP_PID ${KPID[1]} ${KPID[2]} ${DPID[1]} ${DPID[2]}; do
        timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # dir2 is not one of world.sh's namespaces: whatever is left in it was started here.
    if ip netns list 2>/dev/null | grep -q "^${NS_DIR[2]}\b"; then
        for pid in $(ip netns pids "${NS_DIR[2]}" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "${NS_DIR[2]}" 2>/dev/null || true
    fi
    rm -rf "/var/run/dpdk/$W_ID-2"
    world_destroy
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

world_log "creating ($MODE): client, wan, two directors, lan, $NRS real servers; temp dir $W_TMP"
vrrp_world_directors
if [[ $MODE == dr ]]; then
    # The router of world_create's "router" topology: DR replies come from the VIP, an address of
    # the client's side, so reverse path filtering is off.
    W_NS_RTR="$W_ID-rtr"
    world_new_ns "$W_NS_RTR"
    world_veth "$W_NS_RTR" wan0 "$W_NS_WAN" rtr
    world_veth "$W_NS_RTR" lan0 "$W_NS_LAN" rtr
    ip -n "$W_NS_WAN" link set rtr master br0
    ip -n "$W_NS_LAN" link set rtr master br0
    ip -n "$W_NS_RTR" addr add "$W_RTR_WAN_IP/24" dev wan0
    ip -n "$W_NS_RTR" addr add "$W_RTR_LAN_IP/24" dev lan0
    for key in net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.wan0.rp_filter=0 \
        net.ipv4.conf.lan0.rp_filter=0; do
        world_exec "$W_NS_RTR" sysctl -qw "$key"
    done
fi
vrrp_world_servers
[[ $MODE == dr ]] && world_rs_dr
# The download: the same random file on every real server, next to the "webN" index.
head -c "$((BIG_MIB << 20))" /dev/urandom >"$W_TMP/big.bin"
BIG_SHA=$(sha256sum "$W_TMP/big.bin" | awk '{ print $1 }')
BIG_SIZE=$((BIG_MIB << 20))
for ((i = 1; i <= NRS; i++)); do
    mkdir -p "$W_TMP/www$i"
    cp "$W_TMP/big.bin" "$W_TMP/www$i/big.bin"
done
world_start_servers

# ---- The directors (tests/e2e/vrrp_pair.sh writes and starts them) ------------------------------
# The VRRP test's keepalived.conf; NAT adds lvs_sync_daemon, DR has no floating gateway.
if [[ $MODE == dr ]]; then
    KA_LB_KIND=DR
    KA_FLOAT_GW=0
else
    KA_GLOBAL_EXTRA="lvs_sync_daemon $SYNC_IF VI_1 id $SYNCID"
fi

ipv() {
    local k=$1
    shift
    timeout 10 env LD_PRELOAD="$DIRIGO_IPVS_LIB" DIRIGO_SOCKET="${SOCK[k]}" ipvsadm "$@"
}
# owns K: director K holds the VIP (and for NAT the gateway), the other holds neither.
owns() {
    local m=$1 b=$((3 - $1))
    holds "$m" ext "$VIP" && ! holds "$b" ext "$VIP" || return 1
    [[ $MODE == dr ]] || { holds "$m" int "$GW" && ! holds "$b" int "$GW"; }
}
# daemon_re ROLE: ipvsadm 1.31's line for a sync daemon on $SYNC_IF with $SYNCID; the optional
# fields are printed when the daemon reports them (the kernel reports all four).
daemon_re() {
    printf '^%s sync daemon \\(mcast=%s, syncid=%d(, maxlen=[0-9]+)?(, group=224\\.0\\.0\\.81)?(, port=8848)?(, ttl=1)?\\)$' \
        "$1" "$SYNC_IF" "$SYNCID"
}
daemon_is() {
    local k=$1 role=$2 out
    out=$(adm "$k" -L --daemon 2>&1) || return 1
    [[ $(wc -l <<<"$out") == 1 ]] && grep -Eq "$(daemon_re "$role")" <<<"$out"
}
# lines_of FILE PREFIX: the lines of FILE starting with PREFIX (none is not an error).
lines_of() { grep "^$2" "$1" 2>/dev/null || true; }

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
t_wait_until 20 eval 'owns 1 && services_up 1 && services_up 2' && ok=1
t_expect "dir1 (MASTER, priority 150) holds the virtual addresses, dir2 none; both have virtual_server $VIP:80 rr over $NRS servers ($MODE)" "$ok"
if ((!ok)); then
    t_show "$(tail -30 "$W_TMP/keepalived1.log")"
    t_show "$(tail -30 "$W_TMP/keepalived2.log")"
    t_bail "the directors are not ready; nothing else can be checked"
fi

# ---- Step 2: the sync daemons --------------------------------------------------------------------
if [[ $MODE == nat ]]; then
    echo "    # keepalived.conf global_defs: lvs_sync_daemon $SYNC_IF VI_1 id $SYNCID"
    ok=0
    t_wait_until "$DAEMON_BOUND" eval 'daemon_is 1 master && daemon_is 2 backup' && ok=1
else
    ok=1
    for k in 1 2; do
        role=master
        ((k == 2)) && role=backup
        echo "    # dir$k: dirigoadm --start-daemon $role --mcast-interface $SYNC_IF --syncid $SYNCID"
        out=$(adm "$k" --start-daemon "$role" --mcast-interface "$SYNC_IF" --syncid "$SYNCID" 2>&1) || {
            ok=0
            t_show "dir$k: $out"
        }
    done
    ((ok)) && { daemon_is 1 master && daemon_is 2 backup || ok=0; }
fi
for k in 1 2; do
    t_show "dir$k: dirigoadm -L --daemon: $(adm "$k" -L --daemon 2>&1 || true)"
done
if ((!ok)); then
    [[ $MODE == nat ]] && t_show "$(grep -i 'sync\|daemon' "$W_TMP/keepalived1.log" | tail -10)"
    t_bail "the sync daemons run: 'dirigoadm -L --daemon' prints 'master sync daemon (mcast=$SYNC_IF, syncid=${SYNCID}[, maxlen=N, group=224.0.0.81, port=8848, ttl=1])' on dir1 and 'backup sync daemon (...)' on dir2 (the sync daemon is missing or did not start)"
fi
t_pass "sync daemons: dir1 '$(adm 1 -L --daemon)', dir2 '$(adm 2 -L --daemon)'"
ok=1
for k in 1 2; do
    [[ $(ipv "$k" -L --daemon 2>&1) == "$(adm "$k" -L --daemon 2>&1)" ]] || ok=0
done
t_expect "Debian's ipvsadm -L --daemon (GET_DAEMON through libdirigo-ipvs.so) prints the same lines" "$ok"

# ---- Steps 3 and 4: the traffic through dir1 -----------------------------------------------------
# The directors resolve the real servers by ARP on the first flows: warm up with fresh curls (they
# close, so they leave no ESTABLISHED entry behind).
t_warm_up "$NRS" || t_bail "requests to the VIP reach both real servers through dir1"
t_expect "the client's ARP entry for the VIP is dir1's MAC ($(client_mac) == $MAC1)" \
    "$([[ $(client_mac) == "$MAC1" ]] && echo 1)"

# Every TCP segment the client sees, from here to the end of the traffic.
ip netns exec "$W_NS_CLI" tcpdump -i eth0 -n -s 128 -U -w "$W_TMP/client.pcap" tcp \
    >"$W_TMP/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
t_wait_until 10 grep -q 'listening on' "$W_TMP/tcpdump.log" || t_bail "tcpdump starts in the client namespace"

# The download: a port outside the ephemeral range, so it is told apart in the listings.
ip netns exec "$W_NS_CLI" curl -sS --limit-rate "$RATE" --max-time 120 --local-port 61000-61999 \
    -o "$W_TMP/download.bin" -w '%{http_code} %{size_download} %{local_port}\n' \
    "http://$VIP/big.bin" >"$W_TMP/curl.out" 2>"$W_TMP/curl.err" &
CURL_PID=$!
t_wait_until 10 test -s "$W_TMP/download.bin" || t_bail "the download starts ($(cat "$W_TMP/curl.err"))"
DL_T0=$(now_ms)

GO="$W_TMP/round2.go"
ip netns exec "$W_NS_CLI" "$(world_python)" "$HERE/sync_client.py" "$VIP" 80 "$GO" \
    --count "$NCONN" --timeout 10 --max-wait 240 >"$W_TMP/client.out" 2>&1 &
CLIENT_PID=$!
t_wait_until 60 grep -q '^ROUND1' "$W_TMP/client.out" || true
round1=$(lines_of "$W_TMP/client.out" ROUND1)
t_show "$(lines_of "$W_TMP/client.out" CONN)"
mapfile -t bodies < <(lines_of "$W_TMP/client.out" CONN | sed 's/.*server=//')
t_expect "the client holds $NCONN connections, each answered once ($round1; $(t_tally "${bodies[@]}"))" \
    "$([[ $round1 == "ROUND1 answered=$NCONN failed=0" ]] && echo 1)"

# Ground truth: which real server holds each of the client's connections (its `ss`), as
# "PORT RS" lines; with the client's own record (the body) cross-checked.
truth() {
    local i
    for ((i = 1; i <= NRS; i++)); do
        ip netns exec "${W_NS_RS[i - 1]}" ss -Htn state established "( sport = :80 and dst $CLIENT )" |
            awk -v rs="$i" '{ n = split($NF, a, ":"); print a[n], rs }'
    done | sort -n
}
mapfile -t TRUTH < <(truth)
ok=1
for line in $(lines_of "$W_TMP/client.out" CONN | sed -n 's/^CONN [0-9]* local=[0-9.]*:\([0-9]*\) server=web\([0-9]*\)$/\1:\2/p'); do
    printf '%s\n' "${TRUTH[@]}" | grep -qx "${line%%:*} ${line##*:}" || ok=0
done
t_expect "the real servers hold $((NCONN + 1)) connections from the client (${#TRUTH[@]}), and each held one is with the server that answered it" \
    "$([[ ${#TRUTH[@]} == $((NCONN + 1)) ]] && echo "$ok")"

# ---- Step 5: the BACKUP lists every connection before the failover --------------------------------
# shellcheck disable=SC2317  # run through t_wait_until
# synced_ok: dir2's -L -c -n has, for every connection the real servers hold, an ESTABLISHED line
# client -> VIP:80 -> that server:80.
synced_ok() {
    local listing line port rs n=0
    listing=$(adm 2 -L -c -n 2>/dev/null) || return 1
    for line in "${TRUTH[@]}"; do
        port=${line% *}
        rs=$(world_rs_ip "${line#* }")
        grep -Eq "^TCP +[0-9]{2}:[0-9]{2} +ESTABLISHED +${CLIENT//./\\.}:$port +${VIP//./\\.}:80 +${rs//./\\.}:80\$" \
            <<<"$listing" && n=$((n + 1))
    done
    ((n == NCONN + 1))
}
t0=$(now_ms)
ok=0
t_wait_until "$SYNC_BOUND" synced_ok && ok=1
sync_ms=$(($(now_ms) - t0))
t_show "dir2 (BACKUP): dirigoadm -L -c -n"
t_show "$(adm 2 -L -c -n 2>&1 || true)"
t_expect "the BACKUP lists all $((NCONN + 1)) connections ESTABLISHED, client -> $VIP:80 -> the right real server ($(secs "$sync_ms") s after the last one opened; bound $SYNC_BOUND s)" "$ok"
listing=$(adm 2 -L -n 2>&1 || true)
t_show "dir2 (BACKUP): dirigoadm -L -n"
t_show "$listing"
t_show "dir1 (MASTER): dirigoadm -L -n"
t_show "$(adm 1 -L -n 2>&1 || true)"
active=$(awk '$1 == "->" { s += $5 } END { print s + 0 }' <<<"$listing")
t_expect "the BACKUP counts the synced connections: ActiveConn sums to $((NCONN + 1)) over the two servers (got $active)" \
    "$([[ $active == $((NCONN + 1)) ]] && echo 1)"

# ---- Step 6: the MASTER crashes ------------------------------------------------------------------
# Every process in dir1's namespace is dirigo or keepalived (parent, VRRP and checker children):
# all of them die at once, as in a power cut, so no priority-0 advert is sent.
mapfile -t DIR1_PIDS < <(ip netns pids "${NS_DIR[1]}")
t_show "dir1's processes: $(for p in "${DIR1_PIDS[@]}"; do printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done)"
dl_running=0
kill -0 "$CURL_PID" 2>/dev/null && dl_running=1
t_expect "the download is still running at the kill ($(stat -c %s "$W_TMP/download.bin") of $BIG_SIZE bytes after $(secs $(($(now_ms) - DL_T0))) s)" "$dl_running"
t0=$(now_ms)
kill -KILL "${DIR1_PIDS[@]}" 2>/dev/null || true
for pid in "${DPID[1]}" "${KPID[1]}"; do
    wait "$pid" 2>/dev/null || true
done
DPID[1]=""
KPID[1]=""
fail_ms=""
while (($(now_ms) - t0 < FAILOVER_BOUND * 1000)); do
    if owns 2 && [[ $(client_mac) == "$MAC2" ]]; then
        fail_ms=$(($(now_ms) - t0))
        break
    fi
    sleep 0.1
done
if [[ -n $fail_ms ]]; then
    t_pass "failover: dir2 holds the virtual addresses and the client's ARP entry is its MAC $(secs "$fail_ms") s after the kill (bound $FAILOVER_BOUND s)"
else
    t_fail "failover: dir2 did not take over within $FAILOVER_BOUND s of the kill (client's ARP entry $(client_mac))"
    t_show "$(tail -20 "$W_TMP/keepalived2.log")"
fi
if [[ $MODE == nat ]]; then
    t_show "dir2: dirigoadm -L --daemon: $(adm 2 -L --daemon 2>&1 || true)"
fi

# The second round on every held connection.
t1=$(now_ms)
touch "$GO"
crc=0
timeout 60 tail --pid="$CLIENT_PID" -f /dev/null 2>/dev/null || true
wait "$CLIENT_PID" 2>/dev/null || crc=$?
CLIENT_PID=""
round2_ms=$(($(now_ms) - t1))
t_show "$(lines_of "$W_TMP/client.out" ROUND2)"
result=$(lines_of "$W_TMP/client.out" RESULT)
[[ -n $result ]] || t_show "$(tail -5 "$W_TMP/client.out")"
t_expect "after the failover all $NCONN held connections answer from the same server (${result:-no result}; round took $(secs "$round2_ms") s; exit $crc)" \
    "$([[ $crc == 0 && $result == *" same=$NCONN "* ]] && echo 1)"

# The download: waited for while it makes progress; 30 s without a byte is a stall (without sync
# the connection never recovers, and curl's own --max-time would hold the test for minutes).
drc=0
stalled=""
last_size=-1
last_ms=$(now_ms)
while kill -0 "$CURL_PID" 2>/dev/null; do
    size=$(stat -c %s "$W_TMP/download.bin" 2>/dev/null || echo 0)
    if ((size != last_size)); then
        last_size=$size
        last_ms=$(now_ms)
    elif (($(now_ms) - last_ms > STALL_BOUND * 1000)); then
        stalled=" (stalled: no byte for $STALL_BOUND s, curl stopped)"
        kill -TERM "$CURL_PID" 2>/dev/null || true
        break
    fi
    sleep 0.5
done
wait "$CURL_PID" 2>/dev/null || drc=$?
CURL_PID=""
dl_end=$(now_ms)
got_size=$(stat -c %s "$W_TMP/download.bin" 2>/dev/null || echo 0)
got_sha=$(sha256sum "$W_TMP/download.bin" 2>/dev/null | awk '{ print $1 }' || true)
t_show "curl: $(cat "$W_TMP/curl.out" "$W_TMP/curl.err" 2>/dev/null | tr '\n' ' ')"
t_expect "the download through the failover completes$stalled: curl exit $drc, $got_size of $BIG_SIZE bytes, sha256 $([[ $got_sha == "$BIG_SHA" ]] && echo matches || echo differs) ($(secs $((dl_end - DL_T0))) s in all, $(secs $((dl_end - t0))) s after the kill)" \
    "$([[ $drc == 0 && $got_size == "$BIG_SIZE" && $got_sha == "$BIG_SHA" ]] && echo 1)"

# The resets.
kill -INT "$TCPDUMP_PID" 2>/dev/null || true
timeout 10 tail --pid="$TCPDUMP_PID" -f /dev/null 2>/dev/null || kill -KILL "$TCPDUMP_PID" 2>/dev/null || true
wait "$TCPDUMP_PID" 2>/dev/null || true
TCPDUMP_PID=""
# count FILTER: how many captured segments match.
count() { { tcpdump -n -r "$W_TMP/client.pcap" "$@" 2>/dev/null || true; } | wc -l; }
rst_in=$(count "tcp[tcpflags] & tcp-rst != 0 and dst host $CLIENT")
rst_out=$(count "tcp[tcpflags] & tcp-rst != 0 and src host $CLIENT")
segs=$(count)
[[ -s $W_TMP/client.pcap ]] || rst_in=unknown
((rst_in == 0)) || t_show "$(tcpdump -n -r "$W_TMP/client.pcap" "tcp[tcpflags] & tcp-rst != 0" 2>/dev/null | head -20)"
t_expect "the client received no TCP reset during the traffic ($rst_in received, $rst_out sent, $segs segments captured)" \
    "$([[ $rst_in == 0 ]] && echo 1)"

failover="did not complete within $FAILOVER_BOUND s"
[[ -n $fail_ms ]] && failover="$(secs "$fail_ms") s (kill -> dir2 owns the VIP, client ARP moved)"
echo "SUMMARY ($MODE): failover $failover; held connections: ${result#RESULT }; download: exit $drc, $got_size of $BIG_SIZE bytes; resets received: $rst_in"

# ---- Clean stop ----------------------------------------------------------------------------------
stop_pid "${KPID[2]}"
KPID[2]=""
stop_pid "${DPID[2]}"
DPID[2]=""
t_summary
