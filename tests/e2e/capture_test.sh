#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, packet capture with DPDK's own tool: dpdk-dumpcap (a secondary process attached to
# the daemon through its --file-prefix) captures both ports while one curl goes through a NAT
# service, and tcpdump reads the pcapng file back: the client's SYN to the VIP received on ext,
# the same SYN rewritten to the real server sent on int, the real server's SYN-ACK received on
# int, the VIP's SYN-ACK sent on ext, and the reply body on both sides.
#
# dpdk-dumpcap is a DPDK secondary process, and DPDK cannot attach a secondary process to a
# primary started with --no-huge (the primary never writes the runtime directory's
# hugepage_info, so the secondary's rte_eal_init stops at "Cannot get hugepage information";
# dumpcap passes no EAL options but --file-prefix, so it cannot run --no-huge itself either; see
# docs/operations.md). This test therefore runs the daemon on hugepages (2 MiB pages, reserved by
# scripts/setup) and skips when there are not enough free ones.
#
# Usage: capture_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_capture
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"
for tool in dpdk-dumpcap tcpdump; do
    command -v "$tool" >/dev/null 2>&1 || t_unavailable "needs '$tool' (run scripts/setup)"
done
# What the daemon needs with small tables (below), with room to spare: 128 pages of 2 MiB.
free_pages=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
huge_dir=$(awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts)
if [[ -z $huge_dir || ${free_pages:-0} -lt 128 ]]; then
    t_unavailable "needs hugetlbfs mounted and 128 free 2 MiB hugepages (have ${free_pages:-0}; scripts/setup reserves them)"
fi

# The daemon's hugepage files outlive it (DPDK keeps them for a restart with the same prefix):
# remove this run's, whatever way the test ends.
capture_cleanup() {
    rm -f "$huge_dir/${W_PREFIX:-none}map_"* 2>/dev/null || true
}
world_install_trap
trap 'rc=$?; trap - EXIT INT TERM; world_destroy; capture_cleanup; exit $rc' EXIT
trap 'trap - EXIT INT TERM; world_destroy; capture_cleanup; exit 130' INT
trap 'trap - EXIT INT TERM; world_destroy; capture_cleanup; exit 143' TERM

world_create 2
world_start_servers
W_DATAPLANE_EXTRA='conn_table_size = 16384; mbufs = 8191;'
# Without the ports' kernel interfaces: both dumpcaps' pdump requests once timed out with net_tap
# vdevs in the primary, and once without them, when the two dumpcaps started at the same time
# (they now start one after the other, below); docs/operations.md, "Capture". Capture itself is
# what this test checks.
W_EXTRA_CONFIG='host = { kernel_interfaces = false; };'
world_write_config
# The same world, on hugepages: only the memory options differ from every other test.
sed -i 's/"--no-huge", "-m", "[0-9]*", //' "$W_CONFIG"
grep -q -- '--no-huge' "$W_CONFIG" && t_bail "the config still says --no-huge"
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts on hugepages"
t_pass "dirigo starts on hugepages (file prefix $W_PREFIX)"

VS="$W_VIP:$W_VPORT"
world_adm -A -t "$VS" -s rr
world_adm -a -t "$VS" -r "$(world_rs_ip 1):80" -m
world_adm -a -t "$VS" -r "$(world_rs_ip 2):80" -m
t_warm_up 2 || t_bail "both real servers answer through the VIP"

# ---- dumpcap attaches and lists the daemon's ports --------------------------------------------------
ifaces=$(timeout 30 dpdk-dumpcap --file-prefix="$W_PREFIX" -D 2>"$W_TMP/dumpcap-D.log" || true)
t_show "$ifaces"
t_expect "dpdk-dumpcap -D lists the daemon's two ports" "$(
    grep -q 'net_af_packet0' <<<"$ifaces" && grep -q 'net_af_packet1' <<<"$ifaces" && echo 1
)" || true
if ! grep -q 'net_af_packet0' <<<"$ifaces"; then
    sed 's/^/    /' "$W_TMP/dumpcap-D.log"
    t_bail "dpdk-dumpcap attaches to the daemon"
