#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The two-director keepalived world that e2e_keepalived_vrrp and e2e_sync_nat/_dr share: its
# namespaces and links, the directors' dirigo and keepalived configurations, starting and stopping
# them, and small queries. Sourced after scripts/lib/world.sh and tests/e2e/common.sh; the caller
# sets W_ID, W_TMP, W_NS_CLI, W_NS_WAN, W_NS_LAN, NS_DIR (- dir1 dir2), SOCK, DPID, KPID (arrays
# indexed 1 and 2), EXT_IP, INT_IP, PRIO, STATE, VIP, GW, CLIENT and NRS, and owns the cleanup
# (its processes differ).
#
#   client ns  eth0 CLIENT/24 --- wan ns br0 --+-- dir1 ns ext0 (af_packet) ... int0 --+
#                                              +-- dir2 ns ext0 (af_packet) ... int0 --+
#   lan ns br0 --- rs1 .. rsN (default via GW) ----------------------------------------+
#
# Options of write_keepalived_config, read when it runs: KA_LB_KIND (default NAT), KA_FLOAT_GW
# (default 1: GW floats with the VIP on `int`), KA_GLOBAL_EXTRA (lines for global_defs).

# vrrp_world_directors: the client, the two bridges and the two directors' ports (isolated, as
# world_isolate_port makes them, so that only Dirigo's kernel interfaces answer).
vrrp_world_directors() {
    local ns br k
    for ns in "$W_NS_CLI" "$W_NS_WAN" "$W_NS_LAN" "${NS_DIR[1]}" "${NS_DIR[2]}"; do
        world_new_ns "$ns"
    done
    for br in "$W_NS_WAN" "$W_NS_LAN"; do
        ip -n "$br" link add br0 type bridge stp_state 0 forward_delay 0
        ip -n "$br" link set br0 up
    done
    world_veth "$W_NS_CLI" eth0 "$W_NS_WAN" cli
    ip -n "$W_NS_WAN" link set cli master br0
    for k in 1 2; do
        ns=${NS_DIR[k]}
        world_exec "$ns" sysctl -qw net.ipv4.ip_forward=0
        world_veth "$ns" ext0 "$W_NS_WAN" "dir$k"
        world_veth "$ns" int0 "$W_NS_LAN" "dir$k"
        ip -n "$W_NS_WAN" link set "dir$k" master br0
        ip -n "$W_NS_LAN" link set "dir$k" master br0
        world_isolate_port "$ns" ext0
        world_isolate_port "$ns" int0
    done
    ip -n "$W_NS_CLI" addr add "$CLIENT/24" dev eth0
}

# vrrp_world_servers: NRS real servers on the lan bridge, default route via GW.
vrrp_world_servers() {
    local i ns
    for ((i = 1; i <= NRS; i++)); do
        ns="$W_ID-rs$i"
        W_NS_RS+=("$ns")
        world_new_ns "$ns"
        world_veth "$W_NS_LAN" "rs$i" "$ns" eth0
        ip -n "$W_NS_LAN" link set "rs$i" master br0
        ip -n "$ns" addr add "$(world_rs_ip "$i")/24" dev eth0
        ip -n "$ns" route add default via "$GW"
    done
}

# write_dirigo_config K: director K's own addresses only; keepalived adds and removes the VIP
# (and the gateway).
write_dirigo_config() {
    local k=$1
    cat >"$W_TMP/dirigo$k.cfg" <<CFG
# Director $k: its own addresses only; keepalived adds and removes the VIP (and the gateway).
eal = [ "-l", "0-1", "--no-pci", "--no-huge", "-m", "512", "--file-prefix", "$W_ID-$k",
        "--vdev=net_af_packet0,iface=ext0", "--vdev=net_af_packet1,iface=int0" ];
control = { socket = "${SOCK[k]}"; };
ports = (
  { name = "ext"; device = "net_af_packet0"; addresses = [ "${EXT_IP[k]}/24" ]; },
  { name = "int"; device = "net_af_packet1"; addresses = [ "${INT_IP[k]}/24" ]; }
);
routes = ( );
services = ( );
dataplane = { poll = "${DIRIGO_POLL:-adaptive}"; };
CFG
}

