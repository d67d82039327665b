# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# world.sh: a throw-away network-namespace world for running Dirigo end to end.
#
#   client ns   eth0 10.0.0.2/24, default via 10.0.0.1
#       | veth
#   director ns ext0 ........ int0      (no kernel address: DPDK's af_packet owns them)
#                               | veth
#   lan ns      bridge br0: ports dir, rs1, rs2, ...
#       | veth (one per real server)
#   rsN ns      eth0 172.16.0.(10+N)/24, default via 172.16.0.1, HTTP server answering "webN"
#
# `world_create N router` builds the DR/TUN variant instead: the client's network becomes a bridge
# (wan ns) shared by the client, the director's ext0 and a router namespace (rtr ns: 10.0.0.254 on
# the client side, 172.16.0.254 on the servers' lan, forwarding on), so that real servers can send
# their replies straight to the client through the router, bypassing the director:
#
#   client ns  eth0 10.0.0.2/24 --+
#                                 wan ns br0 -- director ext0 ... int0 -- lan ns br0 -- rsN ns
#   rtr ns     wan0 10.0.0.254 ---+                                          |
#              lan0 172.16.0.254 --------------------------------------------+
#
# world_rs_dr / world_rs_tun then turn real servers into LVS/DR or LVS/TUN servers (VIP on lo or
# tunl0, ARP kept quiet, default route via the router); world_add_clients gives the client extra
# addresses (10.0.0.3, ...) so tests can act as several clients.
#
# Every name carries a per-run id (W_ID), so several worlds can exist side by side. Every veth has
# its checksum and segmentation offloads off: af_packet hands the director frames exactly as they
# are on the wire, and a CHECKSUM_PARTIAL frame forwarded by DPDK would reach the far side with a
# bad checksum. IPv6 is off in every namespace so no router or neighbour solicitation adds noise.
#
# Use:
#   source scripts/lib/world.sh
#   world_install_trap            # tears the world down on exit, Ctrl-C, TERM or failure
#   world_create 2                # two real servers
#   world_start_servers
#   world_write_config
#   world_start_dirigo build/dirigo
#   world_adm -A -t 10.0.0.100:80 -s rr
#   world_curl http://10.0.0.100/
#
# The caller runs under `set -euo pipefail`. Functions return non-zero on failure and print why
# on stderr; every wait is bounded.

# ip, ethtool and sysctl live in sbin, which a non-login root shell may not have on its PATH.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH="$PATH:/usr/sbin:/sbin" ;;
esac

W_VIP=10.0.0.100
W_VPORT=80
W_CLIENT_IP=10.0.0.2
W_EXT_IP=10.0.0.1
W_EXT_GW=10.0.0.254
W_INT_IP=172.16.0.1
W_RTR_WAN_IP=10.0.0.254
W_RTR_LAN_IP=172.16.0.254

W_ID=""
W_TMP=""
W_NS_CLI=""
W_NS_DIR=""
W_NS_LAN=""
W_NS_RS=()
W_NRS=0
W_NS_WAN=""
W_NS_RTR=""
W_CLIENT_IPS=()
# Address the real servers' HTTP servers bind to: empty means the server's own address (NAT);
# DR and TUN servers receive packets addressed to the VIP, so world_rs_dr/_tun set 0.0.0.0.
W_RS_BIND=""
# How world_rs_tun decapsulates: "kernel" (the ipip module's tunl0) or "userspace" (a helper
# that emulates tunl0 with a TUN device, on kernels built without CONFIG_NET_IPIP).
W_TUN_MODE=""
W_PIDS=()
W_DIRIGO_PID=""
W_DIRIGO_LOG=""
W_CONFIG=""
W_SOCK=""
W_PREFIX=""
W_DESTROYED=0

# Seconds to wait for the daemon's socket; DPDK start-up with --no-huge -m 512 takes a few.
W_START_TIMEOUT=${W_START_TIMEOUT:-60}

world_log() {
    printf '[world %s] %s\n' "${W_ID:-?}" "$*" >&2
}

