# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# PASS/FAIL bookkeeping for the end-to-end tests. Every check prints one line, "PASS: ..." or
# "FAIL: ...", and t_summary prints "<test>: N passed, M failed" and exits 0 or 1.

T_NAME=${T_NAME:-e2e}
T_PASSED=0
T_FAILED=0

t_pass() {
    T_PASSED=$((T_PASSED + 1))
    echo "PASS: $*"
}

t_fail() {
    T_FAILED=$((T_FAILED + 1))
    echo "FAIL: $*"
}

# t_expect NAME OK: OK is 1 for pass, anything else for fail.
t_expect() {
    if [[ $2 == 1 ]]; then
        t_pass "$1"
    else
        t_fail "$1"
    fi
}

# t_check NAME CMD...: passes when CMD succeeds.
t_check() {
    local name=$1
    shift
    if "$@"; then
        t_pass "$name"
    else
        t_fail "$name"
    fi
}

t_summary() {
    echo "$T_NAME: $T_PASSED passed, $T_FAILED failed"
    if ((T_FAILED > 0 || T_PASSED == 0)); then
        exit 1
    fi
    exit 0
}

# t_unavailable REASON: the machine cannot run this test (no root, no network namespaces). Skips
# (meson's exit code 77), except under CI=true or DIRIGO_E2E_REQUIRED=1, where the end-to-end
# tests are expected to run and a skip would hide a broken test bed: there it fails.
t_unavailable() {
    if [[ ${CI:-} == true || -n ${DIRIGO_E2E_REQUIRED:-} ]]; then
        echo "FAIL: $1 (CI=true or DIRIGO_E2E_REQUIRED set: this test must run here)"
        exit 1
    fi
    echo "SKIP: $1"
    exit 77
}

# t_count WORD LIST...: how many LIST items equal WORD.
t_count() {
    local want=$1 n=0 item
    shift
    for item in "$@"; do
        [[ $item == "$want" ]] && n=$((n + 1))
    done
    echo "$n"
}

# ---- Helpers shared by the seed, scheduler, TUN and view tests (they need scripts/lib/world.sh
# sourced first). ----

# t_init_bins [DIRIGO [DIRIGOADM]]: sets DIRIGO and DIRIGOADM from the arguments, the environment
# or build/, exports DIRIGOADM, and skips (t_unavailable) or fails when the machine or the
# binaries are not there.
t_init_bins() {
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    DIRIGO=${1:-${DIRIGO:-$root/build/dirigo}}
    DIRIGOADM=${2:-${DIRIGOADM:-$root/build/dirigoadm}}
    export DIRIGO DIRIGOADM
    local reason bin
    if ! reason=$(world_can_run 2>&1); then
        t_unavailable "$reason"
    fi
    for bin in "$DIRIGO" "$DIRIGOADM"; do
        if [[ ! -x $bin ]]; then
            echo "FAIL: $bin is not built"
            exit 1
        fi
    done
    if [[ $T_ADM_TOOL == ipvsadm ]]; then
        t_init_ipvsadm
    fi
}

# The tool the tests type ipvsadm's commands into: dirigoadm by default; with
# DIRIGO_ADM_TOOL=ipvsadm, Debian's unmodified ipvsadm with libdirigo-ipvs.so (DIRIGO_IPVS_LIB)
# preloaded, which must pass the same checks (docs/ipvs-netlink.md). The only difference a test
# sees is the first line of a full listing: ipvsadm names the IPVS version the library emulates.
T_ADM_TOOL=${DIRIGO_ADM_TOOL:-dirigoadm}
if [[ $T_ADM_TOOL == ipvsadm ]]; then
    T_BANNER_RE='^IP Virtual Server version 1\.2\.1 \(size=[0-9]+\)$'
else
    T_BANNER_RE='^Dirigo Virtual Server version [0-9.]+ \(size=[0-9]+\)$'
fi

# t_ipvsadm ARGS...: Debian's ipvsadm driving this world's daemon through libdirigo-ipvs.so,
# bounded at 10 s. Needs DIRIGO_IPVS_LIB (t_init_ipvsadm checks it).
t_ipvsadm() {
    timeout 10 env LD_PRELOAD="${DIRIGO_IPVS_LIB:?DIRIGO_IPVS_LIB must name libdirigo-ipvs.so}" \
        DIRIGO_SOCKET="$W_SOCK" ipvsadm "$@"
}

