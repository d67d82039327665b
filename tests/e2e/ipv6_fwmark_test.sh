#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, an IPv6 firewall-mark service with IPv6 persistence (IPVS's HTTP/HTTPS example in
# IPv6): two IPv6 real servers serve HTTP on port 80 and on port 443 (plain HTTP standing in for
# HTTPS); the config's IPv6 mark rule gives the IPv6 VIP's TCP ports 80 and 443 mark 1;
# `dirigoadm -A -f 1 -6 -s rr -p 300 -M 64` with two `-a -f 1 -6 -r [RIP6]:0 -m` servers (port 0:
# the packet's port). One client address fetches both ports and gets one server on both; a
# second address of the same /64 gets that server too (one template for the /64); a third
# address outside the /64 is scheduled anew (rr: the other server) and keeps it on both ports. A
# port outside the rule gets no service. `-Ln` shows the "FWM  1 IPv6 rr persistent 300 mask 64"
# row, `-Lnc` the IPv6 templates as ipvsadm lists them (IP, the /64 with port 0, the mark as the
# virtual address), and `--add-mark` / `--list-marks` take a bracketed IPv6 rule at run time.
#
# Usage: ipv6_fwmark_test.sh [DIRIGO [DIRIGOADM]]   (or the DIRIGO / DIRIGOADM variables)
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_ipv6_fwmark
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

# The director's outside address is a /48: the three clients below are all on its link, two in
# 2001:db8:1::/64 and one in 2001:db8:1:5::/64.
DIR_EXT6=2001:db8:1::1
DIR_INT6=2001:db8:2::1
VIP6=2001:db8:1::100
CLI6=2001:db8:1::2
CLI6_SAME=2001:db8:1::3
CLI6_FAR=2001:db8:1:5::2
RS6=(2001:db8:2::11 2001:db8:2::12)

bail() {
    t_fail "$1"
    world_dirigo_log_tail 60
    t_summary
}

# v6_on NS IF: IPv6 back on for one interface (the world turns it off everywhere).
v6_on() {
    world_exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0"
}

world_install_trap
world_create 2
v6_on "$W_NS_CLI" eth0
v6_on "$W_NS_CLI" lo
ip -n "$W_NS_CLI" -6 addr add "$CLI6/64" dev eth0 nodad
ip -n "$W_NS_CLI" -6 addr add "$CLI6_SAME/64" dev eth0 nodad
ip -n "$W_NS_CLI" -6 addr add "$CLI6_FAR/64" dev eth0 nodad
ip -n "$W_NS_CLI" -6 route add 2001:db8::/32 via "$DIR_EXT6" dev eth0
for i in 0 1; do
    ns=${W_NS_RS[i]}
    v6_on "$ns" eth0
    v6_on "$ns" lo
    ip -n "$ns" -6 addr add "${RS6[i]}/64" dev eth0 nodad
    ip -n "$ns" -6 route add default via "$DIR_INT6" dev eth0
done
ip -n "$W_NS_LAN" link set br0 type bridge mcast_snooping 0
# Web servers on both families and both ports: "webN" on 80, "webN:443" on 443.
W_RS_BIND="::" world_start_servers 80 443 || bail "the real servers' web servers start"

W_EXTRA_CONFIG="marks = ( { address = \"$VIP6/128\"; protocol = \"tcp\"; ports = \"80,443\"; mark = 1; } );"
world_write_config
sed -i -e "s|\"$W_EXT_IP/24\", \"$W_VIP/32\" \]|\"$W_EXT_IP/24\", \"$W_VIP/32\", \"$DIR_EXT6/48\", \"$VIP6/128\" ]|" \
    -e "s|\"$W_INT_IP/24\" \]|\"$W_INT_IP/24\", \"$DIR_INT6/64\" ]|" "$W_CONFIG"
grep -q "$VIP6/128\" ]" "$W_CONFIG" && grep -q "$DIR_INT6/64" "$W_CONFIG" ||
    bail "the config carries the IPv6 addresses and the VIP"
world_start_dirigo "$DIRIGO" || bail "dirigo starts with an IPv6 mark rule in its config"
t_pass "dirigo starts with an IPv6 mark rule in its config"

marks=$(world_adm --list-marks 2>&1) || true
t_expect "--list-marks shows the config's IPv6 rule ($marks)" \
    "$([[ $marks == "--add-mark -t [$VIP6]:80,443 --mark 1" ]] && echo 1)"

rules_ok=1
world_adm -A -f 1 -6 -s rr -p 300 -M 64 || rules_ok=0
for i in 0 1; do
    world_adm -a -f 1 -6 -r "[${RS6[i]}]:0" -m || rules_ok=0
done
t_expect "dirigoadm -A -f 1 -6 -s rr -p 300 -M 64 and two IPv6 -m servers" "$rules_ok"

