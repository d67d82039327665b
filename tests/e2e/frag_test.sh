#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end UDP datagrams larger than the MTU through LVS/NAT (docs/forwarding.md, "Fragments"):
#
#   client 10.0.0.2 --> VIP 10.0.0.100:9053/udp (dirigo, rr, masq) --> 172.16.0.11:9053 echo
#                                                                  --> 172.16.0.12:9053 echo
#
# Every link has a 1500-byte MTU. The client's kernel sends each 8000-byte datagram as six
# fragments; the director's af_packet ports (PACKET_FANOUT_FLAG_DEFRAG) hand dirigo the datagram
# reassembled, in one mbuf (framesz and dataplane.mbuf_size raised to 16 KB); dirigo rewrites it
# and fragments it again for the 1500-byte inside port; the real server's kernel reassembles it,
# its echo comes back the same way. Checks: 20 datagrams over two client sockets, every echo
# whole, byte-identical and from VIP:9053; both real servers received whole 8000-byte datagrams
# from the client's own address; dirigo stops cleanly.
#
# Usage: frag_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_frag
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

PY=$(world_python)
UPORT=9053
COUNT=20
SIZE=8000

bail() {
    t_fail "$1"
    world_dirigo_log_tail 60
    t_summary
}

world_install_trap
world_create 2
# af_packet copies each frame into one mbuf and truncates frames longer than its ring's frames:
# 16 KB frames, and mbufs that hold one (16384 - 32 bytes of frame + 128 of headroom).
DIRIGO_AFP_ARGS=",framesz=16384,blocksz=16384,framecnt=256"
W_DATAPLANE_EXTRA="mbufs = 4095; mbuf_size = 16512;"
world_write_config
world_start_dirigo "$DIRIGO" || bail "dirigo starts with 16 KB af_packet frames and mbufs"
t_pass "dirigo starts with 16 KB af_packet frames and mbufs"

rules_ok=1
world_adm -A -u "$W_VIP:$UPORT" -s rr || rules_ok=0
world_adm -a -u "$W_VIP:$UPORT" -r "172.16.0.11:$UPORT" -m || rules_ok=0
world_adm -a -u "$W_VIP:$UPORT" -r "172.16.0.12:$UPORT" -m || rules_ok=0
((rules_ok)) || bail "dirigoadm adds the UDP NAT service and both real servers"
t_pass "dirigoadm adds the UDP NAT service and both real servers"

for ((i = 1; i <= W_NRS; i++)); do
    ip netns exec "${W_NS_RS[i - 1]}" "$PY" "$HERE/udp_echo.py" server "$(world_rs_ip "$i")" \
        "$UPORT" "$W_TMP/echo$i.log" >"$W_TMP/echo$i.err" 2>&1 &
    W_PIDS+=("$!")
done

# Warm-up with small datagrams (bounded at about 20 s): the director resolves both real servers
# by ARP, so no fragment waits in its neighbour queue (8 frames per next hop).
warm=0
for ((i = 0; i < 20; i++)); do
    if ip netns exec "$W_NS_CLI" timeout 10 "$PY" "$HERE/udp_echo.py" client "$W_VIP" "$UPORT" \
        --count 2 --sockets 2 --size 100 --timeout 1 >"$W_TMP/warm.out" 2>&1; then
        warm=1
        break
    fi
    sleep 0.5
done
((warm)) || bail "small datagrams to the VIP are echoed (warm-up)"
t_pass "small datagrams to the VIP are echoed (warm-up)"
for ((i = 1; i <= W_NRS; i++)); do
    : >"$W_TMP/echo$i.log"
done

out="$W_TMP/client.out"
rc=0
ip netns exec "$W_NS_CLI" timeout 120 "$PY" "$HERE/udp_echo.py" client "$W_VIP" "$UPORT" \
    --count "$COUNT" --sockets 2 --size "$SIZE" --timeout 3 >"$out" 2>&1 || rc=$?
sed 's/^/    /' "$out"
t_expect "$COUNT datagrams of $SIZE bytes: every echo whole, byte-identical, from $W_VIP:$UPORT" \
    "$([[ $rc -eq 0 ]] && grep -qx "echoed $COUNT/$COUNT" "$out" && echo 1)"

n1=$(grep -c "^$SIZE $W_CLIENT_IP:" "$W_TMP/echo1.log" || true)
n2=$(grep -c "^$SIZE $W_CLIENT_IP:" "$W_TMP/echo2.log" || true)
other=$(cat "$W_TMP/echo1.log" "$W_TMP/echo2.log" | grep -vc "^$SIZE $W_CLIENT_IP:" || true)
echo "    real servers received: rs1=$n1 rs2=$n2 other=$other"
t_expect "both real servers received whole $SIZE-byte datagrams from $W_CLIENT_IP (rs1=$n1 rs2=$n2, other=$other)" \
    "$([[ $n1 -gt 0 && $n2 -gt 0 && $((n1 + n2)) -eq $COUNT && $other -eq 0 ]] && echo 1)"

listing=$(world_adm -Ln --stats 2>&1) || true
printf '    %s\n' "${listing//$'\n'/$'\n'    }"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
