#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Proves the test bed itself, independently of Dirigo: dpdk-testpmd in the director namespace,
# forwarding ext0 <-> int0 untouched (io mode), must carry ARP, ICMP and TCP between the client and
# the real servers. The client gets a second address, 172.16.0.2/24, so it is on the servers' link
# through the testpmd "wire".
#
# Usage: testpmd_test.sh [af_packet|af_xdp]   (default af_packet)
# Exit: 0 pass, 1 fail, 77 skip (no root / network namespaces, or no AF_XDP on this kernel).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"

PMD=${1:-af_packet}
case $PMD in
af_packet | af_xdp) ;;
*)
    echo "usage: $0 [af_packet|af_xdp]" >&2
    exit 2
    ;;
esac
T_NAME="testpmd_$PMD"

if ! reason=$(world_can_run 2>&1); then
    t_unavailable "$reason"
fi
TESTPMD=$(command -v dpdk-testpmd || true)
if [[ -z $TESTPMD ]]; then
    echo "FAIL: dpdk-testpmd not found (Debian package dpdk-dev; run scripts/setup)"
    exit 1
fi

world_install_trap
world_create 2
world_start_servers
ip -n "$W_NS_CLI" addr add 172.16.0.2/24 dev eth0

log="$W_TMP/testpmd.log"
: >"$log"
# --total-num-mbufs: testpmd's default pool (~155k mbufs, ~340 MB) does not fit in -m 512.
ip netns exec "$W_NS_DIR" timeout -s INT 120 "$TESTPMD" -l 0-1 --no-huge -m 512 --no-pci \
    --file-prefix "$W_PREFIX" --vdev="net_${PMD}0,iface=ext0" --vdev="net_${PMD}1,iface=int0" \
    -- --forward-mode=io --nb-cores=1 --total-num-mbufs=8192 --stats-period 5 >"$log" 2>&1 &
tp_pid=$!
W_PIDS+=("$tp_pid")

started=0
for ((i = 0; i < 150; i++)); do
    if grep -q "start packet forwarding" "$log"; then
        started=1
        break
    fi
    kill -0 "$tp_pid" 2>/dev/null || break
    sleep 0.2
done
if ((!started)); then
    if [[ $PMD == af_xdp ]] && grep -q "failed to initialize net_af_xdp" "$log"; then
        sed 's/^/    /' "$log"
        echo "SKIP: net_af_xdp cannot attach to a veth on this kernel"
        exit 77
    fi
    t_fail "testpmd started forwarding"
    sed 's/^/    /' "$log"
    t_summary
fi
t_pass "testpmd started forwarding ($PMD)"

t_check "ARP + ICMP through testpmd (client -> 172.16.0.11)" world_ping 172.16.0.11 3
t_check "ARP + ICMP through testpmd (client -> 172.16.0.12)" world_ping 172.16.0.12 3

ok=1
for ((i = 0; i < 10; i++)); do
    a=$(world_curl http://172.16.0.11/ 2>&1) || true
    b=$(world_curl http://172.16.0.12/ 2>&1) || true
    if [[ $a != web1 || $b != web2 ]]; then
        ok=0
        echo "    got '$a' and '$b'"
        break
    fi
done
t_expect "TCP through testpmd: 10 x (web1, web2)" "$ok"

# A 3 MB transfer: full-size frames both ways, and the bytes must arrive intact.
head -c 3000000 /dev/urandom >"$W_TMP/www1/big"
want=$(sha256sum <"$W_TMP/www1/big")
got=$(world_exec "$W_NS_CLI" curl -sS --max-time 30 http://172.16.0.11/big | sha256sum) || true
t_expect "3 MB download through testpmd is intact" "$([[ $want == "$got" ]] && echo 1 || echo 0)"

kill -INT "$tp_pid" 2>/dev/null || true
rc=0
timeout 20 tail --pid="$tp_pid" -f /dev/null || true
wait "$tp_pid" || rc=$?
t_expect "testpmd exits cleanly on SIGINT (status $rc)" "$([[ $rc -eq 0 ]] && echo 1 || echo 0)"
totals=$(grep -E "RX-total|TX-total" "$log" | tail -2 | tr -s ' ')
echo "    testpmd accumulated:$(echo "$totals" | tr '\n' ' ')"
t_summary
