// SPDX-License-Identifier: BSD-3-Clause
#include "ipvs/emulator.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>

#include "config/addr.hpp"

namespace dirigo::ipvs {

namespace {

// Dirigo's service flags use the kernel's bit values; the translation copies them.
static_assert(cfg::kSvcPersistent == IP_VS_SVC_F_PERSISTENT);
static_assert(cfg::kSvcHashed == IP_VS_SVC_F_HASHED);
static_assert(cfg::kSvcOnePacket == IP_VS_SVC_F_ONEPACKET);
static_assert(cfg::kSvcSched1 == IP_VS_SVC_F_SCHED1);
static_assert(cfg::kSvcSched2 == IP_VS_SVC_F_SCHED2);
static_assert(cfg::kSvcSched3 == IP_VS_SVC_F_SCHED3);
// So do the tunnel types and checksum flags of real servers.
static_assert(static_cast<int>(cfg::TunType::Gue) == IP_VS_CONN_F_TUNNEL_TYPE_GUE);
static_assert(static_cast<int>(cfg::TunType::Gre) == IP_VS_CONN_F_TUNNEL_TYPE_GRE);
static_assert(static_cast<int>(cfg::TunCsum::Csum) == IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
static_assert(static_cast<int>(cfg::TunCsum::RemCsum) == IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);

/// One reply message is built in a buffer of this size. The largest (a service with both stats
/// nests and a scheduler name cut to IP_VS_SCHEDNAME_MAXLEN) is under 512 bytes, so the unchecked
/// libmnl puts below cannot overrun it.
constexpr size_t kMsgBuf = 4096;
/// handle()'s "a dump was sent, no ack" result; never a -errno value.
constexpr int kDumped = 1;

// ---- Attribute validation: the kernel's nla_policy checks in liberal mode. ----

enum class Kind : uint8_t { None, U8, U16, U32, U64, Nested, Binary, NulString };

struct Rule {
    Kind kind = Kind::None;
    uint16_t len = 0;  ///< Binary: longest payload; NulString: longest string without its NUL
};

template <size_t N>
using Policy = std::array<Rule, N>;
template <size_t N>
using Attrs = std::array<const nlattr*, N>;

constexpr Policy<IPVS_CMD_ATTR_MAX + 1> make_cmd_policy() {
    Policy<IPVS_CMD_ATTR_MAX + 1> p{};
    p[IPVS_CMD_ATTR_SERVICE] = {Kind::Nested, 0};
    p[IPVS_CMD_ATTR_DEST] = {Kind::Nested, 0};
    p[IPVS_CMD_ATTR_DAEMON] = {Kind::Nested, 0};
    p[IPVS_CMD_ATTR_TIMEOUT_TCP] = {Kind::U32, 0};
    p[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] = {Kind::U32, 0};
    p[IPVS_CMD_ATTR_TIMEOUT_UDP] = {Kind::U32, 0};
    return p;
}

constexpr Policy<IPVS_SVC_ATTR_MAX + 1> make_svc_policy() {
    Policy<IPVS_SVC_ATTR_MAX + 1> p{};
    p[IPVS_SVC_ATTR_AF] = {Kind::U16, 0};
    p[IPVS_SVC_ATTR_PROTOCOL] = {Kind::U16, 0};
    p[IPVS_SVC_ATTR_ADDR] = {Kind::Binary, 16};
    p[IPVS_SVC_ATTR_PORT] = {Kind::U16, 0};
    p[IPVS_SVC_ATTR_FWMARK] = {Kind::U32, 0};
    p[IPVS_SVC_ATTR_SCHED_NAME] = {Kind::NulString, IP_VS_SCHEDNAME_MAXLEN - 1};
    p[IPVS_SVC_ATTR_PE_NAME] = {Kind::NulString, IP_VS_PENAME_MAXLEN - 1};
    p[IPVS_SVC_ATTR_FLAGS] = {Kind::Binary, sizeof(ip_vs_flags)};
    p[IPVS_SVC_ATTR_TIMEOUT] = {Kind::U32, 0};
    p[IPVS_SVC_ATTR_NETMASK] = {Kind::U32, 0};
    p[IPVS_SVC_ATTR_STATS] = {Kind::Nested, 0};
    return p;
}

constexpr Policy<IPVS_DEST_ATTR_MAX + 1> make_dest_policy() {
    Policy<IPVS_DEST_ATTR_MAX + 1> p{};
    p[IPVS_DEST_ATTR_ADDR] = {Kind::Binary, 16};
    p[IPVS_DEST_ATTR_PORT] = {Kind::U16, 0};
    p[IPVS_DEST_ATTR_FWD_METHOD] = {Kind::U32, 0};
    p[IPVS_DEST_ATTR_WEIGHT] = {Kind::U32, 0};
    p[IPVS_DEST_ATTR_U_THRESH] = {Kind::U32, 0};
    p[IPVS_DEST_ATTR_L_THRESH] = {Kind::U32, 0};
    p[IPVS_DEST_ATTR_ACTIVE_CONNS] = {Kind::U32, 0};
    p[IPVS_DEST_ATTR_INACT_CONNS] = {Kind::U32, 0};
    p[IPVS_DEST_ATTR_PERSIST_CONNS] = {Kind::U32, 0};
    p[IPVS_DEST_ATTR_STATS] = {Kind::Nested, 0};
    p[IPVS_DEST_ATTR_ADDR_FAMILY] = {Kind::U16, 0};
    p[IPVS_DEST_ATTR_TUN_TYPE] = {Kind::U8, 0};
    p[IPVS_DEST_ATTR_TUN_PORT] = {Kind::U16, 0};
    p[IPVS_DEST_ATTR_TUN_FLAGS] = {Kind::U16, 0};
    return p;
}

constexpr Policy<IPVS_DAEMON_ATTR_MAX + 1> make_daemon_policy() {
    Policy<IPVS_DAEMON_ATTR_MAX + 1> p{};
    p[IPVS_DAEMON_ATTR_STATE] = {Kind::U32, 0};
    p[IPVS_DAEMON_ATTR_MCAST_IFN] = {Kind::NulString, IP_VS_IFNAME_MAXLEN - 1};
    p[IPVS_DAEMON_ATTR_SYNC_ID] = {Kind::U32, 0};
    p[IPVS_DAEMON_ATTR_SYNC_MAXLEN] = {Kind::U16, 0};
    p[IPVS_DAEMON_ATTR_MCAST_GROUP] = {Kind::U32, 0};
    p[IPVS_DAEMON_ATTR_MCAST_GROUP6] = {Kind::Binary, 16};
    p[IPVS_DAEMON_ATTR_MCAST_PORT] = {Kind::U16, 0};
    p[IPVS_DAEMON_ATTR_MCAST_TTL] = {Kind::U8, 0};
    return p;
}

constexpr Policy<CTRL_ATTR_MAX + 1> make_ctrl_policy() {
    Policy<CTRL_ATTR_MAX + 1> p{};
    p[CTRL_ATTR_FAMILY_ID] = {Kind::U16, 0};
    p[CTRL_ATTR_FAMILY_NAME] = {Kind::NulString, GENL_NAMSIZ - 1};
    return p;
}

constexpr auto kCmdPolicy = make_cmd_policy();
constexpr auto kSvcPolicy = make_svc_policy();
constexpr auto kDestPolicy = make_dest_policy();
constexpr auto kDaemonPolicy = make_daemon_policy();
constexpr auto kCtrlPolicy = make_ctrl_policy();

/// 0 or the kernel's -errno for one attribute against its rule (lib/nlattr.c, validate_nla).
int validate(const nlattr* a, const Rule& r) {
    const size_t len = mnl_attr_get_payload_len(a);
    const auto* data = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
    switch (r.kind) {
        case Kind::None:
            return 0;
        case Kind::U8:
            return len < 1 ? -ERANGE : 0;
        case Kind::U16:
            return len < 2 ? -ERANGE : 0;
        case Kind::U32:
            return len < 4 ? -ERANGE : 0;
        case Kind::U64:
            return len < 8 ? -ERANGE : 0;
        case Kind::Nested:
            // An empty nest is allowed; a non-empty one holds at least an attribute header.
            return len != 0 && len < MNL_ATTR_HDRLEN ? -ERANGE : 0;
        case Kind::Binary:
            return len > r.len ? -ERANGE : 0;
        case Kind::NulString: {
            const size_t scan = std::min<size_t>(len, size_t{r.len} + 1);
            if (scan == 0 || std::memchr(data, '\0', scan) == nullptr) {
                return -EINVAL;
            }
            const size_t chars = data[len - 1] == '\0' ? len - 1 : len;
            return chars > r.len ? -ERANGE : 0;
        }
    }
    return 0;
}

/// Parses the attributes in [data, data + len) into `tb` (the last of a repeated type wins, as in
/// the kernel). Unknown types and trailing bytes that do not form an attribute are ignored.
template <size_t N>
int parse_attrs(const void* data, size_t len, const Policy<N>& pol, Attrs<N>& tb) {
    tb.fill(nullptr);
    if (len > INT_MAX) {
        return -EINVAL;
    }
    int rem = static_cast<int>(len);
    const auto* a = static_cast<const nlattr*>(data);
    while (mnl_attr_ok(a, rem)) {
        const uint16_t type = mnl_attr_get_type(a);
        if (type < N) {
            if (const int err = validate(a, pol[type]); err != 0) {
                return err;
            }
            tb[type] = a;
        }
        rem -= static_cast<int>(MNL_ALIGN(a->nla_len));
        a = mnl_attr_next(a);
    }
    return 0;
}

template <size_t N>
int parse_nested(const nlattr* nest, const Policy<N>& pol, Attrs<N>& tb) {
    return parse_attrs(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), pol, tb);
}

// Getters read the leading bytes, as nla_get_* do (a longer attribute is accepted).
uint8_t get_u8(const nlattr* a) {
    uint8_t v = 0;
    std::memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
    return v;
}
uint16_t get_u16(const nlattr* a) {
    uint16_t v = 0;
    std::memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
    return v;
}
uint32_t get_u32(const nlattr* a) {
    uint32_t v = 0;
    std::memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
    return v;
}
/// nla_memcpy: at most `n` bytes, the rest zero.
template <size_t N>
std::array<uint8_t, N> get_bytes(const nlattr* a) {
    std::array<uint8_t, N> out{};
    std::memcpy(out.data(), mnl_attr_get_payload(a),
                std::min<size_t>(N, mnl_attr_get_payload_len(a)));
    return out;
}
/// A validated NulString: its bytes up to the first NUL.
std::string get_string(const nlattr* a) {
    const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
    return std::string(p, strnlen(p, mnl_attr_get_payload_len(a)));
}

// ---- Requests, as ip_vs_genl_parse_service / ip_vs_genl_parse_dest read them. ----

struct SvcSpec {
    uint16_t af = 0;
    uint32_t fwmark = 0;  ///< IPVS_SVC_ATTR_FWMARK (0: not given, or given as 0)
    uint16_t protocol = 0;
    std::array<uint8_t, 16> addr{};
    uint16_t port_be = 0;
    // Full entries only.
    std::string sched;
    std::string pe;
    ip_vs_flags flags{};
    uint32_t timeout = 0;
    uint32_t netmask_be = 0;
};

int parse_service(const nlattr* nest, bool full, SvcSpec& s) {
    Attrs<IPVS_SVC_ATTR_MAX + 1> tb;
    if (nest == nullptr || parse_nested(nest, kSvcPolicy, tb) != 0) {
        return -EINVAL;
    }
    const bool by_addr = tb[IPVS_SVC_ATTR_PROTOCOL] != nullptr &&
                         tb[IPVS_SVC_ATTR_ADDR] != nullptr && tb[IPVS_SVC_ATTR_PORT] != nullptr;
    if (tb[IPVS_SVC_ATTR_AF] == nullptr || (tb[IPVS_SVC_ATTR_FWMARK] == nullptr && !by_addr)) {
        return -EINVAL;
    }
    s.af = get_u16(tb[IPVS_SVC_ATTR_AF]);
    // ip_vs_genl_parse_service: IPv4 and IPv6 (a kernel with CONFIG_IP_VS_IPV6).
    if (s.af != AF_INET && s.af != AF_INET6) {
        return -EAFNOSUPPORT;
    }
    if (tb[IPVS_SVC_ATTR_FWMARK] != nullptr) {
        s.protocol = IPPROTO_TCP;
        s.fwmark = get_u32(tb[IPVS_SVC_ATTR_FWMARK]);
    } else {
        s.protocol = get_u16(tb[IPVS_SVC_ATTR_PROTOCOL]);
        s.addr = get_bytes<16>(tb[IPVS_SVC_ATTR_ADDR]);
        s.port_be = get_u16(tb[IPVS_SVC_ATTR_PORT]);
    }
    if (!full) {
        return 0;
    }
    if (tb[IPVS_SVC_ATTR_SCHED_NAME] == nullptr || tb[IPVS_SVC_ATTR_FLAGS] == nullptr ||
        tb[IPVS_SVC_ATTR_TIMEOUT] == nullptr || tb[IPVS_SVC_ATTR_NETMASK] == nullptr) {
        return -EINVAL;
    }
    s.sched = get_string(tb[IPVS_SVC_ATTR_SCHED_NAME]);
    if (tb[IPVS_SVC_ATTR_PE_NAME] != nullptr) {
        s.pe = get_string(tb[IPVS_SVC_ATTR_PE_NAME]);
    }
    const auto fl = get_bytes<sizeof(ip_vs_flags)>(tb[IPVS_SVC_ATTR_FLAGS]);
    std::memcpy(&s.flags, fl.data(), sizeof(s.flags));
    s.timeout = get_u32(tb[IPVS_SVC_ATTR_TIMEOUT]);
    s.netmask_be = get_u32(tb[IPVS_SVC_ATTR_NETMASK]);
    return 0;
}

/// The Dirigo key of a parsed service; nullopt for what Dirigo cannot hold (a protocol other
/// than TCP, UDP and SCTP), which therefore never exists. A firewall-mark service is its mark
/// alone, as the kernel's ip_vs_genl_parse_service makes it (protocol TCP, no address or port).
std::optional<cfg::ServiceKey> key_of(const SvcSpec& s) {
    cfg::ServiceKey k;
    k.af = s.af == AF_INET6 ? cfg::Family::Inet6 : cfg::Family::Inet;
    if (s.fwmark != 0) {
        k.fwmark = s.fwmark;
        return k;
    }
    if (s.protocol != IPPROTO_TCP && s.protocol != IPPROTO_UDP && s.protocol != IPPROTO_SCTP) {
        return std::nullopt;
    }
    k.proto = static_cast<cfg::Proto>(s.protocol);  // cfg::Proto's values are IPPROTO_*
    if (k.af == cfg::Family::Inet6) {
        std::memcpy(k.addr6.b.data(), s.addr.data(), k.addr6.b.size());  // network order both
    } else {
        uint32_t a = 0;
        std::memcpy(&a, s.addr.data(), sizeof(a));
        k.addr = ntohl(a);
    }
    k.port = ntohs(s.port_be);
    return k;
}

struct DestSpec {
    uint16_t af = 0;  ///< 0: not given (the service's)
    std::array<uint8_t, 16> addr{};
    uint16_t port_be = 0;
    uint32_t fwd = 0;
    int32_t weight = 0;
    uint32_t u_threshold = 0;
    uint32_t l_threshold = 0;
    uint8_t tun_type = 0;      ///< IP_VS_CONN_F_TUNNEL_TYPE_*
    uint16_t tun_port_be = 0;  ///< network order
    uint16_t tun_flags = 0;    ///< IP_VS_TUNNEL_ENCAP_FLAG_*
};

int parse_dest(const nlattr* nest, bool full, DestSpec& d) {
    Attrs<IPVS_DEST_ATTR_MAX + 1> tb;
    if (nest == nullptr || parse_nested(nest, kDestPolicy, tb) != 0) {
        return -EINVAL;
    }
    if (tb[IPVS_DEST_ATTR_ADDR] == nullptr || tb[IPVS_DEST_ATTR_PORT] == nullptr) {
        return -EINVAL;
    }
    d.addr = get_bytes<16>(tb[IPVS_DEST_ATTR_ADDR]);
    d.port_be = get_u16(tb[IPVS_DEST_ATTR_PORT]);
    if (tb[IPVS_DEST_ATTR_ADDR_FAMILY] != nullptr) {
        d.af = get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY]);
    }
    if (!full) {
        return 0;
    }
    if (tb[IPVS_DEST_ATTR_FWD_METHOD] == nullptr || tb[IPVS_DEST_ATTR_WEIGHT] == nullptr ||
        tb[IPVS_DEST_ATTR_U_THRESH] == nullptr || tb[IPVS_DEST_ATTR_L_THRESH] == nullptr) {
        return -EINVAL;
    }
    d.fwd = get_u32(tb[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
    d.weight = static_cast<int32_t>(get_u32(tb[IPVS_DEST_ATTR_WEIGHT]));
    d.u_threshold = get_u32(tb[IPVS_DEST_ATTR_U_THRESH]);
    d.l_threshold = get_u32(tb[IPVS_DEST_ATTR_L_THRESH]);
    if (tb[IPVS_DEST_ATTR_TUN_TYPE] != nullptr) {
        d.tun_type = get_u8(tb[IPVS_DEST_ATTR_TUN_TYPE]);
    }
    if (tb[IPVS_DEST_ATTR_TUN_PORT] != nullptr) {
        d.tun_port_be = get_u16(tb[IPVS_DEST_ATTR_TUN_PORT]);
    }
    if (tb[IPVS_DEST_ATTR_TUN_FLAGS] != nullptr) {
        d.tun_flags = get_u16(tb[IPVS_DEST_ATTR_TUN_FLAGS]);
    }
    return 0;
}

// ---- Replies. ----

/// One reply message under construction (libmnl on a fixed buffer, see kMsgBuf).
class Msg {
public:
    Msg(uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid) {
        nlh_ = mnl_nlmsg_put_header(buf_.data());
        nlh_->nlmsg_type = type;
        nlh_->nlmsg_flags = flags;
        nlh_->nlmsg_seq = seq;
        nlh_->nlmsg_pid = portid;
    }
    void genl(uint8_t cmd, uint8_t version) {
        auto* g = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(genlmsghdr)));
        g->cmd = cmd;
        g->version = version;
    }
    nlmsghdr* nlh() { return nlh_; }
    std::span<const uint8_t> bytes() const { return {buf_.data(), nlh_->nlmsg_len}; }

private:
    alignas(8) std::array<uint8_t, kMsgBuf> buf_{};
    nlmsghdr* nlh_;
};