fi

# One dumpcap per port: this dumpcap (DPDK 22.11) given two -i options captured only the last
# one here (docs/operations.md); two processes, each with its own ring and pool, capture both.
declare -A DC_PID=()
start_dumpcap() {  # start_dumpcap DEVICE FILE
    dpdk-dumpcap --file-prefix="$W_PREFIX" -i "$1" -w "$2" \
        >"$W_TMP/dumpcap-$1.out" 2>"$W_TMP/dumpcap-$1.log" &
    DC_PID[$1]=$!
    W_PIDS+=("$!")
}
# stop_dumpcap DEVICE: SIGINT, as at a terminal; sets DC_RC to its exit status. (Not called in
# $(...): only this shell can wait for its own child.)
DC_RC=0
stop_dumpcap() {
    local pid=${DC_PID[$1]}
    DC_RC=0
    kill -INT "$pid" 2>/dev/null || true
    timeout 15 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || DC_RC=$?
}
# capturing DEVICE: the dumpcap on DEVICE has attached and started writing ("File: ...").
capturing() {
    grep -qs '^File: ' "$W_TMP/dumpcap-$1.log"
}
EXT_CAP="$W_TMP/ext.pcapng"
INT_CAP="$W_TMP/int.pcapng"
# One after the other: while a secondary process attaches, the primary forwards some of its
# requests to every other secondary and waits for their answers; a second dumpcap still in its
# own start-up answers none, and both time out (seen on a loaded machine: "Fail to recv reply
# for request ...:mp_pdump"). docs/operations.md says the same to operators.
start_dumpcap net_af_packet0 "$EXT_CAP"
t_wait_until 60 capturing net_af_packet0 || true
start_dumpcap net_af_packet1 "$INT_CAP"
t_wait_until 60 capturing net_af_packet1 || true
# readback [FILE...]: the captures so far, as tcpdump prints them (a packet being written may be
# cut short).
readback() {
    local f
    for f in "${@:-$EXT_CAP}"; do
        tcpdump -r "$f" -n -tt 2>/dev/null || true
    done
}
# Live once a ping to the director's address on each side shows up in that port's file (bounded).
live=0
for ((i = 0; i < 40; i++)); do
    world_exec "$W_NS_CLI" ping -n -q -c 1 -W 1 "$W_EXT_IP" >/dev/null 2>&1 || true
    world_exec "${W_NS_RS[0]}" ping -n -q -c 1 -W 1 "$W_INT_IP" >/dev/null 2>&1 || true
    if readback "$EXT_CAP" | grep -q "$W_CLIENT_IP > $W_EXT_IP: ICMP echo request" &&
        readback "$INT_CAP" | grep -q "$(world_rs_ip 1) > $W_INT_IP: ICMP echo request"; then
        live=1
        break
    fi
    sleep 0.5
done
if ((live == 0)); then
    cat "$W_TMP"/dumpcap-*.log | tr '\r' '\n' | sed 's/^/    /'
    t_bail "dpdk-dumpcap captures: pings to the director appear in both ports' files"
fi
t_pass "dpdk-dumpcap captures both ports: pings to the director appear in both files"

