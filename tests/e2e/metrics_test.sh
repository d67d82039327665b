#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End to end, the operations interfaces of docs/operations.md: the Prometheus endpoint scraped by
# the real `prometheus` server and read back through its query API (PromQL), the endpoint's
# answers to bad requests, and the /dirigo/... DPDK telemetry commands read with DPDK's own
# dpdk-telemetry.py, all while real curls go through a NAT service.
#
# Usage: metrics_test.sh [DIRIGO [DIRIGOADM]]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/world.sh
source "$ROOT/scripts/lib/world.sh"
T_NAME=e2e_metrics
# shellcheck source=tests/e2e/common.sh
source "$HERE/common.sh"
t_init_bins "$@"
for tool in prometheus dpdk-telemetry.py; do
    command -v "$tool" >/dev/null 2>&1 || t_unavailable "needs '$tool' (run scripts/setup)"
done

METRICS=127.0.0.1:9180
PROM=127.0.0.1:9090
N_CURLS=20

world_install_trap
world_create 2
world_start_servers
W_EXTRA_CONFIG="metrics = { listen = \"$METRICS\"; };"
world_write_config
world_start_dirigo "$DIRIGO" || t_bail "dirigo starts"
t_pass "dirigo starts with metrics = { listen = \"$METRICS\"; }"
PY=$(world_python)
VS="$W_VIP:$W_VPORT"

# The endpoint lives in the director's namespace, like the daemon.
dcurl() { world_exec "$W_NS_DIR" curl -sS --max-time 5 "$@"; }
scrape() { dcurl "http://$METRICS/metrics"; }
# metric TEXT LINE_PREFIX: the value of the first sample line of TEXT starting with LINE_PREFIX.
metric() { awk -v p="$2" 'index($0, p) == 1 { print $NF; exit }' <<<"$1"; }
# sum_of TEXT NAME: the sum over every sample of the family NAME.
sum_of() { awk -v n="$2" '$1 ~ "^"n"({|$)" { s += $NF } END { print s + 0 }' <<<"$1"; }

world_adm -A -t "$VS" -s rr
world_adm -a -t "$VS" -r "$(world_rs_ip 1):80" -m
world_adm -a -t "$VS" -r "$(world_rs_ip 2):80" -m -w 2
t_warm_up 2 || t_bail "both real servers answer through the VIP"

# ---- the endpoint itself ------------------------------------------------------------------------
hdrs=$(dcurl -D - -o /dev/null "http://$METRICS/metrics")
t_show "$(head -n 4 <<<"$hdrs")"
t_expect "GET /metrics: 200 with the text format's Content-Type" "$(
    grep -q '^HTTP/1.1 200 OK' <<<"$hdrs" &&
        grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' <<<"$hdrs" && echo 1
)"
m=$(scrape)
rs1="{local_address=\"$W_VIP\",local_mark=\"\",local_port=\"80\",proto=\"TCP\",remote_address=\"$(world_rs_ip 1)\",remote_port=\"80\"}"
rs2="{local_address=\"$W_VIP\",local_mark=\"\",local_port=\"80\",proto=\"TCP\",remote_address=\"$(world_rs_ip 2)\",remote_port=\"80\"}"
t_show "$(grep -E '^node_ipvs_(connections_total|backend_weight)' <<<"$m")"
t_expect "node_exporter's names and labels: node_ipvs_backend_weight is 1 and 2 for the two servers" "$(
    [[ $(metric "$m" "node_ipvs_backend_weight$rs1 ") == 1 &&
        $(metric "$m" "node_ipvs_backend_weight$rs2 ") == 2 ]] && echo 1
)"
t_expect "every node_exporter IPVS family is there, typed as node_exporter types it" "$(
    ok=1
    for f in connections_total:counter incoming_packets_total:counter \
        outgoing_packets_total:counter incoming_bytes_total:counter outgoing_bytes_total:counter \
        backend_connections_active:gauge backend_connections_inactive:gauge backend_weight:gauge; do
        grep -qx "# TYPE node_ipvs_${f%%:*} ${f##*:}" <<<"$m" || ok=0
    done
    echo $ok
)"

