// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: the IPVS generic-netlink emulation (ipvs/emulator.hpp), what libdirigo-ipvs.so
// runs on every datagram an application sends on a NETLINK_GENERIC socket. The input is one
// datagram. route() and Emulator::handle() must accept anything; every reply must be a sequence
// of well-formed netlink messages addressed to the sender (its port id and the request's
// sequence numbers), errors must be negative errno values, and a dump must end with NLMSG_DONE.
// The daemon is the in-memory fake of the unit tests, preloaded with a service and two servers so
// that lookups, listings and changes all have something to work on.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include <linux/netlink.h>

#include "ipvs/emulator.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/unit/ipvs/fake_daemon.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace dirigo;
    const std::span<const uint8_t> in(data, size);
    (void)ipvs::route(in);

    ipvs::test::FakeDaemon daemon;
    ctl::ServiceInfo si;
    si.service.key = {cfg::Proto::Tcp, 0x0a000064, 80};
    si.service.scheduler = "rr";
    for (uint32_t i = 0; i < 2; ++i) {
        ctl::DestInfo d;
        d.server.addr = 0xac10000b + i;
        d.server.port = 80;
        si.dests.push_back(d);
    }
    daemon.services.push_back(si);
    ipvs::Emulator emu(daemon.fn());
    constexpr uint32_t kPort = 0x1234;
    const auto out = emu.handle(in, kPort, size % 2 == 1);

    for (const auto& d : out) {
        DIRIGO_FUZZ_CHECK(!d.empty(), "no empty datagram");
        size_t off = 0;
        while (off < d.size()) {
            DIRIGO_FUZZ_CHECK(d.size() - off >= NLMSG_HDRLEN, "a whole header");
            nlmsghdr h{};
            std::memcpy(&h, d.data() + off, sizeof(h));
            DIRIGO_FUZZ_CHECK(h.nlmsg_len >= NLMSG_HDRLEN && h.nlmsg_len <= d.size() - off,
                              "nlmsg_len within the datagram");
            DIRIGO_FUZZ_CHECK(h.nlmsg_pid == kPort, "replies go to the sender's port");
            if (h.nlmsg_type == NLMSG_ERROR) {
                int err = 0;
                DIRIGO_FUZZ_CHECK(h.nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr)), "whole nlmsgerr");
                std::memcpy(&err, d.data() + off + NLMSG_HDRLEN, sizeof(err));
                DIRIGO_FUZZ_CHECK(err <= 0 && err > -4096, "error is 0 or -errno");
            }
            off += NLMSG_ALIGN(h.nlmsg_len);
        }
        DIRIGO_FUZZ_CHECK(
            d.size() <= ipvs::kMaxDumpDatagram || out.size() == 1 || d.size() <= size + 64,
            "dump datagrams are bounded");
    }
    return 0;
}