/// What a request produced: whole datagrams, in delivery order.
using Datagrams = std::vector<std::vector<uint8_t>>;

void push_datagram(Datagrams& out, std::span<const uint8_t> msg) {
    out.emplace_back(msg.begin(), msg.end());
}

/// Packs dump messages into datagrams of at most kMaxDumpDatagram bytes, then NLMSG_DONE.
class Dump {
public:
    Dump(Datagrams& out, const nlmsghdr* req, uint32_t portid)
        : out_(out), seq_(req->nlmsg_seq), portid_(portid) {}
    uint32_t seq() const { return seq_; }
    uint32_t portid() const { return portid_; }
    void add(std::span<const uint8_t> msg) {
        const size_t padded = MNL_ALIGN(msg.size());
        if (!cur_.empty() && cur_.size() + padded > kMaxDumpDatagram) {
            out_.push_back(std::move(cur_));
            cur_.clear();
        }
        const size_t at = cur_.size();
        cur_.resize(at + padded, 0);
        std::memcpy(cur_.data() + at, msg.data(), msg.size());
    }
    /// NLMSG_DONE carrying the dump's status 0, in the last datagram when it fits.
    void finish() {
        Msg done(NLMSG_DONE, NLM_F_MULTI, seq_, portid_);
        auto* status = static_cast<int*>(mnl_nlmsg_put_extra_header(done.nlh(), sizeof(int)));
        *status = 0;
        add(done.bytes());
        out_.push_back(std::move(cur_));
        cur_.clear();
    }

private:
    Datagrams& out_;
    std::vector<uint8_t> cur_;
    uint32_t seq_;
    uint32_t portid_;
};

