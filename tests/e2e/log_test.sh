#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end test of the daemon's log (docs/operations.md, "Logs"): the real daemon in a world.sh
# world, in a private mount namespace (unshare -m) whose /dev/log is a Unix datagram socket that a
# small Python listener of this test reads, as syslogd or journald would. Checked:
#  - the start notice arrives with syslog priority notice (5), facility daemon, ident dirigo, and
#    DPDK's own messages (EAL) take the same road;
#  - SIGHUP with a change of ports: a warning (4) that the change needs a restart, then the
#    reload notice (5); stderr has the same lines as text;
#  - the stop notice (5);
#  - log.level = "warning" suppresses the notice and info lines; the warning still arrives;
#  - a config error (before EAL) reaches stderr as text and syslog as err (3);
#  - a metrics address already in use stops the start with an err (3) line;
#  - with stderr as the journal (JOURNAL_STREAM naming it), every stderr line carries its "<N>"
#    priority and nothing goes to syslog (no duplicates in the journal).
#
# Usage: log_test.sh [DIRIGO [DIRIGOADM]]
# Exit: 0 pass, 1 fail, 77 skip (not root, no network namespaces, no unshare).

# Helpers called through t_check/t_wait_until look unreachable to shellcheck.
# shellcheck disable=SC2317
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_log
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"

t_init_bins "$@"
command -v unshare >/dev/null || t_unavailable "needs unshare (util-linux)"

bail() {
    t_fail "$1"
    world_dirigo_log_tail 40
    [[ -f ${SYSLOG:-} ]] && sed 's/^/    syslog: /' "$SYSLOG" | tail -n 40
    t_summary
}

world_install_trap
world_create 1
world_write_config
SOCK_LOG="$W_TMP/syslog.sock"
SYSLOG="$W_TMP/syslog.txt"
: >"$SYSLOG"

# --- the syslog receiver: one line per datagram, "SEVERITY FACILITY IDENT PID TEXT" ---
"$(world_python)" - "$SOCK_LOG" "$SYSLOG" <<'EOF' &
import os
import re
import socket
import sys

path, out = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
# glibc's syslog(3): "<PRI>Mmm dd hh:mm:ss IDENT[PID]: TEXT".
head = re.compile(r"<(\d+)>(?:\w{3} [ \d]\d \d\d:\d\d:\d\d )?([^\[: ]+)(?:\[(\d+)\])?: ?(.*)", re.S)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(65536).decode(errors="replace")
        m = head.match(msg)
        if m is None:
            f.write(f"? ? ? ? {msg.strip()}\n")
            continue
        pri = int(m.group(1))
        text = m.group(4).strip().replace("\n", " | ")
        f.write(f"{pri & 7} {pri >> 3} {m.group(2)} {m.group(3) or '-'} {text}\n")
EOF
W_PIDS+=($!)
t_wait_until 10 test -S "$SOCK_LOG" || bail "the syslog receiver binds $SOCK_LOG"

# --- the daemon's private /dev, whose log is the receiver ---
# /dev is replaced, in the daemon's mount namespace only, by a tmpfs holding bind mounts of every
# entry of the real /dev (directories recursively: pts, shm, hugepages, net/tun) plus `log`, a
# bind mount of the receiver's socket. A host without /dev/log (a container) works the same.
# unshare -m makes the namespace's mounts private: nothing here is seen outside the daemon.
RUN="$W_TMP/run-dirigo"
cat >"$RUN" <<EOF
#!/usr/bin/env bash
set -euo pipefail
if [[ -z \${DIRIGO_LOG_TEST_NS:-} ]]; then
    DIRIGO_LOG_TEST_NS=1 exec unshare -m --propagation private "\$0" "\$@"
fi
old="$W_TMP/old-dev"
mkdir -p "\$old"
mount --rbind /dev "\$old"
mount -t tmpfs -o mode=0755,size=64k dirigo-test-dev /dev
for e in "\$old"/* "\$old"/.[!.]*; do
    [[ -e \$e || -L \$e ]] || continue
    n=\${e##*/}
    if [[ -L \$e ]]; then
        ln -s "\$(readlink "\$e")" "/dev/\$n"
    elif [[ -d \$e ]]; then
        mkdir "/dev/\$n" && mount --rbind "\$e" "/dev/\$n"
    elif [[ \$n != log ]]; then
        : >"/dev/\$n" && mount --bind "\$e" "/dev/\$n"
    fi