# ---- bad requests: a clear status, and the daemon keeps serving -----------------------------------
status_of() { dcurl -o /dev/null -w '%{http_code}' "$@" || true; }
# raw BYTES: sends BYTES (printf %b escapes) on a fresh connection; prints the status line.
raw() {
    world_exec "$W_NS_DIR" timeout 10 bash -c 'exec 3<>"/dev/tcp/${1%:*}/${1##*:}" &&
        printf "%b" "$2" >&3 && head -n 1 <&3' _ "$METRICS" "$1" | tr -d '\r' || true
}
t_expect "POST /metrics: 405" "$([[ $(status_of -X POST -d x "http://$METRICS/metrics") == 405 ]] && echo 1)"
t_expect "GET /nothing: 404" "$([[ $(status_of "http://$METRICS/nothing") == 404 ]] && echo 1)"
r=$(raw 'garbage\r\n\r\n')
t_expect "a malformed request line: 400 ($r)" "$([[ $r == 'HTTP/1.1 400 Bad Request' ]] && echo 1)"
r=$(raw 'GET /metrics HTTP/3.0\r\n\r\n')
t_expect "HTTP/3.0: 505 ($r)" "$([[ $r == 'HTTP/1.1 505 HTTP Version Not Supported' ]] && echo 1)"
big=$(head -c 9000 /dev/zero | tr '\0' a)
r=$(raw "GET /metrics HTTP/1.1\r\nX-Big: $big\r\n\r\n")
t_expect "a 9000-byte header: 431 ($r)" "$([[ $r == 'HTTP/1.1 431 Request Header Fields Too Large' ]] && echo 1)"
t_expect "dirigo still runs and answers after the bad requests" "$(
    kill -0 "$W_DIRIGO_PID" 2>/dev/null && world_adm -L -n >/dev/null && [[ -n $(scrape) ]] && echo 1
)"