# write_keepalived_config K: seed 004's keepalived.conf, adapted: VRRP on the `ext` kernel
# interface, the inside gateway as a second virtual address (KA_FLOAT_GW), and the
# virtual_server block with small checker timers.
write_keepalived_config() {
    local k=$1 i
    {
        echo "global_defs {"
        echo "    router_id LVS_DIR$k"
        [[ -n ${KA_GLOBAL_EXTRA:-} ]] && echo "    $KA_GLOBAL_EXTRA"
        cat <<KA
}
vrrp_instance VI_1 {
    state ${STATE[k]}
    interface ext
    virtual_router_id 51
    priority ${PRIO[k]}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        $VIP/32 dev ext
KA
        [[ ${KA_FLOAT_GW:-1} == 1 ]] && echo "        $GW/32 dev int"
        cat <<KA
    }
}
virtual_server $VIP 80 {
    delay_loop 2
    lb_algo rr
    lb_kind ${KA_LB_KIND:-NAT}
    protocol TCP
KA
        for ((i = 1; i <= NRS; i++)); do
            cat <<KA
    real_server $(world_rs_ip "$i") 80 {
        weight 1
        TCP_CHECK {
            connect_port 80
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
KA
        done
        echo "}"
    } >"$W_TMP/keepalived$k.conf"
}

# start_dirigo K: director K's daemon, waiting (bounded) for its control socket.
start_dirigo() {
    local k=$1 deadline
    rm -f "${SOCK[k]}"
    ip netns exec "${NS_DIR[k]}" "$DIRIGO" -c "$W_TMP/dirigo$k.cfg" >>"$W_TMP/dirigo$k.log" 2>&1 &
    DPID[k]=$!
    deadline=$((SECONDS + W_START_TIMEOUT))
    while [[ ! -S ${SOCK[k]} ]]; do
        if ! kill -0 "${DPID[k]}" 2>/dev/null || ((SECONDS >= deadline)); then
            world_log "dirigo $k did not start; its log:"
            tail -30 "$W_TMP/dirigo$k.log" >&2
            return 1
        fi
        sleep 0.2
    done
}

# start_keepalived K: keepalived in the foreground (-n: $! is keepalived itself), logging to the
# console (-l -D), with pid files of its own (-p -r -c), in the director's namespace, the library
# preloaded.
start_keepalived() {
    local k=$1
    ip netns exec "${NS_DIR[k]}" env LD_PRELOAD="$DIRIGO_IPVS_LIB" DIRIGO_SOCKET="${SOCK[k]}" \
        keepalived -n -l -D -f "$W_TMP/keepalived$k.conf" -p "$W_TMP/keepalived$k.pid" \
        -r "$W_TMP/vrrp$k.pid" -c "$W_TMP/checkers$k.pid" >>"$W_TMP/keepalived$k.log" 2>&1 &
    # shellcheck disable=SC2034  # the caller's array
    KPID[k]=$!
}

# stop_pid PID [SIG]: signals PID (TERM by default), waits at most 15 s, then kills it.
stop_pid() {
    local pid=$1 sig=${2:-TERM}
    [[ -n $pid ]] || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    timeout 15 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

adm() { local k=$1; shift; timeout 10 "$DIRIGOADM" --socket "${SOCK[k]}" "$@"; }
holds() { ip -n "${NS_DIR[$1]}" -4 addr show dev "$2" 2>/dev/null | grep -q "inet $3/32"; }
mac_of() { ip -n "${NS_DIR[$1]}" link show dev ext0 | awk '/link\/ether/ { print $2 }'; }
client_mac() { ip -n "$W_NS_CLI" neigh show "$VIP" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'; }
now_ms() { date +%s%3N; }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
# shellcheck disable=SC2317  # run through eval
services_up() { [[ $(adm "$1" -S -n 2>/dev/null | grep -c '^-a -t') == "$NRS" ]]; }
