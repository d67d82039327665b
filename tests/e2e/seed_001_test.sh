#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Seed 001 (/work/shared/seeds/001_*.txt, "LVS的NAT模型建立"), replayed end to end with dirigoadm in
# place of ipvsadm: an LVS/NAT cluster (the seed's VIP 172.16.100.9, DIP 192.168.20.1, RIPs
# 192.168.20.7/.8 become this world's 10.0.0.100, 172.16.0.1, 172.16.0.11/.12), then the seed's
# tour of ipvsadm:
#
#   1. define the cluster: -A -t VIP:80 -s rr; -a -t VIP:80 -r RIPn:80 -m     (round robin)
#   2. save and restore: -S > file; -C; -R < file                              (same rules back)
#   3. edit the service: -E -t VIP:80 -s sh                                    (rr -> sh)
#   4. move the real servers from port 80 to 8080 (they listen on both here):
#      the seed's `ipvsadm -e` fails ("Memory allocation problem" in its old ipvsadm; ipvsadm 1.31
#      and dirigoadm say "No such destination": -e names a destination by RIP:port, so it cannot
#      change the port), and the seed's way out: edit the saved file, -C, -R < file.
#      Then -e does edit the moved destinations (-e -t VIP:80 -r RIP:8080 -m -w 2).
#   5. -L -c (connections), -L -n --stats, -L -n --rate, --exact, while traffic flows
#   6. -d (delete a real server), -D (delete the service)
#
# The seed's iptables, yum, ip_forward and ifcfg steps have no dirigoadm counterpart.
# Usage: seed_001_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
# With DIRIGO_ADM_TOOL=ipvsadm (meson test e2e_seed_001_ipvsadm) the same commands go to Debian's
# unmodified ipvsadm with libdirigo-ipvs.so preloaded (tests/e2e/common.sh), and must pass the same checks.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_seed_001
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"

world_install_trap
world_create 2
world_start_servers 80 8080   # "webN" on port 80, "webN:8080" on 8080
world_add_clients 4           # 10.0.0.2 .. 10.0.0.5, for the sh check
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts and opens its control socket"

VS="$W_VIP:$W_VPORT"
RIP1=$(world_rs_ip 1)
RIP2=$(world_rs_ip 2)
SAVE="$W_TMP/ipvsadm.rules"   # the seed's /etc/sysconfig/ipvsadm

# Service and server lines of -Ln without the two connection counters (they change with traffic).
rules_view() {
    world_adm -Ln | awk 'NR > 3 { if ($1 == "->") print $1, $2, $3, $4; else print }'
}

# ---- 1. The cluster ------------------------------------------------------------------------
ok=1
t_adm -C || ok=0
t_adm -A -t "$VS" -s rr || ok=0
t_adm -a -t "$VS" -r "$RIP1:80" -m || ok=0
t_adm -a -t "$VS" -r "$RIP2:80" -m || ok=0
t_expect "the cluster is defined (-A -s rr, -a -m twice)" "$ok"
listing=$(world_adm -Ln)
t_show "$listing"
t_expect "-Ln: TCP $VS rr with two Masq servers of weight 1" "$(
    grep -Eq "^TCP  $VS rr" <<<"$listing" &&
        grep -Eq -- "-> $RIP1:80 +Masq +1 " <<<"$listing" &&
        grep -Eq -- "-> $RIP2:80 +Masq +1 " <<<"$listing" && echo 1
)"
t_curl_n 6
t_expect "requests alternate web1/web2 (${REPLIES[*]})" "$(t_alternates "${REPLIES[@]}" && echo 1)"