done
: >/dev/log
mount --bind "$SOCK_LOG" /dev/log
umount -l "\$old"
# JOURNAL_STREAM as systemd sets it when stderr is the journal: here, stderr's own file.
if [[ -n \${DIRIGO_LOG_TEST_JOURNAL:-} ]]; then
    JOURNAL_STREAM=\$(stat -L -c '%d:%i' /proc/self/fd/2)
    export JOURNAL_STREAM
fi
exec "$DIRIGO" "\$@"
EOF
chmod +x "$RUN"

# syslog_after N: the receiver's lines after the first N.
syslog_after() { tail -n +"$(($1 + 1))" "$SYSLOG"; }
syslog_lines() { wc -l <"$SYSLOG"; }
# has_syslog FROM SEVERITY TEXT: a line after FROM at SEVERITY, facility daemon (3), ident dirigo,
# from the daemon's pid, whose text contains TEXT.
has_syslog() {
    syslog_after "$1" | awk -v sev="$2" -v pid="$W_LAST_PID" -v want="$3" \
        '$1 == sev && $2 == 3 && $3 == "dirigo" && $4 == pid && index($0, want) { f = 1 } END { exit !f }'
}
# has_syslog_any FROM SEVERITY TEXT: the same from any pid (a daemon that exited at once).
has_syslog_any() {
    syslog_after "$1" | awk -v sev="$2" -v want="$3" \
        '$1 == sev && $2 == 3 && $3 == "dirigo" && index($0, want) { f = 1 } END { exit !f }'
}
no_syslog() { ! syslog_after "$1" | grep -qF -- "$2"; }
log_has() { grep -qF -- "$1" "$W_DIRIGO_LOG"; }
start() {
    world_start_dirigo "$RUN" || return 1
    W_LAST_PID=$W_DIRIGO_PID
}
W_LAST_PID=""

# --- 1. info level (the default): start, a refused change of ports, stop ---
from=$(syslog_lines)
start || bail "dirigo starts in a private mount namespace with the test's /dev/log"
t_pass "dirigo starts in a private mount namespace with the test's /dev/log"
t_check "syslog: the start notice, priority notice (5), facility daemon, ident dirigo" \
    t_wait_until 10 has_syslog "$from" 5 "dirigo: started, version"
eal_in_syslog() { syslog_after "$from" | grep -q " EAL: "; }
t_check "syslog: DPDK's own messages (EAL) arrive too" t_wait_until 5 eal_in_syslog
t_check "stderr: the same start notice as text" log_has "dirigo: started, version"

sed -i 's|addresses = \[ "172.16.0.1/24" \]|addresses = [ "172.16.0.1/24", "172.16.1.1/24" ]|' "$W_CONFIG"
grep -qF '172.16.1.1/24' "$W_CONFIG" || bail "the test edits the ports of the config"
"$DIRIGO" --check -c "$W_CONFIG" >/dev/null || bail "the edited config is valid"
kill -HUP "$W_DIRIGO_PID"
t_check "syslog: SIGHUP with changed ports gives a warning (4) that they need a restart" \
    t_wait_until 10 has_syslog "$from" 4 "the changes to ports need a restart and were not applied"
t_check "syslog: then the reload notice (5)" \
    t_wait_until 10 has_syslog "$from" 5 "dirigo: reloaded $W_CONFIG"
t_check "stderr: the warning as text" log_has "the changes to ports need a restart"
t_check "dirigo stops cleanly" world_stop_dirigo
t_check "syslog: the stop notice (5)" t_wait_until 5 has_syslog "$from" 5 "dirigo: stopping"
t_check "syslog: the info line at the end (6)" \
    t_wait_until 5 has_syslog "$from" 6 "ports stopped, all mbufs returned"
echo "    what the receiver got (severity, facility, ident, pid, text), dirigo's lines:"
syslog_after "$from" | grep -F ' dirigo: ' | sed 's/^/      /'

# --- 2. log.level = "warning": only warnings and worse ---
printf 'log = { level = "warning"; };\n' >>"$W_CONFIG"
from=$(syslog_lines)
start || bail "dirigo starts with log.level = \"warning\""
sed -i 's|"172.16.0.1/24", "172.16.1.1/24"|"172.16.0.1/24", "172.16.2.1/24"|' "$W_CONFIG"
kill -HUP "$W_DIRIGO_PID"
t_check "warning level: the ports warning (4) still arrives" \
    t_wait_until 10 has_syslog "$from" 4 "the changes to ports need a restart"
