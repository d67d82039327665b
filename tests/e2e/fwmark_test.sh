#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, a firewall-mark service (IPVS's HTTP/HTTPS example): three real servers serve HTTP
# on port 80 and on port 443 (plain HTTP standing in for HTTPS); the config's mark rules give the
# VIP's TCP ports 80 and 443 mark 1; `dirigoadm -A -f 1 -s rr -p 300` with three `-a -f 1 -r RIP
# -m` servers (port 0: the packet's port). Six client addresses each fetch both ports: every
# client gets the same real server on both, and the clients spread over the servers; a port
# outside the rules gets no service. Then `dirigoadm -Ln` (and --stats, -S) and Debian's ipvsadm
# through libdirigo-ipvs.so show the FWM row byte for byte the same, `-S` restores with `-R` (and
# ipvsadm-restore), -C leaves the mark rules, --add-mark / --list-marks / --del-mark work at run
# time, and a reload (SIGHUP) replaces the config's mark rules and keeps dirigoadm's.
# Usage: fwmark_test.sh [DIRIGO [DIRIGOADM]] with DIRIGO_IPVS_LIB set (meson does).
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_fwmark
# This test compares the two tools, so world_adm stays dirigoadm.
DIRIGO_ADM_TOOL=dirigoadm
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"
t_init_ipvsadm

NCLIENTS=6
world_install_trap
world_create 3
world_start_servers 80 443
world_add_clients "$NCLIENTS"
W_EXTRA_CONFIG="marks = ( { address = \"$W_VIP/32\"; protocol = \"tcp\"; ports = \"80,443\"; mark = 1; } );"
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts with the config's mark rule"
t_pass "dirigo starts with a mark rule in its config"

VIP=$W_VIP
RIPS=("$(world_rs_ip 1)" "$(world_rs_ip 2)" "$(world_rs_ip 3)")

ok=1
t_adm -A -f 1 -s rr -p 300 || ok=0
for rip in "${RIPS[@]}"; do
    t_adm -a -f 1 -r "$rip" -m || ok=0
done
t_expect "dirigoadm -A -f 1 -s rr -p 300 and three -a -f 1 -r RIP -m" "$ok"

marks=$(world_adm --list-marks 2>&1) || true
t_show "$marks"
t_expect "--list-marks shows the config's rule" \
    "$([[ $marks == "--add-mark -t $VIP:80,443 --mark 1" ]] && echo 1)"

# get SRC PORT: the body one request from client address SRC to VIP:PORT got ("web2" for port
# 80, "web2:443" for 443), retried while the director resolves the servers; "ERR" if none came.
get() {
    local src=$1 port=$2 body="" try
    for ((try = 0; try < 10; try++)); do
        body=$(world_curl "http://$VIP:$port/" --interface "$src" 2>/dev/null) || body=""
        [[ -n $body ]] && break
        sleep 0.3
    done
    echo "${body:-ERR}"
}

# Each client: port 80, then 443, then 80 and 443 again (the persistence template holds).
declare -A server_of=()
all_same=1
for src in "${W_CLIENT_IPS[@]}"; do
    got=()
    for port in 80 443 80 443; do
        body=$(get "$src" "$port")
        got+=("${body%%:*}")
    done
    t_show "client $src: ${got[*]}"
    if t_all_same "${got[@]}"; then
        server_of[$src]=${got[0]}
    else
        all_same=0
    fi
done
t_expect "each of $NCLIENTS clients lands on the same real server on ports 80 and 443" "$all_same"
distinct=$(printf '%s\n' "${server_of[@]}" | sort -u | wc -l)
t_expect "the clients spread over the real servers ($distinct of 3 used)" \
    "$([[ $distinct -ge 2 ]] && echo 1)"

# A port the rules do not mark: no service (the director's kernel has nothing there either).
out=$(world_exec "$W_NS_CLI" curl -sS --connect-timeout 2 --max-time 3 "http://$VIP:8080/" 2>&1) &&
    rc=0 || rc=$?
t_expect "a port outside the mark rules gets no service (curl exit $rc)" \
    "$([[ $rc != 0 ]] && echo 1)"

