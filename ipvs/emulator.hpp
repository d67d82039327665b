// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The IPVS generic-netlink emulation: what the kernel's ip_vs_ctl.c answers to IPVS_CMD_* and to
/// the controller's CTRL_CMD_GETFAMILY "IPVS", computed from Dirigo's control protocol instead of
/// the kernel's tables. The input is one datagram as an application wrote it to a NETLINK_GENERIC
/// socket (one or more nlmsghdr); the output is the datagrams the kernel would queue on that socket
/// in reply: replies, multipart dumps ending with NLMSG_DONE, and NLMSG_ERROR acks carrying the
/// kernel's errno values. Attributes are validated as the kernel's liberal (pre-5.2 "deprecated")
/// parser does for IPVS: a short fixed-size attribute is ERANGE, a bad nested service, destination
/// or daemon is EINVAL, unknown attribute types and trailing bytes are ignored. Nothing here does
/// I/O except through the CallFn it is given, so tests and the fuzz target drive it with a fake
/// daemon; ipvs/preload.cpp connects it to sockets. Where Dirigo differs from the kernel on
/// purpose, docs/ipvs-netlink.md says so.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "config/status.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ipvs {

/// The generic-netlink family id the emulation answers for "IPVS". The kernel allocates ids from
/// 0x13 upwards; this one is far above any it hands out, so it never names a real family.
inline constexpr uint16_t kFamilyId = 0x7ff0;
/// IP_VS_VERSION_CODE of the kernel whose netlink interface is emulated (1.2.1).
inline constexpr uint32_t kIpvsVersion = 0x010201;
/// Largest datagram a dump is packed into; the kernel's dump buffers are of this order, and libnl
/// sizes its receive buffer by peeking (MSG_PEEK | MSG_TRUNC).
inline constexpr size_t kMaxDumpDatagram = 32 * 1024;
/// The kernel's HZ assumed for SET_CONFIG's range check (timeouts above INT_MAX / HZ seconds are
/// EINVAL); Debian's kernels are built with HZ=250.
inline constexpr uint32_t kAssumedHz = 250;

/// One request to the Dirigo daemon and its reply (ctl::call in the library, a fake in tests).
/// A transport failure is a Status with Errc::Io.
using CallFn = std::function<Result<ctl::Reply>(const ctl::Request&)>;

/// What to do with a datagram an application sent on an emulated socket.
enum class Route : uint8_t {
    Emulate,  ///< every message is for IPVS, for the controller about IPVS, or netlink control
    Relay,    ///< some message is for another family: the socket must become a real one
};

/// Which way a datagram goes. Thread: any. Cost: O(datagram), no allocation.
/// Relay when any well-formed message is a generic-netlink message for a family other than
/// kFamilyId, or a controller (GENL_ID_CTRL) message other than a non-dump GETFAMILY naming
/// "IPVS" or kFamilyId. Malformed input is Emulate: the emulator answers it as the kernel would.
Route route(std::span<const uint8_t> datagram);

/// The emulated kernel side of one socket's requests.
class Emulator {
public:
    /// `call` reaches the daemon; it is called synchronously from handle().
    explicit Emulator(CallFn call) : call_(std::move(call)) {}

    /// Answers one datagram sent by a socket bound to `portid`. `cap_ack` is the socket's
    /// NETLINK_CAP_ACK: error acks then carry only the request's header. Returns the datagrams to
    /// deliver, in order (possibly none: e.g. a success without NLM_F_ACK). Never throws on bad
    /// input; std::bad_alloc may escape. Thread: one caller at a time. Cost: one to three daemon
    /// round trips per message, O(reply) otherwise.
    std::vector<std::vector<uint8_t>> handle(std::span<const uint8_t> datagram, uint32_t portid,
                                             bool cap_ack = false);

    /// The text of /proc/net/ip_vs_conn for the daemon's connection table, as the kernel's
    /// ip_vs_conn_seq_show prints it; an Errc::Io status when the daemon cannot be asked.
    /// Thread: one caller at a time. Cost: one round trip, O(connections).
    Result<std::string> conn_proc_text();

private:
    CallFn call_;
};

/// /proc/net/ip_vs_conn's text for `conns` (header line, then one line per connection).
/// Thread: any. Cost: O(connections).
std::string format_conn_proc(const std::vector<ctl::ConnInfo>& conns);

/// The errno the kernel gives for what Dirigo answered `code` to (positive, e.g. ESRCH).
/// Thread: any. O(1).
int errno_for(Errc code);

}  // namespace dirigo::ipvs
