#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, host integration (docs/host-integration.md): each port has a kernel interface in the
# director's namespace, the exception path carries what Dirigo does not serve itself, and the
# kernel's addresses and routes on those interfaces are Dirigo's.
#  (a) ping and a TCP connection from the client to the director's own address reach its kernel;
#  (b) `ip addr add VIP/32 dev ext` makes a service on that VIP work; `ip addr del` stops the ARP
#      answers for it;
#  (c) a route added with `ip route` enters the dataplane (transit traffic follows it) and leaves
#      with `ip route del`;
#  (d) the interface flapped and re-addressed while requests run: service again afterwards, the
#      config's routes restored;
#  (e) SIGTERM removes the interfaces and returns every buffer.
# Usage: host_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_host
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

world_install_trap
world_create 2
world_start_servers
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"
PY=$(world_python)
D=$W_NS_DIR

# kstat IF rx|tx: the kernel's packet counter of the director's interface IF.
kstat() {
    ip -n "$D" -s -j link show "$1" |
        "$PY" -c "import json,sys; print(json.load(sys.stdin)[0]['stats64']['$2']['packets'])"
}
# port_line NAME N: field N of the kernel line (the third) of port NAME in --list-ports --exact.
port_kernel() {
    world_adm --list-ports --exact | awk -v p="$1" -v c="$2" '$1 == p { getline; getline; print $c; exit }'
}

# ---- the interfaces themselves ------------------------------------------------------------------
echo "== kernel interfaces =="
t_show "$(ip -n "$D" -br addr show)"
ext_mac=$(world_adm --list-ports | awk '$1 == "ext" { getline; print $3; exit }')
t_expect "the director's namespace has an interface ext with the port's MAC ($ext_mac) and the config's addresses" \
    "$(ip -n "$D" addr show ext 2>/dev/null | grep -q "link/ether $ext_mac" &&
        ip -n "$D" addr show ext | grep -q 'inet 10.0.0.1/24' &&
        ip -n "$D" addr show ext | grep -q "inet $W_VIP/32" && echo 1)"
t_expect "the config's default route is in the kernel's table, through ext" \
    "$(ip -n "$D" route show default | grep -q "via $W_EXT_GW dev ext" && echo 1)"
t_show "$(world_adm --list-ports)"

# ---- (a) ping and TCP to the director's own address reach its kernel ---------------------------
echo "== (a) the exception path =="
rx0=$(kstat ext rx)
t_check "ping 10.0.0.1 from the client is answered" world_ping "$W_EXT_IP" 5
rx1=$(kstat ext rx)
t_expect "the echo requests reached the kernel's ext (its RX counter rose by $((rx1 - rx0)), >= 5)" \
    "$([[ $((rx1 - rx0)) -ge 5 ]] && echo 1)"
t_expect "--list-ports counts them as passed up (ToKern $(port_kernel ext 4)) and the replies as sent by the kernel (FromKern $(port_kernel ext 5))" \
    "$([[ $(port_kernel ext 4) -ge 5 && $(port_kernel ext 5) -ge 5 ]] && echo 1)"
# An ssh-like TCP conversation: a line server in the director's kernel, a client in the client ns.
cat >"$W_TMP/echo_server.py" <<'PYEOF'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 2222)); s.listen(4); open(sys.argv[1], "w").close()
s.settimeout(30)
for _ in range(2):
    c, peer = s.accept()
    data = c.recv(4096)
    c.sendall(b"director kernel got " + data.upper())
    c.close()
PYEOF
rm -f "$W_TMP/echo.ready"
ip netns exec "$D" "$PY" "$W_TMP/echo_server.py" "$W_TMP/echo.ready" >"$W_TMP/echo.log" 2>&1 &
W_PIDS+=("$!")
for ((i = 0; i < 50; i++)); do
    [[ -e $W_TMP/echo.ready ]] && break
    sleep 0.1