/// netlink_ack: NLMSG_ERROR with `err` (0 or -errno) and the request's header, plus its payload
/// for an error unless the socket set NETLINK_CAP_ACK.
void put_ack(Datagrams& out, const nlmsghdr* req, int err, bool cap_ack, uint32_t portid) {
    const bool whole = err != 0 && !cap_ack;
    const size_t payload = sizeof(nlmsgerr) + (whole ? req->nlmsg_len - NLMSG_HDRLEN : 0);
    std::vector<uint8_t> d(NLMSG_ALIGN(NLMSG_HDRLEN + payload), 0);
    nlmsghdr h{};
    h.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + payload);
    h.nlmsg_type = NLMSG_ERROR;
    h.nlmsg_flags = whole ? 0 : NLM_F_CAPPED;
    h.nlmsg_seq = req->nlmsg_seq;
    h.nlmsg_pid = portid;
    std::memcpy(d.data(), &h, sizeof(h));
    std::memcpy(d.data() + NLMSG_HDRLEN, &err, sizeof(err));
    std::memcpy(d.data() + NLMSG_HDRLEN + sizeof(int), req, whole ? req->nlmsg_len : NLMSG_HDRLEN);
    out.push_back(std::move(d));
}

void put_stats(nlmsghdr* nlh, uint16_t type, const ctl::Stats& s, const ctl::Rates& r, bool wide) {
    nlattr* nest = mnl_attr_nest_start(nlh, type);
    const auto u32 = [&](uint16_t t, uint64_t v) {
        // The 32-bit nest truncates, as the kernel's (u32) casts do.
        if (wide) {
            mnl_attr_put_u64(nlh, t, v);
        } else {
            mnl_attr_put_u32(nlh, t, static_cast<uint32_t>(v));
        }
    };
    u32(IPVS_STATS_ATTR_CONNS, s.conns);
    u32(IPVS_STATS_ATTR_INPKTS, s.inpkts);
    u32(IPVS_STATS_ATTR_OUTPKTS, s.outpkts);
    mnl_attr_put_u64(nlh, IPVS_STATS_ATTR_INBYTES, s.inbytes);
    mnl_attr_put_u64(nlh, IPVS_STATS_ATTR_OUTBYTES, s.outbytes);
    u32(IPVS_STATS_ATTR_CPS, r.cps);
    u32(IPVS_STATS_ATTR_INPPS, r.inpps);
    u32(IPVS_STATS_ATTR_OUTPPS, r.outpps);
    u32(IPVS_STATS_ATTR_INBPS, r.inbps);
    u32(IPVS_STATS_ATTR_OUTBPS, r.outbps);
    mnl_attr_nest_end(nlh, nest);
}

void put_addr(nlmsghdr* nlh, uint16_t type, cfg::Family af, cfg::Ip4 addr, const cfg::Ip6& addr6) {
    std::array<uint8_t, 16> a{};  // union nf_inet_addr: the IPv4 address first
    if (af == cfg::Family::Inet6) {
        a = addr6.b;
    } else {
        const uint32_t be = htonl(addr);
        std::memcpy(a.data(), &be, sizeof(be));
    }
    mnl_attr_put(nlh, type, a.size(), a.data());
}

