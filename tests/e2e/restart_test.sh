#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end test of restarts and reloads (docs/operations.md, "Restarts and reloads"):
#  - rules added with dirigoadm are saved to control.rules and are back, identical in
#    `dirigoadm -Sn` and in the timeouts, after SIGTERM and a new start; traffic flows again;
#  - SIGHUP applies an edited config as one change: the config's service is made equal to its
#    new definition (scheduler wrr, web3 added, the dirigoadm-added web2 gone), the service that
#    only dirigoadm added stays, a dataplane change is reported as needing a restart;
#  - a config that does not load, sent with SIGHUP, changes nothing;
#  - the reloaded rules are in the rules file after the next stop.
#
# Usage: restart_test.sh [DIRIGO [DIRIGOADM]]
# Exit: 0 pass, 1 fail, 77 skip (not root or no network namespaces).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_restart
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"

DIRIGO=${1:-${DIRIGO:-$ROOT/build/dirigo}}
DIRIGOADM=${2:-${DIRIGOADM:-$ROOT/build/dirigoadm}}
export DIRIGOADM

if ! reason=$(world_can_run 2>&1); then
    t_unavailable "$reason"
fi
for bin in "$DIRIGO" "$DIRIGOADM"; do
    [[ -x $bin ]] || {
        echo "FAIL: $bin is not built"
        exit 1
    }
done

bail() {
    t_fail "$1"
    world_dirigo_log_tail 60
    t_summary
}

VIP_URL="http://$W_VIP:$W_VPORT/"
SVC="$W_VIP:$W_VPORT"

# seen_all BODY...: curls until every BODY has answered (bounded: 40 requests).
seen_all() {
    local want=("$@") got="" i body w
    for ((i = 0; i < 40; i++)); do
        body=$(world_curl "$VIP_URL" 2>/dev/null) || body=""
        [[ -n $body ]] && got+=" $body "
        local all=1
        for w in "${want[@]}"; do
            [[ $got == *" $w "* ]] || all=0
        done
        ((all)) && return 0
        [[ -n $body ]] || sleep 0.5
    done
    echo "    replies seen:$got (wanted ${want[*]})" >&2
    return 1
}

# log_has TEXT: the daemon's log has a line containing TEXT.
log_has() { grep -qF -- "$1" "$W_DIRIGO_LOG"; }
rules_has() { [[ -f $RULES ]] && grep -qF -- "$1" "$RULES"; }
listing_has() { world_adm -Ln 2>/dev/null | grep -Eq -- "$1"; }