# t_init_ipvsadm: fails unless the library is built; skips when ipvsadm is not installed.
t_init_ipvsadm() {
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    DIRIGO_IPVS_LIB=${DIRIGO_IPVS_LIB:-$root/build/ipvs/libdirigo-ipvs.so}
    export DIRIGO_IPVS_LIB
    if [[ ! -f $DIRIGO_IPVS_LIB ]]; then
        echo "FAIL: $DIRIGO_IPVS_LIB is not built"
        exit 1
    fi
    command -v ipvsadm >/dev/null || t_unavailable "ipvsadm is not installed"
}

if [[ $T_ADM_TOOL == ipvsadm ]]; then
    # world_adm (scripts/lib/world.sh) runs dirigoadm; here every command goes to ipvsadm.
    world_adm() {
        t_ipvsadm "$@"
    }
fi

# t_bail MESSAGE: a failure that makes the remaining checks meaningless.
t_bail() {
    t_fail "$1"
    world_dirigo_log_tail 60
    t_summary
}

# t_show TEXT: prints TEXT indented, for the log.
t_show() {
    printf '    | %s\n' "${1//$'\n'/$'\n'    | }"
}

# t_adm ARGS...: world_adm that also echoes the command (as the seeds show it) to the log.
t_adm() {
    echo "    # $T_ADM_TOOL $*"
    world_adm "$@"
}

# t_curl_n N [CURL_ARGS...]: N sequential requests to the VIP from the client; fills REPLIES
# ("ERR" for a failed one, whose curl error goes to the log).
REPLIES=()
t_curl_n() {
    local n=$1 i body
    shift
    REPLIES=()
    for ((i = 0; i < n; i++)); do
        body=$(world_curl "http://$W_VIP:$W_VPORT/" "$@" 2>"$W_TMP/curl.err") || body=""
        if [[ -z $body ]]; then
            t_show "request $((i + 1)) of $n to $W_VIP:$W_VPORT failed: $(head -c 300 "$W_TMP/curl.err")"
        fi
        REPLIES+=("${body:-ERR}")
    done
}

# t_alternates LIST...: succeeds when no two neighbours are equal (and none is ERR).
t_alternates() {
    local prev="" item
    for item in "$@"; do
        [[ $item != "$prev" && $item != ERR ]] || return 1
        prev=$item
    done
}

