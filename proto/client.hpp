// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The blocking client side of the control protocol: one connection, one request, one reply.
/// dirigoadm's transport, and the tests'. No DPDK types.

#include <string>

#include "config/status.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl {

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

}  // namespace dirigo::ctl