world_install_trap
world_create 3
world_start_servers
world_write_config
RULES="$W_TMP/state/rules"
CFG_SERVICE="{ protocol = \"tcp\"; address = \"$SVC\"; scheduler = \"rr\";
    servers = ( { address = \"172.16.0.11:80\"; forward = \"nat\"; } ); }"
sed -i -e "s|^control = { socket = \"\\(.*\\)\"; };|control = { socket = \"\\1\"; rules = \"$RULES\"; };|" \
    -e "s|^services = ( );|services = ( $(tr '\n' ' ' <<<"$CFG_SERVICE") );|" "$W_CONFIG"
grep -qF "rules = \"$RULES\"" "$W_CONFIG" || bail "the test config names the rules file"
"$DIRIGO" -c "$W_CONFIG" --check >/dev/null || bail "the test config is valid"

world_start_dirigo "$DIRIGO" || bail "dirigo starts with a rules file that does not exist yet"
t_pass "dirigo starts with a rules file that does not exist yet"

ok=1
world_adm -a -t "$SVC" -r 172.16.0.12:80 -m -w 3 || ok=0
world_adm -A -u "$W_VIP:53" -s wlc || ok=0
world_adm -a -u "$W_VIP:53" -r 172.16.0.13:53 -m || ok=0
world_adm --set 100 20 50 || ok=0
((ok)) || bail "dirigoadm adds rules on top of the config's service"
t_pass "dirigoadm adds rules on top of the config's service"

t_check "the rules file is saved after the changes (within 5 s)" \
    t_wait_until 5 rules_has "-a -u $W_VIP:53 -r 172.16.0.13:53"
t_check "the rules file holds the timeouts" rules_has "--set 100 20 50"
[[ ! -e $RULES.tmp ]] && t_pass "no temporary file is left behind" ||
    t_fail "no temporary file is left behind"
t_check "traffic reaches web1 and web2 before the restart" seen_all web1 web2

save1=$(world_adm -Sn) || bail "dirigoadm -Sn"
tmo1=$(world_adm -L --timeout) || bail "dirigoadm -L --timeout"
printf '    %s\n' "${save1//$'\n'/$'\n'    }"

world_stop_dirigo && t_pass "dirigo stops cleanly on SIGTERM" || t_fail "dirigo stops cleanly on SIGTERM"
world_start_dirigo "$DIRIGO" || bail "dirigo starts again"
t_check "the start log says the rules were restored" log_has "restored"
save2=$(world_adm -Sn) || bail "dirigoadm -Sn after the restart"
tmo2=$(world_adm -L --timeout) || bail "dirigoadm -L --timeout after the restart"
[[ $save1 == "$save2" ]] && t_pass "dirigoadm -Sn is identical after the restart" || {
    t_fail "dirigoadm -Sn is identical after the restart"
    diff <(echo "$save1") <(echo "$save2") || true
}
[[ $tmo1 == "$tmo2" ]] && t_pass "the timeouts are identical after the restart ($tmo2)" ||
    t_fail "the timeouts are identical after the restart ($tmo1 / $tmo2)"
t_check "traffic reaches web1 and web2 after the restart" seen_all web1 web2

# SIGHUP with an edited config: wrr, web3 added; a dataplane change needs a restart.
sed -i -e 's|scheduler = "rr";|scheduler = "wrr";|' \
    -e 's|forward = "nat"; } ); }|forward = "nat"; }, { address = "172.16.0.13:80"; forward = "nat"; weight = 2; } ); }|' \
    -e 's|^dataplane = { \(.*\) };|dataplane = { \1 arp_timeout = 301; };|' "$W_CONFIG"
"$DIRIGO" -c "$W_CONFIG" --check >/dev/null || bail "the edited config is valid"
kill -HUP "$W_DIRIGO_PID"
t_check "SIGHUP: the log reports the reload" t_wait_until 10 log_has "applied as one transaction"
t_check "SIGHUP: the dataplane change is reported as needing a restart" \
    log_has "the changes to dataplane need a restart"
listing=$(world_adm -Ln)
printf '    %s\n' "${listing//$'\n'/$'\n'    }"
t_check "SIGHUP: the service is wrr" grep -Eq "^TCP +$SVC +wrr" <<<"$listing"
t_check "SIGHUP: web3 was added with weight 2" grep -Eq "172\.16\.0\.13:80 +Masq +2 " <<<"$listing"
t_expect "SIGHUP: web2 (added with dirigoadm to the config's service) is gone" \
    "$(grep -q "172\.16\.0\.12:80" <<<"$listing" || echo 1)"
t_check "SIGHUP: the dirigoadm-only UDP service stays" grep -Eq "^UDP +$W_VIP:53 +wlc" <<<"$listing"
t_check "traffic reaches web1 and web3 after the reload" seen_all web1 web3

# A config that does not load changes nothing.
save3=$(world_adm -Sn)
cp "$W_CONFIG" "$W_TMP/good.cfg"
sed -i 's|scheduler = "wrr";|scheduler = "nosuch";|; s|172.16.0.11:80|172.16.0.14:80|' "$W_CONFIG"
kill -HUP "$W_DIRIGO_PID"
t_check "SIGHUP with a bad config: the log says it was rejected" \
    t_wait_until 10 log_has "rejected, nothing changed"
grep -F "rejected" "$W_DIRIGO_LOG" | sed 's/^/    /'
save4=$(world_adm -Sn)
[[ $save3 == "$save4" ]] && t_pass "SIGHUP with a bad config: the rules are unchanged" ||
    t_fail "SIGHUP with a bad config: the rules are unchanged"
cp "$W_TMP/good.cfg" "$W_CONFIG"

# The reloaded rules survive the next restart.
world_stop_dirigo && t_pass "dirigo stops cleanly after the reloads" ||
    t_fail "dirigo stops cleanly after the reloads"
t_check "the rules file holds web3 after the stop" rules_has "-r 172.16.0.13:80 -m -w 2"
world_start_dirigo "$DIRIGO" || bail "dirigo starts a third time"
save5=$(world_adm -Sn) || true
[[ $save3 == "$save5" ]] && t_pass "the reloaded rules are back after the restart" || {
    t_fail "the reloaded rules are back after the restart"
    diff <(echo "$save3") <(echo "$save5") || true
}
world_stop_dirigo || t_fail "dirigo stops cleanly at the end"
t_summary