uint16_t kernel_af(cfg::Family af) {
    return af == cfg::Family::Inet6 ? AF_INET6 : AF_INET;
}

/// ip_vs_genl_fill_service.
void put_service(nlmsghdr* nlh, const ctl::ServiceInfo& si) {
    const cfg::Service& s = si.service;
    nlattr* nest = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_SERVICE);
    mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_AF, kernel_af(s.key.af));
    // As the kernel: a fwmark service carries its mark instead of protocol, address and port.
    if (s.key.fwmark != 0) {
        mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_FWMARK, s.key.fwmark);
    } else {
        mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PROTOCOL, static_cast<uint16_t>(s.key.proto));
        put_addr(nlh, IPVS_SVC_ATTR_ADDR, s.key.af, s.key.addr, s.key.addr6);
        mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PORT, htons(s.key.port));
    }
    const std::string sched = s.scheduler.substr(0, IP_VS_SCHEDNAME_MAXLEN - 1);
    mnl_attr_put_strz(nlh, IPVS_SVC_ATTR_SCHED_NAME, sched.c_str());
    // A listed service is in the kernel's hash table, so it carries IP_VS_SVC_F_HASHED.
    const ip_vs_flags flags{s.flags | IP_VS_SVC_F_HASHED, ~0u};
    mnl_attr_put(nlh, IPVS_SVC_ATTR_FLAGS, sizeof(flags), &flags);
    mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_TIMEOUT, s.timeout);
    // An IPv6 service's netmask is its prefix length, a plain number (the kernel's plen).
    mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_NETMASK,
                     s.key.af == cfg::Family::Inet6 ? uint32_t{s.prefix6} : htonl(s.netmask));
    put_stats(nlh, IPVS_SVC_ATTR_STATS, si.stats, si.rates, false);
    put_stats(nlh, IPVS_SVC_ATTR_STATS64, si.stats, si.rates, true);
    mnl_attr_nest_end(nlh, nest);
}

uint32_t fwd_to_kernel(cfg::Fwd f) {
    switch (f) {
        case cfg::Fwd::Masq:
            return IP_VS_CONN_F_MASQ;
        case cfg::Fwd::Route:
            return IP_VS_CONN_F_DROUTE;
        case cfg::Fwd::Tunnel:
            return IP_VS_CONN_F_TUNNEL;
    }
    return IP_VS_CONN_F_MASQ;
}

std::optional<cfg::Fwd> fwd_from_kernel(uint32_t f) {
    switch (f) {
        case IP_VS_CONN_F_MASQ:
            return cfg::Fwd::Masq;
        case IP_VS_CONN_F_DROUTE:
            return cfg::Fwd::Route;
        case IP_VS_CONN_F_TUNNEL:
            return cfg::Fwd::Tunnel;
        default:
            return std::nullopt;
    }
}

/// ip_vs_genl_fill_dest.
void put_dest(nlmsghdr* nlh, const ctl::DestInfo& d) {
    nlattr* nest = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_DEST);
    put_addr(nlh, IPVS_DEST_ATTR_ADDR, d.server.af, d.server.addr, d.server.addr6);
    mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_PORT, htons(d.server.port));
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_FWD_METHOD, fwd_to_kernel(d.server.fwd));
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_WEIGHT, static_cast<uint32_t>(d.server.weight));
    // Our TunType and TunCsum use IPVS's numbers; the port goes out in network order.
    mnl_attr_put_u8(nlh, IPVS_DEST_ATTR_TUN_TYPE, static_cast<uint8_t>(d.server.tun_type));
    mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_TUN_PORT, htons(d.server.tun_port));
    mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_TUN_FLAGS, static_cast<uint16_t>(d.server.tun_csum));
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_U_THRESH, d.server.u_threshold);
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_L_THRESH, d.server.l_threshold);
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_ACTIVE_CONNS, d.active);
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_INACT_CONNS, d.inactive);
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_PERSIST_CONNS, d.persistent);
    mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_ADDR_FAMILY, kernel_af(d.server.af));
    put_stats(nlh, IPVS_DEST_ATTR_STATS, d.stats, d.rates, false);
    put_stats(nlh, IPVS_DEST_ATTR_STATS64, d.stats, d.rates, true);
    mnl_attr_nest_end(nlh, nest);
}

/// One row of ip_vs_genl_ops: which commands exist and whether they take a request or a dump.
struct OpRow {
    uint8_t cmd;
    bool doit;
    bool dumpit;
};

constexpr OpRow kIpvsOps[] = {
    {IPVS_CMD_NEW_SERVICE, true, false}, {IPVS_CMD_SET_SERVICE, true, false},
    {IPVS_CMD_DEL_SERVICE, true, false}, {IPVS_CMD_GET_SERVICE, true, true},
    {IPVS_CMD_NEW_DEST, true, false},    {IPVS_CMD_SET_DEST, true, false},
    {IPVS_CMD_DEL_DEST, true, false},    {IPVS_CMD_GET_DEST, false, true},
    {IPVS_CMD_NEW_DAEMON, true, false},  {IPVS_CMD_DEL_DAEMON, true, false},
    {IPVS_CMD_GET_DAEMON, false, true},  {IPVS_CMD_SET_CONFIG, true, false},
    {IPVS_CMD_GET_CONFIG, true, false},  {IPVS_CMD_GET_INFO, true, false},
    {IPVS_CMD_ZERO, true, false},        {IPVS_CMD_FLUSH, true, false},
};

const OpRow* find_op(uint8_t cmd) {
    for (const OpRow& r : kIpvsOps) {
        if (r.cmd == cmd) {
            return &r;
        }
    }
    return nullptr;
}

/// ctrl_fill_info for the emulated family: name, id, version, header size, max attribute, ops.
/// IPVS registers no multicast groups, so there is no CTRL_ATTR_MCAST_GROUPS.
void put_family(nlmsghdr* nlh) {
    mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
    mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, kFamilyId);
    mnl_attr_put_u32(nlh, CTRL_ATTR_VERSION, IPVS_GENL_VERSION);
    mnl_attr_put_u32(nlh, CTRL_ATTR_HDRSIZE, 0);
    mnl_attr_put_u32(nlh, CTRL_ATTR_MAXATTR, IPVS_CMD_ATTR_MAX);
    nlattr* ops = mnl_attr_nest_start(nlh, CTRL_ATTR_OPS);
    uint16_t i = 0;
    for (const OpRow& r : kIpvsOps) {
        nlattr* op = mnl_attr_nest_start(nlh, ++i);
        mnl_attr_put_u32(nlh, CTRL_ATTR_OP_ID, r.cmd);
        mnl_attr_put_u32(nlh, CTRL_ATTR_OP_FLAGS,
                         GENL_ADMIN_PERM | GENL_CMD_CAP_HASPOL | (r.doit ? GENL_CMD_CAP_DO : 0u) |
                             (r.dumpit ? GENL_CMD_CAP_DUMP : 0u));
        mnl_attr_nest_end(nlh, op);
    }
    mnl_attr_nest_end(nlh, ops);
}

/// The message at `off` in `buf`, or nullptr when no well-formed message starts there
/// (netlink_rcv_skb stops at the first one).
const nlmsghdr* message_at(std::span<const uint8_t> buf, size_t off) {
    if (buf.size() - off < NLMSG_HDRLEN) {
        return nullptr;
    }
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data() + off);
    if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > buf.size() - off) {
        return nullptr;
    }
    return nlh;
}

size_t next_offset(std::span<const uint8_t> buf, size_t off, const nlmsghdr* nlh) {
    return std::min(buf.size(), off + NLMSG_ALIGN(nlh->nlmsg_len));
}