t_check "dirigo stops cleanly (warning level)" world_stop_dirigo
sleep 0.5 # the receiver writes what it got
for text in "dirigo: started" "dirigo: reloaded" "dirigo: stopping" "all mbufs returned"; do
    t_check "warning level: no \"$text\" in syslog" no_syslog "$from" "$text"
    t_expect "warning level: no \"$text\" on stderr" "$(log_has "$text" || echo 1)"
done
sed -i '/^log = { level = "warning"; };$/d' "$W_CONFIG"

# --- 3. errors: a bad config (before EAL), an address already in use ---
from=$(syslog_lines)
cp "$W_CONFIG" "$W_TMP/bad.cfg"
printf 'log = { level = "loud"; };\n' >>"$W_TMP/bad.cfg"
rc=0
out=$(ip netns exec "$W_NS_DIR" timeout 30 "$RUN" -c "$W_TMP/bad.cfg" 2>&1) || rc=$?
echo "    $out"
t_expect "a bad config: exit 1 (status $rc)" "$([[ $rc == 1 ]] && echo 1)"
t_expect "a bad config: stderr says why, as text" \
    "$([[ $out == "dirigo: $W_TMP/bad.cfg:"*'log.level: unknown log level "loud"'* ]] && echo 1)"
t_check "a bad config: syslog has it as err (3)" \
    t_wait_until 5 has_syslog_any "$from" 3 'unknown log level "loud"'

PORT_BUSY=19187
ip netns exec "$W_NS_DIR" "$(world_python)" -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", '"$PORT_BUSY"')); s.listen(); time.sleep(120)' &
W_PIDS+=($!)
busy() { ip netns exec "$W_NS_DIR" ss -ltn | grep -q ":$PORT_BUSY "; }
t_wait_until 10 busy ||
    bail "a listener holds 127.0.0.1:$PORT_BUSY"
cp "$W_CONFIG" "$W_TMP/busy.cfg"
printf 'metrics = { listen = "127.0.0.1:%d"; };\n' "$PORT_BUSY" >>"$W_TMP/busy.cfg"
from=$(syslog_lines)
rc=0
out=$(ip netns exec "$W_NS_DIR" timeout 60 "$RUN" -c "$W_TMP/busy.cfg" 2>&1) || rc=$?
t_expect "metrics address in use: the start fails (status $rc)" "$([[ $rc == 1 ]] && echo 1)"
t_check "metrics address in use: syslog has it as err (3)" \
    t_wait_until 5 has_syslog_any "$from" 3 "Address already in use"
t_expect "metrics address in use: stderr too" \
    "$([[ $out == *"bind 127.0.0.1:$PORT_BUSY: Address already in use"* ]] && echo 1)"

# --- 4. stderr is the journal: "<N>" prefixes, nothing to syslog ---
from=$(syslog_lines)
export DIRIGO_LOG_TEST_JOURNAL=1
start || bail "dirigo starts with stderr as the journal"
unset DIRIGO_LOG_TEST_JOURNAL
kill -HUP "$W_DIRIGO_PID"
t_check "journal: the reload notice on stderr as <5>" \
    t_wait_until 10 log_has "<5>dirigo: reloaded"
t_check "dirigo stops cleanly (journal)" world_stop_dirigo
t_check "journal: the start notice on stderr as <5>" log_has "<5>dirigo: started, version"
t_check "journal: the stop notice as <5>" log_has "<5>dirigo: stopping"
t_check "journal: the last info line as <6>" log_has "<6>dirigo: ports stopped"
t_check "journal: DPDK's lines carry a priority too" grep -q '^<[0-7]>EAL: ' "$W_DIRIGO_LOG"
t_expect "journal: every stderr line carries a priority" \
    "$(grep -vq '^<[0-7]>' "$W_DIRIGO_LOG" || echo 1)"
{ grep -v '^<[0-7]>' "$W_DIRIGO_LOG" || true; } | head -n 5 | sed 's/^/    unprefixed: /'
sleep 0.5
t_expect "journal: nothing went to syslog (no duplicate in the journal)" \
    "$([[ $(syslog_lines) == "$from" ]] && echo 1)"
t_summary
