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
inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kHeaderSize = 12;
inline constexpr uint32_t kMaxPayload = 16u << 20;  // a -R of ~100k rules fits
inline constexpr uint32_t kMaxString = 4096;
inline constexpr uint32_t kMaxList = 1u << 20;

enum class MsgType : uint16_t { Request = 1, Reply = 2 };

/// Request operations. Numbers are wire values: never renumber, only append.
enum class Op : uint16_t {
    Ping = 0,          ///< no arguments; reply carries Info
    AddService = 1,    ///< service (servers ignored)
    EditService = 2,   ///< service (servers ignored); key selects, other fields replace
    DelService = 3,    ///< service key
    Clear = 4,         ///< no arguments: delete every service
    AddDest = 5,       ///< service key + dest
    EditDest = 6,      ///< service key + dest
    DelDest = 7,       ///< service key + dest address/port
    Zero = 8,          ///< service key, or all services when has_key is false
    SetTimeouts = 9,   ///< timeouts; a zero field leaves that timeout unchanged
    GetTimeouts = 10,  ///< reply carries timeouts
    List = 11,         ///< service key or all; reply carries services with stats and rates
    ListConns = 12,    ///< reply carries the connection list
    Batch = 13,        ///< a list of mutating requests applied as one change, all or nothing
    ListPorts = 14,    ///< reply carries ports (with per-port drop-free counters) and drops
    ListWorkers = 15,  ///< reply carries workers
    ListNeighbours = 16,  ///< reply carries neighbours (the ARP table)
    ListRoutes = 17,   ///< reply carries routes
};

/// One request. Which fields matter depends on `op` (see Op).
struct Request {
    Op op = Op::Ping;
    bool has_key = false;     ///< for Zero/List: restrict to `service.key`
    cfg::Service service;     ///< key always; other fields for Add/EditService
    cfg::RealServer dest;     ///< for Add/Edit/DelDest
    cfg::TimeoutCfg timeouts; ///< for SetTimeouts
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
    cfg::Proto proto = cfg::Proto::Tcp;
    std::string state;        ///< "ESTABLISHED", "SYN_RECV", ..., "NONE" for templates
    uint32_t expires_ms = 0;  ///< time left
    uint32_t caddr = 0;
    uint16_t cport = 0;
    uint32_t vaddr = 0;
    uint16_t vport = 0;
    uint32_t daddr = 0;
    uint16_t dport = 0;
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

/// Blocking client helper used by dirigoadm and tests: connects to `socket_path`, sends `req`,
/// waits for the reply. Errors (no daemon, short read) come back as Errc::Io.
Result<Reply> call(const std::string& socket_path, const Request& req);

/// How long call() waits for the whole exchange (connect, send, reply).
inline constexpr int kCallTimeoutMs = 30000;
/// call() with an explicit deadline for the whole exchange, in milliseconds. Thread: any.
/// Cost: one connection, O(request + reply) bytes. A request larger than kMaxPayload is refused
/// locally with Errc::Invalid; a missing daemon gives Errc::Io "cannot connect to dirigo at PATH:
/// ..."; a timeout, short read or undecodable reply gives Errc::Io.
Result<Reply> call(const std::string& socket_path, const Request& req, int timeout_ms);

/// "add-service", "list", ...: the op's name for messages and logs. Thread: any. O(1).
std::string_view op_name(Op op);
/// "NoService", "Io", ...: the code's enumerator name for messages and logs. Thread: any. O(1).
std::string_view errc_name(Errc code);

}  // namespace dirigo::ctl