/// A copy with the alignment nlmsghdr and nlattr need (the caller's buffer may have none).
std::vector<uint32_t> aligned_copy(std::span<const uint8_t> in) {
    std::vector<uint32_t> words((in.size() + 3) / 4, 0);
    if (!in.empty()) {
        std::memcpy(words.data(), in.data(), in.size());
    }
    return words;
}

bool is_dump(const nlmsghdr* nlh) {
    return (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

const void* genl_payload(const nlmsghdr* nlh) {
    return static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)) + GENL_HDRLEN;
}

size_t genl_payload_len(const nlmsghdr* nlh) {
    return nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
}

const genlmsghdr* genl_header(const nlmsghdr* nlh) {
    return static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(nlh));
}

/// The emulation of one request message; -errno, 0, or kDumped.
class Handler {
public:
    Handler(const CallFn& call, Datagrams& out, const nlmsghdr* nlh, uint32_t portid)
        : call_(call), out_(out), nlh_(nlh), portid_(portid) {}

    int ctrl();
    int ipvs();

private:
    // Daemon access.
    Result<ctl::Reply> ask(const ctl::Request& r) const { return call_(r); }
    static int failure(const Result<ctl::Reply>& rep) {
        if (!rep) {
            return -errno_for(rep.status().code());
        }
        return -errno_for(rep->code);
    }
    int change(const ctl::Request& r) const {
        const auto rep = ask(r);
        return rep && rep->code == Errc::Ok ? 0 : failure(rep);
    }
    /// 0 when the service exists, -ESRCH when it does not, another -errno when the daemon fails.
    int exists(const cfg::ServiceKey& key) const {
        ctl::Request r;
        r.op = ctl::Op::List;
        r.has_key = true;
        r.service.key = key;
        const auto rep = ask(r);
        return rep && rep->code == Errc::Ok ? 0 : failure(rep);
    }
    /// `err` unless the service is missing (ESRCH comes first in the kernel).
    int after_lookup(const cfg::ServiceKey& key, int err) const {
        const int e = exists(key);
        return e != 0 ? e : err;
    }

    Msg reply(uint8_t cmd) const {
        Msg m(kFamilyId, 0, nlh_->nlmsg_seq, portid_);
        m.genl(cmd, IPVS_GENL_VERSION);
        return m;
    }

    int new_or_set_service(bool add);
    int service_key_cmd();
    int dest_cmd();
    int get_service();
    int dump_services();
    int dump_dests();
    int set_config();
    int new_daemon();
    int del_daemon();
    int dump_daemons();

    const CallFn& call_;
    Datagrams& out_;
    const nlmsghdr* nlh_;
    uint32_t portid_;
    uint8_t cmd_ = 0;
    Attrs<IPVS_CMD_ATTR_MAX + 1> tb_{};
};

int Handler::ctrl() {
    if (nlh_->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) {
        return -EINVAL;
    }
    if (genl_header(nlh_)->cmd != CTRL_CMD_GETFAMILY || is_dump(nlh_)) {
        return -EOPNOTSUPP;  // route() relays these to the kernel
    }
    Attrs<CTRL_ATTR_MAX + 1> tb;
    if (const int err = parse_attrs(genl_payload(nlh_), genl_payload_len(nlh_), kCtrlPolicy, tb);
        err != 0) {
        return err;
    }
    bool ours = false;
    int err = -EINVAL;  // neither a name nor an id
    if (tb[CTRL_ATTR_FAMILY_ID] != nullptr) {
        ours = get_u16(tb[CTRL_ATTR_FAMILY_ID]) == kFamilyId;
        err = -ENOENT;
    }
    if (tb[CTRL_ATTR_FAMILY_NAME] != nullptr) {
        ours = get_string(tb[CTRL_ATTR_FAMILY_NAME]) == IPVS_GENL_NAME;
        err = -ENOENT;
    }
    if (!ours) {
        return err;
    }
    // The family exists while the daemon answers, as IPVS exists while ip_vs is loaded.
    ctl::Request ping;
    ping.op = ctl::Op::Ping;
    if (const auto rep = ask(ping); !rep || rep->code != Errc::Ok) {
        return -ENOENT;
    }
    Msg m(GENL_ID_CTRL, 0, nlh_->nlmsg_seq, portid_);
    m.genl(CTRL_CMD_NEWFAMILY, 2);  // the controller's own family version
    put_family(m.nlh());
    push_datagram(out_, m.bytes());
    return 0;
}

int Handler::ipvs() {
    if (nlh_->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) {
        return -EINVAL;
    }
    cmd_ = genl_header(nlh_)->cmd;
    const OpRow* op = find_op(cmd_);
    if (op == nullptr) {
        return -EOPNOTSUPP;
    }
    if (is_dump(nlh_)) {
        if (!op->dumpit) {
            return -EOPNOTSUPP;
        }
        // Dumps are not validated (GENL_DONT_VALIDATE_DUMP); GET_DEST parses on its own.
        switch (cmd_) {
            case IPVS_CMD_GET_SERVICE:
                return dump_services();
            case IPVS_CMD_GET_DEST:
                return dump_dests();
            default:  // IPVS_CMD_GET_DAEMON
                return dump_daemons();
        }
    }
    if (!op->doit) {
        return -EOPNOTSUPP;
    }
    if (const int err = parse_attrs(genl_payload(nlh_), genl_payload_len(nlh_), kCmdPolicy, tb_);
        err != 0) {
        return err;
    }
    switch (cmd_) {
        case IPVS_CMD_NEW_SERVICE:
            return new_or_set_service(true);
        case IPVS_CMD_SET_SERVICE:
            return new_or_set_service(false);
        case IPVS_CMD_DEL_SERVICE:
            return service_key_cmd();
        case IPVS_CMD_ZERO: {
            if (tb_[IPVS_CMD_ATTR_SERVICE] == nullptr) {
                ctl::Request r;
                r.op = ctl::Op::Zero;
                return change(r);
            }
            return service_key_cmd();
        }
        case IPVS_CMD_FLUSH: {
            ctl::Request r;
            r.op = ctl::Op::Clear;
            return change(r);
        }
        case IPVS_CMD_NEW_DEST:
        case IPVS_CMD_SET_DEST:
        case IPVS_CMD_DEL_DEST:
            return dest_cmd();
        case IPVS_CMD_GET_SERVICE:
            return get_service();
        case IPVS_CMD_GET_INFO: {
            ctl::Request r;
            r.op = ctl::Op::Ping;
            const auto rep = ask(r);
            if (!rep || rep->code != Errc::Ok) {
                return failure(rep);
            }
            Msg m = reply(IPVS_CMD_SET_INFO);
            mnl_attr_put_u32(m.nlh(), IPVS_INFO_ATTR_VERSION, kIpvsVersion);
            mnl_attr_put_u32(m.nlh(), IPVS_INFO_ATTR_CONN_TAB_SIZE, rep->info.conn_table_size);
            push_datagram(out_, m.bytes());
            return 0;
        }
        case IPVS_CMD_GET_CONFIG: {
            ctl::Request r;
            r.op = ctl::Op::GetTimeouts;
            const auto rep = ask(r);
            if (!rep || rep->code != Errc::Ok) {
                return failure(rep);
            }
            Msg m = reply(IPVS_CMD_SET_CONFIG);
            mnl_attr_put_u32(m.nlh(), IPVS_CMD_ATTR_TIMEOUT_TCP, rep->timeouts.tcp);
            mnl_attr_put_u32(m.nlh(), IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, rep->timeouts.tcp_fin);
            mnl_attr_put_u32(m.nlh(), IPVS_CMD_ATTR_TIMEOUT_UDP, rep->timeouts.udp);
            push_datagram(out_, m.bytes());
            return 0;
        }
        case IPVS_CMD_SET_CONFIG:
            return set_config();
        case IPVS_CMD_NEW_DAEMON:
            return new_daemon();
        case IPVS_CMD_DEL_DAEMON:
            return del_daemon();
        default:
            return -EINVAL;
    }
}