done
reply=$(world_exec "$W_NS_CLI" "$PY" -c '
import socket
c = socket.create_connection(("10.0.0.1", 2222), timeout=5)
c.sendall(b"hello"); print(c.recv(4096).decode())' 2>&1) || reply="ERR: $reply"
t_show "$reply"
t_expect "a TCP connection to 10.0.0.1:2222 (no service there) is served by the director's kernel" \
    "$([[ $reply == "director kernel got HELLO" ]] && echo 1)"
# The service on the VIP still belongs to the dataplane.
world_adm -A -t "$W_VIP:80" -s rr
world_adm -a -t "$W_VIP:80" -r "$(world_rs_ip 1):80" -m
world_adm -a -t "$W_VIP:80" -r "$(world_rs_ip 2):80" -m
t_check "the VIP's service answers from both real servers" t_warm_up 2
reply=$(world_exec "$W_NS_CLI" "$PY" -c '
import socket
c = socket.create_connection(("10.0.0.100", 2222), timeout=5)
c.sendall(b"vip"); print(c.recv(4096).decode())' 2>&1) || reply="ERR: $reply"
t_expect "port 2222 of the VIP (no service there) is the kernel's too" \
    "$([[ $reply == "director kernel got VIP" ]] && echo 1)"

# ---- (b) ip addr add / del: the kernel says which addresses are Dirigo's -------------------------
echo "== (b) addresses =="
VIP2=10.0.0.200
t_expect "$VIP2 is not the director's yet: a request to it fails" \
    "$(world_curl "http://$VIP2/" >/dev/null 2>&1 || echo 1)"
ip -n "$W_NS_CLI" neigh flush dev eth0
echo "    # ip addr add $VIP2/32 dev ext; dirigoadm -A -t $VIP2:80 -s rr; ..."
ip -n "$D" addr add "$VIP2/32" dev ext
world_adm -A -t "$VIP2:80" -s rr
world_adm -a -t "$VIP2:80" -r "$(world_rs_ip 1):80" -m
ok=0
for ((i = 0; i < 20; i++)); do
    body=$(world_curl "http://$VIP2/" 2>/dev/null) && [[ -n $body ]] && { ok=1; break; }
    sleep 0.2
done
t_expect "after ip addr add, curls to $VIP2 are served (by ${body:-nobody})" "$ok"
t_expect "--list-ports shows $VIP2/32 on ext" \
    "$(world_adm --list-ports | grep -q "$VIP2/32" && echo 1)"
echo "    # ip addr del $VIP2/32 dev ext"
ip -n "$D" addr del "$VIP2/32" dev ext
for ((i = 0; i < 20; i++)); do
    world_adm --list-ports | grep -q "$VIP2/32" || break
    sleep 0.1
done
t_expect "--list-ports no longer shows $VIP2" \
    "$(world_adm --list-ports | grep -q "$VIP2/32" || echo 1)"
ip -n "$W_NS_CLI" neigh flush dev eth0
world_exec "$W_NS_CLI" ping -n -q -c 2 -i 0.3 -W 1 "$VIP2" >/dev/null 2>&1 || true
state=$(ip -n "$W_NS_CLI" neigh show "$VIP2")
t_show "client: ${state:-no entry}"
t_expect "after ip addr del, nobody answers ARP for $VIP2 (client's entry: ${state:-none})" \
    "$([[ -z $state || $state == *FAILED* || $state == *INCOMPLETE* ]] && echo 1)"
t_expect "the original VIP still serves" "$(world_curl >/dev/null 2>&1 && echo 1)"

# ---- (c) routes from the kernel ---------------------------------------------------------------
echo "== (c) routes =="
NET=192.0.2.0/24
FAR=192.0.2.1
ip -n "${W_NS_RS[0]}" addr add "$FAR/32" dev lo
t_expect "before the route, $FAR is unreachable through the director" \
    "$(world_exec "$W_NS_CLI" ping -n -q -c 1 -W 1 "$FAR" >/dev/null 2>&1 || echo 1)"
echo "    # ip route add $NET via $(world_rs_ip 1) dev int"
ip -n "$D" route add "$NET" via "$(world_rs_ip 1)" dev int
for ((i = 0; i < 20; i++)); do
    world_adm --list-routes | grep -q "^$NET " && break
    sleep 0.1
done
t_show "$(world_adm --list-routes)"
t_expect "the route is in the dataplane's table" \
    "$(world_adm --list-routes | grep -Eq "^$NET +via $(world_rs_ip 1) +int" && echo 1)"
t_check "transit traffic follows it: the client pings $FAR behind real server 1" \
    world_ping "$FAR" 3
ip -n "$D" route del "$NET"
for ((i = 0; i < 20; i++)); do
    world_adm --list-routes | grep -q "^$NET " || break
    sleep 0.1
done
t_expect "ip route del takes it out again" \
    "$(world_adm --list-routes | grep -q "^$NET " || echo 1)"

# ---- (d) flapping and re-addressing while requests run ----------------------------------------
echo "== (d) flap and re-address under traffic =="
# Requests in the background for the whole episode (one every 0.1 s, bounded).
(
    for ((i = 0; i < 80; i++)); do
        if world_curl >/dev/null 2>&1; then echo ok; else echo fail; fi
        sleep 0.1
    done
) >"$W_TMP/flap.log" 2>&1 &
bg=$!
sleep 1
echo "    # ip link set ext down; ip link set ext up"
ip -n "$D" link set ext down
sleep 1
ip -n "$D" link set ext up
sleep 1
echo "    # ip addr del 10.0.0.1/24 dev ext; ip addr add 10.0.0.1/24 dev ext"
ip -n "$D" addr del 10.0.0.1/24 dev ext
ip -n "$D" addr add 10.0.0.1/24 dev ext
wait "$bg" || true
oks=$(grep -c '^ok' "$W_TMP/flap.log" || true)
fails=$(grep -c '^fail' "$W_TMP/flap.log" || true)
echo "    requests during the episode: $oks served, $fails failed (the port was down for 1 s)"
t_expect "the daemon survived the flap and the re-addressing" "$(kill -0 "$W_DIRIGO_PID" 2>/dev/null && echo 1)"
t_expect "the config's default route is back in the kernel after the flap" \
    "$(ip -n "$D" route show default | grep -q "via $W_EXT_GW dev ext" && echo 1)"
t_expect "... and in the dataplane" \
    "$(world_adm --list-routes | grep -Eq "^0.0.0.0/0 +via $W_EXT_GW +ext" && echo 1)"
t_curl_n 10
t_expect "afterwards every request is served ($(t_tally "${REPLIES[@]}"))" \
    "$(t_alternates "${REPLIES[@]}" && echo 1)"
t_expect "the last requests of the episode were served" \
    "$(tail -n 5 "$W_TMP/flap.log" | grep -c '^ok' | grep -qx 5 && echo 1)"

# ---- (e) stop ----------------------------------------------------------------------------------
t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_expect "its kernel interfaces are gone with it" \
    "$(ip -n "$D" link show ext >/dev/null 2>&1 || echo 1)"
t_summary
