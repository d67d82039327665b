#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Seed 002 (/work/shared/seeds/002_*.txt, "LVS负载均衡集群配置"), replayed end to end with dirigoadm
# in place of ipvsadm. The seed's lvs_nat.sh first runs the rules one by one, where a typo
# (-A on 192.169.199.127, -a on 192.168.199.127) makes the -a lines fail ("Memory allocation
# problem" in its old ipvsadm, "Service not defined" in ipvsadm 1.31 and dirigoadm); it then feeds
# the same rules to `ipvsadm -R` from an echo:
#
#   $IPVSADM -C
#   echo "
#   -A -t VIP:80 -s lc -p 3
#   -a -t VIP:80 -r RIP1:80 -m -w 1
#   -a -t VIP:80 -r RIP2:80 -m -w 1
#   " | ipvsadm -R
#
# with VIP 192.168.199.127 and RIPs 172.16.126.129/.130, here 10.0.0.100 and 172.16.0.11/.12.
# `ipvsadm -ln` then shows "TCP  VIP:80 lc persistent 3", and curl reaches the servers.
# The seed's iptables MASQUERADE, send_redirects and ip_forward lines have no dirigoadm part.
#
# What persistence (-p 3) promises, checked here: a client's new connections stay on one server
# while it keeps coming back within 3 s (even though lc alone would move it, since the server it
# holds has more connections); another client is scheduled on its own; once the client's
# connections are gone and 3 s more have passed, its template is gone from -Lnc and its next
# connection is scheduled afresh.
#
# Bounding the wait: a template lives while any connection made through it lives, then 3 s. A
# normally closed connection stays in TIME_WAIT for 120 s on the director (as in IPVS), and
# `--set TCP TCPFIN UDP` changes only the ESTABLISHED, FIN_WAIT and UDP timeouts, not TIME_WAIT. So
# the test's client ends each connection with a reset (SO_LINGER 0): the director keeps it in
# CLOSE for 10 s. `--set 5 2 5` shortens the other states the same way. The template is then
# gone about 13 s after the last request; the test allows 30 s.
# Usage: seed_002_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_seed_002
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

world_install_trap
world_create 2
world_start_servers
world_add_clients 3   # A = 10.0.0.2, B = 10.0.0.3, C = 10.0.0.4
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

VS="$W_VIP:$W_VPORT"
RIP1=$(world_rs_ip 1)
RIP2=$(world_rs_ip 2)
A=${W_CLIENT_IPS[0]} B=${W_CLIENT_IPS[1]} C=${W_CLIENT_IPS[2]}

# The seed's first attempt, typo included (10.0.1.100 for the VIP in -A only).
t_adm -C || true
t_adm -A -t 10.0.1.100:80 -s lc -p 3 || true
rc=0
msg=$(world_adm -a -t "$VS" -r "$RIP1:80" -m -w 1 2>&1) || rc=$?
echo "    $msg (exit $rc)"
t_expect "the seed's typo: -a on a service that -A did not create fails ('Service not defined', exit 255)" \
    "$([[ $rc == 255 && $msg == 'Service not defined' ]] && echo 1)"

# The seed's fix: -C, then the rules through -R from an echo (blank lines included).
t_adm -C || true
echo "    # echo \"...\" | dirigoadm -R"
ok=1
echo "
-A -t $VS -s lc -p 3
-a -t $VS -r $RIP1:80 -m -w 1
-a -t $VS -r $RIP2:80 -m -w 1
" | world_adm -R || ok=0
t_expect "the rules restore through -R from the echo" "$ok"
listing=$(world_adm -ln)
t_show "$listing"
t_expect "-ln shows 'TCP  $VS lc persistent 3' with both servers Masq, weight 1" "$(
    grep -Eq "^TCP  $VS lc persistent 3 *$" <<<"$listing" &&
        grep -Eq -- "-> $RIP1:80 +Masq +1 " <<<"$listing" &&
        grep -Eq -- "-> $RIP2:80 +Masq +1 " <<<"$listing" && echo 1
)"

# Short timeouts (see the header); -L --timeout shows them.
t_adm --set 5 2 5 || true
t_expect "--set 5 2 5 is in force" \
    "$([[ $(world_adm -L --timeout) == 'Timeout (tcp tcpfin udp): 5 2 5' ]] && echo 1)"

# The seed's curls, as repeated connections from client A within 3 s of each other.
replies=()
for ((i = 0; i < 6; i++)); do
    replies+=("$(t_get_rst --src "$A")")
done
echo "    client A ($A), 6 connections: ${replies[*]}"
# The list is newest first, as the kernel's: -a RIP2 came last, so RIP2 (web2) leads it.
t_expect "persistence: client A's 6 connections all reach one server, the first in list order (web2, added last)" \
    "$(t_all_same "${replies[@]}" && [[ ${replies[0]} == web2 ]] && echo 1)"
# lc alone would now pick server 1: server 2 holds A's six closed (CLOSE, inactive) connections.
b=$(t_get_rst --src "$B")
echo "    client B ($B): $b"
t_expect "client B is scheduled on its own: lc sends it to the less loaded web1" \
    "$([[ $b == web1 ]] && echo 1)"
conns=$(world_adm -Lnc)
t_show "$conns"
t_expect "-Lnc lists A's template (NONE $A:0 -> $RIP2:80) and B's (NONE $B:0 -> $RIP1:80)" "$(
    grep -Eq "^TCP [0-9:]+ +NONE +$A:0 +$VS +$RIP2:80" <<<"$conns" &&
        grep -Eq "^TCP [0-9:]+ +NONE +$B:0 +$VS +$RIP1:80" <<<"$conns" && echo 1
)"
pc=$(world_adm -Ln --persistent-conn)
t_show "$pc"
t_expect "-Ln --persistent-conn counts one template on each server" "$(
    [[ $(t_field "$pc" "-> $RIP1:80" 4) == 1 && $(t_field "$pc" "-> $RIP2:80" 4) == 1 ]] && echo 1
)"
# Still within 3 s: A stays.
a=$(t_get_rst --src "$A")
t_expect "client A, back within 3 s, still reaches web2 (got $a)" "$([[ $a == web2 ]] && echo 1)"

# Expiry: the connections leave CLOSE after 10 s, the templates 3 s later.
start=$SECONDS
# shellcheck disable=SC2317  # called through t_wait_until
no_template() { ! world_adm -Lnc | grep -Eq "NONE +$A:0 "; }
gone=0
t_wait_until 30 no_template && gone=1
t_expect "A's template is gone from -Lnc once its connections ended and 3 s passed ($((SECONDS - start)) s)" "$gone"
# shellcheck disable=SC2317  # called through t_wait_until
no_conns() { [[ $(world_adm -Lnc | wc -l) -le 2 ]]; }
t_wait_until 20 no_conns || true
t_show "$(world_adm -Ln)"

# Scheduled afresh: client C holds a connection on the first server in list order, server 2 (both
# idle: lc picks it), so lc sends A's next connection to server 1, where the old template would
# have kept it on 2.
t_hold_start C 1 --src "$C"
echo "    client C ($C) holds: ${HELD[*]}"
a=$(t_get_rst --src "$A")
t_hold_stop C
echo "    client A ($A), new connection: $a"
t_expect "after expiry client A is scheduled afresh: C holds web2, lc gives A web1 (C: ${HELD[*]}, A: $a)" \
    "$([[ ${HELD[0]:-} == web2 && $a == web1 ]] && echo 1)"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