int Handler::new_or_set_service(bool add) {
    SvcSpec s;
    if (const int err = parse_service(tb_[IPVS_CMD_ATTR_SERVICE], true, s); err != 0) {
        return err;
    }
    const auto key = key_of(s);
    if (!key) {
        // An other-protocol service: Dirigo has none, so an edit finds
        // nothing (as the kernel's lookup) and an add is refused as unsupported.
        return add ? -EOPNOTSUPP : -ESRCH;
    }
    uint32_t cur_flags = 0;
    if (!add && s.flags.mask != ~0u) {
        // A partial mask keeps the other bits of the service's current flags.
        ctl::Request r;
        r.op = ctl::Op::List;
        r.has_key = true;
        r.service.key = *key;
        const auto rep = ask(r);
        if (!rep || rep->code != Errc::Ok) {
            return failure(rep);
        }
        if (!rep->services.empty()) {
            cur_flags = rep->services.front().service.flags;
        }
    }
    if (!s.pe.empty()) {
        // No persistence engine (such as sip) is available: the kernel's ENOENT, after its
        // check that the service exists (edit) or does not (add).
        const int e = exists(*key);
        if (add) {
            return e == 0 ? -EEXIST : (e == -ESRCH ? -ENOENT : e);
        }
        return e != 0 ? e : -ENOENT;
    }
    ctl::Request r;
    r.op = add ? ctl::Op::AddService : ctl::Op::EditService;
    r.service.key = *key;
    r.service.scheduler = s.sched;
    r.service.flags =
        ((cur_flags & ~s.flags.mask) | (s.flags.flags & s.flags.mask)) & ~IP_VS_SVC_F_HASHED;
    r.service.timeout = s.timeout;
    if (key->af == cfg::Family::Inet6) {
        // ip_vs_add_service/ip_vs_edit_service: an IPv6 netmask is a prefix length 1..128,
        // sent as a plain number (libipvs puts ipvsadm's -M 64 as 64).
        const uint32_t plen = s.netmask_be;
        if (plen < 1 || plen > 128) {
            return -EINVAL;
        }
        r.service.prefix6 = static_cast<uint8_t>(plen);
    } else {
        r.service.netmask = ntohl(s.netmask_be);
    }
    const auto rep = ask(r);
    if (rep && rep->code == Errc::NoScheduler) {
        // The kernel looks the service up before the scheduler.
        const int e = exists(*key);
        if (add) {
            return e == 0 ? -EEXIST : (e == -ESRCH ? -ENOENT : e);
        }
        return e != 0 ? e : -ENOENT;
    }
    return rep && rep->code == Errc::Ok ? 0 : failure(rep);
}

int Handler::service_key_cmd() {
    SvcSpec s;
    if (const int err = parse_service(tb_[IPVS_CMD_ATTR_SERVICE], false, s); err != 0) {
        return err;
    }
    const auto key = key_of(s);
    if (!key) {
        return -ESRCH;
    }
    ctl::Request r;
    r.op = cmd_ == IPVS_CMD_ZERO ? ctl::Op::Zero : ctl::Op::DelService;
    r.has_key = true;
    r.service.key = *key;
    return change(r);
}

int Handler::dest_cmd() {
    SvcSpec s;
    if (const int err = parse_service(tb_[IPVS_CMD_ATTR_SERVICE], false, s); err != 0) {
        return err;
    }
    const auto key = key_of(s);
    if (!key) {
        return -ESRCH;
    }
    const bool full = cmd_ != IPVS_CMD_DEL_DEST;
    DestSpec d;
    if (const int err = parse_dest(tb_[IPVS_CMD_ATTR_DEST], full, d); err != 0) {
        return after_lookup(*key, err);
    }
    if (d.af == 0) {
        d.af = kernel_af(key->af);  // the service's family, as old clients send none
    }
    if (d.af != AF_INET && d.af != AF_INET6) {
        return after_lookup(*key, -EAFNOSUPPORT);
    }
    // ip_vs_add_dest/ip_vs_edit_dest: only a tunnel may be of the other family (EINVAL).
    if (full && d.af != kernel_af(key->af) && d.fwd != IP_VS_CONN_F_TUNNEL) {
        return after_lookup(*key, -EINVAL);
    }
    ctl::Request r;
    r.op = cmd_ == IPVS_CMD_NEW_DEST   ? ctl::Op::AddDest
           : cmd_ == IPVS_CMD_SET_DEST ? ctl::Op::EditDest
                                       : ctl::Op::DelDest;
    r.service.key = *key;
    if (d.af == AF_INET6) {
        r.dest.af = cfg::Family::Inet6;
        std::memcpy(r.dest.addr6.b.data(), d.addr.data(), r.dest.addr6.b.size());
    } else {
        uint32_t a = 0;
        std::memcpy(&a, d.addr.data(), sizeof(a));
        r.dest.addr = ntohl(a);
    }
    r.dest.port = ntohs(d.port_be);
    if (full) {
        // ip_vs_add_dest / ip_vs_edit_dest check these before looking the server up.
        if (d.weight < 0 || d.l_threshold > d.u_threshold) {
            return after_lookup(*key, -ERANGE);
        }
        const auto fwd = fwd_from_kernel(d.fwd);
        if (!fwd) {
            // Local-node and bypass forwarding: not in Dirigo.
            return after_lookup(*key, -EOPNOTSUPP);
        }
        r.dest.fwd = *fwd;
        if (*fwd == cfg::Fwd::Tunnel) {
            // ip_vs_add_dest/ip_vs_edit_dest refuse a GUE server without a port (EINVAL); the
            // kernel stores any other type or flags, Dirigo refuses what it cannot encapsulate
            // (the daemon's check_server: EINVAL). Other methods ignore the tunnel attributes.
            if (d.tun_type == IP_VS_CONN_F_TUNNEL_TYPE_GUE && d.tun_port_be == 0) {
                return after_lookup(*key, -EINVAL);
            }
            if (d.tun_type >= IP_VS_CONN_F_TUNNEL_TYPE_MAX ||
                d.tun_flags > IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM) {
                return after_lookup(*key, -EINVAL);
            }
            r.dest.tun_type = static_cast<cfg::TunType>(d.tun_type);
            r.dest.tun_port = ntohs(d.tun_port_be);
            r.dest.tun_csum = static_cast<cfg::TunCsum>(d.tun_flags);
        }
        r.dest.weight = d.weight;
        r.dest.u_threshold = d.u_threshold;
        r.dest.l_threshold = d.l_threshold;
    }
    return change(r);
}

int Handler::get_service() {
    SvcSpec s;
    if (const int err = parse_service(tb_[IPVS_CMD_ATTR_SERVICE], false, s); err != 0) {
        return err;
    }
    const auto key = key_of(s);
    if (!key) {
        return -ESRCH;
    }
    ctl::Request r;
    r.op = ctl::Op::List;
    r.has_key = true;
    r.service.key = *key;
    const auto rep = ask(r);
    if (!rep || rep->code != Errc::Ok) {
        return failure(rep);
    }
    for (const ctl::ServiceInfo& si : rep->services) {
        if (si.service.key == *key) {
            Msg m = reply(IPVS_CMD_NEW_SERVICE);
            put_service(m.nlh(), si);
            push_datagram(out_, m.bytes());
            return 0;
        }
    }
    return -ESRCH;
}

