// SPDX-License-Identifier: BSD-3-Clause
// ModelStore without EAL: the cost of a large -R batch and the real-server limit.

#include "control/model_store.hpp"

#include "config/addr.hpp"
#include "control/reload.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

namespace dirigo::ctl {
namespace {

constexpr uint32_t kMaxDests = 16384;

constexpr cfg::Ip4 ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

/// One AddService, then `n` AddDest lines for it, as dirigoadm -R sends them.
Request batch_of(uint32_t n) {
    Request b;
    b.op = Op::Batch;
    Request svc;
    svc.op = Op::AddService;
    svc.service.key = {cfg::Proto::Tcp, ip(10, 0, 0, 100), 80};
    svc.service.scheduler = "rr";
    b.batch.push_back(svc);
    for (uint32_t i = 0; i < n; ++i) {
        Request d;
        d.op = Op::AddDest;
        d.service.key = svc.service.key;
        d.dest.addr = ip(172, 16, 0, 0) + i;
        d.dest.port = 80;
        d.dest.fwd = cfg::Fwd::Masq;
        d.dest.weight = 1;
        b.batch.push_back(d);
    }
    return b;
}

struct Store {
    std::unique_ptr<sched::DestCounters[]> counters =
        std::make_unique<sched::DestCounters[]>(kMaxDests);
    ModelStore model{counters.get(), 1024, kMaxDests};
};

TEST(ModelStore, LargeBatchIsNotQuadratic) {
    // Re-validating the whole service on every line made 8,000 servers cost 5.4 s (and twice as
    // many four times that); line by line checks keep the full table well under a second here.
    Store s;
    const Request b = batch_of(kMaxDests);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(s.model.apply(b).is_ok());
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::seconds(3));
    EXPECT_EQ(s.model.services().front().svc.servers.size(), kMaxDests);
}

TEST(ModelStore, DestLimitIsCheckedAsTheBatchGoes) {
    Store s;
    const Status st = s.model.apply(batch_of(kMaxDests + 100));
    ASSERT_FALSE(st.is_ok());
    EXPECT_EQ(st.code(), Errc::Resource);
    // The first server too many stops the batch: rule 1 is the service, so that is rule 16386.
    EXPECT_EQ(st.message(),
              "too many real servers (limit 16384) (rule 16386 of 16485; nothing "
              "was applied)");
    EXPECT_TRUE(s.model.services().empty());
}

TEST(ModelStore, PreparedChangeIsTheOnlyState) {
    // prepare() touches nothing: dropping its Change is the rollback.
    Store s;
    auto c = s.model.prepare(batch_of(3));
    ASSERT_TRUE(c.is_ok());
    EXPECT_TRUE(s.model.services().empty());
    EXPECT_EQ(c->services.front().dest_slots.size(), 3u);
    s.model.commit(std::move(*c));
    EXPECT_EQ(s.model.services().front().svc.servers.size(), 3u);
    EXPECT_EQ(s.model.fresh_dest_slots().size(), 3u);
}

// IPv6 services: keys and servers are told apart by family and address (::a00:b is not
// 10.0.0.11), duplicates are refused, and a server of the other family must tunnel.
TEST(ModelStore, Ipv6KeysAndServersHaveTheirOwnIdentity) {
    Store s;
    Request svc;
    svc.op = Op::AddService;
    svc.service.key.af = cfg::Family::Inet6;
    svc.service.key.addr6.b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
    svc.service.key.port = 80;
    svc.service.scheduler = "rr";
    ASSERT_TRUE(s.model.apply(svc).is_ok());
    EXPECT_EQ(s.model.apply(svc).code(), Errc::ServiceExists);
    Request v4 = svc;
    v4.service.key = {cfg::Proto::Tcp, ip(10, 0, 0, 100), 80};
    ASSERT_TRUE(s.model.apply(v4).is_ok());

    Request d;
    d.op = Op::AddDest;
    d.service.key = svc.service.key;
    d.dest.af = cfg::Family::Inet6;
    d.dest.addr6.b[15] = 11;
    d.dest.addr6.b[0] = 0x20;
    d.dest.port = 80;
    d.dest.fwd = cfg::Fwd::Masq;
    ASSERT_TRUE(s.model.apply(d).is_ok());
    EXPECT_EQ(s.model.apply(d).code(), Errc::DestExists);
    Request other = d;
    other.dest.addr6.b[15] = 12;
    ASSERT_TRUE(s.model.apply(other).is_ok());
    // An IPv4 server on an IPv6 service: only as a tunnel.
    Request mixed = d;
    mixed.dest.af = cfg::Family::Inet;
    mixed.dest.addr6 = {};
    mixed.dest.addr = ip(10, 0, 0, 11);
    const Status st = s.model.apply(mixed);
    EXPECT_EQ(st.code(), Errc::Invalid);
    EXPECT_EQ(st.message(), "Different address family is allowed only for tunneling servers");
    // A tunnel is the kernel's exception, served as IPv6-in-IPv4 (ipip, GUE or GRE); it is a
    // server of its own identity, whatever its tunnel type.
    mixed.dest.fwd = cfg::Fwd::Tunnel;
    mixed.dest.tun_type = cfg::TunType::Gre;
    ASSERT_TRUE(s.model.apply(mixed).is_ok());
    mixed.dest.tun_type = cfg::TunType::Ipip;
    EXPECT_EQ(s.model.apply(mixed).code(), Errc::DestExists);
    mixed.dest.af = cfg::Family::Inet6;
    mixed.dest.addr = 0;
    mixed.dest.addr6 = *cfg::parse_ip6("2001:db8:1::13");
    ASSERT_TRUE(s.model.apply(mixed).is_ok());
    const auto& svcs = s.model.services();
    const auto it = std::find_if(svcs.begin(), svcs.end(),
                                 [&](const auto& x) { return x.svc.key == svc.service.key; });
    ASSERT_NE(it, svcs.end());
    EXPECT_EQ(it->svc.servers.size(), 4u);
    // Deleting by the IPv6 identity removes that server only.
    Request del = d;
    del.op = Op::DelDest;
    ASSERT_TRUE(s.model.apply(del).is_ok());
    EXPECT_EQ(s.model.apply(del).code(), Errc::NoDest);
}

TEST(ModelStore, MarkRulesAddDeleteAndSurviveClear) {
    Store s;
    Request add;
    add.op = Op::AddMark;
    add.mark.dst = {ip(10, 0, 0, 100), 32};
    add.mark.proto = 6;
    add.mark.ports = {{80, 80}, {443, 443}};
    add.mark.mark = 1;
    ASSERT_TRUE(s.model.apply(add).is_ok());
    Status st = s.model.apply(add);
    EXPECT_EQ(st.code(), Errc::ServiceExists);
    EXPECT_EQ(st.message(), "Mark rule already exists");
    Request second = add;
    second.mark.ports = {{8000, 8100}};
    second.mark.mark = 2;
    ASSERT_TRUE(s.model.apply(second).is_ok());
    ASSERT_EQ(s.model.marks().size(), 2u);
    EXPECT_EQ(s.model.marks()[0].mark, 1u);  // in the order given
    EXPECT_EQ(s.model.marks()[1].mark, 2u);

    // -C clears services only, as ipvsadm's.
    Request svc;
    svc.op = Op::AddService;
    svc.service.key.fwmark = 1;
    svc.service.scheduler = "rr";
    ASSERT_TRUE(s.model.apply(svc).is_ok());
    Request clear;
    clear.op = Op::Clear;
    ASSERT_TRUE(s.model.apply(clear).is_ok());
    EXPECT_TRUE(s.model.services().empty());
    EXPECT_EQ(s.model.marks().size(), 2u);

    // Deletion by match; a given mark must be the rule's.
    Request del;
    del.op = Op::DelMark;
    del.mark = add.mark;
    del.mark.mark = 9;
    st = s.model.apply(del);
    EXPECT_EQ(st.code(), Errc::NoService);
    EXPECT_EQ(st.message(), "No such mark rule");
    del.mark.mark = 0;
    ASSERT_TRUE(s.model.apply(del).is_ok());
    ASSERT_EQ(s.model.marks().size(), 1u);
    EXPECT_EQ(s.model.marks()[0].mark, 2u);

    // A bad rule in a batch leaves everything as it was.
    Request batch;
    batch.op = Op::Batch;
    batch.batch = {add, add};
    st = s.model.apply(batch);
    EXPECT_FALSE(st.is_ok());
    EXPECT_EQ(s.model.marks().size(), 1u);
    Request bad = add;
    bad.mark.mark = 0;
    EXPECT_EQ(s.model.apply(bad).code(), Errc::Invalid);
}

TEST(Reload, MarkRulesOfTheRulesFileAndOfAReloadedConfig) {
    Store s;
    cfg::MarkRule web;
    web.dst = {ip(10, 0, 0, 100), 32};
    web.proto = 6;
    web.ports = {{80, 80}, {443, 443}};
    web.mark = 1;
    cfg::MarkRule extra = web;
    extra.ports = {{8080, 8080}};
    extra.mark = 2;
    Request add;
    add.op = Op::AddMark;
    add.mark = web;  // the config's rule, loaded first at start
    ASSERT_TRUE(s.model.apply(add).is_ok());

    // The rules file lists the config's rule and a run-time one: applied over the running rules
    // without "already exists", in the file's order.
    Request file;
    file.op = Op::Batch;
    add.mark = extra;
    file.batch.push_back(add);
    add.mark = web;
    file.batch.push_back(add);
    const Request restore = restore_batch(file, s.model.services(), s.model.marks());
    ASSERT_TRUE(s.model.apply(restore).is_ok());
    ASSERT_EQ(s.model.marks().size(), 2u);
    EXPECT_EQ(s.model.marks()[0], extra);
    EXPECT_EQ(s.model.marks()[1], web);

    // A reload whose config moves the web rule to mark 3: the run-time rule stays.
    cfg::Config old_cfg;
    old_cfg.marks = {web};
    cfg::Config next;
    cfg::MarkRule moved = web;
    moved.mark = 3;
    next.marks = {moved};
    const Request reload = reload_batch(old_cfg, next, s.model.services(), s.model.marks());
    ASSERT_TRUE(s.model.apply(reload).is_ok());
    ASSERT_EQ(s.model.marks().size(), 2u);
    EXPECT_EQ(s.model.marks()[0], extra);
    EXPECT_EQ(s.model.marks()[1], moved);
    // Unchanged config marks: nothing to do.
    EXPECT_TRUE(reload_batch(next, next, s.model.services(), s.model.marks()).batch.empty());
}

}  // namespace
}  // namespace dirigo::ctl
