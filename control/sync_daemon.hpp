// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The connection sync daemons (`dirigoadm --start-daemon master|backup`, keepalived's
/// lvs_sync_daemon through the netlink emulation): IPVS's sync protocol version 1, over UDP
/// multicast on a kernel interface, so a Dirigo director and a kernel IPVS director back each
/// other up (docs/sync.md).
///
/// Both roles run on the control thread, may run at once, and never block:
///  - master: drains every worker's ring of SyncRecords (dataplane/sync.hpp), packs them into
///    messages of at most `sync_maxlen` bytes and sends a message when it is full or its first
///    record has waited kFlushMs;
///  - backup: reads at most kMaxMessagesPerRound messages a round, decodes each whole (a
///    malformed or foreign-syncid message is counted and applies nothing), and hands each record
///    to the worker that owns its flow through that worker's ring; the worker installs it.
/// The sockets are ordinary kernel UDP sockets bound to the interface (SO_BINDTODEVICE): with
/// Dirigo's kernel interfaces the messages leave and arrive through the exception path.
/// Thread: control only. Memory: fixed buffers allocated at start.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "config/status.hpp"
#include "dataplane/dataplane.hpp"
#include "proto/protocol.hpp"
#include "sync/wire.hpp"

namespace dirigo::ctl {

/// A worker's record as the kernel's sync_conn carries it (what the master packs into its
/// messages; also used by dirigo-bench's drainer). Thread: any. O(1), no allocation.
sync::ConnRecord to_wire(const dp::SyncRecord& r) noexcept;
/// A worker's IPv6 record as the kernel's sync_conn carries an AF_INET6 connection or template:
/// a version-1 record of type IPv6 (72 bytes); SCTP states as IPVS numbers them; a template
/// with TEMPLATE set (a fwmark one with protocol 0 and the mark in its fwmark field).
/// Thread: any. O(1), no allocation.
sync::ConnRecord to_wire6(const dp::SyncRecord6& r) noexcept;
/// A received IPv6 record (`c.v6`) as the worker installs it: a TCP, UDP or SCTP connection, or
/// a template (of those protocols, or a fwmark one). False, `out` unspecified, for what Dirigo
/// does not hold: other protocols, local-node or bypass forwarding. Thread: any. O(1), no
/// allocation.
bool from_wire6(const sync::ConnRecord& c, dp::SyncRecord6& out) noexcept;
/// The worker that installs IPv6 record `r`: the owner of its client side (the folded client
/// address and the client port), as Worker::owner6 hands the connection's packets over.
/// Thread: any. O(1).
uint32_t sync_owner6(const dp::FlowOwners& owners, const dp::SyncRecord6& r) noexcept;

class SyncDaemon {
public:
    /// A master's partly filled message waits at most this long before it is sent.
    static constexpr uint32_t kFlushMs = 100;
    /// Messages a backup reads in one control round (about a millisecond).
    static constexpr uint32_t kMaxMessagesPerRound = 256;
    /// Records a master takes from each worker's ring in one round.
    static constexpr uint32_t kMaxRecordsPerRound = 4096;

    explicit SyncDaemon(dp::Dataplane& dp);
    ~SyncDaemon();
    SyncDaemon(const SyncDaemon&) = delete;
    SyncDaemon& operator=(const SyncDaemon&) = delete;

    /// Starts the daemon of `c.role` with the kernel's defaults for zero fields. Errors as the
    /// kernel's start_sync_thread gives them: DaemonRunning (that role runs), NoDevice (no such
    /// interface), Invalid, Io (a socket call failed; the message says which).
    Status start(const DaemonCfg& c);
    /// Stops the daemon of `role`: NoDaemon when none runs.
    Status stop(SyncRole role);
    /// The running daemons, master first, with their settings in effect and counters.
    std::vector<DaemonView> views() const;
    bool master_running() const { return master_ != nullptr; }
    bool running() const { return master_ != nullptr || backup_ != nullptr; }

    /// One round of both roles. Returns the records and messages it moved (0: idle).
    uint32_t poll();

    /// What a backup did with what it received (docs/sync.md lists them).
    struct BackupCounters {
        uint64_t messages = 0;       ///< accepted and applied
        uint64_t conns = 0;          ///< records handed to workers
        uint64_t malformed = 0;      ///< messages refused by the decoder
        uint64_t foreign = 0;        ///< messages of another sync ID
        uint64_t unsupported = 0;    ///< records Dirigo cannot hold (IPv6 templates, bypass, ...)
        uint64_t ring_full = 0;      ///< records a worker's full ring refused
    };
    const BackupCounters* backup_counters() const {
        return backup_ ? &backup_->counters : nullptr;
    }

private:
    struct Master {
        DaemonCfg cfg;
        int fd = -1;
        std::unique_ptr<sync::MessageBuilder> builder;
        uint64_t first_tsc = 0;  ///< when the builder's first record came
        uint64_t messages = 0;
        uint64_t conns = 0;
        uint64_t dropped = 0;  ///< records lost in workers' rings or in unsent messages
    };
    struct Backup {
        DaemonCfg cfg;
        int fd = -1;
        std::vector<uint8_t> buf;  ///< one datagram
        BackupCounters counters;
    };

    void poll_master(uint32_t& moved);
    void poll_backup(uint32_t& moved);
    void send_message();
    /// Hands `rec` to its owner's batch; flush_batches() enqueues them.
    void route(const dp::SyncRecord& rec);
    /// The same for an IPv6 record.
    void route6(const dp::SyncRecord6& rec);
    void flush_batches();

    dp::Dataplane& dp_;
    std::unique_ptr<Master> master_;
    std::unique_ptr<Backup> backup_;
    /// Per worker: records decoded this round, waiting for one enqueue (capacity fixed).
    std::vector<std::vector<dp::SyncRecord>> batches_;
    std::vector<std::vector<dp::SyncRecord6>> batches6_;
    uint64_t flush_tsc_ = 0;
};

}  // namespace dirigo::ctl