# same ARGS...: ipvsadm and dirigoadm print the same bytes and exit code (a full listing's
# banner line excepted); counters and rates move, so up to 8 tries.
same() {
    local a b rc_a rc_b try
    for ((try = 0; try < 8; try++)); do
        rc_a=0
        rc_b=0
        a=$(t_ipvsadm "$@" 2>&1) || rc_a=$?
        b=$(world_adm "$@" 2>&1) || rc_b=$?
        if [[ ${a%%$'\n'*} == "IP Virtual Server version "* ]]; then
            a=${a#*$'\n'}
            b=${b#*$'\n'}
        fi
        [[ $a == "$b" && $rc_a == "$rc_b" ]] && break
        sleep 0.3
    done
    if [[ $a == "$b" && $rc_a == "$rc_b" ]]; then
        t_pass "ipvsadm $* == dirigoadm $* ($(wc -l <<<"$a") lines, exit $rc_a)"
        t_show "$a"
    else
        t_fail "ipvsadm $* differs from dirigoadm $* (exit $rc_a vs $rc_b)"
        diff -u <(echo "$b") <(echo "$a") | sed 's/^/    /' || true
    fi
}

listing=$(world_adm -Ln 2>&1) || true
t_expect "dirigoadm -Ln shows the FWM row as IPVS does" \
    "$(grep -qx 'FWM  1 rr persistent 300' <<<"$listing" && echo 1)"
same -Ln
same -Ln --stats
same -Ln --rate
same -Ln --persistent-conn
same -Ln -f 1
same -S -n

# -S, -C, -R: the FWM lines exactly as ipvsadm writes them, restored whole; -C keeps the marks.
saved=$(world_adm -S -n) || true
t_show "$saved"
t_expect "-S writes '-A -f 1 -s rr -p 300' and '-a -f 1 -r RIP:0 -m -w 1' lines" \
    "$(grep -qx -- '-A -f 1 -s rr -p 300' <<<"$saved" &&
        grep -qx -- "-a -f 1 -r ${RIPS[0]}:0 -m -w 1" <<<"$saved" && echo 1)"
world_adm -C || true
t_expect "-C empties the service table" "$([[ -z $(world_adm -S -n) ]] && echo 1)"
marks=$(world_adm --list-marks 2>&1) || true
t_expect "-C leaves the mark rules (as iptables keeps its marks)" \
    "$([[ $marks == "--add-mark -t $VIP:80,443 --mark 1" ]] && echo 1)"
world_adm -R <<<"$saved" || true
restored=$(world_adm -S -n) || true
t_expect "dirigoadm -R restores what -S saved" "$([[ -n $saved && $restored == "$saved" ]] && echo 1)"
export LD_PRELOAD=$DIRIGO_IPVS_LIB DIRIGO_SOCKET=$W_SOCK
timeout 10 ipvsadm -C || true
timeout 10 ipvsadm-restore <<<"$saved" || true
ipv_saved=$(timeout 10 ipvsadm-save -n) || true
unset LD_PRELOAD DIRIGO_SOCKET
t_expect "ipvsadm-restore of dirigoadm -S output, then ipvsadm-save, gives the same lines" \
    "$([[ $ipv_saved == "$saved" ]] && echo 1)"
[[ $ipv_saved == "$saved" ]] || diff -u <(echo "$saved") <(echo "$ipv_saved") | sed 's/^/    /' || true

# After the restore the service still works (new templates, same rule).
body=$(get "${W_CLIENT_IPS[0]}" 443)
t_expect "after the restore port 443 is served again ($body)" "$([[ $body == web*:443 ]] && echo 1)"

# Mark rules at run time.
ok=1
t_adm --add-mark -u "$VIP:5000-5010" --mark 2 || ok=0
t_adm --add-mark --tcp-udp 10.0.0.0/24 --mark 3 || ok=0
marks=$(world_adm --list-marks 2>&1) || true
t_show "$marks"
want="--add-mark -t $VIP:80,443 --mark 1
--add-mark -u $VIP:5000-5010 --mark 2
--add-mark --tcp-udp 10.0.0.0/24 --mark 3"
t_expect "--add-mark appends rules, --list-marks lists them in order" \
    "$([[ $ok == 1 && $marks == "$want" ]] && echo 1)"
out=$(world_adm --add-mark -u "$VIP:5000-5010" --mark 4 2>&1) && rc=0 || rc=$?
t_show "$out"
t_expect "a rule with the same match is refused (exit $rc)" \
    "$([[ $rc != 0 && $out == "Mark rule already exists" ]] && echo 1)"
ok=1
t_adm --del-mark -u "$VIP:5000-5010" || ok=0
t_adm --del-mark --tcp-udp 10.0.0.0/24 --mark 3 || ok=0
marks=$(world_adm --list-marks 2>&1) || true
t_expect "--del-mark deletes by match" \
    "$([[ $ok == 1 && $marks == "--add-mark -t $VIP:80,443 --mark 1" ]] && echo 1)"
out=$(world_adm --del-mark -u "$VIP:5000-5010" 2>&1) && rc=0 || rc=$?
t_show "$out"
t_expect "deleting a rule that does not exist fails (exit $rc)" \
    "$([[ $rc != 0 && $out == "No such mark rule" ]] && echo 1)"

# Deleting the only rule: established flows are not the point here; new ones get no service.
t_adm --del-mark -t "$VIP:80,443" || true
out=$(world_exec "$W_NS_CLI" curl -sS --connect-timeout 2 --max-time 3 --interface \
    "${W_CLIENT_IPS[1]}" "http://$VIP:80/" 2>&1) && rc=0 || rc=$?
t_expect "without the mark rule port 80 gets no service (curl exit $rc)" \
    "$([[ $rc != 0 ]] && echo 1)"

# A reload (SIGHUP) with the config's rule changed: the config's rules are replaced, the one
# added with dirigoadm stays ahead of them, and port 80 is marked again.
t_adm --add-mark -u "$VIP:5000" --mark 2 || true
W_EXTRA_CONFIG="marks = ( { address = \"$W_VIP/32\"; protocol = \"tcp\"; ports = \"80,443,8443\"; mark = 1; } );"
world_write_config
kill -HUP "$W_DIRIGO_PID"
want="--add-mark -u $VIP:5000 --mark 2
--add-mark -t $VIP:80,443,8443 --mark 1"
for ((try = 0; try < 50; try++)); do
    marks=$(world_adm --list-marks 2>&1) || true
    [[ $marks == "$want" ]] && break
    sleep 0.2
done
t_show "$marks"
t_expect "SIGHUP replaces the config's mark rules and keeps dirigoadm's" \
    "$([[ $marks == "$want" ]] && echo 1)"
body=$(get "${W_CLIENT_IPS[1]}" 80)
t_expect "after the reload port 80 is served again ($body)" "$([[ $body == web* ]] && echo 1)"

world_stop_dirigo || t_fail "dirigo stops cleanly"
t_summary
