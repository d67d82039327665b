// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Builds and inspects Ethernet/IPv4/TCP/UDP/SCTP/ICMP/ARP frames for dataplane tests. Checksums are
// computed from scratch here, independently of the dataplane's incremental updates.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <arpa/inet.h>

namespace dirigo::test {

using Mac = std::array<uint8_t, 6>;

inline uint32_t ip(const char* s) {
    in_addr a{};
    inet_pton(AF_INET, s, &a);
    return a.s_addr;  // network order
}

inline uint32_t sum16(const uint8_t* p, size_t n, uint32_t s = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) {
        s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    }
    if (n & 1) {
        s += static_cast<uint32_t>(p[n - 1] << 8);
    }
    return s;
}
inline uint16_t fold(uint32_t s) {
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return static_cast<uint16_t>(s);
}

/// CRC32c (Castagnoli) bit by bit: the tests' own reference, independent of dataplane/sctp.hpp.
inline uint32_t crc32c_bitwise(const uint8_t* p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) {
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

/// One SCTP chunk for Frame::sctp: type, flags and value (the 4-byte header is added).
struct Chunk {
    uint8_t type;
    uint8_t flags = 0;
    std::string value;
};

struct Frame {
    std::vector<uint8_t> b;

    static Frame eth(const Mac& dst, const Mac& src, uint16_t type) {
        Frame f;
        // Room for a jumbo frame up front: every builder appends in place, and GCC 12 at -O3 no
        // longer sees a 10-byte buffer growing (a false -Wstringop-overflow in a release build).
        f.b.reserve(9216);
        f.b.insert(f.b.end(), dst.begin(), dst.end());
        f.b.insert(f.b.end(), src.begin(), src.end());
        f.b.push_back(static_cast<uint8_t>(type >> 8));
        f.b.push_back(static_cast<uint8_t>(type));
        return f;
    }

    /// IPv4 + TCP/UDP with valid checksums. flags: TCP flags byte.
    static Frame l4(const Mac& dst, const Mac& src, uint8_t proto, uint32_t saddr, uint16_t sport,
                    uint32_t daddr, uint16_t dport, uint8_t flags = 0x02, uint8_t ttl = 64,
                    const std::string& payload = "", bool udp_csum = true) {
        Frame f = eth(dst, src, 0x0800);
        const size_t l4len = (proto == 6 ? 20 : 8) + payload.size();
        f.ipv4(proto, saddr, daddr, ttl, l4len);
        const size_t off = f.b.size();
        f.b.resize(off + l4len, 0);
        uint8_t* h = f.b.data() + off;
        h[0] = static_cast<uint8_t>(sport >> 8);
        h[1] = static_cast<uint8_t>(sport);
        h[2] = static_cast<uint8_t>(dport >> 8);
        h[3] = static_cast<uint8_t>(dport);
        if (proto == 6) {
            h[4] = 0x12;  // seq
            h[12] = 5 << 4;
            h[13] = flags;
            h[14] = 0xff;
            h[15] = 0xff;
            std::memcpy(h + 20, payload.data(), payload.size());
        } else {
            h[4] = static_cast<uint8_t>(l4len >> 8);
            h[5] = static_cast<uint8_t>(l4len);
            std::memcpy(h + 8, payload.data(), payload.size());
        }
        if (proto == 6 || udp_csum) {
            uint16_t c = static_cast<uint16_t>(~fold(f.pseudo_sum() + sum16(h, l4len)));
            if (proto == 17 && c == 0) {
                c = 0xffff;
            }
            h[proto == 6 ? 16 : 6] = static_cast<uint8_t>(c >> 8);
            h[proto == 6 ? 17 : 7] = static_cast<uint8_t>(c);
        }
        return f;
    }

    /// IPv4 + SCTP: the common header with verification tag `vtag`, then `chunks` (each padded
    /// to 4 bytes), with a valid CRC32c stored least significant byte first (RFC 9260 app. A).
    static Frame sctp(const Mac& dst, const Mac& src, uint32_t saddr, uint16_t sport,
                      uint32_t daddr, uint16_t dport, uint32_t vtag,
                      std::initializer_list<Chunk> chunks, uint8_t ttl = 64) {
        std::vector<uint8_t> l4(12, 0);
        l4[0] = static_cast<uint8_t>(sport >> 8);
        l4[1] = static_cast<uint8_t>(sport);
        l4[2] = static_cast<uint8_t>(dport >> 8);
        l4[3] = static_cast<uint8_t>(dport);
        for (int i = 0; i < 4; ++i) {
            l4[4 + i] = static_cast<uint8_t>(vtag >> (24 - 8 * i));
        }
        for (const Chunk& c : chunks) {
            const size_t len = 4 + c.value.size();
            l4.push_back(c.type);
            l4.push_back(c.flags);
            l4.push_back(static_cast<uint8_t>(len >> 8));
            l4.push_back(static_cast<uint8_t>(len));
            l4.insert(l4.end(), c.value.begin(), c.value.end());
            l4.resize((l4.size() + 3) & ~size_t{3}, 0);
        }
        const uint32_t crc = crc32c_bitwise(l4.data(), l4.size());
        for (int i = 0; i < 4; ++i) {
            l4[8 + i] = static_cast<uint8_t>(crc >> (8 * i));
        }
        Frame f = eth(dst, src, 0x0800);
        f.ipv4(132, saddr, daddr, ttl, l4.size());
        f.b.insert(f.b.end(), l4.begin(), l4.end());
        return f;
    }

    static Frame icmp_echo(const Mac& dst, const Mac& src, uint32_t saddr, uint32_t daddr,
                           uint8_t ttl = 64) {
        Frame f = eth(dst, src, 0x0800);
        f.ipv4(1, saddr, daddr, ttl, 16);
        const size_t off = f.b.size();
        f.b.resize(off + 16, 0);
        uint8_t* h = f.b.data() + off;
        h[0] = 8;
        h[4] = 0x12;
        h[5] = 0x34;  // id
        h[7] = 1;     // seq
        std::memcpy(h + 8, "dirigo!!", 8);
        const uint16_t c = static_cast<uint16_t>(~fold(sum16(h, 16)));
        h[2] = static_cast<uint8_t>(c >> 8);
        h[3] = static_cast<uint8_t>(c);
        return f;
    }

    /// An ICMP error (type/code) from `from` to `to` quoting the first 28 bytes of `quoted`'s IP
    /// packet (its IP header and 8 transport bytes, as RFC 792 guarantees).
    static Frame icmp_error(const Mac& dst, const Mac& src, uint32_t from, uint32_t to,
                            uint8_t type, uint8_t code, const Frame& quoted) {
        Frame f = eth(dst, src, 0x0800);
        f.ipv4(1, from, to, 64, 8 + 28);
        const size_t off = f.b.size();
        f.b.resize(off + 8, 0);
        f.b[off] = type;
        f.b[off + 1] = code;
        f.b.insert(f.b.end(), quoted.b.begin() + 14, quoted.b.begin() + 14 + 28);
        const uint16_t c = static_cast<uint16_t>(~fold(sum16(f.b.data() + off, 36)));
        f.b[off + 2] = static_cast<uint8_t>(c >> 8);
        f.b[off + 3] = static_cast<uint8_t>(c);
        return f;
    }

    static Frame arp(const Mac& dst, const Mac& src, uint16_t op, const Mac& sha, uint32_t sip,
                     const Mac& tha, uint32_t tip) {
        Frame f = eth(dst, src, 0x0806);
        const uint8_t hdr[] = {0, 1, 8, 0, 6, 4, 0, static_cast<uint8_t>(op)};
        f.b.insert(f.b.end(), hdr, hdr + 8);
        f.b.insert(f.b.end(), sha.begin(), sha.end());
        f.b.insert(f.b.end(), reinterpret_cast<uint8_t*>(&sip), reinterpret_cast<uint8_t*>(&sip) + 4);
        f.b.insert(f.b.end(), tha.begin(), tha.end());
        f.b.insert(f.b.end(), reinterpret_cast<uint8_t*>(&tip), reinterpret_cast<uint8_t*>(&tip) + 4);
        f.b.resize(60, 0);
        return f;
    }

    void ipv4(uint8_t proto, uint32_t saddr, uint32_t daddr, uint8_t ttl, size_t l4len) {
        const size_t off = b.size();
        b.resize(off + 20, 0);
        uint8_t* h = b.data() + off;
        const size_t tot = 20 + l4len;
        h[0] = 0x45;
        h[2] = static_cast<uint8_t>(tot >> 8);
        h[3] = static_cast<uint8_t>(tot);
        h[4] = 0xbe;
        h[5] = 0xef;
        h[6] = 0x40;  // DF
        h[8] = ttl;
        h[9] = proto;
        std::memcpy(h + 12, &saddr, 4);
        std::memcpy(h + 16, &daddr, 4);
        const uint16_t c = static_cast<uint16_t>(~fold(sum16(h, 20)));
        h[10] = static_cast<uint8_t>(c >> 8);
        h[11] = static_cast<uint8_t>(c);
    }

    // Accessors (frame must be IPv4 with a 20-byte header).
    const uint8_t* iph() const { return b.data() + 14; }
    const uint8_t* l4h() const { return b.data() + 34; }
    uint16_t ethertype() const { return static_cast<uint16_t>(b[12] << 8 | b[13]); }
    Mac dst_mac() const { return {b[0], b[1], b[2], b[3], b[4], b[5]}; }
    Mac src_mac() const { return {b[6], b[7], b[8], b[9], b[10], b[11]}; }
    uint32_t saddr() const { uint32_t a; std::memcpy(&a, iph() + 12, 4); return a; }
    uint32_t daddr() const { uint32_t a; std::memcpy(&a, iph() + 16, 4); return a; }
    uint8_t ttl() const { return iph()[8]; }
    uint8_t proto() const { return iph()[9]; }
    uint16_t sport() const { return static_cast<uint16_t>(l4h()[0] << 8 | l4h()[1]); }
    uint16_t dport() const { return static_cast<uint16_t>(l4h()[2] << 8 | l4h()[3]); }
    size_t ip_len() const { return static_cast<size_t>(iph()[2] << 8 | iph()[3]); }

    /// SCTP: the stored CRC32c matches the packet (computed here bit by bit).
    bool sctp_crc_ok() const {
        std::vector<uint8_t> l4(l4h(), iph() + ip_len());
        const uint32_t stored = static_cast<uint32_t>(l4[8]) | static_cast<uint32_t>(l4[9]) << 8 |
                                static_cast<uint32_t>(l4[10]) << 16 |
                                static_cast<uint32_t>(l4[11]) << 24;
        std::fill(l4.begin() + 8, l4.begin() + 12, 0);
        return stored == crc32c_bitwise(l4.data(), l4.size());
    }
    uint32_t sctp_vtag() const {
        return static_cast<uint32_t>(l4h()[4]) << 24 | static_cast<uint32_t>(l4h()[5]) << 16 |
               static_cast<uint32_t>(l4h()[6]) << 8 | l4h()[7];
    }

    uint32_t pseudo_sum() const {
        const uint8_t* h = iph();
        uint32_t s = sum16(h + 12, 8);
        s += proto();
        s += static_cast<uint32_t>(ip_len() - 20);
        return s;
    }
    bool ip_csum_ok() const { return fold(sum16(iph(), 20)) == 0xffff; }
    bool l4_csum_ok() const {
        const size_t l4len = ip_len() - 20;
        if (proto() == 17 && l4h()[6] == 0 && l4h()[7] == 0) {
            return true;  // no checksum
        }
        if (proto() == 1) {
            return fold(sum16(l4h(), l4len)) == 0xffff;
        }
        return fold(pseudo_sum() + sum16(l4h(), l4len)) == 0xffff;
    }
    // ARP accessors
    uint16_t arp_op() const { return static_cast<uint16_t>(b[20] << 8 | b[21]); }
    uint32_t arp_sip() const { uint32_t a; std::memcpy(&a, b.data() + 28, 4); return a; }
    uint32_t arp_tip() const { uint32_t a; std::memcpy(&a, b.data() + 38, 4); return a; }
    Mac arp_sha() const { return {b[22], b[23], b[24], b[25], b[26], b[27]}; }
};

/// `f` with an 802.1Q tag (`tpid`, normally 0x8100; TCI `tci`) after its MAC addresses.
inline Frame tagged(const Frame& f, uint16_t tci, uint16_t tpid = 0x8100) {
    Frame t = f;
    const uint8_t tag[] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
                           static_cast<uint8_t>(tci >> 8), static_cast<uint8_t>(tci)};
    t.b.insert(t.b.begin() + 12, tag, tag + 4);
    return t;
}

