// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The IPVS connection-synchronisation wire format: what a Linux IPVS master multicasts to its
/// backups (UDP, 224.0.0.81:8848 unless configured otherwise) and what Dirigo sends and accepts
/// so that it can stand in a mixed cluster with kernel IPVS directors.
///
/// A message is an 8-byte header (reserved 0, syncid, size, record count, version 1, spare 0)
/// followed by up to 255 connection records. A record is a fixed part (36 bytes for IPv4, 72 for
/// IPv6: type, protocol, version and length, flags, state, ports, fwmark, timeout in seconds,
/// addresses) followed by options, each a type byte, a length byte and data: sequence-number
/// adjustments (type 1, 24 bytes), persistence-engine data (type 2) and the persistence-engine
/// name (type 3). Every record but the first starts 4-byte aligned: the sender puts zero bytes
/// before a record, not after it, and counts them in the message size, so a message rarely ends
/// aligned; a record's own length field never counts padding. Multi-byte fields are big-endian.
/// The older version-0 format (IPv4 only, fixed 24 or 48-byte records, no timeout or fwmark) is
/// decoded, never built. The layout and the receiver's checks follow the kernel's
/// net/netfilter/ipvs/ip_vs_sync.c; docs/sync.md describes them field by field.
///
/// One deliberate difference from the kernel: decode() checks the WHOLE message before it hands
/// out any record, and a message with any bad record delivers nothing. The kernel applies the
/// records that precede a malformed one, and merely skips a record whose protocol, state,
/// mandatory option or persistence engine it does not know; here any of those rejects the
/// message, so a message is applied entirely or not at all.
///
/// Pure C++, no DPDK: the control thread builds and parses messages; workers never see them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

