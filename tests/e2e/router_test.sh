#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end routing test: traffic that is not for a service crosses dirigo as it would cross a
# Linux router (ARP on both sides, TTL decremented, addresses untouched), and the director answers
# ping on its own addresses. No services are configured.
#
# Usage: router_test.sh [DIRIGO [DIRIGOADM]]   (or the DIRIGO / DIRIGOADM environment variables)
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_router
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"

DIRIGO=${1:-${DIRIGO:-$ROOT/build/dirigo}}
DIRIGOADM=${2:-${DIRIGOADM:-$ROOT/build/dirigoadm}}
export DIRIGOADM

if ! reason=$(world_can_run 2>&1); then
    t_unavailable "$reason"
fi
if [[ ! -x $DIRIGO ]]; then
    echo "FAIL: $DIRIGO is not built"
    exit 1
fi

world_install_trap
world_create 2
world_start_servers
world_write_config
if ! world_start_dirigo "$DIRIGO"; then
    t_fail "dirigo starts and opens its control socket"
    t_summary
fi
t_pass "dirigo starts and opens its control socket"

# ping_ttl NS DST: prints the TTL of the first echo reply (empty when none came back).
ping_ttl() {
    world_exec "$1" ping -n -c 3 -i 0.2 -W 1 "$2" 2>/dev/null |
        sed -n 's/.*ttl=\([0-9]*\).*/\1/p' | head -n 1
}

ttl=$(ping_ttl "$W_NS_CLI" "$W_EXT_IP")
t_expect "client pings the director's 10.0.0.1 (ttl=$ttl)" "$([[ -n $ttl ]] && echo 1)"
ttl=$(ping_ttl "${W_NS_RS[0]}" "$W_INT_IP")
t_expect "real server 1 pings the director's 172.16.0.1 (ttl=$ttl)" "$([[ -n $ttl ]] && echo 1)"

# Routed: the real server's reply left it with TTL 64 and crossed one router.
ttl=$(ping_ttl "$W_NS_CLI" 172.16.0.11)
t_expect "client pings 172.16.0.11 through the director, TTL decremented once (ttl=$ttl)" \
    "$([[ $ttl == 63 ]] && echo 1)"
ttl=$(ping_ttl "${W_NS_RS[1]}" "$W_CLIENT_IP")
t_expect "real server 2 pings the client 10.0.0.2 through the director (ttl=$ttl)" \
    "$([[ $ttl == 63 ]] && echo 1)"

ok=1
for ((i = 0; i < 5; i++)); do
    a=$(world_curl http://172.16.0.11/ 2>/dev/null) || a=ERR
    b=$(world_curl http://172.16.0.12/ 2>/dev/null) || b=ERR
    if [[ $a != web1 || $b != web2 ]]; then
        echo "    got '$a' and '$b'"
        ok=0
        break
    fi
done
t_expect "TCP to the real servers' own addresses is routed, not balanced (5 x web1, web2)" "$ok"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
