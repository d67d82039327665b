#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, Debian's unmodified ipvsadm driving dirigo through libdirigo-ipvs.so
# (docs/ipvs-netlink.md). Rules of several kinds are entered with ipvsadm (TCP, UDP and SCTP, several
# schedulers and scheduler flags, persistence with a netmask, one-packet scheduling, weights,
# thresholds, masquerading, direct routing and tunnelling), traffic goes through, and then every
# listing ipvsadm has is compared byte for byte with dirigoadm's for the same arguments (the
# first line of a full listing excepted: it names the IPVS version the library emulates). Then
# ipvsadm-save / -C / ipvsadm-restore must round-trip, edits, zeroing and --set must show the
# same in both tools, and refused commands must give the same message and exit code.
# Usage: ipvsadm_test.sh [DIRIGO [DIRIGOADM]] with DIRIGO_IPVS_LIB set (meson does).
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_ipvsadm
# This test compares the two tools, so world_adm stays dirigoadm whatever DIRIGO_ADM_TOOL says.
DIRIGO_ADM_TOOL=dirigoadm
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"
t_init_ipvsadm

world_install_trap
world_create 2
world_start_servers
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

VIP=$W_VIP
RIP1=$(world_rs_ip 1)
RIP2=$(world_rs_ip 2)

# ipv ARGS...: ipvsadm through the library, echoed to the log.
ipv() {
    echo "    # ipvsadm $*"
    t_ipvsadm "$@"
}

# ---- 1. Rules, typed into ipvsadm ----------------------------------------------------------------
ok=1
ipv -C || ok=0
ipv -A -t "$VIP:80" -s rr || ok=0
ipv -a -t "$VIP:80" -r "$RIP1:80" -m -w 1 || ok=0
ipv -a -t "$VIP:80" -r "$RIP2:80" -m -w 2 -x 100 -y 10 || ok=0
ipv -A -t "$VIP:8080" -s wlc -p 600 -M 255.255.255.0 || ok=0
ipv -a -t "$VIP:8080" -r "$RIP1:80" -m -w 3 || ok=0
ipv -a -t "$VIP:8080" -r "$RIP2:8080" -g -w 4 || ok=0
ipv -A -u "$VIP:53" -s sh -b sh-fallback,sh-port || ok=0
ipv -a -u "$VIP:53" -r "$RIP1:53" -i -w 0 || ok=0
ipv -a -u "$VIP:53" -r "$RIP2:53" -g -w 5 -x 7 || ok=0
ipv -A -u 10.0.0.102:5060 -s wrr -o || ok=0
ipv -a -u 10.0.0.102:5060 -r "$RIP1:5060" -m -w 9 || ok=0
ipv -A -t 10.0.0.101:0 -s lc -p || ok=0
ipv -a -t 10.0.0.101:0 -r "$RIP2" -g || ok=0
ipv -A -t 10.0.0.103:443 -s mh -b mh-port || ok=0
ipv -A -u 10.0.0.104:4789 -s rr || ok=0
ipv -a -u 10.0.0.104:4789 -r "$RIP1:4789" -i --tun-type gue --tun-port 6080 --tun-csum || ok=0
ipv -a -u 10.0.0.104:4789 -r "$RIP2:4789" -i --tun-type gre -w 3 || ok=0
ipv -A --sctp-service "$VIP:5000" -s rr || ok=0
ipv -a --sctp-service "$VIP:5000" -r "$RIP1:5001" -m -w 2 || ok=0
t_expect "ipvsadm adds 8 services and 11 servers of every kind (GUE and GRE tunnels, SCTP too)" \
    "$ok"

# Traffic, so that counters, rates and the connection table have something in them.
t_warm_up 2 || true
t_curl_n 10
t_expect "traffic through the rules ipvsadm set up ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count ERR "${REPLIES[@]}") == 0 ]] && echo 1)"