namespace dirigo::sync {

inline constexpr uint32_t kDefaultGroup = 0xe0000051;  ///< 224.0.0.81, host order
inline constexpr uint16_t kDefaultPort = 8848;         ///< host order
inline constexpr size_t kHeaderSize = 8;               ///< v1 message header
inline constexpr size_t kHeaderSizeV0 = 4;             ///< v0 message header
/// Largest UDP payload we build or accept (IPv4 total length minus the IP and UDP headers).
inline constexpr size_t kMaxMessage = 65535 - 20 - 8;
inline constexpr size_t kMaxConnsPerMessage = 255;  ///< the count field is one byte

/// IPVS connection flags (values of include/uapi/linux/ip_vs.h), host order.
enum ConnFlags : uint32_t {
    kFwdMasq = 0,
    kFwdLocal = 1,
    kFwdTunnel = 2,
    kFwdDroute = 3,
    kFwdBypass = 4,
    kFwdMask = 7,
    kFlagSync = 0x20,
    kFlagHashed = 0x40,
    kFlagNoOutput = 0x80,
    kFlagInactive = 0x100,
    kFlagOutSeq = 0x200,
    kFlagInSeq = 0x400,
    kFlagSeqMask = 0x600,
    kFlagNoCport = 0x800,
    kFlagTemplate = 0x1000,
    kFlagOnePacket = 0x2000,
};
/// The flags a backup keeps from a v1 record (the kernel's IP_VS_CONN_F_BACKUP_MASK); decode()
/// masks with it and adds kFlagSync.
inline constexpr uint32_t kBackupFlagsMask =
    kFwdMask | kFlagNoOutput | kFlagInactive | kFlagSeqMask | kFlagNoCport | kFlagTemplate;

/// IP protocol numbers a record may carry (decode() refuses others, except in templates).
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoEsp = 50;
inline constexpr uint8_t kProtoAh = 51;
inline constexpr uint8_t kProtoSctp = 132;

/// IPVS TCP states (include/net/ip_vs.h), the `state` of a TCP record.
enum TcpState : uint16_t {
    kTcpNone = 0,
    kTcpEstablished = 1,
    kTcpSynSent = 2,
    kTcpSynRecv = 3,
    kTcpFinWait = 4,
    kTcpTimeWait = 5,
    kTcpClose = 6,
    kTcpCloseWait = 7,
    kTcpLastAck = 8,
    kTcpListen = 9,
    kTcpSynAck = 10,
    kTcpStateCount = 11,
};
/// Number of IPVS states of `protocol` (TCP 11, SCTP 14, UDP/AH/ESP 1), 0 for a protocol IPVS
/// does not handle. A non-template record's state must be below it.
/// Thread: any. O(1).
uint16_t state_count(uint8_t protocol) noexcept;

/// Record and option sizes on the wire.
inline constexpr size_t kRecordSizeV4 = 36;
inline constexpr size_t kRecordSizeV6 = 72;
inline constexpr size_t kRecordSizeV0 = 24;   ///< v0 record without its sequence block
inline constexpr size_t kSeqBlockSize = 24;   ///< in_seq then out_seq, 3 x 32 bits each
inline constexpr size_t kMaxPeNameLen = 16;   ///< IP_VS_PENAME_MAXLEN
inline constexpr size_t kMaxPeDataLen = 255;  ///< IP_VS_PEDATA_MAXLEN
inline constexpr uint8_t kOptSeq = 1;
inline constexpr uint8_t kOptPeData = 2;
inline constexpr uint8_t kOptPeName = 3;
inline constexpr uint8_t kOptOptional = 0x40;  ///< an option type with this bit may be skipped
/// The largest record: IPv6 with sequence data, 255 bytes of PE data and a 16-byte PE name.
inline constexpr size_t kMaxRecordSize =
    kRecordSizeV6 + (2 + kSeqBlockSize) + (2 + kMaxPeDataLen) + (2 + kMaxPeNameLen);
/// The smallest `maxlen` a MessageBuilder accepts: any one record fits an empty message.
inline constexpr size_t kMinMaxlen = kHeaderSize + kMaxRecordSize;

/// One direction's TCP sequence adjustment (the kernel's struct ip_vs_seq), host order.
struct Seq {
    uint32_t init_seq = 0;
    uint32_t delta = 0;
    uint32_t previous_delta = 0;
    bool operator==(const Seq&) const = default;
};

/// One connection as a sync message carries it. Addresses and ports are in NETWORK order (as on
/// the wire and as Dirigo's FlowKey keeps them); an IPv4 address is the first 4 bytes of the 16.
struct ConnRecord {
    bool v6 = false;       ///< IPv6 record (type 1); false: IPv4
    uint8_t protocol = 0;  ///< kProtoTcp, kProtoUdp, kProtoSctp, or 0 for fwmark templates
    uint32_t flags = 0;    ///< host order, ConnFlags
    uint16_t state = 0;    ///< IPVS state number (TcpState for TCP)
    uint16_t cport = 0;    ///< network order
    uint16_t vport = 0;    ///< network order
    uint16_t dport = 0;    ///< network order
    uint32_t fwmark = 0;   ///< host order
    uint32_t timeout = 0;  ///< seconds, host order; 0 (v0 messages) means the protocol default
    std::array<uint8_t, 16> caddr{};  ///< network order
    std::array<uint8_t, 16> vaddr{};  ///< network order
    std::array<uint8_t, 16> daddr{};  ///< network order
    /// Decoded: the record carried sequence data. Encoded: ignored; sequence data goes out when
    /// `flags` has kFlagInSeq or kFlagOutSeq, as the kernel does.
    bool has_seq = false;
    Seq in_seq;                          ///< valid when has_seq
    Seq out_seq;                         ///< valid when has_seq
    uint8_t pe_data_len = 0;             ///< persistence-engine data (SIP: the Call-ID)
    std::array<uint8_t, 255> pe_data{};  ///< the first pe_data_len bytes count
    uint8_t pe_name_len = 0;             ///< at most kMaxPeNameLen; sent only with PE data
    std::array<char, 16> pe_name{};      ///< the first pe_name_len bytes count, no NUL

    /// IPv4 addresses, network order (the first 4 bytes of each array).
    /// Thread: any. O(1).
    uint32_t caddr4() const noexcept;
    uint32_t vaddr4() const noexcept;  ///< as caddr4()
    uint32_t daddr4() const noexcept;  ///< as caddr4()
    /// Sets v6 = false and the three IPv4 addresses (network order); zeroes the other 12 bytes.
    /// Thread: any. O(1).
    void set_v4(uint32_t c, uint32_t v, uint32_t d) noexcept;
    /// The PE name as text (not NUL-terminated on the wire).
    std::string_view pe_name_view() const noexcept {
        return {pe_name.data(), pe_name_len <= kMaxPeNameLen ? pe_name_len : kMaxPeNameLen};
    }

    bool operator==(const ConnRecord&) const = default;
};

/// Builds version-1 messages, byte for byte as the kernel's master does, into one buffer
/// allocated in the constructor (never per record).
/// Thread: one thread at a time (control). Cost: add() O(record size), no allocation.
class MessageBuilder {
public:
    /// `maxlen` (largest message, UDP payload) is clamped to [kMinMaxlen, kMaxMessage].
    /// Allocates kMaxMessage bytes once.
    MessageBuilder(uint8_t syncid, size_t maxlen);