# ---- gauges and Dirigo's own metrics move with traffic ---------------------------------------------
t_hold_start one 1
m=$(scrape)
t_expect "one held keep-alive connection: sum(node_ipvs_backend_connections_active) = 1" "$(
    [[ ${#HELD[@]} == 1 && $(sum_of "$m" node_ipvs_backend_connections_active) == 1 ]] && echo 1
)"
t_hold_stop one
# A port of the VIP with no service is the director's kernel's (docs/host-integration.md): the SYN
# goes up the exception path and the kernel answers with a RST.
up0=$(metric "$(scrape)" 'dirigo_exception_path_to_kernel_packets_total ')
world_curl "http://$W_VIP:81/" --connect-timeout 1 --max-time 1 >/dev/null 2>&1 || true
t_wait_until 10 bash -c "[[ \$(ip netns exec $W_NS_DIR curl -s http://$METRICS/metrics | awk 'index(\$0, \"dirigo_exception_path_to_kernel_packets_total \") == 1 { print \$NF }') -gt ${up0:-0} ]]" &&
    t_pass "a SYN to port 81 (no service: the kernel's) moves dirigo_exception_path_to_kernel_packets_total from $up0" ||
    t_fail "a SYN to port 81 (no service: the kernel's) moves dirigo_exception_path_to_kernel_packets_total from $up0"
t_expect "per-port, per-worker and connection-table metrics are there" "$(
    [[ $(metric "$m" 'dirigo_port_rx_packets_total{device="net_af_packet0",port="ext"} ') -gt 0 &&
        $(metric "$m" 'dirigo_worker_rx_packets_total{lcore="1",worker="0"} ') -gt 0 &&
        $(metric "$m" 'dirigo_conntrack_capacity{lcore="1",worker="0"} ') -gt 0 &&
        -n $(metric "$m" 'dirigo_conntrack_entries{lcore="1",worker="0"} ') ]] && echo 1
)"

# ---- the real Prometheus ---------------------------------------------------------------------------
cat >"$W_TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: dirigo
    static_configs:
      - targets: ["$METRICS"]
YML
ip netns exec "$W_NS_DIR" prometheus --config.file="$W_TMP/prometheus.yml" \
    --storage.tsdb.path="$W_TMP/prom-data" --web.listen-address="$PROM" \
    >"$W_TMP/prometheus.log" 2>&1 &
W_PIDS+=("$!")
# promql QUERY: the value of the query's first result (empty when there is none).
promql() {
    dcurl "http://$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
        "$PY" -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null || true
}
prom_is() { [[ $(promql "$1") == "$2" ]]; }
if ! t_wait_until 60 prom_is 'up{job="dirigo"}' 1; then
    tail -n 20 "$W_TMP/prometheus.log" >&2
    t_bail "prometheus scrapes dirigo (up{job=\"dirigo\"} == 1)"
fi
t_pass "prometheus $(prometheus --version 2>&1 | awk 'NR == 1 { print $3 }') scrapes dirigo: up{job=\"dirigo\"} == 1"

# Baseline: no traffic now, so once Prometheus holds the value the endpoint shows, it is stable.
c0=$(metric "$(scrape)" 'node_ipvs_connections_total ')
t_wait_until 30 prom_is node_ipvs_connections_total "$c0" ||
    t_bail "prometheus sees node_ipvs_connections_total = $c0 (it has $(promql node_ipvs_connections_total))"
t0=$(date +%s.%N)
t_curl_n "$N_CURLS"
t_expect "$N_CURLS curls through the VIP ($(t_tally "${REPLIES[@]}"))" \
    "$([[ $(t_count ERR "${REPLIES[@]}") == 0 ]] && echo 1)"
c1=$(metric "$(scrape)" 'node_ipvs_connections_total ')
t_expect "the endpoint: node_ipvs_connections_total went from $c0 to $c1 (+$N_CURLS)" \
    "$([[ $((c1 - c0)) == "$N_CURLS" ]] && echo 1)"
q="node_ipvs_connections_total - node_ipvs_connections_total @ $t0"
t_wait_until 30 prom_is "$q" "$N_CURLS" || true
t_expect "PromQL '$q' = $N_CURLS (got '$(promql "$q")')" "$(prom_is "$q" "$N_CURLS" && echo 1)"
q="sum(dirigo_backend_connections_total{local_address=\"$W_VIP\"}) - sum(dirigo_backend_connections_total{local_address=\"$W_VIP\"} @ $t0)"
t_wait_until 10 prom_is "$q" "$N_CURLS" || true
t_expect "PromQL: the real servers' connection counters rose by $N_CURLS in total (got '$(promql "$q")')" \
    "$(prom_is "$q" "$N_CURLS" && echo 1)"
q="count(node_ipvs_backend_weight{local_address=\"$W_VIP\",local_port=\"80\",proto=\"TCP\",local_mark=\"\"})"
t_expect "PromQL: $q = 2" "$(prom_is "$q" 2 && echo 1)"
q="sum(node_ipvs_backend_connections_inactive)"
v=$(promql "$q")
t_expect "PromQL: $q = $v, at least the $N_CURLS closed connections in TIME_WAIT" \
    "$([[ -n $v ]] && ((v >= N_CURLS)) && echo 1)"
q="node_ipvs_incoming_packets_total - node_ipvs_incoming_packets_total @ $t0"
v=$(promql "$q")
t_expect "PromQL: $q = $v, at least 3 packets a connection" \
    "$([[ -n $v ]] && ((v >= 3 * N_CURLS)) && echo 1)"

# ---- DPDK telemetry ---------------------------------------------------------------------------------
# telemetry CMD...: dpdk-telemetry.py's answers to CMDs, one JSON object per line.
telemetry() {
    printf '%s\n' "$@" | timeout 20 dpdk-telemetry.py -f "$W_PREFIX" 2>&1 | grep '^{' || true
}
# (One command of each name here: tjson merges the answers by command.)
tel=$(telemetry / /dirigo/services "/dirigo/service,TCP:$VS" /dirigo/drops /dirigo/exception_path /dirigo/info \
    /dirigo/workers /dirigo/worker,0 /dirigo/ports /dirigo/port,ext)
t_show "$tel"
tjson() { "$PY" -c "import json,sys
objs = [json.loads(l) for l in sys.stdin.read().splitlines()]
d = {k: v for o in objs for k, v in o.items()}
$1" <<<"$tel"; }
t_expect "telemetry '/': the /dirigo/ commands are listed next to DPDK's own" "$(
    tjson 'c = d["/"]; print(1 if "/dirigo/services" in c and "/dirigo/workers" in c and "/dirigo/drops" in c and "/ethdev/list" in c else 0)'
)"
t_expect "telemetry /dirigo/services lists TCP:$VS" "$(
    tjson "print(1 if d['/dirigo/services'] == ['TCP:$VS'] else 0)"
)"
t_expect "telemetry /dirigo/service,TCP:$VS: rr, both real servers, at least $N_CURLS connections" "$(
    tjson "s = d['/dirigo/service']; print(1 if s['scheduler'] == 'rr' and sorted(s['servers']) == ['$(world_rs_ip 1):80', '$(world_rs_ip 2):80'] and s['conns'] >= $N_CURLS else 0)"
)"
t_expect "telemetry /dirigo/drops lists every reason, the exception path's too" "$(
    tjson "print(1 if 'no_service' in d['/dirigo/drops'] and 'host_rate_limited' in d['/dirigo/drops'] else 0)"
)"
t_expect "telemetry /dirigo/exception_path counts the SYN passed up to the kernel" "$(
    tjson "print(1 if d['/dirigo/exception_path']['to_kernel_packets'] >= 1 else 0)"
)"
t_expect "telemetry /dirigo/info: the version and one worker" "$(
    tjson "i = d['/dirigo/info']; print(1 if i['version'] == '$("$DIRIGO" --version | awk '{print $2}')' and i['workers'] == 1 and i['conns'] >= $N_CURLS else 0)"
)"
t_expect "telemetry /dirigo/worker,0 and /dirigo/port,ext answer with counters" "$(
    tjson "print(1 if d['/dirigo/workers'] == [0] and d['/dirigo/worker']['rx_packets'] > 0 and d['/dirigo/port']['device'] == 'net_af_packet0' else 0)"
)"
tel=$(telemetry "/dirigo/service,TCP:10.9.9.9:1" "/dirigo/service,nonsense" /dirigo/worker,abc)
t_expect "telemetry: an unknown service or a bad parameter gets null" "$(
    [[ $(grep -c ': null}' <<<"$tel") == 3 ]] && echo 1
)"
# A change is visible at once: the telemetry thread asks control for a fresh copy.
world_adm -A -u "$W_VIP:53" -s wlc
tel=$(telemetry /dirigo/services)
t_expect "telemetry sees a service added a moment ago (UDP:$W_VIP:53)" "$(
    grep -q "\"UDP:$W_VIP:53\"" <<<"$tel" && echo 1
)"

t_check "dirigo stops on SIGTERM, with status 0, removing its socket" world_stop_dirigo
t_summary