# t_all_same LIST...: succeeds when every item equals the first (and it is not ERR).
t_all_same() {
    local item
    [[ $# -gt 0 && $1 != ERR ]] || return 1
    for item in "$@"; do
        [[ $item == "$1" ]] || return 1
    done
}

# t_tally LIST...: "web1=N web2=M ..." for the servers of this world, plus "failed=K".
t_tally() {
    local i out="" n total=0
    for ((i = 1; i <= W_NRS; i++)); do
        n=$(t_count "web$i" "$@")
        total=$((total + n))
        out+="web$i=$n "
    done
    echo "${out}failed=$(($# - total))"
}

# t_warm_up N [CURL_ARGS...]: requests the VIP until N different servers answered (the director
# resolves them by ARP); bounded at 40 requests.
t_warm_up() {
    local want=$1 i body
    shift
    local -A seen=()
    for ((i = 0; i < 40 && ${#seen[@]} < want; i++)); do
        body=$(world_curl "http://$W_VIP:$W_VPORT/" "$@" 2>/dev/null) || body=""
        if [[ -n $body ]]; then
            seen[$body]=1
        else
            sleep 0.5
        fi
    done
    ((${#seen[@]} >= want))
}

# t_field LISTING REGEX COLUMN: the COLUMN-th whitespace-separated field (1-based) of the first
# line of LISTING matching the extended REGEX; empty when none matches.
t_field() {
    awk -v re="$2" -v col="$3" '$0 ~ re { print $col; exit }' <<<"$1"
}

# Holding connections open: t_hold_start TAG COUNT [OPTIONS] opens COUNT keep-alive connections
# to the VIP from the client namespace, one after the other (each answers a request before the
# next is opened, so the director has counted it ESTABLISHED), and keeps them all open until
# t_hold_stop TAG (or 60 s). It fills HELD with the body each connection got, in opening order.
# OPTIONS: --src ADDR (client address), --port PORT (virtual port, default $W_VPORT). The
# connections end with a reset (SO_LINGER 0), so the director forgets them after CLOSE's 10 s
# instead of TIME_WAIT's 120 s.
# shellcheck disable=SC2034  # read by the tests
HELD=()
t__write_holder() {
    [[ -f $W_TMP/hold.py ]] && return 0
    cat >"$W_TMP/hold.py" <<'PYEOF'
import argparse, os, socket, struct, sys, time
ap = argparse.ArgumentParser()
ap.add_argument("host"); ap.add_argument("port", type=int); ap.add_argument("count", type=int)
ap.add_argument("--src"); ap.add_argument("--stop-file", required=True)
ap.add_argument("--max", type=float, default=60.0); ap.add_argument("--gap", type=float, default=0.05)
a = ap.parse_args()
req = ("GET / HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\n\r\n" % a.host).encode()
socks = []
try:
    for i in range(a.count):
        s = socket.create_connection((a.host, a.port), timeout=5,
                                     source_address=(a.src, 0) if a.src else None)
        socks.append(s)
        s.sendall(req)
        buf = b""
        while b"\r\n\r\n" not in buf:
            c = s.recv(4096)
            if not c:
                raise ConnectionError("closed")
            buf += c
        head, _, body = buf.partition(b"\r\n\r\n")
        n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
        while len(body) < n:
            c = s.recv(4096)
            if not c:
                raise ConnectionError("closed")
            body += c
        print(body[:n].decode().strip(), flush=True)
        time.sleep(a.gap)
except Exception as e:  # report and keep what is open
    print("ERR %s" % e, flush=True)
print("HELD", flush=True)
end = time.time() + a.max
while time.time() < end and not os.path.exists(a.stop_file):
    time.sleep(0.05)
for s in socks:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
PYEOF
}

declare -A T_HOLD_PID=()
t_hold_start() {
    local tag=$1 count=$2 src="" port=$W_VPORT
    shift 2
    while (($#)); do
        case $1 in
        --src) src=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        *) echo "t_hold_start: unknown option $1" >&2; return 1 ;;
        esac
    done
    t__write_holder
    local out="$W_TMP/hold-$tag.out" stop="$W_TMP/hold-$tag.stop" i
    rm -f "$out" "$stop"
    : >"$out"
    ip netns exec "$W_NS_CLI" "$(world_python)" "$W_TMP/hold.py" "$W_VIP" "$port" "$count" \
        ${src:+--src "$src"} --stop-file "$stop" >"$out" 2>&1 &
    T_HOLD_PID[$tag]=$!
    W_PIDS+=("$!")
    for ((i = 0; i < 300; i++)); do
        grep -q '^HELD' "$out" && break
        sleep 0.05
    done
    # shellcheck disable=SC2034  # read by the tests
    mapfile -t HELD < <(grep -v '^HELD' "$out")
}

t_hold_stop() {
    local tag=$1 pid=${T_HOLD_PID[$1]:-}
    touch "$W_TMP/hold-$tag.stop"
    [[ -n $pid ]] || return 0
    timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "T_HOLD_PID[$tag]"
}

# t_wait_until SECONDS CMD...: runs CMD every 0.5 s until it succeeds or SECONDS pass.
t_wait_until() {
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.5
    done
}

# t_get_rst [--src ADDR] [--port PORT]: one request on a fresh connection that the client then
# resets (SO_LINGER 0) instead of closing; prints the body ("ERR ..." on failure). The director
# then keeps the connection in CLOSE (10 s) rather than TIME_WAIT (120 s, which `--set` does not
# change), so tests can wait for connections and persistence templates to expire.
t_get_rst() {
    local src="" port=$W_VPORT
    while (($#)); do
        case $1 in
        --src) src=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        *) echo "t_get_rst: unknown option $1" >&2; return 1 ;;
        esac
    done
    t__write_holder
    timeout 15 ip netns exec "$W_NS_CLI" "$(world_python)" "$W_TMP/hold.py" "$W_VIP" "$port" 1 \
        ${src:+--src "$src"} --stop-file "$W_TMP/none" --max 0 2>&1 | grep -v '^HELD' || true
}