# The Python that serves HTTP and runs helpers: Debian's, when present, for predictability.
world_python() {
    if [[ -x /usr/bin/python3 ]]; then
        printf '%s\n' /usr/bin/python3
    else
        command -v python3
    fi
}

# Real server i's address (1-based).
world_rs_ip() {
    printf '172.16.0.%d\n' "$((10 + $1))"
}

# Succeeds when this process can build worlds (root, iproute2, network namespaces). On failure,
# prints the reason on stderr, so callers can skip (meson's exit code 77).
world_can_run() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "needs root (network namespaces, af_packet)" >&2
        return 1
    fi
    local tool
    for tool in ip ethtool curl timeout; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "needs '$tool' (run scripts/setup)" >&2
            return 1
        fi
    done
    local probe="dgprobe-$$-$RANDOM"
    if ! ip netns add "$probe" 2>/dev/null; then
        echo "cannot create network namespaces here" >&2
        return 1
    fi
    ip netns del "$probe" 2>/dev/null || true
    return 0
}

# Runs a command inside a namespace of this world. To start one in the background and keep its
# pid, call `ip netns exec NS CMD... &` directly: a function run with & is a subshell, so $! would
# be that subshell's pid, not the command's.
world_exec() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

world_new_ns() {
    local ns=$1
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    world_exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    world_exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
}

# Turns off every offload that would let a frame on the wire differ from what af_packet sees.
world_no_offload() {
    local ns=$1 ifname=$2
    # Some features are fixed on some kernels; what can be turned off, is.
    world_exec "$ns" ethtool -K "$ifname" rx off tx off tso off gso off gro off >/dev/null 2>&1 ||
        world_exec "$ns" ethtool -K "$ifname" tx off tso off gso off gro off >/dev/null 2>&1 ||
        world_log "warning: could not turn offloads off on $ns/$ifname"
}