    /// Appends `c` (zero padding first, so that it starts 4-byte aligned). False, and the
    /// message unchanged, when the record does not fit in maxlen or 255 records are in: the
    /// caller sends finish() and adds `c` again after reset(). HASHED is cleared from the flags;
    /// a PE name longer than kMaxPeNameLen is cut there.
    bool add(const ConnRecord& c) noexcept;
    /// The message so far with its size and count set. Valid until the next reset() or add().
    std::span<const uint8_t> finish() noexcept;
    /// Starts a new, empty message (same syncid and maxlen).
    void reset() noexcept;
    /// Applies to the message being built and the following ones.
    void set_syncid(uint8_t syncid) noexcept;
    /// Clamped as in the constructor; records already in stay even if they now exceed it.
    void set_maxlen(size_t maxlen) noexcept;

    uint8_t count() const noexcept { return count_; }    ///< records in the message
    bool empty() const noexcept { return count_ == 0; }  ///< no record yet
    size_t size() const noexcept { return size_; }       ///< bytes so far, header included
    size_t maxlen() const noexcept { return maxlen_; }   ///< after clamping

private:
    std::unique_ptr<uint8_t[]> buf_;
    size_t maxlen_;
    size_t size_ = kHeaderSize;
    uint8_t count_ = 0;
    uint8_t syncid_;
};

/// Why decode() refused a message. Names in error_name().
enum class DecodeError : uint8_t {
    None,
    TooShort,          ///< shorter than a header (4 bytes; 8 for a v1 header)
    BadSize,           ///< the header's size is not the datagram's length
    ForeignSyncid,     ///< another syncid than the one asked for
    BadVersion,        ///< a v1-looking header (first byte 0) whose version is not 1
    BadReserved,       ///< version 1 but the reserved byte or the spare field is not zero
    BadRecord,         ///< a record runs past the message, or its type or length is impossible
    BadRecordVersion,  ///< a record's version (top 4 bits of ver_size) is not 0
    BadOption,         ///< an option truncated, of length 0, or of a length its type forbids
    DuplicateOption,   ///< one option type twice in a record
    UnknownOption,     ///< an option type we do not know without the optional bit (0x40)
    MissingPeName,     ///< PE data without a PE name
    BadProtocol,       ///< a connection (not a template) of a protocol IPVS does not handle
    BadState,          ///< a connection's state out of its protocol's range
};
inline constexpr size_t kDecodeErrorCount = 14;

/// "none", "too_short", ... Thread: any. O(1).
std::string_view error_name(DecodeError e) noexcept;

namespace detail {

/// Where the records of a validated message start, for decode()'s second pass.
struct Layout {
    uint8_t version = 0;  ///< 0 or 1
    uint8_t count = 0;
    std::array<uint16_t, kMaxConnsPerMessage> offsets{};
};

/// decode()'s first pass: every check, no callback. Fills `layout` on success.
/// Thread: any. O(message size), no allocation.
DecodeError validate(std::span<const uint8_t> msg, uint8_t want_syncid, Layout& layout) noexcept;

/// decode()'s second pass: the record at `offset` of a message validate() accepted.
/// Thread: any. O(record size), no allocation.
void read_record(std::span<const uint8_t> msg, uint8_t version, uint16_t offset,
                 ConnRecord& out) noexcept;

}  // namespace detail

/// Decodes a whole message: v1, and v0 as the kernel still accepts it. `want_syncid` 0 accepts
/// any syncid; otherwise a message of another syncid returns DecodeError::ForeignSyncid. The
/// whole message is validated before `on_conn` is called for any record, so a malformed message
/// applies nothing (the kernel applies the records before the bad one). Then calls
/// `on_conn(const ConnRecord&)` once per record, in order. Flags come out as a backup uses them:
/// masked with kBackupFlagsMask (v0: HASHED cleared) and with kFlagSync set.
/// Thread: any. Cost: O(message size), no allocation (one ConnRecord and one Layout on the stack).
template <class F>
DecodeError decode(std::span<const uint8_t> msg, uint8_t want_syncid, F&& on_conn) {
    detail::Layout layout;
    const DecodeError e = detail::validate(msg, want_syncid, layout);
    if (e != DecodeError::None) {
        return e;
    }
    for (uint8_t i = 0; i < layout.count; ++i) {
        ConnRecord rec;
        detail::read_record(msg, layout.version, layout.offsets[i], rec);
        on_conn(std::as_const(rec));
    }
    return DecodeError::None;
}

}  // namespace dirigo::sync