# same ARGS...: ipvsadm ARGS and dirigoadm ARGS print the same, bytes and exit code (a full
# listing's first line excepted: ipvsadm's names the emulated IPVS, dirigoadm's the daemon, and
# both give the same table size). One right after the other (the daemon serves connection
# listings one at a time, so running both at once can put a second between them); rates and
# counters move, so up to 8 tries. Only for commands that change nothing.
same() {
    local a b rc_a rc_b try banner_a="" banner_b=""
    for ((try = 0; try < 8; try++)); do
        rc_a=0
        rc_b=0
        a=$(t_ipvsadm "$@" 2>&1) || rc_a=$?
        b=$(world_adm "$@" 2>&1) || rc_b=$?
        if [[ ${a%%$'\n'*} == "IP Virtual Server version "* ]]; then
            banner_a=${a%%$'\n'*}
            banner_b=${b%%$'\n'*}
            a=${a#*$'\n'}
            b=${b#*$'\n'}
        fi
        [[ $a == "$b" && $rc_a == "$rc_b" ]] && break
        sleep 0.3
    done
    if [[ -n $banner_a ]]; then
        local size_a=${banner_a##*size=} size_b=${banner_b##*size=}
        t_expect "ipvsadm $* banner '$banner_a' has dirigo's table size (${size_b%)})" \
            "$([[ $banner_a =~ $T_BANNER_IPVS && $size_a == "$size_b" ]] && echo 1)"
    fi
    if [[ $a == "$b" && $rc_a == "$rc_b" ]]; then
        t_pass "ipvsadm $* == dirigoadm $* ($(wc -l <<<"$a") lines, exit $rc_a)"
        t_show "$a"
    else
        t_fail "ipvsadm $* differs from dirigoadm $* (exit $rc_a vs $rc_b)"
        diff -u <(echo "$b") <(echo "$a") | sed 's/^/    /' || true
    fi
}
T_BANNER_IPVS='^IP Virtual Server version 1\.2\.1 \(size=[0-9]+\)$'

# ---- 2. Every listing -----------------------------------------------------------------------------
same -Ln
same -Ln --stats
same -Ln --rate
same -Ln --exact
same -Ln --stats --exact
same -Ln --thresholds
same -Ln --persistent-conn
same -Ln --tun-info
same -L --timeout
same -L --daemon
same -S -n
# -Lc: the expiry column counts down between the two runs, and with a dozen connections at
# different phases one of them nearly always crosses a second. Byte for byte when a try catches
# them all on the same side; otherwise byte for byte outside that column, and within a second in it.
same_conns() {
    local a b try
    for ((try = 0; try < 8; try++)); do
        a=$(t_ipvsadm -Lc -n 2>&1) || true
        b=$(world_adm -Lc -n 2>&1) || true
        [[ $a == "$b" ]] && break
    done
    t_show "$a"
    if [[ $a == "$b" ]]; then
        t_pass "ipvsadm -Lc -n == dirigoadm -Lc -n ($(wc -l <<<"$a") lines)"
        return
    fi
    # Every line the same with the 6-character expire field (column 5..10) blanked, and every
    # expire mm:ss of ipvsadm (run first) at most one second above dirigoadm's.
    local ok=1 la lb i secs_a secs_b
    mapfile -t la <<<"$a"
    mapfile -t lb <<<"$b"
    ((${#la[@]} == ${#lb[@]})) || ok=0
    for ((i = 0; ok && i < ${#la[@]}; i++)); do
        [[ ${la[i]:0:4}${la[i]:10} == "${lb[i]:0:4}${lb[i]:10}" ]] || ok=0
        if ((i >= 2)); then
            secs_a=$((10#${la[i]:4:2} * 60 + 10#${la[i]:7:2}))
            secs_b=$((10#${lb[i]:4:2} * 60 + 10#${lb[i]:7:2}))
            ((secs_a - secs_b >= 0 && secs_a - secs_b <= 1)) || ok=0
        fi
    done
    t_expect "ipvsadm -Lc -n == dirigoadm -Lc -n but for expiry seconds ticking between the runs" "$ok"
    ((ok)) || diff -u <(echo "$b") <(echo "$a") | sed 's/^/    /' || true
}
same_conns
same -Ln -t "$VIP:80"
same -Ln -u "$VIP:53" --stats
same -Ln --sctp-service "$VIP:5000"
conns=$(t_ipvsadm -Lc -n | tail -n +3 | wc -l)
t_expect "ipvsadm -Lc -n lists the connections the traffic made ($conns)" \
    "$([[ $conns -ge 1 ]] && echo 1)"

# ---- 3. Changes through ipvsadm, checked through both --------------------------------------------
ok=1
ipv -E -t "$VIP:8080" -s wrr -p 900 || ok=0
ipv -e -t "$VIP:80" -r "$RIP2:80" -m -w 7 -x 0 -y 0 || ok=0
ipv -d -t "$VIP:8080" -r "$RIP2:8080" || ok=0
ipv --set 1000 110 290 || ok=0
ipv -Z -t "$VIP:80" || ok=0
t_expect "ipvsadm -E, -e, -d, --set and -Z succeed" "$ok"
same -Ln
same -L --timeout
same -Ln --stats -t "$VIP:80"
ipv -Z || true
same -Ln --stats

# ---- 4. ipvsadm-save, -C, ipvsadm-restore ---------------------------------------------------------
export LD_PRELOAD=$DIRIGO_IPVS_LIB DIRIGO_SOCKET=$W_SOCK
saved=$(timeout 10 ipvsadm-save -n) || true
timeout 10 ipvsadm -C || true
after_clear=$(timeout 10 ipvsadm-save -n) || true
timeout 10 ipvsadm-restore <<<"$saved" || true
restored=$(timeout 10 ipvsadm-save -n) || true
unset LD_PRELOAD DIRIGO_SOCKET
t_show "$saved"
t_expect "ipvsadm-save -n saves every rule ($(wc -l <<<"$saved") lines)" \
    "$([[ $(grep -c '^-A' <<<"$saved") == 8 && $(grep -c '^-a' <<<"$saved") == 10 ]] && echo 1)"
t_expect "ipvsadm-save -n writes the SCTP service as --sctp-service" \
    "$([[ $(grep -c -- "^-A --sctp-service $VIP:5000 -s rr\$" <<<"$saved") == 1 ]] && echo 1)"
t_expect "after ipvsadm -C the table is empty" "$([[ -z $after_clear ]] && echo 1)"
t_expect "ipvsadm-restore brings back exactly what ipvsadm-save saved" \
    "$([[ -n $saved && $restored == "$saved" ]] && echo 1)"
t_expect "ipvsadm-save -n equals dirigoadm -S -n" \
    "$([[ $saved == "$(world_adm -S -n)" ]] && echo 1)"
if [[ $restored != "$saved" ]]; then
    diff -u <(echo "$saved") <(echo "$restored") | sed 's/^/    /' || true
fi

# ---- 5. Refusals: the same message and exit code --------------------------------------------------
same -D -t 10.9.9.9:80
same -D --sctp-service 10.9.9.9:5000
same -A -t "$VIP:80" -s rr
same -a -t "$VIP:80" -r "$RIP1:80" -m
same -a -t 10.9.9.9:80 -r "$RIP1:80" -m
same -d -t "$VIP:80" -r 172.16.0.99:80
same -e -t "$VIP:80" -r 172.16.0.99:80 -m
same -E -t 10.9.9.9:80 -s rr
same -a -u 10.0.0.104:4789 -r "$RIP1:4789" -i --tun-type gue
same -a -u 10.0.0.104:4789 -r "$RIP1:4789" -i --tun-type gre --tun-remcsum
same -a -u 10.0.0.104:4789 -r "$RIP1:4789" -m --tun-type gre
same -a -u 10.0.0.104:4789 -r "$RIP1:4789" -i --tun-type gue --tun-port 1 --tun-csum --tun-nocsum
# dirigoadm refuses an unknown scheduler itself (exit 2); ipvsadm sends it, and gets the kernel's
# ENOENT, which it words as below.
rc=0
msg=$(t_ipvsadm -A -t "$VIP:99" -s nosuchsched 2>&1) || rc=$?
t_expect "ipvsadm -A -s nosuchsched: '$msg', exit $rc, as with the kernel" \
    "$([[ $rc == 255 && $msg == 'Scheduler or persistence engine not found' ]] && echo 1)"
same -Z -t 10.9.9.9:80
same -Ln -t 10.9.9.9:80
same -Ln
# A daemon that is not there: ipvsadm cannot initialise IPVS and says so.
rc=0
msg=$(LD_PRELOAD=$DIRIGO_IPVS_LIB DIRIGO_SOCKET=$W_TMP/nothing.sock timeout 10 ipvsadm -Ln 2>&1) ||
    rc=$?
t_show "$msg"
t_expect "without a daemon ipvsadm fails and the library names the socket (exit $rc)" \
    "$([[ $rc != 0 && $msg == *"$W_TMP/nothing.sock"* ]] && echo 1)"

# ---- 5b. IPv6 services through the real ipvsadm (listings only: forwarding is the dataplane's) --
ok=1
ipv -A -t "[2001:db8::100]:80" -s rr -p 60 -M 64 || ok=0
ipv -a -t "[2001:db8::100]:80" -r "[2001:db8:1::11]:80" -m -w 1 || ok=0
ipv -a -t "[2001:db8::100]:80" -r "2001:db8:1::12" -g -w 2 || ok=0
ipv -a -t "[2001:db8::100]:80" -r "[2001:db8:1::13]:80" -i -w 3 || ok=0
# A tunnelling server of the other family (IPv6-in-IPv4), as the kernel allows: listed in its own.
ipv -a -t "[2001:db8::100]:80" -r "$RIP1:80" -i -w 4 || ok=0
ipv -A -u "[2001:db8:1234:5678:9abc:def0:1234:5678]:53" -s wrr || ok=0
ipv -A -f 7 -6 -s rr || ok=0
ipv -a -f 7 -6 -r 2001:db8:1::21 -g || ok=0
t_expect "ipvsadm adds IPv6 services (a VIP, a wide VIP, an IPv6 fwmark) and their servers, an IPv4 tunnel server among them" "$ok"
same -Ln
same -Ln --stats
same -Ln --persistent-conn
same -S -n
same -Ln -t "[2001:db8::100]:80"
same -a -t "[2001:db8::100]:80" -r "[2001:db8:1::11]:80" -m
same -d -t "[2001:db8::100]:80" -r "[2001:db8:1::99]:80"
ok=1
ipv -D -t "[2001:db8::100]:80" || ok=0
ipv -D -u "[2001:db8:1234:5678:9abc:def0:1234:5678]:53" || ok=0
ipv -D -f 7 -6 || ok=0
t_expect "ipvsadm deletes the IPv6 services" "$ok"
same -Ln

# ---- 6. keepalived, unmodified, with the library in its environment ------------------------------
if command -v keepalived >/dev/null; then
    t_ipvsadm -C || true
    cat >"$W_TMP/keepalived.conf" <<KA
global_defs {
    router_id dirigo_e2e
}
virtual_server $VIP 80 {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server $RIP1 80 {
        weight 3
    }
    real_server $RIP2 80 {
        weight 1
    }
}
virtual_server $VIP 53 {
    lb_algo rr
    lb_kind DR
    protocol UDP
    persistence_timeout 120
    real_server $RIP1 53 {
        weight 2
    }
}
KA
    LD_PRELOAD=$DIRIGO_IPVS_LIB DIRIGO_SOCKET=$W_SOCK keepalived -n -l -C \
        -f "$W_TMP/keepalived.conf" -p "$W_TMP/keepalived.pid" -c "$W_TMP/checkers.pid" \
        >"$W_TMP/keepalived.log" 2>&1 &
    ka_pid=$!
    W_PIDS+=("$ka_pid")
    ka_rules() { world_adm -S -n 2>/dev/null; }
    want=$'-A -t 10.0.0.100:80 -s wrr\n-a -t 10.0.0.100:80 -r RIP1:80 -m -w 3\n-a -t 10.0.0.100:80 -r RIP2:80 -m -w 1\n-A -u 10.0.0.100:53 -s rr -p 120\n-a -u 10.0.0.100:53 -r RIP1:53 -g -w 2'
    want=${want//10.0.0.100/$VIP}
    want=${want//RIP1/$RIP1}
    want=${want//RIP2/$RIP2}
    ka_has_rules() { [[ $(ka_rules) == "$want" ]]; }
    ka_empty() { [[ -z $(ka_rules) ]]; }
    ok=0
    t_wait_until 15 ka_has_rules && ok=1
    t_show "$(ka_rules)"
    t_expect "keepalived's virtual_server blocks become dirigo services (NAT wrr, DR persistent)" "$ok"
    kill -TERM "$ka_pid" 2>/dev/null || true
    ok=0
    t_wait_until 15 ka_empty && ok=1
    t_expect "keepalived removes its services when it stops" "$ok"
    wait "$ka_pid" 2>/dev/null || true
    [[ $ok == 1 ]] || t_show "$(tail -20 "$W_TMP/keepalived.log")"
fi

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
