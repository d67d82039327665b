#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Seed 000 (/work/shared/seeds/000_*.txt, "LVS/NAT配置"), replayed end to end with dirigoadm in
# place of ipvsadm. The seed's director has the VIP 10.0.0.1 and real servers 172.16.115.103/.104;
# here the world's VIP is 10.0.0.100 and the real servers are 172.16.0.11/.12 ("web1", "web2"),
# each with its default route via the director's inside address (the seed's
# `route add default gw DIP`). The seed's `echo 1 > /proc/sys/net/ipv4/ip_forward` and
# `ifconfig eth0:1 VIP` have no dirigoadm counterpart: dirigo owns its addresses through its
# configuration and forwards by itself.
#
#   $ ipvsadm -C
#   $ ipvsadm -A -t VIP:80 -s rr
#   $ ipvsadm -a -t VIP:80 -r RIP1:80 -m
#   $ ipvsadm -a -t VIP:80 -r RIP2:80 -m
#   $ ipvsadm -ln          (layout: header lines, "TCP  VIP:80 rr", "-> RIP:80 Masq 1 ...")
#   $ curl VIP             (web1, web2, web1, ...: round robin)
#
# nat_test.sh covers NAT in depth; this is the seed's own sequence, checked as the text shows it.
# Usage: seed_000_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
# With DIRIGO_ADM_TOOL=ipvsadm (meson test e2e_seed_000_ipvsadm) the same commands go to Debian's
# unmodified ipvsadm with libdirigo-ipvs.so preloaded (tests/e2e/common.sh), and must pass the same checks.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_seed_000
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

world_install_trap
world_create 2
world_start_servers
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

VS="$W_VIP:$W_VPORT"
RIP1=$(world_rs_ip 1)
RIP2=$(world_rs_ip 2)

ok=1
t_adm -C || ok=0
t_adm -A -t "$VS" -s rr || ok=0
t_adm -a -t "$VS" -r "$RIP1:80" -m || ok=0
t_adm -a -t "$VS" -r "$RIP2:80" -m || ok=0
t_expect "the seed's four commands succeed (-C, -A -s rr, -a -m twice)" "$ok"

# `ipvsadm -ln` as the seed prints it, with the daemon's own version line.
listing=$(world_adm -ln 2>&1) || true
t_show "$listing"
mapfile -t L <<<"$listing"
t_expect "-ln line 1 is the version line" \
    "$([[ ${L[0]:-} =~ $T_BANNER_RE ]] && echo 1)"
t_expect "-ln line 2 is 'Prot LocalAddress:Port Scheduler Flags'" \
    "$([[ ${L[1]:-} == 'Prot LocalAddress:Port Scheduler Flags' ]] && echo 1)"
t_expect "-ln line 3 is the real-server header" \
    "$([[ ${L[2]:-} == '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn' ]] && echo 1)"
t_expect "-ln line 4 is 'TCP  $VS rr'" \
    "$([[ ${L[3]:-} =~ ^TCP\ \ $VS\ rr\ *$ ]] && echo 1)"
# ipvsadm's destination line: "  -> %-28s %-7s %-6d %-10u %-10u".
rs_line_ok() {
    local line=$1 rip=$2 a b
    read -r _ _ _ _ a b <<<"$line"
    [[ $line == "$(printf '  -> %-28s %-7s %-6d %-10u %-10u' "$rip:80" Masq 1 "${a:-x}" "${b:-x}")" ]]
}
t_expect "-ln line 5 is '  -> $RIP1:80 Masq 1 ...' in ipvsadm's columns" \
    "$(rs_line_ok "${L[4]:-}" "$RIP1" && echo 1)"
t_expect "-ln line 6 is '  -> $RIP2:80 Masq 1 ...' in ipvsadm's columns" \
    "$(rs_line_ok "${L[5]:-}" "$RIP2" && echo 1)"
t_expect "-ln has nothing more (one service, two servers)" "$([[ ${#L[@]} -eq 6 ]] && echo 1)"

# `curl VIP`, several times: web2, web1, web2, ... (rr from the newest server, as the kernel)
t_curl_n 10
echo "    curl x10: ${REPLIES[*]}"
t_expect "10 curls answer web1/web2 alternately, 5 each ($(t_tally "${REPLIES[@]}"))" \
    "$(t_alternates "${REPLIES[@]}" && [[ $(t_count web1 "${REPLIES[@]}") -eq 5 && $(t_count web2 "${REPLIES[@]}") -eq 5 ]] && echo 1)"

# The seed's -ln shows the finished connections as InActConn 1 on each server.
listing=$(world_adm -ln 2>&1) || true
t_show "$listing"
in1=$(t_field "$listing" "-> $RIP1:80 " 6)
in2=$(t_field "$listing" "-> $RIP2:80 " 6)
t_expect "afterwards -ln counts the closed connections as inactive (InActConn $in1 and $in2, 5 each)" \
    "$([[ $in1 == 5 && $in2 == 5 ]] && echo 1)"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
