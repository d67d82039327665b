// SPDX-License-Identifier: BSD-3-Clause
#include "sync/wire.hpp"

#include <algorithm>
#include <cstring>

namespace dirigo::sync {

namespace {

constexpr uint8_t kTypeInet6 = 0x01;    // bit 0 of a record's type byte
constexpr uint16_t kVerShift = 12;      // ver_size: version in the top 4 bits
constexpr uint16_t kSizeMask = 0x0fff;  // ... record length in the low 12
constexpr uint8_t kProtoVersion = 1;

constexpr std::array<std::string_view, kDecodeErrorCount> kErrorNames = {
    "none",           "too_short",       "bad_size",           "foreign_syncid", "bad_version",
    "bad_reserved",   "bad_record",      "bad_record_version", "bad_option",     "duplicate_option",
    "unknown_option", "missing_pe_name", "bad_protocol",       "bad_state",
};
static_assert(static_cast<size_t>(DecodeError::BadState) + 1 == kDecodeErrorCount,
              "kErrorNames has one name per DecodeError");

uint16_t load16(const uint8_t* p) noexcept {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t load32(const uint8_t* p) noexcept {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
// A v0 sequence block is the sender's struct ip_vs_seq copied as it lies in memory, host order;
// the kernel's backup copies it back the same way. Every director we meet is little-endian.
uint32_t load32_le(const uint8_t* p) noexcept {
    return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | p[0];
}
void store16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void store32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}
// Ports stay in network order: copy the two bytes as they are.
uint16_t load_port(const uint8_t* p) noexcept {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
void store_port(uint8_t* p, uint16_t v) noexcept {
    std::memcpy(p, &v, 2);
}

Seq load_seq(const uint8_t* p) noexcept {
    return {load32(p), load32(p + 4), load32(p + 8)};
}
Seq load_seq_le(const uint8_t* p) noexcept {
    return {load32_le(p), load32_le(p + 4), load32_le(p + 8)};
}
void store_seq(uint8_t* p, const Seq& s) noexcept {
    store32(p, s.init_seq);
    store32(p + 4, s.delta);
    store32(p + 8, s.previous_delta);
}

size_t clamp_maxlen(size_t maxlen) noexcept {
    return std::clamp(maxlen, kMinMaxlen, kMaxMessage);
}

size_t pe_name_len_of(const ConnRecord& c) noexcept {
    return std::min<size_t>(c.pe_name_len, kMaxPeNameLen);
}

/// Bytes `c` takes on the wire, padding excluded (what its ver_size says).
size_t record_len(const ConnRecord& c) noexcept {
    size_t len = c.v6 ? kRecordSizeV6 : kRecordSizeV4;
    if ((c.flags & kFlagSeqMask) != 0) {
        len += 2 + kSeqBlockSize;
    }
    if (c.pe_data_len != 0) {
        len += 2 + size_t{c.pe_data_len};
        if (pe_name_len_of(c) != 0) {
            len += 2 + pe_name_len_of(c);
        }
    }
    return len;
}

/// The state check the kernel's backup makes on a connection (not a template).
DecodeError check_state(uint32_t flags, uint8_t protocol, uint16_t state) noexcept {
    if ((flags & kFlagTemplate) != 0) {
        // Templates carry the service's protocol (or 0 for fwmark services) and a template state
        // that the kernel only logs when out of range.
        return DecodeError::None;
    }
    const uint16_t n = state_count(protocol);
    if (n == 0) {
        return DecodeError::BadProtocol;
    }
    return state < n ? DecodeError::None : DecodeError::BadState;
}

/// One v1 record, `rec` spanning exactly its ver_size bytes. Fills `out` when not null.
DecodeError parse_v1(std::span<const uint8_t> rec, ConnRecord* out) noexcept {
    const uint8_t* p = rec.data();
    const uint8_t type = p[0];
    bool v6 = false;
    // The kernel tests the IPv6 bit first, and refuses any other type that is not plain 0.
    if ((type & kTypeInet6) != 0) {
        v6 = true;
    } else if (type != 0) {
        return DecodeError::BadRecord;
    }
    const size_t fixed = v6 ? kRecordSizeV6 : kRecordSizeV4;
    if (rec.size() < fixed) {
        return DecodeError::BadRecord;
    }

    bool seen_seq = false;
    bool seen_data = false;
    bool seen_name = false;
    const uint8_t* seq = nullptr;
    const uint8_t* data = nullptr;
    size_t data_len = 0;
    const uint8_t* name = nullptr;
    size_t name_len = 0;
    size_t at = fixed;
    while (at < rec.size()) {
        if (rec.size() - at < 2) {
            return DecodeError::BadOption;
        }
        const uint8_t ptype = p[at];
        const size_t plen = p[at + 1];
        at += 2;
        if (plen == 0 || plen > rec.size() - at) {
            return DecodeError::BadOption;
        }
        // The optional bit is masked off before the type is looked at, so 0x41 is sequence data.
        switch (ptype & ~kOptOptional) {
            case kOptSeq:
                if (plen != kSeqBlockSize) {
                    return DecodeError::BadOption;
                }
                if (seen_seq) {
                    return DecodeError::DuplicateOption;
                }
                seen_seq = true;
                seq = p + at;
                break;
            case kOptPeData:
                // Its length byte cannot exceed kMaxPeDataLen (255).
                if (seen_data) {
                    return DecodeError::DuplicateOption;
                }
                seen_data = true;
                data = p + at;
                data_len = plen;
                break;
            case kOptPeName:
                if (plen > kMaxPeNameLen) {
                    return DecodeError::BadOption;
                }
                if (seen_name) {
                    return DecodeError::DuplicateOption;
                }
                seen_name = true;
                name = p + at;
                name_len = plen;
                break;
            default:
                if ((ptype & kOptOptional) == 0) {
                    return DecodeError::UnknownOption;
                }
                break;
        }
        at += plen;
    }

    const uint8_t protocol = p[1];
    const uint32_t flags = (load32(p + 4) & kBackupFlagsMask) | kFlagSync;
    const uint16_t state = load16(p + 8);
    if (const DecodeError e = check_state(flags, protocol, state); e != DecodeError::None) {
        return e;
    }
    // The kernel refuses PE data without a name to find its engine by; a name without data is
    // ignored.
    if (data != nullptr && name == nullptr) {
        return DecodeError::MissingPeName;
    }
    if (out == nullptr) {
        return DecodeError::None;
    }
    out->v6 = v6;
    out->protocol = protocol;
    out->flags = flags;
    out->state = state;
    out->cport = load_port(p + 10);
    out->vport = load_port(p + 12);
    out->dport = load_port(p + 14);
    out->fwmark = load32(p + 16);
    out->timeout = load32(p + 20);
    const size_t alen = v6 ? 16 : 4;
    std::memcpy(out->caddr.data(), p + 24, alen);
    std::memcpy(out->vaddr.data(), p + 24 + alen, alen);
    std::memcpy(out->daddr.data(), p + 24 + 2 * alen, alen);
    if (seq != nullptr) {
        out->has_seq = true;
        out->in_seq = load_seq(seq);
        out->out_seq = load_seq(seq + 12);
    }
    if (data != nullptr) {
        out->pe_data_len = static_cast<uint8_t>(data_len);
        std::memcpy(out->pe_data.data(), data, data_len);
        out->pe_name_len = static_cast<uint8_t>(name_len);
        std::memcpy(out->pe_name.data(), name, name_len);
    }
    return DecodeError::None;
}

/// One v0 record at `p`, its size (24 or 48) already checked. Fills `out` when not null.
DecodeError parse_v0(const uint8_t* p, ConnRecord* out) noexcept {
    const uint8_t protocol = p[1];
    // v0 flags are 16 bits; the kernel keeps all of them but HASHED.
    const uint32_t flags = (uint32_t{load16(p + 20)} | kFlagSync) & ~uint32_t{kFlagHashed};
    const uint16_t state = load16(p + 22);
    if (const DecodeError e = check_state(flags, protocol, state); e != DecodeError::None) {
        return e;
    }
    if (out == nullptr) {
        return DecodeError::None;
    }
    out->protocol = protocol;
    out->flags = flags;
    out->state = state;
    out->cport = load_port(p + 2);
    out->vport = load_port(p + 4);
    out->dport = load_port(p + 6);
    std::memcpy(out->caddr.data(), p + 8, 4);
    std::memcpy(out->vaddr.data(), p + 12, 4);
    std::memcpy(out->daddr.data(), p + 16, 4);
    if ((flags & kFlagSeqMask) != 0) {
        out->has_seq = true;
        out->in_seq = load_seq_le(p + kRecordSizeV0);
        out->out_seq = load_seq_le(p + kRecordSizeV0 + 12);
    }
    return DecodeError::None;
}

size_t v0_record_len(const uint8_t* p) noexcept {
    return (load16(p + 20) & kFlagSeqMask) != 0 ? kRecordSizeV0 + kSeqBlockSize : kRecordSizeV0;
}

DecodeError validate_v1(std::span<const uint8_t> msg, detail::Layout& layout) noexcept {
    const uint8_t n = msg[4];
    size_t at = kHeaderSize;
    for (uint8_t i = 0; i < n; ++i) {
        // The kernel wants room for an IPv4 fixed part before it reads ver_size.
        if (at > msg.size() || msg.size() - at < kRecordSizeV4) {
            return DecodeError::BadRecord;
        }
        const uint16_t ver_size = load16(msg.data() + at + 2);
        const size_t size = ver_size & kSizeMask;
        if (size > msg.size() - at) {
            return DecodeError::BadRecord;
        }
        if ((ver_size >> kVerShift) != 0) {
            return DecodeError::BadRecordVersion;
        }
        if (const DecodeError e = parse_v1(msg.subspan(at, size), nullptr);
            e != DecodeError::None) {
            return e;
        }
        layout.offsets[i] = static_cast<uint16_t>(at);
        // The next record starts at the next 4-byte boundary after this one's length.
        at += (size + 3) & ~size_t{3};
    }
    layout.version = 1;
    layout.count = n;
    return DecodeError::None;
}

DecodeError validate_v0(std::span<const uint8_t> msg, detail::Layout& layout) noexcept {
    const uint8_t n = msg[0];
    size_t at = kHeaderSizeV0;
    for (uint8_t i = 0; i < n; ++i) {
        if (msg.size() - at < kRecordSizeV0) {
            return DecodeError::BadRecord;
        }
        const size_t len = v0_record_len(msg.data() + at);
        if (msg.size() - at < len) {
            return DecodeError::BadRecord;
        }
        if (const DecodeError e = parse_v0(msg.data() + at, nullptr); e != DecodeError::None) {
            return e;
        }
        layout.offsets[i] = static_cast<uint16_t>(at);
        at += len;
    }
    layout.version = 0;
    layout.count = n;
    return DecodeError::None;
}

}  // namespace

uint16_t state_count(uint8_t protocol) noexcept {
    switch (protocol) {
        case kProtoTcp:
            return kTcpStateCount;
        case kProtoSctp:
            return 14;  // IP_VS_SCTP_S_LAST: NONE .. CLOSED
        case kProtoUdp:
        case kProtoAh:
        case kProtoEsp:
            return 1;
        default:
            return 0;
    }
}

uint32_t ConnRecord::caddr4() const noexcept {
    uint32_t a;
    std::memcpy(&a, caddr.data(), 4);
    return a;
}
uint32_t ConnRecord::vaddr4() const noexcept {
    uint32_t a;
    std::memcpy(&a, vaddr.data(), 4);
    return a;
}
uint32_t ConnRecord::daddr4() const noexcept {
    uint32_t a;
    std::memcpy(&a, daddr.data(), 4);
    return a;
}
void ConnRecord::set_v4(uint32_t c, uint32_t v, uint32_t d) noexcept {
    v6 = false;
    caddr = {};
    vaddr = {};
    daddr = {};
    std::memcpy(caddr.data(), &c, 4);
    std::memcpy(vaddr.data(), &v, 4);
    std::memcpy(daddr.data(), &d, 4);
}

MessageBuilder::MessageBuilder(uint8_t syncid, size_t maxlen)
    : buf_(new uint8_t[kMaxMessage]), maxlen_(clamp_maxlen(maxlen)), syncid_(syncid) {
    reset();
}

void MessageBuilder::reset() noexcept {
    size_ = kHeaderSize;
    count_ = 0;
    uint8_t* h = buf_.get();
    h[0] = 0;  // reserved: a v0 receiver reads it as a count of 0 and ignores the message
    h[1] = syncid_;
    store16(h + 2, static_cast<uint16_t>(kHeaderSize));
    h[4] = 0;
    h[5] = kProtoVersion;
    store16(h + 6, 0);
}

void MessageBuilder::set_syncid(uint8_t syncid) noexcept {
    syncid_ = syncid;
    buf_[1] = syncid;
}

void MessageBuilder::set_maxlen(size_t maxlen) noexcept {
    maxlen_ = clamp_maxlen(maxlen);
}

bool MessageBuilder::add(const ConnRecord& c) noexcept {
    if (count_ == kMaxConnsPerMessage) {
        return false;
    }
    const size_t len = record_len(c);
    // Padding goes before a record, and only after an earlier one (the header is 8 bytes).
    const size_t pad = (4 - (size_ & 3)) & 3;
    if (size_ + pad + len > maxlen_) {
        return false;
    }
    uint8_t* p = buf_.get() + size_;
    std::memset(p, 0, pad);
    p += pad;

    p[0] = c.v6 ? kTypeInet6 : 0;
    p[1] = c.protocol;
    store16(p + 2, static_cast<uint16_t>(len & kSizeMask));  // version 0
    store32(p + 4, c.flags & ~uint32_t{kFlagHashed});
    store16(p + 8, c.state);
    store_port(p + 10, c.cport);
    store_port(p + 12, c.vport);
    store_port(p + 14, c.dport);
    store32(p + 16, c.fwmark);
    store32(p + 20, c.timeout);
    const size_t alen = c.v6 ? 16 : 4;
    std::memcpy(p + 24, c.caddr.data(), alen);
    std::memcpy(p + 24 + alen, c.vaddr.data(), alen);
    std::memcpy(p + 24 + 2 * alen, c.daddr.data(), alen);
    uint8_t* o = p + 24 + 3 * alen;
    if ((c.flags & kFlagSeqMask) != 0) {
        o[0] = kOptSeq;
        o[1] = static_cast<uint8_t>(kSeqBlockSize);
        store_seq(o + 2, c.in_seq);
        store_seq(o + 14, c.out_seq);
        o += 2 + kSeqBlockSize;
    }
    if (c.pe_data_len != 0) {
        o[0] = kOptPeData;
        o[1] = c.pe_data_len;
        std::memcpy(o + 2, c.pe_data.data(), c.pe_data_len);
        o += 2 + size_t{c.pe_data_len};
        const size_t name_len = pe_name_len_of(c);
        if (name_len != 0) {
            o[0] = kOptPeName;
            o[1] = static_cast<uint8_t>(name_len);
            std::memcpy(o + 2, c.pe_name.data(), name_len);
        }
    }
    size_ += pad + len;
    ++count_;
    return true;
}

std::span<const uint8_t> MessageBuilder::finish() noexcept {
    store16(buf_.get() + 2, static_cast<uint16_t>(size_));
    buf_[4] = count_;
    return {buf_.get(), size_};
}

std::string_view error_name(DecodeError e) noexcept {
    const auto i = static_cast<size_t>(e);
    return i < kErrorNames.size() ? kErrorNames[i] : std::string_view("unknown");
}

namespace detail {

DecodeError validate(std::span<const uint8_t> msg, uint8_t want_syncid, Layout& layout) noexcept {
    layout.count = 0;
    if (msg.size() < kHeaderSizeV0) {
        return DecodeError::TooShort;
    }
    // Both headers keep the size in bytes 2-3 and the syncid in byte 1.
    if (load16(msg.data() + 2) != msg.size()) {
        return DecodeError::BadSize;
    }
    if (want_syncid != 0 && msg[1] != want_syncid) {
        return DecodeError::ForeignSyncid;
    }
    if (msg[0] == 0) {
        // v1 (a v0 message's first byte is its count, never 0 from a sender). The kernel treats
        // a bad version or spare here as an empty v0 message: nothing applied either way.
        if (msg.size() < kHeaderSize) {
            return DecodeError::TooShort;
        }
        if (msg[5] != kProtoVersion) {
            return DecodeError::BadVersion;
        }
        if (load16(msg.data() + 6) != 0) {
            return DecodeError::BadReserved;
        }
        return validate_v1(msg, layout);
    }
    // A first byte other than 0 is a v0 count, unless the version byte says 1: then it is a v1
    // header with its reserved byte set (the kernel would parse it as v0; in a real v0 message
    // that byte is the first record's protocol, and 1 (ICMP) is no IPVS protocol).
    if (msg.size() >= 6 && msg[5] == kProtoVersion) {
        return DecodeError::BadReserved;
    }
    return validate_v0(msg, layout);
}

void read_record(std::span<const uint8_t> msg, uint8_t version, uint16_t offset,
                 ConnRecord& out) noexcept {
    if (version == 0) {
        parse_v0(msg.data() + offset, &out);
        return;
    }
    const size_t size = load16(msg.data() + offset + 2) & kSizeMask;
    parse_v1(msg.subspan(offset, size), &out);
}

}  // namespace detail

}  // namespace dirigo::sync