# world_veth NS_A IF_A NS_B IF_B: a veth pair between two namespaces, offloads off, IPv6 off, up.
world_veth() {
    local ns_a=$1 if_a=$2 ns_b=$3 if_b=$4
    ip -n "$ns_a" link add "$if_a" type veth peer name "$if_b" netns "$ns_b"
    local pair
    for pair in "$ns_a $if_a" "$ns_b $if_b"; do
        local ns=${pair% *} ifname=${pair#* }
        world_exec "$ns" sysctl -qw "net.ipv6.conf.$ifname.disable_ipv6=1" 2>/dev/null || true
        world_no_offload "$ns" "$ifname"
        ip -n "$ns" link set "$ifname" up
    done
}

# world_isolate_port NS IF: keeps the kernel of NS off interface IF, which DPDK's af_packet drives.
# af_packet only listens: the kernel also receives every frame on IF, and once the director's
# kernel interfaces hold addresses (the VIP on `ext`), Linux's weak host model would answer ARP
# and TCP for them on IF too (RSTs to the clients). A NIC that DPDK owns has no such twin. So:
# no ARP answers on IF (arp_ignore 8), and every IPv4 packet arriving on IF is blackholed by a
# policy rule that runs before the local table (af_packet has its copy already).
world_isolate_port() {
    local ns=$1 ifname=$2
    world_exec "$ns" sysctl -qw "net.ipv4.conf.$ifname.arp_ignore=8"
    if ! ip -n "$ns" rule show pref 10 | grep -q .; then
        # The local table's rule moves behind the blackhole rules (pref 0 -> 100).
        ip -n "$ns" rule add pref 100 table local
        ip -n "$ns" rule del pref 0 table local
    fi
    ip -n "$ns" rule add pref 10 iif "$ifname" blackhole
}

# world_create N [router]: builds the world with N real servers (1..200); with "router", the
# DR/TUN variant described at the top (wan bridge and router namespace).
world_create() {
    local n=${1:-2} topo=${2:-}
    if [[ -n $topo && $topo != router ]]; then
        echo "world_create: unknown topology '$topo' (only: router)" >&2
        return 1
    fi
    if ((n < 1 || n > 200)); then
        echo "world_create: real server count must be 1..200" >&2
        return 1
    fi
    W_ID=$(printf 'dg%x%04x' "$$" "$((RANDOM))")
    W_TMP=$(mktemp -d "/tmp/dirigo-$W_ID.XXXXXX")
    W_NS_CLI="$W_ID-cli"
    W_NS_DIR="$W_ID-dir"
    W_NS_LAN="$W_ID-lan"
    W_NRS=$n
    W_NS_RS=()
    W_NS_WAN=""
    W_NS_RTR=""
    W_CLIENT_IPS=("$W_CLIENT_IP")
    W_RS_BIND=""
    W_TUN_MODE=""
    W_SOCK="$W_TMP/dirigo.sock"
    W_PREFIX="$W_ID"
    W_DESTROYED=0
    world_log "creating: client, director, lan, $n real server(s)${topo:+, wan and router}; temp dir $W_TMP"

    world_new_ns "$W_NS_CLI"
    world_new_ns "$W_NS_DIR"
    world_new_ns "$W_NS_LAN"
    # The director's kernel must stay out of the way: no forwarding, no addresses on ext0/int0.
    world_exec "$W_NS_DIR" sysctl -qw net.ipv4.ip_forward=0

    if [[ $topo == router ]]; then
        W_NS_WAN="$W_ID-wan"
        W_NS_RTR="$W_ID-rtr"
        world_new_ns "$W_NS_WAN"
        world_new_ns "$W_NS_RTR"
        world_veth "$W_NS_CLI" eth0 "$W_NS_WAN" cli
        world_veth "$W_NS_DIR" ext0 "$W_NS_WAN" dir
        world_veth "$W_NS_RTR" wan0 "$W_NS_WAN" rtr
        ip -n "$W_NS_WAN" link add br0 type bridge stp_state 0 forward_delay 0
        local port
        for port in cli dir rtr; do
            ip -n "$W_NS_WAN" link set "$port" master br0
        done
        ip -n "$W_NS_WAN" link set br0 up
    else
        world_veth "$W_NS_CLI" eth0 "$W_NS_DIR" ext0
    fi
    world_veth "$W_NS_DIR" int0 "$W_NS_LAN" dir
    world_isolate_port "$W_NS_DIR" ext0
    world_isolate_port "$W_NS_DIR" int0

    ip -n "$W_NS_LAN" link add br0 type bridge stp_state 0 forward_delay 0
    ip -n "$W_NS_LAN" link set dir master br0
    ip -n "$W_NS_LAN" link set br0 up

    if [[ $topo == router ]]; then
        # The router: an ordinary Linux router between the client's network and the lan. Reverse
        # path filtering off: DR/TUN replies come from the VIP, an address of the client's side.
        world_veth "$W_NS_RTR" lan0 "$W_NS_LAN" rtr
        ip -n "$W_NS_LAN" link set rtr master br0
        ip -n "$W_NS_RTR" addr add "$W_RTR_WAN_IP/24" dev wan0
        ip -n "$W_NS_RTR" addr add "$W_RTR_LAN_IP/24" dev lan0
        local key
        for key in net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
            net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.wan0.rp_filter=0 \
            net.ipv4.conf.lan0.rp_filter=0; do
            world_exec "$W_NS_RTR" sysctl -qw "$key"
        done
    fi

    ip -n "$W_NS_CLI" addr add "$W_CLIENT_IP/24" dev eth0
    ip -n "$W_NS_CLI" route add default via "$W_EXT_IP"

    local i ns
    for ((i = 1; i <= n; i++)); do
        ns="$W_ID-rs$i"
        W_NS_RS+=("$ns")
        world_new_ns "$ns"
        world_veth "$W_NS_LAN" "rs$i" "$ns" eth0
        ip -n "$W_NS_LAN" link set "rs$i" master br0
        ip -n "$ns" addr add "$(world_rs_ip "$i")/24" dev eth0
        ip -n "$ns" route add default via "$W_INT_IP"
    done
}

# world_start_servers [PORT...]: starts one HTTP/1.1 server per real server and port (default:
# $W_VPORT only; keep-alive capable, so a test can hold one connection open). On $W_VPORT server i
# serves an index.html reading "web<i>"; on any other port, "web<i>:<port>", so a test can tell
# which port a request reached. They bind the server's own address, or $W_RS_BIND when set.
# shellcheck disable=SC2120  # the arguments are optional
world_start_servers() {
    local py i dir port bind log ports=("$@")
    ((${#ports[@]})) || ports=("$W_VPORT")
    py=$(world_python)
    for port in "${ports[@]}"; do
        for ((i = 1; i <= W_NRS; i++)); do
            if [[ $port == "$W_VPORT" ]]; then
                dir="$W_TMP/www$i"
                mkdir -p "$dir"
                printf 'web%d\n' "$i" >"$dir/index.html"
            else
                dir="$W_TMP/www$i-$port"
                mkdir -p "$dir"
                printf 'web%d:%d\n' "$i" "$port" >"$dir/index.html"
            fi
            bind=${W_RS_BIND:-$(world_rs_ip "$i")}
            log="$W_TMP/http$i-$port.log"
            [[ $port == "$W_VPORT" ]] && log="$W_TMP/http$i.log"
            ip netns exec "${W_NS_RS[i - 1]}" "$py" -m http.server "$port" \
                --bind "$bind" --directory "$dir" --protocol HTTP/1.1 \
                >"$log" 2>&1 &
            W_PIDS+=("$!")
        done
    done
    # Ready when each answers inside its own namespace; bounded at about 10 s per server.
    local tries
    for port in "${ports[@]}"; do
        for ((i = 1; i <= W_NRS; i++)); do
            for ((tries = 0; ; tries++)); do
                if world_exec "${W_NS_RS[i - 1]}" curl -s --max-time 1 \
                    "http://$(world_rs_ip "$i"):$port/" >/dev/null 2>&1; then
                    break
                fi
                if ((tries >= 50)); then
                    world_log "HTTP server $i (port $port) did not start:"
                    cat "$W_TMP"/http"$i"*.log >&2 || true
                    return 1
                fi
                sleep 0.2
            done
        done
    done
    local plural=""
    ((${#ports[@]} > 1)) && plural=s
    world_log "HTTP servers up on $(world_rs_ip 1)..$(world_rs_ip "$W_NRS") port$plural ${ports[*]}"
}

# world_add_clients N: gives the client N-1 more addresses (10.0.0.3, 10.0.0.4, ...), so a test
# can act as N clients (curl --interface ADDR); all of them are in W_CLIENT_IPS.
world_add_clients() {
    local n=$1 k ip
    for ((k = ${#W_CLIENT_IPS[@]}; k < n; k++)); do
        ip="10.0.0.$((2 + k))"
        ip -n "$W_NS_CLI" addr add "$ip/24" dev eth0
        W_CLIENT_IPS+=("$ip")
    done
}

# world__rs_list [I...]: the real server numbers given, or all of them.
world__rs_list() {
    if (($#)); then
        printf '%s\n' "$@"
    else
        seq 1 "$W_NRS"
    fi
}

# world_rs_dr [I...]: makes real servers (default: all) LVS/DR servers, as seed 003 does: the VIP
# on a loopback alias, ARP for it neither answered (arp_ignore=1) nor announced (arp_announce=2),
# and the default route through the router, not the director. Call before world_start_servers
# (the servers then listen on every address, the VIP included). Needs `world_create N router`.
# shellcheck disable=SC2120  # the arguments are optional
world_rs_dr() {
    if [[ -z $W_NS_RTR ]]; then
        echo "world_rs_dr: needs a world made with 'world_create N router'" >&2
        return 1
    fi
    local i ns key
    for i in $(world__rs_list "$@"); do
        ns=${W_NS_RS[i - 1]}
        ip -n "$ns" addr add "$W_VIP/32" dev lo
        for key in net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2 \
            net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2; do
            world_exec "$ns" sysctl -qw "$key"
        done
        ip -n "$ns" route replace default via "$W_RTR_LAN_IP"
    done
    W_RS_BIND=0.0.0.0
}

# The userspace stand-in for the kernel's ipip decapsulation (see world_rs_tun): receives every
# IP-in-IP packet addressed to this host on a raw IPPROTO_IPIP socket, strips the outer header and
# writes the inner packet into a TUN device named tunl0, where the kernel receives it exactly as
# if the ipip module's tunl0 had decapsulated it.
world__write_decap() {
    cat >"$W_TMP/ipip_decap.py" <<'PYEOF'
import fcntl, os, socket, struct, sys
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tunl0", IFF_TUN | IFF_NO_PI))
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)  # IPPROTO_IPIP: whole IPv4 packets
open(sys.argv[1], "w").close()  # ready
while True:
    pkt = raw.recv(65535)
    inner = pkt[(pkt[0] & 0x0F) * 4:]
    if len(inner) >= 20 and inner[0] >> 4 == 4:
        os.write(fd, inner)
PYEOF
}

# world_rs_tun [I...]: makes real servers (default: all) LVS/TUN servers: the VIP on tunl0 (the
# ipip module's catch-all tunnel, which decapsulates every IP-in-IP packet to this host), reverse
# path filtering off (inner packets come from the client, whose route is not tunl0), ARP quiet,
# default route through the router. Call before world_start_servers. Needs `world_create N router`.
#
# On a kernel with the ipip module, tunl0 exists in every namespace once the module is loaded; it
# is loaded here if it can be. A kernel built without CONFIG_NET_IPIP has no tunl0 at all: then a
# small userspace helper takes its place (world__write_decap), so the servers still receive the
# director's IP-in-IP packets and decapsulate them; W_TUN_MODE says which ("kernel"/"userspace").
# Fails (with the reason on stderr) only when neither is possible (no /dev/net/tun).
# shellcheck disable=SC2120  # the arguments are optional
world_rs_tun() {
    if [[ -z $W_NS_RTR ]]; then
        echo "world_rs_tun: needs a world made with 'world_create N router'" >&2
        return 1
    fi
    local i ns key tries py
    py=$(world_python)
    if [[ -z $W_TUN_MODE ]]; then
        ns=${W_NS_RS[0]}
        if ! ip -n "$ns" link show tunl0 >/dev/null 2>&1; then
            modprobe ipip >/dev/null 2>&1 || true
        fi
        if ip -n "$ns" link show tunl0 >/dev/null 2>&1; then
            W_TUN_MODE=kernel
        elif [[ -c /dev/net/tun ]]; then
            W_TUN_MODE=userspace
            world_log "this kernel has no ipip tunnel (CONFIG_NET_IPIP); tunl0 is emulated in userspace"
            world__write_decap
        else
            echo "world_rs_tun: the kernel has neither the ipip module (tunl0) nor /dev/net/tun" >&2
            return 1
        fi
    fi
    for i in $(world__rs_list "$@"); do
        ns=${W_NS_RS[i - 1]}
        if [[ $W_TUN_MODE == userspace ]]; then
            rm -f "$W_TMP/decap$i.ready"
            ip netns exec "$ns" "$py" "$W_TMP/ipip_decap.py" "$W_TMP/decap$i.ready" \
                >"$W_TMP/decap$i.log" 2>&1 &
            W_PIDS+=("$!")
            for ((tries = 0; ; tries++)); do
                [[ -e $W_TMP/decap$i.ready ]] && ip -n "$ns" link show tunl0 >/dev/null 2>&1 && break
                if ((tries >= 50)); then
                    world_log "the ipip helper of real server $i did not start:"
                    cat "$W_TMP/decap$i.log" >&2 || true
                    return 1
                fi
                sleep 0.1
            done
        fi
        ip -n "$ns" link set tunl0 up
        ip -n "$ns" addr add "$W_VIP/32" dev tunl0
        for key in net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.all.rp_filter=0 \
            net.ipv4.conf.tunl0.arp_ignore=1 net.ipv4.conf.tunl0.arp_announce=2 \
            net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2; do
            world_exec "$ns" sysctl -qw "$key"
        done
        ip -n "$ns" route replace default via "$W_RTR_LAN_IP"
    done
    W_RS_BIND=0.0.0.0
}

# world_write_config [EXTRA_EAL_ARGS...]: writes the daemon's config to $W_CONFIG (no services).
# DIRIGO_EAL_MEM (MiB, default 512) and DIRIGO_AFP_ARGS (extra af_packet devargs, default none)
# tune it; W_DATAPLANE_EXTRA adds settings inside its dataplane group (e.g. "mbufs = 8191;"). The worker polls adaptively (it sleeps when idle): the test machine has two cores and
# runs several directors plus their peers; DIRIGO_POLL=busy restores production's busy polling.
# shellcheck disable=SC2120  # the extra arguments are optional
world_write_config() {
    W_CONFIG="$W_TMP/dirigo.cfg"
    local mem=${DIRIGO_EAL_MEM:-512}
    local afp=${DIRIGO_AFP_ARGS:-}
    local extra="" arg
    for arg in "$@"; do
        extra+=", \"$arg\""
    done
    cat >"$W_CONFIG" <<EOF
# Generated by scripts/lib/world.sh for world $W_ID.
eal = [ "-l", "0-1", "--no-pci", "--no-huge", "-m", "$mem", "--file-prefix", "$W_PREFIX",
        "--vdev=net_af_packet0,iface=ext0$afp", "--vdev=net_af_packet1,iface=int0$afp"$extra ];
control = { socket = "$W_SOCK"; };
ports = (
  { name = "ext"; device = "net_af_packet0"; addresses = [ "$W_EXT_IP/24", "$W_VIP/32" ]; },
  { name = "int"; device = "net_af_packet1"; addresses = [ "$W_INT_IP/24" ]; }
);
routes = ( { prefix = "0.0.0.0/0"; via = "$W_EXT_GW"; } );
services = ( );
dataplane = { poll = "${DIRIGO_POLL:-adaptive}"; ${W_DATAPLANE_EXTRA:-} };
EOF
    # W_EXTRA_CONFIG: more top-level settings (e.g. metrics = { ... };), appended as they are.
    if [[ -n ${W_EXTRA_CONFIG:-} ]]; then
        printf '%s\n' "$W_EXTRA_CONFIG" >>"$W_CONFIG"
    fi
}

# world_start_dirigo BIN [CONFIG]: starts the daemon in the director namespace and waits (bounded)
# for its control socket. On failure prints the daemon's log.
world_start_dirigo() {
    local bin=$1 cfg=${2:-$W_CONFIG}
    if [[ ! -x $bin ]]; then
        echo "world_start_dirigo: '$bin' is not an executable" >&2
        return 1
    fi
    W_DIRIGO_LOG="$W_TMP/dirigo.log"
    world_log "starting $bin -c $cfg (log $W_DIRIGO_LOG)"
    # Not through world_exec: $! must be the daemon itself (ip netns exec execs it), not a subshell.
    ip netns exec "$W_NS_DIR" "$bin" -c "$cfg" >"$W_DIRIGO_LOG" 2>&1 &
    W_DIRIGO_PID=$!
    local deadline=$((SECONDS + W_START_TIMEOUT))
    while [[ ! -S $W_SOCK ]]; do
        if ! kill -0 "$W_DIRIGO_PID" 2>/dev/null; then
            local rc=0
            wait "$W_DIRIGO_PID" || rc=$?
            W_DIRIGO_PID=""
            world_log "dirigo exited with status $rc before opening $W_SOCK; its log:"
            sed 's/^/    /' "$W_DIRIGO_LOG" >&2 || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            world_log "dirigo did not open $W_SOCK within ${W_START_TIMEOUT}s; its log:"
            sed 's/^/    /' "$W_DIRIGO_LOG" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    world_log "dirigo up (pid $W_DIRIGO_PID)"
}

# Stops the daemon with SIGTERM and waits up to 15 s (then SIGKILL). Returns non-zero when it had
# to be killed, exited with a failure status, or left its socket behind.
world_stop_dirigo() {
    [[ -n $W_DIRIGO_PID ]] || return 0
    local pid=$W_DIRIGO_PID rc=0 status=0 i
    W_DIRIGO_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 75; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        world_log "dirigo (pid $pid) ignored SIGTERM for 15 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        rc=1
    fi
    wait "$pid" 2>/dev/null || status=$?
    if ((status != 0 && rc == 0)); then
        world_log "dirigo exited with status $status after SIGTERM"
        rc=1
    fi
    if [[ -S $W_SOCK ]]; then
        world_log "dirigo left its socket $W_SOCK behind"
        rm -f "$W_SOCK"
        rc=1
    fi
    ((rc == 0)) || world_dirigo_log_tail 30
    return "$rc"
}

# Prints the last lines of the daemon's log (for failure reports).
world_dirigo_log_tail() {
    local n=${1:-40}
    [[ -n $W_DIRIGO_LOG && -f $W_DIRIGO_LOG ]] || return 0
    echo "---- last $n lines of $W_DIRIGO_LOG ----" >&2
    tail -n "$n" "$W_DIRIGO_LOG" | sed 's/^/    /' >&2
    echo "----" >&2
}

# world_adm ARGS...: runs dirigoadm (${DIRIGOADM}) against this world's daemon, bounded at 10 s.
world_adm() {
    local adm=${DIRIGOADM:?DIRIGOADM must name the dirigoadm executable}
    timeout 10 "$adm" --socket "$W_SOCK" "$@"
}

# world_curl [URL [CURL_ARGS...]]: one request from the client namespace; prints the body.
world_curl() {
    local url=${1:-http://$W_VIP:$W_VPORT/}
    shift || true
    world_exec "$W_NS_CLI" curl -sS --connect-timeout 2 --max-time 4 "$@" "$url"
}

world_ping() {
    world_exec "$W_NS_CLI" ping -n -q -c "${2:-3}" -i 0.2 -W 1 "$1" >/dev/null
}

# Tears everything down; safe to call more than once and on a half-built world.
world_destroy() {
    ((W_DESTROYED)) && return 0
    W_DESTROYED=1
    [[ -n $W_ID ]] || return 0
    world_stop_dirigo || true
    local pid ns
    for pid in "${W_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${W_PIDS[@]}"; do
        timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    W_PIDS=()
    for ns in "$W_NS_CLI" "$W_NS_DIR" "$W_NS_LAN" "$W_NS_WAN" "$W_NS_RTR" "${W_NS_RS[@]}"; do
        [[ -n $ns ]] || continue
        ip netns list 2>/dev/null | grep -q "^$ns\b" || continue
        # Anything still inside one of this run's namespaces was started by this run.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$ns" 2>/dev/null || world_log "warning: could not delete namespace $ns"
    done
    if [[ -n $W_PREFIX && -d /var/run/dpdk/$W_PREFIX ]]; then
        rm -rf "/var/run/dpdk/${W_PREFIX:?}"
    fi
    if [[ -n $W_TMP && -d $W_TMP ]]; then
        if [[ -n ${W_KEEP_TMP:-} ]]; then
            world_log "kept $W_TMP"
        else
            rm -rf "${W_TMP:?}"
        fi
    fi
    world_log "torn down"
}

world__on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    world_destroy
    exit "$rc"
}

world__on_signal() {
    local rc=$1
    trap - EXIT INT TERM
    world_log "interrupted; tearing down"
    world_destroy
    exit "$rc"
}

# Installs traps so that the world is torn down on normal exit, failure (set -e), Ctrl-C and TERM.
world_install_trap() {
    trap world__on_exit EXIT
    trap 'world__on_signal 130' INT
    trap 'world__on_signal 143' TERM
}
