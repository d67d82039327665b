// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The control protocol between dirigoadm (or any client) and the daemon's control thread, over a
/// Unix stream socket. One request, one reply, in order; a client may send many requests on one
/// connection. Specified for other client writers in docs/control-protocol.md.
///
/// Frame: a 12-byte header, then `length` bytes of payload, all integers little-endian:
///   u32 magic "DRGO" (0x4f475244) | u16 version (kVersion) | u16 type (1 request, 2 reply) | u32 length
/// Payload fields are encoded by Writer and decoded by Reader: fixed-width little-endian integers,
/// strings and lists prefixed by a u32 count, every length checked against what remains and against
/// the per-field limits below. A frame whose header or payload does not decode gets an
/// Errc::Protocol reply (when the header was readable) and the connection is closed.
/// No DPDK types: the CLI links this without EAL.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/model.hpp"
#include "config/status.hpp"

namespace dirigo::ctl {

inline constexpr uint32_t kMagic = 0x4f475244;  // "DRGO" read as little-endian bytes
inline constexpr uint16_t kVersion = 4;  // 4: IPv6 services (af, addr6, prefix6)
inline constexpr size_t kHeaderSize = 12;
inline constexpr uint32_t kMaxPayload = 16u << 20;  // a -R of ~100k rules fits
inline constexpr uint32_t kMaxString = 4096;
inline constexpr uint32_t kMaxList = 1u << 20;
/// A decoded request takes sizeof(Request) however few bytes it had on the wire (a Clear is two):
/// a Batch may cost at most kBatchExpansion times the bytes it arrived in, plus kBatchSlack, so a
/// frame cannot make the daemon allocate many times its size. Real rules (an AddDest is 36 bytes,
/// a DelService 13, an AddMark at least 16) stay inside the bound: 13 x kBatchExpansion must
/// exceed sizeof(Request), which is 264 bytes since the Request carries a DaemonCfg and a
/// MarkRule (checked by protocol_test's BatchAllocationIsBoundedByTheFrame).
inline constexpr size_t kBatchExpansion = 32;
inline constexpr size_t kBatchSlack = 64 * 1024;

enum class MsgType : uint16_t { Request = 1, Reply = 2 };

/// Request operations. Numbers are wire values: never renumber, only append. Everything else
/// about an operation (its name, its payload, whether it changes rules) is its row in kOps below:
/// adding an operation is one enumerator, one row, and its handler in the daemon.
enum class Op : uint16_t {
    Ping = 0,
    AddService = 1,
    EditService = 2,
    DelService = 3,
    Clear = 4,
    AddDest = 5,
    EditDest = 6,
    DelDest = 7,
    Zero = 8,
    SetTimeouts = 9,
    GetTimeouts = 10,
    List = 11,
    ListConns = 12,
    Batch = 13,
    ListPorts = 14,
    ListWorkers = 15,
    ListNeighbours = 16,
    ListRoutes = 17,
    Version = 18,
    StartDaemon = 19,
    StopDaemon = 20,
    ListDaemons = 21,
    AddMark = 22,
    DelMark = 23,
    ListMarks = 24,
};

/// What follows the op in a request's payload; the codec reads and writes each shape in one place.
enum class Body : uint8_t {
    None,         ///< nothing
    Service,      ///< a whole service (its `servers` are not sent)
    Key,          ///< a service key
    KeyDest,      ///< a service key, then a real server
    OptionalKey,  ///< has_key, then a service key when set
    Timeouts,     ///< three timeouts
    Batch,        ///< a count, then that many requests; nested batches are invalid
    Daemon,       ///< a sync daemon's settings (StopDaemon reads only its role)
    Mark,         ///< a firewall mark rule
};

/// One operation: the single declaration that the codec, the daemon and dirigoadm read.
struct OpSpec {
    Op op;
    std::string_view name;  ///< for messages and logs: "add-service", "list", ...
    Body body;
    bool mutates;           ///< a rule change: applied as one transaction, its reply held until
                            ///< the workers have seen it, allowed in a Batch and in -R input
    std::string_view what;  ///< the contract, for docs and humans
};

/// Every operation, in wire order (kOps[n].op == Op(n), checked below).
inline constexpr OpSpec kOps[] = {
    {Op::Ping, "ping", Body::None, false, "reply carries Info"},
    {Op::AddService, "add-service", Body::Service, true, "service (servers ignored)"},
    {Op::EditService, "edit-service", Body::Service, true,
     "service (servers ignored); key selects, other fields replace"},
    {Op::DelService, "delete-service", Body::Key, true, "service key"},
    {Op::Clear, "clear", Body::None, true, "delete every service"},
    {Op::AddDest, "add-server", Body::KeyDest, true, "service key + dest"},
    {Op::EditDest, "edit-server", Body::KeyDest, true, "service key + dest"},
    {Op::DelDest, "delete-server", Body::KeyDest, true, "service key + dest address/port"},
    {Op::Zero, "zero", Body::OptionalKey, false, "service key, or all services"},
    {Op::SetTimeouts, "set", Body::Timeouts, true, "a zero field leaves that timeout unchanged"},
    {Op::GetTimeouts, "get-timeouts", Body::None, false, "reply carries timeouts"},
    {Op::List, "list", Body::OptionalKey, false,
     "service key or all; reply carries services with stats and rates"},
    {Op::ListConns, "list-connections", Body::None, false, "reply carries the connection list"},
    {Op::Batch, "batch", Body::Batch, true,
     "mutating requests applied as one change, all or nothing"},
    {Op::ListPorts, "list-ports", Body::None, false,
     "reply carries ports (with their counters) and drops"},
    {Op::ListWorkers, "list-workers", Body::None, false, "reply carries workers"},
    {Op::ListNeighbours, "list-neighbours", Body::None, false,
     "reply carries neighbours (the ARP table)"},
    {Op::ListRoutes, "list-routes", Body::None, false, "reply carries routes"},
    {Op::Version, "version", Body::None, false, "reply carries info.version"},
    {Op::StartDaemon, "start-daemon", Body::Daemon, false,
     "starts a connection sync daemon (ipvsadm --start-daemon)"},
    {Op::StopDaemon, "stop-daemon", Body::Daemon, false, "stops the sync daemon of that role"},
    {Op::ListDaemons, "list-daemons", Body::None, false,
     "reply carries the running sync daemons, master first"},
    {Op::AddMark, "add-mark", Body::Mark, true,
     "appends a firewall mark rule (one with the same match must not exist)"},
    {Op::DelMark, "delete-mark", Body::Mark, true,
     "deletes the mark rule with the same match (mark 0: whatever its mark)"},
    {Op::ListMarks, "list-marks", Body::None, false, "reply carries the mark rules, in order"},
};

/// Number of operations; a wire op at or above it is unknown.
inline constexpr size_t kOpCount = sizeof(kOps) / sizeof(kOps[0]);

constexpr bool ops_in_wire_order() {
    for (size_t i = 0; i < kOpCount; ++i) {
        if (static_cast<size_t>(kOps[i].op) != i) {
            return false;
        }
    }
    return true;
}
static_assert(ops_in_wire_order(), "kOps must list every Op once, in wire order");

/// True when `op` is a known operation (one with a row in kOps). Thread: any. O(1).
constexpr bool is_known(Op op) { return static_cast<size_t>(op) < kOpCount; }
/// The row of `op`, which must be known. Thread: any. O(1).
constexpr const OpSpec& op_spec(Op op) { return kOps[static_cast<size_t>(op)]; }
/// True for rule changes (kOps' `mutates`); false for an unknown op. Thread: any. O(1).
constexpr bool is_mutation(Op op) { return is_known(op) && op_spec(op).mutates; }

/// A connection sync daemon's role: IPVS's IP_VS_STATE_MASTER and IP_VS_STATE_BACKUP values.
enum class SyncRole : uint8_t { Master = 1, Backup = 2 };

/// One connection sync daemon's settings (ipvsadm --start-daemon, IPVS_CMD_NEW_DAEMON). A zero
/// field means the default; a started daemon's view carries the values in effect.
struct DaemonCfg {
    SyncRole role = SyncRole::Master;
    std::string mcast_ifn;     ///< the kernel interface the messages go out of / come in on
    uint8_t syncid = 0;        ///< backup: 0 accepts every sync ID
    uint16_t sync_maxlen = 0;  ///< largest message payload; default the interface's MTU - 28
    uint32_t mcast_group = 0;  ///< host order; default 224.0.0.81
    uint16_t mcast_port = 0;   ///< default 8848
    uint8_t mcast_ttl = 0;     ///< default 1
};

/// A running sync daemon (ListDaemons): its settings and what it did.
struct DaemonView {
    DaemonCfg cfg;
    uint64_t messages = 0;  ///< sent (master) or received (backup)
    uint64_t conns = 0;     ///< connection records in them
    uint64_t dropped = 0;   ///< master: records lost or messages not sent; backup: messages refused
};

/// One request. Which fields matter depends on `op` (see Op).
struct Request {
    Op op = Op::Ping;
    bool has_key = false;     ///< for Zero/List: restrict to `service.key`
    cfg::Service service;     ///< key always; other fields for Add/EditService
    cfg::RealServer dest;     ///< for Add/Edit/DelDest
    cfg::TimeoutCfg timeouts; ///< for SetTimeouts
    DaemonCfg daemon;         ///< for StartDaemon/StopDaemon
    cfg::MarkRule mark;       ///< for AddMark/DelMark
    std::vector<Request> batch;  ///< for Batch; nested batches are invalid
};

/// Traffic counters (ipvsadm --stats).
struct Stats {
    uint64_t conns = 0;
    uint64_t inpkts = 0;
    uint64_t outpkts = 0;
    uint64_t inbytes = 0;
    uint64_t outbytes = 0;
};

/// Rate estimates per second (ipvsadm --rate).
struct Rates {
    uint64_t cps = 0;
    uint64_t inpps = 0;
    uint64_t outpps = 0;
    uint64_t inbps = 0;
    uint64_t outbps = 0;
};

struct DestInfo {
    cfg::RealServer server;
    uint32_t active = 0;
    uint32_t inactive = 0;
    uint32_t persistent = 0;
    Stats stats;
    Rates rates;
};

struct ServiceInfo {
    cfg::Service service;  ///< `servers` left empty; see dests
    Stats stats;
    Rates rates;
    std::vector<DestInfo> dests;
};

/// One tracked connection (ipvsadm -L -c).
struct ConnInfo {
    /// IP protocol number: 6, 17 or 132 (cfg::Proto's values), or 0 (IPPROTO_IP) for a
    /// firewall-mark service's persistence template, which IPVS makes with protocol IP and lists
    /// as "IP".
    uint8_t proto = 6;
    std::string state;        ///< "ESTABLISHED", "SYN_RECV", ..., "NONE" for templates
    uint32_t expires_ms = 0;  ///< time left
    uint32_t caddr = 0;
    uint16_t cport = 0;
    uint32_t vaddr = 0;
    uint16_t vport = 0;
    uint32_t daddr = 0;
    uint16_t dport = 0;
    /// Inet6: the addresses are caddr6, vaddr6 and daddr6 (network order) and the uint32 ones
    /// stay 0, except for an IPv4 tunnel server of an IPv6 service (IPv6-in-IPv4): daddr holds
    /// it and daddr6 stays zero (the kernel's ip_vs_conn daf). Inet with a non-zero daddr6: an
    /// IPv4 connection to an IPv6 tunnel server (IPv4-in-IPv6), daddr then 0.
    cfg::Family af = cfg::Family::Inet;
    cfg::Ip6 caddr6{}, vaddr6{}, daddr6{};
};

/// Daemon facts (Ping).
struct Info {
    std::string version;
    uint32_t conn_table_size = 0;  ///< per worker
    uint32_t workers = 0;
};

/// One dataplane port (ListPorts).
struct PortView {
    std::string name;      ///< operator's name ("ext")
    std::string device;    ///< DPDK device ("net_af_packet0")
    uint16_t port_id = 0;
    std::string mac;       ///< "02:00:00:00:00:01"
    bool link_up = false;
    uint32_t speed_mbps = 0;
    uint16_t mtu = 0;
    uint16_t rx_queues = 0;
    uint16_t tx_queues = 0;
    std::vector<cfg::Prefix> addresses;
    uint64_t rx_packets = 0;  ///< received by workers
    uint64_t tx_packets = 0;  ///< transmitted by workers
    uint64_t rx_bytes = 0;
    uint64_t tx_bytes = 0;
    uint64_t rx_missed = 0;   ///< dropped by the device (no descriptor), from its own counters
    uint64_t rx_errors = 0;
    uint64_t tx_errors = 0;
    std::string kernel_iface{};  ///< its kernel interface ("" when it has none)
    bool kernel_up = false;
    uint64_t to_kernel = 0;    ///< packets passed up to the interface
    uint64_t from_kernel = 0;  ///< packets the kernel sent out through the port
};

/// One drop reason with its count over all workers and the slow path (ListPorts).
struct DropView {
    std::string reason;  ///< e.g. "no_route"
    uint64_t count = 0;
};

/// One worker (ListWorkers).
struct WorkerView {
    uint32_t id = 0;
    uint32_t lcore = 0;
    uint64_t rx_packets = 0;
    uint64_t tx_packets = 0;
    uint64_t drops = 0;
    uint64_t loops = 0;
    uint64_t busy_loops = 0;   ///< loops that received at least one packet (busy ratio)
    uint64_t connections = 0;  ///< live connections it owns
    uint64_t created = 0;      ///< connections it created
    uint64_t handed_off = 0;   ///< packets it passed to their owner
    uint64_t taken_over = 0;   ///< packets other workers passed to it
    uint64_t sleeps = 0;       ///< adaptive polling: sleeps taken while idle (0 when busy-polling)
    uint64_t slept_us = 0;     ///< adaptive polling: microseconds spent asleep
};

/// An ARP entry's state, as `ip neigh` names them (the wire value is the enumerator's).
enum class NeighState : uint8_t {
    Incomplete = 0,  ///< asked, no answer yet
    Resolved = 1,    ///< MAC known
    Failed = 2,      ///< every try went unanswered; removed after a hold time
};

/// One ARP entry (ListNeighbours).
struct NeighbourView {
    uint32_t addr = 0;   ///< host order
    std::string mac;     ///< "" while unresolved
    std::string port;    ///< port name
    NeighState state = NeighState::Incomplete;
};

/// One route (ListRoutes).
struct RouteView {
    cfg::Prefix prefix;  ///< host order
    uint32_t gateway = 0;  ///< host order; 0 = connected
    std::string port;
};

/// One reply. `code`/`message` always; the rest depends on the request's op.
struct Reply {
    Errc code = Errc::Ok;
    std::string message;
    Info info;                       ///< Ping
    cfg::TimeoutCfg timeouts;        ///< GetTimeouts
    std::vector<ServiceInfo> services;  ///< List
    std::vector<ConnInfo> conns;     ///< ListConns
    std::vector<PortView> ports;     ///< ListPorts
    std::vector<DropView> drops;     ///< ListPorts
    std::vector<WorkerView> workers; ///< ListWorkers
    std::vector<NeighbourView> neighbours;  ///< ListNeighbours
    std::vector<RouteView> routes;   ///< ListRoutes
    std::vector<DaemonView> daemons; ///< ListDaemons
    std::vector<cfg::MarkRule> marks;  ///< ListMarks
};

/// Frame header, decoded.
struct Header {
    uint32_t magic = kMagic;
    uint16_t version = kVersion;
    MsgType type = MsgType::Request;
    uint32_t length = 0;
};

/// Encodes a header into exactly kHeaderSize bytes.
void encode_header(const Header& h, uint8_t out[kHeaderSize]);
/// Decodes and checks a header: magic, version, type in range, length <= kMaxPayload.
Result<Header> decode_header(std::span<const uint8_t> bytes);

/// Whole frames (header + payload). Thread: any. Cost: O(size).
std::vector<uint8_t> encode_request(const Request& r);
std::vector<uint8_t> encode_reply(const Reply& r);
/// Payload (without header) -> message. Every field validated; trailing bytes are an error.
Result<Request> decode_request(std::span<const uint8_t> payload);
Result<Reply> decode_reply(std::span<const uint8_t> payload);

/// "add-service", "list", ...: the op's name for messages and logs. Thread: any. O(1).
constexpr std::string_view op_name(Op op) {
    return is_known(op) ? op_spec(op).name : std::string_view("unknown");
}
/// "NoService", "Io", ...: the code's enumerator name for messages and logs. Thread: any. O(1).
std::string_view errc_name(Errc code);

}  // namespace dirigo::ctl