# ---- 2. Save, clear, restore -------------------------------------------------------------------
before=$(rules_view)
echo "    # $T_ADM_TOOL -S -n > $SAVE"
world_adm -S -n >"$SAVE" || true
t_show "$(cat "$SAVE")"
t_expect "-S -n writes the service and both servers in ipvsadm-save form" "$(
    [[ $(cat "$SAVE") == "-A -t $VS -s rr
-a -t $VS -r $RIP1:80 -m -w 1
-a -t $VS -r $RIP2:80 -m -w 1" ]] && echo 1
)"
t_adm -C || true
t_expect "-C clears every service" "$([[ -z $(rules_view) ]] && echo 1)"
echo "    # $T_ADM_TOOL -R < $SAVE"
ok=1
world_adm -R <"$SAVE" || ok=0
after=$(rules_view)
t_expect "-R < file restores the same service (-Ln before/after equal)" \
    "$([[ $ok == 1 && -n $before && $before == "$after" ]] && echo 1)"
t_curl_n 4
t_expect "the restored service answers, alternating (${REPLIES[*]})" \
    "$(t_alternates "${REPLIES[@]}" && echo 1)"

# ---- 3. -E: rr -> sh ---------------------------------------------------------------------------
t_adm -E -t "$VS" -s sh || true
listing=$(world_adm -Ln)
t_expect "-E -t $VS -s sh: -Ln shows 'TCP  $VS sh'" \
    "$(grep -Eq "^TCP  $VS sh *$" <<<"$listing" && echo 1)"
sh_ok=1
used=""
for src in "${W_CLIENT_IPS[@]}"; do
    t_curl_n 6 --interface "$src"
    echo "    client $src: ${REPLIES[*]}"
    t_all_same "${REPLIES[@]}" || sh_ok=0
    used+="${REPLIES[0]} "
done
t_expect "with sh each client always gets the same server (per client: $used)" "$sh_ok"

# ---- 4. Port 80 -> 8080 --------------------------------------------------------------------------
echo "    # $T_ADM_TOOL -e -t $VS -r $RIP1:8080 -m"
rc=0
msg=$(world_adm -e -t "$VS" -r "$RIP1:8080" -m 2>&1) || rc=$?
echo "    $msg (exit $rc)"
t_expect "-e cannot move $RIP1:80 to port 8080, as with ipvsadm: 'No such destination', exit 255" \
    "$([[ $rc == 255 && $msg == 'No such destination' ]] && echo 1)"
# The seed's way: edit the saved rules (80 -> 8080 for the real servers), -C, -R.
world_adm -S -n >"$SAVE" || true
sed -i -E "s/-r ([0-9.]+):80 /-r \\1:8080 /" "$SAVE"
t_show "$(cat "$SAVE")"
t_adm -C || true
echo "    # $T_ADM_TOOL -R < $SAVE"
ok=1
world_adm -R <"$SAVE" || ok=0
listing=$(world_adm -Ln)
t_show "$listing"
t_expect "after edit, -C, -R: -Ln shows $VS sh -> $RIP1:8080 and $RIP2:8080, Masq" "$(
    [[ $ok == 1 ]] && grep -Eq "^TCP  $VS sh" <<<"$listing" &&
        grep -Eq -- "-> $RIP1:8080 +Masq +1 " <<<"$listing" &&
        grep -Eq -- "-> $RIP2:8080 +Masq +1 " <<<"$listing" &&
        ! grep -Eq -- ":80 +Masq" <<<"$listing" && echo 1
)"
map_ok=1
for src in "${W_CLIENT_IPS[@]}"; do
    t_curl_n 3 --interface "$src"
    [[ ${REPLIES[0]} == web[12]:8080 ]] && t_all_same "${REPLIES[@]}" || map_ok=0
    echo "    client $src: ${REPLIES[*]}"
done
t_expect "port mapping: VIP:80 now reaches the servers' port 8080 (webN:8080), still sh" "$map_ok"
t_adm -e -t "$VS" -r "$RIP1:8080" -m -w 2 || true
listing=$(world_adm -Ln)
t_expect "-e -t $VS -r $RIP1:8080 -m -w 2: -Ln shows weight 2 for it, 1 for the other" "$(
    grep -Eq -- "-> $RIP1:8080 +Masq +2 " <<<"$listing" &&
        grep -Eq -- "-> $RIP2:8080 +Masq +1 " <<<"$listing" && echo 1
)"