# fetch SRC PORT: the body the VIP's PORT answers to a request from SRC, or ERR.
fetch() {
    world_exec "$W_NS_CLI" curl -6 -s --max-time 5 --interface "$1" "http://[$VIP6]:$2/" \
        2>/dev/null || echo ERR
}
# The first request also waits for neighbour discovery; bounded.
first=""
for ((tries = 0; tries < 25; tries++)); do
    first=$(world_exec "$W_NS_CLI" curl -6 -s --max-time 2 --interface "$CLI6" \
        "http://[$VIP6]:80/" 2>/dev/null) && break
    first=""
    sleep 0.2
done
[[ $first == web[12] ]] || bail "curl -6 http://[$VIP6]:80/ from $CLI6 answers ($first)"
server=${first#web}
other=$((3 - server))

ok=1
got=()
for src in "$CLI6" "$CLI6_SAME"; do
    for round in 1 2; do
        a=$(fetch "$src" 80)
        b=$(fetch "$src" 443)
        got+=("$src:$a/$b")
        [[ $a == "web$server" && $b == "web$server:443" ]] || ok=0
    done
done
t_expect "one /64 ($CLI6, $CLI6_SAME) stays on web$server on ports 80 and 443 (${got[*]})" "$ok"

ok=1
got=()
for round in 1 2 3; do
    a=$(fetch "$CLI6_FAR" 443)
    b=$(fetch "$CLI6_FAR" 80)
    got+=("$a/$b")
    [[ $a == "web$other:443" && $b == "web$other" ]] || ok=0
done
t_expect "another /64 ($CLI6_FAR) is scheduled anew (rr: web$other) and keeps it (${got[*]})" "$ok"

# A port outside the rule: no service (the address is the director's own; nothing listens).
rc=0
world_exec "$W_NS_CLI" curl -6 -s --max-time 3 --interface "$CLI6" "http://[$VIP6]:8080/" \
    >/dev/null 2>&1 || rc=$?
t_expect "a port outside the mark rule gets no service (curl exit $rc)" \
    "$([[ $rc != 0 ]] && echo 1)"

list=$(world_adm -Ln 2>&1 || true)
t_show "$list"
t_expect "-Ln lists FWM  1 IPv6 rr persistent 300 mask 64" \
    "$(grep -Eq "^FWM  1 IPv6 rr persistent 300 mask 64$" <<<"$list" && echo 1)"
t_expect "-Ln lists both IPv6 servers with port 0 as Masq" "$(
    grep -Eq "^  -> \[${RS6[0]}\]:0 +Masq" <<<"$list" &&
        grep -Eq "^  -> \[${RS6[1]}\]:0 +Masq" <<<"$list" && echo 1)"
stats=$(world_adm -Ln --stats 2>&1 || true)
conns=$(awk '$1 == "FWM" && $2 == "1" { print $4 }' <<<"$stats")
t_show "$stats"
t_expect "--stats counts the service's 15 connections (${conns:-none})" \
    "$([[ ${conns:-0} -ge 15 ]] && echo 1)"

clist=$(world_adm -Lnc 2>&1 || true)
t_show "$clist"
rs_re="\[${RS6[server - 1]}\]:0"
far_re="\[${RS6[other - 1]}\]:0"
t_expect "-Lnc lists the /64's template: IP NONE [2001:db8:1::]:0 [0:1::]:0 [RS]:0" \
    "$(grep -Eq "^IP  [0-9]{2}:[0-9]{2}  NONE +\[2001:db8:1::\]:0 +\[0:1::\]:0 +$rs_re$" <<<"$clist" && echo 1)"
t_expect "-Lnc lists the other /64's template on the other server" \
    "$(grep -Eq "^IP  [0-9]{2}:[0-9]{2}  NONE +\[2001:db8:1:5::\]:0 +\[0:1::\]:0 +$far_re$" <<<"$clist" && echo 1)"
t_expect "-Lnc lists the connections to the server's port 443 (a port-0 server keeps the port)" \
    "$(grep -Eq "^TCP .*\[$CLI6\]:[0-9]+ +\[$VIP6\]:443 +\[${RS6[server - 1]}\]:443$" <<<"$clist" && echo 1)"

# Run-time rules: a bracketed IPv6 rule is added, listed after the config's, and deleted.
ok=1
world_adm --add-mark -u "[2001:db8:1::/64]:5000-5010" --mark 2 || ok=0
marks=$(world_adm --list-marks 2>&1) || true
want="--add-mark -t [$VIP6]:80,443 --mark 1
--add-mark -u [2001:db8:1::/64]:5000-5010 --mark 2"
[[ $marks == "$want" ]] || { ok=0; t_show "$marks"; }
world_adm --del-mark -u "[2001:db8:1::/64]:5000-5010" --mark 2 || ok=0
marks=$(world_adm --list-marks 2>&1) || true
[[ $marks == "--add-mark -t [$VIP6]:80,443 --mark 1" ]] || ok=0
t_expect "--add-mark / --list-marks / --del-mark take a bracketed IPv6 rule" "$ok"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