/// The tag of a tagged frame: its TCI, or -1 when the frame is untagged.
inline int tag_of(const Frame& f) {
    return f.b.size() >= 18 && f.b[12] == 0x81 && f.b[13] == 0x00 ? (f.b[14] << 8 | f.b[15]) : -1;
}

/// `f` without its 802.1Q tag (unchanged when it has none).
inline Frame untagged(const Frame& f) {
    Frame u = f;
    if (tag_of(f) >= 0) {
        u.b.erase(u.b.begin() + 12, u.b.begin() + 16);
    }
    return u;
}

// Sets the fragment fields of an IPv4 frame and fixes its header checksum.
inline void set_frag(Frame& f, bool more, uint16_t offset8) {
    const uint16_t v = static_cast<uint16_t>((more ? 0x2000 : 0) | offset8);
    f.b[14 + 6] = static_cast<uint8_t>(v >> 8);
    f.b[14 + 7] = static_cast<uint8_t>(v);
    f.b[14 + 10] = f.b[14 + 11] = 0;
    const uint16_t c = static_cast<uint16_t>(~fold(sum16(f.b.data() + 14, 20)));
    f.b[14 + 10] = static_cast<uint8_t>(c >> 8);
    f.b[14 + 11] = static_cast<uint8_t>(c);
}

// The fragments a sender's IP layer makes of `whole` (IHL 5) for `mtu`: one id, DF clear, MF on
// all but the last, payloads of a multiple of 8 bytes but the last's, header checksums valid.
inline std::vector<Frame> fragments_of(const Frame& whole, size_t mtu) {
    std::vector<Frame> out;
    const size_t payload = whole.ip_len() - 20;
    const size_t step = (mtu - 20) & ~size_t{7};
    for (size_t off = 0; off < payload; off += step) {
        const size_t len = std::min(step, payload - off);
        Frame f;
        f.b.assign(whole.b.begin(), whole.b.begin() + 34);
        f.b.insert(f.b.end(), whole.b.begin() + static_cast<ptrdiff_t>(34 + off),
                   whole.b.begin() + static_cast<ptrdiff_t>(34 + off + len));
        const size_t tot = 20 + len;
        f.b[14 + 2] = static_cast<uint8_t>(tot >> 8);
        f.b[14 + 3] = static_cast<uint8_t>(tot);
        set_frag(f, off + len < payload, static_cast<uint16_t>(off / 8));
        out.push_back(std::move(f));
    }
    return out;
}

}  // namespace dirigo::test