# ---- 5. Connections, --stats, --rate, --exact ---------------------------------------------------
# Back to rr so that traffic reaches both servers.
t_adm -E -t "$VS" -s rr || true
stats0=$(world_adm -L -n --stats)
conns0=$(t_field "$stats0" "^TCP  $VS" 3)
inpk0=$(t_field "$stats0" "^TCP  $VS" 4)
# About 6 s of traffic (the rate estimator samples every 2 s and smooths); bounded loop.
bg_out="$W_TMP/bg.out"
: >"$bg_out"
(
    end=$((SECONDS + 6))
    while ((SECONDS < end)); do
        world_curl "http://$VS/" >/dev/null 2>&1 && echo ok >>"$bg_out"
        sleep 0.05
    done
) &
bg_pid=$!
W_PIDS+=("$bg_pid")
sleep 4.5
rate=$(world_adm -L -n --rate)
t_show "$rate"
cps=$(t_field "$rate" "^TCP  $VS" 3)
inpps=$(t_field "$rate" "^TCP  $VS" 4)
outpps=$(t_field "$rate" "^TCP  $VS" 5)
t_expect "-L -n --rate during traffic: CPS, InPPS, OutPPS non-zero ($cps, $inpps, $outpps)" \
    "$([[ ${cps:-0} -gt 0 && ${inpps:-0} -gt 0 && ${outpps:-0} -gt 0 ]] && echo 1)"
conns_listing=$(world_adm -L -n -c)
t_show "$(head -n 6 <<<"$conns_listing")"
t_expect "-L -n -c lists the connections (client -> $VS -> RIP:8080)" "$(
    [[ $(head -n 2 <<<"$conns_listing") == "IPVS connection entries
pro expire state       source             virtual            destination" ]] &&
        grep -Eq "^TCP [0-9]{2}:[0-9]{2} +[A-Z_]+ +10\.0\.0\.[0-9]+:[0-9]+ +$VS +172\.16\.0\.1[12]:8080" \
            <<<"$conns_listing" && echo 1
)"
wait "$bg_pid" || true
stats1=$(world_adm -L -n --stats)
t_show "$stats1"
conns1=$(t_field "$stats1" "^TCP  $VS" 3)
inpk1=$(t_field "$stats1" "^TCP  $VS" 4)
nbg=$(wc -l <"$bg_out")
t_expect "-L -n --stats: Conns and InPkts grew with the traffic (Conns $conns0 -> $conns1 after $nbg requests, InPkts $inpk0 -> $inpk1)" \
    "$([[ $nbg -gt 0 && $((conns1 - conns0)) -ge $nbg && $inpk1 -gt $inpk0 ]] && echo 1)"

# --exact: a download of 110 MiB takes the service's OutBytes past 99,999,999, where -L --stats
# scales to thousands ("...K") and --exact prints every digit.
for i in 1 2; do
    truncate -s 110M "$W_TMP/www$i-8080/big"
done
t_adm -Z -t "$VS" || true
got=$(world_curl "http://$W_VIP/big" --max-time 60 -o /dev/null -w '%{size_download}' 2>/dev/null) || got=0
echo "    downloaded $got bytes"
scaled=$(t_field "$(world_adm -L -n --stats)" "^TCP  $VS" 7)
exact=$(t_field "$(world_adm -L -n --stats --exact)" "^TCP  $VS" 7)
t_expect "--stats shows OutBytes scaled ($scaled), --exact every digit ($exact), consistent" "$(
    [[ $got == 115343360 && $scaled =~ ^[0-9]+K$ && $exact =~ ^[0-9]+$ ]] &&
        ((exact >= got && ${scaled%K} == exact / 1000)) && echo 1
)"

# ---- 6. -d and -D --------------------------------------------------------------------------------
t_adm -d -t "$VS" -r "$RIP2:8080" || true
listing=$(world_adm -Ln)
t_curl_n 4
t_expect "-d removes $RIP2:8080: -Ln lists only $RIP1:8080, which answers every request (${REPLIES[*]})" "$(
    ! grep -q "$RIP2" <<<"$listing" && grep -q -- "-> $RIP1:8080" <<<"$listing" &&
        [[ $(t_count web1:8080 "${REPLIES[@]}") == 4 ]] && echo 1
)"
t_adm -D -t "$VS" || true
listing=$(world_adm -Ln)
t_show "$listing"
rc=0
world_curl "http://$W_VIP/" --connect-timeout 1 --max-time 2 >/dev/null 2>&1 || rc=$?
t_expect "-D removes the service: -Ln lists none and the VIP no longer answers on :80 (curl exit $rc)" \
    "$([[ $(wc -l <<<"$listing") == 3 && $rc != 0 ]] && echo 1)"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
