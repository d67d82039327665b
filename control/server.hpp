// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The control socket: a Unix stream socket, non-blocking clients, frames in and out, and each
/// client's replies in request order. A request is handed to the `submit` callback, which never
/// blocks and returns a HeldReply; the reply goes out once what it waits for is over (the RCU
/// token of a rule change, a WorkerJob such as -L -c), so a slow worker never stalls the socket,
/// ARP or the slow path. Thread: control only.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "config/status.hpp"
#include "control/worker_job.hpp"
#include "dataplane/dataplane.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl {

/// A reply and what it waits for.
struct HeldReply {
    Reply reply;
    /// RCU token that must have passed (0: none): a change is reported once the workers have seen
    /// it, so that when dirigoadm returns, the next new flow uses the new rules.
    uint64_t token = 0;
    /// Worker commands that must be over (null: none). Shared with Control, which keeps it until
    /// the workers are done with its commands even if the client leaves.
    std::shared_ptr<WorkerJob> job;
    /// Completes `reply` from the finished job (null: nothing to add).
    std::function<void(const WorkerJob&, Reply&)> finish;
};

/// At most this many clients; a new one past the limit takes the place of the longest idle client
/// that is owed nothing, so idle connections cannot lock everyone else out.
inline constexpr size_t kMaxClients = 64;
/// A client whose unread replies reach this many bytes, or this many replies, is not read from
/// (nor are its buffered requests handled) until it reads: the daemon's buffers stay bounded.
inline constexpr size_t kMaxClientOutBytes = 1u << 20;
inline constexpr size_t kMaxClientHeld = 256;
/// A client that sends nothing and is owed nothing for this long is closed.
inline constexpr std::chrono::milliseconds kClientIdleTimeout{60000};

class Server {
public:
    using Submit = std::function<HeldReply(const Request&)>;

    /// `dp` answers whether a token has passed; `submit` handles each decoded request.
    Server(const cfg::ControlCfg& cfg, const dp::Dataplane& dp, Submit submit);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Creates the socket (parent directory, mode, group from the config).
    Status open();
    /// Closes every client and removes the socket file.
    void close();
    /// One round: socket events (waiting at most `timeout_ms`), then replies that became ready.
    void poll(int timeout_ms);

    /// True when `h` may be sent: its token passed and its job (if any) is over or timed out.
    bool ready(const HeldReply& h) const;
    /// The reply of a ready `h`, completed by its finish step (or the job's timeout error).
    static Reply complete(HeldReply& h);

    /// Connected clients (tests).
    size_t clients() const { return clients_.size(); }
    /// Reply bytes waiting to be written, over all clients (tests).
    size_t out_bytes() const;
    /// Replaces kClientIdleTimeout (tests).
    void set_idle_timeout(std::chrono::milliseconds t) { idle_timeout_ = t; }

private:
    using Clock = std::chrono::steady_clock;
    struct Client {
        int fd = -1;
        std::vector<uint8_t> in;
        std::vector<uint8_t> out;
        std::deque<HeldReply> held;  ///< replies in request order
        bool close_after_write = false;
        Clock::time_point last_active;  ///< last byte read or written
    };
    /// True while `c` owes reading its replies: it is neither read from nor served.
    static bool backlogged(const Client& c);
    /// True when `c` is owed nothing (no reply pending or unwritten).
    static bool owed_nothing(const Client& c) { return c.held.empty() && c.out.empty(); }
    void accept_clients();
    void read_client(Client& c);
    /// Handles the complete frames buffered in `c.in`, in order, while `c` is not backlogged.
    void handle_frames(Client& c);
    void close_client(Client& c);
    void write_client(Client& c);
    void release_held(Client& c);

    cfg::ControlCfg cfg_;
    const dp::Dataplane& dp_;
    Submit submit_;
    int listen_fd_ = -1;
    std::vector<Client> clients_;
    std::chrono::milliseconds idle_timeout_ = kClientIdleTimeout;
};

}  // namespace dirigo::ctl