int Handler::dump_services() {
    ctl::Request r;
    r.op = ctl::Op::List;
    const auto rep = ask(r);
    if (!rep || rep->code != Errc::Ok) {
        return failure(rep);
    }
    Dump d(out_, nlh_, portid_);
    for (const ctl::ServiceInfo& si : rep->services) {
        Msg m(kFamilyId, NLM_F_MULTI, d.seq(), d.portid());
        m.genl(IPVS_CMD_NEW_SERVICE, IPVS_GENL_VERSION);
        put_service(m.nlh(), si);
        d.add(m.bytes());
    }
    d.finish();
    return kDumped;
}

int Handler::dump_dests() {
    Dump d(out_, nlh_, portid_);
    // ip_vs_genl_dump_dests: a request it cannot parse, or a service that does not exist, ends
    // the dump with nothing in it (no error).
    Attrs<IPVS_CMD_ATTR_MAX + 1> tb;
    SvcSpec s;
    if (parse_attrs(genl_payload(nlh_), genl_payload_len(nlh_), kCmdPolicy, tb) != 0 ||
        parse_service(tb[IPVS_CMD_ATTR_SERVICE], false, s) != 0 || !key_of(s)) {
        d.finish();
        return kDumped;
    }
    ctl::Request r;
    r.op = ctl::Op::List;
    r.has_key = true;
    r.service.key = *key_of(s);
    const auto rep = ask(r);
    if (!rep) {
        return failure(rep);
    }
    if (rep->code == Errc::Ok) {
        for (const ctl::ServiceInfo& si : rep->services) {
            if (!(si.service.key == r.service.key)) {
                continue;
            }
            for (const ctl::DestInfo& di : si.dests) {
                Msg m(kFamilyId, NLM_F_MULTI, d.seq(), d.portid());
                m.genl(IPVS_CMD_NEW_DEST, IPVS_GENL_VERSION);
                put_dest(m.nlh(), di);
                d.add(m.bytes());
            }
        }
    } else if (rep->code != Errc::NoService) {
        return failure(rep);
    }
    d.finish();
    return kDumped;
}

int Handler::set_config() {
    ctl::Request r;
    r.op = ctl::Op::SetTimeouts;
    r.timeouts = {0, 0, 0};  // zero: unchanged, as for an absent attribute
    const std::pair<uint16_t, uint32_t*> fields[] = {
        {IPVS_CMD_ATTR_TIMEOUT_TCP, &r.timeouts.tcp},
        {IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, &r.timeouts.tcp_fin},
        {IPVS_CMD_ATTR_TIMEOUT_UDP, &r.timeouts.udp},
    };
    for (const auto& [type, dst] : fields) {
        if (tb_[type] != nullptr) {
            *dst = get_u32(tb_[type]);
            // ip_vs_set_timeout: the kernel keeps timeouts in jiffies in an int.
            if (*dst > static_cast<uint32_t>(INT_MAX) / kAssumedHz) {
                return -EINVAL;
            }
        }
    }
    return change(r);
}

int Handler::new_daemon() {
    Attrs<IPVS_DAEMON_ATTR_MAX + 1> tb;
    if (tb_[IPVS_CMD_ATTR_DAEMON] == nullptr ||
        parse_nested(tb_[IPVS_CMD_ATTR_DAEMON], kDaemonPolicy, tb) != 0) {
        return -EINVAL;
    }
    // ip_vs_genl_new_daemon: state, interface and sync ID are required; the rest defaults.
    if (tb[IPVS_DAEMON_ATTR_STATE] == nullptr || tb[IPVS_DAEMON_ATTR_MCAST_IFN] == nullptr ||
        tb[IPVS_DAEMON_ATTR_SYNC_ID] == nullptr) {
        return -EINVAL;
    }
    ctl::Request r;
    r.op = ctl::Op::StartDaemon;
    const uint32_t state = get_u32(tb[IPVS_DAEMON_ATTR_STATE]);
    if (state != IP_VS_STATE_MASTER && state != IP_VS_STATE_BACKUP) {
        return -EINVAL;
    }
    r.daemon.role = state == IP_VS_STATE_MASTER ? ctl::SyncRole::Master : ctl::SyncRole::Backup;
    r.daemon.mcast_ifn = get_string(tb[IPVS_DAEMON_ATTR_MCAST_IFN]);
    r.daemon.syncid = static_cast<uint8_t>(get_u32(tb[IPVS_DAEMON_ATTR_SYNC_ID]));
    if (tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN] != nullptr) {
        r.daemon.sync_maxlen = get_u16(tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN]);
    }
    if (tb[IPVS_DAEMON_ATTR_MCAST_GROUP] != nullptr) {
        const uint32_t g = ntohl(get_u32(tb[IPVS_DAEMON_ATTR_MCAST_GROUP]));
        if ((g >> 28) != 0xe) {
            return -EINVAL;  // not a multicast address
        }
        r.daemon.mcast_group = g;
    } else if (tb[IPVS_DAEMON_ATTR_MCAST_GROUP6] != nullptr) {
        return -EOPNOTSUPP;  // IPv6 sync (docs/ipvs-netlink.md)
    }
    if (tb[IPVS_DAEMON_ATTR_MCAST_PORT] != nullptr) {
        // Host order, as ip_vs_ctl.c reads it and libipvs writes it (the header's comment
        // notwithstanding).
        r.daemon.mcast_port = get_u16(tb[IPVS_DAEMON_ATTR_MCAST_PORT]);
    }
    if (tb[IPVS_DAEMON_ATTR_MCAST_TTL] != nullptr) {
        r.daemon.mcast_ttl = get_u8(tb[IPVS_DAEMON_ATTR_MCAST_TTL]);
    }
    return change(r);
}

int Handler::del_daemon() {
    Attrs<IPVS_DAEMON_ATTR_MAX + 1> tb;
    if (tb_[IPVS_CMD_ATTR_DAEMON] == nullptr ||
        parse_nested(tb_[IPVS_CMD_ATTR_DAEMON], kDaemonPolicy, tb) != 0 ||
        tb[IPVS_DAEMON_ATTR_STATE] == nullptr) {
        return -EINVAL;
    }
    const uint32_t state = get_u32(tb[IPVS_DAEMON_ATTR_STATE]);
    if (state != IP_VS_STATE_MASTER && state != IP_VS_STATE_BACKUP) {
        return -EINVAL;
    }
    ctl::Request r;
    r.op = ctl::Op::StopDaemon;
    r.daemon.role = state == IP_VS_STATE_MASTER ? ctl::SyncRole::Master : ctl::SyncRole::Backup;
    return change(r);
}

int Handler::dump_daemons() {
    ctl::Request r;
    r.op = ctl::Op::ListDaemons;
    const auto rep = ask(r);
    if (!rep || rep->code != Errc::Ok) {
        return failure(rep);
    }
    // ip_vs_genl_dump_daemons: one message per running daemon, master first.
    Dump d(out_, nlh_, portid_);
    for (const ctl::DaemonView& v : rep->daemons) {
        Msg m(kFamilyId, NLM_F_MULTI, d.seq(), d.portid());
        m.genl(IPVS_CMD_NEW_DAEMON, IPVS_GENL_VERSION);
        nlattr* nest = mnl_attr_nest_start(m.nlh(), IPVS_CMD_ATTR_DAEMON);
        mnl_attr_put_u32(m.nlh(), IPVS_DAEMON_ATTR_STATE,
                         v.cfg.role == ctl::SyncRole::Master ? IP_VS_STATE_MASTER
                                                             : IP_VS_STATE_BACKUP);
        const std::string ifn = v.cfg.mcast_ifn.substr(0, IP_VS_IFNAME_MAXLEN - 1);
        mnl_attr_put_strz(m.nlh(), IPVS_DAEMON_ATTR_MCAST_IFN, ifn.c_str());
        mnl_attr_put_u32(m.nlh(), IPVS_DAEMON_ATTR_SYNC_ID, v.cfg.syncid);
        mnl_attr_put_u16(m.nlh(), IPVS_DAEMON_ATTR_SYNC_MAXLEN, v.cfg.sync_maxlen);
        mnl_attr_put_u16(m.nlh(), IPVS_DAEMON_ATTR_MCAST_PORT, v.cfg.mcast_port);
        mnl_attr_put_u8(m.nlh(), IPVS_DAEMON_ATTR_MCAST_TTL, v.cfg.mcast_ttl);
        mnl_attr_put_u32(m.nlh(), IPVS_DAEMON_ATTR_MCAST_GROUP, htonl(v.cfg.mcast_group));
        mnl_attr_nest_end(m.nlh(), nest);
        d.add(m.bytes());
    }
    d.finish();
    return kDumped;
}

}  // namespace