# ---- one curl, captured on both sides ----------------------------------------------------------------
CPORT=40123
body=$(world_curl "http://$VS/" --local-port "$CPORT") || body=ERR
t_expect "one curl through the VIP from port $CPORT answers ($body)" "$([[ $body == web[12] ]] && echo 1)"
rs_ip=$(world_rs_ip "${body#web}")
c="$W_CLIENT_IP.$CPORT"
# tcpdump's one-line forms: "IP SRC.PORT > DST.PORT: Flags [S], ..."
want=(
    "$c > $W_VIP.80: Flags \[S\]"
    "$W_VIP.80 > $c: Flags \[S\.\]"
    "$c > $rs_ip.80: Flags \[S\]"
    "$rs_ip.80 > $c: Flags \[S\.\]"
)
have_all() {
    local text p
    text=$(readback "$EXT_CAP" "$INT_CAP")
    for p in "${want[@]}"; do
        grep -qE "IP $p" <<<"$text" || return 1
    done
    # The reply's body, once from the real server (int) and once from the VIP (ext).
    [[ $(grep -cE "IP ($rs_ip|$W_VIP)\.80 > $c: Flags \[P\.\]" <<<"$text") -ge 2 ]] || return 1
    # And the same number of the connection's packets on each side (the last ACK may be on its way).
    [[ $(grep -cE "IP ($c > $W_VIP\.80|$W_VIP\.80 > $c):" <<<"$text") == \
        "$(grep -cE "IP ($c > $rs_ip\.80|$rs_ip\.80 > $c):" <<<"$text")" ]]
}
t_wait_until 20 have_all || true
stop_dumpcap net_af_packet0
rc_ext=$DC_RC
stop_dumpcap net_af_packet1
rc_int=$DC_RC
t_show "$(tr '\r' '\n' <"$W_TMP/dumpcap-net_af_packet0.log" | tail -n 2)"
t_expect "both dpdk-dumpcaps stop on SIGINT (status $rc_ext, $rc_int)" \
    "$([[ $rc_ext == 0 && $rc_int == 0 ]] && echo 1)"

ext_text=$(tcpdump -r "$EXT_CAP" -n 2>&1 || true)
int_text=$(tcpdump -r "$INT_CAP" -n 2>&1 || true)
t_show "$(grep -E "reading from|$W_CLIENT_IP\.$CPORT" <<<"$ext_text")"
t_show "$(grep -E "reading from|$W_CLIENT_IP\.$CPORT" <<<"$int_text")"
t_expect "tcpdump -r reads both pcapng files" "$(
    head -n 1 <<<"$ext_text" | grep -q 'reading from file' &&
        head -n 1 <<<"$int_text" | grep -q 'reading from file' && echo 1
)"
text="$ext_text"$'\n'"$int_text"
t_expect "ext, received: the client's SYN to the VIP ($c > $W_VIP.80)" "$(grep -qE "IP ${want[0]}" <<<"$ext_text" && echo 1)"
t_expect "int, sent: the same SYN rewritten to the real server ($c > $rs_ip.80)" "$(grep -qE "IP ${want[2]}" <<<"$int_text" && echo 1)"
t_expect "int, received: the real server's SYN-ACK ($rs_ip.80 > $c)" "$(grep -qE "IP ${want[3]}" <<<"$int_text" && echo 1)"
t_expect "ext, sent: the VIP's SYN-ACK to the client ($W_VIP.80 > $c)" "$(grep -qE "IP ${want[1]}" <<<"$ext_text" && echo 1)"
full=$( (tcpdump -r "$EXT_CAP" -n -A; tcpdump -r "$INT_CAP" -n -A) 2>/dev/null || true)
t_expect "the reply body '$body' is in the capture on both sides" "$(
    [[ $(grep -o "$body" <<<"$full" | wc -l) -ge 2 ]] && echo 1
)"
t_expect "every packet of the curl's connection was seen twice, once per port" "$(
    n_ext=$(grep -cE "IP ($c > $W_VIP\.80|$W_VIP\.80 > $c):" <<<"$text")
    n_int=$(grep -cE "IP ($c > $rs_ip\.80|$rs_ip\.80 > $c):" <<<"$text")
    echo "ext=$n_ext int=$n_int" >&2
    [[ $n_ext -ge 6 && $n_ext == "$n_int" ]] && echo 1
)"

# A capture still attached when the daemon stops: the workers stop before the capture server.
start_dumpcap net_af_packet0 "$W_TMP/last.pcapng"
t_wait_until 20 grep -q "Capturing on" "$W_TMP/dumpcap-net_af_packet0.log" || true
t_check "dirigo stops on SIGTERM with a dpdk-dumpcap attached, with status 0, removing its socket" \
    world_stop_dirigo
t_summary