int errno_for(Errc code) {
    switch (code) {
        case Errc::Ok:
            return 0;
        case Errc::Invalid:
            return EINVAL;
        case Errc::NoService:
            return ESRCH;
        case Errc::ServiceExists:
        case Errc::DestExists:
            return EEXIST;
        case Errc::NoDest:
        case Errc::NoScheduler:
            return ENOENT;
        case Errc::Unsupported:
            return EOPNOTSUPP;
        case Errc::Resource:
            return ENOMEM;
        case Errc::DaemonRunning:
            return EEXIST;  // start_sync_thread: that role runs already
        case Errc::NoDaemon:
            return ESRCH;   // stop_sync_thread: no daemon of that role
        case Errc::NoDevice:
            return ENODEV;  // an unknown mcast interface
        case Errc::Protocol:
        case Errc::Internal:
        case Errc::Io:
            return EIO;
    }
    return EIO;
}

Route route(std::span<const uint8_t> datagram) {
    const std::vector<uint32_t> words = aligned_copy(datagram);
    const std::span<const uint8_t> buf(reinterpret_cast<const uint8_t*>(words.data()),
                                       datagram.size());
    for (size_t off = 0;;) {
        const nlmsghdr* nlh = message_at(buf, off);
        if (nlh == nullptr) {
            return Route::Emulate;
        }
        off = next_offset(buf, off, nlh);
        if (nlh->nlmsg_type < NLMSG_MIN_TYPE || nlh->nlmsg_type == kFamilyId ||
            !(nlh->nlmsg_flags & NLM_F_REQUEST)) {
            continue;
        }
        if (nlh->nlmsg_type != GENL_ID_CTRL) {
            return Route::Relay;
        }
        if (nlh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) {
            continue;  // the kernel's EINVAL, which the emulator gives too
        }
        if (genl_header(nlh)->cmd != CTRL_CMD_GETFAMILY || is_dump(nlh)) {
            return Route::Relay;
        }
        Attrs<CTRL_ATTR_MAX + 1> tb;
        if (parse_attrs(genl_payload(nlh), genl_payload_len(nlh), kCtrlPolicy, tb) != 0) {
            continue;
        }
        if (tb[CTRL_ATTR_FAMILY_NAME] != nullptr) {
            if (get_string(tb[CTRL_ATTR_FAMILY_NAME]) != IPVS_GENL_NAME) {
                return Route::Relay;
            }
        } else if (tb[CTRL_ATTR_FAMILY_ID] != nullptr &&
                   get_u16(tb[CTRL_ATTR_FAMILY_ID]) != kFamilyId) {
            return Route::Relay;
        }
    }
}

std::vector<std::vector<uint8_t>> Emulator::handle(std::span<const uint8_t> datagram,
                                                   uint32_t portid, bool cap_ack) {
    const std::vector<uint32_t> words = aligned_copy(datagram);
    const std::span<const uint8_t> buf(reinterpret_cast<const uint8_t*>(words.data()),
                                       datagram.size());
    Datagrams out;
    for (size_t off = 0;;) {
        const nlmsghdr* nlh = message_at(buf, off);
        if (nlh == nullptr) {
            break;
        }
        off = next_offset(buf, off, nlh);
        int err = 0;
        // netlink_rcv_skb: only requests of the protocol's own types are handled; the rest is
        // acknowledged when asked.
        if ((nlh->nlmsg_flags & NLM_F_REQUEST) && nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
            Handler h(call_, out, nlh, portid);
            if (nlh->nlmsg_type == GENL_ID_CTRL) {
                err = h.ctrl();
            } else if (nlh->nlmsg_type == kFamilyId) {
                err = h.ipvs();
            } else {
                err = -ENOENT;  // genl_family_find_byid found nothing
            }
        }
        if (err == kDumped) {
            continue;
        }
        if ((nlh->nlmsg_flags & NLM_F_ACK) || err != 0) {
            put_ack(out, nlh, err, cap_ack, portid);
        }
    }
    return out;
}

namespace {

/// The kernel's %pI6: "2001:0db8:0000:0000:0000:0000:0000:0001".
std::string full_ip6(const cfg::Ip6& a) {
    std::string out;
    char g[8];
    for (size_t i = 0; i < a.b.size(); i += 2) {
        std::snprintf(g, sizeof(g), "%s%02x%02x", i == 0 ? "" : ":", a.b[i], a.b[i + 1]);
        out += g;
    }
    return out;
}

}  // namespace

std::string format_conn_proc(const std::vector<ctl::ConnInfo>& conns) {
    std::string out =
        "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n";
    char line[192];  // an IPv6 row is 159 characters
    for (const ctl::ConnInfo& c : conns) {
        // One word of at most 15 characters: ipvsadm reads it with "%s" into 16 bytes.
        std::string state = c.state.substr(0, 15);
        for (char& ch : state) {
            if (ch <= ' ' || ch > '~') {
                ch = '_';
            }
        }
        if (state.empty()) {
            state = "NONE";
        }
        if (c.af == cfg::Family::Inet6) {
            // ip_vs_conn_seq_show for AF_INET6: each address as %pI6, eight groups of four
            // lowercase hex digits ("2001:0db8:0000:...:0001"), never compressed; the
            // destination in its own family (daf): an IPv4 tunnel server as %08X.
            char d4[9];
            std::snprintf(d4, sizeof(d4), "%08X", c.daddr);
            const std::string dname = c.daddr != 0 ? std::string(d4) : full_ip6(c.daddr6);
            std::snprintf(line, sizeof(line), "%-3s %s %04X %s %04X %s %04X %-11s %7u\n",
                          std::string(cfg::ip_proto_name_upper(c.proto)).c_str(),
                          full_ip6(c.caddr6).c_str(), c.cport, full_ip6(c.vaddr6).c_str(), c.vport,
                          dname.c_str(), c.dport, state.c_str(), c.expires_ms / 1000);
        } else if (!c.daddr6.is_unspecified()) {
            // An IPv4 connection to an IPv6 tunnel server: its destination as %pI6 (daf).
            std::snprintf(line, sizeof(line), "%-3s %08X %04X %08X %04X %s %04X %-11s %7u\n",
                          std::string(cfg::ip_proto_name_upper(c.proto)).c_str(), c.caddr, c.cport,
                          c.vaddr, c.vport, full_ip6(c.daddr6).c_str(), c.dport, state.c_str(),
                          c.expires_ms / 1000);
        } else {
            std::snprintf(line, sizeof(line), "%-3s %08X %04X %08X %04X %08X %04X %-11s %7u\n",
                          std::string(cfg::ip_proto_name_upper(c.proto)).c_str(), c.caddr,
                          c.cport, c.vaddr, c.vport, c.daddr, c.dport, state.c_str(),
                          c.expires_ms / 1000);
        }
        out += line;
    }
    return out;
}

Result<std::string> Emulator::conn_proc_text() {
    ctl::Request r;
    r.op = ctl::Op::ListConns;
    Result<ctl::Reply> rep = call_(r);
    if (!rep) {
        return rep.status();
    }
    if (rep->code != Errc::Ok) {
        return Status(rep->code, rep->message);
    }
    return format_conn_proc(rep->conns);
}

}  // namespace dirigo::ipvs
